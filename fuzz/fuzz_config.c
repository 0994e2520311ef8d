// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for erouted's configuration reader.  The input is one
 * configuration file, read from memory with no_files set, so that nothing
 * outside the buffer is ever opened.  Besides crashes, leaks and undefined
 * behaviour, it checks the reader's promises: a result only without
 * errors, never errors without a message, every connection one the
 * engine accepts and found by its name, and a configuration identical to
 * itself.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	-Iinclude -Isrc -Isrc/daemon $(pkg-config --cflags libbsd-overlay) \
 *	fuzz/fuzz_config.c src/daemon/config.c src/lib/\*.c src/kernel/sim.c \
 *	$(pkg-config --libs libbsd-overlay) -o fuzz_config
 *   ./fuzz_config -dict=fuzz/config.dict -max_len=16384 corpus/ examples/
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

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
	if (cfg != NULL)
		check_result(cfg);
	config_free(cfg);
	config_errors_fini(&errs);
	return 0;
}
