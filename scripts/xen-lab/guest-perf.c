/* guest-perf.c - the bed's in-guest benchmark (static, in the Linux lab guest's initrd as /bin/labperf).
 *
 *   labperf port PORT N     N reads (inb) of an I/O port the device model emulates: each one is a
 *                           round trip guest -> Xen -> ioreq -> DM -> Xen -> guest
 *   labperf read DEV BYTES [TAG]
 *                           sequential O_DIRECT read of BYTES from a disk or CD-ROM (1 MiB
 *                           requests: the IDE driver turns them into bus-master DMA); the line
 *                           starts with TAG (default PERF-DISK)
 *   labperf dmacheck DEV OFFSET BYTES
 *                           hashes each 64 KiB block of [OFFSET, OFFSET+BYTES) of DEV (random bytes
 *                           dom0 wrote: read only, so a DM that cannot write the image can run it),
 *                           then reads the blocks forever by O_DIRECT (DMA) into a ring of buffers
 *                           and checks each buffer one whole ring later, just before it is refilled:
 *                           a buffer filled by the DM on one host and checked on another (live
 *                           migration) shows whether the DM's DMA writes were logged as dirty.
 *                           "DMACHECK reads= verified= mismatches=" every 2 s.
 *   labperf send IP PORT WHAT TAG  one TCP connection to IP:PORT: WHAT is a file (its bytes) or a
 *                           byte count (that many zero bytes, 64 KiB writes); then shutdown(SHUT_WR)
 *                           and wait for the peer's close, so the figure covers delivery to dom0
 *
 * One line on stdout with the figures; a benchmark, never a verdict. Exit 1 when it could not
 * measure (no I/O privilege, read error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/io.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (1024 * 1024)
#define SEND_CHUNK (64 * 1024)
#define NET_TIMEOUT_S 120      /* no wait of the send may hang the guest's script */
#define CHECK_BLOCK (64 * 1024)   /* one ATA DMA command */
#define CHECK_RING 128            /* buffers: 8 MiB of guest RAM the DM writes */
#define CHECK_PAUSE_US 5000       /* between reads: the DM stays busy, the vCPU does not spin */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_port(unsigned long port, unsigned long n)
{
    volatile unsigned char sink = 0;
    double t0, t1;
    unsigned long i;

    if (port > 0xffff || n == 0) {
        fprintf(stderr, "labperf: bad port or count\n");
        return 1;
    }
    if (iopl(3) != 0) {
        printf("PERF-PORT FAILED iopl: %s\n", strerror(errno));
        return 1;
    }
    t0 = now_s();
    for (i = 0; i < n; i++)
        sink ^= inb((unsigned short)port);
    t1 = now_s();
    printf("PERF-PORT port=0x%lx reads=%lu secs=%.3f us_per_read=%.1f\n", port, n, t1 - t0,
           (t1 - t0) * 1e6 / (double)n);
    (void)sink;
    return 0;
}

static int bench_read(const char *dev, unsigned long bytes, const char *tag)
{
    unsigned long done = 0;
    double t0, t1;
    void *buf = NULL;
    ssize_t r;
    int fd = -1, rc = 1;

    fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0) {
        printf("%s FAILED open %s: %s\n", tag, dev, strerror(errno));
        goto out;
    }
    if (posix_memalign(&buf, 4096, READ_CHUNK) != 0) {
        printf("%s FAILED no memory\n", tag);
        goto out;
    }
    t0 = now_s();
    while (done < bytes) {
        r = read(fd, buf, READ_CHUNK);
        if (r <= 0) {
            printf("%s FAILED read at %lu: %s\n", tag, done, r < 0 ? strerror(errno) : "end of disk");
            goto out;
        }
        done += (unsigned long)r;
    }
    t1 = now_s();
    printf("%s dev=%s bytes=%lu secs=%.2f MBps=%.2f\n", tag, dev, done, t1 - t0,
           (double)done / 1e6 / (t1 - t0));
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* WHAT: a file to send, or a decimal count of zero bytes */
static int bench_send(const char *ip, unsigned long port, const char *what, const char *tag)
{
    static char buf[SEND_CHUNK];
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct timeval tv = { .tv_sec = NET_TIMEOUT_S };
    unsigned long total = 0, done = 0;
    int fd = -1, src = -1, rc = 1, closed = 0;
    double t0, t1;
    char *end;
    ssize_t r, w;

    if (port == 0 || port > 0xffff || inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "labperf: bad address or port\n");
        return 2;
    }
    sa.sin_port = htons((unsigned short)port);
    total = strtoul(what, &end, 10);
    if (*end) {         /* not a number: a file */
        src = open(what, O_RDONLY);
        if (src < 0) {
            printf("NET-SENT tag=%s FAILED open %s: %s\n", tag, what, strerror(errno));
            return 1;
        }
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        printf("NET-SENT tag=%s FAILED socket: %s\n", tag, strerror(errno));
        goto out;
    }
    t0 = now_s();
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        printf("NET-SENT tag=%s FAILED connect %s:%lu: %s\n", tag, ip, port, strerror(errno));
        goto out;
    }
    for (;;) {
        size_t n = SEND_CHUNK;

        if (src >= 0) {
            r = read(src, buf, sizeof(buf));
            if (r < 0) {
                printf("NET-SENT tag=%s FAILED read: %s\n", tag, strerror(errno));
                goto out;
            }
            if (r == 0)
                break;
            n = (size_t)r;
        } else {
            if (done >= total)
                break;
            if (total - done < n)
                n = total - done;
        }
        for (size_t off = 0; off < n; off += (size_t)w) {
            w = write(fd, buf + off, n - off);
            if (w <= 0) {
                printf("NET-SENT tag=%s FAILED write after %lu bytes: %s\n", tag, done, w < 0 ? strerror(errno) : "0");
                goto out;
            }
        }
        done += n;
    }
    shutdown(fd, SHUT_WR);
    /* the receiver closes once it has everything */
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        ;
    closed = r == 0;
    t1 = now_s();
    printf("NET-SENT tag=%s bytes=%lu secs=%.2f MBps=%.2f peer_closed=%s\n", tag, done, t1 - t0,
           (double)done / 1e6 / (t1 - t0), closed ? "yes" : "no");
    rc = closed ? 0 : 1;
out:
    if (fd >= 0)
        close(fd);
    if (src >= 0)
        close(src);
    return rc;
}

/* FNV-1a over the block's 8-byte words: what a block held when first read. */
static uint64_t block_hash(const uint64_t *buf)
{
    uint64_t h = 14695981039346656037ull;
    unsigned long w;

    for (w = 0; w < CHECK_BLOCK / 8; w++) {
        h ^= buf[w];
        h *= 1099511628211ull;
    }
    return h;
}

static int dma_check(const char *dev, unsigned long off, unsigned long bytes)
{
    unsigned long nblocks = bytes / CHECK_BLOCK, next = 0, reads = 0, verified = 0, bad = 0, same = 0, b, i;
    long filled[CHECK_RING];
    uint64_t *ring = NULL, *buf, *hash = NULL;
    double last;
    int fd = -1, rc = 1;

    if (off % CHECK_BLOCK || nblocks < 2 * CHECK_RING) {
        fprintf(stderr, "labperf: dmacheck needs a 64 KiB-aligned offset and >= %d blocks\n", 2 * CHECK_RING);
        return 2;
    }
    fd = open(dev, O_RDONLY | O_DIRECT);
    hash = calloc(nblocks, sizeof(*hash));
    if (fd < 0 || !hash || posix_memalign((void **)&ring, 4096, (size_t)CHECK_BLOCK * CHECK_RING) != 0) {
        printf("DMACHECK FAILED open %s or no memory: %s\n", dev, strerror(errno));
        goto out;
    }
    /* What each block holds (dom0 wrote random bytes there): hashes kept in
     * memory the vCPU writes, so migration carries them like any RAM. */
    for (b = 0; b < nblocks; b++) {
        if (pread(fd, ring, CHECK_BLOCK, (off_t)(off + b * CHECK_BLOCK)) != CHECK_BLOCK) {
            printf("DMACHECK FAILED first read of block %lu: %s\n", b, strerror(errno));
            goto out;
        }
        hash[b] = block_hash(ring);
        same += b && hash[b] == hash[b - 1];
    }
    /* A region of equal blocks (a hole) cannot tell a stale buffer from a fresh one. */
    if (same) {
        printf("DMACHECK FAILED %lu block(s) equal to the one before: no random data at %lu\n", same, off);
        goto out;
    }
    for (i = 0; i < CHECK_RING; i++)
        filled[i] = -1;
    printf("DMACHECK-READY dev=%s off=%lu bytes=%lu ring=%dx%d\n", dev, off, nblocks * CHECK_BLOCK,
           CHECK_RING, CHECK_BLOCK);
    fflush(stdout);
    last = now_s();
    for (;;) {
        i = reads % CHECK_RING;
        buf = ring + i * (CHECK_BLOCK / 8);
        if (filled[i] >= 0) {
            if (block_hash(buf) == hash[filled[i]])
                verified++;
            else if (bad++ < 5)
                printf("DMACHECK-MISMATCH buffer=%lu block=%ld read=%lu\n", i, filled[i], reads);
        }
        b = next++ % nblocks;
        if (pread(fd, buf, CHECK_BLOCK, (off_t)(off + b * CHECK_BLOCK)) != CHECK_BLOCK) {
            printf("DMACHECK FAILED read of block %lu: %s\n", b, strerror(errno));
            goto out;
        }
        filled[i] = (long)b;
        reads++;
        if (now_s() - last >= 2.0) {
            printf("DMACHECK reads=%lu verified=%lu mismatches=%lu\n", reads, verified, bad);
            fflush(stdout);
            last = now_s();
        }
        usleep(CHECK_PAUSE_US);
    }
out:
    fflush(stdout);
    free(hash);
    free(ring);
    if (fd >= 0)
        close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "send") == 0)
        return bench_send(argv[2], strtoul(argv[3], NULL, 0), argv[4], argv[5]);
    if (argc == 4 && strcmp(argv[1], "port") == 0)
        return bench_port(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "read") == 0)
        return bench_read(argv[2], strtoul(argv[3], NULL, 0), argc == 5 ? argv[4] : "PERF-DISK");
    if (argc == 5 && strcmp(argv[1], "dmacheck") == 0)
        return dma_check(argv[2], strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0));
    fprintf(stderr, "usage: labperf port PORT N | labperf read DEV BYTES [TAG] | labperf dmacheck DEV OFFSET BYTES"
            " | labperf send IP PORT FILE|BYTES TAG\n");
    return 2;
}
