/* libFuzzer over the standard VGA (dm/devices/vga.c): built once in-process on a
 * bare fake machine with 1 MiB of VRAM and its BARs mapped (LFB at
 * 0xe0000000, registers at 0xe1000000, ROM at 0xe2000000), reset before
 * every input, then the input is a sequence of guest operations:
 *   byte 0 of each op: bits 0-2 kind, bit 3 width (1 or 2 bytes)
 *   0 write a VGA/VBE port (index into the port table u8, value u16)
 *   1 read a VGA/VBE port (index u8)
 *   2 write the 0xa0000 window (offset u24, value u16)   3 read it
 *   4 write the LFB (offset u24 scaled by 2, value u32)   5 read it
 *   6 BAR2 register write (offset u16, value u16), then a read of the same
 *   7 render (the console's refresh; at most 3 per input: a full mode is
 *     millions of pixels) and check the surface stays within bounds
 * Any out-of-bounds access is the sanitizers' to find; the surface check
 * aborts on a mode the display must never have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/iobus.h"
#include "dm/core/pci.h"
#include "dm/devices/vga.h"
#include "dm/display/display.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/fuzzinput.h"

#define SLOT   2
#define LFB    0xe0000000u
#define REGS   0xe1000000u
#define ROM    0xe2000000u
#define VRAM_MB 1              /* small: a mode that fits renders fast (more runs per second) */

static const uint16_t ports[] = {
    0x3b4, 0x3b5, 0x3ba,
    0x3c0, 0x3c1, 0x3c2, 0x3c3, 0x3c4, 0x3c5, 0x3c6, 0x3c7, 0x3c8, 0x3c9, 0x3ca, 0x3cc,
    0x3ce, 0x3cf, 0x3d4, 0x3d5, 0x3da, 0x3df,
    0x1ce, 0x1cf, 0x1d0,
};

static struct fake_machine fm;
static struct pci_bus *bus;
static struct vga *vga;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t rom[4096] = { 0x55, 0xaa, 8 };

    fake_machine_init(&fm, NULL, 0);
    bus = pci_bus_new(&fm.m.bus, (struct irq_line){ 0 }, (struct irq_line){ 0 });
    vga = bus ? vga_new(bus, &fm.m.bus, SLOT, VRAM_MB, rom, sizeof(rom), NULL) : NULL;
    if (!vga)
        abort();
    pci_config_write(bus, SLOT, 0, 0x10, LFB, 4);
    pci_config_write(bus, SLOT, 0, 0x18, REGS, 4);
    pci_config_write(bus, SLOT, 0, 0x30, ROM | 1, 4);
    pci_config_write(bus, SLOT, 0, 0x04, 0x0003, 2);
    return 0;
}

static void render_and_check(void)
{
    struct display *d = vga_display(vga);
    uint64_t dirty[DISPLAY_DIRTY_WORDS];

    d->ops->refresh(d->dev);
    if (d->width > DISPLAY_MAX_WIDTH || d->height > DISPLAY_MAX_HEIGHT ||
        (d->width && (!d->pixels || d->stride < (size_t)d->width * DISPLAY_BPP)))
        abort();
    /* What the console reads: every row of the surface. */
    if (d->width && d->height) {
        volatile uint8_t sink = d->pixels[(size_t)(d->height - 1) * d->stride + (size_t)d->width * 4 - 1];
        (void)sink;
    }
    display_take_dirty(d, dirty);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    unsigned ops = 0, renders = 0;

    vga_reset(vga);
    while (p < end && ops++ < 4096) {
        uint8_t op = *p++;
        unsigned width = op & 8 ? 2 : 1;
        uint64_t a, v;

        switch (op & 7) {
        case 0:
            a = fuzz_get(&p, end, 1) % (sizeof(ports) / sizeof(ports[0]));
            v = fuzz_get(&p, end, 2);
            io_write(&fm.m.bus, IO_PIO, ports[a], v, width);
            break;
        case 1:
            a = fuzz_get(&p, end, 1) % (sizeof(ports) / sizeof(ports[0]));
            (void)io_read(&fm.m.bus, IO_PIO, ports[a], width);
            break;
        case 2:
            a = fuzz_get(&p, end, 3) % 0x20000;
            v = fuzz_get(&p, end, 2);
            io_write(&fm.m.bus, IO_MMIO, 0xa0000 + a, v, width);
            break;
        case 3:
            a = fuzz_get(&p, end, 3) % 0x20000;
            (void)io_read(&fm.m.bus, IO_MMIO, 0xa0000 + a, width);
            break;
        case 4:
            a = (fuzz_get(&p, end, 3) * 2) % (VRAM_MB << 20);
            v = fuzz_get(&p, end, 4);
            io_write(&fm.m.bus, IO_MMIO, LFB + a, v, width * 2);
            break;
        case 5:
            a = (fuzz_get(&p, end, 3) * 2) % (VRAM_MB << 20);
            (void)io_read(&fm.m.bus, IO_MMIO, LFB + a, width * 2);
            break;
        case 6:
            a = fuzz_get(&p, end, 2) % 4096;
            v = fuzz_get(&p, end, 2);
            io_write(&fm.m.bus, IO_MMIO, REGS + a, v, width * 2);
            (void)io_read(&fm.m.bus, IO_MMIO, REGS + a, width * 2);
            (void)io_read(&fm.m.bus, IO_MMIO, ROM + a, width);
            break;
        default:
            if (renders++ < 3)
                render_and_check();
            break;
        }
    }
    if (!renders)
        render_and_check();
    return 0;
}
