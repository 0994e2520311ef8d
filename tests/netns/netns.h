/* SPDX-License-Identifier: MIT */
/*
 * Support for the XFRM backend's tests against the real kernel.
 *
 * Every test runs in a fresh network namespace of its own, made with
 * unshare(CLONE_NEWNET).  The namespace has no name and no mount, so there
 * is nothing to delete: the kernel frees it when the last socket and the
 * last process in it are gone, whether the test passed, failed, crashed or
 * was killed.  Commands (ip, sysctl) run in it because children inherit
 * the namespace.  Without root the whole program prints "SKIPPED: ..." and
 * exits 77, which CTest counts as skipped (SKIP_RETURN_CODE).
 */
#ifndef EROUTE_TESTS_NETNS_H
#define EROUTE_TESTS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/kernel.h"
#include "eroute/xfrm.h"

#define NETNS_SKIP 77

/**
 * netns_main_check - skip (exit 77) without root, namespaces or ip; arm a
 *	time limit of @secs for the whole program
 */
void netns_main_check(unsigned secs);

/**
 * netns_fresh - move into a new, empty network namespace (lo up)
 *
 * For cmocka setup: Return: 0 or -1.
 */
int netns_fresh(void **state);

/**
 * netns_sh - run a shell command in the namespace; Return: its exit code
 */
int netns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * netns_out - run a command and return its standard output (free it)
 */
char *netns_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * netns_count - how many times @needle occurs in @hay
 */
size_t netns_count(const char *hay, const char *needle);

/* A log callback that keeps what the backend said. */
struct netns_log {
	unsigned count[8];	/* by syslog priority */
	char last[8][512];	/* the last line of each priority */
};

void netns_log_cb(void *ctx, int priority, const char *msg);

/**
 * netns_wait_event - the next event of @type within @ms milliseconds,
 *	waiting on the backend's event socket; events of other types are
 *	counted in *@others (may be NULL)
 *
 * Return: 1 found, 0 timed out, -errno.
 */
int netns_wait_event(struct er_xfrm *x, enum er_kevent_type type,
		     struct er_kernel_event *ev, int ms, unsigned *others);

/**
 * netns_selector - build a selector from text or fail the test
 */
void netns_selector(struct er_selector *sel, const char *src,
		    const char *dst, uint8_t proto, const char *sport,
		    const char *dport);

#endif
