/* PIIX bus-master IDE DMA (BAR4, 16 bytes: per channel command, status
 * and PRD table address). A transfer runs to completion as soon as both
 * the drive has a DMA command and the guest has set START. The PRD table
 * is guest memory: each entry is read through the accelerator (which
 * refuses anything outside RAM), and a walk stops after PRD_MAX_ENTRIES
 * entries whatever the table says. How a transfer ends follows the
 * bus-master IDE specification (SFF-8038i) and QEMU's PIIX, case by case
 * in docs/devices-storage.md: a table shorter than the transfer moves
 * nothing and ends it quietly (ACTIVE and INTR clear, no interrupt, no
 * ATA error), an entry outside guest RAM or a medium error is an error
 * (ERROR + INTR, ATA ERR/ABRT), and with bus mastering off in the PCI
 * command register the engine reaches no memory at all. */
#include "dm/storage/ide.h"

#include <errno.h>
#include <string.h>

#include "dm/core/accel.h"
#include "dm/core/bytes.h"
#include "dm/core/log.h"
#include "dm/storage/block.h"

struct prd {
    uint32_t addr;
    uint32_t len;           /* 1..65536 */
    bool eot;
};

static int prd_fetch(struct ide_ctrl *ide, uint64_t at, struct prd *e)
{
    uint8_t raw[PRD_ENTRY_SIZE];

    if (!ide->accel || accel_mem_read(ide->accel, at, raw, sizeof(raw)) < 0)
        return -1;
    e->addr = get_le32(raw) & ~1u;
    e->len = get_le16(raw + 4) & 0xfffe;
    if (!e->len)
        e->len = 0x10000;
    e->eot = raw[7] & PRD_EOT;
    return 0;
}

/* One PRD entry's worth of data between the drive and guest memory. */
static int move_chunk(struct ide_drive *d, uint64_t gpa, uint32_t n, uint8_t *err_r)
{
    struct ide_ctrl *ide = d->ch->ctrl;
    struct ide_drive_state *s = d->s;
    struct accel *a = ide->accel;
    uint8_t *bounce = ide->bounce;

    if (n > sizeof(ide->bounce))
        return -1;
    if (s->xfer == XF_DMA_IN) {
        if (s->src == SRC_BUF) {
            if (s->pos > s->total || n > s->total - s->pos)
                return -1;
            if (accel_mem_write(a, gpa, s->buf + s->pos, n) < 0)
                return -1;
            s->pos += n;
            return 0;
        }
        if (!d->blk || (s->cdrom && !ide_drive_has_medium(d)) ||
            block_read(d->blk, s->disk_off, bounce, n) < 0) {
            log_guest("ide: %s: DMA read of %u bytes at disk offset %llu: %s", d->id, n,
                      (unsigned long long)s->disk_off, d->blk ? strerror(errno) : "no medium");
            *err_r = ER_UNC | ER_ABRT;
            return -1;
        }
        if (accel_mem_write(a, gpa, bounce, n) < 0)
            return -1;
    } else {
        if (s->src != SRC_DISK || accel_mem_read(a, gpa, bounce, n) < 0)
            return -1;
        if (!d->blk || block_write(d->blk, s->disk_off, bounce, n) < 0) {
            log_guest("ide: %s: DMA write of %u bytes at disk offset %llu: %s", d->id, n,
                      (unsigned long long)s->disk_off, d->blk ? strerror(errno) : "no medium");
            *err_r = ER_ABRT;
            return -1;
        }
    }
    s->disk_off += n;
    s->disk_left -= n;
    return 0;
}

static uint64_t bytes_left(const struct ide_drive_state *s)
{
    if (s->src == SRC_BUF)
        return s->pos <= s->total ? s->total - s->pos : 0;
    return s->disk_left;
}

/* How a PRD table compares with a transfer of need bytes. */
enum prd_cover {
    PRD_COVERS,             /* its byte counts add up to need or more */
    PRD_SHORT,              /* it ends first: EOT, or PRD_MAX_ENTRIES entries */
    PRD_FAULT,              /* an entry is outside guest RAM */
};

static enum prd_cover prd_check(struct ide_ctrl *ide, uint64_t at, uint64_t need)
{
    uint64_t have = 0;
    struct prd e;

    for (unsigned n = 0; have < need; n++, at += PRD_ENTRY_SIZE) {
        if (n >= PRD_MAX_ENTRIES)
            return PRD_SHORT;
        if (prd_fetch(ide, at, &e) < 0)
            return PRD_FAULT;
        have += e.len;
        if (e.eot && have < need)
            return PRD_SHORT;
    }
    return PRD_COVERS;
}

/* The table ran out before the transfer: the spec's error condition with
 * INTR and ACTIVE both clear. The drive drops the command without an error
 * or an interrupt, so nothing of it is left for the next one. */
static void dma_short(struct ide_channel *ch, struct ide_drive *d)
{
    log_guest("ide: %s: PRD table at 0x%x is shorter than the transfer", d->id, ch->s.bm.prd);
    ch->s.bm.status &= (uint8_t)~BM_ST_ACTIVE;
    ata_dma_short(d);
}

/* A memory or medium error: ERROR and INTR, the drive reports err. */
static void dma_fail(struct ide_channel *ch, struct ide_drive *d, uint8_t err)
{
    struct bmdma_state *bm = &ch->s.bm;

    bm->status = (uint8_t)((bm->status & ~BM_ST_ACTIVE) | BM_ST_ERROR);
    ata_dma_done(d, false, err);
}

/* Bus mastering off: the controller may not start a cycle on the bus, so
 * no PRD entry is read and no byte reaches guest memory or (for a write)
 * the medium. The engine still runs the command to its end, as QEMU's
 * PIIX does, whose table reads as zeros (64 KiB entries without EOT, so
 * longer than any transfer): ACTIVE stays set, INTR and the interrupt
 * come, the drive reports no error. */
static void dma_no_master(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    log_guest("ide: %s: bus master DMA with bus mastering disabled: no data moved", d->id);
    if (s->src == SRC_BUF) {
        s->pos = s->total;
    } else {
        s->disk_off += s->disk_left;
        s->disk_left = 0;
    }
    ata_dma_done(d, true, 0);
}

/* PRD entries whose data has not moved yet. A disk transfer moves a run of
 * consecutive entries (consecutive on the medium) with one read or write of
 * the bounce buffer: Linux hands one page per entry, and under Xen each
 * syscall is what a DMA costs. */
#define DMA_RUN_MAX 64              /* pages: the bounce buffer's 256 KiB */

struct dma_run {
    struct prd ent[DMA_RUN_MAX];    /* addr and the bytes of it to move */
    unsigned n;
    uint32_t bytes;
};

static bool run_full(const struct dma_run *run, uint32_t chunk)
{
    return run->n == DMA_RUN_MAX || chunk > sizeof(((struct ide_ctrl *)0)->bounce) - run->bytes;
}

/* Entry by entry, as when nothing is batched: this also finds (and logs)
 * the entry a failed batch stumbled on. */
static int run_one_by_one(struct ide_channel *ch, struct ide_drive *d, const struct dma_run *run)
{
    uint8_t err = ER_ABRT;
    unsigned i;

    for (i = 0; i < run->n; i++) {
        if (move_chunk(d, run->ent[i].addr, run->ent[i].len, &err) < 0) {
            log_guest("ide: DMA of %u bytes at 0x%x failed", run->ent[i].len, run->ent[i].addr);
            dma_fail(ch, d, err);
            return -1;
        }
    }
    return 0;
}

/* Move the run's data; on failure the transfer is ended (dma_fail) and -1
 * returned. A batch that fails before touching anything is replayed entry
 * by entry, so the guest sees the same partial result and error as if
 * every entry had moved on its own. */
static int run_flush_disk(struct ide_channel *ch, struct ide_drive *d, const struct dma_run *run)
{
    struct ide_ctrl *ide = ch->ctrl;
    struct ide_drive_state *s = d->s;
    uint8_t *bounce = ide->bounce;
    uint32_t off = 0;
    unsigned i;

    if (s->xfer == XF_DMA_IN) {
        if (!d->blk || (s->cdrom && !ide_drive_has_medium(d)) ||
            block_read(d->blk, s->disk_off, bounce, run->bytes) < 0)
            return run_one_by_one(ch, d, run);
        for (i = 0; i < run->n; i++) {
            if (accel_mem_write(ide->accel, run->ent[i].addr, bounce + off, run->ent[i].len) < 0) {
                log_guest("ide: DMA of %u bytes at 0x%x failed", run->ent[i].len, run->ent[i].addr);
                dma_fail(ch, d, ER_ABRT);
                return -1;
            }
            off += run->ent[i].len;
            s->disk_off += run->ent[i].len;
            s->disk_left -= run->ent[i].len;
        }
        return 0;
    }
    for (i = 0; i < run->n; i++) {
        if (accel_mem_read(ide->accel, run->ent[i].addr, bounce + off, run->ent[i].len) < 0)
            return run_one_by_one(ch, d, run);
        off += run->ent[i].len;
    }
    if (!d->blk || block_write(d->blk, s->disk_off, bounce, run->bytes) < 0)
        return run_one_by_one(ch, d, run);
    s->disk_off += run->bytes;
    s->disk_left -= run->bytes;
    return 0;
}

static int run_flush(struct ide_channel *ch, struct ide_drive *d, struct dma_run *run)
{
    int r;

    if (!run->n)
        return 0;
    r = run->n > 1 && d->s->src == SRC_DISK ? run_flush_disk(ch, d, run) : run_one_by_one(ch, d, run);
    run->n = 0;
    run->bytes = 0;
    return r;
}

static void dma_run(struct ide_channel *ch, struct ide_drive *d)
{
    struct ide_ctrl *ide = ch->ctrl;
    struct bmdma_state *bm = &ch->s.bm;
    uint64_t at = bm->prd;
    struct prd e = { 0, 0, false };
    struct dma_run run = { .n = 0, .bytes = 0 };
    bool exact_eot = false;
    unsigned n;

    if (!ide->accel) {
        dma_fail(ch, d, ER_ABRT);
        return;
    }
    if (!(ide->pci.config[PCI_CFG_COMMAND] & PCI_CMD_MASTER)) {
        dma_no_master(d);
        return;
    }
    /* Walk the table once before moving anything: a short one moves no byte. */
    switch (prd_check(ide, at, bytes_left(d->s))) {
    case PRD_SHORT:
        dma_short(ch, d);
        return;
    case PRD_FAULT:
        log_guest("ide: %s: PRD table at 0x%x runs outside guest RAM", d->id, bm->prd);
        dma_fail(ch, d, ER_ABRT);
        return;
    case PRD_COVERS:
        break;
    }
    for (n = 0; bytes_left(d->s) > run.bytes; n++) {
        uint64_t left = bytes_left(d->s) - run.bytes;
        uint32_t chunk;

        /* The guest may rewrite the table while we walk it. */
        if (n >= PRD_MAX_ENTRIES || e.eot) {
            if (run_flush(ch, d, &run) == 0)
                dma_short(ch, d);
            return;
        }
        if (prd_fetch(ide, at, &e) < 0) {
            if (run_flush(ch, d, &run) < 0)
                return;
            log_guest("ide: PRD entry at 0x%llx is outside guest RAM", (unsigned long long)at);
            dma_fail(ch, d, ER_ABRT);
            return;
        }
        chunk = left < e.len ? (uint32_t)left : e.len;
        if (run_full(&run, chunk) && run_flush(ch, d, &run) < 0)
            return;
        run.ent[run.n].addr = e.addr;
        run.ent[run.n].len = chunk;
        run.n++;
        run.bytes += chunk;
        exact_eot = e.eot && chunk == e.len;
        at += PRD_ENTRY_SIZE;
    }
    if (run_flush(ch, d, &run) < 0)
        return;
    /* A table longer than the transfer leaves ACTIVE set, as on the PIIX. */
    if (exact_eot)
        bm->status &= (uint8_t)~BM_ST_ACTIVE;
    ata_dma_done(d, true, 0);
}

static bool dma_pending(const struct ide_drive *d)
{
    return d->s->present && (d->s->xfer == XF_DMA_IN || d->s->xfer == XF_DMA_OUT);
}

void bmdma_kick(struct ide_channel *ch)
{
    struct ide_drive *d = ide_selected(ch);

    if (!(ch->s.bm.cmd & BM_CMD_START) || !(ch->s.bm.status & BM_ST_ACTIVE))
        return;
    if (!dma_pending(d))
        d = &ch->drive[!(ch->s.unit & 1)];
    if (dma_pending(d))
        dma_run(ch, d);
}

static void cmd_write(struct ide_channel *ch, uint8_t v)
{
    struct bmdma_state *bm = &ch->s.bm;
    uint8_t old = bm->cmd;

    bm->cmd = v & (BM_CMD_START | BM_CMD_READ);
    if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
        bm->status |= BM_ST_ACTIVE;
        bmdma_kick(ch);
    } else if (!(v & BM_CMD_START) && (old & BM_CMD_START)) {
        /* Nothing is ever in flight: stopping only clears ACTIVE. */
        bm->status &= (uint8_t)~BM_ST_ACTIVE;
    }
}

static uint8_t bm_reg_read(struct ide_ctrl *ide, unsigned off)
{
    struct bmdma_state *bm = &ide->ch[off / BM_CHAN_SIZE].s.bm;

    switch (off % BM_CHAN_SIZE) {
    case BM_REG_CMD: return bm->cmd;
    case BM_REG_STATUS: return bm->status;
    case BM_REG_PRD: case BM_REG_PRD + 1: case BM_REG_PRD + 2: case BM_REG_PRD + 3:
        return (uint8_t)(bm->prd >> (8 * (off % 4)));
    default: return 0;
    }
}

static void bm_reg_write(struct ide_ctrl *ide, unsigned off, uint8_t v)
{
    struct ide_channel *ch = &ide->ch[off / BM_CHAN_SIZE];
    struct bmdma_state *bm = &ch->s.bm;
    unsigned sh;

    switch (off % BM_CHAN_SIZE) {
    case BM_REG_CMD:
        cmd_write(ch, v);
        break;
    case BM_REG_STATUS:
        bm->status = (uint8_t)((bm->status & ~(BM_ST_CAP0 | BM_ST_CAP1)) | (v & (BM_ST_CAP0 | BM_ST_CAP1)));
        bm->status &= (uint8_t)~(v & (BM_ST_ERROR | BM_ST_INTR));
        break;
    case BM_REG_PRD: case BM_REG_PRD + 1: case BM_REG_PRD + 2: case BM_REG_PRD + 3:
        sh = 8 * (off % 4);
        bm->prd = (bm->prd & ~(0xffu << sh)) | (uint32_t)v << sh;
        bm->prd &= ~3u;
        break;
    default:
        break;
    }
}

static uint64_t bm_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size && off + i < 2 * BM_CHAN_SIZE; i++)
        v |= (uint64_t)bm_reg_read(opaque, (unsigned)off + i) << (8 * i);
    return v;
}

static void bm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    /* Address bytes first, command last: a dword write to 0 never mixes. */
    for (unsigned i = 0; i < size && off + i < 2 * BM_CHAN_SIZE; i++)
        bm_reg_write(opaque, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

const struct io_ops bmdma_ops = { .read = bm_read, .write = bm_write };
