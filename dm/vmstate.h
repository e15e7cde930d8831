/* Device state for save/restore (docs/state-format.md). Every device keeps
 * its guest-visible state in one plain struct (no pointers) and registers it
 * here. Saving serialises each device into one section; loading parses each
 * section into a *staging copy* of that struct, validates everything, and
 * only when the whole stream is good copies staging over live state and
 * calls post_load. A bad stream therefore never changes the running DM. */
#ifndef XSDM_VMSTATE_H
#define XSDM_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VMSTATE_MAX_DEVS 16

struct vmwriter {
    uint8_t *buf;
    size_t len, cap;
    bool err;               /* out of room: the caller reports it */
};

struct vmreader {
    const uint8_t *p;
    size_t len, off;
    bool err;               /* read past the end: the section is bad */
};

struct vmstate_dev {
    const char *name;       /* unique, e.g. "piix3-ide" */
    uint32_t version;
    void *state;            /* live POD state */
    size_t state_size;
    void (*save)(const void *state, struct vmwriter *w);
    /* Parse into staging (a copy of live state); validate every field
     * (indices, lengths, enum values). 0, or -1 with err filled. */
    int (*load)(void *staging, struct vmreader *r, char *err, size_t errlen);
    /* After staging was copied into live state: re-derive what is not
     * saved (BAR mappings, IRQ levels, media reattachment). */
    void (*post_load)(void *opaque);
    void *opaque;
};

/* 0, or -1 (logged) for a NULL/empty/over-long name, a duplicate name, the
 * reserved name "media", or a full table. The struct is copied. */
int vmstate_register(const struct vmstate_dev *d);
void vmstate_unregister_all(void);

/* Limits of the stream (dm/migration.c, docs/state-format.md): save only the
 * live part of large buffers (e.g. the valid bytes of a PIO buffer). */
#define VMSTATE_NAME_MAX     47            /* bytes of a device name */
#define VMSTATE_MAX_SECTION  (64 * 1024)   /* one device's section payload */

/* The registry, in registration order (the stream's device order). */
int vmstate_count(void);
const struct vmstate_dev *vmstate_get(int i);
const struct vmstate_dev *vmstate_find(const char *name);

/* Media of IDE drive index 0-3 (bus*2+unit) as the guest sees it now. The
 * storage code registers a provider; without one the stream records the
 * media given on the command line (cfg->drives). The stream's "media"
 * section must match on restore: media come from the restore argv or the
 * drive stays empty; any difference is an error, never a silent change. */
struct vmstate_media {
    bool present;           /* a drive exists at this index */
    bool cdrom;
    bool inserted;          /* a medium is in the drive */
    bool readonly;
};
typedef void vmstate_media_fn(void *opaque, int index, struct vmstate_media *out);
void vmstate_set_media_provider(vmstate_media_fn *fn, void *opaque);
/* Fill out from the provider; false when none is registered. */
bool vmstate_query_media(int index, struct vmstate_media *out);

static inline void vm_put(struct vmwriter *w, const void *p, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}
static inline void vm_put_u8(struct vmwriter *w, uint8_t v) { vm_put(w, &v, 1); }
static inline void vm_put_u16(struct vmwriter *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    vm_put(w, b, 2);
}
static inline void vm_put_u32(struct vmwriter *w, uint32_t v)
{
    vm_put_u16(w, (uint16_t)v);
    vm_put_u16(w, (uint16_t)(v >> 16));
}
static inline void vm_put_u64(struct vmwriter *w, uint64_t v)
{
    vm_put_u32(w, (uint32_t)v);
    vm_put_u32(w, (uint32_t)(v >> 32));
}

static inline void vm_get(struct vmreader *r, void *p, size_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->p + r->off, n);
    r->off += n;
}
static inline uint8_t vm_get_u8(struct vmreader *r)
{
    uint8_t v;
    vm_get(r, &v, 1);
    return v;
}
static inline uint16_t vm_get_u16(struct vmreader *r)
{
    uint8_t b[2];
    vm_get(r, b, 2);
    return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t vm_get_u32(struct vmreader *r)
{
    uint32_t lo = vm_get_u16(r);
    return lo | (uint32_t)vm_get_u16(r) << 16;
}
static inline uint64_t vm_get_u64(struct vmreader *r)
{
    uint64_t lo = vm_get_u32(r);
    return lo | (uint64_t)vm_get_u32(r) << 32;
}

#endif
