/* PCI bus 0 of the xenfv machine: configuration mechanism #1 on ports
 * 0xcf8-0xcff, config spaces with write masks and write-1-to-clear bits,
 * BARs that decode where the guest programs them, INTx, and one "pci"
 * state section holding the latch and every function's config space.
 * Port 0xcf9 (a byte inside the 0xcf8 dword) is the PIIX3 reset control
 * register; it lives here because it shares the port window. */
#include "dm/core/pci.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/bytes.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"

#define PCI_BUS_MAX_FUNCS 16
#define PCI_MAX_SLOT      32
#define PCI_MAX_FN        8

#define CFG_COMMAND   0x04
#define CFG_STATUS    0x06
#define CFG_HEADER    0x0e
#define CFG_BAR0      0x10
#define CFG_SUBSYS    0x2c
#define CFG_ROM       0x30
#define ROM_ENABLE    0x01
#define BAR_PREFETCH  0x08
#define CFG_INT_LINE  0x3c
#define CFG_INT_PIN   0x3d

#define CMD_IO        0x0001
#define CMD_MEM       0x0002
#define CMD_MASTER    0x0004
#define CMD_INTX_OFF  0x0400
#define STATUS_INTX   0x0008

#define RCR_SYS_RST   0x02
#define RCR_RST_CPU   0x04

/* Everything the guest can change, as one POD (the "pci" state section).
 * fn[].cfg is a snapshot: pre_save copies the live config spaces in,
 * post_load writes the loaded ones back into the functions. */
struct pci_fn_saved {
    uint8_t devfn;
    uint8_t cfg[256];
};

struct pci_saved {
    uint32_t cf8;                   /* config address latch */
    uint8_t rcr;                    /* reset control register (0xcf9) */
    uint8_t n;                      /* functions, in registration order */
    struct pci_fn_saved fn[PCI_BUS_MAX_FUNCS];
};

struct pci_bus {
    struct pci_saved saved;
    struct iobus *io;
    struct irq_line intx;           /* INTx of slot/pin: line intx.n + slot * 4 + pin */
    struct irq_line reset;          /* 0xcf9 RST_CPU */
    struct pci_dev *devs[PCI_BUS_MAX_FUNCS];
    uint8_t reset_cfg[PCI_BUS_MAX_FUNCS][256];  /* config as built (machine_reset) */
    struct io_region conf;          /* 0xcf8-0xcff */
};

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static uint16_t cfg16(const struct pci_dev *d, unsigned reg)
{
    return get_le16(d->config + reg);
}

static uint32_t cfg32(const struct pci_dev *d, unsigned reg)
{
    return get_le32(d->config + reg);
}

void pci_dev_init(struct pci_dev *d, const char *name, unsigned slot, unsigned fn,
                  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->slot = slot;
    d->fn = fn;
    put_le16(d->config + 0x00, vendor);
    put_le16(d->config + 0x02, device);
    d->config[0x08] = revision;
    d->config[0x09] = (uint8_t)class_code;
    d->config[0x0a] = (uint8_t)(class_code >> 8);
    d->config[0x0b] = (uint8_t)(class_code >> 16);
    /* QEMU's default subsystem ids (Red Hat / QEMU), as qemu-xen shows them. */
    put_le16(d->config + CFG_SUBSYS, 0x1af4);
    put_le16(d->config + CFG_SUBSYS + 2, 0x1100);
    /* command: I/O, memory, bus master, parity, SERR, INTx disable */
    put_le16(d->wmask + CFG_COMMAND, 0x0547);
    /* status: the error bits are write-1-to-clear */
    put_le16(d->w1cmask + CFG_STATUS, 0xf900);
    d->wmask[0x0c] = 0xff;          /* cache line size */
    d->wmask[0x0d] = 0xff;          /* latency timer */
    d->wmask[CFG_INT_LINE] = 0xff;
}

void pci_dev_set_bar(struct pci_dev *d, int bar, bool io, uint32_t size, struct io_region *r)
{
    uint32_t mask;
    unsigned reg;

    if (bar < 0 || bar >= PCI_MAX_BARS || size < (io ? 4u : 16u) || (size & (size - 1)))
        return;
    reg = CFG_BAR0 + 4 * (unsigned)bar;
    d->bars[bar].size = size;
    d->bars[bar].io = io;
    d->bars[bar].region = r;
    mask = ~(size - 1) & (io ? 0xfffffffcu : 0xfffffff0u);
    put_le32(d->wmask + reg, mask);
    put_le32(d->config + reg, io ? 1u : 0u);
}

void pci_dev_set_bar_prefetch(struct pci_dev *d, int bar, uint32_t size, struct io_region *r)
{
    pci_dev_set_bar(d, bar, false, size, r);
    if (bar >= 0 && bar < PCI_MAX_BARS && d->bars[bar].size)
        d->config[CFG_BAR0 + 4 * (unsigned)bar] |= BAR_PREFETCH;
}

void pci_dev_set_rom(struct pci_dev *d, uint32_t size, struct io_region *r)
{
    if (size < 2048 || (size & (size - 1)))
        return;
    d->rom.size = size;
    d->rom.io = false;
    d->rom.region = r;
    put_le32(d->wmask + CFG_ROM, ~(size - 1) | ROM_ENABLE);
    put_le32(d->config + CFG_ROM, 0);
}

static uint64_t empty_rom_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void empty_rom_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct io_ops empty_rom_ops = { .read = empty_rom_read, .write = empty_rom_write };

void pci_dev_set_empty_rom(struct pci_dev *d, struct io_region *r, const char *name, uint32_t size)
{
    io_region_init(r, IO_MMIO, name, &empty_rom_ops, d, size);
    pci_dev_set_rom(d, size, r);
}

/* BAR i (0-5), or the ROM BAR for i == PCI_MAX_BARS. */
static const struct pci_bar *bar_at(const struct pci_dev *d, int i)
{
    return i == PCI_MAX_BARS ? &d->rom : &d->bars[i];
}

static uint32_t bar_mask(const struct pci_dev *d, int bar)
{
    const struct pci_bar *b = bar_at(d, bar);

    if (bar == PCI_MAX_BARS)
        return ~(b->size - 1);
    return ~(b->size - 1) & (b->io ? 0xfffffffcu : 0xfffffff0u);
}

/* Where BAR i of d (PCI_MAX_BARS: the ROM) should decode now; false if it
 * should not decode. */
static bool bar_target(const struct pci_dev *d, int i, uint64_t *addr_r)
{
    const struct pci_bar *b = bar_at(d, i);
    uint16_t cmd = cfg16(d, CFG_COMMAND);
    unsigned reg = i == PCI_MAX_BARS ? CFG_ROM : CFG_BAR0 + 4 * (unsigned)i;
    uint64_t addr;

    if (!b->size || !b->region)
        return false;
    addr = cfg32(d, reg) & bar_mask(d, i);
    *addr_r = addr;
    if (!(cmd & (b->io ? CMD_IO : CMD_MEM)) || addr == 0)
        return false;
    if (i == PCI_MAX_BARS && !(cfg32(d, reg) & ROM_ENABLE))
        return false;
    /* A BAR left at its sizing pattern (all address bits set) is not
     * a real address; neither is one reaching past the top of the space. */
    if (!b->io && addr == bar_mask(d, i))
        return false;
    if (addr + b->size > (b->io ? 0x10000ULL : 0x100000000ULL))
        return false;
    return true;
}

/* A BAR refused for overlapping another region decodes as soon as that
 * region goes away (as the guest would expect once it resolved the
 * clash): after any unmap, every BAR that wants to decode and does not
 * is tried again. Mapping never unmaps, so this cannot cascade. */
static void retry_refused(struct pci_bus *bus)
{
    int i, j;

    for (i = 0; i < bus->saved.n; i++) {
        struct pci_dev *d = bus->devs[i];

        for (j = 0; j <= PCI_MAX_BARS; j++) {
            uint64_t addr;

            if (bar_target(d, j, &addr) && !bar_at(d, j)->region->mapped)
                (void)io_region_map(bus->io, bar_at(d, j)->region, addr);
        }
    }
}

void pci_update_mappings(struct pci_dev *d)
{
    struct iobus *io = d->bus ? d->bus->io : NULL;
    bool unmapped = false;
    int i;

    if (!io)
        return;
    for (i = 0; i <= PCI_MAX_BARS; i++) {
        const struct pci_bar *b = bar_at(d, i);
        uint64_t addr = 0;
        bool on = bar_target(d, i, &addr);

        if (!b->size || !b->region)
            continue;
        if (b->region->mapped && on && b->region->base == addr)
            continue;
        if (b->region->mapped) {
            io_region_unmap(io, b->region);
            unmapped = true;
        }
        if (on && io_region_map(io, b->region, addr) < 0)
            log_guest("pci %02x.%x: BAR%d at 0x%llx overlaps another region: not decoded",
                      d->slot, d->fn, i, (unsigned long long)addr);
    }
    if (unmapped)
        retry_refused(d->bus);
}

static void update_intx(struct pci_dev *d)
{
    unsigned pin = d->config[CFG_INT_PIN];
    bool out = d->intx_level && !(cfg16(d, CFG_COMMAND) & CMD_INTX_OFF);

    if (d->intx_level)
        d->config[CFG_STATUS] |= STATUS_INTX;
    else
        d->config[CFG_STATUS] &= (uint8_t)~STATUS_INTX;
    if (d->bus && pin >= 1 && pin <= 4) {
        struct irq_line l = irq_line_nth(d->bus->intx, (int)(d->slot * 4 + pin - 1));

        irq_set(&l, out);
    }
}

void pci_set_irq(struct pci_dev *d, int level)
{
    d->intx_level = level != 0;
    update_intx(d);
}

struct pci_dev *pci_find(struct pci_bus *bus, unsigned slot, unsigned fn)
{
    int i;

    if (!bus)
        return NULL;
    for (i = 0; i < bus->saved.n; i++)
        if (bus->devs[i]->slot == slot && bus->devs[i]->fn == fn)
            return bus->devs[i];
    return NULL;
}

int pci_register(struct pci_bus *bus, struct pci_dev *d)
{
    int i = bus->saved.n;

    if (d->slot >= PCI_MAX_SLOT || d->fn >= PCI_MAX_FN || pci_find(bus, d->slot, d->fn) ||
        i >= PCI_BUS_MAX_FUNCS) {
        log_err("pci: cannot register %s at %02x.%x", d->name ? d->name : "?", d->slot, d->fn);
        return -1;
    }
    d->bus = bus;
    bus->devs[i] = d;
    bus->saved.fn[i].devfn = (uint8_t)(d->slot << 3 | d->fn);
    memcpy(bus->saved.fn[i].cfg, d->config, 256);
    memcpy(bus->reset_cfg[i], d->config, 256);
    bus->saved.n++;
    pci_update_mappings(d);
    return 0;
}

void pci_unplug(struct pci_dev *d)
{
    d->config[CFG_COMMAND] &= (uint8_t)~(CMD_IO | CMD_MEM | CMD_MASTER);
    pci_update_mappings(d);
    pci_set_irq(d, 0);
    d->unplugged = true;
}

void pci_foreach(struct pci_bus *bus, void (*fn)(struct pci_dev *d, void *opaque), void *opaque)
{
    int i;

    for (i = 0; bus && i < bus->saved.n; i++)
        fn(bus->devs[i], opaque);
}

static bool valid_access(unsigned reg, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && reg < 256 && reg + size <= 256;
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
    struct pci_dev *d = pci_find(bus, slot, fn);
    uint32_t v = 0;
    unsigned i;

    if (!valid_access(reg, size))
        return 0xffffffffu;
    if (!d || d->unplugged)
        return (uint32_t)ones(size);
    for (i = 0; i < size; i++)
        v |= (uint32_t)d->config[reg + i] << (8 * i);
    return v;
}

static bool overlaps(unsigned reg, unsigned size, unsigned start, unsigned len)
{
    return reg < start + len && start < reg + size;
}

void pci_config_write(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, uint32_t val, unsigned size)
{
    struct pci_dev *d = pci_find(bus, slot, fn);
    unsigned i;

    if (!d || d->unplugged || !valid_access(reg, size))
        return;
    for (i = 0; i < size; i++) {
        unsigned r = reg + i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        uint8_t wm = d->wmask[r], w1c = d->w1cmask[r];

        d->config[r] = (uint8_t)((d->config[r] & ~wm) | (b & wm));
        d->config[r] &= (uint8_t)~(b & w1c);
    }
    if (overlaps(reg, size, CFG_COMMAND, 2) || overlaps(reg, size, CFG_BAR0, 24) ||
        overlaps(reg, size, CFG_ROM, 4))
        pci_update_mappings(d);
    if (overlaps(reg, size, CFG_COMMAND, 2))
        update_intx(d);
    if (d->config_written)
        d->config_written(d, reg, val, size);
}

/* ---- mechanism #1 on ports 0xcf8-0xcff ---------------------------------- */

static bool decode(struct pci_bus *bus, unsigned off, unsigned size,
                   unsigned *slot, unsigned *fn, unsigned *reg)
{
    uint32_t a = bus->saved.cf8;
    unsigned byte = off - 4;

    if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0)
        return false;
    if (byte + size > 4)
        return false;
    *slot = (a >> 11) & 0x1f;
    *fn = (a >> 8) & 7;
    *reg = (a & 0xfc) | byte;
    return true;
}

static uint64_t conf_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_bus *bus = opaque;
    unsigned slot, fn, reg;

    if (off < 4) {
        if (off == 0 && size == 4)
            return bus->saved.cf8;
        if (off == 1 && size == 1)
            return bus->saved.rcr;
        return ones(size);
    }
    if (!decode(bus, (unsigned)off, size, &slot, &fn, &reg))
        return ones(size);
    return pci_config_read(bus, slot, fn, reg, size);
}

static void conf_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_bus *bus = opaque;
    unsigned slot, fn, reg;

    if (off < 4) {
        if (off == 0 && size == 4) {
            bus->saved.cf8 = (uint32_t)val;
        } else if (off == 1 && size == 1) {
            /* Only the reset type is kept; RST_CPU starts the reset. */
            bus->saved.rcr = (uint8_t)(val & RCR_SYS_RST);
            if (val & RCR_RST_CPU)
                irq_raise(&bus->reset);
        }
        return;
    }
    if (decode(bus, (unsigned)off, size, &slot, &fn, &reg))
        pci_config_write(bus, slot, fn, reg, (uint32_t)val, size);
}

static const struct io_ops conf_ops = { .read = conf_read, .write = conf_write };

/* ---- state --------------------------------------------------------------- */

static void pci_pre_save(void *opaque)
{
    struct pci_bus *bus = opaque;

    for (int i = 0; i < bus->saved.n; i++)
        memcpy(bus->saved.fn[i].cfg, bus->devs[i]->config, 256);
}

static const struct vm_field pci_fn_fields[] = {
    VMF_UINT(struct pci_fn_saved, devfn),
    VMF_ARRAY(struct pci_fn_saved, cfg),
    VMF_END
};

static const struct vm_field pci_fields[] = {
    VMF_UINT(struct pci_saved, cf8),
    VMF_UINT(struct pci_saved, rcr),
    VMF_UINT(struct pci_saved, n),
    VMF_STRUCTS_V(struct pci_saved, fn, n, pci_fn_fields),
    VMF_END
};

/* Identity bytes (ids, revision, class, header type, subsystem, pin) must
 * match the function we built: a stream from another machine is refused. */
static bool identity_matches(const uint8_t *now, const uint8_t *in)
{
    static const uint8_t regs[] = { 0, 1, 2, 3, 8, 9, 10, 11, 14, 0x2c, 0x2d, 0x2e, 0x2f, 0x3d };
    size_t i;

    for (i = 0; i < sizeof(regs); i++)
        if (now[regs[i]] != in[regs[i]])
            return false;
    return true;
}

/* The functions of the stream are this machine's, in the same order. */
static int pci_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct pci_saved *now = live;
    struct pci_saved *s = staging;

    s->rcr &= RCR_SYS_RST;          /* as the register keeps it */
    if (s->n != now->n) {
        snprintf(err, errlen, "pci: %u functions in the stream, %u in this machine", s->n, now->n);
        return -1;
    }
    for (int i = 0; i < s->n; i++) {
        if (s->fn[i].devfn != now->fn[i].devfn || !identity_matches(now->fn[i].cfg, s->fn[i].cfg)) {
            snprintf(err, errlen, "pci: function %d (%02x.%x) does not match this machine",
                     i, s->fn[i].devfn >> 3, s->fn[i].devfn & 7);
            return -1;
        }
    }
    return 0;
}

static void pci_post_load(void *opaque)
{
    struct pci_bus *bus = opaque;
    int i;

    /* Every config space first, then the mappings: a BAR is never mapped
     * from one function's stale config while another's is being moved. */
    for (i = 0; i < bus->saved.n; i++)
        memcpy(bus->devs[i]->config, bus->saved.fn[i].cfg, 256);
    for (i = 0; i < bus->saved.n; i++) {
        pci_update_mappings(bus->devs[i]);
        update_intx(bus->devs[i]);
    }
}

struct pci_bus *pci_bus_new(struct iobus *io, struct irq_line intx, struct irq_line reset)
{
    struct pci_bus *bus = calloc(1, sizeof(*bus));
    struct vmstate_dev vd = {
        .name = "pci", .version = 1, .state_size = sizeof(struct pci_saved),
        .fields = pci_fields, .check = pci_check, .pre_save = pci_pre_save,
        .post_load = pci_post_load,
    };

    if (!bus)
        return NULL;
    bus->io = io;
    bus->intx = intx;
    bus->reset = reset;
    io_region_init(&bus->conf, IO_PIO, "pci-conf", &conf_ops, bus, 8);
    if (io_region_map(io, &bus->conf, 0xcf8) < 0) {
        log_err("pci: ports 0xcf8-0xcff are taken");
        free(bus);
        return NULL;
    }
    vd.state = &bus->saved;
    vd.opaque = bus;
    if (vmstate_register(&vd) < 0) {
        io_region_unmap(io, &bus->conf);
        free(bus);
        return NULL;
    }
    return bus;
}

/* Back to the config spaces as built (system reset): BARs stop decoding. */
void pci_bus_reset(struct pci_bus *bus)
{
    int i;

    bus->saved.cf8 = 0;
    bus->saved.rcr = 0;
    for (i = 0; i < bus->saved.n; i++) {
        memcpy(bus->devs[i]->config, bus->reset_cfg[i], 256);
        bus->devs[i]->intx_level = false;
    }
    for (i = 0; i < bus->saved.n; i++) {
        pci_update_mappings(bus->devs[i]);
        update_intx(bus->devs[i]);
    }
}

/* Stop decoding every BAR (before the functions are freed). */
void pci_bus_unmap_all(struct pci_bus *bus)
{
    int i, j;

    for (i = 0; bus && i < bus->saved.n; i++)
        for (j = 0; j <= PCI_MAX_BARS; j++)
            if (bar_at(bus->devs[i], j)->region && bar_at(bus->devs[i], j)->region->mapped)
                io_region_unmap(bus->io, bar_at(bus->devs[i], j)->region);
}

/* The functions may already be gone: only the bus's own things are touched. */
void pci_bus_free(struct pci_bus *bus)
{
    if (!bus)
        return;
    io_region_unmap(bus->io, &bus->conf);
    free(bus);
}
