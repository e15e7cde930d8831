/* Every xsdmctl command against a real build/xsdm on the qtest accelerator,
 * as root, in a private run dir. Users come from a passwd file
 * (XSDM_PASSWD_FILE): a range base chosen per test process, the reaper
 * one below it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/qmp-client.h"
#include "toolstack/reaper.h"
#include "toolstack/vncsock.h"

#define CTL  BUILD_DIR "/xsdmctl"
#define DM   BUILD_DIR "/xsdm"
/* The range base differs per test process, so concurrent runs of this
 * binary (other build dirs) never reap each other's DMs. */
static uid_t range_base;
#define UID1 (range_base + 1)    /* range base + domid 1 */

static char dir[64], run[96], cfg[128], iso1[128], iso2[128], out[16384], reaper_lock[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void make_iso(const char *path, char fill)
{
    static char sector[2048];
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    memset(sector, fill, sizeof(sector));
    for (int i = 0; i < 32; i++)
        ck_assert_int_eq(fwrite(sector, 1, sizeof(sector), f), sizeof(sector));
    fclose(f);
}

/* Run xsdmctl; output (stdout+stderr) into out; returns the exit status. */
static int ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctl(const char *fmt, ...)
{
    char cmd[1024], args[900];
    va_list ap;
    size_t n;
    FILE *p;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", CTL, args);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void setup(void)
{
    char path[160], err[256];

    /* a failed earlier test exits without its teardown: nothing of the
     * uids we use may survive into this one */
    for (uid_t u = UID1; u < UID1 + 4; u++)
        ck_assert_msg(reaper_kill_uid(reaper_lock, range_base - 1, u, 10000, err, sizeof(err)) == 0,
                      "%s", err);

    snprintf(dir, sizeof(dir), "/tmp/xsdmctl-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(run, sizeof(run), "%s/run", dir);
    snprintf(cfg, sizeof(cfg), "%s/guest.cfg", dir);
    snprintf(iso1, sizeof(iso1), "%s/one.iso", dir);
    snprintf(iso2, sizeof(iso2), "%s/two.iso", dir);
    make_iso(iso1, '1');
    make_iso(iso2, '2');
    snprintf(path, sizeof(path), "%s/passwd", dir);
    {
        char users[256];

        snprintf(users, sizeof(users),
                 "xen-qemuuser-range-base:x:%u:%u::/nonexistent:/usr/sbin/nologin\n"
                 "xen-qemuuser-reaper:x:%u:%u::/nonexistent:/usr/sbin/nologin\n",
                 (unsigned)range_base, (unsigned)range_base, (unsigned)range_base - 1, (unsigned)range_base - 1);
        write_file(path, users);
    }
    setenv("XSDM_PASSWD_FILE", path, 1);
    setenv("XSDM_RUN_DIR", run, 1);
    /* XSDM_DM may name another DM binary to test against */
    if (!getenv("XSDM_DM"))
        setenv("XSDM_DM", DM, 1);
    {
        char text[512];

        snprintf(text, sizeof(text),
                 "name = \"t1\"\ntype = \"hvm\"\nmemory = 64\nvga = \"none\"\nserial = \"pty\"\nboot = \"d\"\n"
                 "dm_restrict = 1\ndisk = [ 'format=raw,vdev=hdc,access=ro,devtype=cdrom,target=%s' ]\n", iso1);
        write_file(cfg, text);
    }
}

static void teardown(void)
{
    char cmd[256];

    /* anything left running is destroyed, then the dir goes */
    for (int id = 1; id < 4; id++)
        ctl("-q destroy %d", id);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static pid_t dm_pid(void)
{
    char path[160], buf[4096];
    FILE *f;
    size_t n;
    char *p;

    snprintf(path, sizeof(path), "%s/dom-1.json", run);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no record %s", path);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    p = strstr(buf, "\"pid\":");
    ck_assert_ptr_nonnull(p);
    return (pid_t)atoi(p + 6);
}

/* pid runs (a zombie waiting for init to reap it does not count) */
static bool live(pid_t pid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Nothing of domain 1 remains: no record, chroot dir, sockets, processes. */
static void assert_no_state(void)
{
    static const char *const names[] = { "dom-1.json", "qemu-root-1", "qmp-libxl-1", "qmp-libxenstat-1", "qtest-1" };
    char path[160];
    struct stat st;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", run, names[i]);
        ck_assert_msg(lstat(path, &st) < 0, "%s left behind", path);
    }
    ck_assert_int_eq(reaper_count_uid(UID1, 0), 0);
}

static void create_ok(const char *extra)
{
    int rc = ctl("create %s %s", extra, cfg);

    ck_assert_msg(rc == 0, "create failed (%d):\n%s", rc, out);
}

START_TEST(create_list_audit_destroy)
{
    char path[160], stat_path[64], line[256], want[64];
    struct stat st;
    pid_t pid;
    FILE *f;
    bool uid_ok = false;

    create_ok("");
    snprintf(want, sizeof(want), "-runas %u:%u", (unsigned)UID1, (unsigned)range_base);
    ck_assert_msg(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
    pid = dm_pid();
    /* the DM really runs as the domain's uid */
    snprintf(stat_path, sizeof(stat_path), "/proc/%d/status", (int)pid);
    f = fopen(stat_path, "r");
    ck_assert_ptr_nonnull(f);
    snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)UID1, (unsigned)UID1, (unsigned)UID1, (unsigned)UID1);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "Uid:", 4))
            uid_ok = strstr(line, want) != NULL;
    fclose(f);
    ck_assert(uid_ok);
    snprintf(path, sizeof(path), "%s/qemu-root-1", run);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0);

    ck_assert_int_eq(ctl("list"), 0);
    ck_assert_msg(strstr(out, "t1") && strstr(out, "running"), "list:\n%s", out);

    ck_assert_msg(ctl("audit t1") == 0, "audit failed:\n%s", out);
    ck_assert_ptr_nonnull(strstr(out, "PASS"));
    ck_assert_ptr_null(strstr(out, "GAP"));

    ck_assert_msg(ctl("destroy t1") == 0, "destroy:\n%s", out);
    assert_no_state();
    ck_assert(!live(pid));
    ck_assert_int_eq(ctl("list"), 0);
    ck_assert_ptr_null(strstr(out, "t1"));
}
END_TEST

START_TEST(audit_catches_sandbox_off)
{
    create_ok("--dm-arg -sandbox --dm-arg off");
    ck_assert_msg(ctl("audit 1") == 1, "audit passed an unrestricted DM:\n%s", out);
    ck_assert_msg(strstr(out, "GAP  seccomp") && strstr(out, "FAIL"), "audit:\n%s", out);
    ck_assert_int_eq(ctl("destroy 1"), 0);
    assert_no_state();
}
END_TEST

START_TEST(cd_insert_by_fd_and_eject)
{
    char fdpath[160], target[256], info[160], line[128];
    bool found = false, ro = false;
    pid_t pid;

    create_ok("");
    pid = dm_pid();
    ck_assert_msg(ctl("cd-insert t1 hdc %s", iso2) == 0, "cd-insert:\n%s", out);
    ck_assert_msg(strstr(out, "/dev/fdset/"), "cd-insert:\n%s", out);
    /* the DM holds two.iso, read-only, though it never had its path */
    for (int fd = 0; fd < 64 && !found; fd++) {
        ssize_t n;

        snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", (int)pid, fd);
        n = readlink(fdpath, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (!strcmp(target, iso2)) {
            FILE *f;

            found = true;
            snprintf(info, sizeof(info), "/proc/%d/fdinfo/%d", (int)pid, fd);
            f = fopen(info, "r");
            ck_assert_ptr_nonnull(f);
            while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "flags:", 6))
                    ro = (strtoul(line + 6, NULL, 8) & O_ACCMODE) == O_RDONLY;
            fclose(f);
        }
    }
    ck_assert_msg(found, "the DM has no fd on %s", iso2);
    ck_assert(ro);
    ck_assert_msg(ctl("audit t1") == 0, "audit after cd-insert:\n%s", out);
    ck_assert_msg(ctl("cd-eject t1 hdc") == 0, "cd-eject:\n%s", out);

    /* bad input: clear errors, nothing changes */
    ck_assert_int_eq(ctl("cd-insert t1 hdc %s/missing.iso", dir), 1);
    ck_assert_msg(strstr(out, "cannot read ISO"), "%s", out);
    ck_assert_int_eq(ctl("cd-insert t1 xvdz %s", iso2), 1);
    ck_assert_msg(strstr(out, "bad virtual device"), "%s", out);
    ck_assert_int_eq(ctl("cd-insert t1 hda %s", iso2), 1);   /* no such drive in the DM */
    ck_assert_msg(strstr(out, "eject failed") || strstr(out, "failed"), "%s", out);
    ck_assert_int_eq(ctl("cd-insert nosuch hdc %s", iso2), 1);
    ck_assert_msg(strstr(out, "unknown domain"), "%s", out);
    ck_assert_int_eq(ctl("destroy 1"), 0);
}
END_TEST

START_TEST(save_destroy_restore)
{
    char state[160];
    struct stat st;

    snprintf(state, sizeof(state), "%s/t1.state", dir);
    create_ok("");
    ck_assert_msg(ctl("save t1 %s", state) == 0, "save:\n%s", out);
    ck_assert_int_eq(stat(state, &st), 0);
    ck_assert_int_gt(st.st_size, 0);
    ck_assert_int_eq(ctl("list"), 0);
    ck_assert_msg(strstr(out, "paused"), "list after save:\n%s", out);
    ck_assert_int_eq(ctl("destroy t1"), 0);
    assert_no_state();

    ck_assert_msg(ctl("restore %s %s", cfg, state) == 0, "restore:\n%s", out);
    ck_assert_msg(strstr(out, "-incoming fd:4") && strstr(out, "status paused") && strstr(out, "cont: status running"),
                  "restore:\n%s", out);
    ck_assert_msg(ctl("audit t1") == 0, "audit after restore:\n%s", out);
    ck_assert_int_eq(ctl("destroy t1"), 0);
    assert_no_state();

    ck_assert_int_eq(ctl("restore %s %s/none.state", cfg, dir), 1);
    ck_assert_msg(strstr(out, "cannot read saved state"), "%s", out);
    assert_no_state();
}
END_TEST

START_TEST(reaper_runs_before_start)
{
    pid_t old = fork();
    int status;

    ck_assert_int_ge(old, 0);
    if (old == 0) {
        /* a leftover of an earlier DM with this uid */
        if (setresuid(UID1, UID1, UID1) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    for (int i = 0; i < 2000 && reaper_count_uid(UID1, 0) < 1; i++)
        usleep(1000);
    ck_assert_int_eq(reaper_count_uid(UID1, 0), 1);
    create_ok("");
    ck_assert_int_eq(waitpid(old, &status, 0), old);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ck_assert_msg(strstr(out, "reaper before start"), "%s", out);
    ck_assert_int_eq(ctl("destroy 1"), 0);
}
END_TEST

START_TEST(bad_inputs_leave_nothing)
{
    char path[200], text[512];
    struct stat st;
    int fd;

    /* missing user */
    snprintf(path, sizeof(path), "%s/empty-passwd", dir);
    write_file(path, "");
    setenv("XSDM_PASSWD_FILE", path, 1);
    if (!getenv("XSDM_HAVE_XEN_USERS")) {
        ck_assert_int_eq(ctl("create %s", cfg), 1);
        ck_assert_msg(strstr(out, "could not find user"), "%s", out);
        assert_no_state();
    }
    snprintf(path, sizeof(path), "%s/passwd", dir);
    setenv("XSDM_PASSWD_FILE", path, 1);

    /* busy chroot dir */
    ck_assert(mkdir(run, 0700) == 0 || errno == EEXIST);
    snprintf(path, sizeof(path), "%s/qemu-root-1", run);
    ck_assert_int_eq(mkdir(path, 0), 0);
    snprintf(path, sizeof(path), "%s/qemu-root-1/junk", run);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(ctl("create %s", cfg), 1);
    ck_assert_msg(strstr(out, "busy"), "%s", out);
    ck_assert_int_eq(stat(path, &st), 0);           /* not touched */
    unlink(path);
    snprintf(path, sizeof(path), "%s/qemu-root-1", run);
    rmdir(path);
    assert_no_state();

    /* unreadable ISO in the config */
    snprintf(path, sizeof(path), "%s/bad.cfg", dir);
    snprintf(text, sizeof(text), "name=\"t2\"\nmemory=64\nvga=\"none\"\ndm_restrict=1\n"
             "disk=['vdev=hdc,devtype=cdrom,access=ro,target=%s/absent.iso']\n", dir);
    write_file(path, text);
    ck_assert_int_eq(ctl("create %s", path), 1);
    ck_assert_msg(strstr(out, "absent.iso"), "%s", out);
    assert_no_state();

    /* unsupported key */
    write_file(path, "name=\"t2\"\nmemory=64\nusb=1\n");
    ck_assert_int_eq(ctl("create %s", path), 1);
    ck_assert_msg(strstr(out, "unsupported key 'usb'"), "%s", out);

    /* a DM that never answers */
    snprintf(path, sizeof(path), "%s/hang.sh", dir);
    write_file(path, "#!/bin/sh\nexec sleep 30\n");
    chmod(path, 0755);
    ck_assert_int_eq(ctl("create --timeout 1000 --dm %s %s", path, cfg), 1);
    ck_assert_msg(strstr(out, "did not become ready"), "%s", out);
    assert_no_state();

    /* a DM that refuses its command line */
    ck_assert_int_eq(ctl("create --dm-arg -bogus-option %s", cfg), 1);
    ck_assert_msg(strstr(out, "did not become ready"), "%s", out);
    assert_no_state();

    /* unknown domains */
    ck_assert_int_eq(ctl("destroy 7"), 1);
    ck_assert_msg(strstr(out, "unknown domain"), "%s", out);
    ck_assert_int_eq(ctl("audit nosuch"), 2);
    ck_assert_msg(strstr(out, "unknown domain"), "%s", out);
    ck_assert_int_eq(ctl("save 0 %s/x", dir), 1);
    ck_assert_int_eq(ctl("bogus"), 1);
}
END_TEST
/* A private network namespace for this test (its taps and bridges never
 * meet a concurrent run's), with a /sys that shows it. */
static void private_net(void)
{
    ck_assert_int_eq(unshare(CLONE_NEWNET | CLONE_NEWNS), 0);
    ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    ck_assert_int_eq(mount("sysfs", "/sys", "sysfs", 0, NULL), 0);
}

/* The DM pid's fds include one on TARGET */
static bool holds(pid_t pid, const char *target)
{
    char p[64], l[256];
    ssize_t n;

    for (int fd = 0; fd < 64; fd++) {
        snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
        n = readlink(p, l, sizeof(l) - 1);
        if (n > 0) {
            l[n] = 0;
            if (!strcmp(l, target))
                return true;
        }
    }
    return false;
}

static bool same_netns(pid_t pid)
{
    char p[64], a[64] = "", b[64] = "";

    snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
    ck_assert_int_gt(readlink(p, a, sizeof(a) - 1), 0);
    ck_assert_int_gt(readlink("/proc/self/ns/net", b, sizeof(b) - 1), 0);
    return !strcmp(a, b);
}

static bool iface(const char *name)
{
    char p[128];

    snprintf(p, sizeof(p), "/sys/class/net/%s", name);
    return access(p, F_OK) == 0;
}

/* xsdmctl create with a vif: the tap vif1.0-emu is made here, on the vif's
 * bridge, and passed by fd to a DM in its own network namespace; destroy
 * takes it away. In a private network namespace of this test (taps and
 * bridges of concurrent runs never meet). */
START_TEST(create_vif_tap_by_fd)
{
    char text[640], link[256];
    const char *br = "xsdmtbr0";
    pid_t pid;
    ssize_t n;
    int s;

    private_net();
    s = socket(AF_LOCAL, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    snprintf(text, sizeof(text),
             "name = \"t1\"\ntype = \"hvm\"\nmemory = 64\nvga = \"none\"\nserial = \"pty\"\nboot = \"d\"\n"
             "dm_restrict = 1\ndisk = [ 'format=raw,vdev=hdc,access=ro,devtype=cdrom,target=%s' ]\n"
             "vif = [ 'bridge=%s,mac=00:16:3e:00:00:31' ]\n", iso1, br);
    write_file(cfg, text);
    /* no such bridge: a clear error, nothing left */
    ck_assert_int_ne(ctl("create %s", cfg), 0);
    ck_assert_msg(strstr(out, "no such bridge") != NULL, "%s", out);
    ck_assert(!iface("vif1.0-emu"));
    assert_no_state();

    ck_assert_int_eq(ioctl(s, SIOCBRADDBR, br), 0);
    create_ok("");
    ck_assert_msg(strstr(out, "-netdev type=tap,id=net0,fd=6") != NULL, "argv:\n%s", out);
    ck_assert_msg(strstr(out, "ifname=") == NULL, "argv:\n%s", out);
    pid = dm_pid();
    ck_assert(!same_netns(pid));
    ck_assert(holds(pid, "/dev/net/tun"));
    n = readlink("/sys/class/net/vif1.0-emu/master", link, sizeof(link) - 1);
    ck_assert_int_gt(n, 0);
    link[n] = 0;
    ck_assert_msg(strstr(link, br) != NULL, "master %s", link);
    ck_assert_msg(ctl("audit t1") == 0, "audit failed:\n%s", out);
    ck_assert_msg(ctl("destroy t1") == 0, "destroy:\n%s", out);
    /* the DM held the last fd: the tap is gone with it */
    for (int i = 0; i < 5000 && iface("vif1.0-emu"); i++)
        usleep(1000);
    ck_assert(!iface("vif1.0-emu"));
    ck_assert_int_eq(ioctl(s, SIOCBRDELBR, br), 0);
    close(s);
}
END_TEST


/* The namespace link of pid (0: ourselves). */
static void ns_of(pid_t pid, const char *ns, char *buf, size_t len)
{
    char p[64];
    ssize_t n;

    if (pid)
        snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
    else
        snprintf(p, sizeof(p), "/proc/self/ns/%s", ns);
    n = readlink(p, buf, len - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
}

/* A real viewer (CPAN's Net::VNC) logs in and reads a pixel; its exit status. */
static int netvnc(int port, const char *password)
{
    char cmd[512], line[256] = "";
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "perl %s/tests/data/vnc/netvnc-client.pl %d %s pixel 0 0 2>&1", SRC_DIR, port,
             password);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (!fgets(line, sizeof(line), p))
        line[0] = 0;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* vnc=1: xsdmctl binds the socket in its own network namespace and passes
 * it; the DM, in a new empty one (no vif), serves VNC on it, answers
 * query-vnc with that address (what libxl writes to xenstore) and has the
 * password libxl would set. */
START_TEST(vnc_socket_passed)
{
    char text[512], want[96], ns1[64], ns2[64];
    const char *p;
    int port, listen_port;
    pid_t pid;

    snprintf(text, sizeof(text),
             "name = \"t1\"\ntype = \"hvm\"\nmemory = 64\nserial = \"pty\"\nboot = \"d\"\ndm_restrict = 1\n"
             "vnc = 1\nvnclisten = \"127.0.0.1\"\nvncdisplay = 50\nvncunused = 1\nvncpasswd = \"pw-%d\"\n"
             "disk = [ 'format=raw,vdev=hdc,access=ro,devtype=cdrom,target=%s' ]\n", (int)getpid() % 1000, iso1);
    write_file(cfg, text);
    create_ok("");
    p = strstr(out, "vnc: bound 127.0.0.1:");
    ck_assert_msg(p != NULL, "no vnc line in:\n%s", out);
    listen_port = atoi(p + strlen("vnc: bound 127.0.0.1:"));
    ck_assert_int_ge(listen_port, 5950);
    ck_assert_msg(strstr(out, "-vnc fd=5,password=on"), "argv:\n%s", out);
    ck_assert_msg(strstr(out, "-device cirrus-vga,vgamem_mb=8"), "argv:\n%s", out);
    p = strstr(out, "query-vnc: console/vnc-listen 127.0.0.1, console/vnc-port ");
    ck_assert_msg(p != NULL, "no query-vnc line in:\n%s", out);
    port = atoi(p + strlen("query-vnc: console/vnc-listen 127.0.0.1, console/vnc-port "));
    ck_assert_int_eq(port, listen_port);
    pid = dm_pid();
    ns_of(pid, "net", ns1, sizeof(ns1));
    ns_of(0, "net", ns2, sizeof(ns2));
    ck_assert_msg(strcmp(ns1, ns2), "the DM shares our network namespace");
    /* The DM holds the listener (a socket fd 5); we do not. */
    snprintf(want, sizeof(want), "/proc/%d/fd/5", (int)pid);
    ck_assert_int_gt(readlink(want, text, sizeof(text) - 1), 0);
    ck_assert(!strncmp(text, "socket:", 7));
    /* A viewer in our namespace reaches it: with the password, and not without. */
    snprintf(want, sizeof(want), "pw-%d", (int)getpid() % 1000);
    ck_assert_int_eq(netvnc(port, want), 0);
    ck_assert_int_eq(netvnc(port, "wrong"), 2);
    ck_assert_msg(ctl("audit t1") == 0, "audit failed:\n%s", out);
    ck_assert_msg(ctl("destroy t1") == 0, "destroy:\n%s", out);
    assert_no_state();
    /* The port is free again: nothing of ours holds it. */
    {
        struct vncsock again;

        ck_assert_int_eq(vncsock_bind("127.0.0.1", listen_port - 5900, listen_port - 5900, &again, text,
                                      sizeof(text)), 0);
        close(again.fd);
    }
}
END_TEST

static int listen_at(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

START_TEST(exec_dm_wrapper)
{
    char qmp[160], qt[160], croot[160], a_chardev[200], a_qtest[200], a_chroot[200], ns1[64], ns2[64], p[64];
    char a_runas[32], a_vnc[32], banner[13] = "";
    char err[256];
    int qfd, tfd, stray, conn = -1, vfd, port;
    struct qmpc *c;
    json_t *ret = NULL;
    pid_t pid;

    ck_assert_int_eq(mkdir(run, 0700), 0);
    snprintf(qmp, sizeof(qmp), "%s/qmp-libxl-3", run);
    snprintf(qt, sizeof(qt), "%s/qtest-3", run);
    snprintf(croot, sizeof(croot), "%s/qemu-root-3", run);
    ck_assert_int_eq(mkdir(croot, 0), 0);
    qfd = listen_at(qmp);
    tfd = listen_at(qt);
    stray = open("/etc/hostname", O_RDONLY);    /* a leaked fd libxl would pass on */
    ck_assert_int_ge(stray, 0);
    snprintf(a_chardev, sizeof(a_chardev), "socket,id=libxl-cmd,fd=%d,server=on,wait=off", qfd);
    snprintf(a_qtest, sizeof(a_qtest), "unix:%s", qt);
    snprintf(a_chroot, sizeof(a_chroot), "%s", croot);
    snprintf(a_runas, sizeof(a_runas), "%u:%u", (unsigned)range_base + 3, (unsigned)range_base);
    snprintf(a_vnc, sizeof(a_vnc), "127.0.0.1:%d,to=99", 55 + (int)(getpid() % 20));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* as libxl's DM child: setsid, then exec the override */
        setsid();
        execl(CTL, CTL, "exec-dm", "--", "/usr/libexec/xen-qemu-system-i386", "-xen-domid", "3", "-no-shutdown",
              "-chardev", a_chardev, "-S", "-mon", "chardev=libxl-cmd,mode=control", "-nodefaults",
              "-no-user-config", "-name", "w3", "-vnc", a_vnc, "-display", "none", "-device", "VGA", "-net", "none",
              "-xen-domid-restrict", "-chroot", a_chroot, "-machine", "xenfv,suppress-vmdesc=on", "-m", "64",
              "-runas", a_runas, "-accel", "qtest", "-qtest", a_qtest, (char *)NULL);
        _exit(127);
    }
    close(qfd);
    /* be the qtest peer */
    for (int i = 0; i < 5000 && conn < 0; i++) {
        conn = accept4(tfd, NULL, NULL, SOCK_NONBLOCK);
        if (conn < 0)
            usleep(1000);
    }
    ck_assert_msg(conn >= 0, "the wrapped DM never connected to qtest");
    c = qmpc_connect_path(qmp, 1, 10000, err, sizeof(err));
    ck_assert_msg(c != NULL, "qmp: %s", err);
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, &ret, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "status")), "prelaunch");
    json_decref(ret);
    /* libxl's -vnc was bound by the wrapper in our namespace and passed:
     * query-vnc names that port, and a client of ours gets the RFB banner
     * from a DM in another network namespace (checked below). */
    ck_assert_int_eq(qmpc_execute(c, "query-vnc", NULL, -1, &ret, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "host")), "127.0.0.1");
    port = atoi(json_string_value(json_object_get(ret, "service")));
    ck_assert_int_ge(port, 5955);
    json_decref(ret);
    qmpc_close(c);
    {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        vfd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(vfd, 0);
        ck_assert_int_eq(connect(vfd, (struct sockaddr *)&a, sizeof(a)), 0);
        for (size_t got = 0; got < 12;) {
            ssize_t n = read(vfd, banner + got, 12 - got);

            ck_assert_int_gt(n, 0);
            got += (size_t)n;
        }
        ck_assert_str_eq(banner, "RFB 003.008\n");
        close(vfd);
    }

    /* it is xsdm now, without the stray fd, in new UTS and network namespaces */
    /* it is the DM now (argv[0] is the DM path, as exec-dm passes it) */
    snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
    {
        char cmd[512];
        int fd = open(p, O_RDONLY);
        ssize_t n;

        ck_assert_int_ge(fd, 0);
        n = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        ck_assert_int_gt(n, 0);
        cmd[n] = 0;
        for (ssize_t i = 0; i < n; i++)
            if (!cmd[i])
                cmd[i] = ' ';
        ck_assert_msg(strstr(cmd, getenv("XSDM_DM")) != NULL, "cmdline %s", cmd);
    }
    for (int fd = 0; fd < 64; fd++) {
        char l[256];
        ssize_t n;

        snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
        n = readlink(p, l, sizeof(l) - 1);
        if (n > 0) {
            l[n] = 0;
            ck_assert_msg(strcmp(l, "/etc/hostname"), "stray fd %d survived", fd);
        }
    }
    for (int k = 0; k < 2; k++) {
        const char *ns = k ? "net" : "uts";
        ssize_t n;

        snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
        n = readlink(p, ns1, sizeof(ns1) - 1);
        ck_assert_int_gt(n, 0);
        ns1[n] = 0;
        snprintf(p, sizeof(p), "/proc/self/ns/%s", ns);
        n = readlink(p, ns2, sizeof(ns2) - 1);
        ck_assert_int_gt(n, 0);
        ns2[n] = 0;
        ck_assert_msg(strcmp(ns1, ns2), "%s namespace shared", ns);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(conn);
    close(tfd);
    close(stray);
    /* the watcher reaps the uid and removes the chroot dir once the DM is
     * gone: wait for it however loaded the machine is (the test case's
     * timeout fails a watcher that never does) */
    for (;;) {
        struct stat st;

        if (lstat(croot, &st) < 0)
            break;
        usleep(1000);
    }
}
END_TEST

/* libxl's argv with an emulated NIC (-netdev ...,ifname=vif3.0-emu): the
 * wrapper makes the tap here and the DM gets it by fd, in its own network
 * namespace. In a private network namespace of this test. */
START_TEST(exec_dm_wrapper_nic)
{
    char qmp[160], qt[160], croot[160], a_chardev[200], a_qtest[200], a_runas[32], cmd[1024], p[64], err[256];
    int qfd, tfd, conn = -1, fd;
    struct qmpc *c;
    json_t *ret = NULL;
    ssize_t n;
    pid_t pid;

    private_net();
    ck_assert_int_eq(mkdir(run, 0700), 0);
    snprintf(qmp, sizeof(qmp), "%s/qmp-libxl-3", run);
    snprintf(qt, sizeof(qt), "%s/qtest-3", run);
    snprintf(croot, sizeof(croot), "%s/qemu-root-3", run);
    ck_assert_int_eq(mkdir(croot, 0), 0);
    qfd = listen_at(qmp);
    tfd = listen_at(qt);
    snprintf(a_chardev, sizeof(a_chardev), "socket,id=libxl-cmd,fd=%d,server=on,wait=off", qfd);
    snprintf(a_qtest, sizeof(a_qtest), "unix:%s", qt);
    snprintf(a_runas, sizeof(a_runas), "%u:%u", (unsigned)range_base + 3, (unsigned)range_base);
    ck_assert(!iface("vif3.0-emu"));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setsid();
        execl(CTL, CTL, "exec-dm", "--", "/usr/libexec/xen-qemu-system-i386", "-xen-domid", "3", "-no-shutdown",
              "-chardev", a_chardev, "-S", "-mon", "chardev=libxl-cmd,mode=control", "-nodefaults",
              "-no-user-config", "-name", "w3", "-vnc", "none", "-display", "none",
              "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:33",
              "-netdev", "type=tap,id=net0,ifname=vif3.0-emu,br=xenbr0,script=no,downscript=no",
              "-xen-domid-restrict", "-chroot", croot, "-machine", "xenfv,suppress-vmdesc=on", "-m", "64",
              "-runas", a_runas, "-accel", "qtest", "-qtest", a_qtest, (char *)NULL);
        _exit(127);
    }
    close(qfd);
    for (int i = 0; i < 5000 && conn < 0; i++) {
        conn = accept4(tfd, NULL, NULL, SOCK_NONBLOCK);
        if (conn < 0)
            usleep(1000);
    }
    ck_assert_msg(conn >= 0, "the wrapped DM never connected to qtest");
    c = qmpc_connect_path(qmp, 1, 10000, err, sizeof(err));
    ck_assert_msg(c != NULL, "qmp: %s", err);
    ck_assert_int_eq(qmpc_execute(c, "query-status", NULL, -1, &ret, err, sizeof(err)), 0);
    json_decref(ret);
    qmpc_close(c);

    snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
    fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, cmd, sizeof(cmd) - 1);
    close(fd);
    ck_assert_int_gt(n, 0);
    cmd[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (!cmd[i])
            cmd[i] = ' ';
    ck_assert_msg(strstr(cmd, "-netdev type=tap,id=net0,fd=") != NULL, "cmdline %s", cmd);
    ck_assert_msg(strstr(cmd, "ifname=") == NULL, "cmdline %s", cmd);
    /* its own namespace, a tap fd; the tap itself is here, up, for libxl's vif-bridge */
    ck_assert(!same_netns(pid));
    ck_assert(holds(pid, "/dev/net/tun"));
    ck_assert(iface("vif3.0-emu"));
    {
        char fl[32] = "";
        FILE *f = fopen("/sys/class/net/vif3.0-emu/flags", "r");

        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(fl, sizeof(fl), f));
        fclose(f);
        ck_assert_msg(strtoul(fl, NULL, 16) & 1, "flags %s (not up)", fl);   /* IFF_UP */
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(conn);
    close(tfd);
    /* the DM held the only fd (the watcher none): the tap goes with it */
    for (int i = 0; i < 5000 && iface("vif3.0-emu"); i++)
        usleep(1000);
    ck_assert(!iface("vif3.0-emu"));
    for (;;) {
        struct stat st;

        if (lstat(croot, &st) < 0)
            break;
        usleep(1000);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xsdmctl");

    range_base = 3000000u + (uid_t)(getpid() % 1000000) * 16;
    snprintf(reaper_lock, sizeof(reaper_lock), "/tmp/xsdmctl-test-reaper-%d.lock", (int)getpid());
    TCase *tc = tcase_create("core");
    int rc;

    signal(SIGPIPE, SIG_IGN);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_list_audit_destroy);
    tcase_add_test(tc, audit_catches_sandbox_off);
    tcase_add_test(tc, cd_insert_by_fd_and_eject);
    tcase_add_test(tc, save_destroy_restore);
    tcase_add_test(tc, reaper_runs_before_start);
    tcase_add_test(tc, bad_inputs_leave_nothing);
    tcase_add_test(tc, exec_dm_wrapper);
    tcase_add_test(tc, vnc_socket_passed);
    tcase_add_test(tc, exec_dm_wrapper_nic);
    tcase_add_test(tc, create_vif_tap_by_fd);
    suite_add_tcase(s, tc);
    rc = ck_run_suite(s);
    /* a failed test may have left a DM running: none survives the binary */
    for (uid_t u = UID1; u < UID1 + 4; u++) {
        char err[256];

        if (reaper_kill_uid(reaper_lock, range_base - 1, u, 10000, err, sizeof(err)) < 0)
            fprintf(stderr, "final cleanup: %s\n", err);
    }
    return rc;
}
