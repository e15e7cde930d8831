/* The VNC listening socket, opened before restriction (dm/display/vnc.h):
 * bound to <host>:5900+display, trying the next display up to to= when a
 * port is taken (as QEMU; dm/host/vnc-port.c, as xsdmctl binds it), or
 * adopted from the toolstack (-vnc fd=N), so that a DM in its own network
 * namespace can still serve a console. After this the DM only accept4()s
 * on it. */
#include "dm/display/vnc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/log.h"
#include "dm/host/vnc-port.h"

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

int vnc_listen_open(const struct vnc_spec *v, char *err, size_t errlen)
{
    int d, fd;

    if (!v->enabled) {
        snprintf(err, errlen, "vnc: not enabled");
        return -1;
    }
    if (v->fd >= 0)
        return adopt(v->fd, err, errlen);
    fd = host_vnc_listen(v->host, v->display, v->to, SOCK_NONBLOCK, &d, err, errlen);
    if (fd >= 0)
        log_info("vnc: listening on %s:%d (display %d)", v->host[0] ? v->host : "*",
                 HOST_VNC_BASE_PORT + d, d);
    return fd;
}
