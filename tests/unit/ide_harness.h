/* In-process harness for the IDE tests and fuzzers: the PIIX3 IDE
 * function on a bare machine (PCI bus, no other devices) with a fake
 * accelerator whose guest RAM is a plain array and whose interrupt lines
 * are recorded, so every guest access is a direct io_read()/io_write().
 * Header-only (static functions): each test binary includes it once. */
#ifndef XSDM_TEST_IDE_HARNESS_H
#define XSDM_TEST_IDE_HARNESS_H

/* Not every includer uses every helper. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/accel.h"
#include "dm/config.h"
#include "dm/dm.h"
#include "dm/ide.h"
#include "dm/iobus.h"
#include "dm/log.h"
#include "dm/machine.h"
#include "dm/pci.h"
#include "dm/qmp.h"
#include "dm/vmstate.h"

#define H_RAM_SIZE   (1u << 20)
#define H_BM_BASE    0xc000
#define H_PRI_CMD    0x1f0
#define H_PRI_CTL    0x3f6
#define H_SEC_CMD    0x170
#define H_SEC_CTL    0x376

struct harness {
    struct dm dm;               /* dm_get() finds the controller for QMP */
    struct accel_ops ops;
    uint8_t *ram;
    int irq[16];
    int irq_changes[16];
    struct ide_ctrl *ide;
};

static struct harness *H;

static int h_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    struct harness *h = a->priv;

    if (gpa > H_RAM_SIZE || len > H_RAM_SIZE - gpa)
        return -1;
    memcpy(buf, h->ram + gpa, len);
    return 0;
}

static int h_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    struct harness *h = a->priv;

    if (gpa > H_RAM_SIZE || len > H_RAM_SIZE - gpa)
        return -1;
    memcpy(h->ram + gpa, buf, len);
    return 0;
}

static void h_set_isa_irq(struct accel *a, unsigned irq, int level)
{
    struct harness *h = a->priv;

    if (irq < 16) {
        if (h->irq[irq] != level)
            h->irq_changes[irq]++;
        h->irq[irq] = level;
    }
}

/* Drive index 0-3 (bus*2+unit); file "" = empty CD-ROM. */
static void h_drive(struct xsdm_config *cfg, int index, const char *id, const char *file, bool cdrom,
                    bool readonly)
{
    struct drive_spec *d = &cfg->drives[index];

    memset(d, 0, sizeof(*d));
    d->present = true;
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->media = cdrom ? MEDIA_CDROM : MEDIA_DISK;
    d->readonly = readonly || cdrom;
    d->bus = index / 2;
    d->unit = index % 2;
}

static void h_outb(uint16_t port, uint8_t v) { io_write(&H->dm.machine.bus, IO_PIO, port, v, 1); }
static void h_outw(uint16_t port, uint16_t v) { io_write(&H->dm.machine.bus, IO_PIO, port, v, 2); }
static void h_outl(uint16_t port, uint32_t v) { io_write(&H->dm.machine.bus, IO_PIO, port, v, 4); }
static uint8_t h_inb(uint16_t port) { return (uint8_t)io_read(&H->dm.machine.bus, IO_PIO, port, 1); }
static uint16_t h_inw(uint16_t port) { return (uint16_t)io_read(&H->dm.machine.bus, IO_PIO, port, 2); }
static uint32_t h_inl(uint16_t port) { return (uint32_t)io_read(&H->dm.machine.bus, IO_PIO, port, 4); }

/* Tear down the current harness (tests build several in one process). */
static __attribute__((unused)) void h_free(void)
{
    struct harness *h = H;

    if (!h)
        return;
    ide_ctrl_free(h->ide);
    pci_bus_free(h->dm.machine.pci);
    vmstate_unregister_all();
    free(h->ram);
    free(h);
    H = NULL;
}

/* Build the machine: PCI bus + IDE, BAR4 at H_BM_BASE, I/O + bus master on.
 * NULL with err filled when ide_ctrl_new refuses the configuration. */
static struct harness *h_new(const struct xsdm_config *cfg, char *err, size_t errlen)
{
    struct harness *h;
    struct machine *m;
    struct irq_line ide_irq[2];

    h_free();
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->ram = calloc(1, H_RAM_SIZE);
    h->ops.name = "harness";
    h->ops.mem_read = h_mem_read;
    h->ops.mem_write = h_mem_write;
    h->ops.set_isa_irq = h_set_isa_irq;
    h->dm.accel.ops = &h->ops;
    h->dm.accel.priv = h;
    h->dm.accel.ram_size = H_RAM_SIZE;
    h->dm.cfg = *cfg;
    m = &h->dm.machine;
    m->cfg = &h->dm.cfg;
    m->accel = &h->dm.accel;
    iobus_init(&m->bus);
    ide_irq[0] = machine_isa_irq(m, IDE_PRIMARY_IRQ);
    ide_irq[1] = machine_isa_irq(m, IDE_SECONDARY_IRQ);
    vmstate_unregister_all();
    m->pci = pci_bus_new(&m->bus, machine_pci_intx(m), machine_guest_request(m, SHUTDOWN_REBOOT));
    h->ide = ide_ctrl_new(&m->bus, m->pci, m->accel, ide_irq, &h->dm.cfg, err, errlen);
    if (!h->ram || !m->pci || !h->ide) {
        ide_ctrl_free(h->ide);
        pci_bus_free(m->pci);
        free(h->ram);
        free(h);
        return NULL;
    }
    m->ide = h->ide;
    pci_config_write(m->pci, 1, 1, 0x20, H_BM_BASE | 1, 4);
    pci_config_write(m->pci, 1, 1, 0x04, 0x0005, 2);
    dm_set(&h->dm);
    H = h;
    return h;
}

/* ---- ATA helpers -------------------------------------------------------- */

static uint16_t h_cmd_base(int ch) { return ch ? H_SEC_CMD : H_PRI_CMD; }
static uint16_t h_ctl_base(int ch) { return ch ? H_SEC_CTL : H_PRI_CTL; }

static void h_select(int ch, int unit, uint8_t extra)
{
    h_outb(h_cmd_base(ch) + 6, (uint8_t)(0xa0 | unit << 4 | extra));
}

static void h_lba28(int ch, int unit, uint32_t lba, uint8_t count)
{
    uint16_t b = h_cmd_base(ch);

    h_outb(b + 6, (uint8_t)(0xe0 | unit << 4 | ((lba >> 24) & 0xf)));
    h_outb(b + 2, count);
    h_outb(b + 3, (uint8_t)lba);
    h_outb(b + 4, (uint8_t)(lba >> 8));
    h_outb(b + 5, (uint8_t)(lba >> 16));
}

static void h_lba48(int ch, int unit, uint64_t lba, uint16_t count)
{
    uint16_t b = h_cmd_base(ch);

    h_outb(b + 6, (uint8_t)(0x40 | unit << 4));
    h_outb(b + 2, (uint8_t)(count >> 8));
    h_outb(b + 3, (uint8_t)(lba >> 24));
    h_outb(b + 4, (uint8_t)(lba >> 32));
    h_outb(b + 5, (uint8_t)(lba >> 40));
    h_outb(b + 2, (uint8_t)count);
    h_outb(b + 3, (uint8_t)lba);
    h_outb(b + 4, (uint8_t)(lba >> 8));
    h_outb(b + 5, (uint8_t)(lba >> 16));
}

static uint8_t h_status(int ch) { return h_inb(h_cmd_base(ch) + 7); }
static uint8_t h_altstatus(int ch) { return h_inb(h_ctl_base(ch)); }
static uint8_t h_error(int ch) { return h_inb(h_cmd_base(ch) + 1); }

/* Read n bytes of PIO data with 16-bit accesses. */
static void h_pio_read(int ch, void *buf, size_t n)
{
    uint8_t *p = buf;

    for (size_t i = 0; i + 1 < n + 1; i += 2) {
        uint16_t w = h_inw(h_cmd_base(ch));

        p[i] = (uint8_t)w;
        if (i + 1 < n)
            p[i + 1] = (uint8_t)(w >> 8);
    }
}

static void h_pio_write(int ch, const void *buf, size_t n)
{
    const uint8_t *p = buf;

    for (size_t i = 0; i < n; i += 2)
        h_outw(h_cmd_base(ch), (uint16_t)(p[i] | (i + 1 < n ? p[i + 1] << 8 : 0)));
}

/* ---- bus master ------------------------------------------------------- */

static void h_prd(uint32_t table, int i, uint32_t addr, uint32_t len, bool eot)
{
    uint8_t *e = H->ram + table + 8 * (uint32_t)i;

    e[0] = (uint8_t)addr;
    e[1] = (uint8_t)(addr >> 8);
    e[2] = (uint8_t)(addr >> 16);
    e[3] = (uint8_t)(addr >> 24);
    e[4] = (uint8_t)len;
    e[5] = (uint8_t)(len >> 8);
    e[6] = 0;
    e[7] = eot ? 0x80 : 0;
}

static void h_bm_setup(int ch, uint32_t table, bool to_memory)
{
    uint16_t b = (uint16_t)(H_BM_BASE + 8 * ch);

    h_outb(b, 0);
    h_outb(b + 2, BM_ST_ERROR | BM_ST_INTR);
    h_outl(b + 4, table);
    h_outb(b, to_memory ? BM_CMD_READ : 0);
}

static void h_bm_start(int ch, bool to_memory)
{
    h_outb((uint16_t)(H_BM_BASE + 8 * ch), (uint8_t)((to_memory ? BM_CMD_READ : 0) | BM_CMD_START));
}

static uint8_t h_bm_status(int ch) { return h_inb((uint16_t)(H_BM_BASE + 8 * ch + 2)); }

/* ---- QMP handlers called directly -------------------------------------- */

static int h_qmp(const char *name, json_t *args, json_t **ret, struct qmp_error *err)
{
    const struct qmp_command *c = qmp_find(name);
    struct qmp_request req;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(err, 0, sizeof(*err));
    *ret = NULL;
    if (!c) {
        json_decref(args);
        return -2;
    }
    req.name = name;
    req.args = args ? args : json_object();
    rc = c->fn(&req, ret, err);
    json_decref(req.args);
    return rc;
}

/* A temp image of n bytes: byte j of 512-byte sector i = (i * 7 + j) & 0xff,
 * and the sector number in its first 4 bytes. Returns the path (static). */
static const char *h_image(const char *tag, size_t n)
{
    static char path[8][64];
    static int next;
    char *p = path[next++ % 8];
    uint8_t *buf = malloc(n ? n : 1);
    FILE *f;

    snprintf(p, 64, "/tmp/xsdm-ide-%s-%d-XXXXXX", tag, (int)getpid());
    close(mkstemp(p));
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((i / 512) * 7 + (i % 512));
    for (size_t s = 0; s + 4 <= n; s += 512)
        memcpy(buf + s, &(uint32_t){ (uint32_t)(s / 512) }, 4);
    f = fopen(p, "w");
    if (f) {
        fwrite(buf, 1, n, f);
        fclose(f);
    }
    free(buf);
    return p;
}

static uint8_t h_pattern(uint64_t off)
{
    uint64_t s = off / 512, j = off % 512;

    if (j < 4)
        return (uint8_t)(s >> (8 * j));
    return (uint8_t)(s * 7 + j);
}


/* ---- fuzzers ------------------------------------------------------------ */

/* Build the harness once per process, quietly: a disk of disk_bytes as
 * primary master (none if 0) and a CD-ROM of cd_bytes as secondary master.
 * The image files are unlinked at once: the open fds keep them. */
static void h_fuzz_setup_once(size_t disk_bytes, size_t cd_bytes)
{
    static bool done;
    struct xsdm_config cfg;
    char err[256];

    if (done)
        return;
    done = true;
    log_set_level(LOG_ERR);
    memset(&cfg, 0, sizeof(cfg));
    if (disk_bytes)
        h_drive(&cfg, 0, "ide0-hd0", h_image("fuzzhd", disk_bytes), false, false);
    h_drive(&cfg, 2, "ide-5632", h_image("fuzzcd", cd_bytes), true, true);
    if (!h_new(&cfg, err, sizeof(err)))
        abort();
    for (int i = 0; i < 4; i++)
        if (cfg.drives[i].present)
            unlink(cfg.drives[i].file);
}

/* Between fuzz inputs, so that each runs on the same machine: PCI config
 * spaces and the controller as after power-on, BAR4 and the command
 * register as h_new() left them, guest RAM zeroed, interrupt records
 * cleared, every CD-ROM tray closed with no media event or UNIT ATTENTION
 * pending. Only the disk images' contents carry over (data, never state). */
static void h_fuzz_reset(void)
{
    struct machine *m = &H->dm.machine;

    pci_bus_reset(m->pci);
    ide_ctrl_reset(H->ide);
    for (int i = 0; i < 4; i++) {
        struct ide_drive *d = &H->ide->ch[i / 2].drive[i % 2];

        ide_tray_move(d, false);
        d->s->ua_pending = 0;
        d->s->event = MEV_NONE;
    }
    pci_config_write(m->pci, 1, 1, 0x20, H_BM_BASE | 1, 4);
    pci_config_write(m->pci, 1, 1, 0x04, 0x0005, 2);
    memset(H->ram, 0, H_RAM_SIZE);
    memset(H->irq, 0, sizeof(H->irq));
    memset(H->irq_changes, 0, sizeof(H->irq_changes));
}

/* Move PIO data on channel ch while the device asserts DRQ, at most max
 * bytes, the way the device expects it: zero words out for PACKET and
 * data-out phases (so they progress instead of spinning), 16- or 32-bit
 * (wide) reads otherwise. True if the data phase ended (neither BSY nor DRQ). */
static bool h_drain(int ch, bool wide, size_t max)
{
    uint16_t base = h_cmd_base(ch);
    size_t moved = 0;

    while ((h_altstatus(ch) & ST_DRQ) && moved < max) {
        uint8_t x = H->ide->ch[ch].s.drive[H->ide->ch[ch].s.unit & 1].xfer;

        if (x == XF_PACKET || x == XF_PIO_OUT) {
            h_outw(base, 0);
            moved += 2;
        } else if (wide) {
            h_inl(base);
            moved += 4;
        } else {
            h_inw(base);
            moved += 2;
        }
    }
    return !(h_altstatus(ch) & (ST_BSY | ST_DRQ));
}

#endif
