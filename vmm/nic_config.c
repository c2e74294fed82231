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

#define NIC_MAX_ITEMS 16 /* kind plus keys in one --nic */
#define NIC_KEYS "keys: tap, pcap-in, pcap-out, mac, queues, iothreads"

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
	if (strcmp(key, "queues") == 0)
		return nic_set_count(&cfg->queues, &cfg->queues_given, cfg, key, val, err, err_len);
	if (strcmp(key, "iothreads") == 0)
		return nic_set_count(&cfg->iothreads, &cfg->iothreads_given, cfg, key, val, err,
				     err_len);
	snprintf(err, err_len, "unknown key '%.64s' (" NIC_KEYS ")", key);
	return -EINVAL;
}

int nic_config_parse(const char *spec, struct nic_config *cfg, char *err, size_t err_len)
{
	char *items[NIC_MAX_ITEMS];
	char *buf;
	int n, ret = 0;

	*cfg = (struct nic_config){ .kind = NIC_KIND_E1000, .queues = 1 };
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
	} else if (cfg->kind == NIC_KIND_VIRTIO) {
		if (!cfg->iothreads_given)
			cfg->iothreads = cfg->queues;
		if (cfg->iothreads > cfg->queues) {
			snprintf(err, err_len,
				 "iothreads=%u is more than queues=%u (at most one I/O thread "
				 "per queue pair)",
				 cfg->iothreads, cfg->queues);
			ret = -EINVAL;
		}
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
