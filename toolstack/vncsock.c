/* Binding the VNC socket on the DM's behalf (toolstack/vncsock.h). */
#include "toolstack/vncsock.h"

#include <stdio.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/errmsg.h"
#include "dm/host/vnc-port.h"

int vncsock_bind(const char *host, int display, int to, struct vncsock *s, char *err, size_t errlen)
{
    s->fd = host_vnc_listen(host, display, to, 0, &s->display, err, errlen);
    return s->fd < 0 ? -1 : 0;
}

int vncsock_rewrite(const char *arg, char *out, size_t outlen, bool *changed, struct vncsock *s,
                    char *err, size_t errlen)
{
    struct vnc_spec v;
    char e[256];
    int n;

    *changed = false;
    s->fd = -1;
    s->display = -1;
    if (cli_parse_vnc(arg, &v, e, sizeof(e)) < 0) {
        seterr(err, errlen, "-vnc %s: %s", arg, e);
        return -1;
    }
    if (!v.enabled || v.fd >= 0)
        return 0;
    if (vncsock_bind(v.host, v.display, v.to, s, err, errlen) < 0)
        return -1;
    n = snprintf(out, outlen, "fd=%d%s", s->fd, v.password ? ",password=on" : "");
    if (n < 0 || (size_t)n >= outlen) {
        seterr(err, errlen, "vnc: rewritten argument too long");
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    *changed = true;
    return 0;
}
