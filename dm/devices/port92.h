/* Port 0x92, "system control port A" (dm/devices/port92.c): fast A20 gate (bit 1)
 * and fast reset (bit 0). */
#ifndef XSDM_PORT92_H
#define XSDM_PORT92_H

#include <stdbool.h>

#include "dm/core/irq.h"

#define PORT92_PORT 0x92

struct port92;
struct iobus;

/* Port 0x92 on bus; reset is raised on every write with bit 0 set.
 * Registers state section "port92". */
struct port92 *port92_new(struct iobus *bus, struct irq_line reset);
void port92_reset(struct port92 *p);
bool port92_a20(const struct port92 *p);
/* Unmap and free (the machine calls vmstate_unregister_all() itself). */
void port92_free(struct port92 *p);

#endif
