/* The reaper. kill(-1) walks the task list under tasklist_lock, and a fork
 * that races with it is aborted by the pending SIGKILL, so one round usually
 * suffices; we still loop until /proc agrees, because that is the property
 * the caller needs (no process of the uid is left to meet the next DM). */
#include "toolstack/reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dm/core/errmsg.h"

enum { RX_OK = 0, RX_LOCK = 10, RX_SETUID = 11, RX_LEFT = 12, RX_PROC = 13 };

/* 1 if /proc/<pid>/status shows a live process with uid among its uids. */
static int proc_has_uid(const char *pid, uid_t uid)
{
    char path[64], line[256];
    unsigned long u[4];
    int live = 1, match = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/status", pid);
    f = fopen(path, "re");
    if (!f)
        return 0;   /* gone meanwhile */
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "State:", 6)) {
            const char *s = line + 6;

            while (*s == ' ' || *s == '\t')
                s++;
            if (*s == 'Z' || *s == 'X')
                live = 0;
        } else if (!strncmp(line, "Uid:", 4)) {
            if (sscanf(line + 4, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) == 4)
                for (int i = 0; i < 4; i++)
                    if (u[i] == (unsigned long)uid)
                        match = 1;
            break;
        }
    }
    fclose(f);
    return live && match;
}

int reaper_count_uid(uid_t uid, pid_t exclude)
{
    struct dirent *de;
    char self[32];
    DIR *d;
    int n = 0;

    d = opendir("/proc");
    if (!d)
        return -1;
    snprintf(self, sizeof(self), "%d", (int)exclude);
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || !strcmp(de->d_name, self))
            continue;
        n += proc_has_uid(de->d_name, uid);
    }
    closedir(d);
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int reaper_child(const char *lock_path, uid_t reaper, uid_t target, int timeout_ms)
{
    struct timespec pause = { 0, 1000000 };
    long long deadline = now_ms() + timeout_ms;
    int fd, n;

    /* one reaper at a time: two reapers with different targets would each
     * be killable by the other's kill(-1) through the shared real uid */
    fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0)
        return RX_LOCK;
    /* real = reaper, effective = target (permission to signal), saved = 0:
     * the target's processes match neither our real nor saved uid */
    if (setresuid(reaper, target, 0) < 0)
        return RX_SETUID;
    for (;;) {
        if (kill(-1, SIGKILL) < 0 && errno != ESRCH)
            return RX_SETUID;
        n = reaper_count_uid(target, getpid());
        if (n < 0)
            return RX_PROC;
        if (n == 0)
            return RX_OK;
        if (now_ms() > deadline)
            return RX_LEFT;
        nanosleep(&pause, NULL);
    }
}

int reaper_kill_uid(const char *lock_path, uid_t reaper, uid_t target, int timeout_ms,
                    char *err, size_t errlen)
{
    pid_t pid, r;
    int status;

    if (target == 0 || reaper == 0) {
        seterr(err, errlen, "reaper: refusing to kill by uid 0");
        return -1;
    }
    if (timeout_ms <= 0)
        timeout_ms = 10000;
    pid = fork();
    if (pid < 0) {
        seterr(err, errlen, "reaper: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        _exit(reaper_child(lock_path, reaper, target, timeout_ms));
    }
    do
        r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        seterr(err, errlen, "reaper: waitpid: %s", strerror(errno));
        return -1;
    }
    if (!WIFEXITED(status)) {
        seterr(err, errlen, "reaper: killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -1;
    }
    switch (WEXITSTATUS(status)) {
    case RX_OK:
        return 0;
    case RX_LOCK:
        seterr(err, errlen, "reaper: cannot lock %s", lock_path);
        return -1;
    case RX_SETUID:
        seterr(err, errlen, "reaper: cannot become uid %u to kill uid %u", (unsigned)reaper, (unsigned)target);
        return -1;
    case RX_LEFT:
        seterr(err, errlen, "reaper: processes of uid %u still alive after %d ms", (unsigned)target, timeout_ms);
        return -1;
    default:
        seterr(err, errlen, "reaper: cannot scan /proc");
        return -1;
    }
}
