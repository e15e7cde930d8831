#include "dm/core/iobus.h"

#include <string.h>

void iobus_init(struct iobus *bus)
{
    memset(bus, 0, sizeof(*bus));
}

void io_region_init(struct io_region *r, enum io_space space, const char *name,
                    const struct io_ops *ops, void *opaque, uint64_t len)
{
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->space = space;
    r->ops = ops;
    r->opaque = opaque;
    r->len = len;
}

static bool overlaps(const struct io_region *a, uint64_t base, uint64_t len)
{
    return a->base < base + len && base < a->base + a->len;
}

int io_region_map(struct iobus *bus, struct io_region *r, uint64_t base)
{
    int i;

    if (r->mapped)
        io_region_unmap(bus, r);
    if (!r->len || base + r->len < base || bus->n >= IOBUS_MAX_REGIONS)
        return -1;
    if (r->space == IO_PIO && base + r->len > 0x10000)
        return -1;
    for (i = 0; i < bus->n; i++)
        if (bus->regions[i]->space == r->space && overlaps(bus->regions[i], base, r->len))
            return -1;
    r->base = base;
    r->mapped = true;
    bus->regions[bus->n++] = r;
    if (bus->listener && bus->listener->map)
        bus->listener->map(bus->listener->opaque, r);
    return 0;
}

void io_region_unmap(struct iobus *bus, struct io_region *r)
{
    int i;

    if (!r->mapped)
        return;
    for (i = 0; i < bus->n; i++) {
        if (bus->regions[i] != r)
            continue;
        bus->regions[i] = bus->regions[--bus->n];
        bus->regions[bus->n] = NULL;
        break;
    }
    r->mapped = false;
    if (bus->listener && bus->listener->unmap)
        bus->listener->unmap(bus->listener->opaque, r);
}

void iobus_set_listener(struct iobus *bus, const struct io_listener *l)
{
    int i;

    bus->listener = l;
    if (l && l->map)
        for (i = 0; i < bus->n; i++)
            l->map(l->opaque, bus->regions[i]);
}

static struct io_region *lookup(struct iobus *bus, enum io_space space, uint64_t addr, unsigned size)
{
    int i;

    for (i = 0; i < bus->n; i++) {
        struct io_region *r = bus->regions[i];

        if (r->space == space && addr >= r->base && addr - r->base < r->len &&
            size <= r->len - (addr - r->base))
            return r;
    }
    return NULL;
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

uint64_t io_read(struct iobus *bus, enum io_space space, uint64_t addr, unsigned size)
{
    struct io_region *r;

    if (!valid_size(size)) {
        bus->unassigned_reads++;
        return ~0ULL;
    }
    r = lookup(bus, space, addr, size);
    if (!r || !r->ops->read) {
        bus->unassigned_reads++;
        return ones(size);
    }
    return r->ops->read(r->opaque, addr - r->base, size) & ones(size);
}

void io_write(struct iobus *bus, enum io_space space, uint64_t addr, uint64_t val, unsigned size)
{
    struct io_region *r;

    if (!valid_size(size)) {
        bus->unassigned_writes++;
        return;
    }
    r = lookup(bus, space, addr, size);
    if (!r || !r->ops->write) {
        bus->unassigned_writes++;
        return;
    }
    r->ops->write(r->opaque, addr - r->base, val & ones(size), size);
}
