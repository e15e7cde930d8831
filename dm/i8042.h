/* i8042 keyboard controller (dm/i8042.c). i8042_new()/i8042_reset() are
 * declared in dm/machine.h; this adds what only the machine and tests need. */
#ifndef XSDM_I8042_H
#define XSDM_I8042_H

#include <stdbool.h>

#define I8042_DATA_PORT   0x60
#define I8042_STATUS_PORT 0x64     /* read: status, write: controller command */
#define I8042_KBD_IRQ     1
#define I8042_AUX_IRQ     12

/* A20 as the controller's output port (bit 1) has it. */
bool i8042_a20(const void *kbd);
/* Unmap and free (the machine calls vmstate_unregister_all() itself). */
void i8042_free(void *kbd);

#endif
