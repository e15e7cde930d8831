/* A device's output wires: interrupt lines and requests to the board.
 * A device holds struct irq_line values and drives them; the board
 * (dm/board/machine.c) decides at build time where each one goes (an ISA IRQ
 * through PIIX3, the reset or power-off of the guest...). A device never
 * names the machine: it knows its lines only.
 *   interrupt line: irq_set(level), level 0/1, as the device computes it;
 *   request line:   irq_raise() asks once (a reset pulse, a power button).
 * A line that was never connected (set == NULL) goes nowhere. */
#ifndef XSDM_IRQ_H
#define XSDM_IRQ_H

/* The receiving end: input n of whatever opaque is. */
typedef void irq_handler(void *opaque, int n, int level);

struct irq_line {
    irq_handler *set;
    void *opaque;
    int n;
};

static inline struct irq_line irq_line(irq_handler *set, void *opaque, int n)
{
    return (struct irq_line){ .set = set, .opaque = opaque, .n = n };
}

/* Line i of a block that starts at base (a bus with one line per pin). */
static inline struct irq_line irq_line_nth(struct irq_line base, int i)
{
    base.n += i;
    return base;
}

static inline void irq_set(const struct irq_line *l, int level)
{
    if (l->set)
        l->set(l->opaque, l->n, level);
}

static inline void irq_raise(const struct irq_line *l)
{
    irq_set(l, 1);
}

static inline void irq_lower(const struct irq_line *l)
{
    irq_set(l, 0);
}

#endif
