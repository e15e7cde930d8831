/* Transmit work a NIC does for the guest's driver before a frame leaves:
 * IPv4 header, TCP and UDP checksums, and TCP segmentation (large send).
 * Pure functions over a frame buffer: no guest memory, no backend. */
#ifndef XSDM_NET_OFFLOAD_H
#define XSDM_NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_HLEN   14
#define NET_ETH_ZLEN   60      /* shortest frame on the wire, without FCS */
#define NET_VLAN_HLEN  4
#define NET_MSS_MIN    64      /* smaller MSS values are refused (a guest's CPU sink) */

struct net_tx_offload {
    bool ip_csum;               /* fill the IPv4 header checksum */
    bool tcp_csum, udp_csum;    /* fill the TCP / UDP checksum */
    unsigned mss;               /* >0: segment the TCP payload (implies all checksums) */
};

typedef void net_emit_fn(void *opaque, const uint8_t *frame, size_t len);

/* Apply o to frame (modified in place) and emit the result: one frame, or
 * one per segment built in seg (segcap bytes). 0, or -1 if the frame is
 * not what the offload needs (not IPv4/TCP/UDP as asked, truncated
 * headers, MSS out of range): then nothing was emitted. */
int net_tx_offload(uint8_t *frame, size_t len, const struct net_tx_offload *o, uint8_t *seg, size_t segcap,
                   net_emit_fn *emit, void *opaque);

/* The generic checksum a NIC inserts when told where (e1000 contexts):
 * the 16-bit ones' complement sum of bytes start..end inclusive (end 0:
 * the frame's last byte), including what the guest left at `at` (its
 * pseudo-header sum), complemented and stored big-endian at `at`. 0, or -1
 * if a position lies outside the frame (nothing written). */
int net_csum_insert(uint8_t *frame, size_t len, size_t start, size_t end, size_t at);

/* Ethernet CRC-32 (the FCS a NIC appends on receive) and the big-endian
 * CRC whose top 6 bits index a 64-bit multicast hash filter. */
uint32_t net_crc32(const uint8_t *p, size_t len);
unsigned net_mcast_hash6(const uint8_t mac[6]);

#endif
