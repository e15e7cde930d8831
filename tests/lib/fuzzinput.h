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

struct fuzz_seed {
    uint8_t b[512];
    size_t n;
};

/* Append the n low bytes of v, little-endian (silently cut at 512 bytes). */
void fuzz_seed_put(struct fuzz_seed *s, uint64_t v, unsigned n);
/* Write s as dir/name; aborts if it cannot (a seed run must not half-work). */
void fuzz_seed_save(const char *dir, const char *name, const struct fuzz_seed *s);

#endif
