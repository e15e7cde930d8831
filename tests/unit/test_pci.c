/* The xenfv PCI bus: every function's identity, header type, BAR sizing and
 * decoding, config write masks, PIRQ routing and the 0xcf9 reset, checked
 * through the DM on the qtest accelerator; INTx routing (no built-in
 * function drives INTx) checked in-process on a fake accelerator. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/board/machine.h"
#include "dm/core/chardev.h"
#include "dm/core/config.h"
#include "dm/core/pci.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

struct fn_expect {
    unsigned slot, fn;
    uint16_t vendor, device;
    uint32_t class_rev;        /* config dword 0x08 */
    uint8_t header;
    uint32_t subsys;           /* config dword 0x2c */
    uint8_t pin;
};

/* As qemu-xen presented them to a Linux guest (shared/xen-lab reference run). */
static const struct fn_expect expected[] = {
    { 0, 0, 0x8086, 0x1237, 0x06000002, 0x00, 0x11001af4, 0 },
    { 1, 0, 0x8086, 0x7000, 0x06010000, 0x80, 0x11001af4, 0 },
    { 1, 1, 0x8086, 0x7010, 0x01018000, 0x00, 0x11001af4, 0 },
    { 1, 3, 0x8086, 0x7113, 0x06800003, 0x00, 0x11001af4, 1 },
    { 2, 0, 0x5853, 0x0001, 0xff800001, 0x00, 0x00015853, 1 },
};

static struct qtest *start(void)
{
    struct qtest_opts o = { .extra_fd = -1 };
    struct qtest *s = qtest_start(&o);

    ck_assert_msg(s != NULL, "DM did not start");
    return s;
}

START_TEST(test_enumerate)
{
    struct qtest *s = start();
    size_t i;

    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct fn_expect *e = &expected[i];

        ck_assert_uint_eq(qtest_pci_cfg_readw(s, e->slot, e->fn, 0), e->vendor);
        ck_assert_uint_eq(qtest_pci_cfg_readw(s, e->slot, e->fn, 2), e->device);
        ck_assert_uint_eq(qtest_pci_cfg_readl(s, e->slot, e->fn, 8), e->class_rev);
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, e->slot, e->fn, 0x0e), e->header);
        ck_assert_uint_eq(qtest_pci_cfg_readl(s, e->slot, e->fn, 0x2c), e->subsys);
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, e->slot, e->fn, 0x3d), e->pin);
    }
    /* Nothing else answers on bus 0, and other buses are empty. */
    for (unsigned slot = 0; slot < 32; slot++)
        for (unsigned fn = 0; fn < 8; fn++) {
            bool present = false;

            for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
                present |= expected[i].slot == slot && expected[i].fn == fn;
            if (!present)
                ck_assert_uint_eq(qtest_pci_cfg_readl(s, slot, fn, 0), 0xffffffffu);
        }
    qtest_outl(s, 0xcf8, 0x80010000u);       /* bus 1 */
    ck_assert_uint_eq(qtest_inl(s, 0xcfc), 0xffffffffu);
    qtest_outl(s, 0xcf8, 0x00000000u);       /* enable bit clear */
    ck_assert_uint_eq(qtest_inl(s, 0xcfc), 0xffffffffu);
    /* The address latch reads back; byte access to 0xcf8 is not the latch. */
    qtest_outl(s, 0xcf8, 0x80001234u);
    ck_assert_uint_eq(qtest_inl(s, 0xcf8), 0x80001234u);
    qtest_outb(s, 0xcf8, 0x00);
    ck_assert_uint_eq(qtest_inl(s, 0xcf8), 0x80001234u);
    qtest_quit(s);
}
END_TEST

static uint32_t size_bar(struct qtest *s, unsigned slot, unsigned fn, unsigned bar)
{
    unsigned reg = 0x10 + 4 * bar;
    uint32_t old = qtest_pci_cfg_readl(s, slot, fn, reg), v;

    qtest_pci_cfg_writel(s, slot, fn, reg, 0xffffffffu);
    v = qtest_pci_cfg_readl(s, slot, fn, reg);
    qtest_pci_cfg_writel(s, slot, fn, reg, old);
    return v;
}

START_TEST(test_bar_sizes)
{
    struct qtest *s = start();
    size_t i;

    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        for (unsigned bar = 0; bar < 6; bar++) {
            const struct fn_expect *e = &expected[i];
            uint32_t v = size_bar(s, e->slot, e->fn, bar);

            if (e->slot == 2 && bar == 0)
                ck_assert_uint_eq(v, 0xffffff01u);       /* I/O, 256 bytes */
            else if (e->slot == 2 && bar == 1)
                ck_assert_uint_eq(v, 0xff000008u);       /* 16 MiB prefetchable */
            else if (e->slot == 1 && e->fn == 1 && bar == 4)
                ck_assert_uint_eq(v, 0xfffffff1u);       /* BMDMA, 16 bytes */
            else
                ck_assert_msg(v == 0, "%02x.%x BAR%u sized 0x%x", e->slot, e->fn, bar, v);
        }
    /* The expansion ROM register is not implemented. */
    qtest_pci_cfg_writel(s, 2, 0, 0x30, 0xffffffffu);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x30), 0);
    qtest_quit(s);
}
END_TEST

START_TEST(test_bar_mapping)
{
    struct qtest *s = start();

    /* Unprogrammed BARs decode nothing. */
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0xff);
    ck_assert_uint_eq(qtest_readl(s, 0xf0000000), 0xffffffffu);
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xc000);
    qtest_pci_cfg_writel(s, 2, 0, 0x14, 0xf0000000);
    /* qemu-xen's platform device starts with I/O and memory decoding on. */
    ck_assert_uint_eq(qtest_pci_cfg_readw(s, 2, 0, 4) & 3, 3);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x10), 0xc001);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x14), 0xf0000008u);
    /* BAR0 +0 is the platform flags byte, the same as fixed port 0x10. */
    qtest_outb(s, 0xc000, 0x01);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x01);
    ck_assert_uint_eq(qtest_inb(s, 0x10), 0x01);
    ck_assert_uint_eq(qtest_readl(s, 0xf0000000), 0);
    ck_assert_uint_eq(qtest_readl(s, 0xf0fffffc), 0);
    ck_assert_uint_eq(qtest_readl(s, 0xf1000000), 0xffffffffu);
    /* Command register decoding off: both stop answering. */
    qtest_pci_cfg_writew(s, 2, 0, 4, 0);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0xff);
    ck_assert_uint_eq(qtest_readl(s, 0xf0000000), 0xffffffffu);
    /* Moving a BAR while decoding is on moves the window. */
    qtest_pci_cfg_writew(s, 2, 0, 4, 1);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x01);
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xd000);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0xff);
    ck_assert_uint_eq(qtest_inb(s, 0xd000), 0x01);
    /* A BAR over the PCI config ports is refused, the ports keep working. */
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0x0c00);
    ck_assert_uint_eq(qtest_pci_cfg_readw(s, 0, 0, 0), 0x8086);
    qtest_quit(s);
}
END_TEST

/* Hostile BAR programming: a BAR over another function's BAR is refused
 * and decodes once the other one moves away; BARs reaching past the top
 * of their space, or left at the sizing pattern, never decode. */
START_TEST(test_bar_overlap_and_wrap)
{
    struct qtest *s = start();

    /* IDE bus-master BAR4 (16 bytes of I/O) at 0xc000, decoding. */
    qtest_pci_cfg_writel(s, 1, 1, 0x20, 0xc000);
    qtest_pci_cfg_writew(s, 1, 1, 4, 1);
    ck_assert_uint_eq(qtest_inb(s, 0xc008), 0x00);      /* secondary BM command */
    /* Platform BAR0 (256 bytes) over it: refused, the BM registers stay. */
    qtest_outb(s, 0x10, 0x01);                          /* platform flags = 1 */
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xc000);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x00);      /* BM command, not the flags */
    ck_assert_uint_eq(qtest_inb(s, 0xc0f0), 0xff);
    /* The BM BAR moves away: the platform BAR takes its programmed place. */
    qtest_pci_cfg_writel(s, 1, 1, 0x20, 0xe000);
    ck_assert_uint_eq(qtest_inb(s, 0xe008), 0x00);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x01);
    /* Moving the BM BAR back over it is refused in turn. */
    qtest_pci_cfg_writel(s, 1, 1, 0x20, 0xc040);
    ck_assert_uint_eq(qtest_inb(s, 0xc040), 0xff);      /* platform BAR0 +0x40 */
    ck_assert_uint_eq(qtest_inb(s, 0xe008), 0xff);      /* left its old place */
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x01);
    /* I/O BAR wrapping past 0xffff: not decoded, nothing answers at the top. */
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xff80);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x10), 0xff01);
    ck_assert_uint_eq(qtest_inb(s, 0xff80), 0xff);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0xff);
    /* ... and the BM BAR refused a moment ago now decodes. */
    ck_assert_uint_eq(qtest_inb(s, 0xc048), 0x00);
    /* MMIO BAR1 (16 MiB) just below the top decodes; at the top its
     * address is the sizing pattern, which never decodes. */
    qtest_pci_cfg_writel(s, 2, 0, 0x14, 0xfe000000);
    ck_assert_uint_eq(qtest_readl(s, 0xfefffffc), 0);
    ck_assert_uint_eq(qtest_readl(s, 0xff000000), 0xffffffffu);
    qtest_pci_cfg_writel(s, 2, 0, 0x14, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x14), 0xff000008u);
    ck_assert_uint_eq(qtest_readl(s, 0xff000000), 0xffffffffu);
    qtest_quit(s);
}
END_TEST

/* Config cycles of every size at every byte offset of the data window,
 * with the address latch pointing anywhere: in-bounds bytes only. */
START_TEST(test_config_odd_offsets)
{
    struct qtest *s = start();

    /* A word at 0xcfe reads config bytes 2-3; a dword at 0xcfd would
     * cross the window and reads all-ones. */
    qtest_outl(s, 0xcf8, 0x80000000u | 1 << 11);        /* 00:01.0 reg 0 */
    ck_assert_uint_eq(qtest_inw(s, 0xcfe), 0x7000);
    ck_assert_uint_eq(qtest_inb(s, 0xcfd), 0x80);
    ck_assert_uint_eq(qtest_inb(s, 0xcff), 0x70);
    ck_assert_uint_eq(qtest_inl(s, 0xcfd), 0xffffffffu);
    ck_assert_uint_eq(qtest_inw(s, 0xcff), 0xffff);
    /* Register 0xfc + byte 3 is the last byte of config space. */
    qtest_outl(s, 0xcf8, 0x80000000u | 1 << 11 | 0xfc);
    qtest_outb(s, 0xcff, 0x5a);
    ck_assert_uint_eq(qtest_inb(s, 0xcff), 0x5a);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, 1, 0, 0xff), 0x5a);
    /* Enable bit clear, bus != 0, reserved low bits: nothing decodes. */
    qtest_outl(s, 0xcf8, 1 << 11);
    ck_assert_uint_eq(qtest_inl(s, 0xcfc), 0xffffffffu);
    qtest_outl(s, 0xcf8, 0x80010000u | 1 << 11);
    ck_assert_uint_eq(qtest_inl(s, 0xcfc), 0xffffffffu);
    qtest_outl(s, 0xcf8, 0x80000003u | 1 << 11);        /* low bits ignored */
    ck_assert_uint_eq(qtest_inw(s, 0xcfc), 0x8086);
    /* Narrow accesses to the latch neither change nor read it. */
    qtest_outb(s, 0xcf8, 0x00);
    qtest_outw(s, 0xcfa, 0x0000);
    ck_assert_uint_eq(qtest_inl(s, 0xcf8), 0x80000803u);
    ck_assert_uint_eq(qtest_inw(s, 0xcf8), 0xffff);
    qtest_quit(s);
}
END_TEST

START_TEST(test_write_masks)
{
    struct qtest *s = start();
    size_t i;

    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct fn_expect *e = &expected[i];

        /* Identity is read-only. */
        qtest_pci_cfg_writel(s, e->slot, e->fn, 0, 0x12345678);
        qtest_pci_cfg_writel(s, e->slot, e->fn, 8, 0);
        qtest_pci_cfg_writeb(s, e->slot, e->fn, 0x0e, 0x7f);
        qtest_pci_cfg_writeb(s, e->slot, e->fn, 0x3d, 4);
        qtest_pci_cfg_writel(s, e->slot, e->fn, 0x2c, 0);
        ck_assert_uint_eq(qtest_pci_cfg_readw(s, e->slot, e->fn, 0), e->vendor);
        ck_assert_uint_eq(qtest_pci_cfg_readl(s, e->slot, e->fn, 8), e->class_rev);
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, e->slot, e->fn, 0x0e), e->header);
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, e->slot, e->fn, 0x3d), e->pin);
        ck_assert_uint_eq(qtest_pci_cfg_readl(s, e->slot, e->fn, 0x2c), e->subsys);
        /* Interrupt line and latency timer are the guest's. */
        qtest_pci_cfg_writeb(s, e->slot, e->fn, 0x3c, 0x0b);
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, e->slot, e->fn, 0x3c), 0x0b);
        qtest_pci_cfg_writeb(s, e->slot, e->fn, 0x0d, 0x40);
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, e->slot, e->fn, 0x0d), 0x40);
        /* Only the defined command bits stick. */
        qtest_pci_cfg_writew(s, e->slot, e->fn, 4, 0xffff);
        ck_assert_uint_eq(qtest_pci_cfg_readw(s, e->slot, e->fn, 4) & ~0x0547u, 0);
        /* Status: writing ones clears error bits, never sets anything. */
        {
            uint16_t before = qtest_pci_cfg_readw(s, e->slot, e->fn, 6);

            qtest_pci_cfg_writew(s, e->slot, e->fn, 6, 0xffff);
            ck_assert_uint_eq(qtest_pci_cfg_readw(s, e->slot, e->fn, 6), before & 0x06ff);
        }
    }
    /* Byte and word accesses at every offset of the data window agree with the dword. */
    {
        uint32_t d = qtest_pci_cfg_readl(s, 1, 3, 0);

        for (unsigned b = 0; b < 4; b++)
            ck_assert_uint_eq(qtest_pci_cfg_readb(s, 1, 3, b), (d >> (8 * b)) & 0xff);
        qtest_outl(s, 0xcf8, 0x80000b00u);
        ck_assert_uint_eq(qtest_inw(s, 0xcfd), (d >> 8) & 0xffff);
        ck_assert_uint_eq(qtest_inw(s, 0xcfe), d >> 16);
    }
    qtest_quit(s);
}
END_TEST

START_TEST(test_pirq_registers)
{
    struct qtest *s = start();

    for (unsigned link = 0; link < 4; link++)
        ck_assert_uint_eq(qtest_pci_cfg_readb(s, 1, 0, 0x60 + link), 0x80);
    /* hvmloader's routing: links 0-3 -> 5, 10, 11, 5; reserved bits stay 0. */
    qtest_pci_cfg_writel(s, 1, 0, 0x60, 0x050b0a05);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 1, 0, 0x60), 0x050b0a05);
    qtest_pci_cfg_writeb(s, 1, 0, 0x61, 0xff);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, 1, 0, 0x61), 0x8f);
    qtest_quit(s);
}
END_TEST

START_TEST(test_reset_control)
{
    struct qtest *s = start();
    struct qmpc *c = qtest_qmp(s);
    json_t *ev;

    ck_assert_ptr_nonnull(c);
    qtest_pci_cfg_writel(s, 2, 0, 0x10, 0xc000);
    qtest_pci_cfg_writeb(s, 1, 0, 0x60, 0x0a);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0x00);
    /* RCR keeps only SYS_RST; RST_CPU resets the machine like QEMU's PIIX3. */
    qtest_outb(s, 0xcf9, 0x02);
    ck_assert_uint_eq(qtest_inb(s, 0xcf9), 0x02);
    qtest_outb(s, 0x92, 0x02);                  /* fast A20 on */
    ck_assert_uint_eq(qtest_inb(s, 0x92), 0x02);
    qtest_outb(s, 0xcf9, 0x06);
    ev = qmpc_wait_event(c, "RESET", 10000);
    ck_assert_ptr_nonnull(ev);
    ck_assert(json_is_true(json_object_get(json_object_get(ev, "data"), "guest")));
    json_decref(ev);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x10), 0x1);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, 1, 0, 0x60), 0x80);
    ck_assert_uint_eq(qtest_inb(s, 0xc000), 0xff);
    ck_assert_uint_eq(qtest_inb(s, 0xcf9), 0x00);
    ck_assert_uint_eq(qtest_inb(s, 0x92), 0x00);  /* port 0x92 back to its reset value */
    qmpc_close(c);
    qtest_quit(s);
}
END_TEST

/* ---- in-process: INTx routing on a fake accelerator ------------------------- */

static struct xsdm_config cfg;
static struct fake_machine fm;
static struct pci_dev extra[4];

static void build(bool xen_routing)
{
    fake_machine_init(&fm, NULL, 1 << 20);
    if (xen_routing)
        fake_machine_xen_routing(&fm);
    fake_config(&cfg);
    ck_assert_int_eq(machine_init(&fm.m, &cfg, &fm.acc, NULL), 0);
    /* Four extra functions in slots 3-6, INTA each: links 3, 0, 1, 2. */
    for (unsigned i = 0; i < 4; i++) {
        pci_dev_init(&extra[i], "extra", 3 + i, 0, 0x1234, 0x5678, 0xff0000, 0);
        extra[i].config[0x3d] = 1;
        ck_assert_int_eq(pci_register(fm.m.pci, &extra[i]), 0);
    }
}

static void cfgw8(unsigned slot, unsigned fn, unsigned reg, uint8_t v)
{
    machine_pci_config_write(&fm.m, slot, fn, reg, v, 1);
}

START_TEST(test_intx_routing)
{
    build(false);
    /* Links disabled: nothing reaches an ISA line. */
    pci_set_irq(&extra[0], 1);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(fm.irq_level[i], 0);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 3, 0, 6, 2) & 0x08, 0x08);
    /* Slot 3 INTA is link (3 + 0) & 3 = 3. Routing it to 5 raises IRQ 5. */
    cfgw8(1, 0, 0x63, 5);
    ck_assert_int_eq(fm.irq_level[5], 1);
    /* Slot 4 INTA is link 0; route it to 5 too: shared, level stays up
     * until both are low. */
    cfgw8(1, 0, 0x60, 5);
    pci_set_irq(&extra[1], 1);
    pci_set_irq(&extra[0], 0);
    ck_assert_int_eq(fm.irq_level[5], 1);
    pci_set_irq(&extra[1], 0);
    ck_assert_int_eq(fm.irq_level[5], 0);
    /* An ISA device on the same line is ORed in. */
    pci_set_irq(&extra[0], 1);
    machine_set_isa_irq(&fm.m, 5, 1);
    pci_set_irq(&extra[0], 0);
    ck_assert_int_eq(fm.irq_level[5], 1);
    machine_set_isa_irq(&fm.m, 5, 0);
    ck_assert_int_eq(fm.irq_level[5], 0);
    /* Re-routing a high link moves the level; INTx disable masks it. */
    pci_set_irq(&extra[2], 1);              /* slot 5 INTA: link 1 */
    cfgw8(1, 0, 0x61, 10);
    ck_assert_int_eq(fm.irq_level[10], 1);
    cfgw8(1, 0, 0x61, 11);
    ck_assert_int_eq(fm.irq_level[10], 0);
    ck_assert_int_eq(fm.irq_level[11], 1);
    machine_pci_config_write(&fm.m, 5, 0, 4, 0x0400, 2);
    ck_assert_int_eq(fm.irq_level[11], 0);
    machine_pci_config_write(&fm.m, 5, 0, 4, 0, 2);
    ck_assert_int_eq(fm.irq_level[11], 1);
    cfgw8(1, 0, 0x61, 0x8b);                /* disabled */
    ck_assert_int_eq(fm.irq_level[11], 0);
    /* Out-of-range slot/pin/irq are ignored. */
    machine_set_pci_intx(&fm.m, 99, 0, 1);
    machine_set_pci_intx(&fm.m, 3, 9, 1);
    machine_set_isa_irq(&fm.m, 16, 1);
    machine_free(&fm.m);
}
END_TEST

START_TEST(test_xen_routing)
{
    build(true);
    /* Xen routes INTx itself: the machine forwards slot/pin, not ISA lines. */
    pci_set_irq(&extra[0], 1);
    ck_assert_int_eq(fm.intx_calls, 1);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(fm.irq_level[i], 0);
    /* PIRQ writes reach xendevicemodel_set_pci_link_route's wrapper. */
    cfgw8(1, 0, 0x62, 11);
    ck_assert_int_eq(fm.link_route[2], 11);
    cfgw8(1, 0, 0x62, 0x80);
    ck_assert_int_eq(fm.link_route[2], 0x80);
    machine_pci_config_write(&fm.m, 1, 0, 0x60, 0x0b0a0905, 4);
    ck_assert_int_eq(fm.link_route[0], 5);
    ck_assert_int_eq(fm.link_route[1], 9);
    ck_assert_int_eq(fm.link_route[3], 11);
    machine_free(&fm.m);
}
END_TEST

START_TEST(test_hostile_config)
{
    build(false);
    /* Sizes and offsets out of range read all-ones and write nothing. */
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 0, 0, 255, 4), 0xffffffffu);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 0, 0, 256, 1), 0xffffffffu);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 0, 0, 0, 3), 0xffffffffu);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 40, 9, 0, 4), 0xffffffffu);
    machine_pci_config_write(&fm.m, 0, 0, 254, 0xffffffff, 4);
    machine_pci_config_write(&fm.m, 1, 0, 0x60, 0xffffffff, 8);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 1, 0, 0x60, 1), 0x80);
    /* Every register of every function, every value pattern: no crash, ids intact. */
    for (unsigned reg = 0; reg < 256; reg++)
        for (unsigned fn = 0; fn < 4; fn++) {
            machine_pci_config_write(&fm.m, 1, fn, reg, 0xffffffff, 1);
            machine_pci_config_write(&fm.m, 2, 0, reg, 0x5a5a5a5a, 1);
        }
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 1, 3, 0, 4), 0x71138086);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 2, 0, 0, 4), 0x00015853);
    machine_reset(&fm.m);
    ck_assert_uint_eq(machine_pci_config_read(&fm.m, 1, 0, 0x60, 4), 0x80808080u);
    machine_free(&fm.m);
}
END_TEST

/* machine_free() takes every device with it: the UART lets go of its
 * backend (no input can reach a freed device) and no port still decodes. */
START_TEST(test_machine_free_releases_devices)
{
    struct chardev *c;
    json_t *list, *e;
    size_t i;
    int seen = 0;

    fake_machine_init(&fm, NULL, 1 << 20);
    fake_config(&cfg);
    fake_config_null_serial(&cfg);
    ck_assert_int_eq(machine_init(&fm.m, &cfg, &fm.acc, NULL), 0);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, 0x3fd, 1), 0x60);
    ck_assert_uint_ne(io_read(&fm.m.bus, IO_PIO, 0x64, 1), 0xff);
    machine_free(&fm.m);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, 0x3fd, 1), 0xff);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, 0x64, 1), 0xff);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, 0x92, 1), 0xff);
    ck_assert_uint_eq(io_read(&fm.m.bus, IO_PIO, 0xcfc, 4), 0xffffffffu);
    list = chardev_query();
    json_array_foreach(list, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "label")), "serial0"))
            continue;
        ck_assert(json_is_false(json_object_get(e, "frontend-open")));
        seen++;
    }
    json_decref(list);
    ck_assert_int_eq(seen, 1);
    c = chardev_find("serial0");
    ck_assert_ptr_nonnull(c);
    chardev_close(c);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("pci");
    TCase *tq = tcase_create("qtest");
    TCase *ti = tcase_create("inproc");

    tcase_set_timeout(tq, 60);
    tcase_add_test(tq, test_enumerate);
    tcase_add_test(tq, test_bar_sizes);
    tcase_add_test(tq, test_bar_mapping);
    tcase_add_test(tq, test_bar_overlap_and_wrap);
    tcase_add_test(tq, test_config_odd_offsets);
    tcase_add_test(tq, test_write_masks);
    tcase_add_test(tq, test_pirq_registers);
    tcase_add_test(tq, test_reset_control);
    tcase_add_test(ti, test_intx_routing);
    tcase_add_test(ti, test_xen_routing);
    tcase_add_test(ti, test_hostile_config);
    tcase_add_test(ti, test_machine_free_releases_devices);
    suite_add_tcase(su, tq);
    suite_add_tcase(su, ti);
    return ck_run_suite(su);
}
