/* The device status message (statusmsg.h, docs/PROTOCOL.md "Status"). */
#include <stdio.h>
#include <string.h>

#include "cborio.h"
#include "statusmsg.h"

#define MAP_MAX 64          /* entries of one status map: room for newer keys */
#define MS_30_DAYS (30LL * 86400 * 1000)

/* The type of each key; 0 = not a key of this version. */
enum { KT_NONE = 0, KT_UINT, KT_TIME, KT_TEXT };

static const unsigned char key_type[SL_ST_LAST_KEY + 1] = {
    [1] = KT_TEXT, [2] = KT_TIME, [3] = KT_UINT, [4] = KT_UINT, [5] = KT_TEXT,
    [SL_ST_UNACKED] = KT_UINT, [SL_ST_OLDEST_TS] = KT_TIME, [SL_ST_DEAD] = KT_UINT,
    [SL_ST_INFLIGHT] = KT_UINT, [SL_ST_LAST_ACK] = KT_TIME, [SL_ST_PRICES_VER] = KT_UINT,
    [SL_ST_PRICES_AT] = KT_TIME, [SL_ST_STOCK_VER] = KT_UINT, [SL_ST_STOCK_AT] = KT_TIME,
    [SL_ST_STARTED] = KT_TIME, [SL_ST_HEALTH] = KT_UINT, [SL_ST_CERT_NOT_AFTER] = KT_TIME,
    [SL_ST_RESENT] = KT_UINT, [SL_ST_REJECTED] = KT_UINT, [SL_ST_CONN_SINCE] = KT_TIME,
    [SL_ST_JOURNAL_USED] = KT_UINT, [SL_ST_JOURNAL_LIMIT] = KT_UINT,
    [SL_ST_CHAIN_PRICES_VER] = KT_UINT, [SL_ST_LAST_ERROR] = KT_TEXT,
};

static int optional_key(int key)
{
    return key >= SL_ST_UNACKED && key <= SL_ST_LAST_KEY;
}

/* Length of the longest prefix of s (at most max bytes) that ends on a
 * UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/* Text the hub prints on a technician's terminal: well-formed UTF-8 and no
 * control characters (an escape sequence in a status must not reach it). */
static int text_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; }
        else return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF, C1 controls */
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int version_ok(const char *v, size_t n)
{
    if (n == 0 || n > SL_STATUS_VERSION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] <= 0x20 || v[i] >= 0x7f)
            return 0;
    return 1;
}

void sl__status_init(sl__status *s, int online, int64_t ts_ms, uint64_t acked_through,
                     uint64_t last_seq, const char *version)
{
    memset(s, 0, sizeof *s);
    s->online = online ? 1 : 0;
    s->ts_ms = ts_ms;
    s->acked_through = acked_through;
    s->last_seq = last_seq;
    if (version == NULL)
        version = SL_VERSION;
    size_t n = strlen(version);
    if (n > SL_STATUS_VERSION_MAX)
        n = SL_STATUS_VERSION_MAX;
    memcpy(s->version, version, n);
}

void sl__status_set_u(sl__status *s, int key, uint64_t v)
{
    if (optional_key(key) && key_type[key] == KT_UINT) {
        s->u[key] = v;
        s->has |= 1u << key;
    }
}

void sl__status_set_i(sl__status *s, int key, int64_t v)
{
    if (optional_key(key) && key_type[key] == KT_TIME) {
        s->i[key] = v;
        s->has |= 1u << key;
    }
}

void sl__status_set_error(sl__status *s, const char *text)
{
    size_t n = utf8_cut(text, strlen(text), SL_STATUS_ERROR_MAX);
    memcpy(s->last_error, text, n);
    s->last_error[n] = '\0';
    /* the daemon's text may quote a broker's: no control characters on
     * the wire (the decoder refuses them) */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s->last_error[i] < 0x20 || s->last_error[i] == 0x7f)
            s->last_error[i] = ' ';
    if (!text_ok((const uint8_t *)s->last_error, n))
        s->last_error[0] = '\0';   /* not UTF-8: say nothing rather than garbage */
    s->has |= 1u << SL_ST_LAST_ERROR;
}

int sl__status_has(const sl__status *s, int key)
{
    if (key >= 1 && key <= 5)
        return 1;
    return optional_key(key) && (s->has & (1u << key)) != 0;
}

int sl__status_encode(const sl__status *s, uint8_t *out, size_t cap, size_t *len)
{
    sl__cw w;
    size_t n = 5;
    if (!version_ok(s->version, strlen(s->version)) || s->ts_ms < 0)
        return SL_ERR_INVALID;
    for (int k = SL_ST_UNACKED; k <= SL_ST_LAST_KEY; k++) {
        if (!sl__status_has(s, k))
            continue;
        n++;
        if (key_type[k] == KT_TIME && s->i[k] < 0)
            return SL_ERR_INVALID;
    }
    if (sl__status_has(s, SL_ST_HEALTH) && s->u[SL_ST_HEALTH] > SL_HEALTH_FAILING)
        return SL_ERR_INVALID;
    if (sl__status_has(s, SL_ST_LAST_ERROR) &&
        (strlen(s->last_error) > SL_STATUS_ERROR_MAX ||
         !text_ok((const uint8_t *)s->last_error, strlen(s->last_error))))
        return SL_ERR_INVALID;
    sl__cw_init(&w, out, cap);
    /* keys in ascending order: deterministic CBOR for small uint keys */
    sl__cw_map(&w, n);
    sl__cw_uint(&w, 1);
    sl__cw_cstr(&w, s->online ? "online" : "offline");
    sl__cw_uint(&w, 2);
    sl__cw_int(&w, s->ts_ms);
    sl__cw_uint(&w, 3);
    sl__cw_uint(&w, s->acked_through);
    sl__cw_uint(&w, 4);
    sl__cw_uint(&w, s->last_seq);
    sl__cw_uint(&w, 5);
    sl__cw_cstr(&w, s->version);
    for (int k = SL_ST_UNACKED; k <= SL_ST_LAST_KEY; k++) {
        if (!sl__status_has(s, k))
            continue;
        sl__cw_uint(&w, (uint64_t)k);
        if (key_type[k] == KT_UINT)
            sl__cw_uint(&w, s->u[k]);
        else if (key_type[k] == KT_TIME)
            sl__cw_int(&w, s->i[k]);
        else
            sl__cw_cstr(&w, s->last_error);
    }
    if (w.overflow || w.len > SL_STATUSMSG_MAX)
        return SL_ERR_TOO_LARGE;
    *len = w.len;
    return SL_OK;
}

static int bad(char *why, size_t whysz, uint64_t key, const char *reason)
{
    if (why != NULL && whysz > 0) {
        if (key)
            snprintf(why, whysz, "status key %llu: %s", (unsigned long long)key, reason);
        else
            snprintf(why, whysz, "status: %s", reason);
    }
    return SL_ERR_INVALID;
}

int sl__status_decode(const uint8_t *p, size_t len, sl__status *s, char *why, size_t whysz)
{
    sl__cr r;
    size_t n;
    uint64_t prev = 0;
    memset(s, 0, sizeof *s);
    if (why != NULL && whysz > 0)
        why[0] = '\0';
    if (len > SL_STATUSMSG_MAX * 4)
        return bad(why, whysz, 0, "too large");
    sl__cr_init(&r, p, len);
    if (sl__cr_map(&r, &n) != 0)
        return bad(why, whysz, 0, "not a CBOR map");
    if (n < 5 || n > MAP_MAX)
        return bad(why, whysz, 0, "needs keys 1-5 and at most 64 entries");
    for (size_t e = 0; e < n; e++) {
        uint64_t key;
        if (sl__cr_uint(&r, &key) != 0)
            return bad(why, whysz, 0, "a key is not an unsigned integer");
        if (key <= prev)
            return bad(why, whysz, key, "out of order or repeated");
        if (e < 5 && key != e + 1)
            return bad(why, whysz, e + 1, "missing");
        prev = key;
        if (key > SL_ST_LAST_KEY) {
            /* a newer agent's key: skip it, the rest still reads */
            if (sl__cr_skip(&r) != 0)
                return bad(why, whysz, key, "malformed value");
            continue;
        }
        switch (key_type[key]) {
        case KT_UINT: {
            uint64_t v;
            if (sl__cr_uint(&r, &v) != 0)
                return bad(why, whysz, key, "expected an unsigned integer");
            if (key == 3)
                s->acked_through = v;
            else if (key == 4)
                s->last_seq = v;
            else {
                if (key == SL_ST_HEALTH && v > SL_HEALTH_FAILING)
                    return bad(why, whysz, key, "health must be 0, 1 or 2");
                s->u[key] = v;
                s->has |= 1u << key;
            }
            break;
        }
        case KT_TIME: {
            int64_t v;
            if (sl__cr_int(&r, &v) != 0 || v < 0)
                return bad(why, whysz, key, "expected a time (Unix ms, >= 0)");
            if (key == 2)
                s->ts_ms = v;
            else {
                s->i[key] = v;
                s->has |= 1u << key;
            }
            break;
        }
        case KT_TEXT: {
            const uint8_t *t;
            size_t tl;
            if (sl__cr_tstr(&r, &t, &tl) != 0)
                return bad(why, whysz, key, "expected a text string");
            if (key == 1) {
                if (tl == 6 && memcmp(t, "online", 6) == 0)
                    s->online = 1;
                else if (!(tl == 7 && memcmp(t, "offline", 7) == 0))
                    return bad(why, whysz, key, "must be \"online\" or \"offline\"");
            } else if (key == 5) {
                if (!version_ok((const char *)t, tl))
                    return bad(why, whysz, key, "version: 1-32 printable characters");
                memcpy(s->version, t, tl);
            } else {
                if (tl > SL_STATUS_ERROR_MAX || !text_ok(t, tl))
                    return bad(why, whysz, key, "at most 160 bytes of UTF-8 without control "
                               "characters");
                memcpy(s->last_error, t, tl);
                s->has |= 1u << key;
            }
            break;
        }
        default:
            return bad(why, whysz, key, "unknown key");
        }
    }
    if (sl__cr_next(&r) != SL_CT_NONE)
        return bad(why, whysz, 0, "trailing bytes after the map");
    if (r.err)
        return bad(why, whysz, 0, "malformed or not deterministic CBOR");
    return SL_OK;
}

int sl__status_health(const sl__status *s, int64_t now_ms, int64_t alert_ms)
{
    int64_t na = sl__status_has(s, SL_ST_CERT_NOT_AFTER) ? s->i[SL_ST_CERT_NOT_AFTER] : 0;
    if (na > 0 && now_ms > na)
        return SL_HEALTH_FAILING;
    if (na > 0 && na - now_ms < MS_30_DAYS)
        return SL_HEALTH_DEGRADED;
    if (sl__status_has(s, SL_ST_DEAD) && s->u[SL_ST_DEAD] > 0)
        return SL_HEALTH_DEGRADED;
    if (sl__status_has(s, SL_ST_UNACKED) && s->u[SL_ST_UNACKED] > 0 &&
        sl__status_has(s, SL_ST_OLDEST_TS) && s->i[SL_ST_OLDEST_TS] > 0 &&
        now_ms - s->i[SL_ST_OLDEST_TS] > alert_ms)
        return SL_HEALTH_DEGRADED;
    if (sl__status_has(s, SL_ST_JOURNAL_USED) && sl__status_has(s, SL_ST_JOURNAL_LIMIT) &&
        s->u[SL_ST_JOURNAL_LIMIT] > 0 &&
        s->u[SL_ST_JOURNAL_USED] > s->u[SL_ST_JOURNAL_LIMIT] / 10 * 9)
        return SL_HEALTH_DEGRADED;
    return SL_HEALTH_HEALTHY;
}

const char *sl__status_health_name(int health)
{
    switch (health) {
    case SL_HEALTH_HEALTHY: return "healthy";
    case SL_HEALTH_DEGRADED: return "degraded";
    case SL_HEALTH_FAILING: return "failing";
    }
    return "unknown";
}
