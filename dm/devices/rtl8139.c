/* RTL8139C+ Ethernet controller (dm/devices/rtl8139.h). The guest's view: the
 * register file behind BAR0/BAR1, a 93C46 EEPROM read by bit-banging
 * 9346CR, an always-up 100 Mb/s full-duplex link, and DMA:
 *  - legacy (8139too): a receive ring buffer at RBSTART written as
 *    [status, length][frame][FCS] records aligned to 4 bytes, and four
 *    transmit slots (TSADn, TSDn) sent in ring order;
 *  - C+ (8139cp): 16-byte descriptor rings for transmit (TNPDS, polled by
 *    TPPoll) and receive (RDSAR), with scatter-gather, IPv4/TCP/UDP
 *    checksum offload, TCP large send and VLAN tag insertion on transmit.
 * Guest memory is reached only through the accelerator, which refuses
 * anything outside RAM; descriptors are read once and used from that copy;
 * every length is checked against our fixed buffers; ring walks stop after
 * DESC_RING_MAX descriptors whatever EOR says. Nothing is allocated per
 * frame. When the guest has no room for a frame the backend holds it and
 * stops reading the tap; the guest's next register write resumes. */
#include "dm/devices/rtl8139.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/bytes.h"
#include "dm/core/errmsg.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/net/net-offload.h"
#include "dm/net/net.h"
#include "dm/net/nic.h"

#define TX_BUF_MAX (NET_FRAME_MAX + NET_VLAN_HLEN)

enum ee_state { EE_IDLE, EE_COMMAND, EE_READING, EE_IGNORING, EE_NSTATES };

struct rtl8139 {
    struct rtl8139_state st;
    struct nic nic;             /* PCI function, backend, MAC (restored at reset), name "rtl8139.<slot>" */
    struct io_region bar_io, bar_mmio;
    uint8_t txbuf[TX_BUF_MAX];  /* one frame being sent (C+: gathered fragments) */
    uint8_t segbuf[NET_ETH_ZLEN + RX_FRAME_MAX]; /* one large-send segment */
};

/* ---- interrupts and small helpers -------------------------------------- */

/* The one place the NIC drives its INTx pin. */
static void rtl8139_update_irq(struct rtl8139 *n)
{
    pci_set_irq(&n->nic.dev, !n->st.unplugged && (n->st.isr & n->st.imr) != 0);
}

static bool bus_master(const struct rtl8139 *n)
{
    return nic_bus_master(&n->nic) && !n->st.unplugged;
}

static uint32_t legacy_buf_size(const struct rtl8139_state *s)
{
    return 8192u << ((s->rcr & RCR_RBLEN) >> RCR_RBLEN_SHIFT);
}

static int dma_read(struct rtl8139 *n, uint64_t gpa, void *buf, size_t len)
{
    return nic_dma_read(&n->nic, gpa, buf, len);
}

static int dma_write(struct rtl8139 *n, uint64_t gpa, const void *buf, size_t len)
{
    return nic_dma_write(&n->nic, gpa, buf, len);
}

/* ---- receive ------------------------------------------------------------ */

enum rx_kind { RX_REJECT, RX_UNICAST, RX_MULTICAST, RX_BROADCAST };

/* RCR filtering as the drivers program it: broadcast, hashed multicast,
 * our own address, or everything (promiscuous). */
static enum rx_kind rx_filter(struct rtl8139 *n, const uint8_t *f, bool *phys_match)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    struct rtl8139_state *s = &n->st;
    bool promisc = s->rcr & RCR_AAP;

    *phys_match = false;
    if (!memcmp(f, bcast, 6)) {
        if (!promisc && !(s->rcr & RCR_AB))
            return RX_REJECT;
        s->rx_ok_brd++;
        return RX_BROADCAST;
    }
    if (f[0] & 1) {
        unsigned h = net_mcast_hash6(f);

        if (!promisc && (!(s->rcr & RCR_AM) || !(s->mar[h >> 3] & (1u << (h & 7)))))
            return RX_REJECT;
        s->rx_ok_mul++;
        return RX_MULTICAST;
    }
    *phys_match = !memcmp(f, s->idr, 6);
    if (!promisc && (!*phys_match || !(s->rcr & RCR_APM)))
        return RX_REJECT;
    if (*phys_match)
        s->rx_ok_phy++;
    return RX_UNICAST;
}

/* Write len bytes at the legacy ring's offset *pos. A record that runs past
 * the end continues at the start, unless WRAP asks for it to overflow
 * linearly into the slack the driver allocated (not for a 64 KiB ring). */
static int ring_put(struct rtl8139 *n, uint32_t *pos, const void *data, uint32_t len)
{
    struct rtl8139_state *s = &n->st;
    uint32_t size = legacy_buf_size(s);
    const uint8_t *p = data;

    if (*pos + len > size && !((s->rcr & RCR_WRAP) && size < 65536)) {
        uint32_t first = size - *pos;

        if (dma_write(n, (uint64_t)s->rbstart + *pos, p, first) < 0)
            return -1;
        p += first;
        len -= first;
        *pos = 0;
    }
    if (dma_write(n, (uint64_t)s->rbstart + *pos, p, len) < 0)
        return -1;
    *pos += len;
    return 0;
}

static enum net_rx_result legacy_rx(struct rtl8139 *n, const uint8_t *f, uint32_t len, uint16_t status)
{
    struct rtl8139_state *s = &n->st;
    uint32_t size = legacy_buf_size(s), need = (4 + len + ETH_FCS_LEN + 3) & ~3u;
    uint32_t used = ((uint32_t)s->cbr - s->rx_rd) & (size - 1), pos = s->cbr;
    uint8_t hdr[4], fcs[4];

    /* Strictly less: a full ring must never look empty (CBR == CAPR+16). */
    if (need >= size - used)
        return NET_RX_FULL;
    put_le32(hdr, (uint32_t)(status | RXS_ROK) | (len + ETH_FCS_LEN) << 16);
    put_le32(fcs, net_crc32(f, len));
    if (ring_put(n, &pos, hdr, 4) < 0 || ring_put(n, &pos, f, len) < 0 || ring_put(n, &pos, fcs, 4) < 0) {
        log_guest("rtl8139: receive buffer at 0x%x is outside guest RAM", s->rbstart);
        s->rx_err++;
        s->isr |= INT_RER;
        return NET_RX_DONE;
    }
    s->cbr = (uint16_t)(((pos + 3) & ~3u) & (size - 1));
    s->rx_ok++;
    s->isr |= INT_ROK;
    return NET_RX_DONE;
}

static uint64_t cp_desc_addr(uint32_t lo, uint32_t hi, unsigned idx)
{
    return ((uint64_t)hi << 32 | lo) + (uint64_t)idx * DESC_SIZE;
}

static uint8_t cp_next(uint8_t idx, uint32_t opts1)
{
    return (opts1 & DESC_EOR) || idx + 1 >= DESC_RING_MAX ? 0 : (uint8_t)(idx + 1);
}

static enum net_rx_result cp_rx(struct rtl8139 *n, const uint8_t *f, uint32_t len, uint32_t kind_bits)
{
    struct rtl8139_state *s = &n->st;
    uint64_t at = cp_desc_addr(s->rdsar_lo, s->rdsar_hi, s->cp_rx_idx), buf;
    uint8_t d[DESC_SIZE], fcs[4], back[8];
    uint32_t opts1;

    if (dma_read(n, at, d, sizeof(d)) < 0) {
        log_guest("rtl8139: receive descriptor at 0x%llx is outside guest RAM", (unsigned long long)at);
        s->rx_err++;
        s->isr |= INT_RER;
        return NET_RX_DONE;
    }
    opts1 = get_le32(d);
    if (!(opts1 & DESC_OWN)) {
        /* The ring is full: tell the driver (it refills on this) and wait. */
        s->isr |= INT_RXOVW;
        return NET_RX_FULL;
    }
    if (len + ETH_FCS_LEN > (opts1 & RXD_LEN)) {
        s->rx_err++;
        s->miss++;
        s->isr |= INT_RER;
        return NET_RX_DONE;
    }
    buf = (uint64_t)get_le32(d + 12) << 32 | get_le32(d + 8);
    put_le32(fcs, net_crc32(f, len));
    if (dma_write(n, buf, f, len) < 0 || dma_write(n, buf + len, fcs, 4) < 0) {
        log_guest("rtl8139: receive buffer at 0x%llx is outside guest RAM", (unsigned long long)buf);
        s->rx_err++;
        s->isr |= INT_RER;
        return NET_RX_DONE;
    }
    /* opts2 (no VLAN tag stripped) before opts1 hands the descriptor back. */
    put_le32(back, (opts1 & DESC_EOR) | DESC_FS | DESC_LS | kind_bits | (len + ETH_FCS_LEN));
    put_le32(back + 4, 0);
    dma_write(n, at + 4, back + 4, 4);
    dma_write(n, at, back, 4);
    s->cp_rx_idx = cp_next(s->cp_rx_idx, opts1);
    s->rx_ok++;
    s->isr |= INT_ROK;
    return NET_RX_DONE;
}

static enum net_rx_result rx_frame(struct rtl8139 *n, const uint8_t *f, size_t len)
{
    struct rtl8139_state *s = &n->st;
    uint8_t padded[NET_ETH_ZLEN];
    enum net_rx_result rc;
    enum rx_kind kind;
    bool phys;

    /* A stopped VM's memory and device state must not change (its state
     * may be being saved): hold the frame until rtl8139_resume(). */
    if (nic_stopped(&n->nic) && !s->unplugged)
        return NET_RX_FULL;
    if (s->unplugged || !(s->cr & CR_RE) || !bus_master(n))
        return NET_RX_DONE;                  /* receiver off: dropped, as on the wire */
    if (len < NET_ETH_HLEN || len > RX_FRAME_MAX) {
        s->rx_err++;
        return NET_RX_DONE;
    }
    kind = rx_filter(n, f, &phys);
    if (kind == RX_REJECT)
        return NET_RX_DONE;
    if (len < NET_ETH_ZLEN) {
        memcpy(padded, f, len);
        memset(padded + len, 0, NET_ETH_ZLEN - len);
        f = padded;
        len = NET_ETH_ZLEN;
    }
    if (s->cpcr & CPCR_RXON)
        rc = cp_rx(n, f, (uint32_t)len, (kind == RX_BROADCAST ? RXD_BAR : 0) |
                   (kind == RX_MULTICAST ? RXD_MAR : 0) | (phys ? RXD_PAM : 0));
    else
        rc = legacy_rx(n, f, (uint32_t)len, (uint16_t)((kind == RX_BROADCAST ? RXS_BAR : 0) |
                       (kind == RX_MULTICAST ? RXS_MAR : 0) | (phys ? RXS_PAM : 0)));
    rtl8139_update_irq(n);
    return rc;
}

static enum net_rx_result nic_receive(void *opaque, const uint8_t *frame, size_t len)
{
    return rx_frame(opaque, frame, len);
}

/* ---- transmit ----------------------------------------------------------- */

/* One finished frame to the wire: padded to the minimum length as the
 * chip does, or back into our own receiver in loopback mode. */
static void emit(void *opaque, const uint8_t *f, size_t len)
{
    struct rtl8139 *n = opaque;
    uint8_t padded[NET_ETH_ZLEN];

    if (len < NET_ETH_ZLEN) {
        memcpy(padded, f, len);
        memset(padded + len, 0, NET_ETH_ZLEN - len);
        f = padded;
        len = NET_ETH_ZLEN;
    }
    if ((n->st.tcr & TCR_LOOPBACK) == TCR_LOOPBACK)
        rx_frame(n, f, len);                 /* no room: lost, as on the chip */
    else if (n->nic.nb)
        net_send(n->nic.nb, f, len);
}

static void legacy_tx_slot(struct rtl8139 *n, unsigned slot)
{
    struct rtl8139_state *s = &n->st;
    uint32_t len = s->tsd[slot] & TSD_SIZE;

    if (!len || len > TSD_LEGACY_MAX || dma_read(n, s->tsad[slot], n->txbuf, len) < 0) {
        log_guest("rtl8139: transmit slot %u: %u bytes at 0x%x refused", slot, len, s->tsad[slot]);
        s->tsd[slot] |= TSD_OWN | TSD_TABT;
        s->tx_abt++;
        s->tx_err++;
        s->isr |= INT_TER;
        return;
    }
    emit(n, n->txbuf, len);
    s->tsd[slot] |= TSD_OWN | TSD_TOK;
    s->tx_ok++;
    s->isr |= INT_TOK;
}

/* Slots the driver handed over, in ring order from tx_next. */
static void legacy_tx(struct rtl8139 *n)
{
    struct rtl8139_state *s = &n->st;
    int i;

    if (!(s->cr & CR_TE) || !bus_master(n))
        return;
    for (i = 0; i < 4 && !(s->tsd[s->tx_next] & TSD_OWN); i++) {
        legacy_tx_slot(n, s->tx_next);
        s->tx_next = (uint8_t)((s->tx_next + 1) & 3);
    }
    rtl8139_update_irq(n);
}

struct cp_desc {
    uint32_t opts1, opts2;
    uint64_t addr;
};

/* Gather one frame's descriptors from cp_tx_idx: 1 to DESC_RING_MAX up to
 * the one with LS. Returns how many, 0 if the next frame is not (fully)
 * handed over yet, -1 if the ring is unreadable. *bad: no LS within a
 * ring's worth (a ring that wraps onto itself). */
static int cp_tx_gather(struct rtl8139 *n, struct cp_desc *d, bool *bad)
{
    struct rtl8139_state *s = &n->st;
    uint8_t idx = s->cp_tx_idx, raw[DESC_SIZE];
    int count;

    *bad = false;
    for (count = 0; count < DESC_RING_MAX; count++) {
        uint64_t at = cp_desc_addr(s->tsad[0], s->tsad[1], idx);

        if (dma_read(n, at, raw, sizeof(raw)) < 0) {
            log_guest("rtl8139: transmit descriptor at 0x%llx is outside guest RAM", (unsigned long long)at);
            return -1;
        }
        d[count].opts1 = get_le32(raw);
        d[count].opts2 = get_le32(raw + 4);
        d[count].addr = (uint64_t)get_le32(raw + 12) << 32 | get_le32(raw + 8);
        if (!(d[count].opts1 & DESC_OWN))
            return 0;
        if (d[count].opts1 & DESC_LS)
            return count + 1;
        idx = cp_next(idx, d[count].opts1);
    }
    *bad = true;
    return DESC_RING_MAX;
}

/* Build the frame from its fragments and send it with the offloads the
 * first descriptor asks for. false: refused (the frame is dropped). */
static bool cp_tx_frame(struct rtl8139 *n, const struct cp_desc *d, int count)
{
    struct net_tx_offload o;
    uint32_t first = d[0].opts1;
    size_t total = 0;
    int i;

    for (i = 0; i < count; i++) {
        uint32_t len = d[i].opts1 & TXD_LEN;

        if (len > NET_FRAME_MAX - total || dma_read(n, d[i].addr, n->txbuf + total, len) < 0) {
            log_guest("rtl8139: transmit fragment of %u bytes at 0x%llx refused", len,
                      (unsigned long long)d[i].addr);
            return false;
        }
        total += len;
    }
    /* An 8139 sends no jumbo frames: only large send goes beyond. */
    if (total < NET_ETH_HLEN || (!(first & TXD_LGSEN) && total > TX_FRAME_MAX))
        return false;
    if (d[0].opts2 & TXD2_TAGC) {
        /* The tag is given byte-swapped, as it goes on the wire. */
        memmove(n->txbuf + 12 + NET_VLAN_HLEN, n->txbuf + 12, total - 12);
        n->txbuf[12] = 0x81;
        n->txbuf[13] = 0x00;
        n->txbuf[14] = (uint8_t)d[0].opts2;
        n->txbuf[15] = (uint8_t)(d[0].opts2 >> 8);
        total += NET_VLAN_HLEN;
    }
    memset(&o, 0, sizeof(o));
    if (first & TXD_LGSEN) {
        o.mss = (first >> TXD_MSS_SHIFT) & TXD_MSS_MASK;
    } else {
        o.ip_csum = first & TXD_IPCS;
        o.tcp_csum = first & TXD_TCPCS;
        o.udp_csum = first & TXD_UDPCS;
    }
    if (net_tx_offload(n->txbuf, total, &o, n->segbuf, sizeof(n->segbuf), emit, n) < 0) {
        log_guest("rtl8139: transmit offload (flags 0x%x) refused for a %zu-byte frame", first, total);
        return false;
    }
    return true;
}

/* TPPoll: send every frame the driver handed over, at most a ring's worth. */
static void cp_tx(struct rtl8139 *n)
{
    struct rtl8139_state *s = &n->st;
    struct cp_desc d[DESC_RING_MAX];
    int frames, count, i;
    bool bad, ok;

    if (!(s->cpcr & CPCR_TXON) || !bus_master(n))
        return;
    for (frames = 0; frames < DESC_RING_MAX; frames++) {
        count = cp_tx_gather(n, d, &bad);
        if (count < 0) {
            s->tx_err++;
            s->isr |= INT_TER;
            break;
        }
        if (count == 0)
            break;
        ok = !bad && cp_tx_frame(n, d, count);
        if (bad)
            log_guest("rtl8139: %d transmit descriptors without a last fragment", count);
        /* Hand the descriptors back; the last one carries the verdict. */
        for (i = 0; i < count; i++) {
            uint8_t raw[4];
            uint32_t opts1 = d[i].opts1 & ~(DESC_OWN | TXD_ERR);

            if (i == count - 1 && !ok)
                opts1 |= TXD_ERR;
            put_le32(raw, opts1);
            dma_write(n, cp_desc_addr(s->tsad[0], s->tsad[1], s->cp_tx_idx), raw, 4);
            s->cp_tx_idx = cp_next(s->cp_tx_idx, d[i].opts1);
        }
        if (ok) {
            s->tx_ok++;
            s->isr |= INT_TOK;
        } else {
            s->tx_err++;
            s->isr |= INT_TER;
        }
    }
    rtl8139_update_irq(n);
}

/* DTCCR: the 64-byte tally counter block, at a 64-byte aligned address. */
static void dump_tally(struct rtl8139 *n)
{
    struct rtl8139_state *s = &n->st;
    uint64_t at = (uint64_t)s->tsd[1] << 32 | (s->tsd[0] & ~0x3fu);
    uint8_t b[64];

    memset(b, 0, sizeof(b));
    put_le32(b + 0, (uint32_t)s->tx_ok);
    put_le32(b + 4, (uint32_t)(s->tx_ok >> 32));
    put_le32(b + 8, (uint32_t)s->rx_ok);
    put_le32(b + 12, (uint32_t)(s->rx_ok >> 32));
    put_le32(b + 16, (uint32_t)s->tx_err);
    put_le32(b + 20, (uint32_t)(s->tx_err >> 32));
    put_le32(b + 24, s->rx_err);
    b[28] = (uint8_t)s->miss;
    b[29] = (uint8_t)(s->miss >> 8);
    put_le32(b + 40, (uint32_t)s->rx_ok_phy);
    put_le32(b + 44, (uint32_t)(s->rx_ok_phy >> 32));
    put_le32(b + 48, (uint32_t)s->rx_ok_brd);
    put_le32(b + 52, (uint32_t)(s->rx_ok_brd >> 32));
    put_le32(b + 56, s->rx_ok_mul);
    b[60] = (uint8_t)s->tx_abt;
    b[61] = (uint8_t)(s->tx_abt >> 8);
    if (bus_master(n) && dma_write(n, at, b, sizeof(b)) < 0)
        log_guest("rtl8139: tally dump address 0x%llx is outside guest RAM", (unsigned long long)at);
    s->tsd[0] &= ~(uint32_t)DTCCR_CMD;
}

/* ---- 93C46 EEPROM ------------------------------------------------------- */

static uint16_t eeprom_word(const struct rtl8139 *n, unsigned addr)
{
    switch (addr) {
    case 0: return 0x8129;                  /* the signature drivers test */
    case 1: return RTL8139_VENDOR;
    case 2: return RTL8139_DEVICE;
    case 7: case 8: case 9:
        return (uint16_t)(n->nic.mac[(addr - 7) * 2] | n->nic.mac[(addr - 7) * 2 + 1] << 8);
    default: return 0;
    }
}

/* The pins the driver drives in program mode. On each rising clock with
 * chip select: a start bit, 2 opcode and 6 address bits, then (read) a
 * dummy 0 and the words MSB first, sequentially. Writes are ignored. */
static void eeprom_pins(struct rtl8139 *n, uint8_t pins)
{
    struct rtl8139_state *s = &n->st;
    bool rising = (pins & EE_SK) && !(s->ee_pins & EE_SK), di = pins & EE_DI;

    s->ee_pins = pins & (EE_CS | EE_SK | EE_DI);
    if (!(pins & EE_CS)) {
        s->ee_state = EE_IDLE;
        s->ee_do = 0;
        return;
    }
    if (!rising)
        return;
    switch (s->ee_state) {
    case EE_IDLE:
        if (di) {
            s->ee_state = EE_COMMAND;
            s->ee_bits = 0;
            s->ee_shift = 0;
        }
        break;
    case EE_COMMAND:
        s->ee_shift = (uint16_t)((s->ee_shift << 1 | di) & 0xff);
        if (++s->ee_bits < 8)
            break;
        if (s->ee_shift >> 6 == EE_OP_READ) {
            s->ee_addr = s->ee_shift & (EE_WORDS - 1);
            s->ee_bits = 0;
            s->ee_do = 0;
            s->ee_state = EE_READING;
        } else {
            s->ee_state = EE_IGNORING;
        }
        break;
    case EE_READING:
        s->ee_do = (eeprom_word(n, s->ee_addr) >> (15 - s->ee_bits)) & 1;
        if (++s->ee_bits == 16) {
            s->ee_bits = 0;
            s->ee_addr = (s->ee_addr + 1) & (EE_WORDS - 1);
        }
        break;
    default:
        break;
    }
}

/* ---- reset -------------------------------------------------------------- */

/* The chip's reset values. Soft reset (CR_RST) keeps the station address
 * and multicast filter, as the datasheet says; a machine reset reloads them. */
static void chip_reset(struct rtl8139 *n, bool soft)
{
    struct rtl8139_state *s = &n->st;
    uint8_t idr[6], mar[8], unplugged = s->unplugged;
    int i;

    memcpy(idr, s->idr, 6);
    memcpy(mar, s->mar, 8);
    memset(s, 0, sizeof(*s));
    if (soft) {
        memcpy(s->idr, idr, 6);
        memcpy(s->mar, mar, 8);
    } else {
        memcpy(s->idr, n->nic.mac, 6);
    }
    s->unplugged = unplugged;
    for (i = 0; i < 4; i++)
        s->tsd[i] = TSD_OWN;
    s->tcr = TCR_HWVERID;
    s->config1 = 0x0c;          /* I/O and memory mapping available */
    s->config3 = 0x01;          /* fast back-to-back */
    s->bmcr = BMCR_ANENABLE;
    s->anar = ANLPAR_VALUE;
    s->cscr = 0x0340;           /* link-disable off, heartbeat, jabber: the power-on value */
    rtl8139_update_irq(n);
}

/* ---- registers ---------------------------------------------------------- */

struct reg {
    uint8_t off, size;
    bool w1c;                   /* write 1 to clear: a partial write leaves the rest alone */
    uint32_t (*read)(struct rtl8139 *n, unsigned off);
    void (*write)(struct rtl8139 *n, unsigned off, uint32_t v);
};

static bool cplus(const struct rtl8139 *n) { return n->st.cpcr & (CPCR_TXON | CPCR_RXON); }
static bool cfg_unlocked(const struct rtl8139 *n) { return (n->st.cfg9346 & EE_MODE) == EE_MODE_CFGWE; }

static uint32_t r_zero(struct rtl8139 *n, unsigned off) { return 0; }
static void w_ignore(struct rtl8139 *n, unsigned off, uint32_t v) { }

static uint32_t r_idr(struct rtl8139 *n, unsigned off) { return n->st.idr[off - REG_IDR0]; }
static void w_idr(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.idr[off - REG_IDR0] = (uint8_t)v; }
static uint32_t r_mar(struct rtl8139 *n, unsigned off) { return n->st.mar[off - REG_MAR0]; }
static void w_mar(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.mar[off - REG_MAR0] = (uint8_t)v; }

static uint32_t r_tsd(struct rtl8139 *n, unsigned off) { return n->st.tsd[(off - REG_TSD0) / 4]; }
static void w_tsd(struct rtl8139 *n, unsigned off, uint32_t v)
{
    unsigned i = (off - REG_TSD0) / 4;

    if (cplus(n)) {
        /* DTCCR: the address, and in its low word the dump command. */
        n->st.tsd[i] = v;
        if (i == 0 && (v & DTCCR_CMD))
            dump_tally(n);
        return;
    }
    /* The driver writes the size with OWN clear: the slot is ours to send. */
    n->st.tsd[i] = v & (TSD_SIZE | TSD_OWN | TSD_ERTXTH);
    legacy_tx(n);
}

static uint32_t r_tsad(struct rtl8139 *n, unsigned off) { return n->st.tsad[(off - REG_TSAD0) / 4]; }
static void w_tsad(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.tsad[(off - REG_TSAD0) / 4] = v; }
static uint32_t r_rbstart(struct rtl8139 *n, unsigned off) { return n->st.rbstart; }
static void w_rbstart(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.rbstart = v; }

static uint32_t r_cr(struct rtl8139 *n, unsigned off)
{
    return n->st.cr | (n->st.rx_rd == n->st.cbr ? CR_BUFE : 0);
}

static void w_cr(struct rtl8139 *n, unsigned off, uint32_t v)
{
    struct rtl8139_state *s = &n->st;
    uint8_t old = s->cr;

    if (v & CR_RST) {
        chip_reset(n, true);        /* done at once: the driver polls RST clear */
        return;
    }
    s->cr = (uint8_t)(v & (CR_RE | CR_TE));
    /* Enabling the receiver restarts both receive models at their start,
     * as the drivers assume (they reset their own read positions). */
    if ((s->cr & CR_RE) && !(old & CR_RE)) {
        s->cbr = s->rx_rd = 0;
        s->cp_rx_idx = 0;
    }
    if ((s->cr & CR_TE) && !(old & CR_TE))
        s->cp_tx_idx = 0;
    legacy_tx(n);
}

static uint32_t r_capr(struct rtl8139 *n, unsigned off) { return (uint16_t)(n->st.rx_rd - 16); }
static void w_capr(struct rtl8139 *n, unsigned off, uint32_t v)
{
    n->st.rx_rd = (uint16_t)((v + 16) & (legacy_buf_size(&n->st) - 1));
}
static uint32_t r_cbr(struct rtl8139 *n, unsigned off) { return n->st.cbr; }

static uint32_t r_imr(struct rtl8139 *n, unsigned off) { return n->st.imr; }
static void w_imr(struct rtl8139 *n, unsigned off, uint32_t v)
{
    n->st.imr = (uint16_t)(v & INT_MASK);
    rtl8139_update_irq(n);
}
static uint32_t r_isr(struct rtl8139 *n, unsigned off) { return n->st.isr; }
static void w_isr(struct rtl8139 *n, unsigned off, uint32_t v)
{
    n->st.isr &= (uint16_t)~v;
    rtl8139_update_irq(n);
}

static uint32_t r_tcr(struct rtl8139 *n, unsigned off) { return n->st.tcr; }
static void w_tcr(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.tcr = (v & TCR_WRITABLE) | TCR_HWVERID; }

static uint32_t r_rcr(struct rtl8139 *n, unsigned off) { return n->st.rcr; }
static void w_rcr(struct rtl8139 *n, unsigned off, uint32_t v)
{
    struct rtl8139_state *s = &n->st;

    s->rcr = v & RCR_WRITABLE;
    /* Offsets stay inside a ring that may have shrunk. */
    s->rx_rd = (uint16_t)(s->rx_rd & (legacy_buf_size(s) - 1));
    s->cbr = (uint16_t)(s->cbr & (legacy_buf_size(s) - 1));
}

static uint32_t r_mpc(struct rtl8139 *n, unsigned off) { return n->st.mpc & 0xffffff; }
static void w_mpc(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.mpc = 0; }
static uint32_t r_timerint(struct rtl8139 *n, unsigned off) { return n->st.timer_int; }
static void w_timerint(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.timer_int = v; }

static uint32_t r_9346(struct rtl8139 *n, unsigned off)
{
    const struct rtl8139_state *s = &n->st;

    if ((s->cfg9346 & EE_MODE) != EE_MODE_PROGRAM)
        return s->cfg9346 & EE_MODE;
    return EE_MODE_PROGRAM | s->ee_pins | (s->ee_do ? EE_DO : 0);
}

static void w_9346(struct rtl8139 *n, unsigned off, uint32_t v)
{
    struct rtl8139_state *s = &n->st;
    uint8_t mode = v & EE_MODE;

    if (mode == EE_MODE_AUTOLOAD) {
        /* Reload the configuration registers from the EEPROM: reset values. */
        s->config1 = 0x0c;
        s->config3 = 0x01;
        s->config4 = s->config5 = 0;
        mode = EE_MODE_NORMAL;
    }
    s->cfg9346 = mode;
    if (mode == EE_MODE_PROGRAM)
        eeprom_pins(n, (uint8_t)v);
    else
        eeprom_pins(n, 0);
}

static uint32_t r_config1(struct rtl8139 *n, unsigned off) { return n->st.config1; }
static void w_config1(struct rtl8139 *n, unsigned off, uint32_t v) { if (cfg_unlocked(n)) n->st.config1 = (uint8_t)v; }
static uint32_t r_config3(struct rtl8139 *n, unsigned off) { return n->st.config3; }
static void w_config3(struct rtl8139 *n, unsigned off, uint32_t v) { if (cfg_unlocked(n)) n->st.config3 = (uint8_t)v; }
static uint32_t r_config4(struct rtl8139 *n, unsigned off) { return n->st.config4; }
static void w_config4(struct rtl8139 *n, unsigned off, uint32_t v) { if (cfg_unlocked(n)) n->st.config4 = (uint8_t)v; }
static uint32_t r_config5(struct rtl8139 *n, unsigned off) { return n->st.config5; }
static void w_config5(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.config5 = (uint8_t)v; }
static uint32_t r_msr(struct rtl8139 *n, unsigned off) { return MSR_VALUE; }
static uint32_t r_mulint(struct rtl8139 *n, unsigned off) { return n->st.multi_intr; }
static void w_mulint(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.multi_intr = (uint16_t)(v & 0x0fff); }
static uint32_t r_rerid(struct rtl8139 *n, unsigned off) { return RTL8139_REVISION; }

static uint32_t r_tsad_summary(struct rtl8139 *n, unsigned off)
{
    uint32_t v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        uint32_t t = n->st.tsd[i];

        v |= (t & TSD_TOK ? 1u << (12 + i) : 0) | (t & TSD_TUN ? 1u << (8 + i) : 0) |
             (t & TSD_TABT ? 1u << (4 + i) : 0) | (t & TSD_OWN ? 1u << i : 0);
    }
    return v;
}

static uint32_t r_bmcr(struct rtl8139 *n, unsigned off) { return n->st.bmcr; }
static void w_bmcr(struct rtl8139 *n, unsigned off, uint32_t v)
{
    n->st.bmcr = (uint16_t)(v & ~(BMCR_RESET | BMCR_ANRESTART));  /* both finish at once */
}
static uint32_t r_bmsr(struct rtl8139 *n, unsigned off) { return BMSR_VALUE; }
static uint32_t r_anar(struct rtl8139 *n, unsigned off) { return n->st.anar; }
static void w_anar(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.anar = (uint16_t)v; }
static uint32_t r_anlpar(struct rtl8139 *n, unsigned off) { return ANLPAR_VALUE; }
static uint32_t r_aner(struct rtl8139 *n, unsigned off) { return ANER_VALUE; }
static uint32_t r_cscr(struct rtl8139 *n, unsigned off) { return n->st.cscr; }
static void w_cscr(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.cscr = (uint16_t)v; }

static void w_tppoll(struct rtl8139 *n, unsigned off, uint32_t v)
{
    if (v & TPPOLL_FSWINT) {
        n->st.isr |= INT_SWINT;
        rtl8139_update_irq(n);
    }
    if (v & TPPOLL_NPQ)
        cp_tx(n);
    /* HPQ: the high-priority ring is not used by the drivers; not emulated. */
}

static uint32_t r_rxmaxsz(struct rtl8139 *n, unsigned off) { return n->st.rx_max_size; }
static void w_rxmaxsz(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.rx_max_size = (uint16_t)v; }
static uint32_t r_cpcr(struct rtl8139 *n, unsigned off) { return n->st.cpcr; }
static void w_cpcr(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.cpcr = (uint16_t)(v & CPCR_WRITABLE); }
static uint32_t r_intrmit(struct rtl8139 *n, unsigned off) { return n->st.intr_mit; }
static void w_intrmit(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.intr_mit = (uint16_t)v; }
static uint32_t r_rdsar(struct rtl8139 *n, unsigned off) { return off == REG_RDSAR ? n->st.rdsar_lo : n->st.rdsar_hi; }
static void w_rdsar(struct rtl8139 *n, unsigned off, uint32_t v)
{
    if (off == REG_RDSAR)
        n->st.rdsar_lo = v;
    else
        n->st.rdsar_hi = v;
}
static uint32_t r_etthr(struct rtl8139 *n, unsigned off) { return n->st.etthr; }
static void w_etthr(struct rtl8139 *n, unsigned off, uint32_t v) { n->st.etthr = (uint8_t)v; }

#define BYTES6(base, r, w) \
    { base + 0, 1, false, r, w }, { base + 1, 1, false, r, w }, { base + 2, 1, false, r, w }, \
    { base + 3, 1, false, r, w }, { base + 4, 1, false, r, w }, { base + 5, 1, false, r, w }

/* Every register, at its natural width. Accesses of another width are
 * split into bytes (read-modify-write of the register they fall in). */
static const struct reg regs[] = {
    BYTES6(REG_IDR0, r_idr, w_idr),
    BYTES6(REG_MAR0, r_mar, w_mar),
    { REG_MAR0 + 6, 1, false, r_mar, w_mar }, { REG_MAR0 + 7, 1, false, r_mar, w_mar },
    { REG_TSD0, 4, false, r_tsd, w_tsd }, { REG_TSD0 + 4, 4, false, r_tsd, w_tsd },
    { REG_TSD0 + 8, 4, false, r_tsd, w_tsd }, { REG_TSD0 + 12, 4, false, r_tsd, w_tsd },
    { REG_TSAD0, 4, false, r_tsad, w_tsad }, { REG_TSAD0 + 4, 4, false, r_tsad, w_tsad },
    { REG_TSAD0 + 8, 4, false, r_tsad, w_tsad }, { REG_TSAD0 + 12, 4, false, r_tsad, w_tsad },
    { REG_RBSTART, 4, false, r_rbstart, w_rbstart },
    { REG_ERBCR, 2, false, r_zero, w_ignore },
    { REG_ERSR, 1, false, r_zero, w_ignore },
    { REG_CR, 1, false, r_cr, w_cr },
    { REG_CAPR, 2, false, r_capr, w_capr },
    { REG_CBR, 2, false, r_cbr, w_ignore },
    { REG_IMR, 2, false, r_imr, w_imr },
    { REG_ISR, 2, true, r_isr, w_isr },
    { REG_TCR, 4, false, r_tcr, w_tcr },
    { REG_RCR, 4, false, r_rcr, w_rcr },
    { REG_TCTR, 4, false, r_zero, w_ignore },
    { REG_MPC, 4, false, r_mpc, w_mpc },
    { REG_9346CR, 1, false, r_9346, w_9346 },
    { REG_CONFIG0, 1, false, r_zero, w_ignore },
    { REG_CONFIG1, 1, false, r_config1, w_config1 },
    { REG_TIMERINT, 4, false, r_timerint, w_timerint },
    { REG_MSR, 1, false, r_msr, w_ignore },
    { REG_CONFIG3, 1, false, r_config3, w_config3 },
    { REG_CONFIG4, 1, false, r_config4, w_config4 },
    { REG_HLTCLK, 1, false, r_zero, w_ignore },
    { REG_MULINT, 2, false, r_mulint, w_mulint },
    { REG_RERID, 1, false, r_rerid, w_ignore },
    { REG_TSAD, 2, false, r_tsad_summary, w_ignore },
    { REG_BMCR, 2, false, r_bmcr, w_bmcr },
    { REG_BMSR, 2, false, r_bmsr, w_ignore },
    { REG_ANAR, 2, false, r_anar, w_anar },
    { REG_ANLPAR, 2, false, r_anlpar, w_ignore },
    { REG_ANER, 2, false, r_aner, w_ignore },
    { REG_CSCR, 2, false, r_cscr, w_cscr },
    { REG_CONFIG5, 1, false, r_config5, w_config5 },
    { REG_TPPOLL, 1, false, r_zero, w_tppoll },
    { REG_RXMAXSZ, 2, false, r_rxmaxsz, w_rxmaxsz },
    { REG_CPCR, 2, false, r_cpcr, w_cpcr },
    { REG_INTRMIT, 2, false, r_intrmit, w_intrmit },
    { REG_RDSAR, 4, false, r_rdsar, w_rdsar },
    { REG_RDSAR + 4, 4, false, r_rdsar, w_rdsar },
    { REG_ETTHR, 1, false, r_etthr, w_etthr },
};

static const struct reg *reg_at(unsigned off)
{
    size_t i;

    for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        if (off >= regs[i].off && off < (unsigned)regs[i].off + regs[i].size)
            return &regs[i];
    return NULL;
}

static uint8_t read_byte(struct rtl8139 *n, unsigned off)
{
    const struct reg *r = reg_at(off);

    return r ? (uint8_t)(r->read(n, r->off) >> (8 * (off - r->off))) : 0;
}

static void write_byte(struct rtl8139 *n, unsigned off, uint8_t v)
{
    const struct reg *r = reg_at(off);
    unsigned shift;
    uint32_t cur;

    if (!r)
        return;
    shift = 8 * (off - r->off);
    cur = r->w1c ? 0 : r->read(n, r->off) & ~(0xffu << shift);
    r->write(n, r->off, cur | (uint32_t)v << shift);
}

static uint64_t regs_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtl8139 *n = opaque;
    const struct reg *r = reg_at((unsigned)off);
    uint64_t v = 0;
    unsigned i;

    if (n->st.unplugged)
        return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    if (r && r->off == off && r->size == size)
        return r->read(n, (unsigned)off);
    for (i = 0; i < size && off + i < RTL8139_REGS; i++)
        v |= (uint64_t)read_byte(n, (unsigned)off + i) << (8 * i);
    return v;
}

static void regs_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rtl8139 *n = opaque;
    const struct reg *r = reg_at((unsigned)off);
    unsigned i;

    if (n->st.unplugged)
        return;
    if (r && r->off == off && r->size == size) {
        r->write(n, (unsigned)off, (uint32_t)val);
    } else {
        for (i = 0; i < size && off + i < RTL8139_REGS; i++)
            write_byte(n, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
    }
    /* Whatever the driver just did may have made room for a held frame
     * (CAPR in legacy mode; in C+ mode the ring is refilled in memory and
     * the driver then acknowledges or unmasks interrupts). */
    net_rx_kick(n->nic.nb);
}

static const struct io_ops regs_ops = { .read = regs_read, .write = regs_write };

/* ---- saved state -------------------------------------------------------- */

/* The section: every field in struct order, each with the range or bits
 * its register can hold; the ring offsets depend on RCR (nic_check). */
#define F(f, ...) VMF_UINT(struct rtl8139_state, f, __VA_ARGS__)
#define A(f, ...) VMF_ARRAY(struct rtl8139_state, f, __VA_ARGS__)
static const struct vm_field nic_fields[] = {
    A(idr), A(mar), A(tsd), A(tsad),
    F(rbstart), F(rx_rd), F(cbr),
    F(imr, VM_BITS(INT_MASK)), F(isr),
    F(tcr, VM_BITS(TCR_WRITABLE | TCR_HWVERID)), F(rcr, VM_BITS(RCR_WRITABLE)),
    F(mpc), F(timer_int), F(multi_intr), F(bmcr), F(anar), F(cscr),
    F(cpcr, VM_BITS(CPCR_WRITABLE)), F(intr_mit), F(rx_max_size), F(rdsar_lo), F(rdsar_hi),
    F(cr, VM_BITS(CR_RE | CR_TE)), F(cfg9346, VM_BITS(EE_MODE)),
    F(config1), F(config3), F(config4), F(config5), F(etthr),
    F(tx_next, VM_MAX(3)), F(cp_tx_idx, VM_MAX(DESC_RING_MAX - 1)), F(cp_rx_idx, VM_MAX(DESC_RING_MAX - 1)),
    F(ee_state, VM_MAX(EE_NSTATES - 1)), F(ee_bits, VM_MAX(16)), F(ee_addr, VM_MAX(EE_WORDS - 1)),
    F(ee_pins, VM_BITS(EE_CS | EE_SK | EE_DI)), F(ee_do, VM_BOOL), F(ee_shift),
    F(unplugged, VM_BOOL),
    F(tx_ok), F(rx_ok), F(tx_err), F(rx_ok_phy), F(rx_ok_brd), F(rx_err), F(rx_ok_mul), F(miss), F(tx_abt),
    VMF_END
};
#undef F
#undef A

/* The legacy ring offsets lie inside the ring RCR's RBLEN selects. */
static int nic_check(const void *live, void *staging, char *err, size_t errlen)
{
    const struct rtl8139_state *s = staging;
    uint32_t size = legacy_buf_size(s);

    (void)live;
    if (s->rx_rd >= size || s->cbr >= size) {
        seterr(err, errlen, "rtl8139: ring offsets %u/%u outside the %u-byte receive ring",
               s->rx_rd, s->cbr, size);
        return -1;
    }
    return 0;
}

/* The interrupt line follows the restored ISR/IMR; a frame held for the
 * old ring state is offered again. */
static void nic_post_load(void *opaque)
{
    struct rtl8139 *n = opaque;

    rtl8139_update_irq(n);
    net_rx_kick(n->nic.nb);
}

/* ---- life --------------------------------------------------------------- */

struct rtl8139 *rtl8139_new(struct iobus *bus, struct pci_bus *pci, struct accel *accel, unsigned slot,
                             const uint8_t mac[6], struct net_backend *nb,
                             rtl8139_running_fn *running, void *running_opaque)
{
    static const struct nic_identity model = {
        "rtl8139", RTL8139_VENDOR, RTL8139_DEVICE, RTL8139_CLASS, RTL8139_REVISION,
    };
    struct rtl8139 *n = calloc(1, sizeof(*n));
    struct vmstate_dev vd = {
        .version = 1, .state_size = sizeof(struct rtl8139_state),
        .fields = nic_fields, .check = nic_check, .post_load = nic_post_load,
    };

    if (!n)
        return NULL;
    nic_init(&n->nic, &model, bus, accel, slot, mac, nb, running, running_opaque, n);
    io_region_init(&n->bar_io, IO_PIO, "rtl8139-io", &regs_ops, n, RTL8139_REGS);
    io_region_init(&n->bar_mmio, IO_MMIO, "rtl8139-mmio", &regs_ops, n, RTL8139_REGS);
    pci_dev_set_bar(&n->nic.dev, 0, true, RTL8139_REGS, &n->bar_io);
    pci_dev_set_bar(&n->nic.dev, 1, false, RTL8139_REGS, &n->bar_mmio);
    chip_reset(n, false);
    vd.state = &n->st;
    vd.opaque = n;
    if (nic_register(&n->nic, pci, &vd, nic_receive, n) < 0) {
        free(n);
        return NULL;
    }
    return n;
}

void rtl8139_reset(struct rtl8139 *n)
{
    chip_reset(n, false);
}

void rtl8139_resume(struct rtl8139 *n)
{
    net_rx_kick(n->nic.nb);
}

void rtl8139_unplug(struct rtl8139 *n)
{
    if (!n)
        return;
    n->st.unplugged = 1;
    n->st.isr = n->st.imr = 0;
    rtl8139_update_irq(n);
    nic_unplug(&n->nic);
}

void rtl8139_free(struct rtl8139 *n)
{
    if (!n)
        return;
    nic_destroy(&n->nic);
    free(n);
}

const struct rtl8139_state *rtl8139_state(const struct rtl8139 *n) { return &n->st; }
