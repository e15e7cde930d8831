/* 16550A UART: 8 registers at the COM base, 16-byte receive FIFO, the four
 * interrupt sources with their priorities, loopback, and a character
 * backend on the line side.
 *
 * There is no baud-rate timing: a byte written to THR leaves at once (THR
 * and the shift register are empty again when the write returns), and the
 * receive character timeout is considered elapsed as soon as the FIFO holds
 * data below its trigger level (see iir_source()). Every register may be
 * written in any order with any value; all FIFO indices stay in range. */
#include "dm/devices/uart16550.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/chardev.h"
#include "dm/core/iobus.h"
#include "dm/core/irq.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"

/* IER */
#define IER_ERBFI 0x01          /* received data available */
#define IER_ETBEI 0x02          /* THR empty */
#define IER_ELSI  0x04          /* receiver line status */
#define IER_EDSSI 0x08          /* modem status */
#define IER_MASK  0x0f
/* IIR */
#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_CTI    0x0c
#define IIR_FIFOS  0xc0
/* FCR */
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA      0x08
#define FCR_TRIGGER  0xc0
#define FCR_KEPT     (FCR_ENABLE | FCR_DMA | FCR_TRIGGER)
/* LCR */
#define LCR_DLAB 0x80
/* MCR */
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f
/* LSR */
#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_PE    0x04
#define LSR_FE    0x08
#define LSR_BI    0x10
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define LSR_ERRS  (LSR_OE | LSR_PE | LSR_FE | LSR_BI)
/* MSR */
#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80
#define MSR_DELTAS 0x0f
/* What the line side presents when not in loopback: a connected terminal. */
#define MSR_LINES_EXTERNAL (MSR_DCD | MSR_DSR | MSR_CTS)

#define UART_STATE_VERSION 1

/* Guest-visible state: plain bytes, saved field by field. */
struct uart_state {
    uint8_t rx_fifo[UART_FIFO_LEN];
    uint8_t rx_head;            /* oldest byte, < UART_FIFO_LEN */
    uint8_t rx_count;           /* <= UART_FIFO_LEN, <= 1 with the FIFO off */
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
    uint8_t thr_ipending;       /* THR-empty interrupt latched (0/1) */
};

struct uart {
    struct uart_state s;
    struct iobus *bus;
    struct chardev *backend;
    int index;
    struct irq_line irq;
    int irq_level;              /* last level driven; -1 = drive on next update */
    struct io_region region;
    char name[16];
};

static const uint16_t com_base[UART_MAX] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const uint8_t com_irq[UART_MAX] = { 4, 3, 4, 3 };

uint16_t uart_base_port(int index)
{
    return index >= 0 && index < UART_MAX ? com_base[index] : 0;
}

unsigned uart_irq(int index)
{
    return index >= 0 && index < UART_MAX ? com_irq[index] : 0;
}

static bool fifo_on(const struct uart_state *s)
{
    return s->fcr & FCR_ENABLE;
}

static unsigned rx_capacity(const struct uart_state *s)
{
    return fifo_on(s) ? UART_FIFO_LEN : 1;
}

static unsigned rx_trigger(const struct uart_state *s)
{
    static const uint8_t level[4] = { 1, 4, 8, 14 };

    return level[(s->fcr & FCR_TRIGGER) >> 6];
}

static uint8_t modem_lines(const struct uart_state *s)
{
    uint8_t v = 0;

    if (!(s->mcr & MCR_LOOP))
        return MSR_LINES_EXTERNAL;
    /* Loopback wires the outputs back to the inputs (16550A datasheet). */
    if (s->mcr & MCR_DTR)
        v |= MSR_DSR;
    if (s->mcr & MCR_RTS)
        v |= MSR_CTS;
    if (s->mcr & MCR_OUT1)
        v |= MSR_RI;
    if (s->mcr & MCR_OUT2)
        v |= MSR_DCD;
    return v;
}

/* Re-derive the MSR line bits and latch deltas for the ones that changed. */
static void update_msr(struct uart_state *s)
{
    uint8_t now = modem_lines(s);
    uint8_t old = s->msr & ~MSR_DELTAS;
    uint8_t changed = now ^ old;
    uint8_t d = s->msr & MSR_DELTAS;

    if (changed & MSR_CTS)
        d |= MSR_DCTS;
    if (changed & MSR_DSR)
        d |= MSR_DDSR;
    if (changed & MSR_DCD)
        d |= MSR_DDCD;
    if ((old & MSR_RI) && !(now & MSR_RI))
        d |= MSR_TERI;          /* trailing edge only */
    s->msr = now | d;
}

/* Highest-priority pending source, as IIR bits 3:0. The character timeout
 * (CTI) needs 4 character times without FIFO activity; with no baud timing
 * those have always passed by the time the guest looks, so data below the
 * trigger level reports CTI at once. Both RDI and CTI are cleared by reading
 * RBR until the condition goes away, as on hardware. */
static uint8_t iir_source(const struct uart_state *s)
{
    if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRS))
        return IIR_RLSI;
    if ((s->ier & IER_ERBFI) && s->rx_count) {
        if (!fifo_on(s) || s->rx_count >= rx_trigger(s))
            return IIR_RDI;
        return IIR_CTI;
    }
    if ((s->ier & IER_ETBEI) && s->thr_ipending)
        return IIR_THRI;
    if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NO_INT;
}

/* The PC's OUT2 gate on the IRQ line is not modelled (as in QEMU), so
 * loopback tests with interrupts behave the same with OUT2 on or off. */
static void update_irq(struct uart *u)
{
    int level = iir_source(&u->s) != IIR_NO_INT;

    if (level == u->irq_level)
        return;
    u->irq_level = level;
    irq_set(&u->irq, level);
}

static void rx_clear(struct uart_state *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->lsr &= ~LSR_DR;
}

static void rx_push(struct uart_state *s, uint8_t byte)
{
    if (s->rx_count >= rx_capacity(s)) {
        s->lsr |= LSR_OE;       /* the new byte is lost, the FIFO is kept */
        return;
    }
    s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_LEN] = byte;
    s->rx_count++;
    s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct uart_state *s)
{
    uint8_t byte;

    if (!s->rx_count)
        return 0;
    byte = s->rx_fifo[s->rx_head % UART_FIFO_LEN];
    s->rx_head = (uint8_t)((s->rx_head + 1) % UART_FIFO_LEN);
    s->rx_count--;
    if (!s->rx_count)
        s->lsr &= ~LSR_DR;
    return byte;
}

/* Backend side: how many bytes the line may deliver now. */
static size_t uart_can_receive(void *opaque)
{
    struct uart *u = opaque;

    if ((u->s.mcr & MCR_LOOP) || u->s.rx_count >= rx_capacity(&u->s))
        return 0;               /* full, or listening to our own transmitter */
    return rx_capacity(&u->s) - u->s.rx_count;
}

static void uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart *u = opaque;
    size_t i;

    for (i = 0; i < len; i++)
        rx_push(&u->s, buf[i]);
    update_irq(u);
}

static void accept_input(struct uart *u)
{
    if (u->backend && !(u->s.mcr & MCR_LOOP) && u->s.rx_count < rx_capacity(&u->s))
        chardev_accept_input(u->backend);
}

static void transmit(struct uart *u, uint8_t byte)
{
    /* THR empties at once: drop the THRE latch and set it again, so the
     * line shows an edge per byte like QEMU's 16550. */
    u->s.thr_ipending = 0;
    update_irq(u);
    if (u->s.mcr & MCR_LOOP)
        rx_push(&u->s, byte);
    else if (u->backend)
        chardev_write(u->backend, &byte, 1);
    u->s.thr_ipending = 1;
    update_irq(u);
}

static void write_fcr(struct uart *u, uint8_t val)
{
    struct uart_state *s = &u->s;

    if ((val ^ s->fcr) & FCR_ENABLE) {
        rx_clear(s);            /* switching FIFO mode empties both FIFOs */
        s->lsr &= ~LSR_OE;
    }
    if (!(val & FCR_ENABLE)) {
        s->fcr = 0;             /* other bits only program with bit 0 set */
        return;
    }
    if (val & FCR_CLEAR_RX)
        rx_clear(s);
    s->fcr = val & FCR_KEPT;
}

static uint8_t read_reg(struct uart *u, unsigned off)
{
    struct uart_state *s = &u->s;
    uint8_t v = 0xff;

    switch (off) {
    case UART_RBR:
        if (s->lcr & LCR_DLAB)
            return s->dll;
        v = rx_pop(s);
        update_irq(u);
        accept_input(u);
        break;
    case UART_IER:
        v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
        break;
    case UART_IIR:
        v = iir_source(s);
        if (v == IIR_THRI) {
            s->thr_ipending = 0;    /* reading IIR acknowledges THRE */
            update_irq(u);
        }
        if (fifo_on(s))
            v |= IIR_FIFOS;
        break;
    case UART_LCR:
        v = s->lcr;
        break;
    case UART_MCR:
        v = s->mcr;
        break;
    case UART_LSR:
        v = s->lsr | LSR_THRE | LSR_TEMT;
        if (s->lsr & LSR_ERRS) {
            s->lsr &= ~LSR_ERRS;
            update_irq(u);
        }
        break;
    case UART_MSR:
        v = s->msr;
        if (s->msr & MSR_DELTAS) {
            s->msr &= ~MSR_DELTAS;
            update_irq(u);
        }
        break;
    case UART_SCR:
        v = s->scr;
        break;
    }
    return v;
}

static void write_reg(struct uart *u, unsigned off, uint8_t val)
{
    struct uart_state *s = &u->s;
    uint8_t old;

    switch (off) {
    case UART_THR:
        if (s->lcr & LCR_DLAB)
            s->dll = val;
        else
            transmit(u, val);
        break;
    case UART_IER:
        if (s->lcr & LCR_DLAB) {
            s->dlm = val;
            break;
        }
        old = s->ier;
        s->ier = val & IER_MASK;
        /* Enabling ETBEI while THR is empty (it always is) raises THRE. */
        if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI))
            s->thr_ipending = 1;
        update_irq(u);
        break;
    case UART_FCR:
        write_fcr(u, val);
        update_irq(u);
        accept_input(u);
        break;
    case UART_LCR:
        s->lcr = val;
        break;
    case UART_MCR:
        old = s->mcr;
        s->mcr = val & MCR_MASK;
        update_msr(s);
        update_irq(u);
        if ((old & MCR_LOOP) && !(s->mcr & MCR_LOOP))
            accept_input(u);
        break;
    case UART_LSR:
    case UART_MSR:
        break;                  /* read-only (factory test writes are ignored) */
    case UART_SCR:
        s->scr = val;
        break;
    }
}

/* Wider accesses act as consecutive byte accesses, lowest address first
 * (what a 16-bit ISA bus cycle to an 8-bit device turns into). */
static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size && i < 8; i++)
        v |= (uint64_t)(off + i < 8 ? read_reg(opaque, (unsigned)(off + i)) : 0xff) << (8 * i);
    return v;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    unsigned i;

    for (i = 0; i < size && i < 8; i++)
        if (off + i < 8)
            write_reg(opaque, (unsigned)(off + i), (uint8_t)(val >> (8 * i)));
}

static const struct io_ops uart_ops = {
    .read = uart_read,
    .write = uart_write,
};

static void state_reset(struct uart_state *s)
{
    memset(s, 0, sizeof(*s));
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_LINES_EXTERNAL;
    s->dll = 12;                /* 9600 baud, what firmware leaves behind */
}

void uart_reset(struct uart *u)
{
    if (!u)
        return;
    state_reset(&u->s);
    update_irq(u);
    accept_input(u);
}

/* The "serialN" section. Field by field what load accepts; the rules that
 * tie fields together are uart_check(). */
static const struct vm_field uart_fields[] = {
    VMF_ARRAY(struct uart_state, rx_fifo),
    VMF_UINT(struct uart_state, rx_head, VM_MAX(UART_FIFO_LEN - 1)),
    VMF_UINT(struct uart_state, rx_count, VM_MAX(UART_FIFO_LEN)),
    VMF_UINT(struct uart_state, ier, VM_BITS(IER_MASK)),
    VMF_UINT(struct uart_state, lcr),
    VMF_UINT(struct uart_state, mcr, VM_BITS(MCR_MASK)),
    VMF_UINT(struct uart_state, lsr, VM_BITS(0x7f)),    /* bit 7: FIFO error, never set */
    VMF_UINT(struct uart_state, msr),
    VMF_UINT(struct uart_state, scr),
    VMF_UINT(struct uart_state, fcr, VM_BITS(FCR_KEPT)),
    VMF_UINT(struct uart_state, dll),
    VMF_UINT(struct uart_state, dlm),
    VMF_UINT(struct uart_state, thr_ipending, VM_BOOL),
    VMF_END
};

static int uart_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct uart_state *s = staging;

    if (s->rx_count > rx_capacity(s)) {
        snprintf(err, errlen, "uart: %u bytes queued, the receiver holds %u", s->rx_count, rx_capacity(s));
        return -1;
    }
    if (!!(s->lsr & LSR_DR) != !!s->rx_count || (s->lsr & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT)) {
        snprintf(err, errlen, "uart: line status %#x inconsistent with %u queued bytes", s->lsr, s->rx_count);
        return -1;
    }
    if ((s->msr & ~MSR_DELTAS) != modem_lines(s)) {
        snprintf(err, errlen, "uart: modem status %#x does not match control %#x", s->msr, s->mcr);
        return -1;
    }
    return 0;
}

static void uart_post_load(void *opaque)
{
    struct uart *u = opaque;

    u->irq_level = -1;          /* drive the line to what the new state says */
    update_irq(u);
    accept_input(u);
}

struct uart *uart_new(struct iobus *bus, int index, struct irq_line irq, struct chardev *backend)
{
    struct chardev_frontend fe;
    struct vmstate_dev vd;
    struct uart *u = NULL;

    if (!bus || index < 0 || index >= UART_MAX)
        goto fail;
    u = calloc(1, sizeof(*u));
    if (!u)
        goto fail;
    u->bus = bus;
    u->index = index;
    u->irq = irq;
    u->backend = backend;
    snprintf(u->name, sizeof(u->name), "serial%d", index);
    state_reset(&u->s);
    io_region_init(&u->region, IO_PIO, u->name, &uart_ops, u, 8);
    if (io_region_map(bus, &u->region, com_base[index]) < 0) {
        log_err("%s: cannot map ports %#x-%#x", u->name, com_base[index], com_base[index] + 7);
        goto fail;
    }
    vd = (struct vmstate_dev){
        .name = u->name, .version = UART_STATE_VERSION, .state = &u->s, .state_size = sizeof(u->s),
        .fields = uart_fields, .check = uart_check, .post_load = uart_post_load, .opaque = u,
    };
    if (vmstate_register(&vd) < 0) {
        log_err("%s: cannot register state", u->name);
        io_region_unmap(bus, &u->region);
        goto fail;
    }
    if (backend) {
        fe.can_receive = uart_can_receive;
        fe.receive = uart_receive;
        fe.opaque = u;
        chardev_set_frontend(backend, &fe);
    }
    return u;
fail:
    free(u);
    return NULL;
}

void uart_free(struct uart *u)
{
    if (!u)
        return;
    if (u->backend)
        chardev_set_frontend(u->backend, NULL);
    io_region_unmap(u->bus, &u->region);
    free(u);
}
