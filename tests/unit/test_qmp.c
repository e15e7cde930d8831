/* The QMP server in-process: a socketpair, the server attached to one end
 * (qmp_server_attach_client), the test as the client on the other. The test
 * pumps the server's loop (loop_once) until a whole message has arrived, so
 * no threads are needed. Covers the greeting, negotiation, every core
 * command, fds by SCM_RIGHTS on the first and on a later byte, malformed
 * input, the size and depth limits, duplicate keys, and that the session
 * goes on after each error. Framing is QEMU's JSON stream: back-to-back,
 * split, pretty-printed and newline-less requests, resynchronisation after
 * garbage, and which request an fd belongs to when a write holds several. */
#include <check.h>
#include <dirent.h>
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

#include "dm/board/dm.h"
#include "dm/core/config.h"
#include "dm/core/fdset.h"
#include "dm/core/loop.h"
#include "dm/qmp/qmp-version.h"
#include "dm/qmp/qmp.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/sendfd.h"

#define MAX_ROUNDS 2000          /* loop rounds before a missing reply fails the test */

static struct dm d;
static struct qmp_server *srv;
static int cfd = -1;
static char rbuf[256 * 1024];
static size_t rlen;

static void setup(void)
{
    int sv[2];

    memset(&d, 0, sizeof(d));
    cli_defaults(&d.cfg);
    d.loop = loop_new();
    ck_assert_ptr_nonnull(d.loop);
    d.machine.state = RUN_PRELAUNCH;
    dm_set(&d);
    fdset_clear();
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    srv = qmp_server_new(d.loop, -1, "test");
    ck_assert_ptr_nonnull(srv);
    ck_assert_int_eq(qmp_server_attach_client(srv, sv[1]), 0);
    cfd = sv[0];
    rlen = 0;
}

static void teardown(void)
{
    qmp_server_free(srv);
    srv = NULL;
    if (cfd >= 0)
        close(cfd);
    cfd = -1;
    fdset_clear();
    loop_free(d.loop);
    dm_set(NULL);
}

/* Bytes to the server, an fd (if >= 0) riding on the first of them. */
static void send_bytes(const void *buf, size_t len, int fd)
{
    size_t off = 0;

    while (off < len) {
        ssize_t r = send_with_fd(cfd, (const char *)buf + off, len - off, fd, 0);

        if (r < 0 && errno == EAGAIN) {
            loop_once(d.loop, 10);
            continue;
        }
        ck_assert_int_gt(r, 0);
        off += (size_t)r;
        fd = -1;                    /* the fd goes with the first byte only */
    }
}

static void send_str(const char *s, int fd) { send_bytes(s, strlen(s), fd); }

/* Pump the server and read until one whole line is there; NULL on EOF. */
static json_t *recv_msg(void)
{
    int round;

    for (round = 0; round < MAX_ROUNDS; round++) {
        char *nl = memchr(rbuf, '\n', rlen);

        if (nl) {
            size_t n = (size_t)(nl - rbuf) + 1;
            json_error_t je;
            json_t *j;

            ck_assert_msg(n >= 2 && rbuf[n - 2] == '\r', "reply not \\r\\n terminated");
            j = json_loadb(rbuf, n, 0, &je);
            ck_assert_msg(j != NULL, "reply is not JSON: %.*s", (int)n, rbuf);
            memmove(rbuf, rbuf + n, rlen - n);
            rlen -= n;
            return j;
        }
        loop_once(d.loop, 0);
        {
            struct pollfd p = { .fd = cfd, .events = POLLIN };

            if (poll(&p, 1, round < 10 ? 0 : 5) > 0) {
                ssize_t r = read(cfd, rbuf + rlen, sizeof(rbuf) - rlen);

                if (r == 0)
                    return NULL;
                ck_assert_int_gt(r, 0);
                rlen += (size_t)r;
            }
        }
    }
    ck_abort_msg("no message from the server");
    return NULL;
}

/* Nothing more from the server after it processed everything it has. */
static void assert_no_message(void)
{
    struct pollfd p = { .fd = cfd, .events = POLLIN };
    int i;

    for (i = 0; i < 20; i++)
        loop_once(d.loop, 0);
    ck_assert_msg(rlen == 0 && poll(&p, 1, 0) == 0, "unexpected message from the server");
}

static json_t *xfer(const char *line, int fd)
{
    size_t n = strlen(line);
    char *buf = malloc(n + 3);
    json_t *m;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, line, n);
    memcpy(buf + n, "\r\n", 3);
    send_bytes(buf, n + 2, fd);
    free(buf);
    m = recv_msg();
    return m;
}

static void assert_error(json_t *m, const char *cls, const char *desc)
{
    json_t *e = json_object_get(m, "error");

    ck_assert_msg(e != NULL, "expected an error, got %s", json_dumps(m, 0));
    ck_assert_str_eq(json_string_value(json_object_get(e, "class")), cls);
    if (desc)
        ck_assert_str_eq(json_string_value(json_object_get(e, "desc")), desc);
    else
        ck_assert_ptr_nonnull(json_string_value(json_object_get(e, "desc")));
}

static void assert_error_prefix(json_t *m, const char *cls, const char *prefix)
{
    const char *desc;

    assert_error(m, cls, NULL);
    desc = json_string_value(json_object_get(json_object_get(m, "error"), "desc"));
    ck_assert_msg(!strncmp(desc, prefix, strlen(prefix)), "desc '%s' does not start with '%s'", desc, prefix);
}

static json_t *ret_of(json_t *m)
{
    json_t *r = json_object_get(m, "return");

    ck_assert_msg(r != NULL, "expected a return, got %s", json_dumps(m, 0));
    return r;
}

static void greet_and_negotiate(void)
{
    json_t *m = recv_msg();

    ck_assert_ptr_nonnull(json_object_get(m, "QMP"));
    json_decref(m);
    m = xfer("{\"execute\":\"qmp_capabilities\",\"id\":2020372736}", -1);
    ret_of(m);
    json_decref(m);
}

/* The session still works: query-status answers with the id we gave. */
static void assert_alive(void)
{
    json_t *m = xfer("{\"execute\":\"query-status\",\"id\":4242}", -1);

    ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 4242);
    json_decref(m);
}

static int count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1;   /* the DIR's own fd */
}

static int tmp_fd(int flags)
{
    char path[] = "/tmp/xsdm-test-qmp-XXXXXX";
    int fd = mkstemp(path);
    int fd2;

    ck_assert_int_ge(fd, 0);
    fd2 = open(path, flags | O_CLOEXEC);
    ck_assert_int_ge(fd2, 0);
    unlink(path);
    close(fd);
    return fd2;
}

START_TEST(greeting)
{
    json_t *m = recv_msg();
    json_t *q = json_object_get(m, "QMP");
    json_t *v = json_object_get(json_object_get(q, "version"), "qemu");
    long long major, minor;

    ck_assert_ptr_nonnull(q);
    major = json_integer_value(json_object_get(v, "major"));
    minor = json_integer_value(json_object_get(v, "minor"));
    ck_assert_msg(major > 2 || (major == 2 && minor >= 11), "version %lld.%lld below 2.11", major, minor);
    ck_assert(json_is_integer(json_object_get(v, "micro")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(q, "version"), "package")), "xsdm");
    ck_assert(json_is_array(json_object_get(q, "capabilities")));
    json_decref(m);
}
END_TEST

/* The greeting is a compile-time string: it must be exactly what jansson
 * prints for the greeting object, so that it cannot drift from
 * query-version or from QEMU's layout. */
START_TEST(greeting_text_is_jansson_output)
{
    json_t *g = json_pack("{s:{s:o,s:[]}}", "QMP", "version", qmp_version_json(), "capabilities");
    char *txt = json_dumps(g, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

    ck_assert_ptr_nonnull(txt);
    ck_assert_str_eq(XSDM_QMP_GREETING, txt);
    free(txt);
    json_decref(g);
}
END_TEST

START_TEST(negotiation_required)
{
    json_t *m = recv_msg();

    json_decref(m);
    m = xfer("{\"execute\":\"query-status\",\"id\":1}", -1);
    assert_error(m, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 1);
    json_decref(m);
    /* Even an unknown command gets the negotiation error first. */
    m = xfer("{\"execute\":\"no-such-thing\"}", -1);
    assert_error(m, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
    json_decref(m);
    m = xfer("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"id\":2}", -1);
    assert_error(m, "GenericError", "Capability oob not available");
    json_decref(m);
    m = xfer("{\"execute\":\"qmp_capabilities\",\"id\":3}", -1);
    ck_assert_int_eq(json_object_size(ret_of(m)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 3);
    json_decref(m);
    m = xfer("{\"execute\":\"qmp_capabilities\",\"id\":4}", -1);
    assert_error(m, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
    json_decref(m);
    assert_alive();
}
END_TEST

START_TEST(id_any_type)
{
    static const char *const ids[] = { "\"str\"", "{\"a\":[1,2]}", "[1]", "null", "1.5", "true", "-7" };
    size_t i;

    greet_and_negotiate();
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char line[256];
        json_t *m, *want = json_loads(ids[i], JSON_DECODE_ANY, NULL);

        snprintf(line, sizeof(line), "{\"id\":%s,\"execute\":\"query-version\"}", ids[i]);
        m = xfer(line, -1);
        ret_of(m);
        ck_assert_msg(json_equal(json_object_get(m, "id"), want), "id %s not echoed", ids[i]);
        json_decref(m);
        snprintf(line, sizeof(line), "{\"id\":%s,\"execute\":\"nope\"}", ids[i]);
        m = xfer(line, -1);
        assert_error(m, "CommandNotFound", "The command nope has not been found");
        ck_assert(json_equal(json_object_get(m, "id"), want));
        json_decref(m);
        json_decref(want);
    }
}
END_TEST

START_TEST(query_version_matches_greeting)
{
    json_t *g = recv_msg(), *m;

    m = xfer("{\"execute\":\"qmp_capabilities\"}", -1);
    json_decref(m);
    m = xfer("{\"execute\":\"query-version\",\"id\":9}", -1);
    ck_assert(json_equal(ret_of(m), json_object_get(json_object_get(g, "QMP"), "version")));
    json_decref(m);
    json_decref(g);
}
END_TEST

static const char *status_of(void)
{
    static char buf[32];
    json_t *m = xfer("{\"execute\":\"query-status\",\"id\":1}", -1);
    json_t *r = ret_of(m);
    const char *st = json_string_value(json_object_get(r, "status"));

    ck_assert(json_is_false(json_object_get(r, "singlestep")));
    ck_assert_int_eq(json_is_true(json_object_get(r, "running")), !strcmp(st, "running"));
    snprintf(buf, sizeof(buf), "%s", st);
    json_decref(m);
    return buf;
}

static void assert_event(json_t *m, const char *name)
{
    json_t *ts = json_object_get(m, "timestamp");

    ck_assert_msg(json_object_get(m, "event") != NULL, "expected event %s, got %s", name, json_dumps(m, 0));
    ck_assert_str_eq(json_string_value(json_object_get(m, "event")), name);
    ck_assert(json_is_integer(json_object_get(ts, "seconds")));
    ck_assert(json_is_integer(json_object_get(ts, "microseconds")));
    ck_assert_int_lt(json_integer_value(json_object_get(ts, "microseconds")), 1000000);
}

START_TEST(run_state)
{
    json_t *m;

    greet_and_negotiate();
    ck_assert_str_eq(status_of(), "prelaunch");
    send_str("{\"execute\":\"cont\",\"id\":10}\r\n", -1);
    m = recv_msg();
    assert_event(m, "RESUME");
    json_decref(m);
    m = recv_msg();
    ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 10);
    json_decref(m);
    ck_assert_str_eq(status_of(), "running");
    ck_assert_int_eq(d.machine.state, RUN_RUNNING);

    /* cont is idempotent: a plain reply, no event. */
    m = xfer("{\"execute\":\"cont\",\"id\":11}", -1);
    ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 11);
    json_decref(m);
    ck_assert_str_eq(status_of(), "running");

    send_str("{\"execute\":\"stop\",\"id\":12}\r\n", -1);
    m = recv_msg();
    assert_event(m, "STOP");
    json_decref(m);
    m = recv_msg();
    ret_of(m);
    json_decref(m);
    ck_assert_str_eq(status_of(), "paused");
    m = xfer("{\"execute\":\"stop\",\"id\":13}", -1);
    ret_of(m);
    json_decref(m);
    ck_assert_str_eq(status_of(), "paused");
    assert_no_message();
}
END_TEST

START_TEST(stop_in_prelaunch_and_shutdown)
{
    json_t *m;

    greet_and_negotiate();
    /* QEMU: stopping a VM that never ran makes it paused, without STOP. */
    m = xfer("{\"execute\":\"stop\",\"id\":1}", -1);
    ret_of(m);
    json_decref(m);
    ck_assert_str_eq(status_of(), "paused");
    d.machine.state = RUN_SHUTDOWN;
    ck_assert_str_eq(status_of(), "shutdown");
    m = xfer("{\"execute\":\"cont\",\"id\":2}", -1);
    assert_error(m, "GenericError", "Resetting the Virtual Machine is required");
    json_decref(m);
}
END_TEST

START_TEST(events_only_after_negotiation)
{
    json_t *m = recv_msg();

    json_decref(m);
    dm_cont(&d);            /* RESUME, but nobody negotiated yet */
    m = xfer("{\"execute\":\"qmp_capabilities\",\"id\":1}", -1);
    ret_of(m);
    json_decref(m);
    assert_no_message();
}
END_TEST

START_TEST(quit)
{
    json_t *m, *data;

    greet_and_negotiate();
    /* What follows quit in the same write is not served. */
    send_str("{\"execute\":\"quit\",\"id\":77}\r\n{\"execute\":\"cont\",\"id\":78}\r\n", -1);
    m = recv_msg();
    assert_event(m, "SHUTDOWN");
    data = json_object_get(m, "data");
    ck_assert(json_is_false(json_object_get(data, "guest")));
    ck_assert_str_eq(json_string_value(json_object_get(data, "reason")), "host-qmp-quit");
    json_decref(m);
    m = recv_msg();
    ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 77);
    json_decref(m);
    ck_assert(d.quit_requested);
    ck_assert(loop_quitting(d.loop));
    ck_assert_int_eq(d.machine.state, RUN_PRELAUNCH);     /* cont did not run */
}
END_TEST

START_TEST(system_reset)
{
    json_t *m;

    greet_and_negotiate();
    d.machine.state = RUN_SHUTDOWN;     /* stopped by a guest poweroff under -no-shutdown */
    send_str("{\"execute\":\"system_reset\",\"id\":5}\r\n", -1);
    m = recv_msg();
    assert_event(m, "RESET");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "data"), "reason")),
                     "host-qmp-system-reset");
    json_decref(m);
    m = recv_msg();
    ret_of(m);
    json_decref(m);
    /* As QEMU: after the reset the VM can be started again. */
    ck_assert_str_eq(status_of(), "prelaunch");
}
END_TEST

static json_t *query_fdsets(void)
{
    json_t *m = xfer("{\"execute\":\"query-fdsets\",\"id\":1}", -1);
    json_t *r = json_incref(ret_of(m));

    json_decref(m);
    return r;
}

START_TEST(add_fd_first_byte)
{
    struct stat a, b;
    json_t *m, *r, *sets, *fds;
    int fd = tmp_fd(O_RDWR), got;

    greet_and_negotiate();
    /* libxl's way: the fd rides on the '{', the rest follows in a write. */
    send_bytes("{", 1, fd);
    m = xfer("\"execute\":\"add-fd\",\"id\":2020372738,\"arguments\":{\"opaque\":\"raw:/srv/a.iso\"}}", -1);
    r = ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "fdset-id")), 0);
    ck_assert(json_is_integer(json_object_get(r, "fd")));
    got = (int)json_integer_value(json_object_get(r, "fd"));
    /* In-process: the fd the server reports is one of ours, the same file. */
    ck_assert_int_eq(fstat(fd, &a), 0);
    ck_assert_int_eq(fstat(got, &b), 0);
    ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    ck_assert_int_ne(got, fd);
    json_decref(m);

    sets = query_fdsets();
    ck_assert_int_eq(json_array_size(sets), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(sets, 0), "fdset-id")), 0);
    fds = json_object_get(json_array_get(sets, 0), "fds");
    ck_assert_int_eq(json_array_size(fds), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(fds, 0), "fd")), got);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fds, 0), "opaque")), "raw:/srv/a.iso");
    json_decref(sets);

    m = xfer("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0},\"id\":3}", -1);
    ret_of(m);
    json_decref(m);
    ck_assert_int_eq(fcntl(got, F_GETFD), -1);     /* closed by remove-fd */
    sets = query_fdsets();
    ck_assert_int_eq(json_array_size(sets), 0);
    json_decref(sets);
    m = xfer("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0},\"id\":4}", -1);
    assert_error(m, "GenericError", "File descriptor named 'fdset-id:0' not found");
    json_decref(m);
    close(fd);
}
END_TEST

START_TEST(add_fd_later_byte)
{
    json_t *m, *r;
    int fd = tmp_fd(O_RDONLY);
    const char *part1 = "{\"execute\":\"add-fd\",";
    const char *part2 = "\"arguments\":{\"fdset-id\":5},";
    const char *part3 = "\"id\":6}\r\n";
    int i;

    greet_and_negotiate();
    send_str(part1, -1);
    for (i = 0; i < 5; i++)
        loop_once(d.loop, 0);      /* the server has read part 1 already */
    send_str(part2, fd);
    for (i = 0; i < 5; i++)
        loop_once(d.loop, 0);
    send_str(part3, -1);
    m = recv_msg();
    r = ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "fdset-id")), 5);
    json_decref(m);

    /* fd on the very last byte, everything sent before the server reads. */
    send_str("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":5},\"id\":7}\r", -1);
    send_str("\n", fd);
    m = recv_msg();
    r = ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "fdset-id")), 5);
    json_decref(m);
    ck_assert_int_eq(fdset_all_fds((int[8]){ 0 }, 8), 2);
    close(fd);
}
END_TEST

START_TEST(add_fd_errors)
{
    json_t *m, *r;
    int fd = tmp_fd(O_RDONLY), before;

    greet_and_negotiate();
    m = xfer("{\"execute\":\"add-fd\",\"id\":1}", -1);
    assert_error(m, "GenericError", "No file descriptor supplied via SCM_RIGHTS");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 1);
    json_decref(m);
    before = count_fds();
    m = xfer("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":-1},\"id\":2}", fd);
    assert_error(m, "GenericError", "Parameter 'fdset-id' expects a non-negative value");
    json_decref(m);
    m = xfer("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":\"x\"},\"id\":3}", fd);
    assert_error(m, "GenericError", "Invalid parameter type for 'fdset-id', expected: integer");
    json_decref(m);
    m = xfer("{\"execute\":\"add-fd\",\"arguments\":{\"opaque\":1},\"id\":4}", fd);
    assert_error(m, "GenericError", "Invalid parameter type for 'opaque', expected: string");
    json_decref(m);
    ck_assert_int_eq(count_fds(), before);          /* refused fds were closed */
    /* Lowest free id is allocated when none is given. */
    m = xfer("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":0},\"id\":5}", fd);
    ret_of(m);
    json_decref(m);
    m = xfer("{\"execute\":\"add-fd\",\"id\":6}", fd);
    r = ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "fdset-id")), 1);
    json_decref(m);
    m = xfer("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":1,\"fd\":999},\"id\":7}", -1);
    assert_error(m, "GenericError", "File descriptor named 'fdset-id:1, fd:999' not found");
    json_decref(m);
    m = xfer("{\"execute\":\"remove-fd\",\"id\":8}", -1);
    assert_error(m, "GenericError", "Parameter 'fdset-id' is missing");
    json_decref(m);
    close(fd);
    assert_alive();
}
END_TEST

START_TEST(fd_without_command)
{
    json_t *m;
    int fd = tmp_fd(O_RDONLY), before;

    greet_and_negotiate();
    before = count_fds();
    m = xfer("", fd);
    assert_error(m, "GenericError", NULL);
    ck_assert_ptr_null(json_object_get(m, "id"));
    json_decref(m);
    ck_assert_int_eq(count_fds(), before);
    /* A command that takes no fd: the fd is closed, the command answered. */
    m = xfer("{\"execute\":\"query-status\",\"id\":3}", fd);
    ret_of(m);
    json_decref(m);
    ck_assert_int_eq(count_fds(), before);
    /* Unparsable request with an fd: error, fd closed. */
    m = xfer("{nope", fd);
    assert_error_prefix(m, "GenericError", "JSON parse error");
    json_decref(m);
    ck_assert_int_eq(count_fds(), before);
    close(fd);
    assert_alive();
}
END_TEST

START_TEST(fd_then_disconnect)
{
    int fd = tmp_fd(O_RDONLY), before, i;

    greet_and_negotiate();
    before = count_fds();
    send_str("{\"execute\":\"add", fd);
    for (i = 0; i < 5; i++)
        loop_once(d.loop, 0);
    close(cfd);
    cfd = -1;
    for (i = 0; i < 5 && qmp_server_client_fd(srv) >= 0; i++)
        loop_once(d.loop, 0);
    ck_assert_int_eq(qmp_server_client_fd(srv), -1);
    /* Our client end and the server's end are gone, and the pending fd too. */
    ck_assert_int_eq(count_fds(), before - 2);
    close(fd);
}
END_TEST

struct bad {
    const char *line;
    const char *cls;
    const char *desc;          /* exact, or a prefix when it ends in '*' */
    const char *desc2;         /* a second error, when the input resynchronises onto a '{' */
};

static void assert_error_like(json_t *m, const char *cls, const char *desc)
{
    size_t n = strlen(desc);

    if (n && desc[n - 1] == '*') {
        char pfx[128];

        snprintf(pfx, sizeof(pfx), "%.*s", (int)n - 1, desc);
        assert_error_prefix(m, cls, pfx);
    } else {
        assert_error(m, cls, desc);
    }
}

START_TEST(malformed_matrix)
{
    static const struct bad bad[] = {
        { "not json", "GenericError", "JSON parse error*", NULL },
        { "[1,2]", "GenericError", "QMP input must be a JSON object", NULL },
        { "\"str\"", "GenericError", "QMP input must be a JSON object", NULL },
        { "42", "GenericError", "QMP input must be a JSON object", NULL },
        { "{}", "GenericError", "QMP input lacks member 'execute'", NULL },
        { "{\"id\":1}", "GenericError", "QMP input lacks member 'execute'", NULL },
        { "{\"execute\":1}", "GenericError", "QMP input member 'execute' must be a string", NULL },
        { "{\"execute\":null}", "GenericError", "QMP input member 'execute' must be a string", NULL },
        { "{\"execute\":\"query-status\",\"arguments\":[]}", "GenericError",
          "QMP input member 'arguments' must be an object", NULL },
        { "{\"execute\":\"query-status\",\"foo\":1}", "GenericError", "QMP input member 'foo' is unexpected", NULL },
        { "{\"exec-oob\":\"query-status\"}", "GenericError", "QMP input member 'exec-oob' is unexpected", NULL },
        { "{\"execute\":\"nonexistent\"}", "CommandNotFound", "The command nonexistent has not been found", NULL },
        { "{\"execute\":\"\"}", "CommandNotFound", "The command  has not been found", NULL },
        { "{\"execute\":\"query-status\",\"arguments\":{\"x\":1}}", "GenericError", "Parameter 'x' is unexpected", NULL },
        { "{\"execute\":\"query-command-line-options\",\"arguments\":{\"option\":7}}", "GenericError",
          "Invalid parameter type for 'option', expected: string", NULL },
        { "{\"execute\":\"query-status\",\"execute\":\"stop\"}", "GenericError", "JSON parse error*", NULL },
        /* Two objects on a line are two requests now: see back_to_back. A
         * request cut short waits for more: see incomplete_then_next. */
        { "{\"execute\":\"query-\\u0000status\"}", "GenericError", "JSON parse error*", NULL },
        { "{\"execute\":\"query-status\" 1}", "GenericError", "JSON parse error*", NULL },
        { "{\"execute\":\"query-status\",}", "GenericError", "JSON parse error*", NULL },
        { "}", "GenericError", "JSON parse error*", NULL },
        { "]]]", "GenericError", "JSON parse error*", NULL },
        { "{\"execute\":tru}", "GenericError", "JSON parse error*", NULL },
        { "{\"execute\":\"\\q\"}", "GenericError", "JSON parse error*", NULL },
        { "{\"execute\":\"a\xff\"}", "GenericError", "JSON parse error*", NULL },
        { "{\"execute\":\"a\tb\"}", "GenericError", "JSON parse error*", NULL },
        { "nul", "GenericError", "JSON parse error*", NULL },
        { "-", "GenericError", "JSON parse error*", NULL },
        { "true", "GenericError", "QMP input must be a JSON object", NULL },
        /* Resynchronisation onto the '{' after the garbage: it is a request. */
        { "\xff\xfe{}", "GenericError", "JSON parse error*", "QMP input lacks member 'execute'" },
        { "{{\"id\":3}", "GenericError", "JSON parse error*", "QMP input lacks member 'execute'" },
    };
    size_t i;

    greet_and_negotiate();
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *m = xfer(bad[i].line, -1);

        assert_error_like(m, bad[i].cls, bad[i].desc);
        json_decref(m);
        if (bad[i].desc2) {
            m = recv_msg();
            assert_error_like(m, "GenericError", bad[i].desc2);
            json_decref(m);
        }
        assert_alive();
        assert_no_message();
    }
    /* The duplicate-key check is jansson's: the desc says so. */
    {
        json_t *m = xfer("{\"execute\":\"query-status\",\"execute\":\"stop\"}", -1);
        const char *desc = json_string_value(json_object_get(json_object_get(m, "error"), "desc"));

        ck_assert_ptr_nonnull(strstr(desc, "duplicate"));
        json_decref(m);
        ck_assert_str_eq(status_of(), "prelaunch");   /* "stop" did not run */
    }
}
END_TEST

static void nested(char *buf, size_t len, int depth)
{
    /* {"execute":"query-status","arguments":{"x":[[...[1]...]]}} at the given total depth */
    size_t off = 0;
    int i, inner = depth - 2;

    off += (size_t)snprintf(buf + off, len - off, "{\"execute\":\"query-status\",\"arguments\":{\"x\":");
    for (i = 0; i < inner; i++)
        buf[off++] = '[';
    buf[off++] = '1';
    for (i = 0; i < inner; i++)
        buf[off++] = ']';
    snprintf(buf + off, len - off, "}}");
}

START_TEST(depth_limit)
{
    char buf[8192];
    json_t *m;

    greet_and_negotiate();
    nested(buf, sizeof(buf), QMP_MAX_DEPTH);
    m = xfer(buf, -1);
    assert_error(m, "GenericError", "Parameter 'x' is unexpected");   /* parsed and dispatched */
    json_decref(m);
    nested(buf, sizeof(buf), QMP_MAX_DEPTH + 1);
    m = xfer(buf, -1);
    assert_error_prefix(m, "GenericError", "JSON nesting depth limit exceeded");
    json_decref(m);
    nested(buf, sizeof(buf), 3000);   /* beyond jansson's own limit too */
    m = xfer(buf, -1);
    assert_error(m, "GenericError", NULL);
    json_decref(m);
    assert_alive();
}
END_TEST

START_TEST(oversize)
{
    size_t n = QMP_MAX_MSG + 1000;
    char *big = malloc(n + 3);
    json_t *m;
    int fd = tmp_fd(O_RDONLY), before;

    ck_assert_ptr_nonnull(big);
    greet_and_negotiate();
    memset(big, ' ', n);
    memcpy(big, "{\"execute\":\"stop\",\"id\":1,\"pad\":\"", 32);
    big[n - 2] = '"';
    big[n - 1] = '}';
    memcpy(big + n, "\r\n", 3);
    before = count_fds();
    send_bytes(big, n + 2, fd);
    m = recv_msg();
    assert_error_prefix(m, "GenericError", "QMP request too large");
    json_decref(m);
    /* The rest of that line was dropped (no second error, "stop" not run). */
    assert_alive();
    ck_assert_str_eq(status_of(), "prelaunch");
    ck_assert_int_eq(count_fds(), before);
    /* A request of exactly the limit is still served. */
    memset(big, ' ', QMP_MAX_MSG);
    memcpy(big, "{\"execute\":\"query-status\",\"id\":8}", 33);
    memcpy(big + QMP_MAX_MSG, "\n", 2);
    send_bytes(big, QMP_MAX_MSG + 1, -1);
    m = recv_msg();
    ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 8);
    json_decref(m);
    free(big);
    close(fd);
}
END_TEST

START_TEST(framing)
{
    const char *two = "{\"execute\":\"query-version\",\"id\":1}\r\n\r\n  \r\n{\"execute\":\"query-status\",\"id\":2}\n";
    const char *slow = "{\"execute\":\"query-status\",\"id\":3}\r\n";
    json_t *m;
    size_t i;

    greet_and_negotiate();
    send_str(two, -1);
    m = recv_msg();
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 1);
    json_decref(m);
    m = recv_msg();
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 2);
    json_decref(m);
    for (i = 0; i < strlen(slow); i++) {
        send_bytes(slow + i, 1, -1);
        loop_once(d.loop, 0);
    }
    m = recv_msg();
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 3);
    json_decref(m);
    assert_no_message();
}
END_TEST

/* ---- streaming framing (QEMU's parser is a JSON stream, not lines) ---- */

static void recv_return_id(long long id)
{
    json_t *m = recv_msg();

    ck_assert_ptr_nonnull(m);
    ret_of(m);
    ck_assert_msg(json_integer_value(json_object_get(m, "id")) == id, "expected id %lld, got %s", id,
                  json_dumps(m, 0));
    json_decref(m);
}

static void recv_error(const char *cls, const char *desc)
{
    json_t *m = recv_msg();

    ck_assert_ptr_nonnull(m);
    assert_error_like(m, cls, desc);
    json_decref(m);
}

/* Nothing from the server yet, after it had the chance to run. */
static void assert_nothing_yet(void)
{
    struct pollfd p = { .fd = cfd, .events = POLLIN };
    int i;

    for (i = 0; i < 3; i++)
        loop_once(d.loop, 0);
    ck_assert_msg(rlen == 0 && poll(&p, 1, 0) == 0, "the server answered an incomplete request");
}

START_TEST(back_to_back)
{
    json_t *m = recv_msg();

    json_decref(m);
    /* QEMU's own example: negotiation and a command in one write, no newline. */
    send_str("{\"execute\":\"qmp_capabilities\",\"id\":1}{\"execute\":\"query-status\",\"id\":2}", -1);
    recv_return_id(1);
    recv_return_id(2);
    /* Whitespace of any kind between objects, an error among them, order kept. */
    send_str("{\"execute\":\"query-version\",\"id\":3}{\"execute\":\"query-status\",\"id\":4} "
             "{\"execute\":\"nope\",\"id\":5}\t\r\n\r\n{\"execute\":\"query-status\",\"id\":6}\n", -1);
    recv_return_id(3);
    recv_return_id(4);
    m = recv_msg();
    assert_error(m, "CommandNotFound", "The command nope has not been found");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 5);
    json_decref(m);
    recv_return_id(6);
    assert_no_message();
}
END_TEST

/* One object without a newline is answered at once, the client still
 * connected (not only when it closes). */
START_TEST(no_newline)
{
    greet_and_negotiate();
    send_str("{\"execute\":\"query-status\",\"id\":31}", -1);
    recv_return_id(31);
    ck_assert_int_ge(qmp_server_client_fd(srv), 0);
    send_str("{\"execute\":\"query-status\",\"id\":32}", -1);
    recv_return_id(32);
    send_str("\r\n", -1);           /* the newline that never came: nothing */
    assert_no_message();
    assert_alive();
}
END_TEST

/* Every byte in its own write: '}', ']' and newlines inside strings do not
 * end the request early; the reply comes with the last byte. */
START_TEST(byte_by_byte)
{
    const char *req = "{\"execute\":\"query-status\",\"arguments\":{},"
                      "\"id\":[1,\"}\",{\"k\":\"]\\n\"},\"\\\"}]\\\\\"]}";
    json_t *m, *want = json_loads("[1,\"}\",{\"k\":\"]\\n\"},\"\\\"}]\\\\\"]", 0, NULL);
    size_t i, len, n;
    char *big;

    ck_assert_ptr_nonnull(want);
    greet_and_negotiate();
    for (i = 0; req[i + 1]; i++) {
        send_bytes(req + i, 1, -1);
        loop_once(d.loop, 0);
    }
    assert_nothing_yet();
    send_bytes(req + i, 1, -1);
    m = recv_msg();
    ret_of(m);
    ck_assert(json_equal(json_object_get(m, "id"), want));
    json_decref(m);
    json_decref(want);

    /* A 20 KB pretty-printed request, byte by byte: served, once. */
    big = malloc(32 * 1024);
    ck_assert_ptr_nonnull(big);
    len = (size_t)sprintf(big, "{\n  \"execute\": \"query-status\",\n  \"id\": [");
    for (n = 0; n < 1000; n++)
        len += (size_t)sprintf(big + len, "%s\n    \"item-%04zu}]\"", n ? "," : "", n);
    len += (size_t)sprintf(big + len, "\n  ]\n}\n");
    ck_assert_int_lt(len, QMP_MAX_MSG);
    for (i = 0; i < len; i++) {
        send_bytes(big + i, 1, -1);
        loop_once(d.loop, 0);
    }
    m = recv_msg();
    ret_of(m);
    ck_assert_int_eq(json_array_size(json_object_get(m, "id")), 1000);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "id"), 999)), "item-0999}]");
    json_decref(m);
    free(big);
    assert_no_message();
}
END_TEST

START_TEST(pretty_printed)
{
    const char *req = "{\n"
                      "\t\"execute\" : \"query-status\" ,\r\n"
                      "  \"id\" : {\n"
                      "    \"a\" : [ 1 ,\n"
                      "            2 ]\n"
                      "  }\n"
                      "}";
    json_t *m, *want = json_loads("{\"a\":[1,2]}", 0, NULL);

    greet_and_negotiate();
    send_str(req, -1);
    m = recv_msg();
    ret_of(m);
    ck_assert(json_equal(json_object_get(m, "id"), want));
    json_decref(m);
    /* The same in 7-byte writes, then a second one right behind it. */
    {
        size_t i, len = strlen(req);

        for (i = 0; i < len; i += 7) {
            send_bytes(req + i, len - i < 7 ? len - i : 7, -1);
            loop_once(d.loop, 0);
        }
    }
    send_str("\n{\"execute\":\"query-status\",\n\"id\":2}", -1);
    m = recv_msg();
    ret_of(m);
    ck_assert(json_equal(json_object_get(m, "id"), want));
    json_decref(m);
    recv_return_id(2);
    json_decref(want);
    assert_no_message();
}
END_TEST

/* A read that ends inside a token (number, literal, escape, UTF-8
 * sequence) is not an error: the rest follows. The first part has a '}' so
 * the server does try to parse it. */
START_TEST(split_tokens)
{
    static const struct {
        const char *a, *b, *id;
    } cut[] = {
        { "tr", "ue}", "true" },
        { "nul", "l}", "null" },
        { "12", "34}", "1234" },
        { "-", "12.5e3}", "-12.5e3" },
        { "1.", "5}", "1.5" },
        { "1e", "2}", "1e2" },
        { "\"\\u00", "e9\"}", "\"\\u00e9\"" },
        { "\"\\", "n\"}", "\"\\n\"" },
        { "\"\\ud83d", "\\ude00\"}", "\"\\ud83d\\ude00\"" },
        { "\"\xc3", "\xa9\"}", "\"\xc3\xa9\"" },
        { "\"\xf0\x9f", "\x98\x80\"}", "\"\xf0\x9f\x98\x80\"" },
    };
    size_t i;

    greet_and_negotiate();
    for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        char part[128];
        json_t *m, *want = json_loads(cut[i].id, JSON_DECODE_ANY, NULL);

        ck_assert_ptr_nonnull(want);
        snprintf(part, sizeof(part), "{\"arguments\":{},\"execute\":\"query-status\",\"id\":%s", cut[i].a);
        send_str(part, -1);
        assert_nothing_yet();
        send_str(cut[i].b, -1);
        m = recv_msg();
        ret_of(m);
        ck_assert_msg(json_equal(json_object_get(m, "id"), want), "cut %zu: id %s not echoed", i, cut[i].id);
        json_decref(m);
        json_decref(want);
    }
    assert_no_message();
}
END_TEST

/* Resynchronisation: after a syntax error the server skips to the next '{'
 * or past the next newline; the next well-formed request is served. */
START_TEST(garbage_between)
{
    greet_and_negotiate();
    send_str("{\"execute\":\"query-status\",\"id\":1}garbage{\"execute\":\"query-status\",\"id\":2}", -1);
    recv_return_id(1);
    recv_error("GenericError", "JSON parse error*");
    recv_return_id(2);
    assert_no_message();
    /* An error inside an object: the rest of it is skipped. */
    send_str("{\"execute\": bad, \"id\": 3}{\"execute\":\"query-status\",\"id\":4}", -1);
    recv_error("GenericError", "JSON parse error*");
    recv_return_id(4);
    assert_no_message();
    /* Line-based client: the bad line costs one error. */
    send_str("{\"execute\":\"query-status\",\"id\":5}\r\nnot json, \"at\": all}\r\n"
             "{\"execute\":\"query-status\",\"id\":6}\r\n", -1);
    recv_return_id(5);
    recv_error("GenericError", "JSON parse error*");
    recv_return_id(6);
    assert_no_message();
    /* 0xff (never valid UTF-8) forces a resynchronisation, as in QEMU. */
    send_str("{\"execute\":\"query-status\",\"id\":\"x\xff{\"execute\":\"query-status\",\"id\":7}", -1);
    recv_error("GenericError", "JSON parse error*");
    recv_return_id(7);
    /* Duplicate keys in the middle of a stream. */
    send_str("{\"execute\":\"query-status\",\"id\":8,\"id\":9}{\"execute\":\"query-status\",\"id\":10}", -1);
    recv_error("GenericError", "JSON parse error, duplicate*");
    recv_return_id(10);
    /* Values that are not objects, back to back. */
    send_str("[1]\"s\" 7 {\"execute\":\"query-status\",\"id\":11}", -1);
    recv_error("GenericError", "QMP input must be a JSON object");
    recv_error("GenericError", "QMP input must be a JSON object");
    recv_error("GenericError", "QMP input must be a JSON object");
    recv_return_id(11);
    /* Too deep in the middle of a stream. */
    send_str("{\"execute\":\"query-status\",\"id\":[[[[[[[[1]]]]]]]]}{\"execute\":\"query-status\",\"id\":12}", -1);
    recv_error("GenericError", "JSON nesting depth limit exceeded*");
    recv_return_id(12);
    assert_no_message();
}
END_TEST

/* A request cut short is not an error until what follows makes it one; the
 * '{' that breaks it starts the next request. */
START_TEST(incomplete_then_next)
{
    greet_and_negotiate();
    send_str("{\"execute\":\"stop\",\"id\":1\r\n", -1);
    assert_nothing_yet();
    send_str("{\"execute\":\"query-status\",\"id\":12}\r\n", -1);
    recv_error("GenericError", "JSON parse error*");
    recv_return_id(12);
    assert_no_message();
    ck_assert_str_eq(status_of(), "prelaunch");     /* "stop" did not run */
}
END_TEST

/* Input that no continuation can make valid JSON (a control byte, a byte
 * that starts no token, a '}' or ']' closing nothing, a word that ended and
 * is not true/false/null) is answered at once, as QEMU's streaming parser
 * answers, not when a newline or more input arrives. A word still being
 * written waits: jansson's message quotes it whole. */
static void recv_return_any(void)
{
    json_t *m = recv_msg();

    ck_assert_ptr_nonnull(m);
    ret_of(m);
    json_decref(m);
}

START_TEST(hopeless_input_at_once)
{
    static const char *const hopeless[] = {
        "%", "\x01", "\x1f", "}", "]", "@", "'", "tx ", "nul_", "True}", "\xc3\xa9", "\x80",
        "{\"execute\":%", "{\"execute\":\"query-\x01", "{\"execute\" \x02", "{\"execute\":nulx,",
        "{\"execute\":\"query-status\",\"id\":[1}", "{\"execute\":\"query-status\",\"id\":{]",
        "{\"execute\":\"query-status\" #", "{\"id\":-x}", "{\"id\":\"\\x",
    };
    size_t i;

    greet_and_negotiate();
    for (i = 0; i < sizeof(hopeless) / sizeof(hopeless[0]); i++) {
        send_str(hopeless[i], -1);
        recv_error("GenericError", "JSON parse error*");
        assert_no_message();
        assert_alive();
    }
    /* A control byte, then a NUL in the same write: the error is the first
     * one's, as when the two arrive apart (fuzz_qmp's differential run). */
    send_bytes("\x01\x00", 2, -1);
    recv_error("GenericError", "JSON parse error, invalid token*");
    assert_alive();
    send_bytes("\x01", 1, -1);
    recv_error("GenericError", "JSON parse error, invalid token*");
    send_bytes("\x00", 1, -1);
    assert_alive();
    /* A character that cannot stand in an escape is judged whole: jansson
     * decodes it first, and its message must not depend on the cut. */
    send_str("{\"execute\":\"\\u0\xd0", -1);
    assert_nothing_yet();
    send_str("\x9a\"}", -1);
    recv_error("GenericError", "JSON parse error, invalid escape*");
    assert_alive();
    /* ... and so is one that ends a word outside a string. */
    send_str("{\"execute\" qu\xc4", -1);
    assert_nothing_yet();
    send_str("\x84", -1);
    recv_error("GenericError", "JSON parse error, ':' expected near 'qu'");
    assert_alive();
    /* Still only a prefix: nothing until it is complete or broken. */
    send_str("{\"execute\":\"query-status\",\"id\":nullx", -1);
    assert_nothing_yet();
    send_str("}", -1);
    recv_error("GenericError", "JSON parse error, invalid token near 'nullx'");
    send_str("{\"execute\":\"query-status\",\"id\":\"\xc3", -1);
    assert_nothing_yet();
    send_str("\xa9\"}", -1);
    recv_return_any();
    send_str("{\"execute\":\"query-status\",\"id\":-", -1);
    assert_nothing_yet();
    send_str("1}", -1);
    recv_return_id(-1);
    send_str("{\"execute\":\"query-status\",\"id\":fals", -1);
    assert_nothing_yet();
    send_str("e}", -1);
    recv_return_any();
    send_str("{\"execute\":\"query-status\",\"id\":\"%\\u00", -1);
    assert_nothing_yet();
    send_str("41\"}", -1);
    recv_return_any();
    assert_no_message();
}
END_TEST

/* Back-to-back objects with no newline are each answered, after an error
 * as after a good request, and whatever the reads cut them into. */
START_TEST(back_to_back_after_errors)
{
    static const char *const lead[] = { "%", "}", "]", "\x01", "7", "\"s\"", "tx", "{\"execute\":%" };
    const char *pair = "{\"execute\":\"query-status\",\"id\":1}{\"execute\":\"query-status\",\"id\":2}";
    size_t i, k;

    greet_and_negotiate();
    for (i = 0; i < sizeof(lead) / sizeof(lead[0]); i++) {
        send_str(lead[i], -1);
        send_str(pair, -1);
        recv_error("GenericError", i == 4 || i == 5 ? "QMP input must be a JSON object" : "JSON parse error*");
        recv_return_id(1);
        recv_return_id(2);
        assert_no_message();
    }
    for (k = 0; pair[k]; k++)
        send_bytes(pair + k, 1, -1);
    recv_return_id(1);
    recv_return_id(2);
    /* Braces and brackets inside strings, a pretty-printed first object, a
     * read that ends inside the first and holds all of the second. */
    send_str("{\"execute\":\"query-status\",\"id\":[\"}]{\"]}\n\t{\"execute\" : \"query-status\",\r\n \"id\":2}", -1);
    recv_return_any();
    recv_return_id(2);
    send_str("{\"execute\":\"query-st", -1);
    assert_nothing_yet();
    send_str("atus\",\"id\":1}{\"execute\":\"query-status\",\"id\":2}{\"execute\":\"query-status\",\"id\":3}", -1);
    recv_return_id(1);
    recv_return_id(2);
    recv_return_id(3);
    assert_no_message();
}
END_TEST

/* An error whose desc quotes the client's bytes cut mid-character is still
 * an error reply (jansson refuses a desc that is not UTF-8). */
START_TEST(error_desc_not_utf8)
{
    char req[1024];
    size_t off = 0;
    json_t *m;
    int i;

    greet_and_negotiate();
    off += (size_t)snprintf(req, sizeof(req), "{\"execute\":\"");
    for (i = 0; i < 200; i++) {
        req[off++] = (char)0xc3;
        req[off++] = (char)0xa9;
    }
    snprintf(req + off, sizeof(req) - off, "\"}");
    m = xfer(req, -1);
    assert_error_prefix(m, "CommandNotFound", "The command ");
    json_decref(m);
    assert_alive();
}
END_TEST

/* An oversized request without newlines, in many writes: one error, the
 * input is dropped up to the next newline, the session goes on. */
START_TEST(oversize_streaming)
{
    size_t n = QMP_MAX_MSG + 5000, off;
    char *big = malloc(n);
    const char *head = "{\"execute\":\"stop\",\"id\":1,\"arguments\":{\"pad\":\"";
    int fd = tmp_fd(O_RDONLY), before;

    ck_assert_ptr_nonnull(big);
    greet_and_negotiate();
    before = count_fds();
    memset(big, 'x', n);
    memcpy(big, head, strlen(head));
    memcpy(big + n - 3, "\"}}", 3);
    for (off = 0; off < n; off += 1000) {
        send_bytes(big + off, n - off < 1000 ? n - off : 1000, off == 2000 ? fd : -1);
        loop_once(d.loop, 0);
    }
    recv_error("GenericError",
               "QMP request too large (more than 65536 bytes); ignored up to the next newline");
    /* Still on the dropped line: not served. */
    send_str("{\"execute\":\"stop\",\"id\":2}", -1);
    assert_nothing_yet();
    send_str("\n{\"execute\":\"query-status\",\"id\":3}", -1);
    recv_return_id(3);
    assert_no_message();
    ck_assert_str_eq(status_of(), "prelaunch");
    ck_assert_int_eq(count_fds(), before);
    /* A pretty-printed oversized request: each line after the cut is dropped
     * or an error of its own; the request after it is served. */
    memset(big, ' ', n);
    memcpy(big, head, strlen(head));
    memcpy(big + n - 14, "\"\n, \"x\": 1\n}}\n", 14);
    send_bytes(big, n, -1);
    send_str("{\"execute\":\"query-status\",\"id\":4}", -1);
    recv_error("GenericError", "QMP request too large*");
    recv_error("GenericError", "JSON parse error*");      /* its line ', "x": 1' */
    recv_error("GenericError", "JSON parse error*");      /* its line '}}' */
    recv_return_id(4);
    assert_no_message();
    free(big);
    close(fd);
}
END_TEST

/* fds go with the request the read ends in: with two objects in one write,
 * the second; with a write that ends inside an object, that object. */
START_TEST(fd_second_of_two)
{
    json_t *m, *sets;
    int fd = tmp_fd(O_RDONLY), before;

    greet_and_negotiate();
    before = count_fds();
    send_str("{\"execute\":\"query-status\",\"id\":1}"
             "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":3},\"id\":2}", fd);
    recv_return_id(1);
    m = recv_msg();
    ck_assert_int_eq(json_integer_value(json_object_get(ret_of(m), "fdset-id")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 2);
    json_decref(m);
    ck_assert_int_eq(count_fds(), before + 1);      /* the one add-fd kept */

    /* Two writes before the server reads: the fd is the first one's (the
     * kernel ends a read after bytes that carried fds). */
    send_str("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":4},\"id\":3}", fd);
    send_str("{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":5},\"id\":4}\r\n", -1);
    recv_return_id(3);
    m = recv_msg();
    assert_error(m, "GenericError", "No file descriptor supplied via SCM_RIGHTS");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 4);
    json_decref(m);

    /* The write ends inside the second object: the fd waits for it. */
    send_str("{\"execute\":\"query-status\",\"id\":5}{\"execute\":\"add-fd\",", fd);
    recv_return_id(5);
    send_str("\"arguments\":{\"fdset-id\":6},\"id\":6}", -1);
    recv_return_id(6);
    sets = query_fdsets();
    ck_assert_int_eq(json_array_size(sets), 3);
    json_decref(sets);
    ck_assert_int_eq(count_fds(), before + 3);
    close(fd);
}
END_TEST

START_TEST(fd_whitespace_only)
{
    int fd = tmp_fd(O_RDONLY), before;
    json_t *m;

    greet_and_negotiate();
    before = count_fds();
    send_str("  \r\n\t", fd);
    m = recv_msg();
    assert_error(m, "GenericError", "File descriptor received without a command; closed");
    ck_assert_ptr_null(json_object_get(m, "id"));
    json_decref(m);
    ck_assert_int_eq(count_fds(), before);
    /* A lone newline is nothing. */
    send_str("\n", -1);
    assert_no_message();
    /* After a request that was already served, whitespace and an fd: the
     * fd has no request (the reply went out at the '}'). */
    send_str("{\"execute\":\"query-status\",\"id\":1}", -1);
    recv_return_id(1);
    send_str("\r\n", fd);
    recv_error("GenericError", "File descriptor received without a command; closed");
    ck_assert_int_eq(count_fds(), before);
    /* Garbage with an fd: one parse error, the fd closed with it. */
    send_str("xyz \r\n", fd);
    recv_error("GenericError", "JSON parse error*");
    assert_no_message();
    ck_assert_int_eq(count_fds(), before);
    close(fd);
    assert_alive();
}
END_TEST

START_TEST(quit_back_to_back)
{
    json_t *m;

    greet_and_negotiate();
    send_str("{\"execute\":\"quit\",\"id\":77}{\"execute\":\"cont\",\"id\":78}", -1);
    m = recv_msg();
    assert_event(m, "SHUTDOWN");
    json_decref(m);
    recv_return_id(77);
    ck_assert(loop_quitting(d.loop));
    assert_no_message();
    ck_assert_int_eq(d.machine.state, RUN_PRELAUNCH);     /* cont did not run */
}
END_TEST

/* A client that sends many requests before reading any reply: the server
 * queues, stops reading requests while its output is backed up, and loses
 * nothing; every reply arrives, in order. */
START_TEST(slow_reader)
{
    enum { N = 400 };
    static char reqs[N * 64];
    size_t len = 0;
    int i, k;

    greet_and_negotiate();
    /* One write: the requests are small, the replies large (~1.6 KiB). */
    for (i = 0; i < N; i++)
        len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
                                "{\"execute\":\"query-command-line-options\",\"id\":%d}\r\n", i);
    send_bytes(reqs, len, -1);
    for (k = 0; k < 50; k++)
        loop_once(d.loop, 0);      /* the server fills the socket and its queue */
    for (i = 0; i < N; i++) {
        json_t *m = recv_msg();

        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), i);
        json_decref(m);
    }
    ck_assert_int_ge(qmp_server_client_fd(srv), 0);
    assert_alive();
}
END_TEST

/* A client that writes its last request without a newline and shuts down
 * its side still gets the reply (QEMU's parser is not line based). */
START_TEST(last_request_at_eof)
{
    json_t *m;

    greet_and_negotiate();
    send_str("{\"execute\":\"query-status\",\"id\":21}", -1);
    ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
    m = recv_msg();
    ret_of(m);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 21);
    json_decref(m);
    ck_assert_ptr_null(recv_msg());           /* then the server closes */
    ck_assert_int_eq(qmp_server_client_fd(srv), -1);
}
END_TEST

/* A NUL byte is never JSON, wherever it is: one parse error, and the
 * request it is in is not served (jansson alone drops a NUL that follows a
 * number or literal, and takes one where a token should be for the end of
 * its input, which would leave the server waiting for more forever). */
START_TEST(nul_byte)
{
    static const char between[] = "{\"execute\":\"query-status\",\"id\":1}\0"
                                  "{\"execute\":\"query-status\",\"id\":2}\r\n";
    static const char after_number[] = "{\"execute\":\"stop\",\"id\":3\0}\r\n";
    static const char after_literal[] = "{\"execute\":\"stop\",\"id\":true\0}\r\n";
    static const char for_value[] = "{\"execute\":\"query-status\",\"id\":\0}\r\n"
                                    "{\"execute\":\"query-status\",\"id\":4}\r\n";
    static const char in_string[] = "{\"execute\":\"stop\",\"id\":\"a\0b\"}\r\n";

    greet_and_negotiate();
    send_bytes(between, sizeof(between) - 1, -1);
    recv_return_id(1);
    recv_error("GenericError", "JSON parse error, unexpected NUL byte");
    recv_return_id(2);
    assert_no_message();
    send_bytes(after_number, sizeof(after_number) - 1, -1);
    recv_error("GenericError", "JSON parse error*");
    assert_no_message();
    send_bytes(after_literal, sizeof(after_literal) - 1, -1);
    recv_error("GenericError", "JSON parse error*");
    assert_no_message();
    send_bytes(in_string, sizeof(in_string) - 1, -1);
    recv_error("GenericError", "JSON parse error*");
    assert_no_message();
    ck_assert_str_eq(status_of(), "prelaunch");     /* no "stop" ran */
    send_bytes(for_value, sizeof(for_value) - 1, -1);
    recv_error("GenericError", "JSON parse error*");
    recv_return_id(4);
    assert_no_message();
    /* Byte by byte: the same, the NUL on its own. */
    {
        size_t i;

        for (i = 0; i < sizeof(after_number) - 1; i++) {
            send_bytes(after_number + i, 1, -1);
            loop_once(d.loop, 0);
        }
    }
    recv_error("GenericError", "JSON parse error*");
    assert_no_message();
    ck_assert_str_eq(status_of(), "prelaunch");
    assert_alive();
}
END_TEST

/* A client that writes its requests, shuts down its side and only then
 * reads gets every reply, also those the socket could not take at once. */
START_TEST(eof_flushes_replies)
{
    enum { N = 8 };
    char reqs[N * 64];
    size_t len = 0;
    int i, sndbuf = 4096;

    greet_and_negotiate();
    ck_assert_int_eq(setsockopt(qmp_server_client_fd(srv), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    for (i = 0; i < N; i++)
        len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
                                "{\"execute\":\"query-command-line-options\",\"id\":%d}\r\n", i);
    send_bytes(reqs, len, -1);
    ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
    for (i = 0; i < 50; i++)
        loop_once(d.loop, 0);       /* the server reads the requests and the EOF */
    for (i = 0; i < N; i++)
        recv_return_id(i);
    ck_assert_ptr_null(recv_msg());  /* then it closes */
    ck_assert_int_eq(qmp_server_client_fd(srv), -1);
}
END_TEST

/* The read that completes a request close to the size limit does not fit
 * the buffer at once: its fd still goes to that request when only
 * whitespace follows it in the read. */
START_TEST(fd_near_limit)
{
    const char *head = "{\"execute\":\"add-fd\",";
    const char *tail = "\"arguments\":{\"fdset-id\":9},\"id\":1}";
    size_t n = QMP_MAX_MSG - 100, cut = n - 10, rest = 3000;
    char *big = malloc(n + rest);
    json_t *m;
    int fd = tmp_fd(O_RDONLY), before, i;

    ck_assert_ptr_nonnull(big);
    greet_and_negotiate();
    before = count_fds();
    memset(big, ' ', n + rest);
    memcpy(big, head, strlen(head));
    memcpy(big + n - strlen(tail), tail, strlen(tail));
    send_bytes(big, cut, -1);
    for (i = 0; i < 50; i++)
        loop_once(d.loop, 0);      /* the server has buffered all but the last 10 bytes */
    /* One write: the end of the request, then whitespace, the fd on it. */
    send_bytes(big + cut, n - cut + rest, fd);
    m = recv_msg();
    ck_assert_int_eq(json_integer_value(json_object_get(ret_of(m), "fdset-id")), 9);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 1);
    json_decref(m);
    assert_no_message();
    ck_assert_int_eq(count_fds(), before + 1);      /* in the fd set */
    free(big);
    close(fd);
}
END_TEST

START_TEST(command_line_options)
{
    json_t *m, *r, *el, *p;
    size_t i, j;
    bool chroot = false, user = false, found = false;

    greet_and_negotiate();
    m = xfer("{\"execute\":\"query-command-line-options\",\"id\":1}", -1);
    r = ret_of(m);
    ck_assert_int_gt(json_array_size(r), 5);
    json_array_foreach(r, i, el) {
        ck_assert(json_is_string(json_object_get(el, "option")));
        if (strcmp(json_string_value(json_object_get(el, "option")), "run-with"))
            continue;
        found = true;
        json_array_foreach(json_object_get(el, "parameters"), j, p) {
            chroot |= !strcmp(json_string_value(json_object_get(p, "name")), "chroot");
            user |= !strcmp(json_string_value(json_object_get(p, "name")), "user");
        }
    }
    ck_assert(found && chroot && user);
    json_decref(m);
    m = xfer("{\"execute\":\"query-command-line-options\",\"arguments\":{\"option\":\"sandbox\"},\"id\":2}", -1);
    r = ret_of(m);
    ck_assert_int_eq(json_array_size(r), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "option")), "sandbox");
    json_decref(m);
    m = xfer("{\"execute\":\"query-command-line-options\",\"arguments\":{\"option\":\"bogus\"},\"id\":3}", -1);
    assert_error(m, "GenericError", "Parameter 'option' expects an option name");
    json_decref(m);
}
END_TEST

START_TEST(cpus_fast)
{
    json_t *m, *r, *el;
    size_t i;

    d.cfg.smp = 3;
    greet_and_negotiate();
    m = xfer("{\"execute\":\"query-cpus-fast\",\"id\":1}", -1);
    r = ret_of(m);
    ck_assert_int_eq(json_array_size(r), 3);
    json_array_foreach(r, i, el) {
        ck_assert(json_is_integer(json_object_get(el, "cpu-index")));
        ck_assert_int_eq(json_integer_value(json_object_get(el, "cpu-index")), (long long)i);
        ck_assert(json_is_integer(json_object_get(el, "thread-id")));
        ck_assert(json_is_string(json_object_get(el, "qom-path")));
        ck_assert_str_eq(json_string_value(json_object_get(el, "target")), "x86_64");
        ck_assert(json_is_object(json_object_get(el, "props")));
    }
    json_decref(m);
}
END_TEST

START_TEST(listener_one_client_at_a_time)
{
    struct sockaddr_un sa;
    struct qmp_server *ls;
    struct pollfd p;
    int lfd, c1, c2, i;
    char buf[512];
    ssize_t r;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "xsdm-test-qmp-%d", (int)getpid());
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    ls = qmp_server_new(d.loop, lfd, "listen");
    ck_assert_ptr_nonnull(ls);
    ck_assert_int_eq(qmp_server_listen_fd(ls), lfd);

    c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(c1, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (i = 0; i < 10 && qmp_server_client_fd(ls) < 0; i++)
        loop_once(d.loop, 100);
    ck_assert_int_ge(qmp_server_client_fd(ls), 0);
    r = read(c1, buf, sizeof(buf));
    ck_assert_int_gt(r, 0);
    ck_assert_ptr_nonnull(strstr(buf, "\"QMP\""));

    /* A second client waits in the backlog while the first is served. */
    c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(c2, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (i = 0; i < 10; i++)
        loop_once(d.loop, 0);
    p.fd = c2;
    p.events = POLLIN;
    ck_assert_int_eq(poll(&p, 1, 0), 0);

    close(c1);
    for (i = 0; i < 20; i++) {
        loop_once(d.loop, 50);
        if (poll(&p, 1, 0) > 0)
            break;
    }
    r = read(c2, buf, sizeof(buf) - 1);
    ck_assert_int_gt(r, 0);
    buf[r] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "\"QMP\""));
    /* The new connection must negotiate again. */
    ck_assert_int_eq(write(c2, "{\"execute\":\"query-status\"}\r\n", 28), 28);
    for (i = 0; i < 20; i++) {
        loop_once(d.loop, 50);
        if (poll(&p, 1, 0) > 0)
            break;
    }
    r = read(c2, buf, sizeof(buf) - 1);
    ck_assert_int_gt(r, 0);
    buf[r] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "CommandNotFound"));
    close(c2);
    qmp_server_free(ls);
}
END_TEST

START_TEST(registry)
{
    ck_assert_ptr_nonnull(qmp_find("qmp_capabilities"));
    ck_assert(qmp_find("qmp_capabilities")->flags & QMP_CMD_PRECAP);
    ck_assert_ptr_nonnull(qmp_find("query-status"));
    ck_assert_int_eq(qmp_find("query-status")->flags & QMP_CMD_PRECAP, 0);
    ck_assert_ptr_null(qmp_find("no-such-command"));
}
END_TEST

/* The tables are joined at build time: every name once, each with a
 * handler, and every documented command present. */
START_TEST(registry_unique)
{
    static const char *const documented[] = {
        "qmp_capabilities", "query-version", "query-status", "stop", "cont", "quit", "add-fd",
        "remove-fd", "query-fdsets", "query-command-line-options", "query-chardev", "query-cpus-fast",
    };
    const struct qmp_command *a, *b;
    size_t i, j;

    for (i = 0; (a = qmp_command_at(i)); i++) {
        ck_assert_ptr_nonnull(a->name);
        ck_assert_ptr_nonnull(a->fn);
        ck_assert_ptr_eq(qmp_find(a->name), a);
        for (j = i + 1; (b = qmp_command_at(j)); j++)
            ck_assert_msg(strcmp(a->name, b->name), "%s is in two tables", a->name);
    }
    ck_assert_uint_gt(i, sizeof(documented) / sizeof(documented[0]));
    ck_assert_ptr_null(qmp_command_at(i));
    ck_assert_ptr_null(qmp_command_at(i + 1000));
    for (i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
        ck_assert_msg(qmp_find(documented[i]), "%s missing", documented[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qmp");
    TCase *tc = tcase_create("server");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, greeting);
    tcase_add_test(tc, greeting_text_is_jansson_output);
    tcase_add_test(tc, negotiation_required);
    tcase_add_test(tc, id_any_type);
    tcase_add_test(tc, query_version_matches_greeting);
    tcase_add_test(tc, run_state);
    tcase_add_test(tc, stop_in_prelaunch_and_shutdown);
    tcase_add_test(tc, events_only_after_negotiation);
    tcase_add_test(tc, quit);
    tcase_add_test(tc, system_reset);
    tcase_add_test(tc, add_fd_first_byte);
    tcase_add_test(tc, add_fd_later_byte);
    tcase_add_test(tc, add_fd_errors);
    tcase_add_test(tc, fd_without_command);
    tcase_add_test(tc, fd_then_disconnect);
    tcase_add_test(tc, malformed_matrix);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, oversize);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, back_to_back);
    tcase_add_test(tc, no_newline);
    tcase_add_test(tc, byte_by_byte);
    tcase_add_test(tc, pretty_printed);
    tcase_add_test(tc, split_tokens);
    tcase_add_test(tc, garbage_between);
    tcase_add_test(tc, incomplete_then_next);
    tcase_add_test(tc, hopeless_input_at_once);
    tcase_add_test(tc, back_to_back_after_errors);
    tcase_add_test(tc, error_desc_not_utf8);
    tcase_add_test(tc, oversize_streaming);
    tcase_add_test(tc, fd_second_of_two);
    tcase_add_test(tc, fd_whitespace_only);
    tcase_add_test(tc, quit_back_to_back);
    tcase_add_test(tc, slow_reader);
    tcase_add_test(tc, last_request_at_eof);
    tcase_add_test(tc, nul_byte);
    tcase_add_test(tc, eof_flushes_replies);
    tcase_add_test(tc, fd_near_limit);
    tcase_add_test(tc, command_line_options);
    tcase_add_test(tc, cpus_fast);
    tcase_add_test(tc, listener_one_client_at_a_time);
    tcase_add_test(tc, registry);
    tcase_add_test(tc, registry_unique);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
