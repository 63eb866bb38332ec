/* Image preprocessing (DESIGN §2) and the bicubic resize it rests on.
 *
 * The resize reproduces torch.nn.functional.interpolate(x, size=(OH, OW), mode='bicubic',
 * align_corners=False) on float32 CPU tensors as PyTorch 1.13 computes it: cubic convolution
 * with a = -0.75, half-pixel centres, source taps clamped to the border, no antialias, no
 * clamping of the output. It matches Debian's torch 1.13.1 (AVX2 build) bit for bit on the
 * goldens (tests/test_preprocess.c); other builds of torch differ from that one by float
 * rounding only (see preprocess.c for the arithmetic and why).
 *
 * The same resize interpolates ViT position embeddings (ALBEF interpolate_pos_embed: a
 * [C, g, g] grid to [C, g', g'], bicubic, align_corners=False).
 *
 *   // 2 gray 320x320 images in 0..255 -> [2, 3, 384, 384] normalised model input
 *   float *x = malloc(sizeof(float) * 2 * 3 * 384 * 384);
 *   if (xrem_image_preprocess(gray, 2, 320, 320, 384, x) != XREM_OK)
 *       return xrem_fail_context(XREM_ERR_VALUE, "images %s", path);
 *
 * Every function writes into a caller-owned output buffer and allocates only scratch that it
 * frees before returning. Inputs and outputs must not overlap. Threads: OpenMP over planes
 * (resize) or images (preprocess).
 */
#ifndef XREM_MODELS_PREPROCESS_H
#define XREM_MODELS_PREPROCESS_H

#include "xrem/status.h"

/* Mean and std of the reference's Normalize (0..255 scale, one value for all channels). */
#define XREM_IMAGE_MEAN 101.48761f
#define XREM_IMAGE_STD 83.43944f

/* Bicubic resize, align_corners=False. src: [C, H, W] planes; dst: [C, OH, OW].
 * All sizes > 0. NaN/Inf in src propagate (as in torch); the image functions reject them. */
xrem_status xrem_resize_bicubic(const float *src, int C, int H, int W, float *dst, int OH, int OW);

/* Same with torch's align_corners flag (1: corner pixels map onto corner pixels). */
xrem_status xrem_resize_bicubic_ex(const float *src, int C, int H, int W, float *dst, int OH,
                                   int OW, int align_corners);

/* N gray images [N, H, W] in 0..255 -> [N, 3, R, R]: three identical channels, each the
 * bicubic resize to R x R then (x - XREM_IMAGE_MEAN) / XREM_IMAGE_STD, as the reference does
 * (gray -> 3 channels, resize, normalise). N, H, W, R > 0. A NaN/Inf pixel fails with
 * XREM_ERR_VALUE naming the first bad image index and pixel (the caller adds the file). */
xrem_status xrem_image_preprocess(const float *gray, int N, int H, int W, int R, float *out);

/* Same, one channel only: out [N, 1, R, R]. The model uses it by summing the patch-embedding
 * weights over the three input channels, which equals the 3-channel result up to rounding. */
xrem_status xrem_image_preprocess_gray(const float *gray, int N, int H, int W, int R,
                                       float *out);

#endif
