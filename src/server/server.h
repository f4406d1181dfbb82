/* server: the serving process as one context — configuration, catalog, TLS context, committer,
 * auth pool, reader pool and the worker threads — and its life cycle (start, run until a signal, stop).
 * Passed explicitly to everything that needs it; there is no global server state. */
#ifndef NETSHOP_SERVER_H
#define NETSHOP_SERVER_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/ssl.h>

#include "core/catalog.h"
#include "core/money.h"
#include "server/auth.h"
#include "server/committer.h"
#include "proto/udp_wire.h"
#include "server/config.h"
#include "server/readers.h"
#include "server/order_ids.h"
#include "server/peer_limit.h"
#include "server/udp_rate.h"

#define NETSHOP_VERSION "0.1.0"

struct worker;

typedef struct server {
    config_t cfg;
    char db_path[PATH_MAX];
    catalog_t *catalog;       /* frozen; stock published by the committer */
    currency_t currency;
    SSL_CTX *ssl_ctx;         /* shared read-only by the workers */
    committer_t *committer;
    auth_pool_t *auth;
    reader_pool_t *readers;   /* RECEIPT and ORDERS: the store is never read on a worker */
    struct worker **workers;
    int nworkers;
    int port;                 /* the port actually bound */
    atomic_int connections;   /* open TLS connections, all workers */
    peer_limit_t *peer_limits; /* open TLS connections per source prefix, all workers */
    atomic_bool output_budget_warned; /* the over-budget warning is said once per episode */
    udp_rate_t *udp_rate;     /* anonymous datagrams without a token, per source prefix */
    bool demo;
    udp_token_secret_t udp_secret; /* keys the UDP address tokens; random per start */
    order_ids_t order_ids;    /* how order ids look on the wire; the key is a shop setting */
} server_t;

/* Serves until SIGINT or SIGTERM, then stops cleanly. Returns the process exit status. */
int server_run(const config_t *cfg);

#endif
