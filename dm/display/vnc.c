/* The RFB server: connections, the handshake, the client-message parser and
 * framebuffer updates (dm/display/vnc.h). Everything a client sends is hostile:
 * the parser works on a fixed input buffer, every length is checked against
 * a limit in dm/display/vnc-proto.h, and ClientCutText is skipped as it arrives.
 * Output is bounded too: an update is built only when the previous one has
 * left, so a slow viewer gets fewer, larger updates (the dirty rows add up
 * in a bitmap) instead of a growing queue. */
#include "dm/display/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/display/vnc-int.h"

#define BLANK_WIDTH  640              /* what a viewer sees before a device sets a mode */
#define BLANK_HEIGHT 480

enum vnc_state {
    VS_VERSION,          /* waiting for the client's ProtocolVersion */
    VS_SECURITY_TYPE,    /* 3.7/3.8: waiting for the chosen security type */
    VS_AUTH_RESPONSE,    /* waiting for the 16-byte DES response */
    VS_CLIENT_INIT,      /* waiting for the shared flag */
    VS_NORMAL,           /* client messages */
};

struct vnc_client {
    struct vnc_server *s;
    int fd;
    enum vnc_state state;
    unsigned minor;                   /* protocol 3.minor: 3, 7 or 8 */
    uint8_t challenge[RFB_CHALLENGE_LEN];
    uint8_t in[VNC_IN_MAX];
    size_t in_len;
    uint32_t skip;                    /* ClientCutText bytes still to discard */
    struct vnc_out out;
    uint32_t epoll_events;
    struct vnc_pixfmt fmt;
    bool enc_zrle, enc_desktop_size;
    z_stream zs;
    bool zs_ready;
    bool update_requested, full_requested;
    unsigned known_w, known_h;        /* the size the client was last told */
    uint64_t dirty[DISPLAY_DIRTY_WORDS];
    char peer[80];                    /* for logs */
    char peer_host[INET6_ADDRSTRLEN], peer_port[8];
    const char *peer_family;
};

struct vnc_server {
    struct loop *loop;
    int listen_fd;
    char host[INET6_ADDRSTRLEN], service[8];   /* the listener's address, taken at creation */
    const char *family;
    bool password_auth;
    char name[VNC_NAME_MAX];
    struct vnc_auth auth;
    struct display *display;
    struct input_sink input;
    struct vnc_client *active;        /* past the handshake: the viewer */
    struct vnc_client *pending;       /* in the handshake */
    int timer;                        /* update pacing, while a viewer is connected */
    unsigned updates_sent;
    unsigned ticks;
};

/* ---- connections ----------------------------------------------------- */

static void on_client(void *opaque, int fd, uint32_t events);

static void client_free(struct vnc_client *c)
{
    struct vnc_server *s = c->s;

    if (c->fd >= 0) {
        loop_del(s->loop, c->fd);
        close(c->fd);
    }
    if (c->zs_ready)
        deflateEnd(&c->zs);
    vnc_out_free(&c->out);
    if (s->active == c) {
        s->active = NULL;
        loop_timer_del(s->loop, s->timer);
        s->timer = -1;
    }
    if (s->pending == c)
        s->pending = NULL;
    free(c);
}

static void client_close(struct vnc_client *c, const char *why)
{
    log_info("vnc: client %s closed: %s", c->peer, why);
    client_free(c);
}

static void set_events(struct vnc_client *c, uint32_t ev)
{
    if (ev != c->epoll_events && loop_mod(c->s->loop, c->fd, ev) == 0)
        c->epoll_events = ev;
}

/* Send what is queued; false if the client had to be closed. */
static bool client_flush(struct vnc_client *c)
{
    struct vnc_out *o = &c->out;

    if (o->overflow) {
        client_close(c, "output over its bound");
        return false;
    }
    while (o->off < o->len) {
        ssize_t r = send(c->fd, o->buf + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, EPOLLIN | EPOLLOUT);
            return true;
        }
        if (r <= 0) {
            client_close(c, r < 0 ? strerror(errno) : "send returned 0");
            return false;
        }
        o->off += (size_t)r;
    }
    o->off = o->len = 0;
    set_events(c, EPOLLIN);
    return true;
}

static void current_size(const struct vnc_server *s, unsigned *w, unsigned *h)
{
    if (s->display && s->display->width && s->display->height) {
        *w = s->display->width;
        *h = s->display->height;
    } else {
        *w = BLANK_WIDTH;
        *h = BLANK_HEIGHT;
    }
}

/* ---- framebuffer updates ----------------------------------------------- */

static void collect_dirty(struct vnc_server *s)
{
    uint64_t bits[DISPLAY_DIRTY_WORDS];
    unsigned i;

    if (!s->display)
        return;
    if (s->display->ops && s->display->ops->refresh)
        s->display->ops->refresh(s->display->dev);
    display_take_dirty(s->display, bits);
    if (s->active)
        for (i = 0; i < DISPLAY_DIRTY_WORDS; i++)
            s->active->dirty[i] |= bits[i];
}

static bool any_dirty(const struct vnc_client *c, unsigned h)
{
    unsigned y;

    for (y = 0; y < h; y++)
        if (display_row_dirty(c->dirty, y))
            return true;
    return false;
}

static void encode_band(struct vnc_client *c, const struct vnc_src *src, unsigned y, unsigned h)
{
    if (c->enc_zrle) {
        if (vnc_enc_zrle(&c->out, &c->fmt, src, y, h, &c->zs, &c->zs_ready) < 0)
            c->out.overflow = true;
    } else {
        vnc_enc_raw(&c->out, &c->fmt, src, y, h);
    }
}

/* One FramebufferUpdate: a DesktopSize rectangle if the size changed, then
 * one full-width rectangle per run of dirty rows. */
static void send_update(struct vnc_client *c)
{
    struct vnc_server *s = c->s;
    struct vnc_src src;
    unsigned w, h, y, nrects = 0;
    bool resize;

    current_size(s, &w, &h);
    resize = w != c->known_w || h != c->known_h;
    if (resize) {
        if (!c->enc_desktop_size) {
            client_close(c, "the display size changed and the viewer cannot follow (no DesktopSize)");
            return;
        }
        c->known_w = w;
        c->known_h = h;
        c->full_requested = true;
    }
    if (c->full_requested) {
        memset(c->dirty, 0, sizeof(c->dirty));
        for (y = 0; y < h; y++)
            c->dirty[y / 64] |= 1ull << (y % 64);
    } else if (!any_dirty(c, h)) {
        return;                 /* incremental and nothing new: the request waits */
    }
    for (y = 0; y < h; y++)
        if (display_row_dirty(c->dirty, y) && (y == 0 || !display_row_dirty(c->dirty, y - 1)))
            nrects++;
    src.width = w;
    src.pixels = s->display && s->display->width ? s->display->pixels : NULL;
    src.stride = s->display ? s->display->stride : 0;

    vnc_out_u8(&c->out, RFB_FRAMEBUFFER_UPDATE);
    vnc_out_u8(&c->out, 0);
    vnc_out_u16(&c->out, (uint16_t)(nrects + resize));
    if (resize) {
        vnc_out_u16(&c->out, 0);
        vnc_out_u16(&c->out, 0);
        vnc_out_u16(&c->out, (uint16_t)w);
        vnc_out_u16(&c->out, (uint16_t)h);
        vnc_out_u32(&c->out, (uint32_t)RFB_ENC_DESKTOP_SIZE);
    }
    for (y = 0; y < h;) {
        unsigned end = y;

        if (!display_row_dirty(c->dirty, y)) {
            y++;
            continue;
        }
        while (end < h && display_row_dirty(c->dirty, end))
            end++;
        encode_band(c, &src, y, end - y);
        y = end;
    }
    memset(c->dirty, 0, sizeof(c->dirty));
    c->update_requested = c->full_requested = false;
    s->updates_sent++;
    client_flush(c);
}

/* The pacing timer: at most one update per VNC_UPDATE_MS, and none while the
 * previous one is still on its way (the bound on a slow client's memory). */
static void on_timer(void *opaque)
{
    struct vnc_server *s = opaque;
    struct vnc_client *c = s->active;

    s->ticks++;
    collect_dirty(s);
    if (c && c->update_requested && c->out.len == 0)
        send_update(c);
}

void vnc_server_tick(struct vnc_server *s)
{
    on_timer(s);
}

static void on_mode_changed(void *opaque)
{
    struct vnc_server *s = opaque;

    if (s->active)
        s->active->full_requested = true;
}

/* ---- client messages (VS_NORMAL), one table --------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* A message handler returns false to close the client (protocol violation). */
struct client_msg {
    uint8_t type;
    const char *name;
    size_t hdr_len;                              /* bytes needed to know the full length */
    size_t (*len)(const uint8_t *hdr);           /* full length; NULL: hdr_len */
    bool (*fn)(struct vnc_client *c, const uint8_t *m);
};

static bool msg_set_pixel_format(struct vnc_client *c, const uint8_t *m)
{
    struct vnc_pixfmt f;

    if (!vnc_pixfmt_parse(m + 4, &f))
        return false;
    c->fmt = f;
    c->full_requested = true;       /* what the client has is in the old format */
    return true;
}

static size_t set_encodings_len(const uint8_t *h)
{
    return RFB_SET_ENCODINGS_HDR_LEN + 4 * (size_t)rd16(h + 2);
}

static bool msg_set_encodings(struct vnc_client *c, const uint8_t *m)
{
    unsigned n = rd16(m + 2), i;

    c->enc_zrle = c->enc_desktop_size = false;
    for (i = 0; i < n; i++) {
        int32_t e = (int32_t)rd32(m + RFB_SET_ENCODINGS_HDR_LEN + 4 * i);

        if (e == RFB_ENC_ZRLE)
            c->enc_zrle = true;
        else if (e == RFB_ENC_DESKTOP_SIZE)
            c->enc_desktop_size = true;
    }
    return true;
}

static bool msg_update_request(struct vnc_client *c, const uint8_t *m)
{
    c->update_requested = true;
    if (!m[1])
        c->full_requested = true;   /* non-incremental: the whole screen */
    return true;
}

static bool msg_key(struct vnc_client *c, const uint8_t *m)
{
    const struct input_sink *in = &c->s->input;

    if (in->key)
        in->key(in->opaque, rd32(m + 4), m[1] != 0);
    return true;
}

static bool msg_pointer(struct vnc_client *c, const uint8_t *m)
{
    const struct input_sink *in = &c->s->input;
    unsigned w, h, x = rd16(m + 2), y = rd16(m + 4);

    current_size(c->s, &w, &h);
    if (in->pointer)
        in->pointer(in->opaque, x < w ? x : w - 1, y < h ? y : h - 1, m[1]);
    return true;
}

static bool msg_cut_text(struct vnc_client *c, const uint8_t *m)
{
    uint32_t n = rd32(m + 4);

    if (n > VNC_MAX_CUT_TEXT)
        return false;
    c->skip = n;                    /* the guest has no clipboard: discarded as it arrives */
    return true;
}

static const struct client_msg client_msgs[] = {
    { RFB_SET_PIXEL_FORMAT, "SetPixelFormat", RFB_SET_PIXEL_FORMAT_LEN, NULL, msg_set_pixel_format },
    { RFB_SET_ENCODINGS, "SetEncodings", RFB_SET_ENCODINGS_HDR_LEN, set_encodings_len, msg_set_encodings },
    { RFB_FRAMEBUFFER_UPDATE_REQ, "FramebufferUpdateRequest", RFB_FRAMEBUFFER_UPDATE_REQ_LEN, NULL,
      msg_update_request },
    { RFB_KEY_EVENT, "KeyEvent", RFB_KEY_EVENT_LEN, NULL, msg_key },
    { RFB_POINTER_EVENT, "PointerEvent", RFB_POINTER_EVENT_LEN, NULL, msg_pointer },
    { RFB_CLIENT_CUT_TEXT, "ClientCutText", RFB_CLIENT_CUT_TEXT_HDR_LEN, NULL, msg_cut_text },
};

/* ---- the handshake ------------------------------------------------------- */

static void send_security_result(struct vnc_client *c, bool ok)
{
    static const char reason[] = "Authentication failed";

    vnc_out_u32(&c->out, ok ? RFB_SEC_RESULT_OK : RFB_SEC_RESULT_FAILED);
    if (!ok && c->minor >= 8) {
        vnc_out_u32(&c->out, sizeof(reason) - 1);
        vnc_out_bytes(&c->out, reason, sizeof(reason) - 1);
    }
}

static void start_auth(struct vnc_client *c)
{
    vnc_auth_challenge(&c->s->auth, c->challenge);
    vnc_out_bytes(&c->out, c->challenge, sizeof(c->challenge));
    c->state = VS_AUTH_RESPONSE;
}

/* "RFB 003.00x\n": 3.3, 3.7, 3.8; 3.4/3.5 and Apple's 3.889 speak 3.3 (as QEMU). */
static bool parse_version(struct vnc_client *c, const uint8_t *p)
{
    unsigned major = 0, minor = 0;
    int i;

    if (memcmp(p, "RFB ", 4) || p[7] != '.' || p[11] != '\n')
        return false;
    for (i = 4; i < 7; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        major = major * 10 + (unsigned)(p[i] - '0');
    }
    for (i = 8; i < 11; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        minor = minor * 10 + (unsigned)(p[i] - '0');
    }
    if (major != 3)
        return false;
    if (minor == 7 || minor == 8)
        c->minor = minor;
    else if (minor == 3 || minor == 4 || minor == 5 || minor == 889)
        c->minor = 3;
    else
        return false;
    return true;
}

static uint8_t security_type(const struct vnc_client *c)
{
    return c->s->password_auth ? RFB_SEC_VNC_AUTH : RFB_SEC_NONE;
}

static void send_server_init(struct vnc_client *c)
{
    uint8_t pf[RFB_PIXEL_FORMAT_LEN];
    size_t nlen = strlen(c->s->name);

    current_size(c->s, &c->known_w, &c->known_h);
    vnc_out_u16(&c->out, (uint16_t)c->known_w);
    vnc_out_u16(&c->out, (uint16_t)c->known_h);
    vnc_pixfmt_write(&c->fmt, pf);
    vnc_out_bytes(&c->out, pf, sizeof(pf));
    vnc_out_u32(&c->out, (uint32_t)nlen);
    vnc_out_bytes(&c->out, c->s->name, nlen);
}

/* The handshake is done: this client becomes the viewer, replacing any. */
static bool promote(struct vnc_client *c)
{
    struct vnc_server *s = c->s;

    if (s->active) {
        log_info("vnc: client %s replaces %s", c->peer, s->active->peer);
        client_free(s->active);
    }
    s->pending = NULL;
    s->active = c;
    c->state = VS_NORMAL;
    /* The device renders on demand: bring its size up to date before
     * ServerInit announces it, or a viewer without DesktopSize would be
     * closed at its first update. */
    collect_dirty(s);
    send_server_init(c);
    s->timer = loop_timer_add(s->loop, VNC_UPDATE_MS, on_timer, s);
    if (s->timer < 0)
        return false;           /* the caller closes c, now the active client */
    log_info("vnc: client %s connected (RFB 3.%u)", c->peer, c->minor);
    return true;
}

/* ---- the parser --------------------------------------------------------- */

enum { PARSE_MORE = 0, PARSE_CLOSE = -1 };

/* Consume one unit from p[0..n): returns bytes used, PARSE_MORE (0) when
 * more input is needed, PARSE_CLOSE on a violation (why is set). */
static long parse_one(struct vnc_client *c, const uint8_t *p, size_t n, const char **why)
{
    size_t i, need;

    if (c->skip) {
        size_t k = n < c->skip ? n : c->skip;

        c->skip -= (uint32_t)k;
        return (long)k;
    }
    switch (c->state) {
    case VS_VERSION:
        if (n < RFB_VERSION_LEN)
            return PARSE_MORE;
        if (!parse_version(c, p)) {
            *why = "bad protocol version";
            return PARSE_CLOSE;
        }
        if (c->minor == 3) {
            /* 3.3: the server decides the security type. */
            vnc_out_u32(&c->out, security_type(c));
            if (security_type(c) == RFB_SEC_VNC_AUTH)
                start_auth(c);
            else
                c->state = VS_CLIENT_INIT;
        } else {
            vnc_out_u8(&c->out, 1);
            vnc_out_u8(&c->out, security_type(c));
            c->state = VS_SECURITY_TYPE;
        }
        return RFB_VERSION_LEN;
    case VS_SECURITY_TYPE:
        if (p[0] != security_type(c)) {
            if (c->minor >= 8)
                send_security_result(c, false);
            *why = "security type not offered";
            return PARSE_CLOSE;
        }
        if (p[0] == RFB_SEC_VNC_AUTH) {
            start_auth(c);
        } else {
            if (c->minor >= 8)
                send_security_result(c, true);
            c->state = VS_CLIENT_INIT;
        }
        return 1;
    case VS_AUTH_RESPONSE:
        if (n < RFB_CHALLENGE_LEN)
            return PARSE_MORE;
        if (!vnc_auth_check(&c->s->auth, c->challenge, p)) {
            send_security_result(c, false);
            *why = "authentication failed";
            return PARSE_CLOSE;
        }
        send_security_result(c, true);
        c->state = VS_CLIENT_INIT;
        return RFB_CHALLENGE_LEN;
    case VS_CLIENT_INIT:
        /* The shared flag: xsdm serves one viewer, the newest (docs/design.md). */
        if (!promote(c)) {
            *why = "no loop timer";
            return PARSE_CLOSE;
        }
        return 1;
    case VS_NORMAL:
        for (i = 0; i < sizeof(client_msgs) / sizeof(client_msgs[0]); i++) {
            const struct client_msg *m = &client_msgs[i];

            if (m->type != p[0])
                continue;
            if (n < m->hdr_len)
                return PARSE_MORE;
            if (m->type == RFB_SET_ENCODINGS && rd16(p + 2) > VNC_MAX_ENCODINGS) {
                *why = "SetEncodings count over the limit";
                return PARSE_CLOSE;
            }
            need = m->len ? m->len(p) : m->hdr_len;
            if (n < need)
                return PARSE_MORE;
            if (!m->fn(c, p)) {
                *why = m->name;
                return PARSE_CLOSE;
            }
            return (long)need;
        }
        *why = "unknown message type";
        return PARSE_CLOSE;
    }
    *why = "bad state";
    return PARSE_CLOSE;
}

/* Parse what is buffered; false if the client was closed. */
static bool client_parse(struct vnc_client *c)
{
    size_t off = 0;

    while (off < c->in_len) {
        const char *why = NULL;
        long r = parse_one(c, c->in + off, c->in_len - off, &why);

        if (r == PARSE_CLOSE) {
            /* A failure reason queued for the client: one try to send it. */
            if (c->out.len && !c->out.overflow)
                (void)send(c->fd, c->out.buf + c->out.off, c->out.len - c->out.off,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
            client_close(c, why ? why : "protocol error");
            return false;
        }
        if (r == PARSE_MORE)
            break;
        off += (size_t)r;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return client_flush(c);
}

/* Reads per wake-up: a client that sends without pause must not keep the
 * loop from the guest's I/O (epoll wakes us again while data waits). */
#define VNC_READS_PER_EVENT 16

static bool client_read(struct vnc_client *c)
{
    int i;

    for (i = 0; i < VNC_READS_PER_EVENT; i++) {
        ssize_t r;

        if (c->in_len == sizeof(c->in)) {
            /* Full without a whole message: cannot happen within the limits. */
            client_close(c, "input over its bound");
            return false;
        }
        r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r <= 0) {
            client_close(c, r < 0 ? strerror(errno) : "disconnected");
            return false;
        }
        c->in_len += (size_t)r;
        if (!client_parse(c))
            return false;
    }
    return true;
}

static void on_client(void *opaque, int fd, uint32_t events)
{
    struct vnc_client *c = opaque;

    if ((events & EPOLLOUT) && !client_flush(c))
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (!client_read(c))
            return;
    }
    /* The last update has left: a waiting request can be served at the next tick. */
}

bool vnc_client_feed(struct vnc_server *s, const uint8_t *p, size_t n)
{
    struct vnc_client *c = s->pending ? s->pending : s->active;

    while (c && n) {
        size_t k = sizeof(c->in) - c->in_len;

        if (k > n)
            k = n;
        memcpy(c->in + c->in_len, p, k);
        c->in_len += k;
        p += k;
        n -= k;
        if (!client_parse(c))
            return false;
        if (c->in_len == sizeof(c->in)) {
            client_close(c, "input over its bound");
            return false;
        }
    }
    return c != NULL;
}

/* ---- the server ------------------------------------------------------------ */

/* host, service and family of an address, as query-vnc shows them. */
static void addr_strings(const struct sockaddr_storage *ss, char *host, size_t hostlen, char *port,
                         size_t portlen, const char **family)
{
    snprintf(host, hostlen, "%s", "");
    snprintf(port, portlen, "%s", "");
    *family = "unknown";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hostlen);
        snprintf(port, portlen, "%u", ntohs(a->sin_port));
        *family = "ipv4";
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hostlen);
        snprintf(port, portlen, "%u", ntohs(a->sin6_port));
        *family = "ipv6";
    } else if (ss->ss_family == AF_UNIX) {
        *family = "unix";
    }
}

/* The client's address comes from accept4(): after restriction there is no
 * getpeername() on the seccomp allowlist. */
static int add_client(struct vnc_server *s, int fd, const struct sockaddr_storage *peer)
{
    struct vnc_client *c = calloc(1, sizeof(*c));
    int r;

    if (!c)
        return -ENOMEM;
    c->s = s;
    c->fd = fd;
    c->fmt = vnc_native_format;
    c->state = VS_VERSION;
    if (peer) {
        addr_strings(peer, c->peer_host, sizeof(c->peer_host), c->peer_port, sizeof(c->peer_port),
                     &c->peer_family);
        snprintf(c->peer, sizeof(c->peer), "%s:%s", c->peer_host, c->peer_port);
    } else {
        c->peer_family = "unknown";
        snprintf(c->peer, sizeof(c->peer), "fd %d", fd);
    }
    r = loop_add(s->loop, fd, EPOLLIN, on_client, c);
    if (r < 0) {
        free(c);
        return r;
    }
    c->epoll_events = EPOLLIN;
    /* One handshake at a time: an unauthenticated connection cannot hold
     * the door closed, the newest one gets it. */
    if (s->pending)
        client_close(s->pending, "replaced by a newer connection during the handshake");
    s->pending = c;
    vnc_out_bytes(&c->out, RFB_VERSION_3_8, RFB_VERSION_LEN);
    client_flush(c);
    return 0;
}

int vnc_server_attach_client(struct vnc_server *s, int fd)
{
    return add_client(s, fd, NULL);
}

static void on_listen(void *opaque, int fd, uint32_t events)
{
    struct vnc_server *s = opaque;
    struct sockaddr_storage peer;
    socklen_t pl = sizeof(peer);
    int cfd;

    memset(&peer, 0, sizeof(peer));
    cfd = accept4(fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            log_err("vnc: accept: %s", strerror(errno));
        return;
    }
    if (add_client(s, cfd, &peer) < 0) {
        log_err("vnc: no room for a client");
        close(cfd);
    }
}

struct vnc_server *vnc_server_new(struct loop *l, int listen_fd, bool password_auth,
                                  const char *name, char *err, size_t errlen)
{
    struct vnc_server *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "vnc: out of memory");
        goto fail;
    }
    s->loop = l;
    s->listen_fd = -1;
    s->timer = -1;
    s->password_auth = password_auth;
    snprintf(s->name, sizeof(s->name), "%s", name && name[0] ? name : "xsdm");
    if (vnc_auth_init(&s->auth, err, errlen) < 0)
        goto fail;
    s->family = "unknown";
    if (listen_fd >= 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        /* Now, before restriction: getsockname() is not allowed after it. */
        memset(&ss, 0, sizeof(ss));
        if (getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0)
            addr_strings(&ss, s->host, sizeof(s->host), s->service, sizeof(s->service), &s->family);
    }
    if (listen_fd >= 0 && loop_add(l, listen_fd, EPOLLIN, on_listen, s) < 0) {
        snprintf(err, errlen, "vnc: cannot watch the listening socket");
        goto fail;
    }
    s->listen_fd = listen_fd;
    return s;
fail:
    if (listen_fd >= 0)
        close(listen_fd);
    free(s);
    return NULL;
}

void vnc_server_free(struct vnc_server *s)
{
    if (!s)
        return;
    if (s->active)
        client_free(s->active);
    if (s->pending)
        client_free(s->pending);
    if (s->display)
        display_set_listener(s->display, NULL);
    if (s->listen_fd >= 0) {
        loop_del(s->loop, s->listen_fd);
        close(s->listen_fd);
    }
    memset(&s->auth, 0, sizeof(s->auth));
    free(s);
}

void vnc_server_attach_display(struct vnc_server *s, struct display *d)
{
    struct display_listener l = { on_mode_changed, s };

    if (s->display)
        display_set_listener(s->display, NULL);
    s->display = d;
    if (d)
        display_set_listener(d, &l);
    on_mode_changed(s);
}

void vnc_server_set_input(struct vnc_server *s, const struct input_sink *sink)
{
    if (sink)
        s->input = *sink;
    else
        memset(&s->input, 0, sizeof(s->input));
}

int vnc_server_set_password(struct vnc_server *s, const char *password, char *err, size_t errlen)
{
    if (!s->password_auth) {
        snprintf(err, errlen, "Could not set password");
        return -1;
    }
    vnc_auth_set_password(&s->auth, password);
    return 0;
}

static void add_address(json_t *o, const char *host, const char *service, const char *family)
{
    json_object_set_new(o, "host", json_string(host));
    json_object_set_new(o, "service", json_string(service));
    json_object_set_new(o, "family", json_string(family));
}

json_t *vnc_server_query(const struct vnc_server *s)
{
    json_t *o = json_object(), *clients = json_array();

    if (!o || !clients) {
        json_decref(o);
        json_decref(clients);
        return NULL;
    }
    json_object_set_new(o, "enabled", json_true());
    if (s->listen_fd >= 0)
        add_address(o, s->host, s->service, s->family);
    json_object_set_new(o, "auth", json_string(s->password_auth ? "vnc" : "none"));
    if (s->active) {
        json_t *c = json_object();

        if (c) {
            add_address(c, s->active->peer_host, s->active->peer_port, s->active->peer_family);
            json_object_set_new(c, "websocket", json_false());
            json_array_append_new(clients, c);
        }
    }
    json_object_set_new(o, "clients", clients);
    return o;
}

size_t vnc_server_fds(const struct vnc_server *s, int *fds, size_t max)
{
    size_t n = 0;

    if (s->listen_fd >= 0 && n < max)
        fds[n++] = s->listen_fd;
    if (s->active && n < max)
        fds[n++] = s->active->fd;
    if (s->pending && n < max)
        fds[n++] = s->pending->fd;
    return n;
}

void vnc_server_stats(const struct vnc_server *s, struct vnc_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (s->active) {
        st->out_queued = s->active->out.len - s->active->out.off;
        st->out_capacity = s->active->out.cap;
        st->connected = true;
    }
    st->updates_sent = s->updates_sent;
    st->ticks = s->ticks;
}
