/*
 * export.h - stored records as JSON lines for ERP middleware
 * (docs/PROTOCOL.md "Hub export").  Each line is the record as the agent's
 * `storelink export` renders it (sl__json_record), preceded by
 *   "id"      the hub's row id (page with --since ID: rows with id > ID),
 *   "device", "store",
 *   "status"  "ok" or "rejected",
 *   "reject_code", "reject_reason"   on rejected rows only.
 * The rejection reason is not called "reason": an adjustment record already
 * has a "reason" field (receive, damage, ...).
 */
#ifndef HUB_EXPORT_H
#define HUB_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* One row as a compact JSON object (no newline) in *out, a heap string the
 * caller frees.  SL_ERR_CORRUPT when the stored body does not decode or
 * does not hash to the stored hash, SL_ERR_NOMEM. */
SL_NODISCARD int hub_export_json(const hub_row *row, char **out);

/* Write rows with id > since_id (of device, when not NULL) to out, one per
 * line, in id order; *n counts them.  Stops at the first error. */
SL_NODISCARD int hub_export_jsonl(hub_store *st, int64_t since_id, const char *device, FILE *out,
                                  uint64_t *n);

#endif
