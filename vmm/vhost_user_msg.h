/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user messages, as the frontend (the VMM, which owns the virtqueues)
 * sends and receives them: the wire format of the vhost-user protocol
 * specification (QEMU's docs/interop/vhost-user.rst, the reference DPDK's
 * rte_vhost and Open vSwitch implement). One message is a 12-byte header
 * (request, flags, size; host byte order) and `size` bytes of payload, with
 * file descriptors in SCM_RIGHTS ancillary data on a Unix stream socket.
 *
 * This layer only encodes, sends, receives and validates; the session that
 * sequences the messages lives above it. Everything a backend sends is
 * hostile until checked: vu_msg_recv() refuses a header of the wrong
 * version or without the reply flag, a payload larger than the protocol's
 * largest, more descriptors than asked for (and closes them), a short read,
 * and a peer that stops sending (a timeout); vu_reply_check() refuses a
 * reply to another request or with the wrong payload size. Each refusal
 * has its own errno and a one-line reason.
 */
#ifndef NFV_VMM_VHOST_USER_MSG_H
#define NFV_VMM_VHOST_USER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* Requests (frontend -> backend). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_REQUEST_MAX = 64, /* names and checks stop here */
};

/* Header flags: bits 0-1 the version (1), bit 2 a reply, bit 3 a reply wanted. */
#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

/* Feature bit 30 of the virtio features: the backend speaks protocol features. */
#define VU_F_PROTOCOL_FEATURES 30
/* Protocol features. */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_LOG_SHMFD 1
#define VU_PROTOCOL_F_RARP 2
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_NET_MTU 4
#define VU_PROTOCOL_F_CONFIG 9

#define VU_HDR_SIZE 12
#define VU_MAX_REGIONS 8  /* memory table entries (without CONFIGURE_MEM_SLOTS) */
#define VU_MAX_FDS 8	  /* descriptors in one message */
#define VU_MAX_PAYLOAD 272 /* the largest payload: a memory table (264), a config (12 + 256) */
#define VU_VRING_NOFD_MASK (1ull << 8) /* in a u64 vring index: no descriptor sent */
#define VU_VRING_IDX_MASK 0xffull

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: log used ring writes */
	uint64_t desc_user_addr; /* addresses in the frontend's own address space */
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[VU_MAX_REGIONS];
};

/* A message in host byte order; payload bytes as on the wire. */
struct vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_mem_table mem;
		uint8_t raw[VU_MAX_PAYLOAD];
	} payload;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};

/* The request's name ("SET_MEM_TABLE"), or "UNKNOWN". */
const char *vu_request_name(uint32_t request);

/* Builders: a request with its payload; flags VU_VERSION (| NEED_REPLY when asked). */
void vu_msg_init(struct vu_msg *m, enum vu_request req, bool need_reply);
void vu_msg_u64(struct vu_msg *m, enum vu_request req, uint64_t v, bool need_reply);
void vu_msg_state(struct vu_msg *m, enum vu_request req, uint32_t index, uint32_t num,
		  bool need_reply);
void vu_msg_addr(struct vu_msg *m, const struct vu_vring_addr *a, bool need_reply);
/*
 * SET_MEM_TABLE with `n` regions (1..VU_MAX_REGIONS) and one descriptor per
 * region (fds[i] maps regions[i]; the caller keeps them open). -EINVAL for
 * a bad count.
 */
int __must_check vu_msg_mem_table(struct vu_msg *m, const struct vu_mem_region *regions,
				  const int *fds, unsigned int n, bool need_reply);
/* SET_VRING_KICK/CALL/ERR: fd < 0 sends the index with the "no descriptor" bit. */
void vu_msg_vring_fd(struct vu_msg *m, enum vu_request req, uint32_t index, int fd);

/*
 * Sends m (header, payload, m->fds). 0, -EPIPE / -ECONNRESET when the peer
 * went away, -EAGAIN when the socket stays full for `timeout_ms`, or -errno.
 * Never raises SIGPIPE.
 */
int __must_check vu_msg_send(int sock, const struct vu_msg *m, int timeout_ms);

/*
 * Receives one message within `timeout_ms` (the whole message: a backend
 * that sends half of one and stops is a timeout). At most `max_fds`
 * descriptors are kept in m->fds (the caller closes them); extra ones are
 * closed and the message refused. Returns 0 or a negative errno, with one
 * line in err:
 *   -ECONNRESET  the peer closed the socket (also mid-message)
 *   -ETIMEDOUT   nothing (or not everything) within timeout_ms
 *   -EPROTO      bad version, missing reply flag (when `want_reply`), a
 *                payload over VU_MAX_PAYLOAD, or too many descriptors
 */
int __must_check vu_msg_recv(int sock, struct vu_msg *m, bool want_reply, unsigned int max_fds,
			     int timeout_ms, char *err, size_t err_len);

/*
 * Parses a message already in memory (the bytes after recvmsg), the part of
 * vu_msg_recv() that needs no socket: header, version, reply flag, size.
 * `len` is the number of bytes in buf. 0, -EPROTO with a reason, or
 * -EAGAIN when buf holds less than the message (m's header fields are set
 * once the header is there). (The fuzz target.)
 */
int __must_check vu_msg_parse(const uint8_t *buf, size_t len, struct vu_msg *m, bool want_reply,
			      char *err, size_t err_len);

/*
 * Checks that `reply` answers `request`: the same request code, and the
 * payload size that request's reply has (8 for a u64, 8 for a vring state,
 * `config_len` + 12 for GET_CONFIG is not used here). -EPROTO with a reason.
 */
int __must_check vu_reply_check(const struct vu_msg *reply, uint32_t request, char *err,
				size_t err_len);

/* Closes every descriptor a received message carries. */
void vu_msg_close_fds(struct vu_msg *m);

#endif /* NFV_VMM_VHOST_USER_MSG_H */
