/* QMP server: one client at a time per monitor, greeting on every
 * connection, capability negotiation, stream framing with a size limit,
 * SCM_RIGHTS fds attached to the request they arrived with, dispatch to the
 * command table, replies and events as QEMU shapes them ("\r\n" ended).
 *
 * Framing: as QEMU's, a stream of JSON values, not lines. Requests may come
 * back to back with no separator, split across reads, or spread over many
 * lines; whitespace between them is ignored. jansson parses the buffered
 * input (JSON_DISABLE_EOF_CHECK: one value, jerr.position = its length); a
 * request is served as soon as its last byte is in. want_parse() decides
 * when trying is worth it, so input arriving in small pieces costs linear
 * time. "Incomplete" (premature end, or a token cut by the end of the input)
 * means wait for more.
 *   Syntax error: one GenericError, then input resumes after the offending
 * token (at it, if it is a '{') and skips to the next '{' or past the next
 * newline: the next well-formed request is served; garbage that contains a
 * '{' may draw more than one error (QEMU's parser too).
 *   More than QMP_MAX_MSG bytes without a complete request: one GenericError,
 * that input and the rest up to the next newline are dropped.
 * Whatever a client sends, the connection survives unless the client stops
 * reading its replies (output cap).
 *
 * fds: the kernel returns the fds of one sendmsg() together with the bytes
 * of that sendmsg (and fd-less bytes before them), and a recvmsg() never
 * goes past a chunk that carried fds. So the fds of a read belong to the
 * request the read's last byte belongs to: the request that byte completed
 * (or that only whitespace follows in the read), or else the request still
 * being received. A read whose last byte is whitespace outside any request
 * brings fds without a command (an error); one that ends in dropped input
 * (syntax error, oversized) has its fds closed with that input. */
#include "dm/qmp.h"

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

#include "dm/log.h"
#include "dm/loop.h"
#include "dm/qmp-version.h"

#define QMP_READ_CHUNK   4096
#define QMP_OUT_MAX      (1024 * 1024)  /* unread replies+events before we drop the client */
#define QMP_OUT_PAUSE    (64 * 1024)    /* stop reading requests above this much unsent output */
#define QMP_LABEL_MAX    64

enum skip_mode {
    SKIP_NONE,                     /* whitespace only */
    SKIP_RECOVER,                  /* after a syntax error: up to a '{' or past a newline */
    SKIP_LINE,                     /* after an oversized request: past the next newline */
};

enum byte_fate { FATE_WS, FATE_REQUEST, FATE_JUNK };

/* Not a parser (jansson decides everything): just enough string and nesting
 * state over the bytes of the request being received to tell when parsing
 * it could change anything, so a request arriving in small pieces is not
 * parsed again for every piece. */
struct qmp_scan {
    size_t pos;                    /* in[in_head, pos) was scanned */
    int depth;                     /* '{' '[' minus '}' ']' outside strings */
    bool in_str, esc;
    size_t tried;                  /* request size at the last "incomplete" verdict */
};

struct qmp_conn {
    int fd;                        /* -1: no client */
    bool negotiated;
    bool paused;                   /* input not watched while output is backed up */
    bool eof;                      /* the client shut its side: close once the output is out */
    enum skip_mode skip;           /* what to drop before the next request */
    enum byte_fate last_fate;      /* what the last byte consumed was part of */
    char *in;                      /* QMP_MAX_MSG bytes */
    size_t in_head, in_len;        /* in[in_head, in_len): received, not yet consumed */
    struct qmp_scan scan;          /* when to try jansson on in[in_head, in_len) */
    int pending[QMP_MAX_FDS];      /* fds received for the request being received */
    int n_pending;
    int rfds[QMP_MAX_FDS];         /* fds of the read being fed, until a request takes them */
    int n_rfds;
    const char *read_rest;         /* the bytes of that read not in the buffer yet */
    size_t read_rest_len;
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
    json_t *m = json_object();

    if (id)
        json_object_set(m, "id", id);
    json_object_set_new(m, "error", json_pack("{s:s,s:s}", "class", cls, "desc", desc));
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

/* ---- fds -------------------------------------------------------------- */

static void close_fds(int *fds, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void pending_add(struct qmp_server *s, const int *fds, int n)
{
    struct qmp_conn *c = &s->c;
    int i;

    for (i = 0; i < n; i++) {
        if (c->n_pending < QMP_MAX_FDS) {
            c->pending[c->n_pending++] = fds[i];
        } else {
            close(fds[i]);
            log_guest("qmp %s: more than %d fds for one request, extra fd closed", s->label, QMP_MAX_FDS);
        }
    }
}

static void pending_drop(struct qmp_server *s, const char *why)
{
    struct qmp_conn *c = &s->c;

    if (!c->n_pending)
        return;
    log_guest("qmp %s: %d received fd(s) closed: %s", s->label, c->n_pending, why);
    close_fds(c->pending, c->n_pending);
    c->n_pending = 0;
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
    close_fds(req.fds, req.n_fds);
    json_decref(req.args);
out:
    close_fds(fds, n_fds);
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static bool all_ws(const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!is_ws(p[i]))
            return false;
    return true;
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
    close_fds(fds, n_fds);
    json_decref(root);
}

/* Drop what lies between requests: whitespace, and after an error what the
 * skip mode says. Records what the last dropped byte was (fds, see feed). */
static void skip_between(struct qmp_conn *c)
{
    while (c->in_head < c->in_len) {
        char ch = c->in[c->in_head];

        if (c->skip == SKIP_NONE) {
            if (!is_ws(ch))
                break;
            c->last_fate = FATE_WS;
        } else {
            /* A '{' may start the next request; a newline ends a bad line. */
            if (c->skip == SKIP_RECOVER && ch == '{') {
                c->skip = SKIP_NONE;
                break;
            }
            if (ch == '\n')
                c->skip = SKIP_NONE;
            c->last_fate = FATE_JUNK;
        }
        c->in_head++;
    }
}

static void scan_reset(struct qmp_conn *c)
{
    memset(&c->scan, 0, sizeof(c->scan));
    c->scan.pos = c->in_head;
}

/* Is it worth parsing the request being received? Yes at once when a '}'
 * or ']' closes its outermost level (it is complete, or broken), at a
 * newline outside any object (a scalar or a garbage line ends), and at a
 * byte that valid JSON never has there (a raw control character, a byte
 * that is never UTF-8 such as QEMU's 0xff reset): a well-formed request is
 * answered as soon as its last byte is in. Any other '}', ']' or newline
 * (inside an object, or in a string the scan may have misread after an
 * error) counts once the request has grown by an eighth since the last try:
 * a broken request is still found, at a cost linear in its size however it
 * is cut into reads. */
static bool want_parse(struct qmp_conn *c)
{
    struct qmp_scan *sc = &c->scan;
    bool weak = false;

    if (sc->pos < c->in_head)
        sc->pos = c->in_head;
    while (sc->pos < c->in_len) {
        unsigned char ch = (unsigned char)c->in[sc->pos++];

        if (ch == 0xC0 || ch == 0xC1 || ch >= 0xF5 || (ch < 0x20 && (sc->in_str || !is_ws((char)ch))))
            return true;
        if (ch == '}' || ch == ']' || ch == '\n')
            weak = true;
        if (sc->in_str) {
            if (sc->esc)
                sc->esc = false;
            else if (ch == '\\')
                sc->esc = true;
            else if (ch == '"')
                sc->in_str = false;
        } else if (ch == '"') {
            sc->in_str = true;
        } else if (ch == '{' || ch == '[') {
            sc->depth++;
        } else if ((ch == '}' || ch == ']') && --sc->depth <= 0) {
            return true;
        } else if (ch == '\n' && sc->depth <= 0) {
            return true;
        }
    }
    return weak && c->in_len - c->in_head >= sc->tried + sc->tried / 8;
}

static size_t utf8_seq_len(unsigned char lead)
{
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 1;
}

/* jansson failed on in[head, head+avail): is that only because the request
 * has not all arrived? Besides "premature end of input", jansson reports a
 * token cut by the end of its input (a number "1.", a literal "tru", an
 * escape "\u00", a multi-byte UTF-8 sequence) as invalid; such an error sits
 * at the very end of the input, after a byte that is not structural. */
static bool maybe_incomplete(const struct qmp_conn *c, const json_error_t *jerr, size_t avail)
{
    const unsigned char *p = (const unsigned char *)c->in + c->in_head;
    size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
    unsigned char last = p[avail - 1];

    switch (json_error_code(jerr)) {
    case json_error_premature_end_of_input:
        return true;
    case json_error_invalid_utf8:
        return pos < avail && avail - pos < utf8_seq_len(p[pos]);
    default:
        return pos >= avail && !is_ws((char)last) && last != '{' && last != '}' && last != '[' &&
               last != ']' && last != ',' && last != ':';
    }
}

/* A complete value of used bytes at in_head: it takes the fds pending for
 * it, and this read's fds when the read ends in it or in whitespace right
 * after it. */
static void take_value(struct qmp_server *s, json_t *root, size_t used)
{
    struct qmp_conn *c = &s->c;
    int fds[2 * QMP_MAX_FDS];
    size_t end = c->in_head + used;
    int n = c->n_pending, i;

    memcpy(fds, c->pending, sizeof(int) * (size_t)n);
    c->n_pending = 0;
    /* The rest of the read: what is buffered after the value, and what a
     * read too large for the buffer's free room has not put there yet. */
    if (c->n_rfds && all_ws(c->in + end, c->in_len - end) && all_ws(c->read_rest, c->read_rest_len)) {
        for (i = 0; i < c->n_rfds; i++)
            fds[n++] = c->rfds[i];
        c->n_rfds = 0;
    }
    if (n > QMP_MAX_FDS) {
        close_fds(fds + QMP_MAX_FDS, n - QMP_MAX_FDS);
        log_guest("qmp %s: more than %d fds for one request, extra closed", s->label, QMP_MAX_FDS);
        n = QMP_MAX_FDS;
    }
    c->in_head = end;
    scan_reset(c);
    c->last_fate = FATE_REQUEST;
    handle_value(s, root, fds, n);      /* may close the connection */
}

/* A syntax error: report it, drop the bad bytes and resynchronise. jansson
 * stopped just after the offending token; input resumes there, or at that
 * token if it is a '{' (a request that starts where the last one was cut
 * short), and then skips to the next '{' or past the next newline. */
static void bad_request(struct qmp_server *s, const json_error_t *jerr, size_t avail)
{
    struct qmp_conn *c = &s->c;
    size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
    char desc[256];

    if (pos > avail)
        pos = avail;
    if (pos > 1 && c->in[c->in_head + pos - 1] == '{')
        pos--;
    if (pos == 0)
        pos = 1;
    pending_drop(s, "malformed request");
    c->in_head += pos;
    scan_reset(c);
    c->skip = SKIP_RECOVER;
    c->last_fate = FATE_JUNK;
    snprintf(desc, sizeof(desc), "JSON parse error, %s", jerr->text);
    send_error(s, NULL, QMP_ERR_GENERIC, desc);      /* last: may close the connection */
}

/* QMP_MAX_MSG bytes and still no complete request: drop it and the rest of
 * the input up to the next newline (a line-based client loses that line). */
static void oversized(struct qmp_server *s)
{
    struct qmp_conn *c = &s->c;
    char desc[128];

    pending_drop(s, "oversized request");
    c->in_head = c->in_len;
    scan_reset(c);
    c->skip = SKIP_LINE;
    c->last_fate = FATE_JUNK;
    snprintf(desc, sizeof(desc), "QMP request too large (more than %d bytes); ignored up to the next newline",
             QMP_MAX_MSG);
    send_error(s, NULL, QMP_ERR_GENERIC, desc);
}

/* Serve every complete request in the buffer, in order. At eof nothing more
 * will arrive: a request cut short is an error, not something to wait for. */
static void process(struct qmp_server *s, bool eof)
{
    struct qmp_conn *c = &s->c;

    while (conn_alive(s)) {
        const size_t flags = JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES;
        json_error_t jerr;
        json_t *root;
        const char *nul;
        size_t avail, len;

        skip_between(c);
        avail = c->in_len - c->in_head;
        if (!avail) {
            c->in_head = c->in_len = 0;
            scan_reset(c);
            return;
        }
        if (!eof && avail < QMP_MAX_MSG && !want_parse(c))
            return;
        /* jansson drops a NUL that follows a number or literal (and its
         * position then lags behind the input) and reports one where a
         * token should be as the end of the input: it parses only what
         * precedes the first NUL, which nothing can complete. */
        nul = memchr(c->in + c->in_head, '\0', avail);
        len = nul ? (size_t)(nul - (c->in + c->in_head)) : avail;
        root = json_loadb(c->in + c->in_head, len, flags, &jerr);
        if (root) {
            size_t used = jerr.position > 0 && (size_t)jerr.position <= len ? (size_t)jerr.position : len;

            /* A number or literal at the end may go on in the next read. */
            if (eof || nul || used < len || json_is_object(root) || json_is_array(root)) {
                take_value(s, root, used);
                continue;
            }
            json_decref(root);
        } else if (nul && (!len || maybe_incomplete(c, &jerr, len))) {
            jerr.position = (int)len + 1;       /* the error is the NUL: input resumes after it */
            snprintf(jerr.text, sizeof(jerr.text), "unexpected NUL byte");
            bad_request(s, &jerr, avail);
            continue;
        } else if (eof || !maybe_incomplete(c, &jerr, len)) {
            bad_request(s, &jerr, avail);
            continue;
        }
        if (avail == QMP_MAX_MSG) {
            oversized(s);
            continue;
        }
        c->scan.tried = avail;
        return;
    }
}

/* Feed one read's bytes; fds (n_fds) arrived with them. They belong to the
 * request the read's last byte belongs to (see the top comment). */
static void feed(struct qmp_server *s, const char *buf, size_t len, int *fds, int n_fds)
{
    struct qmp_conn *c = &s->c;
    size_t off = 0;

    memcpy(c->rfds, fds, sizeof(int) * (size_t)n_fds);
    c->n_rfds = n_fds;
    while (off < len && conn_alive(s)) {
        size_t n = len - off;

        if (c->in_head) {
            memmove(c->in, c->in + c->in_head, c->in_len - c->in_head);
            c->in_len -= c->in_head;
            c->scan.pos = c->scan.pos > c->in_head ? c->scan.pos - c->in_head : 0;
            c->in_head = 0;
        }
        /* process() leaves less than QMP_MAX_MSG bytes: there is room. */
        if (n > QMP_MAX_MSG - c->in_len)
            n = QMP_MAX_MSG - c->in_len;
        memcpy(c->in + c->in_len, buf + off, n);
        c->in_len += n;
        off += n;
        c->read_rest = buf + off;
        c->read_rest_len = len - off;
        process(s, false);
    }
    c->read_rest = NULL;
    c->read_rest_len = 0;
    n_fds = c->n_rfds;
    c->n_rfds = 0;
    if (!n_fds)
        return;
    if (!conn_alive(s)) {
        close_fds(c->rfds, n_fds);
    } else if (c->in_head < c->in_len) {
        pending_add(s, c->rfds, n_fds);         /* the request still being received */
    } else if (c->last_fate == FATE_WS) {
        close_fds(c->rfds, n_fds);
        log_guest("qmp %s: %d fd(s) received without a command, closed", s->label, n_fds);
        send_error(s, NULL, QMP_ERR_GENERIC, "File descriptor received without a command; closed");
    } else {
        close_fds(c->rfds, n_fds);
        log_guest("qmp %s: %d fd(s) with a malformed or oversized request closed", s->label, n_fds);
    }
}

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
    pending_drop(s, "client disconnected before sending the command");
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_head = c->in_len = c->out_len = c->out_cap = 0;
    scan_reset(c);
    c->negotiated = c->paused = c->eof = false;
    c->skip = SKIP_NONE;
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
        close_fds(fds, n_fds);
        conn_close(s);
        return;
    }
    if (r == 0) {
        /* EOF: what is buffered is all there will be. A request the client
         * wrote and then shut down its side after is served; a request cut
         * short draws a parse error (best effort: the client may be gone).
         * Replies the socket has not taken yet go out before the close. */
        c->n_rfds = 0;
        process(s, true);
        if (c->fd >= 0 && c->out_len) {
            c->eof = true;
            conn_update_events(s);
            return;
        }
        conn_close(s);
        return;
    }
    feed(s, buf, (size_t)r, fds, n_fds);
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
    c->in = malloc(QMP_MAX_MSG);
    if (!c->in)
        return -1;
    if (s->loop && loop_add(s->loop, conn_fd, EPOLLIN, on_client, s) < 0) {
        free(c->in);
        c->in = NULL;
        return -1;
    }
    c->fd = conn_fd;
    c->in_head = c->in_len = 0;
    scan_reset(c);
    c->n_pending = c->n_rfds = 0;
    c->negotiated = c->paused = c->eof = false;
    c->skip = SKIP_NONE;
    c->last_fate = FATE_WS;
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
