/* Xen ioreq decoding (dm/accel/xen-ioreq.h). Every field of a request is treated
 * as hostile: sizes, rep counts and guest addresses are checked before use,
 * and whatever is refused is still answered so the vCPU does not hang. */
#include "dm/accel/xen-ioreq.h"

#include <string.h>

#include "dm/board/machine.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static void refuse(struct xen_ioreq_env *e, ioreq_t *req, const char *why)
{
    e->refused++;
    log_guest("xen: refused ioreq type %u addr 0x%llx size %u count %u ptr %u dir %u: %s",
              (unsigned)req->type, (unsigned long long)req->addr, (unsigned)req->size,
              (unsigned)req->count, (unsigned)req->data_is_ptr, (unsigned)req->dir, why);
    if (req->dir == IOREQ_READ && !req->data_is_ptr)
        req->data = size_mask(valid_size(req->size) ? req->size : 8);
}

/* A rep run moves count elements of size bytes, count * size at most
 * XEN_IOREQ_MAX_REP_BYTES (else refused here). */
static bool rep_bounded(struct xen_ioreq_env *e, ioreq_t *req, uint32_t count)
{
    if ((uint64_t)count * req->size <= XEN_IOREQ_MAX_REP_BYTES)
        return true;
    refuse(e, req, "rep count too large");
    return false;
}

/* Element i of a rep run is i * size bytes from the first, downwards when df
 * is set; on the device side an MMIO address steps so, a port stays the same
 * port. */
static uint64_t rep_offset(const ioreq_t *req, uint32_t i)
{
    uint64_t off = (uint64_t)i * req->size;

    return req->df ? (uint64_t)0 - off : off;
}

static uint64_t rep_dev(const ioreq_t *req, enum io_space space, uint32_t i)
{
    return space == IO_PIO ? req->addr : req->addr + rep_offset(req, i);
}

/* PIO or MMIO with the data in the request itself. A count above 1 is a REP
 * STOS (REP OUTS) of that one value: Xen sends one request for a guest's fill
 * of MMIO (vgacon clears the text screen so). Its elements land as REP MOVS's
 * do (rep_dev); a read steps alike and answers the last one, as QEMU does. */
static void io_direct(struct xen_ioreq_env *e, ioreq_t *req, enum io_space space)
{
    uint32_t i, count = req->count ? req->count : 1;

    if (!rep_bounded(e, req, count))
        return;
    for (i = 0; i < count; i++) {
        uint64_t dev = rep_dev(req, space, i);

        if (req->dir == IOREQ_READ)
            req->data = io_read(e->bus, space, dev, req->size) & size_mask(req->size);
        else
            io_write(e->bus, space, dev, req->data & size_mask(req->size), req->size);
    }
}

/* REP INS/OUTS/MOVS: data is a guest-physical address, stepping as the
 * device side does for MMIO (rep_offset). */
static void io_rep(struct xen_ioreq_env *e, ioreq_t *req, enum io_space space)
{
    uint32_t i;

    if (!e->mem_read || !e->mem_write) {
        refuse(e, req, "no guest memory");
        return;
    }
    if (!rep_bounded(e, req, req->count))
        return;
    for (i = 0; i < req->count; i++) {
        uint64_t gpa = req->data + rep_offset(req, i);
        uint64_t dev = rep_dev(req, space, i);
        uint64_t v = 0;

        if (req->dir == IOREQ_READ) {
            v = io_read(e->bus, space, dev, req->size);
            if (e->mem_write(e->opaque, gpa, &v, req->size) < 0) {
                refuse(e, req, "rep destination is not guest RAM");
                return;
            }
        } else {
            if (e->mem_read(e->opaque, gpa, &v, req->size) < 0) {
                refuse(e, req, "rep source is not guest RAM");
                return;
            }
            io_write(e->bus, space, dev, v & size_mask(req->size), req->size);
        }
    }
}

/* IOREQ_TYPE_PCI_CONFIG: addr = SBDF << 32 | register. Only segment 0,
 * bus 0 and the 256-byte legacy space exist here. */
static void pci_config(struct xen_ioreq_env *e, ioreq_t *req)
{
    uint32_t sbdf = (uint32_t)(req->addr >> 32);
    uint32_t reg = (uint32_t)req->addr;
    unsigned slot = (sbdf >> 3) & 0x1f, fn = sbdf & 7;
    bool present = (sbdf >> 8) == 0 && reg < 256 && reg + req->size <= 256 && e->machine;

    if (req->data_is_ptr || req->size > 4 || req->count > 1) {
        refuse(e, req, "malformed PCI config cycle");
        return;
    }
    if (req->dir == IOREQ_READ) {
        req->data = present ? machine_pci_config_read(e->machine, slot, fn, reg, req->size)
                            : size_mask(req->size);
        return;
    }
    if (present)
        machine_pci_config_write(e->machine, slot, fn, reg, (uint32_t)req->data, req->size);
}

void xen_ioreq_dispatch(struct xen_ioreq_env *e, ioreq_t *req)
{
    switch (req->type) {
    case IOREQ_TYPE_PIO:
    case IOREQ_TYPE_COPY: {
        enum io_space space = req->type == IOREQ_TYPE_PIO ? IO_PIO : IO_MMIO;

        if (!valid_size(req->size) || (space == IO_PIO && req->size > 4)) {
            refuse(e, req, "bad access size");
            return;
        }
        if (req->data_is_ptr)
            io_rep(e, req, space);
        else
            io_direct(e, req, space);
        break;
    }
    case IOREQ_TYPE_PCI_CONFIG:
        if (!valid_size(req->size)) {
            refuse(e, req, "bad access size");
            return;
        }
        pci_config(e, req);
        break;
    case IOREQ_TYPE_INVALIDATE:
        if (e->invalidate)
            e->invalidate(e->opaque);
        break;
    case IOREQ_TYPE_TIMEOFFSET:
        break;      /* RTC offset changes: the toolstack keeps them, not us */
    default:
        refuse(e, req, "unknown type");
        return;
    }
    e->served++;
}

bool xen_ioreq_service(struct xen_ioreq_env *e, volatile ioreq_t *slot)
{
    ioreq_t req;

    if (slot->state != STATE_IOREQ_READY)
        return false;
    /* Read the body only after seeing READY (Xen wrote it before the state). */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    memcpy(&req, (const void *)slot, sizeof(req));
    slot->state = STATE_IOREQ_INPROCESS;
    xen_ioreq_dispatch(e, &req);
    slot->data = req.data;
    /* The data must be visible before Xen sees the response. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    slot->state = STATE_IORESP_READY;
    return true;
}

int xen_bufioreq_drain(struct xen_ioreq_env *e, buffered_iopage_t *page)
{
    int n = 0;

    for (;;) {
        uint32_t rd = __atomic_load_n(&page->read_pointer, __ATOMIC_ACQUIRE);
        uint32_t wr = __atomic_load_n(&page->write_pointer, __ATOMIC_ACQUIRE);
        buf_ioreq_t b;
        ioreq_t req;
        uint32_t used = 1;

        if (rd == wr)
            return n;
        if (wr - rd > IOREQ_BUFFER_SLOT_NUM) {
            log_guest("xen: buffered ioreq ring corrupt (read %u write %u)", rd, wr);
            return -1;
        }
        memcpy(&b, &page->buf_ioreq[rd % IOREQ_BUFFER_SLOT_NUM], sizeof(b));
        memset(&req, 0, sizeof(req));
        req.type = b.type;
        req.dir = b.dir;
        req.size = 1u << b.size;
        req.count = 1;
        req.addr = b.addr;
        req.data = b.data;
        req.state = STATE_IOREQ_READY;
        if (req.size == 8) {
            buf_ioreq_t hi;

            /* The upper half sits in the next slot; Xen writes both before
             * moving write_pointer, so it must be there already. */
            if (wr - rd < 2) {
                log_guest("xen: incomplete 8-byte buffered ioreq");
                return -1;
            }
            memcpy(&hi, &page->buf_ioreq[(rd + 1) % IOREQ_BUFFER_SLOT_NUM], sizeof(hi));
            req.data |= (uint64_t)hi.data << 32;
            used = 2;
        }
        /* Buffered requests are posted writes; a read here has no one to
         * answer to, so it is refused rather than performed. */
        if (req.dir == IOREQ_READ || (req.type != IOREQ_TYPE_PIO && req.type != IOREQ_TYPE_COPY)) {
            e->refused++;
            log_guest("xen: refused buffered ioreq type %u dir %u", (unsigned)req.type, (unsigned)req.dir);
        } else {
            xen_ioreq_dispatch(e, &req);
            e->buffered++;
        }
        __atomic_fetch_add(&page->read_pointer, used, __ATOMIC_RELEASE);
        n++;
    }
}
