/* Xen platform PCI device 00:02.0, or 00:03.0 behind a VGA (5853:0001 rev 1, class ff80, subsystem
 * 5853:0001, INTA), as qemu-xen's hw/i386/xen/xen_platform.c presents it:
 *  - BAR0, 256 bytes of I/O: +0 platform flags (byte read/write), +8 the
 *    log port (one byte per write); everything else reads 0xff.
 *  - BAR1, 16 MiB prefetchable MMIO: reads 0, writes ignored (the guest
 *    maps its grant table and shared info there through Xen, not us).
 *  - The fixed I/O ports 0x10-0x1f of Xen's emulated-device unplug
 *    protocol (docs/misc/hvm-emulated-unplug): 16-bit read at 0x10 gives
 *    the magic 0x49d2, byte read at 0x12 the protocol version 1; a 16-bit
 *    write at 0x10 unplugs (bit 0 all IDE disks, bit 2 all but the primary
 *    master; CD-ROMs stay; bit 1 all emulated NICs; bit 3 (NVMe) has
 *    nothing to unplug here), 16-bit write at 0x12 records the product number, 32-bit
 *    write at 0x10 the build number, byte write at 0x12 is the log port.
 * Log lines are flushed at a newline or when 255 bytes are pending, with
 * non-printable bytes replaced, through the rate-limited guest log.
 * The ROM-lock flag (bit 0 of the flags) is remembered but has no effect:
 * changing memory types is the toolstack's business, not the DM's. */
#include "dm/devices/xen-platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"

#define FIXED_BASE      0x10
#define FIXED_LEN       16
#define BAR0_SIZE       0x100
#define BAR1_SIZE       0x1000000
#define MAGIC           0x49d2
#define PROTO_VERSION   1
#define FLAG_ROM_LOCK   0x01

#define LOG_MAX 256

struct platform_state {
    uint8_t flags;
    uint8_t unplugged;            /* unplug bits the guest has written */
    uint16_t product;             /* PV driver product number */
    uint32_t build;               /* PV driver build number */
};

struct xen_platform {
    struct platform_state st;
    struct pci_dev dev;
    struct iobus *bus;
    xen_unplug_fn *unplug;      /* the board removes what the guest unplugs */
    void *unplug_opaque;
    struct io_region bar0, bar1, fixed;
    char log[LOG_MAX];
    size_t log_len;
};

static void log_flush(struct xen_platform *p)
{
    if (!p->log_len)
        return;
    p->log[p->log_len] = '\0';
    log_guest("xen platform: guest log: %s", p->log);
    p->log_len = 0;
}

static void log_byte(struct xen_platform *p, uint8_t c)
{
    if (c == '\n') {
        log_flush(p);
        return;
    }
    p->log[p->log_len++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    if (p->log_len == LOG_MAX - 1)
        log_flush(p);
}

static void unplug(struct xen_platform *p, uint16_t mask)
{
    if (mask & (UNPLUG_IDE_DISKS | UNPLUG_AUX_IDE)) {
        log_info("xen platform: guest unplugs %s emulated IDE disks",
                 mask & UNPLUG_IDE_DISKS ? "all" : "secondary");
    }
    if (mask & UNPLUG_NICS)
        log_info("xen platform: guest unplugs the emulated NICs");
    if (p->unplug)
        p->unplug(p->unplug_opaque, mask & UNPLUG_ALL);
    p->st.unplugged |= (uint8_t)(mask & UNPLUG_ALL);
}

static uint64_t fixed_read(void *opaque, uint64_t off, unsigned size)
{
    struct xen_platform *p = opaque;

    if (off == 0 && size == 2)
        return MAGIC;
    if (off == 0 && size == 1)
        return p->st.flags;
    if (off == 2 && size == 1)
        return PROTO_VERSION;
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void fixed_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct xen_platform *p = opaque;

    if (off == 0 && size == 2)
        unplug(p, (uint16_t)val);
    else if (off == 2 && size == 2)
        p->st.product = (uint16_t)val;
    else if (off == 0 && size == 4)
        p->st.build = (uint32_t)val;
    else if (off == 0 && size == 1)
        p->st.flags = (uint8_t)val & FLAG_ROM_LOCK;
    else if (off == 2 && size == 1)
        log_byte(p, (uint8_t)val);
}

static const struct io_ops fixed_ops = { .read = fixed_read, .write = fixed_write };

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
    struct xen_platform *p = opaque;

    if (off == 0 && size == 1)
        return p->st.flags;
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct xen_platform *p = opaque;

    if (size != 1)
        return;
    if (off == 0)
        p->st.flags = (uint8_t)val & FLAG_ROM_LOCK;
    else if (off == 8)
        log_byte(p, (uint8_t)val);
}

static const struct io_ops bar0_ops = { .read = bar0_read, .write = bar0_write };

static uint64_t bar1_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void bar1_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct io_ops bar1_ops = { .read = bar1_read, .write = bar1_write };

static const struct vm_field plat_fields[] = {
    VMF_UINT(struct platform_state, flags, VM_BITS(FLAG_ROM_LOCK)),
    VMF_UINT(struct platform_state, unplugged, VM_BITS(UNPLUG_ALL)),
    VMF_UINT(struct platform_state, product),
    VMF_UINT(struct platform_state, build),
    VMF_END
};

/* Disks and NICs the guest unplugged before the save stay unplugged. */
static void plat_post_load(void *opaque)
{
    struct xen_platform *p = opaque;

    if (p->st.unplugged && p->unplug)
        p->unplug(p->unplug_opaque, p->st.unplugged);
}

struct xen_platform *xen_platform_new(struct pci_bus *pci, unsigned slot, struct iobus *bus,
                                      xen_unplug_fn *unplug_fn, void *opaque)
{
    struct xen_platform *p = calloc(1, sizeof(*p));
    struct vmstate_dev vd = {
        .name = "xen-platform", .version = 1, .state_size = sizeof(struct platform_state),
        .fields = plat_fields, .post_load = plat_post_load,
    };

    if (!p)
        return NULL;
    p->bus = bus;
    p->unplug = unplug_fn;
    p->unplug_opaque = opaque;
    pci_dev_init(&p->dev, "xen-platform", slot, 0, 0x5853, 0x0001, 0xff8000, 0x01);
    p->dev.config[0x2c] = 0x53;     /* subsystem 5853:0001 */
    p->dev.config[0x2d] = 0x58;
    p->dev.config[0x2e] = 0x01;
    p->dev.config[0x2f] = 0x00;
    p->dev.config[0x3d] = 0x01;     /* INTA */
    p->dev.config[0x04] = 0x03;     /* I/O and memory decoding on, as qemu-xen */
    io_region_init(&p->bar0, IO_PIO, "xen-platform-io", &bar0_ops, p, BAR0_SIZE);
    io_region_init(&p->bar1, IO_MMIO, "xen-platform-mmio", &bar1_ops, p, BAR1_SIZE);
    io_region_init(&p->fixed, IO_PIO, "xen-platform-fixed", &fixed_ops, p, FIXED_LEN);
    pci_dev_set_bar(&p->dev, 0, true, BAR0_SIZE, &p->bar0);
    pci_dev_set_bar(&p->dev, 1, false, BAR1_SIZE, &p->bar1);
    p->dev.config[0x14] |= 0x08;    /* BAR1 prefetchable */
    vd.state = &p->st;
    vd.opaque = p;
    if (pci_register(pci, &p->dev) < 0 || vmstate_register(&vd) < 0 ||
        io_region_map(bus, &p->fixed, FIXED_BASE) < 0) {
        log_err("xen-platform: cannot register");
        free(p);
        return NULL;
    }
    return p;
}

void xen_platform_reset(struct xen_platform *p)
{
    p->st.flags = 0;
    p->log_len = 0;
}

void xen_platform_free(struct xen_platform *p)
{
    if (!p)
        return;
    if (p->fixed.mapped)
        io_region_unmap(p->bus, &p->fixed);
    if (p->bar0.mapped)
        io_region_unmap(p->bus, &p->bar0);
    if (p->bar1.mapped)
        io_region_unmap(p->bus, &p->bar1);
    free(p);
}
