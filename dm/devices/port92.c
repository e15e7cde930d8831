/* Port 0x92, system control port A: bit 1 gates A20 ("fast A20"), writing
 * bit 0 as 1 pulses the CPU reset line. The reset bit reads back as 0 (it
 * is a pulse, not a latch), so every write with bit 0 set asks again; the
 * other bits are kept as written. Xen guests always run with A20 enabled:
 * the bit is only remembered, as with QEMU under Xen. */
#include "dm/devices/port92.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/iobus.h"
#include "dm/core/irq.h"
#include "dm/core/log.h"
#include "dm/core/vmstate.h"

#define P92_RESET 0x01
#define P92_A20   0x02

#define PORT92_STATE_VERSION 1

struct port92_state {
    uint8_t val;                /* as written, bit 0 always clear */
};

struct port92 {
    struct port92_state s;
    struct iobus *bus;
    struct irq_line reset;
    struct io_region region;
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
        irq_raise(&p->reset);
    }
}

static const struct io_ops port92_ops = { .read = port92_read, .write = port92_write };

void port92_reset(struct port92 *p)
{
    if (p)
        p->s.val = 0;
}

bool port92_a20(const struct port92 *p)
{
    return p && (p->s.val & P92_A20);
}

static const struct vm_field port92_fields[] = {
    VMF_UINT(struct port92_state, val, VM_BITS((uint8_t)~P92_RESET)),  /* a pulse, never latched */
    VMF_END
};

struct port92 *port92_new(struct iobus *bus, struct irq_line reset)
{
    struct port92 *p;
    struct vmstate_dev vd;

    if (!bus)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->bus = bus;
    p->reset = reset;
    io_region_init(&p->region, IO_PIO, "port92", &port92_ops, p, 1);
    if (io_region_map(bus, &p->region, PORT92_PORT) < 0) {
        log_err("port92: cannot map port 0x92");
        goto fail;
    }
    vd = (struct vmstate_dev){
        .name = "port92", .version = PORT92_STATE_VERSION, .state = &p->s, .state_size = sizeof(p->s),
        .fields = port92_fields, .opaque = p,
    };
    if (vmstate_register(&vd) < 0)
        goto fail;
    return p;
fail:
    io_region_unmap(bus, &p->region);
    free(p);
    return NULL;
}

void port92_free(struct port92 *p)
{
    if (!p)
        return;
    io_region_unmap(p->bus, &p->region);
    free(p);
}
