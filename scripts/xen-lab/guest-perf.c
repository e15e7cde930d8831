/* guest-perf.c - the bed's in-guest benchmark (static, in the Linux lab guest's initrd as /bin/labperf).
 *
 *   labperf port PORT N     N reads (inb) of an I/O port the device model emulates: each one is a
 *                           round trip guest -> Xen -> ioreq -> DM -> Xen -> guest
 *   labperf read DEV BYTES  sequential O_DIRECT read of BYTES from a disk (1 MiB requests: the
 *                           IDE driver turns them into bus-master DMA)
 *
 * One line on stdout with the figures; a benchmark, never a verdict. Exit 1 when it could not
 * measure (no I/O privilege, read error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (1024 * 1024)

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

static int bench_read(const char *dev, unsigned long bytes)
{
    unsigned long done = 0;
    double t0, t1;
    void *buf = NULL;
    ssize_t r;
    int fd = -1, rc = 1;

    fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0) {
        printf("PERF-DISK FAILED open %s: %s\n", dev, strerror(errno));
        goto out;
    }
    if (posix_memalign(&buf, 4096, READ_CHUNK) != 0) {
        printf("PERF-DISK FAILED no memory\n");
        goto out;
    }
    t0 = now_s();
    while (done < bytes) {
        r = read(fd, buf, READ_CHUNK);
        if (r <= 0) {
            printf("PERF-DISK FAILED read at %lu: %s\n", done, r < 0 ? strerror(errno) : "end of disk");
            goto out;
        }
        done += (unsigned long)r;
    }
    t1 = now_s();
    printf("PERF-DISK dev=%s bytes=%lu secs=%.2f MBps=%.2f\n", dev, done, t1 - t0,
           (double)done / 1e6 / (t1 - t0));
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "port") == 0)
        return bench_port(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
    if (argc == 4 && strcmp(argv[1], "read") == 0)
        return bench_read(argv[2], strtoul(argv[3], NULL, 0));
    fprintf(stderr, "usage: labperf port PORT N | labperf read DEV BYTES\n");
    return 2;
}
