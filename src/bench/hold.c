/* hold: set-up pacing, the HTTP exchange of --protocol http and the hold's start line. */
#include "bench/hold.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_HEAD_MAX 16384  /* bytes of status line and headers */

/* Connections of this thread being set up. Every call for a connection runs on its worker's
 * thread, so a thread-local count needs no lock. */
static _Thread_local int opening;

static atomic_bool announced;

static bool is_opening(bconn_phase_t p)
{
    return p == BC_CONNECTING || p == BC_LOGIN;
}

void hold_phase_changed(bconn_phase_t from, bconn_phase_t to)
{
    opening += (int)is_opening(to) - (int)is_opening(from);
}

bool hold_may_open(const bconn_t *c)
{
    int threads = c->w->run->opt->threads;
    return opening < (HOLD_OPENING_MAX + threads - 1) / threads;
}

bool hold_queue_http_request(bconn_t *c)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: netshop-bench\r\n\r\n",
                     c->w->run->opt->host);
    return n > 0 && (size_t)n < sizeof req && tc_queue(&c->tls, req, (size_t)n);
}

/* The value of header `name` in the header block head[0..len), or NULL; *vlen its length. */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *end = head + len;
    const char *line = memchr(head, '\n', len); /* skip the status line */
    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

hold_http_t hold_read_http_response(tls_conn_t *tc, char *msg, size_t cap)
{
    const char *head = tc->in + tc->in_off;
    size_t avail = tc->in_len - tc->in_off;
    const char *blank = memmem(head, avail, "\r\n\r\n", 4);
    if (blank == NULL) {
        if (avail > HTTP_HEAD_MAX) {
            snprintf(msg, cap, "no end of the HTTP headers in %d bytes", HTTP_HEAD_MAX);
            return HOLD_HTTP_BAD;
        }
        return HOLD_HTTP_PARTIAL;
    }
    size_t head_len = (size_t)(blank - head) + 4;
    int status = 0;
    if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 200 || status > 299) {
        const char *eol = memchr(head, '\r', head_len);
        snprintf(msg, cap, "HTTP response '%.*s'", (int)(eol ? eol - head : 40), head);
        return HOLD_HTTP_BAD;
    }
    size_t vlen = 0;
    const char *v = header_value(head, head_len, "Content-Length", &vlen);
    char num[24];
    char *numend;
    if (v == NULL || vlen == 0 || vlen >= sizeof num) {
        snprintf(msg, cap, "%s", "an HTTP response without a Content-Length");
        return HOLD_HTTP_BAD;
    }
    memcpy(num, v, vlen);
    num[vlen] = '\0';
    unsigned long long body = strtoull(num, &numend, 10);
    if (*numend != '\0' || body > TC_IN_MAX) {
        snprintf(msg, cap, "HTTP Content-Length '%s'", num);
        return HOLD_HTTP_BAD;
    }
    if (avail < head_len + body)
        return HOLD_HTTP_PARTIAL;
    tc->in_off += head_len + (size_t)body;
    return HOLD_HTTP_OK;
}

void hold_announce(bench_run_t *run, int64_t now_ns)
{
    if (atomic_load_explicit(&announced, memory_order_relaxed) || now_ns < bench_run_warm_end(run) ||
        atomic_exchange(&announced, true))
        return;
    double setup_s = (double)(atomic_load(&run->ready_ns) - run->t0_ns) / 1e9;
    fprintf(stderr, "netshop-bench: holding: set-up over after %.2f s; idle for %.1f s\n", setup_s,
            run->opt->duration_s);
}
