// SPDX-License-Identifier: MIT
/* The journal: records what passes to the kernel, survives a reopen,
 * skips damaged lines, stays small, keeps to mode 0600, never holds keys,
 * and is set aside when it was written during another boot. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "eroute/sim.h"
#include "journal.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/eroute-journal.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const char *
name_of(void *ctx, uint32_t owner)
{
	(void)ctx;
	return owner == 7 ? "west" : NULL;
}

static struct er_policy
POL(const char *src, const char *dst, uint32_t reqid)
{
	struct er_policy p = {0};
	struct er_prefix s, d;

	er_prefix_parse(&s, src, NULL);
	er_prefix_parse(&d, dst, NULL);
	er_selector_init(&p.sel, &s, &d, IPPROTO_TCP, NULL,
			 &(struct er_port_range){443, 443}, NULL);
	p.dir = ER_DIR_OUT;
	p.action = ER_ACTION_TRAP;
	p.reqid = reqid;
	p.owner = 7;
	p.priority = 100;
	return p;
}

static int
count_reqids(void *ctx, const struct er_selector *sel, uint32_t reqid)
{
	(void)sel;
	assert_int_equal(reqid, 0x3e800001);
	(*(int *)ctx)++;
	return 0;
}

static void
test_journal_records_and_reloads(void **state)
{
	struct er_sim_config sc = {.seed = 1};
	struct er_sim *sim = er_sim_new(&sc);
	struct er_err err = {0};
	struct journal *j = journal_open(dir, "boot-a", &err);
	struct er_kernel k;
	struct er_policy a = POL("10.1.0.0/16", "10.2.0.0/16", 0x3e800001);
	struct er_policy b = POL("2001:db8:1::/48", "2001:db8:2::/48", 0);
	struct er_sa sa = {0};
	struct stat st;
	char path[96], buf[4096];
	FILE *f;
	size_t n;
	int reqids = 0;

	(void)state;
	assert_non_null(j);
	k = journal_wrap(j, er_sim_kernel(sim), name_of, NULL);
	assert_string_equal(k.ops->name, "sim");
	assert_int_equal(er_kernel_policy_add(&k, &a, NULL), 0);
	assert_int_equal(er_kernel_policy_add(&k, &b, NULL), 0);
	assert_int_equal(er_kernel_policy_del(&k, ER_DIR_OUT, &b.sel, NULL), 0);
	er_addr_parse(&sa.id.dst, "198.51.100.1", NULL);
	sa.id.proto = IPPROTO_ESP;
	sa.id.spi = 0xdeadbeef;
	sa.reqid = 0x3e800001;
	sa.owner = 7;
	sa.state = ER_SA_MATURE;
	sa.keys.enc_key_len = 16;
	memset(sa.keys.enc_key, 0x5a, 16);
	assert_int_equal(er_kernel_sa_add(&k, &sa, NULL), 0);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);

	snprintf(path, sizeof(path), "%s/journal", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	/* Identifiers, never keys. */
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_null(strstr(buf, "5a5a"));
	assert_non_null(strstr(buf, "deadbeef"));
	assert_non_null(strstr(buf, " west\n"));

	j = journal_open(dir, "boot-a", &err);
	assert_non_null(j);
	assert_true(journal_owns_policy(j, ER_DIR_OUT, &a.sel));
	assert_false(journal_owns_policy(j, ER_DIR_OUT, &b.sel));
	assert_false(journal_owns_policy(j, ER_DIR_IN, &a.sel));
	assert_true(journal_owns_sa(j, &sa.id));
	assert_int_equal(journal_live(j), 2);
	assert_int_equal(journal_damaged(j), 0);
	journal_foreach_reqid(j, count_reqids, &reqids);
	assert_int_equal(reqids, 1);
	journal_close(j);
	er_sim_free(sim);
}

static void
test_journal_skips_damaged_lines(void **state)
{
	struct er_err err = {0};
	struct journal *j;
	char path[96];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/journal", dir);
	f = fopen(path, "w");
	fputs("B boot-a\n", f);
	fputs("P out 10.1.0.0/16 10.2.0.0/16 0 0-65535 0-65535 5 west\n", f);
	fputs("garbage\n", f);
	fputs("P out 10.1.0.0/99 10.2.0.0/16 0 0-65535 0-65535 5 west\n", f);
	fputs("P sideways 10.1.0.0/16 10.2.0.0/16 0 0-65535 0-65535 5 x\n", f);
	fputs("S 198.51.100.1 50 0 5 west\n", f);
	fputs("\x01\x02\xff binary\n", f);
	for (int i = 0; i < 600; i++)
		fputc('x', f);
	fputs("\nP out 10.3.0.0/16 10.2.0.0/16 0 0-65535 0-65535 5 tor", f);
	fclose(f);
	j = journal_open(dir, "boot-a", &err);
	assert_non_null(j);
	assert_int_equal(journal_live(j), 1);
	assert_int_equal(journal_damaged(j), 7);
	journal_close(j);
}

static void
test_journal_compacts(void **state)
{
	struct er_sim_config sc = {.seed = 1};
	struct er_sim *sim = er_sim_new(&sc);
	struct er_err err = {0};
	struct journal *j = journal_open(dir, "boot-a", &err);
	struct er_kernel k = journal_wrap(j, er_sim_kernel(sim), name_of, NULL);
	struct er_policy a = POL("10.1.0.0/16", "10.2.0.0/16", 1);

	(void)state;
	/* Route and unroute many times: the file stays bounded. */
	for (int i = 0; i < 10000; i++) {
		er_kernel_policy_add(&k, &a, NULL);
		er_kernel_policy_del(&k, ER_DIR_OUT, &a.sel, NULL);
		if (i % 100 == 0)
			assert_int_equal(journal_sync(j), 0);
	}
	er_kernel_policy_add(&k, &a, NULL);
	assert_int_equal(journal_sync(j), 0);
	assert_true(journal_records(j) < 4096 + 210);
	journal_close(j);
	/* The rewritten file still names its boot. */
	j = journal_open(dir, "boot-a", &err);
	assert_null(journal_set_aside(j));
	assert_int_equal(journal_live(j), 1);
	assert_true(journal_owns_policy(j, ER_DIR_OUT, &a.sel));
	journal_close(j);
	er_sim_free(sim);
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
}

/* A reboot empties the kernel: a journal of another boot describes
 * nothing that exists, and is set aside instead of trusted. */
static void
test_journal_of_another_boot_is_set_aside(void **state)
{
	struct er_sim_config sc = {.seed = 1};
	struct er_sim *sim = er_sim_new(&sc);
	struct er_err err = {0};
	struct er_policy a = POL("10.1.0.0/16", "10.2.0.0/16", 0x3e800001);
	struct journal *j = journal_open(dir, "boot-a", &err);
	struct er_kernel k = journal_wrap(j, er_sim_kernel(sim), name_of, NULL);
	char path[96], aside[128], buf[4096];
	int reqids = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/journal", dir);
	snprintf(aside, sizeof(aside), "%s/journal.previous-boot", dir);
	assert_int_equal(er_kernel_policy_add(&k, &a, NULL), 0);
	journal_close(j);
	read_file(path, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "B boot-a\n", 9), 0);
	/* The same boot: trusted. */
	j = journal_open(dir, "boot-a", &err);
	assert_null(journal_set_aside(j));
	assert_true(journal_owns_policy(j, ER_DIR_OUT, &a.sel));
	journal_close(j);
	/* Another boot: set aside, named in the note, and empty. */
	j = journal_open(dir, "boot-b", &err);
	assert_non_null(j);
	assert_non_null(journal_set_aside(j));
	assert_non_null(strstr(journal_set_aside(j), "boot id boot-a"));
	assert_non_null(strstr(journal_set_aside(j), "this boot is boot-b"));
	assert_non_null(strstr(journal_set_aside(j), aside));
	assert_false(journal_owns_policy(j, ER_DIR_OUT, &a.sel));
	assert_int_equal(journal_live(j), 0);
	journal_foreach_reqid(j, count_reqids, &reqids);
	assert_int_equal(reqids, 0);
	journal_close(j);
	read_file(aside, buf, sizeof(buf));
	assert_non_null(strstr(buf, "P out 10.1.0.0/16 10.2.0.0/16"));
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "B boot-b\n");
	j = journal_open(dir, "boot-b", &err);
	assert_null(journal_set_aside(j));
	journal_close(j);
	/* A journal that names no boot proves nothing: set aside too. */
	f = fopen(path, "w");
	fputs("P out 10.1.0.0/16 10.2.0.0/16 6 0-65535 443-443 5 west\n", f);
	fclose(f);
	j = journal_open(dir, "boot-b", &err);
	assert_non_null(strstr(journal_set_aside(j), "says not which boot"));
	assert_false(journal_owns_policy(j, ER_DIR_OUT, &a.sel));
	journal_close(j);
	/* Without a boot id to compare, the file is trusted as it is. */
	f = fopen(path, "w");
	fputs("B boot-z\n", f);
	fputs("P out 10.1.0.0/16 10.2.0.0/16 6 0-65535 443-443 5 west\n", f);
	fclose(f);
	j = journal_open(dir, NULL, &err);
	assert_null(journal_set_aside(j));
	assert_true(journal_owns_policy(j, ER_DIR_OUT, &a.sel));
	journal_close(j);
	er_sim_free(sim);
}

static void
test_journal_boot_id_read(void **state)
{
	char path[96], buf[80];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/boot_id", dir);
	f = fopen(path, "w");
	fputs("6c0a8c1e-2b51-4d0f-9d0e-3f1b2a9c7d11\n", f);
	fclose(f);
	assert_ptr_equal(journal_boot_id_read(path, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "6c0a8c1e-2b51-4d0f-9d0e-3f1b2a9c7d11");
	f = fopen(path, "w");
	fputs("two words\n", f);
	fclose(f);
	assert_null(journal_boot_id_read(path, buf, sizeof(buf)));
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_null(journal_boot_id_read(path, buf, sizeof(buf)));
}

static void
test_journal_open_errors(void **state)
{
	struct er_err err = {0};

	(void)state;
	assert_null(journal_open("/proc/no/such/dir", "boot-a", &err));
	assert_true(err.code < 0);
	assert_non_null(strstr(err.msg, "/proc/no/such/dir"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_records_and_reloads,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_skips_damaged_lines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_compacts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_journal_of_another_boot_is_set_aside, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_journal_boot_id_read,
						setup, teardown),
		cmocka_unit_test(test_journal_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
