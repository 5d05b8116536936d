/*
 * test_policy_parse.c [POLICIES_DIR]: policy_load on the DESIGN.md
 * example, every file in policies/, and one broken policy per error
 * message, asserting the message and its file:line:col.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "policy.h"
#include "t.h"

static char	 dir[256];

/* The example of DESIGN.md section 6, byte for byte. */
static const char design_example[] =
"# first matching rule decides; no match -> deny (403 no-matching-rule)\n"
"list lost  file \"lists/lost-devices.sha256\"\n"
"\n"
"ruleset default {\n"
"  deny  fingerprint in lost                         reason \"reported-lost\"\n"
"  allow path prefix \"/admin/\" and subject.OU == \"Admins\"\n"
"  deny  path prefix \"/admin/\"\n"
"  allow san.uri ~ \"^spiffe://example\\.org/ns/prod/\"\n"
"  allow issuer.CN == \"Devices CA\" and subject.CN ~ \"^dev-[0-9a-f]{16}$\"\n"
"        set X-Device-Id = subject.CN\n"
"}\n";

/* Load len bytes as dir/name; errors captured into *errs (caller frees). */
static int
load_len(const char *name, const char *text, size_t tlen, struct policy **p,
    char **errs)
{
	char	 path[512];
	size_t	 len;
	FILE	*f;
	int	 rc;

	t_write(dir, name, text, tlen, path, sizeof(path));
	if ((f = open_memstream(errs, &len)) == NULL) {
		perror("open_memstream");
		exit(2);
	}
	rc = policy_load(path, f, p);
	fclose(f);
	return rc;
}

static int
load_text(const char *name, const char *text, struct policy **p, char **errs)
{
	return load_len(name, text, strlen(text), p, errs);
}

static void
test_design_example(void)
{
	static const char lost[] = "# lost\n\n"
	    "3F1C9A0E5B7D2C4F6A8E0B1D3C5F7A9E1B3D5F7A9C1E3B5D7F9A1C3E5B7D9F1A\n";
	struct policy	*p = NULL;
	char		*errs = NULL, sub[512], path[512];
	int		 rc;

	snprintf(sub, sizeof(sub), "%s/lists", dir);
	mkdir(sub, 0755);
	t_write(sub, "lost-devices.sha256", lost, strlen(lost), path,
	    sizeof(path));
	rc = load_text("design.policy", design_example, &p, &errs);
	CHECK(rc == 0 && p != NULL, "DESIGN.md example: expected to compile, "
	    "got %s: %s", err_str(rc), errs);
	if (p != NULL) {
		CHECK(policy_rulesets(p) == 1 && policy_rules(p) == 5 &&
		    policy_lists(p) == 1 && policy_list_entries(p) == 1,
		    "DESIGN.md example: counts %zu/%zu/%zu/%zu, expected "
		    "1/5/1/1", policy_rulesets(p), policy_rules(p),
		    policy_lists(p), policy_list_entries(p));
		CHECK(policy_has_ruleset(p, "default") &&
		    !policy_has_ruleset(p, "other"), "has_ruleset");
	}
	CHECK(errs != NULL && errs[0] == '\0', "no output expected, got %s",
	    T_STR(errs));
	policy_free(&p);
	policy_free(&p);	/* NULL is fine */
	free(errs);
}

/* Every shipped policy compiles (test_policy_eval exercises them). */
static void
test_shipped(const char *pdir)
{
	static const char *const files[] = { "example.policy",
	    "admin-panel.policy", "spiffe.policy", "iot-fleet.policy",
	    "partners.policy" };
	struct policy	*p = NULL;
	char		 path[512], *errs = NULL;
	size_t		 i, len;
	FILE		*f;
	int		 rc;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pdir, files[i]);
		f = open_memstream(&errs, &len);
		rc = policy_load(path, f, &p);
		fclose(f);
		CHECK(rc == 0 && policy_rules(p) > 0, "%s: %s: %s", path,
		    err_str(rc), errs);
		policy_free(&p);
		free(errs);
		errs = NULL;
	}
}

/*
 * One broken policy per message.  Lists available in dir: good.txt,
 * bad.txt (malformed at its line 3).  want is "line:col: message".
 */
struct neg_case {
	const char	*name;
	const char	*text;
	const char	*want;
};

#define RS(body)	"ruleset default {\n" body "}\n"

static const struct neg_case neg_cases[] = {
	{ "unknown field", RS("  allow subjct == \"x\"\n"),
	    "2:9: unknown field 'subjct' (did you mean 'subject'?)" },
	{ "unknown attribute", RS("  allow subject.Bogus == \"x\"\n"),
	    "2:9: unknown field 'subject.Bogus'" },
	{ "attribute case", RS("  allow subject.ou == \"x\"\n"),
	    "2:9: unknown field 'subject.ou' (did you mean 'subject.OU'?)" },
	{ "unknown field far", RS("  allow zzzzzzzz == \"x\"\n"),
	    "2:9: unknown field 'zzzzzzzz'\n" },
	{ "bad regex", RS("  allow subject ~ \"^(ab\"\n"),
	    "2:24: bad regular expression: missing closing parenthesis "
	    "(at offset 4)" },
	{ "bad regex offset after escapes",
	    RS("  allow subject ~ \"\\\"\\\\\\\\[\"\n"),
	    "2:27: bad regular expression: missing terminating ] for "
	    "character class (at offset 4)" },
	{ "unknown list", "list good file \"good.txt\"\n"
	    RS("  deny fingerprint in goood\n"),
	    "3:23: unknown list 'goood' (did you mean 'good'?)" },
	{ "unknown list, none declared", RS("  deny serial in lost\n"),
	    "2:18: unknown list 'lost' (declare it first" },
	{ "duplicate rule set", RS("  allow true\n") "\n"
	    RS("  allow true\n"),
	    "5:9: duplicate rule set 'default' (first defined at line 1)" },
	{ "unterminated string", RS("  allow path == \"/admin\n"),
	    "2:17: unterminated string" },
	{ "list file missing", "list lost file \"nope.txt\"\n",
	    "1:16: list 'lost': cannot open " },
	{ "malformed list line", "list bad file \"bad.txt\"\n",
	    "bad.txt:3:3: malformed entry \"zz-not-hex\"" },
	{ "days_left regex", RS("  allow days_left ~ \"x\"\n"),
	    "2:19: operator '~' is not valid for days_left" },
	{ "numeric on string", RS("  allow subject < \"x\"\n"),
	    "2:17: operator '<' is not valid for field 'subject' (only "
	    "days_left is numeric)" },
	{ "in on subject", "list good file \"good.txt\"\n"
	    RS("  allow subject in good\n"),
	    "3:17: operator 'in' is not valid for field 'subject'" },
	{ "missing brace at eof", "ruleset default {\n  allow true\n",
	    "3:1: missing '}' to close rule set 'default' opened at 1:17" },
	{ "missing brace before ruleset", "ruleset a {\n  allow true\n"
	    "ruleset b { allow true }\n",
	    "3:1: missing '}' to close rule set 'a' opened at 1:11" },
	{ "days not a number", RS("  allow days_left < soon\n"),
	    "2:21: expected a number of days" },
	{ "unquoted string", RS("  allow path == admin\n"),
	    "2:17: expected a quoted string after '==', got 'admin'" },
	{ "no operator", RS("  allow path \"/x\"\n"),
	    "2:14: expected an operator after 'path'" },
	{ "no condition", RS("  allow\n  deny true\n"),
	    "3:3: expected a condition after 'allow'" },
	{ "junk after condition", RS("  allow true true\n"),
	    "2:14: expected 'and', 'or', 'set' or a new rule, got 'true'" },
	{ "junk in ruleset", RS("  permit true\n"),
	    "2:3: expected 'allow', 'deny', a setting or '}', got 'permit'" },
	{ "non-ASCII in a regex on a certificate field",
	    RS("  allow subject.CN ~ \"Jos\xC3\xA9\"\n"),
	    "2:26: byte 0xC3 in a regular expression on " },
	{ "junk at top", "rules default {}\n",
	    "1:1: expected 'list' or 'ruleset', got 'rules'" },
	{ "unclosed paren", RS("  allow (true and true\n"),
	    "3:1: expected ')' to close '(' at 2:9, got '}'" },
	{ "nesting", RS("  allow ((((((((((((((((((true))))))))))))))))))\n"),
	    "2:25: condition nested deeper than 16" },
	{ "reserved header", RS("  allow true set X-Authd-Subject = subject\n"),
	    "2:18: header 'X-Authd-Subject' is reserved" },
	{ "reserved header case", RS("  allow true set content-length = "
	    "subject\n"), "2:18: header 'content-length' is reserved" },
	{ "bad header name", RS("  allow true set X_Id = subject\n"),
	    "2:18: invalid header name 'X_Id'" },
	{ "header twice", RS("  allow true set X-A = subject set x-a = issuer\n"),
	    "2:36: header 'x-a' set twice in one rule" },
	{ "too many headers", RS("  allow true set A1 = path set A2 = path "
	    "set A3 = path set A4 = path set A5 = path set A6 = path set "
	    "A7 = path set A8 = path set A9 = path\n"),
	    "2:130: more than 8 set clauses in one rule" },
	{ "set unknown field", RS("  allow true set X-A = subjet\n"),
	    "2:24: unknown field 'subjet' (did you mean 'subject'?)" },
	{ "set on deny", RS("  deny true set X-A = subject\n"),
	    "2:13: 'set' is only for allow rules" },
	{ "reason on allow", RS("  allow true reason \"x\"\n"),
	    "2:14: 'reason' is only for deny rules" },
	{ "reason control", RS("  deny true reason \"a\tb\"\n"),
	    "2:22: a reason is printable ASCII" },
	{ "reason ok", RS("  deny true reason \"ok\"\n"),
	    "2:20: reason \"ok\" is what an allow says" },
	{ "bad eku", RS("  allow eku == \"clientauth\"\n"),
	    "2:16: unknown extended key usage \"clientauth\" (did you mean "
	    "\"clientAuth\"?)" },
	{ "bad policy oid", RS("  allow policy_oid == \"anyPolicy\"\n"),
	    "2:23: policy_oid values are dotted OIDs" },
	{ "bad processed policy", RS("  allow policy == \"PIV\"\n"),
	    "2:19: policy values are dotted OIDs" },
	{ "require_policy not an OID", RS("  require_policy \"PIV\"\n  allow true\n"),
	    "2:18: require_policy: expected a dotted OID" },
	{ "require_policy empty", RS("  require_policy\n  allow true\n"),
	    "2:3: require_policy: expected one or more dotted OIDs, got 'allow'" },
	{ "require_policy twice", RS("  require_policy 1.2.3\n  require_policy 1.2.4\n  allow true\n"),
	    "3:3: require_policy set twice in rule set 'default'" },
	{ "require_policy too many", RS("  require_policy 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8 1.9 1.10 1.11 1.12 1.13 1.14 1.15 1.16 1.17\n  allow true\n"),
	    "2:89: require_policy: more than 16 OIDs" },
	{ "explicit_policy off", RS("  explicit_policy off\n  allow true\n"),
	    "2:19: explicit_policy off: a rule set can only add to the global" },
	{ "inhibit_any_policy junk", RS("  inhibit_any_policy yes\n  allow true\n"),
	    "2:22: inhibit_any_policy: expected on, got 'yes'" },
	{ "inhibit_policy_mapping twice", RS("  inhibit_policy_mapping on\n  inhibit_policy_mapping on\n  allow true\n"),
	    "3:3: inhibit_policy_mapping set twice in rule set 'default'" },
	{ "decision_max_age bare number", RS("  decision_max_age 30\n  allow true\n"),
	    "2:20: decision_max_age: missing unit" },
	{ "decision_max_age too long", RS("  decision_max_age 2d\n  allow true\n"),
	    "2:20: decision_max_age: at most 1d" },
	{ "decision_max_age twice", RS("  decision_max_age 5s\n  decision_max_age 6s\n  allow true\n"),
	    "3:3: decision_max_age set twice in rule set 'default'" },
	{ "decision_max_age string", RS("  decision_max_age \"5s\"\n  allow true\n"),
	    "2:20: decision_max_age: expected a duration like 30s or 5m, got string \"5s\"" },
	{ "bad ip", RS("  allow san.ip == \"10.0.0.0/8\"\n"),
	    "2:19: \"10.0.0.0/8\" is not an IP address" },
	{ "bad fascn", RS("  allow san.fascn == \"zz\"\n"),
	    "2:22: \"zz\" is not hex" },
	{ "bad uuid", RS("  allow san.uuid == \"urn:uuid:1\"\n"),
	    "2:21: \"urn:uuid:1\" is not a UUID" },
	{ "bad serial", RS("  allow serial == \"xyz\"\n"),
	    "2:19: \"xyz\" is not a hex serial" },
	{ "bang", RS("  allow ! true\n"),
	    "2:9: unexpected '!' (did you mean '!=' or 'not'?)" },
	{ "bad char", RS("  allow true & true\n"),
	    "2:14: unexpected character '&'" },
	{ "duplicate list", "list good file \"good.txt\"\n"
	    "list good file \"good.txt\"\n",
	    "2:6: duplicate list 'good' (first declared at line 1)" },
	{ "list without file", "list good \"good.txt\"\n",
	    "1:11: expected 'file' after the list name" },
	{ "bad ruleset name", "ruleset \"x\" { allow true }\n",
	    "1:9: expected a rule set name, got string \"x\"" },
	{ "NUL byte", NULL, "2:13: NUL byte" },
	{ "long string", NULL, "2:17: string longer than 1024 bytes" },
	{ "long line", NULL, "2:4097: line longer than 4096 bytes" },
	{ "long regex", NULL, "2:16: regular expression longer than 512" },
};

/* Cases whose text is too long to write inline. */
static char *
neg_text(const struct neg_case *c, size_t *len)
{
	static const char nul[] = "ruleset default {\n  allow true\0\n}\n";
	char	*s, *big;
	size_t	 n;

	if (c->text != NULL) {
		*len = strlen(c->text);
		return strdup(c->text);
	}
	if (strcmp(c->name, "NUL byte") == 0) {
		*len = sizeof(nul) - 1;
		s = malloc(sizeof(nul));
		memcpy(s, nul, sizeof(nul));
		return s;
	}
	big = malloc(5000);
	s = malloc(6000);
	if (strcmp(c->name, "long string") == 0) {
		memset(big, 'a', 1100);
		big[1100] = '\0';
		snprintf(s, 6000, "ruleset default {\n  allow path == \"%s\"\n}\n",
		    big);
	} else if (strcmp(c->name, "long line") == 0) {
		memset(big, ' ', 4200);
		big[4200] = '\0';
		snprintf(s, 6000, "ruleset default {\n  allow true%s\n}\n", big);
	} else {
		n = 600;
		memset(big, 'a', n);
		big[n] = '\0';
		snprintf(s, 6000, "ruleset default {\n  allow path ~ \"%s\"\n}\n",
		    big);
	}
	free(big);
	*len = strlen(s);
	return s;
}

static void
test_negative(void)
{
	static const char	 bad[] = "# header\n01:02\n  zz-not-hex\n";
	const struct neg_case	*c;
	struct policy		*p = NULL;
	char			 path[512], want[512], *errs, *text;
	size_t			 i, tlen;
	int			 rc;

	t_write(dir, "good.txt", "abcd\n", 5, path, sizeof(path));
	t_write(dir, "bad.txt", bad, strlen(bad), path, sizeof(path));
	for (i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
		c = &neg_cases[i];
		errs = NULL;
		text = neg_text(c, &tlen);
		rc = load_len("case.policy", text, tlen, &p, &errs);
		free(text);
		if (strncmp(c->want, "bad.txt", 7) == 0)
			snprintf(want, sizeof(want), "%s/%s", dir, c->want);
		else
			snprintf(want, sizeof(want), "%s/case.policy:%s", dir,
			    c->want);
		CHECK(rc == AUTHD_ECONFIG && p == NULL &&
		    t_contains(errs, want), "%s: expected rc %d and %s, got "
		    "rc %d and %s", c->name, AUTHD_ECONFIG, T_STR(want), rc,
		    T_STR(errs));
		policy_free(&p);
		free(errs);
	}
}

/* Several errors in one file are all reported; parsing recovers. */
static void
test_recovery(void)
{
	static const char text[] =
	    "list lost file \"nope.txt\"\n"		/* 1 */
	    "ruleset default {\n"			/* 2 */
	    "  allow subjct == \"x\"\n"			/* 3 */
	    "  allow true\n"				/* 4 */
	    "  deny path ~ \"(\" reason \"x\"\n"	/* 5 */
	    "  allow days_left ~ \"1\" and true\n"	/* 6 */
	    "  allow path == \"/ok\"\n"			/* 7 */
	    "}\n"					/* 8 */
	    "bogus\n"					/* 9 */
	    "ruleset default {\n"			/* 10 */
	    "  allow path == \"oops\n"			/* 11 */
	    "  allow true\n"				/* 12 */
	    "}\n"					/* 13 */
	    "ruleset other {\n"				/* 14 */
	    "  allow serial in lost\n";			/* 15 */
	static const char *const wants[] = { ":1:16: list 'lost'",
	    ":3:9: unknown field", ":5:17: bad regular expression",
	    ":6:19: operator '~'", ":9:1: expected 'list' or 'ruleset'",
	    ":10:9: duplicate rule set", ":11:17: unterminated string",
	    ":16:1: missing '}'" };
	struct policy	*p = NULL;
	char		*errs = NULL;
	size_t		 i;
	int		 rc;

	rc = load_text("multi.policy", text, &p, &errs);
	CHECK(rc == AUTHD_ECONFIG && p == NULL, "multi: rc %d", rc);
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
		CHECK(t_contains(errs, wants[i]), "multi: expected %s in %s",
		    wants[i], T_STR(errs));
	/* line 15: "lost" was declared (its file is missing): no 2nd error */
	CHECK(t_count(errs, "\n") == 8, "multi: expected 8 messages, got %d: "
	    "%s", t_count(errs, "\n"), errs);
	free(errs);

	/* The error cap: many broken rules, bounded output. */
	{
		char	*big = malloc(200 * 32 + 64), *o = big;
		int	 k;

		o += sprintf(o, "ruleset default {\n");
		for (k = 0; k < 200; k++)
			o += sprintf(o, "  allow bogus == \"x\"\n");
		sprintf(o, "}\n");
		errs = NULL;
		rc = load_text("many.policy", big, &p, &errs);
		CHECK(rc == AUTHD_ECONFIG && t_count(errs, "unknown field") ==
		    POLICY_MAX_ERRORS && t_contains(errs, "too many errors"),
		    "error cap: %d messages", t_count(errs, "unknown field"));
		free(big);
		free(errs);
	}
}

/* Not a policy file at all. */
static void
test_files(void)
{
	struct policy	*p = NULL;
	char		 path[512], *errs = NULL, *big;
	size_t		 len;
	FILE		*f;
	int		 rc;

	snprintf(path, sizeof(path), "%s/does-not-exist.policy", dir);
	f = open_memstream(&errs, &len);
	rc = policy_load(path, f, &p);
	fclose(f);
	CHECK(rc == AUTHD_ECONFIG && p == NULL && t_contains(errs,
	    "cannot open"), "missing file: rc %d, %s", rc, T_STR(errs));
	free(errs);

	big = malloc(POLICY_FILE_MAX + 2);
	memset(big, '#', POLICY_FILE_MAX + 1);
	big[POLICY_FILE_MAX + 1] = '\0';
	errs = NULL;
	rc = load_text("huge.policy", big, &p, &errs);
	CHECK(rc == AUTHD_ECONFIG && t_contains(errs, "larger than"),
	    "huge file: rc %d, %s", rc, T_STR(errs));
	free(big);
	free(errs);

	errs = NULL;
	rc = load_text("empty.policy", "# nothing\n", &p, &errs);
	CHECK(rc == 0 && policy_rulesets(p) == 0, "empty policy: rc %d", rc);
	policy_free(&p);
	free(errs);
}

/* A rule set's certificate policy settings, and who reads the field. */
static void
test_pcy(void)
{
	const struct policy_pcy	*pcy;
	struct policy		*p = NULL;
	char			*errs = NULL;
	int			 rc;

	rc = load_text("pcy.policy",
	    "ruleset default { allow true }\n"
	    "ruleset piv {\n"
	    "  require_policy 2.16.840.1.101.3.2.1.3.13 \"1.3.6.1.4.1.99999.9.1\"\n"
	    "  inhibit_policy_mapping on\n"
	    "  allow true\n"
	    "}\n"
	    "ruleset strict { explicit_policy on inhibit_any_policy on allow true }\n",
	    &p, &errs);
	CHECK(rc == 0, "pcy policy: rc %d, %s", rc, T_STR(errs));
	if (rc == 0) {
		CHECK(policy_pcy_count(p) == 2 &&
		    policy_pcy_index(p, "default") == -1 &&
		    policy_pcy_index(p, NULL) == -1 &&
		    policy_pcy_index(p, "piv") == 0 &&
		    policy_pcy_index(p, "strict") == 1 &&
		    policy_pcy_index(p, "nope") == -1 &&
		    !policy_pcy_used(p), "pcy: count %zu, indexes %d %d",
		    policy_pcy_count(p), policy_pcy_index(p, "piv"),
		    policy_pcy_index(p, "strict"));
		pcy = policy_pcy_at(p, 0);
		CHECK(pcy != NULL && pcy->noids == 2 &&
		    strcmp(pcy->oids[0], "2.16.840.1.101.3.2.1.3.13") == 0 &&
		    strcmp(pcy->oids[1], "1.3.6.1.4.1.99999.9.1") == 0 &&
		    pcy->inhibit_mapping && !pcy->explicit_policy &&
		    !pcy->inhibit_any, "pcy: piv's settings");
		pcy = policy_pcy_at(p, 1);
		CHECK(pcy != NULL && pcy->noids == 0 && pcy->explicit_policy &&
		    pcy->inhibit_any && !pcy->inhibit_mapping,
		    "pcy: strict's settings");
		CHECK(policy_pcy_at(p, 2) == NULL, "pcy: past the end");
	}
	policy_free(&p);
	free(errs);
	errs = NULL;
	rc = load_text("pcy-used.policy", "ruleset default {\n"
	    "  allow true set X-Policy = policy\n}\n", &p, &errs);
	CHECK(rc == 0 && policy_pcy_used(p) && policy_pcy_count(p) == 0,
	    "pcy used by set: rc %d, %s", rc, T_STR(errs));
	policy_free(&p);
	free(errs);
	errs = NULL;
	rc = load_text("pcy-used2.policy", "ruleset default {\n"
	    "  allow policy == \"2.5.29.32.0\"\n}\n", &p, &errs);
	CHECK(rc == 0 && policy_pcy_used(p), "pcy used by a test: rc %d, %s",
	    rc, T_STR(errs));
	policy_free(&p);
	free(errs);
	errs = NULL;
	rc = load_text("max-age.policy", "ruleset default { allow true }\n"
	    "ruleset short { decision_max_age 5m allow true }\n", &p, &errs);
	CHECK(rc == 0 && policy_decision_max_age(p, "short") == 300 &&
	    policy_decision_max_age(p, NULL) == -1 &&
	    policy_decision_max_age(p, "nope") == -1, "decision_max_age: rc %d, "
	    "%s", rc, T_STR(errs));
	policy_free(&p);
	free(errs);
	errs = NULL;
	/* The request fields each rule set reads: conditions and set headers. */
	rc = load_text("reads.policy",
	    "ruleset default { allow subject.CN == \"a\" set X-H = issuer }\n"
	    "ruleset p { deny path prefix \"/x/\" allow true }\n"
	    "ruleset m { allow not (method == \"GET\" or host == \"h\") }\n"
	    "ruleset s { allow true set X-Host = host }\n", &p, &errs);
	CHECK(rc == 0 && policy_ruleset_reads(p, NULL) == 0 &&
	    policy_ruleset_reads(p, "p") == POLICY_READS_PATH &&
	    policy_ruleset_reads(p, "m") == (POLICY_READS_METHOD |
	    POLICY_READS_HOST) &&
	    policy_ruleset_reads(p, "s") == POLICY_READS_HOST &&
	    policy_ruleset_reads(p, "nope") == 0 &&
	    strcmp(policy_ruleset_name(p, 1), "p") == 0 &&
	    policy_ruleset_name(p, 4) == NULL, "reads: rc %d, %s", rc,
	    T_STR(errs));
	policy_free(&p);
	free(errs);
}

/* policy_hex_norm: the list and serial/fingerprint comparison form. */
static void
test_hex_norm(void)
{
	static const struct {
		const char	*in;
		const char	*want;	/* NULL: rejected */
	} cases[] = {
		{ "0A1B", "a1b" }, { "a1b", "a1b" }, { "00:0a:1B", "a1b" },
		{ "0", "0" }, { "0000", "0" }, { "-01", "-1" },
		{ "", NULL }, { ":", NULL }, { "xyz", NULL }, { "12 34", NULL },
		{ "-", NULL }, { "1-2", NULL }, { "0x12", NULL },
		{ "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789",
		  "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" },
	};
	char	 out[POLICY_HEX_MAX], big[300];
	size_t	 i;
	int	 n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = policy_hex_norm(cases[i].in, strlen(cases[i].in), out);
		if (cases[i].want == NULL)
			CHECK(n < 0, "hex_norm %s: expected rejection, got %s",
			    T_STR(cases[i].in), out);
		else
			CHECK(n >= 0 && strcmp(out, cases[i].want) == 0 &&
			    (size_t)n == strlen(out), "hex_norm %s: expected %s, "
			    "got %d %s", T_STR(cases[i].in), cases[i].want, n,
			    n >= 0 ? out : "");
	}
	memset(big, 'f', 129);
	CHECK(policy_hex_norm(big, 129, out) < 0, "hex_norm: 129 digits");
	CHECK(policy_hex_norm(big, 128, out) == 128, "hex_norm: 128 digits");
}

int
main(int argc, char **argv)
{
	t_tmpdir(dir, sizeof(dir));
	test_design_example();
	if (argc > 1)
		test_shipped(argv[1]);
	test_negative();
	test_recovery();
	test_files();
	test_hex_norm();
	test_pcy();
	t_rmtree(dir);
	return t_done();
}
