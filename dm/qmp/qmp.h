/* QMP server: greeting, capability negotiation, framing, SCM_RIGHTS fd
 * reception, dispatch, events. Commands live in the module that owns their
 * subject (dm/qmp/qmp-core.c, dm/qmp/qmp-block.c, dm/qmp/qmp-migration.c ...) and
 * publish their table with QMP_COMMANDS(table); dm/qmp/qmp-server.c lists the
 * tables. docs/qmp.md lists the commands. */
#ifndef XSDM_QMP_H
#define XSDM_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dm/core/event.h"

#define QMP_MAX_MSG      (64 * 1024)  /* one request; larger → GenericError, input dropped to next newline */
#define QMP_MAX_DEPTH    8            /* JSON nesting in a request */
#define QMP_MAX_FDS      8            /* fds queued on one connection before a command claims them */

struct qmp_server;
struct loop;

/* QEMU error classes libxl distinguishes. */
#define QMP_ERR_GENERIC          "GenericError"
#define QMP_ERR_COMMAND_NOT_FOUND "CommandNotFound"
#define QMP_ERR_DEVICE_NOT_FOUND "DeviceNotFound"
#define QMP_ERR_DEVICE_NOT_ACTIVE "DeviceNotActive"

struct qmp_error {
    const char *cls;        /* NULL: no error */
    char desc[256];
};

struct qmp_request {
    const char *name;
    json_t *args;           /* always an object (empty when absent) */
    int fds[QMP_MAX_FDS];   /* fds that arrived with this request; a handler that keeps one sets it to -1 */
    int n_fds;
    struct qmp_server *server;
};

/* Return 0 and set *ret (an object or array; NULL means {}), or return -1
 * after qmp_error_set(). Unclaimed fds are closed by the server afterwards. */
typedef int qmp_handler(struct qmp_request *req, json_t **ret, struct qmp_error *err);

enum {
    QMP_CMD_PRECAP = 1,     /* allowed before qmp_capabilities (only qmp_capabilities itself) */
    QMP_CMD_PROBE = 2,      /* served by the capability probe (-machine none, unrestricted) */
};

struct qmp_command {
    const char *name;
    qmp_handler *fn;
    unsigned flags;
};

/* One module's commands. The list of tables is fixed at build time
 * (dm/qmp/qmp-server.c): nothing registers at run time, no constructor runs
 * before main, and test_qmp checks that no name appears twice. */
struct qmp_command_table {
    const struct qmp_command *cmds;
    size_t n;
};

/* The capability probe runs unrestricted: when on, commands without
 * QMP_CMD_PROBE answer CommandNotFound. */
void qmp_probe_mode(bool on);
const struct qmp_command *qmp_find(const char *name);
/* The i-th command of all tables, NULL past the last one. */
const struct qmp_command *qmp_command_at(size_t i);
#define QMP_COMMANDS(tbl)                                                    \
    const struct qmp_command_table qmp_table_##tbl = { tbl, sizeof(tbl) / sizeof(tbl[0]) };

void qmp_error_set(struct qmp_error *err, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Argument helpers: each returns 0, or -1 with a QEMU-shaped error
 * ("Parameter 'x' expects a string", "Parameter 'x' is missing"). */
int qmp_arg_str(const struct qmp_request *req, const char *key, bool required, const char **out, struct qmp_error *err);
int qmp_arg_int(const struct qmp_request *req, const char *key, bool required, long long *out, struct qmp_error *err);
int qmp_arg_bool(const struct qmp_request *req, const char *key, bool required, bool *out, struct qmp_error *err);

/* A monitor on a listening socket (inherited fd or bound path). It accepts
 * one client at a time; every connection gets a greeting and must negotiate. */
struct qmp_server *qmp_server_new(struct loop *l, int listen_fd, const char *label);
void qmp_server_free(struct qmp_server *s);
/* Serve an already-connected stream socket (tests use a socketpair). */
int qmp_server_attach_client(struct qmp_server *s, int conn_fd);
int qmp_server_listen_fd(const struct qmp_server *s);
int qmp_server_client_fd(const struct qmp_server *s);

#endif
