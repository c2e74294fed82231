// SPDX-License-Identifier: BSD-3-Clause
/*
 * test-guest PCI: enumerate bus 0 (function 0 of each slot) through
 * configuration mechanism #1 and size the BARs of every device that is not
 * a host bridge.
 */
#include "guest.h"

#define PCI_CONFIG_ADDR	0xcf8
#define PCI_CONFIG_DATA	0xcfc

#define PCI_VENDOR_ID	0x00
#define PCI_COMMAND	0x04
#define PCI_CLASS_REV	0x08
#define PCI_HEADER_TYPE	0x0c	/* dword holding the header type in byte 2 */
#define PCI_BAR0	0x10

#define PCI_CMD_IO	0x1
#define PCI_CMD_MEM	0x2

#define PCI_CLASS_HOST_BRIDGE	0x0600

static uint32_t pci_read(uint32_t dev, uint32_t off)
{
	outl(PCI_CONFIG_ADDR, 0x80000000u | (dev << 11) | (off & 0xfc));
	return inl(PCI_CONFIG_DATA);
}

static void pci_write(uint32_t dev, uint32_t off, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, 0x80000000u | (dev << 11) | (off & 0xfc));
	outl(PCI_CONFIG_DATA, v);
}

/*
 * Size the BARs: with decoding off, write all ones, read back which
 * address bits the device lets us set, restore. A 64-bit memory BAR
 * takes the next register as its high half.
 */
static void pci_size_bars(uint32_t dev, int nbars)
{
	uint32_t cmd = pci_read(dev, PCI_COMMAND) & 0xffff;
	int i;

	pci_write(dev, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (i = 0; i < nbars; i++) {
		uint32_t off = PCI_BAR0 + 4 * i;
		uint32_t orig = pci_read(dev, off), val;

		pci_write(dev, off, 0xffffffffu);
		val = pci_read(dev, off);
		pci_write(dev, off, orig);
		if (!val)
			continue;	/* not implemented */

		if (val & 1) {
			uint32_t mask = val & ~3u;

			/* I/O BARs may leave the upper 16 bits at zero. */
			if (!(mask & 0xffff0000u))
				mask |= 0xffff0000u;
			printf("test-guest: pci 00:%02x.0 bar%d io size=0x%x\n",
			       dev, i, ~mask + 1);
		} else if (((val >> 1) & 3) == 2 && i + 1 < nbars) {
			uint32_t hoff = off + 4;
			uint32_t horig = pci_read(dev, hoff), hval;
			uint64_t mask;

			pci_write(dev, hoff, 0xffffffffu);
			hval = pci_read(dev, hoff);
			pci_write(dev, hoff, horig);
			mask = ((uint64_t)hval << 32) | (val & ~0xfu);
			printf("test-guest: pci 00:%02x.0 bar%d mem64%s size=0x%llx\n",
			       dev, i, (val & 8) ? " prefetch" : "",
			       (unsigned long long)(~mask + 1));
			i++;
		} else {
			printf("test-guest: pci 00:%02x.0 bar%d mem32%s size=0x%x\n",
			       dev, i, (val & 8) ? " prefetch" : "",
			       ~(val & ~0xfu) + 1);
		}
	}
	pci_write(dev, PCI_COMMAND, cmd);
}

int mode_pci(void)
{
	uint32_t dev, found = 0;

	for (dev = 0; dev < 32; dev++) {
		uint32_t id = pci_read(dev, PCI_VENDOR_ID);
		uint32_t class, htype;

		if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
			continue;
		class = pci_read(dev, PCI_CLASS_REV) >> 8;
		htype = (pci_read(dev, PCI_HEADER_TYPE) >> 16) & 0x7f;
		printf("test-guest: pci 00:%02x.0 %04x:%04x class=%06x\n",
		       dev, id & 0xffff, id >> 16, class);
		found++;
		if ((class >> 8) == PCI_CLASS_HOST_BRIDGE)
			continue;
		if (htype == 0)
			pci_size_bars(dev, 6);
		else if (htype == 1)
			pci_size_bars(dev, 2);
	}
	printf("test-guest: pci done devices=%u\n", found);
	return EXIT_OK;
}
