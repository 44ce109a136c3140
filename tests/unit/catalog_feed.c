/*
 * catalog_feed - test helper standing in for the hub and the daemon's
 * catalog wiring, so tests/cli/85-catalog.t can drive `storelink price` and
 * `storelink stock` without a broker.
 *
 *   catalog_feed STATE_DIR PUBKEY_FILE MSG_FILE DEVICE [STORE]
 *       apply one catalog message file as the daemon would (STORE defaults
 *       to store-1, the configuration's default).  Prints one line:
 *         applied TYPE SCOPE vN
 *         stale TYPE SCOPE vN (held vM)
 *         rejected: REASON
 *         need-snapshot TYPE SCOPE held vM request HEX
 *       (HEX: the catalog-request the daemon would publish).  Exit 0 applied,
 *       2 stale, 3 rejected, 4 need snapshot, 1 storage error, 64 usage.
 *   catalog_feed --keygen KEY_FILE PUB_FILE
 *       create a catalog key pair (P-256, PEM).
 *   catalog_feed --build KEY_FILE OUT_FILE FIELD=VALUE...
 *       build and sign a catalog message.  Fields: type=prices|stock,
 *       scope=ID, version=N, kind=snapshot|delta (base = version - 1),
 *       issued=MS, expires=MS, item=SKU,PRICE,CUR,EFFECTIVE_FROM (prices) or
 *       item=SKU,ON_HAND_MILLI (stock), wm=DEVICE,SEQ (stock; repeatable),
 *       sign=no (write the payload alone, unsigned).
 *   catalog_feed --stats STATE_DIR
 *       print the persisted counters: applied N stale N rejected N gaps N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catmsg.h"
#include "cborio.h"
#include "crypto.h"
#include "platform.h"

#define MAX_ITEMS 256
#define MAX_WM 16

static int usage(void)
{
    fprintf(stderr,
            "usage: catalog_feed STATE_DIR PUBKEY_FILE MSG_FILE DEVICE [STORE]\n"
            "       catalog_feed --keygen KEY_FILE PUB_FILE\n"
            "       catalog_feed --build KEY_FILE OUT_FILE FIELD=VALUE...\n"
            "       catalog_feed --stats STATE_DIR\n");
    return 64;
}

static int num(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || end == s || (*end != '\0' && *end != ','))
        return -1;
    *v = x;
    return 0;
}

static int read_all(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b != NULL) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        if (cap >= SL_CATMSG_MAX * 2u) {
            free(b);
            b = NULL;
            break;
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (nb == NULL) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (b == NULL || bad) {
        free(b);
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

static int write_all(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    int bad = fwrite(b, 1, n, f) != n;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

static int cmd_keygen(int argc, char **argv)
{
    sl__key *k = NULL;
    if (argc != 4)
        return usage();
    if (sl__key_generate(argv[2]) != SL_OK || sl__key_load(&k, argv[2]) != SL_OK ||
        sl__key_write_pub(k, argv[3]) != SL_OK) {
        fprintf(stderr, "catalog_feed: cannot create the key pair\n");
        sl__key_free(k);
        return 1;
    }
    sl__key_free(k);
    return 0;
}

static int cmd_build(int argc, char **argv)
{
    static sl__cat_price prices[MAX_ITEMS];
    static sl__cat_stock stock[MAX_ITEMS];
    static sl__cat_wm wms[MAX_WM];
    sl__catmsg m;
    int sign = 1;
    int64_t v;
    size_t n_items = 0;
    memset(&m, 0, sizeof m);
    m.kind = SL_CAT_SNAPSHOT;
    if (argc < 4)
        return usage();
    /* type first: items depend on it */
    for (int i = 4; i < argc; i++)
        if (strcmp(argv[i], "type=stock") == 0)
            m.type = SL_CAT_STOCK;
        else if (strcmp(argv[i], "type=prices") == 0)
            m.type = SL_CAT_PRICES;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *val = strchr(a, '=');
        if (val == NULL)
            return usage();
        val++;
        if (strncmp(a, "type=", 5) == 0) {
            continue;
        } else if (strncmp(a, "scope=", 6) == 0) {
            snprintf(m.scope, sizeof m.scope, "%s", val);
        } else if (strncmp(a, "version=", 8) == 0 && num(val, &v) == 0) {
            m.version = (uint64_t)v;
        } else if (strcmp(a, "kind=snapshot") == 0) {
            m.kind = SL_CAT_SNAPSHOT;
        } else if (strcmp(a, "kind=delta") == 0) {
            m.kind = SL_CAT_DELTA;
        } else if (strncmp(a, "issued=", 7) == 0 && num(val, &v) == 0) {
            m.issued_at = v;
        } else if (strncmp(a, "expires=", 8) == 0 && num(val, &v) == 0) {
            m.expires_at = v;
            m.has_expires = 1;
        } else if (strcmp(a, "sign=no") == 0) {
            sign = 0;
        } else if (strncmp(a, "item=", 5) == 0 && n_items < MAX_ITEMS) {
            char f[4][SL_SKU_MAX + 1];
            int nf = 0;
            const char *p = val;
            while (nf < 4) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);
                if (l >= sizeof f[0])
                    return usage();
                memcpy(f[nf], p, l);
                f[nf++][l] = '\0';
                if (c == NULL)
                    break;
                p = c + 1;
            }
            if (m.type == SL_CAT_PRICES && nf == 4) {
                sl__cat_price *pr = &prices[n_items++];
                memcpy(pr->sku, f[0], sizeof pr->sku);
                if (num(f[1], &v) != 0)
                    return usage();
                pr->price = (uint64_t)v;
                if (strlen(f[2]) >= sizeof pr->currency)
                    return usage();
                memcpy(pr->currency, f[2], strlen(f[2]) + 1);
                if (num(f[3], &pr->effective_from) != 0)
                    return usage();
            } else if (m.type == SL_CAT_STOCK && nf == 2) {
                sl__cat_stock *st = &stock[n_items++];
                memcpy(st->sku, f[0], sizeof st->sku);
                if (num(f[1], &st->on_hand_milli) != 0)
                    return usage();
            } else {
                return usage();
            }
        } else if (strncmp(a, "wm=", 3) == 0 && m.n_watermarks < MAX_WM) {
            const char *c = strchr(val, ',');
            sl__cat_wm *w = &wms[m.n_watermarks++];
            if (c == NULL || (size_t)(c - val) > SL_CAT_ID_MAX || num(c + 1, &v) != 0)
                return usage();
            memcpy(w->device, val, (size_t)(c - val));
            w->device[c - val] = '\0';
            w->seq = (uint64_t)v;
            m.has_watermarks = 1;
        } else {
            fprintf(stderr, "catalog_feed: bad field '%s'\n", a);
            return usage();
        }
    }
    if (m.kind == SL_CAT_DELTA && m.version > 0)
        m.base = m.version - 1;
    m.n_items = n_items;
    m.prices = prices;
    m.stock = stock;
    m.watermarks = wms;
    sl__key *k = NULL;
    char why[160] = "";
    size_t cap = 1 << 20, len = 0;
    uint8_t *out = malloc(cap);
    int rc = out ? sl__key_load(&k, argv[2]) : SL_ERR_NOMEM;
    if (rc == SL_OK)
        rc = sl__catmsg_build(&m, k, out, cap, &len, why, sizeof why);
    sl__key_free(k);
    if (rc != SL_OK) {
        fprintf(stderr, "catalog_feed: build: %s%s%s\n", sl_strerror(rc), why[0] ? ": " : "", why);
        free(out);
        return 1;
    }
    const uint8_t *wr = out;
    size_t wlen = len;
    if (!sign) {
        /* the payload alone: what an attacker without the key could send */
        sl__cr r;
        size_t n2, plen = 0;
        const uint8_t *p = NULL;
        sl__cr_init(&r, out, len);
        if (sl__cr_array(&r, &n2) != 0 || sl__cr_bstr(&r, &p, &plen) != 0) {
            free(out);
            return 1;
        }
        wr = p;
        wlen = plen;
    }
    rc = write_all(argv[3], wr, wlen);
    free(out);
    if (rc != 0) {
        fprintf(stderr, "catalog_feed: cannot write %s\n", argv[3]);
        return 1;
    }
    return 0;
}

static int cmd_stats(int argc, char **argv)
{
    sl_catalog *cat;
    sl__catalog_stats st;
    if (argc != 3)
        return usage();
    int rc = sl_catalog_open(&cat, argv[2]);
    if (rc != SL_OK) {
        fprintf(stderr, "catalog_feed: %s\n", sl_strerror(rc));
        return 1;
    }
    rc = sl__catalog_stats_get(cat, &st);
    sl_catalog_close(cat);
    if (rc != SL_OK)
        return 1;
    printf("applied %llu stale %llu rejected %llu gaps %llu\n", (unsigned long long)st.applied,
           (unsigned long long)st.stale, (unsigned long long)st.rejected,
           (unsigned long long)st.gaps);
    if (st.last_reject[0])
        printf("last rejected: %s\n", st.last_reject);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--keygen") == 0)
        return cmd_keygen(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "--build") == 0)
        return cmd_build(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "--stats") == 0)
        return cmd_stats(argc, argv);
    if (argc != 5 && argc != 6)
        return usage();
    const char *store = argc == 6 ? argv[5] : "store-1";
    sl__pub *pub = NULL;
    sl_catalog *cat = NULL;
    uint8_t *msg = NULL;
    size_t len = 0;
    sl__cat_result res;
    int rc = sl__pub_load(&pub, argv[2]);
    if (rc != SL_OK) {
        fprintf(stderr, "catalog_feed: cannot load %s: %s\n", argv[2], sl_strerror(rc));
        return 1;
    }
    if (read_all(argv[3], &msg, &len) != 0) {
        fprintf(stderr, "catalog_feed: cannot read %s\n", argv[3]);
        sl__pub_free(pub);
        return 1;
    }
    rc = sl__catalog_open_rw(&cat, argv[1], store, 0);
    if (rc == SL_OK)
        rc = sl__catalog_apply(cat, pub, sl_plat_now_ms(), argv[4], msg, len, &res);
    sl_catalog_close(cat);
    sl__pub_free(pub);
    free(msg);
    if (rc != SL_OK) {
        fprintf(stderr, "catalog_feed: %s\n", sl_strerror(rc));
        return 1;
    }
    const char *type = sl__cat_type_name(res.type);
    switch (res.outcome) {
    case SL_CAT_APPLIED:
        printf("applied %s %s v%llu\n", type, res.scope, (unsigned long long)res.version);
        return 0;
    case SL_CAT_STALE:
        printf("stale %s %s v%llu (held v%llu)\n", type, res.scope,
               (unsigned long long)res.version, (unsigned long long)res.held_version);
        return 2;
    case SL_CAT_REJECTED:
        printf("rejected: %s\n", res.reason);
        return 3;
    case SL_CAT_NEED_SNAPSHOT: {
        sl__catreq q = {res.type, "", res.held_version};
        uint8_t b[SL_CATREQ_MAX];
        size_t bl = 0;
        snprintf(q.scope, sizeof q.scope, "%s", res.scope);
        if (sl__catreq_encode(&q, b, sizeof b, &bl) != SL_OK)
            return 1;
        printf("need-snapshot %s %s held v%llu request ", type, res.scope,
               (unsigned long long)res.held_version);
        for (size_t i = 0; i < bl; i++)
            printf("%02x", b[i]);
        printf("\n");
        return 4;
    }
    }
    return 1;
}
