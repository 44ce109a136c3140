/*
 * storelink status [--json]: is this box syncing, how far behind, since
 * when, and why not.  Works with or without the daemon: the journal says
 * what is recorded and acknowledged, daemon.json what the daemon sees.
 * Exit 0 healthy, 1 degraded, 2 failing (docs/CLI.md "status").
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catmsg.h"
#include "cli.h"
#include "journal_internal.h"
#include "platform.h"

#define ALERT_BACKLOG_MS (3600 * 1000LL)

static void human_age(int64_t ms, char *out, size_t outsz)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, outsz, "%lld s", (long long)s);
    else if (s < 3600)
        snprintf(out, outsz, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, outsz, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, outsz, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

int sl__cmd_status(sl_cli *c, int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else {
            sl__cli_err("status: unknown option '%s' (usage: storelink status [--json])", argv[i]);
            return EX_USAGE_;
        }
    }
    sl_journal *j = NULL;
    sl_journal_info info;
    uint64_t acked = 0, dead = 0;
    int64_t oldest_ts = 0, now = sl_plat_now_ms();
    int health = 0;
    char problems[512] = "";
    sl_journal_opts o = {.max_db_mb = c->cfg.max_db_mb, .read_only = 1};
    int rc = sl_journal_open(&j, c->cfg.state_dir, &o);
    memset(&info, 0, sizeof info);
    if (rc == SL_OK) {
        if (sl_journal_info_get(j, &info) != SL_OK || sl__journal_acked(j, &acked) != SL_OK ||
            sl__journal_dead_count(j, &dead) != SL_OK)
            rc = SL_ERR_IO;
        if (rc == SL_OK && info.last_seq > acked) {
            sl_record *rec = malloc(sizeof *rec);
            if (rec && sl_journal_get(j, acked + 1, rec) == SL_OK)
                oldest_ts = rec->ev.ts_ms;
            free(rec);
        }
    }
    if (rc != SL_OK && rc != SL_ERR_NOT_FOUND) {
        health = 2;
        snprintf(problems, sizeof problems, "cannot open journal in %.300s: %s", c->cfg.state_dir,
                 sl_strerror(rc));
    }
    /* the daemon's own view */
    char path[4200], *txt = NULL;
    size_t tl;
    json_t *dj = NULL;
    snprintf(path, sizeof path, "%s/daemon.json", c->cfg.state_dir);
    if (sl_plat_read_file(path, 1 << 16, &txt, &tl) == SL_OK) {
        dj = json_loadb(txt, tl, 0, NULL);
        free(txt);
    }
    long pid = dj ? (long)json_integer_value(json_object_get(dj, "pid")) : 0;
    int running = dj && json_is_true(json_object_get(dj, "running")) && sl_plat_pid_alive(pid);
    const char *conn = running ? json_string_value(json_object_get(dj, "connection")) : "offline";
    const char *err = dj ? json_string_value(json_object_get(dj, "last_error")) : NULL;
    if (conn == NULL)
        conn = "offline";
    /* the offline catalog: what is held and what was refused */
    sl_catalog *cat = NULL;
    sl__catalog_stats cst;
    sl__catalog_held hp, hs, ha;
    memset(&cst, 0, sizeof cst);
    memset(&hp, 0, sizeof hp);
    memset(&hs, 0, sizeof hs);
    memset(&ha, 0, sizeof ha);
    if (sl_catalog_open(&cat, c->cfg.state_dir) == SL_OK) {
        if (sl__catalog_stats_get(cat, &cst) != SL_OK)
            memset(&cst, 0, sizeof cst);
        if (sl__catalog_held_get(cat, SL_CAT_PRICES, c->cfg.store_id, &hp) != SL_OK)
            memset(&hp, 0, sizeof hp);
        if (sl__catalog_held_get(cat, SL_CAT_STOCK, c->cfg.store_id, &hs) != SL_OK)
            memset(&hs, 0, sizeof hs);
        if (sl__catalog_held_get(cat, SL_CAT_PRICES, SL_CAT_SCOPE_ALL, &ha) != SL_OK)
            memset(&ha, 0, sizeof ha);
        sl_catalog_close(cat);
    }
    uint64_t unacked = info.last_seq > acked ? info.last_seq - acked : 0;
    int64_t age = oldest_ts ? now - oldest_ts : 0;
    if (health < 2) {
        if (unacked && age > ALERT_BACKLOG_MS) {
            health = 1;
            snprintf(problems + strlen(problems), sizeof problems - strlen(problems),
                     "%sbacklog older than 1 h", problems[0] ? "; " : "");
        }
        if (dead) {
            health = 1;
            snprintf(problems + strlen(problems), sizeof problems - strlen(problems),
                     "%s%llu dead letter(s)", problems[0] ? "; " : "", (unsigned long long)dead);
        }
        if (!running && unacked) {
            health = 1;
            snprintf(problems + strlen(problems), sizeof problems - strlen(problems),
                     "%sdaemon not running with records unsent", problems[0] ? "; " : "");
        }
    }
    if (json) {
        json_t *o2 = json_pack("{s:s,s:{s:b,s:I,s:s},s:{s:I,s:I,s:I,s:I,s:I,s:I},s:{s:s,s:s}}",
            "health", health == 0 ? "healthy" : health == 1 ? "degraded" : "failing",
            "daemon", "running", running, "pid", (json_int_t)(running ? pid : 0),
            "device", c->cfg.device_id,
            "backlog", "last_seq", (json_int_t)info.last_seq, "acked_through", (json_int_t)acked,
            "unacked", (json_int_t)unacked, "oldest_unacked_age_ms", (json_int_t)age,
            "dead_letters", (json_int_t)dead, "records", (json_int_t)info.records,
            "connection", "state", conn, "last_error", err ? err : "");
        json_object_set_new(o2, "problems", json_string(problems));
        json_object_set_new(o2, "catalog", json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
            "prices_version", (json_int_t)hp.version, "prices_issued_ms", (json_int_t)hp.issued_at,
            "chain_prices_version", (json_int_t)ha.version,
            "stock_version", (json_int_t)hs.version, "stock_issued_ms", (json_int_t)hs.issued_at,
            "applied", (json_int_t)cst.applied, "stale", (json_int_t)cst.stale,
            "rejected", (json_int_t)cst.rejected, "gaps", (json_int_t)cst.gaps,
            "last_rejection", cst.last_reject));
        if (running && dj) {
            json_object_set(json_object_get(o2, "connection"), "broker",
                            json_object_get(dj, "broker"));
            json_object_set(json_object_get(o2, "connection"), "since_ms",
                            json_object_get(dj, "since_ms"));
            json_object_set(o2, "sync", dj);
        }
        char *s = json_dumps(o2, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
        json_decref(o2);
    } else {
        char a[64];
        human_age(age, a, sizeof a);
        printf("health       %s%s%s\n", health == 0 ? "healthy" : health == 1 ? "DEGRADED" : "FAILING",
               problems[0] ? ": " : "", problems);
        printf("daemon       %s", running ? "running" : "not running");
        if (running)
            printf(" (pid %ld)", pid);
        printf("\ndevice       %s, store %s\n", c->cfg.device_id, c->cfg.store_id);
        printf("connection   %s", conn);
        if (running && dj && json_string_value(json_object_get(dj, "broker")))
            printf(" to %s", json_string_value(json_object_get(dj, "broker")));
        printf("\n");
        if (err && err[0])
            printf("last error   %s\n", err);
        printf("backlog      %llu unacknowledged (last seq %llu, acked through %llu)",
               (unsigned long long)unacked, (unsigned long long)info.last_seq,
               (unsigned long long)acked);
        if (unacked)
            printf(", oldest %s old", a);
        printf("\ndead letters %llu\n", (unsigned long long)dead);
        char pa[64] = "none", sa[64] = "none";
        if (hp.version) {
            char t[48];
            human_age(now - hp.issued_at, t, sizeof t);
            snprintf(pa, sizeof pa, "v%llu, issued %s ago", (unsigned long long)hp.version, t);
        }
        if (hs.version) {
            char t[48];
            human_age(now - hs.issued_at, t, sizeof t);
            snprintf(sa, sizeof sa, "v%llu, issued %s ago", (unsigned long long)hs.version, t);
        }
        printf("prices       %s%s\nstock        %s\n", pa,
               ha.version ? " (+ chain-wide prices)" : "", sa);
        if (cst.rejected)
            printf("catalog      %llu update(s) rejected, last: %s\n",
                   (unsigned long long)cst.rejected, cst.last_reject);
    }
    json_decref(dj);
    sl_journal_close(j);
    return health;
}
