/* catalog_csv: parses the catalog file (Sno,Name,Quantity,Price[,Category]) into a catalog.
 * Prices are whole currency units ("100000") or decimals ("100000.00"). The category of an
 * item is the optional fifth column (a name), else sno / 100 named by
 * catalog_default_category_name. Pure: works on a buffer, never opens files. */
#ifndef NETSHOP_CATALOG_CSV_H
#define NETSHOP_CATALOG_CSV_H

#include <stddef.h>

#include "core/catalog.h"

/* Parses text[0..len) (the whole file) and adds its categories and items to cat, which must
 * not be frozen. The header line is required. Blank lines and CR LF endings are accepted.
 * Returns 0 on success; on the first bad line returns -1 and writes "line N: what is wrong
 * ('the bad value')" into err (NUL-terminated, truncated to errlen). Does not freeze cat. */
int catalog_csv_parse(const char *text, size_t len, int minor_digits, catalog_t *cat,
                      char *err, size_t errlen);

#endif
