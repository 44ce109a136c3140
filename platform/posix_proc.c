/* posix_proc.c - run a risky read in a child process (journal epochs,
 * docs/PROTOCOL.md "Journal epochs"): a damaged LMDB file can make the
 * reader fault (a page past the end of a truncated file is SIGBUS in an
 * mmap), and the process that records sales must not die of it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform.h"
#include "storelink.h"

/* the child's result buffer and pipe, for its fault handler */
static void *child_out;
static size_t child_outsz;
static int child_fd = -1;

static void child_fault(int sig)
{
    /* hand back what the child had found so far (write is
     * async-signal-safe), then die with a code the parent recognises */
    if (child_fd >= 0 && child_out != NULL) {
        const char *p = child_out;
        size_t left = child_outsz;
        while (left > 0) {
            ssize_t n = write(child_fd, p, left);
            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
    }
    _exit(100 + (sig & 0x1f));
}

int sl_plat_run_isolated(int (*fn)(void *ctx, void *out, size_t outsz), void *ctx, void *out,
                         size_t outsz, int *faulted)
{
    int fds[2];
    *faulted = 0;
    if (pipe(fds) != 0)
        return SL_ERR_IO;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return errno == ENOMEM ? SL_ERR_NOMEM : SL_ERR_IO;
    }
    if (pid == 0) {
        close(fds[0]);
        child_out = out;
        child_outsz = outsz;
        child_fd = fds[1];
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = child_fault;
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGFPE, &sa, NULL);
        sigaction(SIGABRT, &sa, NULL);
        int rc = fn(ctx, out, outsz);
        child_fault(0);   /* the normal path writes the same way */
        (void)rc;
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    char *p = out;
    while (got < outsz) {
        ssize_t n = read(fds[0], p + got, outsz - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return SL_ERR_IO;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 100)
        *faulted = 1;
    return got == outsz ? SL_OK : SL_ERR_IO;
}

int sl_plat_read_at(const char *path, uint64_t off, void *buf, size_t n, size_t *got)
{
    *got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SL_ERR_NOT_FOUND : SL_ERR_IO;
    ssize_t r;
    do
        r = pread(fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    close(fd);
    if (r < 0)
        return SL_ERR_IO;
    *got = (size_t)r;
    return SL_OK;
}

int sl_plat_same_file(int fd, const char *path)
{
    struct stat a, b;
    if (fstat(fd, &a) != 0 || stat(path, &b) != 0)
        return 0;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
