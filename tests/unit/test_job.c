/*
 * test_job.c - the pure parts of agent/job.c: id validation, offsets and
 * complete lines, the status line, the result and events files, signal
 * names and retention.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../agent/job.h"
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
	return t_done("test_job");
}
