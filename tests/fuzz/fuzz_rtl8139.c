/* libFuzzer over the RTL8139C+ register and descriptor paths: a NIC at
 * 00:03.0 on a fake accelerator (1 MiB of RAM) with a datagram socketpair
 * as its backend, built afresh for every input. Ops (first byte % 9):
 *   0 register write: offset, width, value (u32)     1 register read
 *   2 RAM write: offset (x16), length, bytes
 *   3 descriptor: ring (tx/rx), index, opts1 (u32), buffer (x16)
 *   4 frame from the "tap": destination kind, length (u16), pattern
 *   5 drain what the NIC sent             6 PCI config write (reg, u32)
 *   7 run the loop once                   8 Xen platform unplug
 *   9 restore a section from the input bytes: when the loader accepts it,
 *     it becomes the live state (as a restore does) and fuzzing goes on
 * Invariants: no crash or sanitizer report; the frames the NIC sent are
 * each at most NET_FRAME_MAX bytes; the device's state always saves into
 * a section its own loader accepts; any state the loader accepts is safe.
 * FUZZ_RTL8139_WRITE_SEED=DIR writes seed inputs and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/board/machine.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/rtl8139.h"
#include "dm/net/net.h"
#include "tests/lib/fakemachine.h"

#define RAM_SIZE (1u << 20)
#define IOBASE   0xc000u
#define MMIOBASE 0xe0000000u
#define TXRING   0x1000u
#define RXRING   0x2000u


static uint8_t ram[RAM_SIZE];
static struct fake_machine fm;
static struct loop *loop;
static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed = getenv("FUZZ_RTL8139_WRITE_SEED");

    if (seed) {
        write_seeds(seed);
        exit(0);
    }
    loop = loop_new();
    if (!loop)
        abort();
    return 0;
}

static uint64_t get(const uint8_t **p, const uint8_t *end, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n && *p < end; i++)
        v |= (uint64_t)*(*p)++ << (8 * i);
    return v;
}

static void drain(int fd)
{
    static uint8_t buf[NET_FRAME_MAX + 16];
    ssize_t r;

    while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) >= 0)
        if (r > NET_FRAME_MAX)
            abort();
}

static void check_state_roundtrip(const char *name)
{
    static uint8_t buf[VMSTATE_MAX_SECTION];
    const struct vmstate_dev *d = vmstate_find(name);
    struct vmwriter w = { buf, 0, sizeof(buf), false };
    struct rtl8139_state staging;
    struct vmreader r;
    char err[128];

    if (!d)
        abort();
    vmstate_save(d, &w);
    memcpy(&staging, d->state, sizeof(staging));
    r = (struct vmreader){ buf, w.len, 0, false };
    if (w.err || vmstate_load(d, &staging, &r, err, sizeof(err)) < 0 || r.off != w.len)
        abort();
}

/* A section from the input; applied only if the loader accepts it. */
static const uint8_t *load_section(const char *name, const uint8_t *p, const uint8_t *end)
{
    const struct vmstate_dev *d = vmstate_find(name);
    struct rtl8139_state staging;
    size_t len = (size_t)(end - p);
    struct vmreader r;
    char err[128];

    if (!d)
        abort();
    if (len > 200)
        len = 200;
    memcpy(&staging, d->state, sizeof(staging));
    r = (struct vmreader){ p, len, 0, false };
    if (vmstate_load(d, &staging, &r, err, sizeof(err)) == 0) {
        memcpy(d->state, &staging, sizeof(staging));
        d->post_load(d->opaque);
    }
    return p + r.off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t dsts[4][6] = {
        { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, { 0x02, 0x00, 0x00, 0x00, 0x00, 0x09 },
    };
    static uint8_t frame[2048];
    const uint8_t *p = data, *end = data + size;
    struct rtl8139 *n;
    struct net_backend *nb;
    char err[128];
    unsigned ops = 0;
    int sv[2];

    fake_machine_init(&fm, ram, RAM_SIZE);
    memset(ram, 0, sizeof(ram));
    fm.m.loop = loop;
    fm.m.state = RUN_RUNNING;
    fm.m.pci = pci_bus_new(&fm.m.bus, machine_pci_intx(&fm.m), (struct irq_line){ 0 });
    if (!fm.m.pci || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    nb = net_backend_new("net0", sv[0], loop, err, sizeof(err));
    n = nb ? rtl8139_new(&fm.m.bus, fm.m.pci, &fm.acc, 3, mac, nb, NULL, NULL) : NULL;
    if (!n)
        abort();
    pci_config_write(fm.m.pci, 3, 0, 0x10, IOBASE, 4);
    pci_config_write(fm.m.pci, 3, 0, 0x14, MMIOBASE, 4);
    pci_config_write(fm.m.pci, 3, 0, 0x04, 0x07, 2);

    while (p < end && ops++ < 2048) {
        uint8_t op = *p++ % 10;

        switch (op) {
        case 0: {
            unsigned off = (unsigned)get(&p, end, 1), w = 1u << (get(&p, end, 1) & 3);
            uint64_t v = get(&p, end, 4);

            if (w == 8 || (off & 1))
                io_write(&fm.m.bus, IO_MMIO, MMIOBASE + off, v, w);
            else
                io_write(&fm.m.bus, IO_PIO, IOBASE + off, v, w > 4 ? 4 : w);
            break;
        }
        case 1: {
            unsigned off = (unsigned)get(&p, end, 1), w = 1u << (get(&p, end, 1) & 3);

            io_read(&fm.m.bus, w == 8 ? IO_MMIO : IO_PIO, (w == 8 ? MMIOBASE : IOBASE) + off, w);
            break;
        }
        case 2: {
            uint32_t at = (uint32_t)get(&p, end, 2) << 4;
            size_t len = (size_t)get(&p, end, 1);

            if (len > (size_t)(end - p))
                len = (size_t)(end - p);
            if (at + len <= RAM_SIZE)
                memcpy(ram + at, p, len);
            p += len;
            break;
        }
        case 3: {
            uint32_t sel = (uint32_t)get(&p, end, 1), opts1 = (uint32_t)get(&p, end, 4);
            uint32_t buf = (uint32_t)get(&p, end, 2) << 4;
            uint8_t *d = ram + ((sel & 1) ? RXRING : TXRING) + 16 * ((sel >> 1) & 63);

            memcpy(d, &opts1, 4);
            memset(d + 4, 0, 4);
            memcpy(d + 8, &buf, 4);
            memset(d + 12, 0, 4);
            break;
        }
        case 4: {
            unsigned kind = (unsigned)get(&p, end, 1), len = (unsigned)get(&p, end, 2) % sizeof(frame);
            uint8_t pat = (uint8_t)get(&p, end, 1);

            for (unsigned i = 0; i < len; i++)
                frame[i] = (uint8_t)(pat + i * (kind | 1));
            if (len >= 6)
                memcpy(frame, dsts[kind & 3], 6);
            if (send(sv[1], frame, len, MSG_DONTWAIT) >= 0)
                loop_once(loop, 0);
            break;
        }
        case 5:
            drain(sv[1]);
            break;
        case 6: {
            unsigned reg = (unsigned)get(&p, end, 1) & 0xfc;

            pci_config_write(fm.m.pci, 3, 0, reg, (uint32_t)get(&p, end, 4), 4);
            break;
        }
        case 7:
            loop_once(loop, 0);
            break;
        case 8:
            if (get(&p, end, 1) == 0xa5)
                rtl8139_unplug(n);
            break;
        case 9:
            p = load_section("rtl8139.3", p, end);
            break;
        }
    }
    drain(sv[1]);
    check_state_roundtrip("rtl8139.3");
    rtl8139_free(n);
    close(sv[1]);
    pci_bus_free(fm.m.pci);
    vmstate_unregister_all();
    return 0;
}

/* ---- seeds: a legacy transmit, a C+ transmit and receive ---------------- */

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }
static void op_w(FILE *f, uint8_t off, uint8_t wlog, uint32_t v)
{
    uint8_t b[7] = { 0, off, wlog, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

    put(f, b, sizeof(b));
}
static void op_desc(FILE *f, uint8_t sel, uint32_t opts1, uint16_t buf16)
{
    uint8_t b[8] = { 3, sel, (uint8_t)opts1, (uint8_t)(opts1 >> 8), (uint8_t)(opts1 >> 16),
                     (uint8_t)(opts1 >> 24), (uint8_t)buf16, (uint8_t)(buf16 >> 8) };

    put(f, b, sizeof(b));
}
static void op_frame(FILE *f, uint8_t kind, uint16_t len)
{
    uint8_t b[5] = { 4, kind, (uint8_t)len, (uint8_t)(len >> 8), 0x33 };

    put(f, b, sizeof(b));
}

static void write_seeds(const char *dir)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/legacy", dir);
    if (!(f = fopen(path, "wb")))
        exit(1);
    op_w(f, REG_CR, 0, CR_RE | CR_TE);
    op_w(f, REG_RCR, 2, RCR_AB | RCR_APM | RCR_AM | RCR_WRAP);
    op_w(f, REG_RBSTART, 2, 0x10000);
    op_w(f, REG_IMR, 1, 0xffff);
    op_w(f, REG_TSAD0, 2, 0x30000);
    op_w(f, REG_TSD0, 2, 200);
    op_frame(f, 0, 300);
    op_frame(f, 1, 60);
    op_w(f, REG_CAPR, 1, 0x1000);
    put(f, "\x05", 1);
    fclose(f);

    snprintf(path, sizeof(path), "%s/cplus", dir);
    if (!(f = fopen(path, "wb")))
        exit(1);
    op_w(f, REG_CPCR, 1, CPCR_TXON | CPCR_RXON);
    op_w(f, REG_RDSAR, 2, RXRING);
    op_w(f, REG_TSAD0, 2, TXRING);
    op_w(f, REG_CR, 0, CR_RE | CR_TE);
    op_w(f, REG_RCR, 2, RCR_AB | RCR_APM);
    op_desc(f, 1, DESC_OWN | 1536, 0x400);
    op_desc(f, 3, DESC_OWN | DESC_EOR | 1536, 0x500);
    op_desc(f, 0, DESC_OWN | DESC_FS | DESC_LS | TXD_IPCS | TXD_UDPCS | 100, 0x600);
    op_w(f, REG_TPPOLL, 0, TPPOLL_NPQ);
    op_frame(f, 0, 200);
    op_frame(f, 0, 200);
    op_frame(f, 0, 200);
    op_w(f, REG_ISR, 1, 0xffff);
    put(f, "\x05", 1);
    fclose(f);
}
