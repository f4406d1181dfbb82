/* money: owns the arithmetic, parsing and formatting of amounts in integer minor units.
 * Every operation that could overflow checks before it computes; nothing here allocates,
 * touches global mutable state or does I/O. */
#include "core/money.h"

#define MONEY_MINOR_DIGITS_MAX 6

const currency_t CURRENCY_DEFAULT = {"INR", 2};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool minor_digits_valid(int minor_digits)
{
    return minor_digits >= 0 && minor_digits <= MONEY_MINOR_DIGITS_MAX;
}

bool money_add(money_t a, money_t b, money_t *out)
{
    if (b > 0 && a > INT64_MAX - b)
        return false;
    if (b < 0 && a < INT64_MIN - b)
        return false;
    *out = a + b;
    return true;
}

bool money_mul(money_t unit, int64_t qty, money_t *out)
{
    if (qty < 0)
        return false;
    if (qty > 0) {
        if (unit > 0 && unit > INT64_MAX / qty)
            return false;
        if (unit < 0 && unit < INT64_MIN / qty)
            return false;
    }
    *out = unit * qty;
    return true;
}

/* Appends one decimal digit to *acc (acc * 10 + digit); false if that would overflow. */
static bool append_digit(int64_t *acc, int digit)
{
    if (*acc > (INT64_MAX - digit) / 10)
        return false;
    *acc = *acc * 10 + digit;
    return true;
}

/* Parses the unsigned form digits+ ('.' digits+)? in s[0..len). Check order: shape
 * (MONEY_BAD_SYNTAX), number of decimals (MONEY_TOO_MANY_DIGITS), size (MONEY_OVERFLOW).
 * Writes *out only on MONEY_OK. */
static money_parse_result_t parse_unsigned(const char *s, size_t len, int minor_digits,
                                           money_t *out)
{
    size_t whole_len = 0;
    while (whole_len < len && is_digit(s[whole_len]))
        whole_len++;
    if (whole_len == 0)
        return MONEY_BAD_SYNTAX; /* "", ".5", "+1", " 1", "-" ... */

    size_t frac_len = 0;
    if (whole_len < len) {
        if (s[whole_len] != '.')
            return MONEY_BAD_SYNTAX; /* "1e3", "1,5", "1 " */
        while (whole_len + 1 + frac_len < len && is_digit(s[whole_len + 1 + frac_len]))
            frac_len++;
        if (frac_len == 0 || whole_len + 1 + frac_len != len)
            return MONEY_BAD_SYNTAX; /* "1.", "1.2.3", "1.5x" */
    }
    if (frac_len > (size_t)minor_digits)
        return MONEY_TOO_MANY_DIGITS;

    int64_t acc = 0;
    for (size_t i = 0; i < whole_len; i++)
        if (!append_digit(&acc, s[i] - '0'))
            return MONEY_OVERFLOW;
    for (size_t i = 0; i < frac_len; i++)
        if (!append_digit(&acc, s[whole_len + 1 + i] - '0'))
            return MONEY_OVERFLOW;
    for (size_t i = frac_len; i < (size_t)minor_digits; i++)
        if (!append_digit(&acc, 0))
            return MONEY_OVERFLOW;
    *out = acc;
    return MONEY_OK;
}

/* Contract (beyond the header): *out is written only on MONEY_OK. A leading '-' followed by a
 * well-formed amount is MONEY_NEGATIVE whatever its size or decimals ("-0" included); a '-'
 * followed by anything else is MONEY_BAD_SYNTAX. A NULL s, or minor_digits outside 0..6, is
 * MONEY_BAD_SYNTAX. Leading zeros are accepted ("007.50"). */
money_parse_result_t money_parse(const char *s, size_t len, int minor_digits, money_t *out)
{
    if (s == NULL || !minor_digits_valid(minor_digits))
        return MONEY_BAD_SYNTAX;
    if (len > 0 && s[0] == '-') {
        money_t ignored = 0;
        money_parse_result_t r = parse_unsigned(s + 1, len - 1, minor_digits, &ignored);
        return r == MONEY_BAD_SYNTAX ? MONEY_BAD_SYNTAX : MONEY_NEGATIVE;
    }
    return parse_unsigned(s, len, minor_digits, out);
}

/* Contract (beyond the header): when cap is too small for the whole text, or minor_digits is
 * outside 0..6, nothing partial is written: buf becomes "" (if cap > 0) and 0 is returned, so
 * a truncated amount can never be mistaken for a real one (a real one is never empty). */
size_t money_format(money_t amount, int minor_digits, char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
    if (!minor_digits_valid(minor_digits))
        return 0;

    /* The magnitude as unsigned, so that INT64_MIN needs no negation in int64_t. */
    uint64_t magnitude = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;

    /* Build the text backwards: decimals, point, at least one whole digit, sign. */
    char rev[MONEY_FORMAT_MAX];
    size_t n = 0;
    for (int i = 0; i < minor_digits; i++) {
        rev[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    }
    if (minor_digits > 0)
        rev[n++] = '.';
    do {
        rev[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (amount < 0)
        rev[n++] = '-';

    if (n + 1 > cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = rev[n - 1 - i];
    buf[n] = '\0';
    return n;
}
