/* fuzz_decode — the JPEG/PNG reader of `xrem prep` (src/pipeline/image_io.c over libjpeg-turbo and
 * libpng) and the CXR-RePaiR letterbox (src/pipeline/prep.c) on arbitrary bytes.
 * Seeds: the committed prep test images (the small tests/golden/prep images and tests/fuzz/seeds/decode/).
 * Checks: a refusal has a message naming the input and leaves nothing allocated; an accepted image
 * is 1 or 3 channels within Pillow's pixel limit; the letterbox to 64×64 succeeds and is black
 * outside the pasted rectangle. A crash inside libjpeg or libpng is theirs (results/fuzz/). */
#include "fuzz.h"

#include "pipeline/prep.h"

#define DEC_R 64

static void dec_letterbox(const xrem_image_u8 *im)
{
    uint8_t out[DEC_R * DEC_R];
    int nw = 0, nh = 0;
    FUZZ_CLEAR_ERROR();
    xrem_status s = xrem_prep_letterbox_size(im->W, im->H, DEC_R, &nw, &nh);
    FUZZ_FAILED_WITH_MESSAGE(s);
    if (s) return; /* an extreme aspect ratio rounds a side to 0: refused */
    FUZZ_CHECK(nw >= 1 && nh >= 1 && nw <= DEC_R && nh <= DEC_R, "letterbox size %dx%d for %dx%d", nw, nh, im->W,
               im->H);
    memset(out, 0xAB, sizeof out);
    s = xrem_prep_letterbox(im, DEC_R, out);
    FUZZ_CHECK(s == XREM_OK, "letterbox of a %dx%dx%d image: %s", im->W, im->H, im->C, xrem_last_error());
    int x0 = (DEC_R - nw) / 2, y0 = (DEC_R - nh) / 2;
    for (int y = 0; y < DEC_R; y++)
        for (int x = 0; x < DEC_R; x++)
            if (y < y0 || y >= y0 + nh || x < x0 || x >= x0 + nw)
                FUZZ_CHECK(out[y * DEC_R + x] == 0, "canvas pixel %d,%d outside the image is %d", x, y,
                           out[y * DEC_R + x]);
}

int xrem_fuzz_decode(const uint8_t *data, size_t size)
{
    xrem_image_u8 im;
    FUZZ_CLEAR_ERROR();
    xrem_status s = xrem_image_decode("fuzz.img", data, size, &im);
    FUZZ_FAILED_WITH_MESSAGE(s);
    if (s) {
        FUZZ_CHECK(im.px == NULL && im.W == 0 && im.H == 0, "a refused image left pixels");
        FUZZ_CHECK(strstr(xrem_last_error(), "fuzz.img") != NULL, "the message does not name the file: %s",
                   xrem_last_error());
        return 0;
    }
    FUZZ_CHECK(im.px != NULL && im.W >= 1 && im.H >= 1 && (im.C == 1 || im.C == 3), "image %dx%dx%d", im.W, im.H, im.C);
    FUZZ_CHECK((long long)im.W * im.H <= XREM_IMAGE_MAX_PIXELS, "%dx%d is over the pixel limit", im.W, im.H);
    /* touch every pixel: the reader promised W*H*C initialised bytes */
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)im.W * im.H * im.C; i++)
        sum += im.px[i];
    (void)sum;
    if ((long long)im.W * im.H <= (1 << 22)) dec_letterbox(&im);
    xrem_image_free(&im);
    FUZZ_CHECK(im.px == NULL, "free left the pointer");
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_decode)
