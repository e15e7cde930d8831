/* PIIX4 ACPI power management function 00:01.3 (8086:7113 rev 3, class
 * 0680) as qemu-xen gives it to hvmloader and the guest:
 *  - PM I/O block (64 bytes) at PMBA (config 0x40, bits 15:6), decoded
 *    while PMREGMISC (0x80) bit 0 is set; hvmloader programs 0xb000.
 *    +0 PM1a_STS (w1c), +2 PM1a_EN, +4 PM1a_CNT (SLP_TYP/SLP_EN: S5 and
 *    S4, type 0 in Xen's ACPI tables, power the guest off), +8 PM_TMR
 *    (24-bit, 3.579545 MHz, from the accelerator's clock).
 *    Under Xen the hypervisor itself serves PM1a_STS/EN and PM_TMR; only
 *    PM1a_CNT reaches a device model there.
 *  - GPE0 block at 0xafe0 (4 bytes: status w1c, enable), the legacy PCI
 *    hotplug window 0xae00 (0x14 bytes, nothing ever hotplugged: reads 0)
 *    and the CPU presence bitmap at 0xaf00 (32 bytes) that Xen's DSDT reads.
 *  - SMBus host interface at SMBBA (config 0x90, bits 15:4), decoded while
 *    SMBHSTCFG (0xd2) bit 0 is set: no device ever answers, so a started
 *    transaction ends at once with DEV_ERR.
 * The SCI goes out on the line the board gives (ISA IRQ 9, PIIX4_PM_SCI_IRQ). */
#include "dm/devices/piix4-pm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/accel.h"
#include "dm/core/bytes.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"

#define PM_IO_LEN      64
#define SMB_IO_LEN     16
#define GPE0_BASE      0xafe0
#define GPE0_LEN       4
#define PCIHP_BASE     0xae00
#define PCIHP_LEN      0x14
#define CPUHP_BASE     0xaf00
#define CPUHP_LEN      32

#define PM1_TMR_STS    0x0001
#define PM1_PWRBTN_STS 0x0100
#define PM1_STS_MASK   0x8d31     /* WAK, RTC, PWRBTN, GBL, BM, TMR */
#define PM1_EN_MASK    0x0521     /* RTC, PWRBTN, GBL, TMR */
#define PM1_SCI_EN     0x0001
#define PM1_SLP_EN     0x2000
#define PM1_CNT_MASK   0x1c07     /* SLP_TYP, GBL_RLS, BM_RLD, SCI_EN */
#define SLP_TYP_S3     1

#define PM_TIMER_HZ    3579545ULL

#define SMB_STS_BUSY   0x01
#define SMB_STS_INTR   0x02
#define SMB_STS_DEVERR 0x04
#define SMB_CNT_START  0x40

/* Guest-visible state beyond config space (the "piix4-pm" section). */
struct pm_state {
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint16_t gpe_sts, gpe_en;
    uint32_t tmr_last;            /* timer value at the last TMR_STS check */
    uint8_t smb[SMB_IO_LEN];      /* SMBus host registers */
};

struct piix4_pm {
    struct pm_state st;
    struct pci_dev dev;
    struct iobus *bus;
    struct accel *accel;        /* its clock drives PM_TMR */
    struct irq_line sci_irq, poweroff;
    struct io_region pm_io, smb_io, gpe_io, pcihp_io, cpuhp_io;
    uint8_t cpu_map[CPUHP_LEN];
    bool sci;
};

static uint32_t timer_now(struct piix4_pm *p)
{
    uint64_t ns = (uint64_t)accel_clock_ns(p->accel);

    /* ns * f / 1e9 without overflow: split whole seconds from the rest. */
    return (uint32_t)(((ns / 1000000000ULL) * PM_TIMER_HZ +
                       (ns % 1000000000ULL) * PM_TIMER_HZ / 1000000000ULL) & 0xffffff);
}

/* TMR_STS is set when bit 23 of the counter changed since we last looked
 * (no timer of our own: it is evaluated whenever the guest reads). */
static void timer_check(struct piix4_pm *p)
{
    uint32_t now = timer_now(p);

    if ((now ^ p->st.tmr_last) & 0x800000)
        p->st.pm1_sts |= PM1_TMR_STS;
    p->st.tmr_last = now;
}

static void update_sci(struct piix4_pm *p)
{
    bool level = (p->st.pm1_sts & p->st.pm1_en & PM1_EN_MASK) ||
                 (p->st.gpe_sts & p->st.gpe_en);

    level = level && (p->st.pm1_cnt & PM1_SCI_EN);
    if (level != p->sci) {
        p->sci = level;
        irq_set(&p->sci_irq, level);
    }
}

static void pm1_cnt_write(struct piix4_pm *p, uint16_t v)
{
    unsigned typ = (v >> 10) & 7;

    p->st.pm1_cnt = (uint16_t)((v & PM1_CNT_MASK & ~PM1_SCI_EN) | PM1_SCI_EN);
    if (!(v & PM1_SLP_EN))
        return;
    if (typ == SLP_TYP_S3) {
        log_guest("piix4-pm: S3 suspend requested: not supported, ignored");
        return;
    }
    if (typ == 0) {
        irq_raise(&p->poweroff);
        return;
    }
    log_guest("piix4-pm: sleep type %u requested: ignored", typ);
}

/* The block is made of 16-bit registers and a 32-bit timer; narrower and
 * wider accesses act on the bytes they cover. */
static uint8_t pm_read_byte(struct piix4_pm *p, unsigned off, uint32_t tmr)
{
    switch (off) {
    case 0: case 1: return (uint8_t)(p->st.pm1_sts >> (8 * (off & 1)));
    case 2: case 3: return (uint8_t)(p->st.pm1_en >> (8 * (off & 1)));
    case 4: case 5: return (uint8_t)(p->st.pm1_cnt >> (8 * (off & 1)));
    case 8: case 9: case 10: case 11: return (uint8_t)(tmr >> (8 * (off - 8)));
    default: return 0;
    }
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct piix4_pm *p = opaque;
    uint32_t tmr;
    uint64_t v = 0;
    unsigned i;

    timer_check(p);
    update_sci(p);
    tmr = timer_now(p);
    for (i = 0; i < size; i++)
        v |= (uint64_t)pm_read_byte(p, (unsigned)off + i, tmr) << (8 * i);
    return v;
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct piix4_pm *p = opaque;
    uint64_t v = val;
    unsigned o = (unsigned)off;

    /* Split into the registers touched; each gets its bytes. */
    while (size) {
        uint16_t b = (uint16_t)(v & 0xff);
        uint16_t sh = (uint16_t)(8 * (o & 1));

        switch (o) {
        case 0: case 1:
            timer_check(p);
            p->st.pm1_sts &= (uint16_t)~((b << sh) & PM1_STS_MASK);
            break;
        case 2: case 3:
            p->st.pm1_en = (uint16_t)((p->st.pm1_en & ~(0xff << sh)) | ((b << sh) & PM1_EN_MASK));
            break;
        case 4:
            if (size >= 2) {
                pm1_cnt_write(p, (uint16_t)(v & 0xffff));
                v >>= 8;
                o++;
                size--;
            } else {
                pm1_cnt_write(p, (uint16_t)((p->st.pm1_cnt & 0xff00) | b));
            }
            break;
        case 5:
            pm1_cnt_write(p, (uint16_t)((p->st.pm1_cnt & 0x00ff) | b << 8));
            break;
        default:
            break;                  /* timer and reserved bytes: read-only */
        }
        v >>= 8;
        o++;
        size--;
    }
    update_sci(p);
}

static const struct io_ops pm_ops = { .read = pm_read, .write = pm_write };

static uint64_t gpe_read(void *opaque, uint64_t off, unsigned size)
{
    struct piix4_pm *p = opaque;
    uint32_t regs = (uint32_t)p->st.gpe_sts | (uint32_t)p->st.gpe_en << 16;

    return (regs >> (8 * off)) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void gpe_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct piix4_pm *p = opaque;
    unsigned i;

    for (i = 0; i < size && off + i < GPE0_LEN; i++) {
        unsigned o = (unsigned)off + i, sh = 8 * (o & 1);
        uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff);

        if (o < 2)
            p->st.gpe_sts &= (uint16_t)~(b << sh);
        else
            p->st.gpe_en = (uint16_t)((p->st.gpe_en & ~(0xff << sh)) | b << sh);
    }
    update_sci(p);
}

static const struct io_ops gpe_ops = { .read = gpe_read, .write = gpe_write };

static uint64_t zero_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void ignore_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct io_ops pcihp_ops = { .read = zero_read, .write = ignore_write };

static uint64_t cpuhp_read(void *opaque, uint64_t off, unsigned size)
{
    struct piix4_pm *p = opaque;
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size && off + i < CPUHP_LEN; i++)
        v |= (uint64_t)p->cpu_map[off + i] << (8 * i);
    return v;
}

static const struct io_ops cpuhp_ops = { .read = cpuhp_read, .write = ignore_write };

static uint64_t smb_read(void *opaque, uint64_t off, unsigned size)
{
    struct piix4_pm *p = opaque;
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size && off + i < SMB_IO_LEN; i++)
        v |= (uint64_t)p->st.smb[off + i] << (8 * i);
    return v;
}

static void smb_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct piix4_pm *p = opaque;
    unsigned i;

    for (i = 0; i < size && off + i < SMB_IO_LEN; i++) {
        unsigned o = (unsigned)off + i;
        uint8_t b = (uint8_t)(val >> (8 * i));

        if (o == 0) {
            p->st.smb[0] &= (uint8_t)~b;        /* host status: write 1 to clear */
        } else if (o == 2) {
            p->st.smb[2] = b & (uint8_t)~SMB_CNT_START;
            if (b & SMB_CNT_START)
                p->st.smb[0] = (p->st.smb[0] & (uint8_t)~SMB_STS_BUSY) | SMB_STS_DEVERR | SMB_STS_INTR;
        } else {
            p->st.smb[o] = b;
        }
    }
}

static const struct io_ops smb_ops = { .read = smb_read, .write = smb_write };

static void remap(struct iobus *bus, struct io_region *r, bool on, uint64_t base)
{
    if (r->mapped && (!on || r->base != base))
        io_region_unmap(bus, r);
    if (on && !r->mapped && io_region_map(bus, r, base) < 0)
        log_guest("piix4-pm: %s at 0x%llx overlaps another region: not decoded",
                  r->name, (unsigned long long)base);
}

static void update_io(struct piix4_pm *p)
{
    const uint8_t *c = p->dev.config;
    uint32_t pmba = get_le16(c + 0x40) & 0xffc0u;
    uint32_t smbba = get_le16(c + 0x90) & 0xfff0u;

    remap(p->bus, &p->pm_io, (c[0x80] & 1) && pmba, pmba);
    remap(p->bus, &p->smb_io, (c[0xd2] & 1) && smbba, smbba);
}

static void config_written(struct pci_dev *d, unsigned reg, uint32_t val, unsigned size)
{
    update_io(d->opaque);
}

static void set_config(struct piix4_pm *p)
{
    uint8_t *c = p->dev.config;

    c[0x06] = 0x80;                 /* fast back-to-back */
    c[0x07] = 0x02;                 /* DEVSEL medium */
    c[0x3d] = 0x01;                 /* INTA */
    c[0x40] = 0x01;                 /* PMBA: I/O space indicator (read-only) */
    c[0x90] = 0x01 | (0xb100 & 0xf0);   /* SMBBA 0xb100, as qemu-xen sets it */
    c[0x91] = 0xb100 >> 8;
    c[0xd2] = 0x09;                 /* SMBus host enabled, IRQ select SMI */
}

static void pm_reset_state(struct piix4_pm *p)
{
    memset(&p->st, 0, sizeof(p->st));
    p->st.pm1_cnt = PM1_SCI_EN;     /* no SMI_CMD in Xen's FADT: always in ACPI mode */
    p->st.tmr_last = timer_now(p);
    if (p->sci) {
        p->sci = false;
        irq_lower(&p->sci_irq);
    }
}

/* The "piix4-pm" section (tmr_last is not saved: the timer is the
 * accelerator's clock). */
static const struct vm_field pm_fields[] = {
    VMF_UINT(struct pm_state, pm1_sts),
    VMF_UINT(struct pm_state, pm1_en),
    VMF_UINT(struct pm_state, pm1_cnt),
    VMF_UINT(struct pm_state, gpe_sts),
    VMF_UINT(struct pm_state, gpe_en),
    VMF_ARRAY(struct pm_state, smb),
    VMF_END
};

/* Bits no register write can set are dropped, as the registers do; ACPI
 * mode stays on (no SMI_CMD in Xen's FADT). */
static int pm_check(const void *live, void *staging, char *err, size_t errlen)
{
    struct pm_state *s = staging;

    s->pm1_sts &= PM1_STS_MASK;
    s->pm1_en &= PM1_EN_MASK;
    s->pm1_cnt = (uint16_t)((s->pm1_cnt & PM1_CNT_MASK) | PM1_SCI_EN);
    return 0;
}

/* Config space came back through the "pci" section (loaded earlier). */
static void pm_post_load(void *opaque)
{
    struct piix4_pm *p = opaque;

    p->st.tmr_last = timer_now(p);
    update_io(p);
    update_sci(p);
}

struct piix4_pm *piix4_pm_new(struct pci_bus *pci, struct iobus *bus, struct accel *accel,
                              struct irq_line sci, struct irq_line poweroff, unsigned cpus)
{
    struct piix4_pm *p = calloc(1, sizeof(*p));
    struct vmstate_dev vd = {
        .name = "piix4-pm", .version = 1, .state_size = sizeof(struct pm_state),
        .fields = pm_fields, .check = pm_check, .post_load = pm_post_load,
    };
    unsigned i;

    if (!p)
        return NULL;
    p->bus = bus;
    p->accel = accel;
    p->sci_irq = sci;
    p->poweroff = poweroff;
    pci_dev_init(&p->dev, "piix4-pm", 1, 3, 0x8086, 0x7113, 0x068000, 0x03);
    memset(p->dev.wmask + 0x40, 0xff, 0xc0);    /* device-specific: writable, as in QEMU */
    p->dev.wmask[0x40] = 0xc0;                  /* PMBA: 64-byte block, bit 0 fixed */
    p->dev.wmask[0x90] = 0xf0;                  /* SMBBA: 16-byte block, bit 0 fixed */
    set_config(p);
    p->dev.config_written = config_written;
    p->dev.opaque = p;
    io_region_init(&p->pm_io, IO_PIO, "acpi-pm", &pm_ops, p, PM_IO_LEN);
    io_region_init(&p->smb_io, IO_PIO, "smbus", &smb_ops, p, SMB_IO_LEN);
    io_region_init(&p->gpe_io, IO_PIO, "acpi-gpe0", &gpe_ops, p, GPE0_LEN);
    io_region_init(&p->pcihp_io, IO_PIO, "acpi-pci-hotplug", &pcihp_ops, p, PCIHP_LEN);
    io_region_init(&p->cpuhp_io, IO_PIO, "acpi-cpu-hotplug", &cpuhp_ops, p, CPUHP_LEN);
    for (i = 0; i < cpus && i < CPUHP_LEN * 8; i++)
        p->cpu_map[i / 8] |= (uint8_t)(1u << (i % 8));
    pm_reset_state(p);
    vd.state = &p->st;
    vd.opaque = p;
    if (pci_register(pci, &p->dev) < 0 || vmstate_register(&vd) < 0 ||
        io_region_map(bus, &p->gpe_io, GPE0_BASE) < 0 ||
        io_region_map(bus, &p->pcihp_io, PCIHP_BASE) < 0 ||
        io_region_map(bus, &p->cpuhp_io, CPUHP_BASE) < 0) {
        log_err("piix4-pm: cannot register");
        piix4_pm_free(p);
        return NULL;
    }
    update_io(p);
    return p;
}

void piix4_pm_reset(struct piix4_pm *p)
{
    pm_reset_state(p);
    update_io(p);
}

void piix4_pm_free(struct piix4_pm *p)
{
    if (!p)
        return;
    struct io_region *r[] = { &p->pm_io, &p->smb_io, &p->gpe_io, &p->pcihp_io, &p->cpuhp_io };

    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (r[i]->mapped)
            io_region_unmap(p->bus, r[i]);
    free(p);
}
