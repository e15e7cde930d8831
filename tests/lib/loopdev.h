/* Loop devices seen from the test side: whether one still backs an image
 * (the DM attaches writable file images to loop devices, autoclear). */
#ifndef XSDM_TESTS_LOOPDEV_H
#define XSDM_TESTS_LOOPDEV_H

#include <stdbool.h>

/* Whether a bound loop device's backing file names image. */
bool loop_backs(const char *image);
/* Wait up to ~5 s for the autoclear detach that follows the DM's exit (the
 * kernel may finish it just after); true once no loop device backs image. */
bool loop_gone(const char *image);

#endif
