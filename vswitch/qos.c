/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QoS of a port: the ingress policer (rte_meter) and the egress shaper
 * (token bucket over strict-priority rte_rings).
 *
 * Time. rte_meter derives its token periods from rte_get_tsc_hz() when a
 * profile is configured, and its run-time check takes the time in TSC
 * cycles. Our callers give the time in any clock of rate hz, so the
 * policer converts each `now` to TSC cycles (now * tsc_hz / hz in 128-bit
 * arithmetic; nothing is done when hz is the TSC rate). rte_meter also
 * stamps a new flow with rte_get_tsc_cycles(); we overwrite that stamp
 * with the caller's time of the first check, so the buckets start full
 * at the caller's time zero whatever the clock.
 *
 * Threads and locks:
 * - A policer is checked by the polling threads that receive on the port,
 *   under its spinlock (the only lock here; nothing is called while it is
 *   held). Its counters are written under the lock and read without it by
 *   the control thread (relaxed atomic loads and stores).
 * - A shaper's rings are multi-producer (sw_shaper_enqueue from any
 *   polling thread) and single-consumer (sw_shaper_dequeue from the port's
 *   owner thread, which alone touches the token bucket). Producer counters
 *   are atomic adds; consumer counters have one writer.
 * - create and free are the control thread's, when no other thread can
 *   reach the object.
 */
#define LOG_COMPONENT "qos"
#include "common/log.h"

#include "vswitch/qos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

/* Largest bucket the shaper accepts: keeps its signed arithmetic exact. */
#define SHAPER_BURST_MAX (1ull << 62)
/* Frames sorted per class on the stack per enqueue round. */
#define SHAPER_ENQ_CHUNK 64u
/* Frames looked at per class per peek in dequeue. */
#define SHAPER_DEQ_BURST 32u

static inline uint64_t stat_load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* For a counter with a single writer (or written under a lock). */
static inline void stat_bump(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

/* For a counter that several threads add to. */
static inline void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* a * b / c without overflow (the result is taken modulo 2^64). */
static inline uint64_t muldiv_u64(uint64_t a, uint64_t b, uint64_t c)
{
	return (uint64_t)((unsigned __int128)a * b / c);
}

/* ---- Policer ----------------------------------------------------------- */

struct sw_policer {
	rte_spinlock_t lock;
	enum sw_meter_type type;
	bool started;	 /* a check has run: last is valid */
	uint64_t hz;	 /* the caller's clock */
	uint64_t tsc_hz; /* rte_meter's clock */
	uint64_t last;	 /* latest time seen, in TSC cycles */
	union {
		struct {
			struct rte_meter_srtcm_profile prof;
			struct rte_meter_srtcm m;
		} sr;
		struct {
			struct rte_meter_trtcm_profile prof;
			struct rte_meter_trtcm m;
		} tr;
	};
	struct sw_policer_stats st;
};

static int policer_cfg_check(const struct sw_meter_cfg *c, uint64_t hz, char *msg, size_t msglen)
{
	if (hz == 0) {
		snprintf(msg, msglen, "clock rate must be > 0");
		return -EINVAL;
	}
	switch (c->type) {
	case SW_METER_SRTCM:
		if (c->cir == 0) {
			snprintf(msg, msglen, "cir must be > 0");
			return -EINVAL;
		}
		if (c->cbs == 0) {
			snprintf(msg, msglen, "cbs must be > 0");
			return -EINVAL;
		}
		return 0;
	case SW_METER_TRTCM:
		if (c->cir == 0) {
			snprintf(msg, msglen, "cir must be > 0");
			return -EINVAL;
		}
		if (c->pir < c->cir) {
			snprintf(msg, msglen,
				 "pir (%" PRIu64 " B/s) must be >= cir (%" PRIu64 " B/s)", c->pir,
				 c->cir);
			return -EINVAL;
		}
		if (c->cbs == 0 || c->pbs == 0) {
			snprintf(msg, msglen, "%s must be > 0", c->cbs == 0 ? "cbs" : "pbs");
			return -EINVAL;
		}
		return 0;
	case SW_METER_NONE: snprintf(msg, msglen, "no meter type given"); return -EINVAL;
	}
	snprintf(msg, msglen, "unknown meter type %d", (int)c->type);
	return -EINVAL;
}

struct sw_policer *sw_policer_create(const struct sw_meter_cfg *cfg, uint64_t hz, int *err,
				     char *msg, size_t msglen)
{
	struct sw_policer *p;
	int ret;

	ret = policer_cfg_check(cfg, hz, msg, msglen);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	p = rte_zmalloc("sw_policer", sizeof(*p), RTE_CACHE_LINE_SIZE);
	if (p == NULL) {
		snprintf(msg, msglen, "out of memory");
		*err = -ENOMEM;
		return NULL;
	}
	rte_spinlock_init(&p->lock);
	p->type = cfg->type;
	p->hz = hz;
	p->tsc_hz = rte_get_tsc_hz();
	if (cfg->type == SW_METER_SRTCM) {
		struct rte_meter_srtcm_params prm = {
			.cir = cfg->cir,
			.cbs = cfg->cbs,
			.ebs = cfg->ebs,
		};

		ret = rte_meter_srtcm_profile_config(&p->sr.prof, &prm);
		if (ret == 0)
			ret = rte_meter_srtcm_config(&p->sr.m, &p->sr.prof);
	} else {
		struct rte_meter_trtcm_params prm = {
			.cir = cfg->cir,
			.pir = cfg->pir,
			.cbs = cfg->cbs,
			.pbs = cfg->pbs,
		};

		ret = rte_meter_trtcm_profile_config(&p->tr.prof, &prm);
		if (ret == 0)
			ret = rte_meter_trtcm_config(&p->tr.m, &p->tr.prof);
	}
	if (ret < 0) {
		snprintf(msg, msglen, "rte_meter refused the parameters (%s)", strerror(-ret));
		rte_free(p);
		*err = -EINVAL;
		return NULL;
	}
	return p;
}

void sw_policer_free(struct sw_policer *p)
{
	rte_free(p);
}

/* The policer's time for now (in the caller's clock), never going back. Lock held. */
static uint64_t policer_time(struct sw_policer *p, uint64_t now)
{
	uint64_t t = p->hz == p->tsc_hz ? now : muldiv_u64(now, p->tsc_hz, p->hz);

	if (unlikely(!p->started)) {
		/* Buckets are full (rte_meter's config); they fill from now on. */
		p->started = true;
		p->last = t;
		if (p->type == SW_METER_SRTCM) {
			p->sr.m.time = t;
		} else {
			p->tr.m.time_tc = t;
			p->tr.m.time_tp = t;
		}
	} else if ((int64_t)(t - p->last) < 0) {
		/* Another thread's slightly older stamp: never go back in time. */
		t = p->last;
	} else {
		p->last = t;
	}
	return t;
}

/* Meters one frame at policer time t and counts its colour. Lock held. */
static bool policer_check(struct sw_policer *p, uint64_t t, uint32_t len)
{
	enum rte_color c;

	if (p->type == SW_METER_SRTCM)
		c = rte_meter_srtcm_color_blind_check(&p->sr.m, &p->sr.prof, t, len);
	else
		c = rte_meter_trtcm_color_blind_check(&p->tr.m, &p->tr.prof, t, len);
	switch (c) {
	case RTE_COLOR_GREEN: stat_bump(&p->st.green, 1); break;
	case RTE_COLOR_YELLOW: stat_bump(&p->st.yellow, 1); break;
	default:
		stat_bump(&p->st.red, 1);
		stat_bump(&p->st.red_bytes, len);
		break;
	}
	return c != RTE_COLOR_RED;
}

bool sw_policer_pass(struct sw_policer *p, uint64_t now, uint32_t len)
{
	bool pass;

	rte_spinlock_lock(&p->lock);
	pass = policer_check(p, policer_time(p, now), len);
	rte_spinlock_unlock(&p->lock);
	return pass;
}

/*
 * The rest of a burst metered at the time the first frame brought the
 * buckets to: rte_meter then adds no tokens (less than one period has
 * passed) and only takes them, frame by frame, green while the committed
 * bucket (and for trTCM the peak bucket) holds the frame. So when the
 * buckets hold all the remaining bytes, every remaining frame is green,
 * as rte_meter would say one by one, and the bytes are taken at once.
 * Returns false, touching nothing, when they do not. Lock held.
 */
static bool take_all_green(struct sw_policer *p, uint64_t bytes)
{
	if (p->type == SW_METER_SRTCM) {
		if (p->sr.m.tc < bytes)
			return false;
		p->sr.m.tc -= bytes;
		return true;
	}
	if (p->tr.m.tc < bytes || p->tr.m.tp < bytes)
		return false;
	p->tr.m.tc -= bytes;
	p->tr.m.tp -= bytes;
	return true;
}

unsigned sw_policer_pass_bulk(struct sw_policer *p, uint64_t now, const uint32_t *lens,
			      unsigned n, bool *pass)
{
	unsigned passed = 0, i = 0;
	uint64_t t, rest = 0;

	if (n == 0)
		return 0;
	rte_spinlock_lock(&p->lock);
	t = policer_time(p, now);
	pass[0] = policer_check(p, t, lens[0]);
	passed = pass[0];
	for (i = 1; i < n; i++)
		rest += lens[i];
	if (n > 1 && take_all_green(p, rest)) {
		for (i = 1; i < n; i++)
			pass[i] = true;
		stat_bump(&p->st.green, n - 1);
		passed += n - 1;
	} else {
		for (i = 1; i < n; i++) {
			pass[i] = policer_check(p, t, lens[i]);
			passed += pass[i];
		}
	}
	rte_spinlock_unlock(&p->lock);
	return passed;
}

void sw_policer_get_stats(const struct sw_policer *p, struct sw_policer_stats *s)
{
	s->green = stat_load(&p->st.green);
	s->yellow = stat_load(&p->st.yellow);
	s->red = stat_load(&p->st.red);
	s->red_bytes = stat_load(&p->st.red_bytes);
}

/* ---- Shaper ------------------------------------------------------------ */

struct shaper_class {
	struct rte_ring *ring;
	/* Written by the producers. */
	uint64_t enqueued __rte_cache_aligned;
	uint64_t dropped;
	/* Written by the consumer. */
	uint64_t sent __rte_cache_aligned;
	uint64_t sent_bytes;
};

struct sw_shaper {
	uint64_t hz;
	uint64_t rate; /* bytes per second */
	int64_t burst; /* bytes */
	unsigned n_classes;
	uint8_t pcp_class[8];
	/* Token bucket: the consumer's alone. */
	bool started;
	int64_t tokens; /* bytes; negative after a frame larger than what was left */
	uint64_t last;	/* time of the latest refill */
	uint64_t rem;	/* rate * cycles not yet worth a byte (< hz) */
	struct shaper_class cls[SW_MAX_CLASSES];
};

static int shaper_cfg_check(const struct sw_shaper_cfg *c, uint64_t hz, char *msg, size_t msglen)
{
	if (hz == 0) {
		snprintf(msg, msglen, "clock rate must be > 0");
		return -EINVAL;
	}
	if (c->rate == 0) {
		snprintf(msg, msglen, "rate must be > 0");
		return -EINVAL;
	}
	if (c->burst == 0 || c->burst > SHAPER_BURST_MAX) {
		snprintf(msg, msglen, "burst must be in 1..%llu bytes", SHAPER_BURST_MAX);
		return -EINVAL;
	}
	if (c->classes < 1 || c->classes > SW_MAX_CLASSES) {
		snprintf(msg, msglen, "classes must be in 1..%d", SW_MAX_CLASSES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < 8; i++) {
		if (c->pcp_class[i] >= c->classes) {
			snprintf(msg, msglen, "PCP %u maps to class %u, only %u classes", i,
				 c->pcp_class[i], c->classes);
			return -EINVAL;
		}
	}
	if (c->queue_len < 16 || c->queue_len > 65536) {
		snprintf(msg, msglen, "queue-len must be in 16..65536");
		return -EINVAL;
	}
	return 0;
}

static void shaper_drain(struct rte_ring *r)
{
	void *objs[SHAPER_DEQ_BURST];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(r, objs, RTE_DIM(objs), NULL)) > 0)
		rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, n);
}

void sw_shaper_free(struct sw_shaper *s)
{
	if (s == NULL)
		return;
	for (unsigned c = 0; c < s->n_classes; c++) {
		if (s->cls[c].ring == NULL)
			continue;
		shaper_drain(s->cls[c].ring);
		rte_ring_free(s->cls[c].ring);
	}
	rte_free(s);
}

struct sw_shaper *sw_shaper_create(const char *name, const struct sw_shaper_cfg *cfg, uint64_t hz,
				   int socket_id, int *err, char *msg, size_t msglen)
{
	static unsigned shaper_seq;
	struct sw_shaper *s;
	unsigned seq;
	int ret;

	ret = shaper_cfg_check(cfg, hz, msg, msglen);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	s = rte_zmalloc_socket("sw_shaper", sizeof(*s), RTE_CACHE_LINE_SIZE, socket_id);
	if (s == NULL) {
		snprintf(msg, msglen, "out of memory");
		*err = -ENOMEM;
		return NULL;
	}
	s->hz = hz;
	s->rate = cfg->rate;
	s->burst = (int64_t)cfg->burst;
	s->n_classes = cfg->classes;
	memcpy(s->pcp_class, cfg->pcp_class, sizeof(s->pcp_class));
	seq = __atomic_fetch_add(&shaper_seq, 1, __ATOMIC_RELAXED);
	for (unsigned c = 0; c < s->n_classes; c++) {
		char rname[RTE_RING_NAMESIZE];

		/* Unique by the sequence number, readable by the (possibly
		 * truncated) shaper name. RING_F_EXACT_SZ: the ring holds
		 * exactly queue_len frames, so it is the tail-drop limit. */
		snprintf(rname, sizeof(rname), "shp%x.%u.%s", seq, c, name);
		s->cls[c].ring = rte_ring_create(rname, cfg->queue_len, socket_id,
						 RING_F_SC_DEQ | RING_F_EXACT_SZ);
		if (s->cls[c].ring == NULL) {
			ret = rte_errno == EEXIST ? -EEXIST : -ENOMEM;
			snprintf(msg, msglen, "cannot create ring %s: %s", rname,
				 rte_strerror(rte_errno));
			sw_shaper_free(s);
			*err = ret;
			return NULL;
		}
	}
	return s;
}

/* Queues n frames (n <= SHAPER_ENQ_CHUNK). */
static unsigned shaper_enqueue_chunk(struct sw_shaper *s, struct rte_mbuf **pkts,
				     const uint8_t *pcp, unsigned n)
{
	struct rte_mbuf *q[SW_MAX_CLASSES][SHAPER_ENQ_CHUNK];
	unsigned cnt[SW_MAX_CLASSES] = { 0 };
	unsigned total = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned c = s->pcp_class[pcp[i] & 7];

		q[c][cnt[c]++] = pkts[i];
	}
	for (unsigned c = 0; c < s->n_classes; c++) {
		struct shaper_class *k = &s->cls[c];
		unsigned done;

		if (cnt[c] == 0)
			continue;
		done = rte_ring_mp_enqueue_burst(k->ring, (void **)q[c], cnt[c], NULL);
		if (done > 0)
			stat_add(&k->enqueued, done);
		if (unlikely(done < cnt[c])) {
			rte_pktmbuf_free_bulk(&q[c][done], cnt[c] - done);
			stat_add(&k->dropped, cnt[c] - done);
		}
		total += done;
	}
	return total;
}

unsigned sw_shaper_enqueue(struct sw_shaper *s, struct rte_mbuf **pkts, const uint8_t *pcp,
			   unsigned n)
{
	unsigned total = 0;

	for (unsigned i = 0; i < n; i += SHAPER_ENQ_CHUNK)
		total += shaper_enqueue_chunk(s, pkts + i, pcp + i,
					      RTE_MIN(n - i, SHAPER_ENQ_CHUNK));
	return total;
}

/* Adds rate * (now - last) / hz bytes, keeping the remainder, capped at burst. */
static void shaper_refill(struct sw_shaper *s, uint64_t now)
{
	unsigned __int128 num;
	uint64_t add, dt;

	if (unlikely(!s->started)) {
		s->started = true;
		s->tokens = s->burst;
		s->last = now;
		s->rem = 0;
		return;
	}
	if ((int64_t)(now - s->last) <= 0)
		return;
	dt = now - s->last;
	s->last = now;
	if (s->tokens >= s->burst)
		return;
	num = (unsigned __int128)s->rate * dt + s->rem;
	/* The room left is below 2^63, so compare before narrowing. */
	if (num / s->hz >= (unsigned __int128)(s->burst - s->tokens)) {
		s->tokens = s->burst;
		s->rem = 0;
		return;
	}
	add = (uint64_t)(num / s->hz);
	s->rem = (uint64_t)(num % s->hz);
	s->tokens += (int64_t)add;
}

unsigned sw_shaper_dequeue(struct sw_shaper *s, uint64_t now, struct rte_mbuf **out, unsigned max)
{
	unsigned n = 0;

	shaper_refill(s, now);
	for (unsigned c = 0; c < s->n_classes && n < max && s->tokens > 0; c++) {
		struct shaper_class *k = &s->cls[c];
		uint64_t bytes = 0;
		unsigned taken = 0;

		/* Look at a burst of the class, keep what the bucket refuses. */
		while (n < max && s->tokens > 0) {
			void *objs[SHAPER_DEQ_BURST];
			unsigned got, i;

			got = rte_ring_dequeue_burst_start(
				k->ring, objs, RTE_MIN(max - n, SHAPER_DEQ_BURST), NULL);
			if (got == 0)
				break;
			for (i = 0; i < got && s->tokens > 0; i++) {
				struct rte_mbuf *m = objs[i];

				out[n++] = m;
				s->tokens -= m->pkt_len;
				bytes += m->pkt_len;
			}
			rte_ring_dequeue_finish(k->ring, i);
			taken += i;
			if (i < got)
				break;
		}
		if (taken > 0) {
			stat_bump(&k->sent, taken);
			stat_bump(&k->sent_bytes, bytes);
		}
	}
	return n;
}

unsigned sw_shaper_backlog(const struct sw_shaper *s)
{
	unsigned n = 0;

	for (unsigned c = 0; c < s->n_classes; c++)
		n += rte_ring_count(s->cls[c].ring);
	return n;
}

unsigned sw_shaper_classes(const struct sw_shaper *s)
{
	return s->n_classes;
}

void sw_shaper_get_stats(const struct sw_shaper *s, unsigned cls, struct sw_shaper_class_stats *st)
{
	const struct shaper_class *k;

	memset(st, 0, sizeof(*st));
	if (cls >= s->n_classes)
		return;
	k = &s->cls[cls];
	st->enqueued = stat_load(&k->enqueued);
	st->dropped = stat_load(&k->dropped);
	st->sent = stat_load(&k->sent);
	st->sent_bytes = stat_load(&k->sent_bytes);
}
