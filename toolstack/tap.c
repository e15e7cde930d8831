/* Taps opened by the toolstack (toolstack/tap.h). As root, in the initial
 * network namespace, before the DM starts; the DM gets the fd. */
#include "toolstack/tap.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/errmsg.h"
#include "dm/host/tap-open.h"

static bool valid_ifname(const char *n)
{
    size_t len = strlen(n);

    /* what the kernel's dev_valid_name accepts */
    return len > 0 && len < IFNAMSIZ && strcmp(n, ".") && strcmp(n, "..") && !strchr(n, '/') &&
           !strchr(n, ':') && !strpbrk(n, " \t\n");
}

int tap_open(const char *ifname, char *err, size_t errlen)
{
    if (!valid_ifname(ifname)) {
        seterr(err, errlen, "'%s' is not a valid interface name", ifname);
        return -1;
    }
    return host_tap_open(ifname, 0, err, errlen);
}

int tap_bridge_add(const char *bridge, const char *ifname, char *err, size_t errlen)
{
    struct ifreq ifr;
    int s, idx, rc = -1;

    if (!valid_ifname(bridge) || !valid_ifname(ifname)) {
        seterr(err, errlen, "'%s' on '%s': not valid interface names", ifname, bridge);
        return -1;
    }
    s = socket(AF_LOCAL, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        seterr(err, errlen, "bridge %s: socket: %s", bridge, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
        seterr(err, errlen, "tap %s: %s", ifname, strerror(errno));
        goto out;
    }
    idx = ifr.ifr_ifindex;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
    ifr.ifr_ifindex = idx;
    if (ioctl(s, SIOCBRADDIF, &ifr) < 0) {
        seterr(err, errlen, "cannot put %s on bridge %s: %s", ifname, bridge,
               errno == ENODEV ? "no such bridge" : strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(s);
    return rc;
}

/* The value of KEY in a "k=v,k=v" list (v up to the next comma), or NULL. */
static const char *kv_find(const char *val, const char *key, size_t *len)
{
    size_t klen = strlen(key);

    for (const char *p = val; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (!strncmp(p, key, klen) && p[klen] == '=') {
            const char *v = p + klen + 1, *end = strchr(v, ',');

            *len = end ? (size_t)(end - v) : strlen(v);
            return v;
        }
    }
    return NULL;
}

static int kv_copy(const char *val, const char *key, char *out, size_t outlen)
{
    size_t len;
    const char *v = kv_find(val, key, &len);

    if (!v) {
        if (outlen)
            out[0] = 0;
        return 0;
    }
    if (len >= outlen)
        return -1;
    memcpy(out, v, len);
    out[len] = 0;
    return 1;
}

/* libxl writes "type=tap,..."; QEMU also takes a bare leading "tap,..." */
static bool is_tap(const char *val)
{
    size_t len;
    const char *t = kv_find(val, "type", &len);

    if (t)
        return len == 3 && !strncmp(t, "tap", 3);
    return !strncmp(val, "tap", 3) && (val[3] == ',' || !val[3]);
}

int tap_netdev_ifname(const char *val, char *ifname, size_t iflen, char *bridge, size_t brlen,
                      char *err, size_t errlen)
{
    int r;

    if (!is_tap(val))
        return 0;
    r = kv_copy(val, "ifname", ifname, iflen);
    if (r < 0 || (r == 1 && !valid_ifname(ifname))) {
        seterr(err, errlen, "-netdev %s: not a valid interface name", val);
        return -1;
    }
    if (r == 0)
        return 0;
    if (kv_copy(val, "br", bridge, brlen) < 0 || (bridge[0] && !valid_ifname(bridge))) {
        seterr(err, errlen, "-netdev %s: not a valid bridge name", val);
        return -1;
    }
    return 1;
}

int tap_netdev_fd_form(const char *val, int fd, char *out, size_t outlen, char *err, size_t errlen)
{
    char id[64];
    int n;

    if (kv_copy(val, "id", id, sizeof(id)) != 1 || !id[0] || strchr(id, '=')) {
        seterr(err, errlen, "-netdev %s: needs a valid id=", val);
        return -1;
    }
    n = snprintf(out, outlen, "type=tap,id=%s,fd=%d", id, fd);
    if (n < 0 || (size_t)n >= outlen) {
        seterr(err, errlen, "-netdev %s: too long", val);
        return -1;
    }
    return 0;
}
