/* Loading the allowlist (restriction step 7). The program was compiled by
 * libseccomp from the table in restrict/seccomp-policy.c when the DM was
 * built (restrict/seccomp-bpf.h): here it is only looked up and handed to
 * the kernel, after the SIGSYS reporter is in place. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "restrict/sandbox.h"
#include "restrict/seccomp-bpf.h"

const struct seccomp_prebuilt *seccomp_prebuilt_find(enum sandbox_mode mode, enum seccomp_policy p)
{
    size_t i;

    for (i = 0; i < seccomp_n_prebuilt; i++)
        if (seccomp_prebuilt[i].mode == mode && seccomp_prebuilt[i].policy == p)
            return &seccomp_prebuilt[i];
    return NULL;
}

int seccomp_install(enum sandbox_mode mode, enum seccomp_policy p, char *err, size_t errlen)
{
    const struct seccomp_prebuilt *b = NULL;
    struct sock_fprog prog;

    if (mode != SANDBOX_ON && mode != SANDBOX_LOG) {
        snprintf(err, errlen, "seccomp: mode off loads no filter");
        return -1;
    }
    b = seccomp_prebuilt_find(mode, p);
    if (!b || !b->len) {
        snprintf(err, errlen, "seccomp: this build has no program for mode %s",
                 mode == SANDBOX_ON ? "on" : "log");
        return -1;
    }
    /* The reporter must be in place before the first trap can happen. */
    if (mode == SANDBOX_ON && seccomp_reporter_install() < 0) {
        snprintf(err, errlen, "seccomp: SIGSYS handler: %s", strerror(errno));
        return -1;
    }
    prog.len = b->len;
    prog.filter = (struct sock_filter *)b->insns;   /* the kernel copies it; never written */
    /* Without CAP_SYS_ADMIN the kernel requires no_new_privs: step
     * capabilities set it already, set here too so that the loader stands
     * alone (as libseccomp's seccomp_load does). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    /* EINVAL: a kernel older than 4.14, which lacks SECCOMP_RET_KILL_PROCESS
     * and SECCOMP_RET_LOG. */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
        snprintf(err, errlen, "seccomp: load: %s%s", strerror(errno),
                 errno == EINVAL ? " (the kernel needs SECCOMP_RET_KILL_PROCESS and SECCOMP_RET_LOG, Linux >= 4.14)"
                                 : "");
        return -1;
    }
    seccomp_lsan_off();
    return 0;
}
