/* fd sets, as QEMU's add-fd/remove-fd/query-fdsets define them, and the one
 * way the DM opens a file: before restriction a path, after restriction only
 * "/dev/fdset/N". */
#ifndef XSDM_FDSET_H
#define XSDM_FDSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FDSET_MAX_SETS   16
#define FDSET_MAX_FDS    8     /* per set */
#define FDSET_MAX_DUPS   16    /* /dev/fdset/N duplicates in use at once (media, a state file) */

/* Take ownership of fd. fdset_id < 0: allocate the lowest free id. Returns
 * 0 and the ids, or -1 with a message (set full, fd invalid...). */
int fdset_add(int fdset_id, int fd, const char *opaque, int *fdset_id_r, int *fd_r,
              char *err, size_t errlen);
/* fd < 0: remove the whole set. Returns 0 or -1 with a message. */
int fdset_remove(int fdset_id, int fd, char *err, size_t errlen);
json_t *fdset_query(void);
/* Every fd held (close-fds keep-list). Returns how many were written. */
int fdset_all_fds(int *fds, int max);
void fdset_clear(void);

/* Lifetime (QEMU's rule; libxl never sends remove-fd): a set remembers the
 * duplicates dm_open() handed out. When no QMP client is connected, a set
 * with no duplicate in use closes its fds and disappears; this runs when the
 * last client disconnects and whenever a duplicate is released. */
void fdset_monitor_connected(void);
void fdset_monitor_disconnected(void);      /* the last one runs fdset_cleanup() */
void fdset_cleanup(void);
/* Forget the duplicate fd (the caller closes it) and clean its set up.
 * Returns 0, or -1 if fd was not handed out from a set. */
int fdset_dup_release(int fd);
/* Duplicates of set N in use, or -1 if there is no set N. */
int fdset_dups_in_use(int fdset_id);

/* path "/dev/fdset/N": return a duplicate (CLOEXEC) of an fd in set N whose
 * access mode allows accmode (O_RDONLY/O_WRONLY/O_RDWR): a read-only request
 * may use an O_RDWR fd, not the reverse. Other paths: open() them, unless
 * `restricted`, then refuse. Returns the fd or -1 with a message. Close it
 * with dm_close(). */
int dm_open(const char *path, int flags, bool restricted, char *err, size_t errlen);
/* Close what dm_open() returned (releasing a set's duplicate first). */
void dm_close(int fd);

#endif
