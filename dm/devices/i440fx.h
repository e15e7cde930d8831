/* i440FX host bridge 00:00.0 (dm/devices/i440fx.c). */
#ifndef XSDM_I440FX_H
#define XSDM_I440FX_H

struct pci_bus;

/* 0, or -1 if the slot is taken. */
int i440fx_new(struct pci_bus *pci);

#endif
