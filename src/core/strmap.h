/* A string -> int64 hash map (open addressing, FNV-1a), for de-duplicating reports and
 * candidate texts. Keys are copied. */
#ifndef XREM_CORE_STRMAP_H
#define XREM_CORE_STRMAP_H

#include <stdint.h>

#include "xrem/status.h"

typedef struct xrem_strmap xrem_strmap;

xrem_status xrem_strmap_create(int64_t expected, xrem_strmap **out);
void xrem_strmap_free(xrem_strmap *m);
/* Insert key -> value unless present. *fresh = 1 when inserted; *value_out (may be NULL) gets
 * the stored value (the existing one when the key was present). */
xrem_status xrem_strmap_insert(xrem_strmap *m, const char *key, int64_t value, int *fresh, int64_t *value_out);
/* -1 when absent */
int64_t xrem_strmap_get(const xrem_strmap *m, const char *key);

#endif
