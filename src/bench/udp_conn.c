/* udp_conn: the bench's SHOP/1 datagram client (see udp_conn.h for the slot states): building,
 * sealing and sending requests, matching and opening replies, address tokens, retransmission. */
#include "bench/udp_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define BACKOFF_SHIFT_MAX 6        /* the timeout doubles at most 6 times (x64) */
#define TOKEN_TOO_OLD_NS (60LL * 1000000000LL) /* past this a token may have expired */

bool udp_conn_init(udp_conn_t *u, int nslots, int timeout_ms, int retries)
{
    memset(u, 0, sizeof *u);
    u->fd = -1;
    u->slots = calloc((size_t)nslots, sizeof *u->slots);
    if (u->slots == NULL)
        return false;
    u->nslots = nslots;
    u->timeout_ns = (int64_t)timeout_ms * 1000000;
    u->retries = retries;
    /* Request ids must not repeat across runs for the same user (a repeated id returns the
     * first outcome and buys nothing): start at a random point. */
    uint64_t start = 0;
    if (getrandom(&start, sizeof start, 0) != (ssize_t)sizeof start) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        start = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)u;
    }
    u->next_request_id = start | 1;
    return true;
}

void udp_conn_close(udp_conn_t *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

void udp_conn_destroy(udp_conn_t *u)
{
    udp_conn_close(u);
    OPENSSL_cleanse(&u->c2s, sizeof u->c2s);
    OPENSSL_cleanse(&u->s2c, sizeof u->s2c);
    free(u->slots);
    u->slots = NULL;
    u->nslots = 0;
}

bool udp_conn_open(udp_conn_t *u, const struct sockaddr *addr, socklen_t addrlen, char *err, size_t errlen)
{
    udp_conn_close(u);
    u->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) {
        snprintf(err, errlen, "cannot make a UDP socket: %s", strerror(errno));
        return false;
    }
    /* Connected: only the server's datagrams arrive, and send() needs no address. */
    if (connect(u->fd, addr, addrlen) != 0) {
        snprintf(err, errlen, "cannot connect a UDP socket: %s", strerror(errno));
        udp_conn_close(u);
        return false;
    }
    u->have_token = false;
    return true;
}

void udp_conn_set_session(udp_conn_t *u, uint64_t session_id, const uint8_t exported[static UDP_EXPORT_LEN])
{
    u->session_id = session_id;
    if (session_id != 0)
        udp_keys_from_export(exported, &u->c2s, &u->s2c);
    u->next_pn = 1;
    u->replay = (udp_replay_t){0};
}

/* Sends slot i once (new packet number when authenticated) and sets its next deadline. */
static void send_slot(udp_conn_t *u, udp_aead_t *aead, int i, int64_t now_ns)
{
    udp_slot_t *s = &u->slots[i];
    bool token = u->session_id == 0 && s->with_token && u->have_token;
    udp_header_t h = {
        .type = UDP_TYPE_REQUEST,
        .flags = token ? UDP_FLAG_TOKEN : 0,
        .page = s->page,
        .session_id = u->session_id,
        .packet_number = u->session_id != 0 ? u->next_pn++ : 0,
        .request_id = s->request_id,
    };
    uint8_t dgram[UDP_WIRE_DATAGRAM_MAX];
    size_t n = udp_wire_encode_header(&h, token ? u->token : NULL, dgram, sizeof dgram);
    int shift = s->tries < BACKOFF_SHIFT_MAX ? s->tries : BACKOFF_SHIFT_MAX;
    s->tries++;
    s->deadline_ns = now_ns + (u->timeout_ns << shift);
    if (n == 0)
        return;
    size_t total;
    if (u->session_id == 0) {
        if (n + s->text_len > sizeof dgram)
            return;
        memcpy(dgram + n, s->text, s->text_len);
        total = n + s->text_len;
    } else {
        if (n + s->text_len + UDP_WIRE_TAG_LEN > sizeof dgram)
            return;
        long sealed = udp_seal(aead, &u->c2s, h.packet_number, dgram, n, (const uint8_t *)s->text, s->text_len,
                               dgram + n);
        if (sealed < 0)
            return; /* treated as a lost datagram: retransmitted later */
        total = n + (size_t)sealed;
    }
    /* A full socket buffer or an ICMP error is a lost datagram: the timeout covers it. */
    (void)send(u->fd, dgram, total, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int udp_conn_submit(udp_conn_t *u, udp_aead_t *aead, const char *text, size_t len, int tag, bool with_token,
                    int64_t now_ns)
{
    if (len > UDP_CONN_TEXT_MAX || u->busy >= u->nslots)
        return -1;
    int i = 0;
    while (i < u->nslots && u->slots[i].state != UDP_SLOT_FREE)
        i++;
    if (i == u->nslots)
        return -1;
    udp_slot_t *s = &u->slots[i];
    *s = (udp_slot_t){.state = UDP_SLOT_SENT, .request_id = u->next_request_id++, .with_token = with_token,
                      .started_ns = now_ns, .tag = tag, .text_len = len};
    if (u->next_request_id == 0)
        u->next_request_id = 1;
    memcpy(s->text, text, len);
    u->busy++;
    send_slot(u, aead, i, now_ns);
    return i;
}

void udp_conn_next_page(udp_conn_t *u, udp_aead_t *aead, int i, uint16_t page, int64_t now_ns)
{
    udp_slot_t *s = &u->slots[i];
    s->page = page;
    s->request_id = u->next_request_id++;
    if (u->next_request_id == 0)
        u->next_request_id = 1;
    s->tries = 0;
    s->with_token = true;
    s->state = UDP_SLOT_SENT;
    send_slot(u, aead, i, now_ns);
}

void udp_conn_release(udp_conn_t *u, int i)
{
    if (u->slots[i].state != UDP_SLOT_FREE) {
        u->slots[i].state = UDP_SLOT_FREE;
        u->busy--;
    }
}

static int find_sent(const udp_conn_t *u, uint64_t request_id)
{
    for (int i = 0; i < u->nslots; i++)
        if (u->slots[i].state == UDP_SLOT_SENT && u->slots[i].request_id == request_id)
            return i;
    return -1;
}

/* Handles one received datagram. */
static void on_datagram(udp_conn_t *u, udp_aead_t *aead, uint8_t *buf, size_t len, int64_t now_ns,
                        udp_reply_fn on_reply, void *arg)
{
    udp_datagram_t d;
    if (udp_wire_decode(buf, len, &d) != UDP_WIRE_OK || d.hdr.session_id != u->session_id) {
        u->dropped++;
        return;
    }
    int i = find_sent(u, d.hdr.request_id);
    if (i < 0 || d.hdr.page != u->slots[i].page) {
        u->dropped++; /* late (answered, given up) or not ours */
        return;
    }
    if (d.hdr.type == UDP_TYPE_RETRY) {
        if (u->session_id != 0 || d.token == NULL) {
            u->dropped++;
            return;
        }
        memcpy(u->token, d.token, UDP_WIRE_TOKEN_LEN);
        u->have_token = true;
        u->token_ns = now_ns;
        u->slots[i].with_token = true;
        send_slot(u, aead, i, now_ns);
        return;
    }
    if (d.hdr.type != UDP_TYPE_REPLY) {
        u->dropped++;
        return;
    }
    char text[UDP_WIRE_DATAGRAM_MAX + 1];
    size_t tlen;
    if (u->session_id == 0) {
        memcpy(text, d.payload, d.payload_len);
        tlen = d.payload_len;
    } else {
        if (!udp_replay_check(&u->replay, d.hdr.packet_number)) {
            u->dropped++;
            return;
        }
        long plen = udp_open(aead, &u->s2c, d.hdr.packet_number, buf, d.aad_len, d.payload, d.payload_len,
                             (uint8_t *)text);
        if (plen < 0) {
            u->dropped++;
            return;
        }
        udp_replay_accept(&u->replay, d.hdr.packet_number);
        tlen = (size_t)plen;
    }
    text[tlen] = '\0';
    on_reply(arg, i, text, tlen, (d.hdr.flags & UDP_FLAG_MORE) != 0);
}

bool udp_conn_on_readable(udp_conn_t *u, udp_aead_t *aead, int64_t now_ns, udp_reply_fn on_reply, void *arg)
{
    uint8_t buf[UDP_WIRE_DATAGRAM_MAX + 1];
    for (;;) {
        ssize_t n = recv(u->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR || errno == ECONNREFUSED)
                continue; /* an ICMP error for an earlier datagram: the timeout covers it */
            return false;
        }
        if ((size_t)n > UDP_WIRE_DATAGRAM_MAX) {
            u->dropped++;
            continue;
        }
        on_datagram(u, aead, buf, (size_t)n, now_ns, on_reply, arg);
    }
}

void udp_conn_on_timer(udp_conn_t *u, udp_aead_t *aead, int64_t now_ns, udp_give_up_fn on_give_up, void *arg)
{
    if (u->busy == 0)
        return;
    for (int i = 0; i < u->nslots; i++) {
        udp_slot_t *s = &u->slots[i];
        if (s->state != UDP_SLOT_SENT || s->deadline_ns > now_ns)
            continue;
        if (s->tries > u->retries) {
            s->state = UDP_SLOT_PARKED;
            on_give_up(arg, i);
            continue;
        }
        /* An unanswered request with an old token: the token may have expired (the server drops
         * such requests silently); ask again without it, which brings a fresh one. */
        if (u->session_id == 0 && u->have_token && now_ns - u->token_ns > TOKEN_TOO_OLD_NS)
            u->have_token = false;
        u->retransmits++;
        send_slot(u, aead, i, now_ns);
    }
}

void udp_conn_buy_request_id(const udp_conn_t *u, int i, char out[static 21])
{
    snprintf(out, 21, "udp.%016llx", (unsigned long long)u->slots[i].request_id);
}
