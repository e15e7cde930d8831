/* The error-message convention shared by the DM and xsdmctl: a function
 * that can fail takes (char *err, size_t errlen) and fills it with one
 * line saying what went wrong. */
#ifndef XSDM_ERRMSG_H
#define XSDM_ERRMSG_H

#include <stddef.h>

/* printf into err; err may be NULL or errlen 0 (the caller wants no text). */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
