/* A bounded cache of guest-RAM mappings for DMA (Xen accelerator). Guest
 * memory is mapped lazily in 1 MiB buckets through a backend (the real one
 * is xenforeignmemory_map2 in dm/accel/accel-xen.c; the unit test uses a fake),
 * at most a fixed number at a time, least recently used evicted first. The
 * bound is what lets RLIMIT_AS stay tight: xen_mapcache_budget() is the
 * most address space the cache can ever hold. No privileged headers. */
#ifndef XSDM_XEN_MAPCACHE_H
#define XSDM_XEN_MAPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAPCACHE_PAGE_SHIFT     12
#define MAPCACHE_BUCKET_SHIFT   20
#define MAPCACHE_BUCKET_SIZE    (1ull << MAPCACHE_BUCKET_SHIFT)
#define MAPCACHE_BUCKET_PAGES   (MAPCACHE_BUCKET_SIZE >> MAPCACHE_PAGE_SHIFT)
#define MAPCACHE_MIN_BUCKETS    4
#define MAPCACHE_MAX_BUCKETS    64
/* Guest-physical addresses above this are refused outright (52-bit). */
#define MAPCACHE_GPA_LIMIT      (1ull << 52)

struct mapcache_backend {
    /* Map MAPCACHE_BUCKET_PAGES guest frames starting at first_pfn,
     * writable. err[i] != 0 marks a frame that is not mapped (not RAM);
     * returns NULL if nothing could be mapped. */
    void *(*map)(void *opaque, uint64_t first_pfn, size_t npages, int *err);
    void (*unmap)(void *opaque, void *addr, size_t npages);
    void *opaque;
};

struct mapcache_bucket {
    bool valid;
    uint64_t index;                                     /* gpa >> MAPCACHE_BUCKET_SHIFT */
    uint8_t *addr;
    uint64_t last_use;
    uint64_t page_ok[MAPCACHE_BUCKET_PAGES / 64];       /* frames that mapped */
};

struct mapcache {
    struct mapcache_backend be;
    unsigned nbuckets;
    uint64_t clock;
    struct mapcache_bucket b[MAPCACHE_MAX_BUCKETS];
    uint64_t hits, misses, evictions, invalidations;
};

/* Buckets for a guest of ram_bytes: one per MiB of RAM, clamped to
 * [MAPCACHE_MIN_BUCKETS, MAPCACHE_MAX_BUCKETS]. */
unsigned xen_mapcache_buckets(uint64_t ram_bytes);
/* Address space the cache may hold for such a guest (for RLIMIT_AS). */
uint64_t xen_mapcache_budget(uint64_t ram_bytes);

void mapcache_init(struct mapcache *mc, const struct mapcache_backend *be, unsigned nbuckets);
/* Copy between guest-physical memory and buf. 0, or -1 if any byte is not
 * mapped RAM (then a write has written nothing). */
int mapcache_read(struct mapcache *mc, uint64_t gpa, void *buf, size_t len);
int mapcache_write(struct mapcache *mc, uint64_t gpa, const void *buf, size_t len);
/* Unmap everything (IOREQ_TYPE_INVALIDATE: Xen changed the guest's physmap). */
void mapcache_invalidate(struct mapcache *mc);
unsigned mapcache_mapped(const struct mapcache *mc);

#endif
