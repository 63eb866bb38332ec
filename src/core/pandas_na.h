/* core/pandas_na.h — pandas' default missing-value strings, the one copy xrem keeps.
 *
 * The reference code reads every CSV with pandas.read_csv and its default na_values: a field
 * that equals one of these strings (whole field, case-sensitive) is NaN. The list depends on
 * the pandas version: 2.0 added "None". The reference environments of X-REM and
 * CXR-Report-Metric ran pandas 1.x (checked against pandas 1.5.3's STR_NA_VALUES), so xrem's
 * default is 1; 2 gives pandas 2.x's list.
 *
 *   if (xrem_pandas_is_na(field, strlen(field), XREM_PANDAS_DEFAULT)) { drop the report }
 */
#ifndef XREM_CORE_PANDAS_NA_H
#define XREM_CORE_PANDAS_NA_H

#include <stddef.h>

#define XREM_PANDAS_DEFAULT 1 /* the pandas major version whose NA list xrem follows by default */

/* 1 when the n bytes at s are one of pandas `major`'s (1 or 2) default NA strings. */
int xrem_pandas_is_na(const char *s, size_t n, int major);

#endif
