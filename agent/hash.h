/* hash.h - SHA-256 for the hash chain and idempotency checks (mbedtls). */
#ifndef SL_HASH_H
#define SL_HASH_H

#include <stddef.h>
#include <stdint.h>

void sl__sha256(const void *data, size_t len, uint8_t out[32]);

#endif
