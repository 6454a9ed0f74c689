/*
 * fuzz_job_journal.c - what the agent reads back from a job's directory
 * (agent/job.h, job_dir.h) after a crash, a reboot or a full disk may have
 * cut or mangled it: the result file, the events journal, and the op's
 * output file from a byte offset a caller sent.
 *
 * Input: 4 bytes of offset and 2 of limit (little-endian), then the file
 * contents, written as result, events and out of one job directory.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "../../agent/job.h"
#include "../../agent/job_dir.h"
#include "fuzz.h"

static char dir[64];

static void cleanup(void)
{
	job_dir_remove_tree(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null;

	(void)argc;
	(void)argv;
	/* Memory, not disk: three files are written again for every input. */
	snprintf(dir, sizeof(dir), "%s/rm-fuzz-job-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_job_journal: mkdtemp");
		abort();
	}
	/* job_dir_print_output() writes the lines to stdout: not wanted. */
	if ((null = open("/dev/null", O_WRONLY)) < 0 || dup2(null, 1) < 0) {
		perror("fuzz_job_journal: /dev/null");
		abort();
	}
	close(null);
	atexit(cleanup);
	return 0;
}

static void put(const char *name, const uint8_t *data, size_t size)
{
	char p[96];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(p);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t offset = 0, next = 0;
	size_t limit = 0;
	struct job_result r;
	struct job_events ev;
	char err[512] = "", *text;

	if (size < 6)
		return 0;
	offset = (uint64_t)data[0] | (uint64_t)data[1] << 8 |
	    (uint64_t)data[2] << 16 | (uint64_t)data[3] << 24;
	/* 1 and up: small limits reach the marker of a skipped line. */
	limit = 1 + ((size_t)data[4] | (size_t)data[5] << 8);
	data += 6;
	size -= 6;

	text = fuzz_cstr(data, size);
	memset(&r, 0, sizeof(r));
	if (job_result_parse(text, &r, err, sizeof(err)) == 0) {
		char *again = job_result_text(&r);
		struct job_result r2;

		FUZZ_ASSERT(memchr(r.signal, '\0', sizeof(r.signal)) != NULL,
		    "signal unterminated");
		FUZZ_ASSERT(job_result_parse(again, &r2, err, sizeof(err)) == 0,
		    "own result text refused: %s: %s", again, err);
		FUZZ_ASSERT(r2.exit == r.exit && r2.finished_at == r.finished_at &&
		    strcmp(r2.signal, r.signal) == 0, "result changed: %s", again);
		free(again);
	} else {
		FUZZ_ASSERT(err[0] != '\0', "result refused silently");
	}
	memset(&ev, 0, sizeof(ev));
	job_events_scan(text, &ev);
	free(text);

	put("result", data, size);
	put("events", data, size);
	put("out", data, size);
	(void)job_dir_read_result(dir, &r);
	err[0] = '\0';
	if (job_dir_print_output(dir, offset, limit, &next, err,
	    sizeof(err)) == 0)
		FUZZ_ASSERT(next >= offset && next <= size,
		    "next %llu outside [%llu, %zu]", (unsigned long long)next,
		    (unsigned long long)offset, size);
	else
		FUZZ_ASSERT(err[0] != '\0', "output refused silently");
	fflush(stdout);
	return 0;
}
