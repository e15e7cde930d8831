/* The VNC socket the toolstack binds for the DM (toolstack/vncsock.c) and
 * exec-dm's rewrite of libxl's -vnc argument: the port search of to=,
 * the forms left alone, the refusals, and that the socket really listens
 * where it says (a client connects). Displays from 60 up, on 127.0.0.1. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/execdm.h"
#include "toolstack/vncsock.h"

static char err[256];

/* A display from 60 whose port and the next few are free now. */
static int free_display(void)
{
    for (int d = 60; d < 90; d++) {
        struct vncsock s;

        if (vncsock_bind("127.0.0.1", d, d, &s, err, sizeof(err)) == 0) {
            close(s.fd);
            return d;
        }
    }
    ck_abort_msg("no free VNC port in 5960..5989");
    return -1;
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof(a);

    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    return ntohs(a.sin_port);
}

static void assert_connects(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int c = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(c, 0);
    ck_assert_msg(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to %d", port);
    close(c);
}

START_TEST(bind_searches_like_to)
{
    int d = free_display();
    struct vncsock taken, s;

    ck_assert_int_eq(vncsock_bind("127.0.0.1", d, d, &taken, err, sizeof(err)), 0);
    ck_assert_int_eq(taken.display, d);
    ck_assert_int_eq(port_of(taken.fd), VNCSOCK_BASE_PORT + d);
    ck_assert(fcntl(taken.fd, F_GETFD) & FD_CLOEXEC);
    /* The same display again: taken, no search asked. */
    ck_assert_int_eq(vncsock_bind("127.0.0.1", d, d, &s, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "in use"), "%s", err);
    ck_assert_int_eq(s.fd, -1);
    /* With to=: the next free one. */
    ck_assert_int_eq(vncsock_bind("127.0.0.1", d, d + 5, &s, err, sizeof(err)), 0);
    ck_assert_int_gt(s.display, d);
    ck_assert_int_eq(port_of(s.fd), VNCSOCK_BASE_PORT + s.display);
    assert_connects(VNCSOCK_BASE_PORT + s.display);
    close(s.fd);
    close(taken.fd);
    /* Refusals. */
    ck_assert_int_eq(vncsock_bind("localhost", d, d, &s, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "numeric"), "%s", err);
    ck_assert_int_eq(vncsock_bind("127.0.0.1", 5, 4, &s, err, sizeof(err)), -1);
    ck_assert_int_eq(vncsock_bind("127.0.0.1", -1, 4, &s, err, sizeof(err)), -1);
    ck_assert_int_eq(vncsock_bind("192.0.2.1", d, d, &s, err, sizeof(err)), -1);   /* not ours */
    ck_assert_msg(strstr(err, "bind"), "%s", err);
}
END_TEST

START_TEST(rewrite_libxl_forms)
{
    int d = free_display();
    struct vncsock s;
    char arg[64], out[64];
    bool changed;

    snprintf(arg, sizeof(arg), "127.0.0.1:%d,to=99", d);
    ck_assert_int_eq(vncsock_rewrite(arg, out, sizeof(out), &changed, &s, err, sizeof(err)), 0);
    ck_assert(changed);
    ck_assert_int_eq(s.display, d);
    snprintf(arg, sizeof(arg), "fd=%d", s.fd);
    ck_assert_str_eq(out, arg);
    assert_connects(VNCSOCK_BASE_PORT + d);
    close(s.fd);

    snprintf(arg, sizeof(arg), "127.0.0.1:%d,password=on,to=99", d);
    ck_assert_int_eq(vncsock_rewrite(arg, out, sizeof(out), &changed, &s, err, sizeof(err)), 0);
    snprintf(arg, sizeof(arg), "fd=%d,password=on", s.fd);
    ck_assert_str_eq(out, arg);
    close(s.fd);

    /* Left alone. */
    ck_assert_int_eq(vncsock_rewrite("none", out, sizeof(out), &changed, &s, err, sizeof(err)), 0);
    ck_assert(!changed);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(vncsock_rewrite("fd=7,password=on", out, sizeof(out), &changed, &s, err, sizeof(err)), 0);
    ck_assert(!changed);
    /* What the DM would refuse, refused here with its words. */
    ck_assert_int_eq(vncsock_rewrite("localhost:0", out, sizeof(out), &changed, &s, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "-vnc localhost:0") && strstr(err, "numeric"), "%s", err);
    ck_assert_int_eq(vncsock_rewrite("127.0.0.1:0,bogus=1", out, sizeof(out), &changed, &s, err, sizeof(err)), -1);
    ck_assert(!changed);
}
END_TEST

START_TEST(exec_dm_passes_vnc)
{
    int d = free_display();
    char vnc[64], want[64];
    char *argv[] = { "dm", "-xen-domid", "3", "-name", "x", "-vnc", vnc, "-display", "none", NULL };
    char *two[] = { "dm", "-vnc", "none", "-vnc", "none", NULL };
    struct execdm_facts f;
    int fd;

    snprintf(vnc, sizeof(vnc), "127.0.0.1:%d,to=99", d);
    ck_assert_int_eq(execdm_scan(9, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(f.n_keep, 0);
    ck_assert_int_eq(execdm_pass_vnc(9, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(f.n_keep, 1);
    fd = f.keep[0];
    snprintf(want, sizeof(want), "fd=%d", fd);
    ck_assert_str_eq(argv[6], want);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);       /* the DM inherits it */
    assert_connects(VNCSOCK_BASE_PORT + d);
    /* The rewritten argv scans as an fd the wrapper keeps. */
    ck_assert_int_eq(execdm_scan(9, argv, &f, err, sizeof(err)), 0);
    ck_assert_int_eq(f.n_keep, 1);
    ck_assert_int_eq(f.keep[0], fd);
    close(fd);
    ck_assert_int_eq(execdm_pass_vnc(5, two, &f, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "more than one -vnc"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vncsock");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, bind_searches_like_to);
    tcase_add_test(tc, rewrite_libxl_forms);
    tcase_add_test(tc, exec_dm_passes_vnc);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
