/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user ports on rte_vhost directly, without an ethdev in between
 * (as Open vSwitch does): the polling threads call rte_vhost_dequeue_burst
 * and rte_vhost_enqueue_burst themselves.
 *
 * Threads: sw_vhost_open/close run on the control thread; rte_vhost's own
 * thread reports devices coming and going through callbacks; the polling
 * threads call sw_vhost_rx/tx. A device going away is published by
 * setting vid to -1; the callback then waits, through the datapath's
 * quiescent-state variable, until no polling thread can still be inside a
 * burst on the old device, so rte_vhost may free it as soon as the
 * callback returns.
 *
 * Offloads (checksum, TSO, UFO, ECN) are not offered: frames cross the
 * switch whole and checked, whatever port they leave by. Mergeable RX
 * buffers are kept (jumbo frames into a guest), and a frame larger than
 * one mbuf arrives as a chain.
 */
#ifndef NFV_VSWITCH_VHOST_PORT_H
#define NFV_VSWITCH_VHOST_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "common/util.h"
#include "vswitch/sw_config.h"

struct rte_mempool;
struct rte_rcu_qsbr;

/* The guest's transmit ring of pair q is ours to receive from, and the other way round. */
#define SW_VHOST_RX_VRING(q) ((uint16_t)(2 * (q) + 1))
#define SW_VHOST_TX_VRING(q) ((uint16_t)(2 * (q)))

struct sw_vhost {
	/* Read by the polling threads. */
	int vid;			/* the connected device, -1 when none */
	uint16_t n_queues;		/* queue pairs served */
	struct rte_mempool *mp;		/* RX buffers */
	uint8_t ready[2 * SW_MAX_QUEUES];	/* vring enabled by the guest */
	/* Control side. */
	char path[SW_PATH_MAX];
	char name[SW_NAME_MAX];		/* the port's name, for the log */
	bool server;
	struct rte_rcu_qsbr *qsv;
	uint64_t connects;		/* devices seen since the port was made */
	bool told_unserved;		/* the log said the guest uses more pairs */
	uint8_t quiet[2 * SW_MAX_QUEUES];	/* the guest was asked not to kick */
	bool quieting;			/* sw_vhost_periodic is asking it */
} __rte_cache_aligned;

/*
 * Registers the socket (client by default and reconnecting; server with
 * cfg->server), without offloads, and starts it. qsv: the datapath's
 * quiescent-state variable; mp: RX buffers. On failure nothing is left
 * behind and err says why.
 */
int __must_check sw_vhost_open(const struct sw_port_cfg *cfg, struct rte_mempool *mp,
			       struct rte_rcu_qsbr *qsv, struct sw_vhost **out, char *err,
			       size_t errlen);
/* Unregisters the socket (a connected device is destroyed first) and frees the port. */
void sw_vhost_close(struct sw_vhost *v);
/*
 * Control thread, every tick: rings the guest enabled after the device
 * came up (pairs past the first, with a frontend that starts them one by
 * one) are asked not to kick either, as new_device asked the first ones.
 */
void sw_vhost_periodic(struct sw_vhost *v);
/* A device is connected and running. */
bool sw_vhost_link_up(const struct sw_vhost *v);

/* Up to n frames from queue pair q; 0 when no device or the ring is not enabled. */
static inline uint16_t sw_vhost_rx(struct sw_vhost *v, uint16_t q, struct rte_mbuf **pkts,
				   uint16_t n)
{
	int vid = __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);
	uint16_t ring = SW_VHOST_RX_VRING(q);

	if (unlikely(vid < 0) || !__atomic_load_n(&v->ready[ring], __ATOMIC_RELAXED))
		return 0;
	return rte_vhost_dequeue_burst(vid, ring, v->mp, pkts, n);
}

/*
 * Copies up to n frames into queue pair q of the guest (pair 0 when the
 * guest did not enable q), and frees those it took, as an ethdev's TX
 * does; the rest are still the caller's. rte_vhost serialises threads on
 * one ring, so several polling threads may send on the same q.
 */
static inline uint16_t sw_vhost_tx(struct sw_vhost *v, uint16_t q, struct rte_mbuf **pkts,
				   uint16_t n)
{
	int vid = __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);
	uint16_t ring = SW_VHOST_TX_VRING(q), sent;

	if (unlikely(vid < 0))
		return 0;
	if (unlikely(!__atomic_load_n(&v->ready[ring], __ATOMIC_RELAXED))) {
		ring = SW_VHOST_TX_VRING(0);
		if (!__atomic_load_n(&v->ready[ring], __ATOMIC_RELAXED))
			return 0;
	}
	sent = rte_vhost_enqueue_burst(vid, ring, pkts, n);
	if (sent)
		rte_pktmbuf_free_bulk(pkts, sent);
	return sent;
}

#endif /* NFV_VSWITCH_VHOST_PORT_H */
