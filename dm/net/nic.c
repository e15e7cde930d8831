/* The NIC models' shared plumbing (dm/net/nic.h). */
#include "dm/net/nic.h"

#include <stdio.h>
#include <string.h>

#include "dm/core/accel.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"

#define PCI_COMMAND    0x04
#define PCI_CMD_MASTER 0x04
#define PCI_INT_PIN    0x3d

void nic_init(struct nic *c, const struct nic_identity *m, struct iobus *bus, struct accel *accel, unsigned slot,
              const uint8_t mac[6], struct net_backend *nb, nic_running_fn *running, void *running_opaque,
              void *owner)
{
    c->bus = bus;
    c->accel = accel;
    c->nb = nb;
    c->loop = net_backend_loop(nb);
    c->running = running;
    c->running_opaque = running_opaque;
    memcpy(c->mac, mac, 6);
    snprintf(c->name, sizeof(c->name), "%s.%u", m->name, slot);
    snprintf(c->rom_name, sizeof(c->rom_name), "%s-rom", m->name);
    pci_dev_init(&c->dev, c->name, slot, 0, m->vendor, m->device, m->class_code, m->revision);
    c->dev.config[PCI_INT_PIN] = 0x01;     /* INTA */
    pci_dev_set_empty_rom(&c->dev, &c->bar_rom, c->rom_name, NIC_ROM_SIZE);
    c->dev.opaque = owner;
}

int nic_register(struct nic *c, struct pci_bus *pci, struct vmstate_dev *vd, net_rx_fn *rx, void *opaque)
{
    vd->name = c->name;
    if (pci_register(pci, &c->dev) < 0 || vmstate_register(vd) < 0) {
        log_err("%s: cannot register", c->name);
        return -1;
    }
    if (c->nb)
        net_set_receiver(c->nb, rx, opaque);
    return 0;
}

bool nic_stopped(const struct nic *c)
{
    return c->running && !c->running(c->running_opaque);
}

bool nic_bus_master(const struct nic *c)
{
    return (c->dev.config[PCI_COMMAND] & PCI_CMD_MASTER) && c->accel;
}

void nic_unplug(struct nic *c)
{
    pci_unplug(&c->dev);
    if (c->nb) {
        log_info("%s: unplugged by the guest; tap %s closed", c->name, net_backend_id(c->nb));
        net_backend_free(c->nb);
        c->nb = NULL;
    }
}

void nic_destroy(struct nic *c)
{
    net_backend_free(c->nb);
    c->nb = NULL;
    for (int i = 0; i < PCI_MAX_BARS; i++)
        if (c->dev.bars[i].region && c->dev.bars[i].region->mapped)
            io_region_unmap(c->bus, c->dev.bars[i].region);
    if (c->bar_rom.mapped)
        io_region_unmap(c->bus, &c->bar_rom);
}

int nic_dma_read(struct nic *c, uint64_t gpa, void *buf, size_t len)
{
    return accel_mem_read(c->accel, gpa, buf, len);
}

int nic_dma_write(struct nic *c, uint64_t gpa, const void *buf, size_t len)
{
    return accel_mem_write(c->accel, gpa, buf, len);
}
