// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer harness for the vhost-user frontend's reply handling
 * (vmm/vhost_user.c over vmm/vhost_user_msg.c): the input is everything a
 * backend sends, byte for byte, after one control byte.
 *
 *   byte 0: bit 0 attaches a descriptor (an eventfd) to the first byte of
 *           the stream, bits 1-2 pick the protocol features the frontend
 *           wants (none, REPLY_ACK, MQ|REPLY_ACK, everything)
 *   rest:   the backend's bytes (at most 64 KiB), then end of stream
 *
 * The frontend runs the whole session against it: handshake, SET_FEATURES,
 * SET_MEM_TABLE, a ring start and stop. Whatever the bytes, every call
 * returns (the stream ends: no timeout is ever waited for), a failure
 * leaves a reason, and what was learned is consistent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/vhost_user.h"

#define CHECK(c)                                                                  \
	do {                                                                      \
		if (!(c)) {                                                       \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                  \
		}                                                                 \
	} while (0)

#define MAX_STREAM 65536
#define RAM_SIZE 65536

static uint8_t ram[RAM_SIZE];

static int fz_send_stream(int sock, const uint8_t *p, size_t n, bool with_fd)
{
	size_t off = 0;

	while (off < n) {
		struct iovec iov = { .iov_base = (void *)(p + off), .iov_len = n - off };
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr a;
		} ctl;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		int efd = -1;
		ssize_t w;

		if (off == 0 && with_fd) {
			struct cmsghdr *c;

			efd = eventfd(0, EFD_CLOEXEC);
			CHECK(efd >= 0);
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.b;
			mh.msg_controllen = sizeof(ctl.b);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &efd, sizeof(int));
		}
		w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (efd >= 0)
			close(efd);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t want[4] = {
		0,
		1ull << VU_PROTOCOL_F_REPLY_ACK,
		(1ull << VU_PROTOCOL_F_MQ) | (1ull << VU_PROTOCOL_F_REPLY_ACK),
		~0ull,
	};
	struct guest_mem gm = { 0 };
	struct vu_vring_cfg rc = { .num = 64, .desc_gpa = 0x1000, .avail_gpa = 0x2000,
				   .used_gpa = 0x3000, .kick_fd = -1, .call_fd = -1 };
	struct vu_conn c;
	uint16_t base;
	int s[2], memfd, ret;
	uint8_t ctl;

	if (size < 1 || size > MAX_STREAM + 1)
		return 0;
	log_set_level(LOG_LVL_ERR);
	ctl = data[0];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) == 0);
	/* Room for the whole stream in the socket, then its end. */
	{
		int sz = 4 * MAX_STREAM;

		setsockopt(s[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(s[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (fz_send_stream(s[1], data + 1, size - 1, ctl & 1) < 0)
		goto out;
	shutdown(s[1], SHUT_WR);
	memfd = eventfd(0, EFD_CLOEXEC); /* any descriptor stands for the RAM file */
	CHECK(memfd >= 0);
	CHECK(gm_add_region(&gm, 0, RAM_SIZE, ram, memfd, 0) == 0);

	vu_conn_init(&c, s[0], 1000);
	ret = vu_conn_handshake(&c, want[(ctl >> 1) & 3]);
	if (ret == 0) {
		CHECK((c.protocol_features & ~want[(ctl >> 1) & 3]) == 0);
		if (c.protocol_features & (1ull << VU_PROTOCOL_F_MQ))
			CHECK(c.queue_num >= 1);
		ret = vu_conn_set_features(&c, c.backend_features & 0x1ffffffffull);
	}
	if (ret == 0)
		ret = vu_conn_set_mem_table(&c, &gm);
	if (ret == 0)
		ret = vu_conn_vring_start(&c, &gm, 0, &rc);
	if (ret == 0)
		ret = vu_conn_vring_stop(&c, 0, &base);
	if (ret < 0) {
		CHECK(c.err[0] != '\0');
		CHECK(ret == -EPROTO || ret == -ECONNRESET || ret == -ETIMEDOUT ||
		      ret == -ENOTSUP || ret == -EPIPE || ret == -EAGAIN);
		/* The stream always ends: never a timeout. */
		CHECK(ret != -ETIMEDOUT);
	}
	close(memfd);
out:
	close(s[0]);
	close(s[1]);
	return 0;
}
