/* Raw image backends (dm/storage/block.h). Every open image is listed in a small
 * table so the restriction step can keep its fd across close-fds. */
#include "dm/storage/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dm/core/fdset.h"
#include "dm/core/log.h"
#include "dm/storage/block-loop.h"

static struct block *open_blocks[BLOCK_MAX_OPEN];
static unsigned next_node = 100;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int table_add(struct block *b)
{
    for (int i = 0; i < BLOCK_MAX_OPEN; i++) {
        if (!open_blocks[i]) {
            open_blocks[i] = b;
            return 0;
        }
    }
    return -1;
}

static void table_del(struct block *b)
{
    for (int i = 0; i < BLOCK_MAX_OPEN; i++)
        if (open_blocks[i] == b)
            open_blocks[i] = NULL;
}

struct block *block_open(const char *filename, const char *format, bool readonly,
                         bool restricted, char *err, size_t errlen)
{
    struct block *b = NULL;
    char msg[256];
    off_t end;
    int fd = -1;

    if (format && strcmp(format, "raw")) {
        snprintf(err, errlen, "image format '%s' is not supported: xsdm serves raw images only", format);
        goto fail;
    }
    if (!filename || !*filename || strlen(filename) >= CFG_PATH_MAX) {
        snprintf(err, errlen, "invalid image file name");
        goto fail;
    }
    fd = dm_open(filename, readonly ? O_RDONLY : O_RDWR, restricted, msg, sizeof(msg));
    if (fd < 0) {
        snprintf(err, errlen, "%s", msg);
        goto fail;
    }
    /* lseek works for regular files and block devices alike. */
    end = lseek(fd, 0, SEEK_END);
    if (end < 0) {
        snprintf(err, errlen, "%s: cannot find the image size: %s", filename, strerror(errno));
        goto fail;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    b->fd = fd;
    b->readonly = readonly;
    b->size = (uint64_t)end;
    b->node = next_node++;
    snprintf(b->filename, sizeof(b->filename), "%s", filename);
    if (table_add(b) < 0) {
        snprintf(err, errlen, "too many open images (at most %d)", BLOCK_MAX_OPEN);
        goto fail;
    }
    return b;
fail:
    free(b);
    dm_close(fd);
    return NULL;
}

void block_close(struct block *b)
{
    if (!b)
        return;
    table_del(b);
    /* A medium from /dev/fdset/N lets its set go (fdset.h: lifetime). */
    dm_close(b->fd);
    free(b);
}

static bool in_range(const struct block *b, uint64_t off, size_t len)
{
    return off <= b->size && len <= b->size - off;
}

int block_read(struct block *b, uint64_t off, void *buf, size_t len)
{
    uint64_t t0;
    size_t done = 0;

    if (!b || !in_range(b, off, len)) {
        if (b)
            b->st.invalid_rd++;
        errno = EINVAL;
        return -1;
    }
    t0 = now_ns();
    while (done < len) {
        ssize_t r = pread(b->fd, (char *)buf + done, len - done, (off_t)(off + done));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* The file shrank under us, or the device failed. */
            if (r == 0)
                errno = EIO;
            b->st.failed_rd++;
            return -1;
        }
        done += (size_t)r;
    }
    b->st.rd_ops++;
    b->st.rd_bytes += len;
    b->st.rd_ns += now_ns() - t0;
    return 0;
}

int block_write(struct block *b, uint64_t off, const void *buf, size_t len)
{
    uint64_t t0;
    size_t done = 0;

    if (!b || b->readonly) {
        if (b)
            b->st.invalid_wr++;
        errno = EROFS;
        return -1;
    }
    if (!in_range(b, off, len)) {
        b->st.invalid_wr++;
        errno = EINVAL;
        return -1;
    }
    t0 = now_ns();
    while (done < len) {
        ssize_t r = pwrite(b->fd, (const char *)buf + done, len - done, (off_t)(off + done));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            b->st.failed_wr++;
            return -1;
        }
        done += (size_t)r;
    }
    b->st.wr_ops++;
    b->st.wr_bytes += len;
    if (off + len > b->st.wr_highest)
        b->st.wr_highest = off + len;
    b->st.wr_ns += now_ns() - t0;
    return 0;
}

int block_flush(struct block *b)
{
    uint64_t t0;
    int r;

    if (!b) {
        errno = EINVAL;
        return -1;
    }
    /* Nothing of ours to flush on a read-only medium. */
    if (b->readonly) {
        b->st.flush_ops++;
        return 0;
    }
    t0 = now_ns();
    do {
        r = fdatasync(b->fd);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        b->st.failed_flush++;
        return -1;
    }
    b->st.flush_ops++;
    b->st.flush_ns += now_ns() - t0;
    return 0;
}

void block_stats_add(struct block_stats *to, const struct block_stats *from)
{
    to->rd_bytes += from->rd_bytes;
    to->wr_bytes += from->wr_bytes;
    to->rd_ops += from->rd_ops;
    to->wr_ops += from->wr_ops;
    to->flush_ops += from->flush_ops;
    to->rd_ns += from->rd_ns;
    to->wr_ns += from->wr_ns;
    to->flush_ns += from->flush_ns;
    to->failed_rd += from->failed_rd;
    to->failed_wr += from->failed_wr;
    to->failed_flush += from->failed_flush;
    to->invalid_rd += from->invalid_rd;
    to->invalid_wr += from->invalid_wr;
    if (from->wr_highest > to->wr_highest)
        to->wr_highest = from->wr_highest;
}

/* A loop device keeps its own page cache: it is written back on FLUSH, on
 * stop (dm_stop) and when the DM's fd closes, so the file's other readers
 * (dom0 tools, a migration target) see the guest's writes from then on. */
static int attach_loop(struct block *b)
{
    char msg[256];
    struct stat st;
    bool dio;
    off_t end;
    int lfd;

    if (b->readonly || b->on_loop || fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    lfd = block_loop_attach(b->fd, &dio, msg, sizeof(msg));
    if (lfd >= 0 && ((end = lseek(lfd, 0, SEEK_END)) < 0 || dup3(lfd, b->fd, O_CLOEXEC) < 0)) {
        snprintf(msg, sizeof(msg), "loop device: %s", strerror(errno));
        close(lfd);
        lfd = -1;
    }
    if (lfd < 0) {
        b->file_writes = true;
        log_warn("%s: %s: guest writes go to the file, and RLIMIT_FSIZE becomes its size where "
                 "the hard limit allows (docs/restriction.md)", b->filename, msg);
        return -1;
    }
    close(lfd);                 /* b->fd is the loop device now, same number */
    b->on_loop = true;
    /* The loop device ends at the last whole 512-byte sector. */
    b->size = (uint64_t)end;
    log_info("%s: served through a loop device (%s I/O)", b->filename, dio ? "direct" : "buffered");
    return 0;
}

int block_attach_loops(void)
{
    int rc = 0;

    for (int i = 0; i < BLOCK_MAX_OPEN; i++)
        if (open_blocks[i] && attach_loop(open_blocks[i]) < 0)
            rc = -1;
    return rc;
}

void block_flush_all(void)
{
    for (int i = 0; i < BLOCK_MAX_OPEN; i++)
        if (open_blocks[i] && !open_blocks[i]->readonly && block_flush(open_blocks[i]) < 0)
            log_warn("%s: flush: %s", open_blocks[i]->filename, strerror(errno));
}

uint64_t block_fsize_needed(void)
{
    uint64_t need = 0;

    for (int i = 0; i < BLOCK_MAX_OPEN; i++)
        if (open_blocks[i] && open_blocks[i]->file_writes && open_blocks[i]->size > need)
            need = open_blocks[i]->size;
    return need;
}

int block_keep_fds(int *fds, int max)
{
    int n = 0;

    for (int i = 0; i < BLOCK_MAX_OPEN && n < max; i++)
        if (open_blocks[i] && open_blocks[i]->fd >= 0)
            fds[n++] = open_blocks[i]->fd;
    return n;
}
