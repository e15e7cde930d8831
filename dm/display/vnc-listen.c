/* The VNC listening socket, opened before restriction (dm/display/vnc.h): bound to
 * <host>:5900+display, trying the next display up to to= when a port is
 * taken (as QEMU), or adopted from the toolstack (-vnc fd=N), so that a DM
 * in its own network namespace can still serve a console. After this the DM
 * only accept4()s on it. */
#include "dm/display/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/log.h"

#define VNC_BASE_PORT 5900
#define VNC_BACKLOG   4

static int adopt(int fd, char *err, size_t errlen)
{
    int type = 0, acc = 0, fl;
    socklen_t len = sizeof(type), alen = sizeof(acc);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0) {
        snprintf(err, errlen, "-vnc fd=%d: not a socket (%s)", fd, strerror(errno));
        return -1;
    }
    if (type != SOCK_STREAM || !acc) {
        snprintf(err, errlen, "-vnc fd=%d: not a listening stream socket", fd);
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(err, errlen, "-vnc fd=%d: %s", fd, strerror(errno));
        return -1;
    }
    return fd;
}

static int bind_port(const struct vnc_spec *v, int port, int *fd_out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int af = AF_INET, fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (v->host[0] && strchr(v->host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

        af = AF_INET6;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, v->host, &a->sin6_addr) != 1)
            goto bad_host;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        if (v->host[0] && inet_pton(AF_INET, v->host, &a->sin_addr) != 1)
            goto bad_host;
        sl = sizeof(*a);
    }
    fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "vnc: socket: %s", strerror(errno));
        return -1;
    }
    /* As QEMU: a viewer's connection in TIME_WAIT must not take the port. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;

        close(fd);
        if (e == EADDRINUSE)
            return 0;           /* taken: try the next display */
        snprintf(err, errlen, "vnc: bind %s:%d: %s", v->host[0] ? v->host : "*", port, strerror(e));
        return -1;
    }
    if (listen(fd, VNC_BACKLOG) < 0) {
        snprintf(err, errlen, "vnc: listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 1;
bad_host:
    snprintf(err, errlen, "vnc: bad listen address '%s'", v->host);
    return -1;
}

int vnc_listen_open(const struct vnc_spec *v, char *err, size_t errlen)
{
    int d, fd = -1;

    if (!v->enabled) {
        snprintf(err, errlen, "vnc: not enabled");
        return -1;
    }
    if (v->fd >= 0)
        return adopt(v->fd, err, errlen);
    for (d = v->display; d <= v->to; d++) {
        int r = bind_port(v, VNC_BASE_PORT + d, &fd, err, errlen);

        if (r < 0)
            return -1;
        if (r > 0) {
            log_info("vnc: listening on %s:%d (display %d)", v->host[0] ? v->host : "*",
                     VNC_BASE_PORT + d, d);
            return fd;
        }
    }
    snprintf(err, errlen, "vnc: every port from %d to %d is in use", VNC_BASE_PORT + v->display,
             VNC_BASE_PORT + v->to);
    return -1;
}
