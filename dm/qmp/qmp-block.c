/* Media over QMP, as libxl and libxenstat use them: eject,
 * blockdev-change-medium (and the pre-2.8 "change"), query-block and
 * query-blockstats, in QEMU 7.2's shapes. A new medium is opened through
 * dm_open(): once restricted, only "/dev/fdset/N" (add-fd) works. */
#include <string.h>

#include "dm/board/dm.h"
#include "dm/qmp/qmp.h"
#include "dm/storage/block.h"
#include "dm/storage/ide.h"

static struct ide_ctrl *controller(void)
{
    struct dm *d = dm_get();

    return d ? d->machine.ide : NULL;
}

/* QEMU's qmp_get_blk(): exactly one of device (backend name) and id (the
 * device's id); both name the drive id here, as libxl gives them. */
static struct ide_drive *lookup(struct qmp_request *req, const char *dev_key, struct qmp_error *err)
{
    const char *dev = NULL, *id = NULL;
    struct ide_drive *d;

    if (qmp_arg_str(req, dev_key, false, &dev, err) < 0 || qmp_arg_str(req, "id", false, &id, err) < 0)
        return NULL;
    if (!dev == !id) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Need exactly one of '%s' and 'id'", dev_key);
        return NULL;
    }
    d = ide_find_drive(controller(), dev ? dev : id);
    if (!d)
        qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%s' not found", dev ? dev : id);
    return d;
}

static int open_tray_error(struct ide_drive *d, int rc, struct qmp_error *err)
{
    if (rc == -1)
        qmp_error_set(err, QMP_ERR_GENERIC, "Device '%s' is not removable", d->id);
    else
        qmp_error_set(err, QMP_ERR_GENERIC, "Device '%s' is locked and force was not specified, "
                      "wait for tray to open and try again", d->id);
    return -1;
}

static int qmp_eject(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct ide_drive *d = lookup(req, "device", err);
    bool force = false;
    int rc;

    if (!d || qmp_arg_bool(req, "force", false, &force, err) < 0)
        return -1;
    rc = ide_media_eject(d, force);
    return rc < 0 ? open_tray_error(d, rc, err) : 0;
}

static int change_medium(struct ide_drive *d, const char *filename, const char *format,
                         const char *ro_mode, bool force, struct qmp_error *err)
{
    struct dm *dm = dm_get();
    struct block *blk;
    char msg[384];

    if (ro_mode && strcmp(ro_mode, "retain") && strcmp(ro_mode, "read-only") &&
        strcmp(ro_mode, "read-write")) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'read-only-mode' does not accept value '%s'", ro_mode);
        return -1;
    }
    if (!d->s->cdrom)
        return open_tray_error(d, -1, err);
    if (ro_mode && !strcmp(ro_mode, "read-write")) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Device '%s' is a CD-ROM: its media are read-only", d->id);
        return -1;
    }
    if (d->s->locked && !force) {
        d->s->event = MEV_EJECT_REQUEST;
        return open_tray_error(d, -2, err);
    }
    blk = block_open(filename, format, true, dm ? dm->restricted : false, msg, sizeof(msg));
    if (!blk) {
        qmp_error_set(err, QMP_ERR_GENERIC, "%s", msg);
        return -1;
    }
    d->s->locked = 0;
    if (ide_media_insert(d, blk) < 0)
        return open_tray_error(d, -1, err);
    return 0;
}

static int qmp_blockdev_change_medium(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct ide_drive *d = lookup(req, "device", err);
    const char *filename = NULL, *format = NULL, *ro_mode = NULL;
    bool force = false;

    if (!d || qmp_arg_str(req, "filename", true, &filename, err) < 0 ||
        qmp_arg_str(req, "format", false, &format, err) < 0 ||
        qmp_arg_str(req, "read-only-mode", false, &ro_mode, err) < 0 ||
        qmp_arg_bool(req, "force", false, &force, err) < 0)
        return -1;
    return change_medium(d, filename, format, ro_mode, force, err);
}

/* The pre-2.8 form libxl uses against old QEMUs: change {device, target, arg}. */
static int qmp_change(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    const char *dev = NULL, *target = NULL, *arg = NULL;
    struct ide_drive *d;

    if (qmp_arg_str(req, "device", true, &dev, err) < 0 || qmp_arg_str(req, "target", true, &target, err) < 0 ||
        qmp_arg_str(req, "arg", false, &arg, err) < 0)
        return -1;
    if (!strcmp(dev, "vnc")) {
        qmp_error_set(err, QMP_ERR_GENERIC, "There is no VNC server in this device model");
        return -1;
    }
    d = ide_find_drive(controller(), dev);
    if (!d) {
        qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%s' not found", dev);
        return -1;
    }
    return change_medium(d, target, arg, NULL, false, err);
}

/* ---- queries ---------------------------------------------------------- */

static json_t *inserted_info(const struct ide_drive *d)
{
    const struct block *b = d->blk;
    char node[32];

    snprintf(node, sizeof(node), "#block%u", b->node);
    return json_pack("{s:s,s:s,s:b,s:s,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I,"
                     "s:{s:b,s:b,s:b},s:{s:s,s:s,s:I,s:b}}",
                     "file", b->filename, "node-name", node, "ro", b->readonly, "drv", "raw",
                     "encrypted", 0, "detect_zeroes", "off",
                     "bps", (json_int_t)0, "bps_rd", (json_int_t)0, "bps_wr", (json_int_t)0,
                     "iops", (json_int_t)0, "iops_rd", (json_int_t)0, "iops_wr", (json_int_t)0,
                     "backing_file_depth", 0, "write_threshold", (json_int_t)0,
                     "cache", "writeback", 1, "direct", 0, "no-flush", 0,
                     "image", "filename", b->filename, "format", "raw",
                     "virtual-size", (json_int_t)b->size, "dirty-flag", 0);
}

static int qmp_query_block(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct ide_ctrl *ide = controller();
    json_t *list = json_array();

    for (int i = 0; list && i < CFG_MAX_DRIVES; i++) {
        struct ide_drive *d = ide_drive_at(ide, i);
        json_t *o;

        if (!d || !d->s->present)
            continue;
        o = json_pack("{s:s,s:s,s:b,s:b,s:s,s:s}", "device", d->id, "qdev", d->id,
                      "locked", d->s->locked, "removable", d->s->cdrom, "io-status", "ok",
                      "type", "unknown");
        if (o && d->s->cdrom)
            json_object_set_new(o, "tray_open", json_boolean(d->s->tray_open));
        if (o && d->blk)
            json_object_set_new(o, "inserted", inserted_info(d));
        if (o)
            json_array_append_new(list, o);
    }
    if (!list) {
        qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
        return -1;
    }
    *ret = list;
    return 0;
}

static json_t *stats_json(const struct block_stats *s)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                          "rd_bytes", (json_int_t)s->rd_bytes, "wr_bytes", (json_int_t)s->wr_bytes,
                          "unmap_bytes", (json_int_t)0,
                          "rd_operations", (json_int_t)s->rd_ops, "wr_operations", (json_int_t)s->wr_ops,
                          "flush_operations", (json_int_t)s->flush_ops, "unmap_operations", (json_int_t)0,
                          "rd_total_time_ns", (json_int_t)s->rd_ns, "wr_total_time_ns", (json_int_t)s->wr_ns,
                          "flush_total_time_ns", (json_int_t)s->flush_ns,
                          "unmap_total_time_ns", (json_int_t)0,
                          "wr_highest_offset", (json_int_t)s->wr_highest);
    json_t *more = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:[]}",
                             "rd_merged", (json_int_t)0, "wr_merged", (json_int_t)0,
                             "unmap_merged", (json_int_t)0,
                             "failed_rd_operations", (json_int_t)s->failed_rd,
                             "failed_wr_operations", (json_int_t)s->failed_wr,
                             "failed_flush_operations", (json_int_t)s->failed_flush,
                             "failed_unmap_operations", (json_int_t)0,
                             "invalid_rd_operations", (json_int_t)s->invalid_rd,
                             "invalid_wr_operations", (json_int_t)s->invalid_wr,
                             "invalid_flush_operations", (json_int_t)0,
                             "invalid_unmap_operations", (json_int_t)0,
                             "account_invalid", 1, "account_failed", 1, "timed_stats");

    if (!o || !more) {
        json_decref(o);
        json_decref(more);
        return NULL;
    }
    json_object_update(o, more);
    json_decref(more);
    return o;
}

static int qmp_query_blockstats(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct ide_ctrl *ide = controller();
    json_t *list = json_array();

    for (int i = 0; list && i < CFG_MAX_DRIVES; i++) {
        struct ide_drive *d = ide_drive_at(ide, i);
        struct block_stats st;
        json_t *o, *stats;

        if (!d || !d->s->present)
            continue;
        st = d->retired;
        if (d->blk)
            block_stats_add(&st, &d->blk->st);
        stats = stats_json(&st);
        o = stats ? json_pack("{s:s,s:s,s:o}", "device", d->id, "qdev", d->id, "stats", stats) : NULL;
        if (o && d->blk) {
            char node[32];

            snprintf(node, sizeof(node), "#block%u", d->blk->node);
            json_object_set_new(o, "node-name", json_string(node));
        }
        if (o)
            json_array_append_new(list, o);
    }
    if (!list) {
        qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
        return -1;
    }
    *ret = list;
    return 0;
}

static const struct qmp_command block_cmds[] = {
    { "eject", qmp_eject, 0 },
    { "blockdev-change-medium", qmp_blockdev_change_medium, 0 },
    { "change", qmp_change, 0 },
    { "query-block", qmp_query_block, 0 },
    { "query-blockstats", qmp_query_blockstats, 0 },
};
QMP_COMMANDS(block_cmds)
