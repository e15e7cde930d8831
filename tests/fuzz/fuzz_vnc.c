/* libFuzzer over the RFB server's client side (dm/display/vnc.c): the handshake and
 * every client message, as bytes arriving on a viewer's socket. Input:
 *   byte 0: bit 0 VNC authentication (else None), bits 1-7 chunk size - 1
 *   byte 1: bit n set: before chunk n the display changes mode (DesktopSize)
 *   rest:   the client's bytes, fed in chunks; after each chunk the update
 *           timer's work runs once, so updates in every pixel format and
 *           encoding the input asked for are built.
 * The server and a socketpair are made per input; the peer end is drained
 * after each chunk so sends do not stall. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/log.h"
#include "dm/core/loop.h"
#include "dm/display/display.h"
#include "dm/display/vnc-int.h"
#include "dm/display/vnc.h"

static struct loop *loop;
static uint32_t fb[96 * 64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t i;

    log_set_level(LOG_ERR);
    loop = loop_new();
    if (!loop)
        abort();
    for (i = 0; i < sizeof(fb) / sizeof(fb[0]); i++)
        fb[i] = (uint32_t)(i * 2654435761u);
    return 0;
}

static void drain(int fd)
{
    uint8_t buf[65536];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned modes[][2] = { { 64, 48 }, { 96, 64 }, { 1, 1 }, { 0, 0 } };
    struct display d;
    struct vnc_server *s;
    char err[128];
    size_t chunk, off = 2;
    unsigned n = 0;
    int sv[2];

    if (size < 2)
        return 0;
    s = vnc_server_new(loop, -1, data[0] & 1, "fuzz", err, sizeof(err));
    if (!s)
        abort();
    if (data[0] & 1)
        vnc_server_set_password(s, "fuzz", err, sizeof(err));
    display_init(&d, NULL, NULL);
    display_set_mode(&d, 64, 48, 96 * 4, (const uint8_t *)fb);
    vnc_server_attach_display(s, &d);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (vnc_server_attach_client(s, sv[0]) < 0)
        abort();
    chunk = (size_t)(data[0] >> 1) + 1;
    while (off < size) {
        size_t k = size - off < chunk ? size - off : chunk;

        if (n < 8 && (data[1] >> n) & 1) {
            const unsigned *m = modes[(off + n) % 4];

            display_set_mode(&d, m[0], m[1], 96 * 4, (const uint8_t *)fb);
        }
        n++;
        drain(sv[1]);
        if (!vnc_client_feed(s, data + off, k))
            break;
        vnc_server_tick(s);
        off += k;
    }
    drain(sv[1]);
    vnc_server_free(s);
    close(sv[1]);
    return 0;
}
