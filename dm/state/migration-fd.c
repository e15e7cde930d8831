/* The DM's own machine through fds: the save fd libxl passes with add-fd,
 * the -incoming fd:M of a restore. The byte moving is in dm/state/migration.c. */
#include "dm/state/migration.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dm/board/dm.h"
#include "dm/core/log.h"

int migration_save_fd(int fd, char *err, size_t errlen)
{
    struct dm *d = dm_get();
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;

    if (migration_save_buf(d ? &d->cfg : NULL, &buf, &len, err, errlen))
        goto out;
    if (migration_write_all(fd, buf, len, err, errlen))
        goto out;
    log_info("device state saved: %zu bytes", len);
    rc = 0;
out:
    free(buf);
    return rc;
}

int migration_load_fd(int fd, char *err, size_t errlen)
{
    struct dm *d = dm_get();
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;

    if (migration_read_all(fd, &buf, &len, err, errlen))
        goto out;
    if (migration_load_buf(d ? &d->cfg : NULL, buf, len, err, errlen))
        goto out;
    log_info("device state loaded: %zu bytes", len);
    rc = 0;
out:
    free(buf);
    return rc;
}

int migration_incoming(struct dm *d, int fd, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char msg[256];
    int rc = -1;

    if (migration_read_all(fd, &buf, &len, msg, sizeof(msg)) ||
        migration_load_buf(&d->cfg, buf, len, msg, sizeof(msg))) {
        snprintf(err, errlen, "-incoming fd:%d: %s", fd, msg);
        goto out;
    }
    d->machine.state = RUN_PAUSED;
    log_info("incoming device state loaded: %zu bytes, machine paused", len);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}
