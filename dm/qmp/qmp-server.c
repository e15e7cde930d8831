/* QMP server: one client at a time per monitor, greeting on every
 * connection, capability negotiation, SCM_RIGHTS reception, dispatch to the
 * command tables, replies and events as QEMU shapes them ("\r\n" ended).
 * Whatever a client sends, the connection survives unless the client stops
 * reading its replies (output cap).
 *
 * The input framing (where a request ends, which fds it carries, how the
 * input resynchronises after garbage) is dm/qmp/qmp-input.c's. */
#include "dm/qmp/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dm/core/fdset.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/qmp/qmp-input.h"
#include "dm/qmp/qmp-version.h"

#define QMP_READ_CHUNK   4096
#define QMP_OUT_MAX      (1024 * 1024)  /* unread replies+events before we drop the client */
#define QMP_OUT_PAUSE    (64 * 1024)    /* stop reading requests above this much unsent output */
#define QMP_LABEL_MAX    64

struct qmp_conn {
    int fd;                        /* -1: no client */
    bool negotiated;
    bool paused;                   /* input not watched while output is backed up */
    bool eof;                      /* the client shut its side: close once the output is out */
    struct qmp_input in;           /* bytes and fds to requests */
    char *out;
    size_t out_len, out_cap;
};

struct qmp_server {
    struct loop *loop;
    int listen_fd;
    bool listening;                /* listen_fd is watched (no client connected) */
    char label[QMP_LABEL_MAX];
    struct qmp_conn c;
    struct qmp_server *next;
};

static struct qmp_server *servers;
extern const struct qmp_command_table qmp_table_core_cmds, qmp_table_block_cmds,
    qmp_table_chardev_cmds, qmp_table_migration_cmds, qmp_table_vnc_cmds;
#ifdef XSDM_TEST_HOOKS
extern const struct qmp_command_table qmp_table_testhook_cmds;
#endif

static const struct qmp_command_table *const tables[] = {
    &qmp_table_core_cmds, &qmp_table_block_cmds, &qmp_table_chardev_cmds, &qmp_table_migration_cmds,
    &qmp_table_vnc_cmds,
#ifdef XSDM_TEST_HOOKS
    &qmp_table_testhook_cmds,
#endif
};
static bool probe_only;

void qmp_probe_mode(bool on) { probe_only = on; }

/* ---- command table and helpers ---------------------------------------- */

const struct qmp_command *qmp_command_at(size_t i)
{
    size_t t;

    for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        if (i < tables[t]->n)
            return &tables[t]->cmds[i];
        i -= tables[t]->n;
    }
    return NULL;
}

const struct qmp_command *qmp_find(const char *name)
{
    const struct qmp_command *c;
    size_t i;

    for (i = 0; (c = qmp_command_at(i)); i++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

void qmp_error_set(struct qmp_error *err, const char *cls, const char *fmt, ...)
{
    va_list ap;

    err->cls = cls;
    va_start(ap, fmt);
    vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
    va_end(ap);
}

/* Absent optional arguments leave *out as the caller initialised it. */
static json_t *arg_get(const struct qmp_request *req, const char *key, bool required,
                       struct qmp_error *err, int *absent)
{
    json_t *v = req->args ? json_object_get(req->args, key) : NULL;

    *absent = 0;
    if (!v) {
        *absent = 1;
        if (required) {
            qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", key);
            return NULL;
        }
    }
    return v;
}

static int arg_type_error(struct qmp_error *err, const char *key, const char *type)
{
    qmp_error_set(err, QMP_ERR_GENERIC, "Invalid parameter type for '%s', expected: %s", key, type);
    return -1;
}

int qmp_arg_str(const struct qmp_request *req, const char *key, bool required, const char **out,
                struct qmp_error *err)
{
    int absent;
    json_t *v = arg_get(req, key, required, err, &absent);

    if (absent)
        return required ? -1 : 0;
    if (!json_is_string(v))
        return arg_type_error(err, key, "string");
    *out = json_string_value(v);
    return 0;
}

int qmp_arg_int(const struct qmp_request *req, const char *key, bool required, long long *out,
                struct qmp_error *err)
{
    int absent;
    json_t *v = arg_get(req, key, required, err, &absent);

    if (absent)
        return required ? -1 : 0;
    if (!json_is_integer(v))
        return arg_type_error(err, key, "integer");
    *out = json_integer_value(v);
    return 0;
}

int qmp_arg_bool(const struct qmp_request *req, const char *key, bool required, bool *out,
                 struct qmp_error *err)
{
    int absent;
    json_t *v = arg_get(req, key, required, err, &absent);

    if (absent)
        return required ? -1 : 0;
    if (!json_is_boolean(v))
        return arg_type_error(err, key, "boolean");
    *out = json_is_true(v);
    return 0;
}

/* ---- output ----------------------------------------------------------- */

static void conn_close(struct qmp_server *s);

static void conn_update_events(struct qmp_server *s)
{
    struct qmp_conn *c = &s->c;
    uint32_t ev = 0;

    if (c->fd < 0)
        return;
    if (!c->paused && !c->eof)
        ev |= EPOLLIN;
    if (c->out_len)
        ev |= EPOLLOUT;
    if (s->loop)
        loop_mod(s->loop, c->fd, ev);
}

/* Write what the socket takes now; 0, or -1 if the peer is gone. */
static int conn_flush(struct qmp_conn *c)
{
    while (c->out_len) {
        /* send() (sendto with no address, on the seccomp allowlist);
         * MSG_NOSIGNAL: a vanished client is EPIPE, not SIGPIPE. */
        ssize_t r = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        memmove(c->out, c->out + r, c->out_len - (size_t)r);
        c->out_len -= (size_t)r;
    }
    return 0;
}

static int conn_queue(struct qmp_conn *c, const char *buf, size_t len)
{
    if (len > QMP_OUT_MAX - c->out_len)
        return -1;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        char *p;

        while (cap < c->out_len + len)
            cap *= 2;
        p = realloc(c->out, cap);
        if (!p)
            return -1;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
    return 0;
}

/* After the client's EOF the connection lives on only until its replies
 * are out; true when that is done and it is closed. */
static bool close_if_drained(struct qmp_server *s)
{
    if (!s->c.eof || s->c.out_len)
        return false;
    conn_close(s);
    return true;
}

/* Send one message already in text (txt NULL: it could not be made). A
 * client that lets QMP_OUT_MAX bytes pile up is disconnected (it can
 * reconnect). */
static void conn_send_text(struct qmp_server *s, const char *txt)
{
    struct qmp_conn *c = &s->c;
    int rc = -1;

    if (!txt || conn_queue(c, txt, strlen(txt)) < 0 || conn_queue(c, "\r\n", 2) < 0) {
        log_warn("qmp %s: client does not read its replies (%zu bytes queued), disconnecting", s->label,
                 c->out_len);
        conn_close(s);
        return;
    }
    rc = conn_flush(c);
    if (rc < 0) {
        log_debug("qmp %s: client gone: %s", s->label, strerror(errno));
        conn_close(s);
        return;
    }
    if (close_if_drained(s))
        return;
    if (c->out_len > QMP_OUT_PAUSE)
        c->paused = true;
    conn_update_events(s);
}

/* Send one message; the reference to msg is stolen. */
static void conn_send(struct qmp_server *s, json_t *msg)
{
    char *txt;

    if (s->c.fd < 0 || !msg) {
        json_decref(msg);
        return;
    }
    txt = json_dumps(msg, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(msg);
    conn_send_text(s, txt);
    free(txt);
}

static void send_error(struct qmp_server *s, json_t *id, const char *cls, const char *desc)
{
    json_t *m = json_object(), *e = json_pack("{s:s,s:s}", "class", cls, "desc", desc);

    /* A desc that quotes the client's bytes may not be UTF-8 (jansson's
     * "near" quotes the first byte of a character; a truncated name may end
     * mid-character): jansson refuses it, and the error must still go out. */
    if (!e) {
        char clean[512];
        size_t i;

        snprintf(clean, sizeof(clean), "%s", desc);
        for (i = 0; clean[i]; i++)
            if ((unsigned char)clean[i] >= 0x80)
                clean[i] = '?';
        e = json_pack("{s:s,s:s}", "class", cls, "desc", clean);
    }
    if (id)
        json_object_set(m, "id", id);
    json_object_set_new(m, "error", e);
    conn_send(s, m);
}

static void send_greeting(struct qmp_server *s)
{
    /* No optional capability is offered: "oob" would need out-of-band
     * execution, which a single-threaded DM does not have. */
    /* A constant, as jansson prints it (test_qmp compares it with
     * query-version): built at compile time, it costs the start-up path
     * no JSON work before the first request. */
    if (s->c.fd >= 0)
        conn_send_text(s, XSDM_QMP_GREETING);
}

void qmp_event(const char *name, json_t *data)
{
    struct timespec ts;
    struct qmp_server *s;

    clock_gettime(CLOCK_REALTIME, &ts);
    for (s = servers; s; s = s->next) {
        json_t *m;

        if (s->c.fd < 0 || !s->c.negotiated)
            continue;
        m = json_pack("{s:{s:I,s:I},s:s}", "timestamp", "seconds", (json_int_t)ts.tv_sec,
                      "microseconds", (json_int_t)(ts.tv_nsec / 1000), "event", name);
        if (m && data)
            json_object_set(m, "data", data);
        conn_send(s, m);
    }
    json_decref(data);
}

/* ---- dispatch --------------------------------------------------------- */

static int json_depth(const json_t *j)
{
    int max = 0, d;

    if (json_is_object(j)) {
        const char *k;
        json_t *v;

        json_object_foreach((json_t *)j, k, v) {
            d = json_depth(v);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;

        json_array_foreach(j, i, v) {
            d = json_depth(v);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

/* QEMU's checks of a request object, in the same words. */
static int check_request(json_t *req, const char **name_r, json_t **args_r, char *desc, size_t desclen)
{
    const char *k;
    json_t *v;

    *name_r = NULL;
    *args_r = NULL;
    json_object_foreach(req, k, v) {
        if (!strcmp(k, "execute")) {
            if (!json_is_string(v)) {
                snprintf(desc, desclen, "QMP input member 'execute' must be a string");
                return -1;
            }
            *name_r = json_string_value(v);
        } else if (!strcmp(k, "arguments")) {
            if (!json_is_object(v)) {
                snprintf(desc, desclen, "QMP input member 'arguments' must be an object");
                return -1;
            }
            *args_r = v;
        } else if (strcmp(k, "id") != 0) {
            snprintf(desc, desclen, "QMP input member '%s' is unexpected", k);
            return -1;
        }
    }
    if (!*name_r) {
        snprintf(desc, desclen, "QMP input lacks member 'execute'");
        return -1;
    }
    return 0;
}

static void dispatch(struct qmp_server *s, json_t *root, int *fds, int n_fds)
{
    struct qmp_conn *c = &s->c;
    const struct qmp_command *cmd;
    struct qmp_request req;
    struct qmp_error err;
    char desc[256];
    const char *name;
    json_t *args, *id, *ret = NULL, *m;
    int i, unclaimed = 0;

    memset(&req, 0, sizeof(req));
    memset(&err, 0, sizeof(err));
    id = json_object_get(root, "id");
    if (check_request(root, &name, &args, desc, sizeof(desc)) < 0) {
        send_error(s, id, QMP_ERR_GENERIC, desc);
        goto out;
    }
    cmd = qmp_find(name);
    if (cmd && probe_only && !(cmd->flags & QMP_CMD_PROBE))
        cmd = NULL;
    if (!c->negotiated && (!cmd || !(cmd->flags & QMP_CMD_PRECAP))) {
        send_error(s, id, QMP_ERR_COMMAND_NOT_FOUND,
                   "Expecting capabilities negotiation with 'qmp_capabilities'");
        goto out;
    }
    if (c->negotiated && !strcmp(name, "qmp_capabilities")) {
        send_error(s, id, QMP_ERR_COMMAND_NOT_FOUND,
                   "Capabilities negotiation is already complete, command ignored");
        goto out;
    }
    if (!cmd) {
        snprintf(desc, sizeof(desc), "The command %s has not been found", name);
        send_error(s, id, QMP_ERR_COMMAND_NOT_FOUND, desc);
        goto out;
    }

    req.name = cmd->name;
    req.args = args ? json_incref(args) : json_object();
    for (i = 0; i < n_fds; i++) {
        req.fds[i] = fds[i];
        fds[i] = -1;
    }
    req.n_fds = n_fds;
    req.server = s;
    if (cmd->fn(&req, &ret, &err) < 0) {
        json_decref(ret);
        if (!err.cls)
            qmp_error_set(&err, QMP_ERR_GENERIC, "%s failed", cmd->name);
        send_error(s, id, err.cls, err.desc);
    } else {
        if (!c->negotiated && !strcmp(cmd->name, "qmp_capabilities"))
            c->negotiated = true;
        m = json_object();
        json_object_set_new(m, "return", ret ? ret : json_object());
        if (id)
            json_object_set(m, "id", id);
        conn_send(s, m);
    }
    for (i = 0; i < req.n_fds; i++)
        if (req.fds[i] >= 0)
            unclaimed++;
    if (unclaimed)
        log_debug("qmp %s: %s left %d fd(s) unclaimed, closed", s->label, cmd->name, unclaimed);
    qmp_close_fds(req.fds, req.n_fds);
    json_decref(req.args);
out:
    qmp_close_fds(fds, n_fds);
}

static bool conn_alive(const struct qmp_server *s)
{
    /* After "quit" nothing more is served: the process is about to exit. */
    return s->c.fd >= 0 && !(s->loop && loop_quitting(s->loop));
}

/* A parsed value with the fds that belong to it (always consumed). */
static void handle_value(struct qmp_server *s, json_t *root, int *fds, int n_fds)
{
    char desc[256];

    if (json_depth(root) > QMP_MAX_DEPTH) {
        snprintf(desc, sizeof(desc), "JSON nesting depth limit exceeded (at most %d levels)", QMP_MAX_DEPTH);
        send_error(s, NULL, QMP_ERR_GENERIC, desc);
    } else if (!json_is_object(root)) {
        send_error(s, NULL, QMP_ERR_GENERIC, "QMP input must be a JSON object");
    } else {
        dispatch(s, root, fds, n_fds);
        n_fds = 0;
    }
    qmp_close_fds(fds, n_fds);
    json_decref(root);
}

static void input_value(void *opaque, json_t *root, int *fds, int n_fds)
{
    handle_value(opaque, root, fds, n_fds);
}

static void input_error(void *opaque, const char *desc)
{
    send_error(opaque, NULL, QMP_ERR_GENERIC, desc);
}

static bool input_alive(void *opaque)
{
    return conn_alive(opaque);
}

static const struct qmp_input_ops input_ops = {
    .value = input_value,
    .error = input_error,
    .alive = input_alive,
};

/* ---- connection ------------------------------------------------------- */

static void on_client(void *opaque, int fd, uint32_t events);
static void on_listen(void *opaque, int fd, uint32_t events);

static void listen_watch(struct qmp_server *s, bool on)
{
    if (s->listen_fd < 0 || !s->loop || s->listening == on)
        return;
    if (on) {
        if (loop_add(s->loop, s->listen_fd, EPOLLIN, on_listen, s) == 0)
            s->listening = true;
        else
            log_err("qmp %s: cannot watch the listening socket", s->label);
    } else {
        loop_del(s->loop, s->listen_fd);
        s->listening = false;
    }
}

static void conn_close(struct qmp_server *s)
{
    struct qmp_conn *c = &s->c;

    if (c->fd < 0)
        return;
    if (s->loop)
        loop_del(s->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    qmp_input_close(&c->in, "client disconnected before sending the command");
    /* The last client gone: unused fd sets are freed (QEMU's rule). */
    fdset_monitor_disconnected();
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_cap = 0;
    c->negotiated = c->paused = c->eof = false;
    log_debug("qmp %s: client disconnected", s->label);
    listen_watch(s, true);
}

static void conn_read(struct qmp_server *s)
{
    struct qmp_conn *c = &s->c;
    char buf[QMP_READ_CHUNK];
    union {
        char b[CMSG_SPACE(sizeof(int) * QMP_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    struct msghdr msg;
    struct cmsghdr *cm;
    int fds[QMP_MAX_FDS];
    int n_fds = 0;
    ssize_t r;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.b;
    msg.msg_controllen = sizeof(ctl.b);
    do {
        r = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    for (cm = r >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
        size_t k, n;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (k = 0; k < n; k++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
            if (n_fds < QMP_MAX_FDS)
                fds[n_fds++] = fd;
            else
                close(fd);
        }
    }
    if (r >= 0 && (msg.msg_flags & MSG_CTRUNC))
        log_guest("qmp %s: more than %d fds in one message, the rest were dropped", s->label, QMP_MAX_FDS);
    if (r < 0) {
        qmp_close_fds(fds, n_fds);
        conn_close(s);
        return;
    }
    if (r == 0) {
        /* EOF: what is buffered is all there will be. A request the client
         * wrote and then shut down its side after is served; a request cut
         * short draws a parse error (best effort: the client may be gone).
         * Replies the socket has not taken yet go out before the close. */
        qmp_input_eof(&c->in);
        if (c->fd >= 0 && c->out_len) {
            c->eof = true;
            conn_update_events(s);
            return;
        }
        conn_close(s);
        return;
    }
    qmp_input_feed(&c->in, buf, (size_t)r, fds, n_fds);
}

static void on_client(void *opaque, int fd, uint32_t events)
{
    struct qmp_server *s = opaque;
    struct qmp_conn *c = &s->c;

    if (events & EPOLLOUT) {
        if (conn_flush(c) < 0) {
            conn_close(s);
            return;
        }
        if (close_if_drained(s))
            return;
        if (c->paused && c->out_len < QMP_OUT_PAUSE / 2)
            c->paused = false;
        conn_update_events(s);
    }
    if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->paused && !c->eof)
        conn_read(s);
    else if (c->fd >= 0 && (events & (EPOLLHUP | EPOLLERR)))
        conn_close(s);
}

int qmp_server_attach_client(struct qmp_server *s, int conn_fd)
{
    struct qmp_conn *c = &s->c;
    int fl;

    if (c->fd >= 0 || conn_fd < 0)
        return -1;
    /* accept4() made it non-blocking already; a test's socketpair is not. */
    fl = fcntl(conn_fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(conn_fd, F_SETFL, fl | O_NONBLOCK) < 0))
        return -1;
    if (qmp_input_open(&c->in, &input_ops, s, s->label) < 0)
        return -1;
    if (s->loop && loop_add(s->loop, conn_fd, EPOLLIN, on_client, s) < 0) {
        qmp_input_close(&c->in, "cannot watch the client");
        return -1;
    }
    c->fd = conn_fd;
    c->negotiated = c->paused = c->eof = false;
    fdset_monitor_connected();
    listen_watch(s, false);
    log_debug("qmp %s: client connected", s->label);
    send_greeting(s);
    return 0;
}

static void on_listen(void *opaque, int fd, uint32_t events)
{
    struct qmp_server *s = opaque;
    int cfd;

    cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            log_warn("qmp %s: accept: %s", s->label, strerror(errno));
        return;
    }
    if (qmp_server_attach_client(s, cfd) < 0) {
        log_warn("qmp %s: cannot serve a new client", s->label);
        close(cfd);
    }
}

struct qmp_server *qmp_server_new(struct loop *l, int listen_fd, const char *label)
{
    struct qmp_server *s = calloc(1, sizeof(*s));
    int fl;

    if (!s)
        return NULL;
    s->loop = l;
    s->listen_fd = listen_fd;
    s->c.fd = -1;
    snprintf(s->label, sizeof(s->label), "%s", label ? label : "qmp");
    if (listen_fd >= 0) {
        /* A wakeup whose connection went away must not block us in accept. */
        fl = fcntl(listen_fd, F_GETFL);
        if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            free(s);
            return NULL;
        }
        listen_watch(s, true);
        if (l && !s->listening) {
            free(s);
            return NULL;
        }
    }
    s->next = servers;
    servers = s;
    return s;
}

void qmp_server_free(struct qmp_server *s)
{
    struct qmp_server **pp;

    if (!s)
        return;
    if (s->c.fd >= 0 && s->c.out_len)
        conn_flush(&s->c);      /* best effort: the reply to "quit" */
    conn_close(s);
    listen_watch(s, false);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (pp = &servers; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    free(s);
}

int qmp_server_listen_fd(const struct qmp_server *s) { return s->listen_fd; }
int qmp_server_client_fd(const struct qmp_server *s) { return s->c.fd; }
