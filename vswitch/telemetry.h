/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchd's commands on DPDK's telemetry socket (dpdk-telemetry.py, or
 * any client of /var/run/dpdk/<prefix>/dpdk_telemetry.v2):
 *
 *   /nfv/bridges          dict: bridge name -> FDB size, ports, FDB counters
 *   /nfv/ports            dict: port name -> its main counters
 *   /nfv/ports,NAME       one port in detail (drops by reason, QoS counters)
 *   /nfv/fdb[,BRIDGE]     dict: "MAC/VLAN" (the MAC with '_' for ':') -> one
 *                         FDB entry of the bridge (default: the first one),
 *                         at most SW_TELEMETRY_FDB_MAX of them
 *
 * DPDK 22.11 nests one level only (a dict of dicts, never a list of dicts),
 * and its dict keys take letters, digits, '_' and '/': other characters of
 * a bridge or port name become '_'.
 *
 * docs/vswitch.md has the members. Telemetry answers are small (16 kB), so
 * the control socket (ctl.h) stays the tool for whole tables.
 *
 * Threads: the callbacks run on DPDK's telemetry thread and use only the
 * switch's readers (sw_switch_*_info, sw_switch_fdb_walk), which take the
 * switch's control mutex. A read-write lock here keeps the switch alive
 * while a callback uses it: sw_telemetry_unregister() waits for running
 * callbacks, and later ones answer with an error.
 */
#ifndef NFV_VSWITCH_TELEMETRY_H
#define NFV_VSWITCH_TELEMETRY_H

#include "common/util.h"

#define SW_TELEMETRY_FDB_MAX 100

struct sw_switch;

/*
 * Serves sw on the telemetry commands (registered with DPDK on the first
 * call; DPDK cannot remove them). Call after rte_eal_init(). 0 or -errno.
 */
int __must_check sw_telemetry_register(struct sw_switch *sw);
/* Detaches the switch (before sw_switch_destroy): the commands then fail. */
void sw_telemetry_unregister(void);

#endif /* NFV_VSWITCH_TELEMETRY_H */
