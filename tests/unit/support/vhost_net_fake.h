/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A recording fake of the system calls vmm/vhost_net.c makes (struct
 * vhost_net_sys), for hosts without /dev/vhost-net: each open gives a new
 * descriptor (FK_FD0, FK_FD0 + 1, ...), every ioctl on a descriptor that is
 * not open fails the test, and every ioctl is recorded with what it carries.
 * Include after <cmocka.h>; reset with memset(&fk, 0, sizeof(fk)).
 */
#ifndef NFV_TESTS_UNIT_SUPPORT_VHOST_NET_FAKE_H
#define NFV_TESTS_UNIT_SUPPORT_VHOST_NET_FAKE_H

#include <errno.h>
#include <linux/vhost.h>
#include <stdint.h>
#include <string.h>

#include "vmm/vhost_net.h"

#define FK_FD0 100
#define FK_MAXFDS 32
#define FK_MAXCALLS 128
#define FK_MAXREGIONS 4

struct call {
	int fd;
	unsigned long req;
	struct vhost_vring_state st;
	struct vhost_vring_addr addr;
	struct vhost_vring_file file;
	uint64_t u64;
	uint32_t nregions;
	struct vhost_memory_region regions[FK_MAXREGIONS];
};

static struct {
	int open_errno; /* opens after the first open_ok fail with it (0: none fails) */
	int open_ok;
	int opened;
	int closed;
	bool open_now[FK_MAXFDS];
	unsigned long fail_req; /* this ioctl fails with fail_errno */
	int fail_errno;
	uint64_t features;    /* what VHOST_GET_FEATURES says */
	unsigned int vring_base; /* what VHOST_GET_VRING_BASE says */
	struct call calls[FK_MAXCALLS];
	unsigned int n;
} fk;

static inline void fk_check_fd(int fd)
{
	assert_true(fd >= FK_FD0 && fd < FK_FD0 + fk.opened && fd - FK_FD0 < FK_MAXFDS);
	assert_true(fk.open_now[fd - FK_FD0]);
}

static inline int fk_open(const char *path, int flags)
{
	(void)flags;
	assert_string_equal(path, "/dev/vhost-net");
	if (fk.open_errno && fk.opened >= fk.open_ok) {
		errno = fk.open_errno;
		return -1;
	}
	assert_true(fk.opened < FK_MAXFDS);
	fk.open_now[fk.opened] = true;
	return FK_FD0 + fk.opened++;
}

static inline int fk_ioctl(int fd, unsigned long req, void *arg)
{
	struct call *c;

	fk_check_fd(fd);
	assert_true(fk.n < FK_MAXCALLS);
	c = &fk.calls[fk.n++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->req = req;
	if (req == fk.fail_req) {
		errno = fk.fail_errno;
		return -1;
	}
	switch (req) {
	case VHOST_GET_FEATURES: *(uint64_t *)arg = fk.features; break;
	case VHOST_SET_FEATURES: c->u64 = *(uint64_t *)arg; break;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE: c->st = *(struct vhost_vring_state *)arg; break;
	case VHOST_GET_VRING_BASE:
		c->st = *(struct vhost_vring_state *)arg;
		((struct vhost_vring_state *)arg)->num = fk.vring_base;
		break;
	case VHOST_SET_VRING_ADDR: c->addr = *(struct vhost_vring_addr *)arg; break;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_NET_SET_BACKEND: c->file = *(struct vhost_vring_file *)arg; break;
	case VHOST_SET_MEM_TABLE: {
		struct vhost_memory *m = arg;

		c->nregions = m->nregions;
		for (uint32_t i = 0; i < m->nregions && i < FK_MAXREGIONS; i++)
			c->regions[i] = m->regions[i];
		break;
	}
	}
	return 0;
}

static inline int fk_close(int fd)
{
	fk_check_fd(fd);
	fk.open_now[fd - FK_FD0] = false;
	fk.closed++;
	return 0;
}

static const struct vhost_net_sys fk_sys = { .open = fk_open, .ioctl = fk_ioctl, .close = fk_close };

#endif /* NFV_TESTS_UNIT_SUPPORT_VHOST_NET_FAKE_H */
