/* Port 0x92, system control port A: bit 1 gates A20 ("fast A20"), writing
 * bit 0 as 1 pulses the CPU reset line. The reset bit reads back as 0 (it
 * is a pulse, not a latch), so every write with bit 0 set asks again; the
 * other bits are kept as written. Xen guests always run with A20 enabled:
 * the bit is only remembered, as with QEMU under Xen. */
#include "dm/port92.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/iobus.h"
#include "dm/log.h"
#include "dm/machine.h"
#include "dm/vmstate.h"

#define P92_RESET 0x01
#define P92_A20   0x02

#define PORT92_STATE_VERSION 1

struct port92_state {
    uint8_t val;                /* as written, bit 0 always clear */
};

struct port92 {
    struct port92_state s;
    struct machine *m;
    struct io_region region;
    struct vmstate_dev vm;
};

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
    struct port92 *p = opaque;

    return p->s.val;
}

static void port92_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct port92 *p = opaque;

    p->s.val = (uint8_t)val & ~P92_RESET;
    if (val & P92_RESET) {
        log_info("port 0x92: guest requested a reset");
        machine_request_shutdown(p->m, SHUTDOWN_REBOOT);
    }
}

static const struct io_ops port92_ops = { .read = port92_read, .write = port92_write };

void port92_reset(void *opaque)
{
    struct port92 *p = opaque;

    if (p)
        p->s.val = 0;
}

bool port92_a20(const void *opaque)
{
    const struct port92 *p = opaque;

    return p && (p->s.val & P92_A20);
}

static void port92_save(const void *state, struct vmwriter *w)
{
    const struct port92_state *s = state;

    vm_put_u8(w, s->val);
}

static int port92_load(void *staging, struct vmreader *r, char *err, size_t errlen)
{
    struct port92_state *s = staging;

    s->val = vm_get_u8(r);
    if (r->err || r->off != r->len) {
        snprintf(err, errlen, "port92: section has %zu bytes, expected 1", r->len);
        return -1;
    }
    if (s->val & P92_RESET) {
        snprintf(err, errlen, "port92: reset bit set in saved state");
        return -1;
    }
    return 0;
}

void *port92_new(struct machine *m)
{
    struct port92 *p;

    if (!m)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->m = m;
    io_region_init(&p->region, IO_PIO, "port92", &port92_ops, p, 1);
    if (io_region_map(&m->bus, &p->region, PORT92_PORT) < 0) {
        log_err("port92: cannot map port 0x92");
        goto fail;
    }
    p->vm.name = "port92";
    p->vm.version = PORT92_STATE_VERSION;
    p->vm.state = &p->s;
    p->vm.state_size = sizeof(p->s);
    p->vm.save = port92_save;
    p->vm.load = port92_load;
    p->vm.opaque = p;
    if (vmstate_register(&p->vm) < 0)
        goto fail;
    return p;
fail:
    io_region_unmap(&m->bus, &p->region);
    free(p);
    return NULL;
}

void port92_free(void *opaque)
{
    struct port92 *p = opaque;

    if (!p)
        return;
    io_region_unmap(&p->m->bus, &p->region);
    free(p);
}
