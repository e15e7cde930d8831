/* A DM's device state through a restart (see qtest_restore.h). */
#include "tests/lib/qtest_restore.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "toolstack/qmp-client.h"

/* Weak: the fuzz targets link this library without the toolstack code;
 * every test that talks QMP links toolstack/qmp-client.c. */
#pragma weak qmpc_execute
#pragma weak qmpc_close

#define MAX_ARGS 64

/* cmd must succeed: 0 with *ret (caller frees), or -1 with err filled. */
static int qmp_run(struct qmpc *c, const char *cmd, json_t *args, int fd, json_t **ret, char *err, size_t errlen)
{
    int r = qmpc_execute(c, cmd, args, fd, ret, err, errlen);

    if (r == 1) {
        snprintf(err, errlen, "%s: %s", cmd, json_string_value(json_object_get(*ret, "desc")));
        json_decref(*ret);
        *ret = NULL;
    }
    return r == 0 ? 0 : -1;
}

/* Save the device state into the file fd through c; 0, or -1 with err. */
static int save_state(struct qmpc *c, int fd, char *err, size_t errlen)
{
    char fdset[32];
    json_t *ret = NULL;

    if (qmp_run(c, "add-fd", NULL, fd, &ret, err, errlen) < 0)
        return -1;
    snprintf(fdset, sizeof(fdset), "/dev/fdset/%lld", (long long)json_integer_value(json_object_get(ret, "fdset-id")));
    json_decref(ret);
    ret = NULL;
    if (qmp_run(c, "xen-save-devices-state", json_pack("{s:s, s:b}", "filename", fdset, "live", 0), -1, &ret, err,
                errlen) < 0)
        return -1;
    json_decref(ret);
    return 0;
}

struct qtest *qtest_save_restart(struct qtest *s, struct qmpc *c, const struct qtest_opts *o, char *err,
                                 size_t errlen)
{
    char path[] = "/tmp/xsdm-state-XXXXXX", incoming[32];
    const char *args[MAX_ARGS];
    struct qtest_opts restart = *o;
    struct qtest *n = NULL;
    size_t na = 0;
    int fd = -1, saved = -1;

    if (!qmpc_execute || !qmpc_close) {
        snprintf(err, errlen, "no QMP client linked");
        goto out;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        snprintf(err, errlen, "mkstemp: cannot make the state file");
        goto out;
    }
    saved = save_state(c, fd, err, errlen);
    close(fd);
    fd = saved == 0 ? open(path, O_RDONLY) : -1;
    unlink(path);
    if (saved == 0 && fd < 0)
        snprintf(err, errlen, "%s: cannot read the saved state", path);
out:
    if (c && qmpc_close)
        qmpc_close(c);
    qtest_quit(s);
    if (fd < 0)
        return NULL;
    for (; o->args && o->args[na] && na < MAX_ARGS - 3; na++)
        args[na] = o->args[na];
    snprintf(incoming, sizeof(incoming), "fd:%d", fd);
    args[na++] = "-incoming";
    args[na++] = incoming;
    args[na] = NULL;
    restart.args = args;
    restart.extra_fd = fd;
    restart.paused = true;
    n = qtest_start(&restart);
    close(fd);
    if (!n)
        snprintf(err, errlen, "the DM did not start from the saved state");
    return n;
}
