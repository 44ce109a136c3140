/* journal_internal.h - journal functions shared inside the agent only:
 * sync state (what the central side has acknowledged) and dead letters. */
#ifndef SL_JOURNAL_INTERNAL_H
#define SL_JOURNAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

/* Directory of the LMDB environment (borrowed, lives as long as j). */
const char *sl__journal_dir(const sl_journal *j);

/* How often this handle reopened its environment after MDB_PANIC, and the
 * wall-clock ms of the last time (0, 0: never).  For the daemon's alarm. */
int sl__journal_reopens(const sl_journal *j, uint64_t *n, int64_t *last_ms);

/* How often this handle followed an epoch switch made by another process
 * (the journal was found damaged and moved aside while this handle had it
 * open: docs/PROTOCOL.md "Journal epochs"), and the wall-clock ms of the
 * last time (0, 0: never).  For the daemon, which then resyncs. */
int sl__journal_follows(const sl_journal *j, uint64_t *n, int64_t *last_ms);

/* sl_journal_foreach without hashing each record (rec->hash is zeros):
 * for readers that need only the chain's prev hashes, like the batch
 * builder, where SHA-256 was a quarter of the cost per synced record. */
int sl__journal_foreach_nohash(sl_journal *j, uint64_t from_seq, uint64_t limit,
                               sl_record_fn fn, void *ctx);

/* Highest seq the central side has acknowledged (0 = none). */
int sl__journal_acked(sl_journal *j, uint64_t *acked_through);

typedef struct sl__dead_letter {
    uint64_t seq;
    uint32_t code;
    int64_t when_ms;         /* when the hub's (latest) verdict arrived */
    char reason[97];
    int64_t retry_ms;        /* `dlq retry` asked at this time; 0 = no retry pending
                                (filled by the readers, ignored by sl__journal_ack) */
} sl__dead_letter;

/* One entry of the sent-batch log (db `sent`, docs/ARCHITECTURE.md): a
 * batch first..last, when it was first and last sent, how often, and when
 * the hub's ack covered it (0 = not yet).  For `storelink trace`. */
typedef struct sl__sent {
    uint64_t first, last;
    int64_t first_sent_ms, last_sent_ms, acked_ms;   /* wall clock, Unix ms */
    uint32_t count;
} sl__sent;

#define SL_SENT_LOG_MAX 20000   /* entries kept; the oldest go first */

/* Everything one ack changes, applied in one write transaction
 * (docs/PROTOCOL.md "Ack", "Dead letters"). */
typedef struct sl__ack_apply {
    uint64_t acked_through;
    const sl__dead_letter *rejects;    /* the ack's rejects */
    size_t n_rejects;
    uint64_t retried_first;            /* retry ack: the range the hub re-evaluated, */
    uint64_t retried_last;             /* 0/0 otherwise */
    const uint64_t *accepted;          /* retry ack: seqs the hub now holds as ok */
    size_t n_accepted;
    const sl__sent *sent;              /* sends to merge into the sent log first */
    size_t n_sent;
    int64_t now_ms;                    /* wall clock: acked_ms of covered batches */
} sl__ack_apply;

/* Apply an ack: acked_through only grows; a rejected record gets a dead
 * letter (an existing one is kept as it is, unless the record is in the
 * retried range: then its reason is updated and its retry mark cleared);
 * a dead letter in `accepted` is removed; every retry mark in the retried
 * range is cleared; the sent log gets `sent` and the acked time of the
 * batches acked_through now covers.  SL_OK; *advanced says whether
 * acked_through moved. */
int sl__journal_ack_apply(sl_journal *j, const sl__ack_apply *a, int *advanced);

/* Merge sends into the sent log (the sync engine's flush when no ack
 * transaction is coming: disconnect, ack timeout). */
int sl__journal_sent_log(sl_journal *j, const sl__sent *sent, size_t n);
/* The sent-log entry whose batch holds seq: SL_OK or SL_ERR_NOT_FOUND. */
int sl__journal_sent_find(sl_journal *j, uint64_t seq, sl__sent *out);

/* seq of the record with txn_id: SL_OK or SL_ERR_NOT_FOUND. */
int sl__journal_find_txn(sl_journal *j, const char *txn_id, uint64_t *seq);

/* The dead letter of seq (retry_ms filled): SL_OK or SL_ERR_NOT_FOUND. */
int sl__journal_dlq_get(sl_journal *j, uint64_t seq, sl__dead_letter *d);
/* Mark the dead letter seq (0: every dead letter) for resending.
 * SL_ERR_NOT_FOUND when seq is not a dead letter; *marked counts marks. */
int sl__journal_dlq_retry(sl_journal *j, uint64_t seq, int64_t now_ms, uint64_t *marked);
/* The lowest dead letter marked for retry and how many marked ones follow
 * it without a gap in seq (at most max): the next retry batch.  *n = 0
 * when nothing is marked. */
int sl__journal_dlq_retry_run(sl_journal *j, uint64_t max, uint64_t *first, uint64_t *n);
/* In one transaction: check that drop->target_seq is a dead letter
 * (SL_ERR_NOT_FOUND if not), remove it and its retry mark, and append the
 * dlq_drop event drop (validated first: SL_ERR_INVALID with problem
 * filled).  *seq is the new record's seq. */
int sl__journal_dlq_drop(sl_journal *j, const sl_event *drop, uint64_t *seq,
                         sl_problem *problem);

/* Durably record an acknowledgement: acked_through only ever grows; each
 * rejected record gets a dead-letter entry (kept until retried or dropped).
 * SL_OK; *advanced says whether acked_through moved.  The plain form of
 * sl__journal_ack_apply. */
int sl__journal_ack(sl_journal *j, uint64_t acked_through, const sl__dead_letter *rejects,
                    size_t n_rejects, int *advanced);

/* Remove up to max_records of the oldest records that the centre has
 * acknowledged and that were recorded before before_ms (retention).  Dead
 * letters and anything unacknowledged are never removed.  The last removed
 * record's seq and hash are kept as the chain's anchor, so verify still
 * checks the remaining chain.  *pruned is the number removed. */
int sl__journal_prune(sl_journal *j, int64_t before_ms, size_t max_records, size_t *pruned);
/* The same, removing no record above max_seq either (the day-close bound:
 * sl__day_retention_bound). */
int sl__journal_prune_through(sl_journal *j, int64_t before_ms, uint64_t max_seq,
                              size_t max_records, size_t *pruned);
/* Seq of the newest day_close record appended since journals kept it (the
 * meta key "close", written in the close's own transaction).  SL_OK;
 * SL_ERR_NOT_FOUND when none was (no close yet, or a journal whose closes
 * predate the key: scan it, sl__day_state_get); storage errors. */
int sl__journal_last_close(sl_journal *j, uint64_t *seq);

/* Dead letters in seq order; fn returns non-zero to stop. */
int sl__journal_dead_letters(sl_journal *j, int (*fn)(const sl__dead_letter *d, void *ctx),
                             void *ctx);
int sl__journal_dead_count(sl_journal *j, uint64_t *n);

/* Journal epochs (docs/PROTOCOL.md "Journal epochs"): the journal's epoch
 * and, after a damaged journal was moved aside, where it went and the old
 * epoch's last verified record this one continues from. */
typedef struct sl__epoch {
    uint32_t epoch;          /* 1 for a journal that was never replaced */
    uint64_t from_seq;       /* the old epoch's last verified seq */
    uint8_t from_hash[32];   /* its hash: the new epoch's first prev */
    int64_t damaged_ms;      /* when the damage was found (Unix ms) */
    char moved_to[129];      /* the damaged directory, relative to state_dir */
    uint64_t import_base;    /* records import_base+1..from_seq were imported from
                                the damaged copy (= from_seq: none) */
} sl__epoch;
/* SL_OK with *e filled, SL_ERR_NOT_FOUND for epoch 1 (e->epoch = 1). */
int sl__journal_epoch(sl_journal *j, sl__epoch *e);

/* Background verify (the daemon): `journal verify`'s record checks (decode,
 * gapless, chained from the anchor, txn index, tail hash) done a slice at a
 * time, so damage older than the open-time check's last 256 records is
 * found without a full verify.  Zero the state to start; it resumes where
 * the last call stopped and starts over at the anchor after each pass. */
typedef struct sl__bgverify {
    uint64_t next_seq;        /* 0: start at the anchor */
    uint8_t prev[32];
    uint64_t passes;          /* complete passes */
    uint64_t checked;         /* records checked in all */
    uint64_t first_bad;       /* 0 = none found (cleared by a clean pass) */
    uint64_t bad_this_pass;
    char why[96];             /* for first_bad */
} sl__bgverify;
/* Check up to max records in a child process (a damaged page must not take
 * the daemon down).  SL_OK also when damage was found (v->first_bad). */
int sl__journal_bgverify(sl_journal *j, sl__bgverify *v, size_t max);

#endif
