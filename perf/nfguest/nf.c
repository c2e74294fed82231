// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest NF modes: none, reflect, fwd, gen, sink, ping (docs/nfguest.md).
 *
 * Each CPU c runs one worker over the (NIC, queue) pairs with
 * netif_queue_cpu(nif, q) == c, so a queue is only touched by one CPU.
 * CPU 0 also prints the periodic stats lines and decides when gen and sink
 * are done. In interrupt mode a worker with nothing to do arms its queues'
 * interrupts, polls once more, and halts until an interrupt or the 10 ms
 * timer tick.
 *
 * Generated frames (gen) are Ethernet/IPv4/UDP to port 9000; the flow
 * number is the UDP source port minus 1024; the payload starts with
 * struct gen_payload, and the rest of it is a pattern derived from the
 * flow and the sequence number (gen_pattern). The sink counts the frames
 * that carry it, checks their sequence per flow, and checks every one of
 * them whole (lengths, IPv4 header checksum, pattern): a frame that fails
 * counts as bad, not as received.
 */
#include "nf.h"

enum nf_mode { NF_NONE, NF_REFLECT, NF_FWD, NF_GEN, NF_SINK, NF_PING };

static const char *const mode_names[] = {
	[NF_NONE] = "none", [NF_REFLECT] = "reflect", [NF_FWD] = "fwd",
	[NF_GEN] = "gen",   [NF_SINK] = "sink",	      [NF_PING] = "ping",
};

#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define IP_HLEN		20
#define UDP_HLEN	8
#define PAYLOAD_OFF	(ETH_HLEN + IP_HLEN + UDP_HLEN)
#define GEN_MAGIC	0x4e46		/* "NF" */
#define GEN_DPORT	9000
#define GEN_SPORT_BASE	1024
#define MAX_FLOWS	4096
#define FCS_LEN		4
#define GEN_SIZE_MAX	(ETH_FRAME_JUMBO + FCS_LEN)	/* 9018: a 9000-byte MTU */

/* At the start of a generated frame's UDP payload (18 bytes: fits 64 B frames). */
struct gen_payload {
	uint16_t magic;
	uint64_t seq;		/* per flow, from 0 */
	uint64_t tx_ns;		/* sender's time_ns() when built */
} __packed;

_Static_assert(PAYLOAD_OFF + sizeof(struct gen_payload) == 64 - FCS_LEN, "64 B frames");

#define PATTERN_OFF	(PAYLOAD_OFF + sizeof(struct gen_payload))

/* Arguments. */
static enum nf_mode mode;
static uint64_t arg_size, arg_count, arg_seconds, arg_rate, arg_flows, arg_stats, arg_idle;
static uint8_t arg_dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint32_t my_ip;
static int my_prefix;

/* Run state. */
static uint64_t start_ns;

struct flow_state {
	uint64_t next;		/* sink: next expected sequence number */
	uint64_t received;
};

static struct flow_state *flows;	/* sink: MAX_FLOWS entries */
static uint64_t gen_seq[MAX_FLOWS];	/* gen: next sequence number per flow */

/* Per (NIC, queue) gen state. */
struct genq {
	struct pktpool *pool;
	uint64_t quota;		/* frames this queue sends (0: unlimited) */
	uint64_t sent;
	uint64_t next_tsc;	/* rate limiting: earliest time of the next frame */
	uint64_t gap_tsc;	/* TSC ticks between frames (0: no limit) */
	uint32_t flow_next;	/* index into this queue's flows */
	volatile uint32_t done;
};

static struct genq genq[NETIF_MAX][NETIF_MAX_QUEUES];
static uint8_t gen_template[PAYLOAD_OFF];
static uint64_t sink_received;	/* updated by CPU 0 from the per-queue counts */

struct sinkq {
	volatile uint64_t received;	/* frames with the gen payload */
	volatile uint64_t bad;		/* of those, frames that were not intact */
	uint64_t first_tsc, last_tsc;
};

static struct sinkq sinkq[NETIF_MAX][NETIF_MAX_QUEUES];

bool nf_wants_promisc(void)
{
	return mode == NF_FWD;
}

const char *nf_mode_name(void)
{
	return mode_names[mode];
}

void nf_parse(void)
{
	const char *m = cmdline_get("nf");
	const char *v;
	unsigned int i;

	mode = NF_NONE;
	if (m) {
		for (i = 0; i < ARRAY_SIZE(mode_names); i++)
			if (!strcmp(m, mode_names[i]))
				break;
		if (i == ARRAY_SIZE(mode_names))
			usage_error("nf=%s (modes: none reflect fwd gen sink ping)", m);
		mode = (enum nf_mode)i;
	}
	cmdline_u64("stats", 1, 0, 3600, &arg_stats);
	if (mode == NF_GEN) {
		cmdline_u64("size", 64, 64, GEN_SIZE_MAX, &arg_size);
		cmdline_u64("count", 0, 0, UINT64_MAX, &arg_count);
		cmdline_u64("seconds", 0, 0, 86400, &arg_seconds);
		cmdline_u64("rate", 0, 0, 100000000, &arg_rate);
		cmdline_u64("flows", 1, 1, MAX_FLOWS, &arg_flows);
		v = cmdline_get("dst");
		if (v && parse_mac(v, arg_dst))
			usage_error("dst=%s (expected a MAC address like 52:54:00:12:34:56)", v);
	}
	if (mode == NF_SINK) {
		cmdline_u64("count", 0, 0, UINT64_MAX, &arg_count);
		cmdline_u64("seconds", 0, 0, 86400, &arg_seconds);
		cmdline_u64("idle", 0, 0, 86400, &arg_idle);
	}
	if (mode == NF_PING) {
		v = cmdline_get("ip");
		if (!v)
			usage_error("nf=ping needs ip=A.B.C.D/len");
		if (parse_ipv4(v, &my_ip, &my_prefix))
			usage_error("ip=%s (expected A.B.C.D or A.B.C.D/len)", v);
	}
}

/* ---- helpers ---- */

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += get_be16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void swap_macs(uint8_t *f)
{
	uint8_t t[6];

	memcpy(t, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, t, 6);
}

/* Send all of pkts on (nif, q); free what the ring did not take. */
static void send_or_free(struct netif *nif, int q, struct pktbuf **pkts, int n)
{
	int sent = n ? nif->ops->tx_burst(nif, q, pkts, n) : 0;

	if (sent < n) {
		nif->stats[q].drops += (uint64_t)(n - sent);
		pkt_free_bulk(pkts + sent, n - sent);
	}
}

/* ---- modes: one step on one queue; returns the frames handled ---- */

static int step_reflect(struct netif *nif, int q)
{
	struct pktbuf *pkts[NETIF_BURST];
	int n = nif->ops->rx_burst(nif, q, pkts, NETIF_BURST), i;

	for (i = 0; i < n; i++)
		if (pkts[i]->len >= ETH_HLEN)
			swap_macs(pkts[i]->data);
	send_or_free(nif, q, pkts, n);
	return n;
}

static int step_fwd(struct netif *nif, int q)
{
	struct netif *out = netif_get(nif->index ^ 1);
	struct pktbuf *pkts[NETIF_BURST];
	int n;

	if (!out || q >= out->nr_queues)
		return 0;
	n = nif->ops->rx_burst(nif, q, pkts, NETIF_BURST);
	send_or_free(out, q, pkts, n);
	return n;
}

/* ARP request for our address -> reply in place; true when pkt is to be sent. */
static bool ping_arp(struct netif *nif, struct pktbuf *p)
{
	uint8_t *f = p->data, *a = f + ETH_HLEN;

	if (p->len < ETH_HLEN + 28 || get_be16(a) != 1 || get_be16(a + 2) != ETH_P_IP ||
	    a[4] != 6 || a[5] != 4 || get_be16(a + 6) != 1 || get_be32(a + 24) != my_ip)
		return false;
	put_be16(a + 6, 2);			/* reply */
	memcpy(a + 18, a + 8, 10);		/* target = the asker (MAC, IP) */
	memcpy(a + 8, nif->mac, 6);		/* sender = us */
	put_be32(a + 14, my_ip);
	memcpy(f, a + 18, 6);
	memcpy(f + 6, nif->mac, 6);
	p->len = ETH_HLEN + 28;
	return true;
}

/* ICMP echo request to our address -> echo reply in place. */
static bool ping_icmp(struct netif *nif, struct pktbuf *p)
{
	uint8_t *f = p->data, *ip = f + ETH_HLEN, *icmp;
	uint32_t ihl, tot;

	if (p->len < ETH_HLEN + IP_HLEN + 8 || (ip[0] >> 4) != 4)
		return false;
	ihl = (ip[0] & 0xf) * 4u;
	tot = get_be16(ip + 2);
	if (ihl < IP_HLEN || tot < ihl + 8 || ETH_HLEN + tot > p->len || ip[9] != 1 ||
	    get_be32(ip + 16) != my_ip || (get_be16(ip + 6) & 0x3fff))
		return false;		/* not ICMP to us, or a fragment */
	icmp = ip + ihl;
	if (icmp[0] != 8 || icmp[1] != 0)
		return false;
	icmp[0] = 0;			/* echo reply */
	put_be16(icmp + 2, 0);
	put_be16(icmp + 2, inet_csum(icmp, tot - ihl));
	memcpy(ip + 16, ip + 12, 4);
	put_be32(ip + 12, my_ip);
	ip[8] = 64;			/* TTL */
	put_be16(ip + 10, 0);
	put_be16(ip + 10, inet_csum(ip, ihl));
	memcpy(f, f + 6, 6);
	memcpy(f + 6, nif->mac, 6);
	p->len = ETH_HLEN + tot;
	return true;
}

static int step_ping(struct netif *nif, int q)
{
	struct pktbuf *pkts[NETIF_BURST], *out[NETIF_BURST], *drop[NETIF_BURST];
	int n = nif->ops->rx_burst(nif, q, pkts, NETIF_BURST), i, no = 0, nd = 0;

	for (i = 0; i < n; i++) {
		struct pktbuf *p = pkts[i];
		uint16_t type = p->len >= ETH_HLEN ? get_be16(p->data + 12) : 0;
		bool reply = (type == ETH_P_ARP && ping_arp(nif, p)) ||
			     (type == ETH_P_IP && ping_icmp(nif, p));

		if (reply)
			out[no++] = p;
		else
			drop[nd++] = p;
	}
	if (nd)
		pkt_free_bulk(drop, nd);
	send_or_free(nif, q, out, no);
	return n;
}

static void gen_build_template(void)
{
	uint8_t *f = gen_template, *ip = f + ETH_HLEN, *udp = ip + IP_HLEN;
	uint32_t len = (uint32_t)arg_size - FCS_LEN;

	memcpy(f, arg_dst, 6);
	put_be16(f + 12, ETH_P_IP);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(len - ETH_HLEN));
	ip[8] = 64;
	ip[9] = 17;				/* UDP */
	put_be32(ip + 12, 0x0a000001);		/* 10.0.0.1 */
	put_be32(ip + 16, 0x0a000002);		/* 10.0.0.2 */
	put_be16(ip + 10, inet_csum(ip, IP_HLEN));
	put_be16(udp + 2, GEN_DPORT);
	put_be16(udp + 4, (uint16_t)(len - ETH_HLEN - IP_HLEN));
	/* UDP checksum 0: none (allowed for IPv4). */
}

/*
 * The bytes after struct gen_payload, up to the end of the frame, in
 * blocks of 512 bytes: every 64-bit little-endian word of block b holds
 * seed + b, seed = (seq ^ flow << 48) * 0x9e3779b97f4a7c15; a last partial
 * word holds the low bytes of its value. Another frame's bytes, zeros, a
 * missing, repeated or misplaced block all differ. Written and checked with
 * rep stosq / repe scasq: a few instructions per block, which matters where
 * guest code runs slowly (docs/testing.md).
 */
#define PATTERN_BLOCK	512u

static inline uint64_t gen_seed(uint32_t flow, uint64_t seq)
{
	return (seq ^ (uint64_t)flow << 48) * 0x9e3779b97f4a7c15ull;
}

static inline void fill_words(uint8_t *dst, uint64_t v, uint64_t n)
{
	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

/* Whether the n words at p all hold v. */
static inline bool words_are(const uint8_t *p, uint64_t v, uint64_t n)
{
	bool eq;

	if (!n)
		return true;
	__asm__ volatile("repe scasq" : "+D"(p), "+c"(n), "=@ccz"(eq) : "a"(v) : "memory");
	return eq;
}

static void gen_pattern(uint8_t *f, uint32_t len, uint32_t flow, uint64_t seq)
{
	uint64_t w = gen_seed(flow, seq);
	uint32_t off = PATTERN_OFF, n;

	for (; off + 8 <= len; off += n * 8, w++) {
		n = MIN(PATTERN_BLOCK / 8, (len - off) / 8);
		fill_words(f + off, w, n);
	}
	for (; off < len; off++, w >>= 8)
		f[off] = (uint8_t)w;
}

/* Whether the pattern of a received frame is intact. */
static bool gen_pattern_ok(const uint8_t *f, uint32_t len, uint32_t flow, uint64_t seq)
{
	uint64_t w = gen_seed(flow, seq);
	uint32_t off = PATTERN_OFF, n;

	for (; off + 8 <= len; off += n * 8, w++) {
		n = MIN(PATTERN_BLOCK / 8, (len - off) / 8);
		if (!words_are(f + off, w, n))
			return false;
	}
	for (; off < len; off++, w >>= 8)
		if (f[off] != (uint8_t)w)
			return false;
	return true;
}

/* The 20 bytes of an IPv4 header without options, as unaligned words. */
struct ipv4_words {
	uint32_t w[5];
} __packed;

/*
 * Whether an IPv4 header without options has a right checksum: its 16-bit
 * one's complement sum is 0xffff. Summed in 32-bit little-endian words and
 * folded (the sum is the same up to a byte swap, which leaves 0xffff as it
 * is): a handful of instructions per frame for the sink.
 */
static bool ipv4_csum_ok(const uint8_t *ip)
{
	const struct ipv4_words *h = (const struct ipv4_words *)ip;
	uint64_t sum = (uint64_t)h->w[0] + h->w[1] + h->w[2] + h->w[3] + h->w[4];

	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/*
 * Whether a received generated frame of len bytes is whole: its length is
 * the IPv4 total length plus the Ethernet header, the UDP length agrees,
 * the IPv4 header checksum holds, and so does the pattern.
 */
static bool gen_frame_ok(const uint8_t *f, uint32_t len, uint32_t flow, uint64_t seq)
{
	const uint8_t *ip = f + ETH_HLEN;
	uint32_t tot = get_be16(ip + 2);

	return ip[0] == 0x45 && len == ETH_HLEN + tot && tot >= IP_HLEN + UDP_HLEN &&
	       get_be16(ip + IP_HLEN + 4) == tot - IP_HLEN && ipv4_csum_ok(ip) &&
	       gen_pattern_ok(f, len, flow, seq);
}

/*
 * Flows of queue q among nq: q, q + nq, q + 2 nq, ... below arg_flows (at
 * least flow q itself when there are fewer flows than queues).
 */
static uint32_t gen_flow(struct genq *g, int q, int nq)
{
	uint32_t per = (uint32_t)((arg_flows + (uint64_t)nq - 1 - (uint64_t)q) / (uint64_t)nq);
	uint32_t f;

	if (!per)
		per = 1;
	f = (uint32_t)q + (uint32_t)nq * (g->flow_next % per);
	g->flow_next++;
	return f;
}

static int step_gen(struct netif *nif, int q)
{
	struct genq *g = &genq[nif->index][q];
	struct pktbuf *pkts[NETIF_BURST];
	uint32_t len = (uint32_t)arg_size - FCS_LEN;
	uint64_t want = NETIF_BURST, now;
	int n, i, sent;

	if (g->done)
		return 0;
	if (g->quota && g->sent >= g->quota)
		return 0;
	if (g->quota && g->quota - g->sent < want)
		want = g->quota - g->sent;
	if (g->gap_tsc) {
		now = rdtsc();
		if (now < g->next_tsc) {
			nif->ops->tx_burst(nif, q, pkts, 0);	/* reclaim only */
			return 0;
		}
		want = MIN(want, (now - g->next_tsc) / g->gap_tsc + 1);
	}
	n = pkt_alloc_bulk(g->pool, pkts, (int)want);
	for (i = 0; i < n; i++) {
		struct pktbuf *p = pkts[i];
		uint32_t flow = gen_flow(g, q, nif->nr_queues);
		struct gen_payload pl = { GEN_MAGIC, gen_seq[flow]++, time_ns() };

		memcpy(p->data, gen_template, PAYLOAD_OFF);
		memcpy(p->data + 6, nif->mac, 6);
		put_be16(p->data + ETH_HLEN + IP_HLEN, (uint16_t)(GEN_SPORT_BASE + flow));
		memcpy(p->data + PAYLOAD_OFF, &pl, sizeof(pl));
		gen_pattern(p->data, len, flow, pl.seq);
		p->len = len;
	}
	sent = n ? nif->ops->tx_burst(nif, q, pkts, n) : 0;
	if (sent < n) {
		/* Ring full: take back the sequence numbers of what stays here. */
		for (i = n - 1; i >= sent; i--) {
			struct gen_payload pl;

			memcpy(&pl, pkts[i]->data + PAYLOAD_OFF, sizeof(pl));
			gen_seq[get_be16(pkts[i]->data + ETH_HLEN + IP_HLEN) - GEN_SPORT_BASE] =
				pl.seq;
			g->flow_next--;
		}
		pkt_free_bulk(pkts + sent, n - sent);
	}
	g->sent += (uint64_t)sent;
	if (g->gap_tsc)
		g->next_tsc += g->gap_tsc * (uint64_t)sent;
	return sent;
}

static int step_sink(struct netif *nif, int q)
{
	struct pktbuf *pkts[NETIF_BURST];
	struct sinkq *s = &sinkq[nif->index][q];
	struct netif_qstats *st = &nif->stats[q];
	int n = nif->ops->rx_burst(nif, q, pkts, NETIF_BURST), i;

	for (i = 0; i < n; i++) {
		const uint8_t *f = pkts[i]->data;
		struct gen_payload pl;
		struct flow_state *fs;
		uint32_t flow;

		if (pkts[i]->len < PAYLOAD_OFF + sizeof(pl) || get_be16(f + 12) != ETH_P_IP ||
		    f[ETH_HLEN + 9] != 17 || get_be16(f + ETH_HLEN + IP_HLEN + 2) != GEN_DPORT)
			continue;
		memcpy(&pl, f + PAYLOAD_OFF, sizeof(pl));
		flow = get_be16(f + ETH_HLEN + IP_HLEN) - (uint32_t)GEN_SPORT_BASE;
		if (pl.magic != GEN_MAGIC || flow >= MAX_FLOWS)
			continue;
		if (!gen_frame_ok(f, pkts[i]->len, flow, pl.seq)) {
			s->bad++;	/* not trusted: its sequence number neither */
			continue;
		}
		fs = &flows[flow];
		if (pl.seq >= fs->next) {
			/* A gap: lost unless it comes later. */
			st->loss += pl.seq - fs->next;
			fs->next = pl.seq + 1;
		} else {
			st->reorder++;			/* late: it was counted as lost */
			if (st->loss)
				st->loss--;
		}
		fs->received++;
		if (!s->received)
			s->first_tsc = rdtsc();
		s->last_tsc = rdtsc();
		s->received++;
	}
	if (n)
		pkt_free_bulk(pkts, n);
	return n;
}

static int step(struct netif *nif, int q)
{
	switch (mode) {
	case NF_REFLECT: return step_reflect(nif, q);
	case NF_FWD: return step_fwd(nif, q);
	case NF_GEN: return step_gen(nif, q);
	case NF_SINK: return step_sink(nif, q);
	case NF_PING: return step_ping(nif, q);
	default: return 0;
	}
}

/* ---- stats and end conditions (CPU 0) ---- */

static void print_stats(void)
{
	uint64_t el = time_ns() - start_ns;
	int i, q;

	for (i = 0; i < netif_count(); i++) {
		struct netif *nif = netif_get(i);

		for (q = 0; q < nif->nr_queues; q++) {
			const struct netif_qstats *st = &nif->stats[q];

			printf("nfguest stats nic=%d q=%d rx_pkts=%llu tx_pkts=%llu rx_bytes=%llu "
			       "drops=%llu loss=%llu elapsed_ns=%llu\n",
			       i, q, (unsigned long long)st->rx_pkts,
			       (unsigned long long)st->tx_pkts, (unsigned long long)st->rx_bytes,
			       (unsigned long long)st->drops, (unsigned long long)st->loss,
			       (unsigned long long)el);
		}
	}
}

static uint64_t sum_sink(uint64_t *loss, uint64_t *reorder, uint64_t *bad)
{
	uint64_t r = 0;
	int i, q;

	*loss = *reorder = *bad = 0;
	for (i = 0; i < netif_count(); i++) {
		struct netif *nif = netif_get(i);

		for (q = 0; q < nif->nr_queues; q++) {
			r += sinkq[i][q].received;
			*bad += sinkq[i][q].bad;
			*loss += nif->stats[q].loss;
			*reorder += nif->stats[q].reorder;
		}
	}
	return r;
}

static void finish_gen(void)
{
	uint64_t sent = 0, el, t0 = time_ns(), waited;
	int i, q, status;

	/*
	 * Let the devices finish sending (and us reclaim) what is queued: 200
	 * ms, and longer (10 s at most) while a queue that CPU 0 reclaims
	 * still has frames in flight, e.g. behind a backend that waits for
	 * room at its far end.
	 */
	do {
		bool busy = false;

		for (i = 0; i < netif_count(); i++) {
			struct netif *nif = netif_get(i);

			if (netif_queue_cpu(nif, 0) != 0)
				continue;
			nif->ops->tx_burst(nif, 0, NULL, 0);
			if (nif->ops->tx_inflight && nif->ops->tx_inflight(nif, 0))
				busy = true;
		}
		delay_ns(1000000);
		waited = time_ns() - t0;
		if (!busy && waited >= 200000000ull)
			break;
	} while (waited < 10000000000ull);
	el = time_ns() - start_ns;
	print_stats();
	for (i = 0; i < netif_count(); i++)
		for (q = 0; q < netif_get(i)->nr_queues; q++)
			sent += genq[i][q].sent;
	if (arg_count)
		status = sent == arg_count * (uint64_t)netif_count() ? NF_EXIT_OK : NF_EXIT_FAIL;
	else
		status = sent ? NF_EXIT_OK : NF_EXIT_FAIL;
	printf("nfguest: gen done sent=%llu expected=%llu size=%llu flows=%llu elapsed_ns=%llu "
	       "status=%d\n",
	       (unsigned long long)sent,
	       (unsigned long long)(arg_count * (uint64_t)netif_count()),
	       (unsigned long long)arg_size, (unsigned long long)arg_flows,
	       (unsigned long long)el, status);
	nf_exit(status);
}

static void finish_sink(void)
{
	uint64_t loss, reorder, bad, received = sum_sink(&loss, &reorder, &bad);
	uint64_t el = time_ns() - start_ns;
	int status;

	/* Frames that never came count as lost (the tail no gap shows). */
	if (arg_count && received < arg_count && arg_count - received > loss)
		loss = arg_count - received;
	print_stats();
	status = loss || bad || (arg_count && received < arg_count) ? NF_EXIT_FAIL : NF_EXIT_OK;
	if (!arg_count && !received)
		status = NF_EXIT_FAIL;
	printf("nfguest: sink done received=%llu expected=%llu loss=%llu reorder=%llu bad=%llu "
	       "elapsed_ns=%llu status=%d\n",
	       (unsigned long long)received, (unsigned long long)arg_count,
	       (unsigned long long)loss, (unsigned long long)reorder, (unsigned long long)bad,
	       (unsigned long long)el, status);
	nf_exit(status);
}

/* CPU 0, about every millisecond: periodic lines and the end of gen/sink. */
static void housekeeping(void)
{
	static uint64_t next_stats, last_rx_ns;
	uint64_t now = time_ns();
	int i, q;

	if (arg_stats && now >= next_stats) {
		if (next_stats)
			print_stats();
		next_stats = now + arg_stats * 1000000000ull;
	}
	if (mode == NF_GEN) {
		bool all = true;

		for (i = 0; i < netif_count(); i++) {
			struct netif *nif = netif_get(i);

			for (q = 0; q < nif->nr_queues; q++) {
				struct genq *g = &genq[i][q];

				if (!g->done && ((g->quota && g->sent >= g->quota) ||
						 (arg_seconds &&
						  now - start_ns >= arg_seconds * 1000000000ull)))
					g->done = 1;
				all = all && g->done;
			}
		}
		if (all)
			finish_gen();
	}
	if (mode == NF_SINK) {
		uint64_t loss, reorder, bad, r = sum_sink(&loss, &reorder, &bad);

		if (r != sink_received) {
			sink_received = r;
			last_rx_ns = now;
		}
		if ((arg_count && r >= arg_count) ||
		    (arg_seconds && now - start_ns >= arg_seconds * 1000000000ull) ||
		    (arg_idle && r && now - last_rx_ns >= arg_idle * 1000000000ull))
			finish_sink();
	}
}

/* ---- workers ---- */

struct worker {
	int cpu;
	int n;
	struct netif *nif[NETIF_MAX * NETIF_MAX_QUEUES];
	uint16_t q[NETIF_MAX * NETIF_MAX_QUEUES];
};

static struct worker workers[NF_MAX_CPUS];

static void worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t next_hk = 0, hk_gap = ns_to_tsc(1000000);
	bool use_irq = mode != NF_GEN;
	int i;

	for (;;) {
		int work = 0;

		for (i = 0; i < w->n; i++)
			work += step(w->nif[i], w->q[i]);
		if (w->cpu == 0 && rdtsc() >= next_hk) {
			housekeeping();
			next_hk = rdtsc() + hk_gap;
		}
		if (work || mode == NF_GEN)
			continue;
		if (!use_irq) {
			cpu_relax();
			continue;
		}
		/*
		 * Idle: arm the queues that have interrupts, look once more
		 * (a frame may have come in before arming), then halt until
		 * an interrupt or the timer tick.
		 */
		for (i = 0; i < w->n; i++) {
			struct netif *nif = w->nif[i];

			if (nif->irq && nif->ops->irq_arm) {
				nif->irq_pending[w->q[i]] = 0;
				nif->ops->irq_arm(nif, w->q[i], true);
			}
		}
		for (i = 0; i < w->n; i++)
			work += step(w->nif[i], w->q[i]);
		if (!work)
			cpu_idle();
		for (i = 0; i < w->n; i++) {
			struct netif *nif = w->nif[i];

			if (nif->irq && nif->ops->irq_arm && !nif->irq_pending[w->q[i]])
				nif->ops->irq_arm(nif, w->q[i], false);
		}
	}
}

static void setup_gen(void)
{
	int i, q;

	gen_build_template();
	for (i = 0; i < netif_count(); i++) {
		struct netif *nif = netif_get(i);
		uint32_t max = nif->max_frame ? nif->max_frame : ETH_FRAME_STD;

		if (arg_size - FCS_LEN > max)
			usage_error("size=%llu (nic=%d, %s, sends frames up to %u bytes with the FCS)",
				    (unsigned long long)arg_size, i, nif->kind_name, max + FCS_LEN);

		for (q = 0; q < nif->nr_queues; q++) {
			struct genq *g = &genq[i][q];
			uint64_t nq = nif->nr_queues;

			g->pool = pktpool_create("gen", nif->tx_ring + 4u * NETIF_BURST,
						 (uint32_t)MAX(1536u, ALIGN_UP(arg_size, 64u)));
			if (!g->pool)
				nf_panic("gen: no memory for buffers");
			if (arg_count)
				g->quota = arg_count / nq + ((uint64_t)q < arg_count % nq ? 1 : 0);
			/* rate= is per NIC, shared evenly by its queues. */
			if (arg_rate)
				g->gap_tsc = ns_to_tsc(1000000000ull * nq / arg_rate);
			g->next_tsc = rdtsc();
			/* A queue with a zero quota is done from the start. */
			if (arg_count && !g->quota)
				g->done = 1;
		}
	}
}

void nf_run(void)
{
	int i, q, c, ncpu = cpu_count();

	if (mode == NF_NONE)
		for (;;)
			cpu_idle();
	if (mode == NF_FWD && netif_count() < 2)
		usage_error("nf=fwd needs two NICs, found %d", netif_count());
	if ((mode == NF_GEN || mode == NF_SINK || mode == NF_REFLECT || mode == NF_PING) &&
	    !netif_count()) {
		printf("nfguest: nf=%s needs a NIC, found none\n", nf_mode_name());
		nf_exit(NF_EXIT_FAIL);
	}
	if (mode == NF_SINK) {
		flows = page_alloc((MAX_FLOWS * sizeof(*flows) + PAGE_SIZE - 1) / PAGE_SIZE);
		if (!flows)
			nf_panic("sink: no memory for flow state");
	}
	if (mode == NF_GEN)
		setup_gen();

	for (c = 0; c < ncpu; c++)
		workers[c].cpu = c;
	for (i = 0; i < netif_count(); i++) {
		struct netif *nif = netif_get(i);

		for (q = 0; q < nif->nr_queues; q++) {
			struct worker *w = &workers[netif_queue_cpu(nif, q)];

			w->nif[w->n] = nif;
			w->q[w->n++] = (uint16_t)q;
		}
	}
	start_ns = time_ns();
	for (c = 1; c < ncpu; c++)
		if (workers[c].n && smp_start(c, worker_run, &workers[c]))
			printf("nfguest: cpu %d not available\n", c);
	worker_run(&workers[0]);
	nf_exit(NF_EXIT_FATAL);
}
