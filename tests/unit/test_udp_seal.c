/* test_udp_seal: unit tests of src/proto/udp_seal.c — the export key split, ChaCha20-Poly1305
 * sealing against the RFC 8439 §2.8.2 vector, the nonce built from IV and packet number, failures
 * on any altered byte, key or packet number, and the 64-packet anti-replay window. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/udp_seal.h"
#include "proto/udp_wire.h"

/* RFC 8439 §2.8.2: AEAD_CHACHA20_POLY1305 test vector. */
static const char rfc_plain[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
                                "the future, sunscreen would be it.";
#define RFC_PLAIN_LEN 114
static const uint8_t rfc_aad[12] = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
static const uint8_t rfc_cipher[RFC_PLAIN_LEN] = {
    0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb, 0x7b, 0x86, 0xaf, 0xbc, 0x53, 0xef, 0x7e, 0xc2, 0xa4, 0xad, 0xed,
    0x51, 0x29, 0x6e, 0x08, 0xfe, 0xa9, 0xe2, 0xb5, 0xa7, 0x36, 0xee, 0x62, 0xd6, 0x3d, 0xbe, 0xa4, 0x5e, 0x8c, 0xa9,
    0x67, 0x12, 0x82, 0xfa, 0xfb, 0x69, 0xda, 0x92, 0x72, 0x8b, 0x1a, 0x71, 0xde, 0x0a, 0x9e, 0x06, 0x0b, 0x29, 0x05,
    0xd6, 0xa5, 0xb6, 0x7e, 0xcd, 0x3b, 0x36, 0x92, 0xdd, 0xbd, 0x7f, 0x2d, 0x77, 0x8b, 0x8c, 0x98, 0x03, 0xae, 0xe3,
    0x28, 0x09, 0x1b, 0x58, 0xfa, 0xb3, 0x24, 0xe4, 0xfa, 0xd6, 0x75, 0x94, 0x55, 0x85, 0x80, 0x8b, 0x48, 0x31, 0xd7,
    0xbc, 0x3f, 0xf4, 0xde, 0xf0, 0x8e, 0x4b, 0x7a, 0x9d, 0xe5, 0x76, 0xd2, 0x65, 0x86, 0xce, 0xc6, 0x4b, 0x61, 0x16,
};
static const uint8_t rfc_tag[16] = {0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a,
                                    0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06, 0x91};

/* The RFC's nonce is 07 00 00 00 40 41 42 43 44 45 46 47. With IV 07 00 .. 00 and packet number
 * 0x4041424344454647 (big-endian, right-aligned) the protocol's nonce rule gives exactly that. */
#define RFC_PN 0x4041424344454647ull

static void rfc_keys(udp_dir_keys_t *k)
{
    for (size_t i = 0; i < UDP_KEY_LEN; i++)
        k->key[i] = (uint8_t)(0x80 + i);
    memset(k->iv, 0, UDP_IV_LEN);
    k->iv[0] = 0x07;
}

static int setup_aead(void **state)
{
    udp_aead_t *a = udp_aead_new();
    if (a == NULL)
        return -1;
    *state = a;
    return 0;
}

static int teardown_aead(void **state)
{
    udp_aead_free(*state);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Keys */

static void test_keys_from_export_splits_per_spec_table(void **state)
{
    (void)state;
    uint8_t exported[UDP_EXPORT_LEN];
    for (size_t i = 0; i < sizeof exported; i++)
        exported[i] = (uint8_t)i;
    assert_int_equal(UDP_EXPORT_LEN, 88);
    udp_dir_keys_t c2s, s2c;
    udp_keys_from_export(exported, &c2s, &s2c);
    for (size_t i = 0; i < UDP_KEY_LEN; i++) {
        assert_int_equal(c2s.key[i], i);      /* bytes 0..31 */
        assert_int_equal(s2c.key[i], 44 + i); /* bytes 44..75 */
    }
    for (size_t i = 0; i < UDP_IV_LEN; i++) {
        assert_int_equal(c2s.iv[i], 32 + i); /* bytes 32..43 */
        assert_int_equal(s2c.iv[i], 76 + i); /* bytes 76..87 */
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Seal and open */

static void test_seal_matches_rfc8439_vector(void **state)
{
    udp_aead_t *a = *state;
    udp_dir_keys_t k;
    rfc_keys(&k);
    assert_int_equal(strlen(rfc_plain), RFC_PLAIN_LEN);
    uint8_t sealed[RFC_PLAIN_LEN + 16];
    long n = udp_seal(a, &k, RFC_PN, rfc_aad, sizeof rfc_aad, (const uint8_t *)rfc_plain, RFC_PLAIN_LEN, sealed);
    assert_int_equal(n, RFC_PLAIN_LEN + 16);
    assert_memory_equal(sealed, rfc_cipher, RFC_PLAIN_LEN);
    assert_memory_equal(sealed + RFC_PLAIN_LEN, rfc_tag, 16);

    /* And the RFC's ciphertext || tag opens to its plain text. */
    uint8_t in[RFC_PLAIN_LEN + 16], plain[RFC_PLAIN_LEN];
    memcpy(in, rfc_cipher, RFC_PLAIN_LEN);
    memcpy(in + RFC_PLAIN_LEN, rfc_tag, 16);
    assert_int_equal(udp_open(a, &k, RFC_PN, rfc_aad, sizeof rfc_aad, in, sizeof in, plain), RFC_PLAIN_LEN);
    assert_memory_equal(plain, rfc_plain, RFC_PLAIN_LEN);
}

static void test_nonce_is_iv_xor_packet_number(void **state)
{
    udp_aead_t *a = *state;
    /* Same nonce reached another way: IV = RFC nonce XOR 1, packet number 1. */
    udp_dir_keys_t k;
    rfc_keys(&k);
    static const uint8_t nonce[UDP_IV_LEN] = {0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
    memcpy(k.iv, nonce, UDP_IV_LEN);
    k.iv[UDP_IV_LEN - 1] ^= 0x01;
    uint8_t sealed[RFC_PLAIN_LEN + 16];
    assert_int_equal(udp_seal(a, &k, 1, rfc_aad, sizeof rfc_aad, (const uint8_t *)rfc_plain, RFC_PLAIN_LEN, sealed),
                     RFC_PLAIN_LEN + 16);
    assert_memory_equal(sealed, rfc_cipher, RFC_PLAIN_LEN);
    assert_memory_equal(sealed + RFC_PLAIN_LEN, rfc_tag, 16);
}

/* A sealed sample datagram: 32 header bytes as AAD and a command as plain text. */
typedef struct {
    udp_dir_keys_t k;
    uint8_t aad[UDP_WIRE_HEADER_LEN];
    uint8_t sealed[64];
    long sealed_len;
} sample_t;

static const char sample_plain[] = "BUY 101 2 order-7";

static void make_sample(udp_aead_t *a, sample_t *s)
{
    for (size_t i = 0; i < UDP_KEY_LEN; i++)
        s->k.key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < UDP_IV_LEN; i++)
        s->k.iv[i] = (uint8_t)(0xA0 + i);
    udp_header_t h = {.type = UDP_TYPE_REQUEST, .session_id = 0x1122334455667788ull, .packet_number = 42,
                      .request_id = 9};
    assert_int_equal(udp_wire_encode_header(&h, NULL, s->aad, sizeof s->aad), UDP_WIRE_HEADER_LEN);
    s->sealed_len = udp_seal(a, &s->k, 42, s->aad, sizeof s->aad, (const uint8_t *)sample_plain,
                             strlen(sample_plain), s->sealed);
    assert_int_equal(s->sealed_len, strlen(sample_plain) + 16);
}

/* Opens s as given; returns udp_open's result and checks out holds nothing on failure. */
static long open_sample(udp_aead_t *a, const sample_t *s, const udp_dir_keys_t *k, uint64_t pn)
{
    uint8_t plain[64];
    memset(plain, 0x5A, sizeof plain);
    long n = udp_open(a, k, pn, s->aad, sizeof s->aad, s->sealed, (size_t)s->sealed_len, plain);
    if (n < 0) {
        /* No unauthenticated plain text left behind. */
        for (size_t i = 0; i < (size_t)s->sealed_len - 16; i++)
            assert_int_equal(plain[i], 0);
    }
    return n;
}

static void test_seal_open_round_trip(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    /* The ciphertext is not the plain text. */
    assert_memory_not_equal(s.sealed, sample_plain, strlen(sample_plain));
    uint8_t plain[64];
    long n = udp_open(a, &s.k, 42, s.aad, sizeof s.aad, s.sealed, (size_t)s.sealed_len, plain);
    assert_int_equal(n, strlen(sample_plain));
    assert_memory_equal(plain, sample_plain, strlen(sample_plain));

    /* Empty plain text: just the tag, still authenticated. */
    uint8_t tag_only[16];
    assert_int_equal(udp_seal(a, &s.k, 43, s.aad, sizeof s.aad, NULL, 0, tag_only), 16);
    assert_int_equal(udp_open(a, &s.k, 43, s.aad, sizeof s.aad, tag_only, 16, NULL), 0);
    tag_only[0] ^= 1;
    assert_int_equal(udp_open(a, &s.k, 43, s.aad, sizeof s.aad, tag_only, 16, NULL), -1);
}

static void test_same_context_alternates_directions(void **state)
{
    /* Re-keying one context per call: sealing with two keys in turn and opening in between gives
     * the same bytes as a fresh context each time. */
    udp_aead_t *a = *state;
    udp_aead_t *fresh = udp_aead_new();
    assert_non_null(fresh);
    sample_t s;
    make_sample(a, &s);
    udp_dir_keys_t other = s.k;
    other.key[0] ^= 0xFF;
    for (uint64_t pn = 1; pn <= 5; pn++) {
        uint8_t x[64], y[64], plain[64];
        const udp_dir_keys_t *k = (pn % 2) ? &s.k : &other;
        assert_int_equal(udp_seal(a, k, pn, s.aad, sizeof s.aad, (const uint8_t *)"PING", 4, x), 20);
        assert_int_equal(udp_open(a, k, pn, s.aad, sizeof s.aad, x, 20, plain), 4);
        assert_memory_equal(plain, "PING", 4);
        assert_int_equal(udp_seal(fresh, k, pn, s.aad, sizeof s.aad, (const uint8_t *)"PING", 4, y), 20);
        assert_memory_equal(x, y, 20);
    }
    udp_aead_free(fresh);
}

static void test_flipped_bit_in_ciphertext_fails(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    s.sealed[3] ^= 0x10;
    assert_int_equal(open_sample(a, &s, &s.k, 42), -1);
}

static void test_flipped_bit_in_tag_fails(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    s.sealed[s.sealed_len - 1] ^= 0x80;
    assert_int_equal(open_sample(a, &s, &s.k, 42), -1);
}

static void test_flipped_bit_in_aad_fails(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    s.aad[31] ^= 0x01; /* the request id's last byte */
    assert_int_equal(open_sample(a, &s, &s.k, 42), -1);
}

static void test_wrong_key_fails(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    udp_dir_keys_t k = s.k;
    k.key[31] ^= 0x01;
    assert_int_equal(open_sample(a, &s, &k, 42), -1);
    k = s.k;
    k.iv[0] ^= 0x01;
    assert_int_equal(open_sample(a, &s, &k, 42), -1);
}

static void test_wrong_packet_number_fails(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    assert_int_equal(open_sample(a, &s, &s.k, 41), -1);
    assert_int_equal(open_sample(a, &s, &s.k, 43), -1);
    assert_int_equal(open_sample(a, &s, &s.k, 42 | (1ull << 63)), -1);
    assert_int_equal(open_sample(a, &s, &s.k, 42), (long)strlen(sample_plain));
}

static void test_open_rejects_shorter_than_tag(void **state)
{
    udp_aead_t *a = *state;
    sample_t s;
    make_sample(a, &s);
    uint8_t plain[64];
    assert_int_equal(udp_open(a, &s.k, 42, s.aad, sizeof s.aad, s.sealed, 15, plain), -1);
    assert_int_equal(udp_open(a, &s.k, 42, s.aad, sizeof s.aad, s.sealed, 0, plain), -1);
}

/* ---------------------------------------------------------------------------------------- */
/* Replay window */

static void test_replay_zero_never_valid(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    assert_false(udp_replay_check(&r, 0));
    udp_replay_accept(&r, 5);
    assert_false(udp_replay_check(&r, 0));
}

static void test_replay_in_order(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    for (uint64_t pn = 1; pn <= 200; pn++) {
        assert_true(udp_replay_check(&r, pn));
        udp_replay_accept(&r, pn);
        assert_int_equal(r.highest, pn);
        assert_false(udp_replay_check(&r, pn));
    }
    /* Every one of the last 64 is marked seen. */
    assert_int_equal(r.bitmap, UINT64_MAX);
}

static void test_replay_duplicate_rejected(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, 1);
    udp_replay_accept(&r, 2);
    udp_replay_accept(&r, 3);
    assert_false(udp_replay_check(&r, 1));
    assert_false(udp_replay_check(&r, 2));
    assert_false(udp_replay_check(&r, 3));
    assert_true(udp_replay_check(&r, 4));
}

static void test_replay_out_of_order_within_window(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, 10);
    assert_true(udp_replay_check(&r, 7));
    udp_replay_accept(&r, 7);
    assert_int_equal(r.highest, 10);
    assert_false(udp_replay_check(&r, 7));
    assert_true(udp_replay_check(&r, 8));
    assert_true(udp_replay_check(&r, 9));
    assert_true(udp_replay_check(&r, 1));
    udp_replay_accept(&r, 9);
    assert_false(udp_replay_check(&r, 9));
    assert_true(udp_replay_check(&r, 8));
    assert_int_equal(r.bitmap, (1u << 0) | (1u << 3) | (1u << 1));
}

static void test_replay_63_and_64_behind(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, 1000);
    assert_true(udp_replay_check(&r, 1000 - 63));  /* the window's oldest slot */
    assert_false(udp_replay_check(&r, 1000 - 64)); /* just outside */
    udp_replay_accept(&r, 1000 - 63);
    assert_false(udp_replay_check(&r, 1000 - 63));
    assert_int_equal(r.bitmap, 1ull | (1ull << 63));
    /* One step up pushes 937 out of the window: too old now, not just seen. */
    udp_replay_accept(&r, 1001);
    assert_false(udp_replay_check(&r, 1001 - 64));
    assert_true(udp_replay_check(&r, 1001 - 63));
}

static void test_replay_too_old(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, 500);
    assert_false(udp_replay_check(&r, 1));
    assert_false(udp_replay_check(&r, 400));
    assert_false(udp_replay_check(&r, 436));
    assert_true(udp_replay_check(&r, 437));
}

static void test_replay_jump_of_1000(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    for (uint64_t pn = 1; pn <= 10; pn++)
        udp_replay_accept(&r, pn);
    udp_replay_accept(&r, 1010);
    assert_int_equal(r.highest, 1010);
    assert_int_equal(r.bitmap, 1);
    assert_false(udp_replay_check(&r, 10));
    assert_false(udp_replay_check(&r, 1010));
    for (uint64_t pn = 1010 - 63; pn < 1010; pn++)
        assert_true(udp_replay_check(&r, pn));
}

static void test_replay_jump_of_exactly_64(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, 99);
    udp_replay_accept(&r, 100);
    udp_replay_accept(&r, 164);
    assert_int_equal(r.highest, 164);
    assert_int_equal(r.bitmap, 1); /* 100 and 99 shifted out, not wrapped in */
    assert_false(udp_replay_check(&r, 100));
    assert_false(udp_replay_check(&r, 99));
    for (uint64_t pn = 101; pn < 164; pn++)
        assert_true(udp_replay_check(&r, pn));
    assert_false(udp_replay_check(&r, 164));
    /* A jump of 63 keeps the old top at the window's edge. */
    udp_replay_accept(&r, 227);
    assert_int_equal(r.bitmap, 1ull | (1ull << 63));
    assert_false(udp_replay_check(&r, 164));
}

static void test_replay_check_does_not_modify(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, 20);
    udp_replay_accept(&r, 18);
    udp_replay_t before = r;
    assert_true(udp_replay_check(&r, 19));
    assert_true(udp_replay_check(&r, 90));
    assert_false(udp_replay_check(&r, 18));
    assert_false(udp_replay_check(&r, 0));
    assert_int_equal(r.highest, before.highest);
    assert_int_equal(r.bitmap, before.bitmap);
    /* Checked twice, still acceptable: checking is not accepting. */
    assert_true(udp_replay_check(&r, 19));
}

static void test_replay_huge_numbers(void **state)
{
    (void)state;
    udp_replay_t r = {0};
    udp_replay_accept(&r, UINT64_MAX - 1);
    assert_true(udp_replay_check(&r, UINT64_MAX));
    udp_replay_accept(&r, UINT64_MAX);
    assert_int_equal(r.bitmap, 3);
    assert_false(udp_replay_check(&r, UINT64_MAX));
    assert_false(udp_replay_check(&r, UINT64_MAX - 1));
    assert_true(udp_replay_check(&r, UINT64_MAX - 2));
    assert_false(udp_replay_check(&r, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_from_export_splits_per_spec_table),
        cmocka_unit_test_setup_teardown(test_seal_matches_rfc8439_vector, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_nonce_is_iv_xor_packet_number, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_seal_open_round_trip, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_same_context_alternates_directions, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_flipped_bit_in_ciphertext_fails, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_flipped_bit_in_tag_fails, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_flipped_bit_in_aad_fails, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_wrong_key_fails, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_wrong_packet_number_fails, setup_aead, teardown_aead),
        cmocka_unit_test_setup_teardown(test_open_rejects_shorter_than_tag, setup_aead, teardown_aead),
        cmocka_unit_test(test_replay_zero_never_valid),
        cmocka_unit_test(test_replay_in_order),
        cmocka_unit_test(test_replay_duplicate_rejected),
        cmocka_unit_test(test_replay_out_of_order_within_window),
        cmocka_unit_test(test_replay_63_and_64_behind),
        cmocka_unit_test(test_replay_too_old),
        cmocka_unit_test(test_replay_jump_of_1000),
        cmocka_unit_test(test_replay_jump_of_exactly_64),
        cmocka_unit_test(test_replay_check_does_not_modify),
        cmocka_unit_test(test_replay_huge_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
