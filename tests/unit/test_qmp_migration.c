/* The save/restore QMP commands against a real QMP server in a child
 * process (a DM without devices: one synthetic registered device and a fake
 * accelerator), driven the way libxl drives them: add-fd with SCM_RIGHTS,
 * then xen-save-devices-state / xen-load-devices-state on /dev/fdset/N.
 * Covers the access-mode rules, the restricted plain-path refusal, write
 * errors (EFBIG under RLIMIT_FSIZE, ENOSPC, EPIPE) that must leave the DM
 * serving, staging on load, and xen-set-global-dirty-log. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/board/dm.h"
#include "dm/core/loop.h"
#include "dm/core/vmstate.h"
#include "dm/qmp/qmp.h"
#include "dm/state/migration.h"
#include "tests/lib/ckrun.h"
#include "toolstack/qmp-client.h"

#define TMO 10000

struct regs {
    uint32_t r[4];
    uint8_t fifo_len;
    uint8_t fifo[8];
};

static struct regs live;
static struct xsdm_config cfg;

static const struct vm_field regs_fields[] = {
    VMF_ARRAY(struct regs, r),
    VMF_UINT(struct regs, fifo_len, VM_MAX(8)),
    VMF_ARRAY_V(struct regs, fifo, fifo_len),
    VMF_END
};

/* No ck_* call here: the server child uses it too (see server_main). */
static int register_regs(uint32_t seed)
{
    struct vmstate_dev d = {
        .name = "regs", .version = 1, .state = &live, .state_size = sizeof(live),
        .fields = regs_fields,
    };

    vmstate_unregister_all();
    if (vmstate_register(&d))
        return -1;
    memset(&live, 0, sizeof(live));
    for (int i = 0; i < 4; i++)
        live.r[i] = seed * 0x01010101u + (uint32_t)i;
    live.fifo_len = 3;
    memcpy(live.fifo, "abc", 3);
    memset(&cfg, 0, sizeof(cfg));
    cfg.xen_platform = true;
    return 0;
}

/* ---- the server child ---- */

static int dirty_pipe[2] = { -1, -1 };

static int fake_set_dirty_log(struct accel *a, bool enable)
{
    char c = enable ? 'E' : 'D';

    return write(dirty_pipe[1], &c, 1) == 1 ? 0 : -1;
}

static const struct accel_ops fake_ops = {
    .name = "fake",
    .set_dirty_log = fake_set_dirty_log,
};

static struct dm dm;
static pid_t server = -1;
static struct qmpc *qc;

struct server_opts {
    bool restricted;
    rlim_t fsize;               /* 0: unchanged */
};

/* The child makes no ck_* call: every assertion appends to libcheck's
 * result file, which a small RLIMIT_FSIZE would truncate. */
static void server_main(int fd, const struct server_opts *o)
{
    struct qmp_server *s;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (o->fsize) {
        struct rlimit rl = { o->fsize, o->fsize };

        if (setrlimit(RLIMIT_FSIZE, &rl))
            _exit(2);
    }
    if (register_regs(7))
        _exit(5);
    memset(&dm, 0, sizeof(dm));
    dm.cfg = cfg;
    dm.cfg.incoming_fd = -1;
    dm.machine.state = RUN_RUNNING;
    dm.restricted = o->restricted;
    dm.accel.ops = &fake_ops;
    dm.loop = loop_new();
    if (!dm.loop)
        _exit(3);
    dm_set(&dm);
    s = qmp_server_new(dm.loop, -1, "test");
    if (!s || qmp_server_attach_client(s, fd) < 0)
        _exit(4);
    loop_run(dm.loop);
    _exit(0);
}

static void start_server(const struct server_opts *o)
{
    int sv[2];
    char err[256] = "";

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(pipe(dirty_pipe), 0);
    server = fork();
    ck_assert_int_ge(server, 0);
    if (server == 0) {
        close(sv[0]);
        close(dirty_pipe[0]);
        server_main(sv[1], o);
    }
    close(sv[1]);
    close(dirty_pipe[1]);
    qc = qmpc_connect_fd(sv[0], 1, TMO, err, sizeof(err));
    ck_assert_msg(qc != NULL, "connect: %s", err);
}

static void stop_server(void)
{
    int st;

    if (qc)
        qmpc_close(qc);
    qc = NULL;
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, &st, 0);
    }
    server = -1;
    if (dirty_pipe[0] >= 0)
        close(dirty_pipe[0]);
    dirty_pipe[0] = dirty_pipe[1] = -1;
}

static void teardown(void)
{
    stop_server();
    vmstate_unregister_all();
}

/* ---- client helpers ---- */

/* 0 with *ret, or 1 with the error desc in desc. */
static int run(const char *cmd, json_t *args, int fd, json_t **ret, char *desc, size_t desclen)
{
    json_t *r = NULL;
    char err[256] = "";
    int rc = qmpc_execute(qc, cmd, args, fd, &r, err, sizeof(err));

    ck_assert_msg(rc == 0 || rc == 1, "%s: transport: %s", cmd, err);
    if (rc == 1) {
        ck_assert_str_eq(json_string_value(json_object_get(r, "class")), "GenericError");
        if (desc)
            snprintf(desc, desclen, "%s", json_string_value(json_object_get(r, "desc")));
    }
    if (ret && rc == 0)
        *ret = r;
    else
        json_decref(r);
    return rc;
}

static void ok(const char *cmd, json_t *args)
{
    char desc[256] = "";

    ck_assert_msg(run(cmd, args, -1, NULL, desc, sizeof(desc)) == 0, "%s: %s", cmd, desc);
}

static void fails(const char *cmd, json_t *args, const char *what)
{
    char desc[256] = "";

    ck_assert_msg(run(cmd, args, -1, NULL, desc, sizeof(desc)) == 1, "%s succeeded", cmd);
    ck_assert_msg(strstr(desc, what), "%s: '%s' does not name '%s'", cmd, desc, what);
}

static const char *status(void)
{
    static char st[32];
    json_t *r = NULL;

    ck_assert_int_eq(run("query-status", NULL, -1, &r, NULL, 0), 0);
    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(r, "status")));
    json_decref(r);
    return st;
}

/* add-fd (the server owns a copy; ours is closed) → "/dev/fdset/N". */
static const char *add_fd(int fd)
{
    static char path[32];
    json_t *r = NULL;

    ck_assert_int_eq(run("add-fd", NULL, fd, &r, NULL, 0), 0);
    snprintf(path, sizeof(path), "/dev/fdset/%lld",
             (long long)json_integer_value(json_object_get(r, "fdset-id")));
    json_decref(r);
    close(fd);
    return path;
}

static int save(const char *path, char *desc, size_t desclen)
{
    return run("xen-save-devices-state", json_pack("{s:s, s:b}", "filename", path, "live", 0), -1,
               NULL, desc, desclen);
}

static char tmpl[64];

static int tmpfile_fd(int flags)
{
    int fd;

    snprintf(tmpl, sizeof(tmpl), "/tmp/test_qmp_migration.XXXXXX");
    fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fd = open(tmpl, flags);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    uint8_t *buf = NULL;
    char err[256] = "";

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(migration_read_all(fd, &buf, len, err, sizeof(err)) == 0, "%s", err);
    close(fd);
    return buf;
}

/* Save the server's state to a fresh file through an fd set; return it. */
static uint8_t *save_bytes(size_t *len)
{
    char desc[256] = "";
    int fd = tmpfile_fd(O_WRONLY);
    uint8_t *buf;

    ck_assert_msg(save(add_fd(fd), desc, sizeof(desc)) == 0, "save: %s", desc);
    buf = slurp(tmpl, len);
    unlink(tmpl);
    return buf;
}

/* The stream the server wrote holds the server's device state (seed 7). */
static void assert_server_state(const uint8_t *buf, size_t len, uint32_t seed)
{
    char err[256] = "";

    ck_assert_int_eq(register_regs(99), 0);
    ck_assert_msg(migration_load_buf(&cfg, buf, len, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(live.r[0], seed * 0x01010101u);
    ck_assert_uint_eq(live.r[3], seed * 0x01010101u + 3);
    ck_assert_uint_eq(live.fifo_len, 3);
}

static const struct server_opts restricted = { .restricted = true };

START_TEST(save_wronly_fd_libxl_sequence)
{
    char desc[256] = "";
    int fd;
    uint8_t *buf;
    size_t len;
    struct stat st;
    static uint8_t junk[100000];

    start_server(&restricted);
    ok("xen-set-global-dirty-log", json_pack("{s:b}", "enable", 1));
    ok("stop", NULL);
    /* libxl opens O_WRONLY|O_CREAT without O_TRUNC: stale longer content
     * must not survive as trailing garbage. */
    fd = tmpfile_fd(O_WRONLY);
    memset(junk, 0xee, sizeof(junk));
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    ck_assert_msg(save(add_fd(fd), desc, sizeof(desc)) == 0, "%s", desc);
    ok("xen-set-global-dirty-log", json_pack("{s:b}", "enable", 0));
    ck_assert_int_eq(stat(tmpl, &st), 0);
    buf = slurp(tmpl, &len);
    ck_assert_uint_eq((size_t)st.st_size, len);
    ck_assert_uint_lt(len, sizeof(junk));
    assert_server_state(buf, len, 7);
    ck_assert_str_eq(status(), "paused");
    unlink(tmpl);
    free(buf);
}
END_TEST

START_TEST(save_rdwr_fd)
{
    char desc[256] = "";
    uint8_t *buf;
    size_t len;

    start_server(&restricted);
    ok("stop", NULL);
    ck_assert_msg(save(add_fd(tmpfile_fd(O_RDWR)), desc, sizeof(desc)) == 0, "%s", desc);
    buf = slurp(tmpl, &len);
    assert_server_state(buf, len, 7);
    unlink(tmpl);
    free(buf);
}
END_TEST

START_TEST(save_rdonly_fd_refused)
{
    char desc[256] = "";

    start_server(&restricted);
    ok("stop", NULL);
    ck_assert_int_eq(save(add_fd(tmpfile_fd(O_RDONLY)), desc, sizeof(desc)), 1);
    ck_assert_msg(strstr(desc, "xen-save-devices-state") && strstr(desc, "no fd that allows"),
                  "%s", desc);
    unlink(tmpl);
    ck_assert_str_eq(status(), "paused");
    ok("cont", NULL);
    ck_assert_str_eq(status(), "running");
}
END_TEST

START_TEST(save_plain_path)
{
    char desc[256] = "";
    char path[64];
    uint8_t *buf;
    size_t len;

    snprintf(path, sizeof(path), "/tmp/test_qmp_migration.%d", (int)getpid());
    unlink(path);
    start_server(&restricted);
    ok("stop", NULL);
    ck_assert_int_eq(save(path, desc, sizeof(desc)), 1);
    ck_assert_msg(strstr(desc, "restricted") && strstr(desc, "/dev/fdset/N"), "%s", desc);
    ck_assert_int_eq(access(path, F_OK), -1);
    stop_server();

    /* Before restriction a path is fine (QEMU allows it too). */
    start_server(&(struct server_opts){ .restricted = false });
    ok("stop", NULL);
    ck_assert_msg(save(path, desc, sizeof(desc)) == 0, "%s", desc);
    buf = slurp(path, &len);
    assert_server_state(buf, len, 7);
    unlink(path);
    free(buf);
}
END_TEST

START_TEST(save_efbig_keeps_running)
{
    char desc[256] = "";

    start_server(&(struct server_opts){ .restricted = true, .fsize = 20 });
    ok("stop", NULL);
    ck_assert_int_eq(save(add_fd(tmpfile_fd(O_WRONLY)), desc, sizeof(desc)), 1);
    ck_assert_msg(strstr(desc, strerror(EFBIG)), "%s", desc);
    unlink(tmpl);
    ck_assert_str_eq(status(), "paused");
    ok("cont", NULL);
    ck_assert_str_eq(status(), "running");
    ck_assert_int_eq(kill(server, 0), 0);
}
END_TEST

START_TEST(save_enospc_keeps_running)
{
    char desc[256] = "";
    int fd = open("/dev/full", O_WRONLY);

    ck_assert_int_ge(fd, 0);
    start_server(&restricted);
    ok("stop", NULL);
    ck_assert_int_eq(save(add_fd(fd), desc, sizeof(desc)), 1);
    ck_assert_msg(strstr(desc, strerror(ENOSPC)), "%s", desc);
    ok("cont", NULL);
    ck_assert_str_eq(status(), "running");
}
END_TEST

START_TEST(save_epipe_keeps_running)
{
    char desc[256] = "";
    int p[2];

    start_server(&restricted);
    ok("stop", NULL);
    ck_assert_int_eq(pipe(p), 0);       /* after the fork: the server gets only p[1] */
    close(p[0]);                        /* nobody will read the state */
    ck_assert_int_eq(save(add_fd(p[1]), desc, sizeof(desc)), 1);
    ck_assert_msg(strstr(desc, strerror(EPIPE)), "%s", desc);
    ok("cont", NULL);
    ck_assert_str_eq(status(), "running");
}
END_TEST

/* QEMU stops a running VM around the save and resumes it afterwards. */
START_TEST(save_while_running_resumes)
{
    char desc[256] = "";
    json_t *ev;

    start_server(&restricted);
    ck_assert_str_eq(status(), "running");
    ck_assert_msg(save(add_fd(tmpfile_fd(O_WRONLY)), desc, sizeof(desc)) == 0, "%s", desc);
    unlink(tmpl);
    ev = qmpc_wait_event(qc, "STOP", TMO);
    ck_assert_ptr_nonnull(ev);
    json_decref(ev);
    ev = qmpc_wait_event(qc, "RESUME", TMO);
    ck_assert_ptr_nonnull(ev);
    json_decref(ev);
    ck_assert_str_eq(status(), "running");
}
END_TEST

START_TEST(bad_arguments)
{
    start_server(&restricted);
    fails("xen-save-devices-state", NULL, "Parameter 'filename' is missing");
    fails("xen-save-devices-state", json_pack("{s:i}", "filename", 3), "filename");
    fails("xen-save-devices-state", json_pack("{s:s, s:s}", "filename", "/dev/fdset/0", "bogus", "x"),
          "Parameter 'bogus' is unexpected");
    fails("xen-save-devices-state", json_pack("{s:s}", "filename", "/dev/fdset/5"),
          "fd set 5 does not exist");
    fails("xen-load-devices-state", NULL, "Parameter 'filename' is missing");
    fails("xen-set-global-dirty-log", NULL, "Parameter 'enable' is missing");
    fails("xen-set-global-dirty-log", json_pack("{s:s}", "enable", "yes"), "enable");
    ck_assert_str_eq(status(), "running");
}
END_TEST

START_TEST(dirty_log_reaches_accel)
{
    char c[4] = "";

    start_server(&restricted);
    ok("xen-set-global-dirty-log", json_pack("{s:b}", "enable", 1));
    ok("xen-set-global-dirty-log", json_pack("{s:b}", "enable", 0));
    ck_assert_int_eq(read(dirty_pipe[0], c, 2), 2);
    ck_assert_int_eq(c[0], 'E');
    ck_assert_int_eq(c[1], 'D');
}
END_TEST

/* Load through an fd set: refused while running; a bad stream changes
 * nothing; a good one replaces the state. */
START_TEST(load_stages_then_commits)
{
    char desc[256] = "", err[256] = "";
    uint8_t *before, *after, *mine = NULL;
    size_t lb, la, lm = 0;
    int fd;

    start_server(&restricted);
    /* A stream of our own, with a different state (seed 42). */
    ck_assert_int_eq(register_regs(42), 0);
    ck_assert_int_eq(migration_save_buf(&cfg, &mine, &lm, err, sizeof(err)), 0);
    fd = tmpfile_fd(O_WRONLY);
    ck_assert_int_eq(write(fd, mine, lm), (ssize_t)lm);
    close(fd);

    fd = open(tmpl, O_RDONLY);
    unlink(tmpl);
    fails("xen-load-devices-state", json_pack("{s:s}", "filename", add_fd(fd)),
          "while the VM is running");
    ok("stop", NULL);
    before = save_bytes(&lb);

    /* Corrupt: one bit of the last section flipped. */
    mine[lm - 10] ^= 4;
    fd = tmpfile_fd(O_WRONLY);
    ck_assert_int_eq(write(fd, mine, lm), (ssize_t)lm);
    close(fd);
    fd = open(tmpl, O_RDONLY);
    fails("xen-load-devices-state", json_pack("{s:s}", "filename", add_fd(fd)), "checksum mismatch");
    unlink(tmpl);
    ck_assert_str_eq(status(), "paused");
    after = save_bytes(&la);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(!memcmp(before, after, lb), "a rejected stream changed device state");
    free(after);

    /* Good. */
    mine[lm - 10] ^= 4;
    fd = tmpfile_fd(O_WRONLY);
    ck_assert_int_eq(write(fd, mine, lm), (ssize_t)lm);
    close(fd);
    fd = open(tmpl, O_RDONLY);
    ck_assert_msg(run("xen-load-devices-state", json_pack("{s:s}", "filename", add_fd(fd)), -1, NULL,
                      desc, sizeof(desc)) == 0, "%s", desc);
    unlink(tmpl);
    after = save_bytes(&la);
    ck_assert_uint_eq(la, lm);
    ck_assert_msg(!memcmp(after, mine, lm), "loaded state not what was saved");
    ck_assert_str_eq(status(), "paused");
    free(before);
    free(after);
    free(mine);
}
END_TEST

static Suite *qmp_migration_suite(void)
{
    Suite *s = suite_create("qmp-migration");
    TCase *tc = tcase_create("commands");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, save_wronly_fd_libxl_sequence);
    tcase_add_test(tc, save_rdwr_fd);
    tcase_add_test(tc, save_rdonly_fd_refused);
    tcase_add_test(tc, save_plain_path);
    tcase_add_test(tc, save_efbig_keeps_running);
    tcase_add_test(tc, save_enospc_keeps_running);
    tcase_add_test(tc, save_epipe_keeps_running);
    tcase_add_test(tc, save_while_running_resumes);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, dirty_log_reaches_accel);
    tcase_add_test(tc, load_stages_then_commits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ck_run_suite(qmp_migration_suite());
}
