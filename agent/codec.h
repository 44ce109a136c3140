/*
 * codec.h - the journal record as deterministic CBOR (docs/PROTOCOL.md,
 * "Record").  Integer map keys, sorted; fields equal to their default are
 * omitted, so one event has exactly one encoding.
 */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

/* What to include in an encoding. */
enum {
    SL_ENC_STORED = 0,   /* full stored record: seq, ts and prev hash */
    SL_ENC_CONTENT = 1,  /* content only (no seq, prev, ts): idempotency */
    SL_ENC_WIRE = 2,     /* batch form: no seq and prev (implied by the batch) */
};

/* Record map keys (never renumbered). */
enum {
    SL_K_KIND = 1, SL_K_SEQ = 2, SL_K_TXN = 3, SL_K_TS = 4, SL_K_PREV = 5,
    SL_K_FLAGS = 6, SL_K_CURRENCY = 7, SL_K_ORIG_TXN = 8, SL_K_REASON = 9,
    SL_K_LOCATION = 10, SL_K_LINES = 11, SL_K_TENDERS = 12,
    /* dlq_drop (13..19 reserved for dead letters) */
    SL_K_TARGET_SEQ = 13, SL_K_TARGET_TXN = 14, SL_K_NOTE = 15, SL_K_OPERATOR = 16,
};
/* day_close keys (20..39 reserved for it; docs/PROTOCOL.md "Day close") */
enum {
    SL_K_DAY_DATE = 20, SL_K_DAY_TZ = 21, SL_K_DAY_END = 22, SL_K_DAY_PREV = 23,
    SL_K_DAY_FIRST = 24, SL_K_DAY_LAST = 25, SL_K_DAY_HASH = 26, SL_K_DAY_RECORDS = 27,
    SL_K_DAY_UNTRUSTED = 28, SL_K_DAY_TOTALS = 29, SL_K_DAY_METHODS = 30, SL_K_DAY_UNITS = 31,
    SL_K_DAY_THROUGH = 32,
};
enum {
    SL_KL_SKU = 1, SL_KL_QTY = 2, SL_KL_PRICE = 3, SL_KL_DISCOUNT = 4,
    SL_KL_TAX = 5, SL_KL_DISP = 6, SL_KL_EXPECTED = 7,
};

/* Largest encoding of any valid event (limits in storelink.h). */
#define SL_RECORD_MAX 32768

/* Encode ev into buf.  seq and prev are used for SL_ENC_STORED only (prev
 * may be NULL for zeros).  For SL_ENC_WIRE, a currency equal to
 * wire_currency (may be NULL) is left out.  SL_OK or SL_ERR_TOO_LARGE. */
int sl__codec_encode(const sl_event *ev, int mode, uint64_t seq,
                     const uint8_t *prev, const char *wire_currency,
                     uint8_t *buf, size_t cap, size_t *len);
/* The same with the record's ts given separately (the journal stamps
 * events recorded with ts_ms == 0 without copying them). */
int sl__codec_encode_ts(const sl_event *ev, int64_t ts_ms, int mode, uint64_t seq,
                        const uint8_t *prev, const char *wire_currency,
                        uint8_t *buf, size_t cap, size_t *len);

/* The same with the record's flags given separately: the journal adds the
 * clock-trust bits (SL_FLAG_CLOCK_MASK) it measured without copying ev. */
int sl__codec_encode_flags(const sl_event *ev, int64_t ts_ms, uint32_t flags, int mode,
                           uint64_t seq, const uint8_t *prev, const char *wire_currency,
                           uint8_t *buf, size_t cap, size_t *len);

/* Decode a record.  mode says which fields must be present (as encoded).
 * seq/prev may be NULL when mode has none.  For SL_ENC_WIRE a missing
 * currency is taken from wire_currency.  SL_OK or SL_ERR_CORRUPT (malformed,
 * non-deterministic, unknown key, out of order, trailing bytes). */
int sl__codec_decode(const uint8_t *buf, size_t len, int mode,
                     const char *wire_currency, sl_event *ev, uint64_t *seq,
                     uint8_t *prev);

#endif
