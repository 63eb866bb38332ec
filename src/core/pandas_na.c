#include "core/pandas_na.h"

#include <string.h>

int xrem_pandas_is_na(const char *s, size_t n, int major)
{
    /* pandas._libs.parsers.STR_NA_VALUES of pandas 1.5.3; pandas 2.0 added "None" */
    static const char *const na[] = {"",    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN",
                                     "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",    "NA",       "NULL",
                                     "NaN",  "n/a",    "nan",     "null", NULL};
    for (int i = 0; na[i]; i++)
        if (strlen(na[i]) == n && !memcmp(na[i], s, n)) return 1;
    return major >= 2 && n == 4 && !memcmp(s, "None", 4);
}
