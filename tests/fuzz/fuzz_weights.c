/* fuzz_weights — the HDF5 weights loader on mutated weights files. The bytes are written to a
 * temporary file (the loader takes a path), which goes through xrem_weights_open, a read of every
 * dataset (core/h5.h), the vocabulary, and then the model loader its arch names: BERTScore's
 * encoder ("bert", "roberta"), CheXbert, the NLI model or ALBEF, on the CPU backend.
 * Seeds: the small committed weights (tests/golden/bertscore/tiny_*.weights.h5).
 * Checks: every failure has a message; no HDF5 object is left open afterwards. A crash inside
 * libhdf5 itself on a corrupt file is libhdf5's (results/fuzz.md). */
#include "fuzz.h"

#include "backend.h"
#include "bertscore.h"
#include "core/h5.h"
#include "models/albef.h"
#include "models/chexbert.h"
#include "models/nli.h"
#include "models/weights.h"

static xrem_backend *wt_backend(void)
{
    static xrem_backend *be;
    if (!be) FUZZ_CHECK(xrem_backend_cpu_create(1, &be) == XREM_OK, "no CPU backend: %s", xrem_last_error());
    return be;
}

static void wt_load_model(const char *path, const char *arch)
{
    xrem_backend *be = wt_backend();
    xrem_status st;
    FUZZ_CLEAR_ERROR();
    if (!strcmp(arch, "bert") || !strcmp(arch, "roberta")) {
        xrem_bertscore *bs = NULL;
        st = xrem_bertscore_create(path, -1, be, &bs);
        if (st == XREM_OK) {
            int32_t *ids = NULL;
            int64_t n = 0;
            FUZZ_CLEAR_ERROR();
            xrem_status t = xrem_bertscore_tokenize(bs, "No acute process.", &ids, &n);
            FUZZ_FAILED_WITH_MESSAGE(t);
            free(ids);
        }
        xrem_bertscore_free(bs);
    } else if (!strcmp(arch, "chexbert")) {
        xrem_chexbert *m = NULL;
        st = xrem_chexbert_load(path, be, &m);
        xrem_chexbert_free(m);
    } else if (!strcmp(arch, "bert_nli")) {
        xrem_nli *m = NULL;
        st = xrem_nli_load(path, be, &m);
        xrem_nli_free(m);
    } else if (!strncmp(arch, "albef", 5)) {
        xrem_albef *m = NULL;
        st = xrem_albef_load(path, be, 32, &m);
        if (m) xrem_albef_free(m);
    } else {
        return;
    }
    FUZZ_FAILED_WITH_MESSAGE(st);
}

int xrem_fuzz_weights(const uint8_t *data, size_t size)
{
    const char *path = xrem_fuzz_tmpfile(data, size, ".weights.h5");
    if (!path) return 0;
    xrem_weights *w = NULL;
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_weights_open(path, &w);
    FUZZ_FAILED_WITH_MESSAGE(st);
    if (st == XREM_OK) {
        char arch[64];
        snprintf(arch, sizeof arch, "%s", xrem_weights_arch(w));
        FUZZ_CHECK(xrem_weights_sha256(w) != NULL, "no sha256 string");
        xrem_fuzz_h5_walk(xrem_weights_file(w));
        char **tok = NULL;
        int64_t n = 0;
        FUZZ_CLEAR_ERROR();
        xrem_status t = xrem_weights_vocab(w, &tok, &n);
        FUZZ_FAILED_WITH_MESSAGE(t);
        if (t == XREM_OK) xrem_strings_free(tok, n);
        xrem_weights_close(w);
        FUZZ_CHECK(xrem_fuzz_h5_open_objects() == 0, "%ld HDF5 objects left open after the walk",
                   xrem_fuzz_h5_open_objects());
        wt_load_model(path, arch);
    }
    FUZZ_CHECK(xrem_fuzz_h5_open_objects() == 0, "%ld HDF5 objects left open", xrem_fuzz_h5_open_objects());
    remove(path);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_weights)
