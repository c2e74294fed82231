/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000 registers: PCI identity and BARs, reset values, write masks, CTRL.RST,
 * ICR/ICS/IMS/IMC and the INTx level seen by a fake vm_irq, statistics
 * cleared on read, IOADDR/IODATA, link changes, access sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e1000_harness.h"

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

static uint32_t cfg_rd(struct h *h, unsigned int off, unsigned int len)
{
	return pci_bus_config_read(h->bus, pci_dev_slot(h->pdev), 0, off, len);
}

static void cfg_wr(struct h *h, unsigned int off, unsigned int len, uint32_t v)
{
	pci_bus_config_write(h->bus, pci_dev_slot(h->pdev), 0, off, len, v);
}

static void test_pci_identity(void **state)
{
	struct h *h = *state;
	uint32_t bar0, bar1;

	assert_int_equal(cfg_rd(h, 0x00, 2), 0x8086);
	assert_int_equal(cfg_rd(h, 0x02, 2), 0x100E);
	assert_int_equal(cfg_rd(h, 0x2C, 2), 0x8086);
	assert_int_equal(cfg_rd(h, 0x2E, 2), 0x001E);
	assert_int_equal(cfg_rd(h, 0x08, 4) >> 8, 0x020000);
	assert_int_equal(cfg_rd(h, 0x3D, 1), 1); /* INTA# */
	/* BAR0: 128 KiB, 32-bit, non-prefetchable memory. */
	bar0 = cfg_rd(h, 0x10, 4);
	assert_int_equal(bar0 & 0xF, 0);
	cfg_wr(h, 0x10, 4, 0xFFFFFFFF);
	assert_int_equal(cfg_rd(h, 0x10, 4), 0xFFFE0000);
	cfg_wr(h, 0x10, 4, bar0);
	/* BAR1: 64 bytes of I/O. */
	bar1 = cfg_rd(h, 0x14, 4);
	assert_int_equal(bar1 & 0x3, 1);
	cfg_wr(h, 0x14, 4, 0xFFFFFFFF);
	assert_int_equal(cfg_rd(h, 0x14, 4), 0xFFFFFFC1);
	cfg_wr(h, 0x14, 4, bar1);
	assert_int_equal(rd(h, STATUS) & STATUS_LU, STATUS_LU);
}

static void test_reset_values(void **state)
{
	struct h *h = *state;

	assert_true(rd(h, CTRL) & CTRL_SLU);
	assert_int_equal(rd(h, STATUS) & (STATUS_FD | STATUS_LU | STATUS_SPEED_MASK),
			 STATUS_FD | STATUS_LU | STATUS_SPEED_1000);
	/* RAR0 holds the EEPROM's MAC address. */
	assert_int_equal(rd(h, RAL(0)), 0x12005452);
	assert_int_equal(rd(h, RAH(0)), 0x5634 | RAH_AV);
	assert_int_equal(rd(h, RAH(1)), 0);
	assert_int_equal(rd(h, VET), 0x8100);
	assert_int_equal(rd(h, ICR), 0);
	assert_int_equal(rd(h, IMS), 0);
	assert_int_equal(rd(h, RCTL), 0);
	assert_int_equal(rd(h, TCTL), 0);
	assert_int_equal(rd(h, RXCSUM), 0x300);
	assert_int_equal(h->level, 0);
}

static void test_write_masks(void **state)
{
	struct h *h = *state;
	struct e1000_stats st;

	wr(h, RDBAL, 0x12345678);
	assert_int_equal(rd(h, RDBAL), 0x12345670);
	wr(h, TDBAL, 0xFFFFFFFF);
	assert_int_equal(rd(h, TDBAL), 0xFFFFFFF0);
	wr(h, RDBAH, 0xFFFFFFFF);
	assert_int_equal(rd(h, RDBAH), 0xFFFFFFFF);
	wr(h, RDH, 0xFFFFFFFF);
	assert_int_equal(rd(h, RDH), 0xFFFF);
	wr(h, TDH, 0x12345);
	assert_int_equal(rd(h, TDH), 0x2345);
	wr(h, ITR, 0xFFFFFFFF);
	assert_int_equal(rd(h, ITR), 0xFFFF);
	wr(h, RDTR, 0xFFFFFFFF); /* FPD (bit 31) is a command and reads 0 */
	assert_int_equal(rd(h, RDTR), 0xFFFF);
	wr(h, RAH(3), 0xFFFFFFFF);
	assert_int_equal(rd(h, RAH(3)), 0x8003FFFF);
	wr(h, RAL(3), 0xFFFFFFFF);
	assert_int_equal(rd(h, RAL(3)), 0xFFFFFFFF);
	wr(h, RXCSUM, 0xFFFFFFFF);
	assert_int_equal(rd(h, RXCSUM), 0x3FF);
	wr(h, VET, 0xFFFF8100);
	assert_int_equal(rd(h, VET), 0x8100);
	wr(h, MTA + 4 * 127, 0xDEADBEEF);
	assert_int_equal(rd(h, MTA + 4 * 127), 0xDEADBEEF);
	wr(h, VFTA + 4 * 5, 0xA5A5A5A5);
	assert_int_equal(rd(h, VFTA + 4 * 5), 0xA5A5A5A5);
	/* Reserved CTRL bits (1, 2, 4, 10, 13-17, 24, 25, 29) stay 0. */
	wr(h, CTRL,
	   (1u << 1) | (1u << 2) | (1u << 4) | (1u << 10) | (0x1Fu << 13) | (3u << 24) |
		   (1u << 29) | CTRL_SLU);
	assert_int_equal(rd(h, CTRL), CTRL_SLU);
	/* RCTL bit 0 and bits 10, 11, 14, 21, 24, 27-31 are reserved. */
	wr(h, RCTL, 0xFFFFFFFF & ~RCTL_EN);
	assert_int_equal(rd(h, RCTL), 0x06DFB3FE & ~RCTL_EN);
	/* Ring lengths: multiples of 128; other low bits are a guest error. */
	st = h_stats(h);
	wr(h, RDLEN, 0x1000);
	assert_int_equal(rd(h, RDLEN), 0x1000);
	wr(h, TDLEN, 0x1064);
	assert_int_equal(rd(h, TDLEN), 0x1000);
	assert_int_equal(h_stats(h).guest_errors, st.guest_errors + 1);
	/* STATUS is read-only. */
	wr(h, STATUS, 0);
	assert_true(rd(h, STATUS) & STATUS_LU);
}

static void test_ctrl_reset(void **state)
{
	struct h *h = *state;

	wr(h, RCTL, RCTL_BAM | RCTL_UPE);
	wr(h, IMS, ICR_LSC | ICR_RXT0);
	wr(h, MTA + 12, 0x55);
	wr(h, RDBAL, 0x1000);
	wr(h, RAL(0), 0x11111111);
	wr(h, VET, 0x88A8);
	wr(h, ICS, ICR_LSC);
	assert_int_equal(h->level, 1);
	wr(h, CTRL, rd(h, CTRL) | CTRL_RST);
	/* RST clears itself; everything is back to its reset value. */
	assert_int_equal(rd(h, CTRL) & CTRL_RST, 0);
	assert_true(rd(h, CTRL) & CTRL_SLU);
	assert_int_equal(rd(h, RCTL), 0);
	assert_int_equal(rd(h, IMS), 0);
	assert_int_equal(rd(h, MTA + 12), 0);
	assert_int_equal(rd(h, RDBAL), 0);
	assert_int_equal(rd(h, RAL(0)), 0x12005452);
	assert_int_equal(rd(h, VET), 0x8100);
	assert_int_equal(rd(h, ICR), 0);
	assert_int_equal(h->level, 0);
}

static void test_interrupt_registers(void **state)
{
	struct h *h = *state;
	unsigned int gsi = pci_dev_gsi(h->pdev);

	/* A cause with its mask bit clear: in ICR, line low. */
	wr(h, ICS, ICR_LSC);
	assert_int_equal(h->level, 0);
	/* Unmasking it raises the line on the device's GSI. */
	wr(h, IMS, ICR_LSC | ICR_RXT0);
	assert_int_equal(rd(h, IMS), ICR_LSC | ICR_RXT0);
	assert_int_equal(h->level, 1);
	assert_int_equal(h->gsi, gsi);
	assert_int_equal(h_stats(h).irqs, 1);
	/* ICR reads and clears; the line drops. */
	assert_int_equal(rd(h, ICR), ICR_LSC);
	assert_int_equal(rd(h, ICR), 0);
	assert_int_equal(h->level, 0);
	/* IMC masks: the cause stays in ICR, the line drops. */
	wr(h, ICS, ICR_RXT0 | ICR_TXDW);
	assert_int_equal(h->level, 1);
	wr(h, IMC, ICR_RXT0);
	assert_int_equal(rd(h, IMS), ICR_LSC);
	assert_int_equal(h->level, 0);
	/* Writing 1s to ICR clears those causes only. */
	wr(h, ICR, ICR_TXDW);
	wr(h, IMS, ICR_RXT0);
	assert_int_equal(h->level, 1);
	wr(h, ICR, ICR_RXT0);
	assert_int_equal(h->level, 0);
	assert_int_equal(rd(h, ICR), 0);
	/* ICS and IMC read as 0; reserved cause bits are ignored. */
	wr(h, ICS, 0x80000120);
	assert_int_equal(rd(h, ICS), 0);
	assert_int_equal(rd(h, IMC), 0);
	assert_int_equal(rd(h, ICR), 0);
}

static void test_stats_clear_on_read(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, h_mac, 40);

	h_rx_setup(h, 8, 7, RCTL_BAM | RCTL_SECRC);
	assert_int_equal(h_deliver(h, f, len), (ssize_t)len);
	assert_int_equal(h_deliver(h, f, len), (ssize_t)len);
	assert_int_equal(rd(h, GPRC), 2);
	assert_int_equal(rd(h, GPRC), 0);
	assert_int_equal(rd(h, TPR), 2);
	/* Octets count from the destination address through the FCS. */
	assert_int_equal(rd(h, GORCL), 2 * (len + 4));
	assert_int_equal(rd(h, GORCL), 2 * (len + 4)); /* the low half alone does not clear */
	assert_int_equal(rd(h, GORCH), 0);
	assert_int_equal(rd(h, GORCL), 0); /* reading the high half cleared both */

	h_tx_setup(h, 8);
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_IFCS | TXD_RS, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(rd(h, GPTC), 1);
	assert_int_equal(rd(h, GPTC), 0);
	assert_int_equal(rd(h, TPT), 1);
	assert_int_equal(rd(h, GOTCL), len + 4);
	assert_int_equal(rd(h, GOTCH), 0);
	assert_int_equal(rd(h, GOTCL), 0);
	/* Statistics are read-only. */
	wr(h, MPC, 7);
	assert_int_equal(rd(h, MPC), 0);
}

static void test_ioaddr_iodata(void **state)
{
	struct h *h = *state;

	io_wr(h, 0, STATUS);
	assert_int_equal(io_rd(h, 0), STATUS);
	assert_int_equal(io_rd(h, 4), rd(h, STATUS));
	io_wr(h, 0, IMS);
	io_wr(h, 4, ICR_LSC);
	assert_int_equal(rd(h, IMS), ICR_LSC);
	/* Linux's e1000 resets the 82540 through the I/O window. */
	wr(h, RCTL, RCTL_UPE);
	io_wr(h, 0, CTRL);
	io_wr(h, 4, rd(h, CTRL) | CTRL_RST);
	assert_int_equal(rd(h, RCTL), 0);
	assert_int_equal(rd(h, IMS), 0);
	/* IOADDR keeps offsets inside the 128 KiB register space. */
	io_wr(h, 0, 0xFFFFFFFF);
	assert_int_equal(io_rd(h, 0), 0x1FFFF);
	/* The rest of the window reads 0. */
	assert_int_equal(io_rd(h, 8), 0);
	assert_int_equal(io_rd(h, 60), 0);
}

static void test_unknown_registers(void **state)
{
	struct h *h = *state;

	wr(h, 0x0F00, 0x12345678);
	assert_int_equal(rd(h, 0x0F00), 0);
	wr(h, 0x9000, 0xFFFFFFFF);
	assert_int_equal(rd(h, 0x9000), 0);
	assert_int_equal(rd(h, 0x1FFFC), 0);
	assert_int_equal(h_stats(h).guest_errors, 0);
}

static void test_access_sizes(void **state)
{
	struct h *h = *state;
	uint8_t b[8];

	/* An 8-byte access is two 4-byte ones. */
	wr32(b, 0, 0x12345670);
	wr32(b, 4, 0x9);
	assert_int_equal(iobus_dispatch(&h->mmio, h->bar0 + RDBAL, b, 8, true), 0);
	assert_int_equal(rd(h, RDBAL), 0x12345670);
	assert_int_equal(rd(h, RDBAH), 9);
	memset(b, 0xEE, sizeof(b));
	assert_int_equal(iobus_dispatch(&h->mmio, h->bar0 + RDBAL, b, 8, false), 0);
	assert_int_equal(rd32(b, 0), 0x12345670);
	assert_int_equal(rd32(b, 4), 9);
	/* Narrow or misaligned accesses are ignored and read 0: ICR is not cleared. */
	wr(h, ICS, ICR_LSC);
	memset(b, 0xEE, sizeof(b));
	assert_int_equal(iobus_dispatch(&h->mmio, h->bar0 + ICR, b, 2, false), 0);
	assert_int_equal(rd16(b, 0), 0);
	assert_int_equal(iobus_dispatch(&h->mmio, h->bar0 + ICR + 1, b, 1, true), 0);
	assert_int_equal(rd(h, ICR), ICR_LSC);
}

static void test_link_changes(void **state)
{
	struct h *h = *state;

	wr(h, IMS, ICR_LSC);
	netdev_set_link(h->nd, false);
	assert_int_equal(rd(h, STATUS) & STATUS_LU, 0);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, ICR), ICR_LSC);
	netdev_set_link(h->nd, true);
	assert_true(rd(h, STATUS) & STATUS_LU);
	assert_int_equal(rd(h, ICR), ICR_LSC);
	/* Clearing CTRL.SLU takes the MAC's link down too. */
	wr(h, CTRL, rd(h, CTRL) & ~CTRL_SLU);
	assert_int_equal(rd(h, STATUS) & STATUS_LU, 0);
	assert_int_equal(rd(h, ICR), ICR_LSC);
	wr(h, CTRL, rd(h, CTRL) | CTRL_SLU);
	assert_true(rd(h, STATUS) & STATUS_LU);
}

static void test_bus_master_off(void **state)
{
	struct h *h = *state;
	uint8_t f[128];
	size_t len = tcp4_frame(f, h_mac, 40);

	h_rx_setup(h, 8, 7, RCTL_SECRC);
	h_tx_setup(h, 8);
	pci_bus_config_write(h->bus, pci_dev_slot(h->pdev), 0, 0x04, 2, 0x0003);
	/* No DMA: received frames are dropped, TX waits. */
	assert_true(h_deliver(h, f, len) < 0);
	memcpy(h_ram(h, H_TX_BUF), f, len);
	h_tx_legacy(h, 0, H_TX_BUF, (uint16_t)len, TXD_EOP | TXD_RS, 0, 0, 0);
	wr(h, TDT, 1);
	assert_int_equal(h->fnd->nframes, 0);
	assert_int_equal(rd(h, TDH), 0);
	pci_bus_config_write(h->bus, pci_dev_slot(h->pdev), 0, 0x04, 2, 0x0007);
	wr(h, TDT, 1);
	assert_int_equal(h->fnd->nframes, 1);
	assert_int_equal(h_deliver(h, f, len), (ssize_t)len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_masks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_clear_on_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioaddr_iodata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_master_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
