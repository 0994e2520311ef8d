// SPDX-License-Identifier: MIT
/* erouted's log: stderr in the foreground, syslog otherwise. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool use_stderr = true;
static enum er_log_level max_level = ER_LOG_INFO;

void
log_init(bool to_stderr, enum er_log_level level)
{
	use_stderr = to_stderr;
	max_level = level;
	if (!to_stderr)
		openlog("erouted", LOG_PID, LOG_DAEMON);
}

void
log_fini(void)
{
	if (!use_stderr)
		closelog();
}

int
log_level_parse(const char *s, enum er_log_level *out)
{
	for (int l = ER_LOG_ERROR; l <= ER_LOG_DEBUG; l++) {
		if (strcmp(s, er_log_level_name((enum er_log_level)l)) == 0) {
			*out = (enum er_log_level)l;
			return 0;
		}
	}
	return -1;
}

void
log_msg(enum er_log_level level, const char *conn, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The connection's name first, so grep finds a connection's story. */
	if (use_stderr) {
		fprintf(stderr, "%s%s%s%s%s\n", conn != NULL ? conn : "",
			conn != NULL ? ": " : "",
			level <= ER_LOG_WARNING ? er_log_level_name(level) : "",
			level <= ER_LOG_WARNING ? ": " : "", line);
		return;
	}
	syslog(prio[level], "%s%s%s", conn != NULL ? conn : "",
	       conn != NULL ? ": " : "", line);
}
