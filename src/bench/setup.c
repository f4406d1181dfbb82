/* setup: the run's set-up and stock reads over the control connection (CATEGORIES, BROWSE, ITEM). */
#include "bench/setup.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STOCK_READS_MAX 50
#define STOCK_READ_PAUSE_MS 50
#define CATEGORIES_MAX 100000

typedef struct {
    int number;
    long items;
} category_t;

typedef struct {
    category_t *v;
    size_t n, cap;
    bool failed;
} categories_t;

typedef struct {
    bench_item_t *v;
    size_t n, cap;
    bool failed;
} items_t;

static bool parse_long_field(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_i64_field(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 0)
        return false;
    *out = (int64_t)v;
    return true;
}

bool setup_connect(bench_run_t *run, control_t *ctl, char *err, size_t errlen)
{
    const bench_options_t *o = run->opt;
    const char *host = o->host;
    char bare[256];
    /* "[::1]" names an IPv6 literal; resolve and verify it without the brackets. */
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof bare) {
        memcpy(bare, host + 1, hl - 2);
        bare[hl - 2] = '\0';
        host = bare;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host, o->port, &hints, &list);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return false;
    }
    char last[TC_ERR_MAX] = "no address";
    bool ok = false;
    for (const struct addrinfo *ai = list; ai != NULL && !ok; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof run->addr)
            continue;
        bool opened = o->protocol == PROTO_HTTP
                          ? control_open_no_greeting(ctl, ai->ai_addr, ai->ai_addrlen, run->tls, host, last, sizeof last)
                          : control_open(ctl, ai->ai_addr, ai->ai_addrlen, run->tls, host, last, sizeof last);
        if (opened) {
            memcpy(&run->addr, ai->ai_addr, ai->ai_addrlen);
            run->addrlen = ai->ai_addrlen;
            ok = true;
        }
    }
    freeaddrinfo(list);
    if (!ok)
        snprintf(err, errlen, "cannot reach %s port %s: %s", host, o->port, last);
    return ok;
}

static bool collect_category(void *arg, const shop1_reply_line_t *row)
{
    categories_t *cs = arg;
    long number, items;
    if (row->nfields < 3 || !parse_long_field(row->fields[0], 1, 1000000, &number) ||
        !parse_long_field(row->fields[2], 0, 100000000, &items) || cs->n >= CATEGORIES_MAX) {
        cs->failed = true;
        return false;
    }
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 16;
        category_t *v = realloc(cs->v, cap * sizeof *v);
        if (v == NULL) {
            cs->failed = true;
            return false;
        }
        cs->v = v;
        cs->cap = cap;
    }
    cs->v[cs->n++] = (category_t){.number = (int)number, .items = items};
    return true;
}

/* A BROWSE or ITEM row: `* <sno>\t<name>\t<qty>\t<price>...`: appends the item with its stock. */
static bool collect_item(void *arg, const shop1_reply_line_t *row)
{
    items_t *is = arg;
    long sno;
    int64_t stock;
    if (row->nfields < 4 || !parse_long_field(row->fields[0], 1, 999999, &sno) ||
        !parse_i64_field(row->fields[2], &stock)) {
        is->failed = true;
        return false;
    }
    if (is->n == is->cap) {
        size_t cap = is->cap ? 2 * is->cap : 32;
        bench_item_t *v = realloc(is->v, cap * sizeof *v);
        if (v == NULL) {
            is->failed = true;
            return false;
        }
        is->v = v;
        is->cap = cap;
    }
    is->v[is->n++] = (bench_item_t){.sno = (int)sno, .stock_before = stock, .stock_after = stock};
    return true;
}

/* Sends line; collects rows with fn; an ERR reply or malformed rows are failures. */
static bool ask(control_t *ctl, const char *line, control_row_fn fn, void *arg, bool *rows_failed, char *err,
                size_t errlen)
{
    control_final_t final;
    if (!control_request(ctl, line, fn, arg, &final, err, errlen))
        return false;
    if (final.kind != SHOP1_LINE_OK) {
        snprintf(err, errlen, "'%s' was refused: ERR %s", line, final.text);
        return false;
    }
    if (rows_failed != NULL && *rows_failed) {
        snprintf(err, errlen, "unexpected rows in the reply to '%s'", line);
        return false;
    }
    return true;
}

static int item_cmp(const void *a, const void *b)
{
    const bench_item_t *x = a, *y = b;
    return (x->sno > y->sno) - (x->sno < y->sno);
}

/* Every item of every category (BROWSE each), sorted by sno. */
static bool read_all_items(control_t *ctl, const categories_t *cs, items_t *is, char *err, size_t errlen)
{
    for (size_t i = 0; i < cs->n; i++) {
        char line[64];
        snprintf(line, sizeof line, "BROWSE %d", cs->v[i].number);
        if (!ask(ctl, line, collect_item, is, &is->failed, err, errlen))
            return false;
    }
    if (is->n == 0) {
        snprintf(err, errlen, "%s", "the catalog has no items");
        return false;
    }
    qsort(is->v, is->n, sizeof *is->v, item_cmp);
    return true;
}

static bool read_one_item(control_t *ctl, int sno, items_t *is, char *err, size_t errlen)
{
    char line[64];
    snprintf(line, sizeof line, "ITEM %d", sno);
    if (!ask(ctl, line, collect_item, is, &is->failed, err, errlen))
        return false;
    if (is->n != 1 || is->v[0].sno != sno) {
        snprintf(err, errlen, "ITEM %d did not describe item %d", sno, sno);
        return false;
    }
    return true;
}

static bool add_browse_arg(bench_run_t *run, const char *arg)
{
    char **v = realloc(run->browse_args, (run->nbrowse + 1) * sizeof *v);
    if (v == NULL)
        return false;
    run->browse_args = v;
    run->browse_args[run->nbrowse] = strdup(arg);
    if (run->browse_args[run->nbrowse] == NULL)
        return false;
    run->nbrowse++;
    return true;
}

bool setup_catalog(bench_run_t *run, control_t *ctl, char *err, size_t errlen)
{
    const bench_options_t *o = run->opt;
    bool wants_items = bench_mode_buys(o->mode) || o->udp_page_small;
    bool wants_browse = o->mode == MODE_TLS_BROWSE || o->mode == MODE_UDP_BROWSE;
    if (!wants_items && !wants_browse)
        return true;
    categories_t cs = {0};
    items_t is = {0};
    bool ok = false;
    if (!ask(ctl, "CATEGORIES", collect_category, &cs, &cs.failed, err, errlen))
        goto out;
    if (wants_items) {
        bool all = o->spread || (o->udp_page_small && !o->item_given);
        if (!(all ? read_all_items(ctl, &cs, &is, err, errlen) : read_one_item(ctl, o->item, &is, err, errlen)))
            goto out;
        run->items = is.v;
        run->nitems = is.n;
        is.v = NULL;
    }
    if (wants_browse) {
        if (o->category[0] != '\0') {
            char line[SHOP1_LINE_MAX];
            snprintf(line, sizeof line, "BROWSE %s", o->category);
            if (!ask(ctl, line, NULL, NULL, NULL, err, errlen))
                goto out;
            if (!add_browse_arg(run, o->category))
                goto nomem;
        } else {
            for (size_t i = 0; i < cs.n; i++) {
                char num[16];
                snprintf(num, sizeof num, "%d", cs.v[i].number);
                if (!add_browse_arg(run, num))
                    goto nomem;
            }
        }
        if (run->nbrowse == 0) {
            snprintf(err, errlen, "%s", "the catalog has no categories to browse");
            goto out;
        }
        /* The probe for an address token: the biggest category's BROWSE, whose reply is the most
         * likely to exceed three times the request (the server's limit before validation). */
        if (o->category[0] != '\0' && !o->udp_page_small) {
            snprintf(run->probe_command, sizeof run->probe_command, "BROWSE %s", o->category);
        } else {
            size_t best = 0;
            for (size_t i = 1; i < cs.n; i++)
                if (cs.v[i].items > cs.v[best].items)
                    best = i;
            snprintf(run->probe_command, sizeof run->probe_command, "BROWSE %d", cs.n ? cs.v[best].number : 1);
        }
    }
    ok = true;
    goto out;
nomem:
    snprintf(err, errlen, "%s", "out of memory");
out:
    free(cs.v);
    free(is.v);
    return ok;
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* One read of every run item's stock into out[] (same order as run->items). */
static bool read_stocks(bench_run_t *run, control_t *ctl, int64_t *out, char *err, size_t errlen)
{
    items_t is = {0};
    bool ok = false;
    if (run->nitems == 1) {
        if (!read_one_item(ctl, run->items[0].sno, &is, err, errlen))
            goto out;
    } else {
        categories_t cs = {0};
        bool got = ask(ctl, "CATEGORIES", collect_category, &cs, &cs.failed, err, errlen) &&
                   read_all_items(ctl, &cs, &is, err, errlen);
        free(cs.v);
        if (!got)
            goto out;
    }
    for (size_t i = 0; i < run->nitems; i++) {
        bench_item_t key = {.sno = run->items[i].sno};
        const bench_item_t *found = bsearch(&key, is.v, is.n, sizeof *is.v, item_cmp);
        if (found == NULL) {
            snprintf(err, errlen, "item %d is no longer in the catalog", key.sno);
            goto out;
        }
        out[i] = found->stock_before;
    }
    ok = true;
out:
    free(is.v);
    return ok;
}

bool setup_read_stock_after(bench_run_t *run, control_t *ctl, char *err, size_t errlen)
{
    int64_t *a = calloc(run->nitems, sizeof *a), *b = calloc(run->nitems, sizeof *b);
    bool ok = false;
    if (a == NULL || b == NULL) {
        snprintf(err, errlen, "%s", "out of memory");
        goto out;
    }
    if (!read_stocks(run, ctl, a, err, errlen))
        goto out;
    for (int attempt = 0; attempt < STOCK_READS_MAX; attempt++) {
        pause_ms(STOCK_READ_PAUSE_MS);
        if (!read_stocks(run, ctl, b, err, errlen))
            goto out;
        if (memcmp(a, b, run->nitems * sizeof *a) == 0) {
            ok = true;
            break;
        }
        int64_t *t = a;
        a = b;
        b = t;
    }
    if (!ok)
        snprintf(err, errlen, "the stock did not settle after %d reads: another client is buying?", STOCK_READS_MAX);
    for (size_t i = 0; i < run->nitems; i++)
        run->items[i].stock_after = a[i]; /* the latest read (equal to the one before on success) */
out:
    free(a);
    free(b);
    return ok;
}

void setup_free(bench_run_t *run)
{
    free(run->items);
    run->items = NULL;
    run->nitems = 0;
    for (size_t i = 0; i < run->nbrowse; i++)
        free(run->browse_args[i]);
    free(run->browse_args);
    run->browse_args = NULL;
    run->nbrowse = 0;
}
