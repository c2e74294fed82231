/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000 RX: address filters (RAL/RAH exact match, MTA hash per RCTL.MO,
 * broadcast, promiscuous), VLAN filter table and tag stripping, the ring
 * room check and the backend resume, frames over several descriptors with
 * LPE, FCS append, short-frame padding, checksum status, RXDMT0, and
 * RDTR/RADV moderation through the pure function, an injected clock and the
 * event loop's timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e1000_harness.h"

#define RCTL_RDMTS_HALF (0u << 8)
#define RDTR_FPD (1u << 31)

static const uint8_t other_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mdns[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

static int setup(void **state)
{
	*state = h_new();
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

/* A frame of `len` bytes to `dst` with an experimental EtherType and a byte pattern. */
static size_t frame(uint8_t *f, const uint8_t dst[6], size_t len)
{
	eth_hdr(f, dst, 0x88B5);
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7);
	return len;
}

/* The same with an 802.1Q tag carrying `tci`. */
static size_t tagged_frame(uint8_t *f, const uint8_t dst[6], uint16_t tci, size_t len)
{
	frame(f, dst, len);
	put16(f + 12, 0x8100);
	put16(f + 14, tci);
	put16(f + 16, 0x88B5);
	return len;
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFF;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320 & (0u - (c & 1)));
	}
	return ~c;
}

static bool accepted(struct h *h, const uint8_t *f, size_t len)
{
	ssize_t r = h_deliver(h, f, len);

	assert_true(r == (ssize_t)len || r < 0);
	return r == (ssize_t)len;
}

static void test_unicast_filter(void **state)
{
	struct h *h = *state;
	uint8_t f[256];
	uint8_t *d;

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	assert_true(accepted(h, f, frame(f, h_mac, 100)));
	d = h_rxd(h, 0);
	assert_int_equal(rd16(d, 8), 100);
	assert_int_equal(d[12] & (RXD_DD | RXD_EOP), RXD_DD | RXD_EOP);
	assert_memory_equal(h_rxbuf(h, 0), f, 100);
	assert_int_equal(rd(h, RDH), 1);
	assert_int_equal(h_stats(h).rx_frames, 1);

	/* Another unicast address: filtered, the ring untouched. */
	assert_false(accepted(h, f, frame(f, other_mac, 100)));
	assert_int_equal(rd(h, RDH), 1);
	assert_int_equal(h_stats(h).rx_filtered, 1);

	/* In RAR 5 with AV: accepted; without AV: not. */
	wr(h, RAL(5), rd32(other_mac, 0));
	wr(h, RAH(5), rd16(other_mac, 4));
	assert_false(accepted(h, f, frame(f, other_mac, 100)));
	wr(h, RAH(5), rd16(other_mac, 4) | RAH_AV);
	assert_true(accepted(h, f, frame(f, other_mac, 100)));
	/* Address select 01 (source address) does not match destinations. */
	wr(h, RAH(5), rd16(other_mac, 4) | RAH_AV | 1u << 16);
	assert_false(accepted(h, f, frame(f, other_mac, 100)));

	/* Unicast promiscuous. */
	wr(h, RCTL, rd(h, RCTL) | RCTL_UPE);
	assert_true(accepted(h, f, frame(f, other_mac, 100)));
	assert_int_equal(rd(h, GPRC), 3);
}

static uint32_t mta_hash(const uint8_t *a, unsigned int mo)
{
	switch (mo) {
	case 0: return ((a[4] >> 4) | (uint32_t)a[5] << 4) & 0xFFF;
	case 1: return ((a[4] >> 3) | (uint32_t)a[5] << 5) & 0xFFF;
	case 2: return ((a[4] >> 2) | (uint32_t)a[5] << 6) & 0xFFF;
	default: return (a[4] | (uint32_t)a[5] << 8) & 0xFFF;
	}
}

static void test_multicast_filter(void **state)
{
	struct h *h = *state;
	uint8_t f[256];

	for (unsigned int mo = 0; mo < 4; mo++) {
		uint32_t hv = mta_hash(mdns, mo);

		h_rx_setup(h, 8, 7, RCTL_SECRC | RCTL_MO(mo));
		for (unsigned int i = 0; i < 128; i++)
			wr(h, MTA + 4 * i, 0);
		assert_false(accepted(h, f, frame(f, mdns, 80)));
		/* The other bits of the table do not let it through. */
		for (unsigned int i = 0; i < 128; i++)
			wr(h, MTA + 4 * i, i == hv >> 5 ? ~(1u << (hv & 31)) : 0xFFFFFFFF);
		assert_false(accepted(h, f, frame(f, mdns, 80)));
		for (unsigned int i = 0; i < 128; i++)
			wr(h, MTA + 4 * i, 0);
		wr(h, MTA + 4 * (hv >> 5), 1u << (hv & 31));
		assert_true(accepted(h, f, frame(f, mdns, 80)));
	}
	assert_int_equal(rd(h, MPRC), 4);
	/* Multicast promiscuous. */
	wr(h, MTA + 4 * (mta_hash(mdns, 3) >> 5), 0);
	assert_false(accepted(h, f, frame(f, mdns, 80)));
	wr(h, RCTL, rd(h, RCTL) | RCTL_MPE);
	assert_true(accepted(h, f, frame(f, mdns, 80)));
	/* UPE alone does not accept multicast. */
	wr(h, RCTL, (rd(h, RCTL) & ~RCTL_MPE) | RCTL_UPE);
	assert_false(accepted(h, f, frame(f, mdns, 80)));
}

static void test_broadcast(void **state)
{
	struct h *h = *state;
	uint8_t f[256];

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	assert_false(accepted(h, f, frame(f, bcast, 64)));
	wr(h, RCTL, rd(h, RCTL) | RCTL_BAM);
	assert_true(accepted(h, f, frame(f, bcast, 64)));
	assert_int_equal(rd(h, BPRC), 1);
	assert_int_equal(rd(h, MPRC), 0);
}

static void test_vlan_filter(void **state)
{
	struct h *h = *state;
	uint8_t f[256];

	h_rx_setup(h, 8, 7, RCTL_SECRC | RCTL_VFE);
	wr(h, VFTA + 4 * (100 / 32), 1u << (100 % 32));
	assert_true(accepted(h, f, tagged_frame(f, h_mac, 0x2000 | 100, 100)));
	assert_false(accepted(h, f, tagged_frame(f, h_mac, 0x2000 | 200, 100)));
	/* Untagged frames are not VLAN-filtered. */
	assert_true(accepted(h, f, frame(f, h_mac, 100)));
	/* Without VFE every tag passes. */
	wr(h, RCTL, rd(h, RCTL) & ~RCTL_VFE);
	assert_true(accepted(h, f, tagged_frame(f, h_mac, 200, 100)));
	/* The filter follows VET. */
	wr(h, RCTL, rd(h, RCTL) | RCTL_VFE);
	wr(h, VET, 0x88A8);
	assert_true(accepted(h, f, tagged_frame(f, h_mac, 200, 100)));
}

static void test_vlan_strip(void **state)
{
	struct h *h = *state;
	uint8_t f[256], *d;

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	/* Without CTRL.VME the tag stays in the data. */
	assert_true(accepted(h, f, tagged_frame(f, h_mac, 0x6064, 120)));
	d = h_rxd(h, 0);
	assert_int_equal(rd16(d, 8), 120);
	assert_int_equal(d[12] & RXD_VP, 0);
	assert_int_equal(rd16(d, 14), 0);
	assert_memory_equal(h_rxbuf(h, 0), f, 120);
	/* With it the tag goes to the descriptor. */
	wr(h, CTRL, rd(h, CTRL) | CTRL_VME);
	assert_true(accepted(h, f, tagged_frame(f, h_mac, 0x6064, 120)));
	d = h_rxd(h, 1);
	assert_int_equal(rd16(d, 8), 116);
	assert_true(d[12] & RXD_VP);
	assert_int_equal(rd16(d, 14), 0x6064);
	assert_memory_equal(h_rxbuf(h, 1), f, 12);
	assert_memory_equal(h_rxbuf(h, 1) + 12, f + 16, 104);
}

static void test_ring_room(void **state)
{
	struct h *h = *state;
	uint8_t f[1024];
	size_t len = frame(f, h_mac, 600);

	/* 256-byte buffers, two descriptors given: a 600-byte frame needs three. */
	h_rx_setup(h, 8, 2, RCTL_SECRC | RCTL_BSIZE_256);
	assert_int_equal(h_deliver(h, f, len), 0);
	assert_int_equal(rd(h, RDH), 0);
	assert_int_equal(h_rxd(h, 0)[12], 0);
	assert_int_equal(h_rxbuf(h, 0)[0], 0);
	assert_int_equal(h_stats(h).rx_no_buffer, 1);
	assert_int_equal(rd(h, RNBC), 1);
	assert_int_equal(rd(h, MPC), 1);
	assert_int_equal(rd(h, ICR) & ICR_RXO, ICR_RXO);
	/* More buffers: the backend is told to read again, once. */
	assert_int_equal(h->fnd->rx_enables, 0);
	wr(h, RDT, 4);
	assert_int_equal(h->fnd->rx_enables, 1);
	wr(h, RDT, 4);
	assert_int_equal(h->fnd->rx_enables, 1);
	assert_int_equal(h_deliver(h, f, len), (ssize_t)len);
	assert_int_equal(rd(h, RDH), 3);
	assert_int_equal(rd16(h_rxd(h, 0), 8), 256);
	assert_int_equal(rd16(h_rxd(h, 1), 8), 256);
	assert_int_equal(rd16(h_rxd(h, 2), 8), 88);
	assert_int_equal(h_rxd(h, 0)[12], RXD_DD);
	assert_int_equal(h_rxd(h, 1)[12], RXD_DD);
	assert_int_equal(h_rxd(h, 2)[12] & (RXD_DD | RXD_EOP), RXD_DD | RXD_EOP);
	assert_memory_equal(h_rxbuf(h, 0), f, 256);
	assert_memory_equal(h_rxbuf(h, 1), f + 256, 256);
	assert_memory_equal(h_rxbuf(h, 2), f + 512, 88);
	/* One descriptor left: a small frame fits, then RDH == RDT and nothing does. */
	assert_int_equal(h_deliver(h, f, 60), 60);
	assert_int_equal(rd(h, RDH), 4);
	assert_int_equal(h_deliver(h, f, 60), 0);
	assert_int_equal(h_stats(h).rx_no_buffer, 2);
}

static void test_long_frames_lpe(void **state)
{
	struct h *h = *state;
	static uint8_t f[4096], got[4096];
	size_t len = frame(f, h_mac, 3000);
	uint32_t crc = crc32_bitwise(f, len);
	size_t off = 0;

	/* Without LPE: over 1514 bytes is oversize, counted in ROC. */
	h_rx_setup(h, 8, 7, RCTL_BSIZE_1024);
	assert_int_equal(h_deliver(h, f, len), -EMSGSIZE);
	assert_int_equal(rd(h, ROC), 1);
	assert_int_equal(h_stats(h).rx_filtered, 1);
	/* A full-size standard frame still spans two 1 KiB buffers. */
	assert_true(accepted(h, f, 1514));
	assert_int_equal(rd(h, RDH), 2);

	/* With LPE and the FCS kept (SECRC clear): 3004 bytes over three buffers. */
	h_rx_setup(h, 8, 7, RCTL_BSIZE_1024 | RCTL_LPE);
	assert_true(accepted(h, f, len));
	assert_int_equal(rd(h, RDH), 3);
	for (uint32_t i = 0; i < 3; i++) {
		uint8_t *d = h_rxd(h, i);
		uint16_t l = rd16(d, 8);

		assert_int_equal(l, i < 2 ? 1024 : 3004 - 2048);
		assert_int_equal(d[12] & RXD_EOP, i == 2 ? RXD_EOP : 0);
		memcpy(got + off, h_rxbuf(h, i), l);
		off += l;
	}
	assert_int_equal(off, len + 4);
	assert_memory_equal(got, f, len);
	assert_int_equal(rd32(got, len), crc);
}

static void test_short_frame_padding(void **state)
{
	struct h *h = *state;
	uint8_t f[64];
	static const uint8_t zeros[18];

	h_rx_setup(h, 8, 7, RCTL_SECRC | RCTL_BAM);
	memset(h_rxbuf(h, 0), 0xAA, 64);
	assert_true(accepted(h, f, frame(f, bcast, 42)));
	assert_int_equal(rd16(h_rxd(h, 0), 8), 60);
	assert_memory_equal(h_rxbuf(h, 0), f, 42);
	assert_memory_equal(h_rxbuf(h, 0) + 42, zeros, 18);
	/* Runts without an Ethernet header are refused. */
	assert_true(h_deliver(h, f, 10) < 0);
}

static void test_checksum_status(void **state)
{
	struct h *h = *state;
	uint8_t f[256], *d;
	size_t len = tcp4_frame(f, h_mac, 100);

	h_rx_setup(h, 16, 15, RCTL_SECRC);
	assert_true(accepted(h, f, len));
	d = h_rxd(h, 0);
	assert_int_equal(d[12] & (RXD_IXSM | RXD_IPCS | RXD_TCPCS), RXD_IPCS | RXD_TCPCS);
	assert_int_equal(d[13], 0);

	f[14 + 40 + 5] ^= 0xFF; /* payload: TCP checksum now wrong */
	assert_true(accepted(h, f, len));
	d = h_rxd(h, 1);
	assert_int_equal(d[12] & (RXD_IPCS | RXD_TCPCS), RXD_IPCS | RXD_TCPCS);
	assert_int_equal(d[13], RXE_TCPE);

	f[14 + 40 + 5] ^= 0xFF;
	f[14 + 8] = 1; /* TTL: IP header checksum now wrong */
	assert_true(accepted(h, f, len));
	assert_int_equal(h_rxd(h, 2)[13], RXE_IPE);
	f[14 + 8] = 64;

	/* Only TUOFLD (as Linux's e1000 sets it): no IPCS. */
	wr(h, RXCSUM, 0x200);
	assert_true(accepted(h, f, len));
	assert_int_equal(h_rxd(h, 3)[12] & (RXD_IXSM | RXD_IPCS | RXD_TCPCS), RXD_TCPCS);

	/* Offloads off: IXSM says "ignore the checksum bits". */
	wr(h, RXCSUM, 0);
	assert_true(accepted(h, f, len));
	assert_int_equal(h_rxd(h, 4)[12] & (RXD_IXSM | RXD_IPCS | RXD_TCPCS), RXD_IXSM);

	/* Non-IP frames get no checksum bits. */
	wr(h, RXCSUM, 0x300);
	assert_true(accepted(h, f, frame(f, h_mac, 100)));
	assert_int_equal(h_rxd(h, 5)[12] & (RXD_IXSM | RXD_IPCS | RXD_TCPCS), 0);
}

static void test_rxdmt0(void **state)
{
	struct h *h = *state;
	uint8_t f[128];

	/* 16 descriptors, 15 given, threshold half (8 free). */
	h_rx_setup(h, 16, 15, RCTL_SECRC | RCTL_RDMTS_HALF);
	for (int i = 0; i < 6; i++)
		assert_true(accepted(h, f, frame(f, h_mac, 64)));
	assert_int_equal(rd(h, ICR) & (ICR_RXT0 | ICR_RXDMT0), ICR_RXT0);
	assert_true(accepted(h, f, frame(f, h_mac, 64)));
	assert_int_equal(rd(h, ICR) & (ICR_RXT0 | ICR_RXDMT0), ICR_RXT0 | ICR_RXDMT0);
}

static void test_rx_disabled(void **state)
{
	struct h *h = *state;
	uint8_t f[128];

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	wr(h, RCTL, rd(h, RCTL) & ~RCTL_EN);
	assert_true(h_deliver(h, f, frame(f, h_mac, 64)) < 0);
	assert_int_equal(rd(h, RDH), 0);
	assert_int_equal(h->fnd->rx_enables, 0);
}

/* ---- moderation ---- */

static void test_mit_pure(void **state)
{
	const uint64_t now = 5000000000ull;
	struct e1000_mit_input in = { .now_ns = now };

	/* Nothing pending. */
	assert_int_equal(e1000_mit_delay_ns(&in), 0);
	/* An enabled cause with no timer: now. */
	in.pending = ICR_RXT0;
	in.ims = ICR_RXT0;
	assert_int_equal(e1000_mit_delay_ns(&in), 0);
	/* RDTR: 10 x 1.024 us after the latest frame. */
	in.rx_timed = true;
	in.rdtr = 10;
	in.rx_first_ns = in.rx_last_ns = now;
	assert_int_equal(e1000_mit_delay_ns(&in), 10240);
	/* RADV caps it: 20 x 1.024 us after the first frame, 10 us ago. */
	in.rdtr = 100;
	in.radv = 20;
	in.rx_first_ns = now - 10000;
	assert_int_equal(e1000_mit_delay_ns(&in), 20480 - 10000);
	/* Both passed: now. */
	in.rx_first_ns = in.rx_last_ns = now - 200000;
	assert_int_equal(e1000_mit_delay_ns(&in), 0);
	/* Floor: a 24 ns wait becomes E1000_MIT_MIN_NS. */
	in.radv = 0;
	in.rdtr = 1;
	in.rx_last_ns = now - 1000;
	assert_int_equal(e1000_mit_delay_ns(&in), E1000_MIT_MIN_NS);
	/* TIDV/TADV the same way for TXDW. */
	in = (struct e1000_mit_input){ .now_ns = now, .pending = ICR_TXDW, .ims = ICR_TXDW };
	in.tx_timed = true;
	in.tidv = 20;
	in.tadv = 40;
	in.tx_first_ns = now - 30000;
	in.tx_last_ns = now;
	assert_int_equal(e1000_mit_delay_ns(&in), 40960 - 30000);
	in.tx_first_ns = now;
	assert_int_equal(e1000_mit_delay_ns(&in), 20480);
	/* A masked immediate cause rides along; an enabled one makes it now. */
	in.tidv = 50;
	in.tadv = 0;
	in.pending = ICR_TXDW | ICR_TXQE;
	assert_int_equal(e1000_mit_delay_ns(&in), 51200);
	in.ims |= ICR_TXQE;
	assert_int_equal(e1000_mit_delay_ns(&in), 0);
	/* ITR: at least ITR x 256 ns between interrupts. */
	in = (struct e1000_mit_input){ .now_ns = now, .pending = ICR_LSC, .ims = ICR_LSC };
	in.itr = 1000;
	assert_int_equal(e1000_mit_delay_ns(&in), 0); /* no interrupt before */
	in.irq_seen = true;
	in.last_irq_ns = now - 100000;
	assert_int_equal(e1000_mit_delay_ns(&in), 256000 - 100000);
	in.last_irq_ns = now - 300000;
	assert_int_equal(e1000_mit_delay_ns(&in), 0);
	/* ITR does not hold back causes nobody enabled. */
	in.last_irq_ns = now;
	in.ims = 0;
	assert_int_equal(e1000_mit_delay_ns(&in), 0);
	/* ITR and a timer: the later of the two. */
	in.ims = ICR_RXT0;
	in.pending = ICR_RXT0;
	in.rx_timed = true;
	in.rdtr = 500; /* 512 us */
	in.rx_first_ns = in.rx_last_ns = now;
	assert_int_equal(e1000_mit_delay_ns(&in), 512000);
	in.rdtr = 10;
	assert_int_equal(e1000_mit_delay_ns(&in), 256000);
}

static void test_mit_injected_clock(void **state)
{
	struct h *h = h_new_opts(true, false);
	uint8_t f[128];

	h_rx_setup(h, 16, 15, RCTL_SECRC);
	wr(h, IMS, ICR_RXT0);
	wr(h, RDTR, 10); /* 10.24 us */
	assert_true(accepted(h, f, frame(f, h_mac, 64)));
	assert_int_equal(h->level, 0);
	h_advance(h, 5000);
	assert_int_equal(h->level, 0);
	h_advance(h, 6000);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR), ICR_RXT0);

	/* A steady stream keeps pushing RDTR back; RADV (20.48 us) ends the wait. */
	wr(h, RDTR, 100);
	wr(h, RADV, 20);
	for (int i = 0; i < 3; i++) {
		if (i)
			h_advance(h, 10000);
		assert_true(accepted(h, f, frame(f, h_mac, 64)));
	}
	assert_int_equal(h->level, 0); /* 20 us after the first frame */
	h_advance(h, 600);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR), ICR_RXT0);

	/* RDTR.FPD flushes what waits. */
	assert_true(accepted(h, f, frame(f, h_mac, 64)));
	assert_int_equal(h->level, 0);
	wr(h, RDTR, 100 | RDTR_FPD);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, RDTR), 100);
	assert_int_equal(rd(h, ICR), ICR_RXT0);

	/* RDTR 0: at once. */
	wr(h, RDTR, 0);
	assert_true(accepted(h, f, frame(f, h_mac, 64)));
	assert_int_equal(h->level, 1);
	h_free(h);
}

static void test_mit_evloop_timer(void **state)
{
	struct h *h = h_new_opts(true, true);
	uint8_t f[128];

	h_rx_setup(h, 16, 15, RCTL_SECRC);
	wr(h, IMS, ICR_RXT0 | ICR_TXDW);
	wr(h, RDTR, 50); /* 51.2 us */
	assert_true(accepted(h, f, frame(f, h_mac, 64)));
	/* Only the loop's timer raises it. */
	assert_int_equal(h->level, 0);
	H_RUN_LOOP_UNTIL(h, h->level == 1, 1000);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR), ICR_RXT0);
	assert_int_equal(h->level, 0);

	/* From a vCPU thread (a TDT write) the kick event arms the timer. */
	h_tx_setup(h, 8);
	wr(h, TIDV, 50);
	memcpy(h_ram(h, H_TX_BUF), f, 64);
	h_tx_legacy(h, 0, H_TX_BUF, 64, TXD_EOP | TXD_RS | TXD_IDE, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(h->level, 0);
	H_RUN_LOOP_UNTIL(h, h->level == 1, 1000);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR) & ICR_TXDW, ICR_TXDW);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unicast_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multicast_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_strip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_frames_lpe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_frame_padding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rxdmt0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_disabled, setup, teardown),
		cmocka_unit_test(test_mit_pure),
		cmocka_unit_test(test_mit_injected_clock),
		cmocka_unit_test(test_mit_evloop_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
