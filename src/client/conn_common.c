/* conn_common: the error, quoting, reply-assembly and host helpers every client transport uses. */
#include "client/conn_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void conn_error_set(conn_error_t *err, conn_status_t status, const char *fmt, ...)
{
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(err->message, sizeof err->message, fmt, ap) < 0)
        snprintf(err->message, sizeof err->message, "%s", "connection failure");
    va_end(ap);
}

void conn_quote(const char *s, size_t len, char out[static CONN_QUOTED_SIZE])
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i == CONN_QUOTE_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7F) {
            out[o++] = (char)ch;
        } else {
            snprintf(out + o, 5, "\\x%02x", ch);
            o += 4;
        }
    }
    out[o] = '\0';
}

void conn_reply_init(conn_reply_t *r)
{
    memset(r, 0, sizeof *r);
}

void conn_reply_free(conn_reply_t *r)
{
    for (size_t i = 0; i < r->ntexts; i++)
        free(r->texts[i]);
    free(r->texts);
    free(r->rows);
    conn_reply_init(r);
}

/* Keeps a copy of one line in the reply (rows[] grows with texts[], so there is always room
 * for the line as a row); returns the copy (NUL-terminated, one spare byte for the parser) or
 * NULL when out of memory. */
static char *reply_keep(conn_reply_t *r, const char *line, size_t len)
{
    if (r->ntexts == r->cap) {
        size_t cap = r->cap == 0 ? 16 : r->cap * 2;
        char **texts = realloc(r->texts, cap * sizeof *texts);
        if (texts == NULL)
            return NULL;
        r->texts = texts;
        shop1_reply_line_t *rows = realloc(r->rows, cap * sizeof *rows);
        if (rows == NULL)
            return NULL;
        r->rows = rows;
        r->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, line, len);
    copy[len] = '\0';
    r->texts[r->ntexts++] = copy;
    return copy;
}

shop1_line_kind_t conn_reply_add_line(conn_reply_t *r, const char *line, size_t len, bool *nomem)
{
    *nomem = false;
    char *text = reply_keep(r, line, len);
    if (text == NULL) {
        *nomem = true;
        return SHOP1_LINE_INVALID;
    }
    shop1_reply_line_t parsed;
    shop1_line_kind_t kind = shop1_parse_reply_line(text, len, &parsed);
    if (kind == SHOP1_LINE_DATA)
        r->rows[r->nrows++] = parsed;
    else if (kind == SHOP1_LINE_OK || kind == SHOP1_LINE_ERR)
        r->final = parsed;
    return kind;
}

bool conn_host_normalise(const char *host, char out[static CONN_HOST_MAX + 1])
{
    size_t hlen = strlen(host);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') { /* "[::1]" */
        host++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen > CONN_HOST_MAX)
        return false;
    memcpy(out, host, hlen);
    out[hlen] = '\0';
    return true;
}
