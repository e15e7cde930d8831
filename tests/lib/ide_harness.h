/* In-process harness for the IDE tests and fuzzers: the PIIX3 IDE
 * function on a bare machine (PCI bus, no other devices) with a fake
 * accelerator whose guest RAM is a plain array and whose interrupt lines
 * are recorded, so every guest access is a direct io_read()/io_write().
 * Registers and opcodes are the protocol's names (dm/storage/ide-regs.h): a test
 * reads as the sequence a driver would send. One harness at a time (H). */
#ifndef XSDM_TEST_IDE_HARNESS_H
#define XSDM_TEST_IDE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dm/board/dm.h"
#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/config.h"
#include "dm/core/iobus.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/qmp/qmp.h"
#include "dm/storage/ide-regs.h"
#include "dm/storage/ide.h"

#define H_RAM_SIZE   (1u << 20)
#define H_BM_BASE    0xc000
#define H_PRI_CMD    0x1f0
#define H_PRI_CTL    0x3f6
#define H_SEC_CMD    0x170
#define H_SEC_CTL    0x376
#define H_IRQ(ch)    ((ch) ? 15 : 14)

struct harness {
    struct dm dm;               /* dm_get() finds the controller for QMP */
    struct accel_ops ops;
    uint8_t *ram;
    int irq[16];
    int irq_changes[16];
    struct ide_ctrl *ide;
};

extern struct harness *H;

/* Drive index 0-3 (bus*2+unit); file "" = empty CD-ROM. */
void h_drive(struct xsdm_config *cfg, int index, const char *id, const char *file, bool cdrom, bool readonly);
/* Build the machine: PCI bus + IDE, BAR4 at H_BM_BASE, I/O + bus master on.
 * NULL with err filled when ide_ctrl_new refuses the configuration. */
struct harness *h_new(const struct xsdm_config *cfg, char *err, size_t errlen);
/* Tear down the current harness (tests build several in one process). */
void h_free(void);

void h_outb(uint16_t port, uint8_t v);
void h_outw(uint16_t port, uint16_t v);
void h_outl(uint16_t port, uint32_t v);
uint8_t h_inb(uint16_t port);
uint16_t h_inw(uint16_t port);
uint32_t h_inl(uint16_t port);

/* ---- the task file of channel ch (0 primary, 1 secondary) ---- */
uint16_t h_cmd_base(int ch);
uint16_t h_ctl_base(int ch);
void h_reg_write(int ch, unsigned reg, uint8_t v);     /* reg: ATA_REG_* */
uint8_t h_reg_read(int ch, unsigned reg);
void h_command(int ch, uint8_t op);                     /* op: ATA_CMD_* */
void h_devctl(int ch, uint8_t v);                       /* DC_* */
/* Device register: DEV_OBS | unit | extra (DEV_LBA, head bits). */
void h_select(int ch, int unit, uint8_t extra);
void h_lba28(int ch, int unit, uint32_t lba, uint8_t count);
void h_lba48(int ch, int unit, uint64_t lba, uint16_t count);
uint8_t h_status(int ch);                               /* acknowledges the interrupt */
uint8_t h_altstatus(int ch);                            /* does not */
uint8_t h_error(int ch);
/* PIO data with 16-bit accesses. */
void h_pio_read(int ch, void *buf, size_t n);
void h_pio_write(int ch, const void *buf, size_t n);

/* ---- bus master ---- */
/* PRD entry i of the table at guest address table. */
void h_prd(uint32_t table, int i, uint32_t addr, uint32_t len, bool eot);
/* Stop the engine, clear ERROR/INTR, load the table address, set direction. */
void h_bm_setup(int ch, uint32_t table, bool to_memory);
void h_bm_start(int ch, bool to_memory);
void h_bm_stop(int ch);
uint8_t h_bm_status(int ch);
/* Bus mastering in the IDE function's PCI command register. */
void h_bus_master(bool on);

/* QMP handlers called directly. */
int h_qmp(const char *name, json_t *args, json_t **ret, struct qmp_error *err);

/* A temp image of n bytes: byte j of 512-byte sector i = (i * 7 + j) & 0xff,
 * and the sector number in its first 4 bytes. Returns the path (static,
 * eight in rotation). h_pattern(off) is the image's byte at off. */
const char *h_image(const char *tag, size_t n);
uint8_t h_pattern(uint64_t off);

/* ---- fuzzers ---- */
/* Build the harness once per process, quietly: a disk of disk_bytes as
 * primary master (none if 0) and a CD-ROM of cd_bytes as secondary master.
 * The image files are unlinked at once: the open fds keep them. */
void h_fuzz_setup_once(size_t disk_bytes, size_t cd_bytes);
/* Between fuzz inputs, so that each runs on the same machine: PCI config
 * spaces and the controller as after power-on, BAR4 and the command
 * register as h_new() left them, guest RAM zeroed, interrupt records
 * cleared, every CD-ROM tray closed with no media event or UNIT ATTENTION
 * pending. Only the disk images' contents carry over (data, never state). */
void h_fuzz_reset(void);
/* Move PIO data on channel ch while the device asserts DRQ, at most max
 * bytes, the way the device expects it: zero words out for PACKET and
 * data-out phases (so they progress instead of spinning), 16- or 32-bit
 * (wide) reads otherwise. True if the data phase ended (neither BSY nor DRQ). */
bool h_drain(int ch, bool wide, size_t max);

#endif
