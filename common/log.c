/*
 * log.c - see log.h.  A mutex keeps lines from interleaving between threads;
 * each line is written with one fprintf and flushed so a crash loses nothing.
 */
#include "log.h"
#include "redact.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;
static char log_ident[32] = "ringmaster";
static char *log_path;
static enum log_level log_lvl = LOG_LVL_INFO;
/* stderr is the journal: prefix priorities, leave the time to journald. */
static bool log_journal;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
/* syslog(3) priorities of the levels above: LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR. */
static const int level_prio[] = { 7, 6, 4, 3 };

bool log_is_journal(int fd, const char *journal_stream)
{
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (journal_stream == NULL || *journal_stream == '\0')
		return false;
	errno = 0;
	dev = strtoull(journal_stream, &end, 10);
	if (errno != 0 || end == journal_stream || *end != ':')
		return false;
	const char *p = end + 1;
	ino = strtoull(p, &end, 10);
	if (errno != 0 || end == p || *end != '\0')
		return false;
	if (fstat(fd, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_init(const char *ident, const char *path, enum log_level level)
{
	FILE *fp = stderr;
	if (path != NULL && (fp = fopen(path, "a")) == NULL)
		return -1;
	pthread_mutex_lock(&log_mtx);
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (log_fp != NULL && log_fp != stderr)
		fclose(log_fp);
	log_fp = fp;
	free(log_path);
	log_path = path ? strdup(path) : NULL;
	log_lvl = level;
	log_journal = path == NULL &&
	    log_is_journal(STDERR_FILENO, getenv("JOURNAL_STREAM"));
	pthread_mutex_unlock(&log_mtx);
	return 0;
}

int log_reopen(void)
{
	int rc = 0;
	pthread_mutex_lock(&log_mtx);
	if (log_path != NULL) {
		FILE *fp = fopen(log_path, "a");
		if (fp == NULL) {
			rc = -1;
		} else {
			if (log_fp != NULL && log_fp != stderr)
				fclose(log_fp);
			log_fp = fp;
		}
	}
	pthread_mutex_unlock(&log_mtx);
	return rc;
}

void log_set_level(enum log_level level)
{
	pthread_mutex_lock(&log_mtx);
	log_lvl = level;
	pthread_mutex_unlock(&log_mtx);
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_close(void)
{
	pthread_mutex_lock(&log_mtx);
	if (log_fp != NULL && log_fp != stderr)
		fclose(log_fp);
	log_fp = NULL;
	free(log_path);
	log_path = NULL;
	pthread_mutex_unlock(&log_mtx);
}

__attribute__((format(printf, 3, 0)))
static void vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[2048], ts[32];
	struct timespec now;
	struct tm tm;

	if (lvl < log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Nothing secret-shaped reaches a log file, whoever wrote it. */
	redact_buf(msg, sizeof(msg), NULL, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mtx);
	FILE *fp = log_fp ? log_fp : stderr;
	if (log_journal && fp == stderr) {
		if (errnum)
			fprintf(fp, "<%d>%s: %s: %s\n", level_prio[lvl],
			    level_names[lvl], msg, strerror(errnum));
		else
			fprintf(fp, "<%d>%s: %s\n", level_prio[lvl],
			    level_names[lvl], msg);
	} else if (errnum)
		fprintf(fp, "%s.%03ldZ %s %s: %s: %s\n", ts, now.tv_nsec / 1000000,
		    log_ident, level_names[lvl], msg, strerror(errnum));
	else
		fprintf(fp, "%s.%03ldZ %s %s: %s\n", ts, now.tv_nsec / 1000000,
		    log_ident, level_names[lvl], msg);
	fflush(fp);
	pthread_mutex_unlock(&log_mtx);
}

#define LOGFN(name, lvl, witherr)                         \
	void name(const char *fmt, ...)                   \
	{                                                 \
		int e = errno;                            \
		va_list ap;                               \
		va_start(ap, fmt);                        \
		vlog(lvl, witherr ? e : 0, fmt, ap);      \
		va_end(ap);                               \
		errno = e;                                \
	}

LOGFN(log_debug, LOG_LVL_DEBUG, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_warn, LOG_LVL_WARN, 1)
LOGFN(log_warnx, LOG_LVL_WARN, 0)
LOGFN(log_error, LOG_LVL_ERROR, 0)

void fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
