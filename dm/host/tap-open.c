/* Opening a tap on the host (dm/host/tap-open.h). */
#include "dm/host/tap-open.h"

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

#define TUN_PATH "/dev/net/tun"

static int tap_create(const char *ifname, int oflags, char *err, size_t errlen)
{
    struct ifreq ifr;
    int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | oflags);

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

int host_tap_open(const char *ifname, int oflags, char *err, size_t errlen)
{
    int fd = tap_create(ifname, oflags, err, errlen);

    if (fd >= 0 && tap_up(ifname, err, errlen) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}
