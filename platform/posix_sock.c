/* Unix stream sockets for the daemon's control socket: listen, accept,
 * connect, non-blocking reads and writes, and who is on the other end
 * (SO_PEERCRED, the peer's supplementary groups, group names). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform.h"
#include "storelink.h"

static int map_errno(int e)
{
    switch (e) {
    case EACCES:
    case EPERM: return SL_ERR_PERM;
    case ENOENT:
    case ECONNREFUSED: return SL_ERR_NOT_FOUND;
    case EAGAIN:
    case EINPROGRESS: return SL_ERR_BUSY;
    case ENOMEM:
    case ENOBUFS: return SL_ERR_NOMEM;
    case ENAMETOOLONG: return SL_ERR_TOO_LARGE;
    default: return SL_ERR_IO;
    }
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path)
        return SL_ERR_TOO_LARGE;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return SL_OK;
}

/* Connect with a deadline; *fd is non-blocking afterwards. */
int sl_plat_unix_connect(const char *path, int timeout_ms, int *fd)
{
    struct sockaddr_un a;
    int rc = fill_addr(&a, path);
    if (rc != SL_OK)
        return rc;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return map_errno(errno);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            rc = map_errno(errno);
            close(s);
            return rc;
        }
        /* a listener with a full backlog: wait for room, bounded */
        struct pollfd p = {s, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&p, 1, timeout_ms) <= 0) {
            close(s);
            return SL_ERR_BUSY;
        }
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            close(s);
            return map_errno(err);
        }
    }
    *fd = s;
    return SL_OK;
}

int sl_plat_unix_listen(const char *path, unsigned mode, int backlog, int *fd)
{
    struct sockaddr_un a;
    int rc = fill_addr(&a, path);
    if (rc != SL_OK)
        return rc;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return map_errno(errno);
    /* bind creates the file with the umask applied: narrow the umask so
     * the socket is never wider than mode, then chmod to exactly mode */
    mode_t old = umask(0777 & ~(mode_t)mode);
    int b = bind(s, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    if (b != 0 && e == EADDRINUSE) {
        /* a file is there: a live daemon answers on it, a stale one
         * (left by a killed daemon) refuses the connection */
        int probe;
        int prc = sl_plat_unix_connect(path, 500, &probe);
        if (prc == SL_OK) {
            close(probe);
            umask(old);
            close(s);
            return SL_ERR_CONFLICT;
        }
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) == 0) {
            b = bind(s, (struct sockaddr *)&a, sizeof a);
            e = errno;
        }
    }
    umask(old);
    if (b != 0) {
        close(s);
        return map_errno(e);
    }
    if (chmod(path, (mode_t)mode) != 0 || listen(s, backlog) != 0) {
        rc = map_errno(errno);
        close(s);
        unlink(path);
        return rc;
    }
    *fd = s;
    return SL_OK;
}

int sl_plat_unix_accept(int lfd, int *fd)
{
    int s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR
                   ? SL_ERR_BUSY : map_errno(errno);
    *fd = s;
    return SL_OK;
}

int sl_plat_sock_read(int fd, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n >= 0) {
            *got = (size_t)n;
            return SL_OK;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? SL_ERR_BUSY : SL_ERR_IO;
    }
}

int sl_plat_sock_write(int fd, const void *buf, size_t len, size_t *put)
{
    *put = 0;
    for (;;) {
        /* MSG_NOSIGNAL: a client that went away is an error code, not SIGPIPE */
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            *put = (size_t)n;
            return SL_OK;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? SL_ERR_BUSY : SL_ERR_IO;
    }
}

int sl_plat_peer_cred(int fd, long *pid, unsigned *uid, unsigned *gid)
{
    struct ucred cr;
    socklen_t l = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0)
        return map_errno(errno);
    *pid = (long)cr.pid;
    *uid = (unsigned)cr.uid;
    *gid = (unsigned)cr.gid;
    return SL_OK;
}

int sl_plat_pid_groups(long pid, unsigned *groups, size_t max, size_t *n)
{
    char path[64], line[512];
    *n = 0;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return map_errno(errno);
    int rc = SL_ERR_NOT_FOUND;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "Groups:", 7) != 0)
            continue;
        /* a line longer than the buffer is cut: the rest of the groups are
         * not seen, which can only refuse, never allow, a peer */
        char *p = line + 7;
        rc = SL_OK;
        while (*n < max) {
            char *end;
            errno = 0;
            unsigned long g = strtoul(p, &end, 10);
            if (end == p || errno != 0)
                break;
            groups[(*n)++] = (unsigned)g;
            p = end;
        }
        break;
    }
    fclose(f);
    return rc;
}

int sl_plat_group_gid(const char *name, unsigned *gid)
{
    struct group gr, *res = NULL;
    char buf[4096];
    int e = getgrnam_r(name, &gr, buf, sizeof buf, &res);
    if (e != 0)
        return map_errno(e);
    if (res == NULL)
        return SL_ERR_NOT_FOUND;
    *gid = (unsigned)gr.gr_gid;
    return SL_OK;
}

unsigned sl_plat_getuid(void)
{
    return (unsigned)getuid();
}

int sl_plat_unlink(const char *path)
{
    return unlink(path) == 0 || errno == ENOENT ? SL_OK : map_errno(errno);
}
