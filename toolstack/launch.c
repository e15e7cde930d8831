/* Pre-exec hardening. The child runs only async-signal-safe-ish code
 * between fork and execve; a failure is written to the error pipe as one
 * line and the child exits 127. */
#include "toolstack/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/core/errmsg.h"

const struct launch_rlimit launch_rlimits[] = {
    { RLIMIT_FSIZE,    256 * 1024, "FSIZE" },
    { RLIMIT_CORE,     0,          "CORE" },
    { RLIMIT_MSGQUEUE, 0,          "MSGQUEUE" },
    { RLIMIT_LOCKS,    0,          "LOCKS" },
    { RLIMIT_MEMLOCK,  0,          "MEMLOCK" },
};
const size_t launch_n_rlimits = sizeof(launch_rlimits) / sizeof(launch_rlimits[0]);

int launch_new_namespaces(bool net)
{
    int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (net ? CLONE_NEWNET : 0);

    if (unshare(flags) < 0)
        return -1;
    /* a new mount namespace still shares propagation with the host's:
     * make it private so nothing the DM side does (or we do) leaks back */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    return 0;
}

int launch_apply_rlimits(void)
{
    for (size_t i = 0; i < launch_n_rlimits; i++) {
        struct rlimit rl;
        rlim_t v = (rlim_t)launch_rlimits[i].value;

        if (getrlimit(launch_rlimits[i].resource, &rl) < 0)
            return -1;
        /* lower only: raising needs CAP_SYS_RESOURCE and is never wanted */
        if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > v)
            rl.rlim_max = v;
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > rl.rlim_max)
            rl.rlim_cur = rl.rlim_max;
        if (setrlimit(launch_rlimits[i].resource, &rl) < 0)
            return -1;
    }
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

int launch_close_fds(const int *keep, int n)
{
    int k[LAUNCH_MAX_PASS + 8];
    int lo = 3;

    if (n > (int)(sizeof(k) / sizeof(k[0])))
        return -1;
    memcpy(k, keep, sizeof(int) * (size_t)n);
    qsort(k, (size_t)n, sizeof(int), cmp_int);
    for (int i = 0; i < n; i++) {
        if (k[i] < lo)
            continue;
        if (k[i] > lo && close_range((unsigned)lo, (unsigned)k[i] - 1, 0) < 0)
            return -1;
        lo = k[i] + 1;
    }
    return close_range((unsigned)lo, UINT_MAX, 0);
}

static void child_fail(int efd, const char *step)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s: %s", step, strerror(errno));

    if (n > 0 && write(efd, buf, (size_t)n) < 0)
        _exit(126);
    _exit(127);
}

static void child(const struct launch_spec *s, int efd)
{
    char *const empty[] = { NULL };
    int keep[LAUNCH_MAX_PASS + 1], moved[LAUNCH_MAX_PASS];
    int nullfd, hi = 3, efd2, logfd = s->log_fd;
    sigset_t all;

    /* libxl__exec: default SIGPIPE, nothing blocked */
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);

    if (setsid() < 0)
        child_fail(efd, "setsid");
    if (s->restrict_ns) {
        if (launch_new_namespaces(s->new_net) < 0)
            child_fail(efd, s->new_net ? "unshare(mount, IPC, UTS, network)" : "unshare(mount, IPC, UTS)");
        if (launch_apply_rlimits() < 0)
            child_fail(efd, "setrlimit");
    }

    /* passed fds (and the log) out of the way of every target number
     * first, so no dup2 below clobbers one we still need */
    for (int i = 0; i < s->n_pass; i++)
        if (s->pass_at[i] >= hi)
            hi = s->pass_at[i] + 1;
    for (int i = 0; i < s->n_pass; i++) {
        moved[i] = fcntl(s->pass_fd[i], F_DUPFD_CLOEXEC, hi);
        if (moved[i] < 0)
            child_fail(efd, "dup passed fd");
    }
    if (logfd >= 0 && (logfd = fcntl(logfd, F_DUPFD_CLOEXEC, hi)) < 0)
        child_fail(efd, "dup log fd");
    if ((efd2 = fcntl(efd, F_DUPFD_CLOEXEC, hi)) < 0)
        child_fail(efd, "dup error pipe");
    efd = efd2;

    /* stdin /dev/null, stdout/stderr the O_APPEND log */
    nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nullfd < 0)
        child_fail(efd, "open /dev/null");
    if (dup2(nullfd, 0) < 0 || dup2(logfd >= 0 ? logfd : nullfd, 1) < 0 ||
        dup2(logfd >= 0 ? logfd : nullfd, 2) < 0)
        child_fail(efd, "dup2 stdio");

    for (int i = 0; i < s->n_pass; i++) {
        if (dup2(moved[i], s->pass_at[i]) < 0)   /* dup2 clears FD_CLOEXEC */
            child_fail(efd, "dup2 passed fd");
        keep[i] = s->pass_at[i];
    }
    keep[s->n_pass] = efd;
    if (launch_close_fds(keep, s->n_pass + 1) < 0)
        child_fail(efd, "close stray fds");

    execve(s->path, s->argv, s->envp ? s->envp : empty);
    child_fail(efd, "execve");
}

pid_t launch_spawn(const struct launch_spec *s, char *err, size_t errlen)
{
    char buf[256];
    int p[2], status;
    ssize_t n;
    pid_t pid;

    if (s->n_pass < 0 || s->n_pass > LAUNCH_MAX_PASS) {
        seterr(err, errlen, "launch: too many fds to pass");
        return -1;
    }
    for (int i = 0; i < s->n_pass; i++)
        if (s->pass_at[i] < 3 || s->pass_fd[i] < 0) {
            seterr(err, errlen, "launch: bad passed fd");
            return -1;
        }
    if (pipe2(p, O_CLOEXEC) < 0) {
        seterr(err, errlen, "launch: pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        seterr(err, errlen, "launch: fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        child(s, p[1]);
    }
    close(p[1]);
    do
        n = read(p[0], buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n > 0) {
        buf[n] = 0;
        seterr(err, errlen, "launching %s failed before exec: %s", s->path, buf);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    return pid;
}
