/* Realtek RTL8139C+ Ethernet controller (dm/devices/rtl8139.c), as qemu-xen
 * presents it: PCI 10ec:8139 revision 0x20 (Linux binds 8139cp; 8139too
 * refuses revisions >= 0x20 unless told otherwise, Windows and the BSDs
 * drive it either way), BAR0 256 bytes of I/O and BAR1 256 bytes of MMIO
 * over the same register file, INTA.
 * Two DMA models, chosen per direction by the C+ command register: the
 * legacy receive ring buffer with four transmit slots (8139too), and the
 * C+ descriptor rings (8139cp). Register names follow the datasheet. */
#ifndef XSDM_RTL8139_H
#define XSDM_RTL8139_H

#include <stdbool.h>
#include <stdint.h>

struct accel;
struct iobus;
struct net_backend;
struct pci_bus;
struct rtl8139;

#define RTL8139_VENDOR   0x10ec
#define RTL8139_DEVICE   0x8139
#define RTL8139_REVISION 0x20          /* 8139C+ (qemu-xen's RTL8139_PCI_REVID) */
#define RTL8139_CLASS    0x020000      /* network, Ethernet */
#define RTL8139_REGS     0x100         /* BAR0 (I/O) and BAR1 (MMIO) size */

/* Registers (byte offsets into the BARs). */
enum rtl8139_reg {
    REG_IDR0     = 0x00,   /* 6 bytes: station address */
    REG_MAR0     = 0x08,   /* 8 bytes: multicast hash filter */
    REG_TSD0     = 0x10,   /* 4x32 transmit status; C+: DTCCR (tally dump address, 64-bit) */
    REG_TSAD0    = 0x20,   /* 4x32 transmit buffer address; C+: TNPDS (0x20) and THPDS (0x28) */
    REG_RBSTART  = 0x30,   /* legacy receive ring buffer address */
    REG_ERBCR    = 0x34,   /* early receive byte count */
    REG_ERSR     = 0x36,   /* early receive status */
    REG_CR       = 0x37,   /* command */
    REG_CAPR     = 0x38,   /* current address of packet read (guest's offset - 16) */
    REG_CBR      = 0x3a,   /* current buffer address (our write offset) */
    REG_IMR      = 0x3c,
    REG_ISR      = 0x3e,   /* write 1 to clear */
    REG_TCR      = 0x40,
    REG_RCR      = 0x44,
    REG_TCTR     = 0x48,   /* timer count (not emulated: reads 0) */
    REG_MPC      = 0x4c,   /* missed packets, 24 bits; any write clears */
    REG_9346CR   = 0x50,   /* EEPROM mode and bit-bang pins */
    REG_CONFIG0  = 0x51,
    REG_CONFIG1  = 0x52,
    REG_TIMERINT = 0x54,
    REG_MSR      = 0x58,   /* media status */
    REG_CONFIG3  = 0x59,
    REG_CONFIG4  = 0x5a,
    REG_HLTCLK   = 0x5b,
    REG_MULINT   = 0x5c,
    REG_RERID    = 0x5e,   /* revision, as in PCI config */
    REG_TSAD     = 0x60,   /* transmit status of all descriptors */
    REG_BMCR     = 0x62,   /* MII basic mode control */
    REG_BMSR     = 0x64,   /* MII basic mode status */
    REG_ANAR     = 0x66,
    REG_ANLPAR   = 0x68,
    REG_ANER     = 0x6a,
    REG_CSCR     = 0x74,
    REG_CONFIG5  = 0xd8,
    REG_TPPOLL   = 0xd9,   /* C+: transmit poll */
    REG_RXMAXSZ  = 0xda,
    REG_CPCR     = 0xe0,   /* C+ command */
    REG_INTRMIT  = 0xe2,   /* interrupt mitigation (stored, not applied) */
    REG_RDSAR    = 0xe4,   /* C+: receive descriptor ring address, 64-bit */
    REG_ETTHR    = 0xec,   /* early transmit threshold */
};

/* CR */
#define CR_BUFE   0x01     /* legacy receive buffer empty (read only) */
#define CR_TE     0x04
#define CR_RE     0x08
#define CR_RST    0x10

/* IMR / ISR */
#define INT_ROK     0x0001
#define INT_RER     0x0002
#define INT_TOK     0x0004
#define INT_TER     0x0008
#define INT_RXOVW   0x0010 /* legacy: buffer overflow; C+: receive descriptor unavailable */
#define INT_PUN     0x0020 /* packet underrun / link change */
#define INT_FOVW    0x0040
#define INT_TDU     0x0080 /* C+: transmit descriptor unavailable */
#define INT_SWINT   0x0100
#define INT_TIMEOUT 0x4000
#define INT_SERR    0x8000
#define INT_MASK    0xc1ff

/* TSD (legacy transmit status) */
#define TSD_SIZE      0x00001fff
#define TSD_OWN       0x00002000 /* set: the slot is the driver's (idle or done) */
#define TSD_TUN       0x00004000
#define TSD_TOK       0x00008000
#define TSD_ERTXTH    0x003f0000
#define TSD_TABT      0x40000000
#define TSD_LEGACY_MAX 1792      /* largest legacy transmit the datasheet allows */

/* TCR */
#define TCR_WRITABLE  0x030707f0 /* retry, DMA burst, no-CRC, loopback, IFG */
#define TCR_LOOPBACK  0x00060000
#define TCR_HWVERID   0x74800000 /* RTL8139C+ */

/* RCR */
#define RCR_AAP       0x00000001 /* accept all physical (promiscuous) */
#define RCR_APM       0x00000002 /* accept physical match */
#define RCR_AM        0x00000004 /* accept multicast (hash filtered) */
#define RCR_AB        0x00000008 /* accept broadcast */
#define RCR_WRAP      0x00000080 /* set: do not wrap a frame at the buffer's end */
#define RCR_RBLEN_SHIFT 11       /* buffer 8 KiB << RBLEN */
#define RCR_RBLEN     0x00001800
#define RCR_WRITABLE  0x0f03ffff

/* Legacy receive header status */
#define RXS_ROK   0x0001
#define RXS_BAR   0x2000
#define RXS_PAM   0x4000
#define RXS_MAR   0x8000

/* 9346CR: EEPROM operating mode and the serial pins */
#define EE_MODE       0xc0
#define EE_MODE_NORMAL  0x00
#define EE_MODE_AUTOLOAD 0x40
#define EE_MODE_PROGRAM 0x80
#define EE_MODE_CFGWE   0xc0     /* config registers writable */
#define EE_CS  0x08
#define EE_SK  0x04
#define EE_DI  0x02
#define EE_DO  0x01
#define EE_WORDS 64              /* 93C46: 64 16-bit words, 6 address bits */
#define EE_OP_READ 2

/* MSR / MII */
#define MSR_VALUE   0xd0         /* flow control on, aux power; link up (LINKB clear), 100 Mb/s */
#define BMCR_RESET  0x8000
#define BMCR_ANRESTART 0x0200
#define BMCR_ANENABLE  0x1000
#define BMSR_VALUE  0x782d       /* 10/100 half/full, autoneg complete, link up */
#define ANLPAR_VALUE 0x05e1
#define ANER_VALUE  0x0001

/* TPPoll */
#define TPPOLL_FSWINT 0x01
#define TPPOLL_NPQ    0x40
#define TPPOLL_HPQ    0x80

/* C+ command */
#define CPCR_TXON    0x0001
#define CPCR_RXON    0x0002
#define CPCR_MULRW   0x0008
#define CPCR_DAC     0x0010
#define CPCR_RXCSUM  0x0020
#define CPCR_RXVLAN  0x0040
#define CPCR_WRITABLE 0x007b

/* DTCCR: dump tally counters */
#define DTCCR_CMD    0x08

/* C+ descriptors: 16 bytes (opts1, opts2, 64-bit buffer address). */
#define DESC_SIZE      16
#define DESC_RING_MAX  64        /* descriptors per ring, whatever EOR says */
#define DESC_OWN       0x80000000u
#define DESC_EOR       0x40000000u
#define DESC_FS        0x20000000u
#define DESC_LS        0x10000000u
#define TXD_LGSEN      0x08000000u
#define TXD_MSS_SHIFT  16
#define TXD_MSS_MASK   0x7ffu
#define TXD_ERR        0x00800000u
#define TXD_IPCS       0x00040000u
#define TXD_UDPCS      0x00020000u
#define TXD_TCPCS      0x00010000u
#define TXD_LEN        0x0000ffffu
#define TXD2_TAGC      0x00020000u /* opts2: insert the VLAN tag in the low 16 bits */
#define RXD_MAR        0x04000000u
#define RXD_PAM        0x02000000u
#define RXD_BAR        0x01000000u
#define RXD_LEN        0x00001fffu /* buffer size given; frame length + 4 returned */

#define RX_FRAME_MAX   1792      /* longest frame delivered (no jumbo frames on an 8139) */
#define TX_FRAME_MAX   1792      /* longest frame sent without large send */
#define ETH_FCS_LEN    4

/* Guest-visible state: saved and restored as one section. */
struct rtl8139_state {
    uint8_t idr[6], mar[8];
    uint32_t tsd[4], tsad[4];
    uint32_t rbstart;
    uint16_t rx_rd;             /* legacy ring: the guest's read offset (CAPR + 16) */
    uint16_t cbr;               /* legacy ring: our write offset */
    uint16_t imr, isr;
    uint32_t tcr, rcr, mpc, timer_int;
    uint16_t multi_intr, bmcr, anar, cscr;
    uint16_t cpcr, intr_mit, rx_max_size;
    uint32_t rdsar_lo, rdsar_hi;
    uint8_t cr;                 /* CR_RE | CR_TE */
    uint8_t cfg9346, config1, config3, config4, config5, etthr;
    uint8_t tx_next;            /* legacy: the slot transmitted next (ring order) */
    uint8_t cp_tx_idx, cp_rx_idx;
    uint8_t ee_state, ee_bits, ee_addr, ee_pins, ee_do;
    uint16_t ee_shift;
    uint8_t unplugged;          /* Xen platform unplug: the NIC is gone for the guest */
    /* Tally counters (DTCCR dump). */
    uint64_t tx_ok, rx_ok, tx_err, rx_ok_phy, rx_ok_brd;
    uint32_t rx_err, rx_ok_mul;
    uint16_t miss, tx_abt;
};

/* The board's answer to "may the VM's memory and state change now?"
 * (false while it is stopped: a save may be under way). */
typedef bool rtl8139_running_fn(void *opaque);

/* A NIC in PCI slot `slot` of pci with station address mac, its BARs
 * mapped on bus, DMA through accel, attached to backend nb, which it owns
 * from now on (NULL: frames sent are dropped and none arrive). While
 * running(opaque) is false (NULL: always running) a frame is held in the
 * backend until rtl8139_resume(). INTx goes through the PCI bus. Registers
 * its state section as "rtl8139.<slot>". NULL if it cannot be registered. */
struct rtl8139 *rtl8139_new(struct iobus *bus, struct pci_bus *pci, struct accel *accel, unsigned slot,
                            const uint8_t mac[6], struct net_backend *nb,
                            rtl8139_running_fn *running, void *opaque);
void rtl8139_reset(struct rtl8139 *n);
/* The VM runs again: take the frame held while it was stopped. */
void rtl8139_resume(struct rtl8139 *n);
/* Xen platform unplug: the guest's PV drivers took over. The NIC stops
 * decoding, raising interrupts and doing DMA, and its tap is closed. */
void rtl8139_unplug(struct rtl8139 *n);
void rtl8139_free(struct rtl8139 *n);
const struct rtl8139_state *rtl8139_state(const struct rtl8139 *n);

#endif
