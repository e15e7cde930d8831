/* A writable file image behind a loop block device (docs/restriction.md,
 * "Disk writes and RLIMIT_FSIZE"). Privileged, before restriction only:
 * the restricted DM keeps 256 KiB of RLIMIT_FSIZE for what it writes to
 * regular files itself (log, save stream), and the kernel does not apply
 * that limit to writes to a block device. */
#ifndef XSDM_BLOCK_LOOP_H
#define XSDM_BLOCK_LOOP_H

#include <stdbool.h>
#include <stddef.h>

/* Attach file_fd (open O_RDWR) to a free loop device with autoclear (the
 * device goes away with the DM's last fd on it) and, where the file system
 * allows it, direct I/O (no second copy in the page cache). Returns an
 * O_RDWR fd of the loop device (file_fd stays the caller's), or -1 with a
 * message. *dio_r says whether direct I/O is on. */
int block_loop_attach(int file_fd, bool *dio_r, char *err, size_t errlen);

#endif
