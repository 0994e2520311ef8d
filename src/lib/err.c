// SPDX-License-Identifier: MIT
/* er_err: one line of text beside a negative errno. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "eroute/err.h"

int
er_err_set(struct er_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
er_err_clear(struct er_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
