/* The guest-visible address spaces: port I/O and MMIO. Devices register
 * regions; accelerators deliver guest accesses with io_read()/io_write().
 * A listener (the Xen accelerator) hears every map/unmap so it can route
 * the range to its ioreq server. Guest-facing: no privileged headers here. */
#ifndef XSDM_IOBUS_H
#define XSDM_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#define IOBUS_MAX_REGIONS 64

enum io_space { IO_PIO, IO_MMIO };

struct io_ops {
    /* off is relative to the region base; size is 1, 2, 4 or 8 and
     * off+size never crosses the region end (the bus splits or refuses). */
    uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
    void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
};

struct io_region {
    const char *name;
    enum io_space space;
    uint64_t base, len;
    const struct io_ops *ops;
    void *opaque;
    bool mapped;
    /* Memory the accelerator gave the device (the VGA's VRAM under Xen):
     * the listener backs the range with it instead of trapping; NULL: trapped. */
    void *ram;
};

struct io_listener {
    void (*map)(void *opaque, const struct io_region *r);
    void (*unmap)(void *opaque, const struct io_region *r);
    void *opaque;
};

struct iobus {
    struct io_region *regions[IOBUS_MAX_REGIONS];
    int n;
    const struct io_listener *listener;
    uint64_t unassigned_reads;     /* accesses that hit nothing (all-ones) */
    uint64_t unassigned_writes;
};

void iobus_init(struct iobus *bus);
void io_region_init(struct io_region *r, enum io_space space, const char *name,
                    const struct io_ops *ops, void *opaque, uint64_t len);
/* Returns 0, or -1 if len is 0, it would wrap, or it overlaps a mapped region. */
int io_region_map(struct iobus *bus, struct io_region *r, uint64_t base);
void io_region_unmap(struct iobus *bus, struct io_region *r);
/* Re-announce every mapped region to a newly set listener. */
void iobus_set_listener(struct iobus *bus, const struct io_listener *l);
/* Guest accesses. Unmapped addresses read all-ones and ignore writes;
 * size must be 1, 2, 4 or 8 (anything else reads all-ones). */
uint64_t io_read(struct iobus *bus, enum io_space space, uint64_t addr, unsigned size);
void io_write(struct iobus *bus, enum io_space space, uint64_t addr, uint64_t val, unsigned size);

#endif
