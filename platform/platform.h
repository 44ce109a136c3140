/*
 * platform.h - the only door to the operating system.
 *
 * Everything outside platform/ reaches files, clocks, randomness, the
 * environment and logging through these functions (nng's platform.h
 * contract).  errno is read and translated to sl_err only in here.
 */
#ifndef SL_PLATFORM_H
#define SL_PLATFORM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Wall clock, Unix milliseconds UTC. */
int64_t sl_plat_now_ms(void);
/* Monotonic clock in milliseconds (for timers and durations). */
uint64_t sl_plat_mono_ms(void);
/* Monotonic clock in nanoseconds (benchmarks). */
uint64_t sl_plat_mono_ns(void);

/* Format a Unix-ms timestamp as ISO 8601 UTC "2026-11-23T10:20:00.000Z"
 * into out (at least 32 bytes). */
void sl_plat_format_utc(int64_t ms, char *out, size_t outsz);
/* Format a Unix-ms timestamp as local wall-clock "HH:MM:SS" (TZ applies)
 * into out (at least 9 bytes): for people watching `storelink tail`. */
void sl_plat_format_local_time(int64_t ms, char *out, size_t outsz);

/* Create a directory and its parents with mode (existing is fine).
 * SL_OK, SL_ERR_PERM, SL_ERR_IO. */
int sl_plat_mkdir_p(const char *path, unsigned mode);
/* fsync a directory so a new entry in it is durable. */
int sl_plat_fsync_dir(const char *path);
/* Size of a file in bytes; SL_ERR_NOT_FOUND if it does not exist. */
int sl_plat_file_size(const char *path, uint64_t *size);
/* Bytes available to an unprivileged user on the filesystem holding path. */
int sl_plat_fs_free(const char *path, uint64_t *avail);
/* SL_OK if the directory exists and can be entered and read,
 * SL_ERR_NOT_FOUND if it does not exist, SL_ERR_PERM if it is not ours. */
int sl_plat_access_dir(const char *path);
/* 1 if path exists (any type), else 0. */
int sl_plat_exists(const char *path);
/* Rename a directory into place.  SL_ERR_BUSY when to exists and is not
 * empty (someone else got there first), else SL_OK or the error. */
int sl_plat_rename_dir(const char *from, const char *to);
/* Remove the plain files in a directory (one level, no recursion) and the
 * directory itself; a missing directory is SL_OK. */
int sl_plat_remove_flat_dir(const char *path);

/* Read a whole stream / file into a NUL-terminated heap buffer the caller
 * frees.  More than max bytes gives SL_ERR_TOO_LARGE. */
int sl_plat_read_stream(FILE *f, size_t max, char **buf, size_t *len);
int sl_plat_read_file(const char *path, size_t max, char **buf, size_t *len);

/* 1 if the stream is a terminal. */
int sl_plat_isatty(FILE *f);

/* Value of an environment variable or NULL. */
const char *sl_plat_getenv(const char *name);
/* Who runs this command, for audit records: $SUDO_USER when set (the
 * person behind sudo), else the effective uid's user name, else "uid N". */
void sl_plat_user_name(char *out, size_t outsz);

/* Logging to stderr with a syslog priority prefix ("<3>") so journald
 * classifies the lines.  Messages above the configured level are dropped.
 * Never log customer or payment data. */
enum { SL_LOG_ERR = 3, SL_LOG_WARNING = 4, SL_LOG_NOTICE = 5, SL_LOG_INFO = 6,
       SL_LOG_DEBUG = 7 };
void sl_plat_log_set_level(int level);
int sl_plat_log_level_parse(const char *name, int *level);
void sl_plat_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/* Write a file atomically and durably: temp file with mode, fsync, rename,
 * fsync of the directory.  With excl, an existing file is SL_ERR_CONFLICT. */
int sl_plat_write_file(const char *path, const void *data, size_t len, unsigned mode, int excl);
/* Replace a file atomically (temp + rename) without syncing: for status
 * files that are rewritten often and need no durability. */
int sl_plat_replace_file(const char *path, const void *data, size_t len, unsigned mode);
/* Process id of this process; 1 if pid is alive, else 0. */
long sl_plat_getpid(void);
int sl_plat_pid_alive(long pid);
/* Fill buf with random bytes from the kernel. */
int sl_plat_random(void *buf, size_t len);

/* ---- event loop support ------------------------------------------- */

/* Route SIGTERM, SIGINT and SIGHUP to a pipe the event loop polls (the
 * handler only writes one byte).  Returns the read end or -1. */
int sl_plat_signals_init(void);
/* Next pending signal name: 'T' terminate (TERM/INT), 'H' reload (HUP),
 * 0 none. */
int sl_plat_signal_take(int fd);
/* Watch a file for modification (inotify where available); returns a
 * pollable fd or -1 when unsupported.  sl_plat_watch_drain empties it. */
int sl_plat_watch_file(const char *path);
void sl_plat_watch_drain(int fd);
void sl_plat_close(int fd);

typedef struct sl_pollfd {
    int fd;
    int want_read, want_write;
    int readable, writable, error;
} sl_pollfd;
/* at most this many fds per sl_plat_poll call (the daemon's own three plus
 * the control socket's listener and clients) */
#define SL_POLL_MAX 96   /* + the ingest socket: listener and 32 clients */
/* Wait for the fds or timeout_ms (-1 = forever).  Returns the number of
 * ready fds, 0 on timeout, -1 on error (EINTR counts as 0). */
int sl_plat_poll(sl_pollfd *fds, int n, int timeout_ms);

/* Resolve host and connect TCP within timeout_ms, then close.  SL_OK or
 * SL_ERR_NOT_FOUND (DNS), SL_ERR_BUSY (timeout), SL_ERR_IO (refused or
 * unreachable); why gets plain words. */
int sl_plat_tcp_probe(const char *host, int port, int timeout_ms, char *why, size_t whysz);

/* ---- diagnostics (storelink doctor; platform/posix_net.c) ----------- */

/* Free bytes for an unprivileged user and total size of the filesystem
 * holding path.  SL_OK, SL_ERR_NOT_FOUND, SL_ERR_PERM, SL_ERR_IO. */
int sl_plat_fs_stat(const char *path, uint64_t *avail, uint64_t *total);
/* SL_OK if this process may create files in directory path (access(2):
 * nothing is created), SL_ERR_NOT_FOUND, SL_ERR_PERM (also read-only fs). */
int sl_plat_access_write(const char *path);
/* Permission bits (07777) and owner uid of path (not following a final
 * symlink).  SL_OK, SL_ERR_NOT_FOUND, SL_ERR_PERM, SL_ERR_IO. */
int sl_plat_file_mode(const char *path, unsigned *mode, long *uid);
/* Resolve host within timeout_ms; the first address, numeric, into addr.
 * SL_OK, SL_ERR_NOT_FOUND (no such name), SL_ERR_BUSY (no answer in time);
 * why gets plain words either way. */
int sl_plat_resolve(const char *host, int timeout_ms, char *addr, size_t addrsz, char *why,
                    size_t whysz);
/* Connect TCP to a numeric address within timeout_ms; *fd is non-blocking,
 * the caller closes it with sl_plat_close.  SL_OK, SL_ERR_BUSY (timeout),
 * SL_ERR_IO (refused, unreachable); why gets plain words. */
int sl_plat_tcp_connect(const char *addr, int port, int timeout_ms, int *fd, char *why,
                        size_t whysz);
/* One send / recv on a non-blocking socket, waiting at most timeout_ms.
 * SL_OK with *n bytes (recv: 0 = peer closed), SL_ERR_BUSY on timeout,
 * SL_ERR_IO. */
int sl_plat_sock_send(int fd, const void *buf, size_t len, int timeout_ms, size_t *n);
int sl_plat_sock_recv(int fd, void *buf, size_t len, int timeout_ms, size_t *n);

/* ---- service manager (sd_notify protocol, no libsystemd) ------------ */

/* Send state, newline-separated "KEY=VALUE" assignments such as
 * "READY=1", "WATCHDOG=1", "STOPPING=1" or "STATUS=...", as one datagram
 * to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the
 * abstract namespace).  state is borrowed for the call.  SL_OK, also
 * when NOTIFY_SOCKET is unset or empty (not run by systemd: a no-op);
 * SL_ERR_CONFIG for an unusable address, SL_ERR_NOT_FOUND when nobody
 * listens there, SL_ERR_PERM, SL_ERR_IO.  Safe to ignore the result: a
 * lost notification is the service manager's timeout to report. */
int sl_plat_notify(const char *state);
/* The watchdog interval the service manager expects keep-alives within,
 * in microseconds, from $WATCHDOG_USEC; 0 when there is none or when
 * $WATCHDOG_PID names another process.  Send "WATCHDOG=1" at about half
 * of it. */
uint64_t sl_plat_watchdog_usec(void);

/* ---- input devices: barcode scanners (drivers/) ---------------------- */

/* One evdev input event in a layout-independent form (struct input_event
 * differs between 32- and 64-bit time_t). */
typedef struct sl_input_ev {
    uint16_t type, code;
    int32_t value;
} sl_input_ev;
/* Open a device, FIFO or file for reading, non-blocking and close-on-exec,
 * into *fd.  SL_ERR_NOT_FOUND (absent: a scanner not plugged in),
 * SL_ERR_PERM, SL_ERR_IO. */
int sl_plat_input_open(const char *path, int *fd);
/* What an open fd is: 'c' character device, 'p' FIFO, 'f' regular file,
 * '?' anything else or unknown.  A scanner reader must not read a regular
 * file: it would reach its end, reopen it and read the same scans again. */
int sl_plat_fd_kind(int fd);
/* Grab an evdev device exclusively (EVIOCGRAB) so its key events reach
 * nobody else (no scan typed into the focused application).  SL_ERR_BUSY
 * when another process holds the grab, SL_ERR_USAGE when fd is not an
 * evdev device. */
int sl_plat_input_grab(int fd);
/* Size of the kernel's struct input_event, and its conversion from /
 * to those raw bytes (the tests write events into a pipe). */
size_t sl_plat_input_event_size(void);
void sl_plat_input_event_decode(const void *raw, sl_input_ev *ev);
void sl_plat_input_event_encode(const sl_input_ev *ev, void *raw);
/* Open a serial tty (USB CDC-ACM, RS-232) in raw mode at baud, 8N1, no
 * flow control, no echo, non-blocking, not as controlling terminal.
 * SL_ERR_USAGE for a speed sl_plat_tty_baud_ok() refuses; errors as
 * sl_plat_input_open. */
int sl_plat_tty_open(const char *path, unsigned baud, int *fd);
/* 1 if baud is a speed the serial layer supports (1200 .. 230400). */
int sl_plat_tty_baud_ok(unsigned baud);
/* Read what is available: SL_OK with *got > 0; SL_ERR_BUSY when nothing
 * is available now; SL_ERR_NOT_FOUND at end of file or when the device
 * went away (unplugged, tty hang-up); SL_ERR_IO. */
int sl_plat_read(int fd, void *buf, size_t n, size_t *got);
/* Write all of data to a non-blocking device (a serial scanner's own
 * output), waiting at most timeout_ms for room.  SL_OK; SL_ERR_BUSY when
 * the device did not take it in time; SL_ERR_NOT_FOUND (gone), SL_ERR_IO. */
int sl_plat_write_dev(int fd, const void *data, size_t len, int timeout_ms);
/* Append data to a file (created mode 0640) in one write. */
int sl_plat_append_file(const char *path, const void *data, size_t len);
/* ---- time zones and clock trust (posix_tz.c) ---------------------- */

/* SL_OK if name is an IANA time zone the C library can load: "UTC", or a
 * TZif file under $TZDIR or /usr/share/zoneinfo (the name must be relative,
 * [A-Za-z0-9_+-/], no ".." part).  SL_ERR_NOT_FOUND when there is no such
 * zone, SL_ERR_INVALID for a malformed name. */
int sl_plat_tz_check(const char *name);
/* Offset of the zone's local time from UTC at instant utc_ms, in seconds
 * east of Greenwich (so DST is whatever the zone says at that instant).
 * Sets TZ for the call only and restores it: not thread-safe, like every
 * localtime user.  SL_OK, SL_ERR_NOT_FOUND / SL_ERR_INVALID as above,
 * SL_ERR_TOO_LARGE when utc_ms does not fit this system's time_t. */
int sl_plat_tz_offset(const char *name, int64_t utc_ms, int32_t *offset_s);

/* Whether records made now can trust the wall clock (docs/PROTOCOL.md
 * "Clock trust"): SL_PLAT_CLOCK_UNSYNC when the kernel's NTP state says
 * unsynchronised (adjtimex: TIME_ERROR, STA_UNSYNC, or maxerror of 16 s or
 * more), SL_PLAT_CLOCK_JUMP when the wall clock moved more than
 * SL_PLAT_CLOCK_JUMP_MS against the time since boot since the baseline
 * *prev was taken.  The baseline is the caller's to keep (the journal keeps
 * it in its meta database, so one-shot processes compare with the previous
 * commit of any process): prev NULL (none yet) or from another boot is no
 * jump; *now receives the baseline measured by this call.
 * $STORELINK_CLOCK_STATE ("synced", "unsynced", "jump") overrides the
 * measurement: the test hook, and a way to run on hosts whose NTP state the
 * kernel does not know ("synced" still reports a measured jump).
 * $STORELINK_BOOT_ID replaces the kernel's boot id (tests only: simulates
 * a reboot).  Where the kernel has no boot id, the id is unique to the
 * process, so only jumps within one process are seen. */
#define SL_PLAT_CLOCK_UNSYNC 0x1u
#define SL_PLAT_CLOCK_JUMP 0x2u
#define SL_PLAT_CLOCK_JUMP_MS 2000
#define SL_PLAT_BOOT_ID_MAX 64
typedef struct sl_plat_clock_base {
    int64_t wall_minus_boot_ms;            /* wall clock minus time since boot */
    char boot_id[SL_PLAT_BOOT_ID_MAX + 1]; /* non-empty, printable */
} sl_plat_clock_base;
unsigned sl_plat_clock_trust(const sl_plat_clock_base *prev, sl_plat_clock_base *now);
/* ---- unix stream sockets (the daemon's control socket) -------------- */

/* Listen on path with the socket file's mode (0660 ...).  A stale socket
 * file nobody answers on is replaced; SL_ERR_CONFLICT when another process
 * is listening there; SL_ERR_TOO_LARGE for a path over 107 bytes;
 * SL_ERR_PERM, SL_ERR_IO.  *fd is non-blocking. */
int sl_plat_unix_listen(const char *path, unsigned mode, int backlog, int *fd);
/* Accept one connection (non-blocking fd); SL_ERR_BUSY when none waits. */
int sl_plat_unix_accept(int lfd, int *fd);
/* Connect within timeout_ms (non-blocking fd).  SL_ERR_NOT_FOUND when no
 * socket file or nobody listens, SL_ERR_PERM, SL_ERR_BUSY (timeout). */
int sl_plat_unix_connect(const char *path, int timeout_ms, int *fd);
/* Non-blocking read / write: SL_OK with *got == 0 means end of stream;
 * SL_ERR_BUSY would block; SL_ERR_IO.  No SIGPIPE. */
int sl_plat_sock_read(int fd, void *buf, size_t cap, size_t *got);
int sl_plat_sock_write(int fd, const void *buf, size_t len, size_t *put);
/* The connected peer's pid, uid and primary gid (SO_PEERCRED). */
int sl_plat_peer_cred(int fd, long *pid, unsigned *uid, unsigned *gid);
/* A process's supplementary groups (/proc/PID/status "Groups:"), at most
 * max of them.  SL_ERR_NOT_FOUND when unknown. */
int sl_plat_pid_groups(long pid, unsigned *groups, size_t max, size_t *n);
/* gid of a group name; SL_ERR_NOT_FOUND when there is no such group. */
int sl_plat_group_gid(const char *name, unsigned *gid);
/* Real uid of this process. */
unsigned sl_plat_getuid(void);
/* Remove a file; a missing one is SL_OK. */
int sl_plat_unlink(const char *path);

/* Run fn(ctx, out, outsz) in a child process and copy its out back: for
 * reads that may fault on damaged files (journal epochs).  If the child
 * faults (SIGBUS/SIGSEGV/...), out holds what it had filled so far and
 * *faulted is 1.  SL_OK when out came back whole. */
int sl_plat_run_isolated(int (*fn)(void *ctx, void *out, size_t outsz), void *ctx, void *out,
                         size_t outsz, int *faulted);
/* pread n bytes at off; *got may be short at the end of the file. */
int sl_plat_read_at(const char *path, uint64_t off, void *buf, size_t n, size_t *got);
/* 1 if the open fd and path are the same file (device and inode), else 0. */
int sl_plat_same_file(int fd, const char *path);

#endif
