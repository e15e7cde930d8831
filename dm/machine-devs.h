/* The machine's own PCI functions (dm/i440fx.c, dm/piix3.c, dm/piix4-pm.c,
 * dm/xen-platform.c) and the bus reset: internal to dm/machine.c. */
#ifndef XSDM_MACHINE_DEVS_H
#define XSDM_MACHINE_DEVS_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct pci_bus;

/* Config spaces back to their built values; BARs stop decoding. */
void pci_bus_reset(struct pci_bus *bus);
/* Stop decoding every BAR: before the functions are freed. */
void pci_bus_unmap_all(struct pci_bus *bus);

int i440fx_new(struct machine *m);

/* PIIX3 ISA bridge 00:01.0 and the machine's interrupt routing: ISA lines
 * and PCI INTx (through PIRQ registers 0x60-0x63) are ORed per ISA IRQ. */
void *piix3_new(struct machine *m);
void piix3_reset(void *p);
void piix3_free(void *p);
void piix3_set_isa_irq(void *p, unsigned irq, int level);
void piix3_set_pci_intx(void *p, unsigned slot, unsigned pin, int level);

void *piix4_pm_new(struct machine *m);
void piix4_pm_reset(void *p);
void piix4_pm_free(void *p);

void *xen_platform_new(struct machine *m);
void xen_platform_reset(void *p);
void xen_platform_free(void *p);

#endif
