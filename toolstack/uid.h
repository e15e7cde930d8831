/* Which user a device model runs as: libxl's rules exactly
 * (libxl-compat.md §1.4), plus an optional per-domid gid, and the reaper
 * uid used to kill by uid (§1.7). Lookups go through a small db interface
 * so tests can supply their own users. */
#ifndef XSDMCTL_UID_H
#define XSDMCTL_UID_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define UID_RANGE_BASE  "xen-qemuuser-range-base"
#define UID_SHARED      "xen-qemuuser-shared"
#define UID_REAPER      "xen-qemuuser-reaper"
#define UID_NAME_MAX    64

struct uid_pw {
    char name[UID_NAME_MAX];
    uid_t uid;
    gid_t gid;
};

/* Each returns 1 found (*out filled), 0 not found, -1 lookup error. */
struct uid_db {
    int (*by_name)(void *ctx, const char *name, struct uid_pw *out);
    int (*by_uid)(void *ctx, uid_t uid, struct uid_pw *out);
    int (*gid_taken)(void *ctx, gid_t gid);    /* 1 if a group has this gid */
    void *ctx;
};

/* NSS (getpwnam/getpwuid/getgrgid), plus, if the environment names one in
 * XSDM_PASSWD_FILE, a passwd-format file consulted after NSS (for tests and
 * the demo on machines without the Xen users; NSS always wins). */
const struct uid_db *uid_db_system(void);

struct dm_user {
    char runas[2 * UID_NAME_MAX];  /* value of -runas: a name or "uid:gid" */
    uid_t uid;
    gid_t gid;
    bool kill_uid;                 /* uid belongs to this domain only: kill by uid */
    bool per_domid_gid;
};

/* Choose as libxl does for domain domid. user = device_model_user or NULL.
 * Returns 0 (out filled), 1 (not restricted and no user: DM stays root,
 * no -runas), -1 (err filled: missing user, uid 0, uid taken...). With
 * per_domid_gid, the gid is range-base's gid + domid and must not be an
 * existing group (only for the range-base rule). */
int uid_choose(const struct uid_db *db, int domid, const char *user, bool dm_restrict,
               bool per_domid_gid, struct dm_user *out, char *err, size_t errlen);

/* The reaper's real uid (libxl__get_reaper_uid): xen-qemuuser-reaper, else
 * range-base, never root; 1 if neither exists (then the caller uses the
 * target uid itself, as libxl does, with a warning), 0 found, -1 error. */
int uid_reaper(const struct uid_db *db, uid_t *reaper, char *err, size_t errlen);

/* Parse "uid:gid" (numeric runas). 0 or -1. */
int uid_parse_numeric(const char *s, uid_t *uid, gid_t *gid);

#endif
