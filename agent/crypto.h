/*
 * crypto.h - device and catalog keys, signatures and certificate checks
 * with mbedtls (docs/PROTOCOL.md "Signatures").  ECDSA P-256 over SHA-256,
 * DER-encoded signatures.  libmosquitto does its own TLS through OpenSSL;
 * these are storelink's application-level signatures.
 */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SL_SIG_MAX 80        /* DER ECDSA P-256 signature, at most 72 bytes */

typedef struct sl__key sl__key;   /* a private key */
typedef struct sl__pub sl__pub;   /* a public key */
typedef struct sl__ca sl__ca;     /* trusted CA certificates */

/* Generate a P-256 key and write it as PEM with mode 0600; an existing file
 * is SL_ERR_CONFLICT (keys are never overwritten). */
int sl__key_generate(const char *path);
int sl__key_load(sl__key **out, const char *path);
void sl__key_free(sl__key *k);
/* Sign SHA-256(data) with the key. */
int sl__key_sign(sl__key *k, const void *data, size_t len, uint8_t *sig, size_t cap,
                 size_t *siglen);
/* PEM CSR for subject (e.g. "CN=dev-1,O=store-1") into pem (NUL-terminated). */
int sl__key_csr(sl__key *k, const char *subject, char *pem, size_t cap);
/* Write the public half as PEM. */
int sl__key_write_pub(sl__key *k, const char *path);

int sl__pub_load(sl__pub **out, const char *path);
void sl__pub_free(sl__pub *p);
/* SL_OK when sig is a valid signature of data, SL_ERR_CRYPTO otherwise. */
int sl__pub_verify(sl__pub *p, const void *data, size_t len, const uint8_t *sig, size_t siglen);

int sl__ca_load(sl__ca **out, const char *path);
void sl__ca_free(sl__ca *ca);
/* Check that cert (DER) was issued by ca, is valid now, has CN == cn, and
 * that sig is its key's signature of data.  On failure SL_ERR_CRYPTO with a
 * plain reason in why. */
int sl__cert_check_sig(sl__ca *ca, const uint8_t *der, size_t derlen, const char *cn,
                       const void *data, size_t len, const uint8_t *sig, size_t siglen,
                       char *why, size_t whysz);
/* Validity window of a certificate file, Unix ms UTC. */
int sl__cert_file_validity(const char *path, int64_t *not_before_ms, int64_t *not_after_ms);
/* Read a PEM or DER certificate file as DER (heap, caller frees). */
int sl__cert_file_der(const char *path, uint8_t **der, size_t *len);

#endif
