/* Syscall names for the SIGSYS reporter, generated at build time from the
 * kernel headers (scripts/gen-syscall-names.sh). syscall_names_off[nr] is
 * 1 + the offset of nr's name in syscall_names_blob, or 0 if nr has none. */
#ifndef XSDM_RESTRICT_SYSCALL_NAMES_H
#define XSDM_RESTRICT_SYSCALL_NAMES_H

#define SYSCALL_NAMES_MAX 1024

extern const char syscall_names_blob[];
extern const unsigned short syscall_names_off[SYSCALL_NAMES_MAX];

#endif
