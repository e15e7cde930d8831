/* 82540EM (e1000) at 00:03.0 through the DM on a REAL tap of this machine:
 * the test is the guest's driver (EEPROM and PHY as Linux's e1000 reads
 * them, descriptor rings as it fills them) and the host at once (an
 * AF_PACKET socket on the tap). Only this machine's taps are used: frames
 * carry a locally administered destination the host stack drops, IPv6 is
 * off on the tap, and nothing is routed anywhere.
 * Checked: PCI identity and BARs, EEPROM (microwire and EERD) with its
 * checksum, PHY link, interrupt causes, frames both ways with exact length
 * and content, checksum offload and segmentation, RX filtering, a full RX
 * ring stalling without corruption and resuming in order, hostile
 * descriptors and ring registers refused, save/restore, platform unplug,
 * the board's slots. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/devices/e1000-regs.h"
#include "dm/devices/e1000.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "tests/lib/qtest_restore.h"
#include "tests/lib/tapwire.h"
#include "toolstack/qmp-client.h"

#define MMIO      0xfebc0000u      /* BAR0 as the test programs it (128 KiB aligned) */
#define IO        0xc100u          /* BAR1 */
#define SLOT      3
#define IRQ       11
#define TXRING    0x300000u
#define RXRING    0x301000u
#define RXBUF     0x310000u        /* 2 KiB each */
#define TXBUF     0x340000u        /* 4 KiB each */
#define BEYOND    0x7ff00000u      /* far outside the test's 64 MiB */
#define NRX       8                /* receive descriptors (RDLEN 128) */
#define NTX       16

static const uint8_t nic_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static struct qtest *s;
static char tap_name[IFNAMSIZ];    /* set in main() before the tests fork */
static struct tapwire wire = { .fd = -1 };   /* host side: AF_PACKET on the tap */
static unsigned tx_tail;           /* the test driver's TDT */

/* ---- host side (tests/lib/tapwire) -------------------------------------- */

static int tun_open(const char *name)
{
    int fd = tapwire_tun_open(name);

    ck_assert_msg(fd >= 0, "TUNSETIFF %s: %s", name, strerror(errno));
    return fd;
}

static void tap_make(void) { ck_assert_msg(tapwire_make(tap_name) == 0, "%s: %s", tap_name, strerror(errno)); }
static void tap_destroy(void) { ck_assert_int_eq(tapwire_destroy(tap_name), 0); }
static void set_mtu(int mtu) { ck_assert_int_eq(tapwire_set_mtu(tap_name, mtu), 0); }
static void host_open(void) { ck_assert_int_eq(tapwire_open(&wire, tap_name), 0); }

/* The next frame the NIC sent (source = the NIC), or -1 after `ms`. */
static ssize_t host_recv_within(uint8_t *buf, size_t cap, int ms)
{
    return tapwire_recv_from(&wire, nic_mac, buf, cap, ms);
}

static ssize_t host_recv(uint8_t *buf, size_t cap) { return host_recv_within(buf, cap, 5000); }
static void host_send(const uint8_t *f, size_t len) { ck_assert_int_eq(tapwire_send(&wire, f, len), 0); }

/* IPv4 + TCP (proto 6) or UDP (17) from the NIC, payload bytes of pattern, checksums 0. */
static size_t make_ipv4(uint8_t *f, uint8_t proto, size_t payload)
{
    size_t len = tapwire_ipv4(f, peer_mac, nic_mac, proto, payload);

    for (size_t i = 0; i < payload; i++)
        f[len - payload + i] = (uint8_t)(i * 13 + 1);
    return len;
}

/* ---- guest side --------------------------------------------------------- */

static uint32_t rd(uint32_t off) { return qtest_readl(s, MMIO + off); }
static void wr(uint32_t off, uint32_t v) { qtest_writel(s, MMIO + off, v); }

static struct qtest *start_with(const char *netdev, int extra_fd)
{
    const char *args[] = { "-device", "e1000,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                           "-netdev", netdev, NULL };
    struct qtest_opts o = { .args = args, .extra_fd = extra_fd, .ram_mb = 64 };

    return qtest_start(&o);
}

/* What a driver's probe does: BARs, decoding + bus master, IRQ routed. */
static void probe(void)
{
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, MMIO);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x14, IO);
    qtest_pci_cfg_writew(s, SLOT, 0, 0x04, 0x07);
    qtest_pci_cfg_writeb(s, 1, 0, 0x63, IRQ);     /* link (3 + INTA) & 3 */
    qtest_irq_intercept_in(s, "ioapic");
}

/* libxl's argv for vif=['bridge=xenbr0,model=e1000'] on our tap, then a reset. */
static void start(void)
{
    char netdev[128];

    tap_make();
    snprintf(netdev, sizeof(netdev), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", tap_name);
    s = start_with(netdev, -1);
    ck_assert_ptr_nonnull(s);
    host_open();
    probe();
    wr(E1K_CTRL, CTRL_RST);
    ck_assert_uint_eq(rd(E1K_CTRL) & CTRL_RST, 0);
    tx_tail = 0;
}

static void stop(void)
{
    qtest_quit(s);
    s = NULL;
    tapwire_close(&wire);
    tap_destroy();
}

static bool wait_mem8(uint64_t addr, uint8_t mask, uint8_t want)
{
    for (int i = 0; i < 5000; i++) {
        if ((qtest_readb(s, addr) & mask) == want)
            return true;
        usleep(1000);
    }
    return false;
}

/* The DM counted an event in a statistics register (they clear when read). */
static bool wait_stat(uint32_t off)
{
    for (int i = 0; i < 5000; i++) {
        if (rd(E1K_STATS + off))
            return true;
        usleep(1000);
    }
    return false;
}

/* Linux's microwire read: request, standby, opcode + address, 16 bits in. */
static void ee_clock(uint32_t *eecd, bool high)
{
    *eecd = high ? *eecd | EECD_SK : *eecd & ~EECD_SK;
    wr(E1K_EECD, *eecd);
}

static uint16_t eeprom_read(unsigned addr)
{
    uint32_t eecd = rd(E1K_EECD) | EECD_REQ, cmd = EE_OP_READ << 6 | addr;
    uint16_t v = 0;

    wr(E1K_EECD, eecd);
    ck_assert(rd(E1K_EECD) & EECD_GNT);
    eecd &= ~(EECD_CS | EECD_SK);
    wr(E1K_EECD, eecd);
    ee_clock(&eecd, true);
    eecd |= EECD_CS;
    wr(E1K_EECD, eecd);
    ee_clock(&eecd, false);
    for (int i = EE_CMD_BITS - 1; i >= 0; i--) {
        eecd = (cmd >> i) & 1 ? eecd | EECD_DI : eecd & ~EECD_DI;
        wr(E1K_EECD, eecd);
        ee_clock(&eecd, true);
        ee_clock(&eecd, false);
    }
    eecd &= ~EECD_DI;
    for (int i = 0; i < 16; i++) {
        ee_clock(&eecd, true);
        v = (uint16_t)(v << 1 | ((rd(E1K_EECD) & EECD_DO) ? 1 : 0));
        ee_clock(&eecd, false);
    }
    wr(E1K_EECD, eecd & ~(EECD_CS | EECD_REQ));
    return v;
}

static uint16_t phy_read(unsigned reg)
{
    uint32_t m;

    wr(E1K_MDIC, reg << MDIC_REG_SHIFT | E1K_PHY_ADDR << MDIC_PHY_SHIFT | MDIC_OP_READ);
    m = rd(E1K_MDIC);
    ck_assert(m & MDIC_READY);
    ck_assert(!(m & MDIC_ERROR));
    return (uint16_t)m;
}

static void rx_desc_put(unsigned i, uint64_t buf)
{
    qtest_writeq(s, RXRING + 16 * i, buf);
    qtest_writeq(s, RXRING + 16 * i + 8, 0);
}

/* e1000_configure_rx: ring, all descriptors but one handed over, enable. */
static void rx_start(uint32_t rctl_extra)
{
    for (unsigned i = 0; i < NRX; i++)
        rx_desc_put(i, RXBUF + 0x800 * i);
    wr(E1K_RDBAL, RXRING);
    wr(E1K_RDBAH, 0);
    wr(E1K_RDLEN, NRX * 16);
    wr(E1K_RDH, 0);
    wr(E1K_RDT, NRX - 1);
    wr(E1K_RCTL, RCTL_EN | RCTL_BAM | rctl_extra);
    wr(E1K_IMS, ICR_RXT0 | ICR_TXDW | ICR_RXDMT0 | ICR_LSC | ICR_RXSEQ);
}

static void tx_start(void)
{
    qtest_memset(s, TXRING, 0, NTX * 16);
    wr(E1K_TDBAL, TXRING);
    wr(E1K_TDBAH, 0);
    wr(E1K_TDLEN, NTX * 16);
    wr(E1K_TDH, 0);
    wr(E1K_TDT, 0);
    wr(E1K_TCTL, TCTL_EN | TCTL_PSP);
    tx_tail = 0;
}

static void tx_desc(unsigned i, uint64_t addr, uint32_t cmdlen, uint32_t upper)
{
    qtest_writeq(s, TXRING + 16 * i, addr);
    qtest_writel(s, TXRING + 16 * i + 8, cmdlen);
    qtest_writel(s, TXRING + 16 * i + 12, upper);
}

/* Queue one descriptor at the driver's tail (not yet handed over). */
static unsigned tx_queue(uint64_t addr, uint32_t cmdlen, uint32_t upper)
{
    unsigned i = tx_tail;

    tx_desc(i, addr, cmdlen, upper);
    tx_tail = (tx_tail + 1) % NTX;
    return i;
}

static void tx_kick(void) { wr(E1K_TDT, tx_tail); }

/* ---- tests -------------------------------------------------------------- */

START_TEST(identity_eeprom_link)
{
    uint16_t sum = 0;
    uint32_t icr;

    start();
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0x100e8086);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, SLOT, 0, 0x08), 0x03);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x08) >> 8, 0x020000);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x2c), 0x11001af4);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, SLOT, 0, 0x0c), 0x10);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, SLOT, 0, 0x3d), 1);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 4, 0, 0x00), 0xffffffff);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x10), 0xfffe0000);  /* 128 KiB of MMIO */
    qtest_pci_cfg_writel(s, SLOT, 0, 0x14, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x14), 0xffffffc1);  /* 64 bytes of I/O */
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x18), 0);           /* nothing else */
    /* an expansion ROM BAR of qemu-xen's size (its efi-e1000.rom, 256 KiB:
     * the firmware then places every BAR as under qemu-xen), empty: no
     * 0x55AA signature for the firmware to run */
    qtest_pci_cfg_writel(s, SLOT, 0, 0x30, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x30), 0xfffc0001);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x30, 0xe0000000 | 1);
    ck_assert_uint_eq(qtest_readl(s, 0xe0000000), 0);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x30, 0);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, MMIO);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x14, IO);
    /* EEPROM: the MAC in words 0-2, and the checksum Linux verifies. */
    for (unsigned i = 0; i < 3; i++)
        ck_assert_uint_eq(eeprom_read(i), nic_mac[2 * i] | nic_mac[2 * i + 1] << 8);
    for (unsigned i = 0; i < EE_WORDS; i++)
        sum = (uint16_t)(sum + eeprom_read(i));
    ck_assert_uint_eq(sum, EE_SUM);
    ck_assert_uint_eq(eeprom_read(0x0d), E1000_DEVICE);
    wr(E1K_EERD, EERD_START | 1u << EERD_ADDR_SHIFT);
    ck_assert_uint_eq(rd(E1K_EERD), EERD_DONE | 1u << EERD_ADDR_SHIFT | 0x003eu << EERD_DATA_SHIFT);
    ck_assert_uint_eq(rd(E1K_PBA), 0x00100030);                         /* 48 KiB RX, 16 KiB TX */
    /* The reset loaded RAL0/RAH0 from the EEPROM. */
    ck_assert_uint_eq(rd(E1K_RA), 0x003e1600);
    ck_assert_uint_eq(rd(E1K_RA + 4), RAH_AV | 0x0100);
    /* Link up at 1000 full duplex: STATUS and the PHY. */
    ck_assert_uint_eq(rd(E1K_STATUS) & (STATUS_LU | STATUS_FD | STATUS_SPEED_1000),
                      STATUS_LU | STATUS_FD | STATUS_SPEED_1000);
    ck_assert_uint_eq(phy_read(PHY_STATUS) & (MII_SR_LINK_STATUS | MII_SR_AUTONEG_COMPLETE),
                      MII_SR_LINK_STATUS | MII_SR_AUTONEG_COMPLETE);
    ck_assert_uint_eq(phy_read(PHY_ID1), PHY_ID1_VALUE);
    ck_assert_uint_eq(phy_read(PHY_ID2), PHY_ID2_VALUE);
    wr(E1K_MDIC, PHY_AUTONEG_ADV << MDIC_REG_SHIFT | E1K_PHY_ADDR << MDIC_PHY_SHIFT | MDIC_OP_WRITE | 0x01e1);
    ck_assert_uint_eq(phy_read(PHY_AUTONEG_ADV), 0x01e1);
    wr(E1K_MDIC, PHY_STATUS << MDIC_REG_SHIFT | 2u << MDIC_PHY_SHIFT | MDIC_OP_READ);   /* no PHY 2 */
    ck_assert(rd(E1K_MDIC) & MDIC_ERROR);
    /* The same registers through IOADDR/IODATA. */
    qtest_outl(s, IO + E1K_IOADDR, E1K_RA);
    ck_assert_uint_eq(qtest_inl(s, IO + E1K_IODATA), 0x003e1600);
    /* Interrupt causes: ICS sets, IMS unmasks onto INTx, reading ICR clears. */
    rd(E1K_ICR);
    ck_assert(!qtest_get_irq(s, IRQ));
    wr(E1K_ICS, ICR_LSC);
    ck_assert(!qtest_get_irq(s, IRQ));                 /* masked */
    wr(E1K_IMS, ICR_LSC);
    ck_assert_uint_eq(rd(E1K_IMS), ICR_LSC);
    ck_assert(qtest_get_irq(s, IRQ));
    wr(E1K_IMC, ICR_LSC);
    ck_assert(!qtest_get_irq(s, IRQ));
    wr(E1K_IMS, ICR_LSC);
    ck_assert(qtest_get_irq(s, IRQ));
    icr = rd(E1K_ICR);
    ck_assert_uint_eq(icr, ICR_LSC);
    ck_assert_uint_eq(rd(E1K_ICR), 0);
    ck_assert(!qtest_get_irq(s, IRQ));
    stop();
}
END_TEST

/* Legacy descriptors, then data descriptors split over three buffers: each
 * frame on the tap exactly, DD written back where RS asked, TDH follows. */
START_TEST(tx_frames)
{
    uint8_t f[1600], got[2048];
    size_t len;

    start();
    tx_start();
    for (unsigned i = 0; i < 3; i++) {
        len = tapwire_frame(f, peer_mac, nic_mac, i + 1, 100 + 500 * i);
        qtest_memwrite(s, TXBUF, f, len);
        tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS | (uint32_t)len, 0);
        tx_kick();
        ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
        ck_assert_mem_eq(got, f, len);
        ck_assert_uint_eq(qtest_readb(s, TXRING + 16 * i + 12) & TXD_STAT_DD, TXD_STAT_DD);
    }
    ck_assert_uint_eq(rd(E1K_TDH), 3);
    ck_assert_uint_eq(rd(E1K_ICR) & (ICR_TXDW | ICR_TXQE), ICR_TXDW | ICR_TXQE);
    /* A short frame is padded to 60 bytes. */
    len = tapwire_frame(f, peer_mac, nic_mac, 9, 20);
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len, 0);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), 60);
    ck_assert_mem_eq(got, f, len);
    /* One frame from three data descriptors; only the last has RS. */
    len = tapwire_frame(f, peer_mac, nic_mac, 7, 1400);
    qtest_memwrite(s, TXBUF, f, 100);
    qtest_memwrite(s, TXBUF + 0x1000, f + 100, 1000);
    qtest_memwrite(s, TXBUF + 0x2000, f + 1100, 300);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | 100, 0);
    tx_queue(TXBUF + 0x1000, TXD_CMD_DEXT | TXD_DTYP_DATA | 1000, 0);
    /* Not handed over whole yet: nothing goes out. */
    tx_kick();
    ck_assert_int_eq(host_recv_within(got, sizeof(got), 200), -1);
    ck_assert_uint_eq(rd(E1K_TDH), 4);
    tx_queue(TXBUF + 0x2000, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_EOP | TXD_CMD_RS | 300, 0);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_mem_eq(got, f, len);
    ck_assert_uint_eq(rd(E1K_TDH), 7);
    ck_assert_uint_eq(qtest_readb(s, TXRING + 16 * 6 + 12) & TXD_STAT_DD, TXD_STAT_DD);
    ck_assert_uint_eq(qtest_readb(s, TXRING + 16 * 5 + 12) & TXD_STAT_DD, 0);
    stop();
}
END_TEST

/* Checksum offload as Linux's e1000_tx_csum asks for it (context with
 * TUCSS/TUCSO, TXSM, the pseudo-header sum left in the field), IXSM for
 * the IP header, the legacy IC form, and TCP segmentation. */
START_TEST(tx_offloads)
{
    uint8_t f[4096], got[2048];
    size_t len;
    uint16_t ps;

    start();
    tx_start();
    /* UDP: the checksum field holds the pseudo-header sum (not inverted). */
    len = make_ipv4(f, 17, 333);
    ps = tapwire_csum(f + 14, 0, tapwire_pseudo(f + 14, 17, 8 + 333));
    f[40] = (uint8_t)(ps >> 8);
    f[41] = (uint8_t)ps;
    qtest_memwrite(s, TXBUF, f, len);
    /* Context: IP header 14..33 sum at 24; L4 from 34 to the end, sum at 40. */
    tx_queue(14 | 24u << 8 | 33u << 16 | (uint64_t)34 << 32 | (uint64_t)40 << 40,
             TXD_CMD_DEXT | TXD_DTYP_CTX | TXC_TUCMD_IP | TXD_CMD_RS, 0);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len,
             TXD_POPTS_TXSM | TXD_POPTS_IXSM);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_uint_eq(tapwire_csum(got + 14, 20, 0), 0xffff);
    ck_assert_uint_ne(got[40] | got[41], 0);
    ck_assert_uint_eq(tapwire_csum(got + 34, 8 + 333, tapwire_pseudo(got + 14, 17, 8 + 333)), 0xffff);
    ck_assert_mem_eq(got + 42, f + 42, 333);
    /* A UDP datagram whose checksum computes to 0 goes out with 0xffff (0
     * would mean "no checksum"): the first payload word makes the sum 0xffff. */
    f[42] = f[43] = 0;
    ps = (uint16_t)~tapwire_csum(f + 34, 8 + 333, 0);
    f[42] = (uint8_t)(ps >> 8);
    f[43] = (uint8_t)ps;
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len, TXD_POPTS_TXSM);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_uint_eq(got[40] << 8 | got[41], 0xffff);
    ck_assert_uint_eq(tapwire_csum(got + 34, 8 + 333, tapwire_pseudo(got + 14, 17, 8 + 333)), 0xffff);
    /* TCP through a legacy descriptor: IC, CSS 34, CSO 50. */
    len = make_ipv4(f, 6, 200);
    ps = tapwire_csum(f + 14, 0, tapwire_pseudo(f + 14, 6, 20 + 200));
    f[50] = (uint8_t)(ps >> 8);
    f[51] = (uint8_t)ps;
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS | TXD_CMD_IC | 50u << TXD_CSO_SHIFT | (uint32_t)len,
             34u << TXD_CSS_SHIFT);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_uint_eq(tapwire_csum(got + 34, 20 + 200, tapwire_pseudo(got + 14, 6, 20 + 200)), 0xffff);
    /* TSO: 2500 bytes at MSS 1000 -> 1000, 1000, 500, each a valid segment. */
    len = make_ipv4(f, 6, 2500);
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(14 | 24u << 8 | 33u << 16 | (uint64_t)34 << 32 | (uint64_t)50 << 40,
             TXD_CMD_DEXT | TXD_DTYP_CTX | TXC_TUCMD_IP | TXC_TUCMD_TCP | TXD_CMD_TSE | 2500,
             54u << TXC_HDRLEN_SHIFT | 1000u << TXC_MSS_SHIFT);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_TSE | TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len,
             TXD_POPTS_TXSM | TXD_POPTS_IXSM);
    tx_kick();
    for (unsigned i = 0; i < 3; i++) {
        size_t n = i < 2 ? 1000 : 500;
        uint32_t seq;

        ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)(54 + n));
        ck_assert_uint_eq(got[16] << 8 | got[17], 40 + n);
        ck_assert_uint_eq(tapwire_csum(got + 14, 20, 0), 0xffff);
        seq = (uint32_t)got[38] << 24 | (uint32_t)got[39] << 16 | (uint32_t)got[40] << 8 | got[41];
        ck_assert_uint_eq(seq, 0x10000000u + 1000 * i);
        ck_assert_uint_eq(tapwire_csum(got + 34, 20 + n, tapwire_pseudo(got + 14, 6, 20 + n)), 0xffff);
        ck_assert_mem_eq(got + 54, f + 54 + 1000 * i, n);
    }
    stop();
}
END_TEST

/* Frames from the tap land in the ring with their FCS (or without, with
 * SECRC); filtering as Linux programs RCTL, RA and the MTA. */
START_TEST(rx_frames_and_filter)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t mc_in[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };   /* hash 0x010 */
    static const uint8_t mc_out[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x02 };  /* hash 0x020 */
    static const uint8_t other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x09 };
    uint8_t f[1600], buf[1600];
    uint32_t crc;
    size_t len;

    start();
    rx_start(0);
    wr(E1K_MTA, 1u << 0x10);
    len = tapwire_frame(f, nic_mac, peer_mac, 1, 1000);
    host_send(f, len);
    ck_assert(wait_mem8(RXRING + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXRING + 12) & (RXD_STAT_DD | RXD_STAT_EOP), RXD_STAT_DD | RXD_STAT_EOP);
    ck_assert_uint_eq(qtest_readl(s, RXRING + 8) & 0xffff, len + 4);
    qtest_memread(s, RXBUF, buf, len + 4);
    ck_assert_mem_eq(buf, f, len);
    crc = tapwire_crc32(f, len);
    ck_assert_uint_eq(buf[len] | buf[len + 1] << 8 | buf[len + 2] << 16 | (uint32_t)buf[len + 3] << 24, crc);
    ck_assert_uint_eq(rd(E1K_RDH), 1);
    ck_assert(rd(E1K_ICR) & ICR_RXT0);
    /* Rejected: another unicast, an unhashed multicast. Taken: broadcast,
     * the hashed multicast, in that order. */
    host_send(f, tapwire_frame(f, other, peer_mac, 2, 100));
    host_send(f, tapwire_frame(f, mc_out, peer_mac, 3, 100));
    host_send(f, tapwire_frame(f, bcast, peer_mac, 4, 100));
    host_send(f, tapwire_frame(f, mc_in, peer_mac, 5, 100));
    ck_assert(wait_mem8(RXRING + 16 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert(wait_mem8(RXRING + 32 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 0x800 + 14), 4);
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 0x1000 + 14), 5);
    /* Short frames are padded to 60 (+ FCS); SECRC strips the FCS. */
    wr(E1K_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC | RCTL_UPE);
    host_send(f, tapwire_frame(f, other, peer_mac, 6, 42));    /* promiscuous now */
    ck_assert(wait_mem8(RXRING + 48 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readl(s, RXRING + 48 + 8) & 0xffff, 60);
    qtest_memread(s, RXBUF + 0x1800, buf, 60);
    ck_assert_mem_eq(buf, f, 42);
    ck_assert_uint_eq(rd(E1K_RDH), 4);
    /* Statistics counted the 4 frames taken, and clear when read. */
    ck_assert_uint_eq(rd(E1K_STATS + 0x74), 4);
    ck_assert_uint_eq(rd(E1K_STATS + 0x74), 0);
    stop();
}
END_TEST

/* RDT leaves 3 descriptors: 3 frames land, the others wait in order (the
 * descriptor after RDT and its buffer untouched) and arrive as the driver
 * hands descriptors back. */
START_TEST(rx_full_stalls_and_resumes)
{
    uint8_t f[6][400], buf[512];
    unsigned i;

    start();
    rx_start(0);
    wr(E1K_RDT, 3);
    qtest_memset(s, RXBUF + 0x800 * 3, 0x5a, 512);
    for (i = 0; i < 6; i++)
        host_send(f[i], tapwire_frame(f[i], nic_mac, peer_mac, i + 1, 400));
    ck_assert(wait_mem8(RXRING + 16 * 2 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert(wait_stat(0xa0));         /* the 4th met a full ring (RNBC) */
    ck_assert_uint_eq(rd(E1K_RDH), 3);
    ck_assert_uint_eq(qtest_readb(s, RXRING + 16 * 3 + 12), 0);
    qtest_memread(s, RXBUF + 0x800 * 3, buf, 512);
    for (i = 0; i < 512; i++)
        ck_assert_uint_eq(buf[i], 0x5a);
    for (i = 0; i < 3; i++) {
        qtest_memread(s, RXBUF + 0x800 * i, buf, 400);
        ck_assert_mem_eq(buf, f[i], 400);
    }
    /* The driver hands back everything: the held frames follow, in order. */
    for (i = 0; i < 3; i++)
        rx_desc_put(i, RXBUF + 0x800 * i);
    wr(E1K_RDT, 2);             /* descriptors 3..7, 0, 1 */
    ck_assert(wait_mem8(RXRING + 16 * 5 + 12, RXD_STAT_DD, RXD_STAT_DD));
    for (i = 3; i < 6; i++) {
        qtest_memread(s, RXBUF + 0x800 * i, buf, 400);
        ck_assert_mem_eq(buf, f[i], 400);
    }
    ck_assert_uint_eq(rd(E1K_RDH), 6);
    stop();
}
END_TEST

/* The next frame the NIC sent with the VLAN tag the host kernel took out
 * of it (packet auxdata); 0 tci if it had none. */
static ssize_t host_recv_tagged(uint8_t *buf, size_t cap, uint16_t *tci)
{
    for (;;) {
        struct pollfd p = { .fd = wire.fd, .events = POLLIN };
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; } ctl;
        struct iovec iov = { buf, cap };
        struct sockaddr_ll from;
        struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
        ssize_t r;

        if (poll(&p, 1, 5000) <= 0)
            return -1;
        r = recvmsg(wire.fd, &m, 0);
        if (r < 14 || from.sll_pkttype == PACKET_OUTGOING || memcmp(buf + 6, nic_mac, 6))
            continue;
        *tci = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            struct tpacket_auxdata aux;

            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
                continue;
            memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            if (aux.tp_status & TP_STATUS_VLAN_VALID)
                *tci = aux.tp_vlan_tci;
        }
        return r;
    }
}

/* CTRL.VME: the tag of a VLE descriptor goes on the wire; a tagged frame
 * arrives untagged with VP and its tag in special; RCTL.VFE filters tagged
 * frames by VFTA. */
START_TEST(vlan_insert_strip_filter)
{
    uint8_t f[1600], t[1600], got[2048], buf[1600];
    int one = 1;
    uint16_t tci;
    size_t len;

    start();
    ck_assert_int_eq(setsockopt(wire.fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)), 0);
    tx_start();
    rx_start(0);
    wr(E1K_CTRL, rd(E1K_CTRL) | CTRL_VME);
    len = tapwire_frame(f, peer_mac, nic_mac, 1, 300);
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS | TXD_CMD_VLE | (uint32_t)len, 0x0123u << TXD_SPECIAL_SHIFT);
    tx_kick();
    ck_assert_int_eq(host_recv_tagged(got, sizeof(got), &tci), (ssize_t)len);
    ck_assert_uint_eq(tci, 0x0123);
    ck_assert_mem_eq(got, f, len);
    /* A tagged frame (vid 0x45) comes in without its tag. */
    len = tapwire_frame(f, nic_mac, peer_mac, 2, 300);
    memcpy(t, f, 12);
    memcpy(t + 12, "\x81\x00\x00\x45", 4);
    memcpy(t + 16, f + 12, len - 12);
    host_send(t, len + 4);
    ck_assert(wait_mem8(RXRING + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXRING + 12) & RXD_STAT_VP, RXD_STAT_VP);
    ck_assert_uint_eq(qtest_readl(s, RXRING + 12) >> 16, 0x0045);
    ck_assert_uint_eq(qtest_readl(s, RXRING + 8) & 0xffff, len + 4);
    qtest_memread(s, RXBUF, buf, len);
    ck_assert_mem_eq(buf, f, len);
    /* VFE without vid 0x45 in the table: dropped; with it: taken. */
    wr(E1K_RCTL, RCTL_EN | RCTL_BAM | RCTL_VFE);
    t[14 + 4] = 3;
    host_send(t, len + 4);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 5, 300));    /* untagged: not filtered */
    ck_assert(wait_mem8(RXRING + 16 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 0x800 + 14), 5);
    wr(E1K_VFTA + 4 * (0x45 >> 5), 1u << (0x45 & 31));
    t[14 + 4] = 4;
    host_send(t, len + 4);
    ck_assert(wait_mem8(RXRING + 32 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 0x1000 + 14), 4);
    stop();
}
END_TEST

/* The DM keeps serving and refuses what a hostile driver hands over. */
START_TEST(hostile_descriptors)
{
    uint8_t f[1600], got[2048], big[2100];
    size_t len = tapwire_frame(f, peer_mac, nic_mac, 1, 200);

    start();
    tx_start();
    qtest_memwrite(s, TXBUF, f, len);
    /* A buffer outside RAM, a zero length, a 1 MiB length, an unknown
     * descriptor type: nothing sent, each still completed. */
    tx_queue(BEYOND, TXD_CMD_EOP | TXD_CMD_RS | 200, 0);
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS, 0);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_EOP | TXD_CMD_RS | TXD_LEN_EXT, 0);
    tx_queue(TXBUF, TXD_CMD_DEXT | 0x00f00000u | TXD_CMD_EOP | TXD_CMD_RS | 200, 0);
    /* TSO asked of a frame that is not TCP. */
    tx_queue(0, TXD_CMD_DEXT | TXD_DTYP_CTX | TXC_TUCMD_IP | TXC_TUCMD_TCP | TXD_CMD_TSE, 54u << 8 | 1000u << 16);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_TSE | TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len, 0);
    tx_kick();
    ck_assert_int_eq(host_recv_within(got, sizeof(got), 300), -1);
    ck_assert_uint_eq(rd(E1K_TDH), 6);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(qtest_readb(s, TXRING + 16 * i + 12) & TXD_STAT_DD, TXD_STAT_DD);
    /* Checksum offsets beyond the frame: refused. */
    tx_queue(200 | 210u << 8 | (uint64_t)220 << 32 | (uint64_t)230 << 40, TXD_CMD_DEXT | TXD_DTYP_CTX, 0);
    tx_queue(TXBUF, TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_EOP | TXD_CMD_RS | 100, TXD_POPTS_TXSM);
    tx_kick();
    ck_assert_int_eq(host_recv_within(got, sizeof(got), 300), -1);
    /* Heads and tails beyond the ring, a ring of 0: nothing walks. */
    wr(E1K_TDT, NTX + 5);
    wr(E1K_TDH, 0x8000);
    wr(E1K_TDT, 3);
    ck_assert_uint_eq(rd(E1K_TDH), 0x8000);
    wr(E1K_TDLEN, 0);
    wr(E1K_TDH, 0);
    wr(E1K_TDT, 5);
    ck_assert_uint_eq(rd(E1K_TDH), 0);
    /* A ring whose every descriptor (NTX - 1 handed over) lacks EOP waits;
     * a ring base outside RAM does nothing. */
    tx_start();
    for (unsigned i = 0; i < NTX - 1; i++)
        tx_queue(TXBUF, 100, 0);
    tx_kick();
    ck_assert_uint_eq(rd(E1K_TDH), 0);
    wr(E1K_TDBAL, BEYOND);
    wr(E1K_TDH, 0);
    wr(E1K_TDT, 1);
    ck_assert_uint_eq(rd(E1K_TDH), 0);
    /* Still serving: a good frame goes out on a fresh ring. */
    tx_start();
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len, 0);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_mem_eq(got, f, len);

    /* Receive: RDLEN 0, RDH beyond the ring -> dropped, not held. */
    rx_start(0);
    wr(E1K_RDLEN, 0);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 2, 100));
    ck_assert(wait_stat(0x10));
    wr(E1K_RDLEN, NRX * 16);
    wr(E1K_RDH, 100);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 3, 100));
    ck_assert(wait_stat(0x10));
    ck_assert_uint_eq(rd(E1K_RDH), 100);
    /* A buffer outside RAM: the descriptor comes back with an error. */
    wr(E1K_RDH, 0);
    rx_desc_put(0, BEYOND);
    wr(E1K_RDT, NRX - 1);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 4, 100));
    ck_assert(wait_mem8(RXRING + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXRING + 13), RXD_ERR_RXE);
    /* A frame too long for the whole ring (256-byte buffers, 8 descriptors)
     * is dropped rather than stalling the tap. */
    set_mtu(4000);
    wr(E1K_RCTL, RCTL_EN | RCTL_BAM | RCTL_LPE | 3u << RCTL_BSIZE_SHIFT);
    host_send(big, tapwire_frame(big, nic_mac, peer_mac, 5, 2100));
    ck_assert(wait_stat(0x10));
    /* And the next frame lands after it, in descriptor 1. */
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 6, 100));
    ck_assert(wait_mem8(RXRING + 16 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 0x800 + 14), 6);
    ck_assert_uint_eq(rd(E1K_RDH), 2);
    stop();
}
END_TEST

static void qmp_ok(struct qmpc *c, const char *cmd, json_t *args)
{
    json_t *ret = NULL;
    char err[256] = "";

    ck_assert_msg(qmpc_execute(c, cmd, args, -1, &ret, err, sizeof(err)) == 0, "%s: %s", cmd, err);
    json_decref(ret);
}

/* Save the device state, start a new DM from it on the same tap. */
static void save_and_restore(struct qmpc *c)
{
    char netdev[128], err[256] = "";
    const char *args[] = { "-device", "e1000,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                           "-netdev", netdev, NULL };
    struct qtest_opts o = { .args = args, .extra_fd = -1, .ram_mb = 64 };

    snprintf(netdev, sizeof(netdev), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", tap_name);
    tapwire_close(&wire);
    s = qtest_save_restart(s, c, &o, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    host_open();
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "cont", NULL);
    qmpc_close(c);
}

/* Registers, ring positions, filters and the TX context survive; the
 * network works at once without a reset (guest RAM is the toolstack's to
 * restore: the rings are rewritten here). */
START_TEST(save_restore)
{
    uint8_t f[1600], got[2048];
    struct qmpc *c;
    size_t len;

    start();
    rx_start(0);
    tx_start();
    wr(E1K_MTA + 8, 0x12345678);
    wr(E1K_RA + 8, 0x44332212);
    wr(E1K_RA + 12, RAH_AV | 0x6655);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 1, 300));
    ck_assert(wait_mem8(RXRING + 12, RXD_STAT_DD, RXD_STAT_DD));
    len = tapwire_frame(f, peer_mac, nic_mac, 2, 300);
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(14 | 24u << 8, TXD_CMD_DEXT | TXD_DTYP_CTX, 0);
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len, 0);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "stop", NULL);
    save_and_restore(c);

    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x10), MMIO);
    ck_assert_uint_eq(rd(E1K_RDH), 1);
    ck_assert_uint_eq(rd(E1K_RDT), NRX - 1);
    ck_assert_uint_eq(rd(E1K_RDLEN), NRX * 16);
    ck_assert_uint_eq(rd(E1K_TDH), 2);
    ck_assert_uint_eq(rd(E1K_RCTL), RCTL_EN | RCTL_BAM);
    ck_assert_uint_eq(rd(E1K_MTA + 8), 0x12345678);
    ck_assert_uint_eq(rd(E1K_RA + 12), RAH_AV | 0x6655);
    ck_assert_uint_eq(rd(E1K_IMS), ICR_RXT0 | ICR_TXDW | ICR_RXDMT0 | ICR_LSC | ICR_RXSEQ);
    for (unsigned i = 0; i < NRX; i++)
        rx_desc_put(i, RXBUF + 0x800 * i);
    /* The second receive address now matches too. */
    host_send(f, tapwire_frame(f, (const uint8_t *)"\x12\x22\x33\x44\x55\x66", peer_mac, 3, 300));
    ck_assert(wait_mem8(RXRING + 16 + 12, RXD_STAT_DD, RXD_STAT_DD));
    ck_assert_uint_eq(qtest_readb(s, RXRING + 12), 0);         /* descriptor 0 left alone */
    qtest_memset(s, TXRING, 0, NTX * 16);
    len = tapwire_frame(f, peer_mac, nic_mac, 4, 300);
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(TXBUF, TXD_CMD_EOP | TXD_CMD_RS | (uint32_t)len, 0);
    tx_kick();
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_mem_eq(got, f, len);
    stop();
}
END_TEST

/* The Xen platform device unplugs the emulated NICs: the e1000 disappears
 * from config space, stays gone after a restore, and sends nothing more. */
START_TEST(platform_unplug)
{
    uint8_t f[1600], got[2048];
    struct qmpc *c;
    size_t len;

    start();
    tx_start();
    qtest_outw(s, 0x10, 0x0002);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0xffffffff);
    len = tapwire_frame(f, peer_mac, nic_mac, 1, 100);
    qtest_memwrite(s, TXBUF, f, len);
    tx_queue(TXBUF, TXD_CMD_EOP | (uint32_t)len, 0);
    tx_kick();
    ck_assert_int_eq(host_recv_within(got, sizeof(got), 300), -1);
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "stop", NULL);
    save_and_restore(c);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x00), 0x00015853);
    stop();
}
END_TEST

/* Command-line order decides the slots, whatever the model: rtl8139 at
 * 00:03.0, e1000 at 00:04.0 (here by fd). */
START_TEST(slots_in_command_line_order)
{
    char netdev0[128], netdev1[64], name1[IFNAMSIZ];
    int fd;

    tap_make();
    snprintf(name1, sizeof(name1), "xsdme%d", (int)getpid() % 100000);
    fd = tun_open(name1);
    snprintf(netdev0, sizeof(netdev0), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", tap_name);
    snprintf(netdev1, sizeof(netdev1), "tap,id=net1,fd=%d", fd);
    {
        const char *args[] = { "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                               "-device", "e1000,id=nic1,netdev=net1,mac=00:16:3e:00:00:02",
                               "-netdev", netdev0, "-netdev", netdev1, NULL };
        struct qtest_opts o = { .args = args, .extra_fd = fd, .ram_mb = 64 };

        s = qtest_start(&o);
    }
    ck_assert_ptr_nonnull(s);
    close(fd);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 3, 0, 0x00), 0x813910ec);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 4, 0, 0x00), 0x100e8086);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 5, 0, 0x00), 0xffffffff);
    qtest_pci_cfg_writel(s, 4, 0, 0x10, MMIO);
    qtest_pci_cfg_writew(s, 4, 0, 0x04, 0x02);
    ck_assert_uint_eq(rd(E1K_RA + 4), RAH_AV | 0x0200);       /* the second -device's MAC */
    qtest_quit(s);
    s = NULL;
    tap_destroy();
}
END_TEST

int main(void)
{
    Suite *su = suite_create("e1000");
    TCase *tc = tcase_create("e1000");
    int rc;

    snprintf(tap_name, sizeof(tap_name), "xsdmk%d", (int)getpid() % 100000);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, identity_eeprom_link);
    tcase_add_test(tc, tx_frames);
    tcase_add_test(tc, tx_offloads);
    tcase_add_test(tc, rx_frames_and_filter);
    tcase_add_test(tc, rx_full_stalls_and_resumes);
    tcase_add_test(tc, vlan_insert_strip_filter);
    tcase_add_test(tc, hostile_descriptors);
    tcase_add_test(tc, save_restore);
    tcase_add_test(tc, platform_unplug);
    tcase_add_test(tc, slots_in_command_line_order);
    suite_add_tcase(su, tc);
    rc = ck_run_suite(su);
    tapwire_cleanup(tap_name);
    return rc;
}
