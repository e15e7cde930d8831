/* The VNC server against viewers nobody here wrote: vncsnapshot (raw
 * encoding, JPEG out, decoded by djpeg), gtk-vnc's gvnccapture (ZRLE, PNG
 * out, decoded by pngtopnm) and CPAN's Net::VNC (VNC authentication with
 * Crypt::DES, key events). The server runs in a child process on
 * 127.0.0.1 (a free port from display 40 up) with a test surface: four
 * coloured quadrants and a 4x4 block of 0x123456. Keys the child's input
 * sink receives come back through a pipe. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/display/display.h"
#include "dm/display/vnc.h"
#include "restrict/sandbox.h"
#include "tests/lib/ckrun.h"

#define W 320
#define H 240
#define CLIENT "tests/data/vnc/netvnc-client.pl"

static pid_t child = -1;
static int port, key_rd = -1;
static char dir[64];

struct key_rec {
    uint32_t keysym;
    uint8_t down;
} __attribute__((packed));

static int key_wr = -1;

static void sink_key(void *o, uint32_t keysym, bool down)
{
    struct key_rec k = { keysym, down };

    if (write(key_wr, &k, sizeof(k)) != sizeof(k))
        _exit(3);
}

static uint32_t colour(unsigned x, unsigned y)
{
    if (x >= 40 && x < 44 && y >= 40 && y < 44)
        return 0x123456;
    if (y < H / 2)
        return x < W / 2 ? 0xff0000 : 0x00ff00;
    return x < W / 2 ? 0x0000ff : 0xffffff;
}

static bool restricted;

static void serve(const char *password, int ready)
{
    static uint32_t fb[W * H];
    struct vnc_spec v = { .enabled = true, .host = "127.0.0.1", .display = 40, .to = 99, .fd = -1,
                          .password = password != NULL };
    struct input_sink sink = { sink_key, NULL, NULL };
    struct display d;
    struct vnc_server *s;
    struct loop *l = loop_new();
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    char err[256];
    unsigned x, y;
    int fd;

    log_set_level(LOG_ERR);
    fd = vnc_listen_open(&v, err, sizeof(err));
    if (!l || fd < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        _exit(2);
    s = vnc_server_new(l, fd, password != NULL, "xsdm-test", err, sizeof(err));
    if (!s || (password && vnc_server_set_password(s, password, err, sizeof(err)) < 0))
        _exit(2);
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            fb[y * W + x] = colour(x, y);
    display_init(&d, NULL, NULL);
    display_set_mode(&d, W, H, W * 4, (const uint8_t *)fb);
    vnc_server_attach_display(s, &d);
    vnc_server_set_input(s, &sink);
    port = ntohs(a.sin_port);
    if (write(ready, &port, sizeof(port)) != sizeof(port))
        _exit(2);
    close(ready);
    /* As in the DM: socket bound and server made, then the allowlist. */
    if (restricted && seccomp_install(SANDBOX_ON, SECCOMP_POLICY_QTEST, err, sizeof(err)) < 0)
        _exit(4);
    loop_run(l);
    _exit(0);
}

static void start(const char *password)
{
    int rp[2], kp[2];

    snprintf(dir, sizeof(dir), "/tmp/xsdm-vnc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(pipe(rp), 0);
    ck_assert_int_eq(pipe(kp), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* check's SIGTERM handler would signal the whole process group. */
        signal(SIGTERM, SIG_DFL);
        close(rp[0]);
        close(kp[0]);
        key_wr = kp[1];
        serve(password, rp[1]);
    }
    close(rp[1]);
    close(kp[1]);
    key_rd = kp[0];
    ck_assert_int_eq(read(rp[0], &port, sizeof(port)), (ssize_t)sizeof(port));
    close(rp[0]);
}

static void setup_none(void) { restricted = false; start(NULL); }
static void setup_pw(void) { restricted = false; start("xsdm-pw"); }
static void setup_pw_seccomp(void) { restricted = true; start("xsdm-pw"); }
static void setup_none_seccomp(void) { restricted = true; start(NULL); }

static void teardown(void)
{
    char cmd[128];

    if (child > 0) {
        int st = 0;

        kill(child, SIGTERM);
        waitpid(child, &st, 0);
        /* The server must have lived until now: not killed by SIGSYS. */
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "server ended with status %#x", st);
    }
    child = -1;
    if (key_rd >= 0)
        close(key_rd);
    key_rd = -1;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Run a shell command; its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* A binary PPM (P6, maxval 255) into a malloc'd RGB array. */
static uint8_t *read_ppm(const char *path, unsigned *w, unsigned *h)
{
    FILE *f = fopen(path, "rb");
    unsigned maxval;
    uint8_t *px;

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fscanf(f, "P6 %u %u %u", w, h, &maxval), 3);
    ck_assert_uint_eq(maxval, 255);
    fgetc(f);
    px = malloc((size_t)*w * *h * 3);
    ck_assert_ptr_nonnull(px);
    ck_assert_uint_eq(fread(px, 3, (size_t)*w * *h, f), (size_t)*w * *h);
    fclose(f);
    return px;
}

static void check_pixel(const uint8_t *px, unsigned w, unsigned x, unsigned y, int tolerance)
{
    uint32_t c = colour(x, y);
    const uint8_t *p = px + ((size_t)y * w + x) * 3;
    int want[3] = { (int)(c >> 16 & 0xff), (int)(c >> 8 & 0xff), (int)(c & 0xff) }, i;

    for (i = 0; i < 3; i++)
        ck_assert_msg(abs(p[i] - want[i]) <= tolerance, "pixel %u,%u: %02x%02x%02x, expected %06x", x, y,
                      p[0], p[1], p[2], c);
}

static const unsigned probes[][2] = { { 80, 60 }, { 240, 60 }, { 80, 180 }, { 240, 180 }, { 5, 5 }, { 314, 234 } };

START_TEST(vncsnapshot_raw)
{
    unsigned w, h, i;
    uint8_t *px;

    ck_assert_int_eq(run("vncsnapshot -quiet -allowblank 127.0.0.1::%d %s/shot.jpg </dev/null >%s/log 2>&1",
                         port, dir, dir), 0);
    ck_assert_int_eq(run("djpeg -pnm %s/shot.jpg > %s/shot.ppm", dir, dir), 0);
    {
        char path[128];

        snprintf(path, sizeof(path), "%s/shot.ppm", dir);
        px = read_ppm(path, &w, &h);
    }
    ck_assert_uint_eq(w, W);
    ck_assert_uint_eq(h, H);
    for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        check_pixel(px, w, probes[i][0], probes[i][1], 40);    /* JPEG: close, not exact */
    free(px);
}
END_TEST

START_TEST(gvnccapture_zrle)
{
    char path[128];
    unsigned w, h, i;
    uint8_t *px;

    /* -d: the debug log, checked below. gtk-vnc takes a display number under 100 as 5900 + N, a larger number as a port. */
    ck_assert_int_eq(run("gvnccapture -d 127.0.0.1:%d %s/shot.png </dev/null >%s/log 2>&1", port - 5900, dir, dir), 0);
    /* gtk-vnc's debug log names the encoding of each rectangle: ZRLE is 16. */
    ck_assert_int_eq(run("grep -q 'FramebufferUpdate type=16' %s/log", dir), 0);
    ck_assert_int_eq(run("pngtopnm %s/shot.png > %s/shot.ppm 2>/dev/null", dir, dir), 0);
    snprintf(path, sizeof(path), "%s/shot.ppm", dir);
    px = read_ppm(path, &w, &h);
    ck_assert_uint_eq(w, W);
    ck_assert_uint_eq(h, H);
    for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        check_pixel(px, w, probes[i][0], probes[i][1], 0);
    check_pixel(px, w, 41, 42, 0);
    check_pixel(px, w, 44, 42, 0);
    free(px);
}
END_TEST

/* The Perl viewer's output line into buf; its exit status. */
static int netvnc(char *buf, size_t len, const char *password, const char *action)
{
    char cmd[512];
    FILE *p;
    int r;

    snprintf(cmd, sizeof(cmd), "perl %s/%s %d %s %s 2>&1", SRC_DIR, CLIENT, port, password, action);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    buf[0] = '\0';
    if (!fgets(buf, (int)len, p))
        buf[0] = '\0';
    r = pclose(p);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

START_TEST(netvnc_password_and_pixels)
{
    char out[256];

    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-pw", "pixel 41 41"), 0);
    ck_assert_str_eq(out, "18 52 86\n");                  /* 0x123456 */
    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-pw", "pixel 300 10"), 0);
    ck_assert_str_eq(out, "0 255 0\n");
}
END_TEST

START_TEST(netvnc_wrong_password_refused)
{
    char out[256];

    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-px", "pixel 1 1"), 2);
    ck_assert_ptr_nonnull(strstr(out, "login failed"));
    ck_assert_int_eq(netvnc(out, sizeof(out), "-", "pixel 1 1"), 2);      /* no password at all */
    /* The server is still there for the right one. */
    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-pw", "pixel 1 1"), 0);
    ck_assert_str_eq(out, "255 0 0\n");
}
END_TEST

START_TEST(netvnc_keys_reach_the_sink)
{
    struct key_rec k[4];
    char out[256];

    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-pw", "key 61 ff0d"), 0);
    ck_assert_int_eq(read(key_rd, k, sizeof(k)), (ssize_t)sizeof(k));
    ck_assert_uint_eq(k[0].keysym, 'a');
    ck_assert_int_eq(k[0].down, 1);
    ck_assert_uint_eq(k[1].keysym, 'a');
    ck_assert_int_eq(k[1].down, 0);
    ck_assert_uint_eq(k[2].keysym, 0xff0d);
    ck_assert_int_eq(k[2].down, 1);
    ck_assert_int_eq(k[3].down, 0);
}
END_TEST

/* Under the DM's seccomp allowlist: a whole session with ZRLE, a refused
 * password, a capture and keys, and no syscall outside the list. */
START_TEST(seccomp_session)
{
    struct key_rec k[2];
    char out[256];

    ck_assert_int_eq(netvnc(out, sizeof(out), "wrong", "pixel 1 1"), 2);
    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-pw", "pixel 41 41"), 0);
    ck_assert_str_eq(out, "18 52 86\n");
    ck_assert_int_eq(netvnc(out, sizeof(out), "xsdm-pw", "key 62"), 0);
    ck_assert_int_eq(read(key_rd, k, sizeof(k)), (ssize_t)sizeof(k));
    ck_assert_uint_eq(k[0].keysym, 'b');
}
END_TEST

/* ZRLE under the allowlist: zlib's state is allocated after restriction.
 * (gvnccapture reads a password from a terminal only: no authentication here.) */
START_TEST(seccomp_zrle)
{
    ck_assert_int_eq(run("gvnccapture -d 127.0.0.1:%d %s/shot.png </dev/null >%s/log 2>&1", port - 5900, dir, dir), 0);
    ck_assert_int_eq(run("grep -q 'FramebufferUpdate type=16' %s/log", dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vnc_clients");
    TCase *tn = tcase_create("none");
    TCase *tp = tcase_create("password");
    TCase *tr = tcase_create("seccomp");
    TCase *tz = tcase_create("seccomp-zrle");

    tcase_set_timeout(tn, 60);
    tcase_set_timeout(tp, 60);
    tcase_add_checked_fixture(tn, setup_none, teardown);
    tcase_add_test(tn, vncsnapshot_raw);
    tcase_add_test(tn, gvnccapture_zrle);
    suite_add_tcase(s, tn);
    tcase_add_checked_fixture(tp, setup_pw, teardown);
    tcase_add_test(tp, netvnc_password_and_pixels);
    tcase_add_test(tp, netvnc_wrong_password_refused);
    tcase_add_test(tp, netvnc_keys_reach_the_sink);
    suite_add_tcase(s, tp);
    tcase_set_timeout(tr, 60);
    tcase_add_checked_fixture(tr, setup_pw_seccomp, teardown);
    tcase_add_test(tr, seccomp_session);
    suite_add_tcase(s, tr);
    tcase_set_timeout(tz, 60);
    tcase_add_checked_fixture(tz, setup_none_seccomp, teardown);
    tcase_add_test(tz, seccomp_zrle);
    suite_add_tcase(s, tz);
    return ck_run_suite(s);
}
