/*
 * bench_journal - durable append cost of storelink against the physical
 * floor (raw LMDB), in the same run and on the same filesystem.
 *
 * usage: bench_journal DIR [N [ROUNDS]]    (N default 2000, ROUNDS default 5)
 *
 * DIR must exist and should be empty; every environment is a fresh
 * subdirectory of it, left behind (the caller removes DIR).
 *
 *   floor  raw LMDB env (default durable flags), one record per write txn:
 *          txn_begin, mdb_put (8-byte big-endian key, 200-byte value), commit
 *   api    sl_journal_open + sl_journal_record, one realistic sale per call
 *          (3 lines, 1 tender, unique txn_id, SKUs from a fixed-seed generator)
 *
 * The disk is noisy, so each round opens a fresh floor env and a fresh
 * journal side by side and writes them in alternating chunks (N/20 records,
 * ABBA order): both sides see the same disk weather.  The medians over
 * rounds are reported; the overhead and bytes ratios are medians of the
 * per-round storelink/floor ratios.  Latency is CLOCK_MONOTONIC around each call; events and values are
 * generated outside the timed window, so records/s = N / sum of call times.
 * Bytes written come from /proc/self/io write_bytes (storage writes this
 * process caused), else from the growth of data.mdb.
 * Then group commit: sl_journal_record_many with groups of 10 and 100.
 *
 * Lines starting with "RESULT " are for bench/run.sh (key=value).
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storelink.h"

#define FLOOR_VALUE_LEN 200
#define FLOOR_MAP_BYTES (256u << 20)
#define N_CATALOG 1000
#define MAX_ROUNDS 15

/* ---- small utilities ------------------------------------------------- */

static int now_ns(uint64_t *ns)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("bench_journal: clock_gettime");
        return -1;
    }
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 1767225600000LL;   /* 2026-01-01, still a valid ts */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* write_bytes from /proc/self/io; -1 when unavailable */
static int io_write_bytes(uint64_t *out)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (f == NULL)
        return -1;
    char line[128];
    int found = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v;
        if (sscanf(line, "write_bytes: %llu", &v) == 1) {
            *out = v;
            found = 0;
            break;
        }
    }
    if (fclose(f) != 0)
        found = -1;
    return found;
}

/* Does write_bytes count a synced 4 KiB write into dir?  1 yes, 0 no. */
static int io_counts_writes(const char *dir)
{
    char path[4200];
    uint64_t before, after;
    static const char block[4096];
    snprintf(path, sizeof path, "%s/io-probe", dir);
    if (io_write_bytes(&before) != 0)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    int ok = write(fd, block, sizeof block) == (ssize_t)sizeof block && fdatasync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (unlink(path) != 0)
        ok = 0;
    return ok && io_write_bytes(&after) == 0 && after > before;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* user and system CPU time of this process, microseconds */
static void cpu_us(double *user, double *sys)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        *user = *sys = 0;
        return;
    }
    *user = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
    *sys = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0) {
        fprintf(stderr, "bench_journal: mkdir %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array, in microseconds */
static double pct_us(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)sorted[rank - 1] / 1000.0;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* ---- fixed-seed generator of realistic sales ------------------------- */

static uint64_t rng_next(uint64_t *s)   /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

typedef struct catalog_item {
    char sku[SL_SKU_MAX + 1];
    int64_t price;
} catalog_item;

/* Mostly EAN-13 (GS1 check digit), some in-store PLU codes. */
static void make_catalog(catalog_item *cat, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        if (rng_below(&s, 10) < 8) {
            char *d = cat[i].sku;
            memcpy(d, "590", 3);
            for (int k = 3; k < 12; k++)
                d[k] = (char)('0' + rng_below(&s, 10));
            int sum = 0;
            for (int k = 0; k < 12; k++)
                sum += (d[k] - '0') * (k % 2 ? 3 : 1);
            d[12] = (char)('0' + (10 - sum % 10) % 10);
            d[13] = '\0';
        } else {
            snprintf(cat[i].sku, sizeof cat[i].sku, "PLU-%04u",
                     (unsigned)(1000 + rng_below(&s, 9000)));
        }
        cat[i].price = 49 + (int64_t)rng_below(&s, 4951);   /* 0.49 .. 49.99 */
    }
}

typedef struct sale_gen {
    uint64_t rng;
    const catalog_item *cat;
    size_t n_cat;
    unsigned long next_txn;
    char prefix[24];
} sale_gen;

/* A US-style sale (tax added at the till): 3 lines, 1 tender. */
static int gen_sale(sale_gen *g, sl_event *ev)
{
    char txn[SL_TXN_ID_MAX + 1];
    snprintf(txn, sizeof txn, "%s-%07lu", g->prefix, g->next_txn++);
    sl_event_init(ev, SL_KIND_SALE, txn);
    memcpy(ev->currency, "USD", 4);
    ev->ts_ms = wall_ms();   /* the till's sale time */
    for (int i = 0; i < 3; i++) {
        const catalog_item *it = &g->cat[rng_below(&g->rng, g->n_cat)];
        uint64_t r = rng_below(&g->rng, 100);
        int64_t qty = r < 70 ? 1000 : r < 85 ? 1000 * (int64_t)(2 + rng_below(&g->rng, 4))
                                             : 100 + (int64_t)rng_below(&g->rng, 2400);
        int64_t gross = (qty * it->price + 500) / 1000;
        int64_t disc = rng_below(&g->rng, 10) == 0 ? gross / 10 : 0;
        int64_t tax = ((gross - disc) * 825 + 5000) / 10000;   /* 8.25 % */
        if (sl_event_add_line(ev, it->sku, qty, it->price, disc, tax) != SL_OK)
            return -1;
    }
    int64_t total;
    if (sl_event_total(ev, &total) != SL_OK)
        return -1;
    if (rng_below(&g->rng, 10) < 6)
        return sl_event_add_tender(ev, "card", total) == SL_OK ? 0 : -1;
    return sl_event_add_tender(ev, "cash", (total + 499) / 500 * 500) == SL_OK ? 0 : -1;
}

/* ---- the two sides: raw LMDB (floor) and storelink (api) ------------- */

typedef struct phase {
    double rate;        /* records per second (N / sum of call times) */
    double mean_us;
    double p50_us;
    double p99_us;
    double bytes_rec;   /* bytes written to storage per record */
    double user_us_rec; /* user CPU per record */
    double sys_us_rec;  /* system CPU per record */
    double stored_avg;  /* average stored record (value) size */
} phase;

typedef struct bench {
    const char *dir;
    int use_io;         /* 1: /proc/self/io write_bytes, 0: data.mdb growth */
    sl_event *ev;       /* scratch events, MAX_GROUP of them */
    sale_gen gen;
} bench;

#define MAX_GROUP 100

/* One environment being written, with what it has cost so far. */
typedef struct side {
    int is_api;
    char path[4096];
    char mdb_file[4300];
    MDB_env *env;       /* floor */
    MDB_dbi dbi;
    sl_journal *j;      /* api */
    uint64_t next_seq;
    uint64_t *lat;      /* ns per call (one call = one commit) */
    size_t cap, n_ops, n_recs;
    uint64_t bytes;
    double user_us, sys_us;
} side;

static int mdb_fail(const char *what, int rc)
{
    fprintf(stderr, "bench_journal: %s: %s\n", what, mdb_strerror(rc));
    return -1;
}

static void side_close(side *sd)
{
    if (sd->env != NULL)
        mdb_env_close(sd->env);
    sl_journal_close(sd->j);
    free(sd->lat);
    memset(sd, 0, sizeof *sd);
}

/* Create DIR/name and open a fresh environment in it for cap calls. */
static int side_open(const bench *b, side *sd, const char *name, int is_api, size_t cap)
{
    memset(sd, 0, sizeof *sd);
    sd->is_api = is_api;
    sd->next_seq = 1;
    snprintf(sd->path, sizeof sd->path, "%s/%s", b->dir, name);
    snprintf(sd->mdb_file, sizeof sd->mdb_file, "%s%s/data.mdb", sd->path,
             is_api ? "/journal" : "");
    if (make_dir(sd->path) != 0)
        return -1;
    if ((sd->lat = malloc(cap * sizeof *sd->lat)) == NULL) {
        fprintf(stderr, "bench_journal: out of memory\n");
        return -1;
    }
    sd->cap = cap;
    if (is_api) {
        int rc = sl_journal_open(&sd->j, sd->path, NULL);
        if (rc != SL_OK) {
            sd->j = NULL;
            fprintf(stderr, "bench_journal: sl_journal_open %s: %s\n", sd->path,
                    sl_strerror(rc));
            return -1;
        }
        return 0;
    }
    MDB_txn *txn;
    int rc = mdb_env_create(&sd->env);
    if (rc != 0) {
        sd->env = NULL;
        return mdb_fail("mdb_env_create", rc);
    }
    if ((rc = mdb_env_set_mapsize(sd->env, FLOOR_MAP_BYTES)) != 0)
        return mdb_fail("mdb_env_set_mapsize", rc);
    if ((rc = mdb_env_open(sd->env, sd->path, 0, 0600)) != 0)   /* durable defaults */
        return mdb_fail("mdb_env_open", rc);
    if ((rc = mdb_txn_begin(sd->env, NULL, 0, &txn)) != 0)
        return mdb_fail("mdb_txn_begin", rc);
    if ((rc = mdb_dbi_open(txn, NULL, 0, &sd->dbi)) != 0) {
        mdb_txn_abort(txn);
        return mdb_fail("mdb_dbi_open", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return mdb_fail("mdb_txn_commit", rc);
    return 0;
}

static int bytes_mark(const bench *b, const side *sd, uint64_t *mark)
{
    if (b->use_io)
        return io_write_bytes(mark);
    *mark = file_size(sd->mdb_file);
    return 0;
}

/* One floor commit of m records (keys continue from sd->next_seq). */
static int floor_commit(side *sd, const uint8_t *val, size_t m)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(sd->env, NULL, 0, &txn);
    if (rc != 0)
        return mdb_fail("mdb_txn_begin", rc);
    for (size_t k = 0; k < m; k++) {
        uint64_t seq = sd->next_seq + k;
        uint8_t key[8];
        for (int q = 7; q >= 0; q--, seq >>= 8)
            key[q] = (uint8_t)seq;
        MDB_val mk = {sizeof key, key}, mv = {FLOOR_VALUE_LEN, (void *)val};
        if ((rc = mdb_put(txn, sd->dbi, &mk, &mv, 0)) != 0) {
            mdb_txn_abort(txn);
            return mdb_fail("mdb_put", rc);
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return mdb_fail("mdb_txn_commit", rc);
    return 0;
}

/* One storelink call for m events: sl_journal_record when group == 1. */
static int api_commit(bench *b, side *sd, size_t group, size_t m, sl_result *res)
{
    int rc;
    if (group == 1) {
        uint64_t seq = 0;
        sl_status st = SL_STATUS_DUPLICATE;
        memset(&res[0], 0, sizeof res[0]);
        rc = sl_journal_record(sd->j, &b->ev[0], &seq, &st, &res[0].problem);
        res[0].err = rc;
        res[0].seq = seq;
        res[0].status = st;
    } else {
        const sl_event *evs[MAX_GROUP];
        for (size_t k = 0; k < m; k++)
            evs[k] = &b->ev[k];
        rc = sl_journal_record_many(sd->j, evs, m, res);
    }
    return rc;
}

static int api_check(const bench *b, side *sd, int rc, size_t m, const sl_result *res)
{
    for (size_t k = 0; k < m; k++) {
        int e = rc != SL_OK ? rc : res[k].err;
        if (e != SL_OK) {
            fprintf(stderr, "bench_journal: record %s: %s (%s: %s)\n", b->ev[k].txn_id,
                    sl_strerror(e), res[k].problem.field, res[k].problem.reason);
            return -1;
        }
        if (res[k].status != SL_STATUS_RECORDED || res[k].seq != sd->next_seq + k) {
            fprintf(stderr, "bench_journal: record %s: unexpected status or seq\n",
                    b->ev[k].txn_id);
            return -1;
        }
    }
    return 0;
}

/* Write n_recs more records in commits of group, timing each call.  Values
 * and events are made outside the timed window. */
static int side_run(bench *b, side *sd, size_t n_recs, size_t group)
{
    uint8_t val[FLOOR_VALUE_LEN];
    sl_result res[MAX_GROUP];
    uint64_t mark, now, t0, t1;
    double u0, s0, u1, s1;
    if (group < 1 || group > MAX_GROUP)
        return -1;
    cpu_us(&u0, &s0);
    if (bytes_mark(b, sd, &mark) != 0)
        return -1;
    for (size_t i = 0; i < n_recs; i += group) {
        size_t m = n_recs - i < group ? n_recs - i : group;
        if (sd->n_ops == sd->cap)
            return -1;
        if (sd->is_api) {
            for (size_t k = 0; k < m; k++)
                if (gen_sale(&b->gen, &b->ev[k]) != 0) {
                    fprintf(stderr, "bench_journal: building a sale failed\n");
                    return -1;
                }
        } else {
            /* value bytes vary per commit */
            uint64_t fill = rng_next(&b->gen.rng);
            for (size_t k = 0; k < sizeof val; k++)
                val[k] = (uint8_t)(fill >> (8 * (k % 8))) ^ (uint8_t)k;
        }
        if (now_ns(&t0) != 0)
            return -1;
        int rc = sd->is_api ? api_commit(b, sd, group, m, res) : floor_commit(sd, val, m);
        if (now_ns(&t1) != 0)
            return -1;
        if (sd->is_api ? api_check(b, sd, rc, m, res) != 0 : rc != 0)
            return -1;
        sd->lat[sd->n_ops++] = t1 - t0;
        sd->next_seq += m;
        sd->n_recs += m;
    }
    if (bytes_mark(b, sd, &now) != 0)
        return -1;
    cpu_us(&u1, &s1);
    sd->bytes += now >= mark ? now - mark : 0;
    sd->user_us += u1 - u0;
    sd->sys_us += s1 - s0;
    return 0;
}

static int sum_stored(const sl_record *rec, void *ctx)
{
    *(uint64_t *)ctx += rec->stored_len;
    return 0;
}

/* Figures of a side (sorts its latencies). */
static int side_summary(side *sd, phase *ph)
{
    uint64_t sum = 0;
    double n = (double)sd->n_recs;
    if (sd->n_ops == 0)
        return -1;
    for (size_t i = 0; i < sd->n_ops; i++)
        sum += sd->lat[i];
    qsort(sd->lat, sd->n_ops, sizeof *sd->lat, cmp_u64);
    ph->mean_us = (double)sum / 1000.0 / n;
    ph->rate = sum ? n * 1e9 / (double)sum : 0;
    ph->p50_us = pct_us(sd->lat, sd->n_ops, 50);
    ph->p99_us = pct_us(sd->lat, sd->n_ops, 99);
    ph->bytes_rec = (double)sd->bytes / n;
    ph->user_us_rec = sd->user_us / n;
    ph->sys_us_rec = sd->sys_us / n;
    ph->stored_avg = FLOOR_VALUE_LEN;
    if (sd->is_api) {
        uint64_t stored = 0;
        int rc = sl_journal_foreach(sd->j, 1, 0, sum_stored, &stored);
        if (rc != SL_OK) {
            fprintf(stderr, "bench_journal: sl_journal_foreach: %s\n", sl_strerror(rc));
            return -1;
        }
        ph->stored_avg = (double)stored / n;
    }
    return 0;
}

/* One round: a fresh floor env and a fresh journal, written in alternating
 * chunks (ABBA) so both see the same disk weather. */
static int run_round(bench *b, size_t round, size_t n, size_t chunk, phase *fl, phase *api)
{
    side sf, sa;
    char name[32];
    int ret = -1;
    memset(&sa, 0, sizeof sa);
    snprintf(name, sizeof name, "floor-r%zu", round);
    if (side_open(b, &sf, name, 0, n) != 0)
        goto out;
    snprintf(name, sizeof name, "api-r%zu", round);
    if (side_open(b, &sa, name, 1, n) != 0)
        goto out;
    for (size_t done = 0, c = 0; done < n; done += chunk, c++) {
        size_t m = n - done < chunk ? n - done : chunk;
        int api_first = (c + round) % 2 == 1;
        if (side_run(b, api_first ? &sa : &sf, m, 1) != 0 ||
            side_run(b, api_first ? &sf : &sa, m, 1) != 0)
            goto out;
    }
    if (side_summary(&sf, fl) == 0 && side_summary(&sa, api) == 0)
        ret = 0;
out:
    side_close(&sf);
    side_close(&sa);
    return ret;
}

/* Group commit: n records in commits of group, floor then storelink. */
static int run_group(bench *b, size_t n, size_t group, phase *fl, phase *api)
{
    side sd;
    char name[32];
    size_t calls = (n + group - 1) / group;
    for (int is_api = 0; is_api < 2; is_api++) {
        snprintf(name, sizeof name, "%s-g%zu", is_api ? "api" : "floor", group);
        int rc = side_open(b, &sd, name, is_api, calls);
        if (rc == 0)
            rc = side_run(b, &sd, n, group);
        if (rc == 0)
            rc = side_summary(&sd, is_api ? api : fl);
        side_close(&sd);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void print_phase(const char *label, const phase *p)
{
    printf("  %-14s %6.0f rec/s  mean %6.1f us  p50 %6.1f us  p99 %7.1f us  "
           "%6.0f B/rec  cpu user %4.1f sys %5.1f us/rec\n",
           label, p->rate, p->mean_us, p->p50_us, p->p99_us, p->bytes_rec, p->user_us_rec,
           p->sys_us_rec);
}

static void print_result(const char *prefix, const phase *p)
{
    printf("RESULT %s_rate=%.0f %s_mean_us=%.1f %s_p50_us=%.1f %s_p99_us=%.1f "
           "%s_bytes=%.0f %s_user_us=%.1f %s_sys_us=%.1f %s_stored=%.0f\n",
           prefix, p->rate, prefix, p->mean_us, prefix, p->p50_us, prefix, p->p99_us,
           prefix, p->bytes_rec, prefix, p->user_us_rec, prefix, p->sys_us_rec, prefix,
           p->stored_avg);
}

/* element-wise medians over rounds */
static void median_phase(const phase *ps, size_t n, phase *out)
{
    double v[MAX_ROUNDS];
#define MED(field)                                       \
    do {                                                 \
        for (size_t i_ = 0; i_ < n; i_++)                \
            v[i_] = ps[i_].field;                        \
        out->field = median(v, n);                       \
    } while (0)
    MED(rate);
    MED(mean_us);
    MED(p50_us);
    MED(p99_us);
    MED(bytes_rec);
    MED(user_us_rec);
    MED(sys_us_rec);
    MED(stored_avg);
#undef MED
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = 2000, rounds = 5;
    if (argc < 2 || argc > 4 || (argc > 2 && parse_size(argv[2], 100, 10000000, &n) != 0) ||
        (argc > 3 && parse_size(argv[3], 1, MAX_ROUNDS, &rounds) != 0)) {
        fprintf(stderr, "usage: bench_journal DIR [N (100..10^7, default 2000) "
                        "[ROUNDS (1..%d, default 5)]]\n", MAX_ROUNDS);
        return 2;
    }
    static catalog_item cat[N_CATALOG];
    make_catalog(cat, N_CATALOG, 0x5701e11c);
    bench b = {.dir = argv[1]};
    b.gen.rng = 0xbe9c4;
    b.gen.cat = cat;
    b.gen.n_cat = N_CATALOG;
    /* digit runs stay short: a 13+ digit run could look like a card number */
    snprintf(b.gen.prefix, sizeof b.gen.prefix, "POS07");
    b.ev = malloc(MAX_GROUP * sizeof *b.ev);
    if (b.ev == NULL) {
        fprintf(stderr, "bench_journal: out of memory\n");
        return 1;
    }
    b.use_io = io_counts_writes(b.dir);
    size_t chunk = n / 20 < 50 ? 50 : n / 20;
    int ret = 1;

    printf("bench_journal: dir %s, N=%zu records per side and round, %zu rounds; each round "
           "writes a fresh floor env and a fresh journal in alternating chunks of %zu\n",
           b.dir, n, rounds, chunk);
    phase fl[MAX_ROUNDS], api[MAX_ROUNDS];
    /* per round, storelink over the floor: time (mean, p50) and bytes */
    double r_ovh[MAX_ROUNDS], r_ovh50[MAX_ROUNDS], r_bytes[MAX_ROUNDS];
    for (size_t r = 0; r < rounds; r++) {
        char name[32];
        if (run_round(&b, r + 1, n, chunk, &fl[r], &api[r]) != 0)
            goto out;
        r_ovh[r] = (api[r].mean_us / fl[r].mean_us - 1.0) * 100.0;
        r_ovh50[r] = (api[r].p50_us / fl[r].p50_us - 1.0) * 100.0;
        r_bytes[r] = fl[r].bytes_rec > 0 ? api[r].bytes_rec / fl[r].bytes_rec : 0;
        snprintf(name, sizeof name, "round %zu floor", r + 1);
        print_phase(name, &fl[r]);
        snprintf(name, sizeof name, "round %zu api", r + 1);
        print_phase(name, &api[r]);
        printf("  %-14s time per record %+.1f %% (p50 %+.1f %%), bytes %.2fx\n", "  api/floor",
               r_ovh[r], r_ovh50[r], r_bytes[r]);
    }
    printf("bytes written measured with %s\n",
           b.use_io ? "/proc/self/io write_bytes (page-granular, includes LMDB meta pages)"
                    : "data.mdb file size growth (/proc/self/io write_bytes unavailable "
                      "or not counting: this undercounts rewritten pages)");
    phase mf, ma;
    median_phase(fl, rounds, &mf);
    median_phase(api, rounds, &ma);
    print_phase("median floor", &mf);
    print_phase("median api", &ma);
    /* the ratios are medians of the per-round (paired) ratios */
    double ovh = median(r_ovh, rounds);
    double ovh50 = median(r_ovh50, rounds);
    double bratio = median(r_bytes, rounds);
    printf("  storelink stores %.0f B per sale record (floor value %d B)\n", ma.stored_avg,
           FLOOR_VALUE_LEN);
    printf("  overhead (median of rounds): time per record %+.1f %% (at p50 %+.1f %%), "
           "goal < 15 %%\n", ovh, ovh50);
    printf("  bytes written per record (median of rounds): %.2fx the floor, goal <= 1.0x\n",
           bratio);
    print_result("floor", &mf);
    print_result("api", &ma);
    printf("RESULT overhead_pct=%.1f overhead_p50_pct=%.1f bytes_ratio=%.2f bytes_src=%s\n",
           ovh, ovh50, bratio, b.use_io ? "proc_io" : "file_growth");

    printf("group commit (%zu records each, one fresh env/journal per run):\n", n);
    static const size_t groups[2] = {10, 100};
    for (size_t gi = 0; gi < 2; gi++) {
        phase gf, ga;
        if (run_group(&b, n, groups[gi], &gf, &ga) != 0)
            goto out;
        printf("  %3zu per commit: api   %7.0f rec/s  commit p50 %6.1f us  %5.0f B/rec  "
               "cpu user %4.1f sys %4.1f us/rec\n",
               groups[gi], ga.rate, ga.p50_us, ga.bytes_rec, ga.user_us_rec, ga.sys_us_rec);
        printf("  %3zu per commit: floor %7.0f rec/s  commit p50 %6.1f us  %5.0f B/rec  "
               "cpu user %4.1f sys %4.1f us/rec\n",
               groups[gi], gf.rate, gf.p50_us, gf.bytes_rec, gf.user_us_rec, gf.sys_us_rec);
        printf("RESULT g%zu_api_rate=%.0f g%zu_floor_rate=%.0f\n", groups[gi], ga.rate,
               groups[gi], gf.rate);
    }
    ret = 0;
out:
    free(b.ev);
    return ret;
}
