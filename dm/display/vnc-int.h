/* Internals shared by dm/display/vnc.c, dm/display/vnc-enc.c and dm/display/vnc-auth.c. */
#ifndef XSDM_VNC_INT_H
#define XSDM_VNC_INT_H

#include <nettle/yarrow.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "dm/display/display.h"
#include "dm/display/vnc-proto.h"

/* Largest update one client can have queued: a whole frame at the largest
 * mode, raw at 32 bpp, with a header per row and ZRLE's worst case. The
 * server never queues a second update behind an unsent one, so this bounds
 * the memory a slow client can make the DM hold. */
#define VNC_OUT_MAX ((size_t)DISPLAY_MAX_WIDTH * DISPLAY_MAX_HEIGHT * DISPLAY_BPP * 11 / 10 + \
                     (size_t)DISPLAY_MAX_HEIGHT * RFB_RECT_HDR_LEN + 65536)

/* The client's pixel format (RFB PIXEL_FORMAT), validated. */
struct vnc_pixfmt {
    uint8_t bpp, depth;
    bool big_endian, true_colour;
    uint16_t max[3];            /* red, green, blue */
    uint8_t shift[3];
};

struct vnc_out {
    uint8_t *buf;
    size_t len, off, cap;
    bool overflow;              /* an append did not fit: the client is closed */
};

/* ---- dm/display/vnc-auth.c ---- */
struct vnc_auth {
    struct yarrow256_ctx rng;
    uint8_t key[VNC_PASSWORD_LEN];   /* DES key: the password, bits of each byte reversed */
    bool have_password;
};
int vnc_auth_init(struct vnc_auth *a, char *err, size_t errlen);
void vnc_auth_set_password(struct vnc_auth *a, const char *password);
void vnc_auth_challenge(struct vnc_auth *a, uint8_t challenge[RFB_CHALLENGE_LEN]);
bool vnc_auth_check(const struct vnc_auth *a, const uint8_t challenge[RFB_CHALLENGE_LEN],
                    const uint8_t response[RFB_CHALLENGE_LEN]);

/* ---- dm/display/vnc-enc.c ---- */
extern const struct vnc_pixfmt vnc_native_format;
/* Validate a SetPixelFormat body (16 bytes); false: unsupported or hostile. */
bool vnc_pixfmt_parse(const uint8_t *p, struct vnc_pixfmt *out);
void vnc_pixfmt_write(const struct vnc_pixfmt *f, uint8_t *p);
/* Append helpers; they set out->overflow instead of growing past VNC_OUT_MAX. */
void vnc_out_bytes(struct vnc_out *o, const void *p, size_t n);
void vnc_out_u8(struct vnc_out *o, uint8_t v);
void vnc_out_u16(struct vnc_out *o, uint16_t v);
void vnc_out_u32(struct vnc_out *o, uint32_t v);
void vnc_out_free(struct vnc_out *o);
/* One rectangle of rows [y, y+h) at full width, raw or ZRLE (zs: the
 * connection's deflate stream, initialised on first use). rows: the
 * surface's pixels, or NULL for black. */
struct vnc_src {
    const uint8_t *pixels;
    size_t stride;
    unsigned width;
};
void vnc_enc_raw(struct vnc_out *o, const struct vnc_pixfmt *f, const struct vnc_src *src,
                 unsigned y, unsigned h);
int vnc_enc_zrle(struct vnc_out *o, const struct vnc_pixfmt *f, const struct vnc_src *src,
                 unsigned y, unsigned h, z_stream *zs, bool *zs_ready);

/* ---- dm/display/vnc.c: the parser's entry point, for the fuzzer ---- */
struct vnc_client;
struct vnc_server;
/* Feed bytes as if read from the client's socket (the handshaking client if
 * there is one, else the viewer); false: the client was closed. */
bool vnc_client_feed(struct vnc_server *s, const uint8_t *p, size_t n);
/* What the pacing timer does: collect dirty rows, send a due update. */
void vnc_server_tick(struct vnc_server *s);

#endif
