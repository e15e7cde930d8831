/* What the machine needs from whoever runs the guest: guest RAM for DMA and
 * a clock (devices use these), interrupt delivery and the power button (the
 * board uses these; devices drive struct irq_line, dm/core/irq.h). Two
 * implementations: dm/accel/accel-qtest.c (QEMU's qtest text protocol over a
 * socket, guest RAM is our own shared mapping) and dm/accel/accel-xen.c (ioreq
 * server, foreign mappings, xendevicemodel IRQ calls).
 * Nothing outside the accelerators sees more than this interface. */
#ifndef XSDM_ACCEL_H
#define XSDM_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct xsdm_config;
struct loop;
struct machine;

enum shutdown_reason { SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT, SHUTDOWN_CRASH };

struct accel;

struct accel_ops {
    const char *name;
    /* Before restriction: open handles, connect sockets, map what must be mapped. */
    int (*init)(struct accel *a, const struct xsdm_config *cfg, struct loop *l);
    /* After the machine exists: start delivering guest I/O to it (map ranges, bind ports). */
    int (*attach)(struct accel *a, struct machine *m);
    /* Copy guest-physical memory; 0, or -1 if any byte is outside guest RAM
     * (then nothing was written on the write side). len may be 0. */
    int (*mem_read)(struct accel *a, uint64_t gpa, void *buf, size_t len);
    int (*mem_write)(struct accel *a, uint64_t gpa, const void *buf, size_t len);
    /* ISA IRQ line 0-15 (edge or level as the device drives it). */
    void (*set_isa_irq)(struct accel *a, unsigned irq, int level);
    /* PCI INTx of slot/pin (pin 0 = INTA). NULL: the machine routes through
     * the PIIX3 PIRQ registers to an ISA IRQ itself (qtest). */
    void (*set_pci_intx)(struct accel *a, unsigned slot, unsigned pin, int level);
    /* The guest wrote PIIX3 PIRQ route register `link` (0-3); irq 0x80 = disabled. */
    void (*set_pci_link_route)(struct accel *a, unsigned link, unsigned irq);
    /* The guest asked to power off / reboot: end the domain (Xen) or report it (qtest). */
    void (*shutdown)(struct accel *a, enum shutdown_reason why);
    /* Live migration: DMA writes between enable and disable must be reported. */
    int (*set_dirty_log)(struct accel *a, bool enable);
    /* Run state changes (cont/stop): Xen starts/stops serving ioreqs. */
    void (*set_running)(struct accel *a, bool running);
    /* fds the accelerator still needs after restriction (close-fds keep-list). */
    int (*keep_fds)(struct accel *a, int *fds, int max);
    /* Bytes of guest memory it may have mapped at once, after init: the
     * restriction sizes RLIMIT_AS from it. NULL: all of guest RAM. */
    uint64_t (*map_budget)(struct accel *a);
    /* Restriction step 1: neuter privileged handles (xentoolcore_restrict_all,
     * close xenstore). NULL or 0 when there is nothing to restrict. */
    int (*restrict_handles)(struct accel *a);
    void (*destroy)(struct accel *a);
    /* The VGA's VRAM as guest memory the guest reaches directly through the
     * framebuffer BAR (Xen: guest pages, moved to wherever the BAR is mapped).
     * vram_open, at machine build: 0 with *mem = `size` bytes populated and
     * mapped now; 0 with *mem = NULL on an incoming domain, whose pages came
     * with its memory: nothing may touch them until vram_find() maps them at
     * the gfn the saved state names (at load, after restriction); 1 (or no
     * op): none here, the device allocates its own and traps the BAR (qtest
     * without vram=); -1: error. */
    int (*vram_open)(struct accel *a, size_t size, void **mem);
    /* The pages at gfn (an incoming domain's, once): the mapping, or NULL with
     * err (a gfn that is guest RAM or holds no VRAM: a corrupt stream). */
    void *(*vram_find)(struct accel *a, uint64_t gfn, char *err, size_t errlen);
    /* Where the VRAM pages are now (saved so the next DM finds them). */
    uint64_t (*vram_gfn)(struct accel *a);
    /* The DM wrote VRAM bytes [off, off + len) through its mapping (the legacy
     * window, a mode-set clear): while dirty logging is on, Xen must hear it
     * or a live migration would not resend those pages. */
    void (*vram_modified)(struct accel *a, uint64_t off, uint64_t len);
    /* Guest time in ns for devices that count (PM timer). NULL: CLOCK_MONOTONIC.
     * qtest: the virtual clock that only clock_step/clock_set move. */
    int64_t (*clock_ns)(struct accel *a);
};

struct accel {
    const struct accel_ops *ops;
    void *priv;
    uint64_t ram_size;          /* bytes of guest RAM (-m) */
    bool dirty_log;             /* global dirty logging on (xen-set-global-dirty-log) */
};

extern const struct accel_ops accel_qtest_ops;
extern const struct accel_ops accel_xen_ops;

static inline int accel_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    return a->ops->mem_read(a, gpa, buf, len);
}
static inline int accel_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    return a->ops->mem_write(a, gpa, buf, len);
}

static inline void accel_vram_modified(struct accel *a, uint64_t off, uint64_t len)
{
    if (a && a->ops && a->ops->vram_modified && len)
        a->ops->vram_modified(a, off, len);
}

/* Guest time in ns: the accelerator's clock_ns, else CLOCK_MONOTONIC. */
static inline int64_t accel_clock_ns(struct accel *a)
{
    struct timespec ts;

    if (a && a->ops && a->ops->clock_ns)
        return a->ops->clock_ns(a);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
