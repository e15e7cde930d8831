/* QEMU's qtest text protocol, server side, without the socket: one line in,
 * reply lines appended to an output buffer. dm/accel/accel-qtest.c feeds it from
 * the -qtest connection; the fuzzers feed it directly. Every line is
 * hostile: bounded lengths, strict numbers, FAIL for anything else. */
#ifndef XSDM_QTEST_PROTO_H
#define XSDM_QTEST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

#define QTEST_MAX_RW     65536                      /* bytes of one read/write/b64 command */
#define QTEST_MAX_MEMSET (64u << 20)                /* bytes of one memset into RAM */
#define QTEST_MAX_LINE   (2 * QTEST_MAX_RW + 256)   /* longest accepted command line */
#define QTEST_MMIO_LIMIT 0x100000000ULL             /* MMIO is decoded below 4 GiB only */

struct qtest_core {
    struct machine *m;          /* NULL until attach: guest I/O then reads all-ones */
    uint8_t *ram;
    uint64_t ram_size;
    int64_t clock_ns;           /* virtual clock: only clock_step/clock_set move it */
    bool intercept;             /* irq_intercept_in done: IRQ lines are sent */
    char intercept_path[128];
    bool irq_level[16];
    char *out;                  /* pending output */
    size_t out_len, out_cap;
    bool out_overflow;          /* a reply did not fit QTEST_MAX_OUT: connection is dropped */
};

#define QTEST_MAX_OUT (8u << 20)

/* Execute one command line (no newline; modified in place). */
void qtest_core_line(struct qtest_core *q, char *line);
/* An ISA IRQ changed level: an "IRQ raise/lower N" line if intercepted. */
void qtest_core_irq(struct qtest_core *q, unsigned irq, int level);
/* Append a raw reply line (with its newline). */
void qtest_core_reply(struct qtest_core *q, const char *line);
/* Drop n bytes from the front of the output (they were sent). */
void qtest_core_consume(struct qtest_core *q, size_t n);
void qtest_core_free(struct qtest_core *q);

#endif
