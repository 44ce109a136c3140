/*
 * Batch ingestion: docs/PROTOCOL.md "Hub".  The order of checks matters:
 * everything that needs no database (topic, envelope, certificate,
 * signature) comes first, so garbage never takes the write lock; then one
 * transaction reads the device's chain state (shared by every hub process
 * on this database), walks the records, and commits before any ack exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ingest.h"
#include "log.h"
#include "platform.h"

static int id_valid(const char *s, size_t n)
{
    if (n == 0 || n > HUB_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int hub_topic_parse(const char *prefix, const char *topic, char *store, char *device,
                    char *leaf, size_t leafsz)
{
    size_t pl = strlen(prefix);
    if (strncmp(topic, prefix, pl) != 0 || topic[pl] != '/')
        return SL_ERR_INVALID;
    const char *p = topic + pl + 1;
    const char *s1 = strchr(p, '/');
    if (s1 == NULL)
        return SL_ERR_INVALID;
    const char *s2 = strchr(s1 + 1, '/');
    if (s2 == NULL || strchr(s2 + 1, '/') != NULL)
        return SL_ERR_INVALID;
    size_t sl = (size_t)(s1 - p), dl = (size_t)(s2 - s1 - 1), ll = strlen(s2 + 1);
    if (!id_valid(p, sl) || !id_valid(s1 + 1, dl) || ll == 0 || ll >= leafsz)
        return SL_ERR_INVALID;
    memcpy(store, p, sl);
    store[sl] = '\0';
    memcpy(device, s1 + 1, dl);
    device[dl] = '\0';
    memcpy(leaf, s2 + 1, ll + 1);
    return SL_OK;
}

/* State of one walk over a batch's records, inside the transaction. */
struct walk {
    hub_store *st;
    const hub_policy *pol;
    const char *device;
    const char *store;
    uint64_t last_seq;       /* chain state as it advances */
    uint8_t last_hash[32];
    uint64_t added, rejected;
    int retry;               /* a dead-letter retry batch: re-evaluate */
    size_t n_accepted;       /* retry: records of the batch held as ok */
    uint64_t accepted[SL_ACK_MAX_REJECTS];
    uint64_t flipped;        /* retry: rejected records now accepted */
    int64_t now;
    char refusal[SL_ACK_REASON_MAX + 1];   /* batch refused: why */
    int err;                 /* storage error */
};

/* Returned by the walk callback to stop at a refusal or error (any
 * non-zero value stops sl__batch_records; the reason is in struct walk). */
#define WALK_STOP 1

static int currency_ok(const hub_policy *pol, const sl_event *ev)
{
    if (pol->n_currencies == 0 || ev->kind == SL_KIND_ADJUSTMENT || ev->kind == SL_KIND_DLQ_DROP ||
        ev->kind == SL_KIND_DAY_CLOSE)
        return 1;
    for (size_t i = 0; i < pol->n_currencies; i++)
        if (strcmp(pol->currencies[i], ev->currency) == 0)
            return 1;
    return 0;
}

/* The hub's rules for one record: 0 = accepted, else SL_REJ_* with reason. */
static uint32_t evaluate(const hub_policy *pol, const sl_event *ev, char *reason, size_t rsz)
{
    sl_problem pb;
    memset(&pb, 0, sizeof pb);
    if (sl_event_validate(ev, &pb) != SL_OK) {
        snprintf(reason, rsz, "%s: %s", pb.field, pb.reason);
        return SL_REJ_INVALID;
    }
    if (!currency_ok(pol, ev)) {
        snprintf(reason, rsz, "currency %.3s not accepted", ev->currency);
        return SL_REJ_CURRENCY;
    }
    return 0;
}

/* A record of a retry batch that the hub already holds (the hash matched):
 * a rejected one is judged again by today's rules; the row's status, code
 * and reason change, the record never does, and nothing is inserted, so a
 * retry can never count a sale twice. */
static int reevaluate(struct walk *w, uint64_t seq, const sl_event *ev)
{
    int rejected = 0;
    int rc = hub_store_record_rejected(w->st, w->device, seq, &rejected);
    if (rc != SL_OK)
        return rc;
    if (rejected) {
        char reason[sizeof(sl_problem) + 8];
        uint32_t code = evaluate(w->pol, ev, reason, sizeof reason);
        if ((rc = hub_store_record_reeval(w->st, w->device, seq, code, code ? reason : NULL)) !=
            SL_OK)
            return rc;
        if (code) {
            hub_log(SL_LOG_NOTICE, "device %s seq %llu retried, still rejected: %s", w->device,
                    (unsigned long long)seq, reason);
            return SL_OK;
        }
        w->flipped++;
        hub_log(SL_LOG_NOTICE, "device %s seq %llu retried: accepted", w->device,
                (unsigned long long)seq);
    }
    if (w->n_accepted < SL_ACK_MAX_REJECTS)
        w->accepted[w->n_accepted++] = seq;
    return SL_OK;
}

static int on_record(uint64_t seq, const sl_event *ev, const uint8_t *stored, size_t stored_len,
                     const uint8_t prev[32], const uint8_t hash[32], void *vctx)
{
    struct walk *w = vctx;
    int rc;
    if (seq <= w->last_seq) {
        /* Already stored: a resend after a lost ack, or an overlap.  It must
         * be the very record we hold, or the device's journal and ours have
         * diverged and nothing in this batch can be trusted to follow on. */
        uint8_t have[32];
        rc = hub_store_record_hash(w->st, w->device, seq, have);
        if (rc == SL_ERR_NOT_FOUND)
            return 0;   /* acknowledged long ago and removed here: nothing to compare */
        if (rc != SL_OK) {
            w->err = rc;
            return WALK_STOP;
        }
        if (memcmp(have, hash, 32) != 0) {
            snprintf(w->refusal, sizeof w->refusal, "chain mismatch at seq %llu",
                     (unsigned long long)seq);
            return WALK_STOP;
        }
        if (w->retry && (rc = reevaluate(w, seq, ev)) != SL_OK) {
            w->err = rc;
            return WALK_STOP;
        }
        return 0;
    }
    /* seq == last_seq + 1: the batch starts at most there and is gapless */
    if (memcmp(prev, w->last_hash, 32) != 0) {
        snprintf(w->refusal, sizeof w->refusal, "broken chain at seq %llu",
                 (unsigned long long)seq);
        return WALK_STOP;
    }
    char reason[sizeof(sl_problem) + 8];   /* stored whole, cut in the ack */
    hub_record_in r = {
        .device = w->device, .store = w->store, .seq = seq, .ev = ev, .hash = hash,
        .prev = prev, .body = stored, .body_len = stored_len, .received_ms = w->now,
    };
    /* A record the hub will not book is still stored (as rejected), so the
     * chain continues and the device can prune it; the ack says why. */
    r.reject_code = evaluate(w->pol, ev, reason, sizeof reason);
    if (r.reject_code)
        r.reason = reason;
    if ((rc = hub_store_record_add(w->st, &r)) != SL_OK) {
        w->err = rc;
        return WALK_STOP;
    }
    if (r.reject_code) {
        w->rejected++;
        hub_log(SL_LOG_NOTICE, "device %s seq %llu rejected: %s", w->device,
                (unsigned long long)seq, reason);
    }
    w->added++;
    w->last_seq = seq;
    memcpy(w->last_hash, hash, 32);
    return 0;
}

static int add_reject(uint64_t seq, uint32_t code, const char *reason, void *vctx)
{
    sl__ack *a = vctx;
    /* An ack holds SL_ACK_MAX_REJECTS.  Acknowledge only up to the first
     * reject that does not fit: the device resends the rest, and the ack
     * of that resend lists the next rejects (rejects arrive in seq order). */
    if (a->n_rejects >= SL_ACK_MAX_REJECTS) {
        if (seq - 1 < a->acked_through)
            a->acked_through = seq - 1;
        return -1;
    }
    sl__ack_reject *rj = &a->rejects[a->n_rejects++];
    size_t n = strlen(reason);
    if (n > SL_ACK_REASON_MAX) {
        n = SL_ACK_REASON_MAX;
        /* never cut a UTF-8 sequence: back up to the start of a character */
        while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
            n--;
    }
    rj->seq = seq;
    rj->code = code;
    memcpy(rj->reason, reason, n);
    rj->reason[n] = '\0';
    return 0;
}

int hub_ingest(hub_store *st, const hub_policy *pol, sl__ca *ca, const char *topic,
               const uint8_t *payload, size_t len, sl__ack *ack_out, char *ack_topic,
               size_t ack_topic_sz)
{
    char store[HUB_ID_MAX + 1], device[HUB_ID_MAX + 1], leaf[16], why[160];
    sl__batch_in b;
    struct walk *w = NULL;
    sl__ack *ack = NULL;
    hub_chain ch;
    int parsed = 0, in_txn = 0, rc;
    int64_t now = pol->now_ms ? pol->now_ms() : sl_plat_now_ms();

    if (hub_topic_parse(pol->topic_prefix, topic, store, device, leaf, sizeof leaf) != SL_OK ||
        strcmp(leaf, "journal") != 0) {
        hub_log(SL_LOG_WARNING, "message on unexpected topic '%.200s' ignored", topic);
        return SL_ERR_USAGE;
    }
    /* computed before anything is stored: a stored batch must get its ack */
    if (snprintf(ack_topic, ack_topic_sz, "%s/%s/%s/ack", pol->topic_prefix, store, device) >=
        (int)ack_topic_sz) {
        hub_log(SL_LOG_ERR, "ack topic for %s/%s does not fit", store, device);
        return SL_ERR_TOO_LARGE;
    }
    if (len > HUB_PAYLOAD_MAX) {
        hub_log(SL_LOG_WARNING, "batch from %s/%s refused: %zu bytes is too large", store,
                device, len);
        return SL_ERR_TOO_LARGE;
    }
    if ((rc = sl__batch_parse(payload, len, &b, why, sizeof why)) != SL_OK) {
        if (rc == SL_ERR_CORRUPT)
            hub_log(SL_LOG_WARNING, "batch from %s/%s refused: %s", store, device, why);
        else
            hub_log(SL_LOG_ERR, "batch from %s/%s not read: %s", store, device, sl_strerror(rc));
        return rc;
    }
    parsed = 1;
    if (strcmp(b.device, device) != 0 || strcmp(b.store, store) != 0) {
        hub_log(SL_LOG_WARNING, "batch from %s/%s refused: envelope names %.64s/%.64s", store,
                device, b.store, b.device);
        rc = SL_ERR_CRYPTO;
        goto out;
    }
    if ((rc = sl__batch_verify(&b, ca, why, sizeof why)) != SL_OK) {
        hub_log(SL_LOG_WARNING, "batch from %s/%s refused: %s", store, device, why);
        rc = SL_ERR_CRYPTO;
        goto out;
    }

    w = calloc(1, sizeof *w);
    ack = calloc(1, sizeof *ack);
    if (w == NULL || ack == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    if ((rc = hub_store_begin(st)) != SL_OK)
        goto out;
    in_txn = 1;
    if ((rc = hub_store_chain_get(st, device, &ch)) != SL_OK)
        goto out;
    ack->hub_time = now;
    ack->acked_through = ch.last_seq;
    /* journal epochs (docs/PROTOCOL.md "Journal epochs") */
    uint32_t hub_epoch;
    if ((rc = hub_store_epoch_get(st, device, &hub_epoch)) != SL_OK)
        goto out;
    ack->epoch = hub_epoch;   /* until this batch's break is committed */
    uint32_t epoch = b.epoch ? b.epoch : 1;
    if (epoch < hub_epoch) {
        snprintf(ack->error, sizeof ack->error, "epoch %u is older than the device's epoch %u",
                 epoch, hub_epoch);
        goto refused;
    }
    if (epoch > hub_epoch) {
        /* the device's journal was damaged and replaced: its chain now
         * continues from the old epoch's last verified record, which the
         * first batch of the epoch names as its prev */
        /* With an import (key 15) the epoch resends the old epoch's verified
         * records base+1..X that the hub had not acknowledged: same seqs,
         * same chain, so they link to base and are duplicates of what the
         * hub may hold already. */
        uint8_t have[32], xhash[32];
        uint64_t base = b.has_epoch_base ? b.epoch_base : b.epoch_from;
        if (b.first != base + 1) {
            snprintf(ack->error, sizeof ack->error, "epoch %u starts at seq %llu", epoch,
                     (unsigned long long)(base + 1));
            ack->resend_from = base + 1;
            goto refused;
        }
        if (base > 0 && base <= ch.last_seq) {
            rc = hub_store_record_hash(st, device, base, have);
            if (rc == SL_OK && memcmp(have, b.prev, 32) != 0) {
                snprintf(ack->error, sizeof ack->error, "epoch %u does not link to seq %llu",
                         epoch, (unsigned long long)base);
                goto refused;
            }
            if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
                goto out;
        }
        /* the chain after the break: the hub's own through X (it keeps what
         * it holds up to X; the batch's records up to there are compared as
         * duplicates), or the link point when the hub has less than base */
        uint64_t cseq = ch.last_seq;
        const uint8_t *chash = ch.last_hash;
        if (ch.last_seq < base) {
            cseq = base;
            chash = b.prev;
        } else if (ch.last_seq > b.epoch_from) {
            cseq = b.epoch_from;
            chash = b.prev;
            if (base < b.epoch_from) {
                rc = hub_store_record_hash(st, device, b.epoch_from, xhash);
                if (rc != SL_OK)
                    goto out;
                chash = xhash;
            }
        }
        hub_epoch_break eb = {device, store, epoch, hub_epoch, b.epoch_from, b.prev,
                              ch.last_seq, now, cseq, chash};
        uint64_t moved;
        if ((rc = hub_store_epoch_break(st, &eb, &moved)) != SL_OK)
            goto out;
        hub_log(SL_LOG_WARNING, "device %s/%s journal epoch %u from seq %llu (hub had through "
                "%llu; %llu record(s) of epoch %u kept aside%s)", store, device, epoch,
                (unsigned long long)b.epoch_from, (unsigned long long)ch.last_seq,
                (unsigned long long)moved, hub_epoch,
                ch.last_seq < base ? "; the records in between are only on the device" : "");
        memmove(ch.last_hash, chash, 32);
        ch.last_seq = cseq;
        ack->acked_through = ch.last_seq;
    }
    if (b.first > ch.last_seq + 1) {
        /* A gap: an earlier batch was lost or is still on its way.  Storing
         * this one would leave a hole the ack could not describe. */
        snprintf(ack->error, sizeof ack->error, "gap: expected seq %llu",
                 (unsigned long long)(ch.last_seq + 1));
        ack->resend_from = ch.last_seq + 1;
        goto refused;
    }
    if (b.retry && b.last - b.first >= SL_ACK_MAX_REJECTS) {
        /* the ack must be able to name every record of a retry */
        snprintf(ack->error, sizeof ack->error, "retry batch larger than %d records",
                 SL_ACK_MAX_REJECTS);
        goto refused;
    }
    w->retry = b.retry;
    w->st = st;
    w->pol = pol;
    w->device = device;
    w->store = store;
    w->last_seq = ch.last_seq;
    memcpy(w->last_hash, ch.last_hash, 32);
    w->now = now;
    rc = sl__batch_records(&b, on_record, w);
    if (w->err != SL_OK) {
        rc = w->err;
        goto out;
    }
    if (w->refusal[0]) {
        snprintf(ack->error, sizeof ack->error, "%s", w->refusal);
        goto refused;
    }
    if (rc == SL_ERR_CORRUPT) {
        /* signed by the device, yet the body does not decode */
        hub_log(SL_LOG_WARNING, "batch from %s/%s refused: records do not decode", store, device);
        goto out;
    }
    if (rc != SL_OK)
        goto out;
    /* also for a pure resend: it refreshes last_seen */
    if ((rc = hub_store_device_advance(st, device, store, w->last_seq, w->last_hash, now,
                                       w->rejected)) != SL_OK)
        goto out;
    ack->acked_through = w->last_seq;
    /* every rejected record in the batch's range, not only the new ones:
     * a resend after a lost ack must carry the same news */
    if ((rc = hub_store_rejects(st, device, b.first, b.last, add_reject, ack)) != SL_OK)
        goto out;
    if (b.retry) {
        /* the answer the device removes its dead letters on */
        ack->retried_first = b.first;
        ack->retried_last = b.last;
        ack->n_accepted = w->n_accepted;
        memcpy(ack->accepted, w->accepted, w->n_accepted * sizeof w->accepted[0]);
    }
    if ((rc = hub_store_commit(st)) != SL_OK) {
        in_txn = 0;   /* commit rolled back */
        goto out;
    }
    in_txn = 0;
    if (epoch > hub_epoch)
        ack->epoch = epoch;
    hub_log(SL_LOG_INFO, "batch %s/%s seq %llu-%llu%s: %llu stored (%llu rejected), acked through %llu",
            store, device, (unsigned long long)b.first, (unsigned long long)b.last,
            b.retry ? " (retry)" : "", (unsigned long long)w->added,
            (unsigned long long)w->rejected, (unsigned long long)ack->acked_through);
    goto ack;

refused:
    hub_store_rollback(st);
    in_txn = 0;
    hub_log(SL_LOG_WARNING, "batch %s/%s seq %llu-%llu refused: %s (acked through %llu)", store,
            device, (unsigned long long)b.first, (unsigned long long)b.last, ack->error,
            (unsigned long long)ack->acked_through);
ack:
    *ack_out = *ack;
    rc = SL_OK;
out:
    if (in_txn)
        hub_store_rollback(st);
    if (rc != SL_OK && rc != SL_ERR_USAGE && rc != SL_ERR_CORRUPT && rc != SL_ERR_CRYPTO)
        hub_log(SL_LOG_ERR, "batch from %s/%s not stored: %s", store, device, sl_strerror(rc));
    free(ack);
    free(w);
    if (parsed)
        sl__batch_in_free(&b);
    return rc;
}
