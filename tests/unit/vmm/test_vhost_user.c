// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the vhost-user frontend session (vmm/vhost_user.c) against
 * a scripted fake backend on the other end of a socketpair, in a thread:
 * the request sequences of the protocol specification, what each carries
 * (features, the memory table with its descriptors, ring addresses in the
 * frontend's mapping, kick/call descriptors), and hostile backends.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "vmm/vhost_user.h"

#include "../support/vu_fake_backend.h"

#define B(n) (1ull << (n))
struct fx {
	struct fb be;
	struct vu_conn c;
	int fe;
	struct guest_mem gm;
	int memfd;
	uint8_t *ram;
};

#define RAM (1u << 20)

static struct fx *fx_new(uint64_t features, uint64_t protocol, enum fb_misbehave bad)
{
	struct fx *f = calloc(1, sizeof(*f));
	int s[2];

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	f->fe = s[0];
	fb_start(&f->be, s[1], features, protocol, bad);
	vu_conn_init(&f->c, f->fe, 300);
	f->memfd = memfd_create("ram", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, 2 * RAM), 0);
	f->ram = mmap(NULL, 2 * RAM, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->ram != MAP_FAILED);
	/* Two regions of one file: 0..1M, and 4G..4G+1M at offset 1M. */
	assert_int_equal(gm_add_region(&f->gm, 0, RAM, f->ram, f->memfd, 0), 0);
	assert_int_equal(gm_add_region(&f->gm, 1ull << 32, RAM, f->ram + RAM, f->memfd, RAM), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	shutdown(f->fe, SHUT_RDWR);
	pthread_join(f->be.thr, NULL);
	close(f->fe);
	munmap(f->ram, 2 * RAM);
	close(f->memfd);
	free(f);
}

/* Stops the backend and returns its record. */
static struct fb *fx_done(struct fx *f)
{
	shutdown(f->fe, SHUT_WR);
	pthread_join(f->be.thr, NULL);
	f->be.thr = pthread_self();
	return &f->be;
}

static void fx_free_done(struct fx *f)
{
	close(f->fe);
	munmap(f->ram, 2 * RAM);
	close(f->memfd);
	free(f);
}

#define FEAT_FULL (B(32) | B(15) | B(22) | B(VU_F_PROTOCOL_FEATURES))
#define PROTO_FULL (B(VU_PROTOCOL_F_MQ) | B(VU_PROTOCOL_F_REPLY_ACK) | B(VU_PROTOCOL_F_CONFIG))

static void test_handshake_full(void **state)
{
	struct fx *f = fx_new(FEAT_FULL, PROTO_FULL, FB_FINE);
	struct fb *b;

	(void)state;
	assert_int_equal(vu_conn_handshake(&f->c, B(VU_PROTOCOL_F_MQ) | B(VU_PROTOCOL_F_REPLY_ACK) |
							  B(VU_PROTOCOL_F_NET_MTU)),
			 0);
	assert_int_equal(f->c.backend_features, FEAT_FULL);
	/* Ours & theirs: MTU is not the backend's, CONFIG not ours. */
	assert_int_equal(f->c.protocol_features, B(VU_PROTOCOL_F_MQ) | B(VU_PROTOCOL_F_REPLY_ACK));
	assert_int_equal(f->c.queue_num, 8);
	assert_int_equal(vu_conn_set_features(&f->c, B(32) | B(15)), 0);
	assert_int_equal(f->c.features, B(32) | B(15) | B(VU_F_PROTOCOL_FEATURES));
	b = fx_done(f);
	assert_int_equal(b->nrec, 6);
	assert_int_equal(b->rec[0].request, VU_GET_FEATURES);
	assert_int_equal(b->rec[1].request, VU_GET_PROTOCOL_FEATURES);
	assert_int_equal(b->rec[2].request, VU_SET_PROTOCOL_FEATURES);
	assert_int_equal(b->agreed_protocol, f->c.protocol_features);
	assert_int_equal(b->rec[2].flags & VU_FLAG_NEED_REPLY, 0); /* before REPLY_ACK applies */
	assert_int_equal(b->rec[3].request, VU_GET_QUEUE_NUM);
	assert_int_equal(b->rec[4].request, VU_SET_OWNER);
	assert_true(b->rec[4].flags & VU_FLAG_NEED_REPLY);
	assert_int_equal(b->rec[5].request, VU_SET_FEATURES);
	assert_int_equal(b->rec[5].u64, B(32) | B(15) | B(VU_F_PROTOCOL_FEATURES));
	for (unsigned int i = 0; i < b->nrec; i++)
		assert_int_equal(b->rec[i].flags & VU_VERSION_MASK, VU_VERSION);
	fx_free_done(f);
}

/* A backend without protocol features: no protocol requests, no acks asked. */
static void test_handshake_plain(void **state)
{
	struct fx *f = fx_new(B(32) | B(15), 0, FB_FINE);
	struct vu_vring_cfg rc = { .num = 256, .desc_gpa = 0x10000, .avail_gpa = 0x11000,
				   .used_gpa = 0x12000, .kick_fd = -1, .call_fd = -1 };
	uint16_t base = 0;
	struct fb *b;

	(void)state;
	assert_int_equal(vu_conn_handshake(&f->c, PROTO_FULL), 0);
	assert_int_equal(f->c.protocol_features, 0);
	assert_int_equal(f->c.queue_num, 0);
	/* The guest asks for a feature the backend lacks. */
	assert_int_equal(vu_conn_set_features(&f->c, B(32) | B(22)), -ENOTSUP);
	assert_non_null(strstr(f->c.err, "0x400000"));
	assert_int_equal(vu_conn_set_features(&f->c, B(32)), 0);
	assert_int_equal(vu_conn_vring_start(&f->c, &f->gm, 0, &rc), 0);
	assert_int_equal(vu_conn_vring_stop(&f->c, 0, &base), 0);
	assert_int_equal(base, 77);
	b = fx_done(f);
	/* GET_FEATURES, SET_OWNER, SET_FEATURES, NUM, BASE, ADDR, KICK, CALL, GET_VRING_BASE. */
	assert_int_equal(b->nrec, 9);
	assert_int_equal(b->rec[1].request, VU_SET_OWNER);
	for (unsigned int i = 0; i < b->nrec; i++) {
		assert_int_equal(b->rec[i].flags & VU_FLAG_NEED_REPLY, 0);
		assert_int_not_equal(b->rec[i].request, VU_SET_VRING_ENABLE);
	}
	/* No descriptors: the "no fd" bit. */
	assert_int_equal(b->rec[6].request, VU_SET_VRING_KICK);
	assert_int_equal(b->rec[6].u64, 0x100);
	assert_int_equal(b->rec[6].nfds, 0);
	fx_free_done(f);
}

static void test_mem_table_and_rings(void **state)
{
	struct fx *f = fx_new(FEAT_FULL, PROTO_FULL, FB_FINE);
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	struct vu_vring_cfg rc = { .num = 256, .base = 5, .desc_gpa = 0x10000,
				   .avail_gpa = (1ull << 32) + 0x1000, .used_gpa = 0x20000,
				   .kick_fd = kick, .call_fd = call };
	struct stat mst, kst;
	uint16_t base = 0;
	struct fb *b;

	(void)state;
	assert_int_equal(vu_conn_handshake(&f->c, PROTO_FULL), 0);
	assert_int_equal(vu_conn_set_features(&f->c, B(32)), 0);
	assert_int_equal(vu_conn_set_mem_table(&f->c, &f->gm), 0);
	assert_int_equal(vu_conn_vring_start(&f->c, &f->gm, 3, &rc), 0);
	/* A ring that leaves RAM is refused before anything is sent. */
	rc.used_gpa = RAM - 8;
	assert_int_equal(vu_conn_vring_start(&f->c, &f->gm, 4, &rc), -EFAULT);
	assert_non_null(strstr(f->c.err, "used"));
	rc.num = 100;
	assert_int_equal(vu_conn_vring_start(&f->c, &f->gm, 4, &rc), -EINVAL);
	assert_int_equal(vu_conn_vring_stop(&f->c, 3, &base), 0);
	assert_int_equal(base, 77);
	b = fx_done(f);
	fstat(f->memfd, &mst);
	fstat(kick, &kst);
	/* 5 handshake requests + SET_FEATURES, then the table at 6. */
	assert_int_equal(b->rec[6].request, VU_SET_MEM_TABLE);
	assert_int_equal(b->rec[6].mem.nregions, 2);
	assert_int_equal(b->rec[6].nfds, 2);
	assert_int_equal(b->rec[6].fd_st[0].st_ino, mst.st_ino);
	assert_int_equal(b->rec[6].fd_st[1].st_ino, mst.st_ino);
	assert_int_equal(b->rec[6].mem.regions[1].guest_phys_addr, 1ull << 32);
	assert_int_equal(b->rec[6].mem.regions[1].mmap_offset, RAM);
	assert_int_equal(b->rec[6].mem.regions[1].userspace_addr, (uint64_t)(uintptr_t)(f->ram + RAM));
	assert_int_equal(b->rec[7].request, VU_SET_VRING_NUM);
	assert_int_equal(b->rec[7].state.index, 3);
	assert_int_equal(b->rec[7].state.num, 256);
	assert_int_equal(b->rec[8].request, VU_SET_VRING_BASE);
	assert_int_equal(b->rec[8].state.num, 5);
	assert_int_equal(b->rec[9].request, VU_SET_VRING_ADDR);
	assert_int_equal(b->rec[9].addr.desc_user_addr, (uint64_t)(uintptr_t)(f->ram + 0x10000));
	assert_int_equal(b->rec[9].addr.avail_user_addr,
			 (uint64_t)(uintptr_t)(f->ram + RAM + 0x1000));
	assert_int_equal(b->rec[9].addr.used_user_addr, (uint64_t)(uintptr_t)(f->ram + 0x20000));
	assert_int_equal(b->rec[10].request, VU_SET_VRING_KICK);
	assert_int_equal(b->rec[10].u64, 3);
	assert_int_equal(b->rec[10].nfds, 1);
	assert_int_equal(b->rec[10].fd_st[0].st_ino, kst.st_ino);
	assert_int_equal(b->rec[11].request, VU_SET_VRING_CALL);
	assert_int_equal(b->rec[11].nfds, 1);
	assert_int_equal(b->rec[12].request, VU_SET_VRING_ENABLE);
	assert_int_equal(b->rec[12].state.num, 1);
	/* Nothing for the refused rings; then the stop. */
	assert_int_equal(b->rec[13].request, VU_SET_VRING_ENABLE);
	assert_int_equal(b->rec[13].state.num, 0);
	assert_int_equal(b->rec[14].request, VU_GET_VRING_BASE);
	assert_int_equal(b->nrec, 15);
	close(kick);
	close(call);
	fx_free_done(f);
}

/* SET_VRING_CALL alone (a ring's interrupt moved): the fd, or the "no fd" bit; acked. */
static void test_vring_call(void **state)
{
	struct fx *f = fx_new(FEAT_FULL, PROTO_FULL, FB_FINE);
	int call = memfd_create("call", MFD_CLOEXEC);
	struct stat cst;
	struct fb *b;

	(void)state;
	assert_true(call >= 0);
	assert_int_equal(vu_conn_handshake(&f->c, PROTO_FULL), 0);
	assert_int_equal(vu_conn_set_features(&f->c, B(32)), 0);
	assert_int_equal(vu_conn_vring_call(&f->c, 3, call), 0);
	assert_int_equal(vu_conn_vring_call(&f->c, 2, -1), 0);
	/* A ring index the protocol cannot carry: refused, nothing sent. */
	assert_int_equal(vu_conn_vring_call(&f->c, 256, call), -EINVAL);
	b = fx_done(f);
	fstat(call, &cst);
	assert_int_equal(b->nrec, 8);
	assert_int_equal(b->rec[6].request, VU_SET_VRING_CALL);
	assert_int_equal(b->rec[6].u64, 3);
	assert_true(b->rec[6].flags & VU_FLAG_NEED_REPLY);
	assert_int_equal(b->rec[6].nfds, 1);
	assert_int_equal(b->rec[6].fd_st[0].st_ino, cst.st_ino);
	assert_int_equal(b->rec[7].request, VU_SET_VRING_CALL);
	assert_int_equal(b->rec[7].u64, 2 | VU_VRING_NOFD_MASK);
	assert_int_equal(b->rec[7].nfds, 0);
	close(call);
	fx_free_done(f);
}

static void expect_fail(enum fb_misbehave bad, unsigned int after, int want, const char *why)
{
	struct fx *f = fx_new(FEAT_FULL, PROTO_FULL, bad);
	uint16_t base;
	int ret;

	f->be.after = after;
	ret = vu_conn_handshake(&f->c, PROTO_FULL);
	if (ret == 0)
		ret = vu_conn_set_features(&f->c, B(32));
	if (ret == 0)
		ret = vu_conn_set_mem_table(&f->c, &f->gm);
	if (ret == 0)
		ret = vu_conn_vring_stop(&f->c, 0, &base);
	assert_int_equal(ret, want);
	if (!strstr(f->c.err, why))
		fail_msg("reason '%s' lacks '%s'", f->c.err, why);
	fx_free(f);
}

static void test_hostile(void **state)
{
	(void)state;
	expect_fail(FB_WRONG_REQUEST, 0, -EPROTO, "while waiting for GET_FEATURES");
	expect_fail(FB_WRONG_SIZE, 0, -EPROTO, "4 bytes");
	expect_fail(FB_NACK_MEM, 0, -EPROTO, "SET_MEM_TABLE: the backend refused");
	expect_fail(FB_CLOSE_AFTER, 1, -ECONNRESET, "closed");
	expect_fail(FB_CLOSE_AFTER, 5, -ECONNRESET, "closed"); /* during SET_OWNER's ack */
	expect_fail(FB_SILENT, 0, -ETIMEDOUT, "within");
	expect_fail(FB_ZERO_QUEUES, 0, -EPROTO, "queue count");
	expect_fail(FB_WRONG_BASE, 0, -EPROTO, "GET_VRING_BASE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_full),
		cmocka_unit_test(test_handshake_plain),
		cmocka_unit_test(test_mem_table_and_rings),
		cmocka_unit_test(test_vring_call),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
