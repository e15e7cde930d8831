/* Binding the VNC socket on the DM's behalf (toolstack/vncsock.h). */
#include "toolstack/vncsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/errmsg.h"

/* 1 bound, 0 port taken, -1 error. */
static int try_port(const char *host, int port, int *fd_out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int af = AF_INET, fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

        af = AF_INET6;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            goto bad_host;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        if (host[0] && inet_pton(AF_INET, host, &a->sin_addr) != 1)
            goto bad_host;
        sl = sizeof(*a);
    }
    fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        seterr(err, errlen, "vnc: socket: %s", strerror(errno));
        return -1;
    }
    /* As QEMU: a viewer's old connection in TIME_WAIT must not take the port. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;

        close(fd);
        if (e == EADDRINUSE)
            return 0;
        seterr(err, errlen, "vnc: bind %s:%d: %s", host[0] ? host : "*", port, strerror(e));
        return -1;
    }
    if (listen(fd, VNCSOCK_BACKLOG) < 0) {
        seterr(err, errlen, "vnc: listen on port %d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 1;
bad_host:
    seterr(err, errlen, "vnc: listen address '%s' is not a numeric IPv4 or IPv6 address", host);
    return -1;
}

int vncsock_bind(const char *host, int display, int to, struct vncsock *s, char *err, size_t errlen)
{
    s->fd = -1;
    s->display = -1;
    if (display < 0 || to < display || to > CFG_VNC_MAX_DISPLAY) {
        seterr(err, errlen, "vnc: display %d..%d out of range (0..%d)", display, to, CFG_VNC_MAX_DISPLAY);
        return -1;
    }
    for (int d = display; d <= to; d++) {
        int r = try_port(host, VNCSOCK_BASE_PORT + d, &s->fd, err, errlen);

        if (r < 0)
            return -1;
        if (r > 0) {
            s->display = d;
            return 0;
        }
    }
    if (display == to)
        seterr(err, errlen, "vnc: port %d (display %d) is in use", VNCSOCK_BASE_PORT + display, display);
    else
        seterr(err, errlen, "vnc: every port from %d to %d is in use", VNCSOCK_BASE_PORT + display,
               VNCSOCK_BASE_PORT + to);
    return -1;
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
