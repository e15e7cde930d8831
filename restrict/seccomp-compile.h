/* The allowlist table compiled by libseccomp: used at build time by
 * scripts/gen-seccomp-bpf.c, and by the tests that check the DM's built-in
 * programs against it. The DM itself never compiles a filter. */
#ifndef XSDM_RESTRICT_SECCOMP_COMPILE_H
#define XSDM_RESTRICT_SECCOMP_COMPILE_H

#include <stddef.h>

#include <seccomp.h>

#include "dm/core/config.h"
#include "restrict/sandbox.h"

/* libseccomp's API level for the build: 3 is the first with SCMP_ACT_LOG and
 * SCMP_ACT_KILL_PROCESS (Linux 4.14). Set, not probed, so that the program
 * does not depend on the kernel of the machine that builds it. */
#define SECCOMP_BUILD_API_LEVEL 3

/* The filter for (mode, policy), not loaded. NULL with err filled. The
 * caller releases it (seccomp_release). */
scmp_filter_ctx seccomp_policy_compile(enum sandbox_mode mode, enum seccomp_policy p, char *err,
                                       size_t errlen);

#endif
