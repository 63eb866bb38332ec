/* xrem dev: assets for demos and tests that xrem makes itself (DESIGN §7: nothing fetched, nothing
 * derived from real reports committed), and the pipeline parity checker.
 *
 *   xrem dev random-weights --arch albef_retrieval|albef_itm --preset small|full --vocab VOCAB.txt
 *                           --seed S --out W.h5 [--std X]
 *   xrem dev synth-images   --n N --seed S --out cxr.h5 [--size 320] [--study-ids gt.csv]
 *   xrem dev iu-reports     --tgz NLMCXR_reports.tgz --corpus corpus.csv --gt gt.csv
 *                           [--test-every 10] [--corpus-max N]
 *   xrem dev compare-run    RUN/run.h5 GOLDEN.h5 [--tol 1e-4] [--tie-tol 1e-5]   (hidden: the parity checker)
 *
 * compare-run: GOLDEN.h5 is either a pipeline golden made by scripts/xrem_reference.py (the reference
 * control flow in PyTorch) or another run.h5 (then every dataset must be identical: resume checks).
 * Against a golden: the ids; the corpus the run used (sha256 of its reports); stage 1's top-K1
 * corpus indices (identical, except that two entries whose golden scores differ by <= tie-tol
 * may trade places: float rounding orders a near tie) and their scores (<= tol); stage 2's ITM
 * scores per candidate *report* (<= tol) and its top-K2 reports (same near-tie rule); the
 * sha256 of every "Report Impression" and "filtered" string; and, when the golden has it, the
 * stage-3 loop (xrem_filter_apply) run with the hash judge on the run's own impressions.
 * It prints one line per field and exits 1 on any mismatch, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/csv.h"
#include "core/h5.h"
#include "core/sha256.h"
#include "models/albef_random.h"
#include "pipeline/iu_reports.h"
#include "pipeline/run.h"
#include "pipeline/synth.h"
#include "text/wordpiece.h"

/* ---- random-weights ---------------------------------------------------------------------------- */

/* The small preset: big enough to exercise every code path (cross-attention from layer 2, a
 * position grid that is interpolated when run at 48), small enough for a test to run X-REM
 * end to end in seconds. Meant to run at --res-retrieval 32 --res-itm 48. */
static xrem_albef_random_spec dev_small_spec(xrem_albef_kind kind, uint64_t seed, int vocab)
{
    xrem_albef_random_spec s = {0};
    s.kind = kind;
    s.vision_width = 64, s.vit_depth = 2, s.vit_heads = 4, s.vit_mlp = 256, s.patch = 16, s.image_res = 32;
    s.hidden = 48, s.layers = 4, s.heads = 4, s.inter = 96, s.vocab = vocab, s.max_pos = 512;
    s.fusion_layer = 2, s.embed_dim = 32;
    s.seed = seed;
    return s;
}

static int dev_random_weights(int argc, char **argv)
{
    static const char *const known[] = {"--arch", "--preset", "--vocab", "--seed", "--out", "--std", NULL};
    if (xrem_arg_check(argc, argv, "dev random-weights", known, NULL)) return 2;
    const char *arch = xrem_arg_str(argc, argv, "--arch"), *preset = xrem_arg_str(argc, argv, "--preset");
    const char *vocab = xrem_arg_str(argc, argv, "--vocab"), *out = xrem_arg_str(argc, argv, "--out");
    const char *stds = xrem_arg_str(argc, argv, "--std");
    int ok = 1;
    long seed = xrem_arg_int(argc, argv, "--seed", 0, 0, 0x7fffffffL, &ok);
    if (!ok) return 2;
    if (!arch || !vocab || !out || !xrem_arg_str(argc, argv, "--seed")) {
        fprintf(stderr, "xrem dev random-weights: --arch, --vocab, --seed and --out are required\n");
        return 2;
    }
    xrem_albef_kind kind;
    if (!strcmp(arch, "albef_retrieval")) kind = XREM_ALBEF_RETRIEVAL;
    else if (!strcmp(arch, "albef_itm")) kind = XREM_ALBEF_ITM;
    else {
        fprintf(stderr, "xrem dev random-weights: --arch must be albef_retrieval or albef_itm, got '%s'\n", arch);
        return 2;
    }
    if (!preset) preset = "small";
    if (strcmp(preset, "small") && strcmp(preset, "full")) {
        fprintf(stderr, "xrem dev random-weights: --preset must be small or full, got '%s'\n", preset);
        return 2;
    }
    double std = 0;
    if (stds) {
        char *end;
        std = strtod(stds, &end);
        if (*end || !(std > 0 && std < 10)) {
            fprintf(stderr, "xrem dev random-weights: --std must be a number in (0, 10), got '%s'\n", stds);
            return 2;
        }
    }
    xrem_vocab *v = NULL;
    xrem_status s = xrem_vocab_load_txt(vocab, &v);
    const int64_t nv = xrem_vocab_size(v);
    char **tok = s ? NULL : malloc(sizeof *tok * (size_t)nv);
    if (!s && !tok) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; tok && i < nv; i++) tok[i] = (char *)xrem_vocab_token(v, (int32_t)i);
    if (!s && (nv < 5 || xrem_vocab_id(v, "[CLS]") < 0 || xrem_vocab_id(v, "[PAD]") < 0 || xrem_vocab_id(v, "[UNK]") < 0))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: a WordPiece vocabulary needs [PAD], [UNK] and [CLS] (bert-base-uncased-vocab.txt)",
                      vocab);
    xrem_albef_random_spec spec = !strcmp(preset, "small") ? dev_small_spec(kind, (uint64_t)seed, (int)nv)
                                                           : xrem_albef_random_full(kind, (uint64_t)seed);
    if (!strcmp(preset, "full")) spec.vocab = (int)nv;
    /* small: ~0.02·sqrt(768/48), realistic activation scales at width 48 (see make_goldens.py) */
    if (!(std > 0)) std = !strcmp(preset, "small") ? 0.08 : 0.02;
    if (!s) s = xrem_albef_random_write_std(out, &spec, std, tok, nv);
    if (s) fprintf(stderr, "xrem dev random-weights: %s\n", xrem_last_error());
    else
        fprintf(stderr, "xrem dev random-weights: wrote %s (%s, %s preset, vocab %lld, seed %ld, std %g)\n", out, arch,
                preset, (long long)nv, seed, std);
    free(tok);
    xrem_vocab_free(v);
    return s ? 1 : 0;
}

/* ---- synth-images ------------------------------------------------------------------------------ */

static xrem_status dev_study_ids(const char *path, int N, int32_t **out)
{
    xrem_csv *c = NULL;
    int col;
    xrem_status s = xrem_csv_read(path, &c);
    if (!s) s = xrem_csv_column(c, "study_id", &col);
    if (!s && xrem_csv_nrows(c) < N)
        s = xrem_fail(XREM_ERR_SHAPE, "%s has %lld rows, fewer than the %d images asked for", path,
                      (long long)xrem_csv_nrows(c), N);
    int32_t *id = s ? NULL : malloc(sizeof *id * (size_t)N);
    if (!s && !id) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < N; i++) {
        const char *v = xrem_csv_get(c, i, col, NULL);
        char *end;
        long x = strtol(v, &end, 10);
        if (!*v || *end || x < 0 || x > 0x7fffffffL)
            s = xrem_fail(XREM_ERR_VALUE, "%s row %d field study_id: '%s' is not a non-negative 32-bit integer", path,
                          i + 1, v);
        else id[i] = (int32_t)x;
    }
    xrem_csv_free(c);
    if (s) free(id);
    else *out = id;
    return s;
}

/* Deliberately broken image files for the bad-input tests (hidden --corrupt). */
static xrem_status dev_write_corrupt(const char *path, int N, int S, uint64_t seed, const char *how)
{
    float *img = malloc(sizeof(float) * (size_t)N * S * S);
    int32_t *iv = malloc(sizeof(int32_t) * (size_t)N * S * S), *study = malloc(sizeof(int32_t) * (size_t)N);
    char **dic = calloc((size_t)N, sizeof *dic);
    xrem_status s = img && iv && study && dic ? xrem_synth_cxr(N, S, seed, img) : xrem_fail(XREM_ERR_NOMEM, "oom");
    for (int i = 0; !s && i < N; i++) {
        char b[64];
        snprintf(b, sizeof b, "synth%llu_%06d", (unsigned long long)seed, i);
        study[i] = i;
        if (!(dic[i] = strdup(b))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    xrem_h5 *f = NULL;
    if (!s) s = xrem_h5_create(path, &f);
    if (!s && !strcmp(how, "nan")) {
        img[(int64_t)(N / 2) * S * S + (int64_t)(S / 2) * S + S / 3] = NAN;
        s = xrem_h5_write_f32(f, "cxr", 3, (int64_t[]){N, S, S}, img);
    } else if (!s && !strcmp(how, "rank")) {
        s = xrem_h5_write_f32(f, "cxr", 2, (int64_t[]){N, (int64_t)S * S}, img);
    } else if (!s && !strcmp(how, "int")) {
        for (int64_t i = 0; i < (int64_t)N * S * S; i++) iv[i] = (int32_t)lrintf(img[i]);
        s = xrem_h5_write_i32(f, "cxr", 3, (int64_t[]){N, S, S}, iv);
    } else if (!s)
        s = xrem_fail(XREM_ERR_ARG, "--corrupt must be nan, rank or int, got '%s'", how);
    if (!s) s = xrem_h5_write_strings(f, "dicom_id", (const char *const *)dic, N);
    if (!s) s = xrem_h5_write_i32(f, "study_id", 1, (int64_t[]){N}, study);
    if (!s) s = xrem_h5_commit(f);
    else xrem_h5_close(f);
    free(img);
    free(iv);
    free(study);
    xrem_strings_free(dic, dic ? N : 0);
    return s;
}

static int dev_synth_images(int argc, char **argv)
{
    static const char *const known[] = {"--n", "--seed", "--out", "--size", "--study-ids", "--corrupt", NULL};
    if (xrem_arg_check(argc, argv, "dev synth-images", known, NULL)) return 2;
    int ok = 1;
    const int N = (int)xrem_arg_int(argc, argv, "--n", 0, 1, 1 << 20, &ok);
    const long seed = xrem_arg_int(argc, argv, "--seed", 0, 0, 0x7fffffffL, &ok);
    const int S = (int)xrem_arg_int(argc, argv, "--size", 320, 32, 8192, &ok);
    const char *out = xrem_arg_str(argc, argv, "--out"), *ids = xrem_arg_str(argc, argv, "--study-ids");
    const char *corrupt = xrem_arg_str(argc, argv, "--corrupt");
    if (!ok) return 2;
    if (!out || !xrem_arg_str(argc, argv, "--n") || !xrem_arg_str(argc, argv, "--seed")) {
        fprintf(stderr, "xrem dev synth-images: --n, --seed and --out are required\n");
        return 2;
    }
    int32_t *study = NULL;
    xrem_status s = ids ? dev_study_ids(ids, N, &study) : XREM_OK;
    if (!s && corrupt) s = dev_write_corrupt(out, N, S, (uint64_t)seed, corrupt);
    else if (!s) s = xrem_synth_cxr_write(out, N, S, (uint64_t)seed, study);
    if (s) fprintf(stderr, "xrem dev synth-images: %s\n", xrem_last_error());
    else fprintf(stderr, "xrem dev synth-images: wrote %s (%d synthetic images %dx%d, seed %ld)\n", out, N, S, S, seed);
    free(study);
    return s ? 1 : 0;
}

/* ---- iu-reports -------------------------------------------------------------------------------- */

static int dev_iu_reports(int argc, char **argv)
{
    static const char *const known[] = {"--tgz", "--corpus", "--gt", "--test-every", "--corpus-max", NULL};
    if (xrem_arg_check(argc, argv, "dev iu-reports", known, NULL)) return 2;
    int ok = 1;
    const int every = (int)xrem_arg_int(argc, argv, "--test-every", 10, 2, 1 << 20, &ok);
    const long cmax = xrem_arg_int(argc, argv, "--corpus-max", -1, 0, 0x7fffffffL, &ok);
    const char *tgz = xrem_arg_str(argc, argv, "--tgz"), *corpus = xrem_arg_str(argc, argv, "--corpus");
    const char *gt = xrem_arg_str(argc, argv, "--gt");
    if (!ok) return 2;
    if (!tgz || !corpus || !gt) {
        fprintf(stderr, "xrem dev iu-reports: --tgz, --corpus and --gt are required\n");
        return 2;
    }
    xrem_iu_reports r;
    int64_t nt = 0, nc = 0, nimp = 0;
    xrem_status s = xrem_iu_reports_read(tgz, &r);
    for (int64_t i = 0; !s && i < r.n; i++) nimp += r.item[i].impression[0] != 0;
    if (!s) s = xrem_iu_reports_write_split(&r, every, cmax, corpus, gt, &nt, &nc);
    if (s) fprintf(stderr, "xrem dev iu-reports: %s\n", xrem_last_error());
    else
        fprintf(stderr,
                "xrem dev iu-reports: %lld reports (%lld with an IMPRESSION): %lld test studies -> %s, %lld corpus rows "
                "-> %s\n",
                (long long)r.n, (long long)nimp, (long long)nt, gt, (long long)nc, corpus);
    xrem_iu_reports_free(&r);
    return s ? 1 : 0;
}

/* ---- compare-run ------------------------------------------------------------------------------- */

/* A deterministic stand-in for the NLI judge, shared with scripts/xrem_reference.py (--filter
 * hash): accept when sha256(premise + "\n" + hypothesis) starts with a hex digit 0-7. It lets the
 * parity tests check the stage-3 loop (order, early stop at K3, the trailing empty piece)
 * before a real NLI model is wired in. */
static xrem_status dev_hash_judge(void *ctx, const char *premise, const char *hypothesis, int *accept)
{
    (void)ctx;
    xrem_sha256 c;
    char hex[65];
    xrem_sha256_init(&c);
    xrem_sha256_update(&c, premise, strlen(premise));
    xrem_sha256_update(&c, "\n", 1);
    xrem_sha256_update(&c, hypothesis, strlen(hypothesis));
    xrem_sha256_final_hex(&c, hex);
    *accept = hex[0] < '8';
    return XREM_OK;
}

typedef struct {
    xrem_h5 *run, *gold;
    const char *run_path, *gold_path;
    double tol, tie_tol;
    int bad;
    int64_t N;
} cmp_ctx;

static void cmp_line(cmp_ctx *c, int ok, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void cmp_line(cmp_ctx *c, int ok, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-28s %s  ", field, ok ? "ok      " : "MISMATCH");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    c->bad += !ok;
}

static int64_t cmp_attr_i64(xrem_h5 *f, const char *name, int64_t def)
{
    int64_t v = def;
    if (xrem_h5_has_attr(f, "/", name) && xrem_h5_attr_i64(f, "/", name, &v)) v = def;
    return v;
}

/* both files' int32 [N, K] dataset; K from the golden; NULLs when unreadable (reported) */
static int cmp_read_i32(cmp_ctx *c, const char *rn, const char *gn, int64_t K, int32_t **r, int32_t **g)
{
    int64_t ne[XREM_MAX_DIMS];
    *r = *g = NULL;
    if (xrem_h5_read_i32(c->gold, gn, 2, (int64_t[]){c->N, K}, g, ne) ||
        xrem_h5_read_i32(c->run, rn, 2, (int64_t[]){c->N, K}, r, ne)) {
        cmp_line(c, 0, gn, "cannot read: %s", xrem_last_error());
        free(*r);
        free(*g);
        *r = *g = NULL;
        return 0;
    }
    return 1;
}

static int cmp_read_f32(cmp_ctx *c, const char *rn, const char *gn, int64_t K, float **r, float **g)
{
    int64_t ne[XREM_MAX_DIMS];
    *r = *g = NULL;
    if (xrem_h5_read_f32(c->gold, gn, 2, (int64_t[]){c->N, K}, g, ne) ||
        xrem_h5_read_f32(c->run, rn, 2, (int64_t[]){c->N, K}, r, ne)) {
        cmp_line(c, 0, gn, "cannot read: %s", xrem_last_error());
        free(*r);
        free(*g);
        *r = *g = NULL;
        return 0;
    }
    return 1;
}

static void cmp_scores(cmp_ctx *c, const char *field, const float *r, const float *g, int64_t n, double tol)
{
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)r[i] - (double)g[i]);
        if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d, at = i;
    }
    cmp_line(c, worst <= tol, field, "max abs err %.3g (tolerance %.1g) at element %lld", worst, tol, (long long)at);
}

static char *sha_of(const char *s)
{
    char *h = malloc(65);
    if (h) xrem_sha256_hex(s, strlen(s), h);
    return h;
}

/* sha256 of every string in the run's dataset rn against the golden's hex list gn */
static void cmp_hashes(cmp_ctx *c, const char *field, char **runs, const char *gn)
{
    char **g = NULL;
    int64_t ng = 0, bad = 0, first = -1;
    if (xrem_h5_read_strings(c->gold, gn, &g, &ng) || ng != c->N) {
        cmp_line(c, 0, field, "cannot read %s (%lld entries): %s", gn, (long long)ng, xrem_last_error());
        xrem_strings_free(g, ng);
        return;
    }
    for (int64_t i = 0; i < c->N; i++) {
        char *h = sha_of(runs[i]);
        if (!h || strcmp(h, g[i])) bad++, first = first < 0 ? i : first;
        free(h);
    }
    if (!bad) cmp_line(c, 1, field, "%lld sha256 identical", (long long)c->N);
    else
        cmp_line(c, 0, field, "%lld of %lld differ; first image %lld: run text (%zu bytes) \"%.120s%s\"", (long long)bad,
                 (long long)c->N, (long long)first, strlen(runs[first]), runs[first], strlen(runs[first]) > 120 ? "…" : "");
    xrem_strings_free(g, ng);
}

static void cmp_ids(cmp_ctx *c)
{
    char **rd = NULL, **gd = NULL;
    int64_t nr = 0, ng = 0, ne[XREM_MAX_DIMS];
    int64_t *rs = NULL, *gs = NULL; /* ids are int64 in run.h5 */
    int ok = !xrem_h5_read_strings(c->run, "dicom_id", &rd, &nr) && !xrem_h5_read_strings(c->gold, "dicom_id", &gd, &ng) &&
             nr == c->N && ng == c->N;
    for (int64_t i = 0; ok && i < c->N; i++) ok = !strcmp(rd[i], gd[i]);
    cmp_line(c, ok, "dicom_id", "%lld images", (long long)c->N);
    ok = !xrem_h5_read_i64(c->run, "study_id", 1, (int64_t[]){c->N}, &rs, ne) &&
         !xrem_h5_read_i64(c->gold, "study_id", 1, (int64_t[]){c->N}, &gs, ne) &&
         !memcmp(rs, gs, sizeof(int64_t) * (size_t)c->N);
    cmp_line(c, ok, "study_id", "%lld images", (long long)c->N);
    xrem_strings_free(rd, nr);
    xrem_strings_free(gd, ng);
    free(rs);
    free(gs);
}

/* The corpus the run used (its corpus.h5, named in run.h5) against the golden's pandas corpus. */
static void cmp_corpus(cmp_ctx *c)
{
    char *path = NULL, *want = NULL, **rep = NULL;
    int64_t n = 0;
    xrem_h5 *f = NULL;
    if (xrem_h5_attr_str(c->run, "/", "corpus", &path) || xrem_h5_attr_str(c->gold, "/", "corpus_sha256", &want) ||
        xrem_h5_open(path, &f) || xrem_h5_read_strings(f, "reports", &rep, &n)) {
        cmp_line(c, 0, "corpus", "cannot read the run's corpus or the golden's hash: %s", xrem_last_error());
    } else {
        xrem_sha256 h;
        char hex[65];
        xrem_sha256_init(&h);
        for (int64_t i = 0; i < n; i++) xrem_sha256_update(&h, rep[i], strlen(rep[i]) + 1); /* each with its NUL */
        xrem_sha256_final_hex(&h, hex);
        const int64_t gn = cmp_attr_i64(c->gold, "corpus_n", -1);
        cmp_line(c, n == gn && !strcmp(hex, want), "corpus", "%lld reports (reference %lld), sha256 %.16s (reference %.16s)",
                 (long long)n, (long long)gn, hex, want);
    }
    xrem_strings_free(rep, n);
    xrem_h5_close(f);
    free(path);
    free(want);
}

/* Stage 3 with the hash judge over the run's own "Report Impression" strings, for every K3 the
 * golden has a result for (filtered_hashjudge_k<K3>_sha256). */
static void cmp_filter_loop(cmp_ctx *c, char **imp)
{
    const xrem_filter judge = {"hash", NULL, dev_hash_judge, NULL, NULL};
    for (int k3 = 1; k3 <= 8; k3++) {
        char name[64], field[64];
        snprintf(name, sizeof name, "filtered_hashjudge_k%d_sha256", k3);
        if (!xrem_h5_exists(c->gold, name)) continue;
        char **out = calloc((size_t)c->N, sizeof *out);
        xrem_status s = out ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; !s && i < c->N; i++) {
            char **p = NULL;
            int64_t n = 0;
            s = xrem_str_split(imp[i], "[SEP]", &p, &n);
            if (!s) s = xrem_filter_apply(&judge, p, n, k3, &out[i]);
            xrem_strings_free(p, n);
        }
        snprintf(field, sizeof field, "filtered (hash judge, K3=%d)", k3);
        if (s) cmp_line(c, 0, field, "%s", xrem_last_error());
        else cmp_hashes(c, field, out, name);
        xrem_strings_free(out, out ? c->N : 0);
    }
}

/* Stage 1. Ranks must hold the same corpus index, except where the reference itself had a near
 * tie: two entries whose golden scores differ by at most tie_tol may trade places (float rounding
 * decides such an order, not the pipeline). Accepted swaps are counted and shown; *swapped[i] is
 * set for each image that had one. */
static void cmp_itc(cmp_ctx *c, int64_t K1, const int32_t *ri, const int32_t *gi, const float *rs, const float *gs,
                    unsigned char *swapped)
{
    int64_t swaps = 0, hard = 0, hi = -1, hk = -1;
    double worst_gap = 0;
    for (int64_t i = 0; i < c->N; i++)
        for (int64_t k = 0; k < K1; k++) {
            const int64_t p = i * K1 + k;
            if (ri[p] == gi[p]) continue;
            double gap = fabs((double)rs[p] - (double)gs[p]); /* the run's pick scored where the golden's sits */
            for (int64_t j = 0; j < K1; j++)
                if (gi[i * K1 + j] == ri[p]) gap = fmax(gap, fabs((double)gs[i * K1 + j] - (double)gs[p]));
            if (gap <= c->tie_tol) {
                swaps++;
                worst_gap = fmax(worst_gap, gap);
                swapped[i] = 1;
            } else if (!hard++) {
                hi = i;
                hk = k;
            }
        }
    if (hard) {
        const int64_t p = hi * K1 + hk;
        cmp_line(c, 0, "itc_idx (top-K1)",
                 "%lld rank(s) differ beyond near ties; first: image %lld rank %lld: run %d (score %.9g), golden %d "
                 "(score %.9g)",
                 (long long)hard, (long long)hi, (long long)hk, ri[p], rs[p], gi[p], gs[p]);
    } else if (swaps)
        cmp_line(c, 1, "itc_idx (top-K1)", "%lld x %lld identical except %lld rank(s) in near ties (golden gap <= %.2g, "
                 "tie tolerance %.1g)", (long long)c->N, (long long)K1, (long long)swaps, worst_gap, c->tie_tol);
    else
        cmp_line(c, 1, "itc_idx (top-K1)", "%lld x %lld identical", (long long)c->N, (long long)K1);
}

/* Candidate identity at stage-2 position q: its corpus index, -1 for the reference's trailing
 * empty candidate (position K1). */
static int32_t cand_key(const int32_t *itc_row, int64_t K1, int64_t q) { return q < K1 ? itc_row[q] : -1; }

static int64_t key_pos(const int32_t *itc_row, int64_t K1, int64_t C, int32_t key)
{
    for (int64_t q = 0; q < C; q++)
        if (cand_key(itc_row, K1, q) == key) return q;
    return -1;
}

/* Stage 2, by candidate identity (a near-tie swap in stage 1 moves a report to another position). */
static void cmp_itm(cmp_ctx *c, int64_t K1, int64_t K2, int64_t C, const int32_t *ri, const int32_t *gi,
                    const unsigned char *swapped)
{
    float *rs = NULL, *gs = NULL;
    int32_t *r2 = NULL, *g2 = NULL;
    if (!cmp_read_f32(c, "itm_score", "itm_score", C, &rs, &gs) || !cmp_read_i32(c, "stage2_pos", "stage2_pos", K2, &r2, &g2)) {
        free(rs), free(gs), free(r2), free(g2);
        return;
    }
    double worst = 0, worst_gap = 0;
    int64_t at_i = 0, at_q = 0, unmatched = 0, hard = 0, swaps = 0, hi = -1, hk = -1;
    for (int64_t i = 0; i < c->N; i++) {
        const int32_t *rrow = ri + i * K1, *grow = gi + i * K1;
        for (int64_t q = 0; q < C; q++) {
            const int64_t rq = key_pos(rrow, K1, C, cand_key(grow, K1, q));
            if (rq < 0) {
                unmatched += !swapped[i];
                continue;
            }
            const double d = fabs((double)rs[i * C + rq] - (double)gs[i * C + q]);
            if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d, at_i = i, at_q = q;
        }
        for (int64_t k = 0; k < K2; k++) {
            const int32_t rk = cand_key(rrow, K1, r2[i * K2 + k]), gk = cand_key(grow, K1, g2[i * K2 + k]);
            if (rk == gk) continue;
            const int64_t gq = key_pos(grow, K1, C, rk);
            const double gap = gq < 0 ? INFINITY : fabs((double)gs[i * C + gq] - (double)gs[i * C + g2[i * K2 + k]]);
            if (gap <= c->tie_tol) swaps++, worst_gap = fmax(worst_gap, gap);
            else if (!hard++) hi = i, hk = k;
        }
    }
    cmp_line(c, worst <= c->tol && !unmatched, "itm_score",
             "max abs err %.3g (tolerance %.1g) at image %lld candidate %lld (by report identity)%s", worst, c->tol,
             (long long)at_i, (long long)at_q, unmatched ? "; some candidates are missing from the run's list" : "");
    if (hard) {
        const int32_t rk = cand_key(ri + hi * K1, K1, r2[hi * K2 + hk]), gk = cand_key(gi + hi * K1, K1, g2[hi * K2 + hk]);
        cmp_line(c, 0, "stage2 (top-K2)", "%lld rank(s) differ beyond near ties; first: image %lld rank %lld: run report "
                 "%d, golden report %d (-1 = the empty candidate)", (long long)hard, (long long)hi, (long long)hk, rk, gk);
    } else if (swaps)
        cmp_line(c, 1, "stage2 (top-K2)", "%lld x %lld identical except %lld rank(s) in near ties (golden gap <= %.2g)",
                 (long long)c->N, (long long)K2, (long long)swaps, worst_gap);
    else
        cmp_line(c, 1, "stage2 (top-K2)", "%lld x %lld identical (as reports; positions may differ only after a stage-1 "
                 "near tie)", (long long)c->N, (long long)K2);
    free(rs), free(gs), free(r2), free(g2);
}

static void cmp_golden(cmp_ctx *c)
{
    const int64_t K1 = cmp_attr_i64(c->gold, "k1", -1), K2 = cmp_attr_i64(c->gold, "k2", -1);
    const int64_t C = cmp_attr_i64(c->gold, "candidates", -1), use_itm = cmp_attr_i64(c->gold, "use_itm", 1);
    const int64_t rK1 = cmp_attr_i64(c->run, "k1", -2), rK2 = cmp_attr_i64(c->run, "k2", -2);
    const int64_t rC = cmp_attr_i64(c->run, "candidates", -2);
    const int cfg_ok = K1 == rK1 && (!use_itm || (K2 == rK2 && C == rC)) && K1 > 0 && (!use_itm || (K2 > 0 && C >= K1));
    cmp_line(c, cfg_ok, "config", "K1 %lld/%lld, K2 %lld/%lld, candidates %lld/%lld (run/golden)%s", (long long)rK1,
             (long long)K1, (long long)rK2, (long long)K2, (long long)rC, (long long)C, use_itm ? "" : ", no ITM");
    if (!cfg_ok) return;
    cmp_ids(c);
    cmp_corpus(c);
    int32_t *ri = NULL, *gi = NULL;
    float *rs = NULL, *gs = NULL;
    unsigned char *swapped = calloc((size_t)c->N + 1, 1);
    if (swapped && cmp_read_i32(c, "itc_idx", "itc_idx", K1, &ri, &gi) &&
        cmp_read_f32(c, "itc_score", "itc_score", K1, &rs, &gs)) {
        cmp_itc(c, K1, ri, gi, rs, gs, swapped);
        cmp_scores(c, "itc_score (per rank)", rs, gs, c->N * K1, c->tol);
        if (use_itm) cmp_itm(c, K1, K2, C, ri, gi, swapped);
    }
    free(ri), free(gi), free(rs), free(gs), free(swapped);
    char **imp = NULL, **fil = NULL;
    int64_t ni = 0, nf = 0;
    if (xrem_h5_read_strings(c->run, "report_impression", &imp, &ni) || ni != c->N ||
        xrem_h5_read_strings(c->run, "filtered", &fil, &nf) || nf != c->N) {
        cmp_line(c, 0, "strings", "cannot read the run's report strings: %s", xrem_last_error());
    } else {
        cmp_hashes(c, "Report Impression", imp, "impression_sha256");
        cmp_hashes(c, "filtered", fil, "filtered_sha256");
        if (use_itm) cmp_filter_loop(c, imp);
    }
    xrem_strings_free(imp, ni);
    xrem_strings_free(fil, nf);
}

/* Two run.h5 files: every dataset identical. */
static xrem_status cmp_exact_one(const char *name, void *user)
{
    cmp_ctx *c = user;
    int nd, nd2;
    int64_t ne[XREM_MAX_DIMS], ne2[XREM_MAX_DIMS];
    xrem_dtype t, t2;
    if (xrem_h5_info(c->run, name, &nd, ne, &t) || !xrem_h5_exists(c->gold, name) ||
        xrem_h5_info(c->gold, name, &nd2, ne2, &t2) || nd != nd2 || memcmp(ne, ne2, sizeof(int64_t) * (size_t)nd)) {
        char **s1 = NULL, **s2 = NULL;
        int64_t n1 = 0, n2 = 0;
        int same = !xrem_h5_read_strings(c->run, name, &s1, &n1) && !xrem_h5_read_strings(c->gold, name, &s2, &n2) &&
                   n1 == n2;
        for (int64_t i = 0; same && i < n1; i++) same = !strcmp(s1[i], s2[i]);
        cmp_line(c, same, name, "%lld strings%s", (long long)n1, same ? " identical" : " (or shape/type) differ");
        xrem_strings_free(s1, n1);
        xrem_strings_free(s2, n2);
        return XREM_OK;
    }
    void *a = NULL, *b = NULL;
    int64_t n = 1, e[XREM_MAX_DIMS];
    for (int i = 0; i < nd; i++) n *= ne[i];
    int ok;
    if (t == XREM_I32) ok = !xrem_h5_read_i32(c->run, name, nd, ne, (int32_t **)&a, e) &&
                            !xrem_h5_read_i32(c->gold, name, nd, ne, (int32_t **)&b, e);
    else ok = !xrem_h5_read_f32(c->run, name, nd, ne, (float **)&a, e) &&
              !xrem_h5_read_f32(c->gold, name, nd, ne, (float **)&b, e);
    ok = ok && !memcmp(a, b, (size_t)n * 4);
    cmp_line(c, ok, name, "%lld values %s", (long long)n, ok ? "identical" : "differ");
    free(a);
    free(b);
    return XREM_OK;
}

static int dev_compare_run(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int np = 0;
    double tol = 1e-4, tie_tol = 1e-5;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--tol") || !strcmp(argv[i], "--tie-tol")) && i + 1 < argc) {
            char *end;
            double *t = !strcmp(argv[i], "--tol") ? &tol : &tie_tol;
            *t = strtod(argv[++i], &end);
            if (*end || !(*t >= 0)) {
                fprintf(stderr, "xrem dev compare-run: %s must be a non-negative number\n", argv[i - 1]);
                return 2;
            }
        } else if (argv[i][0] != '-' && np < 2) paths[np++] = argv[i];
        else {
            fprintf(stderr, "xrem dev compare-run: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (np != 2) {
        fprintf(stderr, "usage: xrem dev compare-run RUN/run.h5 GOLDEN.h5 [--tol 1e-4] [--tie-tol 1e-5]\n");
        return 2;
    }
    cmp_ctx c = {.run_path = paths[0], .gold_path = paths[1], .tol = tol, .tie_tol = tie_tol};
    char *fr = NULL, *fg = NULL;
    int64_t ne[XREM_MAX_DIMS];
    int nd;
    xrem_status s = xrem_h5_open(paths[0], &c.run);
    if (!s) s = xrem_h5_open(paths[1], &c.gold);
    if (!s) s = xrem_h5_attr_str(c.run, "/", "xrem_format", &fr);
    if (!s && strcmp(fr, "run")) s = xrem_fail(XREM_ERR_FORMAT, "%s: xrem_format '%s', expected a run.h5", paths[0], fr);
    if (!s) s = xrem_h5_attr_str(c.gold, "/", "xrem_format", &fg);
    if (!s && strcmp(fg, "run") && strcmp(fg, "pipeline_golden"))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: xrem_format '%s', expected pipeline_golden or run", paths[1], fg);
    if (!s) s = xrem_h5_info(c.run, "image_row", &nd, ne, NULL);
    if (!s) c.N = ne[0];
    if (s) {
        fprintf(stderr, "xrem dev compare-run: %s\n", xrem_last_error());
        xrem_h5_close(c.run);
        xrem_h5_close(c.gold);
        free(fr);
        free(fg);
        return 1;
    }
    printf("compare %s with %s (%s, %lld images)\n", paths[0], paths[1], fg, (long long)c.N);
    if (!strcmp(fg, "run")) {
        char *c1 = NULL, *c2 = NULL;
        int same = !xrem_h5_attr_str(c.run, "/", "config", &c1) && !xrem_h5_attr_str(c.gold, "/", "config", &c2) &&
                   !strcmp(c1, c2);
        cmp_line(&c, same, "config", "%s", same ? "identical" : "differs");
        free(c1);
        free(c2);
        xrem_h5_visit(c.run, "/", cmp_exact_one, &c);
    } else {
        cmp_golden(&c);
    }
    printf("%s: %d field(s) differ\n", c.bad ? "FAIL" : "PASS", c.bad);
    xrem_h5_close(c.run);
    xrem_h5_close(c.gold);
    free(fr);
    free(fg);
    return c.bad ? 1 : 0;
}

/* ---- the command -------------------------------------------------------------------------------- */

static void dev_usage(FILE *f)
{
    fprintf(f, "usage: xrem dev random-weights --arch albef_retrieval|albef_itm --preset small|full\n"
               "                              --vocab VOCAB.txt --seed S --out W.h5 [--std X]\n"
               "       xrem dev synth-images --n N --seed S --out cxr.h5 [--size 320] [--study-ids gt.csv]\n"
               "       xrem dev iu-reports --tgz NLMCXR_reports.tgz --corpus corpus.csv --gt gt.csv\n"
               "                           [--test-every 10] [--corpus-max N]\n"
               "Assets for demos and tests: seeded random ALBEF weights (small preset: run with\n"
               "xrem run --res-retrieval 32 --res-itm 48), synthetic chest-X-ray-like images, and a\n"
               "corpus / ground-truth split of the IU X-Ray reports (never committed: CC BY-NC-ND).\n");
}

int xrem_cmd_dev(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        dev_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (xrem_arg_flag(argc - 1, argv + 1, "--help")) {
        dev_usage(stdout);
        return 0;
    }
    if (!strcmp(sub, "random-weights")) return dev_random_weights(argc - 1, argv + 1);
    if (!strcmp(sub, "synth-images")) return dev_synth_images(argc - 1, argv + 1);
    if (!strcmp(sub, "iu-reports")) return dev_iu_reports(argc - 1, argv + 1);
    if (!strcmp(sub, "compare-run")) return dev_compare_run(argc - 1, argv + 1);
    fprintf(stderr, "xrem dev: unknown subcommand '%s'\n", sub);
    dev_usage(stderr);
    return 2;
}
