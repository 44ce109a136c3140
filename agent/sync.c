/* The uplink engine; see sync.h and docs/PROTOCOL.md "Uplink". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "journal_internal.h"
#include "platform.h"
#include "sync.h"

struct inflight {
    uint64_t first, last;
    int mid;
    uint64_t sent_ms;
    size_t records;
};

struct sl__sync {
    sl_journal *j;
    sl__sync_cfg cfg;
    sl__transport tp;
    char topic_journal[256];
    int connected;
    unsigned window;
    uint64_t acked;          /* persisted acked_through */
    uint64_t next_seq;       /* next record to put in a batch */
    struct inflight fl[SL_SYNC_MAX_INFLIGHT];
    unsigned n_fl;
    uint64_t retry_at;       /* after a refused PUBACK: wait, do not hot-loop */
    uint64_t backoff_ms;
    int stopped;             /* draining for shutdown: no new batches */
    int hold;                /* a later batch overtook an earlier one at the
                                hub: send nothing until the earlier is acked */
    /* Sends not yet in the journal's sent log: written in the next ack's
     * transaction (no commit of their own while acks flow), or flushed on
     * disconnect / ack timeout, when no ack is coming. */
    sl__sent pend[2 * SL_SYNC_MAX_INFLIGHT];
    unsigned n_pend;
    /* the dead-letter retry batch in flight (one at a time, outside the
     * window: docs/PROTOCOL.md "Dead letters") */
    struct {
        int active;
        uint64_t first, last, sent_ms;
    } rt;
    sl__sync_stats st;
    uint64_t high_sent;      /* highest seq ever put in a batch */
    sl__sync_observer obs;
    void *obs_ctx;
};

static void fill(sl__sync *s, uint64_t now);

static void observe(sl__sync *s, const sl__sync_event *ev)
{
    if (s->obs != NULL)
        s->obs(s->obs_ctx, ev);
}

void sl__sync_set_observer(sl__sync *s, sl__sync_observer fn, void *ctx)
{
    s->obs = fn;
    s->obs_ctx = ctx;
}

void sl__sync_retry_now(sl__sync *s, uint64_t now_ms)
{
    s->retry_at = 0;
    s->backoff_ms = 0;
    fill(s, now_ms);
}

int sl__sync_topic(const sl__sync_cfg *c, const char *leaf, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%s/%s/%s", c->prefix, c->store, c->device, leaf);
    return n > 0 && (size_t)n < outsz ? SL_OK : SL_ERR_TOO_LARGE;
}

int sl__sync_new(sl__sync **out, sl_journal *j, const sl__sync_cfg *cfg,
                 const sl__transport *tp)
{
    sl__sync *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SL_ERR_NOMEM;
    s->j = j;
    s->cfg = *cfg;
    s->tp = *tp;
    if (s->cfg.max_inflight == 0 || s->cfg.max_inflight > SL_SYNC_MAX_INFLIGHT)
        s->cfg.max_inflight = s->cfg.max_inflight ? SL_SYNC_MAX_INFLIGHT : 8;
    int rc = sl__sync_topic(cfg, "journal", s->topic_journal, sizeof s->topic_journal);
    if (rc == SL_OK)
        rc = sl__journal_acked(j, &s->acked);
    if (rc != SL_OK) {
        free(s);
        return rc;
    }
    s->next_seq = s->acked + 1;
    s->st.acked_through = s->acked;
    *out = s;
    return SL_OK;
}

static void flush_sent(sl__sync *s);

void sl__sync_free(sl__sync *s)
{
    if (s != NULL)
        flush_sent(s);
    free(s);
}

static void set_error(sl__sync *s, const char *fmt, const char *arg)
{
    snprintf(s->st.last_error, sizeof s->st.last_error, fmt, arg);
}

static void flush_sent(sl__sync *s)
{
    if (s->n_pend == 0)
        return;
    int rc = sl__journal_sent_log(s->j, s->pend, s->n_pend);
    if (rc != SL_OK)
        sl_plat_log(SL_LOG_WARNING, "cannot write the sent log: %s", sl_strerror(rc));
    s->n_pend = 0;   /* the log is for `trace`: never hold sync up for it */
}

static void note_sent(sl__sync *s, uint64_t first, uint64_t last)
{
    int64_t now = sl_plat_now_ms();
    for (unsigned i = 0; i < s->n_pend; i++)
        if (s->pend[i].first == first) {
            s->pend[i].last = last;
            s->pend[i].last_sent_ms = now;
            s->pend[i].count++;
            return;
        }
    if (s->n_pend == sizeof s->pend / sizeof s->pend[0])
        flush_sent(s);
    s->pend[s->n_pend++] = (sl__sent){.first = first, .last = last, .first_sent_ms = now,
                                      .last_sent_ms = now, .count = 1};
}

/* Resend marked dead letters (`storelink dlq retry`): one retry batch of
 * consecutive marked records at a time; the hub's ack for it (keys 6 and 7)
 * settles them in the journal. */
static void fill_retry(sl__sync *s, uint64_t now)
{
    uint64_t first, n;
    if (s->rt.active || sl__journal_dlq_retry_run(s->j, SL_ACK_MAX_REJECTS, &first, &n) != SL_OK ||
        n == 0)
        return;
    sl__batch_opts o = {
        .device = s->cfg.device, .store = s->cfg.store,
        .max_records = (size_t)n, .max_bytes = s->cfg.batch_max_bytes,
        .compress = s->cfg.compress, .key = s->cfg.key,
        .cert_der = s->cfg.cert_der, .cert_len = s->cfg.cert_len,
        .now_ms = sl_plat_now_ms(), .retry = 1,
    };
    uint8_t *msg;
    size_t len;
    uint64_t bf, bl;
    int mid = 0;
    int rc = sl__batch_build(s->j, first, &o, &msg, &len, &bf, &bl, NULL);
    if (rc != SL_OK) {
        set_error(s, "cannot build retry batch: %s", sl_strerror(rc));
        sl_plat_log(SL_LOG_ERR, "%s", s->st.last_error);
        return;
    }
    rc = s->tp.publish(s->tp.ctx, s->topic_journal, msg, len, 0, &mid);
    free(msg);
    if (rc != 0)
        return;
    s->rt.active = 1;
    s->rt.first = bf;
    s->rt.last = bl;
    s->rt.sent_ms = now;
    s->st.retries_sent++;
    sl_plat_log(SL_LOG_NOTICE, "retrying dead letter(s) %llu..%llu", (unsigned long long)bf,
                (unsigned long long)bl);
}

/* Forget what is in flight and start again after the last acked record:
 * the hub may see a batch twice, never a gap. */
static void rewind_all(sl__sync *s)
{
    s->hold = 0;
    s->n_fl = 0;
    s->next_seq = s->acked + 1;
}

static void fill(sl__sync *s, uint64_t now)
{
    if (!s->connected || s->stopped || now < s->retry_at)
        return;
    fill_retry(s, now);
    if (s->hold)
        return;
    while (s->n_fl < s->window) {
        sl__batch_opts o = {
            .device = s->cfg.device, .store = s->cfg.store,
            .max_records = s->cfg.batch_max_records, .max_bytes = s->cfg.batch_max_bytes,
            .compress = s->cfg.compress, .key = s->cfg.key,
            .cert_der = s->cfg.cert_der, .cert_len = s->cfg.cert_len,
            .now_ms = sl_plat_now_ms(),
        };
        uint8_t *msg;
        size_t len, raw;
        uint64_t first, last;
        int rc = sl__batch_build(s->j, s->next_seq, &o, &msg, &len, &first, &last, &raw);
        if (rc == SL_ERR_NOT_FOUND)
            return;   /* all caught up */
        if (rc != SL_OK) {
            set_error(s, "cannot build batch: %s", sl_strerror(rc));
            sl_plat_log(SL_LOG_ERR, "%s", s->st.last_error);
            s->retry_at = now + 5000;
            return;
        }
        int mid = 0;
        rc = s->tp.publish(s->tp.ctx, s->topic_journal, msg, len, 0, &mid);
        free(msg);
        if (rc != 0)
            return;   /* the transport reports the disconnect itself */
        struct inflight *f = &s->fl[s->n_fl++];
        f->first = first;
        f->last = last;
        f->mid = mid;
        f->sent_ms = now;
        f->records = (size_t)(last - first + 1);
        s->next_seq = last + 1;
        note_sent(s, first, last);
        s->st.batches_sent++;
        s->st.records_sent += f->records;
        s->st.bytes_sent += len;
        if (first <= s->high_sent)
            s->st.resent_records += (last < s->high_sent ? last : s->high_sent) - first + 1;
        if (last > s->high_sent)
            s->high_sent = last;
        observe(s, &(sl__sync_event){.type = SL_SYNC_EV_SENT, .first = first, .last = last,
                                     .records = f->records, .bytes = len});
        sl_plat_log(SL_LOG_DEBUG, "sent batch %llu..%llu (%zu bytes)",
                    (unsigned long long)first, (unsigned long long)last, len);
    }
}

void sl__sync_on_connected(sl__sync *s, unsigned receive_max, uint64_t now_ms)
{
    s->connected = 1;
    s->window = s->cfg.max_inflight;
    if (receive_max > 0 && receive_max < s->window)
        s->window = receive_max;
    s->retry_at = 0;
    s->st.last_error[0] = '\0';
    rewind_all(s);
    fill(s, now_ms);
}

void sl__sync_on_disconnected(sl__sync *s, const char *why)
{
    s->connected = 0;
    rewind_all(s);
    s->rt.active = 0;
    flush_sent(s);
    if (why != NULL && why[0])
        set_error(s, "%s", why);
}

void sl__sync_on_puback(sl__sync *s, int mid, int reason, uint64_t now_ms)
{
    unsigned i;
    for (i = 0; i < s->n_fl; i++)
        if (s->fl[i].mid == mid)
            break;
    if (i == s->n_fl)
        return;   /* from before a rewind */
    if (reason < 0x80)
        return;   /* the broker took it (0x10 "no subscribers" included); only the hub's ack retires */
    /* refused (0x87 not authorized, 0x95 too large, ...): keep the records,
     * report, and try again later rather than in a hot loop */
    char why[96];
    snprintf(why, sizeof why, "broker refused batch %llu..%llu (reason 0x%02x%s)",
             (unsigned long long)s->fl[i].first, (unsigned long long)s->fl[i].last, reason,
             reason == 0x87 ? ", not authorized" : reason == 0x95 ? ", packet too large" : "");
    set_error(s, "%s", why);
    sl_plat_log(SL_LOG_WARNING, "%s", why);
    if (reason == 0x95 && s->cfg.batch_max_bytes > 4096)
        s->cfg.batch_max_bytes /= 2;   /* split: smaller batches next time */
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 1000;
    if (s->backoff_ms > 60000)
        s->backoff_ms = 60000;
    s->retry_at = now_ms + s->backoff_ms;
    rewind_all(s);
}

void sl__sync_on_ack(sl__sync *s, const uint8_t *payload, size_t len, uint64_t now_ms)
{
    sl__ack *a = malloc(sizeof *a);
    sl__dead_letter *dl = NULL;
    if (a == NULL)
        return;
    if (sl__ack_decode(payload, len, a) != SL_OK) {
        sl_plat_log(SL_LOG_WARNING, "ignoring malformed ack (%zu bytes)", len);
        goto out;
    }
    s->st.acks++;
    {
        /* an ack about the journal this one replaced (sent before the switch,
         * or a refusal the hub rolled back): its acked_through and rejects
         * name the old epoch's records */
        sl__epoch ep;
        uint32_t mine = sl__journal_epoch(s->j, &ep) == SL_OK ? ep.epoch : 1;
        if ((a->epoch ? a->epoch : 1) < mine) {
            if (a->error[0])
                set_error(s, "hub: %s", a->error);
            sl_plat_log(SL_LOG_INFO, "ignoring an ack of journal epoch %u (now %u)",
                        a->epoch ? a->epoch : 1, mine);
            goto out;
        }
    }
    if (a->n_rejects) {
        dl = calloc(a->n_rejects, sizeof *dl);
        if (dl == NULL)
            goto out;
        for (size_t i = 0; i < a->n_rejects; i++) {
            dl[i].seq = a->rejects[i].seq;
            dl[i].code = a->rejects[i].code;
            dl[i].when_ms = sl_plat_now_ms();
            snprintf(dl[i].reason, sizeof dl[i].reason, "%s", a->rejects[i].reason);
        }
    }
    int advanced = 0;
    sl__ack_apply ap = {
        .acked_through = a->acked_through, .rejects = dl, .n_rejects = a->n_rejects,
        .retried_first = a->retried_first, .retried_last = a->retried_last,
        .accepted = a->accepted, .n_accepted = a->n_accepted,
        .sent = s->pend, .n_sent = s->n_pend, .now_ms = sl_plat_now_ms(),
    };
    int rc = sl__journal_ack_apply(s->j, &ap, &advanced);
    if (rc != SL_OK) {
        set_error(s, "cannot store ack: %s", sl_strerror(rc));
        sl_plat_log(SL_LOG_ERR, "%s", s->st.last_error);
        goto out;
    }
    s->n_pend = 0;
    if (a->retried_first) {
        if (s->rt.active && a->retried_first == s->rt.first)
            s->rt.active = 0;
        s->st.retries_accepted += a->n_accepted;
        sl_plat_log(SL_LOG_NOTICE, "hub re-evaluated %llu..%llu: %zu accepted, %zu still rejected",
                    (unsigned long long)a->retried_first, (unsigned long long)a->retried_last,
                    a->n_accepted, a->n_rejects);
    }
    /* a retry's rejects are old dead letters judged again, not new ones */
    size_t fresh = 0;
    for (size_t i = 0; i < a->n_rejects; i++)
        fresh += !(a->retried_first && a->rejects[i].seq >= a->retried_first &&
                   a->rejects[i].seq <= a->retried_last);
    s->st.rejected += fresh;
    if (fresh)
        sl_plat_log(SL_LOG_WARNING, "hub rejected %zu record(s), kept as dead letters", fresh);
    if (a->acked_through > s->acked) {
        uint64_t acked = a->acked_through;
        sl_journal_info info;
        if (sl_journal_info_get(s->j, &info) == SL_OK && acked > info.last_seq)
            acked = info.last_seq;
        s->acked = acked;
        s->st.acked_through = acked;
        s->st.last_ack_ms = sl_plat_now_ms();
        s->backoff_ms = 0;
        s->hold = 0;
        unsigned k = 0;
        for (unsigned i = 0; i < s->n_fl; i++)
            if (s->fl[i].last > s->acked)
                s->fl[k++] = s->fl[i];
        s->n_fl = k;
        if (s->next_seq <= s->acked)
            s->next_seq = s->acked + 1;
    }
    for (size_t i = 0; i < a->n_rejects; i++)
        observe(s, &(sl__sync_event){.type = SL_SYNC_EV_REJECTED, .seq = a->rejects[i].seq,
                                     .code = a->rejects[i].code,
                                     .reason = a->rejects[i].reason});
    observe(s, &(sl__sync_event){.type = SL_SYNC_EV_ACKED, .acked_through = s->acked,
                                 .n_rejected = a->n_rejects, .advanced = advanced});
    if (a->error[0]) {
        set_error(s, "hub: %s", a->error);
        sl_plat_log(SL_LOG_WARNING, "hub refused a batch: %s", a->error);
        /* The hub told us where it wants to continue.  With a shared
         * subscription a batch can reach one hub instance before its
         * predecessor is committed by another: if the batch holding
         * resend_from is still in flight, keep it, drop what followed it
         * and hold until it is acked, instead of resending everything
         * (which would overtake itself again). */
        if (a->resend_from && a->resend_from <= s->next_seq) {
            unsigned keep = s->n_fl;
            for (unsigned i = 0; i < s->n_fl; i++)
                if (s->fl[i].first <= a->resend_from && a->resend_from <= s->fl[i].last)
                    keep = i;
            s->st.resent++;
            if (keep < s->n_fl && a->resend_from > s->acked) {
                s->n_fl = keep + 1;
                s->next_seq = s->fl[keep].last + 1;
                s->hold = 1;
            } else {
                rewind_all(s);
            }
        }
    }
    fill(s, now_ms);
out:
    free(dl);
    free(a);
}

void sl__sync_journal_switched(sl__sync *s, uint64_t now_ms)
{
    uint64_t acked = 0;
    if (sl__journal_acked(s->j, &acked) != SL_OK)
        acked = 0;
    s->acked = acked;
    s->st.acked_through = acked;
    s->n_pend = 0;   /* sends of the old file: the sent log is for trace only */
    s->rt.active = 0;
    rewind_all(s);
    sl_plat_log(SL_LOG_NOTICE, "journal: new epoch, sending again from seq %llu",
                (unsigned long long)(acked + 1));
    fill(s, now_ms);
}

void sl__sync_kick(sl__sync *s, uint64_t now_ms)
{
    fill(s, now_ms);
}

uint64_t sl__sync_tick(sl__sync *s, uint64_t now_ms)
{
    if (s->connected && !s->stopped && s->n_fl > 0 &&
        now_ms >= s->fl[0].sent_ms + s->cfg.ack_timeout_ms) {
        sl_plat_log(SL_LOG_NOTICE, "no ack for batch %llu..%llu within %llu ms: resending",
                    (unsigned long long)s->fl[0].first, (unsigned long long)s->fl[0].last,
                    (unsigned long long)s->cfg.ack_timeout_ms);
        s->st.resent++;
        rewind_all(s);
        flush_sent(s);
    }
    if (s->rt.active && now_ms >= s->rt.sent_ms + s->cfg.ack_timeout_ms)
        s->rt.active = 0;   /* no answer to the retry: send it again */
    fill(s, now_ms);
    uint64_t next = UINT64_MAX;
    if (s->connected && s->n_fl > 0)
        next = s->fl[0].sent_ms + s->cfg.ack_timeout_ms;
    if (s->connected && s->rt.active && s->rt.sent_ms + s->cfg.ack_timeout_ms < next)
        next = s->rt.sent_ms + s->cfg.ack_timeout_ms;
    if (s->connected && s->retry_at > now_ms && s->retry_at < next)
        next = s->retry_at;
    return next;
}

void sl__sync_set_limits(sl__sync *s, size_t batch_max_records, size_t batch_max_bytes,
                         unsigned max_inflight, uint64_t ack_timeout_ms)
{
    s->cfg.batch_max_records = batch_max_records;
    s->cfg.batch_max_bytes = batch_max_bytes;
    s->cfg.ack_timeout_ms = ack_timeout_ms;
    if (max_inflight > 0 && max_inflight <= SL_SYNC_MAX_INFLIGHT) {
        s->cfg.max_inflight = max_inflight;
        /* a smaller window applies as acks arrive; never above the broker's */
        if (s->window > max_inflight || s->window == 0)
            s->window = max_inflight;
    }
}

void sl__sync_stop_sending(sl__sync *s)
{
    s->stopped = 1;
}

int sl__sync_idle(const sl__sync *s)
{
    return s->n_fl == 0;
}

void sl__sync_stats_get(sl__sync *s, sl__sync_stats *st)
{
    sl_journal_info info;
    s->st.connected = s->connected;
    s->st.inflight = s->n_fl;
    s->st.next_seq = s->next_seq;
    if (sl_journal_info_get(s->j, &info) == SL_OK)
        s->st.last_seq = info.last_seq;
    *st = s->st;
}
