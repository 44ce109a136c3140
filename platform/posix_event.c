/* Signals, poll, file watches and TCP probes for the daemon's event loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#define HAVE_INOTIFY 1
#include <sys/inotify.h>
#endif

#include "platform.h"
#include "storelink.h"

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    char c = sig == SIGHUP ? 'H' : 'T';
    if (write(sig_pipe[1], &c, 1) < 0) {
        /* pipe full: a signal of the same kind is already pending */
    }
    errno = saved;
}

int sl_plat_signals_init(void)
{
    if (sig_pipe[0] >= 0)
        return sig_pipe[0];
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a dropped socket must be an error code */
    return sig_pipe[0];
}

int sl_plat_signal_take(int fd)
{
    char c;
    int got = 0;
    /* a terminate wins over reloads that arrived with it */
    while (read(fd, &c, 1) == 1)
        if (got != 'T')
            got = c;
    return got;
}

int sl_plat_watch_file(const char *path)
{
#ifdef HAVE_INOTIFY
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return -1;
    if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
        close(fd);
        return -1;
    }
    return fd;
#else
    (void)path;
    return -1;
#endif
}

void sl_plat_watch_drain(int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

void sl_plat_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

int sl_plat_poll(sl_pollfd *fds, int n, int timeout_ms)
{
    struct pollfd p[SL_POLL_MAX];
    if (n > SL_POLL_MAX)
        return -1;
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i].fd;
        p[i].events = (short)((fds[i].want_read ? POLLIN : 0) | (fds[i].want_write ? POLLOUT : 0));
        p[i].revents = 0;
    }
    int rc = poll(p, (nfds_t)n, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        fds[i].readable = (p[i].revents & (POLLIN | POLLHUP)) != 0;
        fds[i].writable = (p[i].revents & POLLOUT) != 0;
        fds[i].error = (p[i].revents & (POLLERR | POLLNVAL)) != 0;
    }
    return rc;
}

int sl_plat_tcp_probe(const char *host, int port, int timeout_ms, char *why, size_t whysz)
{
    struct addrinfo hints, *res = NULL;
    char ps[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(ps, sizeof ps, "%d", port);
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g != 0) {
        snprintf(why, whysz, "cannot resolve %s: %s", host, gai_strerror(g));
        return SL_ERR_NOT_FOUND;
    }
    int rc = SL_ERR_IO;
    snprintf(why, whysz, "cannot connect to %s:%d", host, port);
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0)
            continue;
        int c = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (c != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int pr = poll(&p, 1, timeout_ms);
            if (pr == 0) {
                snprintf(why, whysz, "connection to %s:%d timed out after %d ms", host, port,
                         timeout_ms);
                rc = SL_ERR_BUSY;
                close(fd);
                continue;
            }
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            c = err == 0 ? 0 : -1;
            errno = err;
        }
        if (c == 0) {
            close(fd);
            rc = SL_OK;
            break;
        }
        snprintf(why, whysz, "connection to %s:%d %s", host, port,
                 errno == ECONNREFUSED ? "refused" : strerror(errno));
        rc = SL_ERR_IO;
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}
