/*
 * catmsg.h - the catalog messages: signed price and stock updates from the
 * hub to the devices, and the device's request for a fresh snapshot
 * (docs/PROTOCOL.md "Catalog").  Shared by the agent (decode + verify) and
 * the hub (build + sign).  No storage here: agent/catalog.c keeps the copy.
 *
 * Wire format
 * -----------
 * topics: {prefix}/{store}/prices, {prefix}/{store}/stock, {prefix}/all/prices
 * (chain-wide prices); snapshots are published retained, deltas not retained.
 * A device asks for a fresh snapshot by publishing a catalog-request on
 * {prefix}/{store}/{device}/catalog-request.
 *
 *   catalog-msg = [payload: bstr, signature: bstr]
 *       ; ECDSA P-256 over SHA-256(payload), by the catalog key (DER signature)
 *   payload = { 1: type (1 prices, 2 stock), 2: scope tstr (store id, or "all"
 *       for chain-wide prices), 3: version uint (+1 per update of (type, scope)),
 *       4: kind (1 snapshot, 2 delta), ? 5: base uint (delta only: the version it
 *       applies on, == version-1), 6: issued_at int ms, ? 7: expires_at int ms,
 *       8: items array, ? 9: watermarks map (stock only) }
 *   price item = [sku tstr, price uint (minor units), currency tstr (3 upper-case
 *       letters), effective_from int ms (0 = immediately)]
 *   stock item = [sku tstr, on_hand_milli int]
 *   watermarks = { device tstr => seq uint }: the last journal sequence number of
 *       each device that the on-hand figures already reflect
 *   catalog-request = { 1: type, 2: scope tstr, 3: have_version uint }
 *   Deterministic CBOR: map keys ascending, shortest ints, definite lengths
 *   (cborio enforces this on read).
 *
 * Details the decoder enforces (a message breaking one is rejected whole):
 * - the payload is verified before it is parsed; trailing bytes after the
 *   outer array or inside the payload bstr are refused;
 * - payload keys are exactly those above (unknown keys are refused, like the
 *   record codec does), in ascending order, each once; 5 is present iff kind
 *   is delta, and then base == version - 1; version >= 1; 9 only with stock;
 * - scope and watermark device ids: 1-64 characters [A-Za-z0-9._-] (they are
 *   MQTT topic levels); "all" is allowed for prices only, so no store may be
 *   called "all";
 * - sku: the journal's SKU rule (1-64 bytes UTF-8, no control characters, no
 *   card data); price <= SL_MONEY_MAX; effective_from >= 0; issued_at > 0;
 *   |on_hand_milli| <= SL_CAT_ONHAND_MAX; watermark map keys in deterministic
 *   order (shorter first, then bytewise), each device once;
 * - at most SL_CAT_ITEMS_MAX items, SL_CAT_WM_MAX watermarks, SL_CATMSG_MAX
 *   bytes.
 *
 * Meaning of items (applied in order; agent/catalog.c):
 * - price item with effective_from E: the SKU's price in that scope is P from
 *   E on (E == 0: from the moment it is applied).  It replaces the entries of
 *   that SKU and scope whose effective_from lies in [E, max(E, issued_at)]:
 *   they are superseded as of the time the hub issued it, while entries
 *   scheduled after issued_at stay.  Without that rule an "immediate" price
 *   (E == 0) would lose to any older entry that had already taken effect.
 * - stock item: the SKU's on-hand figure, reflecting the watermarks.
 * - a snapshot replaces every entry (and for stock every watermark) of its
 *   (type, scope); a delta's watermarks update the listed devices only.
 */
#ifndef SL_CATMSG_H
#define SL_CATMSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "storelink.h"

#define SL_CAT_PRICES 1
#define SL_CAT_STOCK 2
#define SL_CAT_SNAPSHOT 1
#define SL_CAT_DELTA 2
#define SL_CAT_SCOPE_ALL "all"

#define SL_CAT_ID_MAX 64             /* scope (store id) and device id, bytes */
#define SL_CATMSG_MAX (16u << 20)    /* one signed message, bytes */
#define SL_CAT_ITEMS_MAX 1000000u    /* items per message */
#define SL_CAT_WM_MAX 4096u          /* watermarks per message */
#define SL_CAT_ONHAND_MAX 1000000000000000LL  /* 10^15 milli-units */
#define SL_CATREQ_MAX 96             /* one encoded catalog-request, bytes */

typedef struct sl__cat_price {
    char sku[SL_SKU_MAX + 1];
    uint64_t price;              /* minor units */
    char currency[4];
    int64_t effective_from;      /* Unix ms, 0 = immediately */
} sl__cat_price;

typedef struct sl__cat_stock {
    char sku[SL_SKU_MAX + 1];
    int64_t on_hand_milli;
} sl__cat_stock;

typedef struct sl__cat_wm {
    char device[SL_CAT_ID_MAX + 1];
    uint64_t seq;
} sl__cat_wm;

/*
 * The fields of one update.  For sl__catmsg_build() the caller fills it and
 * points prices (type prices) or stock (type stock) at n_items items and,
 * for stock, watermarks at n_watermarks entries (has_watermarks writes key 9
 * even when n_watermarks is 0).  The decoder fills the scalar fields and
 * n_items / n_watermarks and leaves the pointers NULL: items are handed out
 * through sl__catmsg_items().
 */
typedef struct sl__catmsg {
    int type;                    /* SL_CAT_PRICES / SL_CAT_STOCK */
    int kind;                    /* SL_CAT_SNAPSHOT / SL_CAT_DELTA */
    char scope[SL_CAT_ID_MAX + 1];
    uint64_t version;
    uint64_t base;               /* delta only */
    int64_t issued_at;
    int64_t expires_at;          /* when has_expires */
    int has_expires;
    int has_watermarks;
    size_t n_items;
    size_t n_watermarks;
    const sl__cat_price *prices;
    const sl__cat_stock *stock;
    const sl__cat_wm *watermarks;
} sl__catmsg;

/*
 * Encode m as a payload, sign it with key and write the catalog-msg into
 * out[0..cap).  The same rules as the decoder apply, so the hub cannot emit
 * what devices refuse.  SL_OK with *len set; SL_ERR_INVALID (why says what,
 * why may be NULL), SL_ERR_TOO_LARGE (cap or SL_CATMSG_MAX), SL_ERR_NOMEM,
 * SL_ERR_CRYPTO.  No pointer is kept.
 */
int sl__catmsg_build(const sl__catmsg *m, sl__key *key, uint8_t *out, size_t cap, size_t *len,
                     char *why, size_t whysz);

/*
 * Check a received catalog-msg: outer structure, the signature over the
 * payload by pub, then every field and item of the payload.  SL_OK with *m
 * (header fields) and *payload / *plen set; the payload points into msg and
 * lives as long as msg does.  SL_ERR_INVALID (malformed), SL_ERR_CRYPTO (no
 * or bad signature) or SL_ERR_TOO_LARGE, with a plain reason in why.
 * Expiry and versions are the caller's business (it knows the time and
 * what it holds).
 */
int sl__catmsg_open(const uint8_t *msg, size_t len, sl__pub *pub, sl__catmsg *m,
                    const uint8_t **payload, size_t *plen, char *why, size_t whysz);

/* Item callbacks; a non-zero return stops the walk and is returned. */
typedef struct sl__catmsg_cbs {
    void *ctx;
    int (*price)(void *ctx, const sl__cat_price *p);
    int (*stock)(void *ctx, const sl__cat_stock *s);
    int (*watermark)(void *ctx, const sl__cat_wm *w);
} sl__catmsg_cbs;

/*
 * Parse an (unsigned) payload: fill *m and call cbs (NULL or NULL members:
 * items are only checked) for each item in order, then each watermark.
 * SL_OK, SL_ERR_INVALID / SL_ERR_TOO_LARGE with why, or a callback's value.
 * Items passed to callbacks live only during the call.  The walk is one
 * pass, so callbacks may already have run when a later part of the payload
 * turns out malformed: run it with callbacks only on a payload that
 * sl__catmsg_open() accepted, or undo their work on failure.
 */
int sl__catmsg_parse(const uint8_t *payload, size_t plen, sl__catmsg *m,
                     const sl__catmsg_cbs *cbs, char *why, size_t whysz);

/* 1 if s is a valid scope / device id (see above); all_ok allows "all". */
int sl__cat_id_ok(const char *s, size_t n, int all_ok);

/* "prices" / "stock" / "?" */
const char *sl__cat_type_name(int type);

/* The topic of (type, scope): "{prefix}/{scope}/prices" or
 * "{prefix}/{scope}/stock" into out.  SL_OK, SL_ERR_INVALID (bad type or
 * scope, or stock for "all"), SL_ERR_TOO_LARGE. */
int sl__cat_topic(const char *prefix, const char *scope, int type, char *out, size_t outsz);

typedef struct sl__catreq {
    int type;
    char scope[SL_CAT_ID_MAX + 1];
    uint64_t have_version;       /* 0 = nothing held */
} sl__catreq;

/* catalog-request to and from CBOR.  encode: SL_OK, SL_ERR_INVALID,
 * SL_ERR_TOO_LARGE.  decode: SL_OK or SL_ERR_INVALID. */
int sl__catreq_encode(const sl__catreq *r, uint8_t *out, size_t cap, size_t *len);
int sl__catreq_decode(const uint8_t *p, size_t len, sl__catreq *r);

#endif
