/* The PIIX3 IDE function and its ATA disk, in-process (tests/unit/
 * lib/ide_harness.h): PCI identity, IDENTIFY, PIO and DMA reads and writes in
 * LBA28/LBA48/CHS, MULTIPLE mode, interrupts and nIEN, SRST, the hostile
 * cases (past the end, bad PRD tables, odd widths, every command byte in
 * every state), and the state section's save/load. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/ide_harness.h"

#define DISK_SECTORS 2048u

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

static void check_sector(const uint8_t *buf, uint64_t lba)
{
    for (unsigned j = 0; j < 512; j++)
        ck_assert_msg(buf[j] == h_pattern(lba * 512 + j), "lba %llu byte %u: 0x%02x",
                      (unsigned long long)lba, j, buf[j]);
}

/* Status must be a defined, idle value after any command: never BSY. */
static void assert_sane(int ch)
{
    uint8_t st = h_altstatus(ch);

    ck_assert_msg(!(st & ST_BSY), "status 0x%02x is busy", st);
}

START_TEST(test_pci_identity)
{
    struct pci_bus *bus = H->dm.machine.pci;

    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x00, 4), 0x70108086);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x08, 4) >> 8, 0x010180);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x3d, 1), 0);        /* legacy: no INTx pin */
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x20, 4), H_BM_BASE | 1);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x10, 4), 0);        /* BAR0-3 unused */
    pci_config_write(bus, 1, 1, 0x20, 0xffffffff, 4);
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x20, 4) & 0xffff, 0xfff1);  /* 16 bytes of I/O */
    pci_config_write(bus, 1, 1, 0x20, H_BM_BASE, 4);
    pci_config_write(bus, 1, 1, 0x40, 0xa307e307, 4);                  /* IDE timing */
    ck_assert_uint_eq(pci_config_read(bus, 1, 1, 0x40, 4), 0xa307e307);
    ck_assert_uint_eq(h_inb(H_BM_BASE + 2) & ~0x60u, 0);
}
END_TEST

START_TEST(test_identify)
{
    uint8_t id[512];
    char model[41];

    h_select(0, 0, 0);
    ck_assert_int_eq(H->irq[14], 0);
    h_outb(H_PRI_CMD + 7, 0xec);
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert_uint_eq(h_altstatus(0) & (ST_DRQ | ST_DRDY | ST_ERR), ST_DRQ | ST_DRDY);
    ck_assert_int_eq(H->irq[14], 1);                 /* alternate status does not acknowledge */
    h_status(0);
    ck_assert_int_eq(H->irq[14], 0);
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

    h_lba28(0, 0, 5, 3);
    h_outb(H_PRI_CMD + 7, 0x20);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(H->irq[14], 1);
        ck_assert(h_status(0) & ST_DRQ);
        ck_assert_int_eq(H->irq[14], 0);
        h_pio_read(0, buf, sizeof(buf));
        check_sector(buf, 5 + (unsigned)i);
    }
    ck_assert_int_eq(H->irq[14], 0);                 /* no interrupt after the last block */
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
}
END_TEST

START_TEST(test_pio_write_lba28)
{
    uint8_t buf[1024], back[1024];
    int fd;

    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 13 + 1);
    h_lba28(0, 0, 100, 2);
    h_outb(H_PRI_CMD + 7, 0x30);
    ck_assert_int_eq(H->irq[14], 0);                 /* first block: DRQ without interrupt */
    ck_assert(h_altstatus(0) & ST_DRQ);
    h_pio_write(0, buf, 512);
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert(h_status(0) & ST_DRQ);
    h_pio_write(0, buf + 512, 512);
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR), 0);
    fd = open(disk_path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, back, sizeof(back), 100 * 512), (ssize_t)sizeof(back));
    close(fd);
    ck_assert_mem_eq(buf, back, sizeof(buf));
}
END_TEST

START_TEST(test_lba48_and_chs)
{
    uint8_t buf[512];

    h_lba48(0, 0, 2000, 2);
    h_outb(H_PRI_CMD + 7, 0x24);
    h_status(0);
    h_pio_read(0, buf, 512);
    check_sector(buf, 2000);
    h_pio_read(0, buf, 512);
    check_sector(buf, 2001);
    /* Registers point past the transfer (low byte 0xd2 = 2002 & 0xff). */
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 3), 2002 & 0xff);

    /* CHS with 16 heads x 63 sectors: C0 H1 S1 is LBA 63. */
    h_outb(H_PRI_CMD + 6, 0xa0 | 15);
    h_outb(H_PRI_CMD + 2, 63);
    h_outb(H_PRI_CMD + 7, 0x91);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_outb(H_PRI_CMD + 6, 0xa0 | 1);
    h_outb(H_PRI_CMD + 2, 1);
    h_outb(H_PRI_CMD + 3, 1);
    h_outb(H_PRI_CMD + 4, 0);
    h_outb(H_PRI_CMD + 5, 0);
    h_outb(H_PRI_CMD + 7, 0x20);
    ck_assert(h_status(0) & ST_DRQ);
    h_pio_read(0, buf, 512);
    check_sector(buf, 63);
    /* Sector 0 does not exist in CHS. */
    h_outb(H_PRI_CMD + 3, 0);
    h_outb(H_PRI_CMD + 7, 0x20);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_IDNF);
}
END_TEST

START_TEST(test_multiple)
{
    uint8_t buf[2048];

    h_select(0, 0, 0);
    h_outb(H_PRI_CMD + 2, 3);
    h_outb(H_PRI_CMD + 7, 0xc6);                     /* not a power of two */
    ck_assert_uint_eq(h_status(0) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_ABRT);
    h_outb(H_PRI_CMD + 2, 4);
    h_outb(H_PRI_CMD + 7, 0xc6);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_lba28(0, 0, 10, 8);
    h_outb(H_PRI_CMD + 7, 0xc4);
    for (int blk = 0; blk < 2; blk++) {
        ck_assert_int_eq(H->irq[14], 1);
        ck_assert(h_status(0) & ST_DRQ);
        h_pio_read(0, buf, sizeof(buf));
        for (int s = 0; s < 4; s++)
            check_sector(buf + 512 * s, 10 + (unsigned)(blk * 4 + s));
    }
    ck_assert_uint_eq(h_status(0) & ST_DRQ, 0);
    /* WRITE MULTIPLE EXT of 4 sectors is one DRQ block. */
    memset(buf, 0x5a, sizeof(buf));
    h_lba48(0, 0, 40, 4);
    h_outb(H_PRI_CMD + 7, 0x39);
    h_pio_write(0, buf, sizeof(buf));
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR), 0);
    ck_assert_uint_eq(H->ide->ch[0].drive[0].blk->st.wr_bytes, 2048);
}
END_TEST

static void dma_read(uint32_t lba, uint8_t count, bool start_first)
{
    h_prd(0x1000, 0, 0x10000, 4096, false);
    h_prd(0x1000, 1, 0x20000, (uint32_t)count * 512 - 4096, true);
    h_bm_setup(0, 0x1000, true);
    if (start_first)
        h_bm_start(0, true);
    h_lba28(0, 0, lba, count);
    h_outb(H_PRI_CMD + 7, 0xc8);
    if (!start_first) {
        ck_assert_int_eq(H->irq[14], 0);
        ck_assert(h_altstatus(0) & ST_DRQ);
        h_bm_start(0, true);
    }
}

START_TEST(test_dma_read)
{
    for (int order = 0; order < 2; order++) {
        memset(H->ram + 0x10000, 0, 0x20000);
        dma_read(20, 16, order);
        ck_assert_int_eq(H->irq[14], 1);
        ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_INTR);
        ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ | ST_DRDY), ST_DRDY);
        for (unsigned s = 0; s < 8; s++)
            check_sector(H->ram + 0x10000 + 512 * s, 20 + s);
        for (unsigned s = 8; s < 16; s++)
            check_sector(H->ram + 0x20000 + 512 * (s - 8), 20 + s);
        h_outb(H_BM_BASE, 0);
    }
}
END_TEST

START_TEST(test_dma_write_and_long_prd)
{
    uint8_t back[2048];
    int fd;

    for (unsigned i = 0; i < 2048; i++)
        H->ram[0x30000 + i] = (uint8_t)(i ^ 0xa5);
    /* A table longer than the transfer: ACTIVE stays set, INTR set. */
    h_prd(0x1000, 0, 0x30000, 2048, false);
    h_prd(0x1000, 1, 0x40000, 4096, true);
    h_bm_setup(0, 0x1000, false);
    h_lba48(0, 0, 300, 4);
    h_outb(H_PRI_CMD + 7, 0x35);
    h_bm_start(0, false);
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ACTIVE | BM_ST_INTR);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_outb(H_BM_BASE, 0);
    ck_assert_uint_eq(h_bm_status(0) & BM_ST_ACTIVE, 0);
    fd = open(disk_path, O_RDONLY);
    ck_assert_int_eq(pread(fd, back, sizeof(back), 300 * 512), (ssize_t)sizeof(back));
    close(fd);
    ck_assert_mem_eq(back, H->ram + 0x30000, sizeof(back));
}
END_TEST

static void expect_dma_error(void)
{
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert_uint_eq(h_bm_status(0) & (BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR), BM_ST_ERROR | BM_ST_INTR);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ | ST_BSY), ST_ERR);
    ck_assert(h_error(0) & ER_ABRT);
    h_outb(H_BM_BASE, 0);
}

START_TEST(test_hostile_prd)
{
    /* The table itself outside RAM. */
    h_bm_setup(0, 0x00fffff8 & ~3u, true);
    h_outl(H_BM_BASE + 4, 0x7ffff000);
    h_bm_start(0, true);
    h_lba28(0, 0, 0, 1);
    h_outb(H_PRI_CMD + 7, 0xc8);
    expect_dma_error();

    /* An entry pointing past RAM. */
    h_prd(0x1000, 0, H_RAM_SIZE - 256, 512, true);
    h_bm_setup(0, 0x1000, true);
    h_bm_start(0, true);
    h_lba28(0, 0, 0, 1);
    h_outb(H_PRI_CMD + 7, 0xc8);
    expect_dma_error();

    /* EOT before the transfer is complete. */
    h_prd(0x1000, 0, 0x10000, 512, true);
    h_bm_setup(0, 0x1000, true);
    h_bm_start(0, true);
    h_lba28(0, 0, 0, 4);
    h_outb(H_PRI_CMD + 7, 0xc8);
    expect_dma_error();

    /* A runaway table: 2-byte entries, no EOT anywhere, for 128 KiB. The
     * walk stops at PRD_MAX_ENTRIES (the table wraps RAM contents). */
    for (int i = 0; i < PRD_MAX_ENTRIES + 8; i++)
        h_prd(0x40000, i, 0x10000, 2, false);
    h_bm_setup(0, 0x40000, true);
    h_bm_start(0, true);
    h_lba28(0, 0, 0, 0);                             /* 0 = 256 sectors */
    h_outb(H_PRI_CMD + 7, 0xc8);
    expect_dma_error();

    /* A table that ends exactly at the top of RAM, without EOT. */
    h_prd(H_RAM_SIZE - 8, 0, 0x10000, 256, false);
    h_bm_setup(0, H_RAM_SIZE - 8, true);
    h_bm_start(0, true);
    h_lba28(0, 0, 0, 1);
    h_outb(H_PRI_CMD + 7, 0xc8);
    expect_dma_error();

    /* Bus mastering off in the PCI command register. */
    pci_config_write(H->dm.machine.pci, 1, 1, 0x04, 0x0001, 2);
    h_prd(0x1000, 0, 0x10000, 512, true);
    h_bm_setup(0, 0x1000, true);
    h_bm_start(0, true);
    h_lba28(0, 0, 0, 1);
    h_outb(H_PRI_CMD + 7, 0xc8);
    expect_dma_error();
}
END_TEST

START_TEST(test_past_end)
{
    uint8_t cmds[] = { 0x20, 0x30, 0xc8, 0xca, 0x40, 0xc4 };

    for (size_t i = 0; i < sizeof(cmds); i++) {
        h_lba28(0, 0, DISK_SECTORS - 1, 2);
        h_outb(H_PRI_CMD + 7, cmds[i]);
        ck_assert_int_eq(H->irq[14], 1);
        ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
        ck_assert_uint_eq(h_error(0), ER_IDNF);
    }
    h_lba48(0, 0, 0xffffffffffffULL, 0);             /* 65536 sectors at the top of LBA48 */
    h_outb(H_PRI_CMD + 7, 0x24);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_IDNF);
    h_lba48(0, 0, DISK_SECTORS, 1);                  /* just past the end */
    h_outb(H_PRI_CMD + 7, 0x25);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_inw(H_PRI_CMD), 0);          /* no data phase */
    h_lba28(0, 0, DISK_SECTORS - 1, 1);              /* the last sector is fine */
    h_outb(H_PRI_CMD + 7, 0x40);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
}
END_TEST

START_TEST(test_misc_commands)
{
    uint8_t unknown[] = { 0x00, 0xff, 0xa0, 0xa1, 0x08, 0xf8, 0x27, 0xb0 };

    for (size_t i = 0; i < sizeof(unknown); i++) {
        h_select(0, 0, 0);
        h_outb(H_PRI_CMD + 7, unknown[i]);
        ck_assert_int_eq(H->irq[14], 1);
        ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRDY | ST_DRQ), ST_ERR | ST_DRDY);
        ck_assert_uint_eq(h_error(0), ER_ABRT);
    }
    h_outb(H_PRI_CMD + 7, 0xe7);                     /* FLUSH CACHE */
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    ck_assert_uint_eq(H->ide->ch[0].drive[0].blk->st.flush_ops, 1);
    h_outb(H_PRI_CMD + 7, 0xea);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_outb(H_PRI_CMD + 2, 0);
    h_outb(H_PRI_CMD + 7, 0xe5);                     /* CHECK POWER MODE */
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 2), 0xff);
    h_outb(H_PRI_CMD + 7, 0xe0);                     /* STANDBY IMMEDIATE */
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_outb(H_PRI_CMD + 7, 0xe1);                     /* IDLE IMMEDIATE */
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_outb(H_PRI_CMD + 1, 0x03);                     /* SET FEATURES: MWDMA2 */
    h_outb(H_PRI_CMD + 2, 0x22);
    h_outb(H_PRI_CMD + 7, 0xef);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    h_outb(H_PRI_CMD + 2, 0x27);                     /* MWDMA7 does not exist */
    h_outb(H_PRI_CMD + 7, 0xef);
    ck_assert_uint_eq(h_status(0) & ST_ERR, ST_ERR);
    h_outb(H_PRI_CMD + 1, 0x82);                     /* write cache off */
    h_outb(H_PRI_CMD + 7, 0xef);
    ck_assert_uint_eq(h_status(0) & ST_ERR, 0);
    ck_assert_uint_eq(H->ide->ch[0].s.drive[0].wce, 0);
    h_outb(H_PRI_CMD + 1, 0x77);                     /* unknown feature */
    h_outb(H_PRI_CMD + 7, 0xef);
    ck_assert_uint_eq(h_status(0) & ST_ERR, ST_ERR);
    h_outb(H_PRI_CMD + 7, 0x90);                     /* EXECUTE DEVICE DIAGNOSTIC */
    ck_assert_int_eq(H->irq[14], 1);
    ck_assert_uint_eq(h_error(0), 0x01);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 4), 0);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRDY), ST_DRDY);
}
END_TEST

START_TEST(test_srst_nien_absent)
{
    /* SRST: busy while asserted, signature after. */
    h_outb(H_PRI_CTL, DC_SRST);
    ck_assert(h_altstatus(0) & ST_BSY);
    h_outb(H_PRI_CTL, 0);
    ck_assert_uint_eq(h_altstatus(0), ST_DRDY | ST_DSC);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 2), 1);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 3), 1);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 4), 0);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 5), 0);
    ck_assert_uint_eq(h_error(0), 1);
    /* nIEN: the command completes, the line stays low until re-enabled. */
    h_outb(H_PRI_CTL, DC_NIEN);
    h_outb(H_PRI_CMD + 7, 0xe7);
    ck_assert_int_eq(H->irq[14], 0);
    h_outb(H_PRI_CTL, 0);
    ck_assert_int_eq(H->irq[14], 1);
    h_status(0);
    ck_assert_int_eq(H->irq[14], 0);
    /* The absent slave and the empty secondary channel. */
    h_select(0, 1, 0);
    ck_assert_uint_eq(h_status(0), 0);
    h_outb(H_PRI_CMD + 7, 0xec);
    ck_assert_int_eq(H->irq[14], 0);
    ck_assert_uint_eq(h_inw(H_PRI_CMD), 0);
    ck_assert_uint_eq(h_inb(H_SEC_CMD + 7), 0);
    h_outb(H_SEC_CMD + 7, 0xec);
    ck_assert_int_eq(H->irq[15], 0);
    /* HOB read back of the previous register contents. */
    h_select(0, 0, 0);
    h_outb(H_PRI_CMD + 2, 0x12);
    h_outb(H_PRI_CMD + 2, 0x34);
    h_outb(H_PRI_CTL, DC_HOB);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 2), 0x12);
    h_outb(H_PRI_CTL, 0);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 2), 0x34);
}
END_TEST

START_TEST(test_odd_widths)
{
    uint8_t buf[512];

    h_lba28(0, 0, 7, 1);
    h_outb(H_PRI_CMD + 7, 0x20);
    h_status(0);
    ck_assert_uint_eq(h_inb(H_PRI_CMD), 0xff);       /* a byte read moves nothing */
    for (unsigned i = 0; i < 512; i += 4) {
        uint32_t v = h_inl(H_PRI_CMD);

        memcpy(buf + i, &v, 4);
    }
    check_sector(buf, 7);
    ck_assert_uint_eq(h_status(0) & ST_DRQ, 0);
    ck_assert_uint_eq(h_inl(H_PRI_CMD), 0);          /* no transfer: reads 0 */
    /* Word registers read as bytes; 32-bit accesses to the task file. */
    h_outl(H_PRI_CMD + 2, 0x00000102);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 2), 0x02);
    ck_assert_uint_eq(h_inb(H_PRI_CMD + 3), 0x01);
    ck_assert_uint_eq(h_inw(H_PRI_CMD + 2), 0x0102);
    /* 8-bit writes to the data port during a write are ignored. */
    h_lba28(0, 0, 8, 1);
    h_outb(H_PRI_CMD + 7, 0x30);
    for (int i = 0; i < 600; i++)
        h_outb(H_PRI_CMD, 0x11);
    ck_assert(h_altstatus(0) & ST_DRQ);
    for (int i = 0; i < 128; i++)
        h_outl(H_PRI_CMD, 0xdeadbeef);
    ck_assert_uint_eq(h_status(0) & (ST_DRQ | ST_ERR), 0);
}
END_TEST

START_TEST(test_readonly_disk)
{
    char err[256];

    teardown();
    setup_disk(true);
    (void)err;
    h_lba28(0, 0, 0, 1);
    h_outb(H_PRI_CMD + 7, 0x30);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(h_error(0), ER_ABRT);
    h_bm_setup(0, 0x1000, false);
    h_prd(0x1000, 0, 0x10000, 512, true);
    h_outb(H_PRI_CMD + 7, 0xca);
    ck_assert_uint_eq(h_status(0) & (ST_ERR | ST_DRQ), ST_ERR);
    h_lba28(0, 0, 0, 1);
    h_outb(H_PRI_CMD + 7, 0x20);                     /* reads still work */
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
                h_lba28(0, 0, 1, 2);
                h_outb(H_PRI_CMD + 7, 0x20);
                h_inw(H_PRI_CMD);
            } else if (state == 2) {
                h_lba28(0, 0, 1, 2);
                h_outb(H_PRI_CMD + 7, 0x30);
                h_outw(H_PRI_CMD, 0x1234);
            } else if (state == 3) {
                h_lba28(0, 0, 1, 2);
                h_outb(H_PRI_CMD + 7, 0xc8);
            }
            h_lba28(0, 0, (uint32_t)cmd * 3, (uint8_t)cmd);
            h_outb(H_PRI_CMD + 1, (uint8_t)cmd);
            h_outb(H_PRI_CMD + 7, (uint8_t)cmd);
            assert_sane(0);
            for (int i = 0; i < 300 && (h_altstatus(0) & ST_DRQ); i++)
                h_inw(H_PRI_CMD);
            assert_sane(0);
            h_status(0);
        }
    }
    /* The disk still works afterwards. */
    h_outb(H_PRI_CTL, DC_SRST);
    h_outb(H_PRI_CTL, 0);
    h_outb(H_PRI_CMD + 2, 16);
    h_outb(H_PRI_CMD + 7, 0xc6);
    h_lba28(0, 0, 3, 1);
    h_outb(H_PRI_CMD + 7, 0x20);
    {
        uint8_t buf[512];

        h_pio_read(0, buf, sizeof(buf));
        ck_assert_uint_eq(buf[0], 3);
    }
}
END_TEST

START_TEST(test_bm_registers)
{
    h_outl(H_BM_BASE + 4, 0x12345677);
    ck_assert_uint_eq(h_inl(H_BM_BASE + 4), 0x12345674);
    h_outb(H_BM_BASE + 2, BM_ST_CAP0 | BM_ST_CAP1);
    ck_assert_uint_eq(h_bm_status(0), BM_ST_CAP0 | BM_ST_CAP1);
    h_outb(H_BM_BASE, 0xff);
    ck_assert_uint_eq(h_inb(H_BM_BASE), BM_CMD_START | BM_CMD_READ);
    ck_assert(h_bm_status(0) & BM_ST_ACTIVE);
    h_outb(H_BM_BASE, 0);
    ck_assert_uint_eq(h_bm_status(0) & BM_ST_ACTIVE, 0);
    h_outw(H_BM_BASE + 8 + 2, 0xffff);               /* secondary channel */
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
    struct vmwriter w = { malloc(VMSTATE_MAX_SECTION), 0, VMSTATE_MAX_SECTION, false };
    struct vmreader r;
    void *staging;
    uint8_t buf[512];
    char err[256] = "";

    ck_assert_ptr_nonnull(vd);
    h_lba28(0, 0, 50, 2);
    h_outb(H_PRI_CMD + 7, 0x20);
    for (int i = 0; i < 100; i++)
        h_inw(H_PRI_CMD);
    vd->save(vd->state, &w);
    ck_assert(!w.err);
    ck_assert_uint_lt(w.len, VMSTATE_MAX_SECTION);
    ide_ctrl_reset(H->ide);
    ck_assert_uint_eq(h_altstatus(0) & ST_DRQ, 0);
    staging = malloc(vd->state_size);
    memcpy(staging, vd->state, vd->state_size);
    r = (struct vmreader){ w.buf, w.len, 0, false };
    ck_assert_int_eq(vd->load(staging, &r, err, sizeof(err)), 0);
    memcpy(vd->state, staging, vd->state_size);
    vd->post_load(vd->opaque);
    ck_assert_int_eq(H->irq[14], 1);                 /* the pending interrupt is driven again */
    ck_assert(h_status(0) & ST_DRQ);
    for (int i = 100; i < 256; i++) {
        uint16_t v = h_inw(H_PRI_CMD);

        buf[2 * i] = (uint8_t)v;
        buf[2 * i + 1] = (uint8_t)(v >> 8);
    }
    for (int j = 200; j < 512; j++)
        ck_assert_uint_eq(buf[j], h_pattern(50 * 512 + (unsigned)j));
    h_pio_read(0, buf, 512);
    check_sector(buf, 51);

    /* Corrupt: pos (drive 0's u32 after 33 bytes + 3 u16) beyond end. */
    {
        size_t pos_off = 33 + 6;

        memcpy(staging, vd->state, vd->state_size);
        w.buf[pos_off] = 0xff;
        w.buf[pos_off + 1] = 0xff;
        r = (struct vmreader){ w.buf, w.len, 0, false };
        ck_assert_int_eq(vd->load(staging, &r, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, "PIO window") != NULL, "err: %s", err);
        /* Truncated */
        memcpy(staging, vd->state, vd->state_size);
        r = (struct vmreader){ w.buf, 20, 0, false };
        ck_assert_int_eq(vd->load(staging, &r, err, sizeof(err)), -1);
    }
    free(staging);
    free(w.buf);
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
    struct vmwriter w = { malloc(VMSTATE_MAX_SECTION), 0, VMSTATE_MAX_SECTION, false };
    struct vmreader r;
    struct vmstate_media m;
    void *staging = malloc(vd->state_size);
    char err[256] = "";

    ide_ctrl_unplug_disks(H->ide, false);
    h_select(0, 0, 0);
    ck_assert_uint_eq(h_status(0), 0);
    h_outb(H_PRI_CMD + 7, 0xec);
    ck_assert_int_eq(H->irq[14], 0);
    ck_assert(vmstate_query_media(0, &m));
    ck_assert(m.present && m.inserted && !m.cdrom);
    vd->save(vd->state, &w);
    /* Into a machine where the disk is still plugged. */
    ide_ctrl_reset(H->ide);
    H->ide->ch[0].s.drive[0].present = 1;
    memcpy(staging, vd->state, vd->state_size);
    r = (struct vmreader){ w.buf, w.len, 0, false };
    ck_assert_int_eq(vd->load(staging, &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(((struct ide_chan_state *)staging)->drive[0].present, 0);
    /* Never into a machine whose drive there is a CD-ROM: unplug leaves
     * CD-ROMs on the cable. */
    memcpy(staging, vd->state, vd->state_size);
    ((struct ide_chan_state *)staging)->drive[0].cdrom = 1;
    r = (struct vmreader){ w.buf, w.len, 0, false };
    ck_assert_int_eq(vd->load(staging, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "drive 0") && strstr(err, "CD-ROM drive is never unplugged"), "err: %s", err);
    /* Nor an absent drive that still says CD-ROM (unplug clears it all).
     * The cdrom flag is the stream's second byte of drive 0. */
    w.buf[1] = 1;
    memcpy(staging, vd->state, vd->state_size);
    r = (struct vmreader){ w.buf, w.len, 0, false };
    ck_assert_int_eq(vd->load(staging, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "CD-ROM drive is never unplugged"), "err: %s", err);
    free(staging);
    free(w.buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ide_ata");
    TCase *tc = tcase_create("ata");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_pci_identity);
    tcase_add_test(tc, test_identify);
    tcase_add_test(tc, test_pio_read_lba28);
    tcase_add_test(tc, test_pio_write_lba28);
    tcase_add_test(tc, test_lba48_and_chs);
    tcase_add_test(tc, test_multiple);
    tcase_add_test(tc, test_dma_read);
    tcase_add_test(tc, test_dma_write_and_long_prd);
    tcase_add_test(tc, test_hostile_prd);
    tcase_add_test(tc, test_past_end);
    tcase_add_test(tc, test_misc_commands);
    tcase_add_test(tc, test_srst_nien_absent);
    tcase_add_test(tc, test_odd_widths);
    tcase_add_test(tc, test_readonly_disk);
    tcase_add_test(tc, test_every_command_every_state);
    tcase_add_test(tc, test_bm_registers);
    tcase_add_test(tc, test_state_roundtrip);
    tcase_add_test(tc, test_media_provider_and_bad_image);
    tcase_add_test(tc, test_unplug);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
