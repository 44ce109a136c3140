/*
 * The hub's ack as the agent reads it (agent/sync.c -> sl__ack_decode).
 * Property: a decoded ack has terminated strings and at most
 * SL_ACK_MAX_REJECTS rejects, and encodes to bytes that decode to the same
 * ack.
 */
#include "ack.h"
#include "fuzz.h"
#include "storelink.h"

static sl__ack a, b;
static uint8_t buf[65536];

static int same(const sl__ack *x, const sl__ack *y)
{
    if (x->acked_through != y->acked_through || x->hub_time != y->hub_time ||
        x->n_rejects != y->n_rejects || x->resend_from != y->resend_from ||
        strcmp(x->error, y->error) != 0)
        return 0;
    for (size_t i = 0; i < x->n_rejects; i++)
        if (x->rejects[i].seq != y->rejects[i].seq || x->rejects[i].code != y->rejects[i].code ||
            strcmp(x->rejects[i].reason, y->rejects[i].reason) != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    if (sl__ack_decode(data, size, &a) != SL_OK)
        return 0;
    FUZZ_CHECK(a.n_rejects <= SL_ACK_MAX_REJECTS && fuzz_terminated(a.error, sizeof a.error),
               "decoded ack out of bounds");
    for (size_t i = 0; i < a.n_rejects; i++)
        FUZZ_CHECK(fuzz_terminated(a.rejects[i].reason, sizeof a.rejects[i].reason),
                   "reject reason not terminated");
    FUZZ_CHECK(sl__ack_encode(&a, buf, sizeof buf, &n) == SL_OK, "a decoded ack does not encode");
    FUZZ_CHECK(sl__ack_decode(buf, n, &b) == SL_OK && same(&a, &b),
               "ack changed in a round trip");
    return 0;
}
