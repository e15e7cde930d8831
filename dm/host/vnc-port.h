/* The VNC listening socket on the host (dm/host/vnc-port.c): bound by the
 * DM (-vnc host:display, before restriction) or by xsdmctl for a DM in a
 * network namespace of its own (-vnc fd=N), the same way in both. */
#ifndef XSDM_HOST_VNC_PORT_H
#define XSDM_HOST_VNC_PORT_H

#include <stddef.h>

#define HOST_VNC_BASE_PORT 5900     /* display d listens on port 5900 + d */
#define HOST_VNC_BACKLOG   4

/* Listen on host:5900+d for the first d of display..to whose port is free
 * (QEMU's to=). host: a numeric IPv4 or IPv6 address, "" = every IPv4
 * address. SOCK_STREAM|SOCK_CLOEXEC plus sflags (SOCK_NONBLOCK for the DM's
 * loop, 0 for a fd handed on). The fd with *bound = d, or -1 with err. */
int host_vnc_listen(const char *host, int display, int to, int sflags, int *bound, char *err, size_t errlen);

#endif
