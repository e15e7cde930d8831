/* PIIX bus-master IDE DMA (BAR4, 16 bytes: per channel command, status
 * and PRD table address). A transfer runs to completion as soon as both
 * the drive has a DMA command and the guest has set START. The PRD table
 * is guest memory: each entry is read through the accelerator (which
 * refuses anything outside RAM), and the walk stops after PRD_MAX_ENTRIES
 * entries whatever the table says, so a table without EOT, one that runs
 * past RAM or one that is rewritten under us ends in an error status. */
#include "dm/ide.h"

#include <errno.h>
#include <string.h>

#include "dm/accel.h"
#include "dm/block.h"
#include "dm/log.h"
#include "dm/machine.h"

#define PCI_CMD_MASTER 0x04

struct prd {
    uint32_t addr;
    uint32_t len;           /* 1..65536 */
    bool eot;
};

static int prd_fetch(struct ide_ctrl *ide, uint64_t at, struct prd *e)
{
    uint8_t raw[8];

    if (!ide->m || !ide->m->accel || accel_mem_read(ide->m->accel, at, raw, sizeof(raw)) < 0)
        return -1;
    e->addr = ((uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
               (uint32_t)raw[3] << 24) & ~1u;
    e->len = ((uint32_t)raw[4] | (uint32_t)raw[5] << 8) & 0xfffe;
    if (!e->len)
        e->len = 0x10000;
    e->eot = raw[7] & 0x80;
    return 0;
}

/* One PRD entry's worth of data between the drive and guest memory. */
static int move_chunk(struct ide_drive *d, uint64_t gpa, uint32_t n, uint8_t *err_r)
{
    struct ide_ctrl *ide = d->ch->ctrl;
    struct ide_drive_state *s = d->s;
    struct accel *a = ide->m->accel;
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

static void dma_run(struct ide_channel *ch, struct ide_drive *d)
{
    struct ide_ctrl *ide = ch->ctrl;
    struct bmdma_state *bm = &ch->s.bm;
    uint64_t at = bm->prd;
    struct prd e = { 0, 0, false };
    uint8_t err = ER_ABRT;
    bool exact_eot = false;
    unsigned n;

    if (!(ide->pci.config[0x04] & PCI_CMD_MASTER) || !ide->m || !ide->m->accel) {
        log_guest("ide: bus master DMA with bus mastering disabled");
        goto fail;
    }
    for (n = 0; bytes_left(d->s) > 0; n++) {
        uint64_t left = bytes_left(d->s);
        uint32_t chunk;

        if (n >= PRD_MAX_ENTRIES || e.eot) {
            log_guest("ide: PRD table at 0x%x is shorter than the transfer", bm->prd);
            goto fail;
        }
        if (prd_fetch(ide, at, &e) < 0) {
            log_guest("ide: PRD entry at 0x%llx is outside guest RAM", (unsigned long long)at);
            goto fail;
        }
        chunk = left < e.len ? (uint32_t)left : e.len;
        if (move_chunk(d, e.addr, chunk, &err) < 0) {
            log_guest("ide: DMA of %u bytes at 0x%x failed", chunk, e.addr);
            goto fail;
        }
        exact_eot = e.eot && chunk == e.len;
        at += 8;
    }
    /* A table longer than the transfer leaves ACTIVE set, as on the PIIX. */
    if (exact_eot)
        bm->status &= (uint8_t)~BM_ST_ACTIVE;
    ata_dma_done(d, true, 0);
    return;
fail:
    bm->status = (uint8_t)((bm->status & ~BM_ST_ACTIVE) | BM_ST_ERROR);
    ata_dma_done(d, false, err);
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
    struct bmdma_state *bm = &ide->ch[off / 8].s.bm;

    switch (off % 8) {
    case 0: return bm->cmd;
    case 2: return bm->status;
    case 4: case 5: case 6: case 7: return (uint8_t)(bm->prd >> (8 * (off % 4)));
    default: return 0;
    }
}

static void bm_reg_write(struct ide_ctrl *ide, unsigned off, uint8_t v)
{
    struct ide_channel *ch = &ide->ch[off / 8];
    struct bmdma_state *bm = &ch->s.bm;
    unsigned sh;

    switch (off % 8) {
    case 0:
        cmd_write(ch, v);
        break;
    case 2:
        bm->status = (uint8_t)((bm->status & ~(BM_ST_CAP0 | BM_ST_CAP1)) | (v & (BM_ST_CAP0 | BM_ST_CAP1)));
        bm->status &= (uint8_t)~(v & (BM_ST_ERROR | BM_ST_INTR));
        break;
    case 4: case 5: case 6: case 7:
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

    for (unsigned i = 0; i < size && off + i < 16; i++)
        v |= (uint64_t)bm_reg_read(opaque, (unsigned)off + i) << (8 * i);
    return v;
}

static void bm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    /* Address bytes first, command last: a dword write to 0 never mixes. */
    for (unsigned i = 0; i < size && off + i < 16; i++)
        bm_reg_write(opaque, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

const struct io_ops bmdma_ops = { .read = bm_read, .write = bm_write };
