/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --nic parsing and MAC addresses (see nic.h). Pure functions of their
 * arguments, run on the main thread at start-up; no KVM, no backend opened
 * (a tap name is only checked), so the unit tests link this file alone.
 */
#define LOG_COMPONENT "nic"
#include "vmm/nic.h"
#include "vmm/netdev_tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define NIC_MAX_ITEMS 16 /* kind plus keys in one --nic */
#define NIC_KEYS                                                                         \
	"keys: tap, pcap-in, pcap-out, vhost-user, server, offload, vhost-net, mac, mtu, " \
	"queues, iothreads, vectors, event_idx, addr"
#define NIC_VECTORS_MAX 2048 /* what vectors= may say before the 0 / 2N+2 check */

const char *nic_kind_name(enum nic_kind kind)
{
	switch (kind) {
	case NIC_KIND_E1000: return "e1000";
	case NIC_KIND_VIRTIO: return "virtio";
	}
	return "?";
}

/* ---- MAC addresses ---- */

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

/*
 * queues= and iothreads=: 1..NIC_MAX_QUEUES here; iothreads <= queues is
 * checked once every key is read (they may come in either order).
 */
static int nic_set_count(unsigned int *slot, bool *given, const struct nic_config *cfg,
			 const char *key, const char *val, char *err, size_t err_len)
{
	uint64_t v;

	if (cfg->kind != NIC_KIND_VIRTIO) {
		snprintf(err, err_len, "%s= is for virtio NICs", key);
		return -EINVAL;
	}
	if (*given) {
		snprintf(err, err_len, "%s= given twice", key);
		return -EINVAL;
	}
	if (parse_u64(val, 1, NIC_MAX_QUEUES, &v) < 0) {
		snprintf(err, err_len, "%s=%.32s: must be a whole number from 1 to %d", key, val,
			 NIC_MAX_QUEUES);
		return -EINVAL;
	}
	*slot = (unsigned int)v;
	*given = true;
	return 0;
}

/*
 * vectors=: a number here; whether it is 0 or 2 * queues + 2 is checked
 * once queues= is known.
 */
static int nic_set_vectors(struct nic_config *cfg, const char *val, char *err, size_t err_len)
{
	uint64_t v;

	if (cfg->kind != NIC_KIND_VIRTIO) {
		snprintf(err, err_len, "vectors= is for virtio NICs");
		return -EINVAL;
	}
	if (cfg->vectors_given) {
		snprintf(err, err_len, "vectors= given twice");
		return -EINVAL;
	}
	if (parse_u64(val, 0, NIC_VECTORS_MAX, &v) < 0) {
		snprintf(err, err_len,
			 "vectors=%.32s: supported are 0 (no MSI-X: INTx) and 2 * queues + 2 "
			 "(the default)",
			 val);
		return -EINVAL;
	}
	cfg->vectors = (unsigned int)v;
	cfg->vectors_given = true;
	return 0;
}

/* KEY=on|off, and QEMU's other spellings of a boolean, given once. */
static int nic_set_bool(bool *v, bool *given, const char *key, const char *val, char *err,
			size_t err_len)
{
	static const char *const on[] = { "on", "yes", "true" }, *const off[] = { "off", "no",
										  "false" };

	if (*given) {
		snprintf(err, err_len, "%s= given twice", key);
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
		if (strcmp(val, on[i]) == 0 || strcmp(val, off[i]) == 0) {
			*v = strcmp(val, on[i]) == 0;
			*given = true;
			return 0;
		}
	}
	snprintf(err, err_len, "%s=%.32s: must be on or off", key, val);
	return -EINVAL;
}

/* event_idx=on|off (virtio only). */
static int nic_set_event_idx(struct nic_config *cfg, const char *val, char *err, size_t err_len)
{
	bool on = true;
	int ret;

	if (cfg->kind != NIC_KIND_VIRTIO) {
		snprintf(err, err_len, "event_idx= is for virtio NICs");
		return -EINVAL;
	}
	ret = nic_set_bool(&on, &cfg->event_idx_given, "event_idx", val, err, err_len);
	cfg->no_event_idx = !on;
	return ret;
}

/*
 * addr=SLOT: 1..31, decimal or 0x hex, optionally with function ".0" (the
 * only one a NIC has). A leading 0 does not make it octal: "011" is 11.
 */
static int nic_set_addr(struct nic_config *cfg, const char *val, char *err, size_t err_len)
{
	const char *p = val, *dot;
	unsigned long v = 0;
	int base = 10;
	size_t n;

	if (cfg->pci_slot) {
		snprintf(err, err_len, "addr= given twice");
		return -EINVAL;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	dot = strchr(p, '.');
	n = dot ? (size_t)(dot - p) : strlen(p);
	for (size_t i = 0; i < n; i++) {
		int d = hex_value(p[i]);

		if (d < 0 || d >= base) {
			v = ~0ul;
			break;
		}
		if (v < PCI_MAX_SLOTS) /* past it, out of range whatever follows */
			v = v * (unsigned long)base + (unsigned long)d;
	}
	if (n == 0 || v == ~0ul) {
		snprintf(err, err_len,
			 "addr=%.32s: not a PCI slot (a number from 1 to 31, decimal or 0x hex, "
			 "optionally with function .0)",
			 val);
		return -EINVAL;
	}
	if (dot && strcmp(dot, ".0") != 0) {
		snprintf(err, err_len,
			 "addr=%.32s: a NIC is function 0 of its slot (SLOT or SLOT.0)", val);
		return -EINVAL;
	}
	if (v == 0) {
		snprintf(err, err_len,
			 "addr=%.32s: slot 0 is taken by the host bridge (slots 1 to 31)", val);
		return -EINVAL;
	}
	if (v >= PCI_MAX_SLOTS) {
		snprintf(err, err_len, "addr=%.32s: out of range (slots 1 to 31)", val);
		return -EINVAL;
	}
	cfg->pci_slot = (unsigned int)v;
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
		snprintf(err, err_len, "'%.64s' is not KEY=VALUE (" NIC_KEYS ")", item);
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
		if (parse_mac(val, cfg->mac) < 0) {
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
	if (strcmp(key, "queues") == 0)
		return nic_set_count(&cfg->queues, &cfg->queues_given, cfg, key, val, err, err_len);
	if (strcmp(key, "iothreads") == 0)
		return nic_set_count(&cfg->iothreads, &cfg->iothreads_given, cfg, key, val, err,
				     err_len);
	if (strcmp(key, "vectors") == 0)
		return nic_set_vectors(cfg, val, err, err_len);
	if (strcmp(key, "event_idx") == 0)
		return nic_set_event_idx(cfg, val, err, err_len);
	if (strcmp(key, "addr") == 0)
		return nic_set_addr(cfg, val, err, err_len);
	if (strcmp(key, "vhost-user") == 0) {
		if (strlen(val) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, err_len, "vhost-user=%.32s...: longer than a Unix socket path "
				 "may be (%zu bytes)", val, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -ENAMETOOLONG;
		}
		return nic_set_str(&cfg->vhost_user, key, val, err, err_len);
	}
	if (strcmp(key, "server") == 0)
		return nic_set_bool(&cfg->server, &cfg->server_given, key, val, err, err_len);
	if (strcmp(key, "offload") == 0) {
		bool on = true;
		int ret = nic_set_bool(&on, &cfg->offload_given, key, val, err, err_len);

		cfg->offload_off = !on;
		return ret;
	}
	if (strcmp(key, "mtu") == 0) {
		uint64_t v;

		if (cfg->mtu_given) {
			snprintf(err, err_len, "mtu= given twice");
			return -EINVAL;
		}
		if (parse_u64(val, NIC_MIN_MTU, NIC_MAX_MTU, &v) < 0) {
			snprintf(err, err_len, "mtu=%.32s: must be a whole number from %d to %d", val,
				 NIC_MIN_MTU, NIC_MAX_MTU);
			return -EINVAL;
		}
		cfg->mtu = (unsigned int)v;
		cfg->mtu_given = true;
		return 0;
	}
	if (strcmp(key, "vhost-net") == 0)
		return nic_set_bool(&cfg->vhost_net, &cfg->vhost_net_given, key, val, err, err_len);
	snprintf(err, err_len, "unknown key '%.64s' (" NIC_KEYS ")", key);
	return -EINVAL;
}

int nic_config_parse(const char *spec, struct nic_config *cfg, char *err, size_t err_len)
{
	char *items[NIC_MAX_ITEMS];
	char *buf;
	int n, ret = 0;

	*cfg = (struct nic_config){ .kind = NIC_KIND_E1000, .queues = 1, .server = true,
				    .mtu = 1500 };
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
	if (!cfg->tap && !cfg->pcap_in && !cfg->pcap_out && !cfg->vhost_user) {
		snprintf(err, err_len,
			 "no backend: give tap=NAME, pcap-in=FILE and/or pcap-out=FILE, or "
			 "vhost-user=PATH");
		ret = -EINVAL;
	} else if ((cfg->tap != NULL) + (cfg->pcap_in || cfg->pcap_out) +
			   (cfg->vhost_user != NULL) > 1) {
		snprintf(err, err_len, "two backends (%s): give one",
			 cfg->tap && cfg->vhost_user ? "tap= and vhost-user="
			 : cfg->tap		     ? "tap= and pcap-in=/pcap-out="
						     : "vhost-user= and pcap-in=/pcap-out=");
		ret = -EINVAL;
	} else if ((cfg->server_given || cfg->offload_given) && !cfg->vhost_user) {
		snprintf(err, err_len, "%s= goes with vhost-user=PATH",
			 cfg->server_given ? "server" : "offload");
		ret = -EINVAL;
	} else if (cfg->vhost_net_given && (cfg->kind != NIC_KIND_VIRTIO || !cfg->tap)) {
		snprintf(err, err_len, "vhost-net= is for a virtio NIC with tap=NAME");
		ret = -EINVAL;
	} else if (cfg->mtu_given && cfg->kind == NIC_KIND_E1000 && !cfg->vhost_user) {
		snprintf(err, err_len,
			 "mtu= on an e1000 is for vhost-user= (the guest's driver sets the frame "
			 "size of a tap or pcap NIC)");
		ret = -EINVAL;
	} else if (cfg->offload_given && cfg->kind != NIC_KIND_VIRTIO) {
		snprintf(err, err_len, "offload= is for virtio NICs (an e1000 always relays)");
		ret = -EINVAL;
	} else if (cfg->kind == NIC_KIND_VIRTIO) {
		if (!cfg->iothreads_given)
			cfg->iothreads = cfg->queues;
		if (cfg->iothreads > cfg->queues) {
			snprintf(err, err_len,
				 "iothreads=%u is more than queues=%u (at most one I/O thread "
				 "per queue pair)",
				 cfg->iothreads, cfg->queues);
			ret = -EINVAL;
		} else if (cfg->vectors_given && cfg->vectors != 0 &&
			   cfg->vectors != 2 * cfg->queues + 2) {
			snprintf(err, err_len,
				 "vectors=%u: supported are 0 (no MSI-X: INTx) and %u (2 * "
				 "queues + 2, the default)",
				 cfg->vectors, 2 * cfg->queues + 2);
			ret = -EINVAL;
		}
		cfg->no_msix = cfg->vectors_given && cfg->vectors == 0;
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
	free(cfg->vhost_user);
	cfg->tap = cfg->pcap_in = cfg->pcap_out = cfg->vhost_user = NULL;
}

int nic_configs_finish(struct nic_config *cfgs, unsigned int n, const char *vm_name, char *err,
		       size_t err_len)
{
	uint32_t asked = 0;

	for (unsigned int i = 0; i < n; i++)
		if (cfgs[i].pci_slot)
			asked |= 1u << cfgs[i].pci_slot;
	for (unsigned int i = 0; i < n; i++)
		cfgs[i].others_slots = asked & ~(cfgs[i].pci_slot ? 1u << cfgs[i].pci_slot : 0);
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
		for (unsigned int j = 0; j < i && cfgs[i].pci_slot; j++) {
			if (cfgs[j].pci_slot == cfgs[i].pci_slot) {
				snprintf(err, err_len,
					 "NIC %u: addr=%u: PCI slot %u is taken by NIC %u "
					 "(addr=%u)",
					 i, cfgs[i].pci_slot, cfgs[i].pci_slot, j,
					 cfgs[j].pci_slot);
				return -EINVAL;
			}
		}
		for (unsigned int j = 0; j < i; j++) {
			if (cfgs[i].tap && cfgs[j].tap && strcmp(cfgs[i].tap, cfgs[j].tap) == 0) {
				snprintf(err, err_len, "NICs %u and %u use the same tap %s", j, i,
					 cfgs[i].tap);
				return -EINVAL;
			}
			if (cfgs[i].vhost_user && cfgs[j].vhost_user &&
			    strcmp(cfgs[i].vhost_user, cfgs[j].vhost_user) == 0) {
				snprintf(err, err_len, "NICs %u and %u use the same vhost-user socket %s",
					 j, i, cfgs[i].vhost_user);
				return -EINVAL;
			}
		}
	}
	return 0;
}
