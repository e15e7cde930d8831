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
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "dm/core/log.h"
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
    struct passwd *pw;
    FILE *f = NULL;
    int rc = 1;

    f = fopen(passwd_path, "re");
    if (!f) {
        rc = -1;
        goto out;
    }
    /* fgetpwent() skips lines it cannot parse and returns NULL at the end
     * (errno ENOENT) or on a read error. */
    errno = 0;
    while ((pw = fgetpwent(f)) != NULL) {
        if (strcmp(pw->pw_name, name) == 0) {
            *uid_r = pw->pw_uid;
            *gid_r = pw->pw_gid;
            rc = 0;
            goto out;
        }
    }
    if (ferror(f))
        rc = -1;
out:
    if (f) {
        int saved = errno;

        fclose(f);
        errno = saved;
    }
    return rc;
}

/* The name of the user with this uid in a passwd(5) file: 0 found (name
 * copied), 1 none, -1 unreadable. libxl refuses a per-domid uid that is
 * somebody's: so do we. */
static int lookup_uid(const char *passwd_path, uid_t uid, char *name, size_t namelen)
{
    struct passwd *pw;
    FILE *f = fopen(passwd_path, "re");
    int rc = 1;

    if (!f)
        return -1;
    errno = 0;
    while ((pw = fgetpwent(f)) != NULL) {
        if (pw->pw_uid == uid) {
            snprintf(name, namelen, "%s", pw->pw_name);
            rc = 0;
            break;
        }
    }
    if (rc && ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

int restrict_default_user(const char *passwd_path, int domid, uid_t *uid_r, gid_t *gid_r,
                          char *how, size_t howlen, char *err, size_t errlen)
{
    char other[64];
    bool shared = false, fallback = false;
    uid_t base;
    gid_t g;
    unsigned long u;
    int r;

    /* qtest runs without -xen-domid; domain ids end below 0x7ff0. */
    if (domid < 0)
        domid = 0;
    if (domid >= 0x7ff0) {
        snprintf(err, errlen, "domain id %d is out of range", domid);
        return -1;
    }
    r = restrict_lookup_user(passwd_path, RESTRICT_RANGE_BASE_USER, &base, &g);
    if (r < 0)
        goto unreadable;
    if (r == 0) {
        u = (unsigned long)base + (unsigned long)domid;
        snprintf(how, howlen, "%s (uid %u) + domid %d, libxl's dm_restrict rule",
                 RESTRICT_RANGE_BASE_USER, (unsigned)base, domid);
    } else if ((r = restrict_lookup_user(passwd_path, RESTRICT_SHARED_USER, &base, &g)) == 0) {
        u = base;
        shared = true;
        snprintf(how, howlen, "%s, libxl's fallback (shared by every such DM)", RESTRICT_SHARED_USER);
    } else if (r < 0) {
        goto unreadable;
    } else {
        /* Neither user exists: the uid libxl's documented setup would give
         * (range base 131072), with a group of its own. It owns no file and
         * no other process; the empty root gives it nothing to reach. */
        u = RESTRICT_FALLBACK_UID_BASE + (unsigned long)domid;
        g = (gid_t)u;
        fallback = true;
        snprintf(how, howlen, "no %s or %s in %s: unnamed uid %lu = %u + domid %d",
                 RESTRICT_RANGE_BASE_USER, RESTRICT_SHARED_USER, passwd_path, u,
                 RESTRICT_FALLBACK_UID_BASE, domid);
    }
    if (u == 0 || g == 0 || u >= 0xffffffffUL) {
        snprintf(err, errlen, "the device model user would be uid %lu gid %u: refusing root "
                 "(fix %s / %s in %s)", u, (unsigned)g, RESTRICT_RANGE_BASE_USER,
                 RESTRICT_SHARED_USER, passwd_path);
        return -1;
    }
    if (!shared) {
        r = lookup_uid(passwd_path, (uid_t)u, other, sizeof(other));
        if (r < 0)
            goto unreadable;
        if (r == 0) {
            snprintf(err, errlen, "the device model uid for domain %d would be %lu, but that is "
                     "user '%s' in %s: move %s, or pass -runas UID:GID", domid, u, other,
                     passwd_path, RESTRICT_RANGE_BASE_USER);
            return -1;
        }
    }
    *uid_r = (uid_t)u;
    *gid_r = g;
    return fallback ? 1 : 0;
unreadable:
    snprintf(err, errlen, "reading %s: %s", passwd_path, strerror(errno));
    return -1;
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
