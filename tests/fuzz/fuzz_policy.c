/*
 * fuzz_policy: the policy language.  The input is written to a file (the
 * loader reads files, as authd does), loaded, and when it compiles,
 * evaluated for a fixed identity and a few requests and rule sets, with
 * its regex prefilters and again without them: the decisions must agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLICY_INTERNAL			/* prefilters, to detach them */
#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	 fuzz_path[64];

static int
fuzz_write(const uint8_t *data, size_t size)
{
	FILE	*f;

	if (fuzz_path[0] == '\0') {
		snprintf(fuzz_path, sizeof(fuzz_path),
		    "/dev/shm/authd-fuzz-policy-%ld", (long)getpid());
	}
	if ((f = fopen(fuzz_path, "w")) == NULL)
		return -1;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct policy_attr	 subj[] = {
		{ "CN", "alice" }, { "OU", "Admins" }, { "O", "Example" },
	};
	static const char *const	 dns[] = { "alice.example.org" };
	static const char *const	 uri[] = {
		"spiffe://example.org/ns/prod/sa/alice" };
	static const char *const	 ip[] = { "192.0.2.1" };
	static const char *const	 eku[] = { "clientAuth" };
	static const char *const	 oids[] = { "2.16.840.1.101.3.2.1.3.13" };
	static const char *const	 rulesets[] = { NULL, "admin", "x" };
	static const struct policy_request rqs[] = {
		{ "GET", "/admin/x", "localhost" },
		{ "POST", "/api/v1", NULL },
		{ NULL, NULL, NULL },
	};
	struct policy_identity	 id = {
		.subject = "CN=alice,OU=Admins,O=Example",
		.issuer = "CN=Issuing CA,O=Example",
		.serial = "0A1B", .fingerprint =
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		.subject_attrs = subj, .nsubject_attrs = 3,
		.san_dns = dns, .nsan_dns = 1, .san_uri = uri, .nsan_uri = 1,
		.san_ip = ip, .nsan_ip = 1, .eku = eku, .neku = 1,
		.policy_oids = oids, .npolicy_oids = 1, .days_left = 30,
	};
	struct policy_decision	 d, e;
	struct policy		*p = NULL, *q = NULL;
	FILE			*errf;
	size_t			 i, j;

	if (size > 64 * 1024 || fuzz_write(data, size) != 0)
		return 0;
	if ((errf = fopen("/dev/null", "w")) == NULL)
		return 0;
	if (policy_load(fuzz_path, errf, &p) == 0) {
		if (policy_prefilters(p, NULL) > 0) {
			if (policy_load(fuzz_path, errf, &q) != 0)
				__builtin_trap();
			policy_prefilters_detach(q);
		}
		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++) {
				policy_eval(p, rulesets[i], &id, &rqs[j], &d);
				if (d.reason == NULL)
					__builtin_trap();
				if (q == NULL)
					continue;
				policy_eval(q, rulesets[i], &id, &rqs[j], &e);
				if (d.allow != e.allow ||
				    d.outcome != e.outcome ||
				    strcmp(d.reason, e.reason) != 0 ||
				    d.line != e.line)
					__builtin_trap();
			}
		policy_free(&p);
		policy_free(&q);
	}
	fclose(errf);
	return 0;
}
