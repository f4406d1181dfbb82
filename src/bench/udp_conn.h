/* udp_conn: one client UDP socket speaking SHOP/1 datagrams (docs/PROTOCOL.md §7) with up to K
 * requests in flight. Each request has a slot: its command text, page and request id; replies are
 * matched by request id. Anonymous requests carry the address token once the server handed one
 * out (a RETRY is answered at once by resending with the token); authenticated requests are
 * sealed with the session's keys and their replies opened and checked against a replay window.
 * Unanswered requests are retransmitted after a timeout that doubles each time, under the same
 * request id with a new packet number, until the retries run out and the caller decides.
 *
 *   slot: FREE -> udp_conn_submit -> SENT -> reply: caller's on_reply -> (caller frees or re-pages)
 *                                       \-> timeouts: retransmit ... -> on_give_up -> PARKED
 */
#ifndef NETSHOP_BENCH_UDP_CONN_H
#define NETSHOP_BENCH_UDP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/udp_seal.h"
#include "proto/udp_wire.h"

#define UDP_CONN_TEXT_MAX 160           /* bytes of a request's command text */
#define UDP_TOKEN_REFRESH_NS (45LL * 1000000000LL) /* ask for a new token this often (valid >= 60 s) */

typedef enum {
    UDP_SLOT_FREE = 0,
    UDP_SLOT_SENT,     /* waiting for the reply; retransmitted on timeouts */
    UDP_SLOT_PARKED,   /* retries ran out; the caller handles it (e.g. over TLS) */
} udp_slot_state_t;

typedef struct {
    udp_slot_state_t state;
    uint64_t request_id;
    uint16_t page;
    bool with_token;       /* send the token (false: ask for a fresh one) */
    int tries;             /* datagrams sent for this request id */
    int64_t started_ns;    /* when the operation began (kept across pages) */
    int64_t deadline_ns;   /* next retransmission */
    int tag;               /* the caller's: which item, probe or not... */
    size_t text_len;
    char text[UDP_CONN_TEXT_MAX];
} udp_slot_t;

typedef struct {
    int fd;
    int nslots;
    udp_slot_t *slots;
    int busy;                       /* slots not FREE */
    uint64_t next_request_id;       /* random start, +1 per request (never 0) */
    /* authenticated session (session_id 0 = anonymous) */
    uint64_t session_id;
    udp_dir_keys_t c2s, s2c;
    uint64_t next_pn;
    udp_replay_t replay;
    /* address token (anonymous) */
    bool have_token;
    uint8_t token[UDP_WIRE_TOKEN_LEN];
    int64_t token_ns;
    /* retransmission */
    int64_t timeout_ns;
    int retries;
    uint64_t retransmits;           /* datagrams re-sent after a timeout */
    uint64_t dropped;               /* received datagrams that were not a valid reply of ours */
} udp_conn_t;

/* Sets up a connection with nslots request slots, no socket yet. Returns false when out of memory. */
bool udp_conn_init(udp_conn_t *u, int nslots, int timeout_ms, int retries);
void udp_conn_destroy(udp_conn_t *u);

/* Opens a non-blocking UDP socket connected to addr. Returns false with err filled. */
bool udp_conn_open(udp_conn_t *u, const struct sockaddr *addr, socklen_t addrlen, char *err, size_t errlen);

/* Uses the session's keys from now on (the 88 exported bytes of its TLS connection), with packet
 * numbers from 1 and a fresh replay window. session_id 0 goes back to anonymous. */
void udp_conn_set_session(udp_conn_t *u, uint64_t session_id, const uint8_t exported[static UDP_EXPORT_LEN]);

/* Starts a request for text (command without LF) in a free slot: sends it now. with_token false
 * sends an anonymous request without the token (to get a fresh one). Returns the slot index,
 * or -1 when no slot is free or the text is too long. */
int udp_conn_submit(udp_conn_t *u, udp_aead_t *aead, const char *text, size_t len, int tag, bool with_token,
                    int64_t now_ns);
/* Asks for another page of the same command in slot i (a new request id), keeping its start time. */
void udp_conn_next_page(udp_conn_t *u, udp_aead_t *aead, int i, uint16_t page, int64_t now_ns);
/* Frees slot i. */
void udp_conn_release(udp_conn_t *u, int i);

/* Called for each reply: slot index, the reply text (NUL-terminated, with one spare byte, owned
 * by udp_conn and valid during the call) and whether more pages follow. */
typedef void (*udp_reply_fn)(void *arg, int slot, char *text, size_t len, bool more);
/* Called when slot's retries ran out; the slot is PARKED until released. */
typedef void (*udp_give_up_fn)(void *arg, int slot);

/* Receives every waiting datagram: replies to SENT slots go to on_reply; RETRY datagrams
 * store the token and resend at once; anything else is dropped. Returns false on a socket error
 * other than "nothing more". */
bool udp_conn_on_readable(udp_conn_t *u, udp_aead_t *aead, int64_t now_ns, udp_reply_fn on_reply, void *arg);
/* Retransmits SENT slots whose deadline passed; calls on_give_up for those out of retries. */
void udp_conn_on_timer(udp_conn_t *u, udp_aead_t *aead, int64_t now_ns, udp_give_up_fn on_give_up, void *arg);

/* The request id of slot i in the text form the server gives a UDP BUY: "udp.<16 hex digits>". */
void udp_conn_buy_request_id(const udp_conn_t *u, int i, char out[static 21]);

void udp_conn_close(udp_conn_t *u);

#endif
