/* Ack messages: docs/PROTOCOL.md "Ack". */
#include <string.h>

#include "ack.h"
#include "cborio.h"
#include "storelink.h"

int sl__ack_encode(const sl__ack *a, uint8_t *buf, size_t cap, size_t *len)
{
    sl__cw w;
    size_t n = 2 + (a->n_rejects > 0) + (a->error[0] != 0) + (a->resend_from != 0) +
               (a->retried_first != 0) + (a->n_accepted > 0) + (a->epoch > 1);
    if (a->n_rejects > SL_ACK_MAX_REJECTS || a->n_accepted > SL_ACK_MAX_REJECTS)
        return SL_ERR_TOO_LARGE;
    sl__cw_init(&w, buf, cap);
    sl__cw_map(&w, n);
    sl__cw_uint(&w, 1);
    sl__cw_uint(&w, a->acked_through);
    if (a->n_rejects) {
        sl__cw_uint(&w, 2);
        sl__cw_array(&w, a->n_rejects);
        for (size_t i = 0; i < a->n_rejects; i++) {
            sl__cw_array(&w, 3);
            sl__cw_uint(&w, a->rejects[i].seq);
            sl__cw_uint(&w, a->rejects[i].code);
            sl__cw_cstr(&w, a->rejects[i].reason);
        }
    }
    sl__cw_uint(&w, 3);
    sl__cw_int(&w, a->hub_time);
    if (a->error[0]) {
        sl__cw_uint(&w, 4);
        sl__cw_cstr(&w, a->error);
    }
    if (a->resend_from) {
        sl__cw_uint(&w, 5);
        sl__cw_uint(&w, a->resend_from);
    }
    if (a->retried_first) {
        sl__cw_uint(&w, 6);
        sl__cw_array(&w, 2);
        sl__cw_uint(&w, a->retried_first);
        sl__cw_uint(&w, a->retried_last);
    }
    if (a->n_accepted) {
        sl__cw_uint(&w, 7);
        sl__cw_array(&w, a->n_accepted);
        for (size_t i = 0; i < a->n_accepted; i++)
            sl__cw_uint(&w, a->accepted[i]);
    }
    if (a->epoch > 1) {
        sl__cw_uint(&w, 8);
        sl__cw_uint(&w, a->epoch);
    }
    if (w.overflow)
        return SL_ERR_TOO_LARGE;
    *len = w.len;
    return SL_OK;
}

int sl__ack_decode(const uint8_t *buf, size_t len, sl__ack *a)
{
    sl__cr r;
    size_t n, m, three;
    uint64_t key, prev = 0, v;
    unsigned seen = 0;
    memset(a, 0, sizeof *a);
    sl__cr_init(&r, buf, len);
    if (sl__cr_map(&r, &n) != 0 || n > 8)
        return SL_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++) {
        if (sl__cr_uint(&r, &key) != 0 || key <= prev || key > 8)
            return SL_ERR_CORRUPT;
        prev = key;
        seen |= 1u << key;
        switch (key) {
        case 1:
            if (sl__cr_uint(&r, &a->acked_through) != 0) return SL_ERR_CORRUPT;
            break;
        case 2:
            if (sl__cr_array(&r, &m) != 0 || m == 0 || m > SL_ACK_MAX_REJECTS)
                return SL_ERR_CORRUPT;
            for (size_t k = 0; k < m; k++) {
                sl__ack_reject *rj = &a->rejects[k];
                if (sl__cr_array(&r, &three) != 0 || three != 3 ||
                    sl__cr_uint(&r, &rj->seq) != 0 || sl__cr_uint(&r, &v) != 0 ||
                    v > 0xffffffffu ||
                    sl__cr_tstr_copy(&r, rj->reason, sizeof rj->reason) != 0)
                    return SL_ERR_CORRUPT;
                rj->code = (uint32_t)v;
            }
            a->n_rejects = m;
            break;
        case 3:
            if (sl__cr_int(&r, &a->hub_time) != 0) return SL_ERR_CORRUPT;
            break;
        case 4:
            if (sl__cr_tstr_copy(&r, a->error, sizeof a->error) != 0) return SL_ERR_CORRUPT;
            break;
        case 5:
            if (sl__cr_uint(&r, &a->resend_from) != 0) return SL_ERR_CORRUPT;
            break;
        case 6:
            if (sl__cr_array(&r, &m) != 0 || m != 2 ||
                sl__cr_uint(&r, &a->retried_first) != 0 ||
                sl__cr_uint(&r, &a->retried_last) != 0 || a->retried_first == 0 ||
                a->retried_last < a->retried_first ||
                a->retried_last - a->retried_first >= SL_ACK_MAX_REJECTS)
                return SL_ERR_CORRUPT;
            break;
        case 7:
            if (sl__cr_array(&r, &m) != 0 || m == 0 || m > SL_ACK_MAX_REJECTS)
                return SL_ERR_CORRUPT;
            for (size_t k = 0; k < m; k++)
                if (sl__cr_uint(&r, &a->accepted[k]) != 0)
                    return SL_ERR_CORRUPT;
            a->n_accepted = m;
            break;
        case 8:
            if (sl__cr_uint(&r, &v) != 0 || v < 2 || v > 0xffffffffu)
                return SL_ERR_CORRUPT;
            a->epoch = (uint32_t)v;
            break;
        }
    }
    if (r.err || r.off != len || (seen & 0xa) != 0xa)
        return SL_ERR_CORRUPT;
    return SL_OK;
}
