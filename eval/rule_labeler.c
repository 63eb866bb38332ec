/* The rule-based labeler (see rule_labeler.h for the rules and data/labeler/README.md for the
 * list syntax). Loading parses five small text files into patterns; labelling tokenizes a report,
 * matches mentions and cues per sentence and aggregates per observation. */
#define _POSIX_C_SOURCE 200809L
#include "rule_labeler.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath.h"
#include "core/sha256.h"

#define RL_MAXW 8      /* words per phrase */
#define RL_TAG "xrem-rule-labeler/1\n"
#define RL_OTHER 13    /* [No Finding] section: other abnormalities */
#define RL_MAX_FILE (16 << 20)
#define RL_MAX_SENT 256 /* tokens; a longer run without a sentence end is cut into pieces */

enum { RL_F_MENTIONS, RL_F_NEGATION, RL_F_UNCERTAINTY, RL_F_PSEUDO, RL_F_SCOPE, RL_NFILES };
static const char *const rl__fname[RL_NFILES] = {"mentions.txt", "negation.txt", "uncertainty.txt", "pseudo.txt",
                                                 "scope.txt"};

enum { RL_NONE = 0, RL_NEG = 1, RL_UNC = 2 };                   /* cue kinds */
enum { RL_S_POS = 1, RL_S_NEG = 2, RL_S_UNC = 4 };              /* per-observation state bits */
enum { RL_T_WORD = 0, RL_T_PUNCT = 1, RL_T_END = 2 };           /* token kinds */

/* A phrase: nw words; bit k of prefix: word k ends in '*'; bit k of gap: "..." before word k. */
typedef struct {
    char *buf;              /* owns the words */
    const char *w[RL_MAXW]; /* [nw] */
    uint8_t wl[RL_MAXW];    /* [nw] lengths */
    uint8_t nw, prefix, gap;
} rl_pat;

typedef struct {
    rl_pat p;
    int obs;  /* 0..13 (13: other abnormalities) */
    int weak; /* '~' */
    int line; /* in mentions.txt */
} rl_mention;

/* One cue text with every role it plays. */
typedef struct {
    rl_pat p;
    uint8_t pre, post;         /* RL_NONE / RL_NEG / RL_UNC */
    int pre_scope, post_scope; /* words */
    uint8_t pseudo, term;
    uint8_t pre_file, post_file, oth_file;
    int pre_line, post_line, oth_line;
} rl_cue;

struct xrem_rule_labeler {
    rl_mention *men;
    int nmen;
    rl_cue *cue;
    int ncue;
    int scope, gap;
    int men_off[257], cue_off[257]; /* pattern indices by the first byte of the first word */
    int *men_idx, *cue_idx;
    char sig[5 + 65];
    char *dir;
};

/* ------------------------------------------------------------------------------------------------
 * Loading */

typedef struct {
    const char *path; /* for messages */
    int line;
} rl_where;

static void rl__pat_free(rl_pat *p)
{
    free(p->buf);
    p->buf = NULL;
}

static int rl__pat_eq(const rl_pat *a, const rl_pat *b)
{
    if (a->nw != b->nw || a->prefix != b->prefix || a->gap != b->gap) return 0;
    for (int k = 0; k < a->nw; k++)
        if (a->wl[k] != b->wl[k] || memcmp(a->w[k], b->w[k], a->wl[k])) return 0;
    return 1;
}

static int rl__wordc(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

/* Parse the phrase in s (already stripped of comment, '~' and '@N') into *p. */
static xrem_status rl__pat_parse(const char *s, rl_where w, rl_pat *p)
{
    memset(p, 0, sizeof *p);
    size_t n = strlen(s);
    p->buf = malloc(n + 1);
    if (!p->buf) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
    char *o = p->buf;
    int pending_gap = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '-' || c == '\'') {
            i++;
            continue;
        }
        if (c == '.' && !strncmp(s + i, "...", 3)) {
            if ((i + 3 < n && s[i + 3] != ' ' && s[i + 3] != '\t') || (i > 0 && s[i - 1] != ' ' && s[i - 1] != '\t'))
                goto bad_gap;
            if (p->nw == 0 || pending_gap) goto bad_gap;
            pending_gap = 1;
            i += 3;
            continue;
        }
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9')) {
            rl__pat_free(p);
            if (c == '*') return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '*' must end a word of at least 2 letters", w.path, w.line);
            if (c >= 0x21 && c < 0x7f)
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: unexpected character '%c' in a phrase (words are a-z 0-9)", w.path, w.line, c);
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: unexpected byte 0x%02x in a phrase (words are a-z 0-9)", w.path, w.line, c);
        }
        if (p->nw == RL_MAXW) {
            rl__pat_free(p);
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: more than %d words in a phrase", w.path, w.line, RL_MAXW);
        }
        char *start = o;
        while (i < n) {
            c = (unsigned char)s[i];
            if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) break;
            *o++ = (char)c;
            i++;
        }
        int k = p->nw;
        size_t len = (size_t)(o - start);
        if (i < n && s[i] == '*') {
            i++;
            if (len < 2 || (i < n && s[i] != ' ' && s[i] != '\t')) {
                rl__pat_free(p);
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '*' must end a word of at least 2 letters", w.path, w.line);
            }
            p->prefix |= (uint8_t)(1u << k);
        }
        if (len > 255) {
            rl__pat_free(p);
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: a word longer than 255 letters", w.path, w.line);
        }
        p->w[k] = start;
        p->wl[k] = (uint8_t)len;
        if (pending_gap) p->gap |= (uint8_t)(1u << k);
        pending_gap = 0;
        p->nw++;
    }
    if (pending_gap) goto bad_gap;
    if (p->nw == 0) {
        rl__pat_free(p);
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: empty phrase", w.path, w.line);
    }
    return XREM_OK;
bad_gap:
    rl__pat_free(p);
    return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '...' must stand alone between two words (not first, last or twice in a row)",
                     w.path, w.line);
}

/* The file's bytes (NUL-terminated; *len without the NUL). */
static xrem_status rl__read(const char *path, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return xrem_fail(XREM_ERR_IO, "rule labeler: cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n + 1 >= cap) {
            if (cap >= RL_MAX_FILE) {
                free(b);
                fclose(f);
                return xrem_fail(XREM_ERR_FORMAT, "rule labeler: %s is larger than %d bytes", path, RL_MAX_FILE);
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) break;
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) break;
    }
    if (!b) {
        fclose(f);
        return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory reading %s", path);
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return xrem_fail(XREM_ERR_IO, "rule labeler: error reading %s", path);
    }
    b[n] = 0;
    if (strlen(b) != n) {
        int line = 1;
        for (size_t i = 0; b[i]; i++) line += b[i] == '\n';
        free(b);
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: NUL byte", path, line);
    }
    *out = b;
    *len = n;
    return XREM_OK;
}

/* Iterate the lines of a file: the content with comment and surrounding blanks removed. */
typedef struct {
    char *p;    /* next line start */
    int line;   /* current line number */
} rl_lines;

static char *rl__next_line(rl_lines *it)
{
    while (it->p && *it->p) {
        char *s = it->p;
        char *e = strchr(s, '\n');
        if (e) {
            *e = 0;
            it->p = e + 1;
        } else {
            it->p = s + strlen(s);
        }
        it->line++;
        char *h = strchr(s, '#');
        if (h) *h = 0;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
        while (*s == ' ' || *s == '\t') s++;
        if (*s) return s;
    }
    return NULL;
}

/* "[name]" -> name (in place), or NULL when s is not a header. Fails on a malformed one. */
static xrem_status rl__section(char *s, rl_where w, char **name)
{
    *name = NULL;
    if (s[0] != '[') return XREM_OK;
    size_t n = strlen(s);
    if (s[n - 1] != ']' || n < 3) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: malformed section header '%s'", w.path, w.line, s);
    s[n - 1] = 0;
    s++;
    while (*s == ' ') s++;
    n = strlen(s);
    while (n > 0 && s[n - 1] == ' ') s[--n] = 0;
    *name = s;
    return XREM_OK;
}

/* Split a trailing "@N" off s (in place). *scope = -1 when absent. */
static xrem_status rl__scope_suffix(char *s, rl_where w, int allowed, int *scope)
{
    *scope = -1;
    char *at = strchr(s, '@');
    if (!at) return XREM_OK;
    if (!allowed) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '@N' (a cue's scope) is only allowed in cue files", w.path, w.line);
    char *d = at + 1;
    while (*d == ' ') d++;
    if (!*d) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '@' without a number", w.path, w.line);
    long v = 0;
    for (char *q = d; *q; q++) {
        if (*q < '0' || *q > '9' || v > 1000)
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '@%s' is not a scope (a number of words, 0..64)", w.path, w.line, d);
        v = v * 10 + (*q - '0');
    }
    if (v > 64) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: scope @%ld out of range 0..64", w.path, w.line, v);
    *at = 0;
    *scope = (int)v;
    return XREM_OK;
}

static xrem_status rl__grow(void **a, int *cap, int n, size_t elem)
{
    if (n < *cap) return XREM_OK;
    int nc = *cap ? *cap * 2 : 64;
    void *na = realloc(*a, (size_t)nc * elem);
    if (!na) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
    *a = na;
    *cap = nc;
    return XREM_OK;
}

typedef struct {
    xrem_rule_labeler *lab;
    int men_cap, cue_cap;
    char path[RL_NFILES][4096];
} rl_loader;

static xrem_status rl__load_mentions(rl_loader *L, char *text)
{
    xrem_rule_labeler *lab = L->lab;
    const char *path = L->path[RL_F_MENTIONS];
    rl_lines it = {text, 0};
    int sec = -1, sec_line = 0, sec_count = 0;
    char *s;
    while ((s = rl__next_line(&it))) {
        rl_where w = {path, it.line};
        char *name;
        if (rl__section(s, w, &name)) return XREM_ERR_FORMAT;
        if (name) {
            if (sec >= 0 && sec < RL_OTHER && sec_count == 0)
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: section [%s] has no phrases", path, sec_line, xrem_chexbert_conditions[sec]);
            int want = sec + 1, got = -1;
            for (int j = 0; j < XREM_NCOND; j++)
                if (!strcmp(name, xrem_chexbert_conditions[j])) got = j;
            if (got < 0)
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: unknown section [%s] (sections are the 14 CheXbert observations, in CheXbert's order)",
                                 path, w.line, name);
            if (want >= XREM_NCOND || got != want)
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: section [%s] %s; expected [%s] here (CheXbert's order)", path, w.line, name,
                                 got <= sec ? "repeated or out of order" : "out of order",
                                 want < XREM_NCOND ? xrem_chexbert_conditions[want] : "end of file");
            sec = got;
            sec_line = w.line;
            sec_count = 0;
            continue;
        }
        if (sec < 0) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: phrase before the first section", path, w.line);
        int weak = 0, scope;
        if (*s == '~') {
            weak = 1;
            s++;
        }
        if (strchr(s, '~')) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '~' (weak mention) must start the line", path, w.line);
        if (rl__scope_suffix(s, w, 0, &scope)) return XREM_ERR_FORMAT;
        rl_pat p;
        xrem_status st = rl__pat_parse(s, w, &p);
        if (st) return st;
        for (int j = lab->nmen - 1; j >= 0 && lab->men[j].obs == sec; j--)
            if (rl__pat_eq(&lab->men[j].p, &p)) {
                rl__pat_free(&p);
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: phrase repeats line %d of section [%s]", path, w.line, lab->men[j].line,
                                 xrem_chexbert_conditions[sec]);
            }
        if ((st = rl__grow((void **)&lab->men, &L->men_cap, lab->nmen, sizeof *lab->men))) {
            rl__pat_free(&p);
            return st;
        }
        lab->men[lab->nmen++] = (rl_mention){p, sec, weak, w.line};
        sec_count++;
    }
    if (sec >= 0 && sec < RL_OTHER && sec_count == 0)
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: section [%s] has no phrases", path, sec_line, xrem_chexbert_conditions[sec]);
    if (sec != XREM_NCOND - 1)
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: missing section [%s] (the file must hold all 14 CheXbert observations, in order)", path,
                         it.line, xrem_chexbert_conditions[sec + 1]);
    return XREM_OK;
}

enum { RL_ROLE_PRE, RL_ROLE_POST, RL_ROLE_PSEUDO, RL_ROLE_TERM };

/* Add one role of a cue text, merging with an earlier entry of the same text. */
static xrem_status rl__cue_add(rl_loader *L, rl_pat *p, int role, int kind, int scope, int file, int line)
{
    xrem_rule_labeler *lab = L->lab;
    static const char *const kname[3] = {"", "negation", "uncertainty"};
    rl_cue *c = NULL;
    for (int j = 0; j < lab->ncue; j++)
        if (rl__pat_eq(&lab->cue[j].p, p)) c = &lab->cue[j];
    const char *path = L->path[file];
    if (c) {
        rl__pat_free(p);
        if (role == RL_ROLE_PRE && c->pre)
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: already a %s pre cue at %s:%d", path, line, kname[c->pre], rl__fname[c->pre_file],
                             c->pre_line);
        if (role == RL_ROLE_POST && c->post)
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: already a %s post cue at %s:%d", path, line, kname[c->post], rl__fname[c->post_file],
                             c->post_line);
        if (role >= RL_ROLE_PSEUDO || c->pseudo || c->term) {
            int fl = c->pseudo || c->term ? c->oth_file : c->pre ? c->pre_file : c->post_file;
            int ln = c->pseudo || c->term ? c->oth_line : c->pre ? c->pre_line : c->post_line;
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: a %s cannot also be a cue, pseudo cue or terminator elsewhere (%s:%d)", path, line,
                             role == RL_ROLE_PSEUDO ? "pseudo cue" : role == RL_ROLE_TERM ? "terminator" : "cue", rl__fname[fl], ln);
        }
    } else {
        xrem_status st = rl__grow((void **)&lab->cue, &L->cue_cap, lab->ncue, sizeof *lab->cue);
        if (st) {
            rl__pat_free(p);
            return st;
        }
        c = &lab->cue[lab->ncue++];
        memset(c, 0, sizeof *c);
        c->p = *p;
    }
    int sc = scope >= 0 ? scope : -1; /* -1: the global scope, resolved after scope.txt */
    if (role == RL_ROLE_PRE) {
        c->pre = (uint8_t)kind;
        c->pre_scope = sc;
        c->pre_file = (uint8_t)file;
        c->pre_line = line;
    } else if (role == RL_ROLE_POST) {
        c->post = (uint8_t)kind;
        c->post_scope = sc;
        c->post_file = (uint8_t)file;
        c->post_line = line;
    } else {
        c->pseudo = role == RL_ROLE_PSEUDO;
        c->term = role == RL_ROLE_TERM;
        c->oth_file = (uint8_t)file;
        c->oth_line = line;
    }
    return XREM_OK;
}

/* negation.txt / uncertainty.txt: [pre] and [post]. */
static xrem_status rl__load_cues(rl_loader *L, char *text, int file, int kind)
{
    const char *path = L->path[file];
    rl_lines it = {text, 0};
    int role = -1, seen[2] = {0, 0};
    char *s;
    while ((s = rl__next_line(&it))) {
        rl_where w = {path, it.line};
        char *name;
        if (rl__section(s, w, &name)) return XREM_ERR_FORMAT;
        if (name) {
            if (strcmp(name, "pre") && strcmp(name, "post"))
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: unknown section [%s] (expected [pre] or [post])", path, w.line, name);
            role = strcmp(name, "pre") ? RL_ROLE_POST : RL_ROLE_PRE;
            if (seen[role]) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: section [%s] repeats line %d", path, w.line, name, seen[role]);
            seen[role] = w.line;
            continue;
        }
        if (role < 0) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: cue before a [pre] or [post] section", path, w.line);
        if (*s == '~') return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '~' (weak mention) is only allowed in mentions.txt", path, w.line);
        int scope;
        if (rl__scope_suffix(s, w, 1, &scope)) return XREM_ERR_FORMAT;
        rl_pat p;
        xrem_status st = rl__pat_parse(s, w, &p);
        if (st) return st;
        if ((st = rl__cue_add(L, &p, role, kind, scope, file, w.line))) return st;
    }
    if (!seen[0] || !seen[1])
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: missing section [%s]", path, it.line, !seen[0] ? "pre" : "post");
    return XREM_OK;
}

static xrem_status rl__load_pseudo(rl_loader *L, char *text)
{
    const char *path = L->path[RL_F_PSEUDO];
    rl_lines it = {text, 0};
    char *s;
    while ((s = rl__next_line(&it))) {
        rl_where w = {path, it.line};
        if (*s == '[') return xrem_fail(XREM_ERR_FORMAT, "%s:%d: pseudo.txt takes no sections", path, w.line);
        if (*s == '~') return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '~' (weak mention) is only allowed in mentions.txt", path, w.line);
        int scope;
        if (rl__scope_suffix(s, w, 0, &scope)) return XREM_ERR_FORMAT;
        rl_pat p;
        xrem_status st = rl__pat_parse(s, w, &p);
        if (st) return st;
        if ((st = rl__cue_add(L, &p, RL_ROLE_PSEUDO, RL_NONE, -1, RL_F_PSEUDO, w.line))) return st;
    }
    return XREM_OK;
}

static xrem_status rl__load_scope(rl_loader *L, char *text)
{
    xrem_rule_labeler *lab = L->lab;
    const char *path = L->path[RL_F_SCOPE];
    rl_lines it = {text, 0};
    int sec = -1, seen[2] = {0, 0}, set_line[2] = {0, 0};
    char *s;
    while ((s = rl__next_line(&it))) {
        rl_where w = {path, it.line};
        char *name;
        if (rl__section(s, w, &name)) return XREM_ERR_FORMAT;
        if (name) {
            if (strcmp(name, "settings") && strcmp(name, "terminators"))
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: unknown section [%s] (expected [settings] or [terminators])", path, w.line, name);
            sec = strcmp(name, "settings") ? 1 : 0;
            if (seen[sec]) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: section [%s] repeats line %d", path, w.line, name, seen[sec]);
            seen[sec] = w.line;
            continue;
        }
        if (sec < 0) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: line before a [settings] or [terminators] section", path, w.line);
        if (sec == 0) {
            char *eq = strchr(s, '=');
            if (!eq) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: expected 'key = value'", path, w.line);
            *eq = 0;
            char *k = s, *v = eq + 1;
            size_t kn = strlen(k);
            while (kn > 0 && (k[kn - 1] == ' ' || k[kn - 1] == '\t')) k[--kn] = 0;
            while (*v == ' ' || *v == '\t') v++;
            int which = !strcmp(k, "scope") ? 0 : !strcmp(k, "gap") ? 1 : -1;
            if (which < 0) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: unknown setting '%s' (expected scope or gap)", path, w.line, k);
            if (set_line[which]) return xrem_fail(XREM_ERR_FORMAT, "%s:%d: setting '%s' repeats line %d", path, w.line, k, set_line[which]);
            char *end;
            errno = 0;
            long val = strtol(v, &end, 10);
            long lo = which ? 1 : 0, hi = which ? 8 : 64;
            if (!*v || *end || errno || val < lo || val > hi)
                return xrem_fail(XREM_ERR_FORMAT, "%s:%d: %s = '%s': expected an integer in %ld..%ld", path, w.line, k, v, lo, hi);
            if (which) lab->gap = (int)val;
            else lab->scope = (int)val;
            set_line[which] = w.line;
            continue;
        }
        if (*s == '~') return xrem_fail(XREM_ERR_FORMAT, "%s:%d: '~' (weak mention) is only allowed in mentions.txt", path, w.line);
        int scope;
        if (rl__scope_suffix(s, w, 0, &scope)) return XREM_ERR_FORMAT;
        rl_pat p;
        xrem_status st = rl__pat_parse(s, w, &p);
        if (st) return st;
        if (p.gap) {
            rl__pat_free(&p);
            return xrem_fail(XREM_ERR_FORMAT, "%s:%d: a terminator cannot hold '...'", path, w.line);
        }
        if ((st = rl__cue_add(L, &p, RL_ROLE_TERM, RL_NONE, -1, RL_F_SCOPE, w.line))) return st;
    }
    if (!seen[0] || !seen[1])
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: missing section [%s]", path, it.line, !seen[0] ? "settings" : "terminators");
    if (!set_line[0] || !set_line[1])
        return xrem_fail(XREM_ERR_FORMAT, "%s:%d: [settings] must set %s", path, it.line, !set_line[0] ? "scope" : "gap");
    return XREM_OK;
}

/* Counting sort of pattern indices by the first byte of the first word. */
static xrem_status rl__index(int n, const rl_pat *(*get)(const xrem_rule_labeler *, int), const xrem_rule_labeler *lab, int off[257],
                             int **idx)
{
    int cnt[256] = {0};
    for (int i = 0; i < n; i++) cnt[(unsigned char)get(lab, i)->w[0][0]]++;
    off[0] = 0;
    for (int b = 0; b < 256; b++) off[b + 1] = off[b] + cnt[b];
    *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof **idx);
    if (!*idx) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
    int pos[256];
    memcpy(pos, off, sizeof pos);
    for (int i = 0; i < n; i++) (*idx)[pos[(unsigned char)get(lab, i)->w[0][0]]++] = i;
    return XREM_OK;
}
static const rl_pat *rl__men_pat(const xrem_rule_labeler *lab, int i) { return &lab->men[i].p; }
static const rl_pat *rl__cue_pat(const xrem_rule_labeler *lab, int i) { return &lab->cue[i].p; }

void xrem_rule_labeler_free(xrem_rule_labeler *lab)
{
    if (!lab) return;
    for (int i = 0; i < lab->nmen; i++) rl__pat_free(&lab->men[i].p);
    for (int i = 0; i < lab->ncue; i++) rl__pat_free(&lab->cue[i].p);
    free(lab->men);
    free(lab->cue);
    free(lab->men_idx);
    free(lab->cue_idx);
    free(lab->dir);
    free(lab);
}

xrem_status xrem_rule_labeler_load(const char *dir, xrem_rule_labeler **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "rule labeler: NULL output");
    *out = NULL;
    char found[4096];
    if (!dir) {
        const char *env = getenv("XREM_LABELER_DIR");
        if (env && *env)
            dir = env;
        else if (xrem_data_find("labeler", found, sizeof found) == XREM_OK)
            dir = found;
        else
            return xrem_fail_context(XREM_ERR_IO, "rule labeler (no --labeler-dir, no $XREM_LABELER_DIR)");
    }
    rl_loader L;
    memset(&L, 0, sizeof L);
    L.lab = calloc(1, sizeof *L.lab);
    if (!L.lab) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
    xrem_rule_labeler *lab = L.lab;
    lab->dir = strdup(dir);
    char *text[RL_NFILES] = {0};
    size_t len[RL_NFILES] = {0};
    xrem_status st = lab->dir ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
    for (int f = 0; f < RL_NFILES && !st; f++) {
        if ((size_t)snprintf(L.path[f], sizeof L.path[f], "%s/%s", dir, rl__fname[f]) >= sizeof L.path[f])
            st = xrem_fail(XREM_ERR_ARG, "rule labeler: directory name too long");
        else
            st = rl__read(L.path[f], &text[f], &len[f]);
    }
    if (!st) {
        /* the signature hashes the raw bytes, before parsing edits them in place */
        xrem_sha256 c;
        xrem_sha256_init(&c);
        xrem_sha256_update(&c, RL_TAG, strlen(RL_TAG));
        for (int f = 0; f < RL_NFILES; f++) {
            char hdr[128];
            int hn = snprintf(hdr, sizeof hdr, "%s\n%zu\n", rl__fname[f], len[f]);
            xrem_sha256_update(&c, hdr, (size_t)hn);
            xrem_sha256_update(&c, text[f], len[f]);
        }
        memcpy(lab->sig, "rule:", 5);
        xrem_sha256_final_hex(&c, lab->sig + 5);
    }
    char *body[RL_NFILES]; /* a UTF-8 byte order mark is skipped (but hashed) */
    for (int f = 0; f < RL_NFILES; f++) body[f] = text[f] && !strncmp(text[f], "\xef\xbb\xbf", 3) ? text[f] + 3 : text[f];
    if (!st) st = rl__load_mentions(&L, body[RL_F_MENTIONS]);
    if (!st) st = rl__load_cues(&L, body[RL_F_NEGATION], RL_F_NEGATION, RL_NEG);
    if (!st) st = rl__load_cues(&L, body[RL_F_UNCERTAINTY], RL_F_UNCERTAINTY, RL_UNC);
    if (!st) st = rl__load_pseudo(&L, body[RL_F_PSEUDO]);
    if (!st) st = rl__load_scope(&L, body[RL_F_SCOPE]);
    for (int f = 0; f < RL_NFILES; f++) free(text[f]);
    if (!st) {
        for (int j = 0; j < lab->ncue; j++) {
            if (lab->cue[j].pre_scope < 0) lab->cue[j].pre_scope = lab->scope;
            if (lab->cue[j].post_scope < 0) lab->cue[j].post_scope = lab->scope;
        }
        st = rl__index(lab->nmen, rl__men_pat, lab, lab->men_off, &lab->men_idx);
    }
    if (!st) st = rl__index(lab->ncue, rl__cue_pat, lab, lab->cue_off, &lab->cue_idx);
    if (st) {
        xrem_rule_labeler_free(lab);
        return st;
    }
    *out = lab;
    return XREM_OK;
}

const char *xrem_rule_labeler_signature(const xrem_rule_labeler *lab) { return lab ? lab->sig : ""; }
const char *xrem_rule_labeler_dir(const xrem_rule_labeler *lab) { return lab ? lab->dir : ""; }

/* ------------------------------------------------------------------------------------------------
 * Labelling */

typedef struct {
    int32_t off, len; /* in the lower-cased text */
    uint8_t kind;     /* RL_T_* */
} rl_tok;

typedef struct {
    int pat;          /* mention or cue index */
    int first, last;  /* token span */
    int nlit;
    int weak;         /* mentions: the phrase is weak (~) */
    int lit[RL_MAXW]; /* tokens of the literal words */
} rl_match;

typedef struct {
    char *low;
    size_t low_cap;
    rl_tok *tok;
    size_t tok_cap;
    int ntok;
    rl_match *m, *c; /* mention candidates / kept, cue occurrences */
    int nm, m_cap, nc, c_cap;
    int *owner;       /* [ntok] kept mention owning a literal token, -1 */
    uint8_t *blocked; /* [ntok] token taken by a mention (or, after cue matching, a pseudo cue) */
    uint8_t *tmark;   /* [ntok] a terminator starts here */
    int *cw, *ct, *cp; /* [ntok+1] prefix counts over the sentence: free words, terminators, punctuation */
    size_t own_cap;
} rl_ws;

static void rl__ws_free(rl_ws *ws)
{
    free(ws->low);
    free(ws->tok);
    free(ws->m);
    free(ws->c);
    free(ws->owner);
    free(ws->blocked);
    free(ws->tmark);
    free(ws->cw);
    free(ws->ct);
    free(ws->cp);
}

static int rl__is_abbrev(const char *s, int len)
{
    static const char *const ab[] = {"vs", "approx", "dr", "mr", "mrs", "ms", "st"};
    for (size_t i = 0; i < sizeof ab / sizeof *ab; i++)
        if ((int)strlen(ab[i]) == len && !memcmp(ab[i], s, (size_t)len)) return 1;
    return 0;
}

static xrem_status rl__push_tok(rl_ws *ws, size_t off, size_t len, int kind)
{
    if ((size_t)ws->ntok == ws->tok_cap) {
        size_t nc = ws->tok_cap ? ws->tok_cap * 2 : 256;
        rl_tok *nt = realloc(ws->tok, nc * sizeof *nt);
        if (!nt) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
        ws->tok = nt;
        ws->tok_cap = nc;
    }
    /* no empty sentences: a sentence end right after another one (or at the start) is dropped */
    if (kind == RL_T_END && (ws->ntok == 0 || ws->tok[ws->ntok - 1].kind == RL_T_END)) return XREM_OK;
    ws->tok[ws->ntok++] = (rl_tok){(int32_t)off, (int32_t)len, (uint8_t)kind};
    return XREM_OK;
}

/* Lower-case and tokenize (rules in rule_labeler.h). Ends with an RL_T_END token. */
static xrem_status rl__tokenize(rl_ws *ws, const char *text)
{
    size_t n = strlen(text);
    if (n >= (size_t)INT32_MAX) return xrem_fail(XREM_ERR_VALUE, "rule labeler: a report of 2 GiB or more");
    if (n + 1 > ws->low_cap) {
        char *nl = realloc(ws->low, n + 1);
        if (!nl) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
        ws->low = nl;
        ws->low_cap = n + 1;
    }
    char *s = ws->low;
    for (size_t i = 0; i <= n; i++) s[i] = (char)((text[i] >= 'A' && text[i] <= 'Z') ? text[i] - 'A' + 'a' : text[i]);
    ws->ntok = 0;
    xrem_status st = XREM_OK;
    size_t i = 0;
    while (i < n && !st) {
        unsigned char c = (unsigned char)s[i];
        if (rl__wordc(c)) {
            size_t j = i;
            while (j < n && rl__wordc((unsigned char)s[j])) j++;
            st = rl__push_tok(ws, i, j - i, RL_T_WORD);
            i = j;
            continue;
        }
        if (c == ',' || c == ':' || c == '(' || c == ')') {
            st = rl__push_tok(ws, i, 1, RL_T_PUNCT);
        } else if (c == '!' || c == '?' || c == ';') {
            st = rl__push_tok(ws, i, 1, RL_T_END);
        } else if (c == '.') {
            int next_wc = i + 1 < n && rl__wordc((unsigned char)s[i + 1]);
            int prev_word = ws->ntok > 0 && ws->tok[ws->ntok - 1].kind == RL_T_WORD &&
                            (size_t)(ws->tok[ws->ntok - 1].off + ws->tok[ws->ntok - 1].len) == i;
            int abbrev = prev_word && rl__is_abbrev(s + ws->tok[ws->ntok - 1].off, ws->tok[ws->ntok - 1].len);
            if (!next_wc && !abbrev) st = rl__push_tok(ws, i, 1, RL_T_END);
        } else if (c == '\n') {
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) j++;
            if (j < n && s[j] == '\n') st = rl__push_tok(ws, i, 1, RL_T_END);
        }
        i++;
    }
    if (!st) st = rl__push_tok(ws, n, 0, RL_T_END);
    if (!st && (size_t)ws->ntok > ws->own_cap) {
        size_t nc = (size_t)ws->ntok;
        int ok = 1;
        void *q;
#define RL_GROW(ptr, bytes) (ok && (q = realloc((ptr), (bytes))) ? ((ptr) = q, 1) : (ok = 0))
        RL_GROW(ws->owner, nc * sizeof *ws->owner);
        RL_GROW(ws->blocked, nc);
        RL_GROW(ws->tmark, nc);
        RL_GROW(ws->cw, (nc + 1) * sizeof *ws->cw);
        RL_GROW(ws->ct, (nc + 1) * sizeof *ws->ct);
        RL_GROW(ws->cp, (nc + 1) * sizeof *ws->cp);
#undef RL_GROW
        if (!ok) return xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
        ws->own_cap = nc;
    }
    return st;
}

static int rl__word_eq(const rl_pat *p, int k, const char *s, const rl_tok *t)
{
    if ((p->prefix >> k) & 1) return t->len >= p->wl[k] && !memcmp(s + t->off, p->w[k], p->wl[k]);
    return t->len == p->wl[k] && !memcmp(s + t->off, p->w[k], p->wl[k]);
}

/* Match word k of p at token j (< e), the shortest gaps first. blocked may be NULL. */
static int rl__match_at(const rl_pat *p, int k, int j, int e, int gap, const rl_ws *ws, const uint8_t *blocked, rl_match *m)
{
    const rl_tok *t = ws->tok;
    if (j >= e || t[j].kind != RL_T_WORD || (blocked && blocked[j]) || !rl__word_eq(p, k, ws->low, &t[j])) return 0;
    m->lit[k] = j;
    if (k + 1 == p->nw) {
        m->last = j;
        return 1;
    }
    int maxg = ((p->gap >> (k + 1)) & 1) ? gap : 0;
    for (int g = 0; g <= maxg; g++) {
        int j2 = j + 1 + g;
        if (g > 0) {
            int x = j + g; /* the gap word just added */
            if (x >= e || t[x].kind != RL_T_WORD || (blocked && blocked[x])) return 0;
        }
        if (rl__match_at(p, k + 1, j2, e, gap, ws, blocked, m)) return 1;
    }
    return 0;
}

static xrem_status rl__push_match(rl_match **a, int *n, int *cap, const rl_match *m)
{
    xrem_status st = rl__grow((void **)a, cap, *n, sizeof **a);
    if (st) return st;
    (*a)[(*n)++] = *m;
    return XREM_OK;
}

/* Priority of competing mention matches: more literal words, strong before weak, the shorter span,
 * leftmost, the earlier phrase. */
static int rl__cmp_match(const void *a_, const void *b_)
{
    const rl_match *a = a_, *b = b_;
    if (a->nlit != b->nlit) return b->nlit - a->nlit;
    if (a->weak != b->weak) return a->weak - b->weak;
    if (a->last - a->first != b->last - b->first) return (a->last - a->first) - (b->last - b->first);
    if (a->first != b->first) return a->first - b->first;
    return a->pat - b->pat;
}

typedef struct {
    int kind;   /* RL_NEG / RL_UNC, or RL_NONE */
    int cue;    /* occurrence index in ws->c */
    int pre;    /* 1 pre, 0 post */
    int dist;
} rl_verdict;

/* Words strictly between tokens a and b, not counting the words of other mentions or of pseudo
 * cues: a list of findings under one cue ("no focal consolidation, suspicious opacity, large
 * pleural effusion or pneumothorax") costs only its modifiers. */
static int rl__words_between(const rl_ws *ws, int a, int b) { return ws->cw[b] - ws->cw[a + 1]; }

/* A terminator (or, for post cues, punctuation) strictly between a and b. a and b are tokens of
 * a cue or a mention, never of a terminator, so a terminator starting in (a, b) ends before b. */
static int rl__blocked_between(const rl_ws *ws, int a, int b, int punct_stops)
{
    return ws->ct[b] - ws->ct[a + 1] > 0 || (punct_stops && ws->cp[b] - ws->cp[a + 1] > 0);
}

static rl_verdict rl__classify(const xrem_rule_labeler *lab, const rl_ws *ws, const rl_match *m)
{
    rl_verdict best = {RL_NONE, -1, 0, INT_MAX};
    int f = m->lit[0], l = m->last;
    for (int i = 0; i < ws->nc; i++) {
        const rl_match *c = &ws->c[i];
        const rl_cue *q = &lab->cue[c->pat];
        for (int side = 0; side < 2; side++) {
            int kind = side == 0 ? q->pre : q->post, d;
            if (!kind) continue;
            if (side == 0) { /* pre: ends before the mention's last word */
                if (c->last >= l) continue;
                if (c->last < f) {
                    if (rl__blocked_between(ws, c->last, f, 0)) continue;
                    d = rl__words_between(ws, c->last, f);
                } else {
                    d = 0;
                }
                if (d > q->pre_scope) continue;
            } else { /* post: starts after the mention's first word */
                if (c->first <= f) continue;
                if (c->first > l) {
                    if (rl__blocked_between(ws, l, c->first, 1)) continue;
                    d = rl__words_between(ws, l, c->first);
                } else {
                    d = 0;
                }
                if (d > q->post_scope) continue;
            }
            if (d < best.dist || (d == best.dist && kind == RL_UNC && best.kind == RL_NEG))
                best = (rl_verdict){kind, i, side == 0, d};
        }
    }
    return best;
}

/* A tiny growable string for explain. */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} rl_str;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void rl__printf(rl_str *s, const char *fmt, ...)
{
    if (s->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            s->oom = 1;
            return;
        }
        if (s->p && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        size_t nc = (s->cap ? s->cap * 2 : 1024);
        while (nc < s->n + (size_t)k + 1) nc *= 2;
        char *np = realloc(s->p, nc);
        if (!np) {
            s->oom = 1;
            return;
        }
        s->p = np;
        s->cap = nc;
    }
}

static void rl__span(rl_str *s, const rl_ws *ws, int a, int b) /* the text of tokens a..b */
{
    int from = ws->tok[a].off, to = ws->tok[b].off + ws->tok[b].len;
    rl__printf(s, "\"%.*s\"", to - from, ws->low + from);
}

/* Label one sentence (tokens [s, e)): fold each kept mention into state[14]. */
static xrem_status rl__sentence(const xrem_rule_labeler *lab, rl_ws *ws, int s, int e, uint8_t state[XREM_NCOND], rl_str *ex,
                                int sent_no)
{
    xrem_status st;
    ws->nm = ws->nc = 0;
    /* 1. candidate mentions */
    for (int j = s; j < e; j++) {
        if (ws->tok[j].kind != RL_T_WORD) continue;
        unsigned char b = (unsigned char)ws->low[ws->tok[j].off];
        for (int q = lab->men_off[b]; q < lab->men_off[b + 1]; q++) {
            int pi = lab->men_idx[q];
            rl_match m;
            m.pat = pi;
            m.first = j;
            if (!rl__match_at(&lab->men[pi].p, 0, j, e, lab->gap, ws, NULL, &m)) continue;
            m.nlit = lab->men[pi].p.nw;
            m.weak = lab->men[pi].weak;
            if ((st = rl__push_match(&ws->m, &ws->nm, &ws->m_cap, &m))) return st;
        }
    }
    if (ws->nm == 0) return XREM_OK;
    /* 2. keep the best of competing matches */
    qsort(ws->m, (size_t)ws->nm, sizeof *ws->m, rl__cmp_match);
    for (int j = s; j < e; j++) {
        ws->owner[j] = -1;
        ws->blocked[j] = 0;
    }
    int kept = 0;
    for (int i = 0; i < ws->nm; i++) {
        rl_match *m = &ws->m[i];
        int clash = 0, same = 1, other = -1;
        for (int k = 0; k < m->nlit; k++) {
            int o = ws->owner[m->lit[k]];
            if (o >= 0) {
                clash = 1;
                if (other < 0) other = o;
                if (o != other) same = 0;
            } else {
                same = 0;
            }
        }
        if (clash) {
            /* the same words matched by a phrase of another section: both stand */
            const rl_match *a = same && other >= 0 ? &ws->m[other] : NULL;
            if (!a || a->nlit != m->nlit || a->first != m->first || a->last != m->last || lab->men[a->pat].obs == lab->men[m->pat].obs)
                continue;
        }
        for (int k = 0; k < m->nlit; k++) {
            if (ws->owner[m->lit[k]] < 0) ws->owner[m->lit[k]] = kept;
            ws->blocked[m->lit[k]] = 1;
        }
        ws->m[kept++] = *m;
    }
    ws->nm = kept;
    /* 3. cues, pseudo cues and terminators on the free words, leftmost-longest */
    for (int j = s; j < e;) {
        if (ws->tok[j].kind != RL_T_WORD || ws->blocked[j]) {
            j++;
            continue;
        }
        unsigned char b = (unsigned char)ws->low[ws->tok[j].off];
        rl_match best;
        best.pat = -1;
        for (int q = lab->cue_off[b]; q < lab->cue_off[b + 1]; q++) {
            int ci = lab->cue_idx[q];
            rl_match m;
            m.pat = ci;
            m.first = j;
            if (!rl__match_at(&lab->cue[ci].p, 0, j, e, lab->gap, ws, ws->blocked, &m)) continue;
            m.nlit = lab->cue[ci].p.nw;
            m.weak = 0;
            if (best.pat < 0 || m.nlit > best.nlit || (m.nlit == best.nlit && m.last < best.last)) best = m;
        }
        if (best.pat < 0) {
            j++;
            continue;
        }
        if ((st = rl__push_match(&ws->c, &ws->nc, &ws->c_cap, &best))) return st;
        j = best.last + 1;
    }
    /* words of pseudo cues cost nothing in a cue's scope, like those of mentions */
    for (int j = s; j < e; j++) ws->tmark[j] = 0;
    for (int i = 0; i < ws->nc; i++) {
        const rl_cue *q = &lab->cue[ws->c[i].pat];
        if (q->pseudo)
            for (int j = ws->c[i].first; j <= ws->c[i].last; j++) ws->blocked[j] = 1;
        if (q->term) ws->tmark[ws->c[i].first] = 1;
    }
    ws->cw[s] = ws->ct[s] = ws->cp[s] = 0;
    for (int j = s; j < e; j++) {
        ws->cw[j + 1] = ws->cw[j] + (ws->tok[j].kind == RL_T_WORD && !ws->blocked[j]);
        ws->ct[j + 1] = ws->ct[j] + ws->tmark[j];
        ws->cp[j + 1] = ws->cp[j] + (ws->tok[j].kind == RL_T_PUNCT);
    }
    /* 4. classify and fold */
    if (ex) {
        rl__printf(ex, "s%d: ", sent_no);
        rl__span(ex, ws, s, e - 1);
        rl__printf(ex, "\n");
    }
    for (int i = 0; i < ws->nm; i++) {
        const rl_match *m = &ws->m[i];
        const rl_mention *mn = &lab->men[m->pat];
        rl_verdict v = rl__classify(lab, ws, m);
        if (mn->weak && v.kind == RL_NONE) {
            if (ex) {
                rl__printf(ex, "  %s ", mn->obs == RL_OTHER ? "(other finding)" : xrem_chexbert_conditions[mn->obs]);
                rl__span(ex, ws, m->first, m->last);
                rl__printf(ex, " mentions.txt:%d -> ignored (weak mention, no cue)\n", mn->line);
            }
            continue;
        }
        state[mn->obs] |= v.kind == RL_NEG ? RL_S_NEG : v.kind == RL_UNC ? RL_S_UNC : RL_S_POS;
        if (ex) {
            rl__printf(ex, "  %s ", mn->obs == RL_OTHER ? "(other finding)" : xrem_chexbert_conditions[mn->obs]);
            rl__span(ex, ws, m->first, m->last);
            rl__printf(ex, " mentions.txt:%d -> %s", mn->line, v.kind == RL_NEG ? "negative" : v.kind == RL_UNC ? "uncertain" : "positive");
            if (v.kind != RL_NONE) {
                const rl_match *c = &ws->c[v.cue];
                const rl_cue *q = &lab->cue[c->pat];
                rl__printf(ex, " (%s ", v.pre ? "pre" : "post");
                rl__span(ex, ws, c->first, c->last);
                rl__printf(ex, " %s:%d, %d word%s)", rl__fname[v.pre ? q->pre_file : q->post_file], v.pre ? q->pre_line : q->post_line, v.dist,
                           v.dist == 1 ? "" : "s");
            }
            rl__printf(ex, "\n");
        }
    }
    return XREM_OK;
}

/* One report into row[14]. */
static xrem_status rl__report(const xrem_rule_labeler *lab, rl_ws *ws, const char *text, int32_t row[XREM_NCOND], rl_str *ex)
{
    uint8_t state[XREM_NCOND] = {0}; /* state[13]: other abnormalities */
    xrem_status st = rl__tokenize(ws, text ? text : "");
    int s = 0, sent = 0;
    for (int j = 0; j < ws->ntok && !st; j++) {
        int end = ws->tok[j].kind == RL_T_END;
        if (!end && j - s < RL_MAX_SENT) continue;
        if (j > s) st = rl__sentence(lab, ws, s, j, state, ex, ++sent);
        s = end ? j + 1 : j;
    }
    if (st) return st;
    int finding = 0;
    for (int o = 0; o < XREM_NCOND - 1; o++) {
        uint8_t x = state[o];
        row[o] = (x & RL_S_POS) ? XREM_LBL_POS : (x & RL_S_UNC) ? XREM_LBL_UNC : (x & RL_S_NEG) ? XREM_LBL_NEG : XREM_LBL_BLANK;
        if (o != 12 && (x & (RL_S_POS | RL_S_UNC))) finding = 1; /* 12: Support Devices */
    }
    if (state[RL_OTHER] & (RL_S_POS | RL_S_UNC)) finding = 1;
    row[XREM_NCOND - 1] = finding ? XREM_LBL_BLANK : XREM_LBL_POS;
    return XREM_OK;
}

xrem_status xrem_rule_labeler_label(const xrem_rule_labeler *lab, const char *const *texts, int64_t n, int32_t *classes)
{
    if (!lab) return xrem_fail(XREM_ERR_ARG, "rule labeler: NULL labeler");
    if (n < 0 || (n > 0 && (!texts || !classes))) return xrem_fail(XREM_ERR_ARG, "rule labeler: NULL texts/classes or negative count");
    rl_ws ws;
    memset(&ws, 0, sizeof ws);
    xrem_status st = XREM_OK;
    for (int64_t i = 0; i < n && !st; i++) {
        st = rl__report(lab, &ws, texts[i], classes + i * XREM_NCOND, NULL);
        if (st) xrem_fail_context(st, "rule labeler: report %lld", (long long)i);
    }
    rl__ws_free(&ws);
    return st;
}

xrem_status xrem_rule_labeler_explain(const xrem_rule_labeler *lab, const char *text, char **out)
{
    if (!lab || !out) return xrem_fail(XREM_ERR_ARG, "rule labeler: NULL labeler or output");
    *out = NULL;
    rl_ws ws;
    memset(&ws, 0, sizeof ws);
    rl_str ex = {0};
    int32_t row[XREM_NCOND];
    xrem_status st = rl__report(lab, &ws, text, row, &ex);
    rl__ws_free(&ws);
    if (!st) {
        rl__printf(&ex, "classes:");
        for (int o = 0; o < XREM_NCOND; o++) rl__printf(&ex, " %d", (int)row[o]);
        rl__printf(&ex, "\n");
    }
    if (!st && ex.oom) st = xrem_fail(XREM_ERR_NOMEM, "rule labeler: out of memory");
    if (st) {
        free(ex.p);
        return st;
    }
    *out = ex.p;
    return XREM_OK;
}
