/* Into the empty, mode-0000 per-domid directory libxl made; or, when the
 * toolstack made none (libvirt, xl without dm_restrict), into an empty
 * read-only tmpfs that only the DM's own mount namespace ever sees. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "restrict/system.h"

int restrict_chroot(const char *dir, bool check, dev_t dev, ino_t ino)
{
    struct stat st;

    if (chroot(dir) < 0) {
        log_err("restrict: chroot: chroot(%s): %s", dir, strerror(errno));
        return -1;
    }
    /* Without chdir the cwd would still be outside the new root. */
    if (chdir("/") < 0) {
        log_err("restrict: chroot: chdir(/): %s", strerror(errno));
        return -1;
    }
    /* The directory must not have been swapped between prepare and now. */
    if (check && (stat("/", &st) < 0 || st.st_dev != dev || st.st_ino != ino)) {
        log_err("restrict: chroot: %s is no longer the directory seen at startup", dir);
        return -1;
    }
    return 0;
}

int restrict_empty_root(void)
{
    const unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

    /* IPC too, as libxl does under dm_restrict: no System V objects shared
     * with the host. */
    if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0) {
        log_err("restrict: chroot: unshare(mount, ipc namespaces): %s", strerror(errno));
        return -1;
    }
    /* Nothing done below may propagate back into the host's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        log_err("restrict: chroot: making every mount private: %s", strerror(errno));
        return -1;
    }
    /* Mode 0000 like libxl's directory: the DM can not even list it. */
    if (mount("xsdm-empty-root", RESTRICT_EMPTY_ROOT_AT, "tmpfs", fl, "size=4k,nr_inodes=2,mode=0") < 0) {
        log_err("restrict: chroot: tmpfs on %s: %s", RESTRICT_EMPTY_ROOT_AT, strerror(errno));
        return -1;
    }
    if (chdir(RESTRICT_EMPTY_ROOT_AT) < 0) {
        log_err("restrict: chroot: chdir(%s): %s", RESTRICT_EMPTY_ROOT_AT, strerror(errno));
        return -1;
    }
    /* pivot_root(".", ".") stacks the old root on the new one; detaching it
     * then leaves the tmpfs as the namespace's only mount, so no path of
     * the host remains, not even through "..". No directory is needed for
     * the old root, which the read-only tmpfs could not hold. */
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
        log_err("restrict: chroot: pivot_root: %s", strerror(errno));
        return -1;
    }
    if (umount2(".", MNT_DETACH) < 0) {
        log_err("restrict: chroot: detaching the host's root: %s", strerror(errno));
        return -1;
    }
    if (chdir("/") < 0) {
        log_err("restrict: chroot: chdir(/): %s", strerror(errno));
        return -1;
    }
    return 0;
}
