/* PIIX3 IDE, PCI 00:01.1 (8086:7010, class 01:01:80: legacy channels,
 * bus master): the two legacy channels' task-file registers, device
 * control, interrupts, reset, the PCI function, per-channel state
 * sections and the media operations QMP uses. Commands are in dm/storage/ata.c
 * and dm/storage/atapi.c, the bus master in dm/storage/bmdma.c. Every value the guest
 * writes is hostile: registers are plain bytes, windows are bounded by
 * IDE_BUF_SIZE, and the data port only ever moves inside [pos, end). */
#include "dm/storage/ide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dm/core/irq.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"
#include "dm/storage/block.h"

static const struct {
    uint16_t cmd, ctl;
    const char *cmd_name, *ctl_name, *state_name;
} chan_hw[2] = {
    { 0x1f0, 0x3f6, "ide0-cmd", "ide0-ctl", "piix3-ide.0" },
    { 0x170, 0x376, "ide1-cmd", "ide1-ctl", "piix3-ide.1" },
};

struct ide_drive *ide_selected(struct ide_channel *ch)
{
    return &ch->drive[ch->s.unit & 1];
}

struct ide_drive *ide_drive_at(struct ide_ctrl *ide, int index)
{
    if (!ide || index < 0 || index >= CFG_MAX_DRIVES)
        return NULL;
    return &ide->ch[index / 2].drive[index % 2];
}

struct ide_drive *ide_find_drive(struct ide_ctrl *ide, const char *id)
{
    for (int i = 0; ide && id && i < CFG_MAX_DRIVES; i++) {
        struct ide_drive *d = ide_drive_at(ide, i);

        if (d->s->present && !strcmp(d->id, id))
            return d;
    }
    return NULL;
}

/* ---- interrupts -------------------------------------------------------- */

static void drive_line(struct ide_channel *ch, bool level)
{
    ch->irq_level = level;
    irq_set(&ch->irq, level);
}

void ide_update_irq(struct ide_channel *ch)
{
    bool level = ch->s.irq_pending && !(ch->s.devctl & DC_NIEN);

    if (level != ch->irq_level)
        drive_line(ch, level);
}

void ide_raise_irq(struct ide_drive *d)
{
    struct ide_channel *ch = d->ch;

    ch->s.irq_pending = 1;
    ch->s.bm.status |= BM_ST_INTR;
    ide_update_irq(ch);
}

/* ---- drive state helpers --------------------------------------------- */

void ide_set_signature(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    s->nsector = 1;
    s->sector = 1;
    s->lcyl = s->cdrom ? SIG_ATAPI_MID : 0;
    s->hcyl = s->cdrom ? SIG_ATAPI_HIGH : 0;
    s->hob_nsector = s->hob_sector = s->hob_lcyl = s->hob_hcyl = 0;
    s->select = (uint8_t)(DEV_OBS | ((d->index & 1) ? DEV_DEV : 0));
}

void ide_xfer_stop(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    s->xfer = XF_NONE;
    s->src = SRC_BUF;
    s->pos = s->end = s->total = 0;
    s->disk_left = 0;
    s->status &= (uint8_t)~ST_DRQ;
}

void ide_pio_window(struct ide_drive *d, enum ide_xfer x, uint32_t len)
{
    struct ide_drive_state *s = d->s;

    if (len > IDE_BUF_SIZE)
        len = IDE_BUF_SIZE;
    s->xfer = (uint8_t)x;
    s->pos = 0;
    s->end = len;
    s->status = ST_DRDY | ST_DSC | ST_DRQ;
}

/* Power-on/hardware reset (hard) or SRST / DEVICE RESET (soft). */
static void drive_reset(struct ide_drive *d, bool hard)
{
    struct ide_drive_state *s = d->s;

    if (!s->present)
        return;
    ide_xfer_stop(d);
    s->feature = s->hob_feature = 0;
    s->cmd = 0;
    s->lba48 = 0;
    s->atapi_dma = 0;
    ide_set_signature(d);
    s->error = DIAG_PASSED;
    s->status = s->cdrom ? 0 : ST_DRDY | ST_DSC;
    s->mult = IDE_MAX_MULT;
    s->heads = d->heads;
    s->spt = d->spt;
    if (hard) {
        s->wce = 1;
        s->pio_mode = 4;
        s->mdma_mode = 2;
        s->udma_mode = IDE_MODE_NONE;
        s->sense_key = s->asc = s->ascq = 0;
        s->locked = 0;
        s->event = MEV_NONE;
        s->ua_pending = 0;
    }
}

/* ---- task-file registers --------------------------------------------- */

static uint8_t reg_read(struct ide_channel *ch, unsigned reg)
{
    struct ide_drive_state *s = ide_selected(ch)->s;
    bool hob = ch->s.devctl & DC_HOB;

    if (!s->present)
        return 0;
    switch (reg) {
    case ATA_REG_ERROR: return hob ? s->hob_feature : s->error;
    case ATA_REG_NSECTOR: return hob ? s->hob_nsector : s->nsector;
    case ATA_REG_LBA_LOW: return hob ? s->hob_sector : s->sector;
    case ATA_REG_LBA_MID: return hob ? s->hob_lcyl : s->lcyl;
    case ATA_REG_LBA_HIGH: return hob ? s->hob_hcyl : s->hcyl;
    case ATA_REG_DEVICE: return s->select;
    case ATA_REG_STATUS:
        ch->s.irq_pending = 0;
        ide_update_irq(ch);
        return s->status;
    default:
        return 0xff;
    }
}

/* Register writes reach both devices: the task file is shared on the cable. */
static void reg_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    struct ide_drive *d;
    int u;

    bool task_file = reg >= ATA_REG_FEATURE && reg <= ATA_REG_DEVICE;

    if (task_file)
        ch->s.devctl &= (uint8_t)~DC_HOB;
    for (u = 0; u < 2 && task_file; u++) {
        struct ide_drive_state *s = &ch->s.drive[u];

        switch (reg) {
        case ATA_REG_FEATURE: s->hob_feature = s->feature; s->feature = v; break;
        case ATA_REG_NSECTOR: s->hob_nsector = s->nsector; s->nsector = v; break;
        case ATA_REG_LBA_LOW: s->hob_sector = s->sector; s->sector = v; break;
        case ATA_REG_LBA_MID: s->hob_lcyl = s->lcyl; s->lcyl = v; break;
        case ATA_REG_LBA_HIGH: s->hob_hcyl = s->hcyl; s->hcyl = v; break;
        case ATA_REG_DEVICE: s->select = (uint8_t)((v & ~DEV_DEV) | DEV_OBS | (u ? DEV_DEV : 0)); break;
        }
    }
    if (reg == ATA_REG_DEVICE) {
        ch->s.unit = (v & DEV_DEV) ? 1 : 0;
        return;
    }
    if (reg != ATA_REG_COMMAND)
        return;
    d = ide_selected(ch);
    /* Commands to a device that is not there are not seen by anyone. */
    if (!d->s->present)
        return;
    ch->s.irq_pending = 0;
    ide_update_irq(ch);
    ata_exec(d, v);
}

static void devctl_write(struct ide_channel *ch, uint8_t v)
{
    bool was_reset = ch->s.devctl & DC_SRST;

    ch->s.devctl = v;
    if ((v & DC_SRST) && !was_reset) {
        for (int u = 0; u < 2; u++) {
            if (!ch->s.drive[u].present)
                continue;
            ide_xfer_stop(&ch->drive[u]);
            ch->s.drive[u].status = ST_BSY | ST_DSC;
            ch->s.drive[u].error = DIAG_PASSED;
        }
        ch->s.irq_pending = 0;
    } else if (!(v & DC_SRST) && was_reset) {
        for (int u = 0; u < 2; u++)
            drive_reset(&ch->drive[u], false);
        ch->s.unit = 0;
    }
    ide_update_irq(ch);
}

/* ---- the data port ---------------------------------------------------- */

static bool pio_active_in(const struct ide_drive_state *s)
{
    return s->present && s->xfer == XF_PIO_IN && (s->status & ST_DRQ) && s->pos < s->end &&
           s->end <= IDE_BUF_SIZE;
}

static bool pio_active_out(const struct ide_drive_state *s)
{
    return s->present && (s->xfer == XF_PIO_OUT || s->xfer == XF_PACKET) && (s->status & ST_DRQ) &&
           s->pos < s->end && s->end <= IDE_BUF_SIZE;
}

/* Move up to n (2 or 4) bytes; a window that runs out hands over to the
 * command (next DRQ block or completion). Bytes past the window read 0. */
static uint32_t data_read(struct ide_channel *ch, unsigned n)
{
    struct ide_drive *d = ide_selected(ch);
    struct ide_drive_state *s = d->s;
    uint32_t v = 0;
    unsigned i;

    if (!pio_active_in(s))
        return 0;
    for (i = 0; i < n && s->pos < s->end; i++)
        v |= (uint32_t)s->buf[s->pos++] << (8 * i);
    if (s->pos >= s->end)
        ide_pio_done(d);
    return v;
}

static void data_write(struct ide_channel *ch, uint32_t v, unsigned n)
{
    struct ide_drive *d = ide_selected(ch);
    struct ide_drive_state *s = d->s;
    unsigned i;

    if (!pio_active_out(s))
        return;
    for (i = 0; i < n && s->pos < s->end; i++)
        s->buf[s->pos++] = (uint8_t)(v >> (8 * i));
    if (s->pos >= s->end)
        ide_pio_done(d);
}

static uint64_t cmd_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide_channel *ch = opaque;
    uint64_t v = 0;

    if (off == ATA_REG_DATA) {
        /* 16- and 32-bit PIO; a byte access to the data port is not a
         * transfer (reads 0xff), as on QEMU's PIIX. */
        if (size == 1)
            return 0xff;
        if (size == 8)
            return data_read(ch, 4) | (uint64_t)data_read(ch, 4) << 32;
        return data_read(ch, size);
    }
    for (unsigned i = 0; i < size && off + i < ATA_REG_COUNT; i++)
        v |= (uint64_t)reg_read(ch, (unsigned)off + i) << (8 * i);
    return v;
}

static void cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ide_channel *ch = opaque;

    if (off == ATA_REG_DATA) {
        if (size == 2 || size == 4) {
            data_write(ch, (uint32_t)val, size);
        } else if (size == 8) {
            data_write(ch, (uint32_t)val, 4);
            data_write(ch, (uint32_t)(val >> 32), 4);
        }
        return;
    }
    for (unsigned i = 0; i < size && off + i < ATA_REG_COUNT; i++)
        reg_write(ch, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide_channel *ch = opaque;
    struct ide_drive_state *s = ide_selected(ch)->s;

    /* Alternate status: the status without acknowledging the interrupt. */
    if (off != ATA_REG_ALTSTATUS)
        return 0xff;
    return s->present ? s->status : 0;
}

static void ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    if (off == ATA_REG_DEVCTL)
        devctl_write(opaque, (uint8_t)val);
}

static const struct io_ops cmd_ops = { .read = cmd_read, .write = cmd_write };
static const struct io_ops ctl_ops = { .read = ctl_read, .write = ctl_write };

/* ---- media ------------------------------------------------------------ */

bool ide_drive_has_medium(const struct ide_drive *d)
{
    return d && d->blk && !d->s->tray_open;
}

static void tray_event(struct ide_drive *d, bool open)
{
    struct ide_ctrl *ide = d->ch->ctrl;

    if (ide->tray_moved)
        ide->tray_moved(ide->tray_opaque, d->id, open);
}

void ide_ctrl_set_tray_notify(struct ide_ctrl *ide, ide_tray_fn *fn, void *opaque)
{
    ide->tray_moved = fn;
    ide->tray_opaque = opaque;
}

void ide_tray_move(struct ide_drive *d, bool open)
{
    if (!d->s->cdrom || (bool)d->s->tray_open == open)
        return;
    d->s->tray_open = open;
    /* A medium left in an opened tray is gone for the guest until it
     * closes again: report it as removed, then as new. */
    if (d->blk) {
        d->s->event = open ? MEV_REMOVAL : MEV_NEW_MEDIA;
        if (!open)
            atapi_medium_changed(d);
    }
    tray_event(d, open);
}

/* A transfer streaming from the medium being taken away ends in NOT READY. */
static void cancel_disk_xfer(struct ide_drive *d)
{
    if (d->s->xfer != XF_NONE && d->s->src == SRC_DISK)
        atapi_error(d, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
}

int ide_media_eject(struct ide_drive *d, bool force)
{
    struct ide_drive_state *s = d->s;

    if (!s->cdrom)
        return -1;
    if (s->locked && !force) {
        /* Ask the guest (GET EVENT STATUS NOTIFICATION) to let go. */
        s->event = MEV_EJECT_REQUEST;
        return -2;
    }
    s->locked = 0;
    cancel_disk_xfer(d);
    ide_tray_move(d, true);
    if (d->blk)
        block_stats_add(&d->retired, &d->blk->st);
    block_close(d->blk);
    d->blk = NULL;
    d->sectors = 0;
    s->medium = 0;
    return 0;
}

int ide_media_insert(struct ide_drive *d, struct block *blk)
{
    struct ide_drive_state *s = d->s;

    if (!s->cdrom) {
        block_close(blk);
        return -1;
    }
    cancel_disk_xfer(d);
    if (d->blk) {
        block_stats_add(&d->retired, &d->blk->st);
        block_close(d->blk);
        d->blk = NULL;
    }
    /* The tray opens (if it was not) to swap the medium, then closes. */
    ide_tray_move(d, true);
    d->blk = blk;
    d->sectors = block_sectors(blk, CD_SECTOR);
    s->medium = 1;
    s->readonly = 1;
    ide_tray_move(d, false);
    return 0;
}

void ide_ctrl_unplug_disks(struct ide_ctrl *ide, bool aux_only)
{
    for (int i = aux_only ? 1 : 0; ide && i < CFG_MAX_DRIVES; i++) {
        struct ide_drive *d = ide_drive_at(ide, i);

        if (!d->s->present || d->s->cdrom)
            continue;
        /* The device is gone from the cable; its medium stays open so the
         * saved "media" section still matches the command line. */
        memset(d->s, 0, sizeof(*d->s));
        if (d->ch->s.irq_pending && ide_selected(d->ch) == d)
            d->ch->s.irq_pending = 0;
        ide_update_irq(d->ch);
    }
}

static void media_provider(void *opaque, int index, struct vmstate_media *out)
{
    struct ide_drive *d = ide_drive_at(opaque, index);

    memset(out, 0, sizeof(*out));
    if (!d || !d->configured)
        return;
    out->present = true;
    out->cdrom = d->configured_cdrom;
    out->inserted = d->blk != NULL;
    out->readonly = d->blk ? d->blk->readonly : d->configured_cdrom;
}

/* ---- state sections --------------------------------------------------- */

static uint32_t live_len(const void *state)
{
    const struct ide_drive_state *s = state;
    uint32_t n = s->end > s->total ? s->end : s->total;

    return n > IDE_BUF_SIZE ? IDE_BUF_SIZE : n;
}

static bool valid_pio_mode(uint64_t v)
{
    return v <= 4 || v == 0xff;
}

static bool valid_mdma_mode(uint64_t v)
{
    return v <= 2 || v == 0xff;
}

static bool valid_udma_mode(uint64_t v)
{
    return v <= 5 || v == 0xff;
}

/* One drive in a channel section: what each field may hold on its own.
 * Only the live part of buf is saved. */
#define DRV(f, ...) VMF_UINT(struct ide_drive_state, f, __VA_ARGS__)
static const struct vm_field drive_fields[] = {
    DRV(present, VM_BOOL), DRV(cdrom, VM_BOOL),
    DRV(feature), DRV(nsector), DRV(sector), DRV(lcyl), DRV(hcyl), DRV(select),
    DRV(hob_feature), DRV(hob_nsector), DRV(hob_sector), DRV(hob_lcyl), DRV(hob_hcyl),
    DRV(status), DRV(error), DRV(cmd),
    DRV(xfer, VM_MAX(XF_MAX - 1)), DRV(src, VM_MAX(SRC_MAX - 1)),
    DRV(lba48, VM_BOOL), DRV(atapi_dma, VM_BOOL), DRV(wce, VM_BOOL),
    DRV(pio_mode, VM_VALID(valid_pio_mode)), DRV(mdma_mode, VM_VALID(valid_mdma_mode)),
    DRV(udma_mode, VM_VALID(valid_udma_mode)),
    DRV(sense_key, VM_MAX(0xf)), DRV(asc), DRV(ascq), DRV(ua_pending, VM_BOOL),
    DRV(tray_open, VM_BOOL), DRV(locked, VM_BOOL), DRV(medium, VM_BOOL), DRV(readonly, VM_BOOL),
    DRV(event, VM_MAX(MEV_REMOVAL)),
    DRV(mult, VM_MAX(IDE_MAX_MULT)), DRV(heads), DRV(spt),
    DRV(pos), DRV(end, VM_MAX(IDE_BUF_SIZE)), DRV(total, VM_MAX(IDE_BUF_SIZE)),
    DRV(block, VM_MAX(IDE_BUF_SIZE)), DRV(bcl, VM_MAX(0xffff)),
    DRV(next_lba), DRV(disk_off), DRV(disk_left),
    VMF_ARRAY(struct ide_drive_state, packet),
    VMF_LIVEBUF(struct ide_drive_state, buf, live_len),
    VMF_END
};
#undef DRV

/* A channel section ("piix3-ide.N"): both drives, the bus master, the
 * channel's own registers. */
static const struct vm_field chan_fields[] = {
    VMF_STRUCTS(struct ide_chan_state, drive, drive_fields),
    VMF_UINT(struct ide_chan_state, bm.cmd, VM_BITS(BM_CMD_START | BM_CMD_READ)),
    VMF_UINT(struct ide_chan_state, bm.status,
             VM_BITS(BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR | BM_ST_CAP0 | BM_ST_CAP1)),
    VMF_UINT(struct ide_chan_state, bm.prd, VM_BITS(~3u)),
    VMF_UINT(struct ide_chan_state, unit, VM_BOOL),
    VMF_UINT(struct ide_chan_state, devctl),
    VMF_UINT(struct ide_chan_state, irq_pending, VM_BOOL),
    VMF_END
};

static int bad(char *err, size_t errlen, int u, const char *what)
{
    snprintf(err, errlen, "ide: drive %d: invalid %s", u, what);
    return -1;
}

/* What ties a drive's fields together, and its identity: now is the
 * drive this machine has. */
static int drive_check(const struct ide_drive_state *now, const struct ide_drive_state *s, int u,
                       char *err, size_t errlen)
{
    /* A disk may be absent in the stream (Xen platform unplug), never
     * present where this machine has none or of another kind. Unplug
     * leaves CD-ROM drives alone and clears the kind of what it removes. */
    if (s->present && (!now->present || s->cdrom != now->cdrom))
        return bad(err, errlen, u, "device kind (not the drive this machine has)");
    if (!s->present && (now->cdrom || s->cdrom))
        return bad(err, errlen, u, "device kind (a CD-ROM drive is never unplugged)");
    if (!s->present && s->xfer != XF_NONE)
        return bad(err, errlen, u, "transfer state");
    if (s->present && (s->heads < 1 || s->heads > 16 || s->spt < 1))
        return bad(err, errlen, u, "geometry or multiple count");
    if (s->pos > s->end || (s->src == SRC_BUF && s->end > s->total && s->xfer != XF_PIO_OUT))
        return bad(err, errlen, u, "PIO window");
    if (s->block % IDE_SECTOR)
        return bad(err, errlen, u, "block size");
    if (s->disk_off + s->disk_left < s->disk_off)
        return bad(err, errlen, u, "disk range");
    return 0;
}

static int chan_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct ide_chan_state *now = live;
    const struct ide_chan_state *cs = staging;

    for (int u = 0; u < 2; u++)
        if (drive_check(&now->drive[u], &cs->drive[u], u, err, errlen) < 0)
            return -1;
    return 0;
}

/* Media come from the restore argv: the saved flags follow what is there. */
static void chan_post_load(void *opaque)
{
    struct ide_channel *ch = opaque;

    for (int u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];

        if (!d->s->present)
            continue;
        d->s->medium = d->blk != NULL;
        d->s->readonly = d->blk ? d->blk->readonly : d->s->cdrom;
    }
    drive_line(ch, ch->s.irq_pending && !(ch->s.devctl & DC_NIEN));
}

/* ---- construction ----------------------------------------------------- */

/* As QEMU guesses it (dm/storage/hd-geometry.c): from the MBR's partition table
 * when it gives one, else from the size. The CMOS tells the firmware the
 * same geometry and translation (ide_ctrl_disk_geometry()). */
static void guess_geometry(struct ide_drive *d)
{
    uint8_t mbr[IDE_SECTOR];
    bool have_mbr = false;
    struct hd_geometry g;

    if (!d->s->cdrom && d->blk && d->sectors > 0) {
        /* our read, not the guest's: query-blockstats counts the guest's */
        struct block_stats st = d->blk->st;

        have_mbr = block_read(d->blk, 0, mbr, sizeof(mbr)) == 0;
        d->blk->st = st;
    }
    hd_geometry_guess(have_mbr ? mbr : NULL, d->sectors, &g);
    d->cyls = g.cyls;
    d->heads = g.heads;
    d->spt = g.spt;
    d->bios_trans = g.trans;
}

int ide_ctrl_disk_geometry(struct ide_ctrl *ide, int index, struct hd_geometry *g)
{
    struct ide_drive *d;

    if (!ide || index < 0 || index >= CFG_MAX_DRIVES)
        return -1;
    d = ide_drive_at(ide, index);
    if (!d || !d->configured || d->configured_cdrom || !d->blk)
        return -1;
    g->cyls = d->cyls;
    g->heads = d->heads;
    g->spt = d->spt;
    g->trans = d->bios_trans;
    return 0;
}

static int drive_init(struct ide_ctrl *ide, int index, const struct drive_spec *ds,
                      char *err, size_t errlen)
{
    struct ide_drive *d = ide_drive_at(ide, index);
    struct ide_drive_state *s = d->s;
    char msg[256];

    s->present = 1;
    s->cdrom = ds->media == MEDIA_CDROM;
    d->configured = true;
    d->configured_cdrom = s->cdrom;
    snprintf(d->id, sizeof(d->id), "%s", ds->id);
    snprintf(d->serial, sizeof(d->serial), "XSDM%05d", index + 1);
    if (ds->file[0]) {
        d->blk = block_open(ds->file, "raw", ds->readonly || s->cdrom, false, msg, sizeof(msg));
        if (!d->blk) {
            snprintf(err, errlen, "drive %s: %s", ds->id, msg);
            return -1;
        }
        d->sectors = block_sectors(d->blk, s->cdrom ? CD_SECTOR : IDE_SECTOR);
    }
    s->medium = d->blk != NULL;
    s->readonly = d->blk ? d->blk->readonly : s->cdrom;
    guess_geometry(d);
    d->ch->has_drives = true;
    return 0;
}

/* The controller holds 320 KiB of transfer buffers (four drives' PIO
 * windows and the DMA bounce buffer). Fresh anonymous pages are zero and
 * cost nothing until touched, where calloc() may clear them all at start-up
 * (one page fault each, and resident ever after, though a guest may never
 * do IDE I/O). */
static struct ide_ctrl *ctrl_alloc(void)
{
    void *p = mmap(NULL, sizeof(struct ide_ctrl), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

struct ide_ctrl *ide_ctrl_new(struct iobus *io, struct pci_bus *pci, struct accel *accel,
                              const struct irq_line irq[2], const struct xsdm_config *cfg,
                              char *err, size_t errlen)
{
    struct ide_ctrl *ide = ctrl_alloc();
    int c, i;

    if (!ide) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ide->io = io;
    ide->accel = accel;
    for (c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];

        ch->ctrl = ide;
        ch->index = c;
        ch->irq = irq[c];
        for (i = 0; i < 2; i++) {
            ch->drive[i].s = &ch->s.drive[i];
            ch->drive[i].ch = ch;
            ch->drive[i].index = c * 2 + i;
        }
        io_region_init(&ch->cmd_io, IO_PIO, chan_hw[c].cmd_name, &cmd_ops, ch, ATA_REG_COUNT);
        io_region_init(&ch->ctl_io, IO_PIO, chan_hw[c].ctl_name, &ctl_ops, ch, 1);
    }
    for (i = 0; cfg && i < CFG_MAX_DRIVES; i++)
        if (cfg->drives[i].present && drive_init(ide, i, &cfg->drives[i], err, errlen) < 0)
            goto fail;

    pci_dev_init(&ide->pci, "piix3-ide", 1, 1, 0x8086, 0x7010, 0x010180, 0);
    ide->pci.config[0x06] = 0x80;           /* fast back-to-back, medium DEVSEL */
    ide->pci.config[0x07] = 0x02;
    for (i = 0x40; i <= 0x44; i++)          /* IDE timing registers */
        ide->pci.wmask[i] = 0xff;
    ide->pci.opaque = ide;
    io_region_init(&ide->bm_io, IO_PIO, "piix3-bmdma", &bmdma_ops, ide, 2 * BM_CHAN_SIZE);
    pci_dev_set_bar(&ide->pci, 4, true, 16, &ide->bm_io);

    for (c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        struct vmstate_dev vd = {
            .name = chan_hw[c].state_name, .version = 1, .state = &ch->s,
            .state_size = sizeof(ch->s), .fields = chan_fields, .check = chan_check,
            .post_load = chan_post_load, .opaque = ch,
        };

        for (i = 0; i < 2; i++)
            drive_reset(&ch->drive[i], true);
        if (io && (io_region_map(io, &ch->cmd_io, chan_hw[c].cmd) < 0 ||
                   io_region_map(io, &ch->ctl_io, chan_hw[c].ctl) < 0)) {
            snprintf(err, errlen, "ports 0x%x/0x%x are taken", chan_hw[c].cmd, chan_hw[c].ctl);
            goto fail;
        }
        if (vmstate_register(&vd) < 0) {
            snprintf(err, errlen, "cannot register state section %s", chan_hw[c].state_name);
            goto fail;
        }
    }
    if (pci && pci_register(pci, &ide->pci) < 0) {
        snprintf(err, errlen, "cannot register PCI function 00:01.1");
        goto fail;
    }
    vmstate_set_media_provider(media_provider, ide);
    return ide;
fail:
    ide_ctrl_free(ide);
    return NULL;
}

void ide_ctrl_reset(struct ide_ctrl *ide)
{
    if (!ide)
        return;
    for (int c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];

        memset(&ch->s.bm, 0, sizeof(ch->s.bm));
        ch->s.unit = 0;
        ch->s.devctl = 0;
        ch->s.irq_pending = 0;
        for (int i = 0; i < 2; i++)
            drive_reset(&ch->drive[i], true);
        ide_update_irq(ch);
    }
}

/* The PCI function stays registered with the bus (the bus has no
 * unregister): machine_free() frees the bus first. */
void ide_ctrl_free(struct ide_ctrl *ide)
{
    if (!ide)
        return;
    vmstate_set_media_provider(NULL, NULL);
    for (int c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];

        if (ide->io) {
            if (ch->cmd_io.mapped)
                io_region_unmap(ide->io, &ch->cmd_io);
            if (ch->ctl_io.mapped)
                io_region_unmap(ide->io, &ch->ctl_io);
        }
        for (int i = 0; i < 2; i++)
            block_close(ch->drive[i].blk);
    }
    if (ide->io && ide->bm_io.mapped)
        io_region_unmap(ide->io, &ide->bm_io);
    ide->pci.bars[4].region = NULL;
    munmap(ide, sizeof(*ide));
}
