/* Xen platform PCI device, 00:02.0 or 00:03.0 after a VGA (dm/devices/xen-platform.c). */
#ifndef XSDM_XEN_PLATFORM_H
#define XSDM_XEN_PLATFORM_H

struct iobus;
struct pci_bus;
struct xen_platform;

/* Unplug bits of Xen's emulated-device unplug protocol
 * (docs/misc/hvm-emulated-unplug). */
#define UNPLUG_IDE_DISKS 0x01       /* all emulated IDE disks (CD-ROMs stay) */
#define UNPLUG_NICS      0x02
#define UNPLUG_AUX_IDE   0x04       /* all IDE disks but the primary master */
#define UNPLUG_NVME      0x08
#define UNPLUG_ALL       0x0f

/* The board removes the emulated devices of mask (UNPLUG_* bits): called
 * when the guest unplugs, and again after a restore for what it had. */
typedef void xen_unplug_fn(void *opaque, unsigned mask);

/* The function in slot (the board's choice) of pci, the fixed unplug
 * ports on bus. Registers state section "xen-platform". */
struct xen_platform *xen_platform_new(struct pci_bus *pci, unsigned slot, struct iobus *bus,
                                      xen_unplug_fn *unplug, void *opaque);
void xen_platform_reset(struct xen_platform *p);
void xen_platform_free(struct xen_platform *p);

#endif
