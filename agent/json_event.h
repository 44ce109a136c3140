/* json_event.h - events from JSON (the `storelink record` input) and
 * records to JSON (export, --json output).  docs/PROTOCOL.md "JSON input". */
#ifndef SL_JSON_EVENT_H
#define SL_JSON_EVENT_H

#include <stddef.h>

#include "storelink.h"

/* Parse one JSON event of len bytes into *ev (fully initialised).  SL_OK or
 * SL_ERR_INVALID with *p naming the field and the reason.  Semantic rules
 * are left to sl_event_validate(); this checks syntax, types and fields. */
int sl__json_parse_event(const char *text, size_t len, sl_event *ev, sl_problem *p);

/* Compact JSON object for a stored record (export format, one line, no
 * newline).  Heap string the caller frees, or NULL on allocation failure. */
char *sl__json_record(const sl_record *rec);

#endif
