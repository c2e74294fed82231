/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI core: config mechanism #1 through the PIO bus, header registers, BAR
 * sizing and relocation on the PIO/MMIO buses, capabilities, MSI, MSI-X and
 * INTx, with a fake vm_irq that records what it is asked to do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "vmm/iobus.h"
#include "vmm/irq.h"
#include "vmm/pci.h"

/* ---- fakes ---- */

#define MAX_EVENTS 256

struct fake_irq {
	unsigned int nlevel;
	struct {
		unsigned int gsi;
		int level;
	} level[MAX_EVENTS];
	unsigned int nmsi;
	struct {
		uint64_t addr;
		uint32_t data;
	} msi[MAX_EVENTS];
	/* Level history (set_level is serialised per device by the core). */
	int prev_level, last_level;
	unsigned int level_flips, level_repeats;
};

static int fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fake_irq *f = opaque;
	unsigned int i = __atomic_fetch_add(&f->nlevel, 1, __ATOMIC_RELAXED);

	if (i < MAX_EVENTS) {
		f->level[i].gsi = gsi;
		f->level[i].level = level;
	}
	f->last_level = level;
	f->level_flips += level != f->prev_level;
	f->level_repeats += level == f->prev_level;
	f->prev_level = level;
	return 0;
}

static int fake_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fake_irq *f = opaque;
	unsigned int i = __atomic_fetch_add(&f->nmsi, 1, __ATOMIC_RELAXED);

	if (i < MAX_EVENTS) {
		f->msi[i].addr = addr;
		f->msi[i].data = data;
	}
	return 0;
}

/* A device model: records BAR and config accesses and callbacks. */
struct fake_dev {
	struct pci_dev *pdev;
	unsigned int bar_calls;
	unsigned int bar_index; /* which BAR the last access came through */
	uint64_t bar_off;
	uint32_t bar_len;
	bool bar_write;
	uint32_t bar_val;
	unsigned int cfg_calls;
	uint32_t cfg_off;
	uint32_t cfg_len;
	bool cfg_write;
	uint32_t cfg_val;
	unsigned int cmd_calls;
	uint16_t old_cmd, new_cmd;
	unsigned int moves_at_cmd; /* nmoves when command_changed last ran */
	unsigned int msix_calls;
	uint32_t msix_vector;
	/* bar_changed calls, with where the core said the BAR is during the call. */
	unsigned int nmoves;
	struct {
		unsigned int bar;
		uint64_t old_addr, new_addr, decoded;
	} moves[16];
};

struct fake_bar_ctx {
	struct fake_dev *fd;
	unsigned int index;
};

static void fake_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct fake_bar_ctx *c = opaque;
	struct fake_dev *fd = c->fd;

	fd->bar_calls++;
	fd->bar_index = c->index;
	fd->bar_off = offset;
	fd->bar_len = len;
	fd->bar_write = is_write;
	if (is_write) {
		fd->bar_val = 0;
		memcpy(&fd->bar_val, data, len < 4 ? len : 4);
	} else {
		uint32_t v = 0xA5000000u | (uint32_t)offset;
		memset(data, 0, len);
		memcpy(data, &v, len < 4 ? len : 4);
	}
}

static void fake_config_access(struct pci_dev *dev, uint32_t offset, uint8_t *data, uint32_t len,
			       bool is_write)
{
	struct fake_dev *fd = pci_dev_opaque(dev);

	fd->cfg_calls++;
	fd->cfg_off = offset;
	fd->cfg_len = len;
	fd->cfg_write = is_write;
	fd->cfg_val = 0;
	if (is_write) {
		memcpy(&fd->cfg_val, data, len);
	} else if (offset >= 0xC0) {
		/* The model serves its own area above 0xC0. */
		memset(data, 0x5A, len);
	}
}

static void fake_command_changed(struct pci_dev *dev, uint16_t old_cmd, uint16_t new_cmd)
{
	struct fake_dev *fd = pci_dev_opaque(dev);

	fd->cmd_calls++;
	fd->moves_at_cmd = fd->nmoves;
	fd->old_cmd = old_cmd;
	fd->new_cmd = new_cmd;
}

static void fake_msix_changed(struct pci_dev *dev, uint32_t vector)
{
	struct fake_dev *fd = pci_dev_opaque(dev);

	fd->msix_calls++;
	fd->msix_vector = vector;
}

static void fake_bar_changed(struct pci_dev *dev, unsigned int bar, uint64_t old_addr,
			     uint64_t new_addr)
{
	struct fake_dev *fd = pci_dev_opaque(dev);
	unsigned int i = fd->nmoves++;

	if (i >= ARRAY_SIZE(fd->moves))
		return; /* the hostile tests make many; only the count is kept */
	fd->moves[i].bar = bar;
	fd->moves[i].old_addr = old_addr;
	fd->moves[i].new_addr = new_addr;
	/* Called without the device lock (this would deadlock), after the bus changed. */
	fd->moves[i].decoded = pci_dev_bar_decoded(dev, bar);
}

static const struct pci_dev_ops fake_ops = {
	.config_access = fake_config_access,
	.command_changed = fake_command_changed,
	.msix_changed = fake_msix_changed,
	.bar_changed = fake_bar_changed,
};

struct fx {
	struct io_bus pio;
	struct io_bus mmio;
	struct fake_irq fi;
	struct vm_irq irq;
	struct pci_bus *bus;
	struct fake_dev dev[4];
	struct fake_bar_ctx bar_ctx[4][PCI_NUM_BARS];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	f->irq = (struct vm_irq){ .set_level = fake_set_level,
				  .send_msi = fake_send_msi,
				  .opaque = &f->fi };
	f->bus = pci_bus_new(&f->pio, &f->mmio, &f->irq);
	assert_non_null(f->bus);
	for (unsigned int d = 0; d < 4; d++)
		for (unsigned int b = 0; b < PCI_NUM_BARS; b++)
			f->bar_ctx[d][b] = (struct fake_bar_ctx){ .fd = &f->dev[d], .index = b };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_bus_free(f->bus);
	/* Everything the bus registered is gone again. */
	assert_int_equal(f->pio.nr, 0);
	assert_int_equal(f->mmio.nr, 0);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	free(f);
	return 0;
}

static struct pci_dev *add_dev(struct fx *f, unsigned int i, bool intx)
{
	struct pci_dev_info info = {
		.name = "fake",
		.vendor_id = 0x1af4,
		.device_id = 0x1041 + i,
		.subsys_vendor_id = 0x1af4,
		.subsys_id = 0x0001,
		.revision = 0x01,
		.class_code = 0x020000,
		.intx = intx,
	};
	struct pci_dev *d = pci_dev_new(f->bus, &info, &fake_ops, &f->dev[i]);

	assert_non_null(d);
	f->dev[i].pdev = d;
	return d;
}

static void add_bar(struct fx *f, unsigned int i, unsigned int bar, enum pci_bar_type t,
		    uint64_t size)
{
	assert_int_equal(
		pci_dev_add_bar(f->dev[i].pdev, bar, t, size, fake_bar_io, &f->bar_ctx[i][bar]), 0);
}

/* ---- port helpers ---- */

static void out(struct fx *f, uint16_t port, unsigned int len, uint32_t val)
{
	uint8_t b[4];

	memcpy(b, &val, 4);
	(void)iobus_dispatch(&f->pio, port, b, len, true);
}

static uint32_t in(struct fx *f, uint16_t port, unsigned int len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	(void)iobus_dispatch(&f->pio, port, b, len, false);
	memcpy(&v, b, len);
	return v;
}

static uint32_t cfa(unsigned int slot, unsigned int off)
{
	return 0x80000000u | (slot << 11) | (off & 0xFC);
}

static uint32_t cfg_rd(struct fx *f, unsigned int slot, unsigned int off, unsigned int len)
{
	out(f, 0xCF8, 4, cfa(slot, off));
	return in(f, 0xCFC + (off & 3), len);
}

static void cfg_wr(struct fx *f, unsigned int slot, unsigned int off, unsigned int len,
		   uint32_t val)
{
	out(f, 0xCF8, 4, cfa(slot, off));
	out(f, 0xCFC + (off & 3), len, val);
}

static int mmio_rd(struct fx *f, uint64_t addr, unsigned int len, uint64_t *val)
{
	uint8_t b[8] = { 0 };
	int ret = iobus_dispatch(&f->mmio, addr, b, len, false);

	*val = 0;
	memcpy(val, b, len);
	return ret;
}

static int mmio_wr(struct fx *f, uint64_t addr, unsigned int len, uint64_t val)
{
	uint8_t b[8];

	memcpy(b, &val, 8);
	return iobus_dispatch(&f->mmio, addr, b, len, true);
}

static uint64_t rd32(struct fx *f, uint64_t addr)
{
	uint64_t v;

	assert_int_equal(mmio_rd(f, addr, 4, &v), 0);
	return v;
}

static void wr32(struct fx *f, uint64_t addr, uint32_t v)
{
	assert_int_equal(mmio_wr(f, addr, 4, v), 0);
}

/* ---- config mechanism #1 ---- */

static void test_cf8_register(void **state)
{
	struct fx *f = *state;
	uint32_t tmp;

	out(f, 0xCF8, 4, 0x80000000u);
	assert_int_equal(in(f, 0xCF8, 4), 0x80000000u);
	/* Narrow writes leave the register alone. */
	out(f, 0xCFB, 1, 0x01);
	out(f, 0xCF8, 1, 0x55);
	out(f, 0xCFA, 2, 0x1234);
	assert_int_equal(in(f, 0xCF8, 4), 0x80000000u);
	/* Reserved bits 30:24 and 1:0 read 0. */
	out(f, 0xCF8, 4, 0xFFFFFFFFu);
	assert_int_equal(in(f, 0xCF8, 4), 0x80FFFFFCu);
	/* Narrow reads see the matching bytes. */
	out(f, 0xCF8, 4, 0x80001234u);
	assert_int_equal(in(f, 0xCF8, 1), 0x34);
	assert_int_equal(in(f, 0xCF9, 1), 0x12);
	assert_int_equal(in(f, 0xCFB, 1), 0x80);
	assert_int_equal(in(f, 0xCFA, 2), 0x8000);

	/* Linux's pci_check_type1() sequence. */
	out(f, 0xCF8, 4, 0x12345678u & 0x80FFFFFCu);
	out(f, 0xCFB, 1, 0x01);
	tmp = in(f, 0xCF8, 4);
	assert_int_equal(tmp, 0x12345678u & 0x80FFFFFCu);
	out(f, 0xCF8, 4, 0x80000000u);
	assert_int_equal(in(f, 0xCF8, 4), 0x80000000u);
	/* ... and its sanity check: class of 00:00.0 is a host bridge. */
	out(f, 0xCF8, 4, cfa(0, 0x08));
	assert_int_equal(in(f, 0xCFE, 2), 0x0600);
	out(f, 0xCF8, 4, tmp);
	assert_int_equal(in(f, 0xCF8, 4), tmp);
}

static void test_cfg_decode(void **state)
{
	struct fx *f = *state;
	uint8_t b[4];

	add_dev(f, 0, true); /* slot 1 */

	/* Host bridge through the ports, dword/word/byte. */
	assert_int_equal(cfg_rd(f, 0, 0x00, 4), 0x12378086u);
	out(f, 0xCF8, 4, cfa(0, 0));
	assert_int_equal(in(f, 0xCFC, 2), 0x8086);
	assert_int_equal(in(f, 0xCFD, 1), 0x80);
	assert_int_equal(in(f, 0xCFE, 2), 0x1237);
	assert_int_equal(in(f, 0xCFF, 1), 0x12);
	assert_int_equal(cfg_rd(f, 0, 0x08, 4), 0x06000000u);
	assert_int_equal(cfg_rd(f, 0, 0x0E, 1), 0x00); /* header type 0 */

	/* The device in slot 1. */
	assert_int_equal(cfg_rd(f, 1, 0x00, 4), 0x10411af4u);
	assert_int_equal(cfg_rd(f, 1, 0x02, 2), 0x1041);
	assert_int_equal(cfg_rd(f, 1, 0x0B, 1), 0x02);

	/* Enable bit clear: nothing answers. */
	out(f, 0xCF8, 4, cfa(0, 0) & ~0x80000000u);
	assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFFu);
	/* Empty slot, function 1, bus 1: all ones. */
	assert_int_equal(cfg_rd(f, 7, 0x00, 4), 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 7, 0x00, 2), 0xFFFF);
	out(f, 0xCF8, 4, 0x80000000u | (1u << 8));
	assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFFu);
	out(f, 0xCF8, 4, 0x80000000u | (1u << 16));
	assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFFu);
	out(f, 0xCF8, 4, 0x80000000u | (1u << 16) | (1u << 11));
	assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFFu);

	/* A dword at 0xCFD crosses the data port: refused, reads ones. */
	out(f, 0xCF8, 4, cfa(0, 0));
	memset(b, 0, sizeof(b));
	assert_int_equal(iobus_dispatch(&f->pio, 0xCFD, b, 4, false), -EINVAL);
	assert_int_equal(b[0], 0xFF);

	/* The direct API. */
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 0, 2), 0x8086);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 2, 2), 0x1237);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 0x0B, 1), 0x06);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 0x0A, 1), 0x00);
	assert_int_equal(pci_bus_config_read(f->bus, 9, 0, 0, 1), 0xFF);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 1, 0, 4), 0xFFFFFFFFu);
	assert_int_equal(pci_bus_config_read(f->bus, 40, 0, 0, 4), 0xFFFFFFFFu);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 0, 3), 0xFFFFFFFFu);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 254, 4), 0xFFFFFFFFu);
	assert_int_equal(pci_bus_config_read(f->bus, 0, 0, 4096, 1), 0xFFFFFFFFu);
	pci_bus_config_write(f->bus, 0, 0, 255, 4, 0);
	pci_bus_config_write(f->bus, 40, 0, 0, 4, 0);
}

/* ---- header ---- */

static void test_header(void **state)
{
	struct fx *f = *state;
	struct pci_dev_info noirq = { .name = "nointx", .vendor_id = 0x8086, .device_id = 0x100e };
	struct pci_dev *d = add_dev(f, 0, true), *d2;
	struct fake_dev *fd = &f->dev[0];

	assert_int_equal(pci_dev_slot(d), 1);
	assert_int_equal(pci_dev_gsi(d), GSI_PCI_FIRST + 1);
	assert_true(pci_dev_uses_intx(d));
	assert_string_equal(pci_dev_name(d), "fake");
	assert_ptr_equal(pci_dev_opaque(d), fd);

	assert_int_equal(cfg_rd(f, 1, 0x08, 4), 0x02000001u);
	assert_int_equal(cfg_rd(f, 1, 0x2C, 4), 0x00011af4u);
	assert_int_equal(cfg_rd(f, 1, 0x3C, 1), GSI_PCI_FIRST + 1);
	assert_int_equal(cfg_rd(f, 1, 0x3D, 1), 1);
	assert_int_equal(cfg_rd(f, 1, 0x0E, 1), 0);
	assert_int_equal(cfg_rd(f, 1, 0x34, 1), 0); /* no capabilities */
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x10, 0);

	/* Command: only I/O, memory, bus master, SERR and INTx disable stick. */
	assert_int_equal(cfg_rd(f, 1, 0x04, 2), 0);
	cfg_wr(f, 1, 0x04, 2, 0xFFFF);
	assert_int_equal(cfg_rd(f, 1, 0x04, 2), 0x0507);
	assert_int_equal(fd->cmd_calls, 1);
	assert_int_equal(fd->old_cmd, 0);
	assert_int_equal(fd->new_cmd, 0x0507);
	/* Same value again: no callback. */
	cfg_wr(f, 1, 0x04, 2, 0x0507);
	assert_int_equal(fd->cmd_calls, 1);
	/* A byte write to the high byte of the command register. */
	cfg_wr(f, 1, 0x05, 1, 0x00);
	assert_int_equal(cfg_rd(f, 1, 0x04, 2), 0x0007);
	/* Status: read-only and RW1C bits never get set by a write. */
	cfg_wr(f, 1, 0x06, 2, 0xFFFF);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2), 0);
	/* A dword write to 0x04 changes the command, not the status. */
	cfg_wr(f, 1, 0x04, 4, 0xFFFF0002);
	assert_int_equal(cfg_rd(f, 1, 0x04, 4), 0x00000002u);

	/* IDs, class, header type are read-only. */
	cfg_wr(f, 1, 0x00, 4, 0);
	cfg_wr(f, 1, 0x08, 4, 0);
	cfg_wr(f, 1, 0x0C, 4, 0xFFFFFFFFu);
	cfg_wr(f, 1, 0x2C, 4, 0);
	assert_int_equal(cfg_rd(f, 1, 0x00, 4), 0x10411af4u);
	assert_int_equal(cfg_rd(f, 1, 0x08, 4), 0x02000001u);
	assert_int_equal(cfg_rd(f, 1, 0x0C, 4), 0x000000FFu); /* cache line size RW only */
	assert_int_equal(cfg_rd(f, 1, 0x2C, 4), 0x00011af4u);
	/* Interrupt line RW, pin RO. */
	cfg_wr(f, 1, 0x3C, 2, 0x000A);
	assert_int_equal(cfg_rd(f, 1, 0x3C, 1), 0x0A);
	assert_int_equal(cfg_rd(f, 1, 0x3D, 1), 1);
	/* No expansion ROM. */
	cfg_wr(f, 1, 0x30, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x30, 4), 0);
	/* Header writes do not reach the model. */
	assert_int_equal(fd->cfg_calls, 0);

	d2 = pci_dev_new(f->bus, &noirq, NULL, NULL);
	assert_non_null(d2);
	assert_false(pci_dev_uses_intx(d2));
	assert_int_equal(cfg_rd(f, 2, 0x3D, 1), 0);
	assert_int_equal(cfg_rd(f, 2, 0x00, 4), 0x100e8086u);
	/* A device without ops: config writes into its free area are dropped. */
	cfg_wr(f, 2, 0x80, 4, 0x12345678);
	assert_int_equal(cfg_rd(f, 2, 0x80, 4), 0);
}

static void count_dev(struct pci_dev *dev, void *arg)
{
	(void)dev;
	(*(unsigned int *)arg)++;
}

static void test_slots(void **state)
{
	struct fx *f = *state;
	struct pci_dev_info info = {
		.name = "many", .vendor_id = 0x1234, .device_id = 1, .intx = true
	};
	unsigned int n = 0;

	for (unsigned int i = 1; i < PCI_MAX_SLOTS; i++) {
		struct pci_dev *d = pci_dev_new(f->bus, &info, NULL, NULL);

		assert_non_null(d);
		assert_int_equal(pci_dev_slot(d), i);
		assert_int_equal(pci_dev_gsi(d), GSI_PCI_FIRST + i % GSI_PCI_COUNT);
	}
	errno = 0;
	assert_null(pci_dev_new(f->bus, &info, NULL, NULL));
	assert_int_equal(errno, ENOSPC);
	pci_bus_for_each(f->bus, count_dev, &n);
	assert_int_equal(n, PCI_MAX_SLOTS);
	assert_int_equal(cfg_rd(f, 31, 0, 2), 0x1234);
}

/* info->slot: that slot or nothing; the next free slot goes around it. */
static void test_slot_request(void **state)
{
	struct fx *f = *state;
	struct pci_dev_info info = {
		.name = "asked", .vendor_id = 0x1234, .device_id = 2, .intx = true, .slot = 3
	};
	struct pci_dev_info next = {
		.name = "next", .vendor_id = 0x1234, .device_id = 3, .intx = true
	};
	struct pci_dev *d3, *d11, *d;

	d3 = pci_dev_new(f->bus, &info, NULL, NULL);
	assert_non_null(d3);
	assert_int_equal(pci_dev_slot(d3), 3);
	assert_ptr_equal(pci_bus_slot_dev(f->bus, 3), d3);
	/* The INTx GSI follows the slot, in the Interrupt Line register too. */
	assert_int_equal(pci_dev_gsi(d3), GSI_PCI_FIRST + 3);
	assert_int_equal(cfg_rd(f, 3, 0x3C, 1), GSI_PCI_FIRST + 3);
	assert_int_equal(cfg_rd(f, 3, 0x00, 2), 0x1234);
	assert_int_equal(cfg_rd(f, 3, 0x02, 2), 2);
	info.slot = 11;
	d11 = pci_dev_new(f->bus, &info, NULL, NULL);
	assert_non_null(d11);
	assert_int_equal(pci_dev_slot(d11), 11);
	assert_int_equal(pci_dev_gsi(d11), GSI_PCI_FIRST + 11 % GSI_PCI_COUNT);
	assert_int_equal(pci_dev_gsi(d11), pci_dev_gsi(d3));
	info.slot = 31;
	d = pci_dev_new(f->bus, &info, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(pci_dev_slot(d), 31);
	assert_int_equal(pci_dev_gsi(d), GSI_PCI_FIRST + 31 % GSI_PCI_COUNT);

	/* A taken slot is refused with EBUSY and stays with its owner. */
	info.slot = 3;
	errno = 0;
	assert_null(pci_dev_new(f->bus, &info, NULL, NULL));
	assert_int_equal(errno, EBUSY);
	assert_ptr_equal(pci_bus_slot_dev(f->bus, 3), d3);
	assert_string_equal(pci_dev_name(pci_bus_slot_dev(f->bus, 3)), "asked");
	assert_string_equal(pci_dev_name(pci_bus_slot_dev(f->bus, 0)), "host-bridge");
	/* No such slot. */
	info.slot = PCI_MAX_SLOTS;
	errno = 0;
	assert_null(pci_dev_new(f->bus, &info, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(pci_bus_slot_dev(f->bus, PCI_MAX_SLOTS));
	assert_null(pci_bus_slot_dev(f->bus, 4));

	/* Next free: 1, 2, then 4 (3 asked for), ... 10, then 12 (11 asked for). */
	for (unsigned int want = 1; want < 14; want++) {
		if (want == 3 || want == 11)
			continue;
		d = pci_dev_new(f->bus, &next, NULL, NULL);
		assert_non_null(d);
		assert_int_equal(pci_dev_slot(d), want);
		assert_int_equal(pci_dev_gsi(d), GSI_PCI_FIRST + want % GSI_PCI_COUNT);
	}
	/* A free slot past the next-free ones can still be asked for. */
	info.slot = 20;
	d = pci_dev_new(f->bus, &info, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(pci_dev_slot(d), 20);
	/* Fill the bus: 14 .. 30 but 20; then no slot is left either way. */
	for (unsigned int want = 14; want < 31; want++) {
		if (want == 20)
			continue;
		d = pci_dev_new(f->bus, &next, NULL, NULL);
		assert_non_null(d);
		assert_int_equal(pci_dev_slot(d), want);
	}
	errno = 0;
	assert_null(pci_dev_new(f->bus, &next, NULL, NULL));
	assert_int_equal(errno, ENOSPC);
	info.slot = 5;
	errno = 0;
	assert_null(pci_dev_new(f->bus, &info, NULL, NULL));
	assert_int_equal(errno, EBUSY);
}

/* ---- BARs ---- */

static void test_bar_sizing(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);
	uint64_t io, m32, m64, m32b;
	uint32_t orig;

	add_bar(f, 0, 0, PCI_BAR_IO, 32);
	add_bar(f, 0, 1, PCI_BAR_MEM32, 4096);
	add_bar(f, 0, 2, PCI_BAR_MEM64, 16384);
	add_bar(f, 0, 4, PCI_BAR_MEM32, 65536);

	io = pci_dev_bar_addr(d, 0);
	m32 = pci_dev_bar_addr(d, 1);
	m64 = pci_dev_bar_addr(d, 2);
	m32b = pci_dev_bar_addr(d, 4);
	assert_true(io >= PCI_IO_WINDOW_BASE && io + 32 <= PCI_IO_WINDOW_END);
	assert_int_equal(io % 32, 0);
	assert_true(m32 >= PCI_MMIO_WINDOW_BASE && m32 + 4096 <= PCI_MMIO_WINDOW_END);
	assert_int_equal(m32 % 4096, 0);
	assert_true(m64 >= PCI_MMIO_WINDOW_BASE && m64 + 16384 <= PCI_MMIO_WINDOW_END);
	assert_int_equal(m64 % 16384, 0);
	assert_int_equal(m32b % 65536, 0);
	/* No overlap between the memory BARs. */
	assert_true(m32 + 4096 <= m64 || m64 + 16384 <= m32);
	assert_true(m32 + 4096 <= m32b || m32b + 65536 <= m32);
	assert_true(m64 + 16384 <= m32b || m32b + 65536 <= m64);
	assert_int_equal(pci_dev_bar_addr(d, 3), 0); /* upper half */
	assert_int_equal(pci_dev_bar_addr(d, 5), 0);

	/* Config values carry the type bits. */
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), io | 1);
	assert_int_equal(cfg_rd(f, 1, 0x14, 4), m32);
	assert_int_equal(cfg_rd(f, 1, 0x18, 4), m64 | 4);
	assert_int_equal(cfg_rd(f, 1, 0x1C, 4), m64 >> 32);

	/* I/O. */
	orig = cfg_rd(f, 1, 0x10, 4);
	cfg_wr(f, 1, 0x10, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0xFFFFFFE1u);
	cfg_wr(f, 1, 0x10, 4, orig);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), orig);
	/* 32-bit memory. */
	orig = cfg_rd(f, 1, 0x14, 4);
	cfg_wr(f, 1, 0x14, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x14, 4), 0xFFFFF000u);
	cfg_wr(f, 1, 0x14, 4, orig);
	assert_int_equal(cfg_rd(f, 1, 0x14, 4), orig);
	/* 64-bit memory: both halves. */
	cfg_wr(f, 1, 0x18, 4, 0xFFFFFFFFu);
	cfg_wr(f, 1, 0x1C, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x18, 4), 0xFFFFC004u);
	assert_int_equal(cfg_rd(f, 1, 0x1C, 4), 0xFFFFFFFFu);
	cfg_wr(f, 1, 0x18, 4, (uint32_t)m64);
	cfg_wr(f, 1, 0x1C, 4, 0);
	assert_int_equal(pci_dev_bar_addr(d, 2), m64);
	/* 64 KiB BAR. */
	cfg_wr(f, 1, 0x20, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x20, 4), 0xFFFF0000u);
	/* Unimplemented BAR reads 0 after sizing. */
	cfg_wr(f, 1, 0x24, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x24, 4), 0);
}

static void test_bar_add_errors(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);

	assert_int_equal(pci_dev_add_bar(d, 6, PCI_BAR_MEM32, 4096, fake_bar_io, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(d, 0, PCI_BAR_MEM32, 3000, fake_bar_io, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(d, 0, PCI_BAR_MEM32, 2048, fake_bar_io, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(d, 0, PCI_BAR_IO, 8, fake_bar_io, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(d, 5, PCI_BAR_MEM64, 4096, fake_bar_io, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(d, 0, (enum pci_bar_type)7, 4096, fake_bar_io, NULL),
			 -EINVAL);
	add_bar(f, 0, 0, PCI_BAR_MEM64, 4096);
	assert_int_equal(pci_dev_add_bar(d, 0, PCI_BAR_MEM32, 4096, fake_bar_io, NULL), -EBUSY);
	assert_int_equal(pci_dev_add_bar(d, 1, PCI_BAR_MEM32, 4096, fake_bar_io, NULL), -EBUSY);
	/* The I/O window holds 16 KiB: two 8 KiB BARs, then no room. */
	add_bar(f, 0, 2, PCI_BAR_IO, 8192);
	add_bar(f, 0, 3, PCI_BAR_IO, 8192);
	assert_int_equal(pci_dev_add_bar(d, 4, PCI_BAR_IO, 16, fake_bar_io, NULL), -ENOSPC);
	assert_int_not_equal(pci_dev_bar_addr(d, 2), pci_dev_bar_addr(d, 3));
}

static void test_bar_relocation(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);
	struct fake_dev *fd = &f->dev[0];
	uint64_t m32, m64, v;
	uint32_t io;

	add_bar(f, 0, 0, PCI_BAR_IO, 32);
	add_bar(f, 0, 1, PCI_BAR_MEM32, 4096);
	add_bar(f, 0, 2, PCI_BAR_MEM64, 8192);
	io = (uint32_t)pci_dev_bar_addr(d, 0);
	m32 = pci_dev_bar_addr(d, 1);
	m64 = pci_dev_bar_addr(d, 2);

	/* Decoding off: nothing on the buses. */
	assert_int_equal(mmio_rd(f, m32, 4, &v), -ENOENT);
	assert_int_equal(v, 0xFFFFFFFFu);
	assert_int_equal(mmio_rd(f, m64, 4, &v), -ENOENT);
	(void)in(f, (uint16_t)io, 1);
	assert_int_equal(fd->bar_calls, 0);

	/* Memory decode on. */
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	assert_int_equal(mmio_rd(f, m32 + 0x10, 4, &v), 0);
	assert_int_equal(v, 0xA5000010u);
	assert_int_equal(fd->bar_index, 1);
	assert_int_equal(fd->bar_off, 0x10);
	assert_false(fd->bar_write);
	assert_int_equal(mmio_wr(f, m64 + 0x1FF8, 8, 0x1122334455667788ull), 0);
	assert_int_equal(fd->bar_index, 2);
	assert_int_equal(fd->bar_off, 0x1FF8);
	assert_int_equal(fd->bar_len, 8);
	assert_true(fd->bar_write);
	/* I/O still off. */
	fd->bar_calls = 0;
	assert_int_equal(in(f, (uint16_t)io, 4), 0xFFFFFFFFu);
	assert_int_equal(fd->bar_calls, 0);

	/* Move the 32-bit BAR. */
	cfg_wr(f, 1, 0x14, 4, 0xD0000000u);
	assert_int_equal(pci_dev_bar_addr(d, 1), 0xD0000000u);
	assert_int_equal(mmio_rd(f, m32 + 0x10, 4, &v), -ENOENT);
	assert_int_equal(mmio_rd(f, 0xD0000020u, 2, &v), 0);
	assert_int_equal(fd->bar_index, 1);
	assert_int_equal(fd->bar_off, 0x20);
	assert_int_equal(fd->bar_len, 2);

	/* Move the 64-bit BAR above 4 GiB, one half at a time. */
	cfg_wr(f, 1, 0x18, 4, 0x00040000u);
	cfg_wr(f, 1, 0x1C, 4, 0x1u);
	assert_int_equal(pci_dev_bar_addr(d, 2), 0x100040000ull);
	assert_int_equal(mmio_rd(f, m64, 4, &v), -ENOENT);
	assert_int_equal(mmio_rd(f, 0x100040000ull + 0x100, 4, &v), 0);
	assert_int_equal(fd->bar_index, 2);
	assert_int_equal(fd->bar_off, 0x100);
	/* The end of the BAR is inside, one past it is not. */
	assert_int_equal(mmio_rd(f, 0x100040000ull + 0x1FFC, 4, &v), 0);
	assert_int_equal(mmio_rd(f, 0x100040000ull + 0x2000, 4, &v), -ENOENT);

	/* Sizing while decoding: the BAR leaves the bus, and comes back. */
	cfg_wr(f, 1, 0x14, 4, 0xFFFFFFFFu);
	assert_int_equal(mmio_rd(f, 0xD0000000u, 4, &v), -ENOENT);
	assert_int_equal(mmio_rd(f, 0xFFFFF000u, 4, &v), -ENOENT);
	cfg_wr(f, 1, 0x14, 4, 0xD0000000u);
	assert_int_equal(mmio_rd(f, 0xD0000000u, 4, &v), 0);
	/* Address 0: not on the bus. */
	cfg_wr(f, 1, 0x14, 4, 0);
	assert_int_equal(mmio_rd(f, 0, 4, &v), -ENOENT);
	cfg_wr(f, 1, 0x14, 4, 0xD0000000u);

	/* Decoding off again: unregistered; on: back. */
	cfg_wr(f, 1, 0x04, 2, 0x0000);
	assert_int_equal(mmio_rd(f, 0xD0000000u, 4, &v), -ENOENT);
	assert_int_equal(mmio_rd(f, 0x100040000ull, 4, &v), -ENOENT);
	assert_int_equal(f->mmio.nr, 0);
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	assert_int_equal(mmio_rd(f, 0xD0000000u, 4, &v), 0);
	assert_int_equal(mmio_rd(f, 0x100040000ull, 4, &v), 0);
	assert_int_equal(f->mmio.nr, 2);

	/* I/O decode on, and move the I/O BAR. */
	cfg_wr(f, 1, 0x04, 2, 0x0003);
	fd->bar_calls = 0;
	assert_int_equal(in(f, (uint16_t)(io + 3), 1), 0xA5000003u & 0xFF);
	assert_int_equal(fd->bar_calls, 1);
	assert_int_equal(fd->bar_index, 0);
	assert_int_equal(fd->bar_off, 3);
	cfg_wr(f, 1, 0x10, 4, 0xE000);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0xE001);
	fd->bar_calls = 0;
	assert_int_equal(in(f, (uint16_t)io, 4), 0xFFFFFFFFu);
	assert_int_equal(fd->bar_calls, 0);
	out(f, 0xE004, 2, 0xBEEF);
	assert_int_equal(fd->bar_calls, 1);
	assert_true(fd->bar_write);
	assert_int_equal(fd->bar_off, 4);
	assert_int_equal(fd->bar_val, 0xBEEF);
	/* An I/O BAR reaching past 64 KiB is not decoded. */
	cfg_wr(f, 1, 0x10, 4, 0x1FFE0);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0x1FFE0);
	assert_int_equal(f->pio.nr, 2); /* only the config ports */
	fd->bar_calls = 0;
	out(f, 0xE004, 2, 0xBEEF);
	assert_int_equal(fd->bar_calls, 0);
}

static void test_bar_overlap(void **state)
{
	struct fx *f = *state;
	struct pci_dev *a = add_dev(f, 0, false), *b = add_dev(f, 1, false);
	uint64_t addr_a, addr_b, v;

	add_bar(f, 0, 0, PCI_BAR_MEM32, 4096);
	add_bar(f, 1, 0, PCI_BAR_MEM32, 8192);
	add_bar(f, 1, 1, PCI_BAR_IO, 16);
	addr_a = pci_dev_bar_addr(a, 0);
	addr_b = pci_dev_bar_addr(b, 0);
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	cfg_wr(f, 2, 0x04, 2, 0x0003);

	/* B onto A (partially overlapping): A keeps its range, B is left off. */
	cfg_wr(f, 2, 0x10, 4, (uint32_t)addr_a);
	assert_int_equal(pci_dev_bar_addr(b, 0), addr_a);
	f->dev[0].bar_calls = f->dev[1].bar_calls = 0;
	assert_int_equal(mmio_rd(f, addr_a + 8, 4, &v), 0);
	assert_int_equal(f->dev[0].bar_calls, 1);
	assert_int_equal(f->dev[1].bar_calls, 0);
	assert_int_equal(mmio_rd(f, addr_a + 4096, 4, &v), -ENOENT);
	assert_int_equal(mmio_rd(f, addr_b, 4, &v), -ENOENT);

	/* B elsewhere: mapped again. */
	cfg_wr(f, 2, 0x10, 4, 0xE0000000u);
	assert_int_equal(mmio_rd(f, 0xE0000000u + 4, 4, &v), 0);
	assert_int_equal(f->dev[1].bar_calls, 1);
	assert_int_equal(f->dev[1].bar_off, 4);

	/* An I/O BAR over the config ports: refused, config space still works. */
	cfg_wr(f, 2, 0x14, 4, 0xCF0);
	assert_int_equal(cfg_rd(f, 0, 0, 4), 0x12378086u);
	assert_int_equal(cfg_rd(f, 2, 0x14, 4), 0xCF1);
	cfg_wr(f, 2, 0x14, 4, 0xD000);
	f->dev[1].bar_calls = 0;
	(void)in(f, 0xD002, 2);
	assert_int_equal(f->dev[1].bar_calls, 1);
	assert_int_equal(f->dev[1].bar_off, 2);
}

/* The n-th bar_changed call since the last check was (bar, old -> new). */
static void expect_move(struct fake_dev *fd, unsigned int n, unsigned int bar, uint64_t old_addr,
			uint64_t new_addr)
{
	assert_true(n < fd->nmoves);
	assert_int_equal(fd->moves[n].bar, bar);
	assert_int_equal(fd->moves[n].old_addr, old_addr);
	assert_int_equal(fd->moves[n].new_addr, new_addr);
	assert_int_equal(fd->moves[n].decoded, new_addr);
}

static void test_bar_changed(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);
	struct fake_dev *fd = &f->dev[0];
	uint64_t m32, m64, v;
	uint32_t io;

	add_bar(f, 0, 0, PCI_BAR_MEM32, 4096);
	add_bar(f, 0, 1, PCI_BAR_IO, 32);
	add_bar(f, 0, 2, PCI_BAR_MEM64, 8192);
	m32 = pci_dev_bar_addr(d, 0);
	io = (uint32_t)pci_dev_bar_addr(d, 1);
	m64 = pci_dev_bar_addr(d, 2);
	/* Declared with decoding off: addresses, but nothing on the bus. */
	assert_int_equal(fd->nmoves, 0);
	assert_int_equal(pci_dev_bar_decoded(d, 0), PCI_BAR_UNMAPPED);
	assert_int_equal(pci_dev_bar_decoded(d, 2), PCI_BAR_UNMAPPED);
	assert_int_equal(pci_dev_bar_decoded(d, 3), PCI_BAR_UNMAPPED);
	assert_int_equal(pci_dev_bar_decoded(d, 6), PCI_BAR_UNMAPPED);

	/* Memory decoding on: both memory BARs arrive, the I/O one stays off. */
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 0, 0, PCI_BAR_UNMAPPED, m32);
	expect_move(fd, 1, 2, PCI_BAR_UNMAPPED, m64);
	assert_int_equal(pci_dev_bar_decoded(d, 2), m64);
	/* The bus is in place when command_changed runs. */
	assert_int_equal(fd->cmd_calls, 1);
	assert_int_equal(fd->moves_at_cmd, 2);

	/* Rewriting the same address, or command bits that do not decode: no call. */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x10, 4, (uint32_t)m32);
	cfg_wr(f, 1, 0x14, 4, io);
	cfg_wr(f, 1, 0x10, 2, (uint16_t)m32);
	cfg_wr(f, 1, 0x04, 2, 0x0006);
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	assert_int_equal(fd->nmoves, 0);

	/* A move while decoding: one call, from the old to the new address. */
	cfg_wr(f, 1, 0x10, 4, 0xD0000000u);
	assert_int_equal(fd->nmoves, 1);
	expect_move(fd, 0, 0, m32, 0xD0000000u);
	assert_int_equal(mmio_rd(f, 0xD0000000u, 4, &v), 0);

	/* Sizing while decoding: off the bus, then back; never "moved to all ones". */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x10, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0xFFFFF000u);
	assert_int_equal(fd->nmoves, 1);
	expect_move(fd, 0, 0, 0xD0000000u, PCI_BAR_UNMAPPED);
	cfg_wr(f, 1, 0x10, 4, 0xD0000000u);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 1, 0, PCI_BAR_UNMAPPED, 0xD0000000u);
	/* Address 0 is not decoded either. */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x10, 4, 0);
	cfg_wr(f, 1, 0x10, 4, 0xD0000000u);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 0, 0, 0xD0000000u, PCI_BAR_UNMAPPED);
	expect_move(fd, 1, 0, PCI_BAR_UNMAPPED, 0xD0000000u);

	/* A 64-bit BAR moved one half at a time passes through the intermediate address. */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x18, 4, 0x00040000u);
	cfg_wr(f, 1, 0x1C, 4, 0x1u);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 0, 2, m64, 0x00040000u);
	expect_move(fd, 1, 2, 0x00040000u, 0x100040000ull);
	/* Sizing its upper half takes it off the bus too. */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x1C, 4, 0xFFFFFFFFu);
	cfg_wr(f, 1, 0x1C, 4, 0x1u);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 0, 2, 0x100040000ull, PCI_BAR_UNMAPPED);
	expect_move(fd, 1, 2, PCI_BAR_UNMAPPED, 0x100040000ull);

	/* Decoding off: every decoded BAR leaves; moves meanwhile are no change. */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x04, 2, 0x0000);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 0, 0, 0xD0000000u, PCI_BAR_UNMAPPED);
	expect_move(fd, 1, 2, 0x100040000ull, PCI_BAR_UNMAPPED);
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x10, 4, 0xD0010000u);
	cfg_wr(f, 1, 0x10, 4, 0xFFFFFFFFu); /* sized with decoding off, as OSes do */
	cfg_wr(f, 1, 0x10, 4, 0xD0010000u);
	assert_int_equal(fd->nmoves, 0);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0xD0010000u);
	assert_int_equal(pci_dev_bar_decoded(d, 0), PCI_BAR_UNMAPPED);
	/* Decoding on again: both back, BAR 0 at the address written meanwhile. */
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 0, 0, PCI_BAR_UNMAPPED, 0xD0010000u);
	expect_move(fd, 1, 2, PCI_BAR_UNMAPPED, 0x100040000ull);

	/* I/O decoding: the I/O BAR, and only it. */
	fd->nmoves = 0;
	cfg_wr(f, 1, 0x04, 2, 0x0003);
	assert_int_equal(fd->nmoves, 1);
	expect_move(fd, 0, 1, PCI_BAR_UNMAPPED, io);
	/* An I/O BAR moved past 64 KiB leaves the bus. */
	cfg_wr(f, 1, 0x14, 4, 0x1FFE0);
	assert_int_equal(fd->nmoves, 2);
	expect_move(fd, 1, 1, io, PCI_BAR_UNMAPPED);
	cfg_wr(f, 1, 0x14, 4, 0xE000);
	assert_int_equal(fd->nmoves, 3);
	expect_move(fd, 2, 1, PCI_BAR_UNMAPPED, 0xE000);
}

static void test_bar_changed_overlap(void **state)
{
	struct fx *f = *state;
	struct pci_dev *a = add_dev(f, 0, false), *b = add_dev(f, 1, false);
	struct fake_dev *fb = &f->dev[1];
	uint64_t addr_a, addr_b;

	add_bar(f, 0, 0, PCI_BAR_MEM32, 4096);
	add_bar(f, 1, 0, PCI_BAR_MEM32, 4096);
	addr_a = pci_dev_bar_addr(a, 0);
	addr_b = pci_dev_bar_addr(b, 0);
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	cfg_wr(f, 2, 0x04, 2, 0x0002);
	assert_int_equal(f->dev[0].nmoves, 1);
	assert_int_equal(fb->nmoves, 1);

	/* B onto A: left unmapped, which is a change for B and none for A. */
	fb->nmoves = 0;
	cfg_wr(f, 2, 0x10, 4, (uint32_t)addr_a);
	assert_int_equal(fb->nmoves, 1);
	expect_move(fb, 0, 0, addr_b, PCI_BAR_UNMAPPED);
	assert_int_equal(pci_dev_bar_decoded(b, 0), PCI_BAR_UNMAPPED);
	assert_int_equal(pci_dev_bar_decoded(a, 0), addr_a);
	assert_int_equal(f->dev[0].nmoves, 1);
	cfg_wr(f, 2, 0x10, 4, 0xE0000000u);
	assert_int_equal(fb->nmoves, 2);
	expect_move(fb, 1, 0, PCI_BAR_UNMAPPED, 0xE0000000u);

	/* A BAR declared while decoding is already on is reported as it arrives. */
	fb->nmoves = 0;
	add_bar(f, 1, 1, PCI_BAR_MEM32, 4096);
	assert_int_equal(fb->nmoves, 1);
	expect_move(fb, 0, 1, PCI_BAR_UNMAPPED, pci_dev_bar_addr(b, 1));
	assert_true(pci_dev_bar_decoded(b, 1) != PCI_BAR_UNMAPPED);
}

/* ---- capabilities ---- */

static void test_caps(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);
	struct fake_dev *fd = &f->dev[0];
	static const uint8_t body[6] = { 0x10, 0x01, 0x02, 0x03, 0x04, 0x05 };
	uint8_t expect_ids[3] = { 0x09, 0x05, 0x11 };
	int offs[3];
	unsigned int ptr, hops = 0;

	add_bar(f, 0, 0, PCI_BAR_MEM32, 16384);
	offs[0] = pci_dev_add_cap(d, 0x09, body, sizeof(body));
	offs[1] = pci_dev_add_msi(d, 4);
	offs[2] = pci_dev_add_msix(d, 8, 0, 0x2000, 0x3000);
	assert_int_equal(offs[0], 0x40);
	for (int i = 1; i < 3; i++) {
		assert_true(offs[i] > offs[i - 1]);
		assert_int_equal(offs[i] % 4, 0);
	}
	assert_int_equal(pci_dev_add_msi(d, 4), -EEXIST);
	assert_int_equal(pci_dev_add_msix(d, 8, 0, 0x2000, 0x3000), -EEXIST);

	/* Capabilities List bit and the walk from 0x34. */
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x10, 0x10);
	ptr = cfg_rd(f, 1, 0x34, 1);
	while (ptr && hops < 48) {
		assert_true(ptr >= 0x40 && ptr <= 0xFC);
		assert_int_equal(ptr % 4, 0);
		assert_true(hops < 3);
		assert_int_equal((int)ptr, offs[hops]);
		assert_int_equal(cfg_rd(f, 1, ptr, 1), expect_ids[hops]);
		ptr = cfg_rd(f, 1, ptr + 1, 1);
		hops++;
	}
	assert_int_equal(hops, 3);

	/* Vendor capability: body reads back; the model sees body writes only. */
	for (unsigned int i = 0; i < sizeof(body); i++)
		assert_int_equal(cfg_rd(f, 1, 0x42 + i, 1), body[i]);
	assert_int_equal(cfg_rd(f, 1, 0x40, 4), 0x01100009u | ((unsigned int)offs[1] << 8));
	fd->cfg_calls = 0;
	cfg_wr(f, 1, 0x40, 4, 0xAABBCCDD);
	assert_int_equal(fd->cfg_calls, 1);
	assert_true(fd->cfg_write);
	assert_int_equal(fd->cfg_off, 0x42);
	assert_int_equal(fd->cfg_len, 2);
	assert_int_equal(fd->cfg_val, 0xAABB);
	assert_int_equal(cfg_rd(f, 1, 0x40, 1), 0x09);
	assert_int_equal(cfg_rd(f, 1, 0x41, 1), (unsigned int)offs[1]);

	/* MSI capability: 64-bit, per-vector masking, 4 vectors requested. */
	assert_int_equal(cfg_rd(f, 1, offs[1] + 2, 2), 0x0184);
	/* MSI-X capability: table size, table/PBA offsets with BIR. */
	assert_int_equal(cfg_rd(f, 1, offs[2] + 2, 2), 7);
	assert_int_equal(cfg_rd(f, 1, offs[2] + 4, 4), 0x2000);
	assert_int_equal(cfg_rd(f, 1, offs[2] + 8, 4), 0x3000);
	/* MSI and MSI-X writes stay in the core. */
	fd->cfg_calls = 0;
	cfg_wr(f, 1, offs[1] + 4, 4, 0xFEE00000u);
	cfg_wr(f, 1, offs[2] + 4, 4, 0);
	assert_int_equal(fd->cfg_calls, 0);
	assert_int_equal(cfg_rd(f, 1, offs[2] + 4, 4), 0x2000); /* read-only */

	/* The free area above the capabilities belongs to the model. */
	fd->cfg_calls = 0;
	cfg_wr(f, 1, 0xC4, 4, 0x01020304);
	assert_int_equal(fd->cfg_calls, 1);
	assert_int_equal(fd->cfg_off, 0xC4);
	assert_int_equal(fd->cfg_len, 4);
	assert_int_equal(fd->cfg_val, 0x01020304);
	assert_int_equal(cfg_rd(f, 1, 0xC4, 4), 0x5A5A5A5Au);
	assert_false(fd->cfg_write);
	assert_int_equal(cfg_rd(f, 1, 0xFE, 2), 0x5A5A);
	assert_int_equal(fd->cfg_off, 0xFE);
	/* Below 0xC0 the fake leaves the pre-filled zeros. */
	assert_int_equal(cfg_rd(f, 1, 0xA0, 4), 0);
	assert_int_equal(fd->cfg_off, 0xA0);
}

static void test_caps_full(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);
	uint8_t big[254];
	int off, n = 0, last = 0;

	memset(big, 0x11, sizeof(big));
	assert_int_equal(pci_dev_add_cap(d, 0x09, big, 254), -ENOSPC); /* 0x40 + 256 > 256 */
	assert_int_equal(pci_dev_add_cap(d, 0x09, NULL, 4), -EINVAL);
	while ((off = pci_dev_add_cap(d, 0x09, big, 13)) >= 0 && n < 64) {
		assert_true(off + 15 <= PCI_CONFIG_SIZE);
		assert_int_equal(off % 4, 0);
		last = off;
		n++;
	}
	assert_int_equal(off, -ENOSPC);
	assert_int_equal(n, (0x100 - 0x40) / 16);
	assert_int_equal(cfg_rd(f, 1, last + 1, 1), 0);
	assert_int_equal(pci_dev_add_msi(d, 1), -ENOSPC);
	assert_int_equal(pci_dev_add_cap(d, 0x09, NULL, 0), -ENOSPC);
}

/* ---- MSI-X ---- */

struct msix_setup {
	struct pci_dev *d;
	uint64_t bar;
	uint64_t table;
	uint64_t pba;
	unsigned int cap;
};

static struct msix_setup msix_dev(struct fx *f, unsigned int nvec)
{
	struct msix_setup s;
	int cap;

	s.d = add_dev(f, 0, true);
	add_bar(f, 0, 0, PCI_BAR_MEM32, 16384);
	cap = pci_dev_add_msix(s.d, nvec, 0, 0x2000, 0x3000);
	assert_true(cap >= 0x40);
	s.cap = (unsigned int)cap;
	s.bar = pci_dev_bar_addr(s.d, 0);
	s.table = s.bar + 0x2000;
	s.pba = s.bar + 0x3000;
	cfg_wr(f, 1, 0x04, 2, 0x0006);
	return s;
}

static void msix_program(struct fx *f, struct msix_setup *s, unsigned int v, uint64_t addr,
			 uint32_t data)
{
	wr32(f, s->table + 16 * v, (uint32_t)addr);
	wr32(f, s->table + 16 * v + 4, (uint32_t)(addr >> 32));
	wr32(f, s->table + 16 * v + 8, data);
}

static void test_msix_add_errors(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);

	/* The BAR must exist and be memory. */
	assert_int_equal(pci_dev_add_msix(d, 4, 0, 0, 0x1000), -EINVAL);
	add_bar(f, 0, 0, PCI_BAR_IO, 256);
	assert_int_equal(pci_dev_add_msix(d, 4, 0, 0, 0x80), -EINVAL);
	add_bar(f, 0, 1, PCI_BAR_MEM32, 4096);
	assert_int_equal(pci_dev_add_msix(d, 0, 1, 0, 0x800), -EINVAL);
	assert_int_equal(pci_dev_add_msix(d, PCI_MSIX_MAX_VECTORS + 1, 1, 0, 0x800), -EINVAL);
	assert_int_equal(pci_dev_add_msix(d, 4, 1, 4, 0x800), -EINVAL);	  /* misaligned */
	assert_int_equal(pci_dev_add_msix(d, 4, 1, 0, 0x20), -EINVAL);	  /* overlap */
	assert_int_equal(pci_dev_add_msix(d, 512, 1, 0, 0x800), -EINVAL); /* past the BAR */
	assert_int_equal(pci_dev_add_msix(d, 4, 1, 0xFF8, 0), -EINVAL);
	assert_int_equal(pci_dev_add_msix(d, 4, 7, 0, 0x800), -EINVAL);
	assert_true(pci_dev_add_msix(d, 4, 1, 0, 0x800) >= 0x40);
	assert_int_equal(pci_dev_msix_vector(d, 3, NULL, NULL, NULL), 0);
	assert_int_equal(pci_dev_add_msi(d, 3), -EINVAL);
	assert_int_equal(pci_dev_add_msi(d, 64), -EINVAL);
}

static void test_msix_masking(void **state)
{
	struct fx *f = *state;
	struct msix_setup s = msix_dev(f, 4);
	struct fake_dev *fd = &f->dev[0];
	uint64_t addr, v;
	uint32_t data;
	bool masked;

	/* Neither MSI-X nor MSI enabled. */
	assert_false(pci_dev_msix_enabled(s.d));
	assert_int_equal(pci_dev_notify(s.d, 0), -ENOTCONN);
	assert_int_equal(f->fi.nmsi, 0);

	/* Vectors start masked. */
	assert_int_equal(rd32(f, s.table + 12), 1);
	assert_int_equal(pci_dev_msix_vector(s.d, 1, &addr, &data, &masked), 0);
	assert_true(masked);

	/* Enable. */
	cfg_wr(f, 1, s.cap + 2, 2, 0x8000);
	assert_true(pci_dev_msix_enabled(s.d));
	assert_int_equal(fd->msix_calls, 1);
	assert_int_equal(fd->msix_vector, UINT32_MAX);
	assert_int_equal(cfg_rd(f, 1, s.cap + 2, 2), 0x8003);

	/* Program vector 1: the model hears of each change. */
	fd->msix_calls = 0;
	msix_program(f, &s, 1, 0xFEE01000u, 0x4041);
	assert_int_equal(fd->msix_calls, 2); /* address high stayed 0: no change */
	assert_int_equal(fd->msix_vector, 1);
	assert_int_equal(rd32(f, s.table + 16), 0xFEE01000u);
	assert_int_equal(rd32(f, s.table + 24), 0x4041);

	/* Masked vector: pending bit, no message. */
	assert_int_equal(pci_dev_notify(s.d, 1), 0);
	assert_int_equal(f->fi.nmsi, 0);
	assert_int_equal(rd32(f, s.pba), 0x2);
	/* The PBA is read-only. */
	wr32(f, s.pba, 0);
	assert_int_equal(rd32(f, s.pba), 0x2);

	/* Unmask: the pending message goes out and the bit clears. */
	wr32(f, s.table + 16 + 12, 0);
	assert_int_equal(f->fi.nmsi, 1);
	assert_int_equal(f->fi.msi[0].addr, 0xFEE01000u);
	assert_int_equal(f->fi.msi[0].data, 0x4041);
	assert_int_equal(rd32(f, s.pba), 0);
	assert_int_equal(fd->msix_vector, 1);
	assert_int_equal(pci_dev_msix_vector(s.d, 1, &addr, &data, &masked), 0);
	assert_int_equal(addr, 0xFEE01000u);
	assert_int_equal(data, 0x4041);
	assert_false(masked);

	/* Unmasked: sent at once. */
	assert_int_equal(pci_dev_notify(s.d, 1), 0);
	assert_int_equal(f->fi.nmsi, 2);
	assert_int_equal(f->fi.msi[1].data, 0x4041);

	/* Unmask with nothing pending: nothing sent. */
	wr32(f, s.table + 16 + 12, 1);
	wr32(f, s.table + 16 + 12, 0);
	assert_int_equal(f->fi.nmsi, 2);

	/* Function mask: vector unmasked, function masked -> pending. */
	fd->msix_calls = 0;
	cfg_wr(f, 1, s.cap + 2, 2, 0xC000);
	assert_int_equal(fd->msix_calls, 1);
	assert_int_equal(fd->msix_vector, UINT32_MAX);
	assert_int_equal(pci_dev_msix_vector(s.d, 1, NULL, NULL, &masked), 0);
	assert_true(masked);
	assert_int_equal(pci_dev_notify(s.d, 1), 0);
	assert_int_equal(f->fi.nmsi, 2);
	assert_int_equal(rd32(f, s.pba), 0x2);
	/* Vector 2 is masked itself and also pending. */
	msix_program(f, &s, 2, 0xFEE02000u, 0x4042);
	assert_int_equal(pci_dev_notify(s.d, 2), 0);
	assert_int_equal(rd32(f, s.pba), 0x6);
	/* Clearing the function mask sends vector 1 only. */
	cfg_wr(f, 1, s.cap + 3, 1, 0x80);
	assert_int_equal(f->fi.nmsi, 3);
	assert_int_equal(f->fi.msi[2].addr, 0xFEE01000u);
	assert_int_equal(rd32(f, s.pba), 0x4);
	/* An 8-byte write of data + vector control unmasks vector 2. */
	assert_int_equal(mmio_wr(f, s.table + 32 + 8, 8, 0x0000000000004052ull), 0);
	assert_int_equal(f->fi.nmsi, 4);
	assert_int_equal(f->fi.msi[3].addr, 0xFEE02000u);
	assert_int_equal(f->fi.msi[3].data, 0x4052);
	assert_int_equal(rd32(f, s.pba), 0);

	/* Out of range vectors. */
	assert_int_equal(pci_dev_notify(s.d, 4), -EINVAL);
	assert_int_equal(pci_dev_notify(s.d, UINT32_MAX), -EINVAL);
	assert_int_equal(pci_dev_msix_vector(s.d, 4, &addr, &data, &masked), -EINVAL);
	assert_int_equal(f->fi.nmsi, 4);

	/* Disable: notify falls back (no MSI) and the model is told. */
	fd->msix_calls = 0;
	cfg_wr(f, 1, s.cap + 2, 2, 0x0000);
	assert_false(pci_dev_msix_enabled(s.d));
	assert_int_equal(fd->msix_calls, 1);
	assert_int_equal(fd->msix_vector, UINT32_MAX);
	assert_int_equal(pci_dev_notify(s.d, 1), -ENOTCONN);
	(void)v;
}

static void test_msix_table_access(void **state)
{
	struct fx *f = *state;
	struct msix_setup s = msix_dev(f, 4);
	struct fake_dev *fd = &f->dev[0];
	uint64_t v;

	msix_program(f, &s, 0, 0xFEE00000u, 0x1234);

	/* Wrong sizes and misaligned accesses are ignored. */
	fd->msix_calls = 0;
	assert_int_equal(mmio_wr(f, s.table + 8, 2, 0xFFFF), 0);
	assert_int_equal(mmio_wr(f, s.table + 8, 1, 0xFF), 0);
	assert_int_equal(mmio_wr(f, s.table + 9, 4, 0xFFFFFFFF), 0);
	assert_int_equal(mmio_wr(f, s.table + 4, 8, 0xFFFFFFFFFFFFFFFFull), 0);
	assert_int_equal(fd->msix_calls, 0);
	assert_int_equal(rd32(f, s.table + 8), 0x1234);
	assert_int_equal(rd32(f, s.table + 4), 0);
	assert_int_equal(mmio_rd(f, s.table + 8, 2, &v), 0);
	assert_int_equal(v, 0xFFFF);
	assert_int_equal(mmio_rd(f, s.table + 8, 1, &v), 0);
	assert_int_equal(v, 0xFF);
	/* None of that reached the model's BAR handler. */
	assert_int_equal(fd->bar_calls, 0);

	/* 8-byte address write and read. */
	assert_int_equal(mmio_wr(f, s.table + 48, 8, 0x00000001FEE03000ull), 0);
	assert_int_equal(fd->msix_vector, 3);
	assert_int_equal(mmio_rd(f, s.table + 48, 8, &v), 0);
	assert_int_equal(v, 0x00000001FEE03000ull);
	/* Address bits 1:0 and reserved vector-control bits read 0. */
	wr32(f, s.table + 48, 0xFEE03003u);
	assert_int_equal(rd32(f, s.table + 48), 0xFEE03000u);
	wr32(f, s.table + 48 + 12, 0xFFFFFFFFu);
	assert_int_equal(rd32(f, s.table + 48 + 12), 1);

	/* PBA: 8-byte read, odd sizes read ones, beyond the PBA goes to the model. */
	assert_int_equal(mmio_rd(f, s.pba, 8, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(mmio_rd(f, s.pba, 2, &v), 0);
	assert_int_equal(v, 0xFFFF);

	/* The rest of the BAR reaches the model with BAR-relative offsets. */
	assert_int_equal(mmio_rd(f, s.bar + 0x100, 4, &v), 0);
	assert_int_equal(fd->bar_calls, 1);
	assert_int_equal(fd->bar_off, 0x100);
	assert_int_equal(v, 0xA5000100u);
	assert_int_equal(mmio_wr(f, s.table + 16 * 4, 4, 7), 0); /* just past the table */
	assert_int_equal(fd->bar_off, 0x2040);
	assert_true(fd->bar_write);
	assert_int_equal(mmio_rd(f, s.pba + 8, 4, &v), 0); /* just past the PBA */
	assert_int_equal(fd->bar_off, 0x3008);
	assert_int_equal(mmio_rd(f, s.bar + 0x3FFC, 4, &v), 0);
	assert_int_equal(fd->bar_off, 0x3FFC);

	/* After moving the BAR the table follows. */
	cfg_wr(f, 1, 0x10, 4, 0xD0000000u);
	assert_int_equal(rd32(f, 0xD0000000u + 0x2000 + 8), 0x1234);
	assert_int_equal(mmio_rd(f, s.table + 8, 4, &v), -ENOENT);
}

static void test_msix_large(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, false);
	uint64_t bar, v;
	int cap;

	add_bar(f, 0, 2, PCI_BAR_MEM64, 65536);
	cap = pci_dev_add_msix(d, PCI_MSIX_MAX_VECTORS, 2, 0, 0x8000);
	assert_true(cap >= 0x40);
	assert_int_equal(cfg_rd(f, 1, cap + 2, 2), PCI_MSIX_MAX_VECTORS - 1);
	assert_int_equal(cfg_rd(f, 1, cap + 4, 4), 2);
	assert_int_equal(cfg_rd(f, 1, cap + 8, 4), 0x8002);
	bar = pci_dev_bar_addr(d, 2);
	cfg_wr(f, 1, 0x04, 2, 0x0002);
	cfg_wr(f, 1, cap + 2, 2, 0x8000);
	/* Pend the last vector, then unmask it. */
	wr32(f, bar + 16 * 2047, 0xFEE00000u);
	wr32(f, bar + 16 * 2047 + 8, 0x77);
	assert_int_equal(pci_dev_notify(d, 2047), 0);
	assert_int_equal(pci_dev_notify(d, 2048), -EINVAL);
	assert_int_equal(mmio_rd(f, bar + 0x8000 + 31 * 8, 8, &v), 0);
	assert_int_equal(v, 1ull << 63);
	assert_int_equal(mmio_rd(f, bar + 0x8000 + 31 * 8 + 4, 4, &v), 0);
	assert_int_equal(v, 0x80000000u);
	wr32(f, bar + 16 * 2047 + 12, 0);
	assert_int_equal(f->fi.nmsi, 1);
	assert_int_equal(f->fi.msi[0].data, 0x77);
}

/* ---- MSI ---- */

static void test_msi(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, true);
	int cap = pci_dev_add_msi(d, 4);
	unsigned int c;

	assert_true(cap >= 0x40);
	c = (unsigned int)cap;
	assert_int_equal(pci_dev_notify(d, 0), -ENOTCONN);
	assert_false(pci_dev_msi_enabled(d));

	cfg_wr(f, 1, c + 4, 4, 0xFEE01003u); /* bits 1:0 read 0 */
	cfg_wr(f, 1, c + 8, 4, 0x00000002u);
	cfg_wr(f, 1, c + 12, 4, 0xFFFF0030u); /* extended data bits read 0 */
	assert_int_equal(cfg_rd(f, 1, c + 4, 4), 0xFEE01000u);
	assert_int_equal(cfg_rd(f, 1, c + 12, 4), 0x0030);
	/* Enable with 4 vectors (MME = 2); MMC and the capability bits stay. */
	cfg_wr(f, 1, c + 2, 2, 0x0021 | 0x000E);
	assert_true(pci_dev_msi_enabled(d));
	assert_int_equal(cfg_rd(f, 1, c + 2, 2), 0x01A5);

	assert_int_equal(pci_dev_notify(d, 0), 0);
	assert_int_equal(pci_dev_notify(d, 3), 0);
	assert_int_equal(f->fi.nmsi, 2);
	assert_int_equal(f->fi.msi[0].addr, 0x2FEE01000ull);
	assert_int_equal(f->fi.msi[0].data, 0x30);
	assert_int_equal(f->fi.msi[1].data, 0x33);
	assert_int_equal(pci_dev_notify(d, 4), -EINVAL);
	assert_int_equal(pci_dev_notify(d, UINT32_MAX), -EINVAL);

	/* Per-vector mask: pending while masked, sent on unmask. */
	cfg_wr(f, 1, c + 16, 4, 0xFFFFFFFFu);
	assert_int_equal(cfg_rd(f, 1, c + 16, 4), 0xF); /* only 4 mask bits */
	cfg_wr(f, 1, c + 16, 4, 0x4);
	assert_int_equal(pci_dev_notify(d, 2), 0);
	assert_int_equal(f->fi.nmsi, 2);
	assert_int_equal(cfg_rd(f, 1, c + 20, 4), 0x4);
	cfg_wr(f, 1, c + 20, 4, 0); /* pending bits are read-only */
	assert_int_equal(cfg_rd(f, 1, c + 20, 4), 0x4);
	cfg_wr(f, 1, c + 16, 4, 0);
	assert_int_equal(f->fi.nmsi, 3);
	assert_int_equal(f->fi.msi[2].data, 0x32);
	assert_int_equal(cfg_rd(f, 1, c + 20, 4), 0);

	/* One vector allocated: every vector uses the programmed data. */
	cfg_wr(f, 1, c + 2, 2, 0x0001);
	assert_int_equal(pci_dev_notify(d, 3), 0);
	assert_int_equal(f->fi.msi[3].data, 0x30);

	/* MSI-X not present: disabling MSI leaves INTx. */
	cfg_wr(f, 1, c + 2, 2, 0x0000);
	assert_false(pci_dev_msi_enabled(d));
	assert_int_equal(pci_dev_notify(d, 0), -ENOTCONN);
	assert_int_equal(f->fi.nmsi, 4);
}

static void test_msix_over_msi(void **state)
{
	struct fx *f = *state;
	struct msix_setup s = msix_dev(f, 2);
	int msi = pci_dev_add_msi(s.d, 1);

	assert_true(msi > 0);
	cfg_wr(f, 1, (unsigned int)msi + 4, 4, 0xFEE0F000u);
	cfg_wr(f, 1, (unsigned int)msi + 2, 2, 0x0001);
	msix_program(f, &s, 0, 0xFEE0A000u, 0x99);
	wr32(f, s.table + 12, 0);
	cfg_wr(f, 1, s.cap + 2, 2, 0x8000);
	assert_int_equal(pci_dev_notify(s.d, 0), 0);
	assert_int_equal(f->fi.nmsi, 1);
	assert_int_equal(f->fi.msi[0].addr, 0xFEE0A000u);
	cfg_wr(f, 1, s.cap + 2, 2, 0x0000);
	assert_int_equal(pci_dev_notify(s.d, 0), 0);
	assert_int_equal(f->fi.msi[1].addr, 0xFEE0F000u);
}

/* ---- INTx ---- */

static void test_intx(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = add_dev(f, 0, true);
	struct pci_dev_info noirq = { .name = "nointx", .vendor_id = 0x8086, .device_id = 0x100e };
	struct pci_dev *d2;
	unsigned int gsi = pci_dev_gsi(d);

	assert_int_equal(gsi, GSI_PCI_FIRST + 1);
	pci_dev_set_intx(d, 1);
	assert_int_equal(f->fi.nlevel, 1);
	assert_int_equal(f->fi.level[0].gsi, gsi);
	assert_int_equal(f->fi.level[0].level, 1);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, 0x8);
	/* Same level: no new call. */
	pci_dev_set_intx(d, 1);
	assert_int_equal(f->fi.nlevel, 1);

	/* Interrupt Disable while high: the line drops, the status bit stays. */
	cfg_wr(f, 1, 0x04, 2, 0x0400);
	assert_int_equal(f->fi.nlevel, 2);
	assert_int_equal(f->fi.level[1].level, 0);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, 0x8);
	/* Level changes while disabled touch only the status bit. */
	pci_dev_set_intx(d, 0);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, 0);
	pci_dev_set_intx(d, 1);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, 0x8);
	assert_int_equal(f->fi.nlevel, 2);
	/* Writing status does not clear the interrupt status. */
	cfg_wr(f, 1, 0x06, 2, 0xFFFF);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, 0x8);
	/* Re-enable: the line rises again. */
	cfg_wr(f, 1, 0x04, 2, 0x0000);
	assert_int_equal(f->fi.nlevel, 3);
	assert_int_equal(f->fi.level[2].gsi, gsi);
	assert_int_equal(f->fi.level[2].level, 1);
	pci_dev_set_intx(d, 0);
	assert_int_equal(f->fi.nlevel, 4);
	assert_int_equal(f->fi.level[3].level, 0);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, 0);
	/* Toggling disable while low: nothing to drive. */
	cfg_wr(f, 1, 0x04, 2, 0x0400);
	cfg_wr(f, 1, 0x04, 2, 0x0000);
	assert_int_equal(f->fi.nlevel, 4);

	/* A device without INTx never drives a line. */
	d2 = pci_dev_new(f->bus, &noirq, NULL, NULL);
	assert_non_null(d2);
	pci_dev_set_intx(d2, 1);
	assert_int_equal(f->fi.nlevel, 4);
	assert_int_equal(cfg_rd(f, 2, 0x06, 2) & 0x8, 0);
}

/*
 * Two devices whose slots map to one GSI share the line, wired-OR: it is
 * high while either drives it, and one letting go does not hide the
 * other's interrupt.
 */
static void test_intx_shared(void **state)
{
	struct fx *f = *state;
	struct pci_dev_info info = {
		.name = "a", .vendor_id = 0x8086, .device_id = 0x100e, .intx = true, .slot = 3
	};
	struct pci_dev *a, *b, *c;
	unsigned int gsi = GSI_PCI_FIRST + 3;

	a = pci_dev_new(f->bus, &info, NULL, NULL);
	info.name = "b";
	info.slot = 11;
	b = pci_dev_new(f->bus, &info, NULL, NULL);
	info.name = "c";
	info.slot = 4;
	c = pci_dev_new(f->bus, &info, NULL, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(pci_dev_gsi(a), gsi);
	assert_int_equal(pci_dev_gsi(b), gsi);
	assert_int_equal(cfg_rd(f, 11, 0x3C, 1), gsi);

	pci_dev_set_intx(a, 1);
	assert_int_equal(f->fi.nlevel, 1);
	assert_int_equal(f->fi.level[0].gsi, gsi);
	assert_int_equal(f->fi.level[0].level, 1);
	/* b joins: the line is high already. */
	pci_dev_set_intx(b, 1);
	assert_int_equal(f->fi.nlevel, 1);
	/* a lets go: b still drives it, so the line stays up. */
	pci_dev_set_intx(a, 0);
	assert_int_equal(f->fi.nlevel, 1);
	/* Another GSI is its own line. */
	pci_dev_set_intx(c, 1);
	assert_int_equal(f->fi.nlevel, 2);
	assert_int_equal(f->fi.level[1].gsi, GSI_PCI_FIRST + 4);
	assert_int_equal(f->fi.level[1].level, 1);
	/* b lets go, the last one: the line drops. */
	pci_dev_set_intx(b, 0);
	assert_int_equal(f->fi.nlevel, 3);
	assert_int_equal(f->fi.level[2].gsi, gsi);
	assert_int_equal(f->fi.level[2].level, 0);
	/* Interrupt Disable counts as letting go. */
	pci_dev_set_intx(a, 1);
	pci_dev_set_intx(b, 1);
	assert_int_equal(f->fi.nlevel, 4);
	cfg_wr(f, 3, 0x04, 2, 0x0400);
	assert_int_equal(f->fi.nlevel, 4);
	cfg_wr(f, 11, 0x04, 2, 0x0400);
	assert_int_equal(f->fi.nlevel, 5);
	assert_int_equal(f->fi.level[4].level, 0);
	cfg_wr(f, 11, 0x04, 2, 0x0000);
	assert_int_equal(f->fi.nlevel, 6);
	assert_int_equal(f->fi.level[5].level, 1);
	pci_dev_set_intx(b, 0);
	assert_int_equal(f->fi.nlevel, 7);
	assert_int_equal(f->fi.level[6].level, 0);
	/* Still disabled, a's level moves nothing. */
	pci_dev_set_intx(a, 0);
	cfg_wr(f, 3, 0x04, 2, 0x0000);
	assert_int_equal(f->fi.nlevel, 7);
	pci_dev_set_intx(c, 0);
	assert_int_equal(f->fi.nlevel, 8);
}

/* ---- hostile guest ---- */

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

static void test_hostile_config(void **state)
{
	struct fx *f = *state;
	struct msix_setup s = msix_dev(f, 16);
	static const uint8_t body[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	uint32_t seed = 12345;
	unsigned int cap_ptr;

	assert_true(pci_dev_add_msi(s.d, 8) > 0);
	assert_true(pci_dev_add_cap(s.d, 0x09, body, sizeof(body)) > 0);
	add_bar(f, 0, 1, PCI_BAR_IO, 64);
	add_bar(f, 0, 2, PCI_BAR_MEM64, 8192);
	cap_ptr = cfg_rd(f, 1, 0x34, 1);

	for (unsigned int i = 0; i < 50000; i++) {
		uint32_t r = lcg(&seed);
		unsigned int lens[3] = { 1, 2, 4 };
		unsigned int len = lens[r % 3];
		unsigned int slot = (r >> 8) % 3;
		uint32_t val = lcg(&seed);
		uint16_t port;
		uint64_t v;

		/* Mostly our device, sometimes the host bridge and an empty slot. */
		out(f, 0xCF8, 4, (lcg(&seed) & 0xFC) | 0x80000000u | (slot << 11));
		port = (uint16_t)(0xCFC + (r >> 16) % 4);
		if (r & 0x80000000u)
			out(f, port, len, val);
		else
			(void)in(f, port, len);
		/* Interrupts and BAR traffic in between. */
		(void)pci_dev_notify(s.d, (r >> 4) % 20);
		pci_dev_set_intx(s.d, (int)(r & 1));
		(void)mmio_wr(f, s.table + (val % 0x300), lens[(r >> 12) % 3], val);
		(void)mmio_rd(f, s.pba + (val % 16), lens[(r >> 14) % 3], &v);
	}
	/* The read-only parts survived, and the bus still answers. */
	assert_int_equal(cfg_rd(f, 0, 0, 4), 0x12378086u);
	assert_int_equal(cfg_rd(f, 1, 0, 4), 0x10411af4u);
	assert_int_equal(cfg_rd(f, 1, 0x34, 1), cap_ptr);
	assert_int_equal(cfg_rd(f, 1, s.cap, 1), 0x11);
	assert_int_equal(cfg_rd(f, 1, s.cap + 2, 2) & 0x3FFF, 15);
	assert_true(f->pio.nr >= 2);
	assert_int_equal(in(f, 0xCF8, 4) & ~0x80FFFFFCu, 0);
}

/* ---- threads ---- */

struct thr_arg {
	struct fx *f;
	struct msix_setup *s;
	unsigned int iters;
	int final_level;
	unsigned int notifies;
};

static void *thr_guest(void *p)
{
	struct thr_arg *a = p;
	uint64_t v;

	for (unsigned int i = 0; i < a->iters; i++) {
		/* Mask/unmask vector 0, toggle INTx disable, move the BAR back and forth. */
		(void)mmio_wr(a->f, a->s->table + 12, 4, i & 1);
		pci_bus_config_write(a->f->bus, 1, 0, 0x04, 2, (i & 2) ? 0x0406 : 0x0006);
		if (i % 64 == 0)
			pci_bus_config_write(a->f->bus, 1, 0, 0x10, 4,
					     (i & 64) ? 0xD0000000u : (uint32_t)a->s->bar);
		(void)mmio_rd(a->f, a->s->table + 8, 4, &v);
	}
	return NULL;
}

static void *thr_device(void *p)
{
	struct thr_arg *a = p;

	for (unsigned int i = 0; i < a->iters; i++) {
		if (pci_dev_notify(a->s->d, 0) == 0)
			a->notifies++;
		a->final_level = (int)((i >> 1) & 1);
		pci_dev_set_intx(a->s->d, a->final_level);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	struct msix_setup s = msix_dev(f, 2);
	struct thr_arg ga = { .f = f, .s = &s, .iters = 20000 };
	struct thr_arg da = { .f = f, .s = &s, .iters = 20000 };
	pthread_t g, d;
	unsigned int sent;

	msix_program(f, &s, 0, 0xFEE00000u, 0x21);
	cfg_wr(f, 1, s.cap + 2, 2, 0x8000);
	assert_int_equal(pthread_create(&g, NULL, thr_guest, &ga), 0);
	assert_int_equal(pthread_create(&d, NULL, thr_device, &da), 0);
	pthread_join(g, NULL);
	pthread_join(d, NULL);

	/* Put the BAR back, unmask: nothing stays pending, nothing was invented. */
	pci_bus_config_write(f->bus, 1, 0, 0x10, 4, (uint32_t)s.bar);
	pci_bus_config_write(f->bus, 1, 0, 0x04, 2, 0x0006);
	wr32(f, s.table + 12, 0);
	assert_int_equal(rd32(f, s.pba), 0);
	sent = f->fi.nmsi;
	assert_true(sent >= 1);
	assert_true(sent <= da.notifies);
	for (unsigned int i = 0; i < MIN(sent, MAX_EVENTS); i++)
		assert_int_equal(f->fi.msi[i].data, 0x21);
	/* The line changed on every call and ended where the device left it. */
	assert_int_equal(f->fi.level_repeats, 0);
	assert_int_equal(f->fi.last_level, da.final_level);
	assert_int_equal(cfg_rd(f, 1, 0x06, 2) & 0x8, da.final_level ? 0x8 : 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cf8_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_relocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_changed_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_masking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_table_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_over_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
