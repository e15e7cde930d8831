/* Preparing for and running the restriction table (restrict/steps.c).
 * Everything that needs the host's files or NSS happens in
 * restrict_prepare(), before the table runs; everything in the table is
 * irreversible and fatal on failure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dm/core/accel.h"
#include "dm/core/log.h"
#include "restrict/restrict.h"
#include "restrict/sandbox.h"
#include "restrict/system.h"
#include "rlimits/rlimits.h"

/* Whether xsdm restricts on its own what the toolstack left open. */
static bool confine(const struct xsdm_config *cfg)
{
    if (cfg->have_runas && cfg->chroot_dir[0])
        return false;           /* dm_restrict=1: libxl chose both */
    if (!cfg->confine) {
        log_warn("restrict: -confine off: no per-domain user or empty root unless -runas/-chroot "
                 "give them (debugging only)");
        return false;
    }
    if (geteuid() != 0) {
        log_warn("restrict: not started as root (uid %u): identity and root directory stay the "
                 "caller's", (unsigned)geteuid());
        return false;
    }
    return true;
}

int restrict_prepare(struct restrict_ctx *ctx, const struct xsdm_config *cfg, struct accel *a,
                     char *err, size_t errlen)
{
    struct stat st;
    size_t seed = 0;
    bool own;

    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = cfg;
    ctx->accel = a;
    ctx->max_fd = 2;
    ctx->sandbox = cfg->sandbox;
    if (cfg->have_runas) {
        if (restrict_parse_runas(cfg->runas, &ctx->uid, &ctx->gid, err, errlen) < 0)
            return -1;
        ctx->have_ids = true;
    }
    own = confine(cfg);
    if (own && !cfg->have_runas) {
        char how[256];
        int r = restrict_default_user(RESTRICT_PASSWD_FILE, cfg->domid, &ctx->uid, &ctx->gid, how,
                                      sizeof(how), err, errlen);

        if (r < 0)
            return -1;
        ctx->have_ids = true;
        /* The fallback is the one an administrator should hear about. */
        if (r > 0)
            log_warn("restrict: no -runas: the DM becomes uid %u gid %u (%s; docs/xen.md)",
                     (unsigned)ctx->uid, (unsigned)ctx->gid, how);
        else
            log_info("restrict: no -runas: the DM becomes uid %u gid %u (%s)",
                     (unsigned)ctx->uid, (unsigned)ctx->gid, how);
    }
    ctx->empty_root = own && !cfg->chroot_dir[0];
    if (ctx->have_ids) {
        char owner[64];

        if (restrict_subuid_owner(RESTRICT_SUBUID_FILE, ctx->uid, owner, sizeof(owner)) == 0)
            log_warn("restrict: uid %u lies in %s's subordinate uids (%s): processes in %s's user "
                     "namespaces could signal the DM; give the DM users a range of their own "
                     "(docs/xen.md)", (unsigned)ctx->uid, owner, RESTRICT_SUBUID_FILE, owner);
    }
    if (cfg->chroot_dir[0]) {
        if (stat(cfg->chroot_dir, &st) < 0) {
            snprintf(err, errlen, "chroot %s: %s", cfg->chroot_dir, strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "chroot %s: not a directory", cfg->chroot_dir);
            return -1;
        }
        ctx->have_root_stat = true;
        ctx->root_dev = st.st_dev;
        ctx->root_ino = st.st_ino;
    }
    /* A lazy initialisation that would need a syscall outside the allowlist
     * (jansson seeds its hash from /dev/urandom) happens now, from one
     * getrandom(2) rather than jansson's open/read/close of /dev/urandom;
     * jansson's own way if that fails (0 asks jansson to seed itself). */
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = 0;
    json_object_seed(seed);
    return 0;
}

uint64_t restrict_as_budget(const struct restrict_ctx *ctx)
{
    struct accel *a = ctx->accel;
    uint64_t ram;

    /* The accelerator knows its guest mapping (qtest: all -m MiB; Xen: the
     * bounded mapcache, docs/restriction.md); without one, all guest RAM. */
    if (a && a->ops && a->ops->map_budget)
        return rlimits_as_budget(a->ops->map_budget(a));
    if (!ctx->cfg)
        return 0;
    ram = ctx->cfg->ram_mb > (UINT64_MAX >> 20) ? UINT64_MAX : ctx->cfg->ram_mb << 20;
    return rlimits_as_budget(ram);
}

void restrict_keep_fd(struct restrict_ctx *ctx, int fd)
{
    int i;

    if (fd < 0)
        return;
    for (i = 0; i < ctx->n_keep; i++)
        if (ctx->keep[i] == fd)
            return;
    if (ctx->n_keep >= RESTRICT_MAX_KEEP) {
        ctx->keep_overflow = true;  /* close-fds fails rather than close a needed fd */
        return;
    }
    ctx->keep[ctx->n_keep++] = fd;
    if (fd > ctx->max_fd)
        ctx->max_fd = fd;
}

int restrict_run(struct restrict_ctx *ctx)
{
    size_t i;
    int r;

    for (i = 0; i < restrict_n_steps; i++) {
        const struct restrict_step *s = &restrict_steps[i];

        r = s->fn(ctx);
        if (r < 0) {
            log_err("restrict: step %zu '%s' failed: exiting (code %zu), a half-restricted "
                    "DM never serves", i + 1, s->name, RESTRICT_EXIT_BASE + i);
            _exit((int)(RESTRICT_EXIT_BASE + i));
        }
        if (ctx->n_done < (int)(sizeof(ctx->done) / sizeof(ctx->done[0])))
            ctx->done[ctx->n_done++] = s->name;
        if (r == 0)
            log_info("restrict: %s: done", s->name);
    }
    return 0;
}
