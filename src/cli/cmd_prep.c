/* xrem prep: MIMIC-CXR-JPG -> CXR-RePaiR cxr.h5 (a), or cxr.h5 -> resized/normalised cache (b). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "pipeline/prep.h"

static void prep_usage(FILE *out)
{
    fprintf(out, "usage: xrem prep --jpg-root DIR --split SPLIT.csv[.gz] --out cxr.h5\n"
                 "                 [--split-name test] [--reports reports.csv] [--ids ids.csv]\n"
                 "                 [--views AP,PA --metadata METADATA.csv[.gz]] [--threads N]\n"
                 "       xrem prep --cache cxr.h5 --out cache.h5 [--res 256,384] [--threads N]\n"
                 "\n"
                 "First form: CXR-RePaiR's test-set images. Reads <DIR>[/files]/pXX/pSUBJECT/sSTUDY/<dicom_id>.jpg\n"
                 "for the rows of --reports (in its order; rows with an empty report dropped) or, without it, the\n"
                 "rows of --split whose split is --split-name; --ids keeps the listed dicom ids (column dicom_id,\n"
                 "or one per line); --views keeps the listed ViewPosition values of --metadata. Each image is\n"
                 "resized with Pillow's LANCZOS (long side 320) and pasted centred on black 320x320, exactly as\n"
                 "the reference does. Writes cxr [N,320,320] float32 0..255, dicom_id, study_id, subject_id.\n"
                 "\n"
                 "Second form: res<R> [N,1,R,R] float32 for each --res (bicubic a=-0.75, align_corners=False,\n"
                 "no antialias, then (x - 101.48761) / 83.43944), with the source's sha256 recorded.\n"
                 "Outputs are written to a temporary name and renamed when complete.\n");
}

/* "256,384" -> res[], at most 8. Returns the count, or -1 on a bad list. */
static int parse_res(const char *s, int *res)
{
    int n = 0;
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || n == 8 || (*end && *end != ',')) return -1;
        res[n++] = (int)v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return -1;
    }
    return n ? n : -1;
}

static int prep_cache(int argc, char **argv, int threads)
{
    const char *in = xrem_arg_str(argc, argv, "--cache"), *out = xrem_arg_str(argc, argv, "--out");
    const char *rs = xrem_arg_str(argc, argv, "--res");
    int res[8], nres = parse_res(rs ? rs : "256,384", res);
    if (!out || nres < 0) {
        fprintf(stderr,
                nres < 0 ? "xrem prep: --res must be a comma-separated list of 1..8 sizes in 1..4096, got '%s'\n"
                         : "xrem prep: --cache needs --out%s\n",
                nres < 0 ? rs : "");
        return 2;
    }
    static const char *const a_only[] = {"--jpg-root", "--split", "--split-name", "--reports",
                                         "--ids",      "--views", "--metadata",   NULL};
    for (int i = 0; a_only[i]; i++)
        if (xrem_arg_str(argc, argv, a_only[i])) {
            fprintf(stderr, "xrem prep: %s does not apply with --cache\n", a_only[i]);
            return 2;
        }
    xrem_progress progress = xrem_cli_progress("prep --cache");
    if (xrem_prep_cache(in, out, res, nres, threads, &progress)) {
        fprintf(stderr, "xrem prep: %s\n", xrem_last_error());
        return 1;
    }
    printf("xrem prep: wrote %s (", out);
    for (int i = 0; i < nres; i++)
        printf("%sres%d", i ? ", " : "", res[i]);
    printf(") from %s\n", in);
    return 0;
}

static int prep_mimic(int argc, char **argv, int threads)
{
    xrem_prep_mimic_opts o = {0};
    o.jpg_root = xrem_arg_str(argc, argv, "--jpg-root");
    o.split_csv = xrem_arg_str(argc, argv, "--split");
    o.split_name = xrem_arg_str(argc, argv, "--split-name");
    o.reports_csv = xrem_arg_str(argc, argv, "--reports");
    o.ids_csv = xrem_arg_str(argc, argv, "--ids");
    o.views = xrem_arg_str(argc, argv, "--views");
    o.metadata_csv = xrem_arg_str(argc, argv, "--metadata");
    o.threads = threads;
    xrem_progress progress = xrem_cli_progress("prep");
    o.progress = &progress;
    const char *out = xrem_arg_str(argc, argv, "--out");
    if (!o.jpg_root || !o.split_csv || !out) {
        fprintf(stderr, "xrem prep: --jpg-root, --split and --out are required (or --cache IN --out OUT)\n");
        prep_usage(stderr);
        return 2;
    }
    if (!!o.views != !!o.metadata_csv || xrem_arg_str(argc, argv, "--res")) {
        fprintf(stderr, xrem_arg_str(argc, argv, "--res") ? "xrem prep: --res applies with --cache only\n"
                                                          : "xrem prep: --views and --metadata go together\n");
        return 2;
    }
    xrem_prep_summary sum;
    if (xrem_prep_mimic(&o, out, &sum)) {
        fprintf(stderr, "xrem prep: %s\n", xrem_last_error());
        return 1;
    }
    printf("xrem prep: wrote %s: %lld images (%lld candidates; dropped: %lld empty reports, %lld not in --ids, "
           "%lld other views) in %.1f s (%.1f images/s)\n",
           out, (long long)sum.n_images, (long long)sum.n_candidates, (long long)sum.n_dropped_na,
           (long long)sum.n_dropped_ids, (long long)sum.n_dropped_views, sum.seconds,
           sum.seconds > 0 ? sum.n_images / sum.seconds : 0.0);
    return 0;
}

int xrem_cmd_prep(int argc, char **argv)
{
    static const char *const known[] = {"--jpg-root", "--split", "--split-name", "--reports", "--ids",     "--views",
                                        "--metadata", "--out",   "--cache",      "--res",     "--threads", NULL};
    static const char *const flags[] = {"--help", "-h", NULL};
    if (xrem_arg_flag(argc, argv, "--help") || xrem_arg_flag(argc, argv, "-h")) {
        prep_usage(stdout);
        return 0;
    }
    if (argc < 2 || xrem_arg_check(argc, argv, "prep", known, flags)) {
        if (argc < 2) prep_usage(stderr);
        return 2;
    }
    int ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    if (!ok) return 2;
    if (xrem_arg_str(argc, argv, "--cache")) return prep_cache(argc, argv, threads);
    return prep_mimic(argc, argv, threads);
}
