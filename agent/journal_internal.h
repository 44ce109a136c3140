/* journal_internal.h - journal functions shared inside the agent only:
 * sync state (what the central side has acknowledged) and dead letters. */
#ifndef SL_JOURNAL_INTERNAL_H
#define SL_JOURNAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

/* Directory of the LMDB environment (borrowed, lives as long as j). */
const char *sl__journal_dir(const sl_journal *j);

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
    int64_t when_ms;
    char reason[97];
} sl__dead_letter;

/* Durably record an acknowledgement: acked_through only ever grows; each
 * rejected record gets a dead-letter entry (kept until retried or dropped).
 * SL_OK; *advanced says whether acked_through moved. */
int sl__journal_ack(sl_journal *j, uint64_t acked_through, const sl__dead_letter *rejects,
                    size_t n_rejects, int *advanced);

/* Remove up to max_records of the oldest records that the centre has
 * acknowledged and that were recorded before before_ms (retention).  Dead
 * letters and anything unacknowledged are never removed.  The last removed
 * record's seq and hash are kept as the chain's anchor, so verify still
 * checks the remaining chain.  *pruned is the number removed. */
int sl__journal_prune(sl_journal *j, int64_t before_ms, size_t max_records, size_t *pruned);

/* Dead letters in seq order; fn returns non-zero to stop. */
int sl__journal_dead_letters(sl_journal *j, int (*fn)(const sl__dead_letter *d, void *ctx),
                             void *ctx);
int sl__journal_dead_count(sl_journal *j, uint64_t *n);

#endif
