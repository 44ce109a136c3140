/*
 * sync.h - the uplink engine: batches out, acks in (docs/PROTOCOL.md
 * "Uplink").  It knows nothing of sockets: it publishes through a
 * transport interface (coreMQTT's TransportInterface_t shape) and is driven
 * by the daemon's event loop through the sl__sync_on_* calls, so the same
 * engine runs against libmosquitto in the daemon and against a fake in
 * unit tests.
 *
 * Rules it keeps: a PUBACK never retires anything; only the hub's ack moves
 * acked_through (persisted in the journal before anything else happens);
 * batches go out in order, at most `window` at a time; anything not acked
 * within ack_timeout is sent again from acked_through + 1.
 */
#ifndef SL_SYNC_H
#define SL_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "storelink.h"

#define SL_SYNC_MAX_INFLIGHT 64

typedef struct sl__transport {
    void *ctx;
    /* Queue a QoS 1 message; *mid identifies it in on_puback.  Non-zero
     * when the message could not be queued (not connected). */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, int retain,
                   int *mid);
} sl__transport;

typedef struct sl__sync_cfg {
    const char *device;
    const char *store;
    const char *prefix;            /* topic prefix, e.g. storelink/v1 */
    size_t batch_max_records;
    size_t batch_max_bytes;
    unsigned max_inflight;
    uint64_t ack_timeout_ms;
    int compress;
    sl__key *key;
    const uint8_t *cert_der;
    size_t cert_len;
} sl__sync_cfg;

typedef struct sl__sync_stats {
    int connected;
    uint64_t acked_through;
    uint64_t last_seq;
    uint64_t next_seq;
    unsigned inflight;
    uint64_t batches_sent, records_sent, bytes_sent, resent, rejected, acks;
    int64_t last_ack_ms;
    uint64_t retries_sent, retries_accepted;   /* dead-letter retry batches / records */
    char last_error[160];
    uint64_t resent_records;       /* records put in a batch more than once */
} sl__sync_stats;

/* What the engine did, for observers (the daemon's `tail` and status). */
enum { SL_SYNC_EV_SENT = 1, SL_SYNC_EV_ACKED = 2, SL_SYNC_EV_REJECTED = 3 };
typedef struct sl__sync_event {
    int type;
    uint64_t first, last;          /* SENT: the batch */
    size_t records, bytes;         /* SENT */
    uint64_t acked_through;        /* ACKED: after this ack */
    size_t n_rejected;             /* ACKED: rejects in this ack */
    int advanced;                  /* ACKED: acked_through moved */
    uint64_t seq;                  /* REJECTED */
    uint32_t code;                 /* REJECTED */
    const char *reason;            /* REJECTED: borrowed for the call */
} sl__sync_event;
typedef void (*sl__sync_observer)(void *ctx, const sl__sync_event *ev);

typedef struct sl__sync sl__sync;

int sl__sync_new(sl__sync **out, sl_journal *j, const sl__sync_cfg *cfg,
                 const sl__transport *tp);
void sl__sync_free(sl__sync *s);

/* The connection is up; receive_max is the broker's Receive Maximum. */
void sl__sync_on_connected(sl__sync *s, unsigned receive_max, uint64_t now_ms);
void sl__sync_on_disconnected(sl__sync *s, const char *why);
/* PUBACK for mid with MQTT v5 reason code. */
void sl__sync_on_puback(sl__sync *s, int mid, int reason, uint64_t now_ms);
/* An ack message from the hub (payload of the ack topic). */
void sl__sync_on_ack(sl__sync *s, const uint8_t *payload, size_t len, uint64_t now_ms);
/* New records may be in the journal. */
void sl__sync_kick(sl__sync *s, uint64_t now_ms);
/* Timers; returns the next time (monotonic ms) the engine wants a tick,
 * or UINT64_MAX when it has nothing pending. */
uint64_t sl__sync_tick(sl__sync *s, uint64_t now_ms);
/* Apply new batch limits, window and ack timeout (SIGHUP); takes effect
 * with the next batch. */
void sl__sync_set_limits(sl__sync *s, size_t batch_max_records, size_t batch_max_bytes,
                         unsigned max_inflight, uint64_t ack_timeout_ms);
/* Stop starting new batches (shutdown drain); in-flight ones still
 * complete when their acks arrive. */
void sl__sync_stop_sending(sl__sync *s);
/* True when nothing is in flight (used to drain on shutdown). */
int sl__sync_idle(const sl__sync *s);
void sl__sync_stats_get(sl__sync *s, sl__sync_stats *st);
/* Call fn (may be NULL) for every batch sent, ack and rejected record. */
void sl__sync_set_observer(sl__sync *s, sl__sync_observer fn, void *ctx);
/* Forget the wait after a refused PUBACK and send what is pending now
 * (`storelink sync now`). */
void sl__sync_retry_now(sl__sync *s, uint64_t now_ms);

/* The journal handle followed an epoch switch (journal_internal.h,
 * sl__journal_follows): forget what is in flight and resend from the new
 * epoch's acked_through. */
void sl__sync_journal_switched(sl__sync *s, uint64_t now_ms);
/* Build "<prefix>/<store>/<device>/<leaf>". */
int sl__sync_topic(const sl__sync_cfg *c, const char *leaf, char *out, size_t outsz);

#endif
