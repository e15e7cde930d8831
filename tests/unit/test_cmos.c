/* CMOS RAM at 0x70/0x71 through the DM (qtest accelerator): the bytes the
 * firmware reads, for each -boot order= libxl can pass, are the ones
 * qemu-xen serves for the same command line. The expected bytes are
 * literal: a dump taken with GRUB's cmosdump under QEMU 7.2 (the version
 * Debian's qemu-xen is built from) for the same disks, 64 MiB and -boot
 * order=c, and checked against qemu-xen under Xen in the e2e `disks` stage.
 * Also: the index latch, guest writes, bit 7 (NMI mask) of the index, and
 * the refusal of orders the firmware cannot take (network: no NIC ROM). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

#define CD_ID "ide-5632"

static char hda[64], hdb[64], cd[64];

/* The e2e `disks` stage's disks: hda, 8 MiB with an MBR whose partition
 * ends at head 63 sector 32 (a 64-head logical layout, so QEMU uses the
 * size geometry with "large" translation); hdb: 16 MiB of zeros (no MBR:
 * size geometry, no translation); cd: 1 MiB. */
/* Fixture set-up runs outside any test: fail the binary directly. */
static void must(int ok)
{
    if (!ok) {
        perror("test_cmos: creating the images");
        exit(EXIT_FAILURE);
    }
}

static void make_images(void)
{
    uint8_t mbr[512] = { 0 };
    int fd;

    snprintf(hda, sizeof(hda), "/tmp/xsdm-cmos-hda-%d.img", (int)getpid());
    snprintf(hdb, sizeof(hdb), "/tmp/xsdm-cmos-hdb-%d.img", (int)getpid());
    snprintf(cd, sizeof(cd), "/tmp/xsdm-cmos-cd-%d.iso", (int)getpid());
    mbr[0x1be + 4] = 0x83;                    /* type */
    mbr[0x1be + 5] = 63;                      /* end head */
    mbr[0x1be + 6] = 32;                      /* end sector (cylinder bits clear) */
    mbr[0x1be + 7] = 7;                       /* end cylinder */
    mbr[0x1be + 9] = 0x08;                    /* start LBA 2048 */
    mbr[0x1be + 13] = 0x38;                   /* nr_sects 14336 */
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    fd = open(hda, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    must(fd >= 0);
    must(write(fd, mbr, sizeof(mbr)) == 512);
    must(ftruncate(fd, 8 << 20) == 0);
    close(fd);
    fd = open(hdb, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    must(fd >= 0);
    must(ftruncate(fd, 16 << 20) == 0);
    close(fd);
    fd = open(cd, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    must(fd >= 0);
    must(ftruncate(fd, 1 << 20) == 0);
    close(fd);
}

static void remove_images(void)
{
    unlink(hda);
    unlink(hdb);
    unlink(cd);
}

/* libxl's argv for hda, hdb and a CD on hdc, boot=ORDER (NULL: no -boot). */
static struct qtest *start(const char *order)
{
    static char a0[128], a1[128], a2[128], boot[64];
    static const char *args[16];
    struct qtest_opts o = { .extra_fd = -1, .args = args, .ram_mb = 64 };
    struct qtest *s;
    int n = 0;

    snprintf(a0, sizeof(a0), "file=%s,if=ide,index=0,media=disk,format=raw,cache=writeback", hda);
    snprintf(a1, sizeof(a1), "file=%s,if=ide,index=1,media=disk,format=raw,cache=writeback", hdb);
    snprintf(a2, sizeof(a2), "if=none,readonly=on,id=%s,file=%s,format=raw", CD_ID, cd);
    args[n++] = "-drive";
    args[n++] = a0;
    args[n++] = "-drive";
    args[n++] = a1;
    args[n++] = "-drive";
    args[n++] = a2;
    args[n++] = "-device";
    args[n++] = "ide-cd,id=" CD_ID ",drive=" CD_ID ",bus=ide.1,unit=0";
    if (order) {
        snprintf(boot, sizeof(boot), "order=%s", order);
        args[n++] = "-boot";
        args[n++] = boot;
    }
    args[n] = NULL;
    s = qtest_start(&o);
    ck_assert_ptr_nonnull(s);
    return s;
}

static uint8_t rd(struct qtest *s, uint8_t index)
{
    qtest_outb(s, 0x70, index);
    return qtest_inb(s, 0x71);
}

/* Bytes 0x0e-0x7f for -boot order=c (0x00-0x0d are Xen's own RTC). */
static const uint8_t expect_c[128] = {
    [0x12] = 0xff,                            /* hd0 and hd1 are type 47 */
    [0x14] = 0x06,                            /* FPU, PS/2 mouse, no floppy */
    [0x15] = 0x80, [0x16] = 0x02,             /* 640 KiB base memory */
    [0x17] = 0x00, [0x18] = 0xfc,             /* 63 MiB above 1 MiB */
    [0x19] = 0x2f, [0x1a] = 0x2f,
    /* hd0: 16 cylinders, 16 heads, no precomp, control 0xc8, landing 16, 63 sectors */
    [0x1b] = 0x10, [0x1c] = 0x00, [0x1d] = 0x10, [0x1e] = 0xff, [0x1f] = 0xff,
    [0x20] = 0xc8, [0x21] = 0x10, [0x22] = 0x00, [0x23] = 0x3f,
    /* hd1: 32 cylinders */
    [0x24] = 0x20, [0x25] = 0x00, [0x26] = 0x10, [0x27] = 0xff, [0x28] = 0xff,
    [0x29] = 0xc8, [0x2a] = 0x20, [0x2b] = 0x00, [0x2c] = 0x3f,
    [0x30] = 0x00, [0x31] = 0xfc,
    [0x32] = 0x20, [0x37] = 0x20,             /* century, BCD (until 2100) */
    [0x34] = 0x00, [0x35] = 0x03,             /* 48 MiB above 16 MiB in 64 KiB */
    [0x38] = 0x00,
    [0x39] = 0x02,                            /* hd0 "large", hd1 none */
    [0x3d] = 0x02,                            /* boot: hard disk */
};

START_TEST(test_firmware_bytes_order_c)
{
    struct qtest *s = start("c");
    unsigned i;

    for (i = 0x0e; i < 128; i++)
        ck_assert_msg(rd(s, (uint8_t)i) == expect_c[i], "CMOS 0x%02x: 0x%02x, qemu-xen serves 0x%02x",
                      i, rd(s, (uint8_t)i), expect_c[i]);
    qtest_quit(s);
}
END_TEST

/* SeaBIOS reads 0x3d (first device in bits 0-3, second in 4-7) and the
 * high nibble of 0x38 (third): floppy 1, disk 2, CD 3. */
static const struct {
    const char *order;
    uint8_t b3d, b38;
} orders[] = {
    { "c", 0x02, 0x00 }, { "d", 0x03, 0x00 }, { "a", 0x01, 0x00 },
    { "cd", 0x32, 0x00 }, { "dc", 0x23, 0x00 }, { "cda", 0x32, 0x10 },
    { "dca", 0x23, 0x10 }, { "acd", 0x21, 0x30 }, { NULL, 0x12, 0x30 },   /* no -boot: QEMU's "cad" */
};

START_TEST(test_boot_order)
{
    struct qtest *s = start(orders[_i].order);

    ck_assert_msg(rd(s, 0x3d) == orders[_i].b3d && rd(s, 0x38) == orders[_i].b38,
                  "order=%s: 0x3d=0x%02x 0x38=0x%02x, want 0x%02x 0x%02x", orders[_i].order ? orders[_i].order : "(none)",
                  rd(s, 0x3d), rd(s, 0x38), orders[_i].b3d, orders[_i].b38);
    /* the rest does not depend on the order */
    ck_assert_uint_eq(rd(s, 0x39), 0x02);
    ck_assert_uint_eq(rd(s, 0x12), 0xff);
    qtest_quit(s);
}
END_TEST

START_TEST(test_index_and_writes)
{
    struct qtest *s = start("cda");

    ck_assert_uint_eq(qtest_inb(s, 0x70), 0xff);         /* the index port reads 0xff */
    qtest_outb(s, 0x70, 0x0f);
    qtest_outb(s, 0x71, 0x0a);                          /* firmware shutdown code */
    ck_assert_uint_eq(rd(s, 0x0f), 0x0a);
    ck_assert_uint_eq(rd(s, 0x8f), 0x0a);               /* bit 7 masks NMIs, not an index bit */
    qtest_outb(s, 0x70, 0xff);
    qtest_outb(s, 0x71, 0x5a);
    ck_assert_uint_eq(rd(s, 0x7f), 0x5a);
    ck_assert_uint_eq(rd(s, 0x3d), 0x32);               /* other bytes untouched */
    /* a guest-set byte survives a system reset; the board's disk bytes are rewritten */
    qtest_outb(s, 0x70, 0x12);
    qtest_outb(s, 0x71, 0x00);
    ck_assert_uint_eq(rd(s, 0x12), 0x00);
    {
        struct qmpc *c = qtest_qmp(s);
        json_t *ret = NULL;
        char err[128];

        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(qmpc_execute(c, "system_reset", NULL, -1, &ret, err, sizeof(err)), 0);
        json_decref(ret);
        qmpc_close(c);
    }
    ck_assert_uint_eq(rd(s, 0x12), 0xff);
    ck_assert_uint_eq(rd(s, 0x7f), 0x5a);
    ck_assert_uint_eq(rd(s, 0x0f), 0x0a);
    qtest_quit(s);
}
END_TEST

static char *read_log(struct qtest *s)
{
    static char buf[65536];
    int fd = open(qtest_log_path(s), O_RDONLY);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static const struct {
    const char *order, *why;
} refused[] = {
    { "n", "network boot needs a NIC with a boot ROM" },
    { "cn", "network boot needs a NIC with a boot ROM" },
    { "cdab", "1 to 3 boot devices" },
    { "cc", "given twice" },
    { "e", "is not a PC boot device" },
};

START_TEST(test_refused_orders)
{
    struct qtest *s = start(refused[_i].order);
    int st = qtest_wait_exit(s, 10000);

    ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "order=%s: DM did not exit with an error",
                  refused[_i].order);
    ck_assert_msg(strstr(read_log(s), refused[_i].why), "order=%s: log lacks \"%s\":\n%s", refused[_i].order,
                  refused[_i].why, read_log(s));
    qtest_quit(s);
}
END_TEST

/* The geometry guess reads each disk's MBR at start: the DM's own read,
 * not the guest's, so query-blockstats still says the guest read nothing
 * (as QEMU, which accounts I/O in the device, not in the probe). */
START_TEST(test_mbr_probe_is_not_guest_io)
{
    struct qtest *s = start("c");
    struct qmpc *c = qtest_qmp(s);
    json_t *ret = NULL, *dev;
    char err[128];
    size_t i;

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(qmpc_execute(c, "query-blockstats", NULL, -1, &ret, err, sizeof(err)), 0);
    ck_assert_uint_ge(json_array_size(ret), 2);
    json_array_foreach(ret, i, dev) {
        json_t *st = json_object_get(dev, "stats");

        ck_assert_msg(json_integer_value(json_object_get(st, "rd_operations")) == 0 &&
                      json_integer_value(json_object_get(st, "rd_bytes")) == 0 &&
                      json_integer_value(json_object_get(st, "rd_total_time_ns")) == 0,
                      "%s: the guest read nothing yet, stats say %s", json_string_value(json_object_get(dev, "device")),
                      json_dumps(st, JSON_COMPACT));
    }
    json_decref(ret);
    qmpc_close(c);
    qtest_quit(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("cmos");
    TCase *tc = tcase_create("cmos");
    int rc;

    make_images();
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_firmware_bytes_order_c);
    tcase_add_loop_test(tc, test_boot_order, 0, sizeof(orders) / sizeof(orders[0]));
    tcase_add_test(tc, test_index_and_writes);
    tcase_add_test(tc, test_mbr_probe_is_not_guest_io);
    tcase_add_loop_test(tc, test_refused_orders, 0, sizeof(refused) / sizeof(refused[0]));
    suite_add_tcase(su, tc);
    rc = ck_run_suite(su);
    remove_images();
    return rc;
}
