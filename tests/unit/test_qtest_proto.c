/* The qtest protocol server: replies and errors as QEMU's, bounds on every
 * size and address, hostile lines never crash. In-process on the protocol
 * core, then end to end through the DM (framing, over-long lines, IRQ lines). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/accel/qtest-proto.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"

static struct qtest_core q;
static uint8_t ram[1 << 20];

static const char *run(const char *cmd)
{
    static char reply[512];
    char line[QTEST_MAX_LINE + 1];
    size_t n;

    snprintf(line, sizeof(line), "%s", cmd);
    q.out_len = 0;
    qtest_core_line(&q, line);
    n = q.out_len < sizeof(reply) - 1 ? q.out_len : sizeof(reply) - 1;
    memcpy(reply, q.out, n);
    reply[n] = '\0';
    return reply;
}

static void setup(void)
{
    memset(&q, 0, sizeof(q));
    memset(ram, 0, sizeof(ram));
    q.ram = ram;
    q.ram_size = sizeof(ram);
}

static void teardown(void)
{
    qtest_core_free(&q);
}

START_TEST(test_memory_commands)
{
    ck_assert_str_eq(run("writel 0x100 0x12345678"), "OK\n");
    ck_assert_str_eq(run("readl 0x100"), "OK 0x0000000012345678\n");
    ck_assert_str_eq(run("readw 0x102"), "OK 0x0000000000001234\n");
    ck_assert_str_eq(run("writeq 0x200 0x0102030405060708"), "OK\n");
    ck_assert_str_eq(run("read 0x200 4"), "OK 0x08070605\n");
    ck_assert_str_eq(run("write 0x300 3 0xa1b2c3"), "OK\n");
    ck_assert_uint_eq(ram[0x301], 0xb2);
    ck_assert_str_eq(run("write 0x300 3 0xff"), "OK\n");            /* short: zero-filled */
    ck_assert_uint_eq(ram[0x300], 0xff);
    ck_assert_uint_eq(ram[0x302], 0x00);
    ck_assert_str_eq(run("memset 0x400 16 0x5a"), "OK\n");
    ck_assert_uint_eq(ram[0x40f], 0x5a);
    ck_assert_uint_eq(ram[0x410], 0);
    ck_assert_str_eq(run("b64write 0x500 3 AQID"), "OK\n");
    ck_assert_uint_eq(ram[0x502], 3);
    ck_assert_str_eq(run("b64read 0x500 4"), "OK AQIDAA==\n");
    /* The last byte of RAM is reachable, one past it straddles into MMIO. */
    ck_assert_str_eq(run("writeb 0xfffff 7"), "OK\n");
    ck_assert_str_eq(run("readb 0xfffff"), "OK 0x0000000000000007\n");
    ck_assert_uint_eq(strncmp(run("readl 0xffffe"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("read 0xfff00 0x200"), "FAIL", 4), 0);
}
END_TEST

START_TEST(test_mmio_and_limits)
{
    /* No machine attached: MMIO below 4 GiB reads all-ones, above is refused. */
    ck_assert_str_eq(run("readl 0xfec00000"), "OK 0x00000000ffffffff\n");
    ck_assert_str_eq(run("writel 0xfec00000 1"), "OK\n");
    ck_assert_uint_eq(strncmp(run("readb 0x100000000"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("readq 0xfffffffc"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("readq 0xffffffffffffffff"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("read 0 0"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("read 0 65537"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("b64read 0 65537"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("memset 0 0x8000000 1"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("memset 0xf0000000 0x20000 1"), "FAIL", 4), 0);
    ck_assert_str_eq(run("memset 0 0 1"), "OK\n");
    ck_assert_str_eq(run("inb 0x60"), "OK 0x00ff\n");
    ck_assert_uint_eq(strncmp(run("outb 0x10000 1"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("inl 0x10000"), "FAIL", 4), 0);
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_str_eq(run("frobnicate 1 2"), "FAIL Unknown command 'frobnicate'\n");
    ck_assert_str_eq(run(""), "FAIL Unknown command ''\n");
    ck_assert_str_eq(run("it's"), "FAIL Unknown command 'it?s'\n");
    ck_assert_uint_eq(strncmp(run("outb"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("outb 0x60"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("outb 0x60 1 2"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("outb -1 1"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("outb 0x6g 1"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("readl 99999999999999999999999"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("outq 0x60 1"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("write 0 2 0xzz"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("write 0 2 abcd"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("write 0 1 0xabcd"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("write 0 2 0xabc"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("b64write 0 3 A*ID"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("b64write 0 4 AQID"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("a b c d e f g h i"), "FAIL", 4), 0);
    ck_assert_str_eq(run("endianness"), "OK little\n");
}
END_TEST

START_TEST(test_clock_and_irq)
{
    ck_assert_str_eq(run("clock_step 1000"), "OK 1000\n");
    ck_assert_str_eq(run("clock_step 0x10"), "OK 1016\n");
    ck_assert_uint_eq(strncmp(run("clock_step"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("clock_step 0"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("clock_step -5"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(run("clock_step 9223372036854775807"), "FAIL", 4), 0);
    ck_assert_str_eq(run("clock_set 5000"), "OK 5000\n");
    ck_assert_str_eq(run("clock_set 10"), "FAIL 5000\n");
    ck_assert_int_eq(q.clock_ns, 5000);
    /* IRQ lines only after interception, and only on a change. */
    q.out_len = 0;
    qtest_core_irq(&q, 4, 1);
    ck_assert_uint_eq(q.out_len, 0);
    ck_assert_str_eq(run("irq_intercept_in ioapic"), "OK\n");
    ck_assert_str_eq(run("irq_intercept_in ioapic"), "OK\n");
    ck_assert_uint_eq(strncmp(run("irq_intercept_in /machine/other"), "FAIL", 4), 0);
    q.out_len = 0;
    qtest_core_irq(&q, 4, 0);
    qtest_core_irq(&q, 4, 0);
    qtest_core_irq(&q, 9, 1);
    qtest_core_irq(&q, 99, 1);
    ck_assert_uint_eq(q.out_len, strlen("IRQ lower 4\nIRQ raise 9\n"));
    ck_assert_int_eq(memcmp(q.out, "IRQ lower 4\nIRQ raise 9\n", q.out_len), 0);
}
END_TEST

START_TEST(test_random_lines)
{
    static const char *const words[] = {
        "outb", "inw", "readq", "writel", "read", "write", "memset", "b64read", "b64write",
        "clock_step", "clock_set", "irq_intercept_in", "0x", "0xffffffff", "-1", "0", "65536",
        "0x100000000", "0xfffff", "0xABCDEF", "====", "zz", "18446744073709551615",
    };
    char line[256];

    srandom(1234);
    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        int n = (int)(random() % 6);

        for (int w = 0; w < n && len < sizeof(line) - 40; w++)
            len += (size_t)snprintf(line + len, sizeof(line) - len, "%s ",
                                    words[random() % (sizeof(words) / sizeof(words[0]))]);
        if (random() % 4 == 0 && len < sizeof(line) - 2)
            line[len++] = (char)(random() % 256 ?: 1);
        line[len] = '\0';
        q.out_len = 0;
        qtest_core_line(&q, line);
        ck_assert(q.out_len > 0 || q.intercept);
    }
    ck_assert(!q.out_overflow);
}
END_TEST

/* ---- through the DM ------------------------------------------------------- */

START_TEST(test_end_to_end)
{
    struct qtest_opts o = { .extra_fd = -1, .ram_mb = 16 };
    struct qtest *s = qtest_start(&o);
    char *big;
    uint8_t buf[100000], back[100000];
    size_t i;

    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(qtest_raw(s, "bogus"), "FAIL Unknown command 'bogus'");
    /* An over-long line is refused as a whole; the connection goes on. */
    big = malloc(QTEST_MAX_LINE + 100);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', QTEST_MAX_LINE + 99);
    big[QTEST_MAX_LINE + 99] = '\0';
    ck_assert_str_eq(qtest_raw(s, big), "FAIL line too long");
    free(big);
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    /* Multi-chunk transfers round-trip; the last MiB edge is exact. */
    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    qtest_memwrite(s, 0x10000, buf, sizeof(buf));
    qtest_memread(s, 0x10000, back, sizeof(back));
    ck_assert_int_eq(memcmp(buf, back, sizeof(buf)), 0);
    qtest_memset(s, 0x10000, 0xee, 70000);
    ck_assert_uint_eq(qtest_readb(s, 0x10000 + 69999), 0xee);
    ck_assert_uint_eq(qtest_readb(s, 0x10000 + 70000), buf[70000]);
    qtest_writeq(s, (16 << 20) - 8, 0x1122334455667788ULL);
    ck_assert_uint_eq(qtest_readq(s, (16 << 20) - 8), 0x1122334455667788ULL);
    ck_assert_uint_eq(strncmp(qtest_raw(s, "readq 0xfffffc"), "FAIL", 4), 0);
    ck_assert_uint_eq(strncmp(qtest_raw(s, "readb 0x100000000"), "FAIL", 4), 0);
    qtest_clock_step(s, 1000);
    ck_assert_str_eq(qtest_raw(s, "clock_step 1"), "OK 1001");
    /* Many commands in one write: answered in order. */
    ck_assert_str_eq(qtest_raw(s, "writeb 0x20 1\nwriteb 0x21 2\nreadw 0x20"), "OK");
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK");
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK 0x0000000000000201");
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    ck_assert_int_eq(kill(qtest_pid(s), 0), 0);
    qtest_quit(s);
}
END_TEST

/* Lines at the exact size limits: QTEST_MAX_LINE characters are accepted,
 * one more is refused as a whole and the connection goes on. */
START_TEST(test_line_size_limits)
{
    struct qtest_opts o = { .extra_fd = -1, .ram_mb = 16 };
    struct qtest *s = qtest_start(&o);
    size_t n;
    char *line;

    ck_assert_ptr_nonnull(s);
    line = malloc(QTEST_MAX_LINE + 2);
    ck_assert_ptr_nonnull(line);
    n = (size_t)snprintf(line, 64, "write 0x0 0x%x 0x", QTEST_MAX_RW);
    for (size_t i = 0; i < 2 * (size_t)QTEST_MAX_RW; i++)
        line[n++] = "0123456789abcdef"[(i / 2 + (i & 1)) & 15];
    while (n < QTEST_MAX_LINE)
        line[n++] = ' ';            /* trailing blanks separate nothing */
    line[n] = '\0';
    ck_assert_uint_eq(strlen(line), QTEST_MAX_LINE);
    ck_assert_str_eq(qtest_raw(s, line), "OK");
    ck_assert_uint_eq(qtest_readb(s, 0), 0x01);
    ck_assert_uint_eq(qtest_readb(s, QTEST_MAX_RW - 1), 0xf0);
    line[n++] = ' ';
    line[n] = '\0';
    ck_assert_str_eq(qtest_raw(s, line), "FAIL line too long");
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    free(line);
    qtest_quit(s);
}
END_TEST

/* Many big replies requested in one write: the DM stops reading while its
 * output is backed up, and every queued command is still answered in
 * order once the test reads (none is mistaken for an over-long line). */
START_TEST(test_backpressure_keeps_lines)
{
    struct qtest_opts o = { .extra_fd = -1, .ram_mb = 16 };
    struct qtest *s = qtest_start(&o);
    enum { LINES = 200, WIDTH = 1000 };
    char *batch;
    size_t n = 0;
    const char *r;

    ck_assert_ptr_nonnull(s);
    qtest_writeb(s, 0, 0xa5);
    batch = malloc(LINES * WIDTH + 1);
    ck_assert_ptr_nonnull(batch);
    for (int i = 0; i < LINES; i++) {
        size_t start = n;

        n += (size_t)sprintf(batch + n, "read 0x0 0x%x", QTEST_MAX_RW);
        while (n - start < WIDTH - 1)
            batch[n++] = ' ';
        batch[n++] = '\n';
    }
    batch[n - 1] = '\0';           /* qtest_raw adds the last newline */
    r = qtest_raw(s, batch);
    ck_assert_int_eq(strncmp(r, "OK 0xa500", 9), 0);
    ck_assert_uint_eq(strlen(r), 5 + 2 * (size_t)QTEST_MAX_RW);
    for (int i = 1; i < LINES; i++) {
        r = qtest_raw(s, "endianness");
        ck_assert_msg(!strncmp(r, "OK 0xa500", 9), "reply %d: '%.40s'", i, r);
    }
    for (int i = 0; i < LINES; i++)
        ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    free(batch);
    qtest_quit(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("qtest-proto");
    TCase *tc = tcase_create("core");
    TCase *te = tcase_create("dm");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_memory_commands);
    tcase_add_test(tc, test_mmio_and_limits);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_clock_and_irq);
    tcase_add_test(tc, test_random_lines);
    tcase_set_timeout(te, 60);
    tcase_add_test(te, test_end_to_end);
    tcase_add_test(te, test_line_size_limits);
    tcase_add_test(te, test_backpressure_keeps_lines);
    suite_add_tcase(su, tc);
    suite_add_tcase(su, te);
    return ck_run_suite(su);
}
