/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net device type (see virtio_net.h); layouts and rules from VIRTIO
 * 1.2, 5.1: feature bits (5.1.3), device configuration (5.1.4), struct
 * virtio_net_hdr (5.1.6), the control queue (5.1.6.5).
 *
 * Threads and locks:
 *  - vCPU threads: doorbells (ops->queue_notify, through the BAR or the
 *    VMM's ioeventfd), device configuration reads, and the transport's
 *    status callbacks (features_ok, driver_ok, reset) with the transport's
 *    mutex held.
 *  - the event loop thread: peer.receive() and link_changed() from the
 *    backends, and the TX re-kick event.
 *  - vn->lock, one mutex, serialises all of them: TX and control queue
 *    processing run on the doorbell's thread under it, RX on the event
 *    loop under it. It is held across netdev_send() (backends never call a
 *    model back from send) and across virtio_pci_notify() and
 *    virtio_pci_set_needs_reset() (lock-free atomics and the PCI core). It
 *    is NOT held across netdev_rx_resume(): a backend without an event loop
 *    reads synchronously from there and re-enters receive().
 *  - Lock order: transport mutex -> vn->lock -> PCI core -> backend.
 *  - The queues belong to the device between driver_ok and reset (see
 *    virtio_pci.h); reset takes vn->lock, so once it returns no thread of
 *    the device touches a queue any more (the quiescent handshake).
 *
 * Guest memory is reached only through the virtqueue walker, which checks
 * every segment against RAM: device DMA never reaches MMIO, so the device
 * cannot be re-entered through its own DMA. Every loop over guest data is
 * bounded: TX by a burst budget per kick, RX by the queue size, the control
 * queue by its size. A malformed ring (virtq_pop/push failing with -EIO or
 * -ENOBUFS) sets NEEDS_RESET and stops this device's datapath until the
 * driver resets it; nfv-vmm and other devices go on.
 */
#define LOG_COMPONENT "virtio-net"
#include "nicmodels/virtio_net.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- VIRTIO 1.2, 5.1 ---- */

#define VIRTIO_ID_NET 1
#define VNET_CLASS 0x020000 /* Ethernet controller */

#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_VLAN 19
#define VIRTIO_NET_F_MQ 22

#define BIT64(n) (1ull << (n))

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

/* Device configuration: mac[6], status, max_virtqueue_pairs, mtu. */
#define VNET_CFG_MAC 0
#define VNET_CFG_STATUS 6
#define VNET_CFG_MAX_PAIRS 8
#define VNET_CFG_MTU 10
#define VNET_CFG_SIZE 12

/* struct virtio_net_hdr with num_buffers: 12 bytes with VERSION_1. */
#define VNET_HDR_LEN 12
#define VNET_HDR_NUM_BUFFERS 10
#define VIRTIO_NET_HDR_GSO_NONE 0

/* Control queue (5.1.6.5). */
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1
#define VIRTIO_NET_CTRL_VLAN 2
#define VIRTIO_NET_CTRL_VLAN_ADD 0
#define VIRTIO_NET_CTRL_VLAN_DEL 1
#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

/* ---- limits ---- */

#define VNET_QUEUE_SIZE 256
#define VNET_MAX_SEGS 1024 /* per chain: a queue's size or an indirect table */
#define VNET_TX_BURST 256  /* chains per kick before re-kicking through the loop */
#define VNET_MAC_TABLE 64  /* unicast + multicast entries kept */
#define VNET_CTRL_MAX 1024 /* readable bytes of a control command */
#define VNET_ETH_HLEN 14

struct vnet;

struct vnet_pair {
	struct vnet *vn;
	uint16_t idx;
	struct netdev *nd; /* the backend this pair sends to */
};

struct vnet {
	char name[32];
	pthread_mutex_t lock;
	struct virtio_pci *vp;
	const struct guest_mem *mem;
	struct evloop *loop;
	struct ev_event *tx_kick;
	struct netdev *nds[VNET_MAX_PAIRS];
	uint16_t nr_nds;
	struct vnet_pair pairs[VNET_MAX_PAIRS];
	uint16_t max_pairs;
	uint16_t mtu;
	uint8_t mac[6];
	uint8_t def_mac[6];
	bool backend_vnet; /* the backends take and give a 12-byte vnet header */
	uint64_t offer;

	/* Negotiated state, valid between driver_ok and reset. */
	bool running;
	bool broken;
	uint64_t features;
	uint16_t cur_pairs;
	uint16_t ctrl_q;
	bool tx_pending; /* a burst budget ran out */

	/* Filters (control queue). */
	bool promisc, allmulti;
	uint16_t nr_uni, nr_multi;
	uint8_t macs[VNET_MAC_TABLE][6]; /* unicast first, then multicast */
	bool vlan_filter;
	uint32_t vlans[4096 / 32];
	uint16_t status;

	struct virtq_seg segs[VNET_MAX_SEGS];
	struct iovec iov[VNET_MAX_SEGS + 1];
	struct virtq_seg rx_segs[VNET_MAX_SEGS];
	uint8_t ctrl_buf[VNET_CTRL_MAX];
	struct vnet_stats stats;
};

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline bool has(const struct vnet *vn, int bit)
{
	return vn->features & BIT64(bit);
}

static struct netdev *pair_netdev(const struct vnet *vn, uint16_t pair)
{
	return vn->nr_nds > 1 ? vn->nds[pair] : vn->nds[0];
}

/* The ring went bad: stop this device, tell the driver (NEEDS_RESET). Lock held. */
static void vnet_fault(struct vnet *vn, uint16_t q, int err)
{
	vn->stats.guest_errors++;
	if (vn->broken)
		return;
	vn->broken = true;
	log_warn("%s: queue %u malformed (%s): needs reset", vn->name, q, strerror(-err));
	virtio_pci_set_needs_reset(vn->vp);
}

static void vnet_irq(struct vnet *vn, struct virtq *vq, uint16_t q)
{
	if (virtq_should_notify(vq)) {
		vn->stats.irqs++;
		(void)virtio_pci_notify(vn->vp, q);
	}
}

/* ---- TX ---- */

/* Sends one popped chain; the chain goes back with length 0 whatever happens. */
static void vnet_tx_chain(struct vnet *vn, struct netdev *nd, const struct virtq_chain *c)
{
	uint32_t skip = vn->backend_vnet ? 0 : VNET_HDR_LEN;
	uint32_t frame_len;
	int n = 0, ret;

	/* A header and at least an Ethernet header: no runt or empty frame goes out. */
	if (c->nr_segs != c->nr_read || c->read_len < VNET_HDR_LEN + VNET_ETH_HLEN) {
		vn->stats.guest_errors++;
		vn->stats.tx_dropped++;
		return;
	}
	frame_len = c->read_len - VNET_HDR_LEN;
	if (frame_len > NETDEV_MAX_FRAME - VNET_HDR_LEN) {
		vn->stats.tx_dropped++;
		return;
	}
	for (unsigned int i = 0; i < c->nr_read; i++) {
		const struct virtq_seg *s = &c->segs[i];

		if (s->len <= skip) {
			skip -= s->len;
			continue;
		}
		vn->iov[n].iov_base = (uint8_t *)s->base + skip;
		vn->iov[n].iov_len = s->len - skip;
		skip = 0;
		n++;
	}
	ret = netdev_send(nd, vn->iov, n);
	if (ret < 0) {
		vn->stats.tx_dropped++;
		return;
	}
	vn->stats.tx_frames++;
	vn->stats.tx_bytes += frame_len;
}

/* Processes up to `budget` chains of pair `pair`; true when work is left. Lock held. */
static bool vnet_tx(struct vnet *vn, uint16_t pair, unsigned int budget)
{
	uint16_t q = (uint16_t)(2 * pair + 1);
	struct virtq *vq = virtio_pci_queue(vn->vp, q);
	struct netdev *nd = pair_netdev(vn, pair);
	struct virtq_chain c = { .segs = vn->segs, .cap = VNET_MAX_SEGS };
	unsigned int done = 0, rearms = 0;
	int ret;

	if (!vq || !virtq_enabled(vq))
		return false;
	while (done < budget) {
		ret = virtq_pop(vq, &c);
		if (ret == 0) {
			/* Ask for the next doorbell, then look again: a chain may have slipped in.
			 */
			virtq_set_notification(vq, true);
			if (rearms++ || !virtq_avail_pending(vq))
				break;
			continue;
		}
		if (ret < 0) {
			vnet_fault(vn, q, ret);
			return false;
		}
		vnet_tx_chain(vn, nd, &c);
		ret = virtq_push(vq, c.head, 0);
		if (ret < 0) {
			vnet_fault(vn, q, ret);
			return false;
		}
		done++;
	}
	if (done)
		vnet_irq(vn, vq, q);
	return done == budget && virtq_avail_pending(vq);
}

static void vnet_tx_kick_cb(struct ev_event *ev, void *opaque)
{
	struct vnet *vn = opaque;
	bool again = false;

	(void)ev;
	pthread_mutex_lock(&vn->lock);
	if (vn->running && !vn->broken && vn->tx_pending) {
		vn->tx_pending = false;
		for (uint16_t p = 0; p < vn->cur_pairs && !vn->broken; p++)
			again |= vnet_tx(vn, p, VNET_TX_BURST);
		vn->tx_pending = again;
	}
	pthread_mutex_unlock(&vn->lock);
	if (again)
		evloop_event_signal(vn->tx_kick);
}

/* ---- RX ---- */

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return len;
}

/* Copies up to `len` bytes from offset `off` of the iovec into `dst`; returns bytes copied. */
static size_t iov_copy(uint8_t *dst, const struct iovec *iov, int iovcnt, size_t off, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy(dst + done, (const uint8_t *)iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

static bool mac_in(const struct vnet *vn, unsigned int from, unsigned int n, const uint8_t *a)
{
	for (unsigned int i = from; i < from + n; i++)
		if (memcmp(vn->macs[i], a, 6) == 0)
			return true;
	return false;
}

/* The receive filter as a decision on the first bytes of a frame: true to accept. */
static bool vnet_rx_accept(const struct vnet *vn, const uint8_t *eth, size_t len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (len < VNET_ETH_HLEN)
		return false;
	if (vn->vlan_filter && len >= 16 && eth[12] == 0x81 && eth[13] == 0x00) {
		uint16_t vid = (uint16_t)((eth[14] << 8 | eth[15]) & 0xfff);

		if (!(vn->vlans[vid / 32] & (1u << (vid % 32))))
			return false;
	}
	if (vn->promisc)
		return true;
	if (eth[0] & 1) {
		if (memcmp(eth, bcast, 6) == 0 || vn->allmulti)
			return true;
		return mac_in(vn, vn->nr_uni, vn->nr_multi, eth);
	}
	return memcmp(eth, vn->mac, 6) == 0 || mac_in(vn, 0, vn->nr_uni, eth);
}

/* Copies `len` bytes of `src` (an iovec from offset `off`) into the writable segments. */
static void rx_write(struct virtq_seg *segs, unsigned int nseg, uint32_t *seg_off, unsigned int *si,
		     const uint8_t *hdr, const struct iovec *iov, int iovcnt, size_t off,
		     size_t len)
{
	size_t done = 0;

	while (done < len && *si < nseg) {
		struct virtq_seg *s = &segs[*si];
		size_t room = s->len - *seg_off, l = len - done;

		if (room == 0) {
			(*si)++;
			*seg_off = 0;
			continue;
		}
		if (l > room)
			l = room;
		if (hdr)
			memcpy((uint8_t *)s->base + *seg_off, hdr + done, l);
		else
			iov_copy((uint8_t *)s->base + *seg_off, iov, iovcnt, off + done, l);
		done += l;
		*seg_off += (uint32_t)l;
	}
}

/*
 * Delivers one frame to pair `pair`. Returns the bytes taken, 0 when the
 * ring has no room now, -errno when dropped. Lock held.
 */
static ssize_t vnet_rx(struct vnet *vn, uint16_t pair, const struct iovec *iov, int iovcnt)
{
	uint16_t q = (uint16_t)(2 * pair);
	struct virtq *vq = virtio_pci_queue(vn->vp, q);
	size_t total = iov_total(iov, iovcnt);
	size_t in_hdr = vn->backend_vnet ? VNET_HDR_LEN : 0;
	uint8_t hdr[VNET_HDR_LEN] = { 0 }, eth[16] = { 0 };
	bool mrg = has(vn, VIRTIO_NET_F_MRG_RXBUF);
	struct virtq_chain c;
	uint16_t size, n;
	size_t frame, need, got;
	bool rearmed = false;
	unsigned int nseg = 0, si = 0;
	uint32_t seg_off = 0;
	uint16_t heads[VNET_QUEUE_SIZE];
	uint32_t lens[VNET_QUEUE_SIZE];
	int ret;

	if (!vn->running || vn->broken || !vq || !virtq_enabled(vq) || total < in_hdr) {
		vn->stats.rx_dropped++;
		return -ENETDOWN;
	}
	frame = total - in_hdr;
	if (frame > NETDEV_MAX_FRAME) {
		vn->stats.rx_dropped++;
		return -EMSGSIZE;
	}
	iov_copy(eth, iov, iovcnt, in_hdr, sizeof(eth));
	if (!vnet_rx_accept(vn, eth, frame)) {
		vn->stats.rx_filtered++;
		return (ssize_t)total;
	}
	need = VNET_HDR_LEN + frame;
	size = virtq_size(vq);
	if (size > VNET_QUEUE_SIZE)
		size = VNET_QUEUE_SIZE;
retry:
	n = 0;
	got = 0;
	nseg = 0;
	/* Room for the whole frame first: pop chains until they hold it. */
	while (got < need) {
		if (n >= size || (!mrg && n == 1))
			break;
		c = (struct virtq_chain){ .segs = vn->rx_segs + nseg, .cap = VNET_MAX_SEGS - nseg };
		ret = virtq_pop(vq, &c);
		if (ret < 0) {
			vnet_fault(vn, q, ret);
			return -EIO;
		}
		if (ret == 0) {
			virtq_unpop(vq, n);
			/* Ask for a doorbell on the next buffer, then look once more. */
			virtq_set_notification(vq, true);
			if (!rearmed && virtq_avail_pending(vq)) {
				rearmed = true;
				goto retry;
			}
			vn->stats.rx_no_buffer++;
			return 0;
		}
		/* Keep only the writable segments. */
		for (unsigned int i = c.nr_read; i < c.nr_segs; i++)
			vn->rx_segs[nseg++] = c.segs[i];
		heads[n] = c.head;
		lens[n] = (uint32_t)(need - got < c.write_len ? need - got : c.write_len);
		got += lens[n];
		n++;
		if (nseg >= VNET_MAX_SEGS && got < need)
			break;
	}
	if (got < need) {
		/* The chains cannot hold it (buffer too small, or the whole ring). */
		virtq_unpop(vq, n);
		vn->stats.rx_dropped++;
		return -EMSGSIZE;
	}
	if (in_hdr)
		iov_copy(hdr, iov, iovcnt, 0, VNET_HDR_LEN);
	else
		hdr[1] = VIRTIO_NET_HDR_GSO_NONE; /* gso_type; flags 0: checksum done */
	/* num_buffers: the chains used with MRG_RXBUF, 1 otherwise (5.1.6.4). */
	put_le16(hdr + VNET_HDR_NUM_BUFFERS, n);
	rx_write(vn->rx_segs, nseg, &seg_off, &si, hdr, NULL, 0, 0, VNET_HDR_LEN);
	rx_write(vn->rx_segs, nseg, &seg_off, &si, NULL, iov, iovcnt, in_hdr, frame);
	for (uint16_t i = 0; i < n; i++) {
		ret = virtq_fill(vq, heads[i], lens[i], i);
		if (ret < 0) {
			vnet_fault(vn, q, ret);
			return -EIO;
		}
	}
	virtq_flush(vq, n);
	vn->stats.rx_frames++;
	vn->stats.rx_bytes += frame;
	vnet_irq(vn, vq, q);
	return (ssize_t)total;
}

static ssize_t vnet_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct vnet_pair *p = opaque;
	struct vnet *vn = p->vn;
	ssize_t ret;

	pthread_mutex_lock(&vn->lock);
	ret = vnet_rx(vn, p->idx, iov, iovcnt);
	pthread_mutex_unlock(&vn->lock);
	return ret;
}

static void vnet_link_changed(void *opaque, bool up)
{
	struct vnet_pair *p = opaque;
	struct vnet *vn = p->vn;
	uint16_t old;
	bool changed;

	pthread_mutex_lock(&vn->lock);
	old = vn->status;
	if (up)
		vn->status |= VIRTIO_NET_S_LINK_UP;
	else
		vn->status &= (uint16_t)~VIRTIO_NET_S_LINK_UP;
	changed = old != vn->status;
	pthread_mutex_unlock(&vn->lock);
	if (changed)
		virtio_pci_config_changed(vn->vp);
}

/* ---- control queue ---- */

static uint8_t ctrl_rx(struct vnet *vn, uint8_t cmd, const uint8_t *d, uint32_t len)
{
	if (!has(vn, VIRTIO_NET_F_CTRL_RX) || len != 1)
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC: vn->promisc = d[0] != 0; return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX_ALLMULTI: vn->allmulti = d[0] != 0; return VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR;
}

static uint8_t ctrl_mac(struct vnet *vn, uint8_t cmd, const uint8_t *d, uint32_t len)
{
	uint32_t nu, nm, off;

	if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
		if (len != 6)
			return VIRTIO_NET_ERR;
		memcpy(vn->mac, d, 6);
		return VIRTIO_NET_OK;
	}
	if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || !has(vn, VIRTIO_NET_F_CTRL_RX))
		return VIRTIO_NET_ERR;
	/* Two tables: le32 entries, then entries * 6 bytes; exact lengths. */
	if (len < 4)
		return VIRTIO_NET_ERR;
	nu = get_le32(d);
	if (nu > VNET_MAC_TABLE || len - 4 < nu * 6 + 4)
		return VIRTIO_NET_ERR;
	off = 4 + nu * 6;
	nm = get_le32(d + off);
	if (nm > VNET_MAC_TABLE - nu || len - off - 4 != nm * 6)
		return VIRTIO_NET_ERR;
	memcpy(vn->macs, d + 4, nu * 6);
	memcpy(vn->macs[nu], d + off + 4, nm * 6);
	vn->nr_uni = (uint16_t)nu;
	vn->nr_multi = (uint16_t)nm;
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_vlan(struct vnet *vn, uint8_t cmd, const uint8_t *d, uint32_t len)
{
	uint16_t vid;

	if (!has(vn, VIRTIO_NET_F_CTRL_VLAN) || len != 2)
		return VIRTIO_NET_ERR;
	vid = get_le16(d);
	if (vid >= 4096)
		return VIRTIO_NET_ERR;
	if (cmd == VIRTIO_NET_CTRL_VLAN_ADD)
		vn->vlans[vid / 32] |= 1u << (vid % 32);
	else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL)
		vn->vlans[vid / 32] &= ~(1u << (vid % 32));
	else
		return VIRTIO_NET_ERR;
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(struct vnet *vn, uint8_t cmd, const uint8_t *d, uint32_t len)
{
	uint16_t n;

	if (!has(vn, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
		return VIRTIO_NET_ERR;
	n = get_le16(d);
	if (n < 1 || n > vn->max_pairs)
		return VIRTIO_NET_ERR;
	vn->cur_pairs = n;
	return VIRTIO_NET_OK;
}

static uint8_t vnet_ctrl_cmd(struct vnet *vn, uint8_t class, uint8_t cmd, const uint8_t *d,
			     uint32_t len)
{
	switch (class) {
	case VIRTIO_NET_CTRL_RX: return ctrl_rx(vn, cmd, d, len);
	case VIRTIO_NET_CTRL_MAC: return ctrl_mac(vn, cmd, d, len);
	case VIRTIO_NET_CTRL_VLAN: return ctrl_vlan(vn, cmd, d, len);
	case VIRTIO_NET_CTRL_ANNOUNCE:
		if (cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK || len != 0)
			return VIRTIO_NET_ERR;
		vn->status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MQ: return ctrl_mq(vn, cmd, d, len);
	}
	return VIRTIO_NET_ERR;
}

/* Runs every pending command; bounded by the queue size. Lock held. */
static void vnet_ctrl(struct vnet *vn)
{
	uint16_t q = vn->ctrl_q;
	struct virtq *vq = virtio_pci_queue(vn->vp, q);
	struct virtq_chain c = { .segs = vn->segs, .cap = VNET_MAX_SEGS };
	unsigned int done = 0, rearms = 0;
	int ret;

	if (!vq || !virtq_enabled(vq))
		return;
	while (done < virtq_size(vq)) {
		uint32_t used = 0, rlen;
		uint8_t ack = VIRTIO_NET_ERR;

		ret = virtq_pop(vq, &c);
		if (ret == 0) {
			virtq_set_notification(vq, true);
			if (rearms++ || !virtq_avail_pending(vq))
				break;
			continue;
		}
		if (ret < 0) {
			vnet_fault(vn, q, ret);
			return;
		}
		vn->stats.ctrl_cmds++;
		rlen = c.read_len;
		if (c.write_len >= 1 && rlen >= 2 && rlen <= VNET_CTRL_MAX) {
			uint32_t off = 0;

			/* rlen, the sum of the readable lengths, fits ctrl_buf. */
			for (unsigned int i = 0; i < c.nr_read; i++) {
				if (!c.segs[i].len)
					continue;
				memcpy(vn->ctrl_buf + off, c.segs[i].base, c.segs[i].len);
				off += c.segs[i].len;
			}
			ack = vnet_ctrl_cmd(vn, vn->ctrl_buf[0], vn->ctrl_buf[1], vn->ctrl_buf + 2,
					    rlen - 2);
		}
		if (ack != VIRTIO_NET_OK)
			vn->stats.ctrl_errors++;
		/* The ack is the first device-writable byte. */
		for (unsigned int i = c.nr_read; i < c.nr_segs; i++) {
			if (c.segs[i].len) {
				*(uint8_t *)c.segs[i].base = ack;
				used = 1;
				break;
			}
		}
		ret = virtq_push(vq, c.head, used);
		if (ret < 0) {
			vnet_fault(vn, q, ret);
			return;
		}
		done++;
	}
	if (done)
		vnet_irq(vn, vq, q);
}

/* ---- transport ops ---- */

static uint64_t vnet_get_features(void *opaque)
{
	return ((struct vnet *)opaque)->offer;
}

static void vnet_config_read(void *opaque, uint32_t offset, uint8_t *data, uint32_t len)
{
	struct vnet *vn = opaque;
	uint8_t cfg[VNET_CFG_SIZE];

	pthread_mutex_lock(&vn->lock);
	memcpy(cfg + VNET_CFG_MAC, vn->mac, 6);
	put_le16(cfg + VNET_CFG_STATUS, vn->status);
	put_le16(cfg + VNET_CFG_MAX_PAIRS, vn->max_pairs);
	put_le16(cfg + VNET_CFG_MTU, vn->mtu);
	pthread_mutex_unlock(&vn->lock);
	if (offset < VNET_CFG_SIZE && len <= VNET_CFG_SIZE - offset)
		memcpy(data, cfg + offset, len);
}

static int vnet_features_ok(void *opaque, uint64_t f)
{
	/* 5.1.3.1: the control queue features need the control queue. */
	const uint64_t needs_ctrl = BIT64(VIRTIO_NET_F_CTRL_RX) | BIT64(VIRTIO_NET_F_CTRL_VLAN) |
				    BIT64(VIRTIO_NET_F_MQ);

	(void)opaque;
	if ((f & needs_ctrl) && !(f & BIT64(VIRTIO_NET_F_CTRL_VQ)))
		return -EINVAL;
	return 0;
}

static int vnet_driver_ok(void *opaque)
{
	struct vnet *vn = opaque;

	pthread_mutex_lock(&vn->lock);
	vn->features = virtio_pci_features(vn->vp);
	vn->cur_pairs = 1;
	vn->ctrl_q = has(vn, VIRTIO_NET_F_MQ) ? (uint16_t)(2 * vn->max_pairs) : 2;
	vn->vlan_filter = has(vn, VIRTIO_NET_F_CTRL_VLAN);
	vn->running = true;
	vn->broken = false;
	pthread_mutex_unlock(&vn->lock);
	/* Frames the backends held for lack of buffers may come now. */
	for (uint16_t i = 0; i < vn->nr_nds; i++)
		netdev_rx_resume(vn->nds[i]);
	return 0;
}

/* Back to the power-on state. Lock held. */
static void vnet_clear(struct vnet *vn)
{
	vn->running = false;
	vn->broken = false;
	vn->features = 0;
	vn->cur_pairs = 1;
	vn->ctrl_q = 2;
	vn->tx_pending = false;
	vn->promisc = true; /* 5.1.6.5.1: promiscuous until the driver says otherwise */
	vn->allmulti = true;
	vn->nr_uni = vn->nr_multi = 0;
	vn->vlan_filter = false;
	memset(vn->vlans, 0, sizeof(vn->vlans));
	memcpy(vn->mac, vn->def_mac, 6);
}

static void vnet_reset(void *opaque)
{
	struct vnet *vn = opaque;

	pthread_mutex_lock(&vn->lock);
	vnet_clear(vn);
	pthread_mutex_unlock(&vn->lock);
}

static void vnet_queue_notify(void *opaque, uint16_t q)
{
	struct vnet *vn = opaque;
	struct netdev *resume = NULL;
	bool rekick = false;

	pthread_mutex_lock(&vn->lock);
	vn->stats.kicks++;
	if (!vn->running || vn->broken) {
		pthread_mutex_unlock(&vn->lock);
		return;
	}
	if (q == vn->ctrl_q) {
		vnet_ctrl(vn);
	} else if (q < 2 * vn->max_pairs) {
		uint16_t pair = q / 2;

		if (q & 1) {
			if (vnet_tx(vn, pair, VNET_TX_BURST) && vn->loop && !vn->tx_pending) {
				vn->tx_pending = true;
				rekick = true;
			}
		} else if (vn->nr_nds > 1 || pair == 0) {
			resume = vn->nr_nds > 1 ? vn->nds[pair] : vn->nds[0];
		}
	}
	pthread_mutex_unlock(&vn->lock);
	if (rekick)
		evloop_event_signal(vn->tx_kick);
	if (resume)
		netdev_rx_resume(resume);
}

static const struct virtio_pci_ops vnet_ops = {
	.get_features = vnet_get_features,
	.config_read = vnet_config_read,
	.features_ok = vnet_features_ok,
	.driver_ok = vnet_driver_ok,
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
};

/* ---- life cycle ---- */

struct vnet *vnet_new(struct pci_bus *bus, const struct guest_mem *mem, struct evloop *loop,
		      const struct vnet_config *cfg)
{
	struct virtio_pci_config vcfg = {
		.device_type = VIRTIO_ID_NET,
		.class_code = VNET_CLASS,
		.queue_max_size = VNET_QUEUE_SIZE,
		.config_size = VNET_CFG_SIZE,
		.ops = &vnet_ops,
	};
	const unsigned int offloads = NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6;
	struct vnet *vn;
	uint16_t pairs;

	if (!bus || !mem || !cfg || !cfg->nr_netdevs) {
		log_err("virtio-net: bus, guest memory, config and a netdev are required");
		return NULL;
	}
	pairs = cfg->queue_pairs ? cfg->queue_pairs : 1;
	if (pairs > VNET_MAX_PAIRS || (cfg->nr_netdevs != 1 && cfg->nr_netdevs != pairs)) {
		log_err("virtio-net: %u queue pairs with %u netdevs", pairs, cfg->nr_netdevs);
		return NULL;
	}
	for (uint16_t i = 0; i < cfg->nr_netdevs; i++)
		if (!cfg->netdevs[i]) {
			log_err("virtio-net: netdev %u missing", i);
			return NULL;
		}
	vn = calloc(1, sizeof(*vn));
	if (!vn) {
		log_err("virtio-net: out of memory");
		return NULL;
	}
	snprintf(vn->name, sizeof(vn->name), "%s", cfg->name ? cfg->name : "virtio-net");
	vn->mem = mem;
	vn->loop = loop;
	vn->max_pairs = pairs;
	vn->mtu = cfg->mtu ? cfg->mtu : 1500;
	vn->nr_nds = cfg->nr_netdevs;
	memcpy(vn->def_mac, cfg->mac, 6);
	for (uint16_t i = 0; i < vn->nr_nds; i++)
		vn->nds[i] = cfg->netdevs[i];
	for (uint16_t i = 0; i < pairs; i++)
		vn->pairs[i] = (struct vnet_pair){ .vn = vn, .idx = i, .nd = pair_netdev(vn, i) };
	vn->status = vn->nds[0]->link_up ? VIRTIO_NET_S_LINK_UP : 0;

	/* A vnet header with every backend, or none: offloads only with one. */
	vn->backend_vnet = true;
	for (uint16_t i = 0; i < vn->nr_nds && vn->backend_vnet; i++)
		if (netdev_set_vnet_hdr(vn->nds[i], VNET_HDR_LEN, offloads) < 0)
			vn->backend_vnet = false;
	if (!vn->backend_vnet)
		for (uint16_t i = 0; i < vn->nr_nds; i++)
			(void)netdev_set_vnet_hdr(vn->nds[i], 0, 0);
	vn->offer = BIT64(VIRTIO_NET_F_MAC) | BIT64(VIRTIO_NET_F_STATUS) | BIT64(VIRTIO_NET_F_MTU) |
		    BIT64(VIRTIO_NET_F_MRG_RXBUF) | BIT64(VIRTIO_NET_F_CTRL_VQ) |
		    BIT64(VIRTIO_NET_F_CTRL_RX) | BIT64(VIRTIO_NET_F_CTRL_VLAN) |
		    BIT64(VIRTIO_NET_F_MQ) | BIT64(VIRTIO_F_RING_EVENT_IDX) |
		    BIT64(VIRTIO_F_RING_INDIRECT_DESC);
	if (vn->backend_vnet)
		vn->offer |= BIT64(VIRTIO_NET_F_CSUM) | BIT64(VIRTIO_NET_F_GUEST_CSUM) |
			     BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6) |
			     BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6);

	pthread_mutex_init(&vn->lock, NULL);
	vnet_clear(vn);
	if (loop) {
		vn->tx_kick = evloop_event_new(loop, vnet_tx_kick_cb, vn);
		if (!vn->tx_kick) {
			log_err("%s: cannot create the TX kick event", vn->name);
			goto err_free;
		}
	}
	vcfg.name = vn->name;
	vcfg.num_queues = (uint16_t)(2 * pairs + 1);
	vcfg.opaque = vn;
	vcfg.hooks = cfg->hooks;
	vn->vp = virtio_pci_new(bus, mem, &vcfg);
	if (!vn->vp)
		goto err_event;
	/* Only pair 0 receives from a single backend; each pair from its own otherwise. */
	for (uint16_t i = 0; i < vn->nr_nds; i++) {
		struct netdev_peer p = {
			.receive = vnet_receive,
			.link_changed = vnet_link_changed,
			.opaque = &vn->pairs[i],
		};

		netdev_attach(vn->nds[i], &p);
	}
	return vn;

err_event:
	evloop_event_free(vn->tx_kick);
err_free:
	pthread_mutex_destroy(&vn->lock);
	free(vn);
	return NULL;
}

void vnet_free(struct vnet *vn)
{
	if (!vn)
		return;
	for (uint16_t i = 0; i < vn->nr_nds; i++)
		netdev_attach(vn->nds[i], &(struct netdev_peer){ 0 });
	evloop_event_free(vn->tx_kick);
	virtio_pci_free(vn->vp);
	pthread_mutex_destroy(&vn->lock);
	free(vn);
}

struct virtio_pci *vnet_transport(const struct vnet *vn)
{
	return vn->vp;
}

void vnet_get_stats(struct vnet *vn, struct vnet_stats *st)
{
	pthread_mutex_lock(&vn->lock);
	*st = vn->stats;
	pthread_mutex_unlock(&vn->lock);
}
