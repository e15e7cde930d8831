/* The seccomp allowlist (restriction step 7): a table with one row per
 * syscall the restricted event loop needs, its argument rules and the reason
 * (restrict/seccomp.c, docs/restriction.md). Mode "on" traps everything else
 * and the SIGSYS reporter (restrict/sigsys.c) names the syscall and exits
 * with RESTRICT_EXIT_SECCOMP; "log" allows and logs it; "off" loads nothing. */
#ifndef XSDM_RESTRICT_SANDBOX_H
#define XSDM_RESTRICT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/config.h"

/* Which table rows apply. The Xen rows (ioctl on privcmd/evtchn) are only
 * part of the filter of a DM on the Xen accelerator. */
enum seccomp_policy { SECCOMP_POLICY_QTEST, SECCOMP_POLICY_XEN };

/* Distinct syscalls allowed by a policy. */
size_t seccomp_allowlist_count_for(enum seccomp_policy p);

/* How a row's argument rule is compiled (restrict/seccomp-policy.c). */
enum seccomp_match {
    SECCOMP_ANY,            /* no argument rule */
    SECCOMP_ONE_OF,         /* (uint32)arg[a] is one of vals[] (ioctl request, fcntl cmd) */
    SECCOMP_CLEAR,          /* arg[a] & vals[0] == 0 (no PROT_EXEC) */
    SECCOMP_NULL,           /* arg[a] == 0, all 64 bits (a pointer that must be NULL) */
    SECCOMP_EMPTY_FROM,     /* (uint32)arg[0] >= vals[0] and arg[a] == 0 (ftruncate(fd >= 3, 0)) */
};

#define SECCOMP_MAX_VALS 6

/* One row of the table, for tests and docs. Returns false past the end. */
struct seccomp_row_info {
    const char *name;
    const char *args;       /* human-readable argument rule ("any", "cmd in {...}") */
    const char *why;
    bool xen_only;
    enum seccomp_match match;
    unsigned arg;
    const uint64_t *vals;   /* n_vals values the rule compares with */
    unsigned n_vals;
};
bool seccomp_row(size_t i, struct seccomp_row_info *out);

/* Name of syscall nr on the native arch, NULL if unknown: from a table built
 * with the DM (restrict/syscall-names.h), so the SIGSYS handler can name a
 * call without allocating or calling libseccomp. */
const char *seccomp_name(int nr);

/* Build the filter for (mode, policy) and load it. SANDBOX_ON also installs
 * the SIGSYS reporter and unblocks SIGSYS. SANDBOX_OFF is an error here (the
 * step skips it). 0, or -1 with err filled; nothing is loaded on failure. */
int seccomp_install(enum sandbox_mode mode, enum seccomp_policy p, char *err, size_t errlen);

/* Install only the SIGSYS reporter (tests; seccomp_install() does it). */
int seccomp_reporter_install(void);
/* ASan builds: LeakSanitizer's exit-time check needs clone/ptrace, which
 * the filter forbids; called once a filter is loaded. No-op otherwise. */
void seccomp_lsan_off(void);

#endif
