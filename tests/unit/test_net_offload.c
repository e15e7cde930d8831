/* dm/net/net-offload.c on its own: checksums against an independent
 * reference, TCP segmentation (sizes, sequence numbers, ids, flags), and
 * hostile headers (lengths past the frame, tiny MSS, wrong protocol)
 * refused without emitting anything. CRC-32 and the multicast hash on
 * known vectors. */
#include <check.h>
#include <string.h>

#include "dm/net/net-offload.h"
#include "tests/lib/ckrun.h"

struct sink {
    int n;
    size_t len[64];
    uint8_t f[64][2048];
};

static void collect(void *opaque, const uint8_t *frame, size_t len)
{
    struct sink *k = opaque;

    ck_assert_int_lt(k->n, 64);
    ck_assert_uint_le(len, sizeof(k->f[0]));
    memcpy(k->f[k->n], frame, len);
    k->len[k->n++] = len;
}

static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s;
}

static bool l4_ok(const uint8_t *f, uint8_t proto, size_t l4len)
{
    uint32_t ps = ref_sum(f + 26, 8, 0) + proto + (uint32_t)l4len;

    return ref_sum(f + 34, l4len, ps) == 0xffff;
}

/* Ethernet + IPv4 (ihl 5) + TCP (doff 5) or UDP, payload bytes i*5. */
static size_t frame(uint8_t *f, uint8_t proto, size_t payload)
{
    size_t l4 = proto == 6 ? 20 : 8, tot = 20 + l4 + payload;

    memset(f, 0, 14 + tot);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = (uint8_t)(tot >> 8);
    f[17] = (uint8_t)tot;
    f[18] = 0xab;
    f[19] = 0xcd;
    f[22] = 64;
    f[23] = proto;
    memcpy(f + 26, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
    if (proto == 6) {
        f[38] = 0xff; f[39] = 0xff; f[40] = 0xff; f[41] = 0xf0;  /* seq wraps */
        f[46] = 0x50;
        f[47] = 0x80 | 0x18 | 0x01;                              /* CWR PSH ACK FIN */
    } else {
        f[38] = (uint8_t)((8 + payload) >> 8);
        f[39] = (uint8_t)(8 + payload);
    }
    for (size_t i = 0; i < payload; i++)
        f[14 + 20 + l4 + i] = (uint8_t)(i * 5);
    return 14 + tot;
}

static uint8_t buf[70000], seg[2048];
static struct sink k;

START_TEST(checksums)
{
    struct net_tx_offload o = { .ip_csum = true, .tcp_csum = true };
    size_t len = frame(buf, 6, 1001);

    k.n = 0;
    ck_assert_int_eq(net_tx_offload(buf, len, &o, seg, sizeof(seg), collect, &k), 0);
    ck_assert_int_eq(k.n, 1);
    ck_assert_uint_eq(k.len[0], len);
    ck_assert_uint_eq(ref_sum(k.f[0] + 14, 20, 0), 0xffff);
    ck_assert(l4_ok(k.f[0], 6, 20 + 1001));
    o = (struct net_tx_offload){ .udp_csum = true };
    len = frame(buf, 17, 77);
    k.n = 0;
    ck_assert_int_eq(net_tx_offload(buf, len, &o, seg, sizeof(seg), collect, &k), 0);
    ck_assert(l4_ok(k.f[0], 17, 8 + 77));
    ck_assert_uint_eq(ref_sum(k.f[0] + 14, 20, 0) == 0xffff, 0);   /* IP header left alone */
    /* No offload asked: emitted untouched, even if it is not IP at all. */
    memset(buf, 0x11, 100);
    o = (struct net_tx_offload){ 0 };
    k.n = 0;
    ck_assert_int_eq(net_tx_offload(buf, 100, &o, seg, sizeof(seg), collect, &k), 0);
    ck_assert_mem_eq(k.f[0], buf, 100);
}
END_TEST

START_TEST(segmentation)
{
    struct net_tx_offload o = { .mss = 1000 };
    size_t len = frame(buf, 6, 2500);
    uint8_t orig[4000];

    memcpy(orig, buf, len);
    k.n = 0;
    ck_assert_int_eq(net_tx_offload(buf, len, &o, seg, sizeof(seg), collect, &k), 0);
    ck_assert_int_eq(k.n, 3);
    for (int i = 0; i < 3; i++) {
        size_t n = i < 2 ? 1000 : 500;
        uint32_t seq = (uint32_t)k.f[i][38] << 24 | (uint32_t)k.f[i][39] << 16 | (uint32_t)k.f[i][40] << 8 |
                       k.f[i][41];

        ck_assert_uint_eq(k.len[i], 54 + n);
        ck_assert_uint_eq(k.f[i][16] << 8 | k.f[i][17], 40 + n);
        ck_assert_uint_eq(k.f[i][18] << 8 | k.f[i][19], 0xabcd + i);
        ck_assert_uint_eq(seq, 0xfffffff0u + 1000u * (uint32_t)i);
        ck_assert_uint_eq(k.f[i][47] & 0x80, i == 0 ? 0x80 : 0);      /* CWR first only */
        ck_assert_uint_eq(k.f[i][47] & 0x09, i == 2 ? 0x09 : 0);      /* FIN/PSH last only */
        ck_assert_uint_eq(ref_sum(k.f[i] + 14, 20, 0), 0xffff);
        ck_assert(l4_ok(k.f[i], 6, 20 + n));
        ck_assert_mem_eq(k.f[i] + 54, orig + 54 + 1000 * i, n);
    }
    /* A payload of exactly one MSS, and an empty one: one segment each. */
    len = frame(buf, 6, 1000);
    k.n = 0;
    ck_assert_int_eq(net_tx_offload(buf, len, &o, seg, sizeof(seg), collect, &k), 0);
    ck_assert_int_eq(k.n, 1);
    len = frame(buf, 6, 0);
    k.n = 0;
    ck_assert_int_eq(net_tx_offload(buf, len, &o, seg, sizeof(seg), collect, &k), 0);
    ck_assert_int_eq(k.n, 1);
    ck_assert_uint_eq(k.len[0], 54);
}
END_TEST

START_TEST(hostile_headers)
{
    struct net_tx_offload tso = { .mss = 500 }, csum = { .ip_csum = true, .tcp_csum = true };
    size_t len;

    k.n = 0;
    /* Not IPv4; truncated Ethernet / IP headers. */
    len = frame(buf, 6, 100);
    buf[12] = 0x86;
    ck_assert_int_eq(net_tx_offload(buf, len, &csum, seg, sizeof(seg), collect, &k), -1);
    len = frame(buf, 6, 100);
    ck_assert_int_eq(net_tx_offload(buf, 10, &csum, seg, sizeof(seg), collect, &k), -1);
    ck_assert_int_eq(net_tx_offload(buf, 30, &csum, seg, sizeof(seg), collect, &k), -1);
    /* IHL past the frame, and below 5. */
    buf[14] = 0x4f;
    ck_assert_int_eq(net_tx_offload(buf, 60, &csum, seg, sizeof(seg), collect, &k), -1);
    buf[14] = 0x44;
    ck_assert_int_eq(net_tx_offload(buf, len, &csum, seg, sizeof(seg), collect, &k), -1);
    /* TCP data offset past the frame; below 5. */
    len = frame(buf, 6, 10);
    buf[46] = 0xf0;
    ck_assert_int_eq(net_tx_offload(buf, 14 + 20 + 30, &tso, seg, sizeof(seg), collect, &k), -1);
    buf[46] = 0x10;
    ck_assert_int_eq(net_tx_offload(buf, len, &tso, seg, sizeof(seg), collect, &k), -1);
    /* MSS below the minimum; a segment larger than the caller's buffer. */
    len = frame(buf, 6, 3000);
    tso.mss = NET_MSS_MIN - 1;
    ck_assert_int_eq(net_tx_offload(buf, len, &tso, seg, sizeof(seg), collect, &k), -1);
    tso.mss = 2047;
    ck_assert_int_eq(net_tx_offload(buf, len, &tso, seg, 1500, collect, &k), -1);
    /* Large send or TCP checksum of a UDP frame. */
    len = frame(buf, 17, 100);
    tso.mss = 500;
    ck_assert_int_eq(net_tx_offload(buf, len, &tso, seg, sizeof(seg), collect, &k), -1);
    ck_assert_int_eq(net_tx_offload(buf, len, &csum, seg, sizeof(seg), collect, &k), -1);
    /* An IP total length larger than the frame: the frame's length counts. */
    len = frame(buf, 6, 100);
    buf[16] = 0xff;
    ck_assert_int_eq(net_tx_offload(buf, len, &csum, seg, sizeof(seg), collect, &k), 0);
    ck_assert_int_eq(k.n, 1);
    ck_assert(l4_ok(k.f[0], 6, 120));
}
END_TEST

START_TEST(crc_and_hash)
{
    static const uint8_t v[] = "123456789";
    static const uint8_t allhosts[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    ck_assert_uint_eq(net_crc32(v, 9), 0xcbf43926);      /* the CRC-32 check value */
    ck_assert_uint_eq(net_crc32(v, 0), 0);
    /* Linux: ether_crc(6, addr) >> 26 for 8139too's MAR. */
    ck_assert_uint_eq(net_mcast_hash6(allhosts), 0x1f);     /* computed with Linux's ether_crc */
    ck_assert_uint_eq(net_mcast_hash6(bcast), 0x3f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net-offload");
    TCase *tc = tcase_create("net-offload");

    tcase_add_test(tc, checksums);
    tcase_add_test(tc, segmentation);
    tcase_add_test(tc, hostile_headers);
    tcase_add_test(tc, crc_and_hash);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
