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
 *
 * Boots: the file's first record is the boot id it was written in
 * (/proc/sys/kernel/random/boot_id).  A reboot empties the kernel, so a
 * journal of another boot (or one that does not say) describes nothing
 * that exists: it is renamed STATE_DIR/journal.previous-boot and the
 * journal starts empty.  Ownership itself is the kernel marker's where the
 * backend has one (docs/xfrm.md); the journal gives names and reqids.
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
 * @boot_id: this boot's id (journal_boot_id_read()); NULL when unknown,
 *	and then the file is trusted whatever boot it names
 *
 * Return: the journal, or NULL with @err set.  A damaged line is skipped
 * and counted, never trusted; a journal of another boot is set aside
 * (journal_set_aside()).
 */
struct journal *journal_open(const char *state_dir, const char *boot_id,
			     struct er_err *err);

/**
 * journal_set_aside - what journal_open() set aside and why, for the log;
 *	NULL when it trusted the file
 */
const char *journal_set_aside(const struct journal *j);

/**
 * journal_boot_id_read - the boot id in @path (the kernel's is
 *	/proc/sys/kernel/random/boot_id) into @buf
 *
 * Return: @buf, or NULL when it cannot be read.
 */
const char *journal_boot_id_read(const char *path, char *buf, size_t len);
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
