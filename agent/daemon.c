/*
 * storelink run - the daemon: one thread, one poll loop over the MQTT
 * socket, a watch on the journal file (records written by other processes)
 * and the signal pipe.  It sleeps until one of them or a timer needs it.
 *
 * SIGTERM/SIGINT: stop sending new batches, wait (bounded) for the acks
 * of what is in flight, publish the retained "offline" status ourselves
 * (a clean DISCONNECT suppresses the last will) and exit 0.
 * SIGHUP: re-read the configuration and apply log level, batch limits,
 * window, ack timeout, retention and the [scanner.NAME] sections
 * (agent/daemon_scan.c); broker, identity and catalog settings
 * are named in the log as needing a restart.
 *
 * Under systemd (Type=notify, packaging/storelink.service) the loop tells
 * the service manager READY=1 once the journal is open, WATCHDOG=1 every
 * half watchdog interval, STOPPING=1 when the drain starts, and a STATUS=
 * line; without $NOTIFY_SOCKET none of this does anything.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catmsg.h"
#include "cborio.h"
#include "cli.h"
#include "control.h"
#include "daemon_scan.h"
#include "ingest_sock.h"
#include "crypto.h"
#include "event.h"
#include "journal_internal.h"
#include "metrics.h"
#include "mqtt.h"
#include "platform.h"
#include "statusmsg.h"
#include "sync.h"

#define DRAIN_MS 5000
#define PRUNE_EVERY_MS (3600 * 1000)
#define PRUNE_BATCH 5000
/* Background verify: a slice of records every so often, in a child process
 * (journal_internal.h); 5,000 records cost a few ms plus the fork. */
#define BGVERIFY_EVERY_MS 10000
#define BGVERIFY_RECORDS 5000
#define CONNECT_PROBE_MS 3000
#define REFRESH_MIN_MS 1000       /* daemon.json, metrics, status: at most 1/s */
#define DRAIN_WINDOW_MS 60000     /* drain_rate is measured over this */
#define DRAIN_SAMPLES 128         /* one per second at most: > 60 s of acks */
#define TAIL_RECORDS_PER_WAKE 1000
/* A writer's commit wakes the file watch with its meta-page write, but LMDB
 * publishes the new transaction id to readers (lock.mdb, shared memory, no
 * inotify event) only after it: a reader woken by that write can still see
 * the old snapshot, and no further event comes.  Measured: records from
 * `storelink record` then waited for the ack-timeout resend.  So look
 * again once, shortly after the last wake. */
#define WATCH_RECHECK_MS 100

struct daemon {
    sl_cli *c;
    sl_journal *j;
    sl__sync *sync;
    sl__mqtt *mqtt;
    sl__sync_cfg scfg;
    char topic_ack[256], topic_status[256];
    uint64_t backoff_ms, next_connect;
    int connecting;
    int64_t started_ms;
    uint8_t offline_msg[SL_STATUSMSG_MAX];
    size_t offline_len;
    /* daemon.json: what `storelink status` reads */
    const char *conn;         /* "connected", "connecting", "offline", "stopped" */
    int64_t conn_since;
    int state_dirty;
    uint64_t state_written;
    int64_t cert_not_before, cert_not_after;   /* our own certificate */
    uint64_t next_prune;
    sl__day_retention retention;   /* newest day close, for prune() */
    uint64_t next_dayclose;   /* mono ms: automatic close at day_end (cli_day.c) */
    /* the offline catalog (only with catalog_pubkey set) */
    sl_catalog *cat;
    sl__pub *catpub;
    char topic_cat[3][256], topic_catreq[256];
    uint64_t catreq_last[3];   /* mono ms of the last snapshot request */
    /* service manager: keep-alive period (0: no watchdog), last STATUS= */
    uint64_t wd_every_ms, next_wd;
    char notified[160];
    /* control socket (agent/control.c) and what `tail` followers see */
    sl__control *ctl;
    sl__ingest *ing;            /* the ingest socket (agent/ingest_sock.c) */
    int stopping;
    uint64_t seen_seq;          /* last record announced as "recorded" */
    int seen_more;              /* more new records than one wake announces */
    uint64_t watch_recheck;     /* mono ms of the look after a watch wake, 0 none */
    sl_record *rec;             /* scratch for journal reads (large) */
    /* status cadence: the retained status, daemon.json and the metrics
     * file are refreshed on a state change (at most once a second) and
     * every status_interval seconds */
    uint64_t next_tick;
    /* drain rate: (mono ms, acked_through) at acks, one per second */
    struct { uint64_t t, acked; } drain[DRAIN_SAMPLES];
    unsigned n_drain, drain_head;
    uint64_t start_mono, start_acked;
    /* [scanner.NAME] barcode scanners (agent/daemon_scan.c); scancat is a
     * read-only catalog opened for them when the daemon has none */
    sl__dscan *scan;
    sl_catalog *scancat;
    uint64_t reopens_seen;      /* journal reopens after MDB_PANIC already shown */
    uint64_t follows_seen;      /* epoch switches by another process already followed */
    sl__bgverify bgv;           /* background verify state */
    uint64_t next_bgverify;
};

/* A price or stock update arrived on topic i. */
static void catalog_message(struct daemon *d, int i, const void *payload, size_t len)
{
    sl__cat_result res;
    int rc = sl__catalog_apply(d->cat, d->catpub, sl_plat_now_ms(), d->c->cfg.device_id,
                               payload, len, &res);
    if (rc != SL_OK) {
        sl_plat_log(SL_LOG_ERR, "catalog: %s", res.reason);
        return;
    }
    switch (res.outcome) {
    case SL_CAT_APPLIED:
        sl_plat_log(SL_LOG_INFO, "catalog: applied %s", d->topic_cat[i]);
        break;
    case SL_CAT_STALE:
        break;   /* re-delivery of what we hold: harmless */
    case SL_CAT_REJECTED:
        sl_plat_log(SL_LOG_WARNING, "catalog: rejected an update on %s: %s", d->topic_cat[i],
                    res.reason);
        break;
    case SL_CAT_NEED_SNAPSHOT: {
        /* a delta is missing (brokers drop queued messages past their
         * limit): ask for a snapshot, at most once a minute per topic */
        uint64_t now = sl_plat_mono_ms();
        if (d->catreq_last[i] && now - d->catreq_last[i] < 60000)
            break;
        sl__catreq q = {.type = res.type, .have_version = res.held_version};
        uint8_t b[SL_CATREQ_MAX];
        size_t n;
        int mid;
        snprintf(q.scope, sizeof q.scope, "%s", res.scope);
        if (sl__catreq_encode(&q, b, sizeof b, &n) == SL_OK &&
            sl__mqtt_publish(d->mqtt, d->topic_catreq, b, n, 0, &mid) == SL_OK) {
            d->catreq_last[i] = now;
            sl_plat_log(SL_LOG_NOTICE, "catalog: gap on %s, requested a snapshot",
                        d->topic_cat[i]);
        }
        break;
    }
    }
}

/* Retention: drop acknowledged records older than retention_days, a
 * bounded number per transaction so recording never waits long, and
 * never one of a business day no close has counted yet (the day's
 * Z-report is computed from the journal). */
static void prune(struct daemon *d, uint64_t now)
{
    size_t n = 0;
    uint64_t max_seq;
    int64_t closed_end;
    int64_t before = sl_plat_now_ms() - (int64_t)d->c->cfg.retention_days * 86400000;
    int rc = sl__day_retention_bound(d->j, &d->c->cfg, &d->retention, &max_seq, &closed_end);
    if (rc == SL_OK)
        rc = sl__journal_prune_through(d->j, closed_end < before ? closed_end : before, max_seq,
                                       PRUNE_BATCH, &n);
    if (rc != SL_OK)
        sl_plat_log(SL_LOG_WARNING, "retention: cannot prune: %s", sl_strerror(rc));
    else if (n > 0)
        sl_plat_log(SL_LOG_INFO, "retention: removed %zu acknowledged record(s)", n);
    /* more to do: continue soon, else in an hour */
    d->next_prune = now + (n == PRUNE_BATCH ? 1000 : PRUNE_EVERY_MS);
}

/* Damage older than the open-time check's window (the last 256 records):
 * reported loudly, never repaired here.  Starting a new epoch on it would
 * drop every record after the damage from the live journal (they are no
 * longer proven by the chain from the start), which is worse than a damaged
 * old record that is usually already at the hub: `storelink journal verify`
 * and the operator decide. */
static void bg_verify(struct daemon *d, uint64_t now)
{
    uint64_t was = d->bgv.first_bad;
    int rc = sl__journal_bgverify(d->j, &d->bgv, BGVERIFY_RECORDS);
    if (rc != SL_OK)
        sl_plat_log(SL_LOG_WARNING, "journal background verify: %s", sl_strerror(rc));
    else if (d->bgv.first_bad != was) {
        if (d->bgv.first_bad)
            sl_plat_log(SL_LOG_ERR, "journal background verify: damaged at seq %llu (%s): run "
                        "storelink journal verify", (unsigned long long)d->bgv.first_bad,
                        d->bgv.why);
        else
            sl_plat_log(SL_LOG_NOTICE, "journal background verify: no damage any more");
        d->state_dirty = 1;
    }
    d->next_bgverify = now + BGVERIFY_EVERY_MS;
}

/* When the broker will not have us, our own certificate's dates are the
 * most likely reason, and the one a technician can act on. */
static void explain(struct daemon *d, const char *why, char *out, size_t outsz)
{
    int64_t now = sl_plat_now_ms();
    char t[40];
    if (d->cert_not_after && now > d->cert_not_after) {
        sl_plat_format_utc(d->cert_not_after, t, sizeof t);
        snprintf(out, outsz, "device certificate expired on %.10s: renew it (storelink csr, "
                 "signed by the store CA) [%s]", t, why);
    } else if (d->cert_not_before && now < d->cert_not_before) {
        sl_plat_format_utc(d->cert_not_before, t, sizeof t);
        snprintf(out, outsz, "device certificate not valid before %.10s: check the clock [%s]",
                 t, why);
    } else {
        snprintf(out, outsz, "%s", why);
    }
}

static void set_conn(struct daemon *d, const char *conn)
{
    if (d->conn == NULL || strcmp(d->conn, conn) != 0) {
        d->conn = conn;
        d->conn_since = sl_plat_now_ms();
    }
    d->state_dirty = 1;
}

/* ---- what the daemon knows that nobody else does ----------------------- */

static int tailing(struct daemon *d)
{
    return sl__control_tailers(d->ctl) > 0;
}

/* One event line to every `tail` follower (steals o). */
static void emit(struct daemon *d, json_t *o)
{
    if (o != NULL) {
        char *t = json_dumps(o, JSON_COMPACT);
        if (t != NULL)
            sl__control_broadcast(d->ctl, t);
        free(t);
        json_decref(o);
    }
}

static void broker_name(struct daemon *d, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s:%llu", d->c->cfg.broker_host,
             (unsigned long long)d->c->cfg.broker_port);
}

/* An ack moved acked_through: remember (time, acked) once a second. */
static void drain_sample(struct daemon *d, uint64_t now, uint64_t acked)
{
    if (d->n_drain > 0) {
        unsigned last = (d->drain_head + DRAIN_SAMPLES - 1) % DRAIN_SAMPLES;
        if (now - d->drain[last].t < 1000) {
            d->drain[last].acked = acked;
            return;
        }
    }
    d->drain[d->drain_head].t = now;
    d->drain[d->drain_head].acked = acked;
    d->drain_head = (d->drain_head + 1) % DRAIN_SAMPLES;
    if (d->n_drain < DRAIN_SAMPLES)
        d->n_drain++;
}

/* Records acknowledged per second over the last DRAIN_WINDOW_MS (over the
 * uptime when shorter): acked now minus acked at the window's start, so
 * it reads 0 once nothing was acked for a whole window. */
static double drain_rate(struct daemon *d, uint64_t now, uint64_t acked_now)
{
    uint64_t cutoff = now > DRAIN_WINDOW_MS ? now - DRAIN_WINDOW_MS : 0;
    uint64_t base_t = d->start_mono, base = d->start_acked;
    unsigned oldest = (d->drain_head + DRAIN_SAMPLES - d->n_drain) % DRAIN_SAMPLES;
    for (unsigned i = 0; i < d->n_drain; i++) {
        unsigned k = (oldest + i) % DRAIN_SAMPLES;
        if (d->drain[k].t > cutoff) {
            /* the ring forgot the window's start: measure from its oldest */
            if (i == 0 && d->n_drain == DRAIN_SAMPLES) {
                base_t = d->drain[k].t;
                base = d->drain[k].acked;
            }
            break;
        }
        base_t = d->drain[k].t;
        base = d->drain[k].acked;
    }
    uint64_t from = base_t > cutoff ? base_t : cutoff;
    if (acked_now <= base || now <= from)
        return 0;
    uint64_t span = now - from < 1000 ? 1000 : now - from;
    return (double)(acked_now - base) * 1000.0 / (double)span;
}

/* The daemon's view: daemon.json (what `storelink status` reads when the
 * daemon is not asked) and the base of the control socket's status. */
static json_t *state_json(struct daemon *d, int running)
{
    sl__sync_stats st;
    char broker[300];
    uint64_t mono = sl_plat_mono_ms();
    int64_t now = sl_plat_now_ms();
    sl__sync_stats_get(d->sync, &st);
    uint64_t backlog = st.last_seq > st.acked_through ? st.last_seq - st.acked_through : 0;
    broker_name(d, broker, sizeof broker);
    /* no acked_through / last_seq here: `status --json` embeds this object
     * next to its own (fresher) figures from the journal, and scripts that
     * pick the last "acked_through" on the line would read this one */
    json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:I,"
                          "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
        "running", running, "pid", (json_int_t)sl_plat_getpid(),
        "started_ms", (json_int_t)d->started_ms,
        "uptime_s", (json_int_t)((now - d->started_ms) / 1000), "version", SL_VERSION,
        "device", d->c->cfg.device_id, "store", d->c->cfg.store_id, "broker", broker,
        "connection", d->conn ? d->conn : "offline", "since_ms", (json_int_t)d->conn_since,
        "last_error", st.last_error, "last_error_class", sl__control_error_class(st.last_error),
        "inflight", (json_int_t)st.inflight, "backlog", (json_int_t)backlog,
        "batches_sent", (json_int_t)st.batches_sent, "records_sent", (json_int_t)st.records_sent,
        "bytes_sent", (json_int_t)st.bytes_sent, "resent", (json_int_t)st.resent,
        "resent_records", (json_int_t)st.resent_records,
        "rejected", (json_int_t)st.rejected, "acks", (json_int_t)st.acks,
        "last_ack_ms", (json_int_t)st.last_ack_ms, "updated_ms", (json_int_t)now);
    if (o == NULL)
        return NULL;
    double rate = drain_rate(d, mono, st.acked_through);
    /* one decimal: the rate is an estimate, not a counter */
    json_object_set_new(o, "drain_rate", json_real((double)(int64_t)(rate * 10 + 0.5) / 10));
    if (rate > 0 && backlog > 0)
        json_object_set_new(o, "drain_eta_s", json_integer((json_int_t)((double)backlog / rate + 0.999)));
    if (running && !d->stopping && !d->connecting && !sl__mqtt_is_connected(d->mqtt) &&
        d->next_connect > mono)
        json_object_set_new(o, "reconnect_at_ms",
                            json_integer((json_int_t)(now + (int64_t)(d->next_connect - mono))));
    json_object_set_new(o, "status_interval", json_integer((json_int_t)d->c->cfg.status_interval));
    json_t *sc = sl__dscan_json(d->scan);
    if (sc != NULL)
        json_object_set_new(o, "scanners", sc);
    uint64_t nreopen;
    int64_t reopen_ms;
    if (d->j != NULL && sl__journal_reopens(d->j, &nreopen, &reopen_ms) == SL_OK && nreopen > 0) {
        json_object_set_new(o, "journal_reopens", json_integer((json_int_t)nreopen));
        json_object_set_new(o, "journal_reopened_ms", json_integer((json_int_t)reopen_ms));
    }
    json_object_set_new(o, "journal_verify", json_pack("{s:I,s:I,s:I,s:s}",
        "passes", (json_int_t)d->bgv.passes, "checked", (json_int_t)d->bgv.checked,
        "first_bad", (json_int_t)d->bgv.first_bad, "why", d->bgv.why));
    if (d->j != NULL && sl__journal_follows(d->j, &nreopen, &reopen_ms) == SL_OK && nreopen > 0) {
        json_object_set_new(o, "journal_epoch_follows", json_integer((json_int_t)nreopen));
        json_object_set_new(o, "journal_epoch_followed_ms", json_integer((json_int_t)reopen_ms));
    }
    if (d->ing != NULL) {
        /* commits < records shows the group commit at work */
        sl__ingest_stats is;
        sl__ingest_stats_get(d->ing, &is);
        json_object_set_new(o, "ingest", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:i}",
            "requests", (json_int_t)is.requests, "records", (json_int_t)is.records,
            "duplicates", (json_int_t)is.duplicates, "errors", (json_int_t)is.errors,
            "commits", (json_int_t)is.commits, "refused", (json_int_t)is.refused,
            "clients", (int)is.clients));
    }
    return o;
}

/* Rewritten at most once a second (on state changes) and every
 * status_interval, with no fsync: it is a window for technicians, not a
 * record. */
static void write_state(struct daemon *d, int running)
{
    char path[4200];
    sl__sync_stats st;
    json_t *o = state_json(d, running);
    char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (txt == NULL)
        return;
    /* the same facts, one line, for `systemctl status` */
    sl__sync_stats_get(d->sync, &st);
    char line[160];
    snprintf(line, sizeof line, "STATUS=%s, backlog %llu record(s), %llu in flight",
             d->conn ? d->conn : "offline",
             (unsigned long long)(st.last_seq > st.acked_through ? st.last_seq - st.acked_through : 0),
             (unsigned long long)st.inflight);
    if (strcmp(line, d->notified) != 0) {
        sl_plat_notify(line);
        memcpy(d->notified, line, sizeof line);
    }
    snprintf(path, sizeof path, "%s/daemon.json", d->c->cfg.state_dir);
    if (sl_plat_replace_file(path, txt, strlen(txt), 0640) != SL_OK)
        sl_plat_log(SL_LOG_WARNING, "cannot write %s", path);
    free(txt);
}

/* Age in seconds of the newest catalog version held for (type, scope). */
static int catalog_age(struct daemon *d, int type, const char *scope, int64_t now, double *age,
                       int64_t *issued)
{
    sl__catalog_held h;
    if (d->cat == NULL || sl__catalog_held_get(d->cat, type, scope, &h) != SL_OK)
        return 0;
    if (*issued != 0 && h.issued_at <= *issued)
        return 1;
    *issued = h.issued_at;
    *age = now > h.issued_at ? (double)(now - h.issued_at) / 1000.0 : 0;
    return 1;
}

static void write_metrics(struct daemon *d, int running)
{
    if (d->c->cfg.metrics_file[0] == '\0')
        return;
    sl__sync_stats st;
    int64_t now = sl_plat_now_ms();
    sl__metrics m = {.device = d->c->cfg.device_id, .store = d->c->cfg.store_id, .up = running};
    sl__sync_stats_get(d->sync, &st);
    m.connected = running && sl__mqtt_is_connected(d->mqtt);
    m.backlog_records = st.last_seq > st.acked_through ? st.last_seq - st.acked_through : 0;
    if (m.backlog_records > 0 && d->rec != NULL &&
        sl_journal_get(d->j, st.acked_through + 1, d->rec) == SL_OK && now > d->rec->ev.ts_ms)
        m.oldest_unacked_age_s = (double)(now - d->rec->ev.ts_ms) / 1000.0;
    m.acked_records_total = st.acked_through;
    m.resent_records_total = st.resent_records;
    m.rejected_records_total = st.rejected;
    if (sl__journal_dead_count(d->j, &m.dead_letters) != SL_OK)
        m.dead_letters = 0;
    int64_t pi = 0, si = 0;
    m.have_prices = catalog_age(d, SL_CAT_PRICES, d->c->cfg.store_id, now, &m.prices_age_s, &pi);
    m.have_prices |= catalog_age(d, SL_CAT_PRICES, SL_CAT_SCOPE_ALL, now, &m.prices_age_s, &pi);
    m.have_stock = catalog_age(d, SL_CAT_STOCK, d->c->cfg.store_id, now, &m.stock_age_s, &si);
    int rc = sl__metrics_write(d->c->cfg.metrics_file, &m);
    if (rc != SL_OK)
        sl_plat_log(SL_LOG_WARNING, "cannot write metrics_file %s: %s", d->c->cfg.metrics_file,
                    sl_strerror(rc));
}


/*
 * The retained status (statusmsg.h, docs/PROTOCOL.md "Status").  Before the
 * daemon has started (started_ms 0) this is the last will, set before the
 * first connect and sent by the broker whenever we vanish: keys 1-5, the
 * backlog as it was at start (the hub caps it by what it has stored since)
 * and the certificate's expiry.  Otherwise everything `storelink status`
 * knows, online or, at a clean stop, offline.
 */
static size_t status_payload(struct daemon *d, int online, uint8_t *buf, size_t cap)
{
    sl__sync_stats st;
    sl__status s;
    sl_journal_info info;
    uint64_t acked = 0, dead = 0;
    int64_t now = sl_plat_now_ms();
    size_t len = 0;
    if (d->sync)
        sl__sync_stats_get(d->sync, &st);
    else
        memset(&st, 0, sizeof st);
    /* the journal is the truth for the counts (the engine's copy lags a
     * restart until the first connect) */
    int have_j = d->j != NULL && sl_journal_info_get(d->j, &info) == SL_OK &&
                 sl__journal_acked(d->j, &acked) == SL_OK;
    if (!have_j) {
        acked = st.acked_through;
        info.last_seq = st.last_seq;
    }
    sl__status_init(&s, online, now, acked, info.last_seq, SL_VERSION);
    if (d->cert_not_after > 0)
        sl__status_set_i(&s, SL_ST_CERT_NOT_AFTER, d->cert_not_after);
    uint64_t unacked = info.last_seq > acked ? info.last_seq - acked : 0;
    int64_t oldest = 0;
    if (have_j && unacked > 0) {
        sl_record *rec = malloc(sizeof *rec);
        if (rec != NULL && sl_journal_get(d->j, acked + 1, rec) == SL_OK)
            oldest = rec->ev.ts_ms > 0 ? rec->ev.ts_ms : 0;
        free(rec);
    }
    sl__status_set_u(&s, SL_ST_UNACKED, unacked);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, oldest);
    if (d->started_ms != 0) {
        if (have_j && sl__journal_dead_count(d->j, &dead) == SL_OK)
            sl__status_set_u(&s, SL_ST_DEAD, dead);
        sl__status_set_u(&s, SL_ST_INFLIGHT, st.inflight);
        sl__status_set_i(&s, SL_ST_LAST_ACK, st.last_ack_ms > 0 ? st.last_ack_ms : 0);
        sl__catalog_held h;
        if (d->cat != NULL) {
            if (sl__catalog_held_get(d->cat, SL_CAT_PRICES, d->c->cfg.store_id, &h) != SL_OK)
                memset(&h, 0, sizeof h);
            sl__status_set_u(&s, SL_ST_PRICES_VER, h.version);
            sl__status_set_i(&s, SL_ST_PRICES_AT, h.issued_at > 0 ? h.issued_at : 0);
            if (sl__catalog_held_get(d->cat, SL_CAT_STOCK, d->c->cfg.store_id, &h) != SL_OK)
                memset(&h, 0, sizeof h);
            sl__status_set_u(&s, SL_ST_STOCK_VER, h.version);
            sl__status_set_i(&s, SL_ST_STOCK_AT, h.issued_at > 0 ? h.issued_at : 0);
            if (sl__catalog_held_get(d->cat, SL_CAT_PRICES, SL_CAT_SCOPE_ALL, &h) != SL_OK)
                memset(&h, 0, sizeof h);
            sl__status_set_u(&s, SL_ST_CHAIN_PRICES_VER, h.version);
        }
        sl__status_set_i(&s, SL_ST_STARTED, d->started_ms);
        sl__status_set_u(&s, SL_ST_RESENT, st.resent);
        sl__status_set_u(&s, SL_ST_REJECTED, st.rejected);
        sl__status_set_i(&s, SL_ST_CONN_SINCE, d->conn_since > 0 ? d->conn_since : 0);
        if (have_j) {
            sl__status_set_u(&s, SL_ST_JOURNAL_USED, info.used_bytes);
            sl__status_set_u(&s, SL_ST_JOURNAL_LIMIT, info.max_bytes);
        }
        sl__status_set_error(&s, st.last_error);
        sl__status_set_u(&s, SL_ST_HEALTH, (uint64_t)sl__status_health(
            &s, now, (int64_t)d->c->cfg.alert_backlog_age * 1000));
    }
    return sl__status_encode(&s, buf, cap, &len) == SL_OK ? len : 0;
}

static int tp_publish(void *ctx, const char *topic, const void *payload, size_t len, int retain,
                      int *mid)
{
    struct daemon *d = ctx;
    return sl__mqtt_publish(d->mqtt, topic, payload, len, retain, mid);
}

/* The retained status message, the one place it is published: on connect,
 * on state changes (at most once a second) and every status_interval
 * (refresh()).  What it contains is status_payload()'s business. */
static void publish_status(struct daemon *d)
{
    uint8_t st[SL_STATUSMSG_MAX];
    size_t n;
    int mid;
    if ((n = status_payload(d, 1, st, sizeof st)) > 0)
        sl__mqtt_publish(d->mqtt, d->topic_status, st, n, 1, &mid);
}

/* A state change or the status_interval tick: daemon.json, the metrics
 * file and (when connected) the retained status. */
static void refresh(struct daemon *d, int running)
{
    uint64_t now = sl_plat_mono_ms();
    write_state(d, running);
    write_metrics(d, running);
    if (running && sl__mqtt_is_connected(d->mqtt))
        publish_status(d);
    d->state_dirty = 0;
    d->state_written = now;
    d->next_tick = now + d->c->cfg.status_interval * 1000;
}

static int announce_record(const sl_record *rec, void *ctx)
{
    struct daemon *d = ctx;
    /* seq, kind, txn id and time only: no lines, tenders or amounts */
    emit(d, json_pack("{s:s,s:I,s:I,s:s,s:s}", "event", "recorded",
                      "ts", (json_int_t)rec->ev.ts_ms, "seq", (json_int_t)rec->seq,
                      "kind", sl__kind_name(rec->ev.kind), "txn_id", rec->ev.txn_id));
    d->seen_seq = rec->seq;
    return 0;
}

/* New records are in the journal (inotify woke us): tell the followers,
 * a bounded number per wake-up. */
static void announce_records(struct daemon *d)
{
    sl_journal_info info;
    d->seen_more = 0;
    if (sl_journal_info_get(d->j, &info) != SL_OK)
        return;
    sl_plat_log(SL_LOG_DEBUG, "journal changed: last seq %llu", (unsigned long long)info.last_seq);
    if (!tailing(d) || info.last_seq <= d->seen_seq) {
        if (info.last_seq > d->seen_seq)
            d->seen_seq = info.last_seq;
        return;
    }
    if (sl__journal_foreach_nohash(d->j, d->seen_seq + 1, TAIL_RECORDS_PER_WAKE, announce_record,
                                   d) != SL_OK)
        d->seen_seq = info.last_seq;   /* cannot read them: do not retry forever */
    d->seen_more = d->seen_seq < info.last_seq;
}

static void ev_sync(void *ctx, const sl__sync_event *ev)
{
    struct daemon *d = ctx;
    int64_t now = sl_plat_now_ms();
    switch (ev->type) {
    case SL_SYNC_EV_SENT:
        /* followers hear of a record before they hear it was sent, even
         * when the engine found it before the file watch woke us */
        if (tailing(d) && ev->last > d->seen_seq)
            announce_records(d);
        if (tailing(d))
            emit(d, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "event", "sent", "ts", (json_int_t)now,
                              "first", (json_int_t)ev->first, "last", (json_int_t)ev->last,
                              "records", (json_int_t)ev->records, "bytes", (json_int_t)ev->bytes));
        break;
    case SL_SYNC_EV_ACKED:
        if (ev->advanced)
            drain_sample(d, sl_plat_mono_ms(), ev->acked_through);
        if (ev->advanced || ev->n_rejected > 0)
            d->state_dirty = 1;   /* ack advanced or dead letters added */
        if (tailing(d))
            emit(d, json_pack("{s:s,s:I,s:I,s:I}", "event", "acked", "ts", (json_int_t)now,
                              "acked_through", (json_int_t)ev->acked_through,
                              "rejected", (json_int_t)ev->n_rejected));
        break;
    case SL_SYNC_EV_REJECTED:
        if (tailing(d))
            emit(d, json_pack("{s:s,s:I,s:I,s:I,s:s}", "event", "rejected", "ts", (json_int_t)now,
                              "seq", (json_int_t)ev->seq, "code", (json_int_t)ev->code,
                              "reason", ev->reason ? ev->reason : ""));
        break;
    }
}

static void announce_disconnect(struct daemon *d, const char *why)
{
    if (tailing(d)) {
        uint64_t mono = sl_plat_mono_ms();
        emit(d, json_pack("{s:s,s:I,s:s,s:s,s:I}", "event", "disconnected",
                          "ts", (json_int_t)sl_plat_now_ms(),
                          "reason", sl__control_error_class(why), "detail", why,
                          "reconnect_in_ms",
                          (json_int_t)(d->next_connect > mono ? d->next_connect - mono : 0)));
    }
}

static void ev_connected(void *ctx, int session_present, unsigned receive_max)
{
    struct daemon *d = ctx;
    sl_plat_log(SL_LOG_NOTICE, "connected to %s:%llu (session %s, receive maximum %u)",
                d->c->cfg.broker_host, (unsigned long long)d->c->cfg.broker_port,
                session_present ? "resumed" : "new", receive_max);
    d->backoff_ms = 0;
    d->connecting = 0;
    set_conn(d, "connected");
    /* always subscribe: a broker that lost its persistence forgot us */
    sl__mqtt_subscribe(d->mqtt, d->topic_ack);
    for (int i = 0; d->cat != NULL && i < 3; i++)
        sl__mqtt_subscribe(d->mqtt, d->topic_cat[i]);
    publish_status(d);
    if (tailing(d)) {
        char broker[300];
        broker_name(d, broker, sizeof broker);
        emit(d, json_pack("{s:s,s:I,s:s,s:s}", "event", "connected",
                          "ts", (json_int_t)sl_plat_now_ms(), "broker", broker,
                          "session", session_present ? "resumed" : "new"));
    }
    sl__sync_on_connected(d->sync, receive_max, sl_plat_mono_ms());
}

static void schedule_reconnect(struct daemon *d)
{
    /* exponential backoff with jitter, 1 s to 60 s */
    d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : 1000;
    if (d->backoff_ms > 60000)
        d->backoff_ms = 60000;
    uint32_t r = 0;
    sl_plat_random(&r, sizeof r);
    uint64_t jitter = d->backoff_ms / 2 + r % (d->backoff_ms / 2 + 1);
    d->next_connect = sl_plat_mono_ms() + jitter;
}

static void ev_disconnected(void *ctx, const char *raw)
{
    struct daemon *d = ctx;
    char why[512];
    explain(d, raw, why, sizeof why);
    sl_plat_log(SL_LOG_WARNING, "%s", why);
    sl__sync_on_disconnected(d->sync, why);
    d->connecting = 0;
    set_conn(d, "offline");
    schedule_reconnect(d);
    announce_disconnect(d, why);
}

static void ev_puback(void *ctx, int mid, int reason)
{
    struct daemon *d = ctx;
    sl__sync_on_puback(d->sync, mid, reason, sl_plat_mono_ms());
    if (reason >= 0x80)
        d->state_dirty = 1;
}

static void ev_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct daemon *d = ctx;
    if (strcmp(topic, d->topic_ack) == 0) {
        sl__sync_on_ack(d->sync, payload, len, sl_plat_mono_ms());
        d->state_dirty = 1;
        if (d->c->cfg.retention_days == 0)
            d->next_prune = 0;   /* keep nothing retired: prune on each ack */
        return;
    }
    for (int i = 0; d->cat != NULL && i < 3; i++)
        if (strcmp(topic, d->topic_cat[i]) == 0) {
            catalog_message(d, i, payload, len);
            return;
        }
}

static void try_connect(struct daemon *d)
{
    char raw[256], why[512];
    int rc = sl__mqtt_connect(d->mqtt, CONNECT_PROBE_MS, raw, sizeof raw);
    if (rc != SL_OK) {
        explain(d, raw, why, sizeof why);
        sl_plat_log(SL_LOG_WARNING, "%s", why);
        sl__sync_on_disconnected(d->sync, why);
        set_conn(d, "offline");
        schedule_reconnect(d);
        announce_disconnect(d, why);
        return;
    }
    d->connecting = 1;
    set_conn(d, "connecting");
}

static void dump_reply(json_t *o, char *out, size_t outsz)
{
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (t != NULL && strlen(t) < outsz)
        memcpy(out, t, strlen(t) + 1);
    else
        snprintf(out, outsz, "{\"error\":\"%s\"}", t ? "reply too large" : "out of memory");
    free(t);
    json_decref(o);
}

/* A request on the control socket (agent/control.c). */
static void ctl_request(void *ctx, int cmd, char *out, size_t outsz)
{
    struct daemon *d = ctx;
    char broker[300];
    sl__sync_stats st;
    uint64_t mono = sl_plat_mono_ms();
    sl__sync_stats_get(d->sync, &st);
    uint64_t backlog = st.last_seq > st.acked_through ? st.last_seq - st.acked_through : 0;
    broker_name(d, broker, sizeof broker);
    switch (cmd) {
    case SL_CTL_STATUS: {
        json_t *o = state_json(d, 1);
        uint64_t dead = 0;
        if (o != NULL) {
            if (sl__journal_dead_count(d->j, &dead) == SL_OK)
                json_object_set_new(o, "dead_letters", json_integer((json_int_t)dead));
            json_object_set_new(o, "tail_clients", json_integer(sl__control_tailers(d->ctl)));
            json_object_set_new(o, "acked_through", json_integer((json_int_t)st.acked_through));
            json_object_set_new(o, "last_seq", json_integer((json_int_t)st.last_seq));
            json_object_set_new(o, "live", json_true());
        }
        dump_reply(o, out, outsz);
        break;
    }
    case SL_CTL_SYNC_NOW:
        if (d->stopping) {
            dump_reply(json_pack("{s:b,s:s}", "ok", 0, "error", "the daemon is stopping"), out,
                       outsz);
        } else if (sl__mqtt_is_connected(d->mqtt)) {
            sl__sync_retry_now(d->sync, mono);
            sl__sync_stats_get(d->sync, &st);
            dump_reply(json_pack("{s:b,s:s,s:s,s:I,s:I}", "ok", 1, "action", "already_connected",
                                 "broker", broker, "pending", (json_int_t)backlog,
                                 "inflight", (json_int_t)st.inflight), out, outsz);
        } else if (d->connecting) {
            dump_reply(json_pack("{s:b,s:s,s:s}", "ok", 1, "action", "connecting", "broker",
                                 broker), out, outsz);
        } else {
            uint64_t left = d->next_connect > mono ? d->next_connect - mono : 0;
            /* forget the backoff: connect on this loop pass, and a failure
             * starts again at the shortest wait */
            d->backoff_ms = 0;
            d->next_connect = 0;
            sl_plat_log(SL_LOG_NOTICE, "sync now: connecting to %s (skipping %llu ms of backoff)",
                        broker, (unsigned long long)left);
            dump_reply(json_pack("{s:b,s:s,s:s,s:I,s:I}", "ok", 1, "action", "connecting",
                                 "broker", broker, "skipped_wait_ms", (json_int_t)left,
                                 "pending", (json_int_t)backlog), out, outsz);
        }
        break;
    case SL_CTL_TAIL:
        if (!tailing(d))
            d->seen_seq = st.last_seq;   /* the first follower starts from now */
        dump_reply(json_pack("{s:s,s:I,s:I,s:I,s:s}", "event", "following",
                             "ts", (json_int_t)sl_plat_now_ms(), "last_seq", (json_int_t)st.last_seq,
                             "acked_through", (json_int_t)st.acked_through,
                             "connection", d->conn ? d->conn : "offline"), out, outsz);
        break;
    default:
        dump_reply(json_pack("{s:s}", "error", "unknown command"), out, outsz);
    }
}

int sl__cmd_run(sl_cli *c, int argc, char **argv)
{
    struct daemon d;
    sl__key *key = NULL;
    uint8_t *cert = NULL;
    size_t cert_len = 0;
    int ex = EX_SOFTWARE_, rc, watch = -1, sigfd;
    memset(&d, 0, sizeof d);
    d.c = c;
    for (int i = 1; i < argc; i++) {
        sl__cli_err("run: unknown option '%s'", argv[i]);
        return EX_USAGE_;
    }
    sl_config *cfg = &c->cfg;
    sl__config_resolve_identity(cfg);
    if (cfg->ca_file[0] == '\0') {
        sl__cli_err("run: ca_file is not set in %s", cfg->path[0] ? cfg->path : "the configuration");
        return EX_CONFIG_;
    }
    {
        char err[600];
        if ((rc = sl__dscan_check(cfg->path, err, sizeof err)) != SL_OK) {
            sl__cli_err("%s", rc == SL_ERR_CONFIG ? err : sl_strerror(rc));
            return rc == SL_ERR_CONFIG ? EX_CONFIG_ : sl__cli_exit(rc);
        }
    }
    if ((rc = sl__key_load(&key, cfg->key_file)) != SL_OK) {
        sl__cli_err("run: cannot load device key %s: %s (create one with 'storelink keygen')",
                    cfg->key_file, sl_strerror(rc));
        return EX_CONFIG_;
    }
    if ((rc = sl__cert_file_der(cfg->cert_file, &cert, &cert_len)) != SL_OK) {
        sl__cli_err("run: cannot load device certificate %s: %s", cfg->cert_file, sl_strerror(rc));
        sl__key_free(key);
        return EX_CONFIG_;
    }
    if (sl__cert_file_validity(cfg->cert_file, &d.cert_not_before, &d.cert_not_after) == SL_OK) {
        int64_t now = sl_plat_now_ms();
        if (now > d.cert_not_after)
            sl_plat_log(SL_LOG_ERR, "device certificate %s has expired: the broker will refuse it",
                        cfg->cert_file);
        else if (d.cert_not_after - now < 30LL * 86400 * 1000)
            sl_plat_log(SL_LOG_WARNING, "device certificate %s expires in %lld days",
                        cfg->cert_file, (long long)((d.cert_not_after - now) / 86400000));
    }
    if ((rc = sl__cli_open(c, 0, &d.j)) != SL_OK) {
        ex = sl__cli_exit(rc);
        goto out;
    }
    if (cfg->catalog_pubkey[0]) {
        if ((rc = sl__pub_load(&d.catpub, cfg->catalog_pubkey)) != SL_OK) {
            sl__cli_err("run: cannot load catalog_pubkey %s: %s", cfg->catalog_pubkey,
                        sl_strerror(rc));
            ex = EX_CONFIG_;
            goto out;
        }
        if ((rc = sl__catalog_open_rw(&d.cat, cfg->state_dir, cfg->store_id, 0)) != SL_OK) {
            sl__cli_err("run: cannot open the catalog: %s", sl_strerror(rc));
            ex = sl__cli_exit(rc);
            goto out;
        }
        sl__cat_topic(cfg->topic_prefix, cfg->store_id, SL_CAT_PRICES, d.topic_cat[0], 256);
        sl__cat_topic(cfg->topic_prefix, cfg->store_id, SL_CAT_STOCK, d.topic_cat[1], 256);
        sl__cat_topic(cfg->topic_prefix, SL_CAT_SCOPE_ALL, SL_CAT_PRICES, d.topic_cat[2], 256);
    } else {
        sl_plat_log(SL_LOG_WARNING, "catalog_pubkey not set: price and stock updates are not "
                    "received");
    }
    d.scfg = (sl__sync_cfg){
        .device = cfg->device_id, .store = cfg->store_id, .prefix = cfg->topic_prefix,
        .batch_max_records = cfg->batch_max_records, .batch_max_bytes = cfg->batch_max_bytes,
        .max_inflight = (unsigned)cfg->max_inflight, .ack_timeout_ms = cfg->ack_timeout * 1000,
        .compress = (int)cfg->compress, .key = key, .cert_der = cert, .cert_len = cert_len,
    };
    sl__transport tp = {&d, tp_publish};
    if ((rc = sl__sync_new(&d.sync, d.j, &d.scfg, &tp)) != SL_OK) {
        sl__cli_err("run: %s", sl_strerror(rc));
        ex = sl__cli_exit(rc);
        goto out;
    }
    sl__sync_topic(&d.scfg, "ack", d.topic_ack, sizeof d.topic_ack);
    sl__sync_topic(&d.scfg, "status", d.topic_status, sizeof d.topic_status);
    sl__sync_topic(&d.scfg, "catalog-request", d.topic_catreq, sizeof d.topic_catreq);
    d.offline_len = status_payload(&d, 0, d.offline_msg, sizeof d.offline_msg);
    sl__sync_set_observer(d.sync, ev_sync, &d);
    if ((d.rec = malloc(sizeof *d.rec)) == NULL) {
        ex = EX_SOFTWARE_;
        goto out;
    }
    {
        char ctlpath[108], err[600];
        sl__control_ops ops = {&d, ctl_request};
        if (sl__control_path(cfg->control_socket, cfg->state_dir, ctlpath, sizeof ctlpath) != SL_OK) {
            sl__cli_err("run: control_socket: the socket path must be at most 107 bytes (set "
                        "control_socket to a shorter path)");
            ex = EX_CONFIG_;
            goto out;
        }
        rc = sl__control_open(&d.ctl, ctlpath, cfg->admin_group, &ops, err, sizeof err);
        if (rc != SL_OK) {
            sl__cli_err("run: %s", err);
            ex = rc == SL_ERR_CONFIG ? EX_CONFIG_ : rc == SL_ERR_CONFLICT ? EX_CANTCREAT_
                                                                          : sl__cli_exit(rc);
            goto out;
        }
    }
    {
        char err[600];
        sl_catalog *cat = d.cat;
        /* lookups and counts' expected figures read the catalog; without
         * catalog_pubkey the daemon holds none, so open what is there */
        if (cat == NULL && sl_catalog_open(&d.scancat, cfg->state_dir) == SL_OK)
            cat = d.scancat;
        rc = sl__dscan_open(&d.scan, cfg->path, d.j, cat, cfg->device_id, err, sizeof err);
        if (rc != SL_OK) {
            sl__cli_err("run: %s", err);
            ex = rc == SL_ERR_CONFIG ? EX_CONFIG_ : sl__cli_exit(rc);
            goto out;
        }
    }
    {
        char ipath[108], err[600];
        int n = cfg->ingest_socket[0]
                    ? snprintf(ipath, sizeof ipath, "%s", cfg->ingest_socket)
                    : snprintf(ipath, sizeof ipath, "%s/ingest.sock", cfg->state_dir);
        sl__ingest_cfg ic = {ipath, cfg->ingest_uids.id, cfg->ingest_gids.id,
                             cfg->ingest_uids.n, cfg->ingest_gids.n,
                             (unsigned)cfg->ingest_batch_max};
        if (n < 0 || n > 107) {
            sl__cli_err("run: ingest socket: the path must be at most 107 bytes (set [ingest] "
                        "socket to a shorter path)");
            ex = EX_CONFIG_;
            goto out;
        }
        if ((rc = sl__ingest_open(&d.ing, d.j, &ic, err, sizeof err)) != SL_OK) {
            sl__cli_err("run: %s", err);
            ex = rc == SL_ERR_CONFLICT ? EX_CANTCREAT_ : sl__cli_exit(rc);
            goto out;
        }
    }
    sl__mqtt_cfg mc = {
        .host = cfg->broker_host, .port = (int)cfg->broker_port, .ca_file = cfg->ca_file,
        .cert_file = cfg->cert_file, .key_file = cfg->key_file, .client_id = cfg->device_id,
        .keepalive = (int)cfg->keepalive, .session_expiry = (uint32_t)cfg->session_expiry,
        .will_topic = d.topic_status, .will_payload = d.offline_msg, .will_len = d.offline_len,
    };
    sl__mqtt_events me = {&d, ev_connected, ev_disconnected, ev_puback, ev_message};
    if ((rc = sl__mqtt_new(&d.mqtt, &mc, &me)) != SL_OK) {
        sl__cli_err("run: cannot set up MQTT/TLS (check ca_file, cert_file, key_file)");
        ex = EX_CONFIG_;
        goto out;
    }
    if ((sigfd = sl_plat_signals_init()) < 0) {
        sl__cli_err("run: cannot install signal handlers");
        goto out;
    }
    char datafile[4200];
    snprintf(datafile, sizeof datafile, "%s/data.mdb", sl__journal_dir(d.j));
    watch = sl_plat_watch_file(datafile);
    sl_plat_log(SL_LOG_NOTICE, "storelink %s running: device %s, store %s, broker %s:%llu",
                SL_VERSION, cfg->device_id, cfg->store_id, cfg->broker_host,
                (unsigned long long)cfg->broker_port);
    d.started_ms = sl_plat_now_ms();
    d.start_mono = sl_plat_mono_ms();
    {
        sl__sync_stats st0;
        sl__sync_stats_get(d.sync, &st0);
        d.start_acked = st0.acked_through;
        d.seen_seq = st0.last_seq;
    }
    set_conn(&d, "offline");
    refresh(&d, 1);
    /* ready before the first connect: recording and the journal work
     * offline, and a broker that is away must not fail the start */
    sl_plat_notify("READY=1");
    uint64_t wd_us = sl_plat_watchdog_usec();
    if (wd_us > 0) {
        d.wd_every_ms = wd_us / 2000 > 0 ? wd_us / 2000 : 1;
        if (wd_us / 1000 <= CONNECT_PROBE_MS)
            sl_plat_log(SL_LOG_WARNING, "watchdog interval %llu ms is not above the %d ms "
                        "connect timeout: a slow broker may trip it",
                        (unsigned long long)(wd_us / 1000), CONNECT_PROBE_MS);
    }

    uint64_t stop_deadline = 0;
    for (;;) {
        uint64_t now = sl_plat_mono_ms();
        /* before a connect attempt, which may block for CONNECT_PROBE_MS */
        if (d.wd_every_ms > 0 && now >= d.next_wd) {
            sl_plat_notify("WATCHDOG=1");
            d.next_wd = now + d.wd_every_ms;
        }
        if (!d.stopping && !d.connecting && !sl__mqtt_is_connected(d.mqtt) && now >= d.next_connect)
            try_connect(&d);
        if (!d.stopping && now >= d.next_bgverify)
            bg_verify(&d, now);
        if (!d.stopping && now >= d.next_prune)
            prune(&d, now);
        if (!d.stopping && now >= d.next_dayclose) {
            uint64_t wait_ms;
            sl__day_auto_close(d.j, cfg, sl_plat_now_ms(), &wait_ms);
            d.next_dayclose = now + wait_ms;
        }
        uint64_t next = sl__sync_tick(d.sync, now);
        if (d.stopping && (sl__sync_idle(d.sync) || now >= stop_deadline ||
                         !sl__mqtt_is_connected(d.mqtt)))
            break;
        /* wake for: reconnect, engine timers, keepalive servicing */
        uint64_t wake = next;
        if (!sl__mqtt_is_connected(d.mqtt) && !d.connecting && d.next_connect < wake)
            wake = d.next_connect;
        if (sl__mqtt_fd(d.mqtt) >= 0) {
            /* a quarter keepalive: libmosquitto sends its PINGREQ when we
             * call it after a keepalive of silence, and the answer must be
             * back before sl__mqtt_deadline (1.5 x keepalive) */
            uint64_t ka = now + cfg->keepalive * 1000 / 4;
            if (ka < wake)
                wake = ka;
            if (sl__mqtt_deadline(d.mqtt) < wake)
                wake = sl__mqtt_deadline(d.mqtt);
        }
        if (d.stopping && stop_deadline < wake)
            wake = stop_deadline;
        if (d.wd_every_ms > 0 && d.next_wd < wake)
            wake = d.next_wd;
        if (!d.stopping && d.next_prune < wake)
            wake = d.next_prune;
        if (!d.stopping && d.next_bgverify < wake)
            wake = d.next_bgverify;
        if (!d.stopping && d.next_dayclose < wake)
            wake = d.next_dayclose;
        /* a journal reopened after an LMDB panic: an alarm, shown at once */
        uint64_t nreopen;
        int64_t reopen_ms;
        if (d.j != NULL && sl__journal_reopens(d.j, &nreopen, &reopen_ms) == SL_OK &&
            nreopen != d.reopens_seen) {
            d.reopens_seen = nreopen;
            d.state_dirty = 1;
        }
        /* another process found the journal damaged and started a new epoch;
         * the journal handle followed it: the sync engine's window and
         * acked_through belong to the old file, so start again from the new
         * epoch's acked_through (the hub dedupes, never a gap) */
        if (d.j != NULL && sl__journal_follows(d.j, &nreopen, &reopen_ms) == SL_OK &&
            nreopen != d.follows_seen) {
            d.follows_seen = nreopen;
            sl__sync_journal_switched(d.sync, now);
            memset(&d.bgv, 0, sizeof d.bgv);   /* a new journal: check it afresh */
            /* followers hear of the new epoch's records after X, even when
             * the old file had gone further */
            sl__epoch ep;
            if (sl__journal_epoch(d.j, &ep) == SL_OK && d.seen_seq > ep.from_seq)
                d.seen_seq = ep.from_seq;
            d.state_dirty = 1;
            /* the file watch is on the moved-aside file: watch the new one */
            sl_plat_close(watch);
            watch = sl_plat_watch_file(datafile);
            d.seen_more = 1;
        }
        /* the status cadence: the only timer left when nothing happens */
        if ((d.state_dirty && now >= d.state_written + REFRESH_MIN_MS) || now >= d.next_tick)
            refresh(&d, 1);
        if (d.state_dirty && d.state_written + REFRESH_MIN_MS < wake)
            wake = d.state_written + REFRESH_MIN_MS;
        if (d.next_tick < wake)
            wake = d.next_tick;
        if (d.seen_more)
            wake = now;   /* more new records to announce: no sleep */
        if (d.watch_recheck && d.watch_recheck < wake)
            wake = d.watch_recheck;
        if (sl__dscan_deadline(d.scan) < wake)
            wake = sl__dscan_deadline(d.scan);
        if (sl__ingest_busy(d.ing))
            wake = now;   /* requests left over from a full group commit */
        int timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0
                    : (int)((wake - now) > 600000 ? 600000 : (wake - now));
        sl_pollfd fds[SL_POLL_MAX];
        int n = 0, i_mq = -1, i_w = -1, i_ctl, i_scan, n_scan, i_ing;
        fds[n++] = (sl_pollfd){sigfd, 1, 0, 0, 0, 0};
        if (watch >= 0) {
            i_w = n;
            fds[n++] = (sl_pollfd){watch, 1, 0, 0, 0, 0};
        }
        if (sl__mqtt_fd(d.mqtt) >= 0) {
            i_mq = n;
            fds[n++] = (sl_pollfd){sl__mqtt_fd(d.mqtt), 1, sl__mqtt_want_write(d.mqtt), 0, 0, 0};
        }
        i_scan = n;   /* before the control clients: a scanner always gets a slot */
        n_scan = sl__dscan_pollfds(d.scan, fds + n, SL_POLL_MAX - n);
        n += n_scan;
        i_ctl = n;
        n += sl__control_pollfds(d.ctl, fds + n, SL_POLL_MAX - n);
        i_ing = n;
        n += sl__ingest_pollfds(d.ing, fds + n, SL_POLL_MAX - n);
        sl_plat_poll(fds, n, timeout);
        if (fds[0].readable) {
            int s = sl_plat_signal_take(sigfd);
            if (s == 'T' && !d.stopping) {
                sl_plat_log(SL_LOG_NOTICE, "stopping: waiting up to %d ms for in-flight acks",
                            DRAIN_MS);
                d.stopping = 1;
                sl_plat_notify("STOPPING=1");
                sl__sync_stop_sending(d.sync);
                stop_deadline = sl_plat_mono_ms() + DRAIN_MS;
            } else if (s == 'H') {
                sl_config fresh;
                char err[512];
                sl__config_defaults(&fresh);
                if (sl__config_load(&fresh, cfg->path[0] ? cfg->path : SL_DEFAULT_CONFIG, 0, err,
                                    sizeof err) == SL_OK) {
                    cfg->log_level = fresh.log_level;
                    sl_plat_log_set_level(fresh.log_level);
                    cfg->batch_max_records = fresh.batch_max_records;
                    cfg->batch_max_bytes = fresh.batch_max_bytes;
                    cfg->max_inflight = fresh.max_inflight;
                    cfg->ack_timeout = fresh.ack_timeout;
                    cfg->retention_days = fresh.retention_days;
                    /* read where they are used: take effect from the next use */
                    cfg->alert_backlog_age = fresh.alert_backlog_age;
                    if (cfg->status_interval != fresh.status_interval) {
                        cfg->status_interval = fresh.status_interval;
                        d.next_tick = 0;   /* refresh now, then at the new interval */
                    }
                    memcpy(cfg->metrics_file, fresh.metrics_file, sizeof cfg->metrics_file);
                    if (strcmp(cfg->timezone, fresh.timezone) || cfg->day_end_min != fresh.day_end_min ||
                        cfg->auto_close != fresh.auto_close) {
                        memcpy(cfg->timezone, fresh.timezone, sizeof cfg->timezone);
                        cfg->day_end_min = fresh.day_end_min;
                        cfg->auto_close = fresh.auto_close;
                        d.next_dayclose = 0;   /* look at the business day again */
                    }
                    sl__sync_set_limits(d.sync, cfg->batch_max_records, cfg->batch_max_bytes,
                                        (unsigned)cfg->max_inflight, cfg->ack_timeout * 1000);
                    /* --state-dir on the command line still wins */
                    memcpy(fresh.state_dir, cfg->state_dir, sizeof fresh.state_dir);
                    sl__config_resolve_identity(&fresh);
                    sl__dscan_reload(d.scan, cfg->path);
                    const char *restart[] = {
                        strcmp(fresh.broker_host, cfg->broker_host) ||
                            fresh.broker_port != cfg->broker_port ? "broker" : NULL,
                        strcmp(fresh.ca_file, cfg->ca_file) || strcmp(fresh.cert_file, cfg->cert_file) ||
                            strcmp(fresh.key_file, cfg->key_file) ? "TLS files" : NULL,
                        strcmp(fresh.device_id, cfg->device_id) ||
                            strcmp(fresh.store_id, cfg->store_id) ? "device/store id" : NULL,
                        strcmp(fresh.catalog_pubkey, cfg->catalog_pubkey) ? "catalog_pubkey" : NULL,
                        strcmp(fresh.topic_prefix, cfg->topic_prefix) ? "topic_prefix" : NULL,
                        fresh.keepalive != cfg->keepalive ? "keepalive" : NULL,
                        fresh.session_expiry != cfg->session_expiry ? "session_expiry" : NULL,
                        fresh.compress != cfg->compress ? "compress" : NULL,
                        fresh.max_db_mb != cfg->max_db_mb ? "max_db_mb" : NULL,
                        strcmp(fresh.control_socket, cfg->control_socket) ||
                            strcmp(fresh.admin_group, cfg->admin_group) ? "[control] settings" : NULL,
                        strcmp(fresh.ingest_socket, cfg->ingest_socket) ||
                            fresh.ingest_batch_max != cfg->ingest_batch_max ||
                            memcmp(&fresh.ingest_uids, &cfg->ingest_uids, sizeof fresh.ingest_uids) ||
                            memcmp(&fresh.ingest_gids, &cfg->ingest_gids, sizeof fresh.ingest_gids)
                            ? "[ingest] settings" : NULL,
                    };
                    for (size_t r = 0; r < sizeof restart / sizeof restart[0]; r++)
                        if (restart[r] != NULL)
                            sl_plat_log(SL_LOG_WARNING, "reload: %s changed: restart storelink "
                                        "to apply it", restart[r]);
                    sl_plat_log(SL_LOG_NOTICE, "configuration reloaded");
                } else {
                    sl_plat_log(SL_LOG_ERR, "reload failed, keeping the running config: %s", err);
                }
            }
        }
        uint64_t after = sl_plat_mono_ms();
        int recheck = d.watch_recheck && after >= d.watch_recheck;
        if (recheck)
            d.watch_recheck = 0;
        if ((i_w >= 0 && fds[i_w].readable) || d.seen_more || recheck) {
            if (i_w >= 0 && fds[i_w].readable) {
                sl_plat_watch_drain(watch);
                d.watch_recheck = after + WATCH_RECHECK_MS;
            }
            /* before the kick, so followers see "recorded" before "sent" */
            announce_records(&d);
            if (!d.stopping)
                sl__sync_kick(d.sync, sl_plat_mono_ms());
        }
        {
            /* a scan commit is our own write: kick the engine now rather
             * than rely on the file watch waking us for it */
            int changed;
            int rec = sl__dscan_service(d.scan, fds + i_scan, n_scan, sl_plat_mono_ms(), &changed);
            if (rec < 0)
                sl_plat_log(SL_LOG_ERR, "scanners: %s", sl_strerror(SL_ERR_NOMEM));
            if (changed)
                d.state_dirty = 1;
            if (rec > 0) {
                d.state_dirty = 1;
                announce_records(&d);
                if (!d.stopping)
                    sl__sync_kick(d.sync, sl_plat_mono_ms());
            }
        }
        if (i_mq >= 0)
            sl__mqtt_service(d.mqtt, fds[i_mq].readable || fds[i_mq].error, fds[i_mq].writable);
        sl__control_service(d.ctl, fds + i_ctl, i_ing - i_ctl);
        {
            /* daemon.json shows the ingest counters: refresh after requests */
            sl__ingest_stats is;
            uint64_t before = (sl__ingest_stats_get(d.ing, &is), is.requests);
            sl__ingest_service(d.ing, fds + i_ing, n - i_ing);
            sl__ingest_stats_get(d.ing, &is);
            if (is.requests != before)
                d.state_dirty = 1;
        }
    }
    if (sl__mqtt_is_connected(d.mqtt)) {
        uint8_t st[SL_STATUSMSG_MAX];
        size_t sn = status_payload(&d, 0, st, sizeof st);
        int mid;
        if (sn > 0)
            sl__mqtt_publish(d.mqtt, d.topic_status, st, sn, 1, &mid);
        sl__mqtt_disconnect(d.mqtt);
    }
    set_conn(&d, "stopped");
    refresh(&d, 0);
    sl_plat_log(SL_LOG_NOTICE, "stopped");
    ex = EX_OK_;
out:
    sl__dscan_free(d.scan);   /* before the journal: an open count is discarded */
    sl_catalog_close(d.scancat);
    sl__ingest_close(d.ing);
    sl__control_close(d.ctl);
    free(d.rec);
    sl_plat_close(watch);
    sl__mqtt_free(d.mqtt);
    sl__sync_free(d.sync);
    sl_catalog_close(d.cat);
    sl__pub_free(d.catpub);
    sl_journal_close(d.j);
    free(cert);
    sl__key_free(key);
    return ex;
}

int sl__cmd_keygen(sl_cli *c, int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else {
            sl__cli_err("keygen: unknown option '%s' (usage: storelink keygen [--out PATH])", argv[i]);
            return EX_USAGE_;
        }
    }
    sl__config_resolve_identity(&c->cfg);
    if (out == NULL)
        out = c->cfg.key_file;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        int mk = sl_plat_mkdir_p(dir, 0700);
        if (mk != SL_OK) {
            sl__cli_err("keygen: cannot create %s: %s", dir, sl_strerror(mk));
            return sl__cli_exit(mk);
        }
    }
    int rc = sl__key_generate(out);
    if (rc == SL_ERR_CONFLICT) {
        sl__cli_err("keygen: %s already exists; a device key is never overwritten", out);
        return EX_CANTCREAT_;
    }
    if (rc != SL_OK) {
        sl__cli_err("keygen: cannot write %s: %s", out, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    printf("device key written to %s (mode 0600)\n", out);
    return EX_OK_;
}

int sl__cmd_csr(sl_cli *c, int argc, char **argv)
{
    const char *device = c->cfg.device_id, *store = c->cfg.store_id, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else {
            sl__cli_err("csr: unknown option '%s' (usage: storelink csr --device ID --store S "
                        "[--out PATH])", argv[i]);
            return EX_USAGE_;
        }
    }
    /* the same rule as device_id/store_id in the config: these become
     * MQTT topic levels and the certificate's CN */
    const char *ids[2][2] = {{"--device", device}, {"--store", store}};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(ids[k][1]);
        int ok = n > 0 && n <= 64;
        for (size_t i = 0; ok && i < n; i++) {
            char ch = ids[k][1][i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.';
        }
        if (!ok) {
            sl__cli_err("csr: %s: 1-64 letters, digits, '-', '_' or '.'", ids[k][0]);
            return EX_USAGE_;
        }
    }
    sl__config_resolve_identity(&c->cfg);
    sl__key *key;
    int rc = sl__key_load(&key, c->cfg.key_file);
    if (rc != SL_OK) {
        sl__cli_err("csr: cannot load device key %s: %s (run 'storelink keygen' first)",
                    c->cfg.key_file, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    char subject[200], pem[4096];
    snprintf(subject, sizeof subject, "CN=%s,O=%s", device, store);
    rc = sl__key_csr(key, subject, pem, sizeof pem);
    sl__key_free(key);
    if (rc != SL_OK) {
        sl__cli_err("csr: cannot create the request: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    if (out != NULL) {
        rc = sl_plat_write_file(out, pem, strlen(pem), 0644, 0);
        if (rc != SL_OK) {
            sl__cli_err("csr: cannot write %s: %s", out, sl_strerror(rc));
            return sl__cli_exit(rc);
        }
    } else {
        fputs(pem, stdout);
    }
    return EX_OK_;
}
