/* conn_common: what the client's transports (TLS in client_conn, UDP in udp_conn) share — the
 * status and error of a network operation, the reply being assembled from received lines (rows +
 * final line, whatever carried them), quoting server text in messages, and the host-name form
 * the transports accept. No I/O. */
#ifndef NETSHOP_CONN_COMMON_H
#define NETSHOP_CONN_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/shop1.h"

#define CONN_REPLY_LINE_MAX (64 * 1024)         /* bytes of one reply line, LF included */
#define CONN_REPLY_BYTES_MAX (16 * 1024 * 1024) /* bytes of one whole reply */
#define CONN_MESSAGE_MAX 384
#define CONN_HOST_MAX 255                       /* bytes of a host name (DNS limit) */
#define CONN_PORT_MAX 15
#define CONN_QUOTE_MAX 80                       /* bytes of server text quoted in a message */
#define CONN_QUOTED_SIZE (4 * CONN_QUOTE_MAX + 4) /* buffer size for conn_quote's output */

typedef enum {
    CONN_OK = 0,
    CONN_ERR_RESOLVE,   /* the host name does not resolve */
    CONN_ERR_CONNECT,   /* no address accepted the connection (refused, unreachable...) */
    CONN_ERR_TIMEOUT,   /* connect, handshake or reply took longer than allowed */
    CONN_ERR_CA,        /* the CA file is missing, unreadable or holds no certificate */
    CONN_ERR_CERT,      /* the server's certificate did not verify (chain or host name) */
    CONN_ERR_TLS,       /* another TLS failure (handshake, protocol version...) */
    CONN_ERR_BUSY,      /* the server greeted with ERR BUSY: at its connection limit */
    CONN_ERR_CLOSED,    /* the server closed the connection (or reset it) */
    CONN_ERR_PROTOCOL,  /* the server sent something that is not SHOP/1 */
    CONN_ERR_REQUEST,   /* the request line itself is not sendable (too long, CR/LF inside) */
    CONN_ERR_NOMEM,
} conn_status_t;

typedef struct {
    conn_status_t status;
    char message[CONN_MESSAGE_MAX]; /* "cannot connect to localhost port 5555: ..." */
} conn_error_t;

/* Records status and a printf-style message in *err (cut to fit, never overflowing). */
void conn_error_set(conn_error_t *err, conn_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies s[0..len) into out for an error message: printable ASCII as is, other bytes as \xNN,
 * cut with "..." past CONN_QUOTE_MAX bytes. out must hold CONN_QUOTED_SIZE bytes. */
void conn_quote(const char *s, size_t len, char out[static CONN_QUOTED_SIZE]);

/* One complete reply: its data rows (parsed in place, fields NUL-terminated) and the final OK
 * or ERR line. The reply owns the text its fields point into; free with conn_reply_free. A
 * reply received in several UDP pages holds every page's rows and the last page's final line,
 * exactly as the same reply over TLS. */
typedef struct {
    size_t nrows;
    shop1_reply_line_t *rows;  /* kind SHOP1_LINE_DATA */
    shop1_reply_line_t final;  /* kind SHOP1_LINE_OK or SHOP1_LINE_ERR */
    char **texts;              /* private: the owned line buffers */
    size_t ntexts;
    size_t cap;
} conn_reply_t;

void conn_reply_init(conn_reply_t *r);
/* Frees what the reply holds and leaves it empty (initialised). */
void conn_reply_free(conn_reply_t *r);

/* Adds one received line line[0..len) (without its LF) to the reply: keeps a copy, classifies
 * it, appends a data line to the rows or makes an OK/ERR line the final line (replacing any
 * earlier final line). Returns the line's kind; SHOP1_LINE_INVALID lines are kept but not
 * used. *nomem is set when memory ran out (then nothing was added). */
shop1_line_kind_t conn_reply_add_line(conn_reply_t *r, const char *line, size_t len, bool *nomem);

/* Normalises a host as given on the command line: "[::1]" becomes "::1". Writes it into
 * out[0..CONN_HOST_MAX]; false when it is empty or too long. */
bool conn_host_normalise(const char *host, char out[static CONN_HOST_MAX + 1]);

#endif
