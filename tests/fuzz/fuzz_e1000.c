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

#include "dm/core/iobus.h"
#include "dm/core/loop.h"
#include "dm/devices/e1000-regs.h"
#include "dm/devices/e1000.h"
#include "tests/lib/nicfuzz.h"

#define MMIOBASE 0xe0000000u
#define IOBASE   0xc000u
#define TXRING   0x1000u
#define RXRING   0x2000u
#define SECTION  "e1000.3"

static struct nicfuzz h;

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
    nicfuzz_init(&h, "FUZZ_E1000_WRITE_SEED", write_seeds);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct iobus *bus = &h.fm.m.bus;
    struct e1000 *n;
    unsigned ops = 0;

    nicfuzz_begin(&h);
    n = e1000_new(bus, h.fm.m.pci, &h.fm.acc, NICFUZZ_SLOT, nicfuzz_mac, h.nb, NULL, NULL);
    if (!n)
        abort();
    nicfuzz_enable(&h, MMIOBASE, IOBASE);

    while (p < end && ops++ < 2048) {
        uint8_t op = *p++ % 11;

        switch (op) {
        case 0: {
            unsigned sel = (unsigned)nicfuzz_get(&p, end, 1), raw = (unsigned)nicfuzz_get(&p, end, 2);
            uint32_t off = sel & 1 ? hot[raw % (sizeof(hot) / sizeof(hot[0]))] : (raw * 4u) % E1000_MMIO_SIZE;
            uint64_t v = nicfuzz_get(&p, end, 4);

            if (sel & 2) {
                io_write(bus, IO_PIO, IOBASE + E1K_IOADDR, off, 4);
                io_write(bus, IO_PIO, IOBASE + E1K_IODATA, v, 4);
            } else {
                io_write(bus, IO_MMIO, MMIOBASE + off + ((sel >> 2) & 3), v, 1u << ((sel >> 4) & 3));
            }
            break;
        }
        case 1: {
            unsigned sel = (unsigned)nicfuzz_get(&p, end, 1), raw = (unsigned)nicfuzz_get(&p, end, 2);
            uint32_t off = sel & 1 ? hot[raw % (sizeof(hot) / sizeof(hot[0]))] : (raw * 4u) % E1000_MMIO_SIZE;

            io_read(bus, IO_MMIO, MMIOBASE + off + ((sel >> 2) & 3), 1u << ((sel >> 4) & 3));
            break;
        }
        case 2:
            nicfuzz_ram_write(&h, &p, end);
            break;
        case 3: {
            unsigned idx = (unsigned)nicfuzz_get(&p, end, 1) & 63;
            uint64_t addr = nicfuzz_get(&p, end, 2) << 4;
            uint32_t cmdlen = (uint32_t)nicfuzz_get(&p, end, 4), upper = (uint32_t)nicfuzz_get(&p, end, 4);
            uint8_t *d = h.ram + TXRING + 16 * idx;

            memcpy(d, &addr, 8);
            memcpy(d + 8, &cmdlen, 4);
            memcpy(d + 12, &upper, 4);
            break;
        }
        case 4: {
            unsigned idx = (unsigned)nicfuzz_get(&p, end, 1) & 63;
            uint64_t addr = nicfuzz_get(&p, end, 2) << 4;
            uint8_t *d = h.ram + RXRING + 16 * idx;

            memcpy(d, &addr, 8);
            memset(d + 8, 0, 8);
            break;
        }
        case 5:
            nicfuzz_frame(&h, &p, end, 4096, true);
            break;
        case 6:
            nicfuzz_drain(&h);
            break;
        case 7:
            nicfuzz_pci_write(&h, &p, end);
            break;
        case 8:
            loop_once(h.loop, 0);
            break;
        case 9:
            if (nicfuzz_get(&p, end, 1) == 0xa5)
                e1000_unplug(n);
            break;
        case 10:
            p = nicfuzz_load_section(SECTION, p, end, 2048);
            break;
        }
    }
    nicfuzz_drain(&h);
    nicfuzz_check_roundtrip(SECTION);
    e1000_free(n);
    nicfuzz_end(&h);
    return 0;
}

/* ---- seeds: a driver bring-up, transmit with offloads, receive ---------- */

/* MMIO write of a register by its offset (any offset: raw selector). */
static void op_w(FILE *f, uint32_t off, uint32_t v)
{
    uint8_t b[8] = { 0, 0x00, (uint8_t)(off / 4), (uint8_t)(off / 4 >> 8),
                     (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

    nicfuzz_put(f, b, sizeof(b));
}

static void op_txd(FILE *f, uint8_t idx, uint16_t addr16, uint32_t cmdlen, uint32_t upper)
{
    uint8_t b[12] = { 3, idx, (uint8_t)addr16, (uint8_t)(addr16 >> 8),
                      (uint8_t)cmdlen, (uint8_t)(cmdlen >> 8), (uint8_t)(cmdlen >> 16), (uint8_t)(cmdlen >> 24),
                      (uint8_t)upper, (uint8_t)(upper >> 8), (uint8_t)(upper >> 16), (uint8_t)(upper >> 24) };

    nicfuzz_put(f, b, sizeof(b));
}

static void op_rxd(FILE *f, uint8_t idx, uint16_t addr16)
{
    uint8_t b[4] = { 4, idx, (uint8_t)addr16, (uint8_t)(addr16 >> 8) };

    nicfuzz_put(f, b, sizeof(b));
}

static void op_frame(FILE *f, uint8_t kind, uint16_t len)
{
    uint8_t b[5] = { 5, kind, (uint8_t)len, (uint8_t)(len >> 8), 0x33 };

    nicfuzz_put(f, b, sizeof(b));
}

static void write_seeds(const char *dir)
{
    FILE *f = nicfuzz_seed_open(dir, "rx");

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
    nicfuzz_put(f, "\x06", 1);
    fclose(f);

    f = nicfuzz_seed_open(dir, "tx");
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
    nicfuzz_put(f, "\x06", 1);
    fclose(f);
}
