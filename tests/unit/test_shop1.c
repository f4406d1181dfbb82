/* test_shop1: unit tests of src/proto/shop1.c — request parsing (every verb, arity and argument
 * error, framing rules: NUL, UTF-8, CR LF, tabs, length), the exact bytes of built replies,
 * error names, and client-side reply-line parsing. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/order.h"
#include "proto/shop1.h"

/* One parse: the line buffer the request points into, and the results. */
typedef struct {
    char buf[2 * SHOP1_LINE_MAX];
    shop1_request_t req;
    shop1_parse_error_t err;
    shop1_error_t rc;
} parsed_t;

/* Parses s[0..len) from a copy whose byte after the line is a sentinel 'Z', so tests can see
 * the parser NUL-terminate the line. */
static void parse_bytes(parsed_t *p, const char *s, size_t len)
{
    assert_true(len < sizeof p->buf);
    memcpy(p->buf, s, len);
    p->buf[len] = 'Z';
    p->rc = shop1_parse_request(p->buf, len, &p->req, &p->err);
}

static void parse(parsed_t *p, const char *s)
{
    parse_bytes(p, s, strlen(s));
}

/* Asserts that line s fails with code and exactly text, and leaves no verb behind. */
static void expect_error_bytes(const char *s, size_t len, shop1_error_t code, const char *text)
{
    parsed_t p;
    parse_bytes(&p, s, len);
    assert_string_equal(shop1_error_name(p.rc), shop1_error_name(code));
    assert_int_equal(p.rc, code);
    assert_int_equal(p.err.code, code);
    assert_string_equal(p.err.text, text);
    assert_int_equal(p.req.verb, SHOP1_VERB_COUNT);
}

static void expect_error(const char *s, shop1_error_t code, const char *text)
{
    expect_error_bytes(s, strlen(s), code, text);
}

static void expect_ok(parsed_t *p, const char *s, shop1_verb_t verb)
{
    parse(p, s);
    assert_string_equal(p->err.text, "");
    assert_int_equal(p->rc, SHOP1_OK);
    assert_int_equal(p->err.code, SHOP1_OK);
    assert_int_equal(p->req.verb, verb);
}

/* A request with no arguments leaves every argument member empty. */
static void assert_no_arguments(const shop1_request_t *req)
{
    assert_null(req->user);
    assert_null(req->password);
    assert_null(req->category);
    assert_int_equal(req->sno, 0);
    assert_int_equal(req->qty, 0);
    assert_null(req->request_id);
    assert_int_equal(req->order_id, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Verbs */

static void test_login_parsed_in_any_case(void **state)
{
    (void)state;
    const char *lines[] = {"LOGIN alice s3cret!", "login alice s3cret!", "LoGiN alice s3cret!"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        parsed_t p;
        expect_ok(&p, lines[i], SHOP1_LOGIN);
        assert_string_equal(p.req.user, "alice");
        assert_string_equal(p.req.password, "s3cret!");
        assert_null(p.req.category);
        assert_null(p.req.request_id);
        /* the strings live in the caller's buffer */
        assert_ptr_equal(p.req.user, p.buf + 6);
        assert_ptr_equal(p.req.password, p.buf + 12);
    }
}

static void test_login_user_and_password_bounds(void **state)
{
    (void)state;
    parsed_t p;
    char line[600];

    expect_ok(&p, "LOGIN a.b_c-d9 x", SHOP1_LOGIN);
    assert_string_equal(p.req.user, "a.b_c-d9");

    /* user of exactly SHOP1_USER_MAX characters */
    snprintf(line, sizeof line, "LOGIN %s pw", "abcdefghijklmnopqrstuvwxyz012345");
    expect_ok(&p, line, SHOP1_LOGIN);
    assert_int_equal(strlen(p.req.user), SHOP1_USER_MAX);

    /* password of exactly SHOP1_PASSWORD_MAX bytes, then one more */
    memcpy(line, "LOGIN bob ", 10);
    memset(line + 10, 'p', SHOP1_PASSWORD_MAX);
    line[10 + SHOP1_PASSWORD_MAX] = '\0';
    expect_ok(&p, line, SHOP1_LOGIN);
    assert_int_equal(strlen(p.req.password), SHOP1_PASSWORD_MAX);
    line[10 + SHOP1_PASSWORD_MAX] = 'p';
    line[11 + SHOP1_PASSWORD_MAX] = '\0';
    expect_error(line, SHOP1_ERR_BAD_REQUEST, "password longer than 256 bytes");

    /* a multibyte UTF-8 password is fine */
    expect_ok(&p, "LOGIN bob p\xc3\xa4ssw\xc3\xb6rd", SHOP1_LOGIN);
    assert_string_equal(p.req.password, "p\xc3\xa4ssw\xc3\xb6rd");
}

static void test_login_errors(void **state)
{
    (void)state;
    expect_error("LOGIN", SHOP1_ERR_BAD_REQUEST, "usage: LOGIN <user> <password>");
    expect_error("LOGIN alice", SHOP1_ERR_BAD_REQUEST, "usage: LOGIN <user> <password>");
    expect_error("login alice pw extra", SHOP1_ERR_BAD_REQUEST, "usage: LOGIN <user> <password>");
    expect_error("LOGIN -bob pw", SHOP1_ERR_BAD_REQUEST,
                 "bad user name '-bob': must be 1 to 32 characters of A-Z a-z 0-9 . _ - not "
                 "starting with -");
    expect_error("LOGIN abcdefghijklmnopqrstuvwxyz0123456 pw", SHOP1_ERR_BAD_REQUEST,
                 "bad user name 'abcdefghijklmnopqrstuvwxyz0123456': must be 1 to 32 characters "
                 "of A-Z a-z 0-9 . _ - not starting with -");
    expect_error("LOGIN bob!'x pw", SHOP1_ERR_BAD_REQUEST,
                 "bad user name 'bob!\\x27x': must be 1 to 32 characters of A-Z a-z 0-9 . _ - "
                 "not starting with -");
    expect_error("LOGIN jos\xc3\xa9 pw", SHOP1_ERR_BAD_REQUEST,
                 "bad user name 'jos\xc3\xa9': must be 1 to 32 characters of A-Z a-z 0-9 . _ - "
                 "not starting with -");
    /* the password is never echoed */
    expect_error("LOGIN bob se\x01" "cret", SHOP1_ERR_BAD_REQUEST,
                 "password contains a control character");
}

static void test_no_argument_verbs_parsed(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        shop1_verb_t verb;
    } cases[] = {
        {"LOGOUT", SHOP1_LOGOUT},         {"logout", SHOP1_LOGOUT},
        {"LogOut", SHOP1_LOGOUT},         {"QUIT", SHOP1_QUIT},
        {"quit", SHOP1_QUIT},             {"qUiT", SHOP1_QUIT},
        {"PING", SHOP1_PING},             {"ping", SHOP1_PING},
        {"Ping", SHOP1_PING},             {"HELP", SHOP1_HELP},
        {"help", SHOP1_HELP},             {"hElP", SHOP1_HELP},
        {"CATEGORIES", SHOP1_CATEGORIES}, {"categories", SHOP1_CATEGORIES},
        {"Categories", SHOP1_CATEGORIES}, {"ORDERS", SHOP1_ORDERS},
        {"orders", SHOP1_ORDERS},         {"oRdErS", SHOP1_ORDERS},
        {"RECEIPT", SHOP1_RECEIPT},       {"receipt", SHOP1_RECEIPT},
        {"  PING  ", SHOP1_PING},         {"\tHELP\t", SHOP1_HELP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parsed_t p;
        expect_ok(&p, cases[i].line, cases[i].verb);
        assert_no_arguments(&p.req);
    }
}

static void test_no_argument_verbs_refuse_arguments(void **state)
{
    (void)state;
    expect_error("LOGOUT now", SHOP1_ERR_BAD_REQUEST, "usage: LOGOUT (no arguments)");
    expect_error("quit 1", SHOP1_ERR_BAD_REQUEST, "usage: QUIT (no arguments)");
    expect_error("HELP BUY", SHOP1_ERR_BAD_REQUEST, "usage: HELP (no arguments)");
    expect_error("CATEGORIES all", SHOP1_ERR_BAD_REQUEST, "usage: CATEGORIES (no arguments)");
    expect_error("ORDERS 5", SHOP1_ERR_BAD_REQUEST, "usage: ORDERS (no arguments)");
    expect_error("PING a b", SHOP1_ERR_BAD_REQUEST, "usage: PING [<token>]");
}

static void test_ping_token_ignored(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "PING 12345", SHOP1_PING);
    assert_no_arguments(&p.req);
    expect_ok(&p, "ping\tabc\t", SHOP1_PING);
    assert_no_arguments(&p.req);
}

static void test_browse_collapses_rest_of_line(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "BROWSE 1", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "1");
    assert_ptr_equal(p.req.category, p.buf + 7);

    expect_ok(&p, "browse   house-hold \t  items  \t", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "house-hold items");

    expect_ok(&p, "Browse\tHOUSEHOLD\tITEMS", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "HOUSEHOLD ITEMS");

    expect_ok(&p, "BROWSE a  b   c    d\r", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "a b c d");
    assert_int_equal(p.req.sno, 0);
    assert_null(p.req.user);

    expect_error("BROWSE", SHOP1_ERR_BAD_REQUEST, "usage: BROWSE <category>");
    expect_error("browse  \t  ", SHOP1_ERR_BAD_REQUEST, "usage: BROWSE <category>");
}

static void test_item_parsed(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "ITEM 101", SHOP1_ITEM);
    assert_int_equal(p.req.sno, 101);
    assert_null(p.req.category);
    expect_ok(&p, "item 1", SHOP1_ITEM);
    assert_int_equal(p.req.sno, CATALOG_SNO_MIN);
    expect_ok(&p, "Item 999999", SHOP1_ITEM);
    assert_int_equal(p.req.sno, CATALOG_SNO_MAX);
    expect_ok(&p, "ITEM 000505", SHOP1_ITEM);
    assert_int_equal(p.req.sno, 505);
}

static void test_item_errors(void **state)
{
    (void)state;
    expect_error("ITEM", SHOP1_ERR_BAD_REQUEST, "usage: ITEM <sno>");
    expect_error("ITEM 101 102", SHOP1_ERR_BAD_REQUEST, "usage: ITEM <sno>");
    expect_error("ITEM 0", SHOP1_ERR_BAD_REQUEST, "bad item number '0'");
    expect_error("ITEM 000000", SHOP1_ERR_BAD_REQUEST, "bad item number '000000'");
    expect_error("ITEM 1000000", SHOP1_ERR_BAD_REQUEST, "bad item number '1000000'");
    expect_error("ITEM abc", SHOP1_ERR_BAD_REQUEST, "bad item number 'abc'");
    expect_error("ITEM -1", SHOP1_ERR_BAD_REQUEST, "bad item number '-1'");
    expect_error("ITEM +1", SHOP1_ERR_BAD_REQUEST, "bad item number '+1'");
    expect_error("ITEM 10.1", SHOP1_ERR_BAD_REQUEST, "bad item number '10.1'");
}

static void test_buy_parsed(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "BUY 101 2", SHOP1_BUY);
    assert_int_equal(p.req.sno, 101);
    assert_int_equal(p.req.qty, 2);
    assert_null(p.req.request_id);

    expect_ok(&p, "buy 505 10000 req-1.a_b:C9", SHOP1_BUY);
    assert_int_equal(p.req.sno, 505);
    assert_int_equal(p.req.qty, ORDER_QTY_MAX);
    assert_string_equal(p.req.request_id, "req-1.a_b:C9");

    expect_ok(&p, "bUy 999999 1 x", SHOP1_BUY);
    assert_int_equal(p.req.sno, 999999);
    assert_int_equal(p.req.qty, 1);
    assert_string_equal(p.req.request_id, "x");

    /* a request id of exactly ORDER_REQUEST_ID_MAX characters */
    char line[128];
    char id[ORDER_REQUEST_ID_MAX + 1];
    memset(id, 'r', ORDER_REQUEST_ID_MAX);
    id[ORDER_REQUEST_ID_MAX] = '\0';
    snprintf(line, sizeof line, "BUY 101 3 %s", id);
    expect_ok(&p, line, SHOP1_BUY);
    assert_string_equal(p.req.request_id, id);
}

static void test_buy_arity_errors(void **state)
{
    (void)state;
    const char *usage = "usage: BUY <sno> <qty> [<request-id>]";
    expect_error("BUY", SHOP1_ERR_BAD_REQUEST, usage);
    expect_error("BUY 101", SHOP1_ERR_BAD_REQUEST, usage);
    expect_error("buy 101 1 id extra", SHOP1_ERR_BAD_REQUEST, usage);
    expect_error("BUY 1 2 3 4 5 6", SHOP1_ERR_BAD_REQUEST, usage);
}

static void test_buy_bad_item_number(void **state)
{
    (void)state;
    expect_error("BUY 0 1", SHOP1_ERR_BAD_REQUEST, "bad item number '0'");
    expect_error("BUY 1000000 1", SHOP1_ERR_BAD_REQUEST, "bad item number '1000000'");
    expect_error("BUY abc 1", SHOP1_ERR_BAD_REQUEST, "bad item number 'abc'");
    expect_error("BUY -1 1", SHOP1_ERR_BAD_REQUEST, "bad item number '-1'");
    /* the item number is checked before the quantity */
    expect_error("BUY abc 0", SHOP1_ERR_BAD_REQUEST, "bad item number 'abc'");
}

static void test_buy_bad_quantity(void **state)
{
    (void)state;
    expect_error("BUY 101 0", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity '0': must be an integer from 1 to 10000");
    expect_error("BUY 101 -1", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity '-1': must be an integer from 1 to 10000");
    expect_error("BUY 101 10001", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity '10001': must be an integer from 1 to 10000");
    expect_error("BUY 101 99999999999999999999999999", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity '99999999999999999999999999': must be an integer from 1 to 10000");
    expect_error("BUY 101 abc", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity 'abc': must be an integer from 1 to 10000");
    expect_error("BUY 101 1.5", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity '1.5': must be an integer from 1 to 10000");
    /* the quantity is checked before the request id */
    expect_error("BUY 101 0 bad/id", SHOP1_ERR_BAD_QUANTITY,
                 "bad quantity '0': must be an integer from 1 to 10000");
}

static void test_buy_bad_request_id(void **state)
{
    (void)state;
    expect_error("BUY 101 1 bad/id", SHOP1_ERR_BAD_REQUEST,
                 "bad request id 'bad/id': must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
    expect_error("BUY 101 1 it's", SHOP1_ERR_BAD_REQUEST,
                 "bad request id 'it\\x27s': must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
    expect_error("BUY 101 1 a\\b", SHOP1_ERR_BAD_REQUEST,
                 "bad request id 'a\\x5cb': must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");

    /* 65 characters: quoted up to 40 of them, then "..." */
    char line[128];
    snprintf(line, sizeof line, "BUY 101 1 %s",
             "0123456789012345678901234567890123456789012345678901234567890123X");
    expect_error(line, SHOP1_ERR_BAD_REQUEST,
                 "bad request id '0123456789012345678901234567890123456789'...: must be 1 to 64 "
                 "characters of A-Z a-z 0-9 . _ : -");
}

static void test_receipt_parsed(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "RECEIPT", SHOP1_RECEIPT);
    assert_int_equal(p.req.order_id, 0);
    expect_ok(&p, "receipt 42", SHOP1_RECEIPT);
    assert_int_equal(p.req.order_id, 42);
    expect_ok(&p, "Receipt 9007199254740992", SHOP1_RECEIPT);
    assert_int_equal(p.req.order_id, 9007199254740992LL);
}

static void test_receipt_errors(void **state)
{
    (void)state;
    expect_error("RECEIPT 1 2", SHOP1_ERR_BAD_REQUEST, "usage: RECEIPT [<order-id>]");
    expect_error("RECEIPT 0", SHOP1_ERR_BAD_REQUEST, "bad order id '0'");
    expect_error("RECEIPT -5", SHOP1_ERR_BAD_REQUEST, "bad order id '-5'");
    expect_error("RECEIPT abc", SHOP1_ERR_BAD_REQUEST, "bad order id 'abc'");
    expect_error("RECEIPT 9007199254740993", SHOP1_ERR_BAD_REQUEST,
                 "bad order id '9007199254740993'");
    expect_error("RECEIPT 99999999999999999999999", SHOP1_ERR_BAD_REQUEST,
                 "bad order id '99999999999999999999999'");
}

/* ---------------------------------------------------------------------------------------- */
/* Framing rules */

static void test_empty_request(void **state)
{
    (void)state;
    expect_error("", SHOP1_ERR_BAD_REQUEST, "empty request");
    expect_error("    ", SHOP1_ERR_BAD_REQUEST, "empty request");
    expect_error(" \t \t", SHOP1_ERR_BAD_REQUEST, "empty request");
    expect_error("\r", SHOP1_ERR_BAD_REQUEST, "empty request");
    expect_error("  \r", SHOP1_ERR_BAD_REQUEST, "empty request");
}

static void test_unknown_command(void **state)
{
    (void)state;
    expect_error("FOO bar", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'FOO'");
    expect_error("  buyx 1 2", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'buyx'");
    expect_error("BU 1 2", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'BU'");
    expect_error("it'em", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'it\\x27em'");
    expect_error("say\"hi\"", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'say\\x22hi\\x22'");
    expect_error("\x01\x1b[2J", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command '\\x01\\x1b[2J'");
    expect_error("DEL\x7f", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'DEL\\x7f'");
    /* a C1 control (U+009B) is escaped byte by byte; other UTF-8 is kept */
    expect_error("\xc2\x9b" "x", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command '\\xc2\\x9bx'");
    expect_error("\xc3\xa9t\xc3\xa9", SHOP1_ERR_UNKNOWN_COMMAND,
                 "unknown command '\xc3\xa9t\xc3\xa9'");
}

static void test_unknown_command_quote_is_truncated(void **state)
{
    (void)state;
    char line[200];

    /* 100 plain bytes: the first 40, then "..." */
    memset(line, 'A', 100);
    line[100] = '\0';
    expect_error(line, SHOP1_ERR_UNKNOWN_COMMAND,
                 "unknown command 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'...");

    /* exactly 40 bytes: no "..." */
    line[40] = '\0';
    expect_error(line, SHOP1_ERR_UNKNOWN_COMMAND,
                 "unknown command 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'");

    /* escaped bytes count 4 each against the 48-byte output budget: 12 of them */
    memset(line, 0x01, 30);
    line[30] = '\0';
    expect_error(line, SHOP1_ERR_UNKNOWN_COMMAND,
                 "unknown command '\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01"
                 "\\x01'...");

    /* a multibyte character is never split: 41 bytes "A" + 20 x "é" keeps 19 of them */
    line[0] = 'A';
    for (size_t i = 0; i < 20; i++)
        memcpy(line + 1 + 2 * i, "\xc3\xa9", 2);
    line[41] = '\0';
    expect_error(line, SHOP1_ERR_UNKNOWN_COMMAND,
                 "unknown command 'A\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                 "\xa9\xc3\xa9\xc3\xa9'...");
}

static void test_nul_byte_rejected(void **state)
{
    (void)state;
    expect_error_bytes("PING\0x", 6, SHOP1_ERR_BAD_REQUEST, "NUL byte at byte 4");
    expect_error_bytes("\0", 1, SHOP1_ERR_BAD_REQUEST, "NUL byte at byte 0");
    expect_error_bytes("BUY 101 1\0", 10, SHOP1_ERR_BAD_REQUEST, "NUL byte at byte 9");
    expect_error_bytes("PING\0\r", 6, SHOP1_ERR_BAD_REQUEST, "NUL byte at byte 4");
}

static void test_invalid_utf8_rejected(void **state)
{
    (void)state;
    /* overlong 2-byte '/' */
    expect_error("PING \xc0\xaf", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 5");
    /* overlong 3-byte and 4-byte forms */
    expect_error("BROWSE \xe0\x80\xaf", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 7");
    expect_error("BROWSE \xf0\x80\x80\xaf", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 7");
    /* surrogates U+D800 and U+DFFF */
    expect_error("BROWSE x\xed\xa0\x80", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 8");
    expect_error("BROWSE \xed\xbf\xbf", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 7");
    /* above U+10FFFF */
    expect_error("BROWSE \xf4\x90\x80\x80", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 7");
    /* truncated sequences: at the end, and followed by ASCII */
    expect_error("BROWSE \xe2\x82", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 7");
    expect_error("BROWSE \xe2\x82x", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 7");
    expect_error("\xf0\x9f\x98", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 0");
    /* bytes that never occur, and a stray continuation byte */
    expect_error("\xff", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 0");
    expect_error("PING \xfe", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 5");
    expect_error("PING a\x80", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 6");
    expect_error("PING \xf8\x88\x80\x80\x80", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 5");
    /* the offset is that of the first bad byte after valid multibyte text */
    expect_error("BROWSE \xc3\xa9\xff", SHOP1_ERR_BAD_REQUEST, "invalid UTF-8 at byte 9");
}

static void test_valid_utf8_accepted(void **state)
{
    (void)state;
    parsed_t p;
    /* 2-, 3- and 4-byte characters, and the extremes U+0080, U+D7FF, U+E000, U+10FFFF */
    expect_ok(&p, "BROWSE \xc3\x89lec \xe2\x9c\x93 \xf0\x9f\x98\x80", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "\xc3\x89lec \xe2\x9c\x93 \xf0\x9f\x98\x80");
    expect_ok(&p, "BROWSE \xc2\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "\xc2\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf");
}

static void test_crlf_stripped(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "PING\r", SHOP1_PING);
    expect_ok(&p, "BUY 101 2 id\r", SHOP1_BUY);
    assert_string_equal(p.req.request_id, "id");
    assert_int_equal(p.req.qty, 2);
    expect_ok(&p, "BROWSE Shoes\r", SHOP1_BROWSE);
    assert_string_equal(p.req.category, "Shoes");
    /* only one CR is stripped; a second one is part of the verb */
    expect_error("PING\r\r", SHOP1_ERR_UNKNOWN_COMMAND, "unknown command 'PING\\x0d'");
}

static void test_line_is_nul_terminated(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "BUY 101 7", SHOP1_BUY);
    assert_int_equal(p.buf[9], '\0'); /* the sentinel after the line was overwritten */
    assert_int_equal(p.req.qty, 7);
    expect_ok(&p, "RECEIPT 5\r", SHOP1_RECEIPT);
    assert_int_equal(p.buf[9], '\0'); /* the CR became the terminator */
}

static void test_tabs_separate_arguments(void **state)
{
    (void)state;
    parsed_t p;
    expect_ok(&p, "BUY\t101\t\t2 \t req-9", SHOP1_BUY);
    assert_int_equal(p.req.sno, 101);
    assert_int_equal(p.req.qty, 2);
    assert_string_equal(p.req.request_id, "req-9");
    expect_ok(&p, "\tLOGIN\talice\tpw\t", SHOP1_LOGIN);
    assert_string_equal(p.req.user, "alice");
    assert_string_equal(p.req.password, "pw");
}

static void test_line_length_limit(void **state)
{
    (void)state;
    char line[SHOP1_LINE_MAX + 8];
    parsed_t p;

    /* 1023 bytes of content (1024 with the LF) is the longest request */
    memcpy(line, "BROWSE ", 7);
    memset(line + 7, 'x', SHOP1_LINE_MAX - 1 - 7);
    line[SHOP1_LINE_MAX - 1] = '\0';
    expect_ok(&p, line, SHOP1_BROWSE);
    assert_int_equal(strlen(p.req.category), SHOP1_LINE_MAX - 1 - 7);

    /* 1024 bytes of content */
    line[SHOP1_LINE_MAX - 1] = 'x';
    line[SHOP1_LINE_MAX] = '\0';
    expect_error(line, SHOP1_ERR_TOO_LONG, "request line longer than 1024 bytes");

    /* 1023 bytes then CR: CR LF makes the line 1025 bytes */
    line[SHOP1_LINE_MAX - 1] = '\r';
    expect_error(line, SHOP1_ERR_TOO_LONG, "request line longer than 1024 bytes");

    /* 1022 bytes then CR: exactly 1024 with CR LF */
    line[SHOP1_LINE_MAX - 2] = '\r';
    line[SHOP1_LINE_MAX - 1] = '\0';
    expect_ok(&p, line, SHOP1_BROWSE);
    assert_int_equal(strlen(p.req.category), SHOP1_LINE_MAX - 2 - 7);
}

/* Error texts are one clean line whatever the input. */
static void test_error_texts_have_no_control_characters(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x1f\x7f",
        "ITEM \x1b]0;pwn\x07",
        "BUY 1 \x0b\x0c",
        "BUY 1 1 \x1b[31m",
        "RECEIPT \r\r",
        "LOGIN \x01\x02 x",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        parsed_t p;
        parse(&p, lines[i]);
        assert_int_not_equal(p.rc, SHOP1_OK);
        size_t len = strlen(p.err.text);
        assert_true(len > 0 && len < SHOP1_ERRTEXT_MAX);
        for (size_t j = 0; j < len; j++) {
            unsigned char c = (unsigned char)p.err.text[j];
            if (c < 0x20 || c == 0x7f)
                fail_msg("line %zu: control byte 0x%02x in \"%s\"", i, c, p.err.text);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Names */

static void test_error_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[SHOP1_ERROR_COUNT] = {
        "OK",           "BAD_REQUEST",   "UNKNOWN_COMMAND",    "AUTH_REQUIRED",
        "AUTH_FAILED",  "RATE_LIMITED",  "ALREADY_LOGGED_IN",  "NO_SUCH_ITEM",
        "NO_SUCH_CATEGORY", "NO_SUCH_ORDER", "BAD_QUANTITY", "INSUFFICIENT_STOCK",
        "CONFLICT",     "LIMIT",         "TOO_LONG",           "BUSY",
        "TIMEOUT",      "INTERNAL",      "FORBIDDEN",          "ORDER_STATE",
    };
    for (int c = SHOP1_ERR_BAD_REQUEST; c < SHOP1_ERROR_COUNT; c++) {
        const char *name = shop1_error_name((shop1_error_t)c);
        assert_string_equal(name, names[c]);
        assert_int_equal(shop1_error_from_name(name, strlen(name)), c);
    }
    assert_string_equal(shop1_error_name(SHOP1_OK), "OK");
    assert_string_equal(shop1_error_name(SHOP1_ERROR_COUNT), "INTERNAL");
    assert_string_equal(shop1_error_name((shop1_error_t)-1), "INTERNAL");
    assert_int_equal(shop1_error_from_name("OK", 2), SHOP1_ERROR_COUNT);
    assert_int_equal(shop1_error_from_name("bad_request", 11), SHOP1_ERROR_COUNT);
    assert_int_equal(shop1_error_from_name("BAD_REQUES", 10), SHOP1_ERROR_COUNT);
    assert_int_equal(shop1_error_from_name("BUSY text", 4), SHOP1_ERR_BUSY);
    assert_int_equal(shop1_error_from_name("", 0), SHOP1_ERROR_COUNT);
    assert_int_equal(shop1_error_from_name(NULL, 0), SHOP1_ERROR_COUNT);
}

static void test_verb_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[SHOP1_VERB_COUNT] = {
        "LOGIN", "LOGOUT", "QUIT", "PING", "HELP", "CATEGORIES",
        "BROWSE", "ITEM", "BUY", "RECEIPT", "ORDERS",
    };
    for (int v = 0; v < SHOP1_VERB_COUNT; v++)
        assert_string_equal(shop1_verb_name((shop1_verb_t)v), names[v]);
    assert_string_equal(shop1_verb_name(SHOP1_VERB_COUNT), "UNKNOWN");

    /* every verb name is recognised by the parser as that verb */
    static const char *const lines[SHOP1_VERB_COUNT] = {
        "LOGIN u p", "LOGOUT", "QUIT", "PING", "HELP", "CATEGORIES",
        "BROWSE 1", "ITEM 101", "BUY 101 1", "RECEIPT", "ORDERS",
    };
    for (int v = 0; v < SHOP1_VERB_COUNT; v++) {
        parsed_t p;
        expect_ok(&p, lines[v], (shop1_verb_t)v);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The command table */

/* The verbs having every bit of flags, as a bit set over shop1_verb_t. */
static unsigned verbs_with(unsigned flags)
{
    unsigned set = 0;
    for (int v = 0; v < SHOP1_VERB_COUNT; v++)
        if (shop1_verb_has((shop1_verb_t)v, flags))
            set |= 1u << v;
    return set;
}

#define BIT(v) (1u << (v))

static void test_every_verb_has_its_own_row(void **state)
{
    (void)state;
    for (int v = 0; v < SHOP1_VERB_COUNT; v++) {
        const shop1_verb_info_t *info = shop1_verb_info((shop1_verb_t)v);
        assert_non_null(info);
        assert_int_equal(info->verb, v);
        assert_non_null(info->name);
        assert_string_equal(info->name, shop1_verb_name((shop1_verb_t)v));
        assert_non_null(info->usage);
        assert_non_null(info->help_args);
        assert_non_null(info->help_text);
        assert_true(info->help_text[0] != '\0'); /* HELP describes every verb */
        /* the usage text names the verb: "usage: <NAME>..." */
        char want[64];
        snprintf(want, sizeof want, "usage: %s", info->name);
        assert_memory_equal(info->usage, want, strlen(want));
        assert_true(info->min_args <= info->max_args);
        /* ADMIN is reserved: no verb has it yet */
        assert_false(info->flags & SHOP1_VERB_ADMIN);
    }
    assert_null(shop1_verb_info(SHOP1_VERB_COUNT));
    assert_null(shop1_verb_info((shop1_verb_t)-1));
    assert_false(shop1_verb_has(SHOP1_VERB_COUNT, 0));
}

/* Names round-trip through the parser in any case, and each row's arity is what the parser
 * enforces: one argument too few or too many gets exactly the row's usage text. */
static void test_table_names_and_arity_match_the_parser(void **state)
{
    (void)state;
    for (int v = 0; v < SHOP1_VERB_COUNT; v++) {
        const shop1_verb_info_t *info = shop1_verb_info((shop1_verb_t)v);
        char lower[32];
        size_t n = strlen(info->name);
        assert_true(n < sizeof lower);
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)((info->name[i] >= 'A' && info->name[i] <= 'Z') ? info->name[i] + 32 : info->name[i]);
        /* arguments that parse for every verb taking them: LOGIN u p, ITEM/BUY 101 1, RECEIPT 1 */
        static const char *const args[] = {"101", "1", "rid"};
        const char *names[2] = {info->name, lower};
        for (int k = 0; k < 2; k++) {
            char line[128];
            snprintf(line, sizeof line, "%s", names[k]);
            for (size_t a = 0; a < info->min_args; a++) {
                size_t len = strlen(line);
                snprintf(line + len, sizeof line - len, " %s", v == SHOP1_LOGIN ? (a ? "p" : "u") : args[a]);
            }
            parsed_t p;
            expect_ok(&p, line, (shop1_verb_t)v);
        }
        if (info->min_args > 0)
            expect_error(info->name, SHOP1_ERR_BAD_REQUEST, info->usage);
        if (info->max_args != SHOP1_ARGS_REST) {
            char line[128];
            snprintf(line, sizeof line, "%s", info->name);
            for (size_t a = 0; a <= info->max_args; a++) {
                size_t len = strlen(line);
                snprintf(line + len, sizeof line - len, " x");
            }
            expect_error(line, SHOP1_ERR_BAD_REQUEST, info->usage);
        }
    }
}

/* docs/PROTOCOL.md §7.2: anonymous datagrams may only PING, CATEGORIES, BROWSE and ITEM. */
static void test_anonymous_udp_set(void **state)
{
    (void)state;
    assert_int_equal(verbs_with(SHOP1_VERB_ANON_UDP),
                     BIT(SHOP1_PING) | BIT(SHOP1_CATEGORIES) | BIT(SHOP1_BROWSE) | BIT(SHOP1_ITEM));
    char list[SHOP1_VERB_LIST_MAX];
    assert_int_equal(shop1_verb_list(SHOP1_VERB_ANON_UDP, list, sizeof list), 4);
    assert_string_equal(list, "PING, CATEGORIES, BROWSE and ITEM"); /* udp.c's refusal text */
}

/* §7.3: authenticated datagrams may be PING, CATEGORIES, BROWSE, ITEM, BUY, RECEIPT and ORDERS;
 * the others are not available over UDP. */
static void test_tls_only_set(void **state)
{
    (void)state;
    assert_int_equal(verbs_with(SHOP1_VERB_TLS_ONLY),
                     BIT(SHOP1_LOGIN) | BIT(SHOP1_LOGOUT) | BIT(SHOP1_QUIT) | BIT(SHOP1_HELP));
    /* an anonymous datagram verb is never TLS-only */
    assert_int_equal(verbs_with(SHOP1_VERB_TLS_ONLY) & verbs_with(SHOP1_VERB_ANON_UDP), 0);
}

/* §3: BUY, RECEIPT, ORDERS and LOGOUT need a login. */
static void test_login_set(void **state)
{
    (void)state;
    assert_int_equal(verbs_with(SHOP1_VERB_LOGIN),
                     BIT(SHOP1_LOGOUT) | BIT(SHOP1_BUY) | BIT(SHOP1_RECEIPT) | BIT(SHOP1_ORDERS));
    /* an anonymous datagram has no login */
    assert_int_equal(verbs_with(SHOP1_VERB_LOGIN) & verbs_with(SHOP1_VERB_ANON_UDP), 0);
}

/* The page cache may keep CATEGORIES, BROWSE and ITEM (only anonymous verbs), and BUY is the one
 * write (its datagram reply is never paged). */
static void test_cacheable_and_write_sets(void **state)
{
    (void)state;
    assert_int_equal(verbs_with(SHOP1_VERB_CACHEABLE),
                     BIT(SHOP1_CATEGORIES) | BIT(SHOP1_BROWSE) | BIT(SHOP1_ITEM));
    unsigned anon = verbs_with(SHOP1_VERB_ANON_UDP);
    assert_int_equal(verbs_with(SHOP1_VERB_CACHEABLE) & ~anon, 0);
    assert_int_equal(verbs_with(SHOP1_VERB_WRITE), BIT(SHOP1_BUY));
    assert_int_equal(verbs_with(SHOP1_VERB_WRITE) & verbs_with(SHOP1_VERB_TLS_ONLY), 0);
}

/* HELP lists every verb in table order with its arguments and text: HELP's rows as the server
 * renders them (commands.c) are these exact fields. */
static void test_help_fields(void **state)
{
    (void)state;
    static const char *const help[SHOP1_VERB_COUNT][3] = {
        {"LOGIN", "<user> <password>", "log in; starts a session with its own order"},
        {"LOGOUT", "", "end the session and close its order"},
        {"QUIT", "", "end the session and the connection"},
        {"PING", "", "check the server is alive"},
        {"HELP", "", "list the commands"},
        {"CATEGORIES", "", "list the categories"},
        {"BROWSE", "<category number or name>", "list a category's items with stock and price"},
        {"ITEM", "<sno>", "show one item"},
        {"BUY", "<sno> <qty> [<request-id>]", "buy for this session's order (idempotent with an id)"},
        {"RECEIPT", "[<order-id>]", "this session's receipt, or a past order's"},
        {"ORDERS", "", "list your orders, newest first"},
    };
    for (int v = 0; v < SHOP1_VERB_COUNT; v++) {
        const shop1_verb_info_t *info = shop1_verb_info((shop1_verb_t)v);
        assert_string_equal(info->name, help[v][0]);
        assert_string_equal(info->help_args, help[v][1]);
        assert_string_equal(info->help_text, help[v][2]);
    }
}

static void test_verb_list_forms(void **state)
{
    (void)state;
    char list[SHOP1_VERB_LIST_MAX];
    assert_int_equal(shop1_verb_list(SHOP1_VERB_WRITE, list, sizeof list), 1);
    assert_string_equal(list, "BUY");
    assert_int_equal(shop1_verb_list(SHOP1_VERB_ADMIN, list, sizeof list), 0);
    assert_string_equal(list, "");
    assert_int_equal(shop1_verb_list(SHOP1_VERB_ANON_UDP | SHOP1_VERB_CACHEABLE, list, sizeof list), 3);
    assert_string_equal(list, "CATEGORIES, BROWSE and ITEM");
    /* every verb fits in SHOP1_VERB_LIST_MAX */
    assert_int_equal(shop1_verb_list(0, list, sizeof list), SHOP1_VERB_COUNT);
    assert_true(strlen(list) < sizeof list - 1);
    assert_string_equal(list + strlen(list) - strlen(" and ORDERS"), " and ORDERS");
    /* cut to fit, NUL-terminated */
    char small[8];
    assert_int_equal(shop1_verb_list(SHOP1_VERB_ANON_UDP, small, sizeof small), 4);
    assert_string_equal(small, "PING, C");
}

/* ---------------------------------------------------------------------------------------- */
/* Reply building */

static void test_row_with_money(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_int(&b, 101);
    shop1_row_str(&b, "Phone");
    shop1_row_int(&b, 5);
    shop1_row_money(&b, 10000000, 2);
    shop1_row_end(&b);
    assert_false(b.failed);
    assert_string_equal(b.data, "* 101\tPhone\t5\t100000.00\n");
    assert_int_equal(b.len, strlen("* 101\tPhone\t5\t100000.00\n"));

    shop1_row_begin(&b);
    shop1_row_int(&b, -7);
    shop1_row_money(&b, 5, 2);
    shop1_row_money(&b, 0, 2);
    shop1_row_int(&b, INT64_MAX);
    shop1_row_end(&b);
    assert_string_equal(b.data, "* 101\tPhone\t5\t100000.00\n"
                                "* -7\t0.05\t0.00\t9223372036854775807\n");
    shop1_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_row_fields_sanitised(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_int(&b, 102);
    shop1_row_str(&b, "Smart\tPhone\nX\r\x01\x7f" "end");
    shop1_row_str(&b, "caf\xc3\xa9");
    shop1_row_end(&b);
    assert_string_equal(b.data, "* 102\tSmart Phone X   end\tcaf\xc3\xa9\n");
    shop1_buf_free(&b);
}

/* Audit finding 13c: the sanitiser covered only C0 and DEL. C1 controls (C2 80..C2 9F; C2 9B
 * is a terminal's CSI) become one space, bytes that are not well-formed UTF-8 a '?'. */
static void test_row_fields_c1_and_invalid_utf8_sanitised(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_str(&b, "a\xc2\x9b" "31mb\xc2\x80\xc2\x9f" "c");
    shop1_row_str(&b, "x\xff\xc3y\xe2\x82");             /* stray, cut short mid-field, at the end */
    shop1_row_str(&b, "\xc0\xaf\xed\xa0\x80|\x1b[2J");     /* overlong '/', surrogate, ESC */
    shop1_row_str(&b, "\xc2\xa0\xc2\xa9\xe2\x82\xac\xf0\x9f\x98\x80"); /* NBSP, (c), euro, emoji */
    shop1_row_end(&b);
    const char *want = "* a 31mb  c\tx??y??\t?????| [2J\t\xc2\xa0\xc2\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n";
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    shop1_buf_free(&b);
}

static void test_final_lines_c1_and_invalid_utf8_sanitised(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_ok(&b, "1 items in %s", "Evil\xc2\x9b" "2J\xfe");
    shop1_err(&b, SHOP1_ERR_NO_SUCH_ITEM, "no %s here", "\xc2\x85\x7f\xc2");
    const char *want = "OK 1 items in Evil 2J?\nERR NO_SUCH_ITEM no   ? here\n";
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    shop1_buf_free(&b);
}

static void test_row_empty_fields(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_str(&b, "");
    shop1_row_str(&b, "x");
    shop1_row_str(&b, NULL);
    shop1_row_end(&b);
    shop1_row_begin(&b);
    shop1_row_end(&b);
    shop1_row_begin(&b);
    shop1_row_str(&b, "*");
    shop1_row_str(&b, "*");
    shop1_row_end(&b);
    assert_string_equal(b.data, "* \tx\t\n* \n* *\t*\n");
    shop1_buf_free(&b);
}

static void test_ok_lines(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_ok(&b, "%s", "");
    assert_string_equal(b.data, "OK\n");
    shop1_buf_reset(&b);
    shop1_ok(&b, "%d items in %s", 5, "Electronics");
    assert_string_equal(b.data, "OK 5 items in Electronics\n");
    shop1_buf_reset(&b);
    shop1_ok(&b, "bought %d x %s", 2, "Smart\tPhone\r\nX");
    assert_string_equal(b.data, "OK bought 2 x Smart Phone  X\n");
    assert_int_equal(b.len, strlen("OK bought 2 x Smart Phone  X\n"));
    shop1_buf_free(&b);
}

static void test_err_lines(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_err(&b, SHOP1_ERR_NO_SUCH_ITEM, "no item %d", 107);
    shop1_err(&b, SHOP1_ERR_INSUFFICIENT_STOCK, "only %d left of %s", 3, "a\nb");
    shop1_err(&b, SHOP1_ERR_BUSY, "%s", "");
    shop1_err(&b, SHOP1_OK, "not an error code");
    shop1_err(&b, SHOP1_ERROR_COUNT, "out of range");
    assert_string_equal(b.data, "ERR NO_SUCH_ITEM no item 107\n"
                                "ERR INSUFFICIENT_STOCK only 3 left of a b\n"
                                "ERR BUSY\n"
                                "ERR INTERNAL not an error code\n"
                                "ERR INTERNAL out of range\n");
    shop1_buf_free(&b);
}

static void test_full_reply_bytes(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_int(&b, 101);
    shop1_row_str(&b, "Phone");
    shop1_row_int(&b, 2);
    shop1_row_money(&b, 10000000, 2);
    shop1_row_money(&b, 20000000, 2);
    shop1_row_end(&b);
    shop1_ok(&b, "order %d %s total %s %s", 7, "open", "200000.00", "INR");
    assert_string_equal(b.data, "* 101\tPhone\t2\t100000.00\t200000.00\n"
                                "OK order 7 open total 200000.00 INR\n");
    shop1_buf_free(&b);
}

static void test_buf_grows_and_resets(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_false(b.failed);

    size_t n = 10000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'y', n);
    big[n] = '\0';
    shop1_ok(&b, "%s", big);
    assert_false(b.failed);
    assert_int_equal(b.len, 3 + n + 1);
    assert_true(b.cap >= b.len + 1);
    assert_memory_equal(b.data, "OK y", 4);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_int_equal(b.data[b.len], '\0');

    char *data = b.data;
    size_t cap = b.cap;
    shop1_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    shop1_ok(&b, "PONG");
    assert_string_equal(b.data, "OK PONG\n");

    /* many small appends (the doubling path) */
    shop1_buf_reset(&b);
    for (int i = 0; i < 5000; i++) {
        shop1_row_begin(&b);
        shop1_row_int(&b, i % 10);
        shop1_row_end(&b);
    }
    assert_false(b.failed);
    assert_int_equal(b.len, 5000 * 4);
    assert_memory_equal(b.data + b.len - 8, "* 8\n* 9\n", 8);
    free(big);
    shop1_buf_free(&b);
}

static void test_failed_buffer_stops_appending(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_ok(&b, "one");
    b.failed = true; /* as after an allocation failure */
    shop1_ok(&b, "two");
    shop1_row_begin(&b);
    shop1_row_str(&b, "x");
    shop1_row_end(&b);
    shop1_err(&b, SHOP1_ERR_BUSY, "three");
    assert_true(b.failed);
    assert_int_equal(b.len, 7);
    assert_string_equal(b.data, "OK one\n");
    shop1_buf_reset(&b);
    assert_false(b.failed);
    shop1_ok(&b, "again");
    assert_string_equal(b.data, "OK again\n");
    shop1_buf_free(&b);
}

/* ---------------------------------------------------------------------------------------- */
/* Reply reading */

typedef struct {
    char buf[512];
    shop1_reply_line_t r;
    shop1_line_kind_t kind;
} reply_t;

static void read_reply_bytes(reply_t *rp, const char *s, size_t len)
{
    assert_true(len < sizeof rp->buf);
    memcpy(rp->buf, s, len);
    rp->buf[len] = 'Z';
    rp->kind = shop1_parse_reply_line(rp->buf, len, &rp->r);
    assert_int_equal(rp->kind, rp->r.kind);
}

static void read_reply(reply_t *rp, const char *s)
{
    read_reply_bytes(rp, s, strlen(s));
}

static void test_reply_data_lines(void **state)
{
    (void)state;
    reply_t rp;
    read_reply(&rp, "* 101\tPhone\t5\t100000.00");
    assert_int_equal(rp.kind, SHOP1_LINE_DATA);
    assert_int_equal(rp.r.nfields, 4);
    assert_string_equal(rp.r.fields[0], "101");
    assert_string_equal(rp.r.fields[1], "Phone");
    assert_string_equal(rp.r.fields[2], "5");
    assert_string_equal(rp.r.fields[3], "100000.00");
    assert_null(rp.r.fields[4]);
    assert_null(rp.r.code_name);

    read_reply(&rp, "* 1\tElectronics\t5\r");
    assert_int_equal(rp.kind, SHOP1_LINE_DATA);
    assert_int_equal(rp.r.nfields, 3);
    assert_string_equal(rp.r.fields[2], "5");

    read_reply(&rp, "* ");
    assert_int_equal(rp.kind, SHOP1_LINE_DATA);
    assert_int_equal(rp.r.nfields, 1);
    assert_string_equal(rp.r.fields[0], "");

    read_reply(&rp, "* \t\t");
    assert_int_equal(rp.kind, SHOP1_LINE_DATA);
    assert_int_equal(rp.r.nfields, 3);
    assert_string_equal(rp.r.fields[1], "");
    assert_string_equal(rp.r.fields[2], "");

    /* exactly SHOP1_FIELDS_MAX fields, then one more (INVALID: the row cannot be represented) */
    read_reply(&rp, "* 0\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15");
    assert_int_equal(rp.kind, SHOP1_LINE_DATA);
    assert_int_equal(rp.r.nfields, SHOP1_FIELDS_MAX);
    assert_string_equal(rp.r.fields[15], "15");
    read_reply(&rp, "* 0\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\t16");
    assert_int_equal(rp.kind, SHOP1_LINE_INVALID);
    assert_int_equal(rp.r.nfields, 0);
    assert_null(rp.r.fields[0]);
}

static void test_reply_ok_lines(void **state)
{
    (void)state;
    reply_t rp;
    read_reply(&rp, "OK");
    assert_int_equal(rp.kind, SHOP1_LINE_OK);
    assert_string_equal(rp.r.text, "");
    assert_int_equal(rp.r.code, SHOP1_OK);
    assert_null(rp.r.code_name);

    read_reply(&rp, "OK SHOP/1 netshop/0.1 ready\r");
    assert_int_equal(rp.kind, SHOP1_LINE_OK);
    assert_string_equal(rp.r.text, "SHOP/1 netshop/0.1 ready");

    read_reply(&rp, "OK ");
    assert_int_equal(rp.kind, SHOP1_LINE_OK);
    assert_string_equal(rp.r.text, "");

    read_reply(&rp, "OK order none open total 0.00 INR");
    assert_int_equal(rp.kind, SHOP1_LINE_OK);
    assert_string_equal(rp.r.text, "order none open total 0.00 INR");
}

static void test_reply_err_lines(void **state)
{
    (void)state;
    reply_t rp;
    read_reply(&rp, "ERR NO_SUCH_ITEM no item 107");
    assert_int_equal(rp.kind, SHOP1_LINE_ERR);
    assert_int_equal(rp.r.code, SHOP1_ERR_NO_SUCH_ITEM);
    assert_string_equal(rp.r.code_name, "NO_SUCH_ITEM");
    assert_string_equal(rp.r.text, "no item 107");

    read_reply(&rp, "ERR BUSY");
    assert_int_equal(rp.kind, SHOP1_LINE_ERR);
    assert_int_equal(rp.r.code, SHOP1_ERR_BUSY);
    assert_string_equal(rp.r.code_name, "BUSY");
    assert_string_equal(rp.r.text, "");

    read_reply(&rp, "ERR TIMEOUT idle for 300 seconds\r");
    assert_int_equal(rp.kind, SHOP1_LINE_ERR);
    assert_int_equal(rp.r.code, SHOP1_ERR_TIMEOUT);
    assert_string_equal(rp.r.text, "idle for 300 seconds");

    /* an unknown code word is still an ERR line */
    read_reply(&rp, "ERR SOMETHING_NEW text here");
    assert_int_equal(rp.kind, SHOP1_LINE_ERR);
    assert_int_equal(rp.r.code, SHOP1_ERROR_COUNT);
    assert_string_equal(rp.r.code_name, "SOMETHING_NEW");
    assert_string_equal(rp.r.text, "text here");

    read_reply(&rp, "ERR OK fine");
    assert_int_equal(rp.kind, SHOP1_LINE_ERR);
    assert_int_equal(rp.r.code, SHOP1_ERROR_COUNT);
}

static void test_reply_invalid_lines(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "", "*", "*x", "*\tx", "OKAY", "OK\tx", "ok", "O", "ERR", "ERR ", "ERR  x", "ERRX",
        "err BUSY", "hello", " OK", "\r",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        reply_t rp;
        read_reply(&rp, lines[i]);
        if (rp.kind != SHOP1_LINE_INVALID)
            fail_msg("\"%s\" parsed as kind %d", lines[i], (int)rp.kind);
        assert_int_equal(rp.r.nfields, 0);
        assert_null(rp.r.code_name);
    }
    reply_t rp;
    read_reply_bytes(&rp, "OK a\0b", 6);
    assert_int_equal(rp.kind, SHOP1_LINE_INVALID);
    read_reply_bytes(&rp, "* a\0\tb", 6);
    assert_int_equal(rp.kind, SHOP1_LINE_INVALID);
}

/* What the builder writes, the reader reads back. */
static void test_built_reply_reads_back(void **state)
{
    (void)state;
    shop1_buf_t b;
    shop1_buf_init(&b);
    shop1_row_begin(&b);
    shop1_row_int(&b, 3);
    shop1_row_str(&b, "Shoes\tand\nboots");
    shop1_row_money(&b, 123456, 2);
    shop1_row_end(&b);
    shop1_err(&b, SHOP1_ERR_LIMIT, "order has %d lines", ORDER_LINES_DEFAULT);
    assert_false(b.failed);

    char *line = b.data;
    char *lf = strchr(line, '\n');
    assert_non_null(lf);
    shop1_reply_line_t r;
    assert_int_equal(shop1_parse_reply_line(line, (size_t)(lf - line), &r), SHOP1_LINE_DATA);
    assert_int_equal(r.nfields, 3);
    assert_string_equal(r.fields[0], "3");
    assert_string_equal(r.fields[1], "Shoes and boots");
    assert_string_equal(r.fields[2], "1234.56");

    line = lf + 1;
    lf = strchr(line, '\n');
    assert_non_null(lf);
    assert_int_equal(shop1_parse_reply_line(line, (size_t)(lf - line), &r), SHOP1_LINE_ERR);
    assert_int_equal(r.code, SHOP1_ERR_LIMIT);
    assert_string_equal(r.text, "order has 1000 lines");
    shop1_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_parsed_in_any_case),
        cmocka_unit_test(test_login_user_and_password_bounds),
        cmocka_unit_test(test_login_errors),
        cmocka_unit_test(test_no_argument_verbs_parsed),
        cmocka_unit_test(test_no_argument_verbs_refuse_arguments),
        cmocka_unit_test(test_ping_token_ignored),
        cmocka_unit_test(test_browse_collapses_rest_of_line),
        cmocka_unit_test(test_item_parsed),
        cmocka_unit_test(test_item_errors),
        cmocka_unit_test(test_buy_parsed),
        cmocka_unit_test(test_buy_arity_errors),
        cmocka_unit_test(test_buy_bad_item_number),
        cmocka_unit_test(test_buy_bad_quantity),
        cmocka_unit_test(test_buy_bad_request_id),
        cmocka_unit_test(test_receipt_parsed),
        cmocka_unit_test(test_receipt_errors),
        cmocka_unit_test(test_empty_request),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_unknown_command_quote_is_truncated),
        cmocka_unit_test(test_nul_byte_rejected),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_valid_utf8_accepted),
        cmocka_unit_test(test_crlf_stripped),
        cmocka_unit_test(test_line_is_nul_terminated),
        cmocka_unit_test(test_tabs_separate_arguments),
        cmocka_unit_test(test_line_length_limit),
        cmocka_unit_test(test_error_texts_have_no_control_characters),
        cmocka_unit_test(test_error_names_round_trip),
        cmocka_unit_test(test_verb_names_round_trip),
        cmocka_unit_test(test_every_verb_has_its_own_row),
        cmocka_unit_test(test_table_names_and_arity_match_the_parser),
        cmocka_unit_test(test_anonymous_udp_set),
        cmocka_unit_test(test_tls_only_set),
        cmocka_unit_test(test_login_set),
        cmocka_unit_test(test_cacheable_and_write_sets),
        cmocka_unit_test(test_help_fields),
        cmocka_unit_test(test_verb_list_forms),
        cmocka_unit_test(test_row_with_money),
        cmocka_unit_test(test_row_fields_sanitised),
        cmocka_unit_test(test_row_fields_c1_and_invalid_utf8_sanitised),
        cmocka_unit_test(test_final_lines_c1_and_invalid_utf8_sanitised),
        cmocka_unit_test(test_row_empty_fields),
        cmocka_unit_test(test_ok_lines),
        cmocka_unit_test(test_err_lines),
        cmocka_unit_test(test_full_reply_bytes),
        cmocka_unit_test(test_buf_grows_and_resets),
        cmocka_unit_test(test_failed_buffer_stops_appending),
        cmocka_unit_test(test_reply_data_lines),
        cmocka_unit_test(test_reply_ok_lines),
        cmocka_unit_test(test_reply_err_lines),
        cmocka_unit_test(test_reply_invalid_lines),
        cmocka_unit_test(test_built_reply_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
