/* The RTL8139's state section in process (no tap): the field table keeps
 * the layout of the hand-written encoder it replaced (h-nic's streams
 * still load), every range and bit check refuses a bad value by the
 * field's name, and the ring offsets are checked against the ring RCR
 * selects. Staging only: the live NIC is never touched by a bad load. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "dm/core/bytes.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/rtl8139.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/devstate.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/vmsection.h"

#define SLOT    3
#define SECTION "rtl8139.3"
#define IOBASE  0xc000u
#define PAYLOAD 166      /* the hand-written encoder's size */

static struct fake_machine fm;
static struct rtl8139 *nic;

static void setup(void)
{
    static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

    ck_assert_int_eq(devstate_machine(&fm), 0);
    nic = rtl8139_new(&fm.m.bus, fm.m.pci, &fm.acc, SLOT, mac, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(nic);
    pci_config_write(fm.m.pci, SLOT, 0, 0x10, IOBASE, 4);
    pci_config_write(fm.m.pci, SLOT, 0, 0x04, 0x01, 2);
}

static void teardown(void)
{
    rtl8139_free(nic);
    nic = NULL;
    devstate_machine_free(&fm);
}

static size_t save(uint8_t *buf, size_t cap)
{
    size_t len = vmsection_save(SECTION, buf, cap);

    ck_assert_uint_eq(len, PAYLOAD);
    return len;
}

static size_t at(const uint8_t *buf, size_t len, const char *field)
{
    return vmsection_field(SECTION, buf, len, field);
}

/* Offsets as the hand-written encoder wrote them (struct order, packed). */
START_TEST(layout_is_the_old_encoders)
{
    uint8_t buf[VMSTATE_MAX_SECTION];
    size_t len = save(buf, sizeof(buf));

    ck_assert_uint_eq(at(buf, len, "idr"), 0);
    ck_assert_uint_eq(at(buf, len, "tsd[1]"), 18);
    ck_assert_uint_eq(at(buf, len, "rbstart"), 46);
    ck_assert_uint_eq(at(buf, len, "tcr"), 58);
    ck_assert_uint_eq(at(buf, len, "rdsar_hi"), 92);
    ck_assert_uint_eq(at(buf, len, "cr"), 96);
    ck_assert_uint_eq(at(buf, len, "ee_shift"), 111);
    ck_assert_uint_eq(at(buf, len, "unplugged"), 113);
    ck_assert_uint_eq(at(buf, len, "tx_ok"), 114);
    ck_assert_uint_eq(at(buf, len, "tx_abt"), 164);
    ck_assert_mem_eq(buf, "\x00\x16\x3e\x00\x00\x01", 6);
}
END_TEST

START_TEST(round_trip)
{
    uint8_t buf[VMSTATE_MAX_SECTION];
    struct rtl8139_state staging;
    char err[256] = "";
    size_t len;

    fake_outb(&fm, IOBASE + REG_MAR0 + 2, 0x5a);
    fake_outb(&fm, IOBASE + REG_RCR + 1, 0x08);         /* RBLEN 1: a 16 KiB ring */
    len = save(buf, sizeof(buf));
    ck_assert_int_eq(vmsection_load(SECTION, buf, len, &staging, err, sizeof(err)), 0);
    ck_assert_mem_eq(&staging, rtl8139_state(nic), sizeof(staging));
    ck_assert_uint_eq(staging.mar[2], 0x5a);
    ck_assert_uint_eq(staging.rcr & RCR_RBLEN, 0x0800);
}
END_TEST

START_TEST(bad_fields_refused)
{
    static const struct devstate_bad cases[] = {
        { "imr", 2, 0x0200, "field imr" },
        { "tcr", 4, 0x00000001, "field tcr" },
        { "rcr", 4, 0x10000000, "field rcr" },
        { "cpcr", 2, 0x0004, "field cpcr" },
        { "cr", 1, 0x10, "field cr" },
        { "cfg9346", 1, 0x01, "field cfg9346" },
        { "tx_next", 1, 4, "field tx_next" },
        { "cp_tx_idx", 1, DESC_RING_MAX, "field cp_tx_idx" },
        { "cp_rx_idx", 1, DESC_RING_MAX, "field cp_rx_idx" },
        { "ee_state", 1, 4, "field ee_state" },
        { "ee_bits", 1, 17, "field ee_bits" },
        { "ee_addr", 1, EE_WORDS, "field ee_addr" },
        { "ee_pins", 1, 0x01, "field ee_pins" },
        { "ee_do", 1, 2, "field ee_do" },
        { "unplugged", 1, 2, "field unplugged" },
        { "rx_rd", 2, 8192, "ring" },                   /* outside the 8 KiB ring */
        { "cbr", 2, 8192, "ring" },
    };
    uint8_t good[VMSTATE_MAX_SECTION];
    struct rtl8139_state staging;
    const struct devstate_sut d = { SECTION, rtl8139_state(nic), &staging, sizeof(staging) };
    size_t len = save(good, sizeof(good));
    char err[256];

    ck_assert_msg(devstate_refuses(&d, good, len, cases, sizeof(cases) / sizeof(cases[0]), err, sizeof(err)) == 0,
                  "%s", err);
}
END_TEST

/* The same read offset is valid or not according to the ring RCR selects. */
START_TEST(ring_offsets_follow_rcr)
{
    uint8_t buf[VMSTATE_MAX_SECTION];
    struct rtl8139_state staging;
    char err[256];
    size_t len, rcr;

    fake_outb(&fm, IOBASE + REG_RCR + 1, 0x08);         /* 16 KiB */
    len = save(buf, sizeof(buf));
    put_le16(buf + at(buf, len, "rx_rd"), 12000);
    put_le16(buf + at(buf, len, "cbr"), 16383);
    ck_assert_int_eq(vmsection_load(SECTION, buf, len, &staging, err, sizeof(err)), 0);
    rcr = at(buf, len, "rcr");
    put_le32(buf + rcr, get_le32(buf + rcr) & ~(uint32_t)RCR_RBLEN);   /* 8 KiB */
    ck_assert_int_lt(vmsection_load(SECTION, buf, len, &staging, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "ring"));
}
END_TEST

int main(void)
{
    Suite *su = suite_create("rtl8139_state");
    TCase *tc = tcase_create("state");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, layout_is_the_old_encoders);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bad_fields_refused);
    tcase_add_test(tc, ring_offsets_follow_rcr);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
