/* Chroot dir lifecycle. Paths are never followed: lstat and O_NOFOLLOW, so
 * a symlink planted in the run dir cannot redirect us. */
#include "toolstack/chroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/core/errmsg.h"

int chroot_dir_path(const char *run_dir, int domid, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/qemu-root-%d", run_dir, domid);

    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* Number of entries other than . and .., -1 on error. */
static int count_entries(const char *path)
{
    struct dirent *de;
    DIR *d;
    int fd, n = 0;

    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int remove_if_empty(const char *path, const char *when, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        seterr(err, errlen, "chroot dir %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "chroot dir %s exists and is not a directory: refusing to %s", path, when);
        return -1;
    }
    if (rmdir(path) == 0 || errno == ENOENT)
        return 0;
    if (errno == ENOTEMPTY || errno == EEXIST) {
        seterr(err, errlen, "chroot dir %s is busy: it holds %d entries left by an earlier device model; "
               "refusing to %s (inspect and remove it)", path, count_entries(path), when);
        return -1;
    }
    seterr(err, errlen, "cannot remove chroot dir %s: %s", path, strerror(errno));
    return -1;
}

int chroot_dir_check(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int n;

    if (lstat(path, &st) < 0) {
        seterr(err, errlen, "chroot dir %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 07777) != 0) {
        seterr(err, errlen, "chroot dir %s: want a root-owned directory of mode 0000, found mode %04o uid %u",
               path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
        return -1;
    }
    n = count_entries(path);
    if (n != 0) {
        seterr(err, errlen, "chroot dir %s is %s", path, n < 0 ? "unreadable" : "not empty");
        return -1;
    }
    return 0;
}

int chroot_dir_prepare(const char *path, char *err, size_t errlen)
{
    int r, fd = -1;

    if (remove_if_empty(path, "start the device model", err, errlen) < 0)
        return -1;
    do
        r = mkdir(path, 0000);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        seterr(err, errlen, "cannot create chroot dir %s: %s", path, strerror(errno));
        return -1;
    }
    /* mkdir is subject to umask, 0000 needs no chmod, but be explicit
     * about ownership in case the run dir has setgid semantics. Through an
     * O_NOFOLLOW fd: a symlink swapped in after mkdir is never followed. */
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, 0000) < 0) {
        seterr(err, errlen, "cannot set up chroot dir %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        rmdir(path);
        return -1;
    }
    close(fd);
    if (chroot_dir_check(path, err, errlen) < 0) {
        rmdir(path);
        return -1;
    }
    return 0;
}

int chroot_dir_remove(const char *path, char *err, size_t errlen)
{
    return remove_if_empty(path, "remove it", err, errlen);
}
