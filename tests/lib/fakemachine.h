/* An in-process machine on a fake accelerator, for unit tests and fuzzers:
 * guest RAM is a caller's array, ISA IRQ levels and edges are recorded, and
 * (Xen-like on request) PCI INTx and PIRQ routes are recorded too. Either
 * bare (the caller adds devices on f->m.bus, wired with machine_isa_irq(&f->m,
 * n) and machine_guest_request()) or a whole xenfv machine through
 * machine_init(). No libcheck here: the fuzzers link it. */
#ifndef XSDM_TEST_FAKEMACHINE_H
#define XSDM_TEST_FAKEMACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/board/machine.h"
#include "dm/core/accel.h"

struct xsdm_config;
struct loop;

struct fake_machine {
    struct machine m;
    struct accel acc;           /* acc.priv = this fake_machine */
    struct accel_ops ops;       /* a copy: callers may replace hooks before use */
    uint8_t *ram;               /* NULL: every DMA fails */
    size_t ram_size;
    int irq_level[16];
    int irq_edges[16];          /* low -> high transitions seen */
    int link_route[4];          /* last PIRQ route per link (Xen-like only) */
    int intx_calls;             /* set_pci_intx calls (Xen-like only) */
};

/* Zero f and set up the accelerator with ram_size bytes of guest RAM at ram
 * (ram may be NULL: DMA fails, the machine still sees ram_size), then a bare
 * machine: empty I/O bus, no devices, and no vmstate sections registered.
 * The machine passing an ISA line >= 16 to the accelerator aborts: a bug. */
void fake_machine_init(struct fake_machine *f, uint8_t *ram, size_t ram_size);
/* Route PCI INTx and PIRQ writes to the accelerator as Xen does (recorded). */
void fake_machine_xen_routing(struct fake_machine *f);
/* Guest RAM zeroed, IRQ records cleared, machine_reset(), state running. */
void fake_machine_reset(struct fake_machine *f);

void fake_outb(struct fake_machine *f, uint16_t port, uint8_t v);
uint8_t fake_inb(struct fake_machine *f, uint16_t port);

/* cli_defaults() on the qtest accelerator. */
void fake_config(struct xsdm_config *cfg);
/* COM1 on a null backend, chardev "serial0". */
void fake_config_null_serial(struct xsdm_config *cfg);

/* The machine the fuzzers drive: xenfv with the Xen platform device,
 * -no-shutdown, a 1 MiB raw disk as ide0-hd0 (its file already unlinked:
 * the open fd keeps it), an empty CD-ROM as secondary master if asked, COM1
 * on a null backend. cfg must outlive the machine. 0, or -1 if the machine
 * could not be built. */
int fake_machine_xenfv(struct fake_machine *f, struct xsdm_config *cfg, struct loop *l, bool cdrom);
/* The same machine built in m (a struct dm's, for QMP) on f's accelerator;
 * machine_free(m) takes it down. */
int fake_xenfv_build(struct fake_machine *f, struct machine *m, struct xsdm_config *cfg, struct loop *l,
                     bool cdrom);

#endif
