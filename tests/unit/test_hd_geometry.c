/* Disk geometry and BIOS translation guessed as QEMU does (dm/storage/hd-geometry.c):
 * each branch, with the values QEMU's hd_geometry_guess() gives. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dm/storage/hd-geometry.h"
#include "tests/lib/ckrun.h"

/* An MBR whose partition 1 ends at head h, sector s (nr_sects non-zero). */
static const uint8_t *mbr_with(unsigned h, unsigned s)
{
    static uint8_t mbr[512];

    memset(mbr, 0, sizeof(mbr));
    mbr[0x1be + 4] = 0x83;
    mbr[0x1be + 5] = (uint8_t)h;
    mbr[0x1be + 6] = (uint8_t)s;
    mbr[0x1be + 12] = 1;
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    return mbr;
}

static void check(const uint8_t *mbr, uint64_t sectors, unsigned c, unsigned h, unsigned s, enum hd_trans t)
{
    struct hd_geometry g;

    hd_geometry_guess(mbr, sectors, &g);
    ck_assert_msg(g.cyls == c && g.heads == h && g.spt == s && g.trans == t,
                  "%llu sectors: got %u/%u/%u trans %d, want %u/%u/%u trans %d", (unsigned long long)sectors,
                  g.cyls, g.heads, g.spt, g.trans, c, h, s, t);
}

START_TEST(test_size_only)
{
    check(NULL, 16384, 16, 16, 63, HD_TRANS_NONE);           /* 8 MiB */
    check(NULL, 100, 2, 16, 63, HD_TRANS_NONE);              /* tiny: at least 2 cylinders */
    check(NULL, 1024 * 1008, 1024, 16, 63, HD_TRANS_NONE);   /* the BIOS's last untranslated size */
    check(NULL, 1025 * 1008, 1025, 16, 63, HD_TRANS_LBA);
    check(NULL, 64ull << 21, 16383, 16, 63, HD_TRANS_LBA);   /* 64 GiB: cylinders clamp */
    /* no signature, or a partition without an end head: size only */
    {
        uint8_t m[512];

        memcpy(m, mbr_with(63, 32), sizeof(m));
        m[511] = 0;
        check(m, 16384, 16, 16, 63, HD_TRANS_NONE);
        check(mbr_with(0, 32), 16384, 16, 16, 63, HD_TRANS_NONE);
        check(mbr_with(63, 0), 16384, 16, 16, 63, HD_TRANS_NONE);     /* sector 0: skipped */
    }
}
END_TEST

START_TEST(test_mbr_many_heads)
{
    /* 64 x 32 layout: size geometry, "large" while cylinders * heads <= 131072 */
    check(mbr_with(63, 32), 16384, 16, 16, 63, HD_TRANS_LARGE);
    check(mbr_with(254, 63), 8192 * 1008, 8192, 16, 63, HD_TRANS_LARGE);
    check(mbr_with(254, 63), 8193 * 1008, 8193, 16, 63, HD_TRANS_LBA);
}
END_TEST

START_TEST(test_mbr_few_heads)
{
    /* 16 heads or fewer: that geometry is the disk's, untranslated */
    check(mbr_with(15, 63), 16384, 16, 16, 63, HD_TRANS_NONE);
    check(mbr_with(7, 32), 16384, 64, 8, 32, HD_TRANS_NONE);
    /* a layout giving no whole cylinder, or too many, is no guess */
    check(mbr_with(15, 63), 1000, 2, 16, 63, HD_TRANS_NONE);
    check(mbr_with(1, 1), 32768, 32, 16, 63, HD_TRANS_NONE);       /* 16384 cylinders of 2x1 */
}
END_TEST

int main(void)
{
    Suite *su = suite_create("hd_geometry");
    TCase *tc = tcase_create("guess");

    tcase_add_test(tc, test_size_only);
    tcase_add_test(tc, test_mbr_many_heads);
    tcase_add_test(tc, test_mbr_few_heads);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
