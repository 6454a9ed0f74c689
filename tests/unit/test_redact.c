/*
 * test_redact.c - common/redact.c: what is hidden (AWS key ids, values of
 * secret names in assignments, JSON, options and Authorization headers,
 * known values) and what is left alone (numbers, prose, "set", objects).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/redact.h"
#include "t.h"

static void test_redact(void)
{
	static const char *const known[] = { "S3RVER", "ab", NULL };
	static const struct {
		const char *in, *want;
	} rows[] = {
		/* AWS access key ids, alone and inside text */
		{ "key AKIAIOSFODNN7EXAMPLE used",
		  "key [redacted] used" },
		{ "ASIAY34FZKBOKMUTVV7A", "[redacted]" },
		{ "xAKIAIOSFODNN7EXAMPLE", "xAKIAIOSFODNN7EXAMPLE" },
		{ "AKIASHORT", "AKIASHORT" },
		/* assignments, environment style and option style */
		{ "env AWS_ACCESS_KEY_ID=S3 AWS_SECRET_ACCESS_KEY=wJalr/K7+x ringagent",
		  "env AWS_ACCESS_KEY_ID=[redacted] AWS_SECRET_ACCESS_KEY=[redacted] ringagent" },
		{ "secret_access_key=abc&x=1", "secret_access_key=[redacted]&x=1" },
		{ "ringagent --secret-key hunter2 --store s3://b",
		  "ringagent --secret-key [redacted] --store s3://b" },
		{ "--session-token=IQoJb3JpZ2luX2Vj", "--session-token=[redacted]" },
		{ "--password 'a b c' --x", "--password '[redacted]' --x" },
		/* JSON */
		{ "{\"secret_key\":\"wJalrXUtnFEMI\",\"n\":1}",
		  "{\"secret_key\":\"[redacted]\",\"n\":1}" },
		{ "{\"password\": \"p\\\"q\"}", "{\"password\": \"[redacted]\"}" },
		/* headers */
		{ "Authorization: AWS4-HMAC-SHA256 Credential=AK/2026, Signature=ff\nHost: x",
		  "Authorization: [redacted]\nHost: x" },
		{ "authorization: Bearer rm_abc", "authorization: [redacted]" },
		{ "X-Amz-Security-Token: FQoG+xx", "X-Amz-Security-Token: [redacted]" },
		/* known values, also where no name says so */
		{ "PUT failed for S3RVER here", "PUT failed for [redacted] here" },
		{ "ab is too short to be known", "ab is too short to be known" },
		/* left alone */
		{ "tokens: -9223372036854775808", "tokens: -9223372036854775808" },
		{ "{\"tokens\":[1,2]}", "{\"tokens\":[1,2]}" },
		{ "\"storage_secret_access_key\":\"set\"",
		  "\"storage_secret_access_key\":\"set\"" },
		{ "the secret key is missing", "the secret key is missing" },
		{ "HTTP 403 SignatureDoesNotMatch: The request signature we calculated",
		  "HTTP 403 SignatureDoesNotMatch: The request signature we calculated" },
		{ "PUT x: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided",
		  "PUT x: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided" },
		{ "cannot create the admin token: cannot write", "cannot create the admin token: cannot write" },
		{ "password: hunter2", "password: [redacted]" },
		{ "aws_session_token: FQoG", "aws_session_token: [redacted]" },
		{ "{\"settings.storage_session_token\":\"cleared\",\"password\":null}",
		  "{\"settings.storage_session_token\":\"cleared\",\"password\":null}" },
		{ "job start X --secrets-stdin --json -- backup-upload",
		  "job start X --secrets-stdin --json -- backup-upload" },
		{ "token=", "token=" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = redact(rows[i].in, known, 2);
		T_CHECK(got != NULL && strcmp(got, rows[i].want) == 0,
		    "row %zu: '%s' gave '%s', want '%s'", i, rows[i].in,
		    got ? got : "(null)", rows[i].want);
		T_EQ_INT(redact_found(rows[i].in, known, 2, NULL, 0),
		    strcmp(rows[i].in, rows[i].want) != 0);
		free(got);
	}
	T_CHECK(redact(NULL, NULL, 0) == NULL, "NULL in, NULL out");
}

static void test_buf_and_found(void)
{
	char buf[24] = "password=x and more text";
	char what[64] = "";

	buf[sizeof(buf) - 1] = '\0';
	/* The mark is longer than the value: the rest is cut at the size. */
	T_CHECK(redact_buf(buf, sizeof(buf), NULL, 0), "redacted");
	T_EQ_STR(buf, "password=[redacted] and");
	T_CHECK(!redact_buf(buf, sizeof(buf), NULL, 0), "nothing left to hide");
	T_CHECK(redact_found("env AWS_SECRET_ACCESS_KEY=x y", NULL, 0, what,
	    sizeof(what)), "found");
	T_EQ_STR(what, "a value of 'AWS_SECRET_ACCESS_KEY'");
	T_CHECK(redact_found("id AKIAIOSFODNN7EXAMPLE", NULL, 0, what,
	    sizeof(what)), "found");
	T_EQ_STR(what, "an AWS access key id");
	T_CHECK(!redact_found("ringagent -f /etc/ringagent.conf", NULL, 0,
	    what, sizeof(what)), "a plain agent command");
}

int main(void)
{
	test_redact();
	test_buf_and_found();
	return t_done("test_redact");
}
