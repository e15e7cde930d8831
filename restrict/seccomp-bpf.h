/* The DM's seccomp programs, compiled by libseccomp from the allowlist table
 * at build time (scripts/gen-seccomp-bpf.c -> build/gen/seccomp-bpf.c): one
 * per (mode, policy). Loading one is a single prctl; compiling at start-up
 * took about a sixth of the DM's exec -> QMP greeting time. */
#ifndef XSDM_RESTRICT_SECCOMP_BPF_H
#define XSDM_RESTRICT_SECCOMP_BPF_H

#include <stddef.h>
#include <linux/filter.h>

#include "dm/core/config.h"
#include "restrict/sandbox.h"

struct seccomp_prebuilt {
    enum sandbox_mode mode;
    enum seccomp_policy policy;
    const struct sock_filter *insns;
    unsigned short len;
};

extern const struct seccomp_prebuilt seccomp_prebuilt[];
extern const size_t seccomp_n_prebuilt;

/* The program for (mode, policy), NULL if the build made none. */
const struct seccomp_prebuilt *seccomp_prebuilt_find(enum sandbox_mode mode, enum seccomp_policy p);

#endif
