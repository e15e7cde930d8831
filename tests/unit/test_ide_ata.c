/* The PIIX3 IDE function and its ATA disk, in-process (tests/lib/
 * ide_harness.h), written as the command sequences a driver sends: PCI
 * identity, IDENTIFY DEVICE, PIO and DMA reads and writes in LBA28/LBA48/
 * CHS, MULTIPLE mode, interrupts and nIEN, SRST, the bus master's PRD
 * tables (entries that split sectors, tables shorter or longer than the
 * transfer, bus mastering off, errors that must not stick), EXECUTE DEVICE
 * DIAGNOSTIC, the hostile cases (past the end, odd widths, every command
 * byte in every state), and the state section's save/load. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "tests/lib/ide_harness.h"
#include "tests/lib/vmsection.h"

#define DISK_SECTORS 2048u
#define DATA         (H_PRI_CMD + ATA_REG_DATA)
#define IRQ          H->irq[H_IRQ(0)]
#define TABLE        0x1000u            /* PRD table address in guest RAM */

static const char *disk_path;
static struct xsdm_config cfg;

static void setup_disk(bool readonly)
{
    char err[256] = "";

    memset(&cfg, 0, sizeof(cfg));
    disk_path = h_image("ata", DISK_SECTORS * 512);
    h_drive(&cfg, 0, "ide0-hd0", disk_path, false, readonly);
    ck_assert_msg(h_new(&cfg, err, sizeof(err)) != NULL, "harness: %s", err);
}

static void setup(void) { setup_disk(false); }
static void teardown(void)
{
    h_free();
    unlink(disk_path);
}

/* ---- the disk image, read behind the device's back ---- */

static void disk_pread(void *buf, size_t n, uint64_t off)
{
    int fd = open(disk_path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void check_sector(const uint8_t *buf, uint64_t lba)
{
    for (unsigned j = 0; j < 512; j++)
        ck_assert_msg(buf[j] == h_pattern(lba * 512 + j), "lba %llu byte %u: 0x%02x",
                      (unsigned long long)lba, j, buf[j]);
}

/* Bytes [off, off + n) of the medium still hold the image's pattern. */
static void check_disk_untouched(uint64_t off, size_t n)
{
    uint8_t *b = malloc(n);

    disk_pread(b, n, off);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(b[i] == h_pattern(off + i), "disk byte %llu changed", (unsigned long long)(off + i));
    free(b);
}

/* Status must be a defined, idle value after any command: never BSY. */
static void assert_sane(int ch)
{
    uint8_t st = h_altstatus(ch);

    ck_assert_msg(!(st & ST_BSY), "status 0x%02x is busy", st);
}

/* ---- one helper per command (primary master) ---- */

static void read_sectors(uint32_t lba, uint8_t count)
{
    h_lba28(0, 0, lba, count);
    h_command(0, ATA_CMD_READ_SECTORS);
}

static void write_sectors(uint32_t lba, uint8_t count)
{
    h_lba28(0, 0, lba, count);
    h_command(0, ATA_CMD_WRITE_SECTORS);
}

static void read_dma(uint32_t lba, uint8_t count)
{
    h_lba28(0, 0, lba, count);
    h_command(0, ATA_CMD_READ_DMA);
}

static void write_dma(uint32_t lba, uint8_t count)
{
    h_lba28(0, 0, lba, count);
    h_command(0, ATA_CMD_WRITE_DMA);
}

static void set_multiple(uint8_t sectors_per_block)
{
    h_select(0, 0, 0);
    h_reg_write(0, ATA_REG_NSECTOR, sectors_per_block);
    h_command(0, ATA_CMD_SET_MULTIPLE);
}

static void set_features(uint8_t feature, uint8_t count)
{
    h_reg_write(0, ATA_REG_FEATURE, feature);
    h_reg_write(0, ATA_REG_NSECTOR, count);
    h_command(0, ATA_CMD_SET_FEATURES);
}

/* INITIALIZE DEVICE PARAMETERS: heads in the device register, sectors per
 * track in the count. */
static void init_dev_params(unsigned heads, uint8_t spt)
{
    h_select(0, 0, (uint8_t)((heads - 1) & DEV_HEAD));
    h_reg_write(0, ATA_REG_NSECTOR, spt);
    h_command(0, ATA_CMD_INIT_DEV_PARAMS);
}

static void chs(unsigned cyl, unsigned head, uint8_t sector, uint8_t count)
{
    h_select(0, 0, (uint8_t)(head & DEV_HEAD));
    h_reg_write(0, ATA_REG_NSECTOR, count);
    h_reg_write(0, ATA_REG_LBA_LOW, sector);
    h_reg_write(0, ATA_REG_LBA_MID, (uint8_t)cyl);
    h_reg_write(0, ATA_REG_LBA_HIGH, (uint8_t)(cyl >> 8));
}

/* The command completed: an interrupt, neither busy nor DRQ, and ERR as wanted. */
static void expect_done(bool err)
{
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_status(0) & (ST_BSY | ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY | (err ? ST_ERR : 0));
}

static void expect_aborted(uint8_t error)
{
    expect_done(true);
    ck_assert_uint_eq(h_error(0), error);
}

START_TEST(test_pci_identity)
{
    struct pci_bus *bus = H->dm.machine.pci;

    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x00, 4), 0x70108086);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x08, 4) >> 8, 0x010180);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x3d, 1), 0);        /* legacy: no INTx pin */
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, PCI_CFG_BAR4, 4), H_BM_BASE | 1);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x10, 4), 0);        /* BAR0-3 unused */
    pci_config_write(bus, 1, 1, PCI_CFG_BAR4, 0xffffffff, 4);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, PCI_CFG_BAR4, 4) & 0xffff, 0xfff1);  /* 16 bytes of I/O */
    pci_config_write(bus, 1, 1, PCI_CFG_BAR4, H_BM_BASE, 4);
    pci_config_write(bus, 1, 1, 0x40, 0xa307e307, 4);                  /* IDE timing */
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x40, 4), 0xa307e307);
    ck_assert_uint_eq(h_bm_status(0) & ~(BM_ST_CAP0 | BM_ST_CAP1), 0);
}
END_TEST

START_TEST(test_identify)
{
    uint8_t id[512];
    char model[41];

    h_select(0, 0, 0);
    ck_assert_int_eq(IRQ, 0);
    h_command(0, ATA_CMD_IDENTIFY);
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_altstatus(0) & (ST_DRQ | ST_DRDY | ST_ERR), ST_DRQ | ST_DRDY);
    ck_assert_int_eq(IRQ, 1);                        /* alternate status does not acknowledge */
    h_status(0);
    ck_assert_int_eq(IRQ, 0);
    h_pio_read(0, id, sizeof(id));
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_BSY), 0);
    for (int i = 0; i < 40; i++)
        model[i] = (char)id[54 + (i ^ 1)];
    model[40] = 0;
    ck_assert_msg(!strncmp(model, "XSDM HARDDISK ", 14), "model '%s'", model);
    ck_assert_uint_eq(id[0] | id[1] << 8, 0x0040);
    ck_assert_uint_eq((id[120] | id[121] << 8 | id[122] << 16 | (uint32_t)id[123] << 24), DISK_SECTORS);
    ck_assert_uint_eq(id[200] | id[201] << 8, DISK_SECTORS);          /* LBA48 capacity */
    ck_assert(id[83 * 2 + 1] & 0x04);                                 /* LBA48 supported */
    ck_assert(id[49 * 2 + 1] & 0x03);                                 /* LBA + DMA */
    ck_assert_uint_eq(id[63 * 2] & 7, 7);                             /* MWDMA 0-2 */
    ck_assert_uint_eq(id[47 * 2], IDE_MAX_MULT);
}
END_TEST

START_TEST(test_pio_read_lba28)
{
    uint8_t buf[512];

    read_sectors(5, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(IRQ, 1);
        ck_assert(h_status(0) & ST_DRQ);
        ck_assert_int_eq(IRQ, 0);
        h_pio_read(0, buf, sizeof(buf));
        check_sector(buf, 5 + (unsigned)i);
    }
    ck_assert_int_eq(IRQ, 0);                        /* no interrupt after the last block */
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
}
END_TEST

START_TEST(test_pio_write_lba28)
{
    uint8_t buf[1024], back[1024];

    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 13 + 1);
    write_sectors(100, 2);
    ck_assert_int_eq(IRQ, 0);                        /* first block: DRQ without interrupt */
    ck_assert(h_altstatus(0) & ST_DRQ);
    h_pio_write(0, buf, 512);
    ck_assert_int_eq(IRQ, 1);
    ck_assert(h_status(0) & ST_DRQ);
    h_pio_write(0, buf + 512, 512);
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR), 0);
    disk_pread(back, sizeof(back), 100 * 512);
    ck_assert_mem_eq(buf, back, sizeof(buf));
}
END_TEST

START_TEST(test_lba48_and_chs)
{
    uint8_t buf[512];

    h_lba48(0, 0, 2000, 2);
    h_command(0, ATA_CMD_READ_SECTORS_EXT);
    h_status(0);
    h_pio_read(0, buf, 512);
    check_sector(buf, 2000);
    h_pio_read(0, buf, 512);
    check_sector(buf, 2001);
    /* Registers point past the transfer. */
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_LBA_LOW), 2002 & 0xff);

    /* CHS with 16 heads x 63 sectors: C0 H1 S1 is LBA 63. */
    init_dev_params(16, 63);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    chs(0, 1, 1, 1);
    h_command(0, ATA_CMD_READ_SECTORS);
    ck_assert(h_status(0) & ST_DRQ);
    h_pio_read(0, buf, 512);
    check_sector(buf, 63);
    /* Sector 0 does not exist in CHS. */
    h_reg_write(0, ATA_REG_LBA_LOW, 0);
    h_command(0, ATA_CMD_READ_SECTORS);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_IDNF);
}
END_TEST

START_TEST(test_multiple)
{
    uint8_t buf[2048];

    set_multiple(3);                                 /* not a power of two */
    ck_assert_uint_eq(h_status(0) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_ABRT);
    set_multiple(4);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_lba28(0, 0, 10, 8);
    h_command(0, ATA_CMD_READ_MULTIPLE);
    for (int blk = 0; blk < 2; blk++) {
        ck_assert_int_eq(IRQ, 1);
        ck_assert(h_status(0) & ST_DRQ);
        h_pio_read(0, buf, sizeof(buf));
        for (int s = 0; s < 4; s++)
            check_sector(buf + 512 * s, 10 + (unsigned)(blk * 4 + s));
    }
    ck_assert_uint_eq(h_status(0) & ST_DRQ, 0);
    /* WRITE MULTIPLE EXT of 4 sectors is one DRQ block. */
    memset(buf, 0x5a, sizeof(buf));
    h_lba48(0, 0, 40, 4);
    h_command(0, ATA_CMD_WRITE_MULTIPLE_EXT);
    h_pio_write(0, buf, sizeof(buf));
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR), 0);
    ck_assert_uint_eq(H->ide->ch[0].drive[0].blk->st.wr_bytes, 2048);
}
END_TEST

/* ---- bus master DMA ---- */

static void dma_read(uint32_t lba, uint8_t count, bool start_first)
{
    h_prd(TABLE, 0, 0x10000, 4096, false);
    h_prd(TABLE, 1, 0x20000, (uint32_t)count * 512 - 4096, true);
    h_bm_setup(0, TABLE, true);
    if (start_first)
        h_bm_start(0, true);
    read_dma(lba, count);
    if (!start_first) {
        ck_assert_int_eq(IRQ, 0);
        ck_assert(h_altstatus(0) & ST_DRQ);
        h_bm_start(0, true);
    }
}

START_TEST(test_dma_read)
{
    for (int order = 0; order < 2; order++) {
        memset(H->ram + 0x10000, 0, 0x20000);
        dma_read(20, 16, order);
        ck_assert_int_eq(IRQ, 1);
        ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
        ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ | ST_DRDY), ST_DRDY);
        for (unsigned s = 0; s < 8; s++)
            check_sector(H->ram + 0x10000 + 512 * s, 20 + s);
        for (unsigned s = 8; s < 16; s++)
            check_sector(H->ram + 0x20000 + 512 * (s - 8), 20 + s);
        h_bm_stop(0);
    }
}
END_TEST

/* Entries whose sizes split sectors, scattered in RAM: the medium offset
 * advances by each entry's size (LBA28 and LBA48), and the bus master
 * reads the table from its start again for the next transfer. */
static const struct { uint32_t addr, len; } scatter[] = {
    { 0x30000, 700 }, { 0x10000, 1348 }, { 0x50000, 2 }, { 0x20000, 4094 }, { 0x40000, 2048 },
};
#define SCATTER_BYTES (700 + 1348 + 2 + 4094 + 2048)    /* 16 sectors */

static void scatter_table(void)
{
    for (int i = 0; i < 5; i++)
        h_prd(TABLE, i, scatter[i].addr, scatter[i].len, i == 4);
}

START_TEST(test_dma_read_scattered)
{
    for (int lba48 = 0; lba48 < 2; lba48++) {
        uint64_t off = (lba48 ? 1500 : 300) * 512ull;

        memset(H->ram + 0x10000, 0, 0x50000);
        scatter_table();
        h_bm_setup(0, TABLE, true);
        if (lba48) {
            h_lba48(0, 0, off / 512, SCATTER_BYTES / 512);
            h_command(0, ATA_CMD_READ_DMA_EXT);
        } else {
            read_dma((uint32_t)(off / 512), SCATTER_BYTES / 512);
        }
        h_bm_start(0, true);
        expect_done(false);
        ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
        for (int i = 0; i < 5; i++) {
            for (uint32_t j = 0; j < scatter[i].len; j++)
                ck_assert_msg(H->ram[scatter[i].addr + j] == h_pattern(off + j),
                              "entry %d byte %u: 0x%02x, medium offset %llu", i, j,
                              H->ram[scatter[i].addr + j], (unsigned long long)(off + j));
            ck_assert_uint_eq(H->ram[scatter[i].addr + scatter[i].len], 0);    /* nothing past the entry */
            off += scatter[i].len;
        }
        h_bm_stop(0);
    }
}
END_TEST

START_TEST(test_dma_write_scattered)
{
    const uint32_t lba = 400;
    uint8_t *back = malloc(SCATTER_BYTES);
    uint64_t off = 0;

    for (int i = 0; i < 5; i++)
        for (uint32_t j = 0; j < scatter[i].len; j++)
            H->ram[scatter[i].addr + j] = (uint8_t)(0x80 + i * 16 + j % 13);
    scatter_table();
    h_bm_setup(0, TABLE, false);
    write_dma(lba, SCATTER_BYTES / 512);
    h_bm_start(0, false);
    expect_done(false);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    disk_pread(back, SCATTER_BYTES, lba * 512ull);
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(!memcmp(back + off, H->ram + scatter[i].addr, scatter[i].len),
                      "entry %d did not land at medium offset %llu", i,
                      (unsigned long long)(lba * 512ull + off));
        off += scatter[i].len;
    }
    /* The neighbours are untouched. */
    check_disk_untouched((lba - 1) * 512ull, 512);
    check_disk_untouched((lba + SCATTER_BYTES / 512) * 512ull, 512);
    ck_assert_uint_eq(H->ide->ch[0].drive[0].blk->st.wr_bytes, SCATTER_BYTES);
    free(back);
}
END_TEST

START_TEST(test_dma_write_and_long_prd)
{
    uint8_t back[2048];

    for (unsigned i = 0; i < 2048; i++)
        H->ram[0x30000 + i] = (uint8_t)(i ^ 0xa5);
    /* A table longer than the transfer: ACTIVE stays set, INTR set. */
    h_prd(TABLE, 0, 0x30000, 2048, false);
    h_prd(TABLE, 1, 0x40000, 4096, true);
    h_bm_setup(0, TABLE, false);
    h_lba48(0, 0, 300, 4);
    h_command(0, ATA_CMD_WRITE_DMA_EXT);
    h_bm_start(0, false);
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ACTIVE | BM_ST_INTR);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_bm_stop(0);
    ck_assert_uint_eq(h_bm_status(0) & BM_ST_ACTIVE, 0);
    disk_pread(back, sizeof(back), 300 * 512);
    ck_assert_mem_eq(back, H->ram + 0x30000, sizeof(back));
}
END_TEST

/* A memory error: ERROR + INTR, the drive aborts with an interrupt. */
static void expect_dma_error(void)
{
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ERROR | BM_ST_INTR);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ | ST_BSY), ST_ERR);
    ck_assert(h_error(0) & ER_ABRT);
    h_bm_stop(0);
}

/* A table shorter than the transfer (SFF-8038i: INTR and ACTIVE both clear
 * is the error condition; QEMU's PIIX): no byte moves, no interrupt, the
 * drive drops the command without ERR and with a clear error register. */
static int irq_changes_before;

static void start_short_dma(bool to_memory)
{
    irq_changes_before = H->irq_changes[H_IRQ(0)];
    h_bm_start(0, to_memory);
}

static void expect_dma_short(void)
{
    ck_assert_int_eq(IRQ, 0);
    ck_assert_int_eq(H->irq_changes[H_IRQ(0)], irq_changes_before);   /* not even a pulse */
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), 0);
    ck_assert_uint_eq(h_altstatus(0) & (ST_BSY | ST_DRQ | ST_ERR | ST_DF | ST_DRDY), ST_DRDY);
    ck_assert_uint_eq(h_error(0), 0);
    h_bm_stop(0);
}

/* A well-formed read after whatever came before: nothing of it shows. */
static void expect_clean_dma_read(uint32_t lba)
{
    memset(H->ram + 0x10000, 0, 1024);
    h_prd(TABLE, 0, 0x10000, 1024, true);
    h_bm_setup(0, TABLE, true);
    h_bm_start(0, true);
    read_dma(lba, 2);
    expect_done(false);
    ck_assert_uint_eq(h_error(0), 0);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
    check_sector(H->ram + 0x10000, lba);
    check_sector(H->ram + 0x10000 + 512, lba + 1);
    h_bm_stop(0);
}

/* Linux hands the bus master one page per PRD entry. The medium sees one
 * read or write per bounce buffer's worth of consecutive entries, not one
 * per entry (each is a syscall, and under Xen a syscall is what a DMA
 * costs); the pages still get their own bytes, in table order. */
#define RUN_PAGES 128                   /* 512 KiB: two bounce buffers' worth */
#define RUN_PAGE(i) (0x40000u + (uint32_t)(RUN_PAGES - 1 - (i)) * 0x1000u)

START_TEST(test_dma_runs_batched)
{
    struct block *blk = H->ide->ch[0].drive[0].blk;
    uint64_t ops0 = blk->st.rd_ops, wops0 = blk->st.wr_ops;
    const uint64_t lba = 256, wlba = 1000;
    uint8_t *back = malloc(RUN_PAGES * 4096);

    memset(H->ram + 0x40000, 0, RUN_PAGES * 0x1000);
    for (int i = 0; i < RUN_PAGES; i++)
        h_prd(TABLE, i, RUN_PAGE(i), 4096, i == RUN_PAGES - 1);
    h_bm_setup(0, TABLE, true);
    h_lba48(0, 0, lba, RUN_PAGES * 8);
    h_command(0, ATA_CMD_READ_DMA_EXT);
    h_bm_start(0, true);
    expect_done(false);
    for (int i = 0; i < RUN_PAGES; i++)
        for (unsigned s = 0; s < 8; s++)
            check_sector(H->ram + RUN_PAGE(i) + 512 * s, lba + (unsigned)i * 8 + s);
    ck_assert_uint_eq(blk->st.rd_ops - ops0, RUN_PAGES * 4096 / sizeof(H->ide->bounce));
    h_bm_stop(0);

    /* Back out to the medium further on, the same way. */
    for (int i = 0; i < RUN_PAGES; i++)
        memset(H->ram + RUN_PAGE(i), 0x10 + i, 4096);
    h_bm_setup(0, TABLE, false);
    h_lba48(0, 0, wlba, RUN_PAGES * 8);
    h_command(0, ATA_CMD_WRITE_DMA_EXT);
    h_bm_start(0, false);
    expect_done(false);
    ck_assert_uint_eq(blk->st.wr_ops - wops0, RUN_PAGES * 4096 / sizeof(H->ide->bounce));
    disk_pread(back, RUN_PAGES * 4096, wlba * 512);
    for (int i = 0; i < RUN_PAGES; i++)
        ck_assert_msg(!memcmp(back + i * 4096, H->ram + RUN_PAGE(i), 4096), "page %d", i);
    check_disk_untouched((wlba + RUN_PAGES * 8) * 512, 512);
    h_bm_stop(0);
    free(back);
}
END_TEST

/* An entry outside RAM in the middle of a run: the entries before it moved
 * (their pages, or their sectors on the medium), none after it did, and
 * the transfer ends in a memory error, as when every entry moves alone. */
START_TEST(test_dma_fault_mid_run)
{
    const uint32_t lba = 600;

    memset(H->ram + 0x10000, 0, 0x10000);
    for (int i = 0; i < 8; i++)
        h_prd(TABLE, i, i == 5 ? H_RAM_SIZE - 256 : 0x10000 + (uint32_t)i * 0x1000, 512, i == 7);
    h_bm_setup(0, TABLE, true);
    h_bm_start(0, true);
    read_dma(lba, 8);
    expect_dma_error();
    for (int i = 0; i < 8; i++) {
        if (i < 5)
            check_sector(H->ram + 0x10000 + i * 0x1000, lba + (unsigned)i);
        else if (i > 5)
            ck_assert_uint_eq(H->ram[0x10000 + i * 0x1000], 0);
    }

    for (int i = 0; i < 8; i++)
        if (i != 5)
            memset(H->ram + 0x10000 + i * 0x1000, 0xc0 + i, 512);
    h_bm_setup(0, TABLE, false);
    h_bm_start(0, false);
    write_dma(lba, 8);
    expect_dma_error();
    for (int i = 0; i < 8; i++) {
        uint8_t b[512];

        disk_pread(b, sizeof(b), (lba + (unsigned)i) * 512ull);
        if (i < 5)
            ck_assert_mem_eq(b, H->ram + 0x10000 + i * 0x1000, 512);
        else
            check_disk_untouched((lba + (unsigned)i) * 512ull, 512);
    }
    expect_clean_dma_read(9);
}
END_TEST

START_TEST(test_hostile_prd)
{
    /* The table itself outside RAM. */
    h_bm_setup(0, 0x7ffff000, true);
    h_bm_start(0, true);
    read_dma(0, 1);
    expect_dma_error();

    /* An entry pointing past RAM. */
    h_prd(TABLE, 0, H_RAM_SIZE - 256, 512, true);
    h_bm_setup(0, TABLE, true);
    h_bm_start(0, true);
    read_dma(0, 1);
    expect_dma_error();

    /* A table that ends exactly at the top of RAM, without EOT. */
    h_prd(H_RAM_SIZE - PRD_ENTRY_SIZE, 0, 0x10000, 256, false);
    h_bm_setup(0, H_RAM_SIZE - PRD_ENTRY_SIZE, true);
    h_bm_start(0, true);
    read_dma(0, 1);
    expect_dma_error();
    expect_clean_dma_read(7);
}
END_TEST

START_TEST(test_short_prd)
{
    /* EOT one sector into a four-sector read: guest memory is untouched. */
    memset(H->ram + 0x10000, 0xee, 2048);
    h_prd(TABLE, 0, 0x10000, 512, true);
    h_bm_setup(0, TABLE, true);
    start_short_dma(true);
    read_dma(0, 4);
    expect_dma_short();
    for (int i = 0; i < 2048; i++)
        ck_assert_uint_eq(H->ram[0x10000 + i], 0xee);
    expect_clean_dma_read(9);

    /* The same for a write: the medium is untouched. */
    memset(H->ram + 0x10000, 0x11, 2048);
    h_prd(TABLE, 0, 0x10000, 1024, false);
    h_prd(TABLE, 1, 0x10400, 1022, true);           /* two bytes short */
    h_bm_setup(0, TABLE, false);
    start_short_dma(false);
    write_dma(50, 4);
    expect_dma_short();
    check_disk_untouched(50 * 512, 2048);
    ck_assert_uint_eq(H->ide->ch[0].drive[0].blk->st.wr_bytes, 0);
    expect_clean_dma_read(50);

    /* A runaway table: 2-byte entries, no EOT anywhere. The walk stops at
     * PRD_MAX_ENTRIES (16 KiB covered), short of 256 sectors. */
    for (int i = 0; i < PRD_MAX_ENTRIES + 8; i++)
        h_prd(0x40000, i, 0x10000, 2, false);
    h_bm_setup(0, 0x40000, true);
    start_short_dma(true);
    read_dma(0, 0);                                  /* 0 = 256 sectors */
    expect_dma_short();
    expect_clean_dma_read(11);
}
END_TEST

/* Bus mastering off in the PCI command register: the controller reaches
 * no memory; the command still ends as with a table longer than the
 * transfer (QEMU's PIIX): ACTIVE + INTR, an interrupt, no ATA error. */
START_TEST(test_dma_without_bus_master)
{
    memset(H->ram + 0x10000, 0xee, 1024);
    h_prd(TABLE, 0, 0x10000, 1024, true);
    h_bus_master(false);
    h_bm_setup(0, TABLE, true);
    h_bm_start(0, true);
    read_dma(3, 2);
    expect_done(false);
    ck_assert_uint_eq(h_error(0), 0);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ACTIVE | BM_ST_INTR);
    for (int i = 0; i < 1024; i++)
        ck_assert_uint_eq(H->ram[0x10000 + i], 0xee);
    h_bm_stop(0);

    h_bm_setup(0, TABLE, false);
    h_bm_start(0, false);
    write_dma(60, 2);
    expect_done(false);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ACTIVE | BM_ST_INTR);
    check_disk_untouched(60 * 512, 1024);
    h_bm_stop(0);

    h_bus_master(true);
    expect_clean_dma_read(60);
}
END_TEST

/* After an aborted DMA the error register reads 0 again as soon as the
 * next command starts, and the next transfer has a clean BM status. */
START_TEST(test_dma_error_does_not_stick)
{
    uint8_t buf[512];

    h_prd(TABLE, 0, H_RAM_SIZE - 256, 512, true);
    h_bm_setup(0, TABLE, true);
    h_bm_start(0, true);
    read_dma(0, 1);
    expect_dma_error();
    read_sectors(12, 1);
    ck_assert(h_status(0) & ST_DRQ);
    ck_assert_uint_eq(h_error(0), 0);
    h_pio_read(0, buf, sizeof(buf));
    check_sector(buf, 12);
    ck_assert_uint_eq(h_error(0), 0);
    expect_clean_dma_read(13);
}
END_TEST

START_TEST(test_past_end)
{
    static const uint8_t cmds[] = {
        ATA_CMD_READ_SECTORS, ATA_CMD_WRITE_SECTORS, ATA_CMD_READ_DMA, ATA_CMD_WRITE_DMA,
        ATA_CMD_VERIFY, ATA_CMD_READ_MULTIPLE,
    };

    for (size_t i = 0; i < sizeof(cmds); i++) {
        h_lba28(0, 0, DISK_SECTORS - 1, 2);
        h_command(0, cmds[i]);
        expect_aborted(ER_IDNF);
    }
    h_lba48(0, 0, 0xffffffffffffULL, 0);             /* 65536 sectors at the top of LBA48 */
    h_command(0, ATA_CMD_READ_SECTORS_EXT);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_IDNF);
    h_lba48(0, 0, DISK_SECTORS, 1);                  /* just past the end */
    h_command(0, ATA_CMD_READ_DMA_EXT);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_inw(DATA), 0);               /* no data phase */
    h_lba28(0, 0, DISK_SECTORS - 1, 1);              /* the last sector is fine */
    h_command(0, ATA_CMD_VERIFY);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
}
END_TEST

START_TEST(test_misc_commands)
{
    /* NOP, an unassigned opcode, the packet commands, DEVICE RESET,
     * READ NATIVE MAX ADDRESS, READ LOG EXT, SMART: aborted by a disk. */
    static const uint8_t unknown[] = {
        ATA_CMD_NOP, 0xff, ATA_CMD_PACKET, ATA_CMD_IDENTIFY_PACKET, ATA_CMD_DEVICE_RESET, 0xf8, 0x27, 0xb0,
    };

    for (size_t i = 0; i < sizeof(unknown); i++) {
        h_select(0, 0, 0);
        h_command(0, unknown[i]);
        expect_aborted(ER_ABRT);
    }
    h_command(0, ATA_CMD_FLUSH_CACHE);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    ck_assert_uint_eq(H->ide->ch[0].drive[0].blk->st.flush_ops, 1);
    h_command(0, ATA_CMD_FLUSH_CACHE_EXT);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_reg_write(0, ATA_REG_NSECTOR, 0);
    h_command(0, ATA_CMD_CHECK_POWER);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_NSECTOR), CHECK_POWER_ACTIVE);
    h_command(0, ATA_CMD_STANDBY_IMM);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_command(0, ATA_CMD_IDLE_IMM);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    set_features(SETF_XFER_MODE, XFER_MWDMA | 2);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    set_features(SETF_XFER_MODE, XFER_MWDMA | 7);   /* MWDMA7 does not exist */
    ck_assert_uint_eq(h_status(0) & ST_ERR, ST_ERR);
    set_features(SETF_WCACHE_OFF, 0);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    ck_assert_uint_eq(H->ide->ch[0].s.drive[0].wce, 0);
    set_features(0x77, 0);                           /* unknown feature */
    ck_assert_uint_eq(h_status(0) & ST_ERR, ST_ERR);
    h_command(0, ATA_CMD_DIAGNOSTIC);
    ck_assert_int_eq(IRQ, 1);
    ck_assert_uint_eq(h_error(0), DIAG_PASSED);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_LBA_MID), 0);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRDY), ST_DRDY);
}
END_TEST

/* IDENTIFY DEVICE to the selected device: its LBA28 capacity. */
static uint32_t identify_capacity(void)
{
    uint8_t id[512];

    h_command(0, ATA_CMD_IDENTIFY);
    ck_assert(h_status(0) & ST_DRQ);
    h_pio_read(0, id, sizeof(id));
    return id[120] | id[121] << 8 | id[122] << 16 | (uint32_t)id[123] << 24;
}

/* EXECUTE DEVICE DIAGNOSTIC runs on both devices and leaves device 0
 * selected (ATA/ATAPI-6), whichever device it was written to. */
START_TEST(test_diagnostic_selects_device0)
{
    char err[256] = "";
    const char *slave = h_image("ata1", 64 * 512);

    h_drive(&cfg, 1, "ide0-hd1", slave, false, false);
    ck_assert_msg(h_new(&cfg, err, sizeof(err)) != NULL, "harness: %s", err);
    for (int to = 0; to < 2; to++) {
        h_select(0, to, DEV_LBA | 3);
        h_command(0, ATA_CMD_DIAGNOSTIC);
        ck_assert_int_eq(IRQ, 1);
        ck_assert_uint_eq(h_reg_read(0, ATA_REG_DEVICE) & DEV_DEV, 0);
        ck_assert_uint_eq(h_reg_read(0, ATA_REG_DEVICE), DEV_OBS);
        ck_assert_uint_eq(h_error(0), DIAG_PASSED);
        ck_assert_uint_eq(h_status(0) & (ST_BSY | ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
        /* The next command, with no device register write, reaches device 0
         * (DISK_SECTORS; device 1 has 64). */
        ck_assert_uint_eq(identify_capacity(), DISK_SECTORS);
    }
    /* Device 1 answers again once selected. */
    h_select(0, 1, 0);
    ck_assert_uint_eq(identify_capacity(), 64);
    unlink(slave);
}
END_TEST

START_TEST(test_srst_nien_absent)
{
    /* SRST: busy while asserted, signature after. */
    h_devctl(0, DC_SRST);
    ck_assert(h_altstatus(0) & ST_BSY);
    h_devctl(0, 0);
    ck_assert_uint_eq(h_altstatus(0), ST_DRDY | ST_DSC);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_NSECTOR), 1);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_LBA_LOW), 1);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_LBA_MID), 0);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_LBA_HIGH), 0);
    ck_assert_uint_eq(h_error(0), DIAG_PASSED);
    /* nIEN: the command completes, the line stays low until re-enabled. */
    h_devctl(0, DC_NIEN);
    h_command(0, ATA_CMD_FLUSH_CACHE);
    ck_assert_int_eq(IRQ, 0);
    h_devctl(0, 0);
    ck_assert_int_eq(IRQ, 1);
    h_status(0);
    ck_assert_int_eq(IRQ, 0);
    /* The absent slave and the empty secondary channel. */
    h_select(0, 1, 0);
    ck_assert_uint_eq(h_status(0), 0);
    h_command(0, ATA_CMD_IDENTIFY);
    ck_assert_int_eq(IRQ, 0);
    ck_assert_uint_eq(h_inw(DATA), 0);
    ck_assert_uint_eq(h_status(1), 0);
    h_command(1, ATA_CMD_IDENTIFY);
    ck_assert_int_eq(H->irq[H_IRQ(1)], 0);
    /* HOB read back of the previous register contents. */
    h_select(0, 0, 0);
    h_reg_write(0, ATA_REG_NSECTOR, 0x12);
    h_reg_write(0, ATA_REG_NSECTOR, 0x34);
    h_devctl(0, DC_HOB);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_NSECTOR), 0x12);
    h_devctl(0, 0);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_NSECTOR), 0x34);
}
END_TEST

START_TEST(test_odd_widths)
{
    uint8_t buf[512];

    read_sectors(7, 1);
    h_status(0);
    ck_assert_uint_eq(h_inb(DATA), 0xff);            /* a byte read moves nothing */
    for (unsigned i = 0; i < 512; i += 4) {
        uint32_t v = h_inl(DATA);

        memcpy(buf + i, &v, 4);
    }
    check_sector(buf, 7);
    ck_assert_uint_eq(h_status(0) & ST_DRQ, 0);
    ck_assert_uint_eq(h_inl(DATA), 0);               /* no transfer: reads 0 */
    /* Word registers read as bytes; 32-bit accesses to the task file. */
    h_outl(H_PRI_CMD + ATA_REG_NSECTOR, 0x00000102);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_NSECTOR), 0x02);
    ck_assert_uint_eq(h_reg_read(0, ATA_REG_LBA_LOW), 0x01);
    ck_assert_uint_eq(h_inw(H_PRI_CMD + ATA_REG_NSECTOR), 0x0102);
    /* 8-bit writes to the data port during a write are ignored. */
    write_sectors(8, 1);
    for (int i = 0; i < 600; i++)
        h_outb(DATA, 0x11);
    ck_assert(h_altstatus(0) & ST_DRQ);
    for (int i = 0; i < 128; i++)
        h_outl(DATA, 0xdeadbeef);
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR), 0);
}
END_TEST

START_TEST(test_readonly_disk)
{
    teardown();
    setup_disk(true);
    write_sectors(0, 1);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_ABRT);
    h_bm_setup(0, TABLE, false);
    h_prd(TABLE, 0, 0x10000, 512, true);
    h_command(0, ATA_CMD_WRITE_DMA);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    read_sectors(0, 1);                              /* reads still work */
    ck_assert(h_status(0) & ST_DRQ);
}
END_TEST

/* Every command byte, issued while idle, in the middle of a PIO read, a
 * PIO write and with a DMA pending: never busy, never a crash, and the
 * data port afterwards only moves inside a window. */
START_TEST(test_every_command_every_state)
{
    for (int state = 0; state < 4; state++) {
        for (int cmd = 0; cmd < 256; cmd++) {
            h_select(0, 0, 0);
            if (state == 1) {
                read_sectors(1, 2);
                h_inw(DATA);
            } else if (state == 2) {
                write_sectors(1, 2);
                h_outw(DATA, 0x1234);
            } else if (state == 3) {
                read_dma(1, 2);
            }
            h_lba28(0, 0, (uint32_t)cmd * 3, (uint8_t)cmd);
            h_reg_write(0, ATA_REG_FEATURE, (uint8_t)cmd);
            h_command(0, (uint8_t)cmd);
            assert_sane(0);
            for (int i = 0; i < 300 && (h_altstatus(0) & ST_DRQ); i++)
                h_inw(DATA);
            assert_sane(0);
            h_status(0);
        }
    }
    /* The disk still works afterwards. */
    h_devctl(0, DC_SRST);
    h_devctl(0, 0);
    set_multiple(16);
    read_sectors(3, 1);
    {
        uint8_t buf[512];

        h_pio_read(0, buf, sizeof(buf));
        ck_assert_uint_eq(buf[0], 3);
    }
}
END_TEST

START_TEST(test_bm_registers)
{
    h_outl(H_BM_BASE + BM_REG_PRD, 0x12345677);
    ck_assert_uint_eq(h_inl(H_BM_BASE + BM_REG_PRD), 0x12345674);
    h_outb(H_BM_BASE + BM_REG_STATUS, BM_ST_CAP0 | BM_ST_CAP1);
    ck_assert_uint_eq(h_bm_status(0), BM_ST_CAP0 | BM_ST_CAP1);
    h_outb(H_BM_BASE + BM_REG_CMD, 0xff);
    ck_assert_uint_eq(h_inb(H_BM_BASE + BM_REG_CMD), BM_CMD_START | BM_CMD_READ);
    ck_assert(h_bm_status(0) & BM_ST_ACTIVE);
    h_bm_stop(0);
    ck_assert_uint_eq(h_bm_status(0) & BM_ST_ACTIVE, 0);
    h_outw(H_BM_BASE + BM_CHAN_SIZE + BM_REG_STATUS, 0xffff);     /* secondary channel */
    ck_assert_uint_eq(h_bm_status(1), BM_ST_CAP0 | BM_ST_CAP1);
    ck_assert_uint_eq(h_inb(H_BM_BASE + 1), 0);
}
END_TEST

/* Save the primary channel mid-transfer, scribble on the live state, load
 * the saved section back: the transfer continues where it was. A section
 * with a window past its buffer is refused. */
START_TEST(test_state_roundtrip)
{
    const struct vmstate_dev *vd = vmstate_find("piix3-ide.0");
    uint8_t *sec = malloc(VMSTATE_MAX_SECTION);
    size_t len;
    void *staging;
    uint8_t buf[512];
    char err[256] = "";

    ck_assert_ptr_nonnull(vd);
    read_sectors(50, 2);
    for (int i = 0; i < 100; i++)
        h_inw(DATA);
    len = vmsection_save("piix3-ide.0", sec, VMSTATE_MAX_SECTION);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_lt(len, VMSTATE_MAX_SECTION);
    ide_ctrl_reset(H->ide);
    ck_assert_uint_eq(h_altstatus(0) & ST_DRQ, 0);
    staging = malloc(vd->state_size);
    ck_assert_int_eq(vmsection_load("piix3-ide.0", sec, len, staging, err, sizeof(err)), 0);
    memcpy(vd->state, staging, vd->state_size);
    vd->post_load(vd->opaque);
    ck_assert_int_eq(H->irq[14], 1);                 /* the pending interrupt is driven again */
    ck_assert(h_status(0) & ST_DRQ);
    for (int i = 100; i < 256; i++) {
        uint16_t v = h_inw(DATA);

        buf[2 * i] = (uint8_t)v;
        buf[2 * i + 1] = (uint8_t)(v >> 8);
    }
    for (int j = 200; j < 512; j++)
        ck_assert_uint_eq(buf[j], h_pattern(50 * 512 + (unsigned)j));
    h_pio_read(0, buf, 512);
    check_sector(buf, 51);

    /* Corrupt: drive 0's pos beyond its end. */
    {
        size_t pos_off = vmsection_field("piix3-ide.0", sec, len, "drive[0].pos");

        sec[pos_off] = 0xff;
        sec[pos_off + 1] = 0xff;
        ck_assert_int_eq(vmsection_load("piix3-ide.0", sec, len, staging, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, "PIO window") != NULL, "err: %s", err);
        /* Truncated */
        ck_assert_int_eq(vmsection_load("piix3-ide.0", sec, 20, staging, err, sizeof(err)), -1);
    }
    free(staging);
    free(sec);
}
END_TEST

START_TEST(test_media_provider_and_bad_image)
{
    struct vmstate_media m;
    struct xsdm_config c2;
    char err[256] = "";

    ck_assert(vmstate_query_media(0, &m));
    ck_assert(m.present && !m.cdrom && m.inserted && !m.readonly);
    ck_assert(vmstate_query_media(1, &m));
    ck_assert(!m.present);
    memset(&c2, 0, sizeof(c2));
    h_drive(&c2, 0, "ide0-hd0", "/nonexistent/xsdm.img", false, false);
    ck_assert_ptr_null(h_new(&c2, err, sizeof(err)));
    ck_assert_msg(strstr(err, "ide0-hd0") && strstr(err, "/nonexistent/xsdm.img"), "err: %s", err);
}
END_TEST


/* Xen platform unplug: the disk leaves the cable, the media section still
 * reports what the command line has, and the state still loads. */
START_TEST(test_unplug)
{
    const struct vmstate_dev *vd = vmstate_find("piix3-ide.0");
    struct ide_drive_state *live = &H->ide->ch[0].s.drive[0];
    uint8_t *sec = malloc(VMSTATE_MAX_SECTION);
    struct vmstate_media m;
    void *staging = malloc(vd->state_size);
    char err[256] = "";
    size_t len;

    ide_ctrl_unplug_disks(H->ide, false);
    h_select(0, 0, 0);
    ck_assert_uint_eq(h_status(0), 0);
    h_command(0, ATA_CMD_IDENTIFY);
    ck_assert_int_eq(H->irq[14], 0);
    ck_assert(vmstate_query_media(0, &m));
    ck_assert(m.present && m.inserted && !m.cdrom);
    len = vmsection_save("piix3-ide.0", sec, VMSTATE_MAX_SECTION);
    ck_assert_uint_gt(len, 0);
    /* Into a machine where the disk is still plugged. */
    ide_ctrl_reset(H->ide);
    live->present = 1;
    ck_assert_int_eq(vmsection_load("piix3-ide.0", sec, len, staging, err, sizeof(err)), 0);
    ck_assert_uint_eq(((struct ide_chan_state *)staging)->drive[0].present, 0);
    /* Never into a machine whose drive there is a CD-ROM: unplug leaves
     * CD-ROMs on the cable. */
    live->cdrom = 1;
    ck_assert_int_eq(vmsection_load("piix3-ide.0", sec, len, staging, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "drive 0") && strstr(err, "CD-ROM drive is never unplugged"), "err: %s", err);
    live->cdrom = 0;
    /* Nor an absent drive that still says CD-ROM (unplug clears it all). */
    sec[vmsection_field("piix3-ide.0", sec, len, "drive[0].cdrom")] = 1;
    ck_assert_int_eq(vmsection_load("piix3-ide.0", sec, len, staging, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "CD-ROM drive is never unplugged"), "err: %s", err);
    free(staging);
    free(sec);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ide_ata");
    TCase *tc = tcase_create("ata");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_pci_identity);
    tcase_add_test(tc, test_identify);
    tcase_add_test(tc, test_pio_read_lba28);
    tcase_add_test(tc, test_pio_write_lba28);
    tcase_add_test(tc, test_lba48_and_chs);
    tcase_add_test(tc, test_multiple);
    tcase_add_test(tc, test_dma_read);
    tcase_add_test(tc, test_dma_read_scattered);
    tcase_add_test(tc, test_dma_write_scattered);
    tcase_add_test(tc, test_dma_write_and_long_prd);
    tcase_add_test(tc, test_hostile_prd);
    tcase_add_test(tc, test_dma_runs_batched);
    tcase_add_test(tc, test_dma_fault_mid_run);
    tcase_add_test(tc, test_short_prd);
    tcase_add_test(tc, test_dma_without_bus_master);
    tcase_add_test(tc, test_dma_error_does_not_stick);
    tcase_add_test(tc, test_past_end);
    tcase_add_test(tc, test_misc_commands);
    tcase_add_test(tc, test_diagnostic_selects_device0);
    tcase_add_test(tc, test_srst_nien_absent);
    tcase_add_test(tc, test_odd_widths);
    tcase_add_test(tc, test_readonly_disk);
    tcase_add_test(tc, test_every_command_every_state);
    tcase_add_test(tc, test_bm_registers);
    tcase_add_test(tc, test_state_roundtrip);
    tcase_add_test(tc, test_media_provider_and_bad_image);
    tcase_add_test(tc, test_unplug);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
