/*
 * store.h - the hub's SQLite database (docs/PROTOCOL.md "Hub storage").
 *
 *   devices(device PK, store, last_seq, last_hash, last_seen_ms,
 *           rejected_count, status, status_ms)
 *   records(id PK AUTOINCREMENT, device, store, seq, txn_id, kind, ts, hash,
 *           prev, body, status 'ok'|'rejected', code, reason, received_ms,
 *           UNIQUE(device, seq))
 *   schema 2, what the hub published to the devices (catalog_pub.h):
 *   catalog_versions(type, scope, version, kind, issued_at, expires_in_ms,
 *           PK(type, scope))                 last version of each catalog
 *   catalog_prices(scope, sku, effective_from, price, currency,
 *           PK(scope, sku, effective_from))  the price set the devices hold
 *   catalog_stock(scope, sku, on_hand_milli, PK(scope, sku))
 *   catalog_watermarks(scope, device, seq, PK(scope, device))
 *
 * WAL with synchronous=FULL: a COMMIT is on disk when it returns.  Several
 * hub processes may share one database (MQTT shared subscription), so the
 * per-device chain state is read inside a write transaction
 * (hub_store_begin() takes the write lock up front with BEGIN IMMEDIATE) and
 * never cached in memory.  SQLite result codes are translated to sl_err here
 * only; SQLite's message is logged where the error happens.
 */
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "catmsg.h"
#include "storelink.h"

#define HUB_BUSY_TIMEOUT_MS 10000   /* wait for another hub's transaction */
#define HUB_STATUS_MAX 16384        /* bytes of one device status blob */

typedef struct hub_store hub_store;

enum {
    HUB_STORE_CREATE = 1,   /* create the file and schema if missing */
    HUB_STORE_READONLY = 2, /* report tools: never write (needs no write access) */
};

/* Open the database at path.  Without HUB_STORE_CREATE a missing file is
 * SL_ERR_NOT_FOUND; a file that is not a hub database is SL_ERR_CORRUPT.
 * On success *out is freed with hub_store_close(). */
SL_NODISCARD int hub_store_open(hub_store **out, const char *path, int flags);
/* Close; an open transaction is rolled back.  NULL is a no-op. */
void hub_store_close(hub_store *st);

/* BEGIN IMMEDIATE (waits up to HUB_BUSY_TIMEOUT_MS for the write lock,
 * then SL_ERR_BUSY), COMMIT, ROLLBACK.  Rollback never fails visibly. */
SL_NODISCARD int hub_store_begin(hub_store *st);
SL_NODISCARD int hub_store_commit(hub_store *st);
void hub_store_rollback(hub_store *st);

/* Chain state of one device: last_seq 0 and zero hash when unknown. */
typedef struct hub_chain {
    uint64_t last_seq;
    uint8_t last_hash[32];
    int known;               /* 1 if the device has a row */
} hub_chain;

SL_NODISCARD int hub_store_chain_get(hub_store *st, const char *device, hub_chain *c);

/* Hash of a stored record; SL_ERR_NOT_FOUND when there is none. */
SL_NODISCARD int hub_store_record_hash(hub_store *st, const char *device, uint64_t seq,
                                       uint8_t hash[32]);

/* One record to insert.  All pointers are borrowed for the call. */
typedef struct hub_record_in {
    const char *device;
    const char *store;
    uint64_t seq;
    const sl_event *ev;
    const uint8_t *hash;      /* 32 bytes */
    const uint8_t *prev;      /* 32 bytes */
    const uint8_t *body;      /* stored record CBOR */
    size_t body_len;
    uint32_t reject_code;     /* 0 = accepted, else SL_REJ_* (ack.h) */
    const char *reason;       /* rejection reason, NULL when accepted */
    int64_t received_ms;
} hub_record_in;

/* Insert; a (device, seq) already present is SL_ERR_CONFLICT. */
SL_NODISCARD int hub_store_record_add(hub_store *st, const hub_record_in *r);

/* Whether the stored record (device, seq) is rejected: SL_OK with
 * *rejected 0/1, SL_ERR_NOT_FOUND when there is none. */
SL_NODISCARD int hub_store_record_rejected(hub_store *st, const char *device, uint64_t seq,
                                           int *rejected);
/* A dead-letter retry's new verdict on a stored record (docs/PROTOCOL.md
 * "Dead letters"): code 0 = ok (reason NULL), else rejected with code and
 * reason.  The record itself (body, hash) never changes.  SL_ERR_NOT_FOUND
 * when there is no such record. */
SL_NODISCARD int hub_store_record_reeval(hub_store *st, const char *device, uint64_t seq,
                                         uint32_t code, const char *reason);

/* Create or update the device row after a batch. */
SL_NODISCARD int hub_store_device_advance(hub_store *st, const char *device,
                                          const char *store, uint64_t last_seq,
                                          const uint8_t last_hash[32], int64_t seen_ms,
                                          uint64_t new_rejects);

/* Store the latest status blob of a device (creating its row if needed). */
SL_NODISCARD int hub_store_status_put(hub_store *st, const char *device, const char *store,
                                      const void *blob, size_t len, int64_t now_ms);

/* Rejected records of device with first <= seq <= last, in seq order.
 * reason is valid during the call only.  A negative value from fn stops
 * the walk with SL_OK; a positive one (an sl_err) stops it and is returned. */
typedef int (*hub_reject_fn)(uint64_t seq, uint32_t code, const char *reason, void *ctx);
SL_NODISCARD int hub_store_rejects(hub_store *st, const char *device, uint64_t first,
                                   uint64_t last, hub_reject_fn fn, void *ctx);

/* One stored record as read back; every pointer is valid during the
 * callback only. */
typedef struct hub_row {
    int64_t id;
    const char *device;
    const char *store;
    uint64_t seq;
    const uint8_t *hash;      /* 32 bytes */
    const uint8_t *body;
    size_t body_len;
    int rejected;
    uint32_t reject_code;
    const char *reason;       /* "" when accepted */
    int64_t received_ms;
} hub_row;

/* Records with id > since_id (of device, when not NULL) in id order, at
 * most limit of them (0 = all).  Non-zero from fn stops and is returned. */
typedef int (*hub_row_fn)(const hub_row *row, void *ctx);
SL_NODISCARD int hub_store_foreach(hub_store *st, int64_t since_id, const char *device,
                                   uint64_t limit, hub_row_fn fn, void *ctx);

/* One device row (pointers valid during the callback only). */
typedef struct hub_device_row {
    const char *device;
    const char *store;
    uint64_t last_seq;
    int64_t last_seen_ms;
    uint64_t rejected_count;
    int64_t status_ms;        /* 0 when no status was received */
    size_t status_len;
} hub_device_row;

typedef int (*hub_device_fn)(const hub_device_row *row, void *ctx);
SL_NODISCARD int hub_store_devices(hub_store *st, hub_device_fn fn, void *ctx);

/* Number of stored records (of device, when not NULL). */
SL_NODISCARD int hub_store_count(hub_store *st, const char *device, uint64_t *n);

/* ---- catalog: what the hub published (schema 2) -----------------------------
 * The item tables mirror what a device holds after applying every update
 * the hub published for (type, scope), by the same rules (catmsg.h), so a
 * fresh snapshot can be issued from them at any time.  Callers run these
 * inside hub_store_begin() / hub_store_commit(); the database must have
 * been opened with HUB_STORE_CREATE (which upgrades a schema 1 file).
 * Borrowed pointers live for the call (callbacks: during the callback). */

typedef struct hub_cat_head {
    uint64_t version;          /* last version published, >= 1 */
    int kind;                  /* SL_CAT_SNAPSHOT / SL_CAT_DELTA */
    int64_t issued_at;
    int64_t expires_in_ms;     /* validity given to each message, 0 = none */
} hub_cat_head;

/* Last published version of (type, scope): SL_OK or SL_ERR_NOT_FOUND. */
SL_NODISCARD int hub_store_cat_head(hub_store *st, int type, const char *scope, hub_cat_head *h);
SL_NODISCARD int hub_store_cat_head_put(hub_store *st, int type, const char *scope,
                                        const hub_cat_head *h);
/* Drop every item of (type, scope); for stock the watermarks too. */
SL_NODISCARD int hub_store_cat_clear(hub_store *st, int type, const char *scope);
/* Apply one price item issued at issued_at: it replaces the SKU's entries
 * with effective_from in [E, max(E, issued_at)]. */
SL_NODISCARD int hub_store_cat_price_put(hub_store *st, const char *scope, const sl__cat_price *p,
                                         int64_t issued_at);
/* Drop price entries that a later entry already in effect at now_ms
 * supersedes (they can no longer answer a look-up at or after now). */
SL_NODISCARD int hub_store_cat_prune(hub_store *st, const char *scope, int64_t now_ms);
SL_NODISCARD int hub_store_cat_stock_put(hub_store *st, const char *scope,
                                         const sl__cat_stock *item);
SL_NODISCARD int hub_store_cat_wm_put(hub_store *st, const char *scope, const sl__cat_wm *w);
/* Number of items held for (type, scope). */
SL_NODISCARD int hub_store_cat_count(hub_store *st, int type, const char *scope, uint64_t *n);

/* Items in snapshot order (prices: by SKU, then effective_from ascending, the
 * order in which re-applying them rebuilds the same set).  A non-zero return
 * from fn stops the walk and is returned. */
typedef int (*hub_cat_price_fn)(const sl__cat_price *p, void *ctx);
typedef int (*hub_cat_stock_fn)(const sl__cat_stock *s, void *ctx);
typedef int (*hub_cat_wm_fn)(const sl__cat_wm *w, void *ctx);
SL_NODISCARD int hub_store_cat_prices(hub_store *st, const char *scope, hub_cat_price_fn fn,
                                      void *ctx);
SL_NODISCARD int hub_store_cat_stock(hub_store *st, const char *scope, hub_cat_stock_fn fn,
                                     void *ctx);
/* The watermarks that went out with the stock items held for scope. */
SL_NODISCARD int hub_store_cat_wms(hub_store *st, const char *scope, hub_cat_wm_fn fn, void *ctx);
/* The devices of store with the last seq the hub stored for each (the
 * watermark a stock update issued now carries). */
SL_NODISCARD int hub_store_store_devices(hub_store *st, const char *store, hub_cat_wm_fn fn,
                                         void *ctx);

/* ---- the fleet view (storelink-hub devices) ---------------------------------
 * Every device row with its latest status blob (NULL and 0 when none was
 * received), of store only when store is not NULL, ordered by store and
 * device.  Row and blob are valid during the callback only; a non-zero
 * return from fn stops the walk and is returned. */
typedef int (*hub_device_status_fn)(const hub_device_row *row, const void *status, size_t len,
                                    void *ctx);
SL_NODISCARD int hub_store_devices_status(hub_store *st, const char *store,
                                          hub_device_status_fn fn, void *ctx);

/* Journal epochs (docs/PROTOCOL.md "Journal epochs"): the device's epoch as
 * the hub knows it (1 until a break is recorded). */
SL_NODISCARD int hub_store_epoch_get(hub_store *st, const char *device, uint32_t *epoch);

typedef struct hub_epoch_break {
    const char *device, *store;
    uint32_t epoch, old_epoch;
    uint64_t from_seq;           /* the old epoch's last verified seq */
    const uint8_t *from_hash;    /* its hash (32 bytes) */
    uint64_t hub_last_seq;       /* the hub's chain before the break */
    int64_t now_ms;
    uint64_t chain_seq;          /* the device's chain after the break */
    const uint8_t *chain_hash;   /* (32 bytes) */
} hub_epoch_break;

/* Inside a transaction: keep the device's records beyond from_seq in
 * epoch_records (tagged old_epoch) and remove them from records, record
 * the break, and set the device's chain to chain_seq/chain_hash.  *moved is
 * how many records were moved. */
SL_NODISCARD int hub_store_epoch_break(hub_store *st, const hub_epoch_break *e, uint64_t *moved);

#endif
