/* PIIX3 IDE, PCI 00:01.1 (8086:7010, class 01:01:80: legacy channels,
 * bus master): the two legacy channels' task-file registers, device
 * control, interrupts, reset, the PCI function, per-channel state
 * sections and the media operations QMP uses. Commands are in dm/ata.c
 * and dm/atapi.c, the bus master in dm/bmdma.c. Every value the guest
 * writes is hostile: registers are plain bytes, windows are bounded by
 * IDE_BUF_SIZE, and the data port only ever moves inside [pos, end). */
#include "dm/ide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dm/block.h"
#include "dm/log.h"
#include "dm/machine.h"
#include "dm/qmp.h"
#include "dm/vmstate.h"

static const struct {
    uint16_t cmd, ctl;
    unsigned irq;
    const char *cmd_name, *ctl_name, *state_name;
} chan_hw[2] = {
    { 0x1f0, 0x3f6, 14, "ide0-cmd", "ide0-ctl", "piix3-ide.0" },
    { 0x170, 0x376, 15, "ide1-cmd", "ide1-ctl", "piix3-ide.1" },
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
    if (ch->ctrl->m)
        machine_set_isa_irq(ch->ctrl->m, ch->irq, level);
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
    s->lcyl = s->cdrom ? 0x14 : 0;
    s->hcyl = s->cdrom ? 0xeb : 0;
    s->hob_nsector = s->hob_sector = s->hob_lcyl = s->hob_hcyl = 0;
    s->select = (uint8_t)(0xa0 | (d->index & 1) << 4);
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
    s->error = 0x01;                        /* diagnostics passed */
    s->status = s->cdrom ? 0 : ST_DRDY | ST_DSC;
    s->mult = IDE_MAX_MULT;
    s->heads = d->heads;
    s->spt = d->spt;
    if (hard) {
        s->wce = 1;
        s->pio_mode = 4;
        s->mdma_mode = 2;
        s->udma_mode = 0xff;
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
    case 1: return hob ? s->hob_feature : s->error;
    case 2: return hob ? s->hob_nsector : s->nsector;
    case 3: return hob ? s->hob_sector : s->sector;
    case 4: return hob ? s->hob_lcyl : s->lcyl;
    case 5: return hob ? s->hob_hcyl : s->hcyl;
    case 6: return s->select;
    case 7:
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

    if (reg >= 1 && reg <= 6)
        ch->s.devctl &= (uint8_t)~DC_HOB;
    for (u = 0; u < 2 && reg >= 1 && reg <= 6; u++) {
        struct ide_drive_state *s = &ch->s.drive[u];

        switch (reg) {
        case 1: s->hob_feature = s->feature; s->feature = v; break;
        case 2: s->hob_nsector = s->nsector; s->nsector = v; break;
        case 3: s->hob_sector = s->sector; s->sector = v; break;
        case 4: s->hob_lcyl = s->lcyl; s->lcyl = v; break;
        case 5: s->hob_hcyl = s->hcyl; s->hcyl = v; break;
        case 6: s->select = (uint8_t)((v & ~0x10) | 0xa0 | u << 4); break;
        }
    }
    if (reg == 6) {
        ch->s.unit = (v >> 4) & 1;
        return;
    }
    if (reg != 7)
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
            ch->s.drive[u].error = 0x01;
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

    if (off == 0) {
        /* 16- and 32-bit PIO; a byte access to the data port is not a
         * transfer (reads 0xff), as on QEMU's PIIX. */
        if (size == 1)
            return 0xff;
        if (size == 8)
            return data_read(ch, 4) | (uint64_t)data_read(ch, 4) << 32;
        return data_read(ch, size);
    }
    for (unsigned i = 0; i < size && off + i < 8; i++)
        v |= (uint64_t)reg_read(ch, (unsigned)off + i) << (8 * i);
    return v;
}

static void cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ide_channel *ch = opaque;

    if (off == 0) {
        if (size == 2 || size == 4) {
            data_write(ch, (uint32_t)val, size);
        } else if (size == 8) {
            data_write(ch, (uint32_t)val, 4);
            data_write(ch, (uint32_t)(val >> 32), 4);
        }
        return;
    }
    for (unsigned i = 0; i < size && off + i < 8; i++)
        reg_write(ch, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide_channel *ch = opaque;
    struct ide_drive_state *s = ide_selected(ch)->s;

    /* Alternate status: the status without acknowledging the interrupt. */
    if (off != 0)
        return 0xff;
    return s->present ? s->status : 0;
}

static void ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    if (off == 0)
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
    qmp_event("DEVICE_TRAY_MOVED", json_pack("{s:s,s:s,s:b}", "device", d->id, "id", d->id,
                                             "tray-open", open));
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

#define DRIVE_U8(X) X(present) X(cdrom) X(feature) X(nsector) X(sector) X(lcyl) X(hcyl) \
    X(select) X(hob_feature) X(hob_nsector) X(hob_sector) X(hob_lcyl) X(hob_hcyl)        \
    X(status) X(error) X(cmd) X(xfer) X(src) X(lba48) X(atapi_dma) X(wce) X(pio_mode)    \
    X(mdma_mode) X(udma_mode) X(sense_key) X(asc) X(ascq) X(ua_pending) X(tray_open)    \
    X(locked) X(medium) X(readonly) X(event)
#define DRIVE_U16(X) X(mult) X(heads) X(spt)
#define DRIVE_U32(X) X(pos) X(end) X(total) X(block) X(bcl)
#define DRIVE_U64(X) X(next_lba) X(disk_off) X(disk_left)

static uint32_t live_len(const struct ide_drive_state *s)
{
    uint32_t n = s->end > s->total ? s->end : s->total;

    return n > IDE_BUF_SIZE ? IDE_BUF_SIZE : n;
}

static void chan_save(const void *state, struct vmwriter *w)
{
    const struct ide_chan_state *cs = state;

    for (int u = 0; u < 2; u++) {
        const struct ide_drive_state *s = &cs->drive[u];
        uint32_t n = live_len(s);

#define PUT8(f) vm_put_u8(w, s->f);
#define PUT16(f) vm_put_u16(w, s->f);
#define PUT32(f) vm_put_u32(w, s->f);
#define PUT64(f) vm_put_u64(w, s->f);
        DRIVE_U8(PUT8) DRIVE_U16(PUT16) DRIVE_U32(PUT32) DRIVE_U64(PUT64)
        vm_put(w, s->packet, sizeof(s->packet));
        vm_put_u32(w, n);
        vm_put(w, s->buf, n);
    }
    vm_put_u8(w, cs->bm.cmd);
    vm_put_u8(w, cs->bm.status);
    vm_put_u32(w, cs->bm.prd);
    vm_put_u8(w, cs->unit);
    vm_put_u8(w, cs->devctl);
    vm_put_u8(w, cs->irq_pending);
}

static int bad(char *err, size_t errlen, int u, const char *what)
{
    snprintf(err, errlen, "ide: drive %d: invalid %s", u, what);
    return -1;
}

static bool is_bool(uint8_t v)
{
    return v <= 1;
}

static int drive_load(struct ide_drive_state *s, int u, struct vmreader *r, char *err, size_t errlen)
{
    uint8_t present = s->present, cdrom = s->cdrom;
    uint32_t n;

#define GET8(f) s->f = vm_get_u8(r);
#define GET16(f) s->f = vm_get_u16(r);
#define GET32(f) s->f = vm_get_u32(r);
#define GET64(f) s->f = vm_get_u64(r);
    DRIVE_U8(GET8) DRIVE_U16(GET16) DRIVE_U32(GET32) DRIVE_U64(GET64)
    vm_get(r, s->packet, sizeof(s->packet));
    n = vm_get_u32(r);
    if (r->err)
        return bad(err, errlen, u, "length (truncated section)");
    /* A disk may be absent in the stream (Xen platform unplug), never
     * present where this machine has none or of another kind. Unplug
     * leaves CD-ROM drives alone and clears the kind of what it removes. */
    if (s->present > 1 || (s->present && (!present || s->cdrom != cdrom)))
        return bad(err, errlen, u, "device kind (not the drive this machine has)");
    if (!s->present && (cdrom || s->cdrom))
        return bad(err, errlen, u, "device kind (a CD-ROM drive is never unplugged)");
    if (s->xfer >= XF_MAX || s->src >= SRC_MAX || (!s->present && s->xfer != XF_NONE))
        return bad(err, errlen, u, "transfer state");
    if (!is_bool(s->lba48) || !is_bool(s->atapi_dma) || !is_bool(s->wce) || !is_bool(s->ua_pending) ||
        !is_bool(s->tray_open) || !is_bool(s->locked) || !is_bool(s->medium) || !is_bool(s->readonly))
        return bad(err, errlen, u, "flag");
    if (s->event > MEV_REMOVAL || s->sense_key > 0xf)
        return bad(err, errlen, u, "sense or event");
    if ((s->pio_mode > 4 && s->pio_mode != 0xff) || (s->mdma_mode > 2 && s->mdma_mode != 0xff) ||
        (s->udma_mode > 5 && s->udma_mode != 0xff))
        return bad(err, errlen, u, "transfer mode");
    if (s->mult > IDE_MAX_MULT || (s->present && (s->heads < 1 || s->heads > 16 || s->spt < 1)))
        return bad(err, errlen, u, "geometry or multiple count");
    if (s->end > IDE_BUF_SIZE || s->pos > s->end || s->total > IDE_BUF_SIZE ||
        (s->src == SRC_BUF && s->end > s->total && s->xfer != XF_PIO_OUT))
        return bad(err, errlen, u, "PIO window");
    if (s->block > IDE_BUF_SIZE || s->block % IDE_SECTOR || s->bcl > 0xffff)
        return bad(err, errlen, u, "block size");
    if (s->disk_off + s->disk_left < s->disk_off)
        return bad(err, errlen, u, "disk range");
    if (n > IDE_BUF_SIZE || n < live_len(s))
        return bad(err, errlen, u, "buffer length");
    vm_get(r, s->buf, n);
    memset(s->buf + n, 0, sizeof(s->buf) - n);
    return r->err ? bad(err, errlen, u, "buffer (truncated section)") : 0;
}

static int chan_load(void *staging, struct vmreader *r, char *err, size_t errlen)
{
    struct ide_chan_state *cs = staging;

    for (int u = 0; u < 2; u++)
        if (drive_load(&cs->drive[u], u, r, err, errlen) < 0)
            return -1;
    cs->bm.cmd = vm_get_u8(r);
    cs->bm.status = vm_get_u8(r);
    cs->bm.prd = vm_get_u32(r);
    cs->unit = vm_get_u8(r);
    cs->devctl = vm_get_u8(r);
    cs->irq_pending = vm_get_u8(r);
    if (r->err) {
        snprintf(err, errlen, "ide: truncated channel section");
        return -1;
    }
    if ((cs->bm.cmd & ~(BM_CMD_START | BM_CMD_READ)) ||
        (cs->bm.status & ~(BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR | BM_ST_CAP0 | BM_ST_CAP1)) ||
        (cs->bm.prd & 3)) {
        snprintf(err, errlen, "ide: invalid bus-master registers");
        return -1;
    }
    if (cs->unit > 1 || cs->irq_pending > 1) {
        snprintf(err, errlen, "ide: invalid drive select or interrupt state");
        return -1;
    }
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

/* As QEMU guesses it (dm/hd-geometry.c): from the MBR's partition table
 * when it gives one, else from the size. The CMOS tells the firmware the
 * same geometry and translation (ide_ctrl_disk_geometry()). */
static void guess_geometry(struct ide_drive *d)
{
    uint8_t mbr[IDE_SECTOR];
    bool have_mbr = !d->s->cdrom && d->blk && d->sectors > 0 &&
                    block_read(d->blk, 0, mbr, sizeof(mbr)) == 0;
    struct hd_geometry g;

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

/* The controller holds 128 KiB of transfer buffers (four drives' PIO
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

struct ide_ctrl *ide_ctrl_new(struct machine *m, const struct xsdm_config *cfg, char *err, size_t errlen)
{
    struct ide_ctrl *ide = ctrl_alloc();
    int c, i;

    if (!ide) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ide->m = m;
    for (c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];

        ch->ctrl = ide;
        ch->index = c;
        ch->irq = chan_hw[c].irq;
        for (i = 0; i < 2; i++) {
            ch->drive[i].s = &ch->s.drive[i];
            ch->drive[i].ch = ch;
            ch->drive[i].index = c * 2 + i;
        }
        io_region_init(&ch->cmd_io, IO_PIO, chan_hw[c].cmd_name, &cmd_ops, ch, 8);
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
    io_region_init(&ide->bm_io, IO_PIO, "piix3-bmdma", &bmdma_ops, ide, 16);
    pci_dev_set_bar(&ide->pci, 4, true, 16, &ide->bm_io);

    for (c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        struct vmstate_dev vd = {
            .name = chan_hw[c].state_name, .version = 1, .state = &ch->s,
            .state_size = sizeof(ch->s), .save = chan_save, .load = chan_load,
            .post_load = chan_post_load, .opaque = ch,
        };

        for (i = 0; i < 2; i++)
            drive_reset(&ch->drive[i], true);
        if (m && (io_region_map(&m->bus, &ch->cmd_io, chan_hw[c].cmd) < 0 ||
                  io_region_map(&m->bus, &ch->ctl_io, chan_hw[c].ctl) < 0)) {
            snprintf(err, errlen, "ports 0x%x/0x%x are taken", chan_hw[c].cmd, chan_hw[c].ctl);
            goto fail;
        }
        if (vmstate_register(&vd) < 0) {
            snprintf(err, errlen, "cannot register state section %s", chan_hw[c].state_name);
            goto fail;
        }
    }
    if (m && m->pci && pci_register(m->pci, &ide->pci) < 0) {
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

        if (ide->m) {
            if (ch->cmd_io.mapped)
                io_region_unmap(&ide->m->bus, &ch->cmd_io);
            if (ch->ctl_io.mapped)
                io_region_unmap(&ide->m->bus, &ch->ctl_io);
        }
        for (int i = 0; i < 2; i++)
            block_close(ch->drive[i].blk);
    }
    if (ide->m && ide->bm_io.mapped)
        io_region_unmap(&ide->m->bus, &ide->bm_io);
    ide->pci.bars[4].region = NULL;
    munmap(ide, sizeof(*ide));
}
