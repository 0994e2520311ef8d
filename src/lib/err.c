// SPDX-License-Identifier: MIT
/*
 * er_err: one line of text beside a negative errno.  Messages quote what
 * users wrote, so they are cleaned to one line of UTF-8 text on the way in;
 * the UTF-8 decoder that judges it lives here too.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "eroute/err.h"

size_t
er_utf8_char(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c = u[0], min = 0;
	size_t need = 0, len = 0;

	if (c < 0x80) {
		len = 1;
		goto out;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		goto out;
	}
	if (n <= need)
		goto out;
	for (size_t k = 1; k <= need; k++) {
		if ((u[k] & 0xc0) != 0x80)
			goto out;
		c = c << 6 | (u[k] & 0x3f);
	}
	if (c >= min && c <= 0x10ffff && (c < 0xd800 || c > 0xdfff))
		len = need + 1;
out:
	*cp = c;
	return len;
}

void
er_text_clean(char *s)
{
	size_t n = strlen(s), len;
	uint32_t c;

	for (size_t i = 0; i < n; i += len) {
		len = er_utf8_char(s + i, n - i, &c);
		if (len == 0 || c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
			len = len > 0 ? len : 1;
			memset(s + i, '?', len);
		}
	}
}

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
	er_text_clean(err->msg);
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
