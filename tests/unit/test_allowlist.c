/* The seccomp allowlist is pinned: this file holds every row of the table
 * (syscall, policy, argument rule and its values) in order. Widening the
 * filter (a new syscall, a new ioctl request, a looser argument rule) fails
 * here until the row below and docs/restriction.md say why. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/privcmd.h>

#include "restrict/restrict.h"
#include "restrict/sandbox.h"
#include "tests/lib/ckrun.h"

struct pinned {
    const char *name;
    bool xen_only;
    enum seccomp_match match;
    unsigned arg;
    uint64_t vals[SECCOMP_MAX_VALS];
    unsigned n_vals;
};

#define P_ANY(n)             { n, false, SECCOMP_ANY, 0, { 0 }, 0 }
#define P_NULL(n, a)         { n, false, SECCOMP_NULL, a, { 0 }, 0 }
#define P_CLEAR(n, a, m)     { n, false, SECCOMP_CLEAR, a, { m }, 1 }

static const struct pinned pinned[] = {
    P_ANY("epoll_wait"), P_ANY("epoll_ctl"), P_ANY("read"), P_ANY("write"), P_ANY("close"),
    P_ANY("clock_gettime"), P_ANY("exit_group"), P_ANY("rt_sigreturn"), P_ANY("rt_sigprocmask"),
    P_ANY("accept4"), P_ANY("recvmsg"),
    P_NULL("sendto", 4),
    { "fcntl", false, SECCOMP_ONE_OF, 1, { F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC }, 5 },
    P_ANY("pread64"), P_ANY("pwrite64"), P_ANY("lseek"), P_ANY("fdatasync"),
    /* fd >= 3 (never the log on 1, 2), length 0 only: docs/restriction.md */
    { "ftruncate", false, SECCOMP_EMPTY_FROM, 1, { 3 }, 1 },
    P_ANY("brk"),
    P_CLEAR("mmap", 2, PROT_EXEC), P_CLEAR("mprotect", 2, PROT_EXEC),
    P_ANY("munmap"), P_ANY("madvise"), P_ANY("mremap"),
#if defined(__SANITIZE_ADDRESS__)
    P_NULL("sigaltstack", 0),
#endif
    /* No IOCTL_PRIVCMD_HYPERCALL: a restricted privcmd fd refuses it anyway,
     * and the DM makes no hypercall after restriction. */
    { "ioctl", true, SECCOMP_ONE_OF, 1,
      { IOCTL_PRIVCMD_DM_OP, IOCTL_PRIVCMD_MMAPBATCH_V2, IOCTL_EVTCHN_NOTIFY }, 3 },
};

#define N_PINNED (sizeof(pinned) / sizeof(pinned[0]))

START_TEST(rows_are_exactly_the_pinned_ones)
{
    struct seccomp_row_info r;
    size_t i;
    unsigned v;

    for (i = 0; seccomp_row(i, &r); i++) {
        const struct pinned *p;

        ck_assert_msg(i < N_PINNED, "row %zu (%s) is not pinned: add it here and in docs/restriction.md "
                      "with the reason", i, r.name);
        p = &pinned[i];
        ck_assert_msg(!strcmp(r.name, p->name), "row %zu is %s, pinned %s", i, r.name, p->name);
        ck_assert_msg(r.xen_only == p->xen_only, "%s: policy changed", r.name);
        ck_assert_msg(r.match == p->match, "%s: argument rule kind changed", r.name);
        ck_assert_msg(r.arg == p->arg, "%s: compares argument %u, pinned %u", r.name, r.arg, p->arg);
        ck_assert_msg(r.n_vals == p->n_vals, "%s: %u values, pinned %u", r.name, r.n_vals, p->n_vals);
        for (v = 0; v < p->n_vals; v++)
            ck_assert_msg(r.vals[v] == p->vals[v], "%s: value %u is 0x%llx, pinned 0x%llx", r.name, v,
                          (unsigned long long)r.vals[v], (unsigned long long)p->vals[v]);
    }
    ck_assert_uint_eq(i, N_PINNED);
}
END_TEST

START_TEST(counts)
{
#if defined(__SANITIZE_ADDRESS__)
    const size_t asan = 1;
#else
    const size_t asan = 0;
#endif
    /* README.md and docs/restriction.md state these (test_docs checks the text). */
    ck_assert_uint_eq(seccomp_allowlist_count_for(SECCOMP_POLICY_QTEST), 24 + asan);
    ck_assert_uint_eq(seccomp_allowlist_count_for(SECCOMP_POLICY_XEN), 25 + asan);
}
END_TEST

/* ftruncate under the filter, in a grandchild (libcheck's child must stay
 * unfiltered to report): exit 0 = allowed, RESTRICT_EXIT_SECCOMP = trapped. */
enum trunc_case { TR_FILE_EMPTY, TR_FILE_GROW, TR_LOG, TR_LOG_HIGH_BITS, TR_STDIN };

static int trunc_child(enum trunc_case c, int fd)
{
    char err[160];
    long r = 0;

    if (seccomp_install(SANDBOX_ON, SECCOMP_POLICY_QTEST, err, sizeof(err)) < 0)
        return 90;
    switch (c) {
    case TR_FILE_EMPTY: r = syscall(SYS_ftruncate, fd, 0); break;
    case TR_FILE_GROW: r = syscall(SYS_ftruncate, fd, 4096); break;
    case TR_LOG: r = syscall(SYS_ftruncate, 2, 0); break;
    /* the kernel reads the fd as unsigned int: high bits must not smuggle fd 2 */
    case TR_LOG_HIGH_BITS: r = syscall(SYS_ftruncate, (1ULL << 32) | 2, 0); break;
    case TR_STDIN: r = syscall(SYS_ftruncate, 0, 0); break;
    }
    return r == 0 ? 0 : 91;
}

static int run_trunc(enum trunc_case c)
{
    char path[] = "/tmp/test-allowlist-XXXXXX";
    int fd = mkstemp(path), st = 0, logfd;
    pid_t pid;

    ck_assert_int_ge(fd, 3);
    unlink(path);
    ck_assert_int_eq(write(fd, "stale", 5), 5);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* fds 0 and 2 are regular files here, as libxl's /dev/null and log
         * would be truncatable if the rule let them through */
        logfd = dup(fd);
        if (logfd < 0 || dup2(logfd, 2) < 0 || dup2(logfd, 0) < 0)
            _exit(92);
        syscall(SYS_exit_group, trunc_child(c, fd));
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    close(fd);
    ck_assert_msg(WIFEXITED(st), "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

START_TEST(ftruncate_only_empties_fds_from_3)
{
    ck_assert_int_eq(run_trunc(TR_FILE_EMPTY), 0);
    ck_assert_int_eq(run_trunc(TR_FILE_GROW), RESTRICT_EXIT_SECCOMP);
    ck_assert_int_eq(run_trunc(TR_LOG), RESTRICT_EXIT_SECCOMP);
    ck_assert_int_eq(run_trunc(TR_LOG_HIGH_BITS), RESTRICT_EXIT_SECCOMP);
    ck_assert_int_eq(run_trunc(TR_STDIN), RESTRICT_EXIT_SECCOMP);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("allowlist");
    TCase *tc = tcase_create("pinned");

    tcase_add_test(tc, rows_are_exactly_the_pinned_ones);
    tcase_add_test(tc, counts);
    tcase_add_test(tc, ftruncate_only_empties_fds_from_3);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
