/* server: start-up (data directory, catalog, TLS, sockets, threads), the signal wait, and the
 * orderly stop: workers finish in-flight replies (and wait for their reads), then the reader pool
 * stops, then the committer drains, then the rest. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/certs.h"
#include "server/commands.h"
#include "server/datadir.h"
#include "server/log.h"
#include "server/paths.h"
#include "server/tls.h"
#include "server/worker.h"
#include "store/store.h"

#define LISTEN_BACKLOG 1024
#define PORT0_TRIES 20

/* Opens a non-blocking SO_REUSEPORT socket of `type` bound to addr:port (TCP: listening).
 * Returns the fd, or -1 with err filled. */
static int bind_socket(const char *addr, int port, int type, char *err, size_t errlen)
{
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = type, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            (type != SOCK_STREAM || listen(fd, LISTEN_BACKLOG) == 0))
            break;
        snprintf(err, errlen, "cannot listen on %s port %d (%s): %s", addr, port,
                 type == SOCK_STREAM ? "TCP" : "UDP", strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Binds one TCP and one UDP socket per worker, all on one port (a free one if cfg->port is 0).
 * Fills tcp[] and udp[] and srv->port. Returns 0 or -1 with err. */
static int bind_all(server_t *srv, int *tcp, int *udp, char *err, size_t errlen)
{
    const config_t *cfg = &srv->cfg;
    for (int attempt = 0; attempt < (cfg->port == 0 ? PORT0_TRIES : 1); attempt++) {
        int port = cfg->port;
        int i;
        for (i = 0; i < srv->nworkers; i++) {
            tcp[i] = bind_socket(cfg->listen_addr, port, SOCK_STREAM, err, errlen);
            if (tcp[i] < 0)
                break;
            if (port == 0)
                port = bound_port(tcp[i]);
            udp[i] = bind_socket(cfg->listen_addr, port, SOCK_DGRAM, err, errlen);
            if (udp[i] < 0) {
                close(tcp[i]);
                break;
            }
        }
        if (i == srv->nworkers) {
            srv->port = port;
            return 0;
        }
        while (i-- > 0) {
            close(tcp[i]);
            close(udp[i]);
            tcp[i] = udp[i] = -1;
        }
    }
    return -1;
}

/* The key of the order id permutation (order_ids.h): the "order_id_key" setting, made at the
 * first start of a shop that has none, so ids clients hold stay valid across restarts. */
static int load_order_id_key(store_t *st, order_ids_t *ids, char *err, size_t errlen)
{
    char hex[2 * ORDER_IDS_KEY_LEN + 1];
    store_status_t s = store_setting_get(st, "order_id_key", hex, sizeof hex);
    if (s == STORE_OK && strlen(hex) == 2 * ORDER_IDS_KEY_LEN &&
        sodium_hex2bin(ids->key, sizeof ids->key, hex, strlen(hex), NULL, NULL, NULL) == 0)
        return 0;
    if (s != STORE_NOT_FOUND) {
        snprintf(err, errlen, "cannot read the order id key: %s", s == STORE_OK ? "malformed" : store_errmsg(st));
        return -1;
    }
    randombytes_buf(ids->key, sizeof ids->key);
    sodium_bin2hex(hex, sizeof hex, ids->key, sizeof ids->key);
    if (store_setting_set(st, "order_id_key", hex) != STORE_OK) {
        snprintf(err, errlen, "cannot record the order id key: %s", store_errmsg(st));
        return -1;
    }
    return 0;
}

/* Loads catalog and settings through a short-lived store connection. */
static int load_shop(server_t *srv, char *err, size_t errlen)
{
    store_t *st = store_open(srv->db_path, err, errlen);
    if (!st)
        return -1;
    int rc = -1;
    char value[64];
    srv->currency = CURRENCY_DEFAULT;
    if (store_setting_get(st, "currency", value, sizeof value) == STORE_OK && strlen(value) == 3)
        memcpy(srv->currency.code, value, 4);
    if (store_setting_get(st, "minor_digits", value, sizeof value) == STORE_OK)
        srv->currency.minor_digits = atoi(value);
    srv->demo = store_setting_get(st, "demo", value, sizeof value) == STORE_OK && strcmp(value, "1") == 0;
    if (load_order_id_key(st, &srv->order_ids, err, errlen) != 0)
        goto out;
    if (store_catalog_load(st, &srv->catalog) != STORE_OK) {
        snprintf(err, errlen, "cannot load the catalog: %s", store_errmsg(st));
        goto out;
    }
    if (catalog_item_count(srv->catalog) == 0) {
        snprintf(err, errlen, "the catalog is empty; run 'netshopd init' with --catalog");
        goto out;
    }
    rc = 0;
out:
    store_close(st);
    return rc;
}

/* The data directory is safe to serve (datadir.h): a real directory of ours that no one else can
 * write, its database, certificate and key real files of ours (the key private), and the CA's key
 * not in it unless cfg->allow_ca_key. Returns 0 or -1 with err. */
static int check_data_dir(const config_t *cfg, char *err, size_t errlen)
{
    const char *dir = cfg->data_dir;
    static const struct {
        const char *name;
        datadir_file_t kind;
    } files[] = {
        {PATHS_DB, DATADIR_FILE_ANY_MODE},
        {CERTS_SERVER_CRT, DATADIR_FILE_ANY_MODE},
        {CERTS_SERVER_KEY, DATADIR_FILE_PRIVATE},
    };
    if (datadir_check(dir, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int rc = datadir_check_file(dir, files[i].name, files[i].kind, err, errlen);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            snprintf(err, errlen, "%s/%s does not exist (make it with 'netshopd init --data %s')",
                     dir, files[i].name, dir);
            return -1;
        }
    }
    if (datadir_check_file(dir, PATHS_LOCK, DATADIR_FILE_ANY_MODE, err, errlen) < 0)
        return -1; /* absent is fine: lock_data_dir creates it */
    char ca_key[PATH_MAX];
    struct stat st;
    if (paths_join(ca_key, sizeof ca_key, dir, CERTS_CA_KEY) != 0) {
        snprintf(err, errlen, "data directory path too long");
        return -1;
    }
    if (lstat(ca_key, &st) == 0) {
        if (!cfg->allow_ca_key) {
            snprintf(err, errlen, "%s is the CA's private key: a server does not need it and must not "
                     "hold it; move it out of the data directory (netshopd init keeps it in %s.ca/) "
                     "or pass --allow-ca-key", ca_key, dir);
            return -1;
        }
        log_warn("%s: the CA's private key is in the data directory (--allow-ca-key)", ca_key);
    }
    return 0;
}

/* One server per data directory: the committer must be its store's only writer. */
static int lock_data_dir(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (paths_join(path, sizeof path, dir, PATHS_LOCK) != 0) {
        snprintf(err, errlen, "data directory path too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EWOULDBLOCK ? "another netshopd is serving this data directory" : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void server_free(server_t *srv)
{
    for (int i = 0; i < srv->nworkers; i++)
        worker_join(srv->workers[i]);
    /* A worker's loop ends only once every outcome it waited for came back (pending_jobs), so
     * no read job is left; any that were would still post into live mailboxes here, and
     * worker_free delivers what its mailbox holds. */
    reader_pool_stop(srv->readers);
    for (int i = 0; i < srv->nworkers; i++)
        worker_free(srv->workers[i]);
    free(srv->workers);
    committer_stop(srv->committer);
    auth_pool_stop(srv->auth);
    if (srv->ssl_ctx)
        tls_ctx_free(srv->ssl_ctx);
    catalog_free(srv->catalog);
    peer_limit_free(srv->peer_limits);
    udp_rate_free(srv->udp_rate);
}

int server_run(const config_t *cfg)
{
    shop1_verb_t unhandled = commands_check_table();
    if (unhandled != SHOP1_VERB_COUNT) /* a broken invariant of the build, not a run-time condition */
        log_fatal("verb %d (%s) has no handler or no row of its own in the command table", (int)unhandled,
                  shop1_verb_name(unhandled));
    server_t srv = {.cfg = *cfg, .nworkers = cfg->threads};
    char err[512] = "";
    int status = 1, lock_fd = -1;
    int *tcp = calloc((size_t)srv.nworkers, sizeof *tcp);
    int *udp = calloc((size_t)srv.nworkers, sizeof *udp);
    srv.workers = calloc((size_t)srv.nworkers, sizeof *srv.workers);
    if (!tcp || !udp || !srv.workers) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    for (int i = 0; i < srv.nworkers; i++)
        tcp[i] = udp[i] = -1;
    if (sodium_init() < 0) {
        snprintf(err, sizeof err, "libsodium failed to initialise");
        goto out;
    }
    randombytes_buf(srv.udp_secret.key, sizeof srv.udp_secret.key);
    srv.peer_limits = peer_limit_new((unsigned)cfg->max_per_address);
    srv.udp_rate = udp_rate_new(cfg->udp_rate);
    if (!srv.peer_limits || !srv.udp_rate) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    char crt[PATH_MAX], key[PATH_MAX];
    if (paths_join(srv.db_path, sizeof srv.db_path, cfg->data_dir, PATHS_DB) != 0 ||
        paths_join(crt, sizeof crt, cfg->data_dir, CERTS_SERVER_CRT) != 0 ||
        paths_join(key, sizeof key, cfg->data_dir, CERTS_SERVER_KEY) != 0) {
        snprintf(err, sizeof err, "data directory path too long");
        goto out;
    }
    int root = datadir_check_user(cfg->allow_root, "serve", err, sizeof err);
    if (root < 0)
        goto out;
    if (root > 0)
        log_warn("serving as root (--allow-root): netshopd needs no privileges; use an ordinary user");
    if (check_data_dir(cfg, err, sizeof err) != 0)
        goto out;
    if ((lock_fd = lock_data_dir(cfg->data_dir, err, sizeof err)) < 0)
        goto out;
    if (load_shop(&srv, err, sizeof err) != 0)
        goto out;

    if (!(srv.ssl_ctx = tls_server_ctx_new(crt, key, err, sizeof err)))
        goto out;

    /* Signals are taken by sigwait below; every thread started from here inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(srv.committer = committer_start(srv.db_path, srv.catalog, cfg->commit_queue_max,
                                          cfg->commit_batch_max, cfg->order_lines_max,
                                          cfg->request_retention, err, sizeof err)))
        goto out;
    if (!(srv.auth = auth_pool_start(srv.db_path, cfg->auth_threads, cfg->auth_queue_max,
                                     cfg->login_failures, cfg->login_window, err, sizeof err)))
        goto out;
    if (!(srv.readers = reader_pool_start(srv.db_path, cfg->reader_threads, cfg->reader_queue_max,
                                          err, sizeof err)))
        goto out;
    if (bind_all(&srv, tcp, udp, err, sizeof err) != 0)
        goto out;
    for (int i = 0; i < srv.nworkers; i++) {
        srv.workers[i] = worker_new(&srv, i, tcp[i], udp[i], err, sizeof err);
        tcp[i] = udp[i] = -1;
        if (!srv.workers[i])
            goto out;
    }
    for (int i = 0; i < srv.nworkers; i++)
        if (worker_start(srv.workers[i]) != 0) {
            snprintf(err, sizeof err, "cannot start worker threads");
            for (int j = 0; j < i; j++)
                worker_request_stop(srv.workers[j]);
            goto out;
        }

    if (srv.demo)
        log_warn("demo mode: users root/root and root1/root1 exist; do not expose this server");
    log_info("listening on %s port %d (TLS/TCP and UDP), %d worker threads", cfg->listen_addr,
             srv.port, srv.nworkers);

    /* The main thread waits for a stop signal, meanwhile rotating and wiping TLS ticket keys on
     * time (tls.h). */
    const struct timespec tick = {.tv_sec = TLS_TICKET_TICK_SECONDS};
    int sig;
    while ((sig = sigtimedwait(&stop_signals, NULL, &tick)) < 0)
        if (errno == EAGAIN)
            tls_ticket_keys_tick(srv.ssl_ctx);
    log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (int i = 0; i < srv.nworkers; i++)
        worker_request_stop(srv.workers[i]);
    status = 0;
out:
    if (status != 0)
        log_error("%s", err);
    for (int i = 0; tcp && udp && i < srv.nworkers; i++) {
        if (tcp[i] >= 0)
            close(tcp[i]);
        if (udp[i] >= 0)
            close(udp[i]);
    }
    free(tcp);
    free(udp);
    if (srv.committer) {
        committer_stats_t st;
        committer_get_stats(srv.committer, &st);
        if (st.jobs)
            log_info("committer: %llu writes in %llu batches (largest %llu), %llu syncs",
                     (unsigned long long)st.jobs, (unsigned long long)st.batches,
                     (unsigned long long)st.largest_batch, (unsigned long long)st.syncs);
    }
    server_free(&srv);
    if (lock_fd >= 0)
        close(lock_fd);
    if (status == 0)
        log_info("stopped");
    return status;
}
