#include "dm/core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level max_level = LOG_INFO;
static const char *log_prefix = "xsdm";
static time_t guest_window;
static unsigned guest_count;
static unsigned long guest_suppressed;

void log_set_level(enum log_level max) { max_level = max; }
void log_set_prefix(const char *prefix) { log_prefix = prefix; }

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_ERR: return "error";
    case LOG_WARN: return "warning";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

/* One write(2) per line, no stdio buffering: a short or failed write (EFBIG
 * past RLIMIT_FSIZE, with SIGXFSZ ignored) loses that line, never the DM. */
static void log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
    char line[1024];
    int n, m;
    ssize_t r;
    int saved = errno;

    n = snprintf(line, sizeof(line), "%s: %s: ", log_prefix, level_name(lvl));
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    r = write(STDERR_FILENO, line, (size_t)n);
    (void)r;                /* lost, as said above */
    errno = saved;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    if (lvl > max_level)
        return;
    va_start(ap, fmt);
    log_vwrite(lvl, fmt, ap);
    va_end(ap);
}

void log_guest(const char *fmt, ...)
{
    va_list ap;
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec != guest_window) {
        if (guest_suppressed)
            log_msg(LOG_WARN, "guest: %lu messages suppressed", guest_suppressed);
        guest_window = ts.tv_sec;
        guest_count = 0;
        guest_suppressed = 0;
    }
    if (++guest_count > LOG_GUEST_BURST) {
        guest_suppressed++;
        return;
    }
    va_start(ap, fmt);
    log_vwrite(LOG_WARN, fmt, ap);
    va_end(ap);
}
