/*
 * reconcile.h - a device's business day as the hub holds it, compared with
 * the device's own day_close record (docs/PROTOCOL.md "Day close",
 * "Reconciliation"), and the commands built on it: storelink-hub
 * reconcile and storelink-hub report day.
 */
#ifndef HUB_RECONCILE_H
#define HUB_RECONCILE_H

#include <stdint.h>

#include "bizday.h"
#include "hub_config.h"
#include "ingest.h"
#include "storelink.h"
#include "store.h"

#define HUB_DAY_MAX_SEQS 16   /* missing / rejected seqs listed per device */

/* One device's day: its close (if any) and the hub's recomputation. */
typedef struct hub_day_dev {
    char device[HUB_ID_MAX + 1];
    char store[HUB_ID_MAX + 1];
    int closed;
    uint64_t close_seq;
    sl_day_close close;          /* the device's close (closed only) */
    sl_day_close hub;            /* from the records the hub stored */
    int hash_checked, hash_differs;
    uint8_t hub_hash[32];        /* hub's hash at close.last_seq */
    uint64_t n_missing, missing[HUB_DAY_MAX_SEQS];   /* in the close's seq range */
    uint64_t n_rejected, rejected[HUB_DAY_MAX_SEQS]; /* members stored as rejected */
    int zone_from_close;         /* the zone came from one of its closes */
} hub_day_dev;

/* The zone and day end for devices that never sent a close (the hub has
 * no other way to know where they are). */
typedef struct hub_day_opts {
    char tz[SL_TZ_MAX + 1];
    uint32_t day_end_min;
} hub_day_opts;

/* Compute device's day `day` from the store st.  SL_OK; storage errors;
 * SL_ERR_CORRUPT for a stored record that does not decode. */
int hub_day_device(hub_store *st, const char *device, const char *store, int64_t day,
                   const hub_day_opts *o, hub_day_dev *out);

/* Call fn with one line per discrepancy of dv (not prefixed with the
 * device); returns their number. */
int hub_day_discrepancies(const hub_day_dev *dv, void (*fn)(const char *line, void *ctx),
                          void *ctx);

/* The devices of store (NULL = all) as the hub lists them; l->dev is
 * freed by the caller. */
typedef struct hub_dev_list {
    const char *store;
    size_t n, cap;
    char (*dev)[2][HUB_ID_MAX + 1];   /* [i][0] device, [i][1] store */
} hub_dev_list;
int hub_day_devices(hub_store *st, const char *store, hub_dev_list *l);

/* Zones found per store (one store, one time zone), so each store's
 * devices are scanned for it once per command. */
#define HUB_ZONE_CACHE_MAX 256
typedef struct hub_zone_cache {
    size_t n;
    struct {
        char store[HUB_ID_MAX + 1];
        hub_day_opts o;
    } e[HUB_ZONE_CACHE_MAX];
} hub_zone_cache;

/* The fallback zone for device i of l, for when it never sent a close
 * itself: the zone the first device of its store that did wrote into a
 * close, else *dflt.  *o is filled; zc (zeroed before the first call)
 * remembers each store's answer. */
int hub_day_zone(hub_store *st, const hub_dev_list *l, size_t i, const hub_day_opts *dflt,
                 hub_zone_cache *zc, hub_day_opts *o);

/* storelink-hub reconcile / report day: argv[0] is the command.  Exit
 * codes as in main.c; reconcile exits 1 when anything does not reconcile. */
int hub_cmd_reconcile(const hub_config *cfg, int argc, char **argv);
int hub_cmd_report(const hub_config *cfg, int argc, char **argv);

/* shared option parsing: --date D [--store S] [--json] [--timezone TZ]
 * [--day-end HH:MM]; 0 or an exit code (the error is printed) */
typedef struct hub_day_args {
    int64_t day;
    const char *store;           /* NULL = every store */
    int json;
    hub_day_opts o;
} hub_day_args;
int hub_day_args_parse(const char *cmd, int first, int argc, char **argv, hub_day_args *a);

/* The hub database opened read-only for a CLI command; a failure is
 * printed as one line on stderr (main.c, reconcile.c, report.c). */
SL_NODISCARD int hub_cli_open_db(const hub_config *cfg, hub_store **st);

#endif
