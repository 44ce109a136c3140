/*
 * The hub's catalog CSV files, the price and stock lists an ERP drops for
 * `storelink-hub catalog publish` (hub/catalog_pub.c hub_cat_csv_load: a
 * hand-written CSV reader with quoted fields, BOM, CRLF and ISO 8601
 * times).  The first input byte picks the list (bit 0: stock, else prices)
 * and the accepted currencies (bit 1: EUR and USD only, else any); the rest
 * is the file.  Properties: a refusal says why; every item read obeys the
 * catalog message rules (agent/catmsg.h), so the hub cannot sign an update
 * that devices refuse; no SKU (with the same effective_from, for prices)
 * is accepted twice.
 */
#include "fuzz.h"

#include "catalog_pub.h"
#include "catmsg.h"
#include "event.h"
#include "storelink.h"

static const char currencies[2][4] = {"EUR", "USD"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_cat_items it;
    char err[512];
    if (size < 1)
        return 0;
    int type = (data[0] & 1) ? SL_CAT_STOCK : SL_CAT_PRICES;
    size_t ncur = (data[0] & 2) ? 2 : 0;
    const char *path = fuzz_file(data + 1, size - 1);
    memset(&it, 0, sizeof it);
    err[0] = '\0';
    if (hub_cat_csv_load(&it, type, path, ncur, currencies, err, sizeof err) != SL_OK) {
        FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof err), "refusal without reason");
        return 0;
    }
    FUZZ_CHECK(it.type == type && it.n <= SL_CAT_ITEMS_MAX, "item list out of bounds");
    for (size_t i = 0; i < it.n; i++) {
        if (type == SL_CAT_PRICES) {
            const sl__cat_price *p = &it.prices[i];
            FUZZ_CHECK(fuzz_terminated(p->sku, sizeof p->sku) &&
                           sl__check_sku(p->sku, "sku", NULL) == SL_OK &&
                           p->price <= SL_MONEY_MAX && p->effective_from >= 0 &&
                           strlen(p->currency) == 3 && p->currency[0] >= 'A' &&
                           p->currency[0] <= 'Z' && p->currency[1] >= 'A' &&
                           p->currency[1] <= 'Z' && p->currency[2] >= 'A' &&
                           p->currency[2] <= 'Z',
                       "price item breaks the catalog rules");
            if (ncur)
                FUZZ_CHECK(strcmp(p->currency, "EUR") == 0 || strcmp(p->currency, "USD") == 0,
                           "currency outside the accepted list");
        } else {
            const sl__cat_stock *s = &it.stock[i];
            FUZZ_CHECK(fuzz_terminated(s->sku, sizeof s->sku) &&
                           sl__check_sku(s->sku, "sku", NULL) == SL_OK &&
                           s->on_hand_milli <= SL_CAT_ONHAND_MAX &&
                           s->on_hand_milli >= -SL_CAT_ONHAND_MAX,
                       "stock item breaks the catalog rules");
        }
    }
    /* quadratic, so only on lists of modest length */
    for (size_t i = 0; i < it.n && it.n <= 256; i++)
        for (size_t j = i + 1; j < it.n; j++) {
            if (type == SL_CAT_PRICES)
                FUZZ_CHECK(strcmp(it.prices[i].sku, it.prices[j].sku) != 0 ||
                               it.prices[i].effective_from != it.prices[j].effective_from,
                           "a price accepted twice");
            else
                FUZZ_CHECK(strcmp(it.stock[i].sku, it.stock[j].sku) != 0,
                           "a stock figure accepted twice");
        }
    hub_cat_items_free(&it);
    return 0;
}
