/* QMP commands of save/restore: xen-save-devices-state,
 * xen-load-devices-state, xen-set-global-dirty-log
 * (docs/libxl-compat.md §2.3.5, §3.6). Files are only ever opened
 * through dm_open(): once restricted that means "/dev/fdset/N" only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm/board/dm.h"
#include "dm/core/fdset.h"
#include "dm/core/log.h"
#include "dm/qmp/qmp.h"
#include "dm/state/migration.h"

/* The state must start at byte 0 of an empty file: a longer old file would
 * leave trailing garbage the loader rightly refuses. Not O_TRUNC at open:
 * that would make dm_open() fail on a pipe or socket. Only lseek is needed
 * in the usual case (libxl's fresh, empty file); ftruncate only when stale
 * bytes are there. A pipe or socket (ESPIPE) is written as is. */
static int rewind_file(int fd, char *err, size_t errlen)
{
    off_t end = lseek(fd, 0, SEEK_END);

    if (end < 0)
        return 0;
    if ((end > 0 && ftruncate(fd, 0)) || lseek(fd, 0, SEEK_SET) < 0) {
        snprintf(err, errlen, "cannot truncate the state file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int no_machine(struct dm *d, const char *cmd, struct qmp_error *err)
{
    if (d)
        return 0;
    qmp_error_set(err, QMP_ERR_GENERIC, "%s: no machine", cmd);
    return -1;
}

/* QEMU refuses arguments a command does not declare. */
static int only_args(const struct qmp_request *req, const char *cmd, const char *const *allowed,
                     struct qmp_error *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(req->args, k, v) {
        const char *const *a;

        for (a = allowed; *a && strcmp(*a, k); a++)
            ;
        if (!*a) {
            qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is unexpected", k);
            return -1;
        }
    }
    return 0;
}

/* {"filename": str, "live": bool?}. Like QEMU: stop if running, save, and
 * resume only if it was running on entry (libxl stops first, so it stays
 * stopped). Any failure is a GenericError; the DM keeps running and the
 * guest can still be resumed with cont. */
static int qmp_xen_save_devices_state(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "filename", "live", NULL };
    struct dm *d = dm_get();
    const char *filename = NULL;
    bool live = true, was_running;
    char msg[256];
    int fd = -1, rc = -1;

    if (no_machine(d, "xen-save-devices-state", err) ||
        only_args(req, "xen-save-devices-state", allowed, err) ||
        qmp_arg_str(req, "filename", true, &filename, err) ||
        qmp_arg_bool(req, "live", false, &live, err))
        return -1;
    /* live: QEMU inactivates its block layer here; raw images written with
     * pwrite hold no cache of ours, so there is nothing to do for it. */
    (void)live;
    was_running = d->machine.state == RUN_RUNNING;
    if (was_running)
        dm_stop(d);
    fd = dm_open(filename, O_WRONLY | O_CREAT, d->restricted, msg, sizeof(msg));
    if (fd < 0) {
        qmp_error_set(err, QMP_ERR_GENERIC, "xen-save-devices-state: %s", msg);
        goto out;
    }
    if (rewind_file(fd, msg, sizeof(msg)) || migration_save_fd(fd, msg, sizeof(msg))) {
        qmp_error_set(err, QMP_ERR_GENERIC, "xen-save-devices-state: %s: %s", filename, msg);
        log_err("xen-save-devices-state: %s: %s", filename, msg);
        goto out;
    }
    rc = 0;
out:
    dm_close(fd);
    if (was_running)
        dm_cont(d);
    *ret = NULL;
    return rc;
}

/* {"filename": str}: only while stopped (QEMU refuses a running VM). The
 * whole stream is validated in staging first: an error leaves every device
 * and the run state as they were. */
static int qmp_xen_load_devices_state(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "filename", NULL };
    struct dm *d = dm_get();
    const char *filename = NULL;
    char msg[256];
    int fd = -1, rc = -1;

    if (no_machine(d, "xen-load-devices-state", err) ||
        only_args(req, "xen-load-devices-state", allowed, err) ||
        qmp_arg_str(req, "filename", true, &filename, err))
        return -1;
    if (d->machine.state == RUN_RUNNING) {
        qmp_error_set(err, QMP_ERR_GENERIC,
                      "xen-load-devices-state: cannot update device state while the VM is running");
        return -1;
    }
    fd = dm_open(filename, O_RDONLY, d->restricted, msg, sizeof(msg));
    if (fd < 0) {
        qmp_error_set(err, QMP_ERR_GENERIC, "xen-load-devices-state: %s", msg);
        goto out;
    }
    if (migration_load_fd(fd, msg, sizeof(msg))) {
        qmp_error_set(err, QMP_ERR_GENERIC, "xen-load-devices-state: %s: %s", filename, msg);
        log_err("xen-load-devices-state: %s: %s", filename, msg);
        goto out;
    }
    rc = 0;
out:
    dm_close(fd);
    *ret = NULL;
    return rc;
}

/* {"enable": bool}: while on, the accelerator reports every DMA write into
 * guest RAM (Xen: xendevicemodel_modified_memory) so live migration loses
 * no page. Accelerators without dirty tracking (qtest) just record it. */
static int qmp_xen_set_global_dirty_log(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "enable", NULL };
    struct dm *d = dm_get();
    struct accel *a;
    bool enable = false;

    if (no_machine(d, "xen-set-global-dirty-log", err) ||
        only_args(req, "xen-set-global-dirty-log", allowed, err) ||
        qmp_arg_bool(req, "enable", true, &enable, err))
        return -1;
    a = &d->accel;
    if (a->ops && a->ops->set_dirty_log && a->ops->set_dirty_log(a, enable)) {
        qmp_error_set(err, QMP_ERR_GENERIC, "xen-set-global-dirty-log: cannot %s dirty logging",
                      enable ? "enable" : "disable");
        return -1;
    }
    a->dirty_log = enable;
    *ret = NULL;
    return 0;
}

static const struct qmp_command migration_cmds[] = {
    { "xen-save-devices-state", qmp_xen_save_devices_state, 0 },
    { "xen-load-devices-state", qmp_xen_load_devices_state, 0 },
    { "xen-set-global-dirty-log", qmp_xen_set_global_dirty_log, 0 },
};
QMP_COMMANDS(migration_cmds)
