/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tap backend.
 *
 * The vnet header. The tap is always opened with IFF_VNET_HDR, so that a
 * model that offloads checksums or TSO (virtio-net) can later agree on a
 * header without reopening the device. The kernel's smallest header is 10
 * bytes (struct virtio_net_hdr; TUNSETVNETHDRSZ refuses less), so while no
 * header is agreed (netdev_set_vnet_hdr(nd, 0, 0), the state after open):
 *  - the tap's header size is 10 and its offloads are off (TUNSETOFFLOAD 0),
 *    so the kernel completes checksums and segments before a frame reaches
 *    the tap, and every header it hands us is all zero;
 *  - send() puts a zeroed 10-byte header in front of the model's frame;
 *  - the reader strips the header; a frame whose header asks for GSO or a
 *    checksum anyway is dropped (counted), never handed to a model that
 *    cannot honour it.
 * Once a model agrees on a header of 10 to 24 bytes and some offloads, the
 * tap's header size and offloads follow (TUNSETVNETHDRSZ, TUNSETOFFLOAD) and
 * frames pass through with the header, both ways. Agreeing belongs to device
 * setup (before the driver enables RX): frames already queued in the tap may
 * be read with the old size.
 *
 * Link state: the interface's IFF_UP flag and its carrier (IFF_LOWER_UP), read
 * at open and followed through an rtnetlink socket (RTMGRP_LINK) on the
 * event loop.
 *
 * Threads:
 *  - send() runs on vCPU threads, possibly several at once: one writev() on
 *    the non-blocking fd, no state written;
 *  - reading, set_rx() (through netdev_rx_resume()), the link socket and
 *    close() run on the event-loop thread (close() once the loop has ended),
 *    and own rx_enabled, the pending frame and the watch state;
 *  - set_vnet_hdr() comes from the model (a vCPU thread during setup); the
 *    header size is one word read atomically.
 */
#define LOG_COMPONENT "tap"
#include "vmm/netdev_tap.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TAP_DEV "/dev/net/tun"
#define TAP_HDR_MIN 10 /* struct virtio_net_hdr: the least TUNSETVNETHDRSZ takes */
#define TAP_HDR_MAX 24 /* room for virtio_net_hdr_v1 and its hash extension */
#define TAP_MAX_IOV 64
/* A read that fills the whole buffer may have been cut: longer than any frame we take. */
#define TAP_RX_BUF (TAP_HDR_MAX + NETDEV_MAX_FRAME + 64)
#define TAP_NL_BUF 8192
#define TAP_NL_BURST 16 /* netlink datagrams per wake-up */

/* virtio_net_hdr fields the reader checks when no header is agreed. */
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_GSO_NONE 0

/* linux/if.h's carrier flag (in rtnetlink's 32-bit flags); net/if.h lacks it. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP (1u << 16)
#endif

/* The tap's header state: size in the low byte, "the model sees it" in bit 8. */
#define TAP_HDR_AGREED (1u << 8)

struct tap {
	int fd;
	int nl_fd; /* rtnetlink link notifications, -1 when unavailable */
	int ifindex;
	char ifname[IFNAMSIZ];
	unsigned int hdr; /* atomic: size | TAP_HDR_AGREED */
	bool rx_enabled;
	bool watching;	     /* EPOLLIN currently requested on fd */
	bool rx_dead;	     /* reading failed for good (the tap was deleted): not watched */
	size_t pending_len;  /* bytes in rx_buf the model had no room for; 0: none */
	uint64_t rx_bad_hdr; /* atomic: frames dropped for a header nobody agreed on */
	uint64_t rx_short;   /* reads shorter than the header, or over-long frames */
	uint8_t nl_buf[TAP_NL_BUF];
	uint8_t rx_buf[TAP_RX_BUF];
};

static const uint8_t zero_hdr[TAP_HDR_MAX];

int netdev_tap_check_name(const char *ifname, char *err, size_t err_len)
{
	size_t len = strlen(ifname);

	if (len == 0) {
		snprintf(err, err_len, "tap name is empty");
		return -EINVAL;
	}
	if (len >= IFNAMSIZ) {
		snprintf(err, err_len, "tap name '%s' is longer than %d characters", ifname,
			 IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0 ||
	    strpbrk(ifname, "/: \t\n\v\f\r")) {
		snprintf(err, err_len,
			 "tap name '%s' is not a valid interface name (no '/', ':' or spaces)",
			 ifname);
		return -EINVAL;
	}
	return 0;
}

static unsigned int tap_hdr(const struct tap *t)
{
	return __atomic_load_n(&t->hdr, __ATOMIC_ACQUIRE);
}

/*
 * Requests EPOLLIN only while the model takes frames and none is waiting. A
 * dead fd leaves the loop altogether: epoll reports its EPOLLHUP/EPOLLERR
 * whatever the mask says.
 */
static void tap_update_watch(struct netdev *nd)
{
	struct tap *t = nd->priv;
	bool want = t->rx_enabled && !t->pending_len;
	int ret;

	if (t->rx_dead) {
		evloop_del_fd(nd->loop, t->fd);
		t->watching = false;
		return;
	}
	if (want == t->watching)
		return;
	ret = evloop_mod_fd(nd->loop, t->fd, want ? EPOLLIN : 0);
	if (ret < 0) {
		log_warn_rl("%s: cannot change the read watch: %s", nd->name, strerror(-ret));
		return;
	}
	t->watching = want;
}

/*
 * Hands the frame in rx_buf (len bytes as read, header included) to the
 * model. False when the model has no room: the frame stays pending.
 */
static bool tap_deliver(struct netdev *nd, size_t len)
{
	struct tap *t = nd->priv;
	unsigned int hdr = tap_hdr(t);
	size_t hlen = hdr & 0xff;
	struct iovec iov;
	ssize_t n;

	if (len < hlen + 1 || len - hlen > NETDEV_MAX_FRAME - (hdr & TAP_HDR_AGREED ? hlen : 0)) {
		__atomic_add_fetch(&t->rx_short, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
		log_warn_rl("%s: dropped a received frame of %zu bytes (header %zu, at most %d)",
			    nd->name, len, hlen, NETDEV_MAX_FRAME);
		return true;
	}
	if (hdr & TAP_HDR_AGREED) {
		iov = (struct iovec){ .iov_base = t->rx_buf, .iov_len = len };
	} else {
		/* No header agreed: offloads are off, so the kernel's header is all zero. */
		if ((t->rx_buf[0] & VNET_HDR_F_NEEDS_CSUM) || t->rx_buf[1] != VNET_HDR_GSO_NONE) {
			__atomic_add_fetch(&t->rx_bad_hdr, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
			log_warn_rl("%s: dropped a frame that needs offloads the model did not "
				    "agree on (flags %#x, gso %#x)",
				    nd->name, t->rx_buf[0], t->rx_buf[1]);
			return true;
		}
		iov = (struct iovec){ .iov_base = t->rx_buf + hlen, .iov_len = len - hlen };
	}
	n = netdev_deliver(nd, &iov, 1);
	if (n == 0) {
		t->pending_len = len;
		return false;
	}
	return true;
}

/* Reads and delivers at most NETDEV_TAP_RX_BURST frames. */
static void tap_rx_burst(struct netdev *nd)
{
	struct tap *t = nd->priv;

	for (unsigned int i = 0; i < NETDEV_TAP_RX_BURST && t->rx_enabled && !t->pending_len; i++) {
		ssize_t n = read(t->fd, t->rx_buf, sizeof(t->rx_buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* EBADFD once the interface is deleted: stop, or epoll would spin. */
			log_err("%s: reading stopped: %s", nd->name,
				n < 0 ? strerror(errno) : "end of file");
			t->rx_dead = true;
			break;
		}
		if (!tap_deliver(nd, (size_t)n))
			break;
	}
	tap_update_watch(nd);
}

static void tap_readable(int fd, uint32_t events, void *opaque)
{
	struct netdev *nd = opaque;
	struct tap *t = nd->priv;

	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
		log_err("%s: reading stopped: the tap hung up", nd->name);
		t->rx_dead = true;
		tap_update_watch(nd);
		return;
	}
	tap_rx_burst(nd);
}

static int tap_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct tap *t = nd->priv;
	unsigned int hdr = tap_hdr(t);
	struct iovec v[TAP_MAX_IOV + 1];
	uint64_t len = 0;
	int n = 0;
	ssize_t w;

	if (iovcnt < 1 || iovcnt > TAP_MAX_IOV)
		return -EINVAL;
	if (!(hdr & TAP_HDR_AGREED))
		v[n++] = (struct iovec){ .iov_base = (void *)zero_hdr, .iov_len = hdr & 0xff };
	for (int i = 0; i < iovcnt; i++) {
		if (add_overflows_u64(len, iov[i].iov_len, &len))
			return -EMSGSIZE;
		v[n++] = iov[i];
	}
	if (len > NETDEV_MAX_FRAME)
		return -EMSGSIZE;
	w = writev(t->fd, v, n);
	if (w < 0) {
		int e = errno;

		if (e == EAGAIN || e == EWOULDBLOCK)
			return -EAGAIN;
		log_warn_rl("%s: cannot send a frame of %llu bytes: %s%s", nd->name,
			    (unsigned long long)len, strerror(e),
			    e == EIO ? " (is the interface down?)" : "");
		return -e;
	}
	return 0;
}

static void tap_set_rx(struct netdev *nd, bool enable)
{
	struct tap *t = nd->priv;

	t->rx_enabled = enable;
	if (enable && t->pending_len) {
		size_t len = t->pending_len;

		t->pending_len = 0;
		if (!tap_deliver(nd, len)) {
			tap_update_watch(nd);
			return;
		}
	}
	if (enable)
		tap_rx_burst(nd);
	else
		tap_update_watch(nd);
}

static int tap_set_offload(struct tap *t, unsigned int offloads)
{
	unsigned int f = 0;

	if (offloads & NETDEV_OFF_CSUM)
		f |= TUN_F_CSUM;
	if (offloads & NETDEV_OFF_TSO4)
		f |= TUN_F_TSO4;
	if (offloads & NETDEV_OFF_TSO6)
		f |= TUN_F_TSO6;
	if (offloads & NETDEV_OFF_UFO)
		f |= TUN_F_UFO;
	if ((f & ~TUN_F_CSUM) && !(f & TUN_F_CSUM))
		return -ENOTSUP; /* segmentation offloads need checksum offload */
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)f) < 0)
		return -ENOTSUP;
	return 0;
}

static int tap_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	struct tap *t = nd->priv;
	int size = hdr_len ? (int)hdr_len : TAP_HDR_MIN;
	int ret;

	if (hdr_len && (hdr_len < TAP_HDR_MIN || hdr_len > TAP_HDR_MAX))
		return -ENOTSUP;
	if (!hdr_len)
		offloads = 0;
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0) {
		ret = -errno;
		log_warn("%s: cannot set a vnet header of %d bytes: %s", nd->name, size,
			 strerror(-ret));
		return -ENOTSUP;
	}
	ret = tap_set_offload(t, offloads);
	if (ret < 0) {
		log_warn("%s: the tap does not take offloads %#x", nd->name, offloads);
		/* Back to the state before the call's header size. */
		size = (int)(tap_hdr(t) & 0xff);
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0)
			log_warn("%s: cannot restore the vnet header size", nd->name);
		return ret;
	}
	__atomic_store_n(&t->hdr, (unsigned int)size | (hdr_len ? TAP_HDR_AGREED : 0),
			 __ATOMIC_RELEASE);
	log_debug("%s: vnet header %zu bytes, offloads %#x", nd->name, hdr_len, offloads);
	return 0;
}

/* ---- link state ---- */

static int tap_if_flags(const char *ifname, short *flags, bool set_up)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (set_up && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
			ret = -errno;
			goto out;
		}
		if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
			ret = -errno;
			goto out;
		}
	}
	*flags = ifr.ifr_flags;
out:
	close(s);
	return ret;
}

/*
 * The link is up while the interface is up and has its carrier (which a tap
 * has while a process holds it). IFF_LOWER_UP only comes with rtnetlink;
 * SIOCGIFFLAGS' 16 bits stop short of it, and IFF_RUNNING follows the
 * operational state only after the kernel's link watch ran: with those
 * flags, IFF_UP alone is taken (we hold the tap, so the carrier is on).
 */
static bool tap_flags_up(unsigned int flags, bool have_lower_up)
{
	return (flags & IFF_UP) && (!have_lower_up || (flags & IFF_LOWER_UP));
}

static void tap_link_refresh(struct netdev *nd)
{
	struct tap *t = nd->priv;
	short flags;

	if (tap_if_flags(t->ifname, &flags, false) == 0)
		netdev_set_link(nd, tap_flags_up((unsigned short)flags, false));
}

/* RTM_NEWLINK / RTM_DELLINK for our interface: the datagram is the kernel's, still bounded. */
static void tap_link_msg(struct netdev *nd, const uint8_t *buf, size_t len)
{
	struct tap *t = nd->priv;
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	int left = (int)len;

	for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);

		if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
			continue;
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index != t->ifindex)
			continue;
		if (h->nlmsg_type == RTM_DELLINK) {
			log_warn("%s: the interface was deleted", nd->name);
			netdev_set_link(nd, false);
		} else {
			netdev_set_link(nd, tap_flags_up(ifi->ifi_flags, true));
		}
	}
}

static void tap_link_readable(int fd, uint32_t events, void *opaque)
{
	struct netdev *nd = opaque;
	struct tap *t = nd->priv;

	for (unsigned int i = 0; i < TAP_NL_BURST; i++) {
		ssize_t n = recv(fd, t->nl_buf, sizeof(t->nl_buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == ENOBUFS) /* missed notifications: ask directly */
				tap_link_refresh(nd);
			else if (errno != EINTR)
				break;
			continue;
		}
		tap_link_msg(nd, t->nl_buf, (size_t)n);
	}
}

/* Follows the link through rtnetlink; failing that, the link stays as read at open. */
static void tap_link_watch(struct netdev *nd)
{
	struct tap *t = nd->priv;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    evloop_add_fd(nd->loop, fd, EPOLLIN, tap_link_readable, nd) < 0) {
		log_debug("%s: link changes not followed: %s", nd->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	t->nl_fd = fd;
}

/* ---- open / close ---- */

static void tap_close(struct netdev *nd)
{
	struct tap *t = nd->priv;

	if (t->nl_fd >= 0) {
		evloop_del_fd(nd->loop, t->nl_fd);
		close(t->nl_fd);
	}
	if (t->fd >= 0) {
		evloop_del_fd(nd->loop, t->fd);
		close(t->fd);
	}
	if (t->rx_bad_hdr || t->rx_short)
		log_info("%s: dropped %llu frames with an unexpected vnet header, %llu of a bad "
			 "length",
			 nd->name, (unsigned long long)t->rx_bad_hdr,
			 (unsigned long long)t->rx_short);
}

static const struct netdev_ops tap_ops = {
	.type = "tap",
	.send = tap_send,
	.set_rx = tap_set_rx,
	.set_vnet_hdr = tap_set_vnet_hdr,
	.close = tap_close,
};

static int tap_open_dev(const char *ifname, char *err, size_t err_len)
{
	int fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC), ret;

	if (fd >= 0)
		return fd;
	ret = -errno;
	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
		snprintf(err, err_len,
			 "tap %s: no %s on this host (the tun module is missing: modprobe tun)",
			 ifname, TAP_DEV);
	else if (ret == -EACCES || ret == -EPERM)
		snprintf(err, err_len, "tap %s: permission denied opening %s (run as root)", ifname,
			 TAP_DEV);
	else
		snprintf(err, err_len, "tap %s: cannot open %s: %s", ifname, TAP_DEV,
			 strerror(-ret));
	return ret;
}

static int tap_attach(int fd, const char *ifname, bool existed, char *err, size_t err_len)
{
	struct ifreq ifr = { 0 };
	unsigned int features = 0;
	int ret;

	if (ioctl(fd, TUNGETFEATURES, &features) == 0 &&
	    (features & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
		    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) {
		snprintf(err, err_len, "tap %s: this kernel's tun driver lacks IFF_VNET_HDR",
			 ifname);
		return -ENOTSUP;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) == 0)
		return 0;
	ret = -errno;
	switch (ret) {
	case -EPERM:
	case -EACCES:
		snprintf(err, err_len,
			 "tap %s: permission denied: %s a tap needs CAP_NET_ADMIN (run as root, "
			 "or create it for your user first: ip tuntap add %s mode tap user USER)",
			 ifname, existed ? "attaching to" : "creating", ifname);
		break;
	case -EBUSY:
		snprintf(err, err_len, "tap %s: busy: another process has it open", ifname);
		break;
	case -EINVAL:
		if (existed)
			snprintf(err, err_len,
				 "tap %s: an interface of that name exists and is not a "
				 "single-queue tap",
				 ifname);
		else
			snprintf(err, err_len, "tap %s: the kernel refused the name", ifname);
		break;
	default: snprintf(err, err_len, "tap %s: TUNSETIFF failed: %s", ifname, strerror(-ret));
	}
	return ret;
}

int netdev_tap_open(struct evloop *loop, const char *ifname, struct netdev **ndp, char *err,
		    size_t err_len)
{
	char name[NETDEV_NAME_LEN];
	struct netdev *nd;
	struct tap *t;
	bool existed;
	short flags = 0;
	int size = TAP_HDR_MIN;
	int fd, ret;

	ret = netdev_tap_check_name(ifname, err, err_len);
	if (ret < 0)
		return ret;
	existed = if_nametoindex(ifname) != 0;
	fd = tap_open_dev(ifname, err, err_len);
	if (fd < 0)
		return fd;
	ret = tap_attach(fd, ifname, existed, err, err_len);
	if (ret < 0)
		goto err_fd;
	if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 || ioctl(fd, TUNSETOFFLOAD, 0ul) < 0) {
		ret = -errno;
		snprintf(err, err_len, "tap %s: cannot set the vnet header and offloads: %s",
			 ifname, strerror(-ret));
		goto err_fd;
	}

	snprintf(name, sizeof(name), "tap:%s", ifname);
	nd = netdev_alloc(&tap_ops, name, loop, sizeof(*t));
	if (!nd) {
		ret = -ENOMEM;
		snprintf(err, err_len, "tap %s: out of memory", ifname);
		goto err_fd;
	}
	t = nd->priv;
	t->fd = fd;
	t->nl_fd = -1;
	t->hdr = TAP_HDR_MIN;
	t->rx_enabled = true;
	t->watching = true;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->ifindex = (int)if_nametoindex(ifname);

	ret = tap_if_flags(ifname, &flags, true);
	if (ret < 0) {
		log_warn("tap %s: cannot bring it up (%s): bring it up yourself (ip link set %s "
			 "up)",
			 ifname, strerror(-ret), ifname);
		flags = 0;
		(void)tap_if_flags(ifname, &flags, false);
	}
	nd->link_up = tap_flags_up((unsigned short)flags, false);
	ret = evloop_add_fd(loop, fd, EPOLLIN, tap_readable, nd);
	if (ret < 0) {
		snprintf(err, err_len, "tap %s: cannot watch it: %s", ifname, strerror(-ret));
		t->fd = -1;
		netdev_close(nd);
		goto err_fd;
	}
	tap_link_watch(nd);
	log_info("tap %s: %s (ifindex %d), link %s", ifname,
		 existed ? "attached to the existing tap"
			 : "created (it goes away when nfv-vmm exits)",
		 t->ifindex, nd->link_up ? "up" : "down");
	*ndp = nd;
	return 0;

err_fd:
	close(fd);
	return ret;
}
