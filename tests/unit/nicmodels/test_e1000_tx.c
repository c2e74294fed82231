/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000 TX: legacy descriptors (one and several per frame, IC checksum),
 * context + data descriptors with IP/TCP/UDP checksum offload (results
 * checked by recomputing them), TSO of an IPv4 and an IPv6 TCP frame
 * (lengths, IDs, sequence numbers, flags, checksums, payload), VLAN
 * insertion, short-frame padding, DD write-back, batches and ring wrap,
 * TXDW/TXQE and TIDV moderation, a backend that refuses frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e1000_harness.h"

#define TUCMD_TSE 0x04

static const uint8_t dst_mac[6] = { 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE };

static int setup(void **state)
{
	struct h *h = h_new();

	h_tx_setup(h, 64);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

static uint8_t *sent(struct h *h, unsigned int i, size_t *len)
{
	assert_true(i < h->fnd->nframes);
	*len = h->fnd->lens[i];
	return h->fnd->frames[i];
}

/* IPv4 + TCP frame as Linux hands it for checksum offload: IP checksum 0, TCP
 * checksum field holding the pseudo-header sum (with `with_len`). */
static size_t tcp4_partial(uint8_t *f, size_t plen, bool with_len, uint8_t flags)
{
	size_t len = tcp4_frame(f, dst_mac, plen);
	uint8_t *ip = f + 14, *tcp = ip + 20;

	put16(ip + 10, 0);
	tcp[13] = flags;
	put16(tcp + 16, fold16(sum16(0, ip + 12, 8) + 6 + (with_len ? 20 + (uint32_t)plen : 0)));
	return len;
}

static size_t udp4_partial(uint8_t *f, size_t plen)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	eth_hdr(f, dst_mac, 0x0800);
	memset(ip, 0, 28);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(28 + plen));
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, 0xC0A80001);
	put32(ip + 16, 0xC0A80002);
	put16(udp, 5000);
	put16(udp + 2, 6000);
	put16(udp + 4, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(0x30 + i);
	put16(udp + 6, fold16(sum16(0, ip + 12, 8) + 17 + 8 + (uint32_t)plen));
	return 14 + 28 + plen;
}

/* IPv6 + TCP header for TSO: payload length 0, TCP checksum = pseudo sum without length. */
static size_t tcp6_tso_frame(uint8_t *f, size_t plen)
{
	uint8_t *ip6 = f + 14, *tcp = ip6 + 40;

	eth_hdr(f, dst_mac, 0x86DD);
	memset(ip6, 0, 60);
	ip6[0] = 0x60;
	ip6[6] = 6;
	ip6[7] = 64;
	for (int i = 0; i < 16; i++) {
		ip6[8 + i] = (uint8_t)(0x20 + i);
		ip6[24 + i] = (uint8_t)(0x40 + i);
	}
	put16(tcp, 443);
	put16(tcp + 2, 50000);
	put32(tcp + 4, 0xFFFFFC00); /* wraps during the segments */
	tcp[12] = 5 << 4;
	tcp[13] = 0x19; /* FIN PSH ACK */
	put16(tcp + 14, 1000);
	put16(tcp + 16, fold16(sum16(0, ip6 + 8, 32) + 6));
	for (size_t i = 0; i < plen; i++)
		tcp[20 + i] = (uint8_t)(i * 13);
	return 14 + 40 + 20 + plen;
}

static void test_legacy_single(void **state)
{
	struct h *h = *state;
	uint8_t f[256], *s;
	size_t len = tcp4_frame(f, dst_mac, 100), slen;

	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h->fnd->nframes, 1);
	s = sent(h, 0, &slen);
	assert_int_equal(slen, len);
	assert_memory_equal(s, f, len);
	assert_int_equal(h_txd_status(h, 0) & 1, 1);
	assert_int_equal(rd(h, TDH), 1);
	assert_int_equal(rd(h, ICR), ICR_TXDW | ICR_TXQE);
	assert_int_equal(h_stats(h).tx_frames, 1);
	assert_int_equal(rd(h, GPTC), 1);
}

static void test_legacy_multi_desc(void **state)
{
	struct h *h = *state;
	uint8_t f[1600], *s;
	size_t len = tcp4_frame(f, dst_mac, 1000), slen;

	/* Three pieces at scattered addresses; RS on the last one only. */
	memcpy(h_ram(h, H_TX_BUF + 0x3000), f, 100);
	memcpy(h_ram(h, H_TX_BUF + 0x1000), f + 100, 500);
	memcpy(h_ram(h, H_TX_BUF + 0x5001), f + 600, len - 600);
	h_tx_legacy(h, 0, H_TX_BUF + 0x3000, 100, TXD_IFCS, 0, 0, 0);
	h_tx_legacy(h, 1, H_TX_BUF + 0x1000, 500, TXD_IFCS, 0, 0, 0);
	h_tx_legacy(h, 2, H_TX_BUF + 0x5001, (uint16_t)(len - 600), TXD_EOP | TXD_IFCS | TXD_RS, 0,
		    0, 0);
	wr(h, TDT, 2);
	assert_int_equal(h->fnd->nframes, 0); /* no EOP yet */
	assert_int_equal(rd(h, TDH), 2);
	wr(h, TDT, 3);
	assert_int_equal(h->fnd->nframes, 1);
	s = sent(h, 0, &slen);
	assert_int_equal(slen, len);
	assert_memory_equal(s, f, len);
	assert_int_equal(h_txd_status(h, 0), 0);
	assert_int_equal(h_txd_status(h, 1), 0);
	assert_int_equal(h_txd_status(h, 2), 1);
}

static void test_legacy_insert_checksum(void **state)
{
	struct h *h = *state;
	uint8_t f[256], *s;
	size_t len = tcp4_partial(f, 77, true, 0x18), slen;

	put16(f + 24, (uint16_t)~fold16(sum16(0, f + 14, 20))); /* IP header done by "software" */
	memcpy(h_ram(h, H_TX_BUF), f, 40);
	memcpy(h_ram(h, H_TX_BUF + 0x800), f + 40, len - 40);
	/* CSS in the first descriptor, CSO and IC with EOP. */
	h_tx_legacy(h, 0, H_TX_BUF, 40, TXD_IFCS, 0, 34, 0);
	h_tx_legacy(h, 1, H_TX_BUF + 0x800, (uint16_t)(len - 40), TXD_EOP | TXD_IFCS | TXD_IC, 50,
		    0, 0);
	wr(h, TDT, 2);
	s = sent(h, 0, &slen);
	assert_int_equal(slen, len);
	assert_true(ip4_csum_ok(s + 14));
	assert_true(l4_csum4_ok(s + 14));
	assert_memory_equal(s, f, 50);
	assert_memory_equal(s + 52, f + 52, len - 52);
}

static void test_context_checksum_offload(void **state)
{
	struct h *h = *state;
	uint8_t f[512], *s;
	size_t len = tcp4_partial(f, 300, true, 0x18), slen;

	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_ctx(h, 0, 14, 24, 33, 34, 50, 0, 0, TUCMD_TCP | TUCMD_IP, 0, 0);
	h_tx_data(h, 1, H_TX_BUF, 60, TXD_IFCS, POPTS_IXSM | POPTS_TXSM, 0);
	h_tx_data(h, 2, H_TX_BUF + 60, (uint32_t)len - 60, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0);
	wr(h, TDT, 3);
	s = sent(h, 0, &slen);
	assert_int_equal(slen, len);
	assert_true(ip4_csum_ok(s + 14));
	assert_true(l4_csum4_ok(s + 14));
	assert_memory_equal(s + 54, f + 54, len - 54);

	/* The context stays: a second frame needs no new context descriptor. */
	f[100] ^= 0x5A;
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_data(h, 3, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS | TXD_RS,
		  POPTS_IXSM | POPTS_TXSM, 0);
	wr(h, TDT, 4);
	s = sent(h, 1, &slen);
	assert_true(ip4_csum_ok(s + 14));
	assert_true(l4_csum4_ok(s + 14));
	assert_int_equal(s[100], f[100]);

	/* UDP through a new context. */
	len = udp4_partial(f, 123);
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_ctx(h, 4, 14, 24, 33, 34, 40, 0, 0, TUCMD_IP, 0, 0);
	h_tx_data(h, 5, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS | TXD_RS,
		  POPTS_IXSM | POPTS_TXSM, 0);
	wr(h, TDT, 6);
	s = sent(h, 2, &slen);
	assert_int_equal(slen, len);
	assert_true(ip4_csum_ok(s + 14));
	assert_true(l4_csum4_ok(s + 14));
	assert_int_equal(h_stats(h).guest_errors, 0);
}

static void test_tso_ipv4(void **state)
{
	struct h *h = *state;
	static uint8_t f[8192];
	const size_t plen = 4000, mss = 1460;
	size_t len = tcp4_partial(f, plen, false, 0x19 /* FIN PSH ACK */), off = 0;

	put16(f + 14 + 2, 0); /* Linux zeroes tot_len for TSO */
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_ctx(h, 0, 14, 24, 33, 34, 50, 0, (uint32_t)plen, TUCMD_TCP | TUCMD_IP | TUCMD_TSE, 54,
		 (uint16_t)mss);
	h_tx_data(h, 1, H_TX_BUF, 54, TXD_IFCS | TXD_TSE, POPTS_IXSM | POPTS_TXSM, 0);
	h_tx_data(h, 2, H_TX_BUF + 54, 2000, TXD_IFCS | TXD_TSE, POPTS_IXSM | POPTS_TXSM, 0);
	h_tx_data(h, 3, H_TX_BUF + 2054, (uint32_t)(len - 2054),
		  TXD_EOP | TXD_IFCS | TXD_TSE | TXD_RS, POPTS_IXSM | POPTS_TXSM, 0);
	wr(h, TDT, 4);
	assert_int_equal(h->fnd->nframes, 3);
	for (unsigned int i = 0; i < 3; i++) {
		size_t slen, chunk = i < 2 ? mss : plen - 2 * mss;
		uint8_t *s = sent(h, i, &slen), *ip = s + 14, *tcp = ip + 20;

		assert_int_equal(slen, 54 + chunk);
		assert_int_equal(be16(ip + 2), 40 + chunk);
		assert_int_equal(be16(ip + 4), 0x1234 + i);
		assert_true(ip4_csum_ok(ip));
		assert_int_equal(be32(tcp + 4), 1000 + off);
		/* FIN and PSH only on the last segment. */
		assert_int_equal(tcp[13], i < 2 ? 0x10 : 0x19);
		assert_true(l4_csum4_ok(ip));
		assert_memory_equal(tcp + 20, f + 54 + off, chunk);
		assert_memory_equal(s, f, 14);
		off += chunk;
	}
	assert_int_equal(off, plen);
	assert_int_equal(rd(h, TSCTC), 1);
	assert_int_equal(h_stats(h).tx_frames, 3);
	assert_int_equal(h_txd_status(h, 3) & 1, 1);
	assert_int_equal(h_stats(h).guest_errors, 0);
}

static void test_tso_ipv6(void **state)
{
	struct h *h = *state;
	static uint8_t f[8192];
	const size_t plen = 2500, mss = 1000, hdr = 74;
	size_t len = tcp6_tso_frame(f, plen), off = 0;

	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_ctx(h, 0, 14, 0, 0, 54, 70, 0, (uint32_t)plen, TUCMD_TCP | TUCMD_TSE, (uint8_t)hdr,
		 (uint16_t)mss);
	h_tx_data(h, 1, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS | TXD_TSE | TXD_RS, POPTS_TXSM,
		  0);
	wr(h, TDT, 2);
	assert_int_equal(h->fnd->nframes, 3);
	for (unsigned int i = 0; i < 3; i++) {
		size_t slen, chunk = i < 2 ? mss : plen - 2 * mss;
		uint8_t *s = sent(h, i, &slen), *ip6 = s + 14, *tcp = ip6 + 40;

		assert_int_equal(slen, hdr + chunk);
		assert_int_equal(be16(ip6 + 4), 20 + chunk);
		assert_int_equal(be32(tcp + 4), (uint32_t)(0xFFFFFC00u + off));
		assert_int_equal(tcp[13], i < 2 ? 0x10 : 0x19);
		assert_true(l4_csum6_ok(ip6));
		assert_memory_equal(tcp + 20, f + hdr + off, chunk);
		assert_memory_equal(ip6 + 6, f + 14 + 6, 34); /* next header .. addresses */
		off += chunk;
	}
}

static void test_vlan_insert(void **state)
{
	struct h *h = *state;
	uint8_t f[256], *s;
	size_t len = tcp4_frame(f, dst_mac, 60), slen;

	memcpy(h_ram(h, H_TX_BUF), f, len);
	/* VLE without CTRL.VME: no tag. */
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_VLE, 0, 0, 0x2064);
	wr(h, TDT, 1);
	s = sent(h, 0, &slen);
	assert_int_equal(slen, len);
	/* With it: 802.1Q tag (VET) after the addresses. */
	wr(h, CTRL, rd(h, CTRL) | CTRL_VME);
	h_tx_legacy(h, 1, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_VLE, 0, 0, 0x2064);
	wr(h, TDT, 2);
	s = sent(h, 1, &slen);
	assert_int_equal(slen, len + 4);
	assert_memory_equal(s, f, 12);
	assert_int_equal(be16(s + 12), 0x8100);
	assert_int_equal(be16(s + 14), 0x2064);
	assert_memory_equal(s + 16, f + 12, len - 12);
	/* Extended data descriptors: VLE and special from the EOP descriptor. */
	h_tx_data(h, 2, H_TX_BUF, 30, TXD_IFCS, 0, 0);
	h_tx_data(h, 3, H_TX_BUF + 30, (uint32_t)len - 30, TXD_EOP | TXD_IFCS | TXD_VLE, 0, 0x0FFF);
	wr(h, TDT, 4);
	s = sent(h, 2, &slen);
	assert_int_equal(slen, len + 4);
	assert_int_equal(be16(s + 14), 0x0FFF);
}

static void test_tso_with_vlan(void **state)
{
	struct h *h = *state;
	static uint8_t f[4096];
	size_t len = tcp4_partial(f, 1000, false, 0x10);

	wr(h, CTRL, rd(h, CTRL) | CTRL_VME);
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_ctx(h, 0, 14, 24, 33, 34, 50, 0, 1000, TUCMD_TCP | TUCMD_IP | TUCMD_TSE, 54, 400);
	h_tx_data(h, 1, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS | TXD_TSE | TXD_VLE,
		  POPTS_IXSM | POPTS_TXSM, 7);
	wr(h, TDT, 2);
	assert_int_equal(h->fnd->nframes, 3);
	for (unsigned int i = 0; i < 3; i++) {
		size_t slen;
		uint8_t *s = sent(h, i, &slen);

		assert_int_equal(be16(s + 12), 0x8100);
		assert_int_equal(be16(s + 14), 7);
		assert_true(ip4_csum_ok(s + 18));
		assert_true(l4_csum4_ok(s + 18));
	}
}

static void test_padding(void **state)
{
	struct h *h = *state;
	uint8_t f[64], *s;
	static const uint8_t zeros[18];
	size_t slen;

	eth_hdr(f, dst_mac, 0x0806);
	memset(f + 14, 0x77, 28);
	memcpy(h_ram(h, H_TX_BUF), f, 42);
	h_tx_legacy(h, 0, H_TX_BUF, 42, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 1);
	s = sent(h, 0, &slen);
	assert_int_equal(slen, 60);
	assert_memory_equal(s, f, 42);
	assert_memory_equal(s + 42, zeros, 18);
	/* Without TCTL.PSP the frame goes as it is. */
	wr(h, TCTL, TCTL_EN);
	h_tx_legacy(h, 1, H_TX_BUF, 42, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 2);
	s = sent(h, 1, &slen);
	assert_int_equal(slen, 42);
}

static void test_batch_and_wrap(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 20);
	uint64_t doorbells;

	h_tx_setup(h, 8);
	doorbells = h_stats(h).tx_tdt_writes;
	memcpy(h_ram(h, H_TX_BUF), f, len);
	for (uint32_t i = 0; i < 7; i++)
		h_tx_legacy(h, i, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 7);
	assert_int_equal(h->fnd->nframes, 7);
	assert_int_equal(h_stats(h).tx_tdt_writes, doorbells + 1);
	assert_int_equal(rd(h, TDH), 7);
	/* Across the end of the ring: 7, 0, 1, 2. */
	for (uint32_t i = 0; i < 8; i++)
		h_txd(h, i)[12] = 0;
	h_tx_legacy(h, 7, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	for (uint32_t i = 0; i < 3; i++)
		h_tx_legacy(h, i, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 3);
	assert_int_equal(h->fnd->nframes, 11);
	assert_int_equal(rd(h, TDH), 3);
	assert_int_equal(h_txd_status(h, 7), 1);
	assert_int_equal(h_txd_status(h, 2), 1);
	assert_int_equal(h_txd_status(h, 3), 0);
}

static void test_null_descriptor_and_context_rs(void **state)
{
	struct h *h = *state;

	/* A context descriptor with RS and a null EOP descriptor: DD, nothing sent. */
	h_tx_ctx(h, 0, 14, 24, 33, 34, 50, 0, 0, TUCMD_TCP | TUCMD_IP | 0x08 /* RS */, 0, 0);
	h_tx_legacy(h, 1, 0, 0, TXD_EOP | TXD_RS, 0, 0, 0);
	wr(h, TDT, 2);
	assert_int_equal(h->fnd->nframes, 0);
	assert_int_equal(h_txd_status(h, 0), 1);
	assert_int_equal(h_txd_status(h, 1), 1);
	assert_int_equal(h_stats(h).guest_errors, 0);
}

static void test_interrupt_causes(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 20);

	memcpy(h_ram(h, H_TX_BUF), f, len);
	wr(h, IMS, ICR_TXDW);
	/* No RS: no TXDW, only TXQE (masked). */
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h->level, 0);
	assert_int_equal(rd(h, ICR), ICR_TXQE);
	/* RS: TXDW raises the line. */
	h_tx_legacy(h, 1, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 2);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR), ICR_TXDW | ICR_TXQE);
	assert_int_equal(h->level, 0);
}

static void test_tidv_moderation(void **state)
{
	struct h *h = h_new_opts(true, false);
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 20);

	h_tx_setup(h, 16);
	memcpy(h_ram(h, H_TX_BUF), f, len);
	wr(h, IMS, ICR_TXDW);
	wr(h, TIDV, 10); /* 10.24 us */
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS | TXD_IDE, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(h->level, 0);
	h_advance(h, 10000);
	assert_int_equal(h->level, 0);
	h_advance(h, 300);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR) & ICR_TXDW, ICR_TXDW);
	/* Without IDE: at once. */
	h_tx_legacy(h, 1, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 2);
	assert_int_equal(h->level, 1);
	h_free(h);
}

static void test_backend_refuses(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 20);

	memcpy(h_ram(h, H_TX_BUF), f, len);
	h->fnd->send_ret = -EAGAIN;
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h_stats(h).tx_dropped, 1);
	assert_int_equal(h_stats(h).tx_frames, 0);
	assert_int_equal(h_txd_status(h, 0), 1);
	assert_int_equal(rd(h, TDH), 1);
	h->fnd->send_ret = 0;
	h_tx_legacy(h, 1, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 2);
	assert_int_equal(h_stats(h).tx_frames, 1);
}

static void test_tx_disabled(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 20);

	wr(h, TCTL, 0);
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h->fnd->nframes, 0);
	assert_int_equal(rd(h, TDH), 0);
	/* Enabling the transmitter sends what is pending. */
	wr(h, TCTL, TCTL_EN | TCTL_PSP);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(rd(h, TDH), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_legacy_single, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_multi_desc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_insert_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_checksum_offload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tso_ipv4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tso_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tso_with_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_padding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_descriptor_and_context_rs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_causes, setup, teardown),
		cmocka_unit_test(test_tidv_moderation),
		cmocka_unit_test_setup_teardown(test_backend_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_disabled, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
