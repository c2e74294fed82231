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
 * be read with the old size. The offloads may change later with the same
 * header size (a virtio driver renegotiating): only TUNSETOFFLOAD changes.
 *
 * Offloads. TUNSETOFFLOAD says what the reader of the tap (we, then the
 * model) can take in the frames the kernel hands it: TUN_F_CSUM frames
 * whose TCP/UDP checksum is left to complete (VIRTIO_NET_HDR_F_NEEDS_CSUM,
 * csum_start/csum_offset), TUN_F_TSO4/TUN_F_TSO6 TCP frames of up to 64 KiB
 * to segment (gso_type TCPV4/TCPV6, only together with TUN_F_CSUM),
 * TUN_F_UFO the old UDP fragmentation offload (current kernels take it with
 * TUN_F_CSUM and ignore it: no UFO frame comes out). Frames we write may
 * carry any of these in their header whatever TUNSETOFFLOAD says. So
 * NETDEV_OFF_CSUM, TSO4, TSO6, UFO map to TUN_F_CSUM, TSO4, TSO6, UFO and
 * mean what the model can receive (for virtio-net: GUEST_CSUM, GUEST_TSO4/6,
 * GUEST_UFO), whatever it sends.
 *
 * Queues. nq == 1 opens a single-queue tap (no IFF_MULTI_QUEUE). nq > 1
 * opens the tap nq times with IFF_MULTI_QUEUE: one fd, one netdev, per
 * queue. For each frame the host sends into the tap the kernel picks one
 * attached queue (tun_select_queue: the queue a flow was last sent from,
 * else the flow's hash scaled over the attached queues), so a flow stays
 * on one queue. TUNSETQUEUE IFF_DETACH_QUEUE takes a queue out of that set
 * (the kernel renumbers the others and drops what was queued on it; reads
 * then find nothing); the fd stays bound to the tap, so writes still go
 * out: a detached queue still sends. The kernel refuses to detach a
 * detached queue or attach an attached one (EINVAL); we keep each queue's
 * state so that both calls are idempotent. The vnet header size and the
 * offloads belong to the tun device, not to a queue: TUNSETVNETHDRSZ and
 * TUNSETOFFLOAD on any queue's fd change them for every queue. The size is
 * therefore kept once for the device (struct tap_dev: every queue frames
 * what it reads and writes by the device's size) and whether the model sees
 * the header per queue; the last call wins, and a model gives every queue
 * the same values. The kernel lets any process attach more queues to a
 * multiqueue tap, so an existing one is refused while its carrier is on
 * (some process holds a queue), which a single-queue tap gets from the
 * kernel itself (EBUSY).
 *
 * Link state: the interface's IFF_UP flag and its carrier (IFF_LOWER_UP), read
 * at open and followed through one rtnetlink socket (RTMGRP_LINK) on the
 * event loop of queue 0, which reports it on every queue's netdev.
 *
 * Threads:
 *  - send() runs on vCPU threads (or a queue's I/O thread), possibly several
 *    at once: one writev() on the queue's non-blocking fd, no state written;
 *  - reading, set_rx() (through netdev_rx_resume()) run on the queue's
 *    event-loop thread and own rx_enabled, the pending frame and the watch
 *    state; close() runs once that loop has ended;
 *  - the link socket runs on queue 0's loop and calls netdev_set_link() on
 *    every queue's netdev from there, so a model's link_changed() for queue
 *    i may come from queue 0's thread (models lock themselves); it holds
 *    tap_dev.lock meanwhile, which close() takes to remove its queue: lock
 *    order tap_dev.lock, then the model's locks;
 *  - netdev_tap_hand_over() runs before the queue's loop does (or on it) and
 *    ends reading and sending for good: a kernel datapath (vhost-net) owns
 *    the fd from then on;
 *  - set_vnet_hdr() and set_queue_enabled() come from any thread (a vCPU
 *    during setup, DRIVER_OK, a control-queue command); they serialise on
 *    tap_dev.cfg_lock (a leaf: nothing is called under it) and publish the
 *    header state in words read atomically.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
#define TAP_NL_BURST 16	       /* netlink datagrams per wake-up */
#define TAP_NL_QUERY_BUF 16384 /* one RTM_NEWLINK answer */
#define TAP_NL_QUERY_TIMEOUT_MS 1000

/* virtio_net_hdr fields the reader checks when no header is agreed. */
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_GSO_NONE 0

/* linux/if.h's carrier flag (in rtnetlink's 32-bit flags); net/if.h lacks it. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP (1u << 16)
#endif

/* A queue's header state (tap_hdr()): size in the low byte, "the model sees it" in bit 8. */
#define TAP_HDR_AGREED (1u << 8)

/* What every queue of one tap shares; freed with the last queue. */
struct tap_dev {
	pthread_mutex_t lock;	  /* queues[] and refs */
	pthread_mutex_t cfg_lock; /* the device's ioctls: header size, offloads, queue attach */
	unsigned int hdr_size;	  /* atomic: the device's vnet header size (TUNSETVNETHDRSZ) */
	unsigned int nq;
	unsigned int refs;			      /* queues not closed yet */
	struct netdev *queues[NETDEV_TAP_MAX_QUEUES]; /* NULL once closed */
};

struct tap {
	struct tap_dev *dev;
	unsigned int index; /* queue number */
	int fd;
	int nl_fd; /* rtnetlink link notifications (queue 0), -1 when unavailable */
	int ifindex;
	char ifname[IFNAMSIZ];
	bool agreed;  /* atomic: the model sees the vnet header on this queue */
	bool enabled; /* under dev->cfg_lock: attached (not TUNSETQUEUE-detached) */
	bool rx_enabled;
	bool handed_over;    /* atomic: a kernel datapath owns the fd (netdev_tap_hand_over()) */
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
	unsigned int size = __atomic_load_n(&t->dev->hdr_size, __ATOMIC_ACQUIRE);

	return size | (__atomic_load_n(&t->agreed, __ATOMIC_ACQUIRE) ? TAP_HDR_AGREED : 0);
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
	if (__atomic_load_n(&t->handed_over, __ATOMIC_ACQUIRE))
		return -EBUSY; /* the kernel datapath writes this fd: never interleave */
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

	if (t->handed_over)
		enable = false; /* the fd's frames are the kernel datapath's */
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

/*
 * The size and offloads are the device's (see the top): the ioctls on this
 * queue's fd change them for every queue, whose readers and writers follow
 * dev->hdr_size at once; only this queue's "agreed" changes.
 */
static int tap_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	struct tap *t = nd->priv;
	struct tap_dev *d = t->dev;
	int size = hdr_len ? (int)hdr_len : TAP_HDR_MIN;
	int ret;

	if (hdr_len && (hdr_len < TAP_HDR_MIN || hdr_len > TAP_HDR_MAX))
		return -ENOTSUP;
	if (!hdr_len)
		offloads = 0;
	pthread_mutex_lock(&d->cfg_lock);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0) {
		ret = -errno;
		pthread_mutex_unlock(&d->cfg_lock);
		log_warn("%s: cannot set a vnet header of %d bytes: %s", nd->name, size,
			 strerror(-ret));
		return -ENOTSUP;
	}
	ret = tap_set_offload(t, offloads);
	if (ret < 0) {
		/* Back to the device's header size before the call. */
		size = (int)__atomic_load_n(&d->hdr_size, __ATOMIC_ACQUIRE);
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0)
			log_warn("%s: cannot restore the vnet header size", nd->name);
		pthread_mutex_unlock(&d->cfg_lock);
		log_warn("%s: the tap does not take offloads %#x", nd->name, offloads);
		return ret;
	}
	__atomic_store_n(&d->hdr_size, (unsigned int)size, __ATOMIC_RELEASE);
	__atomic_store_n(&t->agreed, hdr_len != 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->cfg_lock);
	log_debug("%s: vnet header %zu bytes, offloads %#x", nd->name, hdr_len, offloads);
	return 0;
}

/*
 * TUNSETQUEUE on this queue's fd. The kernel answers EINVAL to a detach of
 * a detached queue (and to an attach of an attached one): the state kept
 * here makes both a no-op instead.
 */
static int tap_set_queue_enabled(struct netdev *nd, bool enable)
{
	struct tap *t = nd->priv;
	struct ifreq ifr = { 0 };
	int ret = 0;

	pthread_mutex_lock(&t->dev->cfg_lock);
	if (t->enabled != enable) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
		ifr.ifr_flags = enable ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		if (ioctl(t->fd, TUNSETQUEUE, &ifr) < 0)
			ret = -errno;
		else
			t->enabled = enable;
	}
	pthread_mutex_unlock(&t->dev->cfg_lock);
	if (ret < 0)
		log_warn("%s: cannot %s the queue: %s", nd->name, enable ? "attach" : "detach",
			 strerror(-ret));
	else
		log_debug("%s: queue %s", nd->name, enable ? "attached" : "detached");
	return ret;
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

/* The link is the device's: every queue's netdev reports it (called on queue 0's loop). */
static void tap_set_link_all(struct netdev *nd, bool up)
{
	struct tap_dev *d = ((struct tap *)nd->priv)->dev;

	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < d->nq; i++)
		if (d->queues[i])
			netdev_set_link(d->queues[i], up);
	pthread_mutex_unlock(&d->lock);
}

static void tap_link_refresh(struct netdev *nd)
{
	struct tap *t = nd->priv;
	short flags;

	if (tap_if_flags(t->ifname, &flags, false) == 0)
		tap_set_link_all(nd, tap_flags_up((unsigned short)flags, false));
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
			tap_set_link_all(nd, false);
		} else {
			tap_set_link_all(nd, tap_flags_up(ifi->ifi_flags, true));
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
	struct tap_dev *d = t->dev;
	bool last;

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
	pthread_mutex_lock(&d->lock);
	d->queues[t->index] = NULL;
	last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last) {
		pthread_mutex_destroy(&d->lock);
		pthread_mutex_destroy(&d->cfg_lock);
		free(d);
	}
}

static const struct netdev_ops tap_ops = {
	.type = "tap",
	.send = tap_send,
	.set_rx = tap_set_rx,
	.set_vnet_hdr = tap_set_vnet_hdr,
	.close = tap_close,
};

/* A queue of a multiqueue tap: the same, plus attach/detach. */
static const struct netdev_ops tap_mq_ops = {
	.type = "tap",
	.send = tap_send,
	.set_rx = tap_set_rx,
	.set_vnet_hdr = tap_set_vnet_hdr,
	.set_queue_enabled = tap_set_queue_enabled,
	.close = tap_close,
};

static bool is_tap(const struct netdev *nd)
{
	return nd && (nd->ops == &tap_ops || nd->ops == &tap_mq_ops);
}

int netdev_tap_fd(const struct netdev *nd)
{
	return is_tap(nd) ? ((const struct tap *)nd->priv)->fd : -EINVAL;
}

/*
 * The read watch goes (tap_update_watch() with rx off) and set_rx() can no
 * longer turn it on: a netdev_rx_resume() from anywhere finds it off. A
 * frame held for the model is dropped with it: the model is gone.
 */
int netdev_tap_hand_over(struct netdev *nd)
{
	struct tap *t;

	if (!is_tap(nd))
		return -EINVAL;
	t = nd->priv;
	__atomic_store_n(&t->handed_over, true, __ATOMIC_RELEASE);
	t->rx_enabled = false;
	t->pending_len = 0;
	tap_update_watch(nd);
	log_debug("%s: handed over to a kernel datapath", nd->name);
	return 0;
}

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

static void tap_err_no_mq(const char *ifname, char *err, size_t err_len)
{
	snprintf(err, err_len,
		 "tap %s: it exists without multi_queue: recreate it with 'ip tuntap add %s mode "
		 "tap multi_queue', or delete it and let nfv-vmm create it",
		 ifname, ifname);
}

static int tap_attach(int fd, const char *ifname, bool existed, bool mq, char *err, size_t err_len)
{
	unsigned int want = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (mq ? IFF_MULTI_QUEUE : 0);
	struct ifreq ifr = { 0 };
	unsigned int features = 0;
	int ret;

	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & want) != want) {
		snprintf(err, err_len, "tap %s: this kernel's tun driver lacks %s", ifname,
			 (features & IFF_VNET_HDR) ? "IFF_MULTI_QUEUE" : "IFF_VNET_HDR");
		return -ENOTSUP;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = (short)want;
	if (ioctl(fd, TUNSETIFF, &ifr) == 0)
		return 0;
	ret = -errno;
	switch (ret) {
	case -EPERM:
	case -EACCES:
		snprintf(err, err_len,
			 "tap %s: permission denied: %s a tap needs CAP_NET_ADMIN (run as root, "
			 "or create it for your user first: ip tuntap add %s mode tap%s user USER)",
			 ifname, existed ? "attaching to" : "creating", ifname,
			 mq ? " multi_queue" : "");
		break;
	case -EBUSY:
		snprintf(err, err_len, "tap %s: busy: another process has it open", ifname);
		break;
	case -E2BIG:
		snprintf(err, err_len, "tap %s: the kernel takes no more queues on it", ifname);
		break;
	case -EINVAL:
		if (existed && mq)
			tap_err_no_mq(ifname, err, err_len);
		else if (existed)
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

/* What rtnetlink tells of an existing interface; -1: unknown. */
struct tap_link_info {
	int is_tun;  /* link kind "tun" (a tun or a tap) */
	int is_tap;  /* IFLA_TUN_TYPE is IFF_TAP */
	int mq;	     /* IFLA_TUN_MULTI_QUEUE */
	int carrier; /* IFLA_CARRIER: on while some process holds a queue */
};

static void tap_parse_tun_data(const struct rtattr *nest, struct tap_link_info *li)
{
	int left = (int)RTA_PAYLOAD(nest);

	for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (RTA_PAYLOAD(a) < 1)
			continue;
		if (a->rta_type == IFLA_TUN_TYPE)
			li->is_tap = *(const uint8_t *)RTA_DATA(a) == IFF_TAP;
		else if (a->rta_type == IFLA_TUN_MULTI_QUEUE)
			li->mq = *(const uint8_t *)RTA_DATA(a) != 0;
	}
}

static void tap_parse_linkinfo(const struct rtattr *nest, struct tap_link_info *li)
{
	int left = (int)RTA_PAYLOAD(nest);

	for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == IFLA_INFO_KIND)
			li->is_tun = RTA_PAYLOAD(a) >= 4 && memcmp(RTA_DATA(a), "tun", 4) == 0;
		else if (a->rta_type == IFLA_INFO_DATA)
			tap_parse_tun_data(a, li);
	}
}

/* One RTM_GETLINK for `ifindex`; 0 with *li filled (fields it lacks stay -1), or -errno. */
static int tap_query_link(int ifindex, struct tap_link_info *li)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
	} req = {
		.h = { .nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST,
		       .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	struct timeval tv = { .tv_sec = TAP_NL_QUERY_TIMEOUT_MS / 1000,
			      .tv_usec = (TAP_NL_QUERY_TIMEOUT_MS % 1000) * 1000 };
	const struct nlmsghdr *h;
	uint8_t *buf;
	ssize_t n;
	int left, fd, ret = -EIO;

	*li = (struct tap_link_info){ -1, -1, -1, -1 };
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	buf = malloc(TAP_NL_QUERY_BUF);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    send(fd, &req, sizeof(req), 0) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, buf, TAP_NL_QUERY_BUF, 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	left = (int)n;
	for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);
		const struct rtattr *a;
		int alen;

		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0)
				ret = e->error;
			break;
		}
		if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) ||
		    ifi->ifi_index != ifindex)
			continue;
		alen = (int)IFLA_PAYLOAD(h);
		for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
			if (a->rta_type == IFLA_CARRIER && RTA_PAYLOAD(a) >= 1)
				li->carrier = *(const uint8_t *)RTA_DATA(a) != 0;
			else if (a->rta_type == IFLA_LINKINFO)
				tap_parse_linkinfo(a, li);
		}
		ret = 0;
		break;
	}
out:
	free(buf);
	close(fd);
	return ret;
}

/*
 * Before attaching queues to an existing interface: it must be a multiqueue
 * tap that no process holds (the kernel would let us share it). What
 * rtnetlink cannot tell is left to TUNSETIFF.
 */
static int tap_check_existing_mq(const char *ifname, char *err, size_t err_len)
{
	struct tap_link_info li;
	int ifindex = (int)if_nametoindex(ifname);

	if (!ifindex || tap_query_link(ifindex, &li) < 0)
		return 0;
	if (li.is_tun == 0 || li.is_tap == 0) {
		snprintf(err, err_len, "tap %s: an interface of that name exists and is not a tap",
			 ifname);
		return -EINVAL;
	}
	if (li.mq == 0) {
		tap_err_no_mq(ifname, err, err_len);
		return -EINVAL;
	}
	if (li.carrier == 1) {
		snprintf(err, err_len,
			 "tap %s: busy: another process has it open (its queues would be shared)",
			 ifname);
		return -EBUSY;
	}
	return 0;
}

/*
 * Opens queue i: its fd attached to the tap, its netdev (not watched yet).
 * The first queue also sets the device's vnet header size and offloads.
 */
static int tap_open_queue(struct tap_dev *d, struct evloop *loop, unsigned int i,
			  const char *ifname, bool existed, struct netdev **ndp, char *err,
			  size_t err_len)
{
	char name[NETDEV_NAME_LEN];
	bool mq = d->nq > 1;
	int size = TAP_HDR_MIN;
	struct netdev *nd;
	struct tap *t;
	int fd, ret;

	fd = tap_open_dev(ifname, err, err_len);
	if (fd < 0)
		return fd;
	ret = tap_attach(fd, ifname, existed, mq, err, err_len);
	if (ret < 0)
		goto err_fd;
	if (i == 0 &&
	    (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 || ioctl(fd, TUNSETOFFLOAD, 0ul) < 0)) {
		ret = -errno;
		snprintf(err, err_len, "tap %s: cannot set the vnet header and offloads: %s",
			 ifname, strerror(-ret));
		goto err_fd;
	}

	if (mq)
		snprintf(name, sizeof(name), "tap:%s/q%u", ifname, i);
	else
		snprintf(name, sizeof(name), "tap:%s", ifname);
	nd = netdev_alloc(mq ? &tap_mq_ops : &tap_ops, name, loop, sizeof(*t));
	if (!nd) {
		ret = -ENOMEM;
		snprintf(err, err_len, "tap %s: out of memory", ifname);
		goto err_fd;
	}
	t = nd->priv;
	t->dev = d;
	t->index = i;
	t->fd = fd;
	t->nl_fd = -1;
	t->enabled = true;
	t->rx_enabled = true;
	t->watching = true;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	pthread_mutex_lock(&d->lock);
	d->queues[i] = nd;
	d->refs++;
	pthread_mutex_unlock(&d->lock);
	*ndp = nd;
	return 0;

err_fd:
	close(fd);
	return ret;
}

int netdev_tap_open_mq(struct evloop *const *loops, unsigned int nq, const char *ifname,
		       struct netdev **nds, char *err, size_t err_len)
{
	struct netdev *q[NETDEV_TAP_MAX_QUEUES] = { NULL };
	struct tap_dev *d;
	unsigned int n = 0;
	bool existed;
	short flags = 0;
	int ifindex, ret;

	ret = netdev_tap_check_name(ifname, err, err_len);
	if (ret < 0)
		return ret;
	if (nq < 1 || nq > NETDEV_TAP_MAX_QUEUES) {
		snprintf(err, err_len, "tap %s: %u queues asked for, 1 to %d possible", ifname, nq,
			 NETDEV_TAP_MAX_QUEUES);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nq; i++) {
		if (!loops[i]) {
			snprintf(err, err_len, "tap %s: no event loop for queue %u", ifname, i);
			return -EINVAL;
		}
	}
	existed = if_nametoindex(ifname) != 0;
	if (existed && nq > 1) {
		ret = tap_check_existing_mq(ifname, err, err_len);
		if (ret < 0)
			return ret;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, err_len, "tap %s: out of memory", ifname);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->cfg_lock, NULL);
	d->hdr_size = TAP_HDR_MIN;
	d->nq = nq;

	/* The first queue may create the tap; the others attach to it. */
	for (n = 0; n < nq; n++) {
		ret = tap_open_queue(d, loops[n], n, ifname, existed || n > 0, &q[n], err, err_len);
		if (ret < 0)
			goto err_queues;
	}
	ifindex = (int)if_nametoindex(ifname);
	ret = tap_if_flags(ifname, &flags, true);
	if (ret < 0) {
		log_warn("tap %s: cannot bring it up (%s): bring it up yourself (ip link set %s "
			 "up)",
			 ifname, strerror(-ret), ifname);
		flags = 0;
		(void)tap_if_flags(ifname, &flags, false);
	}
	for (unsigned int i = 0; i < nq; i++) {
		struct tap *t = q[i]->priv;

		t->ifindex = ifindex;
		q[i]->link_up = tap_flags_up((unsigned short)flags, false);
		ret = evloop_add_fd(loops[i], t->fd, EPOLLIN, tap_readable, q[i]);
		if (ret < 0) {
			if (nq > 1)
				snprintf(err, err_len, "tap %s: cannot watch queue %u: %s", ifname,
					 i, strerror(-ret));
			else
				snprintf(err, err_len, "tap %s: cannot watch it: %s", ifname,
					 strerror(-ret));
			goto err_queues;
		}
	}
	tap_link_watch(q[0]);
	if (nq > 1)
		log_info("tap %s: %s (ifindex %d), %u queues, link %s", ifname,
			 existed ? "attached to the existing multiqueue tap"
				 : "created (it goes away when nfv-vmm exits)",
			 ifindex, nq, q[0]->link_up ? "up" : "down");
	else
		log_info("tap %s: %s (ifindex %d), link %s", ifname,
			 existed ? "attached to the existing tap"
				 : "created (it goes away when nfv-vmm exits)",
			 ifindex, q[0]->link_up ? "up" : "down");
	for (unsigned int i = 0; i < nq; i++)
		nds[i] = q[i];
	return 0;

err_queues:
	/* Closing every fd also removes a tap the first queue created. */
	for (unsigned int i = 0; i < n; i++)
		netdev_close(q[i]);
	if (n == 0) {
		pthread_mutex_destroy(&d->lock);
		pthread_mutex_destroy(&d->cfg_lock);
		free(d);
	}
	return ret;
}

int netdev_tap_open(struct evloop *loop, const char *ifname, struct netdev **ndp, char *err,
		    size_t err_len)
{
	return netdev_tap_open_mq(&loop, 1, ifname, ndp, err, err_len);
}
