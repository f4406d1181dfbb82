/* client_conn: one verified TLS connection to a netshopd, used like a blocking call: connect
 * (every address of the host, with a timeout), TLS 1.2+ verified against a CA file and the host
 * name, the `OK SHOP/1` greeting, then request line in, complete reply out. Each wait for the
 * network is bounded by the timeout; the connection never continues unverified. */
#ifndef NETSHOP_CLIENT_CONN_H
#define NETSHOP_CLIENT_CONN_H

#include <stddef.h>

#include "proto/shop1.h"

#define CONN_REPLY_LINE_MAX (64 * 1024)     /* bytes of one reply line, LF included */
#define CONN_REPLY_BYTES_MAX (16 * 1024 * 1024) /* bytes of one whole reply */
#define CONN_MESSAGE_MAX 384

typedef enum {
    CONN_OK = 0,
    CONN_ERR_RESOLVE,   /* the host name does not resolve */
    CONN_ERR_CONNECT,   /* no address accepted the TCP connection (refused, unreachable...) */
    CONN_ERR_TIMEOUT,   /* connect, handshake or reply took longer than the timeout */
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

typedef struct {
    const char *host;   /* name or IP literal ("::1" or "[::1]"); also the name verified */
    const char *port;   /* decimal port */
    const char *ca_file;
    int timeout_secs;   /* bound on each wait: connect, handshake, reply (>= 1) */
} conn_params_t;

typedef struct client_conn client_conn_t;

/* One complete reply: its data rows (parsed in place, fields NUL-terminated) and the final OK
 * or ERR line. The reply owns the text its fields point into; free with conn_reply_free. */
typedef struct {
    size_t nrows;
    shop1_reply_line_t *rows;  /* kind SHOP1_LINE_DATA */
    shop1_reply_line_t final;  /* kind SHOP1_LINE_OK or SHOP1_LINE_ERR */
    char **texts;              /* private: the owned line buffers */
    size_t ntexts;
    size_t cap;
} conn_reply_t;

void conn_reply_init(conn_reply_t *r);
void conn_reply_free(conn_reply_t *r);

/* Connects, verifies and reads the greeting. Returns the connection (free with conn_close),
 * or NULL with *err filled. */
client_conn_t *conn_open(const conn_params_t *params, conn_error_t *err);

/* Sends one request line (without LF; at most SHOP1_LINE_MAX - 1 bytes, no CR/LF) and reads its
 * whole reply into *reply (which must be initialised; its previous contents are freed).
 * Returns CONN_OK when a final OK or ERR line arrived — an ERR is a normal reply, except
 * `ERR TIMEOUT`, after which the server closes: that is CONN_ERR_CLOSED. On any other failure
 * the connection is unusable and *err says why. */
conn_status_t conn_request(client_conn_t *c, const char *line, conn_reply_t *reply,
                           conn_error_t *err);

/* Says goodbye when say_quit (QUIT, waiting briefly for `OK bye`), shuts TLS down, closes the
 * socket and frees everything. NULL is allowed. */
void conn_close(client_conn_t *c, bool say_quit);

#endif
