/* SPDX-License-Identifier: MIT */
/*
 * erouted's log: one line per event, the connection's name first, to
 * stderr in the foreground and to syslog otherwise.
 */
#ifndef EROUTED_LOG_H
#define EROUTED_LOG_H

#include <stdbool.h>

#include "eroute/engine.h"

void log_init(bool to_stderr, enum er_log_level level);
void log_fini(void);
int log_level_parse(const char *s, enum er_log_level *out);

/**
 * log_msg - log a line; @conn may be NULL
 */
void log_msg(enum er_log_level level, const char *conn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
