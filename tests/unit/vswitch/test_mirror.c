/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pcap mirror writer: frames written, read back with libpcap and
 * compared byte for byte; snap length; drops when the writer lags; errors;
 * nothing left behind after stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "common/util.h"
#include "tests/unit/support/eal_test.h"
#include "vswitch/mirror.h"

#define POOL_SIZE 4095u
#define ROOM 2048u

static struct rte_mempool *pool;
static char dir[64];

static int group_setup(void **state)
{
	if (eal_test_init("test_mirror") < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("mirror_test_pool", POOL_SIZE, 0, 0,
				       ROOM + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	if (pool == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test_mirror.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	rte_mempool_free(pool);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static uint8_t byte_of(uint32_t seed, uint32_t i)
{
	return (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

/*
 * A frame of len bytes with contents from seed, in segments of at most seg
 * bytes (a chain when len > seg).
 */
static struct rte_mbuf *frame(uint32_t len, uint32_t seed, uint32_t seg)
{
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t n = RTE_MIN(len - off, seg);
		uint8_t *p;

		assert_non_null(m);
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
		assert_non_null(p);
		for (uint32_t i = 0; i < n; i++)
			p[i] = byte_of(seed, off + i);
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
		off += n;
	} while (off < len);
	return head;
}

static void count_pool(struct rte_mempool *mp, void *arg)
{
	if (strncmp(mp->name, "pcap", 4) == 0)
		(*(unsigned *)arg)++;
}

/* Pools of live writers (their names start with "pcap"). */
static unsigned count_writer_pools(void)
{
	unsigned n = 0;

	rte_mempool_walk(count_pool, &n);
	return n;
}

static void assert_pool_full(void)
{
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
}

struct expect {
	uint32_t len, seed;
};

/* Reads path back and checks every record against exp (cut at snaplen). */
static void check_file(const char *path, const struct expect *exp, unsigned n, uint32_t snaplen)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t prev_ns = 0;
	unsigned k = 0;
	pcap_t *pc;
	int r;

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (pc == NULL)
		fail_msg("%s", errbuf);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	assert_int_equal(pcap_snapshot(pc), (int)snaplen);
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000 + (uint64_t)h->ts.tv_usec;
		uint32_t cap;

		assert_true(k < n);
		cap = RTE_MIN(exp[k].len, snaplen);
		assert_int_equal(h->len, exp[k].len);
		assert_int_equal(h->caplen, cap);
		for (uint32_t i = 0; i < cap; i++) {
			if (data[i] != byte_of(exp[k].seed, i))
				fail_msg("record %u byte %u: %#x, want %#x", k, i, data[i],
					 byte_of(exp[k].seed, i));
		}
		assert_true(ns >= prev_ns);
		prev_ns = ns;
		k++;
	}
	assert_int_equal(r, PCAP_ERROR_BREAK);
	assert_int_equal(k, n);
	pcap_close(pc);
}

static void write_frames(uint32_t snaplen, const char *file)
{
	static const uint32_t lens[] = { 60, 64, 1514, 100, 9000, 1, 2048, 2049, 4000, 65535 };
	struct expect exp[3 * ARRAY_SIZE(lens)];
	struct sw_pcap_writer_stats st;
	struct sw_pcap_writer *w;
	char path[128], err[256] = "";
	unsigned n = 0;
	int64_t wall0;

	tmp_path(path, sizeof(path), file);
	w = sw_pcap_writer_start("m0", path, snaplen, SOCKET_ID_ANY, err, sizeof(err));
	if (w == NULL)
		fail_msg("%s", err);
	assert_string_equal(sw_pcap_writer_path(w), path);
	assert_int_equal(count_writer_pools(), 1);
	wall0 = (int64_t)time(NULL);

	for (unsigned round = 0; round < 3; round++) {
		struct rte_mbuf *m[ARRAY_SIZE(lens)];

		for (unsigned i = 0; i < ARRAY_SIZE(lens); i++) {
			/* Round 1 sends chains of small segments. */
			m[i] = frame(lens[i], n + i, round == 1 ? 700 : ROOM);
			exp[n + i].len = lens[i];
			exp[n + i].seed = n + i;
		}
		assert_int_equal(sw_pcap_writer_submit(w, m, ARRAY_SIZE(lens), rte_rdtsc()),
				 ARRAY_SIZE(lens));
		/* The originals are the caller's, untouched. */
		for (unsigned i = 0; i < ARRAY_SIZE(lens); i++) {
			assert_int_equal(m[i]->pkt_len, lens[i]);
			assert_int_equal(*rte_pktmbuf_mtod(m[i], uint8_t *), byte_of(n + i, 0));
		}
		rte_pktmbuf_free_bulk(m, ARRAY_SIZE(lens));
		n += ARRAY_SIZE(lens);
		usleep(2000);
	}
	/* Stop writes out what is still queued. */
	sw_pcap_writer_get_stats(w, &st);
	assert_int_equal(st.queued, n);
	assert_int_equal(st.dropped, 0);
	sw_pcap_writer_stop(w);
	assert_pool_full();
	assert_int_equal(count_writer_pools(), 0);
	check_file(path, exp, n, snaplen);

	/* Wall-clock time, near now. */
	{
		char errbuf[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *data;
		pcap_t *pc = pcap_open_offline(path, errbuf);

		assert_non_null(pc);
		assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
		assert_true(h->ts.tv_sec >= wall0 - 1 && h->ts.tv_sec <= (int64_t)time(NULL) + 1);
		pcap_close(pc);
	}
}

static void test_write_and_read_back(void **state)
{
	write_frames(65535, "full.pcap");
}

static void test_snaplen(void **state)
{
	write_frames(96, "snap.pcap");
}

static void test_stats(void **state)
{
	struct sw_pcap_writer_stats st;
	struct sw_pcap_writer *w;
	char path[128], err[256];
	struct rte_mbuf *m[8];

	tmp_path(path, sizeof(path), "stats.pcap");
	w = sw_pcap_writer_start("m1", path, 100, SOCKET_ID_ANY, err, sizeof(err));
	assert_non_null(w);
	for (unsigned i = 0; i < 8; i++)
		m[i] = frame(50 + 20 * i, i, ROOM);
	assert_int_equal(sw_pcap_writer_submit(w, m, 8, rte_rdtsc()), 8);
	rte_pktmbuf_free_bulk(m, 8);
	/* The thread writes without being stopped. */
	for (unsigned i = 0; i < 2000; i++) {
		sw_pcap_writer_get_stats(w, &st);
		if (st.written == 8)
			break;
		usleep(1000);
	}
	assert_int_equal(st.queued, 8);
	assert_int_equal(st.written, 8);
	assert_int_equal(st.dropped, 0);
	/* 50, 70, 90 whole; 110 .. 190 cut to 100. */
	assert_int_equal(st.bytes, 50 + 70 + 90 + 5 * 100);
	/* Flushed while running: the file has the 24-byte header and 8 records. */
	for (unsigned i = 0; i < 2000; i++) {
		struct stat sb;

		assert_int_equal(stat(path, &sb), 0);
		if (sb.st_size == 24 + 8 * 16 + (off_t)st.bytes)
			break;
		assert_true(i < 1999);
		usleep(1000);
	}
	sw_pcap_writer_stop(w);
	assert_pool_full();
}

struct drain {
	int fd;
	uint8_t *buf;
	size_t len, cap;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;

	for (;;) {
		ssize_t r;

		if (d->len == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 1 << 20;
			d->buf = realloc(d->buf, d->cap);
			if (d->buf == NULL)
				return NULL;
		}
		r = read(d->fd, d->buf + d->len, d->cap - d->len);
		if (r > 0)
			d->len += (size_t)r;
		else if (r == 0)
			break;
		else if (errno == EAGAIN)
			usleep(1000);
		else if (errno != EINTR)
			break;
	}
	return NULL;
}

/*
 * A writer whose file does not take data (a FIFO nobody reads yet) falls
 * behind: the ring and the pool fill up, and the rest is dropped and
 * counted, never waited for.
 */
static void test_drops_when_writer_lags(void **state)
{
	const unsigned total = 20000;
	struct drain d = { 0 };
	struct sw_pcap_writer_stats st;
	struct sw_pcap_writer *w;
	char path[128], file[128], err[256];
	unsigned queued = 0;
	pthread_t th;
	FILE *fp;

	tmp_path(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	/* Opening the reading end first lets the writer open without blocking. */
	d.fd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(d.fd >= 0);
	w = sw_pcap_writer_start("lag", path, 65535, SOCKET_ID_ANY, err, sizeof(err));
	if (w == NULL)
		fail_msg("%s", err);
	for (unsigned i = 0; i < total; i += 32) {
		struct rte_mbuf *m[32];

		for (unsigned j = 0; j < 32; j++)
			m[j] = frame(64, i + j, ROOM);
		queued += sw_pcap_writer_submit(w, m, 32, rte_rdtsc());
		rte_pktmbuf_free_bulk(m, 32);
	}
	sw_pcap_writer_get_stats(w, &st);
	assert_int_equal(st.queued, queued);
	assert_int_equal(st.queued + st.dropped, total);
	/* The pipe and stdio buffers take a few thousand; the ring and pool 4095. */
	assert_true(st.dropped >= total / 2);

	/* Now read it all: the writer catches up and stop completes. */
	assert_int_equal(pthread_create(&th, NULL, drain_main, &d), 0);
	sw_pcap_writer_stop(w);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(d.fd);
	assert_non_null(d.buf);
	assert_pool_full();
	assert_int_equal(count_writer_pools(), 0);

	/* Every queued frame is in the file. */
	assert_int_equal(d.len, 24 + (size_t)queued * (16 + 64));
	tmp_path(file, sizeof(file), "lag.pcap");
	fp = fopen(file, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(d.buf, 1, d.len, fp), d.len);
	fclose(fp);
	free(d.buf);
	{
		char errbuf[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *data;
		pcap_t *pc = pcap_open_offline(file, errbuf);
		unsigned k = 0;

		assert_non_null(pc);
		while (pcap_next_ex(pc, &h, &data) == 1) {
			assert_int_equal(h->len, 64);
			k++;
		}
		assert_int_equal(k, queued);
		pcap_close(pc);
	}
}

static void test_bad_path(void **state)
{
	char err[256] = "";
	const char *path = "/nonexistent-dir/sub/m.pcap";

	assert_null(sw_pcap_writer_start("bad", path, 65535, SOCKET_ID_ANY, err, sizeof(err)));
	if (strncmp(err, path, strlen(path)) != 0 || strstr(err, "No such file") == NULL)
		fail_msg("message: %s", err);
	assert_int_equal(count_writer_pools(), 0);

	/* A directory cannot be opened for writing either. */
	assert_null(sw_pcap_writer_start("bad", dir, 65535, SOCKET_ID_ANY, err, sizeof(err)));
	assert_non_null(strstr(err, dir));
	assert_int_equal(count_writer_pools(), 0);
}

/* Start and stop many times with one name: nothing is left behind. */
static void test_restart(void **state)
{
	char path[128], err[256];

	tmp_path(path, sizeof(path), "again.pcap");
	for (unsigned i = 0; i < 40; i++) {
		struct sw_pcap_writer *w =
			sw_pcap_writer_start("again", path, 65535, SOCKET_ID_ANY, err, sizeof(err));
		struct rte_mbuf *m = frame(100, i, ROOM);

		if (w == NULL)
			fail_msg("round %u: %s", i, err);
		assert_int_equal(sw_pcap_writer_submit(w, &m, 1, rte_rdtsc()), 1);
		rte_pktmbuf_free(m);
		sw_pcap_writer_stop(w);
	}
	assert_int_equal(count_writer_pools(), 0);
	assert_pool_full();

	/* Two live writers with different names. */
	struct sw_pcap_writer *a, *b;
	char pa[128], pb[128];

	tmp_path(pa, sizeof(pa), "a.pcap");
	tmp_path(pb, sizeof(pb), "b.pcap");
	a = sw_pcap_writer_start("a-writer-with-a-rather-long-name", pa, 128, SOCKET_ID_ANY, err,
				 sizeof(err));
	b = sw_pcap_writer_start("a-writer-with-a-rather-long-name2", pb, 128, SOCKET_ID_ANY, err,
				 sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(count_writer_pools(), 2);
	sw_pcap_writer_stop(a);
	sw_pcap_writer_stop(b);
	assert_int_equal(count_writer_pools(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_and_read_back),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_drops_when_writer_lags),
		cmocka_unit_test(test_bad_path),
		cmocka_unit_test(test_restart),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
