/*
 * The offline catalog (catalog.h; docs/PROTOCOL.md "Catalog"): one LMDB
 * environment in <state_dir>/catalog with five named databases:
 *   state  key: type (1 byte) + scope     value: version, issued_at,
 *                                          received_at (3 x 8 bytes BE)
 *   price  key: scope \0 sku \0 effective_from (8 BE)
 *                                          value: price (8 BE) + currency (3)
 *   stock  key: scope \0 sku              value: on_hand_milli (8 BE, two's
 *                                          complement)
 *   wm     key: scope \0 device           value: seq (8 BE)
 *   meta   "format" u32 BE; "store" the store id the store-scoped data is
 *          for; "counters" applied, stale, rejected, gaps (4 x 8 BE);
 *          "last_reject" when (8 BE) + reason text
 * Scopes, SKUs and device ids never contain NUL (catmsg.c checks), so the
 * \0 separators keep one scope's or one SKU's keys together and ordered.
 *
 * Every update is one write transaction: a snapshot replaces its (type,
 * scope) atomically, and a reader sees the old or the new catalog, never a
 * mix.  Commits are LMDB's default durable ones, like the journal's.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "catalog.h"
#include "catmsg.h"
#include "event.h"
#include "platform.h"

#define FORMAT_VERSION 1u
#define MIN_MAP (1u << 20)
#define KEY_MAX (SL_CAT_ID_MAX + 1 + SL_SKU_MAX + 1 + 8)

static const char META_FORMAT[] = "format";
static const char META_STORE[] = "store";
static const char META_COUNTERS[] = "counters";
static const char META_LAST_REJECT[] = "last_reject";

enum { CNT_APPLIED = 0, CNT_STALE, CNT_REJECTED, CNT_GAPS, CNT_N };

struct sl_catalog {
    MDB_env *env;          /* NULL until opened (a writer opens on first write) */
    MDB_dbi db_state, db_price, db_stock, db_wm, db_meta;
    int read_only;
    int have_dbs;
    uint64_t max_bytes;
    uint64_t map_bytes;
    char dir[4096];
    char store[SL_CAT_ID_MAX + 1];   /* writer: the configured store */
};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const void *vp)
{
    const uint8_t *p = vp;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* LMDB codes are translated here for the catalog, as journal.c does for
 * the journal. */

/* ---- keys ------------------------------------------------------------- */

/* a \0 b \0 (b may be NULL: a \0) */
static size_t key2(uint8_t *k, const char *a, const char *b)
{
    size_t na = strlen(a), n = 0;
    memcpy(k, a, na);
    n = na;
    k[n++] = 0;
    if (b != NULL) {
        size_t nb = strlen(b);
        memcpy(k + n, b, nb);
        n += nb;
        k[n++] = 0;
    }
    return n;
}

static size_t price_key(uint8_t *k, const char *scope, const char *sku, int64_t eff)
{
    size_t n = key2(k, scope, sku);
    put_be64(k + n, (uint64_t)eff);   /* eff >= 0: byte order is time order */
    return n + 8;
}

/* stock and wm keys: scope \0 name (no trailing \0) */
static size_t name_key(uint8_t *k, const char *scope, const char *name)
{
    size_t n = key2(k, scope, name);
    return n - 1;
}

static size_t state_key(uint8_t *k, int type, const char *scope)
{
    size_t ns = strlen(scope);
    k[0] = (uint8_t)type;
    memcpy(k + 1, scope, ns);
    return 1 + ns;
}

static int has_prefix(const MDB_val *k, const uint8_t *p, size_t n)
{
    return k->mv_size >= n && memcmp(k->mv_data, p, n) == 0;
}

/* ---- environment -------------------------------------------------------- */

static int open_dbs(sl_catalog *c)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(c->env, NULL, c->read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        return sl__mdb_err(rc);
    unsigned fl = c->read_only ? 0 : MDB_CREATE;
    rc = mdb_dbi_open(txn, "state", fl, &c->db_state);
    if (rc == 0) rc = mdb_dbi_open(txn, "price", fl, &c->db_price);
    if (rc == 0) rc = mdb_dbi_open(txn, "stock", fl, &c->db_stock);
    if (rc == 0) rc = mdb_dbi_open(txn, "wm", fl, &c->db_wm);
    if (rc == 0) rc = mdb_dbi_open(txn, "meta", fl, &c->db_meta);
    if (rc == MDB_NOTFOUND && c->read_only) {
        mdb_txn_abort(txn);
        c->have_dbs = 0;
        return SL_OK;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return sl__mdb_err(rc);
    }
    MDB_val k = {sizeof META_FORMAT - 1, (void *)META_FORMAT}, v;
    rc = mdb_get(txn, c->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND && !c->read_only) {
        uint8_t fv[4] = {0, 0, 0, FORMAT_VERSION};
        v.mv_size = 4;
        v.mv_data = fv;
        rc = mdb_put(txn, c->db_meta, &k, &v, 0);
    } else if (rc == 0) {
        if (v.mv_size != 4 || ((uint8_t *)v.mv_data)[3] > FORMAT_VERSION) {
            mdb_txn_abort(txn);
            sl_plat_log(SL_LOG_ERR, "catalog format is newer than this storelink");
            return SL_ERR_CORRUPT;
        }
    } else if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return sl__mdb_err(rc);
    }
    /* commit even a read-only txn: aborting it would close the new DBIs */
    rc = mdb_txn_commit(txn);
    c->have_dbs = rc == 0;
    return sl__mdb_err(rc);
}

/* Open the environment if it is not open yet.  A reader never creates it. */
static int env_open(sl_catalog *c)
{
    int rc;
    if (c->env != NULL)
        return SL_OK;
    if (!c->read_only) {
        if ((rc = sl_plat_mkdir_p(c->dir, 0700)) != SL_OK)
            return rc;
    } else if (!sl_plat_exists(c->dir)) {
        return SL_ERR_NOT_FOUND;
    }
    if ((rc = mdb_env_create(&c->env)) != 0)
        return sl__mdb_err(rc);
    mdb_env_set_maxdbs(c->env, 8);
    mdb_env_set_maxreaders(c->env, 126);
    /* always set the map size explicitly (NOTES.md): at least the file */
    char path[4200];
    uint64_t fsize = 0;
    snprintf(path, sizeof path, "%s/data.mdb", c->dir);
    if (sl_plat_file_size(path, &fsize) != SL_OK)
        fsize = 0;
    uint64_t map = (fsize + MIN_MAP) & ~(uint64_t)(MIN_MAP - 1);
    if (map < 4 * (uint64_t)MIN_MAP)
        map = 4 * (uint64_t)MIN_MAP;
    if (map > c->max_bytes)
        map = c->max_bytes > fsize ? c->max_bytes : fsize;
    if ((rc = mdb_env_set_mapsize(c->env, (size_t)map)) != 0) {
        rc = sl__mdb_err(rc);
        goto fail;
    }
    c->map_bytes = map;
    if ((rc = mdb_env_open(c->env, c->dir, c->read_only ? MDB_RDONLY : 0, 0600)) != 0) {
        rc = sl__mdb_err(rc);
        goto fail;
    }
    unsigned flags = 0;
    mdb_env_get_flags(c->env, &flags);
    if (flags & (MDB_NOSYNC | MDB_MAPASYNC | MDB_WRITEMAP | MDB_NOMETASYNC)) {
        rc = SL_ERR_UNSAFE;
        goto fail;
    }
    int dead = 0;
    mdb_reader_check(c->env, &dead);
    if ((rc = open_dbs(c)) != SL_OK)
        goto fail;
    return SL_OK;
fail:
    mdb_env_close(c->env);
    c->env = NULL;
    c->have_dbs = 0;
    return rc;
}

static int cat_new(sl_catalog **out, const char *state_dir, int read_only, uint64_t max_mb)
{
    if (out == NULL || state_dir == NULL)
        return SL_ERR_USAGE;
    sl_catalog *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SL_ERR_NOMEM;
    c->read_only = read_only;
    c->max_bytes = (max_mb ? max_mb : SL_CATALOG_MAX_MB) << 20;
    if ((size_t)snprintf(c->dir, sizeof c->dir, "%s/catalog", state_dir) >= sizeof c->dir) {
        free(c);
        return SL_ERR_USAGE;
    }
    *out = c;
    return SL_OK;
}

int sl_catalog_open(sl_catalog **out, const char *state_dir)
{
    sl_catalog *c;
    int rc = cat_new(&c, state_dir, 1, 0);
    if (rc != SL_OK)
        return rc;
    if ((rc = env_open(c)) != SL_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return SL_OK;
}

int sl__catalog_open_rw(sl_catalog **out, const char *state_dir, const char *store_id,
                        uint64_t max_mb)
{
    if (store_id == NULL || !sl__cat_id_ok(store_id, strlen(store_id), 0))
        return SL_ERR_USAGE;
    sl_catalog *c;
    int rc = cat_new(&c, state_dir, 0, max_mb);
    if (rc != SL_OK)
        return rc;
    snprintf(c->store, sizeof c->store, "%s", store_id);
    /* created on the first write; an existing one is opened now so the
     * handle serves look-ups at once */
    if (sl_plat_exists(c->dir) && (rc = env_open(c)) != SL_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return SL_OK;
}

void sl_catalog_close(sl_catalog *c)
{
    if (c == NULL)
        return;
    if (c->env != NULL)
        mdb_env_close(c->env);
    free(c);
}

static int grow_map(sl_catalog *c)
{
    return sl__mdb_grow(c->env, &c->map_bytes, c->max_bytes, "catalog");
}

/* Begin a transaction, adopting a map another process has grown. */
static int txn_begin(sl_catalog *c, unsigned flags, MDB_txn **txn)
{
    return sl__mdb_txn_begin(c->env, flags, txn, &c->map_bytes);
}

/* Run fn in one write transaction and commit it durably.  MDB_MAP_FULL
 * poisons the transaction: abort, grow the map with no transaction open and
 * run fn again from scratch (fn must not keep state across attempts). */
static int write_txn(sl_catalog *c, int (*fn)(sl_catalog *c, MDB_txn *txn, void *arg), void *arg)
{
    if (c->read_only)
        return SL_ERR_PERM;
    for (;;) {
        MDB_txn *txn;
        int rc = env_open(c);
        if (rc != SL_OK)
            return rc;
        if ((rc = txn_begin(c, 0, &txn)) != SL_OK)
            return rc;
        rc = fn(c, txn, arg);
        if (rc == SL_OK)
            rc = sl__mdb_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        if (rc == SL_ERR_FULL) {
            int g = grow_map(c);
            if (g == SL_OK)
                continue;
            return g;
        }
        return rc;
    }
}

/* ---- small records ------------------------------------------------------ */

static int read_state(sl_catalog *c, MDB_txn *txn, int type, const char *scope,
                      sl__catalog_held *h)
{
    uint8_t kb[1 + SL_CAT_ID_MAX];
    MDB_val k = {state_key(kb, type, scope), kb}, v;
    memset(h, 0, sizeof *h);
    int rc = mdb_get(txn, c->db_state, &k, &v);
    if (rc != 0)
        return sl__mdb_err(rc);
    if (v.mv_size != 24)
        return SL_ERR_CORRUPT;
    h->version = get_be64(v.mv_data);
    h->issued_at = (int64_t)get_be64((uint8_t *)v.mv_data + 8);
    h->received_at = (int64_t)get_be64((uint8_t *)v.mv_data + 16);
    return SL_OK;
}

static int write_state(sl_catalog *c, MDB_txn *txn, int type, const char *scope,
                       const sl__catalog_held *h)
{
    uint8_t kb[1 + SL_CAT_ID_MAX], vb[24];
    put_be64(vb, h->version);
    put_be64(vb + 8, (uint64_t)h->issued_at);
    put_be64(vb + 16, (uint64_t)h->received_at);
    MDB_val k = {state_key(kb, type, scope), kb}, v = {24, vb};
    return sl__mdb_err(mdb_put(txn, c->db_state, &k, &v, 0));
}

static int read_counters(sl_catalog *c, MDB_txn *txn, uint64_t cnt[CNT_N])
{
    MDB_val k = {sizeof META_COUNTERS - 1, (void *)META_COUNTERS}, v;
    memset(cnt, 0, CNT_N * sizeof cnt[0]);
    int rc = mdb_get(txn, c->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != 0)
        return sl__mdb_err(rc);
    if (v.mv_size != 8 * CNT_N)
        return SL_ERR_CORRUPT;
    for (int i = 0; i < CNT_N; i++)
        cnt[i] = get_be64((uint8_t *)v.mv_data + 8 * i);
    return SL_OK;
}

static int bump(sl_catalog *c, MDB_txn *txn, int which)
{
    uint64_t cnt[CNT_N];
    uint8_t vb[8 * CNT_N];
    int rc = read_counters(c, txn, cnt);
    if (rc != SL_OK)
        return rc;
    cnt[which]++;
    for (int i = 0; i < CNT_N; i++)
        put_be64(vb + 8 * i, cnt[i]);
    MDB_val k = {sizeof META_COUNTERS - 1, (void *)META_COUNTERS}, v = {sizeof vb, vb};
    return sl__mdb_err(mdb_put(txn, c->db_meta, &k, &v, 0));
}

/* The store id held in meta into out ("" when none). */
static int read_store(sl_catalog *c, MDB_txn *txn, char *out, size_t outsz)
{
    MDB_val k = {sizeof META_STORE - 1, (void *)META_STORE}, v;
    out[0] = '\0';
    int rc = mdb_get(txn, c->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != 0)
        return sl__mdb_err(rc);
    if (v.mv_size == 0 || v.mv_size >= outsz || v.mv_size > SL_CAT_ID_MAX)
        return SL_ERR_CORRUPT;
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = '\0';
    return SL_OK;
}

/* Delete the keys of db that start with p[0..n), from the key `from` on
 * (NULL: the first) up to and including `upto` (NULL: the last).  Re-seeks
 * after each delete rather than relying on where mdb_cursor_del leaves the
 * cursor. */
static int del_range(MDB_txn *txn, MDB_dbi db, const uint8_t *p, size_t n, const uint8_t *from,
                     size_t from_n, const uint8_t *upto, size_t upto_n)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db, &cur);
    if (rc != 0)
        return sl__mdb_err(rc);
    if (from == NULL) {
        from = p;
        from_n = n;
    }
    for (;;) {
        MDB_val k = {from_n, (void *)from}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND || (rc == 0 && !has_prefix(&k, p, n))) {
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        if (upto != NULL) {
            size_t m = k.mv_size < upto_n ? k.mv_size : upto_n;
            int cmp = memcmp(k.mv_data, upto, m);
            if (cmp > 0 || (cmp == 0 && k.mv_size > upto_n))
                break;
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return sl__mdb_err(rc);
}

static int del_prefix(MDB_txn *txn, MDB_dbi db, const uint8_t *p, size_t n)
{
    return del_range(txn, db, p, n, NULL, 0, NULL, 0);
}

/* ---- apply -------------------------------------------------------------- */

struct apply {
    const sl__catmsg *m;
    const uint8_t *payload;
    size_t plen;
    int64_t now;
    const char *device;
    sl__cat_result *res;
    MDB_txn *txn;          /* for the item callbacks */
    sl_catalog *c;
    uint64_t item_wm;      /* this device's watermark for the stock items of
                              this message: stored with each item, because a
                              delta restates only the SKUs it lists */
};

struct wm_find {
    const char *device;
    uint64_t seq;
    int found;
};

static int find_wm(void *ctx, const sl__cat_wm *w)
{
    struct wm_find *f = ctx;
    if (f->device != NULL && strcmp(w->device, f->device) == 0) {
        f->seq = w->seq;
        f->found = 1;
    }
    return SL_OK;
}

static int put_price(void *ctx, const sl__cat_price *p)
{
    struct apply *a = ctx;
    sl_catalog *c = a->c;
    const sl__catmsg *m = a->m;
    uint8_t pre[KEY_MAX], kb[KEY_MAX], hi[KEY_MAX], vb[11];
    /* supersede what this item restates: [E, max(E, issued_at)] (catmsg.h) */
    int64_t top = p->effective_from > m->issued_at ? p->effective_from : m->issued_at;
    size_t pn = key2(pre, m->scope, p->sku);
    size_t kn = price_key(kb, m->scope, p->sku, p->effective_from);
    size_t hn = price_key(hi, m->scope, p->sku, top);
    int rc = del_range(a->txn, c->db_price, pre, pn, kb, kn, hi, hn);
    if (rc != SL_OK)
        return rc;
    put_be64(vb, p->price);
    memcpy(vb + 8, p->currency, 3);
    MDB_val k = {kn, kb}, v = {sizeof vb, vb};
    return sl__mdb_err(mdb_put(a->txn, c->db_price, &k, &v, 0));
}

/* stock value: on_hand_milli (8 BE) + this device's watermark (8 BE) */
static int put_stock(void *ctx, const sl__cat_stock *s)
{
    struct apply *a = ctx;
    uint8_t kb[KEY_MAX], vb[16];
    put_be64(vb, (uint64_t)s->on_hand_milli);
    put_be64(vb + 8, a->item_wm);
    MDB_val k = {name_key(kb, a->m->scope, s->sku), kb}, v = {16, vb};
    return sl__mdb_err(mdb_put(a->txn, a->c->db_stock, &k, &v, 0));
}

static int put_wm(void *ctx, const sl__cat_wm *w)
{
    struct apply *a = ctx;
    uint8_t kb[KEY_MAX], vb[8];
    put_be64(vb, w->seq);
    MDB_val k = {name_key(kb, a->m->scope, w->device), kb}, v = {8, vb};
    return sl__mdb_err(mdb_put(a->txn, a->c->db_wm, &k, &v, 0));
}

/* Remove everything of one scope: its price, stock and watermark entries
 * and its state records. */
static int drop_scope(sl_catalog *c, MDB_txn *txn, const char *scope)
{
    uint8_t kb[KEY_MAX];
    size_t n = key2(kb, scope, NULL);
    int rc;
    if ((rc = del_prefix(txn, c->db_price, kb, n)) != SL_OK ||
        (rc = del_prefix(txn, c->db_stock, kb, n)) != SL_OK ||
        (rc = del_prefix(txn, c->db_wm, kb, n)) != SL_OK)
        return rc;
    for (int type = SL_CAT_PRICES; type <= SL_CAT_STOCK; type++) {
        MDB_val k = {state_key(kb, type, scope), kb};
        rc = mdb_del(txn, c->db_state, &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return sl__mdb_err(rc);
    }
    return SL_OK;
}

/* The catalog holds one store's data.  A device moved to another store
 * (store_id changed) must not go on answering with the old store's prices
 * and stock: drop them in the first write for the new store. */
static int adopt_store(sl_catalog *c, MDB_txn *txn)
{
    char held[SL_CAT_ID_MAX + 1];
    int rc = read_store(c, txn, held, sizeof held);
    if (rc != SL_OK || strcmp(held, c->store) == 0)
        return rc;
    if (held[0] != '\0') {
        sl_plat_log(SL_LOG_NOTICE, "catalog: store changed from %s to %s, dropping %s's data",
                    held, c->store, held);
        if ((rc = drop_scope(c, txn, held)) != SL_OK)
            return rc;
    }
    MDB_val k = {sizeof META_STORE - 1, (void *)META_STORE}, v = {strlen(c->store), c->store};
    return sl__mdb_err(mdb_put(txn, c->db_meta, &k, &v, 0));
}

static int apply_txn(sl_catalog *c, MDB_txn *txn, void *arg)
{
    struct apply *a = arg;
    const sl__catmsg *m = a->m;
    sl__cat_result *res = a->res;
    sl__catalog_held held;
    int rc;
    if ((rc = adopt_store(c, txn)) != SL_OK)
        return rc;
    rc = read_state(c, txn, m->type, m->scope, &held);
    if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
        return rc;
    res->held_version = held.version;
    if (m->version <= held.version) {
        res->outcome = SL_CAT_STALE;
        snprintf(res->reason, sizeof res->reason, "v%llu is not newer than the held v%llu",
                 (unsigned long long)m->version, (unsigned long long)held.version);
        return bump(c, txn, CNT_STALE);
    }
    if (m->kind == SL_CAT_DELTA && (held.version == 0 || m->base != held.version)) {
        /* a gap (the broker dropped queued deltas) or nothing to apply on:
         * applying it would leave a catalog that matches no version */
        res->outcome = SL_CAT_NEED_SNAPSHOT;
        if (held.version == 0)
            snprintf(res->reason, sizeof res->reason, "delta v%llu but no snapshot held",
                     (unsigned long long)m->version);
        else
            snprintf(res->reason, sizeof res->reason, "delta v%llu applies on v%llu, held v%llu",
                     (unsigned long long)m->version, (unsigned long long)m->base,
                     (unsigned long long)held.version);
        return bump(c, txn, CNT_GAPS);
    }
    if (m->kind == SL_CAT_SNAPSHOT) {
        uint8_t kb[KEY_MAX];
        size_t n = key2(kb, m->scope, NULL);
        if (m->type == SL_CAT_PRICES)
            rc = del_prefix(txn, c->db_price, kb, n);
        else if ((rc = del_prefix(txn, c->db_stock, kb, n)) == SL_OK)
            rc = del_prefix(txn, c->db_wm, kb, n);
        if (rc != SL_OK)
            return rc;
    }
    a->txn = txn;
    a->c = c;
    sl__catmsg cm;
    a->item_wm = 0;
    if (m->type == SL_CAT_STOCK && a->device != NULL &&
        sl__cat_id_ok(a->device, strlen(a->device), 0)) {
        /* the figures reflect this device's records up to its watermark in
         * the message; a delta that does not name the device keeps the one
         * it had (a snapshot's wipe above removed it: then 0) */
        uint8_t kb[KEY_MAX];
        MDB_val k = {name_key(kb, m->scope, a->device), kb}, v;
        if (mdb_get(txn, c->db_wm, &k, &v) == 0 && v.mv_size == 8)
            a->item_wm = get_be64(v.mv_data);
        struct wm_find f = {a->device, 0, 0};
        sl__catmsg_cbs fcbs = {&f, NULL, NULL, find_wm};
        rc = sl__catmsg_parse(a->payload, a->plen, &cm, &fcbs, NULL, 0);
        if (rc != SL_OK)
            return rc == SL_ERR_INVALID ? SL_ERR_CORRUPT : rc;
        if (f.found)
            a->item_wm = f.seq;
    }
    sl__catmsg_cbs cbs = {a, put_price, put_stock, put_wm};
    rc = sl__catmsg_parse(a->payload, a->plen, &cm, &cbs, NULL, 0);
    if (rc != SL_OK)
        return rc == SL_ERR_INVALID ? SL_ERR_CORRUPT : rc;   /* it parsed a moment ago */
    held.version = m->version;
    held.issued_at = m->issued_at;
    held.received_at = a->now;
    if ((rc = write_state(c, txn, m->type, m->scope, &held)) != SL_OK)
        return rc;
    if (m->type == SL_CAT_STOCK && a->device != NULL &&
        sl__cat_id_ok(a->device, strlen(a->device), 0)) {
        uint8_t kb[KEY_MAX];
        MDB_val k = {name_key(kb, m->scope, a->device), kb}, v;
        rc = mdb_get(txn, c->db_wm, &k, &v);
        if (rc == 0 && v.mv_size == 8)
            res->watermark = get_be64(v.mv_data);
        else if (rc != 0 && rc != MDB_NOTFOUND)
            return sl__mdb_err(rc);
    }
    res->outcome = SL_CAT_APPLIED;
    res->held_version = m->version;
    res->reason[0] = '\0';
    return bump(c, txn, CNT_APPLIED);
}

struct reject {
    int64_t now;
    const char *reason;
};

static int reject_txn(sl_catalog *c, MDB_txn *txn, void *arg)
{
    struct reject *r = arg;
    uint8_t vb[8 + 120];
    size_t rl = strnlen(r->reason, 120);
    int rc = bump(c, txn, CNT_REJECTED);
    if (rc != SL_OK)
        return rc;
    put_be64(vb, (uint64_t)r->now);
    memcpy(vb + 8, r->reason, rl);
    MDB_val k = {sizeof META_LAST_REJECT - 1, (void *)META_LAST_REJECT}, v = {8 + rl, vb};
    return sl__mdb_err(mdb_put(txn, c->db_meta, &k, &v, 0));
}

static int rejected(sl_catalog *c, int64_t now, sl__cat_result *out)
{
    struct reject r = {now, out->reason};
    out->outcome = SL_CAT_REJECTED;
    return write_txn(c, reject_txn, &r);
}

int sl__catalog_apply(sl_catalog *c, sl__pub *pub, int64_t now_ms, const char *device_id,
                      const uint8_t *msg, size_t len, sl__cat_result *out)
{
    sl__catmsg m;
    const uint8_t *payload = NULL;
    size_t plen = 0;
    if (c == NULL || out == NULL || (msg == NULL && len > 0))
        return SL_ERR_USAGE;
    memset(out, 0, sizeof *out);
    if (c->read_only)
        return SL_ERR_PERM;
    if (msg == NULL || sl__catmsg_open(msg, len, pub, &m, &payload, &plen, out->reason,
                                       sizeof out->reason) != SL_OK) {
        if (msg == NULL)
            snprintf(out->reason, sizeof out->reason, "empty message");
        return rejected(c, now_ms, out);
    }
    out->type = m.type;
    out->kind = m.kind;
    out->version = m.version;
    out->n_items = m.n_items;
    snprintf(out->scope, sizeof out->scope, "%s", m.scope);
    int ours = strcmp(m.scope, c->store) == 0 ||
               (m.type == SL_CAT_PRICES && strcmp(m.scope, SL_CAT_SCOPE_ALL) == 0);
    if (!ours) {
        snprintf(out->reason, sizeof out->reason, "%s update for store %s, this device is in %s",
                 sl__cat_type_name(m.type), m.scope, c->store);
        return rejected(c, now_ms, out);
    }
    if (m.has_expires && m.expires_at < now_ms) {
        char t[40];
        sl_plat_format_utc(m.expires_at, t, sizeof t);
        snprintf(out->reason, sizeof out->reason, "%s v%llu for %s expired at %s",
                 sl__cat_type_name(m.type), (unsigned long long)m.version, m.scope, t);
        return rejected(c, now_ms, out);
    }
    struct apply a = {&m, payload, plen, now_ms, device_id, out, NULL, NULL, 0};
    int rc = write_txn(c, apply_txn, &a);
    if (rc != SL_OK) {
        /* nothing was committed: what is held did not change */
        sl__catalog_held h;
        out->held_version = sl__catalog_held_get(c, m.type, m.scope, &h) == SL_OK ? h.version : 0;
        snprintf(out->reason, sizeof out->reason, "catalog storage: %s", sl_strerror(rc));
    }
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* Begin a read transaction; SL_ERR_NOT_FOUND when there is nothing yet. */
static int read_begin(sl_catalog *c, MDB_txn **txn)
{
    int rc = c->env == NULL && !c->read_only && sl_plat_exists(c->dir) ? env_open(c) : SL_OK;
    if (rc != SL_OK)
        return rc;
    if (c->env == NULL || !c->have_dbs)
        return SL_ERR_NOT_FOUND;
    return txn_begin(c, MDB_RDONLY, txn);
}

int sl__catalog_stats_get(sl_catalog *c, sl__catalog_stats *st)
{
    MDB_txn *txn;
    uint64_t cnt[CNT_N];
    memset(st, 0, sizeof *st);
    int rc = read_begin(c, &txn);
    if (rc == SL_ERR_NOT_FOUND)
        return SL_OK;
    if (rc != SL_OK)
        return rc;
    if ((rc = read_counters(c, txn, cnt)) == SL_OK) {
        st->applied = cnt[CNT_APPLIED];
        st->stale = cnt[CNT_STALE];
        st->rejected = cnt[CNT_REJECTED];
        st->gaps = cnt[CNT_GAPS];
        MDB_val k = {sizeof META_LAST_REJECT - 1, (void *)META_LAST_REJECT}, v;
        int mrc = mdb_get(txn, c->db_meta, &k, &v);
        if (mrc == 0 && v.mv_size >= 8 && v.mv_size - 8 < sizeof st->last_reject) {
            st->last_reject_ms = (int64_t)get_be64(v.mv_data);
            memcpy(st->last_reject, (uint8_t *)v.mv_data + 8, v.mv_size - 8);
            st->last_reject[v.mv_size - 8] = '\0';
        } else if (mrc != 0 && mrc != MDB_NOTFOUND) {
            rc = sl__mdb_err(mrc);
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int sl__catalog_held_get(sl_catalog *c, int type, const char *scope, sl__catalog_held *h)
{
    MDB_txn *txn;
    memset(h, 0, sizeof *h);
    if (scope == NULL || strlen(scope) > SL_CAT_ID_MAX)
        return SL_ERR_USAGE;
    int rc = read_begin(c, &txn);
    if (rc != SL_OK)
        return rc;
    rc = read_state(c, txn, type, scope, h);
    mdb_txn_abort(txn);
    return rc;
}

int sl__catalog_store(sl_catalog *c, char *out, size_t outsz)
{
    MDB_txn *txn;
    if (outsz > 0)
        out[0] = '\0';
    int rc = read_begin(c, &txn);
    if (rc == SL_ERR_NOT_FOUND)
        return SL_OK;
    if (rc != SL_OK)
        return rc;
    rc = read_store(c, txn, out, outsz);
    mdb_txn_abort(txn);
    return rc;
}

static int sku_ok(const char *sku)
{
    return sku != NULL && strlen(sku) <= SL_SKU_MAX && sku[0] != '\0';
}

/* The entry of (scope, sku) with the latest effective_from <= at. */
static int find_price(sl_catalog *c, MDB_txn *txn, const char *scope, const char *sku,
                      int64_t at, sl_price *out)
{
    uint8_t kb[KEY_MAX];
    size_t n = key2(kb, scope, sku);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->db_price, &cur);
    if (rc != 0)
        return sl__mdb_err(rc);
    MDB_val k = {n, kb}, v;
    int found = 0;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    /* ascending effective_from: the last one <= at wins; few per SKU */
    while (rc == 0 && has_prefix(&k, kb, n)) {
        if (k.mv_size != n + 8 || v.mv_size != 11) {
            mdb_cursor_close(cur);
            return SL_ERR_CORRUPT;
        }
        int64_t eff = (int64_t)get_be64((uint8_t *)k.mv_data + n);
        if (eff > at)
            break;
        found = 1;
        out->effective_from = eff;
        out->price = (int64_t)get_be64(v.mv_data);
        memcpy(out->currency, (uint8_t *)v.mv_data + 8, 3);
        out->currency[3] = '\0';
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return sl__mdb_err(rc);
    return found ? SL_OK : SL_ERR_NOT_FOUND;
}

int sl_price_lookup(sl_catalog *c, const char *sku, int64_t at_ms, sl_price *out)
{
    MDB_txn *txn;
    char store[SL_CAT_ID_MAX + 1];
    sl__catalog_held h;
    if (c == NULL || out == NULL)
        return SL_ERR_USAGE;
    memset(out, 0, sizeof *out);
    if (!sku_ok(sku))
        return SL_ERR_USAGE;
    snprintf(out->sku, sizeof out->sku, "%s", sku);
    int rc = read_begin(c, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = read_store(c, txn, store, sizeof store)) != SL_OK)
        goto out;
    const char *scopes[2] = {store[0] ? store : NULL, SL_CAT_SCOPE_ALL};
    rc = SL_ERR_NOT_FOUND;
    for (int i = 0; i < 2 && rc == SL_ERR_NOT_FOUND; i++) {
        if (scopes[i] == NULL)
            continue;
        rc = find_price(c, txn, scopes[i], sku, at_ms, out);
        if (rc == SL_OK) {
            snprintf(out->scope, sizeof out->scope, "%s", scopes[i]);
            rc = read_state(c, txn, SL_CAT_PRICES, scopes[i], &h);
            if (rc == SL_ERR_NOT_FOUND)
                rc = SL_ERR_CORRUPT;   /* entries without their catalog */
            out->version = h.version;
            out->issued_at = h.issued_at;
            out->received_at = h.received_at;
        }
    }
    if (rc == SL_ERR_NOT_FOUND) {
        /* say which catalog did not have it: the store's, else "all" */
        for (int i = 0; i < 2; i++) {
            if (scopes[i] == NULL)
                continue;
            int src = read_state(c, txn, SL_CAT_PRICES, scopes[i], &h);
            if (src == SL_OK) {
                snprintf(out->scope, sizeof out->scope, "%s", scopes[i]);
                out->version = h.version;
                out->issued_at = h.issued_at;
                out->received_at = h.received_at;
                break;
            }
            if (src != SL_ERR_NOT_FOUND) {
                rc = src;
                break;
            }
        }
    }
out:
    mdb_txn_abort(txn);
    return rc;
}

struct stock_walk {
    const char *sku;
    sl_stock *out;
    int overflow;
};

static int add_checked(struct stock_walk *w, int64_t d)
{
    if (__builtin_add_overflow(w->out->on_hand_milli, d, &w->out->on_hand_milli)) {
        w->overflow = 1;
        return SL_ERR_TOO_LARGE;
    }
    return SL_OK;
}

static int stock_record(const sl_record *rec, void *ctx)
{
    struct stock_walk *w = ctx;
    const sl_event *ev = &rec->ev;
    int touched = 0, rc;
    w->out->last_seq = rec->seq;
    for (size_t i = 0; i < ev->n_lines; i++) {
        const sl_line *l = &ev->lines[i];
        if (strcmp(l->sku, w->sku) != 0)
            continue;
        touched = 1;
        switch (ev->kind) {
        case SL_KIND_SALE:
            rc = add_checked(w, -l->qty_milli);
            break;
        case SL_KIND_RETURN:
            /* only restocked goods are sellable again (NOTES.md) */
            rc = l->disposition == SL_DISP_RESTOCK ? add_checked(w, l->qty_milli) : SL_OK;
            break;
        case SL_KIND_ADJUSTMENT:
            if (ev->reason == SL_REASON_COUNT) {
                /* a count is what is there, not a change */
                w->out->on_hand_milli = l->qty_milli;
                w->out->counted = 1;
                rc = SL_OK;
            } else {
                rc = add_checked(w, l->qty_milli);   /* already signed by reason */
            }
            break;
        case SL_KIND_NONE:
        case SL_KIND_DLQ_DROP:   /* no lines: never reached */
        default:
            rc = SL_OK;
            break;
        }
        if (rc != SL_OK)
            return rc;
    }
    w->out->local_records += (uint64_t)touched;
    return 0;
}

int sl_stock_lookup(sl_catalog *c, sl_journal *j, const char *device_id, const char *sku,
                    sl_stock *out)
{
    MDB_txn *txn;
    sl__catalog_held h;
    if (c == NULL || out == NULL)
        return SL_ERR_USAGE;
    memset(out, 0, sizeof *out);
    if (!sku_ok(sku))
        return SL_ERR_USAGE;
    snprintf(out->sku, sizeof out->sku, "%s", sku);
    int rc = read_begin(c, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = read_store(c, txn, out->store, sizeof out->store)) != SL_OK)
        goto out;
    if (out->store[0] == '\0') {
        rc = SL_ERR_NOT_FOUND;
        goto out;
    }
    if ((rc = read_state(c, txn, SL_CAT_STOCK, out->store, &h)) != SL_OK)
        goto out;
    out->version = h.version;
    out->issued_at = h.issued_at;
    out->received_at = h.received_at;
    uint8_t kb[KEY_MAX];
    MDB_val k = {name_key(kb, out->store, sku), kb}, v;
    if ((rc = mdb_get(txn, c->db_stock, &k, &v)) != 0) {
        rc = sl__mdb_err(rc);
        goto out;
    }
    if (v.mv_size != 8 && v.mv_size != 16) {
        rc = SL_ERR_CORRUPT;
        goto out;
    }
    out->catalog_milli = (int64_t)get_be64(v.mv_data);
    out->on_hand_milli = out->catalog_milli;
    int have_item_wm = v.mv_size == 16;
    uint64_t item_wm = have_item_wm ? get_be64((const uint8_t *)v.mv_data + 8) : 0;
    if (device_id != NULL && sl__cat_id_ok(device_id, strlen(device_id), 0)) {
        k.mv_size = name_key(kb, out->store, device_id);
        k.mv_data = kb;
        int mrc = mdb_get(txn, c->db_wm, &k, &v);
        if (mrc == 0 && v.mv_size == 8)
            /* the watermark that came with this SKU's own figure: a delta
             * moves the device's watermark only for the SKUs it lists */
            out->watermark = have_item_wm ? item_wm : get_be64(v.mv_data);
        else if (mrc != MDB_NOTFOUND)
            rc = mrc == 0 ? SL_ERR_CORRUPT : sl__mdb_err(mrc);
    }
out:
    /* the catalog's read transaction ends before the journal is read: the
     * two are separate environments, and the figures above are copies */
    mdb_txn_abort(txn);
    if (rc != SL_OK || j == NULL)
        return rc;
    if (out->watermark == UINT64_MAX)
        return SL_OK;
    struct stock_walk w = {sku, out, 0};
    rc = sl_journal_foreach(j, out->watermark + 1, 0, stock_record, &w);
    return rc;
}
