/*
 * fuzz_api_body.c - API request bodies through the validators the API
 * calls, with the task types the orchestrator registers:
 *
 *   POST /clusters/{c}/tasks and /schedules: {"type", "params"} -> the
 *     type's parameter table (params_check()) and task_validate(), which
 *     service_task_params_check() calls;
 *   POST/PATCH /clusters: {"settings": {...}} -> store_setting_parse() on
 *     each pair as the service's check does (a string as it is, a boolean
 *     as "true"/"false", null as the default);
 *   schedules: {"cron": "..."} -> cron_valid().
 *
 * Promises checked: every refusal says why; params_check() leaves a
 * refused object as it was (params.h); a setting's canonical text is
 * accepted again and is its own canonical text.
 */
#include <jansson.h>
#include <unistd.h>

#include "../../orchestrator/engine/cron.h"
#include "../../orchestrator/engine/params.h"
#include "../../orchestrator/engine/task.h"
#include "../../orchestrator/nodes/nodeops.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/store/store_settings.h"
#include "../../orchestrator/tasks/registry.h"
#include "fuzz.h"

static struct store *st;
static struct task_engine *eng;
static char dir[64];

static void cleanup(void)
{
	char p[96];

	task_engine_free(eng);
	store_close(st);
	for (const char *const *f = (const char *const[]){ "store.db",
	    "store.db-wal", "store.db-shm", NULL }; *f != NULL; f++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *f);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[96], err[512] = "";

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/rm-fuzz-api-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_api_body: mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/store.db", dir);
	if ((st = store_open(path, err, sizeof(err))) == NULL ||
	    (eng = task_engine_new(st, 1, err, sizeof(err))) == NULL ||
	    tasks_register(eng, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_api_body: cannot set up the engine: %s\n",
		    err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

static void task_params(const char *type, json_t *params)
{
	const struct task_type *t = task_type_find(eng, type);
	json_t *copy;
	char err[1024] = "", *before, *after;

	if (t != NULL && t->params != NULL && json_is_object(params)) {
		copy = json_deep_copy(params);
		before = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
		if (params_check(t->params, type, copy, err, sizeof(err)) != 0) {
			FUZZ_ASSERT(err[0] != '\0', "%s params refused silently",
			    type);
			after = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
			FUZZ_ASSERT(strcmp(before, after) == 0, "refused %s "
			    "params changed: %s -> %s", type, before, after);
			free(after);
		}
		free(before);
		json_decref(copy);
	}
	copy = json_is_null(params) ? json_object() : json_deep_copy(params);
	err[0] = '\0';
	if (task_validate(eng, type, copy, err, sizeof(err)) != 0)
		FUZZ_ASSERT(err[0] != '\0', "task '%.64s' refused silently", type);
	json_decref(copy);
}

static void settings(json_t *obj)
{
	struct store_cluster_settings s;
	const char *key, *text;
	json_t *v;
	char canon[1100], again[1100], err[512];

	store_settings_defaults(&s);
	json_object_foreach(obj, key, v) {
		if (json_is_string(v))
			text = json_string_value(v);
		else if (json_is_boolean(v))
			text = json_is_true(v) ? "true" : "false";
		else if (json_is_null(v))
			text = store_setting_find(key) != NULL ?
			    store_setting_find(key)->def : "";
		else
			continue;	/* the API refuses other types itself */
		err[0] = '\0';
		if (store_setting_parse(&s, key, text, canon, sizeof(canon), err,
		    sizeof(err)) != 0) {
			FUZZ_ASSERT(err[0] != '\0', "setting '%.64s' refused "
			    "silently", key);
			continue;
		}
		FUZZ_ASSERT(store_setting_parse(&s, key, canon, again,
		    sizeof(again), err, sizeof(err)) == 0, "setting '%.64s': "
		    "canonical '%s' refused: %s", key, canon, err);
		FUZZ_ASSERT(strcmp(canon, again) == 0, "setting '%.64s': '%s' "
		    "then '%s'", key, canon, again);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size,
	    JSON_REJECT_DUPLICATES, NULL), *v;
	char err[256] = "";

	if (!json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	v = json_object_get(body, "type");
	if (json_is_string(v)) {
		json_t *p = json_object_get(body, "params");

		task_params(json_string_value(v), p != NULL ? p : json_null());
	}
	if (json_is_object(v = json_object_get(body, "settings")))
		settings(v);
	if (json_is_string(v = json_object_get(body, "cron")) &&
	    !cron_valid(json_string_value(v), err, sizeof(err)))
		FUZZ_ASSERT(err[0] != '\0', "cron refused silently");
	json_decref(body);
	return 0;
}
