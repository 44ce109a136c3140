/*
 * storelink.h - public C API of storelink, the store-and-forward journal for
 * POS terminals and warehouse gateways.
 *
 * A POS application links libstorelink.a, opens the journal in the state
 * directory and records sales, returns and stock adjustments.  Every call that
 * can fail returns an sl_err code (SL_OK == 0); sl_strerror() turns it into a
 * message.  Handles are opaque.  The caller owns every struct it passes in;
 * the library never keeps a pointer to caller memory past the call.
 *
 * Money is integer minor units of an ISO 4217 currency; quantities are
 * integer milli-units (1.5 kg == 1500); timestamps are Unix milliseconds UTC.
 * The on-disk and wire formats are specified in docs/PROTOCOL.md.
 */
#ifndef STORELINK_H
#define STORELINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_VERSION "0.1.0"

#if defined(__GNUC__)
#define SL_NODISCARD __attribute__((warn_unused_result))
#else
#define SL_NODISCARD
#endif

/* Error codes.  Explicit values, never renumbered. */
typedef enum sl_err {
    SL_OK = 0,
    SL_ERR_INVALID = 1,      /* event failed validation (see sl_problem) */
    SL_ERR_CONFLICT = 2,     /* txn_id already recorded with other content */
    SL_ERR_FULL = 3,         /* journal reached max_db_mb */
    SL_ERR_IO = 4,           /* storage read/write/sync failed */
    SL_ERR_NOMEM = 5,        /* allocation failed */
    SL_ERR_NOT_FOUND = 6,    /* no such record / file */
    SL_ERR_CORRUPT = 7,      /* stored data does not decode or verify */
    SL_ERR_CONFIG = 8,       /* configuration file missing or invalid */
    SL_ERR_USAGE = 9,        /* bad argument to an API call */
    SL_ERR_TOO_LARGE = 10,   /* value exceeds a fixed limit */
    SL_ERR_UNSAFE = 11,      /* storage opened with unsafe durability flags */
    SL_ERR_BUSY = 12,        /* resource temporarily unavailable */
    SL_ERR_PERM = 13,        /* permission denied */
    SL_ERR_CRYPTO = 14,      /* hashing or signature failure */
    SL_ERR_DISK_FULL = 15,   /* the filesystem has no space left */
} sl_err;

/* Message for an error code; static storage, never NULL. */
const char *sl_strerror(int err);

/* Fixed limits (docs/PROTOCOL.md "Limits"). */
#define SL_TXN_ID_MAX 64     /* bytes, printable ASCII */
#define SL_SKU_MAX 64        /* bytes, UTF-8, no control characters */
#define SL_TEXT_MAX 64       /* location and other short text fields */
#define SL_METHOD_MAX 16     /* tender/refund method: [a-z0-9_] */
#define SL_MAX_LINES 200     /* lines per event */
#define SL_MAX_TENDERS 8     /* tenders or refunds per event */
#define SL_EVENT_JSON_MAX 16384 /* one JSON event, bytes */
#define SL_MONEY_MAX 100000000000LL   /* 10^11 minor units */
#define SL_QTY_MAX 1000000000LL       /* 10^9 milli-units (one million units) */
#define SL_NOTE_MAX 200      /* dlq_drop reason, characters (UTF-8, 4 bytes each at most) */

typedef enum sl_kind {
    SL_KIND_NONE = 0,
    SL_KIND_SALE = 1,
    SL_KIND_RETURN = 2,
    SL_KIND_ADJUSTMENT = 3,
    SL_KIND_DLQ_DROP = 4,    /* an operator dropped a dead letter: written by
                                `storelink dlq drop` only (sl_journal_record
                                refuses it with SL_ERR_INVALID); read back */
    SL_KIND_DAY_CLOSE = 5,   /* the day's Z-report (sl_day_close), written by close-day */
} sl_kind;

typedef enum sl_reason {
    SL_REASON_NONE = 0,
    SL_REASON_RECEIVE = 1,
    SL_REASON_DAMAGE = 2,
    SL_REASON_SHRINK = 3,
    SL_REASON_COUNT = 4,
    SL_REASON_TRANSFER_IN = 5,
    SL_REASON_TRANSFER_OUT = 6,
} sl_reason;

typedef enum sl_disposition {
    SL_DISP_NONE = 0,        /* not a return line */
    SL_DISP_RESTOCK = 1,     /* returned goods go back to sellable stock */
    SL_DISP_DAMAGED = 2,     /* returned goods are written off */
} sl_disposition;

/* Record flags (bit set). */
#define SL_FLAG_TAX_INCLUDED 0x01u  /* line prices include tax (VAT markets) */
#define SL_FLAG_CLOCK_UNSYNC 0x02u  /* device clock not synchronised */
#define SL_FLAG_CLOCK_JUMP 0x04u    /* wall clock jumped against the monotonic clock */
/* Set by the journal itself when it records an event (never by the caller's
 * choice alone): the clock-trust bits of docs/PROTOCOL.md "Clock trust". */
#define SL_FLAG_CLOCK_MASK (SL_FLAG_CLOCK_UNSYNC | SL_FLAG_CLOCK_JUMP)

typedef struct sl_line {
    char sku[SL_SKU_MAX + 1];
    int64_t qty_milli;       /* sale/return: > 0; adjustment: signed by reason;
                                count: the absolute counted quantity (>= 0) */
    int64_t unit_price;      /* minor units, >= 0 (sale/return) */
    int64_t discount;        /* minor units, >= 0 */
    int64_t tax;             /* minor units, >= 0 */
    int64_t expected_milli;  /* count only: on-hand the device believed */
    uint8_t has_expected;
    uint8_t disposition;     /* sl_disposition, returns only */
} sl_line;

typedef struct sl_tender {
    char method[SL_METHOD_MAX + 1];   /* "cash", "card", "voucher", ... */
    int64_t amount;                   /* minor units, > 0 */
} sl_tender;

/* ---- the day close (Z-report) record, docs/PROTOCOL.md "Day close" ---- */
#define SL_DAY_MAX_TOTALS 16     /* (kind, currency) rows */
#define SL_DAY_MAX_METHODS 32    /* (kind, currency, method) rows */
#define SL_DAY_MAX_UNITS 6       /* one row per adjustment reason */
#define SL_TZ_MAX 64             /* IANA time zone name, bytes */

typedef struct sl_day_total {    /* sales or returns in one currency */
    uint8_t kind;                /* SL_KIND_SALE or SL_KIND_RETURN */
    char currency[4];
    uint64_t count;              /* events */
    int64_t amount;              /* sum of event totals, minor units */
    int64_t tax;                 /* sum of line tax, minor units */
} sl_day_total;

typedef struct sl_day_method {   /* tenders (sale) or refunds (return) */
    uint8_t kind;
    char currency[4];
    char method[SL_METHOD_MAX + 1];
    uint64_t count;              /* tender entries */
    int64_t amount;
} sl_day_method;

typedef struct sl_day_units {    /* adjustments for one reason */
    uint8_t reason;              /* sl_reason */
    uint64_t count;              /* events */
    int64_t qty_milli;           /* sum of line quantities (count: counted qty) */
} sl_day_units;

typedef struct sl_day_close {
    char date[11];               /* business date "YYYY-MM-DD" */
    char timezone[SL_TZ_MAX + 1];
    uint32_t day_end_min;        /* minutes after local midnight, 0..1439 */
    char prev_date[11];          /* the previous close ("" = none) */
    uint64_t prev_seq;           /* its through_seq (0 = none) */
    uint64_t through_seq;        /* the journal's last seq when the close was made */
    uint64_t first_seq, last_seq;/* 0 when the day had no records */
    uint8_t last_hash[32];       /* hash of record last_seq (zeros if none) */
    uint64_t records;            /* records of the day */
    uint64_t clock_untrusted;    /* of those, with a clock-trust flag */
    size_t n_totals, n_methods, n_units;
    sl_day_total totals[SL_DAY_MAX_TOTALS];      /* sorted by kind, currency */
    sl_day_method methods[SL_DAY_MAX_METHODS];   /* sorted by kind, currency, method */
    sl_day_units units[SL_DAY_MAX_UNITS];        /* sorted by reason */
} sl_day_close;

/*
 * One journal event.  The same struct is filled by the caller to record and
 * by the library when reading back.  It is large (about 23 KiB): allocate it
 * on the heap or reuse one.  sl_event_init() zeroes the counters.
 */
typedef struct sl_event {
    sl_kind kind;
    uint32_t flags;                          /* SL_FLAG_* */
    char txn_id[SL_TXN_ID_MAX + 1];
    int64_t ts_ms;                           /* 0 = now when recording */
    char currency[4];                        /* sale/return: ISO 4217 */
    char original_txn_id[SL_TXN_ID_MAX + 1]; /* return only */
    sl_reason reason;                        /* adjustment only */
    char location[SL_TEXT_MAX + 1];          /* adjustment, optional */
    size_t n_lines;
    size_t n_tenders;                        /* sale: tenders; return: refunds */
    sl_line lines[SL_MAX_LINES];
    sl_tender tenders[SL_MAX_TENDERS];
    /* dlq_drop only (no lines, tenders or currency): the dead letter
     * dropped, why, and who did it */
    uint64_t target_seq;
    char target_txn_id[SL_TXN_ID_MAX + 1];
    char note[4 * SL_NOTE_MAX + 1];
    char operator_name[SL_TEXT_MAX + 1];
    sl_day_close day;                        /* day_close only (no lines) */
} sl_event;

void sl_event_init(sl_event *ev, sl_kind kind, const char *txn_id);
/* Append a line / tender; SL_ERR_TOO_LARGE when the event is full or a
 * string does not fit. */
SL_NODISCARD int sl_event_add_line(sl_event *ev, const char *sku,
                                   int64_t qty_milli, int64_t unit_price,
                                   int64_t discount, int64_t tax);
SL_NODISCARD int sl_event_add_tender(sl_event *ev, const char *method,
                                     int64_t amount);

/* Where validation failed: the field path ("lines[2].qty") and the reason.
 * Messages never contain the offending value of a rejected card number. */
typedef struct sl_problem {
    char field[48];
    char reason[160];
} sl_problem;

/* Validate an event.  SL_OK or SL_ERR_INVALID with *problem filled (problem
 * may be NULL). */
SL_NODISCARD int sl_event_validate(const sl_event *ev, sl_problem *problem);

/* A line's amount in minor units: qty x unit_price (rounded half away from
 * zero) - discount, + tax unless SL_FLAG_TAX_INCLUDED. */
SL_NODISCARD int sl_line_amount(const sl_event *ev, const sl_line *line,
                                int64_t *amount);
/* Sum of line amounts. */
SL_NODISCARD int sl_event_total(const sl_event *ev, int64_t *total);

/* ---- the journal ---------------------------------------------------- */

typedef struct sl_journal sl_journal;

typedef struct sl_journal_opts {
    uint64_t max_db_mb;   /* hard cap on the journal size; 0 = default 512 */
    int read_only;        /* open for reading only */
} sl_journal_opts;

/* Open (creating if needed) the journal under state_dir (the LMDB
 * environment lives in state_dir/journal).  opts may be NULL.  On success
 * *out is a handle the caller frees with sl_journal_close(). */
SL_NODISCARD int sl_journal_open(sl_journal **out, const char *state_dir,
                                 const sl_journal_opts *opts);
void sl_journal_close(sl_journal *j);

typedef enum sl_status {
    SL_STATUS_RECORDED = 0,
    SL_STATUS_DUPLICATE = 1,  /* same txn_id, same content: original seq */
} sl_status;

/* Validate and durably record one event (the call returns after the
 * fsync'd commit).  ev->ts_ms == 0 is replaced by the current time in the
 * stored record (ev itself is not changed).  On SL_OK *seq is the sequence
 * number and *status says recorded or duplicate.  SL_ERR_INVALID (problem
 * filled), SL_ERR_CONFLICT, SL_ERR_FULL, SL_ERR_IO: nothing was written. */
SL_NODISCARD int sl_journal_record(sl_journal *j, const sl_event *ev,
                                   uint64_t *seq, sl_status *status,
                                   sl_problem *problem);

/* Result of one event in sl_journal_record_many(). */
typedef struct sl_result {
    int err;              /* SL_OK or the error for this event */
    uint64_t seq;
    sl_status status;
    sl_problem problem;
} sl_result;

/* Record n events in one durable commit (group commit).  Each event
 * succeeds or fails on its own (results[i]); events that fail validation or
 * conflict are skipped, the rest keep their order and get consecutive
 * sequence numbers.  Returns SL_OK when the commit succeeded (check each
 * result), or the storage error, in which case no event was written. */
SL_NODISCARD int sl_journal_record_many(sl_journal *j, const sl_event *const *evs,
                                        size_t n, sl_result *results);

/* A stored record as read back. */
typedef struct sl_record {
    uint64_t seq;
    uint8_t prev_hash[32];   /* hash of the previous record's stored bytes */
    uint8_t hash[32];        /* hash of this record's stored bytes */
    size_t stored_len;       /* size of the stored CBOR */
    sl_event ev;
} sl_record;

/* Read record seq into *rec.  SL_ERR_NOT_FOUND if there is none. */
SL_NODISCARD int sl_journal_get(sl_journal *j, uint64_t seq, sl_record *rec);

/* Call fn for records with seq >= from_seq in order, stopping after limit
 * records (0 = no limit) or when fn returns non-zero (that value is
 * returned).  rec is valid only during the call. */
typedef int (*sl_record_fn)(const sl_record *rec, void *ctx);
SL_NODISCARD int sl_journal_foreach(sl_journal *j, uint64_t from_seq,
                                    uint64_t limit, sl_record_fn fn, void *ctx);

typedef struct sl_journal_info {
    uint64_t first_seq;      /* 0 when empty */
    uint64_t last_seq;       /* 0 when empty */
    uint64_t records;
    uint8_t tail_hash[32];   /* hash of the last record (zeros when empty) */
    uint64_t used_bytes;     /* pages in use */
    uint64_t map_bytes;      /* current map size */
    uint64_t max_bytes;      /* max_db_mb in bytes */
    uint32_t format_version;
} sl_journal_info;

SL_NODISCARD int sl_journal_info_get(sl_journal *j, sl_journal_info *info);

typedef struct sl_verify {
    uint64_t checked;        /* records checked */
    uint64_t first_bad_seq;  /* 0 when intact */
    char reason[160];
} sl_verify;

/* Recompute the hash chain from the first record.  SL_OK when intact,
 * SL_ERR_CORRUPT with *v naming the first broken sequence number. */
SL_NODISCARD int sl_journal_verify(sl_journal *j, sl_verify *v);

/* ---- the offline catalog (prices and stock) -------------------------- */

#define SL_SCOPE_MAX 64      /* a catalog scope: a store id or "all" */

typedef struct sl_catalog sl_catalog;

/* Open the catalog under state_dir read-only (<state_dir>/catalog); it can
 * be used while the daemon writes to it (another process).  Within one
 * process open it once: LMDB allows one environment per file per process,
 * so the daemon looks up through its own writer handle.  Needs write access
 * to catalog/lock.mdb, like the journal.  SL_ERR_NOT_FOUND when no update
 * was ever received.  On success *out is freed with sl_catalog_close(). */
SL_NODISCARD int sl_catalog_open(sl_catalog **out, const char *state_dir);
void sl_catalog_close(sl_catalog *cat);

/* A price as the catalog gives it for one instant. */
typedef struct sl_price {
    char sku[SL_SKU_MAX + 1];
    int64_t price;                 /* minor units of currency */
    char currency[4];              /* ISO 4217 */
    int64_t effective_from;        /* Unix ms; 0 = since the update that set it */
    char scope[SL_SCOPE_MAX + 1];  /* the store id, or "all" (chain-wide) */
    uint64_t version;              /* version of that scope's price catalog */
    int64_t issued_at;             /* when the hub issued that version (Unix ms) */
    int64_t received_at;           /* when this device applied it (Unix ms) */
} sl_price;

/* The price of sku at at_ms (Unix ms, taken literally: pass the current
 * time for "now"): the store's entry with the latest effective_from <=
 * at_ms, else the chain-wide ("all") one.  SL_OK with *out filled;
 * SL_ERR_NOT_FOUND when neither scope has one (then out->scope and
 * out->version describe the price catalog held, version 0 when none);
 * SL_ERR_USAGE for an invalid sku; storage errors. */
SL_NODISCARD int sl_price_lookup(sl_catalog *cat, const char *sku, int64_t at_ms,
                                 sl_price *out);

/* On-hand stock of one SKU: the hub's figure plus what this device
 * recorded since. */
typedef struct sl_stock {
    char sku[SL_SKU_MAX + 1];
    char store[SL_SCOPE_MAX + 1];
    int64_t on_hand_milli;         /* catalog figure + local records */
    int64_t catalog_milli;         /* the figure in the stock catalog */
    uint64_t version;              /* stock catalog version (0 = none held) */
    int64_t issued_at;             /* when the hub issued it (Unix ms) */
    int64_t received_at;           /* when this device applied it (Unix ms) */
    uint64_t watermark;            /* this device's last seq the figure reflects */
    uint64_t local_records;        /* records after the watermark touching sku */
    uint64_t last_seq;             /* last journal record read (0 = none) */
    int counted;                   /* a count in those records reset the figure */
} sl_stock;

/* On-hand of sku: the stock catalog's figure plus device_id's own journal
 * records with seq > its watermark, in seq order: sale lines subtract,
 * return lines with disposition restock add (damaged: no change),
 * adjustments add their signed qty, and a count sets the figure to the
 * counted qty (later records apply on top).  j may be NULL (no journal
 * yet: the catalog figure alone).  SL_OK; SL_ERR_NOT_FOUND when no stock
 * catalog is held or sku is not in it (out->version says which: 0 = none);
 * SL_ERR_USAGE; SL_ERR_TOO_LARGE if the sum overflows; storage errors. */
SL_NODISCARD int sl_stock_lookup(sl_catalog *cat, sl_journal *j, const char *device_id,
                                 const char *sku, sl_stock *out);

/* ---- client of the daemon's ingest socket ---------------------------- */
/*
 * A POS program records through the running daemon (`storelink run`)
 * instead of opening the journal itself: the daemon group-commits requests
 * from many clients into one durable LMDB commit.  docs/PROTOCOL.md
 * "Ingest socket".  One sl_client is one connection; use it from one
 * thread at a time.  Price and stock look-ups stay direct (sl_catalog_open,
 * sl_price_lookup, sl_stock_lookup): they read LMDB without the daemon.
 */
#define SL_CLIENT_DEFAULT_SOCKET "/var/lib/storelink/ingest.sock"

typedef struct sl_client sl_client;

/* Connect to the ingest socket at path (NULL or "" = the default above)
 * within timeout_ms.  SL_OK with *out freed by sl_client_close();
 * SL_ERR_NOT_FOUND when no daemon listens there (then sl_journal_open +
 * sl_journal_record is the fallback: the daemon picks those records up);
 * SL_ERR_PERM (socket file permissions); SL_ERR_BUSY timeout; SL_ERR_IO. */
SL_NODISCARD int sl_client_connect(sl_client **out, const char *path, int timeout_ms);

/* Record ev through the daemon and wait, at most timeout_ms, for its
 * answer, which comes only after the record is durable.  SL_OK with *seq
 * and *status (recorded, or duplicate with the original seq); or the
 * daemon's error: SL_ERR_INVALID / SL_ERR_CONFLICT with *problem naming
 * the field and reason (nothing was written), SL_ERR_PERM when the daemon
 * refuses this uid ([ingest] allowed_uids / allowed_gids), SL_ERR_FULL,
 * SL_ERR_IO.  SL_ERR_BUSY on timeout and SL_ERR_IO on a lost connection
 * leave it unknown whether the event was recorded: close, reconnect and
 * send it again (same txn_id: the answer is then duplicate).  seq, status
 * and problem may be NULL.  ev stays the caller's. */
SL_NODISCARD int sl_client_record(sl_client *c, const sl_event *ev, int timeout_ms,
                                  uint64_t *seq, sl_status *status, sl_problem *problem);

/* Close the connection and free c.  NULL is a no-op. */
void sl_client_close(sl_client *c);

/* Lowercase hex of a 32-byte hash into out[65]. */
void sl_hash_hex(const uint8_t hash[32], char out[65]);

#ifdef __cplusplus
}
#endif
#endif /* STORELINK_H */
