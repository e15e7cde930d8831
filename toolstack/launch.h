/* Starting a device model: libxl's pre-exec restrictions (setsid, new
 * mount+IPC namespaces, rlimits, libxl-compat.md §1.6) plus what libxl
 * omits: UTS and network namespaces (the NICs' taps are passed by fd), every
 * fd but the passed ones closed, a clean environment. */
#ifndef XSDMCTL_LAUNCH_H
#define XSDMCTL_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LAUNCH_MAX_PASS 8            /* QMP, -incoming, the NICs' taps */

struct launch_spec {
    const char *path;            /* executable */
    char *const *argv;
    char *const *envp;           /* the whole environment; NULL = empty */
    int log_fd;                  /* becomes stdout+stderr; -1 = /dev/null */
    int pass_fd[LAUNCH_MAX_PASS];/* inherited fds ... */
    int pass_at[LAUNCH_MAX_PASS];/* ... at these numbers (>= 3, distinct) */
    int n_pass;
    bool restrict_ns;            /* mount, IPC, UTS namespaces + libxl rlimits */
    bool new_net;                /* also a network namespace */
};

/* libxl's rlimits, only ever lowered (we have no CAP_SYS_RESOURCE in CI). */
struct launch_rlimit {
    int resource;
    unsigned long long value;
    const char *name;
};
extern const struct launch_rlimit launch_rlimits[];
extern const size_t launch_n_rlimits;

/* fork + harden + execve. Returns the pid, or -1 with err naming the step
 * that failed in the child (reported back over a close-on-exec pipe). */
pid_t launch_spawn(const struct launch_spec *s, char *err, size_t errlen);

/* The hardening steps, in the calling process (exec-dm uses them before
 * its own execve). Each returns 0 or -1 with errno set. */
int launch_new_namespaces(bool net);
int launch_apply_rlimits(void);
/* Close every fd not in keep[0..n) (0, 1, 2 are never closed). */
int launch_close_fds(const int *keep, int n);

#endif
