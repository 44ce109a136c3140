/*
 * The hub's catalog downlink (catalog_pub.h): CSV in, versions and the item
 * set in the database, signed messages out.  Everything in a CSV file is
 * checked before anything is written, so a bad line publishes nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeparse.h"
#include "catalog_pub.h"
#include "event.h"
#include "platform.h"

#define FIELD_MAX 160                /* bytes of one CSV field we keep */
#define MAX_FIELDS 4
/* encoded size bounds for the message buffer: a price item is at most
 * 1 + (2 + 64) + 9 + 4 + 9 bytes, a stock item 1 + 66 + 9, a watermark
 * 2 + 64 + 9; the header, the payload's bstr head and the signature fit
 * in the rest */
#define ITEM_BYTES 96u
#define WM_BYTES 80u
#define MSG_OVERHEAD 512u

/* ---- CSV ----------------------------------------------------------------- */

struct loc {
    const char *path;
    unsigned line;
    char *err;
    size_t errsz;
};

static int line_err(const struct loc *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int line_err(const struct loc *at, const char *field, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (at->err != NULL && at->errsz > 0)
        snprintf(at->err, at->errsz, "%s:%u: %s: %s", at->path, at->line, field, why);
    return SL_ERR_INVALID;
}

/* A field's value for a message: at most 40 bytes, control bytes as '?'.
 * Never used for SKUs (the SKU rule refuses card numbers, which must not
 * be echoed either). */
static const char *shown(const char *s, char *out, size_t outsz)
{
    size_t n = 0, i;
    for (i = 0; s[i] != '\0' && i < 40 && n + 4 < outsz; i++)
        out[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i] != '\0' && n + 4 < outsz) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

struct fields {
    size_t n;                        /* fields on the line (may exceed MAX_FIELDS) */
    char v[MAX_FIELDS][FIELD_MAX];
    int too_long[MAX_FIELDS];
};

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

static void put_char(struct fields *f, size_t *len, char c)
{
    if (f->n >= MAX_FIELDS)
        return;
    if (*len + 1 < FIELD_MAX)
        f->v[f->n][(*len)++] = c;
    else
        f->too_long[f->n] = 1;
}

/* Split s[0..n) (one line, no terminator) into fields, RFC 4180 quoting
 * within the line.  0, or -1 with why. */
static int split(const char *s, size_t n, struct fields *f, const char **why)
{
    size_t i = 0;
    memset(f, 0, sizeof *f);
    for (;;) {
        size_t len = 0;
        while (i < n && blank(s[i]))
            i++;
        if (i < n && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n) {
                    *why = "a quoted field is not closed on its line";
                    return -1;
                }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        put_char(f, &len, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                put_char(f, &len, s[i++]);
            }
            while (i < n && blank(s[i]))
                i++;
            if (i < n && s[i] != ',') {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            size_t end;
            while (i < n && s[i] != ',') {
                if (s[i] == '"') {
                    *why = "a quote inside an unquoted field (quote the whole field)";
                    return -1;
                }
                put_char(f, &len, s[i++]);
            }
            end = len;
            while (end > 0 && f->n < MAX_FIELDS && blank(f->v[f->n][end - 1]))
                end--;
            len = end;
        }
        if (f->n < MAX_FIELDS)
            f->v[f->n][len] = '\0';
        f->n++;
        if (i >= n)
            return 0;
        i++;   /* the comma */
    }
}


static int digits(const char *s, int n, int64_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}


static int check_sku(const struct loc *at, const struct fields *f, char *sku)
{
    sl_problem pr;
    if (f->too_long[0])
        return line_err(at, "sku", "longer than %d bytes", SL_SKU_MAX);
    if (sl__check_sku(f->v[0], "sku", &pr) != SL_OK)
        return line_err(at, "sku", "%s", pr.reason);
    size_t n = strlen(f->v[0]);   /* <= SL_SKU_MAX: the SKU rule checked it */
    memcpy(sku, f->v[0], n + 1);
    return SL_OK;
}

static int parse_price_line(const struct loc *at, const struct fields *f, size_t n_cur,
                            const char (*cur)[4], sl__cat_price *p)
{
    char b[64];
    int rc = check_sku(at, f, p->sku);
    if (rc != SL_OK)
        return rc;
    const char *v = f->v[1];
    size_t n = strlen(v);
    if (n == 0)
        return line_err(at, "price", "is required (minor units, e.g. 249 for 2.49)");
    if (f->too_long[1] || strspn(v, "0123456789") != n)
        return line_err(at, "price", "'%s' is not a whole number of minor units (249 for 2.49)",
                        shown(v, b, sizeof b));
    if (n > 12 || strtoull(v, NULL, 10) > (unsigned long long)SL_MONEY_MAX)
        return line_err(at, "price", "'%s' is more than %lld minor units", shown(v, b, sizeof b),
                        (long long)SL_MONEY_MAX);
    p->price = strtoull(v, NULL, 10);
    v = f->v[2];
    if (f->too_long[2] || strlen(v) != 3 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' ||
        v[1] > 'Z' || v[2] < 'A' || v[2] > 'Z')
        return line_err(at, "currency", "'%s' is not 3 upper-case letters (ISO 4217, e.g. EUR)",
                        shown(v, b, sizeof b));
    if (n_cur > 0) {
        size_t i;
        for (i = 0; i < n_cur && strcmp(cur[i], v) != 0; i++)
            ;
        if (i == n_cur)
            return line_err(at, "currency", "%s is not in the hub's [hub] currencies", v);
    }
    memcpy(p->currency, v, 4);
    p->effective_from = 0;
    if (f->n > 3) {
        v = f->v[3];
        if (f->too_long[3] || (v[0] != '\0' && sl__parse_time(v, &p->effective_from) != 0))
            return line_err(at, "effective_from", "'%s' is not Unix ms or an ISO 8601 time with "
                            "a zone (2026-11-24T00:00:00Z); empty or 0 = immediately",
                            shown(v, b, sizeof b));
    }
    return SL_OK;
}

/* "-12", "37.5", "0.125": milli-units */
static int parse_milli(const char *v, int64_t *out)
{
    const char *p = v;
    int neg = 0;
    int64_t ip = 0, fp = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    size_t ni = strspn(p, "0123456789");
    if (ni == 0 || ni > 13 || digits(p, (int)ni, &ip) != 0)
        return ni > 13 ? -2 : -1;
    p += ni;
    if (*p == '.') {
        p++;
        size_t nf = strspn(p, "0123456789");
        if (nf == 0)
            return -1;
        if (nf > 3)
            return -3;
        if (digits(p, (int)nf, &fp) != 0)
            return -1;
        for (size_t i = nf; i < 3; i++)
            fp *= 10;
        p += nf;
    }
    if (*p != '\0')
        return -1;
    int64_t m = ip * 1000 + fp;
    if (m > SL_CAT_ONHAND_MAX)
        return -2;
    *out = neg ? -m : m;
    return 0;
}

static int parse_stock_line(const struct loc *at, const struct fields *f, sl__cat_stock *s)
{
    char b[64];
    int rc = check_sku(at, f, s->sku);
    if (rc != SL_OK)
        return rc;
    const char *v = f->v[1];
    if (v[0] == '\0')
        return line_err(at, "on_hand", "is required");
    rc = f->too_long[1] ? -1 : parse_milli(v, &s->on_hand_milli);
    if (rc == -3)
        return line_err(at, "on_hand", "'%s' has more than 3 decimals", shown(v, b, sizeof b));
    if (rc == -2)
        return line_err(at, "on_hand", "'%s' is beyond +/-%lld", shown(v, b, sizeof b),
                        (long long)(SL_CAT_ONHAND_MAX / 1000));
    if (rc != 0)
        return line_err(at, "on_hand", "'%s' is not a number (37, -2, 18.5, 0.125)",
                        shown(v, b, sizeof b));
    return SL_OK;
}

/* 3 or 4 for a valid prices header, 2 for stock, 0 when it does not match */
static size_t header_ok(int type, const struct fields *f)
{
    static const char *const names[] = {"sku", "price", "currency", "effective_from"};
    size_t want_min = type == SL_CAT_PRICES ? 3 : 2, want_max = type == SL_CAT_PRICES ? 4 : 2;
    if (f->n < want_min || f->n > want_max)
        return 0;
    for (size_t i = 0; i < f->n; i++) {
        const char *want = type == SL_CAT_PRICES ? names[i] : i == 0 ? "sku" : "on_hand";
        if (f->too_long[i] || strcmp(f->v[i], want) != 0)
            return 0;
    }
    return f->n;
}

struct dup_key {
    const char *sku;
    int64_t eff;
    unsigned line;
};

static int dup_cmp(const void *x, const void *y)
{
    const struct dup_key *a = x, *b = y;
    int c = strcmp(a->sku, b->sku);
    if (c != 0)
        return c;
    if (a->eff != b->eff)
        return a->eff < b->eff ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* A SKU (with the same effective_from) twice: one of them is a mistake,
 * and applying both in order would hide it.  Reports the earliest repeat. */
static int no_duplicates(const hub_cat_items *it, const unsigned *lines, const char *path,
                         char *err, size_t errsz)
{
    if (it->n < 2)
        return SL_OK;
    struct dup_key *k = malloc(it->n * sizeof *k);
    if (k == NULL)
        return SL_ERR_NOMEM;
    for (size_t i = 0; i < it->n; i++) {
        k[i].sku = it->type == SL_CAT_PRICES ? it->prices[i].sku : it->stock[i].sku;
        k[i].eff = it->type == SL_CAT_PRICES ? it->prices[i].effective_from : 0;
        k[i].line = lines[i];
    }
    qsort(k, it->n, sizeof *k, dup_cmp);
    size_t worst = 0;
    for (size_t i = 1; i < it->n; i++)
        if (strcmp(k[i].sku, k[i - 1].sku) == 0 && k[i].eff == k[i - 1].eff &&
            (worst == 0 || k[i].line < k[worst].line))
            worst = i;
    int rc = SL_OK;
    if (worst > 0) {
        struct loc at = {path, k[worst].line, err, errsz};
        rc = line_err(&at, "sku", "repeats line %u%s", k[worst - 1].line,
                      it->type == SL_CAT_PRICES ? " (same SKU and effective_from)" : "");
    }
    free(k);
    return rc;
}

static int grow(hub_cat_items *it, unsigned **lines, size_t *cap)
{
    size_t nc = *cap ? *cap * 2 : 256;
    if (nc > SL_CAT_ITEMS_MAX)
        nc = SL_CAT_ITEMS_MAX;
    unsigned *nl = realloc(*lines, nc * sizeof *nl);
    if (nl == NULL)
        return SL_ERR_NOMEM;
    *lines = nl;
    if (it->type == SL_CAT_PRICES) {
        sl__cat_price *np = realloc(it->prices, nc * sizeof *np);
        if (np == NULL)
            return SL_ERR_NOMEM;
        it->prices = np;
    } else {
        sl__cat_stock *ns = realloc(it->stock, nc * sizeof *ns);
        if (ns == NULL)
            return SL_ERR_NOMEM;
        it->stock = ns;
    }
    *cap = nc;
    return SL_OK;
}

int hub_cat_csv_load(hub_cat_items *out, int type, const char *path, size_t n_currencies,
                     const char (*currencies)[4], char *err, size_t errsz)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, ncols = 0;
    unsigned *lines = NULL;
    struct fields *f = NULL;
    hub_cat_items it = {type, 0, NULL, NULL};
    struct loc at = {path, 0, err, errsz};
    int rc = sl_plat_read_file(path, HUB_CAT_CSV_MAX, &buf, &len);
    memset(out, 0, sizeof *out);
    if (rc != SL_OK) {
        snprintf(err, errsz, "%s: %s", path,
                 rc == SL_ERR_TOO_LARGE ? "larger than 256 MiB" : sl_strerror(rc));
        return rc;
    }
    if ((f = malloc(sizeof *f)) == NULL) {
        rc = SL_ERR_NOMEM;
        goto fail;
    }
    size_t pos = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;   /* a byte order mark, as spreadsheets write it */
    while (pos < len) {
        const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        const char *why = NULL;
        pos += n + (nl != NULL);
        at.line++;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n > HUB_CAT_LINE_MAX) {
            rc = line_err(&at, "line", "longer than %d bytes", HUB_CAT_LINE_MAX);
            goto fail;
        }
        if (memchr(s, '\0', n) != NULL) {
            rc = line_err(&at, "line", "contains a NUL byte (not a text file?)");
            goto fail;
        }
        size_t k = 0;
        while (k < n && (blank(s[k]) || s[k] == '\r'))
            k++;
        if (k == n)
            continue;   /* blank line */
        if (split(s, n, f, &why) != 0) {
            rc = line_err(&at, "line", "%s", why);
            goto fail;
        }
        if (ncols == 0) {
            if ((ncols = header_ok(type, f)) == 0) {
                rc = line_err(&at, "header", "expected '%s' as the first line",
                              type == SL_CAT_PRICES ? "sku,price,currency[,effective_from]"
                                                    : "sku,on_hand");
                goto fail;
            }
            continue;
        }
        if (f->n != ncols) {
            rc = line_err(&at, "line", "%zu field%s, the header has %zu", f->n,
                          f->n == 1 ? "" : "s", ncols);
            goto fail;
        }
        if (it.n == SL_CAT_ITEMS_MAX) {
            rc = line_err(&at, "line", "more than %u items in one file", SL_CAT_ITEMS_MAX);
            goto fail;
        }
        if (it.n == cap && (rc = grow(&it, &lines, &cap)) != SL_OK)
            goto fail;
        if (type == SL_CAT_PRICES) {
            memset(&it.prices[it.n], 0, sizeof it.prices[0]);
            rc = parse_price_line(&at, f, n_currencies, currencies, &it.prices[it.n]);
        } else {
            memset(&it.stock[it.n], 0, sizeof it.stock[0]);
            rc = parse_stock_line(&at, f, &it.stock[it.n]);
        }
        if (rc != SL_OK)
            goto fail;
        lines[it.n++] = at.line;
    }
    if (ncols == 0) {
        at.line = at.line ? at.line : 1;
        rc = line_err(&at, "header", "missing: the first line must be '%s'",
                      type == SL_CAT_PRICES ? "sku,price,currency[,effective_from]"
                                            : "sku,on_hand");
        goto fail;
    }
    if ((rc = no_duplicates(&it, lines, path, err, errsz)) != SL_OK)
        goto fail;
    free(lines);
    free(f);
    free(buf);
    *out = it;
    return SL_OK;
fail:
    if (rc == SL_ERR_NOMEM)
        snprintf(err, errsz, "%s: %s", path, sl_strerror(rc));
    hub_cat_items_free(&it);
    free(lines);
    free(f);
    free(buf);
    return rc;
}

void hub_cat_items_free(hub_cat_items *it)
{
    if (it == NULL)
        return;
    free(it->prices);
    free(it->stock);
    it->prices = NULL;
    it->stock = NULL;
    it->n = 0;
}

void hub_cat_msg_free(hub_cat_msg *m)
{
    if (m == NULL)
        return;
    free(m->data);
    m->data = NULL;
    m->len = 0;
}

/* ---- messages ----------------------------------------------------------------- */

static int say(char *err, size_t errsz, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *err, size_t errsz, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err != NULL && errsz > 0)
        vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return rc;
}

/* "prices of store s-1" / "prices of all stores" */
static void what(int type, const char *scope, char *out, size_t outsz)
{
    if (strcmp(scope, SL_CAT_SCOPE_ALL) == 0)
        snprintf(out, outsz, "%s of all stores", sl__cat_type_name(type));
    else
        snprintf(out, outsz, "%s of store %s", sl__cat_type_name(type), scope);
}

/* Sign m into out (topic, heap buffer). */
static int build(const char *prefix, const sl__catmsg *m, sl__key *key, hub_cat_msg *out,
                 char *err, size_t errsz)
{
    char why[160];
    uint64_t cap = MSG_OVERHEAD + (uint64_t)m->n_items * ITEM_BYTES +
                   (uint64_t)m->n_watermarks * WM_BYTES;
    if (cap > SL_CATMSG_MAX)
        cap = SL_CATMSG_MAX;
    memset(out, 0, sizeof *out);
    out->type = m->type;
    out->kind = m->kind;
    snprintf(out->scope, sizeof out->scope, "%s", m->scope);
    out->version = m->version;
    out->n_items = m->n_items;
    out->n_watermarks = m->n_watermarks;
    int rc = sl__cat_topic(prefix, m->scope, m->type, out->topic, sizeof out->topic);
    if (rc != SL_OK)
        return say(err, errsz, rc, "no topic for %s under %s", m->scope, prefix);
    if ((out->data = malloc((size_t)cap)) == NULL)
        return say(err, errsz, SL_ERR_NOMEM, "%s", sl_strerror(SL_ERR_NOMEM));
    rc = sl__catmsg_build(m, key, out->data, (size_t)cap, &out->len, why, sizeof why);
    if (rc != SL_OK) {
        hub_cat_msg_free(out);
        if (rc == SL_ERR_TOO_LARGE)
            return say(err, errsz, rc, "%zu items do not fit in one message (at most %u MiB)",
                       m->n_items, SL_CATMSG_MAX >> 20);
        return say(err, errsz, rc, "cannot build the message: %s", why);
    }
    return SL_OK;
}

/* watermarks collected from the database, at most SL_CAT_WM_MAX */
struct wms {
    size_t n, cap;
    sl__cat_wm *v;
};

static int wm_add(const sl__cat_wm *w, void *ctx)
{
    struct wms *a = ctx;
    if (a->n == SL_CAT_WM_MAX)
        return SL_ERR_TOO_LARGE;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 16;
        sl__cat_wm *nv = realloc(a->v, nc * sizeof *nv);
        if (nv == NULL)
            return SL_ERR_NOMEM;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = *w;
    return 0;
}

int hub_cat_publish(hub_store *st, sl__key *key, const hub_cat_update *u,
                    const hub_cat_items *items, hub_cat_msg *out, char *err, size_t errsz)
{
    char w[96];
    hub_cat_head head;
    struct wms wm = {0, 0, NULL};
    uint64_t held = 0;
    memset(out, 0, sizeof *out);
    if ((u->type != SL_CAT_PRICES && u->type != SL_CAT_STOCK) || items->type != u->type ||
        !sl__cat_id_ok(u->scope, strlen(u->scope), u->type == SL_CAT_PRICES))
        return say(err, errsz, SL_ERR_INVALID, "'%s' is not a store id for %s", u->scope,
                   sl__cat_type_name(u->type));
    what(u->type, u->scope, w, sizeof w);
    int rc = hub_store_begin(st);
    if (rc != SL_OK)
        return say(err, errsz, rc, "database: %s", sl_strerror(rc));
    rc = hub_store_cat_head(st, u->type, u->scope, &head);
    if (rc == SL_ERR_NOT_FOUND) {
        if (u->delta) {
            rc = say(err, errsz, SL_ERR_CONFLICT, "nothing published yet for %s: publish a "
                     "snapshot first (without --delta)", w);
            goto fail;
        }
        memset(&head, 0, sizeof head);
    } else if (rc != SL_OK) {
        goto db_fail;
    }
    uint64_t base = head.version;
    if (!u->delta && (rc = hub_store_cat_clear(st, u->type, u->scope)) != SL_OK)
        goto db_fail;
    for (size_t i = 0; i < items->n; i++) {
        rc = u->type == SL_CAT_PRICES
                 ? hub_store_cat_price_put(st, u->scope, &items->prices[i], u->now_ms)
                 : hub_store_cat_stock_put(st, u->scope, &items->stock[i]);
        if (rc != SL_OK)
            goto db_fail;
    }
    if (u->type == SL_CAT_PRICES) {
        if ((rc = hub_store_cat_prune(st, u->scope, u->now_ms)) != SL_OK)
            goto db_fail;
    } else {
        rc = hub_store_store_devices(st, u->scope, wm_add, &wm);
        if (rc == SL_ERR_TOO_LARGE) {
            rc = say(err, errsz, rc, "store %s has more than %u devices", u->scope,
                     SL_CAT_WM_MAX);
            goto fail;
        }
        if (rc != SL_OK)
            goto db_fail;
        for (size_t i = 0; i < wm.n; i++)
            if ((rc = hub_store_cat_wm_put(st, u->scope, &wm.v[i])) != SL_OK)
                goto db_fail;
    }
    /* the set must stay re-issuable as one snapshot */
    if ((rc = hub_store_cat_count(st, u->type, u->scope, &held)) != SL_OK)
        goto db_fail;
    if (held > SL_CAT_ITEMS_MAX) {
        rc = say(err, errsz, SL_ERR_TOO_LARGE, "%s would hold %llu items, more than %u", w,
                 (unsigned long long)held, SL_CAT_ITEMS_MAX);
        goto fail;
    }
    hub_cat_head next = {base + 1, u->delta ? SL_CAT_DELTA : SL_CAT_SNAPSHOT, u->now_ms,
                         u->expires_in_ms > 0 ? u->expires_in_ms : 0};
    if ((rc = hub_store_cat_head_put(st, u->type, u->scope, &next)) != SL_OK)
        goto db_fail;
    sl__catmsg m = {
        .type = u->type, .kind = next.kind, .version = next.version,
        .base = u->delta ? base : 0, .issued_at = u->now_ms,
        .expires_at = u->now_ms + next.expires_in_ms, .has_expires = next.expires_in_ms > 0,
        .has_watermarks = u->type == SL_CAT_STOCK, .n_items = items->n,
        .n_watermarks = wm.n, .prices = items->prices, .stock = items->stock,
        .watermarks = wm.v,
    };
    snprintf(m.scope, sizeof m.scope, "%s", u->scope);
    if ((rc = build(u->prefix, &m, key, out, err, errsz)) != SL_OK)
        goto fail;
    if ((rc = hub_store_commit(st)) != SL_OK) {
        hub_cat_msg_free(out);
        free(wm.v);
        return say(err, errsz, rc, "database: commit: %s", sl_strerror(rc));
    }
    free(wm.v);
    return SL_OK;
db_fail:
    say(err, errsz, rc, "database: %s", sl_strerror(rc));
fail:
    hub_store_rollback(st);
    free(wm.v);
    return rc;
}

/* the item set, read back for a snapshot */
struct set {
    int type;
    size_t n, cap;
    sl__cat_price *prices;
    sl__cat_stock *stock;
};

static int set_room(struct set *s)
{
    if (s->n < s->cap)
        return 0;
    if (s->n == SL_CAT_ITEMS_MAX)
        return SL_ERR_TOO_LARGE;
    size_t nc = s->cap ? s->cap * 2 : 256;
    if (nc > SL_CAT_ITEMS_MAX)
        nc = SL_CAT_ITEMS_MAX;
    if (s->type == SL_CAT_PRICES) {
        sl__cat_price *np = realloc(s->prices, nc * sizeof *np);
        if (np == NULL)
            return SL_ERR_NOMEM;
        s->prices = np;
    } else {
        sl__cat_stock *ns = realloc(s->stock, nc * sizeof *ns);
        if (ns == NULL)
            return SL_ERR_NOMEM;
        s->stock = ns;
    }
    s->cap = nc;
    return 0;
}

static int set_price(const sl__cat_price *p, void *ctx)
{
    struct set *s = ctx;
    int rc = set_room(s);
    if (rc == 0)
        s->prices[s->n++] = *p;
    return rc;
}

static int set_stock(const sl__cat_stock *item, void *ctx)
{
    struct set *s = ctx;
    int rc = set_room(s);
    if (rc == 0)
        s->stock[s->n++] = *item;
    return rc;
}

int hub_cat_reissue(hub_store *st, sl__key *key, const char *prefix, int type, const char *scope,
                    int64_t now_ms, hub_cat_msg *out, char *err, size_t errsz)
{
    char w[96];
    hub_cat_head head;
    struct set set = {type, 0, 0, NULL, NULL};
    struct wms wm = {0, 0, NULL};
    memset(out, 0, sizeof *out);
    if ((type != SL_CAT_PRICES && type != SL_CAT_STOCK) ||
        !sl__cat_id_ok(scope, strlen(scope), type == SL_CAT_PRICES))
        return say(err, errsz, SL_ERR_INVALID, "'%s' is not a store id for %s", scope,
                   sl__cat_type_name(type));
    what(type, scope, w, sizeof w);
    int rc = hub_store_begin(st);
    if (rc != SL_OK)
        return say(err, errsz, rc, "database: %s", sl_strerror(rc));
    rc = hub_store_cat_head(st, type, scope, &head);
    if (rc == SL_ERR_NOT_FOUND) {
        say(err, errsz, rc, "nothing was ever published for %s", w);
        goto fail;
    }
    if (rc != SL_OK)
        goto db_fail;
    if (type == SL_CAT_PRICES) {
        if ((rc = hub_store_cat_prune(st, scope, now_ms)) != SL_OK ||
            (rc = hub_store_cat_prices(st, scope, set_price, &set)) != SL_OK)
            goto db_fail;
    } else {
        if ((rc = hub_store_cat_stock(st, scope, set_stock, &set)) != SL_OK ||
            (rc = hub_store_cat_wms(st, scope, wm_add, &wm)) != SL_OK)
            goto db_fail;
    }
    hub_cat_head next = {head.version + 1, SL_CAT_SNAPSHOT, now_ms, head.expires_in_ms};
    if ((rc = hub_store_cat_head_put(st, type, scope, &next)) != SL_OK)
        goto db_fail;
    sl__catmsg m = {
        .type = type, .kind = SL_CAT_SNAPSHOT, .version = next.version, .issued_at = now_ms,
        .expires_at = now_ms + next.expires_in_ms, .has_expires = next.expires_in_ms > 0,
        .has_watermarks = type == SL_CAT_STOCK, .n_items = set.n, .n_watermarks = wm.n,
        .prices = set.prices, .stock = set.stock, .watermarks = wm.v,
    };
    snprintf(m.scope, sizeof m.scope, "%s", scope);
    if ((rc = build(prefix, &m, key, out, err, errsz)) != SL_OK)
        goto fail;
    if ((rc = hub_store_commit(st)) != SL_OK) {
        hub_cat_msg_free(out);
        say(err, errsz, rc, "database: commit: %s", sl_strerror(rc));
        goto out;
    }
    rc = SL_OK;
    goto out;
db_fail:
    say(err, errsz, rc, "database: %s", sl_strerror(rc));
fail:
    hub_store_rollback(st);
out:
    free(set.prices);
    free(set.stock);
    free(wm.v);
    return rc;
}

/* ---- requests --------------------------------------------------------------- */

int hub_cat_request_check(const char *topic_store, const void *payload, size_t len,
                          sl__catreq *req, char *why, size_t whysz)
{
    if (len > SL_CATREQ_MAX)
        return say(why, whysz, SL_ERR_INVALID, "%zu bytes is too large for a catalog-request",
                   len);
    if (sl__catreq_decode(payload, len, req) != SL_OK)
        return say(why, whysz, SL_ERR_INVALID, "not a valid catalog-request");
    if (strcmp(req->scope, SL_CAT_SCOPE_ALL) != 0 && strcmp(req->scope, topic_store) != 0)
        return say(why, whysz, SL_ERR_INVALID, "asks for store %s's %s on a topic of store %s",
                   req->scope, sl__cat_type_name(req->type), topic_store);
    return SL_OK;
}

int hub_cat_limiter_allow(hub_cat_limiter *l, int type, const char *scope, uint64_t now_ms)
{
    size_t n = sizeof l->slot / sizeof l->slot[0], use = n, oldest = 0;
    for (size_t i = 0; i < n; i++) {
        if (l->slot[i].type == type && strcmp(l->slot[i].scope, scope) == 0) {
            if (now_ms - l->slot[i].at_ms < HUB_CAT_REISSUE_MS)
                return 0;
            use = i;
            break;
        }
        if (l->slot[i].type == 0) {
            if (use == n)
                use = i;
        } else if (l->slot[i].at_ms < l->slot[oldest].at_ms || l->slot[oldest].type == 0) {
            oldest = i;
        }
    }
    if (use == n) {
        /* full: reuse the oldest slot only once its window is over */
        if (now_ms - l->slot[oldest].at_ms < HUB_CAT_REISSUE_MS)
            return 0;
        use = oldest;
    }
    l->slot[use].type = type;
    snprintf(l->slot[use].scope, sizeof l->slot[use].scope, "%s", scope);
    l->slot[use].at_ms = now_ms;
    return 1;
}
