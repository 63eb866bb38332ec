/* xrem inspect FILE.h5: what a weights file holds and whether xrem can run it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "models/albef.h"
#include "models/chexbert.h"
#include "models/nli.h"
#ifdef XREM_HAVE_EVAL
#include "bertscore.h"
#endif

static const char *const cfg_names[] = {
    "vision_width",    "vit_depth",    "vit_heads",     "vit_mlp",           "patch_size", "image_res",
    "hidden_size",     "num_layers",   "num_heads",     "intermediate_size", "vocab_size", "max_position",
    "type_vocab_size", "fusion_layer", "encoder_width", "embed_dim",         NULL};

typedef struct {
    xrem_h5 *f;
    int64_t params, tensors;
} count_ctx;

static xrem_status count_one(const char *name, void *user)
{
    count_ctx *c = user;
    if (!strncmp(name, "tokenizer/", 10)) return XREM_OK;
    int nd;
    int64_t ne[XREM_MAX_DIMS], n = 1;
    xrem_status s = xrem_h5_info(c->f, name, &nd, ne, NULL);
    if (s) return s;
    for (int i = 0; i < nd; i++)
        n *= ne[i];
    c->params += n;
    c->tensors++;
    return XREM_OK;
}

static void print_attr(xrem_h5 *f, const char *obj, const char *attr)
{
    char *v = NULL;
    if (xrem_h5_has_attr(f, obj, attr) && xrem_h5_attr_str(f, obj, attr, &v) == XREM_OK) printf("%-16s %s\n", attr, v);
    free(v);
}

/* The verdict is a real load by the arch's own loader: every shape checked against the config,
 * every value finite, the vocabulary checked against the embedding table. */
static xrem_status load_albef(const char *path, xrem_backend *be, size_t *params)
{
    xrem_albef *m = NULL;
    xrem_status s = xrem_albef_load(path, be, 0, &m);
    if (!s) *params = xrem_albef_params(m);
    xrem_albef_free(m);
    return s;
}

static xrem_status load_nli(const char *path, xrem_backend *be, size_t *params)
{
    xrem_nli *m = NULL;
    xrem_status s = xrem_nli_load(path, be, &m);
    *params = 0;
    xrem_nli_free(m);
    return s;
}

static xrem_status load_chexbert(const char *path, xrem_backend *be, size_t *params)
{
    xrem_chexbert *m = NULL;
    xrem_status s = xrem_chexbert_load(path, be, &m);
    *params = 0;
    xrem_chexbert_free(m);
    return s;
}

#ifdef XREM_HAVE_EVAL
static xrem_status load_encoder(const char *path, xrem_backend *be, size_t *params)
{
    xrem_bertscore *m = NULL;
    xrem_status s = xrem_bertscore_create(path, -1, be, &m);
    *params = 0;
    xrem_bertscore_free(m);
    return s;
}
#endif

static const struct {
    const char *arch;
    xrem_status (*load)(const char *path, xrem_backend *be, size_t *params);
    const char *what;
} loaders[] = {
    {"albef_retrieval", load_albef, "X-REM retrieval model (xrem run --retrieval, xrem embed)"},
    {"albef_itm", load_albef, "X-REM ITM model (xrem run --itm)"},
    {"bert_nli", load_nli, "NLI filter model (xrem run --nli)"},
    {"chexbert", load_chexbert, "CheXbert labeler (xrem eval --chexbert)"},
#ifdef XREM_HAVE_EVAL
    {"bert", load_encoder, "BERTScore encoder (xrem eval --bertscore-model)"},
    {"roberta", load_encoder, "BERTScore encoder (xrem eval --bertscore-model)"},
#endif
};

static int inspect_usage(FILE *out, int rc)
{
    fprintf(out, "usage: xrem inspect FILE.h5\n"
                 "  What a converted weights file holds (arch, config, tensors, parameters, vocabulary) and\n"
                 "  whether xrem can run it: the verdict is a full load by the loader of its arch.\n"
                 "  Exit 0: OK; 1: the file is invalid or cannot be read; 2: usage.\n");
    return rc;
}

static int inspect_verdict(const char *path, const char *arch)
{
    size_t i = 0, n = sizeof loaders / sizeof loaders[0], params = 0;
    while (i < n && strcmp(loaders[i].arch, arch))
        i++;
    if (i == n) {
        printf("verdict          INVALID: arch '%s' has no loader in this build\n", arch);
        return 1;
    }
    xrem_backend *be = NULL;
    xrem_status s = xrem_backend_create("cpu", 0, &be);
    if (!s) s = loaders[i].load(path, be, &params);
    xrem_backend_free(be);
    if (s) {
        printf("verdict          INVALID: %s\n", xrem_last_error());
        return 1;
    }
    if (params) printf("loaded params    %zu\n", params);
    printf("use              %s\n"
           "verdict          OK (all tensors present, shapes match the config, values finite, vocabulary fits)\n",
           loaders[i].what);
    return 0;
}

int xrem_cmd_inspect(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return inspect_usage(stdout, 0);
    if (argc != 2 || argv[1][0] == '-') return inspect_usage(stderr, 2);
    const char *path = argv[1];
    xrem_weights *w = NULL;
    if (xrem_weights_open(path, &w)) {
        fprintf(stderr, "xrem inspect: %s\n", xrem_last_error());
        return 1;
    }
    xrem_h5 *f = xrem_weights_file(w);
    char *arch = strdup(xrem_weights_arch(w)); /* outlives the handle that owns the original */
    printf("file             %s\narch             %s\n", path, arch ? arch : "?");
    print_attr(f, "/", "source");
    print_attr(f, "/", "source_sha256");
    print_attr(f, "/", "weights_dtype");
    printf("config:\n");
    for (int i = 0; cfg_names[i]; i++) {
        int64_t v;
        if (xrem_h5_has_attr(f, "config", cfg_names[i]) && xrem_h5_attr_i64(f, "config", cfg_names[i], &v) == XREM_OK)
            printf("  %-18s %lld\n", cfg_names[i], (long long)v);
    }
    count_ctx c = {f, 0, 0};
    xrem_status s = arch ? xrem_h5_visit(f, "/", count_one, &c) : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s)
        printf("tensors          %lld\nparameters       %lld (%.1f M)\n", (long long)c.tensors, (long long)c.params,
               c.params / 1e6);
    int64_t nv = 0;
    char **vocab = NULL;
    if (!s && xrem_weights_has(w, "tokenizer/vocab") && xrem_weights_vocab(w, &vocab, &nv) == XREM_OK)
        printf("vocabulary       %lld tokens\n", (long long)nv);
    xrem_strings_free(vocab, nv);
    xrem_weights_close(w);
    int rc = 1;
    if (s)
        printf("verdict          INVALID: %s\n", xrem_last_error());
    else
        rc = inspect_verdict(path, arch);
    free(arch);
    return rc;
}
