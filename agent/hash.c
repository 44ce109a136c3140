/* SHA-256 through mbedtls; 2.28 calls it *_ret, 3.x dropped the suffix. */
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdio.h>

#include "hash.h"
#include "storelink.h"

void sl__sha256(const void *data, size_t len, uint8_t out[32])
{
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256(data, len, out, 0);
#else
    mbedtls_sha256_ret(data, len, out, 0);
#endif
}

void sl_hash_hex(const uint8_t hash[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[hash[i] >> 4];
        out[2 * i + 1] = hx[hash[i] & 15];
    }
    out[64] = '\0';
}
