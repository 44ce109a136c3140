/*
 * batch.h - the signed uplink batch (docs/PROTOCOL.md "Batch").
 *
 *   message  = [envelope: bstr, signature: bstr]
 *   envelope = deterministic CBOR map: version, device, store, first/last
 *              seq, the chain hash before the first record, the batch
 *              currency, compression, body, device certificate, sent_at
 *   body     = CBOR array of records in wire form (no seq, no prev: both
 *              follow from first_seq and the chain), zstd-compressed when
 *              that is smaller.
 * The receiver rebuilds each stored record from its wire form, so it can
 * recompute and check the hash chain record by record.
 */
#ifndef SL_BATCH_H
#define SL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "storelink.h"

#define SL_BATCH_VERSION 1
#define SL_BATCH_BODY_MAX ((size_t)16 << 20)   /* decompressed body cap */

typedef struct sl__batch_opts {
    const char *device;
    const char *store;
    size_t max_records;
    size_t max_bytes;          /* whole message */
    int compress;              /* try zstd */
    sl__key *key;              /* device key (signs) */
    const uint8_t *cert_der;   /* device certificate, sent along */
    size_t cert_len;
    int64_t now_ms;
    int retry;                 /* a dead-letter retry (docs/PROTOCOL.md "Dead letters") */
} sl__batch_opts;

/* Build a batch from the records with seq >= from_seq.  *out is a heap
 * buffer the caller frees; SL_ERR_NOT_FOUND when there is nothing to send. */
int sl__batch_build(sl_journal *j, uint64_t from_seq, const sl__batch_opts *o,
                    uint8_t **out, size_t *len, uint64_t *first, uint64_t *last,
                    size_t *nrecords_raw_bytes);

typedef struct sl__batch_in {
    char device[65];
    char store[65];
    uint64_t first, last;
    uint8_t prev[32];
    char currency[4];
    int compressed;
    int64_t sent_at;
    int retry;                 /* re-evaluate rejected records (key 12) */
    uint32_t epoch;            /* journal epoch (key 13; 0 = absent, epoch 1) */
    uint64_t epoch_from;       /* key 14: the old epoch's last verified seq */
    int has_epoch_base;        /* key 15 present: */
    uint64_t epoch_base;       /* records epoch_base+1..epoch_from were imported */
    const uint8_t *env;        /* borrowed from the message */
    size_t env_len;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *cert;
    size_t cert_len;
    uint8_t *body;             /* owned (decompressed copy) */
    size_t body_len;
} sl__batch_in;

/* Decode a batch message (no signature check yet).  On success free with
 * sl__batch_in_free().  SL_ERR_CORRUPT with a reason in why. */
int sl__batch_parse(const uint8_t *msg, size_t len, sl__batch_in *b, char *why, size_t whysz);
/* Check the certificate (issued by ca, CN == b->device) and the signature. */
int sl__batch_verify(const sl__batch_in *b, sl__ca *ca, char *why, size_t whysz);
void sl__batch_in_free(sl__batch_in *b);

/* Rebuild each record: fn gets its seq, the decoded event, the stored
 * bytes (valid during the call), and the chain hash before and after it.
 * Non-zero from fn stops the walk and is returned; SL_ERR_CORRUPT when the
 * body does not decode or holds a different number of records. */
typedef int (*sl__batch_rec_fn)(uint64_t seq, const sl_event *ev, const uint8_t *stored,
                                size_t stored_len, const uint8_t prev[32],
                                const uint8_t hash[32], void *ctx);
int sl__batch_records(const sl__batch_in *b, sl__batch_rec_fn fn, void *ctx);

#endif
