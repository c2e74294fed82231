/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding table of one bridge: (VLAN, MAC) -> port, on rte_hash.
 *
 * Threads: the polling (PMD) threads look up and learn concurrently
 * (rte_hash with RW_CONCURRENCY_LF and MULTI_WRITER_ADD: lookups take no
 * lock, adding a new entry takes rte_hash's writer lock, which only happens
 * for a station not yet known). The control thread ages, flushes, adds and
 * removes static entries, and walks the table. A removed entry's slot is
 * reused only after every polling thread has passed a quiescent state of
 * the switch's QSBR variable (params.qsv); with qsv NULL (single-threaded
 * use, unit tests) slots are reused at once. Every calling thread needs an
 * lcore id (an EAL thread, or one registered with rte_thread_register()):
 * rte_hash keeps its free slots in per-lcore caches.
 *
 * Time is passed in by the caller in milliseconds (any monotonic origin),
 * so aging is testable without a clock.
 *
 * Full table: a station that cannot be learned is counted (learn_full) and
 * its frames keep being flooded: the switch fails safe, never drops for it.
 */
#ifndef NFV_VSWITCH_FDB_H
#define NFV_VSWITCH_FDB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

struct rte_rcu_qsbr;

#define SW_FDB_MISS 0xffffu	/* lookup result: unknown station */
#define SW_FDB_BURST_MAX 64u	/* most keys per bulk call */

/* The hash key: 8 bytes, zero padding included in nothing (packed). */
struct sw_fdb_key {
	uint8_t mac[6];
	uint16_t vlan;
} __attribute__((packed));

struct sw_fdb_params {
	const char *name;	/* unique among live tables (rte_hash name), <= 21 chars */
	uint32_t size;		/* entries, 16..1048576 */
	int socket_id;		/* SOCKET_ID_ANY is fine */
	uint32_t aging_ms;	/* 0 = never age */
	struct rte_rcu_qsbr *qsv; /* the readers' QSBR variable, or NULL */
};

struct sw_fdb_stats {
	uint64_t entries;	/* live entries now (static included) */
	uint64_t statics;	/* static entries now */
	uint64_t learned;	/* new dynamic entries ever */
	uint64_t moved;		/* a station seen on another port */
	uint64_t aged;		/* removed by aging */
	uint64_t flushed;	/* removed by flush */
	uint64_t learn_full;	/* stations not learned: table full */
	uint64_t hits, misses;	/* destination lookups */
};

struct sw_fdb_entry_info {
	struct sw_fdb_key key;
	uint16_t port;
	bool is_static;
	uint32_t age_ms;	/* since last seen (0 for static) */
};

struct sw_fdb;

/* NULL on failure with errno-style reason in *err (-ENOMEM, -EEXIST, -EINVAL). */
struct sw_fdb *sw_fdb_create(const struct sw_fdb_params *p, int *err);
void sw_fdb_free(struct sw_fdb *f);

/* ---- fast path (any polling thread) ---- */

/*
 * Destination lookup of n (<= SW_FDB_BURST_MAX) keys: ports[i] is the port
 * or SW_FDB_MISS (absent, or a dynamic entry older than the aging time).
 */
void sw_fdb_lookup_bulk(struct sw_fdb *f, const struct sw_fdb_key *keys, unsigned n,
			uint16_t *ports, uint64_t now_ms);

/*
 * Source learning for n (<= SW_FDB_BURST_MAX) frames: keys[i] seen on
 * in_ports[i]. Refreshes known stations (the timestamp is written only when
 * it changes, to keep cache lines quiet), moves a dynamic station to its new
 * port, adds unknown ones. Multicast/broadcast source MACs are ignored;
 * static entries never move.
 */
void sw_fdb_learn_bulk(struct sw_fdb *f, const struct sw_fdb_key *keys, const uint16_t *in_ports,
		       unsigned n, uint64_t now_ms);

/* ---- control thread ---- */

/* Removes dynamic entries not seen for aging_ms. Returns how many. Also gives
 * back the space of removed entries whose grace period is over (call it
 * periodically even with aging off). */
unsigned sw_fdb_age(struct sw_fdb *f, uint64_t now_ms);
void sw_fdb_set_aging(struct sw_fdb *f, uint32_t aging_ms);
/* Removes dynamic entries (port = SW_FDB_MISS: of every port; else only that
 * port's). Static entries stay unless include_static. Returns how many. */
unsigned sw_fdb_flush(struct sw_fdb *f, uint16_t port, bool include_static);
/* Adds or replaces a static entry: 0, -ENOSPC (full), -EINVAL (multicast MAC). */
int __must_check sw_fdb_add_static(struct sw_fdb *f, const struct sw_fdb_key *key, uint16_t port);
/* Removes one entry (static or not): 0 or -ENOENT. */
int sw_fdb_del(struct sw_fdb *f, const struct sw_fdb_key *key);
/* Single lookup for the control side; 0 and *info, or -ENOENT. */
int sw_fdb_get(struct sw_fdb *f, const struct sw_fdb_key *key, uint64_t now_ms,
	       struct sw_fdb_entry_info *info);
/* Calls fn for each live entry (order unspecified); stops when fn returns nonzero. */
void sw_fdb_walk(struct sw_fdb *f, uint64_t now_ms,
		 int (*fn)(const struct sw_fdb_entry_info *e, void *opaque), void *opaque);
void sw_fdb_get_stats(struct sw_fdb *f, struct sw_fdb_stats *s);

#endif /* NFV_VSWITCH_FDB_H */
