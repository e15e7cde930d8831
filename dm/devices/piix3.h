/* PIIX3 ISA bridge 00:01.0 and the machine's interrupt routing
 * (dm/devices/piix3.c): ISA lines and PCI INTx (through PIRQ registers 0x60-0x63)
 * are ORed per ISA IRQ and given to the accelerator, the interrupt
 * controller of this board. */
#ifndef XSDM_PIIX3_H
#define XSDM_PIIX3_H

struct accel;
struct pci_bus;
struct piix3;

struct piix3 *piix3_new(struct pci_bus *pci, struct accel *accel);
void piix3_reset(struct piix3 *p);
void piix3_free(struct piix3 *p);
void piix3_set_isa_irq(struct piix3 *p, unsigned irq, int level);
void piix3_set_pci_intx(struct piix3 *p, unsigned slot, unsigned pin, int level);

#endif
