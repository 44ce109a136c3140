/*
 * Barcode payloads as a scanner delivers them (drivers/barcode.c
 * sl__barcode_parse and sl__barcode_qty, as drivers/scanmode.c calls them
 * on every complete scan).  Properties: a parsed barcode's strings end
 * within their buffers and the SKU is not empty; a refusal names a field
 * and a reason; an accepted quantity code is within 1 .. 1,000,000 units.
 */
#include "fuzz.h"

#include "barcode.h"
#include "framing.h"
#include "storelink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_barcode b;
    sl_problem p;
    int64_t q;
    memset(&p, 0, sizeof p);
    if (sl__barcode_parse((const char *)data, size, &b, &p) == SL_OK)
        FUZZ_CHECK(fuzz_terminated(b.sku, sizeof b.sku) && b.sku[0] != '\0' &&
                       fuzz_terminated(b.batch, sizeof b.batch) &&
                       fuzz_terminated(b.expiry, sizeof b.expiry),
                   "parsed barcode out of bounds");
    else
        FUZZ_CHECK(p.field[0] != '\0' && p.reason[0] != '\0' &&
                       fuzz_terminated(p.field, sizeof p.field) &&
                       fuzz_terminated(p.reason, sizeof p.reason),
                   "refusal without reason");
    /* sl__barcode_qty takes a C string, as framing hands it over */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int r = sl__barcode_qty(s, "QTY", &q);
    FUZZ_CHECK(r >= -1 && r <= 1, "quantity verdict out of range");
    if (r == 1)
        FUZZ_CHECK(q >= 1000 && q <= 1000000000, "quantity out of range");
    FUZZ_CHECK(sl__barcode_qty(s, "", &q) == 0, "empty prefix read as a quantity code");
    free(s);
    return 0;
}
