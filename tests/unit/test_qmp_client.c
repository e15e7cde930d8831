/* The QMP client against a scripted fake server on a socketpair. The server
 * side's replies are written before the client reads them (the socket buffers
 * them), so no threads are needed; what the client sent is read back and
 * checked afterwards. Ids are libxl's, so the script knows them in advance. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/qmp-client.h"

#define ID0 2020372736L
#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
                 "\"package\": \"test\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define TMO 5000

static int sv[2] = { -1, -1 };   /* sv[0] client, sv[1] fake server */
static char err[256];

static void setup(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    err[0] = 0;
}

static void teardown(void)
{
    if (sv[1] >= 0)
        close(sv[1]);
    sv[1] = -1;
}

static void srv_write(const char *s)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        ssize_t r = write(sv[1], s + off, len - off);
        ck_assert_int_gt(r, 0);
        off += (size_t)r;
    }
}

static void srv_writef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void srv_writef(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    srv_write(buf);
}

/* One request line as the server sees it; *fd_r gets an SCM_RIGHTS fd that
 * arrived with the first byte of this line (-1 if none). A fd on any later
 * byte fails the test. */
static json_t *srv_read_req(int *fd_r)
{
    char line[4096];
    size_t n = 0;
    json_t *j;

    if (fd_r)
        *fd_r = -1;
    while (n + 1 < sizeof(line)) {
        union {
            char b[CMSG_SPACE(sizeof(int))];
            struct cmsghdr a;
        } u;
        struct iovec iov = { .iov_base = line + n, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = u.b, .msg_controllen = sizeof(u.b) };
        struct cmsghdr *cm;
        ssize_t r = recvmsg(sv[1], &mh, 0);

        ck_assert_int_eq(r, 1);
        cm = CMSG_FIRSTHDR(&mh);
        if (cm) {
            ck_assert_int_eq(cm->cmsg_type, SCM_RIGHTS);
            ck_assert_msg(n == 0, "fd arrived on byte %zu, not the first", n);
            ck_assert_ptr_nonnull(fd_r);
            memcpy(fd_r, CMSG_DATA(cm), sizeof(int));
        }
        n++;
        if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n')
            break;
    }
    ck_assert_msg(n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n', "request not \\r\\n terminated");
    j = json_loadb(line, n - 2, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static void check_req(json_t *req, const char *cmd, long id)
{
    ck_assert_str_eq(json_string_value(json_object_get(req, "execute")), cmd);
    ck_assert(json_is_integer(json_object_get(req, "id")));
    ck_assert_int_eq(json_integer_value(json_object_get(req, "id")), id);
}

/* Connected, negotiated client; the capabilities request is verified. */
static struct qmpc *negotiated(void)
{
    struct qmpc *c;
    json_t *req;

    srv_write(GREETING);
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0);
    c = qmpc_connect_fd(sv[0], 1, TMO, err, sizeof(err));
    ck_assert_msg(c != NULL, "connect: %s", err);
    req = srv_read_req(NULL);
    check_req(req, "qmp_capabilities", ID0);
    ck_assert_ptr_null(json_object_get(req, "arguments"));
    json_decref(req);
    return c;
}

START_TEST(greeting_and_capabilities)
{
    struct qmpc *c = negotiated();
    const json_t *g = qmpc_greeting(c);

    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
        json_object_get(g, "QMP"), "version"), "qemu"), "minor")), 2);
    ck_assert_int_eq(qmpc_fd(c), sv[0]);
    qmpc_close(c);
}
END_TEST

START_TEST(no_negotiation_sends_nothing)
{
    struct qmpc *c;
    char b;

    srv_write(GREETING);
    c = qmpc_connect_fd(sv[0], 0, TMO, err, sizeof(err));
    ck_assert_msg(c != NULL, "connect: %s", err);
    /* nothing may have been sent */
    ck_assert_int_eq(recv(sv[1], &b, 1, MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    qmpc_close(c);
}
END_TEST

START_TEST(not_a_greeting)
{
    struct qmpc *c;

    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0);
    c = qmpc_connect_fd(sv[0], 1, TMO, err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "greeting") != NULL, "err: %s", err);
}
END_TEST

START_TEST(capabilities_error_is_fatal)
{
    struct qmpc *c;

    srv_write(GREETING);
    srv_writef("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}, \"id\": %ld}\r\n", ID0);
    c = qmpc_connect_fd(sv[0], 1, TMO, err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "qmp_capabilities") != NULL, "err: %s", err);
}
END_TEST

START_TEST(ids_count_up_and_args_sent)
{
    struct qmpc *c = negotiated();
    json_t *ret = NULL, *req;
    int rc;

    srv_writef("{\"return\": {\"status\": \"prelaunch\", \"running\": false}, \"id\": %ld}\r\n", ID0 + 1);
    rc = qmpc_execute(c, "query-status", NULL, -1, &ret, err, sizeof(err));
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "status")), "prelaunch");
    json_decref(ret);
    req = srv_read_req(NULL);
    check_req(req, "query-status", ID0 + 1);
    json_decref(req);

    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0 + 2);
    rc = qmpc_execute(c, "eject", json_pack("{s:s}", "id", "ide-5632"), -1, &ret, err, sizeof(err));
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert(json_is_object(ret));
    json_decref(ret);
    req = srv_read_req(NULL);
    check_req(req, "eject", ID0 + 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(req, "arguments"), "id")), "ide-5632");
    json_decref(req);
    qmpc_close(c);
}
END_TEST

START_TEST(events_are_queued)
{
    struct qmpc *c = negotiated();
    json_t *ret = NULL, *m;
    int rc;

    srv_write("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n");
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0 + 1);
    srv_write("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"RESUME\"}\r\n");
    rc = qmpc_execute(c, "stop", NULL, -1, &ret, err, sizeof(err));
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    json_decref(ret);
    json_decref(srv_read_req(NULL));

    /* RESUME is still on the wire, STOP is queued; wait_event finds RESUME
     * and leaves STOP queued for recv */
    m = qmpc_wait_event(c, "RESUME", TMO);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(json_string_value(json_object_get(m, "event")), "RESUME");
    json_decref(m);
    m = qmpc_recv(c, TMO, err, sizeof(err));
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(json_string_value(json_object_get(m, "event")), "STOP");
    json_decref(m);
    /* nothing left: a bounded wait fails */
    ck_assert_ptr_null(qmpc_wait_event(c, "SHUTDOWN", 50));
    qmpc_close(c);
}
END_TEST

START_TEST(fd_on_first_byte)
{
    struct qmpc *c = negotiated();
    json_t *ret = NULL, *req;
    struct stat a, b;
    int p[2], got = -1, rc;

    ck_assert_int_eq(pipe(p), 0);
    srv_writef("{\"return\": {\"fdset-id\": 0, \"fd\": 27}, \"id\": %ld}\r\n", ID0 + 1);
    rc = qmpc_execute(c, "add-fd", json_pack("{s:s}", "opaque", "raw:/x.iso"), p[1], &ret, err, sizeof(err));
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_int_eq(json_integer_value(json_object_get(ret, "fdset-id")), 0);
    json_decref(ret);
    req = srv_read_req(&got);
    check_req(req, "add-fd", ID0 + 1);
    json_decref(req);
    ck_assert_int_ge(got, 0);
    ck_assert_int_ne(got, p[1]);
    ck_assert_int_eq(fstat(got, &a), 0);
    ck_assert_int_eq(fstat(p[1], &b), 0);
    ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    /* the client keeps its own copy: it is still open */
    ck_assert_int_ne(fcntl(p[1], F_GETFD), -1);

    /* and a request without fd carries none */
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0 + 2);
    ck_assert_int_eq(qmpc_execute(c, "cont", NULL, -1, NULL, err, sizeof(err)), 0);
    req = srv_read_req(&got);
    ck_assert_int_eq(got, -1);
    json_decref(req);
    qmpc_close(c);
}
END_TEST

START_TEST(error_reply)
{
    struct qmpc *c = negotiated();
    json_t *ret = NULL;
    int rc;

    srv_writef("{\"id\": %ld, \"error\": {\"class\": \"GenericError\", "
               "\"desc\": \"No file descriptor supplied via SCM_RIGHTS\"}}\r\n", ID0 + 1);
    rc = qmpc_execute(c, "add-fd", NULL, -1, &ret, err, sizeof(err));
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "class")), "GenericError");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ret, "desc")), "SCM_RIGHTS"));
    json_decref(ret);
    /* an error reply is not a protocol error: the session goes on */
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0 + 2);
    ck_assert_int_eq(qmpc_execute(c, "cont", NULL, -1, NULL, err, sizeof(err)), 0);
    qmpc_close(c);
}
END_TEST

static void expect_protocol_error(const char *reply, const char *what)
{
    struct qmpc *c = negotiated();
    json_t *ret = (json_t *)1;

    srv_write(reply);
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, &ret, err, sizeof(err)), -1);
    ck_assert_ptr_null(ret);
    ck_assert_msg(strstr(err, what) != NULL, "err '%s' lacks '%s'", err, what);
    /* a broken session refuses further commands */
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0 + 2);
    ck_assert_int_eq(qmpc_execute(c, "cont", NULL, -1, NULL, err, sizeof(err)), -1);
    qmpc_close(c);
}

START_TEST(wrong_id)
{
    expect_protocol_error("{\"return\": {}, \"id\": 2020372743}\r\n", "id");
}
END_TEST

START_TEST(string_id)
{
    expect_protocol_error("{\"return\": {}, \"id\": \"2020372737\"}\r\n", "not an integer");
}
END_TEST

START_TEST(missing_id)
{
    expect_protocol_error("{\"return\": {}}\r\n", "without id");
}
END_TEST

START_TEST(error_without_desc)
{
    expect_protocol_error("{\"error\": {\"class\": \"GenericError\"}, \"id\": 2020372737}\r\n", "desc");
}
END_TEST

START_TEST(malformed_json)
{
    expect_protocol_error("{\"return\": {}, \"id\": 2020372737\r\n", "malformed");
}
END_TEST

START_TEST(not_an_object)
{
    expect_protocol_error("[2020372737]\r\n", "not a JSON object");
}
END_TEST

START_TEST(lf_only_is_not_a_frame)
{
    /* a bare \n does not end a message: the two lines run together */
    expect_protocol_error("{\"return\": {}, \"id\": 2020372737}\n{\"return\": {}}\r\n", "malformed");
}
END_TEST

START_TEST(eof)
{
    struct qmpc *c = negotiated();

    srv_write("{\"return\": {}, ");
    shutdown(sv[1], SHUT_WR);
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "closed") != NULL, "err: %s", err);
    qmpc_close(c);
}
END_TEST

START_TEST(eof_before_greeting)
{
    close(sv[1]);
    sv[1] = -1;
    ck_assert_ptr_null(qmpc_connect_fd(sv[0], 1, TMO, err, sizeof(err)));
    ck_assert_msg(strstr(err, "closed") != NULL, "err: %s", err);
}
END_TEST

START_TEST(silent_peer_times_out)
{
    /* a bound, not a timing assertion: the call must give up */
    ck_assert_ptr_null(qmpc_connect_fd(sv[0], 1, 100, err, sizeof(err)));
    ck_assert_msg(strstr(err, "timed out") != NULL, "err: %s", err);
}
END_TEST

START_TEST(execute_timeout_breaks_session)
{
    struct qmpc *c;
    json_t *req;

    srv_write(GREETING);
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0);
    c = qmpc_connect_fd(sv[0], 1, 100, err, sizeof(err));
    ck_assert_msg(c != NULL, "connect: %s", err);
    json_decref(srv_read_req(NULL));
    /* no reply within the bound */
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "timed out") != NULL, "err: %s", err);
    req = srv_read_req(NULL);
    json_decref(req);
    /* the late reply must not be taken for the next command's */
    srv_writef("{\"return\": {}, \"id\": %ld}\r\n", ID0 + 1);
    ck_assert_int_eq(qmpc_execute(c, "cont", NULL, -1, NULL, err, sizeof(err)), -1);
    qmpc_close(c);
}
END_TEST

START_TEST(oversize)
{
    struct qmpc *c = negotiated();
    pid_t pid;
    int status;

    /* more than 1 MiB without a terminator, from a child (the socket buffer
     * cannot hold it all at once) */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static char junk[65536];
        size_t total = 0;

        close(sv[0]);   /* else our writes block once the client stops reading */
        signal(SIGPIPE, SIG_DFL);
        memset(junk, ' ', sizeof(junk));
        junk[0] = '{';
        while (total < 2 * 1024 * 1024) {
            ssize_t r = write(sv[1], junk, sizeof(junk));
            if (r <= 0)
                _exit(0);
            total += (size_t)r;
        }
        _exit(0);
    }
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "exceeds") != NULL, "err: %s", err);
    qmpc_close(c);
    close(sv[1]);
    sv[1] = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

/* A fake DM that streams events and never replies, from a child (the
 * socket buffer cannot hold the flood). Each event carries pad bytes. */
static pid_t flood_events(size_t pad)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char *ev = malloc(pad + 128);
        size_t len;

        close(sv[0]);   /* else our writes block once the client stops reading */
        signal(SIGPIPE, SIG_DFL);
        if (!ev)
            _exit(1);
        len = (size_t)sprintf(ev, "{\"event\": \"STOP\", \"data\": {\"pad\": \"");
        memset(ev + len, 'x', pad);
        len += pad;
        len += (size_t)sprintf(ev + len, "\"}}\r\n");
        for (;;) {
            size_t off = 0;

            while (off < len) {
                ssize_t r = write(sv[1], ev + off, len - off);

                if (r <= 0)
                    _exit(0);
                off += (size_t)r;
            }
        }
    }
    return pid;
}

/* The hostile DM floods events while xsdmctl waits for a reply: the client
 * gives up at its bound (not at the reply timeout, holding all of them). */
static void flood_is_bounded(size_t pad)
{
    struct qmpc *c = negotiated();
    pid_t pid = flood_events(pad);
    int status;

    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "events") != NULL, "err: %s", err);
    /* the session is over: no later call reads on */
    ck_assert_int_eq(qmpc_execute(c, "cont", NULL, -1, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "unusable") != NULL, "err: %s", err);
    qmpc_close(c);
    close(sv[1]);
    sv[1] = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

START_TEST(event_flood_count_bounded)
{
    flood_is_bounded(0);        /* many small events: the count bound */
}
END_TEST

START_TEST(event_flood_bytes_bounded)
{
    flood_is_bounded(100000);   /* few large events: the byte bound */
}
END_TEST

START_TEST(event_flood_while_waiting_for_event)
{
    struct qmpc *c = negotiated();
    pid_t pid = flood_events(0);
    int status;

    /* every message is a STOP: waiting for another event queues them all */
    ck_assert_ptr_null(qmpc_wait_event(c, "RESUME", TMO));
    ck_assert_int_eq(qmpc_execute(c, "cont", NULL, -1, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "unusable") != NULL, "err: %s", err);
    qmpc_close(c);
    close(sv[1]);
    sv[1] = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

START_TEST(send_raw_with_fd)
{
    struct qmpc *c = negotiated();
    int p[2], got = -1;
    json_t *req;

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(qmpc_send_raw(c, "{\"execute\":\"x\",\"id\":1}\r\n", 24, p[0]), 0);
    req = srv_read_req(&got);
    ck_assert_int_ge(got, 0);
    ck_assert_str_eq(json_string_value(json_object_get(req, "execute")), "x");
    json_decref(req);
    qmpc_close(c);
}
END_TEST

START_TEST(connect_path_missing)
{
    char path[] = "/tmp/qmpc-test-XXXXXX";
    char sock[64];

    ck_assert_ptr_nonnull(mkdtemp(path));
    snprintf(sock, sizeof(sock), "%s/none", path);
    ck_assert_ptr_null(qmpc_connect_path(sock, 1, 50, err, sizeof(err)));
    ck_assert_msg(strstr(err, "connect") != NULL, "err: %s", err);
    rmdir(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qmp_client");
    TCase *tc = tcase_create("core");

    signal(SIGPIPE, SIG_IGN);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, greeting_and_capabilities);
    tcase_add_test(tc, no_negotiation_sends_nothing);
    tcase_add_test(tc, not_a_greeting);
    tcase_add_test(tc, capabilities_error_is_fatal);
    tcase_add_test(tc, ids_count_up_and_args_sent);
    tcase_add_test(tc, events_are_queued);
    tcase_add_test(tc, fd_on_first_byte);
    tcase_add_test(tc, error_reply);
    tcase_add_test(tc, wrong_id);
    tcase_add_test(tc, string_id);
    tcase_add_test(tc, missing_id);
    tcase_add_test(tc, error_without_desc);
    tcase_add_test(tc, malformed_json);
    tcase_add_test(tc, not_an_object);
    tcase_add_test(tc, lf_only_is_not_a_frame);
    tcase_add_test(tc, eof);
    tcase_add_test(tc, eof_before_greeting);
    tcase_add_test(tc, silent_peer_times_out);
    tcase_add_test(tc, execute_timeout_breaks_session);
    tcase_add_test(tc, oversize);
    tcase_add_test(tc, send_raw_with_fd);
    tcase_add_test(tc, event_flood_count_bounded);
    tcase_add_test(tc, event_flood_bytes_bounded);
    tcase_add_test(tc, event_flood_while_waiting_for_event);
    tcase_add_test(tc, connect_path_missing);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
