/* libFuzzer over the Xen ioreq decoder (dm/accel/xen-ioreq.c): the requests
 * Xen writes for a guest's accesses, whose addresses, sizes, rep counts and
 * directions the guest chooses, served against the whole xenfv machine of
 * fuzz_devices with guest RAM behind the bounded mapping cache (1 MiB with a
 * hole at 0xa0000-0xbffff, as the VGA window is). Reset before every input.
 * The input is a sequence of operations, byte 0 of each its kind:
 *   0 one request through xen_ioreq_dispatch: type u8, flags u8 (bit 0 dir,
 *     bit 1 df, bit 2 data_is_ptr), size u8, count u16, addr u64, data u64
 *   1 the same request through the shared-slot protocol (xen_ioreq_service),
 *     state u8 first
 *   2 a buffered page: read and write pointers u32 each, then up to 16 slots
 *     of 8 bytes, drained (xen_bufioreq_drain)
 *   3 RAM write (addr u20, 8 bytes): what rep copies read
 * FUZZ_IOREQ_WRITE_SEED=DIR writes the seed inputs and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/accel/xen-ioreq.h"
#include "dm/accel/xen-mapcache.h"
#include "dm/board/machine.h"
#include "dm/core/config.h"
#include "dm/core/loop.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/fuzzinput.h"

#define RAM_SIZE   (1u << 20)
#define HOLE_FIRST 0xa0u
#define HOLE_END   0xc0u
#define OP_REQ     0
#define OP_SLOT    1
#define OP_BUF     2
#define OP_RAM     3
#define BUF_SLOTS  16

static uint8_t ram[RAM_SIZE];
static struct xsdm_config cfg;
static struct fake_machine fm;
static struct loop *loop;
static struct mapcache mc;
static struct xen_ioreq_env env;
static buffered_iopage_t bufpage;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

/* The guest's frames, with the hole absent as the VGA window is from a DM. */
static void *ram_map(void *opaque, uint64_t first_pfn, size_t npages, int *err)
{
    size_t i, ok = 0;

    (void)opaque;
    for (i = 0; i < npages; i++) {
        uint64_t pfn = first_pfn + i;

        err[i] = pfn < RAM_SIZE / 4096 && !(pfn >= HOLE_FIRST && pfn < HOLE_END) ? 0 : -1;
        ok += !err[i];
    }
    return ok ? ram + first_pfn * 4096 : NULL;
}

static void ram_unmap(void *opaque, void *addr, size_t npages)
{
    (void)opaque;
    (void)addr;
    (void)npages;
}

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
    mapcache_invalidate(opaque);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed = getenv("FUZZ_IOREQ_WRITE_SEED");
    struct mapcache_backend be = { ram_map, ram_unmap, NULL };

    (void)argc;
    (void)argv;
    if (seed) {
        write_seeds(seed);
        exit(0);
    }
    loop = loop_new();
    fake_machine_init(&fm, ram, RAM_SIZE);
    if (!loop || fake_machine_xenfv(&fm, &cfg, loop, true) < 0)
        abort();
    /* a few buckets, so that the fuzzer reaches eviction */
    mapcache_init(&mc, &be, 4);
    env.bus = &fm.m.bus;
    env.machine = &fm.m;
    env.mem_read = env_read;
    env.mem_write = env_write;
    env.invalidate = env_invalidate;
    env.opaque = &mc;
    return 0;
}

static ioreq_t get_req(const uint8_t **p, const uint8_t *end)
{
    ioreq_t r;
    unsigned flags;

    memset(&r, 0, sizeof(r));
    r.type = (uint8_t)fuzz_get(p, end, 1);
    flags = (unsigned)fuzz_get(p, end, 1);
    r.dir = flags & 1;
    r.df = (flags >> 1) & 1;
    r.data_is_ptr = (flags >> 2) & 1;
    r.size = (uint32_t)fuzz_get(p, end, 1);
    r.count = (uint32_t)fuzz_get(p, end, 2);
    r.addr = fuzz_get(p, end, 8);
    r.data = fuzz_get(p, end, 8);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    unsigned ops = 0;

    fake_machine_reset(&fm);
    mapcache_invalidate(&mc);
    while (p < end && ops++ < 1024) {
        switch (*p++ % 4) {
        case OP_REQ: {
            ioreq_t r = get_req(&p, end);

            xen_ioreq_dispatch(&env, &r);
            break;
        }
        case OP_SLOT: {
            uint8_t state = (uint8_t)fuzz_get(&p, end, 1);
            ioreq_t r = get_req(&p, end);

            r.state = state;
            (void)xen_ioreq_service(&env, &r);
            break;
        }
        case OP_BUF: {
            size_t n;

            memset(&bufpage, 0, sizeof(bufpage));
            bufpage.read_pointer = (uint32_t)fuzz_get(&p, end, 4);
            bufpage.write_pointer = (uint32_t)fuzz_get(&p, end, 4);
            n = (size_t)(end - p) < BUF_SLOTS * sizeof(buf_ioreq_t) ? (size_t)(end - p)
                                                                     : BUF_SLOTS * sizeof(buf_ioreq_t);
            memcpy(bufpage.buf_ioreq, p, n);
            p += n;
            (void)xen_bufioreq_drain(&env, &bufpage);
            break;
        }
        default:
            fuzz_ram_write(ram, RAM_SIZE, &p, end);
            break;
        }
    }
    loop_once(loop, 0);
    return 0;
}

/* ---- seeds ----------------------------------------------------------------- */

static void req(struct fuzz_seed *s, uint8_t type, unsigned flags, unsigned size, unsigned count, uint64_t addr,
                uint64_t data)
{
    fuzz_seed_put(s, OP_REQ, 1);
    fuzz_seed_put(s, type, 1);
    fuzz_seed_put(s, flags, 1);
    fuzz_seed_put(s, size, 1);
    fuzz_seed_put(s, count, 2);
    fuzz_seed_put(s, addr, 8);
    fuzz_seed_put(s, data, 8);
}

/* The seed so far as dir/name; the next one starts empty. */
static void save(const char *dir, const char *name, struct fuzz_seed *s)
{
    fuzz_seed_save(dir, name, s);
    s->n = 0;
}

static void write_seeds(const char *dir)
{
    struct fuzz_seed s = { .n = 0 };

    /* COM1: a byte out, the line status in, a REP OUTSB from RAM */
    req(&s, IOREQ_TYPE_PIO, IOREQ_WRITE, 1, 1, 0x3f8, 'x');
    req(&s, IOREQ_TYPE_PIO, IOREQ_READ, 1, 1, 0x3fd, 0);
    req(&s, IOREQ_TYPE_PIO, IOREQ_WRITE | 4, 1, 16, 0x3f8, 0x1000);
    save(dir, "pio", &s);
    /* a REP STOSW of the text window (vgacon's clear), upwards and downwards */
    req(&s, IOREQ_TYPE_COPY, IOREQ_WRITE, 2, 2000, 0xb8000, 0x0720);
    req(&s, IOREQ_TYPE_COPY, IOREQ_WRITE | 2, 2, 16, 0xb8100, 0x0741);
    req(&s, IOREQ_TYPE_COPY, IOREQ_READ, 2, 4, 0xb8000, 0);
    save(dir, "stos", &s);
    /* REP MOVS RAM -> MMIO and back, one across the hole */
    req(&s, IOREQ_TYPE_COPY, IOREQ_WRITE | 4, 4, 64, 0xa0000, 0x2000);
    req(&s, IOREQ_TYPE_COPY, IOREQ_READ | 4, 4, 64, 0xa0000, 0x9ff80);
    save(dir, "movs", &s);
    /* PCI config: the host bridge's ID, a BAR written */
    req(&s, IOREQ_TYPE_PCI_CONFIG, IOREQ_READ, 4, 1, 0, 0);
    req(&s, IOREQ_TYPE_PCI_CONFIG, IOREQ_WRITE, 4, 1, (uint64_t)(2 << 3) << 32 | 0x10, 0xf0000000);
    req(&s, IOREQ_TYPE_INVALIDATE, 0, 0, 1, 0, 0);
    save(dir, "config", &s);
    /* a buffered page with two writes to COM1's scratch register */
    fuzz_seed_put(&s, OP_BUF, 1);
    fuzz_seed_put(&s, 0, 4);
    fuzz_seed_put(&s, 2, 4);
    for (unsigned i = 0; i < 2; i++) {
        buf_ioreq_t b;

        memset(&b, 0, sizeof(b));
        b.type = IOREQ_TYPE_PIO;
        b.dir = IOREQ_WRITE;
        b.size = 0;
        b.addr = 0x3ff;
        b.data = 0x55 + i;
        fuzz_seed_put(&s, 0, 0);
        memcpy(s.b + s.n, &b, sizeof(b));
        s.n += sizeof(b);
    }
    save(dir, "buffered", &s);
    /* the shared-slot protocol */
    fuzz_seed_put(&s, OP_SLOT, 1);
    fuzz_seed_put(&s, STATE_IOREQ_READY, 1);
    fuzz_seed_put(&s, IOREQ_TYPE_PIO, 1);
    fuzz_seed_put(&s, IOREQ_READ, 1);
    fuzz_seed_put(&s, 1, 1);
    fuzz_seed_put(&s, 1, 2);
    fuzz_seed_put(&s, 0x3fd, 8);
    fuzz_seed_put(&s, 0, 8);
    save(dir, "slot", &s);
}
