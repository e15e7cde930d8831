/* Opening a tap on the host (dm/host/tap-open.c): the one privileged open
 * that both the DM (-netdev ifname=, as root before restriction) and
 * xsdmctl (for a DM that gets the fd) make. No guest data here. */
#ifndef XSDM_HOST_TAP_OPEN_H
#define XSDM_HOST_TAP_OPEN_H

#include <stddef.h>

/* Create (or attach to) the tap IFNAME on /dev/net/tun (IFF_TAP|IFF_NO_PI,
 * O_RDWR|O_CLOEXEC, plus oflags: O_NONBLOCK for the DM's loop, 0 for a fd
 * handed on) and bring it up in the caller's network namespace. IFNAME is
 * the caller's to validate. The fd, or -1 with err. */
int host_tap_open(const char *ifname, int oflags, char *err, size_t errlen);

#endif
