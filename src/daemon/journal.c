// SPDX-License-Identifier: MIT
/*
 * The journal; see journal.h.  One line per record:
 *
 *   B BOOT-ID                                     the boot it describes
 *   P DIR SRC DST PROTO SPORT DPORT REQID OWNER   policy installed
 *   p DIR SRC DST PROTO SPORT DPORT               policy deleted
 *   S DST PROTO SPI REQID OWNER                   SA installed
 *   s DST PROTO SPI                               SA deleted
 *
 * Ports are "lo-hi"; OWNER is a connection name or "-" for a bare shunt.
 * Loading replays the lines into two red-black trees; what is live is what
 * the trees hold at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eroute/conn.h"
#include "journal.h"

#include "compat/tree.h"

#define LINE_MAX_LEN 512
#define BOOT_ID_MAX 64
#define SET_ASIDE_SUFFIX ".previous-boot"

struct jpolicy {
	enum er_dir dir;
	struct er_selector sel;
	uint32_t reqid;
	char owner[ER_CONN_NAME_MAX];
	RB_ENTRY(jpolicy) link;
};

struct jsa {
	struct er_sa_id id;
	uint32_t reqid;
	char owner[ER_CONN_NAME_MAX];
	RB_ENTRY(jsa) link;
};

RB_HEAD(jpolicy_tree, jpolicy);
RB_HEAD(jsa_tree, jsa);

struct journal {
	char *path;
	int fd;
	char boot[BOOT_ID_MAX + 1];	/* this boot's id, "" unknown */
	char file_boot[BOOT_ID_MAX + 1]; /* the file's B record */
	char *set_aside;		/* the note, when it was */
	struct jpolicy_tree policies;
	struct jsa_tree sas;
	size_t npolicies, nsas;
	size_t records, damaged;
	bool dirty;
	struct er_kernel inner;
	journal_name_fn *name;
	void *name_ctx;
};

static int
jpolicy_cmp(const struct jpolicy *a, const struct jpolicy *b)
{
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return er_selector_cmp(&a->sel, &b->sel);
}

static int
jsa_cmp(const struct jsa *a, const struct jsa *b)
{
	int c = er_addr_cmp(&a->id.dst, &b->id.dst);

	if (c != 0)
		return c;
	if (a->id.proto != b->id.proto)
		return a->id.proto < b->id.proto ? -1 : 1;
	return a->id.spi < b->id.spi ? -1 : a->id.spi > b->id.spi;
}

RB_GENERATE_STATIC(jpolicy_tree, jpolicy, link, jpolicy_cmp)
RB_GENERATE_STATIC(jsa_tree, jsa, link, jsa_cmp)

static void
policy_set(struct journal *j, enum er_dir dir, const struct er_selector *sel,
	   uint32_t reqid, const char *owner)
{
	struct jpolicy key, *p;

	key.dir = dir;
	key.sel = *sel;
	p = RB_FIND(jpolicy_tree, &j->policies, &key);
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return;
		p->dir = dir;
		p->sel = *sel;
		RB_INSERT(jpolicy_tree, &j->policies, p);
		j->npolicies++;
	}
	p->reqid = reqid;
	snprintf(p->owner, sizeof(p->owner), "%s", owner);
}

static void
policy_unset(struct journal *j, enum er_dir dir, const struct er_selector *sel)
{
	struct jpolicy key, *p;

	key.dir = dir;
	key.sel = *sel;
	p = RB_FIND(jpolicy_tree, &j->policies, &key);
	if (p == NULL)
		return;
	RB_REMOVE(jpolicy_tree, &j->policies, p);
	j->npolicies--;
	free(p);
}

static void
sa_set(struct journal *j, const struct er_sa_id *id, uint32_t reqid,
       const char *owner)
{
	struct jsa key, *s;

	key.id = *id;
	s = RB_FIND(jsa_tree, &j->sas, &key);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return;
		s->id = *id;
		RB_INSERT(jsa_tree, &j->sas, s);
		j->nsas++;
	}
	s->reqid = reqid;
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
}

static void
sa_unset(struct journal *j, const struct er_sa_id *id)
{
	struct jsa key, *s;

	key.id = *id;
	s = RB_FIND(jsa_tree, &j->sas, &key);
	if (s == NULL)
		return;
	RB_REMOVE(jsa_tree, &j->sas, s);
	j->nsas--;
	free(s);
}

/* ---- text -------------------------------------------------------- */

static int
format_sel(char *buf, size_t len, enum er_dir dir, const struct er_selector *s)
{
	char src[ER_PREFIX_STRLEN], dst[ER_PREFIX_STRLEN];

	er_prefix_format(&s->src, src, sizeof(src));
	er_prefix_format(&s->dst, dst, sizeof(dst));
	return snprintf(buf, len, "%s %s %s %u %u-%u %u-%u", er_dir_name(dir),
			src, dst, s->proto, s->sport.lo, s->sport.hi,
			s->dport.lo, s->dport.hi);
}

static int
parse_range(const char *s, struct er_port_range *r)
{
	unsigned lo, hi;
	char tail;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo > hi ||
	    hi > 65535)
		return -EINVAL;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

/* "DIR SRC DST PROTO SPORT DPORT" from @tok; consumes six tokens. */
static int
parse_sel(char **tok, enum er_dir *dir, struct er_selector *sel)
{
	struct er_prefix src, dst;
	struct er_port_range sp, dp;
	unsigned long proto;
	char *end;

	if (er_dir_parse(dir, tok[0]) < 0 ||
	    er_prefix_parse(&src, tok[1], NULL) != 0 ||
	    er_prefix_parse(&dst, tok[2], NULL) != 0)
		return -EINVAL;
	proto = strtoul(tok[3], &end, 10);
	if (*end != '\0' || proto > 255 || parse_range(tok[4], &sp) < 0 ||
	    parse_range(tok[5], &dp) < 0)
		return -EINVAL;
	return er_selector_init(sel, &src, &dst, (uint8_t)proto, &sp, &dp,
				NULL);
}

static int
parse_sa_id(char **tok, struct er_sa_id *id)
{
	unsigned long proto, spi;
	char *end, *end2;

	if (er_addr_parse(&id->dst, tok[0], NULL) != 0 ||
	    id->dst.family == AF_UNSPEC)
		return -EINVAL;
	proto = strtoul(tok[1], &end, 10);
	spi = strtoul(tok[2], &end2, 16);
	if (*end != '\0' || *end2 != '\0' || proto > 255 || spi == 0 ||
	    spi > 0xffffffffUL)
		return -EINVAL;
	id->proto = (uint8_t)proto;
	id->spi = (uint32_t)spi;
	return 0;
}

/* /proc/sys/kernel/random/boot_id is a UUID; anything printable and short
 * will do, but never a blank that would split the record. */
static bool
boot_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > BOOT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return false;
	return true;
}

/* Apply one line; -EINVAL when it is damaged. */
static int
replay(struct journal *j, char *line)
{
	char *tok[12], *save;
	int n = 0;
	enum er_dir dir;
	struct er_selector sel;
	struct er_sa_id id;
	unsigned long reqid;
	char *end;

	for (char *t = strtok_r(line, " \t", &save); t != NULL && n < 12;
	     t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n == 0 || strlen(tok[0]) != 1)
		return -EINVAL;
	switch (tok[0][0]) {
	case 'B':
		if (n != 2 || !boot_id_valid(tok[1]))
			return -EINVAL;
		snprintf(j->file_boot, sizeof(j->file_boot), "%s", tok[1]);
		return 0;
	case 'P':
		if (n != 9 || parse_sel(tok + 1, &dir, &sel) < 0)
			return -EINVAL;
		reqid = strtoul(tok[7], &end, 10);
		if (*end != '\0' || reqid > 0xffffffffUL)
			return -EINVAL;
		policy_set(j, dir, &sel, (uint32_t)reqid, tok[8]);
		return 0;
	case 'p':
		if (n != 7 || parse_sel(tok + 1, &dir, &sel) < 0)
			return -EINVAL;
		policy_unset(j, dir, &sel);
		return 0;
	case 'S':
		if (n != 6 || parse_sa_id(tok + 1, &id) < 0)
			return -EINVAL;
		reqid = strtoul(tok[4], &end, 10);
		if (*end != '\0' || reqid > 0xffffffffUL)
			return -EINVAL;
		sa_set(j, &id, (uint32_t)reqid, tok[5]);
		return 0;
	case 's':
		if (n != 4 || parse_sa_id(tok + 1, &id) < 0)
			return -EINVAL;
		sa_unset(j, &id);
		return 0;
	default:
		return -EINVAL;
	}
}

static int
load(struct journal *j)
{
	FILE *f = fopen(j->path, "re");
	char line[LINE_MAX_LEN + 2];

	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);

		j->records++;
		if (len == 0 || line[len - 1] != '\n') {
			/* Too long, or a torn last line: skip to its end. */
			int c;

			while (len > 0 && line[len - 1] != '\n' &&
			       (c = fgetc(f)) != EOF && c != '\n')
				;
			j->damaged++;
			continue;
		}
		line[len - 1] = '\0';
		if (replay(j, line) < 0)
			j->damaged++;
	}
	fclose(f);
	return 0;
}

static void
append(struct journal *j, const char *line)
{
	size_t len = strlen(line);

	if (j->fd < 0)
		return;
	/* One write per record: a crash of erouted loses none. */
	if (write(j->fd, line, len) != (ssize_t)len)
		return;
	j->records++;
	j->dirty = true;
}

/* ---- the kernel in between --------------------------------------- */

static const char *
owner_of(struct journal *j, uint32_t owner)
{
	const char *n = NULL;

	if (owner != ER_OWNER_BARE && j->name != NULL)
		n = j->name(j->name_ctx, owner);
	return n != NULL ? n : "-";
}

static void
record_policy(struct journal *j, const struct er_policy *pol)
{
	char line[LINE_MAX_LEN], sel[300];
	const char *owner = owner_of(j, pol->owner);

	format_sel(sel, sizeof(sel), pol->dir, &pol->sel);
	snprintf(line, sizeof(line), "P %s %u %s\n", sel, pol->reqid, owner);
	policy_set(j, pol->dir, &pol->sel, pol->reqid, owner);
	append(j, line);
}

static int
j_policy_add(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	struct journal *j = ctx;
	int ret = er_kernel_policy_add(&j->inner, pol, err);

	if (ret >= 0)
		record_policy(j, pol);
	return ret;
}

static int
j_policy_add_bulk(void *ctx, const struct er_policy *pols, size_t n,
		  int *results, struct er_err *err)
{
	struct journal *j = ctx;
	int ret = er_kernel_policy_add_bulk(&j->inner, pols, n, results, err);

	for (size_t i = 0; i < n; i++) {
		if (results[i] >= 0)
			record_policy(j, &pols[i]);
	}
	return ret;
}

static int
j_policy_replace(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	struct journal *j = ctx;
	int ret = er_kernel_policy_replace(&j->inner, pol, err);

	if (ret >= 0)
		record_policy(j, pol);
	return ret;
}

static int
j_policy_del(void *ctx, enum er_dir dir, const struct er_selector *sel,
	     struct er_err *err)
{
	struct journal *j = ctx;
	char line[LINE_MAX_LEN], text[300];
	int ret = er_kernel_policy_del(&j->inner, dir, sel, err);

	if (ret >= 0) {
		format_sel(text, sizeof(text), dir, sel);
		snprintf(line, sizeof(line), "p %s\n", text);
		policy_unset(j, dir, sel);
		append(j, line);
	}
	return ret;
}

static int
j_policy_del_bulk(void *ctx, const struct er_policy *pols, size_t n,
		  int *results, struct er_err *err)
{
	struct journal *j = ctx;
	char line[LINE_MAX_LEN], text[300];
	int ret = er_kernel_policy_del_bulk(&j->inner, pols, n, results, err);

	for (size_t i = 0; i < n; i++) {
		if (results[i] < 0)
			continue;
		format_sel(text, sizeof(text), pols[i].dir, &pols[i].sel);
		snprintf(line, sizeof(line), "p %s\n", text);
		policy_unset(j, pols[i].dir, &pols[i].sel);
		append(j, line);
	}
	return ret;
}

static void
record_sa(struct journal *j, const struct er_sa *sa)
{
	char line[LINE_MAX_LEN], dst[ER_ADDR_STRLEN];
	const char *owner = owner_of(j, sa->owner);

	er_addr_format(&sa->id.dst, dst, sizeof(dst));
	snprintf(line, sizeof(line), "S %s %u %x %u %s\n", dst, sa->id.proto,
		 sa->id.spi, sa->reqid, owner);
	sa_set(j, &sa->id, sa->reqid, owner);
	append(j, line);
}

static int
j_sa_add(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct journal *j = ctx;
	int ret = er_kernel_sa_add(&j->inner, sa, err);

	if (ret >= 0)
		record_sa(j, sa);
	return ret;
}

static int
j_sa_update(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct journal *j = ctx;
	int ret = er_kernel_sa_update(&j->inner, sa, err);

	if (ret >= 0)
		record_sa(j, sa);
	return ret;
}

static int
j_sa_del(void *ctx, const struct er_sa_id *id, struct er_err *err)
{
	struct journal *j = ctx;
	char line[LINE_MAX_LEN], dst[ER_ADDR_STRLEN];
	int ret = er_kernel_sa_del(&j->inner, id, err);
	struct jsa key;

	key.id = *id;
	if (ret >= 0 && RB_FIND(jsa_tree, &j->sas, &key) != NULL) {
		er_addr_format(&id->dst, dst, sizeof(dst));
		snprintf(line, sizeof(line), "s %s %u %x\n", dst, id->proto,
			 id->spi);
		sa_unset(j, id);
		append(j, line);
	}
	return ret;
}

static int
j_spi_alloc(void *ctx, const struct er_spi_req *req, uint32_t *spi,
	    struct er_err *err)
{
	struct journal *j = ctx;

	/* A larval reservation is not recorded: a restart deletes those. */
	return er_kernel_spi_alloc(&j->inner, req, spi, err);
}

static int
j_policy_dump(void *ctx, er_kernel_policy_cb *cb, void *cbctx,
	      struct er_err *err)
{
	struct journal *j = ctx;

	return er_kernel_policy_dump(&j->inner, cb, cbctx, err);
}

static int
j_sa_dump(void *ctx, er_kernel_sa_cb *cb, void *cbctx, struct er_err *err)
{
	struct journal *j = ctx;

	return er_kernel_sa_dump(&j->inner, cb, cbctx, err);
}

static int
j_poll_event(void *ctx, struct er_kernel_event *ev)
{
	struct journal *j = ctx;
	int ret = er_kernel_poll_event(&j->inner, ev);

	/* The kernel removed a policy or an SA on its own. */
	if (ret == 1 && ev->type == ER_KEV_POLICY_EXPIRE)
		policy_unset(j, ev->dir, &ev->sel);
	if (ret == 1 && ev->type == ER_KEV_SA_EXPIRE && ev->hard)
		sa_unset(j, &ev->sa);
	return ret;
}

static int
j_acquire_dump(void *ctx, er_kernel_event_cb *cb, void *cbctx,
	       struct er_err *err)
{
	struct journal *j = ctx;

	return er_kernel_acquire_dump(&j->inner, cb, cbctx, err);
}

static int
j_policy_count(void *ctx, size_t counts[ER_DIR_COUNT], struct er_err *err)
{
	struct journal *j = ctx;

	return er_kernel_policy_count(&j->inner, counts, err);
}

static struct er_kernel_ops journal_ops = {
	.policy_add = j_policy_add,
	.policy_replace = j_policy_replace,
	.policy_del = j_policy_del,
	.sa_add = j_sa_add,
	.sa_update = j_sa_update,
	.sa_del = j_sa_del,
	.spi_alloc = j_spi_alloc,
	.policy_dump = j_policy_dump,
	.sa_dump = j_sa_dump,
	.poll_event = j_poll_event,
	.acquire_dump = j_acquire_dump,
	.policy_add_bulk = j_policy_add_bulk,
	.policy_count = j_policy_count,
	.policy_del_bulk = j_policy_del_bulk,
};

struct er_kernel
journal_wrap(struct journal *j, struct er_kernel inner, journal_name_fn *name,
	     void *ctx)
{
	j->inner = inner;
	j->name = name;
	j->name_ctx = ctx;
	/* Callers see the backend's name (updown's PLUTO_STACK, status). */
	journal_ops.name = inner.ops->name;
	return (struct er_kernel){.ops = &journal_ops, .ctx = j};
}

/* ---- life -------------------------------------------------------- */

static void
forget_all(struct journal *j)
{
	struct jpolicy *p;
	struct jsa *s;

	while ((p = RB_MIN(jpolicy_tree, &j->policies)) != NULL) {
		RB_REMOVE(jpolicy_tree, &j->policies, p);
		free(p);
	}
	while ((s = RB_MIN(jsa_tree, &j->sas)) != NULL) {
		RB_REMOVE(jsa_tree, &j->sas, s);
		free(s);
	}
	j->npolicies = j->nsas = 0;
	j->records = j->damaged = 0;
}

/*
 * A reboot emptied the kernel the journal describes: whatever now holds
 * those identities is somebody else's.  The file is kept for whoever wants
 * to read it, under another name, and the journal starts empty.
 */
static int
set_aside(struct journal *j)
{
	char *to = NULL;
	int ret = 0;

	if (asprintf(&to, "%s" SET_ASIDE_SUFFIX, j->path) < 0)
		return -ENOMEM;
	if (rename(j->path, to) != 0) {
		ret = -errno;
		goto out;
	}
	if (j->file_boot[0] != '\0')
		ret = asprintf(&j->set_aside,
			       "%s was written during another boot (boot id "
			       "%s, this boot is %s): what it lists went with "
			       "that boot; set aside as %s, not trusted",
			       j->path, j->file_boot, j->boot, to);
	else
		ret = asprintf(&j->set_aside,
			       "%s says not which boot it was written in "
			       "(this boot is %s): set aside as %s, not "
			       "trusted", j->path, j->boot, to);
	if (ret < 0)
		j->set_aside = NULL;
	ret = 0;
	forget_all(j);
out:
	free(to);
	return ret;
}

static int
write_boot(struct journal *j)
{
	char line[LINE_MAX_LEN];

	if (j->boot[0] == '\0')
		return 0;
	snprintf(line, sizeof(line), "B %s\n", j->boot);
	append(j, line);
	snprintf(j->file_boot, sizeof(j->file_boot), "%s", j->boot);
	return 0;
}

struct journal *
journal_open(const char *state_dir, const char *boot_id, struct er_err *err)
{
	struct journal *j;
	struct stat st;
	int ret;

	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		er_err_set(err, -errno, "%s: %s", state_dir, strerror(errno));
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || asprintf(&j->path, "%s/journal", state_dir) < 0) {
		free(j);
		er_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	RB_INIT(&j->policies);
	RB_INIT(&j->sas);
	j->fd = -1;
	if (boot_id != NULL && boot_id_valid(boot_id))
		snprintf(j->boot, sizeof(j->boot), "%s", boot_id);
	ret = load(j);
	/* Written during another boot, or without saying which: set aside.
	 * Unknown here (no boot id to compare): trusted, as before. */
	if (ret == 0 && j->boot[0] != '\0' && j->records > 0 &&
	    strcmp(j->file_boot, j->boot) != 0)
		ret = set_aside(j);
	if (ret < 0) {
		er_err_set(err, ret, "%s: %s", j->path, strerror(-ret));
		journal_close(j);
		return NULL;
	}
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		er_err_set(err, -errno, "%s: %s", j->path, strerror(errno));
		journal_close(j);
		return NULL;
	}
	/* Whatever umask or an older file said: identifiers are private. */
	fchmod(j->fd, 0600);
	if (fstat(j->fd, &st) == 0 && st.st_size == 0)
		write_boot(j);
	return j;
}

const char *
journal_set_aside(const struct journal *j)
{
	return j->set_aside;
}

const char *
journal_boot_id_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	const char *ret = NULL;

	if (f == NULL)
		return NULL;
	if (fgets(buf, (int)len, f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (boot_id_valid(buf))
			ret = buf;
	}
	fclose(f);
	return ret;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0) {
		journal_sync(j);
		close(j->fd);
	}
	forget_all(j);
	free(j->set_aside);
	free(j->path);
	free(j);
}

/* Rewrite the file with only what is live: new file, fsync, rename. */
static int
compact(struct journal *j)
{
	char *tmp = NULL;
	FILE *f;
	struct jpolicy *p;
	struct jsa *s;
	int fd, ret = 0;

	if (asprintf(&tmp, "%s.new", j->path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		free(tmp);
		return ret;
	}
	if (j->file_boot[0] != '\0')
		fprintf(f, "B %s\n", j->file_boot);
	RB_FOREACH(p, jpolicy_tree, &j->policies) {
		char sel[300];

		format_sel(sel, sizeof(sel), p->dir, &p->sel);
		fprintf(f, "P %s %u %s\n", sel, p->reqid, p->owner);
	}
	RB_FOREACH(s, jsa_tree, &j->sas) {
		char dst[ER_ADDR_STRLEN];

		er_addr_format(&s->id.dst, dst, sizeof(dst));
		fprintf(f, "S %s %u %x %u %s\n", dst, s->id.proto, s->id.spi,
			s->reqid, s->owner);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ret = -errno;
	fclose(f);
	if (ret == 0 && rename(tmp, j->path) != 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		free(tmp);
		return ret;
	}
	free(tmp);
	close(j->fd);
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	j->records = j->npolicies + j->nsas + (j->file_boot[0] != '\0');
	return j->fd < 0 ? -errno : 0;
}

int
journal_sync(struct journal *j)
{
	size_t live;

	if (j == NULL || j->fd < 0)
		return 0;
	live = j->npolicies + j->nsas;
	if (j->records > 2 * live + 4096)
		return compact(j);
	if (!j->dirty)
		return 0;
	j->dirty = false;
	return fdatasync(j->fd) == 0 ? 0 : -errno;
}

bool
journal_owns_policy(const struct journal *j, enum er_dir dir,
		    const struct er_selector *sel)
{
	struct jpolicy key;

	key.dir = dir;
	key.sel = *sel;
	return RB_FIND(jpolicy_tree,
		       (struct jpolicy_tree *)(uintptr_t)&j->policies,
		       &key) != NULL;
}

bool
journal_owns_sa(const struct journal *j, const struct er_sa_id *id)
{
	struct jsa key;

	key.id = *id;
	return RB_FIND(jsa_tree, (struct jsa_tree *)(uintptr_t)&j->sas,
		       &key) != NULL;
}

int
journal_foreach_reqid(const struct journal *j, journal_reqid_cb *cb, void *ctx)
{
	struct jpolicy *p;
	int ret;

	RB_FOREACH(p, jpolicy_tree,
		   (struct jpolicy_tree *)(uintptr_t)&j->policies) {
		if (p->dir != ER_DIR_OUT || p->reqid == 0)
			continue;
		ret = cb(ctx, &p->sel, p->reqid);
		if (ret != 0)
			return ret;
	}
	return 0;
}

size_t
journal_live(const struct journal *j)
{
	return j->npolicies + j->nsas;
}

size_t
journal_records(const struct journal *j)
{
	return j->records;
}

size_t
journal_damaged(const struct journal *j)
{
	return j->damaged;
}
