/*
 * probe.h - diagnostic probes for `storelink status` and `storelink doctor`:
 * the device identity (key, certificate, CA) and a step-by-step broker
 * check (TLS with mbedtls, then a minimal MQTT v5 CONNECT / PUBLISH written
 * here).  mbedtls codes and MQTT reason codes are turned into words here.
 *
 * Why not libmosquitto for the broker steps: it PUBACKs every QoS 1 message
 * the broker delivers from the device's stored session, so a doctor run
 * would consume acks and catalog updates meant for the daemon.  The probe
 * never acknowledges a delivered message: the broker keeps it in the
 * session and resends it when the daemon reconnects (MQTT 5 4.4).  Its TLS
 * step also names exactly what failed (expired, wrong CA, name mismatch).
 */
#ifndef SL_PROBE_H
#define SL_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* What the device's own key and certificate say. */
typedef struct sl__identity {
    int cert_ok;              /* certificate file parses */
    int key_ok;               /* key file parses */
    int key_matches;          /* key is the certificate's private half */
    int client_auth;          /* extendedKeyUsage allows clientAuth (or has none) */
    int ca_checked;           /* ca_file could be read */
    int ca_ok;                /* chain verifies against ca_file (dates aside) */
    char subject[160];        /* "O=s-1, CN=dev-1" */
    char cn[65];
    int64_t not_before_ms, not_after_ms;
    char why[160];            /* first problem in plain words, "" if none */
} sl__identity;

/* Fill id from the files (any may be "" = not configured).  Never fails:
 * what could not be read is recorded in id. */
void sl__identity_check(const char *cert_file, const char *key_file, const char *ca_file,
                        sl__identity *id);

typedef struct sl__probe sl__probe;

/* TLS over the connected socket fd (the probe takes ownership of fd and
 * closes it in sl__probe_close, also on failure).  Verifies the broker's
 * certificate against ca_file and host, presents cert_file/key_file.
 * SL_OK; SL_ERR_CRYPTO (verification or handshake refused), SL_ERR_BUSY
 * (timeout), SL_ERR_IO, SL_ERR_CONFIG (files unreadable).  why: words;
 * *peer_nb / *peer_na: the broker certificate's validity (0 if unknown). */
int sl__probe_tls(sl__probe **out, int fd, const char *host, const char *ca_file,
                  const char *cert_file, const char *key_file, int timeout_ms, char *why,
                  size_t whysz, int64_t *peer_nb, int64_t *peer_na);
/* MQTT v5 CONNECT with clean start off and session_expiry (the broker's
 * stored session for client_id is kept).  SL_OK when accepted; *reason is
 * the CONNACK reason code (-1 when none arrived).  why: words. */
int sl__probe_connect(sl__probe *p, const char *client_id, unsigned keepalive,
                      uint32_t session_expiry, int timeout_ms, int *reason, char *why,
                      size_t whysz);
/* QoS 1 PUBLISH, not retained; waits for its PUBACK.  SL_OK when the
 * reason code is below 0x80 (0x10 "no subscribers" is accepted); *reason
 * the code (-1 when no PUBACK arrived). */
int sl__probe_publish(sl__probe *p, const char *topic, const void *payload, size_t len,
                      int timeout_ms, int *reason, char *why, size_t whysz);
/* DISCONNECT (reason 0: no will is published) if connected, TLS
 * close_notify, close the socket, free.  NULL is a no-op. */
void sl__probe_close(sl__probe *p);

/* Plain words for an MQTT v5 reason code. */
const char *sl__mqtt_reason_words(int rc);

#endif
