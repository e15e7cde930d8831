/* 16550A UART (dm/devices/uart16550.c): the board builds one per -serial. */
#ifndef XSDM_UART16550_H
#define XSDM_UART16550_H

#include <stdint.h>

#include "dm/core/irq.h"

struct uart;
struct iobus;
struct chardev;

#define UART_FIFO_LEN 16
#define UART_MAX      4

/* Register offsets from the base port. */
enum {
    UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
    UART_IER = 1, UART_DLM = 1,
    UART_IIR = 2, UART_FCR = 2,
    UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

/* Standard PC COM port base and ISA IRQ for index 0-3; 0 if out of range. */
uint16_t uart_base_port(int index);
unsigned uart_irq(int index);

/* COM<index+1> at uart_base_port(index) on bus, interrupting through irq
 * (the board wires it to ISA IRQ uart_irq(index)), its line side on
 * backend (NULL: nothing attached). Registers state section "serial<index>". */
struct uart *uart_new(struct iobus *bus, int index, struct irq_line irq, struct chardev *backend);
void uart_reset(struct uart *u);
/* Unmap and free (the machine calls vmstate_unregister_all() itself). */
void uart_free(struct uart *u);

#endif
