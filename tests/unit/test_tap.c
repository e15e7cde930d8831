/* The toolstack's taps (toolstack/tap.c) and exec-dm's rewrite of libxl's
 * `-netdev ...,ifname=` into the fd form (execdm_open_taps): on real taps
 * and a real bridge of the test machine (root). */
#include <check.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/execdm.h"
#include "toolstack/tap.h"

static char err[256];

static bool iface_exists(const char *name)
{
    char p[128];

    snprintf(p, sizeof(p), "/sys/class/net/%s", name);
    return access(p, F_OK) == 0;
}

static short iface_flags(const char *name)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM, 0);

    ck_assert_int_ge(s, 0);
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    close(s);
    return ifr.ifr_flags;
}

START_TEST(test_netdev_ifname_parse)
{
    char ifn[32], br[32];

    ck_assert_int_eq(tap_netdev_ifname("type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no",
                                       ifn, sizeof(ifn), br, sizeof(br), err, sizeof(err)), 1);
    ck_assert_str_eq(ifn, "vif5.0-emu");
    ck_assert_str_eq(br, "xenbr0");
    ck_assert_int_eq(tap_netdev_ifname("tap,id=net1,ifname=vif5.1-emu", ifn, sizeof(ifn), br, sizeof(br), err,
                                       sizeof(err)), 1);
    ck_assert_str_eq(ifn, "vif5.1-emu");
    ck_assert_str_eq(br, "");
    /* already the fd form, or no tap at all: left alone */
    ck_assert_int_eq(tap_netdev_ifname("tap,id=net0,fd=9", ifn, sizeof(ifn), br, sizeof(br), err, sizeof(err)), 0);
    ck_assert_int_eq(tap_netdev_ifname("type=user,id=u,ifname=x", ifn, sizeof(ifn), br, sizeof(br), err, sizeof(err)), 0);
    ck_assert_int_eq(tap_netdev_ifname("tapx,id=a,ifname=x", ifn, sizeof(ifn), br, sizeof(br), err, sizeof(err)), 0);
    /* names the kernel would refuse, or that would not fit */
    ck_assert_int_eq(tap_netdev_ifname("type=tap,id=n,ifname=../../etc", ifn, sizeof(ifn), br, sizeof(br), err,
                                       sizeof(err)), -1);
    ck_assert_int_eq(tap_netdev_ifname("type=tap,id=n,ifname=vif12345.12345-emu", ifn, sizeof(ifn), br, sizeof(br),
                                       err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a valid interface name"));
    ck_assert_int_eq(tap_netdev_ifname("type=tap,id=n,ifname=", ifn, sizeof(ifn), br, sizeof(br), err, sizeof(err)), -1);
    ck_assert_int_eq(tap_netdev_ifname("type=tap,id=n,ifname=v0,br=a/b", ifn, sizeof(ifn), br, sizeof(br), err,
                                       sizeof(err)), -1);
}
END_TEST

START_TEST(test_netdev_fd_form)
{
    char out[64];

    ck_assert_int_eq(tap_netdev_fd_form("type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no", 17,
                                        out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_str_eq(out, "type=tap,id=net0,fd=17");
    ck_assert_int_eq(tap_netdev_fd_form("type=tap,ifname=vif5.0-emu", 17, out, sizeof(out), err, sizeof(err)), -1);
    ck_assert_int_eq(tap_netdev_fd_form("type=tap,id=,ifname=v", 17, out, sizeof(out), err, sizeof(err)), -1);
}
END_TEST

/* libxl's argv: the tap is created here, up, inherited by the DM under the
 * fd form, and gone with its last fd. */
START_TEST(test_execdm_open_taps)
{
    char name[IFNAMSIZ], nd[128], *argv[8];
    struct execdm_facts f;
    struct ifreq ifr;
    int fd, want;

    snprintf(name, sizeof(name), "xsdmt%d", (int)getpid() % 100000);
    snprintf(nd, sizeof(nd), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", name);
    argv[0] = "xsdm"; argv[1] = "-xen-domid"; argv[2] = "5"; argv[3] = "-device";
    argv[4] = "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01"; argv[5] = "-netdev"; argv[6] = nd; argv[7] = NULL;
    ck_assert_int_eq(execdm_scan(7, argv, &f, err, sizeof(err)), 0);
    ck_assert(f.has_nic);
    ck_assert_int_eq(f.n_keep, 0);
    ck_assert(!iface_exists(name));
    ck_assert_int_eq(execdm_open_taps(7, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(f.n_taps, 1);
    ck_assert_int_eq(f.n_keep, 1);
    fd = f.keep[0];
    {
        char want_s[64];

        snprintf(want_s, sizeof(want_s), "type=tap,id=net0,fd=%d", fd);
        ck_assert_str_eq(argv[6], want_s);
    }
    ck_assert_str_eq(argv[4], "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01");
    /* the DM inherits it: no close-on-exec; a tap as xsdm's tap_adopt wants it */
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    memset(&ifr, 0, sizeof(ifr));
    ck_assert_int_eq(ioctl(fd, TUNGETIFF, &ifr), 0);
    ck_assert_str_eq(ifr.ifr_name, name);
    want = IFF_TAP | IFF_NO_PI;
    ck_assert_int_eq(ifr.ifr_flags & (IFF_TAP | IFF_TUN | IFF_NO_PI | IFF_VNET_HDR), want);
    ck_assert(iface_flags(name) & IFF_UP);
    /* a rescan of the rewritten argv keeps the fd across the fd closing */
    ck_assert_int_eq(execdm_scan(7, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(f.n_keep, 1);
    ck_assert_int_eq(f.keep[0], fd);
    free(argv[6]);      /* the wrapper execs instead: only here is it freed */
    close(fd);
    ck_assert(!iface_exists(name));
}
END_TEST

/* libxl's argv for the DM of a restored or incoming domain (xl restore,
 * xl migrate): the new domid's tap is created and passed like at create,
 * and the saved state's fd survives beside it. */
START_TEST(test_execdm_restore_argv)
{
    char name[IFNAMSIZ], nd[128], inc[32], want_s[64], *argv[12];
    struct execdm_facts f;
    int p[2], tap;

    ck_assert_int_eq(pipe(p), 0);
    snprintf(name, sizeof(name), "xsdmi%d", (int)getpid() % 100000);
    snprintf(nd, sizeof(nd), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", name);
    snprintf(inc, sizeof(inc), "fd:%d", p[0]);
    argv[0] = "xsdm"; argv[1] = "-xen-domid"; argv[2] = "6"; argv[3] = "-device";
    argv[4] = "e1000,id=nic0,netdev=net0,mac=00:16:3e:00:00:02"; argv[5] = "-netdev"; argv[6] = nd;
    argv[7] = "-incoming"; argv[8] = inc; argv[9] = "-S"; argv[10] = NULL;
    ck_assert_int_eq(execdm_scan(10, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(f.n_keep, 1);
    ck_assert_int_eq(f.keep[0], p[0]);
    ck_assert_msg(execdm_open_taps(10, argv, &f, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(f.n_taps, 1);
    ck_assert_int_eq(f.n_keep, 2);
    ck_assert_int_eq(f.keep[0], p[0]);
    tap = f.keep[1];
    ck_assert(iface_exists(name));
    snprintf(want_s, sizeof(want_s), "type=tap,id=net0,fd=%d", tap);
    ck_assert_str_eq(argv[6], want_s);
    ck_assert_str_eq(argv[8], inc);
    ck_assert_int_eq(fcntl(tap, F_GETFD) & FD_CLOEXEC, 0);
    free(argv[6]);
    close(tap);
    close(p[0]);
    close(p[1]);
    ck_assert(!iface_exists(name));
}
END_TEST

START_TEST(test_execdm_bad_ifname_refused)
{
    char *argv[] = { "xsdm", "-netdev", "type=tap,id=net0,ifname=a/b", NULL };
    struct execdm_facts f;

    ck_assert_int_eq(execdm_scan(3, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(execdm_open_taps(3, argv, &f, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a valid interface name"));
    ck_assert_str_eq(argv[2], "type=tap,id=net0,ifname=a/b");
}
END_TEST

/* `xsdmctl create` has no hotplug script: the tap goes on the vif's bridge */
START_TEST(test_bridge_add)
{
    char tap[IFNAMSIZ], br[IFNAMSIZ], link[256], p[128];
    int s, fd;
    ssize_t n;

    snprintf(tap, sizeof(tap), "xsdmb%d", (int)getpid() % 100000);
    snprintf(br, sizeof(br), "xsdmr%d", (int)getpid() % 100000);
    fd = tap_open(tap, err, sizeof(err));
    ck_assert_msg(fd >= 0, "%s", err);
    ck_assert_int_eq(tap_bridge_add(br, tap, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no such bridge"));
    s = socket(AF_LOCAL, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(ioctl(s, SIOCBRADDBR, br), 0);
    ck_assert_msg(tap_bridge_add(br, tap, err, sizeof(err)) == 0, "%s", err);
    snprintf(p, sizeof(p), "/sys/class/net/%s/master", tap);
    n = readlink(p, link, sizeof(link) - 1);
    ck_assert_int_gt(n, 0);
    link[n] = 0;
    ck_assert_ptr_nonnull(strstr(link, br));
    close(fd);
    ck_assert_int_eq(ioctl(s, SIOCBRDELBR, br), 0);
    close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("tap");
    TCase *tc = tcase_create("tap");

    tcase_add_test(tc, test_netdev_ifname_parse);
    tcase_add_test(tc, test_netdev_fd_form);
    tcase_add_test(tc, test_execdm_open_taps);
    tcase_add_test(tc, test_execdm_restore_argv);
    tcase_add_test(tc, test_execdm_bad_ifname_refused);
    tcase_add_test(tc, test_bridge_add);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
