/* The host side of a tap for the NIC tests (see tapwire.h). */
#include "tests/lib/tapwire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int tapwire_tun_open(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int set_persist(const char *name, int on)
{
    int fd = tapwire_tun_open(name), rc = -1;

    if (fd < 0)
        return -1;
    if (ioctl(fd, TUNSETPERSIST, on) == 0)
        rc = 0;
    close(fd);
    return rc;
}

int tapwire_make(const char *name)
{
    if (set_persist(name, 1) < 0)
        return -1;
    return tapwire_no_ipv6(name);
}

int tapwire_destroy(const char *name) { return set_persist(name, 0); }

void tapwire_cleanup(const char *name)
{
    int saved = errno;

    (void)set_persist(name, 0);
    errno = saved;
}

int tapwire_no_ipv6(const char *name)
{
    char path[128];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;               /* no IPv6 on this host: nothing to turn off */
    if (write(fd, "1", 1) != 1)
        rc = -1;
    close(fd);
    return rc;
}

/* SIOCGIFFLAGS/SIOCSIFFLAGS and SIOCSIFMTU go through any socket. */
static int if_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
    int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

    if (sk < 0)
        return -1;
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
    r = ioctl(sk, req, ifr);
    close(sk);
    return r < 0 ? -1 : 0;
}

int tapwire_set_up(const char *name)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    if (if_ioctl(name, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return if_ioctl(name, SIOCSIFFLAGS, &ifr);
}

int tapwire_set_mtu(const char *name, int mtu)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_mtu = mtu;
    return if_ioctl(name, SIOCSIFMTU, &ifr);
}

int tapwire_open(struct tapwire *w, const char *name)
{
    struct sockaddr_ll sll;

    w->fd = -1;
    w->ifindex = (int)if_nametoindex(name);
    if (w->ifindex <= 0)
        return -1;
    w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (w->fd < 0)
        return -1;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = w->ifindex;
    if (bind(w->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        tapwire_close(w);
        return -1;
    }
    return 0;
}

void tapwire_close(struct tapwire *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

ssize_t tapwire_recv_from(const struct tapwire *w, const uint8_t *src, uint8_t *buf, size_t cap, int ms)
{
    for (;;) {
        struct pollfd p = { .fd = w->fd, .events = POLLIN };
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t r;

        if (poll(&p, 1, ms) <= 0)
            return -1;
        r = recvfrom(w->fd, buf, cap, 0, (struct sockaddr *)&from, &fl);
        /* Our own injections come back as PACKET_OUTGOING: skip them. */
        if (r >= 14 && from.sll_pkttype != PACKET_OUTGOING && !memcmp(buf + 6, src, 6))
            return r;
    }
}

int tapwire_send(const struct tapwire *w, const uint8_t *f, size_t len)
{
    struct sockaddr_ll sll;

    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = w->ifindex;
    sll.sll_halen = 6;
    memcpy(sll.sll_addr, f, 6);
    /* The kernel may refuse a frame for a moment (its queue towards the tap
     * full, the link just set up): that is the host's state, not the NIC's,
     * so wait for the socket and try again, a bounded number of times. */
    for (int tries = 0; tries < 100; tries++) {
        ssize_t r = sendto(w->fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll));
        struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };

        if (r == (ssize_t)len)
            return 0;
        if (r >= 0) {
            fprintf(stderr, "tapwire: %zd of %zu bytes sent on ifindex %d\n", r, len, w->ifindex);
            return -1;
        }
        if (errno != ENOBUFS && errno != EAGAIN && errno != ENETDOWN && errno != EINTR)
            break;
        (void)poll(&pfd, 1, 10);
    }
    fprintf(stderr, "tapwire: sending %zu bytes on ifindex %d: %s\n", len, w->ifindex, strerror(errno));
    return -1;
}

size_t tapwire_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, unsigned seq, size_t len)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = TAPWIRE_ETH_TEST >> 8;
    f[13] = TAPWIRE_ETH_TEST & 0xff;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seq * 7 + i);
    f[14] = (uint8_t)seq;
    return len;
}

size_t tapwire_ipv4(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t proto, size_t payload)
{
    size_t l4 = proto == 6 ? 20 : 8, tot = 20 + l4 + payload;

    memset(f, 0, 14 + tot);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;                       /* IPv4 */
    f[14] = 0x45;
    f[16] = (uint8_t)(tot >> 8);
    f[17] = (uint8_t)tot;
    f[18] = 0x12;                       /* id 0x1234 */
    f[19] = 0x34;
    f[22] = 64;
    f[23] = proto;
    memcpy(f + 26, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);  /* 192.0.2.1 -> 192.0.2.2 (TEST-NET-1) */
    f[34] = 0x30; f[35] = 0x39; f[36] = 0x00; f[37] = 0x50;  /* ports 12345 -> 80 */
    if (proto == 6) {
        f[38] = 0x10;                   /* seq 0x10000000 */
        f[46] = 0x50;                   /* data offset 5 */
        f[47] = 0x18 | 0x01;            /* PSH ACK FIN */
    } else {
        f[38] = (uint8_t)((8 + payload) >> 8);
        f[39] = (uint8_t)(8 + payload);
    }
    return 14 + tot;
}

uint32_t tapwire_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

uint16_t tapwire_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

uint32_t tapwire_pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
    return tapwire_csum(ip + 12, 8, 0) + proto + (uint32_t)l4len;
}
