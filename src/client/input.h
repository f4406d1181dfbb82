/* input: reading what the user types — prompted lines (libedit with history on a terminal, plain
 * getline otherwise) and secrets without echo (termios, restored on every path, signals
 * included). One input_t per process; it reads stdin. */
#ifndef NETSHOP_INPUT_H
#define NETSHOP_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define INPUT_LINE_MAX 4096 /* bytes of one typed line; longer lines are refused */

typedef enum {
    INPUT_OK = 0,
    INPUT_EOF,          /* end of input (Ctrl-D) before a line */
    INPUT_TOO_LONG,     /* the line was longer than the caller's limit; it was consumed */
    INPUT_INTERRUPTED,  /* Ctrl-C (SIGINT) at a prompted line on a terminal, or a signal
                           ended a secret prompt and its default action was ignored */
    INPUT_ERROR,        /* read error or out of memory */
} input_result_t;

typedef struct input input_t;

/* Prepares input from stdin; prompts are written to prompt_stream (stdout for the menu, stderr
 * for one-shot commands, whose stdout carries results). Returns NULL when out of memory. */
input_t *input_new(FILE *prompt_stream);
void input_free(input_t *in);

/* Something to do while waiting for the user: idle(ctx) is called before each wait for input and
 * returns how many milliseconds may pass before it is called again, or -1 for "not again" (the
 * menu pings the server this way so it does not close the session as idle). idle must not read
 * stdin nor write to the terminal. ctx must outlive its use; NULL idle removes it. */
typedef int (*input_idle_fn)(void *ctx);
void input_set_idle(input_t *in, input_idle_fn idle, void *ctx);

/* True when stdin is a terminal (line editing and no-echo secrets are in use). */
bool input_is_terminal(const input_t *in);

/* Prints prompt and reads one line, without its line ending, into a new string *line (the
 * caller frees it). Non-empty lines enter the history when remember is set and stdin is a
 * terminal. When stdin is not a terminal a newline follows the prompt, so that whatever the
 * program prints next starts a line of its own. On a terminal, Ctrl-C ends the line with
 * INPUT_INTERRUPTED instead of ending the process. */
input_result_t input_line(input_t *in, const char *prompt, bool remember, char **line);

/* Prints prompt and reads one line without echo (when stdin is a terminal) into buf[0..cap),
 * NUL-terminated, without its line ending. The caller zeroes buf after use. SIGINT, SIGTERM,
 * SIGHUP or SIGQUIT during the prompt restore the terminal and then take their usual effect. */
input_result_t input_secret(input_t *in, const char *prompt, char *buf, size_t cap);

#endif
