/* Which user a domain's device model runs as, by libxl's per-domain rule
 * (libxl-compat.md §1.4 steps 3-5; docs/restriction.md "The per-domain
 * user"). One implementation for both sides: xsdm started without -runas
 * (restrict_default_user(), restrict/identity.c) and xsdmctl building
 * -runas (uid_choose(), toolstack/uid.c). What differs between them stays
 * with each caller: the user database (xsdm reads /etc/passwd itself, a
 * static binary has no NSS; xsdmctl asks NSS), domid 0 (qtest's DM has
 * none), device_model_user, the per-domid gid, gid 0, and whether the
 * unnamed uid may stand in when no named user exists (xsdm only). */
#ifndef XSDM_RESTRICT_DM_USER_H
#define XSDM_RESTRICT_DM_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* libxl's device model users (libxl_internal.h). */
#define DM_USER_RANGE_BASE "xen-qemuuser-range-base"
#define DM_USER_SHARED     "xen-qemuuser-shared"
/* xsdm's last resort: the uid base libxl's documentation (and our bed)
 * gives xen-qemuuser-range-base. */
#define DM_USER_UNNAMED_BASE 131072u
/* DOMID_FIRST_RESERVED: domain ids end below it. */
#define DM_USER_DOMID_END 0x7ff0
#define DM_USER_NAME_MAX  64

struct uid_pw {
    char name[DM_USER_NAME_MAX];
    uid_t uid;
    gid_t gid;
};

/* Each returns 1 found (*out filled), 0 not found, -1 lookup error (errno
 * says why, or 0). where names the database in messages (NULL: "the user
 * database"). */
struct uid_db {
    int (*by_name)(void *ctx, const char *name, struct uid_pw *out);
    int (*by_uid)(void *ctx, uid_t uid, struct uid_pw *out);
    int (*gid_taken)(void *ctx, gid_t gid);    /* 1 if a group has this gid; may be NULL */
    void *ctx;
    const char *where;
};

struct passwd;
/* *out from a passwd entry: 1, or -1 (ENAMETOOLONG) if the name does not fit. */
int uid_pw_from_passwd(const struct passwd *pw, struct uid_pw *out);

/* A passwd(5) file as a uid_db, read with fgetpwent() at each lookup (no
 * NSS). An entry whose name does not fit uid_pw is a lookup error
 * (ENAMETOOLONG), never a truncated name. */
struct passwd_file_db {
    struct uid_db db;
    const char *path;
};
void passwd_file_db_init(struct passwd_file_db *pf, const char *path);

enum dm_user_rule {
    DM_USER_BY_RANGE,       /* range-base's uid + domid, its gid: this domain's own uid */
    DM_USER_BY_SHARED,      /* xen-qemuuser-shared: one uid for every such DM */
    DM_USER_BY_UNNAMED,     /* uid = gid = DM_USER_UNNAMED_BASE + domid, no passwd entry */
};

struct dm_user_pick {
    enum dm_user_rule rule;
    uid_t uid;
    gid_t gid;
    char name[DM_USER_NAME_MAX];   /* BY_SHARED: the user's name; else "" */
    char how[192];                 /* which rule gave it, for the log */
};

/* The rule for domain domid (0 <= domid < DM_USER_DOMID_END): range-base +
 * domid; else the shared user; else, if unnamed_fallback, the unnamed uid.
 * A computed uid (range, unnamed) that is some user's, or that does not fit
 * a uid, is refused; uid 0 is always refused.
 * 0 (*out filled), 1 (neither user exists and !unnamed_fallback: nothing
 * picked, the caller says what to do), -1 (err filled). */
int dm_user_pick(const struct uid_db *db, int domid, bool unnamed_fallback, struct dm_user_pick *out,
                 char *err, size_t errlen);

/* The one message for a failed lookup of what in db (uses errno); -1. */
int dm_user_lookup_failed(const struct uid_db *db, const char *what, char *err, size_t errlen);

#endif
