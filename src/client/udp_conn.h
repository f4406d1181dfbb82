/* udp_conn: the client's SHOP/1-over-UDP channel (docs/PROTOCOL.md §7), used like a blocking
 * call and implementing the transport interface: one request datagram per try, retransmitted
 * under the same request id with a new packet number and exponential backoff, replies matched
 * by request id and page and concatenated across pages, so that the caller gets the same reply
 * it would get over TLS. Two kinds:
 *   - session: sealed datagrams (ChaCha20-Poly1305, keys exported from the login's TLS
 *     connection), a replay window over the server's packet numbers;
 *   - anonymous: session id 0, plain text, no TLS at all (catalog reads only; nothing is
 *     verified), answering the server's RETRY with its address token. */
#ifndef NETSHOP_UDP_CONN_H
#define NETSHOP_UDP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/conn_common.h"
#include "client/transport.h"
#include "proto/udp_seal.h"

/* Retransmission: a datagram is sent up to UDP_CONN_TRIES times, waiting 200, 400, 800, 1600
 * and 1600 ms for a reply after each try (the wait doubles from UDP_CONN_FIRST_WAIT_MS, capped
 * at UDP_CONN_MAX_WAIT_MS): 4.6 s in all, cut shorter by a smaller --timeout. */
#define UDP_CONN_TRIES 5
#define UDP_CONN_FIRST_WAIT_MS 200
#define UDP_CONN_MAX_WAIT_MS 1600

typedef struct udp_conn udp_conn_t;

/* An anonymous channel to host:port ("[::1]" accepted): resolves the host, and moves on to its
 * next address when one refuses (ICMP port unreachable). Returns the channel (free with
 * udp_conn_close) or NULL with *err (CONN_ERR_RESOLVE, CONN_ERR_CONNECT, CONN_ERR_NOMEM). */
udp_conn_t *udp_conn_open_anonymous(const char *host, const char *port, int timeout_secs,
                                    conn_error_t *err);

/* A sealed channel for login session session_id (non-zero) to the server at addr (the address
 * the session's TLS connection reached). exported holds the UDP_EXPORT_LEN bytes exported from
 * that TLS connection; they are copied (the caller wipes its copy). host and port are for
 * messages only. Returns the channel or NULL with *err. */
udp_conn_t *udp_conn_open_session(const struct sockaddr_storage *addr, socklen_t addr_len,
                                  const char *host, const char *port, uint64_t session_id,
                                  const uint8_t exported[static UDP_EXPORT_LEN],
                                  int timeout_secs, conn_error_t *err);

/* The channel as a transport (udp_conn_request behind the interface); lives as long as u. */
transport_t *udp_conn_transport(udp_conn_t *u);

/* Sends line (1..SHOP1_LINE_MAX - 1 bytes, no CR/LF) and gathers its whole reply, page after
 * page, into *reply (initialised; previous contents freed). Each page is its own request with a
 * fresh random request id. Returns CONN_OK when the last page's final OK/ERR line arrived.
 * Failures (*reply then empty): CONN_ERR_TIMEOUT no answer after every try; CONN_ERR_CONNECT
 * the server's address refused datagrams (ICMP) or could not be sent to; CONN_ERR_PROTOCOL an
 * authentic reply that is not SHOP/1 text or breaks the paging rules; CONN_ERR_REQUEST an
 * unsendable line; CONN_ERR_NOMEM. Other datagrams (wrong session, request id or page, bad tag,
 * replayed packet numbers, malformed) are ignored while waiting. */
conn_status_t udp_conn_request(udp_conn_t *u, const char *line, conn_reply_t *reply,
                               conn_error_t *err);

/* The datagram request id of the first page of the most recent request (0 before any): a BUY
 * without its own request id is known to the server as "udp.<16 hex digits of it>". */
uint64_t udp_conn_last_request_id(const udp_conn_t *u);

/* Closes the socket, wipes the keys and frees everything. NULL is allowed. */
void udp_conn_close(udp_conn_t *u);

#endif
