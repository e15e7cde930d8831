/* The VNC listening socket on the host (dm/host/vnc-port.h). */
#include "dm/host/vnc-port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/errmsg.h"

/* 1 bound (*fd_out), 0 port taken, -1 error. */
static int try_port(const char *host, int port, int sflags, int *fd_out, char *err, size_t errlen)
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
    fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC | sflags, 0);
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
            return 0;           /* taken: the caller tries the next display */
        seterr(err, errlen, "vnc: bind %s:%d: %s", host[0] ? host : "*", port, strerror(e));
        return -1;
    }
    if (listen(fd, HOST_VNC_BACKLOG) < 0) {
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

int host_vnc_listen(const char *host, int display, int to, int sflags, int *bound, char *err, size_t errlen)
{
    int fd = -1;

    *bound = -1;
    if (display < 0 || to < display || to > CFG_VNC_MAX_DISPLAY) {
        seterr(err, errlen, "vnc: display %d..%d out of range (0..%d)", display, to, CFG_VNC_MAX_DISPLAY);
        return -1;
    }
    for (int d = display; d <= to; d++) {
        int r = try_port(host, HOST_VNC_BASE_PORT + d, sflags, &fd, err, errlen);

        if (r < 0)
            return -1;
        if (r > 0) {
            *bound = d;
            return fd;
        }
    }
    if (display == to)
        seterr(err, errlen, "vnc: port %d (display %d) is in use", HOST_VNC_BASE_PORT + display, display);
    else
        seterr(err, errlen, "vnc: every port from %d to %d is in use", HOST_VNC_BASE_PORT + display,
               HOST_VNC_BASE_PORT + to);
    return -1;
}
