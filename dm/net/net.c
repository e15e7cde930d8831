/* The frame-carrying side of network backends (dm/net/net.h): non-blocking
 * reads into one buffer per backend, back-pressure by holding the frame
 * the NIC could not take and dropping EPOLLIN until net_rx_kick(). */
#include "dm/net/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dm/core/errmsg.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"

struct net_backend {
    char id[CFG_ID_MAX];
    int fd;
    struct loop *loop;
    net_rx_fn *rx;
    void *opaque;
    bool stalled;               /* EPOLLIN off: the NIC said NET_RX_FULL */
    bool read_error_logged;
    size_t held;                /* bytes of a frame read but not yet taken */
    uint64_t tx_dropped;
    uint8_t buf[NET_FRAME_MAX];
};

static struct net_backend *registry[CFG_MAX_NICS * 2];

static void reg_add(struct net_backend *b)
{
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
        if (!registry[i]) {
            registry[i] = b;
            return;
        }
}

static void reg_del(struct net_backend *b)
{
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
        if (registry[i] == b)
            registry[i] = NULL;
}

static bool registry_full(void)
{
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
        if (!registry[i])
            return false;
    return true;
}

/* Offer the held frame; true if it was taken. */
static bool offer(struct net_backend *b)
{
    if (b->rx && b->rx(b->opaque, b->buf, b->held) == NET_RX_FULL)
        return false;
    b->held = 0;
    return true;
}

/* Off the loop entirely (not just EPOLLIN masked): epoll would still
 * report hang-ups and errors, and a held frame would make that a spin. */
static void stall(struct net_backend *b)
{
    if (b->stalled)
        return;
    loop_del(b->loop, b->fd);
    b->stalled = true;
}

static void on_readable(void *opaque, int fd, uint32_t events)
{
    struct net_backend *b = opaque;
    int n;

    for (n = 0; n < NET_RX_BUDGET; n++) {
        if (!b->held) {
            ssize_t r = read(fd, b->buf, sizeof(b->buf));

            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (r <= 0) {
                /* A tap whose interface went away reads EIO or EOF: stop
                 * polling it rather than spin; the NIC just stays quiet. */
                if (!b->read_error_logged)
                    log_err("netdev %s: read: %s; no longer receiving", b->id,
                            r < 0 ? strerror(errno) : "end of file");
                b->read_error_logged = true;
                stall(b);
                return;
            }
            b->held = (size_t)r;
        }
        if (!offer(b)) {
            stall(b);
            return;
        }
    }
}

struct net_backend *net_backend_new(const char *id, int fd, struct loop *l, char *err, size_t errlen)
{
    struct net_backend *b;
    int r;

    if (registry_full()) {
        seterr(err, errlen, "netdev %s: too many network backends", id);
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        seterr(err, errlen, "netdev %s: out of memory", id);
        return NULL;
    }
    snprintf(b->id, sizeof(b->id), "%s", id);
    b->fd = fd;
    b->loop = l;
    r = loop_add(l, fd, EPOLLIN, on_readable, b);
    if (r < 0) {
        seterr(err, errlen, "netdev %s: cannot watch fd %d: %s", id, fd, strerror(-r));
        free(b);
        return NULL;
    }
    reg_add(b);
    return b;
}

void net_backend_free(struct net_backend *b)
{
    if (!b)
        return;
    reg_del(b);
    if (!b->stalled)
        loop_del(b->loop, b->fd);
    close(b->fd);
    free(b);
}

void net_set_receiver(struct net_backend *b, net_rx_fn *rx, void *opaque)
{
    b->rx = rx;
    b->opaque = opaque;
}

int net_send(struct net_backend *b, const uint8_t *frame, size_t len)
{
    ssize_t r;

    if (!b || len > NET_FRAME_MAX)
        return -1;
    do
        r = write(b->fd, frame, len);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)len) {
        b->tx_dropped++;
        return -1;
    }
    return 0;
}

void net_rx_kick(struct net_backend *b)
{
    if (!b || !b->stalled || b->read_error_logged)
        return;
    if (b->held && !offer(b))
        return;
    if (loop_add(b->loop, b->fd, EPOLLIN, on_readable, b) == 0)
        b->stalled = false;
}

bool net_rx_stalled(const struct net_backend *b) { return b && b->stalled; }
uint64_t net_tx_dropped(const struct net_backend *b) { return b ? b->tx_dropped : 0; }
const char *net_backend_id(const struct net_backend *b) { return b->id; }
struct loop *net_backend_loop(const struct net_backend *b) { return b ? b->loop : NULL; }

int net_keep_fds(int *fds, int max)
{
    int n = 0;

    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
        if (registry[i] && n < max)
            fds[n++] = registry[i]->fd;
    return n;
}
