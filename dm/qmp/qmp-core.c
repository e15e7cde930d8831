/* The core QMP commands: negotiation, version, run state, quit, fd sets,
 * the command-line capability probe and vCPUs. Reply and error shapes follow
 * QEMU 7.2 (captured on the real-Xen bed, docs/libxl-compat.md §2.3); docs/qmp.md
 * lists them. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm/board/dm.h"
#include "dm/core/fdset.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/qmp/qmp-version.h"
#include "dm/qmp/qmp.h"

/* QEMU refuses arguments a command does not declare. */
static int args_only(const struct qmp_request *req, const char *const *allowed, struct qmp_error *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(req->args, k, v) {
        const char *const *a;

        for (a = allowed; *a; a++)
            if (!strcmp(*a, k))
                break;
        if (!*a) {
            qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is unexpected", k);
            return -1;
        }
    }
    return 0;
}

static const char *const no_args[] = { NULL };

static int cmd_qmp_capabilities(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "enable", NULL };
    json_t *en, *v;
    size_t i;

    if (args_only(req, allowed, err) < 0)
        return -1;
    en = json_object_get(req->args, "enable");
    if (!en)
        return 0;
    if (!json_is_array(en)) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Invalid parameter type for 'enable', expected: array");
        return -1;
    }
    /* The greeting offers no capability, so any request is refused. */
    json_array_foreach(en, i, v) {
        if (!json_is_string(v)) {
            qmp_error_set(err, QMP_ERR_GENERIC, "Invalid parameter type for 'enable[%zu]', expected: string", i);
            return -1;
        }
        if (!strcmp(json_string_value(v), "oob"))
            qmp_error_set(err, QMP_ERR_GENERIC, "Capability oob not available");
        else
            qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'enable[%zu]' does not accept value '%.64s'", i,
                          json_string_value(v));
        return -1;
    }
    return 0;
}

static int cmd_query_version(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    if (args_only(req, no_args, err) < 0)
        return -1;
    *ret = qmp_version_json();
    return 0;
}

static const char *run_state_name(enum run_state st)
{
    switch (st) {
    case RUN_PRELAUNCH: return "prelaunch";
    case RUN_RUNNING: return "running";
    case RUN_PAUSED: return "paused";
    case RUN_INMIGRATE: return "inmigrate";
    case RUN_SHUTDOWN: return "shutdown";
    }
    return "debug";
}

static int cmd_query_status(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();
    enum run_state st = d ? d->machine.state : RUN_PRELAUNCH;

    if (args_only(req, no_args, err) < 0)
        return -1;
    *ret = json_pack("{s:s,s:b,s:b}", "status", run_state_name(st), "singlestep", 0, "running",
                     st == RUN_RUNNING);
    return 0;
}

static int cmd_stop(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();

    if (args_only(req, no_args, err) < 0)
        return -1;
    if (d)
        dm_stop(d);
    return 0;
}

static int cmd_cont(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();

    if (args_only(req, no_args, err) < 0)
        return -1;
    if (d && d->machine.state == RUN_SHUTDOWN) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Resetting the Virtual Machine is required");
        return -1;
    }
    if (d)
        dm_cont(d);
    return 0;
}

/* QEMU order: SHUTDOWN event, the reply, then the process ends (main flushes
 * the reply when the loop returns). */
static int cmd_quit(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();

    if (args_only(req, no_args, err) < 0)
        return -1;
    qmp_event("SHUTDOWN", json_pack("{s:b,s:s}", "guest", 0, "reason", "host-qmp-quit"));
    if (d) {
        d->quit_requested = true;
        if (d->loop)
            loop_quit(d->loop, 0);
    }
    return 0;
}

static int cmd_system_reset(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();

    if (args_only(req, no_args, err) < 0)
        return -1;
    if (d)
        dm_reset(d);
    qmp_event("RESET", json_pack("{s:b,s:s}", "guest", 0, "reason", "host-qmp-system-reset"));
    return 0;
}

static int cmd_add_fd(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "fdset-id", "opaque", NULL };
    long long id = -1;
    const char *opaque = NULL;
    char msg[256];
    int i, set_r, fd_r;

    if (args_only(req, allowed, err) < 0 || qmp_arg_int(req, "fdset-id", false, &id, err) < 0 ||
        qmp_arg_str(req, "opaque", false, &opaque, err) < 0)
        return -1;
    if (json_object_get(req->args, "fdset-id") && (id < 0 || id > 0x7fffffff)) {
        qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'fdset-id' expects a non-negative value");
        return -1;
    }
    for (i = 0; i < req->n_fds; i++)
        if (req->fds[i] >= 0)
            break;
    if (i == req->n_fds) {
        qmp_error_set(err, QMP_ERR_GENERIC, "No file descriptor supplied via SCM_RIGHTS");
        return -1;
    }
    if (fdset_add((int)id, req->fds[i], opaque, &set_r, &fd_r, msg, sizeof(msg)) < 0) {
        qmp_error_set(err, QMP_ERR_GENERIC, "%s", msg);
        return -1;
    }
    req->fds[i] = -1;           /* the fd set owns it now */
    *ret = json_pack("{s:i,s:i}", "fd", fd_r, "fdset-id", set_r);     /* QEMU's member order */
    return 0;
}

static int cmd_remove_fd(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "fdset-id", "fd", NULL };
    long long id = -1, fd = -1;
    char msg[256];

    if (args_only(req, allowed, err) < 0 || qmp_arg_int(req, "fdset-id", true, &id, err) < 0 ||
        qmp_arg_int(req, "fd", false, &fd, err) < 0)
        return -1;
    if (id < 0 || id > 0x7fffffff || fd < -1 || fd > 0x7fffffff ||
        (json_object_get(req->args, "fd") && fd < 0)) {
        if (json_object_get(req->args, "fd"))
            qmp_error_set(err, QMP_ERR_GENERIC, "File descriptor named 'fdset-id:%lld, fd:%lld' not found", id, fd);
        else
            qmp_error_set(err, QMP_ERR_GENERIC, "File descriptor named 'fdset-id:%lld' not found", id);
        return -1;
    }
    if (fdset_remove((int)id, (int)fd, msg, sizeof(msg)) < 0) {
        qmp_error_set(err, QMP_ERR_GENERIC, "%s", msg);
        return -1;
    }
    return 0;
}

static int cmd_query_fdsets(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    if (args_only(req, no_args, err) < 0)
        return -1;
    *ret = fdset_query();
    return 0;
}

/* What query-command-line-options reports: the options xsdm accepts with the
 * parameters they take. libxl (master) probes for run-with/chroot and
 * run-with/user to choose between -run-with and -chroot/-runas. */
struct cl_param {
    const char *name, *type;
};
struct cl_option {
    const char *option;
    struct cl_param params[12];
};

static const struct cl_option cl_options[] = {
    { "accel", { { "accel", "string" } } },
    { "boot", { { "order", "string" } } },
    { "chardev", { { "backend", "string" }, { "id", "string" }, { "path", "string" }, { "fd", "string" },
                   { "server", "boolean" }, { "wait", "boolean" }, { "append", "boolean" } } },
    { "drive", { { "file", "string" }, { "if", "string" }, { "index", "number" }, { "media", "string" },
                 { "format", "string" }, { "cache", "string" }, { "readonly", "boolean" }, { "id", "string" } } },
    { "device", { } },
    { "incoming", { } },
    { "machine", { { "type", "string" }, { "accel", "string" }, { "suppress-vmdesc", "boolean" },
                   { "max-ram-below-4g", "size" } } },
    { "memory", { { "size", "size" } } },
    { "mon", { { "chardev", "string" }, { "mode", "string" } } },
    { "name", { { "guest", "string" } } },
    { "qtest", { } },
    { "run-with", { { "chroot", "string" }, { "user", "string" } } },
    { "sandbox", { { "enable", "boolean" }, { "obsolete", "string" }, { "elevateprivileges", "string" },
                   { "spawn", "string" }, { "resourcecontrol", "string" } } },
    { "serial", { } },
    { "smp-opts", { { "cpus", "number" }, { "maxcpus", "number" } } },
};

static json_t *cl_option_json(const struct cl_option *o)
{
    json_t *params = json_array();
    const struct cl_param *p;

    for (p = o->params; p < o->params + 12 && p->name; p++)
        json_array_append_new(params, json_pack("{s:s,s:s}", "name", p->name, "type", p->type));
    return json_pack("{s:s,s:o}", "option", o->option, "parameters", params);
}

static int cmd_query_command_line_options(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    static const char *const allowed[] = { "option", NULL };
    const char *want = NULL;
    json_t *list;
    size_t i;

    if (args_only(req, allowed, err) < 0 || qmp_arg_str(req, "option", false, &want, err) < 0)
        return -1;
    list = json_array();
    for (i = 0; i < sizeof(cl_options) / sizeof(cl_options[0]); i++)
        if (!want || !strcmp(want, cl_options[i].option))
            json_array_append_new(list, cl_option_json(&cl_options[i]));
    if (want && !json_array_size(list)) {
        json_decref(list);
        qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'option' expects an option name");
        return -1;
    }
    *ret = list;
    return 0;
}

/* One element per vCPU the guest starts with; libxl needs the integer
 * cpu-index. The DM has no vCPU threads (Xen runs them): thread-id is the
 * DM's own pid, as for a single-threaded emulator. */
static int cmd_query_cpus_fast(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    struct dm *d = dm_get();
    int n = d && d->cfg.smp > 0 ? d->cfg.smp : 1;
    json_t *list;
    int i;

    if (args_only(req, no_args, err) < 0)
        return -1;
    list = json_array();
    for (i = 0; i < n; i++) {
        char qom[64];

        snprintf(qom, sizeof(qom), "/machine/unattached/device[%d]", i);
        json_array_append_new(list, json_pack("{s:i,s:{s:i,s:i,s:i},s:s,s:i,s:s}", "thread-id", (int)dm_pid(),
                                              "props", "core-id", 0, "thread-id", 0, "socket-id", i,
                                              "qom-path", qom, "cpu-index", i, "target", "x86_64"));
    }
    *ret = list;
    return 0;
}

static const struct qmp_command core_cmds[] = {
    { "qmp_capabilities", cmd_qmp_capabilities, QMP_CMD_PRECAP | QMP_CMD_PROBE },
    { "query-version", cmd_query_version, QMP_CMD_PROBE },
    { "query-status", cmd_query_status, QMP_CMD_PROBE },
    { "stop", cmd_stop, 0 },
    { "cont", cmd_cont, 0 },
    { "quit", cmd_quit, QMP_CMD_PROBE },
    { "system_reset", cmd_system_reset, 0 },
    { "add-fd", cmd_add_fd, 0 },
    { "remove-fd", cmd_remove_fd, 0 },
    { "query-fdsets", cmd_query_fdsets, 0 },
    { "query-command-line-options", cmd_query_command_line_options, QMP_CMD_PROBE },
    { "query-cpus-fast", cmd_query_cpus_fast, 0 },
};
QMP_COMMANDS(core_cmds)
