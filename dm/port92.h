/* Port 0x92, "system control port A" (dm/port92.c): fast A20 gate (bit 1)
 * and fast reset (bit 0). port92_new() is declared in dm/machine.h. */
#ifndef XSDM_PORT92_H
#define XSDM_PORT92_H

#include <stdbool.h>

#define PORT92_PORT 0x92

void port92_reset(void *p);
bool port92_a20(const void *p);
/* Unmap and free (the machine calls vmstate_unregister_all() itself). */
void port92_free(void *p);

#endif
