/* The ATAPI CD-ROM: PACKET command decoding (MMC subset enough for
 * SeaBIOS El Torito boot and Linux sr), sense data, UNIT ATTENTION after a
 * media change, tray and lock, and the data-in phase by PIO (windows no
 * larger than the byte count limit) or DMA. The 12 packet bytes are guest
 * data: every length and address in them is checked before use. */
#include "dm/storage/ide.h"

#include <string.h>

#include "dm/core/log.h"
#include "dm/storage/block.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static void put_id16(uint8_t *id, unsigned word, uint16_t v)
{
    id[word * 2] = (uint8_t)v;
    id[word * 2 + 1] = (uint8_t)(v >> 8);
}

/* MSF of an LBA: the first 150 frames (2 s) are the lead-in gap. */
static void put_addr(uint8_t *p, uint64_t lba, bool msf)
{
    if (msf) {
        uint64_t f = lba + 150;

        p[0] = 0;
        p[1] = (uint8_t)(f / (75 * 60) > 255 ? 255 : f / (75 * 60));
        p[2] = (uint8_t)(f / 75 % 60);
        p[3] = (uint8_t)(f % 75);
    } else {
        put_be32(p, lba > 0xffffffffULL ? 0xffffffffu : (uint32_t)lba);
    }
}

static void set_reason(struct ide_drive_state *s, uint8_t reason)
{
    s->nsector = (uint8_t)((s->nsector & ~IR_MASK) | reason);
}

void atapi_error(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    struct ide_drive_state *s = d->s;

    ide_xfer_stop(d);
    s->sense_key = key;
    s->asc = asc;
    s->ascq = ascq;
    s->error = (uint8_t)(key << ER_SENSE_SHIFT);
    s->status = ST_DRDY | ST_ERR;
    set_reason(s, IR_IO | IR_COD);
    ide_raise_irq(d);
}

void atapi_ok(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    ide_xfer_stop(d);
    s->error = 0;
    s->status = ST_DRDY | ST_DSC;
    set_reason(s, IR_IO | IR_COD);
    ide_raise_irq(d);
}

void atapi_dma_done(struct ide_drive *d, bool ok)
{
    if (ok)
        atapi_ok(d);
    else
        atapi_error(d, SK_ABORTED, 0, 0);
}

void atapi_medium_changed(struct ide_drive *d)
{
    d->s->ua_pending = 1;
}

/* Bytes per PIO window: the byte count limit the host gave with PACKET,
 * even, never zero, never more than the buffer. */
static uint32_t window_limit(const struct ide_drive_state *s)
{
    uint32_t bcl = s->bcl;

    if (bcl == 0 || bcl > 0xfffe)
        bcl = 0xfffe;
    bcl &= ~1u;
    if (!bcl)
        bcl = 2;                            /* a limit of 1: still a word at a time */
    return bcl > IDE_BUF_SIZE ? IDE_BUF_SIZE : bcl;
}

/* The next PIO window of a data-in command, or its completion. Called with
 * pos == end: the previous window (if any) is fully read. */
void atapi_pio_next(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    uint32_t lim = window_limit(s), n;

    if (s->src == SRC_BUF) {
        uint32_t done = s->end <= s->total ? s->end : s->total;

        memmove(s->buf, s->buf + done, s->total - done);
        s->total -= done;
        n = s->total < lim ? s->total : lim;
    } else {
        n = s->disk_left < lim ? (uint32_t)s->disk_left : lim;
        if (n && (!ide_drive_has_medium(d) || block_read(d->blk, s->disk_off, s->buf, n) < 0)) {
            log_guest("ide: %s: CD read of %u bytes at %llu failed", d->id, n,
                      (unsigned long long)s->disk_off);
            if (!ide_drive_has_medium(d))
                atapi_error(d, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
            else
                atapi_error(d, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
            return;
        }
        s->disk_off += n;
        s->disk_left -= n;
    }
    if (!n) {
        atapi_ok(d);
        return;
    }
    s->lcyl = (uint8_t)n;
    s->hcyl = (uint8_t)(n >> 8);
    set_reason(s, IR_IO);
    ide_pio_window(d, XF_PIO_IN, n);
    ide_raise_irq(d);
}

static void start_data_in(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;

    s->pos = s->end = 0;
    if (s->atapi_dma) {
        if ((s->src == SRC_BUF && !s->total) || (s->src == SRC_DISK && !s->disk_left)) {
            atapi_ok(d);
            return;
        }
        s->xfer = XF_DMA_IN;
        s->status = ST_DRDY | ST_DSC | ST_DRQ;
        set_reason(s, IR_IO);
        bmdma_kick(d->ch);
        return;
    }
    atapi_pio_next(d);
}

/* A reply built in buf: at most alloc bytes go to the host. */
static void reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
    struct ide_drive_state *s = d->s;

    if (len > alloc)
        len = alloc;
    if (len > IDE_BUF_SIZE)
        len = IDE_BUF_SIZE;
    s->src = SRC_BUF;
    s->total = len;
    start_data_in(d);
}

void atapi_identify(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    uint8_t *id = s->buf;

    memset(id, 0, 512);
    /* ATAPI, CD-ROM, removable, 50 us DRQ, 12-byte packets */
    put_id16(id, 0, 0x8000 | 5 << 8 | 1 << 7 | 2 << 5);
    ide_put_string(id + 20, 20, d->serial);
    ide_put_string(id + 46, 8, "0.1");
    ide_put_string(id + 54, 40, "XSDM DVD-ROM");
    put_id16(id, 48, 1);
    put_id16(id, 49, 1 << 11 | 1 << 9 | 1 << 8);     /* IORDY, LBA, DMA */
    put_id16(id, 53, 7);
    put_id16(id, 63, 0x07 | (s->mdma_mode <= 2 ? 0x100 << s->mdma_mode : 0));
    put_id16(id, 64, 0x03);
    put_id16(id, 65, 0xb4);
    put_id16(id, 66, 0xb4);
    put_id16(id, 67, 0x12c);
    put_id16(id, 68, 0xb4);
    put_id16(id, 71, 30);
    put_id16(id, 72, 30);
    put_id16(id, 80, 0x1e);                         /* ATAPI-1 to -4 */
    put_id16(id, 82, 1 << 4);                       /* PACKET feature set */
    put_id16(id, 83, 1 << 14);
    put_id16(id, 84, 1 << 14);
    put_id16(id, 85, 1 << 4);
    put_id16(id, 87, 1 << 14);
    put_id16(id, 88, 0x3f | (s->udma_mode <= 5 ? 0x100 << s->udma_mode : 0));
    put_id16(id, 93, 1 << 14 | 1);
    s->src = SRC_BUF;
    s->total = 512;
    ide_pio_window(d, XF_PIO_IN, 512);
    ide_raise_irq(d);
}

/* ---- commands ---------------------------------------------------------- */

static void cmd_request_sense(struct ide_drive *d, const uint8_t *p)
{
    struct ide_drive_state *s = d->s;
    uint8_t *b = s->buf;

    if (s->ua_pending) {
        s->ua_pending = 0;
        s->sense_key = SK_UNIT_ATTENTION;
        s->asc = ASC_MEDIUM_MAY_HAVE_CHANGED;
        s->ascq = 0;
    }
    memset(b, 0, 18);
    b[0] = 0xf0;                            /* valid, current errors */
    b[2] = s->sense_key;
    b[7] = 10;
    b[12] = s->asc;
    b[13] = s->ascq;
    /* Reported once: the next REQUEST SENSE says NO SENSE. */
    s->sense_key = s->asc = s->ascq = 0;
    reply(d, 18, p[4]);
}

static void cmd_inquiry(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf;

    if (p[1] & ATAPI_INQUIRY_EVPD) {        /* no vital product data pages */
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    memset(b, 0, 36);
    b[0] = 0x05;                            /* CD/DVD device */
    b[1] = 0x80;                            /* removable */
    b[3] = 0x21;                            /* ATAPI response format */
    b[4] = 31;
    memcpy(b + 8, "XSDM    ", 8);
    memcpy(b + 16, "XSDM DVD-ROM    ", 16);
    memcpy(b + 32, "0.1 ", 4);
    reply(d, 36, be16(p + 3));
}

static void cmd_read_capacity(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf;
    uint64_t last = d->sectors ? d->sectors - 1 : 0;

    put_be32(b, last > 0xffffffffULL ? 0xffffffffu : (uint32_t)last);
    put_be32(b + 4, CD_SECTOR);
    reply(d, 8, 8);
}

static void cmd_read(struct ide_drive *d, const uint8_t *p)
{
    struct ide_drive_state *s = d->s;
    uint64_t lba = be32(p + 2), n;

    switch (p[0]) {
    case ATAPI_READ_10: n = be16(p + 7); break;
    case ATAPI_READ_12: n = be32(p + 6); break;
    default:                                /* READ CD: user data only */
        n = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
        if (((p[1] >> 2) & 7) > 2 || (p[9] & 0xf8 & ~ATAPI_READ_CD_USER_DATA)) {
            atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        if (!(p[9] & ATAPI_READ_CD_USER_DATA))
            n = 0;                          /* nothing asked for */
        break;
    }
    if (lba > d->sectors || n > d->sectors - lba) {
        log_guest("ide: %s: CD read past the end (lba %llu + %llu)", d->id, (unsigned long long)lba,
                  (unsigned long long)n);
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    s->src = SRC_DISK;
    s->disk_off = lba * CD_SECTOR;
    s->disk_left = n * CD_SECTOR;
    start_data_in(d);
}

static void raw_toc_entry(uint8_t *q, uint8_t point, uint8_t pmin, uint8_t psec, uint8_t pframe)
{
    memset(q, 0, 11);
    q[0] = 1;                               /* session */
    q[1] = 0x14;                            /* ADR 1, data track */
    q[3] = point;
    q[8] = pmin;
    q[9] = psec;
    q[10] = pframe;
}

static void cmd_read_toc(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf, *q = b + 4;
    bool msf = p[1] & ATAPI_MSF;
    unsigned format = p[2] & 0x0f, start = p[6];
    uint8_t end[4];

    if (!format)
        format = p[9] >> 6;                 /* the pre-MMC place for it */
    memset(b, 0, 4 + 11 * 4);
    switch (format) {
    case 0:
        if (start > 1 && start != TOC_LEADOUT) {
            atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        if (start <= 1) {
            q[1] = 0x14;
            q[2] = 1;
            put_addr(q + 4, 0, msf);
            q += 8;
        }
        q[1] = 0x14;
        q[2] = TOC_LEADOUT;
        put_addr(q + 4, d->sectors, msf);
        q += 8;
        break;
    case 1:                                 /* multi-session info: one session */
        q[1] = 0x14;
        q[2] = 1;
        put_addr(q + 4, 0, msf);
        q += 8;
        break;
    case 2:                                 /* raw TOC */
        put_addr(end, d->sectors, true);
        raw_toc_entry(q, 0xa0, 1, 0, 0);
        raw_toc_entry(q + 11, 0xa1, 1, 0, 0);
        raw_toc_entry(q + 22, 0xa2, end[1], end[2], end[3]);
        raw_toc_entry(q + 33, 1, 0, 2, 0);
        q += 44;
        break;
    default:
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    put_be16(b, (uint16_t)(q - b - 2));
    b[2] = 1;
    b[3] = 1;
    reply(d, (uint32_t)(q - b), be16(p + 7));
}

static uint32_t page_error_recovery(uint8_t *q, bool changeable)
{
    memset(q, 0, 8);
    q[0] = MODE_PAGE_ERROR_RECOVERY;
    q[1] = 0x06;
    if (!changeable)
        q[3] = 5;                           /* read retry count */
    return 8;
}

static uint32_t page_capabilities(struct ide_drive *d, uint8_t *q, bool changeable)
{
    memset(q, 0, 20);
    q[0] = MODE_PAGE_CAPABILITIES;
    q[1] = 0x12;
    if (changeable)
        return 20;
    q[2] = 0x0b;                            /* reads CD-R, CD-RW, DVD-ROM */
    q[4] = 0x71;                            /* audio play, mode 2 forms, multi-session */
    q[5] = 0xff;                            /* CD-DA, accurate, R-W, C2, ISRC, UPC */
    q[6] = (uint8_t)(0x2d | (d->s->locked ? 0x02 : 0));  /* tray, eject, lock (+ state) */
    put_be16(q + 8, 1412);                  /* max read speed, kB/s (8x) */
    put_be16(q + 10, 2);                    /* volume levels */
    put_be16(q + 12, 512);                  /* buffer, KiB */
    put_be16(q + 14, 1412);
    return 20;
}

static void cmd_mode_sense(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf;
    unsigned pc = p[2] >> 6, page = p[2] & 0x3f;
    uint32_t len = 8;

    if (pc == MODE_PC_SAVED) {
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
        return;
    }
    memset(b, 0, 8);
    switch (page) {
    case MODE_PAGE_ERROR_RECOVERY:
        len += page_error_recovery(b + len, pc == 1);
        break;
    case MODE_PAGE_CAPABILITIES:
        len += page_capabilities(d, b + len, pc == 1);
        break;
    case MODE_PAGE_ALL:
        len += page_error_recovery(b + len, pc == 1);
        len += page_capabilities(d, b + len, pc == 1);
        break;
    default:
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    put_be16(b, (uint16_t)(len - 2));
    reply(d, len, be16(p + 7));
}

static bool feature_wanted(unsigned rt, unsigned start, unsigned fn)
{
    return rt == 2 ? fn == start : fn >= start;
}

static void cmd_get_configuration(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf, *q = b + 8;
    unsigned rt = p[1] & 3, start = be16(p + 2);
    uint16_t profile = 0;

    if (rt == 3) {
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    if (ide_drive_has_medium(d))
        profile = d->sectors > CD_MAX_BLOCKS ? MMC_PROFILE_DVDROM : MMC_PROFILE_CDROM;
    memset(b, 0, 8 + 12 + 12 + 8);
    put_be16(b + 6, profile);
    if (feature_wanted(rt, start, MMC_FEATURE_PROFILE_LIST)) {
        q[2] = 0x03;
        q[3] = 8;
        put_be16(q + 4, MMC_PROFILE_DVDROM);
        q[6] = profile == MMC_PROFILE_DVDROM;
        put_be16(q + 8, MMC_PROFILE_CDROM);
        q[10] = profile == MMC_PROFILE_CDROM;
        q += 12;
    }
    if (feature_wanted(rt, start, MMC_FEATURE_CORE)) {  /* physical interface: ATAPI */
        put_be16(q, MMC_FEATURE_CORE);
        q[2] = 0x0b;
        q[3] = 8;
        put_be32(q + 4, 2);
        q[8] = 1;
        q += 12;
    }
    if (feature_wanted(rt, start, MMC_FEATURE_REMOVABLE_MEDIUM)) {  /* tray, eject, lock */
        put_be16(q, MMC_FEATURE_REMOVABLE_MEDIUM);
        q[2] = 0x03;
        q[3] = 4;
        q[4] = 0x29;
        q += 8;
    }
    put_be32(b, (uint32_t)(q - b - 4));
    reply(d, (uint32_t)(q - b), be16(p + 7));
}

static void cmd_event_status(struct ide_drive *d, const uint8_t *p)
{
    struct ide_drive_state *s = d->s;
    uint8_t *b = s->buf;

    if (!(p[1] & ATAPI_GESN_POLLED)) {      /* only polled operation */
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10;                            /* supported: media class */
    if (!(p[4] & ATAPI_GESN_MEDIA_CLASS)) {
        put_be16(b, 2);
        b[2] = 0x80;                        /* no event available */
        reply(d, 4, be16(p + 7));
        return;
    }
    put_be16(b, 6);
    b[2] = 0x04;
    b[4] = s->event & 0x0f;
    b[5] = s->tray_open ? 0x01 : d->blk ? 0x02 : 0;
    s->event = MEV_NONE;
    reply(d, 8, be16(p + 7));
}

static void cmd_start_stop(struct ide_drive *d, const uint8_t *p)
{
    bool loej = p[4] & ATAPI_START_STOP_LOEJ, start = p[4] & ATAPI_START_STOP_START;

    if (loej && !start && d->s->locked) {
        atapi_error(d, SK_NOT_READY, ASC_REMOVAL_PREVENTED, ASCQ_REMOVAL_LOCKED);
        return;
    }
    if (loej)
        ide_tray_move(d, !start);
    atapi_ok(d);
}

static void cmd_disc_info(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf;

    if (p[1] & 7) {
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    memset(b, 0, 34);
    put_be16(b, 32);
    b[2] = 0x0e;                            /* complete disc, last session complete */
    b[3] = 1;                               /* first track */
    b[4] = 1;                               /* sessions */
    b[5] = 1;                               /* first track of the last session */
    b[6] = 1;                               /* last track of the last session */
    b[7] = 0x20;                            /* unrestricted use */
    reply(d, 34, be16(p + 7));
}

static void cmd_mechanism_status(struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->s->buf;

    memset(b, 0, 8);
    b[1] = d->s->tray_open ? 0x10 : 0;
    reply(d, 8, be16(p + 8));
}

static void cmd_test_unit_ready(struct ide_drive *d, const uint8_t *p)
{
    atapi_ok(d);                            /* the table checked for a medium */
}

static void cmd_prevent_allow(struct ide_drive *d, const uint8_t *p)
{
    d->s->locked = p[4] & ATAPI_PREVENT;
    atapi_ok(d);
}

static void cmd_seek(struct ide_drive *d, const uint8_t *p)
{
    if (be32(p + 2) >= d->sectors)
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
    else
        atapi_ok(d);
}

static void cmd_set_cd_speed(struct ide_drive *d, const uint8_t *p)
{
    atapi_ok(d);                            /* there is no spindle */
}

/* ---- the command table ------------------------------------------------ */

enum {
    F_ALLOW_UA = 1,         /* runs even with a UNIT ATTENTION pending */
    F_MEDIUM = 2,           /* needs a medium in a closed tray */
    F_KEEP_SENSE = 4,       /* reads the sense of the previous command */
};

struct atapi_cmd {
    const char *name;       /* for logs */
    void (*run)(struct ide_drive *d, const uint8_t *p);
    unsigned flags;
};

/* Indexed by opcode; an empty row is ILLEGAL REQUEST / invalid opcode. */
static const struct atapi_cmd atapi_cmds[256] = {
    [ATAPI_TEST_UNIT_READY] = { "TEST UNIT READY", cmd_test_unit_ready, F_MEDIUM },
    [ATAPI_REQUEST_SENSE] = { "REQUEST SENSE", cmd_request_sense, F_ALLOW_UA | F_KEEP_SENSE },
    [ATAPI_INQUIRY] = { "INQUIRY", cmd_inquiry, F_ALLOW_UA },
    [ATAPI_START_STOP_UNIT] = { "START STOP UNIT", cmd_start_stop, 0 },
    [ATAPI_PREVENT_ALLOW] = { "PREVENT ALLOW MEDIUM REMOVAL", cmd_prevent_allow, 0 },
    [ATAPI_READ_CAPACITY] = { "READ CAPACITY", cmd_read_capacity, F_MEDIUM },
    [ATAPI_READ_10] = { "READ(10)", cmd_read, F_MEDIUM },
    [ATAPI_READ_12] = { "READ(12)", cmd_read, F_MEDIUM },
    [ATAPI_READ_CD] = { "READ CD", cmd_read, F_MEDIUM },
    [ATAPI_SEEK_10] = { "SEEK(10)", cmd_seek, F_MEDIUM },
    [ATAPI_READ_TOC] = { "READ TOC/PMA/ATIP", cmd_read_toc, F_MEDIUM },
    [ATAPI_GET_CONFIGURATION] = { "GET CONFIGURATION", cmd_get_configuration, F_ALLOW_UA },
    [ATAPI_GET_EVENT_STATUS] = { "GET EVENT STATUS NOTIFICATION", cmd_event_status, F_ALLOW_UA },
    [ATAPI_READ_DISC_INFO] = { "READ DISC INFORMATION", cmd_disc_info, F_MEDIUM },
    [ATAPI_MODE_SENSE_10] = { "MODE SENSE(10)", cmd_mode_sense, 0 },
    [ATAPI_SET_CD_SPEED] = { "SET CD SPEED", cmd_set_cd_speed, 0 },
    [ATAPI_MECHANISM_STATUS] = { "MECHANISM STATUS", cmd_mechanism_status, F_ALLOW_UA },
};

void atapi_exec(struct ide_drive *d)
{
    struct ide_drive_state *s = d->s;
    const uint8_t *p = s->packet;
    const struct atapi_cmd *c;

    memcpy(s->packet, s->buf, sizeof(s->packet));
    c = &atapi_cmds[p[0]];
    if (!(c->flags & F_KEEP_SENSE))
        s->sense_key = s->asc = s->ascq = 0;
    /* A media change is reported once, to the first command that is not
     * allowed to run through it. */
    if (s->ua_pending && !(c->flags & F_ALLOW_UA)) {
        s->ua_pending = 0;
        atapi_error(d, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED, 0);
        return;
    }
    if ((c->flags & F_MEDIUM) && !ide_drive_has_medium(d)) {
        atapi_error(d, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT, s->tray_open ? ASCQ_TRAY_OPEN : ASCQ_TRAY_CLOSED);
        return;
    }
    if (!c->run) {
        log_guest("ide: %s: unsupported packet command 0x%02x", d->id, p[0]);
        atapi_error(d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return;
    }
    c->run(d, p);
}
