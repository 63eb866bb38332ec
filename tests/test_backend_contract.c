/* The op contracts (src/backend.h, checked in src/core/backend.c) on the CPU backend:
 *
 *   1. A call that breaks a contract aborts, naming the op, the backend and the condition. Each
 *      violation runs in a forked child (its stderr on a pipe): the child must die of SIGABRT and
 *      its stderr must say "op contract violated: <op> on cpu: <condition>". The first case is the
 *      ITM copy xrem_albef_itm_sets used to make (copy2d with leading dimensions 0), which the
 *      CUDA backend always rejected; a valid call in a child is the control (exit 0, no output).
 *   2. Every model path runs under the contracts (a violation would abort this test) and gives
 *      what the committed goldens say, all outputs finite:
 *        ViT, BERT text, ITC features and scores, fusion, ITM   (albef_check on both ALBEF goldens)
 *        ITM candidate sets (xrem_albef_itm_sets) with repeated, unordered texts per image
 *        BERT multimodal: all layers in one xrem_bert_layers call on the (image, text) pairs
 *        the ITC stage (xrem_itc_topk over the text features)
 *        NLI (network on the golden ids, and end to end from the texts), CheXbert (network on the
 *        golden ids), BERTScore (both tiny encoders, bert_score's batch 64).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "albef_check.h"
#include "bertscore.h"
#include "models/chexbert.h"
#include "models/nli.h"
#include "pipeline/itc.h"

#define TOL 1e-4 /* DESIGN §6: CPU fp32 vs PyTorch fp32 */

static xrem_backend *be; /* CPU, one thread */

/* ---- 1. violations ------------------------------------------------------------------------------ */

/* A tensor of the backend (zeros), or a view of one: allocated in the child, never freed (the child
 * aborts). */
static xrem_tensor tnew(int ndim, const int64_t *ne)
{
    xrem_tensor t;
    if (xrem_tensor_alloc(be, XREM_F32, ndim, ne, &t)) {
        fprintf(stderr, "alloc: %s\n", xrem_last_error());
        _exit(3);
    }
    memset(t.data, 0, xrem_tensor_bytes(&t));
    return t;
}
#define TNEW(...) tnew((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static xrem_tensor view(const xrem_tensor *t, int64_t offset_floats, int ndim, const int64_t *ne)
{
    xrem_tensor v = *t;
    v.data = (float *)t->data + offset_floats;
    v.ndim = ndim;
    memcpy(v.ne, ne, sizeof(int64_t) * (size_t)ndim);
    return v;
}
#define VIEW(t, off, ...)                                                                                              \
    view(&(t), (off), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* the old per-pair ITM copy: one pair of L*C = 13*48 floats with both leading dimensions 0 */
static void v_copy2d_ld0(void)
{
    xrem_tensor d = TNEW(13, 48), s = TNEW(13, 48);
    be->copy2d(be, d.data, 0, s.data, 0, 1, 13 * 48);
}
static void v_copy2d_ld_short(void)
{
    xrem_tensor d = TNEW(4, 16), s = TNEW(4, 16);
    be->copy2d(be, d.data, 8, s.data, 16, 4, 16);
}
static void v_copy2d_overlap(void)
{
    xrem_tensor a = TNEW(4, 16);
    be->copy2d(be, (float *)a.data + 4, 16, a.data, 16, 2, 8);
}
static void v_linear_alias(void)
{
    xrem_tensor x = TNEW(3, 8), W = TNEW(8, 8);
    be->linear(be, &x, &x, &W, NULL);
}
static void v_linear_k(void)
{
    xrem_tensor x = TNEW(3, 8), W = TNEW(5, 9), y = TNEW(3, 5);
    be->linear(be, &y, &x, &W, NULL);
}
static void v_linear_bias(void)
{
    xrem_tensor x = TNEW(3, 8), W = TNEW(5, 8), y = TNEW(3, 5), b = TNEW(4);
    be->linear(be, &y, &x, &W, &b);
}
static void v_layernorm_partial(void)
{
    xrem_tensor buf = TNEW(5, 8), g = TNEW(8), b = TNEW(8);
    xrem_tensor x = VIEW(buf, 0, 4, 8), y = VIEW(buf, 8, 4, 8); /* y one row past x */
    be->layernorm(be, &y, &x, &g, &b, 1e-12f);
}
static void v_layernorm_shape(void)
{
    xrem_tensor x = TNEW(4, 8), y = TNEW(8, 4), g = TNEW(8), b = TNEW(8);
    be->layernorm(be, &y, &x, &g, &b, 1e-12f);
}
static void v_add_numel(void)
{
    xrem_tensor a = TNEW(3, 5), b = TNEW(4);
    be->add(be, &a, &a, &b);
}
static void v_add_y_over_b(void)
{
    xrem_tensor a = TNEW(3, 5);
    xrem_tensor b = VIEW(a, 10, 5);
    be->add(be, &a, &a, &b);
}
static void v_attention_bk(void)
{
    xrem_tensor q = TNEW(3, 4, 16), kv = TNEW(2, 6, 32), o = TNEW(3, 4, 16);
    be->attention(be, &o, &q, 0, &kv, 0, &kv, 16, NULL, 2);
}
static void v_attention_head_row(void)
{
    xrem_tensor q = TNEW(2, 4, 16), kv = TNEW(2, 6, 32), o = TNEW(2, 4, 16);
    be->attention(be, &o, &q, 0, &kv, 0, &kv, 17, NULL, 2); /* v's heads end one past its row */
}
static void v_attention_heads(void)
{
    xrem_tensor q = TNEW(2, 4, 16), kv = TNEW(2, 6, 32), o = TNEW(2, 4, 16);
    be->attention(be, &o, &q, 0, &kv, 0, &kv, 16, NULL, 3); /* 16 columns are not 3 heads */
}
static void v_attention_mask(void)
{
    xrem_tensor qkv = TNEW(2, 6, 48), o = TNEW(2, 6, 16);
    float mask[12] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 0.5f, 0, 0};
    be->attention(be, &o, &qkv, 0, &qkv, 16, &qkv, 32, mask, 2);
}
static void v_attention_out_over_q(void)
{
    xrem_tensor qkv = TNEW(2, 6, 48);
    xrem_tensor o = VIEW(qkv, 0, 2, 6, 16);
    be->attention(be, &o, &qkv, 0, &qkv, 16, &qkv, 32, NULL, 2);
}
/* packed: offsets that do not end at the rows, a key sequence out of range, no keys for a query */
static void v_packed_ofs(void)
{
    xrem_tensor qkv = TNEW(10, 48), o = TNEW(10, 16);
    const int64_t ofs[3] = {0, 4, 9};
    const xrem_seqs sq = {2, ofs, 2, ofs, NULL, NULL};
    be->attention_packed(be, &o, &qkv, 0, &qkv, 16, &qkv, 32, &sq, 2);
}
static void v_packed_kv_of(void)
{
    xrem_tensor q = TNEW(10, 16), kv = TNEW(12, 32), o = TNEW(10, 16);
    const int64_t qofs[4] = {0, 4, 9, 10}, kofs[3] = {0, 6, 12};
    const int32_t kv_of[3] = {0, 1, 2};
    const xrem_seqs sq = {3, qofs, 2, kofs, kv_of, NULL};
    be->attention_packed(be, &o, &q, 0, &kv, 0, &kv, 16, &sq, 2);
}
static void v_packed_nokeys(void)
{
    xrem_tensor q = TNEW(10, 16), kv = TNEW(6, 32), o = TNEW(10, 16);
    const int64_t qofs[3] = {0, 4, 10}, kofs[3] = {0, 6, 6};
    const xrem_seqs sq = {2, qofs, 2, kofs, NULL, NULL};
    be->attention_packed(be, &o, &q, 0, &kv, 0, &kv, 16, &sq, 2);
}
static void v_embed_range(void)
{
    xrem_tensor table = TNEW(10, 8), out = TNEW(3, 8);
    const int32_t ids[3] = {0, 9, 10};
    be->embed(be, &out, &table, ids, 3);
}
static void v_embed_rank(void)
{
    xrem_tensor table = TNEW(2, 5, 8), out = TNEW(3, 8);
    const int32_t ids[3] = {0, 1, 1};
    be->embed(be, &out, &table, ids, 3);
}
static void v_patchify_p(void)
{
    xrem_tensor img = TNEW(1, 3, 10, 10), cols = TNEW(9, 27);
    be->patchify(be, &cols, &img, 3);
}
static void v_act_kind(void)
{
    xrem_tensor x = TNEW(4);
    be->act(be, &x, (xrem_act)7);
}
static void v_device(void)
{
    xrem_tensor x = TNEW(2, 4);
    x.device = XREM_DEV_CUDA;
    be->softmax(be, &x);
}
static void v_dtype(void)
{
    xrem_tensor x = TNEW(2, 4);
    x.dtype = XREM_BF16;
    be->l2norm(be, &x);
}
static void v_rank(void)
{
    xrem_tensor x = TNEW(2, 4);
    x.ndim = 0;
    be->softmax(be, &x);
}
/* controls: valid calls, including the gather that replaced the ITM copy */
static void ok_calls(void)
{
    xrem_tensor d = TNEW(13, 48), s = TNEW(13, 48);
    be->copy2d(be, d.data, 48, s.data, 48, 13, 48);
    xrem_tensor t = TNEW(3, 13 * 48), pairs = TNEW(8, 13 * 48);
    const int32_t text_of[8] = {2, 0, 2, 1, 1, 1, 0, 2};
    be->embed(be, &pairs, &t, text_of, 8);
    xrem_tensor qkv = TNEW(2, 6, 48), o = TNEW(2, 6, 16);
    const float mask[12] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0};
    be->attention(be, &o, &qkv, 0, &qkv, 16, &qkv, 32, mask, 2);
    xrem_tensor buf = TNEW(4, 8), g = TNEW(8), b = TNEW(8);
    be->layernorm(be, &buf, &buf, &g, &b, 1e-12f); /* in place is allowed */
    /* packed: an empty sequence, two queries sharing one key sequence, a mask */
    xrem_tensor pq = TNEW(10, 16), pkv = TNEW(12, 32), po = TNEW(10, 16);
    const int64_t qofs[4] = {0, 4, 4, 10}, kofs[3] = {0, 6, 12};
    const int32_t kv_of[3] = {0, 0, 1};
    const float pmask[12] = {1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const xrem_seqs sq = {3, qofs, 2, kofs, kv_of, pmask};
    be->attention_packed(be, &po, &pq, 0, &pkv, 0, &pkv, 16, &sq, 2);
    if (be->sync(be)) _exit(4);
}

/* Run fn in a child; want_op NULL: it must exit 0 and print nothing. Otherwise it must die of
 * SIGABRT, its stderr naming want_op on the cpu backend and the condition want_cond. */
static void expect(const char *what, void (*fn)(void), const char *want_op, const char *want_cond)
{
    int fd[2];
    if (pipe(fd)) {
        CHECK(0, "%s: pipe", what);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        const struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        fn();
        _exit(0);
    }
    close(fd[1]);
    char err[4096];
    size_t n = 0;
    for (ssize_t k; n < sizeof err - 1 && (k = read(fd[0], err + n, sizeof err - 1 - n)) > 0;)
        n += (size_t)k;
    err[n] = '\0';
    close(fd[0]);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        CHECK(0, "%s: fork/wait failed", what);
        return;
    }
    char *nl = strchr(err, '\n');
    printf("  %-26s -> %s: %.*s\n", what,
           WIFSIGNALED(st) ? (WTERMSIG(st) == SIGABRT ? "SIGABRT" : "signal")
                           : (WEXITSTATUS(st) ? "exit!=0" : "exit 0"),
           nl ? (int)(nl - err) : (int)n, err);
    if (!want_op) {
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && n == 0, "%s: a valid call must run: status %d, stderr '%s'",
              what, st, err);
        return;
    }
    char head[128];
    snprintf(head, sizeof head, "xrem: op contract violated: %s on cpu: ", want_op);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s: child status %d, expected SIGABRT", what, st);
    CHECK(strstr(err, head) != NULL, "%s: stderr lacks '%s': '%s'", what, head, err);
    CHECK(strstr(err, want_cond) != NULL, "%s: stderr lacks the condition '%s': '%s'", what, want_cond, err);
}

static void check_violations(void)
{
    printf("contract violations (each in a child process)\n");
    expect("valid calls (control)", ok_calls, NULL, NULL);
    expect("copy2d ld 0 (old ITM copy)", v_copy2d_ld0, "copy2d", "dld > 0 && dld >= cols");
    expect("copy2d dld < cols", v_copy2d_ld_short, "copy2d", "dld > 0 && dld >= cols");
    expect("copy2d overlapping", v_copy2d_overlap, "copy2d", "!op_overlap(d, s)");
    expect("linear y is x", v_linear_alias, "linear", "op_disjoint(y, x)");
    expect("linear W->ne[1] != K", v_linear_k, "linear", "W->ne[1] == K");
    expect("linear bias size", v_linear_bias, "linear", "xrem_tensor_numel(b) == N");
    expect("layernorm y partly over x", v_layernorm_partial, "layernorm", "op_alias_or_disjoint(y, x)");
    expect("layernorm y shape", v_layernorm_shape, "layernorm", "xrem_tensor_rows(y) == R");
    expect("add numel not divisible", v_add_numel, "add", "n % nb == 0");
    expect("add y over b", v_add_y_over_b, "add", "op_disjoint(y, b)");
    expect("attention B % Bk", v_attention_bk, "attention", "B % Bk == 0");
    expect("attention head past row", v_attention_head_row, "attention", "voff <= v->ne[2] - C");
    expect("attention C % NH", v_attention_heads, "attention", "HS * NH == C");
    expect("attention mask 0.5", v_attention_mask, "attention", "mask[i] == 0 || mask[i] == 1");
    expect("attention out over q", v_attention_out_over_q, "attention", "op_disjoint(out, q)");
    expect("packed offsets past the rows", v_packed_ofs, "attention_packed", "offsets[n] == rows");
    expect("packed key sequence out of range", v_packed_kv_of, "attention_packed", "0 <= kv_of[s] < nk");
    expect("packed query without keys", v_packed_nokeys, "attention_packed", "keys for every query sequence");
    expect("embed id out of range", v_embed_range, "embed", "0 <= ids[i] < V");
    expect("embed table rank 3", v_embed_rank, "embed", "table->ndim == 2");
    expect("patchify H % P", v_patchify_p, "patchify", "H % P == 0");
    expect("act unknown kind", v_act_kind, "act", "kind == XREM_ACT_GELU");
    expect("tensor on another device", v_device, "softmax", "t->device == be->device");
    expect("bf16 tensor", v_dtype, "l2norm", "dtype == float32");
    expect("rank 0", v_rank, "softmax", "1 <= ndim <= 4");
}

/* ---- 2. every model path under the contracts ---------------------------------------------------- */

static void check_finite(const char *what, const float *x, int64_t n)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += !isfinite(x[i]);
    CHECK(bad == 0, "%s: %lld of %lld values not finite", what, (long long)bad, (long long)n);
}

static void compare(const char *what, const float *got, const float *want, int64_t n, double tol)
{
    int64_t w = 0;
    const double e = xrem_test_max_abs(got, want, n, &w);
    printf("  %-34s max abs err %.3g (tol %.0e)%s\n", what, e, tol, e <= tol ? "" : "  <-- FAIL");
    CHECK(e <= tol, "%s: max abs err %g at %lld (got %g, golden %g)", what, e, (long long)w, got[w], want[w]);
    check_finite(what, got, n);
}

/* ITM sets with repeated, unordered texts per image against the golden's full grid; multimodal
 * (text and fusion layers in one call) on every pair against the golden's last fusion layer; ITC
 * top-K over the text features against the golden scores. */
static int check_albef_paths(const char *weights, const char *golden)
{
    xrem_h5 *g = NULL;
    xrem_albef *m = NULL;
    float *img = NULL, *emb = NULL, *want = NULL, *fusion = NULL;
    int32_t *ids = NULL, *mask = NULL;
    int64_t ine[4], tne[4], ene[4], wne[4], fne[4], res = 0;
    CHECK_OK(xrem_h5_open(golden, &g));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "res", &res));
    CHECK_OK(xrem_albef_load(weights, be, (int)res, &m));
    const int retrieval = xrem_albef_kind_of(m) == XREM_ALBEF_RETRIEVAL;
    CHECK_OK(xrem_h5_read_f32(g, "image", 4, NULL, &img, ine));
    CHECK_OK(xrem_h5_read_i32(g, "text.ids", 2, NULL, &ids, tne));
    CHECK_OK(xrem_h5_read_i32(g, "text.mask", 2, tne, &mask, tne));
    CHECK_OK(xrem_h5_read_f32(g, "image_embeds", 3, NULL, &emb, ene));
    CHECK_OK(xrem_h5_read_f32(g, retrieval ? "itm2_logits" : "itm_logits", 3, NULL, &want, wne));
    const xrem_bert *bert = xrem_albef_bert(m);
    char fname[64];
    snprintf(fname, sizeof fname, "bert.fusion.layer.%d", bert->cfg.L - 1);
    CHECK_OK(xrem_h5_read_f32(g, fname, 3, NULL, &fusion, fne));
    const int B = (int)ine[0], Cin = (int)ine[1], M = (int)tne[0], L = (int)tne[1], NL = (int)wne[2];
    const int T = (int)ene[1], Cv = (int)ene[2], C = bert->cfg.C, P = B * M;
    printf("%s: ITM sets, multimodal, ITC stage\n", golden);

    /* ITM sets: image 0 meets texts 2,0,2,1 and image 1 meets 1,1,0,2 (for M = 3) */
    enum { K = 4 };
    const int32_t text_of[2 * K] = {2, 0, 2, 1, 1, 1, 0, 2};
    if (B != 2 || M != 3) {
        CHECK(0, "golden has %d images and %d texts, the sets are written for 2 and 3", B, M);
        return 1;
    }
    float *lg = malloc(sizeof(float) * 2 * K * (size_t)NL), *ref = malloc(sizeof(float) * 2 * K * (size_t)NL);
    CHECK_OK(xrem_albef_itm_sets(m, img, B, Cin, ids, mask, M, L, text_of, K, lg, NULL, NULL));
    for (int p = 0; p < 2 * K; p++)
        memcpy(ref + p * NL, want + ((p / K) * M + text_of[p]) * NL, sizeof(float) * (size_t)NL);
    compare("itm_sets (repeated texts)", lg, ref, 2 * K * NL, TOL);

    /* multimodal: every (image b, text j) pair, image-major, through all layers at once */
    int32_t *pid = malloc(sizeof(int32_t) * (size_t)P * L);
    float *pmask = malloc(sizeof(float) * (size_t)P * L), *out = malloc(sizeof(float) * (size_t)P * L * C);
    xrem_test_pairs(ids, mask, M, L, P, pid, pmask);
    xrem_arena a;
    const size_t bytes = xrem_bert_arena_bytes(bert, P, L, B, T) + sizeof(float) * (size_t)B * T * Cv + 4 * 64;
    CHECK_OK(xrem_arena_init(&a, be, bytes));
    xrem_tensor enc = xrem_arena_f32_3d(&a, B, T, Cv);
    be->upload(be, enc.data, emb, sizeof(float) * (size_t)B * T * Cv);
    xrem_tensor x = xrem_bert_embed(bert, be, &a, pid, NULL, P, L);
    xrem_bert_layers(bert, be, &a, &x, pmask, 0, bert->cfg.L, &enc, NULL, NULL);
    be->download(be, out, x.data, sizeof(float) * (size_t)P * L * C);
    CHECK_OK(be->sync(be));
    CHECK(fne[0] == P && fne[1] == L && fne[2] == C, "%s shape", fname);
    compare("multimodal, all layers in one call", out, fusion, (int64_t)P * L * C, TOL);
    xrem_arena_release(&a);

    if (retrieval) {
        const int E = xrem_albef_embed_dim(m);
        float *ifeat = malloc(sizeof(float) * (size_t)B * E), *tfeat = malloc(sizeof(float) * (size_t)M * E);
        float *score = malloc(sizeof(float) * (size_t)B * M), *gs = NULL;
        int32_t *idx = malloc(sizeof(int32_t) * (size_t)B * M);
        int64_t sne[4];
        CHECK_OK(xrem_h5_read_f32(g, "itc_score", 2, (int64_t[]){B, M}, &gs, sne));
        CHECK_OK(xrem_albef_encode_images(m, img, B, Cin, NULL, ifeat, NULL, NULL));
        CHECK_OK(xrem_albef_encode_texts(m, ids, mask, M, L, tfeat, NULL, NULL));
        xrem_itc *itc = NULL;
        CHECK_OK(xrem_itc_create(be, tfeat, M, E, &itc));
        CHECK_OK(xrem_itc_topk(itc, ifeat, B, M, idx, score));
        float *gsel = malloc(sizeof(float) * (size_t)B * M);
        int order_ok = 1;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < M; k++) {
                const int32_t j = idx[b * M + k];
                order_ok &= j >= 0 && j < M && (k == 0 || score[b * M + k] <= score[b * M + k - 1]);
                gsel[b * M + k] = j >= 0 && j < M ? gs[b * M + j] : NAN;
            }
        CHECK(order_ok, "itc top-K: indices out of range or scores not descending");
        compare("ITC stage top-K scores", score, gsel, (int64_t)B * M, TOL);
        xrem_itc_free(itc);
        free(ifeat);
        free(tfeat);
        free(score);
        free(gs);
        free(gsel);
        free(idx);
    }
    free(lg);
    free(ref);
    free(pid);
    free(pmask);
    free(out);
    free(img);
    free(emb);
    free(want);
    free(fusion);
    free(ids);
    free(mask);
    xrem_albef_free(m);
    xrem_h5_close(g);
    return 0;
}

static int check_nli(void)
{
    const char *w = xrem_test_src("tests/golden/nli_small.weights.h5");
    const char *gp = xrem_test_src("tests/golden/nli_small.golden.h5");
    xrem_h5 *g = NULL;
    xrem_nli *m = NULL;
    char **prem = NULL, **hyp = NULL;
    int32_t *ids = NULL, *types = NULL, *mask = NULL;
    float *want = NULL;
    int64_t ne[4], n = 0, n2 = 0;
    printf("%s\n", gp);
    CHECK_OK(xrem_h5_open(gp, &g));
    CHECK_OK(xrem_h5_read_strings(g, "premise", &prem, &n));
    CHECK_OK(xrem_h5_read_strings(g, "hypothesis", &hyp, &n2));
    CHECK_OK(xrem_h5_read_i32(g, "ids", 2, (int64_t[]){n, -1}, &ids, ne));
    const int64_t T = ne[1];
    CHECK_OK(xrem_h5_read_i32(g, "types", 2, ne, &types, ne));
    CHECK_OK(xrem_h5_read_i32(g, "mask", 2, ne, &mask, ne));
    CHECK_OK(xrem_h5_read_f32(g, "logits", 2, (int64_t[]){n, 3}, &want, ne));
    CHECK_OK(xrem_nli_load(w, be, &m));
    float *lg = malloc(sizeof(float) * 3 * (size_t)n);
    CHECK_OK(xrem_nli_forward(m, ids, types, mask, (int)n, (int)T, lg));
    compare("NLI forward (golden ids)", lg, want, 3 * n, TOL);
    CHECK_OK(xrem_nli_classify(m, (const char *const *)prem, (const char *const *)hyp, (int)n, (int)T, lg, NULL));
    compare("NLI classify (texts)", lg, want, 3 * n, TOL);
    free(lg);
    xrem_nli_free(m);
    xrem_strings_free(prem, n);
    xrem_strings_free(hyp, n2);
    free(ids);
    free(types);
    free(mask);
    free(want);
    xrem_h5_close(g);
    return 0;
}

static int check_chexbert(void)
{
    const char *w = xrem_test_src("tests/golden/chexbert_small.weights.h5");
    const char *gp = xrem_test_src("tests/golden/chexbert_small.golden.h5");
    xrem_h5 *g = NULL;
    xrem_chexbert *m = NULL;
    int32_t *ids = NULL, *lens = NULL;
    float *want = NULL, *want_cls = NULL;
    int64_t ne[4];
    printf("%s\n", gp);
    CHECK_OK(xrem_h5_open(gp, &g));
    CHECK_OK(xrem_h5_read_i32(g, "ids", 2, NULL, &ids, ne));
    const int64_t n = ne[0], T = ne[1];
    CHECK_OK(xrem_h5_read_i32(g, "lens", 1, (int64_t[]){n}, &lens, ne));
    CHECK_OK(xrem_h5_read_f32(g, "logits", 2, (int64_t[]){n, XREM_CHEXBERT_NLOGITS}, &want, ne));
    CHECK_OK(xrem_h5_read_f32(g, "cls", 2, (int64_t[]){n, -1}, &want_cls, ne));
    const int64_t C = ne[1];
    CHECK_OK(xrem_chexbert_load(w, be, &m));
    int32_t *mask = malloc(sizeof(int32_t) * (size_t)(n * T));
    for (int64_t i = 0; i < n * T; i++)
        mask[i] = i % T < lens[i / T];
    float *lg = malloc(sizeof(float) * (size_t)(n * XREM_CHEXBERT_NLOGITS)),
          *cls = malloc(sizeof(float) * (size_t)(n * C));
    CHECK_OK(xrem_chexbert_forward(m, ids, mask, (int)n, (int)T, lg, cls));
    compare("CheXbert logits (golden ids)", lg, want, n * XREM_CHEXBERT_NLOGITS, TOL);
    compare("CheXbert [CLS] (golden ids)", cls, want_cls, n * C, TOL);
    free(lg);
    free(cls);
    free(mask);
    xrem_chexbert_free(m);
    free(ids);
    free(lens);
    free(want);
    free(want_cls);
    xrem_h5_close(g);
    return 0;
}

/* bert_score's default batching (case "b64": idf off, batch 64) on a tiny encoder. */
static int check_bertscore(const char *model)
{
    char w[256], gp[256];
    snprintf(w, sizeof w, "tests/golden/bertscore/%s.weights.h5", model);
    snprintf(gp, sizeof gp, "tests/golden/bertscore/%s.golden.h5", model);
    const char *wpath = xrem_test_src(w), *gpath = xrem_test_src(gp);
    xrem_h5 *g = NULL;
    xrem_bertscore *bs = NULL;
    char **cands = NULL, **refs = NULL;
    int64_t n = 0, nr = 0, layer = 0, mb = 0, idf = 1, ne[4];
    float *want[3] = {NULL, NULL, NULL};
    printf("%s\n", gpath);
    CHECK_OK(xrem_h5_open(gpath, &g));
    CHECK_OK(xrem_h5_read_strings(g, "cands", &cands, &n));
    CHECK_OK(xrem_h5_read_strings(g, "refs", &refs, &nr));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "layer", &layer));
    CHECK_OK(xrem_h5_attr_i64(g, "cases/b64", "match_batch", &mb));
    CHECK_OK(xrem_h5_attr_i64(g, "cases/b64", "idf", &idf));
    CHECK(mb == 64 && idf == 0, "case b64: match_batch %lld idf %lld", (long long)mb, (long long)idf);
    static const char *prf[3] = {"cases/b64/P", "cases/b64/R", "cases/b64/F"};
    for (int k = 0; k < 3; k++)
        CHECK_OK(xrem_h5_read_f32(g, prf[k], 1, (int64_t[]){n}, &want[k], ne));
    CHECK_OK(xrem_bertscore_create(wpath, (int)layer, be, &bs));
    xrem_bertscore_opts o;
    xrem_bertscore_opts_default(&o);
    o.idf = 0;
    o.match_batch = (int)mb;
    double *s = malloc(sizeof(double) * 3 * (size_t)n);
    float *f = malloc(sizeof(float) * 3 * (size_t)n);
    CHECK_OK(
        xrem_bertscore_score(bs, (const char *const *)cands, (const char *const *)refs, n, &o, s, s + n, s + 2 * n));
    for (int64_t i = 0; i < 3 * n; i++)
        f[i] = (float)s[i];
    for (int k = 0; k < 3; k++)
        compare(prf[k], f + k * n, want[k], n, 1e-5);
    free(s);
    free(f);
    for (int k = 0; k < 3; k++)
        free(want[k]);
    xrem_bertscore_free(bs);
    xrem_strings_free(cands, n);
    xrem_strings_free(refs, nr);
    xrem_h5_close(g);
    return 0;
}

int main(void)
{
    /* one thread: the children fork from a process that has not started an OpenMP team */
    CHECK_OK(xrem_backend_create("cpu", 1, &be));
    check_violations();

    static const char *albef[] = {"albef_small_retrieval", "albef_small_itm"};
    for (int i = 0; i < 2; i++) {
        char w[256], gp[256];
        snprintf(w, sizeof w, "tests/golden/%s.weights.h5", albef[i]);
        snprintf(gp, sizeof gp, "tests/golden/%s.golden.h5", albef[i]);
        char wpath[512], gpath[512];
        snprintf(wpath, sizeof wpath, "%s", xrem_test_src(w));
        snprintf(gpath, sizeof gpath, "%s", xrem_test_src(gp));
        if (albef_check("cpu", wpath, gpath, 1, TOL, TOL) || check_albef_paths(wpath, gpath)) return 1;
    }
    if (check_nli() || check_chexbert() || check_bertscore("tiny_bert") || check_bertscore("tiny_roberta")) return 1;
    xrem_backend_free(be);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
