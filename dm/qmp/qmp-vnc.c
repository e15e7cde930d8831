/* query-vnc and change-vnc-password, as libxl uses them after start-up:
 * query-vnc's host and service go to xenstore (console/vnc-listen,
 * vnc-port) for `xl vncviewer`; change-vnc-password arrives when the
 * config has vncpasswd (then the DM was started with password=on). */
#include "dm/board/dm.h"
#include "dm/display/vnc.h"
#include "dm/qmp/qmp.h"

static int qmp_query_vnc(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();
    json_t *o;

    if (!d || !d->vnc) {
        o = json_pack("{s:b}", "enabled", 0);   /* QEMU's answer with -vnc none */
    } else {
        o = vnc_server_query(d->vnc);
    }
    if (!o) {
        qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
        return -1;
    }
    *ret = o;
    return 0;
}

static int qmp_change_vnc_password(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();
    const char *pw;
    char msg[128];

    if (qmp_arg_str(req, "password", true, &pw, err) < 0)
        return -1;
    /* QEMU's words when VNC is off or has no password authentication. */
    if (!d || !d->vnc) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Could not set password");
        return -1;
    }
    if (vnc_server_set_password(d->vnc, pw, msg, sizeof(msg)) < 0) {
        qmp_error_set(err, QMP_ERR_GENERIC, "%s", msg);
        return -1;
    }
    return 0;
}

static const struct qmp_command vnc_cmds[] = {
    { "query-vnc", qmp_query_vnc, 0 },
    { "change-vnc-password", qmp_change_vnc_password, 0 },
};
QMP_COMMANDS(vnc_cmds)
