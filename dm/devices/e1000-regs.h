/* Intel 82540EM register file, descriptor layouts and PHY registers: every
 * name dm/devices/e1000.c uses, after the 8254x developer's manual. */
#ifndef XSDM_E1000_REGS_H
#define XSDM_E1000_REGS_H

/* Register offsets in BAR0 (MMIO, 128 KiB). */
enum e1000_reg {
    E1K_CTRL     = 0x0000,
    E1K_STATUS   = 0x0008,
    E1K_EECD     = 0x0010,  /* EEPROM/flash control: microwire bit-banging */
    E1K_EERD     = 0x0014,  /* EEPROM read: word by word */
    E1K_CTRL_EXT = 0x0018,
    E1K_FLA      = 0x001c,
    E1K_MDIC     = 0x0020,  /* MDI (PHY) control */
    E1K_FCAL     = 0x0028,
    E1K_FCAH     = 0x002c,
    E1K_FCT      = 0x0030,
    E1K_VET      = 0x0038,  /* VLAN ethertype */
    E1K_ICR      = 0x00c0,  /* interrupt cause: read to clear */
    E1K_ITR      = 0x00c4,
    E1K_ICS      = 0x00c8,  /* interrupt cause set */
    E1K_IMS      = 0x00d0,  /* mask set (read: the mask) */
    E1K_IMC      = 0x00d8,  /* mask clear */
    E1K_RCTL     = 0x0100,
    E1K_FCTTV    = 0x0170,
    E1K_TXCW     = 0x0178,
    E1K_RXCW     = 0x0180,
    E1K_TCTL     = 0x0400,
    E1K_TIPG     = 0x0410,
    E1K_LEDCTL   = 0x0e00,
    E1K_PBA      = 0x1000,
    E1K_FCRTL    = 0x2160,
    E1K_FCRTH    = 0x2168,
    E1K_RDBAL    = 0x2800,
    E1K_RDBAH    = 0x2804,
    E1K_RDLEN    = 0x2808,
    E1K_RDH      = 0x2810,
    E1K_RDT      = 0x2818,
    E1K_RDTR     = 0x2820,
    E1K_RXDCTL   = 0x2828,
    E1K_RADV     = 0x282c,
    E1K_RSRPD    = 0x2c00,
    E1K_TXDMAC   = 0x3000,
    E1K_TDBAL    = 0x3800,
    E1K_TDBAH    = 0x3804,
    E1K_TDLEN    = 0x3808,
    E1K_TDH      = 0x3810,
    E1K_TDT      = 0x3818,
    E1K_TIDV     = 0x3820,
    E1K_TXDCTL   = 0x3828,
    E1K_TADV     = 0x382c,
    E1K_STATS    = 0x4000,  /* 64 statistics registers, each cleared when read */
    E1K_RXCSUM   = 0x5000,
    E1K_MTA      = 0x5200,  /* 128 x 32: multicast table */
    E1K_RA       = 0x5400,  /* 16 x (RAL, RAH): receive addresses */
    E1K_VFTA     = 0x5600,  /* 128 x 32: VLAN filter table */
    E1K_WUC      = 0x5800,
    E1K_WUFC     = 0x5808,
    E1K_WUS      = 0x5810,
    E1K_MANC     = 0x5820,
};

/* Statistics registers (offsets from E1K_STATS / 4 index stats[]). */
enum e1000_stat {
    ST_MPC   = 0x010 / 4,   /* missed packets (no descriptor, receiver off) */
    ST_GPRC  = 0x074 / 4,   /* good packets received */
    ST_BPRC  = 0x078 / 4,
    ST_MPRC  = 0x07c / 4,
    ST_GPTC  = 0x080 / 4,   /* good packets transmitted */
    ST_GORCL = 0x088 / 4,
    ST_GORCH = 0x08c / 4,
    ST_GOTCL = 0x090 / 4,
    ST_GOTCH = 0x094 / 4,
    ST_RNBC  = 0x0a0 / 4,   /* receive no buffers */
    ST_ROC   = 0x0ac / 4,   /* receive oversize */
    ST_TORL  = 0x0c0 / 4,
    ST_TORH  = 0x0c4 / 4,
    ST_TOTL  = 0x0c8 / 4,
    ST_TOTH  = 0x0cc / 4,
    ST_TPR   = 0x0d0 / 4,
    ST_TPT   = 0x0d4 / 4,
    ST_MPTC  = 0x0f0 / 4,
    ST_BPTC  = 0x0f4 / 4,
    ST_TSCTC = 0x0f8 / 4,   /* TCP segmentation contexts transmitted */
    ST_COUNT = 64,
};

#define E1K_MTA_N   128
#define E1K_RA_N    16
#define E1K_VFTA_N  128

/* BAR1 (I/O, 64 bytes): indirect access to the register file. */
#define E1K_IOADDR  0x00
#define E1K_IODATA  0x04

/* CTRL */
#define CTRL_FD       0x00000001u
#define CTRL_LRST     0x00000008u
#define CTRL_ASDE     0x00000020u
#define CTRL_SLU      0x00000040u
#define CTRL_RST      0x04000000u   /* self-clearing: device reset */
#define CTRL_VME      0x40000000u   /* VLAN mode: tag insertion and stripping */
#define CTRL_PHY_RST  0x80000000u

/* STATUS: a 1000 Mb/s full-duplex link, always up. */
#define STATUS_FD        0x00000001u
#define STATUS_LU        0x00000002u
#define STATUS_SPEED_1000 0x00000080u
#define STATUS_ASDV_1000 0x00000300u
#define STATUS_GIO_MASTER 0x00080000u

/* EECD: microwire EEPROM pins, and the software request/grant handshake. */
#define EECD_SK    0x00000001u
#define EECD_CS    0x00000002u
#define EECD_DI    0x00000004u
#define EECD_DO    0x00000008u
#define EECD_REQ   0x00000040u
#define EECD_GNT   0x00000080u
#define EECD_PRES  0x00000100u
#define EECD_SIZE  0x00000200u      /* clear: 64 words (6 address bits) */
#define EE_WORDS   64
#define EE_CMD_BITS 9              /* start bit, 2-bit opcode, 6-bit address */
#define EE_OP_READ 0x6             /* start + opcode 10 */
#define EE_CHECKSUM_WORD 0x3f
#define EE_SUM     0xbaba          /* words 0..0x3f add up to this */

/* EERD */
#define EERD_START      0x00000001u
#define EERD_DONE       0x00000010u
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16

/* CTRL_EXT */
#define CTRL_EXT_EE_RST 0x00002000u /* reload from the EEPROM: done at once */

/* MDIC */
#define MDIC_DATA       0x0000ffffu
#define MDIC_REG_SHIFT  16
#define MDIC_REG_MASK   0x1fu
#define MDIC_PHY_SHIFT  21
#define MDIC_PHY_MASK   0x1fu
#define MDIC_OP_WRITE   0x04000000u
#define MDIC_OP_READ    0x08000000u
#define MDIC_READY      0x10000000u
#define MDIC_INT_EN     0x20000000u
#define MDIC_ERROR      0x40000000u
#define E1K_PHY_ADDR    1

/* PHY registers (Marvell 88E1011 as on the 82540EM) */
enum e1000_phy_reg {
    PHY_CTRL = 0x00, PHY_STATUS = 0x01, PHY_ID1 = 0x02, PHY_ID2 = 0x03,
    PHY_AUTONEG_ADV = 0x04, PHY_LP_ABILITY = 0x05, PHY_AUTONEG_EXP = 0x06, PHY_NEXT_PAGE_TX = 0x07,
    PHY_LP_NEXT_PAGE = 0x08, PHY_1000T_CTRL = 0x09, PHY_1000T_STATUS = 0x0a, PHY_EXT_STATUS = 0x0f,
    M88_PHY_SPEC_CTRL = 0x10, M88_PHY_SPEC_STATUS = 0x11, M88_INT_ENABLE = 0x12, M88_INT_STATUS = 0x13,
    M88_EXT_PHY_SPEC_CTRL = 0x14, M88_RX_ERR_CNTR = 0x15, M88_PHY_PAGE_SELECT = 0x1d, M88_PHY_GEN_CONTROL = 0x1e,
    PHY_REGS = 0x20,
};
#define MII_CR_RESET           0x8000u
#define MII_CR_RESTART_AUTONEG 0x0200u
#define MII_SR_LINK_STATUS     0x0004u
#define MII_SR_AUTONEG_COMPLETE 0x0020u
/* Link up and autonegotiation complete: 10/100/1000 capable, preamble suppression. */
#define PHY_STATUS_VALUE       0x796du
#define PHY_ID1_VALUE          0x0141u  /* Marvell */
#define PHY_ID2_VALUE          0x0c20u  /* 88E1011 */
#define PHY_LP_ABILITY_VALUE   0x45e1u  /* partner: 10/100 half/full, pause, acked */
#define PHY_1000T_STATUS_VALUE 0x3c00u  /* partner 1000 full/half, receivers OK */
#define PHY_EXT_STATUS_VALUE   0x3000u  /* 1000BASE-T full/half */
#define M88_SPEC_STATUS_VALUE  0xac00u  /* 1000 Mb/s, full duplex, resolved, link */

/* ICR / ICS / IMS / IMC */
#define ICR_TXDW    0x00000001u     /* transmit descriptor written back */
#define ICR_TXQE    0x00000002u     /* transmit queue empty */
#define ICR_LSC     0x00000004u     /* link status change */
#define ICR_RXSEQ   0x00000008u
#define ICR_RXDMT0  0x00000010u     /* receive descriptors below the threshold */
#define ICR_RXO     0x00000040u     /* receiver overrun (no room) */
#define ICR_RXT0    0x00000080u     /* receiver timer: a frame arrived */
#define ICR_MDAC    0x00000200u     /* MDI access complete */
#define ICR_MASK    0x0001f6dfu     /* the causes an 82540 has */

/* RCTL */
#define RCTL_EN     0x00000002u
#define RCTL_SBP    0x00000004u
#define RCTL_UPE    0x00000008u     /* unicast promiscuous */
#define RCTL_MPE    0x00000010u     /* multicast promiscuous */
#define RCTL_LPE    0x00000020u     /* long packets (over 1522 bytes) */
#define RCTL_RDMTS_SHIFT 8          /* threshold: 1/2, 1/4, 1/8 of the ring */
#define RCTL_RDMTS  0x00000300u
#define RCTL_MO_SHIFT 12            /* which 12 address bits hash into the MTA */
#define RCTL_MO     0x00003000u
#define RCTL_BAM    0x00008000u     /* accept broadcast */
#define RCTL_BSIZE_SHIFT 16
#define RCTL_BSIZE  0x00030000u
#define RCTL_VFE    0x00040000u     /* VLAN filter */
#define RCTL_BSEX   0x02000000u     /* buffer size x16 */
#define RCTL_SECRC  0x04000000u     /* strip the FCS */
#define RCTL_WRITABLE 0x07fffffeu

/* TCTL */
#define TCTL_EN     0x00000002u
#define TCTL_PSP    0x00000008u

/* RXCSUM */
#define RXCSUM_WRITABLE 0x000003ffu

/* RAH */
#define RAH_AV      0x80000000u     /* address valid */
#define RAH_WRITABLE 0x8003ffffu     /* AV, address select, bytes 4-5 */

/* Ring registers: base 16-byte aligned, length in 128-byte units. */
#define RING_BASE_LO_MASK 0xfffffff0u
#define RING_LEN_MASK     0x000fff80u
#define RING_IDX_MASK     0x0000ffffu

/* Descriptors: 16 bytes. */
#define DESC_SIZE 16
/* Receive (legacy): addr[8] length[2] csum[2] status[1] errors[1] special[2]. */
#define RXD_LENGTH 8
#define RXD_STATUS 12
#define RXD_STAT_DD   0x01
#define RXD_STAT_EOP  0x02
#define RXD_STAT_IXSM 0x04          /* checksums not checked: the driver ignores them */
#define RXD_STAT_VP   0x08          /* VLAN tag stripped into special */
#define RXD_ERR_RXE   0x80

/* Transmit: addr[8] (context: offsets) then a 32-bit command/length word and
 * a 32-bit status/options/special word. */
#define TXD_CMDLEN 8
#define TXD_UPPER  12
#define TXD_STAT_DD     0x00000001u /* in the upper word's low byte */
#define TXD_LEN_LEGACY  0x0000ffffu
#define TXD_CSO_SHIFT   16          /* legacy: checksum offset */
#define TXD_CMD_EOP     0x01000000u
#define TXD_CMD_IFCS    0x02000000u
#define TXD_CMD_IC      0x04000000u /* legacy: insert checksum */
#define TXD_CMD_TSE     0x04000000u /* extended: TCP segmentation */
#define TXD_CMD_RS      0x08000000u /* report status */
#define TXD_CMD_RPS     0x10000000u
#define TXD_CMD_DEXT    0x20000000u /* extended descriptor */
#define TXD_CMD_VLE     0x40000000u /* insert the VLAN tag in special */
#define TXD_CMD_IDE     0x80000000u
#define TXD_DTYP_MASK   0x00f00000u
#define TXD_DTYP_CTX    0x00000000u
#define TXD_DTYP_DATA   0x00100000u
#define TXD_LEN_EXT     0x000fffffu
#define TXD_POPTS_IXSM  0x00000100u /* data: insert the IP checksum */
#define TXD_POPTS_TXSM  0x00000200u /* data: insert the TCP/UDP checksum */
#define TXD_CSS_SHIFT   8           /* legacy upper word: checksum start */
#define TXD_SPECIAL_SHIFT 16
/* Context descriptor: ipcss ipcso ipcse[2] tucss tucso tucse[2], then
 * PAYLEN/TUCMD, then status, hdr_len, mss[2]. */
#define TXC_TUCMD_TCP   0x01000000u /* TCP (else UDP) */
#define TXC_TUCMD_IP    0x02000000u /* IPv4 (else IPv6) */
#define TXC_HDRLEN_SHIFT 8
#define TXC_MSS_SHIFT   16

#endif
