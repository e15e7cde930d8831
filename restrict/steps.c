/* The restriction table: what the DM gives up, in the only order that
 * works. Each step is one small function; restrict_run() (restrict.c) walks
 * the table and dies on the first failure. docs/restriction.md explains
 * every row. A step returns 0 (done), 1 (skipped, with a log line saying
 * why) or -1 (fatal: the DM exits with RESTRICT_EXIT_BASE + index). */
#include <string.h>
#include <unistd.h>

#include "dm/core/accel.h"
#include "dm/core/fdset.h"
#include "dm/core/log.h"
#include "restrict/restrict.h"
#include "restrict/sandbox.h"
#include "restrict/system.h"
#include "rlimits/rlimits.h"

static int step_xen_handles(struct restrict_ctx *ctx)
{
    struct accel *a = ctx->accel;

    if (!a || !a->ops || !a->ops->restrict_handles) {
        log_info("restrict: xen-handles: skipped (accelerator %s holds no Xen handles)",
                 a && a->ops && a->ops->name ? a->ops->name : "none");
        return 1;
    }
    if (a->ops->restrict_handles(a) < 0) {
        log_err("restrict: xen-handles: restricting the %s handles failed", a->ops->name);
        return -1;
    }
    return 0;
}

static int step_close_fds(struct restrict_ctx *ctx)
{
    int keep[3 + RESTRICT_MAX_KEEP * 2 + FDSET_MAX_SETS * FDSET_MAX_FDS];
    int n = 0, i, max_fd;
    struct accel *a = ctx->accel;

    if (ctx->keep_overflow) {
        log_err("restrict: close-fds: more than %d fds to keep", RESTRICT_MAX_KEEP);
        return -1;
    }
    /* stdin (/dev/null), stdout and stderr (libxl's log file) stay. */
    for (i = 0; i < 3; i++)
        keep[n++] = i;
    for (i = 0; i < ctx->n_keep; i++)
        keep[n++] = ctx->keep[i];
    if (a && a->ops && a->ops->keep_fds) {
        int m = a->ops->keep_fds(a, keep + n, RESTRICT_MAX_KEEP);

        if (m < 0 || m > RESTRICT_MAX_KEEP) {
            log_err("restrict: close-fds: the %s accelerator cannot list its fds", a->ops->name);
            return -1;
        }
        n += m;
    }
    /* fds already handed over with -add-fd style fd sets stay usable. */
    n += fdset_all_fds(keep + n, FDSET_MAX_SETS * FDSET_MAX_FDS);
    if (restrict_close_fds_except(keep, n, &max_fd) < 0)
        return -1;
    ctx->max_fd = max_fd;
    return 0;
}

static int step_chroot(struct restrict_ctx *ctx)
{
    const char *dir = ctx->cfg ? ctx->cfg->chroot_dir : "";

    if (dir[0])
        return restrict_chroot(dir, ctx->have_root_stat, ctx->root_dev, ctx->root_ino);
    if (ctx->empty_root)
        return restrict_empty_root();
    log_warn("restrict: chroot: skipped (no -chroot / -run-with chroot=, and -confine off or "
             "not root)");
    return 1;
}

static int step_identity(struct restrict_ctx *ctx)
{
    if (!ctx->have_ids) {
        log_warn("restrict: identity: skipped (no -runas / -run-with user=, and -confine off or "
                 "not root: uid stays %u)", (unsigned)getuid());
        return 1;
    }
    if (restrict_set_ids(ctx->uid, ctx->gid) < 0 || restrict_verify_ids(ctx->uid, ctx->gid) < 0)
        return -1;
    return 0;
}

static int step_capabilities(struct restrict_ctx *ctx)
{
    if (restrict_drop_caps() < 0 || restrict_no_new_privs() < 0)
        return -1;
    /* With no capability left, root must be even further out of reach. */
    if (ctx->have_ids && restrict_verify_ids(ctx->uid, ctx->gid) < 0)
        return -1;
    return 0;
}

static int step_rlimits(struct restrict_ctx *ctx)
{
    struct rlimit_want w[RLIMITS_MAX];
    struct rlimit_inputs in = { .max_fd = ctx->max_fd, .fsize_bytes = ctx->fsize_bytes };
    char err[160];
    int n;

    ctx->as_bytes = in.as_bytes = restrict_as_budget(ctx);
    n = rlimits_policy(&in, w, RLIMITS_MAX);
    if (rlimits_apply(w, n, err, sizeof(err)) < 0) {
        log_err("restrict: rlimits: %s", err);
        return -1;
    }
    if (!ctx->as_bytes)
        log_info("restrict: rlimits: RLIMIT_AS left alone (no budget: sanitizer build or no guest RAM)");
    return 0;
}

static int step_seccomp(struct restrict_ctx *ctx)
{
    enum seccomp_policy p = ctx->cfg && ctx->cfg->accel == ACCEL_XEN ?
                            SECCOMP_POLICY_XEN : SECCOMP_POLICY_QTEST;
    char err[160];

    if (ctx->sandbox == SANDBOX_OFF) {
        log_warn("restrict: seccomp: skipped (-sandbox off): every syscall stays reachable");
        return 1;
    }
    log_info("restrict: seccomp: loading %zu-syscall allowlist, mode %s",
             seccomp_allowlist_count_for(p), ctx->sandbox == SANDBOX_ON ? "on" : "log");
    if (seccomp_install(ctx->sandbox, p, err, sizeof(err)) < 0) {
        log_err("restrict: %s", err);
        return -1;
    }
    return 0;
}

const struct restrict_step restrict_steps[] = {
    { "xen-handles", step_xen_handles,
      "while still root and before close-fds: restricting privcmd/evtchn needs the handles open, "
      "and xenstore/xencall fds are dup2'ed to /dev/null, not left for close-fds to guess" },
    { "close-fds", step_close_fds,
      "before chroot: nothing opened outside (a directory fd) may serve as a way out of the chroot" },
    { "chroot", step_chroot,
      "needs CAP_SYS_CHROOT (libxl's dir) or CAP_SYS_ADMIN (xsdm's own empty tmpfs root, "
      "pivot_root), so before the uid change; after it the DM cannot name a host path" },
    { "identity", step_identity,
      "groups, then gid, then uid (each needs the privilege the next one removes); names were "
      "resolved before chroot; keep-caps so the next step can still empty the bounding set" },
    { "capabilities", step_capabilities,
      "after the uid change (which needed CAP_SETUID/SETGID) and before seccomp, which needs "
      "no_new_privs; dumpable 0 keeps the uid's other processes from ptracing us" },
    { "rlimits", step_rlimits,
      "after close-fds (NOFILE derives from the highest kept fd) and the uid change (NPROC "
      "counts the new uid's tasks); unprivileged, so only ever lowered" },
    { "seccomp", step_seccomp,
      "last: every earlier step uses syscalls (chroot, setresuid, capset, prctl, setrlimit) "
      "that the allowlist forbids" },
};

const size_t restrict_n_steps = sizeof(restrict_steps) / sizeof(restrict_steps[0]);

int restrict_step_index(const char *name)
{
    size_t i;

    for (i = 0; i < restrict_n_steps; i++)
        if (!strcmp(restrict_steps[i].name, name))
            return (int)i;
    return -1;
}
