// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest driver for virtio-net over modern virtio-pci (virtio 1.x):
 * 1af4:1041, and transitional 1af4:1000 devices driven through their
 * modern capabilities. N queue pairs (multiqueue through the control
 * queue), split virtqueues, MSI-X (one vector per queue pair plus one for
 * configuration changes), INTx through the ISR when there is no MSI-X, or
 * polling.
 *
 * Reference: VIRTIO 1.2, 5.1 (network device: feature bits, device
 * configuration, struct virtio_net_hdr, receive and transmit, control
 * virtqueue, multiqueue) on top of the transport in virtio_pci.c.
 *
 * Packet path, per queue pair and owned by one CPU (netif_queue_cpu):
 *   RX: descriptor i is RX slot i. Each posted buffer starts hdr_len (12)
 *       bytes before pkt->data, inside the headroom, so the device writes
 *       the virtio_net_hdr there and the frame lands at pkt->data.
 *       With MRG_RXBUF buffers hold 12 + 2048 bytes and a longer frame
 *       comes in num_buffers of them (5.1.6.4): its bytes are copied, in
 *       used-ring order, into one buffer of the queue's big pool (sized
 *       for the MTU, or a 9014-byte jumbo frame without VIRTIO_NET_F_MTU)
 *       and the small buffers go back to the ring. Without MRG_RXBUF every
 *       buffer holds one whole frame (5.1.6.3.1): 12 + 2048 bytes, or
 *       more when the device offers an MTU above 2030 (VIRTIO_NET_F_MTU,
 *       5.1.4.2: room for one frame of mtu + 14, plus a VLAN tag). No
 *       GUEST_TSO/UFO is negotiated, so 65562-byte buffers are never
 *       needed.
 *   TX: one descriptor per frame, header zeroed in the headroom in front
 *       of the frame (no offloads); a frame with less headroom gets a
 *       two-descriptor chain with a shared zero header. A jumbo frame is
 *       one large buffer (the NF modes allocate them so). Completed frames
 *       are reclaimed from the used ring inside tx_burst.
 *   Doorbells: with EVENT_IDX, only when the published avail range crosses
 *   the device's avail_event (for RX: when the device had run out of
 *   buffers), else unless the device set NO_NOTIFY. Interrupts: used_event
 *   (or NO_INTERRUPT) keeps them off except while the NF loop has armed
 *   the queue before idling.
 */
#include "netif.h"
#include "virtio_pci.h"

/* virtio-net feature bits (5.1.3). */
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_MQ		22

/* struct virtio_net_config (5.1.4). */
#define VNET_CFG_MAC		0
#define VNET_CFG_STATUS		6
#define VNET_CFG_MAX_PAIRS	8
#define VNET_CFG_MTU		10
#define VNET_MTU_MIN		68
#define VNET_MTU_MAX		(ETH_FRAME_JUMBO - 14)	/* the longest frame nfguest handles */
#define VNET_S_LINK_UP		1
#define VNET_MQ_PAIRS_MAX	0x8000

/* Control queue (5.1.6.5): class, command, data, then a one-byte ack. */
#define VNET_CTRL_MQ		4
#define VNET_CTRL_MQ_VQ_PAIRS_SET 0
#define VNET_OK			0
#define VNET_CTRL_SIZE		8	/* entries in the control queue */
#define VNET_CTRL_WAIT_NS	1000000000ull

/* struct virtio_net_hdr with num_buffers: always 12 bytes with VERSION_1. */
#define VNET_HDR_LEN		12
#define VNET_HDR_NUM_BUFFERS	10

#define NO_DESC			0xffff
#define LINK_WAIT_NS		1000000000ull

struct vnet;

struct vnet_rxq {
	struct virtq vq;
	struct pktpool *pool;	/* the buffers posted to the ring */
	struct pktpool *big;	/* MRG_RXBUF: frames over several buffers land here, or NULL */
	struct pktbuf **bufs;	/* by descriptor: the buffer posted there, or NULL */
};

struct vnet_txq {
	struct virtq vq;
	struct pktbuf **bufs;	/* by head descriptor: the frame in flight, or NULL */
	uint16_t *chain;	/* by head: second descriptor of a chain, or NO_DESC */
	uint16_t *free;		/* stack of free descriptors */
	uint16_t nfree;
	uint16_t inflight;	/* frames the device has not returned */
};

struct vnet_queue {
	struct vnet *vn;
	int q;
	volatile bool armed;	/* the NF loop asked for an interrupt */
	int vector;		/* CPU vector of the pair's MSI-X entry, -1 without */
	struct vnet_rxq rx;
	struct vnet_txq tx;
} __aligned(CACHE_LINE);

struct vnet {
	struct netif nif;
	struct vpci_dev vd;
	struct pci_msix msix;
	bool msix_on;
	bool intx_on;
	bool has_status;
	bool mrg_rxbuf;
	uint16_t mtu;		/* the MTU the device offers (VIRTIO_NET_F_MTU), 0: none */
	uint32_t rx_room;	/* data room of the posted RX buffers */
	uint32_t big_room;	/* data room of the big pool's buffers, 0: none */
	uint16_t max_pairs;
	struct vnet_queue *qs;
	struct virtq ctrl;
	uint8_t *ctrl_buf;
	volatile uint64_t config_irqs;
};

/* Read by the device only: the header of frames sent as two descriptors. */
static uint8_t zero_hdr[VNET_HDR_LEN] __aligned(16);

static const char *const feature_names[64] = {
	[VIRTIO_NET_F_MTU] = "mtu",
	[VIRTIO_NET_F_MAC] = "mac",
	[VIRTIO_NET_F_MRG_RXBUF] = "mrg_rxbuf",
	[VIRTIO_NET_F_STATUS] = "status",
	[VIRTIO_NET_F_CTRL_VQ] = "ctrl_vq",
	[VIRTIO_NET_F_MQ] = "mq",
	[VIRTIO_F_RING_EVENT_IDX] = "event_idx",
	[VIRTIO_F_VERSION_1] = "version_1",
};

/* A queue the device corrupted: say so once and stop using it. */
static void queue_broken(struct vnet *vn, struct virtq *vq, const char *what, uint32_t v)
{
	if (vq->broken)
		return;
	vq->broken = true;
	vpci_msg(&vn->vd, "queue %u: %s (%u), queue disabled", vq->index, what, v);
}

/* ---- RX ---------------------------------------------------------------------- */

/* Post buf in descriptor id and queue it on the avail ring (not yet published). */
static inline void rx_post(struct vnet_rxq *rx, uint16_t id, struct pktbuf *buf)
{
	struct virtq *vq = &rx->vq;
	volatile struct vring_desc *d = &vq->desc[id];

	d->addr = pkt_phys(buf) - VNET_HDR_LEN;
	d->len = VNET_HDR_LEN + pkt_tailroom(buf);
	d->flags = VRING_DESC_F_WRITE;
	d->next = 0;
	rx->bufs[id] = buf;
	vq->avail->ring[vq->avail_idx & vq->mask] = id;
	vq->avail_idx++;
}

/* Bytes a buffer holds: its descriptor's length (header included). */
static inline uint32_t rx_buf_len(const struct pktbuf *p)
{
	return VNET_HDR_LEN + pkt_tailroom(p);
}

/*
 * A frame spread over nb buffers (MRG_RXBUF, num_buffers = nb > 1): the nb
 * used entries from last_used on, all of them available (pending), since
 * the device uses the buffers of a frame together (5.1.6.4.2). The first
 * buffer holds the header and the frame's first bytes, each further one
 * frame bytes from its start (12 bytes before pkt->data, where its
 * descriptor begins). The bytes are copied into one buffer of the big pool
 * and every small buffer is posted again. Returns 1 with *out set, 0 when
 * the frame was dropped (counted: longer than a big buffer, bad lengths, or
 * the big pool empty), -1 when the queue broke.
 */
static int rx_merged(struct vnet *vn, struct vnet_queue *qp, uint16_t nb, uint16_t pending,
		     struct pktbuf **out)
{
	struct vnet_rxq *rx = &qp->rx;
	struct virtq *vq = &rx->vq;
	struct pktbuf *big = rx->big ? pkt_alloc(rx->big) : NULL;
	uint32_t total = 0, room = big ? pkt_tailroom(big) : 0;
	bool ok = big != NULL;
	uint16_t j;

	if (unlikely(nb > pending)) {
		queue_broken(vn, vq, "frame in more buffers than the device used", nb);
		if (big)
			pkt_free(big);
		return -1;
	}
	for (j = 0; j < nb; j++) {
		volatile struct vring_used_elem *u = &vq->used->ring[vq->last_used & vq->mask];
		uint32_t id = u->id, len = u->len, flen;
		const uint8_t *src;
		struct pktbuf *p;

		if (unlikely(id >= vq->size || !rx->bufs[id])) {
			queue_broken(vn, vq, "device returned a descriptor it does not own", id);
			if (big)
				pkt_free(big);
			return -1;
		}
		vq->last_used++;
		p = rx->bufs[id];
		rx->bufs[id] = NULL;
		if (j == 0) {
			src = p->data;
			flen = len - VNET_HDR_LEN;
			if (unlikely(len < VNET_HDR_LEN))
				ok = false;
		} else {
			src = p->data - VNET_HDR_LEN;
			flen = len;
		}
		if (unlikely(len > rx_buf_len(p) || flen > room - total))
			ok = false;
		if (ok && flen) {
			memcpy(big->data + total, src, flen);
			total += flen;
		}
		pkt_reset(p);
		rx_post(rx, (uint16_t)id, p);
	}
	if (!ok || !total) {
		vn->nif.stats[qp->q].drops++;
		if (big)
			pkt_free(big);
		return 0;
	}
	big->len = total;
	*out = big;
	return 1;
}

static int vnet_rx_burst(struct netif *nif, int q, struct pktbuf **pkts, int n)
{
	struct vnet *vn = nif->priv;
	struct vnet_queue *qp = &vn->qs[q];
	struct vnet_rxq *rx = &qp->rx;
	struct virtq *vq = &rx->vq;
	struct netif_qstats *st = &nif->stats[q];
	struct pktbuf *fresh[NETIF_BURST];
	uint16_t pending, old = vq->avail_idx;
	int k = 0, nfresh, used = 0;

	if (unlikely(vq->broken) || n <= 0)
		return 0;
	pending = virtq_used_pending(vq);
	if (!pending)
		return 0;
	if (unlikely(pending > vq->size)) {
		queue_broken(vn, vq, "used index ran ahead of the ring", pending);
		return 0;
	}
	dma_rmb();	/* the used entries after the index */
	n = MIN(n, NETIF_BURST);
	nfresh = pkt_alloc_bulk(rx->pool, fresh, MIN((int)pending, n));

	while (pending && k < n) {
		volatile struct vring_used_elem *u = &vq->used->ring[vq->last_used & vq->mask];
		uint32_t id = u->id, len = u->len, flen;
		uint16_t nb = 1;
		struct pktbuf *p;

		if (unlikely(id >= vq->size || !rx->bufs[id])) {
			queue_broken(vn, vq, "device returned a descriptor it does not own", id);
			break;
		}
		p = rx->bufs[id];
		if (vn->mrg_rxbuf && len >= VNET_HDR_LEN)
			nb = *(volatile uint16_t *)(p->data - VNET_HDR_LEN + VNET_HDR_NUM_BUFFERS);
		if (unlikely(nb > 1)) {
			int r = rx_merged(vn, qp, nb, pending, &pkts[k]);

			if (r < 0)
				break;
			pending = (uint16_t)(pending - nb);
			if (r) {
				p = pkts[k++];
				p->queue = (uint16_t)q;
				p->port = (uint16_t)nif->index;
				st->rx_pkts++;
				st->rx_bytes += p->len;
			}
			continue;
		}
		pending--;
		vq->last_used++;
		rx->bufs[id] = NULL;
		flen = len - VNET_HDR_LEN;
		if (unlikely(!nb || len <= VNET_HDR_LEN || flen > pkt_tailroom(p))) {
			st->drops++;	/* a length the buffer cannot hold */
		} else if (used < nfresh) {
			p->len = flen;
			p->queue = (uint16_t)q;
			p->port = (uint16_t)nif->index;
			pkts[k++] = p;
			st->rx_pkts++;
			st->rx_bytes += flen;
			p = fresh[used++];
		} else {
			st->drops++;	/* pool empty: the buffer goes back to the ring */
		}
		pkt_reset(p);
		rx_post(rx, (uint16_t)id, p);
	}
	if (used < nfresh)
		pkt_free_bulk(fresh + used, nfresh - used);
	if (vq->avail_idx != old)
		virtq_publish(vq, old);
	if (vq->event_idx && !qp->armed)
		virtq_cb_off(vq);	/* keep used_event behind last_used */
	return k;
}

/* ---- TX ---------------------------------------------------------------------- */

/* Give the buffers of frames the device has finished back to their pools. */
static void tx_reclaim(struct vnet *vn, struct vnet_queue *qp)
{
	struct vnet_txq *tx = &qp->tx;
	struct virtq *vq = &tx->vq;
	struct pktbuf *done[NETIF_BURST];
	uint16_t pending;
	int nd = 0;

	pending = virtq_used_pending(vq);
	if (!pending)
		return;
	if (unlikely(pending > tx->inflight)) {
		queue_broken(vn, vq, "more used entries than frames in flight", pending);
		return;
	}
	dma_rmb();
	while (pending--) {
		uint32_t id = vq->used->ring[vq->last_used & vq->mask].id;
		struct pktbuf *p;

		vq->last_used++;
		if (unlikely(id >= vq->size || !tx->bufs[id])) {
			queue_broken(vn, vq, "device returned a descriptor it does not own", id);
			break;
		}
		p = tx->bufs[id];
		tx->bufs[id] = NULL;
		tx->free[tx->nfree++] = (uint16_t)id;
		if (tx->chain[id] != NO_DESC) {
			tx->free[tx->nfree++] = tx->chain[id];
			tx->chain[id] = NO_DESC;
		}
		tx->inflight--;
		done[nd++] = p;
		if (nd == NETIF_BURST) {
			pkt_free_bulk(done, nd);
			nd = 0;
		}
	}
	if (nd)
		pkt_free_bulk(done, nd);
	if (vq->event_idx && !qp->armed)
		virtq_cb_off(vq);
}

static int vnet_tx_burst(struct netif *nif, int q, struct pktbuf **pkts, int n)
{
	struct vnet *vn = nif->priv;
	struct vnet_queue *qp = &vn->qs[q];
	struct vnet_txq *tx = &qp->tx;
	struct virtq *vq = &tx->vq;
	struct netif_qstats *st = &nif->stats[q];
	uint16_t old = vq->avail_idx;
	int i;

	if (unlikely(vq->broken))
		return 0;
	tx_reclaim(vn, qp);
	for (i = 0; i < n; i++) {
		struct pktbuf *p = pkts[i];
		uint16_t id;

		if (unlikely(!p->len || p->len > pkt_tailroom(p))) {
			pkt_free(p);	/* taken, and dropped: no such frame */
			st->drops++;
			continue;
		}
		if (likely(pkt_headroom(p) >= VNET_HDR_LEN)) {
			volatile struct vring_desc *d;

			if (!tx->nfree)
				break;
			id = tx->free[--tx->nfree];
			memset(p->data - VNET_HDR_LEN, 0, VNET_HDR_LEN);
			d = &vq->desc[id];
			d->addr = pkt_phys(p) - VNET_HDR_LEN;
			d->len = VNET_HDR_LEN + p->len;
			d->flags = 0;
			d->next = 0;
		} else {
			volatile struct vring_desc *d, *d2;
			uint16_t id2;

			if (tx->nfree < 2)
				break;
			id = tx->free[--tx->nfree];
			id2 = tx->free[--tx->nfree];
			d = &vq->desc[id];
			d2 = &vq->desc[id2];
			d->addr = virt_to_phys(zero_hdr);
			d->len = VNET_HDR_LEN;
			d->flags = VRING_DESC_F_NEXT;
			d->next = id2;
			d2->addr = pkt_phys(p);
			d2->len = p->len;
			d2->flags = 0;
			d2->next = 0;
			tx->chain[id] = id2;
		}
		tx->bufs[id] = p;
		tx->inflight++;
		vq->avail->ring[vq->avail_idx & vq->mask] = id;
		vq->avail_idx++;
		st->tx_pkts++;
		st->tx_bytes += p->len;
	}
	if (vq->avail_idx != old)
		virtq_publish(vq, old);
	return i;
}

/* ---- Interrupts and link ------------------------------------------------------- */

static void queue_disarm(struct vnet_queue *qp)
{
	qp->armed = false;
	virtq_cb_off(&qp->rx.vq);
	virtq_cb_off(&qp->tx.vq);
}

/*
 * on: interrupt on the next received frame, and, with frames in flight,
 * when about half of them have been sent; the NF loop polls once more
 * after this. off: no interrupts.
 */
static void vnet_irq_arm(struct netif *nif, int q, bool on)
{
	struct vnet *vn = nif->priv;
	struct vnet_queue *qp = &vn->qs[q];

	if (!on) {
		queue_disarm(qp);
		return;
	}
	qp->armed = true;
	if (qp->tx.inflight)
		virtq_cb_after(&qp->tx.vq, (uint16_t)MAX(qp->tx.inflight / 2, 1));
	virtq_cb_on(&qp->rx.vq);
}

/* MSI-X, one vector per queue pair, on the pair's CPU. */
static void vnet_queue_irq(void *arg)
{
	struct vnet_queue *qp = arg;

	queue_disarm(qp);
	netif_queue_notify(&qp->vn->nif, qp->q);
}

static void vnet_config_irq(void *arg)
{
	struct vnet *vn = arg;

	vn->config_irqs++;
}

/* INTx (level): reading the ISR deasserts the line before the dispatcher's EOI. */
static void vnet_intx_irq(void *arg)
{
	struct vnet *vn = arg;
	uint8_t isr = vpci_isr(&vn->vd);
	int q;

	if (isr & VIRTIO_ISR_CONFIG)
		vn->config_irqs++;
	if (isr & VIRTIO_ISR_QUEUE)
		for (q = 0; q < vn->nif.nr_queues; q++)
			vnet_queue_irq(&vn->qs[q]);
}

static bool vnet_link_up(struct netif *nif)
{
	struct vnet *vn = nif->priv;
	uint16_t status;

	if (!vn->has_status)
		return true;	/* without STATUS the link is always up (5.1.4) */
	if (vpci_devcfg_read(&vn->vd, VNET_CFG_STATUS, &status, sizeof(status)))
		return false;
	return status & VNET_S_LINK_UP;
}

static uint32_t vnet_tx_inflight(struct netif *nif, int q)
{
	struct vnet *vn = nif->priv;

	return vn->qs[q].tx.inflight;
}

static const struct netif_ops vnet_ops = {
	.rx_burst = vnet_rx_burst,
	.tx_burst = vnet_tx_burst,
	.irq_arm = vnet_irq_arm,
	.link_up = vnet_link_up,
	.tx_inflight = vnet_tx_inflight,
};

/* ---- Set-up ------------------------------------------------------------------------ */

static uint16_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;

	while (p * 2 <= v && p * 2 <= VIRTQ_MAX_SIZE)
		p *= 2;
	return (uint16_t)p;
}

/* Queue size: the wanted count rounded down to a power of two, within the device's maximum. */
static uint16_t ring_size(struct vnet *vn, uint16_t idx, uint16_t want)
{
	uint16_t max = vpci_queue_max(&vn->vd, idx);

	return max ? pow2_floor(MIN(want, max)) : 0;
}

/*
 * One control command with a 2-byte argument, polled (bounded) to the
 * device's ack. 0 when the device answered VIRTIO_NET_OK.
 */
static int ctrl_cmd(struct vnet *vn, uint8_t class, uint8_t cmd, uint16_t arg)
{
	struct virtq *vq = &vn->ctrl;
	uint8_t *b = vn->ctrl_buf;
	volatile uint8_t *ack = b + 64;
	uint64_t deadline;
	uint32_t id;

	b[0] = class;
	b[1] = cmd;
	memcpy(b + 16, &arg, sizeof(arg));
	*ack = 0xff;
	vq->desc[0].addr = virt_to_phys(b);
	vq->desc[0].len = 2;
	vq->desc[0].flags = VRING_DESC_F_NEXT;
	vq->desc[0].next = 1;
	vq->desc[1].addr = virt_to_phys(b + 16);
	vq->desc[1].len = sizeof(arg);
	vq->desc[1].flags = VRING_DESC_F_NEXT;
	vq->desc[1].next = 2;
	vq->desc[2].addr = virt_to_phys(ack);
	vq->desc[2].len = 1;
	vq->desc[2].flags = VRING_DESC_F_WRITE;
	vq->desc[2].next = 0;
	vq->avail->ring[vq->avail_idx & vq->mask] = 0;
	vq->avail_idx++;
	dma_wmb();
	WRITE_ONCE(vq->avail->idx, vq->avail_idx);
	mb();
	virtq_notify(vq);	/* always: nothing else will wake the device */

	deadline = time_ns() + VNET_CTRL_WAIT_NS;
	while (!virtq_used_pending(vq)) {
		if (time_ns() > deadline) {
			vpci_msg(&vn->vd, "control queue: no answer within 1 s");
			return -1;
		}
		delay_ns(10000);
	}
	dma_rmb();
	id = vq->used->ring[vq->last_used & vq->mask].id;
	vq->last_used++;
	if (id != 0) {
		vpci_msg(&vn->vd, "control queue: device returned descriptor %u", id);
		return -1;
	}
	return *ack == VNET_OK ? 0 : -1;
}

static int rxq_init(struct vnet *vn, struct vnet_queue *qp, const struct netif_config *cfg,
		    uint16_t rx_n, uint16_t tx_n)
{
	struct vnet_rxq *rx = &qp->rx;
	uint32_t bufs, i;

	if (vpci_queue_setup(&vn->vd, &rx->vq, (uint16_t)(2 * qp->q), rx_n))
		return -1;
	bufs = cfg->pool_bufs ? cfg->pool_bufs : 2u * rx_n + 2u * tx_n + 256u;
	if (bufs < rx_n + 2u * NETIF_BURST)
		bufs = rx_n + 2u * NETIF_BURST;
	rx->pool = pktpool_create("virtio", bufs, vn->rx_room);
	rx->bufs = mem_alloc(rx_n * sizeof(void *), 8);
	if (!rx->pool || !rx->bufs)
		return -1;
	if (vn->big_room) {
		/* Received jumbo frames: enough for a full TX ring plus bursts in hand. */
		rx->big = pktpool_create("virtio-big", tx_n + 4u * NETIF_BURST, vn->big_room);
		if (!rx->big)
			return -1;
	}
	for (i = 0; i < rx_n; i++) {
		struct pktbuf *p = pkt_alloc(rx->pool);

		if (!p)
			return -1;
		rx_post(rx, (uint16_t)i, p);
	}
	rx->vq.avail->idx = rx->vq.avail_idx;	/* published at DRIVER_OK */
	virtq_cb_off(&rx->vq);
	return 0;
}

static int txq_init(struct vnet *vn, struct vnet_queue *qp, uint16_t tx_n)
{
	struct vnet_txq *tx = &qp->tx;
	uint32_t i;

	if (vpci_queue_setup(&vn->vd, &tx->vq, (uint16_t)(2 * qp->q + 1), tx_n))
		return -1;
	tx->bufs = mem_alloc(tx_n * sizeof(void *), 8);
	tx->chain = mem_alloc(tx_n * sizeof(uint16_t), 8);
	tx->free = mem_alloc(tx_n * sizeof(uint16_t), 8);
	if (!tx->bufs || !tx->chain || !tx->free)
		return -1;
	for (i = 0; i < tx_n; i++) {
		tx->chain[i] = NO_DESC;
		tx->free[i] = (uint16_t)(tx_n - 1 - i);	/* descriptor 0 first */
	}
	tx->nfree = tx_n;
	virtq_cb_off(&tx->vq);
	return 0;
}

/*
 * MSI-X: entry 0 for configuration changes, entry 1 + q for queue pair q
 * (RX and TX share it), aimed at the pair's CPU. Returns 0, -1 when the
 * function has no usable MSI-X (the caller falls back to INTx), -2 when
 * CPU vectors run out. Trims nif->nr_queues to the table size.
 */
static int msix_setup(struct vnet *vn)
{
	struct netif *nif = &vn->nif;
	int q, v;

	if (pci_msix_init(vn->vd.pci, &vn->msix) || vn->msix.size < 2) {
		memset(&vn->msix, 0, sizeof(vn->msix));
		return -1;
	}
	if (vn->msix.size < nif->nr_queues + 1u) {
		vpci_msg(&vn->vd, "MSI-X table has %u entries: %u queue pairs instead of %u",
			 vn->msix.size, vn->msix.size - 1u, nif->nr_queues);
		nif->nr_queues = vn->msix.size - 1;
	}
	v = irq_alloc_vector();
	if (v < 0)
		return -2;
	irq_register(v, vnet_config_irq, vn);
	pci_msix_set(&vn->msix, 0, v, 0);
	for (q = 0; q < nif->nr_queues; q++) {
		struct vnet_queue *qp = &vn->qs[q];

		qp->vector = irq_alloc_vector();
		if (qp->vector < 0)
			return -2;
		irq_register(qp->vector, vnet_queue_irq, qp);
		pci_msix_set(&vn->msix, (uint16_t)(1 + q), qp->vector, netif_queue_cpu(nif, q));
	}
	pci_msix_enable(vn->vd.pci, &vn->msix, true);
	vn->msix_on = true;
	return 0;
}

static uint64_t negotiate(struct vnet *vn, uint64_t offered)
{
	uint64_t want = VIRTIO_F_BIT(VIRTIO_F_VERSION_1) | VIRTIO_F_BIT(VIRTIO_F_RING_EVENT_IDX) |
			VIRTIO_F_BIT(VIRTIO_NET_F_MAC) | VIRTIO_F_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_F_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_F_BIT(VIRTIO_NET_F_CTRL_VQ) |
			VIRTIO_F_BIT(VIRTIO_NET_F_MQ) | VIRTIO_F_BIT(VIRTIO_NET_F_MTU);
	uint64_t f = offered & want;
	uint16_t mtu = 0;

	/* Fields the device configuration must hold for each feature. */
	if (vn->vd.devcfg_len < VNET_CFG_MAC + 6)
		f &= ~VIRTIO_F_BIT(VIRTIO_NET_F_MAC);
	/*
	 * The MTU a device offers may be read before FEATURES_OK (3.1.1); the
	 * driver keeps to it (vn->mtu) from then on. Taking the feature binds
	 * us to receive frames of that size (5.1.4.2), so an MTU we cannot
	 * hold is left out (the device then owes us nothing longer than a
	 * standard frame, 5.1.6.3.1), and so is 1500: agreeing on the
	 * standard MTU changes nothing but a message to a vhost-user backend.
	 */
	vn->mtu = 0;
	if ((f & VIRTIO_F_BIT(VIRTIO_NET_F_MTU)) && vn->vd.devcfg_len >= VNET_CFG_MTU + 2 &&
	    !vpci_devcfg_read(&vn->vd, VNET_CFG_MTU, &mtu, 2) && mtu >= VNET_MTU_MIN &&
	    mtu <= VNET_MTU_MAX)
		vn->mtu = mtu;
	if (!vn->mtu || vn->mtu == ETH_FRAME_STD - 14)
		f &= ~VIRTIO_F_BIT(VIRTIO_NET_F_MTU);
	if (vn->vd.devcfg_len < VNET_CFG_STATUS + 2)
		f &= ~VIRTIO_F_BIT(VIRTIO_NET_F_STATUS);
	if (vn->vd.devcfg_len < VNET_CFG_MAX_PAIRS + 2 || !(f & VIRTIO_F_BIT(VIRTIO_NET_F_CTRL_VQ)))
		f &= ~VIRTIO_F_BIT(VIRTIO_NET_F_MQ);
	return f;
}

/*
 * Buffer sizes for the frames the device may send: with an MTU, mtu + 14
 * and a VLAN tag; without, a standard frame (5.1.6.3.1), or with
 * MRG_RXBUF a jumbo one (nothing then bounds what the device merges).
 * Also the longest frame we send (5.1.4.2: not over mtu + 14).
 */
static void rx_sizes(struct vnet *vn)
{
	uint32_t longest;

	if (vn->mtu)
		longest = vn->mtu + 14u + ETH_VLAN_HLEN;
	else
		longest = vn->mrg_rxbuf ? ETH_FRAME_JUMBO + ETH_VLAN_HLEN : ETH_FRAME_STD;
	vn->rx_room = PKT_DEFAULT_DATAROOM;
	vn->big_room = 0;
	if (longest > PKT_DEFAULT_DATAROOM) {
		if (vn->mrg_rxbuf)
			vn->big_room = ALIGN_UP(longest, 64u);
		else
			vn->rx_room = ALIGN_UP(longest, 64u);
	}
	vn->nif.max_frame = vn->mtu ? vn->mtu + 14u : ETH_FRAME_JUMBO;
}

static void features_str(uint64_t f, char *buf, size_t size)
{
	size_t len = 0;
	int b;

	buf[0] = 0;
	for (b = 0; b < 64 && len + 1 < size; b++)
		if ((f & (1ull << b)) && feature_names[b])
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "",
						feature_names[b]);
}

static int vnet_probe(struct pci_dev *pci, const struct netif_config *cfg)
{
	struct vnet *vn = mem_alloc(sizeof(*vn), CACHE_LINE);
	struct vpci_dev *vd;
	struct netif *nif;
	uint64_t offered, f, deadline;
	uint16_t rx_n, tx_n, nr, ctrl_idx = 0, need_queues;
	char fstr[96];
	int q;

	if (!vn) {
		printf("nfguest: virtio %02x:%02x.%x: out of memory\n", pci->bus, pci->dev,
		       pci->fn);
		return -1;
	}
	vd = &vn->vd;
	nif = &vn->nif;
	if (vpci_init(vd, pci, "virtio"))
		return -1;

	/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
	if (vpci_reset(vd))
		return vpci_fail(vd, "device did not finish its reset");
	vpci_status_set(vd, VIRTIO_STATUS_ACKNOWLEDGE);
	vpci_status_set(vd, VIRTIO_STATUS_DRIVER);
	offered = vpci_device_features(vd);
	if (!(offered & VIRTIO_F_BIT(VIRTIO_F_VERSION_1)))
		return vpci_fail(vd, "device does not offer VIRTIO_F_VERSION_1 (features 0x%llx)",
				 (unsigned long long)offered);
	if (!vd->devcfg)
		return vpci_fail(vd, "no device configuration capability");
	f = negotiate(vn, offered);
	if (vpci_set_features(vd, f))
		return vpci_fail(vd, "device refused features 0x%llx (FEATURES_OK not set)",
				 (unsigned long long)f);
	vn->has_status = f & VIRTIO_F_BIT(VIRTIO_NET_F_STATUS);
	vn->mrg_rxbuf = f & VIRTIO_F_BIT(VIRTIO_NET_F_MRG_RXBUF);
	rx_sizes(vn);

	/* Device configuration: MAC and the number of queue pairs. */
	if (f & VIRTIO_F_BIT(VIRTIO_NET_F_MAC)) {
		if (vpci_devcfg_read(vd, VNET_CFG_MAC, nif->mac, 6))
			return vpci_fail(vd, "cannot read the MAC from the device configuration");
	} else {
		uint64_t r = rdtsc() * 0x9e3779b97f4a7c15ull;

		memcpy(nif->mac, &r, 6);
		nif->mac[0] = (nif->mac[0] & 0xfe) | 0x02;	/* unicast, locally administered */
	}
	vn->max_pairs = 1;
	if (f & VIRTIO_F_BIT(VIRTIO_NET_F_MQ)) {
		if (vpci_devcfg_read(vd, VNET_CFG_MAX_PAIRS, &vn->max_pairs, 2) ||
		    vn->max_pairs < 1 || vn->max_pairs > VNET_MQ_PAIRS_MAX)
			return vpci_fail(vd, "bad max_virtqueue_pairs %u", vn->max_pairs);
		ctrl_idx = (uint16_t)(2 * vn->max_pairs);
	} else if (f & VIRTIO_F_BIT(VIRTIO_NET_F_CTRL_VQ)) {
		ctrl_idx = 2;
	}
	nr = (uint16_t)MIN(MIN(cfg->queues ? cfg->queues : 1u, vn->max_pairs),
			   (uint16_t)NETIF_MAX_QUEUES);
	need_queues = (f & VIRTIO_F_BIT(VIRTIO_NET_F_CTRL_VQ)) ? ctrl_idx + 1 : 2 * nr;
	if (vd->num_queues < need_queues)
		return vpci_fail(vd, "device has %u queues, needs %u", vd->num_queues, need_queues);
	nif->nr_queues = nr;
	vn->qs = mem_alloc(nr * sizeof(*vn->qs), CACHE_LINE);
	if (!vn->qs)
		return vpci_fail(vd, "out of memory");
	for (q = 0; q < nr; q++) {
		vn->qs[q].vn = vn;
		vn->qs[q].q = q;
		vn->qs[q].vector = -1;
	}

	/* Interrupts: MSI-X, else INTx through the ISR; none when polling. */
	if (cfg->irq) {
		int r = msix_setup(vn);

		if (r == 0) {
			nif->irq = true;
		} else if (r == -1) {
			if (intx_attach(pci, vnet_intx_irq, vn, netif_queue_cpu(nif, 0)) >= 0) {
				vn->intx_on = true;
				nif->irq = true;
			}
			vpci_msg(vd, "no MSI-X: %s", nif->irq ? "INTx" : "no INTx line, polling");
		} else {
			return vpci_fail(vd, "out of interrupt vectors");
		}
	}
	if (!vn->intx_on)
		pci_intx(pci, false);	/* never raise the line we do not listen to */
	nr = nif->nr_queues;
	if (vn->msix_on && vpci_config_vector(vd, 0) == VIRTIO_NO_VECTOR)
		return vpci_fail(vd, "device refused MSI-X entry 0 for configuration changes");

	/* Queue pairs: rings, buffers, vectors; the control queue, polled. */
	rx_n = ring_size(vn, 0, cfg->rx_ring ? cfg->rx_ring : 256);
	tx_n = ring_size(vn, 1, cfg->tx_ring ? cfg->tx_ring : 256);
	for (q = 0; q < nr; q++) {
		struct vnet_queue *qp = &vn->qs[q];
		uint16_t entry = vn->msix_on ? (uint16_t)(1 + q) : VIRTIO_NO_VECTOR;

		if (rxq_init(vn, qp, cfg, rx_n, tx_n) || txq_init(vn, qp, tx_n))
			return vpci_fail(vd, "queue pair %d: set-up failed", q);
		if (vn->msix_on && (vpci_queue_vector(vd, qp->rx.vq.index, entry) != entry ||
				    vpci_queue_vector(vd, qp->tx.vq.index, entry) != entry))
			return vpci_fail(vd, "device refused MSI-X entry %u for queue pair %d",
					 entry, q);
		qp->rx.vq.vector = entry;
		qp->tx.vq.vector = entry;
		vpci_queue_enable(vd, &qp->rx.vq);
		vpci_queue_enable(vd, &qp->tx.vq);
	}
	if (nr > 1) {
		uint16_t csize = ring_size(vn, ctrl_idx, VNET_CTRL_SIZE);

		vn->ctrl_buf = page_alloc(1);
		if (csize < 4 || !vn->ctrl_buf || vpci_queue_setup(vd, &vn->ctrl, ctrl_idx, csize))
			return vpci_fail(vd, "control queue %u: set-up failed", ctrl_idx);
		if (vn->msix_on)
			vpci_queue_vector(vd, ctrl_idx, VIRTIO_NO_VECTOR);
		vpci_queue_enable(vd, &vn->ctrl);
	}

	vpci_status_set(vd, VIRTIO_STATUS_DRIVER_OK);
	if (vpci_status(vd) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
		return vpci_fail(vd, "device needs a reset right after DRIVER_OK (status 0x%x)",
				 vpci_status(vd));

	/* Multiqueue is off until the driver sets the number of pairs (5.1.6.5.5). */
	if (nr > 1 && ctrl_cmd(vn, VNET_CTRL_MQ, VNET_CTRL_MQ_VQ_PAIRS_SET, nr)) {
		vpci_msg(vd, "VQ_PAIRS_SET %u refused: 1 queue pair", nr);
		nif->nr_queues = nr = 1;
	}
	for (q = 0; q < nr; q++)
		virtq_notify(&vn->qs[q].rx.vq);	/* the RX buffers are there */

	nif->kind = NETIF_VIRTIO;
	nif->kind_name = "virtio";
	nif->pci = pci;
	nif->max_queues = vn->max_pairs;
	nif->rx_ring = rx_n;
	nif->tx_ring = tx_n;
	nif->ops = &vnet_ops;
	nif->priv = vn;

	features_str(f, fstr, sizeof(fstr));
	vpci_msg(vd, "id=%04x:%04x features=%s max_pairs=%u irq=%s", pci->vendor, pci->device,
		 fstr, vn->max_pairs, vn->msix_on ? "msix" : vn->intx_on ? "intx" : "none");

	deadline = time_ns() + LINK_WAIT_NS;
	while (!vnet_link_up(nif) && time_ns() < deadline)
		delay_ns(1000000);
	if (netif_register(nif) < 0)
		return vpci_fail(vd, "too many NICs");
	return 0;
}

static const struct netif_pci_id vnet_ids[] = {
	{ VIRTIO_PCI_VENDOR, 0x1041 },	/* virtio 1.x network device */
	{ VIRTIO_PCI_VENDOR, 0x1000 },	/* transitional network device, used in modern mode */
	{ 0, 0 },
};

const struct netif_driver virtio_net_driver = {
	.name = "virtio",
	.ids = vnet_ids,
	.probe = vnet_probe,
};
NETIF_DRIVER(virtio_net_driver);
