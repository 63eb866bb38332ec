/* JPEG (libjpeg-turbo) and PNG (libpng) decoding into 8-bit gray or RGB (see image_io.h). */
#include "pipeline/image_io.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void xrem_image_free(xrem_image_u8 *img)
{
    if (!img) return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

/* Checked before any pixel allocation: both sides positive and W*H*C within Pillow's limit. */
static xrem_status xrem__image_alloc(const char *name, int64_t W, int64_t H, int C, xrem_image_u8 *img)
{
    if (W <= 0 || H <= 0)
        return xrem_fail(XREM_ERR_FORMAT, "%s: image has size %lldx%lld", name, (long long)W, (long long)H);
    if (W * H > XREM_IMAGE_MAX_PIXELS)
        return xrem_fail(XREM_ERR_VALUE,
                         "%s: image of %lldx%lld pixels exceeds the limit of %lld pixels (as Pillow's "
                         "decompression-bomb check)",
                         name, (long long)W, (long long)H, (long long)XREM_IMAGE_MAX_PIXELS);
    img->px = malloc((size_t)(W * H * C));
    if (!img->px)
        return xrem_fail(XREM_ERR_NOMEM, "%s: cannot allocate %lldx%lldx%d pixels", name, (long long)W, (long long)H,
                         C);
    img->W = (int)W;
    img->H = (int)H;
    img->C = C;
    return XREM_OK;
}

/* ---- JPEG ------------------------------------------------------------------------------------ */

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to this */
    jmp_buf jb;
    int truncated; /* libjpeg ran out of data and padded (JWRN_JPEG_EOF) */
    char msg[JMSG_LENGTH_MAX];
} xrem__jerr;

static void xrem__jpeg_error_exit(j_common_ptr cinfo)
{
    xrem__jerr *e = (xrem__jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings are not printed; running out of data is remembered (Pillow refuses truncated files). */
static void xrem__jpeg_emit(j_common_ptr cinfo, int level)
{
    xrem__jerr *e = (xrem__jerr *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

static void xrem__jpeg_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Header checks: components and colour space as Pillow maps them ('L' or 'RGB'). */
static xrem_status xrem__jpeg_setup(const char *name, struct jpeg_decompress_struct *ci, int *C)
{
    if (ci->num_components == 1) {
        ci->out_color_space = JCS_GRAYSCALE;
        *C = 1;
    } else if (ci->num_components == 3 && (ci->jpeg_color_space == JCS_YCbCr || ci->jpeg_color_space == JCS_RGB)) {
        ci->out_color_space = JCS_RGB;
        *C = 3;
    } else {
        return xrem_fail(XREM_ERR_UNSUPPORTED,
                         "%s: JPEG with %d components (colour space %d) is not supported: "
                         "xrem prep reads gray or YCbCr/RGB JPEGs",
                         name, ci->num_components, (int)ci->jpeg_color_space);
    }
    /* Pillow leaves these at libjpeg's defaults; set them anyway so nothing else can change them. */
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    ci->scale_num = ci->scale_denom = 1;
    return XREM_OK;
}

/* The decode proper. Locals that change after setjmp are reached through img (not volatile-sensitive). */
static xrem_status xrem__jpeg_decode(const char *name, const uint8_t *data, size_t len, xrem_image_u8 *img)
{
    struct jpeg_decompress_struct ci;
    xrem__jerr err;
    memset(&err, 0, sizeof err);
    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = xrem__jpeg_error_exit;
    err.pub.emit_message = xrem__jpeg_emit;
    err.pub.output_message = xrem__jpeg_output;
    if (setjmp(err.jb)) {
        jpeg_destroy_decompress(&ci);
        xrem_image_free(img);
        return xrem_fail(XREM_ERR_FORMAT, "%s: cannot decode JPEG: %s", name, err.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, (unsigned char *)data, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    int C = 0;
    xrem_status s = xrem__jpeg_setup(name, &ci, &C);
    if (!s) s = xrem__image_alloc(name, ci.image_width, ci.image_height, C, img);
    if (!s) {
        jpeg_start_decompress(&ci);
        if ((int)ci.output_width != img->W || (int)ci.output_height != img->H || ci.output_components != C)
            s = xrem_fail(XREM_ERR_FORMAT, "%s: JPEG decoder output %ux%ux%d differs from the header", name,
                          ci.output_width, ci.output_height, ci.output_components);
    }
    while (!s && ci.output_scanline < ci.output_height) {
        JSAMPROW row = img->px + (size_t)ci.output_scanline * img->W * C;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    if (!s && err.truncated)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: JPEG file is truncated (the data ends before the image is complete)", name);
    jpeg_destroy_decompress(&ci); /* not jpeg_finish_decompress: a missing EOI after full image data is fine */
    if (s) xrem_image_free(img);
    return s;
}

/* ---- PNG ------------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char msg[256];
} xrem__png_src;

static void xrem__png_read(png_structp png, png_bytep out, png_size_t n)
{
    xrem__png_src *src = png_get_io_ptr(png);
    if (n > src->len - src->pos) png_error(png, "file is truncated");
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

static void xrem__png_error(png_structp png, png_const_charp msg)
{
    xrem__png_src *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void xrem__png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static xrem_status xrem__png_check(const char *name, int depth, int type, int *C)
{
    if (depth == 8 && type == PNG_COLOR_TYPE_GRAY)
        *C = 1;
    else if (depth == 8 && type == PNG_COLOR_TYPE_RGB)
        *C = 3;
    else
        return xrem_fail(XREM_ERR_UNSUPPORTED,
                         "%s: PNG with bit depth %d and colour type %d is not supported: xrem "
                         "prep reads 8-bit gray or RGB PNGs (Pillow opens other kinds in modes the reference "
                         "letterbox treats differently)",
                         name, depth, type);
    return XREM_OK;
}

/* Rows are filled through png_read_image (handles interlacing). */
static void xrem__png_rows(png_structp png, xrem_image_u8 *img, png_bytep *rows)
{
    for (int y = 0; y < img->H; y++)
        rows[y] = img->px + (size_t)y * img->W * img->C;
    png_read_image(png, rows);
}

static xrem_status xrem__png_decode(const char *name, const uint8_t *data, size_t len, xrem_image_u8 *img)
{
    xrem__png_src src = {data, len, 0, ""};
    png_bytep *volatile rows = NULL;
    png_infop info = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, xrem__png_error, xrem__png_warning);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_read_struct(&png, NULL, NULL);
        return xrem_fail(XREM_ERR_NOMEM, "%s: cannot set up the PNG decoder", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        xrem_image_free(img);
        return xrem_fail(XREM_ERR_FORMAT, "%s: cannot decode PNG: %s", name, src.msg);
    }
    png_set_read_fn(png, &src, xrem__png_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    int C = 0;
    xrem_status s = xrem__png_check(name, png_get_bit_depth(png, info), png_get_color_type(png, info), &C);
    if (!s) s = xrem__image_alloc(name, png_get_image_width(png, info), png_get_image_height(png, info), C, img);
    if (!s && !(rows = malloc(sizeof(png_bytep) * (size_t)img->H)))
        s = xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", name);
    if (!s) {
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        xrem__png_rows(png, img, rows);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (s) xrem_image_free(img);
    return s;
}

/* ---- entry points ---------------------------------------------------------------------------- */

xrem_status xrem_image_decode(const char *name, const uint8_t *data, size_t len, xrem_image_u8 *img)
{
    memset(img, 0, sizeof *img);
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return xrem__jpeg_decode(name, data, len, img);
    if (len >= 8 && !memcmp(data, png_sig, 8)) return xrem__png_decode(name, data, len, img);
    if (len == 0) return xrem_fail(XREM_ERR_FORMAT, "%s: file is empty", name);
    return xrem_fail(XREM_ERR_FORMAT, "%s: not a JPEG or PNG file (first bytes %02x %02x %02x)", name, data[0],
                     len > 1 ? data[1] : 0, len > 2 ? data[2] : 0);
}

static xrem_status xrem__read_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return xrem_fail(XREM_ERR_IO, "%s: cannot open for reading", path);
    xrem_status s = XREM_OK;
    long n = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot determine the file size", path);
    if (!s && !(*data = malloc(n ? (size_t)n : 1)))
        s = xrem_fail(XREM_ERR_NOMEM, "%s: cannot allocate %ld bytes", path, n);
    if (!s && fread(*data, 1, (size_t)n, f) != (size_t)n) s = xrem_fail(XREM_ERR_IO, "%s: read error", path);
    fclose(f);
    if (s) {
        free(*data);
        *data = NULL;
    } else
        *len = (size_t)n;
    return s;
}

xrem_status xrem_image_read(const char *path, xrem_image_u8 *img)
{
    memset(img, 0, sizeof *img);
    uint8_t *data = NULL;
    size_t len = 0;
    xrem_status s = xrem__read_file(path, &data, &len);
    if (!s) s = xrem_image_decode(path, data, len, img);
    free(data);
    return s;
}
