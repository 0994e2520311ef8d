// SPDX-License-Identifier: MIT
/* Aligned text tables, in the style of ip xfrm and ipsec status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct table {
	int ncols;
	char **cells;		/* row-major, header row first */
	size_t nrows, cap;
};

struct table *
table_new(int ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	table_add(t, headers);
	return t;
}

void
table_add(struct table *t, const char *const *cells)
{
	if (t == NULL)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **n = realloc(t->cells, cap * (size_t)t->ncols *
						     sizeof(*n));

		if (n == NULL)
			return;
		t->cells = n;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
			strdup(cells[i] != NULL ? cells[i] : "-");
	t->nrows++;
}

void
table_print(struct table *t)
{
	size_t width[32] = {0};

	if (t == NULL)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols && i < 32; i++) {
			size_t w = strlen(t->cells[r * (size_t)t->ncols +
						   (size_t)i]);

			if (w > width[i])
				width[i] = w;
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			const char *s =
				t->cells[r * (size_t)t->ncols + (size_t)i];

			if (i == t->ncols - 1)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)width[i], s);
		}
	}
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
