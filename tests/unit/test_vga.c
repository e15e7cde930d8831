/* The standard VGA (dm/devices/vga.c). In process, on a bare fake machine: text
 * mode from a font loaded into plane 2 and a character written at 0xb8000,
 * VBE modes and the linear framebuffer, a BAR move, dirty rows, the
 * mode-change notice and the DesktopSize a raw RFB client then receives
 * from the VNC server (and a current size in ServerInit), hostile register
 * values, saved state. Through the DM (qtest + -vnc): libxl's default
 * `-device cirrus-vga,vgamem_mb=8` served as the standard VGA at 00:03.0
 * behind the platform device at 00:02.0, query-vnc, the same text screen seen
 * by a real VNC client (Net::VNC), and a key typed on the i8042. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/core/iobus.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/vga.h"
#include "dm/display/display.h"
#include "dm/display/vnc.h"
#include "dm/state/migration.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/libqtest.h"
#include "tests/lib/qtest_restore.h"
#include "toolstack/qmp-client.h"

#ifndef SRC_DIR
#define SRC_DIR "."
#endif

#define SLOT     2
#define LFB_A    0xe0000000u
#define LFB_B    0xd0000000u
#define RED      0xff0000u
#define GREEN    0x00ff00u
#define BLACK    0x000000u

/* ---- a guest that can drive either the in-process device or the DM ---- */

struct guest {
    void (*outb)(void *o, uint16_t port, uint8_t v);
    void (*outw)(void *o, uint16_t port, uint16_t v);
    uint8_t (*inb)(void *o, uint16_t port);
    void (*writeb)(void *o, uint64_t addr, uint8_t v);
    void *o;
};

static void sr(const struct guest *g, uint8_t i, uint8_t v) { g->outb(g->o, 0x3c4, i); g->outb(g->o, 0x3c5, v); }
static void gr(const struct guest *g, uint8_t i, uint8_t v) { g->outb(g->o, 0x3ce, i); g->outb(g->o, 0x3cf, v); }
static void cr(const struct guest *g, uint8_t i, uint8_t v) { g->outb(g->o, 0x3d4, i); g->outb(g->o, 0x3d5, v); }
static void vbe(const struct guest *g, uint16_t i, uint16_t v) { g->outw(g->o, 0x1ce, i); g->outw(g->o, 0x1cf, v); }

static void dac(const struct guest *g, uint8_t i, uint8_t r, uint8_t gg, uint8_t b)
{
    g->outb(g->o, 0x3c8, i);
    g->outb(g->o, 0x3c9, r);
    g->outb(g->o, 0x3c9, gg);
    g->outb(g->o, 0x3c9, b);
}

/* 80x25 text, 8x16 cells (640x400), identity attribute palette, DAC 4 red
 * 2 green; glyph 'A' = columns 0 and 7 on every line, 'B' = top half full;
 * 'A' red on green at (0,0), 'B' green on black at row 1 column 1. */
static void text_screen(const struct guest *g)
{
    unsigned i, r;

    g->outb(g->o, 0x3c2, 0x67);                 /* colour: CRTC at 0x3d4 */
    cr(g, 0x11, 0x00);                          /* unprotect CR0-7 */
    cr(g, 0x01, 79);
    cr(g, 0x07, 0x02);                          /* vertical display end bit 8 */
    cr(g, 0x09, 0x0f);                          /* 16 scan lines per row */
    cr(g, 0x12, 0x8f);                          /* 400 lines */
    cr(g, 0x13, 40);
    cr(g, 0x0a, 0x20);                          /* cursor off */
    cr(g, 0x0c, 0);
    cr(g, 0x0d, 0);
    (void)g->inb(g->o, 0x3da);                  /* attribute flip-flop to index */
    for (i = 0; i < 16; i++) {
        g->outb(g->o, 0x3c0, (uint8_t)i);
        g->outb(g->o, 0x3c0, (uint8_t)i);
    }
    g->outb(g->o, 0x3c0, 0x10);
    g->outb(g->o, 0x3c0, 0x00);
    g->outb(g->o, 0x3c0, 0x12);
    g->outb(g->o, 0x3c0, 0x0f);
    g->outb(g->o, 0x3c0, 0x20);                 /* palette address source: display */
    dac(g, 0, 0, 0, 0);
    dac(g, 2, 0, 63, 0);
    dac(g, 4, 63, 0, 0);
    /* The font: plane 2, sequential addressing, as the VGA BIOS loads it. */
    sr(g, 0x02, 0x04);
    sr(g, 0x04, 0x06);
    gr(g, 0x04, 0x02);
    gr(g, 0x05, 0x00);
    gr(g, 0x06, 0x04);
    gr(g, 0x08, 0xff);
    for (r = 0; r < 16; r++) {
        g->writeb(g->o, 0xa0000 + 'A' * 32 + r, 0x81);
        g->writeb(g->o, 0xa0000 + 'B' * 32 + r, r < 8 ? 0xff : 0x00);
    }
    /* Back to text: odd/even, planes 0 and 1, window at 0xb8000. */
    sr(g, 0x01, 0x01);                          /* 8-dot characters */
    sr(g, 0x02, 0x03);
    sr(g, 0x03, 0x00);
    sr(g, 0x04, 0x02);
    gr(g, 0x04, 0x00);
    gr(g, 0x05, 0x10);
    gr(g, 0x06, 0x0e);
    g->writeb(g->o, 0xb8000, 'A');
    g->writeb(g->o, 0xb8001, 0x24);
    g->writeb(g->o, 0xb8000 + 2 * 81, 'B');
    g->writeb(g->o, 0xb8000 + 2 * 81 + 1, 0x02);
}

/* ---- in process ---------------------------------------------------------- */

static struct fake_machine fm;
static struct pci_bus *bus;
static struct vga *vga;
static struct display *disp;
static int mode_changes;

static void f_outb(void *o, uint16_t p, uint8_t v) { io_write(&fm.m.bus, IO_PIO, p, v, 1); }
static void f_outw(void *o, uint16_t p, uint16_t v) { io_write(&fm.m.bus, IO_PIO, p, v, 2); }
static uint8_t f_inb(void *o, uint16_t p) { return (uint8_t)io_read(&fm.m.bus, IO_PIO, p, 1); }
static void f_writeb(void *o, uint64_t a, uint8_t v) { io_write(&fm.m.bus, IO_MMIO, a, v, 1); }
static const struct guest fg = { f_outb, f_outw, f_inb, f_writeb, NULL };

static void on_mode(void *opaque)
{
    mode_changes++;
}

static void setup(void)
{
    static const struct display_listener l = { on_mode, NULL };

    fake_machine_init(&fm, NULL, 0);
    bus = pci_bus_new(&fm.m.bus, (struct irq_line){ 0 }, (struct irq_line){ 0 });
    ck_assert_ptr_nonnull(bus);
    vga = vga_new(bus, &fm.m.bus, SLOT, 8, (const uint8_t *)"\x55\xaa\x01rom", 6, NULL);
    ck_assert_ptr_nonnull(vga);
    disp = vga_display(vga);
    display_set_listener(disp, &l);
    mode_changes = 0;
}

static void teardown(void)
{
    pci_bus_unmap_all(bus);
    vga_free(vga);
    pci_bus_free(bus);
    vmstate_unregister_all();
}

static void refresh(void)
{
    disp->ops->refresh(disp->dev);
}

static uint32_t px(unsigned x, unsigned y)
{
    ck_assert_uint_lt(x, disp->width);
    ck_assert_uint_lt(y, disp->height);
    return *(const uint32_t *)(disp->pixels + y * disp->stride + x * 4) & 0xffffff;
}

static void map_bars(uint32_t lfb)
{
    pci_config_write(bus, SLOT, 0, 0x10, lfb, 4);
    pci_config_write(bus, SLOT, 0, 0x18, 0xe1000000u, 4);
    pci_config_write(bus, SLOT, 0, 0x04, 0x0003, 2);
}

START_TEST(pci_identity)
{
    ck_assert_uint_eq(pci_config_read(bus, SLOT, 0, 0x00, 4), 0x11111234u);
    ck_assert_uint_eq(pci_config_read(bus, SLOT, 0, 0x08, 4) >> 8, 0x030000u);
    /* BAR0: 8 MiB prefetchable memory; BAR2: 4 KiB MMIO; ROM BAR sized 2 KiB. */
    pci_config_write(bus, SLOT, 0, 0x10, 0xffffffffu, 4);
    ck_assert_uint_eq(pci_config_read(bus, SLOT, 0, 0x10, 4), 0xff800008u);
    pci_config_write(bus, SLOT, 0, 0x18, 0xffffffffu, 4);
    ck_assert_uint_eq(pci_config_read(bus, SLOT, 0, 0x18, 4), 0xfffff000u);
    pci_config_write(bus, SLOT, 0, 0x30, 0xffffffffu, 4);
    ck_assert_uint_eq(pci_config_read(bus, SLOT, 0, 0x30, 4), 0xfffff801u);
    /* The ROM decodes only with its enable bit and memory decoding on. */
    pci_config_write(bus, SLOT, 0, 0x30, 0xe2000000u, 4);
    pci_config_write(bus, SLOT, 0, 0x04, 0x0002, 2);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xe2000000u, 2), 0xffff);
    pci_config_write(bus, SLOT, 0, 0x30, 0xe2000001u, 4);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xe2000000u, 2), 0xaa55);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xe2000000u + 6, 1), 0);
    /* BAR2: the VBE registers and QEMU's extended registers. */
    map_bars(LFB_A);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xe1000500u, 2), VBE_ID5);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xe1000600u, 4), 8);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xe1000500u + 2 * VBE_VIDEO_MEMORY_64K, 2), 128);
}
END_TEST

START_TEST(text_mode_glyphs)
{
    text_screen(&fg);
    /* The memory model reads back what odd/even wrote. */
    ck_assert_uint_eq(f_inb(NULL, 0x3da) & 0, 0);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xb8000, 1), 'A');
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xb8001, 1), 0x24);
    refresh();
    ck_assert_uint_eq(disp->width, 640);
    ck_assert_uint_eq(disp->height, 400);
    ck_assert_uint_eq(px(0, 0), RED);           /* 'A' column 0: foreground */
    ck_assert_uint_eq(px(1, 0), GREEN);         /* background */
    ck_assert_uint_eq(px(7, 15), RED);          /* column 7, last line */
    ck_assert_uint_eq(px(8 + 3, 16 + 2), GREEN);    /* 'B' top half */
    ck_assert_uint_eq(px(8 + 3, 16 + 12), BLACK);   /* 'B' bottom half */
    ck_assert_uint_eq(px(100, 300), BLACK);
    /* The cursor, on, at cell 81: a full block in the attribute's foreground. */
    cr(&fg, 0x0a, 0x0e);
    cr(&fg, 0x0b, 0x0f);
    cr(&fg, 0x0e, 0);
    cr(&fg, 0x0f, 81);
    refresh();
    ck_assert_uint_eq(px(8 + 3, 16 + 14), GREEN);
    ck_assert_uint_eq(px(8 + 3, 16 + 12), BLACK);
}
END_TEST

/* 640x480 16 colours (mode 0x12's registers), then 320x200 256 colours (0x13's). */
START_TEST(planar_and_chain4)
{
    unsigned i;

    f_outb(NULL, 0x3c2, 0xe3);
    cr(&fg, 0x11, 0x00);
    cr(&fg, 0x01, 79);
    cr(&fg, 0x07, 0x02);
    cr(&fg, 0x09, 0x40);
    cr(&fg, 0x12, 0xdf);
    cr(&fg, 0x13, 40);
    (void)f_inb(NULL, 0x3da);
    for (i = 0; i < 16; i++) {
        f_outb(NULL, 0x3c0, (uint8_t)i);
        f_outb(NULL, 0x3c0, (uint8_t)i);
    }
    f_outb(NULL, 0x3c0, 0x10);
    f_outb(NULL, 0x3c0, 0x01);
    f_outb(NULL, 0x3c0, 0x12);
    f_outb(NULL, 0x3c0, 0x0f);
    f_outb(NULL, 0x3c0, 0x20);
    dac(&fg, 2, 0, 63, 0);
    dac(&fg, 4, 63, 0, 0);
    sr(&fg, 0x02, 0x0f);
    sr(&fg, 0x04, 0x06);
    gr(&fg, 0x06, 0x05);
    /* Write mode 2, bit mask on the leftmost pixel: colour 4 there only. */
    gr(&fg, 0x05, 0x02);
    gr(&fg, 0x08, 0x80);
    (void)io_read(&fm.m.bus, IO_MMIO, 0xa0000, 1);           /* latches */
    io_write(&fm.m.bus, IO_MMIO, 0xa0000, 4, 1);
    /* Write mode 0 with set/reset on every plane: 8 pixels of colour 2. */
    gr(&fg, 0x05, 0x00);
    gr(&fg, 0x00, 0x02);
    gr(&fg, 0x01, 0x0f);
    gr(&fg, 0x08, 0xff);
    io_write(&fm.m.bus, IO_MMIO, 0xa0001, 0, 1);
    refresh();
    ck_assert_uint_eq(disp->width, 640);
    ck_assert_uint_eq(disp->height, 480);
    ck_assert_uint_eq(px(0, 0), RED);
    ck_assert_uint_eq(px(1, 0), BLACK);
    ck_assert_uint_eq(px(8, 0), GREEN);
    ck_assert_uint_eq(px(15, 0), GREEN);
    ck_assert_uint_eq(px(16, 0), BLACK);
    /* Read mode 1: which pixels have colour 2. */
    gr(&fg, 0x02, 0x02);
    gr(&fg, 0x07, 0x0f);
    gr(&fg, 0x05, 0x08);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xa0001, 1), 0xff);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xa0000, 1), 0x00);
    /* Chain-4, 256 colours, line doubling: 320x200, byte = pixel. */
    sr(&fg, 0x04, 0x0e);
    gr(&fg, 0x05, 0x40);
    cr(&fg, 0x09, 0x41);
    cr(&fg, 0x12, 0x8f);
    cr(&fg, 0x07, 0x1f);
    io_write(&fm.m.bus, IO_MMIO, 0xa0000 + 320 + 2, 4, 1);
    refresh();
    ck_assert_uint_eq(disp->width, 320);
    ck_assert_uint_eq(disp->height, 200);
    ck_assert_uint_eq(px(2, 1), RED);
    ck_assert_uint_eq(px(3, 1), BLACK);
}
END_TEST

START_TEST(dirty_rows)
{
    uint64_t d[DISPLAY_DIRTY_WORDS];
    unsigned y, n = 0;

    text_screen(&fg);
    refresh();
    display_take_dirty(disp, d);
    refresh();                                   /* nothing changed: nothing dirty */
    display_take_dirty(disp, d);
    for (y = 0; y < DISPLAY_MAX_HEIGHT; y++)
        n += display_row_dirty(d, y);
    ck_assert_uint_eq(n, 0);
    io_write(&fm.m.bus, IO_MMIO, 0xb8000 + 2 * 160, 'A', 1);     /* row 2, column 0 */
    io_write(&fm.m.bus, IO_MMIO, 0xb8000 + 2 * 160 + 1, 0x24, 1);
    refresh();
    display_take_dirty(disp, d);
    for (y = 0; y < DISPLAY_MAX_HEIGHT; y++)
        if (display_row_dirty(d, y)) {
            ck_assert_uint_ge(y, 32);
            ck_assert_uint_lt(y, 48);
            n++;
        }
    ck_assert_uint_eq(n, 16);                    /* the glyph's 16 lines */
}
END_TEST

static uint32_t pattern(unsigned x, unsigned y)
{
    return ((x * 4) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | ((x ^ y) & 0xff);
}

static void vbe_mode(unsigned w, unsigned h, unsigned bpp)
{
    vbe(&fg, VBE_ENABLE, 0);
    vbe(&fg, VBE_XRES, (uint16_t)w);
    vbe(&fg, VBE_YRES, (uint16_t)h);
    vbe(&fg, VBE_BPP, (uint16_t)bpp);
    vbe(&fg, VBE_ENABLE, VBE_EN_ENABLED | VBE_EN_LFB);
}

START_TEST(vbe_lfb_and_bar_move)
{
    unsigned x, y;

    map_bars(LFB_A);
    vbe_mode(64, 48, 32);
    for (y = 0; y < 48; y++)
        for (x = 0; x < 64; x++)
            io_write(&fm.m.bus, IO_MMIO, LFB_A + (y * 64 + x) * 4, pattern(x, y), 4);
    refresh();
    ck_assert_uint_eq(disp->width, 64);
    ck_assert_uint_eq(disp->height, 48);
    for (y = 0; y < 48; y += 7)
        for (x = 0; x < 64; x += 5)
            ck_assert_uint_eq(px(x, y), pattern(x, y));
    /* The guest moves BAR0: the old address decodes nothing, the new one the same VRAM. */
    pci_config_write(bus, SLOT, 0, 0x10, LFB_B, 4);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, LFB_A + 4, 4), 0xffffffffu);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, LFB_B + 4, 4), pattern(1, 0));
    io_write(&fm.m.bus, IO_MMIO, LFB_B + (10 * 64 + 3) * 4, 0x123456, 4);
    refresh();
    ck_assert_uint_eq(px(3, 10), 0x123456);
    /* 16 bpp: 5:6:5 into the 32-bit surface; pure red and pure green. */
    vbe_mode(64, 48, 16);
    io_write(&fm.m.bus, IO_MMIO, LFB_B, 0xf800, 2);
    io_write(&fm.m.bus, IO_MMIO, LFB_B + 2, 0x07e0, 2);
    refresh();
    ck_assert_uint_eq(px(0, 0), RED);
    ck_assert_uint_eq(px(1, 0), GREEN);
    /* 8 bpp through the DAC, and the banked window at 0xa0000. */
    vbe_mode(64, 48, 8);
    dac(&fg, 7, 63, 0, 0);
    io_write(&fm.m.bus, IO_MMIO, 0xa0000 + 65, 7, 1);
    refresh();
    ck_assert_uint_eq(px(1, 1), RED);
    ck_assert_uint_eq(px(0, 1), BLACK);
}
END_TEST

/* VRAM the accelerator provides (guest memory under Xen): the device works on
 * that buffer, tells the bus listener (the Xen accelerator) the framebuffer
 * BAR is backed by it wherever the guest maps it, and never frees it. A write
 * straight into the buffer (the guest through the BAR, no trap) shows on the
 * next refresh. */
static struct { uint64_t base; const void *ram; int maps, unmaps; } seen;

/* A fake accelerator's guest-memory VRAM: `fake_vram` at gfn fake_gfn
 * (NULL from vram_open while "incoming": found at load), and the ranges
 * reported modified. */
static uint8_t *fake_vram;
static bool fake_incoming;
static uint64_t fake_gfn, fake_mod_off, fake_mod_len;
static int fake_mods;

static int fake_vram_open(struct accel *a, size_t size, void **mem)
{
    *mem = fake_incoming ? NULL : fake_vram;
    return 0;
}

static void *fake_vram_find(struct accel *a, uint64_t gfn, char *err, size_t errlen)
{
    if (gfn != fake_gfn) {
        snprintf(err, errlen, "no VRAM pages at gfn 0x%llx", (unsigned long long)gfn);
        return NULL;
    }
    return fake_vram;
}

static uint64_t fake_vram_gfn(struct accel *a) { return fake_gfn; }

static void fake_vram_modified(struct accel *a, uint64_t off, uint64_t len)
{
    fake_mod_off = off;
    fake_mod_len = len;
    fake_mods++;
}

/* The VGA gone (its VRAM is the caller's to free), on a fresh bus that does not list it. */
static void drop_vga(void)
{
    pci_bus_unmap_all(bus);
    vga_free(vga);
    vga = NULL;
    pci_bus_free(bus);
    vmstate_unregister_all();
    bus = pci_bus_new(&fm.m.bus, (struct irq_line){ 0 }, (struct irq_line){ 0 });
    ck_assert_ptr_nonnull(bus);
}

/* A new VGA on the fake accelerator's VRAM (its bus and sections anew). */
static void vga_on_fake_vram(uint8_t *mem, bool incoming)
{
    if (vga)
        pci_bus_unmap_all(bus);
    vga_free(vga);
    pci_bus_free(bus);
    vmstate_unregister_all();
    fake_vram = mem;
    fake_incoming = incoming;
    fake_mods = 0;
    fm.ops.vram_open = fake_vram_open;
    fm.ops.vram_find = fake_vram_find;
    fm.ops.vram_gfn = fake_vram_gfn;
    fm.ops.vram_modified = fake_vram_modified;
    bus = pci_bus_new(&fm.m.bus, (struct irq_line){ 0 }, (struct irq_line){ 0 });
    ck_assert_ptr_nonnull(bus);
    vga = vga_new(bus, &fm.m.bus, SLOT, 8, NULL, 0, &fm.acc);
    ck_assert_ptr_nonnull(vga);
    disp = vga_display(vga);
}
static void seen_map(void *o, const struct io_region *r)
{
    if (r->ram) { seen.base = r->base; seen.ram = r->ram; seen.maps++; }
}
static void seen_unmap(void *o, const struct io_region *r)
{
    if (r->ram) seen.unmaps++;
}

START_TEST(accel_vram_is_used)
{
    static const struct io_listener l = { seen_map, seen_unmap, NULL };
    uint8_t *mem = calloc(1, 8u << 20);
    unsigned x, y;

    ck_assert_ptr_nonnull(mem);
    vga_on_fake_vram(mem, false);
    memset(&seen, 0, sizeof(seen));
    iobus_set_listener(&fm.m.bus, &l);
    text_screen(&fg);
    ck_assert_uint_eq(mem[0], 'A');             /* plane 0 of VGA address 0 */
    ck_assert_uint_eq(mem[1], 0x24);            /* its attribute, plane 1 */
    map_bars(LFB_A);
    ck_assert_int_eq(seen.maps, 1);
    ck_assert_ptr_eq(seen.ram, mem);
    ck_assert_uint_eq(seen.base, LFB_A);
    pci_config_write(bus, SLOT, 0, 0x10, LFB_B, 4);
    ck_assert_int_eq(seen.unmaps, 1);
    ck_assert_int_eq(seen.maps, 2);
    ck_assert_uint_eq(seen.base, LFB_B);
    vbe_mode(64, 48, 32);
    for (y = 0; y < 48; y++)
        for (x = 0; x < 64; x++) {
            uint32_t p = pattern(x, y);

            memcpy(mem + (y * 64 + x) * 4, &p, 4);
        }
    refresh();
    ck_assert_uint_eq(px(5, 7), pattern(5, 7));
    ck_assert_uint_eq(px(63, 47), pattern(63, 47));
    iobus_set_listener(&fm.m.bus, NULL);
    pci_bus_unmap_all(bus);
    vga_free(vga);
    vga = NULL;
    pci_bus_free(bus);                          /* it still lists the freed device */
    bus = pci_bus_new(&fm.m.bus, (struct irq_line){ 0 }, (struct irq_line){ 0 });
    mem[0] = 1;                                 /* still ours: not freed by the device */
    free(mem);
}
END_TEST

START_TEST(mode_change_notice)
{
    map_bars(LFB_A);
    vbe_mode(64, 48, 32);
    refresh();
    ck_assert_int_eq(mode_changes, 1);
    refresh();
    ck_assert_int_eq(mode_changes, 1);            /* same mode: no notice */
    vbe_mode(128, 96, 32);
    refresh();
    ck_assert_int_eq(mode_changes, 2);
    ck_assert_uint_eq(disp->width, 128);
    ck_assert_uint_eq(disp->height, 96);
    vbe(&fg, VBE_ENABLE, 0);                      /* back to an unprogrammed VGA: no picture */
    refresh();
    ck_assert_int_eq(mode_changes, 3);
    ck_assert_uint_eq(disp->width, 0);
}
END_TEST

/* ---- DesktopSize through the VNC server (in process, raw RFB client) ---- */

static struct loop *vl;

/* n bytes from the server, pumping its loop meanwhile. */
static void rfb_recv(int fd, void *buf, size_t n)
{
    size_t have = 0;
    int rounds = 0;

    while (have < n) {
        ssize_t r = recv(fd, (uint8_t *)buf + have, n - have, MSG_DONTWAIT);

        if (r > 0) {
            have += (size_t)r;
            continue;
        }
        ck_assert_msg(rounds++ < 200, "waited for %zu of %zu bytes", have, n);
        loop_once(vl, 10);
    }
}

static void rfb_send(int fd, const void *buf, size_t n)
{
    ck_assert_int_eq(send(fd, buf, n, 0), (ssize_t)n);
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* One FramebufferUpdate; its first rectangle's size and encoding; skips raw pixel data. */
static void rfb_update(int fd, unsigned bpp, unsigned *w, unsigned *h, int32_t *enc)
{
    static const uint8_t req[] = { 3, 1, 0, 0, 0, 0, 0x0a, 0, 0x0a, 0 };   /* incremental, 2560x2560 */
    uint8_t hdr[4], r[12], *skip;
    unsigned n, i;

    rfb_send(fd, req, sizeof(req));
    rfb_recv(fd, hdr, 4);
    ck_assert_uint_eq(hdr[0], 0);
    n = be16(hdr + 2);
    ck_assert_uint_ge(n, 1);
    for (i = 0; i < n; i++) {
        int32_t e;

        rfb_recv(fd, r, 12);
        e = (int32_t)((uint32_t)r[8] << 24 | (uint32_t)r[9] << 16 | (uint32_t)r[10] << 8 | r[11]);
        if (i == 0) {
            *w = be16(r + 4);
            *h = be16(r + 6);
            *enc = e;
        }
        if (e == 0) {
            size_t len = (size_t)be16(r + 4) * be16(r + 6) * (bpp / 8);

            skip = malloc(len ? len : 1);
            rfb_recv(fd, skip, len);
            free(skip);
        }
    }
}

START_TEST(desktop_size_on_mode_change)
{
    static const uint8_t enc[] = { 2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21 };  /* raw, DesktopSize */
    struct vnc_server *srv;
    char err[256];
    uint8_t buf[64], one = 1;
    unsigned w = 0, h = 0, bpp;
    int32_t e = 0;
    int sv[2];

    vl = loop_new();
    ck_assert_ptr_nonnull(vl);
    srv = vnc_server_new(vl, -1, false, "vga", err, sizeof(err));
    ck_assert_ptr_nonnull(srv);
    vnc_server_attach_display(srv, disp);
    map_bars(LFB_A);
    vbe_mode(64, 48, 32);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);     /* as an accepted client */
    ck_assert_int_eq(vnc_server_attach_client(srv, sv[0]), 0);
    rfb_recv(sv[1], buf, 12);
    rfb_send(sv[1], "RFB 003.008\n", 12);
    rfb_recv(sv[1], buf, 2);                        /* one security type: None */
    ck_assert_uint_eq(buf[1], 1);
    rfb_send(sv[1], &one, 1);
    rfb_recv(sv[1], buf, 4);                        /* SecurityResult OK */
    rfb_send(sv[1], &one, 1);                       /* ClientInit, shared */
    rfb_recv(sv[1], buf, 24);
    ck_assert_uint_eq(be16(buf), 64);               /* ServerInit: the VBE mode already */
    ck_assert_uint_eq(be16(buf + 2), 48);
    bpp = buf[4];
    rfb_recv(sv[1], buf + 24, (size_t)buf[23]);     /* the name (short) */
    rfb_send(sv[1], enc, sizeof(enc));
    rfb_update(sv[1], bpp, &w, &h, &e);
    ck_assert_int_eq(e, 0);
    /* The guest sets another mode: the next update starts with DesktopSize. */
    vbe_mode(128, 96, 32);
    rfb_update(sv[1], bpp, &w, &h, &e);
    ck_assert_int_eq(e, -223);
    ck_assert_uint_eq(w, 128);
    ck_assert_uint_eq(h, 96);
    close(sv[1]);
    vnc_server_attach_display(srv, NULL);
    vnc_server_free(srv);
    loop_free(vl);
}
END_TEST

static uint16_t vbe_get(uint16_t i)
{
    f_outw(NULL, 0x1ce, i);
    return (uint16_t)io_read(&fm.m.bus, IO_PIO, 0x1cf, 2);
}

START_TEST(hostile_registers)
{
    unsigned i;

    map_bars(LFB_A);
    /* Huge resolution and depth: clamped to the maximum and to VRAM (8 MiB). */
    vbe(&fg, VBE_XRES, 0xffff);
    vbe(&fg, VBE_YRES, 0xffff);
    vbe(&fg, VBE_BPP, 0xffff);
    vbe(&fg, VBE_ENABLE, VBE_EN_ENABLED | VBE_EN_LFB);
    ck_assert_uint_le(vbe_get(VBE_XRES), DISPLAY_MAX_WIDTH);
    ck_assert_uint_le(vbe_get(VBE_YRES), DISPLAY_MAX_HEIGHT);
    ck_assert_uint_eq(vbe_get(VBE_BPP), 8);
    vbe(&fg, VBE_BPP, 32);
    ck_assert_uint_le((uint64_t)vbe_get(VBE_XRES) * 4 * vbe_get(VBE_YRES), 8u << 20);
    /* A virtual width past VRAM, offsets past the end. */
    vbe(&fg, VBE_VIRT_WIDTH, 0xffff);
    vbe(&fg, VBE_X_OFFSET, 0xffff);
    vbe(&fg, VBE_Y_OFFSET, 0xffff);
    ck_assert_uint_le(((uint64_t)vbe_get(VBE_Y_OFFSET) + vbe_get(VBE_YRES)) *
                      vbe_get(VBE_VIRT_WIDTH) * 4, 8u << 20);
    refresh();
    ck_assert_uint_le(disp->width, DISPLAY_MAX_WIDTH);
    /* A bank past VRAM is refused; one inside is kept. */
    vbe(&fg, VBE_BANK, 5);
    vbe(&fg, VBE_BANK, 128);
    ck_assert_uint_eq(vbe_get(VBE_BANK), 5);
    vbe(&fg, VBE_BANK, 0xffff);
    ck_assert_uint_eq(vbe_get(VBE_BANK), 5);
    /* Indices past every register file; the read-only registers stay. */
    ck_assert_uint_eq(vbe_get(0xffff), 0);
    vbe(&fg, VBE_VIDEO_MEMORY_64K, 1);
    ck_assert_uint_eq(vbe_get(VBE_VIDEO_MEMORY_64K), 128);
    vbe(&fg, VBE_ENABLE, 0);
    for (i = 0; i < 256; i++) {
        sr(&fg, (uint8_t)i, 0xff);
        gr(&fg, (uint8_t)i, 0xff);
        cr(&fg, (uint8_t)i, 0xff);
        f_outb(NULL, 0x3c0, (uint8_t)i);
        f_outb(NULL, 0x3c8, (uint8_t)i);
        f_outb(NULL, 0x3c9, 0xff);
        (void)f_inb(NULL, 0x3c9);
        (void)f_inb(NULL, 0x3c1);
        (void)f_inb(NULL, 0x3d5);
    }
    /* Every memory map and mode with all bits set: the window stays inside VRAM. */
    for (i = 0; i < 0x20000; i += 0x1001) {
        io_write(&fm.m.bus, IO_MMIO, 0xa0000 + i, 0xff, 1);
        (void)io_read(&fm.m.bus, IO_MMIO, 0xa0000 + i, 4);
    }
    refresh();
    ck_assert_uint_le(disp->width, DISPLAY_MAX_WIDTH);
    ck_assert_uint_le(disp->height, DISPLAY_MAX_HEIGHT);
}
END_TEST

/* A stream carrying hostile VBE values is clamped on load like a guest write. */
START_TEST(state_round_trip)
{
    const struct vmstate_dev *d = vmstate_find("vga");
    uint8_t buf[VMSTATE_MAX_SECTION];
    struct vmwriter w = { buf, 0, sizeof(buf), false };
    struct vmreader r;
    void *staging;
    char err[256];
    long off;
    size_t sz;

    ck_assert_ptr_nonnull(d);
    map_bars(LFB_A);
    vbe_mode(64, 48, 32);
    vmstate_save(d, &w);
    ck_assert(!w.err);
    ck_assert_uint_eq(w.len, 884);                  /* docs/state-format.md */
    off = vmstate_field_at(d, buf, w.len, "vbe[1]", &sz);      /* XRES */
    ck_assert_int_ge(off, 0);
    buf[off] = 0xff;
    buf[off + 1] = 0xff;
    staging = malloc(d->state_size);
    memcpy(staging, d->state, d->state_size);
    r = (struct vmreader){ buf, w.len, 0, false };
    ck_assert_int_eq(vmstate_load(d, staging, &r, err, sizeof(err)), 0);
    memcpy(d->state, staging, d->state_size);
    d->post_load(d->opaque);
    ck_assert_uint_le(vbe_get(VBE_XRES), DISPLAY_MAX_WIDTH);
    refresh();
    ck_assert_uint_le(disp->width, DISPLAY_MAX_WIDTH);
    /* Another VRAM size is refused. */
    off = vmstate_field_at(d, buf, w.len, "vram_size", &sz);
    buf[off + 2] ^= 1;
    memcpy(staging, d->state, d->state_size);
    r = (struct vmreader){ buf, w.len, 0, false };
    ck_assert_int_eq(vmstate_load(d, staging, &r, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "VRAM"));
    free(staging);
}
END_TEST

/* Writes the DM makes into guest-memory VRAM are reported with the VRAM
 * offsets they touched (the accelerator turns them into gfns for Xen's
 * log-dirty): a banked window write, a planar write, a mode-set clear. */
START_TEST(vram_writes_reported)
{
    uint8_t *mem = calloc(1, 8u << 20);

    ck_assert_ptr_nonnull(mem);
    vga_on_fake_vram(mem, false);
    map_bars(LFB_A);
    vbe_mode(64, 48, 8);
    ck_assert_int_eq(fake_mods, 1);                 /* the mode set cleared 64 x 48 bytes */
    ck_assert_uint_eq(fake_mod_off, 0);
    ck_assert_uint_eq(fake_mod_len, 64 * 48);
    vbe(&fg, VBE_BANK, 2);
    io_write(&fm.m.bus, IO_MMIO, 0xa1004, 0x11223344u, 4);
    ck_assert_int_eq(fake_mods, 2);                 /* one report per access */
    ck_assert_uint_eq(fake_mod_off, 0x21004);
    ck_assert_uint_eq(fake_mod_len, 4);
    ck_assert_uint_eq(mem[0x21004], 0x44);
    /* Planar (mode 0x12's memory model): VGA address 0x10 is VRAM bytes 0x40-0x43. */
    vbe(&fg, VBE_ENABLE, 0);
    sr(&fg, 0x02, 0x0f);
    sr(&fg, 0x04, 0x06);
    gr(&fg, 0x05, 0x00);
    gr(&fg, 0x06, 0x05);
    gr(&fg, 0x08, 0xff);
    io_write(&fm.m.bus, IO_MMIO, 0xa0010, 0xff, 1);
    ck_assert_int_eq(fake_mods, 3);
    ck_assert_uint_eq(fake_mod_off, 0x40);
    ck_assert_uint_eq(fake_mod_len, 4);
    /* A write the memory map does not decode reports nothing. */
    gr(&fg, 0x06, 0x0d);                             /* 0xb8000-0xbffff only */
    io_write(&fm.m.bus, IO_MMIO, 0xa0010, 0xff, 1);
    ck_assert_int_eq(fake_mods, 3);
    drop_vga();
    free(mem);
}
END_TEST

/* An incoming domain's VGA: no VRAM until the state is loaded (guest
 * accesses and refreshes touch nothing), then the pages at the saved gfn,
 * with the picture the sender left there; a stream naming another gfn is
 * refused before anything changes. */
START_TEST(incoming_finds_vram)
{
    uint8_t *mem = calloc(1, 8u << 20), *stream = NULL;
    size_t len = 0;
    char err[256];
    unsigned x, y;

    ck_assert_ptr_nonnull(mem);
    fake_gfn = LFB_B >> 12;
    vga_on_fake_vram(mem, false);
    map_bars(LFB_A);
    pci_config_write(bus, SLOT, 0, 0x10, LFB_B, 4);      /* the guest moved it */
    vbe_mode(64, 48, 32);
    for (y = 0; y < 48; y++)
        for (x = 0; x < 64; x++)
            io_write(&fm.m.bus, IO_MMIO, LFB_B + (y * 64 + x) * 4, pattern(x, y), 4);
    ck_assert_msg(migration_save_buf(NULL, &stream, &len, err, sizeof(err)) == 0, "%s", err);

    vga_on_fake_vram(mem, true);
    sr(&fg, 0x02, 0x0f);                                 /* every plane writable */
    io_write(&fm.m.bus, IO_MMIO, 0xa0000, 0x55, 1);       /* nothing to write into yet */
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, 0xa0000, 1), 0xff);
    refresh();
    ck_assert_uint_eq(mem[0], pattern(0, 0) & 0xff);
    fake_gfn = LFB_A >> 12;                              /* the pages are not where the stream says */
    ck_assert_int_eq(migration_load_buf(NULL, stream, len, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "cannot find the VRAM") && strstr(err, "0xd0000"), "%s", err);
    fake_gfn = LFB_B >> 12;
    ck_assert_msg(migration_load_buf(NULL, stream, len, err, sizeof(err)) == 0, "%s", err);
    refresh();
    ck_assert_uint_eq(disp->width, 64);
    for (y = 0; y < 48; y += 5)
        for (x = 0; x < 64; x += 3)
            ck_assert_uint_eq(px(x, y), pattern(x, y));
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, LFB_B + 4, 4), pattern(1, 0));
    free(stream);
    drop_vga();
    free(mem);
}
END_TEST

/* Version 2 appended vram_gfn: a version 1 section is refused by name. */
START_TEST(old_stream_refused)
{
    static const uint8_t entry[] = { 3, 'v', 'g', 'a', 2, 0, 0, 0 };
    uint8_t *stream = NULL, *p;
    size_t len = 0;
    char err[256];

    ck_assert_msg(migration_save_buf(NULL, &stream, &len, err, sizeof(err)) == 0, "%s", err);
    p = memmem(stream, len, entry, sizeof(entry));
    ck_assert_ptr_nonnull(p);
    p[4] = 1;
    put_le32(stream + len - 4, migration_crc32c(0, stream, len - 4));
    ck_assert_int_eq(migration_load_buf(NULL, stream, len, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "device 'vga': stream has version 1, this DM reads version 2");
    free(stream);
}
END_TEST

/* ---- through the DM ------------------------------------------------------ */

static void q_outb(void *o, uint16_t p, uint8_t v) { qtest_outb(o, p, v); }
static void q_outw(void *o, uint16_t p, uint16_t v) { qtest_outw(o, p, v); }
static uint8_t q_inb(void *o, uint16_t p) { return qtest_inb(o, p); }
static void q_writeb(void *o, uint64_t a, uint8_t v) { qtest_writeb(o, a, v); }

static bool log_contains(struct qtest *s, const char *needle)
{
    static char buf[65536];
    int fd = open(qtest_log_path(s), O_RDONLY);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return strstr(buf, needle) != NULL;
}

static int netvnc(int port, char *buf, size_t len, const char *action)
{
    char cmd[512];
    FILE *p;
    int r;

    snprintf(cmd, sizeof(cmd), "perl %s/tests/data/vnc/netvnc-client.pl %d - %s 2>&1", SRC_DIR, port, action);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    buf[0] = '\0';
    if (!fgets(buf, (int)len, p))
        buf[0] = '\0';
    r = pclose(p);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

START_TEST(dm_cirrus_default_with_vnc)
{
    const char *args[] = { "-device", "cirrus-vga,vgamem_mb=8", "-vnc", "127.0.0.1:37,to=99", NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };
    struct qtest *s = qtest_start(&o);
    struct guest g = { q_outb, q_outw, q_inb, q_writeb, NULL };
    struct qmpc *c;
    json_t *ret = NULL;
    char err[256], out[128];
    int port;

    ck_assert_ptr_nonnull(s);
    g.o = s;
    /* qemu-xen's xenfv layout with a VGA (the e2e stage vnc compares them):
     * platform 00:02.0, VGA 00:03.0. */
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0), 0x00015853u);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 3, 0, 0), 0x11111234u);
    ck_assert(log_contains(s, "cirrus-vga requested"));
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(qmpc_execute(c, "query-vnc", NULL, -1, &ret, err, sizeof(err)), 0);
    ck_assert(json_is_true(json_object_get(ret, "enabled")));
    port = atoi(json_string_value(json_object_get(ret, "service")));
    ck_assert_int_ge(port, 5900 + 37);
    json_decref(ret);
    qmpc_close(c);

    text_screen(&g);
    ck_assert_uint_eq(qtest_readb(s, 0xb8001), 0x24);
    /* A real viewer sees the glyph: 'A' column 0 red, column 1 green. */
    ck_assert_msg(netvnc(port, out, sizeof(out), "pixel 0 0") == 0, "%s", out);
    ck_assert_str_eq(out, "255 0 0\n");
    ck_assert_int_eq(netvnc(port, out, sizeof(out), "pixel 1 0"), 0);
    ck_assert_str_eq(out, "0 255 0\n");
    ck_assert_int_eq(netvnc(port, out, sizeof(out), "pixel 11 18"), 0);
    ck_assert_str_eq(out, "0 255 0\n");
    /* A key over VNC reaches the i8042 in set 1 (translation on): 'a' = 0x1e. */
    qtest_outb(s, 0x64, 0x60);
    qtest_outb(s, 0x60, 0x45);
    ck_assert_int_eq(netvnc(port, out, sizeof(out), "key 61"), 0);
    ck_assert_uint_eq(qtest_inb(s, 0x64) & 1, 1);
    ck_assert_uint_eq(qtest_inb(s, 0x60), 0x1e);
    ck_assert_uint_eq(qtest_inb(s, 0x60), 0x9e);          /* and its release */
    qtest_quit(s);
}
END_TEST

static void qmp_ok(struct qmpc *c, const char *cmd, json_t *args)
{
    json_t *ret = NULL;
    char err[256] = "";

    ck_assert_msg(qmpc_execute(c, cmd, args, -1, &ret, err, sizeof(err)) == 0, "%s: %s", cmd, err);
    json_decref(ret);
}

static int vnc_port(struct qtest *s)
{
    struct qmpc *c = qtest_qmp(s);
    json_t *ret = NULL;
    char err[256];
    int port;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(qmpc_execute(c, "query-vnc", NULL, -1, &ret, err, sizeof(err)) == 0, "%s", err);
    port = atoi(json_string_value(json_object_get(ret, "service")));
    json_decref(ret);
    qmpc_close(c);
    return port;
}

/* A few pixels of the VBE pattern as a real viewer sees them. */
static void viewer_sees_pattern(struct qtest *s)
{
    static const unsigned pts[][2] = { { 0, 0 }, { 5, 7 }, { 63, 47 }, { 31, 20 } };
    char out[128], want[64];
    int port = vnc_port(s);
    size_t i;

    for (i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        char act[32];
        uint32_t p = pattern(pts[i][0], pts[i][1]);

        snprintf(act, sizeof(act), "pixel %u %u", pts[i][0], pts[i][1]);
        ck_assert_msg(netvnc(port, out, sizeof(out), act) == 0, "%s", out);
        snprintf(want, sizeof(want), "%u %u %u\n", p >> 16, (p >> 8) & 0xff, p & 0xff);
        ck_assert_msg(!strcmp(out, want), "pixel %u %u: %s, want %s", pts[i][0], pts[i][1], out, want);
    }
}

/* xl save + xl restore of a guest with a screen, on qtest: VRAM is guest
 * memory in a file (-accel qtest,vram=FILE), as in a Xen domain, which the
 * DM does not save. The guest moves the framebuffer BAR and draws; the
 * legacy-window write it makes while dirty logging is on is reported for
 * the right gfn; the state is saved and a new DM started -incoming finds
 * the pages at the saved gfn: a viewer sees the same pixels. */
START_TEST(dm_incoming_keeps_vram)
{
    char vfile[] = "/tmp/xsdm-vram-XXXXXX", accel[64], err[256] = "";
    const char *args[] = { "-device", "VGA,vgamem_mb=8", "-vnc", "127.0.0.1:39,to=99", "-accel", accel, NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };
    struct qtest *s;
    struct guest g = { q_outb, q_outw, q_inb, q_writeb, NULL };
    struct qmpc *c;
    uint8_t fb[64 * 48 * 4];
    unsigned x, y;
    int fd = mkstemp(vfile);

    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(accel, sizeof(accel), "qtest,vram=%s", vfile);
    s = qtest_start(&o);
    ck_assert_ptr_nonnull(s);
    g.o = s;
    qtest_pci_cfg_writel(s, 3, 0, 0x10, LFB_A);
    qtest_pci_cfg_writel(s, 3, 0, 0x18, 0xe1000000u);
    qtest_pci_cfg_writew(s, 3, 0, 0x04, 0x0003);
    qtest_pci_cfg_writel(s, 3, 0, 0x10, LFB_B);        /* the guest moves it */
    vbe(&g, VBE_ENABLE, 0);
    vbe(&g, VBE_XRES, 64);
    vbe(&g, VBE_YRES, 48);
    vbe(&g, VBE_BPP, 32);
    vbe(&g, VBE_ENABLE, VBE_EN_ENABLED | VBE_EN_LFB);
    for (y = 0; y < 48; y++)
        for (x = 0; x < 64; x++)
            put_le32(fb + (y * 64 + x) * 4, pattern(x, y));
    qtest_memwrite(s, LFB_B, fb, sizeof(fb));
    /* Dirty logging on (a live migration): a write into the banked window
     * (bank 2, offset 0x1004: VRAM page 0x21) is reported for gfn 0xd0021. */
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "xen-set-global-dirty-log", json_pack("{s:b}", "enable", 1));
    vbe(&g, VBE_BANK, 2);
    qtest_writel(s, 0xa1004, 0x12345678u);
    vbe(&g, VBE_BANK, 0);
    ck_assert_uint_eq(qtest_readl(s, LFB_B + 0x21004), 0x12345678u);
    ck_assert(log_contains(s, "qtest: modified_memory(0xd0021, 1)"));
    qmp_ok(c, "xen-set-global-dirty-log", json_pack("{s:b}", "enable", 0));
    qmpc_close(c);
    viewer_sees_pattern(s);
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "stop", NULL);
    s = qtest_save_restart(s, c, &o, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    viewer_sees_pattern(s);                             /* after its QMP answered: loaded */
    ck_assert(log_contains(s, "qtest: VRAM found at gfn 0xd0000"));
    ck_assert_uint_eq(qtest_readl(s, LFB_B + 0x21004), 0x12345678u);
    qtest_quit(s);
    unlink(vfile);
}
END_TEST

START_TEST(dm_no_vga_refuses_vnc)
{
    const char *args[] = { "-vnc", "127.0.0.1:38", NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };
    struct qtest *s = qtest_start(&o);

    /* Refused at parse time: the DM never connects, or exits at once. */
    if (s) {
        ck_assert_int_ne(qtest_wait_exit(s, 10000), 0);
        ck_assert(log_contains(s, "VNC needs a display device"));
        qtest_quit(s);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vga");
    TCase *t = tcase_create("device");
    TCase *q = tcase_create("dm");

    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, pci_identity);
    tcase_add_test(t, text_mode_glyphs);
    tcase_add_test(t, planar_and_chain4);
    tcase_add_test(t, dirty_rows);
    tcase_add_test(t, vbe_lfb_and_bar_move);
    tcase_add_test(t, accel_vram_is_used);
    tcase_add_test(t, mode_change_notice);
    tcase_add_test(t, desktop_size_on_mode_change);
    tcase_add_test(t, hostile_registers);
    tcase_add_test(t, state_round_trip);
    tcase_add_test(t, vram_writes_reported);
    tcase_add_test(t, incoming_finds_vram);
    tcase_add_test(t, old_stream_refused);
    suite_add_tcase(s, t);
    tcase_set_timeout(q, 60);
    tcase_add_test(q, dm_cirrus_default_with_vnc);
    tcase_add_test(q, dm_no_vga_refuses_vnc);
    tcase_add_test(q, dm_incoming_keeps_vram);
    suite_add_tcase(s, q);
    return s;
}

int main(void)
{
    return ck_run_suite(suite());
}
