/* The device-state stream in-process, with synthetic registered devices:
 * roundtrip, and the bad-stream matrix on a real stream produced by the
 * writer (every truncation, every single bit flip, wrong magic / version /
 * machine, extra / missing / duplicate devices, oversized and short
 * sections, trailing garbage, invalid fields, media mismatches). Every
 * rejection must name the problem and leave live state untouched. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/core/bytes.h"
#include "dm/core/config.h"
#include "dm/core/vmstate.h"
#include "dm/state/migration.h"
#include "tests/lib/ckrun.h"

/* ---- synthetic devices ---- */

struct synth_a {            /* a UART-like register file with a FIFO */
    uint32_t regs[8];
    uint8_t fifo[16];
    uint8_t fifo_len;
    uint8_t mode;           /* 0-3 */
};

struct synth_b {            /* a PIO transfer: only the valid part is saved */
    uint8_t buf[4096];
    uint16_t pos, end;      /* pos <= end <= sizeof(buf) */
    uint8_t status;
};

struct synth_c {
    uint64_t counter;
};

struct synth_big {          /* saves more than a section may hold */
    uint8_t junk[VMSTATE_MAX_SECTION + 1];
};

static struct synth_a a_live;
static struct synth_b b_live;
static struct synth_c c_live, x_live;
static struct synth_big big_live;
static int post_a, post_b, post_c, post_x;

static const struct vm_field a_fields[] = {
    VMF_ARRAY(struct synth_a, regs),
    VMF_UINT(struct synth_a, fifo_len),
    VMF_ARRAY_V(struct synth_a, fifo, fifo_len),
    VMF_UINT(struct synth_a, mode, VM_MAX(3)),
    VMF_END
};

static const struct vm_field b_fields[] = {
    VMF_UINT(struct synth_b, pos),
    VMF_UINT(struct synth_b, end),
    VMF_UINT(struct synth_b, status),
    VMF_ARRAY_V(struct synth_b, buf, end),
    VMF_END
};

static int b_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct synth_b *s = staging;

    if (s->pos > s->end) {
        snprintf(err, errlen, "transfer position %u/%u out of range", s->pos, s->end);
        return -1;
    }
    return 0;
}

static const struct vm_field c_fields[] = {
    VMF_UINT(struct synth_c, counter),
    VMF_END
};

static const struct vm_field big_fields[] = {
    VMF_ARRAY(struct synth_big, junk),
    VMF_END
};

static void c_raw_save(const void *state, struct vmwriter *w)
{
    vm_put_u64(w, ((const struct synth_c *)state)->counter);
}

static void count_post(void *opaque)
{
    (*(int *)opaque)++;
}

static void reg(const char *name, uint32_t version, void *state, size_t size,
                const struct vm_field *fields,
                int (*check)(const void *, void *, char *, size_t), int *post)
{
    struct vmstate_dev d = {
        .name = name, .version = version, .state = state, .state_size = size,
        .fields = fields, .check = check, .post_load = count_post, .opaque = post,
    };
    ck_assert_int_eq(vmstate_register(&d), 0);
}

/* Register the standard set; with_extra adds "synth-x". */
static void register_devs(bool with_extra)
{
    vmstate_unregister_all();
    reg("synth-a", 1, &a_live, sizeof(a_live), a_fields, NULL, &post_a);
    reg("synth-b", 2, &b_live, sizeof(b_live), b_fields, b_check, &post_b);
    reg("synth-c", 3, &c_live, sizeof(c_live), c_fields, NULL, &post_c);
    if (with_extra)
        reg("synth-x", 1, &x_live, sizeof(x_live), c_fields, NULL, &post_x);
}

/* Non-default state everywhere, mid-transfer included. */
static void set_state(unsigned seed)
{
    memset(&a_live, 0, sizeof(a_live));
    memset(&b_live, 0, sizeof(b_live));
    for (int i = 0; i < 8; i++)
        a_live.regs[i] = 0x01020304u * (seed + (unsigned)i + 1);
    a_live.fifo_len = 5;
    for (int i = 0; i < 5; i++)
        a_live.fifo[i] = (uint8_t)(seed + 0x40 + (unsigned)i);
    a_live.mode = (uint8_t)(seed % 4);
    b_live.end = 300;
    b_live.pos = 128;
    b_live.status = (uint8_t)(0x58 + seed);
    for (int i = 0; i < b_live.end; i++)
        b_live.buf[i] = (uint8_t)(i * 7 + seed);
    c_live.counter = 0x1122334455667788ull + seed;
    x_live.counter = 42 + seed;
}

struct snap {
    struct synth_a a;
    struct synth_b b;
    struct synth_c c, x;
    int post_a, post_b, post_c, post_x;
};

static void take(struct snap *s)
{
    s->a = a_live;
    s->b = b_live;
    s->c = c_live;
    s->x = x_live;
    s->post_a = post_a;
    s->post_b = post_b;
    s->post_c = post_c;
    s->post_x = post_x;
}

static bool same_live(const struct snap *s)
{
    return !memcmp(&s->a, &a_live, sizeof(a_live)) && !memcmp(&s->b, &b_live, sizeof(b_live)) &&
           !memcmp(&s->c, &c_live, sizeof(c_live)) && !memcmp(&s->x, &x_live, sizeof(x_live)) &&
           s->post_a == post_a && s->post_b == post_b && s->post_c == post_c &&
           s->post_x == post_x;
}

static struct xsdm_config cfg;

static void cfg_xenfv(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.xen_platform = true;
    cfg.incoming_fd = -1;
    cfg.domid = -1;
}

static uint8_t *save_stream(size_t *len)
{
    uint8_t *buf = NULL;
    char err[256] = "";

    ck_assert_msg(migration_save_buf(&cfg, &buf, len, err, sizeof(err)) == 0, "save: %s", err);
    ck_assert_ptr_nonnull(buf);
    return buf;
}

/* After editing a stream: fix the declared length and the CRC so only the
 * semantic problem under test remains. */
static void restamp(uint8_t *buf, size_t len)
{
    put_le32(buf + 12, (uint32_t)len);
    put_le32(buf + len - 4, migration_crc32c(0, buf, len - 4));
}

/* Offset of section i's header (u16 index, u32 length) by walking the format. */
static size_t section_at(const uint8_t *buf, int i)
{
    size_t off = MIGRATION_HDR_FIXED;
    unsigned n;

    off += 1 + buf[off];
    n = get_le16(buf + off);
    off += 2;
    for (unsigned k = 0; k < n; k++)
        off += 1 + buf[off] + 4;
    for (int k = 0; k < i; k++)
        off += 6 + get_le32(buf + off + 2);
    return off;
}

/* A rejection naming `what`, with live state untouched? On failure, why
 * says what went wrong. Loops call this and assert once: libcheck's fork
 * mode does not cope with tens of thousands of assertion records. */
static bool rejected_ok(const uint8_t *buf, size_t len, const char *what, char *why, size_t whylen)
{
    struct snap before;
    char err[256] = "";

    take(&before);
    if (migration_load_buf(&cfg, buf, len, err, sizeof(err)) != -1) {
        snprintf(why, whylen, "accepted (expected an error naming '%s')", what);
        return false;
    }
    if (!strstr(err, what)) {
        snprintf(why, whylen, "error '%s' does not name '%s'", err, what);
        return false;
    }
    if (!same_live(&before)) {
        snprintf(why, whylen, "live state changed by a rejected stream (%s)", err);
        return false;
    }
    return true;
}

static void expect_reject(const uint8_t *buf, size_t len, const char *what)
{
    char why[512] = "";

    ck_assert_msg(rejected_ok(buf, len, what, why, sizeof(why)), "%s", why);
}

static void setup(void)
{
    cfg_xenfv();
    post_a = post_b = post_c = post_x = 0;
    register_devs(false);
    set_state(1);
}

static void teardown(void)
{
    vmstate_unregister_all();
}

START_TEST(roundtrip)
{
    struct snap saved;
    size_t len;
    uint8_t *buf = save_stream(&len);
    char err[256] = "";

    ck_assert_uint_lt(len, MIGRATION_MAX_STREAM);
    ck_assert_int_eq(memcmp(buf, MIGRATION_MAGIC, 8), 0);
    take(&saved);
    set_state(2);                               /* the guest moved on */
    ck_assert(!same_live(&saved));
    ck_assert_msg(migration_load_buf(&cfg, buf, len, err, sizeof(err)) == 0, "load: %s", err);
    ck_assert_int_eq(memcmp(&a_live, &saved.a, sizeof(a_live)), 0);
    ck_assert_int_eq(memcmp(&b_live, &saved.b, sizeof(b_live)), 0);
    ck_assert_int_eq(memcmp(&c_live, &saved.c, sizeof(c_live)), 0);
    ck_assert_int_eq(post_a, 1);
    ck_assert_int_eq(post_b, 1);
    ck_assert_int_eq(post_c, 1);
    /* Saving the restored state gives the same bytes. */
    {
        size_t len2;
        uint8_t *buf2 = save_stream(&len2);

        ck_assert_uint_eq(len2, len);
        ck_assert_int_eq(memcmp(buf, buf2, len), 0);
        free(buf2);
    }
    free(buf);
}
END_TEST

START_TEST(truncation_every_byte)
{
    size_t len, cut;
    uint8_t *buf = save_stream(&len);
    char why[512] = "";
    bool good = true;

    set_state(3);
    for (cut = 0; cut < len && good; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);

        memcpy(copy, buf, cut);
        good = rejected_ok(copy, cut, "truncated", why, sizeof(why));
        free(copy);
    }
    ck_assert_msg(good, "cut at %zu of %zu: %s", cut - 1, len, why);
    ck_assert_uint_eq(cut, len);
    free(buf);
}
END_TEST

/* Which message a flip of byte `off` must produce. */
static const char *flip_expect(size_t off, size_t len)
{
    if (off < 8)
        return "magic";
    if (off < 12)
        return "version";
    if (off < 16)
        return NULL;                    /* length: truncated / trailing / bad declared length */
    if (off >= len - 8 && off < len - 4)
        return "end marker";
    return "checksum";
}

START_TEST(bitflip_every_bit)
{
    size_t len, flips = 0;
    uint8_t *buf = save_stream(&len);
    char why[512] = "", what_len[3][20] = { "truncated", "trailing", "declared length" };
    bool good = true;

    set_state(4);
    for (size_t off = 0; off < len && good; off++) {
        for (int bit = 0; bit < 8 && good; bit++) {
            const char *want = flip_expect(off, len);

            buf[off] ^= (uint8_t)(1u << bit);
            if (want) {
                good = rejected_ok(buf, len, want, why, sizeof(why));
            } else {
                /* The length field: any of three messages names it. */
                good = false;
                for (int k = 0; k < 3 && !good; k++)
                    good = rejected_ok(buf, len, what_len[k], why, sizeof(why));
            }
            if (!good)
                snprintf(why + strlen(why), sizeof(why) - strlen(why), " [flip %zu.%d]", off, bit);
            buf[off] ^= (uint8_t)(1u << bit);
            flips++;
        }
    }
    ck_assert_msg(good, "%s", why);
    ck_assert_uint_eq(flips, len * 8);
    free(buf);
}
END_TEST

/* A flipped bit with a valid CRC (an attacker-built stream): the loader
 * must either reject it with a message and no change, or accept it whole. */
START_TEST(bitflip_restamped_every_bit)
{
    size_t len;
    uint8_t *buf = save_stream(&len);
    char err[256], why[512] = "";
    int accepted = 0, rejected = 0;

    for (size_t off = MIGRATION_HDR_FIXED; off < len - MIGRATION_TRAILER && !why[0]; off++) {
        for (int bit = 0; bit < 8 && !why[0]; bit++) {
            struct snap before;

            set_state(5);
            take(&before);
            buf[off] ^= (uint8_t)(1u << bit);
            restamp(buf, len);
            err[0] = '\0';
            if (migration_load_buf(&cfg, buf, len, err, sizeof(err)) == 0) {
                accepted++;
                if (post_a != before.post_a + 1 || post_b != before.post_b + 1 ||
                    post_c != before.post_c + 1)
                    snprintf(why, sizeof(why), "flip %zu.%d accepted without every post_load", off, bit);
            } else {
                rejected++;
                if (!err[0])
                    snprintf(why, sizeof(why), "flip %zu.%d rejected without a message", off, bit);
                else if (!same_live(&before))
                    snprintf(why, sizeof(why), "flip %zu.%d: '%s' changed live state", off, bit, err);
            }
            buf[off] ^= (uint8_t)(1u << bit);
        }
    }
    ck_assert_msg(!why[0], "%s", why);
    /* Register/FIFO payload bits are free-form, structure bits are not. */
    ck_assert_int_gt(accepted, 0);
    ck_assert_int_gt(rejected, 0);
    free(buf);
}
END_TEST

START_TEST(wrong_magic_version_machine)
{
    size_t len;
    uint8_t *buf = save_stream(&len);

    buf[0] = 'Q';
    restamp(buf, len);
    expect_reject(buf, len, "bad magic");
    buf[0] = 'X';
    put_le32(buf + 8, 2);
    restamp(buf, len);
    expect_reject(buf, len, "unsupported format version 2");
    put_le32(buf + 8, MIGRATION_FORMAT_VERSION);
    restamp(buf, len);
    {
        char err[256] = "";
        ck_assert_msg(migration_load_buf(&cfg, buf, len, err, sizeof(err)) == 0, "%s", err);
    }
    /* Saved as "pc", loaded by "xenfv". */
    free(buf);
    cfg.xen_platform = false;
    buf = save_stream(&len);
    cfg.xen_platform = true;
    expect_reject(buf, len, "machine mismatch: stream was saved by machine 'pc', this DM is 'xenfv'");
    free(buf);
}
END_TEST

START_TEST(extra_missing_duplicate_device)
{
    size_t len;
    uint8_t *buf;

    register_devs(true);
    buf = save_stream(&len);
    register_devs(false);
    expect_reject(buf, len, "extra device: the stream has device 'synth-x'");
    free(buf);

    buf = save_stream(&len);
    register_devs(true);
    expect_reject(buf, len, "missing device: 'synth-x'");
    free(buf);

    /* "synth-b" renamed "synth-a" in the device list: a duplicate. */
    register_devs(false);
    buf = save_stream(&len);
    {
        uint8_t *p = memmem(buf, len, "synth-b", 7);

        ck_assert_ptr_nonnull(p);
        p[6] = 'a';
        restamp(buf, len);
        expect_reject(buf, len, "device 'synth-a' appears twice");
    }
    free(buf);
}
END_TEST

START_TEST(device_version_mismatch)
{
    size_t len;
    uint8_t *buf = save_stream(&len);

    vmstate_unregister_all();
    reg("synth-a", 1, &a_live, sizeof(a_live), a_fields, NULL, &post_a);
    reg("synth-b", 2, &b_live, sizeof(b_live), b_fields, b_check, &post_b);
    reg("synth-c", 4, &c_live, sizeof(c_live), c_fields, NULL, &post_c);
    expect_reject(buf, len, "device 'synth-c': stream has version 3, this DM reads version 4");
    free(buf);
}
END_TEST

/* Grow section i by `extra` zero bytes (its length field too). */
static uint8_t *grow_section(const uint8_t *buf, size_t len, int i, size_t extra, size_t *len_r)
{
    size_t off = section_at(buf, i);
    size_t end = off + 6 + get_le32(buf + off + 2);
    uint8_t *out = calloc(1, len + extra);

    memcpy(out, buf, end);
    memcpy(out + end + extra, buf + end, len - end);
    put_le32(out + off + 2, get_le32(buf + off + 2) + (uint32_t)extra);
    *len_r = len + extra;
    restamp(out, *len_r);
    return out;
}

START_TEST(oversized_and_short_sections)
{
    size_t len, len2;
    uint8_t *buf = save_stream(&len);
    uint8_t *big;

    set_state(6);
    /* Bytes the device does not consume. */
    big = grow_section(buf, len, 0, 3, &len2);
    expect_reject(big, len2, "oversized section 'synth-a': 3 unexpected bytes");
    free(big);
    /* Past the per-section limit (the stream itself stays under its limit). */
    big = grow_section(buf, len, 1, VMSTATE_MAX_SECTION, &len2);
    ck_assert_uint_lt(len2, MIGRATION_MAX_STREAM);
    expect_reject(big, len2, "exceeds the 65536-byte section limit");
    free(big);
    /* A length field running past the end of the stream. */
    {
        size_t off = section_at(buf, 2);

        put_le32(buf + off + 2, 1000);
        restamp(buf, len);
        expect_reject(buf, len, "oversized section 'synth-c': 1000 bytes overruns the stream");
        put_le32(buf + off + 2, 8);
        restamp(buf, len);
    }
    /* A section one byte short of its state: shrink synth-c to 7 bytes. */
    {
        size_t off = section_at(buf, 2);
        uint8_t *shortb = malloc(len - 1);

        memcpy(shortb, buf, off + 6 + 7);
        memcpy(shortb + off + 6 + 7, buf + off + 6 + 8, len - (off + 6 + 8));
        put_le32(shortb + off + 2, 7);
        restamp(shortb, len - 1);
        expect_reject(shortb, len - 1, "device 'synth-c': section of 7 bytes is too short");
        free(shortb);
    }
    /* Garbage between the last section and the trailer. */
    {
        uint8_t *g = malloc(len + 2);

        memcpy(g, buf, len - 8);
        g[len - 8] = 0xde;
        g[len - 7] = 0xad;
        memcpy(g + len - 6, buf + len - 8, 8);
        restamp(g, len + 2);
        expect_reject(g, len + 2, "garbage between the last section and the trailer");
        free(g);
    }
    /* Sections out of order. */
    {
        size_t off = section_at(buf, 1);

        buf[off] = 2;
        restamp(buf, len);
        expect_reject(buf, len, "section 1 ('synth-b'): found index 2");
    }
    free(buf);
}
END_TEST

START_TEST(trailing_garbage)
{
    size_t len;
    uint8_t *buf = save_stream(&len);
    uint8_t *g = malloc(len + 100);

    memcpy(g, buf, len);
    memset(g + len, 0, 100);
    for (size_t extra = 1; extra <= 100; extra += 33)
        expect_reject(g, len + extra, "trailing garbage");
    free(g);
    free(buf);
}
END_TEST

/* The payload of section i, and the offset in buf of one of its fields. */
static size_t field_in_stream(const uint8_t *buf, int i, const char *dev, const char *field)
{
    size_t off = section_at(buf, i);
    long at = vmstate_field_at(vmstate_find(dev), buf + off + 6, get_le32(buf + off + 2), field, NULL);

    ck_assert_msg(at >= 0, "no field %s in %s", field, dev);
    return off + 6 + (size_t)at;
}

START_TEST(invalid_device_fields)
{
    size_t len;
    uint8_t *buf = save_stream(&len);
    size_t at;

    set_state(7);
    at = field_in_stream(buf, 0, "synth-a", "fifo_len");
    buf[at] = 200;
    restamp(buf, len);
    expect_reject(buf, len, "device 'synth-a': field fifo: 200 elements, at most 16");
    buf[at] = 5;
    at = field_in_stream(buf, 0, "synth-a", "mode");
    buf[at] = 4;
    restamp(buf, len);
    expect_reject(buf, len, "device 'synth-a': field mode = 0x4 is out of range 0-3");
    buf[at] = 1;
    /* synth-b: pos > end. */
    at = field_in_stream(buf, 1, "synth-b", "pos");
    buf[at] = 0xff;
    buf[at + 1] = 0x0f;
    restamp(buf, len);
    expect_reject(buf, len, "device 'synth-b': transfer position 4095/300 out of range");
    free(buf);
}
END_TEST

START_TEST(device_list_garbage)
{
    size_t len;
    uint8_t *buf = save_stream(&len);
    size_t nd = MIGRATION_HDR_FIXED + 1 + buf[MIGRATION_HDR_FIXED];

    buf[nd] = 0;
    buf[nd + 1] = 0;
    restamp(buf, len);
    expect_reject(buf, len, "bad device count 0");
    buf[nd] = 200;
    restamp(buf, len);
    expect_reject(buf, len, "bad device count 200");
    buf[nd] = 4;
    buf[nd + 3] = ' ';          /* first device name gets a space */
    restamp(buf, len);
    expect_reject(buf, len, "bad name for device 0");
    buf[MIGRATION_HDR_FIXED] = 0;
    restamp(buf, len);
    expect_reject(buf, len, "bad machine name");
    free(buf);
}
END_TEST

/* ---- media ---- */

static struct vmstate_media prov[CFG_MAX_DRIVES];

static void provider(void *opaque, int index, struct vmstate_media *out)
{
    (void)opaque;
    *out = prov[index];
}

static void cd_drive(int idx, const char *id, const char *file)
{
    struct drive_spec *d = &cfg.drives[idx];

    d->present = true;
    d->media = MEDIA_CDROM;
    d->readonly = true;
    d->bus = idx / 2;
    d->unit = idx % 2;
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->file, sizeof(d->file), "%s", file);
}

START_TEST(media_from_cfg)
{
    size_t len;
    uint8_t *buf;
    char err[256] = "";

    cd_drive(2, "ide-5632", "/srv/iso/a.iso");
    buf = save_stream(&len);
    /* Same media on restore: fine. */
    ck_assert_msg(migration_load_buf(&cfg, buf, len, err, sizeof(err)) == 0, "%s", err);
    /* Restore argv without the ISO: explicit error, nothing applied. */
    cfg.drives[2].file[0] = '\0';
    expect_reject(buf, len, "media mismatch: drive ide-5632 had a medium when saved but the "
                  "restore command line gives none");
    free(buf);
    /* Saved empty, restored with a medium. */
    buf = save_stream(&len);
    snprintf(cfg.drives[2].file, sizeof(cfg.drives[2].file), "/srv/iso/b.iso");
    expect_reject(buf, len, "was empty when saved but the restore command line gives a medium");
    /* Drive gone. */
    cfg.drives[2].present = false;
    expect_reject(buf, len, "drive 'ide-5632' (index 2) was in the saved machine but is missing");
    /* Different id at the same index. */
    cd_drive(2, "ide-768", "");
    expect_reject(buf, len, "drive index 2 is 'ide-5632' in the stream but 'ide-768'");
    free(buf);
    /* A drive the saved machine did not have. */
    memset(cfg.drives, 0, sizeof(cfg.drives));
    buf = save_stream(&len);
    cd_drive(1, "ide-1", "");
    expect_reject(buf, len, "is on the restore command line but was not in the saved machine");
    free(buf);
}
END_TEST

START_TEST(media_from_provider)
{
    size_t len;
    uint8_t *buf;
    char err[256] = "";

    /* The guest inserted a read-only ISO at runtime (provider), though the
     * original argv had none. */
    cd_drive(2, "ide-5632", "");
    memset(prov, 0, sizeof(prov));
    prov[2] = (struct vmstate_media){ .present = true, .cdrom = true, .inserted = true, .readonly = true };
    vmstate_set_media_provider(provider, NULL);
    buf = save_stream(&len);
    ck_assert_msg(migration_load_buf(&cfg, buf, len, err, sizeof(err)) == 0, "%s", err);
    prov[2].readonly = false;
    expect_reject(buf, len, "was read-only when saved, the restore command line makes it read-write");
    prov[2].readonly = true;
    prov[2].cdrom = false;
    expect_reject(buf, len, "was a CD-ROM, the restore command line makes it a disk");
    prov[2].cdrom = true;
    prov[2].inserted = false;
    expect_reject(buf, len, "had a medium when saved");
    free(buf);
}
END_TEST

/* ---- registration and limits ---- */

START_TEST(register_rejects)
{
    struct synth_c s;
    struct vmstate_dev d = {
        .name = "synth-a", .version = 1, .state = &s, .state_size = sizeof(s),
        .fields = c_fields,
    };
    char longname[VMSTATE_NAME_MAX + 2];

    ck_assert_int_eq(vmstate_register(&d), -1);         /* duplicate */
    d.name = "media";
    ck_assert_int_eq(vmstate_register(&d), -1);         /* reserved */
    d.name = "bad name";
    ck_assert_int_eq(vmstate_register(&d), -1);
    d.name = "";
    ck_assert_int_eq(vmstate_register(&d), -1);
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    d.name = longname;
    ck_assert_int_eq(vmstate_register(&d), -1);
    d.name = "ok";
    d.fields = NULL;
    ck_assert_int_eq(vmstate_register(&d), -1);         /* no table */
    ck_assert_int_eq(vmstate_count(), 3);
    ck_assert_ptr_nonnull(vmstate_find("synth-b"));
    ck_assert_ptr_null(vmstate_find("ok"));
    for (int i = vmstate_count(); i < VMSTATE_MAX_DEVS; i++) {
        char name[16];

        snprintf(name, sizeof(name), "fill%d", i);
        d.name = strdup(name);
        d.fields = c_fields;
        ck_assert_int_eq(vmstate_register(&d), 0);
    }
    d.name = "one-too-many";
    ck_assert_int_eq(vmstate_register(&d), -1);
    for (int i = 3; i < VMSTATE_MAX_DEVS; i++)
        free((void *)vmstate_get(i)->name);
    vmstate_unregister_all();
}
END_TEST

/* A table that does not describe its struct is refused at registration,
 * before any stream could be read with it. */
struct tbl {
    uint16_t n;
    uint8_t b[4];
    uint32_t w;
};

static uint32_t four(const void *s)
{
    return 4;
}

START_TEST(register_rejects_bad_tables)
{
    static struct tbl t;
    static const struct vm_field good[] = {
        VMF_UINT(struct tbl, n, VM_MAX(4)), VMF_ARRAY_V(struct tbl, b, n), VMF_UINT(struct tbl, w), VMF_END
    };
    static const struct vm_field past_end[] = {
        { .name = "w", .type = VMF_UINT, .offset = offsetof(struct tbl, w) + 2, .size = 4, .count = 1 },
        VMF_END
    };
    static const struct vm_field odd_size[] = {
        { .name = "b", .type = VMF_UINT, .offset = offsetof(struct tbl, b), .size = 3, .count = 1 },
        VMF_END
    };
    static const struct vm_field count_after[] = {     /* the count must come first in the stream */
        VMF_ARRAY_V(struct tbl, b, n), VMF_UINT(struct tbl, n), VMF_END
    };
    static const struct vm_field count_not_a_field[] = {
        VMF_ARRAY_V(struct tbl, b, n), VMF_END
    };
    static const struct vm_field buf_no_live[] = {
        { .name = "b", .type = VMF_LIVEBUF, .offset = offsetof(struct tbl, b), .size = 4, .count = 1 },
        VMF_END
    };
    static const struct vm_field buf_live[] = {
        VMF_LIVEBUF(struct tbl, b, four), VMF_END
    };
    const struct vm_field *bad[] = { past_end, odd_size, count_after, count_not_a_field, buf_no_live };
    struct vmstate_dev d = { .name = "tbl", .version = 1, .state = &t, .state_size = sizeof(t) };

    vmstate_unregister_all();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.fields = bad[i];
        ck_assert_msg(vmstate_register(&d) == -1, "bad table %zu accepted", i);
    }
    d.fields = good;
    d.save_raw = c_raw_save;
    ck_assert_int_eq(vmstate_register(&d), -1);         /* raw encoders: the media section only */
    d.save_raw = NULL;
    ck_assert_int_eq(vmstate_register(&d), 0);
    d.name = "tbl2";
    d.fields = buf_live;
    ck_assert_int_eq(vmstate_register(&d), 0);
    ck_assert_int_eq(vmstate_count(), 2);
    vmstate_unregister_all();
}
END_TEST

/* Field lookup by name walks variable parts with the payload's own counts. */
START_TEST(field_offsets_by_name)
{
    const struct vmstate_dev *a = vmstate_find("synth-a"), *b = vmstate_find("synth-b");
    uint8_t pay[8192];
    struct vmwriter w = { .buf = pay, .cap = sizeof(pay) };
    size_t size = 0;

    vmstate_save(a, &w);
    ck_assert(!w.err);
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "regs", &size), 0);
    ck_assert_uint_eq(size, 4);
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "regs[3]", NULL), 12);
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "fifo_len", &size), 32);
    ck_assert_uint_eq(size, 1);
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "fifo[4]", NULL), 37);
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "mode", NULL), 33 + a_live.fifo_len);
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "fifo[5]", NULL), -1);     /* past fifo_len */
    ck_assert_int_eq(vmstate_field_at(a, pay, w.len, "nothing", NULL), -1);
    ck_assert_int_eq(vmstate_field_at(a, pay, 20, "mode", NULL), -1);           /* short payload */
    w.len = 0;
    vmstate_save(b, &w);
    ck_assert_uint_eq(w.len, 5 + b_live.end);
    ck_assert_int_eq(vmstate_field_at(b, pay, w.len, "status", NULL), 4);
    ck_assert_int_eq(vmstate_field_at(b, pay, w.len, "buf[299]", NULL), 5 + 299);
}
END_TEST

START_TEST(save_section_too_big)
{
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    char err[256] = "";

    reg("synth-big", 1, &big_live, sizeof(big_live), big_fields, NULL, &post_x);
    ck_assert_int_eq(migration_save_buf(&cfg, &buf, &len, err, sizeof(err)), -1);
    ck_assert_ptr_null(buf);
    ck_assert_msg(strstr(err, "device 'synth-big': state does not fit"), "%s", err);
}
END_TEST

/* ---- fds ---- */

START_TEST(fd_roundtrip_file)
{
    char path[] = "/tmp/test_vmstate.XXXXXX";
    int fd = mkstemp(path);
    size_t len, len2;
    uint8_t *buf = save_stream(&len), *buf2 = NULL;
    char err[256] = "";

    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(migration_write_all(fd, buf, len, err, sizeof(err)), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_int_eq(migration_read_all(fd, &buf2, &len2, err, sizeof(err)), 0);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(buf, buf2, len), 0);
    set_state(8);
    ck_assert_msg(migration_load_buf(&cfg, buf2, len2, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(a_live.mode, 1);
    close(fd);
    free(buf);
    free(buf2);
}
END_TEST

START_TEST(fd_read_too_large)
{
    char path[] = "/tmp/test_vmstate.XXXXXX";
    int fd = mkstemp(path);
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256] = "";

    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(ftruncate(fd, MIGRATION_MAX_STREAM + 1), 0);
    ck_assert_int_eq(migration_read_all(fd, &buf, &len, err, sizeof(err)), -1);
    ck_assert_ptr_null(buf);
    ck_assert_msg(strstr(err, "larger than"), "%s", err);
    close(fd);
}
END_TEST

START_TEST(fd_write_enospc)
{
    int fd = open("/dev/full", O_WRONLY);
    size_t len;
    uint8_t *buf = save_stream(&len);
    char err[256] = "";

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(migration_write_all(fd, buf, len, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, strerror(ENOSPC)), "%s", err);
    close(fd);
    free(buf);
}
END_TEST

START_TEST(fd_write_epipe)
{
    int p[2];
    size_t len;
    uint8_t *buf = save_stream(&len);
    char err[256] = "";
    struct sigaction old, ign = { .sa_handler = SIG_IGN };

    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    sigaction(SIGPIPE, &ign, &old);
    ck_assert_int_eq(migration_write_all(p[1], buf, len, err, sizeof(err)), -1);
    sigaction(SIGPIPE, &old, NULL);
    ck_assert_msg(strstr(err, strerror(EPIPE)), "%s", err);
    close(p[1]);
    free(buf);
}
END_TEST

/* RLIMIT_FSIZE below the stream size (libxl's is 256 KiB): EFBIG is an
 * error, not a SIGXFSZ death. In a child: the limit cannot be raised back. */
START_TEST(fd_write_efbig)
{
    size_t len;
    uint8_t *buf = save_stream(&len);
    pid_t pid;
    int status;

    ck_assert_uint_gt(len, 256);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = { 256, 256 };
        char path[] = "/tmp/test_vmstate.XXXXXX";
        char err[256] = "";
        int fd = mkstemp(path);

        signal(SIGXFSZ, SIG_IGN);
        if (fd < 0 || setrlimit(RLIMIT_FSIZE, &rl))
            _exit(2);
        unlink(path);
        if (migration_write_all(fd, buf, len, err, sizeof(err)) != -1)
            _exit(3);
        _exit(strstr(err, strerror(EFBIG)) && strstr(err, "after 256 of") ? 0 : 4);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
    free(buf);
}
END_TEST

START_TEST(crc32c_known_value)
{
    /* The CRC32C check value of "123456789" (RFC 3720 B.4 family). */
    ck_assert_uint_eq(migration_crc32c(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(migration_crc32c(migration_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}
END_TEST

static Suite *vmstate_suite(void)
{
    Suite *s = suite_create("vmstate");
    TCase *tc = tcase_create("stream");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, truncation_every_byte);
    tcase_add_test(tc, bitflip_every_bit);
    tcase_add_test(tc, bitflip_restamped_every_bit);
    tcase_add_test(tc, wrong_magic_version_machine);
    tcase_add_test(tc, extra_missing_duplicate_device);
    tcase_add_test(tc, device_version_mismatch);
    tcase_add_test(tc, oversized_and_short_sections);
    tcase_add_test(tc, trailing_garbage);
    tcase_add_test(tc, invalid_device_fields);
    tcase_add_test(tc, device_list_garbage);
    tcase_add_test(tc, media_from_cfg);
    tcase_add_test(tc, media_from_provider);
    tcase_add_test(tc, register_rejects);
    tcase_add_test(tc, register_rejects_bad_tables);
    tcase_add_test(tc, field_offsets_by_name);
    tcase_add_test(tc, save_section_too_big);
    tcase_add_test(tc, fd_roundtrip_file);
    tcase_add_test(tc, fd_read_too_large);
    tcase_add_test(tc, fd_write_enospc);
    tcase_add_test(tc, fd_write_epipe);
    tcase_add_test(tc, fd_write_efbig);
    tcase_add_test(tc, crc32c_known_value);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ck_run_suite(vmstate_suite());
}
