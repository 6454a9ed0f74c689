/*
 * test_settings_secret.c - the secret cluster settings
 * (orchestrator/store/store_settings.c): kept as given in the store,
 * shown only as "set", refused without being quoted, listed for
 * redaction; and the API's JSON of them (service_json.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../orchestrator/service/service_json.h"
#include "../../orchestrator/store/store.h"
#include "t.h"

#define KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static void test_parse_and_format(void)
{
	static const struct {
		const char *key, *text;
		int rc;
		const char *says;	/* in err when refused */
	} rows[] = {
		{ "storage_secret_access_key", KEY, 0, NULL },
		{ "storage_access_key_id", "AKIAIOSFODNN7EXAMPLE", 0, NULL },
		{ "storage_session_token", "", 0, NULL },
		{ "storage_secret_access_key", "two words", -1, "blank" },
		{ "storage_secret_access_key", "tab\there", -1, "control" },
		{ "storage_secret_access_key", "caf\xc3\xa9", -1, "non-ASCII" },
	};
	struct store_cluster_settings cs;
	char canon[64], err[256], big[300];
	const char *known[4];
	const struct store_setting_def *d;

	store_settings_defaults(&cs);
	T_EQ_INT(store_settings_secrets(&cs, known, 4), 0);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int rc = store_setting_parse(&cs, rows[i].key, rows[i].text,
		    canon, sizeof(canon), err, sizeof(err));
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d", i, rc);
		if (rc == 0) {
			/* The canonical text shown is "set" or "". */
			T_EQ_STR(canon, rows[i].text[0] ? "set" : "");
		} else {
			T_CHECK(strstr(err, rows[i].says) != NULL &&
			    strstr(err, rows[i].key) != NULL &&
			    strstr(err, rows[i].text) == NULL,
			    "row %zu: '%s'", i, err);
		}
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	T_EQ_INT(store_setting_parse(&cs, "storage_secret_access_key", big,
	    NULL, 0, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "longer than 256") != NULL && strstr(err, "xxxx")
	    == NULL, "%s", err);
	T_EQ_STR(cs.storage_secret_access_key, KEY);
	T_EQ_INT(store_settings_secrets(&cs, known, 4), 2);
	T_CHECK(strcmp(known[0], "AKIAIOSFODNN7EXAMPLE") == 0 ||
	    strcmp(known[1], "AKIAIOSFODNN7EXAMPLE") == 0, "key id listed");
	store_setting_format(&cs, "storage_secret_access_key", canon,
	    sizeof(canon));
	T_EQ_STR(canon, "set");
	d = store_setting_find("storage_secret_access_key");
	T_CHECK(d != NULL && d->secret, "marked secret");
	d = store_setting_find("provider");
	T_CHECK(d != NULL && !d->secret, "provider is no secret");
}

static void test_store_and_json(void)
{
	char dir[] = "/tmp/test_settings_secret.XXXXXX", path[256];
	char err[256] = "", *dump;
	struct store *st;
	struct store_cluster c = {
		.name = "c", .storage_url = "file:///tmp/x",
		.ssh_user = "ubuntu", .ssh_key_file = "/k",
	};
	struct store_setting_kv kv[2] = {
		{ "storage_access_key_id", "AKIAIOSFODNN7EXAMPLE" },
		{ "storage_secret_access_key", KEY },
	};
	struct store_cluster_settings got;
	json_t *j;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/state.db", dir);
	st = store_open(path, err, sizeof(err));
	T_CHECK(st != NULL, "store_open: %s", err);
	if (st == NULL)
		exit(1);
	T_EQ_INT(store_cluster_create(st, &c, err, sizeof(err)), 0);
	T_EQ_INT(store_cluster_settings_set(st, "c", kv, 2, err, sizeof(err)), 0);
	/* The value itself is stored and read back, not what is shown. */
	T_EQ_INT(store_cluster_settings_get(st, "c", &got), 0);
	T_EQ_STR(got.storage_secret_access_key, KEY);
	T_EQ_STR(got.storage_access_key_id, "AKIAIOSFODNN7EXAMPLE");
	j = svc_json_settings(&got);
	dump = json_dumps(j, JSON_COMPACT);
	T_CHECK(dump != NULL && strstr(dump, KEY) == NULL &&
	    strstr(dump, "AKIAIOSFODNN7EXAMPLE") == NULL, "%s", dump);
	T_EQ_STR(json_string_value(json_object_get(j,
	    "storage_secret_access_key")), "set");
	T_CHECK(json_object_get(j, "storage_session_token") == NULL,
	    "an unset secret is left out");
	free(dump);
	json_decref(j);
	/* Cleared: gone from the JSON, empty in the struct. */
	kv[0].value = NULL;
	kv[1].value = NULL;
	T_EQ_INT(store_cluster_settings_set(st, "c", kv, 2, err, sizeof(err)), 0);
	T_EQ_INT(store_cluster_settings_get(st, "c", &got), 0);
	T_EQ_STR(got.storage_secret_access_key, "");
	j = svc_json_settings(&got);
	T_CHECK(json_object_get(j, "storage_secret_access_key") == NULL,
	    "cleared");
	json_decref(j);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	T_CHECK(system(path) == 0, "cleanup");
}

int main(void)
{
	test_parse_and_format();
	test_store_and_json();
	return t_done("test_settings_secret");
}
