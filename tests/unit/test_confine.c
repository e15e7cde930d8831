/* Secure by default (issue 18): build/xsdm started with the argv libxl
 * builds without dm_restrict — what every libvirt user gets — i.e. QMP on
 * socket paths the DM creates, no -chroot, no -runas, no -S. The DM must
 * still end up as restricted as under dm_restrict=1: the per-domid uid by
 * libxl's rule, an empty read-only root in a mount namespace of its own,
 * seccomp, no capabilities; and leave nothing on the host once it exits.
 * Runs as root (CI's root may unshare a mount namespace). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/storage/ide-regs.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "tests/lib/loopdev.h"
#include "toolstack/qmp-client.h"

#define DOMID    "7"
#define TMO      10000
#define IMG_SIZE (4u << 20)

static char tmpdir[] = "/tmp/test_confine.XXXXXX";
static char img[512], iso[512], qmp_path[512], stat_path[512], log_path[512];
static char arg_qmp[700], arg_stat[700], arg_cd[700], arg_disk[700];
static char mounts_before[65536];

static size_t slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r;

    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fd);
    return n;
}

static void mkfile(const char *path, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
    snprintf(iso, sizeof(iso), "%s/cd.iso", tmpdir);
    snprintf(qmp_path, sizeof(qmp_path), "%s/qmp-libxl-" DOMID, tmpdir);
    snprintf(stat_path, sizeof(stat_path), "%s/qmp-libxenstat-" DOMID, tmpdir);
    snprintf(log_path, sizeof(log_path), "%s/dm.log", tmpdir);
    mkfile(img, IMG_SIZE);
    mkfile(iso, 16 * 2048);
    snprintf(arg_qmp, sizeof(arg_qmp), "socket,id=libxl-cmd,path=%s,server=on,wait=off", qmp_path);
    snprintf(arg_stat, sizeof(arg_stat), "socket,id=libxenstat-cmd,path=%s,server=on,wait=off",
             stat_path);
    snprintf(arg_cd, sizeof(arg_cd), "if=none,readonly=on,id=ide-5632,file=%s,format=raw", iso);
    snprintf(arg_disk, sizeof(arg_disk),
             "file=%s,if=ide,index=0,media=disk,format=raw,cache=writeback", img);
}

static void teardown(void)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    strcpy(tmpdir, "/tmp/test_confine.XXXXXX");
}

/* libxl's argv for an HVM guest without dm_restrict (the reference run's
 * qemu-xen command line, results/s3-dm-args.txt), plus a disk, on qtest. */
static struct qtest *start_libvirt(const char *opt, const char *val)
{
    const char *args[48] = {
        "-xen-domid", DOMID, "-no-shutdown",
        "-chardev", arg_qmp, "-mon", "chardev=libxl-cmd,mode=control",
        "-chardev", arg_stat, "-mon", "chardev=libxenstat-cmd,mode=control",
        "-nodefaults", "-no-user-config", "-name", "hvm1", "-vnc", "none", "-display", "none",
        "-boot", "order=d", "-net", "none", "-machine", "xenfv,suppress-vmdesc=on", "-m", "64",
        "-drive", arg_cd, "-device", "ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0",
        "-drive", arg_disk, "-accel", "qtest",
    };
    struct qtest_opts o = { .no_base = true, .extra_fd = -1, .args = args, .log_path = log_path };
    int n = 0;

    while (args[n])
        n++;
    if (opt) {
        args[n++] = opt;
        args[n++] = val;
    }
    args[n] = NULL;
    return qtest_start(&o);
}

/* The greeting comes from the loop, which runs only once restricted. */
static struct qmpc *connect_qmp(struct qtest *s)
{
    char err[256] = "";
    struct qmpc *c = NULL;

    for (int i = 0; i < 1000 && !c; i++) {
        c = qmpc_connect_path(qmp_path, 1, TMO, err, sizeof(err));
        if (!c) {
            ck_assert_msg(qtest_wait_exit(s, 10) == -1, "the DM exited: %s", err);
        }
    }
    ck_assert_msg(c != NULL, "QMP: %s", err);
    return c;
}

static void field_is(const char *status, const char *name, const char *want)
{
    char key[64], v[128];
    const char *p, *e;

    snprintf(key, sizeof(key), "\n%s:\t", name);
    p = strstr(status, key);
    ck_assert_msg(p != NULL, "no %s", name);
    p += strlen(key);
    e = strchr(p, '\n');
    while (e > p && e[-1] == ' ')
        e--;
    snprintf(v, sizeof(v), "%.*s", (int)(e - p), p);
    ck_assert_msg(!strcmp(v, want), "%s is '%s', wanted '%s'", name, v, want);
}

static void check_identity(pid_t pid, unsigned uid, unsigned gid)
{
    char path[64], buf[8192], want[64];

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    buf[0] = '\n';
    slurp(path, buf + 1, sizeof(buf) - 1);
    snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
    field_is(buf, "Uid", want);
    snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", gid, gid, gid, gid);
    field_is(buf, "Gid", want);
    field_is(buf, "Groups", "");
    field_is(buf, "CapPrm", "0000000000000000");
    field_is(buf, "CapEff", "0000000000000000");
    field_is(buf, "CapBnd", "0000000000000000");
    field_is(buf, "NoNewPrivs", "1");
    field_is(buf, "Seccomp", "2");
}

/* Its root: an empty read-only tmpfs, the only mount of a namespace that
 * is not ours. */
static void check_empty_root(pid_t pid)
{
    char path[64], buf[4096], mine[64], its[64];
    struct statfs sf;
    struct dirent *de;
    DIR *d;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
    ck_assert_int_eq(statfs(path, &sf), 0);
    ck_assert_msg(sf.f_type == TMPFS_MAGIC, "root is fs type 0x%lx", (unsigned long)sf.f_type);
    ck_assert(sf.f_flags & ST_RDONLY);
    d = opendir(path);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        ck_assert_msg(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."), "root holds %s",
                      de->d_name);
    closedir(d);
    snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
    slurp(path, buf, sizeof(buf));
    ck_assert_msg(strchr(buf, '\n') == buf + strlen(buf) - 1, "more than one mount:\n%s", buf);
    snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
    n = readlink(path, its, sizeof(its) - 1);
    ck_assert_int_gt(n, 0);
    its[n] = 0;
    n = readlink("/proc/self/ns/mnt", mine, sizeof(mine) - 1);
    ck_assert_int_gt(n, 0);
    mine[n] = 0;
    ck_assert_str_ne(its, mine);
}

#define CMD 0x1f0                /* primary channel: command block */
#define CTL 0x3f6                /* primary channel: control block */

/* A guest write past libxl's 256 KiB FSIZE, by PIO, at 1 MiB. */
static void guest_write(struct qtest *s, uint32_t lba, const char *text)
{
    uint8_t buf[512] = { 0 };

    snprintf((char *)buf, sizeof(buf), "%s", text);
    qtest_pci_cfg_writew(s, 1, 1, 0x04, 0x0001);     /* I/O decode */
    qtest_outb(s, CMD + ATA_REG_DEVICE, (uint8_t)(DEV_OBS | DEV_LBA | ((lba >> 24) & 0x0f)));
    qtest_outb(s, CMD + ATA_REG_NSECTOR, 1);
    qtest_outb(s, CMD + ATA_REG_LBA_LOW, (uint8_t)lba);
    qtest_outb(s, CMD + ATA_REG_LBA_MID, (uint8_t)(lba >> 8));
    qtest_outb(s, CMD + ATA_REG_LBA_HIGH, (uint8_t)(lba >> 16));
    qtest_outb(s, CMD + ATA_REG_COMMAND, ATA_CMD_WRITE_SECTORS);
    ck_assert(qtest_inb(s, CTL + ATA_REG_ALTSTATUS) & ST_DRQ);
    for (int i = 0; i < 512; i += 2)
        qtest_outw(s, CMD + ATA_REG_DATA, (uint16_t)(buf[i] | buf[i + 1] << 8));
    ck_assert_uint_eq(qtest_inb(s, CMD + ATA_REG_STATUS) & (ST_BSY | ST_DRQ | ST_ERR), 0);
}

/* Exit on libxl's SIGHUP; afterwards our mount table is what it was, and
 * the DM left in tmpdir only what libxl removes itself (its QMP sockets). */
static void stop_and_check_host(struct qtest *s, const char *marker)
{
    static const char *const allowed[] = { ".", "..", "disk.img", "cd.iso", "passwd", "dm.log",
                                           "qmp-libxl-" DOMID, "qmp-libxenstat-" DOMID };
    char buf[sizeof(mounts_before)], got[512];
    struct dirent *de;
    DIR *d;
    int st, fd;

    ck_assert_int_eq(kill(qtest_pid(s), SIGHUP), 0);
    st = qtest_wait_exit(s, TMO);
    ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    qtest_quit(s);
    slurp("/proc/self/mountinfo", buf, sizeof(buf));
    ck_assert_msg(!strcmp(buf, mounts_before), "the mount table changed:\n%s", buf);
    d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        size_t i;

        for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            if (!strcmp(de->d_name, allowed[i]))
                break;
        ck_assert_msg(i < sizeof(allowed) / sizeof(allowed[0]), "left behind: %s", de->d_name);
    }
    closedir(d);
    /* the image's loop device went with the DM (autoclear; the kernel may
     * finish the detach just after the exit) */
    ck_assert_msg(loop_gone(img), "a loop device still backs %s", img);
    fd = open(img, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, got, sizeof(got), 1 << 20), (ssize_t)sizeof(got));
    close(fd);
    ck_assert_msg(!strcmp(got, marker), "the guest's write at 1 MiB is not in the image");
}

/* This test's /etc/passwd, for the DM only: a mount namespace of the test's
 * own (check forks each test) with a file bound over /etc/passwd. */
static void fake_passwd(const char *content)
{
    char path[600];
    int fd;

    snprintf(path, sizeof(path), "%s/passwd", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
    ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    ck_assert_int_eq(mount(path, "/etc/passwd", NULL, MS_BIND, NULL), 0);
}

static void run_confined(unsigned uid, unsigned gid, const char *log_says)
{
    char log[65536];
    struct qtest *s;
    struct qmpc *c;
    json_t *ret = NULL;
    char err[256];

    slurp("/proc/self/mountinfo", mounts_before, sizeof(mounts_before));
    s = start_libvirt(NULL, NULL);
    ck_assert_ptr_nonnull(s);
    c = connect_qmp(s);
    check_identity(qtest_pid(s), uid, gid);
    check_empty_root(qtest_pid(s));
    /* no -S: running at once, as libxl without dm_restrict expects */
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, &ret, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "status")), "running");
    json_decref(ret);
    qmpc_close(c);
    guest_write(s, 2048, "confined write");
    slurp(qtest_log_path(s), log, sizeof(log));
    ck_assert_msg(strstr(log, log_says), "log lacks '%s':\n%s", log_says, log);
    stop_and_check_host(s, "confined write");
}

/* This machine has neither of libxl's users: xsdm's fallback. */
START_TEST(no_dm_user_fallback)
{
    static const char users[] = "root:x:0:0:root:/root:/bin/sh\n"
                                "nobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n";

    fake_passwd(users);
    run_confined(131072 + 7, 131072 + 7, "unnamed uid 131079");
}
END_TEST

START_TEST(range_base_rule)
{
    static const char users[] = "root:x:0:0:root:/root:/bin/sh\n"
                                "xen-qemuuser-range-base:x:140000:140001::/:/usr/sbin/nologin\n";

    fake_passwd(users);
    run_confined(140007, 140001, "xen-qemuuser-range-base (uid 140000) + domid 7");
}
END_TEST

START_TEST(shared_rule)
{
    static const char users[] = "root:x:0:0:root:/root:/bin/sh\n"
                                "xen-qemuuser-shared:x:150000:150002::/:/usr/sbin/nologin\n";

    fake_passwd(users);
    run_confined(150000, 150002, "xen-qemuuser-shared, libxl's fallback");
}
END_TEST

/* The uid libxl's rule gives is somebody's: refused, as libxl refuses it,
 * and the reason is the DM log's first line (libvirt shows only "failed"). */
START_TEST(uid_clash_refused)
{
    static const char users[] = "root:x:0:0:root:/root:/bin/sh\n"
                                "xen-qemuuser-range-base:x:140000:140001::/:/usr/sbin/nologin\n"
                                "alice:x:140007:140007::/home/alice:/bin/sh\n";
    char log[8192];
    struct qtest *s;
    int st;

    fake_passwd(users);
    s = start_libvirt(NULL, NULL);
    if (s) {            /* it exits before its qtest connection, or right after */
        st = qtest_wait_exit(s, TMO);
        ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
        qtest_quit(s);
    }
    slurp(log_path, log, sizeof(log));
    ck_assert_msg(!strncmp(log, "xsdm: error: ", 13) && strstr(log, "user 'alice'") &&
                  strstr(log, "140007") < strchr(log, '\n'), "first line:\n%s", log);
}
END_TEST

/* The opt-out for debugging: uid and root stay, seccomp and caps do not. */
START_TEST(confine_off)
{
    char path[64], buf[8192];
    struct qtest *s;
    struct qmpc *c;

    slurp("/proc/self/mountinfo", mounts_before, sizeof(mounts_before));
    s = start_libvirt("-confine", "off");
    ck_assert_ptr_nonnull(s);
    c = connect_qmp(s);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)qtest_pid(s));
    buf[0] = '\n';
    slurp(path, buf + 1, sizeof(buf) - 1);
    field_is(buf, "Uid", "0\t0\t0\t0");
    field_is(buf, "Seccomp", "2");
    field_is(buf, "CapEff", "0000000000000000");
    snprintf(path, sizeof(path), "/proc/%d/root", (int)qtest_pid(s));
    ck_assert_int_eq(readlink(path, buf, sizeof(buf)), 1);     /* "/": the host's */
    qmpc_close(c);
    slurp(qtest_log_path(s), buf, sizeof(buf));
    ck_assert(strstr(buf, "-confine off"));
    guest_write(s, 2048, "unconfined write");
    stop_and_check_host(s, "unconfined write");
}
END_TEST

/* libvirtd runs `xsdm -help` as root to recognise the DM: it must write,
 * create, bind and mount nothing. Any such syscall kills it here. (Reading
 * is allowed: libcap-ng's constructor reads /proc/sys/kernel/cap_last_cap
 * before main, a sanitizer runtime reads /proc/self/maps.) */
START_TEST(help_touches_nothing)
{
    static const int deny[] = { SCMP_SYS(socket), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
                                SCMP_SYS(unshare), SCMP_SYS(mount), SCMP_SYS(ioctl),
                                SCMP_SYS(openat2), SCMP_SYS(unlink),
                                SCMP_SYS(unlinkat), SCMP_SYS(setuid), SCMP_SYS(setresuid) };
    static const struct { unsigned long mask, val; } open_deny[] = {
        { O_ACCMODE, O_WRONLY }, { O_ACCMODE, O_RDWR }, { O_CREAT, O_CREAT },
    };
    const char *opt = _i ? "-version" : "-help";
    int out[2], st;
    char buf[512] = "";
    pid_t pid;

    ck_assert_int_eq(pipe(out), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);

        dup2(out[1], 1);
        for (size_t i = 0; f && i < sizeof(deny) / sizeof(deny[0]); i++)
            seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, deny[i], 0);
        for (size_t i = 0; f && i < sizeof(open_deny) / sizeof(open_deny[0]); i++) {
            seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(openat), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, open_deny[i].mask, open_deny[i].val));
            seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(open), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, open_deny[i].mask, open_deny[i].val));
        }
        if (!f || seccomp_load(f) < 0)
            _exit(99);
        execl(BUILD_DIR "/xsdm", "xsdm", opt, (char *)NULL);
        _exit(98);
    }
    close(out[1]);
    ck_assert_int_gt(read(out[0], buf, sizeof(buf) - 1), 0);
    close(out[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status 0x%x", opt, st);
    ck_assert(strstr(buf, _i ? "xsdm" : "usage"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("confine");
    TCase *tc = tcase_create("libvirt-argv");

    if (geteuid() != 0) {
        fprintf(stderr, "test_confine: needs root (as in CI)\n");
        return 1;
    }
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, no_dm_user_fallback);
    tcase_add_test(tc, range_base_rule);
    tcase_add_test(tc, shared_rule);
    tcase_add_test(tc, uid_clash_refused);
    tcase_add_test(tc, confine_off);
    tcase_add_loop_test(tc, help_touches_nothing, 0, 2);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
