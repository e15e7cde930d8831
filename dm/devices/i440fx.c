/* i440FX host bridge 00:00.0 (8086:1237 rev 2, class 0600) as qemu-xen
 * shows it. Its chipset registers (PAM 0x59-0x5f, SMRAM 0x72...) are plain
 * writable bytes: under Xen the hypervisor owns memory decoding. */
#include "dm/devices/i440fx.h"

#include "dm/core/pci.h"

static struct pci_dev host;

int i440fx_new(struct pci_bus *pci)
{
    pci_dev_init(&host, "i440fx", 0, 0, 0x8086, 0x1237, 0x060000, 0x02);
    /* Device-specific space: writable, without effect (as in QEMU). */
    for (unsigned r = 0x40; r < 0x100; r++)
        host.wmask[r] = 0xff;
    host.config[0x72] = 0x02;       /* SMRAM: compatible SMRAM at 0xa0000 */
    return pci_register(pci, &host);
}
