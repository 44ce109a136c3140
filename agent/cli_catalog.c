/*
 * storelink price SKU [--at TIME] [--json]
 * storelink stock SKU [--json]
 *
 * Look-ups in the offline catalog (agent/catalog.c): read-only, no network,
 * so a till can check a price while the store is cut off.  Every answer says
 * which catalog version it comes from and how old that is, because an
 * offline device's catalog is only as fresh as its last update.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "timeparse.h"
#include "platform.h"

/* Unix ms from 0 to the end of 9999 */

int sl__cmd_price(sl_cli *c, int argc, char **argv);
int sl__cmd_stock(sl_cli *c, int argc, char **argv);




/* "3 h 12 min ago" (or "in the future" when the device clock is behind) */
static void age_text(int64_t now, int64_t then, char *out, size_t outsz)
{
    int64_t d = now - then;
    const char *sfx = d < 0 ? "in the future (device clock behind?)" : "ago";
    long long s = (long long)((d < 0 ? -d : d) / 1000);
    if (s < 60)
        snprintf(out, outsz, "%lld s %s", s, sfx);
    else if (s < 3600)
        snprintf(out, outsz, "%lld min %s", s / 60, sfx);
    else if (s < 86400)
        snprintf(out, outsz, "%lld h %lld min %s", s / 3600, s % 3600 / 60, sfx);
    else
        snprintf(out, outsz, "%lld d %lld h %s", s / 86400, s % 86400 / 3600, sfx);
}

/* "prices v12 for store s-1, issued 3 h 12 min ago" */
static void source_text(const char *type, uint64_t version, const char *scope, int64_t issued,
                        int64_t now, char *out, size_t outsz)
{
    char age[64];
    age_text(now, issued, age, sizeof age);
    if (strcmp(scope, SL_CAT_SCOPE_ALL) == 0)
        snprintf(out, outsz, "%s v%llu for all stores (chain-wide), issued %s", type,
                 (unsigned long long)version, age);
    else
        snprintf(out, outsz, "%s v%llu for store %s, issued %s", type, (unsigned long long)version,
                 scope, age);
}

/* milli-units as "37", "37.5", "-0.25" */
static void qty_text(int64_t milli, char *out, size_t outsz)
{
    uint64_t a = milli < 0 ? (uint64_t)(-(milli + 1)) + 1 : (uint64_t)milli;
    const char *sign = milli < 0 ? "-" : "";
    if (a % 1000 == 0) {
        snprintf(out, outsz, "%s%llu", sign, (unsigned long long)(a / 1000));
        return;
    }
    char frac[8];
    snprintf(frac, sizeof frac, "%03llu", (unsigned long long)(a % 1000));
    for (int i = 2; i > 0 && frac[i] == '0'; i--)
        frac[i] = '\0';
    snprintf(out, outsz, "%s%llu.%s", sign, (unsigned long long)(a / 1000), frac);
}

static int print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s == NULL) {
        sl__cli_err("%s", sl_strerror(SL_ERR_NOMEM));
        return EX_SOFTWARE_;
    }
    puts(s);
    free(s);
    return EX_OK_;
}

struct args {
    const char *sku;
    const char *at;
    int json;
};

static int parse_args(const char *cmd, const char *use, int allow_at, int argc, char **argv,
                      struct args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (allow_at && strcmp(argv[i], "--at") == 0) {
            if (i + 1 >= argc) {
                sl__cli_err("%s: --at needs a TIME (usage: %s)", cmd, use);
                return -1;
            }
            a->at = argv[++i];
        } else if (argv[i][0] != '-' && a->sku == NULL) {
            a->sku = argv[i];
        } else {
            sl__cli_err("%s: unexpected '%s' (usage: %s)", cmd, argv[i], use);
            return -1;
        }
    }
    if (a->sku == NULL) {
        sl__cli_err("%s: missing SKU (usage: %s)", cmd, use);
        return -1;
    }
    if (a->sku[0] == '\0' || strlen(a->sku) > SL_SKU_MAX) {
        sl__cli_err("%s: SKU must be 1-%d bytes", cmd, SL_SKU_MAX);
        return -1;
    }
    return 0;
}

static int open_catalog(sl_cli *c, const char *cmd, sl_catalog **cat)
{
    int rc = sl_catalog_open(cat, c->cfg.state_dir);
    if (rc == SL_ERR_NOT_FOUND)
        sl__cli_err("%s: no catalog in %s/catalog (no price or stock update received from the "
                    "hub yet)", cmd, c->cfg.state_dir);
    else if (rc != SL_OK)
        sl__cli_err("%s: cannot open the catalog in %s/catalog: %s", cmd, c->cfg.state_dir,
                    sl_strerror(rc));
    return rc;
}

int sl__cmd_price(sl_cli *c, int argc, char **argv)
{
    static const char use[] = "storelink price SKU [--at TIME] [--json]";
    struct args a;
    int64_t now = sl_plat_now_ms(), at = now;
    if (parse_args("price", use, 1, argc, argv, &a) != 0)
        return EX_USAGE_;
    if (a.at != NULL && sl__parse_time(a.at, &at) != 0) {
        sl__cli_err("price: --at: '%s' is not Unix ms or an ISO 8601 time with a zone "
                    "(2026-11-24T00:00:00Z)", a.at);
        return EX_USAGE_;
    }
    sl_catalog *cat;
    sl_price p;
    char when[40], src[192], m[48];
    int rc = open_catalog(c, "price", &cat);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    rc = sl_price_lookup(cat, a.sku, at, &p);
    sl_catalog_close(cat);
    sl_plat_format_utc(at, when, sizeof when);
    if (rc == SL_ERR_NOT_FOUND) {
        if (p.version == 0) {
            sl__cli_err("price: no price catalog received yet");
        } else {
            source_text("prices", p.version, p.scope, p.issued_at, now, src, sizeof src);
            sl__cli_err("price: no price for '%s' at %s (%s%s)", a.sku, when, src,
                        strcmp(p.scope, SL_CAT_SCOPE_ALL) ? "; no chain-wide price either" : "");
        }
        return EX_NOINPUT_;
    }
    if (rc != SL_OK) {
        sl__cli_err("price: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    if (a.json) {
        json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I}", "sku", p.sku, "price",
                              (json_int_t)p.price, "currency", p.currency, "effective_from",
                              (json_int_t)p.effective_from, "scope", p.scope, "version",
                              (json_int_t)p.version, "issued_at", (json_int_t)p.issued_at,
                              "received_at", (json_int_t)p.received_at, "age_ms",
                              (json_int_t)(now - p.issued_at), "at", (json_int_t)at);
        return print_json(o);
    }
    sl__cli_money(p.price, p.currency, m, sizeof m);
    printf("sku        %s\nprice      %s\n", p.sku, m);
    if (p.effective_from == 0) {
        printf("effective  immediately (since v%llu)\n", (unsigned long long)p.version);
    } else {
        char ef[40];
        sl_plat_format_utc(p.effective_from, ef, sizeof ef);
        printf("effective  since %s\n", ef);
    }
    if (a.at != NULL)
        printf("at         %s\n", when);
    source_text("prices", p.version, p.scope, p.issued_at, now, src, sizeof src);
    printf("catalog    %s\n", src);
    return EX_OK_;
}

int sl__cmd_stock(sl_cli *c, int argc, char **argv)
{
    static const char use[] = "storelink stock SKU [--json]";
    struct args a;
    int64_t now = sl_plat_now_ms();
    if (parse_args("stock", use, 0, argc, argv, &a) != 0)
        return EX_USAGE_;
    sl_catalog *cat;
    sl_journal *j = NULL;
    sl_stock st;
    char src[192], q[40], q2[40];
    int rc = open_catalog(c, "stock", &cat);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    sl_journal_opts o = {.max_db_mb = c->cfg.max_db_mb, .read_only = 1};
    rc = sl_journal_open(&j, c->cfg.state_dir, &o);
    if (rc == SL_ERR_NOT_FOUND) {
        j = NULL;   /* nothing recorded on this device: the catalog figure stands */
    } else if (rc != SL_OK) {
        sl__cli_err("stock: cannot open journal in %s: %s", c->cfg.state_dir, sl_strerror(rc));
        sl_catalog_close(cat);
        return sl__cli_exit(rc);
    }
    rc = sl_stock_lookup(cat, j, c->cfg.device_id, a.sku, &st);
    sl_journal_close(j);
    sl_catalog_close(cat);
    if (rc == SL_ERR_NOT_FOUND) {
        if (st.version == 0) {
            sl__cli_err("stock: no stock catalog received yet%s%s", st.store[0] ? " for store " : "",
                        st.store);
        } else {
            source_text("stock", st.version, st.store, st.issued_at, now, src, sizeof src);
            sl__cli_err("stock: '%s' is not in the stock catalog (%s)", a.sku, src);
        }
        return EX_NOINPUT_;
    }
    if (rc != SL_OK) {
        sl__cli_err("stock: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    if (a.json) {
        json_t *jo = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:b}", "sku",
                              st.sku, "store", st.store, "on_hand_milli",
                              (json_int_t)st.on_hand_milli, "catalog_milli",
                              (json_int_t)st.catalog_milli, "version", (json_int_t)st.version,
                              "issued_at", (json_int_t)st.issued_at, "received_at",
                              (json_int_t)st.received_at, "age_ms",
                              (json_int_t)(now - st.issued_at), "device", c->cfg.device_id,
                              "watermark", (json_int_t)st.watermark, "local_records",
                              (json_int_t)st.local_records, "last_seq", (json_int_t)st.last_seq,
                              "counted", st.counted);
        return print_json(jo);
    }
    qty_text(st.on_hand_milli, q, sizeof q);
    qty_text(st.catalog_milli, q2, sizeof q2);
    source_text("stock", st.version, st.store, st.issued_at, now, src, sizeof src);
    printf("sku        %s\non hand    %s\ncatalog    %s: %s on hand\n", st.sku, q, src, q2);
    if (st.local_records == 0)
        printf("local      no records of %s after seq %llu\n", c->cfg.device_id,
               (unsigned long long)st.watermark);
    else
        printf("local      %llu record%s of %s after seq %llu applied%s\n",
               (unsigned long long)st.local_records, st.local_records == 1 ? "" : "s",
               c->cfg.device_id, (unsigned long long)st.watermark,
               st.counted ? " (a count reset the figure)" : "");
    return EX_OK_;
}
