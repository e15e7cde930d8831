/* The QEMU version xsdm presents in the QMP greeting and query-version.
 * libxl makes feature decisions on it (>= 2.8: eject/blockdev-change-medium
 * by id; >= 2.11: the "live" flag of xen-save-devices-state), so we present
 * the QEMU release whose interface we follow (Debian bookworm's 7.2). */
#ifndef XSDM_QMP_VERSION_H
#define XSDM_QMP_VERSION_H

#include <jansson.h>

#define XSDM_QEMU_MAJOR 7
#define XSDM_QEMU_MINOR 2
#define XSDM_QEMU_MICRO 0
#define XSDM_PACKAGE    "xsdm"

#define XSDM_QMP_STR_(x) #x
#define XSDM_QMP_STR(x)  XSDM_QMP_STR_(x)
/* The greeting, as json_dumps(JSON_PRESERVE_ORDER) prints
 * {"QMP": {"version": qmp_version_json(), "capabilities": []}}. */
#define XSDM_QMP_GREETING                                                                          \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": " XSDM_QMP_STR(XSDM_QEMU_MICRO)                    \
    ", \"minor\": " XSDM_QMP_STR(XSDM_QEMU_MINOR) ", \"major\": " XSDM_QMP_STR(XSDM_QEMU_MAJOR)           \
    "}, \"package\": \"" XSDM_PACKAGE "\"}, \"capabilities\": []}}"

/* {"qemu": {"micro": M, "minor": m, "major": J}, "package": "xsdm"} */
static inline json_t *qmp_version_json(void)
{
    return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "micro", XSDM_QEMU_MICRO, "minor",
                     XSDM_QEMU_MINOR, "major", XSDM_QEMU_MAJOR, "package", XSDM_PACKAGE);
}

#endif
