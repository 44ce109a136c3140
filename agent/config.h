/*
 * config.h - the INI configuration file (inih), keys documented in
 * README.md "Configuration".  Every key has a home section; a key is
 * accepted in its section or before any section header.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdint.h>

#define SL_DEFAULT_CONFIG "/etc/storelink/storelink.conf"
#define SL_DEFAULT_STATE_DIR "/var/lib/storelink"
#define SL_CONFIG_MAX_WARN 8

#define SL_IDLIST_MAX 16
typedef struct sl_idlist {       /* a comma list of numeric uids or gids */
    unsigned n;
    unsigned id[SL_IDLIST_MAX];
} sl_idlist;

typedef struct sl_config {
    char path[4096];          /* file read, or "" when running on defaults */
    char state_dir[4096];
    char device_id[65];
    char store_id[65];
    uint64_t max_db_mb;
    uint64_t retention_days;     /* keep acknowledged records this long */
    int log_level;
    /* identity (issued by the store CA; CN = device_id) */
    char key_file[4096];
    char cert_file[4096];
    /* sync */
    char broker_host[256];
    uint64_t broker_port;
    char ca_file[4096];
    char topic_prefix[128];
    uint64_t keepalive;          /* seconds */
    uint64_t session_expiry;     /* seconds the broker keeps our session */
    uint64_t batch_max_records;
    uint64_t batch_max_bytes;
    uint64_t max_inflight;
    uint64_t ack_timeout;        /* seconds */
    uint64_t compress;           /* 0/1 */
    /* catalog: the hub's catalog signing key (public half, PEM) */
    char catalog_pubkey[4096];
    /* diagnostics */
    uint64_t alert_backlog_age;  /* seconds: an older unacked record is "degraded" */
    uint64_t status_interval;    /* seconds between retained status publishes */
    char metrics_file[4096];     /* Prometheus textfile, "" = none */
    /* control socket: "" = <state_dir>/control.sock; admin_group "" = only
     * root and the daemon's own uid may use it */
    char control_socket[108];
    char admin_group[65];
    /* [ingest]: the ingest socket ("" = <state_dir>/ingest.sock) and who
     * besides root and the daemon's own uid may use it (numeric ids) */
    char ingest_socket[108];
    sl_idlist ingest_uids, ingest_gids;
    uint64_t ingest_batch_max;   /* events per group commit (1 = one commit per record) */
    /* [day]: the business day (bizday.h), IANA zone and HH:MM */
    char timezone[65];
    uint32_t day_end_min;
    uint64_t auto_close;         /* 0/1: the daemon closes ended days */
    /* unknown keys: reported, not fatal (an older binary must start with a
     * newer config during a staged roll-out) */
    unsigned n_warn;
    char warn[SL_CONFIG_MAX_WARN][192];
} sl_config;

/* Fill cfg with the built-in defaults. */
void sl__config_defaults(sl_config *cfg);

/* Load path over the defaults.  When required is 0 a missing file means
 * "run on defaults".  SL_OK or SL_ERR_CONFIG with a one-line message
 * ("<path>:<line>: <key>: <reason>") in err. */
int sl__config_load(sl_config *cfg, const char *path, int required, char *err,
                    size_t errsz);

/* key_file and cert_file default to <state_dir>/device.key and
 * device.crt (call after state_dir is final). */
void sl__config_resolve_identity(sl_config *cfg);

/* The known key nearest to name (edit distance), or NULL if none is close. */
const char *sl__config_nearest_key(const char *name);

#endif
