/* Key-event and line framing for scanner input (framing.h). */
#include <linux/input-event-codes.h>
#include <string.h>

#include "framing.h"
#include "storelink.h"

/* US layout: the keys a barcode scanner types (digits, letters and the
 * printable symbols); index is the evdev key code.  A scanner configured
 * for another layout sends other codes for the same characters, which is
 * why scanners are set to US layout in the field. */
static const struct {
    char plain, shifted;
} us[KEY_SPACE + 1] = {
    [KEY_1] = {'1', '!'}, [KEY_2] = {'2', '@'}, [KEY_3] = {'3', '#'}, [KEY_4] = {'4', '$'},
    [KEY_5] = {'5', '%'}, [KEY_6] = {'6', '^'}, [KEY_7] = {'7', '&'}, [KEY_8] = {'8', '*'},
    [KEY_9] = {'9', '('}, [KEY_0] = {'0', ')'}, [KEY_MINUS] = {'-', '_'},
    [KEY_EQUAL] = {'=', '+'},
    [KEY_Q] = {'q', 'Q'}, [KEY_W] = {'w', 'W'}, [KEY_E] = {'e', 'E'}, [KEY_R] = {'r', 'R'},
    [KEY_T] = {'t', 'T'}, [KEY_Y] = {'y', 'Y'}, [KEY_U] = {'u', 'U'}, [KEY_I] = {'i', 'I'},
    [KEY_O] = {'o', 'O'}, [KEY_P] = {'p', 'P'}, [KEY_LEFTBRACE] = {'[', '{'},
    [KEY_RIGHTBRACE] = {']', '}'},
    [KEY_A] = {'a', 'A'}, [KEY_S] = {'s', 'S'}, [KEY_D] = {'d', 'D'}, [KEY_F] = {'f', 'F'},
    [KEY_G] = {'g', 'G'}, [KEY_H] = {'h', 'H'}, [KEY_J] = {'j', 'J'}, [KEY_K] = {'k', 'K'},
    [KEY_L] = {'l', 'L'}, [KEY_SEMICOLON] = {';', ':'}, [KEY_APOSTROPHE] = {'\'', '"'},
    [KEY_GRAVE] = {'`', '~'}, [KEY_BACKSLASH] = {'\\', '|'},
    [KEY_Z] = {'z', 'Z'}, [KEY_X] = {'x', 'X'}, [KEY_C] = {'c', 'C'}, [KEY_V] = {'v', 'V'},
    [KEY_B] = {'b', 'B'}, [KEY_N] = {'n', 'N'}, [KEY_M] = {'m', 'M'},
    [KEY_COMMA] = {',', '<'}, [KEY_DOT] = {'.', '>'}, [KEY_SLASH] = {'/', '?'},
    [KEY_KPASTERISK] = {'*', '*'}, [KEY_SPACE] = {' ', ' '},
};

char sl__kbd_char(uint16_t code, int shift)
{
    if (code < sizeof us / sizeof us[0])
        return shift ? us[code].shifted : us[code].plain;
    /* the keypad: scanners set to "numeric keypad" mode send these */
    switch (code) {
    case KEY_KP7: return '7';
    case KEY_KP8: return '8';
    case KEY_KP9: return '9';
    case KEY_KPMINUS: return '-';
    case KEY_KP4: return '4';
    case KEY_KP5: return '5';
    case KEY_KP6: return '6';
    case KEY_KPPLUS: return '+';
    case KEY_KP1: return '1';
    case KEY_KP2: return '2';
    case KEY_KP3: return '3';
    case KEY_KP0: return '0';
    case KEY_KPDOT: return '.';
    case KEY_KPSLASH: return '/';
    default: return 0;
    }
}

void sl__kbd_init(sl_kbd *k)
{
    memset(k, 0, sizeof *k);
}

static void kbd_reset(sl_kbd *k)
{
    k->len = 0;
    k->bad = 0;
    k->overlong = 0;
    k->buf[0] = '\0';
}

void sl__kbd_feed(sl_kbd *k, uint16_t type, uint16_t code, int32_t value, sl_scan_emit emit,
                  void *ctx)
{
    if (type == EV_SYN && code == SYN_DROPPED) {
        /* the kernel's buffer overflowed and events were lost: the scan
         * being typed (or the next one, if its start or the previous Enter
         * was lost) misses characters, and a shift release may be gone */
        k->bad = 1;
        k->lshift = k->rshift = 0;
        return;
    }
    if (type != EV_KEY)
        return;
    if (code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT) {
        /* a release (0) ends shift; press (1) and autorepeat (2) hold it */
        int *s = code == KEY_LEFTSHIFT ? &k->lshift : &k->rshift;
        *s = value != 0;
        return;
    }
    /* only presses type: a scanner never autorepeats, so a repeat is a
     * stuck key, not a character */
    if (value != 1)
        return;
    if (code == KEY_ENTER || code == KEY_KPENTER || code == KEY_TAB) {
        if (k->bad)
            emit(ctx, "", 0, SL_ERR_INVALID);
        else if (k->overlong)
            emit(ctx, "", 0, SL_ERR_TOO_LARGE);
        else if (k->len > 0)
            emit(ctx, k->buf, k->len, SL_OK);
        kbd_reset(k);
        return;
    }
    /* modifiers and lock keys type nothing and do not spoil a scan */
    switch (code) {
    case KEY_LEFTCTRL: case KEY_RIGHTCTRL: case KEY_LEFTALT: case KEY_RIGHTALT:
    case KEY_LEFTMETA: case KEY_RIGHTMETA: case KEY_CAPSLOCK: case KEY_NUMLOCK:
    case KEY_SCROLLLOCK:
        return;
    default:
        break;
    }
    char c = sl__kbd_char(code, k->lshift || k->rshift);
    if (c == 0) {
        k->bad = 1;
        return;
    }
    if (k->len >= SL_SCAN_MAX) {
        k->overlong = 1;
        return;
    }
    k->buf[k->len++] = c;
    k->buf[k->len] = '\0';
}

void sl__line_init(sl_linebuf *lb)
{
    memset(lb, 0, sizeof *lb);
}

void sl__line_feed(sl_linebuf *lb, const char *data, size_t n, sl_scan_emit emit, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\r' || c == '\n') {
            /* CRLF gives an empty second line, skipped like any empty one */
            if (lb->bad)
                emit(ctx, "", 0, SL_ERR_INVALID);
            else if (lb->overlong)
                emit(ctx, "", 0, SL_ERR_TOO_LARGE);
            else if (lb->len > 0)
                emit(ctx, lb->buf, lb->len, SL_OK);
            lb->len = 0;
            lb->bad = 0;
            lb->overlong = 0;
            lb->buf[0] = '\0';
            continue;
        }
        if (c == '\0') {
            lb->bad = 1;
            continue;
        }
        if (lb->len >= SL_SCAN_MAX) {
            /* keep discarding until the terminator, then report once */
            lb->overlong = 1;
            continue;
        }
        lb->buf[lb->len++] = c;
        lb->buf[lb->len] = '\0';
    }
}
