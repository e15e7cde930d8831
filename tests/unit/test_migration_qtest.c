/* Save/restore end to end on the qtest accelerator, the way libxl does it:
 * drive every device into a non-default state (an ATA READ SECTORS left
 * half-read included), stop, add-fd + xen-save-devices-state, then start a
 * NEW restricted xsdm with -incoming fd:M. The restored DM must answer
 * query-status "paused", re-save to the very same bytes, and behave exactly
 * like the original from there on (every register read, the interrupted
 * transfer completing with the right data). Also: corrupt streams make
 * -incoming exit non-zero naming the problem; save errors (read-only fd,
 * plain path, EFBIG) are QMP errors and the DM keeps running. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/state/migration.h"
#include "dm/storage/ide-regs.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

#define TMO 10000
#define IMG_SECTORS 64
#define CD_ID "ide-5632"

static char tmpdir[] = "/tmp/test_migration.XXXXXX";
static char img_path[512], iso_path[512], root_dir[512];
static char drive_arg[700], cd_drive_arg[700];

/* ---- fixtures ---- */

static uint8_t img_byte(unsigned sector, unsigned off)
{
    return (uint8_t)(sector * 31 + off * 7 + (off >> 8));
}

static void write_file(const char *path, size_t size, uint8_t (*fill)(unsigned, unsigned), unsigned ssz)
{
    uint8_t *buf = malloc(size);
    int fd;

    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < size; i++)
        buf[i] = fill((unsigned)(i / ssz), (unsigned)(i % ssz));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
}

static uint8_t iso_byte(unsigned sector, unsigned off)
{
    return (uint8_t)(0xa5 ^ sector ^ off);
}

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(img_path, sizeof(img_path), "%s/disk.img", tmpdir);
    snprintf(iso_path, sizeof(iso_path), "%s/cd.iso", tmpdir);
    snprintf(root_dir, sizeof(root_dir), "%s/root", tmpdir);
    ck_assert_int_eq(mkdir(root_dir, 0755), 0);
    write_file(img_path, IMG_SECTORS * 512, img_byte, 512);
    write_file(iso_path, 16 * 2048, iso_byte, 2048);
    snprintf(drive_arg, sizeof(drive_arg),
             "file=%s,if=ide,index=0,media=disk,format=raw,cache=writeback", img_path);
    snprintf(cd_drive_arg, sizeof(cd_drive_arg),
             "if=none,readonly=on,id=" CD_ID ",file=%s,format=raw", iso_path);
}

static void teardown(void)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    strcpy(tmpdir, "/tmp/test_migration.XXXXXX");
}

/* A machine like libxl's restricted one: a disk, a CD-ROM with an ISO, a
 * serial port; chroot into an empty directory and drop to nobody. */
static struct qtest *start_dm(int incoming_fd, const char *log_path)
{
    char incoming[32];
    const char *args[24];
    int n = 0;
    struct qtest_opts o = { .extra_fd = incoming_fd, .paused = true, .log_path = log_path };

    args[n++] = "-drive";
    args[n++] = drive_arg;
    args[n++] = "-drive";
    args[n++] = cd_drive_arg;
    args[n++] = "-device";
    args[n++] = "ide-cd,id=" CD_ID ",drive=" CD_ID ",bus=ide.1,unit=0";
    args[n++] = "-serial";
    args[n++] = "null";
    args[n++] = "-chroot";
    args[n++] = root_dir;
    args[n++] = "-runas";
    args[n++] = "65534:65534";
    if (incoming_fd >= 0) {
        snprintf(incoming, sizeof(incoming), "fd:%d", incoming_fd);
        args[n++] = "-incoming";
        args[n++] = incoming;
    }
    args[n] = NULL;
    o.args = args;
    return qtest_start(&o);
}

static json_t *qmp_ok(struct qmpc *c, const char *cmd, json_t *args, int fd)
{
    json_t *ret = NULL;
    char err[256] = "";
    int rc = qmpc_execute(c, cmd, args, fd, &ret, err, sizeof(err));

    ck_assert_msg(rc == 0, "%s: rc %d %s %s", cmd, rc, err,
                  ret ? json_string_value(json_object_get(ret, "desc")) : "");
    return ret;
}

/* Expect a GenericError whose desc contains `what`. */
static void qmp_fails(struct qmpc *c, const char *cmd, json_t *args, int fd, const char *what)
{
    json_t *ret = NULL;
    char err[256] = "";
    int rc = qmpc_execute(c, cmd, args, fd, &ret, err, sizeof(err));
    const char *cls, *desc;

    ck_assert_msg(rc == 1, "%s: expected an error, got rc %d (%s)", cmd, rc, err);
    cls = json_string_value(json_object_get(ret, "class"));
    desc = json_string_value(json_object_get(ret, "desc"));
    ck_assert_str_eq(cls, "GenericError");
    ck_assert_msg(desc && strstr(desc, what), "%s: '%s' does not name '%s'", cmd, desc, what);
    json_decref(ret);
}

static const char *status(struct qmpc *c)
{
    static char st[32];
    json_t *ret = qmp_ok(c, "query-status", NULL, -1);

    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(ret, "status")));
    json_decref(ret);
    return st;
}

/* add-fd of fd; the new set's path ("/dev/fdset/N") goes into path. */
static void add_fd(struct qmpc *c, int fd, char *path, size_t len)
{
    json_t *ret = qmp_ok(c, "add-fd", NULL, fd);

    snprintf(path, len, "/dev/fdset/%lld", (long long)json_integer_value(json_object_get(ret, "fdset-id")));
    json_decref(ret);
}

/* add-fd of fd, then xen-save-devices-state to its set. 0 on success, or 1
 * with the error desc copied into desc. */
static int save_to_fd(struct qmpc *c, int fd, char *desc, size_t desclen)
{
    json_t *sret = NULL;
    char path[64], err[256] = "";
    int rc;

    add_fd(c, fd, path, sizeof(path));
    rc = qmpc_execute(c, "xen-save-devices-state",
                      json_pack("{s:s, s:b}", "filename", path, "live", 0), -1, &sret, err, sizeof(err));
    ck_assert_msg(rc == 0 || rc == 1, "transport: %s", err);
    if (rc == 1 && desc)
        snprintf(desc, desclen, "%s", json_string_value(json_object_get(sret, "desc")));
    json_decref(sret);
    return rc;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    uint8_t *buf = NULL;
    char err[256];

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(migration_read_all(fd, &buf, len, err, sizeof(err)) == 0, "%s", err);
    close(fd);
    return buf;
}

static void write_bytes(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

/* Save the stopped DM into path through add-fd (libxl opens O_WRONLY|O_CREAT). */
static void save_to_path(struct qmpc *c, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    char desc[256] = "";

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(save_to_fd(c, fd, desc, sizeof(desc)) == 0, "save: %s", desc);
    close(fd);
}

/* A fresh DM, after QMP command cmd (if any), stopped and saved into path. */
static void save_fresh(const char *path, const char *cmd, json_t *args)
{
    struct qtest *a = start_dm(-1, NULL);
    struct qmpc *ca;

    ck_assert_ptr_nonnull(a);
    ca = qtest_qmp(a);
    ck_assert_ptr_nonnull(ca);
    if (cmd)
        json_decref(qmp_ok(ca, cmd, args, -1));
    json_decref(qmp_ok(ca, "stop", NULL, -1));
    save_to_path(ca, path);
    qmpc_close(ca);
    qtest_quit(a);
}

/* A DM restoring the stream in path (-incoming fd:M); NULL if it did not start. */
static struct qtest *start_restored(const char *path, const char *log_path)
{
    int fd = open(path, O_RDONLY);
    struct qtest *s;

    ck_assert_int_ge(fd, 0);
    s = start_dm(fd, log_path);
    close(fd);
    return s;
}

/* Restoring path must fail: the DM exits non-zero, its log naming `what`. */
static void restore_refused(const char *path, const char *what)
{
    char logp[600], log[8192];
    struct qtest *c;
    int fd, st;
    ssize_t n;

    snprintf(logp, sizeof(logp), "%s/dm.log", tmpdir);
    c = start_restored(path, logp);
    if (c) {
        st = qtest_wait_exit(c, TMO);
        qtest_quit(c);
        ck_assert_msg(st != -1, "DM restoring a refused stream kept running");
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "DM exit status 0x%x", st);
    }
    fd = open(logp, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, log, sizeof(log) - 1);
    close(fd);
    ck_assert_int_gt(n, 0);
    log[n] = '\0';
    ck_assert_msg(strstr(log, what), "log does not name '%s':\n%s", what, log);
}

/* ---- guest side ---- */

#define IDE_BM_BASE 0xc000
#define IDE0(reg)   (0x1f0 + (reg))     /* primary task file */
#define IDE0_ALT    0x3f6
#define IDE1(reg)   (0x170 + (reg))     /* secondary */
#define IDE1_ALT    0x376
#define PLAT_IO     0xc100
#define COM1        0x3f8

static bool ide_wait(struct qtest *s, uint16_t alt, uint8_t mask, uint8_t want)
{
    for (int i = 0; i < 1000; i++) {
        uint8_t st = qtest_inb(s, alt);

        if ((st & ST_BSY) == 0 && (st & mask) == want)
            return true;
        qtest_clock_step(s, 100000);
    }
    return false;
}

struct dump;
static void atapi_cmd(struct qtest *s, uint8_t opcode, struct dump *d);

/* Put every device into a state that differs from reset. */
static void drive_devices(struct qtest *s)
{
    /* PIIX3 PIRQ routes, IDE BM BAR + bus master, platform BAR0, PM base. */
    qtest_pci_cfg_writeb(s, 1, 0, 0x60, 0x0a);
    qtest_pci_cfg_writeb(s, 1, 0, 0x61, 0x0b);
    qtest_pci_cfg_writeb(s, 1, 0, 0x62, 0x80);
    qtest_pci_cfg_writeb(s, 1, 0, 0x63, 0x05);
    qtest_pci_cfg_writel(s, 1, 1, 0x20, IDE_BM_BASE | 1);
    qtest_pci_cfg_writew(s, 1, 1, 0x04, 0x0005);
    qtest_pci_cfg_writel(s, 2, 0, 0x10, PLAT_IO | 1);
    qtest_pci_cfg_writew(s, 2, 0, 0x04, 0x0003);
    qtest_pci_cfg_writeb(s, 2, 0, 0x3c, 0x0b);
    qtest_pci_cfg_writel(s, 1, 3, 0x40, 0xb001);
    qtest_pci_cfg_writeb(s, 1, 3, 0x80, 0x01);
    qtest_pci_cfg_writeb(s, 1, 3, 0x3c, 0x09);

    /* BMDMA: PRD table address and the DMA-capable status bits. */
    qtest_outl(s, IDE_BM_BASE + 4, 0x00123400);
    qtest_outb(s, IDE_BM_BASE + 2, 0x60);
    qtest_outl(s, IDE_BM_BASE + 12, 0x00456700);

    /* UART: 9600 8N1 even parity, FIFOs on, loopback with 3 bytes queued. */
    qtest_outb(s, COM1 + 3, 0x83);
    qtest_outb(s, COM1 + 0, 0x0c);
    qtest_outb(s, COM1 + 1, 0x00);
    qtest_outb(s, COM1 + 3, 0x1b);
    qtest_outb(s, COM1 + 2, 0xc7);
    qtest_outb(s, COM1 + 1, 0x01);
    qtest_outb(s, COM1 + 4, 0x1b);
    qtest_outb(s, COM1 + 7, 0x5a);
    qtest_outb(s, COM1 + 0, 'x');
    qtest_outb(s, COM1 + 0, 'y');
    qtest_outb(s, COM1 + 0, 'z');
    qtest_clock_step(s, 10000000);

    /* i8042: command byte read pending in the output buffer; port 92 A20. */
    qtest_outb(s, 0x64, 0x20);
    qtest_outb(s, 0x92, 0x02);

    /* CD-ROM: an invalid opcode leaves ILLEGAL REQUEST sense pending. */
    atapi_cmd(s, 0xff, NULL);
    ck_assert_uint_eq(qtest_inb(s, IDE1_ALT) & ST_ERR, ST_ERR);

    /* ATA READ SECTORS, LBA 5, 3 sectors; read 1.5 sectors and stop. */
    qtest_outb(s, IDE0(ATA_REG_DEVICE), DEV_OBS | DEV_LBA);
    qtest_outb(s, IDE0(ATA_REG_NSECTOR), 3);
    qtest_outb(s, IDE0(ATA_REG_LBA_LOW), 5);
    qtest_outb(s, IDE0(ATA_REG_LBA_MID), 0);
    qtest_outb(s, IDE0(ATA_REG_LBA_HIGH), 0);
    qtest_outb(s, IDE0(ATA_REG_COMMAND), ATA_CMD_READ_SECTORS);
    ck_assert_msg(ide_wait(s, IDE0_ALT, ST_DRQ, ST_DRQ), "READ SECTORS: no DRQ");
    {
        uint8_t got[768];
        size_t bad = sizeof(got);
        bool drq2 = true;

        for (int i = 0; i < 384; i++) {
            uint16_t w = qtest_inw(s, IDE0(ATA_REG_DATA));

            got[2 * i] = (uint8_t)w;
            got[2 * i + 1] = (uint8_t)(w >> 8);
            if (i == 255)
                drq2 = ide_wait(s, IDE0_ALT, ST_DRQ, ST_DRQ);
        }
        ck_assert_msg(drq2, "no DRQ for sector 2");
        /* One assertion for the whole buffer (libcheck's fork mode chokes
         * on thousands of assertion records). */
        for (size_t k = 0; k < sizeof(got) && bad == sizeof(got); k++)
            if (got[k] != img_byte(5 + (unsigned)(k / 512), (unsigned)(k % 512)))
                bad = k;
        ck_assert_msg(bad == sizeof(got), "READ SECTORS byte %zu wrong before the save", bad);
    }
}

/* What a guest can observe, as text lines, in a fixed order. Reads with
 * side effects are fine: both DMs go through the same sequence. The words
 * of the interrupted transfer are returned for checking. */
struct dump {
    char *s;
    size_t n, cap;
};

static void dump_add(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dump_add(struct dump *d, const char *fmt, ...)
{
    va_list ap;
    int m;

    if (d->cap - d->n < 256) {
        d->cap = d->cap ? d->cap * 2 : 65536;
        d->s = realloc(d->s, d->cap);
        ck_assert_ptr_nonnull(d->s);
    }
    va_start(ap, fmt);
    m = vsnprintf(d->s + d->n, d->cap - d->n, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(m, 0);
    d->n += (size_t)m;
}

/* One ATAPI packet on the secondary master, PIO; the data (at most 9
 * words) and the resulting status and error registers go into the dump
 * when d is given. */
static void atapi_cmd(struct qtest *s, uint8_t opcode, struct dump *d)
{
    uint8_t pkt[ATAPI_CMD_LEN] = { opcode };

    if (opcode == ATAPI_REQUEST_SENSE)
        pkt[4] = 18;                    /* allocation length */
    qtest_outb(s, IDE1(ATA_REG_DEVICE), DEV_OBS);
    qtest_outb(s, IDE1(ATA_REG_FEATURE), 0);
    qtest_outb(s, IDE1(ATA_REG_LBA_MID), 18);
    qtest_outb(s, IDE1(ATA_REG_LBA_HIGH), 0);
    qtest_outb(s, IDE1(ATA_REG_COMMAND), ATA_CMD_PACKET);
    ck_assert_msg(ide_wait(s, IDE1_ALT, ST_DRQ, ST_DRQ), "ATAPI %02x: no DRQ for the packet", opcode);
    for (int i = 0; i < ATAPI_CMD_LEN / 2; i++)
        qtest_outw(s, IDE1(ATA_REG_DATA), (uint16_t)(pkt[2 * i] | pkt[2 * i + 1] << 8));
    ide_wait(s, IDE1_ALT, 0, 0);
    if (!d)
        return;
    dump_add(d, "ide1 packet %02x status %02x err %02x\n", opcode, qtest_inb(s, IDE1_ALT),
             qtest_inb(s, IDE1(ATA_REG_ERROR)));
    for (int i = 0; i < 9 && (qtest_inb(s, IDE1_ALT) & ST_DRQ); i++)
        dump_add(d, "ide1 sense %04x\n", qtest_inw(s, IDE1(ATA_REG_DATA)));
    dump_add(d, "ide1 status %02x\n", qtest_inb(s, IDE1(ATA_REG_STATUS)));
}

static void observe(struct qtest *s, struct dump *d, uint8_t *ide_data, size_t *ide_len)
{
    uint8_t lcr, st;
    int words = 0;

    for (unsigned slot = 0; slot < 4; slot++)
        for (unsigned fn = 0; fn < 8; fn++) {
            if (qtest_pci_cfg_readw(s, slot, fn, 0) == 0xffff)
                continue;
            for (unsigned reg = 0; reg < 256; reg += 4)
                dump_add(d, "pci %02x.%u %02x %08x\n", slot, fn, reg,
                         qtest_pci_cfg_readl(s, slot, fn, reg));
        }

    for (unsigned r = 0; r < 16; r++)
        dump_add(d, "bmdma %x %02x\n", r, qtest_inb(s, IDE_BM_BASE + r));

    lcr = qtest_inb(s, COM1 + 3);
    qtest_outb(s, COM1 + 3, lcr | 0x80);
    dump_add(d, "uart lcr %02x dll %02x dlm %02x\n", lcr, qtest_inb(s, COM1), qtest_inb(s, COM1 + 1));
    qtest_outb(s, COM1 + 3, lcr & 0x7f);
    dump_add(d, "uart ier %02x mcr %02x lsr %02x msr %02x scr %02x iir %02x\n",
             qtest_inb(s, COM1 + 1), qtest_inb(s, COM1 + 4), qtest_inb(s, COM1 + 5),
             qtest_inb(s, COM1 + 6), qtest_inb(s, COM1 + 7), qtest_inb(s, COM1 + 2));
    for (int i = 0; i < 64 && (qtest_inb(s, COM1 + 5) & 1); i++)
        dump_add(d, "uart rx %02x\n", qtest_inb(s, COM1));
    qtest_outb(s, COM1 + 3, lcr);

    st = qtest_inb(s, 0x64);
    dump_add(d, "i8042 status %02x\n", st);
    if (st & 1)
        dump_add(d, "i8042 data %02x\n", qtest_inb(s, 0x60));
    dump_add(d, "port92 %02x\n", qtest_inb(s, 0x92));

    for (unsigned r = 0; r < 4; r++)
        dump_add(d, "pm %x %04x\n", r * 2, qtest_inw(s, (uint16_t)(0xb000 + r * 2)));

    /* IDE primary: taskfile, then finish the interrupted transfer. */
    dump_add(d, "ide0 alt %02x err %02x nsect %02x lba %02x %02x %02x dev %02x\n",
             qtest_inb(s, IDE0_ALT), qtest_inb(s, IDE0(ATA_REG_ERROR)), qtest_inb(s, IDE0(ATA_REG_NSECTOR)),
             qtest_inb(s, IDE0(ATA_REG_LBA_LOW)), qtest_inb(s, IDE0(ATA_REG_LBA_MID)),
             qtest_inb(s, IDE0(ATA_REG_LBA_HIGH)), qtest_inb(s, IDE0(ATA_REG_DEVICE)));
    *ide_len = 0;
    while (words < 1024) {
        uint16_t w;

        if (!ide_wait(s, IDE0_ALT, 0, 0) || !(qtest_inb(s, IDE0_ALT) & ST_DRQ))
            break;
        w = qtest_inw(s, IDE0(ATA_REG_DATA));
        ide_data[(*ide_len)++] = (uint8_t)w;
        ide_data[(*ide_len)++] = (uint8_t)(w >> 8);
        words++;
    }
    dump_add(d, "ide0 words %d status %02x\n", words, qtest_inb(s, IDE0(ATA_REG_STATUS)));

    /* CD-ROM: REQUEST SENSE (the sense left by drive_devices), then TEST
     * UNIT READY. */
    qtest_outb(s, IDE1(ATA_REG_DEVICE), DEV_OBS);
    dump_add(d, "ide1 alt %02x\n", qtest_inb(s, IDE1_ALT));
    atapi_cmd(s, ATAPI_REQUEST_SENSE, d);
    atapi_cmd(s, ATAPI_TEST_UNIT_READY, d);
}

static void assert_same_dump(const struct dump *a, const struct dump *b)
{
    size_t i = 0, line = 0, start = 0;

    while (i < a->n && i < b->n && a->s[i] == b->s[i]) {
        if (a->s[i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    if (i == a->n && i == b->n)
        return;
    ck_abort_msg("restored DM differs at line %zu: original '%.60s' restored '%.60s'", line + 1,
                 a->s + start, b->s + start);
}

/* The rest of the READ SECTORS: 128 words of sector 6, all of sector 7. */
static void assert_transfer_completed(const uint8_t *data, size_t len)
{
    size_t bad = len;

    ck_assert_uint_eq(len, 768);
    for (size_t i = 0; i < len && bad == len; i++) {
        size_t off = 768 + i;           /* bytes into the 3-sector transfer */

        if (data[i] != img_byte(5 + (unsigned)(off / 512), (unsigned)(off % 512)))
            bad = i;
    }
    ck_assert_msg(bad == len, "transfer byte %zu wrong after restore", 768 + bad);
}

START_TEST(roundtrip_restricted)
{
    char state[600], state2[600];
    struct qtest *a, *b;
    struct qmpc *ca, *cb;
    struct dump da = { 0 }, db = { 0 };
    uint8_t data_a[2048], data_b[2048];
    size_t la, lb, len1, len2;
    uint8_t *s1, *s2;

    snprintf(state, sizeof(state), "%s/qemu-save", tmpdir);
    snprintf(state2, sizeof(state2), "%s/qemu-save-2", tmpdir);
    a = start_dm(-1, NULL);
    ck_assert_ptr_nonnull(a);
    ca = qtest_qmp(a);
    ck_assert_ptr_nonnull(ca);
    json_decref(qmp_ok(ca, "cont", NULL, -1));
    drive_devices(a);

    /* libxl: dirty log on, stop, add-fd, save, dirty log off. */
    json_decref(qmp_ok(ca, "xen-set-global-dirty-log", json_pack("{s:b}", "enable", 1), -1));
    json_decref(qmp_ok(ca, "stop", NULL, -1));
    save_to_path(ca, state);
    json_decref(qmp_ok(ca, "xen-set-global-dirty-log", json_pack("{s:b}", "enable", 0), -1));
    s1 = read_file(state, &len1);
    ck_assert_uint_gt(len1, 64);
    ck_assert_uint_lt(len1, 256 * 1024);
    ck_assert_int_eq(memcmp(s1, MIGRATION_MAGIC, 8), 0);

    /* The restored DM. */
    b = start_restored(state, NULL);
    ck_assert_ptr_nonnull(b);
    cb = qtest_qmp(b);
    ck_assert_ptr_nonnull(cb);
    ck_assert_str_eq(status(cb), "paused");
    /* Nothing lost: the restored machine saves to the same bytes. */
    save_to_path(cb, state2);
    s2 = read_file(state2, &len2);
    ck_assert_uint_eq(len2, len1);
    ck_assert_msg(!memcmp(s1, s2, len1), "re-saved stream differs from the original");

    /* Same guest-visible behaviour from here on. */
    json_decref(qmp_ok(ca, "cont", NULL, -1));
    json_decref(qmp_ok(cb, "cont", NULL, -1));
    ck_assert_str_eq(status(cb), "running");
    observe(a, &da, data_a, &la);
    observe(b, &db, data_b, &lb);
    assert_same_dump(&da, &db);
    assert_transfer_completed(data_a, la);
    assert_transfer_completed(data_b, lb);
    ck_assert_msg(strstr(db.s, "uart rx 78\nuart rx 79\nuart rx 7a\n"), "UART FIFO lost:\n%s", db.s);
    ck_assert_msg(strstr(db.s, "uart lcr 1b dll 0c dlm 00"), "UART registers lost");
    ck_assert_msg(strstr(db.s, "pci 01.0 60 05800b0a"), "PIRQ routes lost");
    ck_assert_msg(strstr(db.s, "port92 02"), "port 92 lost");
    ck_assert_msg(strstr(db.s, "ide1 sense 00f0\nide1 sense 0005\n"), "ATAPI sense lost:\n%s", db.s);

    free(s1);
    free(s2);
    free(da.s);
    free(db.s);
    qmpc_close(ca);
    qmpc_close(cb);
    qtest_quit(a);
    qtest_quit(b);
}
END_TEST

/* Make a stream, then corrupt a copy with `how` and restore from it. */
static void incoming_rejects(void (*how)(uint8_t *buf, size_t *len), const char *what)
{
    char state[600], bad[600];
    uint8_t *buf;
    size_t len;

    snprintf(state, sizeof(state), "%s/good", tmpdir);
    snprintf(bad, sizeof(bad), "%s/bad", tmpdir);
    save_fresh(state, NULL, NULL);
    buf = read_file(state, &len);
    buf = realloc(buf, len + 16);
    ck_assert_ptr_nonnull(buf);
    how(buf, &len);
    write_bytes(bad, buf, len);
    free(buf);
    restore_refused(bad, what);
}

static void flip_middle(uint8_t *buf, size_t *len)
{
    buf[*len / 2] ^= 0x10;
}

static void cut_tail(uint8_t *buf, size_t *len)
{
    (void)buf;
    *len -= 5;
}

static void add_garbage(uint8_t *buf, size_t *len)
{
    memcpy(buf + *len, "garbage", 7);
    *len += 7;
}

START_TEST(incoming_bitflip)
{
    incoming_rejects(flip_middle, "checksum mismatch");
}
END_TEST

START_TEST(incoming_truncated)
{
    incoming_rejects(cut_tail, "truncated stream");
}
END_TEST

START_TEST(incoming_trailing_garbage)
{
    incoming_rejects(add_garbage, "trailing garbage");
}
END_TEST

/* The restore argv lost the ISO: an explicit media error, not a silent change. */
START_TEST(incoming_media_mismatch)
{
    char state[600];

    snprintf(state, sizeof(state), "%s/good", tmpdir);
    save_fresh(state, NULL, NULL);
    snprintf(cd_drive_arg, sizeof(cd_drive_arg), "if=none,readonly=on,id=" CD_ID);
    restore_refused(state, "media mismatch: drive " CD_ID " had a medium");
}
END_TEST

/* libxl's cd-eject then save then restore: the restore argv has an empty
 * CD-ROM, which must match the saved (ejected) drive; giving the ISO back
 * instead would silently change media under the guest and is refused. */
START_TEST(incoming_after_eject)
{
    char state[600];
    struct qtest *b;
    struct qmpc *cb;

    snprintf(state, sizeof(state), "%s/ejected", tmpdir);
    save_fresh(state, "eject", json_pack("{s:s}", "id", CD_ID));

    /* The ISO given back: refused, naming the drive. */
    restore_refused(state, "media mismatch: drive " CD_ID " was empty when saved");

    /* An empty CD-ROM, as libxl passes it after cd-eject: restored. */
    snprintf(cd_drive_arg, sizeof(cd_drive_arg), "if=none,readonly=on,id=" CD_ID);
    b = start_restored(state, NULL);
    ck_assert_ptr_nonnull(b);
    cb = qtest_qmp(b);
    ck_assert_ptr_nonnull(cb);
    ck_assert_str_eq(status(cb), "paused");
    qmpc_close(cb);
    qtest_quit(b);
}
END_TEST

/* Save errors are QMP errors; the DM keeps serving and cont still works. */
START_TEST(save_errors_keep_running)
{
    char path[600], desc[256] = "";
    struct qtest *a;
    struct qmpc *ca;
    int fd;

    snprintf(path, sizeof(path), "%s/ro", tmpdir);
    a = start_dm(-1, NULL);
    ck_assert_ptr_nonnull(a);
    ca = qtest_qmp(a);
    json_decref(qmp_ok(ca, "cont", NULL, -1));
    json_decref(qmp_ok(ca, "stop", NULL, -1));

    close(open(path, O_WRONLY | O_CREAT, 0600));
    fd = open(path, O_RDONLY);
    ck_assert_int_eq(save_to_fd(ca, fd, desc, sizeof(desc)), 1);
    close(fd);
    ck_assert_msg(strstr(desc, "no fd that allows"), "%s", desc);

    qmp_fails(ca, "xen-save-devices-state", json_pack("{s:s}", "filename", path), -1, "restricted");
    qmp_fails(ca, "xen-save-devices-state", json_pack("{s:s}", "filename", "/dev/fdset/9"), -1,
              "fd set 9 does not exist");
    qmp_fails(ca, "xen-save-devices-state", NULL, -1, "filename");

    ck_assert_str_eq(status(ca), "paused");
    json_decref(qmp_ok(ca, "cont", NULL, -1));
    ck_assert_str_eq(status(ca), "running");
    qtest_outb(a, 0x92, 0x02);          /* the guest is still served */
    ck_assert_uint_eq(qtest_inb(a, 0x92) & 0x02, 0x02);
    qmpc_close(ca);
    qtest_quit(a);
}
END_TEST

/* libxl opens the state file O_WRONLY|O_CREAT without O_TRUNC: stale
 * bytes from an earlier, longer file must not survive (the restricted DM
 * truncates it through the fd). */
START_TEST(save_over_stale_file)
{
    char path[600];
    static uint8_t junk[200000];
    struct qtest *a;
    struct qmpc *ca;
    struct stat st;
    uint8_t *buf;
    size_t len;
    int fd;

    snprintf(path, sizeof(path), "%s/stale", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    memset(junk, 0x5a, sizeof(junk));
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    a = start_dm(-1, NULL);
    ck_assert_ptr_nonnull(a);
    ca = qtest_qmp(a);
    json_decref(qmp_ok(ca, "stop", NULL, -1));
    save_to_path(ca, path);
    ck_assert_str_eq(status(ca), "paused");
    ck_assert_int_eq(stat(path, &st), 0);
    buf = read_file(path, &len);
    ck_assert_uint_eq((size_t)st.st_size, len);
    ck_assert_uint_lt(len, sizeof(junk));
    ck_assert_int_eq(memcmp(buf, MIGRATION_MAGIC, 8), 0);
    free(buf);
    qmpc_close(ca);
    qtest_quit(a);
}
END_TEST

/* libxl's RLIMIT_FSIZE, made small enough for the stream to hit it: EFBIG
 * is a QMP error (SIGXFSZ is ignored), the DM lives on. The DM lowers its
 * soft limit to its hard one, so the hard limit is what must be small: set
 * in a child of this test, which starts the DM and reports by exit status.
 * The child makes no ck_* call: every assertion appends to libcheck's
 * result file, which the limit would truncate. */
static int child_qmp(struct qmpc *c, const char *cmd, json_t *args, int fd, json_t **ret_r)
{
    json_t *ret = NULL;
    char err[256];
    int rc = qmpc_execute(c, cmd, args, fd, &ret, err, sizeof(err));

    if (ret_r)
        *ret_r = ret;
    else
        json_decref(ret);
    return rc;
}

static bool child_status_is(struct qmpc *c, const char *want)
{
    json_t *ret = NULL;
    bool same = child_qmp(c, "query-status", NULL, -1, &ret) == 0 &&
                json_is_string(json_object_get(ret, "status")) &&
                !strcmp(json_string_value(json_object_get(ret, "status")), want);

    json_decref(ret);
    return same;
}

static int efbig_child(void)
{
    char path[600], fdset[64];
    struct rlimit rl = { 512, 512 };
    struct qtest *a;
    struct qmpc *ca;
    json_t *ret = NULL;
    const char *desc;
    int fd, rc = 10;

    snprintf(path, sizeof(path), "%s/big", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    signal(SIGXFSZ, SIG_IGN);
    if (fd < 0 || setrlimit(RLIMIT_FSIZE, &rl))
        return 2;
    a = start_dm(-1, NULL);
    if (!a)
        return 3;
    ca = qtest_qmp(a);
    if (!ca)
        return 4;
    if (child_qmp(ca, "stop", NULL, -1, NULL) != 0 || child_qmp(ca, "add-fd", NULL, fd, &ret) != 0)
        return 5;
    snprintf(fdset, sizeof(fdset), "/dev/fdset/%lld",
             (long long)json_integer_value(json_object_get(ret, "fdset-id")));
    json_decref(ret);
    if (child_qmp(ca, "xen-save-devices-state", json_pack("{s:s, s:b}", "filename", fdset, "live", 0),
                  -1, &ret) != 1)
        return 6;
    desc = json_string_value(json_object_get(ret, "desc"));
    if (!desc || !strstr(desc, strerror(EFBIG))) {
        fprintf(stderr, "EFBIG save error: '%s'\n", desc ? desc : "(none)");
        return 7;
    }
    json_decref(ret);
    if (!child_status_is(ca, "paused"))
        return 8;
    if (child_qmp(ca, "cont", NULL, -1, NULL) != 0)
        return 9;
    if (child_status_is(ca, "running") && kill(qtest_pid(a), 0) == 0)
        rc = 0;
    qmpc_close(ca);
    qtest_quit(a);
    close(fd);
    return rc;
}

START_TEST(save_efbig_keeps_running)
{
    pid_t pid = fork();
    int st;

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(efbig_child());
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "EFBIG scenario failed: status 0x%x", st);
}
END_TEST

/* xen-load-devices-state through an fd set: a bad stream changes nothing
 * (the DM re-saves the same bytes), a good one loads; refused while running. */
START_TEST(load_devices_state)
{
    char good[600], bad[600], after[600];
    struct qtest *a;
    struct qmpc *ca;
    uint8_t *s1, *s2;
    size_t l1, l2;
    int fd;
    char path[64];

    snprintf(good, sizeof(good), "%s/good", tmpdir);
    snprintf(bad, sizeof(bad), "%s/bad", tmpdir);
    snprintf(after, sizeof(after), "%s/after", tmpdir);
    a = start_dm(-1, NULL);
    ck_assert_ptr_nonnull(a);
    ca = qtest_qmp(a);
    json_decref(qmp_ok(ca, "cont", NULL, -1));
    drive_devices(a);
    json_decref(qmp_ok(ca, "stop", NULL, -1));
    save_to_path(ca, good);
    s1 = read_file(good, &l1);
    s1[l1 - 1] ^= 1;                    /* corrupt the CRC */
    write_bytes(bad, s1, l1);
    s1[l1 - 1] ^= 1;

    fd = open(bad, O_RDONLY);
    add_fd(ca, fd, path, sizeof(path));
    close(fd);
    qmp_fails(ca, "xen-load-devices-state", json_pack("{s:s}", "filename", path), -1,
              "checksum mismatch");
    ck_assert_str_eq(status(ca), "paused");
    save_to_path(ca, after);
    s2 = read_file(after, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert_msg(!memcmp(s1, s2, l1), "a rejected load changed device state");

    fd = open(good, O_RDONLY);
    add_fd(ca, fd, path, sizeof(path));
    close(fd);
    json_decref(qmp_ok(ca, "xen-load-devices-state", json_pack("{s:s}", "filename", path), -1));
    json_decref(qmp_ok(ca, "cont", NULL, -1));
    qmp_fails(ca, "xen-load-devices-state", json_pack("{s:s}", "filename", path), -1,
              "while the VM is running");
    free(s1);
    free(s2);
    qmpc_close(ca);
    qtest_quit(a);
}
END_TEST

static Suite *migration_suite(void)
{
    Suite *s = suite_create("migration-qtest");
    TCase *tc = tcase_create("save-restore");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip_restricted);
    tcase_add_test(tc, incoming_bitflip);
    tcase_add_test(tc, incoming_truncated);
    tcase_add_test(tc, incoming_trailing_garbage);
    tcase_add_test(tc, incoming_media_mismatch);
    tcase_add_test(tc, incoming_after_eject);
    tcase_add_test(tc, save_errors_keep_running);
    tcase_add_test(tc, save_over_stale_file);
    tcase_add_test(tc, save_efbig_keeps_running);
    tcase_add_test(tc, load_devices_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ck_run_suite(migration_suite());
}
