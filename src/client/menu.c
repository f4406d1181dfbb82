/* menu: the interactive menu's loop and its four actions. Each action returns whether to go
 * on, stop (the user left) or fail (the connection is gone). Messages for the user go to
 * stdout, between the prompts. */
#include "client/menu.h"

#include <stdlib.h>
#include <string.h>

#include "client/credentials.h"
#include "client/input.h"
#include "client/output.h"
#include "client/replies.h"
#include "client/session.h"
#include "client/views.h"
#include "client/wording.h"
#include "core/catalog.h"
#include "core/order.h"

#define MENU_LINE "1. Browse  2. Purchase  3. Print Receipt  4. Exit"
#define MENU_CATEGORY_MAX 200 /* bytes of a typed category name */
#define MENU_LOGIN_TRIES 3    /* passwords typed at the prompt before the menu gives up */

typedef struct {
    const client_options_t *o;
    session_t *session;
    input_t *in;
    conn_reply_t reply;
    bool interrupted; /* Ctrl-C ended the last prompt */
} menu_t;

typedef enum {
    STEP_CONTINUE, /* show the menu again */
    STEP_QUIT,     /* the user left (Exit or end of input) */
    STEP_FAILED,   /* the connection failed; *err says why */
} menu_step_t;

/* Trims spaces and tabs at both ends, in place; returns s. */
static char *trim(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    return s + strspn(s, " \t");
}

/* Prompts for one answer. Returns STEP_CONTINUE with *line set (the caller frees it), STEP_QUIT
 * at end of input, or STEP_CONTINUE with *line NULL after telling the user the line was bad or
 * after Ctrl-C (then m->interrupted is set). */
static menu_step_t ask_line(menu_t *m, const char *prompt, char **line)
{
    m->interrupted = false;
    input_result_t r = input_line(m->in, prompt, true, line);
    switch (r) {
    case INPUT_OK:
        return STEP_CONTINUE;
    case INPUT_TOO_LONG:
        printf("That line is too long (more than %d bytes).\n", INPUT_LINE_MAX);
        return STEP_CONTINUE;
    case INPUT_INTERRUPTED: /* Ctrl-C: back to the menu (menu_round: at the menu, leave) */
        m->interrupted = true;
        return STEP_CONTINUE;
    case INPUT_EOF:
    case INPUT_ERROR:
    default:
        return STEP_QUIT;
    }
}

/* When the reply in m->reply is an ERR, prints `<what>: <reason> (<CODE>)` and returns true; the
 * reason is the server's text in the menu's words (wording.h). */
static bool show_refusal(menu_t *m, const char *what)
{
    if (m->reply.final.kind != SHOP1_LINE_ERR)
        return false;
    char reason[CLI_ERROR_MESSAGE_MAX];
    wording_refusal(m->reply.final.code_name, m->reply.final.text, reason, sizeof reason);
    printf("%s: ", what);
    output_text(stdout, reason);
    fputs(" (", stdout);
    output_text(stdout, m->reply.final.code_name);
    fputs(")\n", stdout);
    return true;
}

/* Sends a request. STEP_FAILED when the connection failed; otherwise STEP_CONTINUE, and
 * *refused tells whether the server answered ERR (then the reason was printed after what). */
static menu_step_t request(menu_t *m, const char *line, const char *what, bool *refused,
                           cli_error_t *err)
{
    *refused = false;
    if (!session_request(m->session, line, &m->reply, err))
        return STEP_FAILED;
    *refused = show_refusal(m, what);
    return STEP_CONTINUE;
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7F)
            return true;
    return false;
}

static menu_step_t show_categories(menu_t *m, cli_error_t *err)
{
    bool refused;
    if (request(m, "CATEGORIES", "Could not list the categories", &refused, err) != STEP_CONTINUE)
        return STEP_FAILED;
    if (refused)
        return STEP_CONTINUE;
    reply_category_t *cats;
    size_t n;
    if (!reply_categories(&m->reply, &cats, &n)) {
        session_malformed("CATEGORIES", err);
        return STEP_FAILED;
    }
    view_categories(stdout, cats, n);
    free(cats);
    return STEP_CONTINUE;
}

static menu_step_t do_browse(menu_t *m, cli_error_t *err)
{
    if (show_categories(m, err) != STEP_CONTINUE)
        return STEP_FAILED;
    char *typed = NULL;
    if (ask_line(m, "Category: ", &typed) == STEP_QUIT)
        return STEP_QUIT;
    if (typed == NULL)
        return STEP_CONTINUE;
    menu_step_t step = STEP_CONTINUE;
    char *category = trim(typed);
    char line[SHOP1_LINE_MAX];
    if (category[0] == '\0') {
        puts("Please enter a category number or name.");
    } else if (has_control(category) || strlen(category) > MENU_CATEGORY_MAX ||
               !session_format(line, "BROWSE %s", category)) {
        puts("That is not a category name.");
    } else {
        bool refused;
        step = request(m, line, "Could not browse", &refused, err);
        reply_item_t *items;
        size_t n;
        if (step == STEP_CONTINUE && !refused) {
            if (reply_items(&m->reply, &items, &n)) {
                fputs("Items in ", stdout);
                output_text(stdout, reply_browse_category(&m->reply, category));
                fputs(":\n", stdout);
                view_items(stdout, items, n);
                free(items);
            } else {
                session_malformed("BROWSE", err);
                step = STEP_FAILED;
            }
        }
    }
    free(typed);
    return step;
}

/* Asks for the serial number; *sno is left empty when the answer was not one. */
static menu_step_t ask_sno(menu_t *m, char sno[static 16])
{
    char *typed = NULL;
    sno[0] = '\0';
    if (ask_line(m, "Sno: ", &typed) == STEP_QUIT)
        return STEP_QUIT;
    if (typed == NULL)
        return STEP_CONTINUE;
    char *answer = trim(typed);
    int64_t value;
    if (reply_parse_count(answer, &value) && value >= CATALOG_SNO_MIN && value <= CATALOG_SNO_MAX)
        snprintf(sno, 16, "%lld", (long long)value);
    else
        puts("The Sno must be an item's serial number, like 102.");
    free(typed);
    return STEP_CONTINUE;
}

/* Asks for the quantity; *qty is 0 when the answer was not a valid one. */
static menu_step_t ask_quantity(menu_t *m, int64_t *qty)
{
    char *typed = NULL;
    *qty = 0;
    if (ask_line(m, "Quantity: ", &typed) == STEP_QUIT)
        return STEP_QUIT;
    if (typed == NULL)
        return STEP_CONTINUE;
    switch (order_parse_quantity(trim(typed), qty)) {
    case QTY_OK:
        break;
    case QTY_NOT_POSITIVE:
        printf("The quantity must be at least 1.\n");
        break;
    case QTY_TOO_LARGE:
        printf("The quantity must be at most %d.\n", ORDER_QTY_MAX);
        break;
    case QTY_NOT_A_NUMBER:
    default:
        printf("The quantity must be a whole number from 1 to %d.\n", ORDER_QTY_MAX);
        break;
    }
    free(typed);
    return STEP_CONTINUE;
}

/* Asks the server about item sno (ITEM) before the quantity is asked: *available is false, after
 * telling the user, when there is no such item or none is left. STEP_FAILED when the connection
 * failed or the reply is malformed. */
static menu_step_t check_item(menu_t *m, const char *sno, bool *available, cli_error_t *err)
{
    char line[SHOP1_LINE_MAX];
    *available = false;
    session_format(line, "ITEM %s", sno); /* sno is at most a few digits: fits */
    if (!session_request(m->session, line, &m->reply, err))
        return STEP_FAILED;
    if (m->reply.final.kind == SHOP1_LINE_ERR) {
        if (m->reply.final.code == SHOP1_ERR_NO_SUCH_ITEM)
            printf("There is no item with Sno %s; Browse lists them.\n", sno);
        else
            show_refusal(m, "Could not buy");
        return STEP_CONTINUE;
    }
    reply_item_detail_t item;
    if (!reply_item_detail(&m->reply, &item)) {
        session_malformed("ITEM", err);
        return STEP_FAILED;
    }
    if (item.item.quantity <= 0) {
        fputs("Sorry, ", stdout);
        output_text(stdout, item.item.name);
        fputs(" is sold out.\n", stdout);
        return STEP_CONTINUE;
    }
    *available = true;
    return STEP_CONTINUE;
}

static menu_step_t do_purchase(menu_t *m, cli_error_t *err)
{
    char sno[16];
    int64_t qty;
    if (ask_sno(m, sno) == STEP_QUIT)
        return STEP_QUIT;
    if (sno[0] == '\0')
        return STEP_CONTINUE;
    bool available;
    if (check_item(m, sno, &available, err) != STEP_CONTINUE)
        return STEP_FAILED;
    if (!available)
        return STEP_CONTINUE;
    if (ask_quantity(m, &qty) == STEP_QUIT)
        return STEP_QUIT;
    if (qty == 0)
        return STEP_CONTINUE;

    char qty_text[24];
    snprintf(qty_text, sizeof qty_text, "%lld", (long long)qty);
    char request_id[ORDER_REQUEST_ID_MAX + 1];
    switch (session_buy(m->session, sno, qty_text, NULL, &m->reply, request_id, err)) {
    case SESSION_BUY_ANSWERED:
        break;
    case SESSION_BUY_NOT_SENT:
        fputs("Could not buy: ", stdout);
        output_text(stdout, err->message);
        fputs(".\n", stdout);
        cli_error_clear(err);
        return STEP_CONTINUE;
    case SESSION_BUY_UNKNOWN: {
        size_t len = strlen(err->message);
        snprintf(err->message + len, sizeof err->message - len,
                 "; the purchase of %lld x item %s may or may not have been made (request id "
                 "%s)", (long long)qty, sno, request_id);
        return STEP_FAILED;
    }
    case SESSION_BUY_FAILED:
    default:
        return STEP_FAILED;
    }
    if (show_refusal(m, "Could not buy"))
        return STEP_CONTINUE;
    reply_purchase_t bought;
    if (!reply_purchase(&m->reply, &bought)) {
        session_malformed("BUY", err);
        return STEP_FAILED;
    }
    view_purchase(stdout, &bought);
    return STEP_CONTINUE;
}

static menu_step_t do_receipt(menu_t *m, cli_error_t *err)
{
    bool refused;
    if (request(m, "RECEIPT", "Could not print the receipt", &refused, err) != STEP_CONTINUE)
        return STEP_FAILED;
    if (refused)
        return STEP_CONTINUE;
    reply_receipt_t receipt;
    if (!reply_receipt(&m->reply, &receipt)) {
        session_malformed("RECEIPT", err);
        return STEP_FAILED;
    }
    if (!receipt.has_order || receipt.nlines == 0)
        puts("No purchases yet in this session.");
    else
        view_receipt(stdout, &receipt, true);
    reply_receipt_free(&receipt);
    return STEP_CONTINUE;
}

/* One round: the menu, a choice, its action. */
static menu_step_t menu_round(menu_t *m, cli_error_t *err)
{
    printf("\n" MENU_LINE "\n");
    char *typed = NULL;
    if (ask_line(m, "Choice: ", &typed) == STEP_QUIT)
        return STEP_QUIT;
    if (typed == NULL) /* Ctrl-C at the menu itself leaves, as Exit does */
        return m->interrupted ? STEP_QUIT : STEP_CONTINUE;
    char *choice = trim(typed);
    menu_step_t step = STEP_CONTINUE;
    if (strcmp(choice, "1") == 0)
        step = do_browse(m, err);
    else if (strcmp(choice, "2") == 0)
        step = do_purchase(m, err);
    else if (strcmp(choice, "3") == 0)
        step = do_receipt(m, err);
    else if (strcmp(choice, "4") == 0)
        step = STEP_QUIT;
    else
        puts("Please choose 1, 2, 3 or 4.");
    free(typed);
    return step;
}

/* Logs in, asking again after a wrong user name or password when the password is typed at the
 * prompt, MENU_LOGIN_TRIES times in all; the last refusal stays in *err (exit 4). Any other
 * failure (rate limited, connection lost) ends at once. */
static menu_step_t log_in(menu_t *m, cli_error_t *err)
{
    for (int tries = 1;; tries++) {
        char user[SHOP1_USER_MAX + 1];
        switch (session_login(m->session, m->in, user, sizeof user, err)) {
        case SESSION_LOGGED_IN:
            fputs("Logged in as ", stdout);
            output_text(stdout, user);
            fputs(".\n", stdout);
            return STEP_CONTINUE;
        case SESSION_USER_LEFT:
            return STEP_QUIT;
        case SESSION_FAILED:
        default:
            if (tries >= MENU_LOGIN_TRIES || strcmp(err->code, "AUTH_FAILED") != 0 ||
                !credentials_password_typed(m->o))
                return STEP_FAILED;
            printf("Wrong user name or password; please try again (%d %s left).\n",
                   MENU_LOGIN_TRIES - tries, MENU_LOGIN_TRIES - tries == 1 ? "try" : "tries");
            fflush(stdout);
            cli_error_clear(err);
            break;
        }
    }
}

/* The input's idle hook: keeps the session open while the user thinks (session_keepalive). */
static int keep_session(void *ctx)
{
    return session_keepalive(ctx);
}

netshop_exit_t menu_run(const client_options_t *o, cli_error_t *err)
{
    menu_t m = {.o = o};
    conn_reply_init(&m.reply);
    m.in = input_new(stdout);
    if (m.in == NULL) {
        cli_error_set(err, NETSHOP_EXIT_CONNECTION, false, "OUT_OF_MEMORY", "out of memory");
        return err->status;
    }
    menu_step_t step = STEP_FAILED;
    m.session = session_open(o, err);
    if (m.session != NULL) {
        input_set_idle(m.in, keep_session, m.session);
        step = log_in(&m, err);
    }
    while (step == STEP_CONTINUE) {
        step = menu_round(&m, err);
        fflush(stdout);
    }
    if (step == STEP_QUIT)
        puts("Goodbye.");
    fflush(stdout);
    conn_reply_free(&m.reply);
    session_close(m.session, step == STEP_QUIT);
    input_free(m.in);
    return step == STEP_QUIT ? NETSHOP_EXIT_OK : err->status;
}
