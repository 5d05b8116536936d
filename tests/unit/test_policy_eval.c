/*
 * test_policy_eval.c PKI_DIR POLICIES_DIR: policy_eval over a synthetic
 * identity (every field and operator), rule semantics, set headers,
 * regex limits, prefilters, threads, the shipped policies, and real
 * certificates through identity_fields_load.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#define POLICY_INTERNAL			/* prefilters: formed, detached */
#include "err.h"
#include "identity.h"
#include "policy.h"
#include "t.h"

#define FP_ALICE \
	"00ab" "0000000000000000000000000000000000000000000000000000000000" "ff"

static char		 dir[256];
static const char	*pki, *pdir;

static const struct policy_attr subj_attrs[] = {
	{ "DC", "org" }, { "DC", "example" }, { "C", "DE" },
	{ "O", "Example Corp" }, { "OU", "Engineering" }, { "OU", "Admins" },
	{ "CN", "dev-0123456789abcdef" }, { "emailAddress", "ops@example.com" },
	{ "1.2.3.4.5", "custom" }, { "ST", "Baden-W\\C3\\BCrttemberg" },
};
static const struct policy_attr iss_attrs[] = {
	{ "O", "Example Corp" }, { "CN", "Devices CA" },
};
static const char *const dns[] = { "api.example.com", "www.example.com" };
static const char *const emails[] = { "alice@example.com" };
static const char *const uris[] = { "spiffe://example.org/ns/prod/sa/alice" };
static const char *const ips[] = { "192.0.2.1", "2001:db8::1" };
static const char *const ekus[] = { "clientAuth", "1.3.6.1.4.1.99999.1" };
static const char *const pols[] = { "2.5.29.32.0", "1.3.6.1.4.1.99999.2.1" };

static const char *const upns[] = { "dave@corp.example.com" };
static const char *const fascns[] = {
	"d4e739da739ced39ce739d836858210842108421c84210c3eb" };
static const char *const uuids[] = { "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" };

static struct policy_identity	 ident;
static const struct policy_request req = { "GET", "/admin/users",
    "API.Example.com" };

static void
ident_init(void)
{
	memset(&ident, 0, sizeof(ident));
	ident.subject = "CN=dev-0123456789abcdef,OU=Admins,OU=Engineering,"
	    "O=Example Corp,C=DE";
	ident.issuer = "CN=Devices CA,O=Example Corp";
	ident.serial = "0A1B2C";
	ident.fingerprint = FP_ALICE;
	ident.subject_attrs = subj_attrs;
	ident.nsubject_attrs = sizeof(subj_attrs) / sizeof(subj_attrs[0]);
	ident.issuer_attrs = iss_attrs;
	ident.nissuer_attrs = 2;
	ident.san_dns = dns;
	ident.nsan_dns = 2;
	ident.san_email = emails;
	ident.nsan_email = 1;
	ident.san_uri = uris;
	ident.nsan_uri = 1;
	ident.san_ip = ips;
	ident.nsan_ip = 2;
	ident.san_upn = upns;
	ident.nsan_upn = 1;
	ident.san_fascn = fascns;
	ident.nsan_fascn = 1;
	ident.san_uuid = uuids;
	ident.nsan_uuid = 1;
	ident.eku = ekus;
	ident.neku = 2;
	ident.policy_oids = pols;
	ident.npolicy_oids = 2;
	ident.days_left = 20;
}

static struct policy *
load(const char *name, const char *text)
{
	struct policy	*p = NULL;
	char		 path[512], *errs = NULL;
	size_t		 len;
	FILE		*f;

	t_write(dir, name, text, strlen(text), path, sizeof(path));
	f = open_memstream(&errs, &len);
	if (policy_load(path, f, &p) != 0) {
		fclose(f);
		fprintf(stderr, "cannot load %s: %s\n", T_STR(text), errs);
		exit(2);
	}
	fclose(f);
	free(errs);
	return p;
}

/* One condition, true or false, against ident and req. */
struct cond_case {
	const char	*cond;
	int		 want;
};

static const struct cond_case cond_cases[] = {
	/* whole DNs */
	{ "subject == \"CN=dev-0123456789abcdef,OU=Admins,OU=Engineering,"
	  "O=Example Corp,C=DE\"", 1 },
	{ "subject == \"CN=dev-0123456789abcdef\"", 0 },
	{ "subject != \"CN=x\"", 1 },
	{ "subject ~ \"^CN=dev-\"", 1 },
	{ "subject ~ \"^cn=dev-\"", 0 },
	{ "subject ~ \"(?i)^cn=dev-\"", 1 },
	{ "subject prefix \"CN=dev\"", 1 },
	{ "issuer == \"CN=Devices CA,O=Example Corp\"", 1 },
	{ "issuer prefix \"O=\"", 0 },
	/* attributes, multi-valued */
	{ "subject.CN == \"dev-0123456789abcdef\"", 1 },
	{ "subject.CN ~ \"^dev-[0-9a-f]{16}$\"", 1 },
	{ "subject.OU == \"Admins\"", 1 },
	{ "subject.OU == \"Engineering\"", 1 },
	{ "subject.OU == \"Sales\"", 0 },
	{ "subject.OU != \"Sales\"", 1 },
	{ "subject.OU != \"Admins\"", 0 },
	{ "subject.OU ~ \"^Eng\"", 1 },
	{ "subject.OU prefix \"Adm\"", 1 },
	{ "subject.O prefix \"Example\"", 1 },
	{ "subject.C == \"DE\"", 1 },
	{ "subject.DC == \"org\"", 1 },
	{ "subject.DC == \"example\"", 1 },
	{ "subject.emailAddress == \"ops@example.com\"", 1 },
	{ "subject.1.2.3.4.5 == \"custom\"", 1 },
	{ "subject.commonName == \"dev-0123456789abcdef\"", 1 },
	{ "subject.2.5.4.3 == \"dev-0123456789abcdef\"", 1 },
	/* UTF-8 literals are compared as the value is held (sanitised) */
	{ "subject.ST == \"Baden-W\xC3\xBCrttemberg\"", 1 },
	{ "subject.ST == \"Baden-W\\\\C3\\\\BCrttemberg\"", 1 },
	{ "subject.ST prefix \"Baden-W\xC3\xBC\"", 1 },
	{ "subject.ST != \"Baden-W\xC3\xBCrttemberg\"", 0 },
	{ "subject.ST == \"Baden-W\xC3\xBC\"", 0 },
	{ "subject.ST ~ \"^Baden-W\\\\\\\\C3\\\\\\\\BCrtt\"", 1 },
	{ "subject.L == \"Berlin\"", 0 },
	{ "subject.L != \"Berlin\"", 1 },	/* no value equals */
	{ "subject.L ~ \"\"", 0 },
	{ "issuer.CN == \"Devices CA\"", 1 },
	{ "issuer.CN == \"dev-0123456789abcdef\"", 0 },
	{ "issuer.OU == \"Admins\"", 0 },
	/* serial and fingerprint: hex compared without case, ':' or 0s */
	{ "serial == \"0A1B2C\"", 1 },
	{ "serial == \"a1b2c\"", 1 },
	{ "serial == \"00:0a:1b:2c\"", 1 },
	{ "serial == \"0A1B2D\"", 0 },
	{ "serial != \"0A1B2D\"", 1 },
	{ "serial ~ \"^0A\"", 1 },
	{ "serial prefix \"0A1\"", 1 },
	{ "serial prefix \"0a1\"", 0 },
	/* the same 256-bit value without its leading zero octet */
	{ "fingerprint == \"AB" "0000000000000000000000000000000000000000000"
	  "000000000000000" "FF\"", 1 },
	{ "fingerprint ~ \"^00ab\"", 1 },
	{ "fingerprint == \"ab\"", 0 },
	{ "fingerprint in hexes", 1 },
	{ "serial in hexes", 1 },
	{ "serial in others", 0 },
	{ "fingerprint in others", 0 },
	{ "not serial in others", 1 },
	/* SANs */
	{ "san.dns == \"api.example.com\"", 1 },
	{ "san.dns == \"WWW.Example.COM\"", 1 },
	{ "san.dns == \"other.example.com\"", 0 },
	{ "san.dns != \"other.example.com\"", 1 },
	{ "san.dns ~ \"^www\\.\"", 1 },
	{ "san.dns prefix \"API.\"", 1 },
	{ "san.email == \"alice@example.com\"", 1 },
	{ "san.email == \"ALICE@example.com\"", 0 },
	{ "san.uri prefix \"spiffe://example.org/ns/prod/\"", 1 },
	{ "san.uri ~ \"^spiffe://example\\.org/ns/prod/\"", 1 },
	{ "san.uri ~ \"/ns/dev/\"", 0 },
	{ "san.ip == \"192.0.2.1\"", 1 },
	{ "san.ip == \"2001:0db8:0:0::0001\"", 1 },
	{ "san.ip == \"192.0.2.2\"", 0 },
	{ "san.ip prefix \"192.0.2.\"", 1 },
	{ "san.ip ~ \"^2001:db8:\"", 1 },
	/* smart cards: FASC-N and UUID literals are lowercased at load */
	{ "san.upn == \"dave@corp.example.com\"", 1 },
	{ "san.upn == \"DAVE@corp.example.com\"", 0 },
	{ "san.upn ~ \"@corp\\.example\\.com$\"", 1 },
	{ "san.fascn == \"D4E739DA739CED39CE739D836858210842108421C84210C3EB\"", 1 },
	{ "san.fascn prefix \"d4e739da\"", 1 },
	{ "san.fascn prefix \"D4E7\"", 1 },
	{ "san.uuid prefix \"F81D4FAE-\"", 1 },
	{ "san.fascn == \"d4e739da739ced39ce739d836858210842108421c84210c3ec\"", 0 },
	{ "san.uuid == \"F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6\"", 1 },
	{ "san.uuid == \"f81d4fae-7dec-11d0-a765-00a0c91e6bf7\"", 0 },
	/* EKU and policies */
	{ "eku == \"clientAuth\"", 1 },
	{ "eku == \"1.3.6.1.5.5.7.3.2\"", 1 },
	{ "eku == \"TLS Web Client Authentication\"", 1 },
	{ "eku == \"serverAuth\"", 0 },
	{ "eku != \"serverAuth\"", 1 },
	{ "eku == \"1.3.6.1.4.1.99999.1\"", 1 },
	{ "policy_oid == \"2.5.29.32.0\"", 1 },
	{ "policy_oid prefix \"1.3.6.1.4.1.99999.\"", 1 },
	{ "policy_oid == \"1.2.3\"", 0 },
	/* days_left = 20 */
	{ "days_left == 20", 1 }, { "days_left != 20", 0 },
	{ "days_left < 30", 1 }, { "days_left < 20", 0 },
	{ "days_left <= 20", 1 }, { "days_left <= 19", 0 },
	{ "days_left > 19", 1 }, { "days_left > 20", 0 },
	{ "days_left >= 20", 1 }, { "days_left >= 21", 0 },
	{ "days_left > -5", 1 },
	/* request */
	{ "method == \"GET\"", 1 },
	{ "method == \"get\"", 0 },
	{ "method != \"POST\"", 1 },
	{ "path prefix \"/admin/\"", 1 },
	{ "path prefix \"/Admin/\"", 0 },
	{ "path == \"/admin/users\"", 1 },
	{ "path ~ \"^/admin/(users|groups)$\"", 1 },
	{ "host == \"api.example.com\"", 1 },
	{ "host prefix \"api.\"", 1 },
	/* logic: not > and > or, parentheses */
	{ "true", 1 },
	{ "not true", 0 },
	{ "not not true", 1 },
	{ "not subject.OU == \"Sales\"", 1 },
	{ "subject.OU == \"Sales\" or subject.OU == \"Admins\"", 1 },
	{ "subject.OU == \"Admins\" and subject.OU == \"Sales\"", 0 },
	{ "subject.OU == \"Sales\" and method == \"PUT\" or true", 1 },
	{ "subject.OU == \"Sales\" and (method == \"PUT\" or true)", 0 },
	{ "true or subject.OU == \"Sales\" and method == \"PUT\"", 1 },
	{ "(true or subject.OU == \"Sales\") and method == \"PUT\"", 0 },
	{ "not true or true", 1 },
	{ "not (true or true)", 0 },
	{ "not true and true", 0 },
	{ "not (method == \"PUT\" and true)", 1 },
	{ "method == \"PUT\" or method == \"POST\" or method == \"GET\"", 1 },
	{ "true and true and true and method == \"PUT\"", 0 },
};

static void
test_conditions(void)
{
	struct policy_decision	 d;
	struct policy		*p;
	char			 text[1024], path[512];
	size_t			 i;

	snprintf(text, sizeof(text), "# test\n%s\n0a1b2c\n",
	    "00:AB:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
	    "00:00:00:00:00:00:00:00:00:00:FF");
	t_write(dir, "hexes.txt", text, strlen(text), path, sizeof(path));
	t_write(dir, "others.txt", "ffff\n1\n", 7, path, sizeof(path));
	for (i = 0; i < sizeof(cond_cases) / sizeof(cond_cases[0]); i++) {
		snprintf(text, sizeof(text), "list hexes file \"hexes.txt\"\n"
		    "list others file \"others.txt\"\n"
		    "ruleset default {\n  allow %s\n}\n", cond_cases[i].cond);
		p = load("cond.policy", text);
		policy_eval(p, NULL, &ident, &req, &d);
		CHECK(d.allow == cond_cases[i].want && strcmp(d.reason,
		    cond_cases[i].want ? "ok" : "no-matching-rule") == 0,
		    "condition %s: expected %d, got %d (%s)",
		    cond_cases[i].cond, cond_cases[i].want, d.allow, d.reason);
		policy_free(&p);
	}
}

/* A request without method, path, host: only != holds. */
static void
test_null_request(void)
{
	static const struct cond_case cases[] = {
		{ "path prefix \"/\"", 0 }, { "path ~ \"\"", 0 },
		{ "method == \"GET\"", 0 }, { "host != \"x\"", 1 },
	};
	struct policy_request	 empty = { NULL, NULL, NULL };
	struct policy_decision	 d;
	struct policy		*p;
	char			 text[512];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "ruleset default {\n  allow %s\n}\n",
		    cases[i].cond);
		p = load("null.policy", text);
		policy_eval(p, NULL, &ident, &empty, &d);
		CHECK(d.allow == cases[i].want, "NULL request, %s: expected %d",
		    cases[i].cond, cases[i].want);
		policy_eval(p, NULL, &ident, NULL, &d);
		CHECK(d.allow == cases[i].want, "no request, %s: expected %d",
		    cases[i].cond, cases[i].want);
		policy_free(&p);
	}
}

/* Rule order, reasons, rule-set selection. */
static void
test_rules(void)
{
	static const char text[] =
	    "ruleset default {\n"				/* 1 */
	    "  deny subject.OU == \"Sales\" reason \"sales\"\n"	/* 2 */
	    "  deny path prefix \"/admin/\" and method == \"DELETE\"\n" /* 3 */
	    "  deny subject.OU == \"Admins\"\n"			/* 4 */
	    "       reason \"first-match\"\n"			/* 5 */
	    "  allow true\n"					/* 6 */
	    "}\n"
	    "ruleset api {\n"					/* 8 */
	    "  allow path prefix \"/api/\"\n"			/* 9 */
	    "}\n";
	static const struct {
		const char	*ruleset, *method, *path;
		int		 allow;
		const char	*reason;
		int		 line;
		enum policy_outcome outcome;
	} cases[] = {
		{ NULL, "GET", "/", 0, "first-match", 4, POLICY_DENIED },
		{ "", "GET", "/", 0, "first-match", 4, POLICY_DENIED },
		{ "default", "DELETE", "/admin/x", 0, "policy-deny", 3,
		    POLICY_DENIED },
		{ "api", "GET", "/api/v1", 1, "ok", 9, POLICY_ALLOWED },
		{ "api", "GET", "/web", 0, "no-matching-rule", 0,
		    POLICY_NO_MATCH },
		{ "nope", "GET", "/api/v1", 0, "policy-deny", 0,
		    POLICY_NO_RULESET },
		{ "API", "GET", "/api/v1", 0, "policy-deny", 0,
		    POLICY_NO_RULESET },
	};
	struct policy_request	 rq;
	struct policy_decision	 d;
	struct policy		*p = load("rules.policy", text);
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq.method = cases[i].method;
		rq.path = cases[i].path;
		rq.host = NULL;
		policy_eval(p, cases[i].ruleset, &ident, &rq, &d);
		CHECK(d.allow == cases[i].allow && strcmp(d.reason,
		    cases[i].reason) == 0 && d.line == cases[i].line &&
		    (d.line == 0) == (d.file == NULL) && d.nheaders == 0 &&
		    d.outcome == cases[i].outcome,
		    "rules %s %s %s: expected %d %s line %d outcome %d, got %d "
		    "%s line %d outcome %d", T_STR(cases[i].ruleset),
		    cases[i].method, cases[i].path, cases[i].allow,
		    cases[i].reason, cases[i].line, (int)cases[i].outcome,
		    d.allow, d.reason, d.line, (int)d.outcome);
	}
	CHECK(policy_has_ruleset(p, NULL) && policy_has_ruleset(p, "api") &&
	    !policy_has_ruleset(p, "nope"), "has_ruleset");
	CHECK(policy_rulesets(p) == 2 && policy_rules(p) == 5, "counts");
	policy_free(&p);
}

/* set headers: first value, sanitised, absent fields left out. */
static void
test_set_headers(void)
{
	static const char text[] =
	    "ruleset default {\n"
	    "  allow method == \"GET\"\n"
	    "        set X-Device-Id = subject.CN\n"
	    "        set X-Unit = subject.OU\n"
	    "        set X-Days = days_left\n"
	    "        set X-Path = path\n"
	    "        set X-City = subject.L\n"
	    "        set X-Ip = san.ip\n"
	    "}\n";
	struct policy_request	 rq = { "GET", "/a\r\nX-Evil: 1\x7f\xc3\xa9",
	    NULL };
	struct policy_decision	 d;
	struct policy		*p = load("set.policy", text);
	char			 longpath[3000];

	policy_eval(p, NULL, &ident, &rq, &d);
	CHECK(d.allow && d.nheaders == 5, "set: %zu headers", d.nheaders);
	if (d.nheaders == 5) {
		CHECK(strcmp(d.headers[0].name, "X-Device-Id") == 0 &&
		    strcmp(d.headers[0].value, "dev-0123456789abcdef") == 0,
		    "set X-Device-Id: %s", d.headers[0].value);
		CHECK(strcmp(d.headers[1].value, "Engineering") == 0,
		    "set X-Unit first value: %s", d.headers[1].value);
		CHECK(strcmp(d.headers[2].value, "20") == 0, "set X-Days: %s",
		    d.headers[2].value);
		CHECK(strcmp(d.headers[3].value,
		    "/a\\0D\\0AX-Evil: 1\\7F\\C3\\A9") == 0,
		    "set X-Path sanitised: %s", T_STR(d.headers[3].value));
		CHECK(strcmp(d.headers[4].name, "X-Ip") == 0 &&
		    strcmp(d.headers[4].value, "192.0.2.1") == 0,
		    "set X-Ip after an absent field: %s %s",
		    d.headers[4].name, d.headers[4].value);
	}
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	rq.path = longpath;
	policy_eval(p, NULL, &ident, &rq, &d);
	CHECK(d.nheaders == 5 && strlen(d.headers[3].value) ==
	    POLICY_HEADER_VALUE_MAX - 1 && strcmp(d.headers[3].value +
	    POLICY_HEADER_VALUE_MAX - 4, "...") == 0, "set: long value cut");
	/* a deny never carries headers */
	rq.method = "POST";
	policy_eval(p, NULL, &ident, &rq, &d);
	CHECK(!d.allow && d.nheaders == 0, "set: no headers on deny");
	policy_free(&p);
}

/*
 * A catastrophic regex hits the match limit: counted, no crash, and the
 * request is denied as policy-error at that rule, whatever comes after
 * (with "not" around it, a limit error must not turn into an allow).
 */
static void
test_match_limit(void)
{
	struct policy_identity	 id = ident;
	struct policy_decision	 d;
	struct policy		*p;
	char			 evil[64];
	const char		*uri[1];

	p = load("limit.policy", "ruleset default {\n"
	    "  allow san.uri ~ \"^(a+)+$\"\n"
	    "  deny true reason \"fell-through\"\n}\n");
	memset(evil, 'a', sizeof(evil) - 2);
	evil[sizeof(evil) - 2] = 'b';
	evil[sizeof(evil) - 1] = '\0';
	uri[0] = evil;
	id.san_uri = uri;
	id.nsan_uri = 1;
	policy_eval(p, NULL, &id, &req, &d);
	CHECK(!d.allow && strcmp(d.reason, "policy-error") == 0 &&
	    d.line == 2 && policy_match_errors(p) == 1,
	    "match limit: %d %s line %d, %lu errors", d.allow, d.reason,
	    d.line, policy_match_errors(p));
	evil[sizeof(evil) - 2] = 'a';
	policy_eval(p, NULL, &id, &req, &d);
	CHECK(d.allow, "match limit: the matching input still matches");
	policy_free(&p);

	p = load("limit-not.policy", "ruleset default {\n"
	    "  deny  not (san.uri ~ \"^(a+)+$\") reason \"odd\"\n"
	    "  allow true\n}\n");
	evil[sizeof(evil) - 2] = 'b';
	policy_eval(p, NULL, &id, &req, &d);
	CHECK(!d.allow && strcmp(d.reason, "policy-error") == 0 &&
	    d.line == 2, "match limit under not: %d %s line %d", d.allow,
	    d.reason, d.line);
	policy_free(&p);
}

static int
same_decision(const struct policy_decision *a, const struct policy_decision *b)
{
	size_t	 i;

	if (a->allow != b->allow || a->outcome != b->outcome ||
	    strcmp(a->reason, b->reason) != 0 || a->line != b->line ||
	    a->nheaders != b->nheaders)
		return 0;
	for (i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
		    strcmp(a->headers[i].value, b->headers[i].value) != 0)
			return 0;
	return 1;
}

/*
 * Which regexes join a prefilter: plain ones do, each construct whose
 * meaning would change inside an alternation does not (then the policy
 * has no prefilter: one plain regex is left).  Both ways decide alike.
 */
static void
test_prefilter_plain(void)
{
	static const struct {
		const char	*re;
		int		 plain;
	} cases[] = {
		{ "^/api/v[0-9]+/", 1 },
		{ "(?i)^/API/", 1 },
		{ "(?i:/x)|/y", 1 },
		{ "(?m-s)^/z$", 1 },
		{ "(?)/e", 1 },
		{ "(?<=/)admin(?!x)(?=/|$)", 1 },
		{ "(?>/a+)b|/c++d", 1 },
		{ "[(]\\.x", 1 },
		{ "(a)\\\\1", 0 },		/* backreference */
		{ "(a)\\\\g1", 0 },
		{ "(?<n>a)\\\\k<n>", 0 },
		{ "(?P<n>a)(?P=n)", 0 },
		{ "a(*COMMIT)b", 0 },		/* verbs */
		{ "a(*SKIP)(*FAIL)|b", 0 },
		{ "(*UTF)a", 0 },		/* start-of-pattern option */
		{ "(?x)a # b", 0 },		/* extended: '#' comments */
		{ "(?ix:a)", 0 },
		{ "(?^x)a", 0 },
		{ "\\\\Qa", 0 },		/* quotes to the end */
		{ "(?<n>a)", 0 },		/* named groups */
		{ "(?'n'a)", 0 },
		{ "(a)(?1)", 0 },		/* subroutines, recursion */
		{ "(a)(?-1)", 0 },
		{ "(a)(?+1)(b)", 0 },
		{ "a(?R)?b", 0 },
		{ "(?<n>a)(?&n)", 0 },
		{ "(a)?(?(1)b|c)", 0 },		/* condition on a group */
		{ "a\\\\Kb", 0 },		/* \K */
		{ "\\\\Ga", 0 },		/* \G */
		{ "(?C1)a", 0 },		/* callout */
		{ "(?|(a)|(b))", 0 },		/* branch reset */
		{ "(?#c)a", 0 },		/* comment */
		{ "a\\\\11", 0 },		/* octal alone, a reference with 11 groups */
	};
	struct policy_request	 rq = { "GET", NULL, NULL };
	struct policy_decision	 d, e;
	struct policy		*p, *q;
	char			 text[512];
	size_t			 i, j, n, members;
	static const char *const paths[] = { "/api/v1/x", "/API/v2/", "/a",
	    "/zz", "aab", "admin" };

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "ruleset default {\n"
		    "  deny path ~ \"^/plain/\" reason \"plain\"\n"
		    "  deny path ~ \"%s\" reason \"it\"\n"
		    "  allow true\n}\n", cases[i].re);
		p = load("plain.policy", text);
		q = load("plain.policy", text);
		policy_prefilters_detach(q);
		n = policy_prefilters(p, &members);
		CHECK(cases[i].plain ? n == 1 && members == 2 : n == 0,
		    "prefilter with %s: expected %s, got %zu (%zu members)",
		    cases[i].re, cases[i].plain ? "one" : "none", n, members);
		for (j = 0; j < sizeof(paths) / sizeof(paths[0]); j++) {
			rq.path = paths[j];
			policy_eval(p, NULL, &ident, &rq, &d);
			policy_eval(q, NULL, &ident, &rq, &e);
			CHECK(same_decision(&d, &e), "prefilter with %s, path %s: "
			    "%s line %d, alone %s line %d", cases[i].re,
			    paths[j], d.reason, d.line, e.reason, e.line);
		}
		policy_free(&p);
		policy_free(&q);
	}
}

/*
 * A prefilter changes no decision: refused members next to grouped ones
 * (a(*COMMIT)b in an alternation would fail "ac/deny" as a whole, so a
 * naive one would skip the deny on line 3 and allow), first match wins,
 * a value matched only by a field's second value, "not", (?i) beside a
 * case-sensitive member, anchors, a limit inside a prefilter.  Each case
 * is compared with the same policy without prefilters too.
 */
static void
test_prefilter_eval(void)
{
	static const char text[] =
	    "ruleset default {\n"					/* 1 */
	    "  deny  path ~ \"a(*COMMIT)b\" reason \"commit\"\n"	/* 2 */
	    "  deny  path ~ \"/deny\" reason \"deny\"\n"		/* 3 */
	    "  deny  path ~ \"^/admin$\" reason \"admin\"\n"		/* 4 */
	    "  allow san.dns ~ \"^www\\\\.\" and path ~ \"^/www/\"\n"	/* 5 */
	    "  deny  san.dns ~ \"^evil\\\\.\" reason \"evil\"\n"	/* 6 */
	    "  deny  san.email ~ \"^root@\" reason \"root\"\n"		/* 7 */
	    "  deny  not san.email ~ \"@example\\\\.com$\" reason \"foreign\"\n"
	    "  deny  subject.CN ~ \"(?i)^DEV-\" and path ~ \"^/ci/\" "	/* 9 */
	    "reason \"ci\"\n"
	    "  deny  subject.CN ~ \"^DEV-\" reason \"case\"\n"		/* 10 */
	    "  allow path ~ \"^/ok$\" or path ~ \"^/ok/[0-9]+$\"\n"	/* 11 */
	    "  allow true\n"						/* 12 */
	    "}\n";
	static const struct policy_attr	 upper[] = { { "CN", "DEV-1" } };
	static const char *const	 bob[] = { "bob@other.org" };
	static const char *const	 root[] = { "root@example.com" };
	static const char *const	 evil[] = { "api.example.com",
	    "evil.example.com" };
	static const struct {
		const char	*path;
		int		 who;	/* 0 ident, 1 CN DEV-1, 2 bob, 3 root,
					   4 evil.example.com 2nd */
		int		 allow, line;
	} cases[] = {
		{ "ac/deny", 0, 0, 3 },
		{ "/admin", 0, 0, 4 },
		{ "/admin/x", 0, 1, 12 },
		{ "/xadmin", 0, 1, 12 },
		{ "/www/x", 0, 1, 5 },
		{ "/www/x", 4, 0, 6 },
		{ "/x", 3, 0, 7 },
		{ "/x", 2, 0, 8 },
		{ "/ci/build", 0, 0, 9 },
		{ "/ci/build", 1, 0, 9 },
		{ "/x", 1, 0, 10 },
		{ "/ok", 0, 1, 11 },
		{ "/ok/12", 0, 1, 11 },
		{ "/ok/12x", 0, 1, 12 },
		{ "/x", 0, 1, 12 },
	};
	struct policy_request	 rq = { "GET", NULL, NULL };
	struct policy_identity	 id;
	struct policy_decision	 d, e;
	struct policy		*p = load("pfeval.policy", text);
	struct policy		*q = load("pfeval.policy", text);
	size_t			 i, n, members;
	const char		*u[1];
	char			 bad[64];

	policy_prefilters_detach(q);
	n = policy_prefilters(p, &members);
	/*
	 * path leading its rule (3, 4, 11) and after another comparison (5,
	 * 9, 11), san.dns, san.email, subject.CN
	 */
	CHECK(n == 5 && members == 12, "prefilters: %zu, %zu members", n,
	    members);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		id = ident;
		if (cases[i].who == 1) {
			id.subject_attrs = upper;
			id.nsubject_attrs = 1;
		} else if (cases[i].who == 2 || cases[i].who == 3) {
			id.san_email = cases[i].who == 2 ? bob : root;
		} else if (cases[i].who == 4)
			id.san_dns = evil;
		rq.path = cases[i].path;
		policy_eval(p, NULL, &id, &rq, &d);
		policy_eval(q, NULL, &id, &rq, &e);
		CHECK(d.allow == cases[i].allow && d.line == cases[i].line &&
		    same_decision(&d, &e), "prefilter eval %s (%d): expected "
		    "%d line %d, got %d line %d (%s); alone %d line %d",
		    cases[i].path, cases[i].who, cases[i].allow, cases[i].line,
		    d.allow, d.line, d.reason, e.allow, e.line);
	}
	policy_free(&p);
	policy_free(&q);

	/* A limit inside a prefilter is the member's own error again. */
	p = load("pflimit.policy", "ruleset default {\n"
	    "  allow san.uri ~ \"^(a+)+$\"\n"
	    "  allow san.uri ~ \"^x\"\n"
	    "  deny true reason \"fell-through\"\n}\n");
	memset(bad, 'a', sizeof(bad) - 2);
	bad[sizeof(bad) - 2] = 'b';
	bad[sizeof(bad) - 1] = '\0';
	u[0] = bad;
	id = ident;
	id.san_uri = u;
	id.nsan_uri = 1;
	policy_eval(p, NULL, &id, &req, &d);
	CHECK(policy_prefilters(p, NULL) == 1 && !d.allow &&
	    d.outcome == POLICY_UNDECIDABLE && d.line == 2 &&
	    policy_match_errors(p) == 1, "limit in a prefilter: %d %s line "
	    "%d, %lu errors", d.allow, d.reason, d.line,
	    policy_match_errors(p));
	policy_free(&p);
}

/*
 * The prefilter is what runs: one match when no member matches, else the
 * prefilter and then the members themselves.
 */
static void
test_prefilter_used(void)
{
	static const struct {
		const char	*path;
		size_t		 matches, alone;
		int		 line;
	} cases[] = {
		{ "/x", 1, 3, 5 },	/* the prefilter alone */
		{ "/b/1", 3, 2, 3 },	/* the prefilter, ^/a/, ^/b/ */
		{ "/c/", 4, 3, 4 },
	};
	static const char text[] = "ruleset default {\n"
	    "  deny path ~ \"^/a/\"\n"
	    "  deny path ~ \"^/b/\"\n"
	    "  deny path ~ \"^/c/\"\n"
	    "  allow true\n}\n";
	struct policy_request	 rq = { "GET", NULL, NULL };
	struct policy_decision	 d, e;
	struct policy		*p = load("pfused.policy", text);
	struct policy		*q = load("pfused.policy", text);
	size_t			 i;

	policy_prefilters_detach(q);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq.path = cases[i].path;
		policy_eval(p, NULL, &ident, &rq, &d);
		policy_eval(q, NULL, &ident, &rq, &e);
		CHECK(d.nmatches == cases[i].matches && d.line ==
		    cases[i].line && e.nmatches == cases[i].alone &&
		    same_decision(&d, &e), "prefilter used, %s: %zu matches "
		    "line %d, alone %zu line %d", cases[i].path, d.nmatches,
		    d.line, e.nmatches, e.line);
	}
	policy_free(&p);
	policy_free(&q);

	/*
	 * A broad regex after another comparison has a prefilter apart:
	 * beside ^/a/ and ^/b/, ^/ would match every path.  Two matches:
	 * the leading path prefilter, the method one.
	 */
	p = load("pfbroad.policy", "ruleset default {\n"
	    "  deny path ~ \"^/a/\"\n"
	    "  deny path ~ \"^/b/\"\n"
	    "  deny method ~ \"^POST$\" and path ~ \"^/\"\n"
	    "  deny method ~ \"^PUT$\" and path ~ \"/\"\n"
	    "  allow true\n}\n");
	rq.path = "/x";
	policy_eval(p, NULL, &ident, &rq, &d);
	CHECK(policy_prefilters(p, NULL) == 3 && d.nmatches == 2 &&
	    d.allow && d.line == 6, "broad regex apart: %zu prefilters, "
	    "%zu matches, line %d", policy_prefilters(p, NULL), d.nmatches,
	    d.line);
	policy_free(&p);
}

/* Many threads on one policy: same answers, no races (TSan/ASan). */
struct thr {
	const struct policy	*p;
	int			 bad;
};

static void *
thr_run(void *arg)
{
	struct thr		*t = arg;
	struct policy_decision	 d;
	int			 i;

	for (i = 0; i < 2000; i++) {
		policy_eval(t->p, NULL, &ident, &req, &d);
		if (!d.allow || d.nheaders != 1)
			t->bad++;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct policy	*p = load("thr.policy", "ruleset default {\n"
	    "  deny subject.CN ~ \"^x\" or san.uri ~ \"/dev/\"\n"
	    "  allow subject.CN ~ \"^dev-[0-9a-f]{16}$\" set X-Id = subject.CN\n"
	    "}\n");
	struct thr	 t[4];
	pthread_t	 tid[4];
	int		 i, bad = 0;

	for (i = 0; i < 4; i++) {
		t[i].p = p;
		t[i].bad = 0;
		pthread_create(&tid[i], NULL, thr_run, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		bad += t[i].bad;
	}
	CHECK(bad == 0, "threads: %d wrong decisions", bad);
	policy_free(&p);
}

static X509 *
load_cert(const char *name)
{
	char	 path[512];
	FILE	*f;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((f = fopen(path, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		exit(2);
	}
	fclose(f);
	return x;
}

/* identity_fields_load on a fixture; caller cleans up f. */
static void
fixture_fields(const char *name, time_t at, struct identity_fields *f)
{
	X509		*x = load_cert(name);
	unsigned char	*der = NULL, md[IDENTITY_SHA256_LEN];
	int		 n = i2d_X509(x, &der);

	if (n <= 0 || identity_sha256(der, (size_t)n, md) != 0 ||
	    identity_fields_load(x, md, at, f) != 0) {
		fprintf(stderr, "cannot extract %s\n", name);
		exit(2);
	}
	OPENSSL_free(der);
	X509_free(x);
}

static void
test_fields(void)
{
	struct identity_fields	 f;
	size_t			 i;
	int			 cn = 0, ou = 0, o = 0;
	time_t			 now = time(NULL);

	fixture_fields("client.pem", now, &f);
	for (i = 0; i < f.nsubject_attrs; i++) {
		cn += strcmp(f.subject_attrs[i].type, "CN") == 0 &&
		    strcmp(f.subject_attrs[i].value, "alice") == 0;
		ou += strcmp(f.subject_attrs[i].type, "OU") == 0 &&
		    strcmp(f.subject_attrs[i].value, "Engineering") == 0;
		o += strcmp(f.subject_attrs[i].type, "O") == 0 &&
		    strcmp(f.subject_attrs[i].value, "Example Corp") == 0;
	}
	CHECK(f.nsubject_attrs == 3 && cn == 1 && ou == 1 && o == 1,
	    "alice: subject attributes (%zu)", f.nsubject_attrs);
	CHECK(f.nissuer_attrs == 2 && strcmp(f.issuer_attrs[1].type, "CN") ==
	    0 && strcmp(f.issuer_attrs[1].value, "authd Test Intermediate CA")
	    == 0, "alice: issuer attributes");
	CHECK(f.nsan_email == 1 && strcmp(f.san_email[0],
	    "alice@example.com") == 0, "alice: san.email");
	CHECK(f.nsan_uri == 1 && strcmp(f.san_uri[0],
	    "spiffe://example.org/ns/prod/sa/alice") == 0, "alice: san.uri");
	CHECK(f.nsan_dns == 0 && f.nsan_ip == 0, "alice: no dns/ip SANs");
	CHECK(f.neku == 1 && strcmp(f.eku[0], "clientAuth") == 0,
	    "alice: eku %s", f.neku ? f.eku[0] : "(none)");
	CHECK(f.days_left >= 363 && f.days_left <= 365 && !f.truncated,
	    "alice: days_left %ld", f.days_left);
	identity_fields_cleanup(&f);

	/* days_left counts whole days, floor: -1 right after notAfter */
	fixture_fields("client.pem", 0, &f);
	{
		time_t	 na = f.id.not_after;

		identity_fields_cleanup(&f);
		fixture_fields("client.pem", na + 3600, &f);
		CHECK(f.days_left == -1, "days_left an hour after notAfter: %ld",
		    f.days_left);
		identity_fields_cleanup(&f);
		fixture_fields("client.pem", na - 3600, &f);
		CHECK(f.days_left == 0, "days_left an hour before notAfter: %ld",
		    f.days_left);
		identity_fields_cleanup(&f);
	}

	fixture_fields("server.pem", now, &f);
	CHECK(f.nsan_dns == 1 && strcmp(f.san_dns[0], "localhost") == 0 &&
	    f.nsan_ip == 1 && strcmp(f.san_ip[0], "127.0.0.1") == 0 &&
	    f.neku == 1 && strcmp(f.eku[0], "serverAuth") == 0,
	    "server: dns, ip, eku");
	identity_fields_cleanup(&f);

	fixture_fields("noeku.pem", now, &f);
	CHECK(f.neku == 0 && f.nsan_uri == 0, "carol: no eku, no SAN");
	identity_fields_cleanup(&f);
	identity_fields_cleanup(&f);	/* twice is fine */
}

/* The shipped example policy on the real fixtures. */
static void
test_example_real(void)
{
	static const struct {
		const char	*cert, *path;
		int		 allow, line;
		const char	*reason;
	} cases[] = {
		{ "client.pem", "/", 1, 9, "ok" },		/* SPIFFE prod */
		{ "client.pem", "/admin/", 0, 8, "policy-deny" },
		{ "client2.pem", "/admin/users", 1, 7, "ok" },	/* OU=Admins */
		{ "client2.pem", "/", 1, 9, "ok" },
		{ "noeku.pem", "/", 0, 0, "no-matching-rule" },
		{ "server.pem", "/admin/", 0, 8, "policy-deny" },
	};
	struct identity_fields	 f;
	struct policy_identity	 id;
	struct policy_request	 rq;
	struct policy_decision	 d;
	struct policy		*p = NULL;
	char			 path[512];
	size_t			 i;

	snprintf(path, sizeof(path), "%s/example.policy", pdir);
	if (policy_load(path, NULL, &p) != 0)
		exit(2);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_fields(cases[i].cert, time(NULL), &f);
		identity_fields_view(&f, &id);
		rq.method = "GET";
		rq.path = cases[i].path;
		rq.host = "localhost";
		policy_eval(p, NULL, &id, &rq, &d);
		CHECK(d.allow == cases[i].allow && d.line == cases[i].line &&
		    strcmp(d.reason, cases[i].reason) == 0, "example.policy %s "
		    "%s: expected %d line %d %s, got %d line %d %s",
		    cases[i].cert, cases[i].path, cases[i].allow, cases[i].line,
		    cases[i].reason, d.allow, d.line, d.reason);
		identity_fields_cleanup(&f);
	}
	policy_free(&p);
}

/* The other shipped policies, over variants of the synthetic identity. */
static void
test_shipped(void)
{
	static const struct {
		const char	*file, *ruleset;
		const char	*cn, *ou, *issuer_cn, *uri, *fp, *serial;
		const char	*method, *path;
		int		 allow;
		const char	*reason;
		const char	*header;	/* "Name=value" or NULL */
	} cases[] = {
		{ "admin-panel.policy", "admin", "bob", "Admins", NULL, NULL,
		  NULL, NULL, "POST", "/admin/users", 1, "ok",
		  "X-Admin-User=bob" },
		{ "admin-panel.policy", "admin", "alice", "Engineering", NULL,
		  NULL, NULL, NULL, "GET", "/admin/status", 1, "ok",
		  "X-Admin-User=alice" },
		{ "admin-panel.policy", "admin", "alice", "Engineering", NULL,
		  NULL, NULL, NULL, "POST", "/admin/status", 0, "not-an-admin",
		  NULL },
		{ "admin-panel.policy", NULL, "alice", "Engineering", NULL,
		  NULL, NULL, NULL, "GET", "/", 1, "ok", NULL },
		{ "spiffe.policy", NULL, NULL, NULL, NULL,
		  "spiffe://example.org/ns/prod/sa/billing", NULL, NULL, "GET",
		  "/api/v1", 1, "ok",
		  "X-Spiffe-Id=spiffe://example.org/ns/prod/sa/billing" },
		{ "spiffe.policy", NULL, NULL, NULL, NULL,
		  "spiffe://example.org/ns/dev/sa/billing", NULL, NULL, "GET",
		  "/api/v1", 0, "dev-workload", NULL },
		{ "spiffe.policy", NULL, NULL, NULL, NULL,
		  "spiffe://example.org/ns/prod/sa/Bad_Name", NULL, NULL, "GET",
		  "/api/v1", 0, "no-matching-rule", NULL },
		{ "spiffe.policy", "metrics", NULL, NULL, NULL,
		  "spiffe://example.org/ns/monitoring/sa/prometheus", NULL, NULL,
		  "GET", "/metrics", 1, "ok", NULL },
		{ "spiffe.policy", "metrics", NULL, NULL, NULL,
		  "spiffe://example.org/ns/prod/sa/billing", NULL, NULL,
		  "GET", "/metrics", 0, "no-matching-rule", NULL },
		{ "iot-fleet.policy", "ingest", "dev-0123456789abcdef", NULL,
		  "Devices CA", NULL, NULL, NULL, "POST", "/ingest/t", 1, "ok",
		  "X-Device-Id=dev-0123456789abcdef" },
		{ "iot-fleet.policy", "ingest", "dev-0123456789abcdef", NULL,
		  "Devices CA", NULL,
		  "3F1C9A0E5B7D2C4F6A8E0B1D3C5F7A9E1B3D5F7A9C1E3B5D7F9A1C3E5B7D9F1A",
		  NULL, "POST", "/ingest/t", 0, "reported-lost", NULL },
		{ "iot-fleet.policy", "ingest", "dev-0123456789abcdef", NULL,
		  "Devices CA", NULL,
		  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
		  NULL, "POST", "/ingest/t", 0, "reported-lost", NULL },
		{ "iot-fleet.policy", "ingest", "dev-0123456789abcdef", NULL,
		  "Devices CA", NULL, NULL, "7B22910E", "POST", "/ingest/t", 0,
		  "decommissioned", NULL },
		{ "iot-fleet.policy", "ingest", "dev-0123456789ABCDEF", NULL,
		  "Devices CA", NULL, NULL, NULL, "POST", "/ingest/t", 0,
		  "no-matching-rule", NULL },
		{ "iot-fleet.policy", "ingest", "dev-0123456789abcdef", NULL,
		  "Other CA", NULL, NULL, NULL, "POST", "/ingest/t", 0,
		  "no-matching-rule", NULL },
		{ "partners.policy", "partners", "jane", NULL,
		  "Globex Issuing CA 2", NULL, NULL, NULL, "GET",
		  "/partners/globex/orders", 1, "ok", "X-Partner=Globex" },
		{ "partners.policy", "partners", "jane", NULL,
		  "Globex Issuing CA 2", NULL, NULL, NULL, "GET",
		  "/partners/acme/orders", 0, "wrong-partner", NULL },
		{ "partners.policy", "partners", "jane", NULL, "Devices CA",
		  NULL, NULL, NULL, "GET", "/partners/globex/", 0,
		  "wrong-partner", NULL },
	};
	struct policy_attr	 sa[3], ia[2];
	struct policy_identity	 id;
	struct policy_request	 rq;
	struct policy_decision	 d;
	struct policy		*p;
	const char		*uri[1];
	char			 path[512], h[1200];
	size_t			 i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		id = ident;
		n = 0;
		sa[n].type = "O";
		sa[n++].value = "Example Corp";
		if (cases[i].ou != NULL) {
			sa[n].type = "OU";
			sa[n++].value = cases[i].ou;
		}
		if (cases[i].cn != NULL) {
			sa[n].type = "CN";
			sa[n++].value = cases[i].cn;
		}
		id.subject_attrs = sa;
		id.nsubject_attrs = n;
		ia[0].type = "O";
		ia[0].value = cases[i].issuer_cn != NULL &&
		    strncmp(cases[i].issuer_cn, "Globex", 6) == 0 ? "Globex" :
		    "Example Corp";
		ia[1].type = "CN";
		ia[1].value = cases[i].issuer_cn != NULL ? cases[i].issuer_cn :
		    "Example CA";
		id.issuer_attrs = ia;
		id.nissuer_attrs = 2;
		uri[0] = cases[i].uri;
		id.san_uri = uri;
		id.nsan_uri = cases[i].uri != NULL;
		if (cases[i].fp != NULL)
			id.fingerprint = cases[i].fp;
		if (cases[i].serial != NULL)
			id.serial = cases[i].serial;
		rq.method = cases[i].method;
		rq.path = cases[i].path;
		rq.host = "example.com";
		snprintf(path, sizeof(path), "%s/%s", pdir, cases[i].file);
		p = NULL;
		if (policy_load(path, NULL, &p) != 0)
			exit(2);
		policy_eval(p, cases[i].ruleset, &id, &rq, &d);
		h[0] = '\0';
		if (d.nheaders > 0)
			snprintf(h, sizeof(h), "%s=%s", d.headers[0].name,
			    d.headers[0].value);
		CHECK(d.allow == cases[i].allow && strcmp(d.reason,
		    cases[i].reason) == 0 && (cases[i].header == NULL ||
		    strcmp(h, cases[i].header) == 0), "%s case %zu (%s %s): "
		    "expected %d %s %s, got %d %s %s", cases[i].file, i,
		    cases[i].method, cases[i].path, cases[i].allow,
		    cases[i].reason, T_STR(cases[i].header), d.allow, d.reason,
		    h);
		policy_free(&p);
	}
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_policy_eval PKI_DIR POLICIES_DIR\n");
		return 2;
	}
	pki = argv[1];
	pdir = argv[2];
	t_tmpdir(dir, sizeof(dir));
	ident_init();
	test_conditions();
	test_null_request();
	test_rules();
	test_set_headers();
	test_match_limit();
	test_prefilter_plain();
	test_prefilter_eval();
	test_prefilter_used();
	test_threads();
	test_fields();
	test_example_real();
	test_shipped();
	t_rmtree(dir);
	return t_done();
}
