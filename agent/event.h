/* event.h - internal helpers around sl_event (names, text rules). */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stddef.h>

#include "storelink.h"

const char *sl__kind_name(sl_kind k);
int sl__kind_parse(const char *s, sl_kind *k);
const char *sl__reason_name(sl_reason r);
int sl__reason_parse(const char *s, sl_reason *r);
const char *sl__disp_name(sl_disposition d);
int sl__disp_parse(const char *s, sl_disposition *d);

/* 1 if s[0..n) is well-formed UTF-8. */
int sl__utf8_valid(const char *s, size_t n);
/* 1 if s contains a 13-19 digit Luhn-valid run or track-2-like data. */
int sl__has_card_data(const char *s, size_t n);
/* 1 if s is an 8/12/13/14-digit GTIN with a correct GS1 check digit. */
int sl__is_gtin(const char *s, size_t n);
int sl__gs1_check_ok(const char *s, size_t n);
/* Field rules shared by every input path; SL_OK or SL_ERR_INVALID. */
int sl__check_text(const char *s, size_t max, const char *field, sl_problem *p);
int sl__check_sku(const char *s, const char *field, sl_problem *p);

#endif
