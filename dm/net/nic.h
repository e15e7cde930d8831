/* What the NIC models (dm/devices/rtl8139.c, dm/devices/e1000.c) share, in
 * dm/net/nic.c: the PCI function named "<model>.<slot>" with INTA and the
 * empty 256 KiB expansion ROM qemu-xen's layout has, the backend it owns,
 * the board's "may the VM's state change now?", registration of the
 * function, its state section and its receiver, and Xen platform unplug. */
#ifndef XSDM_NIC_H
#define XSDM_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/pci.h"
#include "dm/net/net.h"

struct accel;
struct iobus;
struct loop;
struct vmstate_dev;

/* The expansion ROM BAR qemu-xen gives its NICs (efi-<model>.rom, 244 KiB,
 * rounded up): the same size keeps the firmware's BAR layout, and so the
 * guest's view of every BAR, identical. Ours is empty (no boot ROM). */
#define NIC_ROM_SIZE (256 * 1024)

typedef bool nic_running_fn(void *opaque);

/* The model's PCI identity. */
struct nic_identity {
    const char *name;           /* "e1000": the section is "e1000.<slot>", the ROM "e1000-rom" */
    uint16_t vendor, device;
    uint32_t class_code;
    uint8_t revision;
};

struct nic {
    struct pci_dev dev;
    struct iobus *bus;          /* where the BARs are mapped */
    struct accel *accel;        /* guest memory for DMA */
    struct net_backend *nb;     /* NULL: frames sent are dropped, none arrive */
    struct loop *loop;          /* the backend's, kept after unplug; NULL without one */
    nic_running_fn *running;    /* NULL: always running */
    void *running_opaque;
    struct io_region bar_rom;
    uint8_t mac[6];             /* from -device mac=: the EEPROM's */
    char name[24];              /* "<model>.<slot>": the state section */
    char rom_name[24];
};

/* Fill c and its PCI function (INTA, the empty ROM; dev.opaque = owner). */
void nic_init(struct nic *c, const struct nic_identity *m, struct iobus *bus, struct accel *accel, unsigned slot,
              const uint8_t mac[6], struct net_backend *nb, nic_running_fn *running, void *running_opaque,
              void *owner);
/* Register the function and the state section vd (named c->name here) and
 * attach rx to the backend. 0, or -1 logged (nothing attached). */
int nic_register(struct nic *c, struct pci_bus *pci, struct vmstate_dev *vd, net_rx_fn *rx, void *opaque);
/* The VM is stopped: its memory and device state must not change (its
 * state may be being saved). */
bool nic_stopped(const struct nic *c);
/* The guest let the function master the bus (and there is memory to reach). */
bool nic_bus_master(const struct nic *c);
/* Xen platform unplug, as qemu-xen deletes the NIC and its tap: the
 * function is gone for the guest, and a tap the DM created disappears from
 * the host, one the toolstack passed is just detached. The caller drops
 * its interrupt causes first. */
void nic_unplug(struct nic *c);
/* The backend freed, every BAR unmapped from bus. */
void nic_destroy(struct nic *c);

int nic_dma_read(struct nic *c, uint64_t gpa, void *buf, size_t len);
int nic_dma_write(struct nic *c, uint64_t gpa, const void *buf, size_t len);

#endif
