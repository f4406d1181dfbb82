/* Unit tests for src/server/certs.c (making the CA, server key, CSR and certificate) and
 * src/server/tls.c (the server TLS context), against the real OpenSSL library: file modes, certificate
 * contents, chain verification, refusal/force semantics, SAN validation, and real in-memory TLS
 * handshakes between a verifying client and the server context. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/certs.h"
#include "server/tls.h"

#define ERRLEN 512
#define HANDSHAKE_ROUNDS 64

static const char *const all_files[] = { CERTS_CA_KEY, CERTS_CA_CRT, CERTS_SERVER_KEY,
                                         CERTS_SERVER_CSR, CERTS_SERVER_CRT };
#define N_ALL_FILES (sizeof all_files / sizeof all_files[0])

static const char *const extra_sans[] = { "shop.example.com", "192.0.2.7", "2001:db8::1" };
#define N_EXTRA_SANS (sizeof extra_sans / sizeof extra_sans[0])

/* The directory made once for the group by group_setup (read-only for the tests that use it). */
static char shared_dir[PATH_MAX];

/* ---- helpers -------------------------------------------------------------------------------- */

static void make_temp_dir(char out[static PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "/tmp/netshop-test-certs-XXXXXX");
    assert_true(n > 0 && n < PATH_MAX);
    assert_non_null(mkdtemp(out));
    assert_int_equal(chmod(out, 0700), 0);
}

static void path_in(const char *dir, const char *name, char out[static PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

/* Number of directory entries other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        path_in(dir, e->d_name, p);
        (void)unlink(p);
    }
    closedir(d);
    (void)rmdir(dir);
}

/* Reads a whole file into a malloc'd buffer (caller frees); *len gets its size. */
static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[PATH_MAX];
    path_in(dir, name, p);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static bool same_file_contents(const char *dir, const char *name, const unsigned char *want,
                               size_t want_len)
{
    size_t len;
    unsigned char *got = slurp(dir, name, &len);
    bool same = len == want_len && memcmp(got, want, len) == 0;
    free(got);
    return same;
}

static X509 *load_cert(const char *dir, const char *name)
{
    char p[PATH_MAX];
    path_in(dir, name, p);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
    char p[PATH_MAX];
    path_in(dir, name, p);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static X509_REQ *load_csr(const char *dir, const char *name)
{
    char p[PATH_MAX];
    path_in(dir, name, p);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    X509_REQ *r = PEM_read_X509_REQ(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(r);
    return r;
}

static mode_t file_mode(const char *dir, const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    path_in(dir, name, p);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    return st.st_mode & 07777;
}

static void common_name(X509_NAME *name, char out[static 128])
{
    int n = X509_NAME_get_text_by_NID(name, NID_commonName, out, 128);
    assert_true(n > 0);
}

/* Formats a general name as "DNS:<name>" or "IP:<address>". */
static void format_general_name(const GENERAL_NAME *g, char out[static 128])
{
    if (g->type == GEN_DNS) {
        int n = snprintf(out, 128, "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
                         (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        assert_true(n > 0 && n < 128);
    } else if (g->type == GEN_IPADD) {
        char addr[INET6_ADDRSTRLEN];
        int len = ASN1_STRING_length(g->d.iPAddress);
        assert_true(len == 4 || len == 16);
        assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6,
                                  ASN1_STRING_get0_data(g->d.iPAddress), addr, sizeof addr));
        int n = snprintf(out, 128, "IP:%s", addr);
        assert_true(n > 0 && n < 128);
    } else {
        fail_msg("unexpected general name type %d", g->type);
    }
}

/* Asserts that names holds exactly want[0..n) in order. */
static void assert_names(const GENERAL_NAMES *names, const char *const *want, int n)
{
    assert_non_null(names);
    assert_int_equal(sk_GENERAL_NAME_num(names), n);
    for (int i = 0; i < n; i++) {
        char got[128];
        format_general_name(sk_GENERAL_NAME_value(names, i), got);
        assert_string_equal(got, want[i]);
    }
}

static void assert_cert_sans(X509 *x, const char *const *want, int n)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_names(names, want, n);
    GENERAL_NAMES_free(names);
}

/* Verifies leaf against ca as a TLS server certificate; returns the X509_V_* result. */
static int verify_server_cert(X509 *leaf, X509 *ca)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), 1);
    int ok = X509_verify_cert(ctx);
    int result = X509_STORE_CTX_get_error(ctx);
    assert_int_equal(ok == 1, result == X509_V_OK);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return result;
}

static void assert_is_ec_p256_pkcs8(const char *dir, const char *name)
{
    size_t len;
    unsigned char *pem = slurp(dir, name, &len);
    static const char header[] = "-----BEGIN PRIVATE KEY-----\n";
    assert_true(len > sizeof header);
    assert_memory_equal(pem, header, sizeof header - 1);
    free(pem);

    EVP_PKEY *k = load_key(dir, name);
    char group[64];
    size_t group_len = 0;
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof group, &group_len), 1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    EVP_PKEY_free(k);
}

/* Asserts notAfter - notBefore is exactly `days` days plus the backdate, and notBefore is in the
 * recent past. */
static void assert_lifetime(X509 *x, int days)
{
    int d = 0, s = 0;
    assert_int_equal(ASN1_TIME_diff(&d, &s, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    assert_int_equal(d, days);
    assert_int_equal(s, CERTS_BACKDATE_SECONDS);
    time_t recent = time(NULL) - CERTS_BACKDATE_SECONDS - 60;
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    assert_true(X509_cmp_time(X509_get0_notBefore(x), &recent) > 0);
}

static bool ext_is_critical(X509 *x, int nid)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);
    assert_true(idx >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, idx)) == 1;
}

/* Does the error queue contain `reason` from the SSL library? Empties the queue. */
static bool queue_has_ssl_reason(int reason)
{
    bool found = false;
    unsigned long e;
    while ((e = ERR_get_error()) != 0)
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == reason)
            found = true;
    return found;
}

/* ---- TLS handshake helpers ------------------------------------------------------------------ */

/* A client context that verifies the peer against dir/ca.crt. */
static SSL_CTX *verifying_client_ctx(const char *dir)
{
    char ca[PATH_MAX];
    path_in(dir, CERTS_CA_CRT, ca);
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    assert_non_null(c);
    assert_int_equal(SSL_CTX_load_verify_locations(c, ca, NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    return c;
}

struct tls_pair {
    SSL *client;
    SSL *server;
};

/* Two SSL objects joined by an in-memory BIO pair; the client checks host name `host`. */
static struct tls_pair make_pair(SSL_CTX *client_ctx, SSL_CTX *server_ctx, const char *host)
{
    struct tls_pair p = { SSL_new(client_ctx), SSL_new(server_ctx) };
    BIO *cb = NULL, *sb = NULL;
    assert_non_null(p.client);
    assert_non_null(p.server);
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(p.client, cb, cb);
    SSL_set_bio(p.server, sb, sb);
    SSL_set_connect_state(p.client);
    SSL_set_accept_state(p.server);
    assert_int_equal(SSL_set1_host(p.client, host), 1);
    assert_int_equal(SSL_set_tlsext_host_name(p.client, host), 1);
    return p;
}

/* Closes cleanly where the handshake finished (OpenSSL marks a session that ended without
 * close_notify as not resumable), then frees both sides. */
static void free_pair(struct tls_pair *p)
{
    if (SSL_is_init_finished(p->client) && SSL_is_init_finished(p->server)) {
        (void)SSL_shutdown(p->client);
        (void)SSL_shutdown(p->server);
    }
    ERR_clear_error();
    SSL_free(p->client);
    SSL_free(p->server);
}

/* Steps both sides until both finished the handshake (true) or either failed (false). */
static bool run_handshake(struct tls_pair *p)
{
    bool client_done = false, server_done = false;
    for (int round = 0; round < HANDSHAKE_ROUNDS && !(client_done && server_done); round++) {
        if (!client_done) {
            int r = SSL_do_handshake(p->client);
            if (r == 1)
                client_done = true;
            else if (SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ)
                return false;
        }
        if (!server_done) {
            int r = SSL_do_handshake(p->server);
            if (r == 1)
                server_done = true;
            else if (SSL_get_error(p->server, r) != SSL_ERROR_WANT_READ)
                return false;
        }
    }
    return client_done && server_done;
}

/* Sends `text` from server to client over an established pair and checks it arrives intact. */
static void server_says(struct tls_pair *p, const char *text)
{
    size_t len = strlen(text);
    char got[128];
    assert_true(len < sizeof got);
    assert_int_equal(SSL_write(p->server, text, (int)len), (int)len);
    int n = SSL_read(p->client, got, sizeof got - 1);
    assert_int_equal(n, (int)len);
    got[n] = '\0';
    assert_string_equal(got, text);
}

static SSL_CTX *shared_server_ctx(void)
{
    char crt[PATH_MAX], key[PATH_MAX], err[ERRLEN];
    path_in(shared_dir, CERTS_SERVER_CRT, crt);
    path_in(shared_dir, CERTS_SERVER_KEY, key);
    SSL_CTX *s = tls_server_ctx_new(crt, key, err, sizeof err);
    if (s == NULL)
        fail_msg("tls_server_ctx_new: %s", err);
    return s;
}

/* ---- fixtures ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    char err[ERRLEN];
    make_temp_dir(shared_dir);
    if (certs_create(shared_dir, shared_dir, extra_sans, N_EXTRA_SANS, false, err, sizeof err) != 0) {
        fprintf(stderr, "certs_create: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    remove_dir(shared_dir);
    return 0;
}

/* ---- certs tests ---------------------------------------------------------------------------- */

static void test_creates_exactly_five_files_keys_0600(void **state)
{
    (void)state;
    assert_int_equal(count_entries(shared_dir), 5);
    assert_int_equal(file_mode(shared_dir, CERTS_CA_KEY), 0600);
    assert_int_equal(file_mode(shared_dir, CERTS_SERVER_KEY), 0600);
    assert_int_equal(file_mode(shared_dir, CERTS_CA_CRT), 0644);
    assert_int_equal(file_mode(shared_dir, CERTS_SERVER_CSR), 0644);
    assert_int_equal(file_mode(shared_dir, CERTS_SERVER_CRT), 0644);
}

/* The modes are exact whatever the umask: keys never wider than 0600, certificates 0644. */
static void test_modes_do_not_depend_on_umask(void **state)
{
    (void)state;
    static const mode_t umasks[] = { 0, 077 };
    for (size_t i = 0; i < sizeof umasks / sizeof umasks[0]; i++) {
        char dir[PATH_MAX], err[ERRLEN];
        make_temp_dir(dir);
        mode_t old = umask(umasks[i]);
        int rc = certs_create(dir, dir, NULL, 0, false, err, sizeof err);
        umask(old);
        assert_int_equal(rc, 0);
        assert_int_equal(file_mode(dir, CERTS_CA_KEY), 0600);
        assert_int_equal(file_mode(dir, CERTS_SERVER_KEY), 0600);
        assert_int_equal(file_mode(dir, CERTS_CA_CRT), 0644);
        assert_int_equal(file_mode(dir, CERTS_SERVER_CSR), 0644);
        assert_int_equal(file_mode(dir, CERTS_SERVER_CRT), 0644);
        remove_dir(dir);
    }
}

static void test_keys_are_pkcs8_ec_p256(void **state)
{
    (void)state;
    assert_is_ec_p256_pkcs8(shared_dir, CERTS_CA_KEY);
    assert_is_ec_p256_pkcs8(shared_dir, CERTS_SERVER_KEY);
}

static void test_ca_certificate_fields(void **state)
{
    (void)state;
    X509 *ca = load_cert(shared_dir, CERTS_CA_CRT);
    EVP_PKEY *ca_key = load_key(shared_dir, CERTS_CA_KEY);
    char cn[128];

    common_name(X509_get_subject_name(ca), cn);
    assert_string_equal(cn, "netshop local CA");
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(ca)), 0);
    assert_int_equal(X509_get_version(ca), X509_VERSION_3);
    assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
    assert_int_equal(X509_verify(ca, ca_key), 1);
    assert_int_equal(X509_check_private_key(ca, ca_key), 1);
    assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);

    uint32_t flags = X509_get_extension_flags(ca);
    assert_true((flags & EXFLAG_CA) != 0);
    assert_true(ext_is_critical(ca, NID_basic_constraints));
    assert_true(ext_is_critical(ca, NID_key_usage));
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));
    assert_int_equal(X509_get_pathlen(ca), 0);

    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca), NULL);
    assert_non_null(serial);
    assert_false(BN_is_negative(serial));
    assert_false(BN_is_zero(serial));
    assert_true(BN_num_bits(serial) <= 128);
    assert_true(BN_num_bits(serial) > 64); /* random 128 bits: below 2^64 with chance 2^-64 */
    BN_free(serial);

    assert_lifetime(ca, CERTS_CA_DAYS);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
}

/* Formats a name-constraint base: "DNS:<name>" or "IP:<address>/<mask>". */
static void format_subtree(const GENERAL_NAME *g, char out[static 128])
{
    if (g->type != GEN_IPADD) {
        format_general_name(g, out);
        return;
    }
    char addr[INET6_ADDRSTRLEN], mask[INET6_ADDRSTRLEN];
    int len = ASN1_STRING_length(g->d.iPAddress);
    const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);
    assert_true(len == 8 || len == 32);
    int af = len == 8 ? AF_INET : AF_INET6;
    assert_non_null(inet_ntop(af, p, addr, sizeof addr));
    assert_non_null(inet_ntop(af, p + len / 2, mask, sizeof mask));
    int n = snprintf(out, 128, "IP:%s/%s", addr, mask);
    assert_true(n > 0 && n < 128);
}

/* Audit 12(d): the CA may issue only for the server's own names, only leaf certificates (pathlen
 * 0), for two years; the server certificate lives 397 days. */
static void test_ca_is_constrained_to_the_server_names(void **state)
{
    (void)state;
    static const char *const want[] = {
        "DNS:localhost", "IP:127.0.0.1/255.255.255.255",
        "IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "DNS:shop.example.com",
        "IP:192.0.2.7/255.255.255.255", "IP:2001:db8::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    };
    X509 *ca = load_cert(shared_dir, CERTS_CA_CRT);
    X509 *srv = load_cert(shared_dir, CERTS_SERVER_CRT);

    assert_true(ext_is_critical(ca, NID_basic_constraints));
    assert_int_equal(X509_get_pathlen(ca), 0);
    assert_true(ext_is_critical(ca, NID_name_constraints));
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(ca, NID_name_constraints, NULL, NULL);
    assert_non_null(nc);
    assert_null(nc->excludedSubtrees);
    assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); i++) {
        char got[128];
        format_subtree(sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base, got);
        assert_string_equal(got, want[i]);
    }
    NAME_CONSTRAINTS_free(nc);
    assert_lifetime(ca, 730);
    assert_lifetime(srv, 397);
    X509_free(srv);
    X509_free(ca);
}

/* A certificate for `san` (openssl.cnf syntax, e.g. "DNS:x"), CA:`is_ca`, with a fresh key, issued
 * by issuer/issuer_key; *key_out gets the key (caller frees) when not NULL. */
static X509 *issue_test_cert(X509 *issuer, EVP_PKEY *issuer_key, const char *san, bool is_ca,
                             EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX ctx;
    assert_non_null(key);
    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                (const unsigned char *)(is_ca ? "test CA" : "test leaf"),
                                                -1, -1, 0), 1);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer)), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_alt_name, san);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints,
                               is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    if (is_ca) {
        ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign");
        assert_non_null(ext);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    if (key_out != NULL)
        *key_out = key;
    else
        EVP_PKEY_free(key);
    return x;
}

/* Verifies leaf (with an optional intermediate) against ca; returns the X509_V_* result. */
static int verify_chain(X509 *leaf, X509 *intermediate, X509 *ca)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_non_null(chain);
    if (intermediate != NULL)
        assert_true(sk_X509_push(chain, intermediate) > 0);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
    (void)X509_verify_cert(ctx);
    int result = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(chain);
    return result;
}

/* What the constraints buy: the CA's key cannot vouch for a name the server does not have, nor
 * make an intermediate CA; names under a permitted DNS name still verify. */
static void test_ca_key_cannot_issue_for_other_names_or_intermediates(void **state)
{
    (void)state;
    X509 *ca = load_cert(shared_dir, CERTS_CA_CRT);
    EVP_PKEY *ca_key = load_key(shared_dir, CERTS_CA_KEY);
    EVP_PKEY *mid_key = NULL;

    X509 *sub = issue_test_cert(ca, ca_key, "DNS:www.shop.example.com", false, NULL);
    assert_int_equal(verify_chain(sub, NULL, ca), X509_V_OK);
    X509 *evil = issue_test_cert(ca, ca_key, "DNS:bank.example.net", false, NULL);
    assert_int_equal(verify_chain(evil, NULL, ca), X509_V_ERR_PERMITTED_VIOLATION);
    X509 *evil_ip = issue_test_cert(ca, ca_key, "IP:192.0.2.8", false, NULL);
    assert_int_equal(verify_chain(evil_ip, NULL, ca), X509_V_ERR_PERMITTED_VIOLATION);

    X509 *mid = issue_test_cert(ca, ca_key, "DNS:shop.example.com", true, &mid_key);
    X509 *leaf = issue_test_cert(mid, mid_key, "DNS:shop.example.com", false, NULL);
    assert_int_equal(verify_chain(leaf, mid, ca), X509_V_ERR_PATH_LENGTH_EXCEEDED);

    X509_free(leaf);
    X509_free(mid);
    X509_free(evil_ip);
    X509_free(evil);
    X509_free(sub);
    EVP_PKEY_free(mid_key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
}

/* With ca_dir apart from dir, ca.key is written there and only there. */
static void test_ca_key_goes_to_the_ca_directory(void **state)
{
    (void)state;
    char dir[PATH_MAX], ca_dir[PATH_MAX], err[ERRLEN];
    make_temp_dir(dir);
    make_temp_dir(ca_dir);
    assert_int_equal(certs_create(dir, ca_dir, NULL, 0, false, err, sizeof err), 0);
    assert_int_equal(count_entries(dir), 4);
    assert_int_equal(count_entries(ca_dir), 1);
    assert_int_equal(file_mode(ca_dir, CERTS_CA_KEY), 0600);
    char p[PATH_MAX];
    path_in(dir, CERTS_CA_KEY, p);
    assert_int_equal(access(p, F_OK), -1);
    /* ca.key in the CA directory blocks a second run as any other file does. */
    assert_int_equal(certs_create(dir, ca_dir, NULL, 0, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "ca.key already exists"));
    remove_dir(dir);
    remove_dir(ca_dir);
}

static void test_server_certificate_verifies_against_ca(void **state)
{
    (void)state;
    X509 *ca = load_cert(shared_dir, CERTS_CA_CRT);
    X509 *srv = load_cert(shared_dir, CERTS_SERVER_CRT);
    assert_int_equal(verify_server_cert(srv, ca), X509_V_OK);
    X509_free(srv);
    X509_free(ca);
}

static void test_server_certificate_names(void **state)
{
    (void)state;
    X509 *srv = load_cert(shared_dir, CERTS_SERVER_CRT);
    char cn[128];
    static const char *const want[] = { "DNS:localhost",        "IP:127.0.0.1",
                                        "IP:::1",               "DNS:shop.example.com",
                                        "IP:192.0.2.7",         "IP:2001:db8::1" };

    common_name(X509_get_subject_name(srv), cn);
    assert_string_equal(cn, "localhost");
    common_name(X509_get_issuer_name(srv), cn);
    assert_string_equal(cn, "netshop local CA");
    assert_cert_sans(srv, want, 6);

    assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "shop.example.com", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "evil.example.com", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "192.0.2.7", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "2001:db8::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "10.0.0.1", 0), 0);
    X509_free(srv);
}

static void test_server_certificate_extensions_and_lifetime(void **state)
{
    (void)state;
    X509 *ca = load_cert(shared_dir, CERTS_CA_CRT);
    X509 *srv = load_cert(shared_dir, CERTS_SERVER_CRT);
    EVP_PKEY *key = load_key(shared_dir, CERTS_SERVER_KEY);

    assert_int_equal(X509_get_version(srv), X509_VERSION_3);
    assert_int_equal(X509_check_private_key(srv, key), 1);
    assert_int_equal(X509_get_signature_nid(srv), NID_ecdsa_with_SHA256);
    uint32_t flags = X509_get_extension_flags(srv);
    assert_true((flags & EXFLAG_BCONS) != 0);
    assert_true((flags & EXFLAG_CA) == 0);
    assert_int_equal(X509_check_ca(srv), 0);
    assert_int_equal(X509_get_key_usage(srv), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(srv), XKU_SSL_SERVER);
    assert_false(ext_is_critical(srv, NID_subject_alt_name));
    assert_false(ext_is_critical(srv, NID_ext_key_usage));
    assert_non_null(X509_get0_authority_key_id(srv));
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(srv),
                                           X509_get0_subject_key_id(ca)),
                     0);
    assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(srv), X509_get0_serialNumber(ca)) != 0,
                     1);
    assert_lifetime(srv, CERTS_SERVER_DAYS);

    EVP_PKEY_free(key);
    X509_free(srv);
    X509_free(ca);
}

static void test_csr_is_signed_by_server_key_and_requests_sans(void **state)
{
    (void)state;
    X509_REQ *req = load_csr(shared_dir, CERTS_SERVER_CSR);
    X509 *srv = load_cert(shared_dir, CERTS_SERVER_CRT);
    EVP_PKEY *key = load_key(shared_dir, CERTS_SERVER_KEY);
    char cn[128];
    static const char *const want[] = { "DNS:localhost",        "IP:127.0.0.1",
                                        "IP:::1",               "DNS:shop.example.com",
                                        "IP:192.0.2.7",         "IP:2001:db8::1" };

    assert_int_equal(X509_REQ_verify(req, key), 1);
    assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), X509_get0_pubkey(srv)), 1);
    common_name(X509_REQ_get_subject_name(req), cn);
    assert_string_equal(cn, "localhost");

    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    assert_non_null(exts);
    assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
    X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, 0);
    assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(ext)), NID_subject_alt_name);
    GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
    assert_names(names, want, 6);
    GENERAL_NAMES_free(names);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

    EVP_PKEY_free(key);
    X509_free(srv);
    X509_REQ_free(req);
}

static void test_second_call_without_force_fails_and_changes_nothing(void **state)
{
    (void)state;
    char dir[PATH_MAX], err[ERRLEN];
    unsigned char *before[N_ALL_FILES];
    size_t before_len[N_ALL_FILES];

    make_temp_dir(dir);
    assert_int_equal(certs_create(dir, dir, extra_sans, N_EXTRA_SANS, false, err, sizeof err), 0);
    for (size_t i = 0; i < N_ALL_FILES; i++)
        before[i] = slurp(dir, all_files[i], &before_len[i]);

    err[0] = '\0';
    assert_int_equal(certs_create(dir, dir, extra_sans, N_EXTRA_SANS, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "ca.key already exists"));

    for (size_t i = 0; i < N_ALL_FILES; i++) {
        assert_true(same_file_contents(dir, all_files[i], before[i], before_len[i]));
        free(before[i]);
    }
    assert_int_equal(count_entries(dir), 5);
    remove_dir(dir);
}

static void test_any_one_existing_file_blocks_creation(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX], err[ERRLEN];
    make_temp_dir(dir);
    path_in(dir, CERTS_SERVER_CSR, p);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("placeholder\n", f);
    fclose(f);

    assert_int_equal(certs_create(dir, dir, NULL, 0, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "server.csr already exists"));
    assert_int_equal(count_entries(dir), 1);
    assert_true(same_file_contents(dir, CERTS_SERVER_CSR, (const unsigned char *)"placeholder\n",
                                   12));
    remove_dir(dir);
}

static void test_force_replaces_certificates(void **state)
{
    (void)state;
    char dir[PATH_MAX], err[ERRLEN];
    size_t old_crt_len, old_key_len;

    make_temp_dir(dir);
    assert_int_equal(certs_create(dir, dir, NULL, 0, false, err, sizeof err), 0);
    unsigned char *old_crt = slurp(dir, CERTS_CA_CRT, &old_crt_len);
    unsigned char *old_key = slurp(dir, CERTS_SERVER_KEY, &old_key_len);
    X509 *old_srv = load_cert(dir, CERTS_SERVER_CRT);

    if (certs_create(dir, dir, NULL, 0, true, err, sizeof err) != 0)
        fail_msg("certs_create with force: %s", err);
    assert_false(same_file_contents(dir, CERTS_CA_CRT, old_crt, old_crt_len));
    assert_false(same_file_contents(dir, CERTS_SERVER_KEY, old_key, old_key_len));
    assert_int_equal(count_entries(dir), 5); /* no temporary files left */
    assert_int_equal(file_mode(dir, CERTS_CA_KEY), 0600);
    assert_int_equal(file_mode(dir, CERTS_SERVER_KEY), 0600);

    X509 *ca = load_cert(dir, CERTS_CA_CRT);
    X509 *srv = load_cert(dir, CERTS_SERVER_CRT);
    assert_int_equal(verify_server_cert(srv, ca), X509_V_OK);
    assert_int_not_equal(verify_server_cert(old_srv, ca), X509_V_OK);
    assert_int_not_equal(X509_cmp(old_srv, srv), 0);

    X509_free(srv);
    X509_free(ca);
    X509_free(old_srv);
    free(old_key);
    free(old_crt);
    remove_dir(dir);
}

/* A rename that fails part-way (server.crt is a directory) reports it and leaves no temporary file. */
static void test_failed_publish_leaves_no_temporary_files(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX], inner[PATH_MAX], err[ERRLEN];
    make_temp_dir(dir);
    path_in(dir, CERTS_SERVER_CRT, p);
    assert_int_equal(mkdir(p, 0700), 0);
    path_in(p, "keep", inner);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fclose(f);

    assert_int_equal(certs_create(dir, dir, NULL, 0, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot rename"));
    assert_non_null(strstr(err, "to server.crt"));
    /* the four files renamed before the failure plus the directory; no ".*.tmp" left */
    assert_int_equal(count_entries(dir), 5);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);

    assert_int_equal(unlink(inner), 0);
    assert_int_equal(rmdir(p), 0);
    remove_dir(dir);
}

static void test_invalid_sans_are_rejected_before_anything_is_written(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "bad_name.example",
        "a..example",
        ".example.com",
        "example.com.",
        "foo.*.example",
        "f*o.example.com",
        "*.example",
        "*",
        "-a.example",
        "a-.example",
        "a,DNS:evil.example",
        "a b.example",
        "1.2.3",
        "256.1.1.1",
        "fe80::1%eth0",
        "[::1]",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
    };
    char dir[PATH_MAX], err[ERRLEN];
    make_temp_dir(dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *one[] = { "ok.example", bad[i] };
        err[0] = '\0';
        int rc = certs_create(dir, dir, one, 2, false, err, sizeof err);
        if (rc != -1)
            fail_msg("SAN \"%s\" was accepted", bad[i]);
        assert_non_null(strstr(err, "invalid subjectAltName \""));
        assert_non_null(strstr(err, bad[i]));
        assert_int_equal(count_entries(dir), 0);
    }

    const char *with_null[] = { "ok.example", NULL };
    assert_int_equal(certs_create(dir, dir, with_null, 2, false, err, sizeof err), -1);
    assert_string_equal(err, "subjectAltName 2 is missing (NULL)");

    const char *many[CERTS_MAX_EXTRA_SANS + 1];
    for (size_t i = 0; i < CERTS_MAX_EXTRA_SANS + 1; i++)
        many[i] = "ok.example";
    assert_int_equal(certs_create(dir, dir, many, CERTS_MAX_EXTRA_SANS + 1, false, err, sizeof err), -1);
    assert_string_equal(err, "too many subjectAltNames: 65 (at most 64)");
    assert_int_equal(count_entries(dir), 0);
    remove_dir(dir);
}

static void test_wildcard_accepted_and_duplicates_dropped(void **state)
{
    (void)state;
    static const char *const extras[] = { "*.shop.example", "LOCALHOST", "127.0.0.1",
                                          "0:0:0:0:0:0:0:1", "xn--bcher-kva.example" };
    static const char *const want[] = { "DNS:localhost", "IP:127.0.0.1", "IP:::1",
                                        "DNS:*.shop.example", "DNS:xn--bcher-kva.example" };
    char dir[PATH_MAX], err[ERRLEN];
    make_temp_dir(dir);
    if (certs_create(dir, dir, extras, 5, false, err, sizeof err) != 0)
        fail_msg("certs_create: %s", err);
    X509 *srv = load_cert(dir, CERTS_SERVER_CRT);
    assert_cert_sans(srv, want, 5);
    assert_int_equal(X509_check_host(srv, "api.shop.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "a.b.shop.example", 0, 0, NULL), 0);
    X509_free(srv);
    remove_dir(dir);
}

static void test_missing_directory_fails_cleanly(void **state)
{
    (void)state;
    char err[ERRLEN];
    assert_int_equal(certs_create("/nonexistent/netshop-test", "/nonexistent/netshop-test", NULL, 0, false, err, sizeof err), -1);
    assert_string_equal(err, "cannot open directory /nonexistent/netshop-test: "
                             "No such file or directory");
    /* A short error buffer is truncated and still terminated. */
    char tiny[8];
    assert_int_equal(certs_create("/nonexistent/netshop-test", "/nonexistent/netshop-test", NULL, 0, false, tiny, sizeof tiny),
                     -1);
    assert_string_equal(tiny, "cannot ");
}

/* ---- tls tests ------------------------------------------------------------------------------ */

static void test_tls_ctx_loads_generated_files_with_settings(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    uint64_t opts = SSL_CTX_get_options(s);
    assert_true((opts & SSL_OP_NO_RENEGOTIATION) != 0);
    assert_true((opts & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
    assert_true((opts & SSL_OP_NO_COMPRESSION) != 0);
    assert_true((opts & SSL_OP_IGNORE_UNEXPECTED_EOF) != 0); /* a bare FIN is a half-close */
    assert_true((opts & SSL_OP_NO_TICKET) == 0);
    assert_true((SSL_CTX_get_mode(s) & SSL_MODE_RELEASE_BUFFERS) != 0);
    /* resumption by one stateless ticket, no server-side cache */
    assert_int_equal(SSL_CTX_get_session_cache_mode(s), SSL_SESS_CACHE_OFF);
    assert_int_equal(SSL_CTX_get_num_tickets(s), 1);
    assert_int_equal(SSL_CTX_get_min_proto_version(s), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_check_private_key(s), 1);

    /* TLS 1.2 ciphers: exactly the ECDHE AEAD list, in order (TLS 1.3 suites come first). */
    STACK_OF(SSL_CIPHER) *ciphers = SSL_CTX_get_ciphers(s);
    char got[512] = "";
    size_t used = 0;
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(ciphers, i);
        if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0)
            continue;
        int n = snprintf(got + used, sizeof got - used, "%s%s", used ? ":" : "",
                         SSL_CIPHER_get_name(c));
        assert_true(n > 0 && (size_t)n < sizeof got - used);
        used += (size_t)n;
    }
    assert_string_equal(got, TLS_SERVER_CIPHERS);
    tls_ctx_free(s);
    tls_ctx_free(NULL);
}

static void test_tls_ctx_rejects_mismatched_key(void **state)
{
    (void)state;
    char crt[PATH_MAX], key[PATH_MAX], err[ERRLEN];
    path_in(shared_dir, CERTS_SERVER_CRT, crt);
    path_in(shared_dir, CERTS_CA_KEY, key);
    err[0] = '\0';
    assert_null(tls_server_ctx_new(crt, key, err, sizeof err));
    assert_non_null(strstr(err, key));
    assert_non_null(strstr(err, "key values mismatch"));
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_tls_ctx_rejects_missing_files(void **state)
{
    (void)state;
    char crt[PATH_MAX], key[PATH_MAX], missing[PATH_MAX], err[ERRLEN];
    path_in(shared_dir, CERTS_SERVER_CRT, crt);
    path_in(shared_dir, CERTS_SERVER_KEY, key);
    path_in(shared_dir, "missing.pem", missing);

    err[0] = '\0';
    assert_null(tls_server_ctx_new(missing, key, err, sizeof err));
    assert_non_null(strstr(err, "cannot load the certificate chain"));
    assert_non_null(strstr(err, missing));
    assert_int_equal(ERR_peek_error(), 0);

    err[0] = '\0';
    assert_null(tls_server_ctx_new(crt, missing, err, sizeof err));
    assert_non_null(strstr(err, "cannot use the private key"));
    assert_non_null(strstr(err, missing));
    assert_int_equal(ERR_peek_error(), 0);

    /* A certificate file given as the key (no private key inside) is refused as well. */
    err[0] = '\0';
    assert_null(tls_server_ctx_new(crt, crt, err, sizeof err));
    assert_non_null(strstr(err, "cannot use the private key"));
}

static void test_tls_last_error_drains_queue(void **state)
{
    (void)state;
    char buf[256];
    ERR_clear_error();
    assert_string_equal(tls_last_error(buf, sizeof buf), "no OpenSSL error detail");
    ERR_raise_data(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL, "detail %d", 7);
    tls_last_error(buf, sizeof buf);
    assert_non_null(strstr(buf, "unsupported protocol"));
    assert_non_null(strstr(buf, "(detail 7)"));
    assert_int_equal(ERR_peek_error(), 0);
    char tiny[4];
    assert_string_equal(tls_last_error(tiny, sizeof tiny), "no ");
}

static void test_handshake_tls13_verified_localhost(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = verifying_client_ctx(shared_dir);
    struct tls_pair p = make_pair(c, s, "localhost");

    assert_true(run_handshake(&p));
    assert_int_equal(SSL_version(p.client), TLS1_3_VERSION);
    assert_int_equal(SSL_version(p.server), TLS1_3_VERSION);
    assert_int_equal(SSL_get_verify_result(p.client), X509_V_OK);
    assert_int_equal(SSL_get_negotiated_group(p.client), NID_X25519);
    assert_string_equal(SSL_get0_peername(p.client), "localhost");
    server_says(&p, "OK SHOP/1 hello\n");

    free_pair(&p);
    SSL_CTX_free(c);
    tls_ctx_free(s);
}

static void test_handshake_fails_on_wrong_host_name(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = verifying_client_ctx(shared_dir);
    struct tls_pair p = make_pair(c, s, "evil.example.com");

    assert_false(run_handshake(&p));
    assert_int_equal(SSL_get_verify_result(p.client), X509_V_ERR_HOSTNAME_MISMATCH);
    ERR_clear_error();

    free_pair(&p);
    SSL_CTX_free(c);
    tls_ctx_free(s);
}

static void test_handshake_tls12_picks_ecdsa_aead(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = verifying_client_ctx(shared_dir);
    assert_int_equal(SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION), 1);
    /* The client prefers CBC and ChaCha20; the server's order wins and AES-GCM is chosen. */
    assert_int_equal(SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-SHA256:"
                                                "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                                "ECDHE-ECDSA-AES128-GCM-SHA256"),
                     1);
    struct tls_pair p = make_pair(c, s, "localhost");

    assert_true(run_handshake(&p));
    assert_int_equal(SSL_version(p.client), TLS1_2_VERSION);
    assert_string_equal(SSL_CIPHER_get_name(SSL_get_current_cipher(p.client)),
                        "ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_int_equal(SSL_get_verify_result(p.client), X509_V_OK);
    free_pair(&p);

    /* A client offering only CBC suites finds nothing in common. */
    assert_int_equal(SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"),
                     1);
    p = make_pair(c, s, "localhost");
    assert_false(run_handshake(&p));
    assert_true(queue_has_ssl_reason(SSL_R_NO_SHARED_CIPHER));
    free_pair(&p);

    SSL_CTX_free(c);
    tls_ctx_free(s);
}

static void test_handshake_refuses_tls11_and_unlisted_groups(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = verifying_client_ctx(shared_dir);
    SSL_CTX_set_security_level(c, 0);
    assert_int_equal(SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0"), 1);
    assert_int_equal(SSL_CTX_set_min_proto_version(c, TLS1_VERSION), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(c, TLS1_1_VERSION), 1);
    struct tls_pair p = make_pair(c, s, "localhost");
    ERR_clear_error();
    assert_false(run_handshake(&p));
    assert_true(queue_has_ssl_reason(SSL_R_UNSUPPORTED_PROTOCOL));
    free_pair(&p);
    SSL_CTX_free(c);

    /* Only P-384 offered: the server's groups are X25519 and P-256. */
    c = verifying_client_ctx(shared_dir);
    assert_int_equal(SSL_CTX_set1_groups_list(c, "P-384"), 1);
    p = make_pair(c, s, "localhost");
    assert_false(run_handshake(&p));
    ERR_clear_error();
    free_pair(&p);

    /* P-256 alone works. */
    assert_int_equal(SSL_CTX_set1_groups_list(c, "P-256"), 1);
    p = make_pair(c, s, "localhost");
    assert_true(run_handshake(&p));
    assert_int_equal(SSL_get_negotiated_group(p.client), NID_X9_62_prime256v1);
    free_pair(&p);

    SSL_CTX_free(c);
    tls_ctx_free(s);
}

static void test_session_ticket_resumption(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = verifying_client_ctx(shared_dir);
    struct tls_pair p = make_pair(c, s, "localhost");
    assert_true(run_handshake(&p));
    server_says(&p, "first\n"); /* the client reads the tickets sent after the handshake */
    SSL_SESSION *sess = SSL_get1_session(p.client);
    assert_non_null(sess);
    assert_int_equal(SSL_SESSION_is_resumable(sess), 1);
    assert_int_equal(SSL_session_reused(p.client), 0);
    free_pair(&p);

    p = make_pair(c, s, "localhost");
    assert_int_equal(SSL_set_session(p.client, sess), 1);
    assert_true(run_handshake(&p));
    assert_int_equal(SSL_session_reused(p.client), 1);
    assert_int_equal(SSL_session_reused(p.server), 1);
    server_says(&p, "again\n");
    free_pair(&p);

    SSL_SESSION_free(sess);
    SSL_CTX_free(c);
    tls_ctx_free(s);
}

/* ---- ticket keys and the exporter check ----------------------------------------------------- */

/* A client context capped at `version` (0: no cap) that verifies against the shared CA. */
static SSL_CTX *client_ctx_max(int version)
{
    SSL_CTX *c = verifying_client_ctx(shared_dir);
    if (version != 0)
        assert_int_equal(SSL_CTX_set_max_proto_version(c, version), 1);
    return c;
}

/* One handshake between c and s, resuming `sess` when not NULL; a message is read so that TLS 1.3
 * tickets arrive. Returns the client's session afterwards (caller frees) and sets *reused. */
static SSL_SESSION *connect_once(SSL_CTX *c, SSL_CTX *s, SSL_SESSION *sess, bool *reused)
{
    struct tls_pair p = make_pair(c, s, "localhost");
    if (sess != NULL)
        assert_int_equal(SSL_set_session(p.client, sess), 1);
    assert_true(run_handshake(&p));
    server_says(&p, "hello\n");
    *reused = SSL_session_reused(p.client) == 1;
    assert_int_equal(SSL_session_reused(p.server) == 1, *reused);
    SSL_SESSION *got = SSL_get1_session(p.client);
    assert_non_null(got);
    free_pair(&p);
    return got;
}

/* Do the two sessions carry the same ticket? */
static bool same_ticket(const SSL_SESSION *a, const SSL_SESSION *b)
{
    const unsigned char *ta, *tb;
    size_t la, lb;
    SSL_SESSION_get0_ticket(a, &ta, &la);
    SSL_SESSION_get0_ticket(b, &tb, &lb);
    assert_true(la > 0 && lb > 0);
    return la == lb && memcmp(ta, tb, la) == 0;
}

/* Audit 12(a): a ticket made under key k1 still resumes after one rotation (and, in TLS 1.2, comes
 * back renewed under the new key), no longer after two; a ticket of the new key resumes. */
static void ticket_rotation_for(int version)
{
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = client_ctx_max(version);
    bool reused;

    SSL_SESSION *k1 = connect_once(c, s, NULL, &reused);
    assert_false(reused);
    assert_int_equal(SSL_SESSION_get_protocol_version(k1), version != 0 ? version : TLS1_3_VERSION);
    assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(k1), TLS_TICKET_KEY_SECONDS);

    /* Not due yet: a tick changes nothing; the ticket resumes and (TLS 1.2) is not renewed. */
    tls_ticket_keys_tick(s);
    SSL_SESSION *again = connect_once(c, s, k1, &reused);
    assert_true(reused);
    if (version == TLS1_2_VERSION)
        assert_true(same_ticket(k1, again));
    SSL_SESSION_free(again);

    assert_int_equal(tls_ticket_keys_rotate(s), 0);
    SSL_SESSION *k2 = connect_once(c, s, k1, &reused);
    assert_true(reused);                      /* the previous key still decrypts */
    assert_false(same_ticket(k1, k2));        /* and the ticket was renewed under the new key */

    assert_int_equal(tls_ticket_keys_rotate(s), 0);
    SSL_SESSION *fresh = connect_once(c, s, k1, &reused);
    assert_false(reused);                     /* k1 is gone: full handshake */
    SSL_SESSION_free(fresh);
    SSL_SESSION *from_k2 = connect_once(c, s, k2, &reused);
    assert_true(reused);                      /* k2 is the previous key now */
    SSL_SESSION_free(from_k2);

    SSL_SESSION_free(k2);
    SSL_SESSION_free(k1);
    SSL_CTX_free(c);
    tls_ctx_free(s);
}

static void test_ticket_keys_rotate_tls13(void **state)
{
    (void)state;
    ticket_rotation_for(0);
}

static void test_ticket_keys_rotate_tls12(void **state)
{
    (void)state;
    ticket_rotation_for(TLS1_2_VERSION);
}

/* Two contexts have different ticket keys (not one process-wide key). */
static void test_ticket_keys_are_per_context(void **state)
{
    (void)state;
    SSL_CTX *s1 = shared_server_ctx(), *s2 = shared_server_ctx();
    SSL_CTX *c = client_ctx_max(0);
    bool reused;
    SSL_SESSION *sess = connect_once(c, s1, NULL, &reused);
    SSL_SESSION *other = connect_once(c, s2, sess, &reused);
    assert_false(reused);
    SSL_SESSION_free(other);
    SSL_SESSION_free(sess);
    SSL_CTX_free(c);
    tls_ctx_free(s1);
    tls_ctx_free(s2);
}

struct rotate_race {
    SSL_CTX *s;
    int rounds;
};

static void *rotate_thread(void *arg)
{
    struct rotate_race *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        if (tls_ticket_keys_rotate(r->s) != 0)
            return (void *)1;
        tls_ticket_keys_tick(r->s);
    }
    return NULL;
}

/* Rotation from another thread while handshakes use the keys: every handshake completes (resumed
 * or not); the sanitizer build checks the memory. */
static void test_ticket_keys_rotate_while_handshaking(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    SSL_CTX *c = client_ctx_max(0);
    struct rotate_race race = {s, 2000};
    pthread_t t;
    bool reused;
    SSL_SESSION *sess = connect_once(c, s, NULL, &reused);
    assert_int_equal(pthread_create(&t, NULL, rotate_thread, &race), 0);
    for (int i = 0; i < 40; i++) {
        SSL_SESSION *next = connect_once(c, s, sess, &reused);
        SSL_SESSION_free(sess);
        sess = next;
    }
    void *result = NULL;
    assert_int_equal(pthread_join(t, &result), 0);
    assert_null(result);
    SSL_SESSION_free(sess);
    SSL_CTX_free(c);
    tls_ctx_free(s);
}

/* Audit 12(b): exported keys are used only when bound to the handshake. */
static void test_exporter_is_safe_only_with_tls13_or_ems(void **state)
{
    (void)state;
    SSL_CTX *s = shared_server_ctx();
    struct {
        int max_version;
        bool no_ems;
        bool want;
    } cases[] = {
        {0, false, true},                /* TLS 1.3 */
        {TLS1_2_VERSION, false, true},   /* TLS 1.2 with extended master secret */
        {TLS1_2_VERSION, true, false},   /* TLS 1.2 without: not safe */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SSL_CTX *c = client_ctx_max(cases[i].max_version);
        if (cases[i].no_ems)
            SSL_CTX_set_options(c, SSL_OP_NO_EXTENDED_MASTER_SECRET);
        struct tls_pair p = make_pair(c, s, "localhost");
        assert_false(tls_exporter_is_safe(p.server)); /* before the handshake */
        assert_true(run_handshake(&p));
        assert_int_equal(tls_exporter_is_safe(p.server), cases[i].want);
        free_pair(&p);
        SSL_CTX_free(c);
    }
    assert_false(tls_exporter_is_safe(NULL));
    tls_ctx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creates_exactly_five_files_keys_0600),
        cmocka_unit_test(test_modes_do_not_depend_on_umask),
        cmocka_unit_test(test_keys_are_pkcs8_ec_p256),
        cmocka_unit_test(test_ca_certificate_fields),
        cmocka_unit_test(test_ca_is_constrained_to_the_server_names),
        cmocka_unit_test(test_ca_key_cannot_issue_for_other_names_or_intermediates),
        cmocka_unit_test(test_ca_key_goes_to_the_ca_directory),
        cmocka_unit_test(test_server_certificate_verifies_against_ca),
        cmocka_unit_test(test_server_certificate_names),
        cmocka_unit_test(test_server_certificate_extensions_and_lifetime),
        cmocka_unit_test(test_csr_is_signed_by_server_key_and_requests_sans),
        cmocka_unit_test(test_second_call_without_force_fails_and_changes_nothing),
        cmocka_unit_test(test_any_one_existing_file_blocks_creation),
        cmocka_unit_test(test_force_replaces_certificates),
        cmocka_unit_test(test_failed_publish_leaves_no_temporary_files),
        cmocka_unit_test(test_invalid_sans_are_rejected_before_anything_is_written),
        cmocka_unit_test(test_wildcard_accepted_and_duplicates_dropped),
        cmocka_unit_test(test_missing_directory_fails_cleanly),
        cmocka_unit_test(test_tls_ctx_loads_generated_files_with_settings),
        cmocka_unit_test(test_tls_ctx_rejects_mismatched_key),
        cmocka_unit_test(test_tls_ctx_rejects_missing_files),
        cmocka_unit_test(test_tls_last_error_drains_queue),
        cmocka_unit_test(test_handshake_tls13_verified_localhost),
        cmocka_unit_test(test_handshake_fails_on_wrong_host_name),
        cmocka_unit_test(test_handshake_tls12_picks_ecdsa_aead),
        cmocka_unit_test(test_handshake_refuses_tls11_and_unlisted_groups),
        cmocka_unit_test(test_session_ticket_resumption),
        cmocka_unit_test(test_ticket_keys_rotate_tls13),
        cmocka_unit_test(test_ticket_keys_rotate_tls12),
        cmocka_unit_test(test_ticket_keys_are_per_context),
        cmocka_unit_test(test_ticket_keys_rotate_while_handshaking),
        cmocka_unit_test(test_exporter_is_safe_only_with_tls13_or_ems),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
