/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user frontend's control session on one connected socket: the
 * request sequences of the vhost-user protocol specification, synchronous,
 * each bounded by a timeout. The NIC glue (sockets in both roles,
 * reconnection, the rings of a virtio-net device) sits above it.
 *
 *   vu_conn_handshake()    GET_FEATURES; with PROTOCOL_FEATURES:
 *                          GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM (MQ);
 *                          SET_OWNER
 *   vu_conn_set_features() SET_FEATURES (what the guest's driver accepted,
 *                          plus PROTOCOL_FEATURES when the backend has it)
 *   vu_conn_set_mem_table() SET_MEM_TABLE from guest memory: every RAM
 *                          region with its memfd (or hugetlbfs file), offset
 *                          and the frontend's own mapping address
 *   vu_conn_vring_start()  SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR
 *                          (ring addresses translated to the frontend's
 *                          mapping, checked inside RAM), SET_VRING_KICK,
 *                          SET_VRING_CALL, SET_VRING_ENABLE 1
 *   vu_conn_vring_stop()   SET_VRING_ENABLE 0, GET_VRING_BASE
 *   vu_conn_vring_call()   SET_VRING_CALL alone: a running ring's
 *                          interrupt eventfd replaced
 *
 * With REPLY_ACK agreed, every request that changes state asks for an ack
 * and a non-zero ack fails it. A backend that answers wrongly (another
 * request, a bad size, an error ack, silence, a closed socket) fails the
 * call with -EPROTO / -ETIMEDOUT / -ECONNRESET and one line in c->err;
 * the caller then drops the connection (link down) and nothing in guest
 * memory was touched by this layer.
 */
#ifndef NFV_VMM_VHOST_USER_H
#define NFV_VMM_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/guestmem.h"
#include "common/util.h"
#include "vmm/vhost_user_msg.h"

#define VU_DEFAULT_TIMEOUT_MS 5000

struct vu_conn {
	int sock;
	int timeout_ms;
	/* Learned in the handshake. */
	uint64_t backend_features;
	uint64_t protocol_features; /* agreed: ours & the backend's */
	uint16_t queue_num;	    /* GET_QUEUE_NUM with MQ, else 0 (unknown) */
	uint64_t features;	    /* as sent with SET_FEATURES */
	char err[256];
};

/* A connected socket; the session does not own it (the caller closes it). */
void vu_conn_init(struct vu_conn *c, int sock, int timeout_ms);

/*
 * The handshake. `want_protocol` is the protocol features this frontend
 * would use (VU_PROTOCOL_F_*); the agreed set is stored. 0 or -errno.
 */
int __must_check vu_conn_handshake(struct vu_conn *c, uint64_t want_protocol);
bool vu_conn_has_protocol(const struct vu_conn *c, unsigned int bit);

/*
 * SET_FEATURES with `features` (a subset of backend_features, refused with
 * -ENOTSUP otherwise, and naming the bits the backend lacks).
 */
int __must_check vu_conn_set_features(struct vu_conn *c, uint64_t features);

/* SET_MEM_TABLE for every region of gm; -EINVAL when a region has no fd. */
int __must_check vu_conn_set_mem_table(struct vu_conn *c, const struct guest_mem *gm);

struct vu_vring_cfg {
	uint16_t num;	       /* queue size */
	uint16_t base;	       /* the next avail index the backend processes */
	uint64_t desc_gpa;     /* ring addresses as the driver set them (guest-physical) */
	uint64_t avail_gpa;
	uint64_t used_gpa;
	int kick_fd;	       /* the guest's doorbell eventfd (-1: the backend polls) */
	int call_fd;	       /* the interrupt eventfd, an irqfd (-1: none) */
};

/* Starts ring `index` as above. -EFAULT when a ring is not inside RAM. */
int __must_check vu_conn_vring_start(struct vu_conn *c, const struct guest_mem *gm,
				     uint32_t index, const struct vu_vring_cfg *cfg);
/*
 * NET_SET_MTU (only when NET_MTU was agreed and MTU is in the features:
 * -ENOTSUP otherwise, nothing sent).
 */
int __must_check vu_conn_set_mtu(struct vu_conn *c, unsigned int mtu);
/*
 * SET_VRING_ENABLE: ring `index` joins (true) or leaves the rings the
 * backend serves. Only with PROTOCOL_FEATURES (without, rings run once
 * kicked: 0, nothing sent).
 */
int __must_check vu_conn_vring_enable(struct vu_conn *c, uint32_t index, bool enable);
/* Stops ring `index`; *base receives the backend's next avail index. */
int __must_check vu_conn_vring_stop(struct vu_conn *c, uint32_t index, uint16_t *base);
/*
 * SET_VRING_CALL for ring `index` with `call_fd` (-1: none): the backend
 * signals that eventfd from now on (the protocol allows it at any time,
 * the ring running or not).
 */
int __must_check vu_conn_vring_call(struct vu_conn *c, uint32_t index, int call_fd);

#endif /* NFV_VMM_VHOST_USER_H */
