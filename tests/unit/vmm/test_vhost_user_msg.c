// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the vhost-user message layer (vmm/vhost_user_msg.c): the
 * wire format built by hand here from the protocol specification (12-byte
 * header: request, flags, size; version 1 in flags bits 0-1, reply bit 2,
 * need-reply bit 3), descriptors over a socketpair, and the refusals of
 * hostile backend replies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/vhost_user_msg.h"

struct pair {
	int fe; /* the frontend's end */
	int be; /* the fake backend's end */
};

static struct pair sp(void)
{
	int s[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	return (struct pair){ s[0], s[1] };
}

static void sp_close(struct pair *p)
{
	if (p->fe >= 0)
		close(p->fe);
	if (p->be >= 0)
		close(p->be);
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Writes a raw header + payload from the backend's side, with optional descriptors. */
static void be_write(int sock, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		     size_t plen, const int *fds, unsigned int nfds)
{
	uint8_t buf[12 + 512];
	struct iovec iov = { .iov_base = buf, .iov_len = 12 + plen };
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr a;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	assert_true(plen <= 512);
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	if (plen)
		memcpy(buf + 12, payload, plen);
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)(12 + plen));
}

static int memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	return fd;
}

static void same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(sa.st_dev, sb.st_dev);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(vu_request_name(5), "SET_MEM_TABLE");
	assert_string_equal(vu_request_name(18), "SET_VRING_ENABLE");
	assert_string_equal(vu_request_name(0), "UNKNOWN");
	assert_string_equal(vu_request_name(21), "UNKNOWN");
	assert_string_equal(vu_request_name(0xffffffffu), "UNKNOWN");
}

/* The bytes on the wire for each builder. */
static void test_encoding(void **state)
{
	struct pair p = sp();
	struct vu_msg m, r;
	char err[128];
	uint8_t raw[64];

	(void)state;
	vu_msg_u64(&m, VU_SET_FEATURES, 0x140000000ull, true);
	assert_int_equal(vu_msg_send(p.fe, &m, 1000), 0);
	assert_int_equal(read(p.be, raw, sizeof(raw)), 20);
	assert_int_equal(raw[0], 2);		     /* SET_FEATURES */
	assert_int_equal(raw[4], 0x1 | 0x8);	     /* version 1, need reply */
	assert_int_equal(raw[8], 8);		     /* size */
	assert_int_equal(raw[12 + 3], 0x40);	     /* bit 30 */
	assert_int_equal(raw[12 + 4], 0x01);	     /* bit 32 */

	vu_msg_state(&m, VU_SET_VRING_NUM, 3, 256, false);
	assert_int_equal(vu_msg_send(p.fe, &m, 1000), 0);
	assert_int_equal(read(p.be, raw, sizeof(raw)), 20);
	assert_int_equal(raw[0], 8);
	assert_int_equal(raw[4], 1);
	assert_int_equal(raw[12], 3);
	assert_int_equal(raw[16] | raw[17] << 8, 256);

	{
		struct vu_vring_addr a = { .index = 1, .desc_user_addr = 0x1000,
					   .used_user_addr = 0x3000, .avail_user_addr = 0x2000 };
		uint64_t v;

		vu_msg_addr(&m, &a, false);
		assert_int_equal(vu_msg_send(p.fe, &m, 1000), 0);
		assert_int_equal(read(p.be, raw, sizeof(raw)), 12 + 40);
		assert_int_equal(raw[0], 9);
		assert_int_equal(raw[8], 40);
		memcpy(&v, raw + 12 + 8, 8);
		assert_int_equal(v, 0x1000); /* desc */
		memcpy(&v, raw + 12 + 16, 8);
		assert_int_equal(v, 0x3000); /* used before avail */
		memcpy(&v, raw + 12 + 24, 8);
		assert_int_equal(v, 0x2000);
	}

	/* KICK without a descriptor: bit 8 of the index. */
	vu_msg_vring_fd(&m, VU_SET_VRING_KICK, 2, -1);
	assert_int_equal(vu_msg_send(p.fe, &m, 1000), 0);
	assert_int_equal(vu_msg_recv(p.be, &r, false, 4, 1000, err, sizeof(err)), 0);
	assert_int_equal(r.request, VU_SET_VRING_KICK);
	assert_int_equal(r.payload.u64, 2 | 0x100);
	assert_int_equal(r.nfds, 0);
	sp_close(&p);
}

/* SET_MEM_TABLE with two regions: the table and the descriptors arrive together. */
static void test_mem_table_fds(void **state)
{
	struct pair p = sp();
	struct vu_mem_region reg[2] = {
		{ .guest_phys_addr = 0, .memory_size = 0xc0000000, .userspace_addr = 0x7f0000000000 },
		{ .guest_phys_addr = 0x100000000, .memory_size = 0x40000000,
		  .userspace_addr = 0x7f00c0000000, .mmap_offset = 0xc0000000 },
	};
	int fds[2] = { memfd("a"), memfd("b") };
	struct vu_msg m, r;
	char err[128];

	(void)state;
	assert_int_equal(vu_msg_mem_table(&m, reg, fds, 0, false), -EINVAL);
	assert_int_equal(vu_msg_mem_table(&m, reg, fds, 9, false), -EINVAL);
	assert_int_equal(vu_msg_mem_table(&m, reg, fds, 2, false), 0);
	assert_int_equal(m.size, 8 + 8 * 32);
	assert_int_equal(vu_msg_send(p.fe, &m, 1000), 0);
	assert_int_equal(vu_msg_recv(p.be, &r, false, 8, 1000, err, sizeof(err)), 0);
	assert_int_equal(r.request, VU_SET_MEM_TABLE);
	assert_int_equal(r.payload.mem.nregions, 2);
	assert_int_equal(r.payload.mem.regions[1].guest_phys_addr, 0x100000000);
	assert_int_equal(r.payload.mem.regions[1].mmap_offset, 0xc0000000);
	assert_int_equal(r.nfds, 2);
	same_file(r.fds[0], fds[0]);
	same_file(r.fds[1], fds[1]);
	vu_msg_close_fds(&r);
	assert_int_equal(r.nfds, 0);
	close(fds[0]);
	close(fds[1]);
	sp_close(&p);
}

static void test_reply_ok(void **state)
{
	struct pair p = sp();
	uint64_t feat = 0x1234567890ull;
	struct vu_msg r;
	char err[128];

	(void)state;
	be_write(p.be, VU_GET_FEATURES, 0x1 | 0x4, 8, &feat, 8, NULL, 0);
	assert_int_equal(vu_msg_recv(p.fe, &r, true, 0, 1000, err, sizeof(err)), 0);
	assert_int_equal(vu_reply_check(&r, VU_GET_FEATURES, err, sizeof(err)), 0);
	assert_int_equal(r.payload.u64, feat);
	sp_close(&p);
}

/* One hostile reply: the error code and a word of the reason. */
static void expect_refused(uint32_t req, uint32_t flags, uint32_t size, size_t plen, int want,
			   const char *why)
{
	struct pair p = sp();
	uint8_t payload[512] = { 0 };
	struct vu_msg r;
	char err[128] = "";

	be_write(p.be, req, flags, size, payload, plen, NULL, 0);
	assert_int_equal(vu_msg_recv(p.fe, &r, true, 0, 200, err, sizeof(err)), want);
	if (!strstr(err, why))
		fail_msg("reason '%s' lacks '%s'", err, why);
	sp_close(&p);
}

static void test_reply_hostile(void **state)
{
	(void)state;
	expect_refused(1, 0x2 | 0x4, 8, 8, -EPROTO, "version");
	expect_refused(1, 0x0, 8, 8, -EPROTO, "version");
	expect_refused(1, 0x1, 8, 8, -EPROTO, "expected");   /* no reply flag */
	expect_refused(1, 0x5, 4096, 8, -EPROTO, "payload"); /* over the limit */
	expect_refused(1, 0x5, 8, 4, -ETIMEDOUT, "within");  /* half a payload, then silence */
	expect_refused(1, 0x5, 8, 0, -ETIMEDOUT, "within");
}

static void test_reply_check(void **state)
{
	struct vu_msg r;
	char err[128];

	(void)state;
	vu_msg_u64(&r, VU_GET_PROTOCOL_FEATURES, 0, false);
	assert_int_equal(vu_reply_check(&r, VU_GET_PROTOCOL_FEATURES, err, sizeof(err)), 0);
	assert_int_equal(vu_reply_check(&r, VU_GET_FEATURES, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "GET_PROTOCOL_FEATURES"));
	r.size = 4;
	assert_int_equal(vu_reply_check(&r, VU_GET_PROTOCOL_FEATURES, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "4 bytes"));
}

static void test_peer_gone(void **state)
{
	struct pair p = sp();
	struct vu_msg m, r;
	char err[128];
	uint32_t half[2] = { 1, 5 };

	(void)state;
	/* Closed before anything. */
	close(p.be);
	p.be = -1;
	assert_int_equal(vu_msg_recv(p.fe, &r, true, 0, 1000, err, sizeof(err)), -ECONNRESET);
	assert_non_null(strstr(err, "closed"));
	/* Sending to a closed peer: an error, no SIGPIPE. */
	vu_msg_init(&m, VU_SET_OWNER, false);
	assert_int_equal(vu_msg_send(p.fe, &m, 1000), -EPIPE);
	sp_close(&p);

	/* Closed in the middle of a header. */
	p = sp();
	assert_int_equal(write(p.be, half, sizeof(half)), (ssize_t)sizeof(half));
	close(p.be);
	p.be = -1;
	assert_int_equal(vu_msg_recv(p.fe, &r, true, 0, 1000, err, sizeof(err)), -ECONNRESET);
	assert_non_null(strstr(err, "middle"));
	sp_close(&p);
}

/* Descriptors nobody asked for are closed, and the message refused. */
static void test_unexpected_fds(void **state)
{
	struct pair p = sp();
	uint64_t v = 1;
	int fds[3] = { memfd("x"), memfd("y"), memfd("z") };
	unsigned int before;
	struct vu_msg r;
	char err[128];

	(void)state;
	be_write(p.be, VU_GET_FEATURES, 0x5, 8, &v, 8, fds, 3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	before = open_fds();
	assert_int_equal(vu_msg_recv(p.fe, &r, true, 1, 1000, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "descriptors"));
	assert_int_equal(open_fds(), before); /* none leaked */
	sp_close(&p);
}

/* The parser on its own: partial buffers ask for more, never read beyond len. */
static void test_parse(void **state)
{
	uint8_t buf[12 + 8] = { 1, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 7 };
	struct vu_msg m;
	char err[128];

	(void)state;
	for (size_t len = 0; len < sizeof(buf); len++)
		assert_int_equal(vu_msg_parse(buf, len, &m, true, err, sizeof(err)), -EAGAIN);
	assert_int_equal(vu_msg_parse(buf, sizeof(buf), &m, true, err, sizeof(err)), 0);
	assert_int_equal(m.payload.u64, 7);
	/* A request (no reply bit) is fine when no reply is expected. */
	buf[4] = 1;
	assert_int_equal(vu_msg_parse(buf, sizeof(buf), &m, false, err, sizeof(err)), 0);
	assert_int_equal(vu_msg_parse(buf, sizeof(buf), &m, true, err, sizeof(err)), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	       cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_mem_table_fds),  cmocka_unit_test(test_reply_ok),
		cmocka_unit_test(test_reply_hostile),  cmocka_unit_test(test_reply_check),
		cmocka_unit_test(test_peer_gone),      cmocka_unit_test(test_unexpected_fds),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
