// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest PCI: configuration mechanism #1 (ports 0xcf8/0xcfc), a one-time
 * enumeration of every function reachable from bus 0 (through PCI-PCI
 * bridges), BAR decoding, capability walks and MSI-X programming.
 *
 * BARs are used as the firmware (SeaBIOS under QEMU) or the VMM assigned
 * them; nfguest does not reassign. Sizing a BAR (write all ones, read
 * back, restore) is done with decoding off, so the device never decodes a
 * half-written address.
 */
#include "runtime.h"

#define PCI_ADDR	0xcf8
#define PCI_DATA	0xcfc

#define PCI_VENDOR_ID	0x00
#define PCI_REVISION	0x08
#define PCI_HEADER_TYPE	0x0e
#define PCI_BAR0	0x10
#define PCI_SECONDARY	0x19
#define PCI_SUBSYS	0x2c
#define PCI_CAP_PTR	0x34
#define PCI_INT_LINE	0x3c
#define PCI_INT_PIN	0x3d

#define MSIX_CTRL	2
#define MSIX_TABLE	4
#define MSIX_PBA	8
#define MSIX_ENABLE	0x8000
#define MSIX_FMASK	0x4000

static struct pci_dev devs[PCI_MAX_DEVS];
static int ndevs;
static spinlock_t cfg_lock;

static uint32_t cfg_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
	       (off & 0xfc);
}

static uint32_t raw_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	uint32_t v;

	spin_lock(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	v = inl(PCI_DATA);
	spin_unlock(&cfg_lock);
	return v;
}

uint32_t pci_cfg_read32(const struct pci_dev *d, uint16_t off)
{
	return raw_read32(d->bus, d->dev, d->fn, off);
}

uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off)
{
	uint16_t v;

	spin_lock(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	v = inw(PCI_DATA + (off & 2));
	spin_unlock(&cfg_lock);
	return v;
}

uint8_t pci_cfg_read8(const struct pci_dev *d, uint16_t off)
{
	uint8_t v;

	spin_lock(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	v = inb(PCI_DATA + (off & 3));
	spin_unlock(&cfg_lock);
	return v;
}

void pci_cfg_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	spin_lock(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	outl(PCI_DATA, v);
	spin_unlock(&cfg_lock);
}

void pci_cfg_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	spin_lock(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	outw(PCI_DATA + (off & 2), v);
	spin_unlock(&cfg_lock);
}

void pci_cfg_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
	spin_lock(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	outb(PCI_DATA + (off & 3), v);
	spin_unlock(&cfg_lock);
}

/* Decode and size the six BARs of a type-0 header. */
static void read_bars(struct pci_dev *d)
{
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);
	int i;

	pci_cfg_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (i = 0; i < 6; i++) {
		uint16_t off = PCI_BAR0 + 4 * i;
		uint32_t lo = pci_cfg_read32(d, off), szlo, hi = 0, szhi = 0xffffffffu;
		struct pci_bar *b = &d->bar[i];

		pci_cfg_write32(d, off, 0xffffffffu);
		szlo = pci_cfg_read32(d, off);
		pci_cfg_write32(d, off, lo);
		if (!szlo || szlo == 0xffffffffu)
			continue;
		if (lo & 1) {
			b->io = true;
			b->addr = lo & ~3u;
			b->size = (uint16_t)(~(szlo & ~3u) + 1);
			continue;
		}
		b->prefetch = lo & 8;
		if (((lo >> 1) & 3) == 2 && i < 5) {
			b->is64 = true;
			hi = pci_cfg_read32(d, off + 4);
			pci_cfg_write32(d, off + 4, 0xffffffffu);
			szhi = pci_cfg_read32(d, off + 4);
			pci_cfg_write32(d, off + 4, hi);
		}
		b->addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
		b->size = ~(((uint64_t)szhi << 32) | (szlo & ~0xfu)) + 1;
		if (b->is64)
			i++;	/* the next slot is the upper half */
	}
	pci_cfg_write16(d, PCI_COMMAND, cmd);
}

static void scan_bus(uint8_t bus, int depth);

static void add_function(uint8_t bus, uint8_t dev, uint8_t fn, uint32_t id, int depth)
{
	struct pci_dev *d;
	uint8_t hdr;

	if (ndevs == PCI_MAX_DEVS)
		return;
	d = &devs[ndevs++];
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	d->revision = pci_cfg_read8(d, PCI_REVISION);
	d->class_code = pci_cfg_read32(d, PCI_REVISION) >> 8;
	hdr = pci_cfg_read8(d, PCI_HEADER_TYPE) & 0x7f;
	d->irq_pin = pci_cfg_read8(d, PCI_INT_PIN);
	d->irq_line = pci_cfg_read8(d, PCI_INT_LINE);
	if (hdr == 0) {
		uint32_t ss = pci_cfg_read32(d, PCI_SUBSYS);

		d->subsys_vendor = ss & 0xffff;
		d->subsys_device = ss >> 16;
		read_bars(d);
	} else if (hdr == 1 && depth < 8) {
		uint8_t sec = pci_cfg_read8(d, PCI_SECONDARY);

		if (sec > bus)
			scan_bus(sec, depth + 1);
	}
}

static void scan_bus(uint8_t bus, int depth)
{
	uint8_t dev, fn;

	for (dev = 0; dev < 32; dev++) {
		for (fn = 0; fn < 8; fn++) {
			uint32_t id = raw_read32(bus, dev, fn, PCI_VENDOR_ID);
			uint32_t hdr;

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
				if (fn == 0)
					break;
				continue;
			}
			add_function(bus, dev, fn, id, depth);
			if (fn == 0) {
				hdr = raw_read32(bus, dev, 0, 0x0c) >> 16;
				if (!(hdr & 0x80))
					break;	/* single-function device */
			}
		}
	}
}

void pci_init(void)
{
	scan_bus(0, 0);
}

int pci_count(void)
{
	return ndevs;
}

struct pci_dev *pci_get(int i)
{
	return i >= 0 && i < ndevs ? &devs[i] : NULL;
}

void pci_enable(struct pci_dev *d, uint16_t command_bits)
{
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);

	cmd |= command_bits;
	if (!(command_bits & PCI_COMMAND_INTX_DISABLE))
		cmd &= ~PCI_COMMAND_INTX_DISABLE;
	pci_cfg_write16(d, PCI_COMMAND, cmd);
}

void pci_intx(struct pci_dev *d, bool enable)
{
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);

	cmd = enable ? cmd & ~PCI_COMMAND_INTX_DISABLE : cmd | PCI_COMMAND_INTX_DISABLE;
	pci_cfg_write16(d, PCI_COMMAND, cmd);
}

volatile void *pci_bar_map(struct pci_dev *d, int bar)
{
	struct pci_bar *b;

	if (bar < 0 || bar > 5)
		return NULL;
	b = &d->bar[bar];
	if (b->io || !b->size || !b->addr)
		return NULL;
	return mmio_map(b->addr, b->size);
}

/*
 * Walk the capability list; bounded to 48 hops (a list that loops would
 * otherwise never end: 48 is all the 4-byte slots above 0x40).
 */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id, uint8_t after)
{
	uint8_t off;
	int hops = 48;

	if (!(pci_cfg_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = after ? pci_cfg_read8(d, after + 1) : pci_cfg_read8(d, PCI_CAP_PTR);
	while (off >= 0x40 && hops--) {
		off &= 0xfc;
		if (pci_cfg_read8(d, off) == cap_id)
			return off;
		off = pci_cfg_read8(d, off + 1);
	}
	return 0;
}

int pci_msix_init(struct pci_dev *d, struct pci_msix *m)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
	uint32_t tbl, pba;
	volatile uint8_t *tb, *pb;

	if (!cap)
		return -1;
	m->cap = cap;
	m->size = (pci_cfg_read16(d, cap + MSIX_CTRL) & 0x7ff) + 1;
	tbl = pci_cfg_read32(d, cap + MSIX_TABLE);
	pba = pci_cfg_read32(d, cap + MSIX_PBA);
	tb = pci_bar_map(d, tbl & 7);
	pb = pci_bar_map(d, pba & 7);
	if (!tb || !pb)
		return -1;
	m->table = tb + (tbl & ~7u);
	m->pba = pb + (pba & ~7u);
	return 0;
}

int pci_msix_set(struct pci_msix *m, uint16_t entry, int vector, int cpu)
{
	volatile uint8_t *e;
	uint64_t addr;
	uint32_t data;

	if (entry >= m->size)
		return -1;
	e = m->table + 16 * entry;
	msi_compose(vector, cpu, &addr, &data);
	mmio_write32(e + 12, 1);	/* masked while being written */
	mmio_write32(e + 0, (uint32_t)addr);
	mmio_write32(e + 4, (uint32_t)(addr >> 32));
	mmio_write32(e + 8, data);
	mmio_write32(e + 12, 0);
	return 0;
}

void pci_msix_mask(struct pci_msix *m, uint16_t entry, bool masked)
{
	if (entry < m->size)
		mmio_write32(m->table + 16 * entry + 12, masked ? 1 : 0);
}

void pci_msix_enable(struct pci_dev *d, struct pci_msix *m, bool on)
{
	uint16_t ctrl = pci_cfg_read16(d, m->cap + MSIX_CTRL);

	if (on) {
		pci_intx(d, false);
		ctrl = (ctrl | MSIX_ENABLE) & ~MSIX_FMASK;
	} else {
		ctrl &= ~(MSIX_ENABLE | MSIX_FMASK);
	}
	pci_cfg_write16(d, m->cap + MSIX_CTRL, ctrl);
	if (!on)
		pci_intx(d, true);
}
