/* Our libqtest: start the DM the way libxl does (QMP listening socket
 * pre-opened and inherited as fd=N, stdout/stderr to a log file), be the
 * qtest server the DM connects to, and speak the qtest text protocol.
 * Every wait is bounded; a failed exchange aborts (harness bug or DM crash). */
#include "tests/lib/libqtest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "toolstack/qmp-client.h"

/* Weak: the fuzz targets link this library without the toolstack code;
 * every test that talks QMP links toolstack/qmp-client.c. */
#pragma weak qmpc_connect_path


#define START_TIMEOUT_MS  15000     /* the DM connecting to our qtest socket */
#define REPLY_TIMEOUT_MS  30000     /* one qtest reply */
#define QUIT_TIMEOUT_MS   5000      /* SIGTERM before SIGKILL */
#define CHUNK             32768     /* bytes per read/write command */
#define MAX_ARGS          128

struct qtest {
    pid_t pid;
    int fd;                         /* qtest connection */
    bool reaped;
    int status;
    bool own_log;
    char dir[64];
    char qtest_path[128];
    char qmp_path[128];
    char log_path[512];
    char *rbuf;                     /* received, not yet consumed */
    size_t rlen, rcap;
    char *reply;                    /* last reply line */
    bool irq[16];
};

static void __attribute__((noreturn, format(printf, 2, 3))) die(struct qtest *s, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "libqtest: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (s && s->log_path[0])
        fprintf(stderr, "libqtest: DM log: %s\n", s->log_path);
    abort();
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool reap(struct qtest *s, int flags)
{
    pid_t r;

    if (s->reaped)
        return true;
    do
        r = waitpid(s->pid, &s->status, flags);
    while (r < 0 && errno == EINTR);
    if (r == s->pid || (r < 0 && errno == ECHILD)) {
        s->reaped = true;
        return true;
    }
    return false;
}

static void print_log_tail(const struct qtest *s)
{
    char buf[2048];
    int fd = open(s->log_path, O_RDONLY | O_CLOEXEC);
    off_t end;
    ssize_t n;

    if (fd < 0)
        return;
    end = lseek(fd, 0, SEEK_END);
    lseek(fd, end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        fprintf(stderr, "libqtest: DM log tail:\n%s\n", buf);
    }
}

static void cleanup_files(struct qtest *s)
{
    if (s->qtest_path[0])
        unlink(s->qtest_path);
    if (s->qmp_path[0])
        unlink(s->qmp_path);
    if (s->own_log && !getenv("XSDM_KEEP_LOGS"))
        unlink(s->log_path);
    if (s->dir[0])
        rmdir(s->dir);
}

static void free_qtest(struct qtest *s)
{
    if (s->fd >= 0)
        close(s->fd);
    cleanup_files(s);
    free(s->rbuf);
    free(s->reply);
    free(s);
}

/* Test binaries live in BUILD/tests/, the DM in BUILD/ (this library is
 * compiled without BUILD_DIR, so find it from our own executable). */
static const char *dm_binary(const struct qtest_opts *o)
{
    static char path[4096];
    const char *env = getenv("XSDM_DM");
    ssize_t n;
    char *slash;

    if (o->dm)
        return o->dm;
    if (env && *env)
        return env;
    n = readlink("/proc/self/exe", path, sizeof(path) - 16);
    if (n <= 0)
        return "build/xsdm";
    path[n] = '\0';
    for (int up = 0; up < 2; up++) {
        slash = strrchr(path, '/');
        if (!slash)
            return "build/xsdm";
        *slash = '\0';
    }
    strcat(path, "/xsdm");
    return path;
}

/* Child side: no allocation after fork that matters; exec or _exit(127). */
static void __attribute__((noreturn)) exec_dm(const char *bin, char **argv, int log_fd, int qmp_fd, int extra_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);

    if (null_fd >= 0)
        dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (qmp_fd >= 0)
        fcntl(qmp_fd, F_SETFD, 0);
    if (extra_fd >= 0)
        fcntl(extra_fd, F_SETFD, 0);
    signal(SIGPIPE, SIG_DFL);
    execv(bin, argv);
    dprintf(2, "libqtest: exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

struct qtest *qtest_start(const struct qtest_opts *o)
{
    static const struct qtest_opts defaults = { .extra_fd = -1 };
    struct qtest *s = calloc(1, sizeof(*s));
    char *argv[MAX_ARGS];
    char fdarg[96], ramarg[16], qtarg[160];
    int argc = 0, qt_listen = -1, qmp_listen = -1, log_fd = -1;
    const char *bin;
    int64_t deadline;

    if (!o)
        o = &defaults;
    if (!s)
        return NULL;
    s->fd = -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/xsdm-qt-XXXXXX");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "libqtest: mkdtemp: %s\n", strerror(errno));
        s->dir[0] = '\0';
        goto fail;
    }
    snprintf(s->qtest_path, sizeof(s->qtest_path), "%s/qtest.sock", s->dir);
    qt_listen = listen_unix(s->qtest_path);
    if (qt_listen < 0) {
        fprintf(stderr, "libqtest: qtest socket: %s\n", strerror(errno));
        goto fail;
    }
    if (o->log_path) {
        snprintf(s->log_path, sizeof(s->log_path), "%s", o->log_path);
    } else {
        snprintf(s->log_path, sizeof(s->log_path), "%s/dm.log", s->dir);
        s->own_log = true;
    }
    log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        fprintf(stderr, "libqtest: %s: %s\n", s->log_path, strerror(errno));
        goto fail;
    }

    bin = dm_binary(o);
    argv[argc++] = (char *)bin;
    if (!o->no_base) {
        snprintf(s->qmp_path, sizeof(s->qmp_path), "%s/qmp.sock", s->dir);
        qmp_listen = listen_unix(s->qmp_path);
        if (qmp_listen < 0) {
            fprintf(stderr, "libqtest: QMP socket: %s\n", strerror(errno));
            goto fail;
        }
        snprintf(fdarg, sizeof(fdarg), "socket,id=libxl-cmd,fd=%d,server=on,wait=off", qmp_listen);
        snprintf(ramarg, sizeof(ramarg), "%d", o->ram_mb > 0 ? o->ram_mb : 64);
        const char *base[] = {
            "-xen-domid", "1", "-no-shutdown", "-chardev", fdarg,
            "-mon", "chardev=libxl-cmd,mode=control", "-nodefaults", "-no-user-config",
            "-name", "qtest", "-vnc", "none", "-display", "none",
            "-machine", "xenfv,suppress-vmdesc=on", "-m", ramarg, "-accel", "qtest", NULL,
        };
        for (int i = 0; base[i]; i++)
            argv[argc++] = (char *)base[i];
        if (o->paused)
            argv[argc++] = "-S";
    }
    snprintf(qtarg, sizeof(qtarg), "unix:%s", s->qtest_path);
    argv[argc++] = "-qtest";
    argv[argc++] = qtarg;
    for (int i = 0; o->args && o->args[i]; i++) {
        if (argc >= MAX_ARGS - 1) {
            fprintf(stderr, "libqtest: too many arguments\n");
            goto fail;
        }
        argv[argc++] = (char *)o->args[i];
    }
    argv[argc] = NULL;

    s->pid = fork();
    if (s->pid < 0) {
        fprintf(stderr, "libqtest: fork: %s\n", strerror(errno));
        goto fail;
    }
    if (s->pid == 0)
        exec_dm(bin, argv, log_fd, qmp_listen, o->extra_fd);
    close(log_fd);
    log_fd = -1;
    if (qmp_listen >= 0)
        close(qmp_listen);
    qmp_listen = -1;

    /* Bounded wait for the DM's qtest connection; notice an early exit. */
    deadline = now_ms() + START_TIMEOUT_MS;
    while (s->fd < 0) {
        struct pollfd p = { .fd = qt_listen, .events = POLLIN };
        int r = poll(&p, 1, 100);

        if (r > 0)
            s->fd = accept4(qt_listen, NULL, NULL, SOCK_CLOEXEC);
        if (s->fd >= 0)
            break;
        if (reap(s, WNOHANG)) {
            fprintf(stderr, "libqtest: the DM exited before connecting (status 0x%x)\n", s->status);
            print_log_tail(s);
            goto fail;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "libqtest: the DM did not connect within %d ms\n", START_TIMEOUT_MS);
            print_log_tail(s);
            kill(s->pid, SIGKILL);
            reap(s, 0);
            goto fail;
        }
    }
    close(qt_listen);
    unlink(s->qtest_path);
    s->qtest_path[0] = '\0';
    return s;
fail:
    if (qt_listen >= 0)
        close(qt_listen);
    if (qmp_listen >= 0)
        close(qmp_listen);
    if (log_fd >= 0)
        close(log_fd);
    free_qtest(s);
    return NULL;
}

int qtest_wait_exit(struct qtest *s, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    while (!reap(s, WNOHANG)) {
        if (now_ms() > deadline)
            return -1;
        usleep(10000);
    }
    return s->status;
}

int qtest_quit(struct qtest *s)
{
    int status;

    if (!s)
        return -1;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (!s->reaped) {
        kill(s->pid, SIGTERM);
        if (qtest_wait_exit(s, QUIT_TIMEOUT_MS) == -1) {
            kill(s->pid, SIGKILL);
            reap(s, 0);
        }
    }
    status = s->status;
    free_qtest(s);
    return status;
}

pid_t qtest_pid(const struct qtest *s) { return s->pid; }
const char *qtest_log_path(const struct qtest *s) { return s->log_path; }

struct qmpc *qtest_qmp(struct qtest *s)
{
    char err[256];
    struct qmpc *c;

    if (!s->qmp_path[0] || !qmpc_connect_path)
        return NULL;
    c = qmpc_connect_path(s->qmp_path, 1, 10000, err, sizeof(err));
    if (!c)
        fprintf(stderr, "libqtest: QMP: %s\n", err);
    return c;
}

/* ---- the protocol ------------------------------------------------------------ */

static void send_line(struct qtest *s, const char *line, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t r = send(s->fd, line + off, len - off, MSG_NOSIGNAL);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die(s, "send: %s", r < 0 ? strerror(errno) : "closed");
        off += (size_t)r;
    }
}

/* Next line from the DM (without newline), into s->reply. */
static char *recv_line(struct qtest *s)
{
    int64_t deadline = now_ms() + REPLY_TIMEOUT_MS;
    char *nl;

    for (;;) {
        nl = s->rlen ? memchr(s->rbuf, '\n', s->rlen) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - s->rbuf);

            free(s->reply);
            s->reply = malloc(n + 1);
            if (!s->reply)
                die(s, "out of memory");
            memcpy(s->reply, s->rbuf, n);
            s->reply[n] = '\0';
            memmove(s->rbuf, nl + 1, s->rlen - n - 1);
            s->rlen -= n + 1;
            return s->reply;
        }
        if (s->rlen + 65536 > s->rcap) {
            size_t cap = s->rcap ? s->rcap * 2 : 131072;
            char *p = realloc(s->rbuf, cap);

            if (!p)
                die(s, "out of memory");
            s->rbuf = p;
            s->rcap = cap;
        }
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        int64_t left = deadline - now_ms();
        int r;

        if (left <= 0)
            die(s, "no reply within %d ms", REPLY_TIMEOUT_MS);
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = recv(s->fd, s->rbuf + s->rlen, s->rcap - s->rlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die(s, "the DM closed the qtest connection (crash?)");
        s->rlen += (size_t)n;
    }
}

static bool handle_irq_line(struct qtest *s, const char *line)
{
    unsigned n;

    if (strncmp(line, "IRQ ", 4))
        return false;
    if (sscanf(line, "IRQ raise %u", &n) == 1 && n < 16)
        s->irq[n] = true;
    else if (sscanf(line, "IRQ lower %u", &n) == 1 && n < 16)
        s->irq[n] = false;
    return true;
}

const char *qtest_raw(struct qtest *s, const char *line)
{
    size_t len = strlen(line);
    char *buf = malloc(len + 1);
    char *reply;

    if (!buf)
        die(s, "out of memory");
    memcpy(buf, line, len);
    buf[len] = '\n';
    send_line(s, buf, len + 1);
    free(buf);
    do
        reply = recv_line(s);
    while (handle_irq_line(s, reply));
    return reply;
}

static const char *cmdf(struct qtest *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *cmdf(struct qtest *s, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return qtest_raw(s, line);
}

static void expect_ok(struct qtest *s, const char *reply, const char *what)
{
    if (strcmp(reply, "OK"))
        die(s, "%s: unexpected reply '%.80s'", what, reply);
}

static uint64_t expect_val(struct qtest *s, const char *reply, const char *what)
{
    char *end;
    uint64_t v;

    if (strncmp(reply, "OK 0x", 5))
        die(s, "%s: unexpected reply '%.80s'", what, reply);
    errno = 0;
    v = strtoull(reply + 3, &end, 16);
    if (errno || *end)
        die(s, "%s: bad value in '%.80s'", what, reply);
    return v;
}

void qtest_outb(struct qtest *s, uint16_t port, uint8_t v) { expect_ok(s, cmdf(s, "outb 0x%x 0x%x", port, v), "outb"); }
void qtest_outw(struct qtest *s, uint16_t port, uint16_t v) { expect_ok(s, cmdf(s, "outw 0x%x 0x%x", port, v), "outw"); }
void qtest_outl(struct qtest *s, uint16_t port, uint32_t v) { expect_ok(s, cmdf(s, "outl 0x%x 0x%x", port, v), "outl"); }
uint8_t qtest_inb(struct qtest *s, uint16_t port) { return (uint8_t)expect_val(s, cmdf(s, "inb 0x%x", port), "inb"); }
uint16_t qtest_inw(struct qtest *s, uint16_t port) { return (uint16_t)expect_val(s, cmdf(s, "inw 0x%x", port), "inw"); }
uint32_t qtest_inl(struct qtest *s, uint16_t port) { return (uint32_t)expect_val(s, cmdf(s, "inl 0x%x", port), "inl"); }

void qtest_writeb(struct qtest *s, uint64_t a, uint8_t v)
{
    expect_ok(s, cmdf(s, "writeb 0x%" PRIx64 " 0x%x", a, v), "writeb");
}
void qtest_writel(struct qtest *s, uint64_t a, uint32_t v)
{
    expect_ok(s, cmdf(s, "writel 0x%" PRIx64 " 0x%x", a, v), "writel");
}
void qtest_writeq(struct qtest *s, uint64_t a, uint64_t v)
{
    expect_ok(s, cmdf(s, "writeq 0x%" PRIx64 " 0x%" PRIx64, a, v), "writeq");
}
uint8_t qtest_readb(struct qtest *s, uint64_t a)
{
    return (uint8_t)expect_val(s, cmdf(s, "readb 0x%" PRIx64, a), "readb");
}
uint32_t qtest_readl(struct qtest *s, uint64_t a)
{
    return (uint32_t)expect_val(s, cmdf(s, "readl 0x%" PRIx64, a), "readl");
}
uint64_t qtest_readq(struct qtest *s, uint64_t a)
{
    return expect_val(s, cmdf(s, "readq 0x%" PRIx64, a), "readq");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void qtest_memread(struct qtest *s, uint64_t addr, void *buf, size_t len)
{
    uint8_t *out = buf;

    while (len) {
        size_t n = len > CHUNK ? CHUNK : len;
        const char *r = cmdf(s, "read 0x%" PRIx64 " 0x%zx", addr, n);

        if (strncmp(r, "OK 0x", 5) || strlen(r + 5) != 2 * n)
            die(s, "read: unexpected reply '%.80s'", r);
        for (size_t i = 0; i < n; i++) {
            int hi = hexval(r[5 + 2 * i]), lo = hexval(r[6 + 2 * i]);

            if (hi < 0 || lo < 0)
                die(s, "read: bad hex");
            out[i] = (uint8_t)(hi << 4 | lo);
        }
        out += n;
        addr += n;
        len -= n;
    }
}

void qtest_memwrite(struct qtest *s, uint64_t addr, const void *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *in = buf;
    char *line = malloc(2 * CHUNK + 96);

    if (!line)
        die(s, "out of memory");
    while (len) {
        size_t n = len > CHUNK ? CHUNK : len;
        int off = snprintf(line, 96, "write 0x%" PRIx64 " 0x%zx 0x", addr, n);

        for (size_t i = 0; i < n; i++) {
            line[off + 2 * (int)i] = hex[in[i] >> 4];
            line[off + 2 * (int)i + 1] = hex[in[i] & 15];
        }
        line[off + 2 * (int)n] = '\0';
        expect_ok(s, qtest_raw(s, line), "write");
        in += n;
        addr += n;
        len -= n;
    }
    free(line);
}

void qtest_memset(struct qtest *s, uint64_t addr, uint8_t v, size_t len)
{
    while (len) {
        size_t n = len > CHUNK ? CHUNK : len;

        expect_ok(s, cmdf(s, "memset 0x%" PRIx64 " 0x%zx 0x%x", addr, n, v), "memset");
        addr += n;
        len -= n;
    }
}

void qtest_clock_step(struct qtest *s, int64_t ns)
{
    const char *r = cmdf(s, "clock_step %" PRIi64, ns);

    if (strncmp(r, "OK ", 3))
        die(s, "clock_step: unexpected reply '%.80s'", r);
}

void qtest_irq_intercept_in(struct qtest *s, const char *qom_path)
{
    expect_ok(s, cmdf(s, "irq_intercept_in %s", qom_path), "irq_intercept_in");
}

bool qtest_get_irq(struct qtest *s, int n)
{
    /* A round trip first, so every IRQ line sent so far has been seen. */
    const char *r = qtest_raw(s, "endianness");

    if (strcmp(r, "OK little"))
        die(s, "endianness: unexpected reply '%.80s'", r);
    return n >= 0 && n < 16 && s->irq[n];
}

/* ---- PCI configuration through 0xcf8/0xcfc ---------------------------------- */

static void cfg_addr(struct qtest *s, unsigned slot, unsigned fn, unsigned reg)
{
    qtest_outl(s, 0xcf8, 0x80000000u | (slot & 31) << 11 | (fn & 7) << 8 | (reg & 0xfc));
}

uint32_t qtest_pci_cfg_readl(struct qtest *s, unsigned slot, unsigned fn, unsigned reg)
{
    cfg_addr(s, slot, fn, reg);
    return qtest_inl(s, 0xcfc);
}
uint16_t qtest_pci_cfg_readw(struct qtest *s, unsigned slot, unsigned fn, unsigned reg)
{
    cfg_addr(s, slot, fn, reg);
    return qtest_inw(s, (uint16_t)(0xcfc + (reg & 2)));
}
uint8_t qtest_pci_cfg_readb(struct qtest *s, unsigned slot, unsigned fn, unsigned reg)
{
    cfg_addr(s, slot, fn, reg);
    return qtest_inb(s, (uint16_t)(0xcfc + (reg & 3)));
}
void qtest_pci_cfg_writel(struct qtest *s, unsigned slot, unsigned fn, unsigned reg, uint32_t v)
{
    cfg_addr(s, slot, fn, reg);
    qtest_outl(s, 0xcfc, v);
}
void qtest_pci_cfg_writew(struct qtest *s, unsigned slot, unsigned fn, unsigned reg, uint16_t v)
{
    cfg_addr(s, slot, fn, reg);
    qtest_outw(s, (uint16_t)(0xcfc + (reg & 2)), v);
}
void qtest_pci_cfg_writeb(struct qtest *s, unsigned slot, unsigned fn, unsigned reg, uint8_t v)
{
    cfg_addr(s, slot, fn, reg);
    qtest_outb(s, (uint16_t)(0xcfc + (reg & 3)), v);
}
