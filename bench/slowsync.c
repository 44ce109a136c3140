/*
 * slowsync.so - LD_PRELOAD for bench/run.sh: every fsync/fdatasync takes
 * SLOWSYNC_US microseconds longer (default 5000), as on the eMMC and SD cards
 * of store terminals (1-20 ms per sync, ../shared/NOTES.md) rather than this
 * machine's virtual disk (~0.25 ms).  Group commit pays off in proportion to
 * the sync cost, so the ingest benchmark shows both.  Benchmark tooling only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static void nap(void)
{
    const char *e = getenv("SLOWSYNC_US");
    long us = e ? atol(e) : 5000;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}
int fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    nap();
    return real(fd);
}
int fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    nap();
    return real(fd);
}
