// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest virtio 1.x PCI transport: capability walk, status and feature
 * handshake, device configuration reads, split virtqueue setup. See
 * virtio_pci.h; section numbers refer to the VIRTIO 1.2 specification.
 *
 * Every access to the common configuration is an MMIO exit (about 10 us
 * on the test machines); none of this runs in the packet path.
 */
#include "virtio_pci.h"

/* Vendor capability (4.1.4): struct virtio_pci_cap and its extensions. */
#define VCAP_LEN		2	/* cap_len: bytes of the whole capability */
#define VCAP_TYPE		3	/* cfg_type */
#define VCAP_BAR		4
#define VCAP_OFFSET		8
#define VCAP_LENGTH		12
#define VCAP_NOTIFY_MULT	16	/* struct virtio_pci_notify_cap only */
#define VCAP_MIN_LEN		16
#define VCAP_NOTIFY_MIN_LEN	20

#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX		0x10
#define CC_NUMQ		0x12
#define CC_STATUS	0x14
#define CC_CFGGEN	0x15
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOFF	0x1e
#define CC_Q_DESCLO	0x20
#define CC_Q_DESCHI	0x24
#define CC_Q_AVAILLO	0x28
#define CC_Q_AVAILHI	0x2c
#define CC_Q_USEDLO	0x30
#define CC_Q_USEDHI	0x34
#define CC_LEN		0x38	/* the fields above: what the driver needs */

#define RESET_WAIT_NS	1000000000ull	/* 1 s for the device to finish a reset */
#define CFGGEN_TRIES	100

static inline uint8_t cc_read8(struct vpci_dev *vd, uint32_t off)
{
	return mmio_read8(vd->common + off);
}

static inline uint16_t cc_read16(struct vpci_dev *vd, uint32_t off)
{
	return mmio_read16(vd->common + off);
}

static inline uint32_t cc_read32(struct vpci_dev *vd, uint32_t off)
{
	return mmio_read32(vd->common + off);
}

static inline void cc_write8(struct vpci_dev *vd, uint32_t off, uint8_t v)
{
	mmio_write8(vd->common + off, v);
}

static inline void cc_write16(struct vpci_dev *vd, uint32_t off, uint16_t v)
{
	mmio_write16(vd->common + off, v);
}

static inline void cc_write32(struct vpci_dev *vd, uint32_t off, uint32_t v)
{
	mmio_write32(vd->common + off, v);
}

/* 64-bit fields as two 32-bit writes, low half first (4.1.3.1). */
static void cc_write64(struct vpci_dev *vd, uint32_t off, uint64_t v)
{
	cc_write32(vd, off, (uint32_t)v);
	cc_write32(vd, off + 4, (uint32_t)(v >> 32));
}

void vpci_msg(const struct vpci_dev *vd, const char *fmt, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("nfguest: %s %s: %s\n", vd->kind, vd->bdf, line);
}

int vpci_fail(struct vpci_dev *vd, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	uint16_t cmd;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("nfguest: %s %s: %s\n", vd->kind, vd->bdf, line);
	if (vd->common) {
		/* A reset stops the queues; then say we gave up (2.1.2). */
		(void)vpci_reset(vd);
		cc_write8(vd, CC_STATUS, VIRTIO_STATUS_FAILED);
	}
	cmd = pci_cfg_read16(vd->pci, PCI_COMMAND);
	pci_cfg_write16(vd->pci, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
	return -1;
}

/* One capability's region: checked against the BAR, mapped. NULL if unusable. */
static volatile uint8_t *cap_region(struct vpci_dev *vd, uint8_t cap, uint32_t min_len,
				    uint64_t *len_out, const char **why)
{
	struct pci_dev *pci = vd->pci;
	uint8_t bar = pci_cfg_read8(pci, cap + VCAP_BAR);
	uint32_t off = pci_cfg_read32(pci, cap + VCAP_OFFSET);
	uint32_t len = pci_cfg_read32(pci, cap + VCAP_LENGTH);
	const struct pci_bar *b;
	volatile uint8_t *base;

	if (bar > 5) {
		*why = "names no BAR";
		return NULL;
	}
	b = &pci->bar[bar];
	if (!b->size || b->io) {
		*why = "is in an I/O or unimplemented BAR";
		return NULL;
	}
	if (!b->addr) {
		*why = "is in an unassigned BAR";
		return NULL;
	}
	if (len < min_len) {
		*why = "is too short";
		return NULL;
	}
	if ((uint64_t)off + len > b->size) {
		*why = "runs past the end of its BAR";
		return NULL;
	}
	base = pci_bar_map(pci, bar);
	if (!base) {
		*why = "cannot be mapped";
		return NULL;
	}
	*len_out = len;
	return base + off;
}

int vpci_init(struct vpci_dev *vd, struct pci_dev *pci, const char *kind)
{
	static const char *const names[] = { "", "common", "notify", "ISR", "device" };
	uint8_t cap = 0;
	int hops = 48;

	memset(vd, 0, sizeof(*vd));
	vd->pci = pci;
	vd->kind = kind;
	snprintf(vd->bdf, sizeof(vd->bdf), "%02x:%02x.%x", pci->bus, pci->dev, pci->fn);

	while (hops-- && (cap = pci_find_cap(pci, PCI_CAP_ID_VNDR, cap)) != 0) {
		uint8_t cap_len = pci_cfg_read8(pci, cap + VCAP_LEN);
		uint8_t type = pci_cfg_read8(pci, cap + VCAP_TYPE);
		volatile uint8_t *p;
		const char *why = NULL;
		uint64_t len = 0;

		if (cap_len < VCAP_MIN_LEN || (uint32_t)cap + cap_len > 256)
			continue;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (vd->common)
				continue;
			p = cap_region(vd, cap, CC_LEN, &len, &why);
			vd->common = p;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (vd->notify)
				continue;
			if (cap_len < VCAP_NOTIFY_MIN_LEN) {
				vpci_msg(vd, "notify capability at 0x%x too short, ignored", cap);
				continue;
			}
			p = cap_region(vd, cap, 2, &len, &why);
			if (p) {
				vd->notify = p;
				vd->notify_len = len;
				vd->notify_mult = pci_cfg_read32(pci, cap + VCAP_NOTIFY_MULT);
			}
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (vd->isr)
				continue;
			p = cap_region(vd, cap, 1, &len, &why);
			vd->isr = p;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (vd->devcfg)
				continue;
			p = cap_region(vd, cap, 1, &len, &why);
			if (p) {
				vd->devcfg = p;
				vd->devcfg_len = (uint32_t)MIN(len, 4096u);
			}
			break;
		default:
			continue;	/* PCI_CFG access, shared memory, vendor data */
		}
		/* A later capability of the same type may still do. */
		if (!p)
			vpci_msg(vd, "%s capability at 0x%x %s, ignored", names[type], cap, why);
	}
	if (!vd->common || !vd->notify || !vd->isr) {
		vpci_msg(vd, "no usable virtio 1.x %s capability (legacy-only device?)",
			 !vd->common ? "common" : !vd->notify ? "notify" : "ISR");
		return -1;
	}
	/* The device configuration is optional in general (not for net). */
	pci_enable(pci, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vd->num_queues = cc_read16(vd, CC_NUMQ);
	return 0;
}

int vpci_reset(struct vpci_dev *vd)
{
	uint64_t deadline;

	cc_write8(vd, CC_STATUS, 0);
	deadline = time_ns() + RESET_WAIT_NS;
	while (cc_read8(vd, CC_STATUS) != 0) {
		if (time_ns() > deadline)
			return -1;
		delay_ns(10000);
	}
	return 0;
}

uint8_t vpci_status(struct vpci_dev *vd)
{
	return cc_read8(vd, CC_STATUS);
}

void vpci_status_set(struct vpci_dev *vd, uint8_t bits)
{
	cc_write8(vd, CC_STATUS, cc_read8(vd, CC_STATUS) | bits);
}

uint64_t vpci_device_features(struct vpci_dev *vd)
{
	uint32_t lo, hi;

	cc_write32(vd, CC_DFSELECT, 0);
	lo = cc_read32(vd, CC_DF);
	cc_write32(vd, CC_DFSELECT, 1);
	hi = cc_read32(vd, CC_DF);
	return (uint64_t)hi << 32 | lo;
}

int vpci_set_features(struct vpci_dev *vd, uint64_t features)
{
	cc_write32(vd, CC_GFSELECT, 0);
	cc_write32(vd, CC_GF, (uint32_t)features);
	cc_write32(vd, CC_GFSELECT, 1);
	cc_write32(vd, CC_GF, (uint32_t)(features >> 32));
	vpci_status_set(vd, VIRTIO_STATUS_FEATURES_OK);
	if (!(vpci_status(vd) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	vd->features = features;
	/* The queue count may depend on the features (virtio-net's MQ in QEMU). */
	vd->num_queues = cc_read16(vd, CC_NUMQ);
	return 0;
}

int vpci_devcfg_read(struct vpci_dev *vd, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *out = buf;
	int tries;

	if (!vd->devcfg || off > vd->devcfg_len || len > vd->devcfg_len - off)
		return -1;
	for (tries = 0; tries < CFGGEN_TRIES; tries++) {
		uint8_t gen = cc_read8(vd, CC_CFGGEN);
		uint32_t i;

		for (i = 0; i < len; i++)
			out[i] = mmio_read8(vd->devcfg + off + i);
		if (cc_read8(vd, CC_CFGGEN) == gen)
			return 0;
	}
	return -1;
}

uint16_t vpci_queue_max(struct vpci_dev *vd, uint16_t idx)
{
	if (idx >= vd->num_queues)
		return 0;
	cc_write16(vd, CC_Q_SELECT, idx);
	return cc_read16(vd, CC_Q_SIZE);
}

int vpci_queue_setup(struct vpci_dev *vd, struct virtq *vq, uint16_t idx, uint16_t size)
{
	uint64_t desc_bytes, avail_bytes, used_bytes, noff;
	uint16_t max;

	memset(vq, 0, sizeof(*vq));
	max = vpci_queue_max(vd, idx);	/* selects the queue */
	if (!max) {
		vpci_msg(vd, "queue %u not available", idx);
		return -1;
	}
	if (!size || (size & (size - 1)) || size > max || size > VIRTQ_MAX_SIZE) {
		vpci_msg(vd, "queue %u: bad size %u (device max %u)", idx, size, max);
		return -1;
	}
	if (cc_read16(vd, CC_Q_ENABLE)) {
		vpci_msg(vd, "queue %u enabled before setup (reset did not take)", idx);
		return -1;
	}
	noff = (uint64_t)cc_read16(vd, CC_Q_NOFF) * vd->notify_mult;
	if (noff + 2 > vd->notify_len) {
		vpci_msg(vd, "queue %u: notify offset 0x%llx beyond the notify area (0x%llx)", idx,
			 (unsigned long long)noff, (unsigned long long)vd->notify_len);
		return -1;
	}

	/* 2.7: descriptors 16-aligned, driver area 2-aligned, device area 4-aligned. */
	desc_bytes = (uint64_t)size * sizeof(struct vring_desc);
	avail_bytes = 6 + 2ull * size;
	used_bytes = 6 + (uint64_t)size * sizeof(struct vring_used_elem);
	vq->desc = page_alloc((desc_bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	vq->avail = page_alloc((avail_bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	vq->used = page_alloc((used_bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!vq->desc || !vq->avail || !vq->used) {
		vpci_msg(vd, "queue %u: out of memory for the rings", idx);
		return -1;
	}
	vq->index = idx;
	vq->size = size;
	vq->mask = size - 1;
	vq->event_idx = vd->features & VIRTIO_F_BIT(VIRTIO_F_RING_EVENT_IDX);
	vq->used_event = &vq->avail->ring[size];
	vq->avail_event = (volatile uint16_t *)&vq->used->ring[size];
	vq->notify = (volatile uint16_t *)(vd->notify + noff);
	vq->vector = VIRTIO_NO_VECTOR;

	cc_write16(vd, CC_Q_SIZE, size);
	cc_write64(vd, CC_Q_DESCLO, virt_to_phys(vq->desc));
	cc_write64(vd, CC_Q_AVAILLO, virt_to_phys(vq->avail));
	cc_write64(vd, CC_Q_USEDLO, virt_to_phys(vq->used));
	if (cc_read16(vd, CC_Q_SIZE) != size) {
		vpci_msg(vd, "queue %u: device did not take size %u", idx, size);
		return -1;
	}
	return 0;
}

void vpci_queue_enable(struct vpci_dev *vd, struct virtq *vq)
{
	cc_write16(vd, CC_Q_SELECT, vq->index);
	cc_write16(vd, CC_Q_ENABLE, 1);
}

uint16_t vpci_queue_vector(struct vpci_dev *vd, uint16_t idx, uint16_t vector)
{
	cc_write16(vd, CC_Q_SELECT, idx);
	cc_write16(vd, CC_Q_MSIX, vector);
	return cc_read16(vd, CC_Q_MSIX);
}

uint16_t vpci_config_vector(struct vpci_dev *vd, uint16_t vector)
{
	cc_write16(vd, CC_MSIX, vector);
	return cc_read16(vd, CC_MSIX);
}

uint8_t vpci_isr(struct vpci_dev *vd)
{
	return mmio_read8(vd->isr);
}
