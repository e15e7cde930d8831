/* RTL8139C+ at 00:03.0 through the DM on a REAL tap of this machine: the
 * test is the guest's driver (legacy ring buffer + TX slots as 8139too
 * uses them, C+ descriptor rings as 8139cp does) and the host at once (an
 * AF_PACKET socket on the tap). Only this machine's taps are used: frames
 * carry a locally administered destination the host stack drops, IPv6 is
 * off on the tap, and nothing is routed anywhere.
 * Checked: identity and EEPROM, frames both ways in both modes with exact
 * length and content, filtering, offloads, a full RX ring stalling without
 * corruption and resuming in order, hostile descriptors refused, platform
 * unplug, the fd form of -netdev. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/devices/rtl8139.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/libqtest.h"
#include "tests/lib/qtest_restore.h"
#include "tests/lib/tapwire.h"
#include "toolstack/qmp-client.h"

#define IO        0xc200u          /* BAR0 as the test programs it */
#define MMIO      0xfebf0000u      /* BAR1 */
#define SLOT      3
#define IRQ       11
#define RXBUF     0x100000u        /* legacy ring (64 KiB + slack) */
#define TXBUF     0x200000u        /* legacy TX slot buffers, 2 KiB each */
#define TXRING    0x300000u        /* C+ rings and buffers */
#define RXRING    0x301000u
#define CPBUF     0x310000u        /* RX buffers, 2 KiB each */
#define CPTX      0x340000u        /* TX fragments */
#define BEYOND    0x7ff00000u      /* far outside the test's 64 MiB */
#define RXSZ      1536

static const uint8_t nic_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };   /* not the tap's: never routed */

static struct qtest *s;
static char ifname[IFNAMSIZ];
static struct tapwire wire = { .fd = -1 };   /* host side: AF_PACKET on the tap */

/* ---- host side (tests/lib/tapwire) -------------------------------------- */

static int tun_open(const char *name)
{
    int fd = tapwire_tun_open(name);

    ck_assert_msg(fd >= 0, "TUNSETIFF %s: %s", name, strerror(errno));
    return fd;
}

/* The runner's tap name, set in main() before the tests fork: a test that
 * fails half-way leaves the persistent tap to main()'s cleanup. */
static char tap_name[IFNAMSIZ];

/* A persistent tap for the DM to attach by name, as libxl asks. */
static void tap_make_persistent(void)
{
    snprintf(ifname, sizeof(ifname), "%s", tap_name);
    ck_assert_msg(tapwire_make(ifname) == 0, "%s: %s", ifname, strerror(errno));
}

static void tap_destroy_persistent(void) { ck_assert_int_eq(tapwire_destroy(ifname), 0); }
static void host_open(void) { ck_assert_int_eq(tapwire_open(&wire, ifname), 0); }

/* The next frame the NIC sent (source = the NIC), or -1 after 5 s. */
static ssize_t host_recv(uint8_t *buf, size_t cap) { return tapwire_recv_from(&wire, nic_mac, buf, cap, 5000); }
static void host_send(const uint8_t *f, size_t len) { ck_assert_int_eq(tapwire_send(&wire, f, len), 0); }

/* ---- guest side --------------------------------------------------------- */

static uint8_t r8(unsigned off) { return qtest_inb(s, (uint16_t)(IO + off)); }
static uint16_t r16(unsigned off) { return qtest_inw(s, (uint16_t)(IO + off)); }
static uint32_t r32(unsigned off) { return qtest_inl(s, (uint16_t)(IO + off)); }
static void w8(unsigned off, uint8_t v) { qtest_outb(s, (uint16_t)(IO + off), v); }
static void w16(unsigned off, uint16_t v) { qtest_outw(s, (uint16_t)(IO + off), v); }
static void w32(unsigned off, uint32_t v) { qtest_outl(s, (uint16_t)(IO + off), v); }

static struct qtest *start_with(const char *netdev)
{
    const char *args[] = { "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                           "-netdev", netdev, NULL };
    struct qtest_opts o = { .args = args, .extra_fd = -1, .ram_mb = 64 };

    return qtest_start(&o);
}

static void qmp_ok(struct qmpc *c, const char *cmd, json_t *args, int fd)
{
    json_t *ret = NULL;
    char err[256] = "";

    ck_assert_msg(qmpc_execute(c, cmd, args, fd, &ret, err, sizeof(err)) == 0, "%s: %s", cmd, err);
    json_decref(ret);
}

/* libxl's argv for vif=['bridge=xenbr0'] on our tap, then what a driver's
 * probe does: BAR0, decoding + bus master, the IRQ routed to ISA 11. */
static void start(void)
{
    char netdev[128];

    tap_make_persistent();
    snprintf(netdev, sizeof(netdev), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", ifname);
    s = start_with(netdev);
    ck_assert_ptr_nonnull(s);
    host_open();
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, IO);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x14, MMIO);
    qtest_pci_cfg_writew(s, SLOT, 0, 0x04, 0x07);
    qtest_pci_cfg_writeb(s, 1, 0, 0x63, IRQ);     /* link (3 + INTA) & 3 */
    qtest_irq_intercept_in(s, "ioapic");
    w8(REG_CR, CR_RST);
    ck_assert_uint_eq(r8(REG_CR) & CR_RST, 0);
}

static void stop(void)
{
    qtest_quit(s);
    s = NULL;
    tapwire_close(&wire);
    tap_destroy_persistent();
}

/* Bounded wait for ISR bits (the DM reads the tap between our exchanges). */
static bool wait_isr(uint16_t bits)
{
    for (int i = 0; i < 5000; i++) {
        if (r16(REG_ISR) & bits)
            return true;
        usleep(1000);
    }
    return false;
}

static bool wait_mem32(uint64_t addr, uint32_t mask, uint32_t want)
{
    for (int i = 0; i < 5000; i++) {
        if ((qtest_readl(s, addr) & mask) == want)
            return true;
        usleep(1000);
    }
    return false;
}

/* Linux's read_eeprom(): 93C46 bit-banged through 9346CR. */
static uint16_t eeprom_read(unsigned loc, unsigned addr_len)
{
    unsigned cmd = loc | (6u << addr_len);
    uint16_t v = 0;
    int i;

    w8(REG_9346CR, EE_MODE_PROGRAM);
    w8(REG_9346CR, EE_MODE_PROGRAM | EE_CS);
    for (i = 4 + (int)addr_len; i >= 0; i--) {
        uint8_t d = (cmd & (1u << i)) ? EE_DI : 0;

        w8(REG_9346CR, EE_MODE_PROGRAM | EE_CS | d);
        w8(REG_9346CR, EE_MODE_PROGRAM | EE_CS | d | EE_SK);
    }
    w8(REG_9346CR, EE_MODE_PROGRAM | EE_CS);
    for (i = 16; i > 0; i--) {
        w8(REG_9346CR, EE_MODE_PROGRAM | EE_CS | EE_SK);
        v = (uint16_t)(v << 1 | (r8(REG_9346CR) & EE_DO));
        w8(REG_9346CR, EE_MODE_PROGRAM | EE_CS);
    }
    w8(REG_9346CR, 0);
    return v;
}

static void desc_put(uint64_t ring, unsigned i, uint32_t opts1, uint32_t opts2, uint64_t addr)
{
    uint8_t d[16];

    for (int k = 0; k < 4; k++) {
        d[k] = (uint8_t)(opts1 >> (8 * k));
        d[4 + k] = (uint8_t)(opts2 >> (8 * k));
    }
    for (int k = 0; k < 8; k++)
        d[8 + k] = (uint8_t)(addr >> (8 * k));
    qtest_memwrite(s, ring + 16 * i, d, 16);
}

static uint32_t desc_opts1(uint64_t ring, unsigned i) { return qtest_readl(s, ring + 16 * i); }

/* 8139cp's start: C+ command, ring addresses, then RE|TE. */
static void cplus_start(unsigned rx_descs)
{
    for (unsigned i = 0; i < rx_descs; i++)
        desc_put(RXRING, i, DESC_OWN | (i == rx_descs - 1 ? DESC_EOR : 0) | RXSZ, 0, CPBUF + 0x800 * i);
    w16(REG_CPCR, CPCR_TXON | CPCR_RXON | CPCR_RXCSUM);
    w32(REG_RDSAR, RXRING);
    w32(REG_RDSAR + 4, 0);
    w32(REG_TSAD0, TXRING);
    w32(REG_TSAD0 + 4, 0);
    w8(REG_CR, CR_RE | CR_TE);
    w32(REG_RCR, RCR_AB | RCR_APM | RCR_AM);
    w16(REG_IMR, INT_ROK | INT_TOK | INT_RER | INT_TER | INT_RXOVW);
}

/* 8139too's start: ring buffer, RE|TE, 8 KiB ring. */
static void legacy_start(uint32_t rcr_extra)
{
    w8(REG_CR, CR_RE | CR_TE);
    w32(REG_RCR, RCR_AB | RCR_APM | RCR_AM | rcr_extra);
    w32(REG_RBSTART, RXBUF);
    w16(REG_IMR, INT_ROK | INT_TOK | INT_RER | INT_TER);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(identity_eeprom_link)
{
    start();
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0x813910ec);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, SLOT, 0, 0x08), 0x20);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x08) >> 8, 0x020000);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x2c), 0x11001af4);
    ck_assert_uint_eq(qtest_pci_cfg_readb(s, SLOT, 0, 0x3d), 1);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 4, 0, 0x00), 0xffffffff);    /* nothing after it */
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x10), 0xffffff01);  /* 256 bytes of I/O */
    qtest_pci_cfg_writel(s, SLOT, 0, 0x14, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x14), 0xffffff00);  /* 256 bytes of MMIO */
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, IO);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x14, MMIO);
    /* an expansion ROM BAR of qemu-xen's size (its efi-rtl8139.rom, 256 KiB:
     * the firmware then places every BAR as under qemu-xen), empty: no
     * 0x55AA signature for the firmware to run */
    qtest_pci_cfg_writel(s, SLOT, 0, 0x30, 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x30), 0xfffc0001);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x30, 0xe0000000 | 1);
    ck_assert_uint_eq(qtest_readl(s, 0xe0000000), 0);
    qtest_pci_cfg_writel(s, SLOT, 0, 0x30, 0);
    /* EEPROM as 8139too/8139cp read it: the 8-bit probe fails, 6 bits work. */
    ck_assert_uint_ne(eeprom_read(0, 8), 0x8129);
    ck_assert_uint_eq(eeprom_read(0, 6), 0x8129);
    ck_assert_uint_eq(eeprom_read(7, 6), 0x1600);
    ck_assert_uint_eq(eeprom_read(8, 6), 0x003e);
    ck_assert_uint_eq(eeprom_read(9, 6), 0x0100);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(r8(REG_IDR0 + i), nic_mac[i]);
    ck_assert_uint_eq(qtest_readl(s, MMIO + REG_IDR0), 0x003e1600);        /* same registers on BAR1 */
    ck_assert_uint_eq(r16(REG_BMSR) & 0x0024, 0x0024);                     /* link up, autoneg done */
    ck_assert_uint_eq(r8(REG_MSR) & 0x0c, 0);                              /* link ok, 100 Mb/s */
    ck_assert_uint_eq(r32(REG_TCR) & 0x7cc00000, TCR_HWVERID);
    ck_assert_uint_eq(r8(REG_CR), CR_BUFE);
    /* ISR is write-1-to-clear and drives INTx (ISA 11 through PIRQD). */
    w16(REG_IMR, INT_SWINT);
    ck_assert(!qtest_get_irq(s, IRQ));
    w8(REG_TPPOLL, TPPOLL_FSWINT);
    ck_assert_uint_eq(r16(REG_ISR), INT_SWINT);
    ck_assert(qtest_get_irq(s, IRQ));
    w16(REG_ISR, INT_SWINT);
    ck_assert_uint_eq(r16(REG_ISR), 0);
    ck_assert(!qtest_get_irq(s, IRQ));
    stop();
}
END_TEST

START_TEST(legacy_tx_slots)
{
    uint8_t f[1600], got[2048];

    start();
    legacy_start(0);
    /* Six frames through the four slots in ring order (wrapping to slot 0). */
    for (unsigned i = 0; i < 6; i++) {
        unsigned slot = i % 4;
        size_t len = tapwire_frame(f, peer_mac, nic_mac, i + 1, 100 + 200 * i);

        qtest_memwrite(s, TXBUF + 0x800 * slot, f, len);
        w32(REG_TSAD0 + 4 * slot, TXBUF + 0x800 * slot);
        w32(REG_TSD0 + 4 * slot, (uint32_t)len);
        ck_assert_uint_eq(r32(REG_TSD0 + 4 * slot) & (TSD_OWN | TSD_TOK | TSD_TABT), TSD_OWN | TSD_TOK);
        ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
        ck_assert_mem_eq(got, f, len);
        ck_assert_uint_eq(r16(REG_ISR) & INT_TOK, INT_TOK);
        ck_assert(qtest_get_irq(s, IRQ));
        w16(REG_ISR, INT_TOK);
        ck_assert(!qtest_get_irq(s, IRQ));
    }
    /* A short frame is padded to 60 bytes on the wire. */
    tapwire_frame(f, peer_mac, nic_mac, 9, 42);
    qtest_memwrite(s, TXBUF + 0x1000, f, 42);
    w32(REG_TSAD0 + 8, TXBUF + 0x1000);
    w32(REG_TSD0 + 8, 42);
    ck_assert_int_eq(host_recv(got, sizeof(got)), 60);
    ck_assert_mem_eq(got, f, 42);
    stop();
}
END_TEST

/* Check the legacy record at ring offset off: returns the next offset. */
static uint32_t check_record(uint32_t off, const uint8_t *f, size_t len, uint16_t status, uint32_t size,
                             bool nowrap)
{
    uint8_t rec[2048];
    uint32_t hdr, total = (uint32_t)len + 8;

    if (nowrap || off + total <= size) {
        qtest_memread(s, RXBUF + off, rec, total);
    } else {
        qtest_memread(s, RXBUF + off, rec, size - off);
        qtest_memread(s, RXBUF, rec + (size - off), total - (size - off));
    }
    hdr = (uint32_t)rec[0] | rec[1] << 8 | (uint32_t)rec[2] << 16 | (uint32_t)rec[3] << 24;
    ck_assert_uint_eq(hdr & 0xffff, status | RXS_ROK);
    ck_assert_uint_eq(hdr >> 16, len + 4);
    ck_assert_mem_eq(rec + 4, f, len);
    ck_assert_uint_eq((uint32_t)rec[4 + len] | rec[5 + len] << 8 | (uint32_t)rec[6 + len] << 16 |
                      (uint32_t)rec[7 + len] << 24, tapwire_crc32(f, len));
    return (off + total + 3) & ~3u & (size - 1);
}

START_TEST(legacy_rx_ring_and_filter)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t other[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x99 };
    static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    uint8_t f[1600], g[1600];
    uint32_t off = 0;
    size_t len;
    unsigned h;

    start();
    legacy_start(0);                        /* 8 KiB, records wrap at the end */
    /* Not for us, then for us: only the second arrives. */
    tapwire_frame(f, other, peer_mac, 1, 100);
    host_send(f, 100);
    len = tapwire_frame(f, nic_mac, peer_mac, 2, 300);
    host_send(f, len);
    ck_assert(wait_isr(INT_ROK));
    ck_assert(qtest_get_irq(s, IRQ));
    ck_assert_uint_eq(r8(REG_CR) & CR_BUFE, 0);
    off = check_record(off, f, len, RXS_PAM, 8192, false);
    ck_assert_uint_eq(r16(REG_CBR), off);
    w16(REG_CAPR, (uint16_t)(off - 16));
    ck_assert_uint_eq(r8(REG_CR) & CR_BUFE, CR_BUFE);
    w16(REG_ISR, INT_ROK);
    /* A runt is padded to 60; broadcast is marked. */
    tapwire_frame(g, bcast, peer_mac, 3, 42);
    host_send(g, 42);
    ck_assert(wait_isr(INT_ROK));
    memset(g + 42, 0, 18);
    off = check_record(off, g, 60, RXS_BAR, 8192, false);
    w16(REG_CAPR, (uint16_t)(off - 16));
    w16(REG_ISR, INT_ROK);
    /* Multicast passes only with its hash bit set in MAR. */
    h = 0;
    {
        uint32_t crc = 0xffffffffu;

        for (int i = 0; i < 6; i++)
            for (int k = 0, b = mcast[i]; k < 8; k++, b >>= 1)
                crc = ((crc >> 31) ^ (b & 1)) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
        h = crc >> 26;
    }
    tapwire_frame(g, mcast, peer_mac, 4, 80);
    host_send(g, 80);                       /* dropped: MAR all zero */
    /* A frame for us behind it: once it is in the ring, the DM has taken
     * (and dropped) frame 4 from the tap, before MAR changes. */
    len = tapwire_frame(f, nic_mac, peer_mac, 40, 100);
    host_send(f, len);
    ck_assert(wait_isr(INT_ROK));
    off = check_record(off, f, len, RXS_PAM, 8192, false);
    w16(REG_CAPR, (uint16_t)(off - 16));
    w16(REG_ISR, INT_ROK);
    w8(REG_MAR0 + h / 8, (uint8_t)(1u << (h % 8)));
    tapwire_frame(g, mcast, peer_mac, 5, 80);
    host_send(g, 80);
    ck_assert(wait_isr(INT_ROK));
    off = check_record(off, g, 80, RXS_MAR, 8192, false);
    w16(REG_CAPR, (uint16_t)(off - 16));
    w16(REG_ISR, INT_ROK);
    /* Records that reach the end of the 8 KiB ring continue at its start. */
    for (unsigned i = 0; i < 12; i++) {
        len = tapwire_frame(f, nic_mac, peer_mac, 10 + i, 1000);
        host_send(f, len);
        ck_assert(wait_isr(INT_ROK));
        w16(REG_ISR, INT_ROK);
        off = check_record(off, f, len, RXS_PAM, 8192, false);
        ck_assert_uint_eq(r16(REG_CBR), off);
        w16(REG_CAPR, (uint16_t)(off - 16));
    }
    stop();
}
END_TEST

/* The legacy ring fills: the NIC stops taking frames (none lost, none
 * overwritten), and resumes as the driver frees space with CAPR. */
START_TEST(legacy_rx_full_stalls_and_resumes)
{
    uint8_t f[12][1100];
    uint32_t off = 0, rd = 0;
    int i, spins;

    start();
    legacy_start(RCR_WRAP);                 /* 8 KiB, records may run past the end */
    qtest_memset(s, RXBUF + 8192 + 1600, 0xa5, 256);    /* beyond the slack: must stay */
    for (i = 0; i < 12; i++)
        host_send(f[i], tapwire_frame(f[i], nic_mac, peer_mac, (unsigned)i + 1, 1000));
    /* 1008 bytes a record: 8 fit in 8192 (a 9th would fill it to the byte). */
    for (spins = 0; spins < 5000 && r16(REG_CBR) != 8 * 1008; spins++)
        usleep(1000);
    ck_assert_uint_eq(r16(REG_CBR), 8 * 1008);
    for (i = 0; i < 8; i++)
        off = check_record(off, f[i], 1000, RXS_PAM, 8192, true);
    for (spins = 0; spins < 50; spins++)        /* stays stalled while nothing is freed */
        ck_assert_uint_eq(r16(REG_CBR), 8 * 1008);
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 8192 + 1600), 0xa5);
    /* Free four records: the held frame and three more arrive, in order. */
    rd = 4 * 1008;
    w16(REG_CAPR, (uint16_t)(rd - 16));
    for (spins = 0; spins < 5000 && r16(REG_CBR) != ((12 * 1008) & 8191); spins++)
        usleep(1000);
    ck_assert_uint_eq(r16(REG_CBR), (12 * 1008) & 8191);
    for (i = 8; i < 12; i++)
        off = check_record(off, f[i], 1000, RXS_PAM, 8192, true);
    ck_assert_uint_eq(qtest_readb(s, RXBUF + 8192 + 1600), 0xa5);
    stop();
}
END_TEST

START_TEST(cplus_tx_rx)
{
    uint8_t f[1600], got[2048];
    size_t len;

    start();
    cplus_start(4);
    /* One frame in two fragments, then one whole: both sent, in order. */
    len = tapwire_frame(f, peer_mac, nic_mac, 1, 700);
    qtest_memwrite(s, CPTX, f, 300);
    qtest_memwrite(s, CPTX + 0x1000, f + 300, len - 300);
    desc_put(TXRING, 1, DESC_OWN | DESC_LS | (uint32_t)(len - 300), 0, CPTX + 0x1000);
    desc_put(TXRING, 0, DESC_OWN | DESC_FS | 300, 0, CPTX);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_mem_eq(got, f, len);
    ck_assert_uint_eq(desc_opts1(TXRING, 0) & (DESC_OWN | TXD_ERR), 0);
    ck_assert_uint_eq(desc_opts1(TXRING, 1) & (DESC_OWN | TXD_ERR), 0);
    ck_assert_uint_eq(r16(REG_ISR) & (INT_TOK | INT_TER), INT_TOK);
    w16(REG_ISR, 0xffff);
    /* Receive: length + 4, FS|LS, PAM, content and FCS, descriptor handed back. */
    for (unsigned i = 0; i < 6; i++) {
        unsigned d = i % 4;
        uint8_t buf[1600];

        len = tapwire_frame(f, nic_mac, peer_mac, 20 + i, 64 + 100 * i);
        host_send(f, len);
        ck_assert(wait_mem32(RXRING + 16 * d, DESC_OWN, 0));
        ck_assert_uint_eq(desc_opts1(RXRING, d), (d == 3 ? DESC_EOR : 0) | DESC_FS | DESC_LS | RXD_PAM |
                          (uint32_t)(len + 4));
        qtest_memread(s, CPBUF + 0x800 * d, buf, len + 4);
        ck_assert_mem_eq(buf, f, len);
        ck_assert_uint_eq(buf[len] | buf[len + 1] << 8 | (uint32_t)buf[len + 2] << 16 |
                          (uint32_t)buf[len + 3] << 24, tapwire_crc32(f, len));
        ck_assert_uint_eq(r16(REG_ISR) & INT_ROK, INT_ROK);
        w16(REG_ISR, INT_ROK);
        desc_put(RXRING, d, DESC_OWN | (d == 3 ? DESC_EOR : 0) | RXSZ, 0, CPBUF + 0x800 * d);
    }
    stop();
}
END_TEST

/* IPv4 + TCP (proto 6) or UDP (17) from the NIC, payload bytes of pattern, checksums 0. */
static size_t make_ipv4(uint8_t *f, uint8_t proto, size_t payload)
{
    size_t len = tapwire_ipv4(f, peer_mac, nic_mac, proto, payload);

    for (size_t i = 0; i < payload; i++)
        f[len - payload + i] = (uint8_t)(i * 3);
    return len;
}

START_TEST(cplus_offloads)
{
    uint8_t f[1600], got[2048];
    size_t len;

    start();
    cplus_start(4);
    /* IP + UDP checksums filled in. */
    len = make_ipv4(f, 17, 333);
    qtest_memwrite(s, CPTX, f, len);
    desc_put(TXRING, 0, DESC_OWN | DESC_FS | DESC_LS | TXD_IPCS | TXD_UDPCS | (uint32_t)len, 0, CPTX);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_uint_eq(tapwire_csum(got + 14, 20, 0), 0xffff);
    ck_assert_uint_ne(got[40] | got[41], 0);
    ck_assert_uint_eq(tapwire_csum(got + 34, 8 + 333, tapwire_pseudo(got + 14, 17, 8 + 333)), 0xffff);
    /* Large send: 250 bytes at MSS 100 -> 100, 100, 50, each a valid segment. */
    len = make_ipv4(f, 6, 250);
    qtest_memwrite(s, CPTX, f, len);
    desc_put(TXRING, 1, DESC_OWN | DESC_FS | DESC_LS | TXD_LGSEN | 100u << TXD_MSS_SHIFT | (uint32_t)len, 0,
             CPTX);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    for (unsigned i = 0; i < 3; i++) {
        size_t n = i < 2 ? 100 : 50;
        uint32_t seq;

        ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)(14 + 40 + n));
        ck_assert_uint_eq(got[16] << 8 | got[17], 40 + n);
        ck_assert_uint_eq(got[18] << 8 | got[19], 0x1234 + i);
        ck_assert_uint_eq(tapwire_csum(got + 14, 20, 0), 0xffff);
        seq = (uint32_t)got[38] << 24 | (uint32_t)got[39] << 16 | (uint32_t)got[40] << 8 | got[41];
        ck_assert_uint_eq(seq, 0x10000000u + 100 * i);
        ck_assert_uint_eq(got[47] & 0x09, i == 2 ? 0x09 : 0);      /* PSH/FIN on the last only */
        ck_assert_uint_eq(tapwire_csum(got + 34, 20 + n, tapwire_pseudo(got + 14, 6, 20 + n)), 0xffff);
        ck_assert_mem_eq(got + 54, f + 54 + 100 * i, n);
    }
    ck_assert_uint_eq(desc_opts1(TXRING, 1) & (DESC_OWN | TXD_ERR), 0);
    stop();
}
END_TEST

/* A two-descriptor ring fills: the NIC reports "descriptor unavailable",
 * holds the next frame, overwrites nothing, and delivers the rest in order
 * as the driver re-arms descriptors. */
START_TEST(cplus_rx_full_stalls_and_resumes)
{
    uint8_t f[5][400], buf[512];
    int i;

    start();
    cplus_start(2);
    qtest_memset(s, RXRING + 32, 0x5a, 32);             /* where a 3rd descriptor would be */
    qtest_memset(s, CPBUF + 0x1000, 0x5a, 512);
    for (i = 0; i < 5; i++)
        host_send(f[i], tapwire_frame(f[i], nic_mac, peer_mac, (unsigned)i + 1, 400));
    for (int round = 0; round < 3; round++) {
        int n = round < 2 ? 2 : 1;

        for (i = 0; i < n; i++) {
            ck_assert(wait_mem32(RXRING + 16 * i, DESC_OWN, 0));
            qtest_memread(s, CPBUF + 0x800 * i, buf, 400);
            ck_assert_mem_eq(buf, f[round * 2 + i], 400);
        }
        if (round < 2) {
            ck_assert(wait_isr(INT_RXOVW));
            ck_assert_uint_eq(qtest_readl(s, RXRING + 32), 0x5a5a5a5a);
            ck_assert_uint_eq(qtest_readb(s, CPBUF + 0x1000), 0x5a);
            /* Still held: the re-armed first descriptor is filled only on
             * the driver's next register write. */
            desc_put(RXRING, 0, DESC_OWN | RXSZ, 0, CPBUF);
            desc_put(RXRING, 1, DESC_OWN | DESC_EOR | RXSZ, 0, CPBUF + 0x800);
            w16(REG_ISR, 0xffff);
        }
    }
    ck_assert_uint_eq(desc_opts1(RXRING, 1) & DESC_OWN, DESC_OWN);    /* nothing more came */
    stop();
}
END_TEST

START_TEST(hostile_descriptors)
{
    uint8_t f[1600], got[2048];
    size_t len;

    start();
    cplus_start(2);
    len = tapwire_frame(f, peer_mac, nic_mac, 1, 200);
    qtest_memwrite(s, CPTX, f, len);
    /* Buffer outside RAM; zero length; huge length: each refused with TxErr. */
    desc_put(TXRING, 0, DESC_OWN | DESC_FS | DESC_LS | 200, 0, BEYOND);
    desc_put(TXRING, 1, DESC_OWN | DESC_FS | DESC_LS | 0, 0, CPTX);
    desc_put(TXRING, 2, DESC_OWN | DESC_FS | DESC_LS | 0xffff, 0, CPTX);
    desc_put(TXRING, 3, DESC_OWN | DESC_FS | DESC_LS | 200, 0, (uint64_t)1 << 40);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(desc_opts1(TXRING, i) & (DESC_OWN | TXD_ERR), TXD_ERR);
    ck_assert_uint_eq(r16(REG_ISR) & INT_TER, INT_TER);
    w16(REG_ISR, 0xffff);
    /* A ring that wraps onto itself with no last fragment: refused once. */
    w8(REG_CR, 0);
    w8(REG_CR, CR_RE | CR_TE);
    desc_put(TXRING, 0, DESC_OWN | DESC_EOR | DESC_FS | 1000, 0, CPTX);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_uint_eq(desc_opts1(TXRING, 0) & (DESC_OWN | TXD_ERR), TXD_ERR);
    ck_assert_uint_eq(r16(REG_ISR) & INT_TER, INT_TER);
    w16(REG_ISR, 0xffff);
    /* Large send with an MSS below the minimum, and on a non-TCP frame. */
    desc_put(TXRING, 0, DESC_OWN | DESC_EOR | DESC_FS | DESC_LS | TXD_LGSEN | 8u << TXD_MSS_SHIFT | 200, 0,
             CPTX);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_uint_eq(desc_opts1(TXRING, 0) & (DESC_OWN | TXD_ERR), TXD_ERR);
    desc_put(TXRING, 0, DESC_OWN | DESC_EOR | DESC_FS | DESC_LS | TXD_LGSEN | 100u << TXD_MSS_SHIFT | 200, 0,
             CPTX);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_uint_eq(desc_opts1(TXRING, 0) & (DESC_OWN | TXD_ERR), TXD_ERR);
    /* The ring itself outside RAM. */
    w32(REG_TSAD0, BEYOND);
    w16(REG_ISR, 0xffff);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_uint_eq(r16(REG_ISR) & INT_TER, INT_TER);
    /* Receive: a buffer too small, then one outside RAM: dropped (RER),
     * descriptors left to the NIC; then a good one works. */
    w16(REG_ISR, 0xffff);
    desc_put(RXRING, 0, DESC_OWN | 100, 0, CPBUF);
    desc_put(RXRING, 1, DESC_OWN | DESC_EOR | RXSZ, 0, BEYOND);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 2, 200));
    ck_assert(wait_isr(INT_RER));
    ck_assert_uint_eq(desc_opts1(RXRING, 0), DESC_OWN | 100);
    w16(REG_ISR, 0xffff);
    desc_put(RXRING, 0, DESC_OWN | RXSZ, 0, CPBUF);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 3, 200));
    ck_assert(wait_mem32(RXRING, DESC_OWN, 0));
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 4, 200));
    ck_assert(wait_isr(INT_RER));
    ck_assert_uint_eq(desc_opts1(RXRING, 1), DESC_OWN | DESC_EOR | RXSZ);
    /* Legacy: zero, oversized, and outside-RAM slots abort; then one works. */
    w16(REG_CPCR, 0);
    w8(REG_CR, 0);
    legacy_start(0);
    w16(REG_ISR, 0xffff);
    w32(REG_TSAD0, TXBUF);
    w32(REG_TSD0, 0);
    ck_assert_uint_eq(r32(REG_TSD0) & (TSD_OWN | TSD_TABT | TSD_TOK), TSD_OWN | TSD_TABT);
    w32(REG_TSAD0 + 4, TXBUF);
    w32(REG_TSD0 + 4, TSD_SIZE);
    ck_assert_uint_eq(r32(REG_TSD0 + 4) & (TSD_OWN | TSD_TABT | TSD_TOK), TSD_OWN | TSD_TABT);
    w32(REG_TSAD0 + 8, BEYOND);
    w32(REG_TSD0 + 8, 200);
    ck_assert_uint_eq(r32(REG_TSD0 + 8) & (TSD_OWN | TSD_TABT | TSD_TOK), TSD_OWN | TSD_TABT);
    ck_assert_uint_eq(r16(REG_ISR) & INT_TER, INT_TER);
    len = tapwire_frame(f, peer_mac, nic_mac, 5, 200);
    qtest_memwrite(s, TXBUF, f, len);
    w32(REG_TSAD0 + 12, TXBUF);
    w32(REG_TSD0 + 12, (uint32_t)len);
    ck_assert_uint_eq(r32(REG_TSD0 + 12) & (TSD_OWN | TSD_TABT | TSD_TOK), TSD_OWN | TSD_TOK);
    ck_assert_int_eq(host_recv(got, sizeof(got)), (ssize_t)len);
    ck_assert_mem_eq(got, f, len);
    /* A receive ring buffer outside RAM: dropped with RER. */
    w32(REG_RBSTART, BEYOND);
    w16(REG_ISR, 0xffff);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 6, 200));
    ck_assert(wait_isr(INT_RER));
    ck_assert_uint_eq(r16(REG_ISR) & INT_ROK, 0);
    /* Odd widths and offsets everywhere: no crash, still serving. */
    for (unsigned off = 0; off < RTL8139_REGS; off++) {
        (void)r8(off);
        if (off != REG_CR && off != REG_TPPOLL && off != REG_9346CR)
            w8(off, 0);
    }
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0x813910ec);
    stop();
}
END_TEST

START_TEST(platform_unplug)
{
    uint8_t f[200];

    start();
    cplus_start(2);
    w16(REG_IMR, 0xffff);
    w8(REG_TPPOLL, TPPOLL_FSWINT);
    ck_assert(qtest_get_irq(s, IRQ));
    qtest_outw(s, 0x10, 0x0002);                       /* the PV drivers unplug the NICs */
    ck_assert(!qtest_get_irq(s, IRQ));
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0xffffffff);
    ck_assert_uint_eq(r8(REG_IDR0), 0xff);
    /* The tap is closed: frames to it go nowhere, the ring stays untouched. */
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 1, 200));
    ck_assert_uint_eq(qtest_inw(s, 0x10), 0x49d2);     /* a round trip after the send */
    ck_assert_uint_eq(qtest_readl(s, RXRING), DESC_OWN | RXSZ);
    stop();
}
END_TEST

/* -netdev tap,fd=N: a tap the toolstack opened; anything else is refused. */
START_TEST(tap_by_fd)
{
    char netdev[64], log[] = "/tmp/xsdm-rtl8139-XXXXXX", buf[4096];
    uint8_t f[300], got[2048];
    int fd, lfd;
    ssize_t n;

    snprintf(ifname, sizeof(ifname), "xsdmf%d", (int)getpid() % 100000);
    fd = tun_open(ifname);
    ck_assert_int_eq(tapwire_no_ipv6(ifname), 0);
    ck_assert_int_eq(tapwire_set_up(ifname), 0);
    snprintf(netdev, sizeof(netdev), "tap,id=net0,fd=%d", fd);
    {
        const char *args[] = { "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                               "-netdev", netdev, NULL };
        struct qtest_opts o = { .args = args, .extra_fd = fd, .ram_mb = 64 };

        s = qtest_start(&o);
    }
    ck_assert_ptr_nonnull(s);
    close(fd);                              /* the DM holds the only copy now */
    host_open();
    qtest_pci_cfg_writel(s, SLOT, 0, 0x10, IO);
    qtest_pci_cfg_writew(s, SLOT, 0, 0x04, 0x07);
    legacy_start(0);
    tapwire_frame(f, peer_mac, nic_mac, 1, 300);
    qtest_memwrite(s, TXBUF, f, 300);
    w32(REG_TSAD0, TXBUF);
    w32(REG_TSD0, 300);
    ck_assert_int_eq(host_recv(got, sizeof(got)), 300);
    ck_assert_mem_eq(got, f, 300);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 2, 300));
    ck_assert(wait_isr(INT_ROK));
    check_record(0, f, 300, RXS_PAM, 8192, false);
    qtest_quit(s);
    s = NULL;
    tapwire_close(&wire);
    ck_assert_uint_eq(if_nametoindex(ifname), 0);     /* its last fd closed: gone */

    /* A file is not a tap: the DM refuses to start and says why. */
    lfd = mkstemp(log);
    ck_assert_int_ge(lfd, 0);
    fd = open("/dev/null", O_RDWR);
    snprintf(netdev, sizeof(netdev), "tap,id=net0,fd=%d", fd);
    {
        const char *args[] = { "-device", "rtl8139,netdev=net0", "-netdev", netdev, NULL };
        struct qtest_opts o = { .args = args, .extra_fd = fd, .log_path = log };
        struct qtest *bad = qtest_start(&o);

        if (bad) {
            ck_assert_int_ne(qtest_wait_exit(bad, 10000), 0);
            qtest_quit(bad);
        }
    }
    close(fd);
    n = pread(lfd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(lfd);
    unlink(log);
    ck_assert_msg(strstr(buf, "is not a tap device") != NULL, "log: %s", buf);
}
END_TEST

/* Save the stopped DM through QMP (add-fd + xen-save-devices-state), end
 * it, and restore the state into a new DM on the same tap, running. */
static void save_and_restore(struct qmpc *c)
{
    char netdev[128], err[256] = "";
    const char *args[] = { "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                           "-netdev", netdev, NULL };
    struct qtest_opts o = { .args = args, .extra_fd = -1, .ram_mb = 64 };

    snprintf(netdev, sizeof(netdev), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", ifname);
    tapwire_close(&wire);
    s = qtest_save_restart(s, c, &o, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    host_open();
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "cont", NULL, -1);
    qmpc_close(c);
}

/* Save the NIC mid-run and restore it into a new DM on the same tap: the
 * registers and ring positions come back, and the network works at once,
 * without a reset (guest RAM is the toolstack's to restore: rewritten here). */
START_TEST(save_restore)
{
    uint8_t f[300], got[2048];
    struct qmpc *c;

    start();
    cplus_start(4);
    w32(REG_MAR0, 0x12345678);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 1, 300));
    ck_assert(wait_mem32(RXRING, DESC_OWN, 0));            /* descriptor 0 used: next is 1 */
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "stop", NULL, -1);
    /* Stopped: a frame from the tap must not touch guest memory or the
     * NIC's state, which is about to be saved. */
    desc_put(RXRING, 1, DESC_OWN | RXSZ, 0, CPBUF + 0x800);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 9, 300));
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(desc_opts1(RXRING, 1), DESC_OWN | RXSZ);
    save_and_restore(c);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x10), IO | 1);
    ck_assert_uint_eq(r16(REG_CPCR), CPCR_TXON | CPCR_RXON | CPCR_RXCSUM);
    ck_assert_uint_eq(r32(REG_RDSAR), RXRING);
    ck_assert_uint_eq(r32(REG_MAR0), 0x12345678);
    ck_assert_uint_eq(r16(REG_IMR), INT_ROK | INT_TOK | INT_RER | INT_TER | INT_RXOVW);
    for (unsigned i = 0; i < 4; i++)
        desc_put(RXRING, i, DESC_OWN | (i == 3 ? DESC_EOR : 0) | RXSZ, 0, CPBUF + 0x800 * i);
    host_send(f, tapwire_frame(f, nic_mac, peer_mac, 2, 300));
    ck_assert(wait_mem32(RXRING + 16, DESC_OWN, 0));       /* into descriptor 1 */
    ck_assert_uint_eq(desc_opts1(RXRING, 0) & DESC_OWN, DESC_OWN);
    tapwire_frame(f, peer_mac, nic_mac, 3, 300);
    qtest_memwrite(s, CPTX, f, 300);
    desc_put(TXRING, 0, DESC_OWN | DESC_EOR | DESC_FS | DESC_LS | 300, 0, CPTX);
    w32(REG_TSAD0, TXRING);
    w8(REG_TPPOLL, TPPOLL_NPQ);
    ck_assert_int_eq(host_recv(got, sizeof(got)), 300);
    ck_assert_mem_eq(got, f, 300);
    stop();
}
END_TEST

/* A NIC the guest unplugged stays unplugged in the restored DM. */
START_TEST(unplug_survives_restore)
{
    struct qmpc *c;

    start();
    qtest_outw(s, 0x10, 0x0002);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0xffffffff);
    c = qtest_qmp(s);
    ck_assert_ptr_nonnull(c);
    qmp_ok(c, "stop", NULL, -1);
    save_and_restore(c);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, SLOT, 0, 0x00), 0xffffffff);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x00), 0x00015853);  /* the platform device is there */
    stop();
}
END_TEST

/* The board's slot table: the platform device at 00:02.0, then the NICs
 * in command-line order (one tap by name, one by fd). */
START_TEST(slots_in_command_line_order)
{
    char netdev0[128], netdev1[64], name1[IFNAMSIZ];
    int fd;

    tap_make_persistent();
    snprintf(name1, sizeof(name1), "xsdms%d", (int)getpid() % 100000);
    fd = tun_open(name1);
    snprintf(netdev0, sizeof(netdev0), "type=tap,id=net0,ifname=%s,br=xenbr0,script=no,downscript=no", ifname);
    snprintf(netdev1, sizeof(netdev1), "tap,id=net1,fd=%d", fd);
    {
        const char *args[] = { "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                               "-device", "rtl8139,id=nic1,netdev=net1,mac=00:16:3e:00:00:02",
                               "-netdev", netdev0, "-netdev", netdev1, NULL };
        struct qtest_opts o = { .args = args, .extra_fd = fd, .ram_mb = 64 };

        s = qtest_start(&o);
    }
    ck_assert_ptr_nonnull(s);
    close(fd);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x00), 0x00015853);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 3, 0, 0x00), 0x813910ec);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 4, 0, 0x00), 0x813910ec);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 5, 0, 0x00), 0xffffffff);
    qtest_pci_cfg_writel(s, 4, 0, 0x10, IO);
    qtest_pci_cfg_writew(s, 4, 0, 0x04, 0x01);
    ck_assert_uint_eq(qtest_inb(s, IO + REG_IDR0 + 5), 0x02);    /* the second -device's MAC */
    stop();
}
END_TEST

/* With a VGA the board keeps qemu-xen's order: platform 00:02.0, VGA
 * 00:03.0, the NIC after them at 00:04.0 (whatever the command-line order). */
START_TEST(slots_behind_a_vga)
{
    char netdev[64], name[IFNAMSIZ];
    int fd;

    snprintf(name, sizeof(name), "xsdmv%d", (int)getpid() % 100000);
    fd = tun_open(name);
    snprintf(netdev, sizeof(netdev), "tap,id=net0,fd=%d", fd);
    {
        const char *args[] = { "-device", "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                               "-netdev", netdev, "-device", "VGA,vgamem_mb=1", NULL };
        struct qtest_opts o = { .args = args, .extra_fd = fd, .ram_mb = 64 };

        s = qtest_start(&o);
    }
    ck_assert_ptr_nonnull(s);
    close(fd);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 2, 0, 0x00), 0x00015853);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 3, 0, 0x00), 0x11111234);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 4, 0, 0x00), 0x813910ec);
    ck_assert_uint_eq(qtest_pci_cfg_readl(s, 5, 0, 0x00), 0xffffffff);
    stop();
}
END_TEST

int main(void)
{
    Suite *su = suite_create("rtl8139");
    TCase *tc = tcase_create("rtl8139");
    int rc;

    snprintf(tap_name, sizeof(tap_name), "xsdmt%d", (int)getpid() % 100000);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, identity_eeprom_link);
    tcase_add_test(tc, legacy_tx_slots);
    tcase_add_test(tc, legacy_rx_ring_and_filter);
    tcase_add_test(tc, legacy_rx_full_stalls_and_resumes);
    tcase_add_test(tc, cplus_tx_rx);
    tcase_add_test(tc, cplus_offloads);
    tcase_add_test(tc, cplus_rx_full_stalls_and_resumes);
    tcase_add_test(tc, hostile_descriptors);
    tcase_add_test(tc, platform_unplug);
    tcase_add_test(tc, tap_by_fd);
    tcase_add_test(tc, save_restore);
    tcase_add_test(tc, unplug_survives_restore);
    tcase_add_test(tc, slots_in_command_line_order);
    tcase_add_test(tc, slots_behind_a_vga);
    suite_add_tcase(su, tc);
    rc = ck_run_suite(su);
    tapwire_cleanup(tap_name);
    return rc;
}
