/*
 * ack.h - the hub's acknowledgement to a device (docs/PROTOCOL.md "Ack").
 *   ack = { 1: acked_through, ? 2: [* [seq, code, reason]], 3: hub_time,
 *           ? 4: error, ? 5: resend_from, ? 6: [retried_first, retried_last],
 *           ? 7: [* accepted seq], ? 8: epoch }
 * acked_through is cumulative: every record <= it is stored centrally
 * (rejected ones included, listed in 2 and kept in the dead-letter store).
 */
#ifndef SL_ACK_H
#define SL_ACK_H

#include <stddef.h>
#include <stdint.h>

#define SL_ACK_MAX_REJECTS 64
#define SL_ACK_REASON_MAX 96

enum { SL_REJ_INVALID = 1, SL_REJ_CURRENCY = 2, SL_REJ_POLICY = 3 };

typedef struct sl__ack_reject {
    uint64_t seq;
    uint32_t code;
    char reason[SL_ACK_REASON_MAX + 1];
} sl__ack_reject;

typedef struct sl__ack {
    uint64_t acked_through;
    int64_t hub_time;
    size_t n_rejects;
    sl__ack_reject rejects[SL_ACK_MAX_REJECTS];
    char error[SL_ACK_REASON_MAX + 1];   /* batch-level refusal, "" if none */
    uint64_t resend_from;                /* 0 = not given */
    /* answer to a retry batch (docs/PROTOCOL.md "Dead letters"): the range
     * re-evaluated (0/0 otherwise) and the seqs in it the hub holds as ok */
    uint64_t retried_first, retried_last;
    size_t n_accepted;
    uint64_t accepted[SL_ACK_MAX_REJECTS];
    /* the device's journal epoch at the hub after this batch (2 or more;
     * 0 = absent, epoch 1): a device in a later epoch ignores the ack, it
     * speaks of the old journal (docs/PROTOCOL.md "Journal epochs") */
    uint32_t epoch;
} sl__ack;

int sl__ack_encode(const sl__ack *a, uint8_t *buf, size_t cap, size_t *len);
/* SL_OK or SL_ERR_CORRUPT; strict deterministic decoding. */
int sl__ack_decode(const uint8_t *buf, size_t len, sl__ack *a);

#endif
