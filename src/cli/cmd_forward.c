/* xrem forward: run one converted ALBEF model on raw inputs and write its outputs (interop and
 * debugging). Images: HDF5 dataset `cxr` N×H×W in 0..255, preprocessed as DESIGN §2 to the
 * model's resolution. Texts: one report per line, tokenized as ALBEF does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/outpath.h"
#include "models/albef.h"
#include "models/preprocess.h"
#include "text/wordpiece.h"

typedef struct {
    xrem_albef *m;
    xrem_h5 *out;
    int N, M, L, R, T, C, batch;
    float *gray;        /* [N, R, R] preprocessed single channel */
    xrem_text_batch tb; /* [M, L] */
} fwd_ctx;

static xrem_status fwd_load_images(fwd_ctx *c, const char *path)
{
    xrem_h5 *f = NULL;
    float *raw = NULL;
    int64_t ne[XREM_MAX_DIMS];
    xrem_status s = xrem_h5_open(path, &f);
    if (!s) s = xrem_h5_read_f32(f, "cxr", 3, NULL, &raw, ne); /* N×H×W */
    xrem_h5_close(f);
    if (!s && (ne[0] < 1 || ne[1] < 1 || ne[2] < 1 || ne[0] > (1 << 24) || ne[1] > 8192 || ne[2] > 8192))
        s = xrem_fail(XREM_ERR_SHAPE, "%s: dataset 'cxr' has shape [%lld,%lld,%lld], expected N×H×W images", path,
                      (long long)ne[0], (long long)ne[1], (long long)ne[2]);
    if (s) {
        free(raw);
        return s;
    }
    c->N = (int)ne[0];
    c->gray = malloc(sizeof(float) * (size_t)c->N * c->R * c->R);
    if (!c->gray) s = xrem_fail(XREM_ERR_NOMEM, "out of memory for %d preprocessed images", c->N);
    if (!s) s = xrem_image_preprocess_gray(raw, c->N, (int)ne[1], (int)ne[2], c->R, c->gray);
    if (s) s = xrem_fail_context(s, "%s: dataset 'cxr'", path);
    free(raw);
    return s;
}

static xrem_status fwd_load_texts(fwd_ctx *c, const char *path, int max_len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return xrem_fail(XREM_ERR_IO, "%s: cannot open", path);
    char **lines = NULL, *line = NULL;
    size_t cap = 0, n = 0, lcap = 0;
    ssize_t len;
    xrem_status s = XREM_OK;
    while (!s && (len = getline(&line, &lcap, fp)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (n == cap) {
            char **nl = realloc(lines, sizeof *lines * (cap = cap ? cap * 2 : 64));
            if (!nl) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
            else lines = nl;
        }
        if (!s && !(lines[n++] = strdup(line))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    free(line);
    fclose(fp);
    if (!s && n == 0) s = xrem_fail(XREM_ERR_FORMAT, "%s: no texts (expected one report per line)", path);
    int64_t nv = 0;
    char *const *vocab = xrem_albef_vocab(c->m, &nv);
    xrem_vocab *v = NULL;
    if (!s && !vocab) s = xrem_fail(XREM_ERR_FORMAT, "the weights file has no tokenizer vocabulary");
    if (!s) s = xrem_vocab_from_strings((const char *const *)vocab, nv, &v);
    if (!s) s = xrem_text_batch_encode(v, (const char *const *)lines, (int)n, max_len, &c->tb);
    if (!s) {
        c->M = c->tb.B;
        c->L = c->tb.T;
    }
    if (s) s = xrem_fail_context(s, "%s", path);
    xrem_vocab_free(v);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    return s;
}

static xrem_status fwd_images(fwd_ctx *c, float *feat)
{
    const int E = xrem_albef_embed_dim(c->m);
    float *emb = malloc(sizeof(float) * (size_t)c->N * c->T * c->C);
    xrem_status s = emb ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for image_embeds");
    for (int b = 0; !s && b < c->N; b += c->batch) {
        int nb = c->N - b < c->batch ? c->N - b : c->batch;
        s = xrem_albef_encode_images(c->m, c->gray + (size_t)b * c->R * c->R, nb, 1, emb + (size_t)b * c->T * c->C,
                                     feat ? feat + (size_t)b * E : NULL, NULL, NULL);
        if (isatty(2)) fprintf(stderr, "\rxrem forward: images %d/%d", b + nb, c->N);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    if (!s) s = xrem_h5_write_f32(c->out, "image_embeds", 3, (int64_t[]){c->N, c->T, c->C}, emb);
    free(emb);
    return s;
}

static xrem_status fwd_retrieval(fwd_ctx *c)
{
    const int E = xrem_albef_embed_dim(c->m);
    float *ifeat = c->N ? malloc(sizeof(float) * (size_t)c->N * E) : NULL;
    float *tfeat = c->M ? malloc(sizeof(float) * (size_t)c->M * E) : NULL;
    xrem_status s = XREM_OK;
    if ((c->N && !ifeat) || (c->M && !tfeat)) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && c->N) s = fwd_images(c, ifeat);
    if (!s && c->N) s = xrem_h5_write_f32(c->out, "image_feat", 2, (int64_t[]){c->N, E}, ifeat);
    for (int j = 0; !s && j < c->M; j += 256) {
        int nj = c->M - j < 256 ? c->M - j : 256;
        s = xrem_albef_encode_texts(c->m, c->tb.ids + (size_t)j * c->L, c->tb.mask + (size_t)j * c->L, nj, c->L,
                                    tfeat + (size_t)j * E, NULL, NULL);
    }
    if (!s && c->M) s = xrem_h5_write_f32(c->out, "text_feat", 2, (int64_t[]){c->M, E}, tfeat);
    if (!s && c->N && c->M) {
        float *score = malloc(sizeof(float) * (size_t)c->N * c->M);
        if (!score) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; !s && i < c->N; i++)
            for (int64_t j = 0; j < c->M; j++) {
                double d = 0;
                for (int e = 0; e < E; e++) d += (double)ifeat[i * E + e] * tfeat[j * E + e];
                score[i * c->M + j] = (float)d;
            }
        if (!s) s = xrem_h5_write_f32(c->out, "itc_score", 2, (int64_t[]){c->N, c->M}, score);
        free(score);
    }
    free(ifeat);
    free(tfeat);
    return s;
}

static xrem_status fwd_itm(fwd_ctx *c)
{
    xrem_status s = fwd_images(c, NULL);
    if (s || !c->M) return s;
    /* pairs in chunks: one image against up to 64 texts per call bounds activation memory */
    const int chunk = 64;
    float *logits = malloc(sizeof(float) * (size_t)c->N * c->M * 3), *part = malloc(sizeof(float) * chunk * 3);
    float *score = malloc(sizeof(float) * (size_t)c->N * c->M);
    if (!logits || !part || !score) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < c->N; i++) {
        for (int j = 0; !s && j < c->M; j += chunk) {
            int nj = c->M - j < chunk ? c->M - j : chunk;
            s = xrem_albef_itm(c->m, c->gray + (size_t)i * c->R * c->R, 1, 1, c->tb.ids + (size_t)j * c->L,
                               c->tb.mask + (size_t)j * c->L, nj, c->L, part, NULL, NULL);
            memcpy(logits + ((size_t)i * c->M + j) * 3, part, sizeof(float) * nj * 3);
        }
        if (isatty(2)) fprintf(stderr, "\rxrem forward: itm image %d/%d", i + 1, c->N);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    for (int64_t p = 0; !s && p < (int64_t)c->N * c->M; p++) score[p] = logits[p * 3 + 2];
    if (!s) s = xrem_h5_write_f32(c->out, "itm_logits", 3, (int64_t[]){c->N, c->M, 3}, logits);
    if (!s) s = xrem_h5_write_f32(c->out, "itm_score", 2, (int64_t[]){c->N, c->M}, score);
    free(logits);
    free(part);
    free(score);
    return s;
}

static const char *const fwd_known[] = {"--weights", "--images", "--texts", "--out", "--res", "--threads",
                                        "--batch", "--max-len", "--backend", NULL};

int xrem_cmd_forward(int argc, char **argv)
{
    if (xrem_arg_flag(argc, argv, "--help") || argc < 2) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: xrem forward --weights W.h5 [--images IMG.h5] [--texts T.txt] --out OUT.h5\n"
                "                    [--res R] [--threads N] [--batch B] [--max-len L] " XREM_ARG_BACKEND_USAGE "\n");
        return argc < 2 ? 2 : 0;
    }
    if (xrem_arg_check(argc, argv, "forward", fwd_known, NULL)) return 2;
    const char *wpath = xrem_arg_str(argc, argv, "--weights"), *ipath = xrem_arg_str(argc, argv, "--images");
    const char *tpath = xrem_arg_str(argc, argv, "--texts"), *opath = xrem_arg_str(argc, argv, "--out");
    int ok = 1;
    int res = (int)xrem_arg_int(argc, argv, "--res", 0, 0, 8192, &ok);
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    int batch = (int)xrem_arg_int(argc, argv, "--batch", 8, 1, 4096, &ok);
    int max_len = (int)xrem_arg_int(argc, argv, "--max-len", 0, 0, 1 << 20, &ok);
    if (!ok) return 2;
    if (!wpath || !opath || (!ipath && !tpath)) {
        fprintf(stderr, "xrem forward: --weights, --out and at least one of --images/--texts are required\n");
        return 2;
    }
    xrem_backend *be = NULL;
    fwd_ctx c = {0};
    c.batch = batch;
    if (xrem_arg_backend_create(argc, argv, "forward", threads, &be)) return 1;
    xrem_status s = xrem_albef_load(wpath, be, res, &c.m);
    if (!s) {
        const xrem_vit *v = xrem_albef_vit(c.m);
        c.R = v->cfg.res;
        c.T = xrem_vit_tokens(v);
        c.C = v->cfg.C;
        /* ALBEF: retrieval text is cut to 25 ids; the ITM reference does not truncate, xrem caps
         * at the position table (512 for BERT-base). */
        int cap = xrem_albef_bert(c.m)->cfg.max_pos;
        if (!max_len) max_len = xrem_albef_kind_of(c.m) == XREM_ALBEF_RETRIEVAL && cap > 25 ? 25 : cap;
        if (tpath && max_len > cap)
            s = xrem_fail(XREM_ERR_ARG, "--max-len %d is longer than the model's position table (%d)", max_len, cap);
    }
    if (!s && ipath) s = fwd_load_images(&c, ipath);
    if (!s && tpath) s = fwd_load_texts(&c, tpath, max_len);
    if (!s)
        s = xrem_out_not_input(NULL, opath, (const char *const[]){wpath, ipath ? ipath : "", tpath ? tpath : "", NULL});
    if (!s) s = xrem_h5_create(opath, &c.out);
    if (!s) s = xrem_h5_set_attr_str(c.out, "/", "weights_sha256", xrem_albef_sha256(c.m));
    if (!s) s = xrem_albef_kind_of(c.m) == XREM_ALBEF_RETRIEVAL ? fwd_retrieval(&c) : fwd_itm(&c);
    if (!s && c.M) s = xrem_h5_write_i32(c.out, "text_ids", 2, (int64_t[]){c.M, c.L}, c.tb.ids);
    if (!s) s = xrem_h5_commit(c.out);
    else xrem_h5_close(c.out);
    if (s) fprintf(stderr, "xrem forward: %s\n", xrem_last_error());
    free(c.gray);
    if (c.M) xrem_text_batch_free(&c.tb);
    xrem_albef_free(c.m);
    xrem_backend_free(be);
    return s ? 1 : 0;
}
