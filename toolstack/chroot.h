/* The per-domid chroot directory ($RUN/qemu-root-D, libxl-compat.md §1.5):
 * created mode 0000 owned by root before start, refused if a previous DM
 * left anything in it, and removed after destroy (libxl never removes it). */
#ifndef XSDMCTL_CHROOT_H
#define XSDMCTL_CHROOT_H

#include <stddef.h>

int chroot_dir_path(const char *run_dir, int domid, char *buf, size_t len);
/* Remove a leftover empty dir, then mkdir(0000). -1 with err if the path
 * is busy (not empty), not a directory, or cannot be made. */
int chroot_dir_prepare(const char *path, char *err, size_t errlen);
/* Verify: a real directory, owner root, mode 0000, empty. 0 or -1 + err. */
int chroot_dir_check(const char *path, char *err, size_t errlen);
/* rmdir after destroy; a missing dir is fine; -1 + err if not empty. */
int chroot_dir_remove(const char *path, char *err, size_t errlen);

#endif
