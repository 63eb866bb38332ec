/* Which MIMIC-CXR-JPG images `xrem prep` reads, and where they are (see prep.h). The MIMIC tables
 * are read with core/csv.h, gzip-compressed or not (mimic-cxr-2.0.0-split.csv.gz). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/h5.h"
#include "pipeline/prep_internal.h"

/* ---- CSV -------------------------------------------------------------------------------------- */

/* zlib's message without the "<path>: " it puts in front. */
static const char *xrem__gz_msg(gzFile g, const char *path)
{
    int err;
    const char *m = gzerror(g, &err);
    size_t n = strlen(path);
    return !strncmp(m, path, n) && m[n] == ':' ? m + n + 2 : m;
}

/* Grow buf so that at least 32 KiB are free. */
static xrem_status xrem__grow(const char *path, char **buf, size_t *cap, size_t n)
{
    if (*cap - n >= (1 << 15)) return XREM_OK;
    char *nb = *cap < ((size_t)1 << 40) ? realloc(*buf, *cap * 2) : NULL;
    if (!nb) return xrem_fail(XREM_ERR_NOMEM, "%s: too large to read", path);
    *buf = nb;
    *cap *= 2;
    return XREM_OK;
}

/* The whole file, decompressed when it is gzip (zlib reads plain files as they are); NUL-terminated. */
static xrem_status xrem__slurp(const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) return xrem_fail(XREM_ERR_IO, "%s: cannot open for reading", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    xrem_status s = buf ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", path);
    for (int got = 1; !s && got > 0;) {
        s = xrem__grow(path, &buf, &cap, n);
        size_t want = cap - n - 1 < ((size_t)1 << 30) ? cap - n - 1 : ((size_t)1 << 30);
        got = s ? 0 : gzread(g, buf + n, (unsigned)want);
        if (got < 0)
            s = xrem_fail(XREM_ERR_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, xrem__gz_msg(g, path));
        else
            n += (size_t)got;
    }
    int err = Z_OK;
    if (!s) gzerror(g, &err);
    if (!s && err != Z_OK) /* Z_BUF_ERROR: the compressed stream ends early */
        s = xrem_fail(XREM_ERR_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, xrem__gz_msg(g, path));
    gzclose(g);
    if (s) {
        free(buf);
        return s;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return XREM_OK;
}

xrem_status xrem__csv_read_gz(const char *path, xrem_csv **out)
{
    char *raw = NULL;
    size_t len = 0;
    *out = NULL;
    xrem_status s = xrem__slurp(path, &raw, &len);
    if (!s) s = xrem_csv_parse(path, raw, len, out);
    if (!s && xrem_csv_ncols(*out) < 1) s = xrem_fail(XREM_ERR_FORMAT, "%s: empty file (no header)", path);
    free(raw);
    if (s) {
        xrem_csv_free(*out);
        *out = NULL;
    }
    return s;
}

int xrem__csv_col(const xrem_csv *c, const char *name)
{
    for (int j = 0; j < xrem_csv_ncols(c); j++)
        if (!strcmp(xrem_csv_header(c, j), name)) return j;
    return -1;
}

static const char *xrem__get(const xrem_csv *c, int64_t row, int col)
{
    return xrem_csv_get(c, row, col, NULL);
}

/* ---- lookups ---------------------------------------------------------------------------------- */

typedef struct {
    const char *key;
    int64_t row;
} xrem__kv;

static int xrem__kv_cmp(const void *a, const void *b)
{
    const xrem__kv *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    return r ? r : (x->row > y->row) - (x->row < y->row);
}

/* Sorted (value, row) index over one column; duplicates are refused. */
static xrem_status xrem__csv_index(const xrem_csv *c, int col, xrem__kv **out)
{
    int64_t n = xrem_csv_nrows(c);
    xrem__kv *kv = malloc(sizeof *kv * (size_t)(n ? n : 1));
    if (!kv) return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", xrem_csv_name(c));
    for (int64_t r = 0; r < n; r++)
        kv[r] = (xrem__kv){xrem__get(c, r, col), r};
    qsort(kv, (size_t)n, sizeof *kv, xrem__kv_cmp);
    for (int64_t r = 1; r < n; r++)
        if (!strcmp(kv[r].key, kv[r - 1].key)) {
            xrem_status s =
                xrem_fail(XREM_ERR_FORMAT, "%s: %s '%s' appears twice (lines %lld and %lld)", xrem_csv_name(c),
                          xrem_csv_header(c, col), kv[r].key, (long long)xrem_csv_line(c, kv[r - 1].row),
                          (long long)xrem_csv_line(c, kv[r].row));
            free(kv);
            return s;
        }
    *out = kv;
    return XREM_OK;
}

static int64_t xrem__lookup(const xrem__kv *kv, int64_t n, const char *key)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = strcmp(kv[mid].key, key);
        if (!r) return kv[mid].row;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* "where" for messages: "FILE data row R (line L), field F". */
static const char *xrem__at(const xrem_csv *c, int64_t row, int col, char *buf, size_t n)
{
    snprintf(buf, n, "%s data row %lld (line %lld), field %s", xrem_csv_name(c), (long long)row + 1,
             (long long)xrem_csv_line(c, row), xrem_csv_header(c, col));
    return buf;
}

/* A positive integer id ("50414267"; pandas' "50414267.0" accepted). */
static xrem_status xrem__csv_id(const xrem_csv *c, int64_t row, int col, int64_t *v)
{
    const char *s = xrem__get(c, row, col), *p = s;
    int64_t x = 0;
    int nd = 0;
    for (; *p >= '0' && *p <= '9' && nd < 18; p++, nd++)
        x = x * 10 + (*p - '0');
    if (*p == '.')
        for (p++; *p == '0'; p++) {
        }
    if (!nd || *p || x <= 0) {
        char at[512];
        return xrem_fail(XREM_ERR_FORMAT, "%s: '%.40s' is not a positive integer id",
                         xrem__at(c, row, col, at, sizeof at), s);
    }
    *v = x;
    return XREM_OK;
}

/* pandas' default NA strings (read_csv na_values), as whole fields. */
static int xrem__is_na(const char *s)
{
    static const char *const na[] = {"",     "#N/A",   "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
                                     "-nan", "1.#IND", "1.#QNAN",  "<NA>", "N/A",     "NA",       "NULL",
                                     "NaN",  "None",   "n/a",      "nan",  "null",    NULL};
    for (int i = 0; na[i]; i++)
        if (!strcmp(s, na[i])) return 1;
    return 0;
}

/* ---- the selection ----------------------------------------------------------------------------- */

typedef struct {
    const xrem_prep_mimic_opts *o;
    const char *split_name;
    xrem_csv *split;
    int sc_dicom, sc_study, sc_subject, sc_split;
    xrem__kv *sidx; /* split index by dicom_id */
    int64_t *rows;  /* candidate rows of the split CSV, in output order */
    int64_t n;
} xrem__sel;

static xrem_status xrem__sel_split(xrem__sel *S)
{
    xrem_status s = xrem__csv_read_gz(S->o->split_csv, &S->split);
    if (!s) s = xrem_csv_column(S->split, "dicom_id", &S->sc_dicom);
    if (!s) s = xrem_csv_column(S->split, "study_id", &S->sc_study);
    if (!s) s = xrem_csv_column(S->split, "subject_id", &S->sc_subject);
    if (!s) s = xrem_csv_column(S->split, "split", &S->sc_split);
    if (!s) s = xrem__csv_index(S->split, S->sc_dicom, &S->sidx);
    if (!s && !(S->rows = malloc(sizeof(int64_t) * (size_t)(xrem_csv_nrows(S->split) + 1))))
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    return s;
}

/* Check an optional id column of the reports CSV against the split's value. */
static xrem_status xrem__sel_cross(xrem__sel *S, const xrem_csv *rep, int64_t r, int rcol, int scol, int64_t srow)
{
    if (rcol < 0) return XREM_OK;
    int64_t a, b;
    xrem_status s = xrem__csv_id(rep, r, rcol, &a);
    if (!s) s = xrem__csv_id(S->split, srow, scol, &b);
    if (!s && a != b) {
        char at[512];
        s = xrem_fail(XREM_ERR_VALUE, "%s: %lld, but %s says %lld for dicom_id %s",
                      xrem__at(rep, r, rcol, at, sizeof at), (long long)a, xrem_csv_name(S->split), (long long)b,
                      xrem__get(S->split, srow, S->sc_dicom));
    }
    return s;
}

static xrem_status xrem__sel_report_row(xrem__sel *S, const xrem_csv *rep, int64_t r, const int cols[4],
                                        xrem_prep_summary *sum)
{
    char at[512];
    if (cols[3] >= 0 && xrem__is_na(xrem__get(rep, r, cols[3]))) {
        sum->n_dropped_na++;
        return XREM_OK;
    }
    const char *d = xrem__get(rep, r, cols[0]);
    int64_t srow = xrem__lookup(S->sidx, xrem_csv_nrows(S->split), d);
    if (srow < 0)
        return xrem_fail(XREM_ERR_VALUE, "%s: dicom_id '%s' is not in %s", xrem__at(rep, r, cols[0], at, sizeof at), d,
                         xrem_csv_name(S->split));
    const char *sp = xrem__get(S->split, srow, S->sc_split);
    if (strcmp(sp, S->split_name))
        return xrem_fail(XREM_ERR_VALUE, "%s: dicom_id '%s' is in split '%s' of %s, not '%s'",
                         xrem__at(rep, r, cols[0], at, sizeof at), d, sp, xrem_csv_name(S->split), S->split_name);
    xrem_status s = xrem__sel_cross(S, rep, r, cols[1], S->sc_study, srow);
    if (!s) s = xrem__sel_cross(S, rep, r, cols[2], S->sc_subject, srow);
    if (!s) S->rows[S->n++] = srow;
    return s;
}

static xrem_status xrem__sel_reports(xrem__sel *S, xrem_prep_summary *sum)
{
    xrem_csv *rep = NULL;
    int cols[4] = {-1, -1, -1, -1};
    xrem__kv *ridx = NULL;
    xrem_status s = xrem__csv_read_gz(S->o->reports_csv, &rep);
    if (s) return s;
    s = xrem_csv_column(rep, "dicom_id", &cols[0]);
    cols[1] = xrem__csv_col(rep, "study_id");
    cols[2] = xrem__csv_col(rep, "subject_id");
    cols[3] = xrem__csv_col(rep, "report");
    if (!s) s = xrem__csv_index(rep, cols[0], &ridx); /* refuses duplicate dicom ids */
    sum->n_candidates = xrem_csv_nrows(rep);
    for (int64_t r = 0; !s && r < xrem_csv_nrows(rep); r++)
        s = xrem__sel_report_row(S, rep, r, cols, sum);
    free(ridx);
    xrem_csv_free(rep);
    return s;
}

static void xrem__sel_from_split(xrem__sel *S, xrem_prep_summary *sum)
{
    for (int64_t r = 0; r < xrem_csv_nrows(S->split); r++)
        if (!strcmp(xrem__get(S->split, r, S->sc_split), S->split_name)) S->rows[S->n++] = r;
    sum->n_candidates = S->n;
}

/* The ids of an id list, sorted: column dicom_id when the header has one, else every non-empty
 * first field, the header line's included. kv[].row is the record index (0 = the header line). */
static xrem_status xrem__ids_read(const xrem_csv *ids, xrem__kv **out, int64_t *n)
{
    int col = xrem__csv_col(ids, "dicom_id");
    int64_t nr = xrem_csv_nrows(ids);
    xrem__kv *kv = malloc(sizeof *kv * (size_t)(nr + 1));
    if (!kv) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    *n = 0;
    for (int64_t r = col >= 0 ? 1 : 0; r <= nr; r++) {
        const char *v = r ? xrem__get(ids, r - 1, col >= 0 ? col : 0) : xrem_csv_header(ids, 0);
        if (*v) kv[(*n)++] = (xrem__kv){v, r};
    }
    if (*n == 0) {
        free(kv);
        return xrem_fail(XREM_ERR_FORMAT, "%s: no dicom ids in the file", xrem_csv_name(ids));
    }
    qsort(kv, (size_t)*n, sizeof *kv, xrem__kv_cmp);
    *out = kv;
    return XREM_OK;
}

/* Mark every entry equal to key as used; 1 when there was one. */
static int xrem__ids_use(const xrem__kv *kv, int64_t n, const char *key, char *used)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) { /* first entry >= key */
        int64_t mid = lo + (hi - lo) / 2;
        if (strcmp(kv[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int hit = 0;
    for (int64_t j = lo; j < n && !strcmp(kv[j].key, key); j++)
        used[j] = hit = 1;
    return hit;
}

/* Keep candidates whose dicom_id is listed; every listed id must be a candidate. */
static xrem_status xrem__sel_ids(xrem__sel *S, xrem_prep_summary *sum)
{
    xrem_csv *ids = NULL;
    xrem__kv *kv = NULL;
    int64_t n = 0, keep = 0, missing = 0, first = -1;
    char *used = NULL;
    xrem_status s = xrem__csv_read_gz(S->o->ids_csv, &ids);
    if (s) return s;
    s = xrem__ids_read(ids, &kv, &n);
    if (!s && !(used = calloc((size_t)n, 1))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !s && i < S->n; i++) {
        if (xrem__ids_use(kv, n, xrem__get(S->split, S->rows[i], S->sc_dicom), used))
            S->rows[keep++] = S->rows[i];
        else
            sum->n_dropped_ids++;
    }
    for (int64_t j = 0; !s && j < n; j++)
        if (!used[j] && missing++ == 0) first = j;
    if (!s && missing)
        s = xrem_fail(XREM_ERR_VALUE,
                      "%s: %lld of %lld ids are not among the selected images (split '%s'%s), e.g. '%s' "
                      "(line %lld)",
                      xrem_csv_name(ids), (long long)missing, (long long)n, S->split_name,
                      S->o->reports_csv ? " rows of the reports CSV with a report" : "", kv[first].key,
                      (long long)(kv[first].row ? xrem_csv_line(ids, kv[first].row - 1) : 1));
    if (!s) S->n = keep;
    free(used);
    free(kv);
    xrem_csv_free(ids);
    return s;
}

/* 1 when v is one of the comma-separated names in list. */
static int xrem__in_list(const char *list, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && n > 0 && !strncmp(p, v, n)) return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

static xrem_status xrem__sel_views(xrem__sel *S, xrem_prep_summary *sum)
{
    xrem_csv *meta = NULL;
    xrem__kv *idx = NULL;
    int cd, cv;
    xrem_status s = xrem__csv_read_gz(S->o->metadata_csv, &meta);
    if (s) return s;
    s = xrem_csv_column(meta, "dicom_id", &cd);
    if (!s) s = xrem_csv_column(meta, "ViewPosition", &cv);
    if (!s) s = xrem__csv_index(meta, cd, &idx);
    int64_t keep = 0;
    for (int64_t i = 0; !s && i < S->n; i++) {
        const char *d = xrem__get(S->split, S->rows[i], S->sc_dicom);
        int64_t m = xrem__lookup(idx, xrem_csv_nrows(meta), d);
        if (m < 0)
            s = xrem_fail(XREM_ERR_VALUE, "%s: no row for dicom_id '%s' (needed for --views)", xrem_csv_name(meta), d);
        else if (xrem__in_list(S->o->views, xrem__get(meta, m, cv)))
            S->rows[keep++] = S->rows[i];
        else
            sum->n_dropped_views++;
    }
    if (!s) S->n = keep;
    free(idx);
    xrem_csv_free(meta);
    return s;
}

/* <root>/files when that is a folder (the MIMIC-CXR-JPG root), else <root> (the files/ folder). */
static void xrem__files_dir(const char *root, char *out, size_t n)
{
    struct stat st;
    snprintf(out, n, "%s/files", root);
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) snprintf(out, n, "%s", root);
}

static char *xrem__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static xrem_status xrem__sel_entry(xrem__sel *S, const char *dir, int64_t i, xrem__prep_list *l)
{
    int64_t r = S->rows[i];
    xrem_status s = xrem__csv_id(S->split, r, S->sc_study, &l->study[i]);
    if (!s) s = xrem__csv_id(S->split, r, S->sc_subject, &l->subject[i]);
    if (s) return s;
    const char *d = xrem__get(S->split, r, S->sc_dicom);
    char sub[32], path[4096];
    snprintf(sub, sizeof sub, "%lld", (long long)l->subject[i]);
    int n = snprintf(path, sizeof path, "%s/p%.2s/p%s/s%lld/%s.jpg", dir, sub, sub, (long long)l->study[i], d);
    if (n < 0 || (size_t)n >= sizeof path)
        return xrem_fail(XREM_ERR_ARG, "image path for dicom_id '%s' is too long", d);
    if (!(l->dicom[i] = xrem__strdup(d)) || !(l->path[i] = xrem__strdup(path)))
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    return XREM_OK;
}

static xrem_status xrem__sel_list(xrem__sel *S, xrem__prep_list *l)
{
    char dir[4096];
    xrem__files_dir(S->o->jpg_root, dir, sizeof dir);
    size_t n = (size_t)(S->n ? S->n : 1);
    l->dicom = calloc(n, sizeof(char *));
    l->path = calloc(n, sizeof(char *));
    l->study = malloc(n * sizeof(int64_t));
    l->subject = malloc(n * sizeof(int64_t));
    l->n = S->n;
    if (!l->dicom || !l->path || !l->study || !l->subject) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status s = XREM_OK;
    for (int64_t i = 0; !s && i < S->n; i++)
        s = xrem__sel_entry(S, dir, i, l);
    return s;
}

/* Every image must be there before any work starts: name the first missing and count the rest. */
static xrem_status xrem__sel_check_files(const xrem__prep_list *l)
{
    int64_t missing = 0, first = -1;
    for (int64_t i = 0; i < l->n; i++)
        if (access(l->path[i], R_OK) != 0 && missing++ == 0) first = i;
    if (!missing) return XREM_OK;
    return xrem_fail(XREM_ERR_IO, "image for dicom_id %s not found or not readable: %s%s (%lld of %lld images missing)",
                     l->dicom[first], l->path[first], missing > 1 ? " and others" : "", (long long)missing,
                     (long long)l->n);
}

xrem_status xrem__prep_select(const xrem_prep_mimic_opts *o, xrem__prep_list *l, xrem_prep_summary *sum)
{
    memset(l, 0, sizeof *l);
    xrem__sel S;
    memset(&S, 0, sizeof S);
    S.o = o;
    S.split_name = o->split_name ? o->split_name : "test";
    xrem_status s = xrem__sel_split(&S);
    if (!s && o->reports_csv)
        s = xrem__sel_reports(&S, sum);
    else if (!s)
        xrem__sel_from_split(&S, sum);
    if (!s && o->ids_csv) s = xrem__sel_ids(&S, sum);
    if (!s && o->views) s = xrem__sel_views(&S, sum);
    if (!s && S.n == 0)
        s = xrem_fail(XREM_ERR_VALUE, "no images selected (split '%s' of %s%s%s%s)", S.split_name, o->split_csv,
                      o->reports_csv ? ", rows with a report" : "", o->ids_csv ? ", the id list" : "",
                      o->views ? ", the views" : "");
    if (!s) s = xrem__sel_list(&S, l);
    if (!s) s = xrem__sel_check_files(l);
    free(S.sidx);
    free(S.rows);
    xrem_csv_free(S.split);
    if (s) xrem__prep_list_free(l);
    return s;
}

void xrem__prep_list_free(xrem__prep_list *l)
{
    if (l->dicom) xrem_strings_free(l->dicom, l->n);
    if (l->path) xrem_strings_free(l->path, l->n);
    free(l->study);
    free(l->subject);
    memset(l, 0, sizeof *l);
}
