/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000 against a hostile guest: rings outside RAM, bad ring lengths, heads
 * and tails beyond the ring, buffers outside RAM, zero-length and oversized
 * descriptors, TSO with bogus header lengths, context descriptors out of
 * order (TSE without a context, a legacy descriptor after a TSO context:
 * CVE-2021-20257), descriptor chains without EOP longer than the ring,
 * unknown descriptor types, bad checksum offsets, oversized frames from the
 * backend, and a deterministic soup of random register writes and RAM.
 * Each case is counted in guest_errors (where it is the guest's doing), the
 * frame is dropped, every call returns, and the device works afterwards.
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

	h_tx_setup(h, 16);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

static uint64_t errors(struct h *h)
{
	return h_stats(h).guest_errors;
}

/* A good 100-byte frame in descriptor i: proves the device still works. */
static void send_good(struct h *h, uint32_t i)
{
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 46);
	unsigned int before = h->fnd->nframes;
	uint32_t n = rd(h, TDLEN) / 16;

	memcpy(h_ram(h, H_TX_BUF + 0x8000), f, len);
	h_tx_legacy(h, i, H_TX_BUF + 0x8000, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, (i + 1) % n);
	assert_int_equal(h->fnd->nframes, before + 1);
	assert_int_equal(h->fnd->lens[before], len);
}

static void test_tx_ring_outside_ram(void **state)
{
	struct h *h = *state;
	uint64_t e0 = errors(h);

	wr(h, TDBAL, 0x80000000);
	wr(h, TDT, 3);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(rd(h, TDH), 0); /* the queue stops where it failed */
	assert_int_equal(h->fnd->nframes, 0);
	/* A ring that starts in RAM and runs out of it stops at the edge. */
	wr(h, TDBAL, H_RAM_SIZE - 32);
	h_tx_legacy(h, 0, 0, 0, 0, 0, 0, 0);
	memset(h_ram(h, H_RAM_SIZE - 32), 0, 32);
	wr(h, TDT, 5);
	assert_int_equal(rd(h, TDH), 2);
	assert_int_equal(errors(h), e0 + 2);
	/* A 64-bit base that wraps around. */
	wr(h, TDBAH, 0xFFFFFFFF);
	wr(h, TDBAL, 0xFFFFFFF0);
	wr(h, TDH, 0);
	wr(h, TDT, 4);
	assert_int_equal(errors(h), e0 + 3);
	/* Fixed by the guest: works again. */
	wr(h, TDBAH, 0);
	wr(h, TDBAL, H_TX_RING);
	wr(h, TDH, 0);
	wr(h, TDT, 0);
	send_good(h, 0);
}

static void test_rx_ring_outside_ram(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, h_mac, 46);
	uint64_t e0;

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	e0 = errors(h);
	wr(h, RDBAL, 0xF0000000);
	assert_int_equal(h_deliver(h, f, len), -EFAULT);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(rd(h, RDH), 0);
	/* Buffer address outside RAM: nothing written, RDH unchanged. */
	wr(h, RDBAL, H_RX_RING);
	wr32(h_rxd(h, 0), 0, 0xFFFFF000);
	wr32(h_rxd(h, 0), 4, 0x7);
	assert_int_equal(h_deliver(h, f, len), -EFAULT);
	assert_int_equal(errors(h), e0 + 2);
	assert_int_equal(rd(h, RDH), 0);
	assert_int_equal(h_rxd(h, 0)[12], 0);
	/* A buffer that starts in RAM and ends outside it. */
	wr32(h_rxd(h, 0), 0, H_RAM_SIZE - 16);
	wr32(h_rxd(h, 0), 4, 0);
	assert_int_equal(h_deliver(h, f, len), -EFAULT);
	/* Fixed: works. */
	wr32(h_rxd(h, 0), 0, H_RX_BUF);
	assert_int_equal(h_deliver(h, f, len), (ssize_t)len);
}

static void test_bad_ring_lengths(void **state)
{
	struct h *h = *state;
	uint64_t e0 = errors(h);

	/* Not a multiple of 128: counted, the low bits dropped. */
	wr(h, TDLEN, 100);
	assert_int_equal(rd(h, TDLEN), 0);
	assert_int_equal(errors(h), e0 + 1);
	/* A zero-length ring with TDT != TDH: refused, no loop. */
	wr(h, TDT, 5);
	assert_int_equal(errors(h), e0 + 2);
	assert_int_equal(rd(h, TDH), 0);
	/* RX: a zero-length ring has no room (the backend keeps the frame). */
	{
		uint8_t f[128];
		size_t len = tcp4_frame(f, h_mac, 46);

		h_rx_setup(h, 8, 7, RCTL_SECRC);
		wr(h, RDLEN, 0);
		assert_int_equal(h_deliver(h, f, len), 0);
		wr(h, RDLEN, 8 * 16 + 64);
		assert_int_equal(rd(h, RDLEN), 8 * 16);
		assert_int_equal(h_deliver(h, f, len), (ssize_t)len);
	}
	wr(h, TDLEN, 16 * 16);
	wr(h, TDH, 0);
	wr(h, TDT, 0);
	send_good(h, 0);
}

static void test_head_tail_beyond_ring(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, h_mac, 46);
	uint64_t e0 = errors(h);

	wr(h, TDT, 20); /* ring of 16 */
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(rd(h, TDH), 0);
	assert_int_equal(h->fnd->nframes, 0);
	wr(h, TDH, 0xFFFF);
	wr(h, TDT, 3);
	assert_int_equal(errors(h), e0 + 2);
	assert_int_equal(rd(h, TDH), 0xFFFF);

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	wr(h, RDT, 100);
	assert_int_equal(h_deliver(h, f, len), -EINVAL);
	wr(h, RDT, 7);
	wr(h, RDH, 9);
	assert_int_equal(h_deliver(h, f, len), -EINVAL);
	assert_int_equal(errors(h), e0 + 4);
	wr(h, RDH, 0);
	assert_int_equal(h_deliver(h, f, len), (ssize_t)len);

	wr(h, TDH, 0);
	wr(h, TDT, 0);
	send_good(h, 0);
}

static void test_tx_buffer_outside_ram(void **state)
{
	struct h *h = *state;
	uint64_t e0 = errors(h);

	h_tx_legacy(h, 0, 0x7FFFFFFF0000ull, 100, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	h_tx_legacy(h, 1, H_RAM_SIZE - 50, 100, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 2);
	assert_int_equal(h->fnd->nframes, 0);
	assert_int_equal(errors(h), e0 + 2);
	/* The descriptors are still completed: the guest gets them back. */
	assert_int_equal(h_txd_status(h, 0), 1);
	assert_int_equal(h_txd_status(h, 1), 1);
	send_good(h, 2);
}

static void test_zero_and_oversized_descriptors(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 46);
	uint64_t e0 = errors(h);

	memcpy(h_ram(h, H_TX_BUF), f, len);
	/* Zero-length descriptors inside a frame transfer nothing (as the manual says). */
	h_tx_legacy(h, 0, H_TX_BUF, 50, TXD_IFCS, 0, 0, 0);
	h_tx_legacy(h, 1, 0xDEAD0000, 0, TXD_IFCS, 0, 0, 0);
	h_tx_legacy(h, 2, H_TX_BUF + 50, (uint16_t)(len - 50), TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 3);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(h->fnd->lens[0], len);
	assert_int_equal(errors(h), e0);
	/* A frame shorter than an Ethernet header. */
	h_tx_legacy(h, 3, H_TX_BUF, 10, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 4);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(errors(h), e0 + 1);
	/* One legacy descriptor over 16 KiB. */
	h_tx_legacy(h, 4, H_TX_BUF, 20000, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 5);
	assert_int_equal(errors(h), e0 + 2);
	/* A data descriptor of 1 MiB - 1. */
	h_tx_data(h, 5, H_TX_BUF, 0xFFFFF, TXD_EOP | TXD_IFCS, 0, 0);
	wr(h, TDT, 6);
	assert_int_equal(errors(h), e0 + 3);
	/* Three 8000-byte descriptors: a 24000-byte non-TSO frame. */
	for (uint32_t i = 6; i < 9; i++)
		h_tx_legacy(h, i, H_TX_BUF, 8000, i == 8 ? TXD_EOP | TXD_IFCS : TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 9);
	assert_int_equal(errors(h), e0 + 4);
	assert_int_equal(h->fnd->nframes, 1);
	send_good(h, 9);
}

/* Sets a TSO context (IPv4/TCP) and a 2000-byte frame in one data descriptor. */
static void tso_case(struct h *h, uint32_t *i, uint8_t hdrlen, uint16_t mss, uint8_t tucss,
		     uint32_t frame_len)
{
	uint8_t f[2048];

	(void)tcp4_frame(f, dst_mac, 2000 - 54);
	memcpy(h_ram(h, H_TX_BUF), f, sizeof(f));
	h_tx_ctx(h, *i, 14, 24, 33, tucss, (uint8_t)(tucss + 16), 0, frame_len,
		 TUCMD_TCP | TUCMD_IP | TUCMD_TSE, hdrlen, mss);
	h_tx_data(h, *i + 1, H_TX_BUF, frame_len, TXD_EOP | TXD_IFCS | TXD_TSE | TXD_RS,
		  POPTS_IXSM | POPTS_TXSM, 0);
	*i = (*i + 2) % (rd(h, TDLEN) / 16);
	wr(h, TDT, *i);
}

static void test_tso_bogus_headers(void **state)
{
	struct h *h = *state;
	uint64_t e0 = errors(h);
	uint32_t i = 0;

	tso_case(h, &i, 54, 0, 34, 2000);     /* MSS 0 */
	tso_case(h, &i, 0, 1460, 34, 2000);   /* HDRLEN 0 */
	tso_case(h, &i, 200, 1460, 34, 100);  /* HDRLEN over the frame */
	tso_case(h, &i, 54, 1460, 34, 54);    /* no payload */
	tso_case(h, &i, 54, 16380, 34, 2000); /* segment over 16 KiB */
	tso_case(h, &i, 40, 1460, 34, 2000);  /* TCP header not inside HDRLEN */
	tso_case(h, &i, 54, 1460, 250, 2000); /* TUCSS far out */
	assert_int_equal(errors(h), e0 + 7);
	assert_int_equal(h->fnd->nframes, 0);
	assert_int_equal(rd(h, TDH), i);
	/* A sane one still segments. */
	tso_case(h, &i, 54, 1000, 34, 2000);
	assert_int_equal(h->fnd->nframes, 2);
	assert_int_equal(errors(h), e0 + 7);
}

static void test_tso_over_64k(void **state)
{
	struct h *h = *state;
	uint64_t e0 = errors(h);

	/* 5 x 16000 bytes with TSE: over 64 KiB plus header. */
	h_tx_ctx(h, 0, 14, 24, 33, 34, 50, 0, 80000, TUCMD_TCP | TUCMD_IP | TUCMD_TSE, 54, 1460);
	for (uint32_t i = 1; i <= 5; i++)
		h_tx_data(h, i, H_TX_BUF, 16000, (i == 5 ? TXD_EOP : 0) | TXD_IFCS | TXD_TSE,
			  POPTS_IXSM | POPTS_TXSM, 0);
	wr(h, TDT, 6);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(h->fnd->nframes, 0);
	send_good(h, 6);
}

static void test_tx_budget(void **state)
{
	struct h *h = *state;
	uint8_t f[2048];
	uint64_t e0;

	/* 40 TSO frames of 1946 payload bytes at MSS 1: 77840 segments for one doorbell. */
	h_tx_setup(h, 64);
	e0 = errors(h);
	(void)tcp4_frame(f, dst_mac, 2000 - 54);
	memcpy(h_ram(h, H_TX_BUF), f, 2000);
	h_tx_ctx(h, 0, 14, 24, 33, 34, 50, 0, 1946, TUCMD_TCP | TUCMD_IP | TUCMD_TSE, 54, 1);
	for (uint32_t i = 1; i <= 40; i++)
		h_tx_data(h, i, H_TX_BUF, 2000, TXD_EOP | TXD_IFCS | TXD_TSE | TXD_RS, POPTS_TXSM,
			  0);
	wr(h, TDT, 41);
	/* Cut off after the frame that crossed 65536 sends (34 x 1946). */
	assert_int_equal(rd(h, TDH), 35);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(h_stats(h).tx_frames + h_stats(h).tx_dropped, 34 * 1946);
	/* The next doorbell sends the rest. */
	wr(h, TDT, 41);
	assert_int_equal(rd(h, TDH), 41);
	assert_int_equal(h_stats(h).tx_frames + h_stats(h).tx_dropped, 40 * 1946);
	assert_int_equal(errors(h), e0 + 1);
}

static void test_context_out_of_order(void **state)
{
	struct h *h = *state;
	uint8_t f[2048];
	size_t len = tcp4_frame(f, dst_mac, 1000);
	uint64_t e0 = errors(h);

	memcpy(h_ram(h, H_TX_BUF), f, len);
	/* TSE data descriptor with no TSO context ever loaded. */
	h_tx_data(h, 0, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS | TXD_TSE, POPTS_TXSM, 0);
	wr(h, TDT, 1);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(h->fnd->nframes, 0);
	/* Checksum offload with no checksum context. */
	h_tx_data(h, 1, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS, POPTS_TXSM, 0);
	wr(h, TDT, 2);
	assert_int_equal(errors(h), e0 + 2);
	assert_int_equal(h->fnd->nframes, 0);

	/*
	 * CVE-2021-20257: a TSO context (HDRLEN 54, MSS 1460), then a legacy
	 * descriptor. The legacy frame is sent as it is: nothing of the TSO
	 * context applies, no length underflows, the loop ends.
	 */
	h_tx_ctx(h, 2, 14, 24, 33, 34, 50, 0, 0, TUCMD_TCP | TUCMD_IP | TUCMD_TSE, 54, 1460);
	h_tx_legacy(h, 3, H_TX_BUF, 30, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 4);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(h->fnd->lens[0], 60); /* 30 bytes, padded */
	assert_int_equal(errors(h), e0 + 2);
	/* Same with HDRLEN larger than the legacy frame and MSS 1. */
	h_tx_ctx(h, 4, 14, 24, 33, 34, 50, 0, 0, TUCMD_TCP | TUCMD_IP | TUCMD_TSE, 255, 1);
	h_tx_legacy(h, 5, H_TX_BUF, 100, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 6);
	assert_int_equal(h->fnd->nframes, 2);
	assert_int_equal(h->fnd->lens[1], 100);

	/* A legacy descriptor in the middle of a TSO data chain: frame dropped. */
	h_tx_data(h, 6, H_TX_BUF, 54, TXD_IFCS | TXD_TSE, POPTS_TXSM, 0);
	h_tx_legacy(h, 7, H_TX_BUF, 500, TXD_IFCS, 0, 0, 0);
	h_tx_data(h, 8, H_TX_BUF + 54, 500, TXD_EOP | TXD_IFCS | TXD_TSE, 0, 0);
	wr(h, TDT, 9);
	assert_int_equal(h->fnd->nframes, 2);
	assert_int_equal(errors(h), e0 + 3);
	/* TSE switched off half-way through a frame. */
	h_tx_data(h, 9, H_TX_BUF, 54, TXD_IFCS | TXD_TSE, POPTS_TXSM, 0);
	h_tx_data(h, 10, H_TX_BUF + 54, 500, TXD_EOP | TXD_IFCS, 0, 0);
	wr(h, TDT, 11);
	assert_int_equal(errors(h), e0 + 4);
	/* A context descriptor inside a frame. */
	h_tx_data(h, 11, H_TX_BUF, 54, TXD_IFCS, 0, 0);
	h_tx_ctx(h, 12, 14, 24, 33, 34, 50, 0, 0, TUCMD_TCP | TUCMD_IP, 0, 0);
	h_tx_data(h, 13, H_TX_BUF + 54, 500, TXD_EOP | TXD_IFCS, 0, 0);
	wr(h, TDT, 14);
	assert_int_equal(errors(h), e0 + 5);
	assert_int_equal(h->fnd->nframes, 2);
	send_good(h, 14);
}

static void test_chain_without_eop(void **state)
{
	struct h *h = *state;
	uint64_t e0;

	h_tx_setup(h, 8);
	e0 = errors(h);
	/* 7 descriptors without EOP, then 3 more after the wrap: 10 > 8. */
	for (uint32_t i = 0; i < 8; i++)
		h_tx_legacy(h, i, H_TX_BUF, 100, TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 7);
	assert_int_equal(rd(h, TDH), 7);
	assert_int_equal(errors(h), e0);
	wr(h, TDT, 2);
	assert_int_equal(rd(h, TDH), 2);
	assert_int_equal(errors(h), e0 + 1);
	/* The EOP that finally comes ends the refused frame: nothing sent. */
	h_tx_legacy(h, 2, H_TX_BUF, 100, TXD_EOP | TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 3);
	assert_int_equal(h->fnd->nframes, 0);
	assert_int_equal(errors(h), e0 + 1);
	send_good(h, 3);
	/* A full ring of chained descriptors in one doorbell ends after one pass. */
	for (uint32_t i = 0; i < 8; i++)
		h_tx_legacy(h, i, H_TX_BUF, 100, TXD_IFCS, 0, 0, 0);
	wr(h, TDT, 3); /* TDH 4 -> 3: seven descriptors */
	assert_int_equal(rd(h, TDH), 3);
}

static void test_unknown_descriptor_type(void **state)
{
	struct h *h = *state;
	uint64_t e0 = errors(h);
	uint8_t *d = h_txd(h, 0);

	memset(d, 0, 16);
	wr32(d, 8, 100 | 7u << 20 | (uint32_t)(TXD_DEXT | TXD_EOP | TXD_RS) << 24);
	wr(h, TDT, 1);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(h_txd_status(h, 0), 1);
	send_good(h, 1);
}

static void test_bad_checksum_offsets(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, dst_mac, 20);
	uint64_t e0 = errors(h);

	memcpy(h_ram(h, H_TX_BUF), f, len);
	/* IC with CSO past the end: not inserted, frame sent unchanged. */
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_IC, 250, 34, 0);
	wr(h, TDT, 1);
	assert_int_equal(errors(h), e0 + 1);
	assert_int_equal(h->fnd->nframes, 1);
	assert_memory_equal(h->fnd->frames[0], f, len);
	/* Context offsets past the end. */
	h_tx_ctx(h, 1, 200, 220, 0, 240, 250, 0, 0, TUCMD_TCP | TUCMD_IP, 0, 0);
	h_tx_data(h, 2, H_TX_BUF, (uint32_t)len, TXD_EOP | TXD_IFCS, POPTS_IXSM | POPTS_TXSM, 0);
	wr(h, TDT, 3);
	assert_int_equal(errors(h), e0 + 3);
	assert_int_equal(h->fnd->nframes, 2);
}

static void test_rx_oversized_from_backend(void **state)
{
	struct h *h = *state;
	static uint8_t big[70000];
	struct iovec iov[64];
	uint8_t f[128];

	h_rx_setup(h, 8, 7, RCTL_SECRC | RCTL_LPE | RCTL_UPE);
	eth_hdr(big, h_mac, 0x88B5);
	assert_int_equal(h_deliver(h, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(h_deliver(h, big, 16385), -EMSGSIZE);
	/* Many small pieces adding up to a legal frame. */
	for (int i = 0; i < 64; i++)
		iov[i] = (struct iovec){ .iov_base = big + 16 * i, .iov_len = 16 };
	assert_int_equal(netdev_deliver(h->nd, iov, 64), 1024);
	assert_int_equal(rd16(h_rxd(h, 0), 8), 1024);
	assert_int_equal(errors(h), 0);
	assert_true(h_deliver(h, f, tcp4_frame(f, h_mac, 46)) > 0);
}

/* xorshift64: reproducible noise. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_soup(void **state)
{
	static const uint32_t regs[] = { CTRL, EECD,   EERD,  MDIC,   ICR,    ITR,   ICS, IMS,
					 IMC,  RCTL,   TCTL,  RDBAL,  RDBAH,  RDLEN, RDH, RDT,
					 RDTR, RADV,   TDBAL, TDBAH,  TDLEN,  TDH,   TDT, TIDV,
					 TADV, RXCSUM, VET,   RAL(0), RAH(0), MTA,   VFTA };
	struct h *h = h_new_opts(true, false);
	uint64_t s = 0x9E3779B97F4A7C15ull;
	uint8_t f[2048];

	/* Rings and buffers in the first 256 KiB, filled with noise. */
	for (int round = 0; round < 20000; round++) {
		uint64_t r = rnd(&s);

		switch (r % 8) {
		case 0:
		case 1:
		case 2: {
			uint32_t off = regs[(r >> 8) % ARRAY_SIZE(regs)], v = (uint32_t)(r >> 32);

			if (off == RDBAL || off == TDBAL)
				v &= 0x3FFFF;
			if (off == RDLEN || off == TDLEN)
				v &= 0x1FFF;
			if (off == RDBAH || off == TDBAH)
				v = (r >> 40) % 16 == 0 ? v : 0;
			wr(h, off, v);
			break;
		}
		case 3: (void)rd(h, regs[(r >> 8) % ARRAY_SIZE(regs)]); break;
		case 4:
		case 5: {
			uint64_t *p =
				(uint64_t *)(void *)h_ram(h, (r >> 8) % (256 * 1024 - 8) & ~7ull);

			*p = rnd(&s);
			break;
		}
		case 6: {
			size_t len = 14 + (r >> 8) % 2000;

			for (size_t i = 0; i < len; i++)
				f[i] = (uint8_t)rnd(&s);
			if (r & 0x10000)
				memcpy(f, h_mac, 6);
			(void)h_deliver(h, f, len);
			break;
		}
		default: h_advance(h, (r >> 8) % 200000); break;
		}
	}
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tx_ring_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_ring_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ring_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_tail_beyond_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_buffer_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_and_oversized_descriptors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tso_bogus_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tso_over_64k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_without_eop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_descriptor_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_oversized_from_backend, setup, teardown),
		cmocka_unit_test(test_random_soup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
