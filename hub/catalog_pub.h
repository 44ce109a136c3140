/*
 * catalog_pub.h - the hub's side of the catalog downlink (wire format and
 * meaning in agent/catmsg.h): price and stock lists read from CSV files,
 * the version of each (type, scope), the item set the devices hold (kept in
 * the hub's database, store.h "catalog_*"), signed snapshots and deltas,
 * and the answer to a device's catalog-request (a fresh snapshot).
 *
 * No MQTT here: the caller publishes what a hub_cat_msg holds on its topic,
 * QoS 1, retained for a snapshot and not retained for a delta (hub/mqtt.c).
 *
 * Versions are allocated inside a write transaction of the shared database
 * and committed before the message goes out.  A message that is then lost
 * (broker down, publisher killed) costs the devices a version: they see the
 * gap at the next delta and ask for a snapshot.  The opposite order could
 * let devices hold a version the hub later hands out again, which they
 * would ignore as stale.
 */
#ifndef HUB_CATALOG_PUB_H
#define HUB_CATALOG_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "catmsg.h"
#include "crypto.h"
#include "ingest.h"
#include "store.h"

#define HUB_CAT_CSV_MAX (256u << 20)   /* bytes of one CSV file */
#define HUB_CAT_LINE_MAX 4096          /* bytes of one CSV line */
#define HUB_CAT_REISSUE_MS 10000       /* at most one re-issue per (type, scope) per this */
#define HUB_CAT_LIMIT_SLOTS 128        /* (type, scope) pairs the rate limit remembers */

/* Items read from a CSV file: prices (type SL_CAT_PRICES) or stock, n of
 * them, in file order.  Heap arrays, freed with hub_cat_items_free(). */
typedef struct hub_cat_items {
    int type;
    size_t n;
    sl__cat_price *prices;
    sl__cat_stock *stock;
} hub_cat_items;

/*
 * Read and check a whole CSV file.  A header line is required:
 *   prices: sku,price,currency[,effective_from]
 *     price in minor units (digits); currency 3 upper-case letters (and one
 *     of currencies when n_currencies > 0); effective_from empty or 0 =
 *     immediately, else Unix ms or ISO 8601 with a zone
 *     (2026-11-24T00:00:00Z, 2026-11-24T00:00:00.000+01:00)
 *   stock: sku,on_hand
 *     on_hand a decimal with at most 3 decimals (milli-units), may be negative
 * Fields may be quoted ("a,b", "" for a quote); blanks around unquoted
 * fields, a UTF-8 byte order mark, CRLF line ends and blank lines are
 * ignored.  A SKU (with the same effective_from, for prices) given twice is
 * an error.  SL_OK with *out filled; otherwise nothing is kept and err says
 * "PATH:LINE: FIELD: why" (SL_ERR_INVALID), or why the file could not be
 * read (SL_ERR_NOT_FOUND, SL_ERR_IO, SL_ERR_PERM, SL_ERR_TOO_LARGE,
 * SL_ERR_NOMEM).
 */
SL_NODISCARD int hub_cat_csv_load(hub_cat_items *out, int type, const char *path,
                                  size_t n_currencies, const char (*currencies)[4], char *err,
                                  size_t errsz);
/* Free the arrays (the struct itself is the caller's); NULL is a no-op. */
void hub_cat_items_free(hub_cat_items *it);

/* One signed message ready to publish.  data is heap, freed with
 * hub_cat_msg_free(). */
typedef struct hub_cat_msg {
    int type;
    int kind;                       /* SL_CAT_SNAPSHOT: publish retained */
    char scope[SL_CAT_ID_MAX + 1];
    uint64_t version;
    size_t n_items;
    size_t n_watermarks;
    char topic[HUB_TOPIC_MAX];
    uint8_t *data;
    size_t len;
} hub_cat_msg;

void hub_cat_msg_free(hub_cat_msg *m);

/* An update from the operator (storelink-hub publish). */
typedef struct hub_cat_update {
    const char *prefix;             /* topic prefix */
    int type;                       /* SL_CAT_PRICES / SL_CAT_STOCK */
    const char *scope;              /* store id, or "all" (prices only) */
    int delta;                      /* 0: snapshot (replaces everything), 1: delta */
    int64_t expires_in_ms;          /* > 0: devices refuse the message after that */
    int64_t now_ms;                 /* issued_at */
} hub_cat_update;

/*
 * Allocate the next version of (type, scope), record the items in the
 * hub's set (a snapshot replaces it, a delta upserts; for stock the
 * watermarks are each device of the store's last stored seq: the figures
 * are taken to reflect everything the hub has received), sign the message
 * with key and commit.  A delta's base is the last version.  SL_OK with
 * *out filled (publish it); SL_ERR_CONFLICT for a delta when nothing was
 * published yet; SL_ERR_INVALID / SL_ERR_TOO_LARGE (err says why); a
 * database error.  On failure nothing is committed.
 */
SL_NODISCARD int hub_cat_publish(hub_store *st, sl__key *key, const hub_cat_update *u,
                                 const hub_cat_items *items, hub_cat_msg *out, char *err,
                                 size_t errsz);

/*
 * A fresh snapshot of what is held for (type, scope), at the next version
 * (with the validity of the last operator update), committed like
 * hub_cat_publish().  SL_ERR_NOT_FOUND when nothing was ever published
 * for (type, scope).
 */
SL_NODISCARD int hub_cat_reissue(hub_store *st, sl__key *key, const char *prefix, int type,
                                 const char *scope, int64_t now_ms, hub_cat_msg *out, char *err,
                                 size_t errsz);

/*
 * Check a catalog-request received on {prefix}/{topic_store}/{device}/
 * catalog-request: well-formed (sl__catreq_decode), and asking for
 * topic_store's own catalog or the chain-wide prices.  SL_OK with *req,
 * else SL_ERR_INVALID with a plain reason in why.
 */
SL_NODISCARD int hub_cat_request_check(const char *topic_store, const void *payload, size_t len,
                                       sl__catreq *req, char *why, size_t whysz);

/* One re-issue per (type, scope) per HUB_CAT_REISSUE_MS.  Zero it to start. */
typedef struct hub_cat_limiter {
    struct {
        int type;                   /* 0 = free slot */
        char scope[SL_CAT_ID_MAX + 1];
        uint64_t at_ms;             /* monotonic time of the last re-issue */
    } slot[HUB_CAT_LIMIT_SLOTS];
} hub_cat_limiter;

/* 1 (and the time is recorded) when (type, scope) may be re-issued at
 * now_ms (monotonic), 0 when it was re-issued less than
 * HUB_CAT_REISSUE_MS ago, or when every slot holds a re-issue younger than
 * that (requests naming many stores stay bounded too). */
int hub_cat_limiter_allow(hub_cat_limiter *l, int type, const char *scope, uint64_t now_ms);

#endif
