/* The guest-facing half of the Xen accelerator without Xen: synthetic
 * ioreq_t structures (PIO, MMIO, rep copies, PCI config, invalidate,
 * malformed ones), the shared-slot protocol, the buffered ring, and the
 * bounded mapping cache over a fake guest-memory backend (8 MiB of RAM with
 * a hole, every map and unmap counted). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dm/accel/xen-ioreq.h"
#include "dm/accel/xen-mapcache.h"
#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/iobus.h"
#include "dm/core/pci.h"
#include "tests/lib/ckrun.h"

/* ---- fake guest memory: RAM_BYTES, pfns in [HOLE_FIRST, HOLE_END) absent -- */

#define RAM_BYTES   (8u << 20)
#define RAM_PAGES   (RAM_BYTES >> 12)
#define HOLE_FIRST  0xa0u
#define HOLE_END    0xc0u

static uint8_t *ram;
static unsigned n_maps, n_unmaps;
static void *last_unmapped;

static bool frame_exists(uint64_t pfn)
{
    return pfn < RAM_PAGES && !(pfn >= HOLE_FIRST && pfn < HOLE_END);
}

static void *fake_map(void *opaque, uint64_t first_pfn, size_t npages, int *err)
{
    size_t i, ok = 0;

    (void)opaque;
    n_maps++;
    for (i = 0; i < npages; i++) {
        err[i] = frame_exists(first_pfn + i) ? 0 : -1;
        ok += !err[i];
    }
    if (!ok)
        return NULL;
    return ram + (first_pfn << 12);
}

static void fake_unmap(void *opaque, void *addr, size_t npages)
{
    (void)opaque;
    (void)npages;
    n_unmaps++;
    last_unmapped = addr;
}

static struct mapcache mc;

static void mc_setup(unsigned nbuckets)
{
    struct mapcache_backend be = { fake_map, fake_unmap, NULL };

    free(ram);
    ram = calloc(1, RAM_BYTES);
    ck_assert_ptr_nonnull(ram);
    n_maps = n_unmaps = 0;
    last_unmapped = NULL;
    mapcache_init(&mc, &be, nbuckets);
}

/* ---- a machine with two fake devices and one PCI function ----------------- */

struct fake_dev {
    uint64_t last_off, last_val;
    unsigned last_size, reads, writes;
    uint64_t next_read;             /* incremented on every read */
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
    struct fake_dev *d = opaque;

    d->reads++;
    d->last_off = off;
    d->last_size = size;
    return d->next_read++;
}

static void fake_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fake_dev *d = opaque;

    d->writes++;
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
}

static const struct io_ops fake_ops = { fake_read, fake_write };
static struct machine m;
static struct fake_dev pio_dev, mmio_dev;
static struct io_region pio_r, mmio_r;
static struct pci_dev pdev;
static struct xen_ioreq_env env;
static unsigned n_invalidate;

#define PIO_BASE   0x1f0u
#define MMIO_BASE  0xf0000000ull

static int env_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    return mapcache_read(opaque, gpa, buf, len);
}

static int env_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    return mapcache_write(opaque, gpa, buf, len);
}

static void env_invalidate(void *opaque)
{
    n_invalidate++;
    mapcache_invalidate(opaque);
}

static void setup(void)
{
    mc_setup(8);
    memset(&m, 0, sizeof(m));
    memset(&pio_dev, 0, sizeof(pio_dev));
    memset(&mmio_dev, 0, sizeof(mmio_dev));
    iobus_init(&m.bus);
    io_region_init(&pio_r, IO_PIO, "fake-pio", &fake_ops, &pio_dev, 8);
    io_region_init(&mmio_r, IO_MMIO, "fake-mmio", &fake_ops, &mmio_dev, 0x1000);
    ck_assert_int_eq(io_region_map(&m.bus, &pio_r, PIO_BASE), 0);
    ck_assert_int_eq(io_region_map(&m.bus, &mmio_r, MMIO_BASE), 0);
    m.pci = pci_bus_new(&m.bus, machine_pci_intx(&m), machine_guest_request(&m, SHUTDOWN_REBOOT));
    ck_assert_ptr_nonnull(m.pci);
    memset(&pdev, 0, sizeof(pdev));
    pci_dev_init(&pdev, "fake-fn", 3, 0, 0x1234, 0x5678, 0x010180, 2);
    ck_assert_int_eq(pci_register(m.pci, &pdev), 0);
    memset(&env, 0, sizeof(env));
    env.bus = &m.bus;
    env.machine = &m;
    env.mem_read = env_read;
    env.mem_write = env_write;
    env.invalidate = env_invalidate;
    env.opaque = &mc;
    n_invalidate = 0;
}

static ioreq_t req_of(uint8_t type, uint64_t addr, uint64_t data, uint32_t size, uint32_t count, int dir)
{
    ioreq_t r;

    memset(&r, 0, sizeof(r));
    r.type = type;
    r.addr = addr;
    r.data = data;
    r.size = size;
    r.count = count;
    r.dir = dir;
    r.state = STATE_IOREQ_READY;
    return r;
}

/* ---- mapcache ---------------------------------------------------------------- */

START_TEST(mapcache_roundtrip_across_buckets)
{
    uint8_t in[300], out[300];
    uint64_t gpa = (1u << 20) - 100;      /* straddles buckets 0 and 1 */
    size_t i;

    mc_setup(4);
    for (i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + 1);
    ck_assert_int_eq(mapcache_write(&mc, gpa, in, sizeof(in)), 0);
    ck_assert_mem_eq(ram + gpa, in, sizeof(in));
    memset(out, 0, sizeof(out));
    ck_assert_int_eq(mapcache_read(&mc, gpa, out, sizeof(out)), 0);
    ck_assert_mem_eq(out, in, sizeof(in));
    ck_assert_uint_eq(mapcache_mapped(&mc), 2);
    ck_assert_uint_eq(n_maps, 2);           /* the read hit both buckets */
    ck_assert_int_eq(mapcache_read(&mc, gpa, out, 0), 0);
}
END_TEST

START_TEST(mapcache_refuses_holes_and_end_of_ram_all_or_nothing)
{
    uint8_t buf[64], zero[64] = { 0 };
    uint64_t last_ram_page = RAM_BYTES - 4096;

    mc_setup(4);
    memset(buf, 0xab, sizeof(buf));
    /* 32 bytes before the hole, 32 in it: nothing may be written */
    ck_assert_int_eq(mapcache_write(&mc, (HOLE_FIRST << 12) - 32, buf, sizeof(buf)), -1);
    ck_assert_mem_eq(ram + (HOLE_FIRST << 12) - 32, zero, 32);
    ck_assert_int_eq(mapcache_read(&mc, (uint64_t)HOLE_FIRST << 12, buf, 1), -1);
    /* the last RAM page works, one byte past RAM does not */
    ck_assert_int_eq(mapcache_write(&mc, last_ram_page, buf, 16), 0);
    ck_assert_int_eq(mapcache_write(&mc, RAM_BYTES - 8, buf, 16), -1);
    ck_assert_mem_eq(ram + RAM_BYTES - 8, zero, 8);
    /* a whole bucket of nothing maps nothing */
    ck_assert_int_eq(mapcache_read(&mc, 64ull << 20, buf, 4), -1);
    /* wrapping and absurd addresses never reach the backend */
    n_maps = 0;
    ck_assert_int_eq(mapcache_read(&mc, ~0ull - 3, buf, 8), -1);
    ck_assert_int_eq(mapcache_write(&mc, 4096, buf, (size_t)-1), -1);
    ck_assert_int_eq(mapcache_read(&mc, MAPCACHE_GPA_LIMIT, buf, 1), -1);
    ck_assert_uint_eq(n_maps, 0);
}
END_TEST

START_TEST(mapcache_lru_eviction_and_invalidate)
{
    uint8_t b = 0;
    unsigned i;

    mc_setup(4);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(mapcache_read(&mc, (uint64_t)i << 20, &b, 1), 0);
    ck_assert_uint_eq(mapcache_mapped(&mc), 4);
    ck_assert_int_eq(mapcache_read(&mc, 0, &b, 1), 0);         /* bucket 0 recent again */
    ck_assert_uint_eq(n_maps, 4);
    ck_assert_int_eq(mapcache_read(&mc, 4ull << 20, &b, 1), 0);
    ck_assert_uint_eq(mapcache_mapped(&mc), 4);                 /* never above the bound */
    ck_assert_uint_eq(n_unmaps, 1);
    ck_assert_ptr_eq(last_unmapped, ram + (1u << 20));          /* bucket 1 was least recent */
    ck_assert_uint_eq(mc.evictions, 1);
    mapcache_invalidate(&mc);
    ck_assert_uint_eq(mapcache_mapped(&mc), 0);
    ck_assert_uint_eq(n_unmaps, 5);
}
END_TEST

START_TEST(mapcache_budget_is_bounded)
{
    ck_assert_uint_eq(xen_mapcache_buckets(0), MAPCACHE_MIN_BUCKETS);
    ck_assert_uint_eq(xen_mapcache_buckets(16ull << 20), 16);
    ck_assert_uint_eq(xen_mapcache_buckets(64ull << 30), MAPCACHE_MAX_BUCKETS);
    ck_assert_uint_eq(xen_mapcache_budget(64ull << 30), (uint64_t)MAPCACHE_MAX_BUCKETS << 20);
    ck_assert_uint_eq(xen_mapcache_budget(~0ull), (uint64_t)MAPCACHE_MAX_BUCKETS << 20);
    /* ... and the Xen accelerator reports it (RLIMIT_AS is sized from it) */
    {
        struct accel a = { .ops = &accel_xen_ops, .ram_size = 4096ull << 20 };

        ck_assert_uint_eq(accel_xen_ops.map_budget(&a), xen_mapcache_budget(4096ull << 20));
        ck_assert_uint_lt(accel_xen_ops.map_budget(&a), 4096ull << 20);
    }
}
END_TEST

/* ---- ioreq decoding ------------------------------------------------------------ */

START_TEST(pio_and_mmio_direct)
{
    ioreq_t r;

    setup();
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE + 2, 0x1234abcd, 2, 1, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(pio_dev.writes, 1);
    ck_assert_uint_eq(pio_dev.last_off, 2);
    ck_assert_uint_eq(pio_dev.last_val, 0xabcd);      /* masked to the access size */
    pio_dev.next_read = 0x1ff;
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, 0, 1, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xff);
    mmio_dev.next_read = 0x1122334455667788ull;
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE + 0x10, 0, 8, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0x1122334455667788ull);
    ck_assert_uint_eq(mmio_dev.last_off, 0x10);
    ck_assert_uint_eq(env.served, 3);
    ck_assert_uint_eq(env.refused, 0);
}
END_TEST

/* REP STOS to MMIO arrives as one request with the value in it (vgacon's
 * screen clear): every element lands on its own address, as REP MOVS's do. */
START_TEST(rep_stos_fills_mmio)
{
    ioreq_t r;

    setup();
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE + 0x20, 0x0720, 2, 4, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(mmio_dev.writes, 4);
    ck_assert_uint_eq(mmio_dev.last_off, 0x26);
    ck_assert_uint_eq(mmio_dev.last_val, 0x0720);
    /* downwards (df): 0x40, 0x3c, 0x38 */
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE + 0x40, 0xaa, 4, 3, IOREQ_WRITE);
    r.df = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(mmio_dev.writes, 7);
    ck_assert_uint_eq(mmio_dev.last_off, 0x38);
    /* a read steps alike and answers the last element */
    mmio_dev.next_read = 0x10;
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE + 0x80, 0, 2, 3, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(mmio_dev.reads, 3);
    ck_assert_uint_eq(mmio_dev.last_off, 0x84);
    ck_assert_uint_eq(r.data, 0x12);
    /* a port does not step: REP OUTS of one value */
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE + 1, 0x5a, 1, 3, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(pio_dev.writes, 3);
    ck_assert_uint_eq(pio_dev.last_off, 1);
    /* bounded as REP MOVS is: refused before any access */
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE, 0, 8, 0xffffffffu, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.refused, 1);
    ck_assert_uint_eq(mmio_dev.writes, 7);
}
END_TEST

START_TEST(rep_ins_and_outs_through_guest_memory)
{
    uint16_t words[4];
    uint32_t out[3] = { 0x11111111, 0x22222222, 0x33333333 };
    ioreq_t r;

    setup();
    /* REP INSW: 4 reads of one port into RAM at 0x2000 upwards */
    pio_dev.next_read = 0x100;
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, 0x2000, 2, 4, IOREQ_READ);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(pio_dev.reads, 4);
    ck_assert_uint_eq(pio_dev.last_off, 0);           /* a port does not step */
    memcpy(words, ram + 0x2000, sizeof(words));
    ck_assert_uint_eq(words[0], 0x100);
    ck_assert_uint_eq(words[3], 0x103);
    /* the same downwards (df): elements at 0x3006, 0x3004, ... */
    pio_dev.next_read = 0x200;
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, 0x3006, 2, 4, IOREQ_READ);
    r.data_is_ptr = 1;
    r.df = 1;
    xen_ioreq_dispatch(&env, &r);
    memcpy(words, ram + 0x3000, sizeof(words));
    ck_assert_uint_eq(words[3], 0x200);
    ck_assert_uint_eq(words[0], 0x203);
    /* REP MOVSD RAM -> MMIO: the device address steps too */
    memcpy(ram + 0x4000, out, sizeof(out));
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE + 0x100, 0x4000, 4, 3, IOREQ_WRITE);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(mmio_dev.writes, 3);
    ck_assert_uint_eq(mmio_dev.last_off, 0x108);
    ck_assert_uint_eq(mmio_dev.last_val, 0x33333333);
    ck_assert_uint_eq(env.refused, 0);
}
END_TEST

START_TEST(rep_bounds_are_enforced)
{
    ioreq_t r;

    setup();
    /* too many bytes for one request: refused before any access */
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, 0x1000, 4, XEN_IOREQ_MAX_REP_BYTES / 4 + 1, IOREQ_READ);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.refused, 1);
    ck_assert_uint_eq(pio_dev.reads, 0);
    /* a count of 2^32-1 must not overflow the check */
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE, 0x1000, 8, 0xffffffffu, IOREQ_WRITE);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.refused, 2);
    ck_assert_uint_eq(mmio_dev.writes, 0);
    /* a destination in the hole: the first element that misses stops it */
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, ((uint64_t)HOLE_FIRST << 12) - 4, 2, 4, IOREQ_READ);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.refused, 3);
    ck_assert_uint_eq(pio_dev.reads, 3);              /* 2 landed, the 3rd was refused */
    /* a guest pointer far outside RAM on the write side: no device write */
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, ~0ull - 1, 2, 2, IOREQ_WRITE);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.refused, 4);
    ck_assert_uint_eq(pio_dev.writes, 0);
}
END_TEST

START_TEST(malformed_requests_are_answered_with_all_ones)
{
    ioreq_t r;

    setup();
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, 0, 3, 1, IOREQ_READ);          /* size 3 */
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, ~0ull);
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE, 0, 8, 1, IOREQ_READ);          /* 8-byte port */
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, ~0ull);
    r = req_of(5, PIO_BASE, 0, 4, 1, IOREQ_READ);                       /* unknown type */
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xffffffffu);
    ck_assert_uint_eq(env.refused, 3);
    ck_assert_uint_eq(pio_dev.reads, 0);
    /* nothing mapped there: all-ones, but a normal request */
    r = req_of(IOREQ_TYPE_COPY, MMIO_BASE + 0x100000, 0, 4, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xffffffffu);
    ck_assert_uint_eq(env.refused, 3);
}
END_TEST

static uint64_t sbdf(unsigned bus, unsigned slot, unsigned fn)
{
    return (uint64_t)((bus << 8) | (slot << 3) | fn) << 32;
}

START_TEST(pci_config_cycles)
{
    ioreq_t r;

    setup();
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0, 0, 4, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0x56781234);
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0x3c, 0x0b, 1, 1, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0x3c, 0, 1, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0x0b);
    /* other bus, extended space, a function that does not exist */
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(1, 3, 0), 0, 4, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xffffffffu);
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0x100, 0, 4, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xffffffffu);
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0xfe, 0, 4, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xffffffffu);
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 9, 0), 0, 2, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0xffff);
    ck_assert_uint_eq(env.refused, 0);
    /* a pointer or a rep makes no sense for config space */
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0x3c, 0x2000, 1, 1, IOREQ_WRITE);
    r.data_is_ptr = 1;
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.refused, 1);
    r = req_of(IOREQ_TYPE_PCI_CONFIG, sbdf(0, 3, 0) | 0x3c, 0, 1, 1, IOREQ_READ);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(r.data, 0x0b);
}
END_TEST

START_TEST(invalidate_and_timeoffset)
{
    uint8_t b;
    ioreq_t r;

    setup();
    ck_assert_int_eq(mapcache_read(&mc, 0x1000, &b, 1), 0);
    ck_assert_uint_eq(mapcache_mapped(&mc), 1);
    r = req_of(IOREQ_TYPE_INVALIDATE, 0, 0, 0, 0, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(n_invalidate, 1);
    ck_assert_uint_eq(mapcache_mapped(&mc), 0);
    r = req_of(IOREQ_TYPE_TIMEOFFSET, 0, 12345, 8, 1, IOREQ_WRITE);
    xen_ioreq_dispatch(&env, &r);
    ck_assert_uint_eq(env.served, 2);
    ck_assert_uint_eq(env.refused, 0);
}
END_TEST

START_TEST(shared_slot_protocol)
{
    shared_iopage_t *page = calloc(1, 4096);
    ioreq_t r;

    setup();
    ck_assert_ptr_nonnull(page);
    ck_assert(!xen_ioreq_service(&env, &page->vcpu_ioreq[0]));     /* STATE_IOREQ_NONE */
    pio_dev.next_read = 0x42;
    r = req_of(IOREQ_TYPE_PIO, PIO_BASE + 1, 0, 1, 1, IOREQ_READ);
    r.vp_eport = 7;
    page->vcpu_ioreq[1] = r;
    ck_assert(xen_ioreq_service(&env, &page->vcpu_ioreq[1]));
    ck_assert_uint_eq(page->vcpu_ioreq[1].state, STATE_IORESP_READY);
    ck_assert_uint_eq(page->vcpu_ioreq[1].data, 0x42);
    ck_assert_uint_eq(page->vcpu_ioreq[1].vp_eport, 7);
    ck_assert(!xen_ioreq_service(&env, &page->vcpu_ioreq[1]));     /* answered once */
    ck_assert_uint_eq(pio_dev.reads, 1);
    free(page);
}
END_TEST

static void put_buf(buffered_iopage_t *p, uint32_t slot, uint8_t type, unsigned size_log2, uint32_t addr,
                    uint32_t data)
{
    buf_ioreq_t *b = &p->buf_ioreq[slot % IOREQ_BUFFER_SLOT_NUM];

    memset(b, 0, sizeof(*b));
    b->type = type;
    b->dir = IOREQ_WRITE;
    b->size = size_log2 & 3;
    b->addr = addr & 0xfffff;
    b->data = data;
}

START_TEST(buffered_ring)
{
    buffered_iopage_t *p = calloc(1, 4096);

    setup();
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_le(sizeof(*p), 4096);
    /* start near the end so the ring wraps; the 8-byte write spans the wrap */
    p->read_pointer = p->write_pointer = IOREQ_BUFFER_SLOT_NUM - 2;
    put_buf(p, p->write_pointer + 0, IOREQ_TYPE_PIO, 1, PIO_BASE + 4, 0xbeef);
    put_buf(p, p->write_pointer + 1, IOREQ_TYPE_COPY, 3, 0x80, 0x55667788);
    put_buf(p, p->write_pointer + 2, 0, 0, 0, 0x11223344);              /* upper half */
    put_buf(p, p->write_pointer + 3, IOREQ_TYPE_PIO, 0, PIO_BASE + 1, 0x1234);
    p->write_pointer += 4;
    /* MMIO at 0x80 is below our fake device: map a region there too */
    io_region_unmap(&m.bus, &mmio_r);
    ck_assert_int_eq(io_region_map(&m.bus, &mmio_r, 0), 0);
    ck_assert_int_eq(xen_bufioreq_drain(&env, p), 3);
    ck_assert_uint_eq(p->read_pointer, p->write_pointer);
    ck_assert_uint_eq(mmio_dev.last_val, 0x1122334455667788ull);
    ck_assert_uint_eq(mmio_dev.last_size, 8);
    ck_assert_uint_eq(pio_dev.writes, 2);
    ck_assert_uint_eq(pio_dev.last_val, 0x34);
    ck_assert_uint_eq(env.buffered, 3);
    ck_assert_int_eq(xen_bufioreq_drain(&env, p), 0);
    /* a buffered read is refused, but consumed */
    put_buf(p, p->write_pointer, IOREQ_TYPE_PIO, 0, PIO_BASE, 0);
    p->buf_ioreq[p->write_pointer % IOREQ_BUFFER_SLOT_NUM].dir = IOREQ_READ;
    p->write_pointer++;
    ck_assert_int_eq(xen_bufioreq_drain(&env, p), 1);
    ck_assert_uint_eq(env.refused, 1);
    ck_assert_uint_eq(pio_dev.reads, 0);
    /* a ring claiming more than it holds is abandoned untouched */
    p->write_pointer = p->read_pointer + IOREQ_BUFFER_SLOT_NUM + 1;
    ck_assert_int_eq(xen_bufioreq_drain(&env, p), -1);
    ck_assert_uint_eq(pio_dev.writes, 2);
    /* an 8-byte write whose upper half is not there yet */
    p->write_pointer = p->read_pointer;
    put_buf(p, p->write_pointer, IOREQ_TYPE_COPY, 3, 0x80, 1);
    p->write_pointer++;
    ck_assert_int_eq(xen_bufioreq_drain(&env, p), -1);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xen-ioreq");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, mapcache_roundtrip_across_buckets);
    tcase_add_test(tc, mapcache_refuses_holes_and_end_of_ram_all_or_nothing);
    tcase_add_test(tc, mapcache_lru_eviction_and_invalidate);
    tcase_add_test(tc, mapcache_budget_is_bounded);
    tcase_add_test(tc, pio_and_mmio_direct);
    tcase_add_test(tc, rep_stos_fills_mmio);
    tcase_add_test(tc, rep_ins_and_outs_through_guest_memory);
    tcase_add_test(tc, rep_bounds_are_enforced);
    tcase_add_test(tc, malformed_requests_are_answered_with_all_ones);
    tcase_add_test(tc, pci_config_cycles);
    tcase_add_test(tc, invalidate_and_timeoffset);
    tcase_add_test(tc, shared_slot_protocol);
    tcase_add_test(tc, buffered_ring);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
