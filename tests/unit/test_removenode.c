/*
 * test_removenode.c - the agent's removenode op: the host id check and
 * finding a host in `nodetool status` (a 4.1.1 capture: one node DN
 * before `nodetool removenode`, gone after).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/nodetool.h"
#include "../../agent/removenode.h"
#include "../../common/util.h"
#include "t.h"

static const char before[] =
    "Datacenter: dc1\n"
    "===============\n"
    "Status=Up/Down\n"
    "|/ State=Normal/Leaving/Joining/Moving\n"
    "--  Address     Load        Tokens  Owns (effective)  Host ID                               Rack\n"
    "UN  127.0.0.21  405.9 KiB   4       100.0%            e538418c-5bb6-4f54-b4df-d6933142d6aa  r1  \n"
    "DN  127.0.0.25  243.62 KiB  4       37.0%             2a9d9f0c-a24b-4d18-879b-41aea8ec9ebe  r2  \n"
    "UN  127.0.0.22  292.88 KiB  4       32.1%             8c7953c6-ef81-4f0d-9a4f-416f38e7ad04  r2  \n"
    "UJ  127.0.0.28  175.86 KiB  4       30.8%             f78ae1ac-0951-49d2-b20a-b89e76d3b7f2  r2  \n"
    "\n";

static const char after[] =
    "Datacenter: dc1\n"
    "===============\n"
    "Status=Up/Down\n"
    "|/ State=Normal/Leaving/Joining/Moving\n"
    "--  Address     Load        Tokens  Owns (effective)  Host ID                               Rack\n"
    "UN  127.0.0.21  429.13 KiB  4       100.0%            e538418c-5bb6-4f54-b4df-d6933142d6aa  r1  \n"
    "UN  127.0.0.22  352.35 KiB  4       46.4%             8c7953c6-ef81-4f0d-9a4f-416f38e7ad04  r2  \n"
    "\n";

static void test_host_id(void)
{
	static const struct {
		const char *s;
		bool ok;
	} rows[] = {
		{ "2a9d9f0c-a24b-4d18-879b-41aea8ec9ebe", true },
		{ "2A9D9F0C-A24B-4D18-879B-41AEA8EC9EBE", false },	/* as printed: lower */
		{ "2a9d9f0c-a24b-4d18-879b-41aea8ec9eb", false },
		{ "2a9d9f0c-a24b-4d18-879b-41aea8ec9ebee", false },
		{ "2a9d9f0ca-24b-4d18-879b-41aea8ec9ebe", false },
		{ "2a9d9f0c-a24b-4d18-879b-41aea8ec9eb;", false },
		{ "$(reboot)-a24b-4d18-879b-41aea8ec9ebe", false },
		{ "", false },
		{ NULL, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		T_CHECK(removenode_host_id_valid(rows[i].s) == rows[i].ok,
		    "row %zu: '%s'", i, rows[i].s ? rows[i].s : "(null)");
}

static void test_find(void)
{
	struct nodetool_status *b = NULL, *a = NULL;
	const char *addr;
	char err[256];

	T_EQ_INT(nodetool_parse_status(before, strlen(before), &b, err,
	    sizeof(err)), 0);
	T_EQ_INT(nodetool_parse_status(after, strlen(after), &a, err,
	    sizeof(err)), 0);
	if (b == NULL || a == NULL) {
		T_CHECK(false, "parse: %s", err);
		goto out;
	}
	T_EQ_INT(removenode_find(b, "2a9d9f0c-a24b-4d18-879b-41aea8ec9ebe",
	    &addr), 'D');
	T_EQ_STR(addr, "127.0.0.25");
	T_EQ_INT(removenode_find(b, "e538418c-5bb6-4f54-b4df-d6933142d6aa",
	    &addr), 'U');
	T_EQ_STR(addr, "127.0.0.21");
	/* joining is up too: never removed */
	T_EQ_INT(removenode_find(b, "f78ae1ac-0951-49d2-b20a-b89e76d3b7f2",
	    NULL), 'U');
	T_EQ_INT(removenode_find(a, "2a9d9f0c-a24b-4d18-879b-41aea8ec9ebe",
	    &addr), 0);
	T_CHECK(addr == NULL, "no address for a host not listed");
	T_EQ_INT(removenode_find(NULL, "2a9d9f0c-a24b-4d18-879b-41aea8ec9ebe",
	    NULL), 0);
out:
	nodetool_status_free(b);
	nodetool_status_free(a);
}

int main(void)
{
	test_host_id();
	test_find();
	return t_done("test_removenode");
}
