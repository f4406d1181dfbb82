/* wording: the server's refusal texts rephrased for people at the interactive menu, who never
 * type protocol verbs. Pure: string in, string out; no I/O. One-shot commands and --json keep
 * the server's own words. */
#ifndef NETSHOP_WORDING_H
#define NETSHOP_WORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses INSUFFICIENT_STOCK's text `only <left> left of <name> (asked <qty>)`. On success sets
 * *left, and *name / *name_len to the name inside text (not NUL-terminated). */
bool wording_parse_stock(const char *text, int64_t *left, const char **name, size_t *name_len);

/* Writes into buf[0..cap) (NUL-terminated, cut to fit) what the menu says for an ERR reply with
 * code word `code` and text `text`: "<name> is sold out" for INSUFFICIENT_STOCK with nothing
 * left, a sentence without verbs for NO_SUCH_CATEGORY, LIMIT (a full order) and AUTH_REQUIRED,
 * any other text with a trailing "(see <VERB>)" removed, else the text itself ("refused" when
 * empty). */
void wording_refusal(const char *code, const char *text, char *buf, size_t cap);

#endif
