/* Guest writes across a multi-MiB file image, through a DM restricted as
 * under xl's dm_restrict=1: libxl's RLIMIT_FSIZE of 256 KiB set before exec
 * (so nothing can raise it: CI has no CAP_SYS_RESOURCE, libxl's child drops
 * nothing but keeps the limit), a mode-0000 chroot, a per-domid uid, the
 * seccomp filter. Linux applies FSIZE to every write at or past it in a
 * regular file, so writes past 256 KiB used to fail (issue 14); the image
 * must now hold a marker at every offset written, by DMA and by PIO, and a
 * write past the end must be refused by the DM (an ATA error, the DM alive).
 * Runs as root (loop devices, chroot, setuid). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rlimits/rlimits.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/ide_harness.h"
#include "tests/lib/libqtest.h"
#include "tests/lib/loopdev.h"
#include "toolstack/qmp-client.h"

#define IMG_MIB     8
#define IMG_SECTORS ((IMG_MIB << 20) / 512)
#define BM_BASE     0xc000
#define CMD         0x1f0
#define ALT         0x3f6
#define PRD_GPA     0x10000
#define BUF_GPA     0x20000

static char tmpdir[] = "/tmp/test_disk_writes.XXXXXX";
static char img_path[512], root_dir[512], drive_arg[700];

static void setup(void)
{
    int fd;

    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(img_path, sizeof(img_path), "%s/disk.img", tmpdir);
    snprintf(root_dir, sizeof(root_dir), "%s/root", tmpdir);
    ck_assert_int_eq(mkdir(root_dir, 0), 0);
    fd = open(img_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)IMG_SECTORS * 512), 0);
    close(fd);
    snprintf(drive_arg, sizeof(drive_arg),
             "file=%s,if=ide,index=0,media=disk,format=raw,cache=writeback", img_path);
}

static void teardown(void)
{
    unlink(img_path);
    rmdir(root_dir);
    rmdir(tmpdir);
    strcpy(tmpdir, "/tmp/test_disk_writes.XXXXXX");
}

static void marker(uint32_t lba, char tag, uint8_t *buf)
{
    for (int i = 0; i < 512; i++)
        buf[i] = (uint8_t)(tag ^ (lba * 7) ^ (uint32_t)i);
    snprintf((char *)buf, 32, "xsdm %c lba %u", tag, lba);
}

static uint8_t wait_idle(struct qtest *s)
{
    uint8_t st = ST_BSY;

    for (int i = 0; i < 1000 && (st & ST_BSY); i++) {
        st = qtest_inb(s, ALT);
        if (st & ST_BSY)
            qtest_clock_step(s, 100000);
    }
    ck_assert_msg(!(st & ST_BSY), "drive stays busy");
    return qtest_inb(s, CMD + ATA_REG_STATUS);      /* status: acknowledges the interrupt */
}

static void taskfile(struct qtest *s, uint32_t lba, uint8_t cmd)
{
    qtest_outb(s, CMD + ATA_REG_DEVICE, (uint8_t)(DEV_OBS | DEV_LBA | ((lba >> 24) & 0x0f)));
    qtest_outb(s, CMD + ATA_REG_NSECTOR, 1);
    qtest_outb(s, CMD + ATA_REG_LBA_LOW, (uint8_t)lba);
    qtest_outb(s, CMD + ATA_REG_LBA_MID, (uint8_t)(lba >> 8));
    qtest_outb(s, CMD + ATA_REG_LBA_HIGH, (uint8_t)(lba >> 16));
    qtest_outb(s, CMD + ATA_REG_COMMAND, cmd);
}

/* One sector by DMA; returns the drive status (ERR on failure). */
static uint8_t dma_write(struct qtest *s, uint32_t lba, const uint8_t *buf)
{
    uint8_t st, bm;

    qtest_memwrite(s, BUF_GPA, buf, 512);
    qtest_writel(s, PRD_GPA, BUF_GPA);
    qtest_writel(s, PRD_GPA + 4, ((uint32_t)PRD_EOT << 24) | 512);
    qtest_outb(s, BM_BASE + BM_REG_CMD, 0);           /* stop; direction: to the disk */
    qtest_outb(s, BM_BASE + BM_REG_STATUS, BM_ST_ERROR | BM_ST_INTR); /* clear error and interrupt */
    qtest_outl(s, BM_BASE + BM_REG_PRD, PRD_GPA);
    taskfile(s, lba, ATA_CMD_WRITE_DMA);
    qtest_outb(s, BM_BASE + BM_REG_CMD, BM_CMD_START);
    st = wait_idle(s);
    bm = qtest_inb(s, BM_BASE + BM_REG_STATUS);
    qtest_outb(s, BM_BASE + BM_REG_CMD, 0);
    return (st & ST_ERR) || (bm & BM_ST_ERROR) ? (uint8_t)(st | ST_ERR) : st;
}

static uint8_t pio_write(struct qtest *s, uint32_t lba, const uint8_t *buf)
{
    uint8_t st;

    taskfile(s, lba, ATA_CMD_WRITE_SECTORS);
    st = wait_idle(s);
    if (!(st & ST_DRQ))
        return st;
    for (int i = 0; i < 512; i += 2)
        qtest_outw(s, CMD + ATA_REG_DATA, (uint16_t)(buf[i] | buf[i + 1] << 8));
    return wait_idle(s);
}

static void pio_read(struct qtest *s, uint32_t lba, uint8_t *buf)
{
    taskfile(s, lba, ATA_CMD_READ_SECTORS);
    ck_assert_uint_eq(wait_idle(s) & (ST_ERR | ST_DRQ), ST_DRQ);
    for (int i = 0; i < 512; i += 2) {
        uint16_t w = qtest_inw(s, CMD + ATA_REG_DATA);

        buf[i] = (uint8_t)w;
        buf[i + 1] = (uint8_t)(w >> 8);
    }
}

static void slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
}

/* No loop device is left attached to the image once the DM is gone
 * (autoclear; the kernel may finish the detach just after the exit). */
static void no_loop_left(void)
{
    ck_assert_msg(loop_gone(img_path), "a loop device still backs %s", img_path);
}

static const struct { uint32_t lba; char how; } writes[] = {
    { 0, 'D' },                             /* below the limit: always worked */
    { 511, 'P' },                           /* the last sector below 256 KiB */
    { 512, 'P' },                           /* exactly at RLIMIT_FSIZE */
    { 2048, 'D' },                          /* 1 MiB */
    { 5 * 2048 + 3, 'D' },                  /* several MiB */
    { 6 * 2048, 'P' },
    { IMG_SECTORS - 2, 'P' },
    { IMG_SECTORS - 1, 'D' },               /* the last sector */
};
#define N_WRITES (sizeof(writes) / sizeof(writes[0]))

START_TEST(writes_across_the_image)
{
    const struct rlimit fsize = { RLIMITS_FSIZE_BYTES, RLIMITS_FSIZE_BYTES };
    const char *args[] = { "-drive", drive_arg, "-chroot", root_dir, "-runas", "131079:131072",
                           "-sandbox", "on", NULL };
    struct qtest_opts o = { .args = args, .extra_fd = -1 };
    uint8_t want[512], got[512];
    char proc[64], buf[8192], log[65536];
    struct qtest *s;
    struct qmpc *c;
    size_t i;
    int fd;

    /* What libxl does in the DM's child before exec; inherited by the DM
     * and, without CAP_SYS_RESOURCE, never to be raised again. */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &fsize), 0);
    s = qtest_start(&o);
    ck_assert_ptr_nonnull(s);
    c = qtest_qmp(s);                /* the greeting: restricted and serving */
    ck_assert_ptr_nonnull(c);
    snprintf(proc, sizeof(proc), "/proc/%d/status", (int)qtest_pid(s));
    slurp(proc, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "\nSeccomp:\t2\n") && strstr(buf, "\nUid:\t131079\t131079\t131079"),
                  "not restricted:\n%s", buf);
    snprintf(proc, sizeof(proc), "/proc/%d/limits", (int)qtest_pid(s));
    slurp(proc, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "Max file size             262144               262144"),
                  "FSIZE is not libxl's 256 KiB:\n%s", buf);

    qtest_pci_cfg_writel(s, 1, 1, 0x20, BM_BASE | 1);
    qtest_pci_cfg_writew(s, 1, 1, 0x04, 0x0005);     /* I/O and bus master */
    for (i = 0; i < N_WRITES; i++) {
        uint8_t st;

        marker(writes[i].lba, writes[i].how, want);
        st = writes[i].how == 'D' ? dma_write(s, writes[i].lba, want) : pio_write(s, writes[i].lba, want);
        ck_assert_msg(!(st & ST_ERR), "%c write at sector %u failed (status 0x%x)", writes[i].how,
                      writes[i].lba, st);
        pio_read(s, writes[i].lba, got);
        ck_assert_msg(!memcmp(want, got, 512), "sector %u reads back wrong", writes[i].lba);
    }
    /* Past the end: refused by the DM, not by a signal; the DM goes on. */
    marker(IMG_SECTORS, 'X', want);
    ck_assert(dma_write(s, IMG_SECTORS, want) & ST_ERR);
    ck_assert(pio_write(s, IMG_SECTORS, want) & ST_ERR);
    pio_read(s, IMG_SECTORS - 1, got);
    qmpc_close(c);
    slurp(qtest_log_path(s), log, sizeof(log));
    ck_assert_int_eq(qtest_quit(s), 0);
    ck_assert_msg(!strstr(log, "failed"), "a write failed:\n%s", log);

    fd = open(img_path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    for (i = 0; i < N_WRITES; i++) {
        marker(writes[i].lba, writes[i].how, want);
        ck_assert_int_eq(pread(fd, got, 512, (off_t)writes[i].lba * 512), 512);
        ck_assert_msg(!memcmp(want, got, 512), "the image lacks the %c write at sector %u (offset %u)",
                      writes[i].how, writes[i].lba, writes[i].lba * 512);
    }
    ck_assert_int_eq(lseek(fd, 0, SEEK_END), (off_t)IMG_SECTORS * 512);   /* never grown */
    close(fd);
    no_loop_left();
}
END_TEST

/* A write that does fail (here: a plain file under libxl's FSIZE, in
 * process, no loop device) is an ATA error for the guest and a log line
 * naming the drive, the disk offset and the errno, for PIO and for DMA. */
START_TEST(failed_write_is_logged)
{
    const struct rlimit fsize = { RLIMITS_FSIZE_BYTES, RLIMITS_FSIZE_BYTES };
    struct xsdm_config cfg;
    char err[256] = "", log_path[64], log[8192];
    const char *disk = h_image("bigw", 1u << 20);
    uint8_t buf[512];
    int fd, saved;

    memset(&cfg, 0, sizeof(cfg));
    memset(buf, 0x5a, sizeof(buf));
    h_drive(&cfg, 0, "ide0-hd0", disk, false, false);
    ck_assert_msg(h_new(&cfg, err, sizeof(err)) != NULL, "harness: %s", err);
    signal(SIGXFSZ, SIG_IGN);                       /* as dm/main.c */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &fsize), 0);
    snprintf(log_path, sizeof(log_path), "/tmp/xsdm-dw-log-%d", (int)getpid());
    fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    saved = dup(2);
    dup2(fd, 2);

    h_lba28(0, 0, 1000, 1);
    h_outb(H_PRI_CMD + ATA_REG_COMMAND, ATA_CMD_WRITE_SECTORS);
    h_pio_write(0, buf, sizeof(buf));
    ck_assert(h_status(0) & ST_ERR);
    memcpy(H->ram + 0x10000, buf, sizeof(buf));
    h_prd(0x1000, 0, 0x10000, 512, true);
    h_bm_setup(0, 0x1000, false);
    h_lba28(0, 0, 1001, 1);
    h_outb(H_PRI_CMD + ATA_REG_COMMAND, ATA_CMD_WRITE_DMA);
    h_bm_start(0, false);
    ck_assert(h_status(0) & ST_ERR);

    dup2(saved, 2);
    close(saved);
    ck_assert_int_ge(pread(fd, log, sizeof(log) - 1, 0), 0);
    log[sizeof(log) - 1] = 0;
    close(fd);
    unlink(log_path);
    h_free();
    unlink(disk);
    ck_assert_msg(strstr(log, "ide0-hd0: write of 512 bytes at disk offset 512000 failed: File too large"),
                  "PIO:\n%s", log);
    ck_assert_msg(strstr(log, "ide0-hd0: DMA write of 512 bytes at disk offset 512512: File too large"),
                  "DMA:\n%s", log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("disk-writes");
    TCase *tc = tcase_create("restricted");

    if (geteuid() != 0) {
        fprintf(stderr, "test_disk_writes: needs root (as in CI)\n");
        return 1;
    }
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, writes_across_the_image);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_test(tc, failed_write_is_logged);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
