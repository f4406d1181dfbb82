/* credentials: obtains and checks the user name and password the client logs in with. */
#include "client/credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void credentials_wipe(credentials_t *cred)
{
    explicit_bzero(cred, sizeof *cred);
}

/* True for a SHOP/1 user name: 1..SHOP1_USER_MAX of [A-Za-z0-9._-], not starting with '-'. */
static bool user_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > SHOP1_USER_MAX || s[0] == '-')
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* True when the password is one SHOP/1 word: no spaces or control characters. */
static bool password_sendable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= 0x20 || *p == 0x7F)
            return false;
    return true;
}

static credentials_result_t get_user(const client_options_t *o, input_t *in,
                                     credentials_t *cred, cli_error_t *err)
{
    char *typed = NULL;
    const char *user = o->user;
    if (user == NULL) {
        input_result_t r = input_line(in, "User: ", false, &typed);
        if (r == INPUT_EOF || r == INPUT_INTERRUPTED)
            return CREDENTIALS_EOF;
        if (r == INPUT_ERROR) {
            cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                          "login failed: cannot read the user name");
            return CREDENTIALS_ERROR;
        }
        user = r == INPUT_OK ? typed : "";
        if (r == INPUT_TOO_LONG)
            user = "(too long)";
    }
    credentials_result_t result = CREDENTIALS_OK;
    if (!user_name_valid(user)) {
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: '%.40s' is not a user name (1 to %d characters of "
                      "A-Z a-z 0-9 . _ -)", user, SHOP1_USER_MAX);
        result = CREDENTIALS_ERROR;
    } else {
        snprintf(cred->user, sizeof cred->user, "%s", user);
    }
    free(typed);
    return result;
}

/* Reads the first line of the password file into cred->password. */
static credentials_result_t password_from_file(const char *path, credentials_t *cred,
                                               cli_error_t *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "cannot read password file %s: %s",
                      path, strerror(errno));
        return CREDENTIALS_ERROR;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    credentials_result_t result = CREDENTIALS_OK;
    size_t len = n > 0 ? (size_t)n : 0;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len == 0) {
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE",
                      "password file %s does not start with a password", path);
        result = CREDENTIALS_ERROR;
    } else if (len > SHOP1_PASSWORD_MAX) {
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: the password in %s is longer than %d bytes", path,
                      SHOP1_PASSWORD_MAX);
        result = CREDENTIALS_ERROR;
    } else {
        memcpy(cred->password, line, len + 1);
    }
    if (line != NULL)
        explicit_bzero(line, cap);
    free(line);
    return result;
}

static credentials_result_t get_password(const client_options_t *o, input_t *in,
                                         credentials_t *cred, cli_error_t *err)
{
    const char *env = getenv("NETSHOP_PASSWORD");
    if (env != NULL && env[0] != '\0') {
        if (strlen(env) > SHOP1_PASSWORD_MAX) {
            cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                          "login failed: NETSHOP_PASSWORD is longer than %d bytes",
                          SHOP1_PASSWORD_MAX);
            return CREDENTIALS_ERROR;
        }
        snprintf(cred->password, sizeof cred->password, "%s", env);
        return CREDENTIALS_OK;
    }
    if (o->password_file != NULL)
        return password_from_file(o->password_file, cred, err);

    switch (input_secret(in, "Password: ", cred->password, sizeof cred->password)) {
    case INPUT_OK:
        return CREDENTIALS_OK;
    case INPUT_EOF:
    case INPUT_INTERRUPTED:
        return CREDENTIALS_EOF;
    case INPUT_TOO_LONG:
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: the password is longer than %d bytes", SHOP1_PASSWORD_MAX);
        return CREDENTIALS_ERROR;
    case INPUT_ERROR:
    default:
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: cannot read the password");
        return CREDENTIALS_ERROR;
    }
}

bool credentials_password_typed(const client_options_t *o)
{
    const char *env = getenv("NETSHOP_PASSWORD");
    return (env == NULL || env[0] == '\0') && o->password_file == NULL;
}

credentials_result_t credentials_get(const client_options_t *o, input_t *in,
                                     credentials_t *cred, cli_error_t *err)
{
    memset(cred, 0, sizeof *cred);
    credentials_result_t r = get_user(o, in, cred, err);
    if (r != CREDENTIALS_OK)
        return r;
    r = get_password(o, in, cred, err);
    if (r != CREDENTIALS_OK)
        return r;
    if (cred->password[0] == '\0') {
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: the password is empty");
        return CREDENTIALS_ERROR;
    }
    if (!password_sendable(cred->password)) {
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: the password contains a space or control character, "
                      "which SHOP/1 cannot carry");
        return CREDENTIALS_ERROR;
    }
    return CREDENTIALS_OK;
}
