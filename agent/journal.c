/*
 * The journal: one LMDB environment in <state_dir>/journal with three named
 * databases (docs/ARCHITECTURE.md, "Journal"):
 *   records  key: seq (8 bytes big-endian)  value: stored record CBOR
 *   txn      key: txn_id                    value: seq (8 BE) + content hash
 *   meta     key: name                      value: see META_* below
 *   dlq      key: seq (8 BE)                value: code (4 BE) + when (8 BE) + reason
 *   dlq_retry key: seq (8 BE)               value: retry asked at (8 BE, Unix ms)
 *   sent     key: first seq (8 BE)          value: last, first sent, last sent,
 *                                           acked (8 BE each), send count (4 BE)
 * Every append is one write transaction committed with LMDB's default
 * durable commit (data pages and meta page fsync'd) before success is
 * reported.  LMDB's writer lock serialises processes, which keeps sequence
 * numbers gapless across several recording processes.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "codec.h"
#include "event.h"
#include "hash.h"
#include "journal_internal.h"
#include "platform.h"

#define FORMAT_VERSION 1u
#define DEFAULT_MAX_MB 512u
#define MIN_MAP (1u << 20)

static const char META_FORMAT[] = "format";   /* u32 BE */
static const char META_TAIL[] = "tail";       /* seq (8 BE) + hash (32) */
static const char META_ACKED[] = "acked";     /* acked_through (8 BE) */
static const char META_ANCHOR[] = "anchor";   /* last pruned: seq (8 BE) + hash (32) */
static const char META_EPOCH[] = "epoch";     /* see EPOCH_* at the end of the file */
static const char META_CLOCK[] = "clock";     /* clock baseline of the last append: wall minus
                                                 time since boot, ms (8 BE, two's complement)
                                                 + boot id (1..64 bytes); see clock_flags */
static const char META_CLOSE[] = "close";     /* seq of the newest day_close (8 BE) */
static const char META_EPOCH_IMPORT[] = "epoch_import";   /* base seq (8 BE) + last (8 BE) */

struct sl_journal {
    MDB_env *env;
    MDB_dbi db_rec, db_txn, db_meta, db_dlq, db_retry, db_sent;
    int read_only;
    int have_dbs;          /* read-only open of a journal never written */
    int have_dlq;
    int have_retry, have_sent;   /* absent in journals older than them (read-only) */
    uint64_t max_bytes;
    uint64_t map_bytes;
    uint64_t reopens;      /* environments reopened after MDB_PANIC */
    int64_t reopened_ms;   /* wall clock of the last one */
    uint64_t follows;      /* epoch switches by another process followed */
    int64_t followed_ms;   /* wall clock of the last one */
    char dir[4096];
    uint8_t buf[SL_RECORD_MAX];   /* encode scratch, one writer per handle */
    uint8_t cbuf[SL_RECORD_MAX];
};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* LMDB codes are translated here and nowhere else */

/* 6 named databases in use; room for more without a format change */
#define JOURNAL_MAXDBS 16

static int open_dbs(sl_journal *j)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(j->env, NULL, j->read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        return sl__mdb_err(rc);
    unsigned fl = j->read_only ? 0 : MDB_CREATE;
    rc = mdb_dbi_open(txn, "records", fl, &j->db_rec);
    if (rc == 0) rc = mdb_dbi_open(txn, "txn", fl, &j->db_txn);
    if (rc == 0) rc = mdb_dbi_open(txn, "meta", fl, &j->db_meta);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "dlq", fl, &j->db_dlq);
        /* a journal written before dead letters existed has none */
        j->have_dlq = rc == 0;
        if (rc == MDB_NOTFOUND && j->read_only)
            rc = 0;
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "dlq_retry", fl, &j->db_retry);
        j->have_retry = rc == 0;
        if (rc == MDB_NOTFOUND && j->read_only)
            rc = 0;
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "sent", fl, &j->db_sent);
        j->have_sent = rc == 0;
        if (rc == MDB_NOTFOUND && j->read_only)
            rc = 0;
    }
    if (rc == MDB_NOTFOUND && j->read_only) {
        mdb_txn_abort(txn);
        j->have_dbs = 0;
        return SL_OK;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return sl__mdb_err(rc);
    }
    MDB_val k = {sizeof META_FORMAT - 1, (void *)META_FORMAT}, v;
    rc = mdb_get(txn, j->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND && !j->read_only) {
        uint8_t fv[4] = {0, 0, 0, FORMAT_VERSION};
        v.mv_size = 4;
        v.mv_data = fv;
        rc = mdb_put(txn, j->db_meta, &k, &v, 0);
    } else if (rc == 0) {
        if (v.mv_size != 4 || ((uint8_t *)v.mv_data)[3] > FORMAT_VERSION) {
            mdb_txn_abort(txn);
            sl_plat_log(SL_LOG_ERR, "journal format is newer than this storelink");
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
    j->have_dbs = 1;
    return sl__mdb_err(rc);
}

/* A new journal is made whole in a directory of its own and renamed into
 * place: a power cut while LMDB writes its first meta pages must not leave
 * a data.mdb no one can open (tests/reliability/10-powerloss.t).  Several
 * processes may race here; the first rename wins and the others discard
 * their copy. */
static int create_journal(sl_journal *j, const char *state_dir)
{
    char path[4200], tmp[4200];
    snprintf(path, sizeof path, "%s/data.mdb", j->dir);
    if (sl_plat_exists(path))
        return SL_OK;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/journal.new.%ld", state_dir, sl_plat_getpid()) >=
        sizeof tmp)
        return SL_ERR_USAGE;
    (void)sl_plat_remove_flat_dir(tmp);
    int rc = sl_plat_mkdir_p(tmp, 0700);
    if (rc != SL_OK)
        return rc;
    MDB_env *env = NULL;
    if ((rc = mdb_env_create(&env)) != 0)
        return sl__mdb_err(rc);
    mdb_env_set_maxdbs(env, JOURNAL_MAXDBS);
    rc = mdb_env_set_mapsize(env, 4 * (size_t)MIN_MAP);
    if (rc == 0)
        rc = mdb_env_open(env, tmp, 0, 0600);
    if (rc != 0) {
        mdb_env_close(env);
        (void)sl_plat_remove_flat_dir(tmp);
        return sl__mdb_err(rc);
    }
    /* open_dbs creates the databases and the format record in one durable
     * commit */
    j->env = env;
    rc = open_dbs(j);
    j->env = NULL;
    j->have_dbs = 0;
    mdb_env_close(env);
    if (rc != SL_OK) {
        (void)sl_plat_remove_flat_dir(tmp);
        return rc;
    }
    /* rename() replaces an empty directory.  A non-empty one means another
     * process was first - or an older storelink was cut off while creating
     * data.mdb in place and left lock.mdb; never delete anything there (a
     * racing process may have just put its journal in place): LMDB then
     * creates data.mdb in place as it always did. */
    rc = sl_plat_rename_dir(tmp, j->dir);
    if (rc == SL_ERR_BUSY) {
        (void)sl_plat_remove_flat_dir(tmp);
        return SL_OK;
    }
    if (rc != SL_OK) {
        (void)sl_plat_remove_flat_dir(tmp);
        return rc;
    }
    return sl_plat_fsync_dir(state_dir);
}

/* Open j->dir's environment (extra: MDB_NOLOCK for a damaged copy that
 * must stay byte-for-byte as found) and its databases. */
static int env_open(sl_journal *j, unsigned extra)
{
    int rc;
    if ((rc = mdb_env_create(&j->env)) != 0) {
        rc = sl__mdb_err(rc);
        return rc;
    }
    mdb_env_set_maxdbs(j->env, JOURNAL_MAXDBS);
    mdb_env_set_maxreaders(j->env, 126);
    /* Always set the map size explicitly: reopening with a smaller one
     * silently yields the used size (NOTES.md). */
    char path[4200];
    uint64_t fsize = 0;
    snprintf(path, sizeof path, "%s/data.mdb", j->dir);
    if (sl_plat_file_size(path, &fsize) != SL_OK)
        fsize = 0;
    uint64_t map = (fsize + MIN_MAP) & ~(uint64_t)(MIN_MAP - 1);
    if (map < 4 * (uint64_t)MIN_MAP)
        map = 4 * (uint64_t)MIN_MAP;
    if (map > j->max_bytes)
        map = j->max_bytes > fsize ? j->max_bytes : fsize;
    if ((rc = mdb_env_set_mapsize(j->env, (size_t)map)) != 0) {
        rc = sl__mdb_err(rc);
        goto fail_env;
    }
    j->map_bytes = map;
    rc = mdb_env_open(j->env, j->dir, (j->read_only ? MDB_RDONLY : 0) | extra, 0600);
    if (rc != 0) {
        rc = sl__mdb_err(rc);
        goto fail_env;
    }
    unsigned flags = 0;
    mdb_env_get_flags(j->env, &flags);
    /* The journal's promise is durability: never run with deferred syncs. */
    if (flags & (MDB_NOSYNC | MDB_MAPASYNC | MDB_WRITEMAP | MDB_NOMETASYNC)) {
        rc = SL_ERR_UNSAFE;
        goto fail_env;
    }
    int dead = 0;
    mdb_reader_check(j->env, &dead);   /* readers left by killed processes */
    if ((rc = open_dbs(j)) != SL_OK)
        goto fail_env;
    return SL_OK;
fail_env:
    mdb_env_close(j->env);
    j->env = NULL;
    return rc;
}

/* Journal epochs (docs/PROTOCOL.md "Journal epochs"), at the end of the file. */
static int epoch_check(sl_journal *j, const char *state_dir);

int sl_journal_open(sl_journal **out, const char *state_dir, const sl_journal_opts *opts)
{
    int rc;
    sl_journal *j = calloc(1, sizeof *j);
    if (j == NULL)
        return SL_ERR_NOMEM;
    j->read_only = opts ? opts->read_only : 0;
    uint64_t max_mb = opts && opts->max_db_mb ? opts->max_db_mb : DEFAULT_MAX_MB;
    j->max_bytes = max_mb << 20;
    if ((size_t)snprintf(j->dir, sizeof j->dir, "%s/journal", state_dir) >= sizeof j->dir) {
        free(j);
        return SL_ERR_USAGE;
    }
    if (!j->read_only) {
        if ((rc = sl_plat_mkdir_p(state_dir, 0700)) != SL_OK ||
            (rc = create_journal(j, state_dir)) != SL_OK)
            goto fail_free;
    } else if ((rc = sl_plat_access_dir(j->dir)) != SL_OK) {
        goto fail_free;   /* missing, or not ours to read */
    }
    if (!j->read_only && (rc = epoch_check(j, state_dir)) != SL_OK)
        goto fail_free;
    if ((rc = env_open(j, 0)) != SL_OK)
        goto fail_free;
    *out = j;
    return SL_OK;
fail_free:
    free(j);
    return rc;
}

void sl_journal_close(sl_journal *j)
{
    if (j == NULL)
        return;
    mdb_env_close(j->env);
    free(j);
}

/* Grow the map after MDB_MAP_FULL (no transaction open).  SL_ERR_FULL at
 * the configured cap. */
static int grow_map(sl_journal *j)
{
    return sl__mdb_grow(j->env, &j->map_bytes, j->max_bytes, "journal");
}

/* Close and reopen the environment of a live handle.  After MDB_PANIC
 * (a failed meta-page write, for one) LMDB refuses every further
 * transaction on that environment until it is closed; the file itself is
 * still the last committed state, so a fresh open carries on.  The handle
 * stays the same pointer: the daemon's sync engine keeps using it. */
static int reopen_env(sl_journal *j)
{
    mdb_env_close(j->env);
    j->env = NULL;
    int rc = mdb_env_create(&j->env);
    if (rc != 0) {
        j->env = NULL;
        return sl__mdb_err(rc);
    }
    mdb_env_set_maxdbs(j->env, JOURNAL_MAXDBS);
    mdb_env_set_maxreaders(j->env, 126);
    unsigned flags = 0;
    if ((rc = mdb_env_set_mapsize(j->env, (size_t)j->map_bytes)) != 0 ||
        (rc = mdb_env_open(j->env, j->dir, j->read_only ? MDB_RDONLY : 0, 0600)) != 0 ||
        (rc = mdb_env_get_flags(j->env, &flags)) != 0) {
        mdb_env_close(j->env);
        j->env = NULL;
        return sl__mdb_err(rc);
    }
    if (flags & (MDB_NOSYNC | MDB_MAPASYNC | MDB_WRITEMAP | MDB_NOMETASYNC)) {
        mdb_env_close(j->env);
        j->env = NULL;
        return SL_ERR_UNSAFE;
    }
    MDB_envinfo ei;
    if (mdb_env_info(j->env, &ei) == 0 && ei.me_mapsize > j->map_bytes)
        j->map_bytes = ei.me_mapsize;   /* another process grew it meanwhile */
    int dead = 0;
    mdb_reader_check(j->env, &dead);
    if ((rc = open_dbs(j)) != SL_OK) {
        mdb_env_close(j->env);
        j->env = NULL;
    }
    return rc;
}

/* Begin a transaction, adopting a map another process has grown, and
 * reopening an environment that an earlier failure left panicked (or that
 * a failed reopen left closed).  Every journal operation starts here with
 * no transaction of this handle open, so the reopen is safe at this point. */
static int txn_begin_env(sl_journal *j, unsigned flags, MDB_txn **txn)
{
    int rc = SL_ERR_IO;
    if (j->env != NULL) {
        rc = sl__mdb_txn_begin(j->env, flags, txn, &j->map_bytes);
        if (rc != SL_ERR_IO)
            return rc;
        /* SL_ERR_IO covers MDB_PANIC: ask LMDB which it was */
        MDB_txn *probe;
        int mrc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &probe);
        if (mrc == 0)
            mdb_txn_abort(probe);
        if (mrc != MDB_PANIC)
            return rc;
    }
    int rrc = reopen_env(j);
    j->reopens++;
    j->reopened_ms = sl_plat_now_ms();
    sl_plat_log(SL_LOG_ERR, "journal: storage failed (LMDB panic), environment reopened: %s",
                rrc == SL_OK ? "ok" : sl_strerror(rrc));
    if (rrc != SL_OK)
        return rrc;
    return sl__mdb_txn_begin(j->env, flags, txn, &j->map_bytes);
}

/* Another process may have found this journal damaged and moved it aside
 * (journal epochs) while this handle was open: 1 when the open file is no
 * longer <dir>/data.mdb (moved, or the directory is being replaced). */
static int moved_aside(sl_journal *j)
{
    char path[4200];
    mdb_filehandle_t fd;
    snprintf(path, sizeof path, "%s/data.mdb", j->dir);
    return j->env != NULL && mdb_env_get_fd(j->env, &fd) == 0 && !sl_plat_same_file(fd, path);
}

/* Follow the epoch switch: the same close + reopen as after MDB_PANIC
 * (reopen_env), now on the new epoch's journal that took the old one's
 * place.  Between the two renames of the switch there is no data.mdb: then
 * leave the handle as it is and let the caller retry (SL_ERR_BUSY). */
static int follow_epoch(sl_journal *j)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", j->dir);
    if (!sl_plat_exists(path)) {
        sl_plat_log(SL_LOG_WARNING, "journal %s is being replaced by another process: retry",
                    j->dir);
        return SL_ERR_BUSY;
    }
    int rc = reopen_env(j);
    j->follows++;
    j->followed_ms = sl_plat_now_ms();
    sl_plat_log(SL_LOG_ERR, "journal %s was moved aside (damaged, new epoch) by another process: "
                "reopened on the new epoch: %s", j->dir, rc == SL_OK ? "ok" : sl_strerror(rc));
    return rc;
}

/* Every transaction of a writable handle checks that its file is still the
 * journal (one stat; for a write transaction under the writer lock, so no
 * writer of the new epoch is racing it) and follows an epoch switch before
 * reading or writing anything: nothing is ever written into the moved-aside
 * copy (it is evidence, and nothing would send those records), and the
 * daemon's acks, dead letters, prune and sync go on in the new epoch. */
static int txn_begin(sl_journal *j, unsigned flags, MDB_txn **txn)
{
    int rc = txn_begin_env(j, flags, txn);
    for (int tries = 0; rc == SL_OK && !j->read_only && moved_aside(j); tries++) {
        mdb_txn_abort(*txn);
        if (tries == 2) {
            sl_plat_log(SL_LOG_ERR, "journal %s keeps being replaced: giving up this time",
                        j->dir);
            return SL_ERR_BUSY;
        }
        if ((rc = follow_epoch(j)) == SL_OK)
            rc = txn_begin_env(j, flags, txn);
    }
    return rc;
}

int sl__journal_follows(const sl_journal *j, uint64_t *n, int64_t *last_ms)
{
    *n = j->follows;
    *last_ms = j->followed_ms;
    return SL_OK;
}

int sl__journal_reopens(const sl_journal *j, uint64_t *n, int64_t *last_ms)
{
    *n = j->reopens;
    *last_ms = j->reopened_ms;
    return SL_OK;
}

static int read_tail(sl_journal *j, MDB_txn *txn, uint64_t *seq, uint8_t hash[32])
{
    MDB_val k = {sizeof META_TAIL - 1, (void *)META_TAIL}, v;
    int rc = mdb_get(txn, j->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *seq = 0;
        memset(hash, 0, 32);
        return SL_OK;
    }
    if (rc != 0)
        return sl__mdb_err(rc);
    if (v.mv_size != 40)
        return SL_ERR_CORRUPT;
    *seq = get_be64(v.mv_data);
    memcpy(hash, (uint8_t *)v.mv_data + 8, 32);
    return SL_OK;
}

/* Decode a stored value into rec and hash it. */
static int decode_stored(const MDB_val *v, sl_record *rec)
{
    int rc = sl__codec_decode(v->mv_data, v->mv_size, SL_ENC_STORED, NULL, &rec->ev,
                              &rec->seq, rec->prev_hash);
    if (rc != SL_OK)
        return rc;
    sl__sha256(v->mv_data, v->mv_size, rec->hash);
    rec->stored_len = v->mv_size;
    return SL_OK;
}

/*
 * Append ev inside txn.  Returns SL_OK (recorded or duplicate), SL_ERR_CONFLICT,
 * or an LMDB-mapped error that aborts the whole transaction.
 */
/* The record flags for "made now" from the clock's trust (measured once per
 * commit: every record in it was made now).  The jump is measured against
 * the baseline the previous appending commit left in the meta database, of
 * whichever process made it, so a POS that runs one `storelink record` per
 * sale sees a step between two sales too.  *base receives the baseline to
 * store; put_clock writes it in the same transaction as the records (no
 * extra sync).  A missing (journal older than the key) or malformed
 * baseline is no jump: the first append stores one. */
static uint32_t clock_flags(sl_journal *j, MDB_txn *txn, sl_plat_clock_base *base)
{
    sl_plat_clock_base prev;
    int have = 0;
    MDB_val k = {sizeof META_CLOCK - 1, (void *)META_CLOCK}, v;
    if (mdb_get(txn, j->db_meta, &k, &v) == 0 && v.mv_size > 8 &&
        v.mv_size <= 8 + SL_PLAT_BOOT_ID_MAX) {
        prev.wall_minus_boot_ms = (int64_t)get_be64(v.mv_data);
        memcpy(prev.boot_id, (uint8_t *)v.mv_data + 8, v.mv_size - 8);
        prev.boot_id[v.mv_size - 8] = '\0';
        have = 1;
    }
    unsigned trust = sl_plat_clock_trust(have ? &prev : NULL, base);
    return ((trust & SL_PLAT_CLOCK_UNSYNC) ? SL_FLAG_CLOCK_UNSYNC : 0) |
           ((trust & SL_PLAT_CLOCK_JUMP) ? SL_FLAG_CLOCK_JUMP : 0);
}

static int put_clock(sl_journal *j, MDB_txn *txn, const sl_plat_clock_base *base)
{
    uint8_t val[8 + SL_PLAT_BOOT_ID_MAX];
    size_t n = strlen(base->boot_id);
    put_be64(val, (uint64_t)base->wall_minus_boot_ms);
    memcpy(val + 8, base->boot_id, n);
    MDB_val k = {sizeof META_CLOCK - 1, (void *)META_CLOCK}, v = {8 + n, val};
    return sl__mdb_err(mdb_put(txn, j->db_meta, &k, &v, 0));
}

/* A new day_close record moves the retention bound (sl__journal_last_close). */
static int put_close(sl_journal *j, MDB_txn *txn, const sl_event *ev, uint64_t seq)
{
    uint8_t val[8];
    if (ev->kind != SL_KIND_DAY_CLOSE)
        return SL_OK;
    put_be64(val, seq);
    MDB_val k = {sizeof META_CLOSE - 1, (void *)META_CLOSE}, v = {8, val};
    return sl__mdb_err(mdb_put(txn, j->db_meta, &k, &v, 0));
}

static int append_one(sl_journal *j, MDB_txn *txn, const sl_event *ev, int64_t now,
                      uint32_t clock, uint64_t *tail_seq, uint8_t tail_hash[32],
                      sl_result *res)
{
    size_t clen, slen;
    uint8_t chash[32];
    /* the clock-trust bits are part of the record, so of its content hash
     * too (journal verify recomputes it from the stored record) */
    uint32_t flags = ev->flags | clock;
    int rc = sl__codec_encode_flags(ev, ev->ts_ms, flags, SL_ENC_CONTENT, 0, NULL, NULL, j->cbuf,
                                    sizeof j->cbuf, &clen);
    if (rc != SL_OK)
        return rc;
    sl__sha256(j->cbuf, clen, chash);

    MDB_val k = {strlen(ev->txn_id), (void *)ev->txn_id}, v;
    rc = mdb_get(txn, j->db_txn, &k, &v);
    if (rc == 0) {
        if (v.mv_size != 40)
            return SL_ERR_CORRUPT;
        uint64_t seq = get_be64(v.mv_data);
        int same = memcmp((uint8_t *)v.mv_data + 8, chash, 32) == 0;
        if (!same || ev->ts_ms != 0) {
            uint8_t key[8];
            put_be64(key, seq);
            MDB_val rk = {8, key}, rv;
            sl_record *rec = malloc(sizeof *rec);
            if (rec == NULL)
                return SL_ERR_NOMEM;
            rc = mdb_get(txn, j->db_rec, &rk, &rv);
            if (rc == 0)
                rc = decode_stored(&rv, rec);
            else
                rc = sl__mdb_err(rc);
            uint32_t alt = ev->flags | (rc == SL_OK ? rec->ev.flags & SL_FLAG_CLOCK_MASK : 0);
            if (rc == SL_OK && !same && alt != flags) {
                /* a retry is the same event even when the clock's trust
                 * changed in between: compare with the original's bits */
                uint8_t ahash[32];
                rc = sl__codec_encode_flags(ev, ev->ts_ms, alt, SL_ENC_CONTENT, 0, NULL, NULL,
                                            j->cbuf, sizeof j->cbuf, &clen);
                if (rc == SL_OK) {
                    sl__sha256(j->cbuf, clen, ahash);
                    same = memcmp((uint8_t *)v.mv_data + 8, ahash, 32) == 0;
                }
            }
            /* an explicit ts must match too; an omitted one means "now"
             * and a retry of the same sale naturally differs there */
            if (rc == SL_OK && same && ev->ts_ms != 0)
                same = rec->ev.ts_ms == ev->ts_ms;
            free(rec);
            if (rc != SL_OK)
                return rc;
        }
        res->seq = seq;
        if (!same) {
            res->err = SL_ERR_CONFLICT;
            snprintf(res->problem.field, sizeof res->problem.field, "txn_id");
            snprintf(res->problem.reason, sizeof res->problem.reason,
                     "already recorded as seq %llu with different content",
                     (unsigned long long)seq);
            return SL_OK;
        }
        res->err = SL_OK;
        res->status = SL_STATUS_DUPLICATE;
        return SL_OK;
    }
    if (rc != MDB_NOTFOUND)
        return sl__mdb_err(rc);

    uint64_t seq = *tail_seq + 1;
    /* the stored record carries the time it was recorded */
    rc = sl__codec_encode_flags(ev, ev->ts_ms ? ev->ts_ms : now, flags, SL_ENC_STORED, seq,
                                tail_hash, NULL, j->buf, sizeof j->buf, &slen);
    if (rc != SL_OK)
        return rc;
    uint8_t key[8], tv[40];
    put_be64(key, seq);
    MDB_val rk = {8, key}, rv = {slen, j->buf};
    rc = mdb_put(txn, j->db_rec, &rk, &rv, MDB_NOOVERWRITE | MDB_APPEND);
    if (rc != 0)
        return sl__mdb_err(rc);
    memcpy(tv, key, 8);
    memcpy(tv + 8, chash, 32);
    v.mv_size = 40;
    v.mv_data = tv;
    rc = mdb_put(txn, j->db_txn, &k, &v, MDB_NOOVERWRITE);
    if (rc != 0)
        return sl__mdb_err(rc);
    if ((rc = put_close(j, txn, ev, seq)) != SL_OK)
        return rc;
    sl__sha256(j->buf, slen, tail_hash);
    *tail_seq = seq;
    res->err = SL_OK;
    res->seq = seq;
    res->status = SL_STATUS_RECORDED;
    return SL_OK;
}

/* One write transaction over the events whose results are still SL_OK. */
static int commit_group(sl_journal *j, const sl_event *const *evs, size_t n,
                        sl_result *results, const int *valid)
{
    int redo = 0;
    for (;;) {
        MDB_txn *txn;
        uint64_t tail_seq;
        uint8_t tail_hash[32];
        int rc = txn_begin(j, 0, &txn);
        if (rc != SL_OK)
            return rc;
        if ((rc = read_tail(j, txn, &tail_seq, tail_hash)) != SL_OK) {
            mdb_txn_abort(txn);
            return rc;
        }
        int64_t now = sl_plat_now_ms();
        sl_plat_clock_base base;
        uint32_t clock = clock_flags(j, txn, &base);
        uint64_t start_seq = tail_seq;
        for (size_t i = 0; i < n && rc == SL_OK; i++) {
            if (!valid[i])
                continue;
            rc = append_one(j, txn, evs[i], now, clock, &tail_seq, tail_hash, &results[i]);
        }
        if (rc == SL_OK && tail_seq != start_seq) {
            uint8_t tv[40];
            put_be64(tv, tail_seq);
            memcpy(tv + 8, tail_hash, 32);
            MDB_val k = {sizeof META_TAIL - 1, (void *)META_TAIL}, v = {40, tv};
            rc = sl__mdb_err(mdb_put(txn, j->db_meta, &k, &v, 0));
            /* only a commit that appends moves the baseline: one of
             * duplicates alone writes nothing (and syncs nothing) */
            if (rc == SL_OK)
                rc = put_clock(j, txn, &base);
        }
        if (rc == SL_OK)
            rc = sl__mdb_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        if (rc == SL_OK && tail_seq != start_seq && moved_aside(j) && redo++ < 2) {
            /* moved aside while this group committed: it may have landed in
             * the damaged copy after the other process read it.  Record the
             * group again in the new epoch; where the switch imported it
             * (with its txn index), that is a duplicate of the same seq. */
            sl_plat_log(SL_LOG_WARNING, "journal moved aside during a commit: recording the "
                        "group again in the new epoch");
            for (size_t i = 0; i < n; i++)
                if (valid[i]) {
                    results[i].seq = 0;
                    results[i].status = 0;
                }
            continue;
        }
        if (rc == SL_ERR_FULL) {
            /* MDB_MAP_FULL poisons the transaction: it is gone; grow the
             * map with no transaction open and redo the whole group */
            int g = grow_map(j);
            if (g == SL_OK)
                continue;
            return g;
        }
        return rc;
    }
}

int sl_journal_record_many(sl_journal *j, const sl_event *const *evs, size_t n,
                           sl_result *results)
{
    if (j == NULL || (n > 0 && (evs == NULL || results == NULL)))
        return SL_ERR_USAGE;
    if (j->read_only)
        return SL_ERR_PERM;
    if (n == 0)
        return SL_OK;
    int *valid = calloc(n, sizeof *valid);
    if (valid == NULL)
        return SL_ERR_NOMEM;
    size_t nvalid = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].err = sl_event_validate(evs[i], &results[i].problem);
        /* a drop must remove its dead letter in the same transaction:
         * only sl__journal_dlq_drop writes one */
        if (results[i].err == SL_OK && evs[i]->kind == SL_KIND_DLQ_DROP) {
            results[i].err = SL_ERR_INVALID;
            snprintf(results[i].problem.field, sizeof results[i].problem.field, "kind");
            snprintf(results[i].problem.reason, sizeof results[i].problem.reason,
                     "dlq_drop records are written by storelink dlq drop only");
        }
        valid[i] = results[i].err == SL_OK;
        nvalid += (size_t)valid[i];
    }
    int rc = SL_OK;
    if (nvalid > 0) {
        rc = commit_group(j, evs, n, results, valid);
        if (rc == SL_ERR_FULL && nvalid > 1) {
            /* at the cap: record what still fits, one event at a time */
            rc = SL_OK;
            for (size_t i = 0; i < n; i++) {
                if (!valid[i])
                    continue;
                int one = commit_group(j, &evs[i], 1, &results[i], &valid[i]);
                if (one != SL_OK) {
                    results[i].err = one;
                    results[i].seq = 0;
                }
            }
        } else if (rc != SL_OK) {
            for (size_t i = 0; i < n; i++)
                if (valid[i]) {
                    results[i].err = rc;
                    results[i].seq = 0;
                }
        }
    }
    free(valid);
    return rc;
}

int sl_journal_record(sl_journal *j, const sl_event *ev, uint64_t *seq,
                      sl_status *status, sl_problem *problem)
{
    sl_result res;
    const sl_event *one[1] = {ev};
    memset(&res, 0, sizeof res);
    int rc = sl_journal_record_many(j, one, 1, &res);
    if (rc == SL_OK)
        rc = res.err;
    if (problem != NULL)
        *problem = res.problem;
    if (rc == SL_OK || rc == SL_ERR_CONFLICT) {
        if (seq) *seq = res.seq;
        if (status) *status = res.status;
    }
    return rc;
}

int sl_journal_get(sl_journal *j, uint64_t seq, sl_record *rec)
{
    if (!j->have_dbs)
        return SL_ERR_NOT_FOUND;
    MDB_txn *txn;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    uint8_t key[8];
    put_be64(key, seq);
    MDB_val k = {8, key}, v;
    rc = mdb_get(txn, j->db_rec, &k, &v);
    rc = rc == 0 ? decode_stored(&v, rec) : sl__mdb_err(rc);
    if (rc == SL_OK && rec->seq != seq)
        rc = SL_ERR_CORRUPT;
    mdb_txn_abort(txn);
    return rc;
}

static int foreach_impl(sl_journal *j, uint64_t from_seq, uint64_t limit, sl_record_fn fn,
                        void *ctx, int with_hash);

int sl_journal_foreach(sl_journal *j, uint64_t from_seq, uint64_t limit,
                       sl_record_fn fn, void *ctx)
{
    return foreach_impl(j, from_seq, limit, fn, ctx, 1);
}

int sl__journal_foreach_nohash(sl_journal *j, uint64_t from_seq, uint64_t limit,
                               sl_record_fn fn, void *ctx)
{
    return foreach_impl(j, from_seq, limit, fn, ctx, 0);
}

static int foreach_impl(sl_journal *j, uint64_t from_seq, uint64_t limit, sl_record_fn fn,
                        void *ctx, int with_hash)
{
    if (!j->have_dbs)
        return SL_OK;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, j->db_rec, &cur)) != 0) {
        mdb_txn_abort(txn);
        return sl__mdb_err(rc);
    }
    sl_record *rec = malloc(sizeof *rec);
    if (rec == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    if (!with_hash)
        memset(rec->hash, 0, sizeof rec->hash);
    uint8_t key[8];
    put_be64(key, from_seq);
    MDB_val k = {8, key}, v;
    uint64_t n = 0;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = SL_OK;
    while (mrc == 0 && (limit == 0 || n < limit)) {
        if (k.mv_size != 8 ||
            (rc = with_hash ? decode_stored(&v, rec)
                            : sl__codec_decode(v.mv_data, v.mv_size, SL_ENC_STORED, NULL,
                                               &rec->ev, &rec->seq, rec->prev_hash)) != SL_OK) {
            rc = SL_ERR_CORRUPT;
            break;
        }
        if ((rc = fn(rec, ctx)) != 0)
            break;
        n++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == SL_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sl__mdb_err(mrc);
out:
    free(rec);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int sl_journal_info_get(sl_journal *j, sl_journal_info *info)
{
    memset(info, 0, sizeof *info);
    MDB_envinfo ei;
    MDB_stat st;
    if (j->env == NULL) {   /* a reopen after a panic failed: try again */
        MDB_txn *t;
        int rc = txn_begin(j, MDB_RDONLY, &t);
        if (rc != SL_OK)
            return rc;
        mdb_txn_abort(t);
    }
    mdb_env_info(j->env, &ei);
    mdb_env_stat(j->env, &st);
    info->used_bytes = (uint64_t)(ei.me_last_pgno + 1) * st.ms_psize;
    info->map_bytes = ei.me_mapsize;
    info->max_bytes = j->max_bytes;
    info->format_version = FORMAT_VERSION;
    if (!j->have_dbs)
        return SL_OK;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = read_tail(j, txn, &info->last_seq, info->tail_hash)) == SL_OK &&
        (rc = sl__mdb_err(mdb_stat(txn, j->db_rec, &st))) == SL_OK) {
        info->records = st.ms_entries;
        if (mdb_cursor_open(txn, j->db_rec, &cur) == 0) {
            MDB_val k, v;
            if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size == 8)
                info->first_seq = get_be64(k.mv_data);
            mdb_cursor_close(cur);
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

/* Is rec still the record its successor (or the journal tail) chains to?
 * Used to tell which side of a broken link was altered: if rec's own hash
 * is what the next link expects, rec is intact and its predecessor was
 * changed. */
static int forward_link_ok(sl_journal *j, MDB_txn *txn, const sl_record *rec)
{
    uint8_t key[8];
    put_be64(key, rec->seq + 1);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, j->db_rec, &k, &v);
    if (rc == MDB_NOTFOUND) {
        uint64_t tail;
        uint8_t th[32];
        return read_tail(j, txn, &tail, th) == SL_OK && tail == rec->seq &&
               memcmp(th, rec->hash, 32) == 0;
    }
    if (rc != 0)
        return 0;
    sl_record *next = malloc(sizeof *next);
    int ok = next != NULL && decode_stored(&v, next) == SL_OK &&
             memcmp(next->prev_hash, rec->hash, 32) == 0;
    free(next);
    return ok;
}

/* Does the stored record still have the content its txn index entry was
 * written with? */
static int content_matches_index(sl_journal *j, MDB_txn *txn, const sl_record *rec)
{
    size_t clen;
    uint8_t chash[32];
    if (sl__codec_encode(&rec->ev, SL_ENC_CONTENT, 0, NULL, NULL, j->cbuf, sizeof j->cbuf,
                         &clen) != SL_OK)
        return 0;
    sl__sha256(j->cbuf, clen, chash);
    MDB_val k = {strlen(rec->ev.txn_id), (void *)rec->ev.txn_id}, v;
    if (mdb_get(txn, j->db_txn, &k, &v) != 0 || v.mv_size != 40)
        return 0;
    return get_be64(v.mv_data) == rec->seq &&
           memcmp((uint8_t *)v.mv_data + 8, chash, 32) == 0;
}

static int verify_fail(sl_verify *v, uint64_t seq, const char *why)
{
    v->first_bad_seq = seq;
    snprintf(v->reason, sizeof v->reason, "%s", why);
    return SL_ERR_CORRUPT;
}

int sl_journal_verify(sl_journal *j, sl_verify *v)
{
    memset(v, 0, sizeof *v);
    if (!j->have_dbs)
        return SL_OK;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, j->db_rec, &cur)) != 0) {
        mdb_txn_abort(txn);
        return sl__mdb_err(rc);
    }
    sl_record *cur_rec = malloc(sizeof *cur_rec), *prev_rec = malloc(sizeof *prev_rec);
    if (cur_rec == NULL || prev_rec == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    uint64_t tail_seq, expect = 0;
    uint8_t tail_hash[32];
    if ((rc = read_tail(j, txn, &tail_seq, tail_hash)) != SL_OK)
        goto out;
    /* after pruning, the first remaining record chains to the anchor */
    uint64_t anchor_seq = 0;
    uint8_t anchor_hash[32];
    memset(anchor_hash, 0, 32);
    {
        MDB_val ak = {sizeof META_ANCHOR - 1, (void *)META_ANCHOR}, av;
        if (mdb_get(txn, j->db_meta, &ak, &av) == 0 && av.mv_size == 40) {
            anchor_seq = get_be64(av.mv_data);
            memcpy(anchor_hash, (uint8_t *)av.mv_data + 8, 32);
        }
    }
    int have_prev = 0;
    MDB_val k, val;
    int mrc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
    while (mrc == 0) {
        uint64_t key = k.mv_size == 8 ? get_be64(k.mv_data) : 0;
        if (expect == 0)
            expect = key;
        if (key != expect) {
            rc = verify_fail(v, expect, "sequence number missing");
            goto out;
        }
        if (decode_stored(&val, cur_rec) != SL_OK) {
            rc = verify_fail(v, key, "record does not decode");
            goto out;
        }
        if (cur_rec->seq != key) {
            rc = verify_fail(v, key, "record's seq differs from its key");
            goto out;
        }
        /* the first record of a journal chains to zeros (anchor_hash is
         * all zeros then), the first after a prune to the anchor */
        if (!have_prev && key != anchor_seq + 1) {
            rc = verify_fail(v, anchor_seq + 1, "records missing at the start of the journal");
            goto out;
        }
        const uint8_t *want = have_prev ? prev_rec->hash : anchor_hash;
        if (memcmp(cur_rec->prev_hash, want, 32) != 0) {
            if (have_prev && forward_link_ok(j, txn, cur_rec))
                rc = verify_fail(v, key - 1, "record content was altered");
            else
                rc = verify_fail(v, key, "prev_hash does not match the previous record");
            goto out;
        }
        /* the idempotency index must still map this txn_id to this
         * record's content, or a retried sale would be recorded twice */
        if (!content_matches_index(j, txn, cur_rec)) {
            rc = verify_fail(v, key, "txn_id index entry missing or altered");
            goto out;
        }
        v->checked++;
        sl_record *t = prev_rec;
        prev_rec = cur_rec;
        cur_rec = t;
        have_prev = 1;
        expect = key + 1;
        mrc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
    }
    if (mrc != MDB_NOTFOUND) {
        rc = sl__mdb_err(mrc);
        goto out;
    }
    MDB_stat ist;
    if (mdb_stat(txn, j->db_txn, &ist) == 0 && ist.ms_entries != v->checked) {
        rc = verify_fail(v, have_prev ? prev_rec->seq : 0,
                         "txn_id index holds entries for records that do not exist");
        goto out;
    }
    if (have_prev) {
        if (tail_seq != prev_rec->seq)
            rc = verify_fail(v, prev_rec->seq, "journal tail does not name the last record");
        else if (memcmp(tail_hash, prev_rec->hash, 32) != 0)
            rc = verify_fail(v, prev_rec->seq, "record content was altered");
    } else if (tail_seq != anchor_seq) {
        rc = verify_fail(v, tail_seq, "records missing");
    }
out:
    free(cur_rec);
    free(prev_rec);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

const char *sl__journal_dir(const sl_journal *j)
{
    return j->dir;
}

static int read_u64(sl_journal *j, MDB_txn *txn, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, j->db_meta, &k, &v);
    *out = 0;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != 0)
        return sl__mdb_err(rc);
    if (v.mv_size != 8)
        return SL_ERR_CORRUPT;
    *out = get_be64(v.mv_data);
    return SL_OK;
}

int sl__journal_acked(sl_journal *j, uint64_t *acked_through)
{
    *acked_through = 0;
    if (!j->have_dbs)
        return SL_OK;
    MDB_txn *txn;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    rc = read_u64(j, txn, META_ACKED, acked_through);
    mdb_txn_abort(txn);
    return rc;
}

/* dead letter value: code (4 BE) + when (8 BE) + reason text */
static int dlq_put(sl_journal *j, MDB_txn *txn, const sl__dead_letter *d, unsigned flags)
{
    uint8_t key[8], val[12 + 96];
    size_t rl = strnlen(d->reason, 96);
    put_be64(key, d->seq);
    val[0] = (uint8_t)(d->code >> 24);
    val[1] = (uint8_t)(d->code >> 16);
    val[2] = (uint8_t)(d->code >> 8);
    val[3] = (uint8_t)d->code;
    put_be64(val + 4, (uint64_t)d->when_ms);
    memcpy(val + 12, d->reason, rl);
    MDB_val k = {8, key}, v = {12 + rl, val};
    int rc = mdb_put(txn, j->db_dlq, &k, &v, flags);
    return rc == MDB_KEYEXIST ? SL_OK : sl__mdb_err(rc);
}

static int dlq_decode(const MDB_val *k, const MDB_val *v, sl__dead_letter *d)
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size != 8 || v->mv_size < 12 || v->mv_size > 12 + 96)
        return SL_ERR_CORRUPT;
    memset(d, 0, sizeof *d);
    d->seq = get_be64(k->mv_data);
    d->code = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    d->when_ms = (int64_t)get_be64(p + 4);
    memcpy(d->reason, p + 12, v->mv_size - 12);
    d->reason[v->mv_size - 12] = '\0';
    return SL_OK;
}

static int del_key(MDB_txn *txn, MDB_dbi db, uint64_t seq)
{
    uint8_t key[8];
    put_be64(key, seq);
    MDB_val k = {8, key};
    int rc = mdb_del(txn, db, &k, NULL);
    return rc == MDB_NOTFOUND ? SL_OK : sl__mdb_err(rc);
}

/* sent value: last, first sent, last sent, acked (8 BE each), count (4 BE) */
#define SENT_VAL 36

static void sent_encode(const sl__sent *e, uint8_t key[8], uint8_t val[SENT_VAL])
{
    put_be64(key, e->first);
    put_be64(val, e->last);
    put_be64(val + 8, (uint64_t)e->first_sent_ms);
    put_be64(val + 16, (uint64_t)e->last_sent_ms);
    put_be64(val + 24, (uint64_t)e->acked_ms);
    val[32] = (uint8_t)(e->count >> 24);
    val[33] = (uint8_t)(e->count >> 16);
    val[34] = (uint8_t)(e->count >> 8);
    val[35] = (uint8_t)e->count;
}

static int sent_decode(const MDB_val *k, const MDB_val *v, sl__sent *e)
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size != 8 || v->mv_size != SENT_VAL)
        return SL_ERR_CORRUPT;
    e->first = get_be64(k->mv_data);
    e->last = get_be64(p);
    e->first_sent_ms = (int64_t)get_be64(p + 8);
    e->last_sent_ms = (int64_t)get_be64(p + 16);
    e->acked_ms = (int64_t)get_be64(p + 24);
    e->count = (uint32_t)p[32] << 24 | (uint32_t)p[33] << 16 | (uint32_t)p[34] << 8 | p[35];
    return SL_OK;
}

/* Merge sends (counts since the last flush) into the sent log, then keep
 * it at SL_SENT_LOG_MAX entries. */
static int sent_merge(sl_journal *j, MDB_txn *txn, const sl__sent *sent, size_t n)
{
    int rc = SL_OK;
    for (size_t i = 0; i < n && rc == SL_OK; i++) {
        sl__sent e = sent[i], old;
        uint8_t key[8], val[SENT_VAL];
        put_be64(key, e.first);
        MDB_val k = {8, key}, v;
        int mrc = mdb_get(txn, j->db_sent, &k, &v);
        if (mrc == 0 && sent_decode(&k, &v, &old) == SL_OK) {
            e.first_sent_ms = old.first_sent_ms;
            e.count += old.count;
            e.acked_ms = old.acked_ms;
            if (old.last > e.last)
                e.last = old.last;
        } else if (mrc != 0 && mrc != MDB_NOTFOUND) {
            return sl__mdb_err(mrc);
        }
        sent_encode(&e, key, val);
        MDB_val nv = {SENT_VAL, val};
        rc = sl__mdb_err(mdb_put(txn, j->db_sent, &k, &nv, 0));
    }
    MDB_stat st;
    if (rc != SL_OK || mdb_stat(txn, j->db_sent, &st) != 0 || st.ms_entries <= SL_SENT_LOG_MAX)
        return rc;
    MDB_cursor *cur;
    if ((rc = sl__mdb_err(mdb_cursor_open(txn, j->db_sent, &cur))) != SL_OK)
        return rc;
    MDB_val k, v;
    for (size_t extra = st.ms_entries - SL_SENT_LOG_MAX; extra > 0 && rc == SL_OK; extra--) {
        if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) != 0)
            break;
        rc = sl__mdb_err(mdb_cursor_del(cur, 0));
    }
    mdb_cursor_close(cur);
    return rc;
}

/* Stamp acked_ms on the newest batches acked_through now covers.  Walks
 * back from the newest entry and stops at the first one already stamped:
 * everything before it was stamped by an earlier ack, so this touches only
 * the batches of this ack (a few), not the log. */
static int sent_mark_acked(sl_journal *j, MDB_txn *txn, uint64_t acked_through, int64_t now)
{
    MDB_cursor *cur;
    int rc = sl__mdb_err(mdb_cursor_open(txn, j->db_sent, &cur));
    if (rc != SL_OK)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    for (unsigned steps = 0; mrc == 0 && steps < 4096; steps++) {
        sl__sent e;
        if ((rc = sent_decode(&k, &v, &e)) != SL_OK)
            break;
        if (e.acked_ms != 0)
            break;
        if (e.last <= acked_through) {
            uint8_t key[8], val[SENT_VAL];
            e.acked_ms = now;
            sent_encode(&e, key, val);
            MDB_val nv = {SENT_VAL, val};
            if ((rc = sl__mdb_err(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT))) != SL_OK)
                break;
        }
        mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    mdb_cursor_close(cur);
    return rc;
}

int sl__journal_ack_apply(sl_journal *j, const sl__ack_apply *a, int *advanced)
{
    *advanced = 0;
    if (j->read_only)
        return SL_ERR_PERM;
    for (;;) {
        MDB_txn *txn;
        uint64_t cur, tail, acked_through = a->acked_through;
        uint8_t th[32];
        int rc = txn_begin(j, 0, &txn);
        if (rc != SL_OK)
            return rc;
        if ((rc = read_u64(j, txn, META_ACKED, &cur)) != SL_OK ||
            (rc = read_tail(j, txn, &tail, th)) != SL_OK) {
            mdb_txn_abort(txn);
            return rc;
        }
        /* never believe an ack for records this journal does not have */
        if (acked_through > tail)
            acked_through = tail;
        int retry_ack = a->retried_first != 0;
        for (size_t i = 0; i < a->n_rejects && rc == SL_OK; i++) {
            uint64_t seq = a->rejects[i].seq;
            int retried = retry_ack && seq >= a->retried_first && seq <= a->retried_last;
            /* a resend after a lost ack lists the same rejects again: keep
             * the first verdict; a retry brings a fresh one */
            rc = dlq_put(j, txn, &a->rejects[i], retried ? 0 : MDB_NOOVERWRITE);
        }
        for (size_t i = 0; i < a->n_accepted && rc == SL_OK; i++) {
            if (a->accepted[i] < a->retried_first || a->accepted[i] > a->retried_last)
                continue;   /* the hub may only settle what it was asked about */
            if ((rc = del_key(txn, j->db_dlq, a->accepted[i])) == SL_OK)
                rc = del_key(txn, j->db_retry, a->accepted[i]);
        }
        /* every retry in the range got its answer: clear the marks (a bounded
         * range, SL_ACK_MAX_REJECTS records at most) */
        for (uint64_t s = a->retried_first; retry_ack && rc == SL_OK && s <= a->retried_last &&
                                            s - a->retried_first < 64; s++)
            rc = del_key(txn, j->db_retry, s);
        if (rc == SL_OK && a->n_sent)
            rc = sent_merge(j, txn, a->sent, a->n_sent);
        if (rc == SL_OK && acked_through > cur) {
            uint8_t val[8];
            put_be64(val, acked_through);
            MDB_val k = {sizeof META_ACKED - 1, (void *)META_ACKED}, v = {8, val};
            rc = sl__mdb_err(mdb_put(txn, j->db_meta, &k, &v, 0));
            if (rc == SL_OK)
                rc = sent_mark_acked(j, txn, acked_through, a->now_ms);
            *advanced = rc == SL_OK;
        }
        if (rc == SL_OK)
            rc = sl__mdb_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        if (rc == SL_ERR_FULL && grow_map(j) == SL_OK) {
            *advanced = 0;
            continue;
        }
        return rc;
    }
}

int sl__journal_ack(sl_journal *j, uint64_t acked_through, const sl__dead_letter *rejects,
                    size_t n_rejects, int *advanced)
{
    sl__ack_apply a = {.acked_through = acked_through, .rejects = rejects,
                       .n_rejects = n_rejects, .now_ms = sl_plat_now_ms()};
    return sl__journal_ack_apply(j, &a, advanced);
}

int sl__journal_sent_log(sl_journal *j, const sl__sent *sent, size_t n)
{
    if (j->read_only)
        return SL_ERR_PERM;
    if (n == 0)
        return SL_OK;
    for (;;) {
        MDB_txn *txn;
        int rc = txn_begin(j, 0, &txn);
        if (rc != SL_OK)
            return rc;
        rc = sent_merge(j, txn, sent, n);
        if (rc == SL_OK)
            rc = sl__mdb_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        if (rc == SL_ERR_FULL && grow_map(j) == SL_OK)
            continue;
        return rc;
    }
}

int sl__journal_sent_find(sl_journal *j, uint64_t seq, sl__sent *out)
{
    if (!j->have_dbs || !j->have_sent)
        return SL_ERR_NOT_FOUND;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = sl__mdb_err(mdb_cursor_open(txn, j->db_sent, &cur))) != SL_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* the entry with the greatest first <= seq */
    uint8_t key[8];
    put_be64(key, seq + 1);
    MDB_val k = {8, key}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    mrc = mrc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
                   : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    rc = SL_ERR_NOT_FOUND;
    if (mrc == 0 && (rc = sent_decode(&k, &v, out)) == SL_OK &&
        (out->first > seq || out->last < seq))
        rc = SL_ERR_NOT_FOUND;
    else if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sl__mdb_err(mrc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int sl__journal_find_txn(sl_journal *j, const char *txn_id, uint64_t *seq)
{
    size_t n = strlen(txn_id);
    if (!j->have_dbs || n == 0 || n > SL_TXN_ID_MAX)
        return SL_ERR_NOT_FOUND;
    MDB_txn *txn;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {n, (void *)txn_id}, v;
    int mrc = mdb_get(txn, j->db_txn, &k, &v);
    if (mrc == 0 && v.mv_size == 40)
        *seq = get_be64(v.mv_data);
    rc = mrc == 0 ? (v.mv_size == 40 ? SL_OK : SL_ERR_CORRUPT) : sl__mdb_err(mrc);
    mdb_txn_abort(txn);
    return rc;
}

static int64_t retry_mark(sl_journal *j, MDB_txn *txn, const MDB_val *k)
{
    MDB_val v;
    if (!j->have_retry || mdb_get(txn, j->db_retry, (MDB_val *)k, &v) != 0 || v.mv_size != 8)
        return 0;
    return (int64_t)get_be64(v.mv_data);
}

int sl__journal_dlq_get(sl_journal *j, uint64_t seq, sl__dead_letter *d)
{
    if (!j->have_dbs || !j->have_dlq)
        return SL_ERR_NOT_FOUND;
    MDB_txn *txn;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    uint8_t key[8];
    put_be64(key, seq);
    MDB_val k = {8, key}, v;
    int mrc = mdb_get(txn, j->db_dlq, &k, &v);
    rc = mrc == 0 ? dlq_decode(&k, &v, d) : sl__mdb_err(mrc);
    if (rc == SL_OK)
        d->retry_ms = retry_mark(j, txn, &k);
    mdb_txn_abort(txn);
    return rc;
}

int sl__journal_dlq_retry(sl_journal *j, uint64_t seq, int64_t now_ms, uint64_t *marked)
{
    *marked = 0;
    if (j->read_only)
        return SL_ERR_PERM;
    for (;;) {
        MDB_txn *txn;
        MDB_cursor *cur = NULL;
        uint8_t key[8], val[8];
        uint64_t n = 0;
        put_be64(val, (uint64_t)now_ms);
        int rc = txn_begin(j, 0, &txn);
        if (rc != SL_OK)
            return rc;
        MDB_val k, v, mv = {8, val};
        if (seq != 0) {
            put_be64(key, seq);
            k.mv_size = 8;
            k.mv_data = key;
            int mrc = mdb_get(txn, j->db_dlq, &k, &v);
            rc = mrc == 0 ? sl__mdb_err(mdb_put(txn, j->db_retry, &k, &mv, 0)) : sl__mdb_err(mrc);
            n = rc == SL_OK;
        } else if ((rc = sl__mdb_err(mdb_cursor_open(txn, j->db_dlq, &cur))) == SL_OK) {
            int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
            while (mrc == 0 && rc == SL_OK) {
                /* the copy: LMDB may move the key while another db is written */
                uint8_t kc[8];
                if (k.mv_size != 8) {
                    rc = SL_ERR_CORRUPT;
                    break;
                }
                memcpy(kc, k.mv_data, 8);
                MDB_val ck = {8, kc};
                rc = sl__mdb_err(mdb_put(txn, j->db_retry, &ck, &mv, 0));
                n++;
                mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            }
            if (rc == SL_OK && mrc != MDB_NOTFOUND)
                rc = sl__mdb_err(mrc);
            mdb_cursor_close(cur);
        }
        if (rc == SL_OK)
            rc = sl__mdb_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        if (rc == SL_ERR_FULL && grow_map(j) == SL_OK)
            continue;
        if (rc == SL_OK)
            *marked = n;
        return rc;
    }
}

int sl__journal_dlq_retry_run(sl_journal *j, uint64_t max, uint64_t *first, uint64_t *n)
{
    *first = *n = 0;
    if (!j->have_dbs || !j->have_retry)
        return SL_OK;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = sl__mdb_err(mdb_cursor_open(txn, j->db_retry, &cur))) != SL_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0 && k.mv_size == 8 && *n < max) {
        uint64_t s = get_be64(k.mv_data);
        if (*n == 0)
            *first = s;
        else if (s != *first + *n)
            break;   /* a gap: the next run is another batch */
        (*n)++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return SL_OK;
}

int sl__journal_dlq_drop(sl_journal *j, const sl_event *drop, uint64_t *seq, sl_problem *problem)
{
    if (j->read_only)
        return SL_ERR_PERM;
    int rc = sl_event_validate(drop, problem);
    if (rc != SL_OK)
        return rc;
    if (drop->kind != SL_KIND_DLQ_DROP)
        return SL_ERR_USAGE;
    for (;;) {
        MDB_txn *txn;
        uint64_t tail_seq;
        uint8_t tail_hash[32], key[8];
        sl_result res;
        sl_plat_clock_base base;
        memset(&res, 0, sizeof res);
        if ((rc = txn_begin(j, 0, &txn)) != SL_OK)
            return rc;
        put_be64(key, drop->target_seq);
        MDB_val k = {8, key}, v;
        int mrc = mdb_get(txn, j->db_dlq, &k, &v);
        rc = sl__mdb_err(mrc);
        if (rc == SL_OK)
            rc = read_tail(j, txn, &tail_seq, tail_hash);
        if (rc == SL_OK)
            rc = append_one(j, txn, drop, sl_plat_now_ms(), clock_flags(j, txn, &base), &tail_seq,
                            tail_hash, &res);
        if (rc == SL_OK && res.err != SL_OK) {
            rc = res.err;
            if (problem)
                *problem = res.problem;
        } else if (rc == SL_OK && res.status == SL_STATUS_DUPLICATE) {
            rc = SL_ERR_CONFLICT;   /* cannot happen while the dead letter exists */
        }
        if (rc == SL_OK) {
            uint8_t tv[40];
            put_be64(tv, tail_seq);
            memcpy(tv + 8, tail_hash, 32);
            MDB_val tk = {sizeof META_TAIL - 1, (void *)META_TAIL}, tvv = {40, tv};
            rc = sl__mdb_err(mdb_put(txn, j->db_meta, &tk, &tvv, 0));
            if (rc == SL_OK)
                rc = put_clock(j, txn, &base);
        }
        if (rc == SL_OK && (rc = del_key(txn, j->db_dlq, drop->target_seq)) == SL_OK)
            rc = del_key(txn, j->db_retry, drop->target_seq);
        if (rc == SL_OK)
            rc = sl__mdb_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        if (rc == SL_ERR_FULL && grow_map(j) == SL_OK)
            continue;
        if (rc == SL_OK)
            *seq = res.seq;
        return rc;
    }
}

int sl__journal_dead_letters(sl_journal *j, int (*fn)(const sl__dead_letter *d, void *ctx),
                             void *ctx)
{
    if (!j->have_dbs || !j->have_dlq)
        return SL_OK;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, j->db_dlq, &cur)) != 0) {
        mdb_txn_abort(txn);
        return sl__mdb_err(rc);
    }
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    rc = SL_OK;
    while (mrc == 0) {
        sl__dead_letter d;
        if ((rc = dlq_decode(&k, &v, &d)) != SL_OK)
            break;
        d.retry_ms = retry_mark(j, txn, &k);
        if ((rc = fn(&d, ctx)) != 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int sl__journal_dead_count(sl_journal *j, uint64_t *n)
{
    *n = 0;
    if (!j->have_dbs || !j->have_dlq)
        return SL_OK;
    MDB_txn *txn;
    MDB_stat st;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    rc = sl__mdb_err(mdb_stat(txn, j->db_dlq, &st));
    if (rc == SL_OK)
        *n = st.ms_entries;
    mdb_txn_abort(txn);
    return rc;
}

int sl__journal_last_close(sl_journal *j, uint64_t *seq)
{
    MDB_txn *txn;
    *seq = 0;
    if (!j->have_dbs)
        return SL_ERR_NOT_FOUND;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {sizeof META_CLOSE - 1, (void *)META_CLOSE}, v;
    int mrc = mdb_get(txn, j->db_meta, &k, &v);
    if (mrc == 0 && v.mv_size == 8)
        *seq = get_be64(v.mv_data);
    else
        rc = mrc == 0 ? SL_ERR_CORRUPT : sl__mdb_err(mrc);
    mdb_txn_abort(txn);
    return rc;
}

int sl__journal_prune(sl_journal *j, int64_t before_ms, size_t max_records, size_t *pruned)
{
    return sl__journal_prune_through(j, before_ms, UINT64_MAX, max_records, pruned);
}

int sl__journal_prune_through(sl_journal *j, int64_t before_ms, uint64_t max_seq,
                              size_t max_records, size_t *pruned)
{
    *pruned = 0;
    if (j->read_only)
        return SL_ERR_PERM;
    MDB_txn *txn;
    MDB_cursor *cur;
    uint64_t acked;
    int rc = txn_begin(j, 0, &txn);
    if (rc != SL_OK)
        return rc;
    if ((rc = read_u64(j, txn, META_ACKED, &acked)) != SL_OK ||
        (rc = sl__mdb_err(mdb_cursor_open(txn, j->db_rec, &cur))) != SL_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    sl_record *rec = malloc(sizeof *rec);
    uint8_t anchor[40];
    MDB_val k, v;
    int mrc = rec ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : ENOMEM;
    while (mrc == 0 && *pruned < max_records) {
        if ((rc = decode_stored(&v, rec)) != SL_OK)
            break;
        /* only what the centre has acknowledged, only when old enough,
         * never past max_seq (a day no close has counted), and never a
         * dead letter (it may still be retried) */
        if (rec->seq > acked || rec->seq > max_seq || rec->ev.ts_ms >= before_ms)
            break;
        MDB_val dk = {8, k.mv_data}, dv;
        if (j->have_dlq && mdb_get(txn, j->db_dlq, &dk, &dv) == 0)
            break;
        MDB_val tk = {strlen(rec->ev.txn_id), rec->ev.txn_id};
        int drc = mdb_del(txn, j->db_txn, &tk, NULL);
        if (drc != 0 && drc != MDB_NOTFOUND) {
            rc = sl__mdb_err(drc);
            break;
        }
        if ((rc = sl__mdb_err(mdb_cursor_del(cur, 0))) != SL_OK)
            break;
        put_be64(anchor, rec->seq);
        memcpy(anchor + 8, rec->hash, 32);
        (*pruned)++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (mrc == EINVAL || mrc == MDB_NOTFOUND)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND && rc == SL_OK)
        rc = sl__mdb_err(mrc);
    mdb_cursor_close(cur);
    if (rc == SL_OK && *pruned > 0) {
        MDB_val ak = {sizeof META_ANCHOR - 1, (void *)META_ANCHOR}, av = {40, anchor};
        rc = sl__mdb_err(mdb_put(txn, j->db_meta, &ak, &av, 0));
    }
    /* the sent log goes with the records it describes */
    if (rc == SL_OK && *pruned > 0 && j->have_sent &&
        (rc = sl__mdb_err(mdb_cursor_open(txn, j->db_sent, &cur))) == SL_OK) {
        uint64_t gone = get_be64(anchor);
        sl__sent e;
        while (rc == SL_OK && mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 &&
               sent_decode(&k, &v, &e) == SL_OK && e.last <= gone)
            rc = sl__mdb_err(mdb_cursor_del(cur, 0));
        mdb_cursor_close(cur);
    }
    free(rec);
    if (rc == SL_OK && *pruned > 0)
        rc = sl__mdb_err(mdb_txn_commit(txn));
    else
        mdb_txn_abort(txn);
    if (rc != SL_OK)
        *pruned = 0;
    return rc;
}

/* ---- journal epochs ----------------------------------------------------
 * A damaged data.mdb must not stop the shop (docs/PROTOCOL.md "Journal
 * epochs").  Every open for writing first checks the journal in a child
 * process (a damaged LMDB file can fault the reader: a page past the end
 * of a truncated file is SIGBUS in an mmap); when it is damaged, the
 * directory is moved aside untouched, a new journal ("epoch") is created
 * that continues the sequence and the chain from the old one's last
 * verified record, and recording goes on. */

#define EPOCH_TAIL_WINDOW 256   /* records checked at every open (cost ~1 ms) */
#define EPOCH_VAL_MIN 52        /* epoch (4) + from seq (8) + hash (32) + when (8) */

typedef struct epoch_probe {
    int32_t damaged;
    uint32_t epoch;             /* the checked journal's epoch (1 when it has none) */
    uint64_t good_seq;          /* scan: last record that decodes and chains */
    uint8_t good_hash[32];
    uint64_t acked;
    uint64_t scanned;
    int have_tail;              /* scan: the damaged copy's meta tail, if readable */
    uint64_t tail_seq;
    uint8_t tail_hash[32];
    char why[120];
} epoch_probe;

typedef struct epoch_ctx {
    const char *dir;
    uint64_t max_bytes;
} epoch_ctx;

/* LMDB 0.9's file layout follows the machine word W (pgno_t, size_t and
 * pointers): 8 on amd64/arm64, 4 on armhf.  Page header: mp_p (W), pad (2),
 * flags (2) at W + 2, lower (2) at W + 4, upper (2): W + 8 bytes.  MDB_meta
 * after it: magic (4), version (4), address (W), mapsize (W), two MDB_db of
 * 8 + 5 W bytes (the first one's md_pad is the page size), last_pg (W),
 * txnid (W).  Nodes are the same everywhere: size lo/hi, flags, key size
 * (2 bytes each), key, value. */
#define LM_W ((unsigned)sizeof(size_t))
#define LM_PAGEHDR (LM_W + 8)
#define LM_PG_FLAGS (LM_W + 2)
#define LM_PG_LOWER (LM_W + 4)
#define LM_META_PSIZE (8 + 2 * LM_W)
#define LM_META_LAST (24 + 12 * LM_W)
#define LM_META_TXN (24 + 13 * LM_W)

static uint64_t lm_word(const uint8_t *p)
{
    if (LM_W == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The newest valid meta page (its txnid in *txnid); 0 with why when there is
 * none.  A file shorter than the last page that meta page names is not damage
 * by itself: LMDB counts pages it allocated and freed again within one
 * transaction (never written) in that number, so a healthy journal can end
 * before it (seen with concurrent writers).  Pages that are referenced and
 * missing fault in the probe's child, which counts as damage. */
static int meta_pages_ok(const char *dir, char *why, size_t whysz, uint64_t *txnid)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    uint64_t fsize;
    if (sl_plat_file_size(path, &fsize) != SL_OK)
        return 1;   /* nothing there yet: LMDB will create it */
    uint8_t m[160];
    uint64_t best_txn = 0, psize = 0;
    int found = 0;
    for (int i = 0; i < 2; i++) {
        size_t got;
        uint64_t off = i == 0 ? 0 : psize;
        if (i == 1 && psize == 0)
            break;
        if (sl_plat_read_at(path, off, m, sizeof m, &got) != SL_OK ||
            got < LM_PAGEHDR + LM_META_TXN + LM_W)
            continue;
        const uint8_t *meta = m + LM_PAGEHDR;
        uint32_t magic, ver, ps;
        memcpy(&magic, meta, 4);
        memcpy(&ver, meta + 4, 4);
        memcpy(&ps, meta + LM_META_PSIZE, 4);
        uint64_t txn = lm_word(meta + LM_META_TXN);
        if (magic != 0xBEEFC0DEu || ver != 1 || ps < 512 || ps > 65536 || (ps & (ps - 1)))
            continue;
        if (i == 0)
            psize = ps;
        if (ps != psize)
            continue;
        if (!found || txn > best_txn)
            best_txn = txn;
        found = 1;
        if (i == 0)
            continue;
    }
    if (txnid != NULL)
        *txnid = best_txn;
    if (!found) {
        snprintf(why, whysz, "no valid meta page");
        return 0;
    }
    return 1;
}

static void epoch_meta_read(sl_journal *j, MDB_txn *txn, epoch_probe *p)
{
    MDB_val k = {sizeof META_EPOCH - 1, (void *)META_EPOCH}, v;
    p->epoch = 1;
    if (mdb_get(txn, j->db_meta, &k, &v) == 0 && v.mv_size >= EPOCH_VAL_MIN)
        p->epoch = (uint32_t)(get_be64(v.mv_data) >> 32);
    uint64_t a;
    if (read_u64(j, txn, META_ACKED, &a) == SL_OK)
        p->acked = a;
}

/* Child: the cheap check of a live journal.  Meta pages against the file
 * size, open, the databases, the last EPOCH_TAIL_WINDOW records (decode,
 * gapless, chained, in the txn index) against the tail, and entry counts.
 * `journal verify` stays the full check. */
static int epoch_probe_fn(void *vctx, void *out, size_t outsz)
{
    epoch_ctx *c = vctx;
    epoch_probe *p = out;
    (void)outsz;
    p->damaged = 1;
    if (!meta_pages_ok(c->dir, p->why, sizeof p->why, NULL))
        return 0;
    sl_journal *j = calloc(1, sizeof *j);
    if (j == NULL) {
        p->damaged = 0;   /* no memory is not damage: let the parent try */
        return 0;
    }
    j->read_only = 1;
    j->max_bytes = c->max_bytes;
    snprintf(j->dir, sizeof j->dir, "%s", c->dir);
    snprintf(p->why, sizeof p->why, "journal does not open");
    int rc = env_open(j, 0);
    if (rc != SL_OK) {
        if (rc != SL_ERR_CORRUPT)
            p->damaged = 0;   /* permissions, disk: not ours to move aside */
        snprintf(p->why, sizeof p->why, "journal does not open: %s", sl_strerror(rc));
        free(j);
        return 0;
    }
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    sl_record *rec = malloc(sizeof *rec);
    if (!j->have_dbs || rec == NULL) {
        p->damaged = !j->have_dbs && rec != NULL;
        snprintf(p->why, sizeof p->why, "journal databases missing");
        goto done;
    }
    if ((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0 ||
        (rc = mdb_cursor_open(txn, j->db_rec, &cur)) != 0) {
        /* only corruption codes are damage; readers full and the like are not */
        p->damaged = sl__mdb_err(rc) == SL_ERR_CORRUPT;
        snprintf(p->why, sizeof p->why, "journal databases do not open: %s", mdb_strerror(rc));
        goto done;
    }
    uint64_t tail_seq, anchor_seq = 0;
    uint8_t tail_hash[32], anchor_hash[32], prev[32];
    memset(anchor_hash, 0, 32);
    if (read_tail(j, txn, &tail_seq, tail_hash) != SL_OK) {
        snprintf(p->why, sizeof p->why, "journal tail unreadable");
        goto done;
    }
    MDB_val ak = {sizeof META_ANCHOR - 1, (void *)META_ANCHOR}, av, k, v;
    if (mdb_get(txn, j->db_meta, &ak, &av) == 0 && av.mv_size == 40) {
        anchor_seq = get_be64(av.mv_data);
        memcpy(anchor_hash, (uint8_t *)av.mv_data + 8, 32);
    }
    epoch_meta_read(j, txn, p);
    MDB_stat st, ist;
    if (mdb_stat(txn, j->db_rec, &st) != 0 || mdb_stat(txn, j->db_txn, &ist) != 0 ||
        tail_seq < anchor_seq || st.ms_entries != tail_seq - anchor_seq) {
        snprintf(p->why, sizeof p->why, "record count does not match the tail");
        goto done;
    }
    /* dlq_drop records have no txn index entry; the count check is the
     * full verify's, so here the index is only probed per record */
    if (tail_seq == anchor_seq) {
        p->damaged = 0;
        goto done;
    }
    uint64_t from = tail_seq - anchor_seq > EPOCH_TAIL_WINDOW ? tail_seq - EPOCH_TAIL_WINDOW
                                                                : anchor_seq + 1;
    /* the window's first link: the record before it, or the anchor */
    memcpy(prev, anchor_hash, 32);
    if (from > anchor_seq + 1) {
        uint8_t key[8];
        put_be64(key, from - 1);
        k.mv_size = 8;
        k.mv_data = key;
        if (mdb_get(txn, j->db_rec, &k, &v) != 0 || decode_stored(&v, rec) != SL_OK ||
            rec->seq != from - 1) {
            snprintf(p->why, sizeof p->why, "record %llu does not decode",
                     (unsigned long long)(from - 1));
            goto done;
        }
        memcpy(prev, rec->hash, 32);
    }
    uint8_t key[8];
    put_be64(key, from);
    k.mv_size = 8;
    k.mv_data = key;
    uint64_t expect = from;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0) {
        if (k.mv_size != 8 || get_be64(k.mv_data) != expect || decode_stored(&v, rec) != SL_OK ||
            rec->seq != expect || memcmp(rec->prev_hash, prev, 32) != 0 ||
            !content_matches_index(j, txn, rec)) {
            snprintf(p->why, sizeof p->why, "record %llu does not decode or chain",
                     (unsigned long long)expect);
            goto done;
        }
        memcpy(prev, rec->hash, 32);
        expect++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_NOTFOUND || expect != tail_seq + 1 || memcmp(prev, tail_hash, 32) != 0) {
        snprintf(p->why, sizeof p->why, "last record %llu does not match the journal tail",
                 (unsigned long long)(expect - 1));
        goto done;
    }
    p->damaged = 0;
    p->why[0] = 0;
done:
    free(rec);
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(j->env);
    free(j);
    return 0;
}

/* Child: scan a damaged journal (opened without its lock file, so not one
 * byte of the copy changes) from its first record as far as records decode
 * and chain.  p->good_* is updated after every record, so a fault part way
 * still reports the last good one (posix_proc.c writes p back). */
static int epoch_scan_fn(void *vctx, void *out, size_t outsz)
{
    epoch_ctx *c = vctx;
    epoch_probe *p = out;
    (void)outsz;
    p->epoch = 1;
    sl_journal *j = calloc(1, sizeof *j);
    sl_record *rec = malloc(sizeof *rec);
    if (j == NULL || rec == NULL)
        goto out;
    j->read_only = 1;
    j->max_bytes = c->max_bytes;
    snprintf(j->dir, sizeof j->dir, "%s", c->dir);
    if (env_open(j, MDB_NOLOCK) != SL_OK || !j->have_dbs)
        goto out;
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn) != 0)
        goto out_env;
    epoch_meta_read(j, txn, p);
    MDB_val ak = {sizeof META_ANCHOR - 1, (void *)META_ANCHOR}, av, k, v;
    int have_anchor = 0;
    if (mdb_get(txn, j->db_meta, &ak, &av) == 0 && av.mv_size == 40) {
        p->good_seq = get_be64(av.mv_data);
        memcpy(p->good_hash, (uint8_t *)av.mv_data + 8, 32);
        have_anchor = 1;
    }
    if (read_tail(j, txn, &p->tail_seq, p->tail_hash) == SL_OK && p->tail_seq > 0)
        p->have_tail = 1;
    /* A record is verified once its successor's prev names its hash (or,
     * for the last one, the meta tail does): cand is the newest record
     * that decodes and links, good the newest verified one.  p->good_* is
     * what a fault hands back. */
    uint64_t cand_seq = p->good_seq;
    uint8_t cand_hash[32];
    memcpy(cand_hash, p->good_hash, 32);
    if (mdb_cursor_open(txn, j->db_rec, &cur) == 0) {
        int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (mrc == 0) {
            if (k.mv_size != 8 || decode_stored(&v, rec) != SL_OK ||
                rec->seq != get_be64(k.mv_data))
                break;
            /* the first record chains to the anchor (zeros for a journal
             * never pruned); without a readable anchor it is taken as is,
             * unverified until its successor links to it */
            if (p->scanned == 0 && !have_anchor && rec->seq != 1) {
                have_anchor = 1;
            } else if (rec->seq != cand_seq + 1 || memcmp(rec->prev_hash, cand_hash, 32) != 0) {
                break;
            } else {
                p->good_seq = cand_seq;
                memcpy(p->good_hash, cand_hash, 32);
            }
            cand_seq = rec->seq;
            memcpy(cand_hash, rec->hash, 32);
            p->scanned++;
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    if (p->have_tail && cand_seq == p->tail_seq && memcmp(cand_hash, p->tail_hash, 32) == 0) {
        p->good_seq = cand_seq;
        memcpy(p->good_hash, cand_hash, 32);
    }
    mdb_txn_abort(txn);
out_env:
    mdb_env_close(j->env);
out:
    free(rec);
    free(j);
    return 0;
}


/* Import (docs/PROTOCOL.md "Journal epochs"): the old epoch's verified
 * records after its acked_through were reported recorded to their clients
 * but the hub may not have them.  They are copied into the new epoch, same
 * bytes and seqs, so the normal sync sends them.  The copies are found like
 * epoch_salvage finds records (plain reads of every page, no mmap), and
 * chosen by following the chain backwards from X's verified hash: each
 * record taken is the one whose hash its successor names, so every byte
 * imported is proven by the chain the scan verified. */
#define IMPORT_MAX ((size_t)1 << 20)   /* copies considered (84 MiB) */

typedef struct imp_cand {
    uint64_t seq, off;
    uint32_t len;
    uint8_t hash[32], prev[32];
} imp_cand;

typedef struct epoch_import {
    uint64_t base;           /* new anchor: the record before the first import */
    uint8_t base_hash[32];
    size_t n;                /* records base+1..X, offsets in the damaged file */
    imp_cand *rec;
} epoch_import;

static int imp_cmp(const void *a, const void *b)
{
    const imp_cand *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Every leaf entry of dir/data.mdb whose 8-byte key is a seq in (lo, hi]
 * and whose value decodes as the record with that seq, read page by page
 * with plain reads (no mmap: the file may be truncated or overwritten),
 * at most max of them, sorted by seq (old page copies of the same record
 * agree; the callers choose by chain).  Layout: LM_* above; a leaf has flag
 * 0x02, node offsets from the header up to mp_lower; a node flag 0x01 is a
 * value on overflow pages, which this does not follow.  *out is the
 * caller's to free. */
static int leaf_records(const char *dir, uint64_t lo, uint64_t hi, size_t max, imp_cand **out,
                        size_t *nout)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    *out = NULL;
    *nout = 0;
    uint64_t fsize;
    uint8_t m[160];
    size_t got;
    uint32_t ps;
    if (sl_plat_file_size(path, &fsize) != SL_OK ||
        sl_plat_read_at(path, 0, m, sizeof m, &got) != SL_OK || got < LM_PAGEHDR + LM_META_PSIZE + 4)
        return SL_ERR_CORRUPT;
    memcpy(&ps, m + LM_PAGEHDR + LM_META_PSIZE, 4);
    if (ps < 512 || ps > 65536 || (ps & (ps - 1)))
        return SL_ERR_CORRUPT;
    int rc = SL_ERR_NOMEM;
    size_t n = 0, cap = 1024;
    uint8_t *pg = malloc(ps);
    imp_cand *c = malloc(sizeof *c * cap);
    sl_record *rec = malloc(sizeof *rec);
    if (pg == NULL || c == NULL || rec == NULL)
        goto out;
    for (uint64_t off = 2 * (uint64_t)ps; off + ps <= fsize && n < max; off += ps) {
        if (sl_plat_read_at(path, off, pg, ps, &got) != SL_OK || got != ps)
            break;
        uint16_t flags, lower;
        memcpy(&flags, pg + LM_PG_FLAGS, 2);
        memcpy(&lower, pg + LM_PG_LOWER, 2);
        if ((flags & 0x7f) != 0x02 || lower < LM_PAGEHDR || lower > ps)
            continue;
        for (unsigned i = LM_PAGEHDR; i + 2 <= lower && n < max; i += 2) {
            uint16_t no, lo16, hi16, nf, ks;
            memcpy(&no, pg + i, 2);
            if ((size_t)no + 16 > ps)
                continue;
            memcpy(&lo16, pg + no, 2);
            memcpy(&hi16, pg + no + 2, 2);
            memcpy(&nf, pg + no + 4, 2);
            memcpy(&ks, pg + no + 6, 2);
            size_t ds = lo16 | ((size_t)hi16 << 16);
            if (ks != 8 || (nf & 1) || (size_t)no + 16 + ds > ps)
                continue;
            uint64_t kseq = get_be64(pg + no + 8);
            if (kseq <= lo || kseq > hi)
                continue;
            MDB_val v = {ds, pg + no + 16};
            if (decode_stored(&v, rec) != SL_OK || rec->seq != kseq)
                continue;
            if (n == cap) {
                imp_cand *t = realloc(c, sizeof *c * cap * 2);
                if (t == NULL)
                    goto out;
                c = t;
                cap *= 2;
            }
            c[n].seq = kseq;
            c[n].off = off + no + 16;
            c[n].len = (uint32_t)ds;
            memcpy(c[n].hash, rec->hash, 32);
            memcpy(c[n].prev, rec->prev_hash, 32);
            n++;
        }
    }
    qsort(c, n, sizeof *c, imp_cmp);
    *out = c;
    *nout = n;
    c = NULL;
    rc = SL_OK;
out:
    free(rec);
    free(c);
    free(pg);
    return rc;
}

static void epoch_import_plan(const char *dir, const epoch_probe *s, epoch_import *im)
{
    im->base = s->good_seq;
    memcpy(im->base_hash, s->good_hash, 32);
    im->n = 0;
    im->rec = NULL;
    uint64_t lo = s->acked;   /* 0 when unreadable: import every verified record */
    if (lo >= s->good_seq)
        return;
    imp_cand *c = NULL;
    size_t n = 0;
    if (leaf_records(dir, lo, s->good_seq, IMPORT_MAX, &c, &n) != SL_OK)
        return;
    if (n == 0)
        goto out;
    /* backwards from X: keep, per seq, the copy the chain names */
    imp_cand *pk = malloc(sizeof *pk * n);
    if (pk == NULL)
        goto out;
    uint8_t need[32];
    memcpy(need, s->good_hash, 32);
    uint64_t seq = s->good_seq;
    size_t hi_i = n, k = 0;
    while (seq > lo) {
        while (hi_i > 0 && c[hi_i - 1].seq > seq)
            hi_i--;
        size_t f = hi_i;
        while (f > 0 && c[f - 1].seq == seq && memcmp(c[f - 1].hash, need, 32) != 0)
            f--;
        if (f == 0 || c[f - 1].seq != seq)
            break;   /* no copy of seq: the new epoch starts after it */
        pk[k++] = c[f - 1];
        memcpy(need, c[f - 1].prev, 32);
        seq--;
    }
    free(c);
    c = pk;
    if (k == 0)
        goto out;
    im->base = seq;
    memcpy(im->base_hash, need, 32);
    for (size_t i = 0; i < k / 2; i++) {   /* ascending */
        imp_cand t = c[i];
        c[i] = c[k - 1 - i];
        c[k - 1 - i] = t;
    }
    im->n = k;
    im->rec = c;
    c = NULL;
out:
    free(c);
}

/* Copy the planned records and their txn index entries into the new
 * epoch's journal (inside its first transaction).  Each record is read
 * again and must hash to what the plan chose. */
static int epoch_import_put(sl_journal *n, MDB_txn *txn, const char *damaged,
                            const epoch_import *im)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", damaged);
    sl_record *rec = malloc(sizeof *rec);
    uint8_t *buf = malloc(65536);
    int rc = rec && buf ? 0 : ENOMEM;
    for (size_t i = 0; i < im->n && rc == 0; i++) {
        const imp_cand *c = &im->rec[i];
        size_t got, clen;
        uint8_t h[32], key[8], iv[40];
        if (c->len > 65536 || sl_plat_read_at(path, c->off, buf, c->len, &got) != SL_OK ||
            got != c->len) {
            rc = EIO;
            break;
        }
        MDB_val v = {c->len, buf};
        sl__sha256(buf, c->len, h);
        if (memcmp(h, c->hash, 32) != 0 || decode_stored(&v, rec) != SL_OK) {
            rc = MDB_CORRUPTED;
            break;
        }
        put_be64(key, c->seq);
        MDB_val k = {8, key};
        if ((rc = mdb_put(txn, n->db_rec, &k, &v, MDB_NOOVERWRITE | MDB_APPEND)) != 0)
            break;
        /* the index entry is derived from the record (content_matches_index) */
        if (sl__codec_encode(&rec->ev, SL_ENC_CONTENT, 0, NULL, NULL, n->cbuf, sizeof n->cbuf,
                             &clen) != SL_OK) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(iv, key, 8);
        sl__sha256(n->cbuf, clen, iv + 8);
        MDB_val tk = {strlen(rec->ev.txn_id), rec->ev.txn_id}, tv = {40, iv};
        rc = mdb_put(txn, n->db_txn, &tk, &tv, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    free(buf);
    free(rec);
    return rc;
}

/* Build the new epoch's journal in tmp: empty, with tail = anchor = the
 * old epoch's last verified record (so seqs continue and the first new
 * record chains to it), acked = at most that, and the epoch record. */
static int epoch_create(sl_journal *j, const char *tmp, const epoch_probe *p, int64_t when,
                        const char *moved_to, const epoch_import *im, const char *src)
{
    sl_journal *n = calloc(1, sizeof *n);
    if (n == NULL)
        return SL_ERR_NOMEM;
    n->max_bytes = j->max_bytes;
    if ((size_t)snprintf(n->dir, sizeof n->dir, "%s", tmp) >= sizeof n->dir) {
        free(n);
        return SL_ERR_USAGE;
    }
    (void)sl_plat_remove_flat_dir(tmp);
    int rc = sl_plat_mkdir_p(tmp, 0700);
    if (rc == SL_OK)
        rc = env_open(n, 0);
    if (rc != SL_OK) {
        free(n);
        return rc;
    }
    /* room for the imported records (each at most a page, plus the index) */
    uint64_t want = n->map_bytes + (uint64_t)im->n * 2 * 4096;
    if (im->n > 0 && want > n->map_bytes) {
        if (want > n->max_bytes)
            want = n->max_bytes;
        if (mdb_env_set_mapsize(n->env, (size_t)want) == 0)
            n->map_bytes = want;
    }
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(n->env, NULL, 0, &txn)) == 0) {
        uint8_t tv[40], ev[EPOCH_VAL_MIN + 128], av[8];
        put_be64(tv, p->good_seq);
        memcpy(tv + 8, p->good_hash, 32);
        put_be64(ev, ((uint64_t)(p->epoch + 1) << 32));
        put_be64(ev + 4, p->good_seq);
        memcpy(ev + 12, p->good_hash, 32);
        put_be64(ev + 44, (uint64_t)when);
        size_t ml = strlen(moved_to);
        if (ml > 128)
            ml = 128;
        memcpy(ev + EPOCH_VAL_MIN, moved_to, ml);
        put_be64(av, p->acked < im->base ? p->acked : im->base);
        MDB_val k, v;
        uint8_t anv[40], iv[16];
        put_be64(anv, im->base);
        memcpy(anv + 8, im->base_hash, 32);
        if (p->good_seq > 0) {
            k.mv_size = sizeof META_TAIL - 1, k.mv_data = (void *)META_TAIL;
            v.mv_size = 40, v.mv_data = tv;
            rc = mdb_put(txn, n->db_meta, &k, &v, 0);
        }
        /* the anchor is the record before the first imported one (X itself
         * when nothing is imported): journal verify chains from it */
        if (rc == 0 && im->base > 0) {
            k.mv_size = sizeof META_ANCHOR - 1, k.mv_data = (void *)META_ANCHOR;
            v.mv_size = 40, v.mv_data = anv;
            rc = mdb_put(txn, n->db_meta, &k, &v, 0);
        }
        if (rc == 0 && im->n > 0) {
            put_be64(iv, im->base);
            put_be64(iv + 8, p->good_seq);
            k.mv_size = sizeof META_EPOCH_IMPORT - 1, k.mv_data = (void *)META_EPOCH_IMPORT;
            v.mv_size = 16, v.mv_data = iv;
            rc = mdb_put(txn, n->db_meta, &k, &v, 0);
            if (rc == 0)
                rc = epoch_import_put(n, txn, src, im);
        }
        if (rc == 0 && get_be64(av) > 0) {
            k.mv_size = sizeof META_ACKED - 1, k.mv_data = (void *)META_ACKED;
            v.mv_size = 8, v.mv_data = av;
            rc = mdb_put(txn, n->db_meta, &k, &v, 0);
        }
        if (rc == 0) {
            k.mv_size = sizeof META_EPOCH - 1, k.mv_data = (void *)META_EPOCH;
            v.mv_size = EPOCH_VAL_MIN + ml, v.mv_data = ev;
            rc = mdb_put(txn, n->db_meta, &k, &v, 0);
        }
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    mdb_env_close(n->env);
    free(n);
    return sl__mdb_err(rc);
}

/* When LMDB cannot walk the damaged copy (a truncated file loses the newest
 * pages, where the tree's root is), read its pages with plain reads - no
 * mmap, nothing to fault - and take every leaf entry with an 8-byte key
 * whose value decodes as a stored record of that seq; then follow the hash
 * chain through them from the lowest seq (layout: LM_* above; a leaf has
 * flag 0x02, node offsets from the header up to mp_lower; a node flag 0x01
 * is a value on overflow pages, which this does not follow).  Old page copies hold
 * the same immutable records, so duplicates agree. */
#define SALVAGE_MAX ((size_t)1 << 20)   /* records considered (84 MiB) */

static void epoch_salvage(const char *dir, epoch_probe *s)
{
    imp_cand *c = NULL;
    size_t n = 0;
    if (leaf_records(dir, 0, UINT64_MAX, SALVAGE_MAX, &c, &n) != SL_OK)
        return;
    if (n == 0)
        goto out;
    /* start at the anchor the LMDB scan read, or at the lowest record */
    uint64_t seq = s->good_seq;
    uint8_t h[32];
    memcpy(h, s->good_hash, 32);
    size_t i = 0;
    if (seq == 0 && c[0].seq != 1) {
        seq = c[0].seq;
        memcpy(h, c[0].hash, 32);
    }
    /* as in the scan: the newest record counts only when the tail names it */
    uint64_t good = seq;
    uint8_t gh[32];
    memcpy(gh, h, 32);
    for (;;) {
        while (i < n && c[i].seq <= seq)
            i++;
        size_t k = i;
        while (k < n && c[k].seq == seq + 1 && memcmp(c[k].prev, h, 32) != 0)
            k++;
        if (k >= n || c[k].seq != seq + 1)
            break;
        good = seq;
        memcpy(gh, h, 32);
        seq++;
        memcpy(h, c[k].hash, 32);
    }
    if (s->have_tail && seq == s->tail_seq && memcmp(h, s->tail_hash, 32) == 0) {
        good = seq;
        memcpy(gh, h, 32);
    }
    if (good > s->good_seq) {
        s->good_seq = good;
        memcpy(s->good_hash, gh, 32);
    }
out:
    free(c);
}

/* Scan the damaged journal in src (its last verified record X, acked),
 * plan the import and build the new epoch's journal in tmp. */
static int epoch_build(sl_journal *j, const char *src, const char *tmp, const epoch_probe *p,
                       int64_t now, const char *moved_base, epoch_probe *s, uint64_t *imp_base)
{
    epoch_ctx c = {src, j->max_bytes};
    int faulted;
    memset(s, 0, sizeof *s);
    (void)sl_plat_run_isolated(epoch_scan_fn, &c, s, sizeof *s, &faulted);
    /* the LMDB walk stops at the first page it cannot reach; pages read
     * one by one may carry the chain further (truncation) */
    epoch_salvage(src, s);
    /* fall back to what the probe could read when the scan found nothing */
    if (s->acked == 0)
        s->acked = p->acked;
    epoch_import im;
    epoch_import_plan(src, s, &im);
    int rc = epoch_create(j, tmp, s, now, moved_base, &im, src);
    if (rc != SL_OK && im.n > 0) {
        /* the import is a rescue, not a condition: start the epoch without it */
        sl_plat_log(SL_LOG_ERR, "journal: importing %zu verified record(s) failed (%s): the new "
                    "epoch starts without them (they stay in the damaged copy)", im.n,
                    sl_strerror(rc));
        free(im.rec);
        im.rec = NULL;
        im.n = 0;
        im.base = s->good_seq;
        memcpy(im.base_hash, s->good_hash, 32);
        rc = epoch_create(j, tmp, s, now, moved_base, &im, src);
    }
    free(im.rec);
    *imp_base = im.base;
    return rc;
}

static int epoch_check(sl_journal *j, const char *state_dir)
{
    epoch_ctx c = {j->dir, j->max_bytes};
    epoch_probe p;
    int faulted;
    memset(&p, 0, sizeof p);
    int rc = sl_plat_run_isolated(epoch_probe_fn, &c, &p, sizeof p, &faulted);
    if (faulted) {
        p.damaged = 1;
        snprintf(p.why, sizeof p.why, "reading the journal crashed its reader");
    } else if (rc != SL_OK) {
        return rc;
    }
    if (!p.damaged)
        return SL_OK;
    sl_plat_log(SL_LOG_ERR, "journal %s is damaged (%s): moving it aside", j->dir, p.why);
    char why[120];
    uint64_t t0 = 0, t1 = 0;
    (void)meta_pages_ok(j->dir, why, sizeof why, &t0);
    int64_t now = sl_plat_now_ms();
    char ts[40], name[64], moved[4300], tmp[4300];
    sl_plat_format_utc(now, ts, sizeof ts);
    /* 2026-11-23T10:20:00.000Z -> 20261123T102000Z (no ':' in file names) */
    size_t o = 0;
    for (size_t i = 0; ts[i] && ts[i] != '.' && o + 1 < sizeof name; i++)
        if (ts[i] != '-' && ts[i] != ':')
            name[o++] = ts[i];
    name[o] = 0;
    char base[96];
    snprintf(base, sizeof base, "journal.damaged-%sZ", name);
    snprintf(moved, sizeof moved, "%s/%s", state_dir, base);
    snprintf(tmp, sizeof tmp, "%s/journal.new.%ld", state_dir, sl_plat_getpid());
    epoch_probe s;
    uint64_t imp_base;
    if ((rc = epoch_build(j, j->dir, tmp, &p, now, base, &s, &imp_base)) != SL_OK) {
        (void)sl_plat_remove_flat_dir(tmp);
        return rc;
    }
    /* the damaged directory is renamed, never copied or deleted: its bytes
     * stay exactly as found, for forensics */
    if ((rc = sl_plat_rename_dir(j->dir, moved)) != SL_OK) {
        (void)sl_plat_remove_flat_dir(tmp);
        return rc == SL_ERR_BUSY ? SL_ERR_CORRUPT : rc;
    }
    /* A handle open on the old file (a running daemon) may have committed
     * after the scan read it and before the rename: those records were
     * reported recorded.  Its meta page's txnid says so: build the new
     * epoch again from the moved copy.  Once moved, such a handle's next
     * transaction sees it and follows the switch; one that committed after
     * this look records its group again in the new epoch (commit_group). */
    for (int tries = 0; tries < 3; tries++) {
        (void)meta_pages_ok(moved, why, sizeof why, &t1);
        if (t1 == t0)
            break;
        sl_plat_log(SL_LOG_WARNING, "journal: another process committed to the damaged journal "
                    "while it was read: reading it again");
        t0 = t1;
        if ((rc = epoch_build(j, moved, tmp, &p, now, base, &s, &imp_base)) != SL_OK) {
            /* put the damaged journal back: the next open tries again */
            (void)sl_plat_remove_flat_dir(tmp);
            (void)sl_plat_rename_dir(moved, j->dir);
            return rc;
        }
    }
    if ((rc = sl_plat_rename_dir(tmp, j->dir)) != SL_OK)
        return rc;
    if ((rc = sl_plat_fsync_dir(state_dir)) != SL_OK)
        return rc;
    sl_plat_log(SL_LOG_ERR, "journal damaged at %s (%s), moved to %s, new epoch %u from seq %llu",
                ts, p.why, moved, s.epoch + 1, (unsigned long long)s.good_seq);
    if (imp_base < s.good_seq)
        sl_plat_log(SL_LOG_ERR, "journal: imported the verified records %llu..%llu the hub had "
                    "not acknowledged into epoch %u", (unsigned long long)(imp_base + 1),
                    (unsigned long long)s.good_seq, s.epoch + 1);
    return SL_OK;
}

int sl__journal_epoch(sl_journal *j, sl__epoch *e)
{
    memset(e, 0, sizeof *e);
    e->epoch = 1;
    if (!j->have_dbs)
        return SL_ERR_NOT_FOUND;
    MDB_txn *txn;
    int rc = txn_begin(j, MDB_RDONLY, &txn);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {sizeof META_EPOCH - 1, (void *)META_EPOCH}, v;
    rc = mdb_get(txn, j->db_meta, &k, &v);
    if (rc == 0 && v.mv_size >= EPOCH_VAL_MIN) {
        const uint8_t *b = v.mv_data;
        e->epoch = (uint32_t)(get_be64(b) >> 32);
        e->from_seq = get_be64(b + 4);
        memcpy(e->from_hash, b + 12, 32);
        e->damaged_ms = (int64_t)get_be64(b + 44);
        size_t ml = v.mv_size - EPOCH_VAL_MIN;
        if (ml >= sizeof e->moved_to)
            ml = sizeof e->moved_to - 1;
        memcpy(e->moved_to, b + EPOCH_VAL_MIN, ml);
        e->moved_to[ml] = 0;
        e->import_base = e->from_seq;
        MDB_val ik = {sizeof META_EPOCH_IMPORT - 1, (void *)META_EPOCH_IMPORT}, iv;
        if (mdb_get(txn, j->db_meta, &ik, &iv) == 0 && iv.mv_size == 16 &&
            get_be64((uint8_t *)iv.mv_data + 8) == e->from_seq &&
            get_be64(iv.mv_data) < e->from_seq)
            e->import_base = get_be64(iv.mv_data);
        rc = SL_OK;
    } else {
        rc = rc == 0 || rc == MDB_NOTFOUND ? SL_ERR_NOT_FOUND : sl__mdb_err(rc);
    }
    mdb_txn_abort(txn);
    return rc;
}

typedef struct bgv_ctx {
    const char *dir;
    uint64_t max_bytes;
    size_t max;
} bgv_ctx;

static void bgv_bad(sl__bgverify *v, uint64_t seq, const char *why)
{
    if (v->bad_this_pass == 0 || seq < v->bad_this_pass)
        v->bad_this_pass = seq;
    v->first_bad = v->bad_this_pass;
    snprintf(v->why, sizeof v->why, "%s", why);
    v->next_seq = 0;   /* start over at the anchor: report the oldest damage */
}

/* Child: one slice of the background verify on an environment of its own
 * (LMDB environments must not cross fork()). */
static int bgv_fn(void *vctx, void *out, size_t outsz)
{
    bgv_ctx *c = vctx;
    sl__bgverify *v = out;
    (void)outsz;
    sl_journal *j = calloc(1, sizeof *j);
    sl_record *rec = malloc(sizeof *rec);
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    if (j == NULL || rec == NULL)
        goto out;
    j->read_only = 1;
    j->max_bytes = c->max_bytes;
    snprintf(j->dir, sizeof j->dir, "%s", c->dir);
    if (env_open(j, 0) != SL_OK)
        goto out;
    if (!j->have_dbs || mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn) != 0 ||
        mdb_cursor_open(txn, j->db_rec, &cur) != 0)
        goto out_env;
    uint64_t tail_seq, anchor_seq = 0;
    uint8_t tail_hash[32], anchor_hash[32];
    memset(anchor_hash, 0, 32);
    if (read_tail(j, txn, &tail_seq, tail_hash) != SL_OK) {
        bgv_bad(v, 0, "journal tail unreadable");
        goto out_env;
    }
    MDB_val ak = {sizeof META_ANCHOR - 1, (void *)META_ANCHOR}, av, k, val;
    if (mdb_get(txn, j->db_meta, &ak, &av) == 0 && av.mv_size == 40) {
        anchor_seq = get_be64(av.mv_data);
        memcpy(anchor_hash, (uint8_t *)av.mv_data + 8, 32);
    }
    if (v->next_seq == 0 || v->next_seq <= anchor_seq) {
        v->next_seq = anchor_seq + 1;   /* a new pass, or retention moved the anchor */
        memcpy(v->prev, anchor_hash, 32);
    }
    uint8_t key[8];
    put_be64(key, v->next_seq);
    k.mv_size = 8;
    k.mv_data = key;
    size_t n = 0;
    int mrc = v->next_seq <= tail_seq ? mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE) : MDB_NOTFOUND;
    while (mrc == 0 && n < c->max && v->next_seq <= tail_seq) {
        if (k.mv_size != 8 || get_be64(k.mv_data) != v->next_seq ||
            decode_stored(&val, rec) != SL_OK || rec->seq != v->next_seq) {
            bgv_bad(v, v->next_seq, "record missing or does not decode");
            goto out_env;
        }
        if (memcmp(rec->prev_hash, v->prev, 32) != 0) {
            bgv_bad(v, v->next_seq, "record does not chain to the one before");
            goto out_env;
        }
        if (!content_matches_index(j, txn, rec)) {
            bgv_bad(v, v->next_seq, "txn index entry missing or different");
            goto out_env;
        }
        memcpy(v->prev, rec->hash, 32);
        v->next_seq++;
        v->checked++;
        n++;
        mrc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
    }
    if (v->next_seq <= tail_seq && n < c->max) {
        bgv_bad(v, v->next_seq, "record missing");
    } else if (v->next_seq > tail_seq) {
        if (tail_seq > anchor_seq && memcmp(v->prev, tail_hash, 32) != 0) {
            bgv_bad(v, tail_seq, "last record does not match the journal tail");
        } else {
            /* a clean pass clears what an earlier one found */
            v->passes++;
            v->first_bad = v->bad_this_pass;
            if (v->bad_this_pass == 0)
                v->why[0] = 0;
            v->bad_this_pass = 0;
            v->next_seq = 0;
        }
    }
out_env:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(j->env);
out:
    free(rec);
    free(j);
    return 0;
}

int sl__journal_bgverify(sl_journal *j, sl__bgverify *v, size_t max)
{
    if (j == NULL || v == NULL || max == 0)
        return SL_ERR_USAGE;
    bgv_ctx c = {j->dir, j->max_bytes, max};
    sl__bgverify out = *v;
    int faulted = 0;
    int rc = sl_plat_run_isolated(bgv_fn, &c, &out, sizeof out, &faulted);
    if (faulted) {
        out = *v;
        bgv_bad(&out, v->next_seq ? v->next_seq : 1, "reading the journal crashed its reader");
    } else if (rc != SL_OK) {
        return rc;
    }
    *v = out;
    return SL_OK;
}
