/*
 * storelink run - the daemon: one thread, one poll loop over the MQTT
 * socket, a watch on the journal file (records written by other processes)
 * and the signal pipe.  It sleeps until one of them or a timer needs it.
 *
 * SIGTERM/SIGINT: stop sending new batches, wait (bounded) for the acks
 * of what is in flight, publish the retained "offline" status ourselves
 * (a clean DISCONNECT suppresses the last will) and exit 0.
 * SIGHUP: re-read the configuration and apply log level, batch limits,
 * window, ack timeout and retention; broker, identity and catalog settings
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
#include "crypto.h"
#include "journal_internal.h"
#include "mqtt.h"
#include "platform.h"
#include "statusmsg.h"
#include "sync.h"

#define DRAIN_MS 5000
#define PRUNE_EVERY_MS (3600 * 1000)
#define PRUNE_BATCH 5000
#define CONNECT_PROBE_MS 3000

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
    uint64_t next_dayclose;   /* mono ms: automatic close at day_end (cli_day.c) */
    /* the offline catalog (only with catalog_pubkey set) */
    sl_catalog *cat;
    sl__pub *catpub;
    char topic_cat[3][256], topic_catreq[256];
    uint64_t catreq_last[3];   /* mono ms of the last snapshot request */
    /* service manager: keep-alive period (0: no watchdog), last STATUS= */
    uint64_t wd_every_ms, next_wd;
    char notified[160];
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
 * bounded number per transaction so recording never waits long. */
static void prune(struct daemon *d, uint64_t now)
{
    size_t n = 0;
    int64_t before = sl_plat_now_ms() - (int64_t)d->c->cfg.retention_days * 86400000;
    int rc = sl__journal_prune(d->j, before, PRUNE_BATCH, &n);
    if (rc != SL_OK)
        sl_plat_log(SL_LOG_WARNING, "retention: cannot prune: %s", sl_strerror(rc));
    else if (n > 0)
        sl_plat_log(SL_LOG_INFO, "retention: removed %zu acknowledged record(s)", n);
    /* more to do: continue soon, else in an hour */
    d->next_prune = now + (n == PRUNE_BATCH ? 1000 : PRUNE_EVERY_MS);
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

/* Rewritten at most once a second (and on every connection change), with
 * no fsync: it is a window for technicians, not a record. */
static void write_state(struct daemon *d, int running)
{
    sl__sync_stats st;
    char path[4200];
    sl__sync_stats_get(d->sync, &st);
    json_t *o = json_pack("{s:b,s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
        "running", running, "pid", (json_int_t)sl_plat_getpid(),
        "started_ms", (json_int_t)d->started_ms, "version", SL_VERSION,
        "device", d->c->cfg.device_id, "store", d->c->cfg.store_id,
        "connection", d->conn ? d->conn : "offline", "since_ms", (json_int_t)d->conn_since,
        "last_error", st.last_error, "inflight", (json_int_t)st.inflight,
        "batches_sent", (json_int_t)st.batches_sent, "records_sent", (json_int_t)st.records_sent,
        "bytes_sent", (json_int_t)st.bytes_sent, "resent", (json_int_t)st.resent,
        "rejected", (json_int_t)st.rejected, "acks", (json_int_t)st.acks,
        "last_ack_ms", (json_int_t)st.last_ack_ms, "updated_ms", (json_int_t)sl_plat_now_ms());
    if (o == NULL)
        return;
    char broker[300];
    snprintf(broker, sizeof broker, "%s:%llu", d->c->cfg.broker_host,
             (unsigned long long)d->c->cfg.broker_port);
    json_object_set_new(o, "broker", json_string(broker));
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (txt == NULL)
        return;
    /* the same facts, one line, for `systemctl status` */
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
    d->state_dirty = 0;
    d->state_written = sl_plat_mono_ms();
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

static void ev_connected(void *ctx, int session_present, unsigned receive_max)
{
    struct daemon *d = ctx;
    uint8_t st[SL_STATUSMSG_MAX];
    size_t n;
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
    if ((n = status_payload(d, 1, st, sizeof st)) > 0) {
        int mid;
        sl__mqtt_publish(d->mqtt, d->topic_status, st, n, 1, &mid);
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
        return;
    }
    d->connecting = 1;
    set_conn(d, "connecting");
}

static void resolve_identity_paths(sl_config *cfg)
{
    if (cfg->key_file[0] == '\0')
        snprintf(cfg->key_file, sizeof cfg->key_file, "%.4000s/device.key", cfg->state_dir);
    if (cfg->cert_file[0] == '\0')
        snprintf(cfg->cert_file, sizeof cfg->cert_file, "%.4000s/device.crt", cfg->state_dir);
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
    resolve_identity_paths(cfg);
    if (cfg->ca_file[0] == '\0') {
        sl__cli_err("run: ca_file is not set in %s", cfg->path[0] ? cfg->path : "the configuration");
        return EX_CONFIG_;
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
    set_conn(&d, "offline");
    write_state(&d, 1);
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

    int stopping = 0;
    uint64_t stop_deadline = 0;
    for (;;) {
        uint64_t now = sl_plat_mono_ms();
        /* before a connect attempt, which may block for CONNECT_PROBE_MS */
        if (d.wd_every_ms > 0 && now >= d.next_wd) {
            sl_plat_notify("WATCHDOG=1");
            d.next_wd = now + d.wd_every_ms;
        }
        if (!stopping && !d.connecting && !sl__mqtt_is_connected(d.mqtt) && now >= d.next_connect)
            try_connect(&d);
        if (!stopping && now >= d.next_prune)
            prune(&d, now);
        if (!stopping && now >= d.next_dayclose) {
            uint64_t wait_ms;
            sl__day_auto_close(d.j, cfg, sl_plat_now_ms(), &wait_ms);
            d.next_dayclose = now + wait_ms;
        }
        uint64_t next = sl__sync_tick(d.sync, now);
        if (stopping && (sl__sync_idle(d.sync) || now >= stop_deadline ||
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
        if (stopping && stop_deadline < wake)
            wake = stop_deadline;
        if (d.wd_every_ms > 0 && d.next_wd < wake)
            wake = d.next_wd;
        if (!stopping && d.next_prune < wake)
            wake = d.next_prune;
        if (!stopping && d.next_dayclose < wake)
            wake = d.next_dayclose;
        if (d.state_dirty) {
            if (now >= d.state_written + 1000)
                write_state(&d, 1);
            else if (d.state_written + 1000 < wake)
                wake = d.state_written + 1000;
        }
        int timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0
                    : (int)((wake - now) > 600000 ? 600000 : (wake - now));
        sl_pollfd fds[3];
        int n = 0, i_mq = -1, i_w = -1;
        fds[n++] = (sl_pollfd){sigfd, 1, 0, 0, 0, 0};
        if (watch >= 0) {
            i_w = n;
            fds[n++] = (sl_pollfd){watch, 1, 0, 0, 0, 0};
        }
        if (sl__mqtt_fd(d.mqtt) >= 0) {
            i_mq = n;
            fds[n++] = (sl_pollfd){sl__mqtt_fd(d.mqtt), 1, sl__mqtt_want_write(d.mqtt), 0, 0, 0};
        }
        sl_plat_poll(fds, n, timeout);
        if (fds[0].readable) {
            int s = sl_plat_signal_take(sigfd);
            if (s == 'T' && !stopping) {
                sl_plat_log(SL_LOG_NOTICE, "stopping: waiting up to %d ms for in-flight acks",
                            DRAIN_MS);
                stopping = 1;
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
                    sl__sync_set_limits(d.sync, cfg->batch_max_records, cfg->batch_max_bytes,
                                        (unsigned)cfg->max_inflight, cfg->ack_timeout * 1000);
                    /* --state-dir on the command line still wins */
                    memcpy(fresh.state_dir, cfg->state_dir, sizeof fresh.state_dir);
                    resolve_identity_paths(&fresh);
                    const char *restart[] = {
                        strcmp(fresh.broker_host, cfg->broker_host) ||
                            fresh.broker_port != cfg->broker_port ? "broker" : NULL,
                        strcmp(fresh.ca_file, cfg->ca_file) || strcmp(fresh.cert_file, cfg->cert_file) ||
                            strcmp(fresh.key_file, cfg->key_file) ? "TLS files" : NULL,
                        strcmp(fresh.device_id, cfg->device_id) ||
                            strcmp(fresh.store_id, cfg->store_id) ? "device/store id" : NULL,
                        strcmp(fresh.catalog_pubkey, cfg->catalog_pubkey) ? "catalog_pubkey" : NULL,
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
        if (i_w >= 0 && fds[i_w].readable) {
            sl_plat_watch_drain(watch);
            if (!stopping)
                sl__sync_kick(d.sync, sl_plat_mono_ms());
        }
        if (i_mq >= 0)
            sl__mqtt_service(d.mqtt, fds[i_mq].readable || fds[i_mq].error, fds[i_mq].writable);
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
    write_state(&d, 0);
    sl_plat_log(SL_LOG_NOTICE, "stopped");
    ex = EX_OK_;
out:
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
    resolve_identity_paths(&c->cfg);
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
    resolve_identity_paths(&c->cfg);
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
