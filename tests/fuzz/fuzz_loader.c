/* libFuzzer over the device-state loader (dm/migration.c). Synthetic
 * devices with the same kinds of fields real devices have (register files,
 * a FIFO with a fill level, a PIO buffer with position/end) sit behind the
 * real stream parser. Input byte 0 picks the mode: even = the rest is the
 * stream as is; odd = the declared length and CRC are fixed up first, so the
 * fuzzer gets past the checksum into the structure and device parsers.
 * Invariant checked: a rejected stream changes no live state.
 * FUZZ_LOADER_WRITE_SEED=DIR writes the two seed inputs and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/config.h"
#include "dm/migration.h"
#include "dm/vmstate.h"

struct fz_regs {
    uint32_t regs[8];
    uint8_t fifo[16];
    uint8_t fifo_len;
};

struct fz_pio {
    uint8_t buf[2048];
    uint16_t pos, end;
};

static struct fz_regs regs_live;
static struct fz_pio pio_live;
static struct xsdm_config cfg;

static void regs_save(const void *state, struct vmwriter *w)
{
    const struct fz_regs *s = state;

    for (int i = 0; i < 8; i++)
        vm_put_u32(w, s->regs[i]);
    vm_put_u8(w, s->fifo_len);
    vm_put(w, s->fifo, s->fifo_len);
}

static int regs_load(void *staging, struct vmreader *r, char *err, size_t errlen)
{
    struct fz_regs *s = staging;

    for (int i = 0; i < 8; i++)
        s->regs[i] = vm_get_u32(r);
    s->fifo_len = vm_get_u8(r);
    if (s->fifo_len > sizeof(s->fifo)) {
        snprintf(err, errlen, "fifo length %u", s->fifo_len);
        return -1;
    }
    vm_get(r, s->fifo, s->fifo_len);
    return 0;
}

static void pio_save(const void *state, struct vmwriter *w)
{
    const struct fz_pio *s = state;

    vm_put_u16(w, s->pos);
    vm_put_u16(w, s->end);
    vm_put(w, s->buf, s->end);
}

static int pio_load(void *staging, struct vmreader *r, char *err, size_t errlen)
{
    struct fz_pio *s = staging;

    s->pos = vm_get_u16(r);
    s->end = vm_get_u16(r);
    if (s->end > sizeof(s->buf) || s->pos > s->end) {
        snprintf(err, errlen, "position %u/%u", s->pos, s->end);
        return -1;
    }
    vm_get(r, s->buf, s->end);
    return 0;
}

static void setup_once(void)
{
    static int done;
    struct vmstate_dev a = {
        .name = "fz-regs", .version = 1, .state = &regs_live, .state_size = sizeof(regs_live),
        .save = regs_save, .load = regs_load,
    };
    struct vmstate_dev b = {
        .name = "fz-pio", .version = 2, .state = &pio_live, .state_size = sizeof(pio_live),
        .save = pio_save, .load = pio_load,
    };

    if (done)
        return;
    done = 1;
    cfg.xen_platform = true;
    cfg.drives[2].present = true;
    cfg.drives[2].media = MEDIA_CDROM;
    cfg.drives[2].readonly = true;
    snprintf(cfg.drives[2].id, sizeof(cfg.drives[2].id), "ide-5632");
    snprintf(cfg.drives[2].file, sizeof(cfg.drives[2].file), "/srv/iso/a.iso");
    if (vmstate_register(&a) || vmstate_register(&b))
        abort();
}

static void set_live(void)
{
    for (int i = 0; i < 8; i++)
        regs_live.regs[i] = 0x11111111u * (unsigned)i;
    regs_live.fifo_len = 3;
    memcpy(regs_live.fifo, "abc", 3);
    pio_live.end = 512;
    pio_live.pos = 256;
    for (int i = 0; i < 512; i++)
        pio_live.buf[i] = (uint8_t)i;
}

static void write_seed(const char *dir)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256], path[512];

    set_live();
    if (migration_save_buf(&cfg, &buf, &len, err, sizeof(err))) {
        fprintf(stderr, "save: %s\n", err);
        exit(1);
    }
    for (int mode = 0; mode < 2; mode++) {
        FILE *f;
        uint8_t m = (uint8_t)mode;

        snprintf(path, sizeof(path), "%s/stream-%s", dir, mode ? "restamped" : "raw");
        f = fopen(path, "wb");
        if (!f || fwrite(&m, 1, 1, f) != 1 || fwrite(buf, 1, len, f) != len || fclose(f)) {
            perror(path);
            exit(1);
        }
    }
    free(buf);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_LOADER_WRITE_SEED");

    (void)argc;
    (void)argv;
    setup_once();
    if (dir)
        write_seed(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_regs regs_before;
    struct fz_pio pio_before;
    uint8_t *buf;
    size_t len;
    char err[256];

    if (size < 1 || size > MIGRATION_MAX_STREAM + 1)
        return 0;
    setup_once();
    len = size - 1;
    buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    if ((data[0] & 1) && len >= MIGRATION_HDR_FIXED + MIGRATION_TRAILER) {
        uint32_t crc;

        buf[12] = (uint8_t)len;
        buf[13] = (uint8_t)(len >> 8);
        buf[14] = (uint8_t)(len >> 16);
        buf[15] = (uint8_t)(len >> 24);
        crc = migration_crc32c(0, buf, len - 4);
        for (int i = 0; i < 4; i++)
            buf[len - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    set_live();
    regs_before = regs_live;
    pio_before = pio_live;
    err[0] = '\0';
    if (migration_load_buf(&cfg, buf, len, err, sizeof(err))) {
        if (!err[0] || memcmp(&regs_before, &regs_live, sizeof(regs_live)) ||
            memcmp(&pio_before, &pio_live, sizeof(pio_live)))
            abort();
    } else if (regs_live.fifo_len > sizeof(regs_live.fifo) || pio_live.end > sizeof(pio_live.buf) ||
               pio_live.pos > pio_live.end) {
        abort();        /* accepted something a load() should have refused */
    }
    free(buf);
    return 0;
}
