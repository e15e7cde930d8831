/* The real-Xen bed's verdict (scripts/xen-lab/e2e.sh --judge RUNDIR) on
 * planted console logs: it passes only when every selected stage printed
 * exactly one PASS and dom0 finished; a FAIL, a SKIP, a missing verdict, a
 * second verdict, an unselected stage or a dom0 that stopped mid-run is a
 * failure (exit 1); only a bed that never came up, or an outer machine that
 * froze (console and dom0's heartbeat silent) before any stage failed, is
 * exit 2 (which .ci/run retries once and then fails on). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"

static const char *const up =
    "[   15.6] LAB: [11.11] dom0 userspace up, kernel 6.1.0\n"
    "[   18.5] LAB: [13.99] BED-UP\n";
static const char *const done = "[  300.0] LAB: [290.00] ALL-STAGES-DONE\n";
static const char *const alive = "[  140.0] LAB: [130.00] alive: domains [ 0 1 ]\n";
/* set: the planted run was stopped by the stall watchdog (e2e.sh leaves RUNDIR/stalled), or by
 * the outer QEMU's time limit (RUNDIR/timedout) */
static bool stalled;
static const char *stop_mark = "stalled";

/* Judge a run of TESTS (NULL: e2e.sh's default list) whose console holds the
 * given stage lines; the exit status. */
static int judge(const char *tests, bool bed_up, const char *stages, bool finished)
{
    char dir[] = "/tmp/xsdm-verdict-XXXXXX", path[256], cmd[512];
    FILE *f;
    int st;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (tests) {
        snprintf(path, sizeof(path), "%s/tests", dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "%s\n", tests);
        fclose(f);
    }
    if (stalled) {
        snprintf(path, sizeof(path), "%s/%s", dir, stop_mark);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/console.log", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s%s%s", bed_up ? up : "[   15.6] LAB: [11.11] dom0 userspace up, kernel 6.1.0\n", stages,
            finished ? done : "");
    fclose(f);
    snprintf(cmd, sizeof(cmd), "env -u TESTS bash %s/scripts/xen-lab/e2e.sh --judge %s >/dev/null 2>&1; rc=$?; rm -rf %s; exit $rc",
             SRC_DIR, dir, dir);
    st = system(cmd);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

#define S(id, v) "[  100.0] LAB: [90.00] STAGE " id " " v " secs=12.3 evidence\n"

START_TEST(test_all_selected_pass)
{
    ck_assert_int_eq(judge("1 2 disks", true, S("1", "PASS") S("2", "PASS") S("disks", "PASS"), true), 0);
    /* stage 3 owns 3p */
    ck_assert_int_eq(judge("3", true, S("3", "PASS") S("3p", "PASS"), true), 0);
}
END_TEST

START_TEST(test_failures_are_exit_1)
{
    ck_assert_int_eq(judge("1 2", true, S("1", "PASS") S("2", "FAIL"), true), 1);
    ck_assert_int_eq(judge("1 2", true, S("1", "PASS") S("2", "SKIP"), true), 1);
    ck_assert_int_eq(judge("1 2", true, S("1", "PASS"), true), 1);                 /* no verdict */
    ck_assert_int_eq(judge("3", true, S("3", "PASS"), true), 1);                   /* 3p missing */
    ck_assert_int_eq(judge("1", true, S("1", "PASS") S("1", "FAIL"), true), 1);    /* two verdicts */
    ck_assert_int_eq(judge("1", true, S("1", "PASS") S("1", "PASS"), true), 1);
    ck_assert_int_eq(judge("1", true, S("1", "PASS") S("2", "PASS"), true), 1);    /* not selected */
    ck_assert_int_eq(judge("1 2", true, S("1", "PASS") S("2", "PASS"), false), 1); /* dom0 stopped */
    ck_assert_int_eq(judge("1", true, S("1", "FAIL"), false), 1);
    /* a line that merely mentions PASS is no verdict */
    ck_assert_int_eq(judge("1", true, "[  100.0] LAB|   STAGE 1 PASS secs=1 echoed\n", true), 1);
}
END_TEST

/* The lab stages (one verdict each, decided by xsdm): qemu-xen failing as the
 * reference is an "anchor limitation" in the evidence, not a failure. */
#define LAB(id, v, q) "[  200.0] LAB: [190.00] STAGE " id " " v " secs=80.1 xsdm: guest printed it | " q "\n"
#define ANCHOR_FAILED "qemu-xen (anchor limitation): no [^PERF-DONE ] from the guest in 900s"
#define DEFAULT_ALL \
    S("1", "PASS") S("2", "PASS") S("9", "PASS") S("disks", "PASS") S("vnc", "PASS") S("3", "PASS") S("6", "PASS") \
    S("7", "PASS") S("4", "PASS") S("5", "PASS") S("3p", "PASS") S("8", "PASS") \
    LAB("bigwrite", "PASS", "qemu-xen: ok") LAB("reboot", "PASS", "qemu-xen: ok") \
    LAB("pause", "PASS", "qemu-xen: ok") LAB("migrate", "PASS", "qemu-xen: ok") \
    LAB("vif-default", "PASS", "qemu-xen: ok") LAB("nic-rtl8139", "PASS", "qemu-xen: ok") \
    LAB("nic-e1000", "PASS", "qemu-xen: ok") LAB("nic-migrate", "PASS", "qemu-xen: ok") \
    S("vif-netns", "PASS") LAB("pvhvm", "PASS", "qemu-xen: ok") LAB("libvirt", "PASS", "qemu-xen: ok") \
    LAB("fbcon", "PASS", "qemu-xen: ok")

/* A run stopped by `mark` (stalled: the watchdog; timedout: the outer QEMU's limit) with dom0's
 * heartbeat: exit 2 when no stage had failed (the bed's failure), exit 1 after a FAIL. */
static void heartbeat_then_stop(const char *mark)
{
    char log[512];

    stalled = true;
    stop_mark = mark;
    snprintf(log, sizeof(log), "%s%s", S("1", "PASS"), alive);
    ck_assert_int_eq(judge("1 2", true, log, false), 2);
    snprintf(log, sizeof(log), "%s%s", S("1", "FAIL"), alive);
    ck_assert_int_eq(judge("1 2", true, log, false), 1);
    stalled = false;
    stop_mark = "stalled";
}

/* The watchdog stopped a run whose console went silent: with dom0's heartbeat
 * running and no FAIL before it, the bed froze (exit 2); a FAIL before the
 * freeze, or a run without the heartbeat, stays a failure (exit 1). A run out
 * of time is judged alike (its remaining stages go to another boot). */
START_TEST(test_frozen_machine)
{
    char log[512];

    stalled = true;
    ck_assert_int_eq(judge("1 2", true, S("1", "PASS"), false), 1); /* no heartbeat */
    ck_assert_int_eq(judge("1 2", true, S("1", "PASS") S("2", "FAIL"), false), 1);
    ck_assert_int_eq(judge("1 2", true, S("1", "FAIL"), false), 1);
    heartbeat_then_stop("stalled");
    /* the same console without a mark: dom0 stopped, exit 1 */
    snprintf(log, sizeof(log), "%s%s", S("1", "PASS"), alive);
    ck_assert_int_eq(judge("1 2", true, log, false), 1);
    heartbeat_then_stop("timedout");
}
END_TEST

/* What .ci/run runs again after a frozen bed: the stages still owed a PASS,
 * with the stages they need from the same boot, in the run's order. */
static const char *remaining(const char *tests, const char *verdicts)
{
    static char out[256];
    char dir[] = "/tmp/xsdm-remaining-XXXXXX", path[256], cmd[512];
    FILE *f;
    size_t n;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tests", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", tests);
    fclose(f);
    snprintf(path, sizeof(path), "%s/verdicts.txt", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(verdicts, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "env -u TESTS bash %s/scripts/xen-lab/e2e.sh --remaining %s; rm -rf %s",
             SRC_DIR, dir, dir);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    ck_assert_int_eq(pclose(f), 0);
    if (n && out[n - 1] == '\n')
        out[n - 1] = '\0';
    return out;
}

START_TEST(test_remaining_after_freeze)
{
    const char *all = "1 2 9 disks 3 6 7 4 5 8 bigwrite";

    /* froze during stage 4: stage 3's guest is gone, so 3, 6, 7 run again with 4 and 5;
     * 8 is owed too, and it tabulates 1 and 2 */
    ck_assert_str_eq(remaining(all, "1 PASS\n2 PASS\n9 PASS\ndisks PASS\n3 PASS\n3p PASS\n6 PASS\n7 PASS\n"),
                     "1 2 3 6 7 4 5 8 bigwrite");
    ck_assert_str_eq(remaining("1 2 3 6 7 4 5", "1 PASS\n2 PASS\n3 PASS\n3p PASS\n6 PASS\n7 PASS\n"),
                     "3 6 7 4 5");
    /* 8 tabulates 1 and 2 */
    ck_assert_str_eq(remaining(all, "1 PASS\n2 PASS\n9 PASS\ndisks PASS\n3 PASS\n3p PASS\n6 PASS\n7 PASS\n"
                                    "4 PASS\n5 PASS\n"), "1 2 8 bigwrite");
    /* 3 without 3p is owed */
    ck_assert_str_eq(remaining("3", "3 PASS\n"), "3");
    ck_assert_str_eq(remaining("1 9", "1 PASS\n9 SKIP\n"), "9");
    ck_assert_str_eq(remaining("1 9", ""), "1 9");
    ck_assert_str_eq(remaining("1 9", "1 PASS\n9 PASS\n"), "");
}
END_TEST

/* e2e-boots.sh beside a stand-in e2e.sh that answers each boot with the exit
 * code at that position of `script` (a string of 0, 1, 2) and, for
 * --remaining, "3 4" (or nothing when `none_left`). The exit status, and in
 * *boots how many boots ran. */
static int boots_env(const char *env, const char *script, bool none_left, int *nboots, char *timeouts,
                     size_t tlen)
{
    char dir[] = "/tmp/xsdm-boots-XXXXXX", path[256], cmd[1024];
    FILE *f;
    int st;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "cp %s/scripts/xen-lab/e2e-boots.sh %s/", SRC_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/e2e.sh", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/bash\n"
               "d=$(dirname \"$0\")\n"
               "if [ \"$1\" = --remaining ]; then %s; exit 0; fi\n"
               "n=$(($(cat $d/n 2>/dev/null || echo 0) + 1)); echo $n > $d/n\n"
               "echo \"$TESTS\" > $d/tests$n; echo -n \"$TIMEOUT \" >> $d/timeouts\n"
               "echo \"e2e: run dir $d/run$n; stages: x\"\n"
               "exit ${1:+$(echo %s | cut -c$n)}\n",
            none_left ? "true" : "echo 3 4", script);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "cd %s && env -u TESTS -u TIMEOUT E2E_BOOTS=3 %s bash e2e-boots.sh /build >/dev/null 2>&1; "
             "rc=$?; n=$(cat n); [ \"$n\" = 1 ] || grep -qx '3 4' tests$n || rc=99; exit $((rc * 10 + n))",
             dir, env);
    st = system(cmd);
    ck_assert(WIFEXITED(st));
    snprintf(path, sizeof(path), "%s/timeouts", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(timeouts, (int)tlen, f));
    fclose(f);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    *nboots = WEXITSTATUS(st) % 10;
    return WEXITSTATUS(st) / 10;
}

static int boots(const char *script, bool none_left, int *nboots)
{
    char t[128];

    return boots_env("", script, none_left, nboots, t, sizeof(t));
}

START_TEST(test_boots_resume_after_freeze)
{
    int n;

    ck_assert_int_eq(boots("0", false, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(boots("20", false, &n), 0);     /* froze, then the rest passed */
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(boots("1", false, &n), 1);      /* a FAIL is never retried */
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(boots("21", false, &n), 1);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(boots("222", false, &n), 2);    /* three boots at most */
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(boots("2", true, &n), 0);       /* froze after the last verdict */
    ck_assert_int_eq(n, 1);
}
END_TEST

/* With E2E_BUDGET (CI's time left) a boot's outer QEMU gets no more than what is left, and no boot
 * starts with less than 10 minutes left. */
START_TEST(test_boots_within_budget)
{
    char t[128];
    int n, a = 0, b = 0;

    ck_assert_int_eq(boots_env("", "2220", false, &n, t, sizeof(t)), 2);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(t, "4200 4200 4200 ");                     /* no budget: e2e.sh's own limit */
    ck_assert_int_eq(boots_env("E2E_BUDGET=900", "20", false, &n, t, sizeof(t)), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(sscanf(t, "%d %d", &a, &b), 2);
    ck_assert(a <= 900 && a > 600 && b <= a);                     /* what was left, twice */
    ck_assert_int_eq(boots_env("E2E_BUDGET=599", "20", false, &n, t, sizeof(t)), 2);
    ck_assert_int_eq(n, 1);                                       /* no time for a second boot */
    ck_assert_int_eq(boots_env("E2E_BUDGET=9000", "0", false, &n, t, sizeof(t)), 0);
    ck_assert_str_eq(t, "4200 ");
}
END_TEST

START_TEST(test_lab_stages_and_anchor_limitation)
{
    ck_assert_int_eq(judge("perf", true, LAB("perf", "PASS", ANCHOR_FAILED), true), 0);
    ck_assert_int_eq(judge("perf", true, LAB("perf", "FAIL", "qemu-xen: ok"), true), 1);
    ck_assert_int_eq(judge("perf", true, LAB("perf", "FAIL", ANCHOR_FAILED), true), 1);
    /* the default list is both sides' stages: every one of them, each once */
    ck_assert_int_eq(judge(NULL, true, DEFAULT_ALL LAB("perf", "PASS", ANCHOR_FAILED), true), 0);
    ck_assert_int_eq(judge(NULL, true, DEFAULT_ALL, true), 1);                     /* perf missing */
    ck_assert_int_eq(judge(NULL, true, DEFAULT_ALL LAB("perf", "PASS", "") LAB("perf", "PASS", ""), true), 1);
}
END_TEST

START_TEST(test_bed_not_up_is_exit_2)
{
    ck_assert_int_eq(judge("1", false, "", false), 2);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("e2e_verdict");
    TCase *tc = tcase_create("judge");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_all_selected_pass);
    tcase_add_test(tc, test_failures_are_exit_1);
    tcase_add_test(tc, test_lab_stages_and_anchor_limitation);
    tcase_add_test(tc, test_bed_not_up_is_exit_2);
    tcase_add_test(tc, test_frozen_machine);
    tcase_add_test(tc, test_remaining_after_freeze);
    tcase_add_test(tc, test_boots_resume_after_freeze);
    tcase_add_test(tc, test_boots_within_budget);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
