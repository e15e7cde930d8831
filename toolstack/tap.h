/* The taps of a guest's emulated NICs, opened by the toolstack in the
 * initial network namespace: the device model then starts in a network
 * namespace of its own and holds only the tap's fd (`-netdev tap,fd=N`),
 * no way to create, configure or reach any other interface. */
#ifndef XSDMCTL_TAP_H
#define XSDMCTL_TAP_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_NETDEV_MAX 256

/* Create (or attach to) the tap IFNAME (IFF_TAP|IFF_NO_PI, O_CLOEXEC) and
 * bring it up. The fd, or -1 with err. */
int tap_open(const char *ifname, char *err, size_t errlen);
/* Put IFNAME on BRIDGE (SIOCBRADDIF): what libxl's vif-bridge does for xl;
 * `xsdmctl create` has no hotplug script. 0, or -1 with err. */
int tap_bridge_add(const char *bridge, const char *ifname, char *err, size_t errlen);

/* One -netdev value as libxl writes it (type=tap,id=I,ifname=N,br=B,...).
 * Returns 1 with ifname (and bridge, "" if none) filled when it names a tap
 * by ifname=, 0 when it does not (already fd=, or not a tap), -1 with err
 * when it is malformed. */
int tap_netdev_ifname(const char *val, char *ifname, size_t iflen, char *bridge, size_t brlen,
                      char *err, size_t errlen);
/* The same netdev in the fd form: "type=tap,id=I,fd=FD". 0, or -1 with err. */
int tap_netdev_fd_form(const char *val, int fd, char *out, size_t outlen, char *err, size_t errlen);

#endif
