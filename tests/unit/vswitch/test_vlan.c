// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the VLAN decisions (vswitch/vlan.h: access, trunk with and
 * without native VLAN, native-tagged, the default VLAN-unaware port,
 * priority tags) and the two frame edits (vswitch/vlan.c: pop and push on
 * real mbufs from a pool, EAL started without hugepages).
 */
#include "vswitch/vlan.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tests/unit/support/eal_test.h"

static struct rte_mempool *pool;

static int group_setup(void **state)
{
	(void)state;
	if (eal_test_init("test_vlan") != 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test_vlan", 256, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	return pool != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	return 0;
}

/* ---- configurations, bitmaps set by hand ---- */

static void allow(struct sw_vlan_cfg *v, uint16_t lo, uint16_t hi)
{
	for (unsigned vid = lo; vid <= hi; vid++)
		v->allowed[vid >> 6] |= 1ull << (vid & 63);
}

/* The default port: trunk, VLANs 0..4094 allowed, native 0. */
static struct sw_vlan_cfg cfg_default(void)
{
	struct sw_vlan_cfg v;

	memset(&v, 0, sizeof(v));
	v.mode = SW_VLAN_TRUNK;
	v.native = 0;
	allow(&v, 0, SW_VLAN_MAX);
	return v;
}

static struct sw_vlan_cfg cfg_access(uint16_t tag)
{
	struct sw_vlan_cfg v;

	memset(&v, 0, sizeof(v));
	v.mode = SW_VLAN_ACCESS;
	v.tag = tag;
	v.native = SW_VLAN_NONE;
	return v;
}

/* Trunk of 1, 10, 20 and 100-200. */
static struct sw_vlan_cfg cfg_trunk(uint16_t native, bool native_tagged)
{
	struct sw_vlan_cfg v;

	memset(&v, 0, sizeof(v));
	v.mode = SW_VLAN_TRUNK;
	v.native = native;
	v.native_tagged = native_tagged;
	allow(&v, 1, 1);
	allow(&v, 10, 10);
	allow(&v, 20, 20);
	allow(&v, 100, 200);
	return v;
}

#define TCI(pcp, vid) ((int)((pcp) << 13 | (vid)))

static void ingress_is(const struct sw_vlan_cfg *v, int tci, enum sw_vlan_drop want,
		       uint16_t want_vlan, int line)
{
	uint16_t vlan = 0xbeef;
	enum sw_vlan_drop got = sw_vlan_ingress(v, tci, &vlan);

	if (got != want)
		fail_msg("line %d: tci %d: ingress %d, expected %d", line, tci, got, want);
	if (want == SW_VLAN_PASS && vlan != want_vlan)
		fail_msg("line %d: tci %d: VLAN %u, expected %u", line, tci, vlan, want_vlan);
}

#define IN_PASS(v, tci, vlan) ingress_is(v, tci, SW_VLAN_PASS, vlan, __LINE__)
#define IN_DROP(v, tci, why) ingress_is(v, tci, why, 0, __LINE__)

static void test_access(void **state)
{
	struct sw_vlan_cfg v = cfg_access(10);

	(void)state;
	IN_PASS(&v, SW_TCI_NONE, 10);
	IN_PASS(&v, TCI(5, 0), 10); /* priority tag */
	IN_PASS(&v, TCI(0, 0), 10);
	IN_DROP(&v, TCI(0, 10), SW_VLAN_DROP_TAGGED_ON_ACCESS);
	IN_DROP(&v, TCI(3, 20), SW_VLAN_DROP_TAGGED_ON_ACCESS);
	IN_DROP(&v, TCI(0, 4095), SW_VLAN_DROP_TAGGED_ON_ACCESS);
	assert_int_equal(sw_vlan_egress(&v, 10), SW_EGRESS_UNTAGGED);
	assert_int_equal(sw_vlan_egress(&v, 20), SW_EGRESS_DROP);
	assert_int_equal(sw_vlan_egress(&v, 0), SW_EGRESS_DROP);
	assert_int_equal(sw_vlan_egress(&v, SW_VLAN_NONE), SW_EGRESS_DROP);
}

static void test_trunk_no_native(void **state)
{
	struct sw_vlan_cfg v = cfg_trunk(SW_VLAN_NONE, false);

	(void)state;
	IN_DROP(&v, SW_TCI_NONE, SW_VLAN_DROP_NO_NATIVE);
	IN_DROP(&v, TCI(4, 0), SW_VLAN_DROP_NO_NATIVE);
	IN_PASS(&v, TCI(0, 10), 10);
	IN_PASS(&v, TCI(7, 20), 20);
	IN_PASS(&v, TCI(0, 100), 100);
	IN_PASS(&v, TCI(0, 200), 200);
	IN_PASS(&v, TCI(0, 1), 1);
	IN_DROP(&v, TCI(0, 30), SW_VLAN_DROP_NOT_ALLOWED);
	IN_DROP(&v, TCI(0, 99), SW_VLAN_DROP_NOT_ALLOWED);
	IN_DROP(&v, TCI(0, 201), SW_VLAN_DROP_NOT_ALLOWED);
	IN_DROP(&v, TCI(0, 4095), SW_VLAN_DROP_NOT_ALLOWED);
	/* The CFI/DEI bit is not part of the VID. */
	IN_PASS(&v, 0x1000 | 10, 10);
	assert_int_equal(sw_vlan_egress(&v, 10), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_egress(&v, 150), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_egress(&v, 30), SW_EGRESS_DROP);
	assert_int_equal(sw_vlan_egress(&v, 0), SW_EGRESS_DROP);
}

static void test_trunk_native(void **state)
{
	struct sw_vlan_cfg v = cfg_trunk(1, false);

	(void)state;
	IN_PASS(&v, SW_TCI_NONE, 1);
	IN_PASS(&v, TCI(6, 0), 1);
	IN_PASS(&v, TCI(0, 1), 1); /* the native VLAN tagged is accepted too */
	IN_PASS(&v, TCI(0, 20), 20);
	IN_DROP(&v, TCI(0, 2), SW_VLAN_DROP_NOT_ALLOWED);
	assert_int_equal(sw_vlan_egress(&v, 1), SW_EGRESS_UNTAGGED);
	assert_int_equal(sw_vlan_egress(&v, 20), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_egress(&v, 2), SW_EGRESS_DROP);
	assert_int_equal(sw_vlan_egress(&v, 0), SW_EGRESS_DROP);

	/* Native-tagged: the native VLAN leaves tagged, still enters untagged. */
	v = cfg_trunk(1, true);
	IN_PASS(&v, SW_TCI_NONE, 1);
	IN_PASS(&v, TCI(0, 1), 1);
	assert_int_equal(sw_vlan_egress(&v, 1), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_egress(&v, 20), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_egress(&v, 30), SW_EGRESS_DROP);
}

static void test_default_port(void **state)
{
	struct sw_vlan_cfg v = cfg_default();

	(void)state;
	IN_PASS(&v, SW_TCI_NONE, 0);
	IN_PASS(&v, TCI(3, 0), 0);
	IN_PASS(&v, TCI(0, 1), 1);
	IN_PASS(&v, TCI(0, 4094), 4094);
	IN_DROP(&v, TCI(0, 4095), SW_VLAN_DROP_NOT_ALLOWED);
	assert_int_equal(sw_vlan_egress(&v, 0), SW_EGRESS_UNTAGGED);
	assert_int_equal(sw_vlan_egress(&v, 10), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_egress(&v, 4094), SW_EGRESS_TAGGED);
	/* VLAN 0 never leaves tagged, native-tagged or not. */
	v.native_tagged = true;
	assert_int_equal(sw_vlan_egress(&v, 0), SW_EGRESS_UNTAGGED);
}

/* ---- frames ---- */

static const uint8_t dst[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t src[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

/* dst, src, then the tags (TPID, TCI pairs), ethertype 0x0800, payload. */
static size_t frame_bytes(uint8_t *buf, const uint16_t *tags, unsigned n_tags, size_t payload)
{
	size_t off = 12;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	for (unsigned i = 0; i < 2 * n_tags; i++, off += 2) {
		buf[off] = (uint8_t)(tags[i] >> 8);
		buf[off + 1] = (uint8_t)tags[i];
	}
	buf[off++] = 0x08;
	buf[off++] = 0x00;
	for (size_t i = 0; i < payload; i++)
		buf[off++] = (uint8_t)(i * 7 + 1);
	return off;
}

static struct rte_mbuf *mbuf_of(const uint8_t *bytes, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(p);
	memcpy(p, bytes, len);
	return m;
}

static void frame_equals(struct rte_mbuf *m, const uint8_t *bytes, size_t len)
{
	uint8_t buf[256];
	const void *p;

	assert_int_equal(rte_pktmbuf_pkt_len(m), len);
	p = rte_pktmbuf_read(m, 0, (uint32_t)len, buf);
	assert_non_null(p);
	assert_memory_equal(p, bytes, len);
}

static void test_pop_push_roundtrip(void **state)
{
	uint8_t plain[128], tagged[128];
	uint16_t tag[2] = { 0x8100, (uint16_t)TCI(3, 10) };
	size_t np = frame_bytes(plain, NULL, 0, 46);
	size_t nt = frame_bytes(tagged, tag, 1, 46);
	struct rte_mbuf *m = mbuf_of(plain, np);
	uint16_t room = rte_pktmbuf_headroom(m);

	(void)state;
	assert_int_equal(sw_vlan_push(m, (uint16_t)TCI(3, 10)), 0);
	frame_equals(m, tagged, nt);
	assert_int_equal(rte_pktmbuf_data_len(m), nt);
	assert_int_equal(rte_pktmbuf_headroom(m), room - 4);
	assert_int_equal(sw_vlan_pop(m), TCI(3, 10));
	frame_equals(m, plain, np);
	assert_int_equal(rte_pktmbuf_data_len(m), np);
	/* Untagged: pop leaves it alone. */
	assert_int_equal(sw_vlan_pop(m), SW_TCI_NONE);
	frame_equals(m, plain, np);
	assert_int_equal(rte_pktmbuf_headroom(m), room);
	rte_pktmbuf_free(m);
}

static void test_qinq_outer(void **state)
{
	uint8_t qinq[128], inner[128];
	uint16_t tags[4] = { 0x88a8, (uint16_t)TCI(2, 100), 0x8100, (uint16_t)TCI(5, 7) };
	size_t nq = frame_bytes(qinq, tags, 2, 40);
	size_t ni = frame_bytes(inner, tags + 2, 1, 40);
	struct rte_mbuf *m = mbuf_of(qinq, nq);

	(void)state;
	assert_int_equal(sw_vlan_pop(m), TCI(2, 100));
	frame_equals(m, inner, ni);
	assert_int_equal(sw_vlan_pop(m), TCI(5, 7));
	assert_int_equal(sw_vlan_pop(m), SW_TCI_NONE);
	assert_int_equal(rte_pktmbuf_pkt_len(m), ni - 4);
	rte_pktmbuf_free(m);
}

/*
 * The priority travels through the switch: a frame enters with some PCP and
 * leaves through another port with the same PCP in its new tag.
 */
static void test_pcp_preserved(void **state)
{
	struct sw_vlan_cfg trunk = cfg_trunk(SW_VLAN_NONE, false), acc = cfg_access(20);
	uint8_t in[128], out[128];
	uint16_t tag_in[2] = { 0x8100, (uint16_t)TCI(5, 20) };
	uint16_t prio[2] = { 0x8100, (uint16_t)TCI(6, 0) };
	uint16_t tag_out[2] = { 0x8100, (uint16_t)TCI(6, 20) };
	struct rte_mbuf *m;
	uint16_t vlan = 0;
	size_t n;
	int tci;

	(void)state;
	/* Tagged on a trunk, out untagged on an access port, PCP kept aside. */
	m = mbuf_of(in, frame_bytes(in, tag_in, 1, 46));
	tci = sw_vlan_pop(m);
	assert_int_equal(tci, TCI(5, 20));
	assert_int_equal(sw_vlan_ingress(&trunk, tci, &vlan), SW_VLAN_PASS);
	assert_int_equal(vlan, 20);
	assert_int_equal(sw_vlan_egress(&acc, vlan), SW_EGRESS_UNTAGGED);
	/* ... and out tagged on another trunk: PCP 5 again. */
	assert_int_equal(sw_vlan_egress(&trunk, vlan), SW_EGRESS_TAGGED);
	assert_int_equal(sw_vlan_push(m, (uint16_t)((tci & 0xe000) | vlan)), 0);
	n = frame_bytes(out, tag_in, 1, 46);
	frame_equals(m, out, n);
	rte_pktmbuf_free(m);

	/* Priority-tagged into an access port, out tagged on a trunk. */
	m = mbuf_of(in, frame_bytes(in, prio, 1, 46));
	tci = sw_vlan_pop(m);
	assert_int_equal(tci, TCI(6, 0));
	assert_int_equal(sw_vlan_ingress(&acc, tci, &vlan), SW_VLAN_PASS);
	assert_int_equal(vlan, 20);
	assert_int_equal(sw_vlan_push(m, (uint16_t)((tci & 0xe000) | vlan)), 0);
	n = frame_bytes(out, tag_out, 1, 46);
	frame_equals(m, out, n);
	rte_pktmbuf_free(m);
}

static void test_push_no_headroom(void **state)
{
	uint8_t plain[128];
	size_t np = frame_bytes(plain, NULL, 0, 46);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	(void)state;
	assert_non_null(m);
	m->data_off = 3;
	memcpy(rte_pktmbuf_append(m, (uint16_t)np), plain, np);
	assert_int_equal(sw_vlan_push(m, 10), -ENOSPC);
	frame_equals(m, plain, np);
	assert_int_equal(rte_pktmbuf_headroom(m), 3);
	m->data_off = 0;
	assert_int_equal(sw_vlan_push(m, 10), -ENOSPC);
	rte_pktmbuf_free(m);
	/* Exactly enough. */
	m = rte_pktmbuf_alloc(pool);
	assert_non_null(m);
	m->data_off = 4;
	memcpy(rte_pktmbuf_append(m, (uint16_t)np), plain, np);
	assert_int_equal(sw_vlan_push(m, 10), 0);
	assert_int_equal(rte_pktmbuf_headroom(m), 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), np + 4);
	rte_pktmbuf_free(m);
}

static void test_shared_refused(void **state)
{
	uint8_t plain[128], tagged[128];
	uint16_t tag[2] = { 0x8100, 10 };
	size_t np = frame_bytes(plain, NULL, 0, 46);
	size_t nt = frame_bytes(tagged, tag, 1, 46);
	struct rte_mbuf *m = mbuf_of(tagged, nt), *c;

	(void)state;
	/* Referenced twice. */
	rte_mbuf_refcnt_update(m, 1);
	assert_int_equal(sw_vlan_pop(m), -EINVAL);
	assert_int_equal(sw_vlan_push(m, 20), -EINVAL);
	frame_equals(m, tagged, nt);
	rte_mbuf_refcnt_update(m, -1);

	/* A clone shares the data: neither may be edited. */
	c = rte_pktmbuf_clone(m, pool);
	assert_non_null(c);
	assert_int_equal(sw_vlan_pop(c), -EINVAL);
	assert_int_equal(sw_vlan_pop(m), -EINVAL);
	assert_int_equal(sw_vlan_push(c, 20), -EINVAL);
	frame_equals(m, tagged, nt);
	frame_equals(c, tagged, nt);
	rte_pktmbuf_free(c);
	/* Alone again: fine. */
	assert_int_equal(sw_vlan_pop(m), 10);
	frame_equals(m, plain, np);
	rte_pktmbuf_free(m);

	/* Untagged and shared: nothing to edit, so nothing refused. */
	m = mbuf_of(plain, np);
	rte_mbuf_refcnt_update(m, 1);
	assert_int_equal(sw_vlan_pop(m), SW_TCI_NONE);
	rte_mbuf_refcnt_update(m, -1);
	rte_pktmbuf_free(m);
}

/* A frame in two segments, the first holding `first` bytes. */
static struct rte_mbuf *two_segs(const uint8_t *bytes, size_t len, size_t first)
{
	struct rte_mbuf *a = mbuf_of(bytes, first), *b = mbuf_of(bytes + first, len - first);

	assert_int_equal(rte_pktmbuf_chain(a, b), 0);
	assert_int_equal(rte_pktmbuf_pkt_len(a), len);
	return a;
}

static void test_multi_segment(void **state)
{
	uint8_t plain[128], tagged[128];
	uint16_t tag[2] = { 0x8100, (uint16_t)TCI(1, 30) };
	size_t np = frame_bytes(plain, NULL, 0, 46);
	size_t nt = frame_bytes(tagged, tag, 1, 46);
	struct rte_mbuf *m;

	(void)state;
	/* The tag in the first segment: popped, lengths follow. */
	m = two_segs(tagged, nt, 16 + 2);
	assert_int_equal(sw_vlan_pop(m), TCI(1, 30));
	frame_equals(m, plain, np);
	assert_int_equal(rte_pktmbuf_data_len(m), 14);
	assert_int_equal(m->nb_segs, 2);
	assert_int_equal(sw_vlan_push(m, (uint16_t)TCI(1, 30)), 0);
	frame_equals(m, tagged, nt);
	assert_int_equal(rte_pktmbuf_data_len(m), 18);
	rte_pktmbuf_free(m);

	/* The TCI in the second segment: refused, unchanged. */
	m = two_segs(tagged, nt, 14);
	assert_int_equal(sw_vlan_pop(m), -EINVAL);
	frame_equals(m, tagged, nt);
	rte_pktmbuf_free(m);
	/* The Ethernet header split. */
	m = two_segs(tagged, nt, 10);
	assert_int_equal(sw_vlan_pop(m), -EINVAL);
	frame_equals(m, tagged, nt);
	rte_pktmbuf_free(m);
	/* An untagged frame whose header ends the first segment. */
	m = two_segs(plain, np, 14);
	assert_int_equal(sw_vlan_pop(m), SW_TCI_NONE);
	frame_equals(m, plain, np);
	rte_pktmbuf_free(m);
}

static void test_runt(void **state)
{
	uint8_t b[12] = { 0 };
	struct rte_mbuf *m = mbuf_of(b, 10);

	(void)state;
	assert_int_equal(sw_vlan_pop(m), SW_TCI_NONE);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 10);
	assert_int_equal(sw_vlan_push(m, 1), -EINVAL);
	rte_pktmbuf_free(m);
	/* Just the MAC addresses: a tag can still go after them. */
	m = mbuf_of(b, 12);
	assert_int_equal(sw_vlan_push(m, 1), 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 16);
	assert_int_equal(sw_vlan_pop(m), 1);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 12);
	rte_pktmbuf_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_trunk_no_native),
		cmocka_unit_test(test_trunk_native),
		cmocka_unit_test(test_default_port),
		cmocka_unit_test(test_pop_push_roundtrip),
		cmocka_unit_test(test_qinq_outer),
		cmocka_unit_test(test_pcp_preserved),
		cmocka_unit_test(test_push_no_headroom),
		cmocka_unit_test(test_shared_refused),
		cmocka_unit_test(test_multi_segment),
		cmocka_unit_test(test_runt),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
