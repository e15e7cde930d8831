/* What the libFuzzer targets share: little-endian fields read from an input
 * (short at its end: the missing bytes read 0), and seed inputs built the
 * same way and written into a corpus directory (FUZZ_*_WRITE_SEED). No
 * libFuzzer or libcheck here. */
#ifndef XSDM_TEST_FUZZINPUT_H
#define XSDM_TEST_FUZZINPUT_H

#include <stddef.h>
#include <stdint.h>

/* The next n (<= 8) bytes at *p as a little-endian value; *p advances. */
uint64_t fuzz_get(const uint8_t **p, const uint8_t *end, unsigned n);

/* A guest RAM write of 8 bytes (an op of fuzz_devices and fuzz_ioreq): its
 * address the next 3 bytes masked to size - 1 (size a power of two), then the
 * value, 8 bytes little-endian; what passes the end of RAM is dropped. */
void fuzz_ram_write(uint8_t *ram, size_t size, const uint8_t **p, const uint8_t *end);

struct fuzz_seed {
    uint8_t b[512];
    size_t n;
};

/* Append the n low bytes of v, little-endian (silently cut at 512 bytes). */
void fuzz_seed_put(struct fuzz_seed *s, uint64_t v, unsigned n);
/* Write s as dir/name; aborts if it cannot (a seed run must not half-work). */
void fuzz_seed_save(const char *dir, const char *name, const struct fuzz_seed *s);

#endif
