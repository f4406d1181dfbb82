/* input: prompted line input (libedit on a terminal, getline otherwise) and no-echo secrets. */
#include "client/input.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <termios.h>
#include <unistd.h>

#include <editline/readline.h>

#define INPUT_HISTORY_MAX 200

struct input {
    FILE *prompt_stream;
    bool terminal;
    input_idle_fn idle; /* NULL: none */
    void *idle_ctx;
};

/* The input whose line libedit is reading (its character source has no context argument). */
static input_t *reading;

/* Calls the idle hook of in (if any) and returns the wait it allows, in ms (-1: no limit). */
static int idle_wait_ms(input_t *in)
{
    if (in == NULL || in->idle == NULL)
        return -1;
    int ms = in->idle(in->idle_ctx);
    if (ms < 0)
        in->idle = NULL; /* it has nothing more to do */
    return ms;
}

/* Set by line_interrupt while a prompted line is read on a terminal. */
static volatile sig_atomic_t line_interrupted;

static void line_interrupt(int sig)
{
    (void)sig;
    line_interrupted = 1;
}

/* libedit's character source (rl_getc_function): one byte of stdin, or EOF once Ctrl-C was
 * caught. SIGINT is blocked except inside pselect, so a Ctrl-C that comes before the wait
 * cannot be missed (it would leave readline waiting for a key). The wait is cut short when
 * the idle hook asks to be called again (the keep-alive). */
static int getc_interruptible(FILE *f)
{
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);
    int fd = fileno(f), result = EOF;
    while (!line_interrupted) {
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        int ms = idle_wait_ms(reading);
        struct timespec wait = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
        int n = pselect(fd + 1, &readable, NULL, NULL, ms < 0 ? NULL : &wait, &orig);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0)
            continue; /* time for the idle hook */
        unsigned char ch;
        ssize_t got = read(fd, &ch, 1);
        if (got == 1)
            result = ch;
        else if (got < 0 && errno == EINTR)
            continue;
        break;
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);
    return result;
}

input_t *input_new(FILE *prompt_stream)
{
    input_t *in = calloc(1, sizeof *in);
    if (in == NULL)
        return NULL;
    in->prompt_stream = prompt_stream;
    in->terminal = isatty(STDIN_FILENO) == 1;
    /* Not a terminal: stdin unbuffered, so that nothing waits in stdio's buffer while poll()
     * watches the descriptor for the idle hook. Lines are short and typed (or scripted). */
    if (!in->terminal)
        setvbuf(stdin, NULL, _IONBF, 0);
    if (in->terminal) {
        rl_readline_name = "netshop";
        rl_instream = stdin;
        rl_outstream = prompt_stream;
        rl_getc_function = getc_interruptible;
        using_history();
        stifle_history(INPUT_HISTORY_MAX);
    }
    return in;
}

void input_free(input_t *in)
{
    if (in == NULL)
        return;
    if (in->terminal)
        clear_history();
    free(in);
}

void input_set_idle(input_t *in, input_idle_fn idle, void *ctx)
{
    in->idle = idle;
    in->idle_ctx = ctx;
}

/* Not a terminal: waits until stdin is readable (or closed), calling the idle hook when it
 * asks. A signal ends the wait early; getline then reads as before. */
static void wait_for_input(input_t *in)
{
    for (;;) {
        int ms = idle_wait_ms(in);
        if (ms < 0)
            return;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, 1, ms);
        if (n != 0)
            return;
    }
}

bool input_is_terminal(const input_t *in)
{
    return in->terminal;
}

/* Removes a trailing LF and CR in place; returns the new length. */
static size_t chomp(char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\n')
        s[--len] = '\0';
    if (len > 0 && s[len - 1] == '\r')
        s[--len] = '\0';
    return len;
}

/* readline() with SIGINT caught (no SA_RESTART, so the read returns): *interrupted tells that
 * Ctrl-C ended the line. The caller's SIGINT disposition is restored before returning. */
static char *read_line_catching_interrupt(const char *prompt, bool *interrupted)
{
    struct sigaction catch = {.sa_handler = line_interrupt}, old;
    sigemptyset(&catch.sa_mask);
    line_interrupted = 0;
    sigaction(SIGINT, &catch, &old);
    char *got = readline(prompt);
    sigaction(SIGINT, &old, NULL);
    *interrupted = line_interrupted != 0;
    if (*interrupted) {
        free(got);
        got = NULL;
    }
    return got;
}

input_result_t input_line(input_t *in, const char *prompt, bool remember, char **line)
{
    *line = NULL;
    if (in->terminal) {
        fflush(stdout);
        bool interrupted;
        reading = in;
        char *got = read_line_catching_interrupt(prompt, &interrupted);
        reading = NULL;
        if (got == NULL) {
            fputc('\n', in->prompt_stream); /* the cursor is still on the prompt's line */
            fflush(in->prompt_stream);
            return interrupted ? INPUT_INTERRUPTED : INPUT_EOF;
        }
        size_t len = chomp(got, strlen(got));
        if (len > INPUT_LINE_MAX) {
            free(got);
            return INPUT_TOO_LONG;
        }
        if (remember && len > 0)
            add_history(got);
        *line = got;
        return INPUT_OK;
    }

    fputs(prompt, in->prompt_stream);
    if (prompt[0] != '\0')
        fputc('\n', in->prompt_stream);
    fflush(in->prompt_stream);
    wait_for_input(in);
    char *buf = NULL;
    size_t cap = 0;
    errno = 0;
    ssize_t n = getline(&buf, &cap, stdin);
    if (n < 0) {
        free(buf);
        return errno == 0 || feof(stdin) ? INPUT_EOF : INPUT_ERROR;
    }
    size_t len = chomp(buf, (size_t)n);
    if (len > INPUT_LINE_MAX) {
        free(buf);
        return INPUT_TOO_LONG;
    }
    *line = buf;
    return INPUT_OK;
}

/* The signal that interrupted a secret prompt (0: none). Set only by the handler below. */
static volatile sig_atomic_t secret_signal;

static void note_signal(int sig)
{
    secret_signal = sig;
}

static const int secret_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define SECRET_SIGNAL_COUNT (sizeof secret_signals / sizeof secret_signals[0])

/* Reads one line from the terminal byte by byte (echo is off) into buf. */
static input_result_t read_terminal_line(char *buf, size_t cap)
{
    size_t len = 0;
    bool too_long = false;
    for (;;) {
        char ch;
        ssize_t n = read(STDIN_FILENO, &ch, 1);
        if (n == 1) {
            if (ch == '\n')
                break;
            if (len + 1 < cap)
                buf[len++] = ch;
            else
                too_long = true;
            continue;
        }
        if (n == 0) {
            if (len == 0 && !too_long)
                return INPUT_EOF;
            break;
        }
        if (errno != EINTR)
            return INPUT_ERROR;
        if (secret_signal != 0)
            return INPUT_INTERRUPTED;
    }
    buf[len] = '\0';
    chomp(buf, len);
    return too_long ? INPUT_TOO_LONG : INPUT_OK;
}

static input_result_t secret_from_terminal(input_t *in, const char *prompt, char *buf, size_t cap)
{
    struct sigaction old_actions[SECRET_SIGNAL_COUNT];
    struct sigaction catch = {.sa_handler = note_signal}; /* no SA_RESTART: read() returns */
    sigemptyset(&catch.sa_mask);
    secret_signal = 0;
    for (size_t i = 0; i < SECRET_SIGNAL_COUNT; i++)
        sigaction(secret_signals[i], &catch, &old_actions[i]);

    struct termios saved;
    bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
    if (restore) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL; /* the Enter still moves to the next line */
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    fputs(prompt, in->prompt_stream);
    fflush(in->prompt_stream);

    input_result_t result = read_terminal_line(buf, cap);

    if (restore)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    for (size_t i = 0; i < SECRET_SIGNAL_COUNT; i++)
        sigaction(secret_signals[i], &old_actions[i], NULL);
    if (result != INPUT_OK && result != INPUT_TOO_LONG) {
        fputc('\n', in->prompt_stream); /* ECHONL did not move the cursor down */
        fflush(in->prompt_stream);
    }
    if (secret_signal != 0) {
        explicit_bzero(buf, cap);
        raise(secret_signal); /* its own disposition again: usually ends the process */
        return INPUT_INTERRUPTED;
    }
    return result;
}

input_result_t input_secret(input_t *in, const char *prompt, char *buf, size_t cap)
{
    if (cap == 0)
        return INPUT_TOO_LONG;
    buf[0] = '\0';
    if (in->terminal)
        return secret_from_terminal(in, prompt, buf, cap);

    char *line = NULL;
    input_result_t result = input_line(in, prompt, false, &line);
    if (result != INPUT_OK)
        return result;
    size_t len = strlen(line);
    if (len + 1 > cap) {
        result = INPUT_TOO_LONG;
    } else {
        memcpy(buf, line, len + 1);
    }
    explicit_bzero(line, len);
    free(line);
    return result;
}
