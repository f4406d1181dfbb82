/* output: how the client writes things — terminal-safe text, aligned tables and a small JSON
 * emitter. Writes to a caller's FILE; allocates nothing. */
#ifndef NETSHOP_OUTPUT_H
#define NETSHOP_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s for a terminal: C0/C1 control characters and DEL become '?', so text from the
 * server can never move the cursor or change the terminal's state. */
void output_text(FILE *out, const char *s);

/* Display width of s in columns: its number of UTF-8 code points (control characters count as
 * the one '?' they are shown as). Wide (CJK) characters are counted as one. */
size_t output_width(const char *s);

/* --- Aligned tables: two passes, no allocation. ---
 * Declare the columns, call table_widen() for every row (header widths are included by
 * table_init), then table_print_header() and table_print_row() for every row. Columns are
 * separated by two spaces; the last column is not padded. */
typedef struct {
    const char *header;
    bool right;   /* right-align (numbers, money) */
    size_t width; /* computed */
} table_col_t;

void table_init(table_col_t *cols, size_t ncols);
void table_widen(table_col_t *cols, size_t ncols, const char *const cells[]);
void table_print_header(FILE *out, const table_col_t *cols, size_t ncols);
void table_print_row(FILE *out, const table_col_t *cols, size_t ncols, const char *const cells[]);

/* --- JSON emitter. Writes one document straight to a FILE. ---
 * Keys and values are written in call order; commas are placed by the emitter. Strings are
 * escaped (", \, control characters — C0, DEL and C1 U+0080..U+009F — as \u00XX) and invalid
 * UTF-8 bytes become U+FFFD, so the output is always valid JSON with no raw control character.
 * Nesting deeper than JSON_DEPTH_MAX is a programming error. */
#define JSON_DEPTH_MAX 8

typedef struct {
    FILE *out;
    int depth;                       /* open objects/arrays */
    size_t count[JSON_DEPTH_MAX];    /* members written so far at each level */
    bool after_key;                  /* the next value completes a "key": pair */
} json_t;

void json_init(json_t *j, FILE *out);
void json_object_begin(json_t *j);
void json_object_end(json_t *j);
void json_array_begin(json_t *j);
void json_array_end(json_t *j);
void json_key(json_t *j, const char *key);
void json_string(json_t *j, const char *s);
void json_int(json_t *j, int64_t v);
void json_bool(json_t *j, bool v);
void json_null(json_t *j);
/* Ends the document with a newline. */
void json_finish(json_t *j);

/* Writes s as a quoted, escaped JSON string. */
void json_write_string(FILE *out, const char *s);

#endif
