/* worker: one network thread — its own libevent loop, its own SO_REUSEPORT TCP listener and UDP
 * socket, and the connections it accepted (it never reads the store: see readers.h). Everything a
 * worker owns is touched only by its thread; other threads reach it through its mailbox. */
#ifndef NETSHOP_WORKER_H
#define NETSHOP_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/mailbox.h"
#include "server/server.h"

struct event_base;
struct evconnlistener;
struct conn;
struct udp_endpoint;

typedef struct worker {
    int index;
    server_t *srv;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct evconnlistener *listener;
    struct udp_endpoint *udp;
    mailbox_t *mailbox;
    struct session_map *sessions; /* logged-in sessions of this worker's connections, by id */
    struct conn *conns;        /* the connections this worker owns (list owned by conn.c) */
    size_t nconns;
    size_t pending_jobs;       /* LOGIN/BUY/read outcomes still to come back to this worker */
    bool draining;             /* stopping: no new connections, exit when conns is empty */
    struct event *drain_timer; /* forces the exit if connections do not finish in time */
    struct event *watchdog;    /* conn_sweep once a second */
    atomic_size_t output_pending; /* reply bytes waiting in this worker's connections (written by
                                     its thread only, read by all: conn.c's output budget) */
    atomic_size_t steered_waiting; /* datagrams other workers put in this mailbox, not yet
                                      handled (the one field other threads write; udp.c) */
} worker_t;

/* Makes a worker that will serve the already bound and listening tcp_fd and the bound udp_fd
 * (it takes ownership of both). NULL with err filled on failure. */
worker_t *worker_new(server_t *srv, int index, int tcp_fd, int udp_fd, char *err, size_t errlen);
/* Starts its thread. 0 or -1. */
int worker_start(worker_t *w);
/* Asks the worker (from any thread) to stop accepting, finish in-flight replies and exit. */
void worker_request_stop(worker_t *w);
/* Waits for the worker's thread to end. */
void worker_join(worker_t *w);
/* Frees a worker whose thread has ended or never started. Once any worker may forward datagrams
 * to another, free only after every worker has been joined. */
void worker_free(worker_t *w);

/* Called by conn.c when a connection goes away, so a draining worker can exit. */
void worker_conn_gone(worker_t *w);

#endif
