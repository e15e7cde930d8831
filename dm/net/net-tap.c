/* Tap backends, the privileged half (dm/net/net.h): as libxl asks, create or
 * attach the tap named by ifname= (dm/host/tap-open.c, the open xsdmctl
 * makes too) and bring it up, as root before restriction, as qemu-xen does;
 * libxl's hotplug script then puts it on the bridge. Or adopt a tap the
 * toolstack opened (fd=N), after checking that it is one: frames without the
 * packet-information or virtio-net headers, which the NIC does not speak.
 * No guest data is parsed here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dm/core/errmsg.h"
#include "dm/core/log.h"
#include "dm/host/tap-open.h"
#include "dm/net/net.h"

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
        fd = host_tap_open(spec->ifname, O_NONBLOCK, err, errlen);
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
