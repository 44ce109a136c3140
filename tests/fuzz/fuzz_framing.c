/*
 * Raw scanner input into scans (drivers/framing.c): bytes from a serial
 * tty or a pipe (sl__line_feed) and evdev key events (sl__kbd_feed), each
 * complete scan then parsed as drivers/scanmode.c does (sl__barcode_parse).
 * The first input byte picks the decoder; for key events the rest is read
 * as 8-byte records (type u16, code u16, value s32, little endian), the
 * fields of struct input_event the reader passes on.
 * Properties: every scan handed out is NUL-terminated at its length, at
 * most SL_SCAN_MAX bytes, not empty, holds no NUL, CR or LF (nor Tab for
 * key input); a dropped scan carries no bytes; and for byte input the
 * scans do not depend on how the bytes were split into reads (the whole
 * input at once, one byte per read, and reads cut at the sizes the second
 * input byte gives all yield the same scans).
 */
#include "fuzz.h"

#include "barcode.h"
#include "framing.h"
#include "storelink.h"

struct seen {
    int kbd;
    size_t n;            /* scans */
    uint64_t h;          /* FNV-1a over (err, len, bytes) of each */
};

static void mix(struct seen *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        s->h = (s->h ^ b[i]) * 1099511628211ull;
}

static void on_scan(void *ctx, const char *code, size_t len, int err)
{
    struct seen *s = ctx;
    FUZZ_CHECK(code != NULL && len <= SL_SCAN_MAX && code[len] == '\0', "scan out of bounds");
    if (err != SL_OK) {
        FUZZ_CHECK(err == SL_ERR_INVALID || err == SL_ERR_TOO_LARGE, "unexpected scan error");
        FUZZ_CHECK(len == 0 && code[0] == '\0', "a dropped scan carries bytes");
    } else {
        FUZZ_CHECK(len > 0 && strlen(code) == len, "empty scan, or a NUL inside one");
        FUZZ_CHECK(memchr(code, '\r', len) == NULL && memchr(code, '\n', len) == NULL &&
                       (!s->kbd || memchr(code, '\t', len) == NULL),
                   "a terminator inside a scan");
        sl_barcode b;
        sl_problem p;
        memset(&p, 0, sizeof p);
        if (sl__barcode_parse(code, len, &b, &p) == SL_OK)
            FUZZ_CHECK(fuzz_terminated(b.sku, sizeof b.sku) && b.sku[0] != '\0',
                       "parsed barcode out of bounds");
        else
            FUZZ_CHECK(p.field[0] != '\0' && p.reason[0] != '\0', "refusal without reason");
    }
    s->n++;
    mix(s, &err, sizeof err);
    mix(s, &len, sizeof len);
    mix(s, code, len);
}

static struct seen lines(const char *d, size_t n, size_t step)
{
    static sl_linebuf lb;
    struct seen s = {.kbd = 0, .n = 0, .h = 14695981039346656037ull};
    sl__line_init(&lb);
    for (size_t off = 0; off < n;) {
        size_t k = step == 0 || step > n - off ? n - off : step;
        sl__line_feed(&lb, d + off, k, on_scan, &s);
        off += k;
    }
    FUZZ_CHECK(lb.len <= SL_SCAN_MAX, "line buffer over its bound");
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if ((data[0] & 1) == 0) {
        const char *d = (const char *)data + 2;
        size_t n = size - 2;
        struct seen a = lines(d, n, 0);
        struct seen b = lines(d, n, 1);
        struct seen c = lines(d, n, (size_t)data[1] + 1);
        FUZZ_CHECK(a.n == b.n && a.h == b.h && a.n == c.n && a.h == c.h,
                   "scans depend on how the bytes were split into reads");
        return 0;
    }
    static sl_kbd k;
    struct seen s = {.kbd = 1, .n = 0, .h = 0};
    sl__kbd_init(&k);
    for (size_t off = 1; off + 8 <= size; off += 8) {
        const uint8_t *e = data + off;
        uint16_t type = (uint16_t)(e[0] | e[1] << 8);
        uint16_t code = (uint16_t)(e[2] | e[3] << 8);
        int32_t value = (int32_t)((uint32_t)e[4] | (uint32_t)e[5] << 8 | (uint32_t)e[6] << 16 |
                                  (uint32_t)e[7] << 24);
        sl__kbd_feed(&k, type, code, value, on_scan, &s);
        FUZZ_CHECK(k.len <= SL_SCAN_MAX, "key buffer over its bound");
    }
    return 0;
}
