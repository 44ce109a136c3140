/*
 * The scanner state machine (scanmode.h).  Retail rules it follows
 * (shared NOTES, "Retail rules"): a count is absolute, so a count session
 * becomes one count adjustment carrying the counted figure and, as
 * "expected", the on-hand the device believed at that moment, for the
 * centre to book the variance; receive and damage are signed deltas.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "barcode.h"
#include "framing.h"
#include "cli.h"
#include "platform.h"
#include "scanmode.h"

struct counted {
    char sku[SL_SKU_MAX + 1];
    int64_t qty_milli;
};

struct sl_scanmode {
    sl_scanner_conf conf;
    sl_scan_sink sink;
    char boot[20];                 /* start_ms and salt in base 36 */
    uint64_t n;                    /* txn counter */
    int64_t pending_qty;           /* milli-units from a QTY code, 0 = none */
    uint64_t pending_until;
    /* the count session */
    size_t n_count;
    uint64_t count_last;           /* time of its last scan */
    int retry;                     /* its commit failed on storage: retry */
    uint64_t retry_at;
    char count_txn[SL_TXN_ID_MAX + 1];  /* kept across retries: a retry after
                                           a commit that did land is a duplicate,
                                           not a second count */
    sl_scan_stats stats;
    struct counted count[SL_MAX_LINES];
    sl_event ev;                   /* scratch, 23 KiB */
};

const char *sl__scan_mode_name(sl_scan_mode m)
{
    switch (m) {
    case SL_SCAN_RECEIVE: return "receive";
    case SL_SCAN_COUNT: return "count";
    case SL_SCAN_DAMAGE: return "damage";
    case SL_SCAN_LOOKUP: return "lookup";
    }
    return "?";
}

static void say(sl_scanmode *m, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(sl_scanmode *m, int prio, const char *fmt, ...)
{
    char line[400];
    int k = snprintf(line, sizeof line, "scanner %s: ", m->conf.name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    va_end(ap);
    if (m->sink.report != NULL)
        m->sink.report(m->sink.ctx, prio, line);
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

int sl__scanmode_new(sl_scanmode **out, const sl_scanner_conf *conf, const sl_scan_sink *sink,
                     int64_t start_ms, uint32_t salt)
{
    sl_scanmode *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SL_ERR_NOMEM;
    m->conf = *conf;
    m->sink = *sink;
    /* base 36 keeps the id short and without a long digit run, which the
     * card-number guard on txn_id could mistake for a card number */
    char tmp[16];
    size_t k = 0;
    uint64_t v = start_ms > 0 ? (uint64_t)start_ms : 0;
    do {
        tmp[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v > 0 && k < sizeof tmp - 1);
    for (size_t i = 0; i < k; i++)
        m->boot[i] = tmp[k - 1 - i];
    salt %= 36u * 36u * 36u;
    for (int i = 2; i >= 0; i--) {
        m->boot[k + (size_t)i] = "0123456789abcdefghijklmnopqrstuvwxyz"[salt % 36];
        salt /= 36;
    }
    m->boot[k + 3] = '\0';
    *out = m;
    return SL_OK;
}

void sl__scanmode_free(sl_scanmode *m)
{
    free(m);
}

static void next_txn(sl_scanmode *m, char *out, size_t outsz)
{
    snprintf(out, outsz, "scan-%s-%s-%llu", m->conf.name, m->boot,
             (unsigned long long)++m->n);
}

static void adjustment(sl_scanmode *m, sl_reason reason, const char *txn)
{
    sl_event_init(&m->ev, SL_KIND_ADJUSTMENT, txn);
    m->ev.reason = reason;
    snprintf(m->ev.location, sizeof m->ev.location, "%s", m->conf.location);
}

/* record m->ev; returns the sl_journal_record result */
static int record(sl_scanmode *m, uint64_t *seq, sl_status *st, const char *what)
{
    sl_problem p;
    memset(&p, 0, sizeof p);
    int rc = m->sink.record(m->sink.ctx, &m->ev, seq, st, &p);
    if (rc == SL_OK) {
        m->stats.recorded++;
        return rc;
    }
    if (rc == SL_ERR_INVALID) {
        m->stats.rejected++;
        say(m, SL_LOG_WARNING, "%s dropped: %s: %s", what, p.field, p.reason);
    } else {
        m->stats.failed++;
        say(m, SL_LOG_ERR, "%s not recorded: %s", what, sl_strerror(rc));
    }
    return rc;
}

static void commit_count(sl_scanmode *m, uint64_t now, const char *why)
{
    if (m->n_count == 0) {
        say(m, SL_LOG_NOTICE, "count: nothing counted");
        return;
    }
    if (m->count_txn[0] == '\0')
        next_txn(m, m->count_txn, sizeof m->count_txn);
    adjustment(m, SL_REASON_COUNT, m->count_txn);
    size_t with_expected = 0;
    for (size_t i = 0; i < m->n_count; i++) {
        sl_line *l = &m->ev.lines[i];
        memset(l, 0, sizeof *l);
        memcpy(l->sku, m->count[i].sku, sizeof l->sku);
        l->qty_milli = m->count[i].qty_milli;
        sl_stock so;
        if (m->sink.stock != NULL && m->sink.stock(m->sink.ctx, l->sku, &so) == SL_OK) {
            l->expected_milli = so.on_hand_milli;
            l->has_expected = 1;
            with_expected++;
        }
    }
    m->ev.n_lines = m->n_count;
    uint64_t seq = 0;
    sl_status st = SL_STATUS_RECORDED;
    int rc = record(m, &seq, &st, "count");
    if (rc == SL_OK) {
        say(m, SL_LOG_NOTICE, "count committed (%s): %zu SKU%s, %zu with expected on-hand, seq %llu%s",
            why, m->n_count, m->n_count == 1 ? "" : "s", with_expected, (unsigned long long)seq,
            st == SL_STATUS_DUPLICATE ? " (already recorded)" : "");
    } else if (rc != SL_ERR_INVALID && rc != SL_ERR_CONFLICT) {
        /* storage trouble: keep the session and its txn id, try again */
        m->retry = 1;
        m->retry_at = now + SL_COUNT_RETRY_MS;
        return;
    }
    m->n_count = 0;
    m->retry = 0;
    m->count_txn[0] = '\0';
}

static void one_delta(sl_scanmode *m, const sl_barcode *b, int64_t qty)
{
    char txn[SL_TXN_ID_MAX + 1], q[32], extra[64] = "";
    sl_reason reason = m->conf.mode == SL_SCAN_DAMAGE ? SL_REASON_DAMAGE : SL_REASON_RECEIVE;
    int64_t signed_qty = reason == SL_REASON_DAMAGE ? -qty : qty;
    next_txn(m, txn, sizeof txn);
    adjustment(m, reason, txn);
    if (sl_event_add_line(&m->ev, b->sku, signed_qty, 0, 0, 0) != SL_OK) {
        m->stats.rejected++;
        say(m, SL_LOG_WARNING, "scan dropped: sku: does not fit");
        return;
    }
    uint64_t seq = 0;
    sl_status st;
    if (record(m, &seq, &st, sl__scan_mode_name(m->conf.mode)) != SL_OK)
        return;
    qty_text(signed_qty, q, sizeof q);
    /* batch and expiry have no field in the record (docs/PROTOCOL.md):
     * shown here so a technician sees them parsed */
    if (b->batch[0] || b->expiry[0])
        snprintf(extra, sizeof extra, " (batch %s, expiry %s)", b->batch[0] ? b->batch : "-",
                 b->expiry[0] ? b->expiry : "-");
    say(m, SL_LOG_NOTICE, "%s %s %s%s seq %llu%s", sl__scan_mode_name(m->conf.mode), b->sku,
        signed_qty > 0 ? "+" : "", q, (unsigned long long)seq, extra);
}

static void add_count(sl_scanmode *m, const sl_barcode *b, int64_t qty, uint64_t now)
{
    struct counted *c = NULL;
    for (size_t i = 0; i < m->n_count; i++)
        if (strcmp(m->count[i].sku, b->sku) == 0)
            c = &m->count[i];
    if (c == NULL) {
        /* committing a part and starting again would make the second part
         * of an item a second absolute count: refuse instead */
        if (m->n_count == SL_MAX_LINES) {
            m->stats.rejected++;
            say(m, SL_LOG_WARNING, "count: session full (%d SKUs): scan the end code first",
                SL_MAX_LINES);
            return;
        }
        c = &m->count[m->n_count++];
        memcpy(c->sku, b->sku, sizeof c->sku);
        c->qty_milli = 0;
    }
    if (c->qty_milli > SL_QTY_MAX - qty) {
        m->stats.rejected++;
        say(m, SL_LOG_WARNING, "count: %s would exceed %lld units, scan dropped", b->sku,
            (long long)(SL_QTY_MAX / 1000));
        return;
    }
    c->qty_milli += qty;
    m->count_last = now;
    char q[32];
    qty_text(c->qty_milli, q, sizeof q);
    say(m, SL_LOG_INFO, "count %s: %s (%zu SKU%s in this count)", b->sku, q, m->n_count,
        m->n_count == 1 ? "" : "s");
}

static void lookup(sl_scanmode *m, const char *sku)
{
    char line[300], pr[96], so[96];
    sl_price p;
    sl_stock s;
    m->stats.lookups++;
    int rc = m->sink.price ? m->sink.price(m->sink.ctx, sku, &p) : SL_ERR_NOT_FOUND;
    if (rc == SL_OK) {
        char money[48];
        sl__cli_money(p.price, p.currency, money, sizeof money);
        snprintf(pr, sizeof pr, "price %s (prices v%llu)", money, (unsigned long long)p.version);
    } else {
        snprintf(pr, sizeof pr, "price %s", rc == SL_ERR_NOT_FOUND ? "unknown" : sl_strerror(rc));
    }
    rc = m->sink.stock ? m->sink.stock(m->sink.ctx, sku, &s) : SL_ERR_NOT_FOUND;
    if (rc == SL_OK) {
        char q[32];
        qty_text(s.on_hand_milli, q, sizeof q);
        snprintf(so, sizeof so, "on hand %s (stock v%llu)", q, (unsigned long long)s.version);
    } else {
        snprintf(so, sizeof so, "on hand %s", rc == SL_ERR_NOT_FOUND ? "unknown" : sl_strerror(rc));
    }
    snprintf(line, sizeof line, "%s: %s %s, %s", m->conf.name, sku, pr, so);
    if (m->sink.answer != NULL)
        m->sink.answer(m->sink.ctx, line);
}

static void expire(sl_scanmode *m, uint64_t now)
{
    if (m->pending_qty != 0 && now >= m->pending_until) {
        m->pending_qty = 0;
        say(m, SL_LOG_NOTICE, "quantity code expired (no item scanned within %d s)",
            SL_QTY_PENDING_MS / 1000);
    }
}

int sl__scanmode_scan(sl_scanmode *m, const char *code, size_t len, int err, uint64_t now)
{
    m->stats.scans++;
    expire(m, now);
    if (err != SL_OK) {
        m->stats.rejected++;
        if (err == SL_ERR_TOO_LARGE)
            say(m, SL_LOG_WARNING, "scan dropped: longer than %d bytes", SL_SCAN_MAX);
        else
            say(m, SL_LOG_WARNING, "scan dropped: a key or byte with no character in it");
        return SL_OK;
    }
    if (m->conf.mode == SL_SCAN_COUNT && m->conf.end_code[0] != '\0' &&
        strcmp(code, m->conf.end_code) == 0) {
        if (m->pending_qty != 0) {
            m->pending_qty = 0;
            say(m, SL_LOG_NOTICE, "quantity code dropped: no item followed it");
        }
        commit_count(m, now, "end code");
        return SL_OK;
    }
    int64_t q;
    int qr = sl__barcode_qty(code, m->conf.qty_prefix, &q);
    if (qr != 0) {
        if (qr < 0) {
            m->stats.rejected++;
            say(m, SL_LOG_WARNING, "quantity code dropped: must be %s followed by 1 to %lld",
                m->conf.qty_prefix, (long long)(SL_QTY_MAX / 1000));
            return SL_OK;
        }
        m->pending_qty = q;
        m->pending_until = now + SL_QTY_PENDING_MS;
        char t[32];
        qty_text(q, t, sizeof t);
        say(m, SL_LOG_INFO, "quantity %s for the next item", t);
        return SL_OK;
    }
    sl_barcode b;
    sl_problem p;
    memset(&p, 0, sizeof p);
    if (sl__barcode_parse(code, len, &b, &p) != SL_OK) {
        m->stats.rejected++;
        if (strstr(p.reason, "check digit") != NULL)
            m->stats.bad_check++;
        /* never echo the payload: it failed the rules, and it may be a card */
        say(m, SL_LOG_WARNING, "scan dropped: %s: %s", p.field, p.reason);
        return SL_OK;
    }
    int64_t qty = m->pending_qty != 0 ? m->pending_qty : 1000;
    m->pending_qty = 0;
    switch (m->conf.mode) {
    case SL_SCAN_RECEIVE:
    case SL_SCAN_DAMAGE:
        one_delta(m, &b, qty);
        break;
    case SL_SCAN_COUNT:
        add_count(m, &b, qty, now);
        break;
    case SL_SCAN_LOOKUP:
        lookup(m, b.sku);
        break;
    }
    return SL_OK;
}

uint64_t sl__scanmode_deadline(const sl_scanmode *m)
{
    uint64_t d = UINT64_MAX;
    if (m->pending_qty != 0 && m->pending_until < d)
        d = m->pending_until;
    if (m->retry) {
        if (m->retry_at < d)
            d = m->retry_at;
    } else if (m->n_count > 0 && m->conf.count_idle_ms > 0 &&
               m->count_last + m->conf.count_idle_ms < d) {
        d = m->count_last + m->conf.count_idle_ms;
    }
    return d;
}

void sl__scanmode_tick(sl_scanmode *m, uint64_t now)
{
    expire(m, now);
    if (m->retry) {
        if (now >= m->retry_at)
            commit_count(m, now, "retry");
    } else if (m->n_count > 0 && m->conf.count_idle_ms > 0 &&
               now >= m->count_last + m->conf.count_idle_ms) {
        commit_count(m, now, "idle timeout");
    }
}

size_t sl__scanmode_abandon(sl_scanmode *m)
{
    size_t n = m->n_count;
    if (n > 0)
        say(m, SL_LOG_WARNING, "count with %zu SKU%s not committed (stopped before the end code "
            "or idle timeout; a partial count would reset on-hand)", n, n == 1 ? "" : "s");
    m->n_count = 0;
    m->retry = 0;
    m->count_txn[0] = '\0';
    return n;
}

void sl__scanmode_stats(const sl_scanmode *m, sl_scan_stats *st)
{
    *st = m->stats;
}

size_t sl__scanmode_count_skus(const sl_scanmode *m)
{
    return m->n_count;
}
