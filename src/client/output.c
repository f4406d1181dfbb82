/* output: terminal-safe text, aligned tables and the JSON emitter used for --json. */
#include "client/output.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "core/utf8.h"

void output_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    while (p < end) {
        size_t len = utf8_sequence_length(p, (size_t)(end - p));
        if (len == 0) {
            fputc('?', out); /* a stray byte: not valid UTF-8 */
            p++;
        } else if (utf8_is_control(p, len)) {
            fputc('?', out);
            p += len;
        } else {
            fwrite(p, 1, len, out);
            p += len;
        }
    }
}

size_t output_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    size_t width = 0;
    while (p < end) {
        size_t len = utf8_sequence_length(p, (size_t)(end - p));
        p += len == 0 ? 1 : len;
        width++;
    }
    return width;
}

static void pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

void table_init(table_col_t *cols, size_t ncols)
{
    for (size_t i = 0; i < ncols; i++)
        cols[i].width = output_width(cols[i].header);
}

void table_widen(table_col_t *cols, size_t ncols, const char *const cells[])
{
    for (size_t i = 0; i < ncols; i++) {
        size_t w = output_width(cells[i]);
        if (w > cols[i].width)
            cols[i].width = w;
    }
}

void table_print_row(FILE *out, const table_col_t *cols, size_t ncols, const char *const cells[])
{
    for (size_t i = 0; i < ncols; i++) {
        size_t w = output_width(cells[i]);
        size_t fill = cols[i].width > w ? cols[i].width - w : 0;
        if (i > 0)
            fputs("  ", out);
        if (cols[i].right)
            pad(out, fill);
        output_text(out, cells[i]);
        if (!cols[i].right && i + 1 < ncols)
            pad(out, fill);
    }
    fputc('\n', out);
}

void table_print_header(FILE *out, const table_col_t *cols, size_t ncols)
{
    const char *cells[16];
    assert(ncols <= sizeof cells / sizeof cells[0]);
    for (size_t i = 0; i < ncols; i++)
        cells[i] = cols[i].header;
    table_print_row(out, cols, ncols, cells);
}

void json_write_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    fputc('"', out);
    while (p < end) {
        size_t len = utf8_sequence_length(p, (size_t)(end - p));
        if (len == 0) {
            fputs("\xEF\xBF\xBD", out); /* U+FFFD for a byte that is not valid UTF-8 */
            p++;
            continue;
        }
        if (utf8_is_control(p, len)) {
            /* C0, DEL and C1 (C2 80..C2 9F is U+0080..U+009F): never raw, so a consumer that
             * prints a value cannot be made to obey them. */
            unsigned cp = len == 1 ? p[0] : (unsigned)(((p[0] & 0x1F) << 6) | (p[1] & 0x3F));
            fprintf(out, "\\u%04x", cp);
        } else if (len == 1 && (*p == '"' || *p == '\\')) {
            fprintf(out, "\\%c", *p);
        } else {
            fwrite(p, 1, len, out);
        }
        p += len;
    }
    fputc('"', out);
}

void json_init(json_t *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->count[0] = 0;
    j->after_key = false;
}

/* Writes the separator a new value or key needs at the current level. */
static void json_separate(json_t *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0 && j->count[j->depth - 1]++ > 0)
        fputc(',', j->out);
}

static void json_open(json_t *j, char bracket)
{
    assert(j->depth < JSON_DEPTH_MAX);
    json_separate(j);
    fputc(bracket, j->out);
    j->count[j->depth++] = 0;
}

static void json_close(json_t *j, char bracket)
{
    assert(j->depth > 0 && !j->after_key);
    j->depth--;
    fputc(bracket, j->out);
}

void json_object_begin(json_t *j) { json_open(j, '{'); }
void json_object_end(json_t *j) { json_close(j, '}'); }
void json_array_begin(json_t *j) { json_open(j, '['); }
void json_array_end(json_t *j) { json_close(j, ']'); }

void json_key(json_t *j, const char *key)
{
    assert(j->depth > 0 && !j->after_key);
    json_separate(j);
    json_write_string(j->out, key);
    fputc(':', j->out);
    j->after_key = true;
}

void json_string(json_t *j, const char *s)
{
    json_separate(j);
    json_write_string(j->out, s);
}

void json_int(json_t *j, int64_t v)
{
    json_separate(j);
    fprintf(j->out, "%" PRId64, v);
}

void json_bool(json_t *j, bool v)
{
    json_separate(j);
    fputs(v ? "true" : "false", j->out);
}

void json_null(json_t *j)
{
    json_separate(j);
    fputs("null", j->out);
}

void json_finish(json_t *j)
{
    assert(j->depth == 0);
    fputc('\n', j->out);
}
