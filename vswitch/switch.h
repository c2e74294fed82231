/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch as a whole: bridges, ports (rte_ethdev devices), mirrors and
 * the polling threads, built from a validated struct sw_config, and every
 * change the control socket can make at run time.
 *
 * Threads:
 * - polling (PMD) threads: one per lcore in pmd_cores; they run the
 *   datapath over the published state and report quiescent states on the
 *   switch's QSBR variable once per loop;
 * - the control thread (main): calls everything below except the *_info
 *   readers, which the DPDK telemetry thread may call too. All functions
 *   here take the switch's control mutex, so they are safe from both.
 *
 * Changes are transactional: each function checks everything first and
 * either applies the whole change or returns -errno with one line in err
 * and changes nothing. A change reaches the polling threads by publishing a
 * new state and waiting for a quiescent period before freeing the old one.
 */
#ifndef NFV_VSWITCH_SWITCH_H
#define NFV_VSWITCH_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "vswitch/fdb.h"
#include "vswitch/sw_config.h"

struct sw_switch;

/* Drop reasons counted per port. */
enum sw_drop {
	SW_DROP_VLAN,		/* VLAN not allowed on ingress or egress */
	SW_DROP_POLICER,	/* red at the ingress policer */
	SW_DROP_SHAPER,		/* shaper class queue full */
	SW_DROP_MTU,		/* frame longer than the port's MTU */
	SW_DROP_NOBUF,		/* TX queue full, or no mbuf for a copy */
	SW_DROP_RUNT,		/* shorter than an Ethernet header */
	SW_DROP_NOPORT,		/* learned port gone, reflection to ingress */
	SW_DROP_MAX
};
const char *sw_drop_name(enum sw_drop d);

struct sw_port_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t drops[SW_DROP_MAX];
	uint64_t flood_packets;	/* frames this port received that were flooded */
};

struct sw_port_info {
	struct sw_port_cfg cfg;	/* as configured now (VLAN, QoS included) */
	char bridge[SW_NAME_MAX];
	uint16_t port_id;	/* the rte_ethdev port, UINT16_MAX for vhost-user */
	bool link_up;
	struct sw_port_stats stats;
	/* QoS counters (zero when not configured) */
	uint64_t policer_green, policer_yellow, policer_red;
	uint64_t shaper_backlog;
	uint64_t shaper_sent[SW_MAX_CLASSES], shaper_dropped[SW_MAX_CLASSES];
};

struct sw_bridge_info {
	char name[SW_NAME_MAX];
	uint32_t aging_s;
	uint32_t fdb_size;
	unsigned n_ports;
	struct sw_fdb_stats fdb;
};

struct sw_mirror_info {
	struct sw_mirror_cfg cfg;
	uint64_t mirrored;	/* frames copied */
	uint64_t dropped;	/* frames not copied (pool, ring or queue full) */
	uint64_t written;	/* pcap: frames in the file */
};

struct sw_switch_info {
	unsigned n_pmds;
	uint16_t pmd_lcores[SW_MAX_PMD_CORES];
	bool hugepages;
	unsigned n_bridges, n_ports, n_mirrors;
	uint64_t uptime_ms;
};

/*
 * Builds the switch from cfg (EAL already initialised): mbuf pool, bridges,
 * ports (probed, configured, started), mirrors, then starts the polling
 * threads. On any error everything built so far is torn down and err says
 * what failed (naming the port and where it was configured).
 */
int __must_check sw_switch_create(const struct sw_config *cfg, struct sw_switch **out, char *err,
				  size_t errlen);
/* Stops the polling threads, then mirrors, ports, bridges, pools. */
void sw_switch_destroy(struct sw_switch *sw);
/* Control thread, about every 100 ms: aging, link state, counters. */
void sw_switch_periodic(struct sw_switch *sw);

/* ---- run-time changes (control thread) ---- */
/* p->bridge is an index into the bridges the switch has (sw_bridge_info order). */
int __must_check sw_switch_port_add(struct sw_switch *sw, const struct sw_port_cfg *p, char *err,
				    size_t errlen);
int __must_check sw_switch_port_del(struct sw_switch *sw, const char *name, char *err,
				    size_t errlen);
int __must_check sw_switch_port_set_vlan(struct sw_switch *sw, const char *name,
					 const struct sw_vlan_cfg *v, char *err, size_t errlen);
/* m->type SW_METER_NONE removes the policer. */
int __must_check sw_switch_port_set_policer(struct sw_switch *sw, const char *name,
					    const struct sw_meter_cfg *m, char *err, size_t errlen);
/* s->rate 0 removes the shaper. */
int __must_check sw_switch_port_set_shaper(struct sw_switch *sw, const char *name,
					   const struct sw_shaper_cfg *s, char *err, size_t errlen);
int __must_check sw_switch_mirror_add(struct sw_switch *sw, const struct sw_mirror_cfg *m,
				      char *err, size_t errlen);
int __must_check sw_switch_mirror_del(struct sw_switch *sw, const char *name, char *err,
				      size_t errlen);
/* port NULL: every dynamic entry of the bridge. Returns the number removed or -errno. */
int sw_switch_fdb_flush(struct sw_switch *sw, const char *bridge, const char *port, char *err,
			size_t errlen);
int __must_check sw_switch_fdb_add_static(struct sw_switch *sw, const char *bridge,
					  const struct sw_static_cfg *s, char *err, size_t errlen);
int __must_check sw_switch_fdb_del(struct sw_switch *sw, const char *bridge, const uint8_t mac[6],
				   uint16_t vlan, char *err, size_t errlen);
void sw_switch_clear_stats(struct sw_switch *sw);

/* ---- readers (control or telemetry thread) ---- */
void sw_switch_get_info(struct sw_switch *sw, struct sw_switch_info *info);
unsigned sw_switch_n_bridges(struct sw_switch *sw);
int sw_switch_bridge_info(struct sw_switch *sw, unsigned idx, struct sw_bridge_info *info);
/* Ports in creation order, idx 0..n_ports-1. -ENOENT past the end. */
int sw_switch_port_info(struct sw_switch *sw, unsigned idx, struct sw_port_info *info);
int sw_switch_port_info_by_name(struct sw_switch *sw, const char *name, struct sw_port_info *info);
int sw_switch_mirror_info(struct sw_switch *sw, unsigned idx, struct sw_mirror_info *info);
/* Calls fn for each FDB entry of a bridge (port names resolved). -ENOENT for
 * an unknown bridge. */
int sw_switch_fdb_walk(struct sw_switch *sw, const char *bridge,
		       int (*fn)(const struct sw_fdb_entry_info *e, const char *port, void *opaque),
		       void *opaque);

#endif /* NFV_VSWITCH_SWITCH_H */
