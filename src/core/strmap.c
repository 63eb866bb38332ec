#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key; /* NULL = empty slot */
    uint64_t hash;
    int64_t value;
} slot;

struct xrem_strmap {
    slot *slots;
    size_t cap, n; /* cap is a power of two, kept at most half full */
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

xrem_status xrem_strmap_create(int64_t expected, xrem_strmap **out)
{
    xrem_strmap *m = calloc(1, sizeof *m);
    size_t cap = 16;
    while (expected > 0 && cap < (size_t)expected * 2) cap <<= 1;
    if (m) m->slots = calloc(cap, sizeof *m->slots);
    if (!m || !m->slots) {
        free(m);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory for a %zu-slot map", cap);
    }
    m->cap = cap;
    *out = m;
    return XREM_OK;
}

void xrem_strmap_free(xrem_strmap *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static slot *find(const xrem_strmap *m, const char *key, uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && !strcmp(s->key, key))) return s;
    }
}

static xrem_status grow(xrem_strmap *m)
{
    slot *old = m->slots;
    size_t oc = m->cap;
    m->slots = calloc(oc * 2, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return xrem_fail(XREM_ERR_NOMEM, "out of memory growing a map");
    }
    m->cap = oc * 2;
    for (size_t i = 0; i < oc; i++)
        if (old[i].key) *find(m, old[i].key, old[i].hash) = old[i];
    free(old);
    return XREM_OK;
}

xrem_status xrem_strmap_insert(xrem_strmap *m, const char *key, int64_t value, int *fresh, int64_t *value_out)
{
    const uint64_t h = fnv1a(key);
    slot *s = find(m, key, h);
    *fresh = !s->key;
    if (s->key) {
        if (value_out) *value_out = s->value;
        return XREM_OK;
    }
    if (!(s->key = strdup(key))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    s->hash = h;
    s->value = value;
    if (value_out) *value_out = value;
    return ++m->n * 2 > m->cap ? grow(m) : XREM_OK;
}

int64_t xrem_strmap_get(const xrem_strmap *m, const char *key)
{
    const slot *s = find(m, key, fnv1a(key));
    return s->key ? s->value : -1;
}
