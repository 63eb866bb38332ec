/* Seeded synthetic chest-X-ray-like images, for demos, tests and benchmarks where no real images
 * may be used. They are not medical images: they only look enough like a letterboxed frontal
 * chest film (black borders, a bright torso, two darker lung fields crossed by rib bands, a spine,
 * a heart shadow, film noise) for the pipeline to see realistic intensity statistics.
 *
 *   float *x = malloc(sizeof(float) * 20 * 320 * 320);
 *   xrem_synth_cxr(20, 320, 7, x);                        // [20, 320, 320], 0..255
 *   xrem_synth_cxr_write("cxr.h5", 20, 320, 7, NULL);     // the CXR-RePaiR layout xrem run reads
 *
 * Image i depends only on (seed, i, S): the first k images of a larger set are the same images.
 * The generator is splitmix64 + Box-Muller with libm sin/cos/log/exp/sqrt, so two machines agree
 * to the last ulp of those functions (bit-identical on one platform).
 */
#ifndef XREM_PIPELINE_SYNTH_H
#define XREM_PIPELINE_SYNTH_H

#include <stdint.h>

#include "xrem/status.h"

/* N images of S x S (S >= 32) into out [N, S, S] (caller-owned), float32 in 0..255. */
xrem_status xrem_synth_cxr(int N, int S, uint64_t seed, float *out);

/* Write N images as a cxr.h5: dataset cxr [N, S, S] float32, dicom_id [N] strings
 * ("synth<seed>_<i>", i zero-padded to 6 digits), study_id [N] int32 (study_ids[i], or i when
 * study_ids is NULL). Atomic (temporary + rename). */
xrem_status xrem_synth_cxr_write(const char *path, int N, int S, uint64_t seed, const int32_t *study_ids);

#endif
