/* The host side of a tap for the NIC tests: the tap itself (persistent, by
 * name, IPv6 off so the host stack stays quiet on it), an AF_PACKET socket
 * bound to it that sees what the guest's NIC sends and injects what it
 * receives, and the test frames and reference sums the NIC tests check
 * against. No libcheck here (the fuzzers link tests/lib): failures return
 * -1 with errno set, the tests assert. */
#ifndef XSDM_TEST_TAPWIRE_H
#define XSDM_TEST_TAPWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TAPWIRE_ETH_TEST 0x88b5    /* IEEE local experimental ethertype */

/* A tap fd for name (IFF_TAP | IFF_NO_PI), or -1. */
int tapwire_tun_open(const char *name);
/* Make name a persistent tap for the DM to attach by name, as libxl asks,
 * with IPv6 off; 0 or -1. */
int tapwire_make(const char *name);
/* Remove the persistent tap name; 0 or -1. */
int tapwire_destroy(const char *name);
/* The same, best effort and silent: a runner's cleanup after its tests. */
void tapwire_cleanup(const char *name);
/* Turn IPv6 off on name (0 also where the host has no IPv6); 0 or -1. */
int tapwire_no_ipv6(const char *name);
/* Bring name up; 0 or -1. */
int tapwire_set_up(const char *name);
/* Set name's MTU; 0 or -1. */
int tapwire_set_mtu(const char *name, int mtu);

/* An AF_PACKET socket bound to one tap. */
struct tapwire {
    int fd;
    int ifindex;
};

/* Bind w to the tap name; 0, or -1 (w->fd is -1 then). */
int tapwire_open(struct tapwire *w, const char *name);
void tapwire_close(struct tapwire *w);
/* The next frame that came out of the tap with source address src (what
 * the NIC sent, not what we injected), or -1 when none came within ms. */
ssize_t tapwire_recv_from(const struct tapwire *w, const uint8_t *src, uint8_t *buf, size_t cap, int ms);
/* Inject the frame f into the tap (towards the NIC); 0 once all of it went.
 * A moment of ENOBUFS/EAGAIN/ENETDOWN is waited out; other errors are printed. */
int tapwire_send(const struct tapwire *w, const uint8_t *f, size_t len);

/* A test frame of len bytes (>= 15): dst, src, TAPWIRE_ETH_TEST, then a
 * sequence number and a pattern derived from it. Returns len. */
size_t tapwire_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, unsigned seq, size_t len);
/* IPv4 192.0.2.1 -> 192.0.2.2, port 12345 -> 80, TCP (proto 6: PSH ACK FIN)
 * or UDP (17), payload zero bytes after the headers, checksums 0. Returns
 * the frame's length. */
size_t tapwire_ipv4(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t proto, size_t payload);

/* The Ethernet FCS (CRC-32, reflected) of p[0..n). */
uint32_t tapwire_crc32(const uint8_t *p, size_t n);
/* The ones' complement sum of p[0..n) added to sum, folded to 16 bits. */
uint16_t tapwire_csum(const uint8_t *p, size_t n, uint32_t sum);
/* The sum of the IPv4 pseudo header of ip for an L4 segment of l4len bytes. */
uint32_t tapwire_pseudo(const uint8_t *ip, uint8_t proto, size_t l4len);

#endif
