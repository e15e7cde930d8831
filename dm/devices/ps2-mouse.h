/* PS/2 mouse on the i8042's auxiliary port (dm/devices/ps2-mouse.c): the
 * device side of the aux wire. The i8042 owns the state (its "i8042"
 * section embeds it through ps2_mouse_fields) and the byte queue toward
 * the guest; the mouse answers the bytes the guest sends with 0xd4 and
 * turns motion into 3-byte packets (4 with the IntelliMouse wheel). */
#ifndef XSDM_PS2_MOUSE_H
#define XSDM_PS2_MOUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/core/vmstate.h"

/* Commands the guest sends to the mouse. */
#define PS2M_CMD_SET_SCALE_11   0xe6
#define PS2M_CMD_SET_SCALE_21   0xe7
#define PS2M_CMD_SET_RES        0xe8    /* + parameter 0-3 */
#define PS2M_CMD_STATUS         0xe9    /* ACK + 3 status bytes */
#define PS2M_CMD_SET_STREAM     0xea
#define PS2M_CMD_READ_DATA      0xeb    /* ACK + one packet (remote mode's poll) */
#define PS2M_CMD_RESET_WRAP     0xec
#define PS2M_CMD_SET_WRAP       0xee
#define PS2M_CMD_SET_REMOTE     0xf0
#define PS2M_CMD_GET_ID         0xf2
#define PS2M_CMD_SET_RATE       0xf3    /* + parameter: samples per second */
#define PS2M_CMD_ENABLE         0xf4    /* data reporting on */
#define PS2M_CMD_DISABLE        0xf5    /* data reporting off */
#define PS2M_CMD_SET_DEFAULTS   0xf6
#define PS2M_CMD_RESEND         0xfe
#define PS2M_CMD_RESET          0xff    /* ACK, BAT passed, device id */

/* Replies */
#define PS2M_ACK                0xfa
#define PS2M_RESEND             0xfe    /* unknown command */
#define PS2M_ERROR              0xfc    /* a parameter out of range */
#define PS2M_BAT_OK             0xaa
#define PS2M_ID_STANDARD        0x00
#define PS2M_ID_WHEEL           0x03    /* IntelliMouse, after the 200/100/80 rate knock */

/* Movement packet byte 0 */
#define PS2M_PKT_LEFT           0x01
#define PS2M_PKT_RIGHT          0x02
#define PS2M_PKT_MIDDLE         0x04
#define PS2M_PKT_ALWAYS1        0x08
#define PS2M_PKT_XSIGN          0x10
#define PS2M_PKT_YSIGN          0x20
#define PS2M_PKT_XOVF           0x40
#define PS2M_PKT_YOVF           0x80
#define PS2M_BUTTONS            (PS2M_PKT_LEFT | PS2M_PKT_RIGHT | PS2M_PKT_MIDDLE)

/* Status byte 0 (reply to PS2M_CMD_STATUS) */
#define PS2M_STAT_RIGHT         0x01
#define PS2M_STAT_MIDDLE        0x02
#define PS2M_STAT_LEFT          0x04
#define PS2M_STAT_SCALE21       0x10
#define PS2M_STAT_ENABLED       0x20
#define PS2M_STAT_REMOTE        0x40

/* Defaults after reset / PS2M_CMD_SET_DEFAULTS */
#define PS2M_DEFAULT_RATE       100
#define PS2M_DEFAULT_RES        2       /* 4 counts/mm */
#define PS2M_MAX_RES            3

/* Motion not yet reported is summed, bounded here; beyond it counts are
 * lost and the next packet carries the overflow bit, as a real mouse's
 * counters do. One packet carries at most -256..255 per axis, the rest
 * waits for the next. */
#define PS2M_ACCUM_MAX          2048
#define PS2M_WHEEL_MAX          7       /* the wheel byte's 4-bit signed range */
#define PS2M_PACKET_MAX         4

struct ps2_mouse_state {
    uint8_t pending;            /* command awaiting its parameter: 0, SET_RES or SET_RATE */
    uint8_t reporting;          /* 0/1: data reporting enabled */
    uint8_t remote;             /* 0/1: remote mode (packets only on READ_DATA) */
    uint8_t wrap;               /* 0/1: wrap (echo) mode */
    uint8_t scale21;            /* 0/1: 2:1 scaling */
    uint8_t rate;               /* one of the standard sample rates */
    uint8_t res;                /* 0..PS2M_MAX_RES */
    uint8_t id;                 /* PS2M_ID_STANDARD or PS2M_ID_WHEEL */
    uint8_t knock;              /* 0..2: how far into the 200/100/80 rate knock */
    uint8_t buttons;            /* PS2M_BUTTONS held now */
    uint8_t reported;           /* PS2M_BUTTONS in the last packet sent */
    uint8_t ovf;                /* PS2M_PKT_XOVF/YOVF: counts lost since the last packet */
    uint16_t dx, dy, dz;        /* int16 two's complement: motion not yet sent */
};

/* How the mouse reaches the guest: room() whole bytes fit, put() queues one. */
struct ps2_port {
    unsigned (*room)(void *opaque);
    void (*put)(void *opaque, uint8_t byte);
    void *opaque;
};

void ps2_mouse_reset(struct ps2_mouse_state *m);
/* A byte the guest sent the mouse (i8042 command 0xd4). */
void ps2_mouse_write(struct ps2_mouse_state *m, uint8_t byte, const struct ps2_port *p);
/* Motion from the console: dx right, dy up (PS/2's sense), dz wheel
 * (negative: up); buttons: PS2M_BUTTONS held. Nothing is queued here. */
void ps2_mouse_move(struct ps2_mouse_state *m, int dx, int dy, int dz, unsigned buttons);
/* Queue one packet of pending motion if stream reporting is on and the
 * whole packet fits; true if one was queued. The i8042 calls it whenever
 * room may have appeared. */
bool ps2_mouse_flush(struct ps2_mouse_state *m, const struct ps2_port *p);
/* Bytes in one packet now (3, or 4 with the wheel). */
unsigned ps2_mouse_packet_len(const struct ps2_mouse_state *m);

/* The state's field table, for the enclosing device's section. */
extern const struct vm_field ps2_mouse_fields[];

#endif
