/* One device's state section in isolation, for device tests: save it,
 * load it into a staging copy (as dm/state/migration.c does, extra bytes
 * refused), and find a field in a saved payload by its name in the
 * device's field table. No libcheck here: the fuzzers may link it. */
#ifndef XSDM_TEST_VMSECTION_H
#define XSDM_TEST_VMSECTION_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the registered device `name`'s payload written to buf, or 0
 * (no such device, or it does not fit in cap). */
size_t vmsection_save(const char *name, uint8_t *buf, size_t cap);
/* Parse buf into staging (first filled from the live state). 0, or -1
 * with err filled: a field or check refused, too short, or bytes left. */
int vmsection_load(const char *name, const uint8_t *buf, size_t len, void *staging,
                   char *err, size_t errlen);
/* Offset of field path ("rx_head", "qflags[8]", "drive[0].pos") in a
 * payload of device name; aborts when there is none (a test bug). */
size_t vmsection_field(const char *name, const uint8_t *buf, size_t len, const char *path);

#endif
