/* PCI bus 0: configuration mechanism #1 (0xcf8/0xcfc), config spaces with
 * write masks, BARs that follow what the guest (hvmloader/SeaBIOS/Linux)
 * programs, and INTx. Implemented in dm/core/pci.c; functions register here. */
#ifndef XSDM_PCI_H
#define XSDM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/core/iobus.h"
#include "dm/core/irq.h"

struct pci_bus;

#define PCI_MAX_BARS 6

struct pci_bar {
    uint32_t size;              /* power of two; 0 = unused */
    bool io;                    /* I/O space (else 32-bit MMIO) */
    struct io_region *region;   /* mapped at the programmed address when decoding is on */
};

struct pci_dev {
    const char *name;
    unsigned slot, fn;
    uint8_t config[256];        /* live config space (saved/restored as is) */
    uint8_t wmask[256];         /* bits the guest may change */
    uint8_t w1cmask[256];       /* write-1-to-clear bits (status register) */
    struct pci_bar bars[PCI_MAX_BARS];
    struct pci_bar rom;         /* expansion ROM BAR (0x30): MMIO, decodes when its enable bit is set */
    /* Optional: after the generic write has been applied (e.g. PIIX3 PIRQ
     * registers, IDE BM enable). reg/size as the guest wrote them. */
    void (*config_written)(struct pci_dev *d, unsigned reg, uint32_t val, unsigned size);
    void *opaque;
    struct pci_bus *bus;
    bool intx_level;
    bool unplugged;             /* gone for the guest (Xen platform unplug) */
};

/* Bus 0 with its config ports on io. The INTx pin (0 = INTA) of a function
 * in slot drives line irq_line_nth(intx, slot * 4 + pin); reset is raised
 * when the guest writes RST_CPU to 0xcf9. Registers state section "pci". */
struct pci_bus *pci_bus_new(struct iobus *io, struct irq_line intx, struct irq_line reset);
void pci_bus_free(struct pci_bus *bus);
/* Config spaces back to their built values; BARs stop decoding. */
void pci_bus_reset(struct pci_bus *bus);
/* Stop decoding every BAR: before the functions are freed. */
void pci_bus_unmap_all(struct pci_bus *bus);
/* Fill identity: vendor/device ids, class code (0xCCSSPP), header type 0,
 * interrupt pin (0 none, 1 = INTA ...), subsystem ids. wmask defaults to
 * command, cache line, latency, interrupt line. */
void pci_dev_init(struct pci_dev *d, const char *name, unsigned slot, unsigned fn,
                  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision);
void pci_dev_set_bar(struct pci_dev *d, int bar, bool io, uint32_t size, struct io_region *r);
/* A 32-bit memory BAR that is prefetchable (bit 3), e.g. a framebuffer. */
void pci_dev_set_bar_prefetch(struct pci_dev *d, int bar, uint32_t size, struct io_region *r);
/* The expansion ROM BAR (config 0x30): size a power of two >= 2 KiB. */
void pci_dev_set_rom(struct pci_dev *d, uint32_t size, struct io_region *r);
/* An expansion ROM BAR of size bytes that reads zeros and ignores writes
 * (no 0x55AA signature: firmware skips it), in r, named name: for a
 * function whose BAR layout must match qemu-xen's, which gives it a boot
 * ROM we do not have. */
void pci_dev_set_empty_rom(struct pci_dev *d, struct io_region *r, const char *name, uint32_t size);
int pci_register(struct pci_bus *bus, struct pci_dev *d);
struct pci_dev *pci_find(struct pci_bus *bus, unsigned slot, unsigned fn);
/* Config access by bus/slot/fn/reg (no device: reads all-ones). */
uint32_t pci_config_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, uint32_t val, unsigned size);
/* Re-evaluate BAR mappings (after a load or a reset). */
void pci_update_mappings(struct pci_dev *d);
/* Raise or lower the function's INTx pin (routed by the machine). */
void pci_set_irq(struct pci_dev *d, int level);
/* Xen platform unplug of a whole function, as qemu-xen removes it: its
 * BARs stop decoding, INTx drops, config cycles read all-ones and writes
 * are ignored from now on. The function stays registered (state sections
 * keep their shape); whoever restores a stream unplugs it again. */
void pci_unplug(struct pci_dev *d);
/* Visit every registered function (for Xen: map_pcidev_to_ioreq_server). */
void pci_foreach(struct pci_bus *bus, void (*fn)(struct pci_dev *d, void *opaque), void *opaque);

#endif
