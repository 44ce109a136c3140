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

/* Read a whole stream / file into a NUL-terminated heap buffer the caller
 * frees.  More than max bytes gives SL_ERR_TOO_LARGE. */
int sl_plat_read_stream(FILE *f, size_t max, char **buf, size_t *len);
int sl_plat_read_file(const char *path, size_t max, char **buf, size_t *len);

/* 1 if the stream is a terminal. */
int sl_plat_isatty(FILE *f);

/* Value of an environment variable or NULL. */
const char *sl_plat_getenv(const char *name);

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
#define SL_POLL_MAX 32
/* Wait for the fds or timeout_ms (-1 = forever).  Returns the number of
 * ready fds, 0 on timeout, -1 on error (EINTR counts as 0). */
int sl_plat_poll(sl_pollfd *fds, int n, int timeout_ms);

/* Resolve host and connect TCP within timeout_ms, then close.  SL_OK or
 * SL_ERR_NOT_FOUND (DNS), SL_ERR_BUSY (timeout), SL_ERR_IO (refused or
 * unreachable); why gets plain words. */
int sl_plat_tcp_probe(const char *host, int port, int timeout_ms, char *why, size_t whysz);

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

#endif
