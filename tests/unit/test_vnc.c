/* The VNC server in-process: a socketpair, the server attached to one end,
 * the test as an RFB client on the other, pumping the loop (no threads).
 * Covers the handshakes of 3.3/3.7/3.8 with None and VNC authentication
 * (DES checked against a vector from Perl's Crypt::DES), raw and ZRLE
 * updates (inflated here), incremental updates from dirty rows, DesktopSize,
 * input to the sink, hostile input (versions, SetEncodings count, cut text,
 * pixel formats, unknown messages), the slow-client bound, which connection
 * wins, the listening socket, -vnc parsing, QMP query-vnc and
 * change-vnc-password, the keysym table and the display surface. The real
 * viewers are in test_vnc_clients. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/des.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "dm/board/dm.h"
#include "dm/core/config.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/display/display.h"
#include "dm/display/keymap.h"
#include "dm/display/vnc-int.h"
#include "dm/display/vnc.h"
#include "dm/qmp/qmp.h"
#include "tests/lib/ckrun.h"

#define MAX_ROUNDS 400          /* loop rounds (of <= 10 ms) before missing data fails the test */
#define W 100
#define H 70

static struct loop *l;
static struct vnc_server *srv;
static struct display disp;
static uint32_t fb[W * H];
static int cfd = -1;
static uint32_t keys[64];
static bool keys_down[64];
static int n_keys;
static unsigned ptr_x, ptr_y, ptr_b;
static int n_ptr;

static void on_key(void *o, uint32_t keysym, bool down)
{
    if (n_keys < 64) {
        keys_down[n_keys] = down;
        keys[n_keys++] = keysym;
    }
}

static void on_ptr(void *o, unsigned x, unsigned y, unsigned b)
{
    ptr_x = x;
    ptr_y = y;
    ptr_b = b;
    n_ptr++;
}

static uint32_t pattern(unsigned x, unsigned y)
{
    return (uint32_t)((x * 2) << 16 | (y * 3) << 8 | ((x + y) & 0xff));
}

static void make_server(bool password)
{
    char err[256];
    struct input_sink sink = { on_key, on_ptr, NULL };
    unsigned x, y;

    l = loop_new();
    ck_assert_ptr_nonnull(l);
    srv = vnc_server_new(l, -1, password, "test-vm", err, sizeof(err));
    ck_assert_msg(srv != NULL, "%s", err);
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            fb[y * W + x] = pattern(x, y);
    display_init(&disp, NULL, NULL);
    ck_assert_int_eq(display_set_mode(&disp, W, H, W * 4, (const uint8_t *)fb), 0);
    vnc_server_attach_display(srv, &disp);
    vnc_server_set_input(srv, &sink);
    n_keys = n_ptr = 0;
}

static int connect_client(void)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(vnc_server_attach_client(srv, sv[0]), 0);
    return sv[1];
}

static void setup(void)
{
    log_set_level(LOG_ERR);
    make_server(false);
    cfd = connect_client();
}

static void setup_pw(void)
{
    log_set_level(LOG_ERR);
    make_server(true);
    cfd = connect_client();
}

static void teardown(void)
{
    vnc_server_free(srv);
    srv = NULL;
    if (cfd >= 0)
        close(cfd);
    cfd = -1;
    loop_free(l);
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n) {
        ssize_t r = write(fd, b, n);

        if (r < 0 && errno == EAGAIN) {
            loop_once(l, 0);
            continue;
        }
        ck_assert_int_gt(r, 0);
        b += r;
        n -= (size_t)r;
    }
}

/* Read exactly n bytes, pumping the server; false on EOF. */
static bool recv_n(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    size_t got = 0;
    int i;

    for (i = 0; i < MAX_ROUNDS && got < n; i++) {
        ssize_t r = read(fd, b + got, n - got);

        if (r == 0)
            return false;
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        ck_assert_int_eq(errno, EAGAIN);
        loop_once(l, 10);
    }
    ck_assert_msg(got == n, "only %zu of %zu bytes arrived", got, n);
    return true;
}

/* True once the server has closed the connection (after draining). */
static bool closed_by_server(int fd)
{
    uint8_t b[4096];
    int i;

    for (i = 0; i < MAX_ROUNDS; i++) {
        ssize_t r = read(fd, b, sizeof(b));

        if (r == 0)
            return true;
        if (r < 0 && errno != EAGAIN)
            return true;
        if (r < 0)
            loop_once(l, 10);
    }
    return false;
}

/* Nothing arrives within a few rounds (used only where data would be a bug). */
static bool quiet(int fd)
{
    uint8_t b;
    int i;

    for (i = 0; i < 8; i++) {
        loop_once(l, 10);
        if (read(fd, &b, 1) >= 0)
            return false;
    }
    return true;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void des_response(const char *pw, const uint8_t ch[16], uint8_t out[16])
{
    struct des_ctx des;
    uint8_t key[8] = { 0 };
    size_t i;
    int b;

    for (i = 0; i < 8 && pw[i]; i++)
        for (b = 0; b < 8; b++)
            if ((uint8_t)pw[i] & (1u << b))
                key[i] |= (uint8_t)(0x80u >> b);
    des_set_key(&des, key);
    des_encrypt(&des, 16, out, ch);
}

/* Version exchange; returns the security bytes' first value as the server sent them. */
static void version(const char *v)
{
    char sv[12];

    ck_assert(recv_n(cfd, sv, 12));
    ck_assert(!memcmp(sv, "RFB 003.008\n", 12));
    send_all(cfd, v, 12);
}

static void server_init(unsigned *w, unsigned *h)
{
    uint8_t si[24];
    char name[64];
    uint32_t nl;

    ck_assert(recv_n(cfd, si, 24));
    *w = be16(si);
    *h = be16(si + 2);
    ck_assert_int_eq(si[4], 32);             /* bpp */
    ck_assert_int_eq(si[7], 1);              /* true colour */
    nl = be32(si + 20);
    ck_assert_uint_lt(nl, sizeof(name));
    ck_assert(recv_n(cfd, name, nl));
    name[nl] = 0;
    ck_assert_str_eq(name, "test-vm");
}

/* A 3.8 handshake with security None, through ServerInit. */
static void handshake_none(void)
{
    uint8_t sec[2], res[4], shared = 1;
    unsigned w, h;

    version("RFB 003.008\n");
    ck_assert(recv_n(cfd, sec, 2));
    ck_assert_int_eq(sec[0], 1);
    ck_assert_int_eq(sec[1], 1);
    send_all(cfd, "\x01", 1);
    ck_assert(recv_n(cfd, res, 4));
    ck_assert_uint_eq(be32(res), 0);
    send_all(cfd, &shared, 1);
    server_init(&w, &h);
    ck_assert_uint_eq(w, W);
    ck_assert_uint_eq(h, H);
}

static void set_encodings(const int32_t *e, unsigned n)
{
    uint8_t m[4 + 4 * 8] = { 2, 0, 0, (uint8_t)n };
    unsigned i;

    for (i = 0; i < n; i++) {
        uint32_t v = htonl((uint32_t)e[i]);

        memcpy(m + 4 + 4 * i, &v, 4);
    }
    send_all(cfd, m, 4 + 4 * n);
}

static void request(bool incremental)
{
    uint8_t m[10] = { 3, incremental, 0, 0, 0, 0, 0, W, 0, H };

    send_all(cfd, m, sizeof(m));
}

/* ---- handshakes ---------------------------------------------------------- */

START_TEST(rfb38_none)
{
    uint8_t key[8] = { 4, 1, 0, 0, 0, 0, 0xff, 0x0d };
    uint8_t ptr[6] = { 5, 3, 0x01, 0x00, 0x7f, 0xff };     /* x 256, y 32767: clamped */

    handshake_none();
    send_all(cfd, key, sizeof(key));
    key[1] = 0;
    send_all(cfd, key, sizeof(key));
    send_all(cfd, ptr, sizeof(ptr));
    ck_assert(quiet(cfd));
    ck_assert_int_eq(n_keys, 2);
    ck_assert_uint_eq(keys[0], 0xff0d);
    ck_assert(keys_down[0]);
    ck_assert(!keys_down[1]);
    ck_assert_int_eq(n_ptr, 1);
    ck_assert_uint_eq(ptr_x, W - 1);
    ck_assert_uint_eq(ptr_y, H - 1);
    ck_assert_uint_eq(ptr_b, 3);
}
END_TEST

START_TEST(rfb37_none_has_no_result)
{
    uint8_t sec[2], shared = 0;
    unsigned w, h;

    version("RFB 003.007\n");
    ck_assert(recv_n(cfd, sec, 2));
    ck_assert_int_eq(sec[1], 1);
    send_all(cfd, "\x01", 1);
    send_all(cfd, &shared, 1);
    server_init(&w, &h);        /* no SecurityResult in front of it */
    ck_assert_uint_eq(w, W);
}
END_TEST

START_TEST(rfb33_server_decides)
{
    uint8_t sec[4], shared = 1;
    unsigned w, h;

    version("RFB 003.003\n");
    ck_assert(recv_n(cfd, sec, 4));
    ck_assert_uint_eq(be32(sec), 1);
    send_all(cfd, &shared, 1);
    server_init(&w, &h);
    ck_assert_uint_eq(h, H);
}
END_TEST

static const char *const bad_versions[] = {
    "RFB 004.000\n", "RFB 003.00a\n", "RFB 003.006\n", "GET / HTTP/1", "RFB 003.008\r", "\0\0\0\0\0\0\0\0\0\0\0\0",
};

START_TEST(bad_version_closes)
{
    version(bad_versions[_i]);
    ck_assert(closed_by_server(cfd));
}
END_TEST

START_TEST(vnc_auth_known_answer)
{
    struct vnc_auth a;
    char err[128];
    uint8_t ch[16], resp[16] = { 0xee, 0x22, 0x53, 0x9f, 0x33, 0xa5, 0x98, 0x3e,
                                 0xc1, 0x2f, 0x9c, 0x2e, 0xdb, 0xc9, 0x95, 0xdd };
    int i;

    for (i = 0; i < 16; i++)
        ch[i] = (uint8_t)i;
    ck_assert_int_eq(vnc_auth_init(&a, err, sizeof(err)), 0);
    ck_assert(!vnc_auth_check(&a, ch, resp));          /* no password yet */
    vnc_auth_set_password(&a, "secret");
    ck_assert(vnc_auth_check(&a, ch, resp));
    resp[15] ^= 1;
    ck_assert(!vnc_auth_check(&a, ch, resp));
    resp[15] ^= 1;
    vnc_auth_set_password(&a, "secret99extra");        /* only 8 bytes count */
    ck_assert(!vnc_auth_check(&a, ch, resp));
    vnc_auth_set_password(&a, "");
    ck_assert(!vnc_auth_check(&a, ch, resp));
}
END_TEST

static bool auth_38(const char *typed)
{
    uint8_t sec[2], ch[16], resp[16], res[4];

    version("RFB 003.008\n");
    ck_assert(recv_n(cfd, sec, 2));
    ck_assert_int_eq(sec[1], 2);
    send_all(cfd, "\x02", 1);
    ck_assert(recv_n(cfd, ch, 16));
    des_response(typed, ch, resp);
    send_all(cfd, resp, 16);
    ck_assert(recv_n(cfd, res, 4));
    return be32(res) == 0;
}

START_TEST(password_right)
{
    char err[64];
    unsigned w, h;
    uint8_t shared = 1;

    ck_assert_int_eq(vnc_server_set_password(srv, "s3cret", err, sizeof(err)), 0);
    ck_assert(auth_38("s3cret"));
    send_all(cfd, &shared, 1);
    server_init(&w, &h);
    ck_assert_uint_eq(w, W);
}
END_TEST

START_TEST(password_wrong)
{
    char err[64], reason[32];
    uint8_t len[4];

    ck_assert_int_eq(vnc_server_set_password(srv, "s3cret", err, sizeof(err)), 0);
    ck_assert(!auth_38("guess"));
    ck_assert(recv_n(cfd, len, 4));
    ck_assert_uint_eq(be32(len), 21);
    ck_assert(recv_n(cfd, reason, 21));
    ck_assert(!memcmp(reason, "Authentication failed", 21));
    ck_assert(closed_by_server(cfd));
}
END_TEST

START_TEST(password_unset_refuses_everyone)
{
    ck_assert(!auth_38(""));
}
END_TEST

START_TEST(security_type_not_offered)
{
    uint8_t sec[2], res[4];

    version("RFB 003.008\n");
    ck_assert(recv_n(cfd, sec, 2));
    send_all(cfd, "\x01", 1);            /* None, when only VNC auth is offered */
    ck_assert(recv_n(cfd, res, 4));
    ck_assert_uint_eq(be32(res), 1);
    ck_assert(closed_by_server(cfd));
}
END_TEST

START_TEST(rfb33_password)
{
    char err[64];
    uint8_t sec[4], ch[16], resp[16], res[4];

    ck_assert_int_eq(vnc_server_set_password(srv, "pw", err, sizeof(err)), 0);
    version("RFB 003.003\n");
    ck_assert(recv_n(cfd, sec, 4));
    ck_assert_uint_eq(be32(sec), 2);
    ck_assert(recv_n(cfd, ch, 16));
    des_response("pw", ch, resp);
    send_all(cfd, resp, 16);
    ck_assert(recv_n(cfd, res, 4));
    ck_assert_uint_eq(be32(res), 0);
}
END_TEST

/* ---- updates ------------------------------------------------------------- */

/* Read one FramebufferUpdate header; returns the rectangle count. */
static unsigned update_header(void)
{
    uint8_t h[4];

    ck_assert(recv_n(cfd, h, 4));
    ck_assert_int_eq(h[0], 0);
    return be16(h + 2);
}

static void rect_header(unsigned *x, unsigned *y, unsigned *w, unsigned *h, int32_t *enc)
{
    uint8_t r[12];

    ck_assert(recv_n(cfd, r, 12));
    *x = be16(r);
    *y = be16(r + 2);
    *w = be16(r + 4);
    *h = be16(r + 6);
    *enc = (int32_t)be32(r + 8);
}

START_TEST(raw_full_update)
{
    static uint32_t px[W * H];
    unsigned x, y, w, h;
    int32_t enc;

    handshake_none();
    request(false);
    ck_assert_uint_eq(update_header(), 1);
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert_int_eq(enc, 0);
    ck_assert_uint_eq(w, W);
    ck_assert_uint_eq(h, H);
    ck_assert(recv_n(cfd, px, sizeof(px)));
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            ck_assert_uint_eq(px[y * W + x], pattern(x, y));
}
END_TEST

START_TEST(incremental_sends_dirty_rows_only)
{
    static uint32_t px[W * H];
    unsigned x, y, w, h;
    int32_t enc;

    handshake_none();
    request(false);
    update_header();
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert(recv_n(cfd, px, sizeof(px)));
    request(true);
    ck_assert(quiet(cfd));                   /* nothing changed: the request waits */
    fb[6 * W + 9] = 0x123456;
    display_mark_dirty(&disp, 5, 3);
    ck_assert_uint_eq(update_header(), 1);
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert_uint_eq(y, 5);
    ck_assert_uint_eq(h, 3);
    ck_assert(recv_n(cfd, px, (size_t)W * 3 * 4));
    ck_assert_uint_eq(px[W + 9], 0x123456);
}
END_TEST

/* 16-bit 5:6:5 big-endian: conversion and byte order. */
START_TEST(pixel_format_565)
{
    uint8_t m[20] = { 0, 0, 0, 0, 16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0 };
    static uint8_t px[W * H * 2];
    unsigned x, y, w, h;
    int32_t enc;
    uint32_t p = pattern(7, 3);
    uint16_t expect = (uint16_t)((((p >> 16 & 0xff) * 31 + 127) / 255) << 11 |
                                 (((p >> 8 & 0xff) * 63 + 127) / 255) << 5 | (((p & 0xff) * 31 + 127) / 255));

    handshake_none();
    send_all(cfd, m, sizeof(m));
    request(false);
    update_header();
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert(recv_n(cfd, px, sizeof(px)));
    ck_assert_uint_eq(be16(px + (3 * W + 7) * 2), expect);
}
END_TEST

START_TEST(zrle_update)
{
    static uint8_t z[W * H * 4 + 4096], out[W * H * 4 + 4096];
    int32_t e[] = { 16 };
    unsigned x, y, w, h, tx, ty;
    int32_t enc;
    uint8_t lb[4];
    uint32_t zlen;
    z_stream zs;
    size_t off = 0;

    handshake_none();
    set_encodings(e, 1);
    request(false);
    ck_assert_uint_eq(update_header(), 1);
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert_int_eq(enc, 16);
    ck_assert(recv_n(cfd, lb, 4));
    zlen = be32(lb);
    ck_assert_uint_le(zlen, sizeof(z));
    ck_assert(recv_n(cfd, z, zlen));
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(inflateInit(&zs), Z_OK);
    zs.next_in = z;
    zs.avail_in = zlen;
    zs.next_out = out;
    zs.avail_out = sizeof(out);
    ck_assert_int_ge(inflate(&zs, Z_SYNC_FLUSH), 0);
    inflateEnd(&zs);
    /* Tiles of 64x64 left to right, top to bottom: subencoding 0, 3-byte CPIXELs. */
    for (ty = 0; ty < H; ty += 64) {
        for (tx = 0; tx < W; tx += 64) {
            unsigned tw = W - tx < 64 ? W - tx : 64, th = H - ty < 64 ? H - ty : 64;

            ck_assert_int_eq(out[off++], 0);
            for (y = 0; y < th; y++) {
                for (x = 0; x < tw; x++) {
                    uint32_t p = out[off] | out[off + 1] << 8 | (uint32_t)out[off + 2] << 16;

                    ck_assert_uint_eq(p, pattern(tx + x, ty + y));
                    off += 3;
                }
            }
        }
    }
    ck_assert_uint_eq(off, (size_t)(W * H * 3 + 4));
    ck_assert_uint_eq(zs.total_out, off);
}
END_TEST

START_TEST(desktop_size_on_mode_change)
{
    static uint32_t big[W * H * 2], px[W * H * 2];
    int32_t e[] = { 0, -223 };
    unsigned x, y, w, h;
    int32_t enc;

    handshake_none();
    set_encodings(e, 2);
    request(false);
    update_header();
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert(recv_n(cfd, px, (size_t)W * H * 4));
    request(true);
    big[0] = 0xabcdef;
    ck_assert_int_eq(display_set_mode(&disp, W * 2, H, W * 2 * 4, (const uint8_t *)big), 0);
    ck_assert_uint_eq(update_header(), 2);
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert_int_eq(enc, -223);
    ck_assert_uint_eq(w, W * 2);
    ck_assert_uint_eq(h, H);
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert_uint_eq(w, W * 2);
    ck_assert(recv_n(cfd, px, (size_t)W * 2 * H * 4));
    ck_assert_uint_eq(px[0], 0xabcdef);
}
END_TEST

START_TEST(mode_change_without_desktop_size_closes)
{
    static uint32_t px[W * H], big[W * H * 2];
    unsigned x, y, w, h;
    int32_t enc;

    handshake_none();
    request(false);
    update_header();
    rect_header(&x, &y, &w, &h, &enc);
    ck_assert(recv_n(cfd, px, sizeof(px)));
    request(true);
    ck_assert_int_eq(display_set_mode(&disp, W * 2, H, W * 8, (const uint8_t *)big), 0);
    ck_assert(closed_by_server(cfd));
}
END_TEST

/* A viewer that never reads: the server keeps at most one update queued. */
START_TEST(slow_client_is_bounded)
{
    struct vnc_stats st;
    int sz = 4096, sfd[4];

    ck_assert_uint_eq(vnc_server_fds(srv, sfd, 4), 1);
    ck_assert_int_eq(setsockopt(sfd[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
    handshake_none();
    /* Keep asking for whole frames while the screen changes, for 20 of the
     * server's update ticks, reading nothing. */
    /* Ticks come from the loop's timer: wait for them however slow the
     * machine is (the check timeout bounds a server that never ticks). */
    for (;;) {
        vnc_server_stats(srv, &st);
        if (st.ticks >= 20)
            break;
        request(false);
        display_mark_all(&disp);
        loop_once(l, 10);
    }
    ck_assert_uint_ge(st.ticks, 20);
    ck_assert(st.connected);
    ck_assert_uint_eq(st.updates_sent, 1);        /* the first one never left */
    ck_assert_uint_gt(st.out_queued, 0);
    ck_assert_uint_le(st.out_queued, (size_t)W * H * 4 + 4 + 12);
    ck_assert_uint_le(st.out_capacity, 2 * ((size_t)W * H * 4 + 4 + 12));
    /* Once the viewer reads, it gets the one frame, then the next: the rows
     * that changed meanwhile were not lost. */
    {
        static uint32_t px[W * H];
        unsigned x, y, w, h;
        int32_t enc;

        ck_assert_uint_eq(update_header(), 1);
        rect_header(&x, &y, &w, &h, &enc);
        ck_assert(recv_n(cfd, px, sizeof(px)));
        ck_assert_uint_eq(update_header(), 1);
        rect_header(&x, &y, &w, &h, &enc);
        ck_assert_uint_eq(h, H);
    }
}
END_TEST

/* ---- hostile input ----------------------------------------------------------- */

START_TEST(set_encodings_count_limit)
{
    uint8_t m[4] = { 2, 0, 0xff, 0xff };

    handshake_none();
    send_all(cfd, m, sizeof(m));
    ck_assert(closed_by_server(cfd));
}
END_TEST

START_TEST(set_encodings_at_limit)
{
    static uint8_t m[4 + 4 * VNC_MAX_ENCODINGS];
    uint8_t key[8] = { 4, 1, 0, 0, 0, 0, 0, 'a' };

    handshake_none();
    m[0] = 2;
    m[2] = VNC_MAX_ENCODINGS >> 8;
    m[3] = VNC_MAX_ENCODINGS & 0xff;
    send_all(cfd, m, sizeof(m));
    send_all(cfd, key, sizeof(key));
    ck_assert(quiet(cfd));
    ck_assert_int_eq(n_keys, 1);
}
END_TEST

START_TEST(cut_text_huge_closes)
{
    uint8_t m[8] = { 6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff };

    handshake_none();
    send_all(cfd, m, sizeof(m));
    ck_assert(closed_by_server(cfd));
}
END_TEST

/* Cut text under the limit is skipped as it streams (larger than the input
 * buffer), and the message after it is parsed. */
START_TEST(cut_text_skipped)
{
    static uint8_t junk[100000];
    uint8_t m[8] = { 6, 0, 0, 0, 0, 0x01, 0x86, 0xa0 };     /* 100000 */
    uint8_t key[8] = { 4, 1, 0, 0, 0, 0, 0, 'q' };

    handshake_none();
    memset(junk, 4, sizeof(junk));        /* KeyEvent bytes: must not be parsed as messages */
    send_all(cfd, m, sizeof(m));
    send_all(cfd, junk, sizeof(junk));
    send_all(cfd, key, sizeof(key));
    ck_assert(quiet(cfd));
    ck_assert_int_eq(n_keys, 1);
    ck_assert_uint_eq(keys[0], 'q');
}
END_TEST

START_TEST(unknown_message_closes)
{
    handshake_none();
    send_all(cfd, "\x99", 1);
    ck_assert(closed_by_server(cfd));
}
END_TEST

static const uint8_t bad_formats[][20] = {
    { 0, 0, 0, 0, 32, 24, 0, 0, 0, 255, 0, 255, 0, 255, 16, 8, 0 },      /* colour map */
    { 0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0 },      /* 24 bpp */
    { 0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 200, 8, 0 },     /* shift past the pixel */
    { 0, 0, 0, 0, 16, 16, 0, 1, 0xff, 0xff, 0, 63, 0, 31, 11, 5, 0 },    /* max wider than the pixel */
    { 0, 0, 0, 0, 8, 8, 0, 1, 0, 0, 0, 7, 0, 3, 0, 3, 6 },               /* max 0 */
};

START_TEST(bad_pixel_format_closes)
{
    handshake_none();
    send_all(cfd, bad_formats[_i], 20);
    ck_assert(closed_by_server(cfd));
}
END_TEST

/* Input before the handshake is done goes nowhere. */
START_TEST(no_input_before_handshake)
{
    uint8_t key[8] = { 4, 1, 0, 0, 0, 0, 0, 'a' };

    version("RFB 003.003\n");
    send_all(cfd, "\x01", 1);            /* shared flag */
    send_all(cfd, key, sizeof(key));
    loop_once(l, 10);
    ck_assert_int_eq(n_keys, 1);          /* after ClientInit: delivered */
    teardown();
    setup_pw();
    version("RFB 003.008\n");
    send_all(cfd, key, sizeof(key));      /* as a security type: 4 is not offered */
    ck_assert(closed_by_server(cfd));
    ck_assert_int_eq(n_keys, 0);
}
END_TEST

/* ---- who is connected ------------------------------------------------------ */

START_TEST(newer_pending_replaces_older)
{
    int old = cfd;

    cfd = connect_client();
    ck_assert(closed_by_server(old));
    close(old);
    handshake_none();
}
END_TEST

START_TEST(authenticated_newcomer_replaces_viewer)
{
    struct vnc_stats st;
    int old;

    handshake_none();
    old = cfd;
    cfd = connect_client();
    loop_once(l, 10);
    vnc_server_stats(srv, &st);
    ck_assert(st.connected);              /* the viewer stays while the newcomer shakes hands */
    handshake_none();
    ck_assert(closed_by_server(old));
    close(old);
    vnc_server_stats(srv, &st);
    ck_assert(st.connected);
}
END_TEST

/* ---- the socket, the command line, QMP --------------------------------------- */

static int test_display(void)
{
    return 3000 + getpid() % 20000;
}

START_TEST(listen_port_search_and_query)
{
    struct vnc_spec v;
    char err[256], arg[64];
    int fd1, fd2, d = test_display();
    struct dm dm;
    json_t *ret = NULL;
    struct qmp_request req = { 0 };
    struct qmp_error qe = { 0 };
    const struct qmp_command *q = qmp_find("query-vnc");

    snprintf(arg, sizeof(arg), "127.0.0.1:%d,to=%d", d, d + 40);
    ck_assert_int_eq(cli_parse_vnc(arg, &v, err, sizeof(err)), 0);
    fd1 = vnc_listen_open(&v, err, sizeof(err));
    ck_assert_msg(fd1 >= 0, "%s", err);
    /* the loop's accept4 must never block; nothing inherits it */
    ck_assert_int_ne(fcntl(fd1, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(fd1, F_GETFD) & FD_CLOEXEC, 0);
    fd2 = vnc_listen_open(&v, err, sizeof(err));   /* the first port is taken now */
    ck_assert_msg(fd2 >= 0, "%s", err);
    vnc_server_free(srv);
    srv = vnc_server_new(l, fd2, false, "x", err, sizeof(err));
    ck_assert_ptr_nonnull(srv);
    memset(&dm, 0, sizeof(dm));
    dm.vnc = srv;
    dm_set(&dm);
    ck_assert_ptr_nonnull(q);
    req.args = json_object();
    ck_assert_int_eq(q->fn(&req, &ret, &qe), 0);
    ck_assert(json_is_true(json_object_get(ret, "enabled")));
    ck_assert_str_eq(json_string_value(json_object_get(ret, "host")), "127.0.0.1");
    ck_assert_str_eq(json_string_value(json_object_get(ret, "family")), "ipv4");
    ck_assert_str_eq(json_string_value(json_object_get(ret, "auth")), "none");
    ck_assert_int_gt(atoi(json_string_value(json_object_get(ret, "service"))), 5900 + d);
    json_decref(ret);
    ret = NULL;
    dm.vnc = NULL;
    ck_assert_int_eq(q->fn(&req, &ret, &qe), 0);
    ck_assert(json_is_false(json_object_get(ret, "enabled")));
    json_decref(ret);
    json_decref(req.args);
    dm_set(NULL);
    v.to = v.display;                                   /* no search: the port is taken */
    ck_assert_int_lt(vnc_listen_open(&v, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    close(fd1);
}
END_TEST

START_TEST(qmp_change_password)
{
    const struct qmp_command *q = qmp_find("change-vnc-password");
    struct qmp_request req = { 0 };
    struct qmp_error qe = { 0 };
    json_t *ret = NULL;
    struct dm dm;
    char err[64];
    unsigned w, h;
    uint8_t shared = 1;

    ck_assert_ptr_nonnull(q);
    memset(&dm, 0, sizeof(dm));
    dm.vnc = srv;
    dm_set(&dm);
    req.args = json_pack("{s:s}", "password", "fromqmp");
    ck_assert_int_eq(q->fn(&req, &ret, &qe), 0);
    json_decref(req.args);
    req.args = json_object();                             /* no password argument */
    ck_assert_int_eq(q->fn(&req, &ret, &qe), -1);
    json_decref(req.args);
    ck_assert(auth_38("fromqmp"));
    send_all(cfd, &shared, 1);
    server_init(&w, &h);
    /* A server without password authentication refuses, in QEMU's words. */
    vnc_server_free(srv);
    srv = vnc_server_new(l, -1, false, "x", err, sizeof(err));
    dm.vnc = srv;
    memset(&qe, 0, sizeof(qe));
    req.args = json_pack("{s:s}", "password", "x");
    ck_assert_int_eq(q->fn(&req, &ret, &qe), -1);
    ck_assert_str_eq(qe.desc, "Could not set password");
    dm.vnc = NULL;
    ck_assert_int_eq(q->fn(&req, &ret, &qe), -1);
    json_decref(req.args);
    dm_set(NULL);
}
END_TEST

START_TEST(listen_adopts_fd)
{
    struct vnc_spec v = { .enabled = true, .fd = -1 };
    char err[256];
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    v.fd = s;
    ck_assert_int_lt(vnc_listen_open(&v, err, sizeof(err)), 0);   /* not listening yet */
    ck_assert_ptr_nonnull(strstr(err, "not a listening"));
    ck_assert_int_eq(listen(s, 1), 0);
    ck_assert_int_eq(vnc_listen_open(&v, err, sizeof(err)), s);
    ck_assert_int_ne(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
    close(s);
    v.fd = 1000;
    ck_assert_int_lt(vnc_listen_open(&v, err, sizeof(err)), 0);
}
END_TEST

START_TEST(cli_vnc_forms)
{
    struct vnc_spec v;
    char err[256];

    ck_assert_int_eq(cli_parse_vnc("127.0.0.1:0,to=99", &v, err, sizeof(err)), 0);
    ck_assert(v.enabled);
    ck_assert_str_eq(v.host, "127.0.0.1");
    ck_assert_int_eq(v.display, 0);
    ck_assert_int_eq(v.to, 99);
    ck_assert(!v.password);
    ck_assert_int_eq(cli_parse_vnc("0.0.0.0:3,password=on", &v, err, sizeof(err)), 0);
    ck_assert(v.password);
    ck_assert_int_eq(v.to, 3);
    ck_assert_int_eq(cli_parse_vnc("[::1]:1,password", &v, err, sizeof(err)), 0);
    ck_assert_str_eq(v.host, "::1");
    ck_assert(v.password);
    ck_assert_int_eq(cli_parse_vnc(":2", &v, err, sizeof(err)), 0);
    ck_assert_str_eq(v.host, "");
    ck_assert_int_eq(cli_parse_vnc("fd=5,password=on", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v.fd, 5);
    ck_assert_int_eq(cli_parse_vnc("none", &v, err, sizeof(err)), 0);
    ck_assert(!v.enabled);
}
END_TEST

static const char *const bad_vnc[] = {
    "localhost:0", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "127.0.0.1:5,to=4",
    "127.0.0.1:0,share=ignore", "fd=5,to=9", "fd=5,127.0.0.1:0", "fd=-1", "1.2.3.4:0,password=maybe",
    "", "unix:/tmp/x",
};

START_TEST(cli_vnc_refusals)
{
    struct vnc_spec v;
    char err[256];

    ck_assert_int_eq(cli_parse_vnc(bad_vnc[_i], &v, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "-vnc"));
}
END_TEST

/* Without a display device the DM does not start a VNC server (nothing to show). */
START_TEST(cli_vnc_needs_display)
{
    struct xsdm_config cfg;
    char err[512];
    char *argv[] = { "xsdm", "-xen-domid", "1", "-vnc", "127.0.0.1:0,to=99", NULL };
    char *argv_none[] = { "xsdm", "-xen-domid", "1", "-vnc", "none", NULL };

    cli_defaults(&cfg);
    ck_assert_int_eq(cli_parse(5, argv, &cfg, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "display device"));
    cli_defaults(&cfg);
    ck_assert_int_eq(cli_parse(5, argv_none, &cfg, err, sizeof(err)), 0);
    ck_assert(!cfg.vnc.enabled);
}
END_TEST

/* ---- the keysym table and the surface -------------------------------------- */

static void sc(uint32_t sym, bool down, unsigned set, const uint8_t *expect, size_t n)
{
    uint8_t out[KEYMAP_MAX_BYTES];

    ck_assert_uint_eq(keymap_scancodes(sym, down, set, out), n);
    ck_assert(n == 0 || !memcmp(out, expect, n));
}

START_TEST(keymap_codes)
{
    sc('a', true, 1, (const uint8_t[]){ 0x1e }, 1);
    sc('a', false, 1, (const uint8_t[]){ 0x9e }, 1);
    sc('A', true, 2, (const uint8_t[]){ 0x1c }, 1);
    sc('a', false, 2, (const uint8_t[]){ 0xf0, 0x1c }, 2);
    sc(0xff0d, true, 1, (const uint8_t[]){ 0x1c }, 1);                /* Return */
    sc(0xff8d, true, 1, (const uint8_t[]){ 0xe0, 0x1c }, 2);          /* KP_Enter */
    sc(0xff52, false, 1, (const uint8_t[]){ 0xe0, 0xc8 }, 2);         /* Up */
    sc(0xff52, false, 2, (const uint8_t[]){ 0xe0, 0xf0, 0x75 }, 3);
    sc('!', true, 1, (const uint8_t[]){ 0x02 }, 1);                   /* the key of '1' */
    sc(0xffc4, true, 2, (const uint8_t[]){ 0x83 }, 1);                /* F7: the one set 2 code above 0x7f */
    sc(0xff13, true, 2, (const uint8_t[]){ 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 }, 8);
    sc(0xff13, false, 1, NULL, 0);                                    /* Pause: no break */
    sc(0x20ac, true, 1, NULL, 0);                                     /* euro sign: no key */
    sc('a', true, 3, NULL, 0);                                        /* set 3: not served */
    ck_assert_str_eq(keymap_name(0xffe1), "Shift_L");
    ck_assert_ptr_null(keymap_name(0x12345678));
}
END_TEST

START_TEST(display_surface)
{
    struct display d;
    uint64_t bits[DISPLAY_DIRTY_WORDS];
    static uint8_t px[16 * 4 * 8];

    display_init(&d, NULL, NULL);
    ck_assert_int_eq(display_set_mode(&d, DISPLAY_MAX_WIDTH + 1, 8, 1 << 20, px), -1);
    ck_assert_uint_eq(d.width, 0);
    ck_assert_int_eq(display_set_mode(&d, 16, 8, 16 * 4 - 1, px), -1);   /* stride too small */
    ck_assert_int_eq(display_set_mode(&d, 16, 8, 16 * 4, NULL), -1);
    ck_assert_int_eq(display_set_mode(&d, 16, 8, 16 * 4, px), 0);
    display_take_dirty(&d, bits);
    ck_assert(display_row_dirty(bits, 7));
    ck_assert(!display_row_dirty(bits, 8));
    display_take_dirty(&d, bits);
    ck_assert(!display_row_dirty(bits, 0));
    display_mark_dirty(&d, 6, 1000);                                  /* clipped to the height */
    display_mark_dirty(&d, 9, 1);                                     /* outside: ignored */
    display_take_dirty(&d, bits);
    ck_assert(display_row_dirty(bits, 6) && display_row_dirty(bits, 7));
    ck_assert(!display_row_dirty(bits, 5) && !display_row_dirty(bits, 8) && !display_row_dirty(bits, 9));
    ck_assert(!display_row_dirty(bits, 100000));
}
END_TEST

/* ---- the loop's timers --------------------------------------------------------- */

static int fired[2];
static void tick0(void *o) { fired[0]++; }
static void tick1(void *o) { fired[1]++; loop_timer_del(o, 1); }

START_TEST(loop_timers)
{
    struct loop *lp = loop_new();
    int i, a, b;

    a = loop_timer_add(lp, 1, tick0, NULL);
    b = loop_timer_add(lp, 1, tick1, lp);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_lt(loop_timer_add(lp, 0, tick0, NULL), 0);
    for (i = 0; i < 50 && fired[0] < 3; i++)
        loop_once(lp, 100);                /* wakes for the timer, not the 100 ms */
    ck_assert_int_ge(fired[0], 3);
    ck_assert_int_eq(fired[1], 1);         /* deleted itself */
    ck_assert_int_eq(loop_timer_add(lp, 5, tick0, NULL), 1);
    for (i = 0; i < LOOP_MAX_TIMERS; i++)
        loop_timer_add(lp, 5, tick0, NULL);
    ck_assert_int_eq(loop_timer_add(lp, 5, tick0, NULL), -ENOSPC);
    loop_free(lp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vnc");
    TCase *tc = tcase_create("none");
    TCase *tp = tcase_create("password");
    TCase *tu = tcase_create("units");

    /* Generous: under ASan on a loaded machine; nothing here measures time. */
    tcase_set_timeout(tc, 60);
    tcase_set_timeout(tp, 60);
    tcase_set_timeout(tu, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rfb38_none);
    tcase_add_test(tc, rfb37_none_has_no_result);
    tcase_add_test(tc, rfb33_server_decides);
    tcase_add_loop_test(tc, bad_version_closes, 0, sizeof(bad_versions) / sizeof(bad_versions[0]));
    tcase_add_test(tc, raw_full_update);
    tcase_add_test(tc, incremental_sends_dirty_rows_only);
    tcase_add_test(tc, pixel_format_565);
    tcase_add_test(tc, zrle_update);
    tcase_add_test(tc, desktop_size_on_mode_change);
    tcase_add_test(tc, mode_change_without_desktop_size_closes);
    tcase_add_test(tc, slow_client_is_bounded);
    tcase_add_test(tc, set_encodings_count_limit);
    tcase_add_test(tc, set_encodings_at_limit);
    tcase_add_test(tc, cut_text_huge_closes);
    tcase_add_test(tc, cut_text_skipped);
    tcase_add_test(tc, unknown_message_closes);
    tcase_add_loop_test(tc, bad_pixel_format_closes, 0, sizeof(bad_formats) / sizeof(bad_formats[0]));
    tcase_add_test(tc, no_input_before_handshake);
    tcase_add_test(tc, newer_pending_replaces_older);
    tcase_add_test(tc, authenticated_newcomer_replaces_viewer);
    tcase_add_test(tc, listen_port_search_and_query);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(tp, setup_pw, teardown);
    tcase_add_test(tp, password_right);
    tcase_add_test(tp, password_wrong);
    tcase_add_test(tp, password_unset_refuses_everyone);
    tcase_add_test(tp, security_type_not_offered);
    tcase_add_test(tp, rfb33_password);
    tcase_add_test(tp, qmp_change_password);
    suite_add_tcase(s, tp);
    tcase_add_test(tu, vnc_auth_known_answer);
    tcase_add_test(tu, listen_adopts_fd);
    tcase_add_test(tu, cli_vnc_forms);
    tcase_add_loop_test(tu, cli_vnc_refusals, 0, sizeof(bad_vnc) / sizeof(bad_vnc[0]));
    tcase_add_test(tu, cli_vnc_needs_display);
    tcase_add_test(tu, keymap_codes);
    tcase_add_test(tu, display_surface);
    tcase_add_test(tu, loop_timers);
    suite_add_tcase(s, tu);
    return ck_run_suite(s);
}
