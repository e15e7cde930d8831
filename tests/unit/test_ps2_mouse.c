/* The PS/2 mouse through the whole DM on the qtest accelerator: the guest
 * side speaks to ports 0x60/0x64 as Linux's psmouse does, IRQ 12 is watched
 * through the qtest IRQ intercept, and a VNC viewer nobody here wrote
 * (CPAN's Net::VNC, tests/data/vnc/netvnc-client.pl) moves the pointer and
 * presses buttons; the packets that arrive are checked byte by byte. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dm/devices/ps2-mouse.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

#define DATA 0x60
#define CMD  0x64
#define ST_OBF  0x01
#define ST_AUXB 0x20

static struct qtest *s;

static int vnc_port(void)
{
    struct qmpc *c = qtest_qmp(s);
    json_t *ret = NULL;
    char err[256];
    int port;

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(qmpc_execute(c, "query-vnc", NULL, -1, &ret, err, sizeof(err)), 0);
    port = atoi(json_string_value(json_object_get(ret, "service")));
    json_decref(ret);
    qmpc_close(c);
    return port;
}

static int netvnc(int port, const char *action)
{
    char cmd[512], out[256];
    FILE *p;
    int r;

    snprintf(cmd, sizeof(cmd), "perl %s/tests/data/vnc/netvnc-client.pl %d - %s 2>&1", SRC_DIR, port, action);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    r = pclose(p);
    ck_assert_msg(WIFEXITED(r) && WEXITSTATUS(r) == 0, "netvnc %s: %s", action, out);
    return 0;
}

/* One byte from the mouse: it must be aux data. */
static uint8_t aux_byte(void)
{
    ck_assert_uint_eq(qtest_inb(s, CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
    return qtest_inb(s, DATA);
}

static void aux_cmd(uint8_t v, const int *expect, int n)
{
    int i;

    qtest_outb(s, CMD, 0xd4);
    qtest_outb(s, DATA, v);
    for (i = 0; i < n; i++)
        ck_assert_msg(aux_byte() == expect[i], "command %#x: reply %d", v, i);
    ck_assert_uint_eq(qtest_inb(s, CMD) & ST_OBF, 0);
}

#define AUX(v, ...) aux_cmd(v, (const int[]){ __VA_ARGS__ }, \
                            sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

static void setup(void)
{
    static const char *args[] = { "-device", "VGA,vgamem_mb=16", "-vnc", "127.0.0.1:41,to=99", NULL };
    struct qtest_opts o = { .extra_fd = -1, .args = args };

    s = qtest_start(&o);
    ck_assert_ptr_nonnull(s);
    qtest_irq_intercept_in(s, "ioapic");
}

static void teardown(void)
{
    qtest_quit(s);
}

START_TEST(psmouse_init_then_vnc_pointer)
{
    int port = vnc_port();
    int i;

    /* psmouse: probe, reset, the IntelliMouse knock, settings, enable. */
    AUX(PS2M_CMD_GET_ID, 0xfa, 0x00);
    AUX(PS2M_CMD_RESET, 0xfa, 0xaa, 0x00);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(200, 0xfa);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(100, 0xfa);
    AUX(PS2M_CMD_SET_RATE, 0xfa);
    AUX(80, 0xfa);
    AUX(PS2M_CMD_GET_ID, 0xfa, 0x03);
    AUX(PS2M_CMD_SET_RES, 0xfa);
    AUX(0x03, 0xfa);
    AUX(PS2M_CMD_ENABLE, 0xfa);
    ck_assert(!qtest_get_irq(s, 12));

    /* Position, then 10 right and 5 up with the left button, release,
     * one wheel notch down (RFB button 5). */
    netvnc(port, "pointer 100,100,0 110,95,1 110,95,0 110,95,16 110,95,0");
    ck_assert_uint_eq(qtest_inb(s, CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
    ck_assert(qtest_get_irq(s, 12));
    ck_assert(!qtest_get_irq(s, 1));
    {
        static const uint8_t want[][4] = {
            { PS2M_PKT_ALWAYS1 | PS2M_PKT_LEFT, 10, 5, 0 },
            { PS2M_PKT_ALWAYS1, 0, 0, 1 },          /* release and the wheel, coalesced */
        };
        for (i = 0; i < 2; i++) {
            uint8_t b[4];
            int j;

            for (j = 0; j < 4; j++)
                b[j] = aux_byte();
            ck_assert_msg(!memcmp(b, want[i], 4), "packet %d: %02x %02x %02x %02x", i, b[0], b[1], b[2],
                          b[3]);
        }
    }
    ck_assert_uint_eq(qtest_inb(s, CMD) & ST_OBF, 0);
    ck_assert(!qtest_get_irq(s, 12));

    /* A left move: X sign bit and two's complement. */
    netvnc(port, "pointer 90,95,0");
    ck_assert_uint_eq(qtest_inb(s, CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
    ck_assert(qtest_get_irq(s, 12));
    ck_assert_uint_eq(aux_byte(), PS2M_PKT_ALWAYS1 | PS2M_PKT_XSIGN);
    ck_assert_uint_eq(aux_byte(), (uint8_t)-20);
    ck_assert_uint_eq(aux_byte(), 0);
    ck_assert_uint_eq(aux_byte(), 0);

    /* The keyboard still works next to the mouse. */
    qtest_outb(s, DATA, 0xff);
    ck_assert_uint_eq(qtest_inb(s, CMD) & (ST_OBF | ST_AUXB), ST_OBF);
    ck_assert_uint_eq(qtest_inb(s, DATA), 0xfa);
    ck_assert_uint_eq(qtest_inb(s, DATA), 0xaa);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("ps2_mouse");
    TCase *tc = tcase_create("dm");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, psmouse_init_then_vnc_pointer);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
