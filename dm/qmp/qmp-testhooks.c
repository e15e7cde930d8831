/* Test-only QMP commands, compiled only into build/xsdm-testhooks
 * (-DXSDM_TEST_HOOKS), never installed. They let a test make the restricted
 * DM do what an exploited one would, so the sandbox can be observed:
 *
 *   x-test-syscall {"name": N}   make one syscall outside the allowlist:
 *     socket, openat, execve, kill, clone, ptrace, connect, getpid,
 *     mmap-exec, mprotect-exec. Each is made so that, if the filter lets it
 *     through (-sandbox log/off), it does no harm (bad arguments, or the
 *     fd/mapping is released) and the reply is {"ret": R, "errno": E}. */
#ifdef XSDM_TEST_HOOKS

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "dm/qmp/qmp.h"

static long do_syscall(const char *name, bool *known)
{
    static char page[8192] __attribute__((aligned(4096)));
    char *argv[] = { (char *)"/nonexistent", NULL };
    long r = -1;

    *known = true;
    if (!strcmp(name, "socket")) {
        r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        if (r >= 0)
            close((int)r);
    } else if (!strcmp(name, "openat")) {
        r = syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
        if (r >= 0)
            close((int)r);
    } else if (!strcmp(name, "execve")) {
        r = syscall(SYS_execve, argv[0], argv, NULL);
    } else if (!strcmp(name, "kill")) {
        r = syscall(SYS_kill, 0, 0);                    /* signal 0: only a check */
    } else if (!strcmp(name, "clone")) {
        r = syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0);  /* EINVAL without CLONE_VM */
    } else if (!strcmp(name, "ptrace")) {
        r = syscall(SYS_ptrace, PTRACE_PEEKDATA, -1, 0, 0);
    } else if (!strcmp(name, "connect")) {
        r = syscall(SYS_connect, -1, NULL, 0);
    } else if (!strcmp(name, "getpid")) {
        r = syscall(SYS_getpid);
    } else if (!strcmp(name, "mmap-exec")) {
        r = syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r != -1)
            munmap((void *)r, 4096);
    } else if (!strcmp(name, "mprotect-exec")) {
        r = syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
    } else {
        *known = false;
    }
    return r;
}

static int cmd_x_test_syscall(struct qmp_request *req, json_t **ret, struct qmp_error *err)
{
    const char *name;
    bool known;
    long r;
    int e;

    if (qmp_arg_str(req, "name", true, &name, err) < 0)
        return -1;
    log_warn("x-test-syscall: making syscall '%s' on purpose", name);
    errno = 0;
    r = do_syscall(name, &known);
    e = errno;
    if (!known) {
        qmp_error_set(err, QMP_ERR_GENERIC, "x-test-syscall: unknown name '%s'", name);
        return -1;
    }
    *ret = json_pack("{s:I,s:i}", "ret", (json_int_t)r, "errno", r == -1 ? e : 0);
    return 0;
}

static const struct qmp_command testhook_cmds[] = {
    { "x-test-syscall", cmd_x_test_syscall, 0 },
};
QMP_COMMANDS(testhook_cmds)

#else
typedef int xsdm_no_test_hooks;
#endif
