/* Kill every process of a uid, as libxl's destroy does (libxl-compat.md
 * §1.7) but repeated until /proc shows none left, and run before every
 * start as well as after every destroy. */
#ifndef XSDMCTL_REAPER_H
#define XSDMCTL_REAPER_H

#include <stddef.h>
#include <sys/types.h>

/* A child takes flock(lock_path), setresuid(reaper, target, 0) (so the
 * target's processes cannot signal it back) and kill(-1, SIGKILL)s until no
 * live process of target is left, within timeout_ms. Returns 0, or -1 with
 * err (lock, setresuid, or processes still alive at the bound). */
int reaper_kill_uid(const char *lock_path, uid_t reaper, uid_t target, int timeout_ms,
                    char *err, size_t errlen);

/* Live (not zombie) processes with any of real/effective/saved/fs uid ==
 * uid, not counting pid exclude. -1 if /proc cannot be read. */
int reaper_count_uid(uid_t uid, pid_t exclude);

#endif
