// SPDX-License-Identifier: MIT
/*
 * A ClassBench set read from the data folder: <set>.rules.gz,
 * <set>.trace.gz and <set>.rand.trace.gz, gzip read through zlib.  The
 * files are benchmark input only; nothing of them is kept anywhere but in
 * memory.  The traces are read first: their port-carrying protocols are
 * what a proto-any rule with ports expands into (classbench.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench.h"
#include "classbench.h"

struct grow {
	void *v;
	size_t n, cap, size;
};

static void *
grow_push(struct grow *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		void *v = realloc(g->v, cap * g->size);

		if (v == NULL)
			return NULL;
		g->v = v;
		g->cap = cap;
	}
	return (char *)g->v + g->n++ * g->size;
}

static int
read_trace(const char *path, struct trace *tr, bool *port_proto)
{
	struct grow pk = {.size = sizeof(struct er_packet)};
	struct grow wa = {.size = sizeof(int32_t)};
	gzFile f = gzopen(path, "rb");
	char line[512];
	int ret = -ENOENT;

	if (f == NULL)
		goto out;
	ret = 0;
	while (ret == 0 && gzgets(f, line, sizeof(line)) != NULL) {
		struct er_packet *p = grow_push(&pk);
		int32_t *w = grow_push(&wa);

		if (p == NULL || w == NULL) {
			ret = -ENOMEM;
		} else if (cb_packet_parse(p, w, line) < 0) {
			fprintf(stderr, "bench: %s: bad line %zu\n", path,
				pk.n);
			ret = -EINVAL;
		} else {
			if (er_proto_has_ports(p->proto))
				port_proto[p->proto] = true;
			cb_packet_normalise(p);
		}
	}
	gzclose(f);
out:
	if (ret == 0) {
		tr->pkt = pk.v;
		tr->want = wa.v;
		tr->n = pk.n;
	} else {
		free(pk.v);
		free(wa.v);
	}
	return ret;
}

static int
read_rules(const char *path, struct bset *s, const uint8_t *protos,
	   size_t nprotos)
{
	struct grow rs = {.size = sizeof(struct brule)};
	gzFile f = gzopen(path, "rb");
	char line[512];
	int ret = -ENOENT;

	if (f == NULL)
		goto out;
	ret = 0;
	while (ret == 0 && gzgets(f, line, sizeof(line)) != NULL) {
		struct er_selector sel[CB_EXPAND_MAX];
		struct cb_rule r;
		int k;

		if (cb_rule_parse(&r, line) < 0 ||
		    (k = cb_rule_expand(&r, protos, nprotos, sel)) < 0) {
			fprintf(stderr, "bench: %s: bad line %zu\n", path,
				s->nsource + 1);
			ret = -EINVAL;
			break;
		}
		s->nexpanded += k > 1;
		s->ndropped += k == 0;
		for (int j = 0; j < k && ret == 0; j++) {
			struct brule *b = grow_push(&rs);

			if (b == NULL) {
				ret = -ENOMEM;
				break;
			}
			b->sel = sel[j];
			/* Line order is priority order: line 1 wins. */
			b->prio = (uint32_t)s->nsource;
			b->idx = (int32_t)s->nsource;
		}
		s->nsource++;
	}
	gzclose(f);
out:
	if (ret == 0) {
		s->rules = rs.v;
		s->nrules = rs.n;
	} else {
		free(rs.v);
	}
	return ret;
}

int
cb_load(struct bset *s, const char *dir, const char *base, const char *size)
{
	static const char *const suffix[TRACE_COUNT] = {".trace.gz",
							".rand.trace.gz"};
	bool port_proto[256] = {false};
	uint8_t protos[CB_EXPAND_MAX];
	size_t nprotos = 0;
	char path[4096];
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->family = AF_INET;
	snprintf(s->base, sizeof(s->base), "%s", base);
	snprintf(s->size, sizeof(s->size), "%s", size);
	snprintf(s->name, sizeof(s->name), "%s_%s", base, size);
	s->oracle = "trace files";
	for (int t = 0; t < TRACE_COUNT && ret == 0; t++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, s->name,
			 suffix[t]);
		ret = read_trace(path, &s->tr[t], port_proto);
	}
	for (unsigned p = 0; p < 256 && ret == 0; p++)
		if (port_proto[p] && nprotos < CB_EXPAND_MAX)
			protos[nprotos++] = (uint8_t)p;
	if (nprotos == 0) {
		protos[nprotos++] = IPPROTO_TCP;
		protos[nprotos++] = IPPROTO_UDP;
	}
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/%s.rules.gz", dir, s->name);
		ret = read_rules(path, s, protos, nprotos);
	}
	if (ret == 0)
		ret = bset_rank(s);
	if (ret < 0)
		bset_fini(s);
	return ret;
}
