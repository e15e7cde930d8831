/* ATA commands of the IDE hard disk (and the ATA-level commands a packet
 * device accepts): LBA28/LBA48/CHS addressing, PIO in DRQ blocks, DMA
 * through the bus master, and the housekeeping commands guests send.
 * Every range is checked against the medium before anything moves. */
#include "dm/ide.h"

#include <errno.h>
#include <string.h>

#include "dm/block.h"
#include "dm/log.h"

static void put16(uint8_t *id, unsigned word, uint16_t v)
{
    id[word * 2] = (uint8_t)v;
    id[word * 2 + 1] = (uint8_t)(v >> 8);
}

/* ATA strings: space padded, two characters per word, first one high. */
void ide_put_string(uint8_t *p, size_t nbytes, const char *s)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < nbytes; i++)
        p[i ^ 1] = i < len ? (uint8_t)s[i] : ' ';
}

static void finish_ok(struct ide_drive *d)
{
    ide_xfer_stop(d);
    d->s->error = 0;
    d->s->status = d->s->cdrom ? ST_DRDY : ST_DRDY | ST_DSC;
    ide_raise_irq(d);
}

void ata_error(struct ide_drive *d, uint8_t err)
{
    ide_xfer_stop(d);
    d->s->error = err;
    d->s->status = d->s->cdrom ? ST_DRDY | ST_ERR : ST_DRDY | ST_DSC | ST_ERR;
    ide_raise_irq(d);
}

/* ---- addressing ------------------------------------------------------- */

/* The command's first sector and count from the task file; false when the
 * address is malformed (CHS outside the geometry) or past the medium. */
static bool get_range(struct ide_drive *d, bool lba48, uint64_t *lba_r, uint32_t *count_r)
{
    struct ide_drive_state *s = d->s;
    uint64_t lba;
    uint32_t count;

    if (lba48) {
        count = (uint32_t)s->hob_nsector << 8 | s->nsector;
        if (!count)
            count = 65536;
        lba = (uint64_t)s->hob_hcyl << 40 | (uint64_t)s->hob_lcyl << 32 | (uint64_t)s->hob_sector << 24 |
              (uint64_t)s->hcyl << 16 | (uint64_t)s->lcyl << 8 | s->sector;
    } else {
        count = s->nsector ? s->nsector : 256;
        if (s->select & 0x40) {
            lba = (uint64_t)(s->select & 0x0f) << 24 | (uint64_t)s->hcyl << 16 |
                  (uint64_t)s->lcyl << 8 | s->sector;
        } else {
            unsigned cyl = (unsigned)s->hcyl << 8 | s->lcyl, head = s->select & 0x0f;

            if (s->sector == 0 || s->spt == 0 || s->sector > s->spt || head >= s->heads)
                return false;
            lba = ((uint64_t)cyl * s->heads + head) * s->spt + s->sector - 1;
        }
    }
    if (!d->blk || lba > d->sectors || count > d->sectors - lba)
        return false;
    *lba_r = lba;
    *count_r = count;
    return true;
}

static void set_lba_regs(struct ide_drive *d, uint64_t lba)
{
    struct ide_drive_state *s = d->s;

    if (s->lba48) {
        s->sector = (uint8_t)lba;
        s->lcyl = (uint8_t)(lba >> 8);
        s->hcyl = (uint8_t)(lba >> 16);
        s->hob_sector = (uint8_t)(lba >> 24);
        s->hob_lcyl = (uint8_t)(lba >> 32);
        s->hob_hcyl = (uint8_t)(lba >> 40);
    } else if (s->select & 0x40) {
        s->sector = (uint8_t)lba;
        s->lcyl = (uint8_t)(lba >> 8);
        s->hcyl = (uint8_t)(lba >> 16);
        s->select = (uint8_t)((s->select & 0xf0) | ((lba >> 24) & 0x0f));
    } else if (s->heads && s->spt) {
        uint64_t per_cyl = (uint64_t)s->heads * s->spt;
        uint64_t cyl = lba / per_cyl, r = lba % per_cyl;

        s->hcyl = (uint8_t)(cyl >> 8);
        s->lcyl = (uint8_t)cyl;
        s->select = (uint8_t)((s->select & 0xf0) | ((r / s->spt) & 0x0f));
        s->sector = (uint8_t)(r % s->spt + 1);
    }
}

/* ---- PIO ------------------------------------------------------------- */

static void read_next_block(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    uint32_t n = s->disk_left < s->block ? (uint32_t)s->disk_left : s->block;

    if (!n || n > IDE_BUF_SIZE || block_read(d->blk, s->disk_off, s->buf, n) < 0) {
        log_guest("ide: %s: read of %u bytes at disk offset %llu failed: %s", d->id, n,
                  (unsigned long long)s->disk_off, strerror(errno));
        ata_error(d, ER_UNC | ER_ABRT);
        return;
    }
    s->disk_off += n;
    s->disk_left -= n;
    ide_pio_window(d, XF_PIO_IN, n);
    ide_raise_irq(d);
}

static void start_write_window(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    uint32_t n = s->disk_left < s->block ? (uint32_t)s->disk_left : s->block;

    s->disk_left -= n;
    ide_pio_window(d, XF_PIO_OUT, n);
}

static void write_block_done(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    if (block_write(d->blk, s->disk_off, s->buf, s->end) < 0 || (!s->wce && block_flush(d->blk) < 0)) {
        log_guest("ide: %s: write of %u bytes at disk offset %llu failed: %s", d->id, s->end,
                  (unsigned long long)s->disk_off, strerror(errno));
        ata_error(d, ER_ABRT);
        return;
    }
    s->disk_off += s->end;
    if (s->disk_left) {
        start_write_window(d);
        ide_raise_irq(d);
        return;
    }
    set_lba_regs(d, s->next_lba);
    finish_ok(d);
}

void ide_pio_done(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    switch (s->xfer) {
    case XF_PIO_IN:
        if (s->cdrom) {
            atapi_pio_next(d);
        } else if (s->src == SRC_DISK && s->disk_left) {
            read_next_block(d);
        } else {
            /* The last block of a read ends without an interrupt. */
            if (s->src == SRC_DISK)
                set_lba_regs(d, s->next_lba);
            ide_xfer_stop(d);
            s->status = ST_DRDY | ST_DSC;
        }
        break;
    case XF_PIO_OUT:
        if (s->src == SRC_DISK && !s->cdrom)
            write_block_done(d);
        else
            ide_xfer_stop(d);
        break;
    case XF_PACKET:
        ide_xfer_stop(d);
        if (s->cdrom)
            atapi_exec(d);
        break;
    default:
        ide_xfer_stop(d);
        break;
    }
}

/* ---- read/write commands ------------------------------------------- */

enum rw_kind { RW_PIO, RW_MULTIPLE, RW_DMA };

static void start_rw(struct ide_drive *d, bool lba48, bool write, enum rw_kind kind)
{
    struct ide_drive_state *s = d->s;
    uint64_t lba;
    uint32_t count;

    s->lba48 = lba48;
    if (kind == RW_MULTIPLE && !s->mult) {
        ata_error(d, ER_ABRT);
        return;
    }
    if (!get_range(d, lba48, &lba, &count)) {
        log_guest("ide: %s: command 0x%02x outside the medium", d->id, s->cmd);
        ata_error(d, d->blk ? ER_IDNF : ER_ABRT);
        return;
    }
    if (write && d->blk->readonly) {
        ata_error(d, ER_ABRT);
        return;
    }
    s->src = SRC_DISK;
    s->disk_off = lba * IDE_SECTOR;
    s->disk_left = (uint64_t)count * IDE_SECTOR;
    s->next_lba = lba + count;
    s->block = kind == RW_MULTIPLE ? (uint32_t)s->mult * IDE_SECTOR : IDE_SECTOR;
    switch (kind) {
    case RW_DMA:
        s->xfer = write ? XF_DMA_OUT : XF_DMA_IN;
        s->pos = s->end = s->total = 0;
        s->status = ST_DRDY | ST_DSC | ST_DRQ;
        bmdma_kick(d->ch);
        break;
    default:
        if (write)
            start_write_window(d);          /* first block: DRQ, no interrupt */
        else
            read_next_block(d);
        break;
    }
}

void ata_dma_done(struct ide_drive *d, bool ok, uint8_t err)
{
    if (d->s->cdrom) {
        atapi_dma_done(d, ok);
        return;
    }
    if (!ok) {
        ata_error(d, err);
        return;
    }
    if (d->s->xfer == XF_DMA_OUT && !d->s->wce && block_flush(d->blk) < 0) {
        ata_error(d, ER_ABRT);
        return;
    }
    set_lba_regs(d, d->s->next_lba);
    finish_ok(d);
}

/* ---- IDENTIFY DEVICE ------------------------------------------------ */

static void identify(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    uint8_t *id = s->buf;
    uint64_t lba28 = d->sectors > 0x0fffffff ? 0x0fffffff : d->sectors;
    uint32_t chs = (uint32_t)s->heads * s->spt * d->cyls;
    uint16_t cur_cyls = d->cyls;

    memset(id, 0, 512);
    if (s->heads && s->spt) {
        uint64_t c = d->sectors / ((uint64_t)s->heads * s->spt);

        cur_cyls = (uint16_t)(c > 16383 ? 16383 : c);
        chs = (uint32_t)cur_cyls * s->heads * s->spt;
    }
    put16(id, 0, 0x0040);                   /* fixed disk */
    put16(id, 1, d->cyls);
    put16(id, 3, d->heads);
    put16(id, 6, d->spt);
    ide_put_string(id + 20, 20, d->serial);
    ide_put_string(id + 46, 8, "0.1");
    ide_put_string(id + 54, 40, "XSDM HARDDISK");
    put16(id, 47, 0x8000 | IDE_MAX_MULT);
    put16(id, 48, 1);                       /* 32-bit PIO */
    put16(id, 49, 1 << 11 | 1 << 9 | 1 << 8);   /* IORDY, LBA, DMA */
    put16(id, 51, 0x200);
    put16(id, 52, 0x200);
    put16(id, 53, 7);                       /* words 54-58, 64-70, 88 valid */
    put16(id, 54, cur_cyls);
    put16(id, 55, s->heads);
    put16(id, 56, s->spt);
    put16(id, 57, (uint16_t)chs);
    put16(id, 58, (uint16_t)(chs >> 16));
    put16(id, 59, s->mult ? 0x100 | s->mult : 0);
    put16(id, 60, (uint16_t)lba28);
    put16(id, 61, (uint16_t)(lba28 >> 16));
    put16(id, 63, 0x07 | (s->mdma_mode <= 2 ? 0x100 << s->mdma_mode : 0));
    put16(id, 64, 0x03);                    /* PIO 3 and 4 */
    put16(id, 65, 120);
    put16(id, 66, 120);
    put16(id, 67, 120);
    put16(id, 68, 120);
    put16(id, 80, 0x00f0);                  /* ATA/ATAPI-4 to -7 */
    put16(id, 81, 0x0016);
    put16(id, 82, 1 << 14 | 1 << 5 | 1 << 3);   /* NOP, write cache, power management */
    put16(id, 83, 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10);  /* FLUSH EXT, FLUSH, LBA48 */
    put16(id, 84, 1 << 14);
    put16(id, 85, (s->wce ? 1 << 5 : 0) | 1 << 3);
    put16(id, 86, 1 << 13 | 1 << 12 | 1 << 10);
    put16(id, 87, 1 << 14);
    put16(id, 88, 0x3f | (s->udma_mode <= 5 ? 0x100 << s->udma_mode : 0));
    put16(id, 93, 1 << 14 | 1 << 13 | 1);
    put16(id, 100, (uint16_t)d->sectors);
    put16(id, 101, (uint16_t)(d->sectors >> 16));
    put16(id, 102, (uint16_t)(d->sectors >> 32));
    put16(id, 103, (uint16_t)(d->sectors >> 48));
    s->src = SRC_BUF;
    s->total = 512;
    ide_pio_window(d, XF_PIO_IN, 512);
    ide_raise_irq(d);
}

/* ---- housekeeping commands ------------------------------------------- */

static void set_features(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    uint8_t mode = s->nsector;

    switch (s->feature) {
    case 0x02: s->wce = 1; break;           /* write cache on */
    case 0x82: s->wce = 0; break;           /* write cache off */
    case 0x03:                              /* transfer mode */
        switch (mode >> 3) {
        case 0: s->pio_mode = 0; break;
        case 1: if ((mode & 7) > 4) goto abort; s->pio_mode = mode & 7; break;
        case 4: if ((mode & 7) > 2) goto abort; s->mdma_mode = mode & 7; s->udma_mode = 0xff; break;
        case 8: if ((mode & 7) > 5) goto abort; s->udma_mode = mode & 7; s->mdma_mode = 0xff; break;
        default: goto abort;
        }
        break;
    /* Harmless: APM, read look-ahead, reverting to defaults, and friends. */
    case 0x05: case 0x85: case 0x42: case 0xc2: case 0x55: case 0xaa:
    case 0x66: case 0xcc: case 0x31: case 0x95:
        break;
    default:
        goto abort;
    }
    finish_ok(d);
    return;
abort:
    ata_error(d, ER_ABRT);
}

static void diagnostic(struct ide_drive *d)
{
    struct ide_channel *ch = d->ch;

    for (int u = 0; u < 2; u++) {
        struct ide_drive *x = &ch->drive[u];

        if (!x->s->present)
            continue;
        ide_xfer_stop(x);
        ide_set_signature(x);
        x->s->error = 0x01;
        x->s->status = x->s->cdrom ? 0 : ST_DRDY | ST_DSC;
    }
    ide_raise_irq(d);
}

static bool cdrom_cmd(struct ide_drive *d, uint8_t cmd)
{
    struct ide_drive_state *s = d->s;

    switch (cmd) {
    case 0x08:                              /* DEVICE RESET */
        ide_xfer_stop(d);
        ide_set_signature(d);
        s->error = 0x01;
        s->status = 0;
        return true;
    case 0xa0:                              /* PACKET */
        s->atapi_dma = s->feature & 1;
        s->bcl = (uint32_t)s->hcyl << 8 | s->lcyl;
        s->src = SRC_BUF;
        s->total = 12;
        s->nsector = (uint8_t)((s->nsector & ~7) | IR_COD);
        ide_pio_window(d, XF_PACKET, 12);
        return true;
    case 0xa1:                              /* IDENTIFY PACKET DEVICE */
        atapi_identify(d);
        return true;
    case 0xec:                              /* IDENTIFY DEVICE: "I am ATAPI" */
        ide_set_signature(d);
        ata_error(d, ER_ABRT);
        return true;
    default:
        return false;
    }
}

/* Commands both kinds of device accept. */
static bool common_cmd(struct ide_drive *d, uint8_t cmd)
{
    switch (cmd) {
    case 0x90:
        diagnostic(d);
        return true;
    case 0xef:
        set_features(d);
        return true;
    case 0xe5:                              /* CHECK POWER MODE: active */
        d->s->nsector = 0xff;
        finish_ok(d);
        return true;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6:
    case 0x94: case 0x95: case 0x96: case 0x97: case 0x99:
        finish_ok(d);                       /* power states: nothing spins */
        return true;
    default:
        return false;
    }
}

void ata_exec(struct ide_drive *d, uint8_t cmd)
{
    struct ide_drive_state *s = d->s;

    /* A new command ends whatever transfer was under way. */
    ide_xfer_stop(d);
    s->cmd = cmd;
    s->lba48 = 0;
    if (common_cmd(d, cmd))
        return;
    if (s->cdrom) {
        /* A packet device takes media commands only as packets. */
        if (!cdrom_cmd(d, cmd))
            ata_error(d, ER_ABRT);
        return;
    }
    switch (cmd) {
    case 0x20: case 0x21: start_rw(d, false, false, RW_PIO); return;
    case 0x24: start_rw(d, true, false, RW_PIO); return;
    case 0x30: case 0x31: start_rw(d, false, true, RW_PIO); return;
    case 0x34: start_rw(d, true, true, RW_PIO); return;
    case 0xc4: start_rw(d, false, false, RW_MULTIPLE); return;
    case 0x29: start_rw(d, true, false, RW_MULTIPLE); return;
    case 0xc5: start_rw(d, false, true, RW_MULTIPLE); return;
    case 0x39: start_rw(d, true, true, RW_MULTIPLE); return;
    case 0xc8: case 0xc9: start_rw(d, false, false, RW_DMA); return;
    case 0x25: start_rw(d, true, false, RW_DMA); return;
    case 0xca: case 0xcb: start_rw(d, false, true, RW_DMA); return;
    case 0x35: start_rw(d, true, true, RW_DMA); return;
    default:
        break;
    }
    switch (cmd) {
    case 0xec: identify(d); return;
    case 0x40: case 0x41: case 0x42: {      /* READ VERIFY SECTORS (+EXT) */
        uint64_t lba;
        uint32_t count;

        s->lba48 = cmd == 0x42;
        if (!get_range(d, s->lba48, &lba, &count)) {
            ata_error(d, d->blk ? ER_IDNF : ER_ABRT);
            return;
        }
        set_lba_regs(d, lba + count);
        finish_ok(d);
        return;
    }
    case 0xe7: case 0xea:                   /* FLUSH CACHE (+EXT) */
        if (d->blk && block_flush(d->blk) < 0) {
            ata_error(d, ER_ABRT);
            return;
        }
        finish_ok(d);
        return;
    case 0xc6:                              /* SET MULTIPLE MODE */
        if (s->nsector > IDE_MAX_MULT || (s->nsector & (s->nsector - 1))) {
            ata_error(d, ER_ABRT);
            return;
        }
        s->mult = s->nsector;
        finish_ok(d);
        return;
    case 0x91:                              /* INITIALIZE DEVICE PARAMETERS */
        if (!s->nsector) {
            ata_error(d, ER_ABRT);
            return;
        }
        s->spt = s->nsector;
        s->heads = (uint16_t)((s->select & 0x0f) + 1);
        finish_ok(d);
        return;
    case 0x70:                              /* SEEK */
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
        finish_ok(d);                       /* RECALIBRATE */
        return;
    default:
        log_guest("ide: %s: unsupported ATA command 0x%02x", d->id, cmd);
        ata_error(d, ER_ABRT);
        return;
    }
}
