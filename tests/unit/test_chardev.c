/* Character backends in-process: null, file, pty and unix sockets (path,
 * inherited fd, server and client), the registry behind query-chardev,
 * flow control toward the frontend, and writes that never block. Every
 * test closes what it opened, so ids can be reused. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm/core/chardev.h"
#include "dm/core/loop.h"
#include "dm/qmp/qmp.h"
#include "tests/lib/ckrun.h"

static char tmpdir[64];
static char err[256];
static struct loop *lp;

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-chardev-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    lp = loop_new();
    ck_assert_ptr_nonnull(lp);
    err[0] = '\0';
}

static void teardown(void)
{
    char cmd[128];

    loop_free(lp);
    lp = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static struct chardev_spec spec_of(const char *id, enum chardev_kind kind, const char *path)
{
    struct chardev_spec s;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    s.kind = kind;
    snprintf(s.path, sizeof(s.path), "%s", path ? path : "");
    s.fd = -1;
    return s;
}

/* A frontend with a settable amount of room that records what it got. */
struct sink {
    size_t room;
    uint8_t got[4096];
    size_t n;
};

static size_t sink_can_receive(void *opaque)
{
    struct sink *k = opaque;

    return k->room;
}

static void sink_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct sink *k = opaque;

    ck_assert_uint_le(len, k->room);
    ck_assert_uint_le(k->n + len, sizeof(k->got));
    memcpy(k->got + k->n, buf, len);
    k->n += len;
    k->room -= len;
}

static void attach(struct chardev *c, struct sink *k)
{
    struct chardev_frontend fe = { .can_receive = sink_can_receive, .receive = sink_receive, .opaque = k };

    chardev_set_frontend(c, &fe);
}

/* Run the loop until the sink holds want bytes (bounded). */
static void pump_until(struct sink *k, size_t want)
{
    int i;

    for (i = 0; i < 200 && k->n < want; i++)
        loop_once(lp, 10);
}

static void write_all(int fd, const void *buf, size_t len)
{
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

static ssize_t read_timeout(int fd, void *buf, size_t len)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    if (poll(&p, 1, 2000) != 1)
        return -1;
    return read(fd, buf, len);
}

static json_t *query_entry(const char *label)
{
    json_t *arr = chardev_query(), *found = NULL, *e;
    size_t i;

    ck_assert(json_is_array(arr));
    json_array_foreach(arr, i, e) {
        ck_assert_ptr_nonnull(json_object_get(e, "label"));
        ck_assert_ptr_nonnull(json_object_get(e, "filename"));
        ck_assert(json_is_boolean(json_object_get(e, "frontend-open")));
        if (!strcmp(json_string_value(json_object_get(e, "label")), label))
            found = json_incref(e);
    }
    json_decref(arr);
    return found;
}

static int unix_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(s, 4), 0);
    return s;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return s;
}

START_TEST(null_backend)
{
    struct chardev_spec s = spec_of("serial0", CHARDEV_NULL, NULL);
    struct chardev *c = chardev_open(&s, lp, err, sizeof(err));
    json_t *e;

    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_eq(chardev_find("serial0"), c);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"abc", 3), 3);
    ck_assert_uint_eq(chardev_dropped(c), 0);
    ck_assert_str_eq(chardev_filename(c), "null");
    e = query_entry("serial0");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "filename")), "null");
    ck_assert(json_is_false(json_object_get(e, "frontend-open")));
    json_decref(e);
    chardev_close(c);
    ck_assert_ptr_null(chardev_find("serial0"));
}
END_TEST

START_TEST(file_backend_appends)
{
    char path[128], buf[64];
    struct chardev_spec s;
    struct chardev *c;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/serial.log", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    write_all(fd, "old|", 4);
    close(fd);
    s = spec_of("serial0", CHARDEV_FILE, path);
    c = chardev_open(&s, lp, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_str_eq(chardev_filename(c), "file");
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"hello", 5), 5);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"!", 1), 1);
    chardev_close(c);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    ck_assert_int_eq(n, 10);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "old|hello!");
}
END_TEST

START_TEST(file_backend_errors)
{
    char path[192];
    struct chardev_spec s;

    snprintf(path, sizeof(path), "%s/no/such/dir/log", tmpdir);
    s = spec_of("serial0", CHARDEV_FILE, path);
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "serial0"));
    s = spec_of("serial0", CHARDEV_FILE, "");
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));
    ck_assert_ptr_null(chardev_find("serial0"));
}
END_TEST

START_TEST(pty_round_trip)
{
    struct chardev_spec s = spec_of("serial0", CHARDEV_PTY, NULL);
    struct chardev *c = chardev_open(&s, lp, err, sizeof(err));
    struct sink k = { .room = 64 };
    const char *name;
    char buf[16];
    json_t *e;
    int slave;

    ck_assert_msg(c != NULL, "%s", err);
    name = chardev_filename(c);
    ck_assert_int_eq(strncmp(name, "pty:/dev/pts/", 13), 0);
    attach(c, &k);
    e = query_entry("serial0");
    ck_assert_str_eq(json_string_value(json_object_get(e, "filename")), name);
    ck_assert(json_is_true(json_object_get(e, "frontend-open")));
    json_decref(e);

    slave = open(name + 4, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"out", 3), 3);
    ck_assert_int_eq(read_timeout(slave, buf, sizeof(buf)), 3);
    ck_assert_int_eq(memcmp(buf, "out", 3), 0);
    write_all(slave, "in\r\n", 4);      /* raw mode: no translation */
    pump_until(&k, 4);
    ck_assert_uint_eq(k.n, 4);
    ck_assert_int_eq(memcmp(k.got, "in\r\n", 4), 0);
    /* The user side going away must not make the loop spin or fail. */
    close(slave);
    ck_assert_int_eq(loop_once(lp, 50), 0);
    chardev_close(c);
}
END_TEST

START_TEST(flow_control)
{
    struct chardev_spec s = spec_of("serial0", CHARDEV_PTY, NULL);
    struct chardev *c = chardev_open(&s, lp, err, sizeof(err));
    struct sink k = { .room = 3 };
    int slave, i;

    ck_assert_msg(c != NULL, "%s", err);
    attach(c, &k);
    slave = open(chardev_filename(c) + 4, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    write_all(slave, "0123456789", 10);
    pump_until(&k, 3);
    ck_assert_uint_eq(k.n, 3);
    /* No room: nothing more is taken however long the loop runs, and the
     * loop is idle (the fd left it after one wakeup) rather than spinning. */
    loop_once(lp, 10);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(loop_once(lp, 10), 0);
    ck_assert_uint_eq(k.n, 3);
    k.room = 4;
    chardev_accept_input(c);
    pump_until(&k, 7);
    ck_assert_uint_eq(k.n, 7);
    k.room = 100;
    chardev_accept_input(c);
    pump_until(&k, 10);
    ck_assert_uint_eq(k.n, 10);
    ck_assert_int_eq(memcmp(k.got, "0123456789", 10), 0);
    close(slave);
    chardev_close(c);
}
END_TEST

START_TEST(pty_output_never_blocks)
{
    struct chardev_spec s = spec_of("serial0", CHARDEV_PTY, NULL);
    struct chardev *c = chardev_open(&s, lp, err, sizeof(err));
    uint8_t buf[4096];
    uint64_t written = 0;
    int i;

    ck_assert_msg(c != NULL, "%s", err);
    memset(buf, 'x', sizeof(buf));
    /* Nobody reads the pty: the kernel buffer fills, then bytes are dropped. */
    for (i = 0; i < 256; i++) {
        ssize_t r = chardev_write(c, buf, sizeof(buf));

        ck_assert_int_ge(r, 0);
        written += (uint64_t)r;
    }
    ck_assert_uint_lt(written, 256 * sizeof(buf));
    ck_assert_uint_eq(chardev_dropped(c), 256 * sizeof(buf) - written);
    chardev_close(c);
}
END_TEST

START_TEST(socket_server_path)
{
    char path[128], buf[16];
    struct chardev_spec s;
    struct chardev *c;
    struct sink k = { .room = 64 };
    char want[160];
    int cl, i;

    snprintf(path, sizeof(path), "%s/serial.sock", tmpdir);
    s = spec_of("ch0", CHARDEV_SOCKET, path);
    s.server = true;
    c = chardev_open(&s, lp, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    attach(c, &k);
    snprintf(want, sizeof(want), "disconnected:unix:%s,server=on", path);
    ck_assert_str_eq(chardev_filename(c), want);
    /* No peer yet: output is dropped and counted. */
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"lost", 4), 0);
    ck_assert_uint_eq(chardev_dropped(c), 4);

    cl = unix_connect(path);
    for (i = 0; i < 100 && strncmp(chardev_filename(c), "unix:", 5); i++)
        loop_once(lp, 10);
    snprintf(want, sizeof(want), "unix:%s,server=on", path);
    ck_assert_str_eq(chardev_filename(c), want);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"ping", 4), 4);
    ck_assert_int_eq(read_timeout(cl, buf, sizeof(buf)), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    write_all(cl, "pong", 4);
    pump_until(&k, 4);
    ck_assert_int_eq(memcmp(k.got, "pong", 4), 0);

    /* Peer leaves: back to disconnected, and a new client is accepted. */
    close(cl);
    for (i = 0; i < 100 && strncmp(chardev_filename(c), "disconnected:", 13); i++)
        loop_once(lp, 10);
    ck_assert_int_eq(strncmp(chardev_filename(c), "disconnected:", 13), 0);
    cl = unix_connect(path);
    for (i = 0; i < 100 && strncmp(chardev_filename(c), "unix:", 5); i++)
        loop_once(lp, 10);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"again", 5), 5);
    ck_assert_int_eq(read_timeout(cl, buf, sizeof(buf)), 5);
    ck_assert_int_eq(memcmp(buf, "again", 5), 0);
    close(cl);
    chardev_close(c);
}
END_TEST

START_TEST(socket_server_inherited_fd)
{
    char path[128], want[160], buf[8];
    struct chardev_spec s;
    struct chardev *c;
    int lfd, cl, i, fds[8], n;
    bool kept = false;

    snprintf(path, sizeof(path), "%s/qmp.sock", tmpdir);
    lfd = unix_listen(path);
    s = spec_of("libxl-cmd", CHARDEV_SOCKET, NULL);
    s.server = true;
    s.fd = lfd;
    c = chardev_open(&s, lp, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    /* Named by its bound path, as QEMU names an fd= socket. */
    snprintf(want, sizeof(want), "disconnected:unix:%s,server=on", path);
    ck_assert_str_eq(chardev_filename(c), want);
    n = chardev_keep_fds(fds, 8);
    for (i = 0; i < n; i++)
        kept |= fds[i] == lfd;
    ck_assert(kept);
    cl = unix_connect(path);
    for (i = 0; i < 100 && strncmp(chardev_filename(c), "unix:", 5); i++)
        loop_once(lp, 10);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"hi", 2), 2);
    ck_assert_int_eq(read_timeout(cl, buf, sizeof(buf)), 2);
    close(cl);
    chardev_close(c);       /* closes the adopted fd too */
    ck_assert_int_eq(fcntl(lfd, F_GETFD), -1);
}
END_TEST

/* A socket bound to a path that fills all 108 bytes of sun_path (no NUL in
 * the struct): the kernel reports an address length of 111. Bound by a
 * relative name inside tmpdir so the path can be that long. */
static int listen_full_sun_path(char *name, size_t namelen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len = sizeof(sa);
    char cwd[256];
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_uint_gt(namelen, sizeof(sa.sun_path));
    ck_assert_int_ge(s, 0);
    memset(name, 'q', sizeof(sa.sun_path));
    name[sizeof(sa.sun_path)] = '\0';
    memcpy(sa.sun_path, name, sizeof(sa.sun_path));
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(listen(s, 4), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    ck_assert_uint_gt(len, sizeof(sa));        /* what the fix is about */
    return s;
}

START_TEST(socket_inherited_fd_108_byte_path)
{
    char name[128], want[200], got[CHARDEV_UNIX_NAME_MAX + 8];
    struct chardev_spec s;
    struct chardev *c;
    int lfd = listen_full_sun_path(name, sizeof(name));

    /* The name is the whole 108 bytes, nothing read or written past them. */
    memset(got, 'X', sizeof(got));
    chardev_unix_name(lfd, got, CHARDEV_UNIX_NAME_MAX);
    ck_assert_str_eq(got, name);
    ck_assert_int_eq(got[CHARDEV_UNIX_NAME_MAX], 'X');
    /* A short buffer gets a cut, terminated name. */
    chardev_unix_name(lfd, got, 8);
    ck_assert_str_eq(got, "qqqqqqq");

    s = spec_of("libxl-cmd", CHARDEV_SOCKET, NULL);
    s.server = true;
    s.fd = lfd;
    c = chardev_open(&s, lp, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    snprintf(want, sizeof(want), "disconnected:unix:%s,server=on", name);
    ck_assert_str_eq(chardev_filename(c), want);
    chardev_close(c);
}
END_TEST

START_TEST(socket_fd_mismatch)
{
    struct chardev_spec s = spec_of("ch0", CHARDEV_SOCKET, NULL);
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.server = true;
    s.fd = sv[0];           /* connected, not listening */
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "listening"));
    /* On failure the fd stays the caller's. */
    ck_assert_int_ne(fcntl(sv[0], F_GETFD), -1);
    close(sv[0]);
    close(sv[1]);
    s.fd = -1;
    s.wait = true;
    snprintf(s.path, sizeof(s.path), "%s/x.sock", tmpdir);
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "wait"));
}
END_TEST

START_TEST(socket_client)
{
    char path[128], buf[8];
    struct chardev_spec s;
    struct chardev *c;
    struct sink k = { .room = 64 };
    int lfd, peer;

    snprintf(path, sizeof(path), "%s/peer.sock", tmpdir);
    s = spec_of("ch0", CHARDEV_SOCKET, path);
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));    /* nobody listening */
    lfd = unix_listen(path);
    c = chardev_open(&s, lp, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    attach(c, &k);
    peer = accept(lfd, NULL, NULL);
    ck_assert_int_ge(peer, 0);
    ck_assert_int_eq(strncmp(chardev_filename(c), "unix:", 5), 0);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"abc", 3), 3);
    ck_assert_int_eq(read_timeout(peer, buf, sizeof(buf)), 3);
    write_all(peer, "xyz", 3);
    pump_until(&k, 3);
    ck_assert_int_eq(memcmp(k.got, "xyz", 3), 0);
    close(peer);
    pump_until(&k, 4);      /* sees the hangup */
    ck_assert_int_eq(strncmp(chardev_filename(c), "disconnected:", 13), 0);
    ck_assert_int_eq(chardev_write(c, (const uint8_t *)"z", 1), 0);
    ck_assert_uint_eq(chardev_dropped(c), 1);
    chardev_close(c);
    close(lfd);
}
END_TEST

START_TEST(socket_full_peer_drops)
{
    char path[128];
    struct chardev_spec s;
    struct chardev *c;
    uint8_t buf[8192];
    uint64_t written = 0;
    int lfd, peer, i;

    snprintf(path, sizeof(path), "%s/slow.sock", tmpdir);
    lfd = unix_listen(path);
    s = spec_of("ch0", CHARDEV_SOCKET, path);
    c = chardev_open(&s, lp, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    peer = accept(lfd, NULL, NULL);
    memset(buf, 'y', sizeof(buf));
    for (i = 0; i < 512; i++)
        written += (uint64_t)chardev_write(c, buf, sizeof(buf));
    ck_assert_uint_lt(written, 512 * sizeof(buf));
    ck_assert_uint_eq(chardev_dropped(c), 512 * sizeof(buf) - written);
    /* Still connected: a full peer is not a dead one. */
    ck_assert_int_eq(strncmp(chardev_filename(c), "unix:", 5), 0);
    chardev_close(c);
    close(peer);
    close(lfd);
}
END_TEST

START_TEST(registry_rules)
{
    struct chardev_spec s = spec_of("serial0", CHARDEV_NULL, NULL);
    struct chardev *c = chardev_open(&s, lp, err, sizeof(err));
    json_t *arr, *e;

    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    s = spec_of("", CHARDEV_NULL, NULL);
    ck_assert_ptr_null(chardev_open(&s, lp, err, sizeof(err)));

    chardev_register_label("libxl-cmd", "disconnected:unix:/run/q,server=on", false);
    e = query_entry("libxl-cmd");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "filename")), "disconnected:unix:/run/q,server=on");
    ck_assert(json_is_false(json_object_get(e, "frontend-open")));
    json_decref(e);
    chardev_register_label("libxl-cmd", "unix:/run/q,server=on", true);
    e = query_entry("libxl-cmd");
    ck_assert_str_eq(json_string_value(json_object_get(e, "filename")), "unix:/run/q,server=on");
    ck_assert(json_is_true(json_object_get(e, "frontend-open")));
    json_decref(e);
    /* A label is not a backend, and cannot shadow one. */
    ck_assert_ptr_null(chardev_find("libxl-cmd"));
    chardev_register_label("serial0", "bogus", true);
    ck_assert_str_eq(chardev_filename(chardev_find("serial0")), "null");

    /* Creation order, one entry per label. */
    arr = chardev_query();
    ck_assert_uint_ge(json_array_size(arr), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "label")), "serial0");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1), "label")), "libxl-cmd");
    json_decref(arr);
    chardev_close(c);
}
END_TEST

/* The QMP command returns the registry in libxl's expected shape. */
START_TEST(qmp_query_chardev)
{
    const struct qmp_command *cmd = qmp_find("query-chardev");
    struct chardev_spec s = spec_of("serial0", CHARDEV_PTY, NULL);
    struct chardev *c = chardev_open(&s, lp, err, sizeof(err));
    struct qmp_request req;
    struct qmp_error qe;
    json_t *ret = NULL, *e;
    const char *keys[3];
    const char *k;
    json_t *v;
    int n = 0;

    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_nonnull(cmd);
    chardev_register_label("libxl-cmd", "unix:/run/xen/qmp-libxl-1,server=on", true);
    memset(&req, 0, sizeof(req));
    memset(&qe, 0, sizeof(qe));
    req.name = "query-chardev";
    req.args = json_object();
    ck_assert_int_eq(cmd->fn(&req, &ret, &qe), 0);
    ck_assert(json_is_array(ret));
    e = NULL;
    for (size_t i = 0; i < json_array_size(ret); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(ret, i), "label")), "serial0"))
            e = json_array_get(ret, i);
    ck_assert_ptr_nonnull(e);
    json_object_foreach(e, k, v) {
        ck_assert_int_lt(n, 3);
        keys[n++] = k;
    }
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(keys[0], "frontend-open");
    ck_assert_str_eq(keys[1], "filename");
    ck_assert_str_eq(keys[2], "label");
    ck_assert_str_eq(json_string_value(json_object_get(e, "filename")), chardev_filename(c));
    n = 0;
    for (size_t i = 0; i < json_array_size(ret); i++)
        n += !strcmp(json_string_value(json_object_get(json_array_get(ret, i), "label")), "libxl-cmd");
    ck_assert_int_eq(n, 1);
    json_decref(ret);
    json_decref(req.args);
    chardev_close(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chardev");
    TCase *tc = tcase_create("backends");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, null_backend);
    tcase_add_test(tc, file_backend_appends);
    tcase_add_test(tc, file_backend_errors);
    tcase_add_test(tc, pty_round_trip);
    tcase_add_test(tc, flow_control);
    tcase_add_test(tc, pty_output_never_blocks);
    tcase_add_test(tc, socket_server_path);
    tcase_add_test(tc, socket_server_inherited_fd);
    tcase_add_test(tc, socket_inherited_fd_108_byte_path);
    tcase_add_test(tc, socket_fd_mismatch);
    tcase_add_test(tc, socket_client);
    tcase_add_test(tc, socket_full_peer_drops);
    tcase_add_test(tc, registry_rules);
    tcase_add_test(tc, qmp_query_chardev);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
