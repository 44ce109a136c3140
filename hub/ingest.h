/*
 * ingest.h - one journal batch in, one ack out (docs/PROTOCOL.md "Hub").
 *
 * Pure: no MQTT here.  The caller hands over the topic and payload of a
 * message on {prefix}/{store}/{device}/journal and publishes the ack this
 * fills on ack_topic ({prefix}/{store}/{device}/ack).
 */
#ifndef HUB_INGEST_H
#define HUB_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "ack.h"
#include "batch.h"
#include "crypto.h"
#include "store.h"

#define HUB_ID_MAX 64            /* store and device ids (topic levels, CNs) */
#define HUB_PREFIX_MAX 128       /* topic prefix */
#define HUB_TOPIC_MAX 320        /* prefix + store + device + suffix */
#define HUB_MAX_CURRENCIES 32
#define HUB_PAYLOAD_MAX (SL_BATCH_BODY_MAX + ((size_t)1 << 16))

/* What the hub accepts.  Plain data the caller fills. */
typedef struct hub_policy {
    const char *topic_prefix;               /* e.g. "storelink/v1" */
    size_t n_currencies;                    /* 0 = accept any currency */
    char currencies[HUB_MAX_CURRENCIES][4]; /* ISO 4217 codes */
    int64_t (*now_ms)(void);                /* clock; NULL = wall clock */
} hub_policy;

/* Split "{prefix}/{store}/{device}/{leaf}" into its parts (ids checked:
 * 1-64 of [A-Za-z0-9._-]).  SL_OK or SL_ERR_INVALID.  store and device
 * are HUB_ID_MAX + 1 bytes, leaf leafsz. */
SL_NODISCARD int hub_topic_parse(const char *prefix, const char *topic, char *store,
                                 char *device, char *leaf, size_t leafsz);

/*
 * Ingest one batch message.
 *
 * Invalid topic, malformed or unsigned payload, a certificate that is not
 * the topic's device's, a signature that does not verify: nothing is
 * stored, one line is logged, and SL_ERR_USAGE / SL_ERR_CORRUPT /
 * SL_ERR_CRYPTO is returned; no ack is sent (the device cannot have sent
 * it).  SL_ERR_BUSY / SL_ERR_IO / SL_ERR_NOMEM: storage failed, nothing
 * was stored, no ack (the device resends).
 *
 * SL_OK: *ack_out and ack_topic are filled and must be published.  The
 * batch was either stored (in one transaction, committed before this
 * returns: acked_through is the device's last stored seq and rejects lists
 * every rejected record in the batch's range, re-listed on a resend) or
 * refused as a whole with ack_out->error set ("gap: expected seq N" with
 * resend_from, "chain mismatch at seq N", "broken chain at seq N").
 */
SL_NODISCARD int hub_ingest(hub_store *st, const hub_policy *pol, sl__ca *ca, const char *topic,
                            const uint8_t *payload, size_t len, sl__ack *ack_out,
                            char *ack_topic, size_t ack_topic_sz);

#endif
