/*
 * The hub's MQTT side.  libmosquitto's own network loop is driven from
 * hub_run() (mosquitto_loop, not loop_forever) so that signals, reconnect
 * backoff and the clean shutdown stay outside callbacks: a
 * mosquitto_disconnect() from inside a callback closes the socket without
 * sending DISCONNECT (../shared/NOTES.md, MQTT).
 *
 * libmosquitto PUBACKs an incoming QoS 1 message before on_message runs,
 * so the broker's delivery guarantee ends at our door; what makes a batch
 * safe is the application ack, published only after the database commit
 * (hub_ingest).  A batch lost in a crash is resent by the device.
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_pub.h"
#include "ingest.h"
#include "log.h"
#include "mqtt.h"
#include "platform.h"
#include "store.h"
#include "sys.h"

enum { EXIT_OK = 0, EXIT_UNAVAILABLE = 69, EXIT_SOFTWARE = 70, EXIT_IOERR = 74,
       EXIT_CONFIG = 78 };

#define HUB_ACK_MAX (64 + SL_ACK_MAX_REJECTS * (SL_ACK_REASON_MAX + 32))

struct hub_mqtt {
    const hub_config *cfg;
    hub_store *st;
    sl__ca *ca;
    hub_policy pol;
    struct mosquitto *mosq;
    int connected;            /* CONNACK success seen, no disconnect since */
    int sub_mid;
    int fatal;                /* exit code of a permanent error, 0 = none */
    unsigned backoff_ms;
    char journal_sub[HUB_TOPIC_MAX];
    char status_sub[HUB_TOPIC_MAX];
    char catreq_sub[HUB_TOPIC_MAX];   /* only with a catalog key */
    char *subs[3];
    int n_subs;
    sl__key *catkey;                  /* [hub] catalog_key, NULL = none */
    hub_cat_limiter catlim;
    sl__ack ack;
    char ack_topic[HUB_TOPIC_MAX];
    uint8_t ack_buf[HUB_ACK_MAX];
};

/* CONNACK reasons no retry will cure. */
static int permanent_refusal(int reason)
{
    switch (reason) {
    case MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION:
    case MQTT_RC_CLIENTID_NOT_VALID:
    case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
    case MQTT_RC_NOT_AUTHORIZED:
    case MQTT_RC_BANNED:
    case MQTT_RC_BAD_AUTHENTICATION_METHOD:
        return 1;
    default:
        return 0;
    }
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    (void)obj;
    int prio = level == MOSQ_LOG_ERR ? SL_LOG_ERR
             : level == MOSQ_LOG_WARNING ? SL_LOG_WARNING : SL_LOG_DEBUG;
    hub_log(prio, "mqtt: %s", str);
}

static void on_connect(struct mosquitto *mosq, void *obj, int reason, int flags,
                       const mosquitto_property *props)
{
    struct hub_mqtt *h = obj;
    (void)props;
    if (reason != 0) {
        hub_log(SL_LOG_ERR, "broker %s:%d refused the connection: %s", h->cfg->host,
                h->cfg->port, mosquitto_reason_string(reason));
        if (permanent_refusal(reason))
            h->fatal = EXIT_UNAVAILABLE;
        return;
    }
    h->connected = 1;
    h->backoff_ms = HUB_BACKOFF_MIN_MS;
    hub_log(SL_LOG_INFO, "connected to %s:%d as %s%s", h->cfg->host, h->cfg->port,
            h->cfg->client_id, (flags & 1) ? " (session resumed)" : "");
    /* subscribe on every connect: a broker that lost our session (restart
     * without persistence) would otherwise leave us deaf */
    int rc = mosquitto_subscribe_multiple(mosq, &h->sub_mid, h->n_subs, h->subs, 1, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        hub_log(SL_LOG_ERR, "cannot subscribe: %s", mosquitto_strerror(rc));
        h->fatal = EXIT_SOFTWARE;
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count,
                         const int *granted, const mosquitto_property *props)
{
    struct hub_mqtt *h = obj;
    (void)mosq;
    (void)props;
    if (mid != h->sub_mid)
        return;
    for (int i = 0; i < count && i < h->n_subs; i++) {
        if (granted[i] >= 0x80) {
            hub_log(SL_LOG_ERR, "subscription to %s refused: %s", h->subs[i],
                    mosquitto_reason_string(granted[i]));
            h->fatal = EXIT_UNAVAILABLE;
            return;
        }
    }
    if (h->n_subs == 3)
        hub_log_always(SL_LOG_INFO, "hub ready: subscribed to %s, %s and %s", h->journal_sub,
                       h->status_sub, h->catreq_sub);
    else
        hub_log_always(SL_LOG_INFO, "hub ready: subscribed to %s and %s", h->journal_sub,
                       h->status_sub);
}

static void handle_journal(struct hub_mqtt *h, const struct mosquitto_message *m)
{
    size_t len;
    int rc = hub_ingest(h->st, &h->pol, h->ca, m->topic, m->payload, (size_t)m->payloadlen,
                        &h->ack, h->ack_topic, sizeof h->ack_topic);
    if (rc != SL_OK)
        return;   /* hub_ingest logged it; a storage error gets no ack, so the device resends */
    if ((rc = sl__ack_encode(&h->ack, h->ack_buf, sizeof h->ack_buf, &len)) != SL_OK) {
        hub_log(SL_LOG_ERR, "ack for %s not encoded: %s", h->ack_topic, sl_strerror(rc));
        return;
    }
    rc = mosquitto_publish_v5(h->mosq, NULL, h->ack_topic, (int)len, h->ack_buf, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        /* the records are stored: the device's resend will be acked again */
        hub_log(SL_LOG_WARNING, "ack on %s not sent: %s", h->ack_topic, mosquitto_strerror(rc));
}

static void handle_status(struct hub_mqtt *h, const struct mosquitto_message *m,
                          const char *store, const char *device)
{
    int64_t now = sl_plat_now_ms();
    if ((size_t)m->payloadlen > HUB_STATUS_MAX) {
        hub_log(SL_LOG_WARNING, "status of %s/%s ignored: %d bytes is too large", store, device,
                m->payloadlen);
        return;
    }
    int rc = hub_store_status_put(h->st, device, store, m->payload, (size_t)m->payloadlen, now);
    if (rc != SL_OK)
        hub_log(SL_LOG_WARNING, "status of %s/%s not stored: %s", store, device,
                sl_strerror(rc));
}

/* A device lost track of a catalog (a delta that does not apply on what it
 * holds): send a fresh snapshot, retained, so every device of the scope
 * that is behind catches up.  One per (type, scope) per HUB_CAT_REISSUE_MS:
 * the devices of a store tend to notice the same gap together. */
static void handle_catreq(struct hub_mqtt *h, const struct mosquitto_message *m,
                          const char *store, const char *device)
{
    sl__catreq req;
    hub_cat_msg out;
    char why[256];
    if (h->catkey == NULL)
        return;
    if (hub_cat_request_check(store, m->payload, (size_t)m->payloadlen, &req, why, sizeof why) !=
        SL_OK) {
        hub_log(SL_LOG_WARNING, "catalog: invalid catalog-request from %s/%s ignored: %s", store,
                device, why);
        return;
    }
    const char *type = sl__cat_type_name(req.type);
    if (!hub_cat_limiter_allow(&h->catlim, req.type, req.scope, sl_plat_mono_ms())) {
        hub_log(SL_LOG_INFO, "catalog: %s/%s asks for a %s snapshot of %s (holds v%llu): one was "
                "re-issued less than %d s ago", store, device, type, req.scope,
                (unsigned long long)req.have_version, HUB_CAT_REISSUE_MS / 1000);
        return;
    }
    int rc = hub_cat_reissue(h->st, h->catkey, h->cfg->topic_prefix, req.type, req.scope,
                             sl_plat_now_ms(), &out, why, sizeof why);
    if (rc != SL_OK) {
        hub_log(rc == SL_ERR_NOT_FOUND ? SL_LOG_WARNING : SL_LOG_ERR,
                "catalog: %s/%s asks for a %s snapshot of %s: not re-issued: %s", store, device,
                type, req.scope, why);
        return;
    }
    rc = mosquitto_publish_v5(h->mosq, NULL, out.topic, (int)out.len, out.data, 1, true, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        /* the version is spent; the device asks again after its own pause */
        hub_log(SL_LOG_WARNING, "catalog: %s v%llu for %s not sent: %s", type,
                (unsigned long long)out.version, req.scope, mosquitto_strerror(rc));
    else
        hub_log(SL_LOG_NOTICE, "catalog: re-issued %s v%llu (snapshot, %zu items) on %s at the "
                "request of %s/%s (held v%llu)", type, (unsigned long long)out.version,
                out.n_items, out.topic, store, device, (unsigned long long)req.have_version);
    hub_cat_msg_free(&out);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
                       const mosquitto_property *props)
{
    struct hub_mqtt *h = obj;
    char store[HUB_ID_MAX + 1], device[HUB_ID_MAX + 1], leaf[16];
    (void)mosq;
    (void)props;
    if (m->payloadlen < 0 || m->topic == NULL)
        return;
    if (hub_topic_parse(h->cfg->topic_prefix, m->topic, store, device, leaf, sizeof leaf) !=
        SL_OK) {
        hub_log(SL_LOG_WARNING, "message on unexpected topic '%.200s' ignored", m->topic);
        return;
    }
    if (strcmp(leaf, "journal") == 0)
        handle_journal(h, m);
    else if (strcmp(leaf, "status") == 0)
        handle_status(h, m, store, device);
    else if (strcmp(leaf, "catalog-request") == 0)
        handle_catreq(h, m, store, device);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int reason,
                          const mosquitto_property *props)
{
    struct hub_mqtt *h = obj;
    (void)mosq;
    (void)props;
    /* reason is a MOSQ_ERR_* code when the connection broke (the loop logs
     * that), or the broker's MQTT v5 reason code when it sent DISCONNECT */
    if (reason == MQTT_RC_SESSION_TAKEN_OVER)
        hub_log(SL_LOG_ERR, "broker disconnected us: another client connected as '%s' "
                "(every hub process needs its own client_id)", h->cfg->client_id);
    else if (reason >= 0x80)
        hub_log(SL_LOG_WARNING, "broker disconnected us: %s", mosquitto_reason_string(reason));
    h->connected = 0;
}

/* Everything that does not need the network: database, device CA,
 * policy, topic filters. */
static int prepare(struct hub_mqtt *h, const hub_config *cfg)
{
    const char *dca = hub_config_device_ca(cfg);
    char dir[HUB_PATH_MAX];
    int rc;
    h->cfg = cfg;
    h->backoff_ms = HUB_BACKOFF_MIN_MS;
    if (cfg->ca_file[0] == '\0' || cfg->cert_file[0] == '\0' || cfg->key_file[0] == '\0') {
        hub_log(SL_LOG_ERR, "%s: [broker] ca_file, cert_file and key_file are required "
                "(the hub connects with mutual TLS)", cfg->path[0] ? cfg->path : "config");
        return EXIT_CONFIG;
    }
    if ((rc = sl__ca_load(&h->ca, dca)) != SL_OK) {
        hub_log(SL_LOG_ERR, "device CA %s: %s", dca,
                rc == SL_ERR_NOT_FOUND ? "not found" : "not a PEM/DER certificate");
        return EXIT_CONFIG;
    }
    snprintf(dir, sizeof dir, "%s", cfg->db_path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if ((rc = sl_plat_mkdir_p(dir, 0750)) != SL_OK) {
            hub_log(SL_LOG_ERR, "cannot create %s: %s", dir, sl_strerror(rc));
            return EXIT_IOERR;
        }
    }
    if ((rc = hub_store_open(&h->st, cfg->db_path, HUB_STORE_CREATE)) != SL_OK) {
        hub_log(SL_LOG_ERR, "cannot open database %s: %s", cfg->db_path, sl_strerror(rc));
        return EXIT_IOERR;
    }
    h->pol.topic_prefix = cfg->topic_prefix;
    h->pol.n_currencies = cfg->n_currencies;
    memcpy(h->pol.currencies, cfg->currencies, sizeof h->pol.currencies);
    h->pol.now_ms = NULL;
    if (snprintf(h->journal_sub, sizeof h->journal_sub, "$share/%s/%s/+/+/journal",
                 cfg->share_group, cfg->topic_prefix) >= (int)sizeof h->journal_sub ||
        snprintf(h->status_sub, sizeof h->status_sub, "%s/+/+/status", cfg->topic_prefix) >=
            (int)sizeof h->status_sub ||
        /* shared: one hub process answers each request */
        snprintf(h->catreq_sub, sizeof h->catreq_sub, "$share/%s/%s/+/+/catalog-request",
                 cfg->share_group, cfg->topic_prefix) >= (int)sizeof h->catreq_sub)
        return EXIT_CONFIG;
    h->subs[0] = h->journal_sub;
    h->subs[1] = h->status_sub;
    h->n_subs = 2;
    if (cfg->catalog_key[0] != '\0') {
        if ((rc = sl__key_load(&h->catkey, cfg->catalog_key)) != SL_OK) {
            hub_log(SL_LOG_ERR, "catalog_key %s: %s", cfg->catalog_key,
                    rc == SL_ERR_NOT_FOUND ? "not found" : "not a PEM P-256 private key");
            return EXIT_CONFIG;
        }
        h->subs[h->n_subs++] = h->catreq_sub;
    } else {
        hub_log(SL_LOG_INFO, "no [hub] catalog_key: devices' catalog-requests are not answered");
    }
    return EXIT_OK;
}

static int client_new(struct hub_mqtt *h)
{
    const hub_config *cfg = h->cfg;
    /* clean_session false: MQTT v5 clean start off, so the broker queues
     * batches for us while we restart (with the session expiry below) */
    h->mosq = mosquitto_new(cfg->client_id, false, h);
    if (h->mosq == NULL) {
        hub_log(SL_LOG_ERR, "mosquitto_new failed");
        return EXIT_SOFTWARE;
    }
    int rc = mosquitto_int_option(h->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_int_option(h->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_int_option(h->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, HUB_RECEIVE_MAX);
    if (rc != MOSQ_ERR_SUCCESS) {
        hub_log(SL_LOG_ERR, "mqtt options: %s", mosquitto_strerror(rc));
        return EXIT_SOFTWARE;
    }
    rc = mosquitto_tls_set(h->mosq, cfg->ca_file, NULL, cfg->cert_file, cfg->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        hub_log(SL_LOG_ERR, "TLS setup (ca_file %s, cert_file %s, key_file %s): %s",
                cfg->ca_file, cfg->cert_file, cfg->key_file, mosquitto_strerror(rc));
        return EXIT_CONFIG;
    }
    mosquitto_log_callback_set(h->mosq, on_log);
    mosquitto_connect_v5_callback_set(h->mosq, on_connect);
    mosquitto_subscribe_v5_callback_set(h->mosq, on_subscribe);
    mosquitto_message_v5_callback_set(h->mosq, on_message);
    mosquitto_disconnect_v5_callback_set(h->mosq, on_disconnect);
    return EXIT_OK;
}

static void backoff_wait(struct hub_mqtt *h, const char *why, int rc)
{
    hub_log(SL_LOG_WARNING, "broker %s:%d: %s (%s); retrying in %u ms", h->cfg->host,
            h->cfg->port, why, mosquitto_strerror(rc), h->backoff_ms);
    hub_sys_sleep_ms(h->backoff_ms);
    h->backoff_ms = h->backoff_ms * 2 > HUB_BACKOFF_MAX_MS ? HUB_BACKOFF_MAX_MS
                                                          : h->backoff_ms * 2;
}

/* Send DISCONNECT and let the loop run until the broker has it, so no
 * last will fires and the session is left cleanly. */
static void shutdown_cleanly(struct hub_mqtt *h)
{
    if (!h->connected)
        return;
    if (mosquitto_disconnect_v5(h->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL) != MOSQ_ERR_SUCCESS)
        return;
    uint64_t deadline = sl_plat_mono_ms() + HUB_STOP_WAIT_MS;
    while (h->connected && sl_plat_mono_ms() < deadline)
        if (mosquitto_loop(h->mosq, 100, 1) != MOSQ_ERR_SUCCESS)
            break;
}

int hub_run(const hub_config *cfg)
{
    struct hub_mqtt *h = calloc(1, sizeof *h);
    mosquitto_property *props = NULL;
    int ex, rc, need_connect = 0;
    if (h == NULL)
        return EXIT_SOFTWARE;
    mosquitto_lib_init();
    if (hub_sys_signals_install() != SL_OK) {
        ex = EXIT_SOFTWARE;
        goto out;
    }
    if ((ex = prepare(h, cfg)) != EXIT_OK || (ex = client_new(h)) != EXIT_OK)
        goto out;
    if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     HUB_SESSION_EXPIRY_S) != MOSQ_ERR_SUCCESS) {
        ex = EXIT_SOFTWARE;
        goto out;
    }
    /* libmosquitto keeps a copy of the CONNECT properties for reconnects */
    rc = mosquitto_connect_bind_v5(h->mosq, cfg->host, cfg->port, HUB_KEEPALIVE_S, NULL, props);
    if (rc == MOSQ_ERR_INVAL) {
        hub_log(SL_LOG_ERR, "broker host/port invalid: %s:%d", cfg->host, cfg->port);
        ex = EXIT_CONFIG;
        goto out;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        backoff_wait(h, "cannot connect", rc);
        need_connect = 1;
    }
    while (!hub_sys_stop_requested() && h->fatal == 0) {
        if (need_connect) {
            rc = mosquitto_reconnect(h->mosq);
            if (rc != MOSQ_ERR_SUCCESS) {
                backoff_wait(h, "cannot connect", rc);
                continue;
            }
            need_connect = 0;
        }
        rc = mosquitto_loop(h->mosq, 1000, 1);
        if (rc != MOSQ_ERR_SUCCESS && !hub_sys_stop_requested() && h->fatal == 0) {
            h->connected = 0;
            backoff_wait(h, "connection lost", rc);
            need_connect = 1;
        }
    }
    if (h->fatal == 0) {
        shutdown_cleanly(h);
        hub_log_always(SL_LOG_INFO, "stopped");
    }
    ex = h->fatal;
out:
    mosquitto_property_free_all(&props);
    if (h->mosq != NULL)
        mosquitto_destroy(h->mosq);
    mosquitto_lib_cleanup();
    hub_store_close(h->st);
    sl__ca_free(h->ca);
    sl__key_free(h->catkey);
    free(h);
    return ex;
}

/* ---- one-shot publisher (storelink-hub publish) ----------------------------- */

struct hub_pub {
    struct mosquitto *mosq;
    const hub_config *cfg;
    int got_connack, connack_reason, connected;
    int mid, acked, ack_reason;
    int lib_init;
};

static void pub_on_connect(struct mosquitto *mosq, void *obj, int reason, int flags,
                           const mosquitto_property *props)
{
    struct hub_pub *p = obj;
    (void)mosq;
    (void)flags;
    (void)props;
    p->got_connack = 1;
    p->connack_reason = reason;
    p->connected = reason == 0;
}

static void pub_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                           const mosquitto_property *props)
{
    struct hub_pub *p = obj;
    (void)mosq;
    (void)props;
    if (mid == p->mid) {
        p->acked = 1;
        p->ack_reason = reason;
    }
}

static void pub_on_disconnect(struct mosquitto *mosq, void *obj, int reason,
                              const mosquitto_property *props)
{
    struct hub_pub *p = obj;
    (void)mosq;
    (void)reason;
    (void)props;
    p->connected = 0;
}

static int pub_say(char *err, size_t errsz, int ex, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int pub_say(char *err, size_t errsz, int ex, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return ex;
}

/* Run the network loop until *flag is set, the connection breaks or the
 * deadline passes.  MOSQ_ERR_SUCCESS when the flag was set. */
static int pub_wait(struct hub_pub *p, const int *flag, uint64_t deadline)
{
    while (!*flag) {
        if (sl_plat_mono_ms() >= deadline)
            return -1;   /* timed out */
        int rc = mosquitto_loop(p->mosq, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS && !*flag)
            return rc;
    }
    return MOSQ_ERR_SUCCESS;
}

int hub_pub_open(hub_pub **out, const hub_config *cfg, char *err, size_t errsz)
{
    char id[HUB_ID_MAX + 8];
    *out = NULL;
    if (cfg->ca_file[0] == '\0' || cfg->cert_file[0] == '\0' || cfg->key_file[0] == '\0')
        return pub_say(err, errsz, EXIT_CONFIG, "%s: [broker] ca_file, cert_file and key_file "
                       "are required (the hub connects with mutual TLS)",
                       cfg->path[0] ? cfg->path : "config");
    struct hub_pub *p = calloc(1, sizeof *p);
    if (p == NULL)
        return pub_say(err, errsz, EXIT_SOFTWARE, "out of memory");
    *out = p;
    p->cfg = cfg;
    mosquitto_lib_init();
    p->lib_init = 1;
    snprintf(id, sizeof id, "%s-pub", cfg->client_id);
    /* clean start: a publisher has nothing to resume */
    if ((p->mosq = mosquitto_new(id, true, p)) == NULL)
        return pub_say(err, errsz, EXIT_SOFTWARE, "mosquitto_new failed");
    int rc = mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (rc != MOSQ_ERR_SUCCESS)
        return pub_say(err, errsz, EXIT_SOFTWARE, "mqtt options: %s", mosquitto_strerror(rc));
    rc = mosquitto_tls_set(p->mosq, cfg->ca_file, NULL, cfg->cert_file, cfg->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        return pub_say(err, errsz, EXIT_CONFIG, "TLS setup (ca_file %s, cert_file %s, key_file "
                       "%s): %s", cfg->ca_file, cfg->cert_file, cfg->key_file,
                       mosquitto_strerror(rc));
    mosquitto_log_callback_set(p->mosq, on_log);
    mosquitto_connect_v5_callback_set(p->mosq, pub_on_connect);
    mosquitto_publish_v5_callback_set(p->mosq, pub_on_publish);
    mosquitto_disconnect_v5_callback_set(p->mosq, pub_on_disconnect);
    rc = mosquitto_connect_bind_v5(p->mosq, cfg->host, cfg->port, HUB_KEEPALIVE_S, NULL, NULL);
    if (rc == MOSQ_ERR_INVAL)
        return pub_say(err, errsz, EXIT_CONFIG, "broker host/port invalid: %s:%d", cfg->host,
                       cfg->port);
    if (rc != MOSQ_ERR_SUCCESS)
        return pub_say(err, errsz, EXIT_UNAVAILABLE, "cannot connect to the broker at %s:%d: %s",
                       cfg->host, cfg->port, mosquitto_strerror(rc));
    rc = pub_wait(p, &p->got_connack, sl_plat_mono_ms() + HUB_PUB_TIMEOUT_MS);
    if (rc != MOSQ_ERR_SUCCESS)
        return pub_say(err, errsz, EXIT_UNAVAILABLE, "broker %s:%d: %s before CONNACK",
                       cfg->host, cfg->port, rc < 0 ? "no answer" : mosquitto_strerror(rc));
    if (p->connack_reason != 0)
        return pub_say(err, errsz, EXIT_UNAVAILABLE, "broker %s:%d refused the connection: %s",
                       cfg->host, cfg->port, mosquitto_reason_string(p->connack_reason));
    return EXIT_OK;
}

int hub_pub_send(hub_pub *p, const char *topic, const void *payload, size_t len, int retain,
                 char *err, size_t errsz)
{
    if (len > INT32_MAX)
        return pub_say(err, errsz, EXIT_SOFTWARE, "message too large");
    p->acked = 0;
    int rc = mosquitto_publish_v5(p->mosq, &p->mid, topic, (int)len, payload, 1, retain != 0,
                                  NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        return pub_say(err, errsz, EXIT_UNAVAILABLE, "cannot publish on %s: %s", topic,
                       mosquitto_strerror(rc));
    rc = pub_wait(p, &p->acked, sl_plat_mono_ms() + HUB_PUB_TIMEOUT_MS);
    if (rc != MOSQ_ERR_SUCCESS)
        return pub_say(err, errsz, EXIT_UNAVAILABLE, "no PUBACK for %s: %s", topic,
                       rc < 0 ? "the broker did not answer in time" : mosquitto_strerror(rc));
    /* 0x10 "no matching subscribers" is a success: the broker took it */
    if (p->ack_reason >= 0x80)
        return pub_say(err, errsz, EXIT_UNAVAILABLE, "the broker refused the message on %s: %s "
                       "(0x%02x)", topic, mosquitto_reason_string(p->ack_reason),
                       (unsigned)p->ack_reason);
    return EXIT_OK;
}

void hub_pub_close(hub_pub *p)
{
    if (p == NULL)
        return;
    /* outside any callback, and waited for: a DISCONNECT, not a dropped
     * socket (../shared/NOTES.md, MQTT) */
    if (p->connected &&
        mosquitto_disconnect_v5(p->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL) == MOSQ_ERR_SUCCESS) {
        uint64_t deadline = sl_plat_mono_ms() + HUB_STOP_WAIT_MS;
        while (p->connected && sl_plat_mono_ms() < deadline)
            if (mosquitto_loop(p->mosq, 100, 1) != MOSQ_ERR_SUCCESS)
                break;
    }
    if (p->mosq != NULL)
        mosquitto_destroy(p->mosq);
    if (p->lib_init)
        mosquitto_lib_cleanup();
    free(p);
}
