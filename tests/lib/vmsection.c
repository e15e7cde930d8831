/* One device's state section in isolation (see vmsection.h). */
#include "tests/lib/vmsection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/vmstate.h"

size_t vmsection_save(const char *name, uint8_t *buf, size_t cap)
{
    const struct vmstate_dev *d = vmstate_find(name);
    struct vmwriter w = { .buf = buf, .cap = cap };

    if (!d)
        return 0;
    vmstate_save(d, &w);
    return w.err ? 0 : w.len;
}

int vmsection_load(const char *name, const uint8_t *buf, size_t len, void *staging,
                   char *err, size_t errlen)
{
    const struct vmstate_dev *d = vmstate_find(name);
    struct vmreader r = { .p = buf, .len = len };

    if (!d) {
        snprintf(err, errlen, "no device '%s'", name);
        return -1;
    }
    memcpy(staging, d->state, d->state_size);
    if (vmstate_load(d, staging, &r, err, errlen) < 0)
        return -1;
    if (r.off != r.len) {
        snprintf(err, errlen, "%zu unexpected bytes", r.len - r.off);
        return -1;
    }
    return 0;
}

size_t vmsection_field(const char *name, const uint8_t *buf, size_t len, const char *path)
{
    long off = vmstate_field_at(vmstate_find(name), buf, len, path, NULL);

    if (off < 0) {
        fprintf(stderr, "vmsection: device '%s' has no field '%s' in this payload\n", name, path);
        abort();
    }
    return (size_t)off;
}
