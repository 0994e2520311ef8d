// SPDX-License-Identifier: MIT
/*
 * The replay driver: a main() for a fuzz target in the ordinary builds, so
 * that its seed corpus and the inputs of every crash once found run in
 * `make check` (gcc, plain and ASan) without clang or libFuzzer.  Each
 * argument is a file or a directory; a directory's regular files are fed
 * in name order, each once, to LLVMFuzzerTestOneInput(), exactly as
 * libFuzzer would feed them.  A target reports a broken promise by
 * aborting, so reaching the end is passing.
 *
 *   fuzz_config fuzz/corpus/config fuzz/regressions/config
 *   fuzz_config crash-0123abcd		(one input, e.g. from make fuzz)
 *
 * A directory that does not exist counts as empty (a target may have no
 * regressions yet), but a run that finds no input at all fails: a corpus
 * that went missing must not pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Inputs larger than this are not fuzz inputs; refuse rather than read. */
#define REPLAY_INPUT_MAX (64u << 20)

static int
replay_file(const char *path, size_t *count)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int ret = -1;

	f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)REPLAY_INPUT_MAX) {
		fprintf(stderr, "replay: %s: larger than %u bytes\n", path,
			REPLAY_INPUT_MAX);
		goto out;
	}
	/* Exactly the file's bytes on the heap, so ASan sees overreads. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || len != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, len);
	(*count)++;
	ret = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return ret;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir, size_t *count)
{
	char **names = NULL, **nn;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int ret = 0;

	d = opendir(dir);
	if (d == NULL && errno == ENOENT)
		goto out;
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		ret = -1;
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL) {
				ret = -1;
				goto out;
			}
			names = nn;
		}
		if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0) {
			ret = -1;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			ret = replay_file(names[i], count);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	return ret;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int ret = 0;

	if (argc < 2) {
		fprintf(stderr, "Usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc && ret == 0; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
			ret = replay_file(argv[i], &count);
		else
			ret = replay_dir(argv[i], &count);
	}
	if (ret == 0 && count == 0) {
		fprintf(stderr, "replay: no input found\n");
		ret = -1;
	}
	if (ret == 0)
		printf("%s: %zu inputs, no failure\n", argv[0], count);
	return ret == 0 ? 0 : 1;
}
