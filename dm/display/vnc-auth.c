/* VNC authentication (RFC 6143 §7.2.2): a 16-byte random challenge that the
 * client encrypts with DES in ECB mode, keyed by the password. DES and the
 * random generator are nettle's; nothing here implements a cipher.
 *
 * VNC's quirk: each key byte is the password byte with its bits reversed
 * (the original code fed DES its key LSB-first). The random generator is
 * Yarrow-256 seeded from getrandom() once, before restriction: the seccomp
 * allowlist has no getrandom. */
#include "dm/display/vnc-int.h"

#include <errno.h>
#include <nettle/des.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define SEED_LEN 32

int vnc_auth_init(struct vnc_auth *a, char *err, size_t errlen)
{
    uint8_t seed[SEED_LEN];
    ssize_t r;

    memset(a, 0, sizeof(*a));
    r = getrandom(seed, sizeof(seed), 0);
    if (r != (ssize_t)sizeof(seed)) {
        snprintf(err, errlen, "vnc: getrandom: %s", r < 0 ? strerror(errno) : "short read");
        return -1;
    }
    yarrow256_init(&a->rng, 0, NULL);
    yarrow256_seed(&a->rng, sizeof(seed), seed);
    memset(seed, 0, sizeof(seed));
    return 0;
}

static uint8_t reverse_bits(uint8_t b)
{
    uint8_t r = 0;
    int i;

    for (i = 0; i < 8; i++)
        if (b & (1u << i))
            r |= (uint8_t)(0x80u >> i);
    return r;
}

void vnc_auth_set_password(struct vnc_auth *a, const char *password)
{
    size_t i, n = strlen(password);

    memset(a->key, 0, sizeof(a->key));
    for (i = 0; i < VNC_PASSWORD_LEN && i < n; i++)
        a->key[i] = reverse_bits((uint8_t)password[i]);
    /* An empty password would let anyone in with an all-zero key: as QEMU,
     * authentication stays refused until a non-empty one is set. */
    a->have_password = n > 0;
}

void vnc_auth_challenge(struct vnc_auth *a, uint8_t challenge[RFB_CHALLENGE_LEN])
{
    yarrow256_random(&a->rng, RFB_CHALLENGE_LEN, challenge);
}

bool vnc_auth_check(const struct vnc_auth *a, const uint8_t challenge[RFB_CHALLENGE_LEN],
                    const uint8_t response[RFB_CHALLENGE_LEN])
{
    struct des_ctx des;
    uint8_t expect[RFB_CHALLENGE_LEN];
    bool ok;

    if (!a->have_password)
        return false;
    /* The return value only flags DES's weak keys; the schedule is set
     * either way, and a password is what the administrator chose. */
    (void)des_set_key(&des, a->key);
    des_encrypt(&des, RFB_CHALLENGE_LEN, expect, challenge);   /* ECB: two blocks */
    ok = memeql_sec(expect, response, RFB_CHALLENGE_LEN);
    memset(&des, 0, sizeof(des));
    return ok;
}
