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

#include "dm/core/iobus.h"
#include "dm/core/loop.h"
#include "dm/devices/rtl8139.h"
#include "tests/lib/nicfuzz.h"

#define IOBASE   0xc000u
#define MMIOBASE 0xe0000000u
#define TXRING   0x1000u
#define RXRING   0x2000u
#define SECTION  "rtl8139.3"

static struct nicfuzz h;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    nicfuzz_init(&h, "FUZZ_RTL8139_WRITE_SEED", write_seeds);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct iobus *bus = &h.fm.m.bus;
    struct rtl8139 *n;
    unsigned ops = 0;

    nicfuzz_begin(&h);
    n = rtl8139_new(bus, h.fm.m.pci, &h.fm.acc, NICFUZZ_SLOT, nicfuzz_mac, h.nb, NULL, NULL);
    if (!n)
        abort();
    nicfuzz_enable(&h, IOBASE, MMIOBASE);

    while (p < end && ops++ < 2048) {
        uint8_t op = *p++ % 10;

        switch (op) {
        case 0: {
            unsigned off = (unsigned)nicfuzz_get(&p, end, 1), w = 1u << (nicfuzz_get(&p, end, 1) & 3);
            uint64_t v = nicfuzz_get(&p, end, 4);

            if (w == 8 || (off & 1))
                io_write(bus, IO_MMIO, MMIOBASE + off, v, w);
            else
                io_write(bus, IO_PIO, IOBASE + off, v, w > 4 ? 4 : w);
            break;
        }
        case 1: {
            unsigned off = (unsigned)nicfuzz_get(&p, end, 1), w = 1u << (nicfuzz_get(&p, end, 1) & 3);

            io_read(bus, w == 8 ? IO_MMIO : IO_PIO, (w == 8 ? MMIOBASE : IOBASE) + off, w);
            break;
        }
        case 2:
            nicfuzz_ram_write(&h, &p, end);
            break;
        case 3: {
            uint32_t sel = (uint32_t)nicfuzz_get(&p, end, 1), opts1 = (uint32_t)nicfuzz_get(&p, end, 4);
            uint32_t buf = (uint32_t)nicfuzz_get(&p, end, 2) << 4;
            uint8_t *d = h.ram + ((sel & 1) ? RXRING : TXRING) + 16 * ((sel >> 1) & 63);

            memcpy(d, &opts1, 4);
            memset(d + 4, 0, 4);
            memcpy(d + 8, &buf, 4);
            memset(d + 12, 0, 4);
            break;
        }
        case 4:
            nicfuzz_frame(&h, &p, end, 2048, false);
            break;
        case 5:
            nicfuzz_drain(&h);
            break;
        case 6:
            nicfuzz_pci_write(&h, &p, end);
            break;
        case 7:
            loop_once(h.loop, 0);
            break;
        case 8:
            if (nicfuzz_get(&p, end, 1) == 0xa5)
                rtl8139_unplug(n);
            break;
        case 9:
            p = nicfuzz_load_section(SECTION, p, end, 200);
            break;
        }
    }
    nicfuzz_drain(&h);
    nicfuzz_check_roundtrip(SECTION);
    rtl8139_free(n);
    nicfuzz_end(&h);
    return 0;
}

/* ---- seeds: a legacy transmit, a C+ transmit and receive ---------------- */

static void op_w(FILE *f, uint8_t off, uint8_t wlog, uint32_t v)
{
    uint8_t b[7] = { 0, off, wlog, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

    nicfuzz_put(f, b, sizeof(b));
}
static void op_desc(FILE *f, uint8_t sel, uint32_t opts1, uint16_t buf16)
{
    uint8_t b[8] = { 3, sel, (uint8_t)opts1, (uint8_t)(opts1 >> 8), (uint8_t)(opts1 >> 16),
                     (uint8_t)(opts1 >> 24), (uint8_t)buf16, (uint8_t)(buf16 >> 8) };

    nicfuzz_put(f, b, sizeof(b));
}
static void op_frame(FILE *f, uint8_t kind, uint16_t len)
{
    uint8_t b[5] = { 4, kind, (uint8_t)len, (uint8_t)(len >> 8), 0x33 };

    nicfuzz_put(f, b, sizeof(b));
}

static void write_seeds(const char *dir)
{
    FILE *f = nicfuzz_seed_open(dir, "legacy");

    op_w(f, REG_CR, 0, CR_RE | CR_TE);
    op_w(f, REG_RCR, 2, RCR_AB | RCR_APM | RCR_AM | RCR_WRAP);
    op_w(f, REG_RBSTART, 2, 0x10000);
    op_w(f, REG_IMR, 1, 0xffff);
    op_w(f, REG_TSAD0, 2, 0x30000);
    op_w(f, REG_TSD0, 2, 200);
    op_frame(f, 0, 300);
    op_frame(f, 1, 60);
    op_w(f, REG_CAPR, 1, 0x1000);
    nicfuzz_put(f, "\x05", 1);
    fclose(f);

    f = nicfuzz_seed_open(dir, "cplus");
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
    nicfuzz_put(f, "\x05", 1);
    fclose(f);
}
