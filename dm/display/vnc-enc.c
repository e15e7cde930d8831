/* Pixels into the client's format, and the two encodings: raw and ZRLE
 * (RFC 6143 §7.7.1, §7.7.6). ZRLE tiles are sent with the raw subencoding
 * through the connection's one zlib stream: zlib does the compressing, which
 * keeps this code small while making updates usable over a network. */
#include "dm/display/vnc-int.h"

#include <stdlib.h>
#include <string.h>

/* x8r8g8b8 little-endian, the surface's own format: no conversion cost for
 * clients that keep it (most do). */
const struct vnc_pixfmt vnc_native_format = {
    .bpp = 32, .depth = 24, .big_endian = false, .true_colour = true,
    .max = { 255, 255, 255 }, .shift = { 16, 8, 0 },
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

bool vnc_pixfmt_parse(const uint8_t *p, struct vnc_pixfmt *out)
{
    struct vnc_pixfmt f;
    int i;

    memset(&f, 0, sizeof(f));
    f.bpp = p[0];
    f.depth = p[1];
    f.big_endian = p[2] != 0;
    f.true_colour = p[3] != 0;
    for (i = 0; i < 3; i++) {
        f.max[i] = be16(p + 4 + 2 * i);
        f.shift[i] = p[10 + i];
    }
    /* Colour maps are not served (no guest mode needs them on the wire). */
    if (!f.true_colour || (f.bpp != 8 && f.bpp != 16 && f.bpp != 32))
        return false;
    for (i = 0; i < 3; i++) {
        /* Every component must fit in the pixel: no shift past its width. */
        if (f.max[i] == 0 || f.shift[i] >= f.bpp ||
            ((uint64_t)f.max[i] << f.shift[i]) >= (1ull << f.bpp))
            return false;
    }
    *out = f;
    return true;
}

void vnc_pixfmt_write(const struct vnc_pixfmt *f, uint8_t *p)
{
    int i;

    memset(p, 0, RFB_PIXEL_FORMAT_LEN);
    p[0] = f->bpp;
    p[1] = f->depth;
    p[2] = f->big_endian;
    p[3] = f->true_colour;
    for (i = 0; i < 3; i++) {
        p[4 + 2 * i] = (uint8_t)(f->max[i] >> 8);
        p[5 + 2 * i] = (uint8_t)f->max[i];
        p[10 + i] = f->shift[i];
    }
}

/* ---- the output buffer --------------------------------------------------- */

static bool out_reserve(struct vnc_out *o, size_t n)
{
    size_t need, cap;
    uint8_t *nb;

    if (o->overflow)
        return false;
    if (n > VNC_OUT_MAX || o->len > VNC_OUT_MAX - n) {
        o->overflow = true;
        return false;
    }
    need = o->len + n;
    if (need <= o->cap)
        return true;
    cap = o->cap ? o->cap : 4096;
    while (cap < need)
        cap = cap > VNC_OUT_MAX / 2 ? VNC_OUT_MAX : cap * 2;
    nb = realloc(o->buf, cap);
    if (!nb) {
        o->overflow = true;
        return false;
    }
    o->buf = nb;
    o->cap = cap;
    return true;
}

void vnc_out_bytes(struct vnc_out *o, const void *p, size_t n)
{
    if (!out_reserve(o, n))
        return;
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

void vnc_out_u8(struct vnc_out *o, uint8_t v) { vnc_out_bytes(o, &v, 1); }

void vnc_out_u16(struct vnc_out *o, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

    vnc_out_bytes(o, b, sizeof(b));
}

void vnc_out_u32(struct vnc_out *o, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

    vnc_out_bytes(o, b, sizeof(b));
}

void vnc_out_free(struct vnc_out *o)
{
    free(o->buf);
    memset(o, 0, sizeof(*o));
}

/* ---- pixel conversion ------------------------------------------------------ */

static const uint8_t black_row[DISPLAY_MAX_WIDTH * DISPLAY_BPP];

static const uint8_t *src_row(const struct vnc_src *src, unsigned y)
{
    return src->pixels ? src->pixels + (size_t)y * src->stride : black_row;
}

static uint32_t scale(uint32_t c8, uint16_t max)
{
    return max == 255 ? c8 : (c8 * max + 127) / 255;
}

/* One surface pixel as the client's pixel value. */
static uint32_t convert(const struct vnc_pixfmt *f, uint32_t px)
{
    uint32_t r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;

    return scale(r, f->max[0]) << f->shift[0] | scale(g, f->max[1]) << f->shift[1] |
           scale(b, f->max[2]) << f->shift[2];
}

static void put_pixel(const struct vnc_pixfmt *f, uint32_t v, uint8_t *p)
{
    unsigned n = f->bpp / 8, i;

    for (i = 0; i < n; i++)
        p[f->big_endian ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Row y's pixels [x, x+w) in the client's format into dst (w * bpp/8 bytes). */
static void convert_row(const struct vnc_pixfmt *f, const struct vnc_src *src, unsigned y,
                        unsigned x, unsigned w, uint8_t *dst)
{
    const uint8_t *row = src_row(src, y) + (size_t)x * DISPLAY_BPP;
    unsigned i;

    for (i = 0; i < w; i++) {
        uint32_t px;

        memcpy(&px, row + (size_t)i * DISPLAY_BPP, sizeof(px));
        put_pixel(f, convert(f, px), dst + (size_t)i * (f->bpp / 8));
    }
}

static void rect_header(struct vnc_out *o, unsigned x, unsigned y, unsigned w, unsigned h, int32_t enc)
{
    vnc_out_u16(o, (uint16_t)x);
    vnc_out_u16(o, (uint16_t)y);
    vnc_out_u16(o, (uint16_t)w);
    vnc_out_u16(o, (uint16_t)h);
    vnc_out_u32(o, (uint32_t)enc);
}

void vnc_enc_raw(struct vnc_out *o, const struct vnc_pixfmt *f, const struct vnc_src *src,
                 unsigned y, unsigned h)
{
    size_t row_bytes = (size_t)src->width * (f->bpp / 8);
    unsigned i;

    rect_header(o, 0, y, src->width, h, RFB_ENC_RAW);
    if (!out_reserve(o, row_bytes * h))
        return;
    for (i = 0; i < h; i++) {
        convert_row(f, src, y + i, 0, src->width, o->buf + o->len);
        o->len += row_bytes;
    }
}

/* ZRLE's compressed pixel: 3 bytes when a 32-bit true-colour pixel's colour
 * bits all sit in its low or its high three bytes (§7.7.6). Returns the
 * CPIXEL size and the offset of its bytes inside the 4-byte wire pixel. */
static unsigned cpixel(const struct vnc_pixfmt *f, unsigned *skip)
{
    bool low = true, high = true;
    int i;

    *skip = 0;
    if (f->bpp != 32 || f->depth > 24)
        return f->bpp / 8;
    for (i = 0; i < 3; i++) {
        uint64_t bits = (uint64_t)f->max[i] << f->shift[i];

        low = low && bits < (1u << 24);
        high = high && !(bits & 0xff);
    }
    if (low)
        *skip = f->big_endian ? 1 : 0;
    else if (high)
        *skip = f->big_endian ? 0 : 1;
    else
        return 4;
    return 3;
}

static int deflate_out(struct vnc_out *o, z_stream *zs, const uint8_t *in, size_t n, int flush)
{
    zs->next_in = (Bytef *)(uintptr_t)in;
    zs->avail_in = (uInt)n;
    do {
        size_t room = 65536;
        int r;

        if (!out_reserve(o, room))
            return -1;
        zs->next_out = o->buf + o->len;
        zs->avail_out = (uInt)room;
        r = deflate(zs, flush);
        if (r != Z_OK && r != Z_BUF_ERROR)
            return -1;
        o->len += room - zs->avail_out;
        if (zs->avail_out != 0 && zs->avail_in == 0)
            break;
    } while (1);
    return 0;
}

int vnc_enc_zrle(struct vnc_out *o, const struct vnc_pixfmt *f, const struct vnc_src *src,
                 unsigned y, unsigned h, z_stream *zs, bool *zs_ready)
{
    /* One tile row: subencoding byte + up to 64x64 pixels of 4 bytes. */
    uint8_t tile[1 + RFB_ZRLE_TILE * RFB_ZRLE_TILE * 4];
    uint8_t wire[RFB_ZRLE_TILE * 4];
    unsigned skip, cp = cpixel(f, &skip), bpp = f->bpp / 8;
    size_t len_at, start;
    unsigned ty, tx;

    if (!*zs_ready) {
        memset(zs, 0, sizeof(*zs));
        if (deflateInit(zs, Z_BEST_SPEED) != Z_OK)
            return -1;
        *zs_ready = true;
    }
    rect_header(o, 0, y, src->width, h, RFB_ENC_ZRLE);
    len_at = o->len;
    vnc_out_u32(o, 0);                  /* length of the zlib data, patched below */
    if (o->overflow)
        return -1;
    start = o->len;
    for (ty = 0; ty < h; ty += RFB_ZRLE_TILE) {
        unsigned th = h - ty < RFB_ZRLE_TILE ? h - ty : RFB_ZRLE_TILE;

        for (tx = 0; tx < src->width; tx += RFB_ZRLE_TILE) {
            unsigned tw = src->width - tx < RFB_ZRLE_TILE ? src->width - tx : RFB_ZRLE_TILE;
            size_t n = 0;
            unsigned r, i;

            tile[n++] = RFB_ZRLE_SUB_RAW;
            for (r = 0; r < th; r++) {
                convert_row(f, src, y + ty + r, tx, tw, wire);
                for (i = 0; i < tw; i++) {
                    memcpy(tile + n, wire + (size_t)i * bpp + skip, cp);
                    n += cp;
                }
            }
            if (deflate_out(o, zs, tile, n, Z_NO_FLUSH) < 0)
                return -1;
        }
    }
    /* The rectangle's data must be complete on the wire: sync-flush. */
    if (deflate_out(o, zs, NULL, 0, Z_SYNC_FLUSH) < 0)
        return -1;
    {
        size_t zlen = o->len - start;

        o->buf[len_at] = (uint8_t)(zlen >> 24);
        o->buf[len_at + 1] = (uint8_t)(zlen >> 16);
        o->buf[len_at + 2] = (uint8_t)(zlen >> 8);
        o->buf[len_at + 3] = (uint8_t)zlen;
    }
    return 0;
}
