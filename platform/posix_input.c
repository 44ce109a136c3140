/*
 * Input devices for the barcode-scanner drivers (drivers/): evdev devices
 * (EVIOCGRAB), serial ttys in raw mode (termios), FIFOs for the tests.
 * The decoding lives in drivers/; this file only opens, configures and
 * reads, and maps errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#ifdef __linux__
#define HAVE_EVDEV 1
#include <linux/input.h>
#endif

#include "platform.h"
#include "storelink.h"

static int map_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENXIO:
    case ENODEV: return SL_ERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS: return SL_ERR_PERM;
    case EBUSY: return SL_ERR_BUSY;
    case ENOMEM: return SL_ERR_NOMEM;
    case ENOSPC:
    case EDQUOT: return SL_ERR_DISK_FULL;
    default: return SL_ERR_IO;
    }
}

int sl_plat_input_open(const char *path, int *fd)
{
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return map_errno(errno);
    *fd = f;
    return SL_OK;
}

int sl_plat_fd_kind(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return '?';
    if (S_ISCHR(st.st_mode))
        return 'c';
    if (S_ISFIFO(st.st_mode))
        return 'p';
    if (S_ISREG(st.st_mode))
        return 'f';
    return '?';
}

int sl_plat_input_grab(int fd)
{
#ifdef HAVE_EVDEV
    if (ioctl(fd, EVIOCGRAB, (void *)1) == 0)
        return SL_OK;
    /* not an input device: ENOTTY natively; qemu-user answers an ioctl it
     * does not translate for the device with ENOSYS */
    if (errno == ENOTTY || errno == EINVAL || errno == ENOSYS)
        return SL_ERR_USAGE;
    return map_errno(errno);
#else
    (void)fd;
    return SL_ERR_USAGE;
#endif
}

#ifdef HAVE_EVDEV
size_t sl_plat_input_event_size(void)
{
    return sizeof(struct input_event);
}

void sl_plat_input_event_decode(const void *raw, sl_input_ev *ev)
{
    struct input_event ie;
    memcpy(&ie, raw, sizeof ie);
    ev->type = ie.type;
    ev->code = ie.code;
    ev->value = ie.value;
}

void sl_plat_input_event_encode(const sl_input_ev *ev, void *raw)
{
    struct input_event ie;
    memset(&ie, 0, sizeof ie);
    ie.type = ev->type;
    ie.code = ev->code;
    ie.value = ev->value;
    memcpy(raw, &ie, sizeof ie);
}
#else
/* without evdev the tests' pipe format is three packed fields */
size_t sl_plat_input_event_size(void)
{
    return 8;
}

void sl_plat_input_event_decode(const void *raw, sl_input_ev *ev)
{
    memcpy(&ev->type, raw, 2);
    memcpy(&ev->code, (const char *)raw + 2, 2);
    memcpy(&ev->value, (const char *)raw + 4, 4);
}

void sl_plat_input_event_encode(const sl_input_ev *ev, void *raw)
{
    memcpy(raw, &ev->type, 2);
    memcpy((char *)raw + 2, &ev->code, 2);
    memcpy((char *)raw + 4, &ev->value, 4);
}
#endif

static const struct {
    unsigned baud;
    speed_t speed;
} speeds[] = {
    {1200, B1200}, {2400, B2400}, {4800, B4800}, {9600, B9600}, {19200, B19200},
    {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400},
};

int sl_plat_tty_baud_ok(unsigned baud)
{
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].baud == baud)
            return 1;
    return 0;
}

int sl_plat_tty_open(const char *path, unsigned baud, int *fd)
{
    speed_t sp = 0;
    int found = 0;
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].baud == baud) {
            sp = speeds[i].speed;
            found = 1;
        }
    if (!found)
        return SL_ERR_USAGE;
    /* O_RDWR: some CDC-ACM scanners only start sending once DTR is raised,
     * which opening for writing does */
    int f = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return map_errno(errno);
    struct termios t;
    if (tcgetattr(f, &t) != 0) {
        int rc = errno == ENOTTY ? SL_ERR_USAGE : map_errno(errno);
        close(f);
        return rc;
    }
    /* raw: no line editing, no echo, no CR/LF translation (the framing
     * layer sees the scanner's own terminators), 8N1, no flow control */
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB);
#ifdef CRTSCTS
    t.c_cflag &= ~(tcflag_t)CRTSCTS;
#endif
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, sp) != 0 || cfsetospeed(&t, sp) != 0 || tcsetattr(f, TCSANOW, &t) != 0) {
        int rc = map_errno(errno);
        close(f);
        return rc;
    }
    *fd = f;
    return SL_OK;
}

int sl_plat_read(int fd, void *buf, size_t n, size_t *got)
{
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r > 0) {
            *got = (size_t)r;
            return SL_OK;
        }
        *got = 0;
        if (r == 0)
            return SL_ERR_NOT_FOUND;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SL_ERR_BUSY;
        /* an unplugged evdev device reads ENODEV, a hung-up tty EIO */
        if (errno == ENODEV || errno == EIO || errno == ENXIO)
            return SL_ERR_NOT_FOUND;
        return map_errno(errno);
    }
}

int sl_plat_write_dev(int fd, const void *data, size_t len, int timeout_ms)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* bounded: a scanner that stopped reading must not stall the loop */
            struct pollfd pf = {fd, POLLOUT, 0};
            int r = poll(&pf, 1, timeout_ms);
            if (r == 0)
                return SL_ERR_BUSY;
            if (r < 0 && errno != EINTR)
                return SL_ERR_IO;
            continue;
        }
        if (w < 0 && (errno == ENODEV || errno == EIO || errno == ENXIO))
            return SL_ERR_NOT_FOUND;
        return w < 0 ? map_errno(errno) : SL_ERR_IO;
    }
    return SL_OK;
}

int sl_plat_append_file(const char *path, const void *data, size_t len)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (f < 0)
        return map_errno(errno);
    ssize_t w;
    do
        w = write(f, data, len);
    while (w < 0 && errno == EINTR);
    int rc = w == (ssize_t)len ? SL_OK : w < 0 ? map_errno(errno) : SL_ERR_IO;
    close(f);
    return rc;
}
