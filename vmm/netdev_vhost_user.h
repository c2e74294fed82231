/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user relay backend: a netdev whose frames travel through a
 * virtio-net queue pair that nfv-vmm itself drives, in shared memory that a
 * vhost-user backend (nfv-switchd, dpdk-testpmd's net_vhost, Open vSwitch's
 * dpdkvhostuser ports) maps, as DPDK's virtio-user does. This is how a NIC
 * model whose rings the backend cannot read (e1000, or virtio-net with
 * offload=off) reaches a switch port:
 *
 *   model -> netdev_send() -> transmitq (queue 1) -> kick -> backend
 *   backend -> receiveq (queue 0) -> call eventfd -> event loop -> model
 *
 * The rings and packet buffers live in one memfd region mapped by both
 * sides (the memory table's "guest-physical" addresses are nfv-vmm's own
 * addresses of the region). Features: VERSION_1 (a 12-byte vnet header
 * on every frame, all zero: no offloads) and, when the backend has it,
 * MTU (the MTU is then told with NET_SET_MTU when the backend has that
 * protocol feature); MRG_RXBUF and EVENT_IDX are not used: every receive
 * buffer holds a whole frame of the agreed MTU. Frames longer than MTU +
 * 18 (Ethernet header and one VLAN tag) are refused with -EMSGSIZE; a
 * full transmit ring answers -EAGAIN.
 *
 * Socket roles and reconnection are vmm/vhost_user_sock.c's: the link is
 * up while a backend is connected and the rings run; when it goes, the
 * link goes down, frames sent meanwhile are dropped (counted), and when it
 * comes back the rings start afresh (nothing from the old connection is
 * reused: a new shared region, new eventfds). A backend that misbehaves
 * (a bad reply, a used id that was never posted, a length beyond the
 * buffer) is disconnected with one log line; nothing of it reaches the
 * model.
 *
 * Threads: send() from model threads, several at once (a mutex guards the
 * transmit ring); the socket, the session, the receive ring and its call
 * eventfd on the netdev's event loop; netdev_vhost_user_stats() from any
 * thread. Open before that loop runs (or on it); close once it has ended.
 */
#ifndef NFV_VMM_NETDEV_VHOST_USER_H
#define NFV_VMM_NETDEV_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/util.h"
#include "vmm/netdev.h"

#define NETDEV_VU_RING_SIZE 256
#define NETDEV_VU_DEFAULT_MTU 1500
#define NETDEV_VU_MAX_MTU 9000

struct netdev_vu_config {
	const char *path; /* the vhost-user socket */
	bool server;	  /* nfv-vmm listens (server=on) or connects */
	unsigned int mtu; /* 68 .. NETDEV_VU_MAX_MTU; 0: 1500 */
};

/*
 * Creates the relay on `loop`: the shared region, the rings, the socket
 * in its role. The link starts down and comes up once a backend connects
 * and the rings are running. 0 or -errno with one line in err.
 */
int __must_check netdev_vhost_user_open(struct evloop *loop, const struct netdev_vu_config *cfg,
					struct netdev **ndp, char *err, size_t err_len);

/* Counters beyond struct netdev_stats, for the control socket. */
struct netdev_vu_stats {
	/* Backends that connected (whether or not the session then started), and left. */
	uint64_t connects, disconnects;
	uint64_t tx_no_link;   /* frames sent while no backend ran the rings */
	uint64_t tx_ring_full; /* frames refused (-EAGAIN): every transmit descriptor in flight */
	uint64_t kicks, calls; /* notifications sent and received */
	/* Protocol (a bad reply, a refusal, silence) or ring violations; each ends a connection. */
	uint64_t backend_errors;
};
/* 0, or -EINVAL when nd is not a vhost-user relay. */
int netdev_vhost_user_stats(struct netdev *nd, struct netdev_vu_stats *st);

#endif /* NFV_VMM_NETDEV_VHOST_USER_H */
