/* X11 keysyms (what an RFB client sends) to PC keyboard scancodes, set 1
 * (XT, what a translating i8042 hands the guest) and set 2 (AT, what the
 * keyboard itself sends). US layout, as QEMU's default "en-us": a shifted
 * symbol maps to its unshifted key, the client sends Shift itself.
 * The table with named keys is dm/display/keymap.c. */
#ifndef XSDM_KEYMAP_H
#define XSDM_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYMAP_MAX_BYTES 8          /* Pause in set 2 is the longest: 8 bytes */

/* The bytes the keyboard sends when the key for keysym goes down or up, in
 * scancode set 1 or 2. Returns how many were written to out (0: no key for
 * this keysym, or another set: nothing must be sent). */
size_t keymap_scancodes(uint32_t keysym, bool down, unsigned set, uint8_t out[KEYMAP_MAX_BYTES]);
/* The key's name ("Return", "a"...), NULL if keysym has no key: for logs and tests. */
const char *keymap_name(uint32_t keysym);

#endif
