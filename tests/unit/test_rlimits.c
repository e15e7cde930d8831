/* rlimits/: the policy as a pure function, and applying it (lower only) in a
 * forked child so the test process keeps its own limits. */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/core/fdset.h"
#include "dm/qmp/qmp.h"
#include "rlimits/rlimits.h"
#include "tests/lib/ckrun.h"

static const struct rlimit_want *find(const struct rlimit_want *w, int n, int res)
{
    const struct rlimit_want *hit = NULL;
    int i;

    for (i = 0; i < n; i++)
        if (w[i].resource == res) {
            ck_assert_msg(hit == NULL, "RLIMIT_%s listed twice", rlimits_name(res));
            hit = &w[i];
        }
    return hit;
}

START_TEST(policy_values)
{
    struct rlimit_want w[RLIMITS_MAX];
    struct rlimit_inputs in = { .max_fd = 17, .as_bytes = 3ull << 30 };
    const int zero[] = { RLIMIT_CORE, RLIMIT_MSGQUEUE, RLIMIT_LOCKS, RLIMIT_MEMLOCK, RLIMIT_NPROC };
    const struct rlimit_want *r;
    size_t i;
    int n;

    n = rlimits_policy(&in, w, RLIMITS_MAX);
    ck_assert_int_eq(n, 8);
    for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        r = find(w, n, zero[i]);
        ck_assert_msg(r != NULL, "RLIMIT_%s missing", rlimits_name(zero[i]));
        ck_assert_uint_eq(r->value, 0);
    }
    r = find(w, n, RLIMIT_FSIZE);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_le(r->value, 256 * 1024);
    ck_assert_uint_gt(r->value, 0);
    r = find(w, n, RLIMIT_NOFILE);
    ck_assert_ptr_nonnull(r);
    /* fd numbers must stay below the limit: highest kept + 1, plus the room
     * for full fd sets and QMP queues. */
    ck_assert_uint_eq(r->value, 17 + 1 + RLIMITS_NOFILE_HEADROOM);
    ck_assert_uint_ge(RLIMITS_NOFILE_HEADROOM, FDSET_MAX_SETS * FDSET_MAX_FDS + QMP_MAX_FDS);
    r = find(w, n, RLIMIT_AS);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->value, 3ull << 30);
    for (i = 0; i < (size_t)n; i++)
        ck_assert_msg(w[i].why && strlen(w[i].why) > 10, "row %zu has no reason", i);
}
END_TEST

/* An image no loop device could take (docs/restriction.md): FSIZE becomes
 * its size, never less than libxl's 256 KiB. */
START_TEST(policy_fsize_for_plain_images)
{
    struct rlimit_want w[RLIMITS_MAX];
    struct rlimit_inputs in = { .max_fd = 5, .fsize_bytes = 64ull << 20 };
    const struct rlimit_want *r;
    int n;

    n = rlimits_policy(&in, w, RLIMITS_MAX);
    r = find(w, n, RLIMIT_FSIZE);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->value, 64ull << 20);
    in.fsize_bytes = 4096;
    n = rlimits_policy(&in, w, RLIMITS_MAX);
    r = find(w, n, RLIMIT_FSIZE);
    ck_assert_uint_eq(r->value, RLIMITS_FSIZE_BYTES);
}
END_TEST

START_TEST(policy_no_as_budget)
{
    struct rlimit_want w[RLIMITS_MAX];
    struct rlimit_inputs in = { .max_fd = 2, .as_bytes = 0 };
    int n = rlimits_policy(&in, w, RLIMITS_MAX);

    ck_assert_ptr_null(find(w, n, RLIMIT_AS));
    ck_assert_ptr_nonnull(find(w, n, RLIMIT_NOFILE));
    ck_assert_uint_eq(find(w, n, RLIMIT_NOFILE)->value, 3 + RLIMITS_NOFILE_HEADROOM);
}
END_TEST

START_TEST(policy_respects_max)
{
    struct rlimit_want w[3];
    struct rlimit_inputs in = { .max_fd = 5, .as_bytes = 1 << 30 };

    ck_assert_int_eq(rlimits_policy(&in, w, 3), 3);
    ck_assert_int_eq(rlimits_policy(&in, w, 0), 0);
}
END_TEST

START_TEST(as_budget)
{
    uint64_t b = rlimits_as_budget(64ull << 20);

#if defined(__SANITIZE_ADDRESS__)
    ck_assert_uint_eq(b, 0);
#else
    ck_assert_uint_eq(b, (64ull << 20) + RLIMITS_AS_OVERHEAD);
    ck_assert_uint_gt(rlimits_as_budget(1ull << 30), b);
    ck_assert_uint_eq(rlimits_as_budget(UINT64_MAX - 5), UINT64_MAX);
#endif
}
END_TEST

START_TEST(lowered_never_raises)
{
    ck_assert_uint_eq(rlimits_lowered(100, 500), 100);
    ck_assert_uint_eq(rlimits_lowered(500, 100), 100);
    ck_assert_uint_eq(rlimits_lowered(RLIM_INFINITY, 7), 7);
    ck_assert_uint_eq(rlimits_lowered(0, 0), 0);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(rlimits_name(RLIMIT_NOFILE), "NOFILE");
    ck_assert_str_eq(rlimits_name(RLIMIT_AS), "AS");
    ck_assert_str_eq(rlimits_name(RLIMIT_RTTIME), "?");
}
END_TEST

/* Run fn in a child; returns its exit status (0 = all checks passed, else
 * the number of the failed check). */
static int in_child(int (*fn)(void))
{
    int status = -1;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn());
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "child died by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

static int child_apply(void)
{
    struct rlimit_want w[RLIMITS_MAX];
    struct rlimit_inputs in = { .max_fd = 9, .as_bytes = 2ull << 30 };
    struct rlimit lim = { 300, 300 };
    char err[128];
    int n;

    /* A hard limit already below the policy's wish must stay where it is. */
    if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
        return 1;
    n = rlimits_policy(&in, w, RLIMITS_MAX);
    if (rlimits_apply(w, n, err, sizeof(err)) < 0)
        return 2;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_max != 9 + 1 + RLIMITS_NOFILE_HEADROOM ||
        lim.rlim_cur != lim.rlim_max)
        return 3;
    if (getrlimit(RLIMIT_CORE, &lim) < 0 || lim.rlim_cur != 0 || lim.rlim_max != 0)
        return 4;
    if (getrlimit(RLIMIT_FSIZE, &lim) < 0 || lim.rlim_max != RLIMITS_FSIZE_BYTES)
        return 5;
    if (getrlimit(RLIMIT_AS, &lim) < 0 || lim.rlim_max != 2ull << 30)
        return 6;
    if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0 || lim.rlim_max != 0)
        return 7;
    /* Applying a looser policy again raises nothing (and needs no privilege). */
    in.max_fd = 5000;
    in.as_bytes = 8ull << 30;
    n = rlimits_policy(&in, w, RLIMITS_MAX);
    if (rlimits_apply(w, n, err, sizeof(err)) < 0)
        return 8;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_max != 9 + 1 + RLIMITS_NOFILE_HEADROOM)
        return 9;
    if (getrlimit(RLIMIT_AS, &lim) < 0 || lim.rlim_max != 2ull << 30)
        return 10;
    return 0;
}

START_TEST(apply_lowers_only)
{
    ck_assert_int_eq(in_child(child_apply), 0);
}
END_TEST

static int child_prelowered(void)
{
    struct rlimit_want w = { RLIMIT_NOFILE, 1000, "test" };
    struct rlimit lim = { 50, 64 };
    char err[128];

    if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
        return 1;
    if (rlimits_apply(&w, 1, err, sizeof(err)) < 0)
        return 2;
    /* hard stays 64; soft follows the hard limit */
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_max != 64 || lim.rlim_cur != 64)
        return 3;
    return 0;
}

START_TEST(apply_keeps_lower_hard)
{
    ck_assert_int_eq(in_child(child_prelowered), 0);
}
END_TEST

/* NPROC = 0 with a per-domid uid: the DM cannot create any task. */
static int child_nproc(void)
{
    struct rlimit_want w[RLIMITS_MAX];
    struct rlimit_inputs in = { .max_fd = 2, .as_bytes = 0 };
    char err[128];
    pid_t pid;
    int n;

    if (setgroups(0, NULL) < 0 || setresgid(131072, 131072, 131072) < 0 ||
        setresuid(131079, 131079, 131079) < 0)
        return 1;
    n = rlimits_policy(&in, w, RLIMITS_MAX);
    if (rlimits_apply(w, n, err, sizeof(err)) < 0)
        return 2;
    pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        return 3;
    }
    return errno == EAGAIN ? 0 : 4;
}

START_TEST(nproc_blocks_fork)
{
    ck_assert_int_eq(in_child(child_nproc), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rlimits");
    TCase *tc = tcase_create("policy");

    /* Children lower RLIMIT_FSIZE while their stderr may be a large CI log
     * file: a log line must fail with EFBIG, not kill them (as in the DM). */
    signal(SIGXFSZ, SIG_IGN);

    tcase_add_test(tc, policy_values);
    tcase_add_test(tc, policy_fsize_for_plain_images);
    tcase_add_test(tc, policy_no_as_budget);
    tcase_add_test(tc, policy_respects_max);
    tcase_add_test(tc, as_budget);
    tcase_add_test(tc, lowered_never_raises);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    tc = tcase_create("apply");
    tcase_add_test(tc, apply_lowers_only);
    tcase_add_test(tc, apply_keeps_lower_hard);
    tcase_add_test(tc, nproc_blocks_fork);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
