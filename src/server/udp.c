/* udp: batch receive, answer and batch send on one worker's UDP socket. */
#include "server/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/log.h"

#define UDP_BATCH 32
#define UDP_PAYLOAD_MAX 1200     /* never IP-fragmented */
#define UDP_BATCHES_PER_WAKEUP 8 /* then let TCP connections run */

struct udp_endpoint {
    int fd;
    struct event *ev;
    unsigned char in[UDP_BATCH][UDP_PAYLOAD_MAX + 1];
    struct sockaddr_storage from[UDP_BATCH];
    struct iovec in_iov[UDP_BATCH];
    struct mmsghdr in_msg[UDP_BATCH];
    struct iovec out_iov[UDP_BATCH];
    struct mmsghdr out_msg[UDP_BATCH];
};

static const char PONG[] = "OK PONG";

/* True for a datagram that is exactly "PING", optionally followed by LF or CR LF. */
static int is_ping(const unsigned char *p, size_t len)
{
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    return len == 4 && memcmp(p, "PING", 4) == 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    udp_endpoint_t *u = arg;
    for (int round = 0; round < UDP_BATCHES_PER_WAKEUP; round++) {
        for (int i = 0; i < UDP_BATCH; i++) {
            u->in_iov[i] = (struct iovec){.iov_base = u->in[i], .iov_len = sizeof u->in[i]};
            u->in_msg[i].msg_hdr = (struct msghdr){
                .msg_name = &u->from[i], .msg_namelen = sizeof u->from[i],
                .msg_iov = &u->in_iov[i], .msg_iovlen = 1,
            };
        }
        int n = recvmmsg(fd, u->in_msg, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("udp receive: %s", strerror(errno));
            return;
        }
        int replies = 0;
        for (int i = 0; i < n; i++) {
            /* MSG_TRUNC in msg_flags: larger than any valid datagram; dropped. */
            if ((u->in_msg[i].msg_hdr.msg_flags & MSG_TRUNC) || !is_ping(u->in[i], u->in_msg[i].msg_len))
                continue;
            u->out_iov[replies] = (struct iovec){.iov_base = (void *)PONG, .iov_len = sizeof PONG - 1};
            u->out_msg[replies].msg_hdr = (struct msghdr){
                .msg_name = &u->from[i], .msg_namelen = u->in_msg[i].msg_hdr.msg_namelen,
                .msg_iov = &u->out_iov[replies], .msg_iovlen = 1,
            };
            replies++;
        }
        if (replies && sendmmsg(fd, u->out_msg, (unsigned)replies, MSG_DONTWAIT) < 0 && errno != EAGAIN)
            log_warn("udp send: %s", strerror(errno));
        if (n < UDP_BATCH)
            return;
    }
}

udp_endpoint_t *udp_endpoint_new(struct event_base *base, int fd)
{
    udp_endpoint_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->fd = fd;
    u->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, u);
    if (!u->ev || event_add(u->ev, NULL) < 0) {
        if (u->ev)
            event_free(u->ev);
        free(u);
        return NULL;
    }
    return u;
}

void udp_endpoint_free(udp_endpoint_t *u)
{
    if (!u)
        return;
    event_free(u->ev);
    close(u->fd);
    free(u);
}
