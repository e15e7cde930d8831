/* The real build/xsdm, started the way libxl starts qemu-xen under
 * dm_restrict=1 (QMP listening socket inherited as fd=N, -S, a mode-0000
 * chroot dir, a per-domid uid), on the qtest accelerator. Everything about
 * the restriction is asserted from outside through /proc/PID, as an
 * administrator (or depriv-fd-checker) would see it; then QMP must still be
 * fully served, and SIGHUP must end the DM. build/xsdm-testhooks makes a
 * forbidden syscall on purpose to show the seccomp reporter. Runs as root. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "restrict/restrict.h"
#include "rlimits/rlimits.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

#define TEST_UID 131079
#define TEST_GID 131072
#define RUNAS    "131079:131072"
#define RAM_MB   64
#define TMO      10000

enum form { FORM_RUNAS, FORM_RUN_WITH };

static char root_dir[64];
static char arg_chroot[128], arg_user[128];
static char qerr[256];

static void mk_root(void)
{
    snprintf(root_dir, sizeof(root_dir), "/tmp/xsdm-root-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root_dir));
    ck_assert_int_eq(chmod(root_dir, 0), 0);
}

static void rm_root(void)
{
    struct stat st;

    /* libxl reuses the dir for the next domain: the DM must not write into it */
    ck_assert_int_eq(rmdir(root_dir), 0);
    ck_assert_int_eq(stat(root_dir, &st), -1);
}

static struct qtest *start(const char *dm, enum form f, const char *sandbox)
{
    const char *args[12];
    struct qtest_opts o = { .dm = dm, .ram_mb = RAM_MB, .paused = true, .extra_fd = -1 };
    struct qtest *s;
    int n = 0;

    if (f == FORM_RUNAS) {
        args[n++] = "-chroot";
        args[n++] = root_dir;
        args[n++] = "-runas";
        args[n++] = RUNAS;
    } else {
        /* Xen master: two separate -run-with options, chroot in place of -chroot */
        snprintf(arg_chroot, sizeof(arg_chroot), "chroot=%s", root_dir);
        snprintf(arg_user, sizeof(arg_user), "user=%s", RUNAS);
        args[n++] = "-run-with";
        args[n++] = arg_chroot;
        args[n++] = "-run-with";
        args[n++] = arg_user;
    }
    if (sandbox) {
        args[n++] = "-sandbox";
        args[n++] = sandbox;
    }
    args[n] = NULL;
    o.args = args;
    s = qtest_start(&o);
    ck_assert_msg(s != NULL, "the DM did not start");
    return s;
}

static size_t slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 1;
    ssize_t r;

    buf[0] = '\n';
    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fd);
    return n;
}

static void field(const char *status, const char *name, char *out, size_t outlen)
{
    char key[64];
    const char *p, *e;

    snprintf(key, sizeof(key), "\n%s:", name);
    p = strstr(status, key);
    ck_assert_msg(p != NULL, "no %s in /proc/PID/status", name);
    p += strlen(key);
    while (*p == '\t' || *p == ' ')
        p++;
    e = strchr(p, '\n');
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    snprintf(out, outlen, "%.*s", (int)(e - p), p);
}

static long long limit_hard(const char *limits, const char *label)
{
    const char *p = strstr(limits, label);
    char soft[32], hard[32];

    ck_assert_msg(p != NULL, "no '%s' in /proc/PID/limits", label);
    ck_assert_int_eq(sscanf(p + strlen(label), "%31s %31s", soft, hard), 2);
    ck_assert_str_eq(soft, hard);
    return strcmp(hard, "unlimited") ? atoll(hard) : -1;
}

/* /proc/PID/fd: every fd is stdio (/dev/null, the log), a socket, the epoll
 * or the signalfd: no directory, no Xen device, no stray file. Returns the
 * highest fd number. */
static int check_fds(pid_t pid, const char *log_path)
{
    char dir[64], path[400], target[PATH_MAX];
    struct dirent *de;
    DIR *d;
    int max = -1, n = 0;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        ssize_t len;
        int fd;

        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        len = readlink(path, target, sizeof(target) - 1);
        ck_assert_int_gt(len, 0);
        target[len] = 0;
        n++;
        if (fd > max)
            max = fd;
        if (!strcmp(target, "/dev/null") || !strcmp(target, log_path) ||
            !strncmp(target, "socket:[", 8) || !strcmp(target, "anon_inode:[eventpoll]") ||
            !strcmp(target, "anon_inode:[signalfd]"))
            continue;
        ck_abort_msg("unexpected fd %d -> %s", fd, target);
    }
    closedir(d);
    ck_assert_int_le(n, 12);
    return max;
}

static void check_proc(pid_t pid, const char *log_path)
{
    char path[64], buf[8192], v[256], want[128];
    ssize_t n;
    int max_fd;
    long long nofile;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    slurp(path, buf, sizeof(buf));
    snprintf(want, sizeof(want), "%d\t%d\t%d\t%d", TEST_UID, TEST_UID, TEST_UID, TEST_UID);
    field(buf, "Uid", v, sizeof(v));
    ck_assert_str_eq(v, want);
    snprintf(want, sizeof(want), "%d\t%d\t%d\t%d", TEST_GID, TEST_GID, TEST_GID, TEST_GID);
    field(buf, "Gid", v, sizeof(v));
    ck_assert_str_eq(v, want);
    field(buf, "Groups", v, sizeof(v));
    ck_assert_str_eq(v, "");
    field(buf, "CapInh", v, sizeof(v));
    ck_assert_str_eq(v, "0000000000000000");
    field(buf, "CapPrm", v, sizeof(v));
    ck_assert_str_eq(v, "0000000000000000");
    field(buf, "CapEff", v, sizeof(v));
    ck_assert_str_eq(v, "0000000000000000");
    field(buf, "CapBnd", v, sizeof(v));
    ck_assert_str_eq(v, "0000000000000000");
    field(buf, "CapAmb", v, sizeof(v));
    ck_assert_str_eq(v, "0000000000000000");
    field(buf, "NoNewPrivs", v, sizeof(v));
    ck_assert_str_eq(v, "1");
    field(buf, "Seccomp", v, sizeof(v));
    ck_assert_str_eq(v, "2");
    field(buf, "Threads", v, sizeof(v));
    ck_assert_str_eq(v, "1");

    snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
    n = readlink(path, v, sizeof(v) - 1);
    ck_assert_int_gt(n, 0);
    v[n] = 0;
    ck_assert_str_eq(v, root_dir);
    snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
    n = readlink(path, v, sizeof(v) - 1);
    ck_assert_int_gt(n, 0);
    v[n] = 0;
    ck_assert_str_eq(v, root_dir);

    max_fd = check_fds(pid, log_path);

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    slurp(path, buf, sizeof(buf));
    ck_assert_int_eq(limit_hard(buf, "Max core file size"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max locked memory"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max file locks"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max msgqueue size"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max processes"), 0);
    ck_assert_int_ge(limit_hard(buf, "Max file size"), 0);
    ck_assert_int_le(limit_hard(buf, "Max file size"), 256 * 1024);
    /* kept fds were all open at restriction; the QMP client came later */
    nofile = limit_hard(buf, "Max open files");
    ck_assert_int_le(nofile, max_fd + 1 + RLIMITS_NOFILE_HEADROOM);
    ck_assert_int_gt(nofile, RLIMITS_NOFILE_HEADROOM + 2);
    if (rlimits_as_budget((uint64_t)RAM_MB << 20))
        ck_assert_int_eq(limit_hard(buf, "Max address space"),
                         (long long)rlimits_as_budget((uint64_t)RAM_MB << 20));
}

static json_t *exec_ok(struct qmpc *c, const char *cmd, json_t *args, int fd)
{
    json_t *ret = NULL;
    int r = qmpc_execute(c, cmd, args, fd, &ret, qerr, sizeof(qerr));

    ck_assert_msg(r == 0, "%s: %s", cmd, r < 0 ? qerr : json_string_value(json_object_get(ret, "desc")));
    return ret;
}

static void expect_status(struct qmpc *c, const char *want)
{
    json_t *ret = exec_ok(c, "query-status", NULL, -1);

    ck_assert_str_eq(json_string_value(json_object_get(ret, "status")), want);
    json_decref(ret);
}

/* The QMP conversation libxl has with a restricted DM, plus abuse. */
static void qmp_session(struct qmpc *c)
{
    const json_t *g = qmpc_greeting(c);
    json_t *ret, *msg, *fdsets, *fds;
    int devnull;

    ck_assert_ptr_nonnull(g);
    ck_assert(json_integer_value(json_object_get(json_object_get(json_object_get(
              json_object_get(g, "QMP"), "version"), "qemu"), "major")) >= 2);
    expect_status(c, "prelaunch");
    json_decref(exec_ok(c, "cont", NULL, -1));
    expect_status(c, "running");

    /* add-fd with a real fd (what cdrom-insert and save do), then look */
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(devnull, 0);
    ret = exec_ok(c, "add-fd", json_pack("{s:i,s:s}", "fdset-id", 3, "opaque", "cd"), devnull);
    close(devnull);
    ck_assert_int_eq(json_integer_value(json_object_get(ret, "fdset-id")), 3);
    ck_assert_int_ge(json_integer_value(json_object_get(ret, "fd")), 0);
    json_decref(ret);
    fdsets = exec_ok(c, "query-fdsets", NULL, -1);
    ck_assert_uint_eq(json_array_size(fdsets), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(fdsets, 0), "fdset-id")), 3);
    fds = json_object_get(json_array_get(fdsets, 0), "fds");
    ck_assert_uint_eq(json_array_size(fds), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fds, 0), "opaque")), "cd");
    json_decref(fdsets);
    json_decref(exec_ok(c, "remove-fd", json_pack("{s:i}", "fdset-id", 3), -1));
    fdsets = exec_ok(c, "query-fdsets", NULL, -1);
    ck_assert_uint_eq(json_array_size(fdsets), 0);
    json_decref(fdsets);

    /* malformed input: an error, and the session goes on */
    ck_assert_int_eq(qmpc_send_raw(c, "{\"execute\": nonsense}\r\n", 23, -1), 0);
    /* events (RESUME after cont) may be queued ahead of the reply */
    while ((msg = qmpc_recv(c, TMO, qerr, sizeof(qerr))) && json_object_get(msg, "event"))
        json_decref(msg);
    ck_assert_msg(msg != NULL, "no reply to garbage: %s", qerr);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(msg, "error"), "class")),
                     "GenericError");
    json_decref(msg);
    ck_assert_int_eq(qmpc_execute(c, "no-such-command", NULL, -1, &ret, qerr, sizeof(qerr)), 1);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "class")), "CommandNotFound");
    json_decref(ret);
    json_decref(exec_ok(c, "stop", NULL, -1));
    expect_status(c, "paused");
    json_decref(exec_ok(c, "query-version", NULL, -1));
}

static void expect_log_steps(const char *log_path)
{
    static const char *const want[] = {
        "restrict: close-fds: done", "restrict: chroot: done", "restrict: identity: done",
        "restrict: capabilities: done", "restrict: rlimits: done", "restrict: seccomp: done",
    };
    char buf[65536];
    const char *prev = buf;
    size_t i;

    slurp(log_path, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "restrict: xen-handles: skipped"));
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *p = strstr(buf, want[i]);

        ck_assert_msg(p != NULL, "log lacks '%s':\n%s", want[i], buf);
        ck_assert_msg(p > prev, "'%s' out of order", want[i]);
        prev = p;
    }
}

static void full_run(enum form f, const char *sandbox)
{
    struct qtest *s;
    struct qmpc *c;
    char log_path[512];
    int status;
    pid_t pid;

    mk_root();
    s = start(BUILD_DIR "/xsdm", f, sandbox);
    pid = qtest_pid(s);
    snprintf(log_path, sizeof(log_path), "%s", qtest_log_path(s));
    /* The greeting comes from the loop, which runs only once restricted. */
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    check_proc(pid, log_path);
    qmp_session(c);
    /* guest side still served through the qtest socket and guest RAM */
    qtest_writel(s, 0x1000, 0xc0ffee42);
    ck_assert_uint_eq(qtest_readl(s, 0x1000), 0xc0ffee42);
    expect_log_steps(log_path);

    /* libxl ends a DM without a kill-uid by SIGHUP */
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    status = qtest_wait_exit(s, TMO);
    ck_assert_msg(status != -1, "no exit after SIGHUP");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    qmpc_close(c);
    qtest_quit(s);
    rm_root();
}

START_TEST(runas_form)
{
    full_run(FORM_RUNAS, NULL);
}
END_TEST

START_TEST(run_with_form)
{
    full_run(FORM_RUN_WITH, "on");
}
END_TEST

/* A forbidden syscall made by the restricted DM itself (test hook). */
static const struct { const char *hook, *name; long nr; } forbidden[] = {
    { "socket", "socket", SYS_socket },
    { "openat", "openat", SYS_openat },
    { "execve", "execve", SYS_execve },
    { "kill", "kill", SYS_kill },
    { "clone", "clone", SYS_clone },
    { "ptrace", "ptrace", SYS_ptrace },
    { "mmap-exec", "mmap", SYS_mmap },
};

START_TEST(sandbox_on_reports)
{
    struct qtest *s;
    struct qmpc *c;
    json_t *ret = NULL;
    char buf[65536], want[128];
    int status, r;

    mk_root();
    s = start(BUILD_DIR "/xsdm-testhooks", _i % 2 ? FORM_RUN_WITH : FORM_RUNAS, "on");
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    expect_status(c, "prelaunch");
    r = qmpc_execute(c, "x-test-syscall", json_pack("{s:s}", "name", forbidden[_i].hook), -1,
                     &ret, qerr, sizeof(qerr));
    ck_assert_msg(r == -1, "x-test-syscall %s answered: the DM survived", forbidden[_i].hook);
    status = qtest_wait_exit(s, TMO);
    ck_assert_msg(status != -1, "the DM did not exit");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == RESTRICT_EXIT_SECCOMP,
                  "status 0x%x", status);
    slurp(qtest_log_path(s), buf, sizeof(buf));
    snprintf(want, sizeof(want), "seccomp: blocked syscall %s (nr %ld)", forbidden[_i].name,
             forbidden[_i].nr);
    ck_assert_msg(strstr(buf, want), "log lacks '%s':\n%s", want, buf);
    qmpc_close(c);
    qtest_quit(s);
    rm_root();
}
END_TEST

/* -sandbox log: the same call goes through and the DM keeps serving. */
START_TEST(sandbox_log_allows)
{
    struct qtest *s;
    struct qmpc *c;
    json_t *ret;
    int status;

    mk_root();
    s = start(BUILD_DIR "/xsdm-testhooks", FORM_RUNAS, "log");
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    ret = exec_ok(c, "x-test-syscall", json_pack("{s:s}", "name", "socket"), -1);
    ck_assert_int_ge(json_integer_value(json_object_get(ret, "ret")), 0);
    json_decref(ret);
    ret = exec_ok(c, "x-test-syscall", json_pack("{s:s}", "name", "getpid"), -1);
    ck_assert_int_eq(json_integer_value(json_object_get(ret, "ret")), qtest_pid(s));
    json_decref(ret);
    expect_status(c, "prelaunch");
    ck_assert_int_eq(kill(qtest_pid(s), SIGTERM), 0);
    status = qtest_wait_exit(s, TMO);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    qmpc_close(c);
    qtest_quit(s);
    rm_root();
}
END_TEST

/* The hooks exist only in the test build. */
START_TEST(no_hooks_in_release)
{
    struct qtest *s;
    struct qmpc *c;
    json_t *ret = NULL;

    mk_root();
    s = start(BUILD_DIR "/xsdm", FORM_RUNAS, "on");
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(qmpc_execute(c, "x-test-syscall", json_pack("{s:s}", "name", "socket"), -1,
                                  &ret, qerr, sizeof(qerr)), 1);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "class")), "CommandNotFound");
    json_decref(ret);
    qmpc_close(c);
    ck_assert_int_eq(qtest_quit(s), 0);
    rm_root();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-restrict");
    TCase *tc = tcase_create("restricted");

    if (geteuid() != 0) {
        fprintf(stderr, "test_integration_restrict: needs root (as in CI)\n");
        return 1;
    }
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, runas_form);
    tcase_add_test(tc, run_with_form);
    tcase_add_loop_test(tc, sandbox_on_reports, 0, (int)(sizeof(forbidden) / sizeof(forbidden[0])));
    tcase_add_test(tc, sandbox_log_allows);
    tcase_add_test(tc, no_hooks_in_release);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
