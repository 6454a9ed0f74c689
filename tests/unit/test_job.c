/*
 * test_job.c - the pure parts of agent/job.c: id validation, offsets and
 * complete lines, the status line, the result and events files, signal
 * names and retention; job_gc.c's decisions (lost jobs, temporary
 * directories); job_dir.c's marker for an over-long line, and its reading
 * of a job's output from offsets in a temporary directory.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../agent/job.h"
#include "../../agent/job_dir.h"
#include "../../agent/job_gc.h"
#include "t.h"

static void test_id(void)
{
	static const struct { const char *id; bool ok; } rows[] = {
		{ "a", true }, { "task-12.step_3", true }, { "A.B-c_9", true },
		{ "...x", true }, { "", false }, { ".", false }, { "..", false },
		{ "a/b", false }, { "a b", false }, { "a\n", false },
		{ "é", false }, { "a:b", false }, { "-x", true },
	};
	char big[JOB_ID_MAX + 2];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_CHECK(job_id_valid(rows[i].id) == rows[i].ok, "id '%s'",
		    rows[i].id);
	T_CHECK(!job_id_valid(NULL), "NULL");
	memset(big, 'x', sizeof(big));
	big[JOB_ID_MAX] = '\0';
	T_CHECK(job_id_valid(big), "100 characters");
	big[JOB_ID_MAX] = 'x';
	big[JOB_ID_MAX + 1] = '\0';
	T_CHECK(!job_id_valid(big), "101 characters");
}

static void test_offset(void)
{
	char err[256];
	uint64_t v = 7;

	T_EQ_INT(job_offset_parse("0", &v, err, sizeof(err)), 0);
	T_EQ_INT(v, 0);
	T_EQ_INT(job_offset_parse("123456", &v, err, sizeof(err)), 0);
	T_EQ_INT(v, 123456);
	v = 7;
	T_EQ_INT(job_offset_parse("", &v, err, sizeof(err)), -1);
	T_EQ_INT(job_offset_parse("-1", &v, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "'-1'") != NULL, "err names the value: %s", err);
	T_EQ_INT(job_offset_parse("12a", &v, err, sizeof(err)), -1);
	T_EQ_INT(job_offset_parse(" 1", &v, err, sizeof(err)), -1);
	T_EQ_INT(job_offset_parse("99999999999999999999999", &v, err,
	    sizeof(err)), -1);
	T_EQ_INT(v, 7);		/* a refused value changes nothing */

	T_EQ_INT(job_offset_check(0, 0, 0, err, sizeof(err)), 0);
	T_EQ_INT(job_offset_check(4, 10, '\n', err, sizeof(err)), 0);
	T_EQ_INT(job_offset_check(10, 10, '\n', err, sizeof(err)), 0);
	T_EQ_INT(job_offset_check(11, 10, '\n', err, sizeof(err)), -1);
	T_CHECK(strstr(err, "past the end") != NULL, "%s", err);
	T_EQ_INT(job_offset_check(4, 10, 'x', err, sizeof(err)), -1);
	T_CHECK(strstr(err, "start of a line") != NULL, "%s", err);
}

static void test_complete_end(void)
{
	static const struct { const char *buf; size_t want; } rows[] = {
		{ "", 0 }, { "abc", 0 }, { "abc\n", 4 }, { "a\nb", 2 },
		{ "a\nb\n", 4 }, { "a\nb\npartial", 4 }, { "\n", 1 },
		{ "\n\n", 2 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_EQ_INT(job_complete_end(rows[i].buf, strlen(rows[i].buf)),
		    rows[i].want);
	/* A NUL inside a line is a byte like any other. */
	T_EQ_INT(job_complete_end("a\0b\nc", 5), 4);
}

static void test_status_line(void)
{
	struct job_status s = {
		.id = "j1", .state = JOB_RUNNING, .started = true, .offset = 42,
		.started_at = 1700000000123,
	};
	char *line = job_status_line(&s);

	T_EQ_STR(line, "{\"type\":\"job\",\"id\":\"j1\",\"state\":\"running\","
	    "\"started\":true,\"offset\":42,\"exit\":null,\"signal\":null,"
	    "\"started_at\":1700000000123,\"finished_at\":null}");
	free(line);

	s.state = JOB_DONE;
	s.started = false;
	s.has_exit = true;
	s.exit = 6;
	s.signal = "";
	s.finished_at = 1700000009999;
	line = job_status_line(&s);
	T_EQ_STR(line, "{\"type\":\"job\",\"id\":\"j1\",\"state\":\"done\","
	    "\"started\":false,\"offset\":42,\"exit\":6,\"signal\":null,"
	    "\"started_at\":1700000000123,\"finished_at\":1700000009999}");
	free(line);

	s.exit = 143;
	s.signal = "TERM";
	line = job_status_line(&s);
	T_CHECK(strstr(line, "\"exit\":143,\"signal\":\"TERM\"") != NULL, "%s", line);
	free(line);

	s.state = JOB_LOST;
	s.has_exit = false;
	s.signal = NULL;
	s.finished_at = 0;
	line = job_status_line(&s);
	T_CHECK(strstr(line, "\"state\":\"lost\"") != NULL &&
	    strstr(line, "\"exit\":null") != NULL &&
	    strstr(line, "\"finished_at\":null") != NULL, "%s", line);
	free(line);
}

static void test_state(void)
{
	T_EQ_INT(job_state_of(true, true), JOB_DONE);
	T_EQ_INT(job_state_of(true, false), JOB_DONE);
	T_EQ_INT(job_state_of(false, true), JOB_RUNNING);
	T_EQ_INT(job_state_of(false, false), JOB_LOST);
	T_EQ_STR(job_state_name(JOB_RUNNING), "running");
	T_EQ_STR(job_state_name(JOB_DONE), "done");
	T_EQ_STR(job_state_name(JOB_LOST), "lost");
}

static void test_signal_name(void)
{
	char buf[16];

	T_EQ_STR(job_signal_name(SIGTERM, buf, sizeof(buf)), "TERM");
	T_EQ_STR(job_signal_name(SIGKILL, buf, sizeof(buf)), "KILL");
	T_EQ_STR(job_signal_name(SIGSEGV, buf, sizeof(buf)), "SEGV");
	T_EQ_STR(job_signal_name(40, buf, sizeof(buf)), "SIG40");
}

static void test_result(void)
{
	struct job_result r = { .exit = 6, .finished_at = 1700000000001 }, back;
	char err[256], *text;

	text = job_result_text(&r);
	T_EQ_STR(text, "{\"exit\":6,\"signal\":null,\"finished_at\":1700000000001}\n");
	T_EQ_INT(job_result_parse(text, &back, err, sizeof(err)), 0);
	T_EQ_INT(back.exit, 6);
	T_EQ_STR(back.signal, "");
	T_EQ_INT(back.finished_at, 1700000000001);
	free(text);

	strcpy(r.signal, "KILL");
	r.exit = 137;
	text = job_result_text(&r);
	T_EQ_INT(job_result_parse(text, &back, err, sizeof(err)), 0);
	T_EQ_STR(back.signal, "KILL");
	T_EQ_INT(back.exit, 137);
	free(text);

	static const char *const bad[] = {
		"", "{", "[]", "{\"exit\":\"0\",\"finished_at\":1}",
		"{\"exit\":256,\"finished_at\":1}", "{\"exit\":-1,\"finished_at\":1}",
		"{\"exit\":0}", "{\"exit\":0,\"finished_at\":0}",
		"{\"exit\":0,\"signal\":5,\"finished_at\":1}",
		"{\"exit\":0,\"signal\":\"\",\"finished_at\":1}",
		"{\"exit\":0,\"signal\":\"AVERYLONGSIGNALNAME\",\"finished_at\":1}",
		"{\"exit\":0,\"exit\":1,\"finished_at\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		T_EQ_INT(job_result_parse(bad[i], &back, err, sizeof(err)), -1);
		T_CHECK(err[0] != '\0', "a refusal says why: %s", bad[i]);
	}
}

static void test_events(void)
{
	struct job_events ev;

	job_events_scan("", &ev);
	T_EQ_INT(ev.starts, 0);
	T_EQ_INT(ev.started_at, 0);
	job_events_scan("{\"event\":\"start\",\"at\":100,\"pid\":5}\n"
	    "{\"event\":\"attach\",\"at\":101}\n"
	    "{\"event\":\"attach\",\"at\":102}\n"
	    "{\"event\":\"cancel\",\"at\":103}\n"
	    "garbage\n"
	    "{\"event\":\"start\",\"at\":200,\"pid\":6}\n"
	    "{\"event\":\"end\",\"at\":300,\"exit\":6}\n"
	    "{\"event\":\"what\",\"at\":1}\n"
	    "{\"event\":\"end\"}\n"
	    "{\"event\":\"attach\",\"at\":1", &ev);
	T_EQ_INT(ev.starts, 2);
	T_EQ_INT(ev.started_at, 100);	/* the first start */
	T_EQ_INT(ev.attaches, 2);
	T_EQ_INT(ev.cancels, 1);
	T_EQ_INT(ev.ends, 1);
	T_EQ_INT(ev.bad, 4);
}

static void test_expired(void)
{
	int64_t now = 1700000000000;

	T_CHECK(!job_expired(now - 1000, now, 0), "0 keeps forever");
	T_CHECK(!job_expired(now - 3600 * 1000, now, 7200), "younger");
	T_CHECK(!job_expired(now - 7200 * 1000, now, 7200), "exactly the age");
	T_CHECK(job_expired(now - 7200 * 1000 - 1, now, 7200), "older");
	T_CHECK(!job_expired(0, now, 1), "unknown finish time");
	T_CHECK(!job_expired(now + 5000, now, 1), "finished in the future (clock)");
}

static void test_gc_due(void)
{
	int64_t now = 1700000000000, day = 86400 * 1000LL;
	static const struct {
		enum job_state st;
		int64_t finished_ago, seen_ago;	/* days; -1: unknown (0) */
		bool op_alive;
		int64_t retention_s;
		bool due;
		const char *why;
	} rows[] = {
		{ JOB_DONE, 8, 8, false, 7 * 86400, true, "done, past retention" },
		{ JOB_DONE, 6, 8, false, 7 * 86400, false, "done, within it" },
		{ JOB_DONE, 8, 8, false, 0, false, "retention 0 keeps" },
		{ JOB_DONE, -1, 8, false, 7 * 86400, false, "no finish time" },
		{ JOB_LOST, -1, 8, false, 7 * 86400, true, "lost, silent 8 days" },
		{ JOB_LOST, -1, 6, false, 7 * 86400, false, "lost, seen 6 days ago" },
		{ JOB_LOST, -1, 8, true, 7 * 86400, false, "lost, its op runs" },
		{ JOB_LOST, -1, -1, false, 7 * 86400, false, "lost, never seen" },
		{ JOB_LOST, -1, 8, false, 0, false, "lost, retention 0" },
		{ JOB_RUNNING, 8, 8, false, 7 * 86400, false, "running" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t f = rows[i].finished_ago < 0 ? 0 :
		    now - rows[i].finished_ago * day;
		int64_t l = rows[i].seen_ago < 0 ? 0 :
		    now - rows[i].seen_ago * day;
		T_CHECK(job_gc_due(rows[i].st, f, l, rows[i].op_alive, now,
		    rows[i].retention_s) == rows[i].due, "%s", rows[i].why);
	}
}

static void test_gc_temp(void)
{
	static const struct {
		const char *name;
		enum job_gc_temp kind;
		long pid;
	} rows[] = {
		{ ".new-rep-1.4242", JOB_GC_TEMP_NEW, 4242 },
		{ ".new-t-1.0.1.ab12cd34.77", JOB_GC_TEMP_NEW, 77 },
		{ ".gc-old.9", JOB_GC_TEMP_GC, 9 },
		{ ".new-x.", JOB_GC_TEMP_NEW, 0 },
		{ ".new-x.12a", JOB_GC_TEMP_NEW, 0 },
		{ ".new-x.123456789012", JOB_GC_TEMP_NEW, 0 },
		{ ".new-", JOB_GC_TEMP_NEW, 0 },
		{ ".other", JOB_GC_TEMP_NONE, 0 },
		{ "new-x.5", JOB_GC_TEMP_NONE, 0 },
		{ ".gcx", JOB_GC_TEMP_NONE, 0 },
	};
	int64_t now = 1700000000000;
	long pid;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		T_CHECK(job_gc_temp_parse(rows[i].name, &pid) == rows[i].kind,
		    "kind of '%s'", rows[i].name);
		T_CHECK(pid == rows[i].pid, "pid of '%s': %ld", rows[i].name, pid);
	}
	T_CHECK(job_gc_temp_due(JOB_GC_TEMP_GC, true, now, now),
	    ".gc-* goes at once");
	T_CHECK(job_gc_temp_due(JOB_GC_TEMP_NEW, false, now, now),
	    ".new-* of a dead creator goes at once");
	T_CHECK(!job_gc_temp_due(JOB_GC_TEMP_NEW, true, now - 60000, now),
	    ".new-* of a live creator stays");
	T_CHECK(job_gc_temp_due(JOB_GC_TEMP_NEW, true,
	    now - JOB_GC_NEW_MAX_S * 1000LL - 1, now),
	    ".new-* older than an hour goes (a reused pid)");
	T_CHECK(!job_gc_temp_due(JOB_GC_TEMP_NEW, true, 0, now),
	    ".new-* of unknown age and a live creator stays");
	T_CHECK(!job_gc_temp_due(JOB_GC_TEMP_NONE, false, 1, now),
	    "other names stay");
}

static void test_skip_line(void)
{
	char head[300];
	char *line;
	json_t *j;

	memset(head, 'x', sizeof(head));
	memcpy(head, "{\"type\":\"result\",\"d\":\"\xc3\xa9\n\t", 26);
	line = job_dir_skip_line(2315, 20000000, 4096, head, sizeof(head));
	j = json_loads(line, 0, NULL);
	T_CHECK(j != NULL, "marker is JSON: %s", line);
	T_EQ_STR(json_string_value(json_object_get(j, "type")), "skipped");
	T_EQ_INT(json_integer_value(json_object_get(j, "offset")), 2315);
	T_EQ_INT(json_integer_value(json_object_get(j, "bytes")), 20000000);
	T_EQ_INT(json_integer_value(json_object_get(j, "limit")), 4096);
	T_EQ_INT(json_string_length(json_object_get(j, "head")),
	    JOB_DIR_HEAD_MAX);
	T_CHECK(strncmp(json_string_value(json_object_get(j, "head")),
	    "{\"type\":\"result\",\"d\":\"????x", 27) == 0,
	    "bytes outside printable ASCII shown as '?': %s",
	    json_string_value(json_object_get(j, "head")));
	T_CHECK(strstr(json_string_value(json_object_get(j, "message")),
	    "20000000 bytes at offset 2315") != NULL, "message: %s", line);
	T_CHECK(strchr(line, '\n') == NULL, "one line");
	json_decref(j);
	free(line);
	line = job_dir_skip_line(0, 5, 4096, "ab", 2);
	j = json_loads(line, 0, NULL);
	T_EQ_STR(json_string_value(json_object_get(j, "head")), "ab");
	json_decref(j);
	free(line);
}

/* job_dir_print_output() with stdout caught in a file: what it printed. */
static char *print_caught(const char *dir, uint64_t offset, size_t limit,
    uint64_t *next, int *rc)
{
	char path[] = "/tmp/test_job_outXXXXXX", err[256], *buf;
	int fd = mkstemp(path), saved = dup(1);
	long n;
	FILE *f;

	if (fd < 0 || saved < 0) {
		fprintf(stderr, "test_job: cannot catch stdout\n");
		exit(1);
	}
	fflush(stdout);
	dup2(fd, 1);
	*rc = job_dir_print_output(dir, offset, limit, next, err, sizeof(err));
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

static void write_out(const char *dir, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/out", dir);
	if ((f = fopen(path, "w")) == NULL || fwrite(text, 1, len, f) != len) {
		fprintf(stderr, "test_job: cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void test_print_output(void)
{
	char dir[] = "/tmp/test_job_dirXXXXXX", path[512], *text, *got;
	size_t len, longlen = 5000;
	uint64_t next;
	int rc;
	json_t *j;

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "test_job: cannot make a directory\n");
		exit(1);
	}
	/* "a\n", a line of 5000 x, "b\n", then an unfinished long line */
	len = 2 + longlen + 1 + 2;
	text = malloc(len + longlen);
	memcpy(text, "a\n", 2);
	memset(text + 2, 'x', longlen);
	text[2 + longlen] = '\n';
	memcpy(text + 3 + longlen, "b\n", 2);
	write_out(dir, text, len);

	got = print_caught(dir, 0, 4096, &next, &rc);
	T_EQ_INT(rc, 0);
	T_EQ_STR(got, "a\n");
	T_EQ_INT(next, 2);
	free(got);
	got = print_caught(dir, 2, 4096, &next, &rc);
	j = json_loads(got, 0, NULL);
	T_EQ_STR(json_string_value(json_object_get(j, "type")), "skipped");
	T_EQ_INT(json_integer_value(json_object_get(j, "offset")), 2);
	T_EQ_INT(json_integer_value(json_object_get(j, "bytes")), longlen + 1);
	T_EQ_INT(next, 3 + longlen);
	json_decref(j);
	free(got);
	got = print_caught(dir, 3 + longlen, 4096, &next, &rc);
	T_EQ_STR(got, "b\n");
	T_EQ_INT(next, len);
	free(got);
	/* The whole limit wide the line is printed as it is. */
	got = print_caught(dir, 2, longlen + 1, &next, &rc);
	T_EQ_INT(strlen(got), longlen + 1);
	T_EQ_INT(next, 3 + longlen);
	free(got);

	/* A long line not finished yet: nothing, and the offset stays. */
	memset(text + len, 'y', longlen);
	write_out(dir, text, len + longlen);
	got = print_caught(dir, len, 4096, &next, &rc);
	T_EQ_INT(rc, 0);
	T_EQ_STR(got, "");
	T_EQ_INT(next, len);
	free(got);
	/* Offsets that are not line starts are still refused. */
	got = print_caught(dir, 5, 4096, &next, &rc);
	T_EQ_INT(rc, -1);
	free(got);

	snprintf(path, sizeof(path), "%s/out", dir);
	unlink(path);
	rmdir(dir);
	free(text);
}

int main(void)
{
	test_id();
	test_offset();
	test_complete_end();
	test_status_line();
	test_state();
	test_signal_name();
	test_result();
	test_events();
	test_expired();
	test_gc_due();
	test_gc_temp();
	test_skip_line();
	test_print_output();
	return t_done("test_job");
}
