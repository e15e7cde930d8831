/* Create and destroy. Each resource taken during create is recorded in a
 * local undo struct; any failure undoes all of it. */
/* Where `make install` puts the DM; the Makefile passes its LIBEXEC. */
#ifndef XSDM_LIBEXEC
#define XSDM_LIBEXEC "/usr/lib/xsdm"
#endif

#include "toolstack/domain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "toolstack/chroot.h"
#include "toolstack/config.h"
#include "toolstack/dmargs.h"
#include "toolstack/launch.h"
#include "toolstack/ops.h"
#include "toolstack/reaper.h"
#include "toolstack/uid.h"

#define QMP_FD_AT      3
#define INCOMING_FD_AT 4
#define REAPER_MS      10000

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void say(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *out, const char *fmt, ...)
{
    va_list ap;

    if (!out)
        return;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fflush(out);
}

const char *domain_dm_path(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("XSDM_DM");
    ssize_t n;
    char *slash;

    if (env && *env)
        return env;
    n = readlink("/proc/self/exe", buf, sizeof(buf) - 16);
    if (n > 0) {
        buf[n] = 0;
        slash = strrchr(buf, '/');
        if (slash) {
            strcpy(slash + 1, "xsdm");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return XSDM_LIBEXEC "/xsdm";
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        seterr(err, errlen, "socket path %s too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        seterr(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Last line of the DM's log, for error messages. */
static void log_tail(const char *path, char *buf, size_t len)
{
    char tmp[512];
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t end;
    char *p;

    buf[0] = 0;
    if (fd < 0)
        return;
    end = lseek(fd, 0, SEEK_END);
    if (end > 0)
        n = pread(fd, tmp, sizeof(tmp) - 1, end > (off_t)sizeof(tmp) - 1 ? end - (off_t)sizeof(tmp) + 1 : 0);
    close(fd);
    if (n <= 0)
        return;
    tmp[n] = 0;
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r'))
        tmp[--n] = 0;
    p = strrchr(tmp, '\n');
    p = p ? p + 1 : tmp;
    if (strlen(p) >= len)
        p += strlen(p) - len + 1;
    memcpy(buf, p, strlen(p) + 1);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* The qtest peer: the DM connects to it at start and must find someone
 * there for as long as it runs. This process holds that connection, reads
 * and drops whatever arrives, and leaves when the DM goes. */
static void keeper_main(int lfd, pid_t dm, const char *sock)
{
    struct pollfd p[2];
    char buf[4096];
    int pidfd, conn = -1;

    setsid();
    prctl(PR_SET_NAME, "xsdm-qtest-peer");
    pidfd = (int)syscall(SYS_pidfd_open, dm, 0);
    if (pidfd < 0)
        goto out;
    {
        int keep[2] = { lfd, pidfd };
        int nullfd = open("/dev/null", O_RDWR);

        if (nullfd >= 0) {
            dup2(nullfd, 0);
            dup2(nullfd, 1);
            dup2(nullfd, 2);
        }
        launch_close_fds(keep, 2);
    }
    for (;;) {
        p[0].fd = conn >= 0 ? conn : lfd;
        p[0].events = POLLIN;
        p[1].fd = pidfd;
        p[1].events = POLLIN;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;                          /* the DM is gone */
        if (conn < 0) {
            conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (conn >= 0) {
                close(lfd);                 /* one DM, one connection */
                lfd = -1;
            }
            continue;
        }
        if (read(conn, buf, sizeof(buf)) <= 0)
            break;
    }
out:
    unlink(sock);
    _exit(0);
}

static pid_t keeper_start(int lfd, pid_t dm, const char *sock, char *err, size_t errlen)
{
    pid_t pid = fork();

    if (pid < 0) {
        seterr(err, errlen, "fork qtest peer: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        keeper_main(lfd, dm, sock);
    return pid;
}

/* Wait for a process that may not be our child to disappear. */
static bool wait_gone(pid_t pid, unsigned long long start, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        while (waitpid(pid, NULL, WNOHANG) > 0)
            ;
        if (!state_proc_alive(pid, start))
            return true;
        sleep_ms(5);
    }
    return !state_proc_alive(pid, start);
}

static int reap_uid(const struct dom_rec *r, FILE *out, const char *when, char *err, size_t errlen)
{
    char lock[STATE_PATH];
    uid_t reaper;
    int n;

    if (!r->has_uid || !r->kill_uid)
        return 0;
    snprintf(lock, sizeof(lock), "%s/dm-reaper-lock", state_run_dir());
    n = uid_reaper(uid_db_system(), &reaper, err, errlen);
    if (n < 0)
        return -1;
    if (n == 1) {
        /* libxl's fallback; the DM could signal such a reaper back */
        say(out, "warning: no %s or %s user: reaping uid %u as itself\n", UID_REAPER, UID_RANGE_BASE,
            (unsigned)r->uid);
        reaper = r->uid;
    }
    if (reaper_kill_uid(lock, reaper, r->uid, REAPER_MS, err, errlen) < 0)
        return -1;
    say(out, "reaper %s: no process of uid %u left (reaper uid %u)\n", when, (unsigned)r->uid, (unsigned)reaper);
    return 0;
}

static void unlink_sockets(int domid)
{
    static const char *const names[] = { "qmp-libxl", "qmp-libxenstat", "qtest" };
    char path[STATE_PATH];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (state_path(path, sizeof(path), names[i], domid) == 0)
            unlink(path);
}

/* Check each disk can be opened as the DM will need it, for a clear error
 * before anything starts. */
static int check_disks(const struct xl_config *c, char *err, size_t errlen)
{
    for (int i = 0; i < c->n_disks; i++) {
        const struct xl_disk *d = &c->disks[i];
        int fd;

        if (!d->target[0])
            continue;
        fd = open(d->target, (d->rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            seterr(err, errlen, "cannot open %s image %s for %s: %s", d->vdev, d->target,
                   d->rw ? "reading and writing" : "reading", strerror(errno));
            return -1;
        }
        close(fd);
    }
    return 0;
}

int domain_create(const struct create_opts *o, struct dom_rec *rec, char *err, size_t errlen)
{
    char qmp_path[STATE_PATH], qtest_path[STATE_PATH], env_domid[48], e2[256];
    char *envp[2] = { env_domid, NULL };
    struct xl_config cfg;
    struct dm_user user;
    struct dm_args args = { .argc = 0 };
    struct launch_spec ls;
    struct dm_args_in in;
    struct dom_rec r;
    const char *dm = o->dm_path ? o->dm_path : domain_dm_path();
    bool qtest, chroot_made = false, sockets_made = false;
    int lock = -1, qmp_fd = -1, qtest_fd = -1, log_fd = -1, in_fd = -1, rc = -1, n;
    pid_t pid = -1, keeper = -1;
    char status[32];

    memset(&r, 0, sizeof(r));
    if (xlcfg_read(o->cfg_path, &cfg, err, errlen) < 0)
        return -1;
    if (state_init(err, errlen) < 0)
        return -1;
    if (access(dm, X_OK) < 0) {
        seterr(err, errlen, "device model %s is not executable: %s", dm, strerror(errno));
        return -1;
    }
    lock = state_lock(err, errlen);
    if (lock < 0)
        return -1;
    if (state_find(cfg.name, &r, NULL, 0) == 0) {
        seterr(err, errlen, "a domain named '%s' already exists (domid %d)", cfg.name, r.domid);
        goto fail;
    }
    memset(&r, 0, sizeof(r));

    if (o->accel && strcmp(o->accel, "qtest") && strcmp(o->accel, "xen")) {
        seterr(err, errlen, "unknown accelerator '%s' (qtest or xen)", o->accel);
        goto fail;
    }
    qtest = o->accel ? !strcmp(o->accel, "qtest") : access("/dev/xen", F_OK) != 0;
    if (!qtest && o->domid <= 0) {
        seterr(err, errlen, "on Xen, xsdmctl serves an existing domain: create it with xl "
               "(device_model_override to `xsdmctl exec-dm`) or give --domid of a domain built paused");
        goto fail;
    }
    r.domid = o->domid > 0 ? o->domid : state_free_domid();
    if (state_load(r.domid, &r, NULL, 0) == 0) {
        seterr(err, errlen, "domid %d is already in use", r.domid);
        goto fail;
    }
    memset(&r, 0, sizeof(r));
    r.domid = o->domid > 0 ? o->domid : state_free_domid();
    snprintf(r.name, sizeof(r.name), "%s", cfg.name);
    snprintf(r.accel, sizeof(r.accel), "%s", qtest ? "qtest" : "xen");
    r.qtest = qtest;
    r.restricted = cfg.dm_restrict;
    r.net_ns = cfg.n_vifs == 0;
    {
        char real[PATH_MAX];

        const char *c = realpath(o->cfg_path, real) ? real : o->cfg_path;

        if (strlen(c) >= sizeof(r.cfg)) {
            seterr(err, errlen, "config path %s too long", c);
            goto fail;
        }
        memcpy(r.cfg, c, strlen(c) + 1);
    }
    for (int i = 0; i < cfg.n_disks; i++) {
        char real[PATH_MAX];

        if (cfg.disks[i].target[0] && realpath(cfg.disks[i].target, real))
            state_add_file(&r, real, !cfg.disks[i].rw);
    }
    say(o->out, "domain %d '%s': accelerator %s, device model %s\n", r.domid, r.name, r.accel, dm);

    /* who the DM runs as */
    n = uid_choose(uid_db_system(), r.domid, cfg.dm_user[0] ? cfg.dm_user : NULL, cfg.dm_restrict,
                   o->per_domid_gid, &user, err, errlen);
    if (n < 0)
        goto fail;
    if (n == 0) {
        r.has_uid = true;
        r.uid = user.uid;
        r.gid = user.gid;
        r.kill_uid = user.kill_uid;
        say(o->out, "user: -runas %s (uid %u gid %u%s)%s\n", user.runas, (unsigned)user.uid, (unsigned)user.gid,
            user.per_domid_gid ? ", per-domid gid" : "", user.kill_uid ? ", killed by uid" : "");
    } else {
        say(o->out, "warning: dm_restrict=0 and no device_model_user: the device model keeps root\n");
    }
    if (check_disks(&cfg, err, errlen) < 0)
        goto fail;
    if (o->restore_file) {
        in_fd = open(o->restore_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in_fd < 0) {
            seterr(err, errlen, "cannot read saved state %s: %s", o->restore_file, strerror(errno));
            goto fail;
        }
        {
            char real[PATH_MAX];

            if (realpath(o->restore_file, real))
                state_add_file(&r, real, true);
        }
    }

    /* nothing of this uid may survive from before: it would meet the new DM */
    if (reap_uid(&r, o->out, "before start", err, errlen) < 0)
        goto fail;
    if (cfg.dm_restrict) {
        chroot_dir_path(state_run_dir(), r.domid, r.chroot, sizeof(r.chroot));
        if (chroot_dir_prepare(r.chroot, err, errlen) < 0)
            goto fail;
        chroot_made = true;
        say(o->out, "chroot dir %s: empty, root-owned, mode 0000\n", r.chroot);
    }

    snprintf(r.log, sizeof(r.log), "%s/qemu-dm-%s.log", state_log_dir(), r.name);
    log_fd = open(r.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (log_fd < 0) {
        seterr(err, errlen, "cannot open log %s: %s", r.log, strerror(errno));
        goto fail;
    }
    {
        /* audit compares /proc/PID/fd targets, which are canonical */
        char real[PATH_MAX];

        if (realpath(r.log, real) && strlen(real) < sizeof(r.log))
            memcpy(r.log, real, strlen(real) + 1);
    }
    state_path(qmp_path, sizeof(qmp_path), "qmp-libxl", r.domid);
    sockets_made = true;
    qmp_fd = listen_unix(qmp_path, err, errlen);
    if (qmp_fd < 0)
        goto fail;
    if (qtest) {
        state_path(qtest_path, sizeof(qtest_path), "qtest", r.domid);
        qtest_fd = listen_unix(qtest_path, err, errlen);
        if (qtest_fd < 0)
            goto fail;
    }

    memset(&in, 0, sizeof(in));
    in.dm_path = dm;
    in.domid = r.domid;
    in.qmp_fd = QMP_FD_AT;
    in.run_dir = state_run_dir();
    in.runas = r.has_uid ? user.runas : NULL;
    in.incoming_fd = in_fd >= 0 ? INCOMING_FD_AT : -1;
    in.qtest_path = qtest ? qtest_path : NULL;
    in.extra = o->dm_args;
    if (dm_args_build(&cfg, &in, &args, err, errlen) < 0)
        goto fail;
    snprintf(env_domid, sizeof(env_domid), "XEN_DOMAIN_ID=%d", r.domid);

    memset(&ls, 0, sizeof(ls));
    ls.path = dm;
    ls.argv = args.argv;
    ls.envp = envp;
    ls.log_fd = log_fd;
    ls.pass_fd[0] = qmp_fd;
    ls.pass_at[0] = QMP_FD_AT;
    ls.n_pass = 1;
    if (in_fd >= 0) {
        ls.pass_fd[1] = in_fd;
        ls.pass_at[1] = INCOMING_FD_AT;
        ls.n_pass = 2;
    }
    ls.restrict_ns = true;
    ls.new_net = r.net_ns;
    say(o->out, "argv:");
    for (int i = 0; i < args.argc; i++)
        say(o->out, " %s", args.argv[i]);
    say(o->out, "\n");
    pid = launch_spawn(&ls, err, errlen);
    if (pid < 0)
        goto fail;
    r.pid = pid;
    r.start = state_proc_start(pid);
    /* only the DM holds the QMP listener now: if it dies, connects fail
     * at once instead of waiting out the bound */
    close(qmp_fd);
    qmp_fd = -1;
    if (in_fd >= 0) {
        close(in_fd);
        in_fd = -1;
    }
    if (qtest) {
        keeper = keeper_start(qtest_fd, pid, qtest_path, err, errlen);
        if (keeper < 0)
            goto fail;
        close(qtest_fd);
        qtest_fd = -1;
        r.keeper = keeper;
        r.keeper_start = state_proc_start(keeper);
    }
    say(o->out, "started pid %d, setsid, new mount/IPC/UTS%s namespaces, rlimits FSIZE=256KiB "
        "CORE=MSGQUEUE=LOCKS=MEMLOCK=0, fds 0-2 + %d%s, env %s, log %s (O_APPEND)\n",
        (int)pid, r.net_ns ? "/network" : "", QMP_FD_AT, ls.n_pass > 1 ? " + 4" : "", env_domid, r.log);

    /* readiness as libxl sees it: query-status on the pre-opened socket */
    if (ops_status(&r, status, sizeof(status), o->ready_timeout_ms > 0 ? o->ready_timeout_ms : 30000,
                   e2, sizeof(e2)) < 0) {
        char last[256];

        log_tail(r.log, last, sizeof(last));
        seterr(err, errlen, "device model did not become ready: %s; its log %s ends: %s", e2, r.log,
               last[0] ? last : "(empty)");
        goto fail;
    }
    if (strcmp(status, o->restore_file ? "paused" : "prelaunch")) {
        seterr(err, errlen, "device model reports status '%s', want '%s' (see %s)", status,
               o->restore_file ? "paused" : "prelaunch", r.log);
        goto fail;
    }
    say(o->out, "QMP ready: status %s\n", status);
    {
        json_t *chardevs = NULL;

        if (ops_command(&r, "query-chardev", NULL, &chardevs, err, errlen) < 0)
            goto fail;
        for (size_t i = 0; i < json_array_size(chardevs); i++) {
            json_t *c = json_array_get(chardevs, i);
            const char *label = json_string_value(json_object_get(c, "label"));
            const char *fn = json_string_value(json_object_get(c, "filename"));

            if (label && !strncmp(label, "serial", 6))
                say(o->out, "%s: %s\n", label, fn ? fn : "?");
        }
        json_decref(chardevs);
    }
    if (!o->paused) {
        if (ops_command(&r, "cont", NULL, NULL, err, errlen) < 0 ||
            ops_status(&r, status, sizeof(status), OPS_TIMEOUT_MS, err, errlen) < 0)
            goto fail;
        say(o->out, "cont: status %s\n", status);
    }
    if (state_save(&r, err, errlen) < 0)
        goto fail;
    *rec = r;
    rc = 0;
    goto out;

fail:
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (keeper > 0) {
        kill(keeper, SIGKILL);
        while (waitpid(keeper, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (r.has_uid && r.kill_uid && pid > 0)
        reap_uid(&r, NULL, "after failed start", e2, sizeof(e2));
    if (chroot_made)
        chroot_dir_remove(r.chroot, e2, sizeof(e2));
    if (sockets_made)
        unlink_sockets(r.domid);
out:
    dm_args_free(&args);
    if (qmp_fd >= 0)
        close(qmp_fd);
    if (qtest_fd >= 0)
        close(qtest_fd);
    if (in_fd >= 0)
        close(in_fd);
    if (log_fd >= 0)
        close(log_fd);
    if (lock >= 0)
        close(lock);
    return rc;
}

int domain_destroy(struct dom_rec *r, FILE *out, char *err, size_t errlen)
{
    char e[256] = "";
    int lock, rc = 0;

    lock = state_lock(err, errlen);
    if (lock < 0)
        return -1;
    if (state_proc_alive(r->pid, r->start)) {
        if (r->has_uid && r->kill_uid) {
            if (reap_uid(r, out, "at destroy", e, sizeof(e)) < 0)
                say(out, "warning: %s\n", e);
        } else {
            /* shared uid: by pid, SIGHUP like libxl */
            kill(r->pid, SIGHUP);
            say(out, "sent SIGHUP to pid %d\n", (int)r->pid);
        }
        if (!wait_gone(r->pid, r->start, 5000)) {
            /* e.g. a DM that never dropped root is not reached by uid */
            kill(r->pid, SIGKILL);
            say(out, "pid %d still alive: SIGKILL\n", (int)r->pid);
            if (!wait_gone(r->pid, r->start, 5000)) {
                seterr(err, errlen, "device model pid %d does not die", (int)r->pid);
                close(lock);
                return -1;
            }
        }
        say(out, "device model pid %d is gone\n", (int)r->pid);
    } else {
        say(out, "device model pid %d was already gone\n", (int)r->pid);
    }
    /* anything the DM's uid forked on its way out goes too */
    if (reap_uid(r, out, "after destroy", e, sizeof(e)) < 0) {
        seterr(err, errlen, "%s", e);
        rc = -1;
    }
    if (r->keeper > 0 && state_proc_alive(r->keeper, r->keeper_start)) {
        kill(r->keeper, SIGKILL);
        wait_gone(r->keeper, r->keeper_start, 2000);
    }
    unlink_sockets(r->domid);
    if (r->chroot[0]) {
        if (chroot_dir_remove(r->chroot, e, sizeof(e)) < 0) {
            seterr(err, errlen, "%s", e);
            rc = -1;
        } else {
            say(out, "chroot dir %s removed\n", r->chroot);
        }
    }
    state_remove(r->domid);
    close(lock);
    return rc;
}
