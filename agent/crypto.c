/* mbedtls wrappers: mbedtls error codes are translated here only. */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hash.h"
#include "timeparse.h"
#include "platform.h"
#include "storelink.h"

struct sl__key { mbedtls_pk_context pk; };
struct sl__pub { mbedtls_pk_context pk; };
/* Certificates this CA has already vouched for: every batch of a device
 * carries the same certificate, and checking its chain costs as much as
 * checking the batch's own signature.  An entry is trusted for at most an
 * hour and never past the certificate's own expiry. */
#define CERT_CACHE 64
#define CERT_CACHE_MS (3600 * 1000LL)
struct cert_seen {
    uint8_t der_hash[32];
    char cn[65];
    int64_t until_ms;
};
struct sl__ca {
    mbedtls_x509_crt crt;
    struct cert_seen seen[CERT_CACHE];
    unsigned next;
};

static int64_t x509_ms(const mbedtls_x509_time *t);

/* One DRBG per process, seeded from the kernel on first use. */
static mbedtls_ctr_drbg_context drbg;
static int drbg_ready;

static int rng_entropy(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return sl_plat_random(out, len) == SL_OK ? 0 : -1;
}

static int rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    if (!drbg_ready) {
        mbedtls_ctr_drbg_init(&drbg);
        if (mbedtls_ctr_drbg_seed(&drbg, rng_entropy, NULL,
                                  (const unsigned char *)"storelink", 9) != 0)
            return -1;
        drbg_ready = 1;
    }
    return mbedtls_ctr_drbg_random(&drbg, out, len);
}

int sl__key_generate(const char *path)
{
    mbedtls_pk_context pk;
    unsigned char pem[1024];
    int rc = SL_ERR_CRYPTO;
    if (sl_plat_exists(path))
        return SL_ERR_CONFLICT;
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), rng, NULL) != 0 ||
        mbedtls_pk_write_key_pem(&pk, pem, sizeof pem) != 0)
        goto out;
    rc = sl_plat_write_file(path, pem, strlen((char *)pem), 0600, 1);
out:
    mbedtls_platform_zeroize(pem, sizeof pem);
    mbedtls_pk_free(&pk);
    return rc;
}

int sl__key_load(sl__key **out, const char *path)
{
    if (!sl_plat_exists(path))
        return SL_ERR_NOT_FOUND;
    sl__key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return SL_ERR_NOMEM;
    mbedtls_pk_init(&k->pk);
#if MBEDTLS_VERSION_MAJOR >= 3
    int rc = mbedtls_pk_parse_keyfile(&k->pk, path, NULL, rng, NULL);
#else
    int rc = mbedtls_pk_parse_keyfile(&k->pk, path, NULL);
#endif
    if (rc != 0 || !mbedtls_pk_can_do(&k->pk, MBEDTLS_PK_ECDSA)) {
        sl__key_free(k);
        return SL_ERR_CRYPTO;
    }
    *out = k;
    return SL_OK;
}

void sl__key_free(sl__key *k)
{
    if (k == NULL)
        return;
    mbedtls_pk_free(&k->pk);
    free(k);
}

int sl__key_sign(sl__key *k, const void *data, size_t len, uint8_t *sig, size_t cap,
                 size_t *siglen)
{
    uint8_t h[32];
    sl__sha256(data, len, h);
    if (cap < MBEDTLS_ECDSA_MAX_LEN && cap < SL_SIG_MAX)
        return SL_ERR_TOO_LARGE;
#if MBEDTLS_VERSION_MAJOR >= 3
    int rc = mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, h, 32, sig, cap, siglen, rng, NULL);
#else
    int rc = mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, h, 32, sig, siglen, rng, NULL);
#endif
    return rc == 0 ? SL_OK : SL_ERR_CRYPTO;
}

int sl__key_csr(sl__key *k, const char *subject, char *pem, size_t cap)
{
    mbedtls_x509write_csr csr;
    mbedtls_x509write_csr_init(&csr);
    mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
    mbedtls_x509write_csr_set_key(&csr, &k->pk);
    int rc = mbedtls_x509write_csr_set_subject_name(&csr, subject);
    if (rc == 0)
        rc = mbedtls_x509write_csr_pem(&csr, (unsigned char *)pem, cap, rng, NULL);
    mbedtls_x509write_csr_free(&csr);
    return rc == 0 ? SL_OK : SL_ERR_CRYPTO;
}

int sl__key_write_pub(sl__key *k, const char *path)
{
    unsigned char pem[512];
    if (mbedtls_pk_write_pubkey_pem(&k->pk, pem, sizeof pem) != 0)
        return SL_ERR_CRYPTO;
    return sl_plat_write_file(path, pem, strlen((char *)pem), 0644, 0);
}

int sl__pub_load(sl__pub **out, const char *path)
{
    if (!sl_plat_exists(path))
        return SL_ERR_NOT_FOUND;
    sl__pub *p = calloc(1, sizeof *p);
    if (p == NULL)
        return SL_ERR_NOMEM;
    mbedtls_pk_init(&p->pk);
    if (mbedtls_pk_parse_public_keyfile(&p->pk, path) != 0 ||
        !mbedtls_pk_can_do(&p->pk, MBEDTLS_PK_ECDSA)) {
        sl__pub_free(p);
        return SL_ERR_CRYPTO;
    }
    *out = p;
    return SL_OK;
}

void sl__pub_free(sl__pub *p)
{
    if (p == NULL)
        return;
    mbedtls_pk_free(&p->pk);
    free(p);
}

int sl__pub_verify(sl__pub *p, const void *data, size_t len, const uint8_t *sig, size_t siglen)
{
    uint8_t h[32];
    sl__sha256(data, len, h);
    return mbedtls_pk_verify(&p->pk, MBEDTLS_MD_SHA256, h, 32, sig, siglen) == 0
               ? SL_OK : SL_ERR_CRYPTO;
}

int sl__ca_load(sl__ca **out, const char *path)
{
    if (!sl_plat_exists(path))
        return SL_ERR_NOT_FOUND;
    sl__ca *ca = calloc(1, sizeof *ca);
    if (ca == NULL)
        return SL_ERR_NOMEM;
    mbedtls_x509_crt_init(&ca->crt);
    if (mbedtls_x509_crt_parse_file(&ca->crt, path) != 0) {
        sl__ca_free(ca);
        return SL_ERR_CRYPTO;
    }
    *out = ca;
    return SL_OK;
}

void sl__ca_free(sl__ca *ca)
{
    if (ca == NULL)
        return;
    mbedtls_x509_crt_free(&ca->crt);
    free(ca);
}

int sl__cert_check_sig(sl__ca *ca, const uint8_t *der, size_t derlen, const char *cn,
                       const void *data, size_t len, const uint8_t *sig, size_t siglen,
                       char *why, size_t whysz)
{
    mbedtls_x509_crt crt;
    uint32_t flags = 0;
    int rc = SL_ERR_CRYPTO;
    uint8_t dh[32];
    int64_t now = sl_plat_now_ms();
    struct cert_seen *hit = NULL;
    sl__sha256(der, derlen, dh);
    for (unsigned i = 0; i < CERT_CACHE; i++)
        if (ca->seen[i].until_ms > now && memcmp(ca->seen[i].der_hash, dh, 32) == 0 &&
            strcmp(ca->seen[i].cn, cn) == 0)
            hit = &ca->seen[i];
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_der(&crt, der, derlen) != 0) {
        snprintf(why, whysz, "device certificate does not parse");
        goto out;
    }
    if (hit == NULL && mbedtls_x509_crt_verify(&crt, &ca->crt, NULL, cn, &flags, NULL, NULL) != 0) {
        if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
            snprintf(why, whysz, "certificate CN is not %s", cn);
        else if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
            snprintf(why, whysz, "device certificate expired");
        else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
            snprintf(why, whysz, "device certificate not yet valid");
        else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
            snprintf(why, whysz, "device certificate not issued by the store CA");
        else
            snprintf(why, whysz, "device certificate rejected (flags 0x%x)", (unsigned)flags);
        goto out;
    }
    /* a device signs with its client certificate: a server or CA
     * certificate with the right CN must not pass as one */
    if (mbedtls_x509_crt_check_extended_key_usage(&crt, MBEDTLS_OID_CLIENT_AUTH,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0) {
        snprintf(why, whysz, "device certificate is not a client (clientAuth) certificate");
        goto out;
    }
    if (hit == NULL) {
        struct cert_seen *e = &ca->seen[ca->next++ % CERT_CACHE];
        int64_t until = now + CERT_CACHE_MS, exp = x509_ms(&crt.valid_to);
        memcpy(e->der_hash, dh, 32);
        snprintf(e->cn, sizeof e->cn, "%s", cn);
        e->until_ms = until < exp ? until : exp;
    }
    uint8_t h[32];
    sl__sha256(data, len, h);
    if (mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, h, 32, sig, siglen) != 0) {
        snprintf(why, whysz, "signature does not match the device certificate");
        goto out;
    }
    rc = SL_OK;
out:
    mbedtls_x509_crt_free(&crt);
    return rc;
}

int sl__cert_file_der(const char *path, uint8_t **der, size_t *len)
{
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    if (!sl_plat_exists(path))
        return SL_ERR_NOT_FOUND;
    if (mbedtls_x509_crt_parse_file(&crt, path) != 0) {
        mbedtls_x509_crt_free(&crt);
        return SL_ERR_CRYPTO;
    }
    *der = malloc(crt.raw.len);
    if (*der == NULL) {
        mbedtls_x509_crt_free(&crt);
        return SL_ERR_NOMEM;
    }
    memcpy(*der, crt.raw.p, crt.raw.len);
    *len = crt.raw.len;
    mbedtls_x509_crt_free(&crt);
    return SL_OK;
}


static int64_t x509_ms(const mbedtls_x509_time *t)
{
    return ((sl__days_from_civil(t->year, t->mon, t->day) * 24 + t->hour) * 60 + t->min) * 60000 +
           (int64_t)t->sec * 1000;
}

int sl__cert_file_validity(const char *path, int64_t *not_before_ms, int64_t *not_after_ms)
{
    mbedtls_x509_crt crt;
    if (!sl_plat_exists(path))
        return SL_ERR_NOT_FOUND;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_file(&crt, path) != 0) {
        mbedtls_x509_crt_free(&crt);
        return SL_ERR_CRYPTO;
    }
    *not_before_ms = x509_ms(&crt.valid_from);
    *not_after_ms = x509_ms(&crt.valid_to);
    mbedtls_x509_crt_free(&crt);
    return SL_OK;
}
