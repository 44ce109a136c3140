/* Configuration file parsing with inih. */
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizday.h"
#include "config.h"
#include "event.h"
#include "platform.h"
#include "storelink.h"

enum ktype { K_STR, K_ID, K_U64, K_LOGLEVEL, K_BOOL, K_TZ, K_HHMM, K_IDLIST };

struct key {
    const char *section;
    const char *name;
    enum ktype type;
    size_t off;
    size_t size;          /* string buffer size */
    uint64_t min, max;    /* numbers */
};

#define STR(sec, n, field, t) {sec, #n, t, offsetof(sl_config, field), sizeof(((sl_config *)0)->field), 0, 0}
#define NUM(sec, n, field, lo, hi) {sec, #n, K_U64, offsetof(sl_config, field), 0, lo, hi}

static const struct key keys[] = {
    STR("device", device_id, device_id, K_ID),
    STR("device", store_id, store_id, K_ID),
    STR("journal", state_dir, state_dir, K_STR),
    NUM("journal", max_db_mb, max_db_mb, 1, 1u << 20),
    NUM("journal", retention_days, retention_days, 0, 3650),
    {"log", "log_level", K_LOGLEVEL, offsetof(sl_config, log_level), 0, 0, 0},
    STR("device", key_file, key_file, K_STR),
    STR("device", cert_file, cert_file, K_STR),
    STR("sync", broker_host, broker_host, K_STR),
    NUM("sync", broker_port, broker_port, 1, 65535),
    STR("sync", ca_file, ca_file, K_STR),
    STR("sync", topic_prefix, topic_prefix, K_STR),
    NUM("sync", keepalive, keepalive, 5, 3600),
    NUM("sync", session_expiry, session_expiry, 0, 4294967295u),
    NUM("sync", batch_max_records, batch_max_records, 1, 10000),
    NUM("sync", batch_max_bytes, batch_max_bytes, 4096, 16u << 20),
    NUM("sync", max_inflight, max_inflight, 1, 64),
    NUM("sync", ack_timeout, ack_timeout, 1, 86400),
    {"sync", "compress", K_BOOL, offsetof(sl_config, compress), 0, 0, 1},
    STR("catalog", catalog_pubkey, catalog_pubkey, K_STR),
    NUM("status", alert_backlog_age, alert_backlog_age, 60, 31536000),
    NUM("status", status_interval, status_interval, 5, 86400),
    STR("status", metrics_file, metrics_file, K_STR),
    STR("control", control_socket, control_socket, K_STR),
    STR("control", admin_group, admin_group, K_STR),
    {"ingest", "socket", K_STR, offsetof(sl_config, ingest_socket), sizeof(((sl_config *)0)->ingest_socket), 0, 0},
    {"ingest", "allowed_uids", K_IDLIST, offsetof(sl_config, ingest_uids), 0, 0, 0},
    {"ingest", "allowed_gids", K_IDLIST, offsetof(sl_config, ingest_gids), 0, 0, 0},
    {"ingest", "batch_max", K_U64, offsetof(sl_config, ingest_batch_max), 0, 1, 256},
    STR("day", timezone, timezone, K_TZ),
    {"day", "day_end", K_HHMM, offsetof(sl_config, day_end_min), 0, 0, 0},
    {"day", "auto_close", K_BOOL, offsetof(sl_config, auto_close), 0, 0, 1},
};

void sl__config_defaults(sl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "%s", SL_DEFAULT_STATE_DIR);
    snprintf(cfg->device_id, sizeof cfg->device_id, "device-1");
    snprintf(cfg->store_id, sizeof cfg->store_id, "store-1");
    cfg->max_db_mb = 512;
    cfg->retention_days = 30;
    cfg->log_level = SL_LOG_NOTICE;
    snprintf(cfg->broker_host, sizeof cfg->broker_host, "localhost");
    cfg->broker_port = 8883;
    snprintf(cfg->topic_prefix, sizeof cfg->topic_prefix, "storelink/v1");
    cfg->keepalive = 30;
    cfg->session_expiry = 7 * 24 * 3600;
    cfg->batch_max_records = 500;
    cfg->batch_max_bytes = 65536;
    cfg->max_inflight = 8;
    cfg->ack_timeout = 30;
    cfg->compress = 1;
    cfg->alert_backlog_age = 3600;
    cfg->status_interval = 60;
    snprintf(cfg->timezone, sizeof cfg->timezone, "UTC");
    cfg->auto_close = 1;
    cfg->ingest_batch_max = 256;
}

void sl__config_resolve_identity(sl_config *cfg)
{
    if (cfg->key_file[0] == '\0')
        snprintf(cfg->key_file, sizeof cfg->key_file, "%.4000s/device.key", cfg->state_dir);
    if (cfg->cert_file[0] == '\0')
        snprintf(cfg->cert_file, sizeof cfg->cert_file, "%.4000s/device.crt", cfg->state_dir);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            if (up + 1 < best) best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *sl__config_nearest_key(const char *name)
{
    const char *best = NULL;
    size_t bd = 99;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t d = edit_distance(name, keys[i].name);
        if (d < bd) {
            bd = d;
            best = keys[i].name;
        }
    }
    /* a suggestion only when it is plausibly a typo */
    return bd <= 3 ? best : NULL;
}

struct parse_ctx {
    sl_config *cfg;
    char msg[192];
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *pc = user;
    sl_config *cfg = pc->cfg;
    /* [scanner.NAME] sections are read by agent/config_scanners.c */
    if (strncmp(section, "scanner.", 8) == 0)
        return 1;
    const struct key *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(name, keys[i].name) == 0 &&
            (section[0] == '\0' || strcmp(section, keys[i].section) == 0))
            k = &keys[i];
    if (k == NULL) {
        if (cfg->n_warn < SL_CONFIG_MAX_WARN) {
            const char *near = sl__config_nearest_key(name);
            char *w = cfg->warn[cfg->n_warn++];
            if (near != NULL)
                snprintf(w, sizeof cfg->warn[0], "unknown key '%.48s%s%.48s' (did you mean '%s'?)",
                         section, section[0] ? "." : "", name, near);
            else
                snprintf(w, sizeof cfg->warn[0], "unknown key '%.48s%s%.48s'", section,
                         section[0] ? "." : "", name);
        }
        return 1;
    }
    char *dst = (char *)cfg + k->off;
    switch (k->type) {
    case K_STR:
        if (value[0] == '\0' || strlen(value) >= k->size) {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be 1-%zu characters", k->name, k->size - 1);
            return 0;
        }
        memcpy(dst, value, strlen(value) + 1);
        return 1;
    case K_ID: {
        size_t n = strlen(value);
        if (n == 0 || n >= k->size) {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be 1-%zu characters", k->name, k->size - 1);
            return 0;
        }
        /* ids become MQTT topic levels and certificate CNs */
        for (size_t i = 0; i < n; i++) {
            char c = value[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.')) {
                snprintf(pc->msg, sizeof pc->msg, "%s: only letters, digits, '-', '_' and '.' allowed",
                         k->name);
                return 0;
            }
        }
        memcpy(dst, value, n + 1);
        return 1;
    }
    case K_U64: {
        char *end;
        if (value[0] < '0' || value[0] > '9') {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be a whole number", k->name);
            return 0;
        }
        unsigned long long v = strtoull(value, &end, 10);
        if (*end != '\0' || v < k->min || v > k->max) {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be a whole number from %llu to %llu",
                     k->name, (unsigned long long)k->min, (unsigned long long)k->max);
            return 0;
        }
        memcpy(dst, &(uint64_t){v}, sizeof(uint64_t));
        return 1;
    }
    case K_BOOL: {
        uint64_t b;
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            b = 1;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            b = 0;
        else {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be yes or no", k->name);
            return 0;
        }
        memcpy(dst, &b, sizeof b);
        return 1;
    }
    case K_TZ: {
        int rc = strlen(value) >= k->size ? SL_ERR_INVALID : sl_plat_tz_check(value);
        if (rc != SL_OK) {
            snprintf(pc->msg, sizeof pc->msg, "%s: %s", k->name,
                     rc == SL_ERR_NOT_FOUND ? "no such time zone (an IANA name such as "
                                              "Europe/Berlin, from the tzdata package)"
                                            : "must be an IANA name such as Europe/Berlin");
            return 0;
        }
        memcpy(dst, value, strlen(value) + 1);
        return 1;
    }
    case K_HHMM: {
        uint32_t min;
        if (sl__hhmm_parse(value, &min) != 0) {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be HH:MM (00:00 to 23:59)", k->name);
            return 0;
        }
        memcpy(dst, &min, sizeof min);
        return 1;
    }
    case K_IDLIST: {
        /* numbers only: a user or group name would need the passwd
         * database at load time, and ids are what SO_PEERCRED gives */
        sl_idlist l;
        const char *p = value;
        memset(&l, 0, sizeof l);
        while (*p) {
            char *end;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p < '0' || *p > '9' || l.n == SL_IDLIST_MAX)
                goto badlist;
            unsigned long v = strtoul(p, &end, 10);
            if (v > 4294967294UL)
                goto badlist;
            l.id[l.n++] = (unsigned)v;
            p = end;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == ',')
                p++;
            else if (*p != '\0')
                goto badlist;
        }
        memcpy(dst, &l, sizeof l);
        return 1;
    badlist:
        snprintf(pc->msg, sizeof pc->msg, "%s: must be a comma list of at most %d numeric ids "
                 "(e.g. 1001, 1002)", k->name, SL_IDLIST_MAX);
        return 0;
    }
    case K_LOGLEVEL: {
        int lvl;
        if (sl_plat_log_level_parse(value, &lvl) != SL_OK) {
            snprintf(pc->msg, sizeof pc->msg,
                     "%s: must be error, warning, notice, info or debug", k->name);
            return 0;
        }
        memcpy(dst, &lvl, sizeof lvl);
        return 1;
    }
    }
    return 0;
}

int sl__config_load(sl_config *cfg, const char *path, int required, char *err, size_t errsz)
{
    if (!sl_plat_exists(path)) {
        if (!required)
            return SL_OK;
        snprintf(err, errsz, "%s: config file not found", path);
        return SL_ERR_CONFIG;
    }
    struct parse_ctx pc = {cfg, ""};
    int line = ini_parse(path, handler, &pc);
    if (line < 0) {
        snprintf(err, errsz, "%s: cannot read config file", path);
        return SL_ERR_CONFIG;
    }
    if (line > 0) {
        snprintf(err, errsz, "%s:%d: %s", path, line, pc.msg[0] ? pc.msg : "syntax error");
        return SL_ERR_CONFIG;
    }
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    return SL_OK;
}
