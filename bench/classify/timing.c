// SPDX-License-Identifier: MIT
/*
 * Clock and order statistics for the bench: CLOCK_MONOTONIC, medians over
 * repeats, percentiles over single-operation samples.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The CPU time this thread got; only to tell the reader how much of the
 * CPU the timed loops had (the figures themselves are wall clock). */
double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double share_wall, share_cpu;

void
share_note(double wall, double cpu)
{
	share_wall += wall;
	share_cpu += cpu;
}

double
share_of_cpu(void)
{
	return share_wall > 0 ? share_cpu / share_wall : NAN;
}

static int
double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The value below which a fraction @p of the samples lie (sorts @v). */
double
pctl(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), double_cmp);
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double
median(double *v, size_t n)
{
	return pctl(v, n, 0.5);
}

int
bench_repeats(void)
{
	const char *e = getenv("BENCH_REPEATS");
	int r = e ? atoi(e) : 7;

	return r < 1 ? 1 : r > 50 ? 50 : r;
}

uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
