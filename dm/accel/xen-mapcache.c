/* The bounded mapping cache (dm/accel/xen-mapcache.h). Writes are checked over
 * their whole range before the first byte is copied, so a DMA that runs off
 * the end of RAM changes nothing. */
#include "dm/accel/xen-mapcache.h"

#include <string.h>

unsigned xen_mapcache_buckets(uint64_t ram_bytes)
{
    uint64_t mib = ram_bytes >> MAPCACHE_BUCKET_SHIFT;

    if (mib < MAPCACHE_MIN_BUCKETS)
        return MAPCACHE_MIN_BUCKETS;
    if (mib > MAPCACHE_MAX_BUCKETS)
        return MAPCACHE_MAX_BUCKETS;
    return (unsigned)mib;
}

uint64_t xen_mapcache_budget(uint64_t ram_bytes)
{
    return (uint64_t)xen_mapcache_buckets(ram_bytes) * MAPCACHE_BUCKET_SIZE;
}

void mapcache_init(struct mapcache *mc, const struct mapcache_backend *be, unsigned nbuckets)
{
    memset(mc, 0, sizeof(*mc));
    mc->be = *be;
    if (nbuckets < 1)
        nbuckets = 1;
    mc->nbuckets = nbuckets > MAPCACHE_MAX_BUCKETS ? MAPCACHE_MAX_BUCKETS : nbuckets;
}

static void drop(struct mapcache *mc, struct mapcache_bucket *b)
{
    if (b->valid && b->addr)
        mc->be.unmap(mc->be.opaque, b->addr, MAPCACHE_BUCKET_PAGES);
    memset(b, 0, sizeof(*b));
}

/* The bucket holding index, mapped on a miss (evicting the least recently
 * used one when all are taken). NULL if the backend maps nothing. */
static struct mapcache_bucket *lookup(struct mapcache *mc, uint64_t index)
{
    struct mapcache_bucket *victim = NULL;
    int err[MAPCACHE_BUCKET_PAGES];
    unsigned i;
    void *addr;

    for (i = 0; i < mc->nbuckets; i++) {
        struct mapcache_bucket *b = &mc->b[i];

        if (b->valid && b->index == index) {
            mc->hits++;
            b->last_use = ++mc->clock;
            return b;
        }
        if (!victim || (!b->valid && victim->valid) ||
            (b->valid && victim->valid && b->last_use < victim->last_use))
            victim = b;
    }
    mc->misses++;
    if (victim->valid) {
        mc->evictions++;
        drop(mc, victim);
    }
    memset(err, 0, sizeof(err));
    addr = mc->be.map(mc->be.opaque, index << (MAPCACHE_BUCKET_SHIFT - MAPCACHE_PAGE_SHIFT),
                      MAPCACHE_BUCKET_PAGES, err);
    if (!addr)
        return NULL;
    victim->valid = true;
    victim->index = index;
    victim->addr = addr;
    victim->last_use = ++mc->clock;
    for (i = 0; i < MAPCACHE_BUCKET_PAGES; i++)
        if (!err[i])
            victim->page_ok[i / 64] |= 1ull << (i % 64);
    return victim;
}

static bool pages_ok(const struct mapcache_bucket *b, uint64_t off, size_t len)
{
    uint64_t p, first = off >> MAPCACHE_PAGE_SHIFT, last = (off + len - 1) >> MAPCACHE_PAGE_SHIFT;

    for (p = first; p <= last; p++)
        if (!(b->page_ok[p / 64] & (1ull << (p % 64))))
            return false;
    return true;
}

/* Walk [gpa, gpa+len) bucket by bucket; with buf NULL only check. */
static int walk(struct mapcache *mc, uint64_t gpa, uint8_t *rbuf, const uint8_t *wbuf, size_t len)
{
    while (len) {
        uint64_t index = gpa >> MAPCACHE_BUCKET_SHIFT;
        uint64_t off = gpa & (MAPCACHE_BUCKET_SIZE - 1);
        size_t chunk = MAPCACHE_BUCKET_SIZE - off < len ? (size_t)(MAPCACHE_BUCKET_SIZE - off) : len;
        struct mapcache_bucket *b = lookup(mc, index);

        if (!b || !pages_ok(b, off, chunk))
            return -1;
        if (rbuf) {
            memcpy(rbuf, b->addr + off, chunk);
            rbuf += chunk;
        } else if (wbuf) {
            memcpy(b->addr + off, wbuf, chunk);
            wbuf += chunk;
        }
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

static bool range_ok(uint64_t gpa, size_t len)
{
    return gpa < MAPCACHE_GPA_LIMIT && len <= MAPCACHE_GPA_LIMIT - gpa;
}

int mapcache_read(struct mapcache *mc, uint64_t gpa, void *buf, size_t len)
{
    if (!range_ok(gpa, len))
        return -1;
    return walk(mc, gpa, buf, NULL, len);
}

int mapcache_write(struct mapcache *mc, uint64_t gpa, const void *buf, size_t len)
{
    if (!range_ok(gpa, len))
        return -1;
    /* Check first (this may map and evict), then copy: all or nothing. */
    if (walk(mc, gpa, NULL, NULL, len) < 0)
        return -1;
    return walk(mc, gpa, NULL, buf, len);
}

void mapcache_invalidate(struct mapcache *mc)
{
    unsigned i;

    for (i = 0; i < MAPCACHE_MAX_BUCKETS; i++)
        drop(mc, &mc->b[i]);
    mc->invalidations++;
}

unsigned mapcache_mapped(const struct mapcache *mc)
{
    unsigned i, n = 0;

    for (i = 0; i < MAPCACHE_MAX_BUCKETS; i++)
        n += mc->b[i].valid;
    return n;
}
