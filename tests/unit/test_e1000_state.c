/* The e1000's state section in process (no tap): its size (the one
 * docs/state-format.md states), a round trip of registers the guest set,
 * every range and bit check refusing a bad value by the field's name, and
 * the receive-address check. Staging only: the live NIC is never touched
 * by a bad load. Also the register file's access widths. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "dm/core/iobus.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/e1000-regs.h"
#include "dm/devices/e1000.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/devstate.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/vmsection.h"

#define SLOT    3
#define SECTION "e1000.3"
#define MMIO    0xe0000000u
#define IOBASE  0xc000u
#define PAYLOAD 1682

static struct fake_machine fm;
static struct e1000 *nic;

static void wr(uint32_t off, uint32_t v) { io_write(&fm.m.bus, IO_MMIO, MMIO + off, v, 4); }
static uint32_t rd(uint32_t off) { return (uint32_t)io_read(&fm.m.bus, IO_MMIO, MMIO + off, 4); }

static void setup(void)
{
    static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

    ck_assert_int_eq(devstate_machine(&fm), 0);
    nic = e1000_new(&fm.m.bus, fm.m.pci, &fm.acc, SLOT, mac, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(nic);
    pci_config_write(fm.m.pci, SLOT, 0, 0x10, MMIO, 4);
    pci_config_write(fm.m.pci, SLOT, 0, 0x14, IOBASE, 4);
    pci_config_write(fm.m.pci, SLOT, 0, 0x04, 0x03, 2);
}

static void teardown(void)
{
    e1000_free(nic);
    nic = NULL;
    devstate_machine_free(&fm);
}

static size_t save(uint8_t *buf, size_t cap)
{
    size_t len = vmsection_save(SECTION, buf, cap);

    ck_assert_uint_eq(len, PAYLOAD);
    return len;
}

START_TEST(round_trip)
{
    uint8_t buf[VMSTATE_MAX_SECTION];
    struct e1000_state staging;
    char err[256] = "";
    size_t len;

    wr(E1K_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
    wr(E1K_RDLEN, 4096);
    wr(E1K_RDT, 17);
    wr(E1K_MTA + 4 * 100, 0xdeadbeef);
    wr(E1K_VFTA + 4 * 3, 0x80000001);
    wr(E1K_IMS, ICR_RXT0 | ICR_LSC);
    wr(E1K_MDIC, PHY_AUTONEG_ADV << MDIC_REG_SHIFT | E1K_PHY_ADDR << MDIC_PHY_SHIFT | MDIC_OP_WRITE | 0x0061);
    len = save(buf, sizeof(buf));
    ck_assert_int_eq(vmsection_load(SECTION, buf, len, &staging, err, sizeof(err)), 0);
    ck_assert_mem_eq(&staging, e1000_state(nic), sizeof(staging));
    ck_assert_uint_eq(staging.rctl, RCTL_EN | RCTL_BAM | RCTL_SECRC);
    ck_assert_uint_eq(staging.rdt, 17);
    ck_assert_uint_eq(staging.mta[100], 0xdeadbeef);
    ck_assert_uint_eq(staging.vfta[3], 0x80000001);
    ck_assert_uint_eq(staging.phy[PHY_AUTONEG_ADV], 0x0061);
    ck_assert_uint_eq(staging.ra[1], RAH_AV | 0x0100);
}
END_TEST

START_TEST(bad_fields_refused)
{
    static const struct devstate_bad cases[] = {
        { "ctrl", 4, CTRL_RST, "field ctrl" },
        { "eecd", 4, EECD_PRES, "field eecd" },
        { "icr", 4, 0x00020000, "field icr" },
        { "ims", 4, 0x00000020, "field ims" },
        { "rctl", 4, 0x00000001, "field rctl" },
        { "rdbal", 4, 0x00000008, "field rdbal" },
        { "rdlen", 4, 0x00000040, "field rdlen" },
        { "rdh", 4, 0x10000, "field rdh" },
        { "tdt", 4, 0x10000, "field tdt" },
        { "pba", 4, 0x00100030, "field pba" },
        { "ioaddr", 4, 0x00000002, "field ioaddr" },
        { "ctx.tucmd", 4, 0x00000001, "field ctx.tucmd" },
        { "ee_state", 1, 4, "field ee_state" },
        { "ee_bits", 1, 16, "field ee_bits" },
        { "ee_addr", 1, EE_WORDS, "field ee_addr" },
        { "ee_do", 1, 2, "field ee_do" },
        { "ee_shift", 2, 0x200, "field ee_shift" },
        { "unplugged", 1, 2, "field unplugged" },
        { "ra[3]", 4, 0x00040000, "receive address high 1" },
    };
    uint8_t good[VMSTATE_MAX_SECTION];
    struct e1000_state staging;
    const struct devstate_sut d = { SECTION, e1000_state(nic), &staging, sizeof(staging) };
    size_t len = save(good, sizeof(good));
    char err[256];

    ck_assert_msg(devstate_refuses(&d, good, len, cases, sizeof(cases) / sizeof(cases[0]), err, sizeof(err)) == 0,
                  "%s", err);
}
END_TEST

/* 32-bit registers: a narrower read takes its bytes, a 64-bit access is two
 * registers, a narrower write is refused; IOADDR/IODATA reach the same file. */
START_TEST(access_widths)
{
    wr(E1K_MTA, 0x44332211);
    wr(E1K_MTA + 4, 0x88776655);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, MMIO + E1K_MTA + 1, 1), 0x22);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, MMIO + E1K_MTA + 2, 2), 0x4433);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_MMIO, MMIO + E1K_MTA, 8), 0x8877665544332211ull);
    io_write(&fm.m.bus, IO_MMIO, MMIO + E1K_MTA, 0xff, 1);
    ck_assert_uint_eq(rd(E1K_MTA), 0x44332211);
    io_write(&fm.m.bus, IO_MMIO, MMIO + E1K_MTA + 8, 0x0000000200000001ull, 8);
    ck_assert_uint_eq(rd(E1K_MTA + 8), 1);
    ck_assert_uint_eq(rd(E1K_MTA + 12), 2);
    io_write(&fm.m.bus, IO_PIO, IOBASE + E1K_IOADDR, E1K_MTA + 4, 4);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, IOBASE + E1K_IOADDR, 4), E1K_MTA + 4);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, IOBASE + E1K_IODATA, 4), 0x88776655);
    io_write(&fm.m.bus, IO_PIO, IOBASE + E1K_IODATA, 0x12345678, 4);
    ck_assert_uint_eq(rd(E1K_MTA + 4), 0x12345678);
    /* The reset through IODATA, as Linux issues it on the 82540. */
    io_write(&fm.m.bus, IO_PIO, IOBASE + E1K_IOADDR, E1K_CTRL, 4);
    io_write(&fm.m.bus, IO_PIO, IOBASE + E1K_IODATA, CTRL_RST, 4);
    ck_assert_uint_eq(rd(E1K_MTA + 4), 0);
    ck_assert_uint_eq(rd(E1K_CTRL) & CTRL_RST, 0);
    /* Unknown registers read 0; statistics clear when read. */
    ck_assert_uint_eq(rd(0x1f000), 0);
    ck_assert_uint_eq(rd(E1K_STATS + 0x74), 0);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("e1000_state");
    TCase *tc = tcase_create("state");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bad_fields_refused);
    tcase_add_test(tc, access_widths);
    suite_add_tcase(su, tc);
    return ck_run_suite(su);
}
