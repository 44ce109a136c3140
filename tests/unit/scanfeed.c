/*
 * scanfeed - plays a barcode scanner for tests/cli/84-scanner.t.
 *
 *   scanfeed pty LINK      a pseudo-terminal pair (posix_openpt): LINK is a
 *                          symlink to the terminal side, the one storelink
 *                          opens as a serial scanner; stdin lines are written
 *                          to the other side (see below), and what storelink
 *                          writes to the device appears on stdout (CRs dropped)
 *   scanfeed events        stdin lines as struct input_event key presses on
 *                          stdout (US layout, Enter after each line), to feed
 *                          a FIFO read as type=pipe, format=input_event
 *   scanfeed uinput        a virtual keyboard through /dev/uinput; prints
 *                          its /dev/input/eventN path, then types stdin lines
 *                          (exit 77 when /dev/uinput cannot be used)
 *
 * In stdin lines \r \n \t \\ and \xHH are escapes; for pty every byte is
 * sent as is (add \r\n yourself); for events and uinput a line is typed and
 * followed by Enter, and \x01 stands for a key with no character (F1).
 * Command lines: "!sleep MS", "!hangup" (pty: close the pair and remove
 * LINK, a scanner unplugged), "!plug" (pty: a new pair behind LINK).
 * A test helper: it may use the OS directly, unlike the agent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

static int master = -1, slave = -1;

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static size_t unescape(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = in; *p && n < outsz; p++) {
        if (*p != '\\' || p[1] == '\0') {
            out[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'r': out[n++] = '\r'; break;
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'x': {
            char hex[3] = {p[1], p[1] ? p[2] : 0, 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 2;
            break;
        }
        default: out[n++] = *p; break;
        }
    }
    return n;
}

static int plug(const char *link)
{
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        perror("scanfeed: posix_openpt");
        return -1;
    }
    const char *name = ptsname(master);
    /* raw before anything is written, so no CR/LF translation or echo
     * happens before storelink opens its side */
    slave = open(name, O_RDWR | O_NOCTTY);
    struct termios t;
    if (slave < 0 || tcgetattr(slave, &t) != 0) {
        perror("scanfeed: pty");
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    unlink(link);
    if (symlink(name, link) != 0) {
        perror("scanfeed: symlink");
        return -1;
    }
    return 0;
}

static void hangup(const char *link)
{
    unlink(link);
    close(slave);
    close(master);
    slave = master = -1;
}

/* US layout: key code and shift for a character */
static int key_for(char c, int *shift)
{
    static const char *rows[2] = {
        /* index = key code, from KEY_1 (2) to KEY_SLASH (53) */
        "\0\0" "1234567890-=\0\0qwertyuiop[]\0\0asdfghjkl;'`\0\\zxcvbnm,./",
        "\0\0" "!@#$%^&*()_+\0\0QWERTYUIOP{}\0\0ASDFGHJKL:\"~\0|ZXCVBNM<>?",
    };
    if (c == ' ') {
        *shift = 0;
        return KEY_SPACE;
    }
    for (int s = 0; s < 2; s++)
        for (int k = 2; k <= KEY_SLASH; k++)
            if (rows[s][k] == c && c != '\0') {
                *shift = s;
                return k;
            }
    return -1;
}

static int emit(int fd, int type, int code, int value)
{
    struct input_event ie;
    memset(&ie, 0, sizeof ie);
    ie.type = (unsigned short)type;
    ie.code = (unsigned short)code;
    ie.value = value;
    return write(fd, &ie, sizeof ie) == (ssize_t)sizeof ie ? 0 : -1;
}

static int tap(int fd, int code, int shift)
{
    int rc = 0;
    if (shift)
        rc |= emit(fd, EV_KEY, KEY_LEFTSHIFT, 1) | emit(fd, EV_SYN, SYN_REPORT, 0);
    rc |= emit(fd, EV_KEY, code, 1) | emit(fd, EV_SYN, SYN_REPORT, 0);
    rc |= emit(fd, EV_KEY, code, 0) | emit(fd, EV_SYN, SYN_REPORT, 0);
    if (shift)
        rc |= emit(fd, EV_KEY, KEY_LEFTSHIFT, 0) | emit(fd, EV_SYN, SYN_REPORT, 0);
    return rc;
}

static int type_line(int fd, const char *s, size_t n, long delay_ms)
{
    for (size_t i = 0; i < n; i++) {
        int shift = 0, code = s[i] == '\x01' ? KEY_F1 : key_for(s[i], &shift);
        if (code < 0) {
            fprintf(stderr, "scanfeed: no key for 0x%02x\n", (unsigned char)s[i]);
            return -1;
        }
        if (tap(fd, code, shift) != 0)
            return -1;
        if (delay_ms)
            msleep(delay_ms);
    }
    return tap(fd, KEY_ENTER, 0);
}

static int open_uinput(char *path, size_t pathsz)
{
    int fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (ioctl(fd, UI_SET_EVBIT, EV_KEY) != 0)
        return -1;
    for (int k = 1; k < 128; k++)
        ioctl(fd, UI_SET_KEYBIT, k);
    struct uinput_setup us;
    memset(&us, 0, sizeof us);
    us.id.bustype = BUS_USB;
    us.id.vendor = 0x1234;
    us.id.product = 0x5678;
    snprintf(us.name, sizeof us.name, "storelink test scanner");
    if (ioctl(fd, UI_DEV_SETUP, &us) != 0 || ioctl(fd, UI_DEV_CREATE) != 0)
        return -1;
    char sys[64], dir[160];
    if (ioctl(fd, UI_GET_SYSNAME(sizeof sys), sys) < 0)
        return -1;
    /* the event node appears under the input device in sysfs */
    for (int tries = 0; tries < 100; tries++) {
        for (int e = 0; e < 256; e++) {
            snprintf(dir, sizeof dir, "/sys/devices/virtual/input/%s/event%d", sys, e);
            if (access(dir, F_OK) == 0) {
                snprintf(path, pathsz, "/dev/input/event%d", e);
                if (access(path, F_OK) == 0)
                    return fd;
            }
        }
        msleep(20);
    }
    return -1;
}

/* one stdin line: a command or data for the device */
static int handle(const char *line, const char *mode, const char *link, int out)
{
    char data[1024];
    if (strncmp(line, "!sleep ", 7) == 0) {
        msleep(strtol(line + 7, NULL, 10));
        return 0;
    }
    if (strcmp(line, "!hangup") == 0 && link != NULL) {
        hangup(link);
        return 0;
    }
    if (strcmp(line, "!plug") == 0 && link != NULL)
        return plug(link);
    size_t n = unescape(line, data, sizeof data);
    int rc;
    if (strcmp(mode, "pty") == 0)
        rc = master >= 0 && write(master, data, n) == (ssize_t)n ? 0 : -1;
    else
        rc = type_line(out, data, n, 0);
    if (rc != 0)
        fprintf(stderr, "scanfeed: write failed: %s\n", strerror(errno));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: scanfeed pty LINK | events | uinput\n");
        return 64;
    }
    const char *mode = argv[1], *link = argc > 2 ? argv[2] : NULL;
    int out = 1;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "pty") == 0) {
        if (link == NULL || plug(link) != 0)
            return 1;
        printf("ready\n");
    } else if (strcmp(mode, "uinput") == 0) {
        char path[64];
        out = open_uinput(path, sizeof path);
        if (out < 0) {
            fprintf(stderr, "scanfeed: /dev/uinput: %s\n", strerror(errno));
            return 77;
        }
        printf("%s\n", path);
    } else if (strcmp(mode, "events") != 0) {
        fprintf(stderr, "scanfeed: unknown mode '%s'\n", mode);
        return 64;
    }
    if (strcmp(mode, "pty") == 0) {
        /* stdin lines and what storelink writes back to the device (lookup
         * answers, printed on stdout without CR) in one poll loop; stdio
         * buffering would hide lines from poll, hence read() */
        char in[4096];
        size_t n = 0;
        for (;;) {
            struct pollfd pf[2] = {{0, POLLIN, 0}, {master, POLLIN, 0}};
            if (poll(pf, master >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
                return 1;
            if (master >= 0 && (pf[1].revents & POLLIN)) {
                char b[512], o[512];
                ssize_t r = read(master, b, sizeof b);
                size_t k = 0;
                for (ssize_t i = 0; i < r; i++)
                    if (b[i] != '\r')
                        o[k++] = b[i];
                if (k > 0 && write(1, o, k) < 0)
                    return 1;
            }
            if (!(pf[0].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t r = read(0, in + n, sizeof in - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            char *nl;
            while ((nl = memchr(in, '\n', n)) != NULL) {
                *nl = '\0';
                if (handle(in, mode, link, out) != 0)
                    return 1;
                size_t used = (size_t)(nl - in) + 1;
                memmove(in, nl + 1, n - used);
                n -= used;
            }
            if (n == sizeof in - 1)
                return 1;
        }
    } else {
        char line[1024];
        while (fgets(line, sizeof line, stdin) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            if (handle(line, mode, link, out) != 0)
                return 1;
        }
    }
    if (strcmp(mode, "pty") == 0) {
        /* let the reader take the last bytes before the pair goes away */
        if (master >= 0)
            tcdrain(master);
        msleep(200);
        hangup(link);
    } else if (strcmp(mode, "uinput") == 0) {
        msleep(200);
        ioctl(out, UI_DEV_DESTROY);
        close(out);
    }
    return 0;
}
