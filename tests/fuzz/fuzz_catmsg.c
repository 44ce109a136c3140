/*
 * Catalog downlink messages (signed price and stock updates) as the agent
 * reads them (agent/catalog.c -> sl__catmsg_open, then sl__catmsg_parse
 * with item callbacks).  The signature check rejects nearly every mutated
 * input, so the payload parser is also run on its own, the way the agent
 * runs it after a good signature: on the payload bstr of an input shaped
 * [payload, signature], and on the whole input taken as a payload.
 * Properties: handed-out items and header fields are terminated and within
 * the documented limits; a message opens only with a verifying signature.
 */
#include "catmsg.h"
#include "cborio.h"
#include "crypto.h"
#include "fuzz.h"
#include "storelink.h"

static sl__pub *pub;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char kp[600], pp[600];
    sl__key *key = NULL;
    snprintf(kp, sizeof kp, "%s/catalog.key", fuzz_scratch());
    snprintf(pp, sizeof pp, "%s/catalog.pub", fuzz_scratch());
    if (sl__key_generate(kp) != SL_OK || sl__key_load(&key, kp) != SL_OK ||
        sl__key_write_pub(key, pp) != SL_OK || sl__pub_load(&pub, pp) != SL_OK) {
        fprintf(stderr, "fuzz_catmsg: cannot make a catalog key in %s\n", fuzz_scratch());
        abort();
    }
    sl__key_free(key);
    /* the key is in memory now: leave nothing behind when run by hand */
    (void)remove(kp);
    (void)remove(pp);
    (void)rmdir(fuzz_scratch());
    return 0;
}

static int on_price(void *ctx, const sl__cat_price *p)
{
    (void)ctx;
    FUZZ_CHECK(fuzz_terminated(p->sku, sizeof p->sku) && p->sku[0] != '\0' &&
                   strlen(p->currency) == 3 && p->price <= SL_MONEY_MAX &&
                   p->effective_from >= 0,
               "price item out of bounds");
    return 0;
}

static int on_stock(void *ctx, const sl__cat_stock *s)
{
    (void)ctx;
    FUZZ_CHECK(fuzz_terminated(s->sku, sizeof s->sku) && s->sku[0] != '\0' &&
                   s->on_hand_milli <= SL_CAT_ONHAND_MAX && s->on_hand_milli >= -SL_CAT_ONHAND_MAX,
               "stock item out of bounds");
    return 0;
}

static int on_wm(void *ctx, const sl__cat_wm *w)
{
    (void)ctx;
    FUZZ_CHECK(fuzz_terminated(w->device, sizeof w->device) &&
                   sl__cat_id_ok(w->device, strlen(w->device), 0),
               "watermark device invalid");
    return 0;
}

static void parse(const uint8_t *p, size_t n)
{
    sl__catmsg m;
    char why[160];
    sl__catmsg_cbs cbs = {NULL, on_price, on_stock, on_wm};
    why[0] = '\0';
    if (sl__catmsg_parse(p, n, &m, &cbs, why, sizeof why) != SL_OK) {
        FUZZ_CHECK(fuzz_terminated(why, sizeof why) && why[0] != '\0', "refusal without reason");
        return;
    }
    FUZZ_CHECK((m.type == SL_CAT_PRICES || m.type == SL_CAT_STOCK) &&
                   (m.kind == SL_CAT_SNAPSHOT || m.kind == SL_CAT_DELTA) && m.version >= 1 &&
                   fuzz_terminated(m.scope, sizeof m.scope) &&
                   sl__cat_id_ok(m.scope, strlen(m.scope), m.type == SL_CAT_PRICES) &&
                   m.n_items <= SL_CAT_ITEMS_MAX && m.n_watermarks <= SL_CAT_WM_MAX &&
                   (m.kind != SL_CAT_DELTA || m.base == m.version - 1),
               "parsed header out of bounds");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl__catmsg m;
    const uint8_t *pl = NULL;
    size_t pn = 0;
    char why[160];
    int rc = sl__catmsg_open(data, size, pub, &m, &pl, &pn, why, sizeof why);
    /* fuzzing does not forge ECDSA signatures: an open that succeeds means
     * the check was skipped */
    FUZZ_CHECK(rc != SL_OK, "a message opened without a valid signature");
    FUZZ_CHECK(fuzz_terminated(why, sizeof why), "reason not terminated");

    /* the payload of [payload, signature], as parsed after verification */
    sl__cr r;
    size_t n;
    sl__cr_init(&r, data, size);
    if (sl__cr_array(&r, &n) == 0 && n == 2 && sl__cr_bstr(&r, &pl, &pn) == 0)
        parse(pl, pn);
    else
        parse(data, size);
    return 0;
}
