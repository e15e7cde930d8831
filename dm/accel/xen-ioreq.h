/* Decoding and serving Xen ioreqs (docs/xen.md): the guest-facing half of
 * the Xen accelerator. It turns the ioreq_t structures Xen writes into the
 * shared and buffered ioreq pages into accesses on the machine's buses, PCI
 * config cycles and guest-memory copies. It holds no Xen handle and includes
 * no privileged header (only Xen's public ioreq ABI), so the unit test feeds
 * it synthetic requests; dm/accel/accel-xen.c owns event channels and mappings. */
#ifndef XSDM_XEN_IOREQ_H
#define XSDM_XEN_IOREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/hvm/ioreq.h>

struct iobus;
struct machine;

/* A rep (data_is_ptr) request copies count * size bytes of guest memory.
 * Xen keeps one rep run within a page; anything beyond this is refused. */
#define XEN_IOREQ_MAX_REP_BYTES (64u * 1024u)

struct xen_ioreq_env {
    struct iobus *bus;          /* PIO and MMIO accesses */
    struct machine *machine;    /* PCI config cycles; NULL reads all-ones */
    /* Guest-physical memory for rep copies: 0, or -1 if any byte is not RAM. */
    int (*mem_read)(void *opaque, uint64_t gpa, void *buf, size_t len);
    int (*mem_write)(void *opaque, uint64_t gpa, const void *buf, size_t len);
    void (*invalidate)(void *opaque);       /* IOREQ_TYPE_INVALIDATE: drop the mapcache */
    void *opaque;
    /* Counters (tests, logs). */
    uint64_t served, refused, buffered;
};

/* Serve one request held in private memory (never the shared page: Xen may
 * not change it under us, but we do not rely on that). Reads leave their
 * result in req->data. Malformed requests are refused (counted, logged with
 * log_guest) and reads of them return all-ones: the vCPU must still be
 * answered. */
void xen_ioreq_dispatch(struct xen_ioreq_env *e, ioreq_t *req);

/* The synchronous protocol on one vCPU's slot of the shared page: if the
 * slot is STATE_IOREQ_READY, copy it, mark it in process, serve the copy,
 * write the data back and mark the response ready (with the barriers the
 * protocol needs). Returns true if a response was written (the caller then
 * notifies the vCPU's event channel). */
bool xen_ioreq_service(struct xen_ioreq_env *e, volatile ioreq_t *slot);

/* Drain the buffered page (writes Xen queued without waiting for us).
 * Returns the number of requests served; a corrupt ring is abandoned (-1). */
int xen_bufioreq_drain(struct xen_ioreq_env *e, buffered_iopage_t *page);

#endif
