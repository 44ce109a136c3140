/*
 * cborio.h - deterministic CBOR writing and strict pull-style reading on top
 * of libcbor's streaming encoder and decoder (no cbor_item_t trees: they
 * cost about 14x the instructions per record, see ../shared/NOTES.md).
 *
 * The writer encodes into a caller buffer and latches the first error.  The
 * reader hands out one data item head at a time and rejects anything that is
 * not core deterministic CBOR (RFC 8949 4.2.1): non-shortest heads,
 * indefinite lengths, tags, floats and simple values other than booleans.
 * Map key order is checked by the callers, who know their keys.
 */
#ifndef SL_CBORIO_H
#define SL_CBORIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl__cw {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;        /* set when the buffer was too small */
} sl__cw;

void sl__cw_init(sl__cw *w, uint8_t *buf, size_t cap);
void sl__cw_uint(sl__cw *w, uint64_t v);
void sl__cw_int(sl__cw *w, int64_t v);
void sl__cw_tstr(sl__cw *w, const char *s, size_t n);
void sl__cw_cstr(sl__cw *w, const char *s);
void sl__cw_bstr(sl__cw *w, const uint8_t *b, size_t n);
void sl__cw_array(sl__cw *w, size_t n);
void sl__cw_map(sl__cw *w, size_t n);
void sl__cw_bool(sl__cw *w, bool b);

enum sl__ct {
    SL_CT_NONE = 0, SL_CT_UINT, SL_CT_NEGINT, SL_CT_BSTR, SL_CT_TSTR,
    SL_CT_ARRAY, SL_CT_MAP, SL_CT_BOOL, SL_CT_BAD
};

typedef struct sl__cr {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;             /* latched: malformed or non-deterministic input */
    /* the item just read */
    enum sl__ct type;
    uint64_t u;          /* uint value, negint raw n (value = -1 - n), count */
    const uint8_t *s;    /* string bytes (borrowed from p) */
    size_t slen;
    bool b;
} sl__cr;

void sl__cr_init(sl__cr *r, const uint8_t *p, size_t len);
/* Read the next item head; returns its type (SL_CT_BAD and r->err on error,
 * SL_CT_NONE at end of input). */
enum sl__ct sl__cr_next(sl__cr *r);
/* Typed helpers: 0 on success, -1 (and r->err) on a type mismatch. */
int sl__cr_uint(sl__cr *r, uint64_t *v);
int sl__cr_int(sl__cr *r, int64_t *v);
int sl__cr_tstr(sl__cr *r, const uint8_t **s, size_t *n);
int sl__cr_bstr(sl__cr *r, const uint8_t **s, size_t *n);
int sl__cr_array(sl__cr *r, size_t *n);
int sl__cr_map(sl__cr *r, size_t *n);
int sl__cr_bool(sl__cr *r, bool *b);
/* Skip one complete item (with nested content); 0 or -1. */
int sl__cr_skip(sl__cr *r);
/* Copy a text string item into a fixed buffer; -1 if it does not fit. */
int sl__cr_tstr_copy(sl__cr *r, char *dst, size_t dstsz);

#endif
