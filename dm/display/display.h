/* The display surface a graphics device fills and a console (the VNC
 * server, dm/display/vnc.c) reads, and the input sinks the console feeds. The device
 * owns the pixels; the console never writes them. The board (dm/board/machine.c)
 * connects a device's surface to the console and the console's input to the
 * i8042 (dm/display/keymap.h translates keysyms to scancodes).
 *
 * Pixels are 32 bits, x8r8g8b8 in host byte order: (r << 16) | (g << 8) | b.
 * A device whose guest mode has another format converts into this one (the
 * VGA's text and palette modes must render anyway). */
#ifndef XSDM_DISPLAY_H
#define XSDM_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest mode a device may set: bounds every buffer derived from a mode
 * (the console's output, the dirty bitmap). Bochs VBE's own limits. */
#define DISPLAY_MAX_WIDTH  2560
#define DISPLAY_MAX_HEIGHT 1600
#define DISPLAY_BPP        4          /* bytes per pixel */
#define DISPLAY_DIRTY_WORDS ((DISPLAY_MAX_HEIGHT + 63) / 64)

struct display_ops {
    /* Called by the console right before it reads the surface: the device
     * brings pixels and dirty rows up to date (e.g. asks Xen which VRAM
     * pages the guest wrote, renders text mode). May be NULL. */
    void (*refresh)(void *dev);
};

/* Told when the device changes what the console shows. */
struct display_listener {
    void (*mode_changed)(void *opaque);   /* size or pixel pointer changed */
    void *opaque;
};

struct display {
    unsigned width, height;               /* 0x0: no picture (device off) */
    size_t stride;                        /* bytes per row, >= width * DISPLAY_BPP */
    const uint8_t *pixels;                /* height * stride bytes, owned by the device */
    uint64_t dirty[DISPLAY_DIRTY_WORDS];  /* one bit per row written since the console last looked */
    const struct display_ops *ops;
    void *dev;
    struct display_listener listener;
};

/* The device side. display_set_mode() validates (size within the maximum,
 * stride large enough, pixels non-NULL unless 0x0), marks every row dirty
 * and tells the listener; returns 0 or -1 (the surface is then 0x0). */
void display_init(struct display *d, const struct display_ops *ops, void *dev);
int display_set_mode(struct display *d, unsigned width, unsigned height, size_t stride,
                     const uint8_t *pixels);
void display_mark_dirty(struct display *d, unsigned y, unsigned rows);
void display_mark_all(struct display *d);

/* The console side: the listener (one; NULL detaches), and taking the dirty
 * rows (copied into out, cleared in d). */
void display_set_listener(struct display *d, const struct display_listener *l);
void display_take_dirty(struct display *d, uint64_t out[DISPLAY_DIRTY_WORDS]);
static inline bool display_row_dirty(const uint64_t *bits, unsigned y)
{
    return y < DISPLAY_MAX_HEIGHT && (bits[y / 64] >> (y % 64)) & 1;
}

/* Input the console delivers. keysym: an X11 keysym (RFB KeyEvent); x, y:
 * absolute position on the surface; buttons: bit 0 left, 1 middle, 2 right,
 * 3/4 wheel up/down (RFB PointerEvent). The board routes keys through
 * keymap_scancodes() to the i8042 and pointer motion to the PS/2 mouse. */
#define INPUT_BTN_LEFT       0x01
#define INPUT_BTN_MIDDLE     0x02
#define INPUT_BTN_RIGHT      0x04
#define INPUT_BTN_WHEEL_UP   0x08     /* pressed once per notch */
#define INPUT_BTN_WHEEL_DOWN 0x10

struct input_sink {
    void (*key)(void *opaque, uint32_t keysym, bool down);
    void (*pointer)(void *opaque, unsigned x, unsigned y, unsigned buttons);
    void *opaque;
};

#endif
