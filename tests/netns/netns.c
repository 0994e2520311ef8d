// SPDX-License-Identifier: MIT
/*
 * Support for the netns tests (see netns.h): skipping, fresh anonymous
 * namespaces, commands inside them, waiting for kernel events.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns.h"

static void
on_alarm(int sig)
{
	static const char msg[] = "FAILED: time limit reached\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

void
netns_main_check(unsigned secs)
{
	if (geteuid() != 0) {
		printf("SKIPPED: needs root (network namespaces and "
		       "CAP_NET_ADMIN for XFRM)\n");
		exit(NETNS_SKIP);
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIPPED: cannot create a network namespace: %s\n",
		       strerror(errno));
		exit(NETNS_SKIP);
	}
	if (system("ip -V >/dev/null 2>&1") != 0) {
		printf("SKIPPED: needs iproute2's ip\n");
		exit(NETNS_SKIP);
	}
	signal(SIGALRM, on_alarm);
	alarm(secs);
}

int
netns_fresh(void **state)
{
	int ret = -1;

	(void)state;
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare: %s\n", strerror(errno));
		goto out;
	}
	if (netns_sh("ip link set lo up") != 0)
		goto out;
	ret = 0;
out:
	return ret;
}

static char *
vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return s;
}

int
netns_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int status, ret = -1;

	va_start(ap, fmt);
	cmd = vformat(fmt, ap);
	va_end(ap);
	if (cmd == NULL)
		goto out;
	status = system(cmd);
	if (status >= 0 && WIFEXITED(status))
		ret = WEXITSTATUS(status);
	if (ret != 0)
		fprintf(stderr, "command failed (%d): %s\n", ret, cmd);
out:
	free(cmd);
	return ret;
}

char *
netns_out(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = NULL;

	va_start(ap, fmt);
	cmd = vformat(fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		f = popen(cmd, "r");
	if (f == NULL)
		goto out;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	pclose(f);
out:
	free(cmd);
	if (buf == NULL)
		buf = strdup("");
	return buf;
}

size_t
netns_count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

void
netns_log_cb(void *ctx, int priority, const char *msg)
{
	struct netns_log *l = ctx;

	if (priority < 0 || priority > 7)
		priority = 7;
	l->count[priority]++;
	snprintf(l->last[priority], sizeof(l->last[priority]), "%s", msg);
	if (priority <= 4)
		fprintf(stderr, "backend[%d]: %s\n", priority, msg);
}

static long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int
netns_wait_event(struct er_xfrm *x, enum er_kevent_type type,
		 struct er_kernel_event *ev, int ms, unsigned *others)
{
	struct er_kernel k = er_xfrm_kernel(x);
	struct pollfd pfd = {er_xfrm_event_fd(x), POLLIN, 0};
	long deadline = ms_now() + ms, left;
	int ret;

	for (;;) {
		while ((ret = er_kernel_poll_event(&k, ev)) == 1) {
			if (ev->type == type)
				goto out;
			if (others != NULL)
				(*others)++;
		}
		if (ret < 0)
			goto out;
		left = deadline - ms_now();
		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			ret = -errno;
			goto out;
		}
	}
	ret = 0;
out:
	return ret;
}

void
netns_selector(struct er_selector *sel, const char *src, const char *dst,
	       uint8_t proto, const char *sport, const char *dport)
{
	struct er_prefix s, d;
	struct er_port_range sp, dp;

	assert_true(er_prefix_parse(&s, src, NULL) >= 0);
	assert_true(er_prefix_parse(&d, dst, NULL) >= 0);
	assert_int_equal(er_port_range_parse(&sp, sport ? sport : "any", NULL),
			 0);
	assert_int_equal(er_port_range_parse(&dp, dport ? dport : "any", NULL),
			 0);
	assert_int_equal(er_selector_init(sel, &s, &d, proto, &sp, &dp, NULL),
			 0);
}
