// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the forwarding table (vswitch/fdb.c) on a real rte_hash,
 * with EAL started without hugepages. Time is injected. The QSBR tests
 * register the test thread as the one reader and report its quiescent
 * states by hand; the concurrency test runs a reader thread (registered
 * with EAL so that it has an lcore id) against the control side.
 */
#include "vswitch/fdb.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "tests/unit/support/eal_test.h"

static int group_setup(void **state)
{
	(void)state;
	return eal_test_init("test_fdb");
}

static struct sw_fdb *mk(uint32_t size, uint32_t aging_ms, struct rte_rcu_qsbr *qsv)
{
	static unsigned seq;
	struct sw_fdb_params p = { 0 };
	char name[32];
	int err = 1;
	struct sw_fdb *f;

	snprintf(name, sizeof(name), "tfdb%u", seq++);
	p.name = name;
	p.size = size;
	p.socket_id = SOCKET_ID_ANY;
	p.aging_ms = aging_ms;
	p.qsv = qsv;
	f = sw_fdb_create(&p, &err);
	assert_non_null(f);
	assert_int_equal(err, 0);
	return f;
}

/* 02:00:00:ii:ii:ii (unicast, locally administered) in VLAN vlan. */
static struct sw_fdb_key key(uint32_t i, uint16_t vlan)
{
	struct sw_fdb_key k = { { 0x02, 0, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i },
				vlan };

	return k;
}

/* key() for calls that take a pointer; valid until 8 more calls. */
static const struct sw_fdb_key *kp(uint32_t i, uint16_t vlan)
{
	static struct sw_fdb_key ring[8];
	static unsigned n;
	struct sw_fdb_key *k = &ring[n++ % 8];

	*k = key(i, vlan);
	return k;
}

static void learn1(struct sw_fdb *f, struct sw_fdb_key k, uint16_t port, uint64_t now)
{
	sw_fdb_learn_bulk(f, &k, &port, 1, now);
}

static uint16_t look1(struct sw_fdb *f, struct sw_fdb_key k, uint64_t now)
{
	uint16_t port = 0x1234;

	sw_fdb_lookup_bulk(f, &k, 1, &port, now);
	return port;
}

static struct sw_fdb_stats stats(struct sw_fdb *f)
{
	struct sw_fdb_stats s;

	sw_fdb_get_stats(f, &s);
	return s;
}

static struct rte_rcu_qsbr *qsv_new(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *v = rte_zmalloc("test_qsv", sz, RTE_CACHE_LINE_SIZE);

	assert_non_null(v);
	assert_int_equal(rte_rcu_qsbr_init(v, 1), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(v, 0), 0);
	return v;
}

static void test_create_errors(void **state)
{
	struct sw_fdb_params p = { .name = "tfdb_dup", .size = 64, .socket_id = SOCKET_ID_ANY };
	struct sw_fdb *f, *g;
	int err = 0;

	(void)state;
	f = sw_fdb_create(&p, &err);
	assert_non_null(f);
	g = sw_fdb_create(&p, &err);
	assert_null(g);
	assert_int_equal(err, -EEXIST);
	sw_fdb_free(f);

	p.size = 15;
	assert_null(sw_fdb_create(&p, &err));
	assert_int_equal(err, -EINVAL);
	p.size = 1048577;
	assert_null(sw_fdb_create(&p, &err));
	assert_int_equal(err, -EINVAL);
	p.size = 64;
	p.name = NULL;
	assert_null(sw_fdb_create(&p, &err));
	assert_int_equal(err, -EINVAL);
	p.name = "a_name_much_too_long_for_rte_hash_rings";
	assert_null(sw_fdb_create(&p, &err));
	assert_int_equal(err, -EINVAL);
	/* The name is free again after a free. */
	p.name = "tfdb_dup";
	f = sw_fdb_create(&p, &err);
	assert_non_null(f);
	sw_fdb_free(f);
	sw_fdb_free(NULL);
}

static void test_learn_hit_miss(void **state)
{
	struct sw_fdb *f = mk(64, 0, NULL);
	struct sw_fdb_entry_info info;
	struct sw_fdb_stats s;

	(void)state;
	assert_int_equal(look1(f, key(1, 10), 0), SW_FDB_MISS);
	learn1(f, key(1, 10), 3, 0);
	assert_int_equal(look1(f, key(1, 10), 5), 3);
	assert_int_equal(look1(f, key(2, 10), 5), SW_FDB_MISS);
	assert_int_equal(sw_fdb_get(f, kp(1, 10), 5, &info), 0);
	assert_int_equal(info.port, 3);
	assert_false(info.is_static);
	assert_int_equal(info.age_ms, 5);
	assert_memory_equal(&info.key, kp(1, 10), sizeof(info.key));
	assert_int_equal(sw_fdb_get(f, kp(2, 10), 5, &info), -ENOENT);
	/* Learning it again on the same port changes nothing. */
	learn1(f, key(1, 10), 3, 1);
	s = stats(f);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.learned, 1);
	assert_int_equal(s.moved, 0);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 2);
	assert_int_equal(s.statics, 0);
	sw_fdb_free(f);
}

static void test_same_mac_two_vlans(void **state)
{
	struct sw_fdb *f = mk(64, 0, NULL);

	(void)state;
	learn1(f, key(7, 10), 1, 0);
	learn1(f, key(7, 20), 2, 0);
	assert_int_equal(look1(f, key(7, 10), 0), 1);
	assert_int_equal(look1(f, key(7, 20), 0), 2);
	assert_int_equal(look1(f, key(7, 30), 0), SW_FDB_MISS);
	assert_int_equal(stats(f).entries, 2);
	assert_int_equal(stats(f).moved, 0);
	sw_fdb_free(f);
}

static void test_move(void **state)
{
	struct sw_fdb *f = mk(64, 0, NULL);
	struct sw_fdb_stats s;

	(void)state;
	learn1(f, key(1, 1), 1, 0);
	learn1(f, key(1, 1), 2, 1);
	assert_int_equal(look1(f, key(1, 1), 1), 2);
	learn1(f, key(1, 1), 1, 2);
	assert_int_equal(look1(f, key(1, 1), 2), 1);
	s = stats(f);
	assert_int_equal(s.moved, 2);
	assert_int_equal(s.learned, 1);
	assert_int_equal(s.entries, 1);
	sw_fdb_free(f);
}

static void test_static(void **state)
{
	struct sw_fdb *f = mk(64, 1000, NULL);
	struct sw_fdb_key k = key(5, 10), mc = key(5, 10), bc = key(0, 10);
	struct sw_fdb_entry_info info;
	struct sw_fdb_stats s;

	(void)state;
	mc.mac[0] = 0x01;
	memset(bc.mac, 0xff, sizeof(bc.mac));
	assert_int_equal(sw_fdb_add_static(f, &mc, 1), -EINVAL);
	assert_int_equal(sw_fdb_add_static(f, &bc, 1), -EINVAL);
	assert_int_equal(sw_fdb_add_static(f, &k, 5), 0);
	/* Seen on another port: does not move. */
	learn1(f, k, 6, 10);
	assert_int_equal(look1(f, k, 10), 5);
	s = stats(f);
	assert_int_equal(s.moved, 0);
	assert_int_equal(s.statics, 1);
	assert_int_equal(s.entries, 1);
	/* Never ages. */
	assert_int_equal(look1(f, k, 1000000), 5);
	assert_int_equal(sw_fdb_age(f, 1000000), 0);
	assert_int_equal(sw_fdb_get(f, &k, 1000000, &info), 0);
	assert_true(info.is_static);
	assert_int_equal(info.age_ms, 0);
	assert_int_equal(info.port, 5);
	/* Survives flushes, unless include_static. */
	assert_int_equal(sw_fdb_flush(f, SW_FDB_MISS, false), 0);
	assert_int_equal(sw_fdb_flush(f, 5, false), 0);
	assert_int_equal(look1(f, k, 0), 5);
	/* Replacing it moves it. */
	assert_int_equal(sw_fdb_add_static(f, &k, 7), 0);
	assert_int_equal(look1(f, k, 0), 7);
	assert_int_equal(stats(f).statics, 1);
	assert_int_equal(sw_fdb_flush(f, SW_FDB_MISS, true), 1);
	assert_int_equal(look1(f, k, 0), SW_FDB_MISS);
	s = stats(f);
	assert_int_equal(s.statics, 0);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.flushed, 1);

	/* A learned station made static. */
	learn1(f, key(9, 10), 2, 0);
	assert_int_equal(sw_fdb_add_static(f, kp(9, 10), 3), 0);
	assert_int_equal(look1(f, key(9, 10), 5000), 3);
	s = stats(f);
	assert_int_equal(s.statics, 1);
	assert_int_equal(s.entries, 1);
	assert_int_equal(sw_fdb_del(f, kp(9, 10)), 0);
	assert_int_equal(stats(f).statics, 0);
	sw_fdb_free(f);
}

static void test_aging(void **state)
{
	struct sw_fdb *f = mk(64, 1000, NULL);
	struct sw_fdb_key k = key(1, 1);
	struct sw_fdb_entry_info info;
	struct sw_fdb_stats s;

	(void)state;
	learn1(f, k, 4, 0);
	assert_int_equal(look1(f, k, 999), 4);
	/* Too old: a miss even before the sweep. */
	assert_int_equal(look1(f, k, 1000), SW_FDB_MISS);
	assert_int_equal(sw_fdb_get(f, &k, 1000, &info), -ENOENT);
	assert_int_equal(stats(f).entries, 1);
	assert_int_equal(sw_fdb_age(f, 999), 0);
	assert_int_equal(sw_fdb_age(f, 1000), 1);
	s = stats(f);
	assert_int_equal(s.aged, 1);
	assert_int_equal(s.entries, 0);
	assert_int_equal(look1(f, k, 1000), SW_FDB_MISS);

	/* Last seen is written only when it is a refresh interval
	 * (aging / 16 = 62 ms here) old. */
	learn1(f, k, 4, 2000);
	learn1(f, k, 4, 2010);
	assert_int_equal(sw_fdb_get(f, &k, 2010, &info), 0);
	assert_int_equal(info.age_ms, 10);
	learn1(f, k, 4, 2100);
	assert_int_equal(sw_fdb_get(f, &k, 2100, &info), 0);
	assert_int_equal(info.age_ms, 0);
	/* Heard continuously, it never expires. */
	for (uint64_t t = 2100; t < 10000; t += 50) {
		learn1(f, k, 4, t);
		assert_int_equal(look1(f, k, t), 4);
	}
	assert_int_equal(sw_fdb_age(f, 10000), 0);
	/* An expired entry heard again comes back without a sweep. */
	assert_int_equal(look1(f, k, 20000), SW_FDB_MISS);
	learn1(f, k, 4, 20000);
	assert_int_equal(look1(f, k, 20001), 4);

	/* Aging off: nothing expires; back on: the old entry goes. */
	sw_fdb_set_aging(f, 0);
	assert_int_equal(look1(f, k, 1000000), 4);
	assert_int_equal(sw_fdb_age(f, 1000000), 0);
	sw_fdb_set_aging(f, 500);
	assert_int_equal(look1(f, k, 1000000), SW_FDB_MISS);
	assert_int_equal(sw_fdb_age(f, 1000000), 1);
	assert_int_equal(stats(f).aged, 2);
	assert_int_equal(stats(f).entries, 0);
	sw_fdb_free(f);
}

static void test_flush_port(void **state)
{
	struct sw_fdb *f = mk(64, 0, NULL);
	struct sw_fdb_stats s;
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++)
		learn1(f, key(i, 1), 1, 0);
	for (i = 3; i < 5; i++)
		learn1(f, key(i, 1), 2, 0);
	assert_int_equal(sw_fdb_add_static(f, kp(9, 1), 1), 0);
	assert_int_equal(sw_fdb_flush(f, 1, false), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(look1(f, key(i, 1), 0), SW_FDB_MISS);
	for (i = 3; i < 5; i++)
		assert_int_equal(look1(f, key(i, 1), 0), 2);
	assert_int_equal(look1(f, key(9, 1), 0), 1);
	assert_int_equal(sw_fdb_flush(f, 3, false), 0);
	s = stats(f);
	assert_int_equal(s.flushed, 3);
	assert_int_equal(s.entries, 3);
	assert_int_equal(sw_fdb_flush(f, SW_FDB_MISS, false), 2);
	assert_int_equal(stats(f).entries, 1);
	sw_fdb_free(f);
}

static void test_full(void **state)
{
	struct sw_fdb *f = mk(16, 0, NULL);
	struct sw_fdb_stats s;
	unsigned i;

	(void)state;
	for (i = 0; i < 16; i++)
		learn1(f, key(i, 1), (uint16_t)i, 0);
	learn1(f, key(100, 1), 1, 0);
	learn1(f, key(101, 1), 1, 0);
	s = stats(f);
	assert_int_equal(s.entries, 16);
	assert_int_equal(s.learned, 16);
	assert_int_equal(s.learn_full, 2);
	/* Unlearned stations miss (and are flooded); the others still hit. */
	assert_int_equal(look1(f, key(100, 1), 0), SW_FDB_MISS);
	assert_int_equal(look1(f, key(101, 1), 0), SW_FDB_MISS);
	for (i = 0; i < 16; i++)
		assert_int_equal(look1(f, key(i, 1), 0), i);
	/* Known stations still move when full. */
	learn1(f, key(3, 1), 9, 1);
	assert_int_equal(look1(f, key(3, 1), 1), 9);
	assert_int_equal(sw_fdb_add_static(f, kp(102, 1), 1), -ENOSPC);
	/* One out, one in. */
	assert_int_equal(sw_fdb_del(f, kp(0, 1)), 0);
	learn1(f, key(100, 1), 1, 2);
	assert_int_equal(look1(f, key(100, 1), 2), 1);
	assert_int_equal(stats(f).entries, 16);
	sw_fdb_free(f);
}

static void test_multicast_source(void **state)
{
	struct sw_fdb *f = mk(64, 0, NULL);
	struct sw_fdb_key ks[3] = { key(1, 1), key(2, 1), key(3, 1) };
	uint16_t ports[3] = { 1, 1, 1 };
	uint16_t out[3];

	(void)state;
	ks[0].mac[0] = 0x01; /* multicast */
	ks[0].mac[5] = 0x5e;
	memset(ks[1].mac, 0xff, 6); /* broadcast */
	sw_fdb_learn_bulk(f, ks, ports, 3, 0);
	sw_fdb_lookup_bulk(f, ks, 3, out, 0);
	assert_int_equal(out[0], SW_FDB_MISS);
	assert_int_equal(out[1], SW_FDB_MISS);
	assert_int_equal(out[2], 1);
	assert_int_equal(stats(f).entries, 1);
	assert_int_equal(stats(f).learned, 1);
	sw_fdb_free(f);
}

struct walk_ctx {
	unsigned n;
	unsigned limit;
	uint32_t seen_mask; /* bit i: key(i, ...) seen */
	bool bad;
};

static int walk_cb(const struct sw_fdb_entry_info *e, void *opaque)
{
	struct walk_ctx *c = opaque;
	unsigned i = e->key.mac[5];

	if (i >= 32 || (c->seen_mask & (1u << i)))
		c->bad = true;
	c->seen_mask |= 1u << i;
	if (e->port != (i == 20 ? 99 : i % 4) || e->is_static != (i == 20) || e->key.vlan != 3)
		c->bad = true;
	c->n++;
	return c->limit != 0 && c->n >= c->limit;
}

static void test_walk(void **state)
{
	struct sw_fdb *f = mk(64, 1000, NULL);
	struct walk_ctx c = { 0 };
	unsigned i;

	(void)state;
	for (i = 0; i < 10; i++)
		learn1(f, key(i, 3), (uint16_t)(i % 4), i < 5 ? 0 : 500);
	assert_int_equal(sw_fdb_add_static(f, kp(20, 3), 99), 0);
	assert_int_equal(sw_fdb_del(f, kp(9, 3)), 0);
	assert_int_equal(sw_fdb_del(f, kp(9, 3)), -ENOENT);
	/* At 1200 keys 0..4 are older than the aging time: not live. */
	sw_fdb_walk(f, 1200, walk_cb, &c);
	assert_false(c.bad);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.seen_mask, 0x1e0u | 1u << 20);
	memset(&c, 0, sizeof(c));
	sw_fdb_walk(f, 100, walk_cb, &c);
	assert_false(c.bad);
	assert_int_equal(c.n, 10);
	assert_int_equal(c.seen_mask, 0x1ffu | 1u << 20);
	/* Stops when asked. */
	memset(&c, 0, sizeof(c));
	c.limit = 3;
	sw_fdb_walk(f, 100, walk_cb, &c);
	assert_int_equal(c.n, 3);
	sw_fdb_free(f);
}

static void test_del_relearn(void **state)
{
	struct sw_fdb *f = mk(16, 0, NULL);
	struct sw_fdb_key k = key(1, 1);

	(void)state;
	learn1(f, k, 1, 0);
	assert_int_equal(sw_fdb_del(f, &k), 0);
	assert_int_equal(look1(f, k, 0), SW_FDB_MISS);
	assert_int_equal(sw_fdb_del(f, &k), -ENOENT);
	learn1(f, k, 2, 1);
	assert_int_equal(look1(f, k, 1), 2);
	assert_int_equal(stats(f).entries, 1);
	assert_int_equal(stats(f).learned, 2);
	sw_fdb_free(f);
}

static void fill(struct sw_fdb *f, uint32_t base, unsigned n, uint64_t now)
{
	struct sw_fdb_key ks[SW_FDB_BURST_MAX];
	uint16_t ports[SW_FDB_BURST_MAX], out[SW_FDB_BURST_MAX];
	unsigned i, done = 0;

	while (done < n) {
		unsigned c = n - done < SW_FDB_BURST_MAX ? n - done : SW_FDB_BURST_MAX;

		for (i = 0; i < c; i++) {
			ks[i] = key(base + done + i, 1);
			ports[i] = (uint16_t)((base + done + i) % 16);
		}
		sw_fdb_learn_bulk(f, ks, ports, c, now);
		sw_fdb_lookup_bulk(f, ks, c, out, now);
		for (i = 0; i < c; i++)
			if (out[i] != ports[i])
				break;
		if (i < c)
			fail_msg("key %u: port %u, expected %u", base + done + i, out[i], ports[i]);
		done += c;
	}
}

/*
 * Fill, flush, fill with new keys, many times over: far more adds than
 * rte_hash has positions (size plus its per-lcore reserve), so this only
 * passes if removed positions are given back.
 */
static void test_reuse_no_qsv(void **state)
{
	struct sw_fdb *f = mk(64, 0, NULL);
	unsigned r;

	(void)state;
	for (r = 0; r < 300; r++) {
		fill(f, r * 64, 64, r);
		assert_int_equal(sw_fdb_flush(f, SW_FDB_MISS, false), 64);
	}
	assert_int_equal(stats(f).learn_full, 0);
	assert_int_equal(stats(f).learned, 300 * 64);
	assert_int_equal(stats(f).entries, 0);
	sw_fdb_free(f);
}

static void test_reuse_qsv(void **state)
{
	struct rte_rcu_qsbr *v = qsv_new();
	struct sw_fdb *f = mk(64, 0, v);
	struct sw_fdb_stats s;
	unsigned r;

	(void)state;
	rte_rcu_qsbr_thread_online(v, 0);
	/* The reader reports quiescent states: space comes back at the next
	 * control call (here the periodic aging). */
	for (r = 0; r < 300; r++) {
		fill(f, r * 64, 64, r);
		assert_int_equal(sw_fdb_flush(f, SW_FDB_MISS, false), 64);
		rte_rcu_qsbr_quiescent(v, 0);
		sw_fdb_age(f, r);
	}
	s = stats(f);
	assert_int_equal(s.learn_full, 0);
	assert_int_equal(s.learned, 300 * 64);

	/* The reader stays in its critical section: removed positions must
	 * not be reused, so rte_hash eventually runs out of them. */
	for (r = 0; r < 300; r++) {
		struct sw_fdb_key ks[64];
		uint16_t ports[64];
		unsigned i;

		for (i = 0; i < 64; i++) {
			ks[i] = key(100000 + r * 64 + i, 2);
			ports[i] = 1;
		}
		sw_fdb_learn_bulk(f, ks, ports, 64, 0);
		sw_fdb_flush(f, SW_FDB_MISS, false);
		sw_fdb_age(f, 0);
	}
	s = stats(f);
	assert_true(s.learn_full > 0);
	/* Quiescent again: everything comes back. */
	rte_rcu_qsbr_quiescent(v, 0);
	sw_fdb_age(f, 0);
	fill(f, 500000, 64, 0);
	assert_int_equal(stats(f).entries, 64);
	/* Offline readers do not hold anything back. */
	rte_rcu_qsbr_thread_offline(v, 0);
	for (r = 0; r < 300; r++) {
		assert_int_equal(sw_fdb_flush(f, SW_FDB_MISS, false), 64);
		fill(f, 600000 + r * 64, 64, 0);
	}
	sw_fdb_free(f);
	rte_rcu_qsbr_thread_unregister(v, 0);
	rte_free(v);
}

static void test_bulk64(void **state)
{
	struct sw_fdb *f = mk(1024, 0, NULL);
	struct sw_fdb_key ks[64], unknown[64];
	uint16_t ports[64], out[64];
	unsigned i;

	(void)state;
	for (i = 0; i < 64; i++) {
		ks[i] = key(i * 7919, (uint16_t)(i % 3));
		unknown[i] = key(i * 7919 + 1, (uint16_t)(i % 3));
		ports[i] = (uint16_t)(i % 8);
	}
	sw_fdb_learn_bulk(f, ks, ports, 64, 0);
	assert_int_equal(stats(f).learned, 64);
	sw_fdb_lookup_bulk(f, ks, 64, out, 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(out[i], ports[i]);
	sw_fdb_lookup_bulk(f, unknown, 64, out, 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(out[i], SW_FDB_MISS);
	/* One burst holding the same new station many times. */
	for (i = 0; i < 64; i++) {
		unknown[i] = key(424242, 5);
		ports[i] = 6;
	}
	sw_fdb_learn_bulk(f, unknown, ports, 64, 0);
	assert_int_equal(stats(f).learned, 65);
	assert_int_equal(stats(f).moved, 0);
	assert_int_equal(look1(f, key(424242, 5), 0), 6);
	assert_int_equal(stats(f).hits, 65);
	assert_int_equal(stats(f).misses, 64);
	sw_fdb_free(f);
}

/* ---- concurrency smoke test ---- */

#define CC_KEYS 256u
#define CC_SIZE 128u

struct cc {
	struct sw_fdb *f;
	struct rte_rcu_qsbr *v;
	uint64_t now; /* injected clock, atomic */
	int stop;     /* atomic */
	unsigned long iters, hits, bad;
	int reg_err;
};

/* Key i is only ever learned on port i or 1000 + i (a port reached
 * through a stale or reused position would belong to another key). */
static bool cc_port_ok(unsigned i, uint16_t port)
{
	return port == i || port == 1000 + i;
}

static void *cc_reader(void *arg)
{
	struct cc *c = arg;
	struct sw_fdb_key ks[32];
	uint16_t ports[32], out[32];
	unsigned seed = 1, i;

	if (rte_thread_register() != 0) {
		c->reg_err = 1;
		return NULL;
	}
	rte_rcu_qsbr_thread_online(c->v, 0);
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) && c->iters < 20000000) {
		uint64_t now = __atomic_load_n(&c->now, __ATOMIC_RELAXED);
		unsigned idx[32];

		for (i = 0; i < 32; i++) {
			seed = seed * 1103515245u + 12345u;
			idx[i] = (seed >> 8) % CC_KEYS;
			ks[i] = key(idx[i], 1);
			ports[i] = (uint16_t)(idx[i] + ((seed >> 20) & 1 ? 1000 : 0));
		}
		sw_fdb_learn_bulk(c->f, ks, ports, 32, now);
		sw_fdb_lookup_bulk(c->f, ks, 32, out, now);
		for (i = 0; i < 32; i++) {
			if (out[i] == SW_FDB_MISS)
				continue;
			c->hits++;
			if (!cc_port_ok(idx[i], out[i]))
				c->bad++;
		}
		rte_rcu_qsbr_quiescent(c->v, 0);
		c->iters++;
	}
	rte_rcu_qsbr_thread_offline(c->v, 0);
	rte_thread_unregister();
	return NULL;
}

struct count_ctx {
	unsigned n, bad;
};

static int cc_walk(const struct sw_fdb_entry_info *e, void *opaque)
{
	struct count_ctx *c = opaque;
	unsigned i = (unsigned)e->key.mac[4] << 8 | e->key.mac[5];

	c->n++;
	if (i >= CC_KEYS || !cc_port_ok(i, e->port))
		c->bad++;
	return 0;
}

static void test_concurrency(void **state)
{
	struct cc c = { 0 };
	struct count_ctx wc = { 0 };
	struct timespec t0, t;
	pthread_t th;
	unsigned loops = 0, j;

	(void)state;
	c.v = qsv_new();
	c.f = mk(CC_SIZE, 20, c.v);
	assert_int_equal(pthread_create(&th, NULL, cc_reader, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct sw_fdb_key k = key(loops % CC_KEYS, 1);

		__atomic_fetch_add(&c.now, 1, __ATOMIC_RELAXED);
		sw_fdb_age(c.f, __atomic_load_n(&c.now, __ATOMIC_RELAXED));
		if (loops % 7 == 0)
			sw_fdb_flush(c.f, (uint16_t)(loops % CC_KEYS), false);
		if (loops % 31 == 0)
			sw_fdb_flush(c.f, SW_FDB_MISS, true);
		if (loops % 3 == 0)
			(void)sw_fdb_del(c.f, &k);
		if (loops % 11 == 0 &&
		    sw_fdb_add_static(c.f, &k, (uint16_t)(1000 + loops % CC_KEYS)) == 0 &&
		    loops % 2 == 0)
			assert_int_equal(sw_fdb_del(c.f, &k), 0);
		loops++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 400000000L);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(c.reg_err, 0);
	assert_int_equal(c.bad, 0);
	assert_true(c.iters > 0);
	assert_true(c.hits > 0);

	/* Quiet now: the table is consistent with its counters. */
	sw_fdb_set_aging(c.f, 0);
	sw_fdb_walk(c.f, 0, cc_walk, &wc);
	assert_int_equal(wc.bad, 0);
	assert_int_equal(wc.n, stats(c.f).entries);
	assert_true(wc.n <= CC_SIZE);
	/* And everything can be given back and used again. */
	sw_fdb_flush(c.f, SW_FDB_MISS, true);
	sw_fdb_age(c.f, 0);
	assert_int_equal(stats(c.f).entries, 0);
	for (j = 0; j < 2; j++) {
		fill(c.f, 1000000, CC_SIZE, 0);
		assert_int_equal(stats(c.f).entries, CC_SIZE);
		assert_int_equal(sw_fdb_flush(c.f, SW_FDB_MISS, false), CC_SIZE);
		sw_fdb_age(c.f, 0);
	}
	print_message("concurrency: %u control loops, %lu reader bursts, %lu hits\n", loops,
		      c.iters, c.hits);
	sw_fdb_free(c.f);
	rte_free(c.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_learn_hit_miss),
		cmocka_unit_test(test_same_mac_two_vlans),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_flush_port),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_multicast_source),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_del_relearn),
		cmocka_unit_test(test_reuse_no_qsv),
		cmocka_unit_test(test_reuse_qsv),
		cmocka_unit_test(test_bulk64),
		cmocka_unit_test(test_concurrency),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
