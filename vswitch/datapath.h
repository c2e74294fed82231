/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fast path of nfv-switchd: polling threads that receive bursts from
 * their ports' queues, classify (VLAN, policer), learn and look up the
 * bridge's forwarding table, mirror, and send (through the shaper when the
 * port has one).
 *
 * Threads and publication: the polling threads read one published struct
 * sw_dp_state, immutable while published. The control thread builds a new
 * state for every change, publishes it (sw_dp_publish: an atomic pointer
 * store, then rte_rcu_qsbr_synchronize until every polling thread has
 * passed its loop's quiescent point) and only then frees the old state and
 * whatever the change removed (ports, policers, shapers, pcap writers).
 * The polling threads take no lock except a TX queue lock when a port has
 * fewer TX queues than there are polling threads, and the policer's
 * (uncontended when one thread polls the port).
 *
 * Counters are per polling thread (no shared cache lines); readers sum them.
 *
 * Frame ownership: a frame received is owned by the polling thread until it
 * is handed to a TX buffer, a shaper (which takes it whatever happens) or
 * freed. Flooding shares one mbuf between the untagged destinations
 * (reference count) and copies it for each destination that adds a tag.
 */
#ifndef NFV_VSWITCH_DATAPATH_H
#define NFV_VSWITCH_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_spinlock.h>

#include "vswitch/switch.h"

struct rte_mempool;
struct rte_rcu_qsbr;
struct sw_fdb;
struct sw_policer;
struct sw_shaper;
struct sw_pcap_writer;

#define SW_BURST 32
#define SW_MAX_PMDS SW_MAX_PMD_CORES
#define SW_TXB_SIZE 64
#define SW_SLOT_NONE 0xffffu

struct sw_dp_rxq {
	struct sw_vhost *vhost;	/* vhost-user: rte_vhost, not port_id */
	uint16_t port_id;
	uint16_t slot;
	uint16_t queue;
};

struct sw_dp_vlan_policer {
	uint16_t vlan;
	struct sw_policer *policer;
};

/* A port as the fast path sees it. */
struct sw_dp_port {
	struct sw_vhost *vhost;	/* vhost-user: rte_vhost, not port_id */
	uint16_t port_id;
	uint16_t slot;		/* index in sw_dp_state.ports and in the FDB */
	uint8_t bridge;
	uint8_t shaper_pmd;	/* the polling thread that serves the shaper */
	uint16_t mtu;
	uint16_t n_txq;
	bool txq_locked;	/* more polling threads than TX queues (ethdev) */
	bool vlan_default;	/* VLAN-unaware: trunk of everything, native 0 */
	struct sw_vlan_cfg vlan;
	struct sw_policer *policer;
	unsigned n_vlan_policers;
	struct sw_dp_vlan_policer vlan_policers[SW_MAX_VLAN_POLICERS];
	struct sw_shaper *shaper;
	uint8_t n_rx_mirrors, n_tx_mirrors;
	uint8_t rx_mirrors[SW_MAX_MIRRORS], tx_mirrors[SW_MAX_MIRRORS];
	rte_spinlock_t *txq_locks;	/* n_txq locks, owned by the switch */
};

struct sw_dp_bridge {
	struct sw_fdb *fdb;
	unsigned n_ports;
	uint16_t slots[SW_MAX_PORTS];
};

struct sw_dp_mirror {
	bool live;
	uint16_t to_slot;		/* SW_SLOT_NONE: to the pcap writer */
	struct sw_pcap_writer *writer;
};

struct sw_dp_state {
	struct sw_dp_port *ports[SW_MAX_PORTS];	/* by slot, NULL when free */
	struct sw_dp_bridge bridges[SW_MAX_BRIDGES];
	struct sw_dp_mirror mirrors[SW_MAX_MIRRORS];
	unsigned n_rxqs[SW_MAX_PMDS];
	struct sw_dp_rxq rxqs[SW_MAX_PMDS][SW_MAX_PORTS * SW_MAX_QUEUES];
	unsigned n_shaped[SW_MAX_PMDS];
	uint16_t shaped[SW_MAX_PMDS][SW_MAX_PORTS];
};

struct sw_dp_counters {
	struct sw_port_stats port[SW_MAX_PORTS];
	uint64_t mirrored[SW_MAX_MIRRORS];
	uint64_t mirror_dropped[SW_MAX_MIRRORS];
} __rte_cache_aligned;

struct sw_dp_pmd;

struct sw_dp {
	struct sw_dp_state *state;	/* published; atomic loads/stores */
	struct rte_rcu_qsbr *qsv;
	struct rte_mempool *pool;	/* for copies (flood to tagged ports, mirrors) */
	unsigned n_pmds;
	uint16_t lcores[SW_MAX_PMDS];
	struct sw_dp_pmd *pmds[SW_MAX_PMDS];
	uint64_t tsc_per_ms;
	volatile bool stop;
	bool running;
};

/* Sets up the QSBR variable and per-thread state; nothing runs yet. */
int __must_check sw_dp_init(struct sw_dp *dp, unsigned n_pmds, const uint16_t *lcores,
			    struct rte_mempool *pool, char *err, size_t errlen);
/* Launches the polling threads on their lcores (a state must be published). */
int __must_check sw_dp_start(struct sw_dp *dp, char *err, size_t errlen);
/* Stops and joins the polling threads. */
void sw_dp_stop(struct sw_dp *dp);
void sw_dp_fini(struct sw_dp *dp);
/*
 * Publishes st and returns the state it replaces, which no polling thread
 * can see any more when this returns (free it and what only it used).
 */
struct sw_dp_state *sw_dp_publish(struct sw_dp *dp, struct sw_dp_state *st);
/* Sum of the polling threads' counters for a port slot / mirror slot. */
void sw_dp_port_counters(const struct sw_dp *dp, unsigned slot, struct sw_port_stats *out);
void sw_dp_mirror_counters(const struct sw_dp *dp, unsigned mslot, uint64_t *mirrored,
			   uint64_t *dropped);
/* The fast path's clock in ms (TSC based); the FDB's times use it. */
uint64_t sw_dp_now_ms(const struct sw_dp *dp);

#endif /* NFV_VSWITCH_DATAPATH_H */
