/* MQTT v5 over mutual TLS with libmosquitto, externally looped. */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"
#include "platform.h"
#include "storelink.h"

struct sl__mqtt {
    struct mosquitto *mosq;
    sl__mqtt_cfg cfg;
    sl__mqtt_events ev;
    int connected;     /* CONNACK accepted */
    int socket_open;
    int closing;       /* our own DISCONNECT: not an event for the daemon */
    int refused;       /* CONNACK refused and already reported: the close that
                          follows is not a second, vaguer reason */
    uint64_t last_rx;  /* monotonic ms of the last bytes from the broker */
};

static int lib_refs;

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    sl__mqtt *m = obj;
    (void)mosq;
    if (rc != 0) {
        char why[160];
        if (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || rc == 1)
            snprintf(why, sizeof why, "broker refused MQTT v5 (it must support v5: 3.1.1 "
                     "PUBACKs hide dropped messages)");
        else
            snprintf(why, sizeof why, "broker refused the connection: %s (0x%02x)",
                     mosquitto_reason_string(rc), rc);
        m->connected = 0;
        m->refused = 1;
        m->ev.disconnected(m->ev.ctx, why);
        return;
    }
    uint16_t rmax = 65535;
    mosquitto_property_read_int16(props, MQTT_PROP_RECEIVE_MAXIMUM, &rmax, false);
    m->connected = 1;
    m->ev.connected(m->ev.ctx, flags & 1, rmax);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    sl__mqtt *m = obj;
    (void)mosq;
    (void)props;
    int was = m->connected;
    m->connected = 0;
    m->socket_open = 0;
    if (m->refused) {
        m->refused = 0;
        return;
    }
    if (!m->closing && (was || rc != 0)) {
        char why[128];
        if (!was && rc != 0)
            /* with TLS 1.3 the broker checks our certificate after the
             * client-side handshake is done, then drops us */
            snprintf(why, sizeof why, "broker closed the connection before accepting it: device "
                     "certificate refused (expired, not yet valid or from another CA?)");
        else if (rc == MOSQ_ERR_KEEPALIVE)
            snprintf(why, sizeof why, "connection lost: no answer within keepalive");
        else if (rc == 0)
            snprintf(why, sizeof why, "disconnected");
        else
            snprintf(why, sizeof why, "connection lost: %s", mosquitto_strerror(rc));
        m->ev.disconnected(m->ev.ctx, why);
    }
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    sl__mqtt *m = obj;
    (void)mosq;
    (void)props;
    m->ev.puback(m->ev.ctx, mid, reason);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    sl__mqtt *m = obj;
    (void)mosq;
    (void)props;
    m->ev.message(m->ev.ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

int sl__mqtt_new(sl__mqtt **out, const sl__mqtt_cfg *cfg, const sl__mqtt_events *ev)
{
    sl__mqtt *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SL_ERR_NOMEM;
    if (lib_refs++ == 0)
        mosquitto_lib_init();
    m->cfg = *cfg;
    m->ev = *ev;
    /* clean_session false: the broker keeps our session (and our downlink
     * messages) for session_expiry seconds while the store is offline */
    m->mosq = mosquitto_new(cfg->client_id, false, m);
    if (m->mosq == NULL)
        goto fail;
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    /* Nagle + delayed ACK cost ~40 ms per batch otherwise (NOTES.md) */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (mosquitto_tls_set(m->mosq, cfg->ca_file, NULL, cfg->cert_file, cfg->key_file, NULL) !=
            MOSQ_ERR_SUCCESS ||
        mosquitto_tls_opts_set(m->mosq, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", NULL) !=
            MOSQ_ERR_SUCCESS ||
        mosquitto_tls_insecure_set(m->mosq, false) != MOSQ_ERR_SUCCESS)
        goto fail;
    if (cfg->will_topic != NULL &&
        mosquitto_will_set_v5(m->mosq, cfg->will_topic, (int)cfg->will_len, cfg->will_payload, 1,
                              true, NULL) != MOSQ_ERR_SUCCESS)
        goto fail;
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    *out = m;
    return SL_OK;
fail:
    sl__mqtt_free(m);
    return SL_ERR_CONFIG;
}

void sl__mqtt_free(sl__mqtt *m)
{
    if (m == NULL)
        return;
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    if (--lib_refs == 0)
        mosquitto_lib_cleanup();
    free(m);
}

int sl__mqtt_connect(sl__mqtt *m, int timeout_ms, char *why, size_t whysz)
{
    /* libmosquitto 2.0 can send CONNECT properties (session expiry) only on
     * its blocking connect; probe first so a dead network answers within
     * timeout_ms instead of the kernel's connect timeout */
    int rc = sl_plat_tcp_probe(m->cfg.host, m->cfg.port, timeout_ms, why, whysz);
    if (rc != SL_OK)
        return rc;
    mosquitto_property *props = NULL;
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                 m->cfg.session_expiry);
    int mrc = mosquitto_connect_bind_v5(m->mosq, m->cfg.host, m->cfg.port, m->cfg.keepalive,
                                        NULL, props);
    mosquitto_property_free_all(&props);
    if (mrc != MOSQ_ERR_SUCCESS) {
        if (mrc == MOSQ_ERR_TLS)
            snprintf(why, whysz, "TLS handshake with %s:%d failed (server certificate not "
                     "trusted by ca_file, hostname mismatch, or our certificate refused)",
                     m->cfg.host, m->cfg.port);
        else if (mrc == MOSQ_ERR_ERRNO)
            snprintf(why, whysz, "connection to %s:%d failed (TLS or network error)",
                     m->cfg.host, m->cfg.port);
        else
            snprintf(why, whysz, "connection to %s:%d failed: %s", m->cfg.host, m->cfg.port,
                     mosquitto_strerror(mrc));
        return mrc == MOSQ_ERR_TLS ? SL_ERR_CRYPTO : SL_ERR_IO;
    }
    m->socket_open = 1;
    m->refused = 0;
    m->last_rx = sl_plat_mono_ms();
    return SL_OK;
}

int sl__mqtt_fd(sl__mqtt *m)
{
    return m->socket_open ? mosquitto_socket(m->mosq) : -1;
}

int sl__mqtt_want_write(sl__mqtt *m)
{
    return m->socket_open && mosquitto_want_write(m->mosq);
}

int sl__mqtt_is_connected(sl__mqtt *m)
{
    return m->connected;
}

static void lost(sl__mqtt *m, int rc)
{
    if (!m->socket_open)
        return;
    /* libmosquitto reports most losses through on_disconnect; make sure the
     * socket is gone so the daemon schedules a reconnect */
    m->socket_open = 0;
    if (m->connected) {
        m->connected = 0;
        char why[128];
        snprintf(why, sizeof why, "connection lost: %s", mosquitto_strerror(rc));
        m->ev.disconnected(m->ev.ctx, why);
    } else {
        char why[160];
        snprintf(why, sizeof why, "connection closed before CONNACK (%s): certificate "
                 "refused by the broker?", mosquitto_strerror(rc));
        m->ev.disconnected(m->ev.ctx, why);
    }
}

void sl__mqtt_service(sl__mqtt *m, int readable, int writable)
{
    int rc;
    if (!m->socket_open)
        return;
    if (readable)
        m->last_rx = sl_plat_mono_ms();
    if (readable && (rc = mosquitto_loop_read(m->mosq, 16)) != MOSQ_ERR_SUCCESS) {
        lost(m, rc);
        return;
    }
    if (m->socket_open && (writable || mosquitto_want_write(m->mosq)) &&
        (rc = mosquitto_loop_write(m->mosq, 16)) != MOSQ_ERR_SUCCESS) {
        lost(m, rc);
        return;
    }
    if (m->socket_open && (rc = mosquitto_loop_misc(m->mosq)) != MOSQ_ERR_SUCCESS) {
        lost(m, rc);
        return;
    }
    /* A half-open link (a dead access point: no FIN, no RST) gives no
     * error.  libmosquitto only gives up after a PINGREQ has gone unanswered
     * for another keepalive (2 x keepalive); a healthy broker sends
     * something (PINGRESP, PUBACK) at least every keepalive, so silence for
     * 1.5 x keepalive means the link is gone. */
    if (m->socket_open && m->connected && sl_plat_mono_ms() >= sl__mqtt_deadline(m)) {
        m->socket_open = 0;
        m->connected = 0;
        char why[160];
        snprintf(why, sizeof why, "connection lost: no answer from the broker for %d s "
                 "(keepalive %d s)", m->cfg.keepalive * 3 / 2, m->cfg.keepalive);
        m->ev.disconnected(m->ev.ctx, why);
    }
}

uint64_t sl__mqtt_deadline(sl__mqtt *m)
{
    if (!m->socket_open || !m->connected)
        return UINT64_MAX;
    return m->last_rx + (uint64_t)m->cfg.keepalive * 1500;
}

int sl__mqtt_publish(sl__mqtt *m, const char *topic, const void *payload, size_t len,
                     int retain, int *mid)
{
    if (!m->connected)
        return SL_ERR_BUSY;
    int rc = mosquitto_publish_v5(m->mosq, mid, topic, (int)len, payload, 1, retain, NULL);
    return rc == MOSQ_ERR_SUCCESS ? SL_OK : SL_ERR_IO;
}

int sl__mqtt_subscribe(sl__mqtt *m, const char *topic)
{
    return mosquitto_subscribe_v5(m->mosq, NULL, topic, 1, 0, NULL) == MOSQ_ERR_SUCCESS
               ? SL_OK : SL_ERR_IO;
}

void sl__mqtt_disconnect(sl__mqtt *m)
{
    if (!m->socket_open)
        return;
    m->closing = 1;
    mosquitto_disconnect_v5(m->mosq, 0, NULL);
    /* flush the DISCONNECT (bounded) so the broker does not publish the will */
    for (int i = 0; i < 50 && m->socket_open; i++) {
        sl_pollfd p = {mosquitto_socket(m->mosq), 1, mosquitto_want_write(m->mosq), 0, 0, 0};
        if (p.fd < 0)
            break;
        sl_plat_poll(&p, 1, 20);
        if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
        if (!mosquitto_want_write(m->mosq))
            break;
    }
    m->connected = 0;
    m->socket_open = 0;
    m->closing = 0;
}
