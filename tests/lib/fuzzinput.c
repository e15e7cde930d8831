/* Input fields and seed files of the libFuzzer targets (tests/lib/fuzzinput.h). */
#include "tests/lib/fuzzinput.h"

#include <stdio.h>
#include <stdlib.h>

uint64_t fuzz_get(const uint8_t **p, const uint8_t *end, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n && i < 8 && *p < end; i++)
        v |= (uint64_t)*(*p)++ << (8 * i);
    return v;
}

void fuzz_ram_write(uint8_t *ram, size_t size, const uint8_t **p, const uint8_t *end)
{
    size_t a = (size_t)fuzz_get(p, end, 3) & (size - 1);
    uint64_t v = fuzz_get(p, end, 8);

    for (unsigned i = 0; i < 8 && a + i < size; i++)
        ram[a + i] = (uint8_t)(v >> (8 * i));
}

void fuzz_seed_put(struct fuzz_seed *s, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n && i < 8 && s->n < sizeof(s->b); i++)
        s->b[s->n++] = (uint8_t)(v >> (8 * i));
}

void fuzz_seed_save(const char *dir, const char *name, const struct fuzz_seed *s)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(s->b, 1, s->n, f) != s->n)
        abort();
    fclose(f);
}
