/* Disk geometry as QEMU's IDE guesses it (dm/storage/hd-geometry.h), so that the
 * firmware sees the same disk under xsdm as under qemu-xen:
 *  - an MBR (0x55aa) with a partition whose end head is non-zero gives a
 *    logical geometry: heads = end head + 1, sectors = end sector & 63,
 *    cylinders = size / (heads * sectors), if 1..16383 (partitions are
 *    assumed to end on a cylinder boundary);
 *  - no such guess: 16 heads, 63 sectors, cylinders = size / 1008 clamped
 *    to 2..16383; translation none if that fits the BIOS's 1024 cylinders,
 *    else LBA;
 *  - a guess with more than 16 heads means the disk was partitioned under
 *    a translating BIOS: the size-derived geometry, translated "large" while
 *    cylinders * heads <= 131072, else LBA;
 *  - a guess with 16 heads or fewer becomes the physical geometry itself,
 *    untranslated. */
#include "dm/storage/hd-geometry.h"

#include <stddef.h>

#define MBR_SIGNATURE_OFF 510
#define MBR_PART_OFF      0x1be
#define MBR_PART_SIZE     16
#define MBR_NPARTS        4
#define PART_END_HEAD     5     /* offsets in a partition entry */
#define PART_END_SECTOR   6     /* bits 0-5; bits 6-7 are cylinder bits */
#define PART_NR_SECTS     12    /* u32 LE */
#define CHS_MAX_CYLS      16383
#define BIOS_MAX_CYLS     1024
#define LARGE_MAX_CH      131072

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 0 with the partition table's logical geometry, -1 if it gives none. */
static int guess_from_mbr(const uint8_t *mbr, uint64_t sectors, unsigned *cyls, unsigned *heads, unsigned *spt)
{
    int i;

    if (!mbr || mbr[MBR_SIGNATURE_OFF] != 0x55 || mbr[MBR_SIGNATURE_OFF + 1] != 0xaa)
        return -1;
    for (i = 0; i < MBR_NPARTS; i++) {
        const uint8_t *p = mbr + MBR_PART_OFF + i * MBR_PART_SIZE;
        unsigned h = p[PART_END_HEAD] + 1u, s = p[PART_END_SECTOR] & 63u;
        uint64_t c;

        if (!le32(p + PART_NR_SECTS) || !p[PART_END_HEAD] || !s)
            continue;
        c = sectors / (h * s);
        if (c < 1 || c > CHS_MAX_CYLS)
            continue;
        *cyls = (unsigned)c;
        *heads = h;
        *spt = s;
        return 0;
    }
    return -1;
}

static void guess_from_size(uint64_t sectors, struct hd_geometry *g)
{
    uint64_t c = sectors / (16 * 63);

    g->cyls = (uint16_t)(c > CHS_MAX_CYLS ? CHS_MAX_CYLS : c < 2 ? 2 : c);
    g->heads = 16;
    g->spt = 63;
}

void hd_geometry_guess(const uint8_t *mbr, uint64_t sectors, struct hd_geometry *g)
{
    unsigned c, h, s;

    if (guess_from_mbr(mbr, sectors, &c, &h, &s) < 0) {
        guess_from_size(sectors, g);
        g->trans = g->cyls <= BIOS_MAX_CYLS ? HD_TRANS_NONE : HD_TRANS_LBA;
    } else if (h > 16) {
        guess_from_size(sectors, g);
        g->trans = (uint32_t)g->cyls * g->heads <= LARGE_MAX_CH ? HD_TRANS_LARGE : HD_TRANS_LBA;
    } else {
        g->cyls = (uint16_t)c;
        g->heads = (uint16_t)h;
        g->spt = (uint16_t)s;
        g->trans = HD_TRANS_NONE;
    }
}
