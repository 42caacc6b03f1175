/*
 * tests/unit/unit-tmp.h -- a temporary folder for a unit test: made by
 * unit_tmp_make(), filled with write_text()/write_file(), named with
 * tpath(), and removed with everything in it by unit_tmp_remove().
 */
#ifndef UNIT_TMP_H
#define UNIT_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char	tmpdir[256];

/* Make the folder /tmp/NAME.XXXXXX (exit 2 when that fails). */
static inline void
unit_tmp_make(const char *name)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/%s.XXXXXX", name);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
}

/* The path of name in the folder (the caller frees). */
static inline char *
tpath(const char *name)
{
	size_t	 n = strlen(tmpdir) + strlen(name) + 2;
	char	*p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s/%s", tmpdir, name);
	return p;
}

/* Write len bytes to name in the folder (exit 2 when that fails). */
static inline void
write_file(const char *name, const void *data, size_t len)
{
	char	*path = tpath(name);
	FILE	*f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	free(path);
}

/* Write a string to name in the folder. */
static inline void
write_text(const char *name, const char *text)
{
	write_file(name, text, strlen(text));
}

/* Remove one file or folder (nftw callback). */
static inline int
unit_tmp_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Remove the folder and everything in it. */
static inline void
unit_tmp_remove(void)
{
	nftw(tmpdir, unit_tmp_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
