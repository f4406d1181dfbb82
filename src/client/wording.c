/* wording: menu sentences for the server's refusals. */
#include "client/wording.h"

#include <stdio.h>
#include <string.h>

/* Parses 1..18 decimal digits at *p, advancing *p. */
static bool digits(const char **p, int64_t *out)
{
    int64_t v = 0;
    size_t n = 0;
    while (**p >= '0' && **p <= '9' && n < 18) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n > 0 && !(**p >= '0' && **p <= '9');
}

bool wording_parse_stock(const char *text, int64_t *left, const char **name, size_t *name_len)
{
    static const char head[] = "only ", mid[] = " left of ", tail[] = " (asked ";
    const char *p = text;
    if (strncmp(p, head, sizeof head - 1) != 0)
        return false;
    p += sizeof head - 1;
    if (!digits(&p, left) || strncmp(p, mid, sizeof mid - 1) != 0)
        return false;
    p += sizeof mid - 1;
    /* The name may hold spaces or even "(asked": the last " (asked " ends it. */
    const char *end = NULL;
    for (const char *q = strstr(p, tail); q != NULL; q = strstr(q + 1, tail))
        end = q;
    if (end == NULL || end == p)
        return false;
    const char *r = end + sizeof tail - 1;
    int64_t asked;
    if (!digits(&r, &asked) || strcmp(r, ")") != 0)
        return false;
    *name = p;
    *name_len = (size_t)(end - p);
    return true;
}

/* The length of text without a trailing " (see <VERB>)", VERB in capitals. */
static size_t without_see(const char *text)
{
    size_t len = strlen(text);
    const char *see = strstr(text, " (see ");
    if (see == NULL || len == 0 || text[len - 1] != ')')
        return len;
    const char *verb = see + 6;
    size_t vlen = (size_t)(text + len - 1 - verb);
    if (vlen == 0 || strspn(verb, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != vlen)
        return len;
    return (size_t)(see - text);
}

void wording_refusal(const char *code, const char *text, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    int64_t left;
    const char *name;
    size_t name_len;
    if (strcmp(code, "INSUFFICIENT_STOCK") == 0 &&
        wording_parse_stock(text, &left, &name, &name_len) && left == 0) {
        snprintf(buf, cap, "%.*s is sold out", (int)name_len, name);
    } else if (strcmp(code, "NO_SUCH_CATEGORY") == 0) {
        snprintf(buf, cap, "%.*s; choose a number or a name from the list", (int)without_see(text),
                 text);
    } else if (strcmp(code, "LIMIT") == 0 && strstr(text, "order is full") != NULL) {
        snprintf(buf, cap, "this order is full; Exit and start netshop again for a new order");
    } else if (strcmp(code, "AUTH_REQUIRED") == 0) {
        snprintf(buf, cap, "you are not logged in");
    } else if (text[0] == '\0') {
        snprintf(buf, cap, "refused");
    } else {
        snprintf(buf, cap, "%.*s", (int)without_see(text), text);
    }
}
