/* Network backends: one fd that carries whole Ethernet frames (a tap, or
 * for tests any datagram socket), served by the loop. A NIC attaches one
 * receive callback; frames go out with net_send(). Nothing is queued in
 * the DM: when the NIC has no room the frame just read is held (one per
 * backend) and the fd is no longer polled, so the kernel's tap queue is
 * the only queue, bounded by the host. net_rx_kick() resumes. */
#ifndef XSDM_NET_H
#define XSDM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/config.h"

struct loop;
struct net_backend;

#define NET_FRAME_MAX 65536     /* the largest frame a backend reads or a NIC sends */
#define NET_RX_BUDGET 64        /* frames per loop round before other fds get a turn */

enum net_rx_result {
    NET_RX_DONE,                /* taken (delivered, or dropped as the hardware would) */
    NET_RX_FULL,                /* no room in the guest's ring: hold it, stop reading */
};

typedef enum net_rx_result net_rx_fn(void *opaque, const uint8_t *frame, size_t len);

/* Serve fd (already non-blocking, close-on-exec; the backend owns it from
 * now on). NULL with err filled if the loop cannot watch it. */
struct net_backend *net_backend_new(const char *id, int fd, struct loop *l, char *err, size_t errlen);
/* The tap a netdev spec names (dm/net/net-tap.c: as root, before restriction). */
struct net_backend *net_tap_open(const struct netdev_spec *spec, struct loop *l, char *err, size_t errlen);
void net_backend_free(struct net_backend *b);
/* NULL rx detaches: frames read are dropped. */
void net_set_receiver(struct net_backend *b, net_rx_fn *rx, void *opaque);
/* 0, or -1 if the frame was dropped (backend gone, host queue full). */
int net_send(struct net_backend *b, const uint8_t *frame, size_t len);
/* The NIC has room again: deliver a held frame and poll the fd again. Call
 * it last in a register handler (it re-enters the NIC's receive path). */
void net_rx_kick(struct net_backend *b);
bool net_rx_stalled(const struct net_backend *b);
uint64_t net_tx_dropped(const struct net_backend *b);
const char *net_backend_id(const struct net_backend *b);
/* The loop serving b (NULL for no backend): where its NIC defers work. */
struct loop *net_backend_loop(const struct net_backend *b);
/* Every backend's fd: kept across restriction. */
int net_keep_fds(int *fds, int max);

#endif
