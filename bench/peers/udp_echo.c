/* udp-echo: the bare UDP request/reply server bench/udp measures netshop against — the most a
 * single-threaded UDP server can do on this machine. One thread, one socket on 127.0.0.1:PORT:
 * receive a batch of datagrams (recvmmsg), answer each with a REPLY_BYTES payload that starts with
 * the request's bytes (so the client finds its request id in it), send the batch (sendmmsg), and
 * sleep in ppoll only when nothing is waiting. SIGTERM or SIGINT: exits 0.
 *
 *   usage: udp-echo [--port N] [--reply-bytes N] [--batch N]
 *   prints "udp-echo: listening on 127.0.0.1 port N ..." on stderr once its socket is bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH_MAX 256
#define REPLY_BYTES_MAX 1200
#define REQUEST_BYTES_MAX 1500
#define SOCKET_BUFFER_BYTES (4 * 1024 * 1024)
#define BATCHES_PER_POLL 16   /* then ppoll, where a pending SIGTERM is delivered */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    int port;
    int reply_bytes;
    int batch;
} echo_options_t;

static void usage(FILE *out)
{
    fputs("usage: udp-echo [--port N] [--reply-bytes N] [--batch N]\n"
          "  --port N         UDP port on 127.0.0.1 (default 0: any free port, printed)\n"
          "  --reply-bytes N  payload of every reply (default 300, at most 1200)\n"
          "  --batch N        datagrams per recvmmsg/sendmmsg (default 64, at most 256)\n",
          out);
}

static bool parse_int(const char *name, const char *s, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "udp-echo: --%s wants an integer from %ld to %ld, not '%s'\n", name, min, max, s);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool parse_options(int argc, char **argv, echo_options_t *o)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"reply-bytes", required_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (echo_options_t){.port = 0, .reply_bytes = 300, .batch = 64};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!parse_int("port", optarg, 0, 65535, &o->port))
                return false;
            break;
        case 'r':
            if (!parse_int("reply-bytes", optarg, 1, REPLY_BYTES_MAX, &o->reply_bytes))
                return false;
            break;
        case 'b':
            if (!parse_int("batch", optarg, 1, BATCH_MAX, &o->batch))
                return false;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return false;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "udp-echo: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    return true;
}

/* A non-blocking UDP socket bound to 127.0.0.1:port, with large buffers. -1 on failure. */
static int open_socket(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("udp-echo: socket");
        return -1;
    }
    int size = SOCKET_BUFFER_BYTES;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "udp-echo: cannot bind 127.0.0.1 port %d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    return ntohs(addr.sin_port);
}

/* The receive and send batches: reply i goes to the source of request i. */
typedef struct {
    int batch;
    int reply_bytes;
    uint8_t in[BATCH_MAX][REQUEST_BYTES_MAX];
    uint8_t out[BATCH_MAX][REPLY_BYTES_MAX];
    struct sockaddr_storage from[BATCH_MAX];
    struct iovec in_iov[BATCH_MAX], out_iov[BATCH_MAX];
    struct mmsghdr in_msg[BATCH_MAX], out_msg[BATCH_MAX];
} echo_batch_t;

static void prepare_receive(echo_batch_t *b)
{
    for (int i = 0; i < b->batch; i++) {
        b->in_iov[i] = (struct iovec){.iov_base = b->in[i], .iov_len = sizeof b->in[i]};
        b->in_msg[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i], .msg_namelen = sizeof b->from[i],
                                               .msg_iov = &b->in_iov[i], .msg_iovlen = 1};
    }
}

/* Answers the n datagrams received: the reply starts with the request's bytes. */
static void answer(int fd, echo_batch_t *b, int n)
{
    size_t reply_bytes = (size_t)b->reply_bytes;
    for (int i = 0; i < n; i++) {
        size_t received = b->in_msg[i].msg_len;
        memcpy(b->out[i], b->in[i], received < reply_bytes ? received : reply_bytes);
        b->out_iov[i] = (struct iovec){.iov_base = b->out[i], .iov_len = reply_bytes};
        b->out_msg[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i],
                                                .msg_namelen = b->in_msg[i].msg_hdr.msg_namelen,
                                                .msg_iov = &b->out_iov[i], .msg_iovlen = 1};
    }
    /* A full socket buffer loses the rest of the batch; a reply the kernel refuses (its
     * destination) loses only itself. UDP may lose replies: the client retransmits. */
    int sent = 0;
    while (sent < n) {
        int k = sendmmsg(fd, b->out_msg + sent, (unsigned)(n - sent), MSG_DONTWAIT);
        if (k > 0)
            sent += k;
        else if (k < 0 && errno == EINTR)
            continue;
        else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            break;
        else
            sent++;
    }
}

/* Receives and answers until the socket is empty (or BATCHES_PER_POLL full batches). Returns
 * false on an unexpected error. */
static bool serve_waiting(int fd, echo_batch_t *b)
{
    for (int round = 0; round < BATCHES_PER_POLL; round++) {
        prepare_receive(b);
        int n = recvmmsg(fd, b->in_msg, (unsigned)b->batch, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return true;
            perror("udp-echo: recvmmsg");
            return false;
        }
        answer(fd, b, n);
        if (n < b->batch)
            return true;
    }
    return true;
}

int main(int argc, char **argv)
{
    echo_options_t o;
    if (!parse_options(argc, argv, &o))
        return 2;
    /* SIGTERM/SIGINT stay blocked except inside ppoll, so a stop request is never missed. */
    sigset_t stop_signals, during_wait;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_signals, &during_wait);
    sigdelset(&during_wait, SIGTERM);
    sigdelset(&during_wait, SIGINT);
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int fd = open_socket(o.port);
    if (fd < 0)
        return 1;
    echo_batch_t *b = calloc(1, sizeof *b);
    if (b == NULL) {
        fputs("udp-echo: out of memory\n", stderr);
        close(fd);
        return 1;
    }
    b->batch = o.batch;
    b->reply_bytes = o.reply_bytes;
    memset(b->out, 'x', sizeof b->out);
    fprintf(stderr, "udp-echo: listening on 127.0.0.1 port %d (%d-byte replies, batches of %d)\n", bound_port(fd),
            o.reply_bytes, o.batch);
    int status = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (!stop_requested) {
        if (!serve_waiting(fd, b)) {
            status = 1;
            break;
        }
        if (ppoll(&pfd, 1, NULL, &during_wait) < 0 && errno != EINTR) {
            perror("udp-echo: ppoll");
            status = 1;
            break;
        }
    }
    free(b);
    close(fd);
    return status;
}
