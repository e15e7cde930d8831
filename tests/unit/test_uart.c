/* 16550A UART. Part one builds the UART in-process on a fake machine whose
 * accelerator records ISA IRQ levels, so every register, FIFO and interrupt
 * rule is checked exactly; part two drives the real DM (BUILD_DIR/xsdm)
 * through libqtest. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm/board/machine.h"
#include "dm/core/chardev.h"
#include "dm/core/iobus.h"
#include "dm/core/loop.h"
#include "dm/core/vmstate.h"
#include "dm/devices/uart16550.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/libqtest.h"
#include "tests/lib/vmsection.h"
#include "toolstack/qmp-client.h"

#define COM1 0x3f8
#define IRQ4 4

/* ---- fake machine ------------------------------------------------------ */

static struct fake_machine fm;
static struct uart *u;

static void machine_setup(void)
{
    fake_machine_init(&fm, NULL, 0);
    u = uart_new(&fm.m.bus, 0, machine_isa_irq(&fm.m, IRQ4), NULL);
    ck_assert_ptr_nonnull(u);
}

static void machine_teardown(void)
{
    uart_free(u);
    u = NULL;
    vmstate_unregister_all();
}

static void outb(uint16_t port, uint8_t v) { fake_outb(&fm, port, v); }
static uint8_t inb(uint16_t port) { return fake_inb(&fm, port); }

/* ---- registers --------------------------------------------------------- */

START_TEST(reset_values)
{
    ck_assert_uint_eq(inb(COM1 + UART_IER), 0x00);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x01);
    ck_assert_uint_eq(inb(COM1 + UART_LCR), 0x00);
    ck_assert_uint_eq(inb(COM1 + UART_MCR), 0x00);
    ck_assert_uint_eq(inb(COM1 + UART_LSR), 0x60);
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0xb0);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
    /* Standard COM ports and IRQs. */
    ck_assert_uint_eq(uart_base_port(1), 0x2f8);
    ck_assert_uint_eq(uart_irq(1), 3);
    ck_assert_uint_eq(uart_base_port(4), 0);
}
END_TEST

START_TEST(scratch_register)
{
    int v;

    for (v = 0; v < 256; v++) {
        outb(COM1 + UART_SCR, (uint8_t)v);
        ck_assert_uint_eq(inb(COM1 + UART_SCR), v);
    }
}
END_TEST

START_TEST(divisor_latch)
{
    outb(COM1 + UART_IER, 0x05);
    outb(COM1 + UART_LCR, 0x83);            /* DLAB, 8N1 */
    outb(COM1 + UART_DLL, 0x01);
    outb(COM1 + UART_DLM, 0x02);
    ck_assert_uint_eq(inb(COM1 + UART_DLL), 0x01);
    ck_assert_uint_eq(inb(COM1 + UART_DLM), 0x02);
    ck_assert_uint_eq(inb(COM1 + UART_LCR), 0x83);
    outb(COM1 + UART_LCR, 0x03);
    ck_assert_uint_eq(inb(COM1 + UART_IER), 0x05);     /* untouched by DLM writes */
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x01, 0); /* DLL writes sent nothing */
    outb(COM1 + UART_LCR, 0x83);
    ck_assert_uint_eq(inb(COM1 + UART_DLL), 0x01);
    ck_assert_uint_eq(inb(COM1 + UART_DLM), 0x02);
}
END_TEST

START_TEST(ier_reserved_bits)
{
    outb(COM1 + UART_IER, 0xff);
    ck_assert_uint_eq(inb(COM1 + UART_IER), 0x0f);
    outb(COM1 + UART_MCR, 0xff);
    ck_assert_uint_eq(inb(COM1 + UART_MCR), 0x1f);
}
END_TEST

/* ---- loopback and FIFOs ---------------------------------------------- */

START_TEST(loopback_data)
{
    const char *msg = "Hello";
    size_t i;

    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_FCR, 0x07);
    ck_assert_uint_eq(inb(COM1 + UART_IIR) & 0xc0, 0xc0);   /* FIFOs enabled */
    for (i = 0; i < strlen(msg); i++)
        outb(COM1 + UART_THR, (uint8_t)msg[i]);
    for (i = 0; i < strlen(msg); i++) {
        ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x61, 0x61);   /* DR, THRE, TEMT */
        ck_assert_uint_eq(inb(COM1 + UART_RBR), (uint8_t)msg[i]);
    }
    ck_assert_uint_eq(inb(COM1 + UART_LSR), 0x60);
}
END_TEST

START_TEST(loopback_modem_lines)
{
    uint8_t msr;

    outb(COM1 + UART_MCR, 0x10);                 /* loop, all outputs off */
    msr = inb(COM1 + UART_MSR);
    ck_assert_uint_eq(msr & 0xf0, 0x00);
    ck_assert_uint_eq(msr & 0x0f, 0x0b);         /* DCTS, DDSR, DDCD: lines dropped */
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0x00);   /* deltas cleared by the read */
    outb(COM1 + UART_MCR, 0x11);                 /* DTR -> DSR */
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0x22);
    outb(COM1 + UART_MCR, 0x12);                 /* RTS -> CTS, DTR off */
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0x13);
    outb(COM1 + UART_MCR, 0x14);                 /* OUT1 -> RI (rising: no TERI) */
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0x41);
    outb(COM1 + UART_MCR, 0x18);                 /* OUT2 -> DCD, RI falls: TERI */
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0x8c);
    outb(COM1 + UART_MCR, 0x00);                 /* back to the external lines */
    ck_assert_uint_eq(inb(COM1 + UART_MSR), 0xb3);
}
END_TEST

START_TEST(fifo_overrun)
{
    int i;
    uint8_t lsr;

    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_FCR, 0x01);
    for (i = 0; i < 17; i++)
        outb(COM1 + UART_THR, (uint8_t)(0x40 + i));
    lsr = inb(COM1 + UART_LSR);
    ck_assert_uint_eq(lsr & 0x03, 0x03);         /* DR + OE */
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x02, 0);   /* OE cleared by reading */
    for (i = 0; i < 16; i++)
        ck_assert_uint_eq(inb(COM1 + UART_RBR), 0x40 + i);  /* 17th byte lost */
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x01, 0);
}
END_TEST

START_TEST(no_fifo_holding_register)
{
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_THR, 'a');
    outb(COM1 + UART_THR, 'b');
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x03, 0x03);
    ck_assert_uint_eq(inb(COM1 + UART_RBR), 'a');
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x01, 0);
    ck_assert_uint_eq(inb(COM1 + UART_IIR) & 0xc0, 0);  /* FIFOs off */
}
END_TEST

START_TEST(fifo_clear_and_mode_switch)
{
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_FCR, 0x01);
    outb(COM1 + UART_THR, 'x');
    outb(COM1 + UART_THR, 'y');
    outb(COM1 + UART_FCR, 0x03);                 /* clear RX */
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x01, 0);
    outb(COM1 + UART_THR, 'z');
    outb(COM1 + UART_FCR, 0x00);                 /* leaving FIFO mode empties it */
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x01, 0);
    outb(COM1 + UART_FCR, 0xc6);                 /* bit 0 clear: nothing programmed */
    ck_assert_uint_eq(inb(COM1 + UART_IIR) & 0xc0, 0);
}
END_TEST

/* ---- interrupts -------------------------------------------------------- */

START_TEST(thre_interrupt)
{
    outb(COM1 + UART_IER, 0x02);
    ck_assert_int_eq(fm.irq_level[IRQ4], 1);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x02);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);        /* reading IIR acknowledged it */
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x01);
    outb(COM1 + UART_THR, 'a');
    ck_assert_int_eq(fm.irq_level[IRQ4], 1);
    ck_assert_int_eq(fm.irq_edges[IRQ4], 2);
    outb(COM1 + UART_THR, 'b');                  /* an edge per byte */
    ck_assert_int_eq(fm.irq_edges[IRQ4], 3);
    outb(COM1 + UART_IER, 0x00);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
}
END_TEST

START_TEST(rda_trigger_levels)
{
    static const struct { uint8_t fcr; int trigger; } t[] = {
        { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
    };
    size_t k;
    int i;

    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_IER, 0x01);
    for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        outb(COM1 + UART_FCR, (uint8_t)(t[k].fcr | 0x02));
        ck_assert_int_eq(fm.irq_level[IRQ4], 0);
        for (i = 1; i <= t[k].trigger; i++) {
            outb(COM1 + UART_THR, (uint8_t)i);
            /* Below the trigger level: character timeout; at it: data available. */
            ck_assert_uint_eq(inb(COM1 + UART_IIR), i < t[k].trigger ? 0xcc : 0xc4);
            ck_assert_int_eq(fm.irq_level[IRQ4], 1);
        }
        for (i = 1; i <= t[k].trigger; i++)
            ck_assert_uint_eq(inb(COM1 + UART_RBR), i);
        ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xc1);
        ck_assert_int_eq(fm.irq_level[IRQ4], 0);
    }
}
END_TEST

START_TEST(line_status_interrupt)
{
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_IER, 0x05);                 /* RLS + RDA */
    outb(COM1 + UART_THR, 1);
    outb(COM1 + UART_THR, 2);                    /* overrun, FIFO off */
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x06);   /* RLS outranks RDA */
    ck_assert_uint_eq(inb(COM1 + UART_LSR) & 0x02, 0x02);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x04);
    ck_assert_uint_eq(inb(COM1 + UART_RBR), 1);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x01);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
}
END_TEST

START_TEST(modem_status_interrupt)
{
    outb(COM1 + UART_IER, 0x08);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
    outb(COM1 + UART_MCR, 0x10);                 /* lines drop: deltas */
    ck_assert_int_eq(fm.irq_level[IRQ4], 1);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x00);
    inb(COM1 + UART_MSR);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0x01);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
}
END_TEST

START_TEST(interrupt_priority)
{
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_FCR, 0x01);
    outb(COM1 + UART_IER, 0x0f);
    /* MSR deltas, THRE, data and (after 17 bytes) an overrun all pending. */
    for (int i = 0; i < 17; i++)
        outb(COM1 + UART_THR, (uint8_t)i);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xc6);
    inb(COM1 + UART_LSR);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xc4);
    for (int i = 0; i < 16; i++)
        inb(COM1 + UART_RBR);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xc2);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xc0);   /* THRE acknowledged: modem status */
    inb(COM1 + UART_MSR);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xc1);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
}
END_TEST

START_TEST(wide_access_is_bytewise)
{
    outb(COM1 + UART_SCR, 0x5a);
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_THR, 0x33);
    /* A 16-bit read at base+6 reads MSR and SCR. */
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, COM1 + 6, 2) >> 8, 0x5a);
    /* A 16-bit read at the base reads RBR then IER. */
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, COM1, 2), 0x0033);
    io_write(&fm.m.bus, IO_PIO, COM1 + 6, 0xa500, 2);
    ck_assert_uint_eq(inb(COM1 + UART_SCR), 0xa5);
}
END_TEST

START_TEST(reset_clears_state)
{
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_IER, 0x03);
    outb(COM1 + UART_THR, 9);
    ck_assert_int_eq(fm.irq_level[IRQ4], 1);
    uart_reset(u);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
    ck_assert_uint_eq(inb(COM1 + UART_LSR), 0x60);
    ck_assert_uint_eq(inb(COM1 + UART_IER), 0);
    ck_assert_uint_eq(inb(COM1 + UART_MCR), 0);
}
END_TEST

/* Any byte to any register in any order: never a crash, and the
 * invariants the guest can see always hold. */
START_TEST(hostile_register_fuzz)
{
    uint32_t x = 0x12345678u;
    int i;

    for (i = 0; i < 200000; i++) {
        unsigned off, size;
        uint32_t val;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        off = x & 7;
        size = 1u << ((x >> 3) & 3);
        val = x >> 8;
        if (size == 8)
            size = 1;
        if (off + size > 8)
            off = 8 - size;
        if (x & 0x80000000u) {
            io_write(&fm.m.bus, IO_PIO, COM1 + off, val, size);
        } else {
            uint8_t lsr;

            (void)io_read(&fm.m.bus, IO_PIO, COM1 + off, size);
            lsr = inb(COM1 + UART_LSR);
            ck_assert_uint_eq(lsr & 0x60, 0x60);
            ck_assert_uint_eq(inb(COM1 + UART_IIR) & 0x30, 0);
            ck_assert_int_eq(fm.irq_level[IRQ4] == 1 || fm.irq_level[IRQ4] == 0, 1);
        }
    }
    /* Whatever happened, the level driven matches what IIR says. */
    outb(COM1 + UART_LCR, 0x00);
    {
        uint8_t iir = inb(COM1 + UART_IIR);

        if (iir & 0x01)
            ck_assert_int_eq(fm.irq_level[IRQ4], 0);
        else if ((iir & 0x0f) != 0x02)
            ck_assert_int_eq(fm.irq_level[IRQ4], 1);
    }
}
END_TEST

/* ---- save / restore ---------------------------------------------------- */

static size_t save_state(uint8_t *buf, size_t cap)
{
    size_t len = vmsection_save("serial0", buf, cap);

    ck_assert_uint_gt(len, 0);
    return len;
}

static int load_state(const uint8_t *buf, size_t len, void *staging)
{
    char e[256];

    return vmsection_load("serial0", buf, len, staging, e, sizeof(e));
}

/* The payload offset of a field of serial0's table. */
static size_t at(const uint8_t *buf, size_t len, const char *field)
{
    return vmsection_field("serial0", buf, len, field);
}

START_TEST(vmstate_round_trip)
{
    const struct vmstate_dev *d = vmstate_find("serial0");
    uint8_t buf[256], staging[256];
    size_t len;

    ck_assert_ptr_nonnull(d);
    ck_assert_uint_le(d->state_size, sizeof(staging));
    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_FCR, 0x81);
    outb(COM1 + UART_IER, 0x01);
    outb(COM1 + UART_THR, 'q');
    outb(COM1 + UART_THR, 'r');
    outb(COM1 + UART_SCR, 0x77);
    len = save_state(buf, sizeof(buf));
    uart_reset(u);
    ck_assert_int_eq(fm.irq_level[IRQ4], 0);
    ck_assert_int_eq(load_state(buf, len, staging), 0);
    memcpy(d->state, staging, d->state_size);
    d->post_load(d->opaque);
    ck_assert_int_eq(fm.irq_level[IRQ4], 1);        /* the line follows the loaded state */
    ck_assert_uint_eq(inb(COM1 + UART_SCR), 0x77);
    ck_assert_uint_eq(inb(COM1 + UART_IIR), 0xcc);
    ck_assert_uint_eq(inb(COM1 + UART_RBR), 'q');
    ck_assert_uint_eq(inb(COM1 + UART_RBR), 'r');
}
END_TEST

START_TEST(vmstate_rejects_bad_fields)
{
    uint8_t good[256], bad[256], staging[256];
    size_t len;

    outb(COM1 + UART_MCR, 0x10);
    outb(COM1 + UART_FCR, 0x01);
    outb(COM1 + UART_THR, 'a');
    len = save_state(good, sizeof(good));
    ck_assert_uint_eq(len, 28);
    ck_assert_int_eq(load_state(good, len, staging), 0);
    struct { const char *field; uint8_t val; const char *why; } cases[] = {
        { "rx_head", 16, "field rx_head" },             /* head out of range */
        { "rx_count", 17, "field rx_count" },           /* count > FIFO */
        { "rx_count", 0, "line status" },               /* count 0 but LSR.DR set */
        { "ier", 0x10, "field ier" },                   /* IER reserved bit */
        { "mcr", 0x20, "field mcr" },                   /* MCR reserved bit */
        { "lsr", 0x00, "line status" },                 /* LSR without THRE/TEMT */
        { "lsr", 0xe1, "field lsr" },                   /* LSR FIFO error bit */
        { "msr", 0xb0, "modem status" },                /* MSR lines not matching loopback MCR */
        { "fcr", 0x02, "field fcr" },                   /* FCR self-clearing bit */
        { "thr_ipending", 2, "field thr_ipending" },    /* THRE latch not boolean */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char e[256] = "";

        memcpy(bad, good, len);
        bad[at(good, len, cases[i].field)] = cases[i].val;
        ck_assert_msg(vmsection_load("serial0", bad, len, staging, e, sizeof(e)) < 0, "case %zu (%s) accepted",
                      i, cases[i].field);
        ck_assert_msg(strstr(e, cases[i].why), "case %zu: '%s' does not say '%s'", i, e, cases[i].why);
    }
    /* FIFO off: at most one byte may be queued. */
    memcpy(bad, good, len);
    bad[at(good, len, "fcr")] = 0x00;
    bad[at(good, len, "rx_count")] = 2;
    ck_assert_int_lt(load_state(bad, len, staging), 0);
    ck_assert_int_lt(load_state(good, len - 1, staging), 0);     /* truncated */
    memcpy(bad, good, len);
    bad[len] = 0;
    ck_assert_int_lt(load_state(bad, len + 1, staging), 0);      /* trailing bytes */
}
END_TEST

/* ---- backends ---------------------------------------------------------- */

START_TEST(file_backend_receives_output)
{
    char dir[] = "/tmp/test-uart-XXXXXX", path[64], buf[32], e[256];
    struct chardev_spec s;
    struct chardev *c;
    struct uart *u1;
    const char *msg = "boot ok\r\n";
    ssize_t n;
    int fd;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/serial.log", dir);
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "serial1");
    s.kind = CHARDEV_FILE;
    s.fd = -1;
    snprintf(s.path, sizeof(s.path), "%s", path);
    c = chardev_open(&s, NULL, e, sizeof(e));
    ck_assert_msg(c != NULL, "%s", e);
    u1 = uart_new(&fm.m.bus, 1, machine_isa_irq(&fm.m, 3), c);
    ck_assert_ptr_nonnull(u1);
    for (size_t i = 0; i < strlen(msg); i++)
        outb(0x2f8 + UART_THR, (uint8_t)msg[i]);
    outb(0x2f8 + UART_MCR, 0x10);
    outb(0x2f8 + UART_THR, '!');                 /* loopback: not on the line */
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    ck_assert_int_eq(n, (ssize_t)strlen(msg));
    ck_assert_int_eq(memcmp(buf, msg, strlen(msg)), 0);
    uart_free(u1);
    chardev_close(c);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(socket_backend_round_trip)
{
    char dir[] = "/tmp/test-uart-XXXXXX", path[64], e[256], buf[8];
    struct chardev_spec s;
    struct chardev *c;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct loop *l = loop_new();
    struct uart *u1;
    struct pollfd p;
    int cl, i;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s", dir);
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "serial1");
    s.kind = CHARDEV_SOCKET;
    s.server = true;
    s.fd = -1;
    snprintf(s.path, sizeof(s.path), "%s", path);
    c = chardev_open(&s, l, e, sizeof(e));
    ck_assert_msg(c != NULL, "%s", e);
    u1 = uart_new(&fm.m.bus, 1, machine_isa_irq(&fm.m, 3), c);
    ck_assert_ptr_nonnull(u1);
    cl = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (i = 0; i < 100 && strncmp(chardev_filename(c), "unix:", 5); i++)
        loop_once(l, 10);

    outb(0x2f8 + UART_IER, 0x01);
    outb(0x2f8 + UART_FCR, 0x01);                /* trigger 1 */
    /* 20 bytes in: the FIFO takes 16, the rest waits in the socket. */
    ck_assert_int_eq(write(cl, "ABCDEFGHIJKLMNOPQRST", 20), 20);
    for (i = 0; i < 100 && !(inb(0x2f8 + UART_LSR) & 1); i++)
        loop_once(l, 10);
    for (i = 0; i < 20; i++)
        loop_once(l, 5);
    ck_assert_int_eq(fm.irq_level[3], 1);
    ck_assert_uint_eq(inb(0x2f8 + UART_LSR) & 0x02, 0);     /* no overrun: flow control */
    for (i = 0; i < 16; i++)
        ck_assert_uint_eq(inb(0x2f8 + UART_RBR), 'A' + i);
    ck_assert_uint_eq(inb(0x2f8 + UART_LSR) & 1, 0);
    for (i = 0; i < 100 && !(inb(0x2f8 + UART_LSR) & 1); i++)
        loop_once(l, 10);
    for (i = 0; i < 4; i++) {
        for (int j = 0; j < 100 && !(inb(0x2f8 + UART_LSR) & 1); j++)
            loop_once(l, 10);
        ck_assert_uint_eq(inb(0x2f8 + UART_RBR), 'Q' + i);
    }
    /* And out the other way. */
    outb(0x2f8 + UART_THR, 'o');
    outb(0x2f8 + UART_THR, 'k');
    p.fd = cl;
    p.events = POLLIN;
    ck_assert_int_eq(poll(&p, 1, 2000), 1);
    ck_assert_int_eq(read(cl, buf, sizeof(buf)), 2);
    ck_assert_int_eq(memcmp(buf, "ok", 2), 0);
    close(cl);
    uart_free(u1);
    chardev_close(c);
    loop_free(l);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(loopback_ignores_line_input)
{
    char e[256];
    struct chardev_spec s;
    struct chardev *c;
    struct loop *l = loop_new();
    struct uart *u1;
    int slave, i;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "serial1");
    s.kind = CHARDEV_PTY;
    s.fd = -1;
    c = chardev_open(&s, l, e, sizeof(e));
    ck_assert_msg(c != NULL, "%s", e);
    u1 = uart_new(&fm.m.bus, 1, machine_isa_irq(&fm.m, 3), c);
    slave = open(chardev_filename(c) + 4, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    outb(0x2f8 + UART_MCR, 0x10);
    ck_assert_int_eq(write(slave, "L", 1), 1);
    for (i = 0; i < 10; i++)
        loop_once(l, 10);
    ck_assert_uint_eq(inb(0x2f8 + UART_LSR) & 1, 0);    /* held back while in loopback */
    outb(0x2f8 + UART_MCR, 0x00);
    for (i = 0; i < 100 && !(inb(0x2f8 + UART_LSR) & 1); i++)
        loop_once(l, 10);
    ck_assert_uint_eq(inb(0x2f8 + UART_RBR), 'L');
    close(slave);
    uart_free(u1);
    chardev_close(c);
    loop_free(l);
}
END_TEST


/* ---- through the DM (libqtest) ---------------------------------------- */

static struct qtest *start_dm(const char *const *args)
{
    struct qtest_opts o = { .args = args, .extra_fd = -1 };
    struct qtest *s = qtest_start(&o);

    ck_assert_msg(s != NULL, "DM did not start");
    return s;
}

/* Poll LSR.DR through the guest side: the DM reads its backend in its
 * own loop, between qtest commands. The bound (about 10 s) only ends a
 * hung test; a loaded CI machine needs far less. */
static bool qt_wait_rx(struct qtest *s, uint16_t base)
{
    int i;

    for (i = 0; i < 5000; i++) {
        if (qtest_inb(s, base + UART_LSR) & 0x01)
            return true;
        usleep(2000);
    }
    return false;
}

START_TEST(qt_registers)
{
    static const char *const args[] = { "-serial", "null", NULL };
    struct qtest *s = start_dm(args);

    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_IIR), 0x01);
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_LSR), 0x60);
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_MSR), 0xb0);
    qtest_outb(s, COM1 + UART_SCR, 0xa5);
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_SCR), 0xa5);
    qtest_outb(s, COM1 + UART_LCR, 0x83);
    qtest_outb(s, COM1 + UART_DLL, 0x01);
    qtest_outb(s, COM1 + UART_DLM, 0x00);
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_DLL), 0x01);
    qtest_outb(s, COM1 + UART_LCR, 0x03);
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_LCR), 0x03);
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_IER), 0x00);
    /* COM2 is not there with one -serial. */
    ck_assert_uint_eq(qtest_inb(s, 0x2f8 + UART_LSR), 0xff);
    qtest_quit(s);
}
END_TEST

START_TEST(qt_loopback_interrupts)
{
    static const char *const args[] = { "-serial", "null", NULL };
    struct qtest *s = start_dm(args);
    const char *msg = "xsdm";
    size_t i;

    qtest_irq_intercept_in(s, "ioapic");
    ck_assert(!qtest_get_irq(s, IRQ4));
    qtest_outb(s, COM1 + UART_FCR, 0x87);        /* FIFOs on, trigger 8 */
    qtest_outb(s, COM1 + UART_MCR, 0x1b);        /* loopback, OUT2, RTS, DTR */
    qtest_outb(s, COM1 + UART_IER, 0x01);
    ck_assert(!qtest_get_irq(s, IRQ4));
    for (i = 0; i < strlen(msg); i++)
        qtest_outb(s, COM1 + UART_THR, (uint8_t)msg[i]);
    ck_assert(qtest_get_irq(s, IRQ4));
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_IIR), 0xcc);  /* below trigger: timeout */
    for (i = 0; i < strlen(msg); i++)
        ck_assert_uint_eq(qtest_inb(s, COM1 + UART_RBR), (uint8_t)msg[i]);
    ck_assert(!qtest_get_irq(s, IRQ4));
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_IIR), 0xc1);
    /* THR empty: raise on enable, lower when IIR is read. */
    qtest_outb(s, COM1 + UART_IER, 0x02);
    ck_assert(qtest_get_irq(s, IRQ4));
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_IIR), 0xc2);
    ck_assert(!qtest_get_irq(s, IRQ4));
    qtest_outb(s, COM1 + UART_IER, 0x00);
    qtest_quit(s);
}
END_TEST

START_TEST(qt_file_backend)
{
    char dir[] = "/tmp/test-uart-XXXXXX", path[64], arg[80], buf[32];
    const char *args[] = { "-serial", arg, NULL };
    const char *msg = "Linux version\r\n";
    struct qtest *s;
    ssize_t n = 0;
    size_t i;
    int fd;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/serial.log", dir);
    snprintf(arg, sizeof(arg), "file:%s", path);
    s = start_dm(args);
    for (i = 0; i < strlen(msg); i++)
        qtest_outb(s, COM1 + UART_THR, (uint8_t)msg[i]);
    (void)qtest_inb(s, COM1 + UART_LSR);         /* every write is done once this returns */
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    ck_assert_int_eq(n, (ssize_t)strlen(msg));
    ck_assert_int_eq(memcmp(buf, msg, strlen(msg)), 0);
    qtest_quit(s);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(qt_socket_backend)
{
    char dir[] = "/tmp/test-uart-XXXXXX", path[64], arg[128], buf[8];
    const char *args[] = { "-chardev", arg, "-serial", "chardev:ser0", NULL };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct pollfd p;
    struct qtest *s;
    int cl;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ser.sock", dir);
    snprintf(arg, sizeof(arg), "socket,id=ser0,path=%s,server=on,wait=off", path);
    s = start_dm(args);
    /* qtest_start() returns once the DM has connected to us (accelerator
     * init), before it opens its char backends; the first guest exchange
     * is only answered from the loop, after everything is open. */
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_LSR), 0x60);
    cl = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(write(cl, "in", 2), 2);
    ck_assert(qt_wait_rx(s, COM1));
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_RBR), 'i');
    ck_assert(qt_wait_rx(s, COM1));
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_RBR), 'n');
    qtest_outb(s, COM1 + UART_THR, 'o');
    qtest_outb(s, COM1 + UART_THR, 'k');
    p.fd = cl;
    p.events = POLLIN;
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ck_assert_int_eq(read(cl, buf, sizeof(buf)), 2);
    ck_assert_int_eq(memcmp(buf, "ok", 2), 0);
    close(cl);
    qtest_quit(s);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(qt_pty_query_chardev)
{
    static const char *const args[] = { "-serial", "pty", NULL };
    struct qtest *s = start_dm(args);
    struct qmpc *q = qtest_qmp(s);
    json_t *ret = NULL, *e;
    const char *pty = NULL;
    char err[256], buf[8];
    struct pollfd p;
    size_t i;
    int fd;

    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(qmpc_execute(q, "query-chardev", NULL, -1, &ret, err, sizeof(err)), 0);
    ck_assert(json_is_array(ret));
    json_array_foreach(ret, i, e) {
        ck_assert(json_is_string(json_object_get(e, "label")));
        if (!strcmp(json_string_value(json_object_get(e, "label")), "serial0")) {
            pty = json_string_value(json_object_get(e, "filename"));
            ck_assert(json_is_true(json_object_get(e, "frontend-open")));
        }
    }
    ck_assert_ptr_nonnull(pty);
    ck_assert_int_eq(strncmp(pty, "pty:/dev/pts/", 13), 0);
    fd = open(pty + 4, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(fd, 0);
    json_decref(ret);
    qmpc_close(q);
    qtest_outb(s, COM1 + UART_THR, '>');
    p.fd = fd;
    p.events = POLLIN;
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 1);
    ck_assert_int_eq(buf[0], '>');
    ck_assert_int_eq(write(fd, "<", 1), 1);
    ck_assert(qt_wait_rx(s, COM1));
    ck_assert_uint_eq(qtest_inb(s, COM1 + UART_RBR), '<');
    close(fd);
    qtest_quit(s);
}
END_TEST

static Suite *uart_suite(void)
{
    Suite *s = suite_create("uart16550");
    TCase *tc = tcase_create("in-process");

    tcase_add_checked_fixture(tc, machine_setup, machine_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reset_values);
    tcase_add_test(tc, scratch_register);
    tcase_add_test(tc, divisor_latch);
    tcase_add_test(tc, ier_reserved_bits);
    tcase_add_test(tc, loopback_data);
    tcase_add_test(tc, loopback_modem_lines);
    tcase_add_test(tc, fifo_overrun);
    tcase_add_test(tc, no_fifo_holding_register);
    tcase_add_test(tc, fifo_clear_and_mode_switch);
    tcase_add_test(tc, thre_interrupt);
    tcase_add_test(tc, rda_trigger_levels);
    tcase_add_test(tc, line_status_interrupt);
    tcase_add_test(tc, modem_status_interrupt);
    tcase_add_test(tc, interrupt_priority);
    tcase_add_test(tc, wide_access_is_bytewise);
    tcase_add_test(tc, reset_clears_state);
    tcase_add_test(tc, hostile_register_fuzz);
    tcase_add_test(tc, vmstate_round_trip);
    tcase_add_test(tc, vmstate_rejects_bad_fields);
    tcase_add_test(tc, file_backend_receives_output);
    tcase_add_test(tc, socket_backend_round_trip);
    tcase_add_test(tc, loopback_ignores_line_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("qtest");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, qt_registers);
    tcase_add_test(tc, qt_loopback_interrupts);
    tcase_add_test(tc, qt_file_backend);
    tcase_add_test(tc, qt_socket_backend);
    tcase_add_test(tc, qt_pty_query_chardev);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ck_run_suite(uart_suite());
}
