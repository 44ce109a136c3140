/*
 * JSON event input: what `storelink record` parses, one event per line or
 * one (pretty-printed) event per input (agent/cli_record.c).  The input is
 * given with its length and no NUL, as cli_record hands over each line.
 * Properties: a refused event names a field and a reason (both
 * NUL-terminated); an event that passes validation encodes in every mode,
 * decodes back to the same encoding, and its export JSON is valid JSON.
 */
#include <jansson.h>

#include "codec.h"
#include "fuzz.h"
#include "json_event.h"
#include "storelink.h"

static sl_event ev, back;
static sl_record rec;
static uint8_t b1[SL_RECORD_MAX], b2[SL_RECORD_MAX];

static void round_trip(int mode, const char *wire_cur)
{
    static const uint8_t prev[32] = {1, 2, 3};
    uint8_t prev2[32];
    uint64_t seq2 = 0;
    size_t l1, l2;
    if (sl__codec_encode(&ev, mode, 42, prev, wire_cur, b1, sizeof b1, &l1) != SL_OK)
        return;   /* too large for one record: refused at record time */
    FUZZ_CHECK(sl__codec_decode(b1, l1, mode, wire_cur, &back, &seq2, prev2) == SL_OK,
               "a valid event's encoding does not decode");
    if (mode == SL_ENC_STORED)
        FUZZ_CHECK(seq2 == 42 && memcmp(prev, prev2, 32) == 0, "seq/prev lost in the round trip");
    FUZZ_CHECK(sl__codec_encode(&back, mode, seq2, prev2, wire_cur, b2, sizeof b2, &l2) == SL_OK,
               "a decoded event does not encode");
    FUZZ_CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0, "encoding changed in a round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_problem p;
    memset(&p, 0, sizeof p);
    if (sl__json_parse_event((const char *)data, size, &ev, &p) != SL_OK) {
        FUZZ_CHECK(fuzz_terminated(p.field, sizeof p.field) && p.field[0] != '\0' &&
                       fuzz_terminated(p.reason, sizeof p.reason) && p.reason[0] != '\0',
                   "a refusal without field or reason");
        return 0;
    }
    if (sl_event_validate(&ev, &p) != SL_OK) {
        FUZZ_CHECK(p.field[0] != '\0' && p.reason[0] != '\0', "a refusal without field or reason");
        return 0;
    }
    int64_t total;
    (void)sl_event_total(&ev, &total);
    round_trip(SL_ENC_STORED, NULL);
    round_trip(SL_ENC_CONTENT, NULL);
    round_trip(SL_ENC_WIRE, NULL);
    round_trip(SL_ENC_WIRE, ev.currency[0] ? ev.currency : "EUR");

    /* the export line of the record (storelink export / --json) */
    memset(&rec, 0, sizeof rec);
    rec.seq = 1;
    rec.ev = ev;
    char *js = sl__json_record(&rec);
    if (js != NULL) {
        json_error_t jerr;
        json_t *v = json_loads(js, 0, &jerr);
        FUZZ_CHECK(v != NULL, "export JSON of a valid event does not parse");
        json_decref(v);
        free(js);
    }
    return 0;
}
