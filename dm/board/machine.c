/* The xenfv machine (docs/devices.md): builds the devices in slot order
 * (which is also the order of their state sections), routes interrupts,
 * connects the VGA's display, the keyboard and the mouse to the console, and turns
 * guest power requests into what qemu-xen does. */
#include "dm/board/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/board/dm.h"
#include "dm/core/chardev.h"
#include "dm/core/config.h"
#include "dm/core/event.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/cmos.h"
#include "dm/devices/i440fx.h"
#include "dm/devices/i8042.h"
#include "dm/devices/ps2-mouse.h"
#include "dm/devices/piix3.h"
#include "dm/devices/piix4-pm.h"
#include "dm/devices/port92.h"
#include "dm/devices/e1000.h"
#include "dm/devices/rtl8139.h"
#include "dm/devices/uart16550.h"
#include "dm/devices/vga.h"
#include "dm/devices/xen-platform.h"
#include "dm/display/display.h"
#include "dm/display/keymap.h"
#include "dm/net/net.h"
#include "dm/storage/ide.h"

/* The VGA BIOS SeaBIOS runs from the VGA's ROM BAR (Debian's seabios). */
#define VGA_BIOS_PATH "/usr/share/seabios/vgabios-stdvga.bin"
#define VGA_BIOS_MAX  (256 * 1024)

/* ---- the wires ---- */

static void isa_irq_in(void *opaque, int n, int level)
{
    machine_set_isa_irq(opaque, (unsigned)n, level);
}

static void pci_intx_in(void *opaque, int n, int level)
{
    machine_set_pci_intx(opaque, (unsigned)n / 4, (unsigned)n % 4, level);
}

static void guest_request_in(void *opaque, int n, int level)
{
    if (level)
        machine_request_shutdown(opaque, (enum shutdown_reason)n);
}

struct irq_line machine_isa_irq(struct machine *m, unsigned irq)
{
    return irq_line(isa_irq_in, m, (int)irq);
}

struct irq_line machine_pci_intx(struct machine *m)
{
    return irq_line(pci_intx_in, m, 0);
}

struct irq_line machine_guest_request(struct machine *m, enum shutdown_reason why)
{
    return irq_line(guest_request_in, m, (int)why);
}

/* QEMU's event, as libxl and management tools expect it. */
static void tray_moved(void *opaque, const char *id, bool open)
{
    qmp_event("DEVICE_TRAY_MOVED", json_pack("{s:s,s:s,s:b}", "device", id, "id", id, "tray-open", open));
}

/* Xen platform unplug: the emulated disks and NICs leave (NVMe: none). */
static void platform_unplug(void *opaque, unsigned mask)
{
    struct machine *m = opaque;

    if ((mask & (UNPLUG_IDE_DISKS | UNPLUG_AUX_IDE)) && m->ide)
        ide_ctrl_unplug_disks(m->ide, !(mask & UNPLUG_IDE_DISKS));
    if (mask & UNPLUG_NICS)
        for (int i = 0; i < CFG_MAX_NICS; i++) {
            rtl8139_unplug(m->nic[i]);
            e1000_unplug(m->e1000[i]);
        }
}

/* A NIC takes frames only while the VM runs: a stopped VM's memory and
 * device state must not change under a save (machine_resumed() wakes it). */
static bool vm_running(void *opaque)
{
    const struct machine *m = opaque;

    return m->state == RUN_RUNNING;
}


/* Read the VGA BIOS before restriction (the chroot has no /usr/share).
 * Missing: the VGA works without a ROM BAR (qtest has no firmware), logged. */
static uint8_t *read_vga_bios(size_t *len)
{
    uint8_t *buf = NULL;
    ssize_t r;
    size_t n = 0;
    int fd = open(VGA_BIOS_PATH, O_RDONLY | O_CLOEXEC);

    *len = 0;
    if (fd < 0) {
        log_info("vga: %s: %s; no VGA BIOS in the ROM BAR", VGA_BIOS_PATH, strerror(errno));
        return NULL;
    }
    buf = malloc(VGA_BIOS_MAX);
    if (!buf)
        goto out;
    while (n < VGA_BIOS_MAX && (r = read(fd, buf + n, VGA_BIOS_MAX - n)) > 0)
        n += (size_t)r;
    if (n == 0 || n == VGA_BIOS_MAX) {
        log_err("vga: %s: %s; no VGA BIOS in the ROM BAR", VGA_BIOS_PATH, n ? "too large" : "empty");
        free(buf);
        buf = NULL;
        n = 0;
    }
out:
    close(fd);
    *len = n;
    return buf;
}

static int build_vga(struct machine *m, const struct xsdm_config *cfg, unsigned slot)
{
    size_t len;
    uint8_t *rom;

    if (cfg->vga_was_cirrus)
        log_info("vga: cirrus-vga requested: serving the standard VGA instead (docs/xen.md)");
    /* Under Xen the VRAM is guest memory the accelerator populated at init
     * (or, on an incoming domain, finds when the state is loaded). */
    rom = read_vga_bios(&len);
    m->vga = vga_new(m->pci, &m->bus, slot, cfg->vga_vram_mb ? cfg->vga_vram_mb : VGA_VRAM_DEFAULT_MB,
                     rom, len, m->accel);
    free(rom);
    if (!m->vga) {
        log_err("vga: cannot create the standard VGA");
        return -1;
    }
    return 0;
}

/* The console's input: keys become scancodes in the set the guest reads. */
static void console_key(void *opaque, uint32_t keysym, bool down)
{
    struct machine *m = opaque;
    uint8_t codes[KEYMAP_MAX_BYTES];
    size_t n = keymap_scancodes(keysym, down, i8042_kbd_set(m->i8042), codes);

    if (n)
        i8042_kbd_send(m->i8042, codes, n);
}

/* The console's absolute pointer becomes PS/2 motion: the difference from
 * the last position (screen y grows down, PS/2 y up), the buttons, and one
 * wheel count per press of a wheel button. The first event only sets the
 * position. The guest's own acceleration means its cursor need not land
 * where the viewer's is (docs/devices.md). */
static void console_pointer(void *opaque, unsigned x, unsigned y, unsigned buttons)
{
    struct machine *m = opaque;
    unsigned pressed = buttons & ~m->ptr_buttons;
    unsigned ps2 = 0;
    int dx = 0, dy = 0, dz = 0;

    if (m->ptr_known) {
        dx = (int)x - (int)m->ptr_x;
        dy = (int)m->ptr_y - (int)y;
    }
    if (pressed & INPUT_BTN_WHEEL_UP)
        dz--;
    if (pressed & INPUT_BTN_WHEEL_DOWN)
        dz++;
    if (buttons & INPUT_BTN_LEFT)
        ps2 |= PS2M_PKT_LEFT;
    if (buttons & INPUT_BTN_MIDDLE)
        ps2 |= PS2M_PKT_MIDDLE;
    if (buttons & INPUT_BTN_RIGHT)
        ps2 |= PS2M_PKT_RIGHT;
    m->ptr_x = x;
    m->ptr_y = y;
    m->ptr_buttons = buttons;
    m->ptr_known = true;
    i8042_mouse_move(m->i8042, dx, dy, dz, ps2);
}

struct display *machine_display(struct machine *m)
{
    return vga_display(m->vga);
}

struct input_sink machine_input(struct machine *m)
{
    return (struct input_sink){ .key = console_key, .pointer = console_pointer, .opaque = m };
}

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
        m->uart[i] = uart_new(&m->bus, i, machine_isa_irq(m, uart_irq(i)), c);
        if (!m->uart[i]) {
            log_err("serial%d: cannot create the UART", i);
            return -1;
        }
    }
    return 0;
}

/* The PCI slots of the functions whose place depends on the config, the
 * one place that decides them, in qemu-xen's xenfv order: after the
 * machine's own functions (00:00, 00:01), the Xen platform device (the
 * machine creates it), then what libxl passes as -device without addr=, in
 * its order: the VGA, the NICs; each present one takes the next slot. */
struct board_slots {
    unsigned platform;                  /* 00:02.0 */
    unsigned vga;                       /* 00:03.0 (00:02.0 without the platform device) */
    unsigned nic[CFG_MAX_NICS];         /* the next slots after those */
};

static void board_slots(const struct xsdm_config *cfg, struct board_slots *s)
{
    unsigned next = 2;
    int i;

    memset(s, 0, sizeof(*s));
    if (cfg->xen_platform)
        s->platform = next++;
    if (cfg->display_device)
        s->vga = next++;
    for (i = 0; i < cfg->n_nics && i < CFG_MAX_NICS; i++)
        s->nic[i] = next++;
}

/* Each tap is opened here: as root, before restriction. */
static int open_nics(struct machine *m, const struct xsdm_config *cfg, const struct board_slots *slots,
                     struct loop *l)
{
    char err[256];
    int i;

    for (i = 0; i < cfg->n_nics && i < CFG_MAX_NICS; i++) {
        const struct netdev_spec *nd = cli_find_netdev(cfg, cfg->nics[i].netdev);
        struct net_backend *nb;

        if (!nd) {
            log_err("nic%d: no netdev '%s'", i, cfg->nics[i].netdev);
            return -1;
        }
        nb = net_tap_open(nd, l, err, sizeof(err));
        if (!nb) {
            log_err("%s", err);
            return -1;
        }
        if (cfg->nics[i].model == NIC_E1000)
            m->e1000[i] = e1000_new(&m->bus, m->pci, m->accel, slots->nic[i], cfg->nics[i].mac, nb,
                                    vm_running, m);
        else
            m->nic[i] = rtl8139_new(&m->bus, m->pci, m->accel, slots->nic[i], cfg->nics[i].mac, nb,
                                    vm_running, m);
        if (!m->nic[i] && !m->e1000[i]) {
            net_backend_free(nb);
            return -1;
        }
    }
    return 0;
}

int machine_init(struct machine *m, const struct xsdm_config *cfg, struct accel *a, struct loop *l)
{
    char err[256] = "";
    struct irq_line ide_irq[2];
    struct board_slots slots;

    memset(m, 0, sizeof(*m));
    m->cfg = cfg;
    m->accel = a;
    m->loop = l;
    m->state = RUN_PRELAUNCH;
    m->no_shutdown = cfg->no_shutdown;
    iobus_init(&m->bus);
    board_slots(cfg, &slots);
    ide_irq[0] = machine_isa_irq(m, IDE_PRIMARY_IRQ);
    ide_irq[1] = machine_isa_irq(m, IDE_SECONDARY_IRQ);

    m->pci = pci_bus_new(&m->bus, machine_pci_intx(m),
                         machine_guest_request(m, SHUTDOWN_REBOOT));
    if (!m->pci || i440fx_new(m->pci) < 0)
        goto fail;
    m->piix3 = piix3_new(m->pci, a);
    if (!m->piix3)
        goto fail;
    m->ide = ide_ctrl_new(&m->bus, m->pci, a, ide_irq, cfg, err, sizeof(err));
    if (!m->ide) {
        log_err("ide: %s", err[0] ? err : "cannot create the controller");
        goto fail;
    }
    ide_ctrl_set_tray_notify(m->ide, tray_moved, m);
    m->piix4_pm = piix4_pm_new(m->pci, &m->bus, a, machine_isa_irq(m, PIIX4_PM_SCI_IRQ),
                               machine_guest_request(m, SHUTDOWN_POWEROFF),
                               cfg->smp > 0 ? (unsigned)cfg->smp : 1);
    if (!m->piix4_pm)
        goto fail;
    if (cfg->display_device && build_vga(m, cfg, slots.vga) < 0)
        goto fail;
    if (cfg->xen_platform) {
        m->platform = xen_platform_new(m->pci, slots.platform, &m->bus, platform_unplug, m);
        if (!m->platform)
            goto fail;
    }
    if (open_nics(m, cfg, &slots, l) < 0)
        goto fail;
    if (open_serials(m, cfg, l) < 0)
        goto fail;
    m->i8042 = i8042_new(&m->bus, machine_isa_irq(m, I8042_KBD_IRQ), machine_isa_irq(m, I8042_AUX_IRQ),
                         machine_guest_request(m, SHUTDOWN_REBOOT));
    m->port92 = port92_new(&m->bus, machine_guest_request(m, SHUTDOWN_REBOOT));
    if (!m->i8042 || !m->port92) {
        log_err("machine: cannot create the keyboard controller or port 0x92");
        goto fail;
    }
    /* last: its state section follows the existing ones in the stream */
    m->cmos = cmos_new(&m->bus);
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
    for (i = 0; i < CFG_MAX_NICS; i++)
        if (m->nic[i])
            rtl8139_reset(m->nic[i]);
        else if (m->e1000[i])
            e1000_reset(m->e1000[i]);
    if (m->vga)
        vga_reset(m->vga);
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

void machine_resumed(struct machine *m)
{
    for (int i = 0; i < CFG_MAX_NICS; i++)
        if (m->nic[i])
            rtl8139_resume(m->nic[i]);
        else if (m->e1000[i])
            e1000_resume(m->e1000[i]);
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
    m->i8042 = NULL;
    m->port92 = NULL;
    cmos_free(m->cmos);
    m->cmos = NULL;
    pci_bus_unmap_all(m->pci);
    for (i = 0; i < CFG_MAX_NICS; i++) {
        rtl8139_free(m->nic[i]);
        m->nic[i] = NULL;
        e1000_free(m->e1000[i]);
        m->e1000[i] = NULL;
    }
    if (m->ide)
        ide_ctrl_free(m->ide);
    if (m->platform)
        xen_platform_free(m->platform);
    vga_free(m->vga);
    m->vga = NULL;
    if (m->piix4_pm)
        piix4_pm_free(m->piix4_pm);
    if (m->piix3)
        piix3_free(m->piix3);
    pci_bus_free(m->pci);
    m->ide = NULL;
    m->platform = NULL;
    m->piix4_pm = NULL;
    m->piix3 = NULL;
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
