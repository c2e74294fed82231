/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Switch ports: turns a struct sw_port_cfg into a DPDK device (an
 * rte_ethdev virtual device for tap, af_packet, af_xdp and pcap; a probed
 * PCI device for dpdk; an rte_vhost socket for vhost-user, see
 * vhost_port.h), configures its queues and MTU and starts it; and takes it
 * down again. Control thread only.
 */
#ifndef NFV_VSWITCH_PORT_H
#define NFV_VSWITCH_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "vswitch/sw_config.h"

struct rte_mempool;
struct rte_rcu_qsbr;
struct sw_vhost;

/* The ethdev port number of a port that has none (vhost-user). */
#define SW_PORT_ID_NONE UINT16_MAX

#define SW_PORT_RXD 1024
#define SW_PORT_TXD 1024

struct sw_ethport {
	uint16_t port_id;	/* SW_PORT_ID_NONE for vhost-user */
	struct sw_vhost *vhost;	/* vhost-user ports: rte_vhost directly */
	uint16_t n_rxq, n_txq;
	char devname[64];	/* the vdev name or PCI address */
	bool is_vdev;
};

/*
 * The devargs string of a virtual device for this port ("net_tap_t0_3,
 * iface=t0"), or an empty string for a PCI or vhost-user port.
 * unique keeps the device name unique when a name is reused at run time.
 */
int __must_check sw_port_devargs(const struct sw_port_cfg *p, unsigned unique, char *buf,
				 size_t len);

/*
 * Creates, configures (cfg->queues RX queues, n_txq TX queues, cfg->mtu)
 * and starts the device; RX buffers come from mp; qsv is the datapath's
 * quiescent-state variable (vhost-user devices going away wait on it).
 * On failure nothing is left behind and err names the port and the reason.
 */
int __must_check sw_port_open(const struct sw_port_cfg *cfg, unsigned unique, uint16_t n_txq,
			      struct rte_mempool *mp, struct rte_rcu_qsbr *qsv,
			      struct sw_ethport *ep, char *err, size_t errlen);
/* Stops and closes the device and removes it from the bus. */
void sw_port_close(struct sw_ethport *ep);
bool sw_port_link_up(const struct sw_ethport *ep);
/* Control thread, every tick: the device's housekeeping (vhost-user rings). */
void sw_port_periodic(struct sw_ethport *ep);

#endif /* NFV_VSWITCH_PORT_H */
