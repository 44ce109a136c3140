/*
 * reader.h - the reader interface: how scanner input arrives, as a struct
 * of function pointers (STYLE.md "Pluggable edges"), so the scanner and
 * its tests do not care whether scans come from evdev, a tty or a pipe.
 */
#ifndef SL_READER_H
#define SL_READER_H

#include "framing.h"
#include "scanmode.h"

typedef struct sl_reader_ops {
    const char *name;
    /* Open the device of conf (borrowed for the call) into *self.  SL_OK;
     * SL_ERR_NOT_FOUND when it is absent (not plugged in); SL_ERR_BUSY
     * (another process grabbed it), SL_ERR_PERM, SL_ERR_USAGE (not that
     * kind of device), SL_ERR_IO. */
    int (*open)(void **self, const sl_scanner_conf *conf);
    /* The fd to poll for reading. */
    int (*fd)(void *self);
    /* Read what is available and emit each complete scan.  SL_OK when
     * drained; SL_ERR_NOT_FOUND when the device went away (unplugged, end
     * of a FIFO): close and reopen later; SL_ERR_IO. */
    int (*read)(void *self, sl_scan_emit emit, void *ctx);
    /* Send a line back to the device (a lookup answer to a serial
     * scanner's display or host port); NULL for readers that cannot. */
    int (*write)(void *self, const char *data, size_t len);
    /* Close and free; NULL is a no-op. */
    void (*close)(void *self);
} sl_reader_ops;

extern const sl_reader_ops sl__reader_evdev;
extern const sl_reader_ops sl__reader_serial;
extern const sl_reader_ops sl__reader_pipe;

/* The reader for a scanner type. */
const sl_reader_ops *sl__reader_for(sl_scan_type type);

#endif
