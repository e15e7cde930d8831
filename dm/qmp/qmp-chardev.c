/* query-chardev: every character backend and monitor, in QEMU's shape.
 * libxl needs "label" on every element and "filename" on serial<N> ones. */
#include "dm/core/chardev.h"
#include "dm/qmp/qmp.h"

static int qmp_query_chardev(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    json_t *list = chardev_query();

    if (!list) {
        qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
        return -1;
    }
    *ret = list;
    return 0;
}

static const struct qmp_command chardev_cmds[] = {
    { "query-chardev", qmp_query_chardev, 0 },
};
QMP_COMMANDS(chardev_cmds)
