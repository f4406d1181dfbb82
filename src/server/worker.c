/* worker: a network thread's life — loop, listener, UDP socket and draining. */
#include "server/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "server/conn.h"
#include "server/log.h"
#include "server/session_map.h"
#include "server/udp.h"

#define DRAIN_GRACE_SECS 5

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    conn_accept(arg, fd, sa, salen);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: keep serving the connections we have; the listener retries. */
    log_warn("accept failed: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void maybe_exit(worker_t *w)
{
    if (w->draining && w->nconns == 0 && w->pending_jobs == 0)
        event_base_loopbreak(w->base);
}

void worker_conn_gone(worker_t *w)
{
    maybe_exit(w);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_sweep(arg);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    worker_t *w = arg;
    log_warn("worker %d: closing %zu connections that did not finish in time", w->index, w->nconns);
    conn_kill_all(w);
    maybe_exit(w); /* otherwise the loop ends when the last outcome has come back */
}

typedef struct {
    mailbox_msg_t msg;
    worker_t *w;
} stop_msg_t;

static void deliver_stop(mailbox_msg_t *msg)
{
    worker_t *w = ((stop_msg_t *)msg)->w;
    free(msg);
    if (w->draining)
        return;
    w->draining = true;
    evconnlistener_disable(w->listener);
    udp_endpoint_free(w->udp);
    w->udp = NULL;
    conn_drain_all(w);
    struct timeval grace = {.tv_sec = DRAIN_GRACE_SECS};
    event_add(w->drain_timer, &grace);
    maybe_exit(w);
}

void worker_request_stop(worker_t *w)
{
    stop_msg_t *m = calloc(1, sizeof *m);
    if (!m)
        log_fatal("out of memory stopping worker %d", w->index);
    m->msg.deliver = deliver_stop;
    m->w = w;
    mailbox_post(w->mailbox, &m->msg);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

worker_t *worker_new(server_t *srv, int index, int tcp_fd, int udp_fd, char *err, size_t errlen)
{
    worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        close(tcp_fd);
        close(udp_fd);
        return NULL;
    }
    atomic_init(&w->steered_waiting, 0);
    atomic_init(&w->output_pending, 0);
    w->index = index;
    w->srv = srv;
    w->base = event_base_new();
    if (!w->base)
        goto fail_fds;
    w->listener = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, tcp_fd);
    if (!w->listener)
        goto fail_fds;
    evconnlistener_set_error_cb(w->listener, on_accept_error);
    w->udp = udp_endpoint_new(w, udp_fd);
    if (!w->udp) {
        close(udp_fd);
        goto fail;
    }
    w->mailbox = mailbox_new(w->base);
    w->drain_timer = evtimer_new(w->base, on_drain_timeout, w);
    w->watchdog = event_new(w->base, -1, EV_PERSIST, on_watchdog, w);
    w->sessions = session_map_new();
    struct timeval second = {.tv_sec = 1};
    if (!w->mailbox || !w->drain_timer || !w->watchdog || !w->sessions || event_add(w->watchdog, &second) != 0)
        goto fail;
    return w;
fail_fds:
    if (!w->listener)
        close(tcp_fd);
    close(udp_fd);
fail:
    snprintf(err, errlen, "cannot set up worker %d's event loop", index);
    worker_free(w);
    return NULL;
}

int worker_start(worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", w->index);
    pthread_setname_np(w->thread, name); /* for top -H, perf and gdb */
    w->started = true;
    return 0;
}

void worker_join(worker_t *w)
{
    if (w && w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void worker_free(worker_t *w)
{
    if (!w)
        return;
    worker_join(w);
    conn_kill_all(w);
    if (w->listener)
        evconnlistener_free(w->listener);
    udp_endpoint_free(w->udp);
    w->udp = NULL; /* datagrams still in the mailbox see the socket is gone */
    mailbox_free(w->mailbox);
    if (w->drain_timer)
        event_free(w->drain_timer);
    if (w->watchdog)
        event_free(w->watchdog);
    session_map_free(w->sessions);
    if (w->base)
        event_base_free(w->base);
    free(w);
}
