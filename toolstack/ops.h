/* QMP operations on a running domain, each on its own connection as libxl
 * does (libxl-compat.md §2.3): CD-ROM insert/eject by fd, save by fd. */
#ifndef XSDMCTL_OPS_H
#define XSDMCTL_OPS_H

#include <stdio.h>

#include "toolstack/qmp-client.h"
#include "toolstack/state.h"

#define OPS_TIMEOUT_MS 40000    /* LIBXL_HOTPLUG_TIMEOUT */

/* Negotiated connection to the domain's $RUN/qmp-libxl-D. */
struct qmpc *ops_connect(const struct dom_rec *r, int timeout_ms, char *err, size_t errlen);
/* One command on a fresh connection; 0 with *ret (may be NULL), or -1 with
 * err (an error reply's class and desc included). */
int ops_command(const struct dom_rec *r, const char *cmd, json_t *args, json_t **ret, char *err, size_t errlen);

int ops_cd_insert(struct dom_rec *r, const char *vdev, const char *file, FILE *out, char *err, size_t errlen);
int ops_cd_eject(struct dom_rec *r, const char *vdev, FILE *out, char *err, size_t errlen);
/* stop, add-fd, xen-save-devices-state {filename:/dev/fdset/N, live:false}:
 * the DM stays paused (destroy it, or cont to go on). */
int ops_save(struct dom_rec *r, const char *file, FILE *out, char *err, size_t errlen);
/* query-status: the status string into buf. */
int ops_status(const struct dom_rec *r, char *buf, size_t len, int timeout_ms, char *err, size_t errlen);

#endif
