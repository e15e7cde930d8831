/* A PCI device's state section tested in process (see devstate.h). */
#include "tests/lib/devstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/bytes.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "tests/lib/vmsection.h"

int devstate_machine(struct fake_machine *fm)
{
    fake_machine_init(fm, NULL, 0);
    fm->m.pci = pci_bus_new(&fm->m.bus, machine_pci_intx(&fm->m), (struct irq_line){ 0 });
    return fm->m.pci ? 0 : -1;
}

void devstate_machine_free(struct fake_machine *fm)
{
    pci_bus_free(fm->m.pci);
    fm->m.pci = NULL;
    vmstate_unregister_all();
}

void devstate_poke(uint8_t *buf, size_t off, unsigned size, uint32_t v)
{
    if (size == 1)
        buf[off] = (uint8_t)v;
    else if (size == 2)
        put_le16(buf + off, (uint16_t)v);
    else
        put_le32(buf + off, v);
}

int devstate_refuses(const struct devstate_sut *d, const uint8_t *good, size_t len,
                     const struct devstate_bad *cases, size_t n, char *msg, size_t msglen)
{
    static uint8_t bad[VMSTATE_MAX_SECTION];
    char err[256];
    void *before = malloc(d->size);
    int rc = -1;

    if (!before || len > sizeof(bad) || len == 0) {
        snprintf(msg, msglen, "no room for a payload of %zu bytes", len);
        goto out;
    }
    memcpy(before, d->live, d->size);
    for (size_t i = 0; i < n; i++) {
        err[0] = '\0';
        memcpy(bad, good, len);
        devstate_poke(bad, vmsection_field(d->section, good, len, cases[i].field), cases[i].size, cases[i].val);
        if (vmsection_load(d->section, bad, len, d->staging, err, sizeof(err)) == 0) {
            snprintf(msg, msglen, "case %zu (%s) accepted", i, cases[i].field);
            goto out;
        }
        if (!strstr(err, cases[i].why)) {
            snprintf(msg, msglen, "case %zu: '%s' does not say '%s'", i, err, cases[i].why);
            goto out;
        }
    }
    /* Staging only: a refused load never reaches the live device. */
    if (memcmp(d->live, before, d->size)) {
        snprintf(msg, msglen, "a refused load changed the live state");
        goto out;
    }
    if (vmsection_load(d->section, good, len - 1, d->staging, err, sizeof(err)) == 0) {
        snprintf(msg, msglen, "a payload one byte short accepted");
        goto out;
    }
    rc = 0;
out:
    free(before);
    return rc;
}
