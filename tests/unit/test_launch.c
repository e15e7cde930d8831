/* Pre-exec hardening: namespaces (compared through /proc/PID/ns), rlimits,
 * session, inherited fds, environment, and failures reported with the step
 * that failed. The launched program is /bin/sleep: we only inspect it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/launch.h"

static char err[512];
static pid_t child = -1;

static void teardown(void)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    child = -1;
}

static void ns_of(pid_t pid, const char *ns, char *buf, size_t len)
{
    char path[64];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
    n = readlink(path, buf, len - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
}

static bool same_ns(pid_t a, pid_t b, const char *ns)
{
    char x[64], y[64];

    ns_of(a, ns, x, sizeof(x));
    ns_of(b, ns, y, sizeof(y));
    return !strcmp(x, y);
}

/* Wait until the child has exec'd sleep (bounded). */
static void wait_exec(pid_t pid)
{
    char path[64], exe[PATH_MAX];

    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    for (int i = 0; i < 2000; i++) {
        ssize_t n = readlink(path, exe, sizeof(exe) - 1);

        if (n > 0) {
            exe[n] = 0;
            if (strstr(exe, "sleep"))
                return;
        }
        usleep(1000);
    }
    ck_abort_msg("child %d never exec'd sleep", (int)pid);
}

static pid_t spawn_sleep(bool restrict_ns, bool net, int pass_fd, int log_fd)
{
    static char *argv[] = { "/bin/sleep", "30", NULL };
    static char *envp[] = { "XEN_DOMAIN_ID=9", NULL };
    struct launch_spec s = {
        .path = "/bin/sleep", .argv = argv, .envp = envp, .log_fd = log_fd,
        .restrict_ns = restrict_ns, .new_net = net,
    };

    if (pass_fd >= 0) {
        s.pass_fd[0] = pass_fd;
        s.pass_at[0] = 3;
        s.n_pass = 1;
    }
    err[0] = 0;
    child = launch_spawn(&s, err, sizeof(err));
    ck_assert_msg(child > 0, "spawn: %s", err);
    wait_exec(child);
    return child;
}

START_TEST(namespaces_without_net)
{
    pid_t pid = spawn_sleep(true, false, -1, -1);
    pid_t self = getpid();

    ck_assert(!same_ns(pid, self, "mnt"));
    ck_assert(!same_ns(pid, self, "ipc"));
    ck_assert(!same_ns(pid, self, "uts"));
    ck_assert(same_ns(pid, self, "net"));      /* a guest with a NIC keeps the host net ns */
    ck_assert(same_ns(pid, self, "pid"));
    ck_assert(same_ns(pid, self, "user"));
}
END_TEST

START_TEST(namespaces_with_net)
{
    pid_t pid = spawn_sleep(true, true, -1, -1);

    ck_assert(!same_ns(pid, getpid(), "net"));
    ck_assert(!same_ns(pid, getpid(), "mnt"));
}
END_TEST

START_TEST(no_restriction_no_namespaces)
{
    pid_t pid = spawn_sleep(false, false, -1, -1);

    ck_assert(same_ns(pid, getpid(), "mnt"));
    ck_assert(same_ns(pid, getpid(), "ipc"));
}
END_TEST

static unsigned long long limit_of(pid_t pid, const char *name, bool hard)
{
    char path[64], line[256], s[32], h[32];
    unsigned long long v = ~0ull;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, name, strlen(name)) && sscanf(line + strlen(name), "%31s %31s", s, h) == 2) {
            const char *x = hard ? h : s;

            v = strcmp(x, "unlimited") ? strtoull(x, NULL, 10) : ~0ull;
            break;
        }
    fclose(f);
    return v;
}

START_TEST(libxl_rlimits)
{
    pid_t pid = spawn_sleep(true, false, -1, -1);

    for (int hard = 0; hard < 2; hard++) {
        ck_assert_uint_le(limit_of(pid, "Max file size", hard), 256 * 1024);
        ck_assert_uint_eq(limit_of(pid, "Max core file size", hard), 0);
        ck_assert_uint_eq(limit_of(pid, "Max msgqueue size", hard), 0);
        ck_assert_uint_eq(limit_of(pid, "Max file locks", hard), 0);
        ck_assert_uint_eq(limit_of(pid, "Max locked memory", hard), 0);
    }
    /* ours are untouched */
    {
        struct rlimit rl;

        ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
        ck_assert_uint_eq(limit_of(getpid(), "Max core file size", false),
                          rl.rlim_cur == RLIM_INFINITY ? ~0ull : (unsigned long long)rl.rlim_cur);
    }
}
END_TEST

START_TEST(rlimits_only_lowered)
{
    /* with FSIZE already below 256 KiB, it stays where it is */
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = { 4096, 8192 };

        if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || launch_apply_rlimits() < 0 || getrlimit(RLIMIT_FSIZE, &rl) < 0)
            _exit(2);
        _exit(rl.rlim_cur == 4096 && rl.rlim_max == 8192 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(only_passed_fds_survive)
{
    char path[64], link[128], want[128];
    int p[2], stray, log_fd, n = 0;
    struct stat a, b;
    pid_t pid;
    FILE *ls;

    ck_assert_int_eq(pipe(p), 0);                 /* no CLOEXEC: a stray to be closed */
    stray = open("/etc/hostname", O_RDONLY);
    ck_assert_int_ge(stray, 0);
    log_fd = open("/tmp", O_TMPFILE | O_WRONLY | O_APPEND, 0600);
    ck_assert_int_ge(log_fd, 0);
    pid = spawn_sleep(true, false, p[1], log_fd);

    /* fd 3 is our pipe */
    snprintf(path, sizeof(path), "/proc/%d/fd/3", (int)pid);
    ck_assert_int_eq(stat(path, &a), 0);
    ck_assert_int_eq(fstat(p[1], &b), 0);
    ck_assert(a.st_ino == b.st_ino);
    /* 1 and 2 are the log, 0 is /dev/null */
    snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)pid);
    ck_assert_int_eq(stat(path, &a), 0);
    ck_assert_int_eq(fstat(log_fd, &b), 0);
    ck_assert(a.st_ino == b.st_ino);
    snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
    ck_assert_int_gt(readlink(path, link, sizeof(link) - 1), 0);
    snprintf(want, sizeof(want), "/dev/null");
    ck_assert_int_eq(strncmp(link, want, strlen(want)), 0);
    /* and nothing else */
    snprintf(path, sizeof(path), "ls /proc/%d/fd", (int)pid);
    ls = popen(path, "r");
    ck_assert_ptr_nonnull(ls);
    while (fgets(link, sizeof(link), ls))
        n++;
    pclose(ls);
    ck_assert_int_eq(n, 4);
    close(stray);
}
END_TEST

START_TEST(session_and_environment)
{
    char path[64], env[512];
    pid_t pid = spawn_sleep(true, false, -1, -1);
    ssize_t n;
    int fd;

    ck_assert_int_eq(getsid(pid), pid);
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, env, sizeof(env));
    close(fd);
    /* exactly one variable */
    ck_assert_int_eq(n, (ssize_t)strlen("XEN_DOMAIN_ID=9") + 1);
    ck_assert_str_eq(env, "XEN_DOMAIN_ID=9");
}
END_TEST

START_TEST(exec_failure_reported)
{
    static char *argv[] = { "/nonexistent/dm", NULL };
    struct launch_spec s = { .path = "/nonexistent/dm", .argv = argv, .log_fd = -1, .restrict_ns = true };

    ck_assert_int_eq(launch_spawn(&s, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "execve") && strstr(err, "No such file"), "err: %s", err);
}
END_TEST

START_TEST(bad_pass_fd_refused)
{
    static char *argv[] = { "/bin/sleep", "1", NULL };
    struct launch_spec s = { .path = "/bin/sleep", .argv = argv, .log_fd = -1, .n_pass = 1 };

    s.pass_fd[0] = 0;
    s.pass_at[0] = 1;           /* would clobber stdout */
    ck_assert_int_eq(launch_spawn(&s, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "bad passed fd"));
}
END_TEST

START_TEST(close_fds_keeps_list)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY), c = open("/dev/null", O_RDONLY);
        int keep[1] = { b };

        if (a < 0 || b < 0 || c < 0 || launch_close_fds(keep, 1) < 0)
            _exit(2);
        _exit(fcntl(a, F_GETFD) == -1 && fcntl(c, F_GETFD) == -1 && fcntl(b, F_GETFD) != -1 &&
              fcntl(1, F_GETFD) != -1 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("launch");
    TCase *tc = tcase_create("core");

    /* Children lower RLIMIT_FSIZE while their stderr may be a large CI log
     * file: a log line must fail with EFBIG, not kill them (as in the DM). */
    signal(SIGXFSZ, SIG_IGN);

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, namespaces_without_net);
    tcase_add_test(tc, namespaces_with_net);
    tcase_add_test(tc, no_restriction_no_namespaces);
    tcase_add_test(tc, libxl_rlimits);
    tcase_add_test(tc, rlimits_only_lowered);
    tcase_add_test(tc, only_passed_fds_survive);
    tcase_add_test(tc, session_and_environment);
    tcase_add_test(tc, exec_failure_reported);
    tcase_add_test(tc, bad_pass_fd_refused);
    tcase_add_test(tc, close_fds_keeps_list);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
