/* ATA commands of the IDE hard disk (and the ATA-level commands a packet
 * device accepts): LBA28/LBA48/CHS addressing, PIO in DRQ blocks, DMA
 * through the bus master, and the housekeeping commands guests send.
 * Every range is checked against the medium before anything moves. */
#include "dm/storage/ide.h"

#include <errno.h>
#include <string.h>

#include "dm/core/log.h"
#include "dm/storage/block.h"

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
        if (s->select & DEV_LBA) {
            lba = (uint64_t)(s->select & DEV_HEAD) << 24 | (uint64_t)s->hcyl << 16 |
                  (uint64_t)s->lcyl << 8 | s->sector;
        } else {
            unsigned cyl = (unsigned)s->hcyl << 8 | s->lcyl, head = s->select & DEV_HEAD;

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
    } else if (s->select & DEV_LBA) {
        s->sector = (uint8_t)lba;
        s->lcyl = (uint8_t)(lba >> 8);
        s->hcyl = (uint8_t)(lba >> 16);
        s->select = (uint8_t)((s->select & ~DEV_HEAD) | ((lba >> 24) & DEV_HEAD));
    } else if (s->heads && s->spt) {
        uint64_t per_cyl = (uint64_t)s->heads * s->spt;
        uint64_t cyl = lba / per_cyl, r = lba % per_cyl;

        s->hcyl = (uint8_t)(cyl >> 8);
        s->lcyl = (uint8_t)cyl;
        s->select = (uint8_t)((s->select & ~DEV_HEAD) | ((r / s->spt) & DEV_HEAD));
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

/* The bus master's PRD table was shorter than the transfer: the command
 * ends without data, error or interrupt (QEMU's PIIX does the same); the
 * host sees it in the bus-master status (ACTIVE and INTR clear). */
void ata_dma_short(struct ide_drive *d)
{
    ide_xfer_stop(d);
    d->s->error = 0;
    d->s->status = ST_DRDY | ST_DSC;
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

/* ---- the command table ------------------------------------------------ */

/* Which kinds of device accept a command. */
enum {
    DEV_KIND_DISK = 1,
    DEV_KIND_PACKET = 2,            /* ATAPI: media commands only as packets */
    DEV_KIND_ANY = DEV_KIND_DISK | DEV_KIND_PACKET,
};

struct ata_cmd {
    const char *name;               /* for logs */
    void (*run)(struct ide_drive *d, const struct ata_cmd *c);
    uint8_t devices;                /* DEV_KIND_* */
    uint8_t lba48;                  /* read/write/verify: 48-bit addressing */
    uint8_t write;                  /* read/write: host → medium */
    uint8_t kind;                   /* read/write: enum rw_kind */
};

static void cmd_rw(struct ide_drive *d, const struct ata_cmd *c)
{
    start_rw(d, c->lba48, c->write, (enum rw_kind)c->kind);
}

static void cmd_ok(struct ide_drive *d, const struct ata_cmd *c)
{
    finish_ok(d);                           /* nothing spins, nothing seeks */
}

/* A packet device answers IDENTIFY DEVICE by aborting with its signature
 * in place: that is how a host tells it from a disk. */
static void cmd_identify(struct ide_drive *d, const struct ata_cmd *c)
{
    if (d->s->cdrom) {
        ide_set_signature(d);
        ata_error(d, ER_ABRT);
        return;
    }
    identify(d);
}

static void cmd_identify_packet(struct ide_drive *d, const struct ata_cmd *c)
{
    atapi_identify(d);
}

static void cmd_verify(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_drive_state *s = d->s;
    uint64_t lba;
    uint32_t count;

    s->lba48 = c->lba48;
    if (!get_range(d, s->lba48, &lba, &count)) {
        ata_error(d, d->blk ? ER_IDNF : ER_ABRT);
        return;
    }
    set_lba_regs(d, lba + count);
    finish_ok(d);
}

static void cmd_flush(struct ide_drive *d, const struct ata_cmd *c)
{
    if (d->blk && block_flush(d->blk) < 0) {
        ata_error(d, ER_ABRT);
        return;
    }
    finish_ok(d);
}

static void cmd_set_multiple(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_drive_state *s = d->s;

    if (s->nsector > IDE_MAX_MULT || (s->nsector & (s->nsector - 1))) {
        ata_error(d, ER_ABRT);
        return;
    }
    s->mult = s->nsector;
    finish_ok(d);
}

static void cmd_init_dev_params(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_drive_state *s = d->s;

    if (!s->nsector) {
        ata_error(d, ER_ABRT);
        return;
    }
    s->spt = s->nsector;
    s->heads = (uint16_t)((s->select & DEV_HEAD) + 1);
    finish_ok(d);
}

static void cmd_check_power(struct ide_drive *d, const struct ata_cmd *c)
{
    d->s->nsector = CHECK_POWER_ACTIVE;
    finish_ok(d);
}

/* SETF_XFER_MODE: the mode class in the high bits, the mode below. */
static bool set_xfer_mode(struct ide_drive_state *s, uint8_t mode)
{
    unsigned n = mode & XFER_MODE_MASK;

    switch (mode & ~XFER_MODE_MASK) {
    case XFER_PIO_DEFAULT: s->pio_mode = 0; return true;
    case XFER_PIO: if (n > 4) return false; s->pio_mode = (uint8_t)n; return true;
    case XFER_MWDMA: if (n > 2) return false; s->mdma_mode = (uint8_t)n; s->udma_mode = IDE_MODE_NONE; return true;
    case XFER_UDMA: if (n > 5) return false; s->udma_mode = (uint8_t)n; s->mdma_mode = IDE_MODE_NONE; return true;
    default: return false;
    }
}

static void cmd_set_features(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_drive_state *s = d->s;
    bool ok = true;

    switch (s->feature) {
    case SETF_WCACHE_ON: s->wce = 1; break;
    case SETF_WCACHE_OFF: s->wce = 0; break;            /* flush after every write */
    case SETF_XFER_MODE: ok = set_xfer_mode(s, s->nsector); break;
    /* Harmless: APM, read look-ahead, reverting to defaults, and friends. */
    case SETF_APM_ON: case SETF_APM_OFF: case SETF_AAM_ON: case SETF_AAM_OFF:
    case SETF_LOOKAHEAD_OFF: case SETF_LOOKAHEAD_ON: case SETF_DEFAULTS_OFF: case SETF_DEFAULTS_ON:
    case SETF_MSN_OFF: case SETF_MSN_ON:
        break;
    default: ok = false; break;
    }
    if (ok)
        finish_ok(d);
    else
        ata_error(d, ER_ABRT);
}

/* Both devices of the channel run it; afterwards device 0 is selected
 * (ATA/ATAPI-6 9.10) whichever device the command was written to. */
static void cmd_diagnostic(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_channel *ch = d->ch;

    for (int u = 0; u < 2; u++) {
        struct ide_drive *x = &ch->drive[u];

        if (!x->s->present)
            continue;
        ide_xfer_stop(x);
        ide_set_signature(x);
        x->s->error = DIAG_PASSED;
        x->s->status = x->s->cdrom ? 0 : ST_DRDY | ST_DSC;
    }
    ch->s.unit = 0;
    ide_raise_irq(d);
}

/* DEVICE RESET: a packet device's own soft reset (no interrupt, status 0). */
static void cmd_device_reset(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_drive_state *s = d->s;

    ide_xfer_stop(d);
    ide_set_signature(d);
    s->error = DIAG_PASSED;
    s->status = 0;
}

/* PACKET: DRQ for the 12 command bytes, no interrupt; the byte count limit
 * and the DMA flag come with it. */
static void cmd_packet(struct ide_drive *d, const struct ata_cmd *c)
{
    struct ide_drive_state *s = d->s;

    s->atapi_dma = s->feature & ATAPI_FEATURE_DMA;
    s->bcl = (uint32_t)s->hcyl << 8 | s->lcyl;
    s->src = SRC_BUF;
    s->total = ATAPI_CMD_LEN;
    s->nsector = (uint8_t)((s->nsector & ~IR_MASK) | IR_COD);
    ide_pio_window(d, XF_PACKET, ATAPI_CMD_LEN);
}

#define RW(op, nm, l48, wr, k) [op] = { nm, cmd_rw, DEV_KIND_DISK, .lba48 = l48, .write = wr, .kind = k }
#define DISK(op, nm, fn, ...) [op] = { nm, fn, DEV_KIND_DISK, __VA_ARGS__ }
#define ANY(op, nm, fn) [op] = { nm, fn, DEV_KIND_ANY, 0, 0, 0 }
#define PACKET_DEV(op, nm, fn) [op] = { nm, fn, DEV_KIND_PACKET, 0, 0, 0 }
#define RECALIBRATE(n) DISK(ATA_CMD_RECALIBRATE + (n), "RECALIBRATE", cmd_ok, 0, 0, 0)

/* Indexed by opcode; an empty row is an unsupported command (aborted). */
static const struct ata_cmd ata_cmds[256] = {
    RW(ATA_CMD_READ_SECTORS, "READ SECTORS", 0, 0, RW_PIO),
    RW(ATA_CMD_READ_SECTORS_NR, "READ SECTORS", 0, 0, RW_PIO),
    RW(ATA_CMD_READ_SECTORS_EXT, "READ SECTORS EXT", 1, 0, RW_PIO),
    RW(ATA_CMD_WRITE_SECTORS, "WRITE SECTORS", 0, 1, RW_PIO),
    RW(ATA_CMD_WRITE_SECTORS_NR, "WRITE SECTORS", 0, 1, RW_PIO),
    RW(ATA_CMD_WRITE_SECTORS_EXT, "WRITE SECTORS EXT", 1, 1, RW_PIO),
    RW(ATA_CMD_READ_MULTIPLE, "READ MULTIPLE", 0, 0, RW_MULTIPLE),
    RW(ATA_CMD_READ_MULTIPLE_EXT, "READ MULTIPLE EXT", 1, 0, RW_MULTIPLE),
    RW(ATA_CMD_WRITE_MULTIPLE, "WRITE MULTIPLE", 0, 1, RW_MULTIPLE),
    RW(ATA_CMD_WRITE_MULTIPLE_EXT, "WRITE MULTIPLE EXT", 1, 1, RW_MULTIPLE),
    RW(ATA_CMD_READ_DMA, "READ DMA", 0, 0, RW_DMA),
    RW(ATA_CMD_READ_DMA_NR, "READ DMA", 0, 0, RW_DMA),
    RW(ATA_CMD_READ_DMA_EXT, "READ DMA EXT", 1, 0, RW_DMA),
    RW(ATA_CMD_WRITE_DMA, "WRITE DMA", 0, 1, RW_DMA),
    RW(ATA_CMD_WRITE_DMA_NR, "WRITE DMA", 0, 1, RW_DMA),
    RW(ATA_CMD_WRITE_DMA_EXT, "WRITE DMA EXT", 1, 1, RW_DMA),
    DISK(ATA_CMD_VERIFY, "READ VERIFY SECTORS", cmd_verify, 0, 0, 0),
    DISK(ATA_CMD_VERIFY_NR, "READ VERIFY SECTORS", cmd_verify, 0, 0, 0),
    DISK(ATA_CMD_VERIFY_EXT, "READ VERIFY SECTORS EXT", cmd_verify, .lba48 = 1),
    DISK(ATA_CMD_FLUSH_CACHE, "FLUSH CACHE", cmd_flush, 0, 0, 0),
    DISK(ATA_CMD_FLUSH_CACHE_EXT, "FLUSH CACHE EXT", cmd_flush, 0, 0, 0),
    DISK(ATA_CMD_SET_MULTIPLE, "SET MULTIPLE MODE", cmd_set_multiple, 0, 0, 0),
    DISK(ATA_CMD_INIT_DEV_PARAMS, "INITIALIZE DEVICE PARAMETERS", cmd_init_dev_params, 0, 0, 0),
    DISK(ATA_CMD_SEEK, "SEEK", cmd_ok, 0, 0, 0),
    RECALIBRATE(0x0), RECALIBRATE(0x1), RECALIBRATE(0x2), RECALIBRATE(0x3),
    RECALIBRATE(0x4), RECALIBRATE(0x5), RECALIBRATE(0x6), RECALIBRATE(0x7),
    RECALIBRATE(0x8), RECALIBRATE(0x9), RECALIBRATE(0xa), RECALIBRATE(0xb),
    RECALIBRATE(0xc), RECALIBRATE(0xd), RECALIBRATE(0xe), RECALIBRATE(0xf),
    ANY(ATA_CMD_IDENTIFY, "IDENTIFY DEVICE", cmd_identify),
    ANY(ATA_CMD_DIAGNOSTIC, "EXECUTE DEVICE DIAGNOSTIC", cmd_diagnostic),
    ANY(ATA_CMD_SET_FEATURES, "SET FEATURES", cmd_set_features),
    ANY(ATA_CMD_CHECK_POWER, "CHECK POWER MODE", cmd_check_power),
    /* Power states: nothing spins. */
    ANY(ATA_CMD_STANDBY_IMM, "STANDBY IMMEDIATE", cmd_ok),
    ANY(ATA_CMD_IDLE_IMM, "IDLE IMMEDIATE", cmd_ok),
    ANY(ATA_CMD_STANDBY, "STANDBY", cmd_ok),
    ANY(ATA_CMD_IDLE, "IDLE", cmd_ok),
    ANY(ATA_CMD_SLEEP, "SLEEP", cmd_ok),
    ANY(ATA_CMD_STANDBY_IMM_OLD, "STANDBY IMMEDIATE", cmd_ok),
    ANY(ATA_CMD_IDLE_IMM_OLD, "IDLE IMMEDIATE", cmd_ok),
    ANY(ATA_CMD_STANDBY_OLD, "STANDBY", cmd_ok),
    ANY(ATA_CMD_IDLE_OLD, "IDLE", cmd_ok),
    ANY(ATA_CMD_SLEEP_OLD, "SLEEP", cmd_ok),
    PACKET_DEV(ATA_CMD_DEVICE_RESET, "DEVICE RESET", cmd_device_reset),
    PACKET_DEV(ATA_CMD_PACKET, "PACKET", cmd_packet),
    PACKET_DEV(ATA_CMD_IDENTIFY_PACKET, "IDENTIFY PACKET DEVICE", cmd_identify_packet),
};

void ata_exec(struct ide_drive *d, uint8_t op)
{
    struct ide_drive_state *s = d->s;
    const struct ata_cmd *c = &ata_cmds[op];

    /* A new command ends whatever transfer was under way, and starts
     * with a clean error register: an old error does not show through. */
    ide_xfer_stop(d);
    s->error = 0;
    s->cmd = op;
    s->lba48 = 0;
    if (!c->run || !(c->devices & (s->cdrom ? DEV_KIND_PACKET : DEV_KIND_DISK))) {
        log_guest("ide: %s: unsupported ATA command 0x%02x%s%s", d->id, op, c->name ? " " : "",
                  c->name ? c->name : "");
        ata_error(d, ER_ABRT);
        return;
    }
    c->run(d, c);
}
