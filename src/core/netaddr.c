/* netaddr: the /32 or /64 a source address is counted under. */
#include "core/netaddr.h"

#include <netinet/in.h>
#include <string.h>

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool netaddr_prefix_of(const struct sockaddr *sa, netaddr_prefix_t *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->len = 4;
        memcpy(out->bytes, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, V4_MAPPED, sizeof V4_MAPPED) == 0) {
            out->len = 4;
            memcpy(out->bytes, a + 12, 4);
        } else {
            out->len = 8;
            memcpy(out->bytes, a, 8);
        }
        return true;
    }
    return false;
}

bool netaddr_prefix_equal(const netaddr_prefix_t *a, const netaddr_prefix_t *b)
{
    return a->len == b->len && a->len != 0 && memcmp(a->bytes, b->bytes, a->len) == 0;
}
