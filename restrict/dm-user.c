/* libxl's per-domain device model user (restrict/dm-user.h), and the
 * passwd(5) file reader for the side that has no NSS. */
#include "restrict/dm-user.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "dm/core/errmsg.h"

int uid_pw_from_passwd(const struct passwd *pw, struct uid_pw *out)
{
    if (strlen(pw->pw_name) >= sizeof(out->name)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(out->name, sizeof(out->name), "%s", pw->pw_name);
    out->uid = pw->pw_uid;
    out->gid = pw->pw_gid;
    return 1;
}

/* The first entry called name (name != NULL) or else with this uid.
 * fgetpwent() skips lines it cannot parse and returns NULL at the end or on
 * a read error (ferror tells them apart). */
static int passwd_file_find(const char *path, const char *name, uid_t uid, struct uid_pw *out)
{
    struct passwd *pw;
    FILE *f = fopen(path, "re");
    int rc = 0, saved;

    if (!f)
        return -1;
    errno = 0;
    while ((pw = fgetpwent(f)) != NULL) {
        if (name ? strcmp(pw->pw_name, name) == 0 : pw->pw_uid == uid) {
            rc = uid_pw_from_passwd(pw, out);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = -1;
    saved = errno;
    fclose(f);
    errno = saved;
    return rc;
}

static int pf_by_name(void *ctx, const char *name, struct uid_pw *out)
{
    const struct passwd_file_db *pf = ctx;

    return passwd_file_find(pf->path, name, 0, out);
}

static int pf_by_uid(void *ctx, uid_t uid, struct uid_pw *out)
{
    const struct passwd_file_db *pf = ctx;

    return passwd_file_find(pf->path, NULL, uid, out);
}

void passwd_file_db_init(struct passwd_file_db *pf, const char *path)
{
    memset(pf, 0, sizeof(*pf));
    pf->path = path;
    pf->db.by_name = pf_by_name;
    pf->db.by_uid = pf_by_uid;
    pf->db.ctx = pf;
    pf->db.where = path;
}

int dm_user_lookup_failed(const struct uid_db *db, const char *what, char *err, size_t errlen)
{
    int e = errno;

    seterr(err, errlen, "user database lookup of %s%s%s failed%s%s", what, db->where ? " in " : "",
           db->where ? db->where : "", e ? ": " : "", e ? strerror(e) : "");
    return -1;
}

/* errno is cleared first so that a database that fails without saying why
 * is not blamed on an older error. */
static int by_name(const struct uid_db *db, const char *name, struct uid_pw *out)
{
    errno = 0;
    return db->by_name(db->ctx, name, out);
}

int dm_user_pick(const struct uid_db *db, int domid, bool unnamed_fallback, struct dm_user_pick *out,
                 char *err, size_t errlen)
{
    struct uid_pw pw, owner;
    unsigned long long uid;
    int r;

    memset(out, 0, sizeof(*out));
    if (domid < 0 || domid >= DM_USER_DOMID_END) {
        seterr(err, errlen, "domain id %d is out of range", domid);
        return -1;
    }
    r = by_name(db, DM_USER_RANGE_BASE, &pw);
    if (r < 0)
        return dm_user_lookup_failed(db, DM_USER_RANGE_BASE, err, errlen);
    if (r == 1) {
        out->rule = DM_USER_BY_RANGE;
        uid = (unsigned long long)pw.uid + (unsigned long long)domid;
        out->gid = pw.gid;
        snprintf(out->how, sizeof(out->how), "%s (uid %u) + domid %d, libxl's dm_restrict rule",
                 DM_USER_RANGE_BASE, (unsigned)pw.uid, domid);
    } else if ((r = by_name(db, DM_USER_SHARED, &pw)) == 1) {
        out->rule = DM_USER_BY_SHARED;
        uid = pw.uid;
        out->gid = pw.gid;
        snprintf(out->name, sizeof(out->name), "%s", pw.name);
        snprintf(out->how, sizeof(out->how), "%s, libxl's fallback (shared by every such DM)",
                 DM_USER_SHARED);
    } else if (r < 0) {
        return dm_user_lookup_failed(db, DM_USER_SHARED, err, errlen);
    } else if (!unnamed_fallback) {
        return 1;
    } else {
        /* The uid libxl's documented setup would give, with a group of its
         * own: it owns no file and no other process. */
        out->rule = DM_USER_BY_UNNAMED;
        uid = DM_USER_UNNAMED_BASE + (unsigned long long)domid;
        out->gid = (gid_t)uid;
        snprintf(out->how, sizeof(out->how), "no %s or %s in %s: unnamed uid %llu = %u + domid %d",
                 DM_USER_RANGE_BASE, DM_USER_SHARED, db->where ? db->where : "the user database", uid,
                 DM_USER_UNNAMED_BASE, domid);
    }
    /* (uid_t)-1 is "unchanged" to setresuid(): it would keep root. */
    if (uid == 0 || uid >= (uid_t)-1) {
        seterr(err, errlen, "the device model user of domain %d would be uid %llu (%s): refusing %s",
               domid, uid, out->how, uid ? "a uid that does not fit" : "to run the device model as root");
        goto refuse;
    }
    /* A computed uid must be nobody's (libxl refuses it too): that user's
     * processes could signal the DM, and its files would be the DM's. */
    if (out->rule != DM_USER_BY_SHARED) {
        errno = 0;
        r = db->by_uid(db->ctx, (uid_t)uid, &owner);
        if (r < 0) {
            dm_user_lookup_failed(db, "a uid", err, errlen);
            goto refuse;
        }
        if (r == 1) {
            seterr(err, errlen, "the device model uid of domain %d would be %llu (%s), but that is user "
                   "'%s': give %s a range of its own", domid, uid, out->how, owner.name, DM_USER_RANGE_BASE);
            goto refuse;
        }
    }
    out->uid = (uid_t)uid;
    return 0;
refuse:
    memset(out, 0, sizeof(*out));
    return -1;
}
