/* The one DM instance and its run state as QMP and the guest see it.
 * State changes emit the events QEMU emits for them (STOP, RESUME) and tell
 * the accelerator, which starts or stops serving guest I/O. */
#include "dm/board/dm.h"

#include <unistd.h>

#include "dm/core/event.h"
#include "dm/core/log.h"
#include "dm/storage/block.h"

static struct dm *current;
static int current_pid;

struct dm *dm_get(void) { return current; }

void dm_set(struct dm *d)
{
    current = d;
    /* Taken now: after restriction getpid() may not be on the allowlist. */
    current_pid = (int)getpid();
}

int dm_pid(void) { return current_pid ? current_pid : (int)getpid(); }

static void set_running(struct dm *d, bool running)
{
    if (d->accel.ops && d->accel.ops->set_running)
        d->accel.ops->set_running(&d->accel, running);
}

/* QEMU: stopping a running VM emits STOP; stopping a VM that never ran
 * (prelaunch) just makes it "paused"; stopping a paused one changes nothing. */
void dm_stop(struct dm *d)
{
    switch (d->machine.state) {
    case RUN_RUNNING:
        d->machine.state = RUN_PAUSED;
        set_running(d, false);
        /* As QEMU's vm_stop: whoever reads the images next (a migration
         * target, dom0 after a save) sees every completed guest write. */
        block_flush_all();
        qmp_event("STOP", NULL);
        log_debug("run state: paused");
        break;
    case RUN_PRELAUNCH:
        d->machine.state = RUN_PAUSED;
        break;
    default:
        break;
    }
}

/* Idempotent: cont on a running VM changes nothing and emits nothing (libxl
 * sends cont on every unpause). A shut-down VM is refused by the caller. */
void dm_cont(struct dm *d)
{
    switch (d->machine.state) {
    case RUN_PRELAUNCH:
    case RUN_PAUSED:
    case RUN_INMIGRATE:
        d->machine.state = RUN_RUNNING;
        set_running(d, true);
        machine_resumed(&d->machine);
        qmp_event("RESUME", NULL);
        log_debug("run state: running");
        break;
    default:
        break;
    }
}

/* machine_init() sets machine.cfg: before it (probe mode) there is nothing
 * to reset. As QEMU: a reset VM that was not running (paused, or stopped in
 * "shutdown" under -no-shutdown) is back in "prelaunch", so cont starts it. */
void dm_reset(struct dm *d)
{
    if (d->machine.cfg)
        machine_reset(&d->machine);
    if (d->machine.state != RUN_RUNNING && d->machine.state != RUN_INMIGRATE)
        d->machine.state = RUN_PRELAUNCH;
}
