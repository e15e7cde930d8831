/* libFuzzer over the QMP server: the input is fed as a client's bytes into a
 * server attached to a socketpair, on a fresh xenfv machine (the fake
 * accelerator of tests/lib: a disk, an empty CD-ROM, COM1, so the block,
 * save/restore and chardev handlers have something to act on), as
 * negotiated or not, with fds riding on
 * some of the chunks, and the client shuts its side at the end. Byte 0 picks
 * the pattern: bit 0 = negotiate first, bit 1 = an fd with the first chunk,
 * bit 2 = an fd with every other chunk, bit 3 = differential, bits 4-7 =
 * chunk size (1 << n, at least 1). Invariants: nothing crashes or leaks
 * (memory: ASan; fds: the lowest free fd is the same after every run), every
 * reply is one "\r\n"-terminated JSON object, and (differential, no fds) the
 * same bytes in one write draw the same replies as in chunks: framing must
 * not depend on how the kernel splits the stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "dm/board/dm.h"
#include "dm/board/machine.h"
#include "dm/core/config.h"
#include "dm/core/fdset.h"
#include "dm/core/loop.h"
#include "dm/qmp/qmp.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/sendfd.h"

#define RAM_SIZE (64 * 1024)

static char out[2][2 * 1024 * 1024];
static struct fake_machine fm;
static uint8_t ram[RAM_SIZE];

static int lowest_free_fd(void)
{
    int fd = dup(0);

    if (fd >= 0)
        close(fd);
    return fd;
}

static void send_chunk(int cfd, const uint8_t *p, size_t len, int fd)
{
    if (send_with_fd(cfd, p, len, fd, MSG_DONTWAIT) < 0 && errno != EAGAIN)
        abort();
}

/* Run the server until it has nothing left to do; collect its output in o
 * (sizeof(out[0])). A full buffer starts again at 0 and sets *wrapped. */
static size_t pump(struct loop *l, int cfd, char *o, size_t have, bool *wrapped)
{
    int idle = 0;

    while (idle < 2) {
        ssize_t r;

        /* After "quit" the loop delivers nothing more (as the DM, which exits). */
        idle = !loop_quitting(l) && loop_once(l, 0) > 0 ? 0 : idle + 1;
        do {
            r = recv(cfd, o + have, sizeof(out[0]) - have - 1, MSG_DONTWAIT);
            if (r > 0) {
                have += (size_t)r;
                idle = 0;
            }
        } while (r > 0 && have < sizeof(out[0]) - 1);
        if (have >= sizeof(out[0]) - 1) {
            have = 0;       /* only whole lines are checked; a full buffer restarts */
            *wrapped = true;
        }
    }
    return have;
}

static void check_lines(const char *p, size_t len)
{
    while (len) {
        const char *nl = memchr(p, '\n', len);
        size_t n;
        json_t *j;

        if (!nl)
            return;     /* the tail of a line cut by a restart above */
        n = (size_t)(nl - p) + 1;
        if (n < 2 || p[n - 2] != '\r')
            abort();
        j = json_loadb(p, n, 0, NULL);
        if (!j || !json_is_object(j))
            abort();
        /* a greeting, a reply (return or error) or an event: nothing else */
        if (!json_object_get(j, "QMP") && !json_object_get(j, "return") &&
            !json_is_string(json_object_get(json_object_get(j, "error"), "desc")) &&
            !json_object_get(j, "event"))
            abort();
        json_decref(j);
        p += n;
        len -= n;
    }
}

/* What differs between two sessions by design: event timestamps, the
 * block node-name counter, the fake disk's mkstemp name. Dropped. */
static void strip_run_specific(char *o)
{
    static const struct {
        const char *key;
        size_t fixed;                   /* bytes to drop; 0: a run of digits */
    } keys[] = {
        { "\"seconds\": ", 0 }, { "\"microseconds\": ", 0 }, { "#block", 0 }, { "xsdm-fake-disk-", 6 },
    };
    char *p, *e;
    size_t k;

    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        for (p = o; (p = strstr(p, keys[k].key)); ) {
            p += strlen(keys[k].key);
            if (keys[k].fixed)
                e = p + strnlen(p, keys[k].fixed);
            else
                for (e = p; *e >= '0' && *e <= '9'; e++)
                    ;
            memmove(p, e, strlen(e) + 1);
        }
}

/* One client session; returns the bytes of output in o. */
static size_t session(const uint8_t *data, size_t size, uint8_t mode, size_t chunk, char *o, bool *wrapped)
{
    static const char nego[] = "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n";
    struct dm d;
    struct qmp_server *s;
    size_t off, have = 0;
    int sv[2], n = 0;

    memset(&d, 0, sizeof(d));
    d.loop = loop_new();
    if (!d.loop)
        abort();
    /* A machine per session: a command's effect (an eject, a loaded state)
     * must not reach the next input, nor the differential run. */
    fake_machine_init(&fm, ram, RAM_SIZE);
    if (fake_xenfv_build(&fm, &d.machine, &d.cfg, d.loop, true) < 0)
        abort();
    d.accel = fm.acc;
    d.restricted = true;       /* files only through fd sets: no paths from fuzz input */
    dm_set(&d);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    s = qmp_server_new(d.loop, -1, "fuzz");
    if (!s || qmp_server_attach_client(s, sv[1]) < 0)
        abort();
    if (mode & 1)
        send_chunk(sv[0], (const uint8_t *)nego, sizeof(nego) - 1, -1);
    have = pump(d.loop, sv[0], o, have, wrapped);
    for (off = 0; off < size; off += chunk, n++) {
        size_t len = size - off < chunk ? size - off : chunk;
        int fd = -1;

        if (((mode & 2) && n == 0) || ((mode & 4) && n % 2))
            fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        send_chunk(sv[0], data + off, len, fd);
        if (fd >= 0)
            close(fd);
        have = pump(d.loop, sv[0], o, have, wrapped);
    }
    /* The client is done: what it sent is served and every reply comes. */
    shutdown(sv[0], SHUT_WR);
    have = pump(d.loop, sv[0], o, have, wrapped);
    o[have] = 0;
    qmp_server_free(s);
    close(sv[0]);
    machine_free(&d.machine);
    fdset_clear();
    loop_free(d.loop);
    dm_set(NULL);
    return have;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool wrapped = false, wrapped_whole = false;
    size_t have, have_whole;
    int baseline;
    uint8_t mode;

    if (!size)
        return 0;
    baseline = lowest_free_fd();
    mode = data[0];
    data++;
    size--;
    have = session(data, size, mode, (size_t)1 << (mode >> 4), out[0], &wrapped);
    check_lines(out[0], have);
    if ((mode & 8) && !(mode & 6) && size) {
        have_whole = session(data, size, mode, size, out[1], &wrapped_whole);
        check_lines(out[1], have_whole);
        strip_run_specific(out[0]);
        strip_run_specific(out[1]);
        if (!wrapped && !wrapped_whole && strcmp(out[0], out[1])) {
            fprintf(stderr, "one write:\n%s\nchunks of %zu:\n%s\n", out[1],
                    (size_t)1 << (mode >> 4), out[0]);
            abort();
        }
    }
    if (lowest_free_fd() != baseline)
        abort();        /* an fd leaked */
    return 0;
}
