/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-net: the kernel's virtio-net datapath (/dev/vhost-net), one vhost
 * device per queue pair, each bound to one queue of the tap
 * (VHOST_NET_SET_BACKEND). Written against linux/vhost.h: the kernel reads
 * the guest's rings in guest memory (VHOST_SET_MEM_TABLE maps guest-physical
 * to nfv-vmm's addresses), is kicked by the guest's doorbell ioeventfd and
 * interrupts it through an irqfd, so neither nfv-vmm nor its threads touch a
 * packet.
 *
 * A host without /dev/vhost-net (no vhost_net module, or a kernel built
 * without it) gets one line that says so and how to load it; nothing else
 * changes (the caller falls back or stops, its choice).
 *
 * The ioctls go through struct vhost_net_sys so that the unit tests can
 * record them on a host that has no vhost-net.
 */
#ifndef NFV_VMM_VHOST_NET_H
#define NFV_VMM_VHOST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/guestmem.h"
#include "common/util.h"

#define VHOST_NET_DEV "/dev/vhost-net"

/* The system calls vhost-net needs; NULL members use the real ones. */
struct vhost_net_sys {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	int (*close)(int fd);
};

struct vhost_net {
	int fd;
	const struct vhost_net_sys *sys;
	uint64_t features; /* what the kernel offers */
	char err[256];
};

/*
 * Opens /dev/vhost-net, becomes its owner and reads its features. 0, or
 * -ENOENT / -EACCES / ... with one line in vn->err: for a missing device,
 * that this host has no vhost-net and `modprobe vhost_net` loads it.
 */
int __must_check vhost_net_open(struct vhost_net *vn, const struct vhost_net_sys *sys);
void vhost_net_close(struct vhost_net *vn);

/* VHOST_SET_FEATURES: -ENOTSUP (naming the bits) when the kernel lacks some. */
int __must_check vhost_net_set_features(struct vhost_net *vn, uint64_t features);
/* VHOST_SET_MEM_TABLE from every RAM region of gm. */
int __must_check vhost_net_set_mem_table(struct vhost_net *vn, const struct guest_mem *gm);

struct vhost_net_vring {
	uint16_t num, base;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int kick_fd, call_fd;
};
/*
 * Ring `index` (0 RX, 1 TX of this pair): NUM, BASE, ADDR (translated,
 * checked inside RAM: -EFAULT), KICK, CALL.
 */
int __must_check vhost_net_vring_start(struct vhost_net *vn, const struct guest_mem *gm,
				       unsigned int index, const struct vhost_net_vring *r);
/*
 * VHOST_SET_VRING_CALL alone: ring `index` signals `call_fd` from now on
 * (the kernel takes it while the ring runs; -1: no interrupt).
 */
int __must_check vhost_net_vring_call(struct vhost_net *vn, unsigned int index, int call_fd);
/* Attaches (tap_fd) or detaches (-1) the tap queue that carries both rings' frames. */
int __must_check vhost_net_set_backend(struct vhost_net *vn, unsigned int index, int tap_fd);
/* VHOST_GET_VRING_BASE: where the kernel stopped. */
int __must_check vhost_net_vring_base(struct vhost_net *vn, unsigned int index, uint16_t *base);

#endif /* NFV_VMM_VHOST_NET_H */
