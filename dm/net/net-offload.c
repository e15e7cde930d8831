/* IPv4 checksum and TCP segmentation offload (dm/net/net-offload.h). Every
 * header length and offset comes from the guest: each is checked against
 * the frame's length before it is used. */
#include "dm/net/net-offload.h"

#include <string.h>

#include "dm/core/bytes.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100
#define IPPROTO_TCP_N  6
#define IPPROTO_UDP_N  17
#define IP_HLEN_MIN    20
#define TCP_HLEN_MIN   20
#define UDP_HLEN       8
#define TCP_FIN        0x01
#define TCP_PSH        0x08
#define TCP_CWR        0x80

/* Offsets inside the IPv4 header. */
#define IP_TOTLEN 2
#define IP_ID     4
#define IP_FRAG   6
#define IP_PROTO  9
#define IP_CSUM   10
#define IP_SRC    12
/* TCP / UDP. */
#define TCP_SEQ   4
#define TCP_DOFF  12
#define TCP_FLAGS 13
#define TCP_CSUM  16
#define UDP_LEN   4
#define UDP_CSUM  6

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        s += get_be16(p + i);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

struct l3 {
    size_t ip;          /* offset of the IPv4 header */
    size_t ihl;         /* its length */
    size_t l4;          /* offset of the TCP/UDP header */
    size_t l4len;       /* bytes from there to the end of the IP packet */
    uint8_t proto;
};

/* Locate IPv4 and its payload; the IP total length is trusted only as far
 * as the frame goes (a large-send frame's may be anything). */
static int parse(const uint8_t *f, size_t len, bool trust_totlen, struct l3 *h)
{
    size_t ip = NET_ETH_HLEN, tot;

    if (len < NET_ETH_HLEN)
        return -1;
    if (get_be16(f + 12) == ETHERTYPE_VLAN) {
        if (len < NET_ETH_HLEN + NET_VLAN_HLEN)
            return -1;
        ip += NET_VLAN_HLEN;
    }
    if (get_be16(f + ip - 2) != ETHERTYPE_IPV4 || len < ip + IP_HLEN_MIN || (f[ip] >> 4) != 4)
        return -1;
    h->ip = ip;
    h->ihl = (size_t)(f[ip] & 0x0f) * 4;
    if (h->ihl < IP_HLEN_MIN || len < ip + h->ihl)
        return -1;
    h->proto = f[ip + IP_PROTO];
    h->l4 = ip + h->ihl;
    tot = get_be16(f + ip + IP_TOTLEN);
    if (trust_totlen && tot >= h->ihl && ip + tot <= len)
        h->l4len = tot - h->ihl;
    else
        h->l4len = len - h->l4;
    return 0;
}

static void ip_checksum(uint8_t *f, const struct l3 *h)
{
    put_be16(f + h->ip + IP_CSUM, 0);
    put_be16(f + h->ip + IP_CSUM, fold(sum16(0, f + h->ip, h->ihl)));
}

static uint32_t pseudo(const uint8_t *f, const struct l3 *h, size_t l4len)
{
    uint32_t s = sum16(0, f + h->ip + IP_SRC, 8);

    return s + h->proto + (uint32_t)l4len;
}

/* TCP or UDP checksum over l4len bytes. */
static int l4_checksum(uint8_t *f, const struct l3 *h, size_t l4len)
{
    size_t at;
    uint16_t c;

    if (h->proto == IPPROTO_TCP_N && l4len >= TCP_HLEN_MIN)
        at = h->l4 + TCP_CSUM;
    else if (h->proto == IPPROTO_UDP_N && l4len >= UDP_HLEN)
        at = h->l4 + UDP_CSUM;
    else
        return -1;
    put_be16(f + at, 0);
    c = fold(sum16(pseudo(f, h, l4len), f + h->l4, l4len));
    if (h->proto == IPPROTO_UDP_N && c == 0)
        c = 0xffff;         /* 0 means "no checksum" for UDP */
    put_be16(f + at, c);
    return 0;
}

static int segment(uint8_t *f, size_t len, const struct l3 *h, unsigned mss, uint8_t *seg, size_t segcap,
                   net_emit_fn *emit, void *opaque)
{
    size_t thl, hlen, off, payload;
    uint32_t seq;
    uint16_t id;
    uint8_t flags;

    if (h->proto != IPPROTO_TCP_N || mss < NET_MSS_MIN || len < h->l4 + TCP_HLEN_MIN)
        return -1;
    thl = (size_t)(f[h->l4 + TCP_DOFF] >> 4) * 4;
    hlen = h->l4 + thl;
    if (thl < TCP_HLEN_MIN || len < hlen || hlen + mss > segcap || hlen + mss - h->ip > 0xffff)
        return -1;
    payload = len - hlen;
    seq = get_be32(f + h->l4 + TCP_SEQ);
    id = get_be16(f + h->ip + IP_ID);
    flags = f[h->l4 + TCP_FLAGS];
    off = 0;
    do {
        size_t n = payload - off < mss ? payload - off : mss;
        bool first = off == 0, last = off + n == payload;
        struct l3 s = *h;

        memcpy(seg, f, hlen);
        memcpy(seg + hlen, f + hlen + off, n);
        put_be16(seg + h->ip + IP_TOTLEN, (uint16_t)(hlen - h->ip + n));
        put_be16(seg + h->ip + IP_ID, (uint16_t)(id + off / mss));
        put_be32(seg + h->l4 + TCP_SEQ, seq + (uint32_t)off);
        seg[h->l4 + TCP_FLAGS] = (uint8_t)(flags & ~((last ? 0 : TCP_FIN | TCP_PSH) | (first ? 0 : TCP_CWR)));
        s.l4len = thl + n;
        ip_checksum(seg, &s);
        l4_checksum(seg, &s, s.l4len);
        emit(opaque, seg, hlen + n);
        off += n;
    } while (off < payload);
    return 0;
}

int net_tx_offload(uint8_t *frame, size_t len, const struct net_tx_offload *o, uint8_t *seg, size_t segcap,
                   net_emit_fn *emit, void *opaque)
{
    struct l3 h;

    if (!o->mss && !o->ip_csum && !o->tcp_csum && !o->udp_csum) {
        emit(opaque, frame, len);
        return 0;
    }
    if (parse(frame, len, !o->mss, &h) < 0)
        return -1;
    if (o->mss)
        return segment(frame, len, &h, o->mss, seg, segcap, emit, opaque);
    if ((o->tcp_csum && h.proto != IPPROTO_TCP_N) || (o->udp_csum && h.proto != IPPROTO_UDP_N))
        return -1;
    if ((o->tcp_csum || o->udp_csum) && l4_checksum(frame, &h, h.l4len) < 0)
        return -1;
    if (o->ip_csum)
        ip_checksum(frame, &h);
    emit(opaque, frame, len);
    return 0;
}

int net_csum_insert(uint8_t *frame, size_t len, size_t start, size_t end, size_t at)
{
    if (!end)
        end = len ? len - 1 : 0;
    if (len < 2 || start >= len || end >= len || start > end || at > len - 2)
        return -1;
    put_be16(frame + at, fold(sum16(0, frame + start, end - start + 1)));
    return 0;
}

uint32_t net_crc32(const uint8_t *p, size_t len)
{
    static uint32_t table[256];
    uint32_t c = 0xffffffffu;
    size_t i;

    if (!table[1]) {
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t v = n;

            for (int k = 0; k < 8; k++)
                v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
            table[n] = v;
        }
    }
    for (i = 0; i < len; i++)
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

unsigned net_mcast_hash6(const uint8_t mac[6])
{
    uint32_t crc = 0xffffffffu;

    for (int i = 0; i < 6; i++) {
        uint8_t b = mac[i];

        for (int k = 0; k < 8; k++, b >>= 1)
            crc = ((crc >> 31) ^ (b & 1)) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
    }
    return crc >> 26;
}
