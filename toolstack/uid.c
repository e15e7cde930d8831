/* libxl__domain_get_device_model_uid and libxl__get_reaper_uid, rewritten
 * from the rules in libxl-compat.md §1.4/§1.7. */
#include "toolstack/uid.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/errmsg.h"

/* The XSDM_PASSWD_FILE file, by name (name != NULL) or by uid. */
static int file_lookup(const char *name, uid_t uid, struct uid_pw *out)
{
    const char *path = getenv("XSDM_PASSWD_FILE");
    struct passwd_file_db pf;

    if (!path || !*path)
        return 0;
    passwd_file_db_init(&pf, path);
    return name ? pf.db.by_name(pf.db.ctx, name, out) : pf.db.by_uid(pf.db.ctx, uid, out);
}

static int sys_by_name(void *ctx, const char *name, struct uid_pw *out)
{
    struct passwd pwb, *pw = NULL;
    char buf[4096];
    int r;

    r = getpwnam_r(name, &pwb, buf, sizeof(buf), &pw);
    if (r && r != ENOENT && r != ESRCH) {
        errno = r;
        return -1;
    }
    if (pw)
        return uid_pw_from_passwd(pw, out);
    return file_lookup(name, 0, out);
}

static int sys_by_uid(void *ctx, uid_t uid, struct uid_pw *out)
{
    struct passwd pwb, *pw = NULL;
    char buf[4096];
    int r;

    r = getpwuid_r(uid, &pwb, buf, sizeof(buf), &pw);
    if (r && r != ENOENT && r != ESRCH) {
        errno = r;
        return -1;
    }
    if (pw)
        return uid_pw_from_passwd(pw, out);
    return file_lookup(NULL, uid, out);
}

static int sys_gid_taken(void *ctx, gid_t gid)
{
    struct group grb, *gr = NULL;
    char buf[8192];
    int r;

    r = getgrgid_r(gid, &grb, buf, sizeof(buf), &gr);
    if (r && r != ENOENT && r != ESRCH) {
        errno = r;
        return -1;
    }
    return gr != NULL;
}

static const struct uid_db system_db = {
    .by_name = sys_by_name,
    .by_uid = sys_by_uid,
    .gid_taken = sys_gid_taken,
    .where = "NSS",
};

const struct uid_db *uid_db_system(void)
{
    return &system_db;
}

int uid_parse_numeric(const char *s, uid_t *uid, gid_t *gid)
{
    unsigned long u, g;
    char *end;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    u = strtoul(s, &end, 10);
    if (errno || *end != ':' || end[1] < '0' || end[1] > '9' || u >= UINT_MAX)
        return -1;
    g = strtoul(end + 1, &end, 10);
    if (errno || *end || g >= UINT_MAX)
        return -1;
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

int uid_choose(const struct uid_db *db, int domid, const char *user, bool dm_restrict,
               bool per_domid_gid, struct dm_user *out, char *err, size_t errlen)
{
    struct dm_user_pick pick;
    struct uid_pw pw;
    int r;

    memset(out, 0, sizeof(*out));
    if (domid <= 0 || domid >= DM_USER_DOMID_END) {
        seterr(err, errlen, "invalid domid %d for a device model", domid);
        return -1;
    }

    /* 1. device_model_user= wins, restricted or not */
    if (user && *user) {
        errno = 0;
        r = db->by_name(db->ctx, user, &pw);
        if (r < 0)
            return dm_user_lookup_failed(db, user, err, errlen);
        if (r == 0) {
            seterr(err, errlen, "device_model_user '%s' does not exist", user);
            return -1;
        }
        if (per_domid_gid) {
            seterr(err, errlen, "a per-domid gid needs the %s rule, not device_model_user", UID_RANGE_BASE);
            return -1;
        }
        if (pw.uid == 0) {
            seterr(err, errlen, "device model user '%s' is uid 0: refusing to run the device model as root",
                   pw.name);
            return -1;
        }
        snprintf(out->runas, sizeof(out->runas), "%s", pw.name);
        out->uid = pw.uid;
        out->gid = pw.gid;
        out->kill_uid = true;
        return 0;
    }

    /* 2. not restricted: the DM stays root */
    if (!dm_restrict)
        return 1;

    /* 3.-5. range base + domid, else the shared user: the DM's own rule */
    r = dm_user_pick(db, domid, false, &pick, err, errlen);
    if (r < 0)
        return -1;
    if (r == 1) {
        seterr(err, errlen, "could not find user %s or %s (or set device_model_user): cannot restrict "
               "the device model", UID_RANGE_BASE, UID_SHARED);
        return -1;
    }
    out->uid = pick.uid;
    out->gid = pick.gid;
    if (pick.rule == DM_USER_BY_SHARED) {
        /* one shared user: no kill by uid (it would hit every domain) */
        if (per_domid_gid) {
            seterr(err, errlen, "a per-domid gid needs the %s user, found only %s", UID_RANGE_BASE, UID_SHARED);
            goto refuse;
        }
        snprintf(out->runas, sizeof(out->runas), "%s", pick.name);
        return 0;
    }
    if (per_domid_gid) {
        unsigned long long g = (unsigned long long)pick.gid + (unsigned long long)domid;

        if (g >= (unsigned long long)UINT_MAX || g == 0) {
            seterr(err, errlen, "per-domid gid %llu out of range", g);
            goto refuse;
        }
        errno = 0;
        r = db->gid_taken ? db->gid_taken(db->ctx, (gid_t)g) : 0;
        if (r < 0) {
            dm_user_lookup_failed(db, "a gid", err, errlen);
            goto refuse;
        }
        if (r == 1) {
            seterr(err, errlen, "wanted to use gid %llu (%s gid + %d) but that group exists",
                   g, UID_RANGE_BASE, domid);
            goto refuse;
        }
        out->gid = (gid_t)g;
        out->per_domid_gid = true;
    }
    /* numeric: the DM needs no user database entry for it */
    snprintf(out->runas, sizeof(out->runas), "%u:%u", (unsigned)out->uid, (unsigned)out->gid);
    out->kill_uid = true;
    return 0;
refuse:
    memset(out, 0, sizeof(*out));
    return -1;
}

int uid_reaper(const struct uid_db *db, uid_t *reaper, char *err, size_t errlen)
{
    static const char *const names[] = { UID_REAPER, UID_RANGE_BASE };
    struct uid_pw pw;
    int r;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        errno = 0;
        r = db->by_name(db->ctx, names[i], &pw);
        if (r < 0)
            return dm_user_lookup_failed(db, names[i], err, errlen);
        if (r == 1) {
            if (pw.uid == 0) {
                seterr(err, errlen, "reaper user %s is uid 0: refusing", names[i]);
                return -1;
            }
            *reaper = pw.uid;
            return 0;
        }
    }
    return 1;
}
