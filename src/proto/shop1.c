/* shop1: the SHOP/1 command language (docs/PROTOCOL.md) — parses one request line into a
 * shop1_request_t, builds data rows and final OK/ERR lines into a growable buffer, and splits
 * reply lines for clients. Pure: no I/O, no threads, no global mutable state. */

#include "proto/shop1.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/order.h"
#include "core/utf8.h"

/* Largest order id accepted by RECEIPT: 2^53, so every id is exact in an IEEE double. */
#define SHOP1_ORDER_ID_MAX 9007199254740992LL
/* Digits of a serial number (CATALOG_SNO_MAX = 999999 has six). */
#define SNO_DIGITS_MAX 6
/* Quoting a bad value in an error text: at most QUOTE_IN_MAX bytes of the value, and at most
 * QUOTE_OUT_MAX bytes (after escaping) between the quotes. QUOTE_BUF holds the two quotes,
 * the content, a "..." when the value was cut, and the NUL. */
#define QUOTE_IN_MAX 40
#define QUOTE_OUT_MAX 48
#define QUOTE_BUF (QUOTE_OUT_MAX + 6)
/* First allocation of a reply buffer; it then doubles. */
#define BUF_INITIAL_CAP 256
/* Most arguments any verb takes (BUY: sno, qty, request id). */
#define ARGS_MAX 3

/* ---------------------------------------------------------------------------------------- */
/* Names */

static const char *const error_names[SHOP1_ERROR_COUNT] = {
    [SHOP1_OK] = "OK",
    [SHOP1_ERR_BAD_REQUEST] = "BAD_REQUEST",
    [SHOP1_ERR_UNKNOWN_COMMAND] = "UNKNOWN_COMMAND",
    [SHOP1_ERR_AUTH_REQUIRED] = "AUTH_REQUIRED",
    [SHOP1_ERR_AUTH_FAILED] = "AUTH_FAILED",
    [SHOP1_ERR_RATE_LIMITED] = "RATE_LIMITED",
    [SHOP1_ERR_ALREADY_LOGGED_IN] = "ALREADY_LOGGED_IN",
    [SHOP1_ERR_NO_SUCH_ITEM] = "NO_SUCH_ITEM",
    [SHOP1_ERR_NO_SUCH_CATEGORY] = "NO_SUCH_CATEGORY",
    [SHOP1_ERR_NO_SUCH_ORDER] = "NO_SUCH_ORDER",
    [SHOP1_ERR_BAD_QUANTITY] = "BAD_QUANTITY",
    [SHOP1_ERR_INSUFFICIENT_STOCK] = "INSUFFICIENT_STOCK",
    [SHOP1_ERR_CONFLICT] = "CONFLICT",
    [SHOP1_ERR_LIMIT] = "LIMIT",
    [SHOP1_ERR_TOO_LONG] = "TOO_LONG",
    [SHOP1_ERR_BUSY] = "BUSY",
    [SHOP1_ERR_TIMEOUT] = "TIMEOUT",
    [SHOP1_ERR_INTERNAL] = "INTERNAL",
    [SHOP1_ERR_FORBIDDEN] = "FORBIDDEN",
    [SHOP1_ERR_ORDER_STATE] = "ORDER_STATE",
};

/* The command table (shop1.h): one row per verb, in enum order, which is also HELP's order.
 * The flags are docs/PROTOCOL.md's rules: §3 (LOGIN), §7.2 (ANON_UDP), §7.3 (TLS_ONLY). */
static const shop1_verb_info_t verb_table[SHOP1_VERB_COUNT] = {
    /* verb, name, usage, min and max arguments, HELP's arguments and text, flags */
    [SHOP1_LOGIN] = {SHOP1_LOGIN, "LOGIN", "usage: LOGIN <user> <password>", 2, 2,
                   "<user> <password>", "log in; starts a session with its own order",
                   SHOP1_VERB_TLS_ONLY},
    [SHOP1_LOGOUT] = {SHOP1_LOGOUT, "LOGOUT", "usage: LOGOUT (no arguments)", 0, 0,
                   "", "end the session and close its order",
                   SHOP1_VERB_LOGIN | SHOP1_VERB_TLS_ONLY},
    [SHOP1_QUIT] = {SHOP1_QUIT, "QUIT", "usage: QUIT (no arguments)", 0, 0,
                   "", "end the session and the connection",
                   SHOP1_VERB_TLS_ONLY},
    [SHOP1_PING] = {SHOP1_PING, "PING", "usage: PING [<token>]", 0, 1,
                   "", "check the server is alive",
                   SHOP1_VERB_ANON_UDP},
    [SHOP1_HELP] = {SHOP1_HELP, "HELP", "usage: HELP (no arguments)", 0, 0,
                   "", "list the commands",
                   SHOP1_VERB_TLS_ONLY},
    [SHOP1_CATEGORIES] = {SHOP1_CATEGORIES, "CATEGORIES", "usage: CATEGORIES (no arguments)", 0, 0,
                   "", "list the categories",
                   SHOP1_VERB_ANON_UDP | SHOP1_VERB_CACHEABLE},
    [SHOP1_BROWSE] = {SHOP1_BROWSE, "BROWSE", "usage: BROWSE <category>", 1, SHOP1_ARGS_REST,
                   "<category number or name>", "list a category's items with stock and price",
                   SHOP1_VERB_ANON_UDP | SHOP1_VERB_CACHEABLE},
    [SHOP1_ITEM] = {SHOP1_ITEM, "ITEM", "usage: ITEM <sno>", 1, 1,
                   "<sno>", "show one item",
                   SHOP1_VERB_ANON_UDP | SHOP1_VERB_CACHEABLE},
    [SHOP1_BUY] = {SHOP1_BUY, "BUY", "usage: BUY <sno> <qty> [<request-id>]", 2, 3,
                   "<sno> <qty> [<request-id>]", "buy for this session's order (idempotent with an id)",
                   SHOP1_VERB_LOGIN | SHOP1_VERB_WRITE},
    [SHOP1_RECEIPT] = {SHOP1_RECEIPT, "RECEIPT", "usage: RECEIPT [<order-id>]", 0, 1,
                   "[<order-id>]", "this session's receipt, or a past order's",
                   SHOP1_VERB_LOGIN},
    [SHOP1_ORDERS] = {SHOP1_ORDERS, "ORDERS", "usage: ORDERS (no arguments)", 0, 0,
                   "", "list your orders, newest first",
                   SHOP1_VERB_LOGIN},
};

const char *shop1_error_name(shop1_error_t code)
{
    int c = (int)code;
    if (c < 0 || c >= (int)SHOP1_ERROR_COUNT)
        return "INTERNAL";
    return error_names[c];
}

/* Only the error words (BAD_REQUEST .. INTERNAL) are recognised, case-sensitively: "OK" is
 * not an error code and gives SHOP1_ERROR_COUNT. */
shop1_error_t shop1_error_from_name(const char *name, size_t len)
{
    if (name == NULL)
        return SHOP1_ERROR_COUNT;
    for (int c = SHOP1_ERR_BAD_REQUEST; c < (int)SHOP1_ERROR_COUNT; c++) {
        if (strlen(error_names[c]) == len && memcmp(error_names[c], name, len) == 0)
            return (shop1_error_t)c;
    }
    return SHOP1_ERROR_COUNT;
}

const shop1_verb_info_t *shop1_verb_info(shop1_verb_t verb)
{
    int v = (int)verb;
    if (v < 0 || v >= (int)SHOP1_VERB_COUNT)
        return NULL;
    return &verb_table[v];
}

bool shop1_verb_has(shop1_verb_t verb, unsigned flags)
{
    const shop1_verb_info_t *info = shop1_verb_info(verb);
    return info != NULL && (info->flags & flags) == flags;
}

size_t shop1_verb_list(unsigned flags, char *out, size_t cap)
{
    size_t total = 0;
    for (int v = 0; v < (int)SHOP1_VERB_COUNT; v++)
        total += (verb_table[v].flags & flags) == flags;
    size_t n = 0, len = 0;
    if (cap > 0)
        out[0] = '\0';
    for (int v = 0; v < (int)SHOP1_VERB_COUNT && len < cap; v++) {
        if ((verb_table[v].flags & flags) != flags)
            continue;
        const char *sep = n == 0 ? "" : n + 1 == total ? " and " : ", ";
        int w = snprintf(out + len, cap - len, "%s%s", sep, verb_table[v].name);
        if (w < 0)
            break;
        len += (size_t)w;
        n++;
    }
    return total;
}

const char *shop1_verb_name(shop1_verb_t verb)
{
    const shop1_verb_info_t *info = shop1_verb_info(verb);
    return info ? info->name : "UNKNOWN";
}

/* ---------------------------------------------------------------------------------------- */
/* Character classes */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* ---------------------------------------------------------------------------------------- */
/* Parse errors */

/* Writes value[0..len) into out as 'value' for an error text. Printable ASCII and well-formed
 * UTF-8 characters stay as they are; control bytes (including the C1 controls U+0080..U+009F),
 * bytes that are not well-formed UTF-8, the quote characters ' and " and the backslash become
 * \xNN. At most QUOTE_IN_MAX bytes of the value and QUOTE_OUT_MAX bytes between the quotes
 * are written, never splitting a character or an escape; when the value was cut, "..."
 * follows the closing quote. The result is NUL-terminated and has no control characters. */
static void quote_value(const char *value, size_t len, char out[static QUOTE_BUF])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *v = (const unsigned char *)value;
    size_t in = 0;
    size_t o = 0;

    out[o++] = '\'';
    while (in < len) {
        unsigned char c = v[in];
        size_t step = 1;
        bool escape;

        if (c >= 0x20 && c < 0x7F) {
            escape = c == '\'' || c == '"' || c == '\\';
        } else if (c >= 0x80) {
            step = utf8_sequence_length(v + in, len - in);
            bool c1_control = step == 2 && c == 0xC2 && v[in + 1] < 0xA0;
            escape = step == 0 || c1_control;
        } else {
            escape = true;
        }
        if (escape)
            step = 1;

        size_t width = escape ? 4 : step;
        if (in + step > QUOTE_IN_MAX || (o - 1) + width > QUOTE_OUT_MAX)
            break;
        if (escape) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0x0F];
        } else {
            memcpy(out + o, v + in, step);
            o += step;
        }
        in += step;
    }
    out[o++] = '\'';
    if (in < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Cuts a NUL-terminated string of length len back to the start of a UTF-8 sequence that
 * truncation left incomplete, if any. */
static void trim_partial_utf8(char *s, size_t len)
{
    size_t start = len;
    size_t back = 0;
    while (start > 0 && back < 4 && ((unsigned char)s[start - 1] & 0xC0) == 0x80) {
        start--;
        back++;
    }
    if (start == 0)
        return;
    start--; /* the lead byte (or plain ASCII) */
    if (utf8_sequence_length((const unsigned char *)s + start, len - start) == 0)
        s[start] = '\0';
}

/* Fills *err with code and the formatted text (cut to fit, never inside a UTF-8 character)
 * and returns code, so that callers can `return parse_fail(...)`. */
__attribute__((format(printf, 3, 4))) static shop1_error_t
parse_fail(shop1_parse_error_t *err, shop1_error_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    if (n < 0)
        err->text[0] = '\0';
    else if ((size_t)n >= sizeof err->text)
        trim_partial_utf8(err->text, sizeof err->text - 1);
    err->code = code;
    return code;
}

/* ---------------------------------------------------------------------------------------- */
/* Request parsing */

static char *skip_blanks(char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

static char *skip_word(char *p, const char *end)
{
    while (p < end && !is_blank(*p))
        p++;
    return p;
}

/* The verb whose name equals word[0..len) ignoring ASCII case, or SHOP1_VERB_COUNT. */
static shop1_verb_t find_verb(const char *word, size_t len)
{
    for (int v = 0; v < (int)SHOP1_VERB_COUNT; v++) {
        const char *name = verb_table[v].name;
        if (strlen(name) != len)
            continue;
        size_t i = 0;
        while (i < len && ascii_upper(word[i]) == name[i])
            i++;
        if (i == len)
            return (shop1_verb_t)v;
    }
    return SHOP1_VERB_COUNT;
}

/* Rewrites p[0..end) in place as its blank-separated words joined by single spaces, with no
 * leading or trailing blank, NUL-terminated (writing at most *end). Returns p. */
static char *collapse_blanks(char *p, char *end)
{
    char *start = p;
    char *w = p;
    p = skip_blanks(p, end);
    while (p < end) {
        char *word_end = skip_word(p, end);
        if (w != start)
            *w++ = ' ';
        memmove(w, p, (size_t)(word_end - p));
        w += word_end - p;
        p = skip_blanks(word_end, end);
    }
    *w = '\0';
    return start;
}

/* Splits p[0..end) into blank-separated words, NUL-terminating each in place (*end must be
 * NUL). Stores the first ARGS_MAX in args and returns how many words there are in all. */
static size_t split_words(char *p, char *end, char *args[static ARGS_MAX])
{
    size_t n = 0;
    for (;;) {
        p = skip_blanks(p, end);
        if (p == end)
            return n;
        char *word = p;
        p = skip_word(p, end);
        if (p < end)
            *p++ = '\0';
        if (n < ARGS_MAX)
            args[n] = word;
        n++;
    }
}

/* A serial number: 1..SNO_DIGITS_MAX decimal digits, value in CATALOG_SNO_MIN..MAX. */
static bool parse_sno(const char *s, int *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > SNO_DIGITS_MAX)
        return false;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < CATALOG_SNO_MIN || v > CATALOG_SNO_MAX)
        return false;
    *out = v;
    return true;
}

/* An order id: decimal digits only, value 1..SHOP1_ORDER_ID_MAX. */
static bool parse_order_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (!is_digit(*s))
            return false;
        v = v * 10 + (*s - '0'); /* v <= 2^53 before, so no overflow */
        if (v > SHOP1_ORDER_ID_MAX)
            return false;
    }
    if (v < 1)
        return false;
    *out = v;
    return true;
}

/* A user name: 1..SHOP1_USER_MAX characters of [A-Za-z0-9._-], not starting with '-'. */
static bool user_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > SHOP1_USER_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Checks LOGIN's arguments; the password is never quoted back. */
static shop1_error_t parse_login(char *args[static ARGS_MAX], shop1_request_t *req,
                                 shop1_parse_error_t *err)
{
    char q[QUOTE_BUF];
    if (!user_name_valid(args[0])) {
        quote_value(args[0], strlen(args[0]), q);
        return parse_fail(err, SHOP1_ERR_BAD_REQUEST,
                          "bad user name %s: must be 1 to %d characters of A-Z a-z 0-9 . _ - "
                          "not starting with -",
                          q, SHOP1_USER_MAX);
    }
    size_t plen = strlen(args[1]);
    if (plen > SHOP1_PASSWORD_MAX)
        return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "password longer than %d bytes",
                          SHOP1_PASSWORD_MAX);
    for (size_t i = 0; i < plen; i++) {
        if (is_control((unsigned char)args[1][i]))
            return parse_fail(err, SHOP1_ERR_BAD_REQUEST,
                              "password contains a control character");
    }
    req->user = args[0];
    req->password = args[1];
    return SHOP1_OK;
}

static shop1_error_t parse_item_number(const char *s, int *sno, shop1_parse_error_t *err)
{
    char q[QUOTE_BUF];
    if (parse_sno(s, sno))
        return SHOP1_OK;
    quote_value(s, strlen(s), q);
    return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "bad item number %s", q);
}

static shop1_error_t parse_buy(char *args[static ARGS_MAX], size_t nargs, shop1_request_t *req,
                               shop1_parse_error_t *err)
{
    char q[QUOTE_BUF];
    shop1_error_t rc = parse_item_number(args[0], &req->sno, err);
    if (rc != SHOP1_OK)
        return rc;
    if (order_parse_quantity(args[1], &req->qty) != QTY_OK) {
        quote_value(args[1], strlen(args[1]), q);
        return parse_fail(err, SHOP1_ERR_BAD_QUANTITY,
                          "bad quantity %s: must be an integer from 1 to %d", q, ORDER_QTY_MAX);
    }
    if (nargs == 3) {
        if (!order_request_id_valid(args[2])) {
            quote_value(args[2], strlen(args[2]), q);
            return parse_fail(err, SHOP1_ERR_BAD_REQUEST,
                              "bad request id %s: must be 1 to %d characters of "
                              "A-Z a-z 0-9 . _ : -",
                              q, ORDER_REQUEST_ID_MAX);
        }
        req->request_id = args[2];
    }
    return SHOP1_OK;
}

/* Checks in this order: length (TOO_LONG when len, CR included, exceeds SHOP1_LINE_MAX - 1),
 * NUL bytes, UTF-8 (the offset in "invalid UTF-8 at byte N" is 0-based, from line[0]), empty,
 * verb, argument count (the verb's usage text), then each argument left to right. On error
 * *req is all empty with verb = SHOP1_VERB_COUNT; on success err->text is "". */
shop1_error_t shop1_parse_request(char *line, size_t len, shop1_request_t *req,
                                  shop1_parse_error_t *err)
{
    char q[QUOTE_BUF];

    memset(req, 0, sizeof *req);
    req->verb = SHOP1_VERB_COUNT; /* nothing valid until SHOP1_OK is returned */
    err->code = SHOP1_OK;
    err->text[0] = '\0';

    if (len > SHOP1_LINE_MAX - 1)
        return parse_fail(err, SHOP1_ERR_TOO_LONG, "request line longer than %d bytes",
                          SHOP1_LINE_MAX);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    const char *nul = memchr(line, '\0', len);
    if (nul != NULL)
        return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "NUL byte at byte %zu", (size_t)(nul - line));
    size_t bad = utf8_invalid_offset((const unsigned char *)line, len);
    if (bad < len)
        return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte %zu", bad);

    char *end = line + len;
    char *p = skip_blanks(line, end);
    if (p == end)
        return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "empty request");
    char *word = p;
    p = skip_word(p, end);
    shop1_verb_t verb = find_verb(word, (size_t)(p - word));
    if (verb == SHOP1_VERB_COUNT) {
        quote_value(word, (size_t)(p - word), q);
        return parse_fail(err, SHOP1_ERR_UNKNOWN_COMMAND, "unknown command %s", q);
    }
    char *rest = p;
    if (p < end) {
        *p = '\0'; /* ends the verb; *end is already NUL */
        rest = p + 1;
    }

    const shop1_verb_info_t *spec = &verb_table[verb];
    shop1_error_t rc = SHOP1_OK;
    if (verb == SHOP1_BROWSE) {
        req->category = collapse_blanks(rest, end);
        if (req->category[0] == '\0') {
            req->category = NULL;
            return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "%s", spec->usage);
        }
        req->verb = verb;
        return SHOP1_OK;
    }

    char *args[ARGS_MAX] = {NULL, NULL, NULL};
    size_t nargs = split_words(rest, end, args);
    if (nargs < spec->min_args || nargs > spec->max_args)
        return parse_fail(err, SHOP1_ERR_BAD_REQUEST, "%s", spec->usage);

    switch (verb) {
    case SHOP1_LOGIN:
        rc = parse_login(args, req, err);
        break;
    case SHOP1_ITEM:
        rc = parse_item_number(args[0], &req->sno, err);
        break;
    case SHOP1_BUY:
        rc = parse_buy(args, nargs, req, err);
        break;
    case SHOP1_RECEIPT:
        if (nargs == 1 && !parse_order_id(args[0], &req->order_id)) {
            quote_value(args[0], strlen(args[0]), q);
            rc = parse_fail(err, SHOP1_ERR_BAD_REQUEST, "bad order id %s", q);
        }
        break;
    default: /* LOGOUT, QUIT, PING (its token is ignored), HELP, CATEGORIES, ORDERS */
        break;
    }
    if (rc != SHOP1_OK) {
        memset(req, 0, sizeof *req);
        req->verb = SHOP1_VERB_COUNT;
        return rc;
    }
    req->verb = verb;
    return SHOP1_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Reply building */

void shop1_buf_init(shop1_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void shop1_buf_free(shop1_buf_t *b)
{
    free(b->data);
    shop1_buf_init(b);
}

/* Also clears `failed`: the incomplete contents are gone. */
void shop1_buf_reset(shop1_buf_t *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus a NUL, doubling the capacity. Returns false (with
 * b->failed set) when the buffer has already failed or memory runs out. */
static bool buf_reserve(shop1_buf_t *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX - 1 - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap != 0 ? b->cap : BUF_INITIAL_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

/* Makes s[0..len) safe to send, in place: each control character — C0 (TAB, CR, LF, ...),
 * DEL, and the two-byte C1 controls U+0080..U+009F, which a terminal may obey (C2 9B is CSI)
 * — becomes one space, and each byte that is not part of well-formed UTF-8 becomes '?'.
 * Returns the new length (<= len: a C1 control shrinks from two bytes to one). */
static size_t sanitise(char *s, size_t len)
{
    unsigned char *u = (unsigned char *)s;
    size_t in = 0, out = 0;
    while (in < len) {
        size_t step = utf8_sequence_length(u + in, len - in);
        if (step == 0) {
            u[out++] = '?';
            in++;
        } else if (utf8_is_control(u + in, step)) {
            u[out++] = ' ';
            in += step;
        } else {
            memmove(u + out, u + in, step);
            out += step;
            in += step;
        }
    }
    return out;
}

/* Appends data[0..len) (sanitised when asked); the contents stay NUL-terminated. */
static void buf_append(shop1_buf_t *b, const char *data, size_t len, bool sanitised)
{
    if (!buf_reserve(b, len))
        return;
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
        if (sanitised)
            len = sanitise(b->data + b->len, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
}

/* shop1_row_begin writes only "*"; the first field adds the space, later fields a TAB. A
 * lone '*' at the start of a line is therefore "row begun, no field yet". */
static bool row_has_no_field(const shop1_buf_t *b)
{
    if (b->failed || b->len == 0 || b->data[b->len - 1] != '*')
        return false;
    return b->len == 1 || b->data[b->len - 2] == '\n';
}

static void row_separator(shop1_buf_t *b)
{
    buf_append(b, row_has_no_field(b) ? " " : "\t", 1, false);
}

void shop1_row_begin(shop1_buf_t *b)
{
    buf_append(b, "*", 1, false);
}

/* NULL is written as an empty field. */
void shop1_row_str(shop1_buf_t *b, const char *s)
{
    row_separator(b);
    if (s != NULL)
        buf_append(b, s, strlen(s), true);
}

void shop1_row_int(shop1_buf_t *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    row_separator(b);
    if (n > 0 && (size_t)n < sizeof tmp)
        buf_append(b, tmp, (size_t)n, false);
}

void shop1_row_money(shop1_buf_t *b, money_t v, int minor_digits)
{
    char tmp[MONEY_FORMAT_MAX];
    size_t n = money_format(v, minor_digits, tmp, sizeof tmp);
    row_separator(b);
    if (n < sizeof tmp)
        buf_append(b, tmp, n, true);
}

/* A row with no field at all is written as "* " (one empty field). */
void shop1_row_end(shop1_buf_t *b)
{
    if (row_has_no_field(b))
        buf_append(b, " ", 1, false);
    buf_append(b, "\n", 1, false);
}

/* Appends `word`, then " " and the formatted text when it is not empty, then LF; the text is
 * sanitised (control characters become spaces, bytes that are not UTF-8 '?'). */
__attribute__((format(printf, 3, 0))) static void
buf_final_line(shop1_buf_t *b, const char *word, const char *fmt, va_list ap)
{
    va_list measure;
    va_copy(measure, ap);
    int n = vsnprintf(NULL, 0, fmt, measure);
    va_end(measure);
    if (n < 0)
        n = 0; /* an encoding error: write the line without text */

    size_t word_len = strlen(word);
    size_t text_len = (size_t)n;
    if (text_len > SIZE_MAX / 2 || !buf_reserve(b, word_len + 1 + text_len + 1))
        return;
    char *out = b->data + b->len;
    memcpy(out, word, word_len);
    size_t pos = word_len;
    if (text_len > 0) {
        out[pos++] = ' ';
        vsnprintf(out + pos, text_len + 1, fmt, ap);
        pos += sanitise(out + pos, text_len);
    }
    out[pos++] = '\n';
    out[pos] = '\0';
    b->len += pos;
}

void shop1_ok(shop1_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_final_line(b, "OK", fmt, ap);
    va_end(ap);
}

/* A code that is not an error word (SHOP1_OK, out of range) is written as INTERNAL; an empty
 * text gives "ERR <CODE>" alone. */
void shop1_err(shop1_buf_t *b, shop1_error_t code, const char *fmt, ...)
{
    char word[40];
    int c = (int)code;
    if (c <= (int)SHOP1_OK || c >= (int)SHOP1_ERROR_COUNT)
        code = SHOP1_ERR_INTERNAL;
    int n = snprintf(word, sizeof word, "ERR %s", shop1_error_name(code));
    if (n < 0 || (size_t)n >= sizeof word)
        return; /* cannot happen: the longest name is 18 bytes */

    va_list ap;
    va_start(ap, fmt);
    buf_final_line(b, word, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------- */
/* Reply reading */

static shop1_line_kind_t reply_invalid(shop1_reply_line_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = SHOP1_LINE_INVALID;
    out->code = SHOP1_OK;
    out->text = "";
    return out->kind;
}

/* line[len] must be writable (it is set to NUL). A DATA line splits into at most
 * SHOP1_FIELDS_MAX fields; a line with more, a line containing a NUL byte, "*" without the
 * space, "OK"/"ERR" followed by anything but a space ("OKAY"), and "ERR" without a code word
 * are INVALID. For OK/DATA/INVALID, code is SHOP1_OK and code_name NULL. */
shop1_line_kind_t shop1_parse_reply_line(char *line, size_t len, shop1_reply_line_t *out)
{
    reply_invalid(out);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (memchr(line, '\0', len) != NULL)
        return SHOP1_LINE_INVALID;

    if (len >= 2 && line[0] == '*' && line[1] == ' ') {
        size_t n = 1;
        out->fields[0] = line + 2;
        for (char *p = line + 2; *p != '\0'; p++) {
            if (*p != '\t')
                continue;
            if (n == SHOP1_FIELDS_MAX)
                return reply_invalid(out);
            *p = '\0';
            out->fields[n++] = p + 1;
        }
        out->nfields = n;
        out->kind = SHOP1_LINE_DATA;
        return out->kind;
    }

    if (len >= 2 && memcmp(line, "OK", 2) == 0 && (len == 2 || line[2] == ' ')) {
        out->text = len == 2 ? line + 2 : line + 3;
        out->kind = SHOP1_LINE_OK;
        return out->kind;
    }

    if (len >= 5 && memcmp(line, "ERR ", 4) == 0 && line[4] != ' ') {
        char *name = line + 4;
        char *space = strchr(name, ' ');
        size_t name_len = space != NULL ? (size_t)(space - name) : strlen(name);
        out->code = shop1_error_from_name(name, name_len);
        out->code_name = name;
        if (space != NULL) {
            *space = '\0';
            out->text = space + 1;
        } else {
            out->text = name + name_len; /* "" */
        }
        out->kind = SHOP1_LINE_ERR;
        return out->kind;
    }
    return SHOP1_LINE_INVALID;
}
