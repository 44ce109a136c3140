/* The three readers (reader.h): evdev, serial tty, pipe.  OS calls go
 * through platform.h; the decoding is framing.c's. */
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "reader.h"
#include "storelink.h"

#define RAW_MAX 4096           /* bytes read per call */
#define EVENT_RAW_MAX 64       /* bytes of one struct input_event, at most */

struct rd {
    int fd;
    int events;                /* struct input_event records, not text */
    sl_kbd kbd;
    sl_linebuf lines;
    size_t partial;            /* bytes of an incomplete event (pipes) */
    unsigned char part[EVENT_RAW_MAX];
};

static int rd_new(struct rd **out, int fd, int events)
{
    struct rd *r = calloc(1, sizeof *r);
    if (r == NULL) {
        sl_plat_close(fd);
        return SL_ERR_NOMEM;
    }
    r->fd = fd;
    r->events = events;
    sl__kbd_init(&r->kbd);
    sl__line_init(&r->lines);
    *out = r;
    return SL_OK;
}

static int rd_fd(void *self)
{
    return ((struct rd *)self)->fd;
}

static void rd_close(void *self)
{
    struct rd *r = self;
    if (r == NULL)
        return;
    sl_plat_close(r->fd);   /* also ends an EVIOCGRAB */
    free(r);
}

/* a pipe may deliver part of a struct input_event; the kernel's evdev
 * never does, but the same code handles both */
static void feed_events(struct rd *r, const unsigned char *data, size_t n, sl_scan_emit emit,
                        void *ctx)
{
    size_t es = sl_plat_input_event_size();
    sl_input_ev ev;
    while (n > 0) {
        size_t take = es - r->partial;
        if (take > n)
            take = n;
        memcpy(r->part + r->partial, data, take);
        r->partial += take;
        data += take;
        n -= take;
        if (r->partial == es) {
            sl_plat_input_event_decode(r->part, &ev);
            sl__kbd_feed(&r->kbd, ev.type, ev.code, ev.value, emit, ctx);
            r->partial = 0;
        }
    }
}

static int rd_read(void *self, sl_scan_emit emit, void *ctx)
{
    struct rd *r = self;
    char buf[RAW_MAX];
    /* bounded: a device that never stops sending cannot starve the loop */
    for (int round = 0; round < 16; round++) {
        size_t got;
        int rc = sl_plat_read(r->fd, buf, sizeof buf, &got);
        if (rc == SL_ERR_BUSY)
            return SL_OK;
        if (rc != SL_OK)
            return rc;
        if (r->events)
            feed_events(r, (const unsigned char *)buf, got, emit, ctx);
        else
            sl__line_feed(&r->lines, buf, got, emit, ctx);
    }
    return SL_OK;
}

static int evdev_open(void **self, const sl_scanner_conf *conf)
{
    int fd, rc;
    if (sl_plat_input_event_size() > EVENT_RAW_MAX)
        return SL_ERR_USAGE;
    if ((rc = sl_plat_input_open(conf->device, &fd)) != SL_OK)
        return rc;
    if (sl_plat_fd_kind(fd) != 'c') {
        sl_plat_close(fd);
        return SL_ERR_USAGE;
    }
    /* without the grab every scan would also be typed into whatever
     * window has the focus */
    if (conf->grab && (rc = sl_plat_input_grab(fd)) != SL_OK) {
        sl_plat_close(fd);
        return rc;
    }
    return rd_new((struct rd **)self, fd, 1);
}

static int serial_open(void **self, const sl_scanner_conf *conf)
{
    int fd, rc;
    if ((rc = sl_plat_tty_open(conf->device, conf->baud, &fd)) != SL_OK)
        return rc;
    return rd_new((struct rd **)self, fd, 0);
}

static int pipe_open(void **self, const sl_scanner_conf *conf)
{
    int fd, rc;
    if (sl_plat_input_event_size() > EVENT_RAW_MAX)
        return SL_ERR_USAGE;
    if ((rc = sl_plat_input_open(conf->device, &fd)) != SL_OK)
        return rc;
    /* a regular file would end, be reopened and be read again: every
     * scan in it recorded once a second */
    if (sl_plat_fd_kind(fd) != 'p') {
        sl_plat_close(fd);
        return SL_ERR_USAGE;
    }
    return rd_new((struct rd **)self, fd, conf->format == SL_PIPE_EVENTS);
}

#define WRITE_TIMEOUT_MS 200

static int serial_write(void *self, const char *data, size_t len)
{
    return sl_plat_write_dev(((struct rd *)self)->fd, data, len, WRITE_TIMEOUT_MS);
}

const sl_reader_ops sl__reader_evdev = {"evdev", evdev_open, rd_fd, rd_read, NULL, rd_close};
const sl_reader_ops sl__reader_serial = {"serial", serial_open, rd_fd, rd_read, serial_write,
                                         rd_close};
const sl_reader_ops sl__reader_pipe = {"pipe", pipe_open, rd_fd, rd_read, NULL, rd_close};

const sl_reader_ops *sl__reader_for(sl_scan_type type)
{
    switch (type) {
    case SL_SCANNER_EVDEV: return &sl__reader_evdev;
    case SL_SCANNER_SERIAL: return &sl__reader_serial;
    case SL_SCANNER_PIPE: return &sl__reader_pipe;
    }
    return NULL;
}
