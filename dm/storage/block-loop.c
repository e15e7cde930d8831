/* Loop devices for writable file images (dm/storage/block-loop.h). */
#include "dm/storage/block-loop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LOOP_CONTROL  "/dev/loop-control"
#define LOOP_TRIES    8         /* another process may take the free device first */

/* LOOP_CONFIGURE (Linux 5.8) sets the file, the flags and the size in one
 * call, so nobody can see the device half configured. */
static int configure(int loop_fd, int file_fd, __u32 flags)
{
    struct loop_config lc;

    memset(&lc, 0, sizeof(lc));
    lc.fd = (__u32)file_fd;
    lc.info.lo_flags = flags;
    return ioctl(loop_fd, LOOP_CONFIGURE, &lc);
}

int block_loop_attach(int file_fd, bool *dio_r, char *err, size_t errlen)
{
    struct loop_info64 info;
    char path[32];
    int ctl = -1, fd = -1, rc = -1, tries, n, r;

    *dio_r = false;
    ctl = open(LOOP_CONTROL, O_RDWR | O_CLOEXEC);
    if (ctl < 0) {
        snprintf(err, errlen, "%s: %s", LOOP_CONTROL, strerror(errno));
        goto out;
    }
    for (tries = 0; tries < LOOP_TRIES; tries++) {
        n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) {
            snprintf(err, errlen, "%s: no free loop device: %s", LOOP_CONTROL, strerror(errno));
            goto out;
        }
        snprintf(path, sizeof(path), "/dev/loop%d", n);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        r = configure(fd, file_fd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
        /* A file system without O_DIRECT (tmpfs) refuses direct I/O. */
        if (r < 0 && errno == EINVAL)
            r = configure(fd, file_fd, LO_FLAGS_AUTOCLEAR);
        if (r == 0)
            break;
        snprintf(err, errlen, "%s: LOOP_CONFIGURE: %s", path, strerror(errno));
        close(fd);
        fd = -1;
        if (errno != EBUSY)
            goto out;
    }
    if (fd < 0)
        goto out;
    if (ioctl(fd, LOOP_GET_STATUS64, &info) == 0)
        *dio_r = (info.lo_flags & LO_FLAGS_DIRECT_IO) != 0;
    rc = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    if (ctl >= 0)
        close(ctl);
    return rc;
}
