/*
 * storelink status [--json]: is this box syncing, how far behind, since
 * when, and why not.  Works with or without the daemon: the journal says
 * what is recorded and acknowledged, daemon.json what the daemon sees, the
 * certificate files who the device is.  Every reason for a verdict is in
 * `problems` with the fix to try.
 * Exit 0 healthy, 1 degraded, 2 failing (docs/CLI.md "status").
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catmsg.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "diag.h"
#include "journal_internal.h"
#include "platform.h"
#include "probe.h"

#define DAY_MS 86400000LL
#define CERT_WARN_DAYS 30
#define JOURNAL_WARN_PCT 90
#define DISK_MIN_BYTES (100ULL << 20)
#define DISK_MIN_PCT 5

void sl__human_age(int64_t ms, char *out, size_t outsz)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;
    if (s < 60)
        snprintf(out, outsz, "%lld s", (long long)s);
    else if (s < 3600)
        snprintf(out, outsz, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, outsz, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, outsz, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

void sl__human_bytes(uint64_t n, char *out, size_t outsz)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(out, outsz, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n / 1024;
    unsigned u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(out, outsz, "%.1f %s", v, unit[u]);
}

json_t *sl__daemon_view(const char *state_dir, int *running, long *pid)
{
    char path[4200], *txt = NULL;
    size_t tl;
    json_t *dj = NULL;
    *running = 0;
    *pid = 0;
    snprintf(path, sizeof path, "%s/daemon.json", state_dir);
    if (sl_plat_read_file(path, 1 << 16, &txt, &tl) == SL_OK) {
        dj = json_loadb(txt, tl, 0, NULL);
        free(txt);
    }
    if (dj == NULL || !json_is_object(dj)) {
        json_decref(dj);
        return NULL;
    }
    *pid = (long)json_integer_value(json_object_get(dj, "pid"));
    *running = json_is_true(json_object_get(dj, "running")) && *pid > 0 && sl_plat_pid_alive(*pid);
    return dj;
}

/* The daemon's view for status and doctor: asked live over its control
 * socket when it runs (daemon.json lags by up to a second, and says nothing
 * when the daemon hangs), else what it last wrote; "source" says which. */
json_t *sl__daemon_view_live(const sl_config *cfg, int *running, long *pid)
{
    json_t *dj = sl__daemon_view(cfg->state_dir, running, pid);
    if (!*running)
        return dj;
    char sock[128], *reply = malloc(SL_CONTROL_REPLY_MAX);
    json_t *live = NULL;
    if (reply != NULL &&
        sl__control_path(cfg->control_socket, cfg->state_dir, sock, sizeof sock) == SL_OK &&
        sl__control_request(sock, "{\"cmd\":\"status\"}", 1000, reply, SL_CONTROL_REPLY_MAX) ==
            SL_OK)
        live = json_loads(reply, 0, NULL);
    free(reply);
    if (live != NULL && json_is_object(live) && json_object_get(live, "connection") != NULL) {
        /* the backlog figures come from the journal, once */
        json_object_del(live, "acked_through");
        json_object_del(live, "last_seq");
        json_decref(dj);
        dj = live;
    } else {
        json_decref(live);
    }
    json_object_set_new(dj, "source", json_string(json_is_true(json_object_get(dj, "live"))
                                                      ? "control socket" : "daemon.json"));
    return dj;
}

struct verdict {
    int health;          /* 0 healthy, 1 degraded, 2 failing */
    json_t *problems;    /* [{severity, problem, fix}] */
    char first[400];     /* the first problem, for the human health line */
    unsigned n;
};

static void problem(struct verdict *v, int sev, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct verdict *v, int sev, const char *fix, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sev > v->health)
        v->health = sev;
    if (v->n++ == 0)
        snprintf(v->first, sizeof v->first, "%s", msg);
    json_array_append_new(v->problems, json_pack("{s:s,s:s,s:s}", "severity",
                                                 sev == 2 ? "failing" : "degraded",
                                                 "problem", msg, "fix", fix));
}

static json_int_t jint(json_t *o, const char *k)
{
    return o ? json_integer_value(json_object_get(o, k)) : 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = o ? json_string_value(json_object_get(o, k)) : NULL;
    return s ? s : "";
}

int sl__cmd_status(sl_cli *c, int argc, char **argv)
{
    int json = 0;
    sl__config_resolve_identity(&c->cfg);   /* the same defaults as run */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else {
            sl__cli_err("status: unknown option '%s' (usage: storelink status [--json])", argv[i]);
            return EX_USAGE_;
        }
    }
    const sl_config *cfg = &c->cfg;
    struct verdict v = {0, json_array(), "", 0};
    if (v.problems == NULL)
        return EX_SOFTWARE_;
    int64_t now = sl_plat_now_ms();
    if (c->cfg_err[0])
        problem(&v, 2, "correct the config file (storelink doctor names the line)",
                "config: %s", c->cfg_err);
    else if (cfg->path[0] == '\0')
        problem(&v, 2, "install " SL_DEFAULT_CONFIG " or pass --config PATH",
                "no config file: running on built-in defaults");

    /* the journal: recorded, acknowledged, dead letters */
    sl_journal *j = NULL;
    sl_journal_info info;
    uint64_t acked = 0, dead = 0;
    int64_t oldest_ts = 0;
    sl_journal_opts o = {.max_db_mb = cfg->max_db_mb, .read_only = 1};
    int rc = sl_journal_open(&j, cfg->state_dir, &o);
    memset(&info, 0, sizeof info);
    if (rc == SL_OK) {
        if (sl_journal_info_get(j, &info) != SL_OK || sl__journal_acked(j, &acked) != SL_OK ||
            sl__journal_dead_count(j, &dead) != SL_OK)
            rc = SL_ERR_IO;
        if (rc == SL_OK && info.last_seq > acked) {
            sl_record *rec = malloc(sizeof *rec);
            uint64_t first = acked + 1 > info.first_seq ? acked + 1 : info.first_seq;
            if (rec && sl_journal_get(j, first, rec) == SL_OK)
                oldest_ts = rec->ev.ts_ms;
            free(rec);
        }
    }
    /* a damaged journal was moved aside and a new epoch started: loud until
     * someone looks (docs/PROTOCOL.md "Journal epochs") */
    sl__epoch ep;
    memset(&ep, 0, sizeof ep);
    ep.epoch = 1;
    if (rc == SL_OK && sl__journal_epoch(j, &ep) == SL_OK) {
        char dt[40];
        sl_plat_format_utc(ep.damaged_ms, dt, sizeof dt);
        problem(&v, 1, "keep the damaged directory for analysis (do not delete it); check the "
                "storage (dmesg, SMART); the hub was told of the new epoch",
                "journal damaged at %s, moved to %.200s/%s, new epoch %u from seq %llu", dt,
                cfg->state_dir, ep.moved_to, ep.epoch, (unsigned long long)ep.from_seq);
    }
    if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
        problem(&v, 2, "check the state dir's owner and free space (storelink doctor)",
                "cannot open the journal in %.300s: %s", cfg->state_dir, sl_strerror(rc));

    /* the daemon's own view: asked live over the control socket when it
     * runs, else what it last wrote */
    int running = 0;
    long pid = 0;
    json_t *dj = sl__daemon_view_live(cfg, &running, &pid);
    const char *conn = running ? jstr(dj, "connection") : "offline";
    if (conn[0] == '\0')
        conn = "offline";
    const char *err = jstr(dj, "last_error");
    char broker[300];
    snprintf(broker, sizeof broker, "%s:%llu", cfg->broker_host,
             (unsigned long long)cfg->broker_port);
    if (running && jstr(dj, "broker")[0])
        snprintf(broker, sizeof broker, "%s", jstr(dj, "broker"));

    /* the offline catalog: what is held and what was refused */
    sl_catalog *cat = NULL;
    sl__catalog_stats cst;
    sl__catalog_held hp, hs, ha;
    memset(&cst, 0, sizeof cst);
    memset(&hp, 0, sizeof hp);
    memset(&hs, 0, sizeof hs);
    memset(&ha, 0, sizeof ha);
    if (sl_catalog_open(&cat, cfg->state_dir) == SL_OK) {
        if (sl__catalog_stats_get(cat, &cst) != SL_OK)
            memset(&cst, 0, sizeof cst);
        if (sl__catalog_held_get(cat, SL_CAT_PRICES, cfg->store_id, &hp) != SL_OK)
            memset(&hp, 0, sizeof hp);
        if (sl__catalog_held_get(cat, SL_CAT_STOCK, cfg->store_id, &hs) != SL_OK)
            memset(&hs, 0, sizeof hs);
        if (sl__catalog_held_get(cat, SL_CAT_PRICES, SL_CAT_SCOPE_ALL, &ha) != SL_OK)
            memset(&ha, 0, sizeof ha);
        sl_catalog_close(cat);
    }

    /* storage */
    uint64_t disk_free = 0, disk_total = 0;
    int have_disk = sl_plat_fs_stat(cfg->state_dir, &disk_free, &disk_total) == SL_OK;
    uint64_t jmax = info.max_bytes ? info.max_bytes : cfg->max_db_mb << 20;
    int jpct = jmax ? (int)(info.used_bytes * 100 / jmax) : 0;
    uint64_t kept = info.records > (info.last_seq - acked) && info.last_seq >= acked
                        ? info.records - (info.last_seq - acked) : 0;

    /* identity */
    sl__identity id;
    memset(&id, 0, sizeof id);
    int have_id = cfg->cert_file[0] != '\0';
    int64_t days_left = 0;
    if (have_id) {
        sl__identity_check(cfg->cert_file, cfg->key_file, cfg->ca_file, &id);
        days_left = id.cert_ok ? (id.not_after_ms - now) / DAY_MS : 0;
    }

    /* the verdict, worst first within its kind */
    uint64_t unacked = info.last_seq > acked ? info.last_seq - acked : 0;
    int64_t age = oldest_ts && unacked ? now - oldest_ts : 0;
    uint64_t unsent = unacked;
    if (running && json_is_integer(json_object_get(dj, "unsent")))
        unsent = (uint64_t)jint(dj, "unsent");
    else if (running && json_is_integer(json_object_get(dj, "sent_through")))
        unsent = info.last_seq > (uint64_t)jint(dj, "sent_through")
                     ? info.last_seq - (uint64_t)jint(dj, "sent_through") : 0;
    char t[64], t2[64];
    if (have_id && !id.cert_ok)
        problem(&v, 2, "install the device certificate (storelink doctor shows which file)",
                "%s", id.why);
    if (have_id && id.cert_ok && now > id.not_after_ms) {
        sl_plat_format_utc(id.not_after_ms, t, sizeof t);
        problem(&v, 2, "renew it: storelink csr, signed by the store CA, installed as cert_file "
                "(or check the clock)", "device certificate expired on %.10s", t);
    }
    if (have_id && id.cert_ok && id.key_ok && !id.key_matches)
        problem(&v, 2, "install the key that belongs to cert_file (or a certificate for this key)",
                "key_file does not match cert_file");
    if (have_id && id.cert_ok && !id.key_ok)
        problem(&v, 2, "install the device key as key_file", "%s", id.why);
    if (have_id && id.cert_ok && now <= id.not_after_ms && days_left < CERT_WARN_DAYS) {
        sl_plat_format_utc(id.not_after_ms, t, sizeof t);
        problem(&v, 1, "renew it now: storelink csr, signed by the store CA",
                "device certificate expires in %lld day(s) (%.10s)", (long long)days_left, t);
    }
    if (unacked && age > (int64_t)cfg->alert_backlog_age * 1000) {
        sl__human_age(age, t, sizeof t);
        sl__human_age((int64_t)cfg->alert_backlog_age * 1000, t2, sizeof t2);
        problem(&v, 1, running ? "see connection and last error; storelink doctor checks the "
                "path to the broker" : "start the daemon: systemctl start storelink",
                "oldest unacknowledged record is %s old (alert_backlog_age %s)", t, t2);
    }
    if (dead)
        problem(&v, 1, "the hub refused them: storelink dlq list shows why; storelink dlq retry "
                "SEQ once the hub accepts them, or storelink dlq drop SEQ --reason TEXT",
                "%llu dead letter(s)", (unsigned long long)dead);
    if (!running && unacked)
        problem(&v, 1, "start the daemon: systemctl start storelink (journalctl -u storelink "
                "says why it stopped)", "daemon not running with %llu record(s) unsent",
                (unsigned long long)unacked);
    if (running && strcmp(conn, "connected") != 0 && err[0])
        problem(&v, 1, "storelink doctor checks DNS, TCP, TLS and MQTT step by step",
                "not connected to %s: %s", broker, err);
    json_t *bgv = dj ? json_object_get(dj, "journal_verify") : NULL;
    if (running && jint(bgv, "first_bad") > 0)
        problem(&v, 1, "storelink journal verify shows it; the record may already be at the hub "
                "(storelink trace SEQ); check the storage (dmesg, SMART)", "journal damaged at seq "
                "%lld (%s), found by the daemon's background verify", (long long)jint(bgv, "first_bad"),
                jstr(bgv, "why"));
    if (running && jint(dj, "journal_reopens") > 0) {
        char when[64];
        sl__human_age(now - jint(dj, "journal_reopened_ms"), when, sizeof when);
        problem(&v, 1, "check the disk (dmesg, SMART); the daemon reopened the journal and "
                "carries on, restart it to clear this", "journal storage failed (LMDB panic): "
                "reopened %lld time(s), last %s ago", (long long)jint(dj, "journal_reopens"), when);
    }
    if (jpct > JOURNAL_WARN_PCT) {
        sl__human_bytes(info.used_bytes, t, sizeof t);
        sl__human_bytes(jmax, t2, sizeof t2);
        problem(&v, 1, "get the device synced (acknowledged records are pruned after "
                "retention_days), or raise max_db_mb if the disk allows",
                "journal %s of %s (%d%%)", t, t2, jpct);
    }
    if (have_disk && (disk_free < DISK_MIN_BYTES ||
                      (disk_total && disk_free * 100 / disk_total < DISK_MIN_PCT))) {
        sl__human_bytes(disk_free, t, sizeof t);
        problem(&v, 1, "free space on that filesystem (old logs, core dumps)",
                "low disk: %s free in %.200s", t, cfg->state_dir);
    }
    static const char *const hword[] = {"healthy", "degraded", "failing"};
    int64_t started = jint(dj, "started_ms");
    json_int_t uptime = running && started ? (json_int_t)((now - started) / 1000) : 0;

    if (json) {
        json_t *out = json_object();
        json_object_set_new(out, "health", json_string(hword[v.health]));
        json_object_set_new(out, "daemon", json_pack("{s:b,s:I,s:I,s:I,s:s}",
            "running", running, "pid", (json_int_t)(running ? pid : 0),
            "started_ms", (json_int_t)(running ? started : 0), "uptime_s", uptime,
            "version", running && jstr(dj, "version")[0] ? jstr(dj, "version") : SL_VERSION));
        json_object_set_new(out, "device", json_string(cfg->device_id));
        json_object_set_new(out, "store", json_string(cfg->store_id));
        json_object_set_new(out, "backlog", json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I}",
            "last_seq", (json_int_t)info.last_seq, "acked_through", (json_int_t)acked,
            "unacked", (json_int_t)unacked, "unsent", (json_int_t)unsent,
            "oldest_unacked_age_ms", (json_int_t)age, "oldest_unacked_ts_ms",
            (json_int_t)(unacked ? oldest_ts : 0), "last_ack_ms", jint(dj, "last_ack_ms"),
            "inflight", running ? jint(dj, "inflight") : 0, "dead_letters", (json_int_t)dead,
            "records", (json_int_t)info.records,
            "drain_rate", running ? json_number_value(json_object_get(dj, "drain_rate")) : 0.0,
            "drain_eta_s", running ? jint(dj, "drain_eta_s") : 0));
        json_object_set_new(out, "connection", json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I}",
            "state", conn, "broker", broker, "since_ms", running ? jint(dj, "since_ms") : 0,
            "last_error", err, "last_error_class", jstr(dj, "last_error_class"),
            "last_error_detail", err,
            "reconnect_at_ms", running ? jint(dj, "reconnect_at_ms") : 0));
        json_object_set_new(out, "catalog", json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
            "prices_version", (json_int_t)hp.version, "prices_issued_ms", (json_int_t)hp.issued_at,
            "chain_prices_version", (json_int_t)ha.version,
            "stock_version", (json_int_t)hs.version, "stock_issued_ms", (json_int_t)hs.issued_at,
            "applied", (json_int_t)cst.applied, "stale", (json_int_t)cst.stale,
            "rejected", (json_int_t)cst.rejected, "gaps", (json_int_t)cst.gaps,
            "last_rejection", cst.last_reject));
        json_object_set_new(out, "storage", json_pack("{s:I,s:I,s:i,s:I,s:I,s:I,s:I}",
            "journal_bytes", (json_int_t)info.used_bytes, "journal_max_bytes", (json_int_t)jmax,
            "journal_used_pct", jpct, "disk_free_bytes", (json_int_t)disk_free,
            "disk_total_bytes", (json_int_t)disk_total, "retained_records", (json_int_t)kept,
            "retention_days", (json_int_t)cfg->retention_days));
        json_object_set_new(out, "identity", json_pack("{s:b,s:s,s:s,s:I,s:I,s:b}",
            "configured", have_id, "cert_file", cfg->cert_file, "subject", id.subject,
            "not_after_ms", (json_int_t)id.not_after_ms, "days_left", (json_int_t)days_left,
            "key_matches", id.key_matches));
        char eh[65];
        sl_hash_hex(ep.from_hash, eh);
        json_object_set_new(out, "journal_epoch", json_pack("{s:I,s:I,s:s,s:I,s:s}",
            "epoch", (json_int_t)ep.epoch, "epoch_from_seq", (json_int_t)ep.from_seq,
            "epoch_from_hash", ep.epoch > 1 ? eh : "", "damaged_at_ms", (json_int_t)ep.damaged_ms,
            "moved_to", ep.moved_to));
        json_object_set(out, "problems", v.problems);
        if (running && json_is_array(json_object_get(dj, "scanners")))
            json_object_set(out, "scanners", json_object_get(dj, "scanners"));
        if (running && dj)
            json_object_set(out, "sync", dj);
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
        json_decref(out);
    } else {
        int colour = sl_plat_isatty(stdout) && sl_plat_getenv("NO_COLOR") == NULL;
        static const char *const hcol[] = {"\033[32m", "\033[33m", "\033[31m"};
        static const char *const hup[] = {"healthy", "DEGRADED", "FAILING"};
        printf("health       %s%s%s", colour ? hcol[v.health] : "", hup[v.health],
               colour ? "\033[0m" : "");
        if (v.n)
            printf(": %s%s", v.first, v.n > 1 ? " (and more below)" : "");
        printf("\ndaemon       %s", running ? "running" : "not running");
        if (running) {
            sl__human_age((int64_t)uptime * 1000, t, sizeof t);
            printf(" (pid %ld, up %s, version %s)", pid, t,
                   jstr(dj, "version")[0] ? jstr(dj, "version") : "?");
        }
        printf("\ndevice       %s, store %s\n", cfg->device_id, cfg->store_id);
        printf("connection   %s to %s", conn, broker);
        if (running && jint(dj, "since_ms")) {
            sl__human_age(now - jint(dj, "since_ms"), t, sizeof t);
            printf(" for %s", t);
        }
        printf("\n");
        if (err[0] && jstr(dj, "last_error_class")[0])
            printf("last error   %s (%s)\n", jstr(dj, "last_error_class"), err);
        else if (err[0])
            printf("last error   %s\n", err);
        printf("backlog      %llu unacknowledged (last seq %llu, acked through %llu)",
               (unsigned long long)unacked, (unsigned long long)info.last_seq,
               (unsigned long long)acked);
        if (unacked) {
            sl__human_age(age, t, sizeof t);
            printf(", oldest %s old", t);
        }
        printf("\n");
        if (unsent != unacked)
            printf("             %llu not yet sent\n", (unsigned long long)unsent);
        if (jint(dj, "last_ack_ms")) {
            sl__human_age(now - jint(dj, "last_ack_ms"), t, sizeof t);
            printf("last ack     %s ago\n", t);
        }
        if (running && (jint(dj, "inflight") || json_number_value(json_object_get(dj, "drain_rate")) > 0)) {
            printf("sending      %lld batch(es) in flight", (long long)jint(dj, "inflight"));
            double rate = json_number_value(json_object_get(dj, "drain_rate"));
            if (rate > 0) {
                sl__human_age(jint(dj, "drain_eta_s") * 1000, t, sizeof t);
                printf(", draining %.0f rec/s, empty in about %s", rate, t);
            }
            printf("\n");
        }
        printf("dead letters %llu\n", (unsigned long long)dead);
        char pa[128] = "none", sa[128] = "none";
        if (hp.version) {
            sl__human_age(now - hp.issued_at, t, sizeof t);
            snprintf(pa, sizeof pa, "v%llu, issued %s ago", (unsigned long long)hp.version, t);
        }
        if (hs.version) {
            sl__human_age(now - hs.issued_at, t, sizeof t);
            snprintf(sa, sizeof sa, "v%llu, issued %s ago", (unsigned long long)hs.version, t);
        }
        printf("prices       %s%s\nstock        %s\n", pa,
               ha.version ? " (+ chain-wide prices)" : "", sa);
        if (cst.rejected)
            printf("catalog      %llu update(s) rejected, last: %s\n",
                   (unsigned long long)cst.rejected, cst.last_reject);
        sl__human_bytes(info.used_bytes, t, sizeof t);
        sl__human_bytes(jmax, t2, sizeof t2);
        printf("storage      journal %s of %s (%d%%), %llu acknowledged record(s) kept for "
               "retention (%llu d)", t, t2, jpct, (unsigned long long)kept,
               (unsigned long long)cfg->retention_days);
        if (have_disk) {
            sl__human_bytes(disk_free, t, sizeof t);
            printf(", disk %s free", t);
        }
        printf("\n");
        if (!have_id)
            printf("identity     no cert_file configured\n");
        else if (!id.cert_ok)
            printf("identity     %s\n", id.why);
        else
            printf("identity     %s, %s %lld day(s)%s%s\n", id.subject[0] ? id.subject : "?",
                   now > id.not_after_ms ? "EXPIRED" : "expires in",
                   (long long)(days_left < 0 ? -days_left : days_left),
                   now > id.not_after_ms ? " ago" : "",
                   id.key_ok && id.key_matches ? ", key matches" : ", KEY DOES NOT MATCH");
        /* the daemon's barcode scanners (agent/daemon_scan.c): only it
         * knows whether a device is plugged in */
        json_t *scs = running ? json_object_get(dj, "scanners") : NULL;
        size_t si;
        json_t *sc;
        json_array_foreach(scs, si, sc) {
            char last[96] = "no scan yet";
            if (jint(sc, "last_scan_ms") > 0) {
                sl__human_age(now - jint(sc, "last_scan_ms"), t, sizeof t);
                snprintf(last, sizeof last, "last scan %s ago", t);
            }
            printf("%s %s (%s, %s): %s, %lld scans, %lld recorded, %lld rejected%s, %s\n",
                   si == 0 ? "scanners    " : "            ", jstr(sc, "name"),
                   jstr(sc, "device"), jstr(sc, "mode"),
                   json_is_true(json_object_get(sc, "present")) ? "present" : "ABSENT",
                   (long long)jint(sc, "scans"), (long long)jint(sc, "recorded"),
                   (long long)jint(sc, "rejected"),
                   jint(sc, "failed") ? " (RECORDING FAILED)" : "", last);
        }
        size_t i;
        json_t *p;
        json_array_foreach(v.problems, i, p) {
            printf("%s %s\n             fix: %s\n", i == 0 ? "problems    " : "            ",
                   jstr(p, "problem"), jstr(p, "fix"));
        }
    }
    json_decref(v.problems);
    json_decref(dj);
    sl_journal_close(j);
    return v.health;
}
