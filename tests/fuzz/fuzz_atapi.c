/* libFuzzer over the ATAPI command decoder: the input is a run of PACKET
 * commands sent through the real task-file registers of a CD-ROM drive
 * (secondary master, a small raw medium) and drained by PIO or DMA.
 * Each command is 15 bytes: flags (bit 0 DMA, bit 1 32-bit reads, bit 2
 * SRST first, bit 3 ATA command instead: CDB byte 0 is its opcode), the
 * byte count limit (2 bytes LE), then the 12 CDB bytes. Invariants: no
 * crash (ASan/UBSan), the drive is never left busy, a data phase always
 * ends within the bytes the medium and buffer allow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/ide_harness.h"

#define CH 1
#define TABLE 0x1000u
#define MAX_DRAIN (256 * 1024)

static void fresh_state(void)
{
    h_fuzz_reset();
    h_prd(TABLE, 0, 0x10000, 0x8000, false);
    h_prd(TABLE, 1, 0x18000, 0, true);          /* 64 KiB */
}

static void drain(bool wide)
{
    if (!h_drain(CH, wide, MAX_DRAIN))
        abort();                                /* a data phase that never ends */
    h_status(CH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t data_port = h_cmd_base(CH) + ATA_REG_DATA;

    h_fuzz_setup_once(0, 64 * 2048);
    fresh_state();
    for (size_t off = 0; off + 15 <= size; off += 15) {
        const uint8_t *c = data + off;
        uint8_t flags = c[0];
        uint16_t bcl = (uint16_t)(c[1] | c[2] << 8);

        if (flags & 4) {
            h_devctl(CH, DC_SRST);
            h_devctl(CH, 0);
        }
        h_select(CH, 0, 0);
        if (flags & 8) {
            h_reg_write(CH, ATA_REG_FEATURE, c[4]);
            h_reg_write(CH, ATA_REG_NSECTOR, c[5]);
            h_command(CH, c[3]);
            drain(flags & 2);
            continue;
        }
        if (flags & 1) {
            h_bm_setup(CH, TABLE, true);
            h_bm_start(CH, true);
        }
        h_reg_write(CH, ATA_REG_FEATURE, (flags & 1) ? ATAPI_FEATURE_DMA : 0);
        h_reg_write(CH, ATA_REG_LBA_MID, (uint8_t)bcl);
        h_reg_write(CH, ATA_REG_LBA_HIGH, (uint8_t)(bcl >> 8));
        h_command(CH, ATA_CMD_PACKET);
        for (int i = 0; i < ATAPI_CMD_LEN; i += 2)
            h_outw(data_port, (uint16_t)(c[3 + i] | c[4 + i] << 8));
        drain(flags & 2);
        h_bm_stop(CH);
    }
    return 0;
}
