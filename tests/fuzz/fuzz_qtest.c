/* libFuzzer over the qtest protocol server (dm/accel/qtest-proto.c) driving the
 * whole xenfv machine, as the -qtest socket does: the input is split into
 * lines at '\n' (each cut to QTEST_MAX_LINE, like dm/accel/accel-qtest.c) and
 * every line is executed against 1 MiB of guest RAM with the machine
 * attached, so port, MMIO and RAM commands reach every device. The
 * machine is built once and reset before every input; the pending output
 * is dropped after every line (it is bounded by QTEST_MAX_OUT anyway). */
#include <stdlib.h>
#include <string.h>

#include "dm/accel/qtest-proto.h"
#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/config.h"
#include "dm/core/loop.h"
#include "tests/lib/fakemachine.h"

#define RAM_SIZE (1u << 20)

static uint8_t ram[RAM_SIZE];
static struct xsdm_config cfg;
static struct fake_machine fm;
static struct loop *loop;
static struct qtest_core core;
static char *line;

/* Interrupts and time go through the protocol core, as in dm/accel/accel-qtest.c. */
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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    loop = loop_new();
    line = malloc(QTEST_MAX_LINE + 1);
    fake_machine_init(&fm, ram, RAM_SIZE);
    fm.ops.set_isa_irq = fz_isa_irq;
    fm.ops.clock_ns = fz_clock;
    if (!loop || !line || fake_machine_xenfv(&fm, &cfg, loop, false) < 0)
        abort();
    core.m = &fm.m;
    core.ram = ram;
    core.ram_size = RAM_SIZE;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    core.clock_ns = 0;
    core.intercept = false;
    core.intercept_path[0] = '\0';
    memset(core.irq_level, 0, sizeof(core.irq_level));
    core.out_overflow = false;
    fake_machine_reset(&fm);
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
