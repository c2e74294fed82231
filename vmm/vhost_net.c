/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-net: the kernel datapath for one virtio-net queue pair (see vhost_net.h). */
#define LOG_COMPONENT "vhost-net"
#include "vmm/vhost_net.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * Ring sizes of a split queue of n entries (VIRTIO 1.2, 2.7); spelled out
 * here because linux/vhost.h brings linux/virtio_ring.h, whose helpers clash
 * with nicmodels/virtqueue.h's.
 */
#define RING_DESC_BYTES(n) (16ull * (n))
#define RING_AVAIL_BYTES(n) (6ull + 2ull * (n))
#define RING_USED_BYTES(n) (6ull + 8ull * (n))

static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static const struct vhost_net_sys real_sys = {
	.open = sys_open,
	.ioctl = sys_ioctl,
	.close = close,
};

static int do_ioctl(struct vhost_net *vn, unsigned long req, void *arg, const char *what)
{
	int ret;

	if (vn->fd < 0) {
		snprintf(vn->err, sizeof(vn->err), "%s: %s is not open", what, VHOST_NET_DEV);
		return -EBADF;
	}
	ret = vn->sys->ioctl(vn->fd, req, arg);
	if (ret < 0) {
		ret = -errno;
		snprintf(vn->err, sizeof(vn->err), "%s: %s", what, strerror(-ret));
	}
	return ret < 0 ? ret : 0;
}

int vhost_net_open(struct vhost_net *vn, const struct vhost_net_sys *sys)
{
	const struct vhost_net_sys *s = sys ? sys : &real_sys;
	int ret;

	memset(vn, 0, sizeof(*vn));
	vn->sys = s;
	vn->fd = s->open(VHOST_NET_DEV, O_RDWR | O_CLOEXEC);
	if (vn->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
			snprintf(vn->err, sizeof(vn->err),
				 "this host has no %s (%s): load the vhost_net module "
				 "(modprobe vhost_net) or use vhost-net=off",
				 VHOST_NET_DEV, strerror(-ret));
		else if (ret == -EACCES || ret == -EPERM)
			snprintf(vn->err, sizeof(vn->err),
				 "%s: %s (nfv-vmm needs read and write access to it)",
				 VHOST_NET_DEV, strerror(-ret));
		else
			snprintf(vn->err, sizeof(vn->err), "%s: %s", VHOST_NET_DEV, strerror(-ret));
		return ret;
	}
	ret = do_ioctl(vn, VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER");
	if (ret == 0)
		ret = do_ioctl(vn, VHOST_GET_FEATURES, &vn->features, "VHOST_GET_FEATURES");
	if (ret < 0) {
		vn->sys->close(vn->fd);
		vn->fd = -1;
	}
	return ret;
}

void vhost_net_close(struct vhost_net *vn)
{
	if (vn->fd >= 0)
		vn->sys->close(vn->fd);
	vn->fd = -1;
}

int vhost_net_set_features(struct vhost_net *vn, uint64_t features)
{
	uint64_t lack = features & ~vn->features;

	if (lack) {
		snprintf(vn->err, sizeof(vn->err), "the kernel's vhost-net lacks features 0x%llx",
			 (unsigned long long)lack);
		return -ENOTSUP;
	}
	return do_ioctl(vn, VHOST_SET_FEATURES, &features, "VHOST_SET_FEATURES");
}

int vhost_net_set_mem_table(struct vhost_net *vn, const struct guest_mem *gm)
{
	struct vhost_memory *m;
	int ret;

	if (gm->nr_regions == 0) {
		snprintf(vn->err, sizeof(vn->err), "no guest memory to map");
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m) + gm->nr_regions * sizeof(m->regions[0]));
	if (!m) {
		snprintf(vn->err, sizeof(vn->err), "out of memory");
		return -ENOMEM;
	}
	m->nregions = gm->nr_regions;
	for (unsigned int i = 0; i < gm->nr_regions; i++)
		m->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = gm->regions[i].gpa,
			.memory_size = gm->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].hva,
		};
	ret = do_ioctl(vn, VHOST_SET_MEM_TABLE, m, "VHOST_SET_MEM_TABLE");
	free(m);
	return ret;
}

int vhost_net_vring_start(struct vhost_net *vn, const struct guest_mem *gm, unsigned int index,
			  const struct vhost_net_vring *r)
{
	struct vhost_vring_state st = { .index = index };
	struct vhost_vring_addr a = { .index = index };
	struct vhost_vring_file f = { .index = index };
	int ret;

	if (r->num == 0 || (r->num & (r->num - 1))) {
		snprintf(vn->err, sizeof(vn->err), "ring %u: bad size %u", index, r->num);
		return -EINVAL;
	}
	if ((ret = gm_ring_hva(gm, "descriptor", r->desc_gpa, RING_DESC_BYTES(r->num),
			    (uint64_t *)&a.desc_user_addr, vn->err, sizeof(vn->err))) < 0 ||
	    (ret = gm_ring_hva(gm, "available", r->avail_gpa, RING_AVAIL_BYTES(r->num),
			    (uint64_t *)&a.avail_user_addr, vn->err, sizeof(vn->err))) < 0 ||
	    (ret = gm_ring_hva(gm, "used", r->used_gpa, RING_USED_BYTES(r->num),
			    (uint64_t *)&a.used_user_addr, vn->err, sizeof(vn->err))) < 0)
		return ret;
	st.num = r->num;
	if ((ret = do_ioctl(vn, VHOST_SET_VRING_NUM, &st, "VHOST_SET_VRING_NUM")) < 0)
		return ret;
	st.num = r->base;
	if ((ret = do_ioctl(vn, VHOST_SET_VRING_BASE, &st, "VHOST_SET_VRING_BASE")) < 0)
		return ret;
	if ((ret = do_ioctl(vn, VHOST_SET_VRING_ADDR, &a, "VHOST_SET_VRING_ADDR")) < 0)
		return ret;
	f.fd = r->kick_fd;
	if ((ret = do_ioctl(vn, VHOST_SET_VRING_KICK, &f, "VHOST_SET_VRING_KICK")) < 0)
		return ret;
	f.fd = r->call_fd;
	return do_ioctl(vn, VHOST_SET_VRING_CALL, &f, "VHOST_SET_VRING_CALL");
}

int vhost_net_vring_call(struct vhost_net *vn, unsigned int index, int call_fd)
{
	struct vhost_vring_file f = { .index = index, .fd = call_fd };

	return do_ioctl(vn, VHOST_SET_VRING_CALL, &f, "VHOST_SET_VRING_CALL");
}

int vhost_net_set_backend(struct vhost_net *vn, unsigned int index, int tap_fd)
{
	struct vhost_vring_file f = { .index = index, .fd = tap_fd };

	return do_ioctl(vn, VHOST_NET_SET_BACKEND, &f, "VHOST_NET_SET_BACKEND");
}

int vhost_net_vring_base(struct vhost_net *vn, unsigned int index, uint16_t *base)
{
	struct vhost_vring_state st = { .index = index };
	int ret = do_ioctl(vn, VHOST_GET_VRING_BASE, &st, "VHOST_GET_VRING_BASE");

	if (ret == 0)
		*base = (uint16_t)st.num;
	return ret;
}
