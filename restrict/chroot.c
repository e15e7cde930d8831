/* Into the empty, mode-0000 per-domid directory libxl made. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/log.h"
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
