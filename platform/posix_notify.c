/*
 * The systemd notification protocol (sd_notify(3)), spoken directly: one
 * datagram of "KEY=VALUE\n..." lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET.  Written here rather than linked from libsystemd so the
 * agent carries no libsystemd dependency (and no dlopen) on terminals
 * where a few hundred KiB matter.  The kernel attaches our credentials
 * itself (the service manager sets SO_PASSCRED), so nothing else is sent.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform.h"
#include "storelink.h"

int sl_plat_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t n;
    if (path == NULL || path[0] == '\0')
        return SL_OK;   /* not started by a service manager */
    if (state == NULL)
        return SL_ERR_USAGE;
    n = strlen(path);
    /* a file system path or, with a leading '@', Linux's abstract namespace;
     * other address kinds (vsock:) are not used for services */
    if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof sa.sun_path)
        return SL_ERR_CONFIG;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    /* an abstract name is exactly n bytes long (no terminator counts) */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                                  (path[0] == '@' ? 0 : 1));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? SL_ERR_NOMEM : SL_ERR_IO;
    int rc = SL_OK;
    size_t len = strlen(state);
    ssize_t w;
    do
        w = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        rc = errno == EACCES || errno == EPERM ? SL_ERR_PERM
           : errno == ENOENT || errno == ECONNREFUSED ? SL_ERR_NOT_FOUND
           : errno == EAGAIN ? SL_ERR_BUSY : SL_ERR_IO;
    else if ((size_t)w != len)
        rc = SL_ERR_IO;
    close(fd);
    return rc;
}

uint64_t sl_plat_watchdog_usec(void)
{
    const char *s = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
    char *end;
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return 0;
    /* WATCHDOG_PID says whom the watchdog is for: a child that inherited
     * the environment must not feed its parent's watchdog */
    if (p != NULL && p[0] != '\0') {
        errno = 0;
        long long pid = strtoll(p, &end, 10);
        if (errno != 0 || *end != '\0' || pid != (long long)getpid())
            return 0;
    }
    errno = 0;
    unsigned long long us = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || us == 0)
        return 0;
    return (uint64_t)us;
}
