/* libFuzzer over the qtest protocol server (dm/qtest-proto.c) driving the
 * whole xenfv machine, as the -qtest socket does: the input is split into
 * lines at '\n' (each cut to QTEST_MAX_LINE, like dm/accel-qtest.c) and
 * every line is executed against 1 MiB of guest RAM with the machine
 * attached, so port, MMIO and RAM commands reach every device. The
 * machine is built once and reset before every input; the pending output
 * is dropped after every line (it is bounded by QTEST_MAX_OUT anyway). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/accel.h"
#include "dm/config.h"
#include "dm/loop.h"
#include "dm/machine.h"
#include "dm/qtest-proto.h"

#define RAM_SIZE (1u << 20)

static uint8_t ram[RAM_SIZE];
static struct xsdm_config cfg;
static struct accel acc;
static struct machine mach;
static struct loop *loop;
static struct qtest_core core;
static char *line;

static int fz_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
        return -1;
    memcpy(buf, ram + gpa, len);
    return 0;
}

static int fz_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
        return -1;
    memcpy(ram + gpa, buf, len);
    return 0;
}

static void fz_isa_irq(struct accel *a, unsigned irq, int level)
{
    if (irq >= 16)
        abort();                    /* the machine must never pass a bad line */
    qtest_core_irq(&core, irq, level);
}

static int64_t fz_clock(struct accel *a)
{
    return core.clock_ns;
}

static const struct accel_ops fz_ops = {
    .name = "fuzz-qtest", .mem_read = fz_mem_read, .mem_write = fz_mem_write,
    .set_isa_irq = fz_isa_irq, .clock_ns = fz_clock,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[64];
    struct drive_spec *d;
    int fd;

    snprintf(path, sizeof(path), "/tmp/xsdm-fuzz-qtest-disk-%d", (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        abort();
    close(fd);
    cli_defaults(&cfg);
    cfg.accel = ACCEL_QTEST;
    cfg.xen_platform = true;
    cfg.no_shutdown = true;
    d = &cfg.drives[0];
    snprintf(d->id, sizeof(d->id), "ide0-hd0");
    snprintf(d->file, sizeof(d->file), "%s", path);
    d->media = MEDIA_DISK;
    d->present = true;
    snprintf(cfg.chardevs[0].id, sizeof(cfg.chardevs[0].id), "serial0");
    cfg.chardevs[0].kind = CHARDEV_NULL;
    cfg.chardevs[0].fd = -1;
    cfg.n_chardevs = 1;
    snprintf(cfg.serials[0].chardev, sizeof(cfg.serials[0].chardev), "serial0");
    cfg.n_serials = 1;
    loop = loop_new();
    acc.ops = &fz_ops;
    acc.ram_size = RAM_SIZE;
    line = malloc(QTEST_MAX_LINE + 1);
    if (!loop || !line || machine_init(&mach, &cfg, &acc, loop) < 0)
        abort();
    unlink(path);                   /* the open fd keeps it */
    core.m = &mach;
    core.ram = ram;
    core.ram_size = RAM_SIZE;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    memset(ram, 0, sizeof(ram));
    core.clock_ns = 0;
    core.intercept = false;
    core.intercept_path[0] = '\0';
    memset(core.irq_level, 0, sizeof(core.irq_level));
    core.out_overflow = false;
    machine_reset(&mach);
    mach.state = RUN_RUNNING;
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t n = end - off;

        if (n > QTEST_MAX_LINE)
            n = QTEST_MAX_LINE;     /* the accelerator refuses longer lines whole */
        memcpy(line, data + off, n);
        line[n] = '\0';
        qtest_core_line(&core, line);
        if (core.out_overflow)
            abort();                /* no single reply may exceed QTEST_MAX_OUT */
        qtest_core_consume(&core, core.out_len);
        off = end + 1;
    }
    loop_once(loop, 0);
    return 0;
}
