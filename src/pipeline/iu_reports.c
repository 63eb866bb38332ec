#define _POSIX_C_SOURCE 200809L /* strdup, getpid */
#include "pipeline/iu_reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/csv.h"
#include "core/tmpfile.h"

#define IU_MAX_MEMBER (64 << 20) /* a report is a few KiB; anything this large is not one */

/* ---- one section ------------------------------------------------------------------------------ */

/* Decode one entity at p (p[0] == '&') into *c; returns its length, 0 when unsupported. */
static size_t iu_entity(const char *p, char *c)
{
    static const char *const ent[5] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
    static const char rep[5] = {'<', '>', '&', '"', '\''};
    for (int k = 0; k < 5; k++)
        if (!strncmp(p, ent[k], strlen(ent[k]))) {
            *c = rep[k];
            return strlen(ent[k]);
        }
    if (p[1] != '#') return 0;
    char *e;
    long cp = p[2] == 'x' ? strtol(p + 3, &e, 16) : strtol(p + 2, &e, 10);
    if (*e != ';' || cp <= 0 || cp >= 128) return 0; /* ASCII only: the reports need no more */
    *c = (char)cp;
    return (size_t)(e + 1 - p);
}

xrem_status xrem_iu_section(const char *xml, const char *label, const char *name, char **out)
{
    *out = NULL;
    char tag[96];
    snprintf(tag, sizeof tag, "<AbstractText Label=\"%s\"", label);
    const char *p = strstr(xml, tag);
    if (!p || !strncmp(p + strlen(tag), "/>", 2)) {
        *out = strdup("");
        return *out ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    p += strlen(tag);
    if (*p != '>') return xrem_fail(XREM_ERR_FORMAT, "%s: unexpected <AbstractText Label=\"%s\"> start tag", name, label);
    p++;
    const char *end = strstr(p, "</AbstractText>");
    if (!end) return xrem_fail(XREM_ERR_FORMAT, "%s: %s element is not closed", name, label);
    char *r = malloc((size_t)(end - p) + 1), *o = r;
    if (!r) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    while (p < end) {
        if (*p == '<') {
            free(r);
            return xrem_fail(XREM_ERR_FORMAT, "%s: markup inside the %s element is not supported", name, label);
        }
        if (*p == '\r') { /* XML end-of-line normalisation: CRLF and CR read as LF */
            *o++ = '\n';
            p += p[1] == '\n' ? 2 : 1;
        } else if (*p != '&') {
            *o++ = *p++;
        } else {
            size_t k = iu_entity(p, o);
            if (!k || p + k > end) {
                free(r);
                return xrem_fail(XREM_ERR_FORMAT, "%s: unsupported entity '%.12s' in the %s element", name, p, label);
            }
            o++;
            p += k;
        }
    }
    *o = 0;
    *out = r;
    return XREM_OK;
}

/* ---- the archive ------------------------------------------------------------------------------ */

void xrem_iu_reports_free(xrem_iu_reports *r)
{
    for (int64_t i = 0; r->item && i < r->n; i++) {
        free(r->item[i].file);
        free(r->item[i].impression);
        free(r->item[i].findings);
    }
    free(r->item);
    r->item = NULL;
    r->n = 0;
}

/* A tar numeric field: octal digits, optionally space/NUL padded; -1 when malformed. */
static int64_t tar_octal(const char *s, int n)
{
    int i = 0;
    int64_t v = 0;
    while (i < n && s[i] == ' ') i++;
    if (i == n || s[i] < '0' || s[i] > '7') return -1;
    for (; i < n && s[i] >= '0' && s[i] <= '7'; i++) {
        if (v > (INT64_MAX >> 3)) return -1;
        v = v * 8 + (s[i] - '0');
    }
    for (; i < n; i++)
        if (s[i] != ' ' && s[i] != 0) return -1;
    return v;
}

static int64_t iu_number(const char *base)
{
    const char *p = base;
    int64_t v = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return strcmp(p, ".xml") ? -1 : v;
}

static xrem_status iu_add(xrem_iu_reports *r, int64_t *cap, const char *member, const char *xml)
{
    if (r->n == *cap) {
        int64_t nc = *cap ? 2 * *cap : 4096;
        xrem_iu_report *ni = realloc(r->item, sizeof *ni * (size_t)nc);
        if (!ni) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        r->item = ni;
        *cap = nc;
    }
    const char *base = strrchr(member, '/');
    base = base ? base + 1 : member;
    xrem_iu_report *it = &r->item[r->n];
    memset(it, 0, sizeof *it);
    r->n++; /* counted now so that a failure below frees what was made */
    if (!(it->file = strdup(base))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    it->number = iu_number(base);
    xrem_status s = xrem_iu_section(xml, "IMPRESSION", member, &it->impression);
    if (!s) s = xrem_iu_section(xml, "FINDINGS", member, &it->findings);
    return s;
}

static xrem_status tar_read(gzFile z, const char *tgz, void *buf, int64_t n, const char *what)
{
    char *p = buf;
    while (n > 0) {
        unsigned k = n > (1 << 30) ? 1u << 30 : (unsigned)n;
        int got = gzread(z, p, k);
        if (got <= 0) {
            int err = 0;
            const char *m = gzerror(z, &err);
            return xrem_fail(XREM_ERR_FORMAT, "%s: truncated or corrupt archive while reading %s%s%s", tgz, what,
                             err ? ": " : "", err ? m : "");
        }
        p += got;
        n -= got;
    }
    return XREM_OK;
}

/* Member name: a pending GNU/pax long name, else ustar prefix + name. */
static void tar_name(const char *hdr, char *longname, char *name, size_t cap)
{
    if (longname[0]) {
        snprintf(name, cap, "%s", longname);
        longname[0] = 0;
    } else if (!memcmp(hdr + 257, "ustar", 5) && hdr[345])
        snprintf(name, cap, "%.155s/%.100s", hdr + 345, hdr);
    else
        snprintf(name, cap, "%.100s", hdr);
}

/* pax extended header: "len path=value\n" records; keep the path. */
static void pax_path(const char *data, int64_t size, char *longname, size_t cap)
{
    const char *p = data, *end = data + size;
    while (p < end) {
        char *e;
        long len = strtol(p, &e, 10);
        if (len <= 0 || p + len > end || *e != ' ') return;
        if (!strncmp(e + 1, "path=", 5)) {
            int vl = (int)(p + len - (e + 6) - 1);
            if (vl > 0) snprintf(longname, cap, "%.*s", vl, e + 6);
        }
        p += len;
    }
}

static xrem_status iu_scan(gzFile z, const char *tgz, xrem_iu_reports *r)
{
    char hdr[512], longname[1024] = "", name[1024];
    int64_t cap = 0;
    xrem_status s = XREM_OK;
    for (int64_t member = 0; !s; member++) {
        int got = gzread(z, hdr, 512);
        if (got == 0) break; /* archive without the end-of-archive blocks */
        if (got != 512) return xrem_fail(XREM_ERR_FORMAT, "%s: truncated tar header (member %lld)", tgz, (long long)member);
        int zero = 1;
        for (int i = 0; i < 512 && zero; i++) zero = hdr[i] == 0;
        if (zero) break;
        const int64_t size = tar_octal(hdr + 124, 12);
        const char type = hdr[156];
        tar_name(hdr, longname, name, sizeof name);
        if (size < 0 || size > IU_MAX_MEMBER)
            return xrem_fail(XREM_ERR_FORMAT, "%s: member '%s' has a bad or implausible size field", tgz, name);
        const int64_t padded = (size + 511) / 512 * 512;
        char *data = malloc((size_t)padded + 1);
        if (!data) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        s = tar_read(z, tgz, data, padded, name);
        if (!s) {
            data[size] = 0;
            const size_t l = strlen(name);
            if (type == 'L') snprintf(longname, sizeof longname, "%s", data);
            else if (type == 'x') pax_path(data, size, longname, sizeof longname);
            else if ((type == '0' || type == 0) && l > 4 && !strcmp(name + l - 4, ".xml")) {
                if (strlen(data) != (size_t)size) s = xrem_fail(XREM_ERR_FORMAT, "%s: member '%s' holds a NUL byte", tgz, name);
                else s = iu_add(r, &cap, name, data);
                if (s) s = xrem_fail_context(s, "%s", tgz);
            }
        }
        free(data);
    }
    return s;
}

xrem_status xrem_iu_reports_read(const char *tgz, xrem_iu_reports *out)
{
    memset(out, 0, sizeof *out);
    gzFile z = gzopen(tgz, "rb");
    if (!z) return xrem_fail(XREM_ERR_IO, "%s: cannot open", tgz);
    xrem_status s = iu_scan(z, tgz, out);
    gzclose(z);
    if (!s && out->n == 0) s = xrem_fail(XREM_ERR_FORMAT, "%s: no .xml reports in the archive", tgz);
    if (s) xrem_iu_reports_free(out);
    return s;
}

/* ---- the split -------------------------------------------------------------------------------- */

static const xrem_iu_reports *iu_sort_src;

static int iu_by_number(const void *a, const void *b)
{
    const xrem_iu_report *x = &iu_sort_src->item[*(const int64_t *)a], *y = &iu_sort_src->item[*(const int64_t *)b];
    if (x->number != y->number) return x->number < y->number ? -1 : 1;
    return strcmp(x->file, y->file);
}

typedef struct {
    xrem_tmpfile t;
    xrem_csv_writer w;
} csv_out;

static xrem_status csv_open(csv_out *o, const char *path)
{
    xrem_status s = xrem_tmpfile_open(&o->t, path);
    if (!s) xrem_csv_writer_init(&o->w, o->t.f);
    return s;
}

xrem_status xrem_iu_reports_write_split(const xrem_iu_reports *r, int every, int64_t corpus_max,
                                        const char *corpus_csv, const char *gt_csv, int64_t *n_test,
                                        int64_t *n_corpus)
{
    if (every < 2) return xrem_fail(XREM_ERR_ARG, "--test-every must be >= 2 (got %d)", every);
    for (int64_t i = 0; i < r->n; i++)
        if (r->item[i].number < 0)
            return xrem_fail(XREM_ERR_FORMAT, "report member '%s' is not named <number>.xml: no study id for it",
                             r->item[i].file);
    int64_t *ord = malloc(sizeof *ord * (size_t)(r->n ? r->n : 1));
    if (!ord) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < r->n; i++) ord[i] = i;
    iu_sort_src = r;
    qsort(ord, (size_t)r->n, sizeof *ord, iu_by_number);
    csv_out c = {0}, g = {0};
    int64_t nt = 0, nc = 0, with_imp = 0;
    xrem_status s = csv_open(&c, corpus_csv);
    if (!s) s = csv_open(&g, gt_csv);
    if (!s) {
        xrem_csv_put(&c.w, "report", (size_t)-1);
        xrem_csv_end_row(&c.w);
        xrem_csv_put(&g.w, "study_id", (size_t)-1);
        xrem_csv_put(&g.w, "report", (size_t)-1);
        xrem_csv_end_row(&g.w);
    }
    for (int64_t k = 0; !s && k < r->n; k++) {
        const xrem_iu_report *it = &r->item[ord[k]];
        if (it->impression[0] && ++with_imp % every == 0) {
            xrem_csv_put_i64(&g.w, it->number);
            xrem_csv_put(&g.w, it->impression, (size_t)-1);
            xrem_csv_end_row(&g.w);
            nt++;
        } else if (corpus_max < 0 || nc < corpus_max) {
            xrem_csv_put(&c.w, it->impression, (size_t)-1);
            xrem_csv_end_row(&c.w);
            nc++;
        }
    }
    /* the pair appears together or not at all */
    if (!s) s = xrem_tmpfile_close(&c.t);
    if (!s) s = xrem_tmpfile_close(&g.t);
    if (!s) s = xrem_tmpfile_commit(&c.t);
    if (!s && (s = xrem_tmpfile_commit(&g.t)) != XREM_OK) remove(corpus_csv);
    xrem_tmpfile_discard(&c.t);
    xrem_tmpfile_discard(&g.t);
    free(ord);
    if (n_test) *n_test = nt;
    if (n_corpus) *n_corpus = nc;
    return s;
}
