/* udp_conn: one client UDP socket with up to K requests in flight — SHOP/1 datagrams
 * (docs/PROTOCOL.md §7), or the bare framing of bench/udp's peers (udp_peer.h). Each request has
 * a slot: its text, page and request id; replies are matched to their slot by the request id,
 * whose low bits are the slot's index. Anonymous SHOP/1 requests carry the address token once the
 * server handed one out (a RETRY is answered at once by resending with the token); authenticated
 * ones are sealed with the session's keys and their replies opened and checked against a replay
 * window. Unanswered requests are retransmitted after a timeout that doubles each time, under the
 * same request id (SHOP/1: with a new packet number), until the retries run out and the caller
 * decides.
 *
 * Datagrams go out in batches: submitting, paging, RETRY answers and retransmissions only queue
 * the slot; udp_conn_flush sends the queue (the caller flushes at the end of every event and tick),
 * runs of equal-sized datagrams as one UDP GSO message each (the server still receives separate
 * datagrams). Replies come in with recvmmsg, a batch per system call.
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
#define UDP_CONN_SLOT_BITS 11           /* request id = sequence << SLOT_BITS | slot index */
#define UDP_CONN_SLOTS_MAX (1 << UDP_CONN_SLOT_BITS)
#define UDP_CONN_BATCH 64               /* datagrams per sendmmsg / recvmmsg */
#define UDP_TOKEN_REFRESH_NS (45LL * 1000000000LL) /* ask for a new token this often (valid >= 60 s) */

/* What the socket's datagrams speak. */
typedef enum {
    UDP_PROTO_SHOP1 = 0,   /* SHOP/1 datagrams */
    UDP_PROTO_ECHO,        /* bench/udp's echo server: the request id leads the request, echoed */
    UDP_PROTO_MEMCACHED,   /* memcached's UDP frames (request id, sequence, total, reserved) */
} udp_proto_t;

typedef enum {
    UDP_SLOT_FREE = 0,
    UDP_SLOT_SENT,     /* waiting for the reply; retransmitted on timeouts */
    UDP_SLOT_PARKED,   /* retries ran out; the caller handles it (e.g. over TLS) */
} udp_slot_state_t;

typedef struct {
    udp_slot_state_t state;
    bool queued;           /* in the send queue (sent at the next flush) */
    uint64_t request_id;
    uint16_t page;
    bool with_token;       /* send the token (false: ask for a fresh one) */
    int tries;             /* datagrams sent for this request id */
    int parts_seen;        /* peers: datagrams of the reply received so far */
    int parts;             /* peers: datagrams the reply came in (set before on_reply) */
    int64_t started_ns;    /* when the operation began (kept across pages) */
    int64_t deadline_ns;   /* next retransmission */
    int tag;               /* the caller's: which item, probe or not... */
    size_t text_len;
    char text[UDP_CONN_TEXT_MAX];
} udp_slot_t;

typedef struct {
    int fd;
    udp_proto_t proto;
    int nslots;
    udp_slot_t *slots;
    int busy;                       /* slots not FREE */
    int *free_slots;                /* stack of FREE slot indices */
    int nfree;
    int *send_queue;                /* slots to send at the next flush, in order */
    int nqueued;
    bool gso;                       /* send runs of equal-sized datagrams as one UDP GSO message */
    uint64_t next_sequence;         /* random start, +1 per request id */
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

/* Sets up a connection speaking proto with nslots (1..UDP_CONN_SLOTS_MAX) request slots, no socket
 * yet. Returns false when out of memory or nslots is out of range. */
bool udp_conn_init(udp_conn_t *u, udp_proto_t proto, int nslots, int timeout_ms, int retries);
void udp_conn_destroy(udp_conn_t *u);

/* Opens a non-blocking UDP socket connected to addr. Returns false with err filled. */
bool udp_conn_open(udp_conn_t *u, const struct sockaddr *addr, socklen_t addrlen, char *err, size_t errlen);

/* Uses the session's keys from now on (the 88 exported bytes of its TLS connection), with packet
 * numbers from 1 and a fresh replay window. session_id 0 goes back to anonymous. */
void udp_conn_set_session(udp_conn_t *u, uint64_t session_id, const uint8_t exported[static UDP_EXPORT_LEN]);

/* Starts a request for text (command without LF; peers: the payload after their header) in a free
 * slot and queues it. with_token false sends an anonymous request without the token (to get a fresh
 * one). Returns the slot index, or -1 when no slot is free or the text is too long. */
int udp_conn_submit(udp_conn_t *u, const char *text, size_t len, int tag, bool with_token, int64_t now_ns);
/* Asks for another page of the same command in slot i (a new request id), keeping its start time. */
void udp_conn_next_page(udp_conn_t *u, int i, uint16_t page, int64_t now_ns);
/* Frees slot i. */
void udp_conn_release(udp_conn_t *u, int i);
/* Sends every queued request (sealing SHOP/1 ones in sessions), UDP_CONN_BATCH per system call. A
 * datagram the socket refuses is lost: its timeout covers it. */
void udp_conn_flush(udp_conn_t *u, udp_aead_t *aead);

/* Called for each reply: slot index, the reply text (NUL-terminated, with one spare byte, owned
 * by udp_conn and valid during the call) and whether more pages follow (SHOP/1). Peers: called
 * once the reply's last datagram arrived, with that datagram's payload (slot.parts says how many
 * datagrams there were). */
typedef void (*udp_reply_fn)(void *arg, int slot, char *text, size_t len, bool more);
/* Called when slot's retries ran out; the slot is PARKED until released. */
typedef void (*udp_give_up_fn)(void *arg, int slot);

/* Receives every waiting datagram: replies to SENT slots go to on_reply; RETRY datagrams store
 * the token and queue the request again; anything else is dropped. What the replies queued is
 * flushed after each batch. Returns false on a socket error other than "nothing more". */
bool udp_conn_on_readable(udp_conn_t *u, udp_aead_t *aead, int64_t now_ns, udp_reply_fn on_reply, void *arg);
/* Queues SENT slots whose deadline passed again; calls on_give_up for those out of retries. */
void udp_conn_on_timer(udp_conn_t *u, int64_t now_ns, udp_give_up_fn on_give_up, void *arg);

/* The request id of slot i in the text form the server gives a UDP BUY: "udp.<16 hex digits>". */
void udp_conn_buy_request_id(const udp_conn_t *u, int i, char out[static 21]);

void udp_conn_close(udp_conn_t *u);

#endif
