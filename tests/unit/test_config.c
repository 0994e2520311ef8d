// SPDX-License-Identifier: MIT
/*
 * The configuration reader: every keyword with good and bad values,
 * sections, also=, conn %default, include, subnet combinations, groups
 * with a policies/ directory, the limits on hostile input, and the diff a
 * reload acts on.  Tests that need files make a temporary directory and
 * remove it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <locale.h>
#include <wchar.h>
#include <wctype.h>
#include <cmocka.h>

#include "config.h"

#ifndef EROUTE_SOURCE_DIR
#define EROUTE_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* The fake default route: 192.0.2.1, or 2001:db8::1 when asked for v6. */
static int
fake_defaultroute(void *ctx, int family, struct er_addr *out)
{
	int *calls = ctx;

	if (calls != NULL)
		(*calls)++;
	return er_addr_parse(out,
			     family == AF_INET6 ? "2001:db8::1" : "192.0.2.1",
			     NULL);
}

static int
failing_defaultroute(void *ctx, int family, struct er_addr *out)
{
	(void)ctx;
	(void)family;
	(void)out;
	return -ENETUNREACH;
}

static const struct config_options opts = {
	.defaultroute = fake_defaultroute,
};

static const struct config_options no_files_opts = {
	.defaultroute = fake_defaultroute,
	.no_files = true,
};

/* Every message reads "FILE:LINE: text". */
static void
assert_well_formed(const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		const char *m = errs->msgs[i];
		const char *colon = strchr(m, ':');
		size_t digits;

		assert_non_null(colon);
		assert_true(colon > m);
		digits = strspn(colon + 1, "0123456789");
		if (digits == 0 || colon[1 + digits] != ':' ||
		    colon[2 + digits] != ' ')
			fail_msg("not FILE:LINE: message: \"%s\"", m);
		assert_true(strlen(colon + 3 + digits) > 0);
	}
}

static bool
errors_have(const struct config_errors *errs, const char *part)
{
	bool found = false;

	for (size_t i = 0; i < errs->n && !found; i++)
		found = strstr(errs->msgs[i], part) != NULL;
	return found;
}

static void
dump_errors(const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		print_message("  %s\n", errs->msgs[i]);
}

/* Parse @text as "t.conf" and expect success. */
static struct config *
parse_ok_with(const char *text, const struct config_options *o)
{
	struct config_errors errs;
	struct config *cfg = NULL;
	int ret;

	config_errors_init(&errs);
	ret = config_parse_buffer("t.conf", text, strlen(text), o, &cfg,
				  &errs);
	if (ret != 0) {
		dump_errors(&errs);
		fail_msg("parse failed: %d", ret);
	}
	assert_int_equal(errs.n, 0);
	assert_non_null(cfg);
	config_errors_fini(&errs);
	return cfg;
}

static struct config *
parse_ok(const char *text)
{
	return parse_ok_with(text, &no_files_opts);
}

/* Parse @text as "t.conf", expect failure and an error containing
 * @part. */
static void
parse_fails_with(const char *text, const struct config_options *o,
		 const char *part)
{
	struct config_errors errs;
	struct config *cfg = (struct config *)&errs; /* must stay */
	int ret;

	config_errors_init(&errs);
	ret = config_parse_buffer("t.conf", text, strlen(text), o, &cfg,
				  &errs);
	assert_int_equal(ret, -EINVAL);
	assert_ptr_equal(cfg, (struct config *)&errs);
	assert_true(errs.n > 0);
	assert_well_formed(&errs);
	if (!errors_have(&errs, part)) {
		dump_errors(&errs);
		fail_msg("no error contains \"%s\"", part);
	}
	config_errors_fini(&errs);
}

static void
parse_fails(const char *text, const char *part)
{
	parse_fails_with(text, &no_files_opts, part);
}

static const struct er_conn_config *
conn_get(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nconns; i++) {
		if (strcmp(cfg->conns[i].name, name) == 0)
			return &cfg->conns[i];
	}
	fail_msg("no conn %s", name);
	return NULL;
}

static void
assert_prefix(const struct er_prefix *p, const char *text)
{
	char buf[ER_PREFIX_STRLEN];

	er_prefix_format(p, buf, sizeof(buf));
	assert_string_equal(buf, text);
}

static void
assert_addr(const struct er_addr *a, const char *text)
{
	char buf[ER_ADDR_STRLEN];

	er_addr_format(a, buf, sizeof(buf));
	assert_string_equal(buf, text);
}

/* A text with printf formatting, freed by the caller. */
static char *
text_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
text_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Temporary directories. */

static char *
tmpdir_new(void)
{
	char *dir = strdup("/tmp/eroute-test-config-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tmpdir_free(char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Write @text to @dir/@rel, making the directories on the way. */
static char *
file_write(const char *dir, const char *rel, const char *text)
{
	char *path = text_printf("%s/%s", dir, rel);
	char *slash;
	FILE *f;

	for (slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int
load(const char *path, const struct config_options *o, struct config **cfg,
     struct config_errors *errs)
{
	int ret;

	config_errors_init(errs);
	ret = config_load(path, o, cfg, errs);
	assert_well_formed(errs);
	return ret;
}

#define BASE_CONN                                                              \
	"conn t\n"                                                             \
	"\tleft=192.0.2.1\n"                                                   \
	"\tright=198.51.100.1\n"                                               \
	"\tauto=add\n"

/* ------------------------------------------------------------------ */
/* Keywords, table-driven                                             */
/* ------------------------------------------------------------------ */

/*
 * A wrong-typed and an out-of-range value for every keyword.  The tests
 * walk the reader's own keyword list (config_keyword()), so a keyword added
 * to config.c without a case here fails test_config_every_keyword_has_a_case
 * rather than going untested.
 */
struct kw_case {
	const char *kw;
	const char *wrong;	/* a value of the wrong type */
	const char *range;	/* the right type, outside what is allowed */
};

#define U16 "uuuuuuuuuuuuuuuu"

static const struct kw_case kw_cases[] = {
	{"shuntlifetime", "soon", "31d"},
	{"expire-shunt-interval", "often", "2h"},
	{"xfrmlifetime", "1x", "0"},
	/* yes and no are lower case, like every keyword value. */
	{"keep-policies", "1", "YES"},
	{"uniqueids", "maybe", "No"},
	/* One character past the longest name. */
	{"also", "a b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	{"left", "host.example", "256.1.1.1"},
	{"right", "%defaultroute", "198.51.100.256"},
	{"leftsubnet", "10.0.0.0/x", "10.0.0.0/33"},
	{"rightsubnet", "{10.0.0.0/8", "2001:db8::/129"},
	{"leftprotoport", "tcp/http", "tcp/65536"},
	{"rightprotoport", "bogus/1", "256"},
	{"type", "1", "ipsec"},
	{"auto", "yes", "restart"},
	{"negotiationshunt", "reject", "holds"},
	{"failureshunt", "hold", "Drop"},
	{"keyingtries", "%always", "4294967296"},
	{"retransmit-timeout", "1m30s", "2d"},
	{"ikelifetime", "-1h", "25h"},
	{"salifetime", "8h!", "0"},
	{"rekeymargin", "9min", "2d"},
	{"priority", "high", "4294967296"},
	{"reqid", "0x10", "0"},
	/* 256 bytes: one past the limit. */
	{"leftupdown", "%magic", U16 U16 U16 U16 U16 U16 U16 U16 U16 U16 U16
				 U16 U16 U16 U16 U16},
	{"authby", "password", "null,secret"},
};

#define KW_CASES (sizeof(kw_cases) / sizeof(kw_cases[0]))

/* The case of keyword @kw, or NULL. */
static const struct kw_case *
kw_case_of(const char *kw)
{
	const struct kw_case *c = NULL;

	for (size_t i = 0; i < KW_CASES && c == NULL; i++) {
		if (strcmp(kw_cases[i].kw, kw) == 0)
			c = &kw_cases[i];
	}
	return c;
}

/* A config with @kw=@value on line 5 of t.conf. */
static char *
kw_text(const char *kw, bool setup, const char *value)
{
	if (setup)
		return text_printf("# line 1\n"
				   "version 2\n"
				   "\n"
				   "config setup\n"
				   "\t%s=%s\n",
				   kw, value);
	return text_printf("conn t\n"
			   "\t%s\n"
			   "\t%s\n"
			   "\tauto=add\n"
			   "\t%s=%s\n",
			   strcmp(kw, "left") == 0 ? "# no left"
						   : "left=192.0.2.1",
			   strcmp(kw, "right") == 0 ? "# no right"
						    : "right=198.51.100.1",
			   kw, value);
}

/* Messages quote values shortened: no message of a one-line mistake is
 * longer than this. */
#define KW_MSG_MAX 200

/* @kw=@value is refused with "t.conf:5: KW=@part" (@part: the start of
 * what the message shows of the value, then anything), every message is
 * short, and nothing is returned. */
static void
kw_fails(const char *kw, bool setup, const char *value, const char *part)
{
	char *text = kw_text(kw, setup, value);
	char *where = text_printf("t.conf:5: %s=%.32s", kw, part);
	struct config_errors errs;
	struct config *cfg = (struct config *)&errs; /* must stay */

	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("t.conf", text, strlen(text),
					     &no_files_opts, &cfg, &errs),
			 -EINVAL);
	assert_ptr_equal(cfg, (struct config *)&errs);
	assert_well_formed(&errs);
	if (!errors_have(&errs, where)) {
		dump_errors(&errs);
		fail_msg("%s: no error contains \"%s\"", kw, where);
	}
	for (size_t i = 0; i < errs.n; i++) {
		if (strlen(errs.msgs[i]) > KW_MSG_MAX)
			fail_msg("%s: message of %zu bytes: %.80s...", kw,
				 strlen(errs.msgs[i]), errs.msgs[i]);
	}
	config_errors_fini(&errs);
	free(where);
	free(text);
}

static void
test_config_every_keyword_has_a_case(void **state)
{
	const char *kw;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; (kw = config_keyword(i, NULL)) != NULL; i++) {
		const struct kw_case *c = kw_case_of(kw);

		if (c == NULL)
			fail_msg("keyword %s has no case in kw_cases", kw);
		assert_non_null(c->wrong);
		assert_non_null(c->range);
		assert_string_not_equal(c->wrong, c->range);
		n++;
	}
	/* No case for a keyword the reader does not have. */
	assert_int_equal(n, KW_CASES);
	assert_true(n >= 25);
}

static void
test_config_every_keyword_refuses_empty_values(void **state)
{
	const char *kw;
	bool setup;

	(void)state;
	for (size_t i = 0; (kw = config_keyword(i, &setup)) != NULL; i++) {
		kw_fails(kw, setup, "", ": empty value");
		kw_fails(kw, setup, "\"\"", ": empty value");
		/* Blanks and a comment are no value either. */
		kw_fails(kw, setup, " \t # nothing", ": empty value");
	}
}

static void
test_config_every_keyword_refuses_oversized_values(void **state)
{
	/* Under the line limit: the value's own check refuses it. */
	char *big = repeat('x', 3000);
	char *digits = repeat('9', 3000);
	/* 100 kB: over the line limit, refused as a line that still names
	 * its keyword and the start of its value. */
	char *huge = repeat('7', 100 * 1000);
	const char *kw;
	bool setup;

	(void)state;
	for (size_t i = 0; (kw = config_keyword(i, &setup)) != NULL; i++) {
		kw_fails(kw, setup, big, "xxxxxxxx");
		kw_fails(kw, setup, digits, "99999999");
		kw_fails(kw, setup, huge, "77777777");
		kw_fails(kw, setup, huge, "7777777777777777777777777777777"
					  "7...: line of ");
	}
	free(big);
	free(digits);
	free(huge);
}

static void
test_config_every_keyword_refuses_wrong_types(void **state)
{
	const char *kw;
	bool setup;

	(void)state;
	for (size_t i = 0; (kw = config_keyword(i, &setup)) != NULL; i++) {
		const struct kw_case *c = kw_case_of(kw);

		assert_non_null(c);
		kw_fails(kw, setup, c->wrong, c->wrong);
	}
}

static void
test_config_every_keyword_refuses_out_of_range(void **state)
{
	const char *kw;
	bool setup;

	(void)state;
	for (size_t i = 0; (kw = config_keyword(i, &setup)) != NULL; i++) {
		const struct kw_case *c = kw_case_of(kw);

		assert_non_null(c);
		kw_fails(kw, setup, c->range, c->range);
	}
}

static void
test_config_every_keyword_refused_in_the_wrong_section(void **state)
{
	const char *kw;
	bool setup;

	(void)state;
	for (size_t i = 0; (kw = config_keyword(i, &setup)) != NULL; i++) {
		char *text = setup ? text_printf(BASE_CONN "\t%s=yes\n", kw)
				   : text_printf("config setup\n\t%s=x\n", kw);
		char *where = text_printf("t.conf:%d: %s=", setup ? 5 : 2,
					  kw);

		parse_fails(text, where);
		parse_fails(text, "belongs in");
		free(where);
		free(text);
	}
}

static void
test_config_unknown_keyword_is_an_error(void **state)
{
	(void)state;
	parse_fails(BASE_CONN "\tleftid=@me\n",
		    "t.conf:5: leftid=@me: unknown keyword \"leftid\"");
	parse_fails("config setup\n\tplutodebug=all\n",
		    "t.conf:2: plutodebug=all: unknown keyword");
	parse_fails(BASE_CONN "\tLeft=192.0.2.1\n", "unknown keyword \"Left\"");
}

static void
test_config_keyword_defined_twice_names_both_lines(void **state)
{
	(void)state;
	parse_fails(BASE_CONN "\tleft=192.0.2.2\n",
		    "t.conf:5: left=192.0.2.2: left= already set at t.conf:2");
	parse_fails("config setup\n\tuniqueids=no\nconfig setup\n"
		    "\tuniqueids=yes\n",
		    "t.conf:4: uniqueids=yes: uniqueids= already set at "
		    "t.conf:2");
	parse_fails("conn %default\n\tkeyingtries=1\nconn %default\n"
		    "\tkeyingtries=2\n",
		    "t.conf:4: keyingtries=2: keyingtries= already set at "
		    "t.conf:2");
}

/* ------------------------------------------------------------------ */
/* Keywords, good values                                              */
/* ------------------------------------------------------------------ */

static void
test_config_setup_defaults(void **state)
{
	struct config *cfg = parse_ok("config setup\n");

	(void)state;
	assert_int_equal(cfg->setup.shunt_lifetime, 15 * 60);
	assert_int_equal(cfg->setup.expire_shunt_interval, 20);
	assert_int_equal(cfg->setup.xfrm_lifetime, 30);
	assert_false(cfg->setup.keep_policies);
	assert_true(cfg->setup.uniqueids);
	assert_int_equal(cfg->nconns, 0);
	config_free(cfg);
}

static void
test_config_setup_keywords(void **state)
{
	struct config *cfg = parse_ok("version 2.0\n"
				      "config setup\n"
				      "\tshuntlifetime=2h\n"
				      "\texpire-shunt-interval=1m\n"
				      "\txfrmlifetime=45\n"
				      "\tkeep-policies=yes\n"
				      "\tuniqueids=no\n");

	(void)state;
	assert_int_equal(cfg->setup.shunt_lifetime, 7200);
	assert_int_equal(cfg->setup.expire_shunt_interval, 60);
	assert_int_equal(cfg->setup.xfrm_lifetime, 45);
	assert_true(cfg->setup.keep_policies);
	assert_false(cfg->setup.uniqueids);
	config_free(cfg);
}

static void
test_config_durations_take_units(void **state)
{
	static const struct {
		const char *text;
		uint64_t secs;
	} cases[] = {
		{"1", 1},	{"90s", 90},	{"15m", 900},
		{"2h", 7200},	{"1d", 86400},	{"0086400", 86400},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = text_printf(BASE_CONN "\tikelifetime=%s\n",
					 cases[i].text);
		struct config *cfg = parse_ok(text);

		assert_int_equal(cfg->conns[0].ike_lifetime, cases[i].secs);
		config_free(cfg);
		free(text);
	}
	parse_fails(BASE_CONN "\tikelifetime=1w\n", "unknown unit");
	parse_fails(BASE_CONN "\tikelifetime=1hh\n", "text after the unit");
	parse_fails(BASE_CONN "\tikelifetime=h\n", "not a number");
	parse_fails(BASE_CONN "\tikelifetime=18446744073709551615d\n",
		    "number too large");
	parse_fails(BASE_CONN "\tikelifetime=18446744073709551616\n",
		    "number too large");
	parse_fails(BASE_CONN "\tikelifetime=86401\n", "out of range 1s-1d");
}

static void
test_config_conn_defaults(void **state)
{
	struct config *cfg = parse_ok(BASE_CONN);
	const struct er_conn_config *c = &cfg->conns[0];

	(void)state;
	assert_int_equal(cfg->nconns, 1);
	assert_string_equal(c->name, "t");
	assert_addr(&c->local, "192.0.2.1");
	assert_addr(&c->remote, "198.51.100.1");
	assert_prefix(&c->local_client, "192.0.2.1/32");
	assert_int_equal(c->nremote, 1);
	assert_prefix(&c->remote_clients[0], "198.51.100.1/32");
	assert_int_equal(c->type, ER_CONN_TUNNEL);
	assert_int_equal(c->autostart, ER_AUTO_ADD);
	assert_int_equal(c->negshunt, ER_NEGSHUNT_HOLD);
	assert_int_equal(c->failshunt, ER_FAILSHUNT_NONE);
	assert_int_equal(c->keyingtries, 0);
	assert_int_equal(c->retransmit_timeout, 60);
	assert_int_equal(c->ike_lifetime, 8 * 3600);
	assert_int_equal(c->sa_lifetime, 8 * 3600);
	assert_int_equal(c->rekey_margin, 9 * 60);
	assert_int_equal(c->proto, 0);
	assert_true(er_port_range_is_any(&c->local_ports));
	assert_true(er_port_range_is_any(&c->remote_ports));
	assert_int_equal(c->priority, 0);
	assert_int_equal(c->reqid, 0);
	assert_false(c->opportunistic);
	assert_false(c->group);
	assert_string_equal(c->updown, "");
	config_free(cfg);
}

static void
test_config_conn_keywords(void **state)
{
	struct config *cfg = parse_ok("conn t\n"
				      "\tleft=192.0.2.1\n"
				      "\tright=198.51.100.1\n"
				      "\tleftsubnet=10.1.0.0/16\n"
				      "\trightsubnet=10.2.0.0/16\n"
				      "\tleftprotoport=tcp/1000-2000\n"
				      "\trightprotoport=6/80\n"
				      "\ttype=tunnel\n"
				      "\tauto=start\n"
				      "\tnegotiationshunt=passthrough\n"
				      "\tfailureshunt=reject\n"
				      "\tkeyingtries=3\n"
				      "\tretransmit-timeout=2m\n"
				      "\tikelifetime=1h\n"
				      "\tsalifetime=30m\n"
				      "\trekeymargin=3m\n"
				      "\tpriority=1234\n"
				      "\treqid=77\n"
				      "\tleftupdown=\"/usr/lib/eroute/updown "
				      "--flag\"\n"
				      "\tauthby=secret\n");
	const struct er_conn_config *c = &cfg->conns[0];

	(void)state;
	assert_prefix(&c->local_client, "10.1.0.0/16");
	assert_prefix(&c->remote_clients[0], "10.2.0.0/16");
	assert_int_equal(c->proto, 6);
	assert_int_equal(c->local_ports.lo, 1000);
	assert_int_equal(c->local_ports.hi, 2000);
	assert_int_equal(c->remote_ports.lo, 80);
	assert_int_equal(c->remote_ports.hi, 80);
	assert_int_equal(c->autostart, ER_AUTO_START);
	assert_int_equal(c->negshunt, ER_NEGSHUNT_PASS);
	assert_int_equal(c->failshunt, ER_FAILSHUNT_REJECT);
	assert_int_equal(c->keyingtries, 3);
	assert_int_equal(c->retransmit_timeout, 120);
	assert_int_equal(c->ike_lifetime, 3600);
	assert_int_equal(c->sa_lifetime, 1800);
	assert_int_equal(c->rekey_margin, 180);
	assert_int_equal(c->priority, 1234);
	assert_int_equal(c->reqid, 77);
	assert_string_equal(c->updown, "/usr/lib/eroute/updown --flag");
	assert_false(c->opportunistic);
	config_free(cfg);
}

static void
test_config_enum_spellings(void **state)
{
	static const struct {
		const char *line;
		size_t offset;
		int value;
	} cases[] = {
		{"type=transport", offsetof(struct er_conn_config, type),
		 ER_CONN_TRANSPORT},
		{"type=passthrough", offsetof(struct er_conn_config, type),
		 ER_CONN_PASSTHROUGH},
		{"type=drop", offsetof(struct er_conn_config, type),
		 ER_CONN_DROP},
		{"type=reject", offsetof(struct er_conn_config, type),
		 ER_CONN_REJECT},
		{"auto=ignore", offsetof(struct er_conn_config, autostart),
		 -1},
		{"auto=ondemand", offsetof(struct er_conn_config, autostart),
		 ER_AUTO_ONDEMAND},
		{"auto=route", offsetof(struct er_conn_config, autostart),
		 ER_AUTO_ONDEMAND},
		{"auto=start", offsetof(struct er_conn_config, autostart),
		 ER_AUTO_START},
		{"negotiationshunt=hold",
		 offsetof(struct er_conn_config, negshunt), ER_NEGSHUNT_HOLD},
		{"negotiationshunt=drop",
		 offsetof(struct er_conn_config, negshunt), ER_NEGSHUNT_HOLD},
		{"negotiationshunt=pass",
		 offsetof(struct er_conn_config, negshunt), ER_NEGSHUNT_PASS},
		{"failureshunt=none",
		 offsetof(struct er_conn_config, failshunt),
		 ER_FAILSHUNT_NONE},
		{"failureshunt=pass",
		 offsetof(struct er_conn_config, failshunt),
		 ER_FAILSHUNT_PASS},
		{"failureshunt=passthrough",
		 offsetof(struct er_conn_config, failshunt),
		 ER_FAILSHUNT_PASS},
		{"failureshunt=drop",
		 offsetof(struct er_conn_config, failshunt),
		 ER_FAILSHUNT_DROP},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = text_printf("conn t\n\tleft=192.0.2.1\n"
					 "\tright=198.51.100.1\n\t%s\n%s",
					 cases[i].line,
					 strncmp(cases[i].line, "auto=", 5) == 0
						 ? ""
						 : "\tauto=add\n");
		struct config *cfg = parse_ok(text);

		if (cases[i].value < 0) {
			/* auto=ignore: checked, not loaded. */
			assert_int_equal(cfg->nconns, 0);
		} else {
			int v;

			memcpy(&v, (const char *)&cfg->conns[0] +
					   cases[i].offset,
			       sizeof(v));
			assert_int_equal(v, cases[i].value);
		}
		config_free(cfg);
		free(text);
	}
}

static void
test_config_keyingtries_forever(void **state)
{
	struct config *cfg = parse_ok(BASE_CONN "\tkeyingtries=%forever\n");

	(void)state;
	assert_int_equal(cfg->conns[0].keyingtries, 0);
	config_free(cfg);
}

static void
test_config_hosts(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = parse_ok("conn v6\n\tleft=2001:db8::1\n\tright=2001:db8:1::1\n"
		       "\tauto=add\n");
	assert_prefix(&cfg->conns[0].local_client, "2001:db8::1/128");
	assert_prefix(&cfg->conns[0].remote_clients[0], "2001:db8:1::1/128");
	config_free(cfg);
	/* A responder waits for any peer. */
	cfg = parse_ok("conn rw\n\tleft=192.0.2.1\n\tright=%any\n"
		       "\tauto=add\n");
	assert_int_equal(cfg->conns[0].remote.family, AF_UNSPEC);
	assert_prefix(&cfg->conns[0].remote_clients[0], "0.0.0.0/0");
	config_free(cfg);
	parse_fails("conn rw\n\tleft=192.0.2.1\n\tright=%any\n"
		    "\tauto=ondemand\n",
		    "t.conf:1: conn rw: auto=ondemand needs a peer address");
	parse_fails("conn m\n\tleft=192.0.2.1\n\tright=2001:db8::1\n"
		    "\tauto=add\n",
		    "t.conf:3: right=2001:db8::1: left=192.0.2.1 is of the "
		    "other family");
	parse_fails("conn m\n\tleft=192.0.2.1\n\tright=%opportunisticgroup\n"
		    "\tleft=%opportunisticgroup\n",
		    "only right= can be %opportunisticgroup");
	parse_fails("conn m\n\tleft=192.0.2.1\n\tright=%foo\n",
		    "t.conf:3: right=%foo: expected an address");
}

static void
test_config_left_and_right_required(void **state)
{
	(void)state;
	parse_fails("conn t\n\tright=198.51.100.1\n\tauto=add\n",
		    "t.conf:1: conn t: left= is not set");
	parse_fails("conn t\n\tleft=192.0.2.1\n\tauto=add\n",
		    "t.conf:1: conn t: right= is not set");
}

static void
test_config_never_negotiate_needs_no_peer(void **state)
{
	static const char *const types[] = {"passthrough", "drop", "reject"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char *text = text_printf("conn x\n\tleft=192.0.2.1\n"
					 "\trightsubnet=198.51.100.0/24\n"
					 "\ttype=%s\n\tauto=ondemand\n",
					 types[i]);
		struct config *cfg = parse_ok(text);

		assert_int_equal(cfg->nconns, 1);
		assert_int_equal(cfg->conns[0].remote.family, AF_UNSPEC);
		assert_prefix(&cfg->conns[0].remote_clients[0],
			      "198.51.100.0/24");
		assert_true(er_conn_is_never_negotiate(&cfg->conns[0]));
		config_free(cfg);
		free(text);
	}
}

static void
test_config_defaultroute_through_the_hook(void **state)
{
	int calls = 0;
	struct config_options o = {
		.defaultroute = fake_defaultroute,
		.defaultroute_ctx = &calls,
		.no_files = true,
	};
	struct config *cfg;

	(void)state;
	cfg = parse_ok_with("conn a\n\tleft=%defaultroute\n"
			    "\tright=198.51.100.1\n\tauto=add\n"
			    "conn b\n\tleft=%defaultroute\n"
			    "\tright=2001:db8:1::1\n\tauto=add\n",
			    &o);
	assert_int_equal(calls, 2);
	assert_addr(&conn_get(cfg, "a")->local, "192.0.2.1");
	assert_prefix(&conn_get(cfg, "a")->local_client, "192.0.2.1/32");
	/* The hook is asked for the family of the other side. */
	assert_addr(&conn_get(cfg, "b")->local, "2001:db8::1");
	config_free(cfg);
}

static void
test_config_defaultroute_without_a_hook_is_an_error(void **state)
{
	static const struct config_options none = {.no_files = true};
	static const struct config_options failing = {
		.defaultroute = failing_defaultroute,
		.no_files = true,
	};
	static const char text[] = "conn a\n"
				   "\tleft=%defaultroute\n"
				   "\tright=198.51.100.1\n"
				   "\tauto=add\n";

	(void)state;
	parse_fails_with(text, &none,
			 "t.conf:2: left=%defaultroute: cannot resolve");
	parse_fails_with(text, &failing,
			 "t.conf:2: left=%defaultroute: cannot resolve: "
			 "Network is unreachable");
	parse_fails("conn a\n\tleft=192.0.2.1\n\tright=%defaultroute\n",
		    "t.conf:3: right=%defaultroute: only left=");
}

static void
test_config_protoport(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = parse_ok(BASE_CONN "\tleftprotoport=udp/%any\n"
				 "\trightprotoport=udp/53\n");
	assert_int_equal(cfg->conns[0].proto, 17);
	assert_true(er_port_range_is_any(&cfg->conns[0].local_ports));
	assert_int_equal(cfg->conns[0].remote_ports.lo, 53);
	config_free(cfg);
	/* One side alone sets the protocol for both. */
	cfg = parse_ok(BASE_CONN "\trightprotoport=icmp\n");
	assert_int_equal(cfg->conns[0].proto, 1);
	config_free(cfg);
	parse_fails(BASE_CONN "\tleftprotoport=tcp\n\trightprotoport=udp/53\n",
		    "t.conf:6: rightprotoport=udp/53: not the protocol of "
		    "leftprotoport=tcp (t.conf:5)");
	parse_fails(BASE_CONN "\tleftprotoport=icmp/8\n",
		    "t.conf:5: leftprotoport=icmp/8: protocol icmp has no "
		    "ports");
	parse_fails(BASE_CONN "\tleftprotoport=tcp/\n", "t.conf:5: "
							"leftprotoport=tcp/: ");
	parse_fails(BASE_CONN "\tleftprotoport=tcp/2000-1000\n", "backwards");
}

static void
test_config_authby_null_is_opportunistic(void **state)
{
	struct config *cfg = parse_ok(BASE_CONN "\tauthby=null\n");

	(void)state;
	assert_true(cfg->conns[0].opportunistic);
	config_free(cfg);
	cfg = parse_ok(BASE_CONN "\tauthby=rsasig,ecdsa\n");
	assert_false(cfg->conns[0].opportunistic);
	config_free(cfg);
}

static void
test_config_updown_disabled_and_limits(void **state)
{
	char *ok = repeat('u', ER_UPDOWN_MAX - 1);
	char *big = repeat('u', ER_UPDOWN_MAX);
	char *text;
	struct config *cfg;

	(void)state;
	cfg = parse_ok(BASE_CONN "\tleftupdown=%disabled\n");
	assert_string_equal(cfg->conns[0].updown, "");
	config_free(cfg);
	text = text_printf(BASE_CONN "\tleftupdown=%s\n", ok);
	cfg = parse_ok(text);
	assert_string_equal(cfg->conns[0].updown, ok);
	config_free(cfg);
	free(text);
	text = text_printf(BASE_CONN "\tleftupdown=%s\n", big);
	parse_fails(text, "t.conf:5: leftupdown=uuu");
	parse_fails(text, "longer than 255 bytes");
	free(text);
	free(ok);
	free(big);
}

static void
test_config_rekeymargin_below_salifetime(void **state)
{
	(void)state;
	parse_fails(BASE_CONN "\tsalifetime=1h\n\trekeymargin=1h\n",
		    "t.conf:6: rekeymargin=1h: not below salifetime=1h");
	/* Only the lifetime given: reported at its line. */
	parse_fails(BASE_CONN "\tsalifetime=5m\n",
		    "t.conf:5: rekeymargin=9m: not below salifetime=5m");
}

static void
test_config_transport_protects_hosts_only(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = parse_ok(BASE_CONN "\ttype=transport\n"
				 "\tleftsubnet=192.0.2.1/32\n");
	assert_int_equal(cfg->conns[0].type, ER_CONN_TRANSPORT);
	config_free(cfg);
	parse_fails(BASE_CONN "\ttype=transport\n\tleftsubnet=10.0.0.0/8\n",
		    "t.conf:6: leftsubnet=10.0.0.0/8: type=transport");
}

/* ------------------------------------------------------------------ */
/* Syntax                                                             */
/* ------------------------------------------------------------------ */

static void
test_config_syntax_comments_quotes_and_whitespace(void **state)
{
	struct config *cfg = parse_ok("\xef\xbb\xbf# a BOM, then a comment\r\n"
				      "version 2   # trailing comment\r\n"
				      "\n"
				      "conn t # comment after the name\n"
				      "  left = 192.0.2.1   \n"
				      "# a column-0 comment stays in the "
				      "section\n"
				      "\tright=198.51.100.1\t# comment\r\n"
				      "\t\t# indented comment\n"
				      "\tleftupdown=\"/bin/x # not a comment\""
				      "  # comment\n"
				      "\tauto=add\n");

	(void)state;
	assert_int_equal(cfg->nconns, 1);
	assert_addr(&cfg->conns[0].local, "192.0.2.1");
	assert_string_equal(cfg->conns[0].updown, "/bin/x # not a comment");
	config_free(cfg);
}

static void
test_config_syntax_errors(void **state)
{
	(void)state;
	parse_fails("version 3\n", "t.conf:1: version: only \"version 2\"");
	parse_fails("config nonsense\n", "t.conf:1: config nonsense: unknown "
					 "section");
	parse_fails("conn\n", "t.conf:1: conn: no name");
	parse_fails("conn a b\n", "t.conf:1: conn: text after the name");
	parse_fails("conn a/b\n", "t.conf:1: conn a/b: connection names");
	parse_fails("conn a#1\n", "t.conf:1: conn a#1: connection names");
	parse_fails("conn -a\n", "t.conf:1: conn -a: connection names");
	parse_fails("left=1.2.3.4\n", "t.conf:1: \"left=1.2.3.4\": unknown "
				      "statement");
	parse_fails("\tleft=192.0.2.1\n", "t.conf:1: left=192.0.2.1: outside "
					  "a section");
	parse_fails("conn t\n\tjust words\n", "t.conf:2: \"just words\": "
					      "expected keyword=value");
	parse_fails("conn t\n\tleftupdown=\"/bin/x\n", "t.conf:2: leftupdown="
						       "\"/bin/x: no closing "
						       "quote");
	parse_fails("conn t\n\tleftupdown=\"/bin/x\" y\n",
		    "t.conf:2: leftupdown=\"/bin/x\": text after the closing "
		    "quote");
	parse_fails("conn t\n\tleft=192.0.2.1\x01\n", "t.conf:2: control "
						      "character 0x01");
	parse_fails("conn a\n\tauto=add\nconn a\n",
		    "t.conf:3: conn a: already defined at t.conf:1");
	/* After an include line, keywords belong to no section. */
	parse_fails("conn a\ninclude x.conf\n\tauto=add\n", "t.conf:3: "
							    "auto=add: "
							    "outside a "
							    "section");
}

static void
test_config_keeps_going_and_reports_every_error(void **state)
{
	struct config_errors errs;
	struct config *cfg = NULL;
	static const char text[] = "config setup\n"
				   "\tuniqueids=maybe\n"
				   "conn a\n"
				   "\tleft=nowhere\n"
				   "\tauto=often\n"
				   "conn b\n"
				   "\tbogus=1\n";

	(void)state;
	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("t.conf", text, strlen(text),
					     &no_files_opts, &cfg, &errs),
			 -EINVAL);
	assert_null(cfg);
	assert_int_equal(errs.n, 4);
	assert_string_equal(errs.msgs[0],
			    "t.conf:2: uniqueids=maybe: expected yes or no");
	assert_true(strncmp(errs.msgs[1], "t.conf:4: left=nowhere: ", 24) ==
		    0);
	assert_true(strncmp(errs.msgs[2], "t.conf:5: auto=often: ", 22) == 0);
	assert_true(strncmp(errs.msgs[3], "t.conf:7: bogus=1: ", 19) == 0);
	config_errors_fini(&errs);
}

static void
test_config_errors_are_capped(void **state)
{
	struct config_errors errs;
	struct config *cfg = NULL;
	size_t n = 1000;
	char *text = malloc(n * 16 + 16);
	size_t len = 0;

	(void)state;
	assert_non_null(text);
	len += (size_t)sprintf(text, "conn t\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "\tbogus%zu=1\n", i);
	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("t.conf", text, len,
					     &no_files_opts, &cfg, &errs),
			 -EINVAL);
	assert_int_equal(errs.n, CONFIG_ERRORS_MAX);
	assert_int_equal(errs.dropped, n - CONFIG_ERRORS_MAX);
	config_errors_fini(&errs);
	/* Without an error list, the result is the same. */
	assert_int_equal(config_parse_buffer("t.conf", text, len,
					     &no_files_opts, &cfg, NULL),
			 -EINVAL);
	free(text);
}

static void
test_config_long_lines_refused(void **state)
{
	char *val = repeat('x', CONFIG_LINE_MAX);
	char *text = text_printf("conn t\n\tleftupdown=%s\n\tauto=add\n", val);
	/* The first 64 characters of the line, without its indent. */
	char *want = text_printf("t.conf:2: leftupdown=%.53s...: line of 4108 "
				 "bytes; the limit is 4096",
				 val);

	(void)state;
	parse_fails(text, want);
	free(want);
	free(text);
	free(val);
}

/* ------------------------------------------------------------------ */
/* also= and conn %default                                            */
/* ------------------------------------------------------------------ */

static void
test_config_also_brings_keywords_in_any_order(void **state)
{
	struct config *cfg = parse_ok("conn net\n"
				      "\tauto=ondemand\n"
				      "\talso=hosts\n"
				      "\talso=lifetimes\n"
				      "\tsalifetime=2h\n"
				      "conn hosts\n"
				      "\tleft=192.0.2.1\n"
				      "\tright=198.51.100.1\n"
				      "\talso=base\n"
				      "conn lifetimes\n"
				      "\tsalifetime=1h\n"
				      "\tikelifetime=3h\n"
				      "conn base\n"
				      "\tkeyingtries=5\n");
	const struct er_conn_config *c;

	(void)state;
	/* hosts, lifetimes and base are auto=ignore: not loaded. */
	assert_int_equal(cfg->nconns, 1);
	c = conn_get(cfg, "net");
	assert_addr(&c->local, "192.0.2.1");
	assert_int_equal(c->keyingtries, 5);
	/* The conn's own value wins over its also= sections. */
	assert_int_equal(c->sa_lifetime, 7200);
	assert_int_equal(c->ike_lifetime, 3 * 3600);
	config_free(cfg);
}

static void
test_config_also_errors(void **state)
{
	(void)state;
	parse_fails(BASE_CONN "\talso=nothere\n",
		    "t.conf:5: also=nothere: no conn nothere");
	parse_fails("conn a\n\talso=b\nconn b\n\talso=c\nconn c\n\talso=a\n",
		    "t.conf:6: also=a: loop: a -> b -> c -> a");
	parse_fails("conn a\n\talso=a\n", "t.conf:2: also=a: loop: a -> a");
	parse_fails("conn a\n\talso=b\n\talso=c\n"
		    "conn b\n\tkeyingtries=1\nconn c\n\tkeyingtries=2\n",
		    "t.conf:3: also=c: keyingtries= comes both from t.conf:5 "
		    "and from t.conf:7");
	parse_fails("conn %default\n\talso=b\n",
		    "t.conf:2: also=b: not allowed in conn %default");
	parse_fails(BASE_CONN "\talso=%default\n",
		    "t.conf:5: also=%default: conn %default applies by itself");
}

static void
test_config_also_shared_base_is_no_conflict(void **state)
{
	/* a gets base's keyingtries through two paths: the same line. */
	struct config *cfg = parse_ok("conn a\n\talso=b\n\talso=c\n"
				      "\tleft=192.0.2.1\n"
				      "\tright=198.51.100.1\n\tauto=add\n"
				      "conn b\n\talso=base\n"
				      "conn c\n\talso=base\n"
				      "conn base\n\tkeyingtries=4\n");

	(void)state;
	assert_int_equal(conn_get(cfg, "a")->keyingtries, 4);
	config_free(cfg);
}

static void
test_config_also_deep_chain_is_bounded(void **state)
{
	char *text = malloc(64 * 40);
	size_t len = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 40; i++)
		len += (size_t)sprintf(text + len, "conn c%d\n\talso=c%d\n", i,
				       i + 1);
	sprintf(text + len, "conn c40\n\tauto=add\n");
	parse_fails(text, "also= nested deeper than 32");
	free(text);
}

static void
test_config_default_applies_to_later_conns(void **state)
{
	struct config *cfg = parse_ok("conn early\n"
				      "\tleft=192.0.2.1\n"
				      "\tright=198.51.100.1\n"
				      "\tauto=add\n"
				      "conn %default\n"
				      "\tkeyingtries=7\n"
				      "\tleft=192.0.2.9\n"
				      "conn late\n"
				      "\tright=198.51.100.2\n"
				      "\tauto=add\n"
				      "conn own\n"
				      "\tkeyingtries=1\n"
				      "\talso=late\n");
	const struct er_conn_config *c;

	(void)state;
	assert_int_equal(cfg->nconns, 3);
	c = conn_get(cfg, "early");
	assert_int_equal(c->keyingtries, 0);
	assert_addr(&c->local, "192.0.2.1");
	c = conn_get(cfg, "late");
	assert_int_equal(c->keyingtries, 7);
	assert_addr(&c->local, "192.0.2.9");
	/* Own, then also=, then %default. */
	c = conn_get(cfg, "own");
	assert_int_equal(c->keyingtries, 1);
	assert_addr(&c->remote, "198.51.100.2");
	assert_addr(&c->local, "192.0.2.9");
	config_free(cfg);
}

static void
test_config_ignored_conns_are_checked_not_loaded(void **state)
{
	struct config *cfg = parse_ok("conn fragment\n\tkeyingtries=2\n");

	(void)state;
	assert_int_equal(cfg->nconns, 0);
	config_free(cfg);
	parse_fails("conn fragment\n\tkeyingtries=two\n",
		    "t.conf:2: keyingtries=two");
}

/* ------------------------------------------------------------------ */
/* Subnets                                                            */
/* ------------------------------------------------------------------ */

static void
test_config_subnet_combinations(void **state)
{
	struct config *cfg = parse_ok("conn n\n"
				      "\tleft=192.0.2.1\n"
				      "\tright=198.51.100.1\n"
				      "\tleftsubnet={10.1.0.0/16 10.2.0.0/16}\n"
				      "\trightsubnet=10.3.0.0/16, 10.4.0.0/16,"
				      "10.5.0.0/16\n"
				      "\tauto=ondemand\n");
	static const char *const names[] = {"n/1x1", "n/1x2", "n/1x3",
					    "n/2x1", "n/2x2", "n/2x3"};

	(void)state;
	assert_int_equal(cfg->nconns, 6);
	for (size_t i = 0; i < 6; i++) {
		const struct er_conn_config *c = &cfg->conns[i];
		char l[32], r[32];

		assert_string_equal(c->name, names[i]);
		snprintf(l, sizeof(l), "10.%zu.0.0/16", 1 + i / 3);
		snprintf(r, sizeof(r), "10.%zu.0.0/16", 3 + i % 3);
		assert_prefix(&c->local_client, l);
		assert_int_equal(c->nremote, 1);
		assert_prefix(&c->remote_clients[0], r);
	}
	config_free(cfg);
}

static void
test_config_single_combination_keeps_the_name(void **state)
{
	struct config *cfg = parse_ok(BASE_CONN "\tleftsubnet={10.1.0.0/16}\n");

	(void)state;
	assert_string_equal(cfg->conns[0].name, "t");
	config_free(cfg);
}

static void
test_config_subnet_errors(void **state)
{
	(void)state;
	parse_fails(BASE_CONN "\tleftsubnet=10.0.0.1/8\n",
		    "t.conf:5: leftsubnet=10.0.0.1/8: \"10.0.0.1/8\": host "
		    "bits set; did you mean 10.0.0.0/8?");
	parse_fails(BASE_CONN "\tleftsubnet={10.0.0.0/8 10.0.0.0/8}\n",
		    "10.0.0.0/8 is listed twice");
	parse_fails(BASE_CONN "\tleftsubnet={}\n", "t.conf:5: leftsubnet={}: "
						   "no prefix");
	parse_fails(BASE_CONN "\tleftsubnet={10.0.0.0/8 2001:db8::/32}\n"
			      "\trightsubnet=10.9.0.0/16\n",
		    "t.conf:6: leftsubnet=2001:db8::/32 and "
		    "rightsubnet=10.9.0.0/16 mix IPv4 and IPv6");
}

static void
test_config_subnet_limits(void **state)
{
	char *list = malloc(CONFIG_SUBNETS_MAX * 16 + 64);
	char *rlist = malloc(33 * 16);
	char *text;
	size_t len = 0, rlen = 0;

	(void)state;
	assert_non_null(list);
	for (int i = 0; i <= CONFIG_SUBNETS_MAX; i++)
		len += (size_t)sprintf(list + len, "10.%d.%d.0/24,", i / 256,
				       i % 256);
	list[len - 1] = '\0';
	text = text_printf(BASE_CONN "\tleftsubnet=%s\n", list);
	parse_fails(text, "more than 256 prefixes");
	free(text);
	/* 33 x 33 combinations is more than the limit. */
	len = 0;
	assert_non_null(rlist);
	for (int i = 0; i < 33; i++) {
		len += (size_t)sprintf(list + len, "10.0.%d.0/24 ", i);
		rlen += (size_t)sprintf(rlist + rlen, "10.9.%d.0/24 ", i);
	}
	text = text_printf(BASE_CONN "\tleftsubnet={%s}\n"
				     "\trightsubnet={%s}\n",
			   list, rlist);
	parse_fails(text, "t.conf:6: conn t: 33 x 33 subnets; the limit is "
			  "1024 combinations");
	free(text);
	free(rlist);
	free(list);
}

static void
test_config_any_subnet_takes_the_other_family(void **state)
{
	struct config *cfg = parse_ok("conn x\n\tleft=2001:db8::1\n"
				      "\tleftsubnet=%any\n"
				      "\trightsubnet=2001:db8:5::/48\n"
				      "\ttype=drop\n\tauto=ondemand\n");

	(void)state;
	assert_prefix(&cfg->conns[0].local_client, "::/0");
	config_free(cfg);
	parse_fails("conn x\n\tleft=%any\n\tright=%any\n\ttype=pass\n"
		    "\tauto=ondemand\n",
		    "cannot tell IPv4 from IPv6");
}

/* ------------------------------------------------------------------ */
/* Opportunistic groups                                               */
/* ------------------------------------------------------------------ */

static void
test_config_group_from_rightsubnet(void **state)
{
	struct config *cfg = parse_ok("conn oe\n"
				      "\tleft=192.0.2.1\n"
				      "\tright=%opportunisticgroup\n"
				      "\trightsubnet={198.51.100.0/24 "
				      "203.0.113.0/24}\n"
				      "\tauthby=null\n"
				      "\tauto=ondemand\n");
	const struct er_conn_config *c = &cfg->conns[0];

	(void)state;
	assert_int_equal(cfg->nconns, 1);
	assert_string_equal(c->name, "oe");
	assert_true(c->group);
	assert_true(c->opportunistic);
	assert_int_equal(c->remote.family, AF_UNSPEC);
	assert_prefix(&c->local_client, "192.0.2.1/32");
	assert_int_equal(c->nremote, 2);
	assert_prefix(&c->remote_clients[0], "198.51.100.0/24");
	assert_prefix(&c->remote_clients[1], "203.0.113.0/24");
	config_free(cfg);
}

static void
test_config_group_reads_policies_beside_the_config(void **state)
{
	char *dir = tmpdir_new();
	char *path = file_write(dir, "sub/oe.conf",
				"conn private-or-clear\n"
				"\tleft=192.0.2.1\n"
				"\tright=%opportunisticgroup\n"
				"\trightsubnet=10.0.0.0/8\n"
				"\tauthby=null\n"
				"\tauto=ondemand\n"
				"conn clear\n"
				"\tleft=192.0.2.1\n"
				"\tright=%opportunisticgroup\n"
				"\ttype=passthrough\n"
				"\tauto=ondemand\n"
				"conn block\n"
				"\tleft=192.0.2.1\n"
				"\tright=%opportunisticgroup\n"
				"\trightsubnet=203.0.113.0/24\n"
				"\ttype=reject\n"
				"\tauto=ondemand\n");
	char *top = file_write(dir, "top.conf", "include sub/oe.conf\n");
	struct config_errors errs;
	struct config *cfg = NULL;
	const struct er_conn_config *c;

	(void)state;
	free(file_write(dir, "sub/policies/private-or-clear",
			"# documentation networks\n"
			"198.51.100.0/24\n"
			"  203.0.113.7   # one host\n"
			"\n"
			"192.0.2.128/25\r\n"));
	free(file_write(dir, "sub/policies/clear", "198.51.100.53\n"));
	assert_int_equal(load(top, &opts, &cfg, &errs), 0);
	c = conn_get(cfg, "private-or-clear");
	assert_int_equal(c->nremote, 4);
	assert_prefix(&c->remote_clients[0], "10.0.0.0/8");
	assert_prefix(&c->remote_clients[1], "198.51.100.0/24");
	assert_prefix(&c->remote_clients[2], "203.0.113.7/32");
	assert_prefix(&c->remote_clients[3], "192.0.2.128/25");
	c = conn_get(cfg, "clear");
	assert_int_equal(c->nremote, 1);
	assert_int_equal(c->type, ER_CONN_PASSTHROUGH);
	/* No policies/block: rightsubnet= is enough. */
	c = conn_get(cfg, "block");
	assert_int_equal(c->nremote, 1);
	config_free(cfg);
	config_errors_fini(&errs);
	free(path);
	free(top);
	tmpdir_free(dir);
}

static void
test_config_group_policies_errors(void **state)
{
	char *dir = tmpdir_new();
	char *conf = file_write(dir, "g.conf",
				"conn private\n"
				"\tleft=192.0.2.1\n"
				"\tright=%opportunisticgroup\n"
				"\trightsubnet=198.51.100.0/24\n"
				"\tauto=ondemand\n");
	char *pol = text_printf("%s/policies/private", dir);
	struct config_errors errs;
	struct config *cfg = NULL;
	char *want;

	(void)state;
	free(file_write(dir, "policies/private",
			"203.0.113.0/24\n"
			"nonsense\n"
			"203.0.113.1/24\n"
			"2001:db8::/32\n"
			"%any\n"
			"198.51.100.0/24\n"));
	assert_int_equal(load(conf, &opts, &cfg, &errs), -EINVAL);
	assert_null(cfg);
	want = text_printf("%s:2: \"nonsense\"", pol);
	assert_true(errors_have(&errs, want));
	free(want);
	want = text_printf("%s:3: 203.0.113.1/24: host bits set", pol);
	assert_true(errors_have(&errs, want));
	free(want);
	want = text_printf("%s:4: 2001:db8::/32: conn private is IPv4", pol);
	assert_true(errors_have(&errs, want));
	free(want);
	want = text_printf("%s:5: %%any: not a destination prefix", pol);
	assert_true(errors_have(&errs, want));
	free(want);
	config_errors_fini(&errs);

	/* A destination twice: rightsubnet= and the file. */
	free(file_write(dir, "policies/private", "198.51.100.0/24\n"));
	assert_int_equal(load(conf, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s:1: 198.51.100.0/24: destination of conn "
			   "private listed twice (also at %s:4)",
			   pol, conf);
	if (!errors_have(&errs, want)) {
		dump_errors(&errs);
		fail_msg("expected %s", want);
	}
	free(want);
	config_errors_fini(&errs);

	/* A policies directory entry that is not a file. */
	unlink(pol);
	assert_int_equal(mkdir(pol, 0755), 0);
	assert_int_equal(load(conf, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s:3: %s: not a regular file", conf, pol);
	assert_true(errors_have(&errs, want));
	free(want);
	config_errors_fini(&errs);
	free(pol);
	free(conf);
	tmpdir_free(dir);
}

static void
test_config_group_errors(void **state)
{
	(void)state;
	/* A libreswan group name without its file or rightsubnet=. */
	parse_fails("conn private\n\tleft=192.0.2.1\n"
		    "\tright=%opportunisticgroup\n\tauto=ondemand\n",
		    "t.conf:3: right=%opportunisticgroup: conn private has "
		    "no destinations");
	/* Any other name needs rightsubnet=. */
	parse_fails("conn mine\n\tleft=192.0.2.1\n"
		    "\tright=%opportunisticgroup\n\tauto=ondemand\n",
		    "conn mine has no destinations (set rightsubnet=)");
	parse_fails("conn g\n\tleft=192.0.2.1\n"
		    "\tright=%opportunisticgroup\n"
		    "\trightsubnet=2001:db8::/32\n\tauto=ondemand\n",
		    "t.conf:4: rightsubnet=2001:db8::/32: conn g is IPv4");
	parse_fails("conn g\n\tleft=192.0.2.1\n"
		    "\tleftsubnet={10.0.0.0/8 10.1.0.0/16}\n"
		    "\tright=%opportunisticgroup\n"
		    "\trightsubnet=198.51.100.0/24\n\tauto=ondemand\n",
		    "t.conf:3: leftsubnet={10.0.0.0/8 10.1.0.0/16}: a group "
		    "has one leftsubnet");
	parse_fails("conn g\n\tleft=192.0.2.1\n"
		    "\tright=%opportunisticgroup\n"
		    "\trightsubnet=198.51.100.0/24\n\treqid=5\n"
		    "\tauto=ondemand\n",
		    "t.conf:5: reqid=5: not on an opportunistic group");
}

static void
test_config_group_size_limit(void **state)
{
	char *dir = tmpdir_new();
	char *conf = file_write(dir, "g.conf",
				"conn clear-or-private\n"
				"\tleft=192.0.2.1\n"
				"\tright=%opportunisticgroup\n"
				"\tauto=ondemand\n");
	size_t n = ER_CONN_GROUP_MAX + 1;
	char *text = malloc(n * 24);
	struct config_errors errs;
	struct config *cfg = NULL;
	size_t len = 0, last = 0;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		last = len;
		len += (size_t)sprintf(text + len, "10.%zu.%zu.0/24\n",
				       i / 256, i % 256);
	}
	free(file_write(dir, "policies/clear-or-private", text));
	assert_int_equal(load(conf, &opts, &cfg, &errs), -EINVAL);
	assert_true(errors_have(&errs, "has more than 4096 destinations"));
	config_errors_fini(&errs);
	/* Exactly the limit is fine. */
	text[last] = '\0';
	free(file_write(dir, "policies/clear-or-private", text));
	assert_int_equal(load(conf, &opts, &cfg, &errs), 0);
	assert_int_equal(cfg->conns[0].nremote, ER_CONN_GROUP_MAX);
	config_free(cfg);
	config_errors_fini(&errs);
	free(text);
	free(conf);
	tmpdir_free(dir);
}

/* ------------------------------------------------------------------ */
/* Files and includes                                                 */
/* ------------------------------------------------------------------ */

static void
test_config_include_files_and_globs(void **state)
{
	char *dir = tmpdir_new();
	char *top = file_write(dir, "ipsec.conf",
			       "config setup\n"
			       "\tuniqueids=no\n"
			       "conn %default\n"
			       "\tleft=192.0.2.1\n"
			       "\tauto=add\n"
			       "include ipsec.d/*.conf\n"
			       "include nothing.d/*.conf\n"
			       "include ipsec.d/extra/last.conf\n");
	struct config_errors errs;
	struct config *cfg = NULL;

	(void)state;
	free(file_write(dir, "ipsec.d/b.conf",
			"conn b\n\tright=198.51.100.2\n"));
	free(file_write(dir, "ipsec.d/a.conf",
			"conn a\n\tright=198.51.100.1\n"));
	free(file_write(dir, "ipsec.d/a.conf.bak", "garbage\n"));
	/* Relative to the including file's directory. */
	free(file_write(dir, "ipsec.d/extra/last.conf",
			"include more.conf\n"));
	free(file_write(dir, "ipsec.d/extra/more.conf",
			"conn c\n\tright=198.51.100.3\n"));
	assert_int_equal(load(top, &opts, &cfg, &errs), 0);
	assert_int_equal(cfg->nconns, 3);
	/* Glob matches in sorted order; %default reaches into includes. */
	assert_string_equal(cfg->conns[0].name, "a");
	assert_string_equal(cfg->conns[1].name, "b");
	assert_string_equal(cfg->conns[2].name, "c");
	assert_addr(&cfg->conns[2].local, "192.0.2.1");
	assert_false(cfg->setup.uniqueids);
	config_free(cfg);
	config_errors_fini(&errs);
	free(top);
	tmpdir_free(dir);
}

static void
test_config_include_errors_name_their_file(void **state)
{
	char *dir = tmpdir_new();
	char *top = file_write(dir, "top.conf",
			       "include missing.conf\n"
			       "include bad.conf\n");
	char *bad = text_printf("%s/bad.conf", dir);
	struct config_errors errs;
	struct config *cfg = NULL;
	char *want;

	(void)state;
	free(file_write(dir, "bad.conf", "conn x\n\tauto=sometimes\n"));
	assert_int_equal(load(top, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s:1: include %s/missing.conf: cannot open: No "
			   "such file or directory",
			   top, dir);
	assert_true(errors_have(&errs, want));
	free(want);
	want = text_printf("%s:2: auto=sometimes", bad);
	assert_true(errors_have(&errs, want));
	free(want);
	config_errors_fini(&errs);
	free(bad);
	free(top);
	tmpdir_free(dir);
}

static void
test_config_include_loops_are_errors(void **state)
{
	char *dir = tmpdir_new();
	char *a = file_write(dir, "a.conf", "include b.conf\n");
	char *self = file_write(dir, "self.conf", "include self.conf\n");
	struct config_errors errs;
	struct config *cfg = NULL;
	char *want;

	(void)state;
	free(file_write(dir, "b.conf", "include sub/../a.conf\n"));
	/* The detour makes the path differ; the file is the same. */
	free(file_write(dir, "sub/placeholder", ""));
	assert_int_equal(load(a, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s/b.conf:1: include %s/sub/../a.conf: include "
			   "loop",
			   dir, dir);
	if (!errors_have(&errs, want)) {
		dump_errors(&errs);
		fail_msg("expected %s", want);
	}
	free(want);
	config_errors_fini(&errs);
	assert_int_equal(load(self, &opts, &cfg, &errs), -EINVAL);
	assert_true(errors_have(&errs, "include loop"));
	config_errors_fini(&errs);
	free(a);
	free(self);
	tmpdir_free(dir);
}

static void
test_config_include_depth_is_bounded(void **state)
{
	char *dir = tmpdir_new();
	struct config_errors errs;
	struct config *cfg = NULL;
	char *top = NULL;

	(void)state;
	for (int i = 0; i < 20; i++) {
		char *name = text_printf("f%d.conf", i);
		char *body = text_printf("include f%d.conf\n", i + 1);

		free(top);
		top = file_write(dir, name, body);
		free(name);
		free(body);
	}
	free(top);
	top = text_printf("%s/f0.conf", dir);
	free(file_write(dir, "f20.conf", "\n"));
	assert_int_equal(load(top, &opts, &cfg, &errs), -EINVAL);
	assert_true(errors_have(&errs, "includes nested deeper than 16"));
	config_errors_fini(&errs);
	free(top);
	tmpdir_free(dir);
}

static void
test_config_include_refused_without_files(void **state)
{
	(void)state;
	parse_fails("include /etc/passwd\n",
		    "t.conf:1: include /etc/passwd: reading files is disabled");
}

static void
test_config_huge_file_refused(void **state)
{
	char *dir = tmpdir_new();
	char *huge = text_printf("%s/huge.conf", dir);
	char *top = file_write(dir, "top.conf", "include huge.conf\n");
	struct config_errors errs;
	struct config *cfg = NULL;
	char *want;
	int fd;

	(void)state;
	/* Sparse: 100 MB of size, no disk. */
	fd = open(huge, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100 << 20), 0);
	close(fd);
	assert_int_equal(load(huge, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s:0: 104857600 bytes; the limit is 16777216",
			   huge);
	assert_true(errors_have(&errs, want));
	free(want);
	config_errors_fini(&errs);
	assert_int_equal(load(top, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s:1: include %s: 104857600 bytes", top, huge);
	assert_true(errors_have(&errs, want));
	free(want);
	config_errors_fini(&errs);
	assert_int_equal(unlink(huge), 0);
	free(huge);
	free(top);
	tmpdir_free(dir);
}

static void
test_config_huge_buffer_refused(void **state)
{
	size_t len = CONFIG_FILE_MAX + 1;
	char *buf = malloc(len);
	struct config_errors errs;
	struct config *cfg = NULL;

	(void)state;
	assert_non_null(buf);
	memset(buf, '\n', len);
	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("big.conf", buf, len, &opts,
					     &cfg, &errs),
			 -EINVAL);
	assert_true(errors_have(&errs, "big.conf:0: 16777217 bytes"));
	config_errors_fini(&errs);
	free(buf);
}

static void
test_config_binary_input_refused(void **state)
{
	struct config_errors errs;
	struct config *cfg = NULL;
	unsigned char garbage[4096];
	uint32_t x = 2463534242u;

	(void)state;
	/* The test program itself: a binary file that surely exists. */
	assert_int_equal(load("/proc/self/exe", &opts, &cfg, &errs), -EINVAL);
	assert_true(errors_have(&errs, "binary data (a NUL byte)"));
	config_errors_fini(&errs);
	/* Random bytes, NULs included or not. */
	for (size_t i = 0; i < sizeof(garbage); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		garbage[i] = (unsigned char)x;
	}
	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("g.conf", (char *)garbage,
					     sizeof(garbage), &opts, &cfg,
					     &errs),
			 -EINVAL);
	assert_well_formed(&errs);
	config_errors_fini(&errs);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = garbage[i] == 0 ? 0xff : garbage[i];
	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("g.conf", (char *)garbage,
					     sizeof(garbage), &opts, &cfg,
					     &errs),
			 -EINVAL);
	assert_well_formed(&errs);
	config_errors_fini(&errs);
}

/* Every line of a file is UTF-8 text without control characters. */
static void
test_config_text_must_be_utf8_without_controls(void **state)
{
	static const struct {
		const char *line;	/* line 2 of t.conf */
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{"\tleftupdown=/opt/gr\xc3\xbc\xc3\x9f" "e/updown",
		 NULL},
		{"# \xe2\x82\xac, \xf0\x9f\x94\x92 and \xef\xbf\xbd are text",
		 NULL},
		{"\tleftupdown=/bin/\xff",
		 "t.conf:2: invalid UTF-8 (byte 0xff at column 18)"},
		{"# Latin-1: M\xfcller",
		 "t.conf:2: invalid UTF-8 (byte 0xfc at column 13)"},
		/* Overlong "/", a UTF-16 surrogate, past U+10FFFF. */
		{"\tleftupdown=\xc0\xaf" "bin", "invalid UTF-8 (byte 0xc0"},
		{"\tleftupdown=\xe0\x80\xaf" "bin", "invalid UTF-8 (byte 0xe0"},
		{"\tleftupdown=\xed\xa0\x80", "invalid UTF-8 (byte 0xed"},
		{"\tleftupdown=\xf4\x90\x80\x80", "invalid UTF-8 (byte 0xf4"},
		/* Cut short at the end of the line, or by a new character. */
		{"\tleftupdown=x\xe2\x82", "invalid UTF-8 (byte 0xe2 at "
					  "column 14)"},
		{"\tleftupdown=x\xe2" "ab", "invalid UTF-8 (byte 0xe2"},
		{"\tleftupdown=\x80", "invalid UTF-8 (byte 0x80"},
		/* Terminal escapes, C0 and C1. */
		{"\tleftupdown=\x1b[2J", "t.conf:2: control character 0x1b "
					"at column 13"},
		{"# \x7f", "control character 0x7f at column 3"},
		{"\tleftupdown=\xc2\x9b" "2J", "t.conf:2: control character "
					      "U+009B at column 13"},
		{"\tleft=192.0.2.1\r\r", "control character 0x0d"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = text_printf("conn t\n%s\n\tleft=192.0.2.1\n"
					 "\tright=198.51.100.1\n\tauto=add\n",
					 cases[i].line);
		struct config *cfg;

		if (cases[i].error == NULL) {
			cfg = parse_ok(text);
			config_free(cfg);
		} else {
			parse_fails(text, cases[i].error);
		}
		free(text);
	}
}

/* Is @s UTF-8 without control characters?  libc is the judge. */
static bool
is_utf8_text(const char *s)
{
	mbstate_t st;
	size_t n = strlen(s), len;
	wchar_t wc;
	bool ok = true;

	memset(&st, 0, sizeof(st));
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	for (size_t i = 0; i < n && ok; i += len) {
		len = mbrtowc(&wc, s + i, n - i, &st);
		ok = len != (size_t)-1 && len != (size_t)-2 && len != 0 &&
		     !iswcntrl((wint_t)wc);
	}
	setlocale(LC_CTYPE, "C");
	return ok;
}

/* Messages are text even where what they quote is not: a value cut short
 * in the middle of a character, a file name that is not UTF-8. */
static void
test_config_messages_are_utf8_text(void **state)
{
	char *dir = tmpdir_new();
	char *top = file_write(dir, "top.conf", "include *.conf\n");
	char *a31 = repeat('a', 31);
	struct config_errors errs;
	struct config *cfg = NULL;
	char *want, *text;

	(void)state;
	assert_true(is_utf8_text("gr\xc3\xbc\xc3\x9f" "e"));
	assert_false(is_utf8_text("x\xc3"));
	assert_false(is_utf8_text("\x1b[1m"));
	/* Quoted to 32 bytes: cut half way through the "e with acute". */
	text = text_printf(BASE_CONN "\tauthby=%s\xc3\xa9\n", a31);
	config_errors_init(&errs);
	assert_int_equal(config_parse_buffer("t.conf", text, strlen(text),
					     &no_files_opts, &cfg, &errs),
			 -EINVAL);
	want = text_printf("unknown method \"%s?\"", a31);
	assert_true(errors_have(&errs, want));
	free(want);
	for (size_t i = 0; i < errs.n; i++)
		assert_true(is_utf8_text(errs.msgs[i]));
	config_errors_fini(&errs);
	free(text);
	/* A file name from a glob, in Latin-1. */
	free(file_write(dir, "caf\xe9.conf", "conn x\n\tauto=sometimes\n"));
	assert_int_equal(load(top, &opts, &cfg, &errs), -EINVAL);
	want = text_printf("%s/caf?.conf:2: auto=sometimes", dir);
	if (!errors_have(&errs, want)) {
		dump_errors(&errs);
		fail_msg("expected %s", want);
	}
	free(want);
	for (size_t i = 0; i < errs.n; i++)
		assert_true(is_utf8_text(errs.msgs[i]));
	config_errors_fini(&errs);
	free(a31);
	free(top);
	tmpdir_free(dir);
}

/* The policies/ files are held to the same: no escape reaches a log. */
static void
test_config_group_policies_must_be_text(void **state)
{
	char *dir = tmpdir_new();
	char *conf = file_write(dir, "g.conf",
				"conn private\n"
				"\tleft=192.0.2.1\n"
				"\tright=%opportunisticgroup\n"
				"\tauto=ondemand\n");
	char *pol = text_printf("%s/policies/private", dir);
	struct config_errors errs;
	struct config *cfg = NULL;
	char *want;

	(void)state;
	free(file_write(dir, "policies/private",
			"203.0.113.0/24\n"
			"\x1b]0;owned\x07\n"
			"198.51.100.\xff/24\n"));
	assert_int_equal(load(conf, &opts, &cfg, &errs), -EINVAL);
	assert_null(cfg);
	want = text_printf("%s:2: control character 0x1b at column 1", pol);
	assert_true(errors_have(&errs, want));
	free(want);
	want = text_printf("%s:3: invalid UTF-8 (byte 0xff at column 12)",
			   pol);
	assert_true(errors_have(&errs, want));
	free(want);
	for (size_t i = 0; i < errs.n; i++)
		assert_null(strchr(errs.msgs[i], '\x1b'));
	config_errors_fini(&errs);
	free(pol);
	free(conf);
	tmpdir_free(dir);
}

static void
test_config_special_files_refused(void **state)
{
	char *dir = tmpdir_new();
	char *fifo = text_printf("%s/fifo.conf", dir);
	struct config_errors errs;
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(load(dir, &opts, &cfg, &errs), -EINVAL);
	assert_true(errors_have(&errs, ":0: not a regular file"));
	config_errors_fini(&errs);
	/* A FIFO must not hang the reader. */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(load(fifo, &opts, &cfg, &errs), -EINVAL);
	assert_true(errors_have(&errs, ":0: not a regular file"));
	config_errors_fini(&errs);
	assert_int_equal(load("/nonexistent/eroute.conf", &opts, &cfg, &errs),
			 -EINVAL);
	assert_true(errors_have(&errs, "/nonexistent/eroute.conf:0: cannot "
				       "open: No such file or directory"));
	config_errors_fini(&errs);
	free(fifo);
	tmpdir_free(dir);
}

static void
test_config_many_conns_read_in_linear_time(void **state)
{
	size_t n = 10000;
	char *text = malloc(n * 96 + 64);
	struct config *cfg;
	size_t len = 0;

	(void)state;
	assert_non_null(text);
	/* base is above conn %default: it stays auto=ignore. */
	len += (size_t)sprintf(text, "conn base\n\tkeyingtries=1\n"
				     "conn %%default\n\tleft=192.0.2.1\n"
				     "\tauto=ondemand\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len,
				       "conn c%zu\n\tright=10.%zu.%zu.1\n"
				       "\talso=base\n",
				       i, i / 256, i % 256);
	cfg = parse_ok(text);
	assert_int_equal(cfg->nconns, n);
	assert_string_equal(cfg->conns[n - 1].name, "c9999");
	assert_int_equal(cfg->conns[n - 1].keyingtries, 1);
	config_free(cfg);
	/* An auto=ignore in base travels with also=: nothing loads. */
	memcpy(strstr(text, "\tkeyingtries=1\n"), "\tauto=ignore  \n", 15);
	cfg = parse_ok(text);
	assert_int_equal(cfg->nconns, 0);
	config_free(cfg);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Reload                                                             */
/* ------------------------------------------------------------------ */

static bool
names_are(const char **names, size_t n, const char *const *want,
	  size_t nwant)
{
	bool same = n == nwant;

	for (size_t i = 0; same && i < n; i++)
		same = strcmp(names[i], want[i]) == 0;
	return same;
}

static void
test_config_diff_names_added_removed_changed(void **state)
{
	struct config *old = parse_ok("conn %default\n\tleft=192.0.2.1\n"
				      "\tauto=add\n"
				      "conn a\n\tright=198.51.100.1\n"
				      "conn b\n\tright=198.51.100.2\n"
				      "conn c\n\tright=198.51.100.3\n"
				      "conn g\n\tright=%opportunisticgroup\n"
				      "\trightsubnet={10.0.0.0/8 10.1.0.0/16}"
				      "\n"
				      "conn n\n\tright=198.51.100.9\n"
				      "\tleftsubnet={10.8.0.0/16 10.9.0.0/16}"
				      "\n");
	struct config *new = parse_ok("config setup\n\tshuntlifetime=1h\n"
				      "conn %default\n\tleft=192.0.2.1\n"
				      "\tauto=add\n"
				      "conn d\n\tright=198.51.100.4\n"
				      "conn c\n\tright=198.51.100.3\n"
				      "conn b\n\tright=198.51.100.2\n"
				      "\tkeyingtries=2\n"
				      "conn g\n\tright=%opportunisticgroup\n"
				      "\trightsubnet={10.0.0.0/8 10.2.0.0/16}"
				      "\n"
				      "conn n\n\tright=198.51.100.9\n"
				      "\tleftsubnet={10.8.0.0/16 10.7.0.0/16}"
				      "\n");
	static const char *const added[] = {"d"};
	static const char *const removed[] = {"a"};
	static const char *const changed[] = {"b", "g", "n/2x1"};
	struct config_diff d;

	(void)state;
	assert_int_equal(config_diff(old, new, &d), 0);
	assert_true(names_are(d.added, d.nadded, added, 1));
	assert_true(names_are(d.removed, d.nremoved, removed, 1));
	assert_true(names_are(d.changed, d.nchanged, changed, 3));
	assert_true(d.setup_changed);
	config_diff_fini(&d);

	assert_int_equal(config_diff(new, new, &d), 0);
	assert_int_equal(d.nadded + d.nremoved + d.nchanged, 0);
	assert_false(d.setup_changed);
	config_diff_fini(&d);

	/* From nothing, everything is added; to nothing, removed. */
	assert_int_equal(config_diff(NULL, old, &d), 0);
	assert_int_equal(d.nadded, old->nconns);
	assert_false(d.setup_changed);
	config_diff_fini(&d);
	assert_int_equal(config_diff(old, NULL, &d), 0);
	assert_int_equal(d.nremoved, old->nconns);
	config_diff_fini(&d);
	config_diff_fini(NULL);
	config_free(old);
	config_free(new);
}

static void
test_config_diff_sees_every_field(void **state)
{
	static const char *const extra[] = {
		"\tleftsubnet=192.0.2.0/24\n",
		"\trightsubnet=198.51.100.0/24\n",
		"\tleftprotoport=tcp\n",
		"\tleftprotoport=tcp/1\n",
		"\trightprotoport=tcp/2\n",
		"\ttype=transport\n",
		"\tnegotiationshunt=pass\n",
		"\tfailureshunt=drop\n",
		"\tkeyingtries=9\n",
		"\tretransmit-timeout=9\n",
		"\tikelifetime=9m\n",
		"\tsalifetime=1d\n",
		"\trekeymargin=1m\n",
		"\tpriority=9\n",
		"\treqid=9\n",
		"\tleftupdown=/bin/true\n",
		"\tauthby=null\n",
		"\tauto=start\n",
		"\tright=198.51.100.2\n",
	};
	struct config *base = parse_ok("conn t\n\tleft=192.0.2.1\n"
				       "\tauto=add\n\talso=r\n"
				       "conn r\n\tright=198.51.100.1\n");
	struct config_diff d;

	(void)state;
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		bool right = strncmp(extra[i], "\tright=", 7) == 0;
		bool autos = strncmp(extra[i], "\tauto=", 6) == 0;
		char *text = text_printf("conn t\n\tleft=192.0.2.1\n%s%s%s",
					 autos ? "" : "\tauto=add\n",
					 right ? "" : "\tright=198.51.100.1\n",
					 extra[i]);
		struct config *cfg = parse_ok(text);

		assert_int_equal(config_diff(base, cfg, &d), 0);
		if (d.nchanged != 1)
			fail_msg("no change seen for %s", extra[i]);
		config_diff_fini(&d);
		config_free(cfg);
		free(text);
	}
	config_free(base);
}

static void
test_config_conn_lookup_by_name(void **state)
{
	struct config *cfg = parse_ok("conn %default\n\tleft=192.0.2.1\n"
				      "\tauto=add\n"
				      "conn z\n\tright=198.51.100.1\n"
				      "conn a\n\tright=198.51.100.2\n"
				      "conn m\n\tright=198.51.100.3\n"
				      "\tleftsubnet={10.1.0.0/16 10.2.0.0/16}"
				      "\n");

	(void)state;
	assert_ptr_equal(config_conn_lookup(cfg, "z"), &cfg->conns[0]);
	assert_ptr_equal(config_conn_lookup(cfg, "a"), &cfg->conns[1]);
	assert_ptr_equal(config_conn_lookup(cfg, "m/2x1"), &cfg->conns[3]);
	assert_null(config_conn_lookup(cfg, "m"));
	assert_null(config_conn_lookup(cfg, ""));
	assert_null(config_conn_lookup(NULL, "a"));
	config_free(cfg);
}

static void
test_config_bad_reload_changes_nothing(void **state)
{
	char *dir = tmpdir_new();
	char *path = file_write(dir, "eroute.conf", BASE_CONN);
	struct config_errors errs;
	struct config *cfg = NULL, *keep;

	(void)state;
	assert_int_equal(load(path, &opts, &cfg, &errs), 0);
	config_errors_fini(&errs);
	keep = cfg;
	free(file_write(dir, "eroute.conf", BASE_CONN "\tauto=twice\n"));
	assert_int_equal(load(path, &opts, &cfg, &errs), -EINVAL);
	assert_ptr_equal(cfg, keep);
	assert_string_equal(cfg->conns[0].name, "t");
	config_errors_fini(&errs);
	config_free(cfg);
	free(path);
	tmpdir_free(dir);
}

/* ------------------------------------------------------------------ */
/* The shipped example                                                */
/* ------------------------------------------------------------------ */

static void
test_config_example_loads(void **state)
{
	struct config_errors errs;
	struct config *cfg = NULL;
	const struct er_conn_config *c;

	(void)state;
	if (load(EROUTE_SOURCE_DIR "/examples/eroute.conf", &opts, &cfg,
		 &errs) != 0) {
		dump_errors(&errs);
		fail_msg("examples/eroute.conf does not load");
	}
	assert_true(cfg->nconns >= 5);
	c = conn_get(cfg, "private-or-clear");
	assert_true(c->group);
	assert_true(c->opportunistic);
	assert_true(c->nremote > 1);
	for (size_t i = 0; i < cfg->nconns; i++) {
		struct er_err err;

		assert_int_equal(er_conn_config_check(&cfg->conns[i], &err),
				 0);
	}
	config_free(cfg);
	config_errors_fini(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_every_keyword_has_a_case),
		cmocka_unit_test(
			test_config_every_keyword_refuses_empty_values),
		cmocka_unit_test(
			test_config_every_keyword_refuses_oversized_values),
		cmocka_unit_test(test_config_every_keyword_refuses_wrong_types),
		cmocka_unit_test(
			test_config_every_keyword_refuses_out_of_range),
		cmocka_unit_test(
			test_config_every_keyword_refused_in_the_wrong_section),
		cmocka_unit_test(test_config_unknown_keyword_is_an_error),
		cmocka_unit_test(
			test_config_keyword_defined_twice_names_both_lines),
		cmocka_unit_test(test_config_setup_defaults),
		cmocka_unit_test(test_config_setup_keywords),
		cmocka_unit_test(test_config_durations_take_units),
		cmocka_unit_test(test_config_conn_defaults),
		cmocka_unit_test(test_config_conn_keywords),
		cmocka_unit_test(test_config_enum_spellings),
		cmocka_unit_test(test_config_keyingtries_forever),
		cmocka_unit_test(test_config_hosts),
		cmocka_unit_test(test_config_left_and_right_required),
		cmocka_unit_test(test_config_never_negotiate_needs_no_peer),
		cmocka_unit_test(test_config_defaultroute_through_the_hook),
		cmocka_unit_test(
			test_config_defaultroute_without_a_hook_is_an_error),
		cmocka_unit_test(test_config_protoport),
		cmocka_unit_test(test_config_authby_null_is_opportunistic),
		cmocka_unit_test(test_config_updown_disabled_and_limits),
		cmocka_unit_test(test_config_rekeymargin_below_salifetime),
		cmocka_unit_test(test_config_transport_protects_hosts_only),
		cmocka_unit_test(
			test_config_syntax_comments_quotes_and_whitespace),
		cmocka_unit_test(test_config_syntax_errors),
		cmocka_unit_test(
			test_config_keeps_going_and_reports_every_error),
		cmocka_unit_test(test_config_errors_are_capped),
		cmocka_unit_test(test_config_long_lines_refused),
		cmocka_unit_test(test_config_also_brings_keywords_in_any_order),
		cmocka_unit_test(test_config_also_errors),
		cmocka_unit_test(test_config_also_shared_base_is_no_conflict),
		cmocka_unit_test(test_config_also_deep_chain_is_bounded),
		cmocka_unit_test(test_config_default_applies_to_later_conns),
		cmocka_unit_test(
			test_config_ignored_conns_are_checked_not_loaded),
		cmocka_unit_test(test_config_subnet_combinations),
		cmocka_unit_test(test_config_single_combination_keeps_the_name),
		cmocka_unit_test(test_config_subnet_errors),
		cmocka_unit_test(test_config_subnet_limits),
		cmocka_unit_test(test_config_any_subnet_takes_the_other_family),
		cmocka_unit_test(test_config_group_from_rightsubnet),
		cmocka_unit_test(
			test_config_group_reads_policies_beside_the_config),
		cmocka_unit_test(test_config_group_policies_errors),
		cmocka_unit_test(test_config_group_policies_must_be_text),
		cmocka_unit_test(test_config_messages_are_utf8_text),
		cmocka_unit_test(test_config_group_errors),
		cmocka_unit_test(test_config_group_size_limit),
		cmocka_unit_test(test_config_include_files_and_globs),
		cmocka_unit_test(test_config_include_errors_name_their_file),
		cmocka_unit_test(test_config_include_loops_are_errors),
		cmocka_unit_test(test_config_include_depth_is_bounded),
		cmocka_unit_test(test_config_include_refused_without_files),
		cmocka_unit_test(test_config_huge_file_refused),
		cmocka_unit_test(test_config_huge_buffer_refused),
		cmocka_unit_test(test_config_binary_input_refused),
		cmocka_unit_test(test_config_text_must_be_utf8_without_controls),
		cmocka_unit_test(test_config_special_files_refused),
		cmocka_unit_test(test_config_many_conns_read_in_linear_time),
		cmocka_unit_test(test_config_diff_names_added_removed_changed),
		cmocka_unit_test(test_config_diff_sees_every_field),
		cmocka_unit_test(test_config_conn_lookup_by_name),
		cmocka_unit_test(test_config_bad_reload_changes_nothing),
		cmocka_unit_test(test_config_example_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
