/* Which user a device model runs as: libxl's rules exactly
 * (libxl-compat.md §1.4): device_model_user, then the per-domain rule
 * shared with the DM (restrict/dm-user.c), plus an optional per-domid gid,
 * and the reaper uid used to kill by uid (§1.7). Lookups go through a small
 * db interface so tests can supply their own users. */
#ifndef XSDMCTL_UID_H
#define XSDMCTL_UID_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "restrict/dm-user.h"

/* struct uid_pw and struct uid_db (the lookup interface) are the shared
 * rule's, restrict/dm-user.h. */
#define UID_RANGE_BASE  DM_USER_RANGE_BASE
#define UID_SHARED      DM_USER_SHARED
#define UID_REAPER      "xen-qemuuser-reaper"
#define UID_NAME_MAX    DM_USER_NAME_MAX

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
