/* The Bochs/QEMU standard VGA (PCI 1234:1111, class 0300), dm/devices/vga.c: legacy
 * VGA registers and the 0xa0000-0xbffff window, the Bochs VBE "dispi"
 * registers, the linear framebuffer (BAR0), the MMIO register bar (BAR2),
 * the VGA BIOS in the expansion ROM BAR. It renders into a struct display
 * (dm/display/display.h) that the board hands to the console. */
#ifndef XSDM_VGA_H
#define XSDM_VGA_H

#include <stddef.h>
#include <stdint.h>

#include "dm/core/config.h"

struct accel;
struct display;
struct iobus;
struct pci_bus;
struct vga;

#define VGA_PCI_VENDOR 0x1234
#define VGA_PCI_DEVICE 0x1111

/* The legacy ports and window, and the Bochs VBE ports. */
#define VGA_PORT_MONO      0x3b4       /* 0x3b4 CRTC index, 0x3b5 data, 0x3ba status (mono) */
#define VGA_PORT_MONO_LEN  7
#define VGA_PORT_BASE      0x3c0       /* 0x3c0-0x3df */
#define VGA_PORT_LEN       32
#define VGA_WINDOW_BASE    0xa0000
#define VGA_WINDOW_LEN     0x20000
#define VBE_PORT_INDEX     0x1ce
#define VBE_PORT_DATA      0x1cf

/* The MMIO register bar (BAR2), as QEMU's standard-vga specification lays it out. */
#define VGA_MMIO_SIZE      4096
#define VGA_MMIO_VGA       0x400       /* ports 0x3c0-0x3df, byte access */
#define VGA_MMIO_VBE       0x500       /* dispi registers, 16 bits each */
#define VGA_MMIO_QEXT      0x600       /* QEMU extended registers */

/* Bochs VBE dispi registers (index at 0x1ce, data at 0x1cf). */
enum vbe_reg {
    VBE_ID, VBE_XRES, VBE_YRES, VBE_BPP, VBE_ENABLE, VBE_BANK,
    VBE_VIRT_WIDTH, VBE_VIRT_HEIGHT, VBE_X_OFFSET, VBE_Y_OFFSET,
    VBE_VIDEO_MEMORY_64K, VBE_NREGS
};
#define VBE_ID0            0xb0c0
#define VBE_ID5            0xb0c5
#define VBE_EN_ENABLED     0x01
#define VBE_EN_GETCAPS     0x02
#define VBE_EN_8BIT_DAC    0x20
#define VBE_EN_LFB         0x40
#define VBE_EN_NOCLEARMEM  0x80

/* A standard VGA in PCI slot `slot` with vram_mb MiB of VRAM (rounded up to
 * a power of two for the BAR), registered on pci and io; rom/rom_len: the
 * VGA BIOS for the ROM BAR (copied; NULL: no ROM BAR). accel (may be NULL):
 * when its vram_open provides them, the VRAM is guest memory (Xen's pages,
 * reached by the guest directly through BAR0; never freed here), on an
 * incoming domain found only when the state is loaded (its gfn is saved);
 * else the device allocates its own and traps BAR0. Registers state
 * section "vga". NULL on failure (logged). */
struct vga *vga_new(struct pci_bus *pci, struct iobus *io, unsigned slot, unsigned vram_mb,
                    const uint8_t *rom, size_t rom_len, struct accel *accel);
void vga_reset(struct vga *v);
void vga_free(struct vga *v);
/* The surface the console shows (owned by the device). */
struct display *vga_display(struct vga *v);

#endif
