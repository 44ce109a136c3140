/* Files and directories for POSIX systems. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "platform.h"
#include "storelink.h"

static int map_errno(int e)
{
    switch (e) {
    case ENOENT: return SL_ERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS: return SL_ERR_PERM;
    case ENOMEM: return SL_ERR_NOMEM;
    case ENOSPC:
    case EDQUOT: return SL_ERR_DISK_FULL;
    default: return SL_ERR_IO;
    }
}

int sl_plat_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return SL_ERR_USAGE;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
                return map_errno(errno);
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return map_errno(errno);
    return S_ISDIR(st.st_mode) ? SL_OK : SL_ERR_IO;
}

int sl_plat_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return map_errno(errno);
    int rc = fsync(fd) == 0 ? SL_OK : map_errno(errno);
    close(fd);
    return rc;
}

int sl_plat_file_size(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return map_errno(errno);
    *size = (uint64_t)st.st_size;
    return SL_OK;
}

int sl_plat_fs_free(const char *path, uint64_t *avail)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return map_errno(errno);
    *avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return SL_OK;
}

int sl_plat_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int sl_plat_rename_dir(const char *from, const char *to)
{
    if (rename(from, to) == 0)
        return SL_OK;
    if (errno == ENOTEMPTY || errno == EEXIST)
        return SL_ERR_BUSY;
    return map_errno(errno);
}

int sl_plat_remove_flat_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT ? SL_OK : map_errno(errno);
    struct dirent *de;
    char p[4300];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        unlink(p);
    }
    closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT)
        return map_errno(errno);
    return SL_OK;
}

int sl_plat_read_stream(FILE *f, size_t max, char **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    if (b == NULL)
        return SL_ERR_NOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(b);
                return SL_ERR_TOO_LARGE;
            }
            size_t ncap = cap * 2;
            char *nb = realloc(b, ncap + 1);
            if (nb == NULL) {
                free(b);
                return SL_ERR_NOMEM;
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(b);
                return SL_ERR_IO;
            }
            break;
        }
        if (n > max) {
            free(b);
            return SL_ERR_TOO_LARGE;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return SL_OK;
}

int sl_plat_read_file(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return map_errno(errno);
    int rc = sl_plat_read_stream(f, max, buf, len);
    fclose(f);
    return rc;
}

int sl_plat_isatty(FILE *f)
{
    return isatty(fileno(f));
}

const char *sl_plat_getenv(const char *name)
{
    return getenv(name);
}

void sl_plat_user_name(char *out, size_t outsz)
{
    const char *su = getenv("SUDO_USER");
    if (su != NULL && su[0] != '\0') {
        snprintf(out, outsz, "%s", su);
        return;
    }
    uid_t uid = geteuid();
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
        snprintf(out, outsz, "%s", pw->pw_name);
    else
        snprintf(out, outsz, "uid %lu", (unsigned long)uid);
}

int sl_plat_write_file(const char *path, const void *data, size_t len, unsigned mode, int excl)
{
    char tmp[4200], dir[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return SL_ERR_USAGE;
    if (excl) {
        /* keys: create the final name exclusively, never replace one */
        snprintf(tmp, sizeof tmp, "%s", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), (mode_t)mode);
    if (fd < 0)
        return errno == EEXIST ? SL_ERR_CONFLICT : map_errno(errno);
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int rc = map_errno(errno);
            close(fd);
            unlink(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
        int rc = map_errno(errno);
        close(fd);
        unlink(tmp);
        return rc;
    }
    close(fd);
    if (!excl && rename(tmp, path) != 0) {
        int rc = map_errno(errno);
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    return sl_plat_fsync_dir(dir);
}

int sl_plat_replace_file(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return SL_ERR_USAGE;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return map_errno(errno);
    ssize_t w = write(fd, data, len);
    int rc = (w < 0 || (size_t)w != len) ? SL_ERR_IO : SL_OK;
    close(fd);
    if (rc == SL_OK && rename(tmp, path) != 0)
        rc = map_errno(errno);
    if (rc != SL_OK)
        unlink(tmp);
    return rc;
}

long sl_plat_getpid(void)
{
    return (long)getpid();
}

int sl_plat_pid_alive(long pid)
{
    if (pid <= 0)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int sl_plat_access_dir(const char *path)
{
    if (access(path, R_OK | X_OK) == 0)
        return SL_OK;
    return map_errno(errno);
}
