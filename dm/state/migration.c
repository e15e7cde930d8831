/* The device-state stream: writer and validating loader
 * (docs/state-format.md is the byte-by-byte description). Everything here
 * works on memory buffers; dm/state/migration-fd.c moves them through fds. */
#include "dm/state/migration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/bytes.h"
#include "dm/core/config.h"
#include "dm/core/errmsg.h"
#include "dm/core/vmstate.h"

#define MACHINE_NAME_MAX 31
#define MEDIA_VERSION    1u
#define MAX_LIST         (VMSTATE_MAX_DEVS + 1)   /* registered devices + "media" */

enum {
    MEDIA_F_PRESENT  = 1 << 0,
    MEDIA_F_CDROM    = 1 << 1,
    MEDIA_F_INSERTED = 1 << 2,
    MEDIA_F_READONLY = 1 << 3,
    MEDIA_F_ALL      = 0x0f,
};

/* ---- CRC32C ---- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = true;
}

uint32_t migration_crc32c(uint32_t crc, const void *p, size_t len)
{
    const uint8_t *b = p;

    if (!crc_ready)
        crc_init();
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

const char *migration_machine_name(const struct xsdm_config *cfg)
{
    if (!cfg)
        return "none";
    return cfg->xen_platform ? "xenfv" : "pc";
}

/* ---- the built-in "media" section ---- */

/* Which drives have media, as the guest sees them (provider) or as the
 * command line gave them. Its "load" compares instead of overwriting: media
 * always come from the restore argv. */
struct media_state {
    struct vmstate_media m[CFG_MAX_DRIVES];
    char id[CFG_MAX_DRIVES][CFG_ID_MAX];
};

static struct media_state media_now;

static void media_snapshot(const struct xsdm_config *cfg, struct media_state *ms)
{
    memset(ms, 0, sizeof(*ms));
    for (int i = 0; i < CFG_MAX_DRIVES; i++) {
        const struct drive_spec *ds = cfg ? &cfg->drives[i] : NULL;

        if (ds && ds->present)
            snprintf(ms->id[i], sizeof(ms->id[i]), "%s", ds->id);
        if (vmstate_query_media(i, &ms->m[i]))
            continue;
        if (ds && ds->present) {
            ms->m[i].present = true;
            ms->m[i].cdrom = ds->media == MEDIA_CDROM;
            ms->m[i].inserted = ds->file[0] != '\0';
            ms->m[i].readonly = ds->readonly;
        }
    }
}

static void media_save(const void *state, struct vmwriter *w)
{
    const struct media_state *ms = state;

    vm_put_u8(w, CFG_MAX_DRIVES);
    for (int i = 0; i < CFG_MAX_DRIVES; i++) {
        const struct vmstate_media *m = &ms->m[i];
        uint8_t f = 0;
        size_t idlen = strlen(ms->id[i]);

        if (m->present)
            f |= MEDIA_F_PRESENT;
        if (m->cdrom)
            f |= MEDIA_F_CDROM;
        if (m->inserted)
            f |= MEDIA_F_INSERTED;
        if (m->readonly)
            f |= MEDIA_F_READONLY;
        vm_put_u8(w, f);
        vm_put_u8(w, (uint8_t)idlen);
        vm_put(w, ms->id[i], idlen);
    }
}

static const char *ro_name(bool ro)
{
    return ro ? "read-only" : "read-write";
}

/* staging holds what this DM has now (from its argv); the stream must agree. */
static int media_load(void *staging, struct vmreader *r, char *err, size_t errlen)
{
    const struct media_state *now = staging;
    unsigned n = vm_get_u8(r);

    if (r->err)
        return 0;   /* reported as a short section by the caller */
    if (n != CFG_MAX_DRIVES) {
        seterr(err, errlen, "media: %u drive slots in the stream, expected %d", n, CFG_MAX_DRIVES);
        return -1;
    }
    for (int i = 0; i < CFG_MAX_DRIVES; i++) {
        const struct vmstate_media *m = &now->m[i];
        const char *id = now->id[i][0] ? now->id[i] : "(unnamed)";
        uint8_t f = vm_get_u8(r);
        unsigned idlen = vm_get_u8(r);
        char sid[CFG_ID_MAX];
        bool present, cdrom, inserted, ro;

        if (r->err)
            return 0;
        if (idlen >= sizeof(sid)) {
            seterr(err, errlen, "media: drive %d: id length %u exceeds %zu", i, idlen, sizeof(sid) - 1);
            return -1;
        }
        vm_get(r, sid, idlen);
        sid[idlen] = '\0';
        if (r->err)
            return 0;
        if (f & ~MEDIA_F_ALL) {
            seterr(err, errlen, "media: drive %d: unknown flags 0x%02x", i, f);
            return -1;
        }
        present = f & MEDIA_F_PRESENT;
        cdrom = f & MEDIA_F_CDROM;
        inserted = f & MEDIA_F_INSERTED;
        ro = f & MEDIA_F_READONLY;
        if (!present) {
            if (f || idlen) {
                seterr(err, errlen, "media: drive %d: absent drive with flags 0x%02x or an id", i, f);
                return -1;
            }
            if (m->present) {
                seterr(err, errlen, "media mismatch: drive %s (index %d) is on the restore command "
                       "line but was not in the saved machine", id, i);
                return -1;
            }
            continue;
        }
        if (!m->present) {
            seterr(err, errlen, "media mismatch: drive '%s' (index %d) was in the saved machine "
                   "but is missing from the restore command line", sid, i);
            return -1;
        }
        if (idlen && now->id[i][0] && strcmp(sid, now->id[i])) {
            seterr(err, errlen, "media mismatch: drive index %d is '%s' in the stream but '%s' on "
                   "the restore command line", i, sid, now->id[i]);
            return -1;
        }
        if (cdrom != m->cdrom) {
            seterr(err, errlen, "media mismatch: drive %s was a %s, the restore command line "
                   "makes it a %s", id, cdrom ? "CD-ROM" : "disk", m->cdrom ? "CD-ROM" : "disk");
            return -1;
        }
        if (inserted != m->inserted) {
            seterr(err, errlen, inserted
                   ? "media mismatch: drive %s had a medium when saved but the restore command "
                     "line gives none"
                   : "media mismatch: drive %s was empty when saved but the restore command "
                     "line gives a medium", id);
            return -1;
        }
        if (inserted && ro != m->readonly) {
            seterr(err, errlen, "media mismatch: drive %s was %s when saved, the restore command "
                   "line makes it %s", id, ro_name(ro), ro_name(m->readonly));
            return -1;
        }
    }
    return 0;
}

static const struct vmstate_dev media_dev = {
    .name = "media",
    .version = MEDIA_VERSION,
    .state = &media_now,
    .state_size = sizeof(media_now),
    .save_raw = media_save,
    .load_raw = media_load,
};

/* Registered devices, then "media". */
static int device_list(const struct vmstate_dev **list)
{
    int n = 0;

    for (int i = 0; i < vmstate_count(); i++)
        list[n++] = vmstate_get(i);
    list[n++] = &media_dev;
    return n;
}

/* ---- writer ---- */

int migration_save_buf(const struct xsdm_config *cfg, uint8_t **buf_r, size_t *len_r,
                       char *err, size_t errlen)
{
    const struct vmstate_dev *list[MAX_LIST];
    const char *machine = migration_machine_name(cfg);
    struct vmwriter w = { .cap = MIGRATION_MAX_STREAM };
    int n, rc = -1;

    *buf_r = NULL;
    *len_r = 0;
    media_snapshot(cfg, &media_now);
    n = device_list(list);
    w.buf = malloc(w.cap);
    if (!w.buf) {
        seterr(err, errlen, "out of memory for the device-state buffer");
        goto out;
    }

    vm_put(&w, MIGRATION_MAGIC, 8);
    vm_put_u32(&w, MIGRATION_FORMAT_VERSION);
    vm_put_u32(&w, 0);                      /* total length, patched below */
    vm_put_u8(&w, (uint8_t)strlen(machine));
    vm_put(&w, machine, strlen(machine));
    vm_put_u16(&w, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        vm_put_u8(&w, (uint8_t)strlen(list[i]->name));
        vm_put(&w, list[i]->name, strlen(list[i]->name));
        vm_put_u32(&w, list[i]->version);
    }

    for (int i = 0; i < n; i++) {
        struct vmwriter sw;
        size_t len_at;

        vm_put_u16(&w, (uint16_t)i);
        len_at = w.len;
        vm_put_u32(&w, 0);                  /* section length, patched below */
        if (w.err)
            break;
        sw.buf = w.buf + w.len;
        sw.len = 0;
        sw.cap = w.cap - w.len < MIGRATION_TRAILER ? 0 : w.cap - w.len - MIGRATION_TRAILER;
        if (sw.cap > VMSTATE_MAX_SECTION)
            sw.cap = VMSTATE_MAX_SECTION;
        sw.err = false;
        vmstate_save(list[i], &sw);
        if (sw.err) {
            seterr(err, errlen, "device '%s': state does not fit in its section (limit %zu bytes, "
                   "stream limit %d bytes)", list[i]->name, sw.cap, MIGRATION_MAX_STREAM);
            goto out;
        }
        put_le32(w.buf + len_at, (uint32_t)sw.len);
        w.len += sw.len;
    }
    vm_put(&w, MIGRATION_END_MARKER, 4);
    vm_put_u32(&w, 0);                      /* CRC, patched below */
    if (w.err) {
        seterr(err, errlen, "device state exceeds the %d-byte stream limit", MIGRATION_MAX_STREAM);
        goto out;
    }
    put_le32(w.buf + 12, (uint32_t)w.len);
    put_le32(w.buf + w.len - 4, migration_crc32c(0, w.buf, w.len - 4));

    *buf_r = w.buf;
    *len_r = w.len;
    w.buf = NULL;
    rc = 0;
out:
    free(w.buf);
    return rc;
}

/* ---- loader ---- */

struct staged {
    const struct vmstate_dev *dev;
    void *staging;
};

/* A name of 1..max printable ASCII bytes (no spaces, no quotes). */
static bool get_name(struct vmreader *r, char *out, size_t max)
{
    unsigned len = vm_get_u8(r);

    if (r->err || len == 0 || len > max)
        return false;
    vm_get(r, out, len);
    out[len] = '\0';
    if (r->err)
        return false;
    for (unsigned i = 0; i < len; i++)
        if (out[i] < 0x21 || out[i] > 0x7e || out[i] == '"' || out[i] == '\\')
            return false;
    return true;
}

/* Header checks that need no parsing beyond the fixed 16 bytes, in the
 * order that names the problem best: size, magic, version, length, trailer. */
static int check_frame(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    uint32_t version, total, stored, crc;

    if (len < MIGRATION_HDR_FIXED) {
        seterr(err, errlen, "truncated stream: %zu bytes, shorter than the %d-byte header",
               len, MIGRATION_HDR_FIXED);
        return -1;
    }
    if (memcmp(buf, MIGRATION_MAGIC, 8)) {
        seterr(err, errlen, "bad magic: not an xsdm device-state stream");
        return -1;
    }
    version = get_le32(buf + 8);
    if (version != MIGRATION_FORMAT_VERSION) {
        seterr(err, errlen, "unsupported format version %u (this DM reads version %u)",
               version, MIGRATION_FORMAT_VERSION);
        return -1;
    }
    total = get_le32(buf + 12);
    if (total > MIGRATION_MAX_STREAM) {
        seterr(err, errlen, "bad declared length %u: exceeds the %d-byte stream limit",
               total, MIGRATION_MAX_STREAM);
        return -1;
    }
    if (total < MIGRATION_HDR_FIXED + MIGRATION_TRAILER) {
        seterr(err, errlen, "bad declared length %u: shorter than header and trailer", total);
        return -1;
    }
    if (len < total) {
        seterr(err, errlen, "truncated stream: %zu of the %u declared bytes", len, total);
        return -1;
    }
    if (len > total) {
        seterr(err, errlen, "trailing garbage: %zu bytes after the declared end of the stream "
               "(%u bytes)", len - total, total);
        return -1;
    }
    if (memcmp(buf + total - MIGRATION_TRAILER, MIGRATION_END_MARKER, 4)) {
        seterr(err, errlen, "bad end marker: stream corrupted or mis-framed");
        return -1;
    }
    stored = get_le32(buf + total - 4);
    crc = migration_crc32c(0, buf, total - 4);
    if (stored != crc) {
        seterr(err, errlen, "checksum mismatch: stream corrupted (stored CRC32C %08x, "
               "computed %08x)", stored, crc);
        return -1;
    }
    return 0;
}

/* A load is a sequence: frame, header, device list, sections, commit.
 * Each step reads on from where the last stopped and fills the load; none
 * touches live state but the last, which cannot fail. */
struct load {
    struct vmreader r;              /* the stream between header and trailer */
    struct staged st[MAX_LIST];     /* the device list, in stream order */
    unsigned n;
    char *err;
    size_t errlen;
};

/* The machine name: a stream only goes back into the board that wrote it. */
static int load_header(struct load *l, const struct xsdm_config *cfg)
{
    const char *machine = migration_machine_name(cfg);
    char name[MACHINE_NAME_MAX + 1];

    if (!get_name(&l->r, name, MACHINE_NAME_MAX)) {
        seterr(l->err, l->errlen, "bad machine name in the header");
        return -1;
    }
    if (strcmp(name, machine)) {
        seterr(l->err, l->errlen, "machine mismatch: stream was saved by machine '%s', this DM is '%s'",
               name, machine);
        return -1;
    }
    return 0;
}

/* One entry of the device list: a device of this DM, once, at its version. */
static const struct vmstate_dev *load_list_entry(struct load *l, unsigned i,
                                                 const struct vmstate_dev *const *have, int n_have,
                                                 bool *seen)
{
    char name[VMSTATE_NAME_MAX + 1];
    const struct vmstate_dev *dev;
    uint32_t version;
    int k;

    if (!get_name(&l->r, name, VMSTATE_NAME_MAX)) {
        seterr(l->err, l->errlen, "bad name for device %u in the device list", i);
        return NULL;
    }
    version = vm_get_u32(&l->r);
    if (l->r.err) {
        seterr(l->err, l->errlen, "device list ends early at device %u", i);
        return NULL;
    }
    for (k = 0; k < n_have && strcmp(have[k]->name, name); k++)
        ;
    if (k == n_have) {
        seterr(l->err, l->errlen, "extra device: the stream has device '%s', which this DM does "
               "not have", name);
        return NULL;
    }
    dev = have[k];
    if (seen[k]) {
        seterr(l->err, l->errlen, "device '%s' appears twice in the device list", name);
        return NULL;
    }
    seen[k] = true;
    if (version != dev->version) {
        seterr(l->err, l->errlen, "device '%s': stream has version %u, this DM reads version %u",
               name, version, dev->version);
        return NULL;
    }
    return dev;
}

/* The device list names exactly this DM's devices (the media section
 * included), each once, at the version it reads. */
static int load_device_list(struct load *l)
{
    const struct vmstate_dev *have[MAX_LIST];
    bool seen[MAX_LIST] = { false };
    int n_have = device_list(have);
    unsigned n = vm_get_u16(&l->r);

    if (l->r.err || n == 0 || n > MAX_LIST) {
        seterr(l->err, l->errlen, "bad device count %u (1 to %d allowed)", n, MAX_LIST);
        return -1;
    }
    for (l->n = 0; l->n < n; l->n++) {
        l->st[l->n].dev = load_list_entry(l, l->n, have, n_have, seen);
        if (!l->st[l->n].dev)
            return -1;
    }
    for (int k = 0; k < n_have; k++)
        if (!seen[k]) {
            seterr(l->err, l->errlen, "missing device: '%s' of this DM is not in the stream",
                   have[k]->name);
            return -1;
        }
    return 0;
}

/* Section i: its header, then the device's load into a staging copy of
 * its live state, which must use the section's bytes exactly. */
static int load_section(struct load *l, unsigned i)
{
    struct vmreader *r = &l->r;
    const struct vmstate_dev *dev = l->st[i].dev;
    struct vmreader sr;
    unsigned idx = vm_get_u16(r);
    uint32_t slen = vm_get_u32(r);
    char msg[256];

    if (r->err) {
        seterr(l->err, l->errlen, "section %u ('%s'): header runs past the end of the stream",
               i, dev->name);
        return -1;
    }
    if (idx != i) {
        seterr(l->err, l->errlen, "section %u ('%s'): found index %u, sections must follow the "
               "device list", i, dev->name, idx);
        return -1;
    }
    if (slen > VMSTATE_MAX_SECTION) {
        seterr(l->err, l->errlen, "oversized section '%s': %u bytes exceeds the %d-byte section "
               "limit", dev->name, slen, VMSTATE_MAX_SECTION);
        return -1;
    }
    if (slen > r->len - r->off) {
        seterr(l->err, l->errlen, "oversized section '%s': %u bytes overruns the stream (%zu left)",
               dev->name, slen, r->len - r->off);
        return -1;
    }
    l->st[i].staging = malloc(dev->state_size ? dev->state_size : 1);
    if (!l->st[i].staging) {
        seterr(l->err, l->errlen, "out of memory staging device '%s'", dev->name);
        return -1;
    }
    memcpy(l->st[i].staging, dev->state, dev->state_size);
    sr.p = r->p + r->off;
    sr.len = slen;
    sr.off = 0;
    sr.err = false;
    msg[0] = '\0';
    if (vmstate_load(dev, l->st[i].staging, &sr, msg, sizeof(msg))) {
        seterr(l->err, l->errlen, "device '%s': %s", dev->name, msg[0] ? msg : "invalid state");
        return -1;
    }
    if (sr.err) {
        seterr(l->err, l->errlen, "device '%s': section of %u bytes is too short for its state",
               dev->name, slen);
        return -1;
    }
    if (sr.off != slen) {
        seterr(l->err, l->errlen, "oversized section '%s': %zu unexpected bytes after its state",
               dev->name, slen - sr.off);
        return -1;
    }
    r->off += slen;
    return 0;
}

/* One section per listed device, in list order, then the trailer. */
static int load_sections(struct load *l)
{
    for (unsigned i = 0; i < l->n; i++)
        if (load_section(l, i) < 0)
            return -1;
    if (l->r.off != l->r.len) {
        seterr(l->err, l->errlen, "%zu bytes of garbage between the last section and the trailer",
               l->r.len - l->r.off);
        return -1;
    }
    return 0;
}

/* Nothing before touched live state; nothing here can fail. The media
 * section's staging was only checked against the drives, never copied. */
static void load_commit(struct load *l)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->st[i].dev != &media_dev)
            memcpy(l->st[i].dev->state, l->st[i].staging, l->st[i].dev->state_size);
    for (unsigned i = 0; i < l->n; i++)
        if (l->st[i].dev->post_load)
            l->st[i].dev->post_load(l->st[i].dev->opaque);
}

int migration_load_buf(const struct xsdm_config *cfg, const uint8_t *buf, size_t len,
                       char *err, size_t errlen)
{
    struct load l = { .err = err, .errlen = errlen };
    int rc = -1;

    if (check_frame(buf, len, err, errlen))
        goto out;
    /* Everything between the fixed header and the trailer is CRC-covered,
     * but still parsed as hostile: a valid CRC proves nothing about intent. */
    l.r.p = buf;
    l.r.len = len - MIGRATION_TRAILER;
    l.r.off = MIGRATION_HDR_FIXED;
    l.r.err = false;
    if (load_header(&l, cfg) < 0)
        goto out;
    /* what the media section is checked against */
    media_snapshot(cfg, &media_now);
    if (load_device_list(&l) < 0 || load_sections(&l) < 0)
        goto out;
    load_commit(&l);
    rc = 0;
out:
    for (unsigned i = 0; i < MAX_LIST; i++)
        free(l.st[i].staging);
    return rc;
}

/* ---- fds ----
 * Writes happen under libxl's RLIMIT_FSIZE with SIGXFSZ and SIGPIPE ignored
 * (dm/main.c): EFBIG, ENOSPC and EPIPE come back here as errors. */

int migration_write_all(int fd, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    size_t done = 0;

    while (done < len) {
        ssize_t r = write(fd, buf + done, len - done);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "write failed after %zu of %zu bytes: %s", done, len,
                     strerror(errno));
            return -1;
        }
        if (r == 0) {
            snprintf(err, errlen, "write made no progress after %zu of %zu bytes", done, len);
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

int migration_read_all(int fd, uint8_t **buf_r, size_t *len_r, char *err, size_t errlen)
{
    /* One byte more than the limit tells "too large" from "exactly full". */
    size_t cap = MIGRATION_MAX_STREAM + 1, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = -1;

    *buf_r = NULL;
    *len_r = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory for the device-state buffer");
        goto out;
    }
    while (len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "read failed after %zu bytes: %s", len, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > MIGRATION_MAX_STREAM) {
        snprintf(err, errlen, "stream larger than the %d-byte limit", MIGRATION_MAX_STREAM);
        goto out;
    }
    *buf_r = buf;
    *len_r = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    return rc;
}
