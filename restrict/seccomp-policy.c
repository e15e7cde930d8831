/* The seccomp allowlist: what the restricted single-threaded epoll loop
 * needs, one row per syscall with its argument rule and the reason. Anything
 * else traps (mode "on") or is logged (mode "log"). The rows were checked by
 * running the DM with -sandbox log and by the device tests under restriction
 * (docs/restriction.md).
 *
 * libseccomp compiles this table into BPF at build time
 * (scripts/gen-seccomp-bpf.c, seccomp_policy_compile() below); the DM loads
 * the result (restrict/seccomp.c). Tests compile it again and compare. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/privcmd.h>

#include "restrict/sandbox.h"
#include "restrict/seccomp-compile.h"

#define SC_MAX_VALS SECCOMP_MAX_VALS

struct sc_row {
    const char *name;
    bool xen_only;
    enum seccomp_match match;
    unsigned arg;
    uint64_t vals[SC_MAX_VALS];
    unsigned n_vals;
    const char *args;
    const char *why;
};

#define SC_NVALS(...) (unsigned)(sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
#define ANY(n, w)                   { n, false, SECCOMP_ANY, 0, { 0 }, 0, "any", w }
#define ONE_OF(n, a, txt, w, ...)   { n, false, SECCOMP_ONE_OF, a, { __VA_ARGS__ }, SC_NVALS(__VA_ARGS__), txt, w }
#define CLEAR(n, a, m, txt, w)      { n, false, SECCOMP_CLEAR, a, { m }, 1, txt, w }
#define NUL(n, a, txt, w)           { n, false, SECCOMP_NULL, a, { 0 }, 0, txt, w }
#define EMPTY_FROM(n, fd0, a, txt, w) { n, false, SECCOMP_EMPTY_FROM, a, { fd0 }, 1, txt, w }
#define XEN_ONE_OF(n, a, txt, w, ...) { n, true, SECCOMP_ONE_OF, a, { __VA_ARGS__ }, SC_NVALS(__VA_ARGS__), txt, w }

static const struct sc_row sc_table[] = {
    /* -- the event loop -------------------------------------------------- */
    ANY("epoll_wait", "the loop's only blocking call"),
    ANY("epoll_ctl", "watches come and go: QMP clients, char backends, a tap paused for back-pressure"),
    ANY("read", "sockets, pty, signalfd, qtest, evtchn pending ports, -incoming stream, tap frames in"),
    ANY("write", "pty, log (stderr), save stream, evtchn unmask, tap frames out"),
    ANY("close", "QMP connections, fds consumed by commands, a tap at platform unplug"),
    ANY("clock_gettime", "timers, log rate limit; the vDSO falls back to the syscall on some clocksources"),
    ANY("exit_group", "quit, SIGHUP/SIGTERM, guest poweroff; the SIGSYS reporter"),
    ANY("rt_sigreturn", "return from a signal handler"),
    ANY("rt_sigprocmask", "signal masks (glibc)"),
    /* -- QMP and socket char backends ------------------------------------ */
    ANY("accept4", "the one QMP client per monitor, socket char backends"),
    ANY("recvmsg", "QMP requests carrying SCM_RIGHTS fds (add-fd)"),
    NUL("sendto", 4, "dest_addr == NULL (all 64 bits)", "send(): QMP replies and events, socket backends; "
        "only on connected sockets, never to an address"),
    ONE_OF("fcntl", 1, "cmd in {F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC}",
           "O_NONBLOCK and CLOEXEC on received fds; dups for /dev/fdset/N",
           F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC),
    /* -- disk images and save/restore through passed fds ------------------ */
    ANY("pread64", "IDE/ATAPI reads from raw images"),
    ANY("pwrite64", "IDE writes to raw images"),
    ANY("lseek", "image size (SEEK_END); save stream position"),
    ANY("fdatasync", "IDE FLUSH CACHE"),
    /* libxl opens qemu-save.D without O_TRUNC and deletes it only once it
     * has copied it: a save interrupted earlier leaves a stale, longer file.
     * Emptying only (length 0), never fds 0-2 (stdin, libxl's log). */
    EMPTY_FROM("ftruncate", 3, 1, "fd >= 3, length == 0",
               "a stale save file passed by add-fd is emptied before writing; never the log (fds 1, 2)"),
    /* -- memory (malloc, jansson) ---------------------------------------- */
    ANY("brk", "malloc's main arena"),
    CLEAR("mmap", 2, PROT_EXEC, "prot & PROT_EXEC == 0", "large malloc chunks; never executable (W^X)"),
    CLEAR("mprotect", 2, PROT_EXEC, "prot & PROT_EXEC == 0", "malloc arenas; never executable (W^X)"),
    ANY("munmap", "free of large chunks"),
    ANY("madvise", "malloc trimming"),
    ANY("mremap", "realloc of large chunks"),
#if defined(__SANITIZE_ADDRESS__)
    /* -- sanitizer builds only (make asan): before every noreturn call
     * __asan_handle_no_return queries the alternate signal stack. */
    NUL("sigaltstack", 0, "ss == NULL (query only)", "ASan's noreturn handling (asan builds only)"),
#endif
    /* -- Xen accelerator only (privcmd and evtchn fds, already restricted
     * to the domid by step xen-handles). The accelerator's engineer owns
     * this list: one request number per ioctl it makes after restriction. */
    XEN_ONE_OF("ioctl", 1,
               "request in {IOCTL_PRIVCMD_DM_OP, IOCTL_PRIVCMD_MMAPBATCH_V2, IOCTL_EVTCHN_NOTIFY}",
               "dm_op (IRQs, I/O ranges, shutdown, VRAM relocate), mapcache foreign maps, event notify",
               IOCTL_PRIVCMD_DM_OP, IOCTL_PRIVCMD_MMAPBATCH_V2, IOCTL_EVTCHN_NOTIFY),
};

#define SC_ROWS (sizeof(sc_table) / sizeof(sc_table[0]))

static bool row_applies(const struct sc_row *r, enum seccomp_policy p)
{
    return !r->xen_only || p == SECCOMP_POLICY_XEN;
}

size_t seccomp_allowlist_count_for(enum seccomp_policy p)
{
    size_t i, j, n = 0;

    for (i = 0; i < SC_ROWS; i++) {
        bool seen = false;

        if (!row_applies(&sc_table[i], p))
            continue;
        for (j = 0; j < i && !seen; j++)
            seen = row_applies(&sc_table[j], p) && !strcmp(sc_table[j].name, sc_table[i].name);
        if (!seen)
            n++;
    }
    return n;
}

size_t seccomp_allowlist_count(void)
{
    return seccomp_allowlist_count_for(SECCOMP_POLICY_QTEST);
}

bool seccomp_row(size_t i, struct seccomp_row_info *out)
{
    if (i >= SC_ROWS)
        return false;
    out->name = sc_table[i].name;
    out->args = sc_table[i].args;
    out->why = sc_table[i].why;
    out->xen_only = sc_table[i].xen_only;
    out->match = sc_table[i].match;
    out->arg = sc_table[i].arg;
    out->vals = sc_table[i].vals;
    out->n_vals = sc_table[i].n_vals;
    return true;
}

static int add_row(scmp_filter_ctx f, const struct sc_row *r, char *err, size_t errlen)
{
    int nr = seccomp_syscall_resolve_name(r->name);
    int rc = 0;
    unsigned i;

    if (nr == __NR_SCMP_ERROR) {
        snprintf(err, errlen, "seccomp: syscall '%s' unknown on this architecture", r->name);
        return -1;
    }
    switch (r->match) {
    case SECCOMP_ANY:
        rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
        break;
    case SECCOMP_ONE_OF:
        /* Compare the low 32 bits: the kernel reads cmd/request as an int. */
        for (i = 0; i < r->n_vals && rc == 0; i++)
            rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1,
                                  SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffULL, r->vals[i]));
        break;
    case SECCOMP_CLEAR:
        rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1,
                              SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->vals[0], 0));
        break;
    case SECCOMP_NULL:
        rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1, SCMP_CMP(r->arg, SCMP_CMP_EQ, 0, 0));
        break;
    case SECCOMP_EMPTY_FROM:
        /* The kernel reads the fd as unsigned int, so only its low 32 bits
         * count, and libseccomp has no masked >=: (uint32)fd >= vals[0]
         * (a power of two minus one, 3 here) is "fd == vals[0]" or "a bit
         * at or above it is set", one rule each, and the other argument 0. */
        rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 2,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, r->vals[0]),
                              SCMP_CMP(r->arg, SCMP_CMP_EQ, 0, 0));
        for (i = 0; i < 32 && rc == 0; i++)
            if ((1ULL << i) > r->vals[0])
                rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 2,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, 1ULL << i, 1ULL << i),
                                      SCMP_CMP(r->arg, SCMP_CMP_EQ, 0, 0));
        break;
    }
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: rule for %s: %s", r->name, strerror(-rc));
        return -1;
    }
    return 0;
}

scmp_filter_ctx seccomp_policy_compile(enum sandbox_mode mode, enum seccomp_policy p, char *err,
                                       size_t errlen)
{
    scmp_filter_ctx f = NULL;
    size_t i;
    int r;

    if (mode != SANDBOX_ON && mode != SANDBOX_LOG) {
        snprintf(err, errlen, "seccomp: mode off has no filter");
        goto fail;
    }
    f = seccomp_init(mode == SANDBOX_ON ? SCMP_ACT_TRAP : SCMP_ACT_LOG);
    if (!f) {
        snprintf(err, errlen, "seccomp: seccomp_init failed");
        goto fail;
    }
    /* Foreign-ABI syscalls (i386, x32) have other numbers: never allow,
     * never report under a wrong name. */
    r = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* A binary search over syscall numbers, not one comparison per row:
     * every syscall walks it, and so does the kernel when it loads the
     * program (it runs it for each of ~450 numbers to build its cache of
     * always-allowed calls): about 15 us less at start-up here. */
    if (r == 0)
        r = seccomp_attr_set(f, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (r < 0) {
        snprintf(err, errlen, "seccomp: filter attributes: %s", strerror(-r));
        goto fail;
    }
    for (i = 0; i < SC_ROWS; i++)
        if (row_applies(&sc_table[i], p) && add_row(f, &sc_table[i], err, errlen) < 0)
            goto fail;
    return f;
fail:
    if (f)
        seccomp_release(f);
    return NULL;
}
