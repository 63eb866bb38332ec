/* Reading JPEG and PNG files into 8-bit pixels, the way Pillow's Image.open() + load() sees them.
 *
 * The format comes from the file's first bytes, not its name. What is read, and as what:
 *   JPEG (libjpeg-turbo, default decompression options as Pillow leaves them: JDCT_ISLOW, fancy
 *        upsampling, no scaling): 1 component -> gray (Pillow mode 'L'); 3 components (YCbCr or
 *        Adobe RGB) -> RGB (mode 'RGB', libjpeg's own YCbCr->RGB). CMYK/YCCK are refused.
 *        A file that ends early is refused, as Pillow refuses it ("image file is truncated"); other
 *        libjpeg warnings (extraneous bytes before a marker, ...) are ignored, as Pillow ignores them.
 *   PNG  (libpng): 8-bit gray -> gray, 8-bit RGB -> RGB, exactly as stored (no gamma, no tRNS).
 *        Palette, alpha, 16-bit and 1/2/4-bit images are refused: Pillow opens them in other modes
 *        ('P', 'LA', 'RGBA', 'I;16', '1') that the CXR-RePaiR letterbox treats differently.
 * Images over Pillow's decompression-bomb limit (2 * 89478485 pixels) are refused before allocation.
 *
 *   xrem_image_u8 im;
 *   if (xrem_image_read("a.jpg", &im) != XREM_OK) return xrem_fail_context(XREM_ERR_IO, "case 3");
 *   // im.px: [H, W, C] row-major, C = 1 (gray) or 3 (RGB interleaved)
 *   xrem_image_free(&im);
 *
 * Every failure message names the file. Thread-safe (no global state).
 */
#ifndef XREM_PIPELINE_IMAGE_IO_H
#define XREM_PIPELINE_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "xrem/status.h"

/* Pillow's Image.MAX_IMAGE_PIXELS * 2: above it Pillow raises DecompressionBombError. */
#define XREM_IMAGE_MAX_PIXELS (2 * 89478485LL)

typedef struct {
    int W, H, C; /* width, height, channels (1 gray, 3 RGB) */
    uint8_t *px; /* [H, W, C] owned, malloc'd; free with xrem_image_free */
} xrem_image_u8;

/* Decode a JPEG or PNG file. On failure *img is zeroed and nothing is left allocated. */
xrem_status xrem_image_read(const char *path, xrem_image_u8 *img);
/* Same from a buffer already in memory; name is used in messages. */
xrem_status xrem_image_decode(const char *name, const uint8_t *data, size_t len, xrem_image_u8 *img);
void xrem_image_free(xrem_image_u8 *img); /* NULL ok; zeroes *img */

#endif
