/* The ATAPI CD-ROM in-process (tests/lib/ide_harness.h) on an ISO built
 * here with xorriso, written as the packets a driver sends: signature and
 * IDENTIFY PACKET, the MMC commands SeaBIOS and Linux sr use, PIO windows
 * bounded by the byte count limit, DMA (PRD entries that split blocks, a
 * table shorter than the transfer, bus mastering off), tray/lock/eject,
 * media change through the QMP handlers with an fd set (UNIT ATTENTION
 * seen once by the guest), the empty drive, and every opcode with hostile
 * CDBs. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/core/bytes.h"
#include "dm/core/fdset.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/ide_harness.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

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

#define DATA  (h_cmd_base(CH) + ATA_REG_DATA)
#define TABLE 0x1000u                   /* PRD table address in guest RAM */
#define BCL_MAX 0xfffe                  /* the largest (even) byte count limit */

static uint8_t reason(void) { return h_reg_read(CH, ATA_REG_NSECTOR) & (IR_IO | IR_COD); }

/* PACKET: the byte count limit in LBA mid/high, DMA in the feature
 * register, then the 12 command bytes through the data port. */
static void send_packet(const uint8_t *cdb, uint16_t bcl, bool dma)
{
    h_select(CH, 0, 0);
    h_reg_write(CH, ATA_REG_FEATURE, dma ? ATAPI_FEATURE_DMA : 0);
    h_reg_write(CH, ATA_REG_LBA_MID, (uint8_t)bcl);
    h_reg_write(CH, ATA_REG_LBA_HIGH, (uint8_t)(bcl >> 8));
    h_command(CH, ATA_CMD_PACKET);
    ck_assert(h_altstatus(CH) & ST_DRQ);
    ck_assert_uint_eq(reason(), IR_COD);
    for (int i = 0; i < ATAPI_CMD_LEN; i += 2)
        h_outw(DATA, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
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
            size_t n = (size_t)h_reg_read(CH, ATA_REG_LBA_MID) | (size_t)h_reg_read(CH, ATA_REG_LBA_HIGH) << 8;

            ck_assert_uint_eq(reason(), IR_IO);
            ck_assert_uint_gt(n, 0);
            ck_assert_uint_le(n, max_window);
            for (size_t i = 0; i < n; i += 2) {
                uint16_t w = h_inw(DATA);

                if (got + i < cap)
                    buf[got + i] = (uint8_t)w;
                if (got + i + 1 < cap && i + 1 < n)
                    buf[got + i + 1] = (uint8_t)(w >> 8);
            }
            got += n;
        }
    }
    st = h_status(CH);
    ck_assert_uint_eq(reason(), IR_IO | IR_COD);
    *status_r = st;
    return got;
}

/* Run a command by PIO; returns the reply length, or -1 on CHECK CONDITION. */
static long cmd(const uint8_t *cdb, uint8_t *buf, size_t cap)
{
    uint8_t st;
    size_t n;

    send_packet(cdb, BCL_MAX, false);
    n = read_reply(buf, cap, BCL_MAX, &st);
    ck_assert(!(st & ST_BSY));
    return (st & ST_ERR) ? -1 : (long)n;
}

/* ---- CDBs, one builder per command ---- */

static uint8_t *cdb_of(uint8_t *cdb, uint8_t op)
{
    memset(cdb, 0, ATAPI_CMD_LEN);
    cdb[0] = op;
    return cdb;
}

/* Commands whose allocation length is bytes 7-8. */
static uint8_t *cdb_alloc(uint8_t *cdb, uint8_t op, uint16_t alloc)
{
    put_be16(cdb_of(cdb, op) + 7, alloc);
    return cdb;
}

static uint8_t *inquiry(uint8_t *cdb, uint8_t alloc)
{
    cdb_of(cdb, ATAPI_INQUIRY)[4] = alloc;
    return cdb;
}

static void read10(uint32_t lba, uint16_t n, uint8_t *cdb)
{
    put_be32(cdb_of(cdb, ATAPI_READ_10) + 2, lba);
    put_be16(cdb + 7, n);
}

static uint8_t *read_toc(uint8_t *cdb, uint8_t format, bool msf, uint16_t alloc)
{
    cdb_alloc(cdb, ATAPI_READ_TOC, alloc);
    cdb[1] = msf ? ATAPI_MSF : 0;
    cdb[2] = format;
    return cdb;
}

/* page: page control in bits 6-7, page code below. */
static uint8_t *mode_sense(uint8_t *cdb, uint8_t page, uint16_t alloc)
{
    cdb_alloc(cdb, ATAPI_MODE_SENSE_10, alloc)[2] = page;
    return cdb;
}

static const uint8_t TUR[ATAPI_CMD_LEN] = { ATAPI_TEST_UNIT_READY };

static void sense(uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[18];

    cdb_of(cdb, ATAPI_REQUEST_SENSE)[4] = 18;
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 18);
    *key = b[2] & 0x0f;
    *asc = b[12];
    *ascq = b[13];
}

static void expect_check(const uint8_t *cdb, uint8_t key, uint8_t asc)
{
    uint8_t b[64], k, a, q;

    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), -1);
    ck_assert_uint_eq(h_error(CH) >> ER_SENSE_SHIFT, key);
    sense(&k, &a, &q);
    ck_assert_uint_eq(k, key);
    ck_assert_uint_eq(a, asc);
}

/* PREVENT ALLOW MEDIUM REMOVAL and START STOP UNIT: the reply length or -1. */
static long prevent_removal(bool prevent)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[8];

    cdb_of(cdb, ATAPI_PREVENT_ALLOW)[4] = prevent ? ATAPI_PREVENT : 0;
    return cmd(cdb, b, sizeof(b));
}

static long start_stop(bool loej, bool start)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[8];

    cdb_of(cdb, ATAPI_START_STOP_UNIT)[4] = (uint8_t)((loej ? ATAPI_START_STOP_LOEJ : 0) |
                                                      (start ? ATAPI_START_STOP_START : 0));
    return cmd(cdb, b, sizeof(b));
}

START_TEST(test_signature_identify)
{
    uint8_t id[512];
    char model[41];

    h_devctl(CH, DC_SRST);
    h_devctl(CH, 0);
    ck_assert_uint_eq(h_reg_read(CH, ATA_REG_LBA_MID), SIG_ATAPI_MID);
    ck_assert_uint_eq(h_reg_read(CH, ATA_REG_LBA_HIGH), SIG_ATAPI_HIGH);
    ck_assert_uint_eq(h_altstatus(CH), 0);
    h_reg_write(CH, ATA_REG_LBA_MID, 0);
    h_command(CH, ATA_CMD_IDENTIFY);                 /* aborted, signature */
    ck_assert_uint_eq(h_status(CH) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(h_error(CH), ER_ABRT);
    ck_assert_uint_eq(h_reg_read(CH, ATA_REG_LBA_MID), SIG_ATAPI_MID);
    ck_assert_uint_eq(h_reg_read(CH, ATA_REG_LBA_HIGH), SIG_ATAPI_HIGH);
    h_command(CH, ATA_CMD_IDENTIFY_PACKET);
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
        static const uint8_t ata_media[] = {
            ATA_CMD_READ_SECTORS, ATA_CMD_READ_DMA, ATA_CMD_WRITE_SECTORS, ATA_CMD_VERIFY,
        };

        h_command(CH, ata_media[i]);
        ck_assert_uint_eq(h_status(CH) & (ST_ERR | ST_DRQ), ST_ERR);
        ck_assert_uint_eq(h_error(CH), ER_ABRT);
    }
    h_command(CH, ATA_CMD_DEVICE_RESET);
    ck_assert_uint_eq(h_altstatus(CH), 0);
    ck_assert_uint_eq(h_reg_read(CH, ATA_REG_LBA_HIGH), SIG_ATAPI_HIGH);
}
END_TEST

START_TEST(test_inquiry_capacity_read)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[4096];
    struct stat st;
    uint32_t last;

    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);
    ck_assert_int_eq(cmd(inquiry(cdb, 36), b, sizeof(b)), 36);
    ck_assert_uint_eq(b[0], 0x05);
    ck_assert_uint_eq(b[1], 0x80);
    ck_assert_mem_eq(b + 16, "XSDM DVD-ROM", 12);
    ck_assert_int_eq(cmd(inquiry(cdb, 5), b, sizeof(b)), 5);  /* allocation length honoured */
    ck_assert_int_eq(cmd(cdb_of(cdb, ATAPI_READ_CAPACITY), b, sizeof(b)), 8);
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
    put_be32(cdb_of(cdb, ATAPI_READ_12) + 2, 17);
    put_be32(cdb + 6, 1);
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 2048);
    ck_assert_mem_eq(b + 7, "EL TORITO SPECIFICATION", 23);
    put_be32(cdb_of(cdb, ATAPI_READ_CD) + 2, 16);
    cdb[8] = 1;                                      /* 24-bit block count */
    cdb[9] = ATAPI_READ_CD_USER_DATA;
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
    uint8_t cdb[ATAPI_CMD_LEN], b[2048], st;
    uint16_t limits[] = { 100, 101, 2, 1, 0, 0xffff, 2048 };

    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        size_t want = limits[i] <= 1 ? (limits[i] ? 2048 : 2048) : limits[i] & ~1u;

        read10(16, 1, cdb);
        send_packet(cdb, limits[i], false);
        memset(b, 0, sizeof(b));
        ck_assert_uint_eq(read_reply(b, sizeof(b), want > 2048 ? BCL_MAX : (limits[i] == 1 ? BCL_MAX : want), &st), 2048);
        ck_assert_uint_eq(st & ST_ERR, 0);
        ck_assert_mem_eq(b, "\001CD001", 6);
    }
}
END_TEST

START_TEST(test_dma_read)
{
    uint8_t cdb[ATAPI_CMD_LEN], st;

    h_prd(TABLE, 0, 0x10000, 1024, false);
    h_prd(TABLE, 1, 0x20000, 3072, true);
    h_bm_setup(CH, TABLE, true);
    h_bm_start(CH, true);
    read10(16, 2, cdb);
    send_packet(cdb, BCL_MAX, true);
    ck_assert_int_eq(H->irq[15], 1);
    st = h_status(CH);
    ck_assert_uint_eq(st & (ST_ERR | ST_DRQ), 0);
    ck_assert_uint_eq(h_bm_status(CH) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    ck_assert_mem_eq(H->ram + 0x10000, "\001CD001", 6);
    ck_assert_mem_eq(H->ram + 0x20000 + 1024, "\000CD001\001EL TORITO", 16);
    /* A table outside RAM: error, never a crash. */
    h_bm_stop(CH);
    h_bm_setup(CH, 0xfffffff0, true);
    h_bm_start(CH, true);
    send_packet(cdb, BCL_MAX, true);
    ck_assert_uint_eq(h_status(CH) & ST_ERR, ST_ERR);
    ck_assert(h_bm_status(CH) & BM_ST_ERROR);
}
END_TEST

/* READ(10) of three blocks by DMA over entries that split blocks: every
 * byte lands where the medium has it (the offset advances per entry). */
START_TEST(test_dma_read_scattered)
{
    static const struct { uint32_t addr, len; } e[] = {
        { 0x30000, 1000 }, { 0x10000, 3000 }, { 0x50000, 2 }, { 0x20000, 2142 },
    };
    uint8_t cdb[ATAPI_CMD_LEN], medium[3 * CD_SECTOR];
    uint32_t off = 0;
    int fd;

    fd = open(iso1, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, medium, sizeof(medium), 16 * CD_SECTOR), (ssize_t)sizeof(medium));
    close(fd);
    for (int i = 0; i < 4; i++)
        h_prd(TABLE, i, e[i].addr, e[i].len, i == 3);
    h_bm_setup(CH, TABLE, true);
    h_bm_start(CH, true);
    read10(16, 3, cdb);
    send_packet(cdb, BCL_MAX, true);
    ck_assert_int_eq(H->irq[H_IRQ(CH)], 1);
    ck_assert_uint_eq(h_status(CH) & (ST_ERR | ST_DRQ | ST_BSY), 0);
    ck_assert_uint_eq(h_bm_status(CH) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(!memcmp(H->ram + e[i].addr, medium + off, e[i].len),
                      "entry %d does not hold the medium from offset %u", i, 16 * CD_SECTOR + off);
        off += e[i].len;
    }
    ck_assert_uint_eq(off, sizeof(medium));
}
END_TEST

/* A table shorter than the transfer: nothing moves, no interrupt, BM
 * ACTIVE/INTR/ERROR clear, the drive ends the command without an error;
 * the next packet command runs normally. */
START_TEST(test_dma_short_prd)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[64];
    int changes;

    memset(H->ram + 0x10000, 0xee, CD_SECTOR);
    h_prd(TABLE, 0, 0x10000, CD_SECTOR, true);
    h_bm_setup(CH, TABLE, true);
    h_bm_start(CH, true);
    read10(16, 2, cdb);
    changes = H->irq_changes[H_IRQ(CH)];
    send_packet(cdb, BCL_MAX, true);
    ck_assert_int_eq(H->irq_changes[H_IRQ(CH)], changes);
    ck_assert_int_eq(H->irq[H_IRQ(CH)], 0);
    ck_assert_uint_eq(h_bm_status(CH) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), 0);
    ck_assert_uint_eq(h_altstatus(CH) & (ST_BSY | ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
    ck_assert_uint_eq(h_error(CH), 0);
    for (int i = 0; i < CD_SECTOR; i++)
        ck_assert_uint_eq(H->ram[0x10000 + i], 0xee);
    h_bm_stop(CH);
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);
    ck_assert_int_eq(cmd(inquiry(cdb, 36), b, sizeof(b)), 36);
}
END_TEST

/* Bus mastering off: no byte reaches memory, the command ends as with a
 * table longer than the transfer (ACTIVE + INTR, interrupt, no error). */
START_TEST(test_dma_without_bus_master)
{
    uint8_t cdb[ATAPI_CMD_LEN];

    memset(H->ram + 0x10000, 0xee, CD_SECTOR);
    h_prd(TABLE, 0, 0x10000, CD_SECTOR, true);
    h_bus_master(false);
    h_bm_setup(CH, TABLE, true);
    h_bm_start(CH, true);
    read10(16, 1, cdb);
    send_packet(cdb, BCL_MAX, true);
    ck_assert_int_eq(H->irq[H_IRQ(CH)], 1);
    ck_assert_uint_eq(h_status(CH) & (ST_BSY | ST_DRQ | ST_ERR), 0);
    ck_assert_uint_eq(h_bm_status(CH) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ACTIVE | BM_ST_INTR);
    for (int i = 0; i < CD_SECTOR; i++)
        ck_assert_uint_eq(H->ram[0x10000 + i], 0xee);
    h_bm_stop(CH);
    h_bus_master(true);
    h_bm_setup(CH, TABLE, true);
    h_bm_start(CH, true);
    send_packet(cdb, BCL_MAX, true);
    ck_assert_uint_eq(h_status(CH) & (ST_BSY | ST_DRQ | ST_ERR), 0);
    ck_assert_uint_eq(h_bm_status(CH) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    ck_assert_mem_eq(H->ram + 0x10000, "\001CD001", 6);
}
END_TEST

START_TEST(test_toc_mode_config)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[256];
    struct stat st;
    uint32_t blocks;

    ck_assert_int_eq(stat(iso1, &st), 0);
    blocks = (uint32_t)(st.st_size / 2048);
    ck_assert_int_eq(cmd(read_toc(cdb, 0, false, 0x324), b, sizeof(b)), 20);   /* format 0, LBA */
    ck_assert_uint_eq(b[0] << 8 | b[1], 18);
    ck_assert_uint_eq(b[2], 1);
    ck_assert_uint_eq(b[3], 1);
    ck_assert_uint_eq(b[5], 0x14);
    ck_assert_uint_eq(b[6], 1);
    ck_assert_uint_eq(b[14], TOC_LEADOUT);
    ck_assert_uint_eq((uint32_t)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19], blocks);
    ck_assert_int_eq(cmd(read_toc(cdb, 0, true, 0x324), b, sizeof(b)), 20);
    ck_assert_uint_eq(b[8], 0);
    ck_assert_uint_eq(b[9], 0);
    ck_assert_uint_eq(b[10], 2);                     /* 00:02:00 */
    ck_assert_uint_eq(b[17], (blocks + 150) / 4500);
    ck_assert_uint_eq(b[18], (blocks + 150) / 75 % 60);
    ck_assert_uint_eq(b[19], (blocks + 150) % 75);
    ck_assert_int_eq(cmd(read_toc(cdb, 1, true, 0x324), b, sizeof(b)), 12);    /* session info */
    ck_assert_uint_eq(b[0] << 8 | b[1], 10);
    expect_check(read_toc(cdb, 5, true, 0x324), SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);

    ck_assert_int_eq(cmd(mode_sense(cdb, MODE_PAGE_CAPABILITIES, 0xff), b, sizeof(b)), 28);
    ck_assert_uint_eq(b[8], MODE_PAGE_CAPABILITIES);
    ck_assert_uint_eq(b[9], 0x12);
    ck_assert(b[14] & 0x08);                         /* eject supported */
    ck_assert_int_eq(cmd(mode_sense(cdb, MODE_PAGE_ALL, 0xff), b, sizeof(b)), 36);
    ck_assert_uint_eq(b[8], MODE_PAGE_ERROR_RECOVERY);
    ck_assert_uint_eq(b[16], MODE_PAGE_CAPABILITIES);
    expect_check(mode_sense(cdb, MODE_PC_SAVED << 6 | MODE_PAGE_CAPABILITIES, 0xff), SK_ILLEGAL_REQUEST,
                 ASC_SAVING_NOT_SUPPORTED);
    expect_check(mode_sense(cdb, 0x05, 0xff), SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);

    ck_assert_int_gt(cmd(cdb_alloc(cdb, ATAPI_GET_CONFIGURATION, 0xff), b, sizeof(b)), 8);
    ck_assert_uint_eq(b[6] << 8 | b[7], MMC_PROFILE_CDROM);
    ck_assert_int_eq(cmd(cdb_alloc(cdb, ATAPI_READ_DISC_INFO, 34), b, sizeof(b)), 34);
    ck_assert_uint_eq(b[2], 0x0e);                   /* complete disc */
    cdb_of(cdb, ATAPI_MECHANISM_STATUS)[9] = 8;      /* allocation length: bytes 8-9 */
    ck_assert_int_eq(cmd(cdb, b, sizeof(b)), 8);
    ck_assert_uint_eq(b[1] & 0x10, 0);               /* tray closed */
    ck_assert_int_eq(cmd(cdb_of(cdb, ATAPI_SET_CD_SPEED), b, sizeof(b)), 0);
    expect_check(cdb_of(cdb, 0xd8), SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);   /* not an MMC command */
}
END_TEST

static int gesn(uint8_t *media_status)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[8];

    cdb_alloc(cdb, ATAPI_GET_EVENT_STATUS, 8);
    cdb[1] = ATAPI_GESN_POLLED;
    cdb[4] = ATAPI_GESN_MEDIA_CLASS;
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
    uint8_t b[64], ms, k, a, q;
    struct qmp_error err;
    json_t *ret, *cd;

    ck_assert_int_eq(gesn(&ms), MEV_NONE);
    ck_assert_uint_eq(ms, 0x02);                     /* medium present, tray closed */
    ck_assert_int_eq(prevent_removal(true), 0);
    ck_assert_int_eq(start_stop(true, false), -1);   /* eject */
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
    ck_assert_int_eq(prevent_removal(false), 0);
    ck_assert_int_eq(start_stop(true, false), 0);
    cd = query_cd();
    ck_assert(json_is_true(json_object_get(cd, "tray_open")));
    ck_assert_ptr_nonnull(json_object_get(cd, "inserted"));
    json_decref(cd);
    ck_assert_int_eq(gesn(&ms), MEV_REMOVAL);
    ck_assert_uint_eq(ms, 0x01);                     /* tray open */
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), -1);
    sense(&k, &a, &q);
    ck_assert_uint_eq(k, SK_NOT_READY);
    ck_assert_uint_eq(a, ASC_MEDIUM_NOT_PRESENT);
    ck_assert_uint_eq(q, ASCQ_TRAY_OPEN);
    ck_assert_int_eq(start_stop(true, true), 0);     /* load */
    expect_check(TUR, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);     /* once */
    ck_assert_int_eq(gesn(&ms), MEV_NEW_MEDIA);
    ck_assert_int_eq(gesn(&ms), MEV_NONE);
    /* Forced QMP eject of a locked drive works and empties it. */
    ck_assert_int_eq(prevent_removal(true), 0);
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
    uint8_t cdb[ATAPI_CMD_LEN], b[2048];
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
    uint8_t cdb[ATAPI_CMD_LEN], b[64], ms;
    struct qmp_error err;
    json_t *ret, *cd;
    struct vmstate_media m;

    build(false);
    ck_assert_int_eq(cmd(inquiry(cdb, 36), b, sizeof(b)), 36);    /* works without a medium */
    expect_check(TUR, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    expect_check(cdb_of(cdb, ATAPI_READ_CAPACITY), SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
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
    uint8_t cdb[ATAPI_CMD_LEN], b[70000];
    uint32_t x = 12345;

    for (int round = 0; round < 3; round++) {
        for (int op = 0; op < 256; op++) {
            for (int i = 1; i < 12; i++) {
                x = x * 1103515245u + 12345u;
                cdb[i] = (uint8_t)(round == 0 ? 0 : round == 1 ? 0xff : x >> 16);
            }
            cdb[0] = (uint8_t)op;
            if (op == ATAPI_READ_10 || op == ATAPI_READ_12 || op == ATAPI_READ_CD)
                cdb[2] = 0;                          /* keep reads short but in range */
            if (op == ATAPI_START_STOP_UNIT || op == ATAPI_PREVENT_ALLOW)
                continue;                            /* tray moves are tested above */
            (void)cmd(cdb, b, sizeof(b));
            ck_assert(!(h_altstatus(CH) & (ST_BSY | ST_DRQ)));
        }
    }
    ck_assert_int_eq(cmd(TUR, b, sizeof(b)), 0);
}
END_TEST


/* ---- against build/xsdm over qtest and QMP (libxl's argv and commands) ---- */

#define Q_CD(reg)   (H_SEC_CMD + (reg))
#define Q_DISK(reg) (H_PRI_CMD + (reg))

static void q_packet(struct qtest *q, const uint8_t *cdb)
{
    qtest_outb(q, Q_CD(ATA_REG_DEVICE), DEV_OBS);
    qtest_outb(q, Q_CD(ATA_REG_FEATURE), 0);
    qtest_outb(q, Q_CD(ATA_REG_LBA_MID), 0xfe);
    qtest_outb(q, Q_CD(ATA_REG_LBA_HIGH), 0xff);
    qtest_outb(q, Q_CD(ATA_REG_COMMAND), ATA_CMD_PACKET);
    ck_assert(qtest_inb(q, H_SEC_CTL + ATA_REG_ALTSTATUS) & ST_DRQ);
    for (int i = 0; i < ATAPI_CMD_LEN; i += 2)
        qtest_outw(q, Q_CD(ATA_REG_DATA), (uint16_t)(cdb[i] | cdb[i + 1] << 8));
}

/* PIO data-in; returns bytes read or -1 on CHECK CONDITION. */
static long q_cmd(struct qtest *q, const uint8_t *cdb, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    uint8_t st;

    q_packet(q, cdb);
    while ((st = qtest_inb(q, Q_CD(ATA_REG_STATUS))) & ST_DRQ) {
        size_t n = qtest_inb(q, Q_CD(ATA_REG_LBA_MID)) | (size_t)qtest_inb(q, Q_CD(ATA_REG_LBA_HIGH)) << 8;

        for (size_t i = 0; i < n; i += 2, got += 2) {
            uint16_t w = qtest_inw(q, Q_CD(ATA_REG_DATA));

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
    uint8_t cdb[ATAPI_CMD_LEN], b[4096];
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
    ck_assert_int_eq(q_cmd(q, read_toc(cdb, 0, false, 0xff), b, sizeof(b)), 20);
    ck_assert_uint_eq(b[14], TOC_LEADOUT);

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
    cdb_of(cdb, ATAPI_REQUEST_SENSE)[4] = 18;
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
    qtest_outb(q, Q_DISK(ATA_REG_DEVICE), DEV_OBS);
    qtest_outb(q, Q_DISK(ATA_REG_COMMAND), ATA_CMD_IDENTIFY);
    ck_assert(qtest_inb(q, Q_DISK(ATA_REG_STATUS)) & ST_DRQ);
    for (int i = 0; i < 256; i++) {
        uint16_t w = qtest_inw(q, Q_DISK(ATA_REG_DATA));

        b[2 * i] = (uint8_t)w;
        b[2 * i + 1] = (uint8_t)(w >> 8);
    }
    ck_assert_uint_eq(b[120] | b[121] << 8, 64);
    qtest_pci_cfg_writel(q, 1, 1, PCI_CFG_BAR4, H_BM_BASE | 1);
    qtest_pci_cfg_writew(q, 1, 1, PCI_CFG_COMMAND, 0x0001 | PCI_CMD_MASTER);
    {
        uint8_t prd[PRD_ENTRY_SIZE] = { 0x00, 0x00, 0x20, 0x00, 0x00, 0x04, 0x00, PRD_EOT };  /* 0x200000, 1 KiB */

        qtest_memwrite(q, 0x100000, prd, sizeof(prd));
    }
    qtest_outl(q, H_BM_BASE + BM_REG_PRD, 0x100000);
    qtest_outb(q, H_BM_BASE + BM_REG_CMD, BM_CMD_READ | BM_CMD_START);
    qtest_outb(q, Q_DISK(ATA_REG_DEVICE), DEV_OBS | DEV_LBA);
    qtest_outb(q, Q_DISK(ATA_REG_NSECTOR), 2);
    qtest_outb(q, Q_DISK(ATA_REG_LBA_LOW), 10);
    qtest_outb(q, Q_DISK(ATA_REG_LBA_MID), 0);
    qtest_outb(q, Q_DISK(ATA_REG_LBA_HIGH), 0);
    qtest_outb(q, Q_DISK(ATA_REG_COMMAND), ATA_CMD_READ_DMA);
    ck_assert_uint_eq(qtest_inb(q, H_BM_BASE + BM_REG_STATUS) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    ck_assert_uint_eq(qtest_inb(q, Q_DISK(ATA_REG_STATUS)) & (ST_ERR | ST_DRQ), 0);
    qtest_memread(q, 0x200000, b, 1024);
    for (unsigned j = 0; j < 1024; j++)
        ck_assert_uint_eq(b[j], h_pattern(10 * 512 + j));
    qmpc_close(c);
    qtest_quit(q);
    unlink(disk);
}
END_TEST

/* Open fds of the DM process (the test runs as root). */
static int q_fd_count(struct qtest *q)
{
    char dir[64];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)qtest_pid(q));
    d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot list %s", dir);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* The fd sets query-fdsets lists: their count; *id_r = the first one's id. */
static size_t q_fdsets(struct qmpc *c, int *id_r)
{
    json_t *ret = q_exec(c, "query-fdsets", NULL, -1, 0);
    size_t n = json_array_size(ret);

    if (n && id_r)
        *id_r = (int)json_integer_value(json_object_get(json_array_get(ret, 0), "fdset-id"));
    json_decref(ret);
    return n;
}

/* The guest sees the change once, then reads the disc tagged `tag`. */
static void q_expect_disc(struct qtest *q, const char *tag)
{
    uint8_t cdb[ATAPI_CMD_LEN], b[2048];
    char vol[16];

    ck_assert_int_eq(q_cmd(q, TUR, b, sizeof(b)), -1);
    cdb_of(cdb, ATAPI_REQUEST_SENSE)[4] = 18;
    ck_assert_int_eq(q_cmd(q, cdb, b, sizeof(b)), 18);
    ck_assert_uint_eq(b[12], ASC_MEDIUM_MAY_HAVE_CHANGED);
    ck_assert_int_eq(q_cmd(q, TUR, b, sizeof(b)), 0);
    read10(16, 1, cdb);
    ck_assert_int_eq(q_cmd(q, cdb, b, sizeof(b)), 2048);
    snprintf(vol, sizeof(vol), "XSDM_%s", tag);
    ck_assert_mem_eq(b + 40, vol, strlen(vol));
}

/* libxl never sends remove-fd: each cd-insert is a new fd set, each over its
 * own QMP connection. The DM frees a set once no client is connected and no
 * medium uses it (QEMU's rule), so media changes never run out of sets (at
 * most 16 at once): the 17th used to fail with "Too many fd sets". */
START_TEST(test_qtest_media_change_rounds)
{
    char cd[300];
    const char *args[] = { "-drive", cd, "-device", "ide-cd,id=" CD_ID ",drive=" CD_ID ",bus=ide.1,unit=0", NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };
    struct qtest *q;
    struct qmpc *c;
    json_t *ret;
    char name[32];
    int fd, set, listed, fds0 = -1;

    snprintf(cd, sizeof(cd), "if=none,readonly=on,id=%s,file=%s,format=raw", CD_ID, iso1);
    q = qtest_start(&o);
    ck_assert_msg(q != NULL, "DM did not start");
    for (int round = 0; round < 20; round++) {
        const char *tag = round % 2 ? "ONE" : "TWO";

        c = qtest_qmp(q);
        ck_assert_ptr_nonnull(c);
        /* The previous round's set went with its eject and that client. */
        ck_assert_msg(q_fdsets(c, NULL) == 0, "round %d: fd sets left over", round);
        /* From round 1 on (round 0 swaps out the medium -drive opened):
         * no fd piles up in the DM. */
        if (round == 1)
            fds0 = q_fd_count(q);
        if (round >= 1)
            ck_assert_int_eq(q_fd_count(q), fds0);
        fd = open(round % 2 ? iso1 : iso2, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ret = q_exec(c, "add-fd", json_pack("{s:s}", "opaque", "raw:cd.iso"), fd, 0);
        close(fd);
        set = (int)json_integer_value(json_object_get(ret, "fdset-id"));
        json_decref(ret);
        snprintf(name, sizeof(name), "/dev/fdset/%d", set);
        ret = q_exec(c, "blockdev-change-medium",
                     json_pack("{s:s,s:s,s:s}", "id", CD_ID, "filename", name, "format", "raw"), -1, 0);
        json_decref(ret);
        qmpc_close(c);

        /* The set behind the medium outlives the client; the medium reads. */
        q_expect_disc(q, tag);
        c = qtest_qmp(q);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(q_fdsets(c, &listed), 1);
        ck_assert_int_eq(listed, set);
        ret = q_exec(c, "eject", json_pack("{s:s}", "id", CD_ID), -1, 0);
        json_decref(ret);
        /* Still listed while this client is connected (as on QEMU). */
        ck_assert_int_eq(q_fdsets(c, NULL), 1);
        qmpc_close(c);
    }

    /* An fd added and never used goes when its client disconnects. */
    c = qtest_qmp(q);
    ck_assert_ptr_nonnull(c);
    fd = open(iso2, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ret = q_exec(c, "add-fd", NULL, fd, 0);
    close(fd);
    json_decref(ret);
    ck_assert_int_eq(q_fdsets(c, NULL), 1);
    ck_assert_int_eq(q_fd_count(q), fds0 + 1);
    qmpc_close(c);
    c = qtest_qmp(q);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(q_fdsets(c, NULL), 0);
    ck_assert_int_eq(q_fd_count(q), fds0);

    /* libxl's save (xl save -c keeps the DM): the state file's set goes
     * with the client too, once the save has closed its duplicate. */
    {
        char state[160];
        struct stat st;

        snprintf(state, sizeof(state), "%s/qemu-save", tmpdir);
        fd = open(state, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ret = q_exec(c, "add-fd", NULL, fd, 0);
        close(fd);
        snprintf(name, sizeof(name), "/dev/fdset/%d", (int)json_integer_value(json_object_get(ret, "fdset-id")));
        json_decref(ret);
        ret = q_exec(c, "xen-save-devices-state", json_pack("{s:s,s:b}", "filename", name, "live", 0), -1, 0);
        json_decref(ret);
        ck_assert_int_eq(stat(state, &st), 0);
        ck_assert_int_gt(st.st_size, 0);
    }
    ck_assert_int_eq(q_fdsets(c, NULL), 1);
    qmpc_close(c);
    c = qtest_qmp(q);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(q_fdsets(c, NULL), 0);
    ck_assert_int_eq(q_fd_count(q), fds0);
    qmpc_close(c);
    qtest_quit(q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("atapi");
    TCase *tc = tcase_create("atapi");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_signature_identify);
    tcase_add_test(tc, test_inquiry_capacity_read);
    tcase_add_test(tc, test_byte_count_limits);
    tcase_add_test(tc, test_dma_read);
    tcase_add_test(tc, test_dma_read_scattered);
    tcase_add_test(tc, test_dma_short_prd);
    tcase_add_test(tc, test_dma_without_bus_master);
    tcase_add_test(tc, test_toc_mode_config);
    tcase_add_test(tc, test_tray_lock_eject);
    tcase_add_test(tc, test_change_medium_fdset);
    tcase_add_test(tc, test_empty_drive);
    tcase_add_test(tc, test_every_opcode);
    tcase_add_test(tc, test_qtest_media_change);
    tcase_add_test(tc, test_qtest_media_change_rounds);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
