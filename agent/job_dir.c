/*
 * job_dir.c - see job_dir.h.
 */
#include "job_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/util.h"

#define SCAN_CHUNK (64u << 10)	/* bytes read at once looking for a '\n' */

/*
 * flock() locks belong to the open file, so our own open conflicts even
 * if this process were the holder, and they vanish with the process and
 * with a reboot.
 */
bool job_dir_supervisor_alive(const char *dir)
{
	char *p = xasprintf("%s/lock", dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	bool alive = false;

	free(p);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		alive = errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

bool job_dir_read_result(const char *dir, struct job_result *r)
{
	char *p = xasprintf("%s/result", dir), *text;
	char err[256];
	bool ok = false;

	text = file_read_all(p, 4096, NULL);
	if (text != NULL)
		ok = job_result_parse(text, r, err, sizeof(err)) == 0;
	free(text);
	free(p);
	return ok;
}

int64_t job_dir_mtime_ms(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int64_t job_dir_last_seen(const char *dir)
{
	static const char *const files[] = { "argv", "pid", "out", "err",
	    "result" };
	int64_t last = 0;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);
		int64_t t = job_dir_mtime_ms(p);
		if (t > last)
			last = t;
		free(p);
	}
	return last;
}

int64_t job_dir_retention_s(const char *dir, int64_t retention_s)
{
	static const char *const probes[] = { "health" };
	char *p, *text;
	json_t *argv;
	const char *op;
	int64_t keep = retention_s;

	if (retention_s <= 0 || retention_s <= JOB_DIR_PROBE_KEEP_S)
		return retention_s;
	p = xasprintf("%s/argv", dir);
	text = file_read_all(p, 1u << 20, NULL);
	free(p);
	argv = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	op = json_string_value(json_array_get(argv, 0));
	for (size_t i = 0; op != NULL && i < ARRAY_SIZE(probes); i++)
		if (strcmp(op, probes[i]) == 0)
			keep = JOB_DIR_PROBE_KEEP_S;
	json_decref(argv);
	return keep;
}

pid_t job_dir_orphan_op(const char *dir, const char *id)
{
	char *p = xasprintf("%s/pid", dir), *text, *env, *want;
	json_t *pj;
	json_int_t op;
	size_t len, wl;
	pid_t found = 0;

	text = file_read_all(p, 4096, NULL);
	free(p);
	pj = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	op = json_integer_value(json_object_get(pj, "op"));
	json_decref(pj);
	if (op <= 1)
		return 0;
	p = xasprintf("/proc/%lld/environ", (long long)op);
	env = file_read_all(p, 1u << 20, &len);
	free(p);
	want = xasprintf("%s=%s", JOB_ENV, id);
	wl = strlen(want) + 1;	/* with its NUL: the whole entry */
	for (size_t i = 0; env != NULL && i + wl <= len; ) {
		if (memcmp(env + i, want, wl) == 0) {
			found = (pid_t)op;
			break;
		}
		const char *z = memchr(env + i, '\0', len - i);
		if (z == NULL)
			break;
		i = (size_t)(z - env) + 1;
	}
	free(want);
	free(env);
	return found;
}

void job_dir_remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void job_dir_append_event(const char *dir, const char *line)
{
	char *p = xasprintf("%s/events", dir);
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	/* One write of a short line on O_APPEND: lines never interleave. */
	if (fd >= 0) {
		char *l = xasprintf("%s\n", line);
		if (write(fd, l, strlen(l)) < 0) {
			/* the event is lost; the job itself goes on */
		}
		free(l);
		close(fd);
	}
	free(p);
}

char *job_dir_skip_line(uint64_t offset, uint64_t bytes, size_t limit,
    const char *head, size_t headlen)
{
	char h[JOB_DIR_HEAD_MAX + 1], *msg, *line;
	size_t n = headlen < JOB_DIR_HEAD_MAX ? headlen : JOB_DIR_HEAD_MAX;
	json_t *j;

	/* The head is for a person reading the log: JSON text needs valid
	 * UTF-8, and a cut can fall inside a character. */
	for (size_t i = 0; i < n; i++)
		h[i] = head[i] >= 0x20 && head[i] < 0x7f ? head[i] : '?';
	h[n] = '\0';
	msg = xasprintf("a line of %llu bytes at offset %llu is longer than "
	    "the %zu bytes a poll prints: skipped (the whole line is in the "
	    "job's out file on the node)", (unsigned long long)bytes,
	    (unsigned long long)offset, limit);
	j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "type", "skipped",
	    "offset", (json_int_t)offset, "bytes", (json_int_t)bytes, "limit",
	    (json_int_t)limit, "head", h, "message", msg);
	line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	free(msg);
	return line;
}

/* Where the first '\n' at or after from is (before size); false: none. */
static bool find_newline(int fd, uint64_t from, uint64_t size, uint64_t *at)
{
	char *buf = xmalloc(SCAN_CHUNK);
	bool found = false;

	while (from < size && !found) {
		size_t want = size - from > SCAN_CHUNK ? SCAN_CHUNK :
		    (size_t)(size - from);
		ssize_t n = pread(fd, buf, want, (off_t)from);
		const char *nl;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((nl = memchr(buf, '\n', (size_t)n)) != NULL) {
			*at = from + (uint64_t)(nl - buf);
			found = true;
		}
		from += (uint64_t)n;
	}
	free(buf);
	return found;
}

int job_dir_print_output(const char *dir, uint64_t offset, size_t limit,
    uint64_t *next, char *err, size_t errlen)
{
	char *p = xasprintf("%s/out", dir), prev = 0, *buf;
	struct stat st;
	uint64_t size, nl;
	ssize_t n;
	size_t want, got = 0, end;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	free(p);
	if (fd < 0 && errno == ENOENT) {
		size = 0;
	} else if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read the job's output: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	} else {
		size = (uint64_t)st.st_size;
	}
	if (offset > 0 && offset <= size && pread(fd, &prev, 1,
	    (off_t)offset - 1) != 1)
		prev = 0;
	if (job_offset_check(offset, size, prev, err, errlen) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*next = offset;
	if (fd < 0 || offset == size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	want = size - offset > limit ? limit : (size_t)(size - offset);
	buf = xmalloc(want);
	while (got < want) {
		n = pread(fd, buf + got, want - got, (off_t)(offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	end = job_complete_end(buf, got);
	if (end > 0) {
		if (fwrite(buf, 1, end, stdout) != end)
			end = 0;
		*next = offset + end;
	} else if (got == limit && find_newline(fd, offset + got, size, &nl)) {
		/*
		 * One line fills the whole limit: waiting would stall the
		 * caller for good, since the line never gets shorter.  It is
		 * passed over with a marker, so the caller keeps following
		 * and learns what it missed.
		 */
		char *m = job_dir_skip_line(offset, nl + 1 - offset, limit, buf,
		    got);
		printf("%s\n", m);
		free(m);
		*next = nl + 1;
	}
	close(fd);
	free(buf);
	return 0;
}
