/* i8042 keyboard controller with a PS/2 mouse on its aux port (dm/devices/i8042.c). */
#ifndef XSDM_I8042_H
#define XSDM_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/irq.h"

struct i8042;
struct iobus;

#define I8042_DATA_PORT   0x60
#define I8042_STATUS_PORT 0x64     /* read: status, write: controller command */
#define I8042_KBD_IRQ     1
#define I8042_AUX_IRQ     12

/* Ports 0x60/0x64 on bus; kbd_irq/aux_irq are the keyboard and aux
 * interrupts (the board's ISA IRQ 1 and 12), reset is raised when the guest
 * pulses the reset line. Registers state section "i8042". */
struct i8042 *i8042_new(struct iobus *bus, struct irq_line kbd_irq, struct irq_line aux_irq,
                        struct irq_line reset);
void i8042_reset(struct i8042 *k);
/* The scancode set the guest reads from the keyboard now (1 when the
 * controller translates set 2), or 0 when it does not accept keys (scanning
 * off, keyboard disabled). i8042_kbd_send() queues a key's bytes in that
 * set, all or none (a full queue drops the key, logged). */
unsigned i8042_kbd_set(const struct i8042 *k);
void i8042_kbd_send(struct i8042 *k, const uint8_t *bytes, size_t n);
/* The console's pointer moved: dx right, dy up, dz wheel (negative: up),
 * buttons held as PS2M_BUTTONS (dm/devices/ps2-mouse.h). The mouse sums the
 * motion and sends packets on IRQ 12 while the guest has reporting on. */
void i8042_mouse_move(struct i8042 *k, int dx, int dy, int dz, unsigned buttons);
/* A20 as the controller's output port (bit 1) has it. */
bool i8042_a20(const struct i8042 *k);
/* Unmap and free (the machine calls vmstate_unregister_all() itself). */
void i8042_free(struct i8042 *k);

#endif
