/* Events the run state and the guest cause (STOP, RESUME, RESET,
 * SHUTDOWN, DEVICE_TRAY_MOVED): the board and the DM's life raise them
 * here; the QMP server (dm/qmp/qmp-server.c) delivers them to its clients. A
 * header of its own so that what raises an event need not know QMP. */
#ifndef XSDM_EVENT_H
#define XSDM_EVENT_H

#include <jansson.h>

/* Emit an event to every connected, negotiated client of every server.
 * data may be NULL; the reference is stolen. */
void qmp_event(const char *name, json_t *data);

#endif
