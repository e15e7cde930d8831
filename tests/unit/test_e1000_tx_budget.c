/* The e1000's transmit budget, in process on a socketpair "tap": one TDT
 * write sends at most E1000_TX_BUDGET_DESC descriptors (or, of large
 * frames, what E1000_TX_BUDGET_BYTES lets start), the loop's next
 * rounds send the rest, in ring order, with nothing lost or sent twice; a
 * stopped VM sends nothing more, and a state saved between two slices,
 * restored into a new NIC, sends the rest after the resume. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/core/bytes.h"
#include "dm/core/iobus.h"
#include "dm/core/loop.h"
#include "dm/core/pci.h"
#include "dm/core/vmstate.h"
#include "dm/devices/e1000-regs.h"
#include "dm/devices/e1000.h"
#include "dm/net/net.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/devstate.h"
#include "tests/lib/vmsection.h"

#define SLOT     3
#define SECTION  "e1000.3"
#define MMIO     0xe0000000u
#define RAM_SIZE (1u << 20)
#define TXRING   0x1000u
#define NDESC    256u                       /* TDLEN 4096 */
#define BUFS     0x10000u                   /* frame i at BUFS + i * its length */
#define FRAME    60
#define NFRAMES  (3 * E1000_TX_BUDGET_DESC + 7)
#define BIG      8192                       /* 32 of them fill the byte budget */
#define NBIG     40

static uint8_t ram[RAM_SIZE];
static struct fake_machine fm;
static struct loop *loop;
static struct e1000 *nic;
static int peer = -1;               /* the "tap" side */
static bool running = true;         /* what the board says */

static bool vm_running(void *opaque) { return running; }
static void wr(uint32_t off, uint32_t v) { io_write(&fm.m.bus, IO_MMIO, MMIO + off, v, 4); }

/* A NIC on a fresh machine over the same guest RAM (a restore keeps RAM). */
static void nic_up(void)
{
    static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
    struct net_backend *nb;
    char err[128];
    int sv[2];

    ck_assert_int_eq(devstate_machine(&fm), 0);
    fm.ram = ram;
    fm.ram_size = sizeof(ram);
    int sndbuf = 4 << 20;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    /* Room for a whole slice of large frames in flight (root may force it). */
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)), 0);
    peer = sv[1];
    nb = net_backend_new("net0", sv[0], loop, err, sizeof(err));
    ck_assert_msg(nb != NULL, "%s", err);
    nic = e1000_new(&fm.m.bus, fm.m.pci, &fm.acc, SLOT, mac, nb, vm_running, NULL);
    ck_assert_ptr_nonnull(nic);
    pci_config_write(fm.m.pci, SLOT, 0, 0x10, MMIO, 4);
    pci_config_write(fm.m.pci, SLOT, 0, 0x04, 0x06, 2);     /* memory, bus master */
}

static void nic_down(void)
{
    e1000_free(nic);
    nic = NULL;
    close(peer);
    peer = -1;
    devstate_machine_free(&fm);
}

static void setup(void)
{
    loop = loop_new();
    ck_assert_ptr_nonnull(loop);
    memset(ram, 0, sizeof(ram));
    running = true;
    nic_up();
}

static void teardown(void)
{
    nic_down();
    loop_free(loop);
    loop = NULL;
}

/* count one-descriptor frames of len bytes, frame i carrying i after the
 * addresses, each asking for its status (RS); the ring programmed, TDT not
 * yet. */
static void fill_ring_of(unsigned count, unsigned len)
{
    for (unsigned i = 0; i < count; i++) {
        uint8_t *f = ram + BUFS + len * i, *d = ram + TXRING + 16 * i;

        memset(f, 0xff, 6);
        memcpy(f + 6, "\x00\x16\x3e\x00\x00\x01", 6);
        put_be16(f + 12, 0x88b5);           /* local experimental ethertype */
        put_be16(f + 14, (uint16_t)i);
        put_le64(d, BUFS + len * i);
        put_le32(d + 8, len | TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS);
        put_le32(d + 12, 0);
    }
    wr(E1K_TDBAL, TXRING);
    wr(E1K_TDBAH, 0);
    wr(E1K_TDLEN, NDESC * 16);
    wr(E1K_TDH, 0);
    wr(E1K_TDT, 0);
    wr(E1K_TCTL, TCTL_EN);
}

static void fill_ring(void) { fill_ring_of(NFRAMES, FRAME); }

/* The frames of len bytes on the tap now, each checked to be the next in
 * ring order; returns how many. */
static unsigned take_of(unsigned *next, unsigned len)
{
    static uint8_t buf[16384];
    unsigned n = 0;
    ssize_t r;

    while ((r = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
        ck_assert_int_eq(r, len);
        ck_assert_uint_eq(get_be16(buf + 14), *next);
        (*next)++;
        n++;
    }
    return n;
}

static unsigned take(unsigned *next) { return take_of(next, FRAME); }

static unsigned done_descriptors_of(unsigned count)
{
    unsigned n = 0;

    for (unsigned i = 0; i < count; i++)
        n += ram[TXRING + 16 * i + 12] & TXD_STAT_DD;
    return n;
}

static unsigned done_descriptors(void) { return done_descriptors_of(NFRAMES); }

START_TEST(one_kick_one_budget_then_the_rest_in_order)
{
    unsigned next = 0, rounds = 0;

    fill_ring();
    wr(E1K_TDT, NFRAMES);
    ck_assert_uint_eq(take(&next), E1000_TX_BUDGET_DESC);
    ck_assert_uint_eq(e1000_state(nic)->tdh, E1000_TX_BUDGET_DESC);
    ck_assert_uint_eq(done_descriptors(), E1000_TX_BUDGET_DESC);
    /* Each round one more slice. A round with a slice owed must not block
     * (loop_run waits with -1): if it did, libcheck's timeout says so. */
    while (next < NFRAMES && rounds++ < 2 * NFRAMES) {
        ck_assert_int_ge(loop_once(loop, -1), 0);
        ck_assert_uint_le(take(&next), E1000_TX_BUDGET_DESC);
    }
    ck_assert_uint_eq(next, NFRAMES);
    ck_assert_uint_eq(rounds, (NFRAMES + E1000_TX_BUDGET_DESC - 1) / E1000_TX_BUDGET_DESC - 1);
    ck_assert_uint_eq(e1000_state(nic)->tdh, NFRAMES);
    ck_assert_uint_eq(done_descriptors(), NFRAMES);
    ck_assert(e1000_state(nic)->icr & ICR_TXQE);
    /* Nothing owed: another round sends nothing. */
    ck_assert_int_ge(loop_once(loop, 0), 0);
    ck_assert_uint_eq(take(&next), 0);
}
END_TEST

/* Large frames: the byte budget ends the slice before the descriptor one. */
START_TEST(byte_budget)
{
    unsigned next = 0, per_slice = (E1000_TX_BUDGET_BYTES + BIG - 1) / BIG, rounds = 0;

    ck_assert_uint_lt(per_slice, E1000_TX_BUDGET_DESC);
    fill_ring_of(NBIG, BIG);
    wr(E1K_TDT, NBIG);
    ck_assert_uint_eq(take_of(&next, BIG), per_slice);
    ck_assert_uint_eq(e1000_state(nic)->tdh, per_slice);
    while (next < NBIG && rounds++ < 2 * NBIG) {
        ck_assert_int_ge(loop_once(loop, 0), 0);
        ck_assert_uint_le(take_of(&next, BIG), per_slice);
    }
    ck_assert_uint_eq(next, NBIG);
    ck_assert_uint_eq(done_descriptors_of(NBIG), NBIG);
}
END_TEST

START_TEST(stop_save_restore_between_slices)
{
    static struct e1000_state staging;
    uint8_t buf[VMSTATE_MAX_SECTION];
    const struct vmstate_dev *d;
    unsigned next = 0, rounds = 0;
    char err[256] = "";
    size_t len;

    fill_ring();
    wr(E1K_TDT, NFRAMES);
    ck_assert_uint_eq(take(&next), E1000_TX_BUDGET_DESC);
    /* Stopped: the owed slice must not touch memory or state. */
    running = false;
    ck_assert_int_ge(loop_once(loop, 0), 0);
    ck_assert_int_ge(loop_once(loop, 0), 0);
    ck_assert_uint_eq(take(&next), 0);
    ck_assert_uint_eq(e1000_state(nic)->tdh, E1000_TX_BUDGET_DESC);
    len = vmsection_save(SECTION, buf, sizeof(buf));
    ck_assert_uint_gt(len, 0);

    /* A new DM: the same RAM, the section loaded, then resumed. */
    nic_down();
    nic_up();
    d = vmstate_find(SECTION);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(vmsection_load(SECTION, buf, len, &staging, err, sizeof(err)), 0);
    memcpy(d->state, &staging, sizeof(staging));
    d->post_load(d->opaque);
    ck_assert_int_ge(loop_once(loop, 0), 0);
    ck_assert_uint_eq(take(&next), 0);      /* still stopped */
    running = true;
    e1000_resume(nic);
    while (next < NFRAMES && rounds++ < 2 * NFRAMES) {
        ck_assert_int_ge(loop_once(loop, 0), 0);
        ck_assert_uint_le(take(&next), E1000_TX_BUDGET_DESC);
    }
    ck_assert_uint_eq(next, NFRAMES);
    ck_assert_uint_eq(e1000_state(nic)->tdh, NFRAMES);
    ck_assert_uint_eq(done_descriptors(), NFRAMES);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e1000_tx_budget");
    TCase *tc = tcase_create("tx");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, one_kick_one_budget_then_the_rest_in_order);
    tcase_add_test(tc, byte_budget);
    tcase_add_test(tc, stop_save_restore_between_slices);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
