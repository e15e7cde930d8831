/* What the NIC fuzzers (tests/fuzz/fuzz_e1000.c, fuzz_rtl8139.c) share: a
 * bare fake machine with 1 MiB of RAM and a PCI bus, a datagram socketpair
 * as the NIC's "tap", the input-reading ops both have (little-endian
 * values, RAM writes, frames from the tap), the state-section checks
 * (save always loads back; a section from the input becomes live only if
 * the loader accepts it), and the seed-writing helpers. Anything wrong
 * aborts (libFuzzer reports it); no libcheck here. */
#ifndef XSDM_TEST_NICFUZZ_H
#define XSDM_TEST_NICFUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/lib/fakemachine.h"

#define NICFUZZ_RAM_SIZE (1u << 20)
#define NICFUZZ_SLOT     3

struct net_backend;

struct nicfuzz {
    struct fake_machine fm;
    uint8_t ram[NICFUZZ_RAM_SIZE];
    struct loop *loop;          /* made once, kept across inputs */
    struct net_backend *nb;     /* this input's backend: the NIC owns it */
    int peer;                   /* the "tap" end of the socketpair */
};

extern const uint8_t nicfuzz_mac[6];

/* Once, from LLVMFuzzerInitialize: with the environment variable seed_env
 * set to a directory, write_seeds(it) and exit; otherwise the loop. */
void nicfuzz_init(struct nicfuzz *h, const char *seed_env, void (*write_seeds)(const char *dir));
/* Each input: RAM zeroed, a running machine with a PCI bus, a fresh
 * backend in h->nb for the NIC the caller builds in NICFUZZ_SLOT. */
void nicfuzz_begin(struct nicfuzz *h);
/* The NIC built: BAR0 and BAR1 at bar0/bar1, I/O, memory and bus master on. */
void nicfuzz_enable(struct nicfuzz *h, uint32_t bar0, uint32_t bar1);
/* Each input, after the NIC is freed: the tap closed, the bus and every
 * state section gone. */
void nicfuzz_end(struct nicfuzz *h);

/* Up to n input bytes as a little-endian value (0 past the end). */
uint64_t nicfuzz_get(const uint8_t **p, const uint8_t *end, unsigned n);
/* RAM write op: offset (x16, u16), length (u8), the bytes. */
void nicfuzz_ram_write(struct nicfuzz *h, const uint8_t **p, const uint8_t *end);
/* Frame op: destination kind (ours, broadcast, multicast, another; bit 2
 * with vlan: tagged), length (u16, modulo cap <= 4096), pattern; sent from
 * the tap and the loop run once. */
void nicfuzz_frame(struct nicfuzz *h, const uint8_t **p, const uint8_t *end, size_t cap, bool vlan);
/* PCI config write op: register (u8, dword-aligned), value (u32). */
void nicfuzz_pci_write(struct nicfuzz *h, const uint8_t **p, const uint8_t *end);
/* Every frame the NIC sent read from the tap; one over NET_FRAME_MAX aborts. */
void nicfuzz_drain(struct nicfuzz *h);
/* Section `name` saved now must load back into a staging copy, whole. */
void nicfuzz_check_roundtrip(const char *name);
/* Up to max input bytes loaded as section `name`: when the loader takes
 * them they become the live state and its post_load runs. Returns where
 * the loader stopped. */
const uint8_t *nicfuzz_load_section(const char *name, const uint8_t *p, const uint8_t *end, size_t max);

/* Seeds: dir/name opened for writing (exits on failure), bytes written. */
FILE *nicfuzz_seed_open(const char *dir, const char *name);
void nicfuzz_put(FILE *f, const void *p, size_t n);

#endif
