/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * I/O threads: a thread that runs its own event loop, so that the datapath
 * of a device queue (its doorbell eventfd, its backend's file descriptor,
 * its timers) runs beside the vCPUs and beside the VMM's main loop. A
 * virtio-net NIC with N queue pairs gets N of them by default (one per
 * pair), or fewer with iothreads=K (pair i on thread i % K).
 *
 * Life cycle, all on the main thread: iothread_new() (the loop exists, the
 * thread does not yet: watches are added to the loop meanwhile, as for the
 * main loop), iothread_start() once everything is set up, iothread_stop()
 * after the vCPUs ended (stops the loop, joins the thread), iothread_free().
 */
#ifndef NFV_VMM_IOTHREAD_H
#define NFV_VMM_IOTHREAD_H

#include "common/evloop.h"
#include "common/util.h"

struct iothread;

/* `name` names the thread (pthread name, at most 15 bytes kept) and its logs. NULL on failure. */
struct iothread *iothread_new(const char *name);
struct evloop *iothread_loop(const struct iothread *t);
const char *iothread_name(const struct iothread *t);
/* Starts the thread. 0 or -errno. */
int __must_check iothread_start(struct iothread *t);
/* Stops the loop and joins the thread; nothing when it never started. */
void iothread_stop(struct iothread *t);
/* Stops it if needed and frees it with its loop. NULL is fine. */
void iothread_free(struct iothread *t);

#endif /* NFV_VMM_IOTHREAD_H */
