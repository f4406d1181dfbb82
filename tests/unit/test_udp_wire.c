/* test_udp_wire: unit tests of src/proto/udp_wire.c — the header's wire layout (a hand-written
 * byte vector), encode/decode round trips with extreme values, one test per invalid-datagram rule
 * with its result code, address tokens (exact bytes, epochs, skew, address/port/family/secret
 * binding, tampering; the per-thread key cache against the one-shot functions, across epoch
 * changes) and paging of reply text. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/udp_wire.h"

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

/* A datagram under construction: header (+ token) then payload. */
typedef struct {
    uint8_t buf[UDP_WIRE_DATAGRAM_MAX + 64];
    size_t len;
} dgram_t;

static const uint8_t sample_token[UDP_WIRE_TOKEN_LEN] = {
    0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB,
    0xAC, 0xAD, 0xAE, 0xAF, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7,
};

/* Encodes h (with sample_token when h has the TOKEN flag) and appends payload_len bytes 'x'. */
static void build(dgram_t *d, const udp_header_t *h, size_t payload_len)
{
    const uint8_t *token = (h->flags & UDP_FLAG_TOKEN) ? sample_token : NULL;
    d->len = udp_wire_encode_header(h, token, d->buf, sizeof d->buf);
    assert_true(d->len == UDP_WIRE_HEADER_LEN || d->len == UDP_WIRE_HEADER_LEN + 1 + UDP_WIRE_TOKEN_LEN);
    assert_true(d->len + payload_len <= sizeof d->buf);
    memset(d->buf + d->len, 'x', payload_len);
    d->len += payload_len;
}

static udp_header_t anon_request(void)
{
    return (udp_header_t){.type = UDP_TYPE_REQUEST, .request_id = 77};
}

static udp_header_t auth_request(void)
{
    return (udp_header_t){.type = UDP_TYPE_REQUEST, .session_id = 0xABCDEF, .packet_number = 3, .request_id = 77};
}

static udp_wire_result_t decode(const dgram_t *d, udp_datagram_t *out)
{
    return udp_wire_decode(d->buf, d->len, out);
}

/* Asserts that d decodes to want and leaves *out cleared. */
static void expect_invalid(const dgram_t *d, udp_wire_result_t want)
{
    udp_datagram_t out;
    memset(&out, 0xEE, sizeof out);
    assert_int_equal(decode(d, &out), want);
    assert_null(out.payload);
    assert_null(out.token);
    assert_int_equal(out.payload_len, 0);
    assert_int_equal(out.aad_len, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Header layout and round trips */

/* The spec table, written out by hand: a token-carrying authenticated request. */
static const uint8_t known_bytes[] = {
    0x4E, 0x53, 0x55, 0x01,                         /* magic "NSU", version 1 */
    0x01,                                           /* type: request */
    0x02,                                           /* flags: TOKEN */
    0x01, 0x02,                                     /* page 258 */
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* session id */
    0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x01, /* packet number */
    0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, /* request id */
    0x18,                                           /* token length 24 */
    0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB,
    0xAC, 0xAD, 0xAE, 0xAF, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, /* token */
    /* payload: 17 bytes standing for ciphertext || tag */
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40,
};

static const udp_header_t known_header = {
    .type = UDP_TYPE_REQUEST,
    .flags = UDP_FLAG_TOKEN,
    .page = 0x0102,
    .session_id = 0x1122334455667788ull,
    .packet_number = 0x99AABBCCDDEEFF01ull,
    .request_id = 0x0123456789ABCDEFull,
};

static void test_encode_writes_spec_layout(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = udp_wire_encode_header(&known_header, sample_token, out, sizeof out);
    assert_int_equal(n, 57);
    assert_memory_equal(out, known_bytes, 57);

    /* Without a token: exactly the 32 header bytes. */
    udp_header_t h = known_header;
    h.flags = 0;
    n = udp_wire_encode_header(&h, NULL, out, sizeof out);
    assert_int_equal(n, UDP_WIRE_HEADER_LEN);
    assert_memory_equal(out, known_bytes, 5);
    assert_int_equal(out[5], 0x00);
    assert_memory_equal(out + 6, known_bytes + 6, 26);
}

static void test_decode_reads_spec_layout(void **state)
{
    (void)state;
    udp_datagram_t d;
    assert_int_equal(udp_wire_decode(known_bytes, sizeof known_bytes, &d), UDP_WIRE_OK);
    assert_int_equal(d.hdr.type, UDP_TYPE_REQUEST);
    assert_int_equal(d.hdr.flags, UDP_FLAG_TOKEN);
    assert_int_equal(d.hdr.page, 258);
    assert_int_equal(d.hdr.session_id, 0x1122334455667788ull);
    assert_int_equal(d.hdr.packet_number, 0x99AABBCCDDEEFF01ull);
    assert_int_equal(d.hdr.request_id, 0x0123456789ABCDEFull);
    assert_ptr_equal(d.token, known_bytes + 33);
    assert_int_equal(d.aad_len, 57);
    assert_ptr_equal(d.payload, known_bytes + 57);
    assert_int_equal(d.payload_len, 17);
}

static void test_round_trip_max_values(void **state)
{
    (void)state;
    const udp_header_t cases[] = {
        {UDP_TYPE_REPLY, UDP_FLAG_MORE, UINT16_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX},
        {UDP_TYPE_REQUEST, UDP_FLAG_MORE | UDP_FLAG_TOKEN, UINT16_MAX, UINT64_MAX, 1, UINT64_MAX},
        {UDP_TYPE_REQUEST, 0, 0, 0, 0, 1},
        {UDP_TYPE_RETRY, UDP_FLAG_TOKEN, 7, 0, 0, 0x8000000000000000ull},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dgram_t g;
        size_t payload = cases[i].type == UDP_TYPE_RETRY ? 0 : 16;
        build(&g, &cases[i], payload);
        udp_datagram_t d;
        assert_int_equal(decode(&g, &d), UDP_WIRE_OK);
        assert_int_equal(d.hdr.type, cases[i].type);
        assert_int_equal(d.hdr.flags, cases[i].flags);
        assert_int_equal(d.hdr.page, cases[i].page);
        assert_int_equal(d.hdr.session_id, cases[i].session_id);
        assert_int_equal(d.hdr.packet_number, cases[i].packet_number);
        assert_int_equal(d.hdr.request_id, cases[i].request_id);
        bool has_token = cases[i].flags & UDP_FLAG_TOKEN;
        assert_int_equal(d.aad_len, has_token ? 57 : 32);
        if (has_token)
            assert_memory_equal(d.token, sample_token, UDP_WIRE_TOKEN_LEN);
        else
            assert_null(d.token);
        assert_int_equal(d.payload_len, payload);
        assert_int_equal(d.aad_len + d.payload_len, g.len);
        /* Re-encoding the decoded header gives back the same AAD bytes. */
        uint8_t again[64];
        assert_int_equal(udp_wire_encode_header(&d.hdr, d.token, again, sizeof again), d.aad_len);
        assert_memory_equal(again, g.buf, d.aad_len);
    }
}

static void test_encode_refuses_small_cap_and_disagreeing_token(void **state)
{
    (void)state;
    uint8_t out[64];
    udp_header_t h = anon_request();
    assert_int_equal(udp_wire_encode_header(&h, NULL, out, 31), 0);
    assert_int_equal(udp_wire_encode_header(&h, NULL, out, 32), 32);
    assert_int_equal(udp_wire_encode_header(&h, sample_token, out, sizeof out), 0); /* token, no flag */
    h.flags = UDP_FLAG_TOKEN;
    assert_int_equal(udp_wire_encode_header(&h, NULL, out, sizeof out), 0); /* flag, no token */
    assert_int_equal(udp_wire_encode_header(&h, sample_token, out, 56), 0);
    assert_int_equal(udp_wire_encode_header(&h, sample_token, out, 57), 57);
    h.flags = 0x04;
    assert_int_equal(udp_wire_encode_header(&h, NULL, out, sizeof out), 0);
    h.flags = 0;
    h.type = (udp_type_t)4;
    assert_int_equal(udp_wire_encode_header(&h, NULL, out, sizeof out), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Invalid datagrams, one rule each */

static void test_decode_too_short(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    build(&g, &h, 4);
    g.len = 31;
    expect_invalid(&g, UDP_WIRE_TOO_SHORT);
    g.len = 0;
    expect_invalid(&g, UDP_WIRE_TOO_SHORT);
}

static void test_decode_size_limit(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    build(&g, &h, UDP_WIRE_DATAGRAM_MAX - UDP_WIRE_HEADER_LEN + 1);
    assert_int_equal(g.len, 1201);
    expect_invalid(&g, UDP_WIRE_TOO_LONG);
    g.len = 1200;
    udp_datagram_t d;
    assert_int_equal(decode(&g, &d), UDP_WIRE_OK);
    assert_int_equal(d.payload_len, 1168);
}

static void test_decode_bad_magic_or_version(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    build(&g, &h, 4);
    g.buf[0] = 0x4F;
    expect_invalid(&g, UDP_WIRE_BAD_MAGIC);
    g.buf[0] = 0x4E;
    g.buf[3] = 0x02; /* version 2 */
    expect_invalid(&g, UDP_WIRE_BAD_MAGIC);
    g.buf[3] = 0x00;
    expect_invalid(&g, UDP_WIRE_BAD_MAGIC);
}

static void test_decode_bad_type(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    build(&g, &h, 4);
    g.buf[4] = 0;
    expect_invalid(&g, UDP_WIRE_BAD_TYPE);
    g.buf[4] = 4;
    expect_invalid(&g, UDP_WIRE_BAD_TYPE);
    g.buf[4] = 0xFF;
    expect_invalid(&g, UDP_WIRE_BAD_TYPE);
}

static void test_decode_unknown_flag_bits(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    build(&g, &h, 4);
    for (unsigned bit = 2; bit < 8; bit++) {
        g.buf[5] = (uint8_t)(1u << bit);
        expect_invalid(&g, UDP_WIRE_BAD_FLAGS);
    }
    g.buf[5] = UDP_FLAG_MORE | 0x80;
    expect_invalid(&g, UDP_WIRE_BAD_FLAGS);
}

static void test_decode_token_length_byte_must_be_24(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    h.flags = UDP_FLAG_TOKEN;
    build(&g, &h, 4);
    g.buf[32] = 23;
    expect_invalid(&g, UDP_WIRE_BAD_TOKEN);
    g.buf[32] = 25;
    expect_invalid(&g, UDP_WIRE_BAD_TOKEN);
    g.buf[32] = 0;
    expect_invalid(&g, UDP_WIRE_BAD_TOKEN);
}

static void test_decode_token_cut_short(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    h.flags = UDP_FLAG_TOKEN;
    build(&g, &h, 0);
    assert_int_equal(g.len, 57);
    g.len = 56; /* one token byte missing */
    expect_invalid(&g, UDP_WIRE_TOO_SHORT);
    g.len = 33; /* length byte, no token */
    expect_invalid(&g, UDP_WIRE_TOO_SHORT);
    g.len = 32; /* flag, no length byte */
    expect_invalid(&g, UDP_WIRE_TOO_SHORT);
}

static void test_decode_anonymous_with_packet_number(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    h.packet_number = 1;
    build(&g, &h, 4);
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
}

static void test_decode_authenticated_with_packet_number_zero(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = auth_request();
    h.packet_number = 0;
    build(&g, &h, 20);
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
}

static void test_decode_request_id_zero(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    h.request_id = 0;
    build(&g, &h, 4);
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
    h = auth_request();
    h.request_id = 0;
    build(&g, &h, 20);
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
}

static void test_decode_empty_payload(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = anon_request();
    build(&g, &h, 0);
    expect_invalid(&g, UDP_WIRE_EMPTY);
    h.flags = UDP_FLAG_TOKEN; /* a token is not a payload */
    build(&g, &h, 0);
    expect_invalid(&g, UDP_WIRE_EMPTY);
    h = (udp_header_t){.type = UDP_TYPE_REPLY, .request_id = 5};
    build(&g, &h, 0);
    expect_invalid(&g, UDP_WIRE_EMPTY);
    h = auth_request();
    build(&g, &h, 0);
    expect_invalid(&g, UDP_WIRE_EMPTY);
    /* One byte is enough for an anonymous request. */
    h = anon_request();
    build(&g, &h, 1);
    udp_datagram_t d;
    assert_int_equal(decode(&g, &d), UDP_WIRE_OK);
    assert_ptr_equal(d.payload, g.buf + 32);
    assert_int_equal(d.payload_len, 1);
}

static void test_decode_authenticated_needs_a_tag(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = auth_request();
    build(&g, &h, 15);
    expect_invalid(&g, UDP_WIRE_NO_TAG);
    build(&g, &h, 1);
    expect_invalid(&g, UDP_WIRE_NO_TAG);
    h.type = UDP_TYPE_REPLY;
    build(&g, &h, 15);
    expect_invalid(&g, UDP_WIRE_NO_TAG);
    build(&g, &h, 16); /* a tag over an empty text */
    udp_datagram_t d;
    assert_int_equal(decode(&g, &d), UDP_WIRE_OK);
    assert_int_equal(d.payload_len, 16);
    assert_int_equal(d.aad_len, 32);
}

static void test_decode_retry_shape(void **state)
{
    (void)state;
    dgram_t g;
    udp_header_t h = {.type = UDP_TYPE_RETRY, .flags = UDP_FLAG_TOKEN, .request_id = 12};
    build(&g, &h, 0);
    udp_datagram_t d;
    assert_int_equal(decode(&g, &d), UDP_WIRE_OK); /* token, no payload: fine for a retry */
    assert_int_equal(d.hdr.type, UDP_TYPE_RETRY);
    assert_memory_equal(d.token, sample_token, UDP_WIRE_TOKEN_LEN);
    assert_null(d.payload);
    assert_int_equal(d.payload_len, 0);

    build(&g, &h, 1); /* a retry carries no payload */
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
    h.flags = 0; /* a retry without its token */
    build(&g, &h, 0);
    expect_invalid(&g, UDP_WIRE_BAD_TOKEN);
    h = (udp_header_t){.type = UDP_TYPE_RETRY, .flags = UDP_FLAG_TOKEN, .session_id = 1, .packet_number = 1,
                       .request_id = 12}; /* retries are never sealed */
    build(&g, &h, 16);
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
    build(&g, &h, 0); /* nor numbered */
    expect_invalid(&g, UDP_WIRE_BAD_FIELDS);
    h.packet_number = 0; /* but may name the session of the sealed request it answers */
    build(&g, &h, 0);
    assert_int_equal(decode(&g, &d), UDP_WIRE_OK);
    assert_int_equal(d.hdr.session_id, 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Address tokens */

/* 1700000040 is the start of epoch 28333334. */
#define EPOCH_START 1700000040
#define ISSUE (EPOCH_START + 10)

static const uint8_t v4[4] = {192, 0, 2, 1};
static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

static udp_token_secret_t test_secret(void)
{
    udp_token_secret_t s;
    for (size_t i = 0; i < sizeof s.key; i++)
        s.key[i] = (uint8_t)i;
    return s;
}

static void make_v4(uint8_t tok[UDP_WIRE_TOKEN_LEN])
{
    udp_token_secret_t s = test_secret();
    assert_int_equal(udp_token_make(&s, ISSUE, AF_INET, v4, sizeof v4, 5555, tok), 0);
}

static udp_token_result_t check_v4(const uint8_t tok[UDP_WIRE_TOKEN_LEN], int64_t now)
{
    udp_token_secret_t s = test_secret();
    return udp_token_check(&s, now, AF_INET, v4, sizeof v4, 5555, tok);
}

/* Computed independently (Python hmac): issue time BE8, then the first 16 bytes of
 * HMAC-SHA256(HMAC-SHA256(secret, epoch BE8), issue BE8 || family || address || port BE2), for
 * test_secret, ISSUE, v4 port 5555 and v6 port 443. */
static const uint8_t want_v4[UDP_WIRE_TOKEN_LEN] = {
    0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x32, 0x32, 0x61, 0x00, 0x4e,
    0xbf, 0xfc, 0x21, 0xf6, 0x5f, 0x8e, 0x40, 0x9c, 0xd3, 0x0a, 0xd5, 0x44,
};
static const uint8_t want_v6[UDP_WIRE_TOKEN_LEN] = {
    0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x32, 0x6f, 0x86, 0x53, 0x4a,
    0xcd, 0x65, 0x4a, 0xe4, 0x40, 0x68, 0xae, 0x88, 0xc0, 0x2f, 0x5a, 0x9e,
};

static void test_token_exact_bytes(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    assert_memory_equal(tok, want_v4, UDP_WIRE_TOKEN_LEN);
    udp_token_secret_t s = test_secret();
    assert_int_equal(udp_token_make(&s, ISSUE, AF_INET6, v6, sizeof v6, 443, tok), 0);
    assert_memory_equal(tok, want_v6, UDP_WIRE_TOKEN_LEN);
}

static void test_token_valid_just_after_issue(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    assert_int_equal(check_v4(tok, ISSUE), UDP_TOKEN_VALID);
    assert_int_equal(check_v4(tok, ISSUE + 1), UDP_TOKEN_VALID);
    assert_int_equal(check_v4(tok, EPOCH_START + 59), UDP_TOKEN_VALID);
}

static void test_token_valid_in_next_epoch(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    assert_int_equal(check_v4(tok, EPOCH_START + 60), UDP_TOKEN_VALID);
    assert_int_equal(check_v4(tok, EPOCH_START + 119), UDP_TOKEN_VALID);
}

static void test_token_expired_two_epochs_later(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    assert_int_equal(check_v4(tok, EPOCH_START + 120), UDP_TOKEN_EXPIRED);
    assert_int_equal(check_v4(tok, EPOCH_START + 100000), UDP_TOKEN_EXPIRED);
}

static void test_token_from_the_future(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    assert_int_equal(check_v4(tok, ISSUE - 5), UDP_TOKEN_VALID); /* within the clock skew allowance */
    assert_int_equal(check_v4(tok, ISSUE - 6), UDP_TOKEN_EXPIRED);
    assert_int_equal(check_v4(tok, ISSUE - 3600), UDP_TOKEN_EXPIRED);
    assert_int_equal(check_v4(tok, INT64_MIN), UDP_TOKEN_EXPIRED);
}

static void test_token_wrong_address(void **state)
{
    (void)state;
    udp_token_secret_t s = test_secret();
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    const uint8_t other4[4] = {192, 0, 2, 2};
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET, other4, 4, 5555, tok), UDP_TOKEN_FORGED);

    assert_int_equal(udp_token_make(&s, ISSUE, AF_INET6, v6, sizeof v6, 5555, tok), 0);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET6, v6, sizeof v6, 5555, tok), UDP_TOKEN_VALID);
    uint8_t other6[16];
    memcpy(other6, v6, sizeof other6);
    other6[15] = 0x02;
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET6, other6, 16, 5555, tok), UDP_TOKEN_FORGED);
    other6[15] = 0x01;
    other6[0] = 0x30;
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET6, other6, 16, 5555, tok), UDP_TOKEN_FORGED);
}

static void test_token_wrong_port(void **state)
{
    (void)state;
    udp_token_secret_t s = test_secret();
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET, v4, 4, 5556, tok), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET, v4, 4, (uint16_t)(5555 ^ 0x0100), tok), UDP_TOKEN_FORGED);
}

static void test_token_wrong_family(void **state)
{
    (void)state;
    udp_token_secret_t s = test_secret();
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    /* The IPv4-mapped form of 192.0.2.1 is another address: its token does not serve IPv4. */
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    assert_int_equal(udp_token_make(&s, ISSUE, AF_INET6, mapped, 16, 5555, tok), 0);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET6, mapped, 16, 5555, tok), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET, v4, 4, 5555, tok), UDP_TOKEN_FORGED);
    /* A family that disagrees with the address length is refused. */
    make_v4(tok);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET6, v4, 4, 5555, tok), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_INET, v6, 16, 5555, tok), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_check(&s, ISSUE, AF_UNIX, v4, 4, 5555, tok), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_make(&s, ISSUE, AF_INET, v6, 16, 5555, tok), -1);
    assert_int_equal(udp_token_make(&s, ISSUE, AF_INET6, v4, 4, 5555, tok), -1);
}

static void test_token_wrong_secret(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    udp_token_secret_t other = test_secret();
    other.key[31] ^= 0x01;
    assert_int_equal(udp_token_check(&other, ISSUE, AF_INET, v4, 4, 5555, tok), UDP_TOKEN_FORGED);
}

static void test_token_any_flipped_byte_is_forged(void **state)
{
    (void)state;
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    make_v4(tok);
    for (size_t i = 0; i < UDP_WIRE_TOKEN_LEN; i++) {
        uint8_t bad[UDP_WIRE_TOKEN_LEN];
        memcpy(bad, tok, sizeof bad);
        bad[i] ^= 0x01; /* in the time bytes too: a moved issue time is caught by the MAC */
        assert_int_equal(check_v4(bad, ISSUE), UDP_TOKEN_FORGED);
    }
    assert_int_equal(check_v4(tok, ISSUE), UDP_TOKEN_VALID);
}

/* --- The per-thread key cache (udp_token_keys_*). --- */

static udp_token_keys_t *test_keys(void)
{
    udp_token_secret_t s = test_secret();
    udp_token_keys_t *k = udp_token_keys_new(&s);
    assert_non_null(k);
    return k;
}

static void test_token_keys_exact_bytes(void **state)
{
    (void)state;
    udp_token_keys_t *k = test_keys();
    uint8_t tok[UDP_WIRE_TOKEN_LEN];
    for (int round = 0; round < 2; round++) { /* derives the key, then uses the cached one */
        assert_int_equal(udp_token_keys_make(k, ISSUE, AF_INET, v4, sizeof v4, 5555, tok), 0);
        assert_memory_equal(tok, want_v4, UDP_WIRE_TOKEN_LEN);
        assert_int_equal(udp_token_keys_make(k, ISSUE, AF_INET6, v6, sizeof v6, 443, tok), 0);
        assert_memory_equal(tok, want_v6, UDP_WIRE_TOKEN_LEN);
    }
    assert_int_equal(udp_token_keys_make(k, ISSUE, AF_INET, v6, 16, 5555, tok), -1);
    assert_int_equal(udp_token_keys_make(k, ISSUE, AF_INET6, v4, 4, 5555, tok), -1);
    assert_int_equal(udp_token_keys_make(NULL, ISSUE, AF_INET, v4, 4, 5555, tok), -1);
    assert_null(udp_token_keys_new(NULL));
    udp_token_keys_free(k);
    udp_token_keys_free(NULL);
}

/* Epoch E = [EPOCH_START, EPOCH_START + 60). As the clock moves into E+1 and E+2, tokens are
 * made with the new epoch's key, those of the previous epoch stay valid and older ones expire;
 * a cache made from the same secret (another worker) accepts them, one from another secret
 * does not. */
static void test_token_keys_epoch_change(void **state)
{
    (void)state;
    udp_token_keys_t *k = test_keys();
    udp_token_keys_t *other_worker = test_keys();
    udp_token_secret_t s = test_secret();
    uint8_t tok_e[UDP_WIRE_TOKEN_LEN], tok_e1[UDP_WIRE_TOKEN_LEN], tok_e2[UDP_WIRE_TOKEN_LEN];
    uint8_t want[UDP_WIRE_TOKEN_LEN];

    assert_int_equal(udp_token_keys_make(k, ISSUE, AF_INET, v4, 4, 5555, tok_e), 0);
    assert_int_equal(udp_token_keys_check(k, ISSUE, AF_INET, v4, 4, 5555, tok_e), UDP_TOKEN_VALID);

    /* Into E+1: the new key makes what the one-shot function makes. */
    int64_t now = EPOCH_START + 60 + 3;
    assert_int_equal(udp_token_keys_make(k, now, AF_INET, v4, 4, 5555, tok_e1), 0);
    assert_int_equal(udp_token_make(&s, now, AF_INET, v4, 4, 5555, want), 0);
    assert_memory_equal(tok_e1, want, UDP_WIRE_TOKEN_LEN);
    assert_memory_not_equal(tok_e1 + 8, tok_e + 8, UDP_WIRE_TOKEN_LEN - 8);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, tok_e1), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, tok_e), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_keys_check(other_worker, now, AF_INET, v4, 4, 5555, tok_e), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_keys_check(other_worker, now, AF_INET, v4, 4, 5555, tok_e1), UDP_TOKEN_VALID);

    /* Into E+2: E's token has expired, E+1's is still good. */
    now = EPOCH_START + 120;
    assert_int_equal(udp_token_keys_make(k, now, AF_INET, v4, 4, 5555, tok_e2), 0);
    assert_int_equal(udp_token_make(&s, now, AF_INET, v4, 4, 5555, want), 0);
    assert_memory_equal(tok_e2, want, UDP_WIRE_TOKEN_LEN);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, tok_e), UDP_TOKEN_EXPIRED);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, tok_e1), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, tok_e2), UDP_TOKEN_VALID);

    /* Issued a few seconds "in the future", in the next epoch (another worker's clock). */
    now = EPOCH_START + 179;
    uint8_t ahead[UDP_WIRE_TOKEN_LEN];
    assert_int_equal(udp_token_keys_make(other_worker, now + 3, AF_INET, v4, 4, 5555, ahead), 0);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, ahead), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_check(&s, now, AF_INET, v4, 4, 5555, ahead), UDP_TOKEN_VALID);
    assert_int_equal(udp_token_keys_check(k, now - 3, AF_INET, v4, 4, 5555, ahead), UDP_TOKEN_EXPIRED);

    /* Bound to address, port and family; a flipped MAC byte is forged. */
    now = EPOCH_START + 121;
    const uint8_t other4[4] = {192, 0, 2, 2};
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, other4, 4, 5555, tok_e2), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5556, tok_e2), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_keys_check(k, now, AF_INET6, v4, 4, 5555, tok_e2), UDP_TOKEN_FORGED);
    assert_int_equal(udp_token_keys_check(NULL, now, AF_INET, v4, 4, 5555, tok_e2), UDP_TOKEN_FORGED);
    for (size_t i = 8; i < UDP_WIRE_TOKEN_LEN; i++) {
        uint8_t bad[UDP_WIRE_TOKEN_LEN];
        memcpy(bad, tok_e2, sizeof bad);
        bad[i] ^= 0x01;
        assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, bad), UDP_TOKEN_FORGED);
    }
    /* A moved issue time: forged when still in the window, expired (not MAC-checked) outside. */
    uint8_t moved[UDP_WIRE_TOKEN_LEN];
    memcpy(moved, tok_e2, sizeof moved);
    moved[7] ^= 0x01;
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, moved), UDP_TOKEN_FORGED);
    moved[7] ^= 0x01;
    moved[3] ^= 0x01;
    assert_int_equal(udp_token_keys_check(k, now, AF_INET, v4, 4, 5555, moved), UDP_TOKEN_EXPIRED);

    udp_token_secret_t changed = test_secret();
    changed.key[0] ^= 0x80;
    udp_token_keys_t *stranger = udp_token_keys_new(&changed);
    assert_non_null(stranger);
    assert_int_equal(udp_token_keys_check(stranger, now, AF_INET, v4, 4, 5555, tok_e2), UDP_TOKEN_FORGED);

    udp_token_keys_free(stranger);
    udp_token_keys_free(other_worker);
    udp_token_keys_free(k);
}

/* Over six epochs, with the clock stepping forward and back across boundaries (so slots are
 * replaced in every order): the cache makes the one-shot function's bytes, and accepts a token
 * exactly when the one-shot check does. */
static void test_token_keys_agree_with_one_shot(void **state)
{
    (void)state;
    udp_token_keys_t *k = test_keys();
    udp_token_secret_t s = test_secret();
    for (int64_t now = EPOCH_START - 70; now < EPOCH_START + 300; now += 7) {
        for (int64_t issue = now - 140; issue <= now + 10; issue += 3) {
            int64_t t = (issue % 2) ? now : now - 61; /* alternate the cache's clock */
            uint8_t tok[UDP_WIRE_TOKEN_LEN], want[UDP_WIRE_TOKEN_LEN];
            assert_int_equal(udp_token_make(&s, issue, AF_INET6, v6, 16, 443, want), 0);
            assert_int_equal(udp_token_keys_make(k, issue, AF_INET6, v6, 16, 443, tok), 0);
            assert_memory_equal(tok, want, UDP_WIRE_TOKEN_LEN);
            udp_token_result_t one_shot = udp_token_check(&s, t, AF_INET6, v6, 16, 443, tok);
            udp_token_result_t cached = udp_token_keys_check(k, t, AF_INET6, v6, 16, 443, tok);
            assert_int_equal(cached == UDP_TOKEN_VALID, one_shot == UDP_TOKEN_VALID);
            assert_int_equal(cached, one_shot); /* genuine tokens: the same reason too */
            tok[UDP_WIRE_TOKEN_LEN - 1] ^= 0x40;
            assert_int_not_equal(udp_token_keys_check(k, t, AF_INET6, v6, 16, 443, tok), UDP_TOKEN_VALID);
        }
    }
    udp_token_keys_free(k);
}

/* ---------------------------------------------------------------------------------------- */
/* Paging */

#define ROW_LEN 40
#define ROWS 25

/* A 25-row BROWSE reply whose rows are exactly 40 bytes: "* 1NN\tItem NN ....\t7\t1234.50\n". */
static size_t browse_reply(char *buf, size_t cap, size_t *data_len)
{
    size_t n = 0;
    for (int i = 1; i <= ROWS; i++) {
        char row[64];
        int len = snprintf(row, sizeof row, "* %d\tItem %02d %-15s\t7\t1234.50\n", 100 + i, i, "padding");
        assert_int_equal(len, ROW_LEN);
        assert_true(n + (size_t)len <= cap);
        memcpy(buf + n, row, (size_t)len);
        n += (size_t)len;
    }
    *data_len = n;
    const char *final = "OK 25 items in Electronics\n";
    assert_true(n + strlen(final) <= cap);
    memcpy(buf + n, final, strlen(final));
    return n + strlen(final);
}

static void test_page_browse_reply_cap_300(void **state)
{
    (void)state;
    char reply[2048];
    size_t data_len;
    size_t reply_len = browse_reply(reply, sizeof reply, &data_len);
    assert_int_equal(reply_len, 25 * 40 + 27);

    /* Each non-last page: 7 rows (280) + "OK MORE n\n" (10) = 290 <= 300. The 4th page has the
     * remaining 4 rows and the final line. */
    static const long want_len[] = {290, 290, 290, 4 * 40 + 27};
    char joined[2048];
    size_t joined_len = 0;
    for (unsigned p = 0; p < 4; p++) {
        char page[300];
        bool more = !(p < 3);
        long n = udp_page(reply, reply_len, p, page, sizeof page, &more);
        assert_int_equal(n, want_len[p]);
        assert_true(n <= 300);
        assert_int_equal(more, p < 3);
        size_t rows_len = (size_t)n;
        if (p < 3) {
            char want_more[16];
            snprintf(want_more, sizeof want_more, "OK MORE %u\n", p + 1);
            size_t ml = strlen(want_more);
            assert_int_equal(ml, 10);
            assert_memory_equal(page + n - (long)ml, want_more, ml);
            rows_len -= ml;
        } else {
            assert_memory_equal(page + n - 27, "OK 25 items in Electronics\n", 27);
            rows_len -= 27;
        }
        assert_int_equal(rows_len % ROW_LEN, 0);
        memcpy(joined + joined_len, page, rows_len);
        joined_len += rows_len;
    }
    /* The rows of all pages, in order, are the reply's rows. */
    assert_int_equal(joined_len, data_len);
    assert_memory_equal(joined, reply, data_len);

    char page[300];
    bool more = true;
    assert_int_equal(udp_page(reply, reply_len, 4, page, sizeof page, &more), -1);
    assert_false(more);
    assert_int_equal(udp_page(reply, reply_len, 65535, page, sizeof page, &more), -1);
}

static void test_page_is_deterministic_and_first_page_exact(void **state)
{
    (void)state;
    char reply[2048];
    size_t data_len;
    size_t reply_len = browse_reply(reply, sizeof reply, &data_len);
    char a[300], b[300];
    bool more;
    long na = udp_page(reply, reply_len, 1, a, sizeof a, &more);
    long nb = udp_page(reply, reply_len, 1, b, sizeof b, &more);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na);
    /* Page 1 holds rows 8..14 exactly. */
    assert_memory_equal(a, reply + 7 * ROW_LEN, 7 * ROW_LEN);
    assert_memory_equal(a, "* 108\tItem 08 ", 14);
}

static void test_page_short_reply_is_page_zero_only(void **state)
{
    (void)state;
    const char *reply = "* 1\tElectronics\t5\nOK 1 categories\n";
    char page[UDP_WIRE_DATAGRAM_MAX];
    bool more = true;
    long n = udp_page(reply, strlen(reply), 0, page, 1168, &more);
    assert_int_equal(n, (long)strlen(reply));
    assert_memory_equal(page, reply, strlen(reply));
    assert_false(more);
    more = true;
    assert_int_equal(udp_page(reply, strlen(reply), 1, page, 1168, &more), -1);
    assert_false(more);
}

static void test_page_reply_exactly_cap_is_one_page(void **state)
{
    (void)state;
    char reply[2048];
    size_t data_len;
    size_t reply_len = browse_reply(reply, sizeof reply, &data_len);
    char page[2048];
    bool more = true;
    assert_int_equal(udp_page(reply, reply_len, 0, page, reply_len, &more), (long)reply_len);
    assert_false(more);
    /* One byte less and it splits: all 25 rows fit with "OK MORE 1\n" (1010 bytes), so the
     * last page is the final line alone. */
    more = false;
    long n = udp_page(reply, reply_len, 0, page, reply_len - 1, &more);
    assert_true(more);
    assert_int_equal(n, 25 * 40 + 10);
    assert_memory_equal(page, reply, 25 * 40);
    assert_int_equal(udp_page(reply, reply_len, 1, page, reply_len - 1, &more), 27);
    assert_false(more);
    assert_memory_equal(page, "OK 25 items in Electronics\n", 27);
    assert_int_equal(udp_page(reply, reply_len, 2, page, reply_len - 1, &more), -1);
}

static void test_page_more_line_counts_against_cap(void **state)
{
    (void)state;
    char reply[2048];
    size_t data_len;
    size_t reply_len = browse_reply(reply, sizeof reply, &data_len);
    /* cap 285: 7 rows (280) would fit, but not with "OK MORE 1\n" (10), so 6 rows per page. */
    char page[285];
    bool more;
    long n = udp_page(reply, reply_len, 0, page, sizeof page, &more);
    assert_int_equal(n, 6 * 40 + 10);
    assert_true(more);
    assert_memory_equal(page + 240, "OK MORE 1\n", 10);
    /* Pages 0..3 have 6 rows each; page 4 the last row and the final line. */
    assert_int_equal(udp_page(reply, reply_len, 3, page, sizeof page, &more), 250);
    assert_memory_equal(page, reply + 18 * 40, 40);
    assert_int_equal(udp_page(reply, reply_len, 4, page, sizeof page, &more), 40 + 27);
    assert_false(more);
    assert_memory_equal(page, reply + 24 * 40, 67);
    /* With cap 64 each page holds one 40-byte row; from page 9 on, the MORE line names a
     * two-digit page ("OK MORE 10\n", 11 bytes) and the pages grow by one byte. */
    char small[64];
    assert_int_equal(udp_page(reply, reply_len, 8, small, sizeof small, &more), 50);
    assert_memory_equal(small + 40, "OK MORE 9\n", 10);
    assert_int_equal(udp_page(reply, reply_len, 9, small, sizeof small, &more), 51);
    assert_memory_equal(small, reply + 9 * 40, 40);
    assert_memory_equal(small + 40, "OK MORE 10\n", 11);
    assert_int_equal(udp_page(reply, reply_len, 10, small, sizeof small, &more), 51);
    assert_memory_equal(small, reply + 10 * 40, 40);
    assert_memory_equal(small + 40, "OK MORE 11\n", 11);
}

static void test_page_cap_below_minimum(void **state)
{
    (void)state;
    const char *reply = "OK\n";
    char page[64];
    bool more;
    assert_int_equal(udp_page(reply, 3, 0, page, 63, &more), -1);
    assert_int_equal(udp_page(reply, 3, 0, page, 64, &more), 3);
}

static void test_page_cuts_overlong_lines(void **state)
{
    (void)state;
    /* A 200-byte data line with cap 100: cut to 60 bytes + "...\n", then the MORE line. */
    char reply[512];
    memset(reply, 'a', 199);
    reply[0] = '*';
    reply[1] = ' ';
    reply[199] = '\n';
    memcpy(reply + 200, "OK 1 items in X\n", 16);
    char page[100];
    bool more = false;
    long n = udp_page(reply, 216, 0, page, sizeof page, &more);
    assert_int_equal(n, 60 + 4 + 10);
    assert_true(more);
    assert_memory_equal(page, reply, 60);
    assert_memory_equal(page + 60, "...\nOK MORE 1\n", 14);
    n = udp_page(reply, 216, 1, page, sizeof page, &more);
    assert_int_equal(n, 16);
    assert_false(more);
    assert_memory_equal(page, "OK 1 items in X\n", 16);

    /* A final line longer than cap, alone: cut, and it is the last page. */
    char final[150];
    memset(final, 'e', sizeof final);
    memcpy(final, "ERR ", 4);
    final[149] = '\n';
    n = udp_page(final, sizeof final, 0, page, sizeof page, &more);
    assert_int_equal(n, 64);
    assert_false(more);
    assert_memory_equal(page, final, 60);
    assert_memory_equal(page + 60, "...\n", 4);
    assert_int_equal(udp_page(final, sizeof final, 1, page, sizeof page, &more), -1);
}

static void test_page_cut_keeps_utf8_whole(void **state)
{
    (void)state;
    /* "é" (C3 A9) straddles byte 60, where the cut would fall: the cut backs off before it. */
    char reply[256];
    memset(reply, 'b', 200);
    reply[59] = (char)0xC3;
    reply[60] = (char)0xA9;
    reply[199] = '\n';
    memcpy(reply + 200, "OK\n", 3);
    char page[100];
    bool more;
    long n = udp_page(reply, 203, 0, page, sizeof page, &more);
    assert_int_equal(n, 59 + 4 + 10);
    assert_memory_equal(page + 59, "...\nOK MORE 1\n", 14);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_writes_spec_layout),
        cmocka_unit_test(test_decode_reads_spec_layout),
        cmocka_unit_test(test_round_trip_max_values),
        cmocka_unit_test(test_encode_refuses_small_cap_and_disagreeing_token),
        cmocka_unit_test(test_decode_too_short),
        cmocka_unit_test(test_decode_size_limit),
        cmocka_unit_test(test_decode_bad_magic_or_version),
        cmocka_unit_test(test_decode_bad_type),
        cmocka_unit_test(test_decode_unknown_flag_bits),
        cmocka_unit_test(test_decode_token_length_byte_must_be_24),
        cmocka_unit_test(test_decode_token_cut_short),
        cmocka_unit_test(test_decode_anonymous_with_packet_number),
        cmocka_unit_test(test_decode_authenticated_with_packet_number_zero),
        cmocka_unit_test(test_decode_request_id_zero),
        cmocka_unit_test(test_decode_empty_payload),
        cmocka_unit_test(test_decode_authenticated_needs_a_tag),
        cmocka_unit_test(test_decode_retry_shape),
        cmocka_unit_test(test_token_exact_bytes),
        cmocka_unit_test(test_token_valid_just_after_issue),
        cmocka_unit_test(test_token_valid_in_next_epoch),
        cmocka_unit_test(test_token_expired_two_epochs_later),
        cmocka_unit_test(test_token_from_the_future),
        cmocka_unit_test(test_token_wrong_address),
        cmocka_unit_test(test_token_wrong_port),
        cmocka_unit_test(test_token_wrong_family),
        cmocka_unit_test(test_token_wrong_secret),
        cmocka_unit_test(test_token_any_flipped_byte_is_forged),
        cmocka_unit_test(test_token_keys_exact_bytes),
        cmocka_unit_test(test_token_keys_epoch_change),
        cmocka_unit_test(test_token_keys_agree_with_one_shot),
        cmocka_unit_test(test_page_browse_reply_cap_300),
        cmocka_unit_test(test_page_is_deterministic_and_first_page_exact),
        cmocka_unit_test(test_page_short_reply_is_page_zero_only),
        cmocka_unit_test(test_page_reply_exactly_cap_is_one_page),
        cmocka_unit_test(test_page_more_line_counts_against_cap),
        cmocka_unit_test(test_page_cap_below_minimum),
        cmocka_unit_test(test_page_cuts_overlong_lines),
        cmocka_unit_test(test_page_cut_keeps_utf8_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
