/* SPDX-License-Identifier: MIT */
/*
 * Errors for the user.  liberoute returns 0 or a negative errno; when the
 * caller wants words as well it passes a struct er_err, and the function that
 * fails writes one line into it naming the input at fault.  Nothing in the
 * library prints or exits.
 */
#ifndef EROUTE_ERR_H
#define EROUTE_ERR_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(default)

#define ER_ERR_MSG_MAX 256

struct er_err {
	int code;			/* the negative errno returned, or 0 */
	char msg[ER_ERR_MSG_MAX];	/* one line, no trailing newline */
};

/**
 * er_err_set - record an error and return its code
 * @err: where to write, or NULL to record nothing
 * @code: negative errno
 * @fmt: printf-style message naming the input at fault
 *
 * The message is one line of UTF-8 text whatever it quotes: each byte of
 * an invalid sequence (a value cut short by "%.32s" or by the buffer
 * included) and each control character (C0, DEL, C1) becomes '?', so it
 * can go into a log line or a JSON answer as it is.
 *
 * Return: @code, so that callers can write "return er_err_set(...)".
 */
int er_err_set(struct er_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * er_err_clear - reset @err to "no error"; accepts NULL
 */
void er_err_clear(struct er_err *err);

/**
 * er_utf8_char - decode the UTF-8 character at @s
 * @s, @n: the text and the bytes left in it (at least 1)
 * @cp: receives the code point, meaningful only on success
 *
 * Return: the character's length in bytes, or 0 when the bytes at @s are
 * no character: a stray or truncated sequence, an overlong form, a UTF-16
 * surrogate, or past U+10FFFF.
 */
size_t er_utf8_char(const char *s, size_t n, uint32_t *cp);

/**
 * er_text_clean - make @s one line of UTF-8 text, in place
 * @s: a NUL-terminated string
 *
 * Each byte of an invalid sequence and each control character (C0, DEL,
 * C1) becomes '?', as in er_err_set()'s messages; the length is kept.
 */
void er_text_clean(char *s);

#pragma GCC visibility pop

#endif
