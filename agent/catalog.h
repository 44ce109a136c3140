/*
 * catalog.h - the device's offline copy of prices and stock (docs/PROTOCOL.md
 * "Catalog"; messages in catmsg.h).  The daemon applies signed updates from
 * the hub; `storelink price` / `storelink stock` and POS applications look
 * prices and stock up without any network.
 *
 * Storage: one LMDB environment in <state_dir>/catalog, separate from the
 * journal (a catalog snapshot never competes with sales for the journal's
 * map or its writer lock), created on the first write, default durable
 * commits, map grown on MDB_MAP_FULL up to SL_CATALOG_MAX_MB.
 */
#ifndef SL_CATALOG_H
#define SL_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "catmsg.h"
#include "crypto.h"
#include "storelink.h"

/* ==== internal: the daemon's side ======================================== */

#define SL_CATALOG_MAX_MB 1024u   /* default cap of the catalog's map */

/* Open the catalog for applying updates for store store_id (the configured
 * store_id).  Nothing is created until the first write.  max_mb caps the
 * map (0 = SL_CATALOG_MAX_MB).  The handle also serves look-ups. */
int sl__catalog_open_rw(sl_catalog **out, const char *state_dir, const char *store_id,
                        uint64_t max_mb);

typedef enum sl__cat_outcome {
    SL_CAT_APPLIED = 0,        /* stored: held version is now the message's */
    SL_CAT_STALE = 1,          /* version <= held: ignored (re-delivery) */
    SL_CAT_REJECTED = 2,       /* bad structure / signature, expired, other store */
    SL_CAT_NEED_SNAPSHOT = 3,  /* delta that does not apply on what is held:
                                  publish a catalog-request (type, scope,
                                  held_version) */
} sl__cat_outcome;

typedef struct sl__cat_result {
    sl__cat_outcome outcome;
    int type;                      /* of the message, 0 if it did not parse */
    int kind;
    char scope[SL_CAT_ID_MAX + 1];
    uint64_t version;              /* of the message */
    uint64_t held_version;         /* held for (type, scope) after the call */
    size_t n_items;
    uint64_t watermark;            /* stock applied: device_id's watermark */
    char reason[256];              /* rejected / need snapshot: plain words */
} sl__cat_result;

/*
 * Apply one catalog-msg received from the hub.  pub is the catalog public
 * key (catalog_pubkey); now_ms the wall clock (expiry, received_at);
 * device_id this device (reported watermark).  The message is borrowed for
 * the call only.  Returns SL_OK when the message was dealt with, whatever
 * out->outcome says; a storage error (SL_ERR_IO, SL_ERR_FULL, ...) when the
 * local store failed, and then nothing of the message was applied (it may
 * be offered again).  Rejections and stale deliveries are counted durably
 * (sl__catalog_stats_get).  Never trusts msg: any byte string is safe.
 */
int sl__catalog_apply(sl_catalog *cat, sl__pub *pub, int64_t now_ms, const char *device_id,
                      const uint8_t *msg, size_t len, sl__cat_result *out);

typedef struct sl__catalog_stats {
    uint64_t applied, stale, rejected, gaps;
    int64_t last_reject_ms;        /* 0 = never */
    char last_reject[128];
} sl__catalog_stats;

/* Persisted counters (all zero before the first write). */
int sl__catalog_stats_get(sl_catalog *cat, sl__catalog_stats *st);

typedef struct sl__catalog_held {
    uint64_t version;
    int64_t issued_at;
    int64_t received_at;
} sl__catalog_held;

/* What is held for (type, scope): SL_OK or SL_ERR_NOT_FOUND. */
int sl__catalog_held_get(sl_catalog *cat, int type, const char *scope, sl__catalog_held *h);

/* The store id the catalog holds store-scoped data for, "" when none. */
int sl__catalog_store(sl_catalog *cat, char *out, size_t outsz);

#endif
