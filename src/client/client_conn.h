/* client_conn: one verified TLS connection to a netshopd, used like a blocking call: connect
 * (every address of the host, with a timeout), TLS 1.2+ verified against a CA file and the host
 * name, the `OK SHOP/1` greeting, then request line in, complete reply out. Each wait for the
 * network is bounded by the timeout; the connection never continues unverified. It implements
 * the transport interface (transport.h), and lends its TLS secrets to the UDP fast path through
 * the keying-material exporter. */
#ifndef NETSHOP_CLIENT_CONN_H
#define NETSHOP_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/conn_common.h"
#include "client/transport.h"

typedef struct {
    const char *host;   /* name or IP literal ("::1" or "[::1]"); also the name verified */
    const char *port;   /* decimal port */
    const char *ca_file;
    int timeout_secs;   /* bound on each wait: connect, handshake, reply (>= 1) */
} conn_params_t;

typedef struct client_conn client_conn_t;

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

/* The connection as a transport (conn_request behind the interface); lives as long as c. */
transport_t *conn_transport(client_conn_t *c);

/* Fills out[0..out_len) with keying material exported from this TLS connection (RFC 5705 /
 * RFC 8446 §7.5) for label and context (use_context = 1). Returns false when the connection is
 * broken or the export fails. The caller wipes out after use. */
bool conn_export_keying_material(client_conn_t *c, const char *label, const uint8_t *context,
                                 size_t context_len, uint8_t *out, size_t out_len);

/* The server's address as connected (the one address of the host that accepted the TCP
 * connection), for talking to the same server over UDP. Returns false when unknown. */
bool conn_peer_address(const client_conn_t *c, struct sockaddr_storage *addr, socklen_t *len);

/* True when the server sent something that no request asked for (bytes waiting in the socket
 * or already buffered): with SHOP/1 that means it is closing the connection (`ERR TIMEOUT`, or
 * the end of the stream). Never blocks. */
bool conn_has_input(const client_conn_t *c);

/* The host (as verified, brackets removed) and port, for messages; live as long as c. */
const char *conn_host(const client_conn_t *c);
const char *conn_port(const client_conn_t *c);

/* Says goodbye when say_quit (QUIT, waiting briefly for `OK bye`), shuts TLS down, closes the
 * socket and frees everything. NULL is allowed. */
void conn_close(client_conn_t *c, bool say_quit);

#endif
