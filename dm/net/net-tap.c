/* Tap backends, the privileged half (dm/net/net.h): as libxl asks, create or
 * attach the tap named by ifname= (/dev/net/tun, TUNSETIFF IFF_TAP|IFF_NO_PI)
 * and bring it up, as root before restriction, as qemu-xen does; libxl's
 * hotplug script then puts it on the bridge. Or adopt a tap the toolstack
 * opened (fd=N), after checking that it is one: frames without the
 * packet-information or virtio-net headers, which the NIC does not speak.
 * No guest data is parsed here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/errmsg.h"
#include "dm/core/log.h"
#include "dm/net/net.h"

#define TUN_PATH "/dev/net/tun"

static int tap_create(const char *ifname, char *err, size_t errlen)
{
    struct ifreq ifr;
    int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        seterr(err, errlen, "open %s: %s", TUN_PATH, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        seterr(err, errlen, "tap %s: TUNSETIFF: %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* IFF_UP, through any socket of the namespace the tap lives in. */
static int tap_up(const char *ifname, char *err, size_t errlen)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

    if (s < 0) {
        seterr(err, errlen, "tap %s: socket: %s", ifname, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        seterr(err, errlen, "tap %s: SIOCGIFFLAGS: %s", ifname, strerror(errno));
        goto out;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
        seterr(err, errlen, "tap %s: cannot bring it up: %s", ifname, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(s);
    return rc;
}

/* fd=N: a tap without PI or vnet headers, made ours (non-blocking, CLOEXEC). */
static int tap_adopt(int fd, const char *id, char *err, size_t errlen)
{
    struct ifreq ifr;
    int fl;

    memset(&ifr, 0, sizeof(ifr));
    if (fcntl(fd, F_GETFD) < 0) {
        seterr(err, errlen, "netdev %s: fd=%d is not open", id, fd);
        return -1;
    }
    if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
        seterr(err, errlen, "netdev %s: fd=%d is not a tap device", id, fd);
        return -1;
    }
    if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI) ||
        (ifr.ifr_flags & IFF_VNET_HDR)) {
        seterr(err, errlen, "netdev %s: fd=%d (%.*s) must be a tap opened with IFF_TAP|IFF_NO_PI "
                 "and without IFF_VNET_HDR", id, fd, IFNAMSIZ, ifr.ifr_name);
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        seterr(err, errlen, "netdev %s: fd=%d: %s", id, fd, strerror(errno));
        return -1;
    }
    return fd;
}

struct net_backend *net_tap_open(const struct netdev_spec *spec, struct loop *l, char *err, size_t errlen)
{
    struct net_backend *b;
    int fd;

    if (spec->fd >= 0) {
        fd = tap_adopt(spec->fd, spec->id, err, errlen);
    } else {
        fd = tap_create(spec->ifname, err, errlen);
        if (fd >= 0 && tap_up(spec->ifname, err, errlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        return NULL;
    b = net_backend_new(spec->id, fd, l, err, errlen);
    if (!b) {
        close(fd);
        return NULL;
    }
    log_debug("netdev %s: tap %s", spec->id, spec->fd >= 0 ? "from the toolstack" : spec->ifname);
    return b;
}
