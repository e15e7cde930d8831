/* The restriction table and each of its steps. Every step that changes the
 * process runs in a forked child (reporting by exit status: 0 = ok, N = the
 * check that failed); the whole table runs in a child that the test then
 * inspects from outside through /proc, as the integration test does with
 * the real DM. Runs as root (CI), without CAP_SYS_RESOURCE. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/core/accel.h"
#include "dm/core/config.h"
#include "dm/core/fdset.h"
#include "restrict/restrict.h"
#include "restrict/system.h"
#include "rlimits/rlimits.h"
#include "tests/lib/ckrun.h"

#define TEST_UID 131079
#define TEST_GID 131072

static char tmpdir[64];   /* a fresh mode-0000 chroot per test */

static void mk_root(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xsdm-restrict-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(chmod(tmpdir, 0), 0);
}

static void rm_root(void)
{
    if (tmpdir[0])
        rmdir(tmpdir);
    tmpdir[0] = 0;
}

static void base_cfg(struct xsdm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->accel = ACCEL_QTEST;
    cfg->ram_mb = 64;
    cfg->sandbox = SANDBOX_ON;
    cfg->incoming_fd = -1;
}

/* Children exit with a raw exit_group: a sanitizer's _exit wrapper makes
 * syscalls that a loaded filter forbids. */
static void __attribute__((noreturn)) raw_exit(int code)
{
    syscall(SYS_exit_group, code);
    _exit(code);
}

/* fork, run fn, return its exit code; a signal death fails the test. */
static int in_child(int (*fn)(void))
{
    int status = -1;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        raw_exit(fn());
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "child died by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

static int run_step(struct restrict_ctx *ctx, const char *name)
{
    int i = restrict_step_index(name);

    if (i < 0)
        return -100;
    return restrict_steps[i].fn(ctx);
}

/* "Field:\tvalue" of a /proc/PID/status file. */
static int status_field(const char *status, const char *field, char *out, size_t outlen)
{
    char key[64];
    const char *p, *e;

    snprintf(key, sizeof(key), "\n%s:", field);
    p = strstr(status, key);
    if (!p)
        return -1;
    p += strlen(key);
    while (*p == '\t' || *p == ' ')
        p++;
    e = strchr(p, '\n');
    if (!e)
        e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    snprintf(out, outlen, "%.*s", (int)(e - p), p);
    return 0;
}

static int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r;

    if (fd < 0)
        return -1;
    buf[0] = '\n';  /* so the first line matches "\nField:" too */
    n = 1;
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fd);
    return 0;
}

static bool caps_all_zero(const char *status)
{
    static const char *const f[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
    char v[64];
    size_t i;

    for (i = 0; i < 5; i++)
        if (status_field(status, f[i], v, sizeof(v)) < 0 || strcmp(v, "0000000000000000"))
            return false;
    return true;
}

/* ---- the table ------------------------------------------------------- */

START_TEST(table_order)
{
    static const char *const want[] = {
        "xen-handles", "close-fds", "chroot", "identity", "capabilities", "rlimits", "seccomp",
    };
    size_t i;

    ck_assert_uint_eq(restrict_n_steps, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < restrict_n_steps; i++) {
        ck_assert_str_eq(restrict_steps[i].name, want[i]);
        ck_assert_ptr_nonnull(restrict_steps[i].fn);
        ck_assert_msg(restrict_steps[i].why && strlen(restrict_steps[i].why) > 20,
                      "step %s does not say why it is there", want[i]);
        ck_assert_int_eq(restrict_step_index(want[i]), (int)i);
    }
    ck_assert_int_eq(restrict_step_index("nope"), -1);
    /* Each step's failure code is distinct from the seccomp reporter's. */
    ck_assert_int_lt(RESTRICT_EXIT_BASE + (int)restrict_n_steps - 1, RESTRICT_EXIT_SECCOMP);
    ck_assert_int_gt(RESTRICT_EXIT_BASE, 1);
}
END_TEST

/* ---- -runas parsing and restrict_prepare ------------------------------- */

START_TEST(runas_parse)
{
    static const char *const bad[] = {
        "0:5", "5:0", "abc:1", "1:", ":1", "-1:2", "1:-2", "4294967295:1", "1:4294967295",
        "99999999999:1", "1:2:3", "1 :2", "xsdm-no-such-user-here", "root",
    };
    char err[200];
    uid_t u = 0;
    gid_t g = 0;
    struct passwd *pw;
    size_t i;

    ck_assert_int_eq(restrict_parse_runas("131079:131072", &u, &g, err, sizeof(err)), 0);
    ck_assert_uint_eq(u, 131079);
    ck_assert_uint_eq(g, 131072);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        ck_assert_msg(restrict_parse_runas(bad[i], &u, &g, err, sizeof(err)) < 0,
                      "'%s' accepted", bad[i]);
        ck_assert_msg(err[0], "'%s' refused without a message", bad[i]);
    }
    /* A name is read from /etc/passwd; "nobody" is there on Debian. */
    pw = getpwnam("nobody");
    if (pw && pw->pw_uid && pw->pw_gid) {
        uid_t want_u = pw->pw_uid;
        gid_t want_g = pw->pw_gid;

        ck_assert_int_eq(restrict_parse_runas("nobody", &u, &g, err, sizeof(err)), 0);
        ck_assert_uint_eq(u, want_u);
        ck_assert_uint_eq(g, want_g);
    }
}
END_TEST

/* The passwd reader: exact names only, malformed lines skipped, absent user
 * and unreadable file told apart. */
START_TEST(lookup_user_file)
{
    char path[] = "/tmp/xsdm-passwd-XXXXXX";
    uid_t u = 0;
    gid_t g = 0;
    int fd = mkstemp(path);
    FILE *f;

    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs("root:x:0:0:root:/root:/bin/bash\n"
          "this line is not a passwd entry\n"
          "xen-qemuuser:x:7:7::/:/usr/sbin/nologin\n"
          "xen-qemuuser-shared:x:131200:131300::/nonexistent:/usr/sbin/nologin\n"
          "xen-qemuuser-shared2:x:5:5::/:/bin/false\n", f);
    fclose(f);
    ck_assert_int_eq(restrict_lookup_user(path, "xen-qemuuser-shared", &u, &g), 0);
    ck_assert_uint_eq(u, 131200);
    ck_assert_uint_eq(g, 131300);
    ck_assert_int_eq(restrict_lookup_user(path, "xen-qemuuser", &u, &g), 0);
    ck_assert_uint_eq(u, 7);
    ck_assert_int_eq(restrict_lookup_user(path, "xen-qemu", &u, &g), 1);
    ck_assert_int_eq(restrict_lookup_user(path, "this line is not a passwd entry", &u, &g), 1);
    ck_assert_int_eq(restrict_lookup_user(path, "", &u, &g), 1);
    unlink(path);
    errno = 0;
    ck_assert_int_eq(restrict_lookup_user(path, "root", &u, &g), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static uint64_t fake_map_budget(struct accel *a)
{
    (void)a;
    return 8ull << 20;
}

START_TEST(prepare_resolves)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    struct stat st;
    char err[200];

    mk_root();
    base_cfg(&cfg);
    cfg.have_runas = true;
    snprintf(cfg.runas, sizeof(cfg.runas), "%d:%d", TEST_UID, TEST_GID);
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "%s", tmpdir);
    cfg.sandbox = SANDBOX_LOG;
    ck_assert_int_eq(restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)), 0);
    ck_assert(ctx.have_ids);
    ck_assert_uint_eq(ctx.uid, TEST_UID);
    ck_assert_uint_eq(ctx.gid, TEST_GID);
    ck_assert(ctx.have_root_stat);
    ck_assert_int_eq(stat(tmpdir, &st), 0);
    ck_assert_uint_eq(ctx.root_ino, st.st_ino);
    ck_assert_int_eq(ctx.sandbox, SANDBOX_LOG);
    ck_assert_int_eq(ctx.n_done, 0);
    /* RLIMIT_AS: no accelerator, all guest RAM; else what its ops report
     * (the Xen one's: test_xen_ioreq), read when the step runs. */
    ck_assert_uint_eq(restrict_as_budget(&ctx), rlimits_as_budget(64ull << 20));
    {
        struct accel_ops ops = { .name = "fake", .map_budget = fake_map_budget };
        struct accel a = { .ops = &ops };

        ck_assert_int_eq(restrict_prepare(&ctx, &cfg, &a, err, sizeof(err)), 0);
        ck_assert_uint_eq(restrict_as_budget(&ctx), rlimits_as_budget(8ull << 20));
        ops.map_budget = NULL;
        ck_assert_uint_eq(restrict_as_budget(&ctx), rlimits_as_budget(64ull << 20));
    }
    /* a missing chroot dir, a file, and a root user are refused up front */
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "%s/missing", tmpdir);
    ck_assert_int_lt(restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)), 0);
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "/dev/null");
    ck_assert_int_lt(restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)), 0);
    cfg.chroot_dir[0] = 0;
    snprintf(cfg.runas, sizeof(cfg.runas), "0:0");
    ck_assert_int_lt(restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)), 0);
    cfg.have_runas = false;
    ck_assert_int_eq(restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)), 0);
    ck_assert(!ctx.have_ids);
    rm_root();
}
END_TEST

START_TEST(keep_list)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200];
    int i;

    base_cfg(&cfg);
    ck_assert_int_eq(restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)), 0);
    restrict_keep_fd(&ctx, 7);
    restrict_keep_fd(&ctx, 7);
    restrict_keep_fd(&ctx, -1);
    restrict_keep_fd(&ctx, 3);
    ck_assert_int_eq(ctx.n_keep, 2);
    ck_assert_int_eq(ctx.max_fd, 7);
    ck_assert(!ctx.keep_overflow);
    for (i = 0; i < RESTRICT_MAX_KEEP + 5; i++)
        restrict_keep_fd(&ctx, 100 + i);
    ck_assert_int_eq(ctx.n_keep, RESTRICT_MAX_KEEP);
    ck_assert(ctx.keep_overflow);
}
END_TEST

/* ---- step 1: xen-handles ------------------------------------------------ */

static int fake_restrict_calls;
static int fake_restrict_rc;
static int fake_restrict(struct accel *a)
{
    (void)a;
    fake_restrict_calls++;
    return fake_restrict_rc;
}

START_TEST(step_xen_handles)
{
    struct accel_ops no_handles = { .name = "qtest" };
    struct accel_ops with_handles = { .name = "fake-xen", .restrict_handles = fake_restrict };
    struct accel a = { .ops = &no_handles };
    struct restrict_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    ck_assert_int_eq(run_step(&ctx, "xen-handles"), 1);        /* no accelerator */
    ctx.accel = &a;
    ck_assert_int_eq(run_step(&ctx, "xen-handles"), 1);        /* qtest: skipped */
    a.ops = &with_handles;
    ck_assert_int_eq(run_step(&ctx, "xen-handles"), 0);
    ck_assert_int_eq(fake_restrict_calls, 1);
    fake_restrict_rc = -1;
    ck_assert_int_eq(run_step(&ctx, "xen-handles"), -1);
    ck_assert_int_eq(fake_restrict_calls, 2);
}
END_TEST

/* ---- step 2: close-fds --------------------------------------------------- */

static int accel_fd = -1;
static int fake_keep_fds(struct accel *a, int *fds, int max)
{
    (void)a;
    if (max < 1)
        return -1;
    fds[0] = accel_fd;
    return 1;
}

static int child_close_fds(void)
{
    struct accel_ops ops = { .name = "fake", .keep_fds = fake_keep_fds };
    struct accel a = { .ops = &ops };
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200];
    int fds[8], i, set_fd = -1, set_id = -1;

    base_cfg(&cfg);
    for (i = 0; i < 8; i++)
        if ((fds[i] = open("/dev/null", O_RDONLY)) < 0)
            return 1;
    if (restrict_prepare(&ctx, &cfg, &a, err, sizeof(err)) < 0)
        return 2;
    restrict_keep_fd(&ctx, fds[2]);
    accel_fd = fds[4];
    /* an fd already in an fd set must survive too */
    if (fdset_add(-1, fds[6], NULL, &set_id, &set_fd, err, sizeof(err)) < 0)
        return 3;
    if (run_step(&ctx, "close-fds") != 0)
        return 4;
    for (i = 0; i < 8; i++) {
        bool kept = i == 2 || i == 4 || fds[i] == set_fd;
        int r = fcntl(fds[i], F_GETFD);

        if (kept && r < 0)
            return 10 + i;
        if (!kept && (r >= 0 || errno != EBADF))
            return 20 + i;
    }
    if (set_fd != fds[6] && fcntl(set_fd, F_GETFD) < 0)
        return 5;
    /* stdio stays */
    for (i = 0; i < 3; i++)
        if (fcntl(i, F_GETFD) < 0)
            return 30 + i;
    if (ctx.max_fd != (fds[6] > fds[4] ? fds[6] : fds[4]))
        return 6;
    return 0;
}

START_TEST(step_close_fds)
{
    ck_assert_int_eq(in_child(child_close_fds), 0);
}
END_TEST

static int child_close_fds_overflow(void)
{
    struct restrict_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.keep_overflow = true;
    return run_step(&ctx, "close-fds") == -1 ? 0 : 1;
}

START_TEST(step_close_fds_overflow_fails)
{
    ck_assert_int_eq(in_child(child_close_fds_overflow), 0);
}
END_TEST

/* ---- step 3: chroot ------------------------------------------------------ */

static int child_chroot(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    struct stat before, after;
    char err[200];

    base_cfg(&cfg);
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "%s", tmpdir);
    if (stat(tmpdir, &before) < 0)
        return 1;
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0)
        return 2;
    if (run_step(&ctx, "chroot") != 0)
        return 3;
    if (stat("/", &after) < 0 || after.st_ino != before.st_ino || after.st_dev != before.st_dev)
        return 4;
    /* the host is gone: nothing of /tmp or /etc is reachable */
    if (access("/etc/passwd", F_OK) == 0 || errno != ENOENT)
        return 5;
    if (access("../../tmp", F_OK) == 0)
        return 6;
    return 0;
}

START_TEST(step_chroot)
{
    mk_root();
    ck_assert_int_eq(in_child(child_chroot), 0);
    rm_root();
}
END_TEST

static char swapped[80];

static int child_chroot_swapped(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200];

    base_cfg(&cfg);
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "%s", tmpdir);
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0)
        return 1;
    /* someone replaces the directory between prepare and the step */
    if (rename(tmpdir, swapped) < 0 || mkdir(tmpdir, 0) < 0)
        return 2;
    return run_step(&ctx, "chroot") == -1 ? 0 : 3;
}

START_TEST(step_chroot_swapped_fails)
{
    mk_root();
    snprintf(swapped, sizeof(swapped), "%s.old", tmpdir);
    ck_assert_int_eq(in_child(child_chroot_swapped), 0);
    rmdir(swapped);
    rm_root();
}
END_TEST

static int child_chroot_skipped(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200];
    struct stat a, b;

    base_cfg(&cfg);
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0 || stat("/", &a) < 0)
        return 1;
    if (run_step(&ctx, "chroot") != 1)
        return 2;
    return stat("/", &b) == 0 && a.st_ino == b.st_ino ? 0 : 3;
}

START_TEST(step_chroot_skipped)
{
    ck_assert_int_eq(in_child(child_chroot_skipped), 0);
}
END_TEST

/* ---- step 4: identity ---------------------------------------------------- */

static int prepare_ids(struct restrict_ctx *ctx, struct xsdm_config *cfg)
{
    char err[200];

    base_cfg(cfg);
    cfg->have_runas = true;
    snprintf(cfg->runas, sizeof(cfg->runas), "%d:%d", TEST_UID, TEST_GID);
    return restrict_prepare(ctx, cfg, NULL, err, sizeof(err));
}

static int child_identity(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    uid_t r, e, s;
    gid_t rg, eg, sg;
    gid_t groups[4];

    if (setgroups(1, (gid_t[]){ 4 }) < 0)   /* a supplementary group to lose */
        return 1;
    if (prepare_ids(&ctx, &cfg) < 0)
        return 2;
    if (run_step(&ctx, "identity") != 0)
        return 3;
    if (getresuid(&r, &e, &s) < 0 || r != TEST_UID || e != TEST_UID || s != TEST_UID)
        return 4;
    if (getresgid(&rg, &eg, &sg) < 0 || rg != TEST_GID || eg != TEST_GID || sg != TEST_GID)
        return 5;
    if (getgroups(4, groups) != 0)
        return 6;
    if (setuid(0) == 0 || setresuid(0, 0, 0) == 0 || setgid(0) == 0)
        return 7;
    return 0;
}

START_TEST(step_identity)
{
    ck_assert_int_eq(in_child(child_identity), 0);
}
END_TEST

static int child_identity_skipped(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200];

    base_cfg(&cfg);
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0)
        return 1;
    if (run_step(&ctx, "identity") != 1)
        return 2;
    return getuid() == 0 ? 0 : 3;
}

START_TEST(step_identity_skipped)
{
    ck_assert_int_eq(in_child(child_identity_skipped), 0);
}
END_TEST

/* ---- step 5: capabilities ------------------------------------------------ */

static int check_status_caps(void)
{
    char status[8192], v[64];

    if (read_file("/proc/self/status", status, sizeof(status)) < 0)
        return 40;
    if (!caps_all_zero(status))
        return 41;
    if (status_field(status, "NoNewPrivs", v, sizeof(v)) < 0 || strcmp(v, "1"))
        return 42;
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
        return 43;
    if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
        return 44;
    return 0;
}

static int child_caps_after_ids(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;

    if (prepare_ids(&ctx, &cfg) < 0)
        return 1;
    if (run_step(&ctx, "identity") != 0)
        return 2;
    if (run_step(&ctx, "capabilities") != 0)
        return 3;
    if (setresuid(0, 0, 0) == 0)
        return 4;
    return check_status_caps();
}

START_TEST(step_capabilities)
{
    ck_assert_int_eq(in_child(child_caps_after_ids), 0);
}
END_TEST

/* As root without -runas: root keeps its uid but loses every capability. */
static int child_caps_root(void)
{
    struct restrict_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    if (run_step(&ctx, "capabilities") != 0)
        return 1;
    /* uid 0 without CAP_DAC_OVERRIDE: a 0000 file is closed to us */
    if (access(tmpdir, R_OK) == 0)
        return 2;
    return check_status_caps();
}

START_TEST(step_capabilities_root)
{
    mk_root();
    ck_assert_int_eq(in_child(child_caps_root), 0);
    rm_root();
}
END_TEST

/* A DM started with an ambient capability (a supervisor raised one): it
 * must be gone after the step, which checks it only through permitted and
 * inheritable (the kernel keeps ambient inside both). */
static int child_caps_ambient(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    struct restrict_ctx ctx;
    char status[8192], v[64];

    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) < 0)
        return 1;
    data[0].inheritable |= 1u << CAP_NET_BIND_SERVICE;
    if (syscall(SYS_capset, &hdr, data) < 0)
        return 2;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) < 0 ||
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1)
        return 3;
    if (read_file("/proc/self/status", status, sizeof(status)) < 0 ||
        status_field(status, "CapAmb", v, sizeof(v)) < 0 || !strcmp(v, "0000000000000000"))
        return 4;
    memset(&ctx, 0, sizeof(ctx));
    if (run_step(&ctx, "capabilities") != 0)
        return 5;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 0)
        return 6;
    return check_status_caps();
}

START_TEST(step_capabilities_ambient)
{
    ck_assert_int_eq(in_child(child_caps_ambient), 0);
}
END_TEST

/* ---- step 6: rlimits ----------------------------------------------------- */

static int child_rlimits(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    struct rlimit lim;
    char err[200];
    int fd;

    base_cfg(&cfg);
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0)
        return 1;
    fd = dup2(0, 40);
    restrict_keep_fd(&ctx, fd);
    if (run_step(&ctx, "rlimits") != 0)
        return 2;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_max != 41 + RLIMITS_NOFILE_HEADROOM ||
        lim.rlim_cur != lim.rlim_max)
        return 3;
    if (getrlimit(RLIMIT_CORE, &lim) < 0 || lim.rlim_max != 0)
        return 4;
    if (getrlimit(RLIMIT_MSGQUEUE, &lim) < 0 || lim.rlim_max != 0)
        return 5;
    if (getrlimit(RLIMIT_LOCKS, &lim) < 0 || lim.rlim_max != 0)
        return 6;
    if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0 || lim.rlim_max != 0)
        return 7;
    if (getrlimit(RLIMIT_FSIZE, &lim) < 0 || lim.rlim_max > 256 * 1024)
        return 8;
    if (getrlimit(RLIMIT_NPROC, &lim) < 0 || lim.rlim_max != 0)
        return 9;
    if (ctx.as_bytes && (getrlimit(RLIMIT_AS, &lim) < 0 || lim.rlim_max != ctx.as_bytes))
        return 10;
    /* fd numbers at the limit are refused */
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || dup2(0, (int)lim.rlim_max) >= 0)
        return 11;
    return 0;
}

START_TEST(step_rlimits)
{
    ck_assert_int_eq(in_child(child_rlimits), 0);
}
END_TEST

/* ---- the whole table, inspected from outside ----------------------------- */

enum { GO_EXIT = 'x', GO_SOCKET = 's' };

struct restricted {
    pid_t pid;
    int ready_r;    /* reads 'R' once the child is restricted */
    int go_w;       /* tells it what to do next */
    int err_r;      /* its stderr */
};

/* Child side: restrict fully, say so, wait for the order. */
static void restricted_child(int ready_w, int go_r, enum sandbox_mode mode)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200], c = 'R';

    base_cfg(&cfg);
    cfg.have_runas = true;
    cfg.sandbox = mode;
    snprintf(cfg.runas, sizeof(cfg.runas), "%d:%d", TEST_UID, TEST_GID);
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "%s", tmpdir);
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0)
        raw_exit(2);
    restrict_keep_fd(&ctx, ready_w);
    restrict_keep_fd(&ctx, go_r);
    restrict_run(&ctx);
    if (ctx.n_done != (int)restrict_n_steps)
        raw_exit(3);
    if (write(ready_w, &c, 1) != 1 || read(go_r, &c, 1) != 1)
        raw_exit(4);
    if (c == GO_SOCKET)
        syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    raw_exit(0);
}

static void start_restricted(struct restricted *rs, enum sandbox_mode mode)
{
    int ready[2], go[2], errp[2];
    char c = 0;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(errp), 0);
    rs->pid = fork();
    ck_assert_int_ge(rs->pid, 0);
    if (rs->pid == 0) {
        close(ready[0]);
        close(go[1]);
        close(errp[0]);
        dup2(errp[1], STDERR_FILENO);
        close(errp[1]);
        restricted_child(ready[1], go[0], mode);
    }
    close(ready[1]);
    close(go[0]);
    close(errp[1]);
    rs->ready_r = ready[0];
    rs->go_w = go[1];
    rs->err_r = errp[0];
    ck_assert_int_eq(read(rs->ready_r, &c, 1), 1);
    ck_assert_int_eq(c, 'R');
}

static int finish_restricted(struct restricted *rs, char order, char *err, size_t errlen)
{
    int status = -1;
    size_t n = 0;
    ssize_t r;

    ck_assert_int_eq(write(rs->go_w, &order, 1), 1);
    while (n < errlen - 1 && (r = read(rs->err_r, err + n, errlen - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = 0;
    ck_assert_int_eq(waitpid(rs->pid, &status, 0), rs->pid);
    close(rs->ready_r);
    close(rs->go_w);
    close(rs->err_r);
    return status;
}

/* "Max open files   N   N   files" of /proc/PID/limits: the hard value. */
static long long limit_hard(const char *limits, const char *label)
{
    const char *p = strstr(limits, label);
    char soft[32], hard[32];

    if (!p || sscanf(p + strlen(label), "%31s %31s", soft, hard) != 2)
        return -2;
    if (!strcmp(hard, "unlimited"))
        return -1;
    ck_assert_str_eq(soft, hard);
    return atoll(hard);
}

START_TEST(full_table_from_outside)
{
    struct restricted rs;
    char path[64], buf[8192], v[128], link[PATH_MAX], err[2048];
    ssize_t n;
    int status;

    mk_root();
    start_restricted(&rs, SANDBOX_ON);

    snprintf(path, sizeof(path), "/proc/%d/status", (int)rs.pid);
    ck_assert_int_eq(read_file(path, buf, sizeof(buf)), 0);
    snprintf(v, sizeof(v), "%d\t%d\t%d\t%d", TEST_UID, TEST_UID, TEST_UID, TEST_UID);
    status_field(buf, "Uid", link, sizeof(link));
    ck_assert_str_eq(link, v);
    snprintf(v, sizeof(v), "%d\t%d\t%d\t%d", TEST_GID, TEST_GID, TEST_GID, TEST_GID);
    status_field(buf, "Gid", link, sizeof(link));
    ck_assert_str_eq(link, v);
    ck_assert_int_eq(status_field(buf, "Groups", link, sizeof(link)), 0);
    ck_assert_str_eq(link, "");
    ck_assert_msg(caps_all_zero(buf), "capabilities left: %s", buf);
    status_field(buf, "NoNewPrivs", v, sizeof(v));
    ck_assert_str_eq(v, "1");
    status_field(buf, "Seccomp", v, sizeof(v));
    ck_assert_str_eq(v, "2");

    snprintf(path, sizeof(path), "/proc/%d/root", (int)rs.pid);
    n = readlink(path, link, sizeof(link) - 1);
    ck_assert_int_gt(n, 0);
    link[n] = 0;
    ck_assert_str_eq(link, tmpdir);

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)rs.pid);
    ck_assert_int_eq(read_file(path, buf, sizeof(buf)), 0);
    ck_assert_int_eq(limit_hard(buf, "Max core file size"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max locked memory"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max file locks"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max msgqueue size"), 0);
    ck_assert_int_eq(limit_hard(buf, "Max processes"), 0);
    ck_assert_int_le(limit_hard(buf, "Max file size"), 256 * 1024);
    ck_assert_int_ge(limit_hard(buf, "Max file size"), 0);
    /* fds 0-2 and the two pipes (< 10 here) + headroom */
    ck_assert_int_le(limit_hard(buf, "Max open files"), 10 + RLIMITS_NOFILE_HEADROOM);
    ck_assert_int_gt(limit_hard(buf, "Max open files"), RLIMITS_NOFILE_HEADROOM);
    if (rlimits_as_budget(64ull << 20))
        ck_assert_int_eq(limit_hard(buf, "Max address space"), (long long)rlimits_as_budget(64ull << 20));

    /* and the seccomp reporter works in the fully restricted process */
    status = finish_restricted(&rs, GO_SOCKET, err, sizeof(err));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == RESTRICT_EXIT_SECCOMP,
                  "status %d, stderr: %s", status, err);
    snprintf(v, sizeof(v), "seccomp: blocked syscall socket (nr %d)", (int)SYS_socket);
    ck_assert_msg(strstr(err, v), "no report in: %s", err);
    /* every step logged, in table order */
    ck_assert_ptr_nonnull(strstr(err, "restrict: close-fds: done"));
    ck_assert_ptr_nonnull(strstr(err, "restrict: chroot: done"));
    ck_assert_ptr_nonnull(strstr(err, "restrict: seccomp: done"));
    ck_assert(strstr(err, "restrict: chroot: done") < strstr(err, "restrict: identity: done"));
    ck_assert(strstr(err, "restrict: rlimits: done") < strstr(err, "restrict: seccomp: done"));
    rm_root();
}
END_TEST

START_TEST(full_table_clean_exit)
{
    struct restricted rs;
    char err[2048];
    int status;

    mk_root();
    start_restricted(&rs, SANDBOX_ON);
    status = finish_restricted(&rs, GO_EXIT, err, sizeof(err));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, err);
    ck_assert_ptr_null(strstr(err, "blocked syscall"));
    rm_root();
}
END_TEST

START_TEST(full_table_log_mode)
{
    struct restricted rs;
    char err[2048];
    int status;

    mk_root();
    start_restricted(&rs, SANDBOX_LOG);
    status = finish_restricted(&rs, GO_SOCKET, err, sizeof(err));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, err);
    ck_assert_ptr_null(strstr(err, "blocked syscall"));
    rm_root();
}
END_TEST

/* A step that fails ends the process with its own code: here the chroot dir
 * vanished between prepare and run. Nothing after it runs. */
static int child_fail_chroot(void)
{
    struct xsdm_config cfg;
    struct restrict_ctx ctx;
    char err[200];

    base_cfg(&cfg);
    cfg.have_runas = true;
    snprintf(cfg.runas, sizeof(cfg.runas), "%d:%d", TEST_UID, TEST_GID);
    snprintf(cfg.chroot_dir, sizeof(cfg.chroot_dir), "%s", tmpdir);
    if (restrict_prepare(&ctx, &cfg, NULL, err, sizeof(err)) < 0)
        return 1;
    if (rmdir(tmpdir) < 0)
        return 2;
    restrict_run(&ctx);
    return 3;   /* restrict_run returned: wrong */
}

START_TEST(failing_step_exits_with_its_code)
{
    mk_root();
    ck_assert_int_eq(in_child(child_fail_chroot), RESTRICT_EXIT_BASE + restrict_step_index("chroot"));
    rm_root();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("restrict");
    TCase *tc = tcase_create("table");

    /* Children lower RLIMIT_FSIZE while their stderr may be a large CI log
     * file: a log line must fail with EFBIG, not kill them (as in the DM). */
    signal(SIGXFSZ, SIG_IGN);

    if (geteuid() != 0) {
        fprintf(stderr, "test_restrict: needs root (as in CI)\n");
        return 1;
    }
    tcase_add_test(tc, table_order);
    tcase_add_test(tc, runas_parse);
    tcase_add_test(tc, lookup_user_file);
    tcase_add_test(tc, prepare_resolves);
    tcase_add_test(tc, keep_list);
    suite_add_tcase(s, tc);
    tc = tcase_create("steps");
    tcase_add_test(tc, step_xen_handles);
    tcase_add_test(tc, step_close_fds);
    tcase_add_test(tc, step_close_fds_overflow_fails);
    tcase_add_test(tc, step_chroot);
    tcase_add_test(tc, step_chroot_swapped_fails);
    tcase_add_test(tc, step_chroot_skipped);
    tcase_add_test(tc, step_identity);
    tcase_add_test(tc, step_identity_skipped);
    tcase_add_test(tc, step_capabilities);
    tcase_add_test(tc, step_capabilities_root);
    tcase_add_test(tc, step_capabilities_ambient);
    tcase_add_test(tc, step_rlimits);
    suite_add_tcase(s, tc);
    tc = tcase_create("run");
    tcase_add_test(tc, full_table_from_outside);
    tcase_add_test(tc, full_table_clean_exit);
    tcase_add_test(tc, full_table_log_mode);
    tcase_add_test(tc, failing_step_exits_with_its_code);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
