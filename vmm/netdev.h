/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Netdev: the backend side of a NIC. A NIC model (the frontend: e1000,
 * virtio-net, the vhost-user relay) moves Ethernet frames through a struct
 * netdev; a backend (tap, pcap, later vhost-user) implements its ops.
 *
 *   guest -> model -> netdev_send()          -> backend (tap fd, pcap file)
 *   backend fd readable -> peer.receive()    -> model -> guest RAM
 *
 * Frames carry no virtio_net_hdr unless both sides agreed on one with
 * netdev_set_vnet_hdr() (a tap opened with IFF_VNET_HDR and a model that
 * offloads checksums or TSO).
 *
 * Life cycle: a backend's open function (netdev_tap_open(), ...) allocates
 * and returns the netdev; the model attaches itself with netdev_attach()
 * before the VM runs; netdev_close() detaches and frees.
 *
 * Threads:
 *  - send() is called from vCPU threads (a guest doorbell write) and must not
 *    block: a backend that cannot take a frame now returns -EAGAIN or drops
 *    it (counted);
 *  - the backend's receive side runs on the VMM's event loop thread and calls
 *    peer.receive() there; the model locks itself;
 *  - netdev_rx_resume() may be called from any thread (a vCPU posting RX
 *    buffers): it wakes the event loop, which reads again.
 * "The event loop" is the loop the netdev was opened on: a multiqueue
 * backend gives each queue its own netdev, each on the loop of the thread
 * that serves that queue (an I/O thread of the VMM).
 */
#ifndef NFV_VMM_NETDEV_H
#define NFV_VMM_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/evloop.h"
#include "common/util.h"

#define NETDEV_NAME_LEN 32
#define NETDEV_MAX_FRAME 65550 /* 64 KiB TSO frame plus a header */

struct netdev;

/*
 * Offloads in a vnet header (NETDEV_OFF_*). netdev_set_vnet_hdr()'s
 * `offloads` says which of them the backend may put in the frames it hands
 * the model (what the guest agreed to receive: a tap's TUNSETOFFLOAD); the
 * frames the model sends may ask for checksum or TSO whenever a header is
 * agreed, and the backend completes them.
 */
#define NETDEV_OFF_CSUM (1u << 0)
#define NETDEV_OFF_TSO4 (1u << 1)
#define NETDEV_OFF_TSO6 (1u << 2)
#define NETDEV_OFF_UFO (1u << 3)

struct netdev_ops {
	const char *type; /* "tap", "pcap", ... */
	/*
	 * Sends one frame given as an iovec (with the vnet header first when
	 * one was agreed). Returns 0 when the frame was taken, -EAGAIN when the
	 * backend is full right now (frame not taken, the model may retry or
	 * drop), or another -errno (frame dropped). Never blocks. Required.
	 */
	int (*send)(struct netdev *nd, const struct iovec *iov, int iovcnt);
	/* Starts (true) or stops (false) delivering received frames. Required. */
	void (*set_rx)(struct netdev *nd, bool enable);
	/*
	 * Asks the backend to prepend a vnet header of `hdr_len` bytes (0: none)
	 * and to hand over frames with at most the offloads in `offloads`
	 * (NETDEV_OFF_*, see above). May be called again at run time (a driver
	 * negotiated other offloads). Returns 0 or -ENOTSUP when it cannot.
	 * NULL: no vnet header support.
	 */
	int (*set_vnet_hdr)(struct netdev *nd, size_t hdr_len, unsigned int offloads);
	/*
	 * One queue of a multiqueue backend (a queue of an IFF_MULTI_QUEUE tap)
	 * joins (true) or leaves (false) the set the host spreads received
	 * frames over; a queue that left still sends. 0, or -errno. Any thread.
	 * NULL: the backend has one queue, always enabled.
	 */
	int (*set_queue_enabled)(struct netdev *nd, bool enable);
	/* Releases the backend's resources; the netdev itself is freed by the core. */
	void (*close)(struct netdev *nd);
};

/* The model's side, set with netdev_attach(). */
struct netdev_peer {
	/*
	 * Delivers one received frame. Returns the bytes taken, 0 when the
	 * model has no room now (the backend keeps the frame, stops reading and
	 * waits for netdev_rx_resume()), or -errno when the model dropped it.
	 */
	ssize_t (*receive)(void *opaque, const struct iovec *iov, int iovcnt);
	/* The backend's link went up or down (optional). */
	void (*link_changed)(void *opaque, bool up);
	void *opaque;
};

struct netdev_stats {
	uint64_t tx_packets; /* frames the model sent that the backend took */
	uint64_t tx_bytes;
	uint64_t tx_dropped; /* frames the backend could not take */
	uint64_t rx_packets; /* frames delivered to the model */
	uint64_t rx_bytes;
	uint64_t rx_dropped; /* frames the model refused or that were too long */
};

struct netdev {
	const struct netdev_ops *ops;
	char name[NETDEV_NAME_LEN]; /* "tap:nfv0", "pcap:out.pcap" */
	struct evloop *loop;
	struct ev_event *resume_event;
	struct netdev_peer peer;
	bool link_up;
	size_t vnet_hdr_len;
	unsigned int offloads;
	struct netdev_stats stats; /* updated with atomics */
	void *priv;                /* the backend's state */
};

/*
 * For backends: allocates a netdev with `priv_size` bytes of backend state
 * (nd->priv) bound to the event loop. NULL on allocation failure.
 */
struct netdev *netdev_alloc(const struct netdev_ops *ops, const char *name,
			    struct evloop *loop, size_t priv_size);

/* For models. */
void netdev_attach(struct netdev *nd, const struct netdev_peer *peer);
int netdev_send(struct netdev *nd, const struct iovec *iov, int iovcnt);
void netdev_rx_resume(struct netdev *nd);
int netdev_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads);
/* ops->set_queue_enabled; -ENOTSUP for a single-queue backend. */
int netdev_set_queue_enabled(struct netdev *nd, bool enable);
void netdev_close(struct netdev *nd);

/* For backends: hand a received frame to the model (counts stats). */
ssize_t netdev_deliver(struct netdev *nd, const struct iovec *iov, int iovcnt);
void netdev_set_link(struct netdev *nd, bool up);

#endif /* NFV_VMM_NETDEV_H */
