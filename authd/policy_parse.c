/*
 * policy_parse.c: policy text to struct policy (docs/policy.md).
 *
 * A hand-written recursive-descent parser over a small lexer.  Every error
 * is printed as "file:line:col: message" and counted; after a syntax error
 * the parser skips to the next rule (allow, deny, '}') or top-level
 * statement (list, ruleset), so one run reports every broken rule.
 * Semantic errors (unknown list, bad regex, ...) are reported in place and
 * parsing goes on.  A policy with any error is never returned.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <strings.h>

#include <openssl/objects.h>

#define POLICY_INTERNAL
#include "config.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "store.h"

#define IDENT_MAX	 128
#define DAYS_MAX	 1000000L

enum tok_type {
	T_EOF, T_IDENT, T_STRING, T_EQ, T_NE, T_MATCH, T_LT, T_LE, T_GT,
	T_GE, T_ASSIGN, T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_ERROR,
};

struct tok {
	enum tok_type	 type;
	const char	*s;		/* source text */
	size_t		 len;
	int		 line, col;
};

struct parser {
	const char	*file;
	char		 dir[4096];	/* of file, for list paths */
	FILE		*errf;
	int		 nerrors;
	int		 oom;
	char		*buf;
	size_t		 len, pos, linestart;
	int		 line;
	struct tok	 tok;
	/* the current T_STRING, decoded; smap: decoded index -> source col */
	char		 sbuf[POLICY_STRING_MAX + 1];
	size_t		 slen;
	int		 smap[POLICY_STRING_MAX + 1];
	size_t		 ntests;	/* in the rule being parsed */
	unsigned	 reads;		/* POLICY_READS_*, the rule set's */
	struct policy	*pol;
	struct store	*store;		/* lists go there when set */
};

static void perr_file(struct parser *, const char *, int, int, const char *,
    ...) LOG_PRINTF(5, 6);
static void perr(struct parser *, int, int, const char *, ...)
    LOG_PRINTF(4, 5);

static void
perr_va(struct parser *ps, const char *file, int line, int col,
    const char *fmt, va_list ap)
{
	if (ps->nerrors < POLICY_MAX_ERRORS) {
		fprintf(ps->errf, "%s:%d:%d: ", file, line, col);
		vfprintf(ps->errf, fmt, ap);
		fputc('\n', ps->errf);
	}
	if (++ps->nerrors == POLICY_MAX_ERRORS)
		fprintf(ps->errf, "%s: too many errors (%d), stopping\n",
		    ps->file, POLICY_MAX_ERRORS);
}

static void
perr_file(struct parser *ps, const char *file, int line, int col,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	perr_va(ps, file, line, col, fmt, ap);
	va_end(ap);
}

static void
perr(struct parser *ps, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	perr_va(ps, ps->file, line, col, fmt, ap);
	va_end(ap);
}

static void
perr_oom(struct parser *ps)
{
	if (!ps->oom)
		perr(ps, ps->tok.line, ps->tok.col, "out of memory");
	ps->oom = 1;
}

static char *
xstrndup(struct parser *ps, const char *s, size_t n)
{
	char	*d = malloc(n + 1);

	if (d == NULL) {
		perr_oom(ps);
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ------------------------------------------------------------ lexer */

static int
is_ident_start(int c)
{
	return isalnum(c) || c == '_';
}

static int
is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* The rest of a string token from the opening quote at ps->pos. */
static enum tok_type
lex_string(struct parser *ps)
{
	size_t	 start = ps->pos, o = 0;
	int	 line = ps->line, col = (int)(ps->pos - ps->linestart) + 1;
	int	 toolong = 0;
	char	 c;

	ps->pos++;
	for (;;) {
		if (ps->pos >= ps->len || ps->buf[ps->pos] == '\n') {
			perr(ps, line, col, "unterminated string");
			return T_ERROR;
		}
		c = ps->buf[ps->pos];
		if (c == '"')
			break;
		if (o == POLICY_STRING_MAX) {
			toolong = 1;
			o--;
		}
		ps->smap[o] = (int)(ps->pos - start);
		/* \" and \\ are escapes; any other \x stays (regexes need it). */
		if (c == '\\' && ps->pos + 1 < ps->len &&
		    (ps->buf[ps->pos + 1] == '"' || ps->buf[ps->pos + 1] == '\\'))
			c = ps->buf[++ps->pos];
		ps->sbuf[o++] = c;
		ps->pos++;
	}
	ps->smap[o] = (int)(ps->pos - start);
	ps->sbuf[o] = '\0';
	ps->slen = o;
	ps->pos++;
	if (toolong) {
		perr(ps, line, col, "string longer than %d bytes",
		    POLICY_STRING_MAX);
		return T_ERROR;
	}
	return T_STRING;
}

static void
lex(struct parser *ps)
{
	struct tok	*t = &ps->tok;
	const char	*b = ps->buf;
	int		 c, n;

	for (;;) {
		if (ps->pos >= ps->len)
			break;
		c = (unsigned char)b[ps->pos];
		if (c == '\n') {
			ps->line++;
			ps->linestart = ++ps->pos;
		} else if (c == ' ' || c == '\t' || c == '\r')
			ps->pos++;
		else if (c == '#') {
			while (ps->pos < ps->len && b[ps->pos] != '\n')
				ps->pos++;
		} else
			break;
	}
	t->line = ps->line;
	t->col = (int)(ps->pos - ps->linestart) + 1;
	t->s = b + ps->pos;
	t->len = 0;
	if (ps->pos >= ps->len) {
		t->type = T_EOF;
		return;
	}
	c = (unsigned char)b[ps->pos];
	n = ps->pos + 1 < ps->len ? (unsigned char)b[ps->pos + 1] : 0;
	if (is_ident_start(c) || (c == '-' && isdigit(n))) {
		while (++ps->pos < ps->len &&
		    is_ident_char((unsigned char)b[ps->pos]))
			;
		t->len = (size_t)(b + ps->pos - t->s);
		t->type = T_IDENT;
		if (t->len > IDENT_MAX) {
			perr(ps, t->line, t->col, "name longer than %d bytes",
			    IDENT_MAX);
			t->type = T_ERROR;
		}
		return;
	}
	if (c == '"') {
		t->type = lex_string(ps);
		t->len = (size_t)(b + ps->pos - t->s);
		return;
	}
	ps->pos++;
	t->len = 1;
	switch (c) {
	case '=':
		t->type = n == '=' ? T_EQ : T_ASSIGN;
		break;
	case '!':
		if (n != '=') {
			perr(ps, t->line, t->col, "unexpected '!' (did you "
			    "mean '!=' or 'not'?)");
			t->type = T_ERROR;
			return;
		}
		t->type = T_NE;
		break;
	case '<':
		t->type = n == '=' ? T_LE : T_LT;
		break;
	case '>':
		t->type = n == '=' ? T_GE : T_GT;
		break;
	case '~':
		t->type = T_MATCH;
		return;
	case '(':
		t->type = T_LPAREN;
		return;
	case ')':
		t->type = T_RPAREN;
		return;
	case '{':
		t->type = T_LBRACE;
		return;
	case '}':
		t->type = T_RBRACE;
		return;
	default:
		if (c >= 0x21 && c < 0x7f)
			perr(ps, t->line, t->col, "unexpected character '%c'",
			    c);
		else
			perr(ps, t->line, t->col, "unexpected byte 0x%02x", c);
		t->type = T_ERROR;
		return;
	}
	if (n == '=') {
		ps->pos++;
		t->len = 2;
	}
}

static void
advance(struct parser *ps)
{
	lex(ps);
}

static int
is_kw(const struct tok *t, const char *kw)
{
	size_t	 n = strlen(kw);

	return t->type == T_IDENT && t->len == n && memcmp(t->s, kw, n) == 0;
}

/* A printable description of the current token for messages. */
static const char *
tok_desc(const struct parser *ps, char *buf, size_t len)
{
	const struct tok	*t = &ps->tok;
	char			 esc[80];

	if (t->type == T_EOF)
		return "end of file";
	if (t->type == T_STRING) {
		log_escape(esc, sizeof(esc), ps->sbuf, ps->slen);
		snprintf(buf, len, "string \"%s\"", esc);
	} else {
		log_escape(esc, sizeof(esc), t->s, t->len);
		snprintf(buf, len, "'%s'", esc);
	}
	return buf;
}

/* Where a rule or a statement may start again after an error. */
static int
at_sync(const struct parser *ps)
{
	const struct tok	*t = &ps->tok;

	return t->type == T_EOF || t->type == T_RBRACE ||
	    is_kw(t, "allow") || is_kw(t, "deny") || is_kw(t, "ruleset") ||
	    is_kw(t, "list") || is_kw(t, "ocsp_failure") ||
	    is_kw(t, "require_policy") || is_kw(t, "explicit_policy") ||
	    is_kw(t, "inhibit_policy_mapping") ||
	    is_kw(t, "inhibit_any_policy") || is_kw(t, "decision_max_age");
}

static void
sync_rule(struct parser *ps)
{
	while (!at_sync(ps))
		advance(ps);
}

static void
sync_top(struct parser *ps)
{
	while (ps->tok.type != T_EOF && !is_kw(&ps->tok, "ruleset") &&
	    !is_kw(&ps->tok, "list"))
		advance(ps);
}

/* ------------------------------------------------------------ names */

/* Edit distance, case-insensitive, for "did you mean" (short names only). */
static size_t
lev(const char *a, const char *b)
{
	size_t	 row[IDENT_MAX + 2], la = strlen(a), lb = strlen(b), i, j;
	size_t	 prev, cur, cost;

	if (la > IDENT_MAX || lb > IDENT_MAX)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			cur = row[j] + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			if (prev + cost < cur)
				cur = prev + cost;
			prev = row[j];
			row[j] = cur;
		}
	}
	return row[lb];
}

/* The closest of names to s, or NULL when none is close. */
static const char *
closest(const char *s, const char *const *names, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = (size_t)-1, maxd;

	maxd = strlen(s) / 3 + 1;
	if (maxd > 3)
		maxd = 3;
	for (i = 0; i < n; i++) {
		d = lev(s, names[i]);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	return bestd <= maxd ? best : NULL;
}

static const struct {
	const char		*name;
	enum policy_field	 field;
} fields[] = {
	{ "subject", PF_SUBJECT }, { "issuer", PF_ISSUER },
	{ "serial", PF_SERIAL }, { "fingerprint", PF_FINGERPRINT },
	{ "san.dns", PF_SAN_DNS }, { "san.email", PF_SAN_EMAIL },
	{ "san.uri", PF_SAN_URI }, { "san.ip", PF_SAN_IP },
	{ "san.upn", PF_SAN_UPN }, { "san.fascn", PF_SAN_FASCN },
	{ "san.uuid", PF_SAN_UUID },
	{ "eku", PF_EKU }, { "policy_oid", PF_POLICY_OID },
	{ "policy", PF_POLICY },
	{ "days_left", PF_DAYS_LEFT }, { "method", PF_METHOD },
	{ "path", PF_PATH }, { "host", PF_HOST },
};

/* Candidates for "did you mean": the fields and common attributes. */
static const char *const field_names[] = {
	"subject", "issuer", "serial", "fingerprint", "san.dns",
	"san.email", "san.uri", "san.ip", "san.upn", "san.fascn", "san.uuid",
	"eku", "policy_oid", "policy", "days_left",
	"method", "path", "host",
	"subject.CN", "subject.O", "subject.OU", "subject.C", "subject.L",
	"subject.ST", "subject.emailAddress", "subject.serialNumber",
	"subject.UID", "subject.DC",
	"issuer.CN", "issuer.O", "issuer.OU", "issuer.C", "issuer.L",
	"issuer.ST", "issuer.emailAddress", "issuer.serialNumber",
	"issuer.UID", "issuer.DC",
};

static const char *const eku_names[] = {
	"serverAuth", "clientAuth", "codeSigning", "emailProtection",
	"timeStamping", "OCSPSigning", "ipsecIKE", "msSmartcardLogin",
	"anyExtendedKeyUsage",
};

#define NELEM(a)	 (sizeof(a) / sizeof((a)[0]))

int
policy_is_dotted_oid(const char *s)
{
	int	 dots = 0, digit = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (!digit)
				return 0;
			dots++;
			digit = 0;
		} else if (isdigit((unsigned char)*s))
			digit = 1;
		else
			return 0;
	}
	return dots > 0 && digit;
}

/*
 * An object name (short, long, or dotted OID) in the canonical form
 * identity_fields_load produces: the short name when OpenSSL knows the
 * object, else the dotted OID.  Returns 0 or -1 when unknown.
 */
static int
obj_canon(const char *name, char *out, size_t len)
{
	ASN1_OBJECT	*obj;
	int		 nid;

	if (policy_is_dotted_oid(name)) {
		if ((obj = OBJ_txt2obj(name, 1)) == NULL)
			return -1;
		nid = OBJ_obj2nid(obj);
		if (nid != NID_undef)
			snprintf(out, len, "%s", OBJ_nid2sn(nid));
		else if (OBJ_obj2txt(out, (int)len, obj, 1) <= 0) {
			ASN1_OBJECT_free(obj);
			return -1;
		}
		ASN1_OBJECT_free(obj);
		return 0;
	}
	if ((nid = OBJ_sn2nid(name)) == NID_undef &&
	    (nid = OBJ_ln2nid(name)) == NID_undef)
		return -1;
	snprintf(out, len, "%s", OBJ_nid2sn(nid));
	return 0;
}

/*
 * A field name to field (and attribute, malloc'd, for subject.X and
 * issuer.X).  Unknown: reported with a suggestion, returns -1.
 */
static int
field_resolve(struct parser *ps, const struct tok *t, enum policy_field *f,
    char **attr)
{
	char		 name[IDENT_MAX + 1], canon[IDENT_MAX + 1];
	const char	*dot, *hint;
	size_t		 i;

	*attr = NULL;
	memcpy(name, t->s, t->len);
	name[t->len] = '\0';
	for (i = 0; i < NELEM(fields); i++)
		if (strcmp(name, fields[i].name) == 0) {
			*f = fields[i].field;
			if (*f == PF_POLICY)
				ps->pol->pcy_used = 1;
			else if (*f == PF_METHOD)
				ps->reads |= POLICY_READS_METHOD;
			else if (*f == PF_PATH)
				ps->reads |= POLICY_READS_PATH;
			else if (*f == PF_HOST)
				ps->reads |= POLICY_READS_HOST;
			return 0;
		}
	if ((dot = strchr(name, '.')) != NULL && dot[1] != '\0' &&
	    ((dot - name == 7 && strncmp(name, "subject", 7) == 0) ||
	    (dot - name == 6 && strncmp(name, "issuer", 6) == 0)) &&
	    obj_canon(dot + 1, canon, sizeof(canon)) == 0) {
		*f = name[0] == 's' ? PF_SUBJECT_ATTR : PF_ISSUER_ATTR;
		if ((*attr = xstrndup(ps, canon, strlen(canon))) == NULL)
			return -1;
		return 0;
	}
	if ((hint = closest(name, field_names, NELEM(field_names))) != NULL)
		perr(ps, t->line, t->col, "unknown field '%s' (did you mean "
		    "'%s'?)", name, hint);
	else
		perr(ps, t->line, t->col, "unknown field '%s'", name);
	return -1;
}

static const char *
field_name(enum policy_field f)
{
	size_t	 i;

	for (i = 0; i < NELEM(fields); i++)
		if (fields[i].field == f)
			return fields[i].name;
	return f == PF_SUBJECT_ATTR ? "subject.*" : "issuer.*";
}

/* Rule set, list and header names: [A-Za-z_][A-Za-z0-9_-]*, bounded. */
static int
name_check(struct parser *ps, const struct tok *t, const char *what)
{
	size_t	 i;

	if (t->type != T_IDENT) {
		char	 d[128];

		perr(ps, t->line, t->col, "expected a %s name, got %s", what,
		    tok_desc(ps, d, sizeof(d)));
		return -1;
	}
	if (t->len > POLICY_NAME_MAX) {
		perr(ps, t->line, t->col, "%s name longer than %d bytes", what,
		    POLICY_NAME_MAX);
		return -1;
	}
	for (i = 0; i < t->len; i++)
		if (!(isalnum((unsigned char)t->s[i]) || t->s[i] == '_' ||
		    (i > 0 && t->s[i] == '-')) ||
		    (i == 0 && isdigit((unsigned char)t->s[i]))) {
			perr(ps, t->line, t->col, "invalid %s name '%.*s' "
			    "(letters, digits, '_' and '-')", what,
			    (int)t->len, t->s);
			return -1;
		}
	return 0;
}

/* ------------------------------------------------------------ lists */

static int
list_add(struct policy_list *l, const char *norm, size_t n, size_t **offs,
    size_t *noffs, size_t *capoffs)
{
	size_t	 cap;
	char	*a;
	size_t	*o;

	/* Offsets are stored + 1 in unsigned int slots. */
	if (l->arena_len + n + 1 >= UINT_MAX)
		return AUTHD_ERANGE;
	if (l->arena_len + n + 1 > l->arena_cap) {
		cap = l->arena_cap ? l->arena_cap * 2 : 16384;
		if ((a = realloc(l->arena, cap)) == NULL)
			return AUTHD_ENOMEM;
		l->arena = a;
		l->arena_cap = cap;
	}
	if (*noffs == *capoffs) {
		cap = *capoffs ? *capoffs * 2 : 1024;
		if ((o = realloc(*offs, cap * sizeof(*o))) == NULL)
			return AUTHD_ENOMEM;
		*offs = o;
		*capoffs = cap;
	}
	memcpy(l->arena + l->arena_len, norm, n + 1);
	(*offs)[(*noffs)++] = l->arena_len;
	l->arena_len += n + 1;
	return 0;
}

/* The hash set over the arena; duplicates count once. */
static int
list_index(struct policy_list *l, const size_t *offs, size_t noffs)
{
	size_t	 i, h, mask, nslots = 16;

	while (nslots < noffs * 2)
		nslots *= 2;
	if ((l->slots = calloc(nslots, sizeof(*l->slots))) == NULL)
		return AUTHD_ENOMEM;
	l->nslots = nslots;
	mask = nslots - 1;
	for (i = 0; i < noffs; i++) {
		if (policy_list_lookup(l, l->arena + offs[i]))
			continue;
		for (h = policy_list_hash(l->arena + offs[i]) & mask;
		    l->slots[h] != 0; h = (h + 1) & mask)
			;
		l->slots[h] = (unsigned int)offs[i] + 1;
		l->n++;
	}
	return 0;
}

/*
 * The store set for a list file: "list:" and the SHA-256 of its bytes, so
 * that an unchanged file maps to the set an earlier run built.
 */
static int
list_setname(const char *path, char *name, size_t len)
{
	EVP_MD_CTX	*ctx = NULL;
	FILE		*f = NULL;
	unsigned char	 buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	size_t		 n;
	int		 rc = -1;

	if ((f = fopen(path, "rb")) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto end;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			goto end;
	if (ferror(f) || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    len < 5 + 2 * (size_t)mdlen + 1)
		goto end;
	memcpy(name, "list:", 5);
	for (i = 0; i < mdlen; i++)
		snprintf(name + 5 + 2 * i, 3, "%02x", md[i]);
	rc = 0;
end:
	EVP_MD_CTX_free(ctx);
	if (f != NULL)
		fclose(f);
	return rc;
}

/*
 * Read a list file: one hex serial or fingerprint per line, '#' comments,
 * blank lines.  Errors name the list file and its line.  With a store, an
 * unchanged file is not read at all (its set is found by the file's
 * digest), and a new one goes to a fresh set only if it has no error.
 */
static void
list_load(struct parser *ps, struct policy_list *l, const char *path,
    int line, int col)
{
	FILE			*f = NULL;
	struct store_writer	*w = NULL;
	char			 buf[POLICY_LINE_MAX + 2], norm[POLICY_HEX_MAX];
	char			 esc[64], err[256], *p, *e, *hash;
	size_t			 *offs = NULL, noffs = 0, capoffs = 0, n, max;
	size_t			 count;
	store_set_t		 set;
	int			 ln = 0, nl, rc, skipping = 0, norm_len;
	int			 errors = ps->nerrors;

	max = ps->store != NULL ? POLICY_STORE_LIST_MAX :
	    POLICY_LIST_MAX_ENTRIES;
	if (ps->store != NULL) {
		if (list_setname(path, l->setname, sizeof(l->setname)) != 0) {
			perr(ps, line, col, "list '%s': cannot open %s: %s",
			    l->name, path, strerror(errno));
			goto end;
		}
		if ((rc = store_set_find(ps->store, l->setname, &set,
		    &count)) == 0) {
			l->store = ps->store;
			l->set = set;
			l->n = count;
			goto end;
		}
		if (rc < 0 || store_writer_new(ps->store, l->setname, max,
		    &w) != 0) {
			perr(ps, line, col, "list '%s': the store cannot be "
			    "read", l->name);
			goto end;
		}
	}
	if ((f = fopen(path, "r")) == NULL) {
		perr(ps, line, col, "list '%s': cannot open %s: %s", l->name,
		    path, strerror(errno));
		goto end;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		n = strlen(buf);
		nl = n > 0 && buf[n - 1] == '\n';
		if (skipping) {		/* the rest of an over-long line */
			skipping = !nl;
			continue;
		}
		ln++;
		if (!nl && n > POLICY_LINE_MAX) {
			perr_file(ps, path, ln, POLICY_LINE_MAX + 1, "line "
			    "longer than %d bytes", POLICY_LINE_MAX);
			skipping = 1;
			continue;
		}
		if ((hash = strchr(buf, '#')) != NULL)
			*hash = '\0';
		for (p = buf; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);
		    e--)
			;
		if (e == p)
			continue;
		if ((norm_len = policy_hex_norm(p, (size_t)(e - p), norm)) < 0) {
			log_escape(esc, sizeof(esc), p, (size_t)(e - p));
			perr_file(ps, path, ln, (int)(p - buf) + 1, "malformed "
			    "entry \"%s\": expected a hex serial or SHA-256 "
			    "fingerprint", esc);
			continue;
		}
		if (noffs >= max) {
			perr_file(ps, path, ln, 1, "list '%s' has more than %zu "
			    "entries", l->name, max);
			break;
		}
		if (w != NULL) {
			noffs++;
			rc = store_writer_add(w, norm, (size_t)norm_len);
		} else
			rc = list_add(l, norm, (size_t)norm_len, &offs, &noffs,
			    &capoffs);
		if (rc != 0) {
			perr_file(ps, path, ln, 1, "list '%s': %s", l->name,
			    err_str(rc));
			goto end;
		}
	}
	if (ferror(f)) {
		perr(ps, line, col, "list '%s': read error on %s", l->name,
		    path);
		goto end;
	}
	if (w != NULL) {
		if (ps->nerrors > errors)
			goto end;	/* a list with errors is never stored */
		if (store_writer_commit(&w, &set, &count, err, sizeof(err)) !=
		    0) {
			perr(ps, line, col, "list '%s': %s", l->name, err);
			goto end;
		}
		l->store = ps->store;
		l->set = set;
		l->n = count;
	} else if (list_index(l, offs, noffs) != 0)
		perr_oom(ps);
end:
	store_writer_free(&w);
	if (f != NULL)
		fclose(f);
	free(offs);
}

static struct policy_list *
list_find(const struct policy *pol, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < pol->nlists; i++)
		if (strlen(pol->lists[i].name) == len &&
		    memcmp(pol->lists[i].name, name, len) == 0)
			return &pol->lists[i];
	return NULL;
}

/* list NAME file "path" */
static void
parse_list(struct parser *ps)
{
	struct policy_list	*l, *dup;
	struct tok		 name;
	char			 path[8192], d[128];
	int			 line, col;

	advance(ps);
	name = ps->tok;
	if (name_check(ps, &name, "list") != 0)
		goto fail;
	advance(ps);
	if (!is_kw(&ps->tok, "file")) {
		perr(ps, ps->tok.line, ps->tok.col, "expected 'file' after "
		    "the list name, got %s", tok_desc(ps, d, sizeof(d)));
		goto fail;
	}
	advance(ps);
	if (ps->tok.type != T_STRING) {
		if (ps->tok.type != T_ERROR)
			perr(ps, ps->tok.line, ps->tok.col, "expected a quoted "
			    "path after 'file', got %s",
			    tok_desc(ps, d, sizeof(d)));
		goto fail;
	}
	line = ps->tok.line;
	col = ps->tok.col;
	if ((dup = list_find(ps->pol, name.s, name.len)) != NULL) {
		perr(ps, name.line, name.col, "duplicate list '%.*s' (first "
		    "declared at line %d)", (int)name.len, name.s, dup->line);
		advance(ps);
		return;
	}
	if (ps->pol->nlists >= POLICY_MAX_LISTS) {
		perr(ps, name.line, name.col, "more than %d lists",
		    POLICY_MAX_LISTS);
		advance(ps);
		return;
	}
	if (ps->sbuf[0] == '/' || ps->dir[0] == '\0')
		snprintf(path, sizeof(path), "%s", ps->sbuf);
	else
		snprintf(path, sizeof(path), "%s/%s", ps->dir, ps->sbuf);
	l = &ps->pol->lists[ps->pol->nlists++];
	l->line = name.line;
	if ((l->name = xstrndup(ps, name.s, name.len)) == NULL ||
	    (l->path = xstrndup(ps, path, strlen(path))) == NULL)
		return;
	advance(ps);
	list_load(ps, l, path, line, col);
	return;
fail:
	sync_top(ps);
}

/* ------------------------------------------------------------ conditions */

static struct policy_node *
node_new(struct parser *ps, enum policy_node_kind kind)
{
	struct policy_node	*n = calloc(1, sizeof(*n));

	if (n == NULL)
		perr_oom(ps);
	else
		n->kind = kind;
	return n;
}

static int
node_push(struct parser *ps, struct policy_node *n, struct policy_node *kid)
{
	struct policy_node	**k;

	if ((k = realloc(n->kids, (n->nkids + 1) * sizeof(*k))) == NULL) {
		perr_oom(ps);
		policy_node_free(kid);
		return -1;
	}
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 0;
}

static const char *
op_name(enum policy_op op)
{
	static const char *const names[] = { "==", "!=", "~", "prefix", "in",
	    "<", "<=", ">", ">=" };

	return names[op];
}

static int
tok_op(const struct tok *t, enum policy_op *op)
{
	switch (t->type) {
	case T_EQ: *op = PO_EQ; return 0;
	case T_NE: *op = PO_NE; return 0;
	case T_MATCH: *op = PO_MATCH; return 0;
	case T_LT: *op = PO_LT; return 0;
	case T_LE: *op = PO_LE; return 0;
	case T_GT: *op = PO_GT; return 0;
	case T_GE: *op = PO_GE; return 0;
	default: break;
	}
	if (is_kw(t, "prefix")) {
		*op = PO_PREFIX;
		return 0;
	}
	if (is_kw(t, "in")) {
		*op = PO_IN;
		return 0;
	}
	return -1;
}

/* Whether op applies to field; reports why not. */
static int
op_check(struct parser *ps, const struct tok *t, enum policy_field f,
    enum policy_op op)
{
	int	 numeric = op == PO_LT || op == PO_LE || op == PO_GT ||
		    op == PO_GE;

	if (f == PF_DAYS_LEFT && !(numeric || op == PO_EQ || op == PO_NE)) {
		perr(ps, t->line, t->col, "operator '%s' is not valid for "
		    "days_left (use ==, !=, <, <=, >, >=)", op_name(op));
		return -1;
	}
	if (f != PF_DAYS_LEFT && numeric) {
		perr(ps, t->line, t->col, "operator '%s' is not valid for "
		    "field '%s' (only days_left is numeric)", op_name(op),
		    field_name(f));
		return -1;
	}
	if (op == PO_IN && f != PF_SERIAL && f != PF_FINGERPRINT) {
		perr(ps, t->line, t->col, "operator 'in' is not valid for "
		    "field '%s' (lists hold serials and fingerprints)",
		    field_name(f));
		return -1;
	}
	return 0;
}

static int
parse_days(struct parser *ps, struct policy_node *n)
{
	const struct tok	*t = &ps->tok;
	char			 num[IDENT_MAX + 1], *end, d[128];
	long			 v;

	if (t->type == T_IDENT) {
		memcpy(num, t->s, t->len);
		num[t->len] = '\0';
		errno = 0;
		v = strtol(num, &end, 10);
		if (errno == 0 && *end == '\0' && v >= -DAYS_MAX &&
		    v <= DAYS_MAX) {
			n->num = v;
			return 0;
		}
	}
	perr(ps, t->line, t->col, "expected a number of days (-%ld..%ld) "
	    "after '%s', got %s", DAYS_MAX, DAYS_MAX, op_name(n->op),
	    tok_desc(ps, d, sizeof(d)));
	return -1;
}

/* Certificate fields hold sanitised text: printable ASCII and \HH. */
static int
field_is_sanitised(enum policy_field f)
{
	return f != PF_METHOD && f != PF_PATH && f != PF_HOST;
}

/* Offset of the first byte outside printable ASCII, or -1. */
static long
first_unprintable(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return (long)i;
	return -1;
}

static int
parse_regex(struct parser *ps, struct policy_node *n)
{
	const struct tok	*t = &ps->tok;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	long			 bad;
	int			 code;

	if (field_is_sanitised(n->field) &&
	    (bad = first_unprintable(ps->sbuf, ps->slen)) >= 0) {
		/* It could never match: say how to write it instead. */
		perr(ps, t->line, t->col + ps->smap[bad], "byte 0x%02X in a "
		    "regular expression on %s never matches: certificate "
		    "values hold it as the text \\%02X (write \"\\\\\\\\%02X\" "
		    "in the policy: a regex-escaped backslash, then the hex)", (unsigned char)ps->sbuf[bad],
		    field_name(n->field), (unsigned char)ps->sbuf[bad],
		    (unsigned char)ps->sbuf[bad]);
		return -1;
	}
	if (ps->slen > POLICY_REGEX_MAX) {
		perr(ps, t->line, t->col, "regular expression longer than %d "
		    "bytes", POLICY_REGEX_MAX);
		return -1;
	}
	n->re = pcre2_compile((PCRE2_SPTR)ps->sbuf, ps->slen, 0, &code, &off,
	    NULL);
	if (n->re == NULL) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		if (off > ps->slen)
			off = ps->slen;
		perr(ps, t->line, t->col + ps->smap[off], "bad regular "
		    "expression: %s (at offset %zu)", (char *)msg, (size_t)off);
		return -1;
	}
	/* Without JIT (not built in, or no executable memory) it still works. */
	(void)pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE);
	/* Its text, for a prefilter (prefilter_build). */
	if ((n->str = xstrndup(ps, ps->sbuf, ps->slen)) == NULL)
		return -1;
	n->len = ps->slen;
	return 0;
}

static int
copy_literal(struct parser *ps, struct policy_node *n, const char *v)
{
	n->len = v == ps->sbuf ? ps->slen : strlen(v);
	return (n->str = xstrndup(ps, v, n->len)) == NULL ? -1 : 0;
}

/*
 * A literal for a certificate field, written as UTF-8 and compared the way
 * the value is held: "José" becomes "Jos\C3\A9" (identity_sanitize).
 */
static int
literal_sanitised(struct parser *ps, struct policy_node *n)
{
	char	 san[3 * POLICY_STRING_MAX + 4];

	if (first_unprintable(ps->sbuf, ps->slen) < 0)
		return copy_literal(ps, n, ps->sbuf);
	identity_sanitize(san, sizeof(san), ps->sbuf, ps->slen);
	return copy_literal(ps, n, san);
}

/* The literal of ==, != or prefix, normalised to what the field holds. */
static int
parse_literal(struct parser *ps, struct policy_node *n)
{
	const struct tok	*t = &ps->tok;
	char			 buf[POLICY_STRING_MAX + 1], esc[80];
	const char		*hint, *v = ps->sbuf;
	unsigned char		 ip[16];
	int			 nl;

	log_escape(esc, sizeof(esc), ps->sbuf, ps->slen);
	if (n->op != PO_PREFIX && strlen(v) != ps->slen) {
		perr(ps, t->line, t->col, "NUL byte in string");
		return -1;
	}
	if (n->field == PF_SAN_FASCN || n->field == PF_SAN_UUID) {
		/* held in lowercase: hex digits (a UUID's with its dashes) */
		for (nl = 0; (size_t)nl < ps->slen && nl < POLICY_STRING_MAX;
		    nl++) {
			buf[nl] = (char)tolower((unsigned char)v[nl]);
			if (!isxdigit((unsigned char)buf[nl]) &&
			    !(n->field == PF_SAN_UUID && buf[nl] == '-'))
				break;
		}
		if ((size_t)nl != ps->slen || nl == 0) {
			perr(ps, t->line, t->col, "\"%s\" is not %s", esc,
			    n->field == PF_SAN_UUID ? "a UUID (hex digits and "
			    "dashes)" : "hex (a FASC-N is 25 bytes, 50 digits)");
			return -1;
		}
		buf[nl] = '\0';
		return copy_literal(ps, n, buf);
	}
	if (n->op == PO_PREFIX)
		return field_is_sanitised(n->field) ?
		    literal_sanitised(ps, n) : copy_literal(ps, n, v);
	switch (n->field) {
	case PF_SERIAL:
	case PF_FINGERPRINT:
		if ((nl = policy_hex_norm(v, ps->slen, buf)) < 0) {
			perr(ps, t->line, t->col, "\"%s\" is not a hex %s", esc,
			    field_name(n->field));
			return -1;
		}
		v = buf;
		break;
	case PF_EKU:
		if (obj_canon(v, buf, sizeof(buf)) != 0) {
			if (policy_is_dotted_oid(v))
				goto copy;
			if ((hint = closest(v, eku_names, NELEM(eku_names))) !=
			    NULL)
				perr(ps, t->line, t->col, "unknown extended key "
				    "usage \"%s\" (did you mean \"%s\"?)", esc,
				    hint);
			else
				perr(ps, t->line, t->col, "unknown extended key "
				    "usage \"%s\" (use a name like clientAuth or "
				    "a dotted OID)", esc);
			return -1;
		}
		v = buf;
		break;
	case PF_POLICY_OID:
	case PF_POLICY:
		if (!policy_is_dotted_oid(v)) {
			perr(ps, t->line, t->col, "%s values are dotted OIDs "
			    "like 2.5.29.32.0, got \"%s\"", field_name(n->field),
			    esc);
			return -1;
		}
		break;
	case PF_SAN_IP:
		/* Canonical text, as identity_fields_load prints addresses. */
		if (inet_pton(AF_INET, v, ip) == 1)
			inet_ntop(AF_INET, ip, buf, sizeof(buf));
		else if (inet_pton(AF_INET6, v, ip) == 1)
			inet_ntop(AF_INET6, ip, buf, sizeof(buf));
		else {
			perr(ps, t->line, t->col, "\"%s\" is not an IP address "
			    "(use ~ or prefix for ranges)", esc);
			return -1;
		}
		v = buf;
		break;
	default:
		if (field_is_sanitised(n->field))
			return literal_sanitised(ps, n);
		break;
	}
copy:
	return copy_literal(ps, n, v);
}

/* field op value */
static struct policy_node *
parse_test(struct parser *ps)
{
	struct policy_node	*n = NULL;
	struct policy_list	*l;
	const char		*names[POLICY_MAX_LISTS], *hint;
	char			 d[128], lname[IDENT_MAX + 1];
	struct tok		 ft = ps->tok;
	size_t			 i;

	if (ft.type != T_IDENT) {
		if (ft.type != T_ERROR)
			perr(ps, ft.line, ft.col, "expected a condition, got %s",
			    tok_desc(ps, d, sizeof(d)));
		return NULL;
	}
	if (++ps->ntests > POLICY_MAX_TESTS) {
		perr(ps, ft.line, ft.col, "more than %d comparisons in one "
		    "rule", POLICY_MAX_TESTS);
		return NULL;
	}
	if ((n = node_new(ps, PN_TEST)) == NULL)
		return NULL;
	if (field_resolve(ps, &ft, &n->field, &n->attr) != 0)
		goto fail;
	advance(ps);
	if (tok_op(&ps->tok, &n->op) != 0) {
		if (ps->tok.type != T_ERROR)
			perr(ps, ps->tok.line, ps->tok.col, "expected an operator "
			    "after '%.*s' (==, !=, ~, prefix, in, <, <=, >, >=), "
			    "got %s", (int)ft.len, ft.s,
			    tok_desc(ps, d, sizeof(d)));
		goto fail;
	}
	if (op_check(ps, &ps->tok, n->field, n->op) != 0)
		goto fail;
	advance(ps);
	if (n->field == PF_DAYS_LEFT) {
		if (parse_days(ps, n) != 0)
			goto fail;
	} else if (n->op == PO_IN) {
		if (ps->tok.type != T_IDENT) {
			perr(ps, ps->tok.line, ps->tok.col, "expected a list name "
			    "after 'in', got %s", tok_desc(ps, d, sizeof(d)));
			goto fail;
		}
		if ((l = list_find(ps->pol, ps->tok.s, ps->tok.len)) == NULL) {
			memcpy(lname, ps->tok.s, ps->tok.len);
			lname[ps->tok.len] = '\0';
			for (i = 0; i < ps->pol->nlists; i++)
				names[i] = ps->pol->lists[i].name;
			if ((hint = closest(lname, names, ps->pol->nlists)) !=
			    NULL)
				perr(ps, ps->tok.line, ps->tok.col, "unknown list "
				    "'%s' (did you mean '%s'?)", lname, hint);
			else
				perr(ps, ps->tok.line, ps->tok.col, "unknown list "
				    "'%s' (declare it first: list %s file "
				    "\"PATH\")", lname, lname);
			goto fail;
		}
		n->list = l;
	} else {
		if (ps->tok.type != T_STRING) {
			if (ps->tok.type != T_ERROR)
				perr(ps, ps->tok.line, ps->tok.col, "expected a "
				    "quoted string after '%s', got %s",
				    op_name(n->op), tok_desc(ps, d, sizeof(d)));
			goto fail;
		}
		if (n->op == PO_MATCH ? parse_regex(ps, n) != 0 :
		    parse_literal(ps, n) != 0)
			goto fail;
	}
	advance(ps);
	return n;
fail:
	policy_node_free(n);
	return NULL;
}

static struct policy_node *parse_or(struct parser *, int);

static struct policy_node *
parse_unary(struct parser *ps, int depth)
{
	struct policy_node	*n, *k;
	struct tok		 open;
	char			 d[128];

	if (depth >= POLICY_MAX_DEPTH) {
		perr(ps, ps->tok.line, ps->tok.col, "condition nested deeper "
		    "than %d (parentheses and not)", POLICY_MAX_DEPTH);
		return NULL;
	}
	if (is_kw(&ps->tok, "not")) {
		advance(ps);
		if ((k = parse_unary(ps, depth + 1)) == NULL)
			return NULL;
		if ((n = node_new(ps, PN_NOT)) == NULL) {
			policy_node_free(k);
			return NULL;
		}
		return node_push(ps, n, k) == 0 ? n : (policy_node_free(n),
		    NULL);
	}
	if (ps->tok.type == T_LPAREN) {
		open = ps->tok;
		advance(ps);
		if ((n = parse_or(ps, depth + 1)) == NULL)
			return NULL;
		if (ps->tok.type != T_RPAREN) {
			perr(ps, ps->tok.line, ps->tok.col, "expected ')' to "
			    "close '(' at %d:%d, got %s", open.line, open.col,
			    tok_desc(ps, d, sizeof(d)));
			policy_node_free(n);
			return NULL;
		}
		advance(ps);
		return n;
	}
	if (is_kw(&ps->tok, "true")) {
		advance(ps);
		return node_new(ps, PN_TRUE);
	}
	return parse_test(ps);
}

/* and/or are n-ary nodes, so a long chain adds no recursion depth. */
static struct policy_node *
parse_chain(struct parser *ps, int depth, const char *kw,
    enum policy_node_kind kind)
{
	struct policy_node	*a, *b, *n;

	a = kind == PN_OR ? parse_chain(ps, depth, "and", PN_AND) :
	    parse_unary(ps, depth);
	if (a == NULL || !is_kw(&ps->tok, kw))
		return a;
	if ((n = node_new(ps, kind)) == NULL || node_push(ps, n, a) != 0) {
		if (n == NULL)
			policy_node_free(a);
		policy_node_free(n);
		return NULL;
	}
	while (is_kw(&ps->tok, kw)) {
		advance(ps);
		b = kind == PN_OR ? parse_chain(ps, depth, "and", PN_AND) :
		    parse_unary(ps, depth);
		if (b == NULL || node_push(ps, n, b) != 0) {
			policy_node_free(n);
			return NULL;
		}
	}
	return n;
}

static struct policy_node *
parse_or(struct parser *ps, int depth)
{
	return parse_chain(ps, depth, "or", PN_OR);
}

/* ------------------------------------------------------------ rules */

static int
header_reserved(const char *name)
{
	static const char *const reserved[] = {
		"Content-Length", "Content-Type", "Transfer-Encoding",
		"Connection", "Keep-Alive", "Upgrade", "Trailer", "TE",
		"Proxy-Connection", "Set-Cookie", "Location",
		"WWW-Authenticate", "Date", "Server",
	};
	size_t	 i;

	if (strncasecmp(name, "X-Authd-", 8) == 0 ||
	    strncasecmp(name, "X-Accel-", 8) == 0)
		return 1;
	for (i = 0; i < NELEM(reserved); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return 1;
	return 0;
}

/* set Header-Name = field */
static int
parse_set(struct parser *ps, struct policy_rule *r)
{
	struct policy_set	*s;
	struct tok		 h;
	char			 name[POLICY_NAME_MAX + 1], d[128];
	size_t			 i;

	advance(ps);
	h = ps->tok;
	if (name_check(ps, &h, "header") != 0)
		return -1;
	memcpy(name, h.s, h.len);
	name[h.len] = '\0';
	if (!isalpha((unsigned char)name[0]) || strchr(name, '_') != NULL) {
		perr(ps, h.line, h.col, "invalid header name '%s' (letters, "
		    "digits and '-', starting with a letter)", name);
		return -1;
	}
	if (header_reserved(name)) {
		perr(ps, h.line, h.col, "header '%s' is reserved (authd or "
		    "HTTP sets it)", name);
		return -1;
	}
	for (i = 0; i < r->nsets; i++)
		if (strcasecmp(r->sets[i].name, name) == 0) {
			perr(ps, h.line, h.col, "header '%s' set twice in one "
			    "rule", name);
			return -1;
		}
	if (r->nsets >= POLICY_MAX_SET_HEADERS) {
		perr(ps, h.line, h.col, "more than %d set clauses in one rule",
		    POLICY_MAX_SET_HEADERS);
		return -1;
	}
	advance(ps);
	if (ps->tok.type != T_ASSIGN) {
		perr(ps, ps->tok.line, ps->tok.col, "expected '=' after header "
		    "name, got %s", tok_desc(ps, d, sizeof(d)));
		return -1;
	}
	advance(ps);
	if (ps->tok.type != T_IDENT) {
		perr(ps, ps->tok.line, ps->tok.col, "expected a field after "
		    "'=', got %s", tok_desc(ps, d, sizeof(d)));
		return -1;
	}
	s = &r->sets[r->nsets];
	if (field_resolve(ps, &ps->tok, &s->field, &s->attr) != 0)
		return -1;
	r->nsets++;
	if ((s->name = xstrndup(ps, name, h.len)) == NULL)
		return -1;
	advance(ps);
	return 0;
}

static int
parse_reason(struct parser *ps, struct policy_rule *r, const struct tok *kw)
{
	char	 d[128];
	size_t	 i;

	if (r->allow) {
		perr(ps, kw->line, kw->col, "'reason' is only for deny rules");
		return -1;
	}
	if (r->reason != NULL) {
		perr(ps, kw->line, kw->col, "a rule has at most one reason");
		return -1;
	}
	advance(ps);
	if (ps->tok.type != T_STRING) {
		if (ps->tok.type != T_ERROR)
			perr(ps, ps->tok.line, ps->tok.col, "expected a quoted "
			    "reason after 'reason', got %s",
			    tok_desc(ps, d, sizeof(d)));
		return -1;
	}
	/* It becomes X-Authd-Reason: printable ASCII, bounded. */
	if (ps->slen == 0 || ps->slen > POLICY_REASON_MAX) {
		perr(ps, ps->tok.line, ps->tok.col, "a reason is 1 to %d bytes",
		    POLICY_REASON_MAX);
		return -1;
	}
	if (strcmp(ps->sbuf, "ok") == 0) {
		perr(ps, ps->tok.line, ps->tok.col, "reason \"ok\" is what an "
		    "allow says; a deny needs another");
		return -1;
	}
	for (i = 0; i < ps->slen; i++)
		if ((unsigned char)ps->sbuf[i] < 0x20 ||
		    (unsigned char)ps->sbuf[i] >= 0x7f) {
			perr(ps, ps->tok.line, ps->tok.col + ps->smap[i], "a "
			    "reason is printable ASCII");
			return -1;
		}
	if ((r->reason = xstrndup(ps, ps->sbuf, ps->slen)) == NULL)
		return -1;
	advance(ps);
	return 0;
}

static void
rule_cleanup(struct policy_rule *r)
{
	size_t	 i;

	policy_node_free(r->cond);
	free(r->reason);
	for (i = 0; i < r->nsets; i++) {
		free(r->sets[i].name);
		free(r->sets[i].attr);
	}
	memset(r, 0, sizeof(*r));
}

/* allow COND {set H = F} | deny COND [reason "x"]; -1: resync */
static int
parse_rule(struct parser *ps, struct policy_rule *r)
{
	struct tok	 kw;
	char		 d[128];

	memset(r, 0, sizeof(*r));
	r->allow = is_kw(&ps->tok, "allow");
	r->line = ps->tok.line;
	kw = ps->tok;
	advance(ps);
	ps->ntests = 0;
	if (at_sync(ps) || is_kw(&ps->tok, "set") ||
	    is_kw(&ps->tok, "reason")) {
		perr(ps, ps->tok.line, ps->tok.col, "expected a condition after "
		    "'%s' (use 'true' to match every request)",
		    r->allow ? "allow" : "deny");
		return -1;
	}
	if ((r->cond = parse_or(ps, 0)) == NULL)
		return -1;
	for (;;) {
		kw = ps->tok;
		if (is_kw(&kw, "set")) {
			if (!r->allow) {
				perr(ps, kw.line, kw.col, "'set' is only for "
				    "allow rules");
				return -1;
			}
			if (parse_set(ps, r) != 0)
				return -1;
		} else if (is_kw(&kw, "reason")) {
			if (parse_reason(ps, r, &kw) != 0)
				return -1;
		} else
			break;
	}
	if (!at_sync(ps)) {
		if (ps->tok.type != T_ERROR)
			perr(ps, ps->tok.line, ps->tok.col, "expected 'and', "
			    "'or', %s or a new rule, got %s", r->allow ? "'set'" :
			    "'reason'", tok_desc(ps, d, sizeof(d)));
		return -1;
	}
	return 0;
}

static struct policy_ruleset *
ruleset_find(const struct policy *pol, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < pol->nrulesets; i++)
		if (strlen(pol->rulesets[i].name) == len &&
		    memcmp(pol->rulesets[i].name, name, len) == 0)
			return &pol->rulesets[i];
	return NULL;
}

static void
ruleset_cleanup(struct policy_ruleset *rs)
{
	size_t	 i;

	for (i = 0; i < rs->nrules; i++)
		rule_cleanup(&rs->rules[i]);
	free(rs->rules);
	free(rs->name);
	free(rs->pcy);
	for (i = 0; i < rs->npf; i++)
		pcre2_code_free(rs->pf[i].re);
	free(rs->pf);
	memset(rs, 0, sizeof(*rs));
}

/* ocsp_failure allow|deny, inside a rule set: its own OCSP failure mode. */
static void
parse_ruleset_option(struct parser *ps, struct policy_ruleset *rs)
{
	struct tok	 kw = ps->tok;
	char		 d[128];

	advance(ps);
	if (!is_kw(&ps->tok, "allow") && !is_kw(&ps->tok, "deny")) {
		perr(ps, ps->tok.line, ps->tok.col, "ocsp_failure: expected "
		    "allow or deny, got %s", tok_desc(ps, d, sizeof(d)));
		sync_rule(ps);
		return;
	}
	if (rs->ocsp_failure != 0)
		perr(ps, kw.line, kw.col, "ocsp_failure set twice in rule set "
		    "'%s'", rs->name != NULL ? rs->name : "");
	else
		rs->ocsp_failure = is_kw(&ps->tok, "allow") ? 2 : 1;
	advance(ps);
}

/* The rule set's certificate policy settings, made on first use. */
static struct policy_pcy *
ruleset_pcy(struct parser *ps, struct policy_ruleset *rs)
{
	if (rs->pcy == NULL && (rs->pcy = calloc(1, sizeof(*rs->pcy))) == NULL)
		perr_oom(ps);
	return rs->pcy;
}

/*
 * require_policy OID..., explicit_policy on, inhibit_policy_mapping on,
 * inhibit_any_policy on: certificate policy settings checked in addition
 * to the global ones, which a rule set cannot turn off.
 */
static void
parse_ruleset_pcy(struct parser *ps, struct policy_ruleset *rs)
{
	struct tok		 kw = ps->tok;
	struct policy_pcy	*pcy;
	char			 name[32], d[128], oid[POLICY_OID_MAX];
	int			*flag;

	snprintf(name, sizeof(name), "%.*s", (int)kw.len, kw.s);
	advance(ps);
	if ((pcy = ruleset_pcy(ps, rs)) == NULL) {
		sync_rule(ps);
		return;
	}
	if (strcmp(name, "require_policy") == 0) {
		if (pcy->noids > 0) {
			perr(ps, kw.line, kw.col, "require_policy set twice in "
			    "rule set '%s'", rs->name != NULL ? rs->name : "");
			pcy->noids = 0;
		}
		while (ps->tok.type == T_IDENT || ps->tok.type == T_STRING) {
			if (ps->tok.type == T_STRING)
				snprintf(oid, sizeof(oid), "%.*s",
				    (int)ps->slen, ps->sbuf);
			else
				snprintf(oid, sizeof(oid), "%.*s",
				    (int)ps->tok.len, ps->tok.s);
			if (!policy_is_dotted_oid(oid)) {
				if (ps->tok.type == T_IDENT)
					break;	/* the next statement */
				perr(ps, ps->tok.line, ps->tok.col,
				    "require_policy: expected a dotted OID "
				    "like 2.16.840.1.101.3.2.1.3.13, got %s",
				    tok_desc(ps, d, sizeof(d)));
			} else if (strlen(oid) >= POLICY_OID_MAX - 1)
				perr(ps, ps->tok.line, ps->tok.col,
				    "require_policy: OID longer than %d bytes",
				    POLICY_OID_MAX - 2);
			else if (pcy->noids >= POLICY_PCY_OIDS_MAX)
				perr(ps, ps->tok.line, ps->tok.col,
				    "require_policy: more than %d OIDs",
				    POLICY_PCY_OIDS_MAX);
			else
				memcpy(pcy->oids[pcy->noids++], oid,
				    strlen(oid) + 1);
			advance(ps);
		}
		if (pcy->noids == 0)
			perr(ps, kw.line, kw.col, "require_policy: expected one "
			    "or more dotted OIDs, got %s", tok_desc(ps, d,
			    sizeof(d)));
		return;
	}
	flag = strcmp(name, "explicit_policy") == 0 ? &pcy->explicit_policy :
	    strcmp(name, "inhibit_policy_mapping") == 0 ?
	    &pcy->inhibit_mapping : &pcy->inhibit_any;
	if (is_kw(&ps->tok, "off")) {
		perr(ps, ps->tok.line, ps->tok.col, "%s off: a rule set can only "
		    "add to the global certificate policy settings (turn it "
		    "off in authd.conf)", name);
		advance(ps);
		return;
	}
	if (!is_kw(&ps->tok, "on")) {
		perr(ps, ps->tok.line, ps->tok.col, "%s: expected on, got %s",
		    name, tok_desc(ps, d, sizeof(d)));
		sync_rule(ps);
		return;
	}
	if (*flag)
		perr(ps, kw.line, kw.col, "%s set twice in rule set '%s'", name,
		    rs->name != NULL ? rs->name : "");
	*flag = 1;
	advance(ps);
}

/* decision_max_age DURATION: how long nginx may reuse this rule set's answers. */
static void
parse_ruleset_max_age(struct parser *ps, struct policy_ruleset *rs)
{
	struct tok	 kw = ps->tok;
	char		 d[128], v[32];
	const char	*why = "";
	time_t		 t;

	advance(ps);
	if (ps->tok.type != T_IDENT || ps->tok.len >= sizeof(v)) {
		perr(ps, ps->tok.line, ps->tok.col, "decision_max_age: expected "
		    "a duration like 30s or 5m, got %s", tok_desc(ps, d,
		    sizeof(d)));
		sync_rule(ps);
		return;
	}
	snprintf(v, sizeof(v), "%.*s", (int)ps->tok.len, ps->tok.s);
	if (config_parse_duration(v, &t, &why) != 0 || t > 86400)
		perr(ps, ps->tok.line, ps->tok.col, "decision_max_age: %s",
		    why[0] != '\0' ? why : "at most 1d");
	else if (rs->max_age != -1)
		perr(ps, kw.line, kw.col, "decision_max_age set twice in rule "
		    "set '%s'", rs->name != NULL ? rs->name : "");
	else
		rs->max_age = (long)t;
	advance(ps);
}

/* ruleset NAME { [ocsp_failure allow|deny] rule ... } */
static void
parse_ruleset(struct parser *ps)
{
	struct policy_ruleset	 rs, *dup;
	struct policy_rule	 r, *nr;
	struct tok		 name, open;
	char			 d[128];
	int			 keep = 1, toomany = 0;

	memset(&rs, 0, sizeof(rs));
	rs.max_age = -1;
	rs.line = ps->tok.line;
	ps->reads = 0;
	advance(ps);
	name = ps->tok;
	if (name_check(ps, &name, "rule set") != 0) {
		sync_top(ps);
		return;
	}
	advance(ps);
	if (ps->tok.type != T_LBRACE) {
		perr(ps, ps->tok.line, ps->tok.col, "expected '{' after rule "
		    "set name, got %s", tok_desc(ps, d, sizeof(d)));
		sync_top(ps);
		return;
	}
	open = ps->tok;
	if ((dup = ruleset_find(ps->pol, name.s, name.len)) != NULL) {
		perr(ps, name.line, name.col, "duplicate rule set '%.*s' (first "
		    "defined at line %d)", (int)name.len, name.s, dup->line);
		keep = 0;
	} else if (ps->pol->nrulesets >= POLICY_MAX_RULESETS) {
		perr(ps, name.line, name.col, "more than %d rule sets",
		    POLICY_MAX_RULESETS);
		keep = 0;
	}
	if ((rs.name = xstrndup(ps, name.s, name.len)) == NULL)
		keep = 0;
	advance(ps);
	while (ps->nerrors < POLICY_MAX_ERRORS) {
		if (ps->tok.type == T_RBRACE) {
			advance(ps);
			break;
		}
		if (ps->tok.type == T_EOF || is_kw(&ps->tok, "ruleset") ||
		    is_kw(&ps->tok, "list")) {
			perr(ps, ps->tok.line, ps->tok.col, "missing '}' to close "
			    "rule set '%s' opened at %d:%d", rs.name ? rs.name :
			    "", open.line, open.col);
			break;
		}
		if (is_kw(&ps->tok, "ocsp_failure")) {
			parse_ruleset_option(ps, &rs);
			continue;
		}
		if (is_kw(&ps->tok, "decision_max_age")) {
			parse_ruleset_max_age(ps, &rs);
			continue;
		}
		if (is_kw(&ps->tok, "require_policy") ||
		    is_kw(&ps->tok, "explicit_policy") ||
		    is_kw(&ps->tok, "inhibit_policy_mapping") ||
		    is_kw(&ps->tok, "inhibit_any_policy")) {
			parse_ruleset_pcy(ps, &rs);
			continue;
		}
		if (!is_kw(&ps->tok, "allow") && !is_kw(&ps->tok, "deny")) {
			if (ps->tok.type != T_ERROR)
				perr(ps, ps->tok.line, ps->tok.col, "expected "
				    "'allow', 'deny', a setting or '}', got %s",
				    tok_desc(ps, d, sizeof(d)));
			advance(ps);
			sync_rule(ps);
			continue;
		}
		if (parse_rule(ps, &r) != 0) {
			rule_cleanup(&r);
			sync_rule(ps);
			continue;
		}
		if (rs.nrules >= POLICY_MAX_RULES) {
			if (!toomany)
				perr(ps, r.line, 1, "rule set '%s' has more than "
				    "%d rules", rs.name, POLICY_MAX_RULES);
			toomany = 1;
			rule_cleanup(&r);
			continue;
		}
		if ((nr = realloc(rs.rules, (rs.nrules + 1) *
		    sizeof(*nr))) == NULL) {
			perr_oom(ps);
			rule_cleanup(&r);
			continue;
		}
		rs.rules = nr;
		rs.rules[rs.nrules++] = r;
	}
	rs.reads = ps->reads;
	rs.pcy_index = -1;
	if (keep && rs.pcy != NULL) {
		if (ps->pol->npcy >= POLICY_MAX_PCY) {
			perr(ps, rs.line, 1, "more than %d rule sets with "
			    "certificate policy settings", POLICY_MAX_PCY);
			keep = 0;
		} else
			rs.pcy_index = (int)ps->pol->npcy;
	}
	if (keep) {
		ps->pol->rulesets[ps->pol->nrulesets] = rs;
		if (rs.pcy_index >= 0)
			ps->pol->pcy[ps->pol->npcy++] =
			    &ps->pol->rulesets[ps->pol->nrulesets];
		ps->pol->nrulesets++;
	} else
		ruleset_cleanup(&rs);
}

/* ------------------------------------------------------------ prefilters */

/*
 * Whether the text t after "(?" opens a group whose effect PCRE2 keeps
 * inside the group: non-capturing, lookaround, atomic, or option letters
 * scoped to the enclosing group.  Not x or xx: their '#' comments would
 * run over the ')' that closes a member.  Anything else (named groups,
 * references, recursion, conditions, callouts, branch reset, comments)
 * is refused.
 */
static int
regex_group_plain(const char *t, size_t len)
{
	size_t	 i;

	if (len >= 1 && memchr(":=!>", t[0], 4) != NULL)
		return 1;
	if (len >= 2 && t[0] == '<' && (t[1] == '=' || t[1] == '!'))
		return 1;
	for (i = 0; i < len && memchr("imnsU^-", t[i], 7) != NULL; i++)
		;
	return i < len && (t[i] == ')' || t[i] == ':');
}

/*
 * Whether regex n means inside "(?:...)|" what it means alone, so that
 * it may join a prefilter.  Refused: references to a group by number or
 * name (numbers shift in an alternation: \1 to \9, and \10 and up may be
 * octal alone and a reference there), recursion and subroutine calls,
 * anything that acts on the whole match ((* verbs and start options,
 * callouts, \K, \G), anything that reads to the end of the pattern (\Q,
 * x mode), bytes outside printable ASCII, and a regex PCRE2 did not JIT
 * compile (alone it would have the depth limit a JIT prefilter has not).
 * A text scan that ignores escapes and classes, so it refuses more than
 * it must, never less.
 */
static int
regex_plain(const struct policy_node *n)
{
	const char	*s = n->str;
	uint32_t	 refs;
	size_t		 i, jit;

	if (n->len > POLICY_REGEX_MAX || pcre2_pattern_info(n->re,
	    PCRE2_INFO_BACKREFMAX, &refs) != 0 || refs != 0)
		return 0;
	if (pcre2_pattern_info(n->re, PCRE2_INFO_JITSIZE, &jit) != 0 ||
	    jit == 0)
		return 0;
	for (i = 0; i < n->len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
		if (i + 1 == n->len)
			break;
		if (s[i] == '\\' && memchr("QKGgk123456789", s[i + 1], 14) !=
		    NULL)
			return 0;
		if (s[i] == '(' && s[i + 1] == '*')
			return 0;
		if (s[i] == '(' && s[i + 1] == '?' &&
		    !regex_group_plain(s + i + 2, n->len - i - 2))
			return 0;
	}
	return 1;
}

/*
 * The plain regexes under n, in evaluation order, and whether each is the
 * first comparison of its rule (*ntests counts the rule's); counts them
 * if !v.
 */
static void
prefilter_collect(struct policy_node *n, struct policy_node **v,
    int *leading, size_t *nv, size_t *ntests)
{
	size_t	 i;

	if (n->kind == PN_TEST && n->op == PO_MATCH && regex_plain(n)) {
		if (v != NULL) {
			v[*nv] = n;
			leading[*nv] = *ntests == 0;
		}
		(*nv)++;
	}
	if (n->kind == PN_TEST)
		(*ntests)++;
	for (i = 0; i < n->nkids; i++)
		prefilter_collect(n->kids[i], v, leading, nv, ntests);
}

/*
 * Members read the same value, and both lead their rules or both come
 * after another comparison.  Those after one are often broad, made narrow
 * by what comes first (san.uri ~ "..." and path ~ "^/api/"): beside the
 * leading ones such a member would make their prefilter match on most
 * requests, and run them all alone.
 */
static int
prefilter_together(const struct policy_node *a, int alead,
    const struct policy_node *b, int blead)
{
	return alead == blead && a->field == b->field && (a->attr == NULL ?
	    b->attr == NULL : b->attr != NULL && strcmp(a->attr, b->attr) == 0);
}

/*
 * One pattern of the members of slot k, compiled and JIT-compiled; NULL
 * when PCRE2 refuses it (the members then run alone, as without).
 */
static pcre2_code *
prefilter_compile(struct parser *ps, struct policy_node **v, size_t nv,
    const size_t *slot, size_t k, size_t len)
{
	pcre2_code	*re = NULL;
	PCRE2_SIZE	 off;
	char		*text;
	size_t		 i, o = 0;
	int		 code;

	if ((text = malloc(len + 1)) == NULL) {
		perr_oom(ps);
		return NULL;
	}
	for (i = 0; i < nv; i++) {
		if (slot[i] != k)
			continue;
		if (o > 0)
			text[o++] = '|';
		memcpy(text + o, "(?:", 3);
		memcpy(text + o + 3, v[i]->str, v[i]->len);
		o += 3 + v[i]->len;
		text[o++] = ')';
	}
	re = pcre2_compile((PCRE2_SPTR)text, o, 0, &code, &off, NULL);
	if (re != NULL && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0) {
		pcre2_code_free(re);
		re = NULL;
	}
	free(text);
	return re;
}

/*
 * The prefilters of a rule set.  Its plain regexes, in file order, join
 * the first prefilter they go together with (prefilter_together) that
 * has room (POLICY_PREFILTER_MEMBERS, POLICY_PREFILTER_LEN), or start one
 * while there are fewer than POLICY_MAX_PREFILTERS; a prefilter of one
 * member, or one PCRE2 will not compile, is dropped.  Out of memory is
 * reported, as ps->oom.
 */
static void
prefilter_build(struct parser *ps, struct policy_ruleset *rs)
{
	struct policy_node	**v = NULL;
	struct policy_node	*first[POLICY_MAX_PREFILTERS];
	int			 firstlead[POLICY_MAX_PREFILTERS];
	size_t			 len[POLICY_MAX_PREFILTERS];
	size_t			 cnt[POLICY_MAX_PREFILTERS];
	size_t			*slot = NULL, nv = 0, nslots = 0, i, k, nt;
	int			*leading = NULL;
	pcre2_code		*re;

	for (i = 0; i < rs->nrules; i++) {
		nt = 0;
		prefilter_collect(rs->rules[i].cond, NULL, NULL, &nv, &nt);
	}
	if (nv < 2)
		return;
	if ((v = calloc(nv, sizeof(*v))) == NULL ||
	    (leading = calloc(nv, sizeof(*leading))) == NULL ||
	    (slot = calloc(nv, sizeof(*slot))) == NULL ||
	    (rs->pf = calloc(POLICY_MAX_PREFILTERS, sizeof(*rs->pf))) ==
	    NULL) {
		perr_oom(ps);
		goto end;
	}
	nv = 0;
	for (i = 0; i < rs->nrules; i++) {
		nt = 0;
		prefilter_collect(rs->rules[i].cond, v, leading, &nv, &nt);
	}
	for (i = 0; i < nv; i++) {
		for (k = 0; k < nslots; k++)
			if (prefilter_together(first[k], firstlead[k], v[i],
			    leading[i]) &&
			    cnt[k] < POLICY_PREFILTER_MEMBERS &&
			    len[k] + 1 + v[i]->len + 4 <= POLICY_PREFILTER_LEN)
				break;
		if (k == nslots) {
			if (nslots == POLICY_MAX_PREFILTERS) {
				slot[i] = POLICY_MAX_PREFILTERS;	/* alone */
				continue;
			}
			first[k] = v[i];
			firstlead[k] = leading[i];
			len[k] = cnt[k] = 0;
			nslots++;
		}
		slot[i] = k;
		len[k] += (cnt[k] > 0) + v[i]->len + 4;
		cnt[k]++;
	}
	for (k = 0; k < nslots; k++) {
		if (cnt[k] < 2)
			continue;
		if ((re = prefilter_compile(ps, v, nv, slot, k, len[k])) ==
		    NULL) {
			if (ps->oom)
				goto end;
			continue;
		}
		rs->pf[rs->npf].re = re;
		rs->pf[rs->npf].i = rs->npf;
		rs->pf[rs->npf].nmembers = cnt[k];
		for (i = 0; i < nv; i++)
			if (slot[i] == k)
				v[i]->pf = &rs->pf[rs->npf];
		rs->npf++;
	}
end:
	free(v);
	free(leading);
	free(slot);
}

/* ------------------------------------------------------------ file */

/* Whole file into ps->buf, bounded; line length and NUL checked here. */
static int
read_source(struct parser *ps, const char *path)
{
	struct stat	 sb;
	FILE		*f;
	size_t		 n, i, ls = 0, cap;
	int		 line = 1;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(ps->errf, "%s: cannot open: %s\n", path,
		    strerror(errno));
		ps->nerrors++;
		return -1;
	}
	/*
	 * Sized by the file (a policy is a few KiB; a reload must not cost a
	 * megabyte), one byte more to see that it did not grow meanwhile.
	 */
	cap = POLICY_FILE_MAX + 1;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size >= 0 && (size_t)sb.st_size < POLICY_FILE_MAX)
		cap = (size_t)sb.st_size + 1;
	if ((ps->buf = malloc(cap + 1)) == NULL) {
		fclose(f);
		ps->oom = 1;
		return -1;
	}
	n = fread(ps->buf, 1, cap, f);
	if (n == cap && cap <= POLICY_FILE_MAX) {
		fprintf(ps->errf, "%s: changed while being read\n", path);
		ps->nerrors++;
		fclose(f);
		return -1;
	}
	if (ferror(f) || n > POLICY_FILE_MAX) {
		fprintf(ps->errf, "%s: %s\n", path, ferror(f) ? "read error" :
		    "larger than 1048576 bytes");
		ps->nerrors++;
		fclose(f);
		return -1;
	}
	fclose(f);
	ps->len = n;
	ps->buf[n] = '\0';
	for (i = 0; i <= n; i++) {
		if (i == n || ps->buf[i] == '\n') {
			if (i - ls > POLICY_LINE_MAX)
				perr(ps, line, POLICY_LINE_MAX + 1, "line longer "
				    "than %d bytes", POLICY_LINE_MAX);
			line++;
			ls = i + 1;
		} else if (ps->buf[i] == '\0') {
			perr(ps, line, (int)(i - ls) + 1, "NUL byte");
			ps->buf[i] = ' ';
		}
	}
	return 0;
}

int
policy_load(const char *path, FILE *errf, struct policy **out)
{
	return policy_load_store(path, errf, NULL, out);
}

int
policy_load_store(const char *path, FILE *errf, struct store *store,
    struct policy **out)
{
	struct parser	*ps = NULL;
	struct policy	*pol = NULL;
	const char	*slash;
	size_t		 i;
	int		 rc = AUTHD_ENOMEM;

	*out = NULL;
	if (errf == NULL)
		errf = stderr;
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (pol = calloc(1, sizeof(*pol))) == NULL ||
	    (pol->file = strdup(path)) == NULL ||
	    (pol->rulesets = calloc(POLICY_MAX_RULESETS,
	    sizeof(*pol->rulesets))) == NULL ||
	    (pol->lists = calloc(POLICY_MAX_LISTS, sizeof(*pol->lists))) ==
	    NULL || (pol->match_errors = malloc(sizeof(*pol->match_errors))) ==
	    NULL || (pol->mctx = pcre2_match_context_create(NULL)) == NULL)
		goto end;
	atomic_init(pol->match_errors, 0);
	pcre2_set_match_limit(pol->mctx, POLICY_MATCH_LIMIT);
	pcre2_set_depth_limit(pol->mctx, POLICY_DEPTH_LIMIT);
	pcre2_set_heap_limit(pol->mctx, POLICY_HEAP_LIMIT_KIB);
	ps->file = pol->file;
	ps->store = store;
	ps->errf = errf;
	ps->pol = pol;
	ps->line = 1;
	if ((slash = strrchr(path, '/')) != NULL)
		snprintf(ps->dir, sizeof(ps->dir), "%.*s",
		    slash == path ? 1 : (int)(slash - path), path);
	if (read_source(ps, path) != 0) {
		rc = ps->oom ? AUTHD_ENOMEM : AUTHD_ECONFIG;
		goto end;
	}
	advance(ps);
	while (ps->tok.type != T_EOF && ps->nerrors < POLICY_MAX_ERRORS) {
		if (is_kw(&ps->tok, "list"))
			parse_list(ps);
		else if (is_kw(&ps->tok, "ruleset"))
			parse_ruleset(ps);
		else {
			char	 d[128];

			if (ps->tok.type != T_ERROR)
				perr(ps, ps->tok.line, ps->tok.col, "expected "
				    "'list' or 'ruleset', got %s",
				    tok_desc(ps, d, sizeof(d)));
			advance(ps);
			sync_top(ps);
		}
	}
	for (i = 0; !ps->oom && ps->nerrors == 0 && i < pol->nrulesets; i++)
		prefilter_build(ps, &pol->rulesets[i]);
	if (ps->oom)
		rc = AUTHD_ENOMEM;
	else if (ps->nerrors > 0)
		rc = AUTHD_ECONFIG;
	else {
		*out = pol;
		pol = NULL;
		rc = 0;
	}
end:
	if (ps != NULL)
		free(ps->buf);
	free(ps);
	policy_free(&pol);
	return rc;
}

void
policy_free(struct policy **pp)
{
	struct policy	*p;
	size_t		 i;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	for (i = 0; p->rulesets != NULL && i < p->nrulesets; i++)
		ruleset_cleanup(&p->rulesets[i]);
	for (i = 0; p->lists != NULL && i < p->nlists; i++) {
		free(p->lists[i].name);
		free(p->lists[i].path);
		free(p->lists[i].arena);
		free(p->lists[i].slots);
	}
	free(p->rulesets);
	free(p->lists);
	pcre2_match_context_free(p->mctx);
	free(p->match_errors);
	free(p->file);
	free(p);
	*pp = NULL;
}

void
policy_node_free(struct policy_node *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		policy_node_free(n->kids[i]);
	free(n->kids);
	free(n->attr);
	free(n->str);
	pcre2_code_free(n->re);
	free(n);
}
