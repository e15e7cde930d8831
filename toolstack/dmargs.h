/* The device model argv exactly as libxl__build_device_model_args_new
 * builds it for a local qemu-xen HVM DM under dm_restrict (4.17 form,
 * libxl-compat.md §1.3/§1.9), plus the qtest accelerator for standalone use. */
#ifndef XSDMCTL_DMARGS_H
#define XSDMCTL_DMARGS_H

#include <stddef.h>

#include "toolstack/config.h"

#define DMARGS_MAX 96

struct dm_args {
    char *argv[DMARGS_MAX + 1];
    int argc;
};

struct dm_args_in {
    const char *dm_path;       /* argv[0] */
    int domid;
    int qmp_fd;                /* pre-opened listening socket, as inherited */
    const char *run_dir;       /* $RUN: qmp-libxenstat-D, qemu-root-D */
    const char *runas;         /* -runas value, NULL = none */
    int incoming_fd;           /* -incoming fd:M, -1 = none */
    const char *qtest_path;    /* appends -accel qtest -qtest unix:PATH; NULL = Xen */
    const char *const *extra; /* device_model_args (NULL-terminated), may be NULL */
    int vnc_fd;                /* vnc=1: the listening socket as inherited (-vnc fd=N);
                                * -1 = libxl's form, <listen>:<display>[,password=on][,to=99] */
    int tap_fd_at;             /* > 0: vif i's tap is inherited at tap_fd_at + i (-netdev
                                  tap,fd=); 0: libxl's ifname= form, the DM creates it */
};

int dm_args_build(const struct xl_config *c, const struct dm_args_in *in, struct dm_args *out,
                  char *err, size_t errlen);
void dm_args_free(struct dm_args *a);

#endif
