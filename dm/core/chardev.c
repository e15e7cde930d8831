/* Character backends: pty, file, null and unix sockets (server or client,
 * path or inherited fd), plus the registry query-chardev reports.
 *
 * Everything is opened before restriction. Afterwards the only syscalls are
 * read/write/send on fds we hold, accept4 on a listening socket and
 * epoll_ctl through the loop. Output never blocks: bytes a full or missing
 * peer cannot take are dropped and counted. Input is pulled only as fast as
 * the frontend can take it (can_receive); when it cannot, the fd leaves the
 * loop until chardev_accept_input() puts it back, so a hung-up or chatty
 * peer can never spin the loop. */
#include "dm/core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "dm/core/loop.h"

#define CHARDEV_MAX      (CFG_MAX_CHARDEVS + CFG_MAX_MONITORS + CFG_MAX_SERIALS)
#define CHARDEV_NAME_MAX (CFG_PATH_MAX + 64)
#define CHARDEV_RX_CHUNK 256

struct chardev {
    char id[CFG_ID_MAX];
    enum chardev_kind kind;
    bool label_only;            /* chardev_register_label(): no backend */
    bool label_fe_open;
    bool server;
    struct loop *loop;
    int fd;                     /* pty master, file, or listening socket */
    int slave_fd;               /* pty: held open so the master never sees a hangup */
    int conn_fd;                /* socket: the connected peer */
    bool in_watched;            /* the input fd is in the loop */
    bool listen_watched;
    bool have_fe;
    struct chardev_frontend fe;
    uint64_t tx_dropped;
    char name[CHARDEV_NAME_MAX];        /* filename while connected (or always) */
    char name_disc[CHARDEV_NAME_MAX];   /* socket: filename while disconnected */
};

static struct chardev *registry[CHARDEV_MAX];
static int n_registry;

static int registry_add(struct chardev *c)
{
    if (n_registry >= CHARDEV_MAX)
        return -1;
    registry[n_registry++] = c;
    return 0;
}

static void registry_remove(struct chardev *c)
{
    int i;

    for (i = 0; i < n_registry; i++) {
        if (registry[i] != c)
            continue;
        /* Keep registration order: query-chardev lists in creation order. */
        memmove(&registry[i], &registry[i + 1], (size_t)(n_registry - i - 1) * sizeof(registry[0]));
        registry[--n_registry] = NULL;
        return;
    }
}

static struct chardev *registry_lookup(const char *id)
{
    int i;

    for (i = 0; i < n_registry; i++)
        if (!strcmp(registry[i]->id, id))
            return registry[i];
    return NULL;
}

struct chardev *chardev_find(const char *id)
{
    struct chardev *c = id ? registry_lookup(id) : NULL;

    return c && !c->label_only ? c : NULL;
}

static int input_fd(const struct chardev *c)
{
    switch (c->kind) {
    case CHARDEV_PTY:
        return c->fd;
    case CHARDEV_SOCKET:
        return c->conn_fd;
    default:
        return -1;              /* file and null have no input */
    }
}

static void on_input(void *opaque, int fd, uint32_t events);
static void on_accept(void *opaque, int fd, uint32_t events);

static void input_stop(struct chardev *c)
{
    if (c->in_watched && c->loop)
        loop_del(c->loop, input_fd(c));
    c->in_watched = false;
}

static void input_start(struct chardev *c)
{
    int fd = input_fd(c);
    int r;

    if (c->in_watched || fd < 0 || !c->loop)
        return;
    r = loop_add(c->loop, fd, EPOLLIN, on_input, c);
    if (r < 0) {
        log_err("chardev %s: cannot watch input: %s", c->id, strerror(-r));
        return;
    }
    c->in_watched = true;
}

static void listen_start(struct chardev *c)
{
    int r;

    if (c->listen_watched || c->fd < 0 || !c->loop)
        return;
    r = loop_add(c->loop, c->fd, EPOLLIN, on_accept, c);
    if (r < 0) {
        log_err("chardev %s: cannot watch listener: %s", c->id, strerror(-r));
        return;
    }
    c->listen_watched = true;
}

static void listen_stop(struct chardev *c)
{
    if (c->listen_watched && c->loop)
        loop_del(c->loop, c->fd);
    c->listen_watched = false;
}

/* The socket peer went away: a server takes the next client, a client
 * stays disconnected (output is dropped from now on). */
static void socket_disconnect(struct chardev *c)
{
    if (c->conn_fd < 0)
        return;
    input_stop(c);
    close(c->conn_fd);
    c->conn_fd = -1;
    log_info("chardev %s: peer disconnected", c->id);
    if (c->server)
        listen_start(c);
}

static void on_accept(void *opaque, int fd, uint32_t events)
{
    struct chardev *c = opaque;
    int conn;

    if (c->conn_fd >= 0) {
        listen_stop(c);         /* one client at a time; others wait in the backlog */
        return;
    }
    conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            log_warn("chardev %s: accept: %s", c->id, strerror(errno));
        return;
    }
    c->conn_fd = conn;
    listen_stop(c);
    input_start(c);
    log_info("chardev %s: client connected", c->id);
}

static void on_input(void *opaque, int fd, uint32_t events)
{
    struct chardev *c = opaque;
    uint8_t buf[CHARDEV_RX_CHUNK];
    size_t room = sizeof(buf);
    ssize_t r;

    if (c->have_fe) {
        room = c->fe.can_receive(c->fe.opaque);
        if (room == 0) {
            /* Full: leave the loop until chardev_accept_input(). The data
             * (and any hangup) waits in the kernel meanwhile. */
            input_stop(c);
            return;
        }
        if (room > sizeof(buf))
            room = sizeof(buf);
    }
    r = read(fd, buf, room);
    if (r > 0) {
        if (c->have_fe)
            c->fe.receive(c->fe.opaque, buf, (size_t)r);
        return;                 /* without a frontend input is discarded */
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (c->kind == CHARDEV_SOCKET) {
        socket_disconnect(c);
        return;
    }
    /* A pty master whose slave we hold should never fail; stop rather than spin. */
    log_warn("chardev %s: input stopped: %s", c->id, r < 0 ? strerror(errno) : "end of file");
    input_stop(c);
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

static int open_pty(struct chardev *c, char *err, size_t errlen)
{
    char slave[64];
    struct termios t;
    int rc = -1;

    c->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->fd < 0) {
        snprintf(err, errlen, "chardev '%s': cannot allocate a pty: %s", c->id, strerror(errno));
        goto out;
    }
    if (grantpt(c->fd) < 0 || unlockpt(c->fd) < 0 || ptsname_r(c->fd, slave, sizeof(slave))) {
        snprintf(err, errlen, "chardev '%s': cannot set up the pty: %s", c->id, strerror(errno));
        goto out;
    }
    c->slave_fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->slave_fd < 0) {
        snprintf(err, errlen, "chardev '%s': cannot open %s: %s", c->id, slave, strerror(errno));
        goto out;
    }
    /* Raw, no echo: bytes pass unchanged in both directions, as with QEMU. */
    if (tcgetattr(c->slave_fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(c->slave_fd, TCSANOW, &t);
    }
    if (set_nonblock(c->fd) < 0) {
        snprintf(err, errlen, "chardev '%s': pty: %s", c->id, strerror(errno));
        goto out;
    }
    snprintf(c->name, sizeof(c->name), "pty:%s", slave);
    log_info("chardev %s: redirected to %s", c->id, slave);
    rc = 0;
out:
    return rc;
}

static int open_file(struct chardev *c, const struct chardev_spec *spec, char *err, size_t errlen)
{
    if (!spec->path[0]) {
        snprintf(err, errlen, "chardev '%s': file backend needs a path", c->id);
        return -1;
    }
    /* Always append, never truncate: a restored domain keeps its earlier log. */
    c->fd = open(spec->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0640);
    if (c->fd < 0) {
        snprintf(err, errlen, "chardev '%s': cannot open %s: %s", c->id, spec->path, strerror(errno));
        return -1;
    }
    snprintf(c->name, sizeof(c->name), "file");
    return 0;
}

static int fill_sun(struct sockaddr_un *sa, const char *path, const char *id, char *err, size_t errlen)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path[0] || strlen(path) >= sizeof(sa->sun_path)) {
        snprintf(err, errlen, "chardev '%s': socket path '%s' is empty or too long", id, path);
        return -1;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

static void socket_names(struct chardev *c, const char *path)
{
    const char *srv = c->server ? ",server=on" : "";

    snprintf(c->name, sizeof(c->name), "unix:%s%s", path, srv);
    snprintf(c->name_disc, sizeof(c->name_disc), "disconnected:unix:%s%s", path, srv);
}

/* The kernel reports the length the address would need: a path that fills
 * all 108 bytes of sun_path has no NUL in the struct and comes back as 111
 * (110 + the NUL it would take). Copy at most sun_path, up to its first NUL. */
void chardev_unix_name(int fd, char *out, size_t outlen)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    size_t n = 0;

    memset(&sa, 0, sizeof(sa));
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX &&
        len > offsetof(struct sockaddr_un, sun_path)) {
        n = len - offsetof(struct sockaddr_un, sun_path);
        if (n > sizeof(sa.sun_path))
            n = sizeof(sa.sun_path);
        n = strnlen(sa.sun_path, n);
    }
    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, sa.sun_path, n);
    out[n] = '\0';
}

/* An inherited fd (libxl passes listening sockets as fd=N): check it is
 * what the spec says it is, and name it by its bound path like QEMU. */
static int adopt_socket(struct chardev *c, const struct chardev_spec *spec, char *err, size_t errlen)
{
    int type = 0, listening = 0;
    socklen_t olen = sizeof(type);
    char path[CHARDEV_UNIX_NAME_MAX];

    if (getsockopt(spec->fd, SOL_SOCKET, SO_TYPE, &type, &olen) < 0 || type != SOCK_STREAM) {
        snprintf(err, errlen, "chardev '%s': fd=%d is not a stream socket", c->id, spec->fd);
        return -1;
    }
    olen = sizeof(listening);
    if (getsockopt(spec->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) < 0)
        listening = 0;
    if (!!listening != spec->server) {
        snprintf(err, errlen, "chardev '%s': fd=%d is %s a listening socket but server=%s",
                 c->id, spec->fd, listening ? "" : "not", spec->server ? "on" : "off");
        return -1;
    }
    chardev_unix_name(spec->fd, path, sizeof(path));
    if (fcntl(spec->fd, F_SETFD, FD_CLOEXEC) < 0 || set_nonblock(spec->fd) < 0) {
        snprintf(err, errlen, "chardev '%s': fd=%d: %s", c->id, spec->fd, strerror(errno));
        return -1;
    }
    if (spec->server)
        c->fd = spec->fd;
    else
        c->conn_fd = spec->fd;
    socket_names(c, path);
    return 0;
}

static int open_socket(struct chardev *c, const struct chardev_spec *spec, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    int s = -1, rc = -1;

    if (spec->wait) {
        snprintf(err, errlen, "chardev '%s': wait=on is not supported (use wait=off)", c->id);
        goto out;
    }
    c->server = spec->server;
    if (spec->fd >= 0) {
        rc = adopt_socket(c, spec, err, errlen);
        goto out;
    }
    if (fill_sun(&sa, spec->path, c->id, err, errlen) < 0)
        goto out;
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "chardev '%s': socket: %s", c->id, strerror(errno));
        goto out;
    }
    if (spec->server) {
        /* A stale socket from an earlier run would make bind fail; only a
         * socket is removed, never another kind of file. */
        if (lstat(spec->path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(spec->path);
        if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0) {
            snprintf(err, errlen, "chardev '%s': cannot listen on %s: %s", c->id, spec->path, strerror(errno));
            goto out;
        }
    } else if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "chardev '%s': cannot connect to %s: %s", c->id, spec->path, strerror(errno));
        goto out;
    }
    if (set_nonblock(s) < 0) {
        snprintf(err, errlen, "chardev '%s': socket: %s", c->id, strerror(errno));
        goto out;
    }
    if (spec->server)
        c->fd = s;
    else
        c->conn_fd = s;
    s = -1;
    socket_names(c, spec->path);
    rc = 0;
out:
    if (s >= 0)
        close(s);
    return rc;
}

static struct chardev *chardev_alloc(const char *id)
{
    struct chardev *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->fd = c->slave_fd = c->conn_fd = -1;
    return c;
}

static void chardev_free(struct chardev *c)
{
    if (!c)
        return;
    input_stop(c);
    listen_stop(c);
    if (c->conn_fd >= 0)
        close(c->conn_fd);
    if (c->fd >= 0)
        close(c->fd);
    if (c->slave_fd >= 0)
        close(c->slave_fd);
    free(c);
}

struct chardev *chardev_open(const struct chardev_spec *spec, struct loop *l, char *err, size_t errlen)
{
    struct chardev *c = NULL;
    int rc = -1;

    if (!spec->id[0] || memchr(spec->id, '\0', sizeof(spec->id)) == NULL) {
        snprintf(err, errlen, "chardev: missing or overlong id");
        goto out;
    }
    if (registry_lookup(spec->id)) {
        snprintf(err, errlen, "chardev: duplicate id '%s'", spec->id);
        goto out;
    }
    c = chardev_alloc(spec->id);
    if (!c) {
        snprintf(err, errlen, "chardev '%s': out of memory", spec->id);
        goto out;
    }
    c->kind = spec->kind;
    switch (spec->kind) {
    case CHARDEV_PTY:
        rc = open_pty(c, err, errlen);
        break;
    case CHARDEV_FILE:
        rc = open_file(c, spec, err, errlen);
        break;
    case CHARDEV_NULL:
        snprintf(c->name, sizeof(c->name), "null");
        rc = 0;
        break;
    case CHARDEV_SOCKET:
        rc = open_socket(c, spec, err, errlen);
        break;
    default:
        snprintf(err, errlen, "chardev '%s': unknown backend", spec->id);
        break;
    }
    if (rc < 0)
        goto out;
    rc = -1;
    if (registry_add(c) < 0) {
        snprintf(err, errlen, "chardev '%s': too many character devices", spec->id);
        goto out;
    }
    c->loop = l;
    if (c->server)
        listen_start(c);
    input_start(c);
    rc = 0;
out:
    if (rc < 0) {
        /* An adopted fd stays the caller's (it is still in spec) on failure. */
        if (spec->fd >= 0) {
            if (c && c->fd == spec->fd)
                c->fd = -1;
            if (c && c->conn_fd == spec->fd)
                c->conn_fd = -1;
        }
        chardev_free(c);
        return NULL;
    }
    return c;
}

void chardev_close(struct chardev *c)
{
    if (!c)
        return;
    registry_remove(c);
    chardev_free(c);
}

void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe)
{
    if (!c)
        return;
    if (fe && fe->can_receive && fe->receive) {
        c->fe = *fe;
        c->have_fe = true;
    } else {
        memset(&c->fe, 0, sizeof(c->fe));
        c->have_fe = false;
    }
    input_start(c);
}

void chardev_accept_input(struct chardev *c)
{
    if (c && !c->in_watched)
        input_start(c);
}

static ssize_t write_some(struct chardev *c, int fd, const uint8_t *buf, size_t len)
{
    ssize_t r;

    if (c->kind == CHARDEV_SOCKET)
        r = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    else
        r = write(fd, buf, len);
    if (r >= 0)
        return r;
    if (c->kind == CHARDEV_SOCKET && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        socket_disconnect(c);
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        log_guest("chardev %s: output dropped: %s", c->id, strerror(errno));
    return 0;
}

ssize_t chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    ssize_t done = 0;
    int fd;

    if (!c || (!buf && len))
        return -1;
    switch (c->kind) {
    case CHARDEV_NULL:
        return (ssize_t)len;
    case CHARDEV_SOCKET:
        fd = c->conn_fd;
        break;
    case CHARDEV_PTY:
    case CHARDEV_FILE:
        fd = c->fd;
        break;
    default:
        fd = -1;
        break;
    }
    if (len && fd >= 0 && !c->label_only)
        done = write_some(c, fd, buf, len);
    c->tx_dropped += len - (size_t)done;
    return done;
}

uint64_t chardev_dropped(const struct chardev *c)
{
    return c ? c->tx_dropped : 0;
}

const char *chardev_filename(const struct chardev *c)
{
    if (!c)
        return "";
    if (c->kind == CHARDEV_SOCKET && !c->label_only && c->conn_fd < 0)
        return c->name_disc;
    return c->name;
}

void chardev_register_label(const char *label, const char *filename, bool frontend_open)
{
    struct chardev *c;

    if (!label || !label[0] || strlen(label) >= CFG_ID_MAX)
        return;
    c = registry_lookup(label);
    if (c && !c->label_only)
        return;                 /* a real backend already reports itself */
    if (!c) {
        c = chardev_alloc(label);
        if (!c)
            return;
        c->label_only = true;
        if (registry_add(c) < 0) {
            log_warn("chardev: no room to list '%s' in query-chardev", label);
            free(c);
            return;
        }
    }
    /* Re-registering updates in place (a monitor that gained a client). */
    snprintf(c->name, sizeof(c->name), "%s", filename ? filename : "");
    c->label_fe_open = frontend_open;
}

json_t *chardev_query(void)
{
    json_t *arr = json_array();
    int i;

    if (!arr)
        return NULL;
    for (i = 0; i < n_registry; i++) {
        const struct chardev *c = registry[i];
        bool fe_open = c->label_only ? c->label_fe_open : c->have_fe;

        /* QEMU's member order, which the reference captures show. */
        json_array_append_new(arr, json_pack("{s:b, s:s, s:s}", "frontend-open", fe_open,
                                             "filename", chardev_filename(c), "label", c->id));
    }
    return arr;
}

int chardev_keep_fds(int *fds, int max)
{
    int i, n = 0;

    for (i = 0; i < n_registry; i++) {
        const struct chardev *c = registry[i];
        int own[3] = { c->fd, c->slave_fd, c->conn_fd };
        int k;

        for (k = 0; k < 3; k++)
            if (own[k] >= 0 && n < max)
                fds[n++] = own[k];
    }
    return n;
}
