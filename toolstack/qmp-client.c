/* QMP client with libxl's framing (see qmp-client.h and libxl-compat.md §2.1).
 * Strict on purpose: it is also the test client for the DM's QMP server, so a
 * reply that libxl would reject (no "\r\n", missing or wrong id, error without
 * desc, oversize line) is a protocol error here too. */
#include "toolstack/qmp-client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dm/core/errmsg.h"

#define QMPC_FIRST_ID    0x786c7100u       /* "xlq\0", libxl__ev_qmp_init */
#define QMPC_MAX_RX      (1024 * 1024)     /* QMP_MAX_SIZE_RX_BUF */
#define QMPC_READ_CHUNK  4096
/* The DM is the hostile side: while we wait for a reply it could stream
 * events for the whole timeout, and root xsdmctl would keep them all. A DM
 * sends a handful per command (STOP, RESUME, SHUTDOWN...); past these bounds
 * the connection is broken, as for any other protocol error. */
#define QMPC_MAX_EVENTS  256               /* messages queued aside */
#define QMPC_MAX_QUEUED  (1024 * 1024)     /* their bytes on the wire */

struct qmpc {
    int fd;
    json_t *greeting;
    json_t *queue;          /* messages received outside an execute, in order */
    size_t queued_bytes;    /* wire size of what is in queue */
    unsigned long next_id;
    char *buf;              /* received bytes not yet split into messages */
    size_t len, cap;
    size_t scanned;         /* buf[0..scanned) holds no "\r\n" */
    int timeout_ms;         /* bound for each wait inside qmpc_execute */
    int broken;             /* a protocol error makes the connection unusable */
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1 = no deadline). */
static int left_ms(long long deadline)
{
    long long l;

    if (deadline < 0)
        return -1;
    l = deadline - now_ms();
    if (l < 0)
        return 0;
    return l > INT32_MAX ? INT32_MAX : (int)l;
}

static long long deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Wait for events on the socket; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd p = { .fd = fd, .events = events };
    int r;

    for (;;) {
        r = poll(&p, 1, left_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        return r > 0;
    }
}

/* Take one complete "\r\n"-terminated message out of the buffer.
 * 1 = *msg set, 0 = need more bytes, -1 = protocol error. */
static int split_one(struct qmpc *c, json_t **msg, size_t *wire, char *err, size_t errlen)
{
    char *end = NULL;
    json_error_t jerr;
    json_t *m;
    size_t linelen;

    *msg = NULL;
    if (c->len >= 2)
        end = memmem(c->buf + c->scanned, c->len - c->scanned, "\r\n", 2);
    if (!end) {
        c->scanned = c->len ? c->len - 1 : 0;
        return 0;
    }
    c->scanned = 0;
    linelen = (size_t)(end - c->buf);
    *wire = linelen + 2;
    m = json_loadb(c->buf, linelen, JSON_REJECT_DUPLICATES, &jerr);
    memmove(c->buf, end + 2, c->len - linelen - 2);
    c->len -= linelen + 2;
    if (!m) {
        seterr(err, errlen, "qmp: malformed JSON from peer: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(m)) {
        json_decref(m);
        seterr(err, errlen, "qmp: message from peer is not a JSON object");
        return -1;
    }
    *msg = m;
    return 1;
}

/* Next message from the wire (not the queue). NULL on timeout/EOF/error. */
static json_t *read_msg(struct qmpc *c, long long deadline, size_t *wire, char *err, size_t errlen)
{
    json_t *m = NULL;
    size_t dummy;
    ssize_t r;
    int w, rc;

    if (!wire)
        wire = &dummy;

    if (c->broken) {
        seterr(err, errlen, "qmp: connection unusable after an earlier protocol error");
        return NULL;
    }
    for (;;) {
        rc = split_one(c, &m, wire, err, errlen);
        if (rc < 0)
            goto broken;
        if (rc > 0)
            return m;
        /* libxl gives up when its 1 MiB buffer fills without a full message */
        if (c->len >= QMPC_MAX_RX) {
            seterr(err, errlen, "qmp: message from peer exceeds %d bytes", QMPC_MAX_RX);
            goto broken;
        }
        /* The buffer never grows past one message of the limit plus a read. */
        if (c->cap - c->len < QMPC_READ_CHUNK) {
            size_t ncap = c->cap ? c->cap * 2 : 2 * QMPC_READ_CHUNK;

            if (ncap > QMPC_MAX_RX + QMPC_READ_CHUNK)
                ncap = QMPC_MAX_RX + QMPC_READ_CHUNK;
            char *nb = realloc(c->buf, ncap);

            if (!nb) {
                seterr(err, errlen, "qmp: out of memory");
                goto broken;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        w = wait_fd(c->fd, POLLIN, deadline);
        if (w < 0) {
            seterr(err, errlen, "qmp: poll: %s", strerror(errno));
            goto broken;
        }
        if (w == 0) {
            seterr(err, errlen, "qmp: timed out waiting for the peer");
            return NULL;
        }
        r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0) {
            seterr(err, errlen, "qmp: recv: %s", strerror(errno));
            goto broken;
        }
        if (r == 0) {
            seterr(err, errlen, "qmp: peer closed the connection%s",
                   c->len ? " in the middle of a message" : "");
            goto broken;
        }
        c->len += (size_t)r;
    }
broken:
    c->broken = 1;
    return NULL;
}

/* Keep a message that is not the awaited reply, within the bounds. */
static int queue_msg(struct qmpc *c, json_t *m, size_t wire, char *err, size_t errlen)
{
    if (json_array_size(c->queue) >= QMPC_MAX_EVENTS || wire > QMPC_MAX_QUEUED - c->queued_bytes) {
        json_decref(m);
        seterr(err, errlen, "qmp: peer sent more than %d events or %d bytes of them without a reply",
               QMPC_MAX_EVENTS, QMPC_MAX_QUEUED);
        c->broken = 1;
        return -1;
    }
    c->queued_bytes += wire;
    json_array_append_new(c->queue, json_pack("{s:o, s:I}", "m", m, "w", (json_int_t)wire));
    return 0;
}

/* The oldest queued message at i, removed from the queue. */
static json_t *unqueue_msg(struct qmpc *c, size_t i)
{
    json_t *e = json_array_get(c->queue, i), *m = json_incref(json_object_get(e, "m"));

    c->queued_bytes -= (size_t)json_integer_value(json_object_get(e, "w"));
    json_array_remove(c->queue, i);
    return m;
}

/* Send all bytes; the first one carries fd (if >= 0) as SCM_RIGHTS. */
static int send_bytes(struct qmpc *c, const char *p, size_t len, int fd,
                      long long deadline, char *err, size_t errlen)
{
    size_t off = 0;
    ssize_t r;
    int w;

    if (fd >= 0 && len > 0) {
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = (void *)p, .iov_len = 1 };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = u.buf, .msg_controllen = sizeof(u.buf),
        };
        struct cmsghdr *cm;

        memset(&u, 0, sizeof(u));
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        for (;;) {
            w = wait_fd(c->fd, POLLOUT, deadline);
            if (w <= 0) {
                seterr(err, errlen, "qmp: cannot send: %s", w ? strerror(errno) : "timed out");
                return -1;
            }
            r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r < 0) {
                seterr(err, errlen, "qmp: sendmsg: %s", strerror(errno));
                return -1;
            }
            break;
        }
        off = 1;
    }
    while (off < len) {
        w = wait_fd(c->fd, POLLOUT, deadline);
        if (w <= 0) {
            seterr(err, errlen, "qmp: cannot send: %s", w ? strerror(errno) : "timed out");
            return -1;
        }
        r = send(c->fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0) {
            seterr(err, errlen, "qmp: send: %s", strerror(errno));
            return -1;
        }
        off += (size_t)r;
    }
    return 0;
}

struct qmpc *qmpc_connect_fd(int fd, int negotiate, int timeout_ms, char *err, size_t errlen)
{
    struct qmpc *c = NULL;
    json_t *g = NULL, *ret = NULL;
    int rc;

    if (fd < 0) {
        seterr(err, errlen, "qmp: invalid fd");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        seterr(err, errlen, "qmp: out of memory");
        goto fail;
    }
    c->fd = fd;     /* adopted: closed with c, also on failure */
    fd = -1;
    c->queue = json_array();
    if (!c->queue) {
        seterr(err, errlen, "qmp: out of memory");
        goto fail;
    }
    c->next_id = QMPC_FIRST_ID;
    c->timeout_ms = timeout_ms;

    g = read_msg(c, deadline_of(timeout_ms), NULL, err, errlen);
    if (!g)
        goto fail;
    if (!json_is_object(json_object_get(g, "QMP"))) {
        seterr(err, errlen, "qmp: first message from peer is not a QMP greeting");
        goto fail;
    }
    c->greeting = g;
    g = NULL;

    if (negotiate) {
        rc = qmpc_execute(c, "qmp_capabilities", NULL, -1, &ret, err, errlen);
        if (rc == 1) {
            /* an error during negotiation is fatal, as in libxl */
            seterr(err, errlen, "qmp: qmp_capabilities failed: %s",
                   json_string_value(json_object_get(ret, "desc")));
        }
        json_decref(ret);
        if (rc != 0)
            goto fail;
    }
    return c;

fail:
    json_decref(g);
    if (fd >= 0)
        close(fd);
    qmpc_close(c);
    return NULL;
}

struct qmpc *qmpc_connect_path(const char *path, int negotiate, int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    long long deadline = deadline_of(timeout_ms);
    int fd = -1, r;

    if (!path || strlen(path) >= sizeof(sa.sun_path)) {
        seterr(err, errlen, "qmp: socket path missing or too long");
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            seterr(err, errlen, "qmp: socket: %s", strerror(errno));
            return NULL;
        }
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (r == 0)
            break;
        /* the DM may still be starting: retry within the bound */
        if ((errno == ENOENT || errno == ECONNREFUSED || errno == EINTR) && left_ms(deadline) != 0) {
            close(fd);
            fd = -1;
            poll(NULL, 0, 10);
            continue;
        }
        seterr(err, errlen, "qmp: connect %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    return qmpc_connect_fd(fd, negotiate, timeout_ms, err, errlen);
}

void qmpc_close(struct qmpc *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    json_decref(c->greeting);
    json_decref(c->queue);
    free(c->buf);
    free(c);
}

const json_t *qmpc_greeting(const struct qmpc *c)
{
    return c ? c->greeting : NULL;
}

int qmpc_fd(const struct qmpc *c)
{
    return c ? c->fd : -1;
}

int qmpc_send_raw(struct qmpc *c, const void *buf, size_t len, int fd)
{
    if (!c)
        return -1;
    return send_bytes(c, buf, len, fd, deadline_of(c->timeout_ms), NULL, 0);
}

/* A reply must carry an error object with string class and desc. */
static int check_error_obj(const json_t *e, char *err, size_t errlen)
{
    if (!json_is_object(e) || !json_is_string(json_object_get(e, "class")) ||
        !json_is_string(json_object_get(e, "desc"))) {
        seterr(err, errlen, "qmp: error reply without string class/desc");
        return -1;
    }
    return 0;
}

int qmpc_execute(struct qmpc *c, const char *cmd, json_t *args, int fd, json_t **ret,
                 char *err, size_t errlen)
{
    json_t *req = NULL, *msg = NULL, *idv;
    char *text = NULL, *line = NULL;
    unsigned long id;
    long long deadline;
    size_t tlen;
    int rc = -1;

    if (ret)
        *ret = NULL;
    if (!c || !cmd) {
        seterr(err, errlen, "qmp: bad arguments");
        json_decref(args);
        return -1;
    }
    if (c->broken) {
        seterr(err, errlen, "qmp: connection unusable after an earlier protocol error");
        json_decref(args);
        return -1;
    }
    deadline = deadline_of(c->timeout_ms);
    id = c->next_id++;
    req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
    if (!req)
        goto nomem;
    if (args && json_object_set_new(req, "arguments", args) < 0) {
        args = NULL;
        goto nomem;
    }
    args = NULL;
    text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto nomem;
    tlen = strlen(text);
    line = malloc(tlen + 3);
    if (!line)
        goto nomem;
    memcpy(line, text, tlen);
    memcpy(line + tlen, "\r\n", 3);
    if (send_bytes(c, line, tlen + 2, fd, deadline, err, errlen) < 0) {
        c->broken = 1;
        goto out;
    }

    for (;;) {
        size_t wire = 0;

        msg = read_msg(c, deadline, &wire, err, errlen);
        if (!msg) {
            /* a late reply would now meet the next request's id */
            c->broken = 1;
            goto out;
        }
        if (json_object_get(msg, "event")) {
            /* events are not for us: keep them for qmpc_recv/wait_event */
            rc = queue_msg(c, msg, wire, err, errlen);
            msg = NULL;
            if (rc < 0)
                goto out;
            continue;
        }
        if (json_object_get(msg, "QMP")) {
            seterr(err, errlen, "qmp: unexpected greeting in the middle of a session");
            goto protocol;
        }
        if (!json_object_get(msg, "return") && !json_object_get(msg, "error")) {
            seterr(err, errlen, "qmp: message with neither return, error nor event");
            goto protocol;
        }
        idv = json_object_get(msg, "id");
        if (!idv) {
            seterr(err, errlen, "qmp: reply to %s without id", cmd);
            goto protocol;
        }
        if (!json_is_integer(idv) || (unsigned long)json_integer_value(idv) != id) {
            seterr(err, errlen, "qmp: reply to %s has id %s, expected %lu", cmd,
                   json_is_integer(idv) ? "of another request" : "that is not an integer", id);
            goto protocol;
        }
        break;
    }
    if (json_object_get(msg, "error")) {
        if (check_error_obj(json_object_get(msg, "error"), err, errlen) < 0)
            goto protocol;
        if (ret)
            *ret = json_incref(json_object_get(msg, "error"));
        seterr(err, errlen, "qmp: %s: %s", cmd,
               json_string_value(json_object_get(json_object_get(msg, "error"), "desc")));
        rc = 1;
        goto out;
    }
    if (ret)
        *ret = json_incref(json_object_get(msg, "return"));
    rc = 0;
    goto out;

nomem:
    seterr(err, errlen, "qmp: out of memory");
    goto out;
protocol:
    c->broken = 1;
out:
    json_decref(args);
    json_decref(req);
    json_decref(msg);
    free(text);
    free(line);
    return rc;
}

json_t *qmpc_recv(struct qmpc *c, int timeout_ms, char *err, size_t errlen)
{
    if (!c)
        return NULL;
    if (json_array_size(c->queue))
        return unqueue_msg(c, 0);
    return read_msg(c, deadline_of(timeout_ms), NULL, err, errlen);
}

json_t *qmpc_wait_event(struct qmpc *c, const char *name, int timeout_ms)
{
    long long deadline = deadline_of(timeout_ms);
    const char *ev;
    json_t *m;

    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < json_array_size(c->queue); i++) {
        m = json_object_get(json_array_get(c->queue, i), "m");
        ev = json_string_value(json_object_get(m, "event"));
        if (ev && !strcmp(ev, name))
            return unqueue_msg(c, i);
    }
    for (;;) {
        size_t wire = 0;

        m = read_msg(c, deadline, &wire, NULL, 0);
        if (!m)
            return NULL;
        ev = json_string_value(json_object_get(m, "event"));
        if (ev && !strcmp(ev, name))
            return m;
        /* anything else stays queued, in arrival order, within the bounds */
        if (queue_msg(c, m, wire, NULL, 0) < 0)
            return NULL;
    }
}
