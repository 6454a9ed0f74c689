/*
 * log.h - one logging module for the three programs.
 *
 * Daemons log to a file or stderr with a timestamp, level and program name.
 * log_warn() appends strerror(errno); log_warnx() does not (OpenBSD habit).
 * fatal()/fatalx() log and exit(1).  Messages say what happened, to what,
 * and what to do next; lowercase, no full stop.
 *
 * When stderr is the systemd journal (JOURNAL_STREAM names stderr's device
 * and inode, as systemd sets it for StandardError=journal) each line starts
 * with its syslog priority, "<3>" for errors, "<4>" warnings, "<6>" info,
 * "<7>" debug, and carries no timestamp: the journal stores the priority
 * (so `journalctl -p warning` works) and its own time.
 */
#ifndef RM_LOG_H
#define RM_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* path NULL means stderr.  Returns 0 or -1 (errno set) when path can't be opened. */
int log_init(const char *ident, const char *path, enum log_level level);
/* Reopen the log file (SIGHUP, after rotation).  Safe to call from one thread at a time. */
int log_reopen(void);
void log_set_level(enum log_level level);
/* Parse "debug|info|warn|error"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
void log_close(void);
/*
 * Whether fd is the stream that journal_stream (the value of JOURNAL_STREAM,
 * "DEVICE:INODE" in decimal) names.  NULL or malformed: false.
 */
bool log_is_journal(int fd, const char *journal_stream);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
