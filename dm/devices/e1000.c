/* Intel 82540EM (dm/devices/e1000.h). The guest's view: the register file
 * behind BAR0 (and through IOADDR/IODATA in BAR1), a 64-word microwire
 * EEPROM holding the MAC (read by bit-banging EECD or through EERD), a
 * Marvell PHY behind MDIC whose 1000 Mb/s full-duplex link is always up,
 * the ICR/IMS interrupt causes, and DMA:
 *  - receive: the legacy descriptor ring (RDBA/RDLEN/RDH/RDT), frames
 *    filtered by RCTL (promiscuous bits, broadcast, the 16 receive
 *    addresses, the multicast table hashed as RCTL.MO says, VLAN filter),
 *    split over as many buffers as RCTL's buffer size needs;
 *  - transmit: legacy, context and data descriptors (TDBA/TDLEN/TDH/TDT),
 *    with checksum insertion where the context or legacy descriptor says,
 *    TCP segmentation (IPv4) and VLAN tag insertion, done in software.
 * Interrupt moderation timers (ITR, RDTR, RADV, TIDV, TADV) are stored but
 * not applied: causes are raised at once.
 * Guest memory is reached only through the accelerator, which refuses
 * anything outside RAM; every descriptor is read once and used from that
 * copy; ring indices are checked against RDLEN/TDLEN before use and a walk
 * never goes beyond the ring; lengths are checked against our fixed
 * buffers. Nothing is allocated per frame. When the receive ring has no
 * room the backend holds the frame and stops reading the tap; the guest's
 * next register write (RDT) resumes. */
#include "dm/devices/e1000.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/bytes.h"
#include "dm/core/errmsg.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/e1000-regs.h"
#include "dm/net/net-offload.h"
#include "dm/net/net.h"
#include "dm/net/nic.h"

#define PCI_CACHE_LINE 0x0c

#define FRAME_MAX      16384            /* the longest frame the 82540 sends or takes (LPE) */
#define FRAME_STD_MAX  1522             /* without LPE: 1518 plus a VLAN tag */
#define ETH_FCS_LEN    4
#define TX_DESC_MAX    256              /* descriptors in one frame; more: refused */
#define TX_BUF_MAX     (NET_FRAME_MAX + NET_VLAN_HLEN)
#define SEG_BUF_MAX    (FRAME_MAX + 256)

enum ee_state { EE_IDLE, EE_COMMAND, EE_READING, EE_IGNORING, EE_NSTATES };

struct txd {
    uint64_t addr;              /* context: the offsets */
    uint32_t cmdlen, upper;
};

struct e1000 {
    struct e1000_state st;
    struct nic nic;             /* PCI function, backend, MAC, name "e1000.<slot>" */
    struct io_region bar_mmio, bar_io;
    struct loop_defer tx_more;  /* the rest of a transmit beyond one slice's budget */
    size_t tx_bytes;            /* put on the wire in this slice */
    uint16_t eeprom[EE_WORDS];
    struct txd txd[TX_DESC_MAX];            /* one frame's descriptors */
    uint8_t txbuf[TX_BUF_MAX];              /* one frame being sent */
    uint8_t segbuf[SEG_BUF_MAX];            /* one TCP segment */
    uint8_t rxbuf[FRAME_MAX + ETH_FCS_LEN]; /* one frame being received */
};

/* ---- interrupts and small helpers -------------------------------------- */

static void update_irq(struct e1000 *n)
{
    pci_set_irq(&n->nic.dev, !n->st.unplugged && (n->st.icr & n->st.ims) != 0);
}

static void cause(struct e1000 *n, uint32_t causes)
{
    n->st.icr |= causes & ICR_MASK;
    update_irq(n);
}

static bool bus_master(const struct e1000 *n)
{
    return nic_bus_master(&n->nic) && !n->st.unplugged;
}

static int dma_read(struct e1000 *n, uint64_t gpa, void *buf, size_t len)
{
    return nic_dma_read(&n->nic, gpa, buf, len);
}

static int dma_write(struct e1000 *n, uint64_t gpa, const void *buf, size_t len)
{
    return nic_dma_write(&n->nic, gpa, buf, len);
}

static void stat_add(struct e1000 *n, enum e1000_stat i, uint32_t v)
{
    uint32_t *s = n->st.stats;

    s[i] = s[i] + v < s[i] ? 0xffffffffu : s[i] + v;   /* the counters saturate */
}

/* A 64-bit counter split into low and high registers. */
static void stat_add64(struct e1000 *n, enum e1000_stat lo, uint32_t v)
{
    uint32_t *s = n->st.stats;

    if (s[lo] + v < s[lo])
        s[lo + 1]++;
    s[lo] += v;
}

/* ---- EEPROM and PHY ----------------------------------------------------- */

/* The EEPROM image: MAC in words 0-2, the PCI identity, full flow control
 * in the init control word, and the checksum word drivers verify. */
static void eeprom_build(struct e1000 *n)
{
    uint16_t *w = n->eeprom, sum = 0;
    int i;

    memset(w, 0, sizeof(n->eeprom));
    for (i = 0; i < 3; i++)
        w[i] = (uint16_t)(n->nic.mac[2 * i] | n->nic.mac[2 * i + 1] << 8);
    w[0x0a] = 0x6403;                   /* init control 1: load subsystem ids, 82540 defaults */
    w[0x0b] = E1000_SUBSYS;
    w[0x0c] = E1000_SUBSYS_VENDOR;
    w[0x0d] = E1000_DEVICE;
    w[0x0e] = E1000_VENDOR;
    w[0x0f] = 0x3040;                   /* init control 2: symmetric and asymmetric pause */
    for (i = 0; i < EE_CHECKSUM_WORD; i++)
        sum = (uint16_t)(sum + w[i]);
    w[EE_CHECKSUM_WORD] = (uint16_t)(EE_SUM - sum);
}

uint16_t e1000_eeprom_word(const struct e1000 *n, unsigned addr)
{
    return addr < EE_WORDS ? n->eeprom[addr] : 0;
}

/* Microwire, as EECD's pins drive it: with CS, on each rising SK a start
 * bit, a 2-bit opcode and 6 address bits; for a read, DO then gives the
 * words MSB first on the following rising clocks, sequentially. Writes and
 * erases are ignored (the EEPROM is read-only). */
static void eeprom_pins(struct e1000 *n, uint32_t v)
{
    struct e1000_state *s = &n->st;
    bool rising = (v & EECD_SK) && !(s->eecd & EECD_SK), di = v & EECD_DI;

    s->eecd = v & (EECD_SK | EECD_CS | EECD_DI | EECD_REQ);
    if (!(v & EECD_CS)) {
        s->ee_state = EE_IDLE;
        s->ee_do = 0;
        return;
    }
    if (!rising)
        return;
    switch (s->ee_state) {
    case EE_IDLE:
        if (di) {                       /* leading zeros are not a start bit */
            s->ee_state = EE_COMMAND;
            s->ee_bits = 1;
            s->ee_shift = 1;
        }
        break;
    case EE_COMMAND:
        s->ee_shift = (uint16_t)((s->ee_shift << 1 | di) & 0x1ff);
        if (++s->ee_bits < EE_CMD_BITS)
            break;
        if (s->ee_shift >> 6 == EE_OP_READ) {
            s->ee_addr = s->ee_shift & (EE_WORDS - 1);
            s->ee_bits = 0;
            s->ee_do = 0;               /* the dummy bit */
            s->ee_state = EE_READING;
        } else {
            s->ee_state = EE_IGNORING;
        }
        break;
    case EE_READING:
        s->ee_do = (n->eeprom[s->ee_addr] >> (15 - s->ee_bits)) & 1;
        if (++s->ee_bits == 16) {
            s->ee_bits = 0;
            s->ee_addr = (s->ee_addr + 1) & (EE_WORDS - 1);
        }
        break;
    default:
        break;
    }
}

/* PHY registers: power-on value and the bits the driver may change; the
 * status registers always report the link up and autonegotiation done. */
static const struct phy_reg {
    uint8_t reg;
    uint16_t reset, wmask;
} phy_regs[] = {
    { PHY_CTRL, 0x1140, 0x7fff & ~MII_CR_RESTART_AUTONEG },
    { PHY_STATUS, PHY_STATUS_VALUE, 0 },
    { PHY_ID1, PHY_ID1_VALUE, 0 },
    { PHY_ID2, PHY_ID2_VALUE, 0 },
    { PHY_AUTONEG_ADV, 0x0de1, 0xffff },
    { PHY_LP_ABILITY, PHY_LP_ABILITY_VALUE, 0 },
    { PHY_AUTONEG_EXP, 0x0001, 0 },
    { PHY_NEXT_PAGE_TX, 0x2001, 0xffff },
    { PHY_LP_NEXT_PAGE, 0, 0 },
    { PHY_1000T_CTRL, 0x0e00, 0xffff },
    { PHY_1000T_STATUS, PHY_1000T_STATUS_VALUE, 0 },
    { PHY_EXT_STATUS, PHY_EXT_STATUS_VALUE, 0 },
    { M88_PHY_SPEC_CTRL, 0x0360, 0xffff },
    { M88_PHY_SPEC_STATUS, M88_SPEC_STATUS_VALUE, 0 },
    { M88_INT_ENABLE, 0, 0xffff },
    { M88_INT_STATUS, 0, 0 },
    { M88_EXT_PHY_SPEC_CTRL, 0x0d60, 0xffff },
    { M88_RX_ERR_CNTR, 0, 0 },
    { M88_PHY_PAGE_SELECT, 0, 0xffff },
    { M88_PHY_GEN_CONTROL, 0, 0xffff },
};

static const struct phy_reg *phy_reg_at(unsigned reg)
{
    for (size_t i = 0; i < sizeof(phy_regs) / sizeof(phy_regs[0]); i++)
        if (phy_regs[i].reg == reg)
            return &phy_regs[i];
    return NULL;
}

static void phy_reset(struct e1000_state *s)
{
    memset(s->phy, 0, sizeof(s->phy));
    for (size_t i = 0; i < sizeof(phy_regs) / sizeof(phy_regs[0]); i++)
        s->phy[phy_regs[i].reg] = phy_regs[i].reset;
}

/* MDIC: one PHY access, complete at once. Only PHY address 1 answers. */
static void mdic_access(struct e1000 *n, uint32_t v)
{
    struct e1000_state *s = &n->st;
    unsigned reg = (v >> MDIC_REG_SHIFT) & MDIC_REG_MASK, phy = (v >> MDIC_PHY_SHIFT) & MDIC_PHY_MASK;
    const struct phy_reg *r = phy_reg_at(reg);
    uint32_t out = v & ~(MDIC_READY | MDIC_ERROR);

    if (phy != E1K_PHY_ADDR || !(v & (MDIC_OP_READ | MDIC_OP_WRITE))) {
        out |= MDIC_ERROR;
    } else if (v & MDIC_OP_READ) {
        out = (out & ~MDIC_DATA) | (r ? s->phy[reg] : 0);
    } else if (r && r->wmask) {
        uint16_t val = (uint16_t)v;

        if (reg == PHY_CTRL && (val & MII_CR_RESET)) {
            phy_reset(s);               /* finishes at once: the reset bit reads 0 */
        } else {
            s->phy[reg] = (uint16_t)((s->phy[reg] & ~r->wmask) | (val & r->wmask));
            if (reg == PHY_CTRL && (val & MII_CR_RESTART_AUTONEG))
                s->icr |= ICR_LSC;      /* autonegotiation is over as soon as asked: tell the driver */
        }
    }
    s->mdic = out | MDIC_READY;
    if (v & MDIC_INT_EN)
        s->icr |= ICR_MDAC;
    update_irq(n);
}

/* ---- reset -------------------------------------------------------------- */

/* Power-on values; RAL0/RAH0 loaded from the EEPROM as the chip does. */
static void chip_reset(struct e1000 *n)
{
    struct e1000_state *s = &n->st;
    uint8_t unplugged = s->unplugged;

    memset(s, 0, sizeof(*s));
    s->unplugged = unplugged;
    s->ctrl = CTRL_SLU | CTRL_FD | CTRL_ASDE;
    s->ledctl = 0x07068302;
    s->pba = 48;                        /* KiB of the packet buffer for receive, 16 for transmit */
    s->vet = 0x8100;
    s->tipg = 0x00602008;
    s->ra[0] = (uint32_t)n->nic.mac[0] | n->nic.mac[1] << 8 | n->nic.mac[2] << 16 | (uint32_t)n->nic.mac[3] << 24;
    s->ra[1] = (uint32_t)(n->nic.mac[4] | n->nic.mac[5] << 8) | RAH_AV;
    phy_reset(s);
    update_irq(n);
}

/* ---- receive ------------------------------------------------------------ */

static uint32_t ring_size(uint32_t len_reg) { return (len_reg & RING_LEN_MASK) / DESC_SIZE; }

static uint64_t ring_base(uint32_t lo, uint32_t hi) { return (uint64_t)hi << 32 | (lo & RING_BASE_LO_MASK); }

/* RCTL.BSIZE (x16 with BSEX): 2048, 1024, 512, 256 or 16384, 8192, 4096. */
static uint32_t rx_buf_size(uint32_t rctl)
{
    unsigned code = (rctl & RCTL_BSIZE) >> RCTL_BSIZE_SHIFT;

    if (rctl & RCTL_BSEX)
        return code ? 32768u >> code : 2048;    /* BSEX with code 0 is reserved: 2048 */
    return 2048u >> code;
}

/* Multicast table index: 12 bits of the address's last two bytes, at the
 * place RCTL.MO chooses. */
static unsigned mta_hash(uint32_t rctl, const uint8_t *a)
{
    static const uint8_t shift[4] = { 4, 3, 2, 0 };
    unsigned mo = (rctl & RCTL_MO) >> RCTL_MO_SHIFT;

    return ((unsigned)a[4] >> shift[mo] | (unsigned)a[5] << (8 - shift[mo])) & 0xfff;
}

static bool ra_match(const struct e1000_state *s, const uint8_t *a)
{
    for (int i = 0; i < E1K_RA_N; i++) {
        uint32_t lo = s->ra[2 * i], hi = s->ra[2 * i + 1];

        if ((hi & RAH_AV) && get_le32(a) == lo && get_le16(a + 4) == (uint16_t)hi)
            return true;
    }
    return false;
}

/* RCTL filtering as the drivers program it. */
static bool rx_accept(const struct e1000_state *s, const uint8_t *f, size_t len)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    bool multicast = f[0] & 1;

    if ((s->rctl & RCTL_VFE) && len >= NET_ETH_HLEN + NET_VLAN_HLEN && get_be16(f + 12) == (uint16_t)s->vet) {
        unsigned vid = get_be16(f + 14) & 0xfff;

        if (!(s->vfta[vid >> 5] & (1u << (vid & 31))))
            return false;
    }
    if (!multicast && (s->rctl & RCTL_UPE))
        return true;
    if (multicast && (s->rctl & RCTL_MPE))
        return true;
    if (!memcmp(f, bcast, 6) && (s->rctl & RCTL_BAM))
        return true;
    if (ra_match(s, f))
        return true;
    if (multicast) {
        unsigned h = mta_hash(s->rctl, f);

        return s->mta[h >> 5] & (1u << (h & 31));
    }
    return false;
}

static enum net_rx_result rx_frame(struct e1000 *n, const uint8_t *f, size_t len)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    struct e1000_state *s = &n->st;
    uint32_t ndesc = ring_size(s->rdlen), bsize = rx_buf_size(s->rctl), need, avail, total, done;
    uint64_t base = ring_base(s->rdbal, s->rdbah);
    uint16_t special = 0;
    uint8_t vp = 0, errors = 0;

    /* A stopped VM's memory and device state must not change (its state
     * may be being saved): hold the frame until e1000_resume(). */
    if (nic_stopped(&n->nic) && !s->unplugged)
        return NET_RX_FULL;
    if (s->unplugged || !(s->rctl & RCTL_EN) || !bus_master(n))
        return NET_RX_DONE;                     /* receiver off: dropped, as on the wire */
    if (len < NET_ETH_HLEN)
        return NET_RX_DONE;
    if (len > ((s->rctl & RCTL_LPE) ? FRAME_MAX : FRAME_STD_MAX)) {
        stat_add(n, ST_ROC, 1);
        return NET_RX_DONE;
    }
    if (!rx_accept(s, f, len))
        return NET_RX_DONE;
    if (!ndesc || s->rdh >= ndesc || s->rdt >= ndesc) {
        log_guest("e1000: receive ring of %u descriptors with head %u, tail %u: frame dropped",
                  ndesc, s->rdh, s->rdt);
        stat_add(n, ST_MPC, 1);
        return NET_RX_DONE;
    }
    /* The frame as it goes to the guest: tag stripped (VME), padded to the
     * minimum, FCS appended unless SECRC. */
    if ((s->ctrl & CTRL_VME) && len >= NET_ETH_HLEN + NET_VLAN_HLEN && get_be16(f + 12) == (uint16_t)s->vet) {
        special = get_be16(f + 14);
        vp = RXD_STAT_VP;
        memcpy(n->rxbuf, f, 12);
        memcpy(n->rxbuf + 12, f + 16, len - 16);
        len -= NET_VLAN_HLEN;
    } else {
        memcpy(n->rxbuf, f, len);
    }
    if (len < NET_ETH_ZLEN) {
        memset(n->rxbuf + len, 0, NET_ETH_ZLEN - len);
        len = NET_ETH_ZLEN;
    }
    total = (uint32_t)len;
    if (!(s->rctl & RCTL_SECRC)) {
        put_le32(n->rxbuf + len, net_crc32(n->rxbuf, len));
        total += ETH_FCS_LEN;
    }
    need = (total + bsize - 1) / bsize;
    if (need > ndesc - 1) {
        /* Even an empty ring could never hold it: drop rather than stall. */
        stat_add(n, ST_RNBC, 1);
        stat_add(n, ST_MPC, 1);
        return NET_RX_DONE;
    }
    avail = (s->rdt + ndesc - s->rdh) % ndesc;
    if (avail < need) {
        /* No room: the backend holds the frame; the driver's RDT write resumes. */
        stat_add(n, ST_RNBC, 1);
        cause(n, ICR_RXO);
        return NET_RX_FULL;
    }
    for (done = 0; done < total;) {
        uint64_t at = base + (uint64_t)s->rdh * DESC_SIZE, buf;
        uint32_t chunk = total - done < bsize ? total - done : bsize;
        uint8_t d[DESC_SIZE], wb[8];
        bool last = done + chunk == total;

        if (dma_read(n, at, d, sizeof(d)) < 0) {
            log_guest("e1000: receive descriptor at 0x%llx is outside guest RAM", (unsigned long long)at);
            stat_add(n, ST_MPC, 1);
            break;
        }
        buf = get_le64(d);
        if (dma_write(n, buf, n->rxbuf + done, chunk) < 0) {
            log_guest("e1000: receive buffer at 0x%llx is outside guest RAM", (unsigned long long)buf);
            errors = RXD_ERR_RXE;
            last = true;                /* the rest of the frame is dropped */
        }
        put_le16(wb, (uint16_t)(errors ? 0 : chunk));
        put_le16(wb + 2, 0);            /* packet checksum: not computed (IXSM) */
        wb[4] = (uint8_t)(RXD_STAT_DD | (last ? RXD_STAT_EOP : 0) | RXD_STAT_IXSM | vp);
        wb[5] = errors;
        put_le16(wb + 6, special);
        dma_write(n, at + RXD_LENGTH, wb, sizeof(wb));
        s->rdh = (s->rdh + 1) % ndesc;
        done += chunk;
        if (errors)
            break;
    }
    if (!errors && done == total) {
        stat_add(n, ST_GPRC, 1);
        stat_add(n, ST_TPR, 1);
        stat_add64(n, ST_GORCL, total);
        stat_add64(n, ST_TORL, total);
        if (!memcmp(n->rxbuf, bcast, 6))
            stat_add(n, ST_BPRC, 1);
        else if (n->rxbuf[0] & 1)
            stat_add(n, ST_MPRC, 1);
    }
    /* Free descriptors below the threshold RCTL.RDMTS sets: ask for more. */
    if ((s->rdt + ndesc - s->rdh) % ndesc <= ndesc >> (((s->rctl & RCTL_RDMTS) >> RCTL_RDMTS_SHIFT) + 1))
        s->icr |= ICR_RXDMT0;
    cause(n, ICR_RXT0);
    return NET_RX_DONE;
}

static enum net_rx_result nic_receive(void *opaque, const uint8_t *frame, size_t len)
{
    return rx_frame(opaque, frame, len);
}

/* ---- transmit ----------------------------------------------------------- */

/* One finished frame to the wire, padded to the minimum; back into our
 * own receiver in MAC loopback (RCTL.LBM = 01). */
static void emit(void *opaque, const uint8_t *f, size_t len)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    struct e1000 *n = opaque;
    uint8_t padded[NET_ETH_ZLEN];

    if (len < NET_ETH_ZLEN) {
        memcpy(padded, f, len);
        memset(padded + len, 0, NET_ETH_ZLEN - len);
        f = padded;
        len = NET_ETH_ZLEN;
    }
    n->tx_bytes += len;
    stat_add(n, ST_GPTC, 1);
    stat_add(n, ST_TPT, 1);
    stat_add64(n, ST_GOTCL, (uint32_t)len + ETH_FCS_LEN);
    stat_add64(n, ST_TOTL, (uint32_t)len + ETH_FCS_LEN);
    if (!memcmp(f, bcast, 6))
        stat_add(n, ST_BPTC, 1);
    else if (f[0] & 1)
        stat_add(n, ST_MPTC, 1);
    if ((n->st.rctl & 0xc0) == 0x40)
        rx_frame(n, f, len);                    /* no room: lost, as on the chip */
    else if (n->nic.nb)
        net_send(n->nic.nb, f, len);
}

static bool is_ext(const struct txd *d) { return d->cmdlen & TXD_CMD_DEXT; }
static bool is_ctx(const struct txd *d) { return is_ext(d) && (d->cmdlen & TXD_DTYP_MASK) == TXD_DTYP_CTX; }
static bool is_data(const struct txd *d) { return is_ext(d) && (d->cmdlen & TXD_DTYP_MASK) == TXD_DTYP_DATA; }

static void set_context(struct e1000 *n, const struct txd *d)
{
    struct e1000_tx_ctx *c = &n->st.ctx;

    c->ipcss = (uint8_t)d->addr;
    c->ipcso = (uint8_t)(d->addr >> 8);
    c->ipcse = (uint16_t)(d->addr >> 16);
    c->tucss = (uint8_t)(d->addr >> 32);
    c->tucso = (uint8_t)(d->addr >> 40);
    c->tucse = (uint16_t)(d->addr >> 48);
    c->tucmd = d->cmdlen & (TXC_TUCMD_TCP | TXC_TUCMD_IP | TXD_CMD_TSE);
    c->hdr_len = (uint8_t)(d->upper >> TXC_HDRLEN_SHIFT);
    c->mss = (uint16_t)(d->upper >> TXC_MSS_SHIFT);
}

/* Build one frame from its descriptors (context descriptors among them
 * apply first) and send it with the offloads asked for. false: refused. */
static bool tx_frame(struct e1000 *n, const struct txd *d, int count)
{
    struct e1000_state *s = &n->st;
    const struct txd *first = NULL, *eop = &d[count - 1];
    size_t total = 0, shift = 0;
    int i;

    for (i = 0; i < count; i++) {
        uint32_t len;

        if (is_ctx(&d[i])) {
            set_context(n, &d[i]);
            continue;
        }
        if (is_ext(&d[i]) && !is_data(&d[i]))
            return false;                       /* no such descriptor type */
        if (!first)
            first = &d[i];
        len = d[i].cmdlen & (is_data(&d[i]) ? TXD_LEN_EXT : TXD_LEN_LEGACY);
        if (len > NET_FRAME_MAX - total || dma_read(n, d[i].addr, n->txbuf + total, len) < 0) {
            log_guest("e1000: transmit buffer of %u bytes at 0x%llx refused", len, (unsigned long long)d[i].addr);
            return false;
        }
        total += len;
    }
    if (!first || total < NET_ETH_HLEN)
        return false;
    if ((eop->cmdlen & TXD_CMD_VLE) && (s->ctrl & CTRL_VME)) {
        /* The tag goes after the addresses; offsets past them move by 4. */
        memmove(n->txbuf + 12 + NET_VLAN_HLEN, n->txbuf + 12, total - 12);
        put_be16(n->txbuf + 12, (uint16_t)s->vet);
        put_be16(n->txbuf + 14, (uint16_t)(eop->upper >> TXD_SPECIAL_SHIFT));
        total += NET_VLAN_HLEN;
        shift = NET_VLAN_HLEN;
    }
    if (is_data(first) && (first->cmdlen & TXD_CMD_TSE)) {
        struct net_tx_offload o = { .mss = s->ctx.mss };

        /* IPv4 TCP only (the driver offers no IPv6 segmentation). */
        if (!(s->ctx.tucmd & TXC_TUCMD_TCP) || !(s->ctx.tucmd & TXC_TUCMD_IP) ||
            net_tx_offload(n->txbuf, total, &o, n->segbuf, sizeof(n->segbuf), emit, n) < 0) {
            log_guest("e1000: TCP segmentation (mss %u) refused for a %zu-byte frame", s->ctx.mss, total);
            return false;
        }
        stat_add(n, ST_TSCTC, 1);
        return true;
    }
    if (total > FRAME_MAX + shift)
        return false;                           /* no jumbo beyond the chip's */
    if (is_data(first)) {
        const struct e1000_tx_ctx *c = &s->ctx;

        /* The TCP/UDP checksum first: the IP header's does not cover it. */
        if (first->upper & TXD_POPTS_TXSM) {
            size_t at = c->tucso + shift;

            if (net_csum_insert(n->txbuf, total, c->tucss + shift, c->tucse ? c->tucse + shift : 0, at) < 0)
                return false;
            /* UDP sends a computed 0 as 0xffff (0 means "none"); the same
             * value in ones' complement for anything else. */
            if (!(c->tucmd & TXC_TUCMD_TCP) && !n->txbuf[at] && !n->txbuf[at + 1])
                put_be16(n->txbuf + at, 0xffff);
        }
        if ((first->upper & TXD_POPTS_IXSM) &&
            net_csum_insert(n->txbuf, total, c->ipcss + shift, c->ipcse ? c->ipcse + shift : 0, c->ipcso + shift) < 0)
            return false;
    } else if (first->cmdlen & TXD_CMD_IC) {
        size_t css = (first->upper >> TXD_CSS_SHIFT) & 0xff, cso = (first->cmdlen >> TXD_CSO_SHIFT) & 0xff;

        if (net_csum_insert(n->txbuf, total, css + shift, 0, cso + shift) < 0)
            return false;
    }
    emit(n, n->txbuf, total);
    return true;
}

/* The next slice of a transmit, in a later loop round (none without a
 * backend's loop: then the next TDT or TCTL write goes on). */
static void tx_defer(struct e1000 *n)
{
    if (n->nic.loop)
        loop_defer(n->nic.loop, &n->tx_more);
}

/* TDT (or TCTL) written, or a slice deferred: send the complete frames
 * from TDH towards TDT. A frame whose last descriptor is not handed over
 * yet waits; one longer than TX_DESC_MAX descriptors is refused. One call
 * starts no frame once E1000_TX_BUDGET_DESC descriptors or
 * E1000_TX_BUDGET_BYTES bytes on the wire are behind it: a guest's ring of
 * 64K descriptors (or its segmentation into minimal segments) must not
 * hold the loop, and every other device, for one doorbell. The rest goes
 * on from TDH in the next loop round; TDH and TDT in the saved state say
 * where, so nothing is lost across a save either. */
static void tx_run(struct e1000 *n)
{
    struct e1000_state *s = &n->st;
    uint32_t ndesc = ring_size(s->tdlen), used = 0;
    uint64_t base = ring_base(s->tdbal, s->tdbah);
    bool sent = false;

    if (!(s->tctl & TCTL_EN) || !bus_master(n) || !ndesc)
        return;
    if (s->tdh >= ndesc || s->tdt >= ndesc) {
        log_guest("e1000: transmit ring of %u descriptors with head %u, tail %u refused", ndesc, s->tdh, s->tdt);
        return;
    }
    n->tx_bytes = 0;
    while (s->tdh != s->tdt) {
        uint32_t idx = s->tdh;
        int count = 0, i;
        bool eop = false;

        if (used >= E1000_TX_BUDGET_DESC || n->tx_bytes >= E1000_TX_BUDGET_BYTES) {
            tx_defer(n);
            break;
        }
        while (idx != s->tdt && count < TX_DESC_MAX) {
            uint8_t raw[DESC_SIZE];
            struct txd *d = &n->txd[count];

            if (dma_read(n, base + (uint64_t)idx * DESC_SIZE, raw, sizeof(raw)) < 0) {
                log_guest("e1000: transmit descriptor at 0x%llx is outside guest RAM",
                          (unsigned long long)(base + (uint64_t)idx * DESC_SIZE));
                goto out;
            }
            d->addr = get_le64(raw);
            d->cmdlen = get_le32(raw + TXD_CMDLEN);
            d->upper = get_le32(raw + TXD_UPPER);
            count++;
            idx = (idx + 1) % ndesc;
            if (!is_ctx(d) && (d->cmdlen & TXD_CMD_EOP)) {
                eop = true;
                break;
            }
        }
        if (!eop && count < TX_DESC_MAX)
            break;                      /* the rest of the frame is not handed over yet */
        if (!eop)
            log_guest("e1000: %d transmit descriptors without an end of packet: dropped", count);
        else
            tx_frame(n, n->txd, count);
        /* Status back where the driver asked for it (RS/RPS). */
        for (i = 0; i < count; i++) {
            uint32_t at = (s->tdh + (uint32_t)i) % ndesc;
            uint8_t st = (uint8_t)(n->txd[i].upper | TXD_STAT_DD);

            if (n->txd[i].cmdlen & (TXD_CMD_RS | TXD_CMD_RPS))
                dma_write(n, base + (uint64_t)at * DESC_SIZE + TXD_UPPER, &st, 1);
        }
        s->tdh = idx;
        used += (uint32_t)count;
        sent = true;
    }
out:
    if (sent)
        s->icr |= ICR_TXDW;
    if (s->tdh == s->tdt)
        s->icr |= ICR_TXQE;
    update_irq(n);
}

/* A deferred slice. A stopped VM's memory and state must not change:
 * e1000_resume() defers it again. An empty ring is left alone (no
 * TXQE cause out of nowhere). */
static void tx_resume(void *opaque)
{
    struct e1000 *n = opaque;

    if (!nic_stopped(&n->nic) && n->st.tdh != n->st.tdt)
        tx_run(n);
}

/* ---- registers ---------------------------------------------------------- */

#define NOFIELD SIZE_MAX

struct reg {
    uint32_t off;
    uint16_t count;             /* consecutive 32-bit registers */
    size_t field;               /* offsetof the backing uint32_t(s), or NOFIELD */
    uint32_t wmask;             /* plain registers: the writable bits */
    uint32_t (*read)(struct e1000 *n, unsigned idx);            /* NULL: the field */
    void (*write)(struct e1000 *n, unsigned idx, uint32_t v);   /* NULL: field = v & wmask */
};

static uint32_t r_status(struct e1000 *n, unsigned idx)
{
    (void)n, (void)idx;
    return STATUS_FD | STATUS_LU | STATUS_SPEED_1000 | STATUS_ASDV_1000 | STATUS_GIO_MASTER;
}

static void w_ctrl(struct e1000 *n, unsigned idx, uint32_t v)
{
    (void)idx;
    if (v & CTRL_RST) {
        chip_reset(n);                  /* self-clearing */
        return;
    }
    if (v & CTRL_PHY_RST)
        phy_reset(&n->st);
    n->st.ctrl = v & ~(CTRL_RST | CTRL_PHY_RST);
}

static uint32_t r_eecd(struct e1000 *n, unsigned idx)
{
    const struct e1000_state *s = &n->st;

    (void)idx;
    return s->eecd | EECD_PRES | (s->eecd & EECD_REQ ? EECD_GNT : 0) | (s->ee_do ? EECD_DO : 0);
}

static void w_eecd(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; eeprom_pins(n, v); }

static void w_eerd(struct e1000 *n, unsigned idx, uint32_t v)
{
    unsigned addr = (v >> EERD_ADDR_SHIFT) & 0xff;

    (void)idx;
    if (!(v & EERD_START))
        return;
    n->st.eerd = EERD_DONE | addr << EERD_ADDR_SHIFT | (uint32_t)e1000_eeprom_word(n, addr) << EERD_DATA_SHIFT;
}

static void w_ctrl_ext(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; n->st.ctrl_ext = v & ~CTRL_EXT_EE_RST; }
static void w_mdic(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; mdic_access(n, v); }

static uint32_t r_icr(struct e1000 *n, unsigned idx)
{
    uint32_t v = n->st.icr;

    (void)idx;
    n->st.icr = 0;                      /* read to clear */
    update_irq(n);
    return v;
}

static void w_icr(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; n->st.icr &= ~v; update_irq(n); }
static void w_ics(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; cause(n, v); }
static uint32_t r_ics(struct e1000 *n, unsigned idx) { (void)idx; return n->st.icr; }
static void w_ims(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; n->st.ims |= v & ICR_MASK; update_irq(n); }
static void w_imc(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; n->st.ims &= ~v; update_irq(n); }
static uint32_t r_zero(struct e1000 *n, unsigned idx) { (void)n, (void)idx; return 0; }
static void w_tctl(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; n->st.tctl = v; tx_run(n); }
static void w_tdt(struct e1000 *n, unsigned idx, uint32_t v) { (void)idx; n->st.tdt = v & RING_IDX_MASK; tx_run(n); }

static uint32_t r_stat(struct e1000 *n, unsigned idx)
{
    uint32_t v = n->st.stats[idx];

    n->st.stats[idx] = 0;               /* the 82540's statistics clear when read */
    return v;
}

/* PBA: the driver sets the receive share; transmit gets the rest of 64 KiB. */
static uint32_t r_pba(struct e1000 *n, unsigned idx)
{
    uint32_t rx = n->st.pba & PBA_RXA;

    (void)idx;
    return rx | (PBA_TOTAL_KB - rx) << PBA_TXA_SHIFT;
}

static void w_ra(struct e1000 *n, unsigned idx, uint32_t v) { n->st.ra[idx] = idx & 1 ? v & RAH_WRITABLE : v; }

#define S(f) offsetof(struct e1000_state, f)
#define PLAIN(o, f, m)  { o, 1, S(f), m, NULL, NULL }
static const struct reg regs[] = {
    { E1K_CTRL, 1, S(ctrl), 0, NULL, w_ctrl },
    { E1K_STATUS, 1, NOFIELD, 0, r_status, NULL },
    { E1K_EECD, 1, NOFIELD, 0, r_eecd, w_eecd },
    { E1K_EERD, 1, S(eerd), 0, NULL, w_eerd },
    { E1K_CTRL_EXT, 1, S(ctrl_ext), 0, NULL, w_ctrl_ext },
    PLAIN(E1K_FLA, fla, 0),
    { E1K_MDIC, 1, S(mdic), 0, NULL, w_mdic },
    PLAIN(E1K_FCAL, fcal, 0xffffffffu), PLAIN(E1K_FCAH, fcah, 0xffff), PLAIN(E1K_FCT, fct, 0xffff),
    PLAIN(E1K_VET, vet, 0xffff),
    { E1K_ICR, 1, NOFIELD, 0, r_icr, w_icr },
    PLAIN(E1K_ITR, itr, 0xffff),
    { E1K_ICS, 1, NOFIELD, 0, r_ics, w_ics },
    { E1K_IMS, 1, S(ims), 0, NULL, w_ims },
    { E1K_IMC, 1, NOFIELD, 0, r_zero, w_imc },
    PLAIN(E1K_RCTL, rctl, RCTL_WRITABLE),
    PLAIN(E1K_FCTTV, fcttv, 0xffff), PLAIN(E1K_TXCW, txcw, 0xc00301e0u), PLAIN(E1K_RXCW, rxcw, 0),
    { E1K_TCTL, 1, S(tctl), 0, NULL, w_tctl },
    PLAIN(E1K_TIPG, tipg, 0x3fffffffu), PLAIN(E1K_LEDCTL, ledctl, 0xffffffffu), { E1K_PBA, 1, S(pba), PBA_RXA, r_pba, NULL },
    PLAIN(E1K_FCRTL, fcrtl, 0x8000fff8u), PLAIN(E1K_FCRTH, fcrth, 0xfff8),
    PLAIN(E1K_RDBAL, rdbal, RING_BASE_LO_MASK), PLAIN(E1K_RDBAH, rdbah, 0xffffffffu),
    PLAIN(E1K_RDLEN, rdlen, RING_LEN_MASK), PLAIN(E1K_RDH, rdh, RING_IDX_MASK), PLAIN(E1K_RDT, rdt, RING_IDX_MASK),
    PLAIN(E1K_RDTR, rdtr, 0x8000ffffu), PLAIN(E1K_RXDCTL, rxdctl, 0x013f3f3fu), PLAIN(E1K_RADV, radv, 0xffff),
    PLAIN(E1K_RSRPD, rsrpd, 0xfff),
    PLAIN(E1K_TXDMAC, txdmac, 1),
    PLAIN(E1K_TDBAL, tdbal, RING_BASE_LO_MASK), PLAIN(E1K_TDBAH, tdbah, 0xffffffffu),
    PLAIN(E1K_TDLEN, tdlen, RING_LEN_MASK), PLAIN(E1K_TDH, tdh, RING_IDX_MASK),
    { E1K_TDT, 1, S(tdt), 0, NULL, w_tdt },
    PLAIN(E1K_TIDV, tidv, 0xffff), PLAIN(E1K_TXDCTL, txdctl, 0x013f3f3fu), PLAIN(E1K_TADV, tadv, 0xffff),
    { E1K_STATS, ST_COUNT, S(stats), 0, r_stat, NULL },
    PLAIN(E1K_RXCSUM, rxcsum, RXCSUM_WRITABLE),
    { E1K_MTA, E1K_MTA_N, S(mta), 0xffffffffu, NULL, NULL },
    { E1K_RA, 2 * E1K_RA_N, S(ra), 0, NULL, w_ra },
    { E1K_VFTA, E1K_VFTA_N, S(vfta), 0xffffffffu, NULL, NULL },
    PLAIN(E1K_WUC, wuc, 0xf), PLAIN(E1K_WUFC, wufc, 0xff), PLAIN(E1K_WUS, wus, 0),
    PLAIN(E1K_MANC, manc, 0),
};
#undef PLAIN
#undef S

static uint32_t *field_of(struct e1000 *n, const struct reg *r, unsigned idx)
{
    return (uint32_t *)((uint8_t *)&n->st + r->field) + idx;
}

static const struct reg *reg_at(uint32_t off, unsigned *idx)
{
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        if (off >= regs[i].off && off < regs[i].off + 4u * regs[i].count) {
            *idx = (off - regs[i].off) / 4;
            return &regs[i];
        }
    return NULL;
}

/* One aligned 32-bit register; unknown ones read 0 and ignore writes. */
static uint32_t reg_read(struct e1000 *n, uint32_t off)
{
    unsigned idx;
    const struct reg *r = reg_at(off & ~3u, &idx);

    if (!r)
        return 0;
    return r->read ? r->read(n, idx) : *field_of(n, r, idx);
}

static void reg_write(struct e1000 *n, uint32_t off, uint32_t v)
{
    unsigned idx;
    const struct reg *r = reg_at(off & ~3u, &idx);

    if (!r)
        return;
    if (r->write)
        r->write(n, idx, v);
    else if (r->field != NOFIELD)
        *field_of(n, r, idx) = v & r->wmask;
}

static uint64_t all_ones(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

/* BAR0: 32-bit registers. A narrower read takes its bytes of the register
 * (with its read side effects); a narrower write is refused (drivers never
 * make one and a partial write of ICR or TDT has no sane meaning). */
static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct e1000 *n = opaque;

    if (n->st.unplugged)
        return all_ones(size);
    if (size == 8 && !(off & 7))
        return reg_read(n, (uint32_t)off) | (uint64_t)reg_read(n, (uint32_t)off + 4) << 32;
    if (size > 4 || (off & 3) + size > 4)
        return 0;
    return (reg_read(n, (uint32_t)off) >> (8 * (off & 3))) & all_ones(size);
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct e1000 *n = opaque;

    if (n->st.unplugged)
        return;
    if (size == 4 && !(off & 3)) {
        reg_write(n, (uint32_t)off, (uint32_t)val);
    } else if (size == 8 && !(off & 7)) {
        reg_write(n, (uint32_t)off, (uint32_t)val);
        reg_write(n, (uint32_t)off + 4, (uint32_t)(val >> 32));
    } else {
        log_guest("e1000: %u-byte write at 0x%llx ignored", size, (unsigned long long)off);
        return;
    }
    /* RDT (or RCTL, a reset...) may have made room for a held frame. */
    net_rx_kick(n->nic.nb);
}

/* BAR1: IOADDR selects a register, IODATA reads or writes it. */
static uint64_t bar_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct e1000 *n = opaque;

    if (n->st.unplugged)
        return all_ones(size);
    if (size != 4)
        return 0;
    if (off == E1K_IOADDR)
        return n->st.ioaddr;
    if (off == E1K_IODATA)
        return reg_read(n, n->st.ioaddr);
    return 0;
}

static void bar_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct e1000 *n = opaque;

    if (n->st.unplugged || size != 4)
        return;
    if (off == E1K_IOADDR) {
        n->st.ioaddr = (uint32_t)val & (E1000_MMIO_SIZE - 4);
    } else if (off == E1K_IODATA) {
        reg_write(n, n->st.ioaddr, (uint32_t)val);
        net_rx_kick(n->nic.nb);
    }
}

static const struct io_ops mmio_ops = { .read = mmio_read, .write = mmio_write };
static const struct io_ops bar_io_ops = { .read = bar_io_read, .write = bar_io_write };

/* ---- saved state -------------------------------------------------------- */

#define F(f, ...) VMF_UINT(struct e1000_state, f, __VA_ARGS__)
#define A(f, ...) VMF_ARRAY(struct e1000_state, f, __VA_ARGS__)
#define C(f, ...) VMF_UINT(struct e1000_state, ctx.f, __VA_ARGS__)
static const struct vm_field nic_fields[] = {
    F(ctrl, VM_BITS(~(CTRL_RST | CTRL_PHY_RST))), F(ctrl_ext, VM_BITS(~CTRL_EXT_EE_RST)),
    F(eecd, VM_BITS(EECD_SK | EECD_CS | EECD_DI | EECD_REQ)), F(eerd), F(fla, VM_MAX(0)), F(mdic),
    F(fcal), F(fcah, VM_MAX(0xffff)), F(fct, VM_MAX(0xffff)), F(vet, VM_MAX(0xffff)), F(fcttv, VM_MAX(0xffff)),
    F(txcw, VM_BITS(0xc00301e0u)), F(rxcw, VM_MAX(0)), F(tipg, VM_BITS(0x3fffffffu)), F(ledctl),
    F(pba, VM_BITS(PBA_RXA)), F(fcrtl, VM_BITS(0x8000fff8u)), F(fcrth, VM_BITS(0xfff8)),
    F(icr, VM_BITS(ICR_MASK)), F(itr, VM_MAX(0xffff)), F(ims, VM_BITS(ICR_MASK)),
    F(rctl, VM_BITS(RCTL_WRITABLE)), F(tctl), F(rxcsum, VM_BITS(RXCSUM_WRITABLE)),
    F(rdbal, VM_BITS(RING_BASE_LO_MASK)), F(rdbah), F(rdlen, VM_BITS(RING_LEN_MASK)),
    F(rdh, VM_MAX(RING_IDX_MASK)), F(rdt, VM_MAX(RING_IDX_MASK)), F(rdtr, VM_BITS(0x8000ffffu)),
    F(rxdctl, VM_BITS(0x013f3f3fu)), F(radv, VM_MAX(0xffff)), F(rsrpd, VM_MAX(0xfff)),
    F(txdmac, VM_MAX(1)), F(tdbal, VM_BITS(RING_BASE_LO_MASK)), F(tdbah), F(tdlen, VM_BITS(RING_LEN_MASK)),
    F(tdh, VM_MAX(RING_IDX_MASK)), F(tdt, VM_MAX(RING_IDX_MASK)), F(tidv, VM_MAX(0xffff)),
    F(txdctl, VM_BITS(0x013f3f3fu)), F(tadv, VM_MAX(0xffff)),
    F(wuc, VM_MAX(0xf)), F(wufc, VM_MAX(0xff)), F(wus, VM_MAX(0)), F(manc, VM_MAX(0)),
    F(ioaddr, VM_BITS(E1000_MMIO_SIZE - 4)),
    A(mta), A(ra), A(vfta), A(stats), A(phy),
    C(ipcss), C(ipcso), C(ipcse), C(tucss), C(tucso), C(tucse),
    C(tucmd, VM_BITS(TXC_TUCMD_TCP | TXC_TUCMD_IP | TXD_CMD_TSE)), C(hdr_len), C(mss),
    F(ee_state, VM_MAX(EE_NSTATES - 1)), F(ee_bits, VM_MAX(15)), F(ee_addr, VM_MAX(EE_WORDS - 1)),
    F(ee_do, VM_BOOL), F(ee_shift, VM_MAX(0x1ff)),
    F(unplugged, VM_BOOL),
    VMF_END
};
#undef F
#undef A
#undef C

/* RAH entries hold only their writable bits. */
static int nic_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct e1000_state *s = staging;

    (void)live;
    for (int i = 1; i < 2 * E1K_RA_N; i += 2)
        if (s->ra[i] & ~RAH_WRITABLE) {
            seterr(err, errlen, "e1000: receive address high %d has reserved bits 0x%x", i / 2, s->ra[i]);
            return -1;
        }
    return 0;
}

/* The interrupt line follows the restored ICR/IMS; a held frame is offered
 * again; descriptors saved between two slices (TDH != TDT) go on. */
static void nic_post_load(void *opaque)
{
    struct e1000 *n = opaque;

    update_irq(n);
    if (n->st.tdh != n->st.tdt)
        tx_defer(n);
    net_rx_kick(n->nic.nb);
}

/* ---- life --------------------------------------------------------------- */

struct e1000 *e1000_new(struct iobus *bus, struct pci_bus *pci, struct accel *accel, unsigned slot,
                        const uint8_t mac[6], struct net_backend *nb, e1000_running_fn *running,
                        void *running_opaque)
{
    static const struct nic_identity model = {
        "e1000", E1000_VENDOR, E1000_DEVICE, E1000_CLASS, E1000_REVISION,
    };
    struct e1000 *n = calloc(1, sizeof(*n));
    struct vmstate_dev vd = {
        .version = 1, .state_size = sizeof(struct e1000_state),
        .fields = nic_fields, .check = nic_check, .post_load = nic_post_load,
    };

    if (!n)
        return NULL;
    nic_init(&n->nic, &model, bus, accel, slot, mac, nb, running, running_opaque, n);
    loop_defer_init(&n->tx_more, tx_resume, n);
    eeprom_build(n);
    n->nic.dev.config[PCI_CACHE_LINE] = 0x10;  /* as QEMU's e1000 leaves it */
    io_region_init(&n->bar_mmio, IO_MMIO, "e1000-mmio", &mmio_ops, n, E1000_MMIO_SIZE);
    io_region_init(&n->bar_io, IO_PIO, "e1000-io", &bar_io_ops, n, E1000_IO_SIZE);
    pci_dev_set_bar(&n->nic.dev, 0, false, E1000_MMIO_SIZE, &n->bar_mmio);
    pci_dev_set_bar(&n->nic.dev, 1, true, E1000_IO_SIZE, &n->bar_io);
    chip_reset(n);
    vd.state = &n->st;
    vd.opaque = n;
    if (nic_register(&n->nic, pci, &vd, nic_receive, n) < 0) {
        free(n);
        return NULL;
    }
    return n;
}

void e1000_reset(struct e1000 *n)
{
    chip_reset(n);
}

void e1000_resume(struct e1000 *n)
{
    if (n->st.tdh != n->st.tdt)
        tx_defer(n);
    net_rx_kick(n->nic.nb);
}

void e1000_unplug(struct e1000 *n)
{
    if (!n)
        return;
    n->st.unplugged = 1;
    n->st.icr = n->st.ims = 0;
    update_irq(n);
    nic_unplug(&n->nic);
}

void e1000_free(struct e1000 *n)
{
    if (!n)
        return;
    if (n->nic.loop)
        loop_defer_cancel(n->nic.loop, &n->tx_more);
    nic_destroy(&n->nic);
    free(n);
}

const struct e1000_state *e1000_state(const struct e1000 *n) { return &n->st; }
