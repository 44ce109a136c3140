/*
 * iolog.so - LD_PRELOAD shim for the simulated power-loss test
 * (tests/reliability/10-powerloss.t, the method of the ALICE and SQLite
 * crash studies).  It records, in program order, every write and every
 * sync the process makes to LMDB's data file, and every line the workload
 * writes to stdout (its "this commit was reported durable" markers), so
 * that plcheck can rebuild the file as a power cut would have left it at
 * any point.
 *
 * Env: IOLOG_FILE  log to write (required, else the shim does nothing)
 *      IOLOG_MATCH path suffix of the tracked file (default "/data.mdb")
 *
 * Log: a sequence of entries, each a header {u32 type, u32 pad, u64 off,
 * u64 len} followed by len bytes for IOL_WRITE/IOL_DWRITE/IOL_MARK:
 *   IOL_WRITE  data written at off (not durable by itself)
 *   IOL_DWRITE data written at off through an O_DSYNC/O_SYNC descriptor:
 *              durable once the call returned (LMDB writes its meta page so)
 *   IOL_SYNC   fsync/fdatasync/msync of the file: every earlier write durable
 *   IOL_TRUNC  ftruncate to off
 *   IOL_MARK   bytes the process wrote to its stdout
 *   IOL_RENAME a rename() (the journal is created in a directory of its own
 *              and renamed into place: before that there is no journal)
 * Only one process is logged (the workload is single-threaded); a mutex
 * keeps entries whole anyway.
 *
 * This is test tooling, not product code: it calls the OS directly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iolog.h"

#define MAXFD 1024

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int logfd = -2;               /* -2: not initialised, -1: disabled */
static unsigned char tracked[MAXFD]; /* 0 no, 1 tracked, 2 tracked + O_DSYNC */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_msync)(void *, size_t, int);
static int (*real_rename)(const char *, const char *);

static void init(void)
{
    if (logfd != -2)
        return;
    real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
    real_writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    real_pwritev = (ssize_t (*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev64");
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
    real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat64");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate64");
    real_msync = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");
    real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    const char *p = getenv("IOLOG_FILE");
    logfd = -1;
    if (p != NULL && *p)
        logfd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
}

static void emit(uint32_t type, uint64_t off, const void *data, uint64_t len)
{
    struct iol_hdr h = {type, 0, off, data ? len : 0};
    if (type == IOL_TRUNC)
        h.len = 0;
    real_write(logfd, &h, sizeof h);
    const char *d = data;
    uint64_t left = data ? len : 0;
    while (left > 0) {
        ssize_t n = real_write(logfd, d, left);
        if (n <= 0)
            abort();   /* a short log would make every later check wrong */
        d += n;
        left -= (uint64_t)n;
    }
}

static int matches(const char *path)
{
    const char *suf = getenv("IOLOG_MATCH");
    if (suf == NULL || !*suf)
        suf = "/data.mdb";
    size_t lp = strlen(path), ls = strlen(suf);
    return lp >= ls && strcmp(path + lp - ls, suf) == 0;
}

static void note_open(int fd, const char *path, int flags)
{
    if (fd < 0 || fd >= MAXFD)
        return;
    tracked[fd] = 0;
    if (logfd >= 0 && matches(path))
        tracked[fd] = (flags & (O_DSYNC | O_SYNC)) ? 2 : 1;
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
    note_open(fd, path, flags);
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
    note_open(fd, path, flags);
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

static int is_tracked(int fd)
{
    return logfd >= 0 && fd >= 0 && fd < MAXFD && tracked[fd];
}

ssize_t write(int fd, const void *buf, size_t n)
{
    pthread_mutex_lock(&mu);
    init();
    off_t pos = is_tracked(fd) ? lseek(fd, 0, SEEK_CUR) : 0;
    ssize_t rc = real_write(fd, buf, n);
    if (rc > 0 && is_tracked(fd))
        emit(tracked[fd] == 2 ? IOL_DWRITE : IOL_WRITE, (uint64_t)pos, buf, (uint64_t)rc);
    else if (rc > 0 && fd == 1 && logfd >= 0)
        emit(IOL_MARK, 0, buf, (uint64_t)rc);
    pthread_mutex_unlock(&mu);
    return rc;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    pthread_mutex_lock(&mu);
    init();
    ssize_t rc = real_pwrite(fd, buf, n, off);
    if (rc > 0 && is_tracked(fd))
        emit(tracked[fd] == 2 ? IOL_DWRITE : IOL_WRITE, (uint64_t)off, buf, (uint64_t)rc);
    pthread_mutex_unlock(&mu);
    return rc;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/* the written bytes of an iovec, as one log entry per iovec element */
static void emit_iov(int fd, uint64_t pos, const struct iovec *iov, int cnt, ssize_t rc)
{
    uint64_t left = (uint64_t)rc;
    for (int i = 0; i < cnt && left > 0; i++) {
        uint64_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        emit(tracked[fd] == 2 ? IOL_DWRITE : IOL_WRITE, pos, iov[i].iov_base, n);
        pos += n;
        left -= n;
    }
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    pthread_mutex_lock(&mu);
    init();
    off_t pos = is_tracked(fd) ? lseek(fd, 0, SEEK_CUR) : 0;
    ssize_t rc = real_writev(fd, iov, cnt);
    if (rc > 0 && is_tracked(fd))
        emit_iov(fd, (uint64_t)pos, iov, cnt, rc);
    pthread_mutex_unlock(&mu);
    return rc;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    pthread_mutex_lock(&mu);
    init();
    ssize_t rc = real_pwritev(fd, iov, cnt, off);
    if (rc > 0 && is_tracked(fd))
        emit_iov(fd, (uint64_t)off, iov, cnt, rc);
    pthread_mutex_unlock(&mu);
    return rc;
}
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("pwritev")));

static int do_sync(int fd, int data_only)
{
    pthread_mutex_lock(&mu);
    init();
    int rc = data_only ? real_fdatasync(fd) : real_fsync(fd);
    if (rc == 0 && is_tracked(fd))
        emit(IOL_SYNC, 0, NULL, 0);
    pthread_mutex_unlock(&mu);
    return rc;
}
int fsync(int fd) { return do_sync(fd, 0); }
int fdatasync(int fd) { return do_sync(fd, 1); }

int ftruncate(int fd, off_t len)
{
    pthread_mutex_lock(&mu);
    init();
    int rc = real_ftruncate(fd, len);
    if (rc == 0 && is_tracked(fd))
        emit(IOL_TRUNC, (uint64_t)len, NULL, 0);
    pthread_mutex_unlock(&mu);
    return rc;
}
int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

/* The journal refuses MDB_WRITEMAP, so an msync would mean a writable map
 * of the data file: make it visible as a sync and let the check fail on
 * the writes it never saw. */
int msync(void *addr, size_t len, int flags)
{
    pthread_mutex_lock(&mu);
    init();
    int rc = real_msync(addr, len, flags);
    if (rc == 0 && logfd >= 0)
        emit(IOL_SYNC, 1, NULL, 0);
    pthread_mutex_unlock(&mu);
    return rc;
}

int rename(const char *from, const char *to)
{
    pthread_mutex_lock(&mu);
    init();
    int rc = real_rename(from, to);
    if (rc == 0 && logfd >= 0)
        emit(IOL_RENAME, 0, NULL, 0);
    pthread_mutex_unlock(&mu);
    return rc;
}
