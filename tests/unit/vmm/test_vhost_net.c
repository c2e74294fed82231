// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for vmm/vhost_net.c with a recording fake of the system calls
 * (this host has no /dev/vhost-net): the ioctls of linux/vhost.h in order,
 * with what they carry, and the errors a user sees. One test runs the real
 * calls: on a host without vhost-net it checks the message that says so.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "vmm/vhost_net.h"

#include "../support/vhost_net_fake.h"

static uint8_t ram[2][65536];

static void setup_gm(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
	assert_int_equal(gm_add_region(gm, 0, sizeof(ram[0]), ram[0], -1, 0), 0);
	assert_int_equal(gm_add_region(gm, 1ull << 32, sizeof(ram[1]), ram[1], -1, 0), 0);
}

static int reset(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.features = 0x1f0000000ull;
	fk.vring_base = 123;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

static void test_open_missing(void **state)
{
	struct vhost_net vn;

	(void)state;
	fk.open_errno = ENOENT;
	assert_int_equal(vhost_net_open(&vn, &fk_sys), -ENOENT);
	assert_non_null(strstr(vn.err, "no /dev/vhost-net"));
	assert_non_null(strstr(vn.err, "modprobe vhost_net"));
	fk.open_errno = EACCES;
	assert_int_equal(vhost_net_open(&vn, &fk_sys), -EACCES);
	assert_non_null(strstr(vn.err, "access"));
	assert_int_equal(fk.n, 0);
}

/* The real system calls: on a host without vhost-net, the message a user sees. */
static void test_open_real(void **state)
{
	struct vhost_net vn;
	int ret;

	(void)state;
	if (access("/dev/vhost-net", F_OK) == 0) {
		ret = vhost_net_open(&vn, NULL);
		if (ret == 0)
			vhost_net_close(&vn);
		skip();
	}
	assert_int_equal(vhost_net_open(&vn, NULL), -ENOENT);
	assert_non_null(strstr(vn.err, "modprobe vhost_net"));
}

static void test_sequence(void **state)
{
	struct vhost_net vn;
	struct guest_mem gm;
	struct vhost_net_vring r = { .num = 256, .base = 7, .desc_gpa = 0x1000,
				     .avail_gpa = (1ull << 32) + 0x100, .used_gpa = 0x8000,
				     .kick_fd = 10, .call_fd = 11 };
	uint16_t base = 0;

	(void)state;
	setup_gm(&gm);
	assert_int_equal(vhost_net_open(&vn, &fk_sys), 0);
	assert_int_equal(vn.features, fk.features);
	assert_int_equal(fk.calls[0].req, VHOST_SET_OWNER);
	assert_int_equal(fk.calls[1].req, VHOST_GET_FEATURES);
	assert_int_equal(vhost_net_set_features(&vn, 1ull << 32 | 1ull << 35), -ENOTSUP);
	assert_non_null(strstr(vn.err, "0x800000000"));
	assert_int_equal(vhost_net_set_features(&vn, 1ull << 32), 0);
	assert_int_equal(fk.calls[2].u64, 1ull << 32);
	assert_int_equal(vhost_net_set_mem_table(&vn, &gm), 0);
	assert_int_equal(fk.calls[3].req, VHOST_SET_MEM_TABLE);
	assert_int_equal(fk.calls[3].nregions, 2);
	assert_int_equal(fk.calls[3].regions[1].guest_phys_addr, 1ull << 32);
	assert_int_equal(fk.calls[3].regions[1].memory_size, sizeof(ram[1]));
	assert_int_equal(fk.calls[3].regions[1].userspace_addr, (uint64_t)(uintptr_t)ram[1]);
	assert_int_equal(vhost_net_vring_start(&vn, &gm, 1, &r), 0);
	assert_int_equal(fk.calls[4].req, VHOST_SET_VRING_NUM);
	assert_int_equal(fk.calls[4].st.index, 1);
	assert_int_equal(fk.calls[4].st.num, 256);
	assert_int_equal(fk.calls[5].req, VHOST_SET_VRING_BASE);
	assert_int_equal(fk.calls[5].st.num, 7);
	assert_int_equal(fk.calls[6].req, VHOST_SET_VRING_ADDR);
	assert_int_equal(fk.calls[6].addr.desc_user_addr, (uint64_t)(uintptr_t)(ram[0] + 0x1000));
	assert_int_equal(fk.calls[6].addr.avail_user_addr, (uint64_t)(uintptr_t)(ram[1] + 0x100));
	assert_int_equal(fk.calls[6].addr.used_user_addr, (uint64_t)(uintptr_t)(ram[0] + 0x8000));
	assert_int_equal(fk.calls[7].req, VHOST_SET_VRING_KICK);
	assert_int_equal(fk.calls[7].file.fd, 10);
	assert_int_equal(fk.calls[8].req, VHOST_SET_VRING_CALL);
	assert_int_equal(fk.calls[8].file.fd, 11);
	assert_int_equal(vhost_net_set_backend(&vn, 1, 33), 0);
	assert_int_equal(fk.calls[9].req, VHOST_NET_SET_BACKEND);
	assert_int_equal(fk.calls[9].file.fd, 33);
	assert_int_equal(fk.calls[9].file.index, 1);
	assert_int_equal(vhost_net_set_backend(&vn, 1, -1), 0);
	assert_int_equal(fk.calls[10].file.fd, -1);
	assert_int_equal(vhost_net_vring_base(&vn, 1, &base), 0);
	assert_int_equal(base, 123);
	/* A ring's interrupt moved: VHOST_SET_VRING_CALL alone. */
	assert_int_equal(vhost_net_vring_call(&vn, 0, 12), 0);
	assert_int_equal(fk.calls[12].req, VHOST_SET_VRING_CALL);
	assert_int_equal(fk.calls[12].file.index, 0);
	assert_int_equal(fk.calls[12].file.fd, 12);
	vhost_net_close(&vn);
	assert_int_equal(fk.closed, 1);
}

static void test_bad_rings(void **state)
{
	struct vhost_net vn;
	struct guest_mem gm;
	struct vhost_net_vring r = { .num = 256, .desc_gpa = 0x1000, .avail_gpa = 0x2000,
				     .used_gpa = sizeof(ram[0]) - 16, .kick_fd = 10, .call_fd = 11 };
	unsigned int before;

	(void)state;
	setup_gm(&gm);
	assert_int_equal(vhost_net_open(&vn, &fk_sys), 0);
	before = fk.n;
	assert_int_equal(vhost_net_vring_start(&vn, &gm, 0, &r), -EFAULT);
	assert_non_null(strstr(vn.err, "used"));
	r.used_gpa = 0x3000;
	r.num = 100;
	assert_int_equal(vhost_net_vring_start(&vn, &gm, 0, &r), -EINVAL);
	assert_int_equal(fk.n, before); /* nothing reached the kernel */
	/* The kernel refusing one step: the ioctl is named. */
	r.num = 64;
	fk.fail_req = VHOST_SET_VRING_ADDR;
	fk.fail_errno = EINVAL;
	assert_int_equal(vhost_net_vring_start(&vn, &gm, 0, &r), -EINVAL);
	assert_non_null(strstr(vn.err, "VHOST_SET_VRING_ADDR"));
	vhost_net_close(&vn);
	/* A failing SET_OWNER closes the device again. */
	fk.fail_req = VHOST_SET_OWNER;
	fk.fail_errno = EBUSY;
	assert_int_equal(vhost_net_open(&vn, &fk_sys), -EBUSY);
	assert_int_equal(fk.closed, 2);
	assert_int_equal(vn.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_open_missing, reset),
		cmocka_unit_test_setup(test_open_real, reset),
		cmocka_unit_test_setup(test_sequence, reset),
		cmocka_unit_test_setup(test_bad_rings, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
