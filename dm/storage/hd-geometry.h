/* The CHS geometry an IDE disk reports, and the BIOS translation the
 * firmware is told to use, guessed as QEMU guesses them (dm/storage/hd-geometry.c):
 * from the MBR's partition table when it has one, else from the size. */
#ifndef XSDM_HD_GEOMETRY_H
#define XSDM_HD_GEOMETRY_H

#include <stdint.h>

/* SeaBIOS's values minus one: what CMOS byte 0x39 holds per drive. */
enum hd_trans { HD_TRANS_NONE = 0, HD_TRANS_LBA = 1, HD_TRANS_LARGE = 2 };

struct hd_geometry {
    uint16_t cyls, heads, spt;
    enum hd_trans trans;
};

/* mbr: the disk's first 512 bytes, or NULL when they cannot be read;
 * sectors: the disk's size in 512-byte sectors. */
void hd_geometry_guess(const uint8_t *mbr, uint64_t sectors, struct hd_geometry *g);

#endif
