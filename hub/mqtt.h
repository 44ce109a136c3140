/*
 * mqtt.h - `storelink-hub run`: the hub's MQTT v5 client (libmosquitto).
 * MOSQ_* codes are translated here only.  docs/PROTOCOL.md "Topics":
 *   in:  $share/{group}/{prefix}/+/+/journal   (QoS 1, shared by hub processes)
 *        {prefix}/+/+/status                    (QoS 1, every hub process)
 *   out: {prefix}/{store}/{device}/ack          (QoS 1, not retained)
 */
#ifndef HUB_MQTT_H
#define HUB_MQTT_H

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

#endif
