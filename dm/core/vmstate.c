/* The device-state registry: which devices take part in save/restore, in
 * which order, and who answers for the drives' media; and the field-table
 * walker that saves, loads and checks every device's section. The stream
 * around the sections is dm/state/migration.c. */
#include "dm/core/vmstate.h"

#include <stdio.h>
#include <stdlib.h>

#include "dm/core/log.h"

static struct vmstate_dev devs[VMSTATE_MAX_DEVS];
static int n_devs;

static vmstate_media_fn *media_fn;
static void *media_opaque;

int vmstate_register(const struct vmstate_dev *d)
{
    char err[128];
    size_t len;

    if (!d || !d->name || !d->state || !d->fields || d->save_raw || d->load_raw) {
        log_err("vmstate: incomplete registration (a device describes its state with fields)");
        return -1;
    }
    if (vmstate_check_fields(d->fields, d->state_size, err, sizeof(err)) < 0) {
        log_err("vmstate: device '%s': %s", d->name, err);
        return -1;
    }
    len = strlen(d->name);
    if (len == 0 || len > VMSTATE_NAME_MAX || !strcmp(d->name, "media")) {
        log_err("vmstate: invalid device name '%s'", d->name);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if (d->name[i] < 0x21 || d->name[i] > 0x7e || d->name[i] == '"' || d->name[i] == '\\') {
            log_err("vmstate: invalid character in device name '%s'", d->name);
            return -1;
        }
    if (vmstate_find(d->name)) {
        log_err("vmstate: device '%s' registered twice", d->name);
        return -1;
    }
    if (n_devs >= VMSTATE_MAX_DEVS) {
        log_err("vmstate: no room for device '%s' (max %d)", d->name, VMSTATE_MAX_DEVS);
        return -1;
    }
    devs[n_devs++] = *d;
    return 0;
}

void vmstate_unregister_all(void)
{
    memset(devs, 0, sizeof(devs));
    n_devs = 0;
    media_fn = NULL;
    media_opaque = NULL;
}

int vmstate_count(void)
{
    return n_devs;
}

const struct vmstate_dev *vmstate_get(int i)
{
    if (i < 0 || i >= n_devs)
        return NULL;
    return &devs[i];
}

const struct vmstate_dev *vmstate_find(const char *name)
{
    for (int i = 0; i < n_devs; i++)
        if (!strcmp(devs[i].name, name))
            return &devs[i];
    return NULL;
}

void vmstate_set_media_provider(vmstate_media_fn *fn, void *opaque)
{
    media_fn = fn;
    media_opaque = opaque;
}

bool vmstate_query_media(int index, struct vmstate_media *out)
{
    memset(out, 0, sizeof(*out));
    if (!media_fn)
        return false;
    media_fn(media_opaque, index, out);
    return true;
}

/* ---- the field table ---- */

static uint64_t get_native(const uint8_t *p, size_t size)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64 = 0;

    switch (size) {
    case 1: memcpy(&u8, p, 1); return u8;
    case 2: memcpy(&u16, p, 2); return u16;
    case 4: memcpy(&u32, p, 4); return u32;
    case 8: memcpy(&u64, p, 8); return u64;
    }
    return 0;
}

static void set_native(uint8_t *p, size_t size, uint64_t v)
{
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;

    switch (size) {
    case 1: memcpy(p, &u8, 1); break;
    case 2: memcpy(p, &u16, 2); break;
    case 4: memcpy(p, &u32, 4); break;
    case 8: memcpy(p, &v, 8); break;
    }
}

/* Elements of f in the struct at s: fixed, or the earlier count field
 * (never more than the capacity: a count out of range is refused on load). */
static size_t field_count(const struct vm_field *f, const uint8_t *s)
{
    uint64_t n;

    if (!f->count_size)
        return f->count;
    n = get_native(s + f->count_offset, f->count_size);
    return n < f->count ? (size_t)n : f->count;
}

static uint32_t live_len(const struct vm_field *f, const uint8_t *s)
{
    uint32_t n = f->live(s);

    return n > f->size ? (uint32_t)f->size : n;
}

static void save_fields(const struct vm_field *f, const uint8_t *s, struct vmwriter *w)
{
    for (; f->name; f++) {
        const uint8_t *p = s + f->offset;
        size_t n = field_count(f, s);

        switch (f->type) {
        case VMF_UINT:
            if (f->size == 1) {             /* bytes: as they are */
                vm_put(w, p, n);
                break;
            }
            for (size_t i = 0; i < n; i++) {
                uint8_t b[8];

                put_le64(b, get_native(p + i * f->size, f->size));
                vm_put(w, b, f->size);
            }
            break;
        case VMF_STRUCT:
            for (size_t i = 0; i < n; i++)
                save_fields(f->fields, p + i * f->size, w);
            break;
        case VMF_LIVEBUF:
            vm_put_u32(w, live_len(f, s));
            vm_put(w, p, live_len(f, s));
            break;
        }
    }
}

void vmstate_save(const struct vmstate_dev *d, struct vmwriter *w)
{
    if (d->pre_save)
        d->pre_save(d->opaque);
    if (d->save_raw)
        d->save_raw(d->state, w);
    else
        save_fields(d->fields, d->state, w);
}

/* One pass over a payload: loading (checks on) or locating a field (checks
 * off, stops at the field). path is the current field's name, built as
 * the walk descends ("drive[1].pos"). */
struct walk {
    struct vmreader *r;
    bool check;
    const char *want;           /* locate: the path sought */
    long found;
    size_t found_size;
    char path[128];
    char *err;
    size_t errlen;
};

static int too_short(struct walk *k)
{
    snprintf(k->err, k->errlen, "section of %zu bytes is too short for its state", k->r->len);
    return -1;
}

/* Name the element being read: "name" or "name[i]" after prefix. */
static void name_elem(struct walk *k, size_t prefix, const struct vm_field *f, size_t i, bool array)
{
    if (array)
        snprintf(k->path + prefix, sizeof(k->path) - prefix, "%s[%zu]", f->name, i);
    else
        snprintf(k->path + prefix, sizeof(k->path) - prefix, "%s", f->name);
}

/* True when the walk has reached the field sought (locate mode). */
static bool at_wanted(struct walk *k, size_t elem_size)
{
    if (!k->want || strcmp(k->path, k->want))
        return false;
    k->found = (long)k->r->off;
    k->found_size = elem_size;
    return true;
}

static bool has_checks(const struct vm_field *f)
{
    return f->has_range || f->has_bits || f->valid;
}

/* The element's checks; its name is only spelled out for an error. */
static int check_uint(struct walk *k, size_t prefix, const struct vm_field *f, size_t i, bool array,
                      uint64_t v)
{
    const char *why;
    char detail[96];

    if (f->has_range && (v < f->min || v > f->max)) {
        why = "is out of range";
        snprintf(detail, sizeof(detail), "%llu-%llu", (unsigned long long)f->min,
                 (unsigned long long)f->max);
    } else if (f->has_bits && (v & ~f->bits)) {
        why = "has reserved bits set:";
        snprintf(detail, sizeof(detail), "%#llx", (unsigned long long)(v & ~f->bits));
    } else if (f->valid && !f->valid(v)) {
        why = "is not a valid value";
        detail[0] = '\0';
    } else {
        return 0;
    }
    name_elem(k, prefix, f, i, array);
    snprintf(k->err, k->errlen, "field %s = %#llx %s%s%s", k->path, (unsigned long long)v, why,
             detail[0] ? " " : "", detail);
    return -1;
}

/* 1: stop (field found), 0: go on, -1: error. */
static int load_fields(struct walk *k, const struct vm_field *f, uint8_t *s)
{
    size_t prefix = strlen(k->path);

    for (; f->name; f++) {
        uint8_t *p = s + f->offset;
        bool array = f->count > 1 || f->count_size;
        size_t n = f->count;
        int rc;

        if (f->count_size) {
            uint64_t v = get_native(s + f->count_offset, f->count_size);

            if (v > f->count) {
                name_elem(k, prefix, f, 0, false);
                snprintf(k->err, k->errlen, "field %s: %llu elements, at most %zu", k->path,
                         (unsigned long long)v, f->count);
                return -1;
            }
            n = (size_t)v;
        }
        if (k->want) {
            name_elem(k, prefix, f, 0, false);
            if (at_wanted(k, f->type == VMF_LIVEBUF ? 4 : f->size))
                return 1;               /* an array by its name: its first element */
        }
        switch (f->type) {
        case VMF_UINT:
            if (f->size == 1 && !k->want && !has_checks(f)) {
                vm_get(k->r, p, n);         /* bytes without rules: as they are */
                if (k->r->err)
                    return too_short(k);
                break;
            }
            for (size_t i = 0; i < n; i++) {
                uint8_t b[8] = { 0 };
                uint64_t v;

                if (k->want) {
                    name_elem(k, prefix, f, i, array);
                    if (at_wanted(k, f->size))
                        return 1;
                }
                vm_get(k->r, b, f->size);
                if (k->r->err)
                    return too_short(k);
                v = get_le64(b);
                if (k->check && check_uint(k, prefix, f, i, array, v) < 0)
                    return -1;
                set_native(p + i * f->size, f->size, v);
            }
            break;
        case VMF_STRUCT:
            for (size_t i = 0; i < n; i++) {
                name_elem(k, prefix, f, i, array);
                strncat(k->path, ".", sizeof(k->path) - strlen(k->path) - 1);
                rc = load_fields(k, f->fields, p + i * f->size);
                if (rc)
                    return rc;
            }
            break;
        case VMF_LIVEBUF: {
            uint32_t len, min;

            len = vm_get_u32(k->r);
            if (k->r->err)
                return too_short(k);
            min = live_len(f, s);
            if (k->check && (len > f->size || len < min)) {
                name_elem(k, prefix, f, 0, false);
                snprintf(k->err, k->errlen, "field %s: %u live bytes, expected %u-%zu", k->path,
                         len, min, f->size);
                return -1;
            }
            if (len > f->size)
                len = (uint32_t)f->size;
            vm_get(k->r, p, len);
            if (k->r->err)
                return too_short(k);
            memset(p + len, 0, f->size - len);
            break;
        }
        }
    }
    k->path[prefix] = '\0';
    return 0;
}

int vmstate_load(const struct vmstate_dev *d, void *staging, struct vmreader *r, char *err, size_t errlen)
{
    struct walk k = { .r = r, .check = true, .found = -1, .err = err, .errlen = errlen };

    if (d->load_raw)
        return d->load_raw(staging, r, err, errlen);
    if (load_fields(&k, d->fields, staging) < 0)
        return -1;
    return d->check ? d->check(d->state, staging, err, errlen) : 0;
}

long vmstate_field_at(const struct vmstate_dev *d, const uint8_t *payload, size_t len,
                      const char *path, size_t *size_r)
{
    struct vmreader r = { .p = payload, .len = len };
    char err[256];
    struct walk k = { .r = &r, .want = path, .found = -1, .err = err, .errlen = sizeof(err) };
    uint8_t *scratch;

    if (!d || !d->fields || !path)
        return -1;
    scratch = calloc(1, d->state_size ? d->state_size : 1);
    if (!scratch)
        return -1;
    memcpy(scratch, d->state, d->state_size);
    if (load_fields(&k, d->fields, scratch) != 1)
        k.found = -1;
    free(scratch);
    if (k.found >= 0 && size_r)
        *size_r = k.found_size;
    return k.found;
}

static bool is_uint_size(size_t n)
{
    return n == 1 || n == 2 || n == 4 || n == 8;
}

int vmstate_check_fields(const struct vm_field *fields, size_t struct_size, char *err, size_t errlen)
{
    for (const struct vm_field *f = fields; f && f->name; f++) {
        size_t bytes = f->type == VMF_LIVEBUF ? f->size : f->size * f->count;
        bool counted = false;

        if ((f->type == VMF_UINT && !is_uint_size(f->size)) || !f->count ||
            f->offset > struct_size || bytes > struct_size - f->offset ||
            (f->type == VMF_STRUCT && (!f->fields || !f->size)) ||
            (f->type == VMF_LIVEBUF && (!f->live || f->size > VMSTATE_MAX_SECTION))) {
            snprintf(err, errlen, "field %s does not fit its struct", f->name);
            return -1;
        }
        for (const struct vm_field *g = fields; f->count_size && g < f; g++)
            counted |= g->type == VMF_UINT && g->count == 1 && !g->count_size &&
                       g->offset == f->count_offset && g->size == f->count_size;
        if (f->count_size && !counted) {
            snprintf(err, errlen, "field %s: its count is not an earlier integer field", f->name);
            return -1;
        }
        if (f->type == VMF_STRUCT && vmstate_check_fields(f->fields, f->size, err, errlen) < 0)
            return -1;
    }
    if (!fields) {
        snprintf(err, errlen, "no field table");
        return -1;
    }
    return 0;
}
