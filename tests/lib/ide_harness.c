/* The IDE test harness (tests/lib/ide_harness.h). No libcheck here: the
 * fuzzers link it. */
#include "tests/lib/ide_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/log.h"

struct harness *H;

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

void h_drive(struct xsdm_config *cfg, int index, const char *id, const char *file, bool cdrom, bool readonly)
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

void h_outb(uint16_t port, uint8_t v) { io_write(&H->dm.machine.bus, IO_PIO, port, v, 1); }
void h_outw(uint16_t port, uint16_t v) { io_write(&H->dm.machine.bus, IO_PIO, port, v, 2); }
void h_outl(uint16_t port, uint32_t v) { io_write(&H->dm.machine.bus, IO_PIO, port, v, 4); }
uint8_t h_inb(uint16_t port) { return (uint8_t)io_read(&H->dm.machine.bus, IO_PIO, port, 1); }
uint16_t h_inw(uint16_t port) { return (uint16_t)io_read(&H->dm.machine.bus, IO_PIO, port, 2); }
uint32_t h_inl(uint16_t port) { return (uint32_t)io_read(&H->dm.machine.bus, IO_PIO, port, 4); }

void h_free(void)
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

/* The function's BAR4 at H_BM_BASE, I/O decode and bus mastering on. */
static void h_pci_setup(struct machine *m)
{
    pci_config_write(m->pci, 1, 1, PCI_CFG_BAR4, H_BM_BASE | 1, 4);
    pci_config_write(m->pci, 1, 1, PCI_CFG_COMMAND, 0x0001 | PCI_CMD_MASTER, 2);
}

struct harness *h_new(const struct xsdm_config *cfg, char *err, size_t errlen)
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
    vmstate_unregister_all();
    ide_irq[0] = machine_isa_irq(m, IDE_PRIMARY_IRQ);
    ide_irq[1] = machine_isa_irq(m, IDE_SECONDARY_IRQ);
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
    h_pci_setup(m);
    dm_set(&h->dm);
    H = h;
    return h;
}

/* ---- ATA ----------------------------------------------------------------- */

uint16_t h_cmd_base(int ch) { return ch ? H_SEC_CMD : H_PRI_CMD; }
uint16_t h_ctl_base(int ch) { return ch ? H_SEC_CTL : H_PRI_CTL; }

void h_reg_write(int ch, unsigned reg, uint8_t v) { h_outb((uint16_t)(h_cmd_base(ch) + reg), v); }
uint8_t h_reg_read(int ch, unsigned reg) { return h_inb((uint16_t)(h_cmd_base(ch) + reg)); }
void h_command(int ch, uint8_t op) { h_reg_write(ch, ATA_REG_COMMAND, op); }
void h_devctl(int ch, uint8_t v) { h_outb((uint16_t)(h_ctl_base(ch) + ATA_REG_DEVCTL), v); }

void h_select(int ch, int unit, uint8_t extra)
{
    h_reg_write(ch, ATA_REG_DEVICE, (uint8_t)(DEV_OBS | (unit ? DEV_DEV : 0) | extra));
}

void h_lba28(int ch, int unit, uint32_t lba, uint8_t count)
{
    h_select(ch, unit, (uint8_t)(DEV_LBA | ((lba >> 24) & DEV_HEAD)));
    h_reg_write(ch, ATA_REG_NSECTOR, count);
    h_reg_write(ch, ATA_REG_LBA_LOW, (uint8_t)lba);
    h_reg_write(ch, ATA_REG_LBA_MID, (uint8_t)(lba >> 8));
    h_reg_write(ch, ATA_REG_LBA_HIGH, (uint8_t)(lba >> 16));
}

/* LBA48: each register is written twice, the high-order byte first. */
void h_lba48(int ch, int unit, uint64_t lba, uint16_t count)
{
    h_reg_write(ch, ATA_REG_DEVICE, (uint8_t)(DEV_LBA | (unit ? DEV_DEV : 0)));
    h_reg_write(ch, ATA_REG_NSECTOR, (uint8_t)(count >> 8));
    h_reg_write(ch, ATA_REG_LBA_LOW, (uint8_t)(lba >> 24));
    h_reg_write(ch, ATA_REG_LBA_MID, (uint8_t)(lba >> 32));
    h_reg_write(ch, ATA_REG_LBA_HIGH, (uint8_t)(lba >> 40));
    h_reg_write(ch, ATA_REG_NSECTOR, (uint8_t)count);
    h_reg_write(ch, ATA_REG_LBA_LOW, (uint8_t)lba);
    h_reg_write(ch, ATA_REG_LBA_MID, (uint8_t)(lba >> 8));
    h_reg_write(ch, ATA_REG_LBA_HIGH, (uint8_t)(lba >> 16));
}

uint8_t h_status(int ch) { return h_reg_read(ch, ATA_REG_STATUS); }
uint8_t h_altstatus(int ch) { return h_inb((uint16_t)(h_ctl_base(ch) + ATA_REG_ALTSTATUS)); }
uint8_t h_error(int ch) { return h_reg_read(ch, ATA_REG_ERROR); }

void h_pio_read(int ch, void *buf, size_t n)
{
    uint8_t *p = buf;

    for (size_t i = 0; i < n; i += 2) {
        uint16_t w = h_inw((uint16_t)(h_cmd_base(ch) + ATA_REG_DATA));

        p[i] = (uint8_t)w;
        if (i + 1 < n)
            p[i + 1] = (uint8_t)(w >> 8);
    }
}

void h_pio_write(int ch, const void *buf, size_t n)
{
    const uint8_t *p = buf;

    for (size_t i = 0; i < n; i += 2)
        h_outw((uint16_t)(h_cmd_base(ch) + ATA_REG_DATA), (uint16_t)(p[i] | (i + 1 < n ? p[i + 1] << 8 : 0)));
}

/* ---- bus master ----------------------------------------------------------- */

static uint16_t bm_port(int ch, unsigned reg) { return (uint16_t)(H_BM_BASE + BM_CHAN_SIZE * ch + reg); }

void h_prd(uint32_t table, int i, uint32_t addr, uint32_t len, bool eot)
{
    uint8_t *e = H->ram + table + PRD_ENTRY_SIZE * (uint32_t)i;

    e[0] = (uint8_t)addr;
    e[1] = (uint8_t)(addr >> 8);
    e[2] = (uint8_t)(addr >> 16);
    e[3] = (uint8_t)(addr >> 24);
    e[4] = (uint8_t)len;
    e[5] = (uint8_t)(len >> 8);
    e[6] = 0;
    e[7] = eot ? PRD_EOT : 0;
}

void h_bm_setup(int ch, uint32_t table, bool to_memory)
{
    h_outb(bm_port(ch, BM_REG_CMD), 0);
    h_outb(bm_port(ch, BM_REG_STATUS), BM_ST_ERROR | BM_ST_INTR);
    h_outl(bm_port(ch, BM_REG_PRD), table);
    h_outb(bm_port(ch, BM_REG_CMD), to_memory ? BM_CMD_READ : 0);
}

void h_bm_start(int ch, bool to_memory)
{
    h_outb(bm_port(ch, BM_REG_CMD), (uint8_t)((to_memory ? BM_CMD_READ : 0) | BM_CMD_START));
}

void h_bm_stop(int ch) { h_outb(bm_port(ch, BM_REG_CMD), 0); }
uint8_t h_bm_status(int ch) { return h_inb(bm_port(ch, BM_REG_STATUS)); }

void h_bus_master(bool on)
{
    pci_config_write(H->dm.machine.pci, 1, 1, PCI_CFG_COMMAND, 0x0001 | (on ? PCI_CMD_MASTER : 0), 2);
}

/* ---- QMP handlers called directly ------------------------------------------ */

int h_qmp(const char *name, json_t *args, json_t **ret, struct qmp_error *err)
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

/* ---- images ----------------------------------------------------------------- */

const char *h_image(const char *tag, size_t n)
{
    static char path[8][64];
    static int next;
    char *p = path[next++ % 8];
    uint8_t *buf = malloc(n ? n : 1);
    FILE *f;
    int fd;

    snprintf(p, 64, "/tmp/xsdm-ide-%s-%d-XXXXXX", tag, (int)getpid());
    fd = mkstemp(p);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < n; i++)
        buf[i] = h_pattern(i);
    f = fopen(p, "w");
    if (f) {
        fwrite(buf, 1, n, f);
        fclose(f);
    }
    free(buf);
    return p;
}

uint8_t h_pattern(uint64_t off)
{
    uint64_t s = off / 512, j = off % 512;

    if (j < 4)
        return (uint8_t)(s >> (8 * j));
    return (uint8_t)(s * 7 + j);
}

/* ---- fuzzers ---------------------------------------------------------------- */

void h_fuzz_setup_once(size_t disk_bytes, size_t cd_bytes)
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

void h_fuzz_reset(void)
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
    h_pci_setup(m);
    memset(H->ram, 0, H_RAM_SIZE);
    memset(H->irq, 0, sizeof(H->irq));
    memset(H->irq_changes, 0, sizeof(H->irq_changes));
}

bool h_drain(int ch, bool wide, size_t max)
{
    uint16_t data = (uint16_t)(h_cmd_base(ch) + ATA_REG_DATA);
    size_t moved = 0;

    while ((h_altstatus(ch) & ST_DRQ) && moved < max) {
        uint8_t x = H->ide->ch[ch].s.drive[H->ide->ch[ch].s.unit & 1].xfer;

        if (x == XF_PACKET || x == XF_PIO_OUT) {
            h_outw(data, 0);
            moved += 2;
        } else if (wide) {
            h_inl(data);
            moved += 4;
        } else {
            h_inw(data);
            moved += 2;
        }
    }
    return !(h_altstatus(ch) & (ST_BSY | ST_DRQ));
}
