/*
 * plcheck - builds crash images from an iolog.so log and checks that the
 * journal survives each of them (tests/reliability/10-powerloss.t).
 *
 * A crash at log position p keeps every write that a sync (or its own
 * O_DSYNC descriptor) made durable before p; each later write is dropped,
 * kept, or torn: a random subset of its 512-byte sectors reaches the disk
 * (the model of the ALICE and SQLite crash studies; a sector is the unit a
 * drive writes atomically).  Each image must open through the public API,
 * verify its hash chain, and hold every record the workload was told was
 * durable before p (the "ok FIRST LAST" markers in the log).
 *
 * usage: plcheck LOG WORKDIR IMAGES SEED
 * Prints one line: images, crash points, reported records checked, lost,
 * corrupt, failures; exit 0 when nothing failed.  A failing image is kept
 * in WORKDIR/fail-N for forensics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iolog.h"
#include "storelink.h"

#define SECTOR 512

struct ent {
    uint32_t type;
    uint64_t off, len;
    const unsigned char *data;
    size_t durable_at;   /* writes: index of the entry that made it durable */
    uint64_t marked;     /* marks: last seq reported durable */
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64*: reproducible from the seed the test prints */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static unsigned char *img;
static size_t img_cap, img_size;

static int put(uint64_t off, const unsigned char *d, uint64_t len)
{
    if (off + len > img_cap) {
        size_t cap = img_cap ? img_cap : 1 << 20;
        while (cap < off + len)
            cap *= 2;
        unsigned char *n = realloc(img, cap);
        if (n == NULL)
            return -1;
        memset(n + img_cap, 0, cap - img_cap);
        img = n;
        img_cap = cap;
    }
    memcpy(img + off, d, len);
    if (off + len > img_size)
        img_size = off + len;
    return 0;
}

static int write_image(const char *dir, int exists)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/journal", dir);
    mkdir(dir, 0700);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/journal/lock.mdb", dir);
    unlink(path);   /* the lock file is not data: a reboot starts without readers */
    snprintf(path, sizeof path, "%s/journal/data.mdb", dir);
    unlink(path);
    if (!exists) {
        snprintf(path, sizeof path, "%s/journal", dir);
        return rmdir(path);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < img_size) {
        ssize_t n = write(fd, img + done, img_size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

/* what a reboot sees: SL_OK when the image is good, else a reason */
static int check_image(const char *dir, uint64_t reported, char *why, size_t whysz,
                       uint64_t *lost)
{
    sl_journal *j = NULL;
    *lost = 0;
    int rc = sl_journal_open(&j, dir, NULL);
    if (rc != SL_OK) {
        snprintf(why, whysz, "open: %s", sl_strerror(rc));
        *lost = reported;
        return rc;
    }
    sl_verify v;
    rc = sl_journal_verify(j, &v);
    if (rc != SL_OK) {
        snprintf(why, whysz, "verify: %s at seq %llu: %s", sl_strerror(rc),
                 (unsigned long long)v.first_bad_seq, v.reason);
        sl_journal_close(j);
        return rc;
    }
    sl_journal_info info;
    rc = sl_journal_info_get(j, &info);
    if (rc == SL_OK && info.records != info.last_seq) {
        snprintf(why, whysz, "%llu records for last seq %llu (gap)",
                 (unsigned long long)info.records, (unsigned long long)info.last_seq);
        rc = SL_ERR_CORRUPT;
    }
    sl_record *rec = malloc(sizeof *rec);
    for (uint64_t s = 1; rc == SL_OK && rec && s <= reported; s++) {
        char want[32];
        snprintf(want, sizeof want, "P-%llu", (unsigned long long)s);
        if (sl_journal_get(j, s, rec) != SL_OK || strcmp(rec->ev.txn_id, want) != 0)
            (*lost)++;
    }
    if (rc == SL_OK && *lost) {
        snprintf(why, whysz, "%llu of %llu records reported durable are missing",
                 (unsigned long long)*lost, (unsigned long long)reported);
        rc = SL_ERR_NOT_FOUND;
    }
    free(rec);
    sl_journal_close(j);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: plcheck LOG WORKDIR IMAGES SEED\n");
        return 2;
    }
    long images = strtol(argv[3], NULL, 10);
    rng_state = strtoull(argv[4], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "plcheck: %s: no log\n", argv[1]);
        return 1;
    }
    const unsigned char *log = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (log == MAP_FAILED)
        return 1;
    size_t n = 0, cap = 1024;
    struct ent *e = malloc(cap * sizeof *e);
    for (size_t pos = 0; e && pos + sizeof(struct iol_hdr) <= (size_t)st.st_size;) {
        struct iol_hdr h;
        memcpy(&h, log + pos, sizeof h);
        pos += sizeof h;
        if (pos + h.len > (size_t)st.st_size)
            break;
        if (n == cap) {
            struct ent *ne = realloc(e, (cap *= 2) * sizeof *e);
            if (ne == NULL) {
                free(e);
                return 1;
            }
            e = ne;
        }
        e[n] = (struct ent){h.type, h.off, h.len, log + pos, SIZE_MAX, 0};
        if (h.type == IOL_MARK) {
            unsigned long long a, b;
            char buf[64];
            size_t l = h.len < sizeof buf - 1 ? h.len : sizeof buf - 1;
            memcpy(buf, log + pos, l);
            buf[l] = 0;
            if (sscanf(buf, "ok %llu %llu", &a, &b) == 2)
                e[n].marked = b;
        }
        pos += h.len;
        n++;
    }
    if (e == NULL)
        return 1;
    /* when each write became durable: its own O_DSYNC call, else the next sync */
    size_t next_sync = SIZE_MAX;
    for (size_t i = n; i-- > 0;) {
        if (e[i].type == IOL_SYNC)
            next_sync = i;
        else if (e[i].type == IOL_DWRITE)
            e[i].durable_at = i;
        else if (e[i].type == IOL_WRITE)
            e[i].durable_at = next_sync;
    }
    /* before the journal's directory is renamed into place there is none */
    size_t born = 0;
    while (born < n && e[born].type != IOL_RENAME)
        born++;
    if (born == n)
        born = 0;   /* an older layout: the file was created in place */
    size_t writes = 0, syncs = 0;
    uint64_t max_reported = 0;
    for (size_t i = 0; i < n; i++) {
        writes += e[i].type == IOL_WRITE || e[i].type == IOL_DWRITE;
        syncs += e[i].type == IOL_SYNC || e[i].type == IOL_DWRITE;
        if (e[i].marked > max_reported)
            max_reported = e[i].marked;
    }
    long failures = 0, corrupt = 0;
    uint64_t lost_total = 0, checked = 0;
    char dir[4096], why[400] = "";
    snprintf(dir, sizeof dir, "%s/img", argv[2]);
    for (long k = 0; k < images; k++) {
        /* crash points spread over the whole log, then random ones */
        size_t p = k < (long)n ? (size_t)((uint64_t)(k + 1) * n / (uint64_t)(images < (long)n ? images : (long)n))
                               : (size_t)(rnd() % n) + 1;
        if (p > n)
            p = n;
        uint64_t reported = 0;
        img_size = 0;
        if (img)
            memset(img, 0, img_cap);
        for (size_t i = 0; i < p; i++) {
            if (e[i].type == IOL_MARK) {
                if (e[i].marked > reported)
                    reported = e[i].marked;
                continue;
            }
            if (e[i].type == IOL_TRUNC) {
                if (e[i].off < img_size) {
                    memset(img + e[i].off, 0, img_size - e[i].off);
                    img_size = e[i].off;
                }
                continue;
            }
            if (e[i].type != IOL_WRITE && e[i].type != IOL_DWRITE)
                continue;
            if (e[i].durable_at < p) {
                if (put(e[i].off, e[i].data, e[i].len) != 0)
                    return 1;
                continue;
            }
            uint64_t how = rnd() % 4;   /* 0 lost, 1 whole, 2-3 torn */
            if (how == 1 && put(e[i].off, e[i].data, e[i].len) != 0)
                return 1;
            if (how >= 2) {
                for (uint64_t o = e[i].off; o < e[i].off + e[i].len;) {
                    uint64_t sec_end = (o / SECTOR + 1) * SECTOR;
                    uint64_t end = sec_end < e[i].off + e[i].len ? sec_end : e[i].off + e[i].len;
                    if ((rnd() & 1) && put(o, e[i].data + (o - e[i].off), end - o) != 0)
                        return 1;
                    o = end;
                }
            }
        }
        if (p <= born)
            img_size = 0;   /* no journal yet: the next start makes one */
        if (write_image(dir, p > born) != 0) {
            fprintf(stderr, "plcheck: cannot write %s: %s\n", dir, strerror(errno));
            return 1;
        }
        uint64_t lost = 0;
        int rc = check_image(dir, reported, why, sizeof why, &lost);
        checked += reported;
        if (rc != SL_OK) {
            failures++;
            corrupt += rc == SL_ERR_CORRUPT;
            lost_total += lost;
            fprintf(stderr, "plcheck: image %ld (crash at entry %zu of %zu, %llu reported): %s\n",
                    k, p, n, (unsigned long long)reported, why);
            char keep[4200];
            snprintf(keep, sizeof keep, "%s/fail-%ld", argv[2], k);
            if (failures <= 3)
                rename(dir, keep);
        }
    }
    printf("images %ld entries %zu writes %zu syncs %zu records %llu reported-checked %llu "
           "lost %llu corrupt %ld failures %ld\n",
           images, n, writes, syncs, (unsigned long long)max_reported,
           (unsigned long long)checked, (unsigned long long)lost_total, corrupt, failures);
    free(e);
    free(img);
    return failures ? 1 : 0;
}
