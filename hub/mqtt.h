/*
 * mqtt.h - `storelink-hub run`: the hub's MQTT v5 client (libmosquitto).
 * MOSQ_* codes are translated here only.  docs/PROTOCOL.md "Topics":
 *   in:  $share/{group}/{prefix}/+/+/journal   (QoS 1, shared by hub processes)
 *        {prefix}/+/+/status                    (QoS 1, every hub process)
 *        $share/{group}/{prefix}/+/+/catalog-request   (QoS 1, with a catalog_key)
 *   out: {prefix}/{store}/{device}/ack          (QoS 1, not retained)
 *        {prefix}/{scope}/prices|stock          (QoS 1, snapshots retained;
 *                                                catalog_pub.h)
 */
#ifndef HUB_MQTT_H
#define HUB_MQTT_H

#include <stddef.h>

#include "hub_config.h"

#define HUB_KEEPALIVE_S 30
#define HUB_SESSION_EXPIRY_S 86400     /* broker keeps our queue a day */
#define HUB_RECEIVE_MAX 32             /* QoS 1 messages in flight to us */
#define HUB_BACKOFF_MIN_MS 500
#define HUB_BACKOFF_MAX_MS 30000
#define HUB_STOP_WAIT_MS 3000          /* for the broker to take DISCONNECT */

/* Run until SIGTERM/SIGINT (returns 0) or a permanent error.  Returns a
 * sysexits(3) code: 0, 69 (broker refused us for good: not authorised,
 * subscription denied), 74 (database), 78 (configuration: certificate
 * files, CA). */
int hub_run(const hub_config *cfg);

/*
 * A short-lived publisher for `storelink-hub publish`: the hub's broker
 * settings, client id "<client_id>-pub" with a clean start (it keeps no
 * session), MQTT v5.  Every call is bounded by HUB_PUB_TIMEOUT_MS.  They
 * return a sysexits(3) code with a plain sentence in err: 0, 69 (broker
 * unreachable, refused us or the message, no answer in time), 70, 78
 * (certificate files).
 *
 * hub_pub_open: connect and wait for the CONNACK.  *out is freed with
 * hub_pub_close() (also on failure it may be set; hub_pub_close(NULL) is a
 * no-op).
 * hub_pub_send: publish QoS 1 and wait for the PUBACK; a reason >= 0x80 is
 * a refusal (e.g. 0x87 not authorised by the broker's ACL).  The payload is
 * copied.
 * hub_pub_close: DISCONNECT (normal), waited for, then free.
 */
#define HUB_PUB_TIMEOUT_MS 10000

typedef struct hub_pub hub_pub;

int hub_pub_open(hub_pub **out, const hub_config *cfg, char *err, size_t errsz);
int hub_pub_send(hub_pub *p, const char *topic, const void *payload, size_t len, int retain,
                 char *err, size_t errsz);
void hub_pub_close(hub_pub *p);

#endif
