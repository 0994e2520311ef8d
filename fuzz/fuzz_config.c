// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for erouted's configuration reader.  The input is one
 * configuration file, read from memory with no_files set, so that nothing
 * outside the buffer is ever opened.  Besides crashes, leaks and undefined
 * behaviour, it checks the reader's promises: a result only without
 * errors, never errors without a message, every message "fuzz.conf:LINE:
 * text" with text that is UTF-8 without control characters and short
 * enough never to have been cut (the input is all that a message can
 * quote, and it must be quoted shortened), every connection one the
 * engine accepts and found by its name, and a configuration identical to
 * itself.
 *
 *   make fuzz FUZZ_TARGETS=config (scripts/fuzz), or by hand:
 *   build-fuzz/fuzz/fuzz_config -dict=fuzz/config.dict DIR
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_defaultroute(void *ctx, int family, struct er_addr *out)
{
	(void)ctx;
	return er_addr_parse(out,
			     family == AF_INET6 ? "2001:db8::1" : "192.0.2.1",
			     NULL);
}

/* The longest message the reader writes is 511 bytes; one that long may
 * have been cut.  No input may make one that long: every quote of it is
 * shortened. */
#define MSG_CUT 511

/* UTF-8 without control characters, decoded here independently of the
 * reader's own check. */
static bool
is_text(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = s[i];
		size_t need = c < 0x80 ? 0 : c < 0xc2 ? 9 : c < 0xe0 ? 1
			      : c < 0xf0 ? 2 : c < 0xf5 ? 3 : 9;

		if (need == 9 || n - i <= need)
			return false;
		if (need > 0)
			c &= 0x3f >> need;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 1 && c < 0x80) || (need == 2 && c < 0x800) ||
		    (need == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			return false;
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return false;
		i += need + 1;
	}
	return true;
}

static void
check_message(const char *msg)
{
	static const char prefix[] = "fuzz.conf:";
	const char *m = msg + sizeof(prefix) - 1;
	size_t digits = strspn(m, "0123456789"), len = strlen(msg);

	if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0 || digits == 0 ||
	    strncmp(m + digits, ": ", 2) != 0 || m[digits + 2] == '\0' ||
	    len >= MSG_CUT || !is_text((const unsigned char *)msg, len)) {
		fprintf(stderr, "bad message (%zu bytes): %s\n", len, msg);
		abort();
	}
}

static void
check_result(const struct config *cfg)
{
	struct config_diff d;
	struct er_err err;

	for (size_t i = 0; i < cfg->nconns; i++) {
		if (er_conn_config_check(&cfg->conns[i], &err) < 0 ||
		    config_conn_lookup(cfg, cfg->conns[i].name) !=
			    &cfg->conns[i])
			abort();
	}
	if (config_diff(cfg, cfg, &d) == 0 &&
	    (d.nadded != 0 || d.nremoved != 0 || d.nchanged != 0 ||
	     d.setup_changed))
		abort();
	config_diff_fini(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_options opts = {
		.defaultroute = fuzz_defaultroute,
		.no_files = true,
	};
	struct config_errors errs;
	struct config *cfg = NULL;
	int ret;

	config_errors_init(&errs);
	ret = config_parse_buffer("fuzz.conf", (const char *)data, size, &opts,
				  &cfg, &errs);
	if (ret == 0 && (cfg == NULL || errs.n != 0 || errs.dropped != 0))
		abort();
	if (ret != 0 && cfg != NULL)
		abort();
	if (ret == -EINVAL && errs.n == 0)
		abort();
	for (size_t i = 0; i < errs.n; i++)
		check_message(errs.msgs[i]);
	if (cfg != NULL)
		check_result(cfg);
	config_free(cfg);
	config_errors_fini(&errs);
	return 0;
}
