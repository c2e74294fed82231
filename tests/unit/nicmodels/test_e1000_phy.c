/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000 PHY behind MDIC: identity (the M88 ID Linux's e1000 checks on an
 * 82540), status with link and auto-negotiation, advertisement and partner
 * ability, 1000BASE-T registers, self-clearing control bits, bad PHY
 * addresses, the MDIC interrupt and CTRL.PHY_RST.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e1000_harness.h"

#define MDIC_READY (1u << 28)
#define MDIC_INT_EN (1u << 29)
#define MDIC_ERROR (1u << 30)
#define MDIC_OP_WRITE (1u << 26)
#define MDIC_OP_READ (2u << 26)
#define CTRL_PHY_RST (1u << 31)

#define MII_BMCR 0
#define MII_BMSR 1
#define MII_PHYID1 2
#define MII_PHYID2 3
#define MII_ANAR 4
#define MII_LPA 5
#define MII_CTRL1000 9
#define MII_STAT1000 10
#define MII_ESTATUS 15
#define M88_PSSR 17

#define BMCR_RESET 0x8000
#define BMCR_ANENABLE 0x1000
#define BMCR_ANRESTART 0x0200
#define BMSR_LSTATUS 0x0004
#define BMSR_ANEGCOMPLETE 0x0020
#define BMSR_ANEGCAPABLE 0x0008

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

static uint32_t mdic(struct h *h, uint32_t v)
{
	uint32_t r;

	wr(h, MDIC, v);
	r = rd(h, MDIC);
	assert_true(r & MDIC_READY);
	return r;
}

static uint16_t phy_rd(struct h *h, unsigned int reg)
{
	uint32_t r = mdic(h, MDIC_OP_READ | 1u << 21 | reg << 16);

	assert_int_equal(r & MDIC_ERROR, 0);
	assert_int_equal((r >> 16) & 0x1F, reg);
	return (uint16_t)r;
}

static void phy_wr(struct h *h, unsigned int reg, uint16_t v)
{
	uint32_t r = mdic(h, MDIC_OP_WRITE | 1u << 21 | reg << 16 | v);

	assert_int_equal(r & MDIC_ERROR, 0);
}

static void test_phy_identity(void **state)
{
	struct h *h = *state;
	uint32_t id = (uint32_t)phy_rd(h, MII_PHYID1) << 16 | phy_rd(h, MII_PHYID2);

	/* M88E1011_I_PHY_ID, revision bits masked as Linux does. */
	assert_int_equal(id & 0xFFFFFFF0, 0x01410C20);
	assert_int_equal(phy_rd(h, MII_ESTATUS) & 0x3000, 0x3000);
}

static void test_phy_link_status(void **state)
{
	struct h *h = *state;
	uint16_t bmsr = phy_rd(h, MII_BMSR);

	assert_true(bmsr & BMSR_LSTATUS);
	assert_true(bmsr & BMSR_ANEGCOMPLETE);
	assert_true(bmsr & BMSR_ANEGCAPABLE);
	assert_true(phy_rd(h, MII_BMCR) & BMCR_ANENABLE);
	assert_int_equal(phy_rd(h, MII_LPA) & 0x01E0, 0x01E0);
	assert_int_equal(phy_rd(h, MII_STAT1000) & 0x3C00, 0x3C00);
	/* M88 specific status: 1000 Mb/s, full duplex, resolved, link. */
	assert_int_equal(phy_rd(h, M88_PSSR) & 0xEC00, 0xAC00);

	netdev_set_link(h->nd, false);
	bmsr = phy_rd(h, MII_BMSR);
	assert_int_equal(bmsr & (BMSR_LSTATUS | BMSR_ANEGCOMPLETE), 0);
	assert_int_equal(phy_rd(h, MII_LPA), 0);
	assert_int_equal(phy_rd(h, M88_PSSR) & 0x0400, 0);
	netdev_set_link(h->nd, true);
	assert_true(phy_rd(h, MII_BMSR) & BMSR_LSTATUS);
}

static void test_phy_writes(void **state)
{
	struct h *h = *state;

	phy_wr(h, MII_ANAR, 0x0DE1);
	assert_int_equal(phy_rd(h, MII_ANAR), 0x0DE1);
	phy_wr(h, MII_CTRL1000, 0x0200);
	assert_int_equal(phy_rd(h, MII_CTRL1000), 0x0200);
	phy_wr(h, 16, 0x0808);
	assert_int_equal(phy_rd(h, 16), 0x0808);
	/* Read-only registers keep their values. */
	phy_wr(h, MII_PHYID1, 0);
	assert_int_equal(phy_rd(h, MII_PHYID1), 0x0141);
	phy_wr(h, MII_BMSR, 0);
	assert_true(phy_rd(h, MII_BMSR) & BMSR_LSTATUS);
}

static void test_phy_autoneg_restart(void **state)
{
	struct h *h = *state;
	uint16_t bmcr = phy_rd(h, MII_BMCR);

	/* Reset and restart clear themselves; autoneg completes at once. */
	phy_wr(h, MII_BMCR, bmcr | BMCR_RESET);
	assert_int_equal(phy_rd(h, MII_BMCR) & BMCR_RESET, 0);
	phy_wr(h, MII_BMCR, bmcr | BMCR_ANENABLE | BMCR_ANRESTART);
	assert_int_equal(phy_rd(h, MII_BMCR) & BMCR_ANRESTART, 0);
	assert_true(phy_rd(h, MII_BMSR) & BMSR_ANEGCOMPLETE);
	/* Autoneg off: link without "autoneg complete". */
	phy_wr(h, MII_BMCR, bmcr & ~BMCR_ANENABLE);
	assert_int_equal(phy_rd(h, MII_BMSR) & (BMSR_LSTATUS | BMSR_ANEGCOMPLETE), BMSR_LSTATUS);
}

static void test_mdic_errors(void **state)
{
	struct h *h = *state;

	/* Only PHY address 1 answers. */
	assert_true(mdic(h, MDIC_OP_READ | 2u << 21 | MII_PHYID1 << 16) & MDIC_ERROR);
	assert_true(mdic(h, MDIC_OP_READ | 0u << 21 | MII_PHYID1 << 16) & MDIC_ERROR);
	/* Opcodes 00 and 11 are invalid. */
	assert_true(mdic(h, 1u << 21 | MII_PHYID1 << 16) & MDIC_ERROR);
	assert_true(mdic(h, 3u << 26 | 1u << 21 | MII_PHYID1 << 16) & MDIC_ERROR);
	assert_int_equal(phy_rd(h, MII_PHYID1), 0x0141);
}

static void test_mdic_interrupt(void **state)
{
	struct h *h = *state;

	wr(h, IMS, ICR_MDAC);
	(void)mdic(h, MDIC_INT_EN | MDIC_OP_READ | 1u << 21 | MII_BMSR << 16);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR), ICR_MDAC);
	(void)mdic(h, MDIC_OP_READ | 1u << 21 | MII_BMSR << 16);
	assert_int_equal(h->level, 0);
}

static void test_ctrl_phy_reset(void **state)
{
	struct h *h = *state;
	uint32_t ctrl = rd(h, CTRL);

	phy_wr(h, MII_ANAR, 0x0041);
	/* Linux asserts CTRL.PHY_RST, waits, then deasserts it. */
	wr(h, CTRL, ctrl | CTRL_PHY_RST);
	wr(h, CTRL, ctrl);
	assert_int_equal(phy_rd(h, MII_ANAR), 0x01E1);
	assert_int_equal(phy_rd(h, MII_BMCR), 0x1140);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_phy_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phy_link_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phy_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phy_autoneg_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mdic_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mdic_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_phy_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
