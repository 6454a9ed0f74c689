/*
 * test_log.c - journald priorities: log_is_journal() against a table of
 * JOURNAL_STREAM values, then real lines written through stderr pointed at
 * a file that JOURNAL_STREAM names, and at one it does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/log.h"
#include "t.h"

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;

	if (fp)
		fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* Log one line of each level to stderr redirected to path; return the text. */
static char *log_through_stderr(const char *path, const char *journal_stream)
{
	int saved = dup(STDERR_FILENO);
	FILE *fp = fopen(path, "w");

	fflush(stderr);
	dup2(fileno(fp), STDERR_FILENO);
	fclose(fp);
	if (journal_stream)
		setenv("JOURNAL_STREAM", journal_stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_init("test", NULL, LOG_LVL_DEBUG);
	log_debug("checked node '%s'", "n1");
	log_info("started");
	log_warnx("slow disk");
	log_error("cannot open 'x'");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_close();
	return slurp(path);
}

int main(void)
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path);
	struct stat st;
	char match[64], other_ino[64];

	T_CHECK(fd >= 0, "mkstemp");
	fstat(fd, &st);
	snprintf(match, sizeof(match), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	snprintf(other_ino, sizeof(other_ino), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);

	static const struct {
		const char *env;
		int want;
	} cases[] = {
		{ NULL, 0 }, { "", 0 }, { ":", 0 }, { "12", 0 }, { "12:", 0 },
		{ ":34", 0 }, { "x:y", 0 }, { "12:34x", 0 }, { "1:2", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_CHECK(log_is_journal(fd, cases[i].env) == cases[i].want,
		    "JOURNAL_STREAM '%s'", cases[i].env ? cases[i].env : "(null)");
	T_CHECK(log_is_journal(fd, match), "'%s' names the file", match);
	T_CHECK(!log_is_journal(fd, other_ino), "'%s' is another inode", other_ino);
	T_CHECK(!log_is_journal(-1, match), "a closed fd is not the journal");
	close(fd);

	/*
	 * mkstemp's file is replaced by fopen("w") with the same inode, so
	 * JOURNAL_STREAM computed above still names it.
	 */
	char *out = log_through_stderr(path, match);
	T_CHECK(strstr(out, "<7>debug: checked node 'n1'\n") != NULL, "%s", out);
	T_CHECK(strstr(out, "<6>info: started\n") != NULL, "%s", out);
	T_CHECK(strstr(out, "<4>warn: slow disk\n") != NULL, "%s", out);
	T_CHECK(strstr(out, "<3>error: cannot open 'x'\n") != NULL, "%s", out);
	T_CHECK(strncmp(out, "<7>", 3) == 0, "no timestamp before the priority: %s", out);

	out = log_through_stderr(path, other_ino);
	T_CHECK(strchr(out, '<') == NULL, "no priorities off the journal: %s", out);
	T_CHECK(strstr(out, "test error: cannot open 'x'\n") != NULL, "%s", out);

	unlink(path);
	return t_done("test_log");
}
