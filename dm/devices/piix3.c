/* PIIX3 ISA bridge 00:01.0 (8086:7000, class 0601, multi-function) and the
 * machine's interrupt routing. PIRQ route registers 0x60-0x63 (PIRQA-D)
 * pick the ISA IRQ of each PCI interrupt link; bit 7 disables the link.
 * Slot/pin reach link (slot + pin) & 3 (pin 0 = INTA): the swizzle Xen's
 * hvm_pci_intx_link() and hvmloader's _PRT use for the xenfv machine.
 * With the Xen accelerator, writes are forwarded (set_pci_link_route) and
 * Xen routes INTx itself; with qtest the levels are combined here: an ISA
 * IRQ is high while any ISA device or any PCI link routed to it is high. */
#include "dm/devices/piix3.h"

#include <stdlib.h>
#include <string.h>

#include "dm/core/accel.h"
#include "dm/core/log.h"
#include "dm/core/pci.h"

#define PIRQ_BASE    0x60
#define PIRQ_OFF     0x80
#define NUM_ISA_IRQS 16
#define NUM_SLOTS    32

struct piix3 {
    struct pci_dev dev;
    struct accel *accel;                /* the interrupt controller */
    bool isa_level[NUM_ISA_IRQS];       /* as ISA devices drive them */
    bool intx[NUM_SLOTS][4];            /* as PCI functions drive them */
    bool out[NUM_ISA_IRQS];             /* last level given to the accelerator */
};

static unsigned link_of(unsigned slot, unsigned pin)
{
    return (slot + pin) & 3;
}

static unsigned route(const struct piix3 *p, unsigned link)
{
    uint8_t v = p->dev.config[PIRQ_BASE + link];

    return (v & PIRQ_OFF) || (v & 0x0f) >= NUM_ISA_IRQS ? PIRQ_OFF : (v & 0x0f);
}

/* Recompute every ISA line and tell the accelerator what changed. */
static void update(struct piix3 *p)
{
    struct accel *a = p->accel;
    bool level[NUM_ISA_IRQS];
    unsigned irq, slot, pin;

    memcpy(level, p->isa_level, sizeof(level));
    if (!a || !a->ops->set_pci_intx)
        for (slot = 0; slot < NUM_SLOTS; slot++)
            for (pin = 0; pin < 4; pin++) {
                unsigned r = route(p, link_of(slot, pin));

                if (p->intx[slot][pin] && r < NUM_ISA_IRQS)
                    level[r] = true;
            }
    for (irq = 0; irq < NUM_ISA_IRQS; irq++) {
        if (level[irq] == p->out[irq])
            continue;
        p->out[irq] = level[irq];
        if (a && a->ops->set_isa_irq)
            a->ops->set_isa_irq(a, irq, level[irq]);
    }
}

void piix3_set_isa_irq(struct piix3 *p, unsigned irq, int level)
{
    if (irq >= NUM_ISA_IRQS)
        return;
    p->isa_level[irq] = level != 0;
    /* Edge devices pulse: a repeated raise must still reach the accelerator. */
    if (level && p->out[irq]) {
        struct accel *a = p->accel;

        if (a && a->ops->set_isa_irq)
            a->ops->set_isa_irq(a, irq, 1);
        return;
    }
    update(p);
}

void piix3_set_pci_intx(struct piix3 *p, unsigned slot, unsigned pin, int level)
{
    if (slot >= NUM_SLOTS || pin > 3)
        return;
    p->intx[slot][pin] = level != 0;
    update(p);
}

static void config_written(struct pci_dev *d, unsigned reg, uint32_t val, unsigned size)
{
    struct piix3 *p = d->opaque;
    struct accel *a = p->accel;
    unsigned link;

    for (link = 0; link < 4; link++) {
        if (reg > PIRQ_BASE + link || reg + size <= PIRQ_BASE + link)
            continue;
        if (a && a->ops->set_pci_link_route)
            a->ops->set_pci_link_route(a, link, route(p, link));
    }
    update(p);
}

static void set_defaults(struct piix3 *p)
{
    uint8_t *c = p->dev.config;

    c[0x04] = 0x07;                 /* I/O, memory, bus master */
    c[0x06] = 0x00;
    c[0x07] = 0x02;                 /* DEVSEL medium */
    c[0x4c] = 0x4d;                 /* ISA I/O recovery timer */
    c[0x4e] = 0x03;                 /* X-bus chip select */
    memset(c + PIRQ_BASE, PIRQ_OFF, 4);
    c[0x69] = 0x02;                 /* top of memory */
    c[0x70] = 0x80;                 /* MBIRQ0 disabled */
    c[0x76] = 0x0c;                 /* MBDMA */
    c[0x77] = 0x0c;
    c[0x78] = 0x02;                 /* PCSC */
    c[0xa0] = 0x08;                 /* SMI control */
    c[0xa8] = 0x0f;                 /* SMI request */
}

struct piix3 *piix3_new(struct pci_bus *pci, struct accel *accel)
{
    struct piix3 *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->accel = accel;
    pci_dev_init(&p->dev, "piix3", 1, 0, 0x8086, 0x7000, 0x060100, 0x00);
    p->dev.config[0x0e] = 0x80;     /* multi-function: IDE and PM follow */
    /* Device-specific space is writable as in QEMU; PIRQ registers keep
     * their reserved bits 4-6 at zero. */
    memset(p->dev.wmask + 0x40, 0xff, 0xc0);
    memset(p->dev.wmask + PIRQ_BASE, 0x8f, 4);
    set_defaults(p);
    p->dev.config_written = config_written;
    p->dev.opaque = p;
    if (pci_register(pci, &p->dev) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* After the bus reset restored the config space: every line low again. */
void piix3_reset(struct piix3 *p)
{    struct accel *a = p->accel;
    unsigned link;

    memset(p->isa_level, 0, sizeof(p->isa_level));
    memset(p->intx, 0, sizeof(p->intx));
    if (a && a->ops->set_pci_link_route)
        for (link = 0; link < 4; link++)
            a->ops->set_pci_link_route(a, link, route(p, link));
    update(p);
}

void piix3_free(struct piix3 *p)
{
    free(p);
}
