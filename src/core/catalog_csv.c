/* catalog_csv: owns the catalog file format — a header line `Sno,Name,Quantity,Price` with an
 * optional fifth column `Category`, then one item per line — parsed from a buffer into a
 * catalog_t. No quoting: fields are plain and a '"' is rejected rather than mis-parsed.
 *
 * Decisions:
 *   - The header is the first non-blank line; column names are matched case-insensitively.
 *     A UTF-8 byte-order mark before it is skipped.
 *   - Fields are trimmed of surrounding spaces and TABs. Every row has exactly as many fields
 *     as the header.
 *   - Item and category names are well-formed UTF-8 without control characters: C0, DEL and
 *     C1 (U+0080..U+009F) are refused, as is any byte that is not UTF-8.
 *   - Without a Category column an item belongs to category sno / 100, named
 *     catalog_default_category_name() or "Category N"; an sno below 100 is an error.
 *   - With a Category column every row names its category (empty is an error). A new name gets
 *     the next number after the largest in the catalog (so a file's categories are numbered 1,
 *     2, ... in order of first appearance); a name equal to an existing one after the catalog's
 *     normalisation ("house-hold items" = "House-hold items") is that category.
 *   - Categories are added on first use. On error, what was added so far stays in cat: the
 *     caller should discard cat. */
#include "core/catalog_csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

#define CSV_FIELDS_MIN 4
#define CSV_FIELDS_MAX 5
#define CSV_QUOTE_MAX 64 /* bytes of a bad value quoted in an error message */
#define CSV_CATEGORY_NUMBER_MAX (CATALOG_SNO_MAX / 100)

typedef struct {
    const char *p;
    size_t len;
} span_t;

typedef struct {
    catalog_t *cat;
    int minor_digits;
    size_t line;
    size_t field_count;         /* 4 or 5, from the header */
    char *err;
    size_t errlen;
    /* Default categories (no Category column) already known to exist in cat. */
    unsigned char known_number[CSV_CATEGORY_NUMBER_MAX / 8 + 1];
    /* Named categories: the last one used, and the next number for a new one. */
    char last_name[CATALOG_NAME_MAX + 1];
    int last_number;
    int next_number;
} csv_parser_t;

static const char *const HEADER_COLUMNS[CSV_FIELDS_MAX] = {
    "Sno", "Name", "Quantity", "Price", "Category",
};

/* Writes "line N: what 'value' (hint)" into the parser's err; value and hint are optional.
 * The value is quoted with each control character (C0, DEL, C1) and each byte that is not
 * well-formed UTF-8 shown as one '?', and cut at CSV_QUOTE_MAX bytes (never inside a UTF-8
 * character). Returns -1, for `return fail(...)`. */
static int fail(const csv_parser_t *ps, const char *what, const span_t *value, const char *hint)
{
    if (ps->err == NULL || ps->errlen == 0)
        return -1;

    char quoted[CSV_QUOTE_MAX + 8] = "";
    if (value != NULL) {
        const unsigned char *v = (const unsigned char *)value->p;
        size_t n = 0;
        quoted[n++] = ' ';
        quoted[n++] = '\'';
        size_t shown = 0;
        while (shown < value->len) {
            size_t step = utf8_sequence_length(v + shown, value->len - shown);
            bool unsafe = step == 0 || utf8_is_control(v + shown, step);
            if (step == 0)
                step = 1;
            if (shown + step > CSV_QUOTE_MAX)
                break;
            if (unsafe) {
                quoted[n++] = '?';
            } else {
                memcpy(quoted + n, v + shown, step);
                n += step;
            }
            shown += step;
        }
        if (shown < value->len) {
            memcpy(quoted + n, "...", 3);
            n += 3;
        }
        quoted[n++] = '\'';
        quoted[n] = '\0';
    }
    snprintf(ps->err, ps->errlen, "line %zu: %s%s%s%s%s", ps->line, what, quoted,
             hint != NULL ? " (" : "", hint != NULL ? hint : "", hint != NULL ? ")" : "");
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static span_t trim(span_t s)
{
    while (s.len > 0 && is_blank(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_blank(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* Splits line on ',' into fields[0..CSV_FIELDS_MAX) (trimmed); returns the total number of
 * fields, which may exceed CSV_FIELDS_MAX (the extra ones are not stored). */
static size_t split_fields(span_t line, span_t fields[static CSV_FIELDS_MAX])
{
    size_t count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= line.len; i++) {
        if (i < line.len && line.p[i] != ',')
            continue;
        if (count < CSV_FIELDS_MAX)
            fields[count] = trim((span_t){line.p + start, i - start});
        count++;
        start = i + 1;
    }
    return count;
}

static bool span_equal_nocase(span_t s, const char *word)
{
    size_t n = strlen(word);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s.p[i], b = word[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* Parses s as decimal digits only (no sign, no spaces) with value <= max into *out. */
static bool parse_bounded(span_t s, int64_t max, int64_t *out)
{
    if (s.len == 0)
        return false;
    int64_t value = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        value = value * 10 + (s.p[i] - '0');
        if (value > max)
            return false; /* stops before value * 10 could overflow */
    }
    *out = value;
    return true;
}

/* Checks a name field (item or category): 1..CATALOG_NAME_MAX bytes of well-formed UTF-8
 * without control characters (C0, DEL, C1), which a terminal showing the name could obey.
 * Copies it NUL-terminated into out. */
static int take_name(const csv_parser_t *ps, const char *kind, span_t field,
                     char out[static CATALOG_NAME_MAX + 1])
{
    char what[48];
    if (field.len == 0) {
        snprintf(what, sizeof what, "empty %s", kind);
        return fail(ps, what, NULL, NULL);
    }
    if (field.len > CATALOG_NAME_MAX) {
        char hint[48];
        snprintf(what, sizeof what, "%s too long", kind);
        snprintf(hint, sizeof hint, "%zu bytes, at most %d", field.len, CATALOG_NAME_MAX);
        return fail(ps, what, &field, hint);
    }
    const unsigned char *u = (const unsigned char *)field.p;
    size_t bad = utf8_unsafe_offset(u, field.len);
    if (bad < field.len) {
        char hint[48];
        if (utf8_sequence_length(u + bad, field.len - bad) != 0)
            snprintf(hint, sizeof hint, "contains a control character");
        else
            snprintf(hint, sizeof hint, "not valid UTF-8: byte 0x%02x", u[bad]);
        snprintf(what, sizeof what, "bad %s", kind);
        return fail(ps, what, &field, hint);
    }
    memcpy(out, field.p, field.len);
    out[field.len] = '\0';
    return 0;
}

static const char HEADER_HINT[] = "want Sno,Name,Quantity,Price with an optional ,Category";

static int parse_header(csv_parser_t *ps, span_t line)
{
    span_t fields[CSV_FIELDS_MAX];
    size_t count = split_fields(line, fields);
    if (count < CSV_FIELDS_MIN || count > CSV_FIELDS_MAX)
        return fail(ps, "bad header", &line, HEADER_HINT);
    for (size_t i = 0; i < count; i++)
        if (!span_equal_nocase(fields[i], HEADER_COLUMNS[i]))
            return fail(ps, "bad header", &line, HEADER_HINT);
    ps->field_count = count;
    return 0;
}

/* The largest category number in cat plus one, for the next named category. */
static int first_free_number(const catalog_t *cat)
{
    int max = 0;
    for (size_t i = 0; i < catalog_category_count(cat); i++) {
        int n = catalog_category_at(cat, i)->number;
        if (n > max)
            max = n;
    }
    return max + 1;
}

/* The number of the default category of sno (sno / 100), adding that category to the catalog
 * on first use. Returns 0 on success with *number set, -1 with err written. */
static int default_category(csv_parser_t *ps, span_t sno_field, int sno, int *number)
{
    int n = sno / 100;
    if (n == 0)
        return fail(ps, "no category for sno", &sno_field,
                    "sno / 100 is 0: use 100 or more, or add a Category column");
    if ((ps->known_number[n / 8] >> (n % 8)) & 1u) {
        *number = n;
        return 0;
    }

    char digits[16];
    snprintf(digits, sizeof digits, "%d", n);
    if (catalog_find_category(ps->cat, digits) == NULL) {
        char generated[CATALOG_NAME_MAX + 1];
        const char *name = catalog_default_category_name(n);
        if (name == NULL) {
            snprintf(generated, sizeof generated, "Category %d", n);
            name = generated;
        }
        switch (catalog_add_category(ps->cat, n, name)) {
        case CATALOG_OK:
            break;
        case CATALOG_NO_MEMORY:
            return fail(ps, "out of memory", NULL, NULL);
        case CATALOG_FROZEN:
            return fail(ps, "the catalog is already frozen", NULL, NULL);
        default: {
            span_t quoted = {name, strlen(name)};
            return fail(ps, "default category clashes with an existing category", &quoted,
                        NULL);
        }
        }
    }
    ps->known_number[n / 8] = (unsigned char)(ps->known_number[n / 8] | (1u << (n % 8)));
    *number = n;
    return 0;
}

/* The number of the category named by field, adding it to the catalog on first use.
 * Returns 0 on success with *number set, -1 with err written. */
static int named_category(csv_parser_t *ps, span_t field, int *number)
{
    char name[CATALOG_NAME_MAX + 1];
    if (take_name(ps, "category", field, name) != 0)
        return -1;
    if (ps->last_number != 0 && strcmp(name, ps->last_name) == 0) {
        *number = ps->last_number;
        return 0;
    }

    /* Adding is also the exact-name look-up: CATALOG_DUPLICATE with a free number means a
     * category with the same normalised name exists, and catalog_find_category's exact match
     * (which it prefers over any prefix) finds it. */
    const catalog_category_t *found = NULL;
    switch (catalog_add_category(ps->cat, ps->next_number, name)) {
    case CATALOG_OK:
        *number = ps->next_number++;
        break;
    case CATALOG_DUPLICATE:
        found = catalog_find_category(ps->cat, name);
        if (found == NULL)
            return fail(ps, "bad category", &field, NULL); /* unreachable by invariant 3 */
        *number = found->number;
        break;
    case CATALOG_NO_MEMORY:
        return fail(ps, "out of memory", NULL, NULL);
    case CATALOG_FROZEN:
        return fail(ps, "the catalog is already frozen", NULL, NULL);
    default:
        if (ps->next_number > CSV_CATEGORY_NUMBER_MAX)
            return fail(ps, "too many categories", &field, NULL);
        return fail(ps, "bad category", &field,
                    "a name needs a letter; it cannot be only digits, spaces, '-' and '_'");
    }
    memcpy(ps->last_name, name, strlen(name) + 1);
    ps->last_number = *number;
    return 0;
}

static int parse_row(csv_parser_t *ps, span_t line)
{
    if (memchr(line.p, '"', line.len) != NULL)
        return fail(ps, "quoted fields are not supported", &line, NULL);

    span_t fields[CSV_FIELDS_MAX];
    size_t count = split_fields(line, fields);
    if (count != ps->field_count) {
        char what[48];
        snprintf(what, sizeof what, "expected %zu fields, found %zu", ps->field_count, count);
        return fail(ps, what, &line, NULL);
    }

    int64_t sno = 0;
    if (!parse_bounded(fields[0], CATALOG_SNO_MAX, &sno) || sno < CATALOG_SNO_MIN)
        return fail(ps, "bad sno", &fields[0], "want a whole number from 1 to 999999");

    char name[CATALOG_NAME_MAX + 1];
    if (take_name(ps, "name", fields[1], name) != 0)
        return -1;

    int64_t quantity = 0;
    if (!parse_bounded(fields[2], CATALOG_STOCK_MAX, &quantity))
        return fail(ps, "bad quantity", &fields[2], "want a whole number from 0 to 1000000000");

    money_t price = 0;
    switch (money_parse(fields[3].p, fields[3].len, ps->minor_digits, &price)) {
    case MONEY_OK:
        break;
    case MONEY_TOO_MANY_DIGITS: {
        char hint[40];
        snprintf(hint, sizeof hint, "at most %d decimals", ps->minor_digits);
        return fail(ps, "bad price", &fields[3], hint);
    }
    case MONEY_NEGATIVE:
        return fail(ps, "bad price", &fields[3], "negative");
    case MONEY_OVERFLOW:
        return fail(ps, "bad price", &fields[3], "too large");
    default:
        return fail(ps, "bad price", &fields[3], "want an amount like 100000 or 100000.00");
    }

    int category = 0;
    int rc = ps->field_count == CSV_FIELDS_MAX ? named_category(ps, fields[4], &category)
                                               : default_category(ps, fields[0], (int)sno,
                                                                  &category);
    if (rc != 0)
        return -1;

    switch (catalog_add_item(ps->cat, (int)sno, category, name, price, quantity)) {
    case CATALOG_OK:
        return 0;
    case CATALOG_DUPLICATE:
        return fail(ps, "duplicate sno", &fields[0], NULL);
    case CATALOG_NO_MEMORY:
        return fail(ps, "out of memory", NULL, NULL);
    case CATALOG_FROZEN:
        return fail(ps, "the catalog is already frozen", NULL, NULL);
    default:
        return fail(ps, "bad item", &line, NULL); /* every field was checked above */
    }
}

int catalog_csv_parse(const char *text, size_t len, int minor_digits, catalog_t *cat,
                      char *err, size_t errlen)
{
    csv_parser_t ps = {
        .cat = cat,
        .minor_digits = minor_digits,
        .err = err,
        .errlen = errlen,
        .next_number = first_free_number(cat),
    };
    if (err != NULL && errlen > 0)
        err[0] = '\0';

    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;

    bool header_seen = false;
    while (pos < len) {
        const char *newline = memchr(text + pos, '\n', len - pos);
        size_t end = newline != NULL ? (size_t)(newline - text) : len;
        span_t line = {text + pos, end - pos};
        pos = newline != NULL ? end + 1 : len;
        ps.line++;

        if (line.len > 0 && line.p[line.len - 1] == '\r')
            line.len--;
        if (trim(line).len == 0)
            continue;

        int rc = header_seen ? parse_row(&ps, line) : parse_header(&ps, line);
        if (rc != 0)
            return -1;
        header_seen = true;
    }
    if (!header_seen) {
        ps.line = 1;
        return fail(&ps, "missing header", NULL, HEADER_HINT);
    }
    return 0;
}
