/* The xenfv machine with vga="none": which devices sit where, and the one
 * entry point accelerators use to deliver guest I/O. Layout (docs/devices.md):
 *   00:00.0 i440FX host bridge   8086:1237
 *   00:01.0 PIIX3 ISA bridge     8086:7000  PIRQ route regs 0x60-0x63
 *   00:01.1 PIIX3 IDE            8086:7010  0x1f0/0x3f6 irq14, 0x170/0x376 irq15, BM BAR4
 *   00:01.3 PIIX4 ACPI PM        8086:7113  PM io 0xb000, SMBus 0xb100
 *   00:02.0 Xen platform device  5853:0001  BAR0 io 256, BAR1 mmio 16 MiB
 *   ISA: 16550A COM1 0x3f8 irq4, i8042 0x60/0x64, port 0x92, PCI conf 0xcf8/0xcfc,
 *        CMOS RAM 0x70/0x71 (bytes 0x0e-0x7f: Xen's vRTC keeps the clock) */
#ifndef XSDM_MACHINE_H
#define XSDM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/accel.h"
#include "dm/iobus.h"

struct xsdm_config;
struct loop;
struct pci_bus;
struct ide_ctrl;
struct uart;
struct chardev;
struct cmos;
struct hd_geometry;

enum run_state { RUN_PRELAUNCH, RUN_RUNNING, RUN_PAUSED, RUN_INMIGRATE, RUN_SHUTDOWN };

struct machine {
    const struct xsdm_config *cfg;
    struct accel *accel;
    struct loop *loop;
    struct iobus bus;
    enum run_state state;
    bool no_shutdown;
    bool shutdown_requested;
    enum shutdown_reason shutdown_why;
    /* Devices (opaque to callers; owned by the machine). */
    struct pci_bus *pci;
    struct ide_ctrl *ide;
    struct uart *uart[4];
    void *piix3, *piix4_pm, *platform, *i8042, *port92;
    struct cmos *cmos;
};

/* Device constructors, one file each; machine_init() calls them. They map
 * their own I/O regions, register with the PCI bus and with vmstate. */
struct uart *uart_new(struct machine *m, int index, struct chardev *backend); /* dm/uart16550.c: COM1 0x3f8 irq 4 */
void uart_reset(struct uart *u);
void *i8042_new(struct machine *m);                  /* dm/i8042.c */
void i8042_reset(void *kbd);
void *port92_new(struct machine *m);                 /* dm/port92.c */
struct ide_ctrl *ide_ctrl_new(struct machine *m, const struct xsdm_config *cfg,
                              char *err, size_t errlen); /* dm/ide.c: PCI 00:01.1 + drives */
void ide_ctrl_reset(struct ide_ctrl *ide);
void ide_ctrl_free(struct ide_ctrl *ide);
/* Geometry and BIOS translation of the disk at index 0-3 (bus*2+unit), for
 * the CMOS: 0, or -1 if no disk with a medium sits there (CD-ROMs too). */
int ide_ctrl_disk_geometry(struct ide_ctrl *ide, int index, struct hd_geometry *g);

/* The PC firmware's CMOS bytes (dm/pc-cmos.c), as qemu-xen fills them: memory
 * sizes, boot order, equipment, hard disk types and geometry. pc_cmos_init
 * refuses (-1, logged) a boot order the firmware cannot be given. */
int pc_cmos_init(struct machine *m);
void pc_cmos_reset(struct machine *m);

/* Build every device from cfg (opens disk images and char backends: call
 * before restriction). Returns 0, or -1 with a logged reason. */
int machine_init(struct machine *m, const struct xsdm_config *cfg, struct accel *a, struct loop *l);
void machine_reset(struct machine *m);          /* system_reset / guest reset */
void machine_free(struct machine *m);

/* PCI configuration cycles delivered directly (Xen's IOREQ_TYPE_PCI_CONFIG):
 * bus 0 only; reg is the byte offset 0-255; size 1/2/4. */
uint32_t machine_pci_config_read(struct machine *m, unsigned slot, unsigned fn, unsigned reg, unsigned size);
void machine_pci_config_write(struct machine *m, unsigned slot, unsigned fn, unsigned reg, uint32_t val, unsigned size);

/* Interrupt helpers for devices: ISA lines go straight to the accelerator;
 * PCI INTx goes to the accelerator or through PIIX3 PIRQ routing. */
void machine_set_isa_irq(struct machine *m, unsigned irq, int level);
void machine_set_pci_intx(struct machine *m, unsigned slot, unsigned pin, int level);

/* Guest time in ns (the accelerator's clock_ns, else CLOCK_MONOTONIC). */
int64_t machine_clock_ns(struct machine *m);

/* Guest-requested power off / reset: honours -no-shutdown like qemu-xen. */
void machine_request_shutdown(struct machine *m, enum shutdown_reason why);

#endif
