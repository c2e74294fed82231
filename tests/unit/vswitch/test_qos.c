/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port QoS: policer (srTCM, trTCM) and shaper (token bucket, strict
 * priority classes, tail drop), driven with injected time.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tests/unit/support/eal_test.h"
#include "vswitch/qos.h"

#define NS 1000000000ull
#define POOL_SIZE 8191u

static struct rte_mempool *pool;

static int group_setup(void **state)
{
	if (eal_test_init("test_qos") < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("qos_test_pool", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	return pool == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	rte_mempool_free(pool);
	return 0;
}

/* A frame of len bytes whose first four bytes are tag. */
static struct rte_mbuf *frame(uint32_t len, uint32_t tag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(p);
	memset(p, 0x5a, len);
	memcpy(p, &tag, RTE_MIN(len, sizeof(tag)));
	return m;
}

static uint32_t tag_of(const struct rte_mbuf *m)
{
	uint32_t tag;

	memcpy(&tag, rte_pktmbuf_mtod(m, const void *), sizeof(tag));
	return tag;
}

static void assert_pool_full(void)
{
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
}

static void assert_within(double got, double want, double rel)
{
	if (got < want * (1 - rel) || got > want * (1 + rel))
		fail_msg("got %.0f, want %.0f +- %.1f%%", got, want, rel * 100);
}

/* ---- Policer ----------------------------------------------------------- */

static struct sw_policer *policer(const struct sw_meter_cfg *cfg, uint64_t hz)
{
	char msg[256] = "";
	int err = 0;
	struct sw_policer *p = sw_policer_create(cfg, hz, &err, msg, sizeof(msg));

	if (p == NULL)
		fail_msg("policer refused: %d %s", err, msg);
	return p;
}

/*
 * Offers `rate` bytes/s in frames of len bytes from time 0 for `secs`
 * seconds of a clock of hz; returns the bytes that passed.
 */
static uint64_t offer(struct sw_policer *p, uint64_t hz, uint64_t rate, uint32_t len, double secs)
{
	uint64_t passed = 0, end = (uint64_t)(secs * (double)hz);

	/* Frame k goes at k * len / rate seconds. */
	for (uint64_t k = 0;; k++) {
		uint64_t t = (uint64_t)((unsigned __int128)k * len * hz / rate);

		if (t >= end)
			break;
		if (sw_policer_pass(p, t, len))
			passed += len;
	}
	return passed;
}

static void test_srtcm_rate(void **state)
{
	const uint64_t clocks[] = { NS, rte_get_tsc_hz(), 1000000, 3579545 };
	struct sw_meter_cfg cfg = {
		.type = SW_METER_SRTCM,
		.cir = 1250000,
		.cbs = 64000,
		.ebs = 32000,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(clocks); i++) {
		struct sw_policer *p = policer(&cfg, clocks[i]);
		struct sw_policer_stats st;
		uint64_t passed, frames;

		/* Twice the CIR for one second. */
		passed = offer(p, clocks[i], 2 * cfg.cir, 1000, 1.0);
		assert_within((double)passed, (double)(cfg.cir + cfg.cbs + cfg.ebs), 0.02);
		sw_policer_get_stats(p, &st);
		frames = 2 * cfg.cir / 1000;
		assert_int_equal(st.green + st.yellow + st.red, frames);
		assert_int_equal((st.green + st.yellow) * 1000, passed);
		assert_int_equal(st.red_bytes, st.red * 1000);
		assert_true(st.yellow > 0);
		assert_true(st.red > 0);
		sw_policer_free(p);
	}
}

static void test_srtcm_under_cir_all_green(void **state)
{
	struct sw_meter_cfg cfg = {
		.type = SW_METER_SRTCM,
		.cir = 1000000,
		.cbs = 3000,
		.ebs = 3000,
	};
	struct sw_policer *p = policer(&cfg, NS);
	struct sw_policer_stats st;

	/* 90 % of the CIR for two seconds. */
	assert_int_equal(offer(p, NS, 900000, 1500, 2.0), 1200 * 1500);
	sw_policer_get_stats(p, &st);
	assert_int_equal(st.green, 1200);
	assert_int_equal(st.yellow, 0);
	assert_int_equal(st.red, 0);
	sw_policer_free(p);
}

static void test_srtcm_burst_at_zero(void **state)
{
	struct sw_meter_cfg cfg = {
		.type = SW_METER_SRTCM,
		.cir = 1000000,
		.cbs = 10000,
		.ebs = 5000,
	};
	struct sw_policer *p = policer(&cfg, NS);
	struct sw_policer_stats st;

	/* Whatever the clock reads at the first frame is the start. */
	const uint64_t t0 = 123456789;

	for (unsigned i = 0; i < 10; i++)
		assert_true(sw_policer_pass(p, t0, 1000));
	sw_policer_get_stats(p, &st);
	assert_int_equal(st.green, 10);
	assert_int_equal(st.yellow, 0);
	for (unsigned i = 0; i < 5; i++)
		assert_true(sw_policer_pass(p, t0, 1000));
	assert_false(sw_policer_pass(p, t0, 1000));
	assert_false(sw_policer_pass(p, t0, 64));
	sw_policer_get_stats(p, &st);
	assert_int_equal(st.green, 10);
	assert_int_equal(st.yellow, 5);
	assert_int_equal(st.red, 2);
	assert_int_equal(st.red_bytes, 1064);

	/* An older stamp (another thread's) refills nothing and breaks nothing. */
	assert_false(sw_policer_pass(p, t0 - 1000, 1000));
	/* 1 ms later: 1000 bytes of C tokens. */
	assert_true(sw_policer_pass(p, t0 + NS / 1000, 1000));
	assert_false(sw_policer_pass(p, t0 + NS / 1000, 1000));
	sw_policer_get_stats(p, &st);
	assert_int_equal(st.green, 11);
	sw_policer_free(p);
}

/* Meters a burst of k frames at time t through a in one call and through b
 * frame by frame: the verdicts must agree. */
static void bulk_vs_frames(struct sw_policer *a, struct sw_policer *b, uint64_t t,
			   const uint32_t *lens, unsigned k)
{
	bool pass[32];
	unsigned n = sw_policer_pass_bulk(a, t, lens, k, pass), m = 0;

	for (unsigned i = 0; i < k; i++) {
		bool one = sw_policer_pass(b, t, lens[i]);

		assert_int_equal(one, pass[i]);
		m += one;
	}
	assert_int_equal(n, m);
}

/* a's and b's colour counters agree; returns a's. */
static struct sw_policer_stats same_stats(struct sw_policer *a, struct sw_policer *b)
{
	struct sw_policer_stats sa, sb;

	sw_policer_get_stats(a, &sa);
	sw_policer_get_stats(b, &sb);
	assert_int_equal(sa.green, sb.green);
	assert_int_equal(sa.yellow, sb.yellow);
	assert_int_equal(sa.red, sb.red);
	assert_int_equal(sa.red_bytes, sb.red_bytes);
	return sa;
}

/* A burst metered under one lock gives exactly what frame-by-frame checks give. */
static void test_policer_bulk(void **state)
{
	struct sw_meter_cfg cfg = {
		.type = SW_METER_SRTCM,
		.cir = 1000000,
		.cbs = 10000,
		.ebs = 5000,
	};
	struct sw_policer *a = policer(&cfg, NS), *b = policer(&cfg, NS);
	struct sw_policer_stats sa;
	uint32_t lens[32];

	for (unsigned i = 0; i < 32; i++)
		lens[i] = 64 + 50 * i;
	for (unsigned round = 0; round < 20; round++)
		bulk_vs_frames(a, b, 1000 + (uint64_t)round * NS / 500, lens, 32);
	sa = same_stats(a, b);
	assert_true(sa.red > 0);
	assert_true(sa.green > 0);
	sw_policer_free(a);
	sw_policer_free(b);
}

/*
 * Bursts of random sizes and lengths at random times, from under the
 * committed rate to far over the peak rate: metering a burst at once
 * (whole-burst green fast path included) says the same, frame by frame,
 * as rte_meter frame by frame, and the counters agree.
 */
static void bulk_matches_frames(const struct sw_meter_cfg *cfg)
{
	struct sw_policer *a = policer(cfg, NS), *b = policer(cfg, NS);
	struct sw_policer_stats sa;
	uint64_t t = 1000, seed = 12345;
	uint32_t lens[32];

	for (unsigned round = 0; round < 4000; round++) {
		unsigned k;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		k = 1 + (unsigned)(seed >> 59);	/* 1..32 frames */
		/* gaps from 1 us to about 4 ms: the offered rate swings widely */
		t += 1000 + (seed >> 20) % (4u << 20);
		for (unsigned i = 0; i < k; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			lens[i] = 64 + (uint32_t)((seed >> 33) % 1455);
		}
		bulk_vs_frames(a, b, t, lens, k);
	}
	sa = same_stats(a, b);
	/* every colour was seen, so both paths of the bulk call ran */
	assert_true(sa.green > 0);
	assert_true(sa.yellow > 0);
	assert_true(sa.red > 0);
	sw_policer_free(a);
	sw_policer_free(b);
}

static void test_policer_bulk_random(void **state)
{
	struct sw_meter_cfg sr = {
		.type = SW_METER_SRTCM,
		.cir = 2000000,
		.cbs = 30000,
		.ebs = 20000,
	};
	struct sw_meter_cfg tr = {
		.type = SW_METER_TRTCM,
		.cir = 1500000,
		.pir = 3000000,
		.cbs = 40000,	/* larger than pbs: the peak bucket runs out first */
		.pbs = 20000,
	};

	(void)state;
	bulk_matches_frames(&sr);
	bulk_matches_frames(&tr);
}

static void test_trtcm(void **state)
{
	struct sw_meter_cfg cfg = {
		.type = SW_METER_TRTCM,
		.cir = 1000000,
		.pir = 2000000,
		.cbs = 20000,
		.pbs = 20000,
	};
	struct sw_policer_stats st;
	struct sw_policer *p;
	uint64_t passed;

	/* Between CIR and PIR: yellow, never red. */
	p = policer(&cfg, NS);
	passed = offer(p, NS, 1500000, 1000, 1.0);
	sw_policer_get_stats(p, &st);
	assert_int_equal(st.red, 0);
	assert_int_equal(passed, 1500 * 1000);
	assert_true(st.yellow > 0);
	assert_true(st.green > 0);
	sw_policer_free(p);

	/* Twice the PIR: what passes is PIR * T + PBS. */
	p = policer(&cfg, rte_get_tsc_hz());
	passed = offer(p, rte_get_tsc_hz(), 4000000, 1000, 1.0);
	sw_policer_get_stats(p, &st);
	assert_true(st.red > 0);
	assert_within((double)passed, (double)(cfg.pir + cfg.pbs), 0.02);
	/* Green is bounded by the CIR bucket. */
	assert_true(st.green * 1000 <= cfg.cir + cfg.cbs + 1000);
	sw_policer_free(p);
}

#define POLICE_CALLS 200000u

struct police_arg {
	struct sw_policer *p;
	unsigned passed;
};

static void *police_main(void *arg)
{
	struct police_arg *a = arg;

	for (unsigned i = 0; i < POLICE_CALLS; i++)
		a->passed += sw_policer_pass(a->p, rte_rdtsc(), 100);
	return NULL;
}

/* Two threads on one policer with the real TSC: nothing lost or double counted. */
static void test_policer_two_threads(void **state)
{
	struct sw_meter_cfg cfg = {
		.type = SW_METER_TRTCM,
		.cir = 1000000,
		.pir = 2000000,
		.cbs = 10000,
		.pbs = 20000,
	};
	struct sw_policer *p = policer(&cfg, rte_get_tsc_hz());
	struct police_arg a[2] = { { .p = p }, { .p = p } };
	struct sw_policer_stats st;
	pthread_t th[2];

	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, police_main, &a[i]), 0);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	sw_policer_get_stats(p, &st);
	assert_int_equal(st.green + st.yellow + st.red, 2 * POLICE_CALLS);
	assert_int_equal(st.green + st.yellow, a[0].passed + a[1].passed);
	assert_int_equal(st.red_bytes, st.red * 100);
	assert_true(st.red > 0);
	sw_policer_free(p);
}

static void expect_refused(const struct sw_meter_cfg *cfg, uint64_t hz, const char *word)
{
	char msg[256] = "";
	int err = 0;

	assert_null(sw_policer_create(cfg, hz, &err, msg, sizeof(msg)));
	assert_int_equal(err, -EINVAL);
	if (strstr(msg, word) == NULL)
		fail_msg("message \"%s\" does not mention %s", msg, word);
}

static void test_policer_bad_config(void **state)
{
	struct sw_meter_cfg sr = { .type = SW_METER_SRTCM, .cir = 1000, .cbs = 0, .ebs = 100 };
	struct sw_meter_cfg tr = {
		.type = SW_METER_TRTCM,
		.cir = 2000,
		.pir = 1000,
		.cbs = 100,
		.pbs = 100,
	};
	struct sw_meter_cfg none = { .type = SW_METER_NONE, .cir = 1000, .cbs = 100 };

	expect_refused(&sr, NS, "cbs");
	sr.cbs = 100;
	sr.cir = 0;
	expect_refused(&sr, NS, "cir");
	sr.cir = 1000;
	expect_refused(&sr, 0, "clock");
	expect_refused(&tr, NS, "pir");
	tr.pir = 2000;
	tr.pbs = 0;
	expect_refused(&tr, NS, "pbs");
	expect_refused(&none, NS, "type");
}

/* ---- Shaper ------------------------------------------------------------ */

static struct sw_shaper_cfg shaper_cfg(uint64_t rate, uint64_t burst, uint8_t classes,
				       uint32_t queue_len)
{
	struct sw_shaper_cfg c = {
		.rate = rate,
		.burst = burst,
		.classes = classes,
		.queue_len = queue_len,
	};

	/* Higher PCP, higher priority (lower class). */
	for (unsigned p = 0; p < 8; p++)
		c.pcp_class[p] = (uint8_t)((7 - p) * classes / 8);
	return c;
}

static struct sw_shaper *shaper(const char *name, const struct sw_shaper_cfg *cfg, uint64_t hz)
{
	char msg[256] = "";
	int err = 0;
	struct sw_shaper *s =
		sw_shaper_create(name, cfg, hz, SOCKET_ID_ANY, &err, msg, sizeof(msg));

	if (s == NULL)
		fail_msg("shaper refused: %d %s", err, msg);
	assert_int_equal(sw_shaper_classes(s), cfg->classes);
	return s;
}

static unsigned enqueue_one(struct sw_shaper *s, uint32_t len, uint32_t tag, uint8_t pcp)
{
	struct rte_mbuf *m = frame(len, tag);

	return sw_shaper_enqueue(s, &m, &pcp, 1);
}

static void free_all(struct rte_mbuf **m, unsigned n)
{
	rte_pktmbuf_free_bulk(m, n);
}

static void test_shaper_strict_priority(void **state)
{
	struct sw_shaper_cfg cfg = shaper_cfg(1000000000, 1000000, 2, 64);
	struct sw_shaper *s = shaper("prio", &cfg, NS);
	struct rte_mbuf *out[64];
	unsigned n;

	/* Interleaved: odd tags are PCP 7 (class 0), even ones PCP 0 (class 1). */
	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(enqueue_one(s, 100, i, i & 1 ? 7 : 0), 1);
	assert_int_equal(sw_shaper_backlog(s), 20);
	n = sw_shaper_dequeue(s, 0, out, 64);
	assert_int_equal(n, 20);
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(tag_of(out[i]), 2 * i + 1);
		assert_int_equal(tag_of(out[10 + i]), 2 * i);
	}
	free_all(out, n);

	/* Class 0 goes first whenever it has frames, even when it arrives later. */
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(enqueue_one(s, 100, 100 + i, 0), 1);
	n = sw_shaper_dequeue(s, 1, out, 2);
	assert_int_equal(n, 2);
	assert_int_equal(tag_of(out[0]), 100);
	assert_int_equal(tag_of(out[1]), 101);
	free_all(out, n);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(enqueue_one(s, 100, 200 + i, 6), 1);
	n = sw_shaper_dequeue(s, 2, out, 4);
	assert_int_equal(n, 4);
	assert_int_equal(tag_of(out[0]), 200);
	assert_int_equal(tag_of(out[1]), 201);
	assert_int_equal(tag_of(out[2]), 202);
	assert_int_equal(tag_of(out[3]), 102);
	free_all(out, n);
	n = sw_shaper_dequeue(s, 3, out, 64);
	assert_int_equal(n, 7);
	free_all(out, n);
	assert_int_equal(sw_shaper_backlog(s), 0);
	sw_shaper_free(s);
	assert_pool_full();
}

/*
 * Keeps the shaper backlogged for one second of a clock of hz, dequeuing
 * every step cycles, and checks that rate * T + burst bytes left, give or
 * take the last frame.
 */
static void shaper_rate_run(uint64_t hz, uint64_t step, uint64_t rate, uint64_t burst)
{
	struct sw_shaper_cfg cfg = shaper_cfg(rate, burst, 2, 256);
	struct sw_shaper *s = shaper("rate", &cfg, hz);
	const uint32_t sizes[] = { 64, 1500, 512, 1000, 128, 1499 };
	struct sw_shaper_class_stats st0, st1;
	uint64_t bytes = 0, frames = 0, t = 0;
	uint32_t k = 0, last_len = 0;
	struct rte_mbuf *out[64];

	for (;;) {
		while (sw_shaper_backlog(s) < 32) {
			uint32_t len = sizes[k % ARRAY_SIZE(sizes)];

			assert_int_equal(enqueue_one(s, len, k, k % 3 ? 0 : 7), 1);
			k++;
		}
		unsigned n = sw_shaper_dequeue(s, t, out, 64);

		for (unsigned i = 0; i < n; i++) {
			bytes += out[i]->pkt_len;
			last_len = out[i]->pkt_len;
		}
		frames += n;
		free_all(out, n);
		if (t == hz)
			break;
		t = RTE_MIN(t + step, hz);
	}
	/* A frame leaves while the bucket is positive: at most one frame over. */
	if (bytes < rate + burst || bytes >= rate + burst + last_len)
		fail_msg("hz %" PRIu64 " step %" PRIu64 ": %" PRIu64 " bytes, want %" PRIu64
			 " .. %" PRIu64,
			 hz, step, bytes, rate + burst, rate + burst + last_len - 1);
	sw_shaper_get_stats(s, 0, &st0);
	sw_shaper_get_stats(s, 1, &st1);
	assert_int_equal(st0.sent + st1.sent, frames);
	assert_int_equal(st0.sent_bytes + st1.sent_bytes, bytes);
	assert_int_equal(st0.enqueued + st1.enqueued, k);
	assert_int_equal(st0.dropped + st1.dropped, 0);
	assert_int_equal(sw_shaper_backlog(s), k - frames);
	sw_shaper_free(s);
	assert_pool_full();
}

static void test_shaper_rate(void **state)
{
	/* 1 MB/s, 100 us steps of a nanosecond clock. */
	shaper_rate_run(NS, 100000, 1000000, 10000);
	/* Steps too short to earn one byte each: the remainder must carry. */
	shaper_rate_run(NS, 333, 1000000, 3000);
	/* The TSC, odd steps, 12.5 MB/s. */
	shaper_rate_run(rte_get_tsc_hz(), 12345, 12500000, 64000);
}

static void test_shaper_tail_drop(void **state)
{
	struct sw_shaper_cfg cfg = shaper_cfg(1000000, 100000, 2, 16);
	struct sw_shaper *s = shaper("drop", &cfg, NS);
	struct sw_shaper_class_stats st;
	struct rte_mbuf *in[20], *out[64];
	uint8_t pcp[20];
	unsigned n;

	for (unsigned i = 0; i < 20; i++) {
		in[i] = frame(100, i);
		pcp[i] = 7;
	}
	assert_int_equal(sw_shaper_enqueue(s, in, pcp, 20), 16);
	assert_int_equal(sw_shaper_backlog(s), 16);
	sw_shaper_get_stats(s, 0, &st);
	assert_int_equal(st.enqueued, 16);
	assert_int_equal(st.dropped, 4);
	/* The dropped frames went back to the pool. */
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE - 16);

	/* The other class has its own room. */
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(enqueue_one(s, 100, 100 + i, 0), 1);
	assert_int_equal(enqueue_one(s, 100, 116, 0), 0);
	assert_int_equal(enqueue_one(s, 100, 21, 7), 0);
	sw_shaper_get_stats(s, 1, &st);
	assert_int_equal(st.enqueued, 16);
	assert_int_equal(st.dropped, 1);
	sw_shaper_get_stats(s, 0, &st);
	assert_int_equal(st.dropped, 5);
	assert_int_equal(sw_shaper_backlog(s), 32);

	/* The first 16 of class 0 were kept, in order. */
	n = sw_shaper_dequeue(s, 0, out, 64);
	assert_int_equal(n, 32);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(tag_of(out[i]), i);
		assert_int_equal(tag_of(out[16 + i]), 100 + i);
	}
	free_all(out, n);
	/* Room again after the dequeue. */
	assert_int_equal(enqueue_one(s, 100, 300, 7), 1);
	sw_shaper_get_stats(s, 0, &st);
	assert_int_equal(st.enqueued, 17);
	assert_int_equal(st.sent, 16);
	assert_int_equal(st.sent_bytes, 1600);
	sw_shaper_free(s);
	assert_pool_full();
}

static void test_shaper_pcp_map(void **state)
{
	struct sw_shaper_cfg cfg = shaper_cfg(1000000000, 1000000, 3, 16);
	static const uint8_t map[8] = { 2, 2, 1, 0, 1, 0, 2, 0 };
	struct sw_shaper_class_stats st;
	struct rte_mbuf *in[8], *out[8];
	uint8_t pcp[8];
	struct sw_shaper *s;

	memcpy(cfg.pcp_class, map, sizeof(map));
	s = shaper("pcpmap", &cfg, NS);
	for (unsigned i = 0; i < 8; i++) {
		in[i] = frame(64, i);
		pcp[i] = (uint8_t)i;
	}
	assert_int_equal(sw_shaper_enqueue(s, in, pcp, 8), 8);
	sw_shaper_get_stats(s, 0, &st);
	assert_int_equal(st.enqueued, 3);
	sw_shaper_get_stats(s, 1, &st);
	assert_int_equal(st.enqueued, 2);
	sw_shaper_get_stats(s, 2, &st);
	assert_int_equal(st.enqueued, 3);
	/* Class 0 (PCP 3, 5, 7), class 1 (2, 4), class 2 (0, 1, 6). */
	assert_int_equal(sw_shaper_dequeue(s, 0, out, 8), 8);
	static const uint32_t order[8] = { 3, 5, 7, 2, 4, 0, 1, 6 };
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(tag_of(out[i]), order[i]);
	free_all(out, 8);
	sw_shaper_free(s);
	assert_pool_full();
}

static void test_shaper_big_frames(void **state)
{
	/* 1000 B/s with a 100-byte bucket, 1500-byte frames. */
	struct sw_shaper_cfg cfg = shaper_cfg(1000, 100, 1, 16);
	struct sw_shaper *s = shaper("big", &cfg, NS);
	struct rte_mbuf *out[4];

	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(enqueue_one(s, 1500, i, 0), 1);
	/* The full bucket (100) lets the first one go and ends at -1400. */
	assert_int_equal(sw_shaper_dequeue(s, 0, out, 4), 1);
	free_all(out, 1);
	/* At 1.4 s the bucket is back to 0: not positive yet. */
	assert_int_equal(sw_shaper_dequeue(s, 1400000000ull, out, 4), 0);
	/* One byte later it is. */
	assert_int_equal(sw_shaper_dequeue(s, 1401000000ull, out, 4), 1);
	free_all(out, 1);
	/* Time going back changes nothing. */
	assert_int_equal(sw_shaper_dequeue(s, 5, out, 4), 0);
	assert_int_equal(sw_shaper_backlog(s), 1);
	sw_shaper_free(s);
	assert_pool_full();
}

static void test_shaper_free_with_queued(void **state)
{
	struct sw_shaper_cfg cfg = shaper_cfg(1000, 100, 4, 64);
	struct sw_shaper *s = shaper("leak", &cfg, NS);
	struct rte_mbuf *in[100];
	uint8_t pcp[100];

	for (unsigned i = 0; i < 100; i++) {
		in[i] = frame(60 + i, i);
		pcp[i] = (uint8_t)(i % 8);
	}
	assert_int_equal(sw_shaper_enqueue(s, in, pcp, 100), 100);
	assert_int_equal(sw_shaper_backlog(s), 100);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE - 100);
	sw_shaper_free(s);
	assert_pool_full();
	/* The same name can be used again once freed. */
	s = shaper("leak", &cfg, NS);
	sw_shaper_free(s);
}

static void test_shaper_bad_config(void **state)
{
	struct sw_shaper_cfg good = shaper_cfg(1000, 100, 2, 16), c;
	char msg[256];
	int err;

	c = good;
	c.rate = 0;
	err = 0;
	assert_null(sw_shaper_create("bad", &c, NS, SOCKET_ID_ANY, &err, msg, sizeof(msg)));
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(msg, "rate"));
	c = good;
	c.classes = 9;
	assert_null(sw_shaper_create("bad", &c, NS, SOCKET_ID_ANY, &err, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "classes"));
	c = good;
	c.pcp_class[5] = 2;
	assert_null(sw_shaper_create("bad", &c, NS, SOCKET_ID_ANY, &err, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "PCP 5"));
	c = good;
	c.queue_len = 8;
	assert_null(sw_shaper_create("bad", &c, NS, SOCKET_ID_ANY, &err, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "queue-len"));
	c = good;
	c.burst = 0;
	assert_null(sw_shaper_create("bad", &c, NS, SOCKET_ID_ANY, &err, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "burst"));
}

#define PROD_FRAMES 3000u

struct producer {
	struct sw_shaper *s;
	struct rte_mbuf *m[PROD_FRAMES];
	unsigned queued;
	unsigned id;
};

static unsigned producers_done;

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (unsigned i = 0; i < PROD_FRAMES; i += 32) {
		unsigned n = RTE_MIN(PROD_FRAMES - i, 32u);
		uint8_t pcp[32];

		for (unsigned j = 0; j < n; j++)
			pcp[j] = (uint8_t)((i + j + p->id) % 8);
		p->queued += sw_shaper_enqueue(p->s, &p->m[i], pcp, n);
	}
	__atomic_fetch_add(&producers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_shaper_two_producers(void **state)
{
	struct sw_shaper_cfg cfg = shaper_cfg(1000000000000ull, 1000000000ull, 2, 1024);
	struct sw_shaper *s = shaper("mp", &cfg, NS);
	static struct producer prod[2];
	uint64_t enq = 0, drop = 0, sent = 0, t = 0;
	struct rte_mbuf *out[64];
	unsigned got = 0, queued;
	pthread_t th[2];

	producers_done = 0;
	for (unsigned p = 0; p < 2; p++) {
		prod[p].s = s;
		prod[p].queued = 0;
		prod[p].id = p;
		for (unsigned i = 0; i < PROD_FRAMES; i++)
			prod[p].m[i] = frame(64 + i % 1000, p << 16 | i);
	}
	for (unsigned p = 0; p < 2; p++)
		assert_int_equal(pthread_create(&th[p], NULL, producer_main, &prod[p]), 0);
	/* The owner thread drains while they run, then what is left. */
	for (;;) {
		bool finished = __atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) == 2;
		unsigned n = sw_shaper_dequeue(s, t, out, 64);

		t += 1000;
		got += n;
		free_all(out, n);
		if (n == 0 && finished)
			break;
	}
	for (unsigned p = 0; p < 2; p++)
		assert_int_equal(pthread_join(th[p], NULL), 0);
	queued = prod[0].queued + prod[1].queued;
	for (unsigned c = 0; c < 2; c++) {
		struct sw_shaper_class_stats st;

		sw_shaper_get_stats(s, c, &st);
		enq += st.enqueued;
		drop += st.dropped;
		sent += st.sent;
	}
	assert_int_equal(enq + drop, 2 * PROD_FRAMES);
	assert_int_equal(enq, queued);
	assert_int_equal(sent, queued);
	assert_int_equal(got, queued);
	assert_int_equal(sw_shaper_backlog(s), 0);
	sw_shaper_free(s);
	assert_pool_full();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srtcm_rate),
		cmocka_unit_test(test_srtcm_under_cir_all_green),
		cmocka_unit_test(test_srtcm_burst_at_zero),
		cmocka_unit_test(test_trtcm),
		cmocka_unit_test(test_policer_bulk),
		cmocka_unit_test(test_policer_bulk_random),
		cmocka_unit_test(test_policer_two_threads),
		cmocka_unit_test(test_policer_bad_config),
		cmocka_unit_test(test_shaper_strict_priority),
		cmocka_unit_test(test_shaper_rate),
		cmocka_unit_test(test_shaper_tail_drop),
		cmocka_unit_test(test_shaper_pcp_map),
		cmocka_unit_test(test_shaper_big_frames),
		cmocka_unit_test(test_shaper_free_with_queued),
		cmocka_unit_test(test_shaper_bad_config),
		cmocka_unit_test(test_shaper_two_producers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
