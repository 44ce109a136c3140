/*
 * metafail.so - LD_PRELOAD shim for tests/reliability/65-panic.t: fails
 * exactly one meta-page write LMDB makes to one file (the journal's
 * data.mdb), on demand, so the test knows which commit failed.
 *
 * Why a meta-page write: LMDB commits by writing the data pages, syncing
 * them, then writing the new meta page (mdb_env_write_meta: one pwrite at
 * the meta page's offset, through the O_DSYNC descriptor; the journal
 * refuses MDB_WRITEMAP and MDB_NOMETASYNC, so it is never an msync).  When
 * that pwrite fails, LMDB writes the old meta back through its other
 * descriptor and marks the environment MDB_FATAL_ERROR: the commit fails
 * and every later transaction gets MDB_PANIC until the environment is
 * closed.  That is the path the daemon must survive.  A libfiu window of
 * random pwrite failures reaches it only by luck (page writes fail first
 * most of the time); this shim reaches it every time, once.
 *
 * A meta-page write is a pwrite to the tracked file at an offset below
 * 2 x SL_METAFAIL_PAGE (pages 0 and 1 hold LMDB's two meta pages).
 *
 * Env: SL_METAFAIL_FILE    path suffix of the tracked file
 *                          (default "/journal/data.mdb")
 *      SL_METAFAIL_TRIGGER a file the test creates to ask for one failure;
 *                          the shim looks for it at each write to the
 *                          tracked file and removes it once read.  Empty:
 *                          the next meta-page write fails.  Otherwise its
 *                          first line is a byte string (e.g. the txn_id of
 *                          the record whose commit must fail): the first
 *                          meta-page write after a write to the file that
 *                          carries those bytes fails.  A commit writes its
 *                          data pages before its meta page, so that is the
 *                          meta page of the commit holding the record.
 *      SL_METAFAIL_PAGE    page size (default 4096)
 *      SL_METAFAIL_LOG     one line appended per injected failure:
 *                          "metafail: pid P failure F: meta write #N off O len L txnid T"
 *                          (T: the last 8 bytes written, LMDB's mm_txnid)
 * One failure per trigger file: the shim then disarms.  Writes to other
 * files and other offsets pass untouched.
 *
 * Test tooling, not product code: it calls the OS directly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAXFD 1024

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int ready;
static unsigned char tracked[MAXFD];
static int armed;          /* the next meta-page write fails */
static char match[256];    /* waiting for a write carrying these bytes */
static size_t match_len;
static unsigned long metas, fails;

static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);

static void init(void)
{
    if (ready)
        return;
    real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
    real_writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
    real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat64");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    ready = 1;
}

static const char *env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v ? v : dflt;
}

static int matches(const char *path)
{
    const char *suf = env("SL_METAFAIL_FILE", "/journal/data.mdb");
    size_t lp = strlen(path), ls = strlen(suf);
    return lp >= ls && strcmp(path + lp - ls, suf) == 0;
}

static void note_open(int fd, const char *path)
{
    if (fd >= 0 && fd < MAXFD)
        tracked[fd] = (unsigned char)matches(path);
}

static int is_tracked(int fd)
{
    return fd >= 0 && fd < MAXFD && tracked[fd];
}

/* Take a waiting trigger file: arm now (empty) or wait for its bytes. */
static void take_trigger(void)
{
    const char *trig = getenv("SL_METAFAIL_TRIGGER");
    if (armed || match_len > 0 || trig == NULL || !*trig)
        return;
    int fd = real_open(trig, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return;
    ssize_t n = read(fd, match, sizeof match - 1);
    real_close(fd);
    (void)unlink(trig);
    match_len = n > 0 ? (size_t)n : 0;
    while (match_len > 0 && (match[match_len - 1] == '\n' || match[match_len - 1] == '\r'))
        match_len--;
    if (match_len == 0)
        armed = 1;
}

/* A write to the tracked file: does it carry the awaited bytes? */
static void scan(const void *buf, size_t n)
{
    if (match_len > 0 && memmem(buf, n, match, match_len) != NULL) {
        armed = 1;
        match_len = 0;
    }
}

static void note_fail(off_t off, const void *buf, size_t n)
{
    const char *log = getenv("SL_METAFAIL_LOG");
    uint64_t txnid = 0;
    if (n >= 8)
        memcpy(&txnid, (const char *)buf + n - 8, 8);
    if (log == NULL || !*log)
        return;
    int fd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[200];
    int len = snprintf(line, sizeof line,
                       "metafail: pid %ld failure %lu: meta write #%lu off %lld len %zu txnid %llu\n",
                       (long)getpid(), fails, metas, (long long)off, n, (unsigned long long)txnid);
    if (len > 0 && write(fd, line, (size_t)len) < 0)
        (void)0;   /* nothing to do: the test then misses the line and fails */
    real_close(fd);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    pthread_mutex_lock(&mu);
    init();
    int fd = real_open(path, flags, mode);
    note_open(fd, path);
    pthread_mutex_unlock(&mu);
    return fd;
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    pthread_mutex_lock(&mu);
    init();
    int fd = real_openat(dirfd, path, flags, mode);
    note_open(fd, path);
    pthread_mutex_unlock(&mu);
    return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int close(int fd)
{
    pthread_mutex_lock(&mu);
    init();
    if (fd >= 0 && fd < MAXFD)
        tracked[fd] = 0;
    int rc = real_close(fd);
    pthread_mutex_unlock(&mu);
    return rc;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    pthread_mutex_lock(&mu);
    init();
    if (is_tracked(fd)) {
        long page = atol(env("SL_METAFAIL_PAGE", "4096"));
        take_trigger();
        if (off >= 0 && off < 2 * (off_t)page) {
            metas++;
            if (armed) {
                armed = 0;
                fails++;
                note_fail(off, buf, n);
                pthread_mutex_unlock(&mu);
                errno = EIO;
                return -1;
            }
        } else {
            scan(buf, n);
        }
    }
    ssize_t rc = real_pwrite(fd, buf, n, off);
    pthread_mutex_unlock(&mu);
    return rc;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/* LMDB writes runs of dirty pages with lseek + writev (never a meta page) */
ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    pthread_mutex_lock(&mu);
    init();
    if (is_tracked(fd)) {
        take_trigger();
        for (int i = 0; i < cnt; i++)
            scan(iov[i].iov_base, iov[i].iov_len);
    }
    ssize_t rc = real_writev(fd, iov, cnt);
    pthread_mutex_unlock(&mu);
    return rc;
}
