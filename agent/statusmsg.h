/*
 * statusmsg.h - the device's retained status message (docs/PROTOCOL.md
 * "Status"): what `storelink status --json` knows, as deterministic CBOR
 * with integer keys, published on {prefix}/{store}/{device}/status and read
 * by the hub's fleet view (`storelink-hub devices`).  Shared by the agent
 * (encode) and the hub (decode).  No I/O here.
 *
 *   status = { 1: "online"/"offline", 2: ts int ms, 3: acked_through uint,
 *              4: last_seq uint, 5: version tstr, ? 6..24 (SL_ST_*) }
 *
 * Keys 1-5 are those of the first version and always present; every later
 * key is optional, so a message from an older agent (5 keys) and the small
 * last-will message decode, and the reader sees which keys were there
 * (sl__status.has).  Keys ascend, each once; a known key with the wrong
 * type or out of range refuses the whole message; an unknown key above the
 * last known one is skipped (a newer agent talking to an older hub), one
 * below it is refused.
 */
#ifndef SL_STATUSMSG_H
#define SL_STATUSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

#define SL_STATUSMSG_MAX 640        /* one encoded status, bytes (full: ~260) */
#define SL_STATUS_VERSION_MAX 32    /* key 5, bytes */
#define SL_STATUS_ERROR_MAX 160     /* key 24, bytes (longer text is cut) */

/* The optional keys.  Never renumbered; a new one takes the next number. */
enum {
    SL_ST_UNACKED = 6,          /* uint: records recorded, not acknowledged */
    SL_ST_OLDEST_TS = 7,        /* int ms: ts of the oldest unacked record, 0 none */
    SL_ST_DEAD = 8,             /* uint: dead letters */
    SL_ST_INFLIGHT = 9,         /* uint: batches sent, not acked */
    SL_ST_LAST_ACK = 10,        /* int ms: last ack from the hub, 0 never (this run) */
    SL_ST_PRICES_VER = 11,      /* uint: store price catalog version, 0 none */
    SL_ST_PRICES_AT = 12,       /* int ms: its issued_at */
    SL_ST_STOCK_VER = 13,       /* uint */
    SL_ST_STOCK_AT = 14,        /* int ms */
    SL_ST_STARTED = 15,         /* int ms: daemon start */
    SL_ST_HEALTH = 16,          /* uint: SL_HEALTH_* */
    SL_ST_CERT_NOT_AFTER = 17,  /* int ms: device certificate expiry */
    SL_ST_RESENT = 18,          /* uint: resends: ack timeouts and hub refusals (this run) */
    SL_ST_REJECTED = 19,        /* uint: records the hub rejected (this run) */
    SL_ST_CONN_SINCE = 20,      /* int ms: connection state since */
    SL_ST_JOURNAL_USED = 21,    /* uint bytes */
    SL_ST_JOURNAL_LIMIT = 22,   /* uint bytes (max_db_mb) */
    SL_ST_CHAIN_PRICES_VER = 23,/* uint: chain-wide ("all") price version, 0 none */
    SL_ST_LAST_ERROR = 24,      /* tstr: last sync error in plain words, "" none */
    SL_ST_LAST_KEY = 24
};

enum { SL_HEALTH_HEALTHY = 0, SL_HEALTH_DEGRADED = 1, SL_HEALTH_FAILING = 2 };

typedef struct sl__status {
    int online;                                 /* key 1 */
    int64_t ts_ms;                              /* key 2 */
    uint64_t acked_through;                     /* key 3 */
    uint64_t last_seq;                          /* key 4 */
    char version[SL_STATUS_VERSION_MAX + 1];    /* key 5 */
    /* keys 6..SL_ST_LAST_KEY: bit k of has says key k is present (set by
     * the decoder; set by the caller before encoding, sl__status_set_*) */
    uint32_t has;
    uint64_t u[SL_ST_LAST_KEY + 1];             /* uint keys, indexed by key */
    int64_t i[SL_ST_LAST_KEY + 1];              /* int keys, indexed by key */
    char last_error[SL_STATUS_ERROR_MAX + 1];   /* key 24 */
} sl__status;

/* Start a status with keys 1-5 (version: SL_VERSION when NULL; cut to
 * SL_STATUS_VERSION_MAX).  Optional keys are absent. */
void sl__status_init(sl__status *s, int online, int64_t ts_ms, uint64_t acked_through,
                     uint64_t last_seq, const char *version);
/* Set an optional key: sl__status_set_u for uint keys, _i for int keys,
 * _error for key 24 (text cut at SL_STATUS_ERROR_MAX on a UTF-8 boundary).
 * A key of the other type, or not an optional key, is ignored. */
void sl__status_set_u(sl__status *s, int key, uint64_t v);
void sl__status_set_i(sl__status *s, int key, int64_t v);
void sl__status_set_error(sl__status *s, const char *text);
/* 1 if key is present (keys 1-5 always are). */
int sl__status_has(const sl__status *s, int key);

/* Encode into out[0..cap): SL_OK with *len, SL_ERR_TOO_LARGE, or
 * SL_ERR_INVALID (a field the decoder would refuse: health > 2, negative
 * time, version not printable).  Same input, same bytes. */
SL_NODISCARD int sl__status_encode(const sl__status *s, uint8_t *out, size_t cap, size_t *len);

/* Decode a received status (never trusted).  SL_OK with *s filled, or
 * SL_ERR_INVALID with why (may be NULL) naming the key and the reason.
 * Nothing is borrowed from p. */
SL_NODISCARD int sl__status_decode(const uint8_t *p, size_t len, sl__status *s, char *why,
                                   size_t whysz);

/* The health rule the device applies (docs/CLI.md "status"): failing when
 * the certificate expired; degraded with an unacked record older than
 * alert_ms, dead letters, a certificate expiring within 30 days or the
 * journal over 90% of its limit; else healthy.  Reads keys 6-8, 17, 21, 22
 * where present. */
int sl__status_health(const sl__status *s, int64_t now_ms, int64_t alert_ms);

/* "healthy" / "degraded" / "failing" / "unknown" */
const char *sl__status_health_name(int health);

#endif
