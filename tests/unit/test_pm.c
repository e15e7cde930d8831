/* PIIX4 ACPI power management 00:01.3 through the DM: the PM block appears
 * where the guest programs PMBA, the PM timer counts the qtest clock at
 * 3.579545 MHz, TMR_STS raises the SCI (ISA IRQ 9), GPE0/CPU-presence and
 * SMBus behave, and an ACPI poweroff ends the run as qemu-xen does:
 * -no-shutdown keeps the DM up in state "shutdown", without it the DM exits. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

#define PM 0xb000

static void program_pm(struct qtest *s)
{
    /* What hvmloader does for qemu-xen. */
    qtest_pci_cfg_writel(s, 1, 3, 0x40, PM | 1);
    qtest_pci_cfg_writeb(s, 1, 3, 0x80, 0x01);
}

static struct qtest *start(void)
{
    struct qtest_opts o = { .extra_fd = -1 };
    struct qtest *s = qtest_start(&o);

    ck_assert_ptr_nonnull(s);
    return s;
}

static const char *status(struct qmpc *c)
{
    static char st[32];
    char err[128];
    json_t *ret = NULL;

    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, &ret, err, sizeof(err)), 0);
    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(ret, "status")));
    json_decref(ret);
    return st;
}

START_TEST(test_pm_block_and_timer)
{
    struct qtest *s = start();
    uint32_t t0, t1;

    /* Not decoded until PMBA and PMREGMISC are programmed. */
    ck_assert_uint_eq(qtest_inw(s, PM), 0xffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 1, 3, 0x40), 0x1);
    program_pm(s);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 1, 3, 0x40), PM | 1);
    ck_assert_uint_eq(qtest_inw(s, PM), 0);                 /* PM1a_STS */
    ck_assert_uint_eq(qtest_inw(s, PM + 4) & 1, 1);         /* SCI_EN: always ACPI mode */
    /* The timer follows the virtual clock exactly. */
    t0 = qtest_inl(s, PM + 8);
    ck_assert_uint_eq(qtest_inl(s, PM + 8), t0);
    qtest_clock_step(s, 1000000000);
    t1 = qtest_inl(s, PM + 8);
    ck_assert_uint_eq((t1 - t0) & 0xffffff, 3579545);
    ck_assert_uint_eq(t1 >> 24, 0);
    /* Timer is read-only. */
    qtest_outl(s, PM + 8, 0);
    ck_assert_uint_eq(qtest_inl(s, PM + 8), t1);
    /* Moving PMBA moves the block. */
    qtest_pci_cfg_writel(s, 1, 3, 0x40, 0xb041);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 1, 3, 0x40), 0xb041);
    ck_assert_uint_eq(qtest_inl(s, 0xb048), t1);
    ck_assert_uint_eq(qtest_inw(s, PM), 0xffff);
    qtest_pci_cfg_writeb(s, 1, 3, 0x80, 0);
    ck_assert_uint_eq(qtest_inw(s, 0xb040), 0xffff);
    qtest_quit(s);
}
END_TEST

START_TEST(test_sci)
{
    struct qtest *s = start();

    program_pm(s);
    qtest_irq_intercept_in(s, "ioapic");
    qtest_outw(s, PM + 2, 0x0001);                          /* TMR_EN */
    ck_assert_uint_eq(qtest_inw(s, PM + 2), 0x0001);
    ck_assert(!qtest_get_irq(s, 9));
    /* 4 s of guest time: bit 23 of the counter flips, TMR_STS + SCI. */
    qtest_clock_step(s, 4000000000LL);
    ck_assert_uint_eq(qtest_inw(s, PM) & 1, 1);
    ck_assert(qtest_get_irq(s, 9));
    /* Write-1-to-clear drops the SCI. */
    qtest_outw(s, PM, 0x0001);
    ck_assert_uint_eq(qtest_inw(s, PM) & 1, 0);
    ck_assert(!qtest_get_irq(s, 9));
    /* Enable bits outside PM1_EN's defined ones do not stick. */
    qtest_outw(s, PM + 2, 0xffff);
    ck_assert_uint_eq(qtest_inw(s, PM + 2), 0x0521);
    qtest_quit(s);
}
END_TEST

START_TEST(test_gpe_cpu_smbus)
{
    struct qtest *s = start();

    qtest_outw(s, 0xafe2, 0x000f);
    ck_assert_uint_eq(qtest_inw(s, 0xafe2), 0x000f);
    ck_assert_uint_eq(qtest_inw(s, 0xafe0), 0);
    ck_assert_uint_eq(qtest_inb(s, 0xaf00), 0x01);          /* one vCPU present */
    ck_assert_uint_eq(qtest_inb(s, 0xaf01), 0x00);
    ck_assert_uint_eq(qtest_inl(s, 0xae00), 0);             /* nothing hotplugged */
    /* SMBus at 0xb100 as qemu-xen sets it up; no device answers. */
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 1, 3, 0x90), 0xb101);
    ck_assert_uint_eq(qtest_inb(s, 0xb100), 0);
    qtest_outb(s, 0xb104, 0xa1);
    qtest_outb(s, 0xb102, 0x48);                            /* byte data, START */
    ck_assert_uint_eq(qtest_inb(s, 0xb100) & 0x04, 0x04);   /* DEV_ERR */
    qtest_outb(s, 0xb100, 0xff);
    ck_assert_uint_eq(qtest_inb(s, 0xb100), 0);
    /* hvmloader disables SMBus I/O: the block goes away. */
    qtest_pci_cfg_writeb(s, 1, 3, 0xd2, 0);
    ck_assert_uint_eq(qtest_inb(s, 0xb100), 0xff);
    qtest_quit(s);
}
END_TEST

START_TEST(test_poweroff_no_shutdown)
{
    struct qtest *s = start();
    struct qmpc *c = qtest_qmp(s);
    json_t *ev;

    ck_assert_ptr_nonnull(c);
    program_pm(s);
    ck_assert_str_eq(status(c), "running");
    /* S3 (SLP_TYP 1) is not supported: ignored, the guest keeps running. */
    qtest_outw(s, PM + 4, 0x2000 | 1 << 10 | 1);
    ck_assert_str_eq(status(c), "running");
    /* S5: SLP_TYP 0 + SLP_EN. */
    qtest_outw(s, PM + 4, 0x2000 | 1);
    ev = qmpc_wait_event(c, "SHUTDOWN", 10000);
    ck_assert_ptr_nonnull(ev);
    ck_assert(json_is_true(json_object_get(json_object_get(ev, "data"), "guest")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "data"), "reason")),
                     "guest-shutdown");
    json_decref(ev);
    ev = qmpc_wait_event(c, "STOP", 10000);
    ck_assert_ptr_nonnull(ev);
    json_decref(ev);
    ck_assert_str_eq(status(c), "shutdown");
    /* The DM is still there and serving. */
    ck_assert_int_eq(kill(qtest_pid(s), 0), 0);
    ck_assert_str_eq(qtest_raw(s, "endianness"), "OK little");
    qmpc_close(c);
    qtest_quit(s);
}
END_TEST

START_TEST(test_poweroff_exits)
{
    static const char *const args[] = {
        "-xen-domid", "1", "-nodefaults", "-machine", "xenfv", "-m", "32", "-accel", "qtest", NULL,
    };
    struct qtest_opts o = { .extra_fd = -1, .no_base = true, .args = args };
    struct qtest *s = qtest_start(&o);
    int st;

    ck_assert_ptr_nonnull(s);
    program_pm(s);
    qtest_outw(s, PM + 4, 0x2000 | 1);
    st = qtest_wait_exit(s, 10000);
    ck_assert_int_ne(st, -1);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    qtest_quit(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("piix4-pm");
    TCase *tc = tcase_create("pm");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pm_block_and_timer);
    tcase_add_test(tc, test_sci);
    tcase_add_test(tc, test_gpe_cpu_smbus);
    tcase_add_test(tc, test_poweroff_no_shutdown);
    tcase_add_test(tc, test_poweroff_exits);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
