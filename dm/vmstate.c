/* The device-state registry: which devices take part in save/restore, in
 * which order, and who answers for the drives' media. The stream itself is
 * dm/migration.c. */
#include "dm/vmstate.h"

#include "dm/log.h"

static struct vmstate_dev devs[VMSTATE_MAX_DEVS];
static int n_devs;

static vmstate_media_fn *media_fn;
static void *media_opaque;

int vmstate_register(const struct vmstate_dev *d)
{
    size_t len;

    if (!d || !d->name || !d->state || !d->save || !d->load) {
        log_err("vmstate: incomplete registration");
        return -1;
    }
    len = strlen(d->name);
    if (len == 0 || len > VMSTATE_NAME_MAX || !strcmp(d->name, "media")) {
        log_err("vmstate: invalid device name '%s'", d->name);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if (d->name[i] < 0x21 || d->name[i] > 0x7e || d->name[i] == '"' || d->name[i] == '\\') {
            log_err("vmstate: invalid character in device name '%s'", d->name);
            return -1;
        }
    if (vmstate_find(d->name)) {
        log_err("vmstate: device '%s' registered twice", d->name);
        return -1;
    }
    if (n_devs >= VMSTATE_MAX_DEVS) {
        log_err("vmstate: no room for device '%s' (max %d)", d->name, VMSTATE_MAX_DEVS);
        return -1;
    }
    devs[n_devs++] = *d;
    return 0;
}

void vmstate_unregister_all(void)
{
    memset(devs, 0, sizeof(devs));
    n_devs = 0;
    media_fn = NULL;
    media_opaque = NULL;
}

int vmstate_count(void)
{
    return n_devs;
}

const struct vmstate_dev *vmstate_get(int i)
{
    if (i < 0 || i >= n_devs)
        return NULL;
    return &devs[i];
}

const struct vmstate_dev *vmstate_find(const char *name)
{
    for (int i = 0; i < n_devs; i++)
        if (!strcmp(devs[i].name, name))
            return &devs[i];
    return NULL;
}

void vmstate_set_media_provider(vmstate_media_fn *fn, void *opaque)
{
    media_fn = fn;
    media_opaque = opaque;
}

bool vmstate_query_media(int index, struct vmstate_media *out)
{
    memset(out, 0, sizeof(*out));
    if (!media_fn)
        return false;
    media_fn(media_opaque, index, out);
    return true;
}
