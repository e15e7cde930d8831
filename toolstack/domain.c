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

#include "dm/core/errmsg.h"
#include "toolstack/chroot.h"
#include "toolstack/config.h"
#include "toolstack/dmargs.h"
#include "toolstack/launch.h"
#include "toolstack/ops.h"
#include "toolstack/reaper.h"
#include "toolstack/tap.h"
#include "toolstack/uid.h"
#include "toolstack/vncsock.h"

#define QMP_FD_AT      3
#define INCOMING_FD_AT 4
#define VNC_FD_AT      5
#define TAP_FD_AT      6      /* vif i's tap at 6 + i */
#define REAPER_MS      10000

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

/* domain_create as a table of phases, in the order that works. Each phase
 * is one small function over a create_ctx; on the first failure the undos
 * of that phase and of every earlier one run, last first (so an undo looks
 * at what its phase got done: a phase may fail half-way). The fds, the lock
 * and the argv are released on every path by create_release(). */
struct create_ctx {
    const struct create_opts *o;
    char *err;
    size_t errlen;
    const char *dm;
    struct xl_config cfg;
    struct dm_user user;
    struct dm_args args;
    struct dom_rec r;
    bool qtest, chroot_made, sockets_made;
    int lock, qmp_fd, qtest_fd, log_fd, in_fd;
    struct vncsock vnc;             /* vnc=1: the listener we bound, fd -1 once passed */
    int tap_fd[XLCFG_MAX_VIFS];
    pid_t pid, keeper;
    char qmp_path[STATE_PATH], qtest_path[STATE_PATH], env_domid[48];
};

/* The config parses, the state dirs exist, the DM can be run. */
static int phase_config(struct create_ctx *c)
{
    if (xlcfg_read(c->o->cfg_path, &c->cfg, c->err, c->errlen) < 0 ||
        state_init(c->err, c->errlen) < 0)
        return -1;
    if (access(c->dm, X_OK) < 0) {
        seterr(c->err, c->errlen, "device model %s is not executable: %s", c->dm, strerror(errno));
        return -1;
    }
    return 0;
}

static int phase_lock(struct create_ctx *c)
{
    c->lock = state_lock(c->err, c->errlen);
    return c->lock < 0 ? -1 : 0;
}

/* The name and the domid are free; the accelerator is known. */
static int phase_identity(struct create_ctx *c)
{
    const struct create_opts *o = c->o;
    struct dom_rec *r = &c->r;

    if (state_find(c->cfg.name, r, NULL, 0) == 0) {
        seterr(c->err, c->errlen, "a domain named '%s' already exists (domid %d)", c->cfg.name, r->domid);
        return -1;
    }
    if (o->accel && strcmp(o->accel, "qtest") && strcmp(o->accel, "xen")) {
        seterr(c->err, c->errlen, "unknown accelerator '%s' (qtest or xen)", o->accel);
        return -1;
    }
    c->qtest = o->accel ? !strcmp(o->accel, "qtest") : access("/dev/xen", F_OK) != 0;
    if (!c->qtest && o->domid <= 0) {
        seterr(c->err, c->errlen, "on Xen, xsdmctl serves an existing domain: create it with xl "
               "(device_model_override to `xsdmctl exec-dm`) or give --domid of a domain built paused");
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->domid = o->domid > 0 ? o->domid : state_free_domid();
    if (state_load(r->domid, r, NULL, 0) == 0) {
        seterr(c->err, c->errlen, "domid %d is already in use", r->domid);
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->domid = o->domid > 0 ? o->domid : state_free_domid();
    return 0;
}

/* What the record says about the domain before anything runs. */
static int phase_record(struct create_ctx *c)
{
    struct dom_rec *r = &c->r;
    char real[PATH_MAX];
    const char *path;

    snprintf(r->name, sizeof(r->name), "%s", c->cfg.name);
    snprintf(r->accel, sizeof(r->accel), "%s", c->qtest ? "qtest" : "xen");
    r->qtest = c->qtest;
    r->restricted = c->cfg.dm_restrict;
    r->net_ns = true;       /* the NICs' taps come by fd (phase taps) */
    r->taps = c->cfg.n_vifs;
    path = realpath(c->o->cfg_path, real) ? real : c->o->cfg_path;
    if (strlen(path) >= sizeof(r->cfg)) {
        seterr(c->err, c->errlen, "config path %s too long", path);
        return -1;
    }
    memcpy(r->cfg, path, strlen(path) + 1);
    for (int i = 0; i < c->cfg.n_disks; i++)
        if (c->cfg.disks[i].target[0] && realpath(c->cfg.disks[i].target, real))
            state_add_file(r, real, !c->cfg.disks[i].rw);
    say(c->o->out, "domain %d '%s': accelerator %s, device model %s\n", r->domid, r->name, r->accel, c->dm);
    return 0;
}

/* Who the DM runs as. */
static int phase_user(struct create_ctx *c)
{
    struct dm_user *u = &c->user;
    int n;

    n = uid_choose(uid_db_system(), c->r.domid, c->cfg.dm_user[0] ? c->cfg.dm_user : NULL,
                   c->cfg.dm_restrict, c->o->per_domid_gid, u, c->err, c->errlen);
    if (n < 0)
        return -1;
    if (n > 0) {
        say(c->o->out, "warning: dm_restrict=0 and no device_model_user: the device model keeps root\n");
        return 0;
    }
    c->r.has_uid = true;
    c->r.uid = u->uid;
    c->r.gid = u->gid;
    c->r.kill_uid = u->kill_uid;
    say(c->o->out, "user: -runas %s (uid %u gid %u%s)%s\n", u->runas, (unsigned)u->uid, (unsigned)u->gid,
        u->per_domid_gid ? ", per-domid gid" : "", u->kill_uid ? ", killed by uid" : "");
    return 0;
}

/* Every disk and the saved state open as the DM needs them. */
static int phase_files(struct create_ctx *c)
{
    char real[PATH_MAX];

    if (check_disks(&c->cfg, c->err, c->errlen) < 0)
        return -1;
    if (!c->o->restore_file)
        return 0;
    c->in_fd = open(c->o->restore_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (c->in_fd < 0) {
        seterr(c->err, c->errlen, "cannot read saved state %s: %s", c->o->restore_file, strerror(errno));
        return -1;
    }
    if (realpath(c->o->restore_file, real))
        state_add_file(&c->r, real, true);
    return 0;
}

static int phase_reap_before(struct create_ctx *c)
{
    return reap_uid(&c->r, c->o->out, "before start", c->err, c->errlen);
}

static int phase_chroot(struct create_ctx *c)
{
    if (!c->cfg.dm_restrict)
        return 0;
    chroot_dir_path(state_run_dir(), c->r.domid, c->r.chroot, sizeof(c->r.chroot));
    if (chroot_dir_prepare(c->r.chroot, c->err, c->errlen) < 0)
        return -1;
    c->chroot_made = true;
    say(c->o->out, "chroot dir %s: empty, root-owned, mode 0000\n", c->r.chroot);
    return 0;
}

static void undo_chroot(struct create_ctx *c)
{
    char e[256];

    if (c->chroot_made)
        chroot_dir_remove(c->r.chroot, e, sizeof(e));
}

static int phase_log(struct create_ctx *c)
{
    struct dom_rec *r = &c->r;
    char real[PATH_MAX];

    snprintf(r->log, sizeof(r->log), "%s/qemu-dm-%s.log", state_log_dir(), r->name);
    c->log_fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (c->log_fd < 0) {
        seterr(c->err, c->errlen, "cannot open log %s: %s", r->log, strerror(errno));
        return -1;
    }
    /* audit compares /proc/PID/fd targets, which are canonical */
    if (realpath(r->log, real) && strlen(real) < sizeof(r->log))
        memcpy(r->log, real, strlen(real) + 1);
    return 0;
}

static int phase_sockets(struct create_ctx *c)
{
    state_path(c->qmp_path, sizeof(c->qmp_path), "qmp-libxl", c->r.domid);
    c->sockets_made = true;
    c->qmp_fd = listen_unix(c->qmp_path, c->err, c->errlen);
    if (c->qmp_fd < 0)
        return -1;
    if (!c->qtest)
        return 0;
    state_path(c->qtest_path, sizeof(c->qtest_path), "qtest", c->r.domid);
    c->qtest_fd = listen_unix(c->qtest_path, c->err, c->errlen);
    return c->qtest_fd < 0 ? -1 : 0;
}

/* vnc=1: the console socket, bound here in our network namespace (the DM
 * may get a new, empty one) and passed as -vnc fd=N. */
static int phase_vnc(struct create_ctx *c)
{
    const struct xl_vnc *v = &c->cfg.vnc;

    if (!v->enabled)
        return 0;
    if (vncsock_bind(v->listen, v->display, v->findunused ? VNCSOCK_FIND_TO : v->display, &c->vnc,
                     c->err, c->errlen) < 0)
        return -1;
    say(c->o->out, "vnc: bound %s%s%s:%d (display %d), passed to the DM as fd %d\n",
        strchr(v->listen, ':') ? "[" : "", v->listen, strchr(v->listen, ':') ? "]" : "",
        VNCSOCK_BASE_PORT + c->vnc.display, c->vnc.display, VNC_FD_AT);
    return 0;
}

static void undo_sockets(struct create_ctx *c)
{
    if (c->sockets_made)
        unlink_sockets(c->r.domid);
}

/* Each vif's tap vif<D>.<N>-emu, as libxl names it, created and put on the
 * vif's bridge here in our (the initial) network namespace: what qemu-xen
 * and libxl's vif-bridge script do under xl. The DM, in a namespace of its
 * own, gets the fd only. */
static int phase_taps(struct create_ctx *c)
{
    char name[32];

    for (int i = 0; i < c->cfg.n_vifs; i++) {
        snprintf(name, sizeof(name), "vif%d.%d-emu", c->r.domid, i);
        c->tap_fd[i] = tap_open(name, c->err, c->errlen);
        if (c->tap_fd[i] < 0 || tap_bridge_add(c->cfg.vifs[i].bridge, name, c->err, c->errlen) < 0)
            return -1;
    }
    return 0;
}

static int phase_argv(struct create_ctx *c)
{
    struct dm_args_in in;

    memset(&in, 0, sizeof(in));
    in.dm_path = c->dm;
    in.domid = c->r.domid;
    in.qmp_fd = QMP_FD_AT;
    in.run_dir = state_run_dir();
    in.runas = c->r.has_uid ? c->user.runas : NULL;
    in.incoming_fd = c->in_fd >= 0 ? INCOMING_FD_AT : -1;
    in.qtest_path = c->qtest ? c->qtest_path : NULL;
    in.extra = c->o->dm_args;
    in.vnc_fd = c->vnc.fd >= 0 ? VNC_FD_AT : -1;
    in.tap_fd_at = TAP_FD_AT;
    if (dm_args_build(&c->cfg, &in, &c->args, c->err, c->errlen) < 0)
        return -1;
    snprintf(c->env_domid, sizeof(c->env_domid), "XEN_DOMAIN_ID=%d", c->r.domid);
    return 0;
}

static int phase_spawn(struct create_ctx *c)
{
    char *envp[2] = { c->env_domid, NULL };
    struct launch_spec ls;
    char fds[64] = "";
    size_t fds_len = 0;

    memset(&ls, 0, sizeof(ls));
    ls.path = c->dm;
    ls.argv = c->args.argv;
    ls.envp = envp;
    ls.log_fd = c->log_fd;
    ls.pass_fd[ls.n_pass] = c->qmp_fd;
    ls.pass_at[ls.n_pass++] = QMP_FD_AT;
    if (c->in_fd >= 0) {
        ls.pass_fd[ls.n_pass] = c->in_fd;
        ls.pass_at[ls.n_pass++] = INCOMING_FD_AT;
    }
    if (c->vnc.fd >= 0) {
        ls.pass_fd[ls.n_pass] = c->vnc.fd;
        ls.pass_at[ls.n_pass++] = VNC_FD_AT;
    }
    for (int i = 0; i < c->cfg.n_vifs; i++) {
        ls.pass_fd[ls.n_pass] = c->tap_fd[i];
        ls.pass_at[ls.n_pass++] = TAP_FD_AT + i;
    }
    ls.restrict_ns = true;
    ls.new_net = c->r.net_ns;
    say(c->o->out, "argv:");
    for (int i = 0; i < c->args.argc; i++)
        say(c->o->out, " %s", c->args.argv[i]);
    say(c->o->out, "\n");
    c->pid = launch_spawn(&ls, c->err, c->errlen);
    if (c->pid < 0)
        return -1;
    c->r.pid = c->pid;
    c->r.start = state_proc_start(c->pid);
    /* only the DM holds the QMP listener now: if it dies, connects fail
     * at once instead of waiting out the bound */
    close(c->qmp_fd);
    c->qmp_fd = -1;
    if (c->in_fd >= 0) {
        close(c->in_fd);
        c->in_fd = -1;
    }
    if (c->vnc.fd >= 0) {
        close(c->vnc.fd);       /* the DM's alone, like the QMP listener */
        c->vnc.fd = -1;
    }
    for (int i = 0; i < ls.n_pass; i++)
        fds_len += (size_t)snprintf(fds + fds_len, sizeof(fds) - fds_len, " + %d", ls.pass_at[i]);
    say(c->o->out, "started pid %d, setsid, new mount/IPC/UTS%s namespaces, rlimits FSIZE=256KiB "
        "CORE=MSGQUEUE=LOCKS=MEMLOCK=0, fds 0-2%s", (int)c->pid, c->r.net_ns ? "/network" : "", fds);
    for (int i = 0; i < c->cfg.n_vifs; i++)
        say(c->o->out, ", tap vif%d.%d-emu on %s at fd %d", c->r.domid, i, c->cfg.vifs[i].bridge, TAP_FD_AT + i);
    say(c->o->out, ", env %s, log %s (O_APPEND)\n", c->env_domid, c->r.log);
    return 0;
}

static void kill_and_wait(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static void undo_spawn(struct create_ctx *c)
{
    char e[256];

    if (c->pid <= 0)
        return;
    kill_and_wait(c->pid);
    if (c->r.has_uid && c->r.kill_uid)
        reap_uid(&c->r, NULL, "after failed start", e, sizeof(e));
}

static int phase_qtest_peer(struct create_ctx *c)
{
    if (!c->qtest)
        return 0;
    c->keeper = keeper_start(c->qtest_fd, c->pid, c->qtest_path, c->err, c->errlen);
    if (c->keeper < 0)
        return -1;
    close(c->qtest_fd);
    c->qtest_fd = -1;
    c->r.keeper = c->keeper;
    c->r.keeper_start = state_proc_start(c->keeper);
    return 0;
}

static void undo_qtest_peer(struct create_ctx *c)
{
    if (c->keeper > 0)
        kill_and_wait(c->keeper);
}

/* Readiness as libxl sees it: query-status on the pre-opened socket. */
static int phase_ready(struct create_ctx *c)
{
    const char *want = c->o->restore_file ? "paused" : "prelaunch";
    int ms = c->o->ready_timeout_ms > 0 ? c->o->ready_timeout_ms : 30000;
    char status[32], e[256], last[256];
    json_t *chardevs = NULL;

    if (ops_status(&c->r, status, sizeof(status), ms, e, sizeof(e)) < 0) {
        log_tail(c->r.log, last, sizeof(last));
        seterr(c->err, c->errlen, "device model did not become ready: %s; its log %s ends: %s", e,
               c->r.log, last[0] ? last : "(empty)");
        return -1;
    }
    if (strcmp(status, want)) {
        seterr(c->err, c->errlen, "device model reports status '%s', want '%s' (see %s)", status,
               want, c->r.log);
        return -1;
    }
    say(c->o->out, "QMP ready: status %s\n", status);
    if (ops_command(&c->r, "query-chardev", NULL, &chardevs, c->err, c->errlen) < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(chardevs); i++) {
        json_t *cd = json_array_get(chardevs, i);
        const char *label = json_string_value(json_object_get(cd, "label"));
        const char *fn = json_string_value(json_object_get(cd, "filename"));

        if (label && !strncmp(label, "serial", 6))
            say(c->o->out, "%s: %s\n", label, fn ? fn : "?");
    }
    json_decref(chardevs);
    return 0;
}

/* As libxl after start: the password (change-vnc-password), then
 * query-vnc, whose host and service it writes to console/vnc-listen and
 * console/vnc-port; a DM that cannot answer fails the create, as there. */
static int phase_vnc_qmp(struct create_ctx *c)
{
    const struct xl_vnc *v = &c->cfg.vnc;
    json_t *ret = NULL;
    const char *host, *service;

    if (!v->enabled)
        return 0;
    if (v->passwd[0]) {
        json_t *args = json_pack("{s:s}", "password", v->passwd);

        if (!args) {
            seterr(c->err, c->errlen, "out of memory");
            return -1;
        }
        if (ops_command(&c->r, "change-vnc-password", args, NULL, c->err, c->errlen) < 0)
            return -1;
    }
    if (ops_command(&c->r, "query-vnc", NULL, &ret, c->err, c->errlen) < 0)
        return -1;
    host = json_string_value(json_object_get(ret, "host"));
    service = json_string_value(json_object_get(ret, "service"));
    if (!json_is_true(json_object_get(ret, "enabled")) || !host || !service) {
        seterr(c->err, c->errlen, "query-vnc: the device model serves no VNC (see %s)", c->r.log);
        json_decref(ret);
        return -1;
    }
    say(c->o->out, "query-vnc: console/vnc-listen %s, console/vnc-port %s%s\n", host, service,
        v->passwd[0] ? ", password set" : "");
    json_decref(ret);
    return 0;
}

static int phase_cont(struct create_ctx *c)
{
    char status[32];

    if (c->o->paused)
        return 0;
    if (ops_command(&c->r, "cont", NULL, NULL, c->err, c->errlen) < 0 ||
        ops_status(&c->r, status, sizeof(status), OPS_TIMEOUT_MS, c->err, c->errlen) < 0)
        return -1;
    say(c->o->out, "cont: status %s\n", status);
    return 0;
}

static int phase_save(struct create_ctx *c)
{
    return state_save(&c->r, c->err, c->errlen);
}

struct create_phase {
    const char *name;
    int (*run)(struct create_ctx *c);
    void (*undo)(struct create_ctx *c);     /* NULL: nothing outlives a failure */
    const char *why;
};

static const struct create_phase create_phases[] = {
    { "config", phase_config, NULL,
      "nothing is taken before the config is known to parse and the DM to be runnable" },
    { "lock", phase_lock, NULL,
      "from here to the record every check-then-act on names, domids and uids is atomic" },
    { "identity", phase_identity, NULL,
      "a free name and domid, under the lock; on Xen the domain is xl's, we only serve it" },
    { "record", phase_record, NULL,
      "names every file the DM may hold, for audit" },
    { "user", phase_user, NULL,
      "the uid is chosen before reaping (reap what runs as it) and before argv (-runas)" },
    { "files", phase_files, NULL,
      "a disk or state file the DM could not open is a clear error now, not a dead DM later" },
    { "reap-before", phase_reap_before, NULL,
      "nothing of this uid may survive from before: it would meet the new DM" },
    { "chroot", phase_chroot, undo_chroot,
      "the empty root-owned dir must exist before the DM is told to chroot into it" },
    { "log", phase_log, NULL,
      "the DM's stdout/stderr; kept on failure, for diagnosis" },
    { "sockets", phase_sockets, undo_sockets,
      "listening before the spawn, so that a client never races the DM's start" },
    { "vnc", phase_vnc, NULL,
      "vnc=1: bound here, in our network namespace, before the DM gets its own empty one" },
    { "taps", phase_taps, NULL,
      "the DM's network namespace has no bridge: the taps are made and bridged here (closed on failure)" },
    { "argv", phase_argv, NULL,
      "the qemu-xen argv libxl would pass, with the fd numbers the spawn places" },
    { "spawn", phase_spawn, undo_spawn,
      "setsid, namespaces, rlimits, the fds at fixed numbers; the undo reaps its uid too" },
    { "qtest-peer", phase_qtest_peer, undo_qtest_peer,
      "qtest only: the DM connects at start and needs a peer for as long as it runs" },
    { "ready", phase_ready, NULL,
      "readiness as libxl sees it: query-status prelaunch (or paused when restoring)" },
    { "vnc-qmp", phase_vnc_qmp, NULL,
      "vnc=1: the password before the guest runs, and query-vnc answered as libxl needs it" },
    { "cont", phase_cont, NULL,
      "unless --paused: the guest runs only once the DM answers" },
    { "save", phase_save, NULL,
      "last: a record exists only for a domain that started" },
};

static void create_release(struct create_ctx *c)
{
    int *fds[] = { &c->qmp_fd, &c->qtest_fd, &c->in_fd, &c->log_fd, &c->lock, &c->vnc.fd };

    dm_args_free(&c->args);
    /* the DM holds its copies: the taps live as long as it does */
    for (int i = 0; i < XLCFG_MAX_VIFS; i++)
        if (c->tap_fd[i] >= 0) {
            close(c->tap_fd[i]);
            c->tap_fd[i] = -1;
        }
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

int domain_create(const struct create_opts *o, struct dom_rec *rec, char *err, size_t errlen)
{
    struct create_ctx c = {
        .o = o, .err = err, .errlen = errlen, .dm = o->dm_path ? o->dm_path : domain_dm_path(),
        .lock = -1, .qmp_fd = -1, .qtest_fd = -1, .log_fd = -1, .in_fd = -1, .pid = -1, .keeper = -1,
        .vnc = { .fd = -1, .display = -1 },
    };
    size_t n = sizeof(create_phases) / sizeof(create_phases[0]), i;
    int rc = 0;

    for (i = 0; i < XLCFG_MAX_VIFS; i++)
        c.tap_fd[i] = -1;

    for (i = 0; i < n; i++)
        if (create_phases[i].run(&c) < 0)
            break;
    if (i < n) {
        /* the failed phase may have got half-way: its undo runs too */
        for (size_t j = i + 1; j-- > 0;)
            if (create_phases[j].undo)
                create_phases[j].undo(&c);
        rc = -1;
    } else {
        *rec = c.r;
    }
    create_release(&c);
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
