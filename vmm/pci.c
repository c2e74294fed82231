/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI core: bus 0 behind a host bridge, configuration mechanism #1, type 0
 * headers, BARs, capabilities, MSI, MSI-X and INTx (see pci.h).
 *
 * Config space is three byte arrays per device: the value, a write mask and a
 * write-1-to-clear mask; a fourth array says which bytes the core owns and
 * which go to the model's config_access (capability bodies added with
 * pci_dev_add_cap and the free area from 0x40 up). Side effects (BAR
 * registration, INTx, pending MSI/MSI-X delivery) follow every write.
 *
 * Threads and locks:
 * - vCPU threads enter through the 0xCF8/0xCFC handlers and the BAR handlers;
 *   device models call pci_dev_notify() and pci_dev_set_intx() from any
 *   thread (vCPU or event loop).
 * - bus->config_addr is one atomic word; the slot table is filled at setup
 *   and read with atomic loads (devices are freed only by pci_bus_free()).
 * - bus->lock guards slot allocation and the BAR window cursors.
 * - dev->lock guards config space, BAR registration and MSI/MSI-X state. It is
 *   held across iobus_register()/iobus_unregister() (iobus never calls out
 *   under its own lock), but never across device ops or send_msi(): a BAR
 *   move is recorded under it and reported to ops->bar_changed once it is
 *   dropped, so models may call back into the core (and take their own locks
 *   before the core's) from there.
 * - dev->intx_lock orders a device's INTx changes; bus->intx_lock orders
 *   those of every device on a GSI (devices whose slots map to one GSI share
 *   it, wired-OR: bus->intx_high counts the devices driving each line high)
 *   and is held across vm_irq->set_level() so that the irq chip sees the
 *   levels in the order the state changed. set_level() must not call back
 *   into the PCI core.
 * - Lock order: dev->intx_lock -> dev->lock -> bus->lock / iobus lock;
 *   dev->intx_lock -> bus->intx_lock.
 * - The MSI-X layout (BAR, table and PBA offsets) is fixed at setup, before
 *   the guest runs, so the BAR handler reads it without the lock.
 */
#define LOG_COMPONENT "pci"
#include "vmm/pci.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type 0 header registers. */
#define PCI_REG_VENDOR 0x00
#define PCI_REG_DEVICE 0x02
#define PCI_REG_COMMAND 0x04
#define PCI_REG_STATUS 0x06
#define PCI_REG_REVISION 0x08
#define PCI_REG_CLASS 0x09
#define PCI_REG_CACHE_LINE 0x0C
#define PCI_REG_HEADER_TYPE 0x0E
#define PCI_REG_BAR0 0x10
#define PCI_REG_BAR_END 0x28
#define PCI_REG_SUBSYS_VENDOR 0x2C
#define PCI_REG_SUBSYS_ID 0x2E
#define PCI_REG_CAP_PTR 0x34
#define PCI_REG_INT_LINE 0x3C
#define PCI_REG_INT_PIN 0x3D
#define PCI_CAP_START 0x40

#define PCI_CMD_IO 0x0001
#define PCI_CMD_MEM 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_CMD_SERR 0x0100
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_CMD_WMASK \
	(PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_SERR | PCI_CMD_INTX_DISABLE)

#define PCI_STATUS_INTX 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
/* Parity, target/master abort, system error: write 1 to clear. */
#define PCI_STATUS_W1C 0xF900

#define PCI_BAR_FLAG_IO 0x1u
#define PCI_BAR_FLAG_MEM64 0x4u
#define PCI_BAR_IO_ADDR_MASK (~0x3u)
#define PCI_BAR_MEM_ADDR_MASK (~0xFu)
#define PCI_IO_SPACE_END 0x10000ull

/* Config mechanism #1 address register. */
#define PCI_CFA_ENABLE 0x80000000u
#define PCI_CFA_VALID_BITS 0x80FFFFFCu /* reserved 30:24 and 1:0 read 0 */

#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x1237
#define PCI_HOST_CLASS 0x060000

/* MSI capability (64-bit address, per-vector masking). */
#define PCI_CAP_ID_MSI 0x05
#define MSI_CTRL 2
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA 12
#define MSI_MASK 16
#define MSI_PENDING 20
#define MSI_CAP_SIZE 24
#define MSI_CTRL_ENABLE 0x0001
#define MSI_CTRL_MMC_SHIFT 1
#define MSI_CTRL_MME_SHIFT 4
#define MSI_CTRL_64BIT 0x0080
#define MSI_CTRL_PVM 0x0100
#define MSI_MAX_VECTORS 32

/* MSI-X capability and table. */
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CTRL 2
#define MSIX_TABLE 4
#define MSIX_PBA 8
#define MSIX_CAP_SIZE 12
#define MSIX_CTRL_FMASK 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_WORDS 4
#define MSIX_ADDR_LO 0
#define MSIX_ADDR_HI 1
#define MSIX_DATA 2
#define MSIX_VCTRL 3
#define MSIX_VCTRL_MASK 0x1u

/* Who serves a config byte. */
enum pci_cfg_owner {
	PCI_OWN_CORE = 0,
	PCI_OWN_DEV = 1,
};

#define PCI_NAME_LEN 32

struct pci_bar {
	struct pci_dev *dev;
	unsigned int index;
	bool used;     /* declared, or the upper half of a MEM64 BAR */
	uint64_t size; /* 0 unless declared (the lower slot for MEM64) */
	enum pci_bar_type type;
	io_handler_fn fn;
	void *opaque;
	bool registered; /* on the bus at reg_base */
	uint64_t reg_base;
	char name[IOBUS_NAME_LEN];
};

struct pci_dev {
	struct pci_bus *bus;
	unsigned int slot;
	unsigned int gsi;
	char name[PCI_NAME_LEN];
	struct pci_dev_info info;
	const struct pci_dev_ops *ops;
	void *opaque;

	pthread_mutex_t intx_lock;
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];
	uint8_t w1cmask[PCI_CONFIG_SIZE];
	uint8_t owner[PCI_CONFIG_SIZE];
	unsigned int cap_next; /* first free offset for a capability */
	unsigned int cap_last; /* offset of the last capability, 0 if none */
	struct pci_bar bars[PCI_NUM_BARS];

	int intx_level; /* the device's INTA# level */
	int intx_line;	/* level last driven on the GSI */

	unsigned int msi_cap; /* config offset, 0 if absent */
	unsigned int msi_nvec;

	unsigned int msix_cap; /* config offset, 0 if absent */
	unsigned int msix_nvec;
	unsigned int msix_bar;
	uint64_t msix_table_off;
	uint64_t msix_table_len;
	uint64_t msix_pba_off;
	uint64_t msix_pba_len;
	uint32_t *msix_table; /* msix_nvec * MSIX_ENTRY_WORDS */
	uint64_t *msix_pba;
};

struct pci_bus {
	struct io_bus *pio;
	struct io_bus *mmio;
	const struct vm_irq *irq;
	pthread_mutex_t lock;
	pthread_mutex_t intx_lock;
	/* How many devices drive GSI GSI_PCI_FIRST + i high (under intx_lock). */
	unsigned int intx_high[GSI_PCI_COUNT];
	uint32_t config_addr;		      /* atomic */
	struct pci_dev *slots[PCI_MAX_SLOTS]; /* atomic loads; set once */
	uint64_t io_next;
	uint64_t mmio_next;
};

struct pci_msg {
	uint64_t addr;
	uint32_t data;
};

/* ---- little-endian helpers ---- */

static uint32_t pci_le_get(const uint8_t *p, unsigned int len)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void pci_le_put(uint8_t *p, unsigned int len, uint32_t v)
{
	for (unsigned int i = 0; i < len && i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t pci_ones(unsigned int len)
{
	return len >= 4 ? UINT32_MAX : (1u << (8 * len)) - 1;
}

static uint16_t cfg_get16(const struct pci_dev *dev, unsigned int off)
{
	return (uint16_t)pci_le_get(&dev->cfg[off], 2);
}

static uint32_t cfg_get32(const struct pci_dev *dev, unsigned int off)
{
	return pci_le_get(&dev->cfg[off], 4);
}

static void cfg_set8(struct pci_dev *dev, unsigned int off, uint8_t v)
{
	dev->cfg[off] = v;
}

static void cfg_set16(struct pci_dev *dev, unsigned int off, uint16_t v)
{
	pci_le_put(&dev->cfg[off], 2, v);
}

static void cfg_set32(struct pci_dev *dev, unsigned int off, uint32_t v)
{
	pci_le_put(&dev->cfg[off], 4, v);
}

static uint32_t wmask_get32(const struct pci_dev *dev, unsigned int off)
{
	return pci_le_get(&dev->wmask[off], 4);
}

static void wmask_set16(struct pci_dev *dev, unsigned int off, uint16_t v)
{
	pci_le_put(&dev->wmask[off], 2, v);
}

static void wmask_set32(struct pci_dev *dev, unsigned int off, uint32_t v)
{
	pci_le_put(&dev->wmask[off], 4, v);
}

static void pci_send_msi(const struct pci_dev *dev, const struct pci_msg *m)
{
	const struct vm_irq *irq = dev->bus->irq;
	int ret;

	if (!irq || !irq->send_msi)
		return;
	ret = irq->send_msi(irq->opaque, m->addr, m->data);
	if (ret < 0)
		log_warn_rl("%s: MSI %#llx/%#x not delivered: %s", dev->name,
			    (unsigned long long)m->addr, m->data, strerror(-ret));
}

/* ---- BARs ---- */

static void pci_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct pci_overlap {
	uint64_t base;
	uint64_t last;
	bool hit;
	char name[IOBUS_NAME_LEN];
};

static void pci_overlap_fn(const struct io_range *r, void *arg)
{
	struct pci_overlap *o = arg;

	if (o->hit)
		return;
	if (r->base <= o->last && o->base <= r->base + (r->len - 1)) {
		o->hit = true;
		memcpy(o->name, r->name, sizeof(o->name));
		o->name[sizeof(o->name) - 1] = '\0';
	}
}

static struct io_bus *pci_bar_iobus(const struct pci_bar *bar)
{
	return bar->type == PCI_BAR_IO ? bar->dev->bus->pio : bar->dev->bus->mmio;
}

/*
 * The address a BAR decodes now, or false when it must not be on the bus:
 * decoding off, address 0, the sizing pattern (all writable bits set), or a
 * range outside the address space. Called with dev->lock held.
 */
static bool pci_bar_decode_addr(const struct pci_dev *dev, const struct pci_bar *bar,
				uint64_t *addr)
{
	unsigned int off = PCI_REG_BAR0 + 4 * bar->index;
	uint16_t cmd = cfg_get16(dev, PCI_REG_COMMAND);
	uint32_t lo = cfg_get32(dev, off), lo_mask = wmask_get32(dev, off);
	uint64_t a, last;

	if (lo_mask && (lo & lo_mask) == lo_mask)
		return false;
	switch (bar->type) {
	case PCI_BAR_IO:
		if (!(cmd & PCI_CMD_IO))
			return false;
		a = lo & PCI_BAR_IO_ADDR_MASK;
		if (a + bar->size > PCI_IO_SPACE_END)
			return false;
		break;
	case PCI_BAR_MEM32:
		if (!(cmd & PCI_CMD_MEM))
			return false;
		a = lo & PCI_BAR_MEM_ADDR_MASK;
		break;
	case PCI_BAR_MEM64: {
		uint32_t hi = cfg_get32(dev, off + 4), hi_mask = wmask_get32(dev, off + 4);

		if (!(cmd & PCI_CMD_MEM))
			return false;
		if (hi_mask && (hi & hi_mask) == hi_mask)
			return false;
		a = (lo & PCI_BAR_MEM_ADDR_MASK) | ((uint64_t)hi << 32);
		break;
	}
	default: return false;
	}
	if (a == 0 || add_overflows_u64(a, bar->size - 1, &last))
		return false;
	*addr = a;
	return true;
}

/* Where a BAR is on the bus, or PCI_BAR_UNMAPPED. dev->lock held. */
static uint64_t pci_bar_mapped(const struct pci_bar *bar)
{
	return bar->registered ? bar->reg_base : PCI_BAR_UNMAPPED;
}

/* Brings one BAR's bus registration in line with config space. dev->lock held. */
static void pci_bar_update(struct pci_dev *dev, struct pci_bar *bar)
{
	struct io_bus *iob = pci_bar_iobus(bar);
	struct pci_overlap ov;
	uint64_t addr = 0;
	bool want;
	int ret;

	if (!bar->size || !iob)
		return;
	want = pci_bar_decode_addr(dev, bar, &addr);
	if (bar->registered && (!want || addr != bar->reg_base)) {
		if (iobus_unregister(iob, bar->reg_base, bar) < 0)
			log_warn_rl("%s: BAR %u at %#llx was not on the %s bus", dev->name,
				    bar->index, (unsigned long long)bar->reg_base, iob->name);
		bar->registered = false;
	}
	if (!want || bar->registered)
		return;
	/* Check first: iobus_register() logs overlaps without a rate limit. */
	ov = (struct pci_overlap){ .base = addr, .last = addr + (bar->size - 1) };
	iobus_for_each(iob, pci_overlap_fn, &ov);
	if (ov.hit) {
		log_warn_rl("00:%02x.0 %s: BAR %u at %#llx-%#llx overlaps %s: left unmapped",
			    dev->slot, dev->name, bar->index, (unsigned long long)ov.base,
			    (unsigned long long)ov.last, ov.name);
		return;
	}
	ret = iobus_register(iob, addr, bar->size, pci_bar_io, bar, bar->name);
	if (ret < 0) {
		log_warn_rl("00:%02x.0 %s: BAR %u at %#llx not mapped: %s", dev->slot, dev->name,
			    bar->index, (unsigned long long)addr, strerror(-ret));
		return;
	}
	bar->registered = true;
	bar->reg_base = addr;
}

/* A BAR that changed where it is decoded, for ops->bar_changed. */
struct pci_bar_move {
	unsigned int bar;
	uint64_t old_addr;
	uint64_t new_addr;
};

/*
 * Brings the bus registrations in line with config space and records in
 * `moves` the BARs whose decoded address changed (at most one entry each).
 * Returns their count. dev->lock held.
 */
static unsigned int pci_bars_update(struct pci_dev *dev, struct pci_bar_move moves[PCI_NUM_BARS])
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *bar = &dev->bars[i];
		uint64_t old_addr = pci_bar_mapped(bar);

		pci_bar_update(dev, bar);
		if (pci_bar_mapped(bar) != old_addr)
			moves[n++] = (struct pci_bar_move){ .bar = i,
							    .old_addr = old_addr,
							    .new_addr = pci_bar_mapped(bar) };
	}
	return n;
}

/* Reports what pci_bars_update() recorded. Without dev->lock. */
static void pci_bars_report(struct pci_dev *dev, const struct pci_bar_move *moves, unsigned int n)
{
	if (!dev->ops || !dev->ops->bar_changed)
		return;
	for (unsigned int i = 0; i < n; i++)
		dev->ops->bar_changed(dev, moves[i].bar, moves[i].old_addr, moves[i].new_addr);
}

/* ---- MSI-X ---- */

static uint32_t *pci_msix_entry(const struct pci_dev *dev, unsigned int vector)
{
	return &dev->msix_table[(size_t)vector * MSIX_ENTRY_WORDS];
}

static bool pci_msix_pending(const struct pci_dev *dev, unsigned int vector)
{
	return dev->msix_pba[vector / 64] & (1ull << (vector % 64));
}

static void pci_msix_set_pending(struct pci_dev *dev, unsigned int vector, bool on)
{
	if (on)
		dev->msix_pba[vector / 64] |= 1ull << (vector % 64);
	else
		dev->msix_pba[vector / 64] &= ~(1ull << (vector % 64));
}

static uint16_t pci_msix_ctrl(const struct pci_dev *dev)
{
	return cfg_get16(dev, dev->msix_cap + MSIX_CTRL);
}

static bool pci_msix_on(const struct pci_dev *dev)
{
	return dev->msix_cap && (pci_msix_ctrl(dev) & MSIX_CTRL_ENABLE);
}

/* Vector masked by its own mask bit or by the function mask. dev->lock held. */
static bool pci_msix_masked(const struct pci_dev *dev, unsigned int vector)
{
	return (pci_msix_ctrl(dev) & MSIX_CTRL_FMASK) ||
	       (pci_msix_entry(dev, vector)[MSIX_VCTRL] & MSIX_VCTRL_MASK);
}

static struct pci_msg pci_msix_msg(const struct pci_dev *dev, unsigned int vector)
{
	const uint32_t *e = pci_msix_entry(dev, vector);

	return (struct pci_msg){
		.addr = e[MSIX_ADDR_LO] | ((uint64_t)e[MSIX_ADDR_HI] << 32),
		.data = e[MSIX_DATA],
	};
}

/*
 * If `vector` is pending and may be delivered now, clears its pending bit and
 * returns its message in *m. dev->lock held.
 */
static bool pci_msix_take_pending(struct pci_dev *dev, unsigned int vector, struct pci_msg *m)
{
	if (vector >= dev->msix_nvec || !pci_msix_on(dev) || pci_msix_masked(dev, vector) ||
	    !pci_msix_pending(dev, vector))
		return false;
	pci_msix_set_pending(dev, vector, false);
	*m = pci_msix_msg(dev, vector);
	return true;
}

/* Sends every pending vector that is deliverable (after a function unmask). */
static void pci_msix_flush(struct pci_dev *dev)
{
	for (unsigned int v = 0; v < dev->msix_nvec; v++) {
		struct pci_msg m;
		bool send;

		pthread_mutex_lock(&dev->lock);
		send = pci_msix_take_pending(dev, v, &m);
		pthread_mutex_unlock(&dev->lock);
		if (send)
			pci_send_msi(dev, &m);
	}
}

static void pci_msix_changed(struct pci_dev *dev, uint32_t vector)
{
	if (dev->ops && dev->ops->msix_changed)
		dev->ops->msix_changed(dev, vector);
}

/* Table access at `off` from the table start; 4 or 8 bytes, naturally aligned. */
static void pci_msix_table_access(struct pci_dev *dev, uint64_t off, uint8_t *data, uint32_t len,
				  bool is_write)
{
	uint32_t old[MSIX_ENTRY_WORDS], *e;
	unsigned int vector, word;
	struct pci_msg m;
	bool changed, send;

	if ((len != 4 && len != 8) || (off & (len - 1)) || off + len > dev->msix_table_len) {
		log_debug("%s: MSI-X table access of %u bytes at %#llx ignored", dev->name, len,
			  (unsigned long long)off);
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	vector = (unsigned int)(off / MSIX_ENTRY_SIZE);
	word = (unsigned int)(off % MSIX_ENTRY_SIZE) / 4;

	pthread_mutex_lock(&dev->lock);
	e = pci_msix_entry(dev, vector);
	if (!is_write) {
		for (unsigned int k = 0; k < len / 4; k++)
			pci_le_put(data + 4 * k, 4, e[word + k]);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	memcpy(old, e, sizeof(old));
	for (unsigned int k = 0; k < len / 4; k++) {
		uint32_t v = pci_le_get(data + 4 * k, 4);
		unsigned int w = word + k;

		if (w == MSIX_ADDR_LO)
			v &= ~0x3u; /* DWORD-aligned address */
		else if (w == MSIX_VCTRL)
			v &= MSIX_VCTRL_MASK; /* other bits reserved */
		e[w] = v;
	}
	changed = memcmp(old, e, sizeof(old)) != 0;
	send = pci_msix_take_pending(dev, vector, &m);
	pthread_mutex_unlock(&dev->lock);

	if (send)
		pci_send_msi(dev, &m);
	if (changed)
		pci_msix_changed(dev, vector);
}

/* PBA access at `off` from the PBA start: read-only, 4 or 8 bytes aligned. */
static void pci_msix_pba_access(struct pci_dev *dev, uint64_t off, uint8_t *data, uint32_t len,
				bool is_write)
{
	uint64_t q;

	if (is_write)
		return;
	if ((len != 4 && len != 8) || (off & (len - 1)) || off + len > dev->msix_pba_len) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	q = dev->msix_pba[off / 8];
	pthread_mutex_unlock(&dev->lock);
	if (len == 8) {
		pci_le_put(data, 4, (uint32_t)q);
		pci_le_put(data + 4, 4, (uint32_t)(q >> 32));
	} else {
		pci_le_put(data, 4, (uint32_t)(q >> (off % 8 ? 32 : 0)));
	}
}

/* Every BAR is registered with this handler; it serves the MSI-X areas itself. */
static void pci_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bar *bar = opaque;
	struct pci_dev *dev = bar->dev;

	if (dev->msix_cap && bar->index == dev->msix_bar) {
		if (offset >= dev->msix_table_off &&
		    offset - dev->msix_table_off < dev->msix_table_len) {
			pci_msix_table_access(dev, offset - dev->msix_table_off, data, len,
					      is_write);
			return;
		}
		if (offset >= dev->msix_pba_off && offset - dev->msix_pba_off < dev->msix_pba_len) {
			pci_msix_pba_access(dev, offset - dev->msix_pba_off, data, len, is_write);
			return;
		}
	}
	if (bar->fn)
		bar->fn(bar->opaque, offset, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
}

/* ---- MSI ---- */

static uint16_t pci_msi_ctrl(const struct pci_dev *dev)
{
	return cfg_get16(dev, dev->msi_cap + MSI_CTRL);
}

static bool pci_msi_on(const struct pci_dev *dev)
{
	return dev->msi_cap && (pci_msi_ctrl(dev) & MSI_CTRL_ENABLE);
}

/* Vectors the guest allocated (Multiple Message Enable, capped at the capability). */
static unsigned int pci_msi_allocated(const struct pci_dev *dev)
{
	uint16_t ctrl = pci_msi_ctrl(dev);
	unsigned int mmc = (ctrl >> MSI_CTRL_MMC_SHIFT) & 0x7;
	unsigned int mme = (ctrl >> MSI_CTRL_MME_SHIFT) & 0x7;

	return 1u << MIN(mme, mmc);
}

/* The message of (allocated) vector v: its number replaces the low data bits. */
static struct pci_msg pci_msi_msg(const struct pci_dev *dev, unsigned int v)
{
	unsigned int c = dev->msi_cap;
	uint32_t alloc = pci_msi_allocated(dev);
	uint32_t data = cfg_get16(dev, c + MSI_DATA);

	return (struct pci_msg){
		.addr = cfg_get32(dev, c + MSI_ADDR_LO) |
			((uint64_t)cfg_get32(dev, c + MSI_ADDR_HI) << 32),
		.data = (data & ~(alloc - 1)) | (v & (alloc - 1)),
	};
}

/*
 * Collects pending, unmasked MSI vectors into msgs (clearing their pending
 * bits) when MSI is enabled. Returns the count. dev->lock held.
 */
static unsigned int pci_msi_take_pending(struct pci_dev *dev, struct pci_msg *msgs)
{
	unsigned int c = dev->msi_cap, n = 0, alloc;
	uint32_t mask, pend;

	if (!pci_msi_on(dev))
		return 0;
	alloc = pci_msi_allocated(dev);
	mask = cfg_get32(dev, c + MSI_MASK);
	pend = cfg_get32(dev, c + MSI_PENDING);
	for (unsigned int v = 0; v < alloc && v < MSI_MAX_VECTORS; v++) {
		if (!(pend & (1u << v)) || (mask & (1u << v)))
			continue;
		pend &= ~(1u << v);
		msgs[n++] = pci_msi_msg(dev, v);
	}
	cfg_set32(dev, c + MSI_PENDING, pend);
	return n;
}

/* ---- INTx ---- */

/* Drives the GSI to the level the device and the command register ask for. */
static void pci_intx_sync(struct pci_dev *dev)
{
	const struct vm_irq *irq = dev->bus->irq;
	bool changed;
	int want;

	pthread_mutex_lock(&dev->intx_lock);
	pthread_mutex_lock(&dev->lock);
	want = dev->intx_level && !(cfg_get16(dev, PCI_REG_COMMAND) & PCI_CMD_INTX_DISABLE);
	changed = want != dev->intx_line;
	dev->intx_line = want;
	pthread_mutex_unlock(&dev->lock);
	if (changed) {
		struct pci_bus *bus = dev->bus;
		unsigned int *high = &bus->intx_high[(dev->gsi - GSI_PCI_FIRST) % GSI_PCI_COUNT];

		/*
		 * The line is shared: it moves only when the first device drives
		 * it high or the last one lets go, else one device's deassertion
		 * would hide another's pending interrupt.
		 */
		pthread_mutex_lock(&bus->intx_lock);
		if (want)
			changed = (*high)++ == 0;
		else
			changed = --(*high) == 0;
		if (changed && irq && irq->set_level) {
			int ret = irq->set_level(irq->opaque, dev->gsi, want);

			if (ret < 0)
				log_warn_rl("%s: GSI %u level %d: %s", dev->name, dev->gsi, want,
					    strerror(-ret));
		}
		pthread_mutex_unlock(&bus->intx_lock);
	}
	pthread_mutex_unlock(&dev->intx_lock);
}

void pci_dev_set_intx(struct pci_dev *dev, int level)
{
	uint16_t status;

	if (!dev || !dev->info.intx)
		return;
	pthread_mutex_lock(&dev->lock);
	dev->intx_level = !!level;
	status = cfg_get16(dev, PCI_REG_STATUS);
	if (dev->intx_level)
		status |= PCI_STATUS_INTX;
	else
		status &= (uint16_t)~PCI_STATUS_INTX;
	cfg_set16(dev, PCI_REG_STATUS, status);
	pthread_mutex_unlock(&dev->lock);
	pci_intx_sync(dev);
}

/* ---- config space ---- */

/* A stretch of an access that goes to ops->config_access. */
struct pci_cfg_run {
	unsigned int pos; /* index into the access */
	unsigned int len;
};

/* Splits [off, off + len) into device-owned runs. dev->lock held. */
static unsigned int pci_cfg_dev_runs(const struct pci_dev *dev, unsigned int off, unsigned int len,
				     struct pci_cfg_run runs[4])
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < len && i < 4; i++) {
		if (dev->owner[off + i] != PCI_OWN_DEV)
			continue;
		if (n && runs[n - 1].pos + runs[n - 1].len == i)
			runs[n - 1].len++;
		else
			runs[n++] = (struct pci_cfg_run){ .pos = i, .len = 1 };
	}
	return n;
}

/* off + len <= PCI_CONFIG_SIZE, len <= 4. */
static void pci_dev_config_read(struct pci_dev *dev, unsigned int off, uint8_t *data,
				unsigned int len)
{
	struct pci_cfg_run runs[4];
	unsigned int n;

	pthread_mutex_lock(&dev->lock);
	memcpy(data, &dev->cfg[off], len);
	n = pci_cfg_dev_runs(dev, off, len, runs);
	pthread_mutex_unlock(&dev->lock);

	if (!dev->ops || !dev->ops->config_access)
		return;
	for (unsigned int i = 0; i < n; i++)
		dev->ops->config_access(dev, off + runs[i].pos, data + runs[i].pos, runs[i].len,
					false);
}

static bool pci_range_touches(unsigned int off, unsigned int len, unsigned int start,
			      unsigned int size)
{
	return off < start + size && start < off + len;
}

/* off + len <= PCI_CONFIG_SIZE, len <= 4. */
static void pci_dev_config_write(struct pci_dev *dev, unsigned int off, const uint8_t *data,
				 unsigned int len)
{
	struct pci_msg msi_msgs[MSI_MAX_VECTORS];
	struct pci_bar_move moves[PCI_NUM_BARS];
	struct pci_cfg_run runs[4];
	unsigned int n, nmsi = 0, nmoves = 0;
	uint16_t old_cmd, new_cmd, old_xctrl = 0, new_xctrl = 0;
	bool core_bars = false;

	pthread_mutex_lock(&dev->lock);
	old_cmd = cfg_get16(dev, PCI_REG_COMMAND);
	if (dev->msix_cap)
		old_xctrl = pci_msix_ctrl(dev);
	for (unsigned int i = 0; i < len; i++) {
		unsigned int o = off + i;
		uint8_t b = data[i];

		if (dev->owner[o] != PCI_OWN_CORE)
			continue;
		dev->cfg[o] = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (b & dev->wmask[o]));
		dev->cfg[o] &= (uint8_t) ~(b & dev->w1cmask[o]);
		if (o >= PCI_REG_BAR0 && o < PCI_REG_BAR_END)
			core_bars = true;
	}
	new_cmd = cfg_get16(dev, PCI_REG_COMMAND);
	if (core_bars || ((old_cmd ^ new_cmd) & (PCI_CMD_IO | PCI_CMD_MEM)))
		nmoves = pci_bars_update(dev, moves);
	if (dev->msi_cap && pci_range_touches(off, len, dev->msi_cap, MSI_CAP_SIZE))
		nmsi = pci_msi_take_pending(dev, msi_msgs);
	if (dev->msix_cap)
		new_xctrl = pci_msix_ctrl(dev);
	n = pci_cfg_dev_runs(dev, off, len, runs);
	pthread_mutex_unlock(&dev->lock);

	if (dev->ops && dev->ops->config_access) {
		for (unsigned int i = 0; i < n; i++)
			dev->ops->config_access(dev, off + runs[i].pos,
						(uint8_t *)data + runs[i].pos, runs[i].len, true);
	}
	pci_bars_report(dev, moves, nmoves);
	if (old_cmd != new_cmd) {
		if ((old_cmd ^ new_cmd) & PCI_CMD_INTX_DISABLE)
			pci_intx_sync(dev);
		if (dev->ops && dev->ops->command_changed)
			dev->ops->command_changed(dev, old_cmd, new_cmd);
	}
	for (unsigned int i = 0; i < nmsi; i++)
		pci_send_msi(dev, &msi_msgs[i]);
	if ((old_xctrl ^ new_xctrl) & (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK)) {
		pci_msix_changed(dev, UINT32_MAX);
		if ((new_xctrl & MSIX_CTRL_ENABLE) && !(new_xctrl & MSIX_CTRL_FMASK))
			pci_msix_flush(dev);
	}
}

static struct pci_dev *pci_bus_dev(struct pci_bus *bus, unsigned int slot, unsigned int func)
{
	if (!bus || slot >= PCI_MAX_SLOTS || func != 0)
		return NULL;
	return __atomic_load_n(&bus->slots[slot], __ATOMIC_ACQUIRE);
}

static bool pci_cfg_access_ok(unsigned int offset, unsigned int len)
{
	return (len == 1 || len == 2 || len == 4) && offset < PCI_CONFIG_SIZE &&
	       len <= PCI_CONFIG_SIZE - offset;
}

uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned int slot, unsigned int func,
			     unsigned int offset, unsigned int len)
{
	struct pci_dev *dev = pci_bus_dev(bus, slot, func);
	uint8_t buf[4];

	if (!pci_cfg_access_ok(offset, len))
		return UINT32_MAX;
	if (!dev)
		return pci_ones(len);
	pci_dev_config_read(dev, offset, buf, len);
	return pci_le_get(buf, len);
}

void pci_bus_config_write(struct pci_bus *bus, unsigned int slot, unsigned int func,
			  unsigned int offset, unsigned int len, uint32_t val)
{
	struct pci_dev *dev = pci_bus_dev(bus, slot, func);
	uint8_t buf[4];

	if (!dev || !pci_cfg_access_ok(offset, len))
		return;
	pci_le_put(buf, len, val);
	pci_dev_config_write(dev, offset, buf, len);
}

/* ---- config mechanism #1 ports ---- */

/*
 * 0xCF8: a 32-bit register. Only dword writes at 0xCF8 load it (Linux's
 * type 1 probe writes a byte to 0xCFB first and expects no change); narrower
 * reads return the matching bytes.
 */
static void pci_addr_port(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint32_t v;

	if (is_write) {
		if (offset == 0 && len == 4)
			__atomic_store_n(&bus->config_addr,
					 pci_le_get(data, 4) & PCI_CFA_VALID_BITS,
					 __ATOMIC_RELAXED);
		return;
	}
	if (offset >= 4 || len > 4 - offset) {
		memset(data, 0xff, len);
		return;
	}
	v = __atomic_load_n(&bus->config_addr, __ATOMIC_RELAXED);
	pci_le_put(data, len, v >> (8 * offset));
}

/* 0xCFC-0xCFF: data at config offset (register & ~3) + (port - 0xCFC). */
static void pci_data_port(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint32_t a = __atomic_load_n(&bus->config_addr, __ATOMIC_RELAXED);
	unsigned int busnr = (a >> 16) & 0xff, slot = (a >> 11) & 0x1f, func = (a >> 8) & 0x7;
	unsigned int reg = (a & 0xfc) + (unsigned int)offset;
	bool ok = (a & PCI_CFA_ENABLE) && busnr == 0 && offset < 4 &&
		  (len == 1 || len == 2 || len == 4) && len <= 4 - offset;

	if (is_write) {
		if (ok)
			pci_bus_config_write(bus, slot, func, reg, len, pci_le_get(data, len));
		return;
	}
	if (!ok) {
		memset(data, 0xff, len);
		return;
	}
	pci_le_put(data, len, pci_bus_config_read(bus, slot, func, reg, len));
}

/* ---- devices ---- */

static struct pci_dev *pci_dev_alloc(struct pci_bus *bus, unsigned int slot,
				     const struct pci_dev_info *info, const struct pci_dev_ops *ops,
				     void *opaque)
{
	struct pci_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->bus = bus;
	dev->slot = slot;
	dev->gsi = GSI_PCI_FIRST + slot % GSI_PCI_COUNT;
	snprintf(dev->name, sizeof(dev->name), "%s", info->name ? info->name : "pci");
	dev->info = *info;
	dev->info.name = dev->name;
	dev->ops = ops;
	dev->opaque = opaque;
	pthread_mutex_init(&dev->intx_lock, NULL);
	pthread_mutex_init(&dev->lock, NULL);
	dev->cap_next = PCI_CAP_START;

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		dev->bars[i].dev = dev;
		dev->bars[i].index = i;
	}
	/* Header bytes belong to the core; the rest to the device until caps claim them. */
	memset(dev->owner, PCI_OWN_DEV, sizeof(dev->owner));
	memset(dev->owner, PCI_OWN_CORE, PCI_CAP_START);

	cfg_set16(dev, PCI_REG_VENDOR, info->vendor_id);
	cfg_set16(dev, PCI_REG_DEVICE, info->device_id);
	cfg_set8(dev, PCI_REG_REVISION, info->revision);
	pci_le_put(&dev->cfg[PCI_REG_CLASS], 3, info->class_code);
	cfg_set8(dev, PCI_REG_HEADER_TYPE, 0);
	cfg_set16(dev, PCI_REG_SUBSYS_VENDOR, info->subsys_vendor_id);
	cfg_set16(dev, PCI_REG_SUBSYS_ID, info->subsys_id);
	if (info->intx) {
		cfg_set8(dev, PCI_REG_INT_LINE, (uint8_t)dev->gsi);
		cfg_set8(dev, PCI_REG_INT_PIN, 1);
	}
	wmask_set16(dev, PCI_REG_COMMAND, PCI_CMD_WMASK);
	pci_le_put(&dev->w1cmask[PCI_REG_STATUS], 2, PCI_STATUS_W1C);
	dev->wmask[PCI_REG_CACHE_LINE] = 0xff;
	dev->wmask[PCI_REG_INT_LINE] = 0xff;
	return dev;
}

static void pci_dev_destroy(struct pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *bar = &dev->bars[i];

		if (bar->registered)
			(void)iobus_unregister(pci_bar_iobus(bar), bar->reg_base, bar);
	}
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->intx_lock);
	free(dev->msix_table);
	free(dev->msix_pba);
	free(dev);
}

struct pci_bus *pci_bus_new(struct io_bus *pio, struct io_bus *mmio, const struct vm_irq *irq)
{
	static const struct pci_dev_info host = {
		.name = "host-bridge",
		.vendor_id = PCI_HOST_VENDOR,
		.device_id = PCI_HOST_DEVICE,
		.class_code = PCI_HOST_CLASS,
	};
	struct pci_bus *bus;
	int ret;

	if (!pio) {
		errno = EINVAL;
		return NULL;
	}
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	bus->pio = pio;
	bus->mmio = mmio;
	bus->irq = irq;
	bus->io_next = PCI_IO_WINDOW_BASE;
	bus->mmio_next = PCI_MMIO_WINDOW_BASE;
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);

	bus->slots[0] = pci_dev_alloc(bus, 0, &host, NULL, NULL);
	if (!bus->slots[0]) {
		ret = -ENOMEM;
		goto err_bus;
	}
	ret = iobus_register(pio, PCI_CONFIG_ADDR_PORT, 4, pci_addr_port, bus, "pci-config-addr");
	if (ret < 0)
		goto err_host;
	ret = iobus_register(pio, PCI_CONFIG_DATA_PORT, 4, pci_data_port, bus, "pci-config-data");
	if (ret < 0)
		goto err_addr;
	return bus;

err_addr:
	(void)iobus_unregister(pio, PCI_CONFIG_ADDR_PORT, bus);
err_host:
	pci_dev_destroy(bus->slots[0]);
err_bus:
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
	log_err("cannot create the PCI bus: %s", strerror(-ret));
	errno = -ret;
	return NULL;
}

void pci_bus_free(struct pci_bus *bus)
{
	if (!bus)
		return;
	(void)iobus_unregister(bus->pio, PCI_CONFIG_DATA_PORT, bus);
	(void)iobus_unregister(bus->pio, PCI_CONFIG_ADDR_PORT, bus);
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++) {
		if (bus->slots[i])
			pci_dev_destroy(bus->slots[i]);
	}
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

struct pci_dev *pci_dev_new(struct pci_bus *bus, const struct pci_dev_info *info,
			    const struct pci_dev_ops *ops, void *opaque)
{
	struct pci_dev *dev = NULL;
	unsigned int first = 1, end = PCI_MAX_SLOTS;
	int err = ENOSPC;

	if (!bus || !info || info->slot >= PCI_MAX_SLOTS) {
		errno = EINVAL;
		return NULL;
	}
	if (info->slot) { /* that slot or none */
		first = info->slot;
		end = info->slot + 1;
		err = EBUSY;
	}
	pthread_mutex_lock(&bus->lock);
	for (unsigned int slot = first; slot < end; slot++) {
		if (bus->slots[slot])
			continue;
		dev = pci_dev_alloc(bus, slot, info, ops, opaque);
		if (!dev) {
			err = ENOMEM;
			break;
		}
		__atomic_store_n(&bus->slots[slot], dev, __ATOMIC_RELEASE);
		break;
	}
	if (!dev && err == EBUSY)
		log_err("cannot add PCI device %s: slot %u is taken by %s",
			info->name ? info->name : "?", info->slot, bus->slots[info->slot]->name);
	pthread_mutex_unlock(&bus->lock);
	if (!dev) {
		if (err != EBUSY)
			log_err("cannot add PCI device %s: %s", info->name ? info->name : "?",
				strerror(err));
		errno = err;
		return NULL;
	}
	log_debug("00:%02x.0 %s %04x:%04x", dev->slot, dev->name, info->vendor_id, info->device_id);
	return dev;
}

void *pci_dev_opaque(const struct pci_dev *dev)
{
	return dev->opaque;
}

unsigned int pci_dev_slot(const struct pci_dev *dev)
{
	return dev->slot;
}

unsigned int pci_dev_gsi(const struct pci_dev *dev)
{
	return dev->gsi;
}

const char *pci_dev_name(const struct pci_dev *dev)
{
	return dev->name;
}

bool pci_dev_uses_intx(const struct pci_dev *dev)
{
	return dev->info.intx;
}

struct pci_dev *pci_bus_slot_dev(struct pci_bus *bus, unsigned int slot)
{
	return pci_bus_dev(bus, slot, 0);
}

void pci_bus_for_each(struct pci_bus *bus, void (*fn)(struct pci_dev *dev, void *arg), void *arg)
{
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++) {
		struct pci_dev *dev = __atomic_load_n(&bus->slots[i], __ATOMIC_ACQUIRE);

		if (dev)
			fn(dev, arg);
	}
}

/* ---- BAR declaration ---- */

/* Hands out a naturally aligned range from a window. bus->lock taken here. */
static int pci_window_alloc(struct pci_bus *bus, enum pci_bar_type type, uint64_t size,
			    uint64_t *base)
{
	uint64_t *next = type == PCI_BAR_IO ? &bus->io_next : &bus->mmio_next;
	uint64_t end = type == PCI_BAR_IO ? PCI_IO_WINDOW_END : PCI_MMIO_WINDOW_END;
	uint64_t b;
	int ret = 0;

	pthread_mutex_lock(&bus->lock);
	b = ALIGN_UP(*next, size);
	if (b < *next || b > end || size > end - b) {
		ret = -ENOSPC;
	} else {
		*next = b + size;
		*base = b;
	}
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

int pci_dev_add_bar(struct pci_dev *dev, unsigned int bar, enum pci_bar_type type, uint64_t size,
		    io_handler_fn fn, void *opaque)
{
	unsigned int off = PCI_REG_BAR0 + 4 * bar, nmoves = 0;
	struct pci_bar_move moves[PCI_NUM_BARS];
	struct pci_bar *b;
	uint64_t base = 0;
	int ret;

	if (!dev || bar >= PCI_NUM_BARS || !IS_POWER_OF_2(size))
		return -EINVAL;
	switch (type) {
	case PCI_BAR_IO:
		if (size < 16 || size > PCI_IO_WINDOW_END - PCI_IO_WINDOW_BASE)
			return -EINVAL;
		break;
	case PCI_BAR_MEM32:
		if (size < 4096 || size > 2 * GiB)
			return -EINVAL;
		break;
	case PCI_BAR_MEM64:
		if (size < 4096 || bar + 1 >= PCI_NUM_BARS)
			return -EINVAL;
		break;
	default: return -EINVAL;
	}
	if ((type == PCI_BAR_IO ? dev->bus->pio : dev->bus->mmio) == NULL)
		return -ENODEV;

	pthread_mutex_lock(&dev->lock);
	if (dev->bars[bar].used || (type == PCI_BAR_MEM64 && dev->bars[bar + 1].used)) {
		ret = -EBUSY;
		goto out;
	}
	ret = pci_window_alloc(dev->bus, type, size, &base);
	if (ret < 0) {
		log_err("00:%02x.0 %s: no room for a %llu-byte BAR %u", dev->slot, dev->name,
			(unsigned long long)size, bar);
		goto out;
	}
	b = &dev->bars[bar];
	b->used = true;
	b->size = size;
	b->type = type;
	b->fn = fn;
	b->opaque = opaque;
	snprintf(b->name, sizeof(b->name), "%.20s bar%u", dev->name, bar);
	switch (type) {
	case PCI_BAR_IO:
		cfg_set32(dev, off, (uint32_t)base | PCI_BAR_FLAG_IO);
		wmask_set32(dev, off, (uint32_t) ~(size - 1) & PCI_BAR_IO_ADDR_MASK);
		break;
	case PCI_BAR_MEM32:
		cfg_set32(dev, off, (uint32_t)base);
		wmask_set32(dev, off, (uint32_t) ~(size - 1));
		break;
	case PCI_BAR_MEM64:
		dev->bars[bar + 1].used = true;
		cfg_set32(dev, off, (uint32_t)base | PCI_BAR_FLAG_MEM64);
		cfg_set32(dev, off + 4, (uint32_t)(base >> 32));
		wmask_set32(dev, off, (uint32_t) ~(size - 1));
		wmask_set32(dev, off + 4, (uint32_t)(~(size - 1) >> 32));
		break;
	}
	/* On the bus at once if the guest (or set-up code) turned decoding on already. */
	nmoves = pci_bars_update(dev, moves);
out:
	pthread_mutex_unlock(&dev->lock);
	pci_bars_report(dev, moves, nmoves);
	return ret;
}

uint64_t pci_dev_bar_addr(const struct pci_dev *dev, unsigned int bar)
{
	struct pci_dev *d = (struct pci_dev *)dev; /* the lock is not part of the value */
	unsigned int off = PCI_REG_BAR0 + 4 * bar;
	uint64_t addr = 0;

	if (!dev || bar >= PCI_NUM_BARS)
		return 0;
	pthread_mutex_lock(&d->lock);
	if (d->bars[bar].size) {
		uint32_t lo = cfg_get32(d, off);

		switch (d->bars[bar].type) {
		case PCI_BAR_IO: addr = lo & PCI_BAR_IO_ADDR_MASK; break;
		case PCI_BAR_MEM32: addr = lo & PCI_BAR_MEM_ADDR_MASK; break;
		case PCI_BAR_MEM64:
			addr = (lo & PCI_BAR_MEM_ADDR_MASK) |
			       ((uint64_t)cfg_get32(d, off + 4) << 32);
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return addr;
}

uint64_t pci_dev_bar_decoded(const struct pci_dev *dev, unsigned int bar)
{
	struct pci_dev *d = (struct pci_dev *)dev; /* the lock is not part of the value */
	uint64_t addr;

	if (!dev || bar >= PCI_NUM_BARS)
		return PCI_BAR_UNMAPPED;
	pthread_mutex_lock(&d->lock);
	addr = pci_bar_mapped(&d->bars[bar]);
	pthread_mutex_unlock(&d->lock);
	return addr;
}

/* ---- capabilities ---- */

/* Places a capability of `size` bytes and links it. dev->lock held. */
static int pci_cap_alloc(struct pci_dev *dev, uint8_t cap_id, size_t size)
{
	unsigned int off = ALIGN_UP(dev->cap_next, 4u);

	if (size > PCI_CONFIG_SIZE || off > PCI_CONFIG_SIZE || size > PCI_CONFIG_SIZE - off)
		return -ENOSPC;
	memset(&dev->cfg[off], 0, size);
	memset(&dev->wmask[off], 0, size);
	memset(&dev->w1cmask[off], 0, size);
	memset(&dev->owner[off], PCI_OWN_CORE, size);
	cfg_set8(dev, off, cap_id);
	cfg_set8(dev, off + 1, 0);
	if (dev->cap_last)
		cfg_set8(dev, dev->cap_last + 1, (uint8_t)off);
	else
		cfg_set8(dev, PCI_REG_CAP_PTR, (uint8_t)off);
	cfg_set16(dev, PCI_REG_STATUS, cfg_get16(dev, PCI_REG_STATUS) | PCI_STATUS_CAP_LIST);
	dev->cap_last = off;
	dev->cap_next = off + (unsigned int)size;
	return (int)off;
}

int pci_dev_add_cap(struct pci_dev *dev, uint8_t cap_id, const void *body, size_t len)
{
	int off;

	if (!dev || (len && !body))
		return -EINVAL;
	if (len > PCI_CONFIG_SIZE - PCI_CAP_START - 2)
		return -ENOSPC;
	pthread_mutex_lock(&dev->lock);
	off = pci_cap_alloc(dev, cap_id, len + 2);
	if (off >= 0) {
		memcpy(&dev->cfg[off + 2], body ? body : "", len);
		/* The body is the model's: writes go to config_access. */
		memset(&dev->owner[off + 2], PCI_OWN_DEV, len);
	}
	pthread_mutex_unlock(&dev->lock);
	return off;
}

int pci_dev_add_msi(struct pci_dev *dev, unsigned int nvec)
{
	unsigned int log2n = 0;
	int off;

	if (!dev || !IS_POWER_OF_2(nvec) || nvec > MSI_MAX_VECTORS)
		return -EINVAL;
	while ((1u << log2n) < nvec)
		log2n++;
	pthread_mutex_lock(&dev->lock);
	if (dev->msi_cap) {
		off = -EEXIST;
		goto out;
	}
	off = pci_cap_alloc(dev, PCI_CAP_ID_MSI, MSI_CAP_SIZE);
	if (off < 0)
		goto out;
	cfg_set16(dev, off + MSI_CTRL,
		  (uint16_t)((log2n << MSI_CTRL_MMC_SHIFT) | MSI_CTRL_64BIT | MSI_CTRL_PVM));
	wmask_set16(dev, off + MSI_CTRL, MSI_CTRL_ENABLE | (0x7 << MSI_CTRL_MME_SHIFT));
	wmask_set32(dev, off + MSI_ADDR_LO, ~0x3u);
	wmask_set32(dev, off + MSI_ADDR_HI, UINT32_MAX);
	wmask_set16(dev, off + MSI_DATA, 0xffff);
	wmask_set32(dev, off + MSI_MASK, nvec == MSI_MAX_VECTORS ? UINT32_MAX : (1u << nvec) - 1);
	dev->msi_nvec = nvec;
	dev->msi_cap = (unsigned int)off;
out:
	pthread_mutex_unlock(&dev->lock);
	return off;
}

int pci_dev_add_msix(struct pci_dev *dev, unsigned int nvec, unsigned int bar,
		     uint32_t table_offset, uint32_t pba_offset)
{
	uint64_t tlen, plen, bsize;
	uint32_t *table = NULL;
	uint64_t *pba = NULL;
	int off;

	if (!dev || nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
	    (table_offset & 7) || (pba_offset & 7))
		return -EINVAL;
	tlen = (uint64_t)nvec * MSIX_ENTRY_SIZE;
	plen = (uint64_t)(nvec + 63) / 64 * 8;
	table = calloc((size_t)nvec * MSIX_ENTRY_WORDS, sizeof(*table));
	pba = calloc((size_t)plen / 8, sizeof(*pba));
	if (!table || !pba) {
		off = -ENOMEM;
		goto err;
	}
	for (unsigned int v = 0; v < nvec; v++)
		table[(size_t)v * MSIX_ENTRY_WORDS + MSIX_VCTRL] = MSIX_VCTRL_MASK;

	pthread_mutex_lock(&dev->lock);
	bsize = dev->bars[bar].size;
	if (dev->msix_cap) {
		off = -EEXIST;
	} else if (!bsize || dev->bars[bar].type == PCI_BAR_IO ||
		   (uint64_t)table_offset + tlen > bsize || (uint64_t)pba_offset + plen > bsize ||
		   ((uint64_t)table_offset < pba_offset + plen &&
		    (uint64_t)pba_offset < table_offset + tlen)) {
		off = -EINVAL;
	} else {
		off = pci_cap_alloc(dev, PCI_CAP_ID_MSIX, MSIX_CAP_SIZE);
	}
	if (off < 0) {
		pthread_mutex_unlock(&dev->lock);
		goto err;
	}
	cfg_set16(dev, off + MSIX_CTRL, (uint16_t)(nvec - 1));
	wmask_set16(dev, off + MSIX_CTRL, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	cfg_set32(dev, off + MSIX_TABLE, table_offset | bar);
	cfg_set32(dev, off + MSIX_PBA, pba_offset | bar);
	dev->msix_table = table;
	dev->msix_pba = pba;
	dev->msix_nvec = nvec;
	dev->msix_bar = bar;
	dev->msix_table_off = table_offset;
	dev->msix_table_len = tlen;
	dev->msix_pba_off = pba_offset;
	dev->msix_pba_len = plen;
	dev->msix_cap = (unsigned int)off;
	pthread_mutex_unlock(&dev->lock);
	return off;
err:
	free(table);
	free(pba);
	return off;
}

/* ---- interrupts ---- */

int pci_dev_notify(struct pci_dev *dev, unsigned int vector)
{
	const struct vm_irq *irq;
	struct pci_msg m;
	bool send = false;
	int ret = 0;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (pci_msix_on(dev)) {
		if (vector >= dev->msix_nvec)
			ret = -EINVAL;
		else if (pci_msix_masked(dev, vector))
			pci_msix_set_pending(dev, vector, true);
		else {
			m = pci_msix_msg(dev, vector);
			send = true;
		}
	} else if (pci_msi_on(dev)) {
		unsigned int c = dev->msi_cap;
		/* Fewer vectors allocated than asked for: fold onto the allocated ones. */
		unsigned int v = vector & (pci_msi_allocated(dev) - 1);

		if (vector >= dev->msi_nvec)
			ret = -EINVAL;
		else if (cfg_get32(dev, c + MSI_MASK) & (1u << v))
			cfg_set32(dev, c + MSI_PENDING,
				  cfg_get32(dev, c + MSI_PENDING) | (1u << v));
		else {
			m = pci_msi_msg(dev, v);
			send = true;
		}
	} else {
		ret = -ENOTCONN;
	}
	pthread_mutex_unlock(&dev->lock);

	if (!send)
		return ret;
	irq = dev->bus->irq;
	if (!irq || !irq->send_msi)
		return -ENODEV;
	return irq->send_msi(irq->opaque, m.addr, m.data);
}

bool pci_dev_msix_enabled(const struct pci_dev *dev)
{
	struct pci_dev *d = (struct pci_dev *)dev;
	bool on;

	pthread_mutex_lock(&d->lock);
	on = pci_msix_on(d);
	pthread_mutex_unlock(&d->lock);
	return on;
}

bool pci_dev_msi_enabled(const struct pci_dev *dev)
{
	struct pci_dev *d = (struct pci_dev *)dev;
	bool on;

	pthread_mutex_lock(&d->lock);
	on = pci_msi_on(d);
	pthread_mutex_unlock(&d->lock);
	return on;
}

/* *masked reports the vector's own mask bit or the function mask. */
int pci_dev_msix_vector(const struct pci_dev *dev, unsigned int vector, uint64_t *addr,
			uint32_t *data, bool *masked)
{
	struct pci_dev *d = (struct pci_dev *)dev;
	struct pci_msg m;
	bool mk;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (!d->msix_cap || vector >= d->msix_nvec) {
		pthread_mutex_unlock(&d->lock);
		return -EINVAL;
	}
	m = pci_msix_msg(d, vector);
	mk = pci_msix_masked(d, vector);
	pthread_mutex_unlock(&d->lock);
	if (addr)
		*addr = m.addr;
	if (data)
		*data = m.data;
	if (masked)
		*masked = mk;
	return 0;
}
