/*
 * fleet.h - the hub's fleet view (`storelink-hub devices`): every device's
 * latest status (agent/statusmsg.h) joined with what the hub itself stored,
 * worst first, as aligned text or JSON (docs/CLI.md "storelink-hub devices").
 * Reads the database only; the status blobs are decoded here, never trusted.
 */
#ifndef HUB_FLEET_H
#define HUB_FLEET_H

#include <stdint.h>
#include <stdio.h>

#include "ingest.h"
#include "statusmsg.h"
#include "store.h"

#define HUB_FLEET_MAX 200000u   /* devices in one listing (use --store beyond) */

enum { HUB_FLEET_UNKNOWN = 0, HUB_FLEET_ONLINE, HUB_FLEET_OFFLINE };

typedef struct hub_fleet_dev {
    char device[HUB_ID_MAX + 1];
    char store[HUB_ID_MAX + 1];
    /* the hub's own view */
    uint64_t acked_through;       /* last seq stored (and acknowledged) */
    int64_t last_seen_ms;
    uint64_t rejected_count;
    int64_t status_ms;            /* when the latest status arrived, 0 none */
    size_t status_bytes;
    /* the device's latest status: has_status 0 when none or undecodable */
    int has_status;
    char status_error[96];        /* why the blob did not decode */
    sl__status st;
    /* derived (hub_fleet_load) */
    int state;                    /* HUB_FLEET_* */
    int64_t since_ms;             /* of state, 0 unknown */
    int has_backlog;
    uint64_t backlog;             /* recorded by the device, not stored here */
    int64_t oldest_age_ms;        /* -1: no backlog or not reported */
    int health;                   /* SL_HEALTH_*, -1 unknown */
} hub_fleet_dev;

typedef struct hub_fleet {
    hub_fleet_dev *dev;
    size_t n, cap;
} hub_fleet;

/* Load the devices (of store when not NULL) and derive state, backlog,
 * age and health as of now_ms.  SL_OK, SL_ERR_NOMEM, SL_ERR_TOO_LARGE (over
 * HUB_FLEET_MAX) or a store error.  Free with hub_fleet_free(). */
SL_NODISCARD int hub_fleet_load(hub_fleet *f, hub_store *st, const char *store, int64_t now_ms);
/* Worst first: failing, degraded, unknown, healthy; then the oldest
 * unacknowledged record first; then offline before online, the longest
 * offline first; then store and device. */
void hub_fleet_sort(hub_fleet *f);
void hub_fleet_free(hub_fleet *f);

/* One line per device under a header, columns aligned. */
void hub_fleet_print(const hub_fleet *f, int64_t now_ms, FILE *out);
/* A JSON array of objects (fields in docs/CLI.md), one line, to out.
 * SL_OK, SL_ERR_NOMEM or SL_ERR_IO. */
SL_NODISCARD int hub_fleet_write_json(const hub_fleet *f, int64_t now_ms, FILE *out);

#endif
