/* Close every fd the restricted DM has no use for. Anything left open by
 * our parent or by a library (a stray xenstore socket, a directory fd) would
 * otherwise survive into the sandbox. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "restrict/system.h"

#define FDS_MAX_KEEP 512

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* close_range(lo, hi) with a fallback for kernels before 5.9. */
static int close_span(unsigned lo, unsigned hi)
{
    unsigned fd;
    long max;

    if (lo > hi)
        return 0;
    if (close_range(lo, hi, 0) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > INT_MAX)
        max = INT_MAX;
    for (fd = lo; fd <= hi && fd < (unsigned long)max; fd++)
        close((int)fd);
    return 0;
}

int restrict_close_fds_except(const int *keep, int n, int *max_fd_r)
{
    int sorted[FDS_MAX_KEEP];
    int m = 0, i;
    unsigned next = 0;

    if (n < 0 || n > FDS_MAX_KEEP) {
        log_err("restrict: close-fds: %d fds to keep, at most %d", n, FDS_MAX_KEEP);
        return -1;
    }
    for (i = 0; i < n; i++)
        if (keep[i] >= 0)
            sorted[m++] = keep[i];
    qsort(sorted, (size_t)m, sizeof(sorted[0]), cmp_int);
    /* Walk the gaps between kept fds; duplicates leave an empty gap. */
    for (i = 0; i < m; i++) {
        unsigned fd = (unsigned)sorted[i];

        if (fd > next && close_span(next, fd - 1) < 0)
            goto fail;
        if (fd + 1 > next)
            next = fd + 1;
    }
    if (close_span(next, ~0u) < 0)
        goto fail;
    *max_fd_r = m ? sorted[m - 1] : -1;
    return 0;
fail:
    log_err("restrict: close-fds: close_range: %s", strerror(errno));
    return -1;
}
