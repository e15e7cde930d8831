/* libFuzzer over the device-state loader (dm/state/migration.c) and every
 * device's field table: the real xenfv machine (PCI, both IDE channels with a
 * disk and a CD-ROM, PM, platform, COM1, i8042, port 92) is built in
 * process on a fake accelerator, plus two synthetic devices. Input byte 0
 * picks the mode: even = the rest is the stream as is; odd = the declared
 * length and CRC are fixed up first, so the fuzzer gets past the checksum
 * into the structure and device parsers.
 * Invariants: a rejected stream changes nothing (the machine re-saves to
 * the same bytes); an accepted one re-saves without error. The baseline
 * comes back from a copy of every device's state, not by loading it: a
 * stream may unplug a disk, and no stream plugs one back in.
 * FUZZ_LOADER_WRITE_SEED=DIR writes the two seed inputs and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/bytes.h"
#include "dm/core/config.h"
#include "dm/core/loop.h"
#include "dm/core/vmstate.h"
#include "dm/state/migration.h"
#include "dm/storage/ide-regs.h"

struct fz_pio {
    uint8_t buf[2048];
    uint16_t pos, end;
};

static struct fz_pio pio_live;
static struct xsdm_config cfg;
static struct machine machine;
static struct accel accel;
static uint8_t ram[1 << 20];
static uint8_t *baseline;
static size_t baseline_len;
static void *snapshot[VMSTATE_MAX_DEVS];

/* ---- a synthetic device with a length-prefixed buffer ---- */

static const struct vm_field pio_fields[] = {
    VMF_UINT(struct fz_pio, pos),
    VMF_UINT(struct fz_pio, end),
    VMF_ARRAY_V(struct fz_pio, buf, end),
    VMF_END
};

static int pio_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct fz_pio *s = staging;

    if (s->pos > s->end) {
        snprintf(err, errlen, "position %u/%u", s->pos, s->end);
        return -1;
    }
    return 0;
}

/* ---- the fake accelerator: RAM is a static buffer, IRQs go nowhere ---- */

static int fz_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    if (gpa > sizeof(ram) || len > sizeof(ram) - gpa)
        return -1;
    memcpy(buf, ram + gpa, len);
    return 0;
}

static int fz_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > sizeof(ram) || len > sizeof(ram) - gpa)
        return -1;
    memcpy(ram + gpa, buf, len);
    return 0;
}

static void fz_set_isa_irq(struct accel *a, unsigned irq, int level) { }
static void fz_shutdown(struct accel *a, enum shutdown_reason why) { }

static const struct accel_ops fz_ops = {
    .name = "fuzz",
    .mem_read = fz_mem_read,
    .mem_write = fz_mem_write,
    .set_isa_irq = fz_set_isa_irq,
    .shutdown = fz_shutdown,
};

static void outb(uint16_t port, uint8_t v) { io_write(&machine.bus, IO_PIO, port, v, 1); }
static uint16_t inw(uint16_t port) { return (uint16_t)io_read(&machine.bus, IO_PIO, port, 2); }

/* A disk and a CD-ROM image in memory, reachable by path before any
 * restriction (this process never restricts). */
static void image(struct drive_spec *d, int idx, enum drive_media media, size_t size)
{
    int fd = memfd_create("fuzz-image", 0);

    if (fd < 0 || ftruncate(fd, (off_t)size))
        abort();
    d->present = true;
    d->media = media;
    d->readonly = media == MEDIA_CDROM;
    d->bus = idx / 2;
    d->unit = idx % 2;
    snprintf(d->id, sizeof(d->id), media == MEDIA_CDROM ? "ide-5632" : "ide0-hd0");
    snprintf(d->file, sizeof(d->file), "/proc/self/fd/%d", fd);
}

static void setup_once(void)
{
    static int done;
    struct loop *l;
    struct vmstate_dev b = {
        .name = "fz-pio", .version = 2, .state = &pio_live, .state_size = sizeof(pio_live),
        .fields = pio_fields, .check = pio_check,
    };
    char err[256];

    if (done)
        return;
    done = 1;
    cfg.xen_platform = true;
    cfg.incoming_fd = -1;
    cfg.domid = -1;
    cfg.ram_mb = 1;
    snprintf(cfg.boot_order, sizeof(cfg.boot_order), "cda");   /* libxl's default */
    image(&cfg.drives[0], 0, MEDIA_DISK, 64 * 512);
    image(&cfg.drives[2], 2, MEDIA_CDROM, 16 * 2048);
    snprintf(cfg.chardevs[0].id, sizeof(cfg.chardevs[0].id), "fz-null");
    cfg.chardevs[0].kind = CHARDEV_NULL;
    cfg.chardevs[0].fd = -1;
    cfg.n_chardevs = 1;
    snprintf(cfg.serials[0].chardev, sizeof(cfg.serials[0].chardev), "fz-null");
    cfg.n_serials = 1;
    accel.ops = &fz_ops;
    accel.ram_size = sizeof(ram);
    l = loop_new();
    if (!l || machine_init(&machine, &cfg, &accel, l) || vmstate_register(&b))
        abort();

    /* Non-default state: COM1 loopback with queued bytes, PIRQ routes, a
     * half-read ATA transfer, a synthetic transfer in progress. */
    outb(0x3fb, 0x83);
    outb(0x3f8, 0x0c);
    outb(0x3fb, 0x03);
    outb(0x3fa, 0xc7);
    outb(0x3fc, 0x1b);
    outb(0x3f8, 'o');
    outb(0x3f8, 'k');
    outb(0x64, 0x20);
    outb(0x92, 0x02);
    io_write(&machine.bus, IO_PIO, 0xcf8, 0x80000860, 4);
    io_write(&machine.bus, IO_PIO, 0xcfc, 0x05800b0a, 4);
    outb(0x1f0 + ATA_REG_DEVICE, DEV_OBS | DEV_LBA);
    outb(0x1f0 + ATA_REG_NSECTOR, 2);
    outb(0x1f0 + ATA_REG_LBA_LOW, 3);
    outb(0x1f0 + ATA_REG_LBA_MID, 0);
    outb(0x1f0 + ATA_REG_LBA_HIGH, 0);
    outb(0x1f0 + ATA_REG_COMMAND, ATA_CMD_READ_SECTORS);
    for (int i = 0; i < 100; i++)
        (void)inw(0x1f0 + ATA_REG_DATA);
    pio_live.end = 512;
    pio_live.pos = 256;
    for (int i = 0; i < 512; i++)
        pio_live.buf[i] = (uint8_t)i;
    if (migration_save_buf(&cfg, &baseline, &baseline_len, err, sizeof(err))) {
        fprintf(stderr, "fuzz_loader: baseline save: %s\n", err);
        abort();
    }
    for (int i = 0; i < vmstate_count(); i++) {
        const struct vmstate_dev *d = vmstate_get(i);

        snapshot[i] = malloc(d->state_size ? d->state_size : 1);
        if (!snapshot[i])
            abort();
        memcpy(snapshot[i], d->state, d->state_size);
    }
}

/* Back to the baseline: the states copied back put in again what no stream
 * can (an unplugged disk); loading the baseline then re-derives the rest
 * (PCI config spaces and mappings, IRQ lines) as a restore does. */
static int restore_baseline(char *err, size_t errlen)
{
    for (int i = 0; i < vmstate_count(); i++)
        memcpy(vmstate_get(i)->state, snapshot[i], vmstate_get(i)->state_size);
    return migration_load_buf(&cfg, baseline, baseline_len, err, errlen);
}

static void write_seed(const char *dir)
{
    char path[512];

    for (int mode = 0; mode < 2; mode++) {
        FILE *f;
        uint8_t m = (uint8_t)mode;

        snprintf(path, sizeof(path), "%s/stream-%s", dir, mode ? "restamped" : "raw");
        f = fopen(path, "wb");
        if (!f || fwrite(&m, 1, 1, f) != 1 || fwrite(baseline, 1, baseline_len, f) != baseline_len ||
            fclose(f)) {
            perror(path);
            exit(1);
        }
    }
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
    uint8_t *buf, *now = NULL;
    size_t len, now_len = 0;
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
        put_le32(buf + 12, (uint32_t)len);
        put_le32(buf + len - 4, migration_crc32c(0, buf, len - 4));
    }
    err[0] = '\0';
    if (migration_load_buf(&cfg, buf, len, err, sizeof(err))) {
        /* Rejected: a message, and the machine exactly as it was. */
        if (!err[0] || migration_save_buf(&cfg, &now, &now_len, err, sizeof(err)) ||
            now_len != baseline_len || memcmp(now, baseline, now_len))
            abort();
    } else {
        /* Accepted: whatever was loaded must save again, and load again
         * into the machine it left. Then back to the baseline. */
        if (migration_save_buf(&cfg, &now, &now_len, err, sizeof(err)) ||
            migration_load_buf(&cfg, now, now_len, err, sizeof(err))) {
            fprintf(stderr, "fuzz_loader: accepted stream: %s\n", err);
            abort();
        }
        free(now);
        now = NULL;
        if (restore_baseline(err, sizeof(err)) ||
            migration_save_buf(&cfg, &now, &now_len, err, sizeof(err))) {
            fprintf(stderr, "fuzz_loader: back to the baseline: %s\n", err);
            abort();
        }
        if (now_len != baseline_len || memcmp(now, baseline, now_len)) {
            fprintf(stderr, "fuzz_loader: the baseline did not come back\n");
            abort();
        }
    }
    free(now);
    free(buf);
    return 0;
}
