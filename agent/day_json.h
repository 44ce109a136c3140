/* day_json.h - a day close as JSON and as the human Z-report table
 * (docs/CLI.md "report day"); shared by the agent and the hub. */
#ifndef SL_DAY_JSON_H
#define SL_DAY_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "storelink.h"

/* New JSON object (the caller owns the reference), NULL on allocation
 * failure. */
json_t *sl__day_json(const sl_day_close *d);

/* The table rows of a Z-report (records, totals, tenders, refunds,
 * adjustments, chain hash), one item per line, to f. */
void sl__day_print(FILE *f, const sl_day_close *d);

#endif
