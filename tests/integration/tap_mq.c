/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Integration test of the multiqueue tap backend (vmm/netdev_tap.c) against
 * the kernel's tun driver, without a VM: a 4-queue tap opened with
 * netdev_tap_open_mq() on two event loops (queues 0 and 2 on one, 1 and 3
 * on the other), each queue's netdev attached to a peer that counts the
 * frames it is handed. It proves that:
 *
 *  1. frames of 32 UDP flows written into the tap from the host (an
 *     AF_PACKET socket bound to it) are spread over more than one queue and
 *     every frame arrives exactly once over all queues;
 *  2. after netdev_set_queue_enabled(false) on queues 2 and 3 (twice: it is
 *     idempotent) nothing arrives there, a detached queue still sends, and
 *     after re-enabling every frame arrives again;
 *  3. a frame sent through queue 1 (netdev_send) reaches the host (an
 *     AF_PACKET socket bound to the tap sees it);
 *  4. the vnet header and offloads set on every queue, then changed at run
 *     time with the same header size, are taken (the tap's tx checksum and
 *     TSO features follow, as ethtool reports them) and frames keep arriving;
 *  5. the link goes down and up on every queue's netdev when the interface
 *     does (followed once, on queue 0's loop);
 *  6. refusals: a second multiqueue open of the tap we hold (busy), an
 *     existing single-queue tap opened with 2 queues (a clear line naming
 *     multi_queue), 0 and 17 queues; the single-queue tap still opens with
 *     one queue, and has no set_queue_enabled.
 *
 * Run it inside a private network namespace: `tap_mq MQTAP SQTAP`, where
 * MQTAP does not exist (the test creates it) and SQTAP is a single-queue
 * tap made with `ip tuntap add SQTAP mode tap`. Every wait is bounded.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun).
 */
#include "vmm/netdev.h"
#include "vmm/netdev_tap.h"
#include "common/evloop.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NQ 4
#define NLOOPS 2
#define FLOWS 32
#define PER_FLOW 4
#define BATCH (FLOWS * PER_FLOW)
#define MAX_SEQ (BATCH * 8)
#define MAGIC 0x4e465651u   /* "NFVQ" */
#define TX_ETHERTYPE 0x88b5 /* local experimental: the frame queue 1 sends */
#define FRAME_LEN 64
#define WAIT_MS 3000
#define SETTLE_MS 200
#define HDR_LEN 12 /* virtio_net_hdr_mrg_rxbuf, as virtio-net agrees on */
#define OFF_ALL (NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6)

struct qpeer {
	struct netdev *nd;
	uint64_t frames;  /* atomic: our frames this queue delivered */
	uint64_t foreign; /* atomic: anything else (IPv6 noise, ...) */
	int link;	  /* atomic: last link_changed(): 1 up, 0 down, -1 none yet */
};

static struct qpeer peers[NQ];
static uint32_t seen[MAX_SEQ]; /* atomic: deliveries of each sequence number */
static int failures;

static void check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(cond ? "ok: " : "FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	if (!cond)
		failures++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static uint64_t ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* ---- the peer: counts our frames by sequence number and queue ---- */

static ssize_t peer_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct qpeer *q = opaque;
	size_t hlen = q->nd->vnet_hdr_len;
	const uint8_t *f;
	size_t len;
	uint32_t magic, seq;

	if (iovcnt != 1 || iov[0].iov_len < hlen)
		goto foreign;
	f = (const uint8_t *)iov[0].iov_base + hlen;
	len = iov[0].iov_len - hlen;
	/* Ethernet 14 + IPv4 20 + UDP 8, then magic and sequence number. */
	if (len < 14 + 20 + 8 + 8 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 17)
		goto foreign;
	memcpy(&magic, f + 42, 4);
	memcpy(&seq, f + 46, 4);
	magic = ntohl(magic);
	seq = ntohl(seq);
	if (magic != MAGIC || seq >= MAX_SEQ)
		goto foreign;
	__atomic_add_fetch(&seen[seq], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&q->frames, 1, __ATOMIC_RELEASE);
	return (ssize_t)iov[0].iov_len;
foreign:
	__atomic_add_fetch(&q->foreign, 1, __ATOMIC_RELAXED);
	return (ssize_t)iov[0].iov_len;
}

static void peer_link(void *opaque, bool up)
{
	struct qpeer *q = opaque;

	__atomic_store_n(&q->link, up ? 1 : 0, __ATOMIC_RELEASE);
}

/* ---- the host side: AF_PACKET sockets bound to the tap ---- */

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A UDP/IPv4 frame of flow `flow` carrying `seq`; UDP checksum 0 (none, allowed on IPv4). */
static void build_frame(uint8_t *f, unsigned int flow, uint32_t seq)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint8_t *ip = f + 14, *udp = f + 34;
	uint32_t v;
	uint16_t c;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = 0;
	ip[3] = FRAME_LEN - 14;
	ip[4] = (uint8_t)(seq >> 8);
	ip[5] = (uint8_t)seq;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (const uint8_t[]){ 10, 99, 0, 1 }, 4);
	memcpy(ip + 16, (const uint8_t[]){ 10, 99, 0, 2 }, 4);
	c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = (uint8_t)((40000 + flow) >> 8);
	udp[1] = (uint8_t)(40000 + flow);
	udp[2] = (uint8_t)((5000 + flow) >> 8);
	udp[3] = (uint8_t)(5000 + flow);
	udp[5] = FRAME_LEN - 34;
	v = htonl(MAGIC);
	memcpy(f + 42, &v, 4);
	v = htonl(seq);
	memcpy(f + 46, &v, 4);
}

static int packet_socket(int ifindex, uint16_t proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(proto),
				   .sll_ifindex = ifindex };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

/* Sends one batch (FLOWS flows, PER_FLOW frames each) with sequence numbers from `first`. */
static int send_batch(int s, int ifindex, uint32_t first)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = ifindex,
				  .sll_halen = 6,
				  .sll_addr = { 0x02, 0, 0, 0, 0, 0x02 } };
	uint8_t f[FRAME_LEN];

	for (unsigned int k = 0; k < PER_FLOW; k++) {
		for (unsigned int flow = 0; flow < FLOWS; flow++) {
			uint32_t seq = first + k * FLOWS + flow;

			build_frame(f, flow, seq);
			if (sendto(s, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) !=
			    (ssize_t)sizeof(f))
				return -errno;
		}
	}
	return 0;
}

/*
 * Waits (bounded) until every sequence number of [first, first + BATCH) was
 * delivered, then a little longer for duplicates. Returns how many were
 * delivered exactly once; *dups gets those delivered more than once.
 */
static unsigned int wait_batch(uint32_t first, unsigned int *missing, unsigned int *dups)
{
	uint64_t end = now_ms() + WAIT_MS;
	unsigned int once = 0;

	for (;;) {
		unsigned int got = 0;

		for (uint32_t i = first; i < first + BATCH; i++)
			got += __atomic_load_n(&seen[i], __ATOMIC_ACQUIRE) != 0;
		if (got == BATCH || now_ms() >= end)
			break;
		sleep_ms(10);
	}
	sleep_ms(SETTLE_MS);
	*missing = 0;
	*dups = 0;
	for (uint32_t i = first; i < first + BATCH; i++) {
		uint32_t n = __atomic_load_n(&seen[i], __ATOMIC_ACQUIRE);

		if (n == 0)
			(*missing)++;
		else if (n == 1)
			once++;
		else
			(*dups)++;
	}
	return once;
}

static void snapshot(uint64_t *counts)
{
	for (int i = 0; i < NQ; i++)
		counts[i] = ld64(&peers[i].frames);
}

/*
 * One batch through the tap: all delivered exactly once; `per_queue` gets
 * each queue's share. Returns true when complete.
 */
static bool run_batch(int s, int ifindex, uint32_t *next_seq, uint64_t *per_queue, const char *what)
{
	uint64_t before[NQ], after[NQ];
	unsigned int missing, dups, once;
	uint32_t first = *next_seq;
	int ret;

	if (first + BATCH > MAX_SEQ) {
		check(false, "%s: out of sequence numbers", what);
		return false;
	}
	*next_seq += BATCH;
	snapshot(before);
	ret = send_batch(s, ifindex, first);
	if (ret < 0) {
		check(false, "%s: sending from the host failed: %s", what, strerror(-ret));
		return false;
	}
	once = wait_batch(first, &missing, &dups);
	snapshot(after);
	for (int i = 0; i < NQ; i++)
		per_queue[i] = after[i] - before[i];
	check(once == BATCH && !missing && !dups,
	      "%s: %u of %u frames delivered exactly once (%u missing, %u duplicated); per queue "
	      "%llu %llu %llu %llu",
	      what, once, BATCH, missing, dups, (unsigned long long)per_queue[0],
	      (unsigned long long)per_queue[1], (unsigned long long)per_queue[2],
	      (unsigned long long)per_queue[3]);
	return once == BATCH && !missing && !dups;
}

/* Sends a marked frame through `nd` and looks for it on the host socket `hs`. */
static void check_tx(int hs, struct netdev *nd, int queue, const char *what)
{
	static const uint8_t eth[14] = {
		[0 ... 5] = 0xff, 0x02, 0, 0, 0, 0, 0x03, TX_ETHERTYPE >> 8, TX_ETHERTYPE & 0xff
	};
	uint8_t f[FRAME_LEN] = { 0 };
	uint8_t hdr[HDR_LEN] = { 0 };
	struct iovec iov[2];
	uint64_t end;
	bool seen_it = false;
	int iovcnt = 0, ret;

	memcpy(f, eth, sizeof(eth));
	/* Drop what the socket queued meanwhile (our own batches, seen going out). */
	for (unsigned int i = 0; i < 100000; i++) {
		uint8_t junk[64];

		if (recv(hs, junk, sizeof(junk), MSG_DONTWAIT | MSG_TRUNC) < 0)
			break;
	}
	snprintf((char *)f + 14, sizeof(f) - 14, "nfv tx queue %d", queue);
	if (nd->vnet_hdr_len)
		iov[iovcnt++] = (struct iovec){ .iov_base = hdr, .iov_len = nd->vnet_hdr_len };
	iov[iovcnt++] = (struct iovec){ .iov_base = f, .iov_len = sizeof(f) };
	ret = netdev_send(nd, iov, iovcnt);
	if (ret < 0) {
		check(false, "%s: netdev_send on %s: %s", what, nd->name, strerror(-ret));
		return;
	}
	end = now_ms() + WAIT_MS;
	for (unsigned int i = 0; i < 10000 && !seen_it && now_ms() < end; i++) {
		struct pollfd p = { .fd = hs, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		uint8_t buf[2048];
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvfrom(hs, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < (ssize_t)sizeof(f) || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		seen_it = memcmp(buf, f, sizeof(f)) == 0;
	}
	check(seen_it, "%s: a frame sent through %s %s on the host side", what, nd->name,
	      seen_it ? "arrived" : "never arrived");
}

/* The tap's tx checksum and TSO as ethtool reports them: 1 on, 0 off, -1 unknown. */
static int ethtool_get(const char *ifname, uint32_t cmd)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(s, SIOCETHTOOL, &ifr) == 0)
		ret = ev.data ? 1 : 0;
	close(s);
	return ret;
}

static int set_if_up(const char *ifname, bool up)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
out:
	close(s);
	return ret;
}

static bool wait_link_all(int want)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		int n = 0;

		for (int i = 0; i < NQ; i++)
			n += __atomic_load_n(&peers[i].link, __ATOMIC_ACQUIRE) == want &&
			     peers[i].nd->link_up == (want == 1);
		if (n == NQ)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Sets the same header and offloads on every queue; true when all took them. */
static bool set_hdr_all(size_t hlen, unsigned int off, const char *what)
{
	int bad = 0, ret = 0;

	for (int i = 0; i < NQ; i++) {
		int r = netdev_set_vnet_hdr(peers[i].nd, hlen, off);

		if (r < 0) {
			bad++;
			ret = r;
		}
	}
	check(!bad, "%s: netdev_set_vnet_hdr(%zu, %#x) on every queue%s%s", what, hlen, off,
	      bad ? ": " : "", bad ? strerror(-ret) : "");
	return !bad;
}

static void check_features(const char *ifname, int csum, int tso, const char *what)
{
	int c = ethtool_get(ifname, ETHTOOL_GTXCSUM), t = ethtool_get(ifname, ETHTOOL_GTSO);

	check(c == csum && t == tso, "%s: the tap's tx checksum is %d, TSO %d (expected %d, %d)",
	      what, c, t, csum, tso);
}

static void *loop_thread(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static void test_refusals(struct evloop **loops, const char *mq, const char *sq)
{
	struct netdev *nds[NETDEV_TAP_MAX_QUEUES + 1] = { NULL };
	struct evloop *many[NETDEV_TAP_MAX_QUEUES + 1];
	char err[256] = "";
	int ret;

	for (int i = 0; i <= NETDEV_TAP_MAX_QUEUES; i++)
		many[i] = loops[i % NLOOPS];

	ret = netdev_tap_open_mq(many, 2, mq, nds, err, sizeof(err));
	check(ret == -EBUSY, "a second 2-queue open of %s, which we hold, is refused: %d: %s", mq,
	      ret, err);
	if (ret == 0) {
		netdev_close(nds[0]);
		netdev_close(nds[1]);
	}

	err[0] = 0;
	ret = netdev_tap_open_mq(many, 2, sq, nds, err, sizeof(err));
	check(ret == -EINVAL && strstr(err, "without multi_queue") &&
		      strstr(err, "ip tuntap add") && !strchr(err, '\n'),
	      "the single-queue tap %s opened with 2 queues is refused in one line: %d: %s", sq,
	      ret, err);
	if (ret == 0) {
		netdev_close(nds[0]);
		netdev_close(nds[1]);
	}

	err[0] = 0;
	ret = netdev_tap_open_mq(many, NETDEV_TAP_MAX_QUEUES + 1, "nfvmqx", nds, err, sizeof(err));
	check(ret == -EINVAL && if_nametoindex("nfvmqx") == 0,
	      "17 queues are refused (and no tap is made): %d: %s", ret, err);
	err[0] = 0;
	ret = netdev_tap_open_mq(many, 0, "nfvmqx", nds, err, sizeof(err));
	check(ret == -EINVAL, "0 queues are refused: %d: %s", ret, err);

	/* The refused open left nothing behind: the single-queue tap opens with one queue. */
	err[0] = 0;
	ret = netdev_tap_open(loops[0], sq, &nds[0], err, sizeof(err));
	check(ret == 0, "the single-queue tap %s still opens with one queue%s%s", sq,
	      ret ? ": " : "", err);
	if (ret == 0) {
		char want[NETDEV_NAME_LEN];

		snprintf(want, sizeof(want), "tap:%s", sq);
		ret = netdev_set_queue_enabled(nds[0], false);
		check(ret == -ENOTSUP && strcmp(nds[0]->name, want) == 0,
		      "a single-queue tap (%s) has no queues to detach: %d", nds[0]->name, ret);
		netdev_close(nds[0]);
	}
}

int main(int argc, char **argv)
{
	struct evloop *loops[NLOOPS] = { NULL };
	struct evloop *qloops[NQ];
	pthread_t threads[NLOOPS];
	int nthreads = 0;
	struct netdev *nds[NQ] = { NULL };
	uint64_t pq[NQ];
	uint32_t seq = 0;
	char err[256] = "";
	const char *mq, *sq;
	int ifindex, ps = -1, hs = -1, ret, spread;
	bool opened = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: %s MQTAP SQTAP (inside a private network namespace)\n",
			argv[0]);
		return 2;
	}
	mq = argv[1];
	sq = argv[2];
	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		printf("SKIP: no usable /dev/net/tun (%s)\n", strerror(errno));
		return 77;
	}
	log_set_level(LOG_LVL_WARN);

	for (int i = 0; i < NLOOPS; i++) {
		loops[i] = evloop_new();
		if (!loops[i]) {
			check(false, "evloop_new failed");
			goto out;
		}
	}
	for (int i = 0; i < NQ; i++)
		qloops[i] = loops[i % NLOOPS];

	ret = netdev_tap_open_mq(qloops, NQ, mq, nds, err, sizeof(err));
	check(ret == 0, "netdev_tap_open_mq(%s, %d queues on %d loops)%s%s", mq, NQ, NLOOPS,
	      ret ? ": " : "", err);
	if (ret < 0)
		goto out;
	opened = true;
	{
		char want[NETDEV_NAME_LEN];

		snprintf(want, sizeof(want), "tap:%s/q2", mq);
		check(strcmp(nds[2]->name, want) == 0 && nds[0]->link_up,
		      "queue 2 is named %s, the link is up", nds[2]->name);
	}
	for (int i = 0; i < NQ; i++) {
		struct netdev_peer p = { .receive = peer_receive,
					 .link_changed = peer_link,
					 .opaque = &peers[i] };

		peers[i].nd = nds[i];
		peers[i].link = -1;
		netdev_attach(nds[i], &p);
	}
	for (int i = 0; i < NLOOPS; i++) {
		if (pthread_create(&threads[i], NULL, loop_thread, loops[i]) != 0) {
			check(false, "pthread_create failed");
			goto out;
		}
		nthreads++;
	}

	ifindex = (int)if_nametoindex(mq);
	ps = packet_socket(ifindex, 0); /* sends only */
	hs = packet_socket(ifindex, ETH_P_ALL);
	if (ps < 0 || hs < 0) {
		check(false, "AF_PACKET sockets on %s: %s", mq, strerror(-(ps < 0 ? ps : hs)));
		goto out;
	}

	/* 1. flows spread over the queues, each frame exactly once. */
	if (run_batch(ps, ifindex, &seq, pq, "spread")) {
		spread = 0;
		for (int i = 0; i < NQ; i++)
			spread += pq[i] > 0;
		check(spread > 1, "spread: %d flows landed on %d of %d queues", FLOWS, spread, NQ);
	}

	/* 2. queues 2 and 3 detached: nothing arrives there; they still send. */
	ret = netdev_set_queue_enabled(nds[2], false);
	check(ret == 0, "detach queue 2: %d", ret);
	ret = netdev_set_queue_enabled(nds[3], false);
	check(ret == 0, "detach queue 3: %d", ret);
	ret = netdev_set_queue_enabled(nds[3], false);
	check(ret == 0, "detach queue 3 again (idempotent): %d", ret);
	for (int round = 0; round < 2; round++) {
		if (run_batch(ps, ifindex, &seq, pq, "detached"))
			check(pq[2] == 0 && pq[3] == 0,
			      "detached: queues 2 and 3 got %llu and %llu frames",
			      (unsigned long long)pq[2], (unsigned long long)pq[3]);
	}
	check_tx(hs, nds[2], 2, "detached queue sends");

	ret = netdev_set_queue_enabled(nds[2], true);
	check(ret == 0, "attach queue 2: %d", ret);
	ret = netdev_set_queue_enabled(nds[3], true);
	check(ret == 0, "attach queue 3: %d", ret);
	ret = netdev_set_queue_enabled(nds[2], true);
	check(ret == 0, "attach queue 2 again (idempotent): %d", ret);
	run_batch(ps, ifindex, &seq, pq, "re-attached");

	/* 3. a frame sent through queue 1 reaches the host. */
	check_tx(hs, nds[1], 1, "queue 1 sends");

	/* 4. vnet header and offloads on every queue, changed at run time. */
	if (set_hdr_all(HDR_LEN, OFF_ALL, "offloads on")) {
		check_features(mq, 1, 1, "offloads on");
		run_batch(ps, ifindex, &seq, pq, "offloads on");
		check_tx(hs, nds[3], 3, "offloads on");
	}
	if (set_hdr_all(HDR_LEN, 0, "offloads off at run time")) {
		check_features(mq, 0, 0, "offloads off at run time");
		run_batch(ps, ifindex, &seq, pq, "offloads off at run time");
	}
	if (set_hdr_all(HDR_LEN, OFF_ALL, "offloads back on")) {
		check_features(mq, 1, 1, "offloads back on");
		run_batch(ps, ifindex, &seq, pq, "offloads back on");
	}
	if (set_hdr_all(0, 0, "no header")) {
		check_features(mq, 0, 0, "no header");
		run_batch(ps, ifindex, &seq, pq, "no header");
	}

	/* 5. the link, followed once, reported on every queue. */
	ret = set_if_up(mq, false);
	check(ret == 0 && wait_link_all(0), "link down reaches every queue's netdev (%d)", ret);
	ret = set_if_up(mq, true);
	check(ret == 0 && wait_link_all(1), "link up reaches every queue's netdev (%d)", ret);

	/* 6. refusals. */
	test_refusals(loops, mq, sq);

out:
	for (int i = 0; i < NLOOPS; i++)
		if (loops[i])
			evloop_stop(loops[i]);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	if (ps >= 0)
		close(ps);
	if (hs >= 0)
		close(hs);
	if (opened) {
		for (int i = 0; i < NQ; i++)
			netdev_close(nds[i]);
		check(if_nametoindex(mq) == 0, "%s is gone once every queue is closed", mq);
	}
	for (int i = 0; i < NLOOPS; i++)
		evloop_free(loops[i]);
	printf("result: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
