/* commands: the meaning of each SHOP/1 request on the server side. */
#include "server/commands.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/catalog.h"
#include "core/order.h"
#include "server/auth.h"
#include "server/committer.h"
#include "server/readers.h"
#include "server/session_map.h"
#include "server/worker.h"
#include "server/log.h"
#include "store/store.h"

/* ORDERS lists at most this many orders, newest first (PROTOCOL.md). */
#define ORDERS_LIST_MAX 100

static server_t *srv_of(request_ctx_t *r) { return r->w->srv; }

static int digits(request_ctx_t *r) { return srv_of(r)->currency.minor_digits; }

/* The order id clients see for a store id (order_ids.h). */
static int64_t wire_order_id(request_ctx_t *r, int64_t id) { return order_ids_to_wire(&srv_of(r)->order_ids, id); }

static bool require_login(request_ctx_t *r)
{
    if (r->session->logged_in)
        return true;
    shop1_err(r->out, SHOP1_ERR_AUTH_REQUIRED, "log in first (LOGIN <user> <password>)");
    return false;
}

static void item_row(request_ctx_t *r, const catalog_item_t *item)
{
    shop1_buf_t *out = r->out;
    shop1_row_begin(out);
    shop1_row_int(out, catalog_item_sno(item));
    shop1_row_str(out, catalog_item_name(item));
    shop1_row_int(out, catalog_item_stock(item));
    shop1_row_money(out, catalog_item_price(item), digits(r));
}

/* One row per verb of the command table (shop1.h), in its order. */
static void cmd_help(request_ctx_t *r, const shop1_request_t *req)
{
    (void)req;
    shop1_buf_t *out = r->out;
    size_t n = 0;
    for (int v = 0; v < (int)SHOP1_VERB_COUNT; v++) {
        const shop1_verb_info_t *info = shop1_verb_info((shop1_verb_t)v);
        shop1_row_begin(out);
        shop1_row_str(out, info->name);
        shop1_row_str(out, info->help_args);
        shop1_row_str(out, info->help_text);
        shop1_row_end(out);
        n++;
    }
    shop1_ok(out, "%zu commands", n);
}

static void cmd_ping(request_ctx_t *r, const shop1_request_t *req)
{
    (void)req;
    shop1_ok(r->out, "PONG");
}

static void cmd_categories(request_ctx_t *r, const shop1_request_t *req)
{
    (void)req;
    const catalog_t *cat = srv_of(r)->catalog;
    shop1_buf_t *out = r->out;
    size_t n = catalog_category_count(cat);
    for (size_t i = 0; i < n; i++) {
        const catalog_category_t *k = catalog_category_at(cat, i);
        shop1_row_begin(out);
        shop1_row_int(out, k->number);
        shop1_row_str(out, k->name);
        shop1_row_int(out, (int64_t)k->item_count);
        shop1_row_end(out);
    }
    shop1_ok(out, "%zu categories", n);
}

static void cmd_browse(request_ctx_t *r, const shop1_request_t *req)
{
    const char *query = req->category;
    const catalog_t *cat = srv_of(r)->catalog;
    const catalog_category_t *k = catalog_find_category(cat, query);
    if (!k) {
        shop1_err(r->out, SHOP1_ERR_NO_SUCH_CATEGORY, "no category '%.64s' (see CATEGORIES)", query);
        return;
    }
    for (size_t i = 0; i < k->item_count; i++) {
        item_row(r, catalog_item_at(cat, k->first_item + i));
        shop1_row_end(r->out);
    }
    shop1_ok(r->out, "%zu items in %s", k->item_count, k->name);
}

static void cmd_item(request_ctx_t *r, const shop1_request_t *req)
{
    int sno = req->sno;
    const catalog_t *cat = srv_of(r)->catalog;
    const catalog_item_t *item = catalog_find_item(cat, sno);
    if (!item) {
        shop1_err(r->out, SHOP1_ERR_NO_SUCH_ITEM, "no item %d", sno);
        return;
    }
    const catalog_category_t *k = catalog_category_by_number(cat, catalog_item_category(item));
    item_row(r, item);
    shop1_row_int(r->out, catalog_item_category(item));
    shop1_row_str(r->out, k ? k->name : "");
    shop1_row_end(r->out);
    shop1_ok(r->out, "%s", "");
}

/* --- LOGIN: checked by the auth pool, answered when the outcome comes back. --- */

/* A new session id: random, with the owning worker's index in its low byte, so that any worker
 * receiving a datagram for the session knows where to steer it. */
static uint64_t new_session_id(const worker_t *w)
{
    uint64_t id = 0;
    while ((id >> 8) == 0) {
        randombytes_buf(&id, sizeof id);
        id = (id & ~(uint64_t)0xff) | (uint64_t)(uint8_t)w->index;
    }
    return id;
}

static void deliver_login(mailbox_msg_t *msg)
{
    auth_job_t *job = (auth_job_t *)msg;
    request_ctx_t *r = job->ctx;
    session_t *s = r->session;
    if (!s->ended) {
        shop1_buf_t *out = r->out;
        switch (job->result) {
        case SHOP1_OK:
            *s = (session_t){.logged_in = true, .user_id = job->user_id, .id = new_session_id(r->w),
                             .udp_next_pn = 1};
            snprintf(s->user, sizeof s->user, "%s", job->user);
            if (r->ops->logged_in)
                r->ops->logged_in(r);
            session_map_put(r->w->sessions, s);
            shop1_ok(out, "logged in as %s session %016" PRIx64, s->user, s->id);
            break;
        case SHOP1_ERR_AUTH_FAILED:
            shop1_err(out, SHOP1_ERR_AUTH_FAILED, "wrong user name or password");
            break;
        case SHOP1_ERR_RATE_LIMITED:
            shop1_err(out, SHOP1_ERR_RATE_LIMITED, "too many failed logins; try again later");
            break;
        default:
            shop1_err(out, SHOP1_ERR_INTERNAL, "login could not be checked; try again");
            break;
        }
    }
    r->ops->resume(r);
    free(job);
}

static void cmd_login(request_ctx_t *r, const shop1_request_t *req)
{
    if (r->session->logged_in) {
        shop1_err(r->out, SHOP1_ERR_ALREADY_LOGGED_IN, "already logged in as %s; LOGOUT first",
                  r->session->user);
        return;
    }
    worker_t *w = r->w;
    auth_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        shop1_err(r->out, SHOP1_ERR_BUSY, "out of memory; try again");
        return;
    }
    job->msg.deliver = deliver_login;
    job->reply_to = w->mailbox;
    job->ctx = r;
    snprintf(job->user, sizeof job->user, "%s", req->user);
    snprintf(job->password, sizeof job->password, "%s", req->password);
    snprintf(job->peer, sizeof job->peer, "%s", r->peer);
    if (!auth_submit(w->srv->auth, job)) {
        sodium_memzero(job->password, sizeof job->password);
        free(job);
        shop1_err(r->out, SHOP1_ERR_BUSY, "too many logins in progress; try again");
        return;
    }
    r->ops->suspend(r);
}

/* --- BUY: decided by the committer, answered once durable. --- */

static void close_order(server_t *srv, int64_t order_id)
{
    commit_job_t *job = calloc(1, sizeof *job);
    if (job) {
        job->kind = COMMIT_CLOSE_ORDER;
        job->order_id = order_id;
    }
    if (!job || !committer_submit(srv->committer, job)) {
        free(job);
        log_warn("order %" PRId64 " stays open until the next restart (committer queue full)", order_id);
    }
}

/* The one place a purchase outcome (the shop's, as recorded) becomes a SHOP/1 code. */
static shop1_error_t outcome_error(outcome_t o)
{
    switch (o) {
    case OUTCOME_BOUGHT: return SHOP1_OK;
    case OUTCOME_NO_SUCH_ITEM: return SHOP1_ERR_NO_SUCH_ITEM;
    case OUTCOME_INSUFFICIENT_STOCK: return SHOP1_ERR_INSUFFICIENT_STOCK;
    case OUTCOME_BAD_QUANTITY: return SHOP1_ERR_BAD_QUANTITY;
    case OUTCOME_ORDER_FULL:
    case OUTCOME_ORDER_TOTAL_TOO_LARGE: return SHOP1_ERR_LIMIT;
    case OUTCOME_NOT_SOLD: return SHOP1_ERR_NO_SUCH_ITEM;
    case OUTCOME_CANCELLED: return SHOP1_OK;
    case OUTCOME_NO_SUCH_ORDER: return SHOP1_ERR_NO_SUCH_ORDER;
    case OUTCOME_ORDER_STATE: return SHOP1_ERR_ORDER_STATE;
    }
    return SHOP1_ERR_INTERNAL;
}

/* Answers a BUY the committer handled. The reply depends only on the job (and the frozen
 * catalog's name and the configured order size), so a replayed outcome repeats its bytes. */
static void buy_reply(request_ctx_t *r, const commit_job_t *job)
{
    shop1_buf_t *out = r->out;
    const store_line_t *l = &job->line;
    if (job->status == COMMIT_CONFLICT) {
        shop1_err(out, SHOP1_ERR_CONFLICT, "request id '%s' was used for a different purchase", job->request_id);
        return;
    }
    if (job->status != COMMIT_DECIDED) {
        shop1_err(out, SHOP1_ERR_INTERNAL, "the purchase could not be recorded; nothing was bought");
        return;
    }
    shop1_error_t code = outcome_error(job->outcome);
    switch (job->outcome) {
    case OUTCOME_BOUGHT: {
        char total[MONEY_FORMAT_MAX];
        money_format(l->line_total, digits(r), total, sizeof total);
        shop1_row_begin(out);
        shop1_row_int(out, wire_order_id(r, l->order_id));
        shop1_row_int(out, l->sno);
        shop1_row_str(out, l->name);
        shop1_row_int(out, l->qty);
        shop1_row_money(out, l->unit_price, digits(r));
        shop1_row_money(out, l->line_total, digits(r));
        shop1_row_end(out);
        shop1_ok(out, "bought %" PRId64 " x %s for %s %s", l->qty, l->name, total, srv_of(r)->currency.code);
        return;
    }
    case OUTCOME_INSUFFICIENT_STOCK:
        shop1_err(out, code, "only %" PRId64 " left of %s (asked %" PRId64 ")", job->stock_left,
                  catalog_item_name(catalog_find_item(srv_of(r)->catalog, job->sno)), job->qty);
        return;
    case OUTCOME_NO_SUCH_ITEM:
        shop1_err(out, code, "no item %d", job->sno);
        return;
    case OUTCOME_ORDER_FULL:
    case OUTCOME_ORDER_TOTAL_TOO_LARGE:
        shop1_err(out, code, "this order is full (%zu lines or the largest total); LOGOUT and LOGIN for a new one",
                  srv_of(r)->cfg.order_lines_max);
        return;
    case OUTCOME_BAD_QUANTITY:
        shop1_err(out, code, "quantity must be an integer from 1 to %d", ORDER_QTY_MAX);
        return;
    case OUTCOME_NOT_SOLD:
        shop1_err(out, code, "item %d is no longer sold", job->sno);
        return;
    case OUTCOME_CANCELLED:
    case OUTCOME_NO_SUCH_ORDER:
    case OUTCOME_ORDER_STATE:
        break; /* not outcomes of a BUY */
    }
    shop1_err(out, SHOP1_ERR_INTERNAL, "the purchase could not be recorded; nothing was bought");
}

/* Answers a BUY that never reached the committer (nothing decided, nothing recorded) with
 * `code`: SHOP1_ERR_BUSY or SHOP1_ERR_AUTH_REQUIRED. Frees job. */
static void buy_refuse(commit_job_t *job, shop1_error_t code)
{
    request_ctx_t *r = job->ctx;
    r->no_reply = r->udp && code == SHOP1_ERR_BUSY; /* as in cmd_buy: a datagram is dropped */
    if (code == SHOP1_ERR_AUTH_REQUIRED)
        shop1_err(r->out, code, "the session ended before this purchase was made; nothing was bought");
    else
        shop1_err(r->out, SHOP1_ERR_BUSY, "too many purchases in progress; nothing was bought, try again");
    r->ops->resume(r);
    free(job);
}

/* Sends the session's next waiting purchase to the committer, with the order as it now stands. */
static void buy_submit_next(worker_t *w, session_t *s)
{
    while (!s->buy_in_flight && s->buy_queue_head) {
        commit_job_t *job = s->buy_queue_head;
        s->buy_queue_head = job->qnext;
        s->buy_queued--;
        if (!s->buy_queue_head)
            s->buy_queue_tail = NULL;
        job->qnext = NULL;
        job->order_id = s->order_id;
        job->order_lines = s->order_lines;
        job->order_total = s->order_total;
        if (committer_submit(w->srv->committer, job))
            s->buy_in_flight = job;
        else
            buy_refuse(job, SHOP1_ERR_BUSY);
    }
}

static void deliver_buy(mailbox_msg_t *msg)
{
    commit_job_t *job = (commit_job_t *)msg;
    request_ctx_t *r = job->ctx;
    session_t *s = r->session;
    bool fresh = job->status == COMMIT_DECIDED && job->outcome == OUTCOME_BOUGHT && !job->replayed;
    if (s->logged_in && s->id == job->session_id) {
        s->buy_in_flight = NULL;
        if (fresh && s->order_id == 0 && job->order_id == 0)
            s->order_id = job->line.order_id; /* the committer opened the session's order */
        if (fresh && job->line.order_id == s->order_id) {
            s->order_lines++;
            if (!money_add(s->order_total, job->line.line_total, &s->order_total))
                s->order_total = INT64_MAX; /* unreachable: the committer checked; keeps LIMIT */
        }
        buy_submit_next(r->w, s);
    } else if (fresh && job->order_id == 0) {
        /* The session ended (LOGOUT, disconnect) while this purchase opened its order. */
        close_order(r->w->srv, job->line.order_id);
    }
    buy_reply(r, job);
    r->ops->resume(r);
    free(job);
}

/* True when a purchase with this request id is waiting in the session or at the committer. */
static bool buy_pending(const session_t *s, const char *request_id)
{
    if (s->buy_in_flight && strcmp(s->buy_in_flight->request_id, request_id) == 0)
        return true;
    for (const commit_job_t *j = s->buy_queue_head; j; j = j->qnext)
        if (strcmp(j->request_id, request_id) == 0)
            return true;
    return false;
}

/* A BUY without its own request id takes the datagram's (r->udp_request_id), if any. */
static void cmd_buy(request_ctx_t *r, const shop1_request_t *req)
{
    const char *request_id = req->request_id ? req->request_id : r->udp_request_id;
    worker_t *w = r->w;
    /* With a request id the committer decides (and records) even this refusal. */
    if (!request_id && !catalog_find_item(w->srv->catalog, req->sno)) {
        shop1_err(r->out, SHOP1_ERR_NO_SUCH_ITEM, "no item %d", req->sno);
        return;
    }
    session_t *s = r->session;
    if (s->buy_queued >= SESSION_BUY_QUEUE_MAX) {
        /* A datagram is dropped, as a full socket buffer drops it: a BUSY reply would say
         * "nothing was bought" of a request id whose other copies (retransmitted, already on
         * their way) may still be bought. The client retransmits, then falls back to TLS, where
         * the id's first outcome is found. Over TLS (one BUY at a time per connection) a
         * request whose copy is waiting joins the queue, so the queue grows by at most one. */
        if (r->udp) {
            r->no_reply = true;
            return;
        }
        if (!request_id || !buy_pending(s, request_id)) {
            shop1_err(r->out, SHOP1_ERR_BUSY,
                      "too many purchases waiting in this session; nothing was bought");
            return;
        }
    }
    commit_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        shop1_err(r->out, SHOP1_ERR_BUSY, "out of memory; nothing was bought");
        return;
    }
    job->msg.deliver = deliver_buy;
    job->reply_to = w->mailbox;
    job->ctx = r;
    job->kind = COMMIT_BUY;
    job->user_id = s->user_id;
    job->session_id = s->id;
    job->sno = req->sno;
    job->qty = req->qty;
    if (request_id)
        snprintf(job->request_id, sizeof job->request_id, "%s", request_id);
    if (s->buy_queue_tail)
        s->buy_queue_tail->qnext = job;
    else
        s->buy_queue_head = job;
    s->buy_queue_tail = job;
    s->buy_queued++;
    r->ops->suspend(r);
    buy_submit_next(w, s); /* may answer at once (BUSY): suspend first */
}

/* --- RECEIPT and ORDERS: read by the reader pool (readers.h), formatted here when the rows
 * come back, on the worker that owns the request. --- */

static const char *status_word(const store_order_t *o) { return o->open ? "open" : "closed"; }

/* The rows of a RECEIPT: at most --order-lines, the most one order holds (PROTOCOL.md). */
static void receipt_reply(request_ctx_t *r, const read_job_t *job)
{
    shop1_buf_t *out = r->out;
    const currency_t *cur = &srv_of(r)->currency;
    if (job->status == STORE_NOT_FOUND) {
        shop1_err(out, SHOP1_ERR_NO_SUCH_ORDER, "no order %" PRId64 " of yours", job->wire_order_id);
        return;
    }
    if (job->status != STORE_OK) {
        shop1_err(out, SHOP1_ERR_INTERNAL, "could not read the order");
        return;
    }
    for (size_t i = 0; i < job->n; i++) {
        const store_line_t *l = &job->lines[i];
        shop1_row_begin(out);
        shop1_row_int(out, l->sno);
        shop1_row_str(out, l->name);
        shop1_row_int(out, l->qty);
        shop1_row_money(out, l->unit_price, cur->minor_digits);
        shop1_row_money(out, l->line_total, cur->minor_digits);
        shop1_row_end(out);
    }
    char total[MONEY_FORMAT_MAX];
    money_format(job->order.total, cur->minor_digits, total, sizeof total);
    shop1_ok(out, "order %" PRId64 " %s total %s %s", wire_order_id(r, job->order.order_id),
             status_word(&job->order), total, cur->code);
}

/* The rows of ORDERS: at most ORDERS_LIST_MAX, newest first (PROTOCOL.md). */
static void orders_reply(request_ctx_t *r, const read_job_t *job)
{
    shop1_buf_t *out = r->out;
    if (job->status != STORE_OK) {
        shop1_err(out, SHOP1_ERR_INTERNAL, "could not read your orders");
        return;
    }
    for (size_t i = 0; i < job->n; i++) {
        const store_order_t *o = &job->orders[i];
        char when[32];
        time_t t = (time_t)o->opened_at;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        shop1_row_begin(out);
        shop1_row_int(out, wire_order_id(r, o->order_id));
        shop1_row_str(out, when);
        shop1_row_str(out, status_word(o));
        shop1_row_int(out, (int64_t)o->lines);
        shop1_row_money(out, o->total, digits(r));
        shop1_row_end(out);
    }
    shop1_ok(out, "%zu orders", job->n);
}

/* A read came back. The session may have ended meanwhile (LOGOUT, or its connection closed):
 * then there is no one to answer, and resume only releases the request (a dead connection
 * drops the reply; a datagram's reply is dropped by send_sealed, as for BUY). */
static void deliver_read(mailbox_msg_t *msg)
{
    read_job_t *job = (read_job_t *)msg;
    request_ctx_t *r = job->ctx;
    session_t *s = r->session;
    if (!s->ended && s->logged_in && s->id == job->session_id) {
        if (job->kind == READ_RECEIPT)
            receipt_reply(r, job);
        else
            orders_reply(r, job);
    }
    r->ops->resume(r);
    read_job_free(job);
}

/* Sends job to the reader pool and suspends r, or answers BUSY (queue full) and frees job. */
static void read_submit(request_ctx_t *r, read_job_t *job)
{
    worker_t *w = r->w;
    job->msg.deliver = deliver_read;
    job->reply_to = w->mailbox;
    job->ctx = r;
    job->session_id = r->session->id;
    job->user_id = r->session->user_id;
    if (!reader_submit(w->srv->readers, job)) {
        read_job_free(job);
        shop1_err(r->out, SHOP1_ERR_BUSY, "too many reads in progress; try again");
        return;
    }
    r->ops->suspend(r);
}

static void cmd_receipt(request_ctx_t *r, const shop1_request_t *req)
{
    session_t *s = r->session;
    const currency_t *cur = &srv_of(r)->currency;
    int64_t id = req->order_id ? order_ids_from_wire(&srv_of(r)->order_ids, req->order_id) : s->order_id;
    if (id == 0 && !req->order_id) {
        char zero[MONEY_FORMAT_MAX];
        money_format(0, cur->minor_digits, zero, sizeof zero);
        shop1_ok(r->out, "order none open total %s %s", zero, cur->code);
        return;
    }
    if (id == 0) { /* not an id the server hands out: nothing to read */
        shop1_err(r->out, SHOP1_ERR_NO_SUCH_ORDER, "no order %" PRId64 " of yours", req->order_id);
        return;
    }
    read_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        shop1_err(r->out, SHOP1_ERR_BUSY, "out of memory; try again");
        return;
    }
    job->kind = READ_RECEIPT;
    job->order_id = id;
    job->wire_order_id = req->order_id;
    read_submit(r, job);
}

static void cmd_orders(request_ctx_t *r, const shop1_request_t *req)
{
    (void)req;
    read_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        shop1_err(r->out, SHOP1_ERR_BUSY, "out of memory; try again");
        return;
    }
    job->kind = READ_ORDERS;
    job->limit = ORDERS_LIST_MAX;
    read_submit(r, job);
}

/* --- Session end. --- */

void commands_end_session(worker_t *w, session_t *s)
{
    if (!s->logged_in)
        return;
    session_map_remove(w->sessions, s->id);
    if (s->order_id)
        close_order(w->srv, s->order_id);
    /* Purchases not yet at the committer are refused; the one in flight completes, and
     * deliver_buy sees that its session is over. */
    commit_job_t *queued = s->buy_queue_head;
    bool ended = s->ended;
    sodium_memzero(s, sizeof *s);
    s->ended = ended;
    while (queued) {
        commit_job_t *next = queued->qnext;
        buy_refuse(queued, SHOP1_ERR_AUTH_REQUIRED);
        queued = next;
    }
}

/* A BUY over UDP without its own request id gets one from the datagram's request id. */
void commands_udp_request_id(uint64_t datagram_request_id, char out[static ORDER_REQUEST_ID_MAX + 1])
{
    snprintf(out, ORDER_REQUEST_ID_MAX + 1, "udp.%016" PRIx64, datagram_request_id);
}

static void cmd_logout(request_ctx_t *r, const shop1_request_t *req)
{
    (void)req;
    commands_end_session(r->w, r->session);
    shop1_ok(r->out, "logged out");
}

static void cmd_quit(request_ctx_t *r, const shop1_request_t *req)
{
    (void)req;
    commands_end_session(r->w, r->session);
    shop1_ok(r->out, "bye");
    r->ops->close_after_reply(r);
}

/* What each verb does: the one place a verb's handler is named. What the protocol says of the
 * verb (arity, login, transports) is its row in the command table (shop1.h), checked before
 * the handler runs: a handler of a SHOP1_VERB_LOGIN verb runs only in a logged-in session, and
 * one of a SHOP1_VERB_TLS_ONLY verb never for a datagram. commands_check_table() fails start-up
 * when a verb has no handler. */
typedef void (*command_handler_t)(request_ctx_t *r, const shop1_request_t *req);

static const command_handler_t HANDLERS[SHOP1_VERB_COUNT] = {
    [SHOP1_LOGIN] = cmd_login,
    [SHOP1_LOGOUT] = cmd_logout,
    [SHOP1_QUIT] = cmd_quit,
    [SHOP1_PING] = cmd_ping,
    [SHOP1_HELP] = cmd_help,
    [SHOP1_CATEGORIES] = cmd_categories,
    [SHOP1_BROWSE] = cmd_browse,
    [SHOP1_ITEM] = cmd_item,
    [SHOP1_BUY] = cmd_buy,
    [SHOP1_RECEIPT] = cmd_receipt,
    [SHOP1_ORDERS] = cmd_orders,
};

shop1_verb_t commands_check_table(void)
{
    for (int v = 0; v < (int)SHOP1_VERB_COUNT; v++) {
        const shop1_verb_info_t *info = shop1_verb_info((shop1_verb_t)v);
        if (!HANDLERS[v] || !info || info->verb != (shop1_verb_t)v)
            return (shop1_verb_t)v;
    }
    return SHOP1_VERB_COUNT;
}

/* The table's rules in order: the transport (TLS_ONLY), then the login (LOGIN), then the
 * handler. */
void commands_execute(request_ctx_t *r, const shop1_request_t *req)
{
    const shop1_verb_info_t *info = shop1_verb_info(req->verb);
    command_handler_t handler = info ? HANDLERS[req->verb] : NULL;
    if (!handler) {
        shop1_err(r->out, SHOP1_ERR_INTERNAL, "unhandled command");
        return;
    }
    if (r->udp && (info->flags & SHOP1_VERB_TLS_ONLY)) {
        shop1_err(r->out, SHOP1_ERR_BAD_REQUEST, "%s is not available over UDP; use TLS", info->name);
        return;
    }
    if ((info->flags & SHOP1_VERB_LOGIN) && !require_login(r))
        return;
    handler(r, req);
}
