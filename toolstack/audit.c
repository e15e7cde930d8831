/* Facts come only from /proc/<pid>: status, limits, ns/, root, cwd, fd/,
 * fdinfo/. Nothing is asked of the DM itself. */
#include "toolstack/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toolstack/launch.h"

struct audit {
    const struct audit_policy *p;
    FILE *out;
    int gaps, checks;
    int taps;                       /* tap fds seen so far */
};

static void check(struct audit *a, bool ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void check(struct audit *a, bool ok, const char *what, const char *fmt, ...)
{
    va_list ap;

    a->checks++;
    if (!ok)
        a->gaps++;
    fprintf(a->out, "  %-4s %-22s ", ok ? "ok" : "GAP", what);
    va_start(ap, fmt);
    vfprintf(a->out, fmt, ap);
    va_end(ap);
    fputc('\n', a->out);
}

/* Value of "Key:" in /proc/pid/status (without leading blanks). */
static int status_field(pid_t pid, const char *key, char *val, size_t len)
{
    char path[64], line[512];
    size_t kl = strlen(key);
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            char *v = line + kl + 1;

            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = 0;
            snprintf(val, len, "%s", v);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static void check_ids(struct audit *a, const char *key, unsigned long want)
{
    unsigned long v[4];
    char val[128];
    bool ok;

    if (status_field(a->p->pid, key, val, sizeof(val)) < 0 ||
        sscanf(val, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4) {
        check(a, false, key, "unreadable");
        return;
    }
    ok = want != 0;
    for (int i = 0; i < 4; i++)
        ok = ok && v[i] == want;
    check(a, ok, !strcmp(key, "Uid") ? "uid (r/e/s/fs)" : "gid (r/e/s/fs)", "%lu %lu %lu %lu (want %lu%s)",
          v[0], v[1], v[2], v[3], want, want ? "" : ", never 0");
}

static void check_groups(struct audit *a)
{
    char val[512], *save = NULL, *tok;
    bool ok = true;

    if (status_field(a->p->pid, "Groups", val, sizeof(val)) < 0) {
        check(a, false, "supplementary groups", "unreadable");
        return;
    }
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", val);
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (strtoul(tok, NULL, 10) != (unsigned long)a->p->gid)
            ok = false;
    check(a, ok, "supplementary groups", "[%s] (want none or %u)", val, (unsigned)a->p->gid);
}

static void check_caps(struct audit *a)
{
    static const char *const sets[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
    char val[64], what[32];

    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        if (status_field(a->p->pid, sets[i], val, sizeof(val)) < 0) {
            check(a, false, sets[i], "unreadable");
            continue;
        }
        snprintf(what, sizeof(what), "capabilities %s", sets[i] + 3);
        check(a, strtoull(val, NULL, 16) == 0, what, "%s (want 0)", val);
    }
}

static void check_nnp_seccomp(struct audit *a)
{
    char val[64];

    if (status_field(a->p->pid, "NoNewPrivs", val, sizeof(val)) < 0)
        check(a, false, "NoNewPrivs", "unreadable");
    else
        check(a, !strcmp(val, "1"), "NoNewPrivs", "%s (want 1)", val);
    if (status_field(a->p->pid, "Seccomp", val, sizeof(val)) < 0)
        check(a, false, "seccomp", "unreadable");
    else
        check(a, !strcmp(val, "2"), "seccomp", "mode %s (want 2: filter)", val);
}

/* A non-dumpable process's /proc/<pid> files belong to root, a dumpable
 * one's to its euid (the /proc/<pid> directory itself always shows the
 * euid): a dumpable DM could be ptraced by anything running as its uid. */
static void check_dumpable(struct audit *a)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/proc/%d/environ", (int)a->p->pid);
    if (stat(path, &st) < 0) {
        check(a, false, "not dumpable", "unreadable: %s", strerror(errno));
        return;
    }
    check(a, st.st_uid == 0 && a->p->uid != 0, "not dumpable", "/proc/%d/environ owned by uid %u (want 0)",
          (int)a->p->pid, (unsigned)st.st_uid);
}

static void check_root(struct audit *a)
{
    char path[64];
    struct stat want, root, cwd;

    if (!a->p->chroot || stat(a->p->chroot, &want) < 0) {
        check(a, false, "root", "no chroot dir to compare with (%s)", a->p->chroot ? a->p->chroot : "none");
        return;
    }
    snprintf(path, sizeof(path), "/proc/%d/root", (int)a->p->pid);
    if (stat(path, &root) < 0) {
        check(a, false, "root", "unreadable: %s", strerror(errno));
        return;
    }
    check(a, root.st_dev == want.st_dev && root.st_ino == want.st_ino, "root",
          "%s (want %s, mode %04o)", root.st_ino == want.st_ino ? a->p->chroot : "elsewhere", a->p->chroot,
          (unsigned)(want.st_mode & 07777));
    snprintf(path, sizeof(path), "/proc/%d/cwd", (int)a->p->pid);
    if (stat(path, &cwd) < 0)
        check(a, false, "cwd", "unreadable: %s", strerror(errno));
    else
        check(a, cwd.st_dev == want.st_dev && cwd.st_ino == want.st_ino, "cwd", "%s",
              cwd.st_ino == want.st_ino ? "the chroot dir" : "outside the chroot dir");
}

static void check_ns(struct audit *a, const char *ns, bool want_new)
{
    char p1[64], p2[64], l1[64] = "", l2[64] = "", what[32];
    ssize_t n;

    snprintf(p1, sizeof(p1), "/proc/%d/ns/%s", (int)a->p->pid, ns);
    snprintf(p2, sizeof(p2), "/proc/self/ns/%s", ns);
    n = readlink(p1, l1, sizeof(l1) - 1);
    if (n > 0)
        l1[n] = 0;
    n = readlink(p2, l2, sizeof(l2) - 1);
    if (n > 0)
        l2[n] = 0;
    snprintf(what, sizeof(what), "namespace %s", ns);
    if (!l1[0] || !l2[0]) {
        check(a, false, what, "unreadable");
        return;
    }
    if (want_new)
        check(a, strcmp(l1, l2) != 0, what, "%s (ours %s: want a new one)", l1, l2);
    else
        fprintf(a->out, "  info %-22s %s (%s)\n", what, l1, strcmp(l1, l2) ? "own" : "shared with ours");
}

/* The DM's own network namespace holds nothing to reach a network with:
 * only a loopback, and no INET socket at all (its tap fds lead outside). */
static void check_netns_empty(struct audit *a)
{
    static const char *const socks[] = { "tcp", "udp", "raw", "tcp6", "udp6", "raw6" };
    char path[64], line[256], ifs[128] = "";
    int n_if = 0, n_sock = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)a->p->pid);
    f = fopen(path, "r");
    if (!f) {
        check(a, false, "netns interfaces", "unreadable: %s", strerror(errno));
        return;
    }
    for (int l = 0; fgets(line, sizeof(line), f); l++) {
        char name[32];

        if (l < 2 || sscanf(line, " %31[^:]:", name) != 1)
            continue;
        n_if++;
        if (strlen(ifs) + strlen(name) + 2 < sizeof(ifs))
            snprintf(ifs + strlen(ifs), sizeof(ifs) - strlen(ifs), "%s%s", ifs[0] ? " " : "", name);
    }
    fclose(f);
    check(a, n_if == 1 && !strcmp(ifs, "lo"), "netns interfaces", "[%s] (want the loopback only)", ifs);
    for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
        snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)a->p->pid, socks[i]);
        f = fopen(path, "r");
        if (!f)
            continue;       /* a protocol this kernel lacks */
        for (int l = 0; fgets(line, sizeof(line), f); l++)
            n_sock += l > 0;
        fclose(f);
    }
    check(a, n_sock == 0, "netns INET sockets", "%d", n_sock);
}

/* "Max file size   262144   262144   bytes": soft and hard of a name. */
static int read_limit(pid_t pid, const char *name, char *soft, char *hard, size_t len)
{
    char path[64], line[256];
    size_t nl = strlen(name);
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        char s[32], h[32];

        if (strncmp(line, name, nl) || line[nl] != ' ')
            continue;
        if (sscanf(line + nl, "%31s %31s", s, h) == 2) {
            snprintf(soft, len, "%s", s);
            snprintf(hard, len, "%s", h);
            rc = 0;
        }
        break;
    }
    fclose(f);
    return rc;
}

static void check_limits(struct audit *a)
{
    static const char *const names[] = {   /* /proc/pid/limits names, launch_rlimits order */
        "Max file size", "Max core file size", "Max msgqueue size", "Max file locks", "Max locked memory",
    };
    char soft[32], hard[32], what[40];

    for (size_t i = 0; i < launch_n_rlimits && i < sizeof(names) / sizeof(names[0]); i++) {
        unsigned long long want = launch_rlimits[i].value;
        bool ok;

        snprintf(what, sizeof(what), "rlimit %s", launch_rlimits[i].name);
        if (read_limit(a->p->pid, names[i], soft, hard, sizeof(soft)) < 0) {
            check(a, false, what, "unreadable");
            continue;
        }
        ok = strcmp(soft, "unlimited") && strcmp(hard, "unlimited") && strtoull(soft, NULL, 10) <= want &&
             strtoull(hard, NULL, 10) <= want;
        check(a, ok, what, "soft %s hard %s (want <= %llu)", soft, hard, want);
    }
}

static unsigned long fd_flags(pid_t pid, const char *fd)
{
    char path[80], line[128];
    unsigned long flags = ~0ul;
    FILE *f;

    if (snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", (int)pid, fd) < 0)
        return flags;
    f = fopen(path, "re");
    if (!f)
        return flags;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "flags:", 6)) {
            flags = strtoul(line + 6, NULL, 8);
            break;
        }
    fclose(f);
    return flags;
}

static bool prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* Why an fd is acceptable, or NULL. */
static const char *fd_verdict(struct audit *a, const char *target, unsigned long flags, char *why, size_t len)
{
    unsigned acc = flags & O_ACCMODE;

    if (prefix(target, "socket:") || prefix(target, "pipe:"))
        return "ipc";
    /* Only the loop's own kernel objects: anything else (inotify, io_uring,
     * userfaultfd, bpf, perf...) is not something the DM opens. */
    if (!strcmp(target, "anon_inode:[eventpoll]") || !strcmp(target, "anon_inode:[signalfd]") ||
        !strcmp(target, "anon_inode:[timerfd]") || !strcmp(target, "anon_inode:[eventfd]"))
        return "event loop object";
    if (!strcmp(target, "/dev/null"))
        return "null";
    if (!strcmp(target, "/dev/ptmx") || prefix(target, "/dev/pts/"))
        return "serial pty";
    if (!strcmp(target, "/dev/xen/privcmd") || !strcmp(target, "/dev/xen/evtchn"))
        return "xen (restricted by the DM)";
    if (prefix(target, "/memfd:"))
        return "guest memory";
    /* the NICs' taps, opened by the toolstack: each the guest's one link,
     * outside the DM's network namespace */
    if (!strcmp(target, "/dev/net/tun")) {
        if (++a->taps <= a->p->taps)
            return "tap, passed by the toolstack";
        snprintf(why, len, "more tap fds than the %d vifs", a->p->taps);
        return NULL;
    }
    if (a->p->log && !strcmp(target, a->p->log)) {
        if (acc == O_WRONLY && (flags & O_APPEND))
            return "log, write-only append";
        snprintf(why, len, "log not write-only O_APPEND (flags %lo)", flags);
        return NULL;
    }
    for (int i = 0; i < a->p->n_files; i++) {
        if (strcmp(target, a->p->files[i].path))
            continue;
        if (!a->p->files[i].readonly)
            return "read-write image/state file";
        if (acc == O_RDONLY)
            return "read-only image";
        snprintf(why, len, "read-only medium open for writing (flags %lo)", flags);
        return NULL;
    }
    snprintf(why, len, "not expected");
    return NULL;
}

static void check_fds(struct audit *a)
{
    char dpath[64], lpath[300], target[PATH_MAX], why[128];
    struct dirent *de;
    int n = 0, bad = 0;
    DIR *d;

    snprintf(dpath, sizeof(dpath), "/proc/%d/fd", (int)a->p->pid);
    d = opendir(dpath);
    if (!d) {
        check(a, false, "open fds", "unreadable: %s", strerror(errno));
        return;
    }
    while ((de = readdir(d))) {
        const char *v;
        ssize_t r;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(lpath, sizeof(lpath), "%s/%.32s", dpath, de->d_name);
        r = readlink(lpath, target, sizeof(target) - 1);
        if (r < 0)
            continue;   /* closed meanwhile */
        target[r] = 0;
        n++;
        v = fd_verdict(a, target, fd_flags(a->p->pid, de->d_name), why, sizeof(why));
        if (!v) {
            bad++;
            fprintf(a->out, "  GAP  fd %-19s %s: %s\n", de->d_name, target, why);
        } else {
            fprintf(a->out, "  info fd %-19s %s (%s)\n", de->d_name, target, v);
        }
    }
    closedir(d);
    check(a, bad == 0, "open fds", "%d open, %d unexpected", n, bad);
}

int audit_run(const struct audit_policy *p, FILE *out)
{
    struct audit a = { .p = p, .out = out };
    char path[64], exe[PATH_MAX] = "?";
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
    if (access(path, R_OK) < 0) {
        fprintf(out, "audit: process %d is gone\n", (int)p->pid);
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
    n = readlink(path, exe, sizeof(exe) - 1);
    if (n > 0)
        exe[n] = 0;
    fprintf(out, "audit of pid %d (%s)\n", (int)p->pid, exe);
    check_ids(&a, "Uid", p->uid);
    check_ids(&a, "Gid", p->gid);
    check_groups(&a);
    check_caps(&a);
    check_nnp_seccomp(&a);
    check_dumpable(&a);
    check_root(&a);
    check_ns(&a, "mnt", true);
    check_ns(&a, "ipc", true);
    check_ns(&a, "uts", true);
    check_ns(&a, "net", p->net_ns);
    if (p->net_ns)
        check_netns_empty(&a);
    check_ns(&a, "pid", false);
    check_limits(&a);
    check_fds(&a);
    fprintf(out, "audit: %d checks, %d gap%s: %s\n", a.checks, a.gaps, a.gaps == 1 ? "" : "s",
            a.gaps ? "FAIL" : "PASS");
    return a.gaps;
}
