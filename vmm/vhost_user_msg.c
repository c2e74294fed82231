/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user messages: encoding, sending, receiving and checking (see vhost_user_msg.h). */
#define LOG_COMPONENT "vhost-user"
#include "vmm/vhost_user_msg.h"
#include "common/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const vu_names[] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SEND_RARP] = "SEND_RARP",
	[VU_NET_SET_MTU] = "NET_SET_MTU",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
};

const char *vu_request_name(uint32_t request)
{
	if (request < sizeof(vu_names) / sizeof(vu_names[0]) && vu_names[request])
		return vu_names[request];
	return "UNKNOWN";
}

/* ---- builders ---- */

void vu_msg_init(struct vu_msg *m, enum vu_request req, bool need_reply)
{
	memset(m, 0, sizeof(*m));
	m->request = req;
	m->flags = VU_VERSION | (need_reply ? VU_FLAG_NEED_REPLY : 0);
	for (unsigned int i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
}

void vu_msg_u64(struct vu_msg *m, enum vu_request req, uint64_t v, bool need_reply)
{
	vu_msg_init(m, req, need_reply);
	m->payload.u64 = v;
	m->size = sizeof(uint64_t);
}

void vu_msg_state(struct vu_msg *m, enum vu_request req, uint32_t index, uint32_t num,
		  bool need_reply)
{
	vu_msg_init(m, req, need_reply);
	m->payload.state = (struct vu_vring_state){ .index = index, .num = num };
	m->size = sizeof(struct vu_vring_state);
}

void vu_msg_addr(struct vu_msg *m, const struct vu_vring_addr *a, bool need_reply)
{
	vu_msg_init(m, VU_SET_VRING_ADDR, need_reply);
	m->payload.addr = *a;
	m->size = sizeof(struct vu_vring_addr);
}

int vu_msg_mem_table(struct vu_msg *m, const struct vu_mem_region *regions, const int *fds,
		     unsigned int n, bool need_reply)
{
	if (n < 1 || n > VU_MAX_REGIONS)
		return -EINVAL;
	vu_msg_init(m, VU_SET_MEM_TABLE, need_reply);
	m->payload.mem.nregions = n;
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] < 0)
			return -EINVAL;
		m->payload.mem.regions[i] = regions[i];
		m->fds[i] = fds[i];
	}
	m->nfds = n;
	/* nregions, padding and the whole table, as the specification lays it out. */
	m->size = sizeof(struct vu_mem_table);
	return 0;
}

void vu_msg_vring_fd(struct vu_msg *m, enum vu_request req, uint32_t index, int fd)
{
	vu_msg_u64(m, req, index & VU_VRING_IDX_MASK, false);
	if (fd < 0) {
		m->payload.u64 |= VU_VRING_NOFD_MASK;
	} else {
		m->fds[0] = fd;
		m->nfds = 1;
	}
}

/* ---- time ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` until `deadline`; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- send ---- */

int vu_msg_send(int sock, const struct vu_msg *m, int timeout_ms)
{
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	int64_t deadline = now_ms() + timeout_ms;
	size_t len = VU_HDR_SIZE + m->size, off = 0;

	if (m->size > VU_MAX_PAYLOAD || m->nfds > VU_MAX_FDS)
		return -EINVAL;
	memcpy(buf, &m->request, 4);
	memcpy(buf + 4, &m->flags, 4);
	memcpy(buf + 8, &m->size, 4);
	memcpy(buf + VU_HDR_SIZE, m->payload.raw, m->size);
	while (off < len) {
		struct iovec iov = { .iov_base = buf + off, .iov_len = len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t w;

		/* The descriptors travel with the first byte. */
		if (off == 0 && m->nfds) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
			memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
		}
		w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(sock, POLLOUT, deadline);

			if (r == -ETIMEDOUT)
				return -EAGAIN;
			if (r < 0)
				return r;
			continue;
		}
		return w < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* ---- receive ---- */

int vu_msg_parse(const uint8_t *buf, size_t len, struct vu_msg *m, bool want_reply, char *err,
		 size_t err_len)
{
	uint32_t req, flags, size;

	if (len < VU_HDR_SIZE)
		return -EAGAIN;
	memcpy(&req, buf, 4);
	memcpy(&flags, buf + 4, 4);
	memcpy(&size, buf + 8, 4);
	if ((flags & VU_VERSION_MASK) != VU_VERSION) {
		snprintf(err, err_len, "%s: version %u (this frontend speaks version %u)",
			 vu_request_name(req), flags & VU_VERSION_MASK, VU_VERSION);
		return -EPROTO;
	}
	if (want_reply && !(flags & VU_FLAG_REPLY)) {
		snprintf(err, err_len, "%s: a request where a reply was expected",
			 vu_request_name(req));
		return -EPROTO;
	}
	if (size > VU_MAX_PAYLOAD) {
		snprintf(err, err_len, "%s: payload of %u bytes (at most %u)", vu_request_name(req),
			 size, VU_MAX_PAYLOAD);
		return -EPROTO;
	}
	m->request = req;
	m->flags = flags;
	m->size = size;
	if (len < VU_HDR_SIZE + (size_t)size)
		return -EAGAIN;
	memset(m->payload.raw, 0, sizeof(m->payload.raw));
	memcpy(m->payload.raw, buf + VU_HDR_SIZE, size);
	return 0;
}

void vu_msg_close_fds(struct vu_msg *m)
{
	for (unsigned int i = 0; i < m->nfds && i < VU_MAX_FDS; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

/* Takes the descriptors of one control message block; false when there were too many. */
static bool take_fds(struct msghdr *mh, struct vu_msg *m, unsigned int max_fds)
{
	bool ok = true;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int fds[VU_MAX_FDS + 8];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > sizeof(fds) / sizeof(fds[0]))
			n = sizeof(fds) / sizeof(fds[0]);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (m->nfds < max_fds && m->nfds < VU_MAX_FDS) {
				m->fds[m->nfds++] = fds[i];
			} else {
				close(fds[i]);
				ok = false;
			}
		}
	}
	return ok;
}

int vu_msg_recv(int sock, struct vu_msg *m, bool want_reply, unsigned int max_fds, int timeout_ms,
		char *err, size_t err_len)
{
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VU_MAX_FDS + 8))];
		struct cmsghdr align;
	} ctl;
	int64_t deadline = now_ms() + timeout_ms;
	size_t have = 0, want = VU_HDR_SIZE;
	bool fds_ok = true, truncated = false;
	int ret;

	vu_msg_init(m, 0, false);
	m->flags = 0;
	while (have < want) {
		struct iovec iov = { .iov_base = buf + have, .iov_len = want - have };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = wait_fd(sock, POLLIN, deadline);
			if (ret == -ETIMEDOUT) {
				snprintf(err, err_len, "no %s within %d ms (%zu of %zu bytes)",
					 have ? "complete message" : "message", timeout_ms, have,
					 want);
				goto fail;
			}
			if (ret < 0) {
				snprintf(err, err_len, "waiting for a message: %s", strerror(-ret));
				goto fail;
			}
			continue;
		}
		if (r < 0) {
			ret = errno == ECONNRESET ? -ECONNRESET : -errno;
			snprintf(err, err_len, "receiving: %s", strerror(errno));
			goto fail;
		}
		if (mh.msg_controllen)
			fds_ok &= take_fds(&mh, m, max_fds);
		truncated |= (mh.msg_flags & MSG_CTRUNC) != 0;
		if (r == 0) {
			ret = -ECONNRESET;
			snprintf(err, err_len, "the backend closed the connection%s",
				 have ? " in the middle of a message" : "");
			goto fail;
		}
		have += (size_t)r;
		if (have == VU_HDR_SIZE) {
			ret = vu_msg_parse(buf, have, m, want_reply, err, err_len);
			if (ret == -EPROTO)
				goto fail;
			want = VU_HDR_SIZE + m->size;
		}
	}
	ret = vu_msg_parse(buf, have, m, want_reply, err, err_len);
	if (ret < 0)
		goto fail;
	if (!fds_ok || truncated) {
		snprintf(err, err_len, "%s: more file descriptors than the %u expected",
			 vu_request_name(m->request), max_fds);
		ret = -EPROTO;
		goto fail;
	}
	return 0;

fail:
	vu_msg_close_fds(m);
	return ret < 0 ? ret : -EPROTO;
}

int vu_reply_check(const struct vu_msg *reply, uint32_t request, char *err, size_t err_len)
{
	if (reply->request != request) {
		snprintf(err, err_len, "a reply to %s (%u) while waiting for %s",
			 vu_request_name(reply->request), reply->request,
			 vu_request_name(request));
		return -EPROTO;
	}
	/* Every reply this frontend asks for carries a u64 or a vring state: 8 bytes. */
	if (reply->size != sizeof(uint64_t)) {
		snprintf(err, err_len, "%s reply of %u bytes (expected %zu)",
			 vu_request_name(request), reply->size, sizeof(uint64_t));
		return -EPROTO;
	}
	return 0;
}
