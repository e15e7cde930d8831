/* The NIC fuzzers' shared harness (see nicfuzz.h). */
#include "tests/lib/nicfuzz.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/board/machine.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/net/net.h"

const uint8_t nicfuzz_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

void nicfuzz_init(struct nicfuzz *h, const char *seed_env, void (*write_seeds)(const char *dir))
{
    const char *dir = getenv(seed_env);

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    h->loop = loop_new();
    h->peer = -1;
    if (!h->loop)
        abort();
}

void nicfuzz_begin(struct nicfuzz *h)
{
    char err[128];
    int sv[2];

    fake_machine_init(&h->fm, h->ram, sizeof(h->ram));
    memset(h->ram, 0, sizeof(h->ram));
    h->fm.m.loop = h->loop;
    h->fm.m.state = RUN_RUNNING;
    h->fm.m.pci = pci_bus_new(&h->fm.m.bus, machine_pci_intx(&h->fm.m), (struct irq_line){ 0 });
    if (!h->fm.m.pci || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    h->peer = sv[1];
    h->nb = net_backend_new("net0", sv[0], h->loop, err, sizeof(err));
    if (!h->nb)
        abort();
}

void nicfuzz_enable(struct nicfuzz *h, uint32_t bar0, uint32_t bar1)
{
    pci_config_write(h->fm.m.pci, NICFUZZ_SLOT, 0, 0x10, bar0, 4);
    pci_config_write(h->fm.m.pci, NICFUZZ_SLOT, 0, 0x14, bar1, 4);
    pci_config_write(h->fm.m.pci, NICFUZZ_SLOT, 0, 0x04, 0x07, 2);
}

void nicfuzz_end(struct nicfuzz *h)
{
    close(h->peer);
    h->peer = -1;
    h->nb = NULL;
    pci_bus_free(h->fm.m.pci);
    vmstate_unregister_all();
}

uint64_t nicfuzz_get(const uint8_t **p, const uint8_t *end, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n && *p < end; i++)
        v |= (uint64_t)*(*p)++ << (8 * i);
    return v;
}

void nicfuzz_ram_write(struct nicfuzz *h, const uint8_t **p, const uint8_t *end)
{
    uint32_t at = (uint32_t)nicfuzz_get(p, end, 2) << 4;
    size_t len = (size_t)nicfuzz_get(p, end, 1);

    if (len > (size_t)(end - *p))
        len = (size_t)(end - *p);
    if (at + len <= sizeof(h->ram))
        memcpy(h->ram + at, *p, len);
    *p += len;
}

void nicfuzz_frame(struct nicfuzz *h, const uint8_t **p, const uint8_t *end, size_t cap, bool vlan)
{
    static const uint8_t dsts[4][6] = {
        { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, { 0x02, 0x00, 0x00, 0x00, 0x00, 0x09 },
    };
    static uint8_t frame[4096];
    unsigned kind = (unsigned)nicfuzz_get(p, end, 1);
    size_t len = (size_t)nicfuzz_get(p, end, 2) % (cap < sizeof(frame) ? cap : sizeof(frame));
    uint8_t pat = (uint8_t)nicfuzz_get(p, end, 1);

    for (size_t i = 0; i < len; i++)
        frame[i] = (uint8_t)(pat + i * (kind | 1));
    if (len >= 6)
        memcpy(frame, dsts[kind & 3], 6);
    if (vlan && len >= 16 && (kind & 4)) {
        frame[12] = 0x81;           /* VLAN tagged */
        frame[13] = 0x00;
    }
    if (send(h->peer, frame, len, MSG_DONTWAIT) >= 0)
        loop_once(h->loop, 0);
}

void nicfuzz_pci_write(struct nicfuzz *h, const uint8_t **p, const uint8_t *end)
{
    unsigned reg = (unsigned)nicfuzz_get(p, end, 1) & 0xfc;

    pci_config_write(h->fm.m.pci, NICFUZZ_SLOT, 0, reg, (uint32_t)nicfuzz_get(p, end, 4), 4);
}

void nicfuzz_drain(struct nicfuzz *h)
{
    static uint8_t buf[NET_FRAME_MAX + 16];
    ssize_t r;

    while ((r = recv(h->peer, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) >= 0)
        if (r > NET_FRAME_MAX)
            abort();
}

static const struct vmstate_dev *section(const char *name, void **staging)
{
    const struct vmstate_dev *d = vmstate_find(name);

    if (!d || !(*staging = malloc(d->state_size)))
        abort();
    memcpy(*staging, d->state, d->state_size);
    return d;
}

void nicfuzz_check_roundtrip(const char *name)
{
    static uint8_t buf[VMSTATE_MAX_SECTION];
    struct vmwriter w = { buf, 0, sizeof(buf), false };
    void *staging;
    const struct vmstate_dev *d = section(name, &staging);
    struct vmreader r;
    char err[128];

    vmstate_save(d, &w);
    r = (struct vmreader){ buf, w.len, 0, false };
    if (w.err || vmstate_load(d, staging, &r, err, sizeof(err)) < 0 || r.off != w.len)
        abort();
    free(staging);
}

const uint8_t *nicfuzz_load_section(const char *name, const uint8_t *p, const uint8_t *end, size_t max)
{
    void *staging;
    const struct vmstate_dev *d = section(name, &staging);
    size_t len = (size_t)(end - p) < max ? (size_t)(end - p) : max;
    struct vmreader r = { p, len, 0, false };
    char err[128];

    if (vmstate_load(d, staging, &r, err, sizeof(err)) == 0) {
        memcpy(d->state, staging, d->state_size);
        d->post_load(d->opaque);
    }
    free(staging);
    return p + r.off;
}

FILE *nicfuzz_seed_open(const char *dir, const char *name)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")))
        exit(1);
    return f;
}

void nicfuzz_put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }
