/* libFuzzer over the whole PIIX3 IDE function from a byte stream: port
 * I/O of every width to both channels' task files, device control and the
 * bus-master registers, PCI config writes, and guest RAM contents (PRD
 * tables and buffers), against a disk (primary master) and a CD-ROM
 * (secondary master) on small raw images. Ops (first byte % 6):
 *   0 out: port index, width, value (4 bytes)
 *   1 in:  port index, width
 *   2 ram: 16-bit offset (x16), length, bytes
 *   3 pci: register, value (IDE function config space)
 *   4 drain: move the data of channel (byte & 1) while DRQ, in the
 *     direction the device expects
 *   5 prd: a PRD entry at table slot, address (16-bit x16), length, eot
 * One machine serves every input: h_fuzz_reset() puts it back first.
 * Invariants: no crash, no status left busy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/ide_harness.h"

#define TASK_FILE(base) (base) + ATA_REG_DATA, (base) + ATA_REG_ERROR, (base) + ATA_REG_NSECTOR, \
    (base) + ATA_REG_LBA_LOW, (base) + ATA_REG_LBA_MID, (base) + ATA_REG_LBA_HIGH, (base) + ATA_REG_DEVICE, \
    (base) + ATA_REG_STATUS
#define BUS_MASTER(base) (base) + BM_REG_CMD, (base) + BM_REG_STATUS, (base) + BM_REG_PRD

static const uint16_t ports[] = {
    TASK_FILE(H_PRI_CMD), H_PRI_CTL + ATA_REG_DEVCTL,
    TASK_FILE(H_SEC_CMD), H_SEC_CTL + ATA_REG_DEVCTL,
    BUS_MASTER(H_BM_BASE), BUS_MASTER(H_BM_BASE + BM_CHAN_SIZE),
};
#define NPORTS (sizeof(ports) / sizeof(ports[0]))
#define MAX_DRAIN (16 * 1024)          /* per op: long transfers take several */

static unsigned width(uint8_t w)
{
    static const unsigned widths[] = { 1, 2, 4, 8 };

    return widths[w & 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct machine *m;
    size_t i = 0;

    h_fuzz_setup_once(256 * 512, 32 * 2048);
    h_fuzz_reset();
    m = &H->dm.machine;
    while (i < size) {
        uint8_t op = data[i++] % 6;

        switch (op) {
        case 0:
            if (i + 6 > size)
                return 0;
            io_write(&m->bus, IO_PIO, ports[data[i] % NPORTS], (uint64_t)data[i + 2] | (uint64_t)data[i + 3] << 8 |
                     (uint64_t)data[i + 4] << 16 | (uint64_t)data[i + 5] << 24, width(data[i + 1]));
            i += 6;
            break;
        case 1:
            if (i + 2 > size)
                return 0;
            io_read(&m->bus, IO_PIO, ports[data[i] % NPORTS], width(data[i + 1]));
            i += 2;
            break;
        case 2: {
            uint32_t at, len;

            if (i + 3 > size)
                return 0;
            at = (uint32_t)(data[i] | data[i + 1] << 8) * 16;
            len = data[i + 2];
            i += 3;
            if (len > size - i)
                len = (uint32_t)(size - i);
            if (at + len <= H_RAM_SIZE)
                memcpy(H->ram + at, data + i, len);
            i += len;
            break;
        }
        case 3:
            if (i + 5 > size)
                return 0;
            /* Keep the BAR where the harness put it: everything else goes. */
            if ((data[i] & 0xfc) != PCI_CFG_BAR4)
                pci_config_write(m->pci, 1, 1, data[i], (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8 |
                                 (uint32_t)data[i + 3] << 16 | (uint32_t)data[i + 4] << 24, 1u << (data[i] & 3) % 3);
            i += 5;
            break;
        case 4:
            h_drain(i < size ? data[i++] & 1 : 0, false, MAX_DRAIN);
            break;
        case 5:
            if (i + 6 > size)
                return 0;
            h_prd((uint32_t)(data[i] & 0x0f) * 0x100 + 0x1000, data[i + 1] & 7,
                  (uint32_t)(data[i + 2] | data[i + 3] << 8) * 16, (uint32_t)(data[i + 4] | data[i + 5] << 8),
                  data[i + 5] & PRD_EOT);
            i += 6;
            break;
        }
        for (int ch = 0; ch < 2; ch++)
            if (h_altstatus(ch) & ST_BSY && !(H->ide->ch[ch].s.devctl & DC_SRST))
                abort();
    }
    return 0;
}
