/* PIIX3 IDE controller internals, shared by dm/storage/ide.c (channels, registers,
 * reset, state), dm/storage/ata.c (disk commands), dm/storage/atapi.c (CD-ROM packet
 * commands), dm/storage/bmdma.c (bus-master DMA) and dm/qmp/qmp-block.c (media).
 * Guest-visible state lives in the POD structs below, one vmstate section
 * per channel; everything else (backends, regions) is rebuilt from argv. */
#ifndef XSDM_IDE_H
#define XSDM_IDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/config.h"
#include "dm/core/iobus.h"
#include "dm/core/irq.h"
#include "dm/core/pci.h"
#include "dm/storage/block.h"
#include "dm/storage/hd-geometry.h"
#include "dm/storage/ide-regs.h"

struct accel;
struct ide_ctrl;

#define IDE_BUF_SIZE     (16 * 1024)  /* largest PIO window (also bounds a DRQ block) */
#define IDE_SECTOR       512
#define CD_SECTOR        2048
#define IDE_MAX_MULT     16           /* sectors per DRQ block, READ/WRITE MULTIPLE */
#define PRD_MAX_ENTRIES  8192         /* a 64 KiB table: more is a runaway table */
#define CD_MAX_BLOCKS    360000       /* 80 minutes: larger media report as DVD */
#define IDE_MODE_NONE    0xff         /* pio/mdma/udma_mode: none selected */

enum ide_xfer {
    XF_NONE,
    XF_PIO_IN,          /* device → host through the data port */
    XF_PIO_OUT,         /* host → device (ATA writes) */
    XF_PACKET,          /* host → device: the 12 command bytes of PACKET */
    XF_DMA_IN,          /* waiting for the bus master, device → memory */
    XF_DMA_OUT,         /* memory → device */
    XF_MAX
};

enum ide_src {
    SRC_BUF,            /* data are buf[pos..total) */
    SRC_DISK,           /* data stream from/to the medium at disk_off, disk_left to go */
    SRC_MAX
};

/* One drive's guest-visible state (POD, saved as is except buf's live part). */
struct ide_drive_state {
    uint8_t present, cdrom;                 /* identity: must match on load */
    uint8_t feature, nsector, sector, lcyl, hcyl, select;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t status, error, cmd;
    uint8_t xfer, src, lba48, atapi_dma;
    uint8_t wce;                            /* write cache enabled (else flush per write) */
    uint8_t pio_mode, mdma_mode, udma_mode; /* SETF_XFER_MODE; IDE_MODE_NONE = none selected */
    uint16_t mult;                          /* sectors per block for *MULTIPLE; 0 = disabled */
    uint16_t heads, spt;                    /* logical geometry (INITIALIZE DEVICE PARAMETERS) */
    uint32_t pos, end;                      /* PIO window in buf */
    uint32_t total;                         /* valid bytes in buf (SRC_BUF) */
    uint32_t block;                         /* bytes per DRQ block (ATA disk PIO) */
    uint32_t bcl;                           /* ATAPI byte count limit of this command */
    uint64_t next_lba;                      /* ATA: sector after the transfer (registers at the end) */
    uint64_t disk_off, disk_left;
    /* ATAPI */
    uint8_t sense_key, asc, ascq;
    uint8_t ua_pending;                     /* media changed: UNIT ATTENTION not yet reported */
    uint8_t tray_open, locked, medium;      /* medium: a medium is in the drive */
    uint8_t readonly;
    uint8_t event;                          /* pending media event (MEV_*) */
    uint8_t packet[12];
    uint8_t buf[IDE_BUF_SIZE];
};

struct bmdma_state {
    uint8_t cmd, status;
    uint32_t prd;
};

/* One channel (primary/secondary): one vmstate section. */
struct ide_chan_state {
    struct ide_drive_state drive[2];
    struct bmdma_state bm;
    uint8_t unit;               /* selected drive */
    uint8_t devctl;             /* last device control write */
    uint8_t irq_pending;        /* INTRQ asserted by the selected device */
};

struct ide_channel;

struct ide_drive {
    struct ide_drive_state *s;  /* &ch->s.drive[unit] */
    struct ide_channel *ch;
    int index;                  /* bus*2 + unit */
    struct block *blk;          /* NULL: no medium */
    struct block_stats retired; /* counters of media no longer in the drive */
    char id[CFG_ID_MAX];
    char serial[21];
    bool configured, configured_cdrom;  /* on the command line (stays so after an unplug) */
    uint64_t sectors;           /* disk: 512-byte sectors; CD: 2048-byte blocks */
    uint16_t cyls, heads, spt;  /* default geometry (disk) */
    enum hd_trans bios_trans;   /* the translation the CMOS tells the firmware */
};

struct ide_channel {
    struct ide_chan_state s;
    struct ide_ctrl *ctrl;
    int index;
    struct irq_line irq;        /* INTRQ, as the board wired it */
    bool irq_level;             /* what we last drove on the line */
    bool has_drives;
    struct ide_drive drive[2];
    struct io_region cmd_io, ctl_io;
};

/* A CD-ROM tray moved (guest or QMP): the board tells management. */
typedef void ide_tray_fn(void *opaque, const char *drive_id, bool open);

struct ide_ctrl {
    struct iobus *io;           /* NULL: no ports mapped (tests) */
    struct accel *accel;        /* guest memory for the bus master */
    ide_tray_fn *tray_moved;    /* NULL: nobody listens */
    void *tray_opaque;
    struct pci_dev pci;
    struct io_region bm_io;
    struct ide_channel ch[2];
    uint8_t bounce[256 * 1024]; /* a run of PRD entries (one entry is up to 64 KiB) */
};

/* ---- dm/storage/ide.c ---- */
/* Legacy-mode wiring of the channels: the board connects irq[0] and irq[1]
 * of ide_ctrl_new() to these ISA lines. */
#define IDE_PRIMARY_IRQ   14
#define IDE_SECONDARY_IRQ 15
/* The function 00:01.1 on pci, the legacy ports on io (either may be NULL
 * in tests), bus-master DMA through accel, channel c interrupting on
 * irq[c], drives from cfg (opens the images). Registers state sections
 * "piix3-ide.0" and "piix3-ide.1". NULL with err filled. */
struct ide_ctrl *ide_ctrl_new(struct iobus *io, struct pci_bus *pci, struct accel *accel,
                              const struct irq_line irq[2], const struct xsdm_config *cfg,
                              char *err, size_t errlen);
void ide_ctrl_reset(struct ide_ctrl *ide);
void ide_ctrl_free(struct ide_ctrl *ide);
void ide_ctrl_set_tray_notify(struct ide_ctrl *ide, ide_tray_fn *fn, void *opaque);
struct ide_drive *ide_selected(struct ide_channel *ch);
void ide_raise_irq(struct ide_drive *d);
void ide_update_irq(struct ide_channel *ch);
void ide_set_signature(struct ide_drive *d);
/* Start a PIO window [0,len) already in buf (data-in) or to be filled (data-out). */
void ide_pio_window(struct ide_drive *d, enum ide_xfer x, uint32_t len);
void ide_xfer_stop(struct ide_drive *d);
struct ide_drive *ide_find_drive(struct ide_ctrl *ide, const char *id);
struct ide_drive *ide_drive_at(struct ide_ctrl *ide, int index);
/* Geometry and BIOS translation of the disk at index 0-3 (bus*2+unit), for
 * the CMOS: 0, or -1 if no disk with a medium sits there (CD-ROMs too). */
int ide_ctrl_disk_geometry(struct ide_ctrl *ide, int index, struct hd_geometry *g);
/* Media (QMP and guest). eject: 0, -1 not removable, -2 locked (eject
 * request queued for the guest). insert takes ownership of blk. */
int ide_media_eject(struct ide_drive *d, bool force);
int ide_media_insert(struct ide_drive *d, struct block *blk);
void ide_tray_move(struct ide_drive *d, bool open);     /* guest START STOP UNIT */
bool ide_drive_has_medium(const struct ide_drive *d);
/* Xen platform unplug: drop emulated hard disks (CD-ROMs stay), all of
 * them or (aux_only) all but the primary master. */
void ide_ctrl_unplug_disks(struct ide_ctrl *ide, bool aux_only);

/* ---- dm/storage/ata.c ---- */
void ata_exec(struct ide_drive *d, uint8_t cmd);
void ide_pio_done(struct ide_drive *d);                 /* a PIO window was fully moved */
void ata_error(struct ide_drive *d, uint8_t err);
void ata_dma_done(struct ide_drive *d, bool ok, uint8_t err);
void ata_dma_short(struct ide_drive *d);                /* PRD table shorter than the transfer */
void ide_put_string(uint8_t *words, size_t nbytes, const char *s);

/* ---- dm/storage/atapi.c ---- */
void atapi_exec(struct ide_drive *d);                   /* buf[0..12) is the packet */
void atapi_pio_next(struct ide_drive *d);
void atapi_error(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq);
void atapi_ok(struct ide_drive *d);
void atapi_dma_done(struct ide_drive *d, bool ok);
void atapi_identify(struct ide_drive *d);
void atapi_medium_changed(struct ide_drive *d);

/* ---- dm/storage/bmdma.c ---- */
extern const struct io_ops bmdma_ops;
/* A DMA command was issued, or the bus master started: move the data if both are ready. */
void bmdma_kick(struct ide_channel *ch);

#endif
