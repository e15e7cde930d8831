/* build/xsdm as a process (dm/main.c): the Xen-master capability probe,
 * signals, startup errors, and the qtest life (restricted, QMP served,
 * -incoming refusing a bad stream). The QMP socket is created and passed the
 * way libxl does it: listening before exec, inherited as -chardev fd=N. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/qmp-client.h"

#define TMO 10000          /* bound on every wait for the DM, in ms */
#define DM BUILD_DIR "/xsdm"

struct dm_proc {
    pid_t pid;
    char dir[64];
    char qmp[128];
    char qtest[128];
    char log[128];
    int qtest_listen;
    int qtest_conn;
};

static int listen_at(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    ck_assert_int_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

/* Directory, socket paths and listeners of one DM run. */
static void dm_prepare(struct dm_proc *p, bool qtest)
{
    memset(p, 0, sizeof(*p));
    p->qtest_listen = p->qtest_conn = -1;
    snprintf(p->dir, sizeof(p->dir), "/tmp/xsdm-test-main-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(p->dir));
    snprintf(p->qmp, sizeof(p->qmp), "%s/qmp", p->dir);
    snprintf(p->qtest, sizeof(p->qtest), "%s/qtest", p->dir);
    snprintf(p->log, sizeof(p->log), "%s/log", p->dir);
    if (qtest)
        p->qtest_listen = listen_at(p->qtest);
}

/* Start xsdm with the QMP listening socket as fd 3 (as libxl passes it:
 * listening before exec) and args; extra_fd (if >= 0) is inherited as fd 4.
 * stdin is /dev/null, stdout and stderr the O_APPEND log. */
static void dm_exec_lfd(struct dm_proc *p, int lfd, int extra_fd, const char *const *args)
{
    char *argv[64];
    int n = 0;

    argv[n++] = DM;
    while (*args && n < 60)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        int log = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
            dup2(lfd, 3) < 0 || (extra_fd >= 0 && dup2(extra_fd, 4) < 0))
            _exit(126);
        execv(DM, argv);
        _exit(127);
    }
    close(lfd);
}

static void dm_exec(struct dm_proc *p, int extra_fd, const char *const *args)
{
    dm_exec_lfd(p, listen_at(p->qmp), extra_fd, args);
}

static void dm_start(struct dm_proc *p, const char *const *args)
{
    dm_prepare(p, false);
    dm_exec(p, -1, args);
}

/* The DM connects to the qtest socket before it serves QMP. */
static void dm_accept_qtest(struct dm_proc *p)
{
    struct pollfd pf = { .fd = p->qtest_listen, .events = POLLIN };

    ck_assert_int_eq(poll(&pf, 1, TMO), 1);
    p->qtest_conn = accept4(p->qtest_listen, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(p->qtest_conn, 0);
}

/* Wait (bounded) for the DM to exit; returns the wait status. */
static int dm_wait(struct dm_proc *p)
{
    int st = 0, i;

    for (i = 0; i < TMO / 10; i++) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);

        ck_assert_int_ge(r, 0);
        if (r == p->pid)
            break;
        usleep(10000);
    }
    if (i == TMO / 10) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
        ck_abort_msg("the DM did not exit");
    }
    p->pid = 0;
    return st;
}

static void dm_cleanup(struct dm_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    if (p->qtest_conn >= 0)
        close(p->qtest_conn);
    if (p->qtest_listen >= 0)
        close(p->qtest_listen);
    unlink(p->qmp);
    unlink(p->qtest);
    unlink(p->log);
    rmdir(p->dir);
}

static bool log_contains(const struct dm_proc *p, const char *s)
{
    char buf[16384];
    int fd = open(p->log, O_RDONLY);
    ssize_t r;

    ck_assert_int_ge(fd, 0);
    r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[r > 0 ? r : 0] = 0;
    return strstr(buf, s) != NULL;
}

static struct qmpc *qmp(struct dm_proc *p)
{
    char err[256];
    struct qmpc *c = qmpc_connect_path(p->qmp, 1, TMO, err, sizeof(err));

    ck_assert_msg(c != NULL, "QMP: %s", err);
    return c;
}

static json_t *exec_ok(struct qmpc *c, const char *cmd, json_t *args)
{
    char err[256];
    json_t *ret = NULL;
    int rc = qmpc_execute(c, cmd, args, -1, &ret, err, sizeof(err));

    ck_assert_msg(rc == 0, "%s failed: %s", cmd, rc < 0 ? err : json_dumps(ret, 0));
    return ret;
}

static const char *const probe_args[] = {
    "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=xen",
    "-chardev", "socket,id=libxl-cmd,fd=3,server=on,wait=off", "-mon", "chardev=libxl-cmd,mode=control", NULL,
};

START_TEST(probe_answers_and_quits)
{
    struct dm_proc p;
    struct qmpc *c;
    json_t *r, *el, *par;
    size_t i, j;
    bool chroot = false, user = false;
    int st;

    dm_start(&p, probe_args);
    c = qmp(&p);
    ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(json_object_get(
                         json_object_get(qmpc_greeting(c), "QMP"), "version"), "qemu"), "major")), 2);
    r = exec_ok(c, "query-command-line-options", NULL);
    json_array_foreach(r, i, el) {
        if (strcmp(json_string_value(json_object_get(el, "option")), "run-with"))
            continue;
        json_array_foreach(json_object_get(el, "parameters"), j, par) {
            chroot |= !strcmp(json_string_value(json_object_get(par, "name")), "chroot");
            user |= !strcmp(json_string_value(json_object_get(par, "name")), "user");
        }
    }
    ck_assert(chroot && user);
    json_decref(r);
    r = exec_ok(c, "query-status", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "prelaunch");
    json_decref(r);
    json_decref(exec_ok(c, "quit", NULL));
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    qmpc_close(c);
    dm_cleanup(&p);
}
END_TEST

/* libxl ends a DM with SIGHUP (by pid); SIGTERM and SIGINT end it too. */
static void signal_ends(int sig)
{
    struct dm_proc p;
    struct qmpc *c;
    char path[64], line[256];
    unsigned long long ign = 0, blk = 0;
    FILE *f;
    int st;

    dm_start(&p, probe_args);
    c = qmp(&p);                 /* serving: signals are set up */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)p.pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        sscanf(line, "SigIgn: %llx", &ign);
        sscanf(line, "SigBlk: %llx", &blk);
    }
    fclose(f);
    ck_assert(ign & (1ull << (SIGPIPE - 1)));
    ck_assert(ign & (1ull << (SIGXFSZ - 1)));
    ck_assert(blk & (1ull << (SIGHUP - 1)));      /* delivered through the signalfd */
    ck_assert_int_eq(kill(p.pid, sig), 0);
    st = dm_wait(&p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "signal %d: status 0x%x", sig, st);
    qmpc_close(c);
    dm_cleanup(&p);
}

/* A DM exec'd with SIGHUP ignored (nohup, a supervisor) still ends on it:
 * an ignored signal would never reach the signalfd. */
START_TEST(inherited_ignored_sighup_still_ends)
{
    struct dm_proc p;
    struct qmpc *c;
    int st;

    signal(SIGHUP, SIG_IGN);            /* inherited across fork and exec */
    dm_start(&p, probe_args);
    signal(SIGHUP, SIG_DFL);
    c = qmp(&p);
    ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
    st = dm_wait(&p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    qmpc_close(c);
    dm_cleanup(&p);
}
END_TEST

/* The probe runs unrestricted, as root: it serves only its own commands. */
START_TEST(probe_serves_only_probe_commands)
{
    static const char *const refused[] = { "add-fd", "query-fdsets", "stop", "cont", "system_reset",
                                           "query-cpus-fast", "query-chardev", "query-block" };
    struct dm_proc p;
    struct qmpc *c;
    char err[256];
    size_t i;
    int st;

    dm_start(&p, probe_args);
    c = qmp(&p);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        json_t *ret = NULL;
        int rc = qmpc_execute(c, refused[i], NULL, -1, &ret, err, sizeof(err));

        ck_assert_msg(rc > 0, "%s: rc %d", refused[i], rc);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "class")), "CommandNotFound");
        json_decref(ret);
    }
    json_decref(exec_ok(c, "query-version", NULL));
    json_decref(exec_ok(c, "quit", NULL));
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    qmpc_close(c);
    dm_cleanup(&p);
}
END_TEST

START_TEST(sighup_ends) { signal_ends(SIGHUP); }
END_TEST
START_TEST(sigterm_ends) { signal_ends(SIGTERM); }
END_TEST
START_TEST(sigint_ends) { signal_ends(SIGINT); }
END_TEST

START_TEST(startup_errors)
{
    static const char *const bad1[] = { "-xen-domid", "1", "-device", "qxl-vga,vgamem_mb=8", NULL };
    static const char *const bad2[] = { "-accel", "qtest", NULL };
    static const char *const bad3[] = { "-machine", "none", "-chardev", "socket,id=m,fd=9,server=on,wait=off",
                                        "-mon", "chardev=m,mode=control", NULL };
    struct dm_proc p;
    int st;

    dm_start(&p, bad1);
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert(log_contains(&p, "qxl-vga"));
    ck_assert(log_contains(&p, "vga=\"stdvga\""));
    dm_cleanup(&p);

    dm_start(&p, bad2);
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert(log_contains(&p, "-qtest"));
    dm_cleanup(&p);

    /* fd=9 is not open in the DM: refused before serving. */
    dm_start(&p, bad3);
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert(log_contains(&p, "fd=9"));
    dm_cleanup(&p);
}
END_TEST

static const char *const qtest_base[] = {
    "-xen-domid", "1", "-no-shutdown", "-chardev", "socket,id=libxl-cmd,fd=3,server=on,wait=off",
    "-mon", "chardev=libxl-cmd,mode=control", "-nodefaults", "-no-user-config", "-machine",
    "xenfv,suppress-vmdesc=on", "-m", "16", "-accel", "qtest", NULL,
};

static void qtest_args(const char **out, const struct dm_proc *p, const char *const *extra, char *qarg,
                       size_t qlen)
{
    int n = 0;
    const char *const *a;

    for (a = qtest_base; *a; a++)
        out[n++] = *a;
    for (a = extra; *a; a++)
        out[n++] = *a;
    snprintf(qarg, qlen, "unix:%s", p->qtest);
    out[n++] = "-qtest";
    out[n++] = qarg;
    out[n] = NULL;
}

START_TEST(qtest_life)
{
    static const char *const extra[] = { "-S", "-serial", "null", NULL };
    const char *args[64];
    char qarg[160];
    struct dm_proc p;
    struct qmpc *c;
    json_t *r;
    int st;

    dm_prepare(&p, true);
    qtest_args(args, &p, extra, qarg, sizeof(qarg));
    dm_exec(&p, -1, args);
    dm_accept_qtest(&p);
    c = qmp(&p);
    r = exec_ok(c, "query-status", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "prelaunch");
    json_decref(r);
    json_decref(exec_ok(c, "cont", NULL));
    r = exec_ok(c, "query-status", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "running");
    json_decref(r);
    r = exec_ok(c, "query-chardev", NULL);
    ck_assert_int_ge(json_array_size(r), 2);       /* serial0 and the monitor */
    json_decref(r);
    ck_assert(log_contains(&p, "seccomp"));        /* restricted before serving */
    json_decref(exec_ok(c, "quit", NULL));
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    qmpc_close(c);
    dm_cleanup(&p);
}
END_TEST

/* libxl's QMP socket bound to a path that fills all of sun_path (108 bytes,
 * no NUL: getsockname reports 111). The monitor is named by exactly that
 * path in query-chardev, nothing read past the address (ASan). Bound and
 * reached by a relative name from inside the run's directory. */
START_TEST(monitor_on_108_byte_path)
{
    static const char *const extra[] = { "-S", NULL };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char name[sizeof(sa.sun_path) + 1], want[160], qarg[160], cwd[256], err[256];
    const char *args[64];
    struct dm_proc p;
    struct qmpc *c;
    json_t *r, *e;
    size_t i;
    bool seen = false;
    int lfd, cfd;

    memset(name, 'q', sizeof(sa.sun_path));
    name[sizeof(sa.sun_path)] = '\0';
    memcpy(sa.sun_path, name, sizeof(sa.sun_path));
    dm_prepare(&p, true);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    ck_assert_int_eq(chdir(p.dir), 0);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);   /* waits in the backlog */
    ck_assert_int_eq(chdir(cwd), 0);
    qtest_args(args, &p, extra, qarg, sizeof(qarg));
    dm_exec_lfd(&p, lfd, -1, args);
    dm_accept_qtest(&p);
    c = qmpc_connect_fd(cfd, 1, TMO, err, sizeof(err));
    ck_assert_msg(c != NULL, "QMP: %s", err);
    r = exec_ok(c, "query-chardev", NULL);
    snprintf(want, sizeof(want), "unix:%s,server=on", name);
    json_array_foreach(r, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "label")), "libxl-cmd"))
            continue;
        ck_assert_str_eq(json_string_value(json_object_get(e, "filename")), want);
        seen = true;
    }
    ck_assert(seen);
    json_decref(r);
    json_decref(exec_ok(c, "quit", NULL));
    ck_assert_int_eq(dm_wait(&p), 0);
    qmpc_close(c);
    ck_assert_int_eq(chdir(p.dir), 0);
    unlink(name);
    ck_assert_int_eq(chdir(cwd), 0);
    dm_cleanup(&p);
}
END_TEST

/* A bad -incoming stream: the DM exits 1 before it serves QMP. */
START_TEST(incoming_bad_stream_refused)
{
    static const char *const extra[] = { "-S", "-incoming", "fd:4", NULL };
    const char *args[64];
    char qarg[160];
    struct dm_proc p;
    int pipefd[2], st;

    dm_prepare(&p, true);
    qtest_args(args, &p, extra, qarg, sizeof(qarg));
    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_int_eq(write(pipefd[1], "this is not a state stream", 26), 26);
    close(pipefd[1]);
    dm_exec(&p, pipefd[0], args);
    close(pipefd[0]);
    dm_accept_qtest(&p);
    st = dm_wait(&p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
    dm_cleanup(&p);
}
END_TEST

START_TEST(version_and_help)
{
    static const char *const v[] = { "--version", NULL };
    static const char *const h[] = { "-help", NULL };
    struct dm_proc p;
    int st;

    dm_start(&p, v);
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(log_contains(&p, "xsdm"));
    dm_cleanup(&p);
    dm_start(&p, h);
    st = dm_wait(&p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(log_contains(&p, "usage"));
    dm_cleanup(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dm_main");
    TCase *tc = tcase_create("process");

    signal(SIGPIPE, SIG_IGN);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, probe_answers_and_quits);
    tcase_add_test(tc, sighup_ends);
    tcase_add_test(tc, inherited_ignored_sighup_still_ends);
    tcase_add_test(tc, probe_serves_only_probe_commands);
    tcase_add_test(tc, sigterm_ends);
    tcase_add_test(tc, sigint_ends);
    tcase_add_test(tc, startup_errors);
    tcase_add_test(tc, qtest_life);
    tcase_add_test(tc, incoming_bad_stream_refused);
    tcase_add_test(tc, monitor_on_108_byte_path);
    tcase_add_test(tc, version_and_help);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
