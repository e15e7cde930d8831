/* libFuzzer over the e1000 (82540EM) register and descriptor paths: a NIC
 * at 00:03.0 on a fake accelerator (1 MiB of RAM) with a datagram
 * socketpair as its backend, built afresh for every input. Ops (first
 * byte % 11):
 *   0 register write: offset (x4, u16), value (u32)     1 register read
 *   2 RAM write: offset (x16), length, bytes
 *   3 TX descriptor: index, address (x16), cmd/length (u32), upper (u32)
 *   4 RX descriptor: index, buffer (x16)
 *   5 frame from the "tap": destination kind, length (u16), pattern
 *   6 drain what the NIC sent             7 PCI config write (reg, u32)
 *   8 run the loop once                   9 Xen platform unplug
 *  10 restore a section from the input bytes: when the loader accepts it,
 *     it becomes the live state (as a restore does) and fuzzing goes on
 * Register offsets are drawn from the registers the device has (so the
 * fuzzer reaches them) or any offset, and reach BAR0 or IOADDR/IODATA.
 * Invariants: no crash or sanitizer report; every frame sent is at most
 * NET_FRAME_MAX bytes; the state always saves into a section its own
 * loader accepts; any state the loader accepts is safe.
 * FUZZ_E1000_WRITE_SEED=DIR writes seed inputs and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/board/machine.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/e1000-regs.h"
#include "dm/devices/e1000.h"
#include "dm/net/net.h"
#include "tests/lib/fakemachine.h"

#define RAM_SIZE (1u << 20)
#define MMIOBASE 0xe0000000u
#define IOBASE   0xc000u
#define TXRING   0x1000u
#define RXRING   0x2000u
#define SECTION  "e1000.3"

static uint8_t ram[RAM_SIZE];
static struct fake_machine fm;
static struct loop *loop;
static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

/* The registers worth aiming at (op 0 picks one when its selector says). */
static const uint16_t hot[] = {
    E1K_CTRL, E1K_STATUS, E1K_EECD, E1K_EERD, E1K_CTRL_EXT, E1K_MDIC, E1K_VET, E1K_ICR, E1K_ICS, E1K_IMS,
    E1K_IMC, E1K_RCTL, E1K_TCTL, E1K_PBA, E1K_RDBAL, E1K_RDBAH, E1K_RDLEN, E1K_RDH, E1K_RDT, E1K_TDBAL,
    E1K_TDBAH, E1K_TDLEN, E1K_TDH, E1K_TDT, E1K_STATS + 0x74, E1K_RXCSUM, E1K_MTA, E1K_RA, E1K_RA + 4,
    E1K_RA + 8, E1K_RA + 12, E1K_VFTA,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed = getenv("FUZZ_E1000_WRITE_SEED");

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

static void check_state_roundtrip(void)
{
    static uint8_t buf[VMSTATE_MAX_SECTION];
    const struct vmstate_dev *d = vmstate_find(SECTION);
    struct vmwriter w = { buf, 0, sizeof(buf), false };
    static struct e1000_state staging;
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
static const uint8_t *load_section(const uint8_t *p, const uint8_t *end)
{
    const struct vmstate_dev *d = vmstate_find(SECTION);
    static struct e1000_state staging;
    size_t len = (size_t)(end - p);
    struct vmreader r;
    char err[128];

    if (!d)
        abort();
    if (len > 2048)
        len = 2048;
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
    static uint8_t frame[4096];
    const uint8_t *p = data, *end = data + size;
    struct e1000 *n;
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
    n = nb ? e1000_new(&fm.m.bus, fm.m.pci, &fm.acc, 3, mac, nb, NULL, NULL) : NULL;
    if (!n)
        abort();
    pci_config_write(fm.m.pci, 3, 0, 0x10, MMIOBASE, 4);
    pci_config_write(fm.m.pci, 3, 0, 0x14, IOBASE, 4);
    pci_config_write(fm.m.pci, 3, 0, 0x04, 0x07, 2);

    while (p < end && ops++ < 2048) {
        uint8_t op = *p++ % 11;

        switch (op) {
        case 0: {
            unsigned sel = (unsigned)get(&p, end, 1), raw = (unsigned)get(&p, end, 2);
            uint32_t off = sel & 1 ? hot[raw % (sizeof(hot) / sizeof(hot[0]))] : (raw * 4u) % E1000_MMIO_SIZE;
            uint64_t v = get(&p, end, 4);

            if (sel & 2) {
                io_write(&fm.m.bus, IO_PIO, IOBASE + E1K_IOADDR, off, 4);
                io_write(&fm.m.bus, IO_PIO, IOBASE + E1K_IODATA, v, 4);
            } else {
                io_write(&fm.m.bus, IO_MMIO, MMIOBASE + off + ((sel >> 2) & 3), v, 1u << ((sel >> 4) & 3));
            }
            break;
        }
        case 1: {
            unsigned sel = (unsigned)get(&p, end, 1), raw = (unsigned)get(&p, end, 2);
            uint32_t off = sel & 1 ? hot[raw % (sizeof(hot) / sizeof(hot[0]))] : (raw * 4u) % E1000_MMIO_SIZE;

            io_read(&fm.m.bus, IO_MMIO, MMIOBASE + off + ((sel >> 2) & 3), 1u << ((sel >> 4) & 3));
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
            unsigned idx = (unsigned)get(&p, end, 1) & 63;
            uint64_t addr = get(&p, end, 2) << 4;
            uint32_t cmdlen = (uint32_t)get(&p, end, 4), upper = (uint32_t)get(&p, end, 4);
            uint8_t *d = ram + TXRING + 16 * idx;

            memcpy(d, &addr, 8);
            memcpy(d + 8, &cmdlen, 4);
            memcpy(d + 12, &upper, 4);
            break;
        }
        case 4: {
            unsigned idx = (unsigned)get(&p, end, 1) & 63;
            uint64_t addr = get(&p, end, 2) << 4;
            uint8_t *d = ram + RXRING + 16 * idx;

            memcpy(d, &addr, 8);
            memset(d + 8, 0, 8);
            break;
        }
        case 5: {
            unsigned kind = (unsigned)get(&p, end, 1), len = (unsigned)get(&p, end, 2) % sizeof(frame);
            uint8_t pat = (uint8_t)get(&p, end, 1);

            for (unsigned i = 0; i < len; i++)
                frame[i] = (uint8_t)(pat + i * (kind | 1));
            if (len >= 6)
                memcpy(frame, dsts[kind & 3], 6);
            if (len >= 16 && (kind & 4)) {
                frame[12] = 0x81;           /* VLAN tagged */
                frame[13] = 0x00;
            }
            if (send(sv[1], frame, len, MSG_DONTWAIT) >= 0)
                loop_once(loop, 0);
            break;
        }
        case 6:
            drain(sv[1]);
            break;
        case 7: {
            unsigned reg = (unsigned)get(&p, end, 1) & 0xfc;

            pci_config_write(fm.m.pci, 3, 0, reg, (uint32_t)get(&p, end, 4), 4);
            break;
        }
        case 8:
            loop_once(loop, 0);
            break;
        case 9:
            if (get(&p, end, 1) == 0xa5)
                e1000_unplug(n);
            break;
        case 10:
            p = load_section(p, end);
            break;
        }
    }
    drain(sv[1]);
    check_state_roundtrip();
    e1000_free(n);
    close(sv[1]);
    pci_bus_free(fm.m.pci);
    vmstate_unregister_all();
    return 0;
}

/* ---- seeds: a driver bring-up, transmit with offloads, receive ---------- */

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }

/* MMIO write of a register by its offset (any offset: raw selector). */
static void op_w(FILE *f, uint32_t off, uint32_t v)
{
    uint8_t b[8] = { 0, 0x00, (uint8_t)(off / 4), (uint8_t)(off / 4 >> 8),
                     (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

    put(f, b, sizeof(b));
}

static void op_txd(FILE *f, uint8_t idx, uint16_t addr16, uint32_t cmdlen, uint32_t upper)
{
    uint8_t b[12] = { 3, idx, (uint8_t)addr16, (uint8_t)(addr16 >> 8),
                      (uint8_t)cmdlen, (uint8_t)(cmdlen >> 8), (uint8_t)(cmdlen >> 16), (uint8_t)(cmdlen >> 24),
                      (uint8_t)upper, (uint8_t)(upper >> 8), (uint8_t)(upper >> 16), (uint8_t)(upper >> 24) };

    put(f, b, sizeof(b));
}

static void op_rxd(FILE *f, uint8_t idx, uint16_t addr16)
{
    uint8_t b[4] = { 4, idx, (uint8_t)addr16, (uint8_t)(addr16 >> 8) };

    put(f, b, sizeof(b));
}

static void op_frame(FILE *f, uint8_t kind, uint16_t len)
{
    uint8_t b[5] = { 5, kind, (uint8_t)len, (uint8_t)(len >> 8), 0x33 };

    put(f, b, sizeof(b));
}

static FILE *seed_open(const char *dir, const char *name)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")))
        exit(1);
    return f;
}

static void write_seeds(const char *dir)
{
    FILE *f = seed_open(dir, "rx");

    op_w(f, E1K_CTRL, CTRL_RST);
    op_w(f, E1K_IMS, ICR_RXT0 | ICR_RXDMT0 | ICR_LSC);
    for (uint8_t i = 0; i < 8; i++)
        op_rxd(f, i, (uint16_t)(0x4000 + 0x80 * i));
    op_w(f, E1K_RDBAL, RXRING);
    op_w(f, E1K_RDLEN, 128);
    op_w(f, E1K_RDT, 7);
    op_w(f, E1K_MTA, 1u << 0x10);
    op_w(f, E1K_RCTL, RCTL_EN | RCTL_BAM | RCTL_VFE);
    op_w(f, E1K_CTRL, CTRL_SLU | CTRL_VME);
    op_frame(f, 0, 300);
    op_frame(f, 1, 60);
    op_frame(f, 2, 1600);
    op_frame(f, 4, 200);
    op_w(f, E1K_RDT, 3);
    put(f, "\x06", 1);
    fclose(f);

    f = seed_open(dir, "tx");
    op_w(f, E1K_TDBAL, TXRING);
    op_w(f, E1K_TDLEN, 128);
    op_w(f, E1K_TCTL, TCTL_EN);
    op_txd(f, 0, 0x500, 100 | TXD_CMD_EOP | TXD_CMD_RS | TXD_CMD_IC | 40u << TXD_CSO_SHIFT, 20u << TXD_CSS_SHIFT);
    op_txd(f, 1, 0x0e, TXD_CMD_DEXT | TXD_DTYP_CTX | TXC_TUCMD_IP | TXC_TUCMD_TCP | TXD_CMD_TSE | 1000,
           54u << TXC_HDRLEN_SHIFT | 100u << TXC_MSS_SHIFT);
    op_txd(f, 2, 0x500, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_TSE | 600, TXD_POPTS_TXSM | TXD_POPTS_IXSM);
    op_txd(f, 3, 0x600, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_EOP | TXD_CMD_RS | TXD_CMD_VLE | 454,
           0x0123u << TXD_SPECIAL_SHIFT);
    op_w(f, E1K_TDT, 4);
    put(f, "\x06", 1);
    fclose(f);
}
