/* The standard VGA (dm/devices/vga.h): registers, the planar memory model of the
 * 0xa0000 window, Bochs VBE, and rendering into the display surface.
 *
 * VRAM layout (as QEMU's, so the VGA BIOS's assumptions hold): VGA address
 * a of plane p is vram[4 * a + p]; chain-4 and VBE modes see vram as bytes.
 * Every guest index, bank and offset is checked against the arrays and the
 * VRAM size; a mode that would not fit VRAM is clamped, never trusted.
 *
 * Rendering happens when the console asks (display refresh): each row is
 * rendered into a scratch row and compared with the surface, so only rows
 * whose pixels changed are marked dirty, whatever path the guest wrote by. */
#include "dm/devices/vga.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/accel.h"
#include "dm/core/bytes.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/display/display.h"

/* 2: vram_gfn appended (where the VRAM pages are in guest memory). */
#define VGA_STATE_VERSION 2

/* Legacy port offsets from 0x3c0. */
#define P_AR_INDEX   0x00    /* 0x3c0: attribute index/data flip-flop */
#define P_AR_READ    0x01    /* 0x3c1 */
#define P_MISC_W     0x02    /* 0x3c2 write: misc output; read: input status 0 */
#define P_SR_INDEX   0x04
#define P_SR_DATA    0x05
#define P_PEL_MASK   0x06
#define P_DAC_RINDEX 0x07    /* write: read index; read: DAC state */
#define P_DAC_WINDEX 0x08
#define P_DAC_DATA   0x09
#define P_FEAT_R     0x0a    /* 0x3ca: feature control read */
#define P_MISC_R     0x0c    /* 0x3cc: misc output read */
#define P_GR_INDEX   0x0e
#define P_GR_DATA    0x0f
#define P_CR_INDEX   0x14    /* 0x3d4 (colour) */
#define P_CR_DATA    0x15
#define P_ST1        0x1a    /* 0x3da read: input status 1; write: feature control */

/* Register counts. */
#define SR_COUNT 5
#define GR_COUNT 9
#define AR_COUNT 21
#define CR_COUNT 25

/* Named registers. */
#define SR_CLOCK      1      /* bit 0: 8-dot characters */
#define SR_MAP_MASK   2
#define SR_CHARMAP    3
#define SR_MEM_MODE   4      /* bit 2: sequential (not odd/even), bit 3: chain-4 */
#define GR_SET_RESET  0
#define GR_EN_SET_RESET 1
#define GR_COLOR_CMP  2
#define GR_ROTATE     3      /* bits 0-2 rotate count, bits 3-4 function */
#define GR_READ_MAP   4
#define GR_MODE       5      /* bits 0-1 write mode, bit 3 read mode, bit 4 odd/even, bit 6 256-colour */
#define GR_MISC       6      /* bit 0 graphics, bits 2-3 memory map */
#define GR_DONT_CARE  7
#define GR_BIT_MASK   8
#define AR_MODE       0x10   /* bit 0 graphics, bit 3 blink, bit 7 P5/P4 select */
#define AR_PLANE_EN   0x12
#define AR_COLOR_SEL  0x14
#define CR_HDISP_END  0x01
#define CR_OVERFLOW   0x07
#define CR_MAX_SCAN   0x09
#define CR_CUR_START  0x0a
#define CR_CUR_END    0x0b
#define CR_START_HI   0x0c
#define CR_START_LO   0x0d
#define CR_CUR_HI     0x0e
#define CR_CUR_LO     0x0f
#define CR_VRET_END   0x11   /* bit 7: CR0-7 write protect */
#define CR_VDISP_END  0x12
#define CR_OFFSET     0x13
#define MISC_COLOR    0x01   /* CRTC at 0x3d4 (else 0x3b4) */
#define ST1_TOGGLE    0x09   /* display-enable and vertical retrace: fake a changing screen */

#define VBE_MAX_XRES  DISPLAY_MAX_WIDTH
#define VBE_MAX_YRES  DISPLAY_MAX_HEIGHT
#define VBE_MAX_BPP   32

/* QEMU extended registers in BAR2. */
#define QEXT_SIZE     8
#define QEXT_LITTLE   0x1e1e1e1e

struct vga_state {
    uint8_t misc, fcr, st01;
    uint8_t sr_index, sr[SR_COUNT];
    uint8_t gr_index, gr[GR_COUNT];
    uint8_t ar_index, ar[AR_COUNT], ar_flip;
    uint8_t cr_index, cr[CR_COUNT];
    uint8_t pel_mask, dac_rindex, dac_windex, dac_sub, dac_state, dac_cache[3];
    uint8_t palette[768];
    uint32_t latch;
    uint16_t vbe_index;
    uint16_t vbe[VBE_NREGS];
    uint32_t vram_size;      /* identity: must match on load */
    /* Guest-memory VRAM (Xen): the gfn of its first page when saved, so the
     * next DM of an incoming domain finds the pages Xen's stream carried.
     * 0 for VRAM of the device's own (not guest memory: not carried). */
    uint64_t vram_gfn;
};

enum vga_mode { MODE_OFF, MODE_TEXT, MODE_PLANAR, MODE_CHAIN4, MODE_VBE };

struct vga {
    struct vga_state s;
    struct pci_dev dev;
    struct iobus *io;
    uint8_t *vram;           /* NULL while an incoming domain's VRAM is not found yet */
    uint32_t vram_size;      /* a power of two */
    bool vram_ours;          /* allocated here (else the accelerator's guest memory) */
    struct accel *accel;     /* its VRAM ops, when the VRAM is guest memory */
    uint8_t *vram_found;     /* found by the load's check, adopted by post_load */
    uint64_t mod_lo, mod_hi; /* VRAM bytes one access wrote: [lo, hi), lo > hi if none */
    uint8_t *rom;
    uint32_t rom_size;       /* BAR size; rom bytes beyond the file read as 0 */
    struct io_region ports, mono, vbe_port, window, lfb, mmio, rom_region;
    /* derived from VBE registers (vbe_fixup) */
    uint32_t vbe_start, vbe_line;
    /* the surface */
    struct display disp;
    uint32_t *fb;            /* DISPLAY_MAX_WIDTH * DISPLAY_MAX_HEIGHT */
    uint32_t row[DISPLAY_MAX_WIDTH];
    enum vga_mode mode;
    unsigned w, h;
};

/* ---- VRAM writes ---------------------------------------------------------- */

/* Writes through our mapping of guest memory: collected per access, then
 * reported (vram_report) so Xen's log-dirty resends those pages. */
static void vram_note(struct vga *v, uint64_t i, uint64_t n)
{
    if (i < v->mod_lo)
        v->mod_lo = i;
    if (i + n > v->mod_hi)
        v->mod_hi = i + n;
}

static void vram_report(struct vga *v)
{
    if (v->mod_lo < v->mod_hi && !v->vram_ours)
        accel_vram_modified(v->accel, v->mod_lo, v->mod_hi - v->mod_lo);
    v->mod_lo = UINT64_MAX;
    v->mod_hi = 0;
}

/* ---- VBE ---------------------------------------------------------------- */

static bool vbe_on(const struct vga *v)
{
    return v->s.vbe[VBE_ENABLE] & VBE_EN_ENABLED;
}

static unsigned vbe_bytespp(unsigned bpp)
{
    return bpp == 15 ? 2 : (bpp + 7) / 8;
}

static bool vbe_bpp_ok(unsigned bpp)
{
    return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* Make the VBE registers describe a mode that fits VRAM and the surface:
 * the guest's values are clamped, never trusted. */
static void vbe_fixup(struct vga *v)
{
    uint16_t *r = v->s.vbe;
    unsigned bpp, xres, yres, vw, vh, line, maxh;

    if (!vbe_bpp_ok(r[VBE_BPP]))
        r[VBE_BPP] = 8;
    bpp = r[VBE_BPP];
    xres = r[VBE_XRES];
    yres = r[VBE_YRES];
    if (xres > VBE_MAX_XRES)
        xres = VBE_MAX_XRES;
    xres &= ~7u;
    if (xres == 0)
        xres = 8;
    if (yres > VBE_MAX_YRES)
        yres = VBE_MAX_YRES;
    if (yres == 0)
        yres = 1;
    vw = r[VBE_VIRT_WIDTH];
    if (vw < xres)
        vw = xres;
    line = bpp == 4 ? vw / 2 : vw * vbe_bytespp(bpp);
    if (line == 0 || line > v->vram_size) {
        vw = xres;
        line = bpp == 4 ? vw / 2 : vw * vbe_bytespp(bpp);
    }
    maxh = v->vram_size / line;
    if (yres > maxh) {
        yres = maxh;
        if (yres == 0)
            yres = 1;
    }
    vh = maxh > 0xffff ? 0xffff : maxh;
    if (r[VBE_X_OFFSET] > vw - xres)
        r[VBE_X_OFFSET] = (uint16_t)(vw - xres);
    if (r[VBE_Y_OFFSET] > vh - yres)
        r[VBE_Y_OFFSET] = (uint16_t)(vh - yres);
    r[VBE_XRES] = (uint16_t)xres;
    r[VBE_YRES] = (uint16_t)yres;
    r[VBE_VIRT_WIDTH] = (uint16_t)vw;
    r[VBE_VIRT_HEIGHT] = (uint16_t)vh;
    r[VBE_VIDEO_MEMORY_64K] = (uint16_t)(v->vram_size >> 16);
    v->vbe_line = line;
    v->vbe_start = r[VBE_Y_OFFSET] * line +
                   (bpp == 4 ? r[VBE_X_OFFSET] / 2 : r[VBE_X_OFFSET] * vbe_bytespp(bpp));
}

static uint16_t vbe_read(struct vga *v)
{
    unsigned i = v->s.vbe_index;

    if (i >= VBE_NREGS)
        return 0;
    if (v->s.vbe[VBE_ENABLE] & VBE_EN_GETCAPS) {
        if (i == VBE_XRES)
            return VBE_MAX_XRES;
        if (i == VBE_YRES)
            return VBE_MAX_YRES;
        if (i == VBE_BPP)
            return VBE_MAX_BPP;
    }
    if (i == VBE_VIDEO_MEMORY_64K)
        return (uint16_t)(v->vram_size >> 16);
    return v->s.vbe[i];
}

static void vbe_write(struct vga *v, uint16_t val)
{
    uint16_t *r = v->s.vbe;
    unsigned i = v->s.vbe_index;

    switch (i) {
    case VBE_ID:
        if (val >= VBE_ID0 && val <= VBE_ID5)
            r[VBE_ID] = val;
        return;
    case VBE_XRES: case VBE_YRES: case VBE_BPP:
    case VBE_VIRT_WIDTH: case VBE_X_OFFSET: case VBE_Y_OFFSET:
        r[i] = val;
        break;
    case VBE_BANK:
        /* A bank past VRAM is refused: the window keeps the old one. */
        if ((uint32_t)val >= v->vram_size >> 16) {
            log_guest("vga: VBE bank %u out of range", val);
            return;
        }
        r[VBE_BANK] = val;
        return;
    case VBE_ENABLE:
        if ((val & VBE_EN_ENABLED) && !(r[VBE_ENABLE] & VBE_EN_ENABLED)) {
            r[VBE_ENABLE] = val;
            r[VBE_VIRT_WIDTH] = 0;          /* a new mode starts with its own width */
            r[VBE_X_OFFSET] = r[VBE_Y_OFFSET] = 0;
            r[VBE_BANK] = 0;
            vbe_fixup(v);
            if (!(val & VBE_EN_NOCLEARMEM) && v->vram) {
                memset(v->vram, 0, (size_t)r[VBE_YRES] * v->vbe_line);
                vram_note(v, 0, (uint64_t)r[VBE_YRES] * v->vbe_line);
                vram_report(v);
            }
            /* The legacy registers follow, as the Bochs VGA does: graphics,
             * chain-4 off for the window's banked linear access. */
            v->s.gr[GR_MISC] = (uint8_t)((v->s.gr[GR_MISC] & ~0x0c) | 0x05);
            v->s.sr[SR_MEM_MODE] |= 0x08;
        }
        r[VBE_ENABLE] = val;
        return;
    default:
        return;                              /* VIRT_HEIGHT, VIDEO_MEMORY_64K: read-only */
    }
    vbe_fixup(v);
}

/* ---- the 0xa0000 window ------------------------------------------------- */

/* Window offset → VGA address, or false if the memory map does not decode it. */
static bool window_addr(const struct vga *v, uint64_t off, uint32_t *addr)
{
    switch ((v->s.gr[GR_MISC] >> 2) & 3) {
    case 0: *addr = (uint32_t)off; return off < 0x20000;
    case 1: *addr = (uint32_t)off; return off < 0x10000;
    case 2: *addr = (uint32_t)off - 0x10000; return off >= 0x10000 && off < 0x18000;
    default: *addr = (uint32_t)off - 0x18000; return off >= 0x18000 && off < 0x20000;
    }
}

static bool chain4(const struct vga *v)
{
    return v->s.sr[SR_MEM_MODE] & 0x08;
}

static bool odd_even(const struct vga *v)
{
    return !(v->s.sr[SR_MEM_MODE] & 0x04) || (v->s.gr[GR_MODE] & 0x10);
}

static uint8_t vram_get(const struct vga *v, uint64_t i)
{
    return v->vram && i < v->vram_size ? v->vram[i] : 0xff;
}

static void vram_put(struct vga *v, uint64_t i, uint8_t b)
{
    if (v->vram && i < v->vram_size) {
        v->vram[i] = b;
        vram_note(v, i, 1);
    }
}

static uint8_t window_read(struct vga *v, uint64_t off)
{
    const struct vga_state *s = &v->s;
    uint32_t addr, l;
    unsigned p;
    uint8_t cmp = 0;

    if (vbe_on(v) && off < 0x10000)
        return vram_get(v, ((uint64_t)s->vbe[VBE_BANK] << 16) + off);
    if (!window_addr(v, off, &addr))
        return 0xff;
    if (chain4(v))
        return vram_get(v, addr);
    if (odd_even(v) && !(s->gr[GR_MODE] & 0x08))
        return vram_get(v, ((uint64_t)(addr & ~1u) << 1) | ((s->gr[GR_READ_MAP] & 2) | (addr & 1)));
    if (!v->vram || (uint64_t)addr * 4 + 3 >= v->vram_size)
        return 0xff;
    v->s.latch = get_le32(v->vram + (size_t)addr * 4);
    l = v->s.latch;
    if (!(s->gr[GR_MODE] & 0x08))
        return (uint8_t)(l >> (8 * (s->gr[GR_READ_MAP] & 3)));
    /* Read mode 1: colour compare over the planes that matter. */
    for (p = 0; p < 4; p++) {
        uint8_t plane = (uint8_t)(l >> (8 * p));
        uint8_t want = (s->gr[GR_COLOR_CMP] >> p) & 1 ? 0xff : 0;

        if ((s->gr[GR_DONT_CARE] >> p) & 1)
            cmp |= (uint8_t)(plane ^ want);
    }
    return (uint8_t)~cmp;
}

static uint32_t expand4(unsigned bits)
{
    return (bits & 1 ? 0xffu : 0) | (bits & 2 ? 0xff00u : 0) | (bits & 4 ? 0xff0000u : 0) |
           (bits & 8 ? 0xff000000u : 0);
}

static void window_write(struct vga *v, uint64_t off, uint8_t val)
{
    const struct vga_state *s = &v->s;
    unsigned mask = s->sr[SR_MAP_MASK] & 0xf, rot, p;
    uint32_t addr, data, bitmask, planes, cur;

    if (vbe_on(v) && off < 0x10000) {
        vram_put(v, ((uint64_t)s->vbe[VBE_BANK] << 16) + off, val);
        return;
    }
    if (!window_addr(v, off, &addr))
        return;
    if (chain4(v)) {
        if (mask & (1u << (addr & 3)))
            vram_put(v, addr, val);
        return;
    }
    if (odd_even(v)) {
        p = addr & 1;
        if (mask & (1u << p))
            vram_put(v, ((uint64_t)(addr & ~1u) << 1) | p, val);
        return;
    }
    if (!v->vram || (uint64_t)addr * 4 + 3 >= v->vram_size)
        return;
    bitmask = s->gr[GR_BIT_MASK];
    switch (s->gr[GR_MODE] & 3) {
    case 0:
        rot = s->gr[GR_ROTATE] & 7;
        val = (uint8_t)((val >> rot) | (val << (8 - rot)));
        data = val * 0x01010101u;
        data = (data & ~expand4(s->gr[GR_EN_SET_RESET])) |
               (expand4(s->gr[GR_SET_RESET]) & expand4(s->gr[GR_EN_SET_RESET]));
        break;
    case 1:
        data = s->latch;
        bitmask = 0xff;
        goto store;
    case 2:
        data = expand4(val);
        break;
    default:
        rot = s->gr[GR_ROTATE] & 7;
        val = (uint8_t)((val >> rot) | (val << (8 - rot)));
        bitmask &= val;
        data = expand4(s->gr[GR_SET_RESET]);
        goto logic_done;
    }
    switch ((s->gr[GR_ROTATE] >> 3) & 3) {
    case 1: data &= s->latch; break;
    case 2: data |= s->latch; break;
    case 3: data ^= s->latch; break;
    default: break;
    }
logic_done:
    bitmask *= 0x01010101u;
    data = (data & bitmask) | (s->latch & ~bitmask);
store:
    planes = expand4(mask);
    cur = get_le32(v->vram + (size_t)addr * 4);
    put_le32(v->vram + (size_t)addr * 4, (cur & ~planes) | (data & planes));
    vram_note(v, (uint64_t)addr * 4, 4);
}

static uint64_t window_io_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t val = 0;
    unsigned i;

    for (i = 0; i < size; i++)
        val |= (uint64_t)window_read(opaque, off + i) << (8 * i);
    return val;
}

static void window_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    unsigned i;

    for (i = 0; i < size; i++)
        window_write(opaque, off + i, (uint8_t)(val >> (8 * i)));
    vram_report(opaque);
}

static const struct io_ops window_ops = { .read = window_io_read, .write = window_io_write };

/* ---- the linear framebuffer (BAR0) and the ROM -------------------------- */

static uint64_t lfb_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    unsigned i;

    for (i = 0; i < size; i++)
        val |= (uint64_t)vram_get(v, off + i) << (8 * i);
    return val;
}

static void lfb_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    unsigned i;

    for (i = 0; i < size; i++)
        vram_put(v, off + i, (uint8_t)(val >> (8 * i)));
    vram_report(v);
}

static const struct io_ops lfb_ops = { .read = lfb_read, .write = lfb_write };

static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    unsigned i;

    for (i = 0; i < size; i++)
        if (off + i < v->rom_size)
            val |= (uint64_t)v->rom[off + i] << (8 * i);
    return val;
}

static void rom_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct io_ops rom_ops = { .read = rom_read, .write = rom_write };

/* ---- legacy ports -------------------------------------------------------- */

/* CRTC ports answer at 0x3b4/0x3b5/0x3ba or 0x3d4/0x3d5/0x3da, as misc says. */
static bool crtc_here(const struct vga *v, bool mono)
{
    return mono != !!(v->s.misc & MISC_COLOR);
}

static uint8_t port_read(struct vga *v, unsigned off, bool mono)
{
    struct vga_state *s = &v->s;
    uint8_t val;

    if (off >= P_CR_INDEX && !crtc_here(v, mono))
        return 0xff;
    switch (off) {
    case P_AR_INDEX: return s->ar_index;
    case P_AR_READ: return (s->ar_index & 0x1f) < AR_COUNT ? s->ar[s->ar_index & 0x1f] : 0;
    case P_MISC_W: return 0;                               /* input status 0 */
    case P_SR_INDEX: return s->sr_index;
    case P_SR_DATA: return s->sr_index < SR_COUNT ? s->sr[s->sr_index] : 0;
    case P_PEL_MASK: return s->pel_mask;
    case P_DAC_RINDEX: return s->dac_state;
    case P_DAC_WINDEX: return s->dac_windex;
    case P_DAC_DATA:
        val = s->palette[s->dac_rindex * 3 + s->dac_sub];
        if (++s->dac_sub == 3) {
            s->dac_sub = 0;
            s->dac_rindex++;
        }
        return val;
    case P_FEAT_R: return s->fcr;
    case P_MISC_R: return s->misc;
    case P_GR_INDEX: return s->gr_index;
    case P_GR_DATA: return s->gr_index < GR_COUNT ? s->gr[s->gr_index] : 0;
    case P_CR_INDEX: return s->cr_index;
    case P_CR_DATA: return s->cr_index < CR_COUNT ? s->cr[s->cr_index] : 0;
    case P_ST1:
        s->ar_flip = 0;
        s->st01 ^= ST1_TOGGLE;
        return s->st01;
    default: return 0xff;
    }
}

static void port_write(struct vga *v, unsigned off, uint8_t val, bool mono)
{
    struct vga_state *s = &v->s;

    if (off >= P_CR_INDEX && !crtc_here(v, mono))
        return;
    switch (off) {
    case P_AR_INDEX:
        if (!s->ar_flip) {
            s->ar_index = val & 0x3f;
        } else if ((s->ar_index & 0x1f) < AR_COUNT) {
            s->ar[s->ar_index & 0x1f] = val;
        }
        s->ar_flip ^= 1;
        return;
    case P_MISC_W: s->misc = val; return;
    case P_SR_INDEX: s->sr_index = val & 0x07; return;
    case P_SR_DATA:
        if (s->sr_index < SR_COUNT)
            s->sr[s->sr_index] = val;
        return;
    case P_PEL_MASK: s->pel_mask = val; return;
    case P_DAC_RINDEX:
        s->dac_rindex = val;
        s->dac_sub = 0;
        s->dac_state = 3;
        return;
    case P_DAC_WINDEX:
        s->dac_windex = val;
        s->dac_sub = 0;
        s->dac_state = 0;
        return;
    case P_DAC_DATA:
        s->dac_cache[s->dac_sub] = val;
        if (++s->dac_sub == 3) {
            memcpy(&s->palette[s->dac_windex * 3], s->dac_cache, 3);
            s->dac_sub = 0;
            s->dac_windex++;
        }
        return;
    case P_GR_INDEX: s->gr_index = val & 0x0f; return;
    case P_GR_DATA:
        if (s->gr_index < GR_COUNT)
            s->gr[s->gr_index] = val;
        return;
    case P_CR_INDEX: s->cr_index = val; return;
    case P_CR_DATA:
        if (s->cr_index >= CR_COUNT)
            return;
        /* CR0-7 are write-protected by CR11 bit 7, except the line-compare bit of CR7. */
        if ((s->cr[CR_VRET_END] & 0x80) && s->cr_index <= CR_OVERFLOW) {
            if (s->cr_index == CR_OVERFLOW)
                s->cr[CR_OVERFLOW] = (uint8_t)((s->cr[CR_OVERFLOW] & ~0x10) | (val & 0x10));
            return;
        }
        s->cr[s->cr_index] = val;
        return;
    case P_ST1: s->fcr = val; return;
    default: return;
    }
}

static uint64_t ports_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t val = 0;
    unsigned i;

    for (i = 0; i < size; i++)
        val |= (uint64_t)port_read(opaque, (unsigned)off + i, false) << (8 * i);
    return val;
}

static void ports_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    unsigned i;

    for (i = 0; i < size; i++)
        port_write(opaque, (unsigned)off + i, (uint8_t)(val >> (8 * i)), false);
}

static const struct io_ops ports_ops = { .read = ports_read, .write = ports_write };

/* 0x3b4-0x3ba: the CRTC and status 1 when misc selects monochrome. */
static uint64_t mono_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t val = 0;
    unsigned i;

    for (i = 0; i < size; i++)
        val |= (uint64_t)port_read(opaque, (unsigned)off + i + P_CR_INDEX, true) << (8 * i);
    return val;
}

static void mono_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    unsigned i;

    for (i = 0; i < size; i++)
        port_write(opaque, (unsigned)off + i + P_CR_INDEX, (uint8_t)(val >> (8 * i)), true);
}

static const struct io_ops mono_ops = { .read = mono_read, .write = mono_write };

/* 0x1ce index, 0x1cf data, 16-bit accesses at either (the region is 3
 * bytes long so a word at 0x1cf stays inside it; 0x1d0 is nothing). */
static uint64_t vbe_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;

    if (off == 0)
        return v->s.vbe_index;
    return off == 1 ? vbe_read(v) : 0xffff;
}

static void vbe_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;

    if (off == 0)
        v->s.vbe_index = (uint16_t)val;
    else if (off == 1)
        vbe_write(v, (uint16_t)val);
}

static const struct io_ops vbe_io_ops = { .read = vbe_io_read, .write = vbe_io_write };

/* BAR2: the same registers by MMIO (QEMU's standard-vga layout). */
static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;

    if (off >= VGA_MMIO_VGA && off + size <= VGA_MMIO_VGA + VGA_PORT_LEN)
        return ports_read(v, off - VGA_MMIO_VGA, size);
    if (off >= VGA_MMIO_VBE && off + size <= VGA_MMIO_VBE + 2 * VBE_NREGS && size == 2) {
        v->s.vbe_index = (uint16_t)((off - VGA_MMIO_VBE) / 2);
        return vbe_read(v);
    }
    if (off == VGA_MMIO_QEXT && size == 4)
        return QEXT_SIZE;
    if (off == VGA_MMIO_QEXT + 4 && size == 4)
        return QEXT_LITTLE;
    return 0;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;

    if (off >= VGA_MMIO_VGA && off + size <= VGA_MMIO_VGA + VGA_PORT_LEN) {
        ports_write(v, off - VGA_MMIO_VGA, val, size);
    } else if (off >= VGA_MMIO_VBE && off + size <= VGA_MMIO_VBE + 2 * VBE_NREGS && size == 2) {
        v->s.vbe_index = (uint16_t)((off - VGA_MMIO_VBE) / 2);
        vbe_write(v, (uint16_t)val);
    }
    /* QEXT endianness: little-endian only (x86 guests). */
}

static const struct io_ops mmio_ops = { .read = mmio_read, .write = mmio_write };

/* ---- rendering ------------------------------------------------------------ */

static uint32_t dac_rgb(const struct vga *v, unsigned idx)
{
    const uint8_t *p = &v->s.palette[(idx & 0xff) * 3];

    if (v->s.vbe[VBE_ENABLE] & VBE_EN_8BIT_DAC)
        return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    /* 6-bit DAC values scaled to 8 bits. */
    return (uint32_t)((p[0] & 0x3f) * 255 / 63) << 16 | (uint32_t)((p[1] & 0x3f) * 255 / 63) << 8 |
           (uint32_t)((p[2] & 0x3f) * 255 / 63);
}

/* A 4-bit attribute colour through the palette registers to the DAC. */
static uint32_t attr_rgb(const struct vga *v, unsigned c)
{
    const struct vga_state *s = &v->s;
    unsigned idx = s->ar[c & 0xf];

    if (s->ar[AR_MODE] & 0x80)
        idx = (idx & 0x0f) | ((s->ar[AR_COLOR_SEL] & 0x03) << 4);
    else
        idx &= 0x3f;
    idx |= (s->ar[AR_COLOR_SEL] & 0x0c) << 4;
    return dac_rgb(v, idx);
}

static unsigned crtc_vdisp(const struct vga *v)
{
    const uint8_t *cr = v->s.cr;

    return (cr[CR_VDISP_END] | ((cr[CR_OVERFLOW] & 0x02) << 7) | ((cr[CR_OVERFLOW] & 0x40) << 3)) + 1;
}

static uint32_t crtc_start(const struct vga *v)
{
    return (uint32_t)v->s.cr[CR_START_HI] << 8 | v->s.cr[CR_START_LO];
}

/* The mode the registers describe, and its size. */
static enum vga_mode current_mode(const struct vga *v, unsigned *w, unsigned *h)
{
    const struct vga_state *s = &v->s;
    unsigned cw, chh, rep;

    *w = *h = 0;
    if (vbe_on(v)) {
        if (s->vbe[VBE_BPP] == 4)
            return MODE_OFF;        /* planar VBE modes: not rendered */
        *w = s->vbe[VBE_XRES];
        *h = s->vbe[VBE_YRES];
        return MODE_VBE;
    }
    if (s->cr[CR_HDISP_END] == 0)
        return MODE_OFF;
    if (!(s->gr[GR_MISC] & 0x01)) {
        cw = s->sr[SR_CLOCK] & 1 ? 8 : 9;
        chh = (s->cr[CR_MAX_SCAN] & 0x1f) + 1;
        *w = (s->cr[CR_HDISP_END] + 1u) * cw;
        *h = crtc_vdisp(v) / chh * chh;
        if (*w > DISPLAY_MAX_WIDTH || *h > DISPLAY_MAX_HEIGHT || !*h)
            return MODE_OFF;
        return MODE_TEXT;
    }
    rep = ((s->cr[CR_MAX_SCAN] & 0x1f) + 1) * (s->cr[CR_MAX_SCAN] & 0x80 ? 2 : 1);
    *w = (s->cr[CR_HDISP_END] + 1u) * 8;
    *h = crtc_vdisp(v) / rep;
    if (s->gr[GR_MODE] & 0x40)
        *w /= 2;                    /* 256 colours: two dots per pixel */
    if (*w > DISPLAY_MAX_WIDTH || *h > DISPLAY_MAX_HEIGHT || !*h)
        return MODE_OFF;
    return s->gr[GR_MODE] & 0x40 ? MODE_CHAIN4 : MODE_PLANAR;
}

static uint32_t font_base(const struct vga *v, bool map_a)
{
    unsigned c = v->s.sr[SR_CHARMAP];
    unsigned n = map_a ? (((c >> 2) & 3) << 1) | ((c >> 5) & 1) : ((c & 3) << 1) | ((c >> 4) & 1);

    return n * 8192;                /* VGA address in plane 2 */
}

static void render_text_row(struct vga *v, unsigned y, unsigned w)
{
    const struct vga_state *s = &v->s;
    unsigned cw = s->sr[SR_CLOCK] & 1 ? 8 : 9;
    unsigned chh = (s->cr[CR_MAX_SCAN] & 0x1f) + 1;
    unsigned cols = w / cw, row = y / chh, line = y % chh, x, col;
    uint32_t line_off = (uint32_t)s->cr[CR_OFFSET] * 2;
    uint32_t cur = (uint32_t)s->cr[CR_CUR_HI] << 8 | s->cr[CR_CUR_LO];
    bool cur_on = !(s->cr[CR_CUR_START] & 0x20) && line >= (s->cr[CR_CUR_START] & 0x1f) &&
                  line <= (s->cr[CR_CUR_END] & 0x1f);
    bool blink = s->ar[AR_MODE] & 0x08;

    for (col = 0; col < cols; col++) {
        uint32_t addr = crtc_start(v) + row * line_off + col;
        uint8_t ch = vram_get(v, (uint64_t)addr * 4);
        uint8_t at = vram_get(v, (uint64_t)addr * 4 + 1);
        unsigned fg = at & 0x0f, bg = blink ? (at >> 4) & 7 : at >> 4;
        uint8_t glyph = vram_get(v, ((uint64_t)font_base(v, at & 0x08) + ch * 32u + line) * 4 + 2);
        uint32_t fgc = attr_rgb(v, fg), bgc = attr_rgb(v, bg);

        if (cur_on && addr == cur)
            glyph = 0xff;
        for (x = 0; x < 8; x++)
            v->row[col * cw + x] = (glyph >> (7 - x)) & 1 ? fgc : bgc;
        if (cw == 9)                /* the 9th dot repeats the 8th for line-drawing characters */
            v->row[col * cw + 8] = (ch >= 0xc0 && ch <= 0xdf && (glyph & 1)) ? fgc : bgc;
    }
}

static void render_planar_row(struct vga *v, unsigned y, unsigned w, bool c256)
{
    const struct vga_state *s = &v->s;
    uint64_t base = (uint64_t)crtc_start(v) * 4 + (uint64_t)y * s->cr[CR_OFFSET] * 8;
    unsigned x, p;

    for (x = 0; x < w; x++) {
        if (c256) {
            v->row[x] = dac_rgb(v, vram_get(v, base + x));
            continue;
        }
        unsigned idx = 0;
        for (p = 0; p < 4; p++)
            idx |= ((vram_get(v, base + (x / 8) * 4 + p) >> (7 - (x & 7))) & 1u) << p;
        v->row[x] = attr_rgb(v, idx & s->ar[AR_PLANE_EN]);
    }
}

static void render_vbe_row(struct vga *v, unsigned y, unsigned w)
{
    unsigned bpp = v->s.vbe[VBE_BPP], bytes = vbe_bytespp(bpp), x;
    uint64_t src = (uint64_t)v->vbe_start + (uint64_t)y * v->vbe_line;

    if (!v->vram || src + (uint64_t)w * bytes > v->vram_size) {
        memset(v->row, 0, w * sizeof(v->row[0]));
        return;
    }
    for (x = 0; x < w; x++, src += bytes) {
        const uint8_t *p = v->vram + src;
        uint16_t px;

        switch (bpp) {
        case 8: v->row[x] = dac_rgb(v, p[0]); break;
        case 15:
            px = get_le16(p);
            v->row[x] = (uint32_t)((px >> 10) & 0x1f) * 255 / 31 << 16 |
                        (uint32_t)((px >> 5) & 0x1f) * 255 / 31 << 8 | (uint32_t)(px & 0x1f) * 255 / 31;
            break;
        case 16:
            px = get_le16(p);
            v->row[x] = (uint32_t)((px >> 11) & 0x1f) * 255 / 31 << 16 |
                        (uint32_t)((px >> 5) & 0x3f) * 255 / 63 << 8 | (uint32_t)(px & 0x1f) * 255 / 31;
            break;
        case 24: v->row[x] = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; break;
        default: v->row[x] = get_le32(p) & 0xffffff; break;
        }
    }
}

/* The console is about to read: follow mode changes, render, mark the rows that changed. */
static void vga_refresh(void *dev)
{
    struct vga *v = dev;
    unsigned w, h, y;
    enum vga_mode mode = current_mode(v, &w, &h);

    if (mode == MODE_OFF)
        w = h = 0;
    if (mode != v->mode || w != v->w || h != v->h) {
        v->mode = mode;
        v->w = w;
        v->h = h;
        memset(v->fb, 0, (size_t)w * h * sizeof(uint32_t));
        (void)display_set_mode(&v->disp, w, h, (size_t)w * DISPLAY_BPP, (const uint8_t *)v->fb);
    }
    for (y = 0; y < h; y++) {
        uint32_t *dst = v->fb + (size_t)y * w;

        switch (mode) {
        case MODE_TEXT: render_text_row(v, y, w); break;
        case MODE_PLANAR: render_planar_row(v, y, w, false); break;
        case MODE_CHAIN4: render_planar_row(v, y, w, true); break;
        case MODE_VBE: render_vbe_row(v, y, w); break;
        default: return;
        }
        if (memcmp(dst, v->row, w * sizeof(uint32_t))) {
            memcpy(dst, v->row, w * sizeof(uint32_t));
            display_mark_dirty(&v->disp, y, 1);
        }
    }
}

static const struct display_ops vga_display_ops = { .refresh = vga_refresh };

/* ---- state ----------------------------------------------------------------- */

static const struct vm_field vga_fields[] = {
    VMF_UINT(struct vga_state, misc),
    VMF_UINT(struct vga_state, fcr),
    VMF_UINT(struct vga_state, st01),
    VMF_UINT(struct vga_state, sr_index, VM_MAX(7)),
    VMF_ARRAY(struct vga_state, sr),
    VMF_UINT(struct vga_state, gr_index, VM_MAX(15)),
    VMF_ARRAY(struct vga_state, gr),
    VMF_UINT(struct vga_state, ar_index, VM_MAX(0x3f)),
    VMF_ARRAY(struct vga_state, ar),
    VMF_UINT(struct vga_state, ar_flip, VM_BOOL),
    VMF_UINT(struct vga_state, cr_index),
    VMF_ARRAY(struct vga_state, cr),
    VMF_UINT(struct vga_state, pel_mask),
    VMF_UINT(struct vga_state, dac_rindex),
    VMF_UINT(struct vga_state, dac_windex),
    VMF_UINT(struct vga_state, dac_sub, VM_MAX(2)),
    VMF_UINT(struct vga_state, dac_state, VM_BITS(3)),
    VMF_ARRAY(struct vga_state, dac_cache),
    VMF_ARRAY(struct vga_state, palette),
    VMF_UINT(struct vga_state, latch),
    VMF_UINT(struct vga_state, vbe_index),
    VMF_ARRAY(struct vga_state, vbe),
    VMF_UINT(struct vga_state, vram_size),
    VMF_UINT(struct vga_state, vram_gfn),
    VMF_END
};

static void vga_pre_save(void *opaque)
{
    struct vga *v = opaque;

    v->s.vram_gfn = !v->vram_ours && v->vram && v->accel->ops->vram_gfn ? v->accel->ops->vram_gfn(v->accel) : 0;
}

static int vga_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct vga_state *now = live;
    const struct vga_state *in = staging;
    /* live is the device's state, its first member */
    struct vga *v = (struct vga *)((char *)live - offsetof(struct vga, s));
    char msg[200];
    void *p;

    if (in->vram_size != now->vram_size) {
        snprintf(err, errlen, "vga: %u bytes of VRAM in the stream, %u in this machine",
                 in->vram_size, now->vram_size);
        return -1;
    }
    /* An incoming domain: its VRAM pages are where the sender had them.
     * Found now, so a stream naming no pages is refused before anything
     * changes; the framebuffer BAR is told it is guest memory now because
     * pci's post_load, which runs before ours, maps it. */
    if (!v->vram && !v->vram_ours) {
        msg[0] = '\0';
        p = v->accel->ops->vram_find ? v->accel->ops->vram_find(v->accel, in->vram_gfn, msg, sizeof(msg)) : NULL;
        if (!p) {
            snprintf(err, errlen, "vga: cannot find the VRAM of the incoming domain: %s", msg[0] ? msg : "no way to");
            return -1;
        }
        v->vram_found = p;
        if (!v->lfb.mapped)
            v->lfb.ram = p;
    }
    return 0;
}

/* The VBE registers came from the stream: clamp them as a guest write would. */
static void vga_post_load(void *opaque)
{
    struct vga *v = opaque;

    if (!v->vram && v->vram_found)
        v->vram = v->vram_found;
    if ((uint32_t)v->s.vbe[VBE_BANK] >= v->vram_size >> 16)
        v->s.vbe[VBE_BANK] = 0;
    vbe_fixup(v);
    display_mark_all(&v->disp);
}

/* ---- life ------------------------------------------------------------------- */

void vga_reset(struct vga *v)
{
    if (!v)
        return;
    memset(&v->s, 0, sizeof(v->s));
    v->s.vram_size = v->vram_size;
    v->mod_lo = UINT64_MAX;
    v->mod_hi = 0;
    v->s.vbe[VBE_ID] = VBE_ID5;
    v->s.pel_mask = 0xff;
    vbe_fixup(v);
    memset(v->s.vbe + VBE_XRES, 0, 3 * sizeof(v->s.vbe[0]));
}

struct display *vga_display(struct vga *v)
{
    return v ? &v->disp : NULL;
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = 1;

    while (p < n && p < 0x80000000u)
        p <<= 1;
    return p;
}

struct vga *vga_new(struct pci_bus *pci, struct iobus *io, unsigned slot, unsigned vram_mb,
                    const uint8_t *rom, size_t rom_len, struct accel *accel)
{
    struct vga *v;
    struct vmstate_dev vd;
    void *vram = NULL;
    int r = 1;

    if (!pci || !io || vram_mb < VGA_VRAM_MIN_MB || vram_mb > VGA_VRAM_MAX_MB || rom_len > (1u << 20))
        return NULL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->io = io;
    v->vram_size = pow2_at_least((uint64_t)vram_mb << 20);
    /* Guest memory from the accelerator (Xen), possibly not found yet (an
     * incoming domain: NULL until the state is loaded), or our own. */
    if (accel && accel->ops->vram_open)
        r = accel->ops->vram_open(accel, v->vram_size, &vram);
    if (r < 0) {
        log_err("vga: the accelerator has no VRAM of %u bytes for the VGA", v->vram_size);
        free(v);
        return NULL;
    }
    v->accel = accel;
    v->vram_ours = r > 0;
    v->vram = v->vram_ours ? calloc(1, v->vram_size) : vram;
    v->fb = calloc((size_t)DISPLAY_MAX_WIDTH * DISPLAY_MAX_HEIGHT, sizeof(uint32_t));
    if ((v->vram_ours && !v->vram) || !v->fb)
        goto fail;
    if (rom && rom_len) {
        v->rom_size = pow2_at_least(rom_len < 2048 ? 2048 : rom_len);
        v->rom = calloc(1, v->rom_size);
        if (!v->rom)
            goto fail;
        memcpy(v->rom, rom, rom_len);
    }
    display_init(&v->disp, &vga_display_ops, v);
    vga_reset(v);

    pci_dev_init(&v->dev, "vga", slot, 0, VGA_PCI_VENDOR, VGA_PCI_DEVICE, 0x030000, 0x02);
    io_region_init(&v->lfb, IO_MMIO, "vga-lfb", &lfb_ops, v, v->vram_size);
    /* Guest memory from the accelerator: the guest reaches it directly (no
     * trap); the lfb ops then serve only accesses that still come to us. */
    if (!v->vram_ours)
        v->lfb.ram = v->vram;
    io_region_init(&v->mmio, IO_MMIO, "vga-mmio", &mmio_ops, v, VGA_MMIO_SIZE);
    pci_dev_set_bar_prefetch(&v->dev, 0, v->vram_size, &v->lfb);
    pci_dev_set_bar(&v->dev, 2, false, VGA_MMIO_SIZE, &v->mmio);
    if (v->rom) {
        io_region_init(&v->rom_region, IO_MMIO, "vga-rom", &rom_ops, v, v->rom_size);
        pci_dev_set_rom(&v->dev, v->rom_size, &v->rom_region);
    }
    v->dev.opaque = v;

    io_region_init(&v->ports, IO_PIO, "vga", &ports_ops, v, VGA_PORT_LEN);
    io_region_init(&v->mono, IO_PIO, "vga-mono", &mono_ops, v, VGA_PORT_MONO_LEN);
    io_region_init(&v->vbe_port, IO_PIO, "vga-vbe", &vbe_io_ops, v, 3);
    io_region_init(&v->window, IO_MMIO, "vga-window", &window_ops, v, VGA_WINDOW_LEN);
    if (io_region_map(io, &v->ports, VGA_PORT_BASE) < 0 || io_region_map(io, &v->mono, VGA_PORT_MONO) < 0 ||
        io_region_map(io, &v->vbe_port, VBE_PORT_INDEX) < 0 ||
        io_region_map(io, &v->window, VGA_WINDOW_BASE) < 0) {
        log_err("vga: cannot map the legacy ports or window");
        goto fail;
    }
    if (pci_register(pci, &v->dev) < 0) {
        log_err("vga: cannot register PCI function %02x.0", slot);
        goto fail;
    }
    vd = (struct vmstate_dev){
        .name = "vga", .version = VGA_STATE_VERSION, .state = &v->s, .state_size = sizeof(v->s),
        .fields = vga_fields, .check = vga_check, .pre_save = vga_pre_save, .post_load = vga_post_load,
        .opaque = v,
    };
    if (vmstate_register(&vd) < 0)
        goto fail;
    return v;
fail:
    io_region_unmap(io, &v->ports);
    io_region_unmap(io, &v->mono);
    io_region_unmap(io, &v->vbe_port);
    io_region_unmap(io, &v->window);
    if (v->vram_ours)
        free(v->vram);
    free(v->fb);
    free(v->rom);
    free(v);
    return NULL;
}

void vga_free(struct vga *v)
{
    if (!v)
        return;
    display_set_mode(&v->disp, 0, 0, 0, NULL);
    io_region_unmap(v->io, &v->ports);
    io_region_unmap(v->io, &v->mono);
    io_region_unmap(v->io, &v->vbe_port);
    io_region_unmap(v->io, &v->window);
    if (v->lfb.mapped)
        io_region_unmap(v->io, &v->lfb);
    if (v->mmio.mapped)
        io_region_unmap(v->io, &v->mmio);
    if (v->rom && v->rom_region.mapped)
        io_region_unmap(v->io, &v->rom_region);
    if (v->vram_ours)
        free(v->vram);
    free(v->fb);
    free(v->rom);
    free(v);
}
