/*
 * fuzz_conf.c - configuration files (common/conf.c) through the two real
 * key tables: the orchestrator's file read by cfg_load() from disk, as
 * `ringmaster -f` does, and the agent's through agentcfg_parse().  A file
 * refused says "FILE:LINE: ..." (or "FILE: ..."); one accepted has every
 * key the table declares readable.
 */
#include <unistd.h>

#include "../../agent/agentcfg.h"
#include "../../common/conf.h"
#include "../../orchestrator/cfg.h"
#include "fuzz.h"

static char path[64];

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	/* Memory, not disk: the file is written again for every input. */
	snprintf(path, sizeof(path), "%s/rm-fuzz-conf-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		perror("fuzz_conf: mkstemp");
		abort();
	}
	close(fd);
	atexit(cleanup);
	return 0;
}

static void orchestrator_file(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	FILE *f = fopen(path, "w");
	struct cfg *c;

	if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
	    fclose(f) != 0) {
		perror("fuzz_conf: cannot write the config file");
		abort();
	}
	if ((c = cfg_load(path, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(strncmp(err, path, strlen(path)) == 0,
		    "error does not name the file: '%s'", err);
		return;
	}
	cfg_free(c);
}

static void agent_text(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), err[1024] = "";
	struct agentcfg *c = agentcfg_parse("agent.conf", text, err,
	    sizeof(err));

	if (c == NULL) {
		FUZZ_ASSERT(strncmp(err, "agent.conf", 10) == 0,
		    "error does not name the file: '%s'", err);
	} else {
		err[0] = '\0';
		if (agentcfg_check_daemon(c, err, sizeof(err)) != 0)
			FUZZ_ASSERT(err[0] != '\0', "daemon check silent");
		agentcfg_free(c);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	orchestrator_file(data, size);
	agent_text(data, size);
	return 0;
}
