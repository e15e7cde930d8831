/* Who the DM becomes: parsing -runas/user= and switching uid/gid. QEMU calls
 * initgroups() after chroot (so the group database it reads is empty); we
 * simply clear the supplementary groups: the per-domid uid has none.
 *
 * A user name is looked up in the passwd file itself, not through NSS: xsdm
 * is linked statically, and a static glibc's getpwnam() loads the system's
 * NSS modules, which must then be the very glibc version it was built with.
 * libxl's DM users (xen-qemuuser-shared, device_model_user=) are local system
 * users; a site that keeps them elsewhere passes "UID:GID". */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "restrict/dm-user.h"
#include "restrict/system.h"

/* Decimal id, no sign, no spaces, below (id_t)-1 (which means "unchanged"). */
static bool parse_id(const char *s, size_t len, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 10)
        return false;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v >= 0xffffffffUL)
        return false;
    *out = v;
    return true;
}

int restrict_lookup_user(const char *passwd_path, const char *name, uid_t *uid_r, gid_t *gid_r)
{
    struct passwd_file_db pf;
    struct uid_pw pw;
    int r;

    passwd_file_db_init(&pf, passwd_path);
    r = pf.db.by_name(pf.db.ctx, name, &pw);
    if (r != 1)
        return r < 0 ? -1 : 1;
    *uid_r = pw.uid;
    *gid_r = pw.gid;
    return 0;
}

int restrict_default_user(const char *passwd_path, int domid, uid_t *uid_r, gid_t *gid_r,
                          char *how, size_t howlen, char *err, size_t errlen)
{
    struct passwd_file_db pf;
    struct dm_user_pick pick;

    passwd_file_db_init(&pf, passwd_path);
    /* libxl's rule (restrict/dm-user.c); qtest runs without -xen-domid:
     * domain 0's slot. Never "no user": the unnamed uid stands in. */
    if (dm_user_pick(&pf.db, domid < 0 ? 0 : domid, true, &pick, err, errlen) != 0)
        return -1;
    /* As for -runas: gid 0 would keep the root group's file access. */
    if (pick.gid == 0) {
        snprintf(err, errlen, "the device model user would be uid %u gid 0 (%s): refusing root's "
                 "group (fix %s / %s in %s)", (unsigned)pick.uid, pick.how, DM_USER_RANGE_BASE,
                 DM_USER_SHARED, passwd_path);
        return -1;
    }
    snprintf(how, howlen, "%s", pick.how);
    *uid_r = pick.uid;
    *gid_r = pick.gid;
    return pick.rule == DM_USER_BY_UNNAMED ? 1 : 0;
}

int restrict_subuid_owner(const char *subuid_path, uid_t uid, char *name, size_t namelen)
{
    char line[512];
    FILE *f = fopen(subuid_path, "re");
    int rc = 1;

    if (!f)
        return errno == ENOENT ? 1 : -1;
    /* name:first:count, one range per line (subuid(5)). */
    while (rc == 1 && fgets(line, sizeof(line), f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *end;
        unsigned long long first, count;

        if (!c2)
            continue;
        errno = 0;
        first = strtoull(c1 + 1, &end, 10);
        if (errno || end != c2)
            continue;
        count = strtoull(c2 + 1, &end, 10);
        if (errno || (*end && *end != '\n'))
            continue;
        if (uid >= first && uid - first < count) {
            snprintf(name, namelen, "%.*s", (int)(c1 - line), line);
            rc = 0;
        }
    }
    if (rc == 1 && ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

int restrict_parse_runas(const char *spec, uid_t *uid_r, gid_t *gid_r, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    unsigned long u, g;
    uid_t pu;
    gid_t pg;

    if (colon && parse_id(spec, (size_t)(colon - spec), &u) &&
        parse_id(colon + 1, strlen(colon + 1), &g)) {
        /* numeric: libxl's per-domid form, no lookup */
    } else if (colon) {
        snprintf(err, errlen, "user '%s': expected UID:GID (decimal) or a user name", spec);
        return -1;
    } else {
        int r = restrict_lookup_user(RESTRICT_PASSWD_FILE, spec, &pu, &pg);

        if (r > 0) {
            snprintf(err, errlen, "user '%s' not found in %s (xsdm reads local users only; "
                     "pass UID:GID for a user kept elsewhere)", spec, RESTRICT_PASSWD_FILE);
            return -1;
        }
        if (r < 0) {
            snprintf(err, errlen, "user '%s': reading %s: %s", spec, RESTRICT_PASSWD_FILE,
                     strerror(errno));
            return -1;
        }
        u = pu;
        g = pg;
    }
    if (u == 0 || g == 0) {
        snprintf(err, errlen, "user '%s' is uid %lu gid %lu: running as root (uid or group) "
                 "restricts nothing", spec, u, g);
        return -1;
    }
    *uid_r = (uid_t)u;
    *gid_r = (gid_t)g;
    return 0;
}

int restrict_set_ids(uid_t uid, gid_t gid)
{
    /* Keep the permitted set across the uid change: step "capabilities"
     * needs CAP_SETPCAP to empty the bounding set, and clears it all. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
        log_err("restrict: identity: PR_SET_KEEPCAPS: %s", strerror(errno));
        return -1;
    }
    /* Groups and gid first: once the uid changes we lose CAP_SETGID. */
    if (setgroups(0, NULL) < 0) {
        log_err("restrict: identity: setgroups: %s", strerror(errno));
        return -1;
    }
    if (setresgid(gid, gid, gid) < 0) {
        log_err("restrict: identity: setresgid(%u): %s", (unsigned)gid, strerror(errno));
        return -1;
    }
    if (setresuid(uid, uid, uid) < 0) {
        log_err("restrict: identity: setresuid(%u): %s", (unsigned)uid, strerror(errno));
        return -1;
    }
    return 0;
}

int restrict_verify_ids(uid_t uid, gid_t gid)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    gid_t groups[1];

    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0) {
        log_err("restrict: identity: getresuid/getresgid: %s", strerror(errno));
        return -1;
    }
    if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
        log_err("restrict: identity: ids are %u/%u/%u:%u/%u/%u, wanted %u:%u",
                (unsigned)ru, (unsigned)eu, (unsigned)su, (unsigned)rg, (unsigned)eg,
                (unsigned)sg, (unsigned)uid, (unsigned)gid);
        return -1;
    }
    if (getgroups(1, groups) != 0) {
        log_err("restrict: identity: supplementary groups remain");
        return -1;
    }
    /* The point of it all: root must be out of reach. */
    if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0) {
        log_err("restrict: identity: regaining uid/gid 0 succeeded");
        return -1;
    }
    return 0;
}
