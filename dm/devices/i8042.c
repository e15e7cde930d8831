/* i8042 keyboard controller at 0x60/0x64: the controller commands firmware
 * and Linux use to probe and configure it, a keyboard that answers its
 * commands and types what the console sends (i8042_kbd_send), and a PS/2
 * mouse on the auxiliary port (dm/devices/ps2-mouse.c) that moves as the
 * console's pointer does (i8042_mouse_move).
 * The pulse-reset command (0xfe) and output-port bit 0 reboot the guest.
 *
 * Replies wait in one small queue, each byte tagged keyboard or aux; the
 * status register and IRQ 1/12 follow its head. Any byte in any state is
 * safe: a full queue drops the reply (logged), unknown commands are ignored. */
#include "dm/devices/i8042.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/iobus.h"
#include "dm/core/irq.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"
#include "dm/devices/ps2-mouse.h"

/* Status register */
#define STAT_OBF      0x01
#define STAT_IBF      0x02
#define STAT_SYS      0x04      /* self-test passed / command byte bit 2 */
#define STAT_CMD      0x08      /* last write went to 0x64 */
#define STAT_UNLOCKED 0x10      /* keyboard not inhibited by the key lock */
#define STAT_AUXB     0x20
#define STAT_TIMEOUT  0x40
#define STAT_KEPT     (STAT_SYS | STAT_CMD)   /* the rest is derived */

/* Command byte */
#define CTR_KBDINT  0x01
#define CTR_AUXINT  0x02
#define CTR_SYS     0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

/* Output port */
#define OUT_RESET   0x01        /* active low: 0 holds the CPU in reset */
#define OUT_A20     0x02

/* Reply queue entry flags */
#define Q_AUX       0x01
#define Q_TIMEOUT   0x02
#define Q_FLAGS     (Q_AUX | Q_TIMEOUT)
#define QUEUE_LEN   16

/* Keyboard replies */
#define KBD_ACK     0xfa
#define KBD_BAT_OK  0xaa
#define KBD_ECHO    0xee

/* 2: the mouse on the aux port (mouse[0]) */
#define I8042_STATE_VERSION 2

struct i8042_state {
    uint8_t status;             /* STAT_KEPT bits only */
    uint8_t ctr;                /* command byte */
    uint8_t outport;
    uint8_t pending_cmd;        /* controller command awaiting a data byte, 0 = none */
    uint8_t kbd_pending;        /* keyboard command awaiting its parameter, 0 = none */
    uint8_t kbd_scanning;       /* 0/1 */
    uint8_t kbd_scanset;        /* 1-3 */
    uint8_t last_out;           /* what 0x60 reads when the queue is empty */
    uint8_t q[QUEUE_LEN];
    uint8_t qflags[QUEUE_LEN];
    uint8_t qhead;              /* < QUEUE_LEN */
    uint8_t qcount;             /* <= QUEUE_LEN */
    struct ps2_mouse_state mouse[1];
};

struct i8042 {
    struct i8042_state s;
    struct iobus *bus;
    struct irq_line kbd_irq, aux_irq, reset;
    int irq_kbd, irq_aux;       /* last levels driven; -1 = drive on next update */
    struct io_region data, cmd;
};

static void update_irq(struct i8042 *k)
{
    const struct i8042_state *s = &k->s;
    uint8_t head = s->qcount ? s->qflags[s->qhead] : 0;
    int kbd = s->qcount && !(head & Q_AUX) && (s->ctr & CTR_KBDINT);
    int aux = s->qcount && (head & Q_AUX) && (s->ctr & CTR_AUXINT);

    if (kbd != k->irq_kbd)
        irq_set(&k->kbd_irq, kbd);
    if (aux != k->irq_aux)
        irq_set(&k->aux_irq, aux);
    k->irq_kbd = kbd;
    k->irq_aux = aux;
}

static void queue_put(struct i8042 *k, uint8_t v, uint8_t flags)
{
    struct i8042_state *s = &k->s;

    if (s->qcount >= QUEUE_LEN) {
        log_guest("i8042: reply queue full, byte %#x dropped", v);
        return;
    }
    s->q[(s->qhead + s->qcount) % QUEUE_LEN] = v;
    s->qflags[(s->qhead + s->qcount) % QUEUE_LEN] = flags & Q_FLAGS;
    s->qcount++;
    update_irq(k);
}

static unsigned queue_room(void *opaque)
{
    struct i8042 *k = opaque;

    return QUEUE_LEN - k->s.qcount;
}

static void aux_put(void *opaque, uint8_t v)
{
    queue_put(opaque, v, Q_AUX);
}

static struct ps2_port aux_port(struct i8042 *k)
{
    return (struct ps2_port){ .room = queue_room, .put = aux_put, .opaque = k };
}

static bool aux_queued(const struct i8042_state *s)
{
    unsigned i;

    for (i = 0; i < s->qcount; i++)
        if (s->qflags[(s->qhead + i) % QUEUE_LEN] & Q_AUX)
            return true;
    return false;
}

/* Let the mouse send a packet of pending motion: one packet in the queue at
 * a time, so motion coalesces while the guest is busy and the keyboard
 * always finds room; none while the aux clock is disabled. */
static void aux_flush(struct i8042 *k)
{
    struct ps2_port p = aux_port(k);

    if ((k->s.ctr & CTR_AUXDIS) || aux_queued(&k->s))
        return;
    ps2_mouse_flush(&k->s.mouse[0], &p);
}

static uint8_t read_data(struct i8042 *k)
{
    struct i8042_state *s = &k->s;

    if (s->qcount) {
        s->last_out = s->q[s->qhead];
        s->qhead = (uint8_t)((s->qhead + 1) % QUEUE_LEN);
        s->qcount--;
        /* Drop the lines so the next queued byte is a fresh edge. */
        if (k->irq_kbd > 0)
            irq_lower(&k->kbd_irq);
        if (k->irq_aux > 0)
            irq_lower(&k->aux_irq);
        k->irq_kbd = k->irq_aux = 0;
        update_irq(k);
        aux_flush(k);
    }
    return s->last_out;
}

static uint8_t read_status(const struct i8042 *k)
{
    const struct i8042_state *s = &k->s;
    uint8_t v = (s->status & STAT_KEPT) | STAT_UNLOCKED;

    if (s->qcount) {
        v |= STAT_OBF;
        if (s->qflags[s->qhead] & Q_AUX)
            v |= STAT_AUXB;
        if (s->qflags[s->qhead] & Q_TIMEOUT)
            v |= STAT_TIMEOUT;
    }
    return v;
}

static void kbd_defaults(struct i8042_state *s)
{
    s->kbd_scanning = 1;
    s->kbd_scanset = 2;
    s->kbd_pending = 0;
}

/* A byte for the keyboard itself (written to 0x60 with no controller
 * command pending). */
static void kbd_write(struct i8042 *k, uint8_t v)
{
    struct i8042_state *s = &k->s;
    uint8_t param_of = s->kbd_pending;

    if (param_of) {
        s->kbd_pending = 0;
        queue_put(k, KBD_ACK, 0);
        if (param_of == 0xf0) {
            if (v == 0)
                queue_put(k, s->kbd_scanset, 0);     /* get current set */
            else if (v <= 3)
                s->kbd_scanset = v;
        }
        return;
    }
    switch (v) {
    case 0xff:                  /* reset: ACK, then basic assurance test passed */
        kbd_defaults(s);
        queue_put(k, KBD_ACK, 0);
        queue_put(k, KBD_BAT_OK, 0);
        break;
    case 0xf2:                  /* identify: MF2 keyboard, translated id if XLATE */
        queue_put(k, KBD_ACK, 0);
        queue_put(k, 0xab, 0);
        queue_put(k, (s->ctr & CTR_XLATE) ? 0x41 : 0x83, 0);
        break;
    case 0xf4:
        s->kbd_scanning = 1;
        queue_put(k, KBD_ACK, 0);
        break;
    case 0xf5:                  /* disable scanning and restore defaults */
        kbd_defaults(s);
        s->kbd_scanning = 0;
        queue_put(k, KBD_ACK, 0);
        break;
    case 0xf6:
        kbd_defaults(s);
        queue_put(k, KBD_ACK, 0);
        break;
    case 0xee:
        queue_put(k, KBD_ECHO, 0);
        break;
    case 0xed:                  /* LEDs */
    case 0xf0:                  /* scan code set */
    case 0xf3:                  /* typematic rate */
        s->kbd_pending = v;
        queue_put(k, KBD_ACK, 0);
        break;
    default:
        queue_put(k, KBD_ACK, 0);
        break;
    }
}

static void request_reset(struct i8042 *k)
{
    log_info("i8042: guest requested a reset");
    irq_raise(&k->reset);
}

static void write_outport(struct i8042 *k, uint8_t v)
{
    k->s.outport = v;
    if (!(v & OUT_RESET))
        request_reset(k);
}

static void data_write(struct i8042 *k, uint8_t v)
{
    struct i8042_state *s = &k->s;
    uint8_t cmd = s->pending_cmd;
    struct ps2_port aux = aux_port(k);

    s->status &= ~STAT_CMD;
    s->pending_cmd = 0;
    switch (cmd) {
    case 0:
        kbd_write(k, v);
        break;
    case 0x60:                  /* write command byte */
        s->ctr = v;
        s->status = (uint8_t)((s->status & ~STAT_SYS) | (v & CTR_SYS));
        update_irq(k);
        aux_flush(k);
        break;
    case 0xd1:
        write_outport(k, v);
        break;
    case 0xd2:                  /* as if the keyboard sent it */
        queue_put(k, v, 0);
        break;
    case 0xd3:                  /* as if the aux device sent it */
        queue_put(k, v, Q_AUX);
        break;
    case 0xd4:                  /* to the mouse */
        ps2_mouse_write(&s->mouse[0], v, &aux);
        aux_flush(k);
        break;
    default:                    /* 0x61-0x7f: controller RAM, not kept */
        break;
    }
}

static void command_write(struct i8042 *k, uint8_t v)
{
    struct i8042_state *s = &k->s;

    s->status |= STAT_CMD;
    s->pending_cmd = 0;
    if (v >= 0x60 && v <= 0x7f) {
        s->pending_cmd = v;
        return;
    }
    if (v >= 0x21 && v <= 0x3f) {
        queue_put(k, 0, 0);     /* controller RAM reads as zero */
        return;
    }
    if (v >= 0xf0) {
        /* Pulse output lines: a 0 in bit 0 pulses the reset line. */
        if (!(v & 0x01))
            request_reset(k);
        return;
    }
    switch (v) {
    case 0x20:
        queue_put(k, s->ctr, 0);
        break;
    case 0xa7:
        s->ctr |= CTR_AUXDIS;
        break;
    case 0xa8:
        s->ctr &= ~CTR_AUXDIS;
        aux_flush(k);
        break;
    case 0xa9:                  /* aux interface test: passed */
    case 0xab:                  /* keyboard interface test: passed */
        queue_put(k, 0x00, 0);
        break;
    case 0xaa:                  /* controller self-test */
        s->status |= STAT_SYS;
        queue_put(k, 0x55, 0);
        break;
    case 0xad:
        s->ctr |= CTR_KBDDIS;
        break;
    case 0xae:
        s->ctr &= ~CTR_KBDDIS;
        break;
    case 0xc0:                  /* input port: keyboard not locked */
        queue_put(k, 0x80, 0);
        break;
    case 0xd0:
        queue_put(k, s->outport, 0);
        break;
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xd4:
        s->pending_cmd = v;
        break;
    case 0xe0:                  /* test inputs */
        queue_put(k, 0x00, 0);
        break;
    default:
        log_guest("i8042: unsupported controller command %#x ignored", v);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
    return read_data(opaque);
}

static void i8042_data_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    data_write(opaque, (uint8_t)val);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t off, unsigned size)
{
    return read_status(opaque);
}

static void i8042_cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    command_write(opaque, (uint8_t)val);
}

static const struct io_ops data_ops = { .read = i8042_data_read, .write = i8042_data_write };
static const struct io_ops cmd_ops = { .read = i8042_cmd_read, .write = i8042_cmd_write };

static void state_reset(struct i8042_state *s)
{
    memset(s, 0, sizeof(*s));
    s->ctr = CTR_KBDINT | CTR_AUXINT;
    s->outport = 0xcf;          /* reset line inactive, A20 on, clock/data lines high */
    kbd_defaults(s);
    ps2_mouse_reset(&s->mouse[0]);
}

void i8042_reset(struct i8042 *k)
{
    if (!k)
        return;
    state_reset(&k->s);
    update_irq(k);
}

unsigned i8042_kbd_set(const struct i8042 *k)
{
    const struct i8042_state *s;

    if (!k)
        return 0;
    s = &k->s;
    if (!s->kbd_scanning || (s->ctr & CTR_KBDDIS))
        return 0;
    /* The controller translates set 2 into set 1 for the guest. */
    if ((s->ctr & CTR_XLATE) && s->kbd_scanset == 2)
        return 1;
    return s->kbd_scanset;
}

void i8042_kbd_send(struct i8042 *k, const uint8_t *bytes, size_t n)
{
    size_t i;

    if (!k || !i8042_kbd_set(k))
        return;
    /* A key's bytes go in whole or not at all: half a sequence would confuse the guest. */
    if (n > (size_t)(QUEUE_LEN - k->s.qcount)) {
        log_guest("i8042: keyboard queue full, key dropped");
        return;
    }
    for (i = 0; i < n; i++)
        queue_put(k, bytes[i], 0);
}

void i8042_mouse_move(struct i8042 *k, int dx, int dy, int dz, unsigned buttons)
{
    if (!k)
        return;
    ps2_mouse_move(&k->s.mouse[0], dx, dy, dz, buttons);
    aux_flush(k);
}

bool i8042_a20(const struct i8042 *k)
{
    return k && (k->s.outport & OUT_A20);
}

static bool valid_pending_cmd(uint64_t c)
{
    return c == 0 || (c >= 0x60 && c <= 0x7f) || (c >= 0xd1 && c <= 0xd4);
}

static bool valid_kbd_pending(uint64_t c)
{
    return c == 0 || c == 0xed || c == 0xf0 || c == 0xf3;
}

static bool valid_scanset(uint64_t v)
{
    return v >= 1 && v <= 3;
}

/* The "i8042" section: every field's own rule is here; nothing ties
 * fields together (the queue indices are bounded one by one). */
static const struct vm_field i8042_fields[] = {
    VMF_UINT(struct i8042_state, status, VM_BITS(STAT_KEPT)),
    VMF_UINT(struct i8042_state, ctr),
    VMF_UINT(struct i8042_state, outport),
    VMF_UINT(struct i8042_state, pending_cmd, VM_VALID(valid_pending_cmd)),
    VMF_UINT(struct i8042_state, kbd_pending, VM_VALID(valid_kbd_pending)),
    VMF_UINT(struct i8042_state, kbd_scanning, VM_BOOL),
    VMF_UINT(struct i8042_state, kbd_scanset, VM_VALID(valid_scanset)),
    VMF_UINT(struct i8042_state, last_out),
    VMF_ARRAY(struct i8042_state, q),
    VMF_ARRAY(struct i8042_state, qflags, VM_BITS(Q_FLAGS)),
    VMF_UINT(struct i8042_state, qhead, VM_MAX(QUEUE_LEN - 1)),
    VMF_UINT(struct i8042_state, qcount, VM_MAX(QUEUE_LEN)),
    VMF_STRUCTS(struct i8042_state, mouse, ps2_mouse_fields),
    VMF_END
};

static void i8042_post_load(void *opaque)
{
    struct i8042 *k = opaque;

    k->irq_kbd = k->irq_aux = -1;
    update_irq(k);
}

struct i8042 *i8042_new(struct iobus *bus, struct irq_line kbd_irq, struct irq_line aux_irq,
                        struct irq_line reset)
{
    struct i8042 *k = NULL;
    struct vmstate_dev vd;

    if (!bus)
        return NULL;
    k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->bus = bus;
    k->kbd_irq = kbd_irq;
    k->aux_irq = aux_irq;
    k->reset = reset;
    state_reset(&k->s);
    io_region_init(&k->data, IO_PIO, "i8042-data", &data_ops, k, 1);
    io_region_init(&k->cmd, IO_PIO, "i8042-cmd", &cmd_ops, k, 1);
    if (io_region_map(bus, &k->data, I8042_DATA_PORT) < 0 ||
        io_region_map(bus, &k->cmd, I8042_STATUS_PORT) < 0) {
        log_err("i8042: cannot map ports 0x60/0x64");
        goto fail;
    }
    vd = (struct vmstate_dev){
        .name = "i8042", .version = I8042_STATE_VERSION, .state = &k->s, .state_size = sizeof(k->s),
        .fields = i8042_fields, .post_load = i8042_post_load, .opaque = k,
    };
    if (vmstate_register(&vd) < 0)
        goto fail;
    return k;
fail:
    io_region_unmap(bus, &k->data);
    io_region_unmap(bus, &k->cmd);
    free(k);
    return NULL;
}

void i8042_free(struct i8042 *k)
{
    if (!k)
        return;
    io_region_unmap(k->bus, &k->data);
    io_region_unmap(k->bus, &k->cmd);
    free(k);
}
