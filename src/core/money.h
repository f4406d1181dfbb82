/* money: amounts of the shop's one currency as integer minor units, with overflow-checked
 * arithmetic, parsing of decimal strings ("100000", "100000.00") and formatting ("100000.00").
 * Pure: no I/O, no allocation, no global state. */
#ifndef NETSHOP_MONEY_H
#define NETSHOP_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An amount in minor units (paise for INR). Never floating point. */
typedef int64_t money_t;

/* The shop's currency: ISO 4217 code and number of minor digits (0..6). */
typedef struct {
    char code[4];
    int minor_digits;
} currency_t;

/* The default currency, INR with two minor digits. */
extern const currency_t CURRENCY_DEFAULT;

/* Largest formatted amount, with sign, point and NUL: "-92233720368547758.07". */
#define MONEY_FORMAT_MAX 32

typedef enum {
    MONEY_OK = 0,
    MONEY_BAD_SYNTAX,      /* empty, stray characters, lone point, leading '+' */
    MONEY_TOO_MANY_DIGITS, /* more decimals than the currency has */
    MONEY_NEGATIVE,        /* a leading '-' */
    MONEY_OVERFLOW,        /* does not fit in money_t */
} money_parse_result_t;

/* a + b into *out; returns false (and leaves *out unchanged) on overflow. */
bool money_add(money_t a, money_t b, money_t *out);

/* unit * qty into *out; returns false (and leaves *out unchanged) on overflow or qty < 0. */
bool money_mul(money_t unit, int64_t qty, money_t *out);

/* Parses a non-negative decimal amount in currency units from s[0..len) — "100000",
 * "100000.5", "100000.00" — into minor units. Accepts at most `minor_digits` decimals. */
money_parse_result_t money_parse(const char *s, size_t len, int minor_digits, money_t *out);

/* Writes the amount as a decimal string with exactly `minor_digits` decimals ("100000.00",
 * "-0.05") into buf (NUL-terminated). Returns the length written, excluding the NUL;
 * cap >= MONEY_FORMAT_MAX always suffices. */
size_t money_format(money_t amount, int minor_digits, char *buf, size_t cap);

#endif
