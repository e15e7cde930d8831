/* A PCI device's state section tested in process: a bare fake machine with
 * a PCI bus for the device under test, and the table of hostile field
 * values a load must refuse by name, staging only. No libcheck here (the
 * fuzzers link tests/lib): failures come back as -1, the tests assert. */
#ifndef XSDM_TEST_DEVSTATE_H
#define XSDM_TEST_DEVSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "tests/lib/fakemachine.h"

/* fake_machine_init() without RAM, then a PCI bus on it (fm->m.pci); 0 or -1. */
int devstate_machine(struct fake_machine *fm);
/* Free the PCI bus (after the device) and forget every state section. */
void devstate_machine_free(struct fake_machine *fm);

/* Little-endian store of a field of size 1, 2 or 4 at off. */
void devstate_poke(uint8_t *buf, size_t off, unsigned size, uint32_t v);

/* One hostile value: field (a path in the device's field table) of size
 * bytes set to val, and what the refusal must say. */
struct devstate_bad {
    const char *field;
    unsigned size;
    uint32_t val;
    const char *why;
};

/* The device under test's state: its section, its live state and a
 * staging copy of the same type. */
struct devstate_sut {
    const char *section;
    const void *live;
    void *staging;
    size_t size;                /* of the state type */
};

/* Load good[0..len) (d's saved section) with each case poked into it into
 * d's staging copy: every one must be refused, saying its why; the live
 * state must be untouched after them all; and good one byte short must be
 * refused too. 0, or -1 with msg saying which check failed first. */
int devstate_refuses(const struct devstate_sut *d, const uint8_t *good, size_t len,
                     const struct devstate_bad *cases, size_t n, char *msg, size_t msglen);

#endif
