/* xsdmctl: launch and manage xsdm device models without xl (qtest or an
 * existing Xen domain), or wrap xsdm for xl's device_model_override. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "toolstack/audit.h"
#include "toolstack/domain.h"
#include "toolstack/execdm.h"
#include "toolstack/ops.h"
#include "toolstack/state.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xsdmctl [-q] COMMAND ...\n"
            "  create [OPTS] CFG            start a device model for an xl.cfg\n"
            "  restore [OPTS] CFG FILE      start one from a saved state (-incoming fd:M), then cont\n"
            "      OPTS: -p (stay paused)  --accel qtest|xen  --domid N  --dm PATH\n"
            "            --per-domid-gid  --dm-arg ARG (repeatable: device_model_args)\n"
            "            --timeout MS (readiness bound, default 30000)\n"
            "  cd-insert DOM VDEV FILE      insert FILE (opened here, passed by fd)\n"
            "  cd-eject DOM VDEV\n"
            "  save DOM FILE                stop and save device state (the DM stays paused)\n"
            "  destroy DOM                  kill, reap the uid, remove chroot dir and sockets\n"
            "  list\n"
            "  audit DOM                    check the running DM's /proc facts against policy\n"
            "  exec-dm -- ARGV...           wrapper for xl's device_model_override\n"
            "DOM is a domid or a name. Run dir: $XSDM_RUN_DIR or /var/run/xsdm.\n");
}

static int cmd_create(int argc, char **argv, bool restore, FILE *out)
{
    struct create_opts o = { .domid = -1, .out = out };
    struct dom_rec r;
    char err[1024];
    int na = 0, i;

    for (i = 0; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-p")) {
            o.paused = true;
        } else if (!strcmp(a, "--per-domid-gid")) {
            o.per_domid_gid = true;
        } else if (!strcmp(a, "--accel") && v) {
            o.accel = v;
            i++;
        } else if (!strcmp(a, "--dm") && v) {
            o.dm_path = v;
            i++;
        } else if (!strcmp(a, "--domid") && v) {
            char *end;

            o.domid = (int)strtol(v, &end, 10);
            if (*end || o.domid <= 0) {
                fprintf(stderr, "xsdmctl: bad --domid '%s'\n", v);
                return 1;
            }
            i++;
        } else if (!strcmp(a, "--timeout") && v) {
            char *end;

            o.ready_timeout_ms = (int)strtol(v, &end, 10);
            if (*end || o.ready_timeout_ms <= 0) {
                fprintf(stderr, "xsdmctl: bad --timeout '%s'\n", v);
                return 1;
            }
            i++;
        } else if (!strcmp(a, "--dm-arg") && v) {
            if (na >= DOMAIN_MAX_DM_ARGS) {
                fprintf(stderr, "xsdmctl: too many --dm-arg\n");
                return 1;
            }
            o.dm_args[na++] = v;
            i++;
        } else {
            fprintf(stderr, "xsdmctl: unknown option '%s'\n", a);
            return 1;
        }
    }
    if (argc - i != (restore ? 2 : 1)) {
        usage(stderr);
        return 1;
    }
    o.cfg_path = argv[i];
    o.restore_file = restore ? argv[i + 1] : NULL;
    if (domain_create(&o, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "xsdmctl: %s: %s\n", restore ? "restore" : "create", err);
        return 1;
    }
    fprintf(out ? out : stdout, "domain %d '%s' %s: device model pid %d\n", r.domid, r.name,
            restore ? "restored" : "created", (int)r.pid);
    return 0;
}

static int find(const char *dom, struct dom_rec *r)
{
    char err[512];

    if (state_find(dom, r, err, sizeof(err)) < 0) {
        fprintf(stderr, "xsdmctl: %s\n", err);
        return -1;
    }
    return 0;
}

static int cmd_list(void)
{
    int ids[STATE_MAX_DOMS], n = state_list(ids, STATE_MAX_DOMS);

    printf("%-5s %-20s %-8s %-6s %-10s %-8s %s\n", "ID", "NAME", "PID", "ACCEL", "UID", "STATUS", "LOG");
    for (int i = 0; i < n; i++) {
        char st[32] = "?", err[256], uid[16] = "root";
        struct dom_rec r;

        if (state_load(ids[i], &r, err, sizeof(err)) < 0)
            continue;
        if (!state_proc_alive(r.pid, r.start))
            snprintf(st, sizeof(st), "dead");
        else if (ops_status(&r, st, sizeof(st), 2000, err, sizeof(err)) < 0)
            snprintf(st, sizeof(st), "no-qmp");
        if (r.has_uid)
            snprintf(uid, sizeof(uid), "%u", (unsigned)r.uid);
        printf("%-5d %-20s %-8d %-6s %-10s %-8s %s\n", r.domid, r.name, (int)r.pid, r.accel, uid, st, r.log);
    }
    return 0;
}

static int cmd_audit(const char *dom)
{
    struct audit_policy p;
    struct dom_rec r;
    int gaps;

    if (find(dom, &r) < 0)
        return 2;
    if (!state_proc_alive(r.pid, r.start)) {
        fprintf(stderr, "xsdmctl: domain %d (%s): device model pid %d is not running\n", r.domid, r.name, (int)r.pid);
        return 2;
    }
    memset(&p, 0, sizeof(p));
    p.pid = r.pid;
    p.uid = r.has_uid ? r.uid : 0;
    p.gid = r.has_uid ? r.gid : 0;
    p.chroot = r.chroot[0] ? r.chroot : NULL;
    p.net_ns = r.net_ns;
    p.taps = r.taps;
    p.files = r.files;
    p.n_files = r.n_files;
    p.log = r.log;
    printf("domain %d '%s':\n", r.domid, r.name);
    gaps = audit_run(&p, stdout);
    return gaps == 0 ? 0 : gaps < 0 ? 2 : 1;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    FILE *out = stdout;
    struct dom_rec r;
    char err[1024];
    int i = 1;

    signal(SIGPIPE, SIG_IGN);
    /* a symlink named xsdmctl-exec-dm can be device_model_override itself */
    if (!strcmp(base, "xsdmctl-exec-dm")) {
        execdm_run(argc, argv, domain_dm_path(), err, sizeof(err));
        fprintf(stderr, "xsdmctl: %s\n", err);
        return 1;
    }
    if (i < argc && !strcmp(argv[i], "-q")) {
        out = NULL;
        i++;
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[i++];
    int n = argc - i;
    char **a = argv + i;

    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "exec-dm")) {
        if (n < 2 || strcmp(a[0], "--")) {
            usage(stderr);
            return 1;
        }
        signal(SIGPIPE, SIG_DFL);
        execdm_run(n - 1, a + 1, domain_dm_path(), err, sizeof(err));
        fprintf(stderr, "xsdmctl: %s\n", err);
        return 1;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "xsdmctl: must run as root (it creates namespaces, chroot dirs and changes uids)\n");
        return 1;
    }
    if (!strcmp(cmd, "create"))
        return cmd_create(n, a, false, out);
    if (!strcmp(cmd, "restore"))
        return cmd_create(n, a, true, out);
    if (!strcmp(cmd, "list") && n == 0)
        return cmd_list();
    if (!strcmp(cmd, "audit") && n == 1)
        return cmd_audit(a[0]);
    if (!strcmp(cmd, "destroy") && n == 1) {
        if (find(a[0], &r) < 0)
            return 1;
        if (domain_destroy(&r, out, err, sizeof(err)) < 0) {
            fprintf(stderr, "xsdmctl: destroy: %s\n", err);
            return 1;
        }
        if (out)
            fprintf(out, "domain %d '%s' destroyed\n", r.domid, r.name);
        return 0;
    }
    if ((!strcmp(cmd, "cd-insert") && n == 3) || (!strcmp(cmd, "cd-eject") && n == 2) ||
        (!strcmp(cmd, "save") && n == 2)) {
        int rc;

        if (find(a[0], &r) < 0)
            return 1;
        if (!strcmp(cmd, "cd-insert"))
            rc = ops_cd_insert(&r, a[1], a[2], out, err, sizeof(err));
        else if (!strcmp(cmd, "cd-eject"))
            rc = ops_cd_eject(&r, a[1], out, err, sizeof(err));
        else
            rc = ops_save(&r, a[1], out, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "xsdmctl: %s: %s\n", cmd, err);
            return 1;
        }
        /* the record lists the files the DM may now hold (for audit) */
        if (state_save(&r, err, sizeof(err)) < 0) {
            fprintf(stderr, "xsdmctl: %s\n", err);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "xsdmctl: unknown command or wrong arguments: %s\n", cmd);
    usage(stderr);
    return 1;
}
