/* The OS side of each restriction step: one function per system change,
 * taking plain values rather than a restrict_ctx, so that restrict/steps.c
 * only sequences them and tests can call each one alone (in a child).
 * Each returns 0 or -1 after logging what failed and why. */
#ifndef XSDM_RESTRICT_SYSTEM_H
#define XSDM_RESTRICT_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "restrict/dm-user.h"

#define RESTRICT_PASSWD_FILE "/etc/passwd"

/* The user a DM started without -runas becomes (libvirt, xl without
 * dm_restrict): libxl's per-domain rule (dm_user_pick(), restrict/dm-user.h)
 * read from passwd_path, with the unnamed uid = gid = DM_USER_UNNAMED_BASE
 * + domid as the last resort; gid 0 is refused too. how says which rule
 * applied. 0 (libxl's rule), 1 (the unnamed fallback), or -1 with err
 * filled. */
#define RESTRICT_FALLBACK_UID_BASE DM_USER_UNNAMED_BASE
int restrict_default_user(const char *passwd_path, int domid, uid_t *uid_r, gid_t *gid_r,
                          char *how, size_t howlen, char *err, size_t errlen);

/* "-runas"/"user=" value: "UID:GID" (decimal, as libxl builds it for the
 * per-domid range) or a user name looked up in RESTRICT_PASSWD_FILE (call
 * before chroot). uid 0 and gid 0 are refused. 0, or -1 with err filled. */
int restrict_parse_runas(const char *spec, uid_t *uid_r, gid_t *gid_r, char *err, size_t errlen);

/* The user called name in a passwd(5) file, without NSS (see identity.c).
 * 0 found, 1 no such user, -1 the file could not be read, or the entry's
 * name is longer than DM_USER_NAME_MAX (errno). */
int restrict_lookup_user(const char *passwd_path, const char *name, uid_t *uid_r, gid_t *gid_r);

/* Close every fd not in keep[] (any order, duplicates and negatives
 * ignored) with close_range() over the gaps. *max_fd_r = highest kept fd. */
int restrict_close_fds_except(const int *keep, int n, int *max_fd_r);

/* chroot(dir) and chdir("/"); if check, "/" must then be the inode
 * (dev, ino) that restrict_prepare() saw at dir. */
int restrict_chroot(const char *dir, bool check, dev_t dev, ino_t ino);

/* Whose subordinate uid range (subuid(5)) holds uid: processes in that
 * user's user namespaces may run as uid on the host and signal the DM.
 * 0 found (name copied), 1 none (or no file), -1 unreadable. */
#define RESTRICT_SUBUID_FILE "/etc/subuid"
int restrict_subuid_owner(const char *subuid_path, uid_t uid, char *name, size_t namelen);

/* An empty root that leaves nothing on the host: a new mount (and IPC)
 * namespace, every mount private, an empty read-only tmpfs mounted on
 * RESTRICT_EMPTY_ROOT_AT inside it, pivot_root into it, the old root
 * detached. Gone with the DM's namespace when the DM exits. */
#define RESTRICT_EMPTY_ROOT_AT "/tmp"
int restrict_empty_root(void);

/* Empty supplementary groups, then gid, then uid (real, effective, saved),
 * keeping the permitted capabilities (PR_SET_KEEPCAPS) so that the next step
 * can still empty the bounding set. */
int restrict_set_ids(uid_t uid, gid_t gid);

/* The process is uid/gid everywhere, has no groups, and setresuid(0,0,0)
 * and setresgid(0,0,0) fail. */
int restrict_verify_ids(uid_t uid, gid_t gid);

/* Effective, permitted, inheritable, ambient and bounding sets empty
 * (libcap-ng), verified by reading them back; keep-caps off. */
int restrict_drop_caps(void);

/* PR_SET_NO_NEW_PRIVS (required by seccomp without CAP_SYS_ADMIN, and
 * makes any exec gain nothing) and PR_SET_DUMPABLE 0 (no core, no ptrace
 * by the uid's other processes, /proc/PID owned by root). */
int restrict_no_new_privs(void);

#endif
