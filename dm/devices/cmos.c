/* CMOS RAM at ports 0x70/0x71 (dm/devices/cmos.h): an index latch and 128 bytes.
 * Port 0x70 takes the index (the NMI-mask bit 7 is dropped, as QEMU does)
 * and reads 0xff; port 0x71 reads and writes the selected byte. Every byte
 * the guest can reach is RAM it may rewrite (the firmware keeps its
 * shutdown code in 0x0f); nothing here raises an interrupt. The contents
 * survive a machine reset, as battery-backed RAM does; the board rewrites
 * its own bytes on reset (dm/board/pc-cmos.c). Index 0x37 reaches the century
 * byte 0x32, as on PS/2 machines and in QEMU. */
#include "dm/devices/cmos.h"

#include <stdlib.h>

#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"

#define CMOS_STATE_VERSION 1
#define CMOS_REG_INDEX     0    /* offsets in the two-port region */
#define CMOS_REG_DATA      1

struct cmos_state {
    uint8_t index;              /* < CMOS_SIZE */
    uint8_t ram[CMOS_SIZE];
};

struct cmos {
    struct cmos_state s;
    struct iobus *bus;
    struct io_region region;
};

static unsigned ram_index(const struct cmos *c)
{
    return c->s.index == CMOS_PS2_CENTURY ? CMOS_CENTURY : c->s.index;
}

static uint8_t cmos_read_byte(struct cmos *c, unsigned reg)
{
    if (reg == CMOS_REG_INDEX)
        return 0xff;
    return c->s.ram[ram_index(c)];
}

static void cmos_write_byte(struct cmos *c, unsigned reg, uint8_t val)
{
    if (reg == CMOS_REG_INDEX)
        c->s.index = val & CMOS_INDEX_MASK;
    else
        c->s.ram[ram_index(c)] = val;
}

/* Wider accesses are split into byte accesses, lowest port first, as QEMU
 * does for this device (under Xen they never get here: Xen's vRTC answers
 * them itself). The bus keeps off + size within the two ports. */
static uint64_t cmos_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size && off + i < 2; i++)
        v |= (uint64_t)cmos_read_byte(opaque, (unsigned)(off + i)) << (8 * i);
    return v;
}

static void cmos_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    unsigned i;

    for (i = 0; i < size && off + i < 2; i++)
        cmos_write_byte(opaque, (unsigned)(off + i), (uint8_t)(val >> (8 * i)));
}

static const struct io_ops cmos_ops = { .read = cmos_read, .write = cmos_write };

void cmos_set(struct cmos *c, unsigned index, uint8_t val)
{
    if (c && index < CMOS_SIZE)
        c->s.ram[index] = val;
}

uint8_t cmos_get(const struct cmos *c, unsigned index)
{
    return c && index < CMOS_SIZE ? c->s.ram[index] : 0xff;
}

static const struct vm_field cmos_fields[] = {
    VMF_UINT(struct cmos_state, index, VM_MAX(CMOS_SIZE - 1)),
    VMF_ARRAY(struct cmos_state, ram),
    VMF_END
};

struct cmos *cmos_new(struct iobus *bus)
{
    struct cmos *c;
    struct vmstate_dev vd;

    if (!bus)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bus = bus;
    io_region_init(&c->region, IO_PIO, "cmos", &cmos_ops, c, 2);
    if (io_region_map(bus, &c->region, CMOS_INDEX_PORT) < 0) {
        log_err("cmos: cannot map ports 0x70-0x71");
        goto fail;
    }
    vd = (struct vmstate_dev){
        .name = "cmos", .version = CMOS_STATE_VERSION, .state = &c->s, .state_size = sizeof(c->s),
        .fields = cmos_fields, .opaque = c,
    };
    if (vmstate_register(&vd) < 0)
        goto fail;
    return c;
fail:
    io_region_unmap(bus, &c->region);
    free(c);
    return NULL;
}

void cmos_free(struct cmos *c)
{
    if (!c)
        return;
    io_region_unmap(c->bus, &c->region);
    free(c);
}
