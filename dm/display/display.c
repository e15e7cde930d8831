/* The display surface between a graphics device and the console
 * (dm/display/display.h): mode validation and the dirty-row bitmap. */
#include "dm/display/display.h"

#include <string.h>

#include "dm/core/log.h"

void display_init(struct display *d, const struct display_ops *ops, void *dev)
{
    memset(d, 0, sizeof(*d));
    d->ops = ops;
    d->dev = dev;
}

static void notify(struct display *d)
{
    if (d->listener.mode_changed)
        d->listener.mode_changed(d->listener.opaque);
}

int display_set_mode(struct display *d, unsigned width, unsigned height, size_t stride,
                     const uint8_t *pixels)
{
    int rc = 0;

    if (width > DISPLAY_MAX_WIDTH || height > DISPLAY_MAX_HEIGHT ||
        (width && height && (!pixels || stride < (size_t)width * DISPLAY_BPP))) {
        log_guest("display: mode %ux%u stride %zu refused", width, height, stride);
        width = height = 0;
        rc = -1;
    }
    if (!width || !height) {
        width = height = 0;
        stride = 0;
        pixels = NULL;
    }
    d->width = width;
    d->height = height;
    d->stride = stride;
    d->pixels = pixels;
    display_mark_all(d);
    notify(d);
    return rc;
}

void display_mark_dirty(struct display *d, unsigned y, unsigned rows)
{
    unsigned end;

    if (y >= d->height)
        return;
    end = rows > d->height - y ? d->height : y + rows;
    for (; y < end; y++)
        d->dirty[y / 64] |= 1ull << (y % 64);
}

void display_mark_all(struct display *d)
{
    memset(d->dirty, 0, sizeof(d->dirty));
    display_mark_dirty(d, 0, d->height);
}

void display_set_listener(struct display *d, const struct display_listener *l)
{
    if (l)
        d->listener = *l;
    else
        memset(&d->listener, 0, sizeof(d->listener));
}

void display_take_dirty(struct display *d, uint64_t out[DISPLAY_DIRTY_WORDS])
{
    memcpy(out, d->dirty, sizeof(d->dirty));
    memset(d->dirty, 0, sizeof(d->dirty));
}
