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
#include "server/conn.h"
#include "server/log.h"
#include "store/store.h"

#define ORDERS_LIST_MAX 100

typedef struct {
    shop1_verb_t verb;
    const char *args;
    const char *description;
} help_entry_t;

static const help_entry_t HELP[] = {
    {SHOP1_LOGIN, "<user> <password>", "log in; starts a session with its own order"},
    {SHOP1_LOGOUT, "", "end the session and close its order"},
    {SHOP1_QUIT, "", "end the session and the connection"},
    {SHOP1_PING, "", "check the server is alive"},
    {SHOP1_HELP, "", "list the commands"},
    {SHOP1_CATEGORIES, "", "list the categories"},
    {SHOP1_BROWSE, "<category number or name>", "list a category's items with stock and price"},
    {SHOP1_ITEM, "<sno>", "show one item"},
    {SHOP1_BUY, "<sno> <qty> [<request-id>]", "buy for this session's order (idempotent with an id)"},
    {SHOP1_RECEIPT, "[<order-id>]", "this session's receipt, or a past order's"},
    {SHOP1_ORDERS, "", "list your orders, newest first"},
};

static server_t *srv_of(struct conn *c) { return conn_worker(c)->srv; }

static int digits(struct conn *c) { return srv_of(c)->currency.minor_digits; }

static bool require_login(struct conn *c)
{
    if (conn_session(c)->logged_in)
        return true;
    shop1_err(conn_out(c), SHOP1_ERR_AUTH_REQUIRED, "log in first (LOGIN <user> <password>)");
    return false;
}

static void item_row(struct conn *c, const catalog_item_t *item)
{
    shop1_buf_t *out = conn_out(c);
    shop1_row_begin(out);
    shop1_row_int(out, catalog_item_sno(item));
    shop1_row_str(out, catalog_item_name(item));
    shop1_row_int(out, catalog_item_stock(item));
    shop1_row_money(out, catalog_item_price(item), digits(c));
}

static void cmd_help(struct conn *c)
{
    shop1_buf_t *out = conn_out(c);
    size_t n = sizeof HELP / sizeof HELP[0];
    for (size_t i = 0; i < n; i++) {
        shop1_row_begin(out);
        shop1_row_str(out, shop1_verb_name(HELP[i].verb));
        shop1_row_str(out, HELP[i].args);
        shop1_row_str(out, HELP[i].description);
        shop1_row_end(out);
    }
    shop1_ok(out, "%zu commands", n);
}

static void cmd_categories(struct conn *c)
{
    const catalog_t *cat = srv_of(c)->catalog;
    shop1_buf_t *out = conn_out(c);
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

static void cmd_browse(struct conn *c, const char *query)
{
    const catalog_t *cat = srv_of(c)->catalog;
    const catalog_category_t *k = catalog_find_category(cat, query);
    if (!k) {
        shop1_err(conn_out(c), SHOP1_ERR_NO_SUCH_CATEGORY, "no category '%.64s' (see CATEGORIES)", query);
        return;
    }
    for (size_t i = 0; i < k->item_count; i++) {
        item_row(c, catalog_item_at(cat, k->first_item + i));
        shop1_row_end(conn_out(c));
    }
    shop1_ok(conn_out(c), "%zu items in %s", k->item_count, k->name);
}

static void cmd_item(struct conn *c, int sno)
{
    const catalog_t *cat = srv_of(c)->catalog;
    const catalog_item_t *item = catalog_find_item(cat, sno);
    if (!item) {
        shop1_err(conn_out(c), SHOP1_ERR_NO_SUCH_ITEM, "no item %d", sno);
        return;
    }
    char num[16];
    snprintf(num, sizeof num, "%d", catalog_item_category(item));
    const catalog_category_t *k = catalog_find_category(cat, num);
    item_row(c, item);
    shop1_row_int(conn_out(c), catalog_item_category(item));
    shop1_row_str(conn_out(c), k ? k->name : "");
    shop1_row_end(conn_out(c));
    shop1_ok(conn_out(c), "%s", "");
}

/* --- LOGIN: checked by the auth pool, answered when the outcome comes back. --- */

static void deliver_login(mailbox_msg_t *msg)
{
    auth_job_t *job = (auth_job_t *)msg;
    struct conn *c = job->ctx;
    if (!conn_is_dead(c)) {
        session_t *s = conn_session(c);
        shop1_buf_t *out = conn_out(c);
        switch (job->result) {
        case SHOP1_OK:
            *s = (session_t){.logged_in = true, .user_id = job->user_id};
            snprintf(s->user, sizeof s->user, "%s", job->user);
            while (s->id == 0)
                randombytes_buf(&s->id, sizeof s->id);
            shop1_ok(out, "logged in as %s session %016" PRIx64, s->user, s->id);
            break;
        case SHOP1_ERR_AUTH_FAILED:
            shop1_err(out, SHOP1_ERR_AUTH_FAILED, "wrong user name or password");
            break;
        case SHOP1_ERR_RATE_LIMITED:
            shop1_err(out, SHOP1_ERR_RATE_LIMITED, "too many failed logins; try again in a minute");
            break;
        default:
            shop1_err(out, SHOP1_ERR_INTERNAL, "login could not be checked; try again");
            break;
        }
    }
    conn_resume(c);
    free(job);
}

static void cmd_login(struct conn *c, const shop1_request_t *req)
{
    if (conn_session(c)->logged_in) {
        shop1_err(conn_out(c), SHOP1_ERR_ALREADY_LOGGED_IN, "already logged in as %s; LOGOUT first",
                  conn_session(c)->user);
        return;
    }
    worker_t *w = conn_worker(c);
    auth_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        shop1_err(conn_out(c), SHOP1_ERR_BUSY, "out of memory; try again");
        return;
    }
    job->msg.deliver = deliver_login;
    job->reply_to = w->mailbox;
    job->ctx = c;
    snprintf(job->user, sizeof job->user, "%s", req->user);
    snprintf(job->password, sizeof job->password, "%s", req->password);
    snprintf(job->peer, sizeof job->peer, "%s", conn_peer(c));
    if (!auth_submit(w->srv->auth, job)) {
        sodium_memzero(job->password, sizeof job->password);
        free(job);
        shop1_err(conn_out(c), SHOP1_ERR_BUSY, "too many logins in progress; try again");
        return;
    }
    conn_suspend(c);
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

static void buy_reply(struct conn *c, const commit_job_t *job)
{
    shop1_buf_t *out = conn_out(c);
    const store_line_t *l = &job->line;
    switch (job->result) {
    case SHOP1_OK:
        shop1_row_begin(out);
        shop1_row_int(out, l->order_id);
        shop1_row_int(out, l->sno);
        shop1_row_str(out, l->name);
        shop1_row_int(out, l->qty);
        shop1_row_money(out, l->unit_price, digits(c));
        shop1_row_money(out, l->line_total, digits(c));
        shop1_row_end(out);
        char total[MONEY_FORMAT_MAX];
        money_format(l->line_total, digits(c), total, sizeof total);
        shop1_ok(out, "bought %" PRId64 " x %s for %s %s", l->qty, l->name, total, srv_of(c)->currency.code);
        return;
    case SHOP1_ERR_INSUFFICIENT_STOCK:
        shop1_err(out, job->result, "only %" PRId64 " left of %s (asked %" PRId64 ")", job->stock_left,
                  catalog_item_name(catalog_find_item(srv_of(c)->catalog, job->sno)), job->qty);
        return;
    case SHOP1_ERR_NO_SUCH_ITEM:
        shop1_err(out, job->result, "no item %d", job->sno);
        return;
    case SHOP1_ERR_CONFLICT:
        shop1_err(out, job->result, "request id '%s' was used for a different purchase", job->request_id);
        return;
    case SHOP1_ERR_LIMIT:
        shop1_err(out, job->result, "this order is full (%d lines or the largest total); LOGOUT and LOGIN for a new one",
                  ORDER_LINES_MAX);
        return;
    case SHOP1_ERR_BAD_QUANTITY:
        shop1_err(out, job->result, "quantity must be an integer from 1 to %d", ORDER_QTY_MAX);
        return;
    default:
        shop1_err(out, SHOP1_ERR_INTERNAL, "the purchase could not be recorded; nothing was bought");
        return;
    }
}

static void deliver_buy(mailbox_msg_t *msg)
{
    commit_job_t *job = (commit_job_t *)msg;
    struct conn *c = job->ctx;
    session_t *s = conn_session(c);
    bool fresh = job->result == SHOP1_OK && !job->replayed;
    if (fresh && s->order_id == 0 && job->order_id == 0)
        s->order_id = job->line.order_id; /* the committer opened the session's order */
    if (fresh && job->line.order_id == s->order_id) {
        s->order_lines++;
        if (!money_add(s->order_total, job->line.line_total, &s->order_total))
            s->order_total = INT64_MAX; /* unreachable: the committer checked; keeps LIMIT */
    }
    if (s->ended) {
        /* The connection went away while this purchase was being committed. */
        if (fresh && job->order_id == 0)
            close_order(conn_worker(c)->srv, job->line.order_id);
    } else {
        buy_reply(c, job);
    }
    conn_resume(c);
    free(job);
}

static void cmd_buy(struct conn *c, const shop1_request_t *req)
{
    if (!require_login(c))
        return;
    worker_t *w = conn_worker(c);
    if (!catalog_find_item(w->srv->catalog, req->sno)) {
        shop1_err(conn_out(c), SHOP1_ERR_NO_SUCH_ITEM, "no item %d", req->sno);
        return;
    }
    session_t *s = conn_session(c);
    commit_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        shop1_err(conn_out(c), SHOP1_ERR_BUSY, "out of memory; nothing was bought");
        return;
    }
    job->msg.deliver = deliver_buy;
    job->reply_to = w->mailbox;
    job->ctx = c;
    job->kind = COMMIT_BUY;
    job->user_id = s->user_id;
    job->order_id = s->order_id;
    job->order_lines = s->order_lines;
    job->order_total = s->order_total;
    job->sno = req->sno;
    job->qty = req->qty;
    if (req->request_id)
        snprintf(job->request_id, sizeof job->request_id, "%s", req->request_id);
    if (!committer_submit(w->srv->committer, job)) {
        free(job);
        shop1_err(conn_out(c), SHOP1_ERR_BUSY, "too many purchases in progress; nothing was bought, try again");
        return;
    }
    conn_suspend(c);
}

/* --- Reads from the worker's store. --- */

static const char *status_word(const store_order_t *o) { return o->open ? "open" : "closed"; }

static void cmd_receipt(struct conn *c, const shop1_request_t *req)
{
    if (!require_login(c))
        return;
    session_t *s = conn_session(c);
    shop1_buf_t *out = conn_out(c);
    const currency_t *cur = &srv_of(c)->currency;
    int64_t id = req->order_id ? req->order_id : s->order_id;
    if (id == 0) {
        char zero[MONEY_FORMAT_MAX];
        money_format(0, cur->minor_digits, zero, sizeof zero);
        shop1_ok(out, "order none open total %s %s", zero, cur->code);
        return;
    }
    store_t *st = conn_worker(c)->store;
    store_order_t hdr;
    store_line_t *lines = NULL;
    size_t n = 0;
    store_status_t rc = store_order_get(st, id, s->user_id, &hdr, &lines, &n);
    if (rc == STORE_NOT_FOUND) {
        shop1_err(out, SHOP1_ERR_NO_SUCH_ORDER, "no order %" PRId64 " of yours", id);
        return;
    }
    if (rc != STORE_OK) {
        log_error("receipt: %s", store_errmsg(st));
        shop1_err(out, SHOP1_ERR_INTERNAL, "could not read the order");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        shop1_row_begin(out);
        shop1_row_int(out, lines[i].sno);
        shop1_row_str(out, lines[i].name);
        shop1_row_int(out, lines[i].qty);
        shop1_row_money(out, lines[i].unit_price, cur->minor_digits);
        shop1_row_money(out, lines[i].line_total, cur->minor_digits);
        shop1_row_end(out);
    }
    free(lines);
    char total[MONEY_FORMAT_MAX];
    money_format(hdr.total, cur->minor_digits, total, sizeof total);
    shop1_ok(out, "order %" PRId64 " %s total %s %s", hdr.order_id, status_word(&hdr), total, cur->code);
}

static void cmd_orders(struct conn *c)
{
    if (!require_login(c))
        return;
    shop1_buf_t *out = conn_out(c);
    store_t *st = conn_worker(c)->store;
    store_order_t *orders = NULL;
    size_t n = 0;
    if (store_orders_list(st, conn_session(c)->user_id, ORDERS_LIST_MAX, &orders, &n) != STORE_OK) {
        log_error("orders: %s", store_errmsg(st));
        shop1_err(out, SHOP1_ERR_INTERNAL, "could not read your orders");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char when[32];
        time_t t = (time_t)orders[i].opened_at;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        shop1_row_begin(out);
        shop1_row_int(out, orders[i].order_id);
        shop1_row_str(out, when);
        shop1_row_str(out, status_word(&orders[i]));
        shop1_row_int(out, (int64_t)orders[i].lines);
        shop1_row_money(out, orders[i].total, digits(c));
        shop1_row_end(out);
    }
    free(orders);
    shop1_ok(out, "%zu orders", n);
}

/* --- Session end. --- */

void commands_end_session(struct conn *c)
{
    session_t *s = conn_session(c);
    if (s->logged_in && s->order_id)
        close_order(conn_worker(c)->srv, s->order_id);
    *s = (session_t){.ended = s->ended};
}

void commands_execute(struct conn *c, const shop1_request_t *req)
{
    switch (req->verb) {
    case SHOP1_LOGIN: cmd_login(c, req); return;
    case SHOP1_LOGOUT:
        if (!require_login(c))
            return;
        commands_end_session(c);
        shop1_ok(conn_out(c), "logged out");
        return;
    case SHOP1_QUIT:
        commands_end_session(c);
        shop1_ok(conn_out(c), "bye");
        conn_close_after_reply(c);
        return;
    case SHOP1_PING: shop1_ok(conn_out(c), "PONG"); return;
    case SHOP1_HELP: cmd_help(c); return;
    case SHOP1_CATEGORIES: cmd_categories(c); return;
    case SHOP1_BROWSE: cmd_browse(c, req->category); return;
    case SHOP1_ITEM: cmd_item(c, req->sno); return;
    case SHOP1_BUY: cmd_buy(c, req); return;
    case SHOP1_RECEIPT: cmd_receipt(c, req); return;
    case SHOP1_ORDERS: cmd_orders(c); return;
    case SHOP1_VERB_COUNT: break;
    }
    shop1_err(conn_out(c), SHOP1_ERR_INTERNAL, "unhandled command");
}
