/* The exchanges are libxl's (§2.3.5, §2.3.7): we open the file ourselves,
 * pass the fd with add-fd on the first byte, and refer to /dev/fdset/N. */
#include "toolstack/ops.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/core/errmsg.h"
#include "toolstack/config.h"

struct qmpc *ops_connect(const struct dom_rec *r, int timeout_ms, char *err, size_t errlen)
{
    char path[STATE_PATH], e[256] = "";
    struct qmpc *c;

    if (!state_proc_alive(r->pid, r->start)) {
        seterr(err, errlen, "domain %d (%s): device model pid %d is not running", r->domid, r->name, (int)r->pid);
        return NULL;
    }
    state_path(path, sizeof(path), "qmp-libxl", r->domid);
    c = qmpc_connect_path(path, 1, timeout_ms, e, sizeof(e));
    if (!c)
        seterr(err, errlen, "domain %d (%s): device model not answering on %s: %s", r->domid, r->name, path, e);
    return c;
}

/* Execute on c; error replies become -1 with class and desc. */
static int exec_cmd(struct qmpc *c, const char *cmd, json_t *args, int fd, json_t **ret, char *err, size_t errlen)
{
    char e[256] = "";
    json_t *res = NULL;
    int rc;

    if (ret)
        *ret = NULL;
    rc = qmpc_execute(c, cmd, args, fd, &res, e, sizeof(e));
    if (rc == 1) {
        seterr(err, errlen, "%s failed: %s: %s", cmd, json_string_value(json_object_get(res, "class")),
               json_string_value(json_object_get(res, "desc")));
        json_decref(res);
        return -1;
    }
    if (rc < 0) {
        seterr(err, errlen, "%s: %s", cmd, e);
        return -1;
    }
    if (ret)
        *ret = res;
    else
        json_decref(res);
    return 0;
}

int ops_command(const struct dom_rec *r, const char *cmd, json_t *args, json_t **ret, char *err, size_t errlen)
{
    struct qmpc *c = ops_connect(r, OPS_TIMEOUT_MS, err, errlen);
    int rc;

    if (!c) {
        json_decref(args);
        return -1;
    }
    rc = exec_cmd(c, cmd, args, -1, ret, err, errlen);
    qmpc_close(c);
    return rc;
}

int ops_status(const struct dom_rec *r, char *buf, size_t len, int timeout_ms, char *err, size_t errlen)
{
    struct qmpc *c = ops_connect(r, timeout_ms, err, errlen);
    json_t *ret = NULL;
    int rc;

    if (!c)
        return -1;
    rc = exec_cmd(c, "query-status", NULL, -1, &ret, err, errlen);
    if (rc == 0) {
        const char *s = json_string_value(json_object_get(ret, "status"));

        if (!s) {
            seterr(err, errlen, "query-status reply without status");
            rc = -1;
        } else {
            snprintf(buf, len, "%s", s);
        }
    }
    json_decref(ret);
    qmpc_close(c);
    return rc;
}

static int cd_id(const char *vdev, char *id, size_t len, char *err, size_t errlen)
{
    int devnum;

    if (xlcfg_vdev_index(vdev, &devnum) < 0) {
        seterr(err, errlen, "bad virtual device '%s': want an IDE CD-ROM vdev hda..hdd", vdev ? vdev : "");
        return -1;
    }
    snprintf(id, len, "ide-%d", devnum);
    return 0;
}

int ops_cd_eject(struct dom_rec *r, const char *vdev, FILE *out, char *err, size_t errlen)
{
    struct qmpc *c = NULL;
    char id[32];
    int rc = -1;

    if (cd_id(vdev, id, sizeof(id), err, errlen) < 0)
        return -1;
    c = ops_connect(r, OPS_TIMEOUT_MS, err, errlen);
    if (!c)
        return -1;
    if (exec_cmd(c, "query-version", NULL, -1, NULL, err, errlen) < 0 ||
        exec_cmd(c, "eject", json_pack("{s:s}", "id", id), -1, NULL, err, errlen) < 0)
        goto out;
    if (out)
        fprintf(out, "ejected the medium of %s (%s)\n", vdev, id);
    rc = 0;
out:
    qmpc_close(c);
    return rc;
}

int ops_cd_insert(struct dom_rec *r, const char *vdev, const char *file, FILE *out, char *err, size_t errlen)
{
    char id[32], real[PATH_MAX], opaque[PATH_MAX + 8], fdset[32];
    struct qmpc *c = NULL;
    json_t *ret = NULL;
    struct stat st;
    int fd = -1, rc = -1;
    json_int_t set;

    if (cd_id(vdev, id, sizeof(id), err, errlen) < 0)
        return -1;
    /* we open it, as root, before the DM ever sees it: the DM only gets a
     * read-only fd, never a path */
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        seterr(err, errlen, "cannot read ISO %s: %s", file, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        seterr(err, errlen, "ISO %s is not a regular file or block device", file);
        goto out;
    }
    if (!realpath(file, real)) {
        seterr(err, errlen, "cannot resolve %s: %s", file, strerror(errno));
        goto out;
    }
    c = ops_connect(r, OPS_TIMEOUT_MS, err, errlen);
    if (!c)
        goto out;
    snprintf(opaque, sizeof(opaque), "raw:%s", real);
    if (exec_cmd(c, "query-version", NULL, -1, NULL, err, errlen) < 0 ||
        exec_cmd(c, "eject", json_pack("{s:s}", "id", id), -1, NULL, err, errlen) < 0 ||
        exec_cmd(c, "add-fd", json_pack("{s:s}", "opaque", opaque), fd, &ret, err, errlen) < 0)
        goto out;
    if (!json_is_integer(json_object_get(ret, "fdset-id"))) {
        seterr(err, errlen, "add-fd reply without an integer fdset-id");
        goto out;
    }
    set = json_integer_value(json_object_get(ret, "fdset-id"));
    snprintf(fdset, sizeof(fdset), "/dev/fdset/%lld", (long long)set);
    if (exec_cmd(c, "blockdev-change-medium", json_pack("{s:s, s:s, s:s}", "id", id, "filename", fdset,
                                                        "format", "raw"), -1, NULL, err, errlen) < 0)
        goto out;
    state_add_file(r, real, true);
    if (out)
        fprintf(out, "inserted %s into %s (%s) as %s (fd passed by SCM_RIGHTS, DM fd %lld)\n", real, vdev, id,
                fdset, (long long)json_integer_value(json_object_get(ret, "fd")));
    rc = 0;
out:
    json_decref(ret);
    qmpc_close(c);
    if (fd >= 0)
        close(fd);
    return rc;
}

int ops_save(struct dom_rec *r, const char *file, FILE *out, char *err, size_t errlen)
{
    char real[PATH_MAX], fdset[32];
    struct qmpc *c = NULL;
    json_t *ret = NULL;
    struct stat st;
    int fd = -1, rc = -1;
    bool existed;

    c = ops_connect(r, OPS_TIMEOUT_MS, err, errlen);
    if (!c)
        return -1;
    existed = access(file, F_OK) == 0;
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        seterr(err, errlen, "cannot create state file %s: %s", file, strerror(errno));
        goto out;
    }
    if (!realpath(file, real)) {
        seterr(err, errlen, "cannot resolve %s: %s", file, strerror(errno));
        goto out;
    }
    if (exec_cmd(c, "stop", NULL, -1, NULL, err, errlen) < 0 ||
        exec_cmd(c, "add-fd", NULL, fd, &ret, err, errlen) < 0)
        goto out;
    if (!json_is_integer(json_object_get(ret, "fdset-id"))) {
        seterr(err, errlen, "add-fd reply without an integer fdset-id");
        goto out;
    }
    snprintf(fdset, sizeof(fdset), "/dev/fdset/%lld", (long long)json_integer_value(json_object_get(ret, "fdset-id")));
    if (exec_cmd(c, "xen-save-devices-state", json_pack("{s:s, s:b}", "filename", fdset, "live", 0), -1, NULL,
                 err, errlen) < 0)
        goto out;
    state_add_file(r, real, false);
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        seterr(err, errlen, "the device model wrote no state to %s", real);
        goto out;
    }
    if (out)
        fprintf(out, "saved device state of domain %d to %s: %lld bytes via %s; the DM stays paused\n",
                r->domid, real, (long long)st.st_size, fdset);
    rc = 0;
out:
    json_decref(ret);
    qmpc_close(c);
    if (fd >= 0)
        close(fd);
    if (rc < 0 && fd >= 0 && !existed)
        unlink(file);       /* a half-written state file we made is no state to restore */
    return rc;
}
