/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NICs of the VM: --nic parsing, MACs, model + backend pairs (see nic.h).
 *
 * Threads: nic_create() and nic_free_all() run on the main thread while
 * neither the vCPUs nor the event loop run; nic_count() and nic_get_info()
 * run on the event loop meanwhile and only read the list. A virtio-net's
 * doorbell hook runs on vCPU threads under its transport's mutex (the only
 * writer of its struct nic_doorbell while they run) and its doorbell events
 * on the event loop.
 */
#define LOG_COMPONENT "nic"
#include "vmm/nic.h"
#include "common/log.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/netdev_pcap.h"
#include "vmm/netdev_tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIC_MAX_ITEMS 16  /* kind plus keys in one --nic */
#define NIC_VNET_QUEUES 3 /* one pair and the control queue */

struct nic;

/*
 * A virtio queue's doorbell through an ioeventfd: KVM completes the guest's
 * 2-byte write at gpa without an exit and signals ev, whose callback (on the
 * event loop) hands the doorbell to the transport. ev exists from creation
 * (events are created before the loop runs); the ioeventfd is registered at
 * DRIVER_OK and removed at reset by the transport's doorbell hook, on a vCPU
 * thread. A signal left over from before a reset only makes the device look
 * at a queue once more (the transport ignores doorbells of disabled queues).
 */
struct nic_doorbell {
	struct nic *nic;
	uint16_t queue;
	struct ev_event *ev;
	uint64_t gpa; /* while bound */
	bool bound;
};

struct nic {
	const struct nic_config *cfg;
	char name[16];
	struct netdev *nd;
	struct e1000 *e1000; /* kind e1000 */
	struct vnet *vnet;   /* kind virtio */
	int slot;	     /* PCI slot, -1 when unknown */
	unsigned int gsi;
	struct kvm_vm *vm;
	struct virtio_pci_hooks hooks; /* kind virtio */
	struct nic_doorbell doorbells[NIC_VNET_QUEUES];
};

static struct nic *nic_list[NIC_MAX];
static unsigned int nic_nr;

const char *nic_kind_name(enum nic_kind kind)
{
	switch (kind) {
	case NIC_KIND_E1000: return "e1000";
	case NIC_KIND_VIRTIO: return "virtio";
	}
	return "?";
}

/* ---- MAC addresses ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nic_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (strlen(s) != NIC_MAC_STR_LEN - 1)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return 0;
}

void nic_format_mac(const uint8_t mac[6], char buf[NIC_MAC_STR_LEN])
{
	snprintf(buf, NIC_MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}

/* FNV-1a, 64 bits: stable across runs, hosts and builds. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void nic_default_mac(const char *vm_name, unsigned int index, uint8_t mac[6])
{
	uint8_t idx[4] = { (uint8_t)index, (uint8_t)(index >> 8), (uint8_t)(index >> 16),
			   (uint8_t)(index >> 24) };
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv1a(h, "nfv-vmm nic", 11);
	h = fnv1a(h, vm_name, strlen(vm_name) + 1); /* with the terminator: "a" + 1 != "a1" */
	h = fnv1a(h, idx, sizeof(idx));
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* locally administered, unicast */
}

/* ---- --nic parsing ---- */

/*
 * Splits buf in place at single commas; ",," stands for one comma in a value.
 * Returns the number of items, or -E2BIG.
 */
static int nic_split(char *buf, char *items[NIC_MAX_ITEMS])
{
	char *r = buf, *w = buf;
	int n = 0;

	items[n++] = w;
	while (*r) {
		if (r[0] == ',' && r[1] == ',') {
			*w++ = ',';
			r += 2;
		} else if (r[0] == ',') {
			*w++ = '\0';
			r++;
			if (n == NIC_MAX_ITEMS)
				return -E2BIG;
			items[n++] = w;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return n;
}

static int nic_set_str(char **slot, const char *key, const char *val, char *err, size_t err_len)
{
	if (*slot) {
		snprintf(err, err_len, "%s= given twice", key);
		return -EINVAL;
	}
	if (!*val) {
		snprintf(err, err_len, "%s= needs a value", key);
		return -EINVAL;
	}
	*slot = strdup(val);
	if (!*slot) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int nic_parse_item(char *item, struct nic_config *cfg, char *err, size_t err_len)
{
	char *eq = strchr(item, '=');
	const char *key = item, *val;
	int ret;

	if (!*item) {
		snprintf(err, err_len, "an empty item (a stray comma?)");
		return -EINVAL;
	}
	if (!eq) {
		snprintf(err, err_len,
			 "'%.64s' is not KEY=VALUE (keys: tap, pcap-in, pcap-out, mac)", item);
		return -EINVAL;
	}
	*eq = '\0';
	val = eq + 1;
	if (strcmp(key, "tap") == 0) {
		ret = nic_set_str(&cfg->tap, key, val, err, err_len);
		if (ret == 0)
			ret = netdev_tap_check_name(cfg->tap, err, err_len);
		return ret;
	}
	if (strcmp(key, "pcap-in") == 0)
		return nic_set_str(&cfg->pcap_in, key, val, err, err_len);
	if (strcmp(key, "pcap-out") == 0)
		return nic_set_str(&cfg->pcap_out, key, val, err, err_len);
	if (strcmp(key, "mac") == 0) {
		if (cfg->mac_given) {
			snprintf(err, err_len, "mac= given twice");
			return -EINVAL;
		}
		if (nic_parse_mac(val, cfg->mac) < 0) {
			snprintf(err, err_len, "mac=%.32s: not a MAC address (XX:XX:XX:XX:XX:XX)",
				 val);
			return -EINVAL;
		}
		if (cfg->mac[0] & 1) {
			snprintf(err, err_len,
				 "mac=%s: a multicast address (the first byte is odd)", val);
			return -EINVAL;
		}
		if (!(cfg->mac[0] | cfg->mac[1] | cfg->mac[2] | cfg->mac[3] | cfg->mac[4] |
		      cfg->mac[5])) {
			snprintf(err, err_len, "mac=%s: the all-zero address", val);
			return -EINVAL;
		}
		cfg->mac_given = true;
		return 0;
	}
	snprintf(err, err_len, "unknown key '%.64s' (keys: tap, pcap-in, pcap-out, mac)", key);
	return -EINVAL;
}

int nic_config_parse(const char *spec, struct nic_config *cfg, char *err, size_t err_len)
{
	char *items[NIC_MAX_ITEMS];
	char *buf;
	int n, ret = 0;

	*cfg = (struct nic_config){ .kind = NIC_KIND_E1000 };
	if (strlen(spec) > NIC_SPEC_MAX) {
		snprintf(err, err_len, "longer than %d bytes", NIC_SPEC_MAX);
		return -EINVAL;
	}
	buf = strdup(spec);
	if (!buf) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	n = nic_split(buf, items);
	if (n < 0) {
		snprintf(err, err_len, "more than %d items", NIC_MAX_ITEMS);
		ret = -EINVAL;
		goto out;
	}
	if (strcmp(items[0], "e1000") == 0) {
		cfg->kind = NIC_KIND_E1000;
	} else if (strcmp(items[0], "virtio") == 0 || strcmp(items[0], "virtio-net") == 0) {
		cfg->kind = NIC_KIND_VIRTIO;
	} else {
		snprintf(err, err_len,
			 "unknown NIC kind '%.64s' (available: e1000, virtio); the spec "
			 "starts with the kind: e1000,tap=NAME",
			 items[0]);
		ret = -EINVAL;
		goto out;
	}
	for (int i = 1; i < n && ret == 0; i++)
		ret = nic_parse_item(items[i], cfg, err, err_len);
	if (ret < 0)
		goto out;
	if (!cfg->tap && !cfg->pcap_in && !cfg->pcap_out) {
		snprintf(err, err_len,
			 "no backend: give tap=NAME, or pcap-in=FILE and/or pcap-out=FILE");
		ret = -EINVAL;
	} else if (cfg->tap && (cfg->pcap_in || cfg->pcap_out)) {
		snprintf(err, err_len, "two backends (tap= and pcap-%s=): give one",
			 cfg->pcap_in ? "in" : "out");
		ret = -EINVAL;
	}
out:
	free(buf);
	if (ret < 0)
		nic_config_clear(cfg);
	return ret;
}

void nic_config_clear(struct nic_config *cfg)
{
	free(cfg->tap);
	free(cfg->pcap_in);
	free(cfg->pcap_out);
	cfg->tap = cfg->pcap_in = cfg->pcap_out = NULL;
}

int nic_configs_finish(struct nic_config *cfgs, unsigned int n, const char *vm_name, char *err,
		       size_t err_len)
{
	for (unsigned int i = 0; i < n; i++)
		if (!cfgs[i].mac_given)
			nic_default_mac(vm_name, i, cfgs[i].mac);
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int j = 0; j < i; j++) {
			char m[NIC_MAC_STR_LEN];

			if (memcmp(cfgs[i].mac, cfgs[j].mac, 6))
				continue;
			nic_format_mac(cfgs[i].mac, m);
			snprintf(err, err_len, "NICs %u and %u have the same MAC %s", j, i, m);
			return -EINVAL;
		}
		if (cfgs[i].tap) {
			for (unsigned int j = 0; j < i; j++) {
				if (cfgs[j].tap && strcmp(cfgs[i].tap, cfgs[j].tap) == 0) {
					snprintf(err, err_len, "NICs %u and %u use the same tap %s",
						 j, i, cfgs[i].tap);
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

/* ---- NICs ---- */

static void nic_slots(struct pci_dev *dev, void *arg)
{
	uint32_t *mask = arg;

	*mask |= 1u << (pci_dev_slot(dev) % 32);
}

static void nic_find_dev(struct pci_dev *dev, void *arg)
{
	struct nic *nic = arg;

	if ((int)pci_dev_slot(dev) == nic->slot)
		nic->gsi = pci_dev_gsi(dev);
}

static int nic_open_backend(const struct nic_config *cfg, struct evloop *loop, struct netdev **nd,
			    char *err, size_t err_len, bool *bad_input)
{
	int ret;

	if (cfg->tap)
		return netdev_tap_open(loop, cfg->tap, nd, err, err_len);
	ret = netdev_pcap_open(loop, cfg->pcap_in, cfg->pcap_out, nd, err, err_len);
	*bad_input = ret < 0 && ret != -ENOMEM;
	return ret;
}

static void nic_doorbell_cb(struct ev_event *e, void *opaque)
{
	struct nic_doorbell *db = opaque;

	(void)e;
	virtio_pci_kick(vnet_transport(db->nic->vnet), db->queue);
}

/* The transport's doorbell hook (vCPU thread, transport mutex held). */
static int nic_doorbell_hook(void *opaque, uint16_t queue, uint64_t gpa, bool bound)
{
	struct nic *nic = opaque;
	struct nic_doorbell *db;
	int ret;

	if (queue >= NIC_VNET_QUEUES || !nic->doorbells[queue].ev)
		return -ENOTSUP;
	db = &nic->doorbells[queue];
	if (!bound) {
		if (db->bound)
			(void)irq_ioeventfd_del(nic->vm, db->gpa, 2, false, false, 0,
						evloop_event_fd(db->ev));
		db->bound = false;
		return 0;
	}
	ret = irq_ioeventfd_add(nic->vm, gpa, 2, false, false, 0, evloop_event_fd(db->ev));
	if (ret < 0) {
		log_warn("%s: queue %u: no ioeventfd at 0x%llx (%s): doorbells as MMIO exits",
			 nic->name, queue, (unsigned long long)gpa, strerror(-ret));
		return ret;
	}
	db->gpa = gpa;
	db->bound = true;
	log_debug("%s: queue %u: doorbell at 0x%llx through an ioeventfd", nic->name, queue,
		  (unsigned long long)gpa);
	return 0;
}

/* Events for the doorbells, made before the event loop runs. */
static int nic_doorbells_new(struct nic *nic, struct evloop *loop)
{
	if (!nic->vm || !loop)
		return -ENOTSUP;
	for (uint16_t q = 0; q < NIC_VNET_QUEUES; q++) {
		struct nic_doorbell *db = &nic->doorbells[q];

		db->nic = nic;
		db->queue = q;
		db->ev = evloop_event_new(loop, nic_doorbell_cb, db);
		if (!db->ev)
			return -ENOMEM;
	}
	nic->hooks = (struct virtio_pci_hooks){ .opaque = nic, .doorbell = nic_doorbell_hook };
	return 0;
}

static void nic_doorbells_free(struct nic *nic)
{
	for (uint16_t q = 0; q < NIC_VNET_QUEUES; q++) {
		struct nic_doorbell *db = &nic->doorbells[q];

		if (db->bound)
			(void)irq_ioeventfd_del(nic->vm, db->gpa, 2, false, false, 0,
						evloop_event_fd(db->ev));
		db->bound = false;
		evloop_event_free(db->ev);
		db->ev = NULL;
	}
}

/*
 * The model over nic->nd. virtio: one queue pair, MTU 1500; doorbells
 * through ioeventfds watched by the event loop (MMIO exits to the BAR on a
 * vCPU thread when KVM refuses one), interrupts through the PCI core (MSI-X
 * with KVM_SIGNAL_MSI, or INTx).
 */
static int nic_new_model(struct nic *nic, struct pci_bus *bus, const struct guest_mem *mem,
			 struct evloop *loop)
{
	const struct nic_config *cfg = nic->cfg;

	switch (cfg->kind) {
	case NIC_KIND_E1000: {
		struct e1000_config ecfg = { .name = nic->name };

		memcpy(ecfg.mac, cfg->mac, sizeof(ecfg.mac));
		nic->e1000 = e1000_new(bus, mem, nic->nd, loop, &ecfg);
		return nic->e1000 ? 0 : -ENODEV;
	}
	case NIC_KIND_VIRTIO: {
		struct vnet_config vcfg = {
			.name = nic->name,
			.queue_pairs = 1,
			.mtu = 1500,
			.netdevs = { nic->nd },
			.nr_netdevs = 1,
		};

		memcpy(vcfg.mac, cfg->mac, sizeof(vcfg.mac));
		if (nic_doorbells_new(nic, loop) == 0)
			vcfg.hooks = &nic->hooks;
		else
			log_warn("%s: no doorbell events: doorbells as MMIO exits", nic->name);
		nic->vnet = vnet_new(bus, mem, loop, &vcfg);
		return nic->vnet ? 0 : -ENODEV;
	}
	}
	return -EINVAL;
}

int nic_create(const struct nic_config *cfg, unsigned int index, struct kvm_vm *vm,
	       struct pci_bus *bus, const struct guest_mem *mem, struct evloop *loop, char *err,
	       size_t err_len, bool *bad_input)
{
	uint32_t before = 0, after = 0;
	char mac[NIC_MAC_STR_LEN];
	struct nic *nic;
	int ret;

	*bad_input = false;
	if (nic_nr >= NIC_MAX) {
		snprintf(err, err_len, "at most %d NICs", NIC_MAX);
		*bad_input = true;
		return -ENOSPC;
	}
	nic = calloc(1, sizeof(*nic));
	if (!nic) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	nic->cfg = cfg;
	nic->vm = vm;
	nic->slot = -1;
	snprintf(nic->name, sizeof(nic->name), "%s.%u", nic_kind_name(cfg->kind), index);
	ret = nic_open_backend(cfg, loop, &nic->nd, err, err_len, bad_input);
	if (ret < 0)
		goto err_free;

	pci_bus_for_each(bus, nic_slots, &before);
	if (nic_new_model(nic, bus, mem, loop) < 0) {
		snprintf(err, err_len, "%s: cannot create the %s model (see the log above)",
			 nic->name, nic_kind_name(cfg->kind));
		ret = -ENODEV;
		goto err_nd;
	}
	pci_bus_for_each(bus, nic_slots, &after);
	if (after & ~before) {
		nic->slot = __builtin_ctz(after & ~before);
		pci_bus_for_each(bus, nic_find_dev, nic);
	}
	nic_list[nic_nr++] = nic;
	nic_format_mac(cfg->mac, mac);
	log_info("%s: PCI 00:%02x.0, INTx GSI %u, mac %s (%s), backend %s", nic->name,
		 nic->slot < 0 ? 0 : nic->slot, nic->gsi, mac,
		 cfg->mac_given ? "given" : "generated from the VM name and NIC index",
		 nic->nd->name);
	return 0;

err_nd:
	nic_doorbells_free(nic);
	netdev_close(nic->nd);
err_free:
	free(nic);
	return ret;
}

void nic_free_all(void)
{
	for (unsigned int i = nic_nr; i-- > 0;) {
		struct nic *nic = nic_list[i];

		e1000_free(nic->e1000);
		vnet_free(nic->vnet);
		nic_doorbells_free(nic);
		netdev_close(nic->nd);
		free(nic);
		nic_list[i] = NULL;
	}
	nic_nr = 0;
}

unsigned int nic_count(void)
{
	return nic_nr;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int nic_get_info(unsigned int index, struct nic_info *info)
{
	const struct nic *nic;
	const struct netdev_stats *s;

	if (index >= nic_nr)
		return -ENOENT;
	nic = nic_list[index];
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", nic->name);
	info->kind = nic_kind_name(nic->cfg->kind);
	info->backend = nic->nd->ops->type;
	snprintf(info->netdev, sizeof(info->netdev), "%s", nic->nd->name);
	nic_format_mac(nic->cfg->mac, info->mac);
	if (nic->slot >= 0)
		snprintf(info->pci, sizeof(info->pci), "00:%02x.0", (unsigned int)nic->slot);
	info->gsi = nic->gsi;
	info->link_up = __atomic_load_n(&nic->nd->link_up, __ATOMIC_RELAXED);
	info->cfg = nic->cfg;
	if (nic->e1000)
		e1000_get_stats(nic->e1000, &info->model);
	if (nic->vnet)
		vnet_get_stats(nic->vnet, &info->vnet);
	s = &nic->nd->stats;
	info->netdev_stats = (struct netdev_stats){
		.tx_packets = ld(&s->tx_packets),
		.tx_bytes = ld(&s->tx_bytes),
		.tx_dropped = ld(&s->tx_dropped),
		.rx_packets = ld(&s->rx_packets),
		.rx_bytes = ld(&s->rx_bytes),
		.rx_dropped = ld(&s->rx_dropped),
	};
	return 0;
}
