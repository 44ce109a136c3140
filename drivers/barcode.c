/* Scanned payloads to SKUs (barcode.h).  GS1 rules: GS1 General
 * Specifications, section 3 (application identifiers) and 7.9 (check
 * digits); symbology identifiers per ISO/IEC 15424. */
#include <stdio.h>
#include <string.h>

#include "barcode.h"
#include "event.h"

#define GS '\x1d'   /* FNC1 as transmitted: ends a variable-length field */

static int bad(sl_problem *p, const char *field, const char *reason)
{
    if (p != NULL) {
        snprintf(p->field, sizeof p->field, "%s", field);
        snprintf(p->reason, sizeof p->reason, "%s", reason);
    }
    return SL_ERR_INVALID;
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* GTIN-14 with indicator digit 0 is the same item as its GTIN-13 (and the
 * catalog keys items by the 13 digits printed under the bars) */
static void set_gtin(sl_barcode *b, const char *g, size_t n)
{
    if (n == 14 && g[0] == '0') {
        g++;
        n--;
    }
    memcpy(b->sku, g, n);
    b->sku[n] = '\0';
}

struct ai {
    const char *ai;
    size_t fixed;    /* data length, or 0 for variable */
    size_t max;      /* variable: maximum length */
};

/* the AIs a product scan carries; anything else (a logistic unit's SSCC,
 * weights, prices) is not something this driver can book */
static const struct ai ais[] = {
    {"01", 14, 14}, {"10", 0, 20}, {"11", 6, 6}, {"13", 6, 6}, {"15", 6, 6},
    {"17", 6, 6}, {"21", 0, 20}, {"30", 0, 8}, {"37", 0, 8},
};

static int date_ok(const char *d)
{
    int mm = (d[2] - '0') * 10 + (d[3] - '0');
    int dd = (d[4] - '0') * 10 + (d[5] - '0');
    /* day 00 means "end of month" in GS1 dates */
    return digits(d, 6) && mm >= 1 && mm <= 12 && dd <= 31;
}

/* an element string: AI data [GS] AI data ...; with parens=1 the
 * human-readable form "(01)...(10)..." */
static int parse_gs1(const char *s, size_t n, int parens, sl_barcode *b, sl_problem *p)
{
    size_t i = 0;
    int have_gtin = 0;
    while (i < n) {
        if (s[i] == GS) {
            i++;
            continue;
        }
        if (parens) {
            if (s[i] != '(' || i + 3 >= n || s[i + 3] != ')')
                return bad(p, "barcode", "malformed GS1 string (expected '(AI)')");
            i++;
        }
        if (i + 2 > n)
            return bad(p, "barcode", "malformed GS1 string (truncated AI)");
        const struct ai *a = NULL;
        for (size_t k = 0; k < sizeof ais / sizeof ais[0]; k++)
            if (memcmp(s + i, ais[k].ai, 2) == 0)
                a = &ais[k];
        if (a == NULL)
            return bad(p, "barcode", "GS1 application identifier not supported for a product scan");
        char ai0 = s[i], ai1 = s[i + 1];
        i += 2 + (size_t)parens;
        size_t len;
        if (a->fixed) {
            len = a->fixed;
            if (i + len > n)
                return bad(p, "barcode", "malformed GS1 string (field too short)");
        } else {
            len = 0;
            while (i + len < n && s[i + len] != GS && !(parens && s[i + len] == '('))
                len++;
            if (len == 0 || len > a->max)
                return bad(p, "barcode", "malformed GS1 string (variable field length)");
        }
        const char *d = s + i;
        if (ai0 == '0' && ai1 == '1') {
            if (!digits(d, 14) || !sl__gs1_check_ok(d, 14))
                return bad(p, "barcode", "bad GS1 check digit in GTIN (01)");
            set_gtin(b, d, 14);
            have_gtin = 1;
        } else if (ai0 == '1' && ai1 == '0') {
            memcpy(b->batch, d, len);
            b->batch[len] = '\0';
        } else if (a->fixed == 6) {
            if (!date_ok(d))
                return bad(p, "barcode", "bad GS1 date (YYMMDD)");
            if (ai0 == '1' && ai1 == '7') {
                memcpy(b->expiry, d, 6);
                b->expiry[6] = '\0';
            }
        }
        i += len;
    }
    if (!have_gtin)
        return bad(p, "barcode", "GS1 string without a GTIN (01)");
    b->gs1 = 1;
    return SL_OK;
}

int sl__barcode_parse(const char *code, size_t len, sl_barcode *b, sl_problem *p)
{
    memset(b, 0, sizeof *b);
    if (len == 0)
        return bad(p, "barcode", "is empty");
    int rc;
    /* a symbology identifier "]Cm": ]C1 (GS1-128), ]e0 (DataBar), ]d2
     * (GS1 DataMatrix) and ]Q3 (GS1 QR) introduce element strings; any
     * other (]E0 EAN, ]A0 Code 39...) is just dropped */
    if (len >= 3 && code[0] == ']') {
        char id[4] = {code[0], code[1], code[2], '\0'};
        code += 3;
        len -= 3;
        if (strcmp(id, "]C1") == 0 || strcmp(id, "]e0") == 0 || strcmp(id, "]d2") == 0 ||
            strcmp(id, "]Q3") == 0) {
            if ((rc = parse_gs1(code, len, 0, b, p)) != SL_OK)
                return rc;
            goto sku_rules;
        }
        if (len == 0)
            return bad(p, "barcode", "is empty");
    }
    if (code[0] == '(' && len >= 4 && code[3] == ')') {
        if ((rc = parse_gs1(code, len, 1, b, p)) != SL_OK)
            return rc;
        goto sku_rules;
    }
    if (memchr(code, GS, len) != NULL) {
        if ((rc = parse_gs1(code, len, 0, b, p)) != SL_OK)
            return rc;
        goto sku_rules;
    }
    if (digits(code, len) && (len == 8 || len == 12 || len == 13 || len == 14)) {
        if (!sl__gs1_check_ok(code, len))
            return bad(p, "barcode", "bad GS1 check digit (EAN/UPC/GTIN)");
        set_gtin(b, code, len);
        goto sku_rules;
    }
    if (len > SL_SKU_MAX)
        return bad(p, "sku", "longer than 64 bytes");
    memcpy(b->sku, code, len);
    b->sku[len] = '\0';
sku_rules:
    return sl__check_sku(b->sku, "sku", p);
}

int sl__barcode_qty(const char *code, const char *prefix, int64_t *qty_milli)
{
    size_t pl = strlen(prefix);
    if (pl == 0 || strncmp(code, prefix, pl) != 0)
        return 0;
    const char *d = code + pl;
    size_t n = strlen(d);
    if (n == 0 || n > 7 || !digits(d, n))
        return -1;
    int64_t q = 0;
    for (size_t i = 0; i < n; i++)
        q = q * 10 + (d[i] - '0');
    if (q < 1 || q > SL_QTY_MAX / 1000)
        return -1;
    *qty_milli = q * 1000;
    return 1;
}
