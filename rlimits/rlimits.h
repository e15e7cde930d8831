/* Resource limits of the restricted DM (restriction step 6,
 * docs/restriction.md). The policy is a pure function from a few facts about
 * this DM (highest kept fd, address-space budget) to a table of
 * {resource, value, why}; applying it only ever lowers a limit, because CI
 * and libxl's DM child have no CAP_SYS_RESOURCE to raise one. */
#ifndef XSDM_RLIMITS_H
#define XSDM_RLIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

/* libxl's own value (libxl_linux.c), restated so the DM is safe even when
 * started by something else. */
#define RLIMITS_FSIZE_BYTES      (256u * 1024u)

/* RLIMIT_NOFILE headroom above the highest fd kept at restriction: what the
 * restricted DM can still come to hold. Every fd set full
 * (FDSET_MAX_SETS x FDSET_MAX_FDS = 128), every monitor's client connection
 * with a full queue of received-but-unclaimed fds (4 x (1 + 8) = 36), and a
 * few dups handed out by /dev/fdset/N lookups (media, migration: 16). */
#define RLIMITS_NOFILE_FDSETS    128
#define RLIMITS_NOFILE_QMP       36
#define RLIMITS_NOFILE_DUPS      16
#define RLIMITS_NOFILE_HEADROOM  (RLIMITS_NOFILE_FDSETS + RLIMITS_NOFILE_QMP + RLIMITS_NOFILE_DUPS)

/* RLIMIT_AS budget above the guest mapping: the executable and its shared
 * libraries, the malloc heap (QMP buffers of 64 KiB, jansson trees, device
 * state < 256 KiB), the main stack (up to RLIMIT_STACK, 8 MiB) and glibc's
 * mmap'ed chunks. A restricted qtest xsdm measures guest RAM + 3.6 MiB of
 * VSZ after the QMP greeting; 64 MiB leaves room for growth and still
 * bounds a leak or heap spray (docs/restriction.md). */
#define RLIMITS_AS_OVERHEAD      (64ull << 20)

#define RLIMITS_MAX 10

struct rlimit_inputs {
    int max_fd;                 /* highest fd kept across restriction (>= 2) */
    uint64_t as_bytes;          /* RLIMIT_AS budget; 0 = leave RLIMIT_AS alone */
    uint64_t fsize_bytes;       /* largest image written as a plain file (no loop device); 0 = none */
};

struct rlimit_want {
    int resource;               /* RLIMIT_* */
    rlim_t value;               /* soft = hard = min(value, current hard) */
    const char *why;
};

/* The policy: fills out[] (at most max rows) and returns the number of rows. */
int rlimits_policy(const struct rlimit_inputs *in, struct rlimit_want *out, int max);

/* Address-space budget for a DM whose guest mapping is guest_map_bytes
 * (qtest: -m MiB of shared anonymous RAM; Xen: the bounded mapcache).
 * Returns 0 (no limit) in sanitizer builds, whose shadow memory reserves
 * terabytes of address space. Saturates instead of overflowing. */
uint64_t rlimits_as_budget(uint64_t guest_map_bytes);

/* What a row becomes given the current hard limit: never above it. */
rlim_t rlimits_lowered(rlim_t current_hard, rlim_t want);

/* Apply rows with setrlimit(soft = hard = rlimits_lowered(...)). Returns 0,
 * or -1 with a message naming the resource. */
int rlimits_apply(const struct rlimit_want *w, int n, char *err, size_t errlen);

/* "NOFILE", "AS", ... for logs and docs; "?" if unknown. */
const char *rlimits_name(int resource);

#endif
