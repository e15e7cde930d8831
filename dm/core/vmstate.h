/* Device state for save/restore (docs/state-format.md). Every device keeps
 * its guest-visible state in one plain struct (no pointers), describes it
 * once as a field table (struct vm_field, below) and registers it here: the
 * table drives saving, loading and the per-field checks. Saving serialises each device into one section; loading parses each
 * section into a *staging copy* of that struct, validates everything, and
 * only when the whole stream is good copies staging over live state and
 * calls post_load. A bad stream therefore never changes the running DM. */
#ifndef XSDM_VMSTATE_H
#define XSDM_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dm/core/bytes.h"

#define VMSTATE_MAX_DEVS 24   /* the board at its largest (4 serials, 4 NICs, VGA, CMOS) has 17 sections */

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

/* ---- the field table ----
 * A device's section is its fields in table order, each encoded as:
 *   VMF_UINT    count little-endian integers of size 1, 2, 4 or 8 bytes (a
 *               byte array is count u8s); count is fixed, or (VMF_*_V) the
 *               value of an earlier UINT field of the same table, bounded by
 *               the array's capacity;
 *   VMF_STRUCT  count elements, each encoded by its own sub-table (fixed or
 *               variable count, as above);
 *   VMF_LIVEBUF a u32 n, then the first n bytes of a buffer: its live part
 *               (the rest reads back as zeros). Saving writes live(state);
 *               loading requires live(staging) <= n <= the buffer's size.
 * Every integer element is checked as it is read: a range (VM_RANGE /
 * VM_MAX / VM_BOOL), the bits that may be set (VM_BITS) and a predicate
 * (VM_VALID); the device's check() then sees the whole staged struct.
 * A new device writes one table and registers it, e.g. (dm/devices/port92.c):
 *   static const struct vm_field port92_fields[] = {
 *       VMF_UINT(struct port92_state, val, VM_BITS(0xfe)), VMF_END };
 * Tests find a field in a saved payload by name (vmstate_field_at()). */
enum vmf_type { VMF_UINT, VMF_STRUCT, VMF_LIVEBUF };

struct vm_field {
    const char *name;                   /* NULL ends a table */
    enum vmf_type type;
    size_t offset;                      /* in the enclosing struct */
    size_t size;                        /* one element (the whole buffer for LIVEBUF) */
    size_t count;                       /* elements, or the capacity of a variable array */
    size_t count_offset, count_size;    /* variable count: the earlier field holding it */
    bool has_range, has_bits;
    uint64_t min, max;                  /* has_range: min <= v <= max */
    uint64_t bits;                      /* has_bits: no bit outside */
    bool (*valid)(uint64_t v);          /* optional: one of a set of values */
    uint32_t (*live)(const void *s);    /* LIVEBUF: bytes to save, s = the enclosing struct */
    const struct vm_field *fields;      /* STRUCT: the element's table */
};

#define VM_RANGE(lo, hi) .has_range = true, .min = (lo), .max = (hi)
#define VM_MAX(hi)       VM_RANGE(0, hi)
#define VM_BOOL          VM_MAX(1)
#define VM_BITS(m)       .has_bits = true, .bits = (m)
#define VM_VALID(fn)     .valid = (fn)

#define VMF_MEMBER_(T, f) (((T *)0)->f)
#define VMF_UINT(T, f, ...)                                                          \
    { .name = #f, .type = VMF_UINT, .offset = offsetof(T, f),                        \
      .size = sizeof(VMF_MEMBER_(T, f)), .count = 1, __VA_ARGS__ }
/* An array of integers (bytes included): every element is checked. */
#define VMF_ARRAY(T, f, ...)                                                         \
    { .name = #f, .type = VMF_UINT, .offset = offsetof(T, f),                        \
      .size = sizeof(VMF_MEMBER_(T, f)[0]),                                          \
      .count = sizeof(VMF_MEMBER_(T, f)) / sizeof(VMF_MEMBER_(T, f)[0]), __VA_ARGS__ }
/* The first n elements, n being the earlier field nf. */
#define VMF_ARRAY_V(T, f, nf, ...)                                                   \
    { .name = #f, .type = VMF_UINT, .offset = offsetof(T, f),                        \
      .size = sizeof(VMF_MEMBER_(T, f)[0]),                                          \
      .count = sizeof(VMF_MEMBER_(T, f)) / sizeof(VMF_MEMBER_(T, f)[0]),             \
      .count_offset = offsetof(T, nf), .count_size = sizeof(VMF_MEMBER_(T, nf)), __VA_ARGS__ }
#define VMF_STRUCTS(T, f, table)                                                     \
    { .name = #f, .type = VMF_STRUCT, .offset = offsetof(T, f),                      \
      .size = sizeof(VMF_MEMBER_(T, f)[0]),                                          \
      .count = sizeof(VMF_MEMBER_(T, f)) / sizeof(VMF_MEMBER_(T, f)[0]), .fields = (table) }
#define VMF_STRUCTS_V(T, f, nf, table)                                               \
    { .name = #f, .type = VMF_STRUCT, .offset = offsetof(T, f),                      \
      .size = sizeof(VMF_MEMBER_(T, f)[0]),                                          \
      .count = sizeof(VMF_MEMBER_(T, f)) / sizeof(VMF_MEMBER_(T, f)[0]),             \
      .count_offset = offsetof(T, nf), .count_size = sizeof(VMF_MEMBER_(T, nf)), .fields = (table) }
#define VMF_LIVEBUF(T, f, livefn)                                                    \
    { .name = #f, .type = VMF_LIVEBUF, .offset = offsetof(T, f),                     \
      .size = sizeof(VMF_MEMBER_(T, f)), .count = 1, .live = (livefn) }
#define VMF_END { .name = NULL }

struct vmstate_dev {
    const char *name;       /* unique, e.g. "piix3-ide" */
    uint32_t version;       /* bump whenever the table's encoding changes */
    void *state;            /* live POD state */
    size_t state_size;
    const struct vm_field *fields;
    /* Optional: after every field parsed and passed its own checks, the
     * cross-field rules on the whole staged copy (live: the running state,
     * for identity checks). It may normalise staging. 0, or -1 with err. */
    int (*check)(const void *live, void *staging, char *err, size_t errlen);
    /* Optional: before the fields are read for saving (refresh a snapshot). */
    void (*pre_save)(void *opaque);
    /* After staging was copied into live state: re-derive what is not
     * saved (BAR mappings, IRQ levels, media reattachment). */
    void (*post_load)(void *opaque);
    void *opaque;
    /* Raw encoders instead of fields: only the stream's own "media"
     * section (dm/state/migration.c), which compares rather than loads.
     * vmstate_register() refuses them. */
    void (*save_raw)(const void *state, struct vmwriter *w);
    int (*load_raw)(void *staging, struct vmreader *r, char *err, size_t errlen);
};

/* The section payload of d's live state. */
void vmstate_save(const struct vmstate_dev *d, struct vmwriter *w);
/* Parse a section payload into staging (a copy of d->state): every field
 * and its checks, then d->check. Reads what the table describes and no
 * more: the caller refuses bytes left in r. 0, or -1 with err (a short
 * section says "too short"). Live state is never touched. */
int vmstate_load(const struct vmstate_dev *d, void *staging, struct vmreader *r, char *err, size_t errlen);
/* Where field `path` ("rx_head", "qflags[3]", "drive[1].pos", "bm.prd")
 * starts in the payload (which must parse), or -1: for tests that edit
 * one field of a saved section. size_r (optional): its element size. */
long vmstate_field_at(const struct vmstate_dev *d, const uint8_t *payload, size_t len,
                      const char *path, size_t *size_r);

/* 0, or -1 (logged) for a NULL/empty/over-long name, a duplicate name, the
 * reserved name "media", a full table, or a field table that does not fit
 * its state (vmstate_check_fields()). The struct is copied. */
int vmstate_register(const struct vmstate_dev *d);
void vmstate_unregister_all(void);

/* Limits of the stream (dm/state/migration.c, docs/state-format.md): save only the
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

/* 0, or -1 with err naming the first field that is malformed: an element
 * size other than 1/2/4/8, a field outside the struct, a variable count not
 * held in an earlier integer field, a LIVEBUF without live(). */
int vmstate_check_fields(const struct vm_field *fields, size_t struct_size, char *err, size_t errlen);

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
    uint8_t b[2];

    put_le16(b, v);
    vm_put(w, b, 2);
}
static inline void vm_put_u32(struct vmwriter *w, uint32_t v)
{
    uint8_t b[4];

    put_le32(b, v);
    vm_put(w, b, 4);
}
static inline void vm_put_u64(struct vmwriter *w, uint64_t v)
{
    uint8_t b[8];

    put_le64(b, v);
    vm_put(w, b, 8);
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
    return get_le16(b);
}
static inline uint32_t vm_get_u32(struct vmreader *r)
{
    uint8_t b[4];

    vm_get(r, b, 4);
    return get_le32(b);
}
static inline uint64_t vm_get_u64(struct vmreader *r)
{
    uint8_t b[8];

    vm_get(r, b, 8);
    return get_le64(b);
}

#endif
