/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mirroring to a pcap file.
 *
 * Each writer owns a mempool for the copies, a ring and a pthread with a
 * pcap dumper. A copy carries, in an mbuf dynamic field, the TSC time given
 * by the submitter and the length of the original frame (the copy may be
 * cut at the snap length), so the file shows caplen < len for cut frames.
 * The thread converts TSC to wall-clock time with a (CLOCK_REALTIME, TSC)
 * pair taken at start, writes nanosecond timestamps, flushes the file when
 * the ring runs empty and at least every 100 ms while frames keep coming,
 * and sleeps 1 ms when there is nothing to do.
 *
 * Threads:
 * - sw_pcap_writer_submit: any polling thread. Allocates from the pool
 *   (per-lcore cache), enqueues on the multi-producer ring, adds to the
 *   queued/dropped counters atomically. No lock, no system call.
 * - The writer thread: the ring's single consumer; it alone touches the
 *   dumper and the written/bytes counters, and frees the copies.
 * - start/stop: the control thread. stop sets the stop flag, the thread
 *   drains the ring and exits, then everything is freed. No locks.
 */
#define LOG_COMPONENT "mirror"
#include "common/log.h"

#include "vswitch/mirror.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/util.h"

#define PCAPW_POOL_SIZE 4095u /* copies (segments) in flight */
#define PCAPW_POOL_CACHE 32u
#define PCAPW_RING_SIZE 4096u /* holds 4095 copies */
#define PCAPW_BURST 32u
#define PCAPW_SNAPLEN_MAX 262144u /* libpcap's own limit */
#define PCAPW_FLUSH_NS (100ull * 1000 * 1000)
#define PCAPW_IDLE_NS (1000ull * 1000)
#define PCAPW_NAME_MAX 32

/* What a copy carries besides its data. */
struct pcapw_meta {
	uint64_t tsc;	   /* time given to sw_pcap_writer_submit */
	uint32_t orig_len; /* length of the original frame */
};

static const struct rte_mbuf_dynfield pcapw_meta_desc = {
	.name = "nfv_pcap_writer_meta",
	.size = sizeof(struct pcapw_meta),
	.align = __alignof__(struct pcapw_meta),
};
static int pcapw_meta_off = -1;

struct sw_pcap_writer {
	char name[PCAPW_NAME_MAX];
	char *path;
	uint32_t snaplen;
	struct rte_mempool *pool;
	struct rte_ring *ring;
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	uint8_t *linear; /* snaplen bytes for chained copies */
	pthread_t thread;
	bool thread_running;
	int stop; /* set by stop (release), read by the thread */
	/* Wall clock of TSC tsc0. */
	uint64_t tsc0, tsc_hz;
	int64_t real0_ns;
	/* Written by the polling threads (atomic adds). */
	uint64_t queued __rte_cache_aligned;
	uint64_t dropped;
	/* Written by the writer thread only. */
	uint64_t written __rte_cache_aligned;
	uint64_t bytes;
};

static inline struct pcapw_meta *pcapw_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, pcapw_meta_off, struct pcapw_meta *);
}

static inline uint64_t stat_load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void pcapw_tsc_to_ts(const struct sw_pcap_writer *w, uint64_t tsc, struct pcap_pkthdr *h)
{
	__int128 ns = (__int128)(int64_t)(tsc - w->tsc0) * 1000000000 / (__int128)w->tsc_hz;

	ns += w->real0_ns;
	if (ns < 0)
		ns = 0;
	h->ts.tv_sec = (time_t)(ns / 1000000000);
	/* A nanosecond dumper takes nanoseconds in tv_usec. */
	h->ts.tv_usec = (suseconds_t)(ns % 1000000000);
}

static void pcapw_write(struct sw_pcap_writer *w, struct rte_mbuf *m)
{
	const struct pcapw_meta *meta = pcapw_meta(m);
	struct pcap_pkthdr h;
	const void *data;

	h.caplen = RTE_MIN(m->pkt_len, w->snaplen);
	h.len = RTE_MAX(meta->orig_len, h.caplen);
	pcapw_tsc_to_ts(w, meta->tsc, &h);
	data = rte_pktmbuf_read(m, 0, h.caplen, w->linear);
	if (unlikely(data == NULL))
		return;
	pcap_dump((u_char *)w->dumper, &h, data);
	__atomic_store_n(&w->written, w->written + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&w->bytes, w->bytes + h.caplen, __ATOMIC_RELAXED);
}

static void pcapw_flush(struct sw_pcap_writer *w)
{
	if (pcap_dump_flush(w->dumper) < 0)
		log_warn_rl("mirror %s: writing %s: %s", w->name, w->path, strerror(errno));
}

static void *pcapw_main(void *arg)
{
	struct sw_pcap_writer *w = arg;
	struct rte_mbuf *b[PCAPW_BURST];
	uint64_t last_flush = now_ns();
	bool dirty = false;

	for (;;) {
		unsigned n = rte_ring_sc_dequeue_burst(w->ring, (void **)b, RTE_DIM(b), NULL);

		if (n == 0) {
			if (dirty) {
				pcapw_flush(w);
				dirty = false;
				last_flush = now_ns();
			}
			/* The submitters are quiescent once stop is set: an
			 * empty ring then stays empty. */
			if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
				if (rte_ring_empty(w->ring))
					break;
				continue;
			}
			struct timespec idle = { .tv_nsec = PCAPW_IDLE_NS };

			nanosleep(&idle, NULL);
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			pcapw_write(w, b[i]);
		rte_pktmbuf_free_bulk(b, n);
		dirty = true;
		if (now_ns() - last_flush >= PCAPW_FLUSH_NS) {
			pcapw_flush(w);
			dirty = false;
			last_flush = now_ns();
		}
	}
	return NULL;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pcapw_free(struct sw_pcap_writer *w)
{
	struct rte_mbuf *b[PCAPW_BURST];
	unsigned n;

	if (w->dumper != NULL)
		pcap_dump_close(w->dumper); /* flushes and closes the file */
	if (w->pcap != NULL)
		pcap_close(w->pcap);
	if (w->ring != NULL) {
		while ((n = rte_ring_sc_dequeue_burst(w->ring, (void **)b, RTE_DIM(b), NULL)) > 0)
			rte_pktmbuf_free_bulk(b, n);
		rte_ring_free(w->ring);
	}
	rte_mempool_free(w->pool);
	free(w->linear);
	free(w->path);
	rte_free(w);
}

struct sw_pcap_writer *sw_pcap_writer_start(const char *name, const char *path, uint32_t snaplen,
					    int socket_id, char *err, size_t errlen)
{
	static unsigned writer_seq;
	char rname[RTE_RING_NAMESIZE], pname[RTE_MEMPOOL_NAMESIZE], tname[16];
	struct sw_pcap_writer *w;
	sigset_t all, saved;
	unsigned seq;
	FILE *fp;
	int ret;

	if (snaplen == 0 || snaplen > PCAPW_SNAPLEN_MAX) {
		snprintf(err, errlen, "snaplen must be in 1..%u", PCAPW_SNAPLEN_MAX);
		return NULL;
	}
	if (pcapw_meta_off < 0) {
		/* Registering again with the same description gives the same
		 * offset, so racing starts are harmless. */
		int off = rte_mbuf_dynfield_register(&pcapw_meta_desc);

		if (off < 0) {
			snprintf(err, errlen, "cannot register an mbuf field: %s",
				 rte_strerror(rte_errno));
			return NULL;
		}
		pcapw_meta_off = off;
	}
	w = rte_zmalloc_socket("sw_pcap_writer", sizeof(*w), RTE_CACHE_LINE_SIZE, socket_id);
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->snaplen = snaplen;
	w->path = strdup(path);
	w->linear = malloc(snaplen);
	if (w->path == NULL || w->linear == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	fp = fopen(path, "wb");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	w->pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)snaplen,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (w->pcap == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: cannot set up libpcap", path);
		goto fail;
	}
	w->dumper = pcap_dump_fopen(w->pcap, fp);
	if (w->dumper == NULL) {
		/* Depending on where it failed libpcap may have closed fp:
		 * leave it rather than risk closing it twice. */
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(w->pcap));
		goto fail;
	}
	if (pcap_dump_flush(w->dumper) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}

	/* Unique by the sequence number, readable by the (possibly cut) name. */
	seq = __atomic_fetch_add(&writer_seq, 1, __ATOMIC_RELAXED);
	snprintf(pname, sizeof(pname), "pcap%x.%s", seq, name);
	snprintf(rname, sizeof(rname), "pcap%x.%s", seq, name);
	w->pool = rte_pktmbuf_pool_create(pname, PCAPW_POOL_SIZE, PCAPW_POOL_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, socket_id);
	if (w->pool == NULL) {
		snprintf(err, errlen, "cannot create mbuf pool %s: %s", pname,
			 rte_strerror(rte_errno));
		goto fail;
	}
	w->ring = rte_ring_create(rname, PCAPW_RING_SIZE, socket_id, RING_F_SC_DEQ);
	if (w->ring == NULL) {
		snprintf(err, errlen, "cannot create ring %s: %s", rname, rte_strerror(rte_errno));
		goto fail;
	}

	w->tsc_hz = rte_get_tsc_hz();
	w->tsc0 = rte_rdtsc();
	w->real0_ns = realtime_ns();
	/* The thread starts with every signal blocked: they are the main
	 * thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	ret = pthread_create(&w->thread, NULL, pcapw_main, w);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret != 0) {
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(ret));
		goto fail;
	}
	w->thread_running = true;
	snprintf(tname, sizeof(tname), "pcap-%s", name);
	pthread_setname_np(w->thread, tname);
	return w;

fail:
	pcapw_free(w);
	return NULL;
}

unsigned sw_pcap_writer_submit(struct sw_pcap_writer *w, struct rte_mbuf *const *pkts, unsigned n,
			       uint64_t now_tsc)
{
	struct rte_mbuf *c[PCAPW_BURST];
	unsigned total = 0;

	for (unsigned i = 0; i < n; i += PCAPW_BURST) {
		unsigned k = RTE_MIN(n - i, PCAPW_BURST), nc = 0, done;

		for (unsigned j = 0; j < k; j++) {
			const struct rte_mbuf *m = pkts[i + j];
			struct rte_mbuf *cp = rte_pktmbuf_copy(m, w->pool, 0, w->snaplen);
			struct pcapw_meta *meta;

			if (unlikely(cp == NULL))
				continue;
			meta = pcapw_meta(cp);
			meta->tsc = now_tsc;
			meta->orig_len = m->pkt_len;
			c[nc++] = cp;
		}
		if (nc == 0)
			continue;
		done = rte_ring_mp_enqueue_burst(w->ring, (void **)c, nc, NULL);
		if (unlikely(done < nc))
			rte_pktmbuf_free_bulk(&c[done], nc - done);
		total += done;
	}
	if (total > 0)
		__atomic_fetch_add(&w->queued, total, __ATOMIC_RELAXED);
	if (total < n)
		__atomic_fetch_add(&w->dropped, n - total, __ATOMIC_RELAXED);
	return total;
}

void sw_pcap_writer_stop(struct sw_pcap_writer *w)
{
	if (w == NULL)
		return;
	if (w->thread_running) {
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
		pthread_join(w->thread, NULL);
		w->thread_running = false;
	}
	pcapw_free(w);
}

void sw_pcap_writer_get_stats(const struct sw_pcap_writer *w, struct sw_pcap_writer_stats *s)
{
	s->queued = stat_load(&w->queued);
	s->written = stat_load(&w->written);
	s->dropped = stat_load(&w->dropped);
	s->bytes = stat_load(&w->bytes);
}

const char *sw_pcap_writer_path(const struct sw_pcap_writer *w)
{
	return w->path;
}
