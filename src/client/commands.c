/* commands: the one-shot commands, one function each, dispatched from a table. */
#include "client/commands.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/input.h"
#include "client/output.h"
#include "client/replies.h"
#include "client/session.h"
#include "client/views.h"
#include "client/views_json.h"

typedef struct {
    const client_options_t *o;
    session_t *session;
    conn_reply_t reply;
} command_ctx_t;

typedef struct {
    const char *name;
    const char *usage;
    int min_args;
    int max_args; /* -1: any number */
    bool needs_login;
    bool (*check)(const client_options_t *o, cli_error_t *err); /* NULL: nothing to check */
    bool (*run)(command_ctx_t *ctx, cli_error_t *err);
} command_spec_t;

/* --- helpers --- */

/* Records a usage error (exit 2); evaluates to false. */
#define usage_error(err, ...) \
    (cli_error_set((err), NETSHOP_EXIT_USAGE, false, "USAGE", __VA_ARGS__), false)

static bool digits_only(const char *s)
{
    int64_t ignored;
    return reply_parse_count(s, &ignored);
}

/* Sends line and requires an OK reply in ctx->reply; an ERR reply becomes the command's
 * failure (exit 1). */
static bool ask(command_ctx_t *ctx, const char *line, cli_error_t *err)
{
    if (!session_request(ctx->session, line, &ctx->reply, err))
        return false;
    if (ctx->reply.final.kind == SHOP1_LINE_ERR) {
        session_refused(&ctx->reply.final, err);
        return false;
    }
    return true;
}

/* --- argument checks (no I/O) --- */

static bool check_sno(const client_options_t *o, cli_error_t *err)
{
    if (!digits_only(o->args[0]))
        return usage_error(err, "'%s' is not a serial number (digits, e.g. 102)", o->args[0]);
    return true;
}

static bool check_buy(const client_options_t *o, cli_error_t *err)
{
    if (!check_sno(o, err))
        return false;
    if (!digits_only(o->args[1]))
        return usage_error(err, "'%s' is not a quantity (a whole number from 1 to 10000)",
                           o->args[1]);
    return true;
}

static bool check_receipt(const client_options_t *o, cli_error_t *err)
{
    if (o->nargs == 1 && !digits_only(o->args[0]))
        return usage_error(err, "'%s' is not an order id (digits, e.g. 7)", o->args[0]);
    return true;
}

static bool check_browse(const client_options_t *o, cli_error_t *err)
{
    for (int i = 0; i < o->nargs; i++)
        for (const unsigned char *p = (const unsigned char *)o->args[i]; *p != '\0'; p++)
            if (*p < 0x20 || *p == 0x7F)
                return usage_error(err, "a category name cannot contain control characters");
    return true;
}

/* --- the commands --- */

static bool run_categories(command_ctx_t *ctx, cli_error_t *err)
{
    reply_category_t *cats;
    size_t n;
    if (!ask(ctx, "CATEGORIES", err))
        return false;
    if (!reply_categories(&ctx->reply, &cats, &n)) {
        session_malformed("CATEGORIES", err);
        return false;
    }
    if (ctx->o->json)
        json_view_categories(stdout, cats, n);
    else
        view_categories(stdout, cats, n);
    free(cats);
    return true;
}

static bool run_browse(command_ctx_t *ctx, cli_error_t *err)
{
    char line[SHOP1_LINE_MAX];
    char category[SHOP1_LINE_MAX] = "";
    size_t used = 0;
    for (int i = 0; i < ctx->o->nargs; i++) {
        int n = snprintf(category + used, sizeof category - used, "%s%s", i > 0 ? " " : "",
                         ctx->o->args[i]);
        if (n < 0 || (size_t)n >= sizeof category - used)
            return usage_error(err, "the category name is too long");
        used += (size_t)n;
    }
    if (!session_format(line, "BROWSE %s", category))
        return usage_error(err, "the category name is too long");
    if (!ask(ctx, line, err))
        return false;
    reply_item_t *items;
    size_t n;
    if (!reply_items(&ctx->reply, &items, &n)) {
        session_malformed("BROWSE", err);
        return false;
    }
    const char *name = reply_browse_category(&ctx->reply, category);
    if (ctx->o->json) {
        json_view_browse(stdout, name, items, n);
    } else {
        fputs("Items in ", stdout);
        output_text(stdout, name);
        fputs(":\n", stdout);
        view_items(stdout, items, n);
    }
    free(items);
    return true;
}

static bool run_item(command_ctx_t *ctx, cli_error_t *err)
{
    char line[SHOP1_LINE_MAX];
    reply_item_detail_t item;
    session_format(line, "ITEM %s", ctx->o->args[0]); /* digits only: always fits */
    if (!ask(ctx, line, err))
        return false;
    if (!reply_item_detail(&ctx->reply, &item)) {
        session_malformed("ITEM", err);
        return false;
    }
    if (ctx->o->json)
        json_view_item(stdout, &item);
    else
        view_item_detail(stdout, &item);
    return true;
}

static bool run_buy(command_ctx_t *ctx, cli_error_t *err)
{
    char used_id[ORDER_REQUEST_ID_MAX + 1];
    switch (session_buy(ctx->session, ctx->o->args[0], ctx->o->args[1], ctx->o->request_id,
                        &ctx->reply, used_id, err)) {
    case SESSION_BUY_ANSWERED:
        break;
    case SESSION_BUY_UNKNOWN: {
        /* The purchase may have been made before the connection failed. */
        size_t len = strlen(err->message);
        snprintf(err->message + len, sizeof err->message - len,
                 "; the purchase may or may not have been made: run the same command with "
                 "--request-id %s to find out without buying twice", used_id);
        return false;
    }
    case SESSION_BUY_NOT_SENT:
    case SESSION_BUY_FAILED:
    default:
        return false;
    }
    if (ctx->reply.final.kind == SHOP1_LINE_ERR) {
        session_refused(&ctx->reply.final, err);
        return false;
    }
    reply_purchase_t bought;
    if (!reply_purchase(&ctx->reply, &bought)) {
        session_malformed("BUY", err);
        return false;
    }
    if (ctx->o->json)
        json_view_purchase(stdout, &bought);
    else
        view_purchase(stdout, &bought);
    return true;
}

/* Finds the id of the user's newest order (ORDERS lists newest first); 0 when none. */
static bool newest_order(command_ctx_t *ctx, int64_t *order, cli_error_t *err)
{
    reply_order_t *orders;
    size_t n;
    if (!ask(ctx, "ORDERS", err))
        return false;
    if (!reply_orders(&ctx->reply, &orders, &n)) {
        session_malformed("ORDERS", err);
        return false;
    }
    *order = n > 0 ? orders[0].order : 0;
    free(orders);
    return true;
}

static bool run_receipt(command_ctx_t *ctx, cli_error_t *err)
{
    char line[SHOP1_LINE_MAX];
    if (ctx->o->nargs == 1) {
        session_format(line, "RECEIPT %s", ctx->o->args[0]);
    } else {
        int64_t order;
        if (!newest_order(ctx, &order, err))
            return false;
        /* With no order, RECEIPT of this fresh session says "order none" and the currency. */
        if (order > 0)
            session_format(line, "RECEIPT %" PRId64, order);
        else
            session_format(line, "RECEIPT");
    }
    if (!ask(ctx, line, err))
        return false;
    reply_receipt_t receipt;
    if (!reply_receipt(&ctx->reply, &receipt)) {
        session_malformed("RECEIPT", err);
        return false;
    }
    if (ctx->o->json)
        json_view_receipt(stdout, &receipt);
    else if (!receipt.has_order)
        fputs("No orders yet.\n", stdout);
    else
        view_receipt(stdout, &receipt, true);
    reply_receipt_free(&receipt);
    return true;
}

static bool run_orders(command_ctx_t *ctx, cli_error_t *err)
{
    reply_order_t *orders;
    size_t n;
    if (!ask(ctx, "ORDERS", err))
        return false;
    if (!reply_orders(&ctx->reply, &orders, &n)) {
        session_malformed("ORDERS", err);
        return false;
    }
    if (ctx->o->json)
        json_view_orders(stdout, orders, n);
    else
        view_orders(stdout, orders, n);
    free(orders);
    return true;
}

static int64_t elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

static bool run_ping(command_ctx_t *ctx, cli_error_t *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (!ask(ctx, "PING", err))
        return false;
    int64_t ms = elapsed_ms(&start);
    if (ctx->o->json)
        json_view_pong(stdout);
    else
        printf("PONG from %s port %s in %" PRId64 " ms\n", ctx->o->host, ctx->o->port, ms);
    return true;
}

static const command_spec_t command_specs[] = {
    {"categories", "categories", 0, 0, false, NULL, run_categories},
    {"browse", "browse <category number or name...>", 1, -1, false, check_browse, run_browse},
    {"item", "item <sno>", 1, 1, false, check_sno, run_item},
    {"buy", "buy <sno> <qty> [--request-id ID]", 2, 2, true, check_buy, run_buy},
    {"receipt", "receipt [ORDER-ID]", 0, 1, true, check_receipt, run_receipt},
    {"orders", "orders", 0, 0, true, NULL, run_orders},
    {"ping", "ping", 0, 0, false, NULL, run_ping},
};

static const command_spec_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof command_specs / sizeof command_specs[0]; i++)
        if (strcmp(command_specs[i].name, name) == 0)
            return &command_specs[i];
    return NULL;
}

/* Logs in for a one-shot command; prompts (if any) go to stderr, stdout carries results. */
static bool login(command_ctx_t *ctx, cli_error_t *err)
{
    input_t *in = input_new(stderr);
    if (in == NULL) {
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT", "login failed: out of memory");
        return false;
    }
    session_login_result_t r = session_login(ctx->session, in, NULL, 0, err);
    input_free(in);
    if (r == SESSION_USER_LEFT)
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: no user name or password given (end of input)");
    return r == SESSION_LOGGED_IN;
}

netshop_exit_t commands_run(const client_options_t *o, cli_error_t *err)
{
    const command_spec_t *spec = find_command(o->command);
    if (spec == NULL) {
        (void)usage_error(err, "unknown command '%s' (netshop --help lists them)", o->command);
        return err->status;
    }
    if (o->nargs < spec->min_args || (spec->max_args >= 0 && o->nargs > spec->max_args)) {
        (void)usage_error(err, "usage: netshop [options] %s", spec->usage);
        return err->status;
    }
    if (o->anonymous && spec->needs_login) {
        (void)usage_error(err, "%s logs in, so it cannot be --anonymous (only categories, "
                          "browse, item and ping can)", spec->name);
        return err->status;
    }
    if (spec->check != NULL && !spec->check(o, err))
        return err->status;

    command_ctx_t ctx = {.o = o};
    conn_reply_init(&ctx.reply);
    ctx.session = session_open(o, err);
    bool ok = ctx.session != NULL && (!spec->needs_login || login(&ctx, err)) &&
              spec->run(&ctx, err);
    conn_reply_free(&ctx.reply);
    session_close(ctx.session, true);
    return ok ? NETSHOP_EXIT_OK : err->status;
}
