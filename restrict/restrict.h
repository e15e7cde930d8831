/* The irreversible transition, as one ordered table of steps
 * (restrict/steps.c, docs/restriction.md). Any failure inside it is fatal:
 * a half-restricted DM must never serve. */
#ifndef XSDM_RESTRICT_H
#define XSDM_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dm/core/config.h"

struct accel;

#define RESTRICT_MAX_KEEP 64

struct restrict_ctx {
    const struct xsdm_config *cfg;
    struct accel *accel;            /* step 1 calls its restrict_handles */
    bool have_ids;                  /* -runas / user= given, or chosen by xsdm (confine) */
    bool empty_root;                /* no -chroot: step chroot pivots into an empty tmpfs */
    uid_t uid;                      /* resolved by restrict_prepare(), before chroot */
    gid_t gid;
    int keep[RESTRICT_MAX_KEEP];    /* fds that survive close-fds */
    int n_keep;
    int max_fd;                     /* highest kept fd (for RLIMIT_NOFILE) */
    uint64_t as_bytes;              /* RLIMIT_AS set by the rlimits step; 0 = not set */
    uint64_t fsize_bytes;           /* block_fsize_needed(): images without a loop device */
    enum sandbox_mode sandbox;
    const char *done[16];           /* names of the steps run, in order (for tests) */
    int n_done;
    bool keep_overflow;             /* restrict_keep_fd() found keep[] full: close-fds fails */
    bool have_root_stat;            /* chroot dir identity, taken by restrict_prepare() */
    dev_t root_dev;
    ino_t root_ino;
};

/* Exit codes of the irreversible transition (docs/restriction.md): step i
 * (0-based index in restrict_steps[]) failed -> RESTRICT_EXIT_BASE + i;
 * a syscall outside the seccomp allowlist (mode "on") -> RESTRICT_EXIT_SECCOMP
 * (128 + SIGSYS, the code a shell shows for death by SIGSYS). */
#define RESTRICT_EXIT_BASE    120
#define RESTRICT_EXIT_SECCOMP 159

struct restrict_step {
    const char *name;
    int (*fn)(struct restrict_ctx *ctx);    /* 0 ok, 1 skipped (logged), -1 fatal */
    const char *why;                        /* why it sits where it does */
};

extern const struct restrict_step restrict_steps[];
extern const size_t restrict_n_steps;

/* Resolve -runas/user= (uid:gid or a user name read from /etc/passwd)
 * before any chroot. Without -runas or -chroot (libvirt, xl without
 * dm_restrict) and unless -confine off, choose what dm_restrict=1 would
 * have given: the per-domid user (restrict_default_user()) and an empty
 * root (restrict_empty_root()); a DM not started as root keeps both (it
 * cannot change them and is no more than its caller). Returns 0 or -1
 * with a message. */
int restrict_prepare(struct restrict_ctx *ctx, const struct xsdm_config *cfg, struct accel *a,
                     char *err, size_t errlen);
void restrict_keep_fd(struct restrict_ctx *ctx, int fd);
/* RLIMIT_AS for this DM: rlimits_as_budget() of what the accelerator says
 * it may map (its map_budget op, read once it is initialised). */
uint64_t restrict_as_budget(const struct restrict_ctx *ctx);
/* Walk the table. Returns 0; on any failure logs the step and _exit()s. */
int restrict_run(struct restrict_ctx *ctx);
/* Distinct syscalls the seccomp allowlist of a qtest DM allows (the Xen
 * policy adds ioctl; restrict/sandbox.h has the details). For the benchmark. */
size_t seccomp_allowlist_count(void);
/* Index of a step by name, -1 if none (tests, docs). */
int restrict_step_index(const char *name);

#endif
