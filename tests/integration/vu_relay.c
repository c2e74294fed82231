/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vu_relay: the vhost-user relay netdev (vmm/netdev_vhost_user.c) on its
 * own, without a VM, driven line by line from standard input, for
 * test_netdev_vhost_user.sh to put a third-party backend (dpdk-testpmd's
 * net_vhost) on the other end of the socket.
 *
 *   vu_relay [--client] [--mtu N] SOCKET
 *
 * The relay listens on SOCKET (or, with --client, connects to it) on an
 * event loop thread. A fake model attached to it counts what it receives
 * and checks that each frame is a well-formed Ethernet/IPv4/UDP frame
 * (ethertype, version and header length, header checksum, IP and UDP
 * lengths that match the frame), as testpmd's txonly mode sends them.
 *
 * Commands (one per line), each answered with one line:
 *   send N       sends N 64-byte IPv4/UDP frames; a full ring (-EAGAIN) is
 *                retried for at most 10 s in all:
 *                "sent N ok=.. ring_full=.. failed=.."
 *   stats        "stats link=up|down rx=.. rx_bytes=.. rx_ok=.. rx_bad=.. tx=.. tx_dropped=..
 *                 connects=.. disconnects=.. tx_no_link=.. tx_ring_full=..
 *                 kicks=.. calls=.. backend_errors=.."
 *   quit         ends (also at the end of input)
 * Link changes are printed as they happen: "link up", "link down".
 *
 * Exit status: 0, 1 on a failure to start, 2 on bad usage.
 */
#include "common/evloop.h"
#include "common/log.h"
#include "vmm/netdev.h"
#include "vmm/netdev_vhost_user.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN 64
#define SEND_BUDGET_MS 10000

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rx_ok, rx_bad; /* atomic */
static int link_state;	       /* atomic */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += be16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An Ethernet + IPv4 (no options) + UDP frame whose lengths and checksum agree. */
static bool well_formed(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;
	size_t ip_len;

	if (len < 14 + 20 + 8 || be16(f + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 17)
		return false;
	if (ip_csum(ip, 20) != 0)
		return false;
	ip_len = be16(ip + 2);
	/* Ethernet pads short frames: the IP length may be less than what follows. */
	if (ip_len < 28 || ip_len > len - 14)
		return false;
	return be16(ip + 20 + 4) == ip_len - 20;
}

static ssize_t model_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	uint8_t buf[NETDEV_VU_MAX_MTU + 32];
	size_t len = 0;

	(void)opaque;
	for (int i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(buf))
			return -EMSGSIZE;
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	__atomic_add_fetch(well_formed(buf, len) ? &rx_ok : &rx_bad, 1, __ATOMIC_RELAXED);
	return (ssize_t)len;
}

static void model_link(void *opaque, bool up)
{
	(void)opaque;
	__atomic_store_n(&link_state, up, __ATOMIC_RELAXED);
	say("link %s", up ? "up" : "down");
}

static void make_frame(uint8_t *f, uint32_t seq)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 },
			     src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t ip_len = FRAME_LEN - 14, c;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 198, 18, 0, 2 }, 4);
	c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 0x30, udp[1] = 0x39; /* 12345 */
	udp[2] = 0x30, udp[3] = 0x3a;
	udp[4] = (uint8_t)((ip_len - 20) >> 8);
	udp[5] = (uint8_t)(ip_len - 20);
	memcpy(udp + 8, &seq, sizeof(seq));
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cmd_send(struct netdev *nd, unsigned long n)
{
	uint64_t ok = 0, full = 0, failed = 0;
	int64_t deadline = ms_now() + SEND_BUDGET_MS;
	uint8_t f[FRAME_LEN];

	for (unsigned long i = 0; i < n; i++) {
		struct iovec iov = { .iov_base = f, .iov_len = sizeof(f) };
		int ret;

		make_frame(f, (uint32_t)i);
		while ((ret = netdev_send(nd, &iov, 1)) == -EAGAIN && ms_now() < deadline) {
			struct timespec ts = { .tv_nsec = 100000 };

			full++;
			nanosleep(&ts, NULL);
		}
		if (ret == 0)
			ok++;
		else
			failed++;
	}
	say("sent %lu ok=%llu ring_full=%llu failed=%llu", n, (unsigned long long)ok,
	    (unsigned long long)full, (unsigned long long)failed);
}

static void cmd_stats(struct netdev *nd)
{
	struct netdev_vu_stats st;

	if (netdev_vhost_user_stats(nd, &st) < 0)
		memset(&st, 0, sizeof(st));
	say("stats link=%s rx=%llu rx_bytes=%llu rx_ok=%llu rx_bad=%llu tx=%llu tx_dropped=%llu "
	    "connects=%llu "
	    "disconnects=%llu tx_no_link=%llu tx_ring_full=%llu kicks=%llu calls=%llu "
	    "backend_errors=%llu",
	    __atomic_load_n(&link_state, __ATOMIC_RELAXED) ? "up" : "down",
	    (unsigned long long)__atomic_load_n(&nd->stats.rx_packets, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&nd->stats.rx_bytes, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&rx_ok, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&rx_bad, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&nd->stats.tx_packets, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&nd->stats.tx_dropped, __ATOMIC_RELAXED),
	    (unsigned long long)st.connects, (unsigned long long)st.disconnects,
	    (unsigned long long)st.tx_no_link, (unsigned long long)st.tx_ring_full,
	    (unsigned long long)st.kicks, (unsigned long long)st.calls,
	    (unsigned long long)st.backend_errors);
}

static void *loop_main(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: vu_relay [--client] [--mtu N] SOCKET\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct netdev_vu_config cfg = { .server = true };
	struct netdev_peer peer = { .receive = model_receive, .link_changed = model_link };
	struct evloop *loop;
	struct netdev *nd;
	pthread_t thr;
	char line[256], err[256];
	int i;

	log_set_program("vu_relay");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--client") == 0)
			cfg.server = false;
		else if (strcmp(argv[i], "--mtu") == 0 && i + 1 < argc)
			cfg.mtu = (unsigned int)strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (i != argc - 1)
		usage();
	cfg.path = argv[i];
	loop = evloop_new();
	if (!loop) {
		fprintf(stderr, "vu_relay: cannot create the event loop\n");
		return 1;
	}
	if (netdev_vhost_user_open(loop, &cfg, &nd, err, sizeof(err)) < 0) {
		fprintf(stderr, "vu_relay: %s\n", err);
		return 1;
	}
	netdev_attach(nd, &peer);
	if (pthread_create(&thr, NULL, loop_main, loop) != 0) {
		fprintf(stderr, "vu_relay: cannot start the loop thread\n");
		return 1;
	}
	say("ready %s %s", cfg.server ? "listening on" : "connecting to", cfg.path);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned long n;

		if (sscanf(line, "send %lu", &n) == 1)
			cmd_send(nd, n);
		else if (strncmp(line, "stats", 5) == 0)
			cmd_stats(nd);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			say("unknown command");
	}
	evloop_stop(loop);
	pthread_join(thr, NULL);
	netdev_close(nd);
	evloop_free(loop);
	say("bye");
	return 0;
}
