/* i8042 keyboard controller, its PS/2 mouse and port 0x92, in-process on a
 * fake machine whose accelerator records ISA IRQ levels: the probe
 * sequences SeaBIOS and Linux use, keyboard and mouse command replies,
 * movement packets on IRQ 12, reset requests, hostile bytes and
 * save/restore validation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/board/machine.h"
#include "dm/core/iobus.h"
#include "dm/core/vmstate.h"
#include "dm/devices/i8042.h"
#include "dm/devices/port92.h"
#include "dm/devices/ps2-mouse.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/vmsection.h"

#define DATA 0x60
#define CMD  0x64

#define ST_OBF     0x01
#define ST_SYS     0x04
#define ST_CMD     0x08
#define ST_AUXB    0x20
#define ST_TIMEOUT 0x40

static struct fake_machine fm;
static struct i8042 *kbd;
static struct port92 *p92;

static void setup(void)
{
    fake_machine_init(&fm, NULL, 0);
    kbd = i8042_new(&fm.m.bus, machine_isa_irq(&fm.m, I8042_KBD_IRQ), machine_isa_irq(&fm.m, I8042_AUX_IRQ),
                    machine_guest_request(&fm.m, SHUTDOWN_REBOOT));
    p92 = port92_new(&fm.m.bus, machine_guest_request(&fm.m, SHUTDOWN_REBOOT));
    ck_assert_ptr_nonnull(kbd);
    ck_assert_ptr_nonnull(p92);
}

static void teardown(void)
{
    i8042_free(kbd);
    port92_free(p92);
    vmstate_unregister_all();
}

static void outb(uint16_t port, uint8_t v) { fake_outb(&fm, port, v); }
static uint8_t inb(uint16_t port) { return fake_inb(&fm, port); }

/* Read one reply byte the way drivers do: wait for OBF, then read 0x60. */
static int reply(void)
{
    if (!(inb(CMD) & ST_OBF))
        return -1;
    return inb(DATA);
}

static void drain(void)
{
    int i;

    for (i = 0; i < 64 && (inb(CMD) & ST_OBF); i++)
        inb(DATA);
}

START_TEST(self_test_and_interface_tests)
{
    ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_SYS), 0);
    outb(CMD, 0xaa);
    ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_SYS | ST_CMD), ST_OBF | ST_SYS | ST_CMD);
    ck_assert_int_eq(reply(), 0x55);
    ck_assert_int_eq(reply(), -1);
    outb(CMD, 0xab);
    ck_assert_int_eq(reply(), 0x00);
    outb(CMD, 0xa9);
    ck_assert_int_eq(reply(), 0x00);
}
END_TEST

START_TEST(command_byte)
{
    outb(CMD, 0x20);
    ck_assert_int_eq(reply(), 0x03);             /* default: kbd + aux interrupts */
    outb(CMD, 0x60);
    outb(DATA, 0x65);
    ck_assert_uint_eq(inb(CMD) & ST_CMD, 0);     /* last write was data */
    ck_assert_uint_eq(inb(CMD) & ST_SYS, ST_SYS);    /* mirrors CTR bit 2 */
    outb(CMD, 0x20);
    ck_assert_int_eq(reply(), 0x65);
    outb(CMD, 0xad);
    outb(CMD, 0xa7);
    outb(CMD, 0x20);
    ck_assert_int_eq(reply(), 0x75);             /* KBDDIS | AUXDIS */
    outb(CMD, 0xae);
    outb(CMD, 0x20);
    ck_assert_int_eq(reply(), 0x65);
    outb(CMD, 0xa8);
    outb(CMD, 0xa7);
    outb(CMD, 0xa8);
    outb(CMD, 0x20);
    ck_assert_int_eq(reply(), 0x45);
}
END_TEST

START_TEST(output_port_a20)
{
    outb(CMD, 0xd0);
    ck_assert_int_eq(reply() & 0x03, 0x03);
    ck_assert(i8042_a20(kbd));
    outb(CMD, 0xd1);
    outb(DATA, 0xdd);                            /* A20 off, reset line inactive */
    ck_assert(!i8042_a20(kbd));
    ck_assert(!fm.m.shutdown_requested);
    outb(CMD, 0xd0);
    ck_assert_int_eq(reply(), 0xdd);
    outb(CMD, 0xd1);
    outb(DATA, 0xdf);
    ck_assert(i8042_a20(kbd));
    ck_assert(!fm.m.shutdown_requested);
}
END_TEST

START_TEST(pulse_reset)
{
    outb(CMD, 0xff);                             /* pulse nothing */
    ck_assert(!fm.m.shutdown_requested);
    outb(CMD, 0xfe);
    ck_assert(fm.m.shutdown_requested);
    ck_assert_int_eq(fm.m.shutdown_why, SHUTDOWN_REBOOT);
}
END_TEST

START_TEST(output_port_reset_bit)
{
    outb(CMD, 0xd1);
    outb(DATA, 0x02);                            /* bit 0 low: CPU reset */
    ck_assert(fm.m.shutdown_requested);
    ck_assert_int_eq(fm.m.shutdown_why, SHUTDOWN_REBOOT);
}
END_TEST

START_TEST(keyboard_commands)
{
    outb(DATA, 0xff);
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), 0xaa);
    outb(DATA, 0xf2);
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), 0xab);
    ck_assert_int_eq(reply(), 0x83);
    outb(CMD, 0x60);
    outb(DATA, 0x41);                            /* translation on */
    outb(DATA, 0xf2);
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), 0xab);
    ck_assert_int_eq(reply(), 0x41);
    outb(DATA, 0xf5);
    ck_assert_int_eq(reply(), 0xfa);
    outb(DATA, 0xf4);
    ck_assert_int_eq(reply(), 0xfa);
    outb(DATA, 0xed);                            /* LEDs + parameter */
    ck_assert_int_eq(reply(), 0xfa);
    outb(DATA, 0x07);
    ck_assert_int_eq(reply(), 0xfa);
    outb(DATA, 0xf0);                            /* set scan code set 1 ... */
    ck_assert_int_eq(reply(), 0xfa);
    outb(DATA, 0x01);
    ck_assert_int_eq(reply(), 0xfa);
    outb(DATA, 0xf0);                            /* ... and read it back */
    outb(DATA, 0x00);
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), 0x01);
    outb(DATA, 0xee);
    ck_assert_int_eq(reply(), 0xee);
    outb(DATA, 0x42);                            /* anything else: ACK */
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), -1);
}
END_TEST

START_TEST(keyboard_irq)
{
    outb(CMD, 0x60);
    outb(DATA, 0x00);                            /* interrupts off */
    outb(DATA, 0xff);
    ck_assert_int_eq(fm.irq_level[1], 0);
    drain();
    outb(CMD, 0x60);
    outb(DATA, 0x01);
    ck_assert_int_eq(fm.irq_level[1], 0);
    outb(DATA, 0xff);                            /* two replies: two edges */
    ck_assert_int_eq(fm.irq_level[1], 1);
    ck_assert_int_eq(inb(DATA), 0xfa);
    ck_assert_int_eq(fm.irq_level[1], 1);
    ck_assert_int_eq(inb(DATA), 0xaa);
    ck_assert_int_eq(fm.irq_level[1], 0);
    ck_assert_int_eq(fm.irq_edges[1], 2);
    ck_assert_int_eq(fm.irq_level[12], 0);
}
END_TEST

START_TEST(aux_port)
{
    /* Linux's loopback probe: the byte comes back as aux data on IRQ 12. */
    outb(CMD, 0xd3);
    outb(DATA, 0x5a);
    ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
    ck_assert_int_eq(fm.irq_level[12], 1);
    ck_assert_int_eq(fm.irq_level[1], 0);
    ck_assert_int_eq(inb(DATA), 0x5a);
    ck_assert_int_eq(fm.irq_level[12], 0);
    /* A mouse is plugged in: it answers a reset on the aux side, no timeout. */
    outb(CMD, 0xd4);
    outb(DATA, 0xff);
    ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_AUXB | ST_TIMEOUT), ST_OBF | ST_AUXB);
    ck_assert_int_eq(inb(DATA), 0xfa);
    ck_assert_int_eq(inb(DATA), 0xaa);
    ck_assert_int_eq(inb(DATA), 0x00);
    /* 0xd2 injects keyboard data. */
    outb(CMD, 0xd2);
    outb(DATA, 0x1c);
    ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_AUXB), ST_OBF);
    ck_assert_int_eq(inb(DATA), 0x1c);
}
END_TEST

START_TEST(empty_read_repeats_last)
{
    outb(CMD, 0xaa);
    ck_assert_int_eq(inb(DATA), 0x55);
    ck_assert_int_eq(inb(DATA), 0x55);
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(queue_overflow_is_bounded)
{
    int i, n = 0;

    for (i = 0; i < 100; i++)
        outb(DATA, 0xff);                        /* 200 replies asked for */
    while (inb(CMD) & ST_OBF) {
        inb(DATA);
        ck_assert_int_lt(++n, 100);
    }
    ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(hostile_bytes)
{
    uint32_t x = 0xdeadbeefu;
    int i;

    for (i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        switch (x & 3) {
        case 0:
            outb(CMD, (uint8_t)(x >> 8));
            break;
        case 1:
            outb(DATA, (uint8_t)(x >> 8));
            break;
        case 2:
            (void)inb(DATA);
            break;
        default:
            (void)inb(CMD);
            break;
        }
        /* Wide accesses and neighbours are not ours: all-ones, no crash. */
        if ((x & 0xf00) == 0)
            ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, DATA, 2), 0xffff);
    }
    i8042_reset(kbd);
    ck_assert_int_eq(fm.irq_level[1], 0);
    ck_assert_int_eq(fm.irq_level[12], 0);
    outb(CMD, 0xaa);
    ck_assert_int_eq(reply(), 0x55);
}
END_TEST

/* ---- the PS/2 mouse ------------------------------------------------------ */

/* Send a byte to the mouse and expect exactly these replies, each flagged
 * as aux data. */
static void aux_cmd(uint8_t v, const int *expect, int n)
{
    int i;

    outb(CMD, 0xd4);
    outb(DATA, v);
    for (i = 0; i < n; i++) {
        ck_assert_msg((inb(CMD) & (ST_OBF | ST_AUXB)) == (ST_OBF | ST_AUXB),
                      "command %#x: reply %d missing", v, i);
        ck_assert_msg(inb(DATA) == expect[i], "command %#x: reply %d is not %#x", v, i, expect[i]);
    }
    ck_assert_msg(!(inb(CMD) & ST_OBF), "command %#x: extra reply", v);
}

#define AUX(v, ...) aux_cmd(v, (const int[]){ __VA_ARGS__ }, \
                            sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

/* Read one queued packet of n bytes, asserting IRQ 12 announces each byte. */
static void packet(uint8_t *b, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        ck_assert_msg(fm.irq_level[12] == 1, "byte %d without IRQ 12", i);
        ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
        b[i] = inb(DATA);
    }
}

/* What Linux does, in order: the controller's aux probe (loopback, then
 * aux enable), psmouse's probe (GET ID, reset), the Synaptics identify
 * (four SET RES then STATUS), the IntelliMouse and Explorer knocks, then
 * its settings and enable. Then a move comes as a 4-byte packet. */
START_TEST(linux_psmouse_init)
{
    uint8_t b[4];

    outb(CMD, 0xa7);
    outb(CMD, 0x20);
    ck_assert_int_eq(reply() & 0x20, 0x20);
    outb(CMD, 0xa8);
    outb(CMD, 0x20);
    ck_assert_int_eq(reply() & 0x20, 0);
    outb(CMD, 0xa9);
    ck_assert_int_eq(reply(), 0x00);
    AUX(PS2M_CMD_GET_ID, 0xfa, 0x00);
    AUX(PS2M_CMD_RESET, 0xfa, 0xaa, 0x00);
    AUX(PS2M_CMD_DISABLE, 0xfa);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(0x00, 0xfa);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(0x00, 0xfa);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(0x00, 0xfa);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(0x00, 0xfa);
    AUX(PS2M_CMD_STATUS, 0xfa, 0x00, 0x00, 100);    /* not 0x47 in byte 2: no Synaptics */
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(200, 0xfa);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(100, 0xfa);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(80, 0xfa);
    AUX(PS2M_CMD_GET_ID, 0xfa, 0x03);               /* IntelliMouse */
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(200, 0xfa);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(200, 0xfa);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(80, 0xfa);
    AUX(PS2M_CMD_GET_ID, 0xfa, 0x03);               /* no Explorer: stays 3 */
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(100, 0xfa);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(0x03, 0xfa);
    AUX(PS2M_CMD_SET_SCALE_11, 0xfa);
    AUX(PS2M_CMD_STATUS, 0xfa, 0x00, 0x03, 100);
    ck_assert_int_eq(fm.irq_edges[12], 43);         /* every reply byte was an IRQ 12 edge */
    i8042_mouse_move(kbd, 5, -3, 0, PS2M_PKT_LEFT);
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);        /* reporting still off */
    outb(CMD, 0xd4);
    outb(DATA, PS2M_CMD_ENABLE);
    ck_assert_int_eq(reply(), 0xfa);                /* the held motion follows the ACK */
    packet(b, 4);
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1 | PS2M_PKT_LEFT | PS2M_PKT_YSIGN);
    ck_assert_uint_eq(b[1], 5);
    ck_assert_uint_eq(b[2], 0xfd);
    ck_assert_uint_eq(b[3], 0);
    ck_assert_int_eq(fm.irq_level[12], 0);
    ck_assert_int_eq(fm.irq_level[1], 0);
    i8042_mouse_move(kbd, 0, 0, -1, 0);             /* wheel up, left released */
    packet(b, 4);
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1);
    ck_assert_uint_eq(b[3], 0x0f);
}
END_TEST

static void enable_mouse(void)
{
    AUX(PS2M_CMD_RESET, 0xfa, 0xaa, 0x00);
    AUX(PS2M_CMD_ENABLE, 0xfa);
}

START_TEST(mouse_packets)
{
    uint8_t b[3];

    enable_mouse();
    /* Moves before the guest reads coalesce: one packet in the queue. */
    i8042_mouse_move(kbd, -1, 2, 0, 0);
    i8042_mouse_move(kbd, -2, 2, 0, 0);
    i8042_mouse_move(kbd, -3, 2, 0, PS2M_PKT_RIGHT);
    packet(b, 3);
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1 | PS2M_PKT_XSIGN);
    ck_assert_uint_eq(b[1], 0xff);
    ck_assert_uint_eq(b[2], 2);
    packet(b, 3);                                   /* the rest, sent as the first was read */
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1 | PS2M_PKT_XSIGN | PS2M_PKT_RIGHT);
    ck_assert_uint_eq(b[1], (uint8_t)-5);
    ck_assert_uint_eq(b[2], 4);
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);
    /* A long move is split into packets of at most 255 (9-bit two's complement). */
    i8042_mouse_move(kbd, 300, -300, 0, 0);
    packet(b, 3);
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1 | PS2M_PKT_YSIGN);
    ck_assert_uint_eq(b[1], 255);
    ck_assert_uint_eq(b[2], 0x00);                  /* -256 */
    packet(b, 3);
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1 | PS2M_PKT_YSIGN);
    ck_assert_uint_eq(b[1], 45);
    ck_assert_uint_eq(b[2], (uint8_t)-44);
    /* Beyond what the counters hold: motion lost, overflow bit on the next packet. */
    i8042_mouse_move(kbd, 100000, 0, 0, 0);
    packet(b, 3);
    ck_assert_uint_eq(b[0], PS2M_PKT_ALWAYS1 | PS2M_PKT_XOVF);
    ck_assert_uint_eq(b[1], 255);
    for (int i = 0; i < 20 && (inb(CMD) & ST_OBF); i++) {
        packet(b, 3);
        ck_assert_uint_eq(b[0] & (PS2M_PKT_XOVF | PS2M_PKT_YOVF), 0);
    }
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);        /* bounded: the 2048 counts held, no more */
    /* 2:1 scaling in stream mode: 3 -> 3, 5 -> 9, 10 -> 20. */
    AUX(PS2M_CMD_SET_SCALE_21, 0xfa);
    i8042_mouse_move(kbd, 5, 10, 0, 0);
    packet(b, 3);
    ck_assert_uint_eq(b[1], 9);
    ck_assert_uint_eq(b[2], 20);
}
END_TEST

START_TEST(mouse_gated)
{
    uint8_t b[3];

    enable_mouse();
    /* Aux clock disabled: the mouse holds its motion until re-enabled. */
    outb(CMD, 0xa7);
    i8042_mouse_move(kbd, 7, 0, 0, 0);
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);
    outb(CMD, 0xa8);
    packet(b, 3);
    ck_assert_uint_eq(b[1], 7);
    /* Aux interrupt off: the byte is there, IRQ 12 stays low. */
    outb(CMD, 0x60);
    outb(DATA, 0x01);
    i8042_mouse_move(kbd, 1, 0, 0, 0);
    ck_assert_uint_eq(inb(CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
    ck_assert_int_eq(fm.irq_level[12], 0);
    drain();
    /* Reporting disabled: nothing. */
    AUX(PS2M_CMD_DISABLE, 0xfa);
    i8042_mouse_move(kbd, 1, 1, 0, PS2M_PKT_LEFT);
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(mouse_remote_wrap_and_errors)
{
    uint8_t b[3];

    enable_mouse();
    AUX(PS2M_CMD_SET_REMOTE, 0xfa);
    i8042_mouse_move(kbd, 3, 4, 0, PS2M_PKT_MIDDLE);
    ck_assert_uint_eq(inb(CMD) & ST_OBF, 0);        /* remote: only on request */
    AUX(PS2M_CMD_STATUS, 0xfa, PS2M_STAT_REMOTE | PS2M_STAT_ENABLED | PS2M_STAT_MIDDLE, 2, 100);
    AUX(PS2M_CMD_READ_DATA, 0xfa, PS2M_PKT_ALWAYS1 | PS2M_PKT_MIDDLE, 3, 4);
    AUX(PS2M_CMD_READ_DATA, 0xfa, PS2M_PKT_ALWAYS1 | PS2M_PKT_MIDDLE, 0, 0);
    AUX(PS2M_CMD_SET_STREAM, 0xfa);
    /* Wrap mode echoes, except its exit. */
    AUX(PS2M_CMD_SET_WRAP, 0xfa);
    AUX(0x42, 0x42);
    AUX(PS2M_CMD_ENABLE, PS2M_CMD_ENABLE);
    AUX(PS2M_CMD_RESET_WRAP, 0xfa);
    /* Out-of-range parameters and unknown commands. */
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(33, 0xfc);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(9, 0xfc);
    AUX(0x01, 0xfe);
    AUX(PS2M_CMD_STATUS, 0xfa, PS2M_STAT_ENABLED | PS2M_STAT_MIDDLE, 2, 100);
    /* Defaults: reporting off, rate and resolution back, id kept. */
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(40, 0xfa);
    AUX(PS2M_CMD_SET_DEFAULTS, 0xfa);
    AUX(PS2M_CMD_STATUS, 0xfa, PS2M_STAT_MIDDLE, 2, 100);
    (void)b;
}
END_TEST

/* Random traffic to both devices and the mouse's motion together: the
 * queue stays bounded, and afterwards the keyboard answers as on the
 * first day and still has room for keys while the mouse moves. */
START_TEST(mouse_hostile_keeps_keyboard)
{
    uint32_t x = 0x1234567u;
    uint8_t key[3] = { 0x1c, 0xf0, 0x1c };   /* 'a' in set 2: make, then break */
    int i;

    for (i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        switch (x & 7) {
        case 0:
        case 1:
            outb(CMD, 0xd4);
            outb(DATA, (uint8_t)(0xe0 | ((x >> 8) & 0x1f)));
            break;
        case 2:
            outb(CMD, 0xd4);
            outb(DATA, (uint8_t)(x >> 8));
            break;
        case 3:
            i8042_mouse_move(kbd, (int)(int16_t)(x >> 8), (int)(int8_t)(x >> 24), (int)(x >> 4 & 3) - 1,
                             (x >> 12) & 7);
            break;
        case 4:
            (void)inb(DATA);
            break;
        case 5:
            if (((x >> 8) & 0xff) != 0xfe && ((x >> 8) & 0xf0) != 0xf0)
                outb(CMD, (uint8_t)(x >> 8));           /* not the reset pulses */
            break;
        default:
            (void)inb(CMD);
            break;
        }
    }
    outb(CMD, 0x60);
    outb(DATA, 0x03);                               /* interrupts on, both ports enabled */
    drain();
    outb(CMD, 0xd4);
    outb(DATA, PS2M_CMD_RESET_WRAP);                /* out of wrap, or a pending parameter */
    drain();
    enable_mouse();
    i8042_mouse_move(kbd, 1000, 1000, 0, 0);        /* keeps a packet queued behind each read */
    outb(DATA, 0xff);                               /* keyboard reset */
    drain();
    outb(CMD, 0xaa);
    ck_assert_int_eq(reply(), 0x55);
    i8042_mouse_move(kbd, 1000, 1000, 0, 0);
    ck_assert_uint_eq(i8042_kbd_set(kbd), 2);
    i8042_kbd_send(kbd, key, 1);
    i8042_kbd_send(kbd, key + 1, 2);
    /* The key is queued behind at most one mouse packet. */
    for (i = 0; i < 4; i++) {
        uint8_t st = inb(CMD);

        ck_assert(st & ST_OBF);
        if (!(st & ST_AUXB))
            break;
        inb(DATA);
    }
    ck_assert_int_lt(i, 4);
    ck_assert_int_eq(inb(DATA), 0x1c);
}
END_TEST

static const struct vmstate_dev *dev(const char *name)
{
    const struct vmstate_dev *d = vmstate_find(name);

    ck_assert_ptr_nonnull(d);
    return d;
}

static size_t save(const char *name, uint8_t *buf, size_t cap)
{
    size_t len = vmsection_save(name, buf, cap);

    ck_assert_uint_gt(len, 0);
    return len;
}

static int load(const char *name, const uint8_t *buf, size_t len, void *staging)
{
    char e[256];

    return vmsection_load(name, buf, len, staging, e, sizeof(e));
}

START_TEST(i8042_vmstate)
{
    const struct vmstate_dev *d = dev("i8042");
    uint8_t good[128], bad[128], staging[128];
    size_t len, i;

    ck_assert_uint_le(d->state_size, sizeof(staging));
    outb(DATA, 0xf2);                            /* three replies queued */
    ck_assert_int_eq(fm.irq_level[1], 1);
    len = save("i8042", good, sizeof(good));
    ck_assert_uint_eq(len, 60);                  /* 42 + the mouse's 18 */
    i8042_reset(kbd);
    ck_assert_int_eq(fm.irq_level[1], 0);
    ck_assert_int_eq(load("i8042", good, len, staging), 0);
    memcpy(d->state, staging, d->state_size);
    d->post_load(d->opaque);
    ck_assert_int_eq(fm.irq_level[1], 1);
    ck_assert_int_eq(reply(), 0xfa);
    ck_assert_int_eq(reply(), 0xab);
    ck_assert_int_eq(reply(), 0x83);

    struct { const char *field; uint8_t val; } cases[] = {
        { "status", 0x01 },             /* a derived bit */
        { "pending_cmd", 0x55 },        /* not a command that takes data */
        { "kbd_pending", 0xf4 },        /* not a command that takes a parameter */
        { "kbd_scanning", 2 },
        { "kbd_scanset", 0 },
        { "kbd_scanset", 4 },
        { "qflags[8]", 0x04 },          /* an unknown queue flag */
        { "qhead", 16 },
        { "qcount", 17 },
        { "mouse.pending", 0xf4 },   /* not a command that takes a parameter */
        { "mouse.rate", 33 },        /* not a PS/2 sample rate */
        { "mouse.res", 4 },
        { "mouse.id", 4 },           /* an Explorer we do not emulate */
        { "mouse.knock", 3 },
        { "mouse.buttons", 0x08 },
        { "mouse.ovf", 0x01 },
        { "mouse.wrap", 2 },
    };
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(bad, good, len);
        bad[vmsection_field("i8042", good, len, cases[i].field)] = cases[i].val;
        ck_assert_msg(load("i8042", bad, len, staging) < 0, "case %zu (%s) accepted", i, cases[i].field);
    }
    memcpy(bad, good, len);
    i = vmsection_field("i8042", good, len, "mouse.dx");
    bad[i] = 0x01;
    bad[i + 1] = 0x08;                              /* 2049: more than the counters hold */
    ck_assert_int_lt(load("i8042", bad, len, staging), 0);
    ck_assert_int_lt(load("i8042", good, len - 1, staging), 0);
    memcpy(bad, good, len);
    bad[len] = 0;
    ck_assert_int_lt(load("i8042", bad, len + 1, staging), 0);
}
END_TEST

/* The devices know only their lines: on a bare I/O bus with no machine,
 * their interrupts and reset requests arrive where the lines were wired. */
struct wires {
    int level[16];
    int requests;
};

static void wire_in(void *opaque, int n, int level)
{
    struct wires *w = opaque;

    if (n == 99)
        w->requests += level != 0;
    else
        w->level[n] = level;
}

START_TEST(lines_go_where_wired)
{
    struct wires w = { { 0 }, 0 };
    struct iobus bus;
    struct i8042 *k;
    struct port92 *p;

    vmstate_unregister_all();
    iobus_init(&bus);
    k = i8042_new(&bus, irq_line(wire_in, &w, 5), irq_line(wire_in, &w, 6), irq_line(wire_in, &w, 99));
    p = port92_new(&bus, irq_line(wire_in, &w, 99));
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(p);
    io_write(&bus, IO_PIO, CMD, 0xaa, 1);               /* self-test: a reply on the kbd line */
    ck_assert_int_eq(w.level[5], 1);
    ck_assert_int_eq(io_read(&bus, IO_PIO, DATA, 1), 0x55);
    ck_assert_int_eq(w.level[5], 0);
    io_write(&bus, IO_PIO, CMD, 0xd3, 1);               /* a byte as from the aux device */
    io_write(&bus, IO_PIO, DATA, 0x42, 1);
    ck_assert_int_eq(w.level[6], 1);
    ck_assert_int_eq(w.level[5], 0);
    io_write(&bus, IO_PIO, CMD, 0xfe, 1);               /* pulse reset */
    ck_assert_int_eq(w.requests, 1);
    io_write(&bus, IO_PIO, 0x92, 0x01, 1);              /* fast reset */
    ck_assert_int_eq(w.requests, 2);
    ck_assert(!fm.m.shutdown_requested);                /* the fixture's machine heard nothing */
    i8042_free(k);
    port92_free(p);
    vmstate_unregister_all();
}
END_TEST

START_TEST(port92_a20_and_reset)
{
    const struct vmstate_dev *d = dev("port92");
    uint8_t buf[8], staging[8];
    size_t len;

    ck_assert_uint_eq(inb(0x92), 0x00);
    outb(0x92, 0x02);
    ck_assert_uint_eq(inb(0x92), 0x02);
    ck_assert(port92_a20(p92));
    ck_assert(!fm.m.shutdown_requested);
    len = save("port92", buf, sizeof(buf));
    ck_assert_uint_eq(len, 1);
    outb(0x92, 0x03);                            /* fast reset, bit reads back 0 */
    ck_assert(fm.m.shutdown_requested);
    ck_assert_int_eq(fm.m.shutdown_why, SHUTDOWN_REBOOT);
    ck_assert_uint_eq(inb(0x92), 0x02);
    port92_reset(p92);
    ck_assert(!port92_a20(p92));
    ck_assert_int_eq(load("port92", buf, len, staging), 0);
    memcpy(d->state, staging, d->state_size);
    ck_assert(port92_a20(p92));
    buf[0] = 0x03;
    ck_assert_int_lt(load("port92", buf, 1, staging), 0);
    ck_assert_int_lt(load("port92", buf, 0, staging), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("i8042");
    TCase *tc = tcase_create("in-process");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, self_test_and_interface_tests);
    tcase_add_test(tc, command_byte);
    tcase_add_test(tc, output_port_a20);
    tcase_add_test(tc, pulse_reset);
    tcase_add_test(tc, output_port_reset_bit);
    tcase_add_test(tc, keyboard_commands);
    tcase_add_test(tc, keyboard_irq);
    tcase_add_test(tc, aux_port);
    tcase_add_test(tc, empty_read_repeats_last);
    tcase_add_test(tc, queue_overflow_is_bounded);
    tcase_add_test(tc, hostile_bytes);
    tcase_add_test(tc, i8042_vmstate);
    tcase_add_test(tc, linux_psmouse_init);
    tcase_add_test(tc, mouse_packets);
    tcase_add_test(tc, mouse_gated);
    tcase_add_test(tc, mouse_remote_wrap_and_errors);
    tcase_add_test(tc, mouse_hostile_keeps_keyboard);
    tcase_add_test(tc, port92_a20_and_reset);
    tcase_add_test(tc, lines_go_where_wired);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
