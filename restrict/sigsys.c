/* The SIGSYS reporter: a trapped syscall is named on stderr and the DM exits
 * with RESTRICT_EXIT_SECCOMP. The handler runs in a process that may be
 * compromised and under the filter, so it only formats into a stack buffer
 * from a table generated at build time, makes one write(2) and exit_group(2). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restrict/restrict.h"
#include "restrict/sandbox.h"
#include "restrict/syscall-names.h"

const char *seccomp_name(int nr)
{
    if (nr < 0 || nr >= SYSCALL_NAMES_MAX || !syscall_names_off[nr])
        return NULL;
    return syscall_names_blob + syscall_names_off[nr] - 1;
}

static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    while (*s && pos < cap)
        buf[pos++] = *s++;
    return pos;
}

static size_t put_uint(char *buf, size_t pos, size_t cap, unsigned long v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(tmp));
    while (n && pos < cap)
        buf[pos++] = tmp[--n];
    return pos;
}

static void sigsys_report(int sig, siginfo_t *si, void *uctx)
{
    char line[128];
    size_t n = 0, cap = sizeof(line) - 1;
    const char *name = NULL;
    int nr = si ? si->si_syscall : -1;
    ssize_t r;

    (void)sig;
    (void)uctx;
    name = seccomp_name(nr);
    n = put_str(line, n, cap, "xsdm: seccomp: blocked syscall ");
    n = put_str(line, n, cap, name ? name : "unknown");
    n = put_str(line, n, cap, " (nr ");
    if (nr < 0)
        n = put_str(line, n, cap, "?");
    else
        n = put_uint(line, n, cap, (unsigned long)nr);
    n = put_str(line, n, cap, ")\n");
    /* Raw syscalls: libc's (or a sanitizer's) _exit/write wrappers may make
     * other syscalls, which would trap again inside this handler. */
    r = syscall(SYS_write, STDERR_FILENO, line, n);
    (void)r;
    syscall(SYS_exit_group, RESTRICT_EXIT_SECCOMP);
    _exit(RESTRICT_EXIT_SECCOMP);   /* not reached */
}

int seccomp_reporter_install(void)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = sigsys_report;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return -1;
    /* A blocked SIGSYS from a trap resets the action to default (a silent
     * kill with a core): make sure it is deliverable. */
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    return sigprocmask(SIG_UNBLOCK, &set, NULL);
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's exit-time check runs in a cloned tracer thread, which the
 * filter forbids: an ASan build skips it once a filter is loaded (seccomp.c
 * sets this through seccomp_lsan_off()). */
static volatile int lsan_off;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return lsan_off;
}
void seccomp_lsan_off(void)
{
    lsan_off = 1;
}
#else
void seccomp_lsan_off(void)
{
}
#endif
