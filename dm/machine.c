/* The xenfv machine with vga="none" (docs/devices.md): builds the devices
 * in slot order (which is also the order of their state sections), routes
 * interrupts, and turns guest power requests into what qemu-xen does. */
#include "dm/machine.h"

#include <string.h>
#include <time.h>

#include "dm/chardev.h"
#include "dm/cmos.h"
#include "dm/config.h"
#include "dm/dm.h"
#include "dm/i8042.h"
#include "dm/log.h"
#include "dm/loop.h"
#include "dm/machine-devs.h"
#include "dm/pci.h"
#include "dm/port92.h"
#include "dm/qmp.h"
#include "dm/uart16550.h"
#include "dm/vmstate.h"


static int open_serials(struct machine *m, const struct xsdm_config *cfg, struct loop *l)
{
    char err[256];
    int i;

    for (i = 0; i < cfg->n_serials && i < CFG_MAX_SERIALS && i < 4; i++) {
        const char *id = cfg->serials[i].chardev;
        const struct chardev_spec *spec;
        struct chardev *c;

        if (!id[0])
            continue;
        c = chardev_find(id);
        if (!c) {
            spec = cli_find_chardev(cfg, id);
            if (!spec) {
                log_err("serial%d: no chardev '%s'", i, id);
                return -1;
            }
            c = chardev_open(spec, l, err, sizeof(err));
            if (!c) {
                log_err("serial%d: %s", i, err);
                return -1;
            }
        }
        m->uart[i] = uart_new(m, i, c);
        if (!m->uart[i]) {
            log_err("serial%d: cannot create the UART", i);
            return -1;
        }
    }
    return 0;
}

int machine_init(struct machine *m, const struct xsdm_config *cfg, struct accel *a, struct loop *l)
{
    char err[256] = "";

    memset(m, 0, sizeof(*m));
    m->cfg = cfg;
    m->accel = a;
    m->loop = l;
    m->state = RUN_PRELAUNCH;
    m->no_shutdown = cfg->no_shutdown;
    iobus_init(&m->bus);

    m->pci = pci_bus_new(m);
    if (!m->pci || i440fx_new(m) < 0)
        goto fail;
    m->piix3 = piix3_new(m);
    if (!m->piix3)
        goto fail;
    m->ide = ide_ctrl_new(m, cfg, err, sizeof(err));
    if (!m->ide) {
        log_err("ide: %s", err[0] ? err : "cannot create the controller");
        goto fail;
    }
    m->piix4_pm = piix4_pm_new(m);
    if (!m->piix4_pm)
        goto fail;
    if (cfg->xen_platform) {
        m->platform = xen_platform_new(m);
        if (!m->platform)
            goto fail;
    }
    if (open_serials(m, cfg, l) < 0)
        goto fail;
    m->i8042 = i8042_new(m);
    m->port92 = port92_new(m);
    if (!m->i8042 || !m->port92) {
        log_err("machine: cannot create the keyboard controller or port 0x92");
        goto fail;
    }
    /* last: its state section follows the existing ones in the stream */
    m->cmos = cmos_new(m);
    if (!m->cmos) {
        log_err("machine: cannot create the CMOS RAM");
        goto fail;
    }
    if (pc_cmos_init(m) < 0)
        goto fail;
    return 0;
fail:
    log_err("machine: initialisation failed");
    return -1;
}

void machine_reset(struct machine *m)
{
    int i;

    if (!m->pci)
        return;
    pci_bus_reset(m->pci);
    if (m->piix3)
        piix3_reset(m->piix3);
    if (m->piix4_pm)
        piix4_pm_reset(m->piix4_pm);
    if (m->platform)
        xen_platform_reset(m->platform);
    if (m->ide)
        ide_ctrl_reset(m->ide);
    for (i = 0; i < 4; i++)
        if (m->uart[i])
            uart_reset(m->uart[i]);
    if (m->i8042)
        i8042_reset(m->i8042);
    if (m->port92)
        port92_reset(m->port92);
    pc_cmos_reset(m);
    m->shutdown_requested = false;
}

/* Device state sections go with the machine (tests build several in turn). */
void machine_free(struct machine *m)
{
    int i;

    /* The UARTs first: uart_free() detaches them from their backends, so
     * backend input can no longer reach a freed device. */
    for (i = 0; i < 4; i++) {
        uart_free(m->uart[i]);
        m->uart[i] = NULL;
    }
    i8042_free(m->i8042);
    port92_free(m->port92);
    m->i8042 = m->port92 = NULL;
    cmos_free(m->cmos);
    m->cmos = NULL;
    pci_bus_unmap_all(m->pci);
    if (m->ide)
        ide_ctrl_free(m->ide);
    if (m->platform)
        xen_platform_free(m->platform);
    if (m->piix4_pm)
        piix4_pm_free(m->piix4_pm);
    if (m->piix3)
        piix3_free(m->piix3);
    pci_bus_free(m->pci);
    m->ide = NULL;
    m->platform = m->piix4_pm = m->piix3 = NULL;
    m->pci = NULL;
    vmstate_unregister_all();
}

uint32_t machine_pci_config_read(struct machine *m, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
    return pci_config_read(m->pci, slot, fn, reg, size);
}

void machine_pci_config_write(struct machine *m, unsigned slot, unsigned fn, unsigned reg, uint32_t val, unsigned size)
{
    pci_config_write(m->pci, slot, fn, reg, val, size);
}

void machine_set_isa_irq(struct machine *m, unsigned irq, int level)
{
    if (irq >= 16)
        return;
    if (m->piix3)
        piix3_set_isa_irq(m->piix3, irq, level);
    else if (m->accel && m->accel->ops->set_isa_irq)
        m->accel->ops->set_isa_irq(m->accel, irq, level);
}

void machine_set_pci_intx(struct machine *m, unsigned slot, unsigned pin, int level)
{
    if (slot >= 32 || pin > 3)
        return;
    if (m->accel && m->accel->ops->set_pci_intx)
        m->accel->ops->set_pci_intx(m->accel, slot, pin, level);
    else if (m->piix3)
        piix3_set_pci_intx(m->piix3, slot, pin, level);
}

int64_t machine_clock_ns(struct machine *m)
{
    struct timespec ts;

    if (m && m->accel && m->accel->ops && m->accel->ops->clock_ns)
        return m->accel->ops->clock_ns(m->accel);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* What qemu-xen does (QEMU's main loop + xen-hvm): a guest poweroff emits
 * SHUTDOWN {guest: true, reason: guest-shutdown}; with -no-shutdown the VM
 * stops in state "shutdown" (STOP event) and the DM keeps serving QMP,
 * otherwise the DM exits. A guest reset tells the accelerator (Xen ends
 * the domain with SHUTDOWN_reboot and the toolstack rebuilds it), resets
 * the devices and emits RESET {guest: true, reason: guest-reset}. */
void machine_request_shutdown(struct machine *m, enum shutdown_reason why)
{
    struct accel *a = m->accel;
    struct dm *d = dm_get();

    if (m->state == RUN_SHUTDOWN)
        return;
    m->shutdown_requested = true;
    m->shutdown_why = why;
    if (a && a->ops->shutdown)
        a->ops->shutdown(a, why);
    if (why == SHUTDOWN_REBOOT) {
        log_info("guest requested a reset");
        machine_reset(m);
        qmp_event("RESET", json_pack("{s:b,s:s}", "guest", 1, "reason", "guest-reset"));
        return;
    }
    log_info("guest requested %s", why == SHUTDOWN_CRASH ? "a crash stop" : "power off");
    qmp_event("SHUTDOWN", json_pack("{s:b,s:s}", "guest", 1, "reason",
                                    why == SHUTDOWN_CRASH ? "guest-panic" : "guest-shutdown"));
    if (m->no_shutdown) {
        bool was_running = m->state == RUN_RUNNING;

        m->state = RUN_SHUTDOWN;
        if (a && a->ops->set_running && was_running)
            a->ops->set_running(a, false);
        if (was_running)
            qmp_event("STOP", NULL);
        return;
    }
    m->state = RUN_SHUTDOWN;
    if (d && &d->machine == m)
        d->quit_requested = true;
    if (m->loop)
        loop_quit(m->loop, 0);
}
