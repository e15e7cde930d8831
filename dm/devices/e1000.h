/* Intel 82540EM gigabit Ethernet controller (dm/devices/e1000.c), as
 * qemu-xen presents its `e1000`: PCI 8086:100e revision 0x03, subsystem
 * 1af4:1100, BAR0 128 KiB of MMIO (the register file), BAR1 64 bytes of
 * I/O (IOADDR/IODATA, indirect access to the same registers), cache line
 * 0x10, INTA. Register and bit names are in dm/devices/e1000-regs.h. */
#ifndef XSDM_E1000_H
#define XSDM_E1000_H

#include <stdbool.h>
#include <stdint.h>

struct accel;
struct iobus;
struct net_backend;
struct pci_bus;
struct e1000;

#define E1000_VENDOR   0x8086
#define E1000_DEVICE   0x100e          /* 82540EM */
#define E1000_REVISION 0x03
#define E1000_CLASS    0x020000        /* network, Ethernet */
#define E1000_SUBSYS_VENDOR 0x1af4     /* QEMU's default subsystem, in the EEPROM too */
#define E1000_SUBSYS   0x1100
#define E1000_MMIO_SIZE 0x20000
#define E1000_IO_SIZE   0x40
/* One transmit slice (a TDT write, or a later loop round for the rest):
 * no frame starts after this many descriptors or bytes on the wire. */
#define E1000_TX_BUDGET_DESC  64
#define E1000_TX_BUDGET_BYTES (256 * 1024)

/* The transmit context the last context descriptor set (offsets into the
 * frame; end 0 = the frame's end), used by the data descriptors after it. */
struct e1000_tx_ctx {
    uint8_t ipcss, ipcso;
    uint16_t ipcse;
    uint8_t tucss, tucso;
    uint16_t tucse;
    uint32_t tucmd;             /* TXC_TUCMD_* bits of the context's command word */
    uint8_t hdr_len;
    uint16_t mss;
};

/* Guest-visible state: saved and restored as one section. */
struct e1000_state {
    uint32_t ctrl, ctrl_ext, eecd, eerd, fla, mdic;
    uint32_t fcal, fcah, fct, vet, fcttv, txcw, rxcw, tipg, ledctl, pba, fcrtl, fcrth;
    uint32_t icr, itr, ims;
    uint32_t rctl, tctl, rxcsum;
    uint32_t rdbal, rdbah, rdlen, rdh, rdt, rdtr, rxdctl, radv, rsrpd;
    uint32_t txdmac, tdbal, tdbah, tdlen, tdh, tdt, tidv, txdctl, tadv;
    uint32_t wuc, wufc, wus, manc;
    uint32_t ioaddr;            /* BAR1: the register IODATA reaches */
    uint32_t mta[128], ra[32], vfta[128], stats[64];
    uint16_t phy[32];
    struct e1000_tx_ctx ctx;
    /* Microwire EEPROM serial state (EECD bit-banging). */
    uint8_t ee_state, ee_bits, ee_addr, ee_do;
    uint16_t ee_shift;
    uint8_t unplugged;          /* Xen platform unplug: the NIC is gone for the guest */
};

/* The board's answer to "may the VM's memory and state change now?". */
typedef bool e1000_running_fn(void *opaque);

/* A NIC in PCI slot `slot` of pci with station address mac (its EEPROM's),
 * BARs mapped on bus, DMA through accel, attached to backend nb, which it
 * owns from now on (NULL: frames sent are dropped, none arrive). While
 * running(opaque) is false (NULL: always running) a frame is held in the
 * backend, and the rest of a transmit waits, until e1000_resume(). A
 * transmit beyond one slice's budget goes on in the backend's loop (with
 * no backend, at the next TDT or TCTL write). Registers its state section as
 * "e1000.<slot>". NULL if it cannot be registered. */
struct e1000 *e1000_new(struct iobus *bus, struct pci_bus *pci, struct accel *accel, unsigned slot,
                        const uint8_t mac[6], struct net_backend *nb, e1000_running_fn *running, void *opaque);
void e1000_reset(struct e1000 *n);
void e1000_resume(struct e1000 *n);
/* Xen platform unplug: no more decoding, interrupts or DMA; tap closed. */
void e1000_unplug(struct e1000 *n);
void e1000_free(struct e1000 *n);
const struct e1000_state *e1000_state(const struct e1000 *n);
/* The EEPROM word at addr (< 64), as the guest reads it. */
uint16_t e1000_eeprom_word(const struct e1000 *n, unsigned addr);

#endif
