/* tests/fuzz/fuzz.h — what the libFuzzer harnesses (tests/fuzz/fuzz_<name>.c) share.
 *
 * Each harness defines one entry point, int xrem_fuzz_<name>(const uint8_t *data, size_t size), that
 * feeds the bytes to one library reader and checks what must hold for ANY input: no memory error
 * (the sanitizers), a failure always comes with a non-empty message, outputs within their stated
 * ranges, no HDF5 object left open. A violated check prints why and abort()s, which libFuzzer
 * records as a crash.
 *
 * The same entry points are linked into tests/test_fuzz_regress.c in the regular build (no clang
 * needed), which replays every file of tests/fuzz/regress/<name>/ and tests/fuzz/seeds/<name>/.
 * Built for libFuzzer (CMake XREM_FUZZ=ON), XREM_FUZZ_LIBFUZZER is defined and XREM_FUZZ_ENTRY
 * also defines LLVMFuzzerTestOneInput.
 */
#ifndef XREM_TESTS_FUZZ_H
#define XREM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xrem/status.h"

#ifdef XREM_FUZZ_LIBFUZZER
#define XREM_FUZZ_ENTRY(fn)                                                                                            \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                                       \
    {                                                                                                                  \
        return fn(data, size);                                                                                         \
    }
#else
#define XREM_FUZZ_ENTRY(fn)
#endif

/* A broken invariant: say which and where, then abort (libFuzzer saves the input). */
#define FUZZ_CHECK(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s: ", __FILE__, __LINE__, #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* Forget the last reason, so that the next check sees only what the next call says. */
#define FUZZ_CLEAR_ERROR() ((void)xrem_fail(XREM_OK, "%s", ""))

/* A failing status must come with a reason (call FUZZ_CLEAR_ERROR before the call). */
#define FUZZ_FAILED_WITH_MESSAGE(st)                                                                                   \
    FUZZ_CHECK((st) == XREM_OK || xrem_last_error()[0] != '\0', "status %s with an empty message", xrem_status_name(st))

/* The entry points. */
int xrem_fuzz_csv(const uint8_t *data, size_t size);
int xrem_fuzz_wordpiece(const uint8_t *data, size_t size);
int xrem_fuzz_bpe(const uint8_t *data, size_t size);
int xrem_fuzz_pylower(const uint8_t *data, size_t size);
int xrem_fuzz_weights(const uint8_t *data, size_t size);
int xrem_fuzz_images(const uint8_t *data, size_t size);
int xrem_fuzz_labeler(const uint8_t *data, size_t size);
int xrem_fuzz_decode(const uint8_t *data, size_t size);

/* data[0..size) as a NUL-terminated malloc'd string (embedded NULs stay: C readers stop there). */
char *xrem_fuzz_cstr(const uint8_t *data, size_t size);
/* A file under the source tree: $XREM_SOURCE_DIR, else the directory CMake compiled in. Static
 * buffer rotated over 4 calls. */
const char *xrem_fuzz_src(const char *rel);
/* Write data to this process's temporary file ($XREM_FUZZ_TMPDIR, else /dev/shm when there is one) and return its path,
 * or NULL when it cannot be written. ext: the name's ending (".h5"). */
const char *xrem_fuzz_tmpfile(const uint8_t *data, size_t size, const char *ext);
/* HDF5 objects (files, groups, datasets, attributes, types) still open. */
long xrem_fuzz_h5_open_objects(void);
/* Read every dataset of an open file (core/h5.h's readers: floats, integers or strings, each at
 * most XREM_FUZZ_MAX_READ elements as xrem_h5_info declares them), checking that each failure has
 * a message. f is a struct xrem_h5 *. */
#define XREM_FUZZ_MAX_READ (1 << 18)
struct xrem_h5;
void xrem_fuzz_h5_walk(struct xrem_h5 *f);

#endif
