/* SPDX-License-Identifier: MIT */
/*
 * libbsd's <sys/tree.h> marks its static generated functions __unused, but
 * libbsd leaves __unused undefined on Linux (glibc has struct members of
 * that name).  Define it for the generated code; include this last.
 */
#ifndef EROUTE_COMPAT_TREE_H
#define EROUTE_COMPAT_TREE_H

#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
#include <sys/tree.h>

#endif
