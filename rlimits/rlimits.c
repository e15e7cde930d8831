#include "rlimits/rlimits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dm/core/config.h"
#include "dm/core/fdset.h"
#include "dm/qmp/qmp.h"

/* The headroom constants restate limits owned by dm/core/fdset.h and dm/qmp/qmp.h;
 * if those grow, the build fails here instead of add-fd failing at run time. */
_Static_assert(RLIMITS_NOFILE_FDSETS >= FDSET_MAX_SETS * FDSET_MAX_FDS, "NOFILE headroom: fd sets");
_Static_assert(RLIMITS_NOFILE_QMP >= CFG_MAX_MONITORS * (1 + QMP_MAX_FDS), "NOFILE headroom: QMP");
_Static_assert(RLIMITS_NOFILE_DUPS >= FDSET_MAX_DUPS, "NOFILE headroom: /dev/fdset/N duplicates");

int rlimits_policy(const struct rlimit_inputs *in, struct rlimit_want *out, int max)
{
    const struct rlimit_want fixed[] = {
        { RLIMIT_CORE, 0, "no core dumps: guest memory and state must not land on the host" },
        { RLIMIT_MSGQUEUE, 0, "no POSIX message queues: nobody to talk to" },
        { RLIMIT_LOCKS, 0, "no file locks: a lock on a shared image could block other users" },
        { RLIMIT_MEMLOCK, 0, "no mlock: pinned memory is a host-wide resource" },
        { RLIMIT_FSIZE, RLIMITS_FSIZE_BYTES,
          "libxl's 256 KiB: bounds the log and any file written through a passed fd" },
        /* RLIMIT_NPROC counts the tasks of the real uid. The per-domid uid
         * has exactly one task (us), so any value <= 1 refuses clone/fork;
         * 0 also covers a uid shared by several DMs (xen-qemuuser-shared).
         * uid 0 is exempt by the kernel, so this only binds after -runas. */
        { RLIMIT_NPROC, 0, "no new task: a fork bomb or a survivor waiting for the uid's reuse" },
    };
    int n = 0;
    size_t i;

    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < max; i++) {
        out[n] = fixed[i];
        /* Only when no loop device could be attached (dm/storage/block-loop.h): the
         * guest's writes must reach the whole image; the log and the save
         * stream are then bounded by the image size instead. */
        if (out[n].resource == RLIMIT_FSIZE && in->fsize_bytes > out[n].value) {
            out[n].value = (rlim_t)in->fsize_bytes;
            out[n].why = "the largest image written as a plain file: guest writes reach all of it";
        }
        n++;
    }
    if (n < max) {
        out[n].resource = RLIMIT_NOFILE;
        out[n].value = (rlim_t)(in->max_fd < 2 ? 2 : in->max_fd) + 1 + RLIMITS_NOFILE_HEADROOM;
        out[n].why = "fds are opened before restriction; room only for add-fd, QMP clients and dups";
        n++;
    }
    if (in->as_bytes && n < max) {
        out[n].resource = RLIMIT_AS;
        out[n].value = (rlim_t)in->as_bytes;
        out[n].why = "guest mapping + heap + libraries + stack: a leak or spray stops here";
        n++;
    }
    return n;
}

#if defined(__SANITIZE_ADDRESS__)
#define RLIMITS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define RLIMITS_SANITIZED 1
#endif
#endif

uint64_t rlimits_as_budget(uint64_t guest_map_bytes)
{
#ifdef RLIMITS_SANITIZED
    (void)guest_map_bytes;
    return 0;
#else
    if (guest_map_bytes > UINT64_MAX - RLIMITS_AS_OVERHEAD)
        return UINT64_MAX;
    return guest_map_bytes + RLIMITS_AS_OVERHEAD;
#endif
}

rlim_t rlimits_lowered(rlim_t current_hard, rlim_t want)
{
    if (current_hard != RLIM_INFINITY && current_hard < want)
        return current_hard;
    return want;
}

const char *rlimits_name(int resource)
{
    switch (resource) {
    case RLIMIT_CORE: return "CORE";
    case RLIMIT_MSGQUEUE: return "MSGQUEUE";
    case RLIMIT_LOCKS: return "LOCKS";
    case RLIMIT_MEMLOCK: return "MEMLOCK";
    case RLIMIT_FSIZE: return "FSIZE";
    case RLIMIT_NPROC: return "NPROC";
    case RLIMIT_NOFILE: return "NOFILE";
    case RLIMIT_AS: return "AS";
    default: return "?";
    }
}

int rlimits_apply(const struct rlimit_want *w, int n, char *err, size_t errlen)
{
    struct rlimit cur, next;
    int i, r;

    for (i = 0; i < n; i++) {
        r = getrlimit(w[i].resource, &cur);
        if (r == 0) {
            next.rlim_max = rlimits_lowered(cur.rlim_max, w[i].value);
            next.rlim_cur = next.rlim_max;
            r = setrlimit(w[i].resource, &next);
        }
        if (r < 0) {
            snprintf(err, errlen, "RLIMIT_%s: %s", rlimits_name(w[i].resource), strerror(errno));
            return -1;
        }
    }
    return 0;
}
