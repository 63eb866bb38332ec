/* Stage 3 in lock-step over images (xrem_filter_apply_many) against the sequential loop
 * (xrem_filter_apply, one image at a time):
 *   - a recording judge: every image gets the same judge calls, in the same order, and the same
 *     report, for 1..9 images of 1..12 pieces and K3 1..4, with and without a batch judge; every
 *     batch holds each still-active image once, and there are as many batches as the longest loop;
 *   - a judge that fails on one pair: the error comes back with that image (also when the batch
 *     judge fails and the step is redone pair by pair), and no report is returned;
 *   - the NLI filter (tests/golden/nli_small.weights.h5): its batch judge decides every pair of the
 *     NLI goldens (and longer premises built from them) as its single-pair judge, and the batched
 *     logits equal the single-pair ones far inside the filter's re-decision margin (1e-3). */
#include <stdlib.h>
#include <string.h>

#include "models/nli.h"
#include "pipeline/filters.h"
#include "testutil.h"

#define MAXM 9
#define MAXP 12
#define TRACE 4096

typedef struct {
    char trace[MAXM][TRACE]; /* per image (named by its premise's first char): the hypotheses judged */
    int batches, batch_size[64], fail_on_batch;
    const char *bad;         /* judge fails on this hypothesis */
} rec_judge;

/* deterministic accept from the pair's text */
static int rec_decide(const char *premise, const char *hyp)
{
    unsigned h = 2166136261u;
    for (const char *p = premise; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = hyp; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return (h >> 7) % 3 == 0;
}

static xrem_status rec_one(void *ctx, const char *premise, const char *hyp, int *accept)
{
    rec_judge *r = ctx;
    if (r->bad && !strcmp(hyp, r->bad)) return xrem_fail(XREM_ERR_VALUE, "judge refuses '%s'", hyp);
    char *t = r->trace[premise[0] - 'a'];
    size_t l = strlen(t);
    snprintf(t + l, TRACE - l, "%s|", hyp);
    *accept = rec_decide(premise, hyp);
    return XREM_OK;
}

static xrem_status rec_batch(void *ctx, const char *const *premise, const char *const *hyp, int n, int *accept)
{
    rec_judge *r = ctx;
    if (r->fail_on_batch) return xrem_fail(XREM_ERR_NOMEM, "batch judge out of memory");
    if (r->batches < 64) r->batch_size[r->batches] = n;
    r->batches++;
    int seen[MAXM] = {0};
    for (int i = 0; i < n; i++) {
        int j = premise[i][0] - 'a';
        if (seen[j]++) return xrem_fail(XREM_ERR_VALUE, "image %d twice in one batch", j);
        xrem_status s = rec_one(ctx, premise[i], hyp[i], &accept[i]);
        if (s) return s;
    }
    return XREM_OK;
}

/* image j: pieces "<letter>0", "<letter>1 ..." with some empty ones, as the reference's trailing one */
static void make_pieces(int j, int n, char store[MAXM][MAXP][16], char *ptr[MAXM][MAXP])
{
    for (int i = 0; i < n; i++) {
        if (i > 0 && (i * 7 + j) % 5 == 0) snprintf(store[j][i], 16, "%s", "");
        else snprintf(store[j][i], 16, "%c%d-%d", 'a' + j, i, (i * 31 + j * 17) % 10);
        ptr[j][i] = store[j][i];
    }
    /* the premise names the image: its first piece starts with the image's letter */
    store[j][0][0] = (char)('a' + j);
}

static int check_lockstep(int m, int k3, int batched, unsigned seed)
{
    static char store[MAXM][MAXP][16];
    char *ptr[MAXM][MAXP];
    char *const *pieces[MAXM];
    int64_t n[MAXM];
    int64_t longest = 0;
    for (int j = 0; j < m; j++) {
        seed = seed * 1103515245u + 12345u;
        n[j] = 1 + (seed >> 16) % MAXP;
        make_pieces(j, (int)n[j], store, ptr);
        pieces[j] = ptr[j];
    }
    static rec_judge seq, lock;
    memset(&seq, 0, sizeof seq);
    memset(&lock, 0, sizeof lock);
    xrem_filter fs = {"rec", &seq, rec_one, NULL, NULL};
    xrem_filter fl = {"rec", &lock, rec_one, NULL, batched ? rec_batch : NULL};
    char *want[MAXM], *got[MAXM];
    for (int j = 0; j < m; j++) {
        CHECK_OK(xrem_filter_apply(&fs, pieces[j], n[j], k3, &want[j]));
        int64_t steps = 0;
        for (const char *p = seq.trace[j]; *p; p++) steps += *p == '|';
        if (steps > longest) longest = steps;
    }
    int failed = 7;
    CHECK_OK(xrem_filter_apply_many(&fl, pieces, n, m, k3, got, &failed));
    CHECK(failed == -1, "success left *failed = %d", failed);
    for (int j = 0; j < m; j++) {
        CHECK(!strcmp(got[j], want[j]), "m %d k3 %d image %d: lock-step '%s', sequential '%s'", m, k3, j, got[j],
              want[j]);
        CHECK(!strcmp(lock.trace[j], seq.trace[j]), "m %d k3 %d image %d: judged '%s', sequentially '%s'", m, k3, j,
              lock.trace[j], seq.trace[j]);
        free(got[j]);
        free(want[j]);
    }
    if (batched) {
        CHECK(lock.batches == longest, "m %d k3 %d: %d batches, the longest loop has %lld steps", m, k3, lock.batches,
              (long long)longest);
        for (int b = 1; b < lock.batches && b < 64; b++)
            CHECK(lock.batch_size[b] <= lock.batch_size[b - 1], "batch %d grew (%d after %d)", b,
                  lock.batch_size[b], lock.batch_size[b - 1]);
        CHECK(lock.batches == 0 || lock.batch_size[0] <= m, "first batch %d > %d images", lock.batch_size[0], m);
    }
    return 0;
}

static int check_failures(void)
{
    static char store[MAXM][MAXP][16];
    char *ptr[MAXM][MAXP];
    char *const *pieces[4];
    int64_t n[4] = {6, 6, 6, 6};
    for (int j = 0; j < 4; j++) {
        make_pieces(j, 6, store, ptr);
        pieces[j] = ptr[j];
    }
    /* image 2's second piece fails; k3 large so every image reaches it */
    for (int mode = 0; mode < 3; mode++) {
        static rec_judge r;
        memset(&r, 0, sizeof r);
        r.bad = store[2][1];
        r.fail_on_batch = mode == 2;
        xrem_filter f = {"rec", &r, rec_one, NULL, mode ? rec_batch : NULL};
        char *out[4] = {(char *)1, (char *)1, (char *)1, (char *)1};
        int failed = -5;
        xrem_status s = xrem_filter_apply_many(&f, pieces, n, 4, 10, out, &failed);
        CHECK(s == XREM_ERR_VALUE, "mode %d: status %s, expected value error", mode, xrem_status_name(s));
        CHECK(failed == 2, "mode %d: failed image %d, expected 2", mode, failed);
        CHECK(strstr(xrem_last_error(), store[2][1]) != NULL, "mode %d: message '%s' lacks the piece", mode,
              xrem_last_error());
        for (int j = 0; j < 4; j++) CHECK(out[j] == NULL, "mode %d: image %d got a report after a failure", mode, j);
    }
    return 0;
}

/* The NLI filter's batch judge against its single-pair judge, and the batched logits' rounding. */
static int check_nli(void)
{
    xrem_backend *be = NULL;
    int rc = xrem_test_backend("cpu", 2, &be);
    if (rc) return rc;
    xrem_filter *f = NULL;
    CHECK_OK(xrem_filter_create("nli", xrem_test_src("tests/golden/nli_small.weights.h5"), be, &f));
    CHECK(f->judge_batch != NULL, "the NLI filter has no batch judge");
    xrem_h5 *g = NULL;
    char **prem = NULL, **hyp = NULL;
    int64_t n1 = 0, n2 = 0;
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/nli_small.golden.h5"), &g));
    CHECK_OK(xrem_h5_read_strings(g, "premise", &prem, &n1));
    CHECK_OK(xrem_h5_read_strings(g, "hypothesis", &hyp, &n2));
    xrem_h5_close(g);
    CHECK(n1 == n2 && n1 > 0, "golden premise/hypothesis counts %lld/%lld", (long long)n1, (long long)n2);
    /* the golden pairs, then premises grown as stage 3 grows its report (premise + ' ' + hypothesis) */
    const int N = (int)(2 * n1);
    const char **P = calloc((size_t)N, sizeof *P), **H = calloc((size_t)N, sizeof *H);
    char **grown = calloc((size_t)n1, sizeof *grown);
    CHECK_OK(P && H && grown ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory"));
    for (int i = 0; i < n1; i++) {
        const char *a = prem[i], *b = hyp[(i + 1) % n1];
        grown[i] = malloc(strlen(a) + strlen(b) + 2);
        CHECK_OK(grown[i] ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory"));
        sprintf(grown[i], "%s %s", a, b);
        P[i] = prem[i];
        H[i] = hyp[i];
        P[n1 + i] = grown[i];
        H[n1 + i] = hyp[(i + 3) % n1];
    }
    int *acc_b = calloc((size_t)N, sizeof *acc_b), accepted = 0, diffs = 0;
    float *lg_b = malloc(sizeof(float) * 3 * (size_t)N), lg_1[3];
    xrem_nli *m = NULL;
    CHECK_OK(acc_b && lg_b ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory"));
    CHECK_OK(f->judge_batch(f->ctx, P, H, N, acc_b));
    CHECK_OK(xrem_nli_load(xrem_test_src("tests/golden/nli_small.weights.h5"), be, &m));
    CHECK_OK(xrem_nli_classify(m, P, H, N, 0, lg_b, NULL));
    double worst = 0;
    for (int i = 0; i < N; i++) {
        int a1 = -1;
        CHECK_OK(f->judge(f->ctx, P[i], H[i], &a1));
        diffs += a1 != acc_b[i];
        accepted += a1;
        CHECK_OK(xrem_nli_classify(m, &P[i], &H[i], 1, 0, lg_1, NULL));
        double e = xrem_test_max_abs(lg_b + 3 * i, lg_1, 3, NULL);
        if (e > worst) worst = e;
    }
    printf("nli: %d pairs, %d accepted (neutral), batched vs alone: %d decisions differ, logits max abs diff %.3g\n",
           N, accepted, diffs, worst);
    CHECK(diffs == 0, "%d of %d batch decisions differ from the single-pair judge", diffs, N);
    CHECK(accepted > 0 && accepted < N, "every pair decided alike (%d of %d accepted): the test sees one label",
          accepted, N);
    CHECK(worst < 1e-4, "batched logits differ from single-pair ones by %g (the re-decision margin is 1e-3)", worst);
    xrem_nli_free(m);
    for (int i = 0; i < n1; i++) free(grown[i]);
    free(grown);
    free(P);
    free(H);
    free(acc_b);
    free(lg_b);
    xrem_strings_free(prem, n1);
    xrem_strings_free(hyp, n2);
    xrem_filter_free(f);
    xrem_backend_free(be);
    return 0;
}

int main(void)
{
    unsigned seed = 1;
    for (int m = 1; m <= MAXM; m++)
        for (int k3 = 1; k3 <= 4; k3++)
            for (int batched = 0; batched < 2; batched++)
                if (check_lockstep(m, k3, batched, seed += 977)) return 1;
    if (check_failures()) return 1;
    int rc = check_nli();
    if (rc) return rc;
    if (xrem_test_failures) {
        fprintf(stderr, "test_filter_batch: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_filter_batch: PASS\n");
    return 0;
}
