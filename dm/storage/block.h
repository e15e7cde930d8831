/* Raw image backends for the IDE drives: one open fd per medium, opened
 * through dm_open() (a path before restriction, "/dev/fdset/N" after),
 * positioned reads and writes, FLUSH as fdatasync, and the counters
 * query-blockstats reports. Raw only: there is no format layer. */
#ifndef XSDM_BLOCK_H
#define XSDM_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/core/config.h"

#define BLOCK_MAX_OPEN 8        /* 4 drives, plus a medium being swapped in */

struct block_stats {
    uint64_t rd_bytes, wr_bytes;
    uint64_t rd_ops, wr_ops, flush_ops;
    uint64_t rd_ns, wr_ns, flush_ns;        /* total time spent */
    uint64_t failed_rd, failed_wr, failed_flush;
    uint64_t invalid_rd, invalid_wr;        /* refused before I/O (range, read-only) */
    uint64_t wr_highest;                    /* highest byte offset written + 1 */
};

/* Accumulate one medium's counters into a drive's running totals. */
void block_stats_add(struct block_stats *to, const struct block_stats *from);

struct block {
    int fd;
    bool readonly;
    uint64_t size;                  /* bytes, as found at open */
    char filename[CFG_PATH_MAX];    /* as given (query-block "file") */
    unsigned node;                  /* query-block "node-name": #block<node> */
    bool on_loop;                   /* a writable file served through a loop device */
    bool file_writes;               /* guest writes go to a regular file: RLIMIT_FSIZE binds */
    struct block_stats st;
};

/* Open a raw image. format NULL or "raw" (anything else is refused with a
 * message naming it). restricted: only /dev/fdset/N is accepted. A
 * read-write request falls back to nothing: the caller decides. */
struct block *block_open(const char *filename, const char *format, bool readonly,
                         bool restricted, char *err, size_t errlen);
void block_close(struct block *b);

/* Whole-range I/O: 0, or -1 (errno set: EINVAL out of range, EROFS
 * read-only, EIO short transfer). The range is checked against size. */
int block_read(struct block *b, uint64_t off, void *buf, size_t len);
int block_write(struct block *b, uint64_t off, const void *buf, size_t len);
int block_flush(struct block *b);
static inline uint64_t block_sectors(const struct block *b, unsigned sector_size)
{
    return b && sector_size ? b->size / sector_size : 0;
}

/* Before restriction (dm/main.c): serve every writable regular-file image
 * through a loop device (dm/storage/block-loop.h), in place (same fd number), so
 * RLIMIT_FSIZE does not apply to the guest's writes. Returns 0, or -1 if
 * some image stays a plain file (logged; see block_fsize_needed()). */
int block_attach_loops(void);
/* Write back every writable image (QEMU flushes all drives on stop). */
void block_flush_all(void);

/* The largest open image whose guest writes go to a regular file (no loop
 * device could be attached): what RLIMIT_FSIZE must allow for the guest's
 * writes to reach it. 0 if none. */
uint64_t block_fsize_needed(void);

/* fds of every open image (the restriction step's close-fds keep-list).
 * Returns how many were written (at most max). */
int block_keep_fds(int *fds, int max);

#endif
