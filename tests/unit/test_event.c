/*
 * test_event - validation rules (agent/event.c) through the JSON input path
 * (agent/json_event.c), plus line amounts and totals.  docs/PROTOCOL.md
 * "Event rules" and "JSON input".
 *
 * The rule table below is fed to sl__json_parse_event() and then, if that
 * succeeds, to sl_event_validate(): exactly what `storelink record` does.
 * JSON in the table is written with single quotes for readability; they are
 * turned into double quotes before parsing (no test string needs a ').
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "json_event.h"
#include "storelink.h"

/* ---- building blocks for the table ----------------------------------- */

#define SALE_HEAD "'kind':'sale','txn_id':'T-1','currency':'EUR'"
#define LINE1 "{'sku':'A-1','qty':2,'unit_price':500}"          /* 1000 */
#define LINES1 "'lines':[" LINE1 "]"
#define PAY1000 "'tenders':[{'method':'cash','amount':1000}]"
#define SALE "{" SALE_HEAD "," LINES1 "," PAY1000 "}"
/* a sale with one line and tender that differ from SALE */
#define SALE_L(line, pay) "{" SALE_HEAD ",'lines':[" line "],'tenders':[" pay "]}"
/* a sale with txn_id t */
#define SALE_TXN(t) "{'kind':'sale','txn_id':'" t "','currency':'EUR'," LINES1 "," PAY1000 "}"
/* a sale with one SKU */
#define SALE_SKU(s) SALE_L("{'sku':'" s "','qty':2,'unit_price':500}", \
                           "{'method':'cash','amount':1000}")

#define RET_HEAD "'kind':'return','txn_id':'R-1','original_txn_id':'T-1','currency':'EUR'"
#define RLINE "{'sku':'A-1','qty':1,'unit_price':500,'disposition':'restock'}"   /* 500 */
#define RET_L(line, refunds) "{" RET_HEAD ",'lines':[" line "],'refunds':[" refunds "]}"
#define RETURN RET_L(RLINE, "{'method':'card','amount':500}")

#define ADJ(reason, lines) "{'kind':'adjustment','txn_id':'A-1','reason':'" reason "'," \
                           "'lines':[" lines "]}"
#define ADJ_LOC(loc) "{'kind':'adjustment','txn_id':'A-1','reason':'damage','location':'" loc \
                     "','lines':[{'sku':'A-1','qty':-1}]}"

#define CARD "4111111111111111"

#define S64 "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"

enum {
    NODIGITS = 1,   /* neither field nor reason may echo the card number */
};

struct rule {
    const char *name;
    const char *json;
    int rc;                /* SL_OK or SL_ERR_INVALID */
    const char *field;     /* exact field path on failure */
    const char *reason;    /* substring of the reason on failure */
    int64_t total;         /* accepted sales/returns: the event total; -1 skip */
    size_t pad_to;         /* pad the JSON with spaces to this many bytes */
    int flags;
};

#define OK(name, json, total) {name, json, SL_OK, NULL, NULL, total, 0, 0}
#define BAD(name, json, field, reason) {name, json, SL_ERR_INVALID, field, reason, -1, 0, 0}
#define BADCARD(name, json, field) \
    {name, json, SL_ERR_INVALID, field, "payment card", -1, 0, NODIGITS}

static const struct rule rules[] = {
    /* accepted events */
    OK("valid sale", SALE, 1000),
    OK("valid return", RETURN, 500),
    OK("valid damage adjustment", ADJ("damage", "{'sku':'A-1','qty':-1.5}"), 0),
    OK("count with expected and zero counted", ADJ("count", "{'sku':'A-1','qty':0,'expected':2.5}"),
       0),
    OK("receive with location", "{'kind':'adjustment','txn_id':'A-2','reason':'receive',"
       "'location':'Dock 2','lines':[{'sku':'A-1','qty':24}]}", 0),
    OK("weighed qty with 3 decimals", SALE_L("{'sku':'BAN','qty':1.234,'unit_price':1000}",
       "{'method':'card','amount':1234}"), 1234),
    OK("discount and tax added", SALE_L("{'sku':'A-1','qty':1,'unit_price':1000,'discount':100,"
       "'tax':90}", "{'method':'card','amount':990}"), 990),
    OK("explicit ts", "{" SALE_HEAD ",'ts':1763893200000," LINES1 "," PAY1000 "}", 1000),

    /* missing fields */
    BAD("missing kind", "{'txn_id':'T-1','currency':'EUR'," LINES1 "," PAY1000 "}",
        "kind", "is required"),
    BAD("missing txn_id", "{'kind':'sale','currency':'EUR'," LINES1 "," PAY1000 "}",
        "txn_id", "is required"),
    BAD("missing currency", "{'kind':'sale','txn_id':'T-1'," LINES1 "," PAY1000 "}",
        "currency", "is required"),
    BAD("empty currency", "{'kind':'sale','txn_id':'T-1','currency':''," LINES1 "," PAY1000 "}",
        "currency", "is required"),
    BAD("missing lines", "{" SALE_HEAD "," PAY1000 "}", "lines", "is required"),
    BAD("missing tenders", "{" SALE_HEAD "," LINES1 "}", "tenders", "is required"),
    BAD("missing refunds", "{" RET_HEAD ",'lines':[" RLINE "]}", "refunds", "is required"),
    BAD("missing line sku", SALE_L("{'qty':2,'unit_price':500}", "{'method':'cash','amount':1000}"),
        "lines[0].sku", "is required"),
    BAD("missing line qty", SALE_L("{'sku':'A-1','unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].qty", "is required"),
    BAD("missing unit_price", SALE_L("{'sku':'A-1','qty':2}", "{'method':'cash','amount':1000}"),
        "lines[0].unit_price", "is required"),
    BAD("missing tender amount", SALE_L(LINE1, "{'method':'cash'}"), "tenders[0].amount",
        "is required"),
    BAD("missing tender method", SALE_L(LINE1, "{'amount':1000}"), "tenders[0].method",
        "is required"),
    BAD("empty txn_id", SALE_TXN(""), "txn_id", "is required"),

    /* unknown fields */
    BAD("unknown top-level field", "{" SALE_HEAD ",'colour':'red'," LINES1 "," PAY1000 "}",
        "colour", "unknown field"),
    BAD("unknown line field", SALE_L("{'sku':'A-1','qty':2,'unit_price':500,'colour':1}",
        "{'method':'cash','amount':1000}"), "lines[0].colour", "unknown field"),
    BAD("unknown tender field", SALE_L(LINE1, "{'method':'cash','amount':1000,'note':'x'}"),
        "tenders[0].note", "unknown field"),
    BAD("currency on an adjustment", "{'kind':'adjustment','txn_id':'A-1','reason':'damage',"
        "'currency':'EUR','lines':[{'sku':'A-1','qty':-1}]}", "currency", "unknown field"),
    BAD("disposition on a sale line", SALE_L("{'sku':'A-1','qty':2,'unit_price':500,"
        "'disposition':'restock'}", "{'method':'cash','amount':1000}"), "lines[0].disposition",
        "unknown field"),
    BAD("tenders on a return", "{" RET_HEAD ",'lines':[" RLINE "],'tenders':[]}", "tenders",
        "unknown field"),
    {"card number as a field name", "{" SALE_HEAD ",'" CARD "':1," LINES1 "," PAY1000 "}",
     SL_ERR_INVALID, "(unnamed)", "unknown field", -1, 0, NODIGITS},

    /* kind */
    BAD("unknown kind", "{'kind':'refund','txn_id':'T-1','currency':'EUR'," LINES1 "," PAY1000
        "}", "kind", "must be sale, return or adjustment"),

    /* wrong types */
    BAD("event is an array", "[1,2]", "event", "must be a JSON object"),
    BAD("kind is a number", "{'kind':1}", "kind", "must be a string"),
    BAD("txn_id is a number", "{'kind':'sale','txn_id':5,'currency':'EUR'," LINES1 "," PAY1000
        "}", "txn_id", "must be a string"),
    BAD("qty is a string", SALE_L("{'sku':'A-1','qty':'2','unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].qty", "must be a number"),
    BAD("unit_price is a string", SALE_L("{'sku':'A-1','qty':2,'unit_price':'500'}",
        "{'method':'cash','amount':1000}"), "lines[0].unit_price", "must be a number"),
    BAD("lines is an object", "{" SALE_HEAD ",'lines':{}," PAY1000 "}", "lines",
        "must be an array"),
    BAD("line is a string", SALE_L("'A-1'", "{'method':'cash','amount':1000}"), "lines[0]",
        "must be an object"),
    BAD("tenders is a number", "{" SALE_HEAD "," LINES1 ",'tenders':1000}", "tenders",
        "must be an array"),
    BAD("tax_included is a string", "{" SALE_HEAD ",'tax_included':'yes'," LINES1 "," PAY1000
        "}", "tax_included", "must be true or false"),
    BAD("ts is a string", "{" SALE_HEAD ",'ts':'now'," LINES1 "," PAY1000 "}", "ts",
        "must be an integer"),
    BAD("sku is a number", SALE_L("{'sku':42,'qty':2,'unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].sku", "must be a string"),

    /* lines and quantities */
    BAD("empty lines", "{" SALE_HEAD ",'lines':[]," PAY1000 "}", "lines", "must not be empty"),
    BAD("zero qty", SALE_L("{'sku':'A-1','qty':0,'unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].qty", "must not be zero"),
    BAD("zero qty as 0.0", SALE_L("{'sku':'A-1','qty':0.0,'unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].qty", "must not be zero"),
    BAD("negative qty on a sale", SALE_L("{'sku':'A-1','qty':-2,'unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].qty", "must be positive"),
    BAD("qty with 4 decimals", SALE_L("{'sku':'A-1','qty':1.2345,'unit_price':500}",
        "{'method':'cash','amount':1000}"), "lines[0].qty", "more than 3 decimals"),
    BAD("qty over a million units", SALE_L("{'sku':'A-1','qty':1000001,'unit_price':1}",
        "{'method':'cash','amount':1000001}"), "lines[0].qty", "exceeds"),
    BAD("error on the second line", "{" SALE_HEAD ",'lines':[" LINE1 ",{'sku':'B','qty':0,"
        "'unit_price':1}]," PAY1000 "}", "lines[1].qty", "must not be zero"),

    /* money */
    BAD("unit_price 1.5", SALE_L("{'sku':'A-1','qty':2,'unit_price':1.5}",
        "{'method':'cash','amount':1000}"), "lines[0].unit_price", "integer number of minor units"),
    BAD("unit_price 199.0", SALE_L("{'sku':'A-1','qty':2,'unit_price':199.0}",
        "{'method':'cash','amount':1000}"), "lines[0].unit_price", "integer number of minor units"),
    BAD("tender amount 1000.0", SALE_L(LINE1, "{'method':'cash','amount':1000.0}"),
        "tenders[0].amount", "integer number of minor units"),
    BAD("negative unit_price", SALE_L("{'sku':'A-1','qty':2,'unit_price':-500}",
        "{'method':'cash','amount':1000}"), "lines[0].unit_price", "must not be negative"),
    BAD("negative discount", SALE_L("{'sku':'A-1','qty':2,'unit_price':500,'discount':-1}",
        "{'method':'cash','amount':1000}"), "lines[0].discount", "must not be negative"),
    BAD("negative tax", SALE_L("{'sku':'A-1','qty':2,'unit_price':500,'tax':-1}",
        "{'method':'cash','amount':1000}"), "lines[0].tax", "must not be negative"),
    BAD("negative tender", SALE_L(LINE1, "{'method':'cash','amount':-1000}"),
        "tenders[0].amount", "must not be negative"),
    BAD("zero tender", SALE_L(LINE1, "{'method':'cash','amount':1000},{'method':'card',"
        "'amount':0}"), "tenders[1].amount", "must not be zero"),
    BAD("unit_price over 10^11", SALE_L("{'sku':'A-1','qty':1,'unit_price':100000000001}",
        "{'method':'cash','amount':1000}"), "lines[0].unit_price", "exceeds"),
    BAD("discount over the line value", SALE_L("{'sku':'A-1','qty':1,'unit_price':10,"
        "'discount':11}", "{'method':'cash','amount':1}"), "lines[0].discount",
        "exceeds the line value"),
    BAD("tender method with capitals", SALE_L(LINE1, "{'method':'Cash','amount':1000}"),
        "tenders[0].method", "a-z, 0-9 and _"),

    /* currency */
    BAD("currency eur", "{'kind':'sale','txn_id':'T-1','currency':'eur'," LINES1 "," PAY1000
        "}", "currency", "3 upper-case letters"),
    BAD("currency EURO", "{'kind':'sale','txn_id':'T-1','currency':'EURO'," LINES1 "," PAY1000
        "}", "currency", "longer than 3 bytes"),
    BAD("currency EU", "{'kind':'sale','txn_id':'T-1','currency':'EU'," LINES1 "," PAY1000 "}",
        "currency", "3 upper-case letters"),

    /* SKU */
    BAD("empty sku", SALE_SKU(""), "lines[0].sku", "must not be empty"),
    OK("64-byte sku", SALE_SKU(S64), 1000),
    BAD("65-byte sku", SALE_SKU(S64 "S"), "lines[0].sku", "longer than 64 bytes"),
    BAD("sku with BEL", SALE_SKU("AB\\u0007C"), "lines[0].sku", "control characters"),
    BAD("sku with a tab", SALE_SKU("AB\\tC"), "lines[0].sku", "control characters"),
    BAD("sku with DEL", SALE_SKU("AB\\u007fC"), "lines[0].sku", "control characters"),
    BAD("sku with C1 NEL", SALE_SKU("AB\\u0085C"), "lines[0].sku", "control characters"),
    OK("sku with non-ASCII letters", SALE_SKU("K\\u00e4se-500g"), 1000),

    /* tenders and refunds */
    BAD("tenders do not cover the total", SALE_L(LINE1, "{'method':'cash','amount':999}"),
        "tenders", "cover 999 of the total 1000"),
    BAD("non-cash tenders exceed the total", SALE_L(LINE1, "{'method':'card','amount':1001}"),
        "tenders", "non-cash"),
    BAD("card and voucher exceed the total", SALE_L(LINE1, "{'method':'card','amount':600},"
        "{'method':'voucher','amount':500}"), "tenders", "non-cash"),
    OK("cash over the total (change given)", SALE_L(LINE1, "{'method':'cash','amount':2000}"),
       1000),
    OK("card plus cash over the total", SALE_L(LINE1, "{'method':'card','amount':1000},"
       "{'method':'cash','amount':500}"), 1000),
    BAD("return without original_txn_id", "{'kind':'return','txn_id':'R-1','currency':'EUR',"
        "'lines':[" RLINE "],'refunds':[{'method':'card','amount':500}]}", "original_txn_id",
        "is required"),
    BAD("return with empty original_txn_id", "{'kind':'return','txn_id':'R-1',"
        "'original_txn_id':'','currency':'EUR','lines':[" RLINE "],'refunds':[{'method':'card',"
        "'amount':500}]}", "original_txn_id", "is required"),
    BAD("return refunds below the total", RET_L(RLINE, "{'method':'card','amount':400}"),
        "refunds", "sum to 400 but the return total is 500"),
    BAD("return refunds above the total", RET_L(RLINE, "{'method':'cash','amount':600}"),
        "refunds", "sum to 600"),
    BAD("return line without disposition", RET_L("{'sku':'A-1','qty':1,'unit_price':500}",
        "{'method':'card','amount':500}"), "lines[0].disposition", "is required"),
    BAD("return line with unknown disposition", RET_L("{'sku':'A-1','qty':1,'unit_price':500,"
        "'disposition':'lost'}", "{'method':'card','amount':500}"), "lines[0].disposition",
        "must be restock or damaged"),

    /* adjustments */
    BAD("adjustment without reason", "{'kind':'adjustment','txn_id':'A-1',"
        "'lines':[{'sku':'A-1','qty':-1}]}", "reason", "is required"),
    BAD("adjustment with unknown reason", ADJ("theft", "{'sku':'A-1','qty':-1}"), "reason",
        "must be receive, damage"),
    BAD("damage with positive qty", ADJ("damage", "{'sku':'A-1','qty':1}"), "lines[0].qty",
        "must be negative for reason damage"),
    BAD("shrink with positive qty", ADJ("shrink", "{'sku':'A-1','qty':0.5}"), "lines[0].qty",
        "must be negative for reason shrink"),
    BAD("receive with negative qty", ADJ("receive", "{'sku':'A-1','qty':-1}"), "lines[0].qty",
        "must be positive for reason receive"),
    BAD("count with negative qty", ADJ("count", "{'sku':'A-1','qty':-1}"), "lines[0].qty",
        "must not be negative"),
    BAD("expected on a damage line", ADJ("damage", "{'sku':'A-1','qty':-1,'expected':3}"),
        "lines[0].expected", "count adjustments only"),
    BAD("price on an adjustment line", ADJ("damage", "{'sku':'A-1','qty':-1,'unit_price':5}"),
        "lines[0].unit_price", "unknown field"),

    /* encoding, size and syntax */
    BAD("invalid UTF-8 in a string", "{'kind':'sale','txn_id':'T-\xc3\x28','currency':'EUR',"
        LINES1 "," PAY1000 "}", "event", "not valid UTF-8"),
    BAD("overlong UTF-8 in a sku", SALE_SKU("A\xc0\xaf" "B"), "event", "not valid UTF-8"),
    BAD("duplicate top-level key", "{'kind':'sale','kind':'sale','txn_id':'T-1',"
        "'currency':'EUR'," LINES1 "," PAY1000 "}", "event", "duplicate"),
    BAD("duplicate key in a line", SALE_L("{'sku':'A-1','qty':2,'qty':3,'unit_price':500}",
        "{'method':'cash','amount':1000}"), "event", "duplicate"),
    BAD("truncated JSON", "{'kind':'sale','txn_id':", "event", "not valid JSON"),
    {"event of exactly 16 KiB", SALE, SL_OK, NULL, NULL, 1000, SL_EVENT_JSON_MAX, 0},
    {"event over 16 KiB", SALE, SL_ERR_INVALID, "event", "larger than 16384 bytes", -1,
     SL_EVENT_JSON_MAX + 1, 0},
    BAD("ts before 2000", "{" SALE_HEAD ",'ts':1000," LINES1 "," PAY1000 "}", "ts",
        "between 2000 and 2100"),
    BAD("negative ts", "{" SALE_HEAD ",'ts':-5," LINES1 "," PAY1000 "}", "ts",
        "between 2000 and 2100"),
    BAD("ts at 2100", "{" SALE_HEAD ",'ts':4102444800000," LINES1 ","
        PAY1000 "}", "ts", "between 2000 and 2100"),

    /* payment card data (PCI DSS): rejected wherever free text goes, and the
     * number is never echoed */
    BADCARD("card number in txn_id", SALE_TXN(CARD), "txn_id"),
    BADCARD("spaced card number in txn_id", SALE_TXN("4111 1111 1111 1111"), "txn_id"),
    BADCARD("dashed card number in txn_id", SALE_TXN("4111-1111-1111-1111"), "txn_id"),
    BADCARD("card number after other digits in txn_id", SALE_TXN("POS 1 " CARD), "txn_id"),
    BADCARD("card number before other digits in txn_id", SALE_TXN(CARD " 7"), "txn_id"),
    BADCARD("card number in original_txn_id", "{'kind':'return','txn_id':'R-1',"
            "'original_txn_id':'" CARD "','currency':'EUR','lines':[" RLINE "],"
            "'refunds':[{'method':'card','amount':500}]}", "original_txn_id"),
    BADCARD("card number in location", ADJ_LOC(CARD), "location"),
    BADCARD("spaced card number in location", ADJ_LOC("4111 1111 1111 1111"), "location"),
    BADCARD("grouped card number after an aisle number", ADJ_LOC("Aisle 12 4111-1111-1111-1111"),
            "location"),
    BADCARD("Amex 4-6-5 in location", ADJ_LOC("3782 822463 10005"), "location"),
    BADCARD("track 2 data in location", ADJ_LOC(";" CARD "=2512101"), "location"),
    BADCARD("track 2 data with a bad check digit", ADJ_LOC(";4111111111111112=2512101"),
            "location"),
    BADCARD("track 2 data in txn_id", SALE_TXN(";" CARD "=2512101"), "txn_id"),
    BADCARD("card number in a sku", SALE_SKU(CARD), "lines[0].sku"),
    BADCARD("spaced card number in a sku", SALE_SKU("4111 1111 1111 1111"), "lines[0].sku"),
    BADCARD("13-digit Luhn number with a wrong GS1 check digit in a sku",
            SALE_SKU("4222222222222"), "lines[0].sku"),
    BADCARD("13-digit Luhn number with a wrong GS1 check digit (2)",
            SALE_SKU("4006381333932"), "lines[0].sku"),
    {"invalid JSON quoting a card number", "{'kind':'sale','txn_id':" CARD "x}", SL_ERR_INVALID,
     "event", "not valid JSON", -1, 0, 0},

    /* product codes that happen to be Luhn-valid are not card numbers */
    OK("GS1 example EAN-13 (also Luhn-valid)", SALE_SKU("5901234123457"), 1000),
    OK("EAN-13 valid for both GS1 and Luhn", SALE_SKU("4006381334013"), 1000),
    OK("EAN-8", SALE_SKU("96385074"), 1000),
    OK("UPC-A", SALE_SKU("036000291452"), 1000),
    OK("GTIN-14 (also Luhn-valid)", SALE_SKU("10012345678919"), 1000),
    OK("16 digits failing Luhn", SALE_TXN("4111111111111112"), 1000),
    /* dated ids must not be read as one long number across their dashes
     * (the old rule joined them and rejected about one in ten) */
    OK("dated txn_id 000009", SALE_TXN("POS1-20240115-000009"), 1000),
    OK("dated txn_id 000017", SALE_TXN("POS1-20240115-000017"), 1000),
    OK("dated location", ADJ_LOC("2024-01-15 000123 4567"), 0),

    /* amounts */
    OK("tax_included: 3 x 333 with tax 50 included", "{" SALE_HEAD ",'tax_included':true,"
       "'lines':[{'sku':'A-1','qty':3,'unit_price':333,'tax':50}],'tenders':[{'method':'card',"
       "'amount':999}]}", 999),
    OK("tax added: 3 x 333 + tax 50", SALE_L("{'sku':'A-1','qty':3,'unit_price':333,'tax':50}",
       "{'method':'card','amount':1049}"), 1049),
    BAD("tax_included: tender counting the tax twice", "{" SALE_HEAD ",'tax_included':true,"
        "'lines':[{'sku':'A-1','qty':3,'unit_price':333,'tax':50}],'tenders':[{'method':'card',"
        "'amount':1049}]}", "tenders", "non-cash"),
    BAD("tax_included: tax above the line amount", "{" SALE_HEAD ",'tax_included':true,"
        "'lines':[{'sku':'A-1','qty':1,'unit_price':10,'tax':50}],'tenders':[{'method':'card',"
        "'amount':10}]}", "lines[0].tax", "exceeds the tax-inclusive line amount"),
    BAD("tax_included on an adjustment", "{'kind':'adjustment','txn_id':'A-1','reason':'damage',"
        "'tax_included':true,'lines':[{'sku':'A-1','qty':-1}]}", "tax_included", "unknown field"),
    OK("rounding: 0.5 x 3 = 1.5 -> 2", SALE_L("{'sku':'A-1','qty':0.5,'unit_price':3}",
       "{'method':'card','amount':2}"), 2),
    BAD("rounding: 0.5 x 3 is not 1", SALE_L("{'sku':'A-1','qty':0.5,'unit_price':3}",
        "{'method':'card','amount':1}"), "tenders", "cover 1 of the total 2"),
    OK("rounding: 0.333 x 3 = 0.999 -> 1", SALE_L("{'sku':'A-1','qty':0.333,'unit_price':3}",
       "{'method':'card','amount':1}"), 1),
};

/* ' -> " and optional space padding; heap string */
static char *to_json(const char *t, size_t pad_to, size_t *len)
{
    size_t n = strlen(t), cap = n > pad_to ? n : pad_to;
    char *s = malloc(cap + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = t[i] == '\'' ? '"' : t[i];
    memset(s + n, ' ', cap - n);
    s[cap] = '\0';
    *len = cap;
    return s;
}

static int has_digit(const char *s)
{
    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            return 1;
    return 0;
}

static void test_rule_table(void **state)
{
    (void)state;
    sl_event *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    int failures = 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        size_t len;
        char *json = to_json(r->json, r->pad_to, &len);
        sl_problem p;
        memset(&p, 0, sizeof p);
        int rc = sl__json_parse_event(json, len, ev, &p);
        if (rc == SL_OK)
            rc = sl_event_validate(ev, &p);
        int bad = 0;
        if (rc != r->rc) {
            bad = 1;
        } else if (rc != SL_OK) {
            if (strcmp(p.field, r->field) != 0 || strstr(p.reason, r->reason) == NULL)
                bad = 1;
            if (r->flags & NODIGITS)
                if (has_digit(p.reason) || strstr(p.field, "1111") != NULL)
                    bad = 1;
            /* no message ever quotes a card number */
            if (strstr(p.reason, "4111") != NULL || strstr(p.field, "4111") != NULL)
                bad = 1;
        } else if (r->total >= 0) {
            int64_t total = -1;
            if (sl_event_total(ev, &total) != SL_OK || total != r->total) {
                print_message("# total %lld, want %lld\n", (long long)total,
                              (long long)r->total);
                bad = 1;
            }
        }
        if (bad) {
            print_message("# rule \"%s\": rc %d field \"%s\" reason \"%s\"; want rc %d field "
                          "\"%s\" reason containing \"%s\"\n", r->name, rc,
                          rc ? p.field : "", rc ? p.reason : "", r->rc,
                          r->field ? r->field : "", r->reason ? r->reason : "");
            failures++;
        }
        free(json);
    }
    free(ev);
    assert_int_equal(failures, 0);
}

/* Accepted JSON fills the struct as documented. */
static void test_parse_fields(void **state)
{
    (void)state;
    sl_event *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    sl_problem p;
    size_t len;
    char *json = to_json("{'kind':'return','txn_id':'R-9','ts':1763893200000,'currency':'SEK',"
                         "'tax_included':true,'original_txn_id':'T-7','lines':[{'sku':'A',"
                         "'qty':1.5,'unit_price':1000,'discount':100,'tax':300,'disposition':"
                         "'damaged'}],'refunds':[{'method':'card','amount':1400}]}", 0, &len);
    assert_int_equal(sl__json_parse_event(json, len, ev, &p), SL_OK);
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);
    assert_int_equal(ev->kind, SL_KIND_RETURN);
    assert_string_equal(ev->txn_id, "R-9");
    assert_int_equal(ev->ts_ms, 1763893200000LL);
    assert_string_equal(ev->currency, "SEK");
    assert_int_equal(ev->flags, SL_FLAG_TAX_INCLUDED);
    assert_string_equal(ev->original_txn_id, "T-7");
    assert_int_equal(ev->n_lines, 1);
    assert_int_equal(ev->lines[0].qty_milli, 1500);
    assert_int_equal(ev->lines[0].unit_price, 1000);
    assert_int_equal(ev->lines[0].discount, 100);
    assert_int_equal(ev->lines[0].tax, 300);
    assert_int_equal(ev->lines[0].disposition, SL_DISP_DAMAGED);
    assert_int_equal(ev->n_tenders, 1);
    assert_string_equal(ev->tenders[0].method, "card");
    assert_int_equal(ev->tenders[0].amount, 1400);
    free(json);

    json = to_json(ADJ("count", "{'sku':'A','qty':1.234,'expected':-2}"), 0, &len);
    assert_int_equal(sl__json_parse_event(json, len, ev, &p), SL_OK);
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);
    assert_int_equal(ev->reason, SL_REASON_COUNT);
    assert_int_equal(ev->lines[0].qty_milli, 1234);
    assert_int_equal(ev->lines[0].has_expected, 1);
    assert_int_equal(ev->lines[0].expected_milli, -2000);
    assert_string_equal(ev->currency, "");
    free(json);
    free(ev);
}

/* ---- amounts -------------------------------------------------------- */

static void test_line_amount(void **state)
{
    (void)state;
    static const struct {
        int64_t qty, price, discount, tax;
        uint32_t flags;
        int rc;
        int64_t amount;
    } cases[] = {
        {500, 3, 0, 0, 0, SL_OK, 2},          /* 1.5 -> 2 */
        {2500, 1, 0, 0, 0, SL_OK, 3},         /* 2.5 -> 3, not to even */
        {1499, 1, 0, 0, 0, SL_OK, 1},
        {1500, 1, 0, 0, 0, SL_OK, 2},
        {-500, 3, 0, 0, 0, SL_OK, -2},        /* -1.5 -> -2: away from zero */
        {-1499, 1, 0, 0, 0, SL_OK, -1},
        {333, 3, 0, 0, 0, SL_OK, 1},          /* 0.999 -> 1 */
        {1000, 0, 0, 0, 0, SL_OK, 0},
        {2000, 500, 0, 0, 0, SL_OK, 1000},
        {1000, 1000, 100, 90, 0, SL_OK, 990},
        {3000, 333, 0, 50, 0, SL_OK, 1049},   /* tax added */
        {3000, 333, 0, 50, SL_FLAG_TAX_INCLUDED, SL_OK, 999},
        {3000, 333, 99, 50, SL_FLAG_TAX_INCLUDED, SL_OK, 900},
        {1234, 249, 0, 0, 0, SL_OK, 307},     /* 307.266 */
        {SL_QTY_MAX, SL_MONEY_MAX / 1000, 0, 0, 0, SL_OK, SL_MONEY_MAX / 1000 * 1000000},
        {INT64_MAX, 2, 0, 0, 0, SL_ERR_TOO_LARGE, 0},
        {2, INT64_MAX, 0, 0, 0, SL_ERR_TOO_LARGE, 0},
        {1000, 0, INT64_MIN, 0, 0, SL_ERR_TOO_LARGE, 0},
        {1000, INT64_MAX / 1000, 0, INT64_MAX, 0, SL_ERR_TOO_LARGE, 0},
    };
    sl_event *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_event_init(ev, SL_KIND_SALE, "T");
        ev->flags = cases[i].flags;
        assert_int_equal(sl_event_add_line(ev, "A", cases[i].qty, cases[i].price,
                                           cases[i].discount, cases[i].tax), SL_OK);
        int64_t amount = 12345;
        int rc = sl_line_amount(ev, &ev->lines[0], &amount);
        if (rc != cases[i].rc || (rc == SL_OK && amount != cases[i].amount))
            fail_msg("case %zu: rc %d amount %lld, want rc %d amount %lld", i, rc,
                     (long long)amount, cases[i].rc, (long long)cases[i].amount);
    }
    free(ev);
}

static void test_event_total(void **state)
{
    (void)state;
    sl_event *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    int64_t total = -1;

    sl_event_init(ev, SL_KIND_SALE, "T");
    assert_int_equal(sl_event_total(ev, &total), SL_OK);
    assert_int_equal(total, 0);

    assert_int_equal(sl_event_add_line(ev, "A", 500, 3, 0, 0), SL_OK);      /* 2 */
    assert_int_equal(sl_event_add_line(ev, "B", 500, 3, 0, 0), SL_OK);      /* 2, not 3 */
    assert_int_equal(sl_event_add_line(ev, "C", 3000, 333, 0, 50), SL_OK); /* 1049 */
    assert_int_equal(sl_event_total(ev, &total), SL_OK);
    assert_int_equal(total, 2 + 2 + 1049);   /* each line is rounded on its own */

    ev->flags = SL_FLAG_TAX_INCLUDED;
    assert_int_equal(sl_event_total(ev, &total), SL_OK);
    assert_int_equal(total, 2 + 2 + 999);

    /* overflow in the sum, and in one line, leave *total alone */
    sl_event_init(ev, SL_KIND_SALE, "T");
    assert_int_equal(sl_event_add_line(ev, "A", 1000, 1, 0, INT64_MAX - 10), SL_OK);
    assert_int_equal(sl_event_add_line(ev, "B", 1000, 1, 0, INT64_MAX - 10), SL_OK);
    total = 77;
    assert_int_equal(sl_event_total(ev, &total), SL_ERR_TOO_LARGE);
    assert_int_equal(total, 77);
    sl_event_init(ev, SL_KIND_SALE, "T");
    assert_int_equal(sl_event_add_line(ev, "A", 1000, 1, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_line(ev, "B", INT64_MAX, 2, 0, 0), SL_OK);
    assert_int_equal(sl_event_total(ev, &total), SL_ERR_TOO_LARGE);
    assert_int_equal(total, 77);
    free(ev);
}

/* ---- the C API path ------------------------------------------------- */

static sl_event *api_sale(void)
{
    sl_event *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    sl_event_init(ev, SL_KIND_SALE, "T-1");
    memcpy(ev->currency, "EUR", 4);
    assert_int_equal(sl_event_add_line(ev, "A-1", 2000, 500, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "cash", 1000), SL_OK);
    return ev;
}

static void expect_invalid(const sl_event *ev, const char *field, const char *reason)
{
    sl_problem p;
    memset(&p, 0, sizeof p);
    assert_int_equal(sl_event_validate(ev, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, field);
    if (strstr(p.reason, reason) == NULL)
        fail_msg("reason \"%s\" does not contain \"%s\"", p.reason, reason);
    /* a NULL problem is allowed */
    assert_int_equal(sl_event_validate(ev, NULL), SL_ERR_INVALID);
}

/* Rules the JSON path cannot reach (its parser already refuses the input). */
static void test_validate_struct_rules(void **state)
{
    (void)state;
    sl_event *ev = api_sale();
    sl_problem p;
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);

    ev->kind = (sl_kind)7;
    expect_invalid(ev, "kind", "must be sale, return or adjustment");
    ev->kind = SL_KIND_NONE;
    expect_invalid(ev, "kind", "must be sale, return or adjustment");
    free(ev);

    ev = api_sale();
    ev->flags = 0x80;
    expect_invalid(ev, "flags", "unknown bits");
    free(ev);

    ev = api_sale();
    ev->txn_id[0] = '\t';
    expect_invalid(ev, "txn_id", "printable ASCII");
    free(ev);

    ev = api_sale();
    ev->lines[0].has_expected = 1;
    expect_invalid(ev, "lines[0].expected", "count adjustments only");
    free(ev);

    ev = api_sale();
    ev->lines[0].disposition = SL_DISP_RESTOCK;
    expect_invalid(ev, "lines[0].disposition", "return lines only");
    free(ev);

    ev = api_sale();
    ev->reason = SL_REASON_DAMAGE;
    expect_invalid(ev, "reason", "adjustments only");
    free(ev);

    ev = api_sale();
    snprintf(ev->location, sizeof ev->location, "Aisle 1");
    expect_invalid(ev, "location", "adjustments only");
    free(ev);

    ev = api_sale();
    snprintf(ev->original_txn_id, sizeof ev->original_txn_id, "T-0");
    expect_invalid(ev, "original_txn_id", "returns only");
    free(ev);

    ev = api_sale();
    ev->n_lines = SL_MAX_LINES + 1;
    expect_invalid(ev, "lines", "more than 200 lines");
    free(ev);

    ev = api_sale();
    ev->n_tenders = SL_MAX_TENDERS + 1;
    expect_invalid(ev, "tenders", "more than 8 entries");
    free(ev);

    ev = api_sale();
    ev->tenders[0].method[0] = '\0';
    expect_invalid(ev, "tenders[0].method", "must be 1-16 characters");
    free(ev);

    /* adjustment-only rules */
    ev = malloc(sizeof *ev);
    assert_non_null(ev);
    sl_event_init(ev, SL_KIND_ADJUSTMENT, "A-1");
    ev->reason = SL_REASON_DAMAGE;
    assert_int_equal(sl_event_add_line(ev, "A", -1000, 0, 0, 0), SL_OK);
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);
    ev->reason = (sl_reason)99;
    expect_invalid(ev, "reason", "not a known reason");
    ev->reason = SL_REASON_DAMAGE;
    memcpy(ev->currency, "EUR", 4);
    expect_invalid(ev, "currency", "not allowed on an adjustment");
    ev->currency[0] = '\0';
    ev->flags = SL_FLAG_TAX_INCLUDED;
    expect_invalid(ev, "tax_included", "not allowed on an adjustment");
    ev->flags = SL_FLAG_CLOCK_UNSYNC;
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "cash", 1), SL_OK);
    expect_invalid(ev, "tenders", "not allowed on an adjustment");
    ev->n_tenders = 0;
    ev->lines[0].unit_price = 5;
    expect_invalid(ev, "lines[0].unit_price", "not allowed on an adjustment");
    ev->lines[0].unit_price = 0;
    ev->lines[0].disposition = SL_DISP_DAMAGED;
    expect_invalid(ev, "lines[0].disposition", "return lines only");
    ev->lines[0].disposition = 0;
    ev->lines[0].qty_milli = 0;
    expect_invalid(ev, "lines[0].qty", "must not be zero");
    ev->lines[0].qty_milli = -SL_QTY_MAX - 1;
    expect_invalid(ev, "lines[0].qty", "exceeds");
    free(ev);
}

static void test_builder_limits(void **state)
{
    (void)state;
    sl_event *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    sl_event_init(ev, SL_KIND_SALE, "T-1");
    char sku[SL_SKU_MAX + 2];
    memset(sku, 'S', SL_SKU_MAX + 1);
    sku[SL_SKU_MAX + 1] = '\0';
    assert_int_equal(sl_event_add_line(ev, sku, 1000, 1, 0, 0), SL_ERR_TOO_LARGE);
    assert_int_equal(ev->n_lines, 0);
    sku[SL_SKU_MAX] = '\0';
    for (int i = 0; i < SL_MAX_LINES; i++)
        assert_int_equal(sl_event_add_line(ev, sku, 1000, 1, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_line(ev, "A", 1000, 1, 0, 0), SL_ERR_TOO_LARGE);
    assert_int_equal(ev->n_lines, SL_MAX_LINES);
    assert_int_equal(sl_event_add_tender(ev, "abcdefghijklmnopq", 1), SL_ERR_TOO_LARGE);
    for (int i = 0; i < SL_MAX_TENDERS; i++)
        assert_int_equal(sl_event_add_tender(ev, "cash", 25), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "cash", 1), SL_ERR_TOO_LARGE);
    assert_int_equal(ev->n_tenders, SL_MAX_TENDERS);
    /* 200 lines x 64-byte sku x 1 minor unit, paid by 8 x 25 */
    memcpy(ev->currency, "EUR", 4);
    sl_problem p;
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);

    /* sl_event_init starts from a clean state whatever the struct held */
    sl_event_init(ev, SL_KIND_RETURN, "R-1");
    assert_int_equal(ev->n_lines, 0);
    assert_int_equal(ev->n_tenders, 0);
    assert_int_equal(ev->flags, 0);
    assert_string_equal(ev->currency, "");
    free(ev);
}

/* ---- text helpers --------------------------------------------------- */

static void test_text_helpers(void **state)
{
    (void)state;
    static const struct { const char *s; int ok; } utf8[] = {
        {"plain", 1},
        {"K\xc3\xa4se", 1},                 /* ä */
        {"\xe2\x82\xac", 1},                 /* € */
        {"\xf0\x9f\x8d\x8c", 1},             /* banana, 4 bytes */
        {"\xc3\x28", 0},                     /* bad continuation */
        {"\xc0\xaf", 0},                     /* overlong '/' */
        {"\xe0\x80\xaf", 0},                 /* overlong, 3 bytes */
        {"\xed\xa0\x80", 0},                 /* surrogate D800 */
        {"\xf4\x90\x80\x80", 0},             /* beyond U+10FFFF */
        {"\xe2\x82", 0},                     /* truncated */
        {"\x80", 0},                         /* lone continuation */
        {"\xff", 0},
    };
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++)
        if (sl__utf8_valid(utf8[i].s, strlen(utf8[i].s)) != utf8[i].ok)
            fail_msg("utf8 case %zu", i);

    static const struct { const char *s; int gtin; } gtins[] = {
        {"5901234123457", 1}, {"5901234123458", 0}, {"96385074", 1}, {"96385075", 0},
        {"036000291452", 1}, {"10012345678919", 1}, {"10012345678910", 0},
        {"4006381333931", 1}, {"590123412345", 0} /* 12 digits, wrong check */,
        {"5901234123457X", 0}, {"1234567", 0}, {"123456789012345", 0},
    };
    for (size_t i = 0; i < sizeof gtins / sizeof gtins[0]; i++)
        if (sl__is_gtin(gtins[i].s, strlen(gtins[i].s)) != gtins[i].gtin)
            fail_msg("gtin case %zu (%s)", i, gtins[i].s);

    static const struct { const char *s; int card; } cards[] = {
        {CARD, 1},
        {"4111 1111 1111 1111", 1},
        {"4111-1111-1111-1111", 1},
        {"4111  1111 1111 1111", 0},         /* two spaces: separate runs */
        {"x" CARD "y", 1},
        {"4111111111111112", 0},
        {"411111111111", 0},                 /* 12 digits: too short */
        {"41111111111111111111", 0},         /* 20 digits: too long */
        {"4222222222222", 1},                /* 13-digit Visa test number */
        {"378282246310005", 1},              /* Amex test number */
        {"3782 822463 10005", 1},
        {"6011 1111 1111 1117", 1},
        {"4111 1111 1111 1111 7", 1},        /* then an unrelated digit */
        {"12 4111 1111 1111 1111", 1},       /* after an unrelated number */
        {";4111111111111112=2512101", 1},    /* track 2 */
        {"4111111111111112=2512101", 0},     /* no start sentinel: not track 2 */
        {"POS1-20240115-000009", 0},
        {"2024-01-15-000123-4567", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++)
        if (sl__has_card_data(cards[i].s, strlen(cards[i].s)) != cards[i].card)
            fail_msg("card case %zu (%s)", i, cards[i].s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_line_amount),
        cmocka_unit_test(test_event_total),
        cmocka_unit_test(test_validate_struct_rules),
        cmocka_unit_test(test_builder_limits),
        cmocka_unit_test(test_text_helpers),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
