/*
 * framing.h - from raw scanner input to complete scans.
 *
 * A keyboard-wedge scanner "types" its payload as key events and ends it
 * with Enter or Tab; a serial scanner sends a line ended by CR, LF or CRLF.
 * Both decoders hand each complete scan to an sl_scan_emit callback, with
 * err telling a clean scan (SL_OK) from one that must be dropped:
 * SL_ERR_INVALID (a key with no character in the layout, a NUL byte) or
 * SL_ERR_TOO_LARGE (longer than SL_SCAN_MAX).  A dropped scan is never
 * half-delivered: skipping an unknown key could turn a wrong code into a
 * valid-looking SKU.
 */
#ifndef SL_FRAMING_H
#define SL_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#define SL_SCAN_MAX 128   /* bytes of one scan (GS1-128 with batch and expiry fits) */

/* code is NUL-terminated, borrowed for the call; "" when err != SL_OK */
typedef void (*sl_scan_emit)(void *ctx, const char *code, size_t len, int err);

/* ---- evdev key events, US layout ---- */
typedef struct sl_kbd {
    int lshift, rshift;
    int bad;            /* an unknown key since the last terminator */
    int overlong;
    size_t len;
    char buf[SL_SCAN_MAX + 1];
} sl_kbd;

void sl__kbd_init(sl_kbd *k);
/* Feed one event (type, code and value as in struct input_event).  Key
 * presses type characters, Enter / keypad Enter / Tab end the scan;
 * releases and autorepeats only matter for the shift keys; other event
 * types (EV_SYN, EV_MSC scan codes) are ignored, except SYN_DROPPED (the
 * kernel lost events): the scan in progress is dropped and shift released. */
void sl__kbd_feed(sl_kbd *k, uint16_t type, uint16_t code, int32_t value, sl_scan_emit emit,
                  void *ctx);
/* The character a key gives (0 for none), with or without shift. */
char sl__kbd_char(uint16_t code, int shift);

/* ---- byte lines (serial ttys, pipes) ---- */
typedef struct sl_linebuf {
    int bad;            /* a NUL byte in the current line */
    int overlong;
    size_t len;
    char buf[SL_SCAN_MAX + 1];
} sl_linebuf;

void sl__line_init(sl_linebuf *lb);
/* Feed bytes as they arrive (any split); CR, LF and CRLF end a line, empty
 * lines are skipped, a partial line waits for the next call. */
void sl__line_feed(sl_linebuf *lb, const char *data, size_t n, sl_scan_emit emit, void *ctx);

#endif
