/*
 * mqtt.h - the MQTT v5 connection over mutual TLS (libmosquitto), driven by
 * the caller's poll loop: no threads, no libmosquitto loop of its own.
 * MOSQ_ERR_* and reason codes are translated here only.
 */
#ifndef SL_MQTT_H
#define SL_MQTT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl__mqtt sl__mqtt;

typedef struct sl__mqtt_cfg {
    const char *host;
    int port;
    const char *ca_file, *cert_file, *key_file;
    const char *client_id;
    int keepalive;                 /* seconds */
    uint32_t session_expiry;       /* seconds */
    const char *will_topic;        /* retained QoS 1 last will, may be NULL */
    const void *will_payload;
    size_t will_len;
} sl__mqtt_cfg;

typedef struct sl__mqtt_events {
    void *ctx;
    void (*connected)(void *ctx, int session_present, unsigned receive_max);
    void (*disconnected)(void *ctx, const char *why);
    void (*puback)(void *ctx, int mid, int reason);
    void (*message)(void *ctx, const char *topic, const void *payload, size_t len);
} sl__mqtt_events;

int sl__mqtt_new(sl__mqtt **out, const sl__mqtt_cfg *cfg, const sl__mqtt_events *ev);
void sl__mqtt_free(sl__mqtt *m);
/* Probe TCP within timeout_ms, then open TLS and send CONNECT.  CONNACK
 * arrives later through the events.  On failure why holds plain words
 * ("TLS handshake failed: ...", "connection refused", "cannot resolve"). */
int sl__mqtt_connect(sl__mqtt *m, int timeout_ms, char *why, size_t whysz);
/* Socket to poll, or -1 when not connected. */
int sl__mqtt_fd(sl__mqtt *m);
int sl__mqtt_want_write(sl__mqtt *m);
/* Service the connection after poll (and periodically for keepalive). */
void sl__mqtt_service(sl__mqtt *m, int readable, int writable);
int sl__mqtt_is_connected(sl__mqtt *m);
/* Monotonic ms by which the broker must have sent something, else the link
 * is declared lost at the next sl__mqtt_service(); UINT64_MAX when not
 * connected.  The poll loop wakes for it. */
uint64_t sl__mqtt_deadline(sl__mqtt *m);
int sl__mqtt_publish(sl__mqtt *m, const char *topic, const void *payload, size_t len,
                     int retain, int *mid);
int sl__mqtt_subscribe(sl__mqtt *m, const char *topic);
/* Send DISCONNECT and flush it (never from inside a callback). */
void sl__mqtt_disconnect(sl__mqtt *m);

#endif
