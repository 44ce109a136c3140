/*
 * hub_config.h - the hub's INI configuration file (inih), documented in
 * docs/PROTOCOL.md "Hub".  Keys live in their section ([broker], [hub], [log]); a key
 * before any section header is accepted too.  Unknown keys are warnings,
 * not errors (an older hub must start with a newer file).
 */
#ifndef HUB_CONFIG_H
#define HUB_CONFIG_H

#include <stddef.h>

#include "ingest.h"

#define HUB_DEFAULT_CONFIG "/etc/storelink/hub.conf"
#define HUB_DEFAULT_DB "/var/lib/storelink-hub/hub.db"
#define HUB_CONFIG_MAX_WARN 8
#define HUB_PATH_MAX 4096

typedef struct hub_config {
    char path[HUB_PATH_MAX];            /* file read, "" on defaults */
    /* [broker] */
    char host[256];                     /* default localhost */
    int port;                           /* default 8883 */
    char ca_file[HUB_PATH_MAX];         /* broker CA (TLS) */
    char cert_file[HUB_PATH_MAX];       /* the hub's client certificate */
    char key_file[HUB_PATH_MAX];
    char client_id[HUB_ID_MAX + 1];     /* default "hub"; unique per process */
    /* [hub] */
    char db_path[HUB_PATH_MAX];
    char topic_prefix[HUB_PREFIX_MAX + 1];   /* default storelink/v1 */
    char share_group[HUB_ID_MAX + 1];   /* default "hub" */
    size_t n_currencies;                /* currencies = EUR,USD (empty: any) */
    char currencies[HUB_MAX_CURRENCIES][4];
    char device_ca_file[HUB_PATH_MAX];  /* "" = ca_file */
    char catalog_key[HUB_PATH_MAX];     /* catalog signing key (PEM P-256), "" = none:
                                           no publish, no snapshot re-issue */
    /* [log] */
    int log_level;                      /* default info */
    unsigned n_warn;
    char warn[HUB_CONFIG_MAX_WARN][192];
} hub_config;

void hub_config_defaults(hub_config *cfg);

/* Load path over the defaults.  With required == 0 a missing file means
 * "defaults".  SL_OK or SL_ERR_CONFIG with "<path>:<line>: <key>: <why>"
 * in err. */
SL_NODISCARD int hub_config_load(hub_config *cfg, const char *path, int required, char *err,
                                 size_t errsz);

/* The CA file that issued device certificates (device_ca_file, else
 * ca_file); "" when neither is set. */
const char *hub_config_device_ca(const hub_config *cfg);

#endif
