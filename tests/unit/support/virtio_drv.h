/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver's side of a modern virtio-pci device for the unit tests: PCI
 * config space and BAR 0 accesses dispatched on the buses, the walk of the
 * vendor capabilities, the common configuration (status, features, queue
 * setup) and the doorbells. The offsets and bits are spelled out here from
 * VIRTIO 1.2 (2.1, 4.1.4), independently of the model's own definitions.
 * Include after <cmocka.h>.
 */
#ifndef NFV_TESTS_UNIT_SUPPORT_VIRTIO_DRV_H
#define NFV_TESTS_UNIT_SUPPORT_VIRTIO_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm/iobus.h"
#include "vmm/pci.h"

/* PCI capabilities (4.1.4): the list head, ids, virtio cfg_type. */
#define CAP_PTR 0x34
#define VNDR 0x09
#define MSIX_ID 0x11
#define T_COMMON 1
#define T_NOTIFY 2
#define T_ISR 3
#define T_DEVICE 4
#define T_PCI_CFG 5

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define DFSELECT 0x00
#define DF 0x04
#define GFSELECT 0x08
#define GF 0x0C
#define MSIXCFG 0x10
#define NUMQ 0x12
#define STATUS 0x14
#define CFGGEN 0x15
#define QSEL 0x16
#define QSIZE 0x18
#define QMSIX 0x1A
#define QENABLE 0x1C
#define QNOFF 0x1E
#define QDESC 0x20
#define QDRIVER 0x28
#define QDEVICE 0x30

/* Device status (2.1). */
#define S_ACK 0x01
#define S_DRIVER 0x02
#define S_DRIVER_OK 0x04
#define S_FEATURES_OK 0x08
#define S_NEEDS_RESET 0x40
#define S_FAILED 0x80

/* One device, as the driver finds it. */
struct vdrv {
	struct pci_bus *bus;
	struct io_bus *mmio;
	unsigned int slot;
	uint64_t bar; /* BAR 0, where every structure is */
	/* Found by vdrv_find_caps(), by cfg_type: where in config space, where in BAR 0. */
	unsigned int cap[6];
	uint32_t cap_off[6], cap_len[6];
	uint32_t notify_mult;
	unsigned int msix_cap;
	/*
	 * vdrv_queue_setup() writes the descriptor and driver area addresses
	 * as two 32-bit halves (the device area's stays one 64-bit write).
	 */
	bool addr_halves;
};

static inline uint32_t vdrv_cfg_rd(struct vdrv *d, unsigned int off, unsigned int len)
{
	return pci_bus_config_read(d->bus, d->slot, 0, off, len);
}

static inline void vdrv_cfg_wr(struct vdrv *d, unsigned int off, unsigned int len, uint32_t v)
{
	pci_bus_config_write(d->bus, d->slot, 0, off, len, v);
}

static inline uint64_t vdrv_bar_rd(struct vdrv *d, uint32_t off, uint32_t len)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	assert_int_equal(iobus_dispatch(d->mmio, d->bar + off, b, len, false), 0);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static inline void vdrv_bar_wr(struct vdrv *d, uint32_t off, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(iobus_dispatch(d->mmio, d->bar + off, b, len, true), 0);
}

struct vdrv_lookup {
	const char *name;
	struct pci_dev *dev;
};

static inline void vdrv_lookup_one(struct pci_dev *dev, void *arg)
{
	struct vdrv_lookup *l = arg;

	if (strcmp(pci_dev_name(dev), l->name) == 0)
		l->dev = dev;
}

/*
 * The device called `name` on `bus`, its BAR 0 on `mmio`: memory decoding
 * and bus mastering turned on, BAR 0's address read. The capabilities are
 * vdrv_find_caps()'s to find. Returns the device.
 */
static inline struct pci_dev *vdrv_init(struct vdrv *d, struct pci_bus *bus, struct io_bus *mmio,
					const char *name)
{
	struct vdrv_lookup l = { .name = name };

	pci_bus_for_each(bus, vdrv_lookup_one, &l);
	assert_non_null(l.dev);
	*d = (struct vdrv){ .bus = bus, .mmio = mmio, .slot = pci_dev_slot(l.dev) };
	vdrv_cfg_wr(d, 0x04, 2, 0x0006); /* memory decoding, bus master */
	d->bar = pci_dev_bar_addr(l.dev, 0);
	return l.dev;
}

/*
 * Walks the capability list: every vendor capability's place, offset and
 * length by cfg_type, the notify multiplier, the MSI-X capability. `check`,
 * when not NULL, sees each vendor capability (at c) before it is recorded.
 */
static inline void vdrv_find_caps(struct vdrv *d, void (*check)(struct vdrv *d, unsigned int c))
{
	unsigned int c = vdrv_cfg_rd(d, CAP_PTR, 1), hops = 0;

	while (c && hops++ < 48) {
		unsigned int id = vdrv_cfg_rd(d, c, 1);

		if (id == VNDR) {
			unsigned int type = vdrv_cfg_rd(d, c + 3, 1);

			if (check)
				check(d, c);
			if (type < 6) {
				d->cap[type] = c;
				d->cap_off[type] = vdrv_cfg_rd(d, c + 8, 4);
				d->cap_len[type] = vdrv_cfg_rd(d, c + 12, 4);
			}
			if (type == T_NOTIFY)
				d->notify_mult = vdrv_cfg_rd(d, c + 16, 4);
		} else if (id == MSIX_ID) {
			d->msix_cap = c;
		}
		c = vdrv_cfg_rd(d, c + 1, 1);
	}
}

/* The common configuration structure. */
static inline uint64_t vdrv_cc_rd(struct vdrv *d, uint32_t off, uint32_t len)
{
	return vdrv_bar_rd(d, d->cap_off[T_COMMON] + off, len);
}

static inline void vdrv_cc_wr(struct vdrv *d, uint32_t off, uint32_t len, uint64_t v)
{
	vdrv_bar_wr(d, d->cap_off[T_COMMON] + off, len, v);
}

static inline uint8_t vdrv_status(struct vdrv *d)
{
	return (uint8_t)vdrv_cc_rd(d, STATUS, 1);
}

static inline void vdrv_status_set(struct vdrv *d, uint8_t bits)
{
	vdrv_cc_wr(d, STATUS, 1, vdrv_status(d) | bits);
}

/* Writes 0 to the status: a reset, complete when the status reads 0 again. */
static inline void vdrv_reset(struct vdrv *d)
{
	vdrv_cc_wr(d, STATUS, 1, 0);
	assert_int_equal(vdrv_status(d), 0);
}

/* What the device offers, both halves. */
static inline uint64_t vdrv_dev_features(struct vdrv *d)
{
	uint64_t lo;

	vdrv_cc_wr(d, DFSELECT, 4, 0);
	lo = vdrv_cc_rd(d, DF, 4);
	vdrv_cc_wr(d, DFSELECT, 4, 1);
	return lo | vdrv_cc_rd(d, DF, 4) << 32;
}

/* What the driver takes, both halves. */
static inline void vdrv_drv_features(struct vdrv *d, uint64_t v)
{
	vdrv_cc_wr(d, GFSELECT, 4, 0);
	vdrv_cc_wr(d, GF, 4, (uint32_t)v);
	vdrv_cc_wr(d, GFSELECT, 4, 1);
	vdrv_cc_wr(d, GF, 4, v >> 32);
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK: true when the device took them. */
static inline bool vdrv_negotiate(struct vdrv *d, uint64_t features)
{
	vdrv_status_set(d, S_ACK);
	vdrv_status_set(d, S_DRIVER);
	vdrv_drv_features(d, features);
	vdrv_status_set(d, S_FEATURES_OK);
	return vdrv_status(d) & S_FEATURES_OK;
}

/* Queue q of `size` entries, its rings at base, base + 0x1000, base + 0x2000; enabled. */
static inline void vdrv_queue_setup(struct vdrv *d, uint16_t q, uint16_t size, uint64_t base)
{
	vdrv_cc_wr(d, QSEL, 2, q);
	vdrv_cc_wr(d, QSIZE, 2, size);
	if (d->addr_halves) {
		vdrv_cc_wr(d, QDESC, 4, (uint32_t)base);
		vdrv_cc_wr(d, QDESC + 4, 4, base >> 32);
		vdrv_cc_wr(d, QDRIVER, 4, (uint32_t)(base + 0x1000));
		vdrv_cc_wr(d, QDRIVER + 4, 4, (base + 0x1000) >> 32);
	} else {
		vdrv_cc_wr(d, QDESC, 8, base);
		vdrv_cc_wr(d, QDRIVER, 8, base + 0x1000);
	}
	vdrv_cc_wr(d, QDEVICE, 8, base + 0x2000);
	vdrv_cc_wr(d, QENABLE, 2, 1);
}

/* Queue q's doorbell: its offset in BAR 0. */
static inline uint32_t vdrv_notify_addr(struct vdrv *d, uint16_t q)
{
	vdrv_cc_wr(d, QSEL, 2, q);
	return d->cap_off[T_NOTIFY] + (uint32_t)vdrv_cc_rd(d, QNOFF, 2) * d->notify_mult;
}

/* Rings queue q's doorbell with its index. */
static inline void vdrv_kick(struct vdrv *d, uint16_t q)
{
	vdrv_bar_wr(d, vdrv_notify_addr(d, q), 2, q);
}

#endif /* NFV_TESTS_UNIT_SUPPORT_VIRTIO_DRV_H */
