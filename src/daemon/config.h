/* SPDX-License-Identifier: MIT */
/*
 * The configuration reader of erouted: ipsec.conf as libreswan users write
 * it, for the keywords eroute acts on (docs/config.md lists them).
 *
 * A configuration is read whole or not at all.  The reader records every
 * mistake as "FILE:LINE: message", keeps going to find the others, and
 * fails at the end with all of them; the caller's previous configuration
 * stays in force.  Whole-file errors (cannot open, too large) name the
 * include line that asked for the file, or line 0 for the top file.
 *
 * It reads files only where the configuration asks (include, and
 * policies/NAME for an opportunistic group), refuses lines longer than
 * CONFIG_LINE_MAX and files larger than CONFIG_FILE_MAX, and its work is
 * linear in the input, so that config_parse_buffer() can be driven by a
 * fuzzer.  It never looks at the routing table: left=%defaultroute is
 * resolved by a hook the daemon provides.
 *
 * Output: one er_conn_config per connection to load, in file order.
 * auto=ignore connections are checked keyword by keyword but not loaded,
 * as in libreswan.  A conn whose leftsubnet= and rightsubnet= list several
 * prefixes becomes one connection per combination, named "NAME/1x1",
 * "NAME/1x2", ...; a group (right=%opportunisticgroup) stays one
 * connection with every destination in remote_clients.
 */
#ifndef EROUTED_CONFIG_H
#define EROUTED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/addr.h"
#include "eroute/conn.h"

/* Limits; docs/config.md repeats them. */
#define CONFIG_LINE_MAX 4096		/* bytes, without the newline */
#define CONFIG_FILE_MAX (16u << 20)	/* bytes per file */
#define CONFIG_TOTAL_MAX (64u << 20)	/* bytes over every file read */
#define CONFIG_FILES_MAX 256		/* files per configuration */
#define CONFIG_INCLUDE_DEPTH 16
#define CONFIG_ALSO_DEPTH 32
#define CONFIG_SUBNETS_MAX 256		/* prefixes in one leftsubnet= */
#define CONFIG_COMBINATIONS_MAX 1024	/* connections from one conn */
#define CONFIG_CONNS_MAX 65536		/* connections in a configuration */
#define CONFIG_CONN_NAME_MAX 64		/* with the NUL; leaves room for
					 * "/NxM" and "#ADDR/LEN" */
#define CONFIG_ERRORS_MAX 100		/* messages kept; the rest counted */

/* What config setup says. */
struct config_setup {
	uint64_t shunt_lifetime;	/* shuntlifetime=, seconds; 15m */
	uint64_t expire_shunt_interval;	/* expire-shunt-interval=; 20s */
	uint64_t xfrm_lifetime;		/* xfrmlifetime=: larval acquire
					 * states; 30s */
	bool keep_policies;		/* keep-policies=; no: a clean exit
					 * removes eroute's own policies */
	bool uniqueids;			/* uniqueids=; yes */
};

struct config {
	struct config_setup setup;
	struct er_conn_config *conns;	/* in file order */
	size_t nconns;
	/* The remote prefixes the conns point into; owned here. */
	struct er_prefix *prefixes;
	size_t nprefixes;
	/* The conns sorted by name, for config_conn_lookup(). */
	const struct er_conn_config **by_name;
};

/* Every message of one failed read. */
struct config_errors {
	char **msgs;			/* "FILE:LINE: message" */
	size_t n;			/* at most CONFIG_ERRORS_MAX */
	size_t dropped;			/* errors past the limit, counted */
};

/*
 * Resolves left=%defaultroute: the address of this host on its default
 * route, of @family, or of either family (IPv4 preferred) for AF_UNSPEC.
 * Return 0 with @out set, or a negative errno.
 */
typedef int config_defaultroute_fn(void *ctx, int family, struct er_addr *out);

struct config_options {
	config_defaultroute_fn *defaultroute;	/* NULL: cannot resolve */
	void *defaultroute_ctx;
	bool no_files;		/* read nothing but the buffer: include is
				 * refused and policies/ files are absent */
};

/**
 * config_errors_init - an empty error list
 */
void config_errors_init(struct config_errors *errs);

/**
 * config_errors_fini - free the messages; accepts NULL
 */
void config_errors_fini(struct config_errors *errs);

/**
 * config_load - read a configuration file and what it includes
 * @path: the file; include and policies/ paths are relative to the file
 *	that names them
 * @opts: hooks and switches, or NULL for none
 * @out: the configuration, set only on success; free with config_free()
 * @errs: optional; receives every error (initialise it first)
 *
 * Return: 0; -EINVAL when the configuration has errors (listed in @errs);
 * -ENOMEM.
 */
int config_load(const char *path, const struct config_options *opts,
		struct config **out, struct config_errors *errs);

/**
 * config_parse_buffer - read a configuration held in memory
 * @name: the file name to give in errors; include and policies/ paths are
 *	relative to its directory
 * @buf, @len: the text; it need not be NUL-terminated
 * @opts, @out, @errs: as for config_load()
 *
 * Return: as config_load().
 */
int config_parse_buffer(const char *name, const char *buf, size_t len,
			const struct config_options *opts, struct config **out,
			struct config_errors *errs);

/**
 * config_free - free a configuration; accepts NULL
 */
void config_free(struct config *cfg);

/**
 * config_conn_lookup - a connection by name, in O(log n)
 *
 * Return: a pointer into @cfg, or NULL when it has no such connection.
 */
const struct er_conn_config *config_conn_lookup(const struct config *cfg,
						const char *name);

/**
 * config_keyword - the @i-th keyword the reader knows, so that tests can
 *	cover every one and a new keyword cannot go untested
 * @setup: set to whether it belongs in config setup; may be NULL
 *
 * Return: its name, or NULL when @i is past the last keyword.
 */
const char *config_keyword(size_t i, bool *setup);

/**
 * config_setup_init - the defaults of config setup
 */
void config_setup_init(struct config_setup *setup);

/* Connections that a reload adds, removes and changes. */
struct config_diff {
	const char **added;	/* in @new's order, borrowed from @new */
	size_t nadded;
	const char **removed;	/* in @old's order, borrowed from @old */
	size_t nremoved;
	const char **changed;	/* in @new's order, borrowed from @new */
	size_t nchanged;
	bool setup_changed;	/* config setup differs */
};

/**
 * config_diff - compare two configurations' connections by name
 * @old, @new: the configuration in force and the one read; either may
 *	be NULL (no connections)
 * @diff: the result; free with config_diff_fini().  The names are
 *	borrowed: they live as long as @old and @new.
 *
 * A connection is changed when any field of its er_conn_config differs,
 * remote prefixes included.  Return: 0 or -ENOMEM.
 */
int config_diff(const struct config *old, const struct config *new,
		struct config_diff *diff);

/**
 * config_diff_fini - free the arrays of a diff; accepts NULL
 */
void config_diff_fini(struct config_diff *diff);

#endif
