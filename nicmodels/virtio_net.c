/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net device type (see virtio_net.h); layouts and rules from VIRTIO
 * 1.2, 5.1: feature bits (5.1.3), device configuration (5.1.4), struct
 * virtio_net_hdr (5.1.6), the control queue (5.1.6.5).
 *
 * Threads and locks:
 *  - each queue pair's datapath runs on the thread that serves it: its
 *    doorbells (an ioeventfd on the pair's I/O thread, or a BAR write on a
 *    vCPU thread), its backend's receive() and its TX re-kick event; pairs
 *    run in parallel with each other;
 *  - vCPU threads: device configuration reads, and the transport's status
 *    callbacks (features_ok, driver_ok, reset) with the transport's mutex
 *    held; the control queue on whichever thread rang its doorbell.
 *  - vn->state (a reader-writer lock, writers preferred) guards what every
 *    queue reads: running, the negotiated features, the active pair count,
 *    the MAC and the receive filters. The datapath holds it for reading
 *    across a burst; driver_ok, reset and control commands take it for
 *    writing, so once reset() returns no datapath touches a queue any
 *    more (the quiescent handshake the transport asks for).
 *  - each pair has rx_lock (its receiveq, its RX scratch and counters) and
 *    tx_lock (its transmitq, TX scratch, counters and re-kick state); the
 *    control queue is used only under vn->state for writing.
 *  - vn->broken is an atomic: any datapath may set it while reading.
 *  - vn->apply_lock orders changes of the active pair count (DRIVER_OK, a
 *    VQ_PAIRS_SET) with the backend calls that follow them.
 *  - Lock order: transport mutex -> apply_lock -> vn->state -> one pair lock -> PCI core
 *    -> backend. state and a pair lock are held across netdev_send()
 *    (backends never call a model back from send) and across
 *    virtio_pci_notify() and virtio_pci_set_needs_reset() (atomics and the
 *    PCI core); NOT across netdev_rx_resume() (a backend without an event
 *    loop reads synchronously from there and re-enters receive()), nor
 *    across netdev_set_queue_enabled() / netdev_set_vnet_hdr(), which run
 *    under apply_lock alone.
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

/* struct virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
#define VNET_HDR_FLAGS 0
#define VNET_HDR_GSO_TYPE 1
#define VNET_HDR_GSO_SIZE 4
#define VNET_HDR_CSUM_START 6
#define VNET_HDR_CSUM_OFFSET 8
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_TCPV6 4

/* ---- limits ---- */

#define VNET_QUEUE_SIZE 256
#define VNET_MAX_SEGS 1024 /* per chain: a queue's size or an indirect table */
#define VNET_TX_BURST 256  /* chains per kick before re-kicking through the loop */
#define VNET_MAC_TABLE 64  /* unicast + multicast entries kept */
#define VNET_CTRL_MAX 1024 /* readable bytes of a control command */
#define VNET_ETH_HLEN 14
/*
 * Bytes of a frame the receive path looks at (filter and steering hash):
 * the deepest field the hash reads is an L4 port after two VLAN tags and a
 * 60-byte IPv4 header (14 + 8 + 60 + 4 = 86) or an IPv6 header (14 + 8 +
 * 40 + 4 = 66).
 */
#define VNET_RX_PEEK 96

struct vnet;

/*
 * One queue pair. The RX half (receiveq 2i) is under rx_lock, the TX half
 * (transmitq 2i + 1) under tx_lock; each half has its own scratch space and
 * counters so that the two run on different threads without sharing.
 */
struct vnet_pair {
	struct vnet *vn;
	uint16_t idx;
	struct netdev *nd; /* the backend this pair sends to */

	pthread_mutex_t rx_lock;
	struct vnet_stats rxs; /* rx_* counters, guest_errors, irqs, kicks of the receiveq */
	uint64_t rx_kicks, rx_irqs;
	struct virtq_seg rx_segs[VNET_MAX_SEGS];
	uint16_t rx_heads[VNET_QUEUE_SIZE];
	uint32_t rx_lens[VNET_QUEUE_SIZE];

	pthread_mutex_t tx_lock;
	struct vnet_stats txs; /* tx_* counters, guest_errors, irqs, kicks of the transmitq */
	uint64_t tx_kicks, tx_irqs;
	struct ev_event *tx_kick; /* re-kick on the pair's loop; NULL: none */
	bool tx_pending;	  /* a burst budget ran out */
	struct virtq_seg tx_segs[VNET_MAX_SEGS];
	struct iovec iov[VNET_MAX_SEGS + 1];
};

struct vnet {
	char name[32];
	pthread_rwlock_t state;
	/*
	 * Orders pair-count changes with their effect on the backends (queue
	 * attach/detach): held from reading the new count under state to the
	 * last netdev call. Lock order: apply_lock -> state.
	 */
	pthread_mutex_t apply_lock;
	struct virtio_pci *vp;
	const struct guest_mem *mem;
	struct netdev *nds[VNET_MAX_PAIRS];
	uint16_t nr_nds;
	struct vnet_pair *pairs[VNET_MAX_PAIRS];
	uint16_t max_pairs;
	uint16_t mtu;
	uint8_t def_mac[6];
	bool backend_vnet; /* the backends take and give a 12-byte vnet header */
	uint64_t offer;
	const struct vnet_vhost_ops *vhost; /* vhost mode; NULL: the model's datapath */
	void *vhost_opaque;
	bool broken; /* atomic */

	/* Under state. Negotiated state, valid between driver_ok and reset. */
	bool running;
	uint64_t features;
	uint16_t cur_pairs;
	uint16_t ctrl_q;
	uint8_t mac[6];
	uint16_t status;
	/* Filters (control queue). */
	bool promisc, allmulti;
	uint16_t nr_uni, nr_multi;
	uint8_t macs[VNET_MAC_TABLE][6]; /* unicast first, then multicast */
	bool vlan_filter;
	uint32_t vlans[4096 / 32];
	/* The control queue (under state, written). */
	struct vnet_stats ctrl_stats; /* ctrl_cmds, ctrl_errors, kicks, irqs, guest_errors */
	struct virtq_seg ctrl_segs[VNET_MAX_SEGS];
	uint8_t ctrl_buf[VNET_CTRL_MAX];
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

static bool is_broken(const struct vnet *vn)
{
	return __atomic_load_n(&vn->broken, __ATOMIC_ACQUIRE);
}

/* The ring went bad: stop this device, tell the driver (NEEDS_RESET). state held. */
static void vnet_fault(struct vnet *vn, struct vnet_stats *st, uint16_t q, int err)
{
	st->guest_errors++;
	if (__atomic_exchange_n(&vn->broken, true, __ATOMIC_ACQ_REL))
		return;
	log_warn("%s: queue %u malformed (%s): needs reset", vn->name, q, strerror(-err));
	virtio_pci_set_needs_reset(vn->vp);
}

static bool vnet_irq(struct vnet *vn, struct virtq *vq, uint16_t q)
{
	if (!virtq_should_notify(vq))
		return false;
	(void)virtio_pci_notify(vn->vp, q);
	return true;
}

/* ---- flow hash (receive steering) ---- */

static uint32_t mix32(uint32_t h, uint32_t v)
{
	/* One round of murmur3's body. */
	v *= 0xcc9e2d51u;
	v = v << 15 | v >> 17;
	v *= 0x1b873593u;
	h ^= v;
	h = h << 13 | h >> 19;
	return h * 5 + 0xe6546b64u;
}

static uint32_t fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

/*
 * Hashes two endpoints (address bytes + port each) in a fixed order, so
 * that (a, b) and (b, a) give the same value.
 */
static uint32_t hash_endpoints(const uint8_t *a, const uint8_t *b, size_t alen, uint16_t pa,
			       uint16_t pb, uint8_t proto)
{
	int c = memcmp(a, b, alen);
	const uint8_t *lo = a, *hi = b;
	uint16_t plo = pa, phi = pb;
	uint32_t h = 0x9747b28cu;

	if (c > 0 || (c == 0 && pa > pb)) {
		lo = b;
		hi = a;
		plo = pb;
		phi = pa;
	}
	for (size_t i = 0; i + 4 <= alen; i += 4)
		h = mix32(h, get_le32(lo + i));
	for (size_t i = 0; i + 4 <= alen; i += 4)
		h = mix32(h, get_le32(hi + i));
	h = mix32(h, (uint32_t)plo << 16 | phi);
	h = mix32(h, proto);
	return fmix32(h ^ (uint32_t)alen);
}

static bool l4_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132; /* TCP, UDP, SCTP */
}

uint32_t vnet_flow_hash(const uint8_t *f, size_t len)
{
	size_t off = 12;
	uint16_t type;

	if (!f || len < VNET_ETH_HLEN)
		return 0;
	type = (uint16_t)(f[off] << 8 | f[off + 1]);
	/* Up to two tags: 802.1ad outer, 802.1Q inner. */
	for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		off += 4;
		if (len < off + 2)
			goto macs;
		type = (uint16_t)(f[off] << 8 | f[off + 1]);
	}
	off += 2;
	if (type == 0x0800 && len >= off + 20 && (f[off] >> 4) == 4) {
		const uint8_t *ip = f + off;
		size_t ihl = (size_t)(ip[0] & 0xf) * 4;
		uint16_t frag = (uint16_t)((ip[6] << 8 | ip[7]) & 0x3fff); /* MF + offset */
		uint16_t sp = 0, dp = 0;

		if (ihl < 20)
			goto macs;
		if (!frag && l4_has_ports(ip[9]) && len >= off + ihl + 4) {
			sp = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]);
			dp = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
		}
		return hash_endpoints(ip + 12, ip + 16, 4, sp, dp, ip[9]);
	}
	if (type == 0x86dd && len >= off + 40 && (f[off] >> 4) == 6) {
		const uint8_t *ip = f + off;
		uint16_t sp = 0, dp = 0;

		/* Ports only right after the fixed header: no extension header walk. */
		if (l4_has_ports(ip[6]) && len >= off + 44) {
			sp = (uint16_t)(ip[40] << 8 | ip[41]);
			dp = (uint16_t)(ip[42] << 8 | ip[43]);
		}
		return hash_endpoints(ip + 8, ip + 24, 16, sp, dp, ip[6]);
	}
macs: {
	uint8_t a[8] = { 0 }, b[8] = { 0 };

	memcpy(a, f, 6);
	memcpy(b, f + 6, 6);
	return hash_endpoints(a, b, 8, 0, 0, 0);
}
}

/* ---- offload headers ---- */

/*
 * May a header with these flags and gso_type travel? `csum`, `tso4` and
 * `tso6` say which offloads that direction negotiated; frame_len is the
 * frame after the header.
 */
static bool hdr_allowed(const uint8_t *hdr, uint32_t frame_len, bool csum, bool tso4, bool tso6,
			bool rx)
{
	uint8_t flags = hdr[VNET_HDR_FLAGS], gso = hdr[VNET_HDR_GSO_TYPE];
	uint8_t known = VIRTIO_NET_HDR_F_NEEDS_CSUM | (rx ? VIRTIO_NET_HDR_F_DATA_VALID : 0);

	if (flags & ~known)
		return false;
	if ((flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) && !csum)
		return false;
	if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint32_t start = get_le16(hdr + VNET_HDR_CSUM_START);
		uint32_t where = start + get_le16(hdr + VNET_HDR_CSUM_OFFSET);

		if (where + 2 > frame_len)
			return false;
	}
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE: return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!tso4)
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!tso6)
			return false;
		break;
	default: return false; /* UDP, ECN: never offered */
	}
	/*
	 * A segmented frame carries a checksum to complete, or (from the host
	 * only) one already validated; and a segment size.
	 */
	return (flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) &&
	       get_le16(hdr + VNET_HDR_GSO_SIZE) != 0;
}

/* ---- TX ---- */

/* Copies the first `len` readable bytes of a chain into dst. */
static void chain_peek(const struct virtq_chain *c, uint8_t *dst, uint32_t len)
{
	uint32_t done = 0;

	for (unsigned int i = 0; i < c->nr_read && done < len; i++) {
		uint32_t l = c->segs[i].len;

		if (l > len - done)
			l = len - done;
		if (l)
			memcpy(dst + done, c->segs[i].base, l);
		done += l;
	}
}

/* Sends one popped chain; the chain goes back with length 0 whatever happens. */
static void vnet_tx_chain(struct vnet *vn, struct vnet_pair *p, const struct virtq_chain *c)
{
	uint32_t skip = vn->backend_vnet ? 0 : VNET_HDR_LEN;
	uint8_t hdr[VNET_HDR_LEN];
	uint32_t frame_len;
	int n = 0, ret;

	/* A header and at least an Ethernet header: no runt or empty frame goes out. */
	if (c->nr_segs != c->nr_read || c->read_len < VNET_HDR_LEN + VNET_ETH_HLEN) {
		p->txs.guest_errors++;
		p->txs.tx_dropped++;
		return;
	}
	frame_len = c->read_len - VNET_HDR_LEN;
	if (frame_len > NETDEV_MAX_FRAME - VNET_HDR_LEN) {
		p->txs.tx_dropped++;
		return;
	}
	/* Offloads the driver did not negotiate never reach the backend. */
	chain_peek(c, hdr, VNET_HDR_LEN);
	if (!hdr_allowed(hdr, frame_len, has(vn, VIRTIO_NET_F_CSUM), has(vn, VIRTIO_NET_F_HOST_TSO4),
			 has(vn, VIRTIO_NET_F_HOST_TSO6), false)) {
		p->txs.guest_errors++;
		p->txs.tx_dropped++;
		return;
	}
	for (unsigned int i = 0; i < c->nr_read; i++) {
		const struct virtq_seg *s = &c->segs[i];

		if (s->len <= skip) {
			skip -= s->len;
			continue;
		}
		p->iov[n].iov_base = (uint8_t *)s->base + skip;
		p->iov[n].iov_len = s->len - skip;
		skip = 0;
		n++;
	}
	ret = netdev_send(p->nd, p->iov, n);
	if (ret < 0) {
		p->txs.tx_dropped++;
		return;
	}
	p->txs.tx_frames++;
	p->txs.tx_bytes += frame_len;
}

/* Processes up to `budget` chains of pair p; true when work is left. state + tx_lock held. */
static bool vnet_tx(struct vnet *vn, struct vnet_pair *p, unsigned int budget)
{
	uint16_t q = (uint16_t)(2 * p->idx + 1);
	struct virtq *vq = virtio_pci_queue(vn->vp, q);
	struct virtq_chain c = { .segs = p->tx_segs, .cap = VNET_MAX_SEGS };
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
			vnet_fault(vn, &p->txs, q, ret);
			return false;
		}
		vnet_tx_chain(vn, p, &c);
		ret = virtq_push(vq, c.head, 0);
		if (ret < 0) {
			vnet_fault(vn, &p->txs, q, ret);
			return false;
		}
		done++;
	}
	if (done && vnet_irq(vn, vq, q))
		p->tx_irqs++;
	if (done < budget)
		return false; /* the ring ran dry: the next doorbell was asked for above */
	/*
	 * The budget is spent. If the ring looks empty now, the loop above never
	 * asked for the next doorbell (with EVENT_IDX avail_event would stay
	 * behind and the driver would never ring again): ask, then look once more.
	 */
	if (!virtq_avail_pending(vq)) {
		virtq_set_notification(vq, true);
		if (!virtq_avail_pending(vq))
			return false;
	}
	/* Without a re-kick event the rest waits for a doorbell: ask for one. */
	if (!p->tx_kick)
		virtq_set_notification(vq, true);
	return true;
}

/* Runs pair p's transmitq; arms the re-kick when the budget ran out. */
static void vnet_tx_run(struct vnet *vn, struct vnet_pair *p)
{
	bool again = false;

	pthread_rwlock_rdlock(&vn->state);
	pthread_mutex_lock(&p->tx_lock);
	__atomic_store_n(&p->tx_pending, false, __ATOMIC_RELAXED);
	if (vn->running && !is_broken(vn))
		again = vnet_tx(vn, p, VNET_TX_BURST) && p->tx_kick;
	__atomic_store_n(&p->tx_pending, again, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->tx_lock);
	pthread_rwlock_unlock(&vn->state);
	if (again)
		evloop_event_signal(p->tx_kick);
}

static void vnet_tx_kick_cb(struct ev_event *ev, void *opaque)
{
	struct vnet_pair *p = opaque;

	(void)ev;
	if (__atomic_load_n(&p->tx_pending, __ATOMIC_RELAXED))
		vnet_tx_run(p->vn, p);
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
 * Delivers one frame (already accepted by the filter) to pair p. Returns
 * the bytes taken, 0 when the ring has no room now, -errno when dropped.
 * state + p->rx_lock held.
 */
static ssize_t vnet_rx(struct vnet *vn, struct vnet_pair *p, const struct iovec *iov, int iovcnt,
		       const uint8_t *in_hdr_bytes)
{
	uint16_t q = (uint16_t)(2 * p->idx);
	struct virtq *vq = virtio_pci_queue(vn->vp, q);
	size_t total = iov_total(iov, iovcnt);
	size_t in_hdr = vn->backend_vnet ? VNET_HDR_LEN : 0;
	uint8_t hdr[VNET_HDR_LEN] = { 0 };
	bool mrg = has(vn, VIRTIO_NET_F_MRG_RXBUF);
	struct virtq_chain c;
	uint16_t size, n;
	size_t frame = total - in_hdr, need, got;
	bool rearmed = false;
	unsigned int nseg = 0, si = 0;
	uint32_t seg_off = 0;
	int ret;

	if (!vq || !virtq_enabled(vq)) {
		p->rxs.rx_dropped++;
		return -ENETDOWN;
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
		c = (struct virtq_chain){ .segs = p->rx_segs + nseg, .cap = VNET_MAX_SEGS - nseg };
		ret = virtq_pop(vq, &c);
		if (ret < 0) {
			vnet_fault(vn, &p->rxs, q, ret);
			return -EIO;
		}
		if (ret == 0) {
			/*
			 * Ask for a doorbell on the next buffer, then look once
			 * more. Armed before the unpop, with every available
			 * chain popped: with MRG_RXBUF the chains given back
			 * (too few for this frame) are already available, and
			 * avail_event must name the first one the driver has
			 * yet to add, or it would never ring.
			 */
			virtq_set_notification(vq, true);
			virtq_unpop(vq, n);
			if (!rearmed && virtq_avail_pending(vq)) {
				rearmed = true;
				goto retry;
			}
			p->rxs.rx_no_buffer++;
			return 0;
		}
		/* Keep only the writable segments. */
		for (unsigned int i = c.nr_read; i < c.nr_segs; i++)
			p->rx_segs[nseg++] = c.segs[i];
		p->rx_heads[n] = c.head;
		p->rx_lens[n] = (uint32_t)(need - got < c.write_len ? need - got : c.write_len);
		got += p->rx_lens[n];
		n++;
		if (nseg >= VNET_MAX_SEGS && got < need)
			break;
	}
	if (got < need) {
		/* The chains cannot hold it (buffer too small, or the whole ring). */
		virtq_unpop(vq, n);
		p->rxs.rx_dropped++;
		return -EMSGSIZE;
	}
	if (in_hdr)
		memcpy(hdr, in_hdr_bytes, VNET_HDR_LEN);
	else
		hdr[VNET_HDR_GSO_TYPE] = VIRTIO_NET_HDR_GSO_NONE; /* flags 0: checksum done */
	/* num_buffers: the chains used with MRG_RXBUF, 1 otherwise (5.1.6.4). */
	put_le16(hdr + VNET_HDR_NUM_BUFFERS, n);
	rx_write(p->rx_segs, nseg, &seg_off, &si, hdr, NULL, 0, 0, VNET_HDR_LEN);
	rx_write(p->rx_segs, nseg, &seg_off, &si, NULL, iov, iovcnt, in_hdr, frame);
	for (uint16_t i = 0; i < n; i++) {
		ret = virtq_fill(vq, p->rx_heads[i], p->rx_lens[i], i);
		if (ret < 0) {
			vnet_fault(vn, &p->rxs, q, ret);
			return -EIO;
		}
	}
	virtq_flush(vq, n);
	p->rxs.rx_frames++;
	p->rxs.rx_bytes += frame;
	if (vnet_irq(vn, vq, q))
		p->rx_irqs++;
	return (ssize_t)total;
}

/*
 * A frame from the backend of pair `from`: checked against the device
 * state, filtered, steered (see virtio_net.h) and delivered.
 */
static ssize_t vnet_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct vnet_pair *from = opaque, *p;
	struct vnet *vn = from->vn;
	size_t total = iov_total(iov, iovcnt);
	size_t in_hdr = vn->backend_vnet ? VNET_HDR_LEN : 0;
	uint8_t hdr[VNET_HDR_LEN] = { 0 }, eth[VNET_RX_PEEK] = { 0 };
	size_t frame, peek;
	uint16_t target;
	ssize_t ret;

	pthread_rwlock_rdlock(&vn->state);
	if (!vn->running || is_broken(vn) || total < in_hdr) {
		ret = -ENETDOWN;
		goto drop;
	}
	frame = total - in_hdr;
	if (frame > NETDEV_MAX_FRAME) {
		ret = -EMSGSIZE;
		goto drop;
	}
	peek = iov_copy(eth, iov, iovcnt, in_hdr, sizeof(eth));
	if (in_hdr) {
		iov_copy(hdr, iov, iovcnt, 0, VNET_HDR_LEN);
		/* What the host hands over must be what the guest agreed to take. */
		if (!hdr_allowed(hdr, (uint32_t)frame, has(vn, VIRTIO_NET_F_GUEST_CSUM),
				 has(vn, VIRTIO_NET_F_GUEST_TSO4), has(vn, VIRTIO_NET_F_GUEST_TSO6),
				 true)) {
			ret = -EPROTO;
			goto drop;
		}
	}
	if (!vnet_rx_accept(vn, eth, frame)) {
		p = from;
		pthread_mutex_lock(&p->rx_lock);
		p->rxs.rx_filtered++;
		pthread_mutex_unlock(&p->rx_lock);
		pthread_rwlock_unlock(&vn->state);
		return (ssize_t)total;
	}
	if (vn->nr_nds > 1 && from->idx < vn->cur_pairs)
		target = from->idx;
	else
		target = (uint16_t)(vnet_flow_hash(eth, peek) % vn->cur_pairs);
	p = vn->pairs[target];
	pthread_mutex_lock(&p->rx_lock);
	ret = vnet_rx(vn, p, iov, iovcnt, hdr);
	/*
	 * A queue the host should no longer use (detached, left over from a
	 * larger pair count) is not woken by the target's doorbells: drop
	 * rather than wait.
	 */
	if (ret == 0 && p != from && vn->nr_nds > 1) {
		p->rxs.rx_dropped++;
		ret = -ENOBUFS;
	}
	pthread_mutex_unlock(&p->rx_lock);
	pthread_rwlock_unlock(&vn->state);
	return ret;

drop:
	pthread_mutex_lock(&from->rx_lock);
	from->rxs.rx_dropped++;
	pthread_mutex_unlock(&from->rx_lock);
	pthread_rwlock_unlock(&vn->state);
	return ret;
}

static void vnet_link_changed(void *opaque, bool up)
{
	struct vnet_pair *p = opaque;

	vnet_set_link(p->vn, up);
}

void vnet_set_link(struct vnet *vn, bool up)
{
	uint16_t old;
	bool changed;

	pthread_rwlock_wrlock(&vn->state);
	old = vn->status;
	if (up)
		vn->status |= VIRTIO_NET_S_LINK_UP;
	else
		vn->status &= (uint16_t)~VIRTIO_NET_S_LINK_UP;
	changed = old != vn->status;
	pthread_rwlock_unlock(&vn->state);
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

/* Runs every pending command; bounded by the queue size. state held for writing. */
static void vnet_ctrl(struct vnet *vn)
{
	uint16_t q = vn->ctrl_q;
	struct virtq *vq = virtio_pci_queue(vn->vp, q);
	struct virtq_chain c = { .segs = vn->ctrl_segs, .cap = VNET_MAX_SEGS };
	struct vnet_stats *st = &vn->ctrl_stats;
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
			vnet_fault(vn, st, q, ret);
			return;
		}
		st->ctrl_cmds++;
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
			st->ctrl_errors++;
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
			vnet_fault(vn, st, q, ret);
			return;
		}
		done++;
	}
	if (done && vnet_irq(vn, vq, q))
		st->irqs++;
}

/*
 * The backends follow the active pair count: queues of pairs the driver
 * does not use leave the host's steering (a multiqueue tap detaches them),
 * and queues that came back are read again. No lock held.
 */
static void vnet_apply_pairs(struct vnet *vn, uint16_t old_pairs, uint16_t new_pairs)
{
	if (vn->vhost) {
		vn->vhost->set_pairs(vn->vhost_opaque, new_pairs);
		return;
	}
	if (vn->nr_nds < 2) {
		/*
		 * One backend for every pair: a frame it holds for a pair that
		 * just left would wait for that pair's doorbell forever; read
		 * again so that it is steered to an active pair.
		 */
		if (old_pairs && new_pairs < old_pairs)
			netdev_rx_resume(vn->nds[0]);
		return;
	}
	for (uint16_t i = 0; i < vn->nr_nds; i++) {
		bool on = i < new_pairs;
		int ret;

		if (old_pairs && (i < old_pairs) == on)
			continue;
		ret = netdev_set_queue_enabled(vn->nds[i], on);
		if (ret < 0 && ret != -ENOTSUP)
			log_warn_rl("%s: cannot %s queue %u of %s: %s", vn->name,
				    on ? "attach" : "detach", i, vn->nds[i]->name, strerror(-ret));
		/* Read again: a frame it held goes to an active pair (or is dropped). */
		netdev_rx_resume(vn->nds[i]);
	}
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

	pthread_rwlock_rdlock(&vn->state);
	memcpy(cfg + VNET_CFG_MAC, vn->mac, 6);
	put_le16(cfg + VNET_CFG_STATUS, vn->status);
	put_le16(cfg + VNET_CFG_MAX_PAIRS, vn->max_pairs);
	put_le16(cfg + VNET_CFG_MTU, vn->mtu);
	pthread_rwlock_unlock(&vn->state);
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
	/* 5.1.3.1: TSO needs the checksum offload of the same direction. */
	if ((f & (BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6))) &&
	    !(f & BIT64(VIRTIO_NET_F_CSUM)))
		return -EINVAL;
	if ((f & (BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6))) &&
	    !(f & BIT64(VIRTIO_NET_F_GUEST_CSUM)))
		return -EINVAL;
	return 0;
}

/* What the host may hand the guest: the guest's receive offloads. */
static unsigned int vnet_rx_offloads(const struct vnet *vn)
{
	unsigned int off = 0;

	if (has(vn, VIRTIO_NET_F_GUEST_CSUM)) {
		off |= NETDEV_OFF_CSUM;
		if (has(vn, VIRTIO_NET_F_GUEST_TSO4))
			off |= NETDEV_OFF_TSO4;
		if (has(vn, VIRTIO_NET_F_GUEST_TSO6))
			off |= NETDEV_OFF_TSO6;
	}
	return off;
}

static int vnet_driver_ok(void *opaque)
{
	struct vnet *vn = opaque;
	unsigned int offloads;

	pthread_mutex_lock(&vn->apply_lock);
	pthread_rwlock_wrlock(&vn->state);
	vn->features = virtio_pci_features(vn->vp);
	vn->cur_pairs = 1;
	vn->ctrl_q = has(vn, VIRTIO_NET_F_MQ) ? (uint16_t)(2 * vn->max_pairs) : 2;
	vn->vlan_filter = has(vn, VIRTIO_NET_F_CTRL_VLAN);
	offloads = vnet_rx_offloads(vn);
	__atomic_store_n(&vn->broken, false, __ATOMIC_RELEASE);
	vn->running = true;
	pthread_rwlock_unlock(&vn->state);
	if (vn->vhost) {
		/* The data queues go to the backend; pairs beyond the first wait disabled. */
		vn->vhost->start(vn->vhost_opaque, vn->features);
		pthread_mutex_unlock(&vn->apply_lock);
		return 0;
	}
	if (vn->backend_vnet)
		for (uint16_t i = 0; i < vn->nr_nds; i++)
			if (netdev_set_vnet_hdr(vn->nds[i], VNET_HDR_LEN, offloads) < 0)
				log_warn("%s: %s refused the offloads 0x%x: offloaded frames "
					 "from it will be dropped",
					 vn->name, vn->nds[i]->name, offloads);
	/* One pair until the driver asks for more (5.1.6.5.5); held frames may come now. */
	vnet_apply_pairs(vn, 0, 1);
	if (vn->nr_nds < 2)
		netdev_rx_resume(vn->nds[0]);
	pthread_mutex_unlock(&vn->apply_lock);
	return 0;
}

/* Back to the power-on state. state held for writing. */
static void vnet_clear(struct vnet *vn)
{
	vn->running = false;
	__atomic_store_n(&vn->broken, false, __ATOMIC_RELEASE);
	vn->features = 0;
	vn->cur_pairs = 1;
	vn->ctrl_q = 2;
	vn->promisc = true; /* 5.1.6.5.1: promiscuous until the driver says otherwise */
	vn->allmulti = true;
	vn->nr_uni = vn->nr_multi = 0;
	vn->vlan_filter = false;
	memset(vn->vlans, 0, sizeof(vn->vlans));
	memcpy(vn->mac, vn->def_mac, 6);
	for (uint16_t i = 0; i < vn->max_pairs; i++)
		__atomic_store_n(&vn->pairs[i]->tx_pending, false, __ATOMIC_RELAXED);
}

static void vnet_reset(void *opaque)
{
	struct vnet *vn = opaque;
	bool was_running;

	if (vn->vhost) {
		pthread_mutex_lock(&vn->apply_lock);
		pthread_rwlock_rdlock(&vn->state);
		was_running = vn->running;
		pthread_rwlock_unlock(&vn->state);
		/* The backend lets go of the rings before the transport resets them. */
		if (was_running)
			vn->vhost->stop(vn->vhost_opaque);
		pthread_mutex_unlock(&vn->apply_lock);
	}
	/* Waits for every datapath burst in flight: none starts on a running device after. */
	pthread_rwlock_wrlock(&vn->state);
	vnet_clear(vn);
	pthread_rwlock_unlock(&vn->state);
}

/* A doorbell of control queue index q: its commands, then their effect on the backends. */
static void vnet_ctrl_kick(struct vnet *vn, uint16_t q)
{
	uint16_t old = 0, now = 0;

	pthread_mutex_lock(&vn->apply_lock);
	pthread_rwlock_wrlock(&vn->state);
	vn->ctrl_stats.kicks++;
	if (vn->running && !is_broken(vn) && q == vn->ctrl_q) {
		old = vn->cur_pairs;
		vnet_ctrl(vn);
		now = vn->cur_pairs;
	}
	pthread_rwlock_unlock(&vn->state);
	if (old != now)
		vnet_apply_pairs(vn, old, now);
	pthread_mutex_unlock(&vn->apply_lock);
}

static void vnet_queue_notify(void *opaque, uint16_t q)
{
	struct vnet *vn = opaque;
	struct vnet_pair *p;
	struct netdev *resume = NULL;

	if (q >= 2 * vn->max_pairs) {
		vnet_ctrl_kick(vn, q);
		return;
	}
	p = vn->pairs[q / 2];
	if (vn->vhost && q != vn->ctrl_q) {
		/* The ring is the backend's: hand it the doorbell (ctrl_q is set at DRIVER_OK). */
		vn->vhost->kick(vn->vhost_opaque, q);
		return;
	}
	if (q & 1) {
		pthread_mutex_lock(&p->tx_lock);
		p->tx_kicks++;
		pthread_mutex_unlock(&p->tx_lock);
		/* Without MQ, index 2 is the control queue (5.1.2). */
		vnet_tx_run(vn, p);
		return;
	}
	pthread_rwlock_rdlock(&vn->state);
	if (q == vn->ctrl_q) {
		/* Index 2 without MQ: the control queue, which needs state for writing. */
		pthread_rwlock_unlock(&vn->state);
		vnet_ctrl_kick(vn, q);
		return;
	}
	pthread_mutex_lock(&p->rx_lock);
	p->rx_kicks++;
	pthread_mutex_unlock(&p->rx_lock);
	if (vn->running && !is_broken(vn))
		resume = vn->nr_nds > 1 ? vn->nds[p->idx] : vn->nds[0];
	pthread_rwlock_unlock(&vn->state);
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

static void vnet_pairs_free(struct vnet *vn)
{
	for (uint16_t i = 0; i < VNET_MAX_PAIRS; i++) {
		struct vnet_pair *p = vn->pairs[i];

		if (!p)
			continue;
		evloop_event_free(p->tx_kick);
		pthread_mutex_destroy(&p->rx_lock);
		pthread_mutex_destroy(&p->tx_lock);
		free(p);
		vn->pairs[i] = NULL;
	}
}

static int vnet_pairs_new(struct vnet *vn, struct evloop *loop, const struct vnet_config *cfg)
{
	for (uint16_t i = 0; i < vn->max_pairs; i++) {
		struct evloop *l = cfg->loops[i] ? cfg->loops[i] : loop;
		struct vnet_pair *p = calloc(1, sizeof(*p));

		if (!p) {
			log_err("%s: out of memory", vn->name);
			return -ENOMEM;
		}
		p->vn = vn;
		p->idx = i;
		p->nd = vn->nr_nds > 1 ? vn->nds[i] : vn->nds[0];
		pthread_mutex_init(&p->rx_lock, NULL);
		pthread_mutex_init(&p->tx_lock, NULL);
		vn->pairs[i] = p;
		if (l) {
			p->tx_kick = evloop_event_new(l, vnet_tx_kick_cb, p);
			if (!p->tx_kick) {
				log_err("%s: cannot create the TX kick event of pair %u", vn->name, i);
				return -ENOMEM;
			}
		}
	}
	return 0;
}

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
	pthread_rwlockattr_t attr;
	struct vnet *vn;
	uint16_t pairs;

	if (!bus || !mem || !cfg || (!cfg->nr_netdevs && !cfg->vhost)) {
		log_err("virtio-net: bus, guest memory, config and a netdev (or vhost) are required");
		return NULL;
	}
	pairs = cfg->queue_pairs ? cfg->queue_pairs : 1;
	if (pairs > VNET_MAX_PAIRS ||
	    (cfg->vhost ? cfg->nr_netdevs != 0
			: cfg->nr_netdevs != 1 && cfg->nr_netdevs != pairs)) {
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
	vn->max_pairs = pairs;
	vn->mtu = cfg->mtu ? cfg->mtu : 1500;
	vn->nr_nds = cfg->nr_netdevs;
	memcpy(vn->def_mac, cfg->mac, 6);
	for (uint16_t i = 0; i < vn->nr_nds; i++)
		vn->nds[i] = cfg->netdevs[i];
	vn->vhost = cfg->vhost;
	vn->vhost_opaque = cfg->vhost_opaque;
	/* vhost mode: down until a backend runs the rings. */
	vn->status = vn->nr_nds && vn->nds[0]->link_up ? VIRTIO_NET_S_LINK_UP : 0;

	/*
	 * A vnet header with every backend, or none: offloads only with one.
	 * Until a driver negotiates receive offloads the host hands over none.
	 * vhost mode offers none (a backend's offloads are not known before
	 * it connects, which may be after the driver read the features).
	 */
	vn->backend_vnet = !vn->vhost;
	for (uint16_t i = 0; i < vn->nr_nds && vn->backend_vnet; i++)
		if (netdev_set_vnet_hdr(vn->nds[i], VNET_HDR_LEN, offloads) < 0 ||
		    netdev_set_vnet_hdr(vn->nds[i], VNET_HDR_LEN, 0) < 0)
			vn->backend_vnet = false;
	if (!vn->backend_vnet)
		for (uint16_t i = 0; i < vn->nr_nds; i++)
			(void)netdev_set_vnet_hdr(vn->nds[i], 0, 0);
	vn->offer = BIT64(VIRTIO_NET_F_MAC) | BIT64(VIRTIO_NET_F_STATUS) | BIT64(VIRTIO_NET_F_MTU) |
		    BIT64(VIRTIO_NET_F_MRG_RXBUF) | BIT64(VIRTIO_NET_F_CTRL_VQ) |
		    BIT64(VIRTIO_NET_F_CTRL_RX) | BIT64(VIRTIO_NET_F_CTRL_VLAN) |
		    BIT64(VIRTIO_NET_F_MQ) | BIT64(VIRTIO_F_RING_EVENT_IDX) |
		    BIT64(VIRTIO_F_RING_INDIRECT_DESC);
	if (cfg->no_event_idx)
		vn->offer &= ~BIT64(VIRTIO_F_RING_EVENT_IDX);
	if (vn->backend_vnet)
		vn->offer |= BIT64(VIRTIO_NET_F_CSUM) | BIT64(VIRTIO_NET_F_GUEST_CSUM) |
			     BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6) |
			     BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6);

	/* Writers first: a control command or a reset is not starved by busy queues. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&vn->state, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&vn->apply_lock, NULL);
	if (vnet_pairs_new(vn, loop, cfg) < 0)
		goto err_free;
	vnet_clear(vn);
	vcfg.name = vn->name;
	vcfg.num_queues = (uint16_t)(2 * pairs + 1);
	vcfg.opaque = vn;
	vcfg.hooks = cfg->hooks;
	vcfg.no_msix = cfg->no_msix;
	vcfg.slot = cfg->pci_slot;
	vn->vp = virtio_pci_new(bus, mem, &vcfg);
	if (!vn->vp)
		goto err_free;
	/* Pair i receives from netdev i; a single backend delivers through pair 0. */
	for (uint16_t i = 0; i < vn->nr_nds; i++) {
		struct netdev_peer p = {
			.receive = vnet_receive,
			.link_changed = vnet_link_changed,
			.opaque = vn->pairs[i],
		};

		netdev_attach(vn->nds[i], &p);
	}
	return vn;

err_free:
	vnet_pairs_free(vn);
	pthread_mutex_destroy(&vn->apply_lock);
	pthread_rwlock_destroy(&vn->state);
	free(vn);
	return NULL;
}

void vnet_free(struct vnet *vn)
{
	if (!vn)
		return;
	for (uint16_t i = 0; i < vn->nr_nds; i++)
		netdev_attach(vn->nds[i], &(struct netdev_peer){ 0 });
	virtio_pci_free(vn->vp);
	vnet_pairs_free(vn);
	pthread_mutex_destroy(&vn->apply_lock);
	pthread_rwlock_destroy(&vn->state);
	free(vn);
}

struct virtio_pci *vnet_transport(const struct vnet *vn)
{
	return vn->vp;
}

static void stats_add(struct vnet_stats *a, const struct vnet_stats *b)
{
	const uint64_t *src = (const uint64_t *)b;
	uint64_t *dst = (uint64_t *)a;

	/* struct vnet_stats is a row of uint64_t counters. */
	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

void vnet_get_stats(struct vnet *vn, struct vnet_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint16_t i = 0; i < vn->max_pairs; i++) {
		struct vnet_pair *p = vn->pairs[i];

		pthread_mutex_lock(&p->rx_lock);
		stats_add(st, &p->rxs);
		st->kicks += p->rx_kicks;
		st->irqs += p->rx_irqs;
		pthread_mutex_unlock(&p->rx_lock);
		pthread_mutex_lock(&p->tx_lock);
		stats_add(st, &p->txs);
		st->kicks += p->tx_kicks;
		st->irqs += p->tx_irqs;
		pthread_mutex_unlock(&p->tx_lock);
	}
	pthread_rwlock_rdlock(&vn->state);
	/* ctrl_stats is written under state for writing: a read lock sees it whole. */
	stats_add(st, &vn->ctrl_stats);
	pthread_rwlock_unlock(&vn->state);
}

int vnet_get_queue_stats(struct vnet *vn, uint16_t pair, struct vnet_queue_stats *st)
{
	struct vnet_pair *p;

	if (pair >= vn->max_pairs)
		return -ENOENT;
	p = vn->pairs[pair];
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->rx_lock);
	st->rx_frames = p->rxs.rx_frames;
	st->rx_bytes = p->rxs.rx_bytes;
	st->rx_no_buffer = p->rxs.rx_no_buffer;
	st->rx_kicks = p->rx_kicks;
	st->rx_irqs = p->rx_irqs;
	pthread_mutex_unlock(&p->rx_lock);
	pthread_mutex_lock(&p->tx_lock);
	st->tx_frames = p->txs.tx_frames;
	st->tx_bytes = p->txs.tx_bytes;
	st->tx_kicks = p->tx_kicks;
	st->tx_irqs = p->tx_irqs;
	pthread_mutex_unlock(&p->tx_lock);
	return 0;
}

uint16_t vnet_max_pairs(const struct vnet *vn)
{
	return vn->max_pairs;
}

uint16_t vnet_active_pairs(struct vnet *vn)
{
	uint16_t n;

	pthread_rwlock_rdlock(&vn->state);
	n = vn->cur_pairs;
	pthread_rwlock_unlock(&vn->state);
	return n;
}
