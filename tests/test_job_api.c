/* include/xrem/run.h's option rules (the CLI passes its flags through them, so test_pipeline and
 * test_run_badinput cover the jobs themselves): unknown keys, bad integers and flags are refused
 * naming the key; the cross-checks (required inputs, --no-itm with a filter) fire in
 * xrem_job_opts_check; defaults that depend on each other (--no-itm: filter none) pass. */
#include <string.h>

#include "testutil.h"
#include "xrem/run.h"

static int has(const char *needle)
{
    return strstr(xrem_last_error(), needle) != NULL;
}

int main(void)
{
    xrem_job_opts *r = NULL, *e = NULL;
    CHECK_OK(xrem_job_opts_create(XREM_JOB_RUN, &r));
    CHECK_OK(xrem_job_opts_create(XREM_JOB_EMBED, &e));
    xrem_job_opts *e0 = e;
    CHECK(xrem_job_opts_set(r, "k4", "1") == XREM_ERR_ARG && has("--k4"), "unknown key: %s", xrem_last_error());
    CHECK(xrem_job_opts_set(e, "k1", "1") == XREM_ERR_ARG && has("embed"), "run key on embed: %s", xrem_last_error());
    CHECK(xrem_job_opts_set(r, "k1", "five") == XREM_ERR_ARG && has("--k1 must be an integer"), "k1 five: %s",
          xrem_last_error());
    CHECK(xrem_job_opts_set(r, "batch", "0") == XREM_ERR_ARG && has("1..4096"), "batch 0: %s", xrem_last_error());
    CHECK(xrem_job_opts_set(r, "res-itm", "8") == XREM_ERR_ARG, "res-itm 8 accepted");
    CHECK(xrem_job_opts_set(r, "resume", "yes") == XREM_ERR_ARG && has("flag"), "resume yes: %s", xrem_last_error());
    CHECK(xrem_job_opts_set(e, "pandas", "3") == XREM_ERR_ARG, "pandas 3 accepted");
    CHECK(xrem_job_opts_check(r) == XREM_ERR_ARG && has("are required"), "empty run: %s", xrem_last_error());
    CHECK(xrem_job_opts_check(e) == XREM_ERR_ARG && has("are required"), "empty embed: %s", xrem_last_error());
    const char *req[][2] = {{"retrieval", "r.h5"}, {"images", "cxr.h5"}, {"corpus", "c.h5"}, {"out", "run"}};
    for (int i = 0; i < 4; i++)
        CHECK_OK(xrem_job_opts_set(r, req[i][0], req[i][1]));
    CHECK(xrem_job_opts_check(r) == XREM_ERR_ARG && has("--itm unless --no-itm"), "no itm: %s", xrem_last_error());
    CHECK_OK(xrem_job_opts_set(r, "no-itm", "1"));
    CHECK_OK(xrem_job_opts_check(r)); /* --no-itm: the filter defaults to none */
    CHECK_OK(xrem_job_opts_set(r, "filter", "nli"));
    CHECK(xrem_job_opts_check(r) == XREM_ERR_ARG && has("--filter none"), "no-itm + nli: %s", xrem_last_error());
    CHECK_OK(xrem_job_opts_set(r, "filter", NULL)); /* back to the default */
    CHECK_OK(xrem_job_opts_check(r));
    CHECK(xrem_job_run(r, NULL) == XREM_ERR_ARG, "a run without a backend");
    xrem_job_opts *w = NULL;
    CHECK_OK(xrem_job_opts_create(XREM_JOB_SWEEP, &w));
    CHECK(xrem_job_opts_check(w) == XREM_ERR_ARG && has("--run is required"), "sweep without run: %s", xrem_last_error());
    CHECK_OK(xrem_job_opts_set(w, "run", "RUN"));
    CHECK_OK(xrem_job_opts_check(w)); /* the default grid */
    const char *bad[] = {"5,,7", "0", "5,x", "4097"};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(xrem_job_opts_set(w, "k2", bad[i]));
        CHECK(xrem_job_opts_check(w) == XREM_ERR_ARG && has("--k2"), "k2 '%s': %s", bad[i], xrem_last_error());
    }
    CHECK_OK(xrem_job_opts_set(w, "k2", "1,5"));
    CHECK_OK(xrem_job_opts_set(w, "preset", "paper2"));
    CHECK(xrem_job_opts_check(w) == XREM_ERR_ARG && has("paper"), "preset paper2: %s", xrem_last_error());
    CHECK(xrem_job_opts_create((xrem_job_kind)7, &e) == XREM_ERR_ARG, "job kind 7 accepted");
    xrem_job_opts_free(w);
    xrem_job_opts_free(r);
    xrem_job_opts_free(e0);
    xrem_job_opts_free(NULL);
    return xrem_test_failures ? 1 : 0;
}
