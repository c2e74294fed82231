/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fast path of nfv-switchd (see datapath.h for the thread model).
 *
 * One loop iteration of a polling thread: load the published state; for
 * each assigned RX queue receive a burst and process it (RX mirrors, VLAN
 * ingress decision, MTU, policers, source learning and destination
 * lookup in bulk, unicast or flood to the egress step); serve the shapers
 * this thread owns; flush the TX buffers; report a quiescent state. Nothing
 * of the state is kept across iterations.
 */
#define LOG_COMPONENT "datapath"
#include "vswitch/datapath.h"
#include "vswitch/fdb.h"
#include "vswitch/mirror.h"
#include "vswitch/qos.h"
#include "vswitch/vhost_port.h"
#include "vswitch/vlan.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

struct sw_txb {
	uint16_t n;
	uint64_t bytes;		/* of the n frames */
	struct rte_mbuf *pkts[SW_TXB_SIZE];
};

struct sw_dp_pmd {
	struct sw_dp_counters cnt;
	struct sw_dp *dp;
	unsigned idx;
	unsigned n_dirty;
	uint16_t dirty[SW_MAX_PORTS];
	struct sw_txb txb[SW_MAX_PORTS];
} __rte_cache_aligned;

uint64_t sw_dp_now_ms(const struct sw_dp *dp)
{
	return rte_get_tsc_cycles() / dp->tsc_per_ms;
}

static inline uint64_t key_u64(const struct sw_fdb_key *k)
{
	uint64_t v;

	memcpy(&v, k, sizeof(v));
	return v;
}

static void drop(struct sw_port_stats *st, enum sw_drop why, struct rte_mbuf *m)
{
	st->drops[why]++;
	rte_pktmbuf_free(m);
}

/* Sends what is buffered for one port. Frames the device does not take are
 * dropped (no buffer): a polling thread never waits for a port. */
static void txb_flush(struct sw_dp_pmd *pmd, const struct sw_dp_state *st, uint16_t slot)
{
	struct sw_txb *b = &pmd->txb[slot];
	const struct sw_dp_port *p = st->ports[slot];
	struct sw_port_stats *ps = &pmd->cnt.port[slot];
	uint16_t sent = 0, n = b->n;

	b->n = 0;
	if (!n)
		return;
	if (likely(p != NULL)) {
		uint16_t q = (uint16_t)(pmd->idx % p->n_txq);

		if (p->vhost) {
			sent = sw_vhost_tx(p->vhost, q, b->pkts, n);
		} else {
			if (p->txq_locked)
				rte_spinlock_lock(&p->txq_locks[q]);
			sent = rte_eth_tx_burst(p->port_id, q, b->pkts, n);
			if (sent < n)
				sent += rte_eth_tx_burst(p->port_id, q, b->pkts + sent, n - sent);
			if (p->txq_locked)
				rte_spinlock_unlock(&p->txq_locks[q]);
		}
	}
	/* Frames not taken are still ours: their lengths come off the sum. */
	for (uint16_t i = sent; i < n; i++) {
		b->bytes -= b->pkts[i]->pkt_len;
		drop(ps, SW_DROP_NOBUF, b->pkts[i]);
	}
	ps->tx_packets += sent;
	ps->tx_bytes += b->bytes;
	b->bytes = 0;
}

static inline void txb_add(struct sw_dp_pmd *pmd, const struct sw_dp_state *st, uint16_t slot,
			   struct rte_mbuf *m)
{
	struct sw_txb *b = &pmd->txb[slot];

	if (b->n == 0)
		pmd->dirty[pmd->n_dirty++] = slot;
	else if (unlikely(b->n == SW_TXB_SIZE))
		txb_flush(pmd, st, slot);
	b->bytes += m->pkt_len;
	b->pkts[b->n++] = m;
}

static void flush_all(struct sw_dp_pmd *pmd, const struct sw_dp_state *st)
{
	for (unsigned i = 0; i < pmd->n_dirty; i++)
		txb_flush(pmd, st, pmd->dirty[i]);
	pmd->n_dirty = 0;
}

/* Copies frames into the mirror's destination (a port's TX buffer or the
 * pcap writer). The frames themselves are not touched. */
static void mirror(struct sw_dp_pmd *pmd, const struct sw_dp_state *st, unsigned ms,
		   struct rte_mbuf *const *pkts, unsigned n, uint64_t tsc)
{
	const struct sw_dp_mirror *mr = &st->mirrors[ms];

	if (!mr->live)
		return;
	if (mr->to_slot == SW_SLOT_NONE) {
		unsigned q = sw_pcap_writer_submit(mr->writer, pkts, n, tsc);

		pmd->cnt.mirrored[ms] += q;
		pmd->cnt.mirror_dropped[ms] += n - q;
		return;
	}
	if (!st->ports[mr->to_slot]) {
		pmd->cnt.mirror_dropped[ms] += n;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *c = rte_pktmbuf_copy(pkts[i], pmd->dp->pool, 0, UINT32_MAX);

		if (!c) {
			pmd->cnt.mirror_dropped[ms]++;
			continue;
		}
		pmd->cnt.mirrored[ms]++;
		txb_add(pmd, st, mr->to_slot, c);
	}
}

/* The frame for this port alone: m itself when nobody else holds it, else a
 * copy (m's reference is given up). NULL when no copy could be made. */
static inline struct rte_mbuf *own(struct sw_dp_pmd *pmd, struct rte_mbuf *m)
{
	struct rte_mbuf *c;

	if (likely(rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m)))
		return m;
	c = rte_pktmbuf_copy(m, pmd->dp->pool, 0, UINT32_MAX);
	rte_pktmbuf_free(m);
	return c;
}

/* An outer tag as it sits after the MAC addresses. */
struct sw_tag {
	rte_be16_t tpid;
	rte_be16_t tci;
} __rte_packed;

static inline struct sw_tag *tag_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct sw_tag *, 2 * RTE_ETHER_ADDR_LEN);
}

/* The outer tag (first segment) is already an 802.1Q tag with this TCI. */
static inline bool tag_is(struct rte_mbuf *m, uint16_t tci)
{
	const struct sw_tag *t = tag_of(m);

	return t->tpid == RTE_BE16(RTE_ETHER_TYPE_VLAN) && t->tci == rte_cpu_to_be_16(tci);
}

/* Rewrites the outer tag in place as an 802.1Q tag with this TCI. */
static inline void tag_set(struct rte_mbuf *m, uint16_t tci)
{
	struct sw_tag *t = tag_of(m);

	t->tpid = RTE_BE16(RTE_ETHER_TYPE_VLAN);
	t->tci = rte_cpu_to_be_16(tci);
}

/*
 * The egress step of one frame to one port: VLAN decision, MTU, the tag
 * the port sends (a frame keeps the tag it came with until a port needs it
 * changed or removed: a trunk-to-trunk frame of the same VLAN and PCP is
 * never edited), TX mirrors, then the shaper or the TX buffer. `tagged`:
 * the frame carries an outer tag now. Takes the frame (one reference of
 * it) whatever happens.
 */
static __rte_always_inline void egress(struct sw_dp_pmd *pmd, const struct sw_dp_state *st,
			  const struct sw_dp_port *op, struct rte_mbuf *m, uint16_t vlan,
			  uint8_t pcp, bool tagged, uint64_t tsc)
{
	struct sw_port_stats *os = &pmd->cnt.port[op->slot];
	uint32_t hdr = tagged ? RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN : RTE_ETHER_HDR_LEN;
	enum sw_vlan_egress e;

	e = op->vlan_default && vlan == 0 ? SW_EGRESS_UNTAGGED : sw_vlan_egress(&op->vlan, vlan);
	if (unlikely(e == SW_EGRESS_DROP)) {
		drop(os, SW_DROP_VLAN, m);
		return;
	}
	if (unlikely(m->pkt_len - hdr > op->mtu)) {
		drop(os, SW_DROP_MTU, m);
		return;
	}
	if (e == SW_EGRESS_TAGGED) {
		uint16_t tci = (uint16_t)(vlan | (uint16_t)pcp << 13);

		if (!tagged || !tag_is(m, tci)) {
			m = own(pmd, m);
			if (unlikely(!m)) {
				os->drops[SW_DROP_NOBUF]++;
				return;
			}
			if (tagged) {
				tag_set(m, tci);
			} else if (sw_vlan_push(m, tci)) {
				drop(os, SW_DROP_NOBUF, m);
				return;
			}
		}
	} else if (tagged) {
		m = own(pmd, m);
		if (unlikely(!m)) {
			os->drops[SW_DROP_NOBUF]++;
			return;
		}
		if (sw_vlan_pop(m) < SW_TCI_NONE) {
			drop(os, SW_DROP_NOBUF, m);
			return;
		}
	}
	for (unsigned i = 0; i < op->n_tx_mirrors; i++)
		mirror(pmd, st, op->tx_mirrors[i], &m, 1, tsc);
	if (op->shaper) {
		sw_shaper_enqueue(op->shaper, &m, &pcp, 1);
		return;
	}
	txb_add(pmd, st, op->slot, m);
}

static void flood(struct sw_dp_pmd *pmd, const struct sw_dp_state *st,
		  const struct sw_dp_port *in, struct rte_mbuf *m, uint16_t vlan, uint8_t pcp,
		  bool tagged, uint64_t tsc)
{
	const struct sw_dp_bridge *br = &st->bridges[in->bridge];
	const struct sw_dp_port *outs[SW_MAX_PORTS];
	unsigned n = 0;

	pmd->cnt.port[in->slot].flood_packets++;
	for (unsigned i = 0; i < br->n_ports; i++) {
		const struct sw_dp_port *op = st->ports[br->slots[i]];

		if (!op || op == in)
			continue;
		if (!(op->vlan_default && vlan == 0) &&
		    sw_vlan_egress(&op->vlan, vlan) == SW_EGRESS_DROP)
			continue;	/* flooding stays inside the VLAN */
		outs[n++] = op;
	}
	if (n == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	if (n > 1)
		rte_mbuf_refcnt_update(m, (int16_t)(n - 1));
	for (unsigned i = 0; i < n; i++)
		egress(pmd, st, outs[i], m, vlan, pcp, tagged, tsc);
}

/* The VLAN's own policer, if it has one (trunk ports). */
static bool police_vlan(const struct sw_dp_port *in, uint16_t vlan, uint64_t tsc, uint32_t len)
{
	for (unsigned i = 0; i < in->n_vlan_policers; i++)
		if (in->vlan_policers[i].vlan == vlan)
			return sw_policer_pass(in->vlan_policers[i].policer, tsc, len);
	return true;
}

static void process_burst(struct sw_dp_pmd *pmd, const struct sw_dp_state *st,
			  const struct sw_dp_port *in, struct rte_mbuf **pkts, uint16_t n,
			  uint64_t tsc, uint64_t now_ms)
{
	struct sw_port_stats *is = &pmd->cnt.port[in->slot];
	const struct sw_dp_bridge *br = &st->bridges[in->bridge];
	struct sw_fdb_key src[SW_BURST], dst[SW_BURST];
	uint16_t in_ports[SW_BURST], out[SW_BURST], vlans[SW_BURST];
	uint8_t pcps[SW_BURST];
	bool tagged[SW_BURST];
	uint32_t lens[SW_BURST];
	struct rte_mbuf *ok[SW_BURST];
	unsigned k = 0;

	for (unsigned i = 0; i < in->n_rx_mirrors; i++)
		mirror(pmd, st, in->rx_mirrors[i], pkts, n, tsc);

	uint64_t rx_bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ether_hdr *eth;
		int tci = SW_TCI_NONE;
		uint16_t vlan;
		uint32_t len;

		rx_bytes += m->pkt_len;
		if (unlikely(m->data_len < RTE_ETHER_HDR_LEN)) {
			drop(is, SW_DROP_RUNT, m);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
		    eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_QINQ)) {
			if (unlikely(m->data_len < RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)) {
				drop(is, SW_DROP_RUNT, m);
				continue;
			}
			/* The tag stays in the frame until a port needs it changed. */
			tci = rte_be_to_cpu_16(((const struct rte_vlan_hdr *)(eth + 1))->vlan_tci);
		}
		/* The frame's length without its tag, as the MTU and policers see it. */
		len = m->pkt_len - (tci == SW_TCI_NONE ? 0 : RTE_VLAN_HLEN);
		if (unlikely(len - RTE_ETHER_HDR_LEN > in->mtu)) {
			drop(is, SW_DROP_MTU, m);
			continue;
		}
		if (likely(in->vlan_default && tci == SW_TCI_NONE))
			vlan = 0;
		else if (sw_vlan_ingress(&in->vlan, tci, &vlan) != SW_VLAN_PASS) {
			drop(is, SW_DROP_VLAN, m);
			continue;
		}
		if (unlikely(in->n_vlan_policers) && !police_vlan(in, vlan, tsc, len)) {
			drop(is, SW_DROP_POLICER, m);
			continue;
		}
		rte_memcpy(src[k].mac, &eth->src_addr, RTE_ETHER_ADDR_LEN);
		rte_memcpy(dst[k].mac, &eth->dst_addr, RTE_ETHER_ADDR_LEN);
		src[k].vlan = vlan;
		dst[k].vlan = vlan;
		in_ports[k] = in->slot;
		vlans[k] = vlan;
		pcps[k] = tci == SW_TCI_NONE ? 0 : (uint8_t)((unsigned)tci >> 13);
		tagged[k] = tci != SW_TCI_NONE;
		lens[k] = len;
		ok[k++] = m;
	}
	is->rx_packets += n;
	is->rx_bytes += rx_bytes;
	if (in->policer && k) {
		/* The port's policer meters the burst under one lock. */
		bool pass[SW_BURST];
		unsigned kk = 0;

		if (sw_policer_pass_bulk(in->policer, tsc, lens, k, pass) != k) {
			for (unsigned j = 0; j < k; j++) {
				if (!pass[j]) {
					drop(is, SW_DROP_POLICER, ok[j]);
					continue;
				}
				src[kk] = src[j];
				dst[kk] = dst[j];
				vlans[kk] = vlans[j];
				pcps[kk] = pcps[j];
				tagged[kk] = tagged[j];
				ok[kk++] = ok[j];
			}
			k = kk;
		}
	}
	if (!k)
		return;
	/*
	 * Frames of one burst mostly come from few stations and go to few:
	 * consecutive equal keys are learned and looked up once.
	 */
	unsigned ns = 0, nd = 0;
	uint8_t dmap[SW_BURST];
	uint16_t uout[SW_BURST];

	for (unsigned j = 0; j < k; j++) {
		if (ns == 0 || key_u64(&src[j]) != key_u64(&src[ns - 1]))
			src[ns++] = src[j];
		if (nd == 0 || key_u64(&dst[j]) != key_u64(&dst[nd - 1]))
			dst[nd++] = dst[j];
		dmap[j] = (uint8_t)(nd - 1);
	}
	sw_fdb_learn_bulk(br->fdb, src, in_ports, ns, now_ms);
	sw_fdb_lookup_bulk(br->fdb, dst, nd, uout, now_ms);
	for (unsigned j = 0; j < k; j++)
		out[j] = uout[dmap[j]];
	for (unsigned j = 0; j < k; j++) {
		const struct sw_dp_port *op;

		if (out[j] == SW_FDB_MISS || out[j] >= SW_MAX_PORTS ||
		    !(op = st->ports[out[j]]) || op->bridge != in->bridge) {
			flood(pmd, st, in, ok[j], vlans[j], pcps[j], tagged[j], tsc);
			continue;
		}
		if (op == in) {
			/* The station is behind the port the frame came from. */
			drop(is, SW_DROP_NOPORT, ok[j]);
			continue;
		}
		egress(pmd, st, op, ok[j], vlans[j], pcps[j], tagged[j], tsc);
	}
}

static void serve_shapers(struct sw_dp_pmd *pmd, const struct sw_dp_state *st, uint64_t tsc)
{
	struct rte_mbuf *pkts[SW_BURST];

	for (unsigned i = 0; i < st->n_shaped[pmd->idx]; i++) {
		uint16_t slot = st->shaped[pmd->idx][i];
		const struct sw_dp_port *p = st->ports[slot];
		unsigned n;

		if (!p || !p->shaper)
			continue;
		n = sw_shaper_dequeue(p->shaper, tsc, pkts, SW_BURST);
		for (unsigned j = 0; j < n; j++)
			txb_add(pmd, st, slot, pkts[j]);
	}
}

static int pmd_main(void *arg)
{
	struct sw_dp_pmd *pmd = arg;
	struct sw_dp *dp = pmd->dp;
	struct rte_mbuf *pkts[SW_BURST];

	rte_rcu_qsbr_thread_register(dp->qsv, pmd->idx);
	rte_rcu_qsbr_thread_online(dp->qsv, pmd->idx);
	log_info("polling thread %u on lcore %u", pmd->idx, rte_lcore_id());
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		const struct sw_dp_state *st = __atomic_load_n(&dp->state, __ATOMIC_ACQUIRE);
		/* The clock is read only when there is work: an idle poll stays short. */
		uint64_t tsc = 0, now_ms = 0;

		for (unsigned r = 0; r < st->n_rxqs[pmd->idx]; r++) {
			const struct sw_dp_rxq *q = &st->rxqs[pmd->idx][r];
			const struct sw_dp_port *in = st->ports[q->slot];
			uint16_t n;

			if (unlikely(!in))
				continue;
			if (q->vhost)
				n = sw_vhost_rx(q->vhost, q->queue, pkts, SW_BURST);
			else
				n = rte_eth_rx_burst(q->port_id, q->queue, pkts, SW_BURST);
			if (!n)
				continue;
			if (!tsc) {
				tsc = rte_rdtsc();
				now_ms = tsc / dp->tsc_per_ms;
			}
			process_burst(pmd, st, in, pkts, n, tsc, now_ms);
		}
		if (st->n_shaped[pmd->idx])
			serve_shapers(pmd, st, tsc ? tsc : rte_rdtsc());
		flush_all(pmd, st);
		rte_rcu_qsbr_quiescent(dp->qsv, pmd->idx);
	}
	rte_rcu_qsbr_thread_offline(dp->qsv, pmd->idx);
	rte_rcu_qsbr_thread_unregister(dp->qsv, pmd->idx);
	return 0;
}

int sw_dp_init(struct sw_dp *dp, unsigned n_pmds, const uint16_t *lcores,
	       struct rte_mempool *pool, char *err, size_t errlen)
{
	size_t sz;

	memset(dp, 0, sizeof(*dp));
	if (n_pmds == 0 || n_pmds > SW_MAX_PMDS) {
		snprintf(err, errlen, "between 1 and %u polling threads, not %u", SW_MAX_PMDS,
			 n_pmds);
		return -EINVAL;
	}
	dp->n_pmds = n_pmds;
	dp->pool = pool;
	dp->tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (dp->tsc_per_ms == 0)
		dp->tsc_per_ms = 1;
	sz = rte_rcu_qsbr_get_memsize(n_pmds);
	dp->qsv = rte_zmalloc("sw_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (!dp->qsv || rte_rcu_qsbr_init(dp->qsv, n_pmds)) {
		snprintf(err, errlen, "no memory for the quiescent-state variable");
		goto fail;
	}
	for (unsigned i = 0; i < n_pmds; i++) {
		dp->lcores[i] = lcores[i];
		dp->pmds[i] = rte_zmalloc_socket("sw_pmd", sizeof(struct sw_dp_pmd),
						 RTE_CACHE_LINE_SIZE,
						 (int)rte_lcore_to_socket_id(lcores[i]));
		if (!dp->pmds[i]) {
			snprintf(err, errlen, "no memory for polling thread %u", i);
			goto fail;
		}
		dp->pmds[i]->dp = dp;
		dp->pmds[i]->idx = i;
	}
	return 0;
fail:
	sw_dp_fini(dp);
	return -ENOMEM;
}

int sw_dp_start(struct sw_dp *dp, char *err, size_t errlen)
{
	dp->stop = false;
	for (unsigned i = 0; i < dp->n_pmds; i++) {
		int rc = rte_eal_remote_launch(pmd_main, dp->pmds[i], dp->lcores[i]);

		if (rc) {
			snprintf(err, errlen, "cannot start the polling thread on lcore %u: %s",
				 dp->lcores[i], rte_strerror(-rc));
			sw_dp_stop(dp);
			return rc;
		}
	}
	dp->running = true;
	return 0;
}

void sw_dp_stop(struct sw_dp *dp)
{
	__atomic_store_n(&dp->stop, true, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < dp->n_pmds; i++)
		if (dp->pmds[i] && rte_eal_get_lcore_state(dp->lcores[i]) != WAIT)
			rte_eal_wait_lcore(dp->lcores[i]);
	dp->running = false;
}

void sw_dp_fini(struct sw_dp *dp)
{
	for (unsigned i = 0; i < SW_MAX_PMDS; i++) {
		rte_free(dp->pmds[i]);
		dp->pmds[i] = NULL;
	}
	rte_free(dp->qsv);
	dp->qsv = NULL;
}

struct sw_dp_state *sw_dp_publish(struct sw_dp *dp, struct sw_dp_state *st)
{
	struct sw_dp_state *old = __atomic_exchange_n(&dp->state, st, __ATOMIC_ACQ_REL);

	if (dp->running)
		rte_rcu_qsbr_synchronize(dp->qsv, RTE_QSBR_THRID_INVALID);
	return old;
}

void sw_dp_port_counters(const struct sw_dp *dp, unsigned slot, struct sw_port_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (slot >= SW_MAX_PORTS)
		return;
	for (unsigned i = 0; i < dp->n_pmds; i++) {
		const struct sw_port_stats *s = &dp->pmds[i]->cnt.port[slot];

		out->rx_packets += s->rx_packets;
		out->rx_bytes += s->rx_bytes;
		out->tx_packets += s->tx_packets;
		out->tx_bytes += s->tx_bytes;
		out->flood_packets += s->flood_packets;
		for (unsigned d = 0; d < SW_DROP_MAX; d++)
			out->drops[d] += s->drops[d];
	}
}

void sw_dp_mirror_counters(const struct sw_dp *dp, unsigned ms, uint64_t *mirrored,
			   uint64_t *dropped)
{
	*mirrored = *dropped = 0;
	if (ms >= SW_MAX_MIRRORS)
		return;
	for (unsigned i = 0; i < dp->n_pmds; i++) {
		*mirrored += dp->pmds[i]->cnt.mirrored[ms];
		*dropped += dp->pmds[i]->cnt.mirror_dropped[ms];
	}
}
