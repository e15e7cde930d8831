/* CMOS RAM at ports 0x70/0x71 (dm/cmos.h): an index latch and 128 bytes.
 * Port 0x70 takes the index (the NMI-mask bit 7 is dropped, as QEMU does)
 * and reads 0xff; port 0x71 reads and writes the selected byte. Every byte
 * the guest can reach is RAM it may rewrite (the firmware keeps its
 * shutdown code in 0x0f); nothing here raises an interrupt. The contents
 * survive a machine reset, as battery-backed RAM does; the board rewrites
 * its own bytes on reset (dm/pc-cmos.c). Index 0x37 reaches the century
 * byte 0x32, as on PS/2 machines and in QEMU. */
#include "dm/cmos.h"

#include <stdio.h>
#include <stdlib.h>

#include "dm/iobus.h"
#include "dm/log.h"
#include "dm/machine.h"
#include "dm/vmstate.h"

#define CMOS_STATE_VERSION 1
#define CMOS_REG_INDEX     0    /* offsets in the two-port region */
#define CMOS_REG_DATA      1

struct cmos_state {
    uint8_t index;              /* < CMOS_SIZE */
    uint8_t ram[CMOS_SIZE];
};

struct cmos {
    struct cmos_state s;
    struct machine *m;
    struct io_region region;
    struct vmstate_dev vm;
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

static void cmos_save(const void *state, struct vmwriter *w)
{
    const struct cmos_state *s = state;

    vm_put_u8(w, s->index);
    vm_put(w, s->ram, sizeof(s->ram));
}

static int cmos_load(void *staging, struct vmreader *r, char *err, size_t errlen)
{
    struct cmos_state *s = staging;

    s->index = vm_get_u8(r);
    vm_get(r, s->ram, sizeof(s->ram));
    if (r->err || r->off != r->len) {
        snprintf(err, errlen, "cmos: section has %zu bytes, expected %zu", r->len, 1 + sizeof(s->ram));
        return -1;
    }
    if (s->index >= CMOS_SIZE) {
        snprintf(err, errlen, "cmos: index 0x%02x out of range", s->index);
        return -1;
    }
    return 0;
}

struct cmos *cmos_new(struct machine *m)
{
    struct cmos *c;

    if (!m)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->m = m;
    io_region_init(&c->region, IO_PIO, "cmos", &cmos_ops, c, 2);
    if (io_region_map(&m->bus, &c->region, CMOS_INDEX_PORT) < 0) {
        log_err("cmos: cannot map ports 0x70-0x71");
        goto fail;
    }
    c->vm.name = "cmos";
    c->vm.version = CMOS_STATE_VERSION;
    c->vm.state = &c->s;
    c->vm.state_size = sizeof(c->s);
    c->vm.save = cmos_save;
    c->vm.load = cmos_load;
    c->vm.opaque = c;
    if (vmstate_register(&c->vm) < 0)
        goto fail;
    return c;
fail:
    io_region_unmap(&m->bus, &c->region);
    free(c);
    return NULL;
}

void cmos_free(struct cmos *c)
{
    if (!c)
        return;
    io_region_unmap(&c->m->bus, &c->region);
    free(c);
}
