/* fuzz_shop1: libFuzzer harness for src/proto/shop1.c. Feeds each input to the request parser
 * and the reply-line parser, and checks their contracts: results point into the buffer, error
 * texts are one clean line, a built row or final line reads back as itself. */
// Build: clang -g -fsanitize=fuzzer,address -Isrc -D_GNU_SOURCE tests/fuzz/fuzz_shop1.c \
//          src/proto/shop1.c src/core/*.c
// Run:   ./a.out tests/fuzz/corpus/shop1 -max_total_time=60

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/shop1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding for libFuzzer) when cond is false. */
static void check(int cond)
{
    if (!cond)
        abort();
}

static int in_buffer(const char *p, const char *buf, size_t size)
{
    return p >= buf && p <= buf + size;
}

static void check_request(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1); /* one spare byte: the parser writes line[size] */
    check(line != NULL);
    if (size > 0)
        memcpy(line, data, size);

    shop1_request_t req;
    shop1_parse_error_t err;
    shop1_error_t rc = shop1_parse_request(line, size, &req, &err);
    check(rc == err.code);
    if (rc == SHOP1_OK) {
        check(req.verb < SHOP1_VERB_COUNT);
        check(err.text[0] == '\0');
        const char *strings[] = {req.user, req.password, req.category, req.request_id};
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
            check(strings[i] == NULL || in_buffer(strings[i], line, size));
        if (req.verb == SHOP1_BUY)
            check(req.qty >= 1 && req.qty <= 10000 && req.sno >= 1 && req.sno <= 999999);
    } else {
        check(rc > SHOP1_OK && rc < SHOP1_ERROR_COUNT);
        check(req.verb == SHOP1_VERB_COUNT);
        size_t n = strnlen(err.text, sizeof err.text);
        check(n > 0 && n < sizeof err.text);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)err.text[i];
            check(c >= 0x20 && c != 0x7f);
        }
    }
    free(line);
}

static void check_reply(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    check(line != NULL);
    if (size > 0)
        memcpy(line, data, size);

    shop1_reply_line_t r;
    shop1_line_kind_t kind = shop1_parse_reply_line(line, size, &r);
    check(kind == r.kind);
    switch (kind) {
    case SHOP1_LINE_DATA:
        check(r.nfields >= 1 && r.nfields <= SHOP1_FIELDS_MAX);
        for (size_t i = 0; i < r.nfields; i++)
            check(in_buffer(r.fields[i], line, size) && strchr(r.fields[i], '\t') == NULL);
        break;
    case SHOP1_LINE_OK:
        check(in_buffer(r.text, line, size));
        break;
    case SHOP1_LINE_ERR:
        check(in_buffer(r.code_name, line, size) && r.code_name[0] != '\0');
        check(strchr(r.code_name, ' ') == NULL);
        check(in_buffer(r.text, line, size));
        break;
    case SHOP1_LINE_INVALID:
        check(r.nfields == 0);
        break;
    }
    free(line);
}

/* The input (up to its first NUL) as a row field and as OK/ERR text must come back as one
 * DATA field / one OK line of the same length, with no control characters. */
static void check_builder(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    check(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    size_t text_len = strlen(text);

    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_str(&b, text);
    shop1_row_end(&b);
    shop1_ok(&b, "%s", text);
    shop1_err(&b, (shop1_error_t)(size % (SHOP1_ERROR_COUNT + 2)), "%s", text);
    check(!b.failed);

    size_t lines = 0;
    char *p = b.data;
    while (p < b.data + b.len) {
        char *lf = memchr(p, '\n', (size_t)(b.data + b.len - p));
        check(lf != NULL);
        shop1_reply_line_t r;
        shop1_line_kind_t kind = shop1_parse_reply_line(p, (size_t)(lf - p), &r);
        if (lines == 0) {
            check(kind == SHOP1_LINE_DATA && r.nfields == 1 && strlen(r.fields[0]) == text_len);
        } else if (lines == 1) {
            check(kind == SHOP1_LINE_OK && strlen(r.text) == text_len);
        } else {
            check(kind == SHOP1_LINE_ERR && r.code > SHOP1_OK && r.code < SHOP1_ERROR_COUNT);
        }
        lines++;
        p = lf + 1;
    }
    check(lines == 3);
    shop1_buf_free(&b);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_request(data, size);
    check_reply(data, size);
    check_builder(data, size);
    return 0;
}
