/* The one DM instance: what every QMP handler and subsystem may reach.
 * There is exactly one per process (dm_get()); tests build their own. */
#ifndef XSDM_DM_H
#define XSDM_DM_H

#include <stdbool.h>

#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/config.h"

struct loop;
struct qmp_server;
struct vnc_server;

struct dm {
    struct xsdm_config cfg;
    struct loop *loop;
    struct accel accel;
    struct machine machine;
    struct qmp_server *qmp[CFG_MAX_MONITORS];
    int n_qmp;
    struct vnc_server *vnc;  /* -vnc: NULL when off */
    bool restricted;        /* set once the restriction table has run */
    bool quit_requested;    /* QMP quit / signal: leave the loop */
};

struct dm *dm_get(void);
void dm_set(struct dm *d);

/* Run state changes as QMP and the guest see them: emit STOP/RESUME events,
 * tell the accelerator. cont is idempotent. */
void dm_stop(struct dm *d);
void dm_cont(struct dm *d);
/* system_reset: reset the machine's devices (no-op before machine_init). */
void dm_reset(struct dm *d);
/* The DM's pid, taken by dm_set() before restriction (query-cpus-fast). */
int dm_pid(void);

#endif
