/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tap backend: a kernel tap device (/dev/net/tun, IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR), the fallback every Linux host has. Frames the model sends
 * are written to the tap; frames the host sends to the tap are read on the
 * event loop and delivered to the model. See netdev_tap.c for the vnet
 * header handling and the threads.
 */
#ifndef NFV_VMM_NETDEV_TAP_H
#define NFV_VMM_NETDEV_TAP_H

#include <stddef.h>

#include "common/evloop.h"
#include "common/util.h"
#include "vmm/netdev.h"

/* Frames read per wake-up of the event loop. */
#define NETDEV_TAP_RX_BURST 32

/*
 * Checks an interface name as the kernel would take it: 1 to 15 bytes, not
 * "." or "..", no '/', ':' or white space. 0, or -ENAMETOOLONG / -EINVAL with
 * the reason in err.
 */
int __must_check netdev_tap_check_name(const char *ifname, char *err, size_t err_len);

/*
 * Opens tap `ifname`, creating it when it does not exist (a tap created here
 * goes away when nfv-vmm exits), brings it up and serves it on `loop`.
 * Reading starts at once; the netdev is returned in *ndp. Returns 0 or
 * -errno with one line in err: -ENOENT (no /dev/net/tun), -EPERM (needs
 * CAP_NET_ADMIN), -EBUSY (another process has the tap), -ENAMETOOLONG,
 * -EINVAL (bad name, or an interface of another type), ...
 */
int __must_check netdev_tap_open(struct evloop *loop, const char *ifname, struct netdev **ndp,
				 char *err, size_t err_len);

/* Queues of a multiqueue tap: the kernel's limit (MAX_TAP_QUEUES) is higher. */
#define NETDEV_TAP_MAX_QUEUES 16

/*
 * Opens tap `ifname` with `nq` queues (IFF_MULTI_QUEUE when nq > 1; nq == 1
 * is netdev_tap_open()): one file descriptor, and one netdev in nds[i], per
 * queue, queue i served on loops[i] (loops may repeat: several queues on
 * one thread). Each netdev sends through its own fd and delivers what the
 * kernel steers to that queue (the kernel spreads flows by their hash). A
 * tap that exists without IFF_MULTI_QUEUE, or is held by another process,
 * is refused with the reason in err. Link state is followed once (on
 * loops[0]) and reported on every queue's netdev. Every queue starts
 * enabled; netdev_set_queue_enabled() detaches one (TUNSETQUEUE) so the
 * kernel steers nothing to it (it still sends; detaching twice is 0). The
 * vnet header size and offloads are the device's: give every queue the
 * same (netdev_set_vnet_hdr()). nq of 0 or over NETDEV_TAP_MAX_QUEUES is
 * -EINVAL. On failure nothing stays open. 0 or -errno.
 */
int __must_check netdev_tap_open_mq(struct evloop *const *loops, unsigned int nq,
				    const char *ifname, struct netdev **nds, char *err,
				    size_t err_len);

/*
 * For a kernel datapath that takes a tap queue over (vhost-net reads and
 * writes the queue's fd itself, VHOST_NET_SET_BACKEND): the fd of tap queue
 * `nd`, or -EINVAL for a netdev that is not a tap.
 */
int netdev_tap_fd(const struct netdev *nd);
/*
 * Hands tap queue `nd` over to such a datapath for good: nfv-vmm stops
 * reading it (a frame it read would be lost to the guest) and refuses to
 * send through it (-EBUSY). The link is still followed and reported, and
 * netdev_set_vnet_hdr() and netdev_set_queue_enabled() still work. Call
 * before nd's loop runs, or on its thread. 0, or -EINVAL for a netdev that
 * is not a tap.
 */
int __must_check netdev_tap_hand_over(struct netdev *nd);

#endif /* NFV_VMM_NETDEV_TAP_H */
