/* transport: the one thing the client's commands need from the network — send a SHOP/1 request
 * line, get its complete reply (data rows + final line) — independent of what carries it. The
 * TLS connection (client_conn) and the UDP datagram channel (udp_conn) both implement it; the
 * session picks one per request and falls back from UDP to TLS. A reply looks the same whichever
 * transport brought it, so replies, views and JSON are shared. */
#ifndef NETSHOP_TRANSPORT_H
#define NETSHOP_TRANSPORT_H

#include "client/conn_common.h"

typedef struct transport transport_t;

typedef struct {
    /* Sends line (a SHOP/1 request without LF: 1..SHOP1_LINE_MAX - 1 bytes, no CR/LF) and
     * stores its whole reply in *reply (initialised; its previous contents are freed).
     * Returns CONN_OK when a final OK or ERR line arrived (an ERR is a normal reply), else the
     * failure with *err filled and *reply empty. */
    conn_status_t (*request)(transport_t *t, const char *line, conn_reply_t *reply,
                             conn_error_t *err);
} transport_ops_t;

/* Implementations embed a transport_t and point ops at their functions; the object that embeds
 * it owns it (the transport is never freed through this interface). */
struct transport {
    const transport_ops_t *ops;
};

static inline conn_status_t transport_request(transport_t *t, const char *line,
                                              conn_reply_t *reply, conn_error_t *err)
{
    return t->ops->request(t, line, reply, err);
}

#endif
