/* PS/2 mouse: the commands Linux's psmouse, SeaBIOS and Windows' i8042prt
 * send, stream and remote modes, wrap mode, the IntelliMouse wheel
 * (id 3 after the 200/100/80 sample-rate knock) and movement packets.
 *
 * Motion is summed in the state and sent a packet at a time, only when the
 * whole packet fits in the controller's queue: the queue never holds half
 * a packet, and however fast the console moves, the state stays bounded
 * (PS2M_ACCUM_MAX; beyond it the overflow bits say counts were lost). */
#include "dm/devices/ps2-mouse.h"

#include <stddef.h>

#include "dm/core/log.h"
#include "dm/core/vmstate.h"

static void put(const struct ps2_port *p, uint8_t v)
{
    p->put(p->opaque, v);
}

static void set_defaults(struct ps2_mouse_state *m)
{
    m->rate = PS2M_DEFAULT_RATE;
    m->res = PS2M_DEFAULT_RES;
    m->scale21 = 0;
    m->reporting = 0;
    m->remote = 0;
    m->pending = 0;
    m->knock = 0;
    m->dx = m->dy = m->dz = 0;
    m->ovf = 0;
}

void ps2_mouse_reset(struct ps2_mouse_state *m)
{
    set_defaults(m);
    m->wrap = 0;
    m->id = PS2M_ID_STANDARD;
    m->buttons = m->reported = 0;
}

unsigned ps2_mouse_packet_len(const struct ps2_mouse_state *m)
{
    return m->id == PS2M_ID_WHEEL ? 4 : 3;
}

static bool valid_rate(uint64_t v)
{
    static const uint8_t rates[] = { 10, 20, 40, 60, 80, 100, 200 };
    size_t i;

    for (i = 0; i < sizeof(rates); i++)
        if (v == rates[i])
            return true;
    return false;
}

/* The standard 2:1 scaling curve (stream reports only). */
static int scale(int v)
{
    static const int small[] = { 0, 1, 1, 3, 6, 9 };
    int a = v < 0 ? -v : v;
    int s = a < 6 ? small[a] : 2 * a;

    return v < 0 ? -s : s;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Take one packet's worth of the summed motion and queue it. */
static void send_packet(struct ps2_mouse_state *m, const struct ps2_port *p, bool scaled)
{
    int dx = clamp((int16_t)m->dx, -256, 255);
    int dy = clamp((int16_t)m->dy, -256, 255);
    int dz = clamp((int16_t)m->dz, -PS2M_WHEEL_MAX - 1, PS2M_WHEEL_MAX);
    int sx = dx, sy = dy;
    uint8_t b0 = (uint8_t)(PS2M_PKT_ALWAYS1 | (m->buttons & PS2M_BUTTONS) | m->ovf);

    if (scaled && m->scale21) {
        sx = clamp(scale(dx), -256, 255);
        sy = clamp(scale(dy), -256, 255);
    }
    if (sx < 0)
        b0 |= PS2M_PKT_XSIGN;
    if (sy < 0)
        b0 |= PS2M_PKT_YSIGN;
    put(p, b0);
    put(p, (uint8_t)sx);
    put(p, (uint8_t)sy);
    if (m->id == PS2M_ID_WHEEL)
        put(p, (uint8_t)(dz & 0x0f));
    m->dx = (uint16_t)((int16_t)m->dx - dx);
    m->dy = (uint16_t)((int16_t)m->dy - dy);
    m->dz = m->id == PS2M_ID_WHEEL ? (uint16_t)((int16_t)m->dz - dz) : 0;
    m->ovf = 0;
    m->reported = m->buttons & PS2M_BUTTONS;
}

static bool has_news(const struct ps2_mouse_state *m)
{
    return m->dx || m->dy || (m->dz && m->id == PS2M_ID_WHEEL) || m->ovf ||
           (m->buttons & PS2M_BUTTONS) != m->reported;
}

bool ps2_mouse_flush(struct ps2_mouse_state *m, const struct ps2_port *p)
{
    if (!m->reporting || m->remote || m->wrap || m->pending || !has_news(m))
        return false;
    if (p->room(p->opaque) < ps2_mouse_packet_len(m))
        return false;
    send_packet(m, p, true);
    return true;
}

static void add_axis(uint16_t *acc, int d, int max, uint8_t *ovf, uint8_t bit)
{
    int v = (int16_t)*acc + clamp(d, -65536, 65536);

    if (v > max || v < -max - 1) {
        *ovf |= bit;
        v = clamp(v, -max - 1, max);
    }
    *acc = (uint16_t)v;
}

void ps2_mouse_move(struct ps2_mouse_state *m, int dx, int dy, int dz, unsigned buttons)
{
    uint8_t ignore = 0;

    add_axis(&m->dx, dx, PS2M_ACCUM_MAX, &m->ovf, PS2M_PKT_XOVF);
    add_axis(&m->dy, dy, PS2M_ACCUM_MAX, &m->ovf, PS2M_PKT_YOVF);
    add_axis(&m->dz, dz, PS2M_WHEEL_MAX * 16, &ignore, 0);   /* lost wheel notches need no flag */
    m->buttons = (uint8_t)(buttons & PS2M_BUTTONS);
}

/* ---- commands ----------------------------------------------------------- */

static void knock(struct ps2_mouse_state *m, uint8_t rate)
{
    /* IntelliMouse: rates 200, 100, 80 in a row switch on the wheel. */
    if (m->knock == 1 && rate == 100)
        m->knock = 2;
    else if (m->knock == 2 && rate == 80) {
        m->id = PS2M_ID_WHEEL;
        m->knock = 0;
    } else
        m->knock = rate == 200;
}

static void param(struct ps2_mouse_state *m, uint8_t v, const struct ps2_port *p)
{
    uint8_t cmd = m->pending;

    m->pending = 0;
    if (cmd == PS2M_CMD_SET_RES && v <= PS2M_MAX_RES) {
        m->res = v;
    } else if (cmd == PS2M_CMD_SET_RATE && valid_rate(v)) {
        m->rate = v;
        knock(m, v);
    } else {
        log_guest("ps2-mouse: parameter %#x of command %#x out of range", v, cmd);
        put(p, PS2M_ERROR);
        return;
    }
    put(p, PS2M_ACK);
}

static void cmd_scale11(struct ps2_mouse_state *m, const struct ps2_port *p) { m->scale21 = 0; }
static void cmd_scale21(struct ps2_mouse_state *m, const struct ps2_port *p) { m->scale21 = 1; }
static void cmd_stream(struct ps2_mouse_state *m, const struct ps2_port *p) { m->remote = 0; }
static void cmd_remote(struct ps2_mouse_state *m, const struct ps2_port *p) { m->remote = 1; }
static void cmd_wrap(struct ps2_mouse_state *m, const struct ps2_port *p) { m->wrap = 1; }
static void cmd_enable(struct ps2_mouse_state *m, const struct ps2_port *p) { m->reporting = 1; }
static void cmd_disable(struct ps2_mouse_state *m, const struct ps2_port *p) { m->reporting = 0; }
static void cmd_defaults(struct ps2_mouse_state *m, const struct ps2_port *p) { set_defaults(m); }

static void cmd_param(struct ps2_mouse_state *m, const struct ps2_port *p)
{
    /* The table row's command waits for its parameter byte. */
}

static void cmd_status(struct ps2_mouse_state *m, const struct ps2_port *p)
{
    uint8_t s = 0;

    if (m->buttons & PS2M_PKT_LEFT)
        s |= PS2M_STAT_LEFT;
    if (m->buttons & PS2M_PKT_MIDDLE)
        s |= PS2M_STAT_MIDDLE;
    if (m->buttons & PS2M_PKT_RIGHT)
        s |= PS2M_STAT_RIGHT;
    if (m->scale21)
        s |= PS2M_STAT_SCALE21;
    if (m->reporting)
        s |= PS2M_STAT_ENABLED;
    if (m->remote)
        s |= PS2M_STAT_REMOTE;
    put(p, s);
    put(p, m->res);
    put(p, m->rate);
}

static void cmd_read_data(struct ps2_mouse_state *m, const struct ps2_port *p)
{
    send_packet(m, p, false);       /* always a packet, motion or not; no scaling in remote polls */
}

static void cmd_get_id(struct ps2_mouse_state *m, const struct ps2_port *p)
{
    m->knock = 0;
    put(p, m->id);
}

static void cmd_reset(struct ps2_mouse_state *m, const struct ps2_port *p)
{
    ps2_mouse_reset(m);
    put(p, PS2M_BAT_OK);
    put(p, PS2M_ID_STANDARD);
}

struct mouse_cmd {
    uint8_t cmd;
    uint8_t reply_len;          /* bytes after the ACK (room is checked for all of them) */
    bool takes_param;
    void (*run)(struct ps2_mouse_state *m, const struct ps2_port *p);
};

static const struct mouse_cmd mouse_cmds[] = {
    { PS2M_CMD_SET_SCALE_11, 0, false, cmd_scale11 },
    { PS2M_CMD_SET_SCALE_21, 0, false, cmd_scale21 },
    { PS2M_CMD_SET_RES,      0, true,  cmd_param },
    { PS2M_CMD_STATUS,       3, false, cmd_status },
    { PS2M_CMD_SET_STREAM,   0, false, cmd_stream },
    { PS2M_CMD_READ_DATA,    PS2M_PACKET_MAX, false, cmd_read_data },
    { PS2M_CMD_SET_WRAP,     0, false, cmd_wrap },
    { PS2M_CMD_SET_REMOTE,   0, false, cmd_remote },
    { PS2M_CMD_GET_ID,       1, false, cmd_get_id },
    { PS2M_CMD_SET_RATE,     0, true,  cmd_param },
    { PS2M_CMD_ENABLE,       0, false, cmd_enable },
    { PS2M_CMD_DISABLE,      0, false, cmd_disable },
    { PS2M_CMD_SET_DEFAULTS, 0, false, cmd_defaults },
    { PS2M_CMD_RESET,        2, false, cmd_reset },
};

void ps2_mouse_write(struct ps2_mouse_state *m, uint8_t v, const struct ps2_port *p)
{
    size_t i;

    if (m->pending) {
        param(m, v, p);
        return;
    }
    if (m->wrap) {
        /* Wrap mode echoes everything but its way out and reset. */
        if (v == PS2M_CMD_RESET_WRAP) {
            m->wrap = 0;
            put(p, PS2M_ACK);
        } else if (v == PS2M_CMD_RESET) {
            put(p, PS2M_ACK);
            cmd_reset(m, p);
        } else {
            put(p, v);
        }
        return;
    }
    for (i = 0; i < sizeof(mouse_cmds) / sizeof(mouse_cmds[0]); i++) {
        const struct mouse_cmd *c = &mouse_cmds[i];

        if (c->cmd != v)
            continue;
        /* A reply is all or nothing: a guest that never reads gets nothing
         * rather than a torn answer (the controller logs the full queue). */
        if (p->room(p->opaque) < 1u + c->reply_len) {
            log_guest("ps2-mouse: queue full, command %#x not answered", v);
            return;
        }
        put(p, PS2M_ACK);
        if (c->takes_param)
            m->pending = v;
        c->run(m, p);
        return;
    }
    /* PS2M_CMD_RESET_WRAP outside wrap mode is a no-op that is acknowledged. */
    if (v == PS2M_CMD_RESET_WRAP) {
        put(p, PS2M_ACK);
        return;
    }
    log_guest("ps2-mouse: unsupported command %#x", v);
    put(p, PS2M_RESEND);
}

/* ---- saved state -------------------------------------------------------- */

static bool valid_pending(uint64_t v)
{
    return v == 0 || v == PS2M_CMD_SET_RES || v == PS2M_CMD_SET_RATE;
}

static bool valid_id(uint64_t v)
{
    return v == PS2M_ID_STANDARD || v == PS2M_ID_WHEEL;
}

static bool valid_motion(uint64_t v)
{
    return v <= PS2M_ACCUM_MAX || v >= 0x10000u - PS2M_ACCUM_MAX - 1;
}

static bool valid_wheel(uint64_t v)
{
    return v <= PS2M_WHEEL_MAX * 16 || v >= 0x10000u - PS2M_WHEEL_MAX * 16 - 1;
}

const struct vm_field ps2_mouse_fields[] = {
    VMF_UINT(struct ps2_mouse_state, pending, VM_VALID(valid_pending)),
    VMF_UINT(struct ps2_mouse_state, reporting, VM_BOOL),
    VMF_UINT(struct ps2_mouse_state, remote, VM_BOOL),
    VMF_UINT(struct ps2_mouse_state, wrap, VM_BOOL),
    VMF_UINT(struct ps2_mouse_state, scale21, VM_BOOL),
    VMF_UINT(struct ps2_mouse_state, rate, VM_VALID(valid_rate)),
    VMF_UINT(struct ps2_mouse_state, res, VM_MAX(PS2M_MAX_RES)),
    VMF_UINT(struct ps2_mouse_state, id, VM_VALID(valid_id)),
    VMF_UINT(struct ps2_mouse_state, knock, VM_MAX(2)),
    VMF_UINT(struct ps2_mouse_state, buttons, VM_BITS(PS2M_BUTTONS)),
    VMF_UINT(struct ps2_mouse_state, reported, VM_BITS(PS2M_BUTTONS)),
    VMF_UINT(struct ps2_mouse_state, ovf, VM_BITS(PS2M_PKT_XOVF | PS2M_PKT_YOVF)),
    VMF_UINT(struct ps2_mouse_state, dx, VM_VALID(valid_motion)),
    VMF_UINT(struct ps2_mouse_state, dy, VM_VALID(valid_motion)),
    VMF_UINT(struct ps2_mouse_state, dz, VM_VALID(valid_wheel)),
    VMF_END
};
