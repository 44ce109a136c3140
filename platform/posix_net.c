/* Diagnostic networking for `storelink doctor`: DNS with a deadline, TCP
 * connect with a deadline, bounded socket reads and writes, disk and
 * directory checks.  Every call answers within its timeout, so a dead
 * network gives the technician an answer in seconds. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "storelink.h"

int sl_plat_fs_stat(const char *path, uint64_t *avail, uint64_t *total)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return errno == ENOENT ? SL_ERR_NOT_FOUND : errno == EACCES ? SL_ERR_PERM : SL_ERR_IO;
    *avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    *total = (uint64_t)sv.f_blocks * (uint64_t)sv.f_frsize;
    return SL_OK;
}

int sl_plat_access_write(const char *path)
{
    /* access() answers for the real uid without creating anything */
    if (access(path, W_OK | X_OK) == 0)
        return SL_OK;
    return errno == ENOENT ? SL_ERR_NOT_FOUND : errno == EACCES || errno == EROFS ? SL_ERR_PERM
                                                                                  : SL_ERR_IO;
}

/* getaddrinfo() has no timeout of its own: it runs in a detached thread,
 * and the caller stops waiting at the deadline.  The job is shared; the
 * last of the two to let go frees it. */
struct dns_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs, done, gai;
    char host[256];
    char addr[64];
};

static void dns_release(struct dns_job *j)
{
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (last) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
    }
}

static void *dns_thread(void *arg)
{
    struct dns_job *j = arg;
    struct addrinfo hints, *res = NULL;
    char addr[64] = "";
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(j->host, NULL, &hints, &res);
    if (g == 0 && res != NULL)
        getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
    if (res != NULL)
        freeaddrinfo(res);
    pthread_mutex_lock(&j->mu);
    j->gai = g;
    memcpy(j->addr, addr, sizeof addr);
    j->done = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    dns_release(j);
    return NULL;
}

int sl_plat_resolve(const char *host, int timeout_ms, char *addr, size_t addrsz, char *why,
                    size_t whysz)
{
    if (strlen(host) >= 256) {
        snprintf(why, whysz, "host name too long");
        return SL_ERR_USAGE;
    }
    struct dns_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return SL_ERR_NOMEM;
    /* the deadline on the monotonic clock: doctor runs precisely when the
     * wall clock is suspect, and NTP may step it meanwhile */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->refs = 2;
    snprintf(j->host, sizeof j->host, "%s", host);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, dns_thread, j) != 0) {
        pthread_attr_destroy(&at);
        j->refs = 1;
        dns_release(j);
        snprintf(why, whysz, "cannot start the resolver");
        return SL_ERR_NOMEM;
    }
    pthread_attr_destroy(&at);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int rc;
    pthread_mutex_lock(&j->mu);
    while (!j->done)
        if (pthread_cond_timedwait(&j->cv, &j->mu, &dl) == ETIMEDOUT)
            break;
    if (!j->done) {
        snprintf(why, whysz, "no answer for %s within %d ms (DNS server unreachable?)", host,
                 timeout_ms);
        rc = SL_ERR_BUSY;
    } else if (j->gai != 0) {
        snprintf(why, whysz, "cannot resolve %s: %s", host, gai_strerror(j->gai));
        rc = SL_ERR_NOT_FOUND;
    } else {
        snprintf(addr, addrsz, "%s", j->addr);
        snprintf(why, whysz, "%s is %s", host, j->addr);
        rc = SL_OK;
    }
    pthread_mutex_unlock(&j->mu);
    dns_release(j);
    return rc;
}

int sl_plat_tcp_connect(const char *addr, int port, int timeout_ms, int *fd_out, char *why,
                        size_t whysz)
{
    struct addrinfo hints, *res = NULL;
    char ps[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;   /* resolved by sl_plat_resolve: no DNS wait here */
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(addr, ps, &hints, &res) != 0 || res == NULL) {
        snprintf(why, whysz, "'%s' is not a numeric address", addr);
        return SL_ERR_USAGE;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    res->ai_protocol);
    int rc = SL_ERR_IO;
    if (fd < 0) {
        snprintf(why, whysz, "socket: %s", strerror(errno));
        goto out;
    }
    int c = connect(fd, res->ai_addr, res->ai_addrlen);
    if (c != 0 && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int pr = poll(&p, 1, timeout_ms);
        if (pr == 0) {
            snprintf(why, whysz, "no answer from %s port %d within %d ms (firewall dropping "
                     "packets, or host down)", addr, port, timeout_ms);
            rc = SL_ERR_BUSY;
            goto out;
        }
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        c = err == 0 ? 0 : -1;
        errno = err;
    }
    if (c != 0) {
        snprintf(why, whysz, "%s port %d: %s", addr, port,
                 errno == ECONNREFUSED ? "connection refused (nothing listening on that port)"
                 : errno == ENETUNREACH || errno == EHOSTUNREACH ? "network unreachable"
                                                                 : strerror(errno));
        goto out;
    }
    snprintf(why, whysz, "connected to %s port %d", addr, port);
    *fd_out = fd;
    fd = -1;
    rc = SL_OK;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

int sl_plat_sock_send(int fd, const void *buf, size_t len, int timeout_ms, size_t *sent)
{
    struct pollfd p = {fd, POLLOUT, 0};
    *sent = 0;
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0)
        return SL_ERR_BUSY;
    if (pr < 0)
        return errno == EINTR ? SL_ERR_BUSY : SL_ERR_IO;
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? SL_ERR_BUSY : SL_ERR_IO;
    *sent = (size_t)n;
    return SL_OK;
}

int sl_plat_sock_recv(int fd, void *buf, size_t len, int timeout_ms, size_t *got)
{
    struct pollfd p = {fd, POLLIN, 0};
    *got = 0;
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0)
        return SL_ERR_BUSY;
    if (pr < 0)
        return errno == EINTR ? SL_ERR_BUSY : SL_ERR_IO;
    ssize_t n = recv(fd, buf, len, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? SL_ERR_BUSY : SL_ERR_IO;
    *got = (size_t)n;
    return SL_OK;
}

int sl_plat_file_mode(const char *path, unsigned *mode, long *uid)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? SL_ERR_NOT_FOUND : errno == EACCES ? SL_ERR_PERM : SL_ERR_IO;
    *mode = (unsigned)st.st_mode & 07777;
    *uid = (long)st.st_uid;
    return SL_OK;
}
