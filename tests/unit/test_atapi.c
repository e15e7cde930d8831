/* The ATAPI CD-ROM in-process (tests/lib/ide_harness.h) on an ISO built
 * here with xorriso: signature and IDENTIFY PACKET, the MMC commands
 * SeaBIOS and Linux sr use, PIO windows bounded by the byte count limit,
 * DMA, tray/lock/eject, media change through the QMP handlers with an
 * fd set (UNIT ATTENTION seen once by the guest), the empty drive, and
 * every opcode with hostile CDBs. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/fdset.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"
#include "tests/lib/ide_harness.h"

#define CH 1                    /* secondary master: libxl's hdc */
#define CD_ID "ide-5632"

static char tmpdir[64];
static char iso1[128], iso2[128];
static struct xsdm_config cfg;

/* An ISO with an El Torito no-emulation boot image and one file whose
 * content tells the two ISOs apart. */
static void make_iso(const char *out, const char *tag)
{
    char dir[160], path[200], cmd[512];
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/tree-%s", tmpdir, tag);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/boot.img", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 2048; i++)
        fputc(i & 0xff, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/TAG.TXT", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", tag);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "xorriso -as mkisofs -quiet -V XSDM_%s -o %s -b boot.img -no-emul-boot "
             "-boot-load-size 4 %s >/dev/null 2>&1", tag, out, dir);
    ck_assert_msg(system(cmd) == 0, "xorriso failed: %s", cmd);
}

static void build(bool with_medium)
{
    char err[256] = "";

    memset(&cfg, 0, sizeof(cfg));
    h_drive(&cfg, 2, CD_ID, with_medium ? iso1 : "", true, true);
    ck_assert_msg(h_new(&cfg, err, sizeof(err)) != NULL, "harness: %s", err);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xsdm-atapi-%d-XXXXXX", (int)getpid());
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(iso1, sizeof(iso1), "%s/one.iso", tmpdir);
    snprintf(iso2, sizeof(iso2), "%s/two.iso", tmpdir);
    make_iso(iso1, "ONE");
    make_iso(iso2, "TWO");
    build(true);
}

static void teardown(void)
{
    char cmd[128];

    h_free();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static uint16_t base(void) { return h_cmd_base(CH); }

static void send_packet(const uint8_t *cdb, uint16_t bcl, bool dma)
{
    h_select(CH, 0, 0);
    h_outb(base() + 1, dma ? 1 : 0);
    h_outb(base() + 4, (uint8_t)bcl);
    h_outb(base() + 5, (uint8_t)(bcl >> 8));
    h_outb(base() + 7, 0xa0);
    ck_assert(h_altstatus(CH) & ST_DRQ);
    ck_assert_uint_eq(h_inb(base() + 2) & 3, IR_COD);
    for (int i = 0; i < 12; i += 2)
        h_outw(base(), (uint16_t)(cdb[i] | cdb[i + 1] << 8));
}

/* Drain the data-in phase; each window is at most max_window bytes. Returns
 * the byte count; *status_r is the final status. */
static size_t read_reply(uint8_t *buf, size_t cap, size_t max_window, uint8_t *status_r)
{
    size_t got = 0;
    uint8_t st;

    for (int guard = 0; guard < 100000; guard++) {
        st = h_status(CH);
        if (!(st & ST_DRQ))
            break;
        {
            size_t n = (size_t)h_inb(base() + 4) | (size_t)h_inb(base() + 5) << 8;

            ck_assert_uint_eq(h_inb(base() + 2) & 3, IR_IO);
            ck_assert_uint_gt(n, 0);
            ck_assert_uint_le(n, max_window);
            for (size_t i = 0; i < n; i += 2) {
                uint16_t w = h_inw(base());

                if (got + i < cap)
                    buf[got + i] = (uint8_t)w;
                if (got + i + 1 < cap && i + 1 < n)
                    buf[got + i + 1] = (uint8_t)(w >> 8);
            }
            got += n;
        }
    }
    st = h_status(CH);
    ck_assert_uint_eq(h_inb(base() + 2) & 3, IR_IO | IR_COD);
    *status_r = st;
    return got;
}

/* Run a command by PIO; returns the reply length, or -1 on CHECK CONDITION. */
static long cmd(const uint8_t *cdb, uint8_t *buf, size_t cap)
{
    uint8_t st;
    size_t n;

    send_packet(cdb, 0xfffe, false);
    n = read_reply(buf, cap, 0xfffe, &st);
    ck_assert(!(st & ST_BSY));
    return (st & ST_ERR) ? -1 : (long)n;
}

static void sense(uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
    uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 }, b[18];

    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 18);
    *key = b[2] & 0x0f;
    *asc = b[12];
    *ascq = b[13];
}

static void expect_check(const uint8_t *cdb, uint8_t key, uint8_t asc)
{
    uint8_t b[64], k, a, q;

    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), -1);
    ck_assert_uint_eq(h_error(CH) >> 4, key);
    sense(&k, &a, &q);
    ck_assert_uint_eq(k, key);
    ck_assert_uint_eq(a, asc);
}

static const uint8_t TUR[12] = { 0x00 };

static void read10(uint32_t lba, uint16_t n, uint8_t *cdb)
{
    memset(cdb, 0, 12);
    cdb[0] = 0x28;
    cdb[2] = (uint8_t)(lba >> 24);
    cdb[3] = (uint8_t)(lba >> 16);
    cdb[4] = (uint8_t)(lba >> 8);
    cdb[5] = (uint8_t)lba;
    cdb[7] = (uint8_t)(n >> 8);
    cdb[8] = (uint8_t)n;
}

START_TEST(test_signature_identify)
{
    uint8_t id[512];
    char model[41];

    h_outb(h_ctl_base(CH), DC_SRST);
    h_outb(h_ctl_base(CH), 0);
    ck_assert_uint_eq(h_inb(base() + 4), 0x14);
    ck_assert_uint_eq(h_inb(base() + 5), 0xeb);
    ck_assert_uint_eq(h_altstatus(CH), 0);
    h_outb(base() + 4, 0);
    h_outb(base() + 7, 0xec);                        /* IDENTIFY DEVICE: aborted, signature */
    ck_assert_uint_eq(h_status(CH) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(h_error(CH), ER_ABRT);
    ck_assert_uint_eq(h_inb(base() + 4), 0x14);
    ck_assert_uint_eq(h_inb(base() + 5), 0xeb);
    h_outb(base() + 7, 0xa1);
    ck_assert_int_eq(H->irq[15], 1);
    ck_assert(h_status(CH) & ST_DRQ);
    h_pio_read(CH, id, sizeof(id));
    ck_assert_uint_eq(id[0] | id[1] << 8, 0x85c0);
    for (int i = 0; i < 40; i++)
        model[i] = (char)id[54 + (i ^ 1)];
    model[40] = 0;
    ck_assert_msg(!strncmp(model, "XSDM DVD-ROM ", 13), "model '%s'", model);
    /* Media commands reach a packet device only as packets. */
    for (int i = 0; i < 4; i++) {
        static const uint8_t ata_media[] = { 0x20, 0xc8, 0x30, 0x40 };

        h_outb(base() + 7, ata_media[i]);
        ck_assert_uint_eq(h_status(CH) & (ST_ERR | ST_DRQ), ST_ERR);
        ck_assert_uint_eq(h_error(CH), ER_ABRT);
    }
    h_outb(base() + 7, 0x08);                        /* DEVICE RESET */
    ck_assert_uint_eq(h_altstatus(CH), 0);
    ck_assert_uint_eq(h_inb(base() + 5), 0xeb);
}
END_TEST

START_TEST(test_inquiry_capacity_read)
{
    uint8_t cdb[12] = { 0x12, 0, 0, 0, 36 }, b[4096];
    struct stat st;
    uint32_t last;

    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 36);
    ck_assert_uint_eq(b[0], 0x05);
    ck_assert_uint_eq(b[1], 0x80);
    ck_assert_mem_eq(b + 16, "XSDM DVD-ROM", 12);
    cdb[4] = 5;                                      /* allocation length honoured */
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 5);
    memset(cdb, 0, 12);
    cdb[0] = 0x25;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 8);
    ck_assert_int_eq(stat(iso1, &st), 0);
    last = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    ck_assert_uint_eq(last, st.st_size / 2048 - 1);
    ck_assert_uint_eq((uint32_t)b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 2048);
    read10(16, 1, cdb);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 2048);
    ck_assert_mem_eq(b, "\001CD001", 6);
    read10(16, 2, cdb);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 4096);
    ck_assert_mem_eq(b + 2048, "\000CD001\001EL TORITO SPECIFICATION", 30);
    memset(cdb, 0, 12);                              /* READ(12) */
    cdb[0] = 0xa8;
    cdb[5] = 17;
    cdb[9] = 1;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 2048);
    ck_assert_mem_eq(b + 7, "EL TORITO SPECIFICATION", 23);
    memset(cdb, 0, 12);                              /* READ CD, user data */
    cdb[0] = 0xbe;
    cdb[5] = 16;
    cdb[8] = 1;
    cdb[9] = 0x10;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 2048);
    ck_assert_mem_eq(b, "\001CD001", 6);
    read10(last, 2, cdb);                            /* past the end */
    expect_check(cdb, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
    read10(0, 0, cdb);                               /* zero blocks: no data */
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
}
END_TEST

START_TEST(test_byte_count_limits)
{
    uint8_t cdb[12], b[2048], st;
    uint16_t limits[] = { 100, 101, 2, 1, 0, 0xffff, 2048 };

    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        size_t want = limits[i] <= 1 ? (limits[i] ? 2048 : 2048) : limits[i] & ~1u;

        read10(16, 1, cdb);
        send_packet(cdb, limits[i], false);
        memset(b, 0, sizeof(b));
        ck_assert_uint_eq(read_reply(b, sizeof(b), want > 2048 ? 0xfffe : (limits[i] == 1 ? 0xfffe : want), &st), 2048);
        ck_assert_uint_eq(st & ST_ERR, 0);
        ck_assert_mem_eq(b, "\001CD001", 6);
    }
}
END_TEST

START_TEST(test_dma_read)
{
    uint8_t cdb[12], st;

    h_prd(0x1000, 0, 0x10000, 1024, false);
    h_prd(0x1000, 1, 0x20000, 3072, true);
    h_bm_setup(CH, 0x1000, true);
    h_bm_start(CH, true);
    read10(16, 2, cdb);
    send_packet(cdb, 0xfffe, true);
    ck_assert_int_eq(H->irq[15], 1);
    st = h_status(CH);
    ck_assert_uint_eq(st & (ST_ERR | ST_DRQ), 0);
    ck_assert_uint_eq(h_bm_status(CH) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    ck_assert_mem_eq(H->ram + 0x10000, "\001CD001", 6);
    ck_assert_mem_eq(H->ram + 0x20000 + 1024, "\000CD001\001EL TORITO", 16);
    /* A table outside RAM: error, never a crash. */
    h_outb(H_BM_BASE + 8, 0);
    h_bm_setup(CH, 0x1000, true);
    h_outl(H_BM_BASE + 8 + 4, 0xfffffff0);
    h_bm_start(CH, true);
    send_packet(cdb, 0xfffe, true);
    ck_assert_uint_eq(h_status(CH) & ST_ERR, ST_ERR);
    ck_assert(h_bm_status(CH) & BM_ST_ERROR);
}
END_TEST

START_TEST(test_toc_mode_config)
{
    uint8_t cdb[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24 }, b[256];
    struct stat st;
    uint32_t blocks;

    ck_assert_int_eq(stat(iso1, &st), 0);
    blocks = (uint32_t)(st.st_size / 2048);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 20);    /* format 0, LBA */
    ck_assert_uint_eq(b[0] << 8 | b[1], 18);
    ck_assert_uint_eq(b[2], 1);
    ck_assert_uint_eq(b[3], 1);
    ck_assert_uint_eq(b[5], 0x14);
    ck_assert_uint_eq(b[6], 1);
    ck_assert_uint_eq(b[14], 0xaa);
    ck_assert_uint_eq((uint32_t)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19], blocks);
    cdb[1] = 2;                                      /* MSF */
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 20);
    ck_assert_uint_eq(b[9], 0);
    ck_assert_uint_eq(b[10], 2);                     /* 00:02:00 */
    ck_assert_uint_eq(b[17], (blocks + 150) / 4500);
    ck_assert_uint_eq(b[18], (blocks + 150) / 75 % 60);
    ck_assert_uint_eq(b[19], (blocks + 150) % 75);
    cdb[2] = 1;                                      /* session info */
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 12);
    ck_assert_uint_eq(b[0] << 8 | b[1], 10);
    cdb[2] = 5;
    expect_check(cdb, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);

    memset(cdb, 0, 12);                              /* MODE SENSE(10) 2Ah */
    cdb[0] = 0x5a;
    cdb[2] = 0x2a;
    cdb[8] = 0xff;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 28);
    ck_assert_uint_eq(b[8], 0x2a);
    ck_assert_uint_eq(b[9], 0x12);
    ck_assert(b[14] & 0x08);                         /* eject supported */
    cdb[2] = 0x3f;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 36);
    ck_assert_uint_eq(b[8], 0x01);
    ck_assert_uint_eq(b[16], 0x2a);
    cdb[2] = 0xc0 | 0x2a;                            /* saved values */
    expect_check(cdb, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
    cdb[2] = 0x05;
    expect_check(cdb, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);

    memset(cdb, 0, 12);                              /* GET CONFIGURATION */
    cdb[0] = 0x46;
    cdb[8] = 0xff;
    ck_assert_int_gt(cmd(cdb, b, sizeof(b)), 8);
    ck_assert_uint_eq(b[6] << 8 | b[7], 0x0008);     /* CD-ROM profile */
    memset(cdb, 0, 12);                              /* READ DISC INFORMATION */
    cdb[0] = 0x51;
    cdb[8] = 34;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 34);
    ck_assert_uint_eq(b[2], 0x0e);
    memset(cdb, 0, 12);                              /* MECHANISM STATUS */
    cdb[0] = 0xbd;
    cdb[9] = 8;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 8);
    ck_assert_uint_eq(b[1] & 0x10, 0);
    memset(cdb, 0, 12);                              /* SET CD SPEED */
    cdb[0] = 0xbb;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
    memset(cdb, 0, 12);
    cdb[0] = 0xd8;                                   /* unknown */
    expect_check(cdb, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}
END_TEST

static int gesn(uint8_t *media_status)
{
    uint8_t cdb[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, b[8];

    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 8);
    ck_assert_uint_eq(b[2], 0x04);
    *media_status = b[5];
    return b[4] & 0x0f;
}

static json_t *query_cd(void)
{
    json_t *ret, *it;
    struct qmp_error err;
    size_t i;

    ck_assert_int_eq(h_qmp("query-block", NULL, &ret, &err), 0);
    json_array_foreach(ret, i, it) {
        if (!strcmp(json_string_value(json_object_get(it, "device")), CD_ID)) {
            json_incref(it);
            json_decref(ret);
            return it;
        }
    }
    json_decref(ret);
    return NULL;
}

START_TEST(test_tray_lock_eject)
{
    uint8_t cdb[12] = { 0 }, b[64], ms, k, a, q;
    struct qmp_error err;
    json_t *ret, *cd;

    ck_assert_int_eq(gesn(&ms), MEV_NONE);
    ck_assert_uint_eq(ms, 0x02);                     /* medium present, tray closed */
    cdb[0] = 0x1e;                                   /* PREVENT MEDIUM REMOVAL */
    cdb[4] = 1;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
    memset(cdb, 0, 12);
    cdb[0] = 0x1b;                                   /* START STOP: eject */
    cdb[4] = 2;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), -1);
    sense(&k, &a, &q);
    ck_assert_uint_eq(k, SK_NOT_READY);
    ck_assert_uint_eq(a, ASC_REMOVAL_PREVENTED);
    /* QMP eject of a locked drive: refused, the guest is asked. */
    ck_assert_int_eq(h_qmp("eject", json_pack("{s:s}", "id", CD_ID), &ret, &err), -1);
    ck_assert_str_eq(err.cls, QMP_ERR_GENERIC);
    ck_assert_msg(strstr(err.desc, "is locked"), "%s", err.desc);
    ck_assert_int_eq(gesn(&ms), MEV_EJECT_REQUEST);
    cd = query_cd();
    ck_assert(json_is_true(json_object_get(cd, "locked")));
    json_decref(cd);
    /* Guest unlocks and ejects itself: tray open, medium stays in it. */
    memset(cdb, 0, 12);
    cdb[0] = 0x1e;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
    cdb[0] = 0x1b;
    cdb[4] = 2;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
    cd = query_cd();
    ck_assert(json_is_true(json_object_get(cd, "tray_open")));
    ck_assert_ptr_nonnull(json_object_get(cd, "inserted"));
    json_decref(cd);
    ck_assert_int_eq(gesn(&ms), MEV_REMOVAL);
    ck_assert_uint_eq(ms, 0x01);
    memset(cdb, 0, 12);
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), -1);
    sense(&k, &a, &q);
    ck_assert_uint_eq(k, SK_NOT_READY);
    ck_assert_uint_eq(a, ASC_MEDIUM_NOT_PRESENT);
    ck_assert_uint_eq(q, 2);                         /* tray open */
    cdb[0] = 0x1b;                                   /* load */
    cdb[4] = 3;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
    expect_check(TUR, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);     /* once */
    ck_assert_int_eq(gesn(&ms), MEV_NEW_MEDIA);
    ck_assert_int_eq(gesn(&ms), MEV_NONE);
    /* Forced QMP eject of a locked drive works and empties it. */
    memset(cdb, 0, 12);
    cdb[0] = 0x1e;
    cdb[4] = 1;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 0);
    ck_assert_int_eq(h_qmp("eject", json_pack("{s:s,s:b}", "device", CD_ID, "force", 1), &ret, &err), 0);
    cd = query_cd();
    ck_assert(json_is_true(json_object_get(cd, "tray_open")));
    ck_assert(json_is_false(json_object_get(cd, "locked")));
    ck_assert_ptr_null(json_object_get(cd, "inserted"));
    json_decref(cd);
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), -1);
    /* Errors libxl sees. */
    ck_assert_int_eq(h_qmp("eject", json_pack("{s:s}", "id", "ide-9999"), &ret, &err), -1);
    ck_assert_str_eq(err.cls, QMP_ERR_DEVICE_NOT_FOUND);
    ck_assert_str_eq(err.desc, "Device 'ide-9999' not found");
    ck_assert_int_eq(h_qmp("eject", json_pack("{s:s,s:s}", "id", CD_ID, "device", CD_ID), &ret, &err), -1);
    ck_assert_str_eq(err.cls, QMP_ERR_GENERIC);
    ck_assert_int_eq(h_qmp("eject", NULL, &ret, &err), -1);
}
END_TEST

START_TEST(test_change_medium_fdset)
{
    uint8_t cdb[12], b[2048];
    struct qmp_error err;
    json_t *ret, *cd, *ins;
    char msg[256], name[32];
    int fd, set, fdr;

    H->dm.restricted = true;
    /* A path after restriction is refused; other formats too. */
    ck_assert_int_eq(h_qmp("blockdev-change-medium", json_pack("{s:s,s:s,s:s}", "id", CD_ID, "filename", iso2,
                                                               "format", "raw"), &ret, &err), -1);
    ck_assert_str_eq(err.cls, QMP_ERR_GENERIC);
    ck_assert_msg(strstr(err.desc, "fdset"), "%s", err.desc);
    fd = open(iso2, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fdset_add(-1, fd, "raw:two.iso", &set, &fdr, msg, sizeof(msg)), 0);
    snprintf(name, sizeof(name), "/dev/fdset/%d", set);
    ck_assert_int_eq(h_qmp("blockdev-change-medium", json_pack("{s:s,s:s,s:s}", "id", CD_ID, "filename", name,
                                                               "format", "qcow2"), &ret, &err), -1);
    ck_assert_msg(strstr(err.desc, "qcow2"), "%s", err.desc);
    ck_assert_int_eq(h_qmp("blockdev-change-medium", json_pack("{s:s,s:s,s:s}", "id", "nope", "filename", name,
                                                               "format", "raw"), &ret, &err), -1);
    ck_assert_str_eq(err.cls, QMP_ERR_DEVICE_NOT_FOUND);
    /* libxl's sequence: eject, add-fd, blockdev-change-medium. */
    ck_assert_int_eq(h_qmp("eject", json_pack("{s:s}", "id", CD_ID), &ret, &err), 0);
    ck_assert_int_eq(h_qmp("blockdev-change-medium", json_pack("{s:s,s:s,s:s}", "id", CD_ID, "filename", name,
                                                               "format", "raw"), &ret, &err), 0);
    json_decref(ret);
    cd = query_cd();
    ins = json_object_get(cd, "inserted");
    ck_assert_ptr_nonnull(ins);
    ck_assert_str_eq(json_string_value(json_object_get(ins, "file")), name);
    ck_assert(json_is_true(json_object_get(ins, "ro")));
    ck_assert(json_is_false(json_object_get(cd, "tray_open")));
    json_decref(cd);
    /* The guest sees the change once, then the new medium. */
    expect_check(TUR, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);
    read10(16, 1, cdb);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 2048);
    ck_assert_mem_eq(b + 40, "XSDM_TWO", 8);         /* volume identifier */
    /* query-blockstats counts what the guest read. */
    ck_assert_int_eq(h_qmp("query-blockstats", NULL, &ret, &err), 0);
    ck_assert_int_eq(json_array_size(ret), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ret, 0), "device")), CD_ID);
    ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(json_array_get(ret, 0), "stats"),
                                                        "rd_bytes")), 2048);
    ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(json_array_get(ret, 0), "stats"),
                                                        "rd_operations")), 1);
    json_decref(ret);
    /* The legacy "change" form does the same. */
    ck_assert_int_eq(h_qmp("change", json_pack("{s:s,s:s,s:s}", "device", CD_ID, "target", name, "arg", "raw"),
                           &ret, &err), 0);
    expect_check(TUR, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
}
END_TEST

START_TEST(test_empty_drive)
{
    uint8_t cdb[12] = { 0x12, 0, 0, 0, 36 }, b[64], ms;
    struct qmp_error err;
    json_t *ret, *cd;
    struct vmstate_media m;

    build(false);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 36);    /* INQUIRY works without a medium */
    expect_check(TUR, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    memset(cdb, 0, 12);
    cdb[0] = 0x25;
    expect_check(cdb, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    read10(0, 1, cdb);
    expect_check(cdb, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    ck_assert_int_eq(gesn(&ms), MEV_NONE);
    ck_assert_uint_eq(ms, 0);
    cd = query_cd();
    ck_assert_ptr_null(json_object_get(cd, "inserted"));
    ck_assert(json_is_true(json_object_get(cd, "removable")));
    json_decref(cd);
    ck_assert(vmstate_query_media(2, &m));
    ck_assert(m.present && m.cdrom && !m.inserted && m.readonly);
    /* Before restriction a path works (what -drive does at startup). */
    ck_assert_int_eq(h_qmp("blockdev-change-medium", json_pack("{s:s,s:s}", "device", CD_ID, "filename", iso1),
                           &ret, &err), 0);
    ck_assert(vmstate_query_media(2, &m));
    ck_assert(m.inserted);
}
END_TEST

/* Every opcode with CDB bytes that change per round: a defined status,
 * never busy, the reply always drains. */
START_TEST(test_every_opcode)
{
    uint8_t cdb[12], b[70000];
    uint32_t x = 12345;

    for (int round = 0; round < 3; round++) {
        for (int op = 0; op < 256; op++) {
            for (int i = 1; i < 12; i++) {
                x = x * 1103515245u + 12345u;
                cdb[i] = (uint8_t)(round == 0 ? 0 : round == 1 ? 0xff : x >> 16);
            }
            cdb[0] = (uint8_t)op;
            if (op == 0x28 || op == 0xa8 || op == 0xbe)
                cdb[2] = 0;                          /* keep reads short but in range */
            if (op == 0x1b || op == 0x1e)
                continue;                            /* tray moves are tested above */
            (void)cmd(cdb, b, sizeof(b));
            ck_assert(!(h_altstatus(CH) & (ST_BSY | ST_DRQ)));
        }
    }
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);
}
END_TEST


/* ---- against build/xsdm over qtest and QMP (libxl's argv and commands) ---- */

static void q_packet(struct qtest *q, const uint8_t *cdb)
{
    qtest_outb(q, 0x176, 0xa0);
    qtest_outb(q, 0x171, 0);
    qtest_outb(q, 0x174, 0xfe);
    qtest_outb(q, 0x175, 0xff);
    qtest_outb(q, 0x177, 0xa0);
    ck_assert(qtest_inb(q, 0x376) & ST_DRQ);
    for (int i = 0; i < 12; i += 2)
        qtest_outw(q, 0x170, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
}

/* PIO data-in; returns bytes read or -1 on CHECK CONDITION. */
static long q_cmd(struct qtest *q, const uint8_t *cdb, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    uint8_t st;

    q_packet(q, cdb);
    while ((st = qtest_inb(q, 0x177)) & ST_DRQ) {
        size_t n = qtest_inb(q, 0x174) | (size_t)qtest_inb(q, 0x175) << 8;

        for (size_t i = 0; i < n; i += 2, got += 2) {
            uint16_t w = qtest_inw(q, 0x170);

            if (got + 1 < cap) {
                buf[got] = (uint8_t)w;
                buf[got + 1] = (uint8_t)(w >> 8);
            }
        }
    }
    return (st & ST_ERR) ? -1 : (long)got;
}

static json_t *q_exec(struct qmpc *c, const char *cmdname, json_t *args, int fd, int want_rc)
{
    char err[256] = "";
    json_t *ret = NULL;
    int rc = qmpc_execute(c, cmdname, args, fd, &ret, err, sizeof(err));

    ck_assert_msg(rc == want_rc, "%s: rc %d (%s) %s", cmdname, rc, err,
                  ret ? json_string_value(json_object_get(ret, "desc")) : "");
    return ret;
}

static void q_tray_event(struct qmpc *c, bool open)
{
    json_t *ev = qmpc_wait_event(c, "DEVICE_TRAY_MOVED", 10000), *data;

    ck_assert_msg(ev != NULL, "no DEVICE_TRAY_MOVED");
    data = json_object_get(ev, "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "device")), CD_ID);
    ck_assert_str_eq(json_string_value(json_object_get(data, "id")), CD_ID);
    ck_assert(json_boolean_value(json_object_get(data, "tray-open")) == open);
    json_decref(ev);
}

START_TEST(test_qtest_media_change)
{
    char drive[300], cd[300];
    const char *args[] = { "-drive", drive, "-drive", cd, "-device",
                           "ide-cd,id=" CD_ID ",drive=" CD_ID ",bus=ide.1,unit=0", NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };
    const char *disk = h_image("qtdisk", 64 * 512);
    uint8_t cdb[12], b[4096];
    struct qtest *q;
    struct qmpc *c;
    json_t *ret, *inserted;
    char name[32];
    int fd;

    snprintf(drive, sizeof(drive), "file=%s,if=ide,index=0,media=disk,format=raw,cache=writeback", disk);
    snprintf(cd, sizeof(cd), "if=none,readonly=on,id=%s,file=%s,format=raw", CD_ID, iso1);
    q = qtest_start(&o);
    ck_assert_msg(q != NULL, "DM did not start");
    c = qtest_qmp(q);
    ck_assert_ptr_nonnull(c);

    /* The guest reads the ISO: volume descriptor and El Torito record. */
    read10(16, 2, cdb);
    ck_assert_int_eq(q_cmd(q, cdb, b, sizeof(b)), 4096);
    ck_assert_mem_eq(b, "\001CD001", 6);
    ck_assert_mem_eq(b + 40, "XSDM_ONE", 8);
    ck_assert_mem_eq(b + 2048 + 7, "EL TORITO SPECIFICATION", 23);
    memset(cdb, 0, 12);                              /* READ TOC */
    cdb[0] = 0x43;
    cdb[8] = 0xff;
    ck_assert_int_eq(q_cmd(q, cdb, b, sizeof(b)), 20);
    ck_assert_uint_eq(b[14], 0xaa);

    /* libxl's cdrom-insert: eject, add-fd, blockdev-change-medium. */
    ret = q_exec(c, "eject", json_pack("{s:s}", "id", CD_ID), -1, 0);
    json_decref(ret);
    q_tray_event(c, true);
    fd = open(iso2, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ret = q_exec(c, "add-fd", json_pack("{s:s}", "opaque", "raw:two.iso"), fd, 0);
    close(fd);
    snprintf(name, sizeof(name), "/dev/fdset/%d", (int)json_integer_value(json_object_get(ret, "fdset-id")));
    json_decref(ret);
    ret = q_exec(c, "blockdev-change-medium", json_pack("{s:s,s:s,s:s}", "id", CD_ID, "filename", name,
                                                        "format", "raw"), -1, 0);
    json_decref(ret);
    q_tray_event(c, false);
    ret = q_exec(c, "query-block", NULL, -1, 0);
    inserted = NULL;
    for (size_t i = 0; i < json_array_size(ret); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(ret, i), "device")), CD_ID))
            inserted = json_object_get(json_array_get(ret, i), "inserted");
    ck_assert_ptr_nonnull(inserted);
    ck_assert_str_eq(json_string_value(json_object_get(inserted, "file")), name);
    json_decref(ret);

    /* The guest sees UNIT ATTENTION once, then the new disc. */
    ck_assert_int_eq(q_cmd(q, TUR, b, sizeof(b)), -1);
    memset(cdb, 0, 12);
    cdb[0] = 0x03;
    cdb[4] = 18;
    ck_assert_int_eq(q_cmd(q, cdb, b, sizeof(b)), 18);
    ck_assert_uint_eq(b[2] & 0x0f, SK_UNIT_ATTENTION);
    ck_assert_uint_eq(b[12], ASC_MEDIUM_MAY_HAVE_CHANGED);
    ck_assert_int_eq(q_cmd(q, TUR, b, sizeof(b)), 0);
    read10(16, 1, cdb);
    ck_assert_int_eq(q_cmd(q, cdb, b, sizeof(b)), 2048);
    ck_assert_mem_eq(b + 40, "XSDM_TWO", 8);

    /* A path is refused once restricted; unknown ids are DeviceNotFound. */
    ret = q_exec(c, "blockdev-change-medium", json_pack("{s:s,s:s,s:s}", "id", CD_ID, "filename", iso1,
                                                        "format", "raw"), -1, 1);
    json_decref(ret);
    ret = q_exec(c, "eject", json_pack("{s:s}", "id", "ide-9999"), -1, 1);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "class")), "DeviceNotFound");
    json_decref(ret);
    ret = q_exec(c, "query-blockstats", NULL, -1, 0);
    ck_assert_int_eq(json_array_size(ret), 2);
    json_decref(ret);

    /* The disk: IDENTIFY, then a DMA read through a PRD table in guest RAM. */
    qtest_outb(q, 0x1f6, 0xa0);
    qtest_outb(q, 0x1f7, 0xec);
    ck_assert(qtest_inb(q, 0x1f7) & ST_DRQ);
    for (int i = 0; i < 256; i++) {
        uint16_t w = qtest_inw(q, 0x1f0);

        b[2 * i] = (uint8_t)w;
        b[2 * i + 1] = (uint8_t)(w >> 8);
    }
    ck_assert_uint_eq(b[120] | b[121] << 8, 64);
    qtest_pci_cfg_writel(q, 1, 1, 0x20, 0xc001);
    qtest_pci_cfg_writew(q, 1, 1, 0x04, 0x0005);
    {
        uint8_t prd[8] = { 0x00, 0x00, 0x20, 0x00, 0x00, 0x04, 0x00, 0x80 };   /* 0x200000, 1 KiB, EOT */

        qtest_memwrite(q, 0x100000, prd, sizeof(prd));
    }
    qtest_outl(q, 0xc004, 0x100000);
    qtest_outb(q, 0xc000, BM_CMD_READ | BM_CMD_START);
    qtest_outb(q, 0x1f6, 0xe0);
    qtest_outb(q, 0x1f2, 2);
    qtest_outb(q, 0x1f3, 10);
    qtest_outb(q, 0x1f4, 0);
    qtest_outb(q, 0x1f5, 0);
    qtest_outb(q, 0x1f7, 0xc8);
    ck_assert_uint_eq(qtest_inb(q, 0xc002) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    ck_assert_uint_eq(qtest_inb(q, 0x1f7) & (ST_ERR | ST_DRQ), 0);
    qtest_memread(q, 0x200000, b, 1024);
    for (unsigned j = 0; j < 1024; j++)
        ck_assert_uint_eq(b[j], h_pattern(10 * 512 + j));
    qmpc_close(c);
    qtest_quit(q);
    unlink(disk);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("atapi");
    TCase *tc = tcase_create("atapi");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_signature_identify);
    tcase_add_test(tc, test_inquiry_capacity_read);
    tcase_add_test(tc, test_byte_count_limits);
    tcase_add_test(tc, test_dma_read);
    tcase_add_test(tc, test_toc_mode_config);
    tcase_add_test(tc, test_tray_lock_eject);
    tcase_add_test(tc, test_change_medium_fdset);
    tcase_add_test(tc, test_empty_drive);
    tcase_add_test(tc, test_every_opcode);
    tcase_add_test(tc, test_qtest_media_change);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
