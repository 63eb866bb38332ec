/* Replays every file of tests/fuzz/regress/<name>/ (inputs that once crashed a harness) and of
 * tests/fuzz/seeds/<name>/ through the fuzz harnesses' own entry points (tests/fuzz/fuzz_<name>.c),
 * in the regular build: no clang or libFuzzer needed. A harness abort()s on a broken invariant (a
 * failure without a message, an out-of-range output, an HDF5 object left open) and the sanitizers
 * catch memory errors, so a clean exit means every input was handled cleanly. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"
#include "testutil.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static const struct {
    const char *name;
    fuzz_fn fn;
} harness[] = {
    {"csv", xrem_fuzz_csv},         {"wordpiece", xrem_fuzz_wordpiece}, {"bpe", xrem_fuzz_bpe},
    {"pylower", xrem_fuzz_pylower}, {"weights", xrem_fuzz_weights},     {"images", xrem_fuzz_images},
    {"labeler", xrem_fuzz_labeler}, {"decode", xrem_fuzz_decode},
};

/* Committed test inputs replayed whole as well, so that every harness runs in the regular build
 * even before it has regression inputs (scripts/fuzz_seeds.py makes the full seed corpus). */
static const struct {
    const char *harness, *path;
} committed[] = {
    {"csv", "tests/golden/bleu_edge.csv"},
    {"labeler", "tests/golden/bleu_iu_corpus.txt"},
    {"weights", "tests/golden/bertscore/tiny_bert.weights.h5"},
    {"weights", "tests/golden/bertscore/tiny_roberta.weights.h5"},
    {"weights", "tests/golden/chexbert_small.weights.h5"},
    {"weights", "tests/golden/nli_small.weights.h5"},
    {"weights", "tests/golden/albef_small_itm.weights.h5"},
    {"decode", "tests/golden/prep/tiny_gray.jpg"},
    {"decode", "tests/golden/prep/rgb.png"},
};

static int read_all(const char *path, uint8_t **data, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    for (size_t r; b && (r = fread(b + len, 1, cap - len, f)) > 0;) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *data = b;
    *n = len;
    return b != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay the files of one folder (sorted, for a stable log); returns how many. */
static void replay_file(const char *path, const char *name, fuzz_fn fn)
{
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK(read_all(path, &data, &len), "cannot read %s", path);
    fprintf(stderr, "%s: %s (%zu bytes)\n", name, path, len);
    if (data) fn(data, len);
    free(data);
}

static int replay_dir(const char *dir, const char *name, fuzz_fn fn)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[4096];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 4096;)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int done = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            replay_file(path, name, fn);
            done++;
        }
        free(names[i]);
    }
    return done;
}

int main(void)
{
    int total = 0, regress = 0;
    for (size_t h = 0; h < sizeof harness / sizeof harness[0]; h++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/fuzz/regress/%s", harness[h].name);
        int r = replay_dir(xrem_test_src(rel), harness[h].name, harness[h].fn);
        snprintf(rel, sizeof rel, "tests/fuzz/seeds/%s", harness[h].name);
        int s = replay_dir(xrem_test_src(rel), harness[h].name, harness[h].fn);
        for (size_t i = 0; i < sizeof committed / sizeof committed[0]; i++)
            if (!strcmp(committed[i].harness, harness[h].name)) {
                replay_file(xrem_test_src(committed[i].path), harness[h].name, harness[h].fn);
                s++;
            }
        printf("%-10s %3d regression inputs, %3d seeds: clean\n", harness[h].name, r, s);
        regress += r;
        total += r + s;
    }
    CHECK(total > 0, "no inputs found under %s", xrem_test_src("tests/fuzz"));
    printf("%d inputs replayed (%d regression inputs)\n", total, regress);
    return xrem_test_failures ? 1 : 0;
}
