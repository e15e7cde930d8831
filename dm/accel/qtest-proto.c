/* qtest commands as QEMU's system/qtest.c answers them (replies "OK ...",
 * errors "FAIL ..."), with our limits: memory commands reach guest RAM, or
 * the MMIO bus for addresses between the end of RAM and 4 GiB; anything
 * else (above 4 GiB, straddling RAM and MMIO, over-long) is a FAIL. */
#include "dm/accel/qtest-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/board/machine.h"
#include "dm/core/iobus.h"

#define MAX_WORDS 8

/* ---- output ---------------------------------------------------------------- */

static bool out_reserve(struct qtest_core *q, size_t n)
{
    size_t cap;
    char *p;

    if (q->out_overflow)
        return false;
    if (n > QTEST_MAX_OUT - q->out_len) {
        q->out_overflow = true;
        return false;
    }
    if (q->out_len + n <= q->out_cap)
        return true;
    cap = q->out_cap ? q->out_cap : 4096;
    while (cap < q->out_len + n)
        cap *= 2;
    p = realloc(q->out, cap);
    if (!p) {
        q->out_overflow = true;
        return false;
    }
    q->out = p;
    q->out_cap = cap;
    return true;
}

static void out_bytes(struct qtest_core *q, const char *s, size_t n)
{
    if (!out_reserve(q, n))
        return;
    memcpy(q->out + q->out_len, s, n);
    q->out_len += n;
}

static void __attribute__((format(printf, 2, 3))) out_fmt(struct qtest_core *q, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    out_bytes(q, buf, (size_t)n);
}

void qtest_core_reply(struct qtest_core *q, const char *line)
{
    out_bytes(q, line, strlen(line));
}

void qtest_core_consume(struct qtest_core *q, size_t n)
{
    if (n >= q->out_len) {
        q->out_len = 0;
        return;
    }
    memmove(q->out, q->out + n, q->out_len - n);
    q->out_len -= n;
}

void qtest_core_free(struct qtest_core *q)
{
    free(q->out);
    q->out = NULL;
    q->out_len = q->out_cap = 0;
}

void qtest_core_irq(struct qtest_core *q, unsigned irq, int level)
{
    bool l = level != 0;

    if (irq >= 16 || q->irq_level[irq] == l)
        return;
    q->irq_level[irq] = l;
    if (q->intercept)
        out_fmt(q, "IRQ %s %u\n", l ? "raise" : "lower", irq);
}

/* ---- parsing --------------------------------------------------------------- */

static int split(char *line, char **w)
{
    int n = 0;
    char *p = line;

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == MAX_WORDS)
            return -1;
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
    }
    return n;
}

/* Unsigned number, base 0 (0x.., 0.., decimal), the whole word, no sign. */
static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;

    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    *v = strtoull(s, &end, 0);
    return errno == 0 && *end == '\0';
}

static bool parse_i64(const char *s, int64_t *v)
{
    char *end;

    if (!s || !*s)
        return false;
    errno = 0;
    *v = strtoll(s, &end, 0);
    return errno == 0 && *end == '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- guest accesses -------------------------------------------------------- */

enum where { IN_RAM, IN_MMIO, NOWHERE };

/* The legacy VGA window overlays RAM, as on a PC: with a VGA present its
 * accesses go to the device, as they would trap to the DM under Xen. */
#define VGA_HOLE_BASE 0xa0000
#define VGA_HOLE_END  0xc0000

static enum where locate(const struct qtest_core *q, uint64_t addr, uint64_t len)
{
    if (q->m && q->m->vga && addr >= VGA_HOLE_BASE && addr < VGA_HOLE_END && len <= VGA_HOLE_END - addr)
        return IN_MMIO;
    if (addr < q->ram_size && len <= q->ram_size - addr)
        return IN_RAM;
    if (addr >= q->ram_size && addr < QTEST_MMIO_LIMIT && len <= QTEST_MMIO_LIMIT - addr)
        return IN_MMIO;
    return NOWHERE;
}

static uint64_t mmio_read(struct qtest_core *q, uint64_t addr, unsigned size)
{
    if (!q->m)
        return ~0ULL;
    return io_read(&q->m->bus, IO_MMIO, addr, size);
}

static void mmio_write(struct qtest_core *q, uint64_t addr, uint64_t v, unsigned size)
{
    if (q->m)
        io_write(&q->m->bus, IO_MMIO, addr, v, size);
}

/* Copy to/from guest space; MMIO goes byte by byte. -1: nowhere. */
static int access_mem(struct qtest_core *q, uint64_t addr, uint8_t *buf, size_t len, bool write)
{
    size_t i;

    switch (locate(q, addr, len)) {
    case IN_RAM:
        if (write)
            memcpy(q->ram + addr, buf, len);
        else
            memcpy(buf, q->ram + addr, len);
        return 0;
    case IN_MMIO:
        for (i = 0; i < len; i++) {
            if (write)
                mmio_write(q, addr + i, buf[i], 1);
            else
                buf[i] = (uint8_t)mmio_read(q, addr + i, 1);
        }
        return 0;
    default:
        return -1;
    }
}

static void fail_addr(struct qtest_core *q)
{
    out_fmt(q, "FAIL address outside guest RAM and the MMIO window\n");
}

/* ---- commands -------------------------------------------------------------- */

static unsigned width_of(char c)
{
    switch (c) {
    case 'b': return 1;
    case 'w': return 2;
    case 'l': return 4;
    case 'q': return 8;
    default: return 0;
    }
}

static uint64_t mask_of(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void cmd_out(struct qtest_core *q, char **w, int n, unsigned size)
{
    uint64_t addr, val;

    if (n != 3 || !parse_u64(w[1], &addr) || !parse_u64(w[2], &val) || addr > 0xffff) {
        out_fmt(q, "FAIL usage: %s PORT VALUE\n", w[0]);
        return;
    }
    if (q->m)
        io_write(&q->m->bus, IO_PIO, addr, val & mask_of(size), size);
    out_fmt(q, "OK\n");
}

static void cmd_in(struct qtest_core *q, char **w, int n, unsigned size)
{
    uint64_t addr, val = mask_of(size);

    if (n != 2 || !parse_u64(w[1], &addr) || addr > 0xffff) {
        out_fmt(q, "FAIL usage: %s PORT\n", w[0]);
        return;
    }
    if (q->m)
        val = io_read(&q->m->bus, IO_PIO, addr, size);
    out_fmt(q, "OK 0x%04" PRIx64 "\n", val & mask_of(size));
}

static void cmd_write_n(struct qtest_core *q, char **w, int n, unsigned size)
{
    uint64_t addr, val;
    uint8_t b[8];
    unsigned i;

    if (n != 3 || !parse_u64(w[1], &addr) || !parse_u64(w[2], &val)) {
        out_fmt(q, "FAIL usage: %s ADDR VALUE\n", w[0]);
        return;
    }
    switch (locate(q, addr, size)) {
    case IN_RAM:
        for (i = 0; i < size; i++)
            b[i] = (uint8_t)(val >> (8 * i));
        memcpy(q->ram + addr, b, size);
        break;
    case IN_MMIO:
        mmio_write(q, addr, val & mask_of(size), size);
        break;
    default:
        fail_addr(q);
        return;
    }
    out_fmt(q, "OK\n");
}

static void cmd_read_n(struct qtest_core *q, char **w, int n, unsigned size)
{
    uint64_t addr, val = 0;
    uint8_t b[8];
    unsigned i;

    if (n != 2 || !parse_u64(w[1], &addr)) {
        out_fmt(q, "FAIL usage: %s ADDR\n", w[0]);
        return;
    }
    switch (locate(q, addr, size)) {
    case IN_RAM:
        memcpy(b, q->ram + addr, size);
        for (i = 0; i < size; i++)
            val |= (uint64_t)b[i] << (8 * i);
        break;
    case IN_MMIO:
        val = mmio_read(q, addr, size) & mask_of(size);
        break;
    default:
        fail_addr(q);
        return;
    }
    out_fmt(q, "OK 0x%016" PRIx64 "\n", val);
}

static bool addr_len(struct qtest_core *q, char **w, uint64_t *addr, uint64_t *len, uint64_t max)
{
    if (!parse_u64(w[1], addr) || !parse_u64(w[2], len)) {
        out_fmt(q, "FAIL usage: %s ADDR SIZE ...\n", w[0]);
        return false;
    }
    if (*len == 0 || *len > max) {
        out_fmt(q, "FAIL size must be 1..%" PRIu64 "\n", max);
        return false;
    }
    return true;
}

static void cmd_read(struct qtest_core *q, char **w, int n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t addr, len, i;
    uint8_t *buf = NULL;
    char *p;

    if (n != 3 || !addr_len(q, w, &addr, &len, QTEST_MAX_RW)) {
        if (n != 3)
            out_fmt(q, "FAIL usage: read ADDR SIZE\n");
        return;
    }
    buf = malloc(len);
    if (!buf) {
        out_fmt(q, "FAIL out of memory\n");
        return;
    }
    if (access_mem(q, addr, buf, len, false) < 0) {
        fail_addr(q);
        goto out;
    }
    if (!out_reserve(q, 2 * len + 6))
        goto out;
    p = q->out + q->out_len;
    memcpy(p, "OK 0x", 5);
    p += 5;
    for (i = 0; i < len; i++) {
        *p++ = hex[buf[i] >> 4];
        *p++ = hex[buf[i] & 15];
    }
    *p++ = '\n';
    q->out_len = (size_t)(p - q->out);
out:
    free(buf);
}

static void cmd_write(struct qtest_core *q, char **w, int n)
{
    uint64_t addr, len, i;
    uint8_t *buf = NULL;
    size_t digits;
    const char *h;

    if (n != 4) {
        out_fmt(q, "FAIL usage: write ADDR SIZE 0xDATA\n");
        return;
    }
    if (!addr_len(q, w, &addr, &len, QTEST_MAX_RW))
        return;
    h = w[3];
    if (h[0] != '0' || (h[1] != 'x' && h[1] != 'X')) {
        out_fmt(q, "FAIL data must start with 0x\n");
        return;
    }
    h += 2;
    digits = strlen(h);
    /* Fewer digits than bytes: the rest is zero (as QEMU does). */
    if (digits > 2 * len || digits % 2) {
        out_fmt(q, "FAIL invalid argument size\n");
        return;
    }
    buf = calloc(1, len);
    if (!buf) {
        out_fmt(q, "FAIL out of memory\n");
        return;
    }
    for (i = 0; i < digits / 2; i++) {
        int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            out_fmt(q, "FAIL invalid hex data\n");
            goto out;
        }
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    if (access_mem(q, addr, buf, len, true) < 0)
        fail_addr(q);
    else
        out_fmt(q, "OK\n");
out:
    free(buf);
}

static void cmd_memset(struct qtest_core *q, char **w, int n)
{
    uint64_t addr, len, val, i;

    if (n != 4 || !parse_u64(w[3], &val)) {
        out_fmt(q, "FAIL usage: memset ADDR SIZE VALUE\n");
        return;
    }
    if (!parse_u64(w[1], &addr) || !parse_u64(w[2], &len) || len > QTEST_MAX_MEMSET) {
        out_fmt(q, "FAIL size must be 0..%u\n", QTEST_MAX_MEMSET);
        return;
    }
    if (len == 0) {
        out_fmt(q, "OK\n");
        return;
    }
    switch (locate(q, addr, len)) {
    case IN_RAM:
        memset(q->ram + addr, (int)(val & 0xff), len);
        break;
    case IN_MMIO:
        if (len > QTEST_MAX_RW) {
            out_fmt(q, "FAIL size must be 1..%u outside RAM\n", QTEST_MAX_RW);
            return;
        }
        for (i = 0; i < len; i++)
            mmio_write(q, addr + i, val & 0xff, 1);
        break;
    default:
        fail_addr(q);
        return;
    }
    out_fmt(q, "OK\n");
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;

    return p ? (int)(p - b64chars) : -1;
}

static void cmd_b64read(struct qtest_core *q, char **w, int n)
{
    uint64_t addr, len, i;
    uint8_t *buf;
    char *p;

    if (n != 3) {
        out_fmt(q, "FAIL usage: b64read ADDR SIZE\n");
        return;
    }
    if (!addr_len(q, w, &addr, &len, QTEST_MAX_RW))
        return;
    buf = malloc(len);
    if (!buf) {
        out_fmt(q, "FAIL out of memory\n");
        return;
    }
    if (access_mem(q, addr, buf, len, false) < 0) {
        fail_addr(q);
        free(buf);
        return;
    }
    if (out_reserve(q, (len + 2) / 3 * 4 + 5)) {
        p = q->out + q->out_len;
        memcpy(p, "OK ", 3);
        p += 3;
        for (i = 0; i < len; i += 3) {
            uint32_t v = (uint32_t)buf[i] << 16;
            uint64_t left = len - i;

            if (left > 1)
                v |= (uint32_t)buf[i + 1] << 8;
            if (left > 2)
                v |= buf[i + 2];
            *p++ = b64chars[v >> 18 & 63];
            *p++ = b64chars[v >> 12 & 63];
            *p++ = left > 1 ? b64chars[v >> 6 & 63] : '=';
            *p++ = left > 2 ? b64chars[v & 63] : '=';
        }
        *p++ = '\n';
        q->out_len = (size_t)(p - q->out);
    }
    free(buf);
}

static void cmd_b64write(struct qtest_core *q, char **w, int n)
{
    uint64_t addr, len;
    uint8_t *buf;
    const char *s;
    size_t got = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (n != 4) {
        out_fmt(q, "FAIL usage: b64write ADDR SIZE DATA\n");
        return;
    }
    if (!addr_len(q, w, &addr, &len, QTEST_MAX_RW))
        return;
    buf = calloc(1, len);
    if (!buf) {
        out_fmt(q, "FAIL out of memory\n");
        return;
    }
    for (s = w[3]; *s && *s != '='; s++) {
        int v = b64val(*s);

        if (v < 0) {
            out_fmt(q, "FAIL invalid base64 data\n");
            goto out;
        }
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (got < len)
                buf[got] = (uint8_t)(acc >> bits);
            got++;
        }
    }
    if (got != len) {
        out_fmt(q, "FAIL b64write: data length %zu, told %" PRIu64 "\n", got, len);
        goto out;
    }
    if (access_mem(q, addr, buf, len, true) < 0)
        fail_addr(q);
    else
        out_fmt(q, "OK\n");
out:
    free(buf);
}

static void cmd_clock_step(struct qtest_core *q, char **w, int n)
{
    int64_t ns;

    if (n == 1) {
        out_fmt(q, "FAIL cannot advance clock to the next deadline because there is no pending deadline\n");
        return;
    }
    if (n != 2 || !parse_i64(w[1], &ns)) {
        out_fmt(q, "FAIL usage: clock_step [NS]\n");
        return;
    }
    if (ns <= 0 || ns > INT64_MAX - q->clock_ns) {
        out_fmt(q, "FAIL could not advance time\n");
        return;
    }
    q->clock_ns += ns;
    out_fmt(q, "OK %" PRIi64 "\n", q->clock_ns);
}

static void cmd_clock_set(struct qtest_core *q, char **w, int n)
{
    int64_t ns;

    if (n != 2 || !parse_i64(w[1], &ns)) {
        out_fmt(q, "FAIL usage: clock_set NS\n");
        return;
    }
    if (ns > q->clock_ns)
        q->clock_ns = ns;
    out_fmt(q, "%s %" PRIi64 "\n", q->clock_ns == ns ? "OK" : "FAIL", q->clock_ns);
}

/* The path names the interrupt controller in QEMU (e.g. "ioapic"); here
 * every ISA line 0-15 is reported whatever it is. */
static void cmd_intercept(struct qtest_core *q, char **w, int n)
{
    if (n != 2 || strlen(w[1]) >= sizeof(q->intercept_path)) {
        out_fmt(q, "FAIL usage: irq_intercept_in PATH\n");
        return;
    }
    if (q->intercept && strcmp(q->intercept_path, w[1])) {
        out_fmt(q, "FAIL IRQ intercept already enabled\n");
        return;
    }
    snprintf(q->intercept_path, sizeof(q->intercept_path), "%s", w[1]);
    q->intercept = true;
    out_fmt(q, "OK\n");
}

static void unknown(struct qtest_core *q, const char *word)
{
    char safe[48];
    size_t i;

    for (i = 0; word[i] && i < sizeof(safe) - 1; i++)
        safe[i] = word[i] >= 0x20 && word[i] < 0x7f && word[i] != '\'' ? word[i] : '?';
    safe[i] = '\0';
    out_fmt(q, "FAIL Unknown command '%s'\n", safe);
}

static void cmd_unsupported(struct qtest_core *q, char **w, int n)
{
    (void)n;
    out_fmt(q, "FAIL %s is not supported\n", w[0]);
}

static void cmd_endianness(struct qtest_core *q, char **w, int n)
{
    (void)w;
    (void)n;
    out_fmt(q, "OK little\n");
}

/* Sized commands are a stem plus a width letter (b w l q); ports have no q. */
static const struct sized_cmd {
    const char *stem;
    void (*run)(struct qtest_core *q, char **w, int n, unsigned size);
    bool ports;
} sized_cmds[] = {
    { "out",   cmd_out,     true },
    { "in",    cmd_in,      true },
    { "write", cmd_write_n, false },
    { "read",  cmd_read_n,  false },
};

static const struct plain_cmd {
    const char *name;
    void (*run)(struct qtest_core *q, char **w, int n);
} plain_cmds[] = {
    { "read",              cmd_read },
    { "write",             cmd_write },
    { "memset",            cmd_memset },
    { "b64read",           cmd_b64read },
    { "b64write",          cmd_b64write },
    { "clock_step",        cmd_clock_step },
    { "clock_set",         cmd_clock_set },
    { "irq_intercept_in",  cmd_intercept },
    { "irq_intercept_out", cmd_unsupported },   /* xsdm's IRQs are lines, not GPIOs */
    { "set_irq_in",        cmd_unsupported },
    { "endianness",        cmd_endianness },
};

void qtest_core_line(struct qtest_core *q, char *line)
{
    char *w[MAX_WORDS];
    int n = split(line, w);
    size_t i, len;

    if (n < 0) {
        out_fmt(q, "FAIL too many arguments\n");
        return;
    }
    if (n == 0) {
        unknown(q, "");
        return;
    }
    len = strlen(w[0]);
    for (i = 0; i < sizeof(sized_cmds) / sizeof(sized_cmds[0]); i++) {
        const struct sized_cmd *c = &sized_cmds[i];
        size_t sl = strlen(c->stem);
        unsigned size;

        if (len != sl + 1 || strncmp(w[0], c->stem, sl))
            continue;
        size = width_of(w[0][sl]);
        if (size && !(c->ports && size == 8)) {
            c->run(q, w, n, size);
            return;
        }
    }
    for (i = 0; i < sizeof(plain_cmds) / sizeof(plain_cmds[0]); i++) {
        if (!strcmp(w[0], plain_cmds[i].name)) {
            plain_cmds[i].run(q, w, n);
            return;
        }
    }
    unknown(q, w[0]);
}
