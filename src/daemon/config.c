// SPDX-License-Identifier: MIT
/*
 * The configuration reader: ipsec.conf text in, er_conn_config values out.
 *
 * It works in two passes.  The first reads lines -- from the buffer, and
 * from each included file in place of its include line -- and files every
 * keyword under its section with its value already parsed and checked, so
 * that a bad value is reported at its own line even in a section that is
 * only used through also=.  The second resolves each conn: its own
 * keywords first, then those of its also= sections, then those of the
 * conn %default sections above it.  It completes the description
 * (defaults, %defaultroute, subnet combinations, group destinations) and
 * hands each result to er_conn_config_check().  The result is kept only
 * when neither pass found an error.
 *
 * This module owns the parser's bookkeeping and the struct config it
 * returns; it does not own what a connection means (conn.c checks that)
 * nor where the default route is (the caller's hook says).
 *
 * Bounds: lines, files, include and also= depth, subnets and connections
 * all have limits (config.h), and every step is linear or n log n in its
 * input, so hostile text costs memory and time in proportion to its size.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "compat/tree.h"

#define MINUTE 60u
#define HOUR (60u * MINUTE)
#define DAY (24u * HOUR)

/* Defaults of config setup (libreswan's). */
#define SHUNT_LIFETIME_DEFAULT (15 * MINUTE)
#define EXPIRE_SHUNT_INTERVAL_DEFAULT 20
#define XFRM_LIFETIME_DEFAULT 30

#define MSG_MAX 512		/* one error message */
#define SHOWN_MAX 64		/* characters of a value quoted in a message */
#define ALSO_MAX 16		/* also= lines in one conn */
#define SECTIONS_MAX 16384	/* conn sections */

enum kw {
	KW_SHUNTLIFETIME,
	KW_EXPIRE_SHUNT_INTERVAL,
	KW_XFRMLIFETIME,
	KW_KEEP_POLICIES,
	KW_UNIQUEIDS,
	KW_ALSO,
	KW_LEFT,
	KW_RIGHT,
	KW_LEFTSUBNET,
	KW_RIGHTSUBNET,
	KW_LEFTPROTOPORT,
	KW_RIGHTPROTOPORT,
	KW_TYPE,
	KW_AUTO,
	KW_NEGOTIATIONSHUNT,
	KW_FAILURESHUNT,
	KW_KEYINGTRIES,
	KW_RETRANSMIT_TIMEOUT,
	KW_IKELIFETIME,
	KW_SALIFETIME,
	KW_REKEYMARGIN,
	KW_PRIORITY,
	KW_REQID,
	KW_LEFTUPDOWN,
	KW_AUTHBY,
	KW_COUNT
};

enum kw_type {
	T_DURATION,
	T_NUMBER,
	T_KEYINGTRIES,
	T_YESNO,
	T_HOST,
	T_SUBNETS,
	T_PROTOPORT,
	T_TYPE,
	T_AUTO,
	T_NEGSHUNT,
	T_FAILSHUNT,
	T_UPDOWN,
	T_AUTHBY,
	T_ALSO,
};

static const struct keyword {
	const char *name;
	enum kw_type type;
	bool setup;		/* belongs in config setup, else in a conn */
	uint64_t min, max;	/* durations (seconds) and numbers */
} keywords[KW_COUNT] = {
	[KW_SHUNTLIFETIME] = {"shuntlifetime", T_DURATION, true, 1, 30 * DAY},
	[KW_EXPIRE_SHUNT_INTERVAL] = {"expire-shunt-interval", T_DURATION,
				      true, 1, HOUR},
	[KW_XFRMLIFETIME] = {"xfrmlifetime", T_DURATION, true, 1, HOUR},
	[KW_KEEP_POLICIES] = {"keep-policies", T_YESNO, true, 0, 0},
	[KW_UNIQUEIDS] = {"uniqueids", T_YESNO, true, 0, 0},
	[KW_ALSO] = {"also", T_ALSO, false, 0, 0},
	[KW_LEFT] = {"left", T_HOST, false, 0, 0},
	[KW_RIGHT] = {"right", T_HOST, false, 0, 0},
	[KW_LEFTSUBNET] = {"leftsubnet", T_SUBNETS, false, 0, 0},
	[KW_RIGHTSUBNET] = {"rightsubnet", T_SUBNETS, false, 0, 0},
	[KW_LEFTPROTOPORT] = {"leftprotoport", T_PROTOPORT, false, 0, 0},
	[KW_RIGHTPROTOPORT] = {"rightprotoport", T_PROTOPORT, false, 0, 0},
	[KW_TYPE] = {"type", T_TYPE, false, 0, 0},
	[KW_AUTO] = {"auto", T_AUTO, false, 0, 0},
	[KW_NEGOTIATIONSHUNT] = {"negotiationshunt", T_NEGSHUNT, false, 0, 0},
	[KW_FAILURESHUNT] = {"failureshunt", T_FAILSHUNT, false, 0, 0},
	[KW_KEYINGTRIES] = {"keyingtries", T_KEYINGTRIES, false, 0,
			    UINT32_MAX},
	[KW_RETRANSMIT_TIMEOUT] = {"retransmit-timeout", T_DURATION, false, 1,
				   DAY},
	[KW_IKELIFETIME] = {"ikelifetime", T_DURATION, false, 1, DAY},
	[KW_SALIFETIME] = {"salifetime", T_DURATION, false, 1, DAY},
	[KW_REKEYMARGIN] = {"rekeymargin", T_DURATION, false, 0, DAY},
	[KW_PRIORITY] = {"priority", T_NUMBER, false, 0, UINT32_MAX},
	[KW_REQID] = {"reqid", T_NUMBER, false, 1, UINT32_MAX},
	[KW_LEFTUPDOWN] = {"leftupdown", T_UPDOWN, false, 0, 0},
	[KW_AUTHBY] = {"authby", T_AUTHBY, false, 0, 0},
};

/* The group names libreswan gives a policies/NAME file. */
static const char *const group_names[] = {
	"private", "private-or-clear", "clear-or-private", "clear", "block",
};

/* Authentication methods libreswan knows; eroute only cares about null. */
static const char *const authby_names[] = {
	"null", "secret", "psk", "rsasig", "rsa", "ecdsa", "never", "eaponly",
	"rsa-sha1", "rsa-sha2", "rsa-sha2_256", "rsa-sha2_384",
	"rsa-sha2_512",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum host_kind {
	HOST_ADDR,
	HOST_ANY,
	HOST_DEFAULTROUTE,
	HOST_GROUP,
};

/* One keyword line, its value parsed. */
struct kv {
	enum kw kw;
	const char *file;	/* interned in the parser */
	unsigned line;
	uint32_t seq;		/* reading order, for conn %default */
	char *raw;		/* the value as written */
	union {
		uint64_t num;
		bool yes;
		int e;
		struct {
			enum host_kind kind;
			struct er_addr addr;
		} host;
		struct {
			uint8_t proto;
			struct er_port_range ports;
		} pp;
		struct {
			struct er_prefix *v;
			size_t n;
		} nets;
	} v;
};

enum section_kind {
	SEC_SETUP,
	SEC_DEFAULT,
	SEC_CONN,
};

enum resolve_state {
	RES_NEW,
	RES_VISITING,
	RES_DONE,
	RES_FAILED,
};

struct section {
	enum section_kind kind;
	char name[CONFIG_CONN_NAME_MAX];
	const char *file;
	unsigned line;
	uint32_t seq;
	bool dead;		/* a duplicate: checked, never used */
	struct kv *kvs;
	size_t nkvs, cap;
	size_t nalso;
	int idx[KW_COUNT];	/* kvs index of each keyword, -1 if unset */
	enum resolve_state state;
	/* Own keywords, else those of the also= sections; no %default. */
	const struct kv **view;
	RB_ENTRY(section) node;
};

static int
section_cmp(const struct section *a, const struct section *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(section_tree, section);
RB_GENERATE_STATIC(section_tree, section, node, section_cmp)

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct parser {
	const struct config_options *opts;
	struct config_errors *errs;
	bool failed;
	bool nomem;
	size_t nerr;		/* errors reported, kept or not */
	/* Lexing. */
	struct section setup, deflt;
	struct section **secs;	/* conn sections in reading order */
	size_t nsecs, secs_cap;
	struct section_tree names;
	struct section *cur;	/* where keyword lines go */
	bool skipping;		/* after a bad section header */
	uint32_t seq;
	char **files;		/* interned names, for kv.file */
	size_t nfiles, files_cap;
	struct file_id stack[CONFIG_INCLUDE_DEPTH];
	size_t depth;
	size_t total;		/* bytes read from files */
	/* Resolution. */
	const struct section *also_path[CONFIG_ALSO_DEPTH + 1];
	size_t also_depth;
	/* Output. */
	struct config *cfg;
	size_t conns_cap, prefixes_cap;
	size_t *roff;		/* per conn: offset into cfg->prefixes */
	size_t roff_cap;
	bool conns_full;
};

/* A line of text; @ctx is the caller's. */
typedef void line_fn(struct parser *p, void *ctx, const char *file,
		     unsigned lineno, char *line, size_t len);

static const struct config_options no_options;

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

void
config_errors_init(struct config_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

void
config_errors_fini(struct config_errors *errs)
{
	for (size_t i = 0; errs != NULL && i < errs->n; i++)
		free(errs->msgs[i]);
	if (errs != NULL) {
		free(errs->msgs);
		memset(errs, 0, sizeof(*errs));
	}
}

/*
 * A message cut short by its buffer: end it with "..." on a character
 * boundary, so that a long file name never leaves half a UTF-8 sequence
 * in a log line or a JSON answer.
 */
static void
msg_truncate(char *msg, size_t size)
{
	size_t end = size - 4;

	while (end > 0 && ((unsigned char)msg[end] & 0xc0) == 0x80)
		end--;
	memcpy(msg + end, "...", 4);
}

static bool is_control(uint32_t c);

/* Whatever a message quotes (a file name from a directory, a value cut
 * short, a tab), it is one line of UTF-8 text without control
 * characters: anything else becomes '?'. */
static void
msg_sanitize(char *msg)
{
	size_t n = strlen(msg), len;
	uint32_t c;

	for (size_t i = 0; i < n; i += len) {
		len = er_utf8_char(msg + i, n - i, &c);
		if (len == 0 || is_control(c) || c == '\t') {
			len = len > 0 ? len : 1;
			memset(msg + i, '?', len);
		}
	}
}

static void
vperr(struct parser *p, const char *file, unsigned line, const char *fmt,
      va_list ap)
{
	struct config_errors *errs = p->errs;
	char msg[MSG_MAX];
	int n;

	p->failed = true;
	p->nerr++;
	if (errs == NULL)
		goto out;
	if (errs->n >= CONFIG_ERRORS_MAX) {
		errs->dropped++;
		goto out;
	}
	if (errs->msgs == NULL) {
		errs->msgs = calloc(CONFIG_ERRORS_MAX, sizeof(*errs->msgs));
		if (errs->msgs == NULL) {
			p->nomem = true;
			goto out;
		}
	}
	n = snprintf(msg, sizeof(msg), "%s:%u: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	n += vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if ((size_t)n >= sizeof(msg))
		msg_truncate(msg, sizeof(msg));
	msg_sanitize(msg);
	errs->msgs[errs->n] = strdup(msg);
	if (errs->msgs[errs->n] == NULL)
		p->nomem = true;
	else
		errs->n++;
out:
	return;
}

static void perr(struct parser *p, const char *file, unsigned line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
perr(struct parser *p, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(p, file, line, fmt, ap);
	va_end(ap);
}

static void perr_at(struct parser *p, const struct kv *kv,
		    const struct section *sec, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An error at @kv's line, or at the conn header when the value came from
 * a default rather than a line. */
static void
perr_at(struct parser *p, const struct kv *kv, const struct section *sec,
	const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (kv != NULL)
		vperr(p, kv->file, kv->line, fmt, ap);
	else
		vperr(p, sec->file, sec->line, fmt, ap);
	va_end(ap);
}

/*
 * @s as it may appear in a message: printable, and short enough that an
 * error about a 4 KB line is still one readable line.
 */
static const char *
shown(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[i] = '\0';
	if (s[i] != '\0' && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

#define SHOWN(buf, s) shown(buf, sizeof(buf), s)

/* ------------------------------------------------------------------ */
/* Small pieces                                                       */
/* ------------------------------------------------------------------ */

/* @v grown to hold @need elements of @size (capacity doubles); NULL when
 * memory runs out, with @v untouched. */
static void *
array_grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap;
	void *nv = v;

	if (need <= n)
		goto out;
	n = n < 8 ? 8 : n;
	while (n < need && n <= SIZE_MAX / 2)
		n *= 2;
	if (n < need || n > SIZE_MAX / size) {
		nv = NULL;
		goto out;
	}
	nv = realloc(v, n * size);
	if (nv != NULL)
		*cap = n;
out:
	return nv;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "2h", "15m", "20s" or, when no unit divides it, plain seconds. */
static const char *
duration_format(char *buf, size_t size, uint64_t secs)
{
	static const struct {
		uint64_t mul;
		char unit;
	} units[] = {{DAY, 'd'}, {HOUR, 'h'}, {MINUTE, 'm'}};
	uint64_t n = secs;
	char unit = 's';

	for (size_t i = 0; i < ARRAY_SIZE(units) && unit == 's'; i++) {
		if (secs != 0 && secs % units[i].mul == 0) {
			n = secs / units[i].mul;
			unit = units[i].unit;
		}
	}
	snprintf(buf, size, "%llu%c", (unsigned long long)n, unit);
	return buf;
}

/* The directory part of @file joined with @rel; @rel if absolute. */
static int
path_join(char *out, size_t size, const char *file, const char *rel)
{
	const char *slash = strrchr(file, '/');
	int n;

	if (rel[0] == '/' || slash == NULL)
		n = snprintf(out, size, "%s", rel);
	else
		n = snprintf(out, size, "%.*s/%s", (int)(slash - file), file,
			     rel);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool
is_group_name(const char *name)
{
	bool found = false;

	for (size_t i = 0; i < ARRAY_SIZE(group_names) && !found; i++)
		found = strcmp(name, group_names[i]) == 0;
	return found;
}

/* Letters, digits, '.', '-', '_'; not starting with '.' or '-'.  Instance
 * and combination names add '#' and '/', so those never clash. */
static int
conn_name_check(const char *s, struct er_err *err)
{
	size_t len = strlen(s);
	int ret = -EINVAL;

	if (len == 0) {
		er_err_set(err, ret, "empty connection name");
		goto out;
	}
	if (len >= CONFIG_CONN_NAME_MAX) {
		er_err_set(err, ret,
			   "connection name longer than %d characters",
			   CONFIG_CONN_NAME_MAX - 1);
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  is_digit(c) || c == '_' ||
			  (i > 0 && (c == '.' || c == '-'));

		if (!ok) {
			er_err_set(err, ret,
				   "connection names are letters, digits, "
				   "'.', '-' and '_'");
			goto out;
		}
	}
	ret = 0;
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Values                                                             */
/* ------------------------------------------------------------------ */

/* Decimal digits at *@s, advancing *@s past them. */
static int
digits_parse(uint64_t *out, const char **s, struct er_err *err)
{
	const char *p = *s;
	uint64_t n = 0;
	int ret = -EINVAL;

	if (*p == '-') {
		er_err_set(err, ret, "negative values are not allowed");
		goto out;
	}
	if (!is_digit(*p)) {
		er_err_set(err, ret, "not a number");
		goto out;
	}
	for (; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10) {
			er_err_set(err, ret, "number too large");
			goto out;
		}
		n = n * 10 + d;
	}
	*out = n;
	*s = p;
	ret = 0;
out:
	return ret;
}

static int
range_check(uint64_t v, const struct keyword *k, struct er_err *err)
{
	char lo[24], hi[24];
	int ret = 0;

	if (v >= k->min && v <= k->max)
		goto out;
	ret = -EINVAL;
	if (k->type == T_DURATION)
		er_err_set(err, ret, "out of range %s-%s",
			   duration_format(lo, sizeof(lo), k->min),
			   duration_format(hi, sizeof(hi), k->max));
	else
		er_err_set(err, ret, "out of range %llu-%llu",
			   (unsigned long long)k->min,
			   (unsigned long long)k->max);
out:
	return ret;
}

/* A number of seconds, or a number with an s, m, h or d suffix. */
static int
duration_parse(struct kv *kv, const struct keyword *k, const char *s,
	       struct er_err *err)
{
	uint64_t n = 0, mul = 1;
	int ret = digits_parse(&n, &s, err);

	if (ret < 0)
		goto out;
	ret = -EINVAL;
	switch (*s) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = MINUTE;
		break;
	case 'h':
		mul = HOUR;
		break;
	case 'd':
		mul = DAY;
		break;
	case '.':
		er_err_set(err, ret, "not a whole number");
		goto out;
	default:
		er_err_set(err, ret, "unknown unit; use s, m, h or d");
		goto out;
	}
	if (*s != '\0' && s[1] != '\0') {
		er_err_set(err, ret, "text after the unit");
		goto out;
	}
	if (n > UINT64_MAX / mul) {
		er_err_set(err, ret, "number too large");
		goto out;
	}
	ret = range_check(n * mul, k, err);
	if (ret == 0)
		kv->v.num = n * mul;
out:
	return ret;
}

static int
number_parse(struct kv *kv, const struct keyword *k, const char *s,
	     struct er_err *err)
{
	uint64_t n = 0;
	int ret = digits_parse(&n, &s, err);

	if (ret < 0)
		goto out;
	if (*s != '\0') {
		ret = er_err_set(err, -EINVAL, "not a number");
		goto out;
	}
	ret = range_check(n, k, err);
	if (ret == 0)
		kv->v.num = n;
out:
	return ret;
}

static int
keyingtries_parse(struct kv *kv, const struct keyword *k, const char *s,
		  struct er_err *err)
{
	int ret = 0;

	/* 0 means %forever too, as in libreswan. */
	if (strcmp(s, "%forever") == 0)
		kv->v.num = 0;
	else
		ret = number_parse(kv, k, s, err);
	return ret;
}

static int
yesno_parse(struct kv *kv, const char *s, struct er_err *err)
{
	int ret = 0;

	if (strcmp(s, "yes") == 0)
		kv->v.yes = true;
	else if (strcmp(s, "no") == 0)
		kv->v.yes = false;
	else
		ret = er_err_set(err, -EINVAL, "expected yes or no");
	return ret;
}

static int
host_parse(struct kv *kv, const char *s, struct er_err *err)
{
	bool left = kv->kw == KW_LEFT;
	int ret = 0;

	memset(&kv->v.host, 0, sizeof(kv->v.host));
	if (strcmp(s, "%any") == 0) {
		kv->v.host.kind = HOST_ANY;
		kv->v.host.addr.family = AF_UNSPEC;
	} else if (strcmp(s, "%any4") == 0 || strcmp(s, "%any6") == 0) {
		kv->v.host.kind = HOST_ANY;
		kv->v.host.addr.family = s[4] == '4' ? AF_INET : AF_INET6;
	} else if (strcmp(s, "%defaultroute") == 0) {
		if (left)
			kv->v.host.kind = HOST_DEFAULTROUTE;
		else
			ret = er_err_set(err, -EINVAL,
					 "only left= (this host) can be "
					 "%%defaultroute");
	} else if (strcmp(s, "%opportunisticgroup") == 0) {
		if (!left)
			kv->v.host.kind = HOST_GROUP;
		else
			ret = er_err_set(err, -EINVAL,
					 "only right= can be "
					 "%%opportunisticgroup");
	} else if (s[0] == '%') {
		ret = er_err_set(err, -EINVAL,
				 "expected an address, %%any, %s",
				 left ? "or %defaultroute"
				      : "or %opportunisticgroup");
	} else if (er_addr_parse(&kv->v.host.addr, s, NULL) < 0) {
		ret = er_err_set(err, -EINVAL,
				 "not an IPv4 or IPv6 address (host names "
				 "are not looked up)");
	} else {
		kv->v.host.kind = er_addr_is_any(&kv->v.host.addr) ? HOST_ANY
								  : HOST_ADDR;
	}
	return ret;
}

static int
prefix_cmp_qsort(const void *a, const void *b)
{
	return er_prefix_cmp(a, b);
}

/* One prefix or several: "a", "a, b", "a,b" or "{a b}". */
static int
subnets_parse(struct kv *kv, const char *s, struct er_err *err)
{
	char tok[ER_PREFIX_STRLEN + 16], buf[ER_PREFIX_STRLEN];
	struct er_prefix *v = NULL, *sorted = NULL;
	size_t n = 0, len = strlen(s);
	const char *end = s + len;
	int ret = -EINVAL;

	if (s[0] == '{') {
		if (len < 2 || s[len - 1] != '}') {
			er_err_set(err, ret, "\"{\" without a closing \"}\"");
			goto out;
		}
		s++;
		end--;
	}
	v = calloc(CONFIG_SUBNETS_MAX, sizeof(*v));
	if (v == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	while (s < end) {
		size_t tl;
		int r;

		while (s < end && (is_blank(*s) || *s == ','))
			s++;
		for (tl = 0; s + tl < end && !is_blank(s[tl]) && s[tl] != ',';
		     tl++)
			;
		if (tl == 0)
			break;
		if (n == CONFIG_SUBNETS_MAX) {
			er_err_set(err, ret, "more than %d prefixes",
				   CONFIG_SUBNETS_MAX);
			goto out;
		}
		if (tl >= sizeof(tok)) {
			er_err_set(err, ret, "\"%.*s...\": not a prefix", 32,
				   s);
			goto out;
		}
		memcpy(tok, s, tl);
		tok[tl] = '\0';
		s += tl;
		r = er_prefix_parse(&v[n], tok, err);
		if (r < 0)
			goto out;
		if (r == ER_PREFIX_NORMALISED) {
			er_prefix_format(&v[n], buf, sizeof(buf));
			er_err_set(err, ret, "\"%s\": host bits set; did you "
					     "mean %s?",
				   tok, buf);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		er_err_set(err, ret, "no prefix");
		goto out;
	}
	/* Sorted, a prefix listed twice sits next to itself. */
	sorted = malloc(n * sizeof(*sorted));
	if (sorted == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), prefix_cmp_qsort);
	for (size_t i = 1; i < n; i++) {
		if (er_prefix_equal(&sorted[i - 1], &sorted[i])) {
			er_prefix_format(&sorted[i], buf, sizeof(buf));
			er_err_set(err, ret, "%s is listed twice", buf);
			goto out;
		}
	}
	kv->v.nets.v = v;
	kv->v.nets.n = n;
	v = NULL;
	ret = 0;
out:
	if (ret == -ENOMEM)
		er_err_set(err, ret, "out of memory");
	free(sorted);
	free(v);
	return ret;
}

/* "tcp", "tcp/80", "udp/%any", "6/1000-2000". */
static int
protoport_parse(struct kv *kv, const char *s, struct er_err *err)
{
	char buf[64], name[16];
	char *slash;
	int ret = -EINVAL;

	if (strlen(s) >= sizeof(buf)) {
		er_err_set(err, ret, "expected PROTOCOL or PROTOCOL/PORT");
		goto out;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	ret = er_proto_parse(&kv->v.pp.proto, buf, err);
	if (ret < 0)
		goto out;
	kv->v.pp.ports.lo = 0;
	kv->v.pp.ports.hi = 65535;
	if (slash == NULL)
		goto out;
	ret = er_port_range_parse(&kv->v.pp.ports, slash + 1, err);
	if (ret < 0)
		goto out;
	if (!er_proto_has_ports(kv->v.pp.proto) &&
	    !er_port_range_is_any(&kv->v.pp.ports)) {
		er_proto_format(kv->v.pp.proto, name, sizeof(name));
		ret = er_err_set(err, -EINVAL, "protocol %s has no ports",
				 name);
	}
out:
	return ret;
}

static int
updown_parse(const char *s, struct er_err *err)
{
	int ret = 0;

	if (strlen(s) >= ER_UPDOWN_MAX)
		ret = er_err_set(err, -EINVAL, "longer than %d bytes",
				 ER_UPDOWN_MAX - 1);
	else if (s[0] == '%' && strcmp(s, "%disabled") != 0)
		ret = er_err_set(err, -EINVAL,
				 "expected a command or %%disabled");
	return ret;
}

/* A list of methods; eroute only acts on null (opportunistic). */
static int
authby_parse(struct kv *kv, const char *s, struct er_err *err)
{
	size_t n = 0, len;
	bool null = false;
	int ret = 0;

	for (; *s != '\0' && ret == 0; s += len) {
		bool known = false;

		s += strspn(s, " \t,");
		len = strcspn(s, " \t,");
		if (len == 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(authby_names) && !known;
		     i++) {
			known = strlen(authby_names[i]) == len &&
				memcmp(authby_names[i], s, len) == 0;
			null = null || (known && i == 0);
		}
		if (!known)
			ret = er_err_set(err, -EINVAL,
					 "unknown method \"%.*s\"",
					 len > 32 ? 32 : (int)len, s);
		n++;
	}
	if (ret == 0 && null && n > 1)
		ret = er_err_set(err, -EINVAL,
				 "null cannot be combined with other methods");
	if (ret == 0 && n == 0)
		ret = er_err_set(err, -EINVAL, "no method");
	kv->v.yes = null;
	return ret;
}

static int
kv_parse(struct kv *kv, const struct keyword *k, const char *s,
	 struct er_err *err)
{
	const char *expect = NULL;
	enum er_conn_type type;
	enum er_auto autostart;
	enum er_negshunt negshunt;
	enum er_failshunt failshunt;
	int ret = 0;

	switch (k->type) {
	case T_DURATION:
		ret = duration_parse(kv, k, s, err);
		break;
	case T_NUMBER:
		ret = number_parse(kv, k, s, err);
		break;
	case T_KEYINGTRIES:
		ret = keyingtries_parse(kv, k, s, err);
		break;
	case T_YESNO:
		ret = yesno_parse(kv, s, err);
		break;
	case T_HOST:
		ret = host_parse(kv, s, err);
		break;
	case T_SUBNETS:
		ret = subnets_parse(kv, s, err);
		break;
	case T_PROTOPORT:
		ret = protoport_parse(kv, s, err);
		break;
	case T_TYPE:
		ret = er_conn_type_parse(&type, s);
		kv->v.e = (int)type;
		expect = "tunnel, transport, passthrough, drop or reject";
		break;
	case T_AUTO:
		ret = er_auto_parse(&autostart, s);
		kv->v.e = (int)autostart;
		expect = "ignore, add, ondemand, route or start";
		break;
	case T_NEGSHUNT:
		ret = er_negshunt_parse(&negshunt, s);
		kv->v.e = (int)negshunt;
		expect = "hold, drop, pass or passthrough";
		break;
	case T_FAILSHUNT:
		ret = er_failshunt_parse(&failshunt, s);
		kv->v.e = (int)failshunt;
		expect = "none, pass, passthrough, drop or reject";
		break;
	case T_UPDOWN:
		ret = updown_parse(s, err);
		break;
	case T_AUTHBY:
		ret = authby_parse(kv, s, err);
		break;
	case T_ALSO:
		if (strcmp(s, "%default") == 0)
			ret = er_err_set(err, -EINVAL,
					 "conn %%default applies by itself");
		else
			ret = conn_name_check(s, err);
		break;
	}
	if (ret < 0 && expect != NULL)
		er_err_set(err, ret, "expected %s", expect);
	return ret;
}

static void
kv_fini(struct kv *kv)
{
	if (keywords[kv->kw].type == T_SUBNETS)
		free(kv->v.nets.v);
	free(kv->raw);
}

/* ------------------------------------------------------------------ */
/* Sections                                                           */
/* ------------------------------------------------------------------ */

static void
section_init(struct section *sec, enum section_kind kind)
{
	memset(sec, 0, sizeof(*sec));
	sec->kind = kind;
	for (size_t i = 0; i < KW_COUNT; i++)
		sec->idx[i] = -1;
}

static void
section_fini(struct section *sec)
{
	for (size_t i = 0; i < sec->nkvs; i++)
		kv_fini(&sec->kvs[i]);
	free(sec->kvs);
	free(sec->view);
}

static struct section *
conn_lookup(struct parser *p, const char *name)
{
	struct section key, *found = NULL;

	if (strlen(name) < sizeof(key.name)) {
		strcpy(key.name, name);
		found = RB_FIND(section_tree, &p->names, &key);
	}
	return found;
}

/* A "conn NAME" line. */
static void
conn_open(struct parser *p, const char *file, unsigned line, const char *name)
{
	struct section *sec = NULL, *old, **secs;
	struct er_err err;
	char nb[SHOWN_MAX + 4];

	if (strcmp(name, "%default") == 0) {
		p->cur = &p->deflt;
		goto out;
	}
	if (conn_name_check(name, &err) < 0) {
		perr(p, file, line, "conn %s: %s", SHOWN(nb, name), err.msg);
		goto out;
	}
	if (p->nsecs >= SECTIONS_MAX) {
		perr(p, file, line, "conn %s: more than %d conn sections", name,
		     SECTIONS_MAX);
		goto out;
	}
	secs = array_grow(p->secs, &p->secs_cap, p->nsecs + 1,
			  sizeof(*p->secs));
	if (secs != NULL)
		p->secs = secs;
	sec = calloc(1, sizeof(*sec));
	if (secs == NULL || sec == NULL) {
		p->nomem = p->failed = true;
		goto out;
	}
	section_init(sec, SEC_CONN);
	strcpy(sec->name, name);
	sec->file = file;
	sec->line = line;
	sec->seq = ++p->seq;
	old = RB_INSERT(section_tree, &p->names, sec);
	if (old != NULL) {
		perr(p, file, line, "conn %s: already defined at %s:%u", name,
		     old->file, old->line);
		sec->dead = true;
	}
	p->secs[p->nsecs++] = sec;
	p->cur = sec;
	sec = NULL;
out:
	p->skipping = p->cur == NULL;
	free(sec);
	return;
}

/* File a parsed keyword under the current section; takes @kv's memory
 * on success, leaves it to the caller on failure. */
static int
section_add(struct parser *p, const char *key, struct kv *kv)
{
	struct section *sec = p->cur;
	const struct kv *prev;
	struct kv *kvs;
	char vb[SHOWN_MAX + 4];
	int ret = -EINVAL;

	if (kv->kw == KW_ALSO && sec->kind == SEC_DEFAULT) {
		perr(p, kv->file, kv->line,
		     "also=%s: not allowed in conn %%default",
		     SHOWN(vb, kv->raw));
		goto out;
	}
	if (kv->kw == KW_ALSO && sec->nalso >= ALSO_MAX) {
		perr(p, kv->file, kv->line, "also=%s: more than %d also= lines",
		     SHOWN(vb, kv->raw), ALSO_MAX);
		goto out;
	}
	if (kv->kw != KW_ALSO && sec->idx[kv->kw] >= 0) {
		prev = &sec->kvs[sec->idx[kv->kw]];
		perr(p, kv->file, kv->line, "%s=%s: %s= already set at %s:%u",
		     key, SHOWN(vb, kv->raw), key, prev->file, prev->line);
		goto out;
	}
	kvs = array_grow(sec->kvs, &sec->cap, sec->nkvs + 1, sizeof(*kvs));
	if (kvs == NULL) {
		p->nomem = p->failed = true;
		ret = -ENOMEM;
		goto out;
	}
	sec->kvs = kvs;
	if (kv->kw == KW_ALSO)
		sec->nalso++;
	else
		sec->idx[kv->kw] = (int)sec->nkvs;
	sec->kvs[sec->nkvs++] = *kv;
	ret = 0;
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Lines                                                              */
/* ------------------------------------------------------------------ */

static const struct keyword *
keyword_lookup(const char *name)
{
	const struct keyword *k = NULL;

	for (size_t i = 0; i < KW_COUNT && k == NULL; i++) {
		if (strcmp(name, keywords[i].name) == 0)
			k = &keywords[i];
	}
	return k;
}

/* The value after "=": a quoted string, or the text up to a comment.
 * NULL, reported, when malformed. */
static char *
value_extract(struct parser *p, const char *file, unsigned line,
	      const char *key, char *s)
{
	char *end, *ret = NULL;
	char vb[SHOWN_MAX + 4];

	s += strspn(s, " \t");
	if (*s == '"') {
		end = strchr(s + 1, '"');
		if (end == NULL) {
			perr(p, file, line, "%s=%s: no closing quote", key,
			     SHOWN(vb, s));
			goto out;
		}
		*end++ = '\0';
		end += strspn(end, " \t");
		if (*end != '\0' && *end != '#') {
			perr(p, file, line,
			     "%s=\"%s\": text after the closing quote", key,
			     SHOWN(vb, s + 1));
			goto out;
		}
		ret = s + 1;
		goto out;
	}
	/* '#' starts a comment at the start of a word, as in the shell. */
	for (end = s; *end != '\0'; end++) {
		if (*end == '#' && (end == s || is_blank(end[-1])))
			break;
	}
	while (end > s && is_blank(end[-1]))
		end--;
	*end = '\0';
	ret = s;
out:
	return ret;
}

/* An indented line: "keyword=value" in the current section. */
static void
lex_keyword(struct parser *p, const char *file, unsigned line, char *s)
{
	static const char keychars[] = "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_-";
	char vb[SHOWN_MAX + 4], kb[SHOWN_MAX + 4];
	const struct keyword *k;
	struct kv kv;
	struct er_err err;
	char *val, *t;
	size_t klen;

	memset(&kv, 0, sizeof(kv));
	er_err_clear(&err);
	s += strspn(s, " \t");
	if (*s == '#' || p->skipping)
		goto out;
	klen = strspn(s, keychars);
	t = s + klen + strspn(s + klen, " \t");
	if (klen == 0 || *t != '=') {
		perr(p, file, line, "\"%s\": expected keyword=value",
		     SHOWN(vb, s));
		goto out;
	}
	s[klen] = '\0';
	val = value_extract(p, file, line, s, t + 1);
	if (val == NULL)
		goto out;
	SHOWN(kb, s);
	SHOWN(vb, val);
	k = keyword_lookup(s);
	if (k == NULL) {
		perr(p, file, line, "%s=%s: unknown keyword \"%s\"", kb, vb,
		     kb);
		goto out;
	}
	if (p->cur == NULL) {
		perr(p, file, line,
		     "%s=%s: outside a section (no config setup or conn "
		     "above it)",
		     kb, vb);
		goto out;
	}
	if (k->setup && p->cur->kind != SEC_SETUP) {
		perr(p, file, line, "%s=%s: belongs in config setup", kb, vb);
		goto out;
	}
	if (!k->setup && p->cur->kind == SEC_SETUP) {
		perr(p, file, line, "%s=%s: belongs in a conn, not in config "
				    "setup",
		     kb, vb);
		goto out;
	}
	if (*val == '\0') {
		perr(p, file, line, "%s=: empty value", kb);
		goto out;
	}
	kv.kw = (enum kw)(k - keywords);
	kv.file = file;
	kv.line = line;
	kv.seq = ++p->seq;
	if (kv_parse(&kv, k, val, &err) < 0) {
		perr(p, file, line, "%s=%s: %s", kb, vb, err.msg);
		p->nomem = p->nomem || err.code == -ENOMEM;
		goto out;
	}
	kv.raw = strdup(val);
	if (kv.raw == NULL) {
		p->nomem = p->failed = true;
		goto out;
	}
	if (section_add(p, kb, &kv) == 0)
		memset(&kv, 0, sizeof(kv));
out:
	kv_fini(&kv);
	return;
}

/* Split @s at blanks into at most @max words, stopping at a word that
 * starts with '#'.  Return the number of words, or @max + 1 when more
 * follow. */
static size_t
words_split(char *s, char **w, size_t max)
{
	size_t n = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0' || *s == '#')
			break;
		if (n == max) {
			n++;
			break;
		}
		w[n++] = s;
		s += strcspn(s, " \t");
		if (*s != '\0')
			*s++ = '\0';
	}
	return n;
}

static void include_statement(struct parser *p, const char *file,
			      unsigned line, const char *pattern);

/* A line at column 0: a section header, include or version. */
static void
lex_statement(struct parser *p, const char *file, unsigned line, char *s)
{
	char *w[2] = {NULL, NULL};
	size_t n = words_split(s, w, 2);
	char vb[SHOWN_MAX + 4], wb[SHOWN_MAX + 4];

	p->cur = NULL;
	p->skipping = false;
	SHOWN(wb, w[0]);
	if (strcmp(w[0], "version") == 0) {
		if (n != 2 || (strcmp(w[1], "2") != 0 &&
			       strcmp(w[1], "2.0") != 0))
			perr(p, file, line,
			     "version: only \"version 2\" is understood");
	} else if (strcmp(w[0], "config") == 0) {
		if (n == 2 && strcmp(w[1], "setup") == 0)
			p->cur = &p->setup;
		else
			perr(p, file, line,
			     "config %s: unknown section; only \"config "
			     "setup\" exists",
			     n >= 2 ? SHOWN(vb, w[1]) : "");
		p->skipping = p->cur == NULL;
	} else if (strcmp(w[0], "conn") == 0) {
		if (n == 2)
			conn_open(p, file, line, w[1]);
		else
			perr(p, file, line, "conn: %s",
			     n == 1 ? "no name" : "text after the name");
		p->skipping = p->cur == NULL;
	} else if (strcmp(w[0], "include") == 0) {
		if (n == 2)
			include_statement(p, file, line, w[1]);
		else
			perr(p, file, line, "include: %s",
			     n == 1 ? "no file" : "more than one file");
	} else {
		perr(p, file, line,
		     "\"%s\": unknown statement (keywords are indented under "
		     "config setup or conn NAME)",
		     wb);
		p->skipping = true;
	}
}

static void
config_line(struct parser *p, void *ctx, const char *file, unsigned lineno,
	    char *s, size_t n)
{
	(void)ctx;
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	if (n == 0 || s[0] == '#')
		goto out;
	if (is_blank(s[0]))
		lex_keyword(p, file, lineno, s);
	else
		lex_statement(p, file, lineno, s);
out:
	return;
}

/* Control characters: C0 but tab, DEL, and C1 (some terminals act on
 * them). */
static bool
is_control(uint32_t c)
{
	return (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f);
}

/*
 * Is the line @s of @n bytes text: UTF-8 without control characters?
 * Reported when not, so that no byte of it reaches a log or a terminal.
 */
static bool
line_is_text(struct parser *p, const char *file, unsigned lineno,
	     const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t c;
	bool ok = true;

	while (i < n && ok) {
		len = er_utf8_char(s + i, n - i, &c);
		ok = len > 0 && !is_control(c);
		if (len == 0)
			perr(p, file, lineno,
			     "invalid UTF-8 (byte 0x%02x at column %zu): not a "
			     "text file?",
			     u[i], i + 1);
		else if (c < 0x80 && !ok)
			perr(p, file, lineno,
			     "control character 0x%02x at column %zu: not a "
			     "text file?",
			     (unsigned)c, i + 1);
		else if (!ok)
			perr(p, file, lineno,
			     "control character U+%04X at column %zu: not a "
			     "text file?",
			     (unsigned)c, i + 1);
		i += len;
	}
	return ok;
}

/* Cut @buf into lines for @fn; refuse binary data and long lines. */
static void
text_lines(struct parser *p, const char *file, const char *buf, size_t len,
	   line_fn *fn, void *ctx)
{
	char line[CONFIG_LINE_MAX + 1], vb[SHOWN_MAX + 4];
	const char *s = buf, *end = buf + len;
	unsigned lineno = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < end && !p->nomem) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl != NULL ? nl : end) - s);

		lineno++;
		if (memchr(s, '\0', n) != NULL) {
			perr(p, file, lineno,
			     "binary data (a NUL byte): not a text file; "
			     "the rest of it is ignored");
			break;
		}
		/* CRLF line ends. */
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX) {
			/* The start of it names the keyword and value. */
			memcpy(line, s, CONFIG_LINE_MAX);
			line[CONFIG_LINE_MAX] = '\0';
			perr(p, file, lineno,
			     "%s: line of %zu bytes; the limit is %d",
			     SHOWN(vb, line + strspn(line, " \t")), n,
			     CONFIG_LINE_MAX);
		} else if (line_is_text(p, file, lineno, s, n)) {
			memcpy(line, s, n);
			line[n] = '\0';
			fn(p, ctx, file, lineno, line, n);
		}
		s = nl != NULL ? nl + 1 : end;
	}
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

/* A copy of @name that lives as long as the parser; NULL on ENOMEM. */
static const char *
file_intern(struct parser *p, const char *name)
{
	char **files, *copy = NULL;

	files = array_grow(p->files, &p->files_cap, p->nfiles + 1,
			   sizeof(*p->files));
	if (files == NULL)
		goto out;
	p->files = files;
	copy = strdup(name);
	if (copy != NULL)
		p->files[p->nfiles++] = copy;
out:
	if (copy == NULL)
		p->nomem = p->failed = true;
	return copy;
}

/*
 * Read @path whole into *@bufp.  Problems are reported at @at_file:@at_line
 * -- the line that asked for the file, as "@verb@path: problem" -- or at
 * "@path:0" for the top file.  Return: 0; -ENOENT, unreported, when the
 * file is missing and @missing_ok; -EINVAL, reported; -ENOMEM.
 */
static int
file_read(struct parser *p, const char *path, const char *at_file,
	  unsigned at_line, const char *verb, bool missing_ok, char **bufp,
	  size_t *lenp, struct stat *st)
{
	const char *ef = at_file != NULL ? at_file : path;
	unsigned el = at_file != NULL ? at_line : 0;
	char pfx[PATH_MAX + 16];
	const char *sep = "";
	size_t len = 0, cap;
	char *buf = NULL, *nbuf;
	int fd = -1, ret = -EINVAL;
	ssize_t r;

	pfx[0] = '\0';
	if (at_file != NULL)
		snprintf(pfx, sizeof(pfx), "%s%s: ", verb, path);
	if (p->nfiles >= CONFIG_FILES_MAX) {
		perr(p, ef, el, "%s%smore than %d files", pfx, sep,
		     CONFIG_FILES_MAX);
		goto out;
	}
	/* O_NONBLOCK: a FIFO must not hang the daemon in open(). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && missing_ok) {
		ret = -ENOENT;
		goto out;
	}
	if (fd < 0 || fstat(fd, st) < 0) {
		perr(p, ef, el, "%s%scannot open: %s", pfx, sep,
		     strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		perr(p, ef, el, "%s%snot a regular file", pfx, sep);
		goto out;
	}
	if (st->st_size > (off_t)CONFIG_FILE_MAX ||
	    p->total + (size_t)st->st_size > CONFIG_TOTAL_MAX) {
		perr(p, ef, el,
		     "%s%s%lld bytes; the limit is %u per file and %u in all",
		     pfx, sep, (long long)st->st_size, CONFIG_FILE_MAX,
		     CONFIG_TOTAL_MAX);
		goto out;
	}
	/* The size may change under us (or be 0 in /proc): read to the end,
	 * but never past the limit. */
	cap = (size_t)st->st_size + 1;
	buf = malloc(cap);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_FILE_MAX)
				break;
			cap = cap * 2 > CONFIG_FILE_MAX + 1
				      ? CONFIG_FILE_MAX + 1
				      : cap * 2;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perr(p, ef, el, "%s%sread error: %s", pfx, sep,
			     strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_FILE_MAX || p->total + len > CONFIG_TOTAL_MAX) {
		perr(p, ef, el, "%s%smore than %u bytes", pfx, sep,
		     CONFIG_FILE_MAX);
		goto out;
	}
	p->total += len;
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	ret = 0;
out:
	if (ret == -ENOMEM)
		p->nomem = p->failed = true;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* Read the configuration file @path in place of the line that names it
 * (none for the top file). */
static void
include_file(struct parser *p, const char *path, const char *at_file,
	     unsigned at_line)
{
	const char *name;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	if (p->depth >= CONFIG_INCLUDE_DEPTH) {
		perr(p, at_file, at_line,
		     "include %s: includes nested deeper than %d", path,
		     CONFIG_INCLUDE_DEPTH);
		goto out;
	}
	if (file_read(p, path, at_file, at_line, "include ", false, &buf, &len,
		      &st) < 0)
		goto out;
	for (size_t i = 0; i < p->depth; i++) {
		if (p->stack[i].dev == st.st_dev &&
		    p->stack[i].ino == st.st_ino) {
			perr(p, at_file, at_line,
			     "include %s: include loop: that file is already "
			     "being read",
			     path);
			goto out;
		}
	}
	name = file_intern(p, path);
	if (name == NULL)
		goto out;
	p->stack[p->depth].dev = st.st_dev;
	p->stack[p->depth].ino = st.st_ino;
	p->depth++;
	p->cur = NULL;
	p->skipping = false;
	text_lines(p, name, buf, len, config_line, NULL);
	p->depth--;
	/* The included file's last section does not go on in ours. */
	p->cur = NULL;
	p->skipping = false;
out:
	free(buf);
}

/* "include PATTERN": a file, or a glob that may match nothing. */
static void
include_statement(struct parser *p, const char *file, unsigned line,
		  const char *pattern)
{
	char path[PATH_MAX], vb[SHOWN_MAX + 4];
	glob_t g;
	int r;

	memset(&g, 0, sizeof(g));
	SHOWN(vb, pattern);
	if (p->opts->no_files) {
		perr(p, file, line, "include %s: reading files is disabled",
		     vb);
		goto out;
	}
	if (path_join(path, sizeof(path), file, pattern) < 0) {
		perr(p, file, line, "include %s: path too long", vb);
		goto out;
	}
	if (strpbrk(pattern, "*?[") == NULL) {
		include_file(p, path, file, line);
		goto out;
	}
	r = glob(path, 0, NULL, &g);
	if (r == GLOB_NOSPACE) {
		p->nomem = p->failed = true;
	} else if (r != 0 && r != GLOB_NOMATCH) {
		perr(p, file, line, "include %s: cannot read the directory",
		     vb);
	} else if (r == 0) {
		for (size_t i = 0; i < g.gl_pathc && !p->nomem; i++)
			include_file(p, g.gl_pathv[i], file, line);
	}
out:
	globfree(&g);
}

/* ------------------------------------------------------------------ */
/* Resolution                                                         */
/* ------------------------------------------------------------------ */

static void
also_loop_report(struct parser *p, const struct kv *kv,
		 const struct section *target)
{
	char chain[MSG_MAX / 2];
	size_t i = 0, n = 0;

	while (i < p->also_depth && p->also_path[i] != target)
		i++;
	chain[0] = '\0';
	for (; i < p->also_depth && n < sizeof(chain); i++)
		n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ",
				      p->also_path[i]->name);
	if (n < sizeof(chain))
		snprintf(chain + n, sizeof(chain) - n, "%s", target->name);
	perr(p, kv->file, kv->line, "also=%s: loop: %s", kv->raw, chain);
}

/*
 * Build @sec's view: its own keywords, then those its also= sections
 * bring.  Two also= sections that set the same keyword on different
 * lines are an error, so the order of also= lines never matters.
 * Called only for a section in RES_NEW.  Return 0 or -1 (reported).
 */
static int
section_resolve(struct parser *p, struct section *sec)
{
	const struct kv *from_also[KW_COUNT];
	int ret = -1;

	memset(from_also, 0, sizeof(from_also));
	sec->state = RES_VISITING;
	p->also_path[p->also_depth++] = sec;
	sec->view = calloc(KW_COUNT, sizeof(*sec->view));
	if (sec->view == NULL) {
		p->nomem = p->failed = true;
		goto out;
	}
	for (size_t i = 0; i < sec->nkvs; i++) {
		const struct kv *kv = &sec->kvs[i];
		struct section *t;

		if (kv->kw != KW_ALSO) {
			sec->view[kv->kw] = kv;
			continue;
		}
		t = conn_lookup(p, kv->raw);
		if (t == NULL) {
			perr(p, kv->file, kv->line, "also=%s: no conn %s",
			     kv->raw, kv->raw);
			goto out;
		}
		if (t->state == RES_VISITING) {
			also_loop_report(p, kv, t);
			goto out;
		}
		if (t->state == RES_NEW && p->also_depth >= CONFIG_ALSO_DEPTH) {
			perr(p, kv->file, kv->line,
			     "also=%s: also= nested deeper than %d", kv->raw,
			     CONFIG_ALSO_DEPTH);
			goto out;
		}
		if (t->state == RES_NEW && section_resolve(p, t) < 0)
			goto out;
		if (t->state == RES_FAILED)
			goto out;
		for (size_t k = 0; k < KW_COUNT; k++) {
			const struct kv *a = from_also[k], *b = t->view[k];

			if (b == NULL)
				continue;
			if (a != NULL && a != b && sec->idx[k] < 0) {
				perr(p, kv->file, kv->line,
				     "also=%s: %s= comes both from %s:%u and "
				     "from %s:%u",
				     kv->raw, keywords[k].name, a->file,
				     a->line, b->file, b->line);
				goto out;
			}
			from_also[k] = b;
		}
	}
	for (size_t k = 0; k < KW_COUNT; k++) {
		if (sec->view[k] == NULL)
			sec->view[k] = from_also[k];
	}
	ret = 0;
out:
	p->also_depth--;
	sec->state = ret == 0 ? RES_DONE : RES_FAILED;
	return ret;
}

/* @sec's view completed with the conn %default keywords above it. */
static void
conn_effective(const struct parser *p, const struct section *sec,
	       const struct kv **eff)
{
	const struct section *d = &p->deflt;

	for (size_t k = 0; k < KW_COUNT; k++) {
		eff[k] = sec->view[k];
		if (eff[k] == NULL && d->idx[k] >= 0 &&
		    d->kvs[d->idx[k]].seq < sec->seq)
			eff[k] = &d->kvs[d->idx[k]];
	}
}

/* Append @cc and its remote prefixes to the configuration. */
static int
config_conn_add(struct parser *p, const struct er_conn_config *cc,
		const struct er_prefix *remote, size_t n)
{
	struct config *cfg = p->cfg;
	struct er_conn_config *conns;
	struct er_prefix *prefixes;
	size_t *roff;
	int ret = -ENOMEM;

	if (cfg->nconns >= CONFIG_CONNS_MAX) {
		ret = -ENOSPC;
		goto out;
	}
	conns = array_grow(cfg->conns, &p->conns_cap, cfg->nconns + 1,
			   sizeof(*conns));
	if (conns == NULL)
		goto out;
	cfg->conns = conns;
	roff = array_grow(p->roff, &p->roff_cap, cfg->nconns + 1,
			  sizeof(*roff));
	if (roff == NULL)
		goto out;
	p->roff = roff;
	prefixes = array_grow(cfg->prefixes, &p->prefixes_cap,
			      cfg->nprefixes + n, sizeof(*prefixes));
	if (prefixes == NULL)
		goto out;
	cfg->prefixes = prefixes;
	memcpy(cfg->prefixes + cfg->nprefixes, remote, n * sizeof(*remote));
	cfg->conns[cfg->nconns] = *cc;
	/* Set once every conn is in: the prefixes may still move. */
	cfg->conns[cfg->nconns].remote_clients = NULL;
	p->roff[cfg->nconns] = cfg->nprefixes;
	cfg->nprefixes += n;
	cfg->nconns++;
	ret = 0;
out:
	if (ret == -ENOMEM)
		p->nomem = p->failed = true;
	return ret;
}

/* Check @cc and add it; report at the conn header what the check says. */
static int
conn_emit(struct parser *p, const struct section *sec,
	  struct er_conn_config *cc, const struct er_prefix *remote, size_t n)
{
	struct er_err err;
	int ret;

	cc->remote_clients = remote;
	cc->nremote = n;
	ret = er_conn_config_check(cc, &err);
	if (ret < 0) {
		perr(p, sec->file, sec->line, "conn %s", err.msg);
		goto out;
	}
	ret = config_conn_add(p, cc, remote, n);
	if (ret == -ENOSPC && !p->conns_full) {
		perr(p, sec->file, sec->line,
		     "conn %s: more than %d connections in all", sec->name,
		     CONFIG_CONNS_MAX);
		p->conns_full = true;
	}
out:
	return ret;
}

/* The client a side has when its subnet is not given: the host itself,
 * or everything for %any. */
static void
host_client(struct er_prefix *out, const struct er_addr *a)
{
	if (er_addr_is_any(a))
		er_prefix_any(out, a->family);
	else
		er_prefix_host(out, a);
}

/* The family %defaultroute should have: that of the other side, if it
 * says. */
static int
defaultroute_hint(const struct kv **eff)
{
	const struct kv *r = eff[KW_RIGHT], *rs = eff[KW_RIGHTSUBNET];
	const struct kv *ls = eff[KW_LEFTSUBNET];
	int family = AF_UNSPEC;

	if (r != NULL && r->v.host.addr.family != AF_UNSPEC)
		family = r->v.host.addr.family;
	else if (rs != NULL)
		family = rs->v.nets.v[0].addr.family;
	else if (ls != NULL)
		family = ls->v.nets.v[0].addr.family;
	return family;
}

/* left= and right= into @cc.  Return 0 or -1 (reported). */
static int
conn_hosts(struct parser *p, const struct section *sec, const struct kv **eff,
	   struct er_conn_config *cc)
{
	const struct config_options *o = p->opts;
	const struct kv *l = eff[KW_LEFT], *r = eff[KW_RIGHT];
	char a[ER_ADDR_STRLEN], b[ER_ADDR_STRLEN];
	int hint, rc, ret = -1;

	if (l == NULL) {
		perr(p, sec->file, sec->line, "conn %s: left= is not set",
		     sec->name);
		goto out;
	}
	if (r == NULL && !er_conn_is_never_negotiate(cc)) {
		perr(p, sec->file, sec->line,
		     "conn %s: right= is not set (type=%s needs a peer)",
		     sec->name, er_conn_type_name(cc->type));
		goto out;
	}
	cc->local = l->v.host.addr;
	if (l->v.host.kind == HOST_DEFAULTROUTE) {
		hint = defaultroute_hint(eff);
		rc = o->defaultroute == NULL
			     ? -ENOSYS
			     : o->defaultroute(o->defaultroute_ctx, hint,
					       &cc->local);
		if (rc < 0) {
			perr(p, l->file, l->line,
			     "left=%%defaultroute: cannot resolve%s%s",
			     rc == -ENOSYS ? "" : ": ",
			     rc == -ENOSYS ? "" : strerror(-rc));
			goto out;
		}
		if ((cc->local.family != AF_INET &&
		     cc->local.family != AF_INET6) ||
		    (hint != AF_UNSPEC && cc->local.family != hint)) {
			perr(p, l->file, l->line,
			     "left=%%defaultroute: no default route of the "
			     "family of the other side");
			goto out;
		}
	}
	cc->group = r != NULL && r->v.host.kind == HOST_GROUP;
	if (r != NULL && !cc->group)
		cc->remote = r->v.host.addr;
	if (cc->local.family != AF_UNSPEC && cc->remote.family != AF_UNSPEC &&
	    cc->local.family != cc->remote.family) {
		er_addr_format(&cc->local, a, sizeof(a));
		er_addr_format(&cc->remote, b, sizeof(b));
		perr(p, r->file, r->line,
		     "right=%s: left=%s is of the other family (IPv4 and "
		     "IPv6 mixed)",
		     b, a);
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* leftprotoport= and rightprotoport= into @cc. */
static int
conn_ports(struct parser *p, const struct section *sec, const struct kv **eff,
	   struct er_conn_config *cc)
{
	const struct kv *l = eff[KW_LEFTPROTOPORT], *r = eff[KW_RIGHTPROTOPORT];
	char vb[SHOWN_MAX + 4];
	int ret = -1;

	if (l != NULL && r != NULL && l->v.pp.proto != r->v.pp.proto) {
		perr_at(p, r, sec,
			"rightprotoport=%s: not the protocol of "
			"leftprotoport=%s (%s:%u)",
			SHOWN(vb, r->raw), l->raw, l->file, l->line);
		goto out;
	}
	if (l != NULL) {
		cc->proto = l->v.pp.proto;
		cc->local_ports = l->v.pp.ports;
	}
	if (r != NULL) {
		cc->proto = r->v.pp.proto;
		cc->remote_ports = r->v.pp.ports;
	}
	ret = 0;
out:
	return ret;
}

/* Everything of @cc that is one value per conn. */
static int
conn_values(struct parser *p, const struct section *sec,
	    const struct kv **eff, struct er_conn_config *cc)
{
	const struct kv *m = eff[KW_REKEYMARGIN], *l = eff[KW_SALIFETIME];
	char a[24], b[24];
	int ret = -1;

	if (eff[KW_TYPE] != NULL)
		cc->type = (enum er_conn_type)eff[KW_TYPE]->v.e;
	if (eff[KW_AUTO] != NULL)
		cc->autostart = (enum er_auto)eff[KW_AUTO]->v.e;
	if (eff[KW_NEGOTIATIONSHUNT] != NULL)
		cc->negshunt = (enum er_negshunt)eff[KW_NEGOTIATIONSHUNT]->v.e;
	if (eff[KW_FAILURESHUNT] != NULL)
		cc->failshunt = (enum er_failshunt)eff[KW_FAILURESHUNT]->v.e;
	if (eff[KW_KEYINGTRIES] != NULL)
		cc->keyingtries = (uint32_t)eff[KW_KEYINGTRIES]->v.num;
	if (eff[KW_RETRANSMIT_TIMEOUT] != NULL)
		cc->retransmit_timeout = eff[KW_RETRANSMIT_TIMEOUT]->v.num;
	if (eff[KW_IKELIFETIME] != NULL)
		cc->ike_lifetime = eff[KW_IKELIFETIME]->v.num;
	if (l != NULL)
		cc->sa_lifetime = l->v.num;
	if (m != NULL)
		cc->rekey_margin = m->v.num;
	if (eff[KW_PRIORITY] != NULL)
		cc->priority = (uint32_t)eff[KW_PRIORITY]->v.num;
	if (eff[KW_REQID] != NULL)
		cc->reqid = (uint32_t)eff[KW_REQID]->v.num;
	if (eff[KW_AUTHBY] != NULL)
		cc->opportunistic = eff[KW_AUTHBY]->v.yes;
	if (eff[KW_LEFTUPDOWN] != NULL &&
	    strcmp(eff[KW_LEFTUPDOWN]->raw, "%disabled") != 0)
		snprintf(cc->updown, sizeof(cc->updown), "%s",
			 eff[KW_LEFTUPDOWN]->raw);
	if (cc->rekey_margin >= cc->sa_lifetime) {
		perr_at(p, m != NULL ? m : l, sec,
			"rekeymargin=%s: not below salifetime=%s",
			duration_format(a, sizeof(a), cc->rekey_margin),
			duration_format(b, sizeof(b), cc->sa_lifetime));
		goto out;
	}
	ret = conn_hosts(p, sec, eff, cc);
	if (ret == 0)
		ret = conn_ports(p, sec, eff, cc);
out:
	return ret;
}

/* A destination of a group and where it was written. */
struct dest {
	struct er_prefix prefix;
	const char *file;
	unsigned line;
	size_t order;		/* position in the group */
};

struct group_build {
	const struct section *sec;
	struct dest *v;
	size_t n, cap;
	int family;		/* every destination has it (once known) */
	bool full;
};

static int
dest_cmp(const void *a, const void *b)
{
	const struct dest *x = a, *y = b;
	int c = er_prefix_cmp(&x->prefix, &y->prefix);

	/* qsort() is not stable: ties go by position, so that a duplicate
	 * is reported at its second appearance. */
	if (c == 0)
		c = x->order < y->order ? -1 : x->order > y->order;
	return c;
}

static void
group_dest_add(struct parser *p, struct group_build *g,
	       const struct er_prefix *prefix, const char *file, unsigned line,
	       const char *what)
{
	char pb[ER_PREFIX_STRLEN];
	struct dest *v;

	er_prefix_format(prefix, pb, sizeof(pb));
	if (prefix->addr.family == AF_UNSPEC) {
		perr(p, file, line,
		     "%s%%any: not a destination; write 0.0.0.0/0 or ::/0",
		     what);
		goto out;
	}
	if (g->family == AF_UNSPEC)
		g->family = prefix->addr.family;
	if (prefix->addr.family != g->family) {
		perr(p, file, line,
		     "%s%s: conn %s is %s; a group is of one family", what, pb,
		     g->sec->name, g->family == AF_INET ? "IPv4" : "IPv6");
		goto out;
	}
	if (g->n >= ER_CONN_GROUP_MAX) {
		if (!g->full)
			perr(p, file, line,
			     "%s%s: conn %s has more than %d destinations",
			     what, pb, g->sec->name, ER_CONN_GROUP_MAX);
		g->full = true;
		goto out;
	}
	v = array_grow(g->v, &g->cap, g->n + 1, sizeof(*v));
	if (v == NULL) {
		p->nomem = p->failed = true;
		goto out;
	}
	g->v = v;
	g->v[g->n].prefix = *prefix;
	g->v[g->n].file = file;
	g->v[g->n].line = line;
	g->v[g->n].order = g->n;
	g->n++;
out:
	return;
}

/* A line of policies/NAME: a prefix, blank, or a comment. */
static void
policy_line(struct parser *p, void *ctx, const char *file, unsigned lineno,
	    char *s, size_t n)
{
	struct group_build *g = ctx;
	char vb[SHOWN_MAX + 4], pb[ER_PREFIX_STRLEN];
	struct er_prefix prefix;
	struct er_err err;
	char *end;
	int r;

	(void)n;
	s[strcspn(s, "#")] = '\0';
	s += strspn(s, " \t\r");
	end = s + strlen(s);
	while (end > s && (is_blank(end[-1]) || end[-1] == '\r'))
		*--end = '\0';
	if (*s == '\0')
		goto out;
	r = er_prefix_parse(&prefix, s, &err);
	if (r < 0) {
		perr(p, file, lineno, "%s", err.msg);
		goto out;
	}
	if (r == ER_PREFIX_NORMALISED) {
		er_prefix_format(&prefix, pb, sizeof(pb));
		perr(p, file, lineno, "%s: host bits set; did you mean %s?",
		     SHOWN(vb, s), pb);
		goto out;
	}
	if (prefix.addr.family == AF_UNSPEC) {
		perr(p, file, lineno, "%s: not a destination prefix",
		     SHOWN(vb, s));
		goto out;
	}
	group_dest_add(p, g, &prefix, file, lineno, "");
out:
	return;
}

/* The destinations of a group: rightsubnet= and policies/NAME. */
static int
group_collect(struct parser *p, const struct section *sec,
	      const struct kv **eff, struct group_build *g)
{
	const struct kv *rs = eff[KW_RIGHTSUBNET], *r = eff[KW_RIGHT];
	char path[PATH_MAX];
	const char *name;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	struct dest *sorted = NULL;
	bool have_file = false;
	size_t nerr = p->nerr;
	int rc, ret = -1;

	for (size_t i = 0; rs != NULL && i < rs->v.nets.n; i++)
		group_dest_add(p, g, &rs->v.nets.v[i], rs->file, rs->line,
			       "rightsubnet=");
	if (is_group_name(sec->name) && !p->opts->no_files) {
		if (path_join(path, sizeof(path), sec->file, "policies/") < 0 ||
		    strlen(path) + strlen(sec->name) >= sizeof(path)) {
			perr(p, r->file, r->line, "policies/%s: path too long",
			     sec->name);
			goto out;
		}
		strcat(path, sec->name);
		rc = file_read(p, path, r->file, r->line, "", true, &buf, &len,
			       &st);
		if (rc < 0 && rc != -ENOENT)
			goto out;
		have_file = rc == 0;
		name = have_file ? file_intern(p, path) : NULL;
		if (name != NULL)
			text_lines(p, name, buf, len, policy_line, g);
	}
	if (p->nerr != nerr)
		goto out;
	if (g->n == 0) {
		perr(p, r->file, r->line,
		     "right=%%opportunisticgroup: conn %s has no destinations "
		     "(%s)",
		     sec->name,
		     !is_group_name(sec->name) ? "set rightsubnet="
		     : have_file ? "policies file is empty"
				 : "set rightsubnet= or write policies/NAME");
		goto out;
	}
	/* Sorted, a destination listed twice sits next to itself. */
	sorted = malloc(g->n * sizeof(*sorted));
	if (sorted == NULL) {
		p->nomem = p->failed = true;
		goto out;
	}
	memcpy(sorted, g->v, g->n * sizeof(*sorted));
	qsort(sorted, g->n, sizeof(*sorted), dest_cmp);
	for (size_t i = 1; i < g->n; i++) {
		if (er_prefix_equal(&sorted[i - 1].prefix, &sorted[i].prefix)) {
			char pb[ER_PREFIX_STRLEN];

			er_prefix_format(&sorted[i].prefix, pb, sizeof(pb));
			perr(p, sorted[i].file, sorted[i].line,
			     "%s: destination of conn %s listed twice (also "
			     "at %s:%u)",
			     pb, sec->name, sorted[i - 1].file,
			     sorted[i - 1].line);
			goto out;
		}
	}
	ret = 0;
out:
	free(sorted);
	free(buf);
	return ret;
}

static int
conn_group(struct parser *p, const struct section *sec, const struct kv **eff,
	   struct er_conn_config *cc)
{
	const struct kv *ls = eff[KW_LEFTSUBNET];
	struct group_build g;
	struct er_prefix *remote = NULL;
	char vb[SHOWN_MAX + 4];
	int ret = -1;

	memset(&g, 0, sizeof(g));
	g.sec = sec;
	if (ls != NULL && ls->v.nets.n > 1) {
		perr(p, ls->file, ls->line,
		     "leftsubnet=%s: a group has one leftsubnet",
		     SHOWN(vb, ls->raw));
		goto out;
	}
	if (eff[KW_REQID] != NULL) {
		perr(p, eff[KW_REQID]->file, eff[KW_REQID]->line,
		     "reqid=%s: not on an opportunistic group (each instance "
		     "has its own)",
		     eff[KW_REQID]->raw);
		goto out;
	}
	if (ls != NULL)
		cc->local_client = ls->v.nets.v[0];
	else
		host_client(&cc->local_client, &cc->local);
	g.family = cc->local_client.addr.family;
	if (group_collect(p, sec, eff, &g) < 0)
		goto out;
	/* left=%any without leftsubnet=: everything of the group's family. */
	if (cc->local_client.addr.family == AF_UNSPEC)
		er_prefix_any(&cc->local_client, g.family);
	remote = malloc(g.n * sizeof(*remote));
	if (remote == NULL) {
		p->nomem = p->failed = true;
		goto out;
	}
	for (size_t i = 0; i < g.n; i++)
		remote[i] = g.v[i].prefix;
	snprintf(cc->name, sizeof(cc->name), "%s", sec->name);
	ret = conn_emit(p, sec, cc, remote, g.n);
out:
	free(remote);
	free(g.v);
	return ret;
}

/* Transport mode protects the hosts themselves: a subnet may only
 * repeat the host.  Return 0 or -1 (reported). */
static int
transport_check(struct parser *p, const struct section *sec,
		const struct kv *nets, const struct er_addr *host)
{
	struct er_prefix hp;
	char vb[SHOWN_MAX + 4];
	int ret = 0;

	er_prefix_host(&hp, host);
	for (size_t i = 0; nets != NULL && i < nets->v.nets.n && ret == 0;
	     i++) {
		if (!er_addr_is_any(host) &&
		    !er_prefix_equal(&nets->v.nets.v[i], &hp)) {
			perr_at(p, nets, sec,
				"%s=%s: type=transport protects the host "
				"itself; drop the subnet or use type=tunnel",
				keywords[nets->kw].name, SHOWN(vb, nets->raw));
			ret = -1;
		}
	}
	return ret;
}

/* One connection per leftsubnet= x rightsubnet= combination. */
static int
conn_combinations(struct parser *p, const struct section *sec,
		  const struct kv **eff, struct er_conn_config *cc)
{
	const struct kv *ls = eff[KW_LEFTSUBNET], *rs = eff[KW_RIGHTSUBNET];
	struct er_prefix lhost, rhost;
	const struct er_prefix *lv = &lhost, *rv = &rhost;
	size_t nl = 1, nr = 1;
	char a[ER_PREFIX_STRLEN], b[ER_PREFIX_STRLEN];
	int ret = -1;

	host_client(&lhost, &cc->local);
	host_client(&rhost, &cc->remote);
	if (ls != NULL) {
		lv = ls->v.nets.v;
		nl = ls->v.nets.n;
	}
	if (rs != NULL) {
		rv = rs->v.nets.v;
		nr = rs->v.nets.n;
	}
	if (cc->type == ER_CONN_TRANSPORT &&
	    (transport_check(p, sec, ls, &cc->local) < 0 ||
	     transport_check(p, sec, rs, &cc->remote) < 0))
		goto out;
	if (nl * nr > CONFIG_COMBINATIONS_MAX) {
		perr_at(p, rs != NULL ? rs : ls, sec,
			"conn %s: %zu x %zu subnets; the limit is %d "
			"combinations",
			sec->name, nl, nr, CONFIG_COMBINATIONS_MAX);
		goto out;
	}
	for (size_t i = 0; i < nl; i++) {
		for (size_t j = 0; j < nr; j++) {
			struct er_conn_config one = *cc;
			struct er_prefix rp = rv[j];
			int fl = lv[i].addr.family, fr = rv[j].addr.family;
			int family = fl != AF_UNSPEC ? fl : fr;

			if (fl != AF_UNSPEC && fr != AF_UNSPEC && fl != fr) {
				er_prefix_format(&lv[i], a, sizeof(a));
				er_prefix_format(&rv[j], b, sizeof(b));
				perr_at(p, rs != NULL ? rs : ls, sec,
					"leftsubnet=%s and rightsubnet=%s "
					"mix IPv4 and IPv6",
					a, b);
				goto out;
			}
			/* A selector has one family: a %any side takes the
			 * other's, or that of the hosts. */
			if (family == AF_UNSPEC)
				family = cc->local.family != AF_UNSPEC
						 ? cc->local.family
						 : cc->remote.family;
			if (family == AF_UNSPEC) {
				perr_at(p, rs != NULL ? rs : ls, sec,
					"conn %s: cannot tell IPv4 from IPv6 "
					"when every side is %%any; write "
					"%%any4 or %%any6",
					sec->name);
				goto out;
			}
			if (nl * nr == 1)
				snprintf(one.name, sizeof(one.name), "%s",
					 sec->name);
			else
				snprintf(one.name, sizeof(one.name),
					 "%s/%zux%zu", sec->name, i + 1, j + 1);
			one.local_client = lv[i];
			if (fl == AF_UNSPEC)
				er_prefix_any(&one.local_client, family);
			if (fr == AF_UNSPEC)
				er_prefix_any(&rp, family);
			if (conn_emit(p, sec, &one, &rp, 1) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	return ret;
}

/* Turn a resolved conn section into connections. */
static void
conn_complete(struct parser *p, const struct section *sec)
{
	const struct kv *eff[KW_COUNT];
	struct er_conn_config cc;

	conn_effective(p, sec, eff);
	if (eff[KW_AUTO] == NULL || eff[KW_AUTO]->v.e == ER_AUTO_IGNORE)
		goto out;
	er_conn_config_init(&cc);
	if (conn_values(p, sec, eff, &cc) < 0)
		goto out;
	if (cc.group)
		conn_group(p, sec, eff, &cc);
	else
		conn_combinations(p, sec, eff, &cc);
out:
	return;
}

static void
setup_apply(struct parser *p, struct config_setup *setup)
{
	const struct section *s = &p->setup;

	config_setup_init(setup);
	if (s->idx[KW_SHUNTLIFETIME] >= 0)
		setup->shunt_lifetime = s->kvs[s->idx[KW_SHUNTLIFETIME]].v.num;
	if (s->idx[KW_EXPIRE_SHUNT_INTERVAL] >= 0)
		setup->expire_shunt_interval =
			s->kvs[s->idx[KW_EXPIRE_SHUNT_INTERVAL]].v.num;
	if (s->idx[KW_XFRMLIFETIME] >= 0)
		setup->xfrm_lifetime = s->kvs[s->idx[KW_XFRMLIFETIME]].v.num;
	if (s->idx[KW_KEEP_POLICIES] >= 0)
		setup->keep_policies = s->kvs[s->idx[KW_KEEP_POLICIES]].v.yes;
	if (s->idx[KW_UNIQUEIDS] >= 0)
		setup->uniqueids = s->kvs[s->idx[KW_UNIQUEIDS]].v.yes;
}

static void
parser_resolve(struct parser *p)
{
	setup_apply(p, &p->cfg->setup);
	/* Every section, loaded or not, so that a broken also= is found
	 * wherever it is. */
	for (size_t i = 0; i < p->nsecs && !p->nomem; i++) {
		if (!p->secs[i]->dead && p->secs[i]->state == RES_NEW)
			section_resolve(p, p->secs[i]);
	}
	for (size_t i = 0; i < p->nsecs && !p->nomem; i++) {
		if (p->secs[i]->state == RES_DONE)
			conn_complete(p, p->secs[i]);
	}
	for (size_t i = 0; i < p->cfg->nconns; i++)
		p->cfg->conns[i].remote_clients = p->cfg->prefixes +
						  p->roff[i];
}

static int
conn_ptr_cmp(const void *a, const void *b)
{
	const struct er_conn_config *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* @cfg's connections by name; NULL when memory runs out. */
static const struct er_conn_config **
conns_sorted(const struct config *cfg, size_t n)
{
	const struct er_conn_config **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v != NULL && i < n; i++)
		v[i] = &cfg->conns[i];
	if (v != NULL)
		qsort(v, n, sizeof(*v), conn_ptr_cmp);
	return v;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                       */
/* ------------------------------------------------------------------ */

static int
parser_init(struct parser *p, const struct config_options *opts,
	    struct config_errors *errs)
{
	int ret = -ENOMEM;

	memset(p, 0, sizeof(*p));
	p->opts = opts != NULL ? opts : &no_options;
	p->errs = errs;
	section_init(&p->setup, SEC_SETUP);
	section_init(&p->deflt, SEC_DEFAULT);
	RB_INIT(&p->names);
	p->cfg = calloc(1, sizeof(*p->cfg));
	if (p->cfg != NULL)
		ret = 0;
	return ret;
}

static void
parser_fini(struct parser *p)
{
	section_fini(&p->setup);
	section_fini(&p->deflt);
	for (size_t i = 0; i < p->nsecs; i++) {
		section_fini(p->secs[i]);
		free(p->secs[i]);
	}
	free(p->secs);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p->roff);
	config_free(p->cfg);
}

/* Resolve and hand over the result, or keep nothing. */
static int
parser_finish(struct parser *p, struct config **out)
{
	int ret = -ENOMEM;

	if (!p->nomem)
		parser_resolve(p);
	if (!p->nomem && !p->failed) {
		p->cfg->by_name = conns_sorted(p->cfg, p->cfg->nconns);
		p->nomem = p->cfg->by_name == NULL;
	}
	if (p->nomem)
		goto out;
	ret = -EINVAL;
	if (p->failed)
		goto out;
	*out = p->cfg;
	p->cfg = NULL;
	ret = 0;
out:
	return ret;
}

int
config_parse_buffer(const char *name, const char *buf, size_t len,
		    const struct config_options *opts, struct config **out,
		    struct config_errors *errs)
{
	struct parser p;
	const char *file;
	int ret = parser_init(&p, opts, errs);

	if (ret < 0)
		goto out;
	file = file_intern(&p, name);
	if (file != NULL && len > CONFIG_FILE_MAX)
		perr(&p, file, 0, "%zu bytes; the limit is %u", len,
		     CONFIG_FILE_MAX);
	else if (file != NULL)
		text_lines(&p, file, buf, len, config_line, NULL);
	ret = parser_finish(&p, out);
out:
	parser_fini(&p);
	return ret;
}

int
config_load(const char *path, const struct config_options *opts,
	    struct config **out, struct config_errors *errs)
{
	struct parser p;
	int ret = parser_init(&p, opts, errs);

	if (ret < 0)
		goto out;
	include_file(&p, path, NULL, 0);
	ret = parser_finish(&p, out);
out:
	parser_fini(&p);
	return ret;
}

void
config_free(struct config *cfg)
{
	if (cfg != NULL) {
		free(cfg->conns);
		free(cfg->prefixes);
		free(cfg->by_name);
	}
	free(cfg);
}

static int
conn_name_key_cmp(const void *key, const void *elem)
{
	const struct er_conn_config *const *c = elem;

	return strcmp(key, (*c)->name);
}

const struct er_conn_config *
config_conn_lookup(const struct config *cfg, const char *name)
{
	const struct er_conn_config *const *found = NULL;

	if (cfg != NULL && cfg->by_name != NULL)
		found = bsearch(name, cfg->by_name, cfg->nconns,
				sizeof(*cfg->by_name), conn_name_key_cmp);
	return found != NULL ? *found : NULL;
}

const char *
config_keyword(size_t i, bool *setup)
{
	const char *name = NULL;

	if (i < KW_COUNT) {
		name = keywords[i].name;
		if (setup != NULL)
			*setup = keywords[i].setup;
	}
	return name;
}

void
config_setup_init(struct config_setup *setup)
{
	memset(setup, 0, sizeof(*setup));
	setup->shunt_lifetime = SHUNT_LIFETIME_DEFAULT;
	setup->expire_shunt_interval = EXPIRE_SHUNT_INTERVAL_DEFAULT;
	setup->xfrm_lifetime = XFRM_LIFETIME_DEFAULT;
	setup->keep_policies = false;
	setup->uniqueids = true;
}

/* ------------------------------------------------------------------ */
/* Reload                                                             */
/* ------------------------------------------------------------------ */

/*
 * A trip wire: conn_equal() compares field by field, so a field added to
 * struct er_conn_config must be added there too.  Update the size here
 * when you have.
 */
_Static_assert(sizeof(struct er_conn_config) == 536,
	       "struct er_conn_config changed: update conn_equal()");

static bool
conn_equal(const struct er_conn_config *a, const struct er_conn_config *b)
{
	bool eq = strcmp(a->name, b->name) == 0 &&
		  er_addr_equal(&a->local, &b->local) &&
		  er_addr_equal(&a->remote, &b->remote) &&
		  er_prefix_equal(&a->local_client, &b->local_client) &&
		  a->nremote == b->nremote && a->proto == b->proto &&
		  a->local_ports.lo == b->local_ports.lo &&
		  a->local_ports.hi == b->local_ports.hi &&
		  a->remote_ports.lo == b->remote_ports.lo &&
		  a->remote_ports.hi == b->remote_ports.hi &&
		  a->type == b->type && a->autostart == b->autostart &&
		  a->negshunt == b->negshunt && a->failshunt == b->failshunt &&
		  a->keyingtries == b->keyingtries &&
		  a->retransmit_timeout == b->retransmit_timeout &&
		  a->ike_lifetime == b->ike_lifetime &&
		  a->sa_lifetime == b->sa_lifetime &&
		  a->rekey_margin == b->rekey_margin &&
		  a->priority == b->priority && a->reqid == b->reqid &&
		  a->opportunistic == b->opportunistic &&
		  a->group == b->group && strcmp(a->updown, b->updown) == 0;

	for (size_t i = 0; eq && i < a->nremote; i++)
		eq = er_prefix_equal(&a->remote_clients[i],
				     &b->remote_clients[i]);
	return eq;
}

static bool
setup_equal(const struct config_setup *a, const struct config_setup *b)
{
	return a->shunt_lifetime == b->shunt_lifetime &&
	       a->expire_shunt_interval == b->expire_shunt_interval &&
	       a->xfrm_lifetime == b->xfrm_lifetime &&
	       a->keep_policies == b->keep_policies &&
	       a->uniqueids == b->uniqueids;
}

int
config_diff(const struct config *old, const struct config *new,
	    struct config_diff *d)
{
	size_t no = old != NULL ? old->nconns : 0;
	size_t nn = new != NULL ? new->nconns : 0;
	const struct er_conn_config **os = NULL, **ns = NULL;
	/* Per conn of @new: 0 added, 1 unchanged, 2 changed; of @old:
	 * whether @new has it. */
	uint8_t *nmark = NULL, *ofound = NULL;
	struct config_setup so, sn;
	size_t i = 0, j = 0;
	int ret = -ENOMEM;

	memset(d, 0, sizeof(*d));
	os = conns_sorted(old, no);
	ns = conns_sorted(new, nn);
	nmark = calloc(nn + 1, 1);
	ofound = calloc(no + 1, 1);
	d->added = calloc(nn + 1, sizeof(*d->added));
	d->changed = calloc(nn + 1, sizeof(*d->changed));
	d->removed = calloc(no + 1, sizeof(*d->removed));
	if (os == NULL || ns == NULL || nmark == NULL || ofound == NULL ||
	    d->added == NULL || d->changed == NULL || d->removed == NULL)
		goto out;
	while (i < no && j < nn) {
		int c = strcmp(os[i]->name, ns[j]->name);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			ofound[os[i] - old->conns] = 1;
			nmark[ns[j] - new->conns] =
				conn_equal(os[i], ns[j]) ? 1 : 2;
			i++;
			j++;
		}
	}
	for (i = 0; i < nn; i++) {
		if (nmark[i] == 0)
			d->added[d->nadded++] = new->conns[i].name;
		else if (nmark[i] == 2)
			d->changed[d->nchanged++] = new->conns[i].name;
	}
	for (i = 0; i < no; i++) {
		if (!ofound[i])
			d->removed[d->nremoved++] = old->conns[i].name;
	}
	config_setup_init(&so);
	config_setup_init(&sn);
	d->setup_changed = !setup_equal(old != NULL ? &old->setup : &so,
					new != NULL ? &new->setup : &sn);
	ret = 0;
out:
	if (ret < 0)
		config_diff_fini(d);
	free(os);
	free(ns);
	free(nmark);
	free(ofound);
	return ret;
}

void
config_diff_fini(struct config_diff *d)
{
	if (d != NULL) {
		free(d->added);
		free(d->removed);
		free(d->changed);
		memset(d, 0, sizeof(*d));
	}
}
