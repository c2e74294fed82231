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

#endif /* NFV_VMM_NETDEV_TAP_H */
