/*
 * barcode.h - what a scanned payload means: a quantity prefix code, a
 * GS1 element string (GS1-128, DataBar, DataMatrix: AI (01) GTIN with
 * (10) batch, (17) expiry...), a plain GTIN (EAN-8, UPC-A, EAN-13, GTIN-14,
 * check digit verified) or a plain SKU that passes the SKU rules
 * (agent/event.c: length, UTF-8, no control characters, no card number).
 */
#ifndef SL_BARCODE_H
#define SL_BARCODE_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

typedef struct sl_barcode {
    char sku[SL_SKU_MAX + 1];
    int gs1;              /* came from a GS1 element string */
    char batch[21];       /* AI (10), "" when absent */
    char expiry[7];       /* AI (17) YYMMDD, "" when absent */
} sl_barcode;

/* Parse a scan.  SL_OK with *b filled; SL_ERR_INVALID with *p saying why
 * (field "barcode" for a bad check digit or a malformed GS1 string, "sku"
 * for the SKU rules).  The reason never contains the payload. */
SL_NODISCARD int sl__barcode_parse(const char *code, size_t len, sl_barcode *b, sl_problem *p);

/* 1 if code is prefix followed by 1-7 digits (a quantity code such as
 * "QTY12"), with *qty_milli the quantity in milli-units (1 .. 1,000,000
 * units); -1 if it starts with prefix but is not a valid quantity; 0 if it
 * is not a quantity code (also when prefix is empty). */
int sl__barcode_qty(const char *code, const char *prefix, int64_t *qty_milli);

#endif
