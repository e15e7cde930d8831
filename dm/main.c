/* xsdm: the process, as docs/design.md "Life of the process" describes it.
 * Parse, open everything the DM will ever need, restrict irreversibly, then
 * serve the guest and QMP from one epoll loop until quit, a signal or the
 * guest's poweroff. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm/board/dm.h"
#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/chardev.h"
#include "dm/core/config.h"
#include "dm/core/fdset.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/display/vnc.h"
#include "dm/net/net.h"
#include "dm/qmp/qmp-version.h"
#include "dm/qmp/qmp.h"
#include "dm/state/migration.h"
#include "dm/storage/block.h"
#include "restrict/restrict.h"

static struct dm the_dm;
static int sig_fd = -1;

static void usage(void)
{
    static const char text[] =
        "usage: xsdm -xen-domid D [qemu-xen options as libxl passes them]\n"
        "       xsdm -accel qtest -qtest unix:PATH [options]   (test accelerator)\n"
        "       xsdm -machine none,accel=xen -chardev ... -mon ...   (capability probe)\n"
        "See xsdm(1) for the options xsdm accepts.\n";

    if (write(STDOUT_FILENO, text, sizeof(text) - 1) < 0)
        return;
}

static void version(void)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "xsdm (QEMU-compatible QMP %d.%d.%d)\n", XSDM_QEMU_MAJOR,
                     XSDM_QEMU_MINOR, XSDM_QEMU_MICRO);

    if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
        return;
}

/* ---- signals ---------------------------------------------------------- */

static void on_signal(void *opaque, int fd, uint32_t events)
{
    struct dm *d = opaque;
    struct signalfd_siginfo si;
    ssize_t r = read(fd, &si, sizeof(si));

    if (r != (ssize_t)sizeof(si))
        return;
    log_info("signal %u: exiting", si.ssi_signo);
    d->quit_requested = true;
    loop_quit(d->loop, 0);
}

/* SIGPIPE: a client that went away must not kill us. SIGXFSZ: libxl caps
 * the log fd (and the save fd) with RLIMIT_FSIZE; a write past it fails
 * with EFBIG instead. The ending signals come through the loop. */
static int signals_setup(struct dm *d, char *err, size_t errlen)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    /* An ignored signal is discarded, never queued on the signalfd: a DM
     * exec'd with SIGHUP ignored (nohup, some supervisors) would survive
     * libxl's kill. Default dispositions, then blocked: they only arrive
     * through the loop. */
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
        snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
        return -1;
    }
    sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
        return -1;
    }
    if (loop_add(d->loop, sig_fd, EPOLLIN, on_signal, d) < 0) {
        snprintf(err, errlen, "cannot watch the signalfd");
        return -1;
    }
    return 0;
}

/* ---- QMP monitors ----------------------------------------------------- */

/* libxl's pre-opened QMP socket (-chardev socket,...,fd=N,server=on): it
 * must already listen; we only accept on it. */
static int adopt_listener(const struct chardev_spec *s, char *name, size_t namelen, char *err, size_t errlen)
{
    char path[CHARDEV_UNIX_NAME_MAX];
    int listening = 0;
    socklen_t ol = sizeof(listening);

    if (fcntl(s->fd, F_GETFD) < 0) {
        snprintf(err, errlen, "chardev %s: fd=%d is not open", s->id, s->fd);
        return -1;
    }
    if (getsockopt(s->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) < 0 || !listening) {
        snprintf(err, errlen, "chardev %s: fd=%d is not a listening socket", s->id, s->fd);
        return -1;
    }
    if (fcntl(s->fd, F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(err, errlen, "chardev %s: fd=%d: %s", s->id, s->fd, strerror(errno));
        return -1;
    }
    chardev_unix_name(s->fd, path, sizeof(path));
    if (path[0])
        snprintf(name, namelen, "unix:%s,server=on", path);
    else
        snprintf(name, namelen, "fd:%d,server=on", s->fd);
    return s->fd;
}

/* A path socket (libxenstat's): created before restriction, a stale socket
 * file from an earlier DM replaced. */
static int bind_listener(const struct chardev_spec *s, char *name, size_t namelen, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(s->path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "chardev %s: socket path too long: %s", s->id, s->path);
        return -1;
    }
    memcpy(sa.sun_path, s->path, strlen(s->path));
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "chardev %s: %s exists and is not a socket", s->id, s->path);
            return -1;
        }
        unlink(s->path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
        snprintf(err, errlen, "chardev %s: cannot listen on %s: %s", s->id, s->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(name, namelen, "unix:%s,server=on", s->path);
    return fd;
}

static int monitors_open(struct dm *d, char *err, size_t errlen)
{
    int i;

    for (i = 0; i < d->cfg.n_monitors; i++) {
        const struct chardev_spec *s = cli_find_chardev(&d->cfg, d->cfg.monitors[i].chardev);
        char name[CFG_PATH_MAX + 32];
        struct qmp_server *q;
        int fd;

        if (!s)
            return -1;      /* cli_parse checked it */
        fd = s->fd >= 0 ? adopt_listener(s, name, sizeof(name), err, errlen)
                        : bind_listener(s, name, sizeof(name), err, errlen);
        if (fd < 0)
            return -1;
        q = qmp_server_new(d->loop, fd, s->id);
        if (!q) {
            snprintf(err, errlen, "chardev %s: cannot serve QMP", s->id);
            close(fd);
            return -1;
        }
        d->qmp[d->n_qmp++] = q;
        chardev_register_label(s->id, name, true);
    }
    return 0;
}

static void monitors_close(struct dm *d)
{
    int i;

    for (i = 0; i < d->n_qmp; i++)
        qmp_server_free(d->qmp[i]);
    d->n_qmp = 0;
}

/* The VNC socket is bound (or adopted) now, before restriction; run_dm
 * then attaches the board's display and keyboard sink. cli refuses -vnc
 * without a graphics device. */
static int vnc_open(struct dm *d, char *err, size_t errlen)
{
    int fd = vnc_listen_open(&d->cfg.vnc, err, errlen);

    if (fd < 0)
        return -1;
    d->vnc = vnc_server_new(d->loop, fd, d->cfg.vnc.password, d->cfg.name, err, errlen);
    return d->vnc ? 0 : -1;
}

/* ---- restriction ------------------------------------------------------ */

/* The DM's own fds that must outlive close-fds. The step itself adds what
 * is not the DM's to list (restrict/steps.c): stdio, the accelerator's fds
 * (its keep_fds op) and the fd sets. */
static void keep_list(struct dm *d, struct restrict_ctx *r)
{
    int fds[RESTRICT_MAX_KEEP];
    int i, n;

    restrict_keep_fd(r, loop_fd(d->loop));
    restrict_keep_fd(r, sig_fd);
    for (i = 0; i < d->n_qmp; i++) {
        restrict_keep_fd(r, qmp_server_listen_fd(d->qmp[i]));
        restrict_keep_fd(r, qmp_server_client_fd(d->qmp[i]));
    }
    n = chardev_keep_fds(fds, RESTRICT_MAX_KEEP);
    for (i = 0; i < n; i++)
        restrict_keep_fd(r, fds[i]);
    n = block_keep_fds(fds, RESTRICT_MAX_KEEP);
    for (i = 0; i < n; i++)
        restrict_keep_fd(r, fds[i]);
    n = d->vnc ? (int)vnc_server_fds(d->vnc, fds, RESTRICT_MAX_KEEP) : 0;
    for (i = 0; i < n; i++)
        restrict_keep_fd(r, fds[i]);
    n = net_keep_fds(fds, RESTRICT_MAX_KEEP);       /* the NICs' taps */
    for (i = 0; i < n; i++)
        restrict_keep_fd(r, fds[i]);
    restrict_keep_fd(r, d->cfg.incoming_fd);
}

/* ---- the two lives: probe and device model ----------------------------- */

static int run_probe(struct dm *d)
{
    char err[512];

    /* Unrestricted and root: only the probe's own commands are served. */
    qmp_probe_mode(true);
    if (monitors_open(d, err, sizeof(err)) < 0) {
        log_err("%s", err);
        return 1;
    }
    log_debug("capability probe: serving QMP only");
    return loop_run(d->loop);
}

static int accel_init(struct dm *d, char *err, size_t errlen)
{
    const struct accel_ops *ops = d->cfg.accel == ACCEL_QTEST ? &accel_qtest_ops : &accel_xen_ops;

    d->accel.ops = ops;
    d->accel.ram_size = d->cfg.ram_mb << 20;
    if (ops->init(&d->accel, &d->cfg, d->loop) < 0) {
        snprintf(err, errlen, "%s accelerator: initialisation failed", ops->name);
        return -1;
    }
    return 0;
}

static int run_dm(struct dm *d)
{
    struct restrict_ctx rctx;
    char err[512];

    /* Names need NSS, which is gone after chroot. */
    if (restrict_prepare(&rctx, &d->cfg, &d->accel, err, sizeof(err)) < 0)
        goto fail;
    if (accel_init(d, err, sizeof(err)) < 0)
        goto fail;
    if (machine_init(&d->machine, &d->cfg, &d->accel, d->loop) < 0) {
        snprintf(err, sizeof(err), "machine: initialisation failed");
        goto fail;
    }
    if (monitors_open(d, err, sizeof(err)) < 0)
        goto fail;
    if (d->cfg.vnc.enabled && vnc_open(d, err, sizeof(err)) < 0)
        goto fail;
    if (d->vnc) {
        struct input_sink in = machine_input(&d->machine);

        vnc_server_attach_display(d->vnc, machine_display(&d->machine));
        vnc_server_set_input(d->vnc, &in);
    }
    if (d->accel.ops->attach && d->accel.ops->attach(&d->accel, &d->machine) < 0) {
        snprintf(err, sizeof(err), "%s accelerator: attach failed", d->accel.ops->name);
        goto fail;
    }
    /* Guest writes must not meet the 256 KiB RLIMIT_FSIZE (docs/restriction.md). */
    block_attach_loops();
    rctx.fsize_bytes = block_fsize_needed();
    keep_list(d, &rctx);
    restrict_run(&rctx);           /* exits on any failure */
    d->restricted = true;
    /* The state stream was written by the previous DM, which may have been
     * compromised: parse it only once restricted. It is loaded whole before
     * the loop serves QMP, so libxl never sees "inmigrate" (it expects
     * "paused"), and a bad stream ends the DM before the guest runs. */
    if (d->cfg.incoming_fd >= 0 && migration_incoming(d, d->cfg.incoming_fd, err, sizeof(err)) < 0)
        goto fail;
    /* QEMU's autostart: without -S the guest runs at once. */
    if (!d->cfg.start_paused)
        dm_cont(d);
    return loop_run(d->loop);
fail:
    log_err("%s", err);
    return 1;
}

int main(int argc, char **argv)
{
    struct dm *d = &the_dm;
    const char *lvl = getenv("XSDM_LOG");
    char err[512];
    int rc;

    log_set_prefix("xsdm");
    if (lvl && !strcmp(lvl, "debug"))
        log_set_level(LOG_DEBUG);
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "-help") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "-version") || !strcmp(argv[1], "--version"))) {
        version();
        return 0;
    }
    cli_defaults(&d->cfg);
    if (cli_parse(argc, argv, &d->cfg, err, sizeof(err)) < 0) {
        log_err("%s", err);
        return 1;
    }
    d->loop = loop_new();
    if (!d->loop) {
        log_err("cannot create the event loop");
        return 1;
    }
    d->machine.state = RUN_PRELAUNCH;
    dm_set(d);
    if (signals_setup(d, err, sizeof(err)) < 0) {
        log_err("%s", err);
        return 1;
    }
    rc = d->cfg.probe ? run_probe(d) : run_dm(d);
    monitors_close(d);             /* flushes the reply to "quit" */
    return rc;
}
