/* audit against processes restricted by hand: one that meets the whole
 * policy passes, and each variant missing one restriction fails on exactly
 * that check. Independent of the DM. Runs as root. */
#include <check.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/audit.h"
#include "toolstack/launch.h"

#define UID 2100000011u
#define GID 2100000011u

enum { SKIP_NONE, SKIP_SECCOMP, SKIP_NNP, SKIP_BOUNDING, SKIP_CHROOT, SKIP_SETUID, EXTRA_FD, SKIP_NS,
       EXTRA_ANON_FD, DUMPABLE, TAP_FD, NETNS_IFACE, NETNS_SOCKET };

static char root[64], logpath[96];
static pid_t child = -1;
static int policy_taps;     /* audit_policy.taps of the next audit_variant */
static char out[16384];

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/xsdm-audit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(logpath, sizeof(logpath), "%s.log", root);
    ck_assert_int_eq(chmod(root, 0), 0);
}

static void teardown(void)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    child = -1;
    rmdir(root);
    unlink(logpath);
}

static void restricted_child(int skip, int ready)
{
    int log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int keep[1] = { ready };
    scmp_filter_ctx f;

    if (log_fd < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(10);
    if (skip != SKIP_NS && (launch_new_namespaces(true) < 0 || launch_apply_rlimits() < 0))
        _exit(11);
    if (launch_close_fds(keep, 1) < 0)
        _exit(12);
    if (skip == EXTRA_FD && open("/etc/hostname", O_RDONLY) < 0)
        _exit(13);
    if (skip == EXTRA_ANON_FD && inotify_init1(0) < 0)
        _exit(19);
    /* a tap fd as the toolstack passes it; for NETNS_IFACE one made in the
     * DM's own namespace, an interface there besides lo */
    if (skip == TAP_FD || skip == NETNS_IFACE) {
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
        int t = open("/dev/net/tun", O_RDWR);

        if (t < 0 || (skip == NETNS_IFACE && ioctl(t, TUNSETIFF, &ifr) < 0))
            _exit(21);
    }
    if (skip == NETNS_SOCKET) {
        struct sockaddr_in a = { .sin_family = AF_INET };
        int u = socket(AF_INET, SOCK_DGRAM, 0);

        if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) < 0)
            _exit(22);
    }
    if (skip != SKIP_CHROOT && (chroot(root) < 0 || chdir("/") < 0))
        _exit(14);
    if (skip != SKIP_BOUNDING)
        for (int c = 0; c <= CAP_LAST_CAP; c++)
            prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    if (skip != SKIP_SETUID && (setgroups(0, NULL) < 0 || setresgid(GID, GID, GID) < 0 ||
                                setresuid(UID, UID, UID) < 0))
        _exit(15);
    if (skip == DUMPABLE && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        _exit(20);
    if (skip != SKIP_NNP && skip != SKIP_SECCOMP && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(16);
    if (skip != SKIP_SECCOMP && skip != SKIP_NNP) {
        f = seccomp_init(SCMP_ACT_ALLOW);
        if (!f || seccomp_rule_add(f, SCMP_ACT_ERRNO(1), SCMP_SYS(mount), 0) < 0 || seccomp_load(f) < 0)
            _exit(17);
    }
    if (write(ready, "r", 1) != 1)
        _exit(18);
    close(ready);
    for (;;)
        pause();
}

static int audit_variant(int skip)
{
    struct audit_policy p = { .uid = UID, .gid = GID, .chroot = root, .net_ns = true, .log = logpath,
                              .taps = policy_taps };
    int pipefd[2], gaps;
    char c;
    FILE *f;

    ck_assert_int_eq(pipe(pipefd), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(pipefd[0]);
        restricted_child(skip, pipefd[1]);
    }
    close(pipefd[1]);
    ck_assert_msg(read(pipefd[0], &c, 1) == 1, "restricted child died before ready");
    close(pipefd[0]);
    p.pid = child;
    f = fmemopen(out, sizeof(out), "w");
    gaps = audit_run(&p, f);
    fclose(f);
    return gaps;
}

START_TEST(full_policy_passes)
{
    int gaps = audit_variant(SKIP_NONE);

    ck_assert_msg(gaps == 0, "gaps %d:\n%s", gaps, out);
    ck_assert_ptr_nonnull(strstr(out, "PASS"));
}
END_TEST

static void expect_gap(int skip, const char *line)
{
    int gaps = audit_variant(skip);

    ck_assert_msg(gaps >= 1, "no gap found:\n%s", out);
    ck_assert_msg(strstr(out, line) != NULL, "no '%s' in:\n%s", line, out);
    ck_assert_ptr_nonnull(strstr(out, "FAIL"));
}

START_TEST(missing_seccomp)
{
    expect_gap(SKIP_SECCOMP, "GAP  seccomp");
}
END_TEST

START_TEST(missing_nnp)
{
    /* libseccomp sets NNP itself and an unprivileged filter needs it, so
     * this variant has neither */
    expect_gap(SKIP_NNP, "GAP  NoNewPrivs");
}
END_TEST

START_TEST(missing_bounding)
{
    expect_gap(SKIP_BOUNDING, "GAP  capabilities Bnd");
}
END_TEST

START_TEST(missing_chroot)
{
    expect_gap(SKIP_CHROOT, "GAP  root");
}
END_TEST

START_TEST(still_root)
{
    expect_gap(SKIP_SETUID, "GAP  uid (r/e/s/fs)");
    ck_assert_ptr_nonnull(strstr(out, "GAP  capabilities Eff"));
}
END_TEST

START_TEST(stray_fd)
{
    expect_gap(EXTRA_FD, "/etc/hostname: not expected");
}
END_TEST

/* An anonymous kernel object the event loop never makes (inotify here). */
START_TEST(stray_anon_inode_fd)
{
    expect_gap(EXTRA_ANON_FD, "anon_inode:inotify: not expected");
}
END_TEST

/* Dropping to the DM uid clears dumpable; a DM that set it again could be
 * ptraced by anything running as its uid. */
START_TEST(dumpable_detected)
{
    expect_gap(DUMPABLE, "GAP  not dumpable");
}
END_TEST

/* The toolstack's tap fds: as many as the vifs, no more */
START_TEST(tap_fds_counted)
{
    int gaps;

    policy_taps = 1;
    gaps = audit_variant(TAP_FD);
    policy_taps = 0;
    ck_assert_msg(gaps == 0, "gaps %d:\n%s", gaps, out);
    ck_assert_ptr_nonnull(strstr(out, "/dev/net/tun (tap, passed by the toolstack)"));
    teardown();
    setup();
    expect_gap(TAP_FD, "/dev/net/tun: more tap fds than the 0 vifs");
}
END_TEST

/* The DM's own network namespace: the loopback only, no INET socket */
START_TEST(netns_interface_or_socket)
{
    policy_taps = 1;
    expect_gap(NETNS_IFACE, "GAP  netns interfaces");
    policy_taps = 0;
    teardown();
    setup();
    expect_gap(NETNS_SOCKET, "GAP  netns INET sockets");
    ck_assert_ptr_nonnull(strstr(out, "ok   netns interfaces"));
}
END_TEST

START_TEST(shared_namespaces)
{
    expect_gap(SKIP_NS, "GAP  namespace mnt");
    ck_assert_ptr_nonnull(strstr(out, "GAP  namespace net"));
    ck_assert_ptr_nonnull(strstr(out, "GAP  rlimit FSIZE"));
}
END_TEST

START_TEST(gone_process)
{
    struct audit_policy p = { .pid = 0x3ffffff0, .uid = UID, .gid = GID };
    FILE *f = fmemopen(out, sizeof(out), "w");

    ck_assert_int_eq(audit_run(&p, f), -1);
    fclose(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("core");

    /* Children lower RLIMIT_FSIZE while their stderr may be a large CI log
     * file: a log line must fail with EFBIG, not kill them (as in the DM). */
    signal(SIGXFSZ, SIG_IGN);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_policy_passes);
    tcase_add_test(tc, missing_seccomp);
    tcase_add_test(tc, missing_nnp);
    tcase_add_test(tc, missing_bounding);
    tcase_add_test(tc, missing_chroot);
    tcase_add_test(tc, still_root);
    tcase_add_test(tc, stray_fd);
    tcase_add_test(tc, stray_anon_inode_fd);
    tcase_add_test(tc, dumpable_detected);
    tcase_add_test(tc, shared_namespaces);
    tcase_add_test(tc, tap_fds_counted);
    tcase_add_test(tc, netns_interface_or_socket);
    tcase_add_test(tc, gone_process);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
