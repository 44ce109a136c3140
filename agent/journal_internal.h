/* journal_internal.h - journal functions shared inside the agent only. */
#ifndef SL_JOURNAL_INTERNAL_H
#define SL_JOURNAL_INTERNAL_H

#include "storelink.h"

/* Directory of the LMDB environment (borrowed, lives as long as j). */
const char *sl__journal_dir(const sl_journal *j);

#endif
