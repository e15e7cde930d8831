/* The seccomp allowlist. Every filter is loaded in a grandchild: libcheck's
 * forked child must stay unfiltered to report, the grandchild reports by
 * exit status and by what the SIGSYS reporter writes to its stderr (a pipe). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>

#include "restrict/restrict.h"
#include "restrict/sandbox.h"
#include "restrict/seccomp-bpf.h"
#include "restrict/seccomp-compile.h"
#include "tests/lib/ckrun.h"

struct run {
    int status;
    char err[4096];
};

/* fork; the child points stderr at a pipe, runs fn(arg) and exits with its
 * return value; the parent collects stderr and the wait status. */
static void run_filtered(int (*fn)(long), long arg, struct run *out)
{
    int p[2];
    pid_t pid;
    size_t len = 0;
    ssize_t r;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], STDERR_FILENO) < 0)
            _exit(90);
        close(p[1]);
        /* raw exit_group: a sanitizer's _exit wrapper makes syscalls the filter forbids */
        syscall(SYS_exit_group, fn(arg));
        _exit(99);
    }
    close(p[1]);
    while (len < sizeof(out->err) - 1 &&
           (r = read(p[0], out->err + len, sizeof(out->err) - 1 - len)) > 0)
        len += (size_t)r;
    out->err[len] = 0;
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &out->status, 0), pid);
}

static void expect_blocked(const struct run *r, const char *name, long nr)
{
    char want[96];

    snprintf(want, sizeof(want), "seccomp: blocked syscall %s (nr %ld)", name, nr);
    ck_assert_msg(WIFEXITED(r->status), "killed by signal %d, stderr: %s",
                  WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->err);
    ck_assert_int_eq(WEXITSTATUS(r->status), RESTRICT_EXIT_SECCOMP);
    ck_assert_msg(strstr(r->err, want), "stderr lacks '%s': %s", want, r->err);
}

static void expect_exit(const struct run *r, int code)
{
    ck_assert_msg(WIFEXITED(r->status), "killed by signal %d, stderr: %s",
                  WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->err);
    ck_assert_msg(WEXITSTATUS(r->status) == code, "exit %d, wanted %d; stderr: %s",
                  WEXITSTATUS(r->status), code, r->err);
}

static int install(enum sandbox_mode m, enum seccomp_policy p)
{
    char err[160];

    if (seccomp_install(m, p, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

/* The forbidden actions, by number (arg of the grandchild). */
enum bad { BAD_SOCKET, BAD_OPENAT, BAD_EXECVE, BAD_KILL, BAD_CLONE, BAD_PTRACE, BAD_MMAP_EXEC,
           BAD_MPROTECT_EXEC, BAD_FCNTL_SETLK, BAD_IOCTL, BAD_GETPID, BAD_CONNECT, BAD_SENDTO_ADDR };

static void do_bad(enum bad b)
{
    static char page[8192] __attribute__((aligned(4096)));
    struct flock fl = { .l_type = F_WRLCK };
    char *argv[] = { (char *)"/bin/true", NULL };
    struct termios t;

    switch (b) {
    case BAD_SOCKET: syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); break;
    case BAD_OPENAT: syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); break;
    case BAD_EXECVE: syscall(SYS_execve, argv[0], argv, NULL); break;
    case BAD_KILL: syscall(SYS_kill, 1, 0); break;
    case BAD_CLONE: syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); break;
    case BAD_PTRACE: syscall(SYS_ptrace, 0, 0, 0, 0); break;
    case BAD_MMAP_EXEC:
        syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        break;
    case BAD_MPROTECT_EXEC: syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC); break;
    case BAD_FCNTL_SETLK: syscall(SYS_fcntl, 0, F_SETLK, &fl); break;
    case BAD_IOCTL: syscall(SYS_ioctl, 0, TCGETS, &t); break;
    case BAD_GETPID: syscall(SYS_getpid); break;
    case BAD_CONNECT: syscall(SYS_connect, 0, NULL, 0); break;
    case BAD_SENDTO_ADDR: {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        syscall(SYS_sendto, 0, "x", 1, 0, &sa, sizeof(sa));
        break;
    }
    }
}

static const struct { enum bad b; const char *name; long nr; } bad_list[] = {
    { BAD_SOCKET, "socket", SYS_socket },
    { BAD_OPENAT, "openat", SYS_openat },
    { BAD_EXECVE, "execve", SYS_execve },
    { BAD_KILL, "kill", SYS_kill },
    { BAD_CLONE, "clone", SYS_clone },
    { BAD_PTRACE, "ptrace", SYS_ptrace },
    { BAD_MMAP_EXEC, "mmap", SYS_mmap },
    { BAD_MPROTECT_EXEC, "mprotect", SYS_mprotect },
    { BAD_FCNTL_SETLK, "fcntl", SYS_fcntl },
    { BAD_IOCTL, "ioctl", SYS_ioctl },
    { BAD_GETPID, "getpid", SYS_getpid },
    { BAD_CONNECT, "connect", SYS_connect },
    { BAD_SENDTO_ADDR, "sendto", SYS_sendto },
};
#define N_BAD (int)(sizeof(bad_list) / sizeof(bad_list[0]))

/* Under mode on: first prove allowed calls work, then do one forbidden
 * thing. Returning at all means the forbidden call was not stopped. */
static int gc_on_then_bad(long i)
{
    int p[2], sv[2];
    char c = 'x';
    void *m;

    if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 91;
    if (install(SANDBOX_ON, SECCOMP_POLICY_QTEST) < 0)
        return 92;
    /* allowed: write/read, fcntl F_GETFL, an anonymous RW mapping, malloc */
    if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1 || c != 'x')
        return 93;
    if (fcntl(p[0], F_GETFL) < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
        return 94;
    if (fcntl(p[0], F_DUPFD_CLOEXEC, 0) < 0)
        return 95;
    m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || munmap(m, 1 << 20) < 0)
        return 96;
    free(malloc(300000));
    /* send() on a connected socket is sendto with no address */
    if (send(sv[0], &c, 1, MSG_NOSIGNAL) != 1 || read(sv[1], &c, 1) != 1)
        return 97;
    if (ftruncate(p[1], 0) != -1 || errno != EINVAL)
        return 98;
    do_bad(bad_list[i].b);
    return 0;
}

START_TEST(on_reports_by_name)
{
    struct run r;

    run_filtered(gc_on_then_bad, _i, &r);
    expect_blocked(&r, bad_list[_i].name, bad_list[_i].nr);
}
END_TEST

/* Mode log: same filter, the forbidden call goes through. */
static int gc_log(long unused)
{
    int fd;

    (void)unused;
    if (install(SANDBOX_LOG, SECCOMP_POLICY_QTEST) < 0)
        return 91;
    fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 92;
    if (syscall(SYS_getpid) != getpid())
        return 93;
    return 0;
}

START_TEST(log_mode_allows)
{
    struct run r;

    run_filtered(gc_log, 0, &r);
    expect_exit(&r, 0);
    ck_assert_ptr_null(strstr(r.err, "blocked syscall"));
}
END_TEST

/* The Xen policy admits exactly its ioctl requests. */
static int gc_xen_ioctl(long bad)
{
    int p[2];

    if (pipe(p) < 0)
        return 91;
    if (install(SANDBOX_ON, SECCOMP_POLICY_XEN) < 0)
        return 92;
    /* a pipe is no evtchn device: the kernel answers ENOTTY, the filter let it pass */
    if (ioctl(p[0], IOCTL_EVTCHN_NOTIFY, NULL) != -1 || errno != ENOTTY)
        return 93;
    if (bad)
        do_bad(BAD_IOCTL);
    return 0;
}

START_TEST(xen_policy_ioctls)
{
    struct run r;

    run_filtered(gc_xen_ioctl, 0, &r);
    expect_exit(&r, 0);
    run_filtered(gc_xen_ioctl, 1, &r);
    expect_blocked(&r, "ioctl", SYS_ioctl);
}
END_TEST

static int gc_off(long unused)
{
    char err[160];

    (void)unused;
    if (seccomp_install(SANDBOX_OFF, SECCOMP_POLICY_QTEST, err, sizeof(err)) == 0)
        return 91;
    /* nothing was loaded */
    return syscall(SYS_getpid) == getpid() ? 0 : 92;
}

START_TEST(off_loads_nothing)
{
    struct run r;

    run_filtered(gc_off, 0, &r);
    expect_exit(&r, 0);
}
END_TEST

START_TEST(table_shape)
{
    static const char *const never[] = {
        "open", "openat", "openat2", "creat", "execve", "execveat", "socket", "socketpair",
        "connect", "bind", "listen", "clone", "clone3", "fork", "vfork", "ptrace", "kill",
        "tkill", "tgkill", "process_vm_writev", "mount", "chroot", "setuid", "setresuid",
        "prctl", "seccomp", "bpf", "memfd_create", "pkey_mprotect", "io_uring_setup",
    };
    struct seccomp_row_info row;
    size_t i, j, n_rows = 0;
    size_t qtest = seccomp_allowlist_count_for(SECCOMP_POLICY_QTEST);
    size_t xen = seccomp_allowlist_count_for(SECCOMP_POLICY_XEN);

    ck_assert_uint_eq(seccomp_allowlist_count(), qtest);
    ck_assert_uint_le(xen, 40);
    ck_assert_uint_ge(xen, qtest);
    for (i = 0; seccomp_row(i, &row); i++) {
        n_rows++;
        ck_assert_msg(row.why && strlen(row.why) > 5, "%s: no reason", row.name);
        ck_assert_ptr_nonnull(row.args);
        for (j = 0; j < sizeof(never) / sizeof(never[0]); j++)
            ck_assert_msg(strcmp(row.name, never[j]), "%s must not be allowed", row.name);
    }
    ck_assert_uint_ge(n_rows, xen);
}
END_TEST

/* The build-time table agrees with libseccomp (which names the allowlist
 * rows) on every number both know, and knows every allowlisted syscall. */
START_TEST(name_table)
{
    int nr, agree = 0;
    size_t i;

    for (nr = 0; nr < 1024; nr++) {
        char *lib = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        const char *ours = seccomp_name(nr);

        if (lib && ours) {
            ck_assert_msg(strcmp(lib, ours) == 0, "nr %d: libseccomp '%s', table '%s'", nr, lib, ours);
            agree++;
        }
        free(lib);
    }
    ck_assert_int_gt(agree, 300);
    for (i = 0;; i++) {
        struct seccomp_row_info row;

        if (!seccomp_row(i, &row))
            break;
        nr = seccomp_syscall_resolve_name(row.name);
        ck_assert_int_ge(nr, 0);
        ck_assert_str_eq(seccomp_name(nr), row.name);
    }
    ck_assert_str_eq(seccomp_name(SYS_socket), "socket");
    ck_assert_str_eq(seccomp_name(SYS_execve), "execve");
    ck_assert_str_eq(seccomp_name(SYS_read), "read");
    ck_assert_ptr_null(seccomp_name(-1));
    ck_assert_ptr_null(seccomp_name(100000));
}
END_TEST

/* The programs built into the DM are what libseccomp makes of the table
 * now, instruction for instruction: a table edit that did not regenerate
 * build/gen/seccomp-bpf.c, or a generator that emits anything else, fails. */
START_TEST(prebuilt_matches_table)
{
    static const enum sandbox_mode modes[] = { SANDBOX_ON, SANDBOX_LOG };
    static const enum seccomp_policy pols[] = { SECCOMP_POLICY_QTEST, SECCOMP_POLICY_XEN };
    size_t m, p, n = 0;

    ck_assert_int_eq(seccomp_api_set(SECCOMP_BUILD_API_LEVEL), 0);
    for (m = 0; m < 2; m++)
        for (p = 0; p < 2; p++) {
            const struct seccomp_prebuilt *b = seccomp_prebuilt_find(modes[m], pols[p]);
            static struct sock_filter got[BPF_MAXINSNS];
            char err[160];
            scmp_filter_ctx f = seccomp_policy_compile(modes[m], pols[p], err, sizeof(err));
            int fd = memfd_create("bpf", MFD_CLOEXEC);
            ssize_t len = 0, r;

            ck_assert_msg(f != NULL, "%s", err);
            ck_assert_ptr_nonnull(b);
            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(seccomp_export_bpf(f, fd), 0);
            ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
            while ((r = read(fd, (char *)got + len, sizeof(got) - (size_t)len)) > 0)
                len += r;
            close(fd);
            seccomp_release(f);
            ck_assert_int_eq(len, (ssize_t)(b->len * sizeof(struct sock_filter)));
            ck_assert_msg(memcmp(got, b->insns, (size_t)len) == 0, "mode %zu policy %zu: program differs", m, p);
            /* the Xen program has the ioctl rule the qtest one lacks */
            if (pols[p] == SECCOMP_POLICY_XEN)
                ck_assert_uint_gt(b->len, seccomp_prebuilt_find(modes[m], SECCOMP_POLICY_QTEST)->len);
            n++;
        }
    ck_assert_uint_eq(n, seccomp_n_prebuilt);
    ck_assert_ptr_null(seccomp_prebuilt_find(SANDBOX_OFF, SECCOMP_POLICY_QTEST));
}
END_TEST

/* The two modes differ only in the default action: trap (on) or log. */
START_TEST(prebuilt_modes_differ_in_default_action)
{
    const struct seccomp_prebuilt *on = seccomp_prebuilt_find(SANDBOX_ON, SECCOMP_POLICY_QTEST);
    const struct seccomp_prebuilt *log = seccomp_prebuilt_find(SANDBOX_LOG, SECCOMP_POLICY_QTEST);
    unsigned i, trap = 0, logs = 0;

    ck_assert_ptr_nonnull(on);
    ck_assert_ptr_nonnull(log);
    ck_assert_uint_eq(on->len, log->len);
    for (i = 0; i < on->len; i++) {
        if (memcmp(&on->insns[i], &log->insns[i], sizeof(on->insns[i])) == 0)
            continue;
        ck_assert_uint_eq(on->insns[i].code, BPF_RET | BPF_K);
        ck_assert_uint_eq(on->insns[i].k, SECCOMP_RET_TRAP);
        ck_assert_uint_eq(log->insns[i].k, SECCOMP_RET_LOG);
        trap++;
        logs++;
    }
    ck_assert_uint_ge(trap, 1);
    ck_assert_uint_eq(trap, logs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seccomp");
    TCase *tc = tcase_create("table");

    tcase_add_test(tc, table_shape);
    tcase_add_test(tc, name_table);
    tcase_add_test(tc, prebuilt_matches_table);
    tcase_add_test(tc, prebuilt_modes_differ_in_default_action);
    suite_add_tcase(s, tc);
    tc = tcase_create("filter");
    tcase_add_loop_test(tc, on_reports_by_name, 0, N_BAD);
    tcase_add_test(tc, log_mode_allows);
    tcase_add_test(tc, xen_policy_ioctls);
    tcase_add_test(tc, off_loads_nothing);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
