/* The hub's SQLite store (store.h).  SQLite codes are translated here only. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "platform.h"
#include "store.h"

/* 1: devices, records.  2: + the catalog tables (catalog_*).  3: + journal
 * epochs (epoch_breaks, epoch_records: docs/PROTOCOL.md "Journal epochs").  A version 1
 * file is upgraded by the first open with HUB_STORE_CREATE (the hub's run
 * and publish commands); the report tools read either. */
#define HUB_SCHEMA_VERSION 3
#define HUB_SCHEMA_OLDEST 1

/* Cached statements, prepared on first use. */
enum {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_CHAIN, Q_HASH, Q_INSERT, Q_ADVANCE, Q_STATUS,
    Q_REJECTS, Q_DEVICES, Q_COUNT_ALL, Q_COUNT_DEV, Q_ROWS_ALL, Q_ROWS_DEV,
    Q_CAT_HEAD, Q_CAT_HEAD_PUT, Q_CAT_CLEAR_PRICES, Q_CAT_CLEAR_STOCK, Q_CAT_CLEAR_WM,
    Q_CAT_PRICE_DEL, Q_CAT_PRICE_PUT, Q_CAT_PRICE_PRUNE, Q_CAT_STOCK_PUT, Q_CAT_WM_PUT,
    Q_CAT_PRICES, Q_CAT_STOCK, Q_CAT_WMS, Q_CAT_COUNT_PRICES, Q_CAT_COUNT_STOCK,
    Q_STORE_DEVICES, Q_RSTATUS, Q_REEVAL,
    Q_EPOCH_GET, Q_EPOCH_PUT, Q_EPOCH_COPY, Q_EPOCH_DEL, Q_EPOCH_CHAIN, Q__N
};

static const char *const sql_text[Q__N] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_CHAIN] = "SELECT last_seq, last_hash FROM devices WHERE device = ?1",
    [Q_HASH] = "SELECT hash FROM records WHERE device = ?1 AND seq = ?2",
    [Q_INSERT] =
        "INSERT INTO records (device, store, seq, txn_id, kind, ts, hash, prev, body, status,"
        " code, reason, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
        " ?12, ?13)",
    [Q_ADVANCE] =
        "INSERT INTO devices (device, store, last_seq, last_hash, last_seen_ms,"
        " rejected_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT (device) DO UPDATE SET store = excluded.store,"
        " last_seq = excluded.last_seq, last_hash = excluded.last_hash,"
        " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
        " rejected_count = rejected_count + excluded.rejected_count",
    [Q_STATUS] =
        "INSERT INTO devices (device, store, last_seen_ms, status, status_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?3)"
        " ON CONFLICT (device) DO UPDATE SET store = excluded.store,"
        " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
        " status = excluded.status, status_ms = excluded.status_ms",
    [Q_REJECTS] =
        "SELECT seq, code, reason FROM records WHERE device = ?1 AND seq BETWEEN ?2 AND ?3"
        " AND status = 'rejected' ORDER BY seq",
    [Q_DEVICES] =
        "SELECT device, store, last_seq, last_seen_ms, rejected_count, status_ms,"
        " length(status) FROM devices ORDER BY store, device",
    [Q_COUNT_ALL] = "SELECT count(*) FROM records",
    [Q_COUNT_DEV] = "SELECT count(*) FROM records WHERE device = ?1",
    [Q_ROWS_ALL] =
        "SELECT id, device, store, seq, hash, body, status, code, coalesce(reason, ''),"
        " received_ms FROM records WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_ROWS_DEV] =
        "SELECT id, device, store, seq, hash, body, status, code, coalesce(reason, ''),"
        " received_ms FROM records WHERE device = ?3 AND id > ?1 ORDER BY id LIMIT ?2",
    [Q_CAT_HEAD] =
        "SELECT version, kind, issued_at, expires_in_ms FROM catalog_versions"
        " WHERE type = ?1 AND scope = ?2",
    [Q_CAT_HEAD_PUT] =
        "INSERT INTO catalog_versions (type, scope, version, kind, issued_at, expires_in_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (type, scope) DO UPDATE SET"
        " version = excluded.version, kind = excluded.kind, issued_at = excluded.issued_at,"
        " expires_in_ms = excluded.expires_in_ms",
    [Q_CAT_CLEAR_PRICES] = "DELETE FROM catalog_prices WHERE scope = ?1",
    [Q_CAT_CLEAR_STOCK] = "DELETE FROM catalog_stock WHERE scope = ?1",
    [Q_CAT_CLEAR_WM] = "DELETE FROM catalog_watermarks WHERE scope = ?1",
    [Q_CAT_PRICE_DEL] =
        "DELETE FROM catalog_prices WHERE scope = ?1 AND sku = ?2"
        " AND effective_from BETWEEN ?3 AND ?4",
    [Q_CAT_PRICE_PUT] =
        "INSERT OR REPLACE INTO catalog_prices (scope, sku, effective_from, price, currency)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    /* entries older than the one in effect at ?2 can no longer be the
     * answer to a look-up at or after ?2 */
    [Q_CAT_PRICE_PRUNE] =
        "DELETE FROM catalog_prices WHERE scope = ?1 AND effective_from <"
        " (SELECT max(q.effective_from) FROM catalog_prices AS q WHERE q.scope = ?1"
        " AND q.sku = catalog_prices.sku AND q.effective_from <= ?2)",
    [Q_CAT_STOCK_PUT] =
        "INSERT OR REPLACE INTO catalog_stock (scope, sku, on_hand_milli) VALUES (?1, ?2, ?3)",
    [Q_CAT_WM_PUT] =
        "INSERT OR REPLACE INTO catalog_watermarks (scope, device, seq) VALUES (?1, ?2, ?3)",
    [Q_CAT_PRICES] =
        "SELECT sku, price, currency, effective_from FROM catalog_prices WHERE scope = ?1"
        " ORDER BY sku, effective_from",
    [Q_CAT_STOCK] =
        "SELECT sku, on_hand_milli FROM catalog_stock WHERE scope = ?1 ORDER BY sku",
    [Q_CAT_WMS] =
        "SELECT device, seq FROM catalog_watermarks WHERE scope = ?1 ORDER BY device",
    [Q_CAT_COUNT_PRICES] = "SELECT count(*) FROM catalog_prices WHERE scope = ?1",
    [Q_CAT_COUNT_STOCK] = "SELECT count(*) FROM catalog_stock WHERE scope = ?1",
    [Q_STORE_DEVICES] =
        "SELECT device, last_seq FROM devices WHERE store = ?1 ORDER BY device",
    [Q_RSTATUS] = "SELECT status FROM records WHERE device = ?1 AND seq = ?2",
    [Q_REEVAL] =
        "UPDATE records SET status = ?3, code = ?4, reason = ?5 WHERE device = ?1 AND seq = ?2",
    [Q_EPOCH_GET] = "SELECT max(epoch) FROM epoch_breaks WHERE device = ?1",
    [Q_EPOCH_PUT] =
        "INSERT INTO epoch_breaks (device, epoch, from_seq, from_hash, hub_last_seq, moved, at_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_EPOCH_COPY] =
        "INSERT INTO epoch_records SELECT ?3, device, store, seq, txn_id, kind, ts, hash, prev,"
        " body, status, code, reason, received_ms FROM records WHERE device = ?1 AND seq > ?2",
    [Q_EPOCH_DEL] = "DELETE FROM records WHERE device = ?1 AND seq > ?2",
    [Q_EPOCH_CHAIN] =
        "INSERT INTO devices (device, store, last_seq, last_hash) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (device) DO UPDATE SET last_seq = excluded.last_seq,"
        " last_hash = excluded.last_hash",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS devices ("
    " device TEXT PRIMARY KEY NOT NULL,"
    " store TEXT NOT NULL,"
    " last_seq INTEGER NOT NULL DEFAULT 0,"
    " last_hash BLOB,"
    " last_seen_ms INTEGER NOT NULL DEFAULT 0,"
    " rejected_count INTEGER NOT NULL DEFAULT 0,"
    " status BLOB,"
    " status_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS records ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " device TEXT NOT NULL,"
    " store TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " txn_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " ts INTEGER NOT NULL,"
    " hash BLOB NOT NULL,"
    " prev BLOB NOT NULL,"
    " body BLOB NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'rejected')),"
    " code INTEGER NOT NULL DEFAULT 0,"
    " reason TEXT,"
    " received_ms INTEGER NOT NULL,"
    " UNIQUE (device, seq));"
    "CREATE INDEX IF NOT EXISTS records_device_id ON records (device, id);"
    /* schema 3: journal epochs; a break moves the old epoch's records
     * beyond the break here, kept with the epoch they belonged to */
    "CREATE TABLE IF NOT EXISTS epoch_breaks ("
    " device TEXT NOT NULL, epoch INTEGER NOT NULL, from_seq INTEGER NOT NULL,"
    " from_hash BLOB NOT NULL, hub_last_seq INTEGER NOT NULL, moved INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, PRIMARY KEY (device, epoch)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS epoch_records ("
    " epoch INTEGER NOT NULL, device TEXT NOT NULL, store TEXT NOT NULL, seq INTEGER NOT NULL,"
    " txn_id TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL, hash BLOB NOT NULL,"
    " prev BLOB NOT NULL, body BLOB NOT NULL, status TEXT NOT NULL, code INTEGER NOT NULL,"
    " reason TEXT, received_ms INTEGER NOT NULL, PRIMARY KEY (device, epoch, seq));"
    /* schema 2: what the hub published to the devices (catalog_pub.h) */
    "CREATE TABLE IF NOT EXISTS catalog_versions ("
    " type INTEGER NOT NULL,"
    " scope TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " expires_in_ms INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (type, scope)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS catalog_prices ("
    " scope TEXT NOT NULL,"
    " sku TEXT NOT NULL,"
    " effective_from INTEGER NOT NULL,"
    " price INTEGER NOT NULL,"
    " currency TEXT NOT NULL,"
    " PRIMARY KEY (scope, sku, effective_from)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS catalog_stock ("
    " scope TEXT NOT NULL,"
    " sku TEXT NOT NULL,"
    " on_hand_milli INTEGER NOT NULL,"
    " PRIMARY KEY (scope, sku)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS catalog_watermarks ("
    " scope TEXT NOT NULL,"
    " device TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " PRIMARY KEY (scope, device)) WITHOUT ROWID;";

struct hub_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q__N];
    int in_txn;
};

static int xlate(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return SL_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return SL_ERR_BUSY;
    case SQLITE_NOMEM: return SL_ERR_NOMEM;
    case SQLITE_FULL: return SL_ERR_FULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return SL_ERR_CORRUPT;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH: return SL_ERR_PERM;
    case SQLITE_CONSTRAINT: return SL_ERR_CONFLICT;
    case SQLITE_TOOBIG: return SL_ERR_TOO_LARGE;
    case SQLITE_CANTOPEN: return SL_ERR_NOT_FOUND;
    default: return SL_ERR_IO;
    }
}

static int fail(hub_store *st, int rc, const char *what)
{
    hub_log(SL_LOG_ERR, "database: %s: %s", what, st->db ? sqlite3_errmsg(st->db)
                                                          : sqlite3_errstr(rc));
    return xlate(rc);
}

/* Run a write statement whose bindings ended with b: a failed binding is
 * reported as such (nothing ran), otherwise the step must finish the
 * statement.  The statement is left reset and unbound either way. */
static int step_done(hub_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = SL_OK, src = sqlite3_step(s);
    if (src != SQLITE_DONE)
        rc = fail(st, src, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static int bound_step_done(hub_store *st, sqlite3_stmt *s, int b, const char *bwhat,
                           const char *what)
{
    if (b != SQLITE_OK) {
        sqlite3_clear_bindings(s);
        return fail(st, b, bwhat);
    }
    return step_done(st, s, what);
}

/* The cached statement idx, reset and with its bindings cleared. */
static int stmt(hub_store *st, int idx, sqlite3_stmt **out)
{
    if (st->q[idx] == NULL) {
        int rc = sqlite3_prepare_v3(st->db, sql_text[idx], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->q[idx], NULL);
        if (rc != SQLITE_OK)
            return fail(st, rc, "prepare");
    }
    sqlite3_reset(st->q[idx]);
    sqlite3_clear_bindings(st->q[idx]);
    *out = st->q[idx];
    return SL_OK;
}

/* sqlite3 integers are signed: sequence numbers past 2^63 cannot be stored. */
static int bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        return SQLITE_TOOBIG;
    return sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static int run_simple(hub_store *st, int idx, const char *what)
{
    sqlite3_stmt *s;
    int rc = stmt(st, idx, &s);
    if (rc != SL_OK)
        return rc;
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return fail(st, rc, what);
    return SL_OK;
}

static int pragma_text(hub_store *st, const char *sql, char *out, size_t outsz)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(s, 0);
            snprintf(out, outsz, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            out[0] = '\0';
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SL_OK : fail(st, rc, sql);
}

static int schema_version(hub_store *st, long *v)
{
    char t[32];
    int rc = pragma_text(st, "PRAGMA user_version", t, sizeof t);
    if (rc == SL_OK)
        *v = strtol(t, NULL, 10);
    return rc;
}

static int create_schema(hub_store *st)
{
    long v = 0;
    char *msg = NULL;
    int rc = hub_store_begin(st);
    if (rc != SL_OK)
        return rc;
    if ((rc = schema_version(st, &v)) != SL_OK)
        goto fail;
    if (v > HUB_SCHEMA_VERSION) {
        hub_log(SL_LOG_ERR, "database schema version %ld is newer than this hub (%d)", v,
                HUB_SCHEMA_VERSION);
        rc = SL_ERR_CORRUPT;
        goto fail;
    }
    if (v < HUB_SCHEMA_VERSION) {
        char sql[sizeof schema + 64];
        snprintf(sql, sizeof sql, "%sPRAGMA user_version = %d;", schema, HUB_SCHEMA_VERSION);
        int src = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
        if (src != SQLITE_OK) {
            hub_log(SL_LOG_ERR, "database: creating schema: %s", msg ? msg : "?");
            rc = xlate(src);
            goto fail;
        }
    }
    rc = hub_store_commit(st);
    sqlite3_free(msg);
    return rc;
fail:
    sqlite3_free(msg);
    hub_store_rollback(st);
    return rc;
}

int hub_store_open(hub_store **out, const char *path, int flags)
{
    int create = (flags & HUB_STORE_CREATE) != 0, ro = (flags & HUB_STORE_READONLY) != 0;
    char mode[16];
    long v = 0;
    int rc;
    if (create && ro)
        return SL_ERR_USAGE;
    if (!create && !sl_plat_exists(path))
        return SL_ERR_NOT_FOUND;
    hub_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return SL_ERR_NOMEM;
    int oflags = SQLITE_OPEN_NOMUTEX | (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                 (create ? SQLITE_OPEN_CREATE : 0);
    int src = sqlite3_open_v2(path, &st->db, oflags, NULL);
    if (src != SQLITE_OK) {
        rc = fail(st, src, path);
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if ((src = sqlite3_busy_timeout(st->db, HUB_BUSY_TIMEOUT_MS)) != SQLITE_OK) {
        rc = fail(st, src, "busy_timeout");
        goto fail;
    }
    /* WAL: readers (export) never block the writer; FULL: one fsync per
     * commit, so an ack is only sent for data on disk.  WAL is a property
     * of the file: a read-only connection finds it set by the hub. */
    if (!ro) {
        if ((rc = pragma_text(st, "PRAGMA journal_mode = WAL", mode, sizeof mode)) != SL_OK)
            goto fail;
        if (strcmp(mode, "wal") != 0) {
            hub_log(SL_LOG_ERR, "database %s: cannot use WAL mode (got '%s')", path, mode);
            rc = SL_ERR_UNSAFE;
            goto fail;
        }
        if ((rc = pragma_text(st, "PRAGMA synchronous = FULL", mode, sizeof mode)) != SL_OK)
            goto fail;
    }
    if (create && (rc = create_schema(st)) != SL_OK)
        goto fail;
    if ((rc = schema_version(st, &v)) != SL_OK)
        goto fail;
    if (v < HUB_SCHEMA_OLDEST || v > HUB_SCHEMA_VERSION) {
        hub_log(SL_LOG_ERR, "%s: not a storelink-hub database (schema version %ld)", path, v);
        rc = SL_ERR_CORRUPT;
        goto fail;
    }
    *out = st;
    return SL_OK;
fail:
    hub_store_close(st);
    return rc;
}

void hub_store_close(hub_store *st)
{
    if (st == NULL)
        return;
    if (st->in_txn)
        hub_store_rollback(st);
    for (int i = 0; i < Q__N; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    free(st);
}

int hub_store_begin(hub_store *st)
{
    int rc = run_simple(st, Q_BEGIN, "begin");
    if (rc == SL_OK)
        st->in_txn = 1;
    return rc;
}

int hub_store_commit(hub_store *st)
{
    int rc = run_simple(st, Q_COMMIT, "commit");
    if (rc != SL_OK) {
        hub_store_rollback(st);
        return rc;
    }
    st->in_txn = 0;
    return SL_OK;
}

void hub_store_rollback(hub_store *st)
{
    /* after some errors SQLite has already rolled back: nothing to do */
    if (sqlite3_get_autocommit(st->db) == 0 && run_simple(st, Q_ROLLBACK, "rollback") != SL_OK)
        hub_log(SL_LOG_WARNING, "database: rollback failed");
    st->in_txn = 0;
}

int hub_store_chain_get(hub_store *st, const char *device, hub_chain *c)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CHAIN, &s);
    memset(c, 0, sizeof *c);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        sqlite3_int64 seq = sqlite3_column_int64(s, 0);
        const void *h = sqlite3_column_blob(s, 1);
        int hl = sqlite3_column_bytes(s, 1);
        if (seq < 0 || (h != NULL && hl != 32)) {
            hub_log(SL_LOG_ERR, "database: device %s has a malformed chain state", device);
            rc = SL_ERR_CORRUPT;
        } else {
            c->known = 1;
            c->last_seq = (uint64_t)seq;
            if (h != NULL)
                memcpy(c->last_hash, h, 32);
        }
    } else if (src != SQLITE_DONE) {
        rc = fail(st, src, "reading device chain state");
    }
    sqlite3_reset(s);
    return rc;
}

int hub_store_record_hash(hub_store *st, const char *device, uint64_t seq, uint8_t hash[32])
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_HASH, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    if (bind_u64(s, 2, seq) != SQLITE_OK)
        return SL_ERR_NOT_FOUND;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 0) == 32)
            memcpy(hash, sqlite3_column_blob(s, 0), 32);
        else
            rc = SL_ERR_CORRUPT;
    } else if (src == SQLITE_DONE) {
        rc = SL_ERR_NOT_FOUND;
    } else {
        rc = fail(st, src, "reading record hash");
    }
    sqlite3_reset(s);
    return rc;
}

int hub_store_record_rejected(hub_store *st, const char *device, uint64_t seq, int *rejected)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_RSTATUS, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    if (bind_u64(s, 2, seq) != SQLITE_OK)
        return SL_ERR_NOT_FOUND;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        *rejected = t != NULL && strcmp((const char *)t, "rejected") == 0;
    } else if (src == SQLITE_DONE) {
        rc = SL_ERR_NOT_FOUND;
    } else {
        rc = fail(st, src, "reading record status");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_record_reeval(hub_store *st, const char *device, uint64_t seq, uint32_t code,
                            const char *reason)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_REEVAL, &s);
    if (rc != SL_OK)
        return rc;
    int b = sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = bind_u64(s, 2, seq);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 3, code ? "rejected" : "ok", -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 4, code);
    if (b == SQLITE_OK)
        b = code ? sqlite3_bind_text(s, 5, reason ? reason : "", -1, SQLITE_STATIC)
                 : sqlite3_bind_null(s, 5);
    if (b != SQLITE_OK) {
        sqlite3_clear_bindings(s);
        return fail(st, b, "binding re-evaluation");
    }
    int src = sqlite3_step(s);
    if (src != SQLITE_DONE)
        rc = fail(st, src, "updating record status");
    else if (sqlite3_changes(st->db) != 1)
        rc = SL_ERR_NOT_FOUND;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_record_add(hub_store *st, const hub_record_in *r)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_INSERT, &s);
    if (rc != SL_OK)
        return rc;
    if (r->body_len > INT32_MAX)
        return SL_ERR_TOO_LARGE;
    int b = sqlite3_bind_text(s, 1, r->device, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 2, r->store, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = bind_u64(s, 3, r->seq);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 4, r->ev->txn_id, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 5, sl__kind_name(r->ev->kind), -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 6, r->ev->ts_ms);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(s, 7, r->hash, 32, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(s, 8, r->prev, 32, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(s, 9, r->body, (int)r->body_len, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(s, 10, r->reject_code ? "rejected" : "ok", -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 11, r->reject_code);
    if (b == SQLITE_OK)
        b = r->reason ? sqlite3_bind_text(s, 12, r->reason, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(s, 12);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 13, r->received_ms);
    return bound_step_done(st, s, b, "binding record", "inserting record");
}

int hub_store_device_advance(hub_store *st, const char *device, const char *store,
                             uint64_t last_seq, const uint8_t last_hash[32], int64_t seen_ms,
                             uint64_t new_rejects)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_ADVANCE, &s);
    if (rc != SL_OK)
        return rc;
    int b = sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 2, store, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = bind_u64(s, 3, last_seq);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(s, 4, last_hash, 32, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 5, seen_ms);
    if (b == SQLITE_OK) b = bind_u64(s, 6, new_rejects);
    return bound_step_done(st, s, b, "binding device", "updating device");
}

int hub_store_status_put(hub_store *st, const char *device, const char *store,
                         const void *blob, size_t len, int64_t now_ms)
{
    sqlite3_stmt *s;
    if (len > HUB_STATUS_MAX)
        return SL_ERR_TOO_LARGE;
    int rc = stmt(st, Q_STATUS, &s);
    if (rc != SL_OK)
        return rc;
    int b = sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 2, store, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 3, now_ms);
    /* an empty status (a retained message being cleared) is stored as an
     * empty blob, not NULL */
    if (b == SQLITE_OK) b = sqlite3_bind_blob(s, 4, len ? blob : "", (int)len, SQLITE_STATIC);
    return bound_step_done(st, s, b, "binding status", "storing status");
}

int hub_store_rejects(hub_store *st, const char *device, uint64_t first, uint64_t last,
                      hub_reject_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_REJECTS, &s);
    if (rc != SL_OK)
        return rc;
    if (last > (uint64_t)INT64_MAX)
        last = (uint64_t)INT64_MAX;
    if (first > last)
        return SL_OK;
    sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    bind_u64(s, 2, first);
    bind_u64(s, 3, last);
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *reason = sqlite3_column_text(s, 2);
        sqlite3_int64 code = sqlite3_column_int64(s, 1);
        rc = fn((uint64_t)sqlite3_column_int64(s, 0),
                code < 0 || code > UINT32_MAX ? 0 : (uint32_t)code,
                reason ? (const char *)reason : "", ctx);
        if (rc < 0) {        /* the callback has seen enough */
            rc = SL_OK;
            src = SQLITE_DONE;
            break;
        }
        if (rc != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, "reading rejected records");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_foreach(hub_store *st, int64_t since_id, const char *device, uint64_t limit,
                      hub_row_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    int rc = stmt(st, device ? Q_ROWS_DEV : Q_ROWS_ALL, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_int64(s, 1, since_id);
    sqlite3_bind_int64(s, 2, limit == 0 || limit > (uint64_t)INT64_MAX ? -1
                                                                        : (sqlite3_int64)limit);
    if (device)
        sqlite3_bind_text(s, 3, device, -1, SQLITE_STATIC);
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        hub_row row;
        sqlite3_int64 seq = sqlite3_column_int64(s, 3), code = sqlite3_column_int64(s, 7);
        const unsigned char *status = sqlite3_column_text(s, 6);
        memset(&row, 0, sizeof row);
        row.id = sqlite3_column_int64(s, 0);
        row.device = (const char *)sqlite3_column_text(s, 1);
        row.store = (const char *)sqlite3_column_text(s, 2);
        row.seq = seq < 0 ? 0 : (uint64_t)seq;
        row.hash = sqlite3_column_blob(s, 4);
        int hl = sqlite3_column_bytes(s, 4);
        row.body = sqlite3_column_blob(s, 5);
        row.body_len = (size_t)sqlite3_column_bytes(s, 5);
        row.rejected = status != NULL && strcmp((const char *)status, "rejected") == 0;
        row.reject_code = code < 0 || code > UINT32_MAX ? 0 : (uint32_t)code;
        row.reason = (const char *)sqlite3_column_text(s, 8);
        row.received_ms = sqlite3_column_int64(s, 9);
        if (row.device == NULL || row.store == NULL || row.hash == NULL || hl != 32 ||
            row.body == NULL || row.reason == NULL) {
            hub_log(SL_LOG_ERR, "database: record id %lld is malformed", (long long)row.id);
            rc = SL_ERR_CORRUPT;
            break;
        }
        if ((rc = fn(&row, ctx)) != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, "reading records");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_devices(hub_store *st, hub_device_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_DEVICES, &s);
    if (rc != SL_OK)
        return rc;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        hub_device_row d;
        sqlite3_int64 seq = sqlite3_column_int64(s, 2), rej = sqlite3_column_int64(s, 4);
        d.device = (const char *)sqlite3_column_text(s, 0);
        d.store = (const char *)sqlite3_column_text(s, 1);
        d.last_seq = seq < 0 ? 0 : (uint64_t)seq;
        d.last_seen_ms = sqlite3_column_int64(s, 3);
        d.rejected_count = rej < 0 ? 0 : (uint64_t)rej;
        d.status_ms = sqlite3_column_int64(s, 5);
        d.status_len = (size_t)sqlite3_column_int64(s, 6);
        if (d.device == NULL || d.store == NULL) {
            rc = SL_ERR_CORRUPT;
            break;
        }
        if ((rc = fn(&d, ctx)) != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, "reading devices");
    sqlite3_reset(s);
    return rc;
}

int hub_store_count(hub_store *st, const char *device, uint64_t *n)
{
    sqlite3_stmt *s;
    int rc = stmt(st, device ? Q_COUNT_DEV : Q_COUNT_ALL, &s);
    if (rc != SL_OK)
        return rc;
    if (device)
        sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(s, 0);
    else
        rc = fail(st, src, "counting records");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* ---- catalog (schema 2) ----------------------------------------------------- */

/* Step a statement that returns no rows, then reset it. */
int hub_store_cat_head(hub_store *st, int type, const char *scope, hub_cat_head *h)
{
    sqlite3_stmt *s;
    memset(h, 0, sizeof *h);
    int rc = stmt(st, Q_CAT_HEAD, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_int(s, 1, type);
    sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(s, 0);
        h->version = v < 0 ? 0 : (uint64_t)v;
        h->kind = sqlite3_column_int(s, 1);
        h->issued_at = sqlite3_column_int64(s, 2);
        h->expires_in_ms = sqlite3_column_int64(s, 3);
        if (v < 1)
            rc = SL_ERR_CORRUPT;
    } else if (src == SQLITE_DONE) {
        rc = SL_ERR_NOT_FOUND;
    } else {
        rc = fail(st, src, "reading catalog version");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_cat_head_put(hub_store *st, int type, const char *scope, const hub_cat_head *h)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CAT_HEAD_PUT, &s);
    if (rc != SL_OK)
        return rc;
    int b = sqlite3_bind_int(s, 1, type);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = bind_u64(s, 3, h->version);
    if (b == SQLITE_OK) b = sqlite3_bind_int(s, 4, h->kind);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 5, h->issued_at);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 6, h->expires_in_ms);
    return bound_step_done(st, s, b, "binding catalog version", "storing catalog version");
}

static int scope_stmt(hub_store *st, int idx, const char *scope, const char *what)
{
    sqlite3_stmt *s;
    int rc = stmt(st, idx, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    return step_done(st, s, what);
}

int hub_store_cat_clear(hub_store *st, int type, const char *scope)
{
    if (type == SL_CAT_PRICES)
        return scope_stmt(st, Q_CAT_CLEAR_PRICES, scope, "clearing catalog prices");
    int rc = scope_stmt(st, Q_CAT_CLEAR_STOCK, scope, "clearing catalog stock");
    if (rc == SL_OK)
        rc = scope_stmt(st, Q_CAT_CLEAR_WM, scope, "clearing catalog watermarks");
    return rc;
}

int hub_store_cat_price_put(hub_store *st, const char *scope, const sl__cat_price *p,
                            int64_t issued_at)
{
    sqlite3_stmt *s;
    int64_t top = p->effective_from > issued_at ? p->effective_from : issued_at;
    /* the agent's rule (catmsg.h): the item supersedes its SKU's entries
     * with effective_from in [E, max(E, issued_at)] */
    int rc = stmt(st, Q_CAT_PRICE_DEL, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->sku, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, p->effective_from);
    sqlite3_bind_int64(s, 4, top);
    if ((rc = step_done(st, s, "replacing catalog price")) != SL_OK)
        return rc;
    if ((rc = stmt(st, Q_CAT_PRICE_PUT, &s)) != SL_OK)
        return rc;
    int b = sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 2, p->sku, -1, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(s, 3, p->effective_from);
    if (b == SQLITE_OK) b = bind_u64(s, 4, p->price);
    if (b == SQLITE_OK) b = sqlite3_bind_text(s, 5, p->currency, -1, SQLITE_STATIC);
    return bound_step_done(st, s, b, "binding catalog price", "storing catalog price");
}

int hub_store_cat_prune(hub_store *st, const char *scope, int64_t now_ms)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CAT_PRICE_PRUNE, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    return step_done(st, s, "pruning catalog prices");
}

int hub_store_cat_stock_put(hub_store *st, const char *scope, const sl__cat_stock *item)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CAT_STOCK_PUT, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, item->sku, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, item->on_hand_milli);
    return step_done(st, s, "storing catalog stock");
}

int hub_store_cat_wm_put(hub_store *st, const char *scope, const sl__cat_wm *w)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CAT_WM_PUT, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, w->device, -1, SQLITE_STATIC);
    if (bind_u64(s, 3, w->seq) != SQLITE_OK) {
        sqlite3_clear_bindings(s);
        return SL_ERR_TOO_LARGE;
    }
    return step_done(st, s, "storing catalog watermark");
}

int hub_store_cat_count(hub_store *st, int type, const char *scope, uint64_t *n)
{
    sqlite3_stmt *s;
    int rc = stmt(st, type == SL_CAT_PRICES ? Q_CAT_COUNT_PRICES : Q_CAT_COUNT_STOCK, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(s, 0);
    else
        rc = fail(st, src, "counting catalog items");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* Copy a text column into a fixed buffer; 0 when it is missing or too long. */
static int col_text(sqlite3_stmt *s, int col, char *out, size_t outsz)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    int n = sqlite3_column_bytes(s, col);
    if (t == NULL || n < 0 || (size_t)n >= outsz)
        return 0;
    memcpy(out, t, (size_t)n);
    out[n] = '\0';
    return 1;
}

int hub_store_cat_prices(hub_store *st, const char *scope, hub_cat_price_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CAT_PRICES, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        sl__cat_price p;
        sqlite3_int64 price = sqlite3_column_int64(s, 1);
        memset(&p, 0, sizeof p);
        if (!col_text(s, 0, p.sku, sizeof p.sku) || !col_text(s, 2, p.currency, sizeof p.currency)
            || price < 0) {
            hub_log(SL_LOG_ERR, "database: a catalog price of %s is malformed", scope);
            rc = SL_ERR_CORRUPT;
            break;
        }
        p.price = (uint64_t)price;
        p.effective_from = sqlite3_column_int64(s, 3);
        if ((rc = fn(&p, ctx)) != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, "reading catalog prices");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_cat_stock(hub_store *st, const char *scope, hub_cat_stock_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_CAT_STOCK, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        sl__cat_stock item;
        memset(&item, 0, sizeof item);
        if (!col_text(s, 0, item.sku, sizeof item.sku)) {
            hub_log(SL_LOG_ERR, "database: a catalog stock item of %s is malformed", scope);
            rc = SL_ERR_CORRUPT;
            break;
        }
        item.on_hand_milli = sqlite3_column_int64(s, 1);
        if ((rc = fn(&item, ctx)) != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, "reading catalog stock");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* device, seq rows of statement idx bound to key */
static int wm_rows(hub_store *st, int idx, const char *key, hub_cat_wm_fn fn, void *ctx,
                   const char *what)
{
    sqlite3_stmt *s;
    int rc = stmt(st, idx, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        sl__cat_wm w;
        sqlite3_int64 seq = sqlite3_column_int64(s, 1);
        memset(&w, 0, sizeof w);
        if (!col_text(s, 0, w.device, sizeof w.device) || seq < 0) {
            hub_log(SL_LOG_ERR, "database: %s: malformed row", what);
            rc = SL_ERR_CORRUPT;
            break;
        }
        w.seq = (uint64_t)seq;
        if ((rc = fn(&w, ctx)) != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int hub_store_cat_wms(hub_store *st, const char *scope, hub_cat_wm_fn fn, void *ctx)
{
    return wm_rows(st, Q_CAT_WMS, scope, fn, ctx, "reading catalog watermarks");
}

int hub_store_store_devices(hub_store *st, const char *store, hub_cat_wm_fn fn, void *ctx)
{
    return wm_rows(st, Q_STORE_DEVICES, store, fn, ctx, "reading the devices of a store");
}

/* ---- the fleet view ------------------------------------------------------------ */

/* Prepared per call rather than cached in sql_text: a report command runs
 * it once per process. */
int hub_store_devices_status(hub_store *st, const char *store, hub_device_status_fn fn,
                             void *ctx)
{
    static const char sql[] =
        "SELECT device, store, last_seq, last_seen_ms, rejected_count, status_ms, status"
        " FROM devices WHERE ?1 IS NULL OR store = ?1 ORDER BY store, device";
    sqlite3_stmt *s = NULL;
    int rc = SL_OK, src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (src != SQLITE_OK)
        return fail(st, src, "prepare");
    if (store != NULL)
        src = sqlite3_bind_text(s, 1, store, -1, SQLITE_STATIC);
    if (src != SQLITE_OK) {
        rc = fail(st, src, "binding store");
        goto out;
    }
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        hub_device_row d;
        sqlite3_int64 seq = sqlite3_column_int64(s, 2), rej = sqlite3_column_int64(s, 4);
        d.device = (const char *)sqlite3_column_text(s, 0);
        d.store = (const char *)sqlite3_column_text(s, 1);
        d.last_seq = seq < 0 ? 0 : (uint64_t)seq;
        d.last_seen_ms = sqlite3_column_int64(s, 3);
        d.rejected_count = rej < 0 ? 0 : (uint64_t)rej;
        d.status_ms = sqlite3_column_int64(s, 5);
        const void *blob = sqlite3_column_blob(s, 6);
        int bl = sqlite3_column_bytes(s, 6);
        d.status_len = bl > 0 ? (size_t)bl : 0;
        if (d.device == NULL || d.store == NULL) {
            rc = SL_ERR_CORRUPT;
            break;
        }
        if ((rc = fn(&d, d.status_len ? blob : NULL, d.status_len, ctx)) != 0)
            break;
    }
    if (rc == SL_OK && src != SQLITE_DONE)
        rc = fail(st, src, "reading devices");
out:
    sqlite3_finalize(s);
    return rc;
}

int hub_store_epoch_get(hub_store *st, const char *device, uint32_t *epoch)
{
    sqlite3_stmt *s;
    int rc = stmt(st, Q_EPOCH_GET, &s);
    *epoch = 1;
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            *epoch = (uint32_t)sqlite3_column_int64(s, 0);
    } else {
        rc = fail(st, src, "reading device epoch");
    }
    sqlite3_reset(s);
    return rc;
}

/* One statement with (device, int64, int64) bound, run to completion. */
static int run3(hub_store *st, int q, const char *device, int64_t a, int64_t b, const char *what)
{
    sqlite3_stmt *s;
    int rc = stmt(st, q, &s);
    if (rc != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, a);
    sqlite3_bind_int64(s, 3, b);
    int src = sqlite3_step(s);
    if (src != SQLITE_DONE)
        rc = fail(st, src, what);
    sqlite3_reset(s);
    return rc;
}

int hub_store_epoch_break(hub_store *st, const hub_epoch_break *e, uint64_t *moved)
{
    int rc;
    *moved = 0;
    if (e->hub_last_seq > e->from_seq) {
        if ((rc = run3(st, Q_EPOCH_COPY, e->device, (int64_t)e->from_seq, e->old_epoch,
                       "keeping the old epoch's records")) != SL_OK)
            return rc;
        *moved = (uint64_t)sqlite3_changes(st->db);
        if ((rc = run3(st, Q_EPOCH_DEL, e->device, (int64_t)e->from_seq, 0,
                       "moving the old epoch's records")) != SL_OK)
            return rc;
    }
    sqlite3_stmt *s;
    if ((rc = stmt(st, Q_EPOCH_PUT, &s)) != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, e->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, e->epoch);
    sqlite3_bind_int64(s, 3, (int64_t)e->from_seq);
    sqlite3_bind_blob(s, 4, e->from_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (int64_t)e->hub_last_seq);
    sqlite3_bind_int64(s, 6, (int64_t)*moved);
    sqlite3_bind_int64(s, 7, e->now_ms);
    int src = sqlite3_step(s);
    if (src != SQLITE_DONE)
        rc = fail(st, src, "recording an epoch break");
    sqlite3_reset(s);
    if (rc != SL_OK || (rc = stmt(st, Q_EPOCH_CHAIN, &s)) != SL_OK)
        return rc;
    sqlite3_bind_text(s, 1, e->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, e->store, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)e->chain_seq);
    sqlite3_bind_blob(s, 4, e->chain_hash, 32, SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src != SQLITE_DONE)
        rc = fail(st, src, "moving the device's chain to the new epoch");
    sqlite3_reset(s);
    return rc;
}
