/* shop1: the SHOP/1 command language — parsing one request line into a typed request,
 * building reply lines, and (for clients) classifying reply lines. docs/PROTOCOL.md is the
 * specification. Pure: works on caller-owned buffers, never sees a socket. */
#ifndef NETSHOP_SHOP1_H
#define NETSHOP_SHOP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"

#define SHOP1_LINE_MAX 1024      /* bytes of a request line including its LF (and CR) */
#define SHOP1_USER_MAX 32        /* bytes of a user name: [A-Za-z0-9._-], first not '-' */
#define SHOP1_PASSWORD_MAX 256   /* bytes of a password (any UTF-8 without spaces/controls) */
#define SHOP1_ERRTEXT_MAX 160    /* bytes of the human text of a parse error */
#define SHOP1_VERSION "SHOP/1"

typedef enum {
    SHOP1_LOGIN,
    SHOP1_LOGOUT,
    SHOP1_QUIT,
    SHOP1_PING,
    SHOP1_HELP,
    SHOP1_CATEGORIES,
    SHOP1_BROWSE,
    SHOP1_ITEM,
    SHOP1_BUY,
    SHOP1_RECEIPT,
    SHOP1_ORDERS,
    SHOP1_VERB_COUNT
} shop1_verb_t;

/* Error codes of `ERR <CODE> <text>`; the names are the wire words. */
typedef enum {
    SHOP1_OK = 0,
    SHOP1_ERR_BAD_REQUEST,        /* malformed line or arguments */
    SHOP1_ERR_UNKNOWN_COMMAND,    /* verb not in the language */
    SHOP1_ERR_AUTH_REQUIRED,      /* command needs LOGIN first */
    SHOP1_ERR_AUTH_FAILED,        /* wrong user name or password */
    SHOP1_ERR_RATE_LIMITED,       /* too many failed logins; retry later */
    SHOP1_ERR_ALREADY_LOGGED_IN,  /* LOGIN while logged in */
    SHOP1_ERR_NO_SUCH_ITEM,       /* no item with that sno */
    SHOP1_ERR_NO_SUCH_CATEGORY,   /* no category with that number or name */
    SHOP1_ERR_NO_SUCH_ORDER,      /* no order with that id for this user */
    SHOP1_ERR_BAD_QUANTITY,       /* quantity not an integer in 1..ORDER_QTY_MAX */
    SHOP1_ERR_INSUFFICIENT_STOCK, /* fewer units in stock than asked */
    SHOP1_ERR_CONFLICT,           /* request id reused with different arguments */
    SHOP1_ERR_LIMIT,              /* an order or account limit reached */
    SHOP1_ERR_TOO_LONG,           /* request line over SHOP1_LINE_MAX */
    SHOP1_ERR_BUSY,               /* server overloaded; retry later */
    SHOP1_ERR_TIMEOUT,            /* idle or handshake timeout (then the server closes) */
    SHOP1_ERR_INTERNAL,           /* server-side failure; nothing was changed */
    SHOP1_ERR_FORBIDDEN,          /* an administrator's command, asked by a customer */
    SHOP1_ERR_ORDER_STATE,        /* the order's state does not allow it (CANCEL a cancelled one) */
    SHOP1_ERROR_COUNT
} shop1_error_t;

/* The wire word of an error code ("BAD_REQUEST"); "INTERNAL" for out-of-range values. */
const char *shop1_error_name(shop1_error_t code);
/* The code for a wire word, or SHOP1_ERROR_COUNT when unknown. */
shop1_error_t shop1_error_from_name(const char *name, size_t len);
/* The wire word of a verb ("BUY"); "UNKNOWN" for out-of-range values. */
const char *shop1_verb_name(shop1_verb_t verb);

/* --- The command table: what the protocol says of each verb (docs/PROTOCOL.md §3, §4, §7).
 * One row per verb in shop1.c is the only place these facts are written; the parser (names,
 * arity, usage), the server's HELP, its login check, the UDP rules and the page cache read
 * them from here. The server keeps only what each verb does (commands.c, one handler per
 * verb). To add a verb: its enum value above, its row in shop1.c, its handler in commands.c. */

/* Flags of a verb (shop1_verb_info_t.flags). */
typedef enum {
    SHOP1_VERB_LOGIN = 1u << 0,     /* needs a login, else ERR AUTH_REQUIRED (§3) */
    SHOP1_VERB_TLS_ONLY = 1u << 1,  /* refused in datagrams: "not available over UDP" (§7.3) */
    SHOP1_VERB_ANON_UDP = 1u << 2,  /* allowed in anonymous datagrams (§7.2) */
    SHOP1_VERB_CACHEABLE = 1u << 3, /* its anonymous reply shows only the frozen catalog and the
                                       stock: a server may keep it while that stock is current */
    SHOP1_VERB_WRITE = 1u << 4,     /* a purchase: changes stock and orders; its reply is one
                                       outcome, never paged (a datagram asking page > 0 is refused) */
    SHOP1_VERB_ADMIN = 1u << 5,     /* reserved for operator verbs; no verb has it yet */
} shop1_verb_flag_t;

/* Arity of a verb whose one argument is the rest of the line (BROWSE's category). */
#define SHOP1_ARGS_REST SIZE_MAX

/* One row of the command table. Static storage: valid for the life of the program. */
typedef struct {
    shop1_verb_t verb;
    const char *name;        /* the wire word, upper case ("BUY"); matched ignoring case */
    const char *usage;       /* the text of ERR BAD_REQUEST for a wrong argument count */
    size_t min_args;         /* argument count allowed: min_args..max_args */
    size_t max_args;         /* SHOP1_ARGS_REST: one argument, the rest of the line */
    const char *help_args;   /* HELP's second field ("<sno> <qty> [<request-id>]"; may be "") */
    const char *help_text;   /* HELP's third field: what the verb does */
    unsigned flags;          /* shop1_verb_flag_t bits */
} shop1_verb_info_t;

/* The row of a verb, or NULL for out-of-range values (SHOP1_VERB_COUNT included). */
const shop1_verb_info_t *shop1_verb_info(shop1_verb_t verb);
/* True when the verb's row has every bit of flags; false for out-of-range verbs. */
bool shop1_verb_has(shop1_verb_t verb, unsigned flags);

/* Room for shop1_verb_list of any set of verbs: every name with its separator, and the NUL. */
#define SHOP1_VERB_LIST_MAX 160
/* Writes the names of the verbs having every bit of flags, in table order, as an English list
 * ("PING, CATEGORIES, BROWSE and ITEM"; "" when none) into out[0..cap), NUL-terminated and cut
 * to fit. Returns how many verbs have those flags. */
size_t shop1_verb_list(unsigned flags, char *out, size_t cap);

/* One parsed request. String members point into the line buffer given to shop1_parse_request
 * (which is modified in place) and live as long as it does. */
typedef struct {
    shop1_verb_t verb;
    const char *user;        /* LOGIN */
    const char *password;    /* LOGIN */
    const char *category;    /* BROWSE: the rest of the line, single spaces kept ("house-hold items") */
    int sno;                 /* ITEM, BUY */
    int64_t qty;             /* BUY */
    const char *request_id;  /* BUY: NULL when absent */
    int64_t order_id;        /* RECEIPT: 0 when absent (the session's order) */
} shop1_request_t;

typedef struct {
    shop1_error_t code;
    char text[SHOP1_ERRTEXT_MAX]; /* human text; bad values quoted with unprintables escaped */
} shop1_parse_error_t;

/* Parses one request line. line[0..len) is the line WITHOUT its LF; a trailing CR is ignored.
 * The buffer must have room for line[len] (it is overwritten with NUL) and is tokenised in place.
 * Rejects NUL bytes and invalid UTF-8 (BAD_REQUEST), empty lines (BAD_REQUEST), unknown verbs
 * (UNKNOWN_COMMAND), wrong argument counts and malformed arguments (BAD_REQUEST; a quantity that
 * is not an integer in 1..ORDER_QTY_MAX is BAD_QUANTITY; a malformed request id BAD_REQUEST).
 * Verbs are case-insensitive; arguments are separated by one or more spaces or tabs.
 * Returns SHOP1_OK and fills *req, or an error code and fills *err. */
shop1_error_t shop1_parse_request(char *line, size_t len, shop1_request_t *req,
                                  shop1_parse_error_t *err);

/* --- Reply building. A growable byte buffer that owns its memory. --- */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; the contents are incomplete */
} shop1_buf_t;

void shop1_buf_init(shop1_buf_t *b);
void shop1_buf_free(shop1_buf_t *b);
void shop1_buf_reset(shop1_buf_t *b); /* len = 0, keeps the memory */

/* A data row: "* " then the fields joined by TAB, then LF. Field text is sanitised: TAB, CR, LF
 * and every other control character (C0, DEL, C1 U+0080..U+009F) becomes a space, and each
 * byte that is not well-formed UTF-8 a '?', so a reply is always UTF-8 a terminal can show
 * as it is. Usage:
 *   shop1_row_begin(b); shop1_row_int(b, 101); shop1_row_str(b, "phone"); ...; shop1_row_end(b); */
void shop1_row_begin(shop1_buf_t *b);
void shop1_row_str(shop1_buf_t *b, const char *s);
void shop1_row_int(shop1_buf_t *b, int64_t v);
void shop1_row_money(shop1_buf_t *b, money_t v, int minor_digits);
void shop1_row_end(shop1_buf_t *b);

/* The final "OK <text>" line (text printf-style, sanitised like a row's fields). */
void shop1_ok(shop1_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The final "ERR <CODE> <text>" line. */
void shop1_err(shop1_buf_t *b, shop1_error_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- Reply reading, for clients. --- */
#define SHOP1_FIELDS_MAX 16

typedef enum {
    SHOP1_LINE_DATA,    /* "* f1\tf2..." */
    SHOP1_LINE_OK,      /* "OK ..." (or "OK" alone) */
    SHOP1_LINE_ERR,     /* "ERR CODE text" */
    SHOP1_LINE_INVALID, /* anything else */
} shop1_line_kind_t;

typedef struct {
    shop1_line_kind_t kind;
    size_t nfields;                           /* DATA: number of fields */
    const char *fields[SHOP1_FIELDS_MAX];     /* DATA: the fields (NUL-terminated in place) */
    shop1_error_t code;                       /* ERR: the code (SHOP1_ERROR_COUNT if unknown) */
    const char *code_name;                    /* ERR: the code word as sent */
    const char *text;                         /* OK/ERR: the text after the word(s), "" if none */
} shop1_reply_line_t;

/* Classifies and splits one reply line (without LF; a trailing CR is ignored), in place.
 * Like shop1_parse_request, it writes line[len]: the buffer needs that one spare byte. */
shop1_line_kind_t shop1_parse_reply_line(char *line, size_t len, shop1_reply_line_t *out);

#endif
