/* The qtest accelerator: guest RAM is our own shared anonymous mapping and
 * a test drives the guest side over `-qtest unix:PATH` (we connect to the
 * test as a client, before restriction) with QEMU's qtest text protocol
 * (dm/accel/qtest-proto.c). The socket is non-blocking: replies queue in memory
 * and input is not read while too much output is pending, so a test that
 * stops reading cannot make the DM block or grow without bound. When the
 * test closes the connection the DM ends, as nothing can drive it any more. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm/accel/qtest-proto.h"
#include "dm/board/dm.h"
#include "dm/board/machine.h"
#include "dm/core/accel.h"
#include "dm/core/config.h"
#include "dm/core/iobus.h"
#include "dm/core/log.h"
#include "dm/core/loop.h"

#define QTEST_MAX_RAM_MB 3072        /* RAM must stay below the PCI MMIO hole */
#define OUT_HIGH (1u << 20)          /* stop reading input above this much pending output */

struct qtest_accel {
    struct qtest_core core;
    struct loop *loop;
    struct machine *m;
    int fd;
    char *in;                        /* QTEST_MAX_LINE + 1 bytes: a line and its newline */
    size_t in_len;
    bool discarding;                 /* inside an over-long line */
    bool running;
    uint32_t events;
    /* -accel qtest,vram=FILE: the VGA's VRAM kept in FILE as Xen keeps it in
     * the domain, so a DM started with -incoming finds the sender's pages.
     * Page 0 is the "p2m": the gfn the pages are at (a u64); the VRAM
     * follows. Without vram= the VGA owns its VRAM (vram_open answers 1). */
    uint8_t *vfile;                  /* the whole file, mapped shared */
    size_t vfile_len;
    size_t vram_size;
    uint64_t vram_park_gfn;
    bool vram_incoming;              /* not handed out until vram_find */
    struct io_listener listener;
};

#define VFILE_HDR 4096

static struct qtest_accel *priv(struct accel *a)
{
    return a->priv;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd = -1, r;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("qtest: socket path too long: %s", path);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_err("qtest: socket: %s", strerror(errno));
        return -1;
    }
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        log_err("qtest: cannot connect to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    r = fcntl(fd, F_GETFL);
    if (r < 0 || fcntl(fd, F_SETFL, r | O_NONBLOCK) < 0) {
        log_err("qtest: fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void vfile_set_gfn(struct qtest_accel *q, uint64_t gfn)
{
    memcpy(q->vfile, &gfn, sizeof(gfn));
}

static uint64_t vfile_gfn(const struct qtest_accel *q)
{
    uint64_t gfn;

    memcpy(&gfn, q->vfile, sizeof(gfn));
    return gfn;
}

/* Before restriction: a fresh file populated at the park gfn (just above
 * RAM, as Xen's), or an incoming DM's existing one, mapped whole. */
static int vfile_open(struct qtest_accel *q, const struct xsdm_config *cfg)
{
    struct stat st;
    void *p;
    int fd, rc = -1;

    q->vram_size = (size_t)cfg_vga_vram_bytes(cfg);
    q->vfile_len = VFILE_HDR + q->vram_size;
    q->vram_park_gfn = (cfg->ram_mb << 20) / VFILE_HDR;
    q->vram_incoming = cfg->incoming_fd >= 0;
    fd = open(cfg->qtest_vram, O_RDWR | O_CLOEXEC | (q->vram_incoming ? 0 : O_CREAT | O_TRUNC), 0600);
    if (fd < 0) {
        log_err("qtest: VRAM file %s: %s", cfg->qtest_vram, strerror(errno));
        return -1;
    }
    if (!q->vram_incoming && ftruncate(fd, (off_t)q->vfile_len) < 0) {
        log_err("qtest: VRAM file %s: %s", cfg->qtest_vram, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != q->vfile_len) {
        log_err("qtest: VRAM file %s does not hold %zu bytes of VRAM", cfg->qtest_vram, q->vram_size);
        goto out;
    }
    p = mmap(NULL, q->vfile_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        log_err("qtest: VRAM file %s: mmap: %s", cfg->qtest_vram, strerror(errno));
        goto out;
    }
    q->vfile = p;
    if (!q->vram_incoming)
        vfile_set_gfn(q, q->vram_park_gfn);
    rc = 0;
out:
    close(fd);
    return rc;
}

static int qt_init(struct accel *a, const struct xsdm_config *cfg, struct loop *l)
{
    struct qtest_accel *q = NULL;
    void *ram = MAP_FAILED;
    int rc = -1;

    if (!cfg->qtest_path[0]) {
        log_err("qtest: no -qtest unix:PATH");
        goto out;
    }
    if (cfg->ram_mb == 0 || cfg->ram_mb > QTEST_MAX_RAM_MB) {
        log_err("qtest: -m must be 1..%d MiB with the qtest accelerator", QTEST_MAX_RAM_MB);
        goto out;
    }
    q = calloc(1, sizeof(*q));
    if (!q)
        goto out;
    q->fd = -1;
    q->in = malloc(QTEST_MAX_LINE + 1);
    if (!q->in)
        goto out;
    a->ram_size = cfg->ram_mb << 20;
    ram = mmap(NULL, a->ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) {
        log_err("qtest: cannot map %llu MiB of guest RAM: %s",
                (unsigned long long)cfg->ram_mb, strerror(errno));
        goto out;
    }
    if (cfg->qtest_vram[0] && cfg->display_device && vfile_open(q, cfg) < 0)
        goto out;
    q->fd = connect_unix(cfg->qtest_path);
    if (q->fd < 0)
        goto out;
    q->core.ram = ram;
    q->core.ram_size = a->ram_size;
    q->loop = l;
    a->priv = q;
    ram = MAP_FAILED;
    q = NULL;
    rc = 0;
out:
    if (ram != MAP_FAILED)
        munmap(ram, cfg->ram_mb << 20);
    if (q) {
        if (q->vfile)
            munmap(q->vfile, q->vfile_len);
        if (q->fd >= 0)
            close(q->fd);
        free(q->in);
        free(q);
    }
    return rc;
}

static void end_connection(struct qtest_accel *q, const char *why)
{
    struct dm *d = dm_get();

    if (q->fd < 0)
        return;
    log_info("qtest: %s: ending", why);
    loop_del(q->loop, q->fd);
    close(q->fd);
    q->fd = -1;
    if (d)
        d->quit_requested = true;
    loop_quit(q->loop, 0);
}

static void set_events(struct qtest_accel *q)
{
    uint32_t ev = 0;

    if (q->fd < 0)
        return;
    if (q->core.out_len < OUT_HIGH)
        ev |= EPOLLIN;
    if (q->core.out_len)
        ev |= EPOLLOUT;
    if (ev != q->events && loop_mod(q->loop, q->fd, ev) == 0)
        q->events = ev;
}

static void flush(struct qtest_accel *q)
{
    ssize_t r;

    while (q->fd >= 0 && q->core.out_len) {
        r = write(q->fd, q->core.out, q->core.out_len);   /* SIGPIPE is ignored */
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            end_connection(q, "connection lost");
            return;
        }
        qtest_core_consume(&q->core, (size_t)r);
    }
    if (q->core.out_overflow)
        end_connection(q, "reply too large");
    set_events(q);
}

/* Run every complete line in the buffer (while output is not backed up). */
static void process(struct qtest_accel *q)
{
    size_t start = 0;
    char *nl;

    while (q->fd >= 0 && q->core.out_len < OUT_HIGH &&
           (nl = memchr(q->in + start, '\n', q->in_len - start))) {
        *nl = '\0';
        if (q->discarding) {
            q->discarding = false;
            qtest_core_reply(&q->core, "FAIL line too long\n");
        } else {
            qtest_core_line(&q->core, q->in + start);
        }
        start = (size_t)(nl - q->in) + 1;
    }
    if (start) {
        memmove(q->in, q->in + start, q->in_len - start);
        q->in_len -= start;
    }
    /* A full buffer without a newline holds the start of an over-long
     * line: drop it and the rest of the line. (A full buffer that still
     * holds complete lines is only waiting for the output to drain.) */
    if (q->in_len == QTEST_MAX_LINE + 1 && !memchr(q->in, '\n', q->in_len)) {
        q->in_len = 0;
        q->discarding = true;
    }
}

static void on_io(void *opaque, int fd, uint32_t events)
{
    struct qtest_accel *q = opaque;
    ssize_t r;

    if (events & EPOLLOUT)
        flush(q);
    if (q->fd < 0)
        return;
    /* Lines held back while the output was backed up go first: after this,
     * below OUT_HIGH, the buffer holds no complete line and has room. */
    if (q->in_len)
        process(q);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && q->fd >= 0 &&
        q->core.out_len < OUT_HIGH && q->in_len <= QTEST_MAX_LINE) {
        r = read(fd, q->in + q->in_len, QTEST_MAX_LINE + 1 - q->in_len);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            flush(q);
            return;
        }
        if (r <= 0) {
            end_connection(q, r == 0 ? "test closed the connection" : "read error");
            return;
        }
        q->in_len += (size_t)r;
        process(q);
    }
    flush(q);
}

/* The framebuffer BAR moves the VRAM pages, as Xen's relocate_memory. */
static bool is_vram(const struct qtest_accel *q, const struct io_region *r)
{
    return q->vfile && r->space == IO_MMIO && r->ram == q->vfile + VFILE_HDR && r->len == q->vram_size &&
           !(r->base % VFILE_HDR);
}

static void vram_map(void *opaque, const struct io_region *r)
{
    if (is_vram(opaque, r))
        vfile_set_gfn(opaque, r->base / VFILE_HDR);
}

static void vram_unmap(void *opaque, const struct io_region *r)
{
    struct qtest_accel *q = opaque;

    if (is_vram(q, r))
        vfile_set_gfn(q, q->vram_park_gfn);
}

static int qt_attach(struct accel *a, struct machine *m)
{
    struct qtest_accel *q = priv(a);
    int r;

    q->m = m;
    if (q->vfile) {
        q->listener = (struct io_listener){ vram_map, vram_unmap, q };
        iobus_set_listener(&m->bus, &q->listener);
    }
    q->core.m = m;
    r = loop_add(q->loop, q->fd, EPOLLIN, on_io, q);
    if (r < 0) {
        log_err("qtest: cannot watch the connection: %s", strerror(-r));
        return -1;
    }
    q->events = EPOLLIN;
    return 0;
}

static int qt_mem_read(struct accel *a, uint64_t gpa, void *buf, size_t len)
{
    struct qtest_accel *q = priv(a);

    if (gpa > q->core.ram_size || len > q->core.ram_size - gpa)
        return -1;
    memcpy(buf, q->core.ram + gpa, len);
    return 0;
}

static int qt_mem_write(struct accel *a, uint64_t gpa, const void *buf, size_t len)
{
    struct qtest_accel *q = priv(a);

    if (gpa > q->core.ram_size || len > q->core.ram_size - gpa)
        return -1;
    memcpy(q->core.ram + gpa, buf, len);
    return 0;
}

static void qt_set_isa_irq(struct accel *a, unsigned irq, int level)
{
    struct qtest_accel *q = priv(a);

    qtest_core_irq(&q->core, irq, level);
    /* Raised from a device timer or chardev input, not inside a command:
     * the line must still go out now. */
    if (q->core.out_len)
        set_events(q);
}

static void qt_shutdown(struct accel *a, enum shutdown_reason why)
{
    log_info("qtest: guest %s", why == SHUTDOWN_REBOOT ? "reset" :
             why == SHUTDOWN_CRASH ? "crashed" : "powered off");
}

static int qt_set_dirty_log(struct accel *a, bool enable)
{
    a->dirty_log = enable;
    return 0;
}

static void qt_set_running(struct accel *a, bool running)
{
    priv(a)->running = running;
}

static int qt_keep_fds(struct accel *a, int *fds, int max)
{
    struct qtest_accel *q = priv(a);

    if (!q || q->fd < 0 || max < 1)
        return 0;
    fds[0] = q->fd;
    return 1;
}

/* Guest RAM is one mapping of all -m bytes, made at init; so is the VRAM file. */
static uint64_t qt_map_budget(struct accel *a)
{
    return a->ram_size + (priv(a) ? priv(a)->vfile_len : 0);
}

static int qt_vram_open(struct accel *a, size_t size, void **mem)
{
    struct qtest_accel *q = priv(a);

    *mem = NULL;
    if (!q->vfile)
        return 1;
    if (size != q->vram_size) {
        log_err("qtest: the VRAM file holds %zu bytes, not %zu", q->vram_size, size);
        return -1;
    }
    if (!q->vram_incoming)
        *mem = q->vfile + VFILE_HDR;
    return 0;
}

/* As Xen's: gfn is hostile (the saved state), outside RAM, and the pages must be there. */
static void *qt_vram_find(struct accel *a, uint64_t gfn, char *err, size_t errlen)
{
    struct qtest_accel *q = priv(a);

    if (!q->vfile) {
        snprintf(err, errlen, "no VRAM file");
        return NULL;
    }
    if (gfn < q->vram_park_gfn || gfn >= QTEST_MMIO_LIMIT / VFILE_HDR) {
        snprintf(err, errlen, "VRAM gfn 0x%llx is guest RAM or out of range", (unsigned long long)gfn);
        return NULL;
    }
    if (gfn != vfile_gfn(q)) {
        snprintf(err, errlen, "no VRAM pages at gfn 0x%llx (they are at 0x%llx)", (unsigned long long)gfn,
                 (unsigned long long)vfile_gfn(q));
        return NULL;
    }
    q->vram_incoming = false;
    log_info("qtest: VRAM found at gfn 0x%llx", (unsigned long long)gfn);
    return q->vfile + VFILE_HDR;
}

static uint64_t qt_vram_gfn(struct accel *a)
{
    return priv(a)->vfile ? vfile_gfn(priv(a)) : 0;
}

/* What Xen's modified_memory would be told, in the log for the tests. */
static void qt_vram_modified(struct accel *a, uint64_t off, uint64_t len)
{
    struct qtest_accel *q = priv(a);
    uint64_t first, last;

    if (!a->dirty_log || !q->vfile || off >= q->vram_size || len > q->vram_size - off)
        return;
    first = vfile_gfn(q) + off / VFILE_HDR;
    last = vfile_gfn(q) + (off + len - 1) / VFILE_HDR;
    log_info("qtest: modified_memory(0x%llx, %llu)", (unsigned long long)first,
             (unsigned long long)(last - first + 1));
}

static int64_t qt_clock_ns(struct accel *a)
{
    return priv(a)->core.clock_ns;
}

static void qt_destroy(struct accel *a)
{
    struct qtest_accel *q = priv(a);

    if (!q)
        return;
    if (q->fd >= 0) {
        loop_del(q->loop, q->fd);
        close(q->fd);
    }
    if (q->core.ram)
        munmap(q->core.ram, q->core.ram_size);
    if (q->vfile)
        munmap(q->vfile, q->vfile_len);
    qtest_core_free(&q->core);
    free(q->in);
    free(q);
    a->priv = NULL;
}

const struct accel_ops accel_qtest_ops = {
    .name = "qtest",
    .init = qt_init,
    .attach = qt_attach,
    .mem_read = qt_mem_read,
    .mem_write = qt_mem_write,
    .set_isa_irq = qt_set_isa_irq,
    .shutdown = qt_shutdown,
    .set_dirty_log = qt_set_dirty_log,
    .set_running = qt_set_running,
    .keep_fds = qt_keep_fds,
    .map_budget = qt_map_budget,
    .vram_open = qt_vram_open,
    .vram_find = qt_vram_find,
    .vram_gfn = qt_vram_gfn,
    .vram_modified = qt_vram_modified,
    .destroy = qt_destroy,
    .clock_ns = qt_clock_ns,
};
