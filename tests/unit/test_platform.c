/* Xen platform device 00:02.0 through the DM: the fixed-port unplug
 * protocol (magic, version, flags), the log port into the DM log (sanitised),
 * BAR0 mirroring the flags, and unplugging emulated IDE disks (CD-ROMs stay). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/storage/ide-regs.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"

static bool log_contains(struct qtest *s, const char *needle)
{
    static char buf[65536];
    int fd = open(qtest_log_path(s), O_RDONLY);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return strstr(buf, needle) != NULL;
}

START_TEST(test_fixed_ports)
{
    struct qtest_opts o = { .extra_fd = -1 };
    struct qtest *s = qtest_start(&o);

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(qtest_inw(s, 0x10), 0x49d2);
    ck_assert_uint_eq(qtest_inb(s, 0x12), 1);
    ck_assert_uint_eq(qtest_inb(s, 0x10), 0);
    ck_assert_uint_eq(qtest_inw(s, 0x14), 0xffff);
    qtest_outw(s, 0x12, 3);                  /* product number (Linux) */
    qtest_outl(s, 0x10, 1);                  /* build number */
    ck_assert_uint_eq(qtest_inw(s, 0x10), 0x49d2);      /* never blacklisted */
    /* Flags: only ROM lock is kept; BAR0 +0 is the same register. */
    qtest_outb(s, 0x10, 0xff);
    ck_assert_uint_eq(qtest_inb(s, 0x10), 0x01);
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xc000);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x01);
    qtest_outb(s, 0xc000, 0);
    ck_assert_uint_eq(qtest_inb(s, 0x10), 0);
    ck_assert_uint_eq(qtest_inb(s, 0xc001), 0xff);
    qtest_quit(s);
}
END_TEST

START_TEST(test_log_port)
{
    struct qtest_opts o = { .extra_fd = -1 };
    struct qtest *s = qtest_start(&o);
    const char *a = "hello\x01world\n", *b = "via-bar0\n";

    ck_assert_ptr_nonnull(s);
    for (const char *p = a; *p; p++)
        qtest_outb(s, 0x12, (uint8_t)*p);
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xc000);
    for (const char *p = b; *p; p++)
        qtest_outb(s, 0xc008, (uint8_t)*p);
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    ck_assert(log_contains(s, "guest log: hello?world"));
    ck_assert(log_contains(s, "guest log: via-bar0"));
    /* A line without newline is flushed when the buffer fills: bounded. */
    for (int i = 0; i < 600; i++)
        qtest_outb(s, 0x12, 'z');
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    ck_assert(log_contains(s, "guest log: zzzzzzzz"));
    qtest_quit(s);
}
END_TEST

/* The primary channel's status with device 0 or 1 selected. */
static uint8_t ata_status(struct qtest *s, int unit)
{
    qtest_outb(s, 0x1f0 + ATA_REG_DEVICE, DEV_OBS | (unit ? DEV_DEV : 0));
    return qtest_inb(s, 0x1f0 + ATA_REG_STATUS);
}

START_TEST(test_unplug_disks)
{
    char img[] = "/tmp/xsdm-plat-XXXXXX", drive[128];
    int fd = mkstemp(img);
    const char *args[] = { "-drive", drive, NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };
    struct qtest *s;
    uint8_t before, after;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
    snprintf(drive, sizeof(drive), "file=%s,if=ide,index=0,media=disk,format=raw,cache=writeback", img);
    s = qtest_start(&o);
    ck_assert_ptr_nonnull(s);
    before = ata_status(s, 0);
    ck_assert_uint_eq(before & ST_DRDY, ST_DRDY);      /* a disk is there */
    /* Bit 2 (all but the primary master) leaves our only disk alone. */
    qtest_outw(s, 0x10, 0x0004);
    ck_assert_uint_eq(ata_status(s, 0), before);
    /* Bit 0: every IDE disk goes. */
    qtest_outw(s, 0x10, 0x0001);
    after = ata_status(s, 0);
    ck_assert_uint_ne(after, before);
    ck_assert_uint_eq(after & ST_DRDY, 0);
    ck_assert(log_contains(s, "unplugs all emulated IDE disks"));
    qtest_quit(s);
    unlink(img);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("xen-platform");
    TCase *tc = tcase_create("platform");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fixed_ports);
    tcase_add_test(tc, test_log_port);
    tcase_add_test(tc, test_unplug_disks);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
