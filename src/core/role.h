/* role: what an account may do — a customer shops; an admin also runs the shop (the SHOP/1 verbs
 * flagged ADMIN). Stored on disk as the words; the values are explicit and never reused.
 * Pure: no I/O, no state. */
#ifndef NETSHOP_ROLE_H
#define NETSHOP_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef enum {
    ROLE_CUSTOMER = 0,
    ROLE_ADMIN = 1,
} role_t;

/* "customer" or "admin" ("unknown" for any other value). */
static inline const char *role_word(role_t r)
{
    return r == ROLE_CUSTOMER ? "customer" : r == ROLE_ADMIN ? "admin" : "unknown";
}

/* The role named by the NUL-terminated word (exactly, lower case); false when none is. */
static inline bool role_from_word(const char *word, role_t *out)
{
    if (strcmp(word, "customer") == 0)
        *out = ROLE_CUSTOMER;
    else if (strcmp(word, "admin") == 0)
        *out = ROLE_ADMIN;
    else
        return false;
    return true;
}

#endif
