/* PIIX4 ACPI power management, PCI 00:01.3 (dm/devices/piix4-pm.c). */
#ifndef XSDM_PIIX4_PM_H
#define XSDM_PIIX4_PM_H

#include "dm/core/irq.h"

struct accel;
struct iobus;
struct pci_bus;
struct piix4_pm;

#define PIIX4_PM_SCI_IRQ 9     /* the ISA line hvmloader hardcodes for the SCI */

/* The function on pci, its fixed blocks (GPE0, hotplug windows) on bus,
 * PM_TMR from accel's clock, the SCI on sci, and poweroff raised when the
 * guest enters S5. cpus: bits set in the CPU presence map. Registers
 * state section "piix4-pm". */
struct piix4_pm *piix4_pm_new(struct pci_bus *pci, struct iobus *bus, struct accel *accel,
                              struct irq_line sci, struct irq_line poweroff, unsigned cpus);
void piix4_pm_reset(struct piix4_pm *p);
void piix4_pm_free(struct piix4_pm *p);

#endif
