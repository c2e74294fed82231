/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user frontend's control session (see vhost_user.h). */
#define LOG_COMPONENT "vhost-user"
#include "vmm/vhost_user.h"
#include "common/log.h"
#include "nicmodels/virtqueue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BIT64(n) (1ull << (n))
#define VIRTIO_NET_F_MTU_BIT 3 /* VIRTIO 1.2, 5.1.3 */

void vu_conn_init(struct vu_conn *c, int sock, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->sock = sock;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : VU_DEFAULT_TIMEOUT_MS;
}

bool vu_conn_has_protocol(const struct vu_conn *c, unsigned int bit)
{
	return bit < 64 && (c->protocol_features & BIT64(bit));
}

static int send_msg(struct vu_conn *c, const struct vu_msg *m)
{
	int ret = vu_msg_send(c->sock, m, c->timeout_ms);

	if (ret < 0)
		snprintf(c->err, sizeof(c->err), "sending %s: %s", vu_request_name(m->request),
			 ret == -EAGAIN ? "the backend does not read" : strerror(-ret));
	return ret;
}

/* Waits for the u64 (or vring state) reply to `request`. */
static int recv_reply(struct vu_conn *c, uint32_t request, struct vu_msg *r)
{
	char why[200];
	int ret = vu_msg_recv(c->sock, r, true, 0, c->timeout_ms, why, sizeof(why));

	if (ret == 0)
		ret = vu_reply_check(r, request, why, sizeof(why));
	if (ret < 0)
		snprintf(c->err, sizeof(c->err), "%s: %s", vu_request_name(request), why);
	return ret;
}

/* A request that returns a u64. */
static int get_u64(struct vu_conn *c, enum vu_request req, uint64_t *v)
{
	struct vu_msg m, r;
	int ret;

	vu_msg_init(&m, req, false);
	ret = send_msg(c, &m);
	if (ret == 0)
		ret = recv_reply(c, req, &r);
	if (ret == 0)
		*v = r.payload.u64;
	return ret;
}

/*
 * Sends a request that changes state; with REPLY_ACK, asks for the ack and
 * fails on a non-zero one.
 */
static int request(struct vu_conn *c, struct vu_msg *m)
{
	bool ack = vu_conn_has_protocol(c, VU_PROTOCOL_F_REPLY_ACK);
	struct vu_msg r;
	int ret;

	if (ack)
		m->flags |= VU_FLAG_NEED_REPLY;
	ret = send_msg(c, m);
	if (ret < 0 || !ack)
		return ret;
	ret = recv_reply(c, m->request, &r);
	if (ret < 0)
		return ret;
	if (r.payload.u64 != 0) {
		snprintf(c->err, sizeof(c->err), "%s: the backend refused it (ack %llu)",
			 vu_request_name(m->request), (unsigned long long)r.payload.u64);
		return -EPROTO;
	}
	return 0;
}

int vu_conn_handshake(struct vu_conn *c, uint64_t want_protocol)
{
	struct vu_msg m;
	uint64_t pf = 0;
	int ret;

	ret = get_u64(c, VU_GET_FEATURES, &c->backend_features);
	if (ret < 0)
		return ret;
	c->protocol_features = 0;
	c->queue_num = 0;
	if (c->backend_features & BIT64(VU_F_PROTOCOL_FEATURES)) {
		ret = get_u64(c, VU_GET_PROTOCOL_FEATURES, &pf);
		if (ret < 0)
			return ret;
		pf &= want_protocol;
		vu_msg_u64(&m, VU_SET_PROTOCOL_FEATURES, pf, false);
		/* No ack yet: REPLY_ACK applies once it is agreed. */
		ret = send_msg(c, &m);
		if (ret < 0)
			return ret;
		c->protocol_features = pf;
		if (pf & BIT64(VU_PROTOCOL_F_MQ)) {
			uint64_t n = 0;

			ret = get_u64(c, VU_GET_QUEUE_NUM, &n);
			if (ret < 0)
				return ret;
			if (n == 0 || n > 0xffff) {
				snprintf(c->err, sizeof(c->err),
					 "GET_QUEUE_NUM: %llu queues is not a queue count",
					 (unsigned long long)n);
				return -EPROTO;
			}
			c->queue_num = (uint16_t)n;
		}
	}
	vu_msg_init(&m, VU_SET_OWNER, false);
	return request(c, &m);
}

int vu_conn_set_features(struct vu_conn *c, uint64_t features)
{
	struct vu_msg m;
	uint64_t lack;
	int ret;

	if (c->backend_features & BIT64(VU_F_PROTOCOL_FEATURES))
		features |= BIT64(VU_F_PROTOCOL_FEATURES);
	lack = features & ~c->backend_features;
	if (lack) {
		snprintf(c->err, sizeof(c->err), "the backend lacks features 0x%llx asked for",
			 (unsigned long long)lack);
		return -ENOTSUP;
	}
	vu_msg_u64(&m, VU_SET_FEATURES, features, false);
	ret = request(c, &m);
	if (ret == 0)
		c->features = features;
	return ret;
}

int vu_conn_set_mem_table(struct vu_conn *c, const struct guest_mem *gm)
{
	struct vu_mem_region regs[VU_MAX_REGIONS];
	int fds[VU_MAX_REGIONS];
	struct vu_msg m;
	unsigned int n = gm->nr_regions;

	if (n == 0 || n > VU_MAX_REGIONS) {
		snprintf(c->err, sizeof(c->err), "%u memory regions (1 to %d can be shared)", n,
			 VU_MAX_REGIONS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (r->fd < 0) {
			snprintf(c->err, sizeof(c->err),
				 "guest RAM at 0x%llx has no file descriptor to share",
				 (unsigned long long)r->gpa);
			return -EINVAL;
		}
		regs[i] = (struct vu_mem_region){
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
			.mmap_offset = r->fd_offset,
		};
		fds[i] = r->fd;
	}
	if (vu_msg_mem_table(&m, regs, fds, n, false) < 0) {
		snprintf(c->err, sizeof(c->err), "cannot build SET_MEM_TABLE");
		return -EINVAL;
	}
	return request(c, &m);
}

int vu_conn_vring_start(struct vu_conn *c, const struct guest_mem *gm, uint32_t index,
			const struct vu_vring_cfg *cfg)
{
	struct vu_vring_addr a = { .index = index };
	struct vu_msg m;
	int ret;

	if (cfg->num == 0 || (cfg->num & (cfg->num - 1)) || index > VU_VRING_IDX_MASK) {
		snprintf(c->err, sizeof(c->err), "ring %u: bad size %u", index, cfg->num);
		return -EINVAL;
	}
	if ((ret = gm_ring_hva(gm, "descriptor", cfg->desc_gpa, VIRTQ_DESC_BYTES(cfg->num),
			    &a.desc_user_addr, c->err, sizeof(c->err))) < 0 ||
	    (ret = gm_ring_hva(gm, "available", cfg->avail_gpa, VIRTQ_AVAIL_BYTES(cfg->num),
			    &a.avail_user_addr, c->err, sizeof(c->err))) < 0 ||
	    (ret = gm_ring_hva(gm, "used", cfg->used_gpa, VIRTQ_USED_BYTES(cfg->num),
			    &a.used_user_addr, c->err, sizeof(c->err))) < 0)
		return ret;
	vu_msg_state(&m, VU_SET_VRING_NUM, index, cfg->num, false);
	if ((ret = request(c, &m)) < 0)
		return ret;
	vu_msg_state(&m, VU_SET_VRING_BASE, index, cfg->base, false);
	if ((ret = request(c, &m)) < 0)
		return ret;
	vu_msg_addr(&m, &a, false);
	if ((ret = request(c, &m)) < 0)
		return ret;
	vu_msg_vring_fd(&m, VU_SET_VRING_KICK, index, cfg->kick_fd);
	if ((ret = request(c, &m)) < 0)
		return ret;
	vu_msg_vring_fd(&m, VU_SET_VRING_CALL, index, cfg->call_fd);
	if ((ret = request(c, &m)) < 0)
		return ret;
	/* With protocol features rings start disabled; without, the kick enables them. */
	if (c->features & BIT64(VU_F_PROTOCOL_FEATURES)) {
		vu_msg_state(&m, VU_SET_VRING_ENABLE, index, 1, false);
		ret = request(c, &m);
	}
	return ret;
}

int vu_conn_set_mtu(struct vu_conn *c, unsigned int mtu)
{
	struct vu_msg m;

	if (!vu_conn_has_protocol(c, VU_PROTOCOL_F_NET_MTU) ||
	    !(c->features & BIT64(VIRTIO_NET_F_MTU_BIT))) {
		snprintf(c->err, sizeof(c->err), "NET_SET_MTU: not agreed with the backend");
		return -ENOTSUP;
	}
	vu_msg_u64(&m, VU_NET_SET_MTU, mtu, false);
	return request(c, &m);
}

int vu_conn_vring_enable(struct vu_conn *c, uint32_t index, bool enable)
{
	struct vu_msg m;

	if (!(c->features & BIT64(VU_F_PROTOCOL_FEATURES)))
		return 0;
	vu_msg_state(&m, VU_SET_VRING_ENABLE, index, enable, false);
	return request(c, &m);
}

int vu_conn_vring_call(struct vu_conn *c, uint32_t index, int call_fd)
{
	struct vu_msg m;

	if (index > VU_VRING_IDX_MASK) {
		snprintf(c->err, sizeof(c->err), "SET_VRING_CALL: bad ring %u", index);
		return -EINVAL;
	}
	vu_msg_vring_fd(&m, VU_SET_VRING_CALL, index, call_fd);
	return request(c, &m);
}

int vu_conn_vring_stop(struct vu_conn *c, uint32_t index, uint16_t *base)
{
	struct vu_msg m, r;
	int ret;

	if (c->features & BIT64(VU_F_PROTOCOL_FEATURES)) {
		vu_msg_state(&m, VU_SET_VRING_ENABLE, index, 0, false);
		if ((ret = request(c, &m)) < 0)
			return ret;
	}
	/* GET_VRING_BASE stops the ring and always has a reply. */
	vu_msg_state(&m, VU_GET_VRING_BASE, index, 0, false);
	if ((ret = send_msg(c, &m)) < 0 || (ret = recv_reply(c, VU_GET_VRING_BASE, &r)) < 0)
		return ret;
	if (r.payload.state.index != index || r.payload.state.num > 0xffff) {
		snprintf(c->err, sizeof(c->err), "GET_VRING_BASE: ring %u, base %u for ring %u",
			 r.payload.state.index, r.payload.state.num, index);
		return -EPROTO;
	}
	*base = (uint16_t)r.payload.state.num;
	return 0;
}
