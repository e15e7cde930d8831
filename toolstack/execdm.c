/* exec-dm. We are libxl's DM child: setsid, mount+IPC namespaces and
 * rlimits are already done by libxl__local_dm_preexec_restrict. We add the
 * reaper before start, the emulated NICs' taps (opened here, passed by fd),
 * UTS and network namespaces, stray-fd closing, a clean environment, and a
 * watcher that reaps the uid and removes the chroot dir once the DM is gone. */
#include "toolstack/execdm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dm/core/errmsg.h"
#include "toolstack/launch.h"
#include "toolstack/reaper.h"
#include "toolstack/tap.h"
#include "toolstack/uid.h"
#include "toolstack/vncsock.h"

#define REAPER_MS 10000

extern char **environ;

static int add_keep(struct execdm_facts *f, const char *num, char *err, size_t errlen)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(num, &end, 10);
    if (errno || end == num || (*end && *end != ',') || v < 3 || v > INT_MAX) {
        seterr(err, errlen, "exec-dm: bad inherited fd '%s'", num);
        return -1;
    }
    if (f->n_keep >= EXECDM_MAX_KEEP) {
        seterr(err, errlen, "exec-dm: too many inherited fds");
        return -1;
    }
    f->keep[f->n_keep++] = (int)v;
    return 0;
}

int execdm_scan(int argc, char **argv, struct execdm_facts *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->domid = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *p;

        if (!strcmp(a, "-xen-domid") && v) {
            f->domid = atoi(v);
        } else if (!strcmp(a, "-runas") && v) {
            f->runas = v;
        } else if (!strcmp(a, "-chroot") && v) {
            f->chroot = v;
        } else if (!strcmp(a, "-run-with") && v) {
            if (!strncmp(v, "user=", 5))
                f->runas = v + 5;
            else if (!strncmp(v, "chroot=", 7))
                f->chroot = v + 7;
        } else if (!strcmp(a, "-chardev") && v) {
            if ((p = strstr(v, ",fd=")) && add_keep(f, p + 4, err, errlen) < 0)
                return -1;
        } else if (!strcmp(a, "-incoming") && v) {
            if (!strncmp(v, "fd:", 3) && add_keep(f, v + 3, err, errlen) < 0)
                return -1;
        } else if (!strcmp(a, "-vnc") && v) {
            if (!strncmp(v, "fd=", 3) && add_keep(f, v + 3, err, errlen) < 0)
                return -1;
        } else if (!strcmp(a, "-netdev") && v) {
            f->has_nic = true;
            /* a tap passed in already (fd=N) must survive the fd closing */
            if ((p = strstr(v, "fd=")) && (p == v || p[-1] == ',') && add_keep(f, p + 3, err, errlen) < 0)
                return -1;
        } else if (!strcmp(a, "-net") && v && strcmp(v, "none")) {
            f->has_nic = true;
        } else {
            continue;
        }
        i++;
    }
    return 0;
}

int execdm_pass_vnc(int argc, char **argv, struct execdm_facts *f, char *err, size_t errlen)
{
    static char arg[64];        /* argv[] points here until the execve */
    struct vncsock s;
    bool changed;
    int at = -1;

    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "-vnc")) {
            if (at >= 0) {
                seterr(err, errlen, "exec-dm: more than one -vnc");
                return -1;
            }
            at = i + 1;
        }
    if (at < 0)
        return 0;
    if (vncsock_rewrite(argv[at], arg, sizeof(arg), &changed, &s, err, errlen) < 0)
        return -1;
    if (!changed)
        return 0;
    if (f->n_keep >= EXECDM_MAX_KEEP || fcntl(s.fd, F_SETFD, 0) < 0) {
        seterr(err, errlen, "exec-dm: cannot pass the VNC socket");
        close(s.fd);
        return -1;
    }
    f->keep[f->n_keep++] = s.fd;
    argv[at] = arg;
    return 0;
}

int execdm_open_taps(int argc, char **argv, struct execdm_facts *f, char *err, size_t errlen)
{
    char ifname[TAP_NETDEV_MAX], bridge[TAP_NETDEV_MAX], form[TAP_NETDEV_MAX], *dup;
    int r, fd;

    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-netdev"))
            continue;
        r = tap_netdev_ifname(argv[i + 1], ifname, sizeof(ifname), bridge, sizeof(bridge), err, errlen);
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        if (f->n_keep >= EXECDM_MAX_KEEP) {
            seterr(err, errlen, "exec-dm: too many inherited fds");
            return -1;
        }
        fd = tap_open(ifname, err, errlen);
        if (fd < 0)
            return -1;
        /* the DM inherits it: no close-on-exec */
        if (fcntl(fd, F_SETFD, 0) < 0 || tap_netdev_fd_form(argv[i + 1], fd, form, sizeof(form), err, errlen) < 0 ||
            !(dup = strdup(form))) {
            if (!err[0])
                seterr(err, errlen, "exec-dm: tap %s: %s", ifname, strerror(errno));
            close(fd);
            return -1;
        }
        argv[i + 1] = dup;      /* the wrapper execs right after: never freed */
        f->keep[f->n_keep++] = fd;
        f->n_taps++;
        i++;
    }
    return 0;
}

/* The uid to reap, if the DM's uid is its own (libxl records a kill-uid
 * for device_model_user and range-base uids, never for the shared user). */
static int target_uid(const char *runas, uid_t *uid)
{
    struct uid_pw pw;
    gid_t gid;

    if (!runas)
        return 0;
    if (uid_parse_numeric(runas, uid, &gid) == 0)
        return *uid != 0;
    if (!strcmp(runas, UID_SHARED))
        return 0;
    if (uid_db_system()->by_name(NULL, runas, &pw) != 1 || pw.uid == 0)
        return 0;
    *uid = pw.uid;
    return 1;
}

static void lock_path(const struct execdm_facts *f, char *buf, size_t len)
{
    const char *slash = f->chroot ? strrchr(f->chroot, '/') : NULL;

    /* libxl's lock lives in its run dir, the chroot dir's parent */
    if (slash && slash != f->chroot)
        snprintf(buf, len, "%.*s/dm-reaper-lock", (int)(slash - f->chroot), f->chroot);
    else
        snprintf(buf, len, "/var/run/xen/dm-reaper-lock");
}

static int reap(const struct execdm_facts *f, uid_t target, char *err, size_t errlen)
{
    char lock[PATH_MAX];
    uid_t reaper;
    int n = uid_reaper(uid_db_system(), &reaper, err, errlen);

    if (n < 0)
        return -1;
    if (n == 1)
        reaper = target;
    lock_path(f, lock, sizeof(lock));
    return reaper_kill_uid(lock, reaper, target, REAPER_MS, err, errlen);
}

/* After the DM (our parent once it execs) is gone: reap and rmdir. pidfd
 * was opened on the parent before the fork: asking getppid() here instead
 * races with a DM that exits before this child first runs (it returned 1,
 * and the watcher then waited for init for ever). */
static void watcher(const struct execdm_facts *f, bool have_uid, uid_t target, int pidfd)
{
    struct pollfd p;
    char e[256];

    setsid();
    prctl(PR_SET_NAME, "xsdm-dm-watch");
    {
        int keep[1] = { pidfd };
        int nullfd = open("/dev/null", O_RDWR);

        /* not libxl's log nor its pipes: the watcher may outlive them */
        if (nullfd >= 0) {
            dup2(nullfd, 0);
            dup2(nullfd, 1);
            dup2(nullfd, 2);
        }
        launch_close_fds(keep, pidfd >= 0 ? 1 : 0);
    }
    if (pidfd >= 0) {
        p.fd = pidfd;
        p.events = POLLIN;
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
    if (have_uid)
        reap(f, target, e, sizeof(e));
    if (f->chroot)
        rmdir(f->chroot);   /* only if empty; libxl would refuse a busy one */
    _exit(0);
}

int execdm_run(int argc, char **argv, const char *dm_path, char *err, size_t errlen)
{
    struct execdm_facts f;
    char *env[8];
    int n_env = 0;
    uid_t target = 0;
    bool have_uid;
    pid_t pid;
    int self;

    if (argc < 1) {
        seterr(err, errlen, "exec-dm: no device model argv");
        return -1;
    }
    if (execdm_scan(argc, argv, &f, err, errlen) < 0 ||
        execdm_pass_vnc(argc, argv, &f, err, errlen) < 0)
        return -1;
    have_uid = target_uid(f.runas, &target) == 1;
    /* before start: nothing of this uid may be left to meet the new DM */
    if (have_uid && reap(&f, target, err, errlen) < 0)
        return -1;

    /* close-on-exec: the DM does not inherit it, the watcher keeps it */
    self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    pid = fork();
    if (pid < 0) {
        seterr(err, errlen, "exec-dm: fork: %s", strerror(errno));
        if (self >= 0)
            close(self);
        return -1;
    }
    if (pid == 0)
        watcher(&f, have_uid, target, self);
    if (self >= 0)
        close(self);

    /* the taps first, in the initial network namespace; then the DM's own */
    err[0] = 0;
    if (execdm_open_taps(argc, argv, &f, err, errlen) < 0)
        return -1;
    if (launch_new_namespaces(true) < 0) {
        seterr(err, errlen, "exec-dm: unshare: %s", strerror(errno));
        return -1;
    }
    if (launch_apply_rlimits() < 0) {
        seterr(err, errlen, "exec-dm: setrlimit: %s", strerror(errno));
        return -1;
    }
    if (launch_close_fds(f.keep, f.n_keep) < 0) {
        seterr(err, errlen, "exec-dm: closing stray fds: %s", strerror(errno));
        return -1;
    }
    /* clean environment: only what libxl itself sets for the DM */
    for (char **e = environ; e && *e && n_env < 7; e++)
        if (!strncmp(*e, "XEN_DOMAIN_ID=", 14) || !strncmp(*e, "XEN_QEMU_CONSOLE_LIMIT=", 23))
            env[n_env++] = *e;
    env[n_env] = NULL;
    argv[0] = (char *)dm_path;
    execve(dm_path, argv, env);
    seterr(err, errlen, "exec-dm: execve %s: %s", dm_path, strerror(errno));
    return -1;
}
