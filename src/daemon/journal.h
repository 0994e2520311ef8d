/* SPDX-License-Identifier: MIT */
/*
 * The journal: what erouted installed in the kernel, so that a restarted
 * erouted knows its own objects (reference 004).
 *
 * It sits between the engine and the kernel backend as a struct er_kernel
 * of its own: every successful install or delete is recorded before the
 * call returns to the engine.  Records are identifiers only -- policy
 * direction and selector, SA (destination, protocol, SPI), reqid, the
 * owning connection's name -- never keys.  The file is STATE_DIR/journal,
 * mode 0600, in a directory of mode 0700.
 *
 * Durability: each record is written (write(2)) before the engine hears of
 * success, so a crash of erouted never loses one; journal_sync() makes
 * them durable on disk (fdatasync) once per batch of engine input.  Only a
 * crash of the whole machine could lose the last batch, and that also
 * empties the kernel's SPD, which is what the journal describes.  When the
 * file holds far more records than live objects it is rewritten (a new
 * file, fsync, rename).
 */
#ifndef EROUTED_JOURNAL_H
#define EROUTED_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "eroute/kernel.h"

struct journal;

typedef const char *journal_name_fn(void *ctx, uint32_t owner);
typedef int journal_reqid_cb(void *ctx, const struct er_selector *sel,
			     uint32_t reqid);

/**
 * journal_open - open (creating) STATE_DIR/journal and load it
 *
 * Return: the journal, or NULL with @err set.  A damaged line is skipped
 * and counted, never trusted.
 */
struct journal *journal_open(const char *state_dir, struct er_err *err);
void journal_close(struct journal *j);

/**
 * journal_wrap - a kernel that journals what it passes to @inner;
 *	@name turns an owner id into the connection's name
 */
struct er_kernel journal_wrap(struct journal *j, struct er_kernel inner,
			      journal_name_fn *name, void *ctx);

/**
 * journal_owns_policy - did erouted install this (dir, selector)?
 */
bool journal_owns_policy(const struct journal *j, enum er_dir dir,
			 const struct er_selector *sel);

/**
 * journal_owns_sa - did erouted install this SA?
 */
bool journal_owns_sa(const struct journal *j, const struct er_sa_id *id);

/**
 * journal_foreach_reqid - the reqid of every outbound policy recorded
 */
int journal_foreach_reqid(const struct journal *j, journal_reqid_cb *cb,
			  void *ctx);

/**
 * journal_sync - make the records durable; rewrite the file when it has
 *	grown well past what is live.  Return: 0 or -errno.
 */
int journal_sync(struct journal *j);

/* Counts, for tests and status. */
size_t journal_live(const struct journal *j);
size_t journal_records(const struct journal *j);
size_t journal_damaged(const struct journal *j);

#endif
