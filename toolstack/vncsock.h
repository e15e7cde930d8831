/* The VNC listening socket the toolstack opens for the device model and
 * passes as -vnc fd=N (toolstack/vncsock.c): bound in the toolstack's own
 * network namespace, so a DM in a new, empty one still serves a console.
 * Used by `xsdmctl create` (vnc=1) and by exec-dm, which rewrites libxl's
 * `-vnc <listen>:<display>[,password=on][,to=99]` into `-vnc fd=N[,password=on]`. */
#ifndef XSDMCTL_VNCSOCK_H
#define XSDMCTL_VNCSOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "dm/host/vnc-port.h"

#define VNCSOCK_BASE_PORT    HOST_VNC_BASE_PORT
#define VNCSOCK_FIND_TO      99     /* libxl's to=99 for vncunused=1 */

struct vncsock {
    int fd;                         /* listening, close-on-exec; -1 = none */
    int display;                    /* the one bound: port VNCSOCK_BASE_PORT + display */
};

/* host: numeric IPv4 or IPv6 ("" = every IPv4 address). Tries display..to
 * and takes the first free port (as QEMU's to=; dm/host/vnc-port.c, as the
 * DM binds it). 0, or -1 with err. */
int vncsock_bind(const char *host, int display, int to, struct vncsock *s, char *err, size_t errlen);

/* exec-dm: arg is libxl's -vnc value. "none" and an fd=N already given are
 * left alone (*changed false, s->fd -1). Otherwise bind as the DM would
 * have and write "fd=<s->fd>[,password=on]" into out. The DM's own parser
 * (cli_parse_vnc) reads arg, so both agree on what it means. 0 or -1. */
int vncsock_rewrite(const char *arg, char *out, size_t outlen, bool *changed, struct vncsock *s,
                    char *err, size_t errlen);

#endif
