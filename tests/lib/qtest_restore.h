/* A DM's device state through a restart, as libxl migrates a stopped
 * guest: save it over QMP into a file handed in by add-fd, end the DM,
 * start a new one paused from that file. No libcheck here (the fuzzers
 * link tests/lib): NULL with err filled, the tests assert. */
#ifndef XSDM_TEST_QTEST_RESTORE_H
#define XSDM_TEST_QTEST_RESTORE_H

#include <stddef.h>

#include "tests/lib/libqtest.h"

struct qmpc;

/* Save the stopped DM s through its QMP connection c (add-fd of a file,
 * xen-save-devices-state to its /dev/fdset), close c and end s, then start
 * a new DM as o says (its devices and backends), paused, with
 * "-incoming fd:N" on that state added. The new DM, still paused: the
 * caller readies its side and sends "cont". NULL with err filled (s and c
 * are gone in every case). */
struct qtest *qtest_save_restart(struct qtest *s, struct qmpc *c, const struct qtest_opts *o, char *err,
                                 size_t errlen);

#endif
