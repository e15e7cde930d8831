/* The MC146818's battery-backed CMOS RAM behind ports 0x70 (index) and 0x71
 * (data), as far as a device model serves it under Xen (dm/devices/cmos.c).
 *
 * Xen emulates the RTC itself: bytes 0x00-0x0d (the clock and registers
 * A-D) never reach us. Xen forwards the rest to the device model: an index
 * write of 0x0e-0x7f to port 0x70, and reads and writes of port 0x71 while
 * such an index is selected. Those bytes are plain RAM here, as in QEMU's
 * mc146818rtc; the board fills them for the firmware (dm/board/pc-cmos.c). */
#ifndef XSDM_CMOS_H
#define XSDM_CMOS_H

#include <stdint.h>

#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT  0x71
#define CMOS_SIZE       128
#define CMOS_INDEX_MASK 0x7f    /* bit 7 of an index write is the NMI mask */
#define CMOS_FIRST_DM   0x0e    /* first byte Xen's vRTC leaves to the DM */
#define CMOS_CENTURY    0x32    /* BCD century, kept by the DM under Xen */
#define CMOS_PS2_CENTURY 0x37   /* IBM PS/2's place for it: the same byte */

struct iobus;
struct cmos;

struct cmos *cmos_new(struct iobus *bus);
void cmos_free(struct cmos *c);
/* The board's initial contents (index < CMOS_SIZE; others ignored). */
void cmos_set(struct cmos *c, unsigned index, uint8_t val);
uint8_t cmos_get(const struct cmos *c, unsigned index);

#endif
