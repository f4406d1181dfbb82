/* worker: one load thread — its own epoll loop over its share of the connections, the run's
 * timeline (warm-up, measurement, drain), its counters and the orders its purchases went into.
 * The connection record (bconn_t) lives here too: the loop owns the records, modes.c drives them. */
#ifndef NETSHOP_BENCH_WORKER_H
#define NETSHOP_BENCH_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/bench.h"
#include "bench/tls_conn.h"
#include "bench/udp_conn.h"

typedef struct worker worker_t;
typedef struct bconn bconn_t;

/* What an epoll registration points at: a connection's TLS or UDP socket. */
typedef struct {
    bconn_t *c;
    bool udp;
} bench_watch_t;

/* What a TLS request in flight was, so its reply can be accounted when it arrives (in order). */
typedef enum {
    RQ_LOGIN,         /* a session's LOGIN (set-up, not measured) */
    RQ_LOGOUT,        /* not measured */
    RQ_BUY,           /* measured */
    RQ_BROWSE,        /* measured */
    RQ_LOGIN_OP,      /* login mode: the measured LOGIN */
    RQ_FALLBACK_BUY,  /* udp-buy: a UDP BUY finished over TLS (measured from the first datagram) */
    RQ_QUIT,
} rq_kind_t;

typedef struct {
    rq_kind_t kind;
    int64_t start_ns;
    int item;         /* BUY: index into run->items */
    int slot;         /* FALLBACK_BUY: the UDP slot */
} bench_pending_t;

typedef enum {
    BC_DOWN = 0,      /* no connection; reconnects at retry_at_ns while the run goes on */
    BC_CONNECTING,    /* TCP, TLS handshake, greeting */
    BC_LOGIN,         /* LOGIN sent (first, or after LOGOUT for a new order) */
    BC_PROBE,         /* udp-browse: asking for an address token before the load starts */
    BC_RUNNING,       /* sending requests */
    BC_DONE,          /* given up (login refused) or finished */
} bconn_phase_t;

struct bconn {
    worker_t *w;
    int id;                       /* 0 .. connections-1 over the whole run */
    int user;                     /* index into the options' users */
    bconn_phase_t phase;
    tls_conn_t tls;
    bool tls_watched;             /* its fd is in the epoll set */
    uint32_t tls_events;          /* the events it is registered for */
    bench_watch_t tls_watch;
    bool has_udp;
    udp_conn_t udp;
    bool udp_watched;
    bench_watch_t udp_watch;
    bench_pending_t *fifo;        /* TLS requests in flight, oldest first (ring) */
    int fifo_cap, fifo_head, fifo_len;
    int in_flight;                /* measured operations in flight (TLS and UDP) */
    int session_lines;            /* OK BUYs in the current session: its order's lines. A BUY is
                                   * sent only while lines + BUYs in flight < --order-lines */
    uint64_t session_id;
    int64_t order_id;             /* the current session's order, 0 before its first OK BUY */
    int64_t reply_order_id;       /* from the data line of the BUY reply being read */
    uint64_t cursor;              /* next item or category, round-robin */
    uint64_t seq;                 /* BUY request ids over TLS */
    int64_t op_start_ns;          /* handshake mode: when this attempt began */
    int64_t retry_at_ns;          /* DOWN: when to reconnect */
    int backoff_ms;
    int probe_slot;               /* udp-browse: the slot of the token probe, -1 when none */
    int64_t next_probe_ns;        /* udp-browse: when to ask for a fresh token */
    bool ready_counted;           /* told the run it is set up */
};

struct worker {
    bench_run_t *run;
    int index;
    pthread_t thread;
    int epfd;
    bconn_t *conns;
    int nconns;
    int ninit;                    /* connection records set up (worker_free frees these) */
    udp_aead_t *aead;             /* this thread's sealing context */
    bench_stats_t stats;
    bench_orders_t orders;
    bool draining;                /* past the end: no new requests, waiting for replies */
    int64_t drain_deadline_ns;
    bool failed;                  /* could not run at all (epoll, memory) */
};

/* Prepares worker index (connections first_conn .. first_conn + nconns - 1). Returns false when
 * out of memory. */
bool worker_init(worker_t *w, bench_run_t *run, int index, int first_conn, int nconns);
/* Starts the thread. Returns false when it cannot. */
bool worker_start(worker_t *w);
/* Waits for the thread to finish its run. */
void worker_join(worker_t *w);
void worker_free(worker_t *w);

/* Brings the epoll registration of c's sockets in line with what they wait for. */
void worker_sync_watch(worker_t *w, bconn_t *c);
/* Forgets c's TLS registration (its socket was closed). */
void worker_tls_closed(bconn_t *c);

/* True while new requests may be sent (before the end of the measurement). */
bool worker_running(const worker_t *w, int64_t now_ns);
/* True when now is inside the measured window. */
bool worker_measuring(const worker_t *w, int64_t now_ns);

#endif
