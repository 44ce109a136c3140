/*
 * The device's catalog-request as the hub reads it (hub/catalog_pub.c
 * hub_cat_request_check -> sl__catreq_decode).  Property: what decodes
 * re-encodes to the same bytes (deterministic CBOR), and the scope is a
 * valid topic level.
 */
#include "catalog_pub.h"
#include "catmsg.h"
#include "fuzz.h"
#include "storelink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl__catreq q;
    uint8_t buf[SL_CATREQ_MAX];
    size_t n;
    char why[160];
    if (hub_cat_request_check("store-1", data, size, &q, why, sizeof why) != SL_OK)
        FUZZ_CHECK(fuzz_terminated(why, sizeof why) && why[0] != '\0', "refusal without reason");
    if (sl__catreq_decode(data, size, &q) != SL_OK)
        return 0;
    FUZZ_CHECK(fuzz_terminated(q.scope, sizeof q.scope) &&
                   sl__cat_id_ok(q.scope, strlen(q.scope), q.type == SL_CAT_PRICES),
               "decoded scope invalid");
    FUZZ_CHECK(sl__catreq_encode(&q, buf, sizeof buf, &n) == SL_OK,
               "a decoded request does not encode");
    FUZZ_CHECK(n == size && memcmp(buf, data, n) == 0,
               "decoder accepted a second encoding of a request");
    return 0;
}
