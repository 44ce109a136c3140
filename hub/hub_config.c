/* The hub's configuration file, parsed with inih like agent/config.c. */
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_config.h"
#include "platform.h"

enum ktype { K_STR, K_OPT_STR, K_ID, K_PORT, K_PREFIX, K_CURRENCIES, K_LOGLEVEL };

struct key {
    const char *section;
    const char *name;
    enum ktype type;
    size_t off;
    size_t size;
};

#define KEY(sec, n, t) {sec, #n, t, offsetof(hub_config, n), sizeof(((hub_config *)0)->n)}

static const struct key keys[] = {
    KEY("broker", host, K_STR),
    KEY("broker", port, K_PORT),
    KEY("broker", ca_file, K_STR),
    KEY("broker", cert_file, K_STR),
    KEY("broker", key_file, K_STR),
    KEY("broker", client_id, K_ID),
    KEY("hub", db_path, K_STR),
    KEY("hub", topic_prefix, K_PREFIX),
    KEY("hub", share_group, K_ID),
    KEY("hub", currencies, K_CURRENCIES),
    KEY("hub", device_ca_file, K_OPT_STR),
    KEY("hub", catalog_key, K_OPT_STR),
    KEY("log", log_level, K_LOGLEVEL),
};

void hub_config_defaults(hub_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "localhost");
    cfg->port = 8883;
    snprintf(cfg->client_id, sizeof cfg->client_id, "hub");
    snprintf(cfg->db_path, sizeof cfg->db_path, "%s", HUB_DEFAULT_DB);
    snprintf(cfg->topic_prefix, sizeof cfg->topic_prefix, "storelink/v1");
    snprintf(cfg->share_group, sizeof cfg->share_group, "hub");
    cfg->log_level = SL_LOG_INFO;
}

const char *hub_config_device_ca(const hub_config *cfg)
{
    return cfg->device_ca_file[0] ? cfg->device_ca_file : cfg->ca_file;
}

static int id_ok(const char *v, size_t size)
{
    size_t n = strlen(v);
    if (n == 0 || n >= size)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* A topic prefix: levels of id characters separated by '/', no wildcards,
 * no empty levels, not a '$' system topic. */
static int prefix_ok(const char *v, size_t size)
{
    size_t n = strlen(v), level = 0;
    if (n == 0 || n >= size || v[0] == '/' || v[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '/') {
            if (level == 0)
                return 0;
            level = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
        level++;
    }
    return 1;
}

static int parse_currencies(hub_config *cfg, const char *v)
{
    size_t n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if (p - s != 3 || n >= HUB_MAX_CURRENCIES)
            return -1;
        for (int i = 0; i < 3; i++)
            if (s[i] < 'A' || s[i] > 'Z')
                return -1;
        memcpy(cfg->currencies[n], s, 3);
        cfg->currencies[n][3] = '\0';
        n++;
    }
    cfg->n_currencies = n;
    return 0;
}

struct parse_ctx {
    hub_config *cfg;
    char msg[192];
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *pc = user;
    hub_config *cfg = pc->cfg;
    const struct key *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(name, keys[i].name) == 0 &&
            (section[0] == '\0' || strcmp(section, keys[i].section) == 0))
            k = &keys[i];
    if (k == NULL) {
        if (cfg->n_warn < HUB_CONFIG_MAX_WARN)
            snprintf(cfg->warn[cfg->n_warn++], sizeof cfg->warn[0], "unknown key '%.48s%s%.48s'",
                     section, section[0] ? "." : "", name);
        return 1;
    }
    char *dst = (char *)cfg + k->off;
    size_t n = strlen(value);
    switch (k->type) {
    case K_STR:
    case K_OPT_STR:
        if ((n == 0 && k->type == K_STR) || n >= k->size) {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be 1-%zu characters", k->name,
                     k->size - 1);
            return 0;
        }
        memcpy(dst, value, n + 1);
        return 1;
    case K_ID:
        if (!id_ok(value, k->size)) {
            snprintf(pc->msg, sizeof pc->msg,
                     "%s: 1-%zu of letters, digits, '-', '_' and '.'", k->name, k->size - 1);
            return 0;
        }
        memcpy(dst, value, n + 1);
        return 1;
    case K_PREFIX:
        if (!prefix_ok(value, k->size)) {
            snprintf(pc->msg, sizeof pc->msg,
                     "%s: topic levels of letters, digits, '-', '_' and '.' separated by '/'",
                     k->name);
            return 0;
        }
        memcpy(dst, value, n + 1);
        return 1;
    case K_PORT: {
        char *end = NULL;
        long v = value[0] >= '0' && value[0] <= '9' ? strtol(value, &end, 10) : -1;
        if (v < 1 || v > 65535 || *end != '\0') {
            snprintf(pc->msg, sizeof pc->msg, "%s: must be a port number 1-65535", k->name);
            return 0;
        }
        cfg->port = (int)v;
        return 1;
    }
    case K_CURRENCIES:
        if (parse_currencies(cfg, value) != 0) {
            snprintf(pc->msg, sizeof pc->msg,
                     "%s: comma-separated ISO 4217 codes (EUR,USD), at most %d", k->name,
                     HUB_MAX_CURRENCIES);
            return 0;
        }
        return 1;
    case K_LOGLEVEL:
        if (sl_plat_log_level_parse(value, &cfg->log_level) != SL_OK) {
            snprintf(pc->msg, sizeof pc->msg,
                     "%s: must be error, warning, notice, info or debug", k->name);
            return 0;
        }
        return 1;
    }
    return 0;
}

int hub_config_load(hub_config *cfg, const char *path, int required, char *err, size_t errsz)
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
