/* The Xen accelerator (docs/xen.md): xsdm as the domain's ioreq server.
 * This file holds the privileged handles (xenctrl, foreignmemory,
 * devicemodel, evtchn, xenstore, toolcore) and makes every library call;
 * decoding what the guest asked for lives in dm/accel/xen-ioreq.c and the DMA
 * mapping cache in dm/accel/xen-mapcache.c, neither of which sees a handle.
 *
 * Order (docs/libxl-compat.md §6): init opens the handles in
 * qemu-xen's order and creates the ioreq server with buffered ioreqs; attach
 * (machine built) maps the ioreq pages, routes every I/O region and PCI
 * function to the server, enables it, binds each vCPU's event channel and
 * the buffered one; restrict_handles closes xenstore and restricts the rest
 * to the domain, then proves it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xendevicemodel.h>
#include <xentoollog.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoolcore.h>

#include "dm/accel/xen-ioreq.h"
#include "dm/accel/xen-mapcache.h"
#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/config.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"

/* xenctrl.h cannot be compiled as C11 (its save-record headers need GNU
 * anonymous unions), and we need only these three calls from it; the
 * prototypes are xenctrl.h:153, :168 and :1352 (libxen-dev 4.17). */
typedef struct xc_interface_core xc_interface;
xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags);
int xc_interface_close(xc_interface *xch);
int xc_domain_populate_physmap_exact(xc_interface *xch, uint32_t domid, unsigned long nr_extents,
                                     unsigned int extent_order, unsigned int mem_flags, xen_pfn_t *extent_start);
/* xen/hvm/hvm_op.h:183, visible there only to __XEN_TOOLS__ code. */
#ifndef HVM_IOREQSRV_BUFIOREQ_ATOMIC
#define HVM_IOREQSRV_BUFIOREQ_ATOMIC 2
#endif

#define XEN_PAGE_SIZE       4096
#define XEN_MAX_VCPUS       (XEN_PAGE_SIZE / sizeof(ioreq_t))
#define XEN_MAX_FDS         16
#define FD_SCAN_MAX         1024
/* Where RAM below 4 GiB ends at most (hvmloader's MMIO hole start), as in pc-cmos.c. */
#define XEN_BELOW_4G_RAM_END 0xf0000000ull

struct xen_accel {
    domid_t domid;
    bool domid_restrict;                /* -xen-domid-restrict */
    xc_interface *xch;
    xenforeignmemory_handle *fmem;
    xendevicemodel_handle *dmod;
    xenevtchn_handle *xce;
    struct xs_handle *xsh;
    ioservid_t ioservid;
    bool have_server;
    xenforeignmemory_resource_handle *res;
    void *pages;                        /* frame 0 buffered page, frame 1 shared page */
    buffered_iopage_t *buf_page;
    shared_iopage_t *shared_page;
    evtchn_port_t buf_remote;
    xenevtchn_port_or_error_t buf_local;
    unsigned nvcpus;
    xenevtchn_port_or_error_t *local_port;  /* per vCPU */
    struct machine *m;
    struct loop *loop;
    struct mapcache mc;
    struct xen_ioreq_env env;
    struct io_listener listener;
    /* The VGA's VRAM: guest pages populated at init just above guest RAM
     * (where qemu-xen puts them), mapped here for the whole run, and moved
     * (relocate_memory) to wherever the guest maps the framebuffer BAR. On
     * an incoming domain they came with its memory: vram stays NULL until
     * the saved state says where they are (vram_find). */
    void *vram;
    size_t vram_pages;
    uint64_t vram_park_gfn;             /* where they live while the BAR is unmapped */
    uint64_t vram_gfn;                  /* where they are now */
    uint64_t ram_low_end, ram_high_end; /* guest RAM: [0, low) and [4 GiB, high) (high 0: none) */
    int fds[XEN_MAX_FDS];               /* fds the library handles opened */
    int n_fds;
    bool running;
    bool restricted;
    uint64_t dirty_pages;               /* reported modified since dirty logging went on */
    uint64_t dirty_failed;              /* of which Xen refused the report */
};

static struct xen_accel *X(struct accel *a) { return a->priv; }

/* ---- which fds the libraries opened (they do not say) ------------------ */

static void fd_scan(bool *open_fds)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;

    memset(open_fds, 0, FD_SCAN_MAX * sizeof(*open_fds));
    if (!d)
        return;
    while ((de = readdir(d))) {
        long n = strtol(de->d_name, NULL, 10);

        if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && n >= 0 && n < FD_SCAN_MAX)
            open_fds[n] = true;
    }
    closedir(d);
}

/* Record fds that are open now and were not in before[] (minus the scan's own). */
static void fd_note_new(struct xen_accel *x, const bool *before)
{
    bool now[FD_SCAN_MAX];
    int i;

    fd_scan(now);
    for (i = 0; i < FD_SCAN_MAX && x->n_fds < XEN_MAX_FDS; i++)
        if (now[i] && !before[i])
            x->fds[x->n_fds++] = i;
}

/* ---- guest memory ------------------------------------------------------ */

static void *fmem_map(void *opaque, uint64_t first_pfn, size_t npages, int *err)
{
    struct xen_accel *x = opaque;
    xen_pfn_t pfns[MAPCACHE_BUCKET_PAGES] = { 0 };
    size_t i, ok = 0;
    void *p;

    if (npages > MAPCACHE_BUCKET_PAGES)
        return NULL;
    for (i = 0; i < npages; i++)
        pfns[i] = first_pfn + i;
    p = xenforeignmemory_map2(x->fmem, x->domid, NULL, PROT_READ | PROT_WRITE, 0, npages, pfns, err);
    if (!p)
        return NULL;
    for (i = 0; i < npages; i++)
        ok += !err[i];
    if (!ok) {
        xenforeignmemory_unmap(x->fmem, p, npages);
        return NULL;
    }
    return p;
}

static void fmem_unmap(void *opaque, void *addr, size_t npages)
{
    struct xen_accel *x = opaque;

    xenforeignmemory_unmap(x->fmem, addr, npages);
}

static int xen_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    return mapcache_read(&X(a)->mc, gpa, buf, len);
}

/* While the toolstack migrates, every page we dirty must be resent:
 * Xen's log-dirty sees the guest's writes, not ours through a mapping. */
static void report_modified(struct xen_accel *x, uint64_t first, uint64_t n)
{
    x->dirty_pages += n;
    if (xendevicemodel_modified_memory(x->dmod, x->domid, first, (uint32_t)n) < 0) {
        x->dirty_failed += n;
        log_warn("xen: modified_memory(0x%llx, %llu): %s", (unsigned long long)first, (unsigned long long)n,
                 strerror(errno));
    }
}

static int xen_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    struct xen_accel *x = X(a);
    uint64_t first, last;

    if (mapcache_write(&x->mc, gpa, buf, len) < 0)
        return -1;
    if (a->dirty_log && len) {
        first = gpa >> MAPCACHE_PAGE_SHIFT;
        last = (gpa + len - 1) >> MAPCACHE_PAGE_SHIFT;
        report_modified(x, first, last - first + 1);
    }
    return 0;
}

/* Callbacks of the ioreq decoder (it only sees opaque). */
static int env_mem_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    return xen_mem_read(opaque, gpa, buf, len);
}

static int env_mem_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    return xen_mem_write(opaque, gpa, buf, len);
}

static void env_invalidate(void *opaque)
{
    struct accel *a = opaque;

    mapcache_invalidate(&X(a)->mc);
}

/* ---- serving ioreqs ---------------------------------------------------- */

static void drain_buffered(struct xen_accel *x)
{
    if (x->buf_page && x->m)
        xen_bufioreq_drain(&x->env, x->buf_page);
}

/* One pending port per wakeup (the epoll watch is level-triggered, so
 * further pending ports wake us again). Buffered writes were queued before
 * the synchronous request that made Xen notify us: they are served first.
 * Xen notifies the buffered port after every write it queues, so nothing
 * polls the page on a timer: with no timer the loop reads no clock and
 * epoll_wait arms no kernel timer, and a round trip costs four syscalls
 * (epoll_wait, read of the pending port, unmask write, notify ioctl). */
static void on_evtchn(void *opaque, int fd, uint32_t events)
{
    struct xen_accel *x = opaque;
    xenevtchn_port_or_error_t port = xenevtchn_pending(x->xce);
    unsigned i;

    if (port < 0)
        return;
    xenevtchn_unmask(x->xce, (evtchn_port_t)port);
    drain_buffered(x);
    if (port == x->buf_local)
        return;
    for (i = 0; i < x->nvcpus; i++) {
        if (x->local_port[i] != port)
            continue;
        if (xen_ioreq_service(&x->env, &x->shared_page->vcpu_ioreq[i]))
            xenevtchn_notify(x->xce, (evtchn_port_t)port);
        return;
    }
    log_warn("xen: event on unknown port %d", port);
}

/* ---- address-space listener: regions -> ioreq server ranges ------------ */

/* Move the VRAM pages to gfn (dm_op relocate_memory: allowed after the
 * restriction, unlike the populate at init). Xen keeps the same pages, so
 * our mapping of them stays valid wherever the guest sees them. */
static void vram_move(struct xen_accel *x, uint64_t gfn)
{
    if (gfn == x->vram_gfn)
        return;
    /* The guest picks the BAR address: both lines are its doing, rate-limited. */
    if (xendevicemodel_relocate_memory(x->dmod, x->domid, (uint32_t)x->vram_pages, x->vram_gfn, gfn) < 0) {
        log_guest("xen: VRAM: relocate %zu pages 0x%llx -> 0x%llx: %s", x->vram_pages,
                  (unsigned long long)x->vram_gfn, (unsigned long long)gfn, strerror(errno));
        return;
    }
    log_guest("xen: VRAM now at gfn 0x%llx%s", (unsigned long long)gfn, gfn == x->vram_park_gfn ? " (parked)" : "");
    x->vram_gfn = gfn;
}

static bool is_vram(const struct xen_accel *x, const struct io_region *r)
{
    return x->vram && r->space == IO_MMIO && r->ram == x->vram &&
           r->len == (uint64_t)x->vram_pages * XEN_PAGE_SIZE && !(r->base & (XEN_PAGE_SIZE - 1));
}

static void range_map(void *opaque, const struct io_region *r)
{
    struct xen_accel *x = opaque;

    /* The framebuffer BAR is guest memory, not a trapped range. */
    if (is_vram(x, r)) {
        vram_move(x, r->base / XEN_PAGE_SIZE);
        return;
    }
    if (xendevicemodel_map_io_range_to_ioreq_server(x->dmod, x->domid, x->ioservid, r->space == IO_MMIO,
                                                    r->base, r->base + r->len - 1) < 0)
        log_err("xen: map %s %s 0x%llx+0x%llx: %s", r->space == IO_MMIO ? "mmio" : "pio", r->name,
                (unsigned long long)r->base, (unsigned long long)r->len, strerror(errno));
}

static void range_unmap(void *opaque, const struct io_region *r)
{
    struct xen_accel *x = opaque;

    if (is_vram(x, r)) {
        vram_move(x, x->vram_park_gfn);
        return;
    }
    if (xendevicemodel_unmap_io_range_from_ioreq_server(x->dmod, x->domid, x->ioservid, r->space == IO_MMIO,
                                                        r->base, r->base + r->len - 1) < 0)
        log_err("xen: unmap %s 0x%llx: %s", r->name, (unsigned long long)r->base, strerror(errno));
}

static void map_pcidev(struct pci_dev *d, void *opaque)
{
    struct xen_accel *x = opaque;

    if (xendevicemodel_map_pcidev_to_ioreq_server(x->dmod, x->domid, x->ioservid, 0, 0,
                                                  (uint8_t)d->slot, (uint8_t)d->fn) < 0)
        log_err("xen: map PCI 00:%02x.%u (%s): %s", d->slot, d->fn, d->name, strerror(errno));
}

/* ---- VRAM: populated and mapped before restriction ---------------------- */

/* qemu-xen's place for the first RAM block after guest RAM: right above the
 * RAM below 4 GiB, or above the RAM relocated over 4 GiB. Outside the e820
 * RAM hvmloader reports, inside the domain's allowance (libxl adds the video
 * memory to maxmem and leaves it out of -m). */
static uint64_t vram_park_gfn(struct xen_accel *x, const struct xsdm_config *cfg)
{
    uint64_t ram = cfg->ram_mb << 20, below = XEN_BELOW_4G_RAM_END;

    if (cfg->max_ram_below_4g && cfg->max_ram_below_4g < below)
        below = cfg->max_ram_below_4g;
    if (ram <= below) {
        x->ram_low_end = ram;
        return ram / XEN_PAGE_SIZE;
    }
    x->ram_low_end = below;
    x->ram_high_end = (1ull << 32) + (ram - below);
    return x->ram_high_end / XEN_PAGE_SIZE;
}

/* Populating guest memory is not a dm_op: it needs the unrestricted
 * libxenctrl handle, so it happens here, once, before restriction. */
static int vram_populate(struct xen_accel *x, const struct xsdm_config *cfg)
{
    uint64_t bytes = cfg_vga_vram_bytes(cfg);
    xen_pfn_t *pfns = NULL;
    int *err = NULL;
    size_t i;
    int rc = -1;

    if (!bytes)
        return 0;
    x->vram_pages = bytes / XEN_PAGE_SIZE;
    x->vram_park_gfn = x->vram_gfn = vram_park_gfn(x, cfg);
    /* An incoming domain's pages came with its memory, wherever the
     * sender's BAR had them: populating would add a second copy. The saved
     * state names their gfn; vram_find maps them at load. */
    if (cfg->incoming_fd >= 0) {
        log_info("xen: VRAM %llu MiB: an incoming domain's, mapped when the state names its gfn",
                 (unsigned long long)(bytes >> 20));
        return 0;
    }
    pfns = calloc(x->vram_pages, sizeof(*pfns));
    err = calloc(x->vram_pages, sizeof(*err));
    if (!pfns || !err)
        goto out;
    for (i = 0; i < x->vram_pages; i++)
        pfns[i] = x->vram_park_gfn + i;
    if (xc_domain_populate_physmap_exact(x->xch, x->domid, x->vram_pages, 0, 0, pfns) < 0) {
        log_err("xen: VRAM: populate %zu pages at gfn 0x%llx: %s (is the video memory in maxmem?)",
                x->vram_pages, (unsigned long long)x->vram_park_gfn, strerror(errno));
        goto out;
    }
    for (i = 0; i < x->vram_pages; i++)
        pfns[i] = x->vram_park_gfn + i;
    x->vram = xenforeignmemory_map(x->fmem, x->domid, PROT_READ | PROT_WRITE, x->vram_pages, pfns, err);
    if (!x->vram) {
        log_err("xen: VRAM: map %zu pages: %s", x->vram_pages, strerror(errno));
        goto out;
    }
    for (i = 0; i < x->vram_pages; i++) {
        if (err[i]) {
            log_err("xen: VRAM: map gfn 0x%llx: %s", (unsigned long long)(x->vram_park_gfn + i), strerror(-err[i]));
            goto out;
        }
    }
    log_info("xen: VRAM %llu MiB populated at gfn 0x%llx and mapped", (unsigned long long)(bytes >> 20),
             (unsigned long long)x->vram_park_gfn);
    rc = 0;
out:
    free(pfns);
    free(err);
    return rc;
}

/* ---- accel_ops ---------------------------------------------------------- */

static int open_and_create(struct accel *a, const struct xsdm_config *cfg, struct loop *l)
{
    struct xen_accel *x;
    bool before[FD_SCAN_MAX];
    struct mapcache_backend be = { fmem_map, fmem_unmap, NULL };

    if (cfg->domid <= 0 || cfg->domid >= (int)DOMID_FIRST_RESERVED) {
        log_err("xen: -xen-domid %d is not a guest domain", cfg->domid);
        return -1;
    }
    x = calloc(1, sizeof(*x));
    if (!x)
        return -1;
    a->priv = x;
    x->domid = (domid_t)cfg->domid;
    x->domid_restrict = cfg->domid_restrict;
    x->loop = l;
    x->buf_local = -1;
    fd_scan(before);

    /* §6 steps 1-5, in qemu-xen's order. */
    x->xch = xc_interface_open(NULL, NULL, 0);
    if (!x->xch) {
        log_err("xen: xc_interface_open: %s", strerror(errno));
        return -1;
    }
    x->fmem = xenforeignmemory_open(NULL, 0);
    if (!x->fmem) {
        log_err("xen: xenforeignmemory_open: %s", strerror(errno));
        return -1;
    }
    x->dmod = xendevicemodel_open(NULL, 0);
    if (!x->dmod) {
        log_err("xen: xendevicemodel_open: %s", strerror(errno));
        return -1;
    }
    x->xce = xenevtchn_open(NULL, 0);
    if (!x->xce) {
        log_err("xen: xenevtchn_open: %s", strerror(errno));
        return -1;
    }
    x->xsh = xs_open(0);
    if (!x->xsh)
        log_warn("xen: xs_open: %s (no readiness key without dm_restrict)", strerror(errno));
    if (vram_populate(x, cfg) < 0)
        return -1;
    /* Nothing after setup needs libxenctrl (opened first for qemu-xen's
     * order; the VRAM populate was its last use): closing it now drops its
     * privcmd and hypercall fds instead of keeping them as /dev/null
     * placeholders. */
    xc_interface_close(x->xch);
    x->xch = NULL;
    fd_note_new(x, before);

    if (xendevicemodel_create_ioreq_server(x->dmod, x->domid, HVM_IOREQSRV_BUFIOREQ_ATOMIC, &x->ioservid) < 0) {
        log_err("xen: create_ioreq_server(dom%u): %s", x->domid, strerror(errno));
        return -1;
    }
    x->have_server = true;
    x->res = xenforeignmemory_map_resource(x->fmem, x->domid, XENMEM_resource_ioreq_server, x->ioservid,
                                           XENMEM_resource_ioreq_server_frame_bufioreq, 2, &x->pages,
                                           PROT_READ | PROT_WRITE, 0);
    if (!x->res) {
        log_err("xen: map_resource(ioreq server %u): %s", x->ioservid, strerror(errno));
        return -1;
    }
    x->buf_page = x->pages;
    x->shared_page = (shared_iopage_t *)((char *)x->pages + XEN_PAGE_SIZE);
    if (xendevicemodel_get_ioreq_server_info(x->dmod, x->domid, x->ioservid, NULL, NULL, &x->buf_remote) < 0) {
        log_err("xen: get_ioreq_server_info: %s", strerror(errno));
        return -1;
    }
    {
        unsigned int n = 0;

        if (xendevicemodel_nr_vcpus(x->dmod, x->domid, &n) < 0 || n == 0)
            n = cfg->maxcpus > 0 ? (unsigned)cfg->maxcpus : 1;
        x->nvcpus = n > XEN_MAX_VCPUS ? XEN_MAX_VCPUS : n;
    }
    x->local_port = calloc(x->nvcpus, sizeof(*x->local_port));
    if (!x->local_port)
        return -1;

    be.opaque = x;
    mapcache_init(&x->mc, &be, xen_mapcache_buckets(a->ram_size));
    x->env.mem_read = env_mem_read;
    x->env.mem_write = env_mem_write;
    x->env.invalidate = env_invalidate;
    x->env.opaque = a;
    log_info("xen: dom%u ioreq server %u, %u vCPU(s), mapcache %u MiB", x->domid, x->ioservid, x->nvcpus,
             x->mc.nbuckets);
    return 0;
}

static void xen_destroy(struct accel *a);

/* A half-built server would stay in the domain after we exit: undo it. */
static int xen_init(struct accel *a, const struct xsdm_config *cfg, struct loop *l)
{
    int rc = open_and_create(a, cfg, l);

    if (rc < 0)
        xen_destroy(a);
    return rc;
}

static int xen_attach(struct accel *a, struct machine *m)
{
    struct xen_accel *x = X(a);
    unsigned i;

    x->m = m;
    x->env.bus = &m->bus;
    x->env.machine = m;
    x->listener.map = range_map;
    x->listener.unmap = range_unmap;
    x->listener.opaque = x;
    iobus_set_listener(&m->bus, &x->listener);
    if (m->pci)
        pci_foreach(m->pci, map_pcidev, x);
    /* Enabling makes Xen write each vCPU's port into the shared page. */
    if (xendevicemodel_set_ioreq_server_state(x->dmod, x->domid, x->ioservid, 1) < 0) {
        log_err("xen: set_ioreq_server_state: %s", strerror(errno));
        return -1;
    }
    for (i = 0; i < x->nvcpus; i++) {
        evtchn_port_t remote = x->shared_page->vcpu_ioreq[i].vp_eport;

        x->local_port[i] = xenevtchn_bind_interdomain(x->xce, x->domid, remote);
        if (x->local_port[i] < 0) {
            log_err("xen: bind vCPU %u port %u: %s", i, remote, strerror(errno));
            return -1;
        }
    }
    x->buf_local = xenevtchn_bind_interdomain(x->xce, x->domid, x->buf_remote);
    if (x->buf_local < 0) {
        log_err("xen: bind buffered port %u: %s", x->buf_remote, strerror(errno));
        return -1;
    }
    if (loop_add(x->loop, xenevtchn_fd(x->xce), EPOLLIN, on_evtchn, x) < 0) {
        log_err("xen: cannot watch the event channel fd");
        return -1;
    }
    /* libxl waits for this key only when it did not pre-open QMP (no
     * dm_restrict); a restricted DM is asked "query-status" instead. */
    if (!x->domid_restrict && x->xsh) {
        char path[80];

        snprintf(path, sizeof(path), "/local/domain/0/device-model/%u/state", x->domid);
        if (!xs_write(x->xsh, XBT_NULL, path, "running", 7))
            log_warn("xen: xenstore write %s: %s", path, strerror(errno));
    }
    return 0;
}

static void xen_set_isa_irq(struct accel *a, unsigned irq, int level)
{
    struct xen_accel *x = X(a);

    if (irq < 16 && xendevicemodel_set_isa_irq_level(x->dmod, x->domid, (uint8_t)irq, level ? 1 : 0) < 0)
        log_warn("xen: set_isa_irq_level(%u, %d): %s", irq, level, strerror(errno));
}

static void xen_set_pci_intx(struct accel *a, unsigned slot, unsigned pin, int level)
{
    struct xen_accel *x = X(a);

    if (slot < 32 && pin < 4 &&
        xendevicemodel_set_pci_intx_level(x->dmod, x->domid, 0, 0, (uint8_t)slot, (uint8_t)pin, level ? 1 : 0) < 0)
        log_warn("xen: set_pci_intx_level(%u, %u): %s", slot, pin, strerror(errno));
}

/* PIIX3 PIRQ register: bit 7 disables the route; Xen takes irq 0 for that. */
static void xen_set_pci_link_route(struct accel *a, unsigned link, unsigned irq)
{
    struct xen_accel *x = X(a);
    uint8_t isa = (irq & 0x80) || irq > 15 ? 0 : (uint8_t)irq;

    if (link < 4 && xendevicemodel_set_pci_link_route(x->dmod, x->domid, (uint8_t)link, isa) < 0)
        log_warn("xen: set_pci_link_route(%u, %u): %s", link, isa, strerror(errno));
}

static void xen_shutdown(struct accel *a, enum shutdown_reason why)
{
    struct xen_accel *x = X(a);
    unsigned reason = why == SHUTDOWN_REBOOT ? SHUTDOWN_reboot :
                      why == SHUTDOWN_CRASH ? SHUTDOWN_crash : SHUTDOWN_poweroff;

    if (xendevicemodel_shutdown(x->dmod, x->domid, reason) < 0)
        log_err("xen: shutdown(dom%u, %u): %s", x->domid, reason, strerror(errno));
}

/* The counts are the evidence that a live migration saw the DM's DMA: the
 * save happens while the guest is stopped, so they are logged then and when
 * logging goes off (the sending DM may be killed before that). */
static void log_dirty_count(const struct xen_accel *x, const char *when)
{
    log_info("xen: dirty logging %s: %llu page(s) written by DMA or to VRAM reported modified, %llu refused",
             when, (unsigned long long)x->dirty_pages, (unsigned long long)x->dirty_failed);
}

static int xen_set_dirty_log(struct accel *a, bool enable)
{
    struct xen_accel *x = X(a);

    if (enable && !a->dirty_log) {
        x->dirty_pages = x->dirty_failed = 0;
        log_info("xen: dirty logging on");
    } else if (!enable && a->dirty_log) {
        log_dirty_count(x, "off");
    }
    a->dirty_log = enable;
    return 0;
}

static void xen_set_running(struct accel *a, bool running)
{
    if (!running && X(a)->running && a->dirty_log)
        log_dirty_count(X(a), "on, guest stopped");
    X(a)->running = running;
}

static int xen_keep_fds(struct accel *a, int *fds, int max)
{
    struct xen_accel *x = X(a);
    int i, n = 0;

    if (!x)
        return 0;
    for (i = 0; i < x->n_fds && n < max; i++)
        fds[n++] = x->fds[i];
    return n;
}

/* Guest RAM is mapped lazily through the bounded mapcache, never whole. */
static uint64_t xen_map_budget(struct accel *a)
{
    struct xen_accel *x = X(a);

    return xen_mapcache_budget(a->ram_size) + (x ? (uint64_t)x->vram_pages * XEN_PAGE_SIZE : 0);
}

static int xen_vram_open(struct accel *a, size_t size, void **mem)
{
    struct xen_accel *x = X(a);

    *mem = NULL;
    if (!x || !x->vram_pages || size != x->vram_pages * XEN_PAGE_SIZE) {
        log_err("xen: no VRAM of %zu bytes was set up for the VGA", size);
        return -1;
    }
    *mem = x->vram;                     /* NULL on an incoming domain: vram_find */
    return 0;
}

/* gfn comes from the saved state, written by the previous DM: hostile. It
 * must be outside guest RAM (else the BAR moves would relocate RAM pages)
 * and every page there must map. Mapping is a foreign map restricted to
 * the domain: allowed after restriction (IOCTL_PRIVCMD_MMAPBATCH_V2, mmap),
 * as for the mapcache. */
static void *xen_vram_find(struct accel *a, uint64_t gfn, char *err, size_t errlen)
{
    struct xen_accel *x = X(a);
    uint64_t lo = gfn * XEN_PAGE_SIZE, hi, n = x ? x->vram_pages : 0;
    xen_pfn_t *pfns = NULL;
    int *errs = NULL;
    void *p = NULL;
    size_t i;

    if (!n) {
        snprintf(err, errlen, "no VRAM was set up");
        return NULL;
    }
    if (x->vram) {
        if (gfn == x->vram_gfn)
            return x->vram;
        snprintf(err, errlen, "VRAM is already mapped at gfn 0x%llx, not 0x%llx", (unsigned long long)x->vram_gfn,
                 (unsigned long long)gfn);
        return NULL;
    }
    hi = lo + n * XEN_PAGE_SIZE;
    if (gfn >= (1ull << 40) || lo < x->ram_low_end || (x->ram_high_end && lo < x->ram_high_end && hi > 1ull << 32)) {
        snprintf(err, errlen, "VRAM gfn 0x%llx is guest RAM or out of range", (unsigned long long)gfn);
        return NULL;
    }
    pfns = calloc(n, sizeof(*pfns));
    errs = calloc(n, sizeof(*errs));
    if (!pfns || !errs) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        pfns[i] = gfn + i;
    p = xenforeignmemory_map(x->fmem, x->domid, PROT_READ | PROT_WRITE, n, pfns, errs);
    if (!p) {
        snprintf(err, errlen, "map %llu VRAM pages at gfn 0x%llx: %s", (unsigned long long)n,
                 (unsigned long long)gfn, strerror(errno));
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (errs[i]) {
            snprintf(err, errlen, "no VRAM page at gfn 0x%llx: %s", (unsigned long long)(gfn + i),
                     strerror(-errs[i]));
            xenforeignmemory_unmap(x->fmem, p, n);
            p = NULL;
            goto out;
        }
    }
    x->vram = p;
    x->vram_gfn = gfn;
    log_info("xen: VRAM found at gfn 0x%llx and mapped", (unsigned long long)gfn);
out:
    free(pfns);
    free(errs);
    return p;
}

static uint64_t xen_vram_gfn(struct accel *a)
{
    return X(a) ? X(a)->vram_gfn : 0;
}

static void xen_vram_modified(struct accel *a, uint64_t off, uint64_t len)
{
    struct xen_accel *x = X(a);
    uint64_t size = x ? (uint64_t)x->vram_pages * XEN_PAGE_SIZE : 0;

    if (!a->dirty_log || !x->vram || off >= size || len > size - off || !len)
        return;
    report_modified(x, x->vram_gfn + off / XEN_PAGE_SIZE,
                    (off + len - 1) / XEN_PAGE_SIZE - off / XEN_PAGE_SIZE + 1);
}

/* After xentoolcore_restrict_all a dm_op, a foreign map and an interdomain
 * bind aimed at any other domain must be refused by the kernel. The target
 * is a domid no guest can have, so an unrestricted handle would only reach
 * Xen and get ESRCH: EPERM/EACCES prove the restriction. */
static int verify_restricted(struct xen_accel *x)
{
    const domid_t other = DOMID_FIRST_RESERVED - 1;
    xen_pfn_t pfn = 0;
    int err = 0;
    void *p;

    errno = 0;
    if (xendevicemodel_set_isa_irq_level(x->dmod, other, 0, 0) == 0 || errno != EPERM) {
        log_err("xen: restrict: a dm_op for dom%u was not refused (%s)", other, strerror(errno));
        return -1;
    }
    errno = 0;
    p = xenforeignmemory_map2(x->fmem, other, NULL, PROT_READ, 0, 1, &pfn, &err);
    if (p) {
        xenforeignmemory_unmap(x->fmem, p, 1);
        if (!err) {
            log_err("xen: restrict: a foreign map of dom%u succeeded", other);
            return -1;
        }
    } else if (errno != EPERM) {
        log_err("xen: restrict: foreign map of dom%u: %s (want EPERM)", other, strerror(errno));
        return -1;
    }
    errno = 0;
    if (xenevtchn_bind_interdomain(x->xce, other, 1) >= 0 || (errno != EPERM && errno != EACCES)) {
        log_err("xen: restrict: an event channel bind to dom%u was not refused (%s)", other, strerror(errno));
        return -1;
    }
    return 0;
}

static int xen_restrict_handles(struct accel *a)
{
    struct xen_accel *x = X(a);

    if (x->xsh) {
        xs_close(x->xsh);
        x->xsh = NULL;
    }
    if (xentoolcore_restrict_all(x->domid) < 0) {
        log_err("xen: xentoolcore_restrict_all(%u): %s", x->domid, strerror(errno));
        return -1;
    }
    if (verify_restricted(x) < 0)
        return -1;
    x->restricted = true;
    log_info("xen: handles restricted to dom%u (xenstore closed, hypercalls refused)", x->domid);
    return 0;
}

static void xen_destroy(struct accel *a)
{
    struct xen_accel *x = X(a);

    if (!x)
        return;
    mapcache_invalidate(&x->mc);
    if (x->vram)
        xenforeignmemory_unmap(x->fmem, x->vram, x->vram_pages);
    if (x->res)
        xenforeignmemory_unmap_resource(x->fmem, x->res);
    if (x->have_server && !x->restricted)
        xendevicemodel_destroy_ioreq_server(x->dmod, x->domid, x->ioservid);
    if (x->xsh)
        xs_close(x->xsh);
    if (x->xce)
        xenevtchn_close(x->xce);
    if (x->dmod)
        xendevicemodel_close(x->dmod);
    if (x->fmem)
        xenforeignmemory_close(x->fmem);
    if (x->xch)
        xc_interface_close(x->xch);
    free(x->local_port);
    free(x);
    a->priv = NULL;
}

const struct accel_ops accel_xen_ops = {
    .name = "xen",
    .init = xen_init,
    .attach = xen_attach,
    .mem_read = xen_mem_read,
    .mem_write = xen_mem_write,
    .set_isa_irq = xen_set_isa_irq,
    .set_pci_intx = xen_set_pci_intx,
    .set_pci_link_route = xen_set_pci_link_route,
    .shutdown = xen_shutdown,
    .set_dirty_log = xen_set_dirty_log,
    .set_running = xen_set_running,
    .keep_fds = xen_keep_fds,
    .map_budget = xen_map_budget,
    .vram_open = xen_vram_open,
    .vram_find = xen_vram_find,
    .vram_gfn = xen_vram_gfn,
    .vram_modified = xen_vram_modified,
    .restrict_handles = xen_restrict_handles,
    .destroy = xen_destroy,
};
