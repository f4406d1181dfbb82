/* options: parses the client's command line and resolves defaults from the environment. */
#include "client/options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/order.h"

void options_usage(FILE *out)
{
    fputs("usage: netshop [options] [command [args...]]\n"
          "\n"
          "Without a command: the interactive menu (log in, browse, purchase, receipt).\n"
          "\n"
          "Commands:\n"
          "  categories                     list the categories\n"
          "  browse <category>              list a category's items (number or name)\n"
          "  item <sno>                     show one item\n"
          "  buy <sno> <qty> [--request-id ID]\n"
          "                                 buy (logs in); the request id makes a retry safe\n"
          "  receipt [ORDER-ID]             receipt of an order, default the newest (logs in)\n"
          "  orders                         list your orders (logs in)\n"
          "  ping                           check that the server answers\n"
          "\n"
          "After logging in (the menu, buy, receipt, orders), requests go as sealed UDP\n"
          "datagrams, with the verified TLS connection kept for LOGIN and QUIT and as the\n"
          "fallback when UDP gets no answer.\n"
          "\n"
          "Options:\n"
          "  --host H              server host name or address (default localhost)\n"
          "  --port N              server port (default 5555)\n"
          "  --ca FILE             CA certificate that signed the server's certificate\n"
          "                        (default $NETSHOP_CA, else, beside this program's\n"
          "                        directory, var/demo/ca.crt or share/netshop/ca.crt;\n"
          "                        never from the current directory)\n"
          "  --user NAME           user name (default $NETSHOP_USER, else asked)\n"
          "  --password-file FILE  read the password from the first line of FILE\n"
          "                        ($NETSHOP_PASSWORD, when set, comes first)\n"
          "  --json                machine-readable output (one-shot commands)\n"
          "  --timeout SECS        connect and reply timeout (default 10)\n"
          "  --keepalive SECS      ping the server after this long without a request,\n"
          "                        even at a menu prompt (default 60; at most half of\n"
          "                        the server's --idle-timeout)\n"
          "  --transport udp|tls   what carries requests after login (default udp)\n"
          "  --anonymous           categories, browse, item, ping as plain UDP datagrams:\n"
          "                        no TLS, no login, no CA needed, nothing verified\n"
          "  -h, --help            this text\n"
          "\n"
          "Exit status: 0 success, 1 refused by the server, 2 usage error,\n"
          "3 connection or TLS failure, 4 login failed.\n",
          out);
}

typedef enum { OPT_HOST, OPT_PORT, OPT_CA, OPT_USER, OPT_PASSWORD_FILE, OPT_REQUEST_ID,
               OPT_TIMEOUT, OPT_KEEPALIVE, OPT_TRANSPORT, OPT_ANONYMOUS, OPT_JSON,
               OPT_HELP } option_id_t;

typedef struct {
    const char *name;
    option_id_t id;
    bool takes_value;
} option_spec_t;

static const option_spec_t option_specs[] = {
    {"--host", OPT_HOST, true},
    {"--port", OPT_PORT, true},
    {"--ca", OPT_CA, true},
    {"--user", OPT_USER, true},
    {"--password-file", OPT_PASSWORD_FILE, true},
    {"--request-id", OPT_REQUEST_ID, true},
    {"--timeout", OPT_TIMEOUT, true},
    {"--keepalive", OPT_KEEPALIVE, true},
    {"--transport", OPT_TRANSPORT, true},
    {"--anonymous", OPT_ANONYMOUS, false},
    {"--json", OPT_JSON, false},
    {"--help", OPT_HELP, false},
    {"-h", OPT_HELP, false},
};

/* Finds the option named by arg ("--port" or "--port=5555"); *inline_value points after '='. */
static const option_spec_t *find_option(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    const char *eq = strchr(arg, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    for (size_t i = 0; i < sizeof option_specs / sizeof option_specs[0]; i++) {
        const option_spec_t *spec = &option_specs[i];
        if (strlen(spec->name) == name_len && memcmp(spec->name, arg, name_len) == 0) {
            if (eq != NULL)
                *inline_value = eq + 1;
            return spec;
        }
    }
    return NULL;
}

/* Parses a decimal number in [min, max] made of digits only. */
static bool parse_bounded(const char *s, long min, long max, long *out)
{
    if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return false;
    long v = strtol(s, NULL, 10);
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Stores one option's value in *o; false with *err on a bad value. */
static bool apply_option(client_options_t *o, const option_spec_t *spec, const char *value,
                         cli_error_t *err)
{
    long n;
    switch (spec->id) {
    case OPT_HOST:
        if (value[0] == '\0') {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "--host needs a host name");
            return false;
        }
        o->host = value;
        return true;
    case OPT_PORT:
        if (!parse_bounded(value, 1, 65535, &n)) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                          "bad port '%s': expected a number from 1 to 65535", value);
            return false;
        }
        o->port = value;
        return true;
    case OPT_CA:
        o->ca_file = value;
        return true;
    case OPT_USER:
        o->user = value;
        return true;
    case OPT_PASSWORD_FILE:
        o->password_file = value;
        return true;
    case OPT_REQUEST_ID:
        if (!order_request_id_valid(value)) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                          "bad request id '%s': 1 to %d characters of A-Z a-z 0-9 . _ : -",
                          value, ORDER_REQUEST_ID_MAX);
            return false;
        }
        o->request_id = value;
        return true;
    case OPT_TIMEOUT:
        if (!parse_bounded(value, 1, OPTIONS_TIMEOUT_MAX, &n)) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                          "bad timeout '%s': expected whole seconds from 1 to %d", value,
                          OPTIONS_TIMEOUT_MAX);
            return false;
        }
        o->timeout_secs = (int)n;
        return true;
    case OPT_KEEPALIVE:
        if (!parse_bounded(value, 1, OPTIONS_KEEPALIVE_MAX, &n)) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                          "bad keepalive '%s': expected whole seconds from 1 to %d", value,
                          OPTIONS_KEEPALIVE_MAX);
            return false;
        }
        o->keepalive_secs = (int)n;
        return true;
    case OPT_TRANSPORT:
        if (strcmp(value, "udp") == 0) {
            o->transport = OPTIONS_TRANSPORT_UDP;
        } else if (strcmp(value, "tls") == 0) {
            o->transport = OPTIONS_TRANSPORT_TLS;
        } else {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                          "bad transport '%s': expected udp or tls", value);
            return false;
        }
        return true;
    case OPT_ANONYMOUS:
        o->anonymous = true;
        return true;
    case OPT_JSON:
        o->json = true;
        return true;
    case OPT_HELP:
        o->help = true;
        return true;
    }
    return false;
}

/* Writes into base the directory above the one holding the running executable (resolved by
 * the kernel through /proc/self/exe, so symbolic links and the current directory play no
 * part): /repo/build/netshop gives /repo, /usr/local/bin/netshop gives /usr/local, and a
 * program in / gives "" (the root). False when the executable cannot be located. */
static bool exe_base_dir(char base[static PATH_MAX])
{
    ssize_t n = readlink("/proc/self/exe", base, PATH_MAX - 1);
    if (n <= 0 || n >= PATH_MAX - 1 || base[0] != '/') {
        base[0] = '\0';
        return false;
    }
    base[n] = '\0';
    *strrchr(base, '/') = '\0'; /* the executable's directory */
    char *slash = strrchr(base, '/');
    if (slash != NULL)
        *slash = '\0'; /* its parent */
    return true;
}

/* The default CA file: the first of OPTIONS_DEMO_CA and OPTIONS_INSTALLED_CA under the
 * executable's base directory that exists, as a malloc'd path the caller frees; NULL when
 * there is none. base gets that directory for an error message ("" when the executable
 * cannot be located, or when it is the root). Never looks in the current directory: a
 * directory someone else prepared must not choose whom the client trusts with a password. */
static char *find_default_ca(char base[static PATH_MAX])
{
    static const char *const candidates[] = {OPTIONS_DEMO_CA, OPTIONS_INSTALLED_CA};
    if (!exe_base_dir(base))
        return NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", base, candidates[i]);
        if (n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0)
            return strdup(path);
    }
    return NULL;
}

/* Fills in what the command line left open: user and CA from the environment, the default
 * CA beside the executable. */
static bool resolve_defaults(client_options_t *o, cli_error_t *err)
{
    if (o->anonymous && o->transport == OPTIONS_TRANSPORT_TLS) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                      "--anonymous sends plain UDP datagrams: it cannot go with --transport tls");
        return false;
    }
    if (o->anonymous && o->command == NULL) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                      "--anonymous needs a command (categories, browse, item or ping): the "
                      "interactive menu logs in");
        return false;
    }
    if (o->user == NULL)
        o->user = env_or_null("NETSHOP_USER");
    if (o->ca_file == NULL)
        o->ca_file = env_or_null("NETSHOP_CA");
    if (o->ca_file == NULL && !o->anonymous) {
        char base[PATH_MAX];
        o->default_ca = find_default_ca(base);
        o->ca_file = o->default_ca;
        if (o->ca_file == NULL) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                          "no CA certificate to verify the server with: pass --ca FILE "
                          "(the server's ca.crt) or set NETSHOP_CA (there is no %s/%s or "
                          "%s/%s; the current directory is never used)",
                          base, OPTIONS_DEMO_CA, base, OPTIONS_INSTALLED_CA);
            return false;
        }
    }
    if (o->request_id != NULL && (o->command == NULL || strcmp(o->command, "buy") != 0)) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                      "--request-id is an option of the buy command only");
        return false;
    }
    if (o->json && o->command == NULL) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                      "--json needs a command: the interactive menu has no JSON form");
        return false;
    }
    return true;
}

bool options_parse(int argc, char **argv, client_options_t *o, cli_error_t *err)
{
    memset(o, 0, sizeof *o);
    o->host = OPTIONS_DEFAULT_HOST;
    o->port = OPTIONS_DEFAULT_PORT;
    o->timeout_secs = OPTIONS_DEFAULT_TIMEOUT;
    o->keepalive_secs = OPTIONS_DEFAULT_KEEPALIVE;
    o->transport = OPTIONS_TRANSPORT_UDP;
    o->args = calloc(argc > 0 ? (size_t)argc : 1, sizeof *o->args);
    if (o->args == NULL) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "out of memory");
        return false;
    }

    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (o->command == NULL)
                o->command = arg;
            else
                o->args[o->nargs++] = arg;
            continue;
        }
        const char *value;
        const option_spec_t *spec = find_option(arg, &value);
        if (spec == NULL) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "unknown option '%s'", arg);
            goto fail;
        }
        if (spec->takes_value && value == NULL) {
            if (i + 1 >= argc) {
                cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "%s needs a value",
                              spec->name);
                goto fail;
            }
            value = argv[++i];
        } else if (!spec->takes_value && value != NULL) {
            cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "%s takes no value",
                          spec->name);
            goto fail;
        }
        if (!apply_option(o, spec, value, err))
            goto fail;
    }
    if (o->help || resolve_defaults(o, err))
        return true;
fail:
    options_free(o);
    return false;
}

void options_free(client_options_t *o)
{
    free(o->default_ca);
    o->default_ca = NULL;
    o->ca_file = NULL;
    free(o->args);
    o->args = NULL;
    o->nargs = 0;
}

bool options_want_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--json") == 0)
            return true;
    }
    return false;
}
