/* In-process machine on a fake accelerator (see fakemachine.h). */
#include "tests/lib/fakemachine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/config.h"
#include "dm/core/iobus.h"
#include "dm/core/vmstate.h"

static int fake_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    struct fake_machine *f = a->priv;

    if (!f->ram || gpa > f->ram_size || len > f->ram_size - gpa)
        return -1;
    memcpy(buf, f->ram + gpa, len);
    return 0;
}

static int fake_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    struct fake_machine *f = a->priv;

    if (!f->ram || gpa > f->ram_size || len > f->ram_size - gpa)
        return -1;
    memcpy(f->ram + gpa, buf, len);
    return 0;
}

static void fake_set_isa_irq(struct accel *a, unsigned irq, int level)
{
    struct fake_machine *f = a->priv;

    if (irq >= 16)
        abort();                    /* the machine must never pass a bad line */
    if (level && !f->irq_level[irq])
        f->irq_edges[irq]++;
    f->irq_level[irq] = !!level;
}

static void fake_set_pci_intx(struct accel *a, unsigned slot, unsigned pin, int level)
{
    struct fake_machine *f = a->priv;

    f->intx_calls++;
}

static void fake_set_pci_link_route(struct accel *a, unsigned link, unsigned irq)
{
    struct fake_machine *f = a->priv;

    if (link >= 4)
        abort();
    f->link_route[link] = (int)irq;
}

void fake_machine_init(struct fake_machine *f, uint8_t *ram, size_t ram_size)
{
    memset(f, 0, sizeof(*f));
    f->ram = ram;
    f->ram_size = ram_size;
    f->ops.name = "fake";
    f->ops.mem_read = fake_mem_read;
    f->ops.mem_write = fake_mem_write;
    f->ops.set_isa_irq = fake_set_isa_irq;
    f->acc.ops = &f->ops;
    f->acc.priv = f;
    f->acc.ram_size = ram_size;
    f->m.accel = &f->acc;
    iobus_init(&f->m.bus);
    vmstate_unregister_all();
}

void fake_machine_xen_routing(struct fake_machine *f)
{
    f->ops.name = "fake-xen";
    f->ops.set_pci_intx = fake_set_pci_intx;
    f->ops.set_pci_link_route = fake_set_pci_link_route;
}

void fake_machine_reset(struct fake_machine *f)
{
    if (f->ram)
        memset(f->ram, 0, f->ram_size);
    memset(f->irq_level, 0, sizeof(f->irq_level));
    memset(f->irq_edges, 0, sizeof(f->irq_edges));
    machine_reset(&f->m);
    f->m.state = RUN_RUNNING;
}

void fake_outb(struct fake_machine *f, uint16_t port, uint8_t v)
{
    io_write(&f->m.bus, IO_PIO, port, v, 1);
}

uint8_t fake_inb(struct fake_machine *f, uint16_t port)
{
    return (uint8_t)io_read(&f->m.bus, IO_PIO, port, 1);
}

void fake_config(struct xsdm_config *cfg)
{
    cli_defaults(cfg);
    cfg->accel = ACCEL_QTEST;
}

void fake_config_null_serial(struct xsdm_config *cfg)
{
    struct chardev_spec *c = &cfg->chardevs[cfg->n_chardevs++];

    snprintf(c->id, sizeof(c->id), "serial0");
    c->kind = CHARDEV_NULL;
    c->fd = -1;
    snprintf(cfg->serials[0].chardev, sizeof(cfg->serials[0].chardev), "serial0");
    cfg->n_serials = 1;
}

static void config_drive(struct xsdm_config *cfg, int index, const char *id, const char *file, bool cdrom)
{
    struct drive_spec *d = &cfg->drives[index];

    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->media = cdrom ? MEDIA_CDROM : MEDIA_DISK;
    d->readonly = cdrom;
    d->bus = index / 2;
    d->unit = index % 2;
    d->present = true;
}

int fake_machine_xenfv(struct fake_machine *f, struct xsdm_config *cfg, struct loop *l, bool cdrom)
{
    return fake_xenfv_build(f, &f->m, cfg, l, cdrom);
}

int fake_xenfv_build(struct fake_machine *f, struct machine *m, struct xsdm_config *cfg, struct loop *l,
                     bool cdrom)
{
    char path[] = "/tmp/xsdm-fake-disk-XXXXXX";
    int fd = mkstemp(path), rc = -1;

    if (fd < 0)
        return -1;
    if (ftruncate(fd, 1 << 20) < 0)
        goto out;
    fake_config(cfg);
    cfg->xen_platform = true;
    cfg->no_shutdown = true;
    config_drive(cfg, 0, "ide0-hd0", path, false);
    if (cdrom)
        config_drive(cfg, 2, "ide-5632", NULL, true);
    fake_config_null_serial(cfg);
    rc = machine_init(m, cfg, &f->acc, l);
out:
    close(fd);
    unlink(path);                   /* the machine's open fd keeps it */
    return rc;
}
