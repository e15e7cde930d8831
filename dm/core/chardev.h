/* Character backends for -serial and -chardev (not QMP monitors, which own
 * their sockets in dm/qmp/qmp-server.c but appear in query-chardev through
 * chardev_register_label()). All are opened before restriction. */
#ifndef XSDM_CHARDEV_H
#define XSDM_CHARDEV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dm/core/config.h"

struct loop;
struct chardev;

struct chardev_frontend {
    /* How many bytes the frontend can take now (UART: free RX FIFO space). */
    size_t (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
    void *opaque;
};

/* Open the backend described by spec (pty allocation, file open, socket
 * bind/connect, or adopt spec->fd). Returns NULL with a message on error. */
struct chardev *chardev_open(const struct chardev_spec *spec, struct loop *l, char *err, size_t errlen);
void chardev_close(struct chardev *c);
struct chardev *chardev_find(const char *id);
void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe);
/* Call when the frontend can take input again (UART RX FIFO drained). */
void chardev_accept_input(struct chardev *c);
/* Write what fits; never blocks. Output to a missing peer is dropped, not an error. */
ssize_t chardev_write(struct chardev *c, const uint8_t *buf, size_t len);
/* Output bytes dropped so far (peer missing or full, file limit reached). */
uint64_t chardev_dropped(const struct chardev *c);
/* For query-chardev: "pty:/dev/pts/N", "file", "null", "unix:PATH,server=on"... */
const char *chardev_filename(const struct chardev *c);
/* Monitors and other non-backend users appear in query-chardev too.
 * Registering the same label again updates its filename/frontend-open. */
void chardev_register_label(const char *label, const char *filename, bool frontend_open);
json_t *chardev_query(void);
int chardev_keep_fds(int *fds, int max);
/* The path a unix socket fd is bound to ("" if none, abstract or not unix),
 * NUL-terminated and cut to outlen - 1; CHARDEV_UNIX_NAME_MAX holds any. */
#define CHARDEV_UNIX_NAME_MAX 109   /* sizeof(sun_path) + NUL */
void chardev_unix_name(int fd, char *out, size_t outlen);

#endif
