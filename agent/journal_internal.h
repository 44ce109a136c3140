/* journal_internal.h - journal functions shared inside the agent only:
 * sync state (what the central side has acknowledged) and dead letters. */
#ifndef SL_JOURNAL_INTERNAL_H
#define SL_JOURNAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

/* Directory of the LMDB environment (borrowed, lives as long as j). */
const char *sl__journal_dir(const sl_journal *j);

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

/* Dead letters in seq order; fn returns non-zero to stop. */
int sl__journal_dead_letters(sl_journal *j, int (*fn)(const sl__dead_letter *d, void *ctx),
                             void *ctx);
int sl__journal_dead_count(sl_journal *j, uint64_t *n);

#endif
