/* The xenfv machine: which devices sit where, and the one entry point
 * accelerators use to deliver guest I/O. Layout (docs/devices.md):
 *   00:00.0 i440FX host bridge   8086:1237
 *   00:01.0 PIIX3 ISA bridge     8086:7000  PIRQ route regs 0x60-0x63
 *   00:01.1 PIIX3 IDE            8086:7010  0x1f0/0x3f6 irq14, 0x170/0x376 irq15, BM BAR4
 *   00:01.3 PIIX4 ACPI PM        8086:7113  PM io 0xb000, SMBus 0xb100
 *   00:02.0 standard VGA         1234:1111  (with a display device; the next slots move up)
 *   00:02.0 Xen platform device  5853:0001  BAR0 io 256, BAR1 mmio 16 MiB (00:03.0 with a VGA)
 *   next slots: the emulated NICs in command-line order, RTL8139C+ 10ec:8139 rev 0x20
 *               or 82540EM (e1000) 8086:100e rev 0x03
 *   ISA: 16550A COM1 0x3f8 irq4, i8042 0x60/0x64, port 0x92, PCI conf 0xcf8/0xcfc,
 *        CMOS RAM 0x70/0x71 (bytes 0x0e-0x7f: Xen's vRTC keeps the clock) */
#ifndef XSDM_MACHINE_H
#define XSDM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/accel.h"
#include "dm/core/config.h"
#include "dm/core/iobus.h"
#include "dm/core/irq.h"

struct xsdm_config;
struct loop;
struct pci_bus;
struct ide_ctrl;
struct uart;
struct piix3;
struct piix4_pm;
struct xen_platform;
struct i8042;
struct port92;
struct rtl8139;
struct e1000;
struct vga;
struct display;
struct input_sink;
struct cmos;

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
    /* Devices (owned by the machine). */
    struct pci_bus *pci;
    struct ide_ctrl *ide;
    struct uart *uart[4];
    struct piix3 *piix3;
    struct piix4_pm *piix4_pm;
    struct xen_platform *platform;
    struct i8042 *i8042;
    struct port92 *port92;
    struct rtl8139 *nic[CFG_MAX_NICS];  /* cfg->nics[i] if an rtl8139, each owning its tap */
    struct e1000 *e1000[CFG_MAX_NICS];  /* cfg->nics[i] if an e1000 */
    struct vga *vga;                    /* NULL without a display device */
    struct cmos *cmos;
};

/* The board is the one place that knows which device is wired where:
 * machine_init() builds each device (one file each) with the lines below,
 * and nothing in a device calls back into the machine. */

/* The PC firmware's CMOS bytes (dm/board/pc-cmos.c, board code), as qemu-xen fills
 * them: memory sizes, boot order, equipment, hard disk types and geometry.
 * pc_cmos_init refuses (-1, logged) a boot order the firmware cannot be given. */
int pc_cmos_init(struct machine *m);
void pc_cmos_reset(struct machine *m);

/* Build every device from cfg (opens disk images and char backends: call
 * before restriction). Returns 0, or -1 with a logged reason. */
int machine_init(struct machine *m, const struct xsdm_config *cfg, struct accel *a, struct loop *l);
void machine_reset(struct machine *m);          /* system_reset / guest reset */
/* The run state became RUN_RUNNING (cont): devices that held input while
 * the VM was stopped take it now. */
void machine_resumed(struct machine *m);
void machine_free(struct machine *m);

/* PCI configuration cycles delivered directly (Xen's IOREQ_TYPE_PCI_CONFIG):
 * bus 0 only; reg is the byte offset 0-255; size 1/2/4. */
uint32_t machine_pci_config_read(struct machine *m, unsigned slot, unsigned fn, unsigned reg, unsigned size);
void machine_pci_config_write(struct machine *m, unsigned slot, unsigned fn, unsigned reg, uint32_t val, unsigned size);

/* The board's ends of the wires. ISA lines go through PIIX3 to the
 * accelerator; PCI INTx goes to the accelerator or through PIIX3 PIRQ
 * routing. machine_isa_irq() is the line a device gets for ISA IRQ irq
 * (0-15; tests wire their own devices with it). */
void machine_set_isa_irq(struct machine *m, unsigned irq, int level);
void machine_set_pci_intx(struct machine *m, unsigned slot, unsigned pin, int level);
struct irq_line machine_isa_irq(struct machine *m, unsigned irq);
/* The PCI bus's INTx lines: line slot * 4 + pin of this block. */
struct irq_line machine_pci_intx(struct machine *m);
/* A request line: raising it asks for why (reset buttons, S5). */
struct irq_line machine_guest_request(struct machine *m, enum shutdown_reason why);

/* The console's ends: the VGA's surface (NULL without one) and the input
 * sink that types on the i8042 keyboard (no PS/2 mouse: pointer dropped). */
struct display *machine_display(struct machine *m);
struct input_sink machine_input(struct machine *m);

/* Guest-requested power off / reset: honours -no-shutdown like qemu-xen. */
void machine_request_shutdown(struct machine *m, enum shutdown_reason why);

#endif
