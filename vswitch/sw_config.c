/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchd's configuration: the YAML loader, the `--port` spec parser,
 * the value parsers (rates, sizes, VLAN lists, MAC addresses) and the
 * checks shared by all of them.
 *
 * The YAML file is read in two passes over the same bytes: an event scan
 * that refuses what the schema never needs (aliases, more than one
 * document, deep nesting) and reports syntax errors, then libyaml's loader
 * into a yaml_document_t that the schema walk below reads. Every check
 * that has a node reports that node's position; sw_config_validate repeats
 * the checks on the finished config, for configs built by other means.
 *
 * No global state: every function is safe to call from any thread on
 * distinct configs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/util.h"
#include "vswitch/sw_config.h"

#define CFG_FILE_MAX (1024 * 1024) /* bytes in a config file */
#define CFG_DEPTH_MAX 16	   /* nested mappings and lists; the schema needs 7 */
#define CFG_AGING_MAX 1000000u	   /* seconds */
#define CFG_FDB_MIN 16u
#define CFG_FDB_MAX 1048576u
#define CFG_FDB_DEFAULT 8192u
#define CFG_AGING_DEFAULT 300u
#define CFG_MBUFS_MIN 1024u
#define CFG_MBUFS_MAX (16u * 1024 * 1024)
#define CFG_SNAPLEN_MIN 64u
#define CFG_SNAPLEN_MAX 65535u
#define CFG_QLEN_MIN 16u
#define CFG_QLEN_MAX 65536u
#define CFG_QLEN_DEFAULT 256u
#define CFG_CORE_MAX 1023u
#define CFG_IFNAME_MAX 15u     /* IFNAMSIZ - 1 */
#define CFG_FRAME_OVERHEAD 18u /* Ethernet header and one VLAN tag, on top of the MTU */
#define CFG_MSG_MAX 512

static int __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* ------------------------------------------------------------------------ */
/* Value parsers */

/* A plain decimal number: digits only, no sign, no leading zero. */
static int parse_dec(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/* A decimal number in [min, max], with a message naming `what`. */
static int parse_dec_range(const char *s, const char *what, uint64_t min, uint64_t max,
			   uint64_t *out, char *err, size_t errlen)
{
	int ret = parse_dec(s, out);

	if (ret == -EINVAL)
		return set_err(err, errlen, "%s: '%.40s' is not a decimal integer", what, s);
	if (ret < 0 || *out < min || *out > max)
		return set_err(err, errlen, "%s must be %" PRIu64 "..%" PRIu64 " (got '%.40s')",
			       what, min, max, s);
	return 0;
}

struct unit {
	const char *name;
	uint64_t mult;
	bool bits;
};

/* clang-format off */
static const struct unit rate_units[] = {
	{ "bit", 1, true },
	{ "kbit", 1000, true },
	{ "Kbit", 1000, true },
	{ "mbit", 1000000, true },
	{ "Mbit", 1000000, true },
	{ "gbit", 1000000000, true },
	{ "Gbit", 1000000000, true },
	{ "B", 1, false },
	{ "kB", 1000, false },
	{ "MB", 1000000, false },
	{ "GB", 1000000000, false },
	{ NULL, 0, false },
};

static const struct unit size_units[] = {
	{ "B", 1, false },
	{ "kB", 1000, false },
	{ "KiB", 1024, false },
	{ "MB", 1000000, false },
	{ "MiB", 1024 * 1024, false },
	{ NULL, 0, false },
};
/* clang-format on */

/*
 * "N[.F]UNIT": a whole number with an optional decimal fraction (at most 9
 * digits) and a unit from the table. The value in the unit's base (bits or
 * bytes) must be whole; bits are then turned into bytes, rounding down.
 */
static int parse_unit(const char *s, const struct unit *units, const char *unit_list, uint64_t *out,
		      char *err, size_t errlen)
{
	static const struct unit bare = { "", 1, false };
	uint64_t whole = 0, frac = 0, scale = 1, v;
	const char *p = s;
	const struct unit *u;

	if (!s || !*s)
		return set_err(err, errlen, "empty value");
	if (*p < '0' || *p > '9')
		return set_err(err, errlen, "'%.40s' does not start with a number", s);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, *p - '0', &whole))
			return set_err(err, errlen, "'%.40s' is too large", s);
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return set_err(err, errlen, "'%.40s': expected digits after '.'", s);
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale == 1000000000)
				return set_err(err, errlen, "'%.40s': too many decimals", s);
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	if (!*p) {
		u = &bare;
	} else {
		for (u = units; u->name; u++)
			if (!strcmp(p, u->name))
				break;
		if (!u->name)
			return set_err(err, errlen, "'%.40s': unknown unit '%.16s' (use %s)", s, p,
				       unit_list);
	}
	/* frac < 1e9 and mult <= 1e9: the product fits */
	if ((frac * u->mult) % scale)
		return set_err(err, errlen, "'%.40s' is not a whole number of %s", s,
			       u->bits ? "bits" : "bytes");
	if (__builtin_mul_overflow(whole, u->mult, &v) ||
	    __builtin_add_overflow(v, frac * u->mult / scale, &v))
		return set_err(err, errlen, "'%.40s' is too large", s);
	*out = u->bits ? v / 8 : v;
	return 0;
}

int sw_parse_rate(const char *s, uint64_t *bytes_per_s, char *err, size_t errlen)
{
	return parse_unit(s, rate_units, "bit, kbit, mbit, gbit, B, kB, MB, GB", bytes_per_s, err,
			  errlen);
}

int sw_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	return parse_unit(s, size_units, "B, kB, KiB, MB, MiB", bytes, err, errlen);
}

/* Splits "A" or "A-B" (A, B decimal in [0, max]) of a comma-separated list. */
static int parse_range(const char *item, size_t len, uint64_t max, const char *what, uint64_t *lo,
		       uint64_t *hi, char *err, size_t errlen)
{
	char buf[32], *dash;

	while (len && *item == ' ') {
		item++;
		len--;
	}
	while (len && item[len - 1] == ' ')
		len--;
	if (!len)
		return set_err(err, errlen, "empty element in the list");
	if (len >= sizeof(buf))
		return set_err(err, errlen, "'%.*s' is not a %s or a range", (int)MIN(len, 40),
			       item, what);
	memcpy(buf, item, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_dec(buf, lo) < 0 || (dash && parse_dec(dash + 1, hi) < 0)) {
		if (dash)
			*dash = '-';
		return set_err(err, errlen, "'%s' is not a %s or a range A-B", buf, what);
	}
	if (!dash)
		*hi = *lo;
	if (*lo > max || *hi > max) {
		if (dash)
			*dash = '-';
		return set_err(err, errlen, "'%s': %s out of range 0..%" PRIu64, buf, what, max);
	}
	if (*lo > *hi) {
		*dash = '-';
		return set_err(err, errlen, "'%s': reversed range", buf);
	}
	return 0;
}

int sw_vlan_parse_list(const char *s, uint64_t allowed[64], char *err, size_t errlen)
{
	uint64_t bits[64] = { 0 }, lo, hi;
	const char *p = s;
	int ret;

	if (!s || !*s)
		return set_err(err, errlen, "empty VLAN list");
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		ret = parse_range(p, len, 4095, "VLAN", &lo, &hi, err, errlen);
		if (ret < 0)
			return ret;
		for (uint64_t v = lo; v <= hi; v++)
			bits[v >> 6] |= 1ull << (v & 63);
		if (!comma)
			break;
		p = comma + 1;
	}
	memcpy(allowed, bits, sizeof(bits));
	return 0;
}

int sw_config_parse_cores(struct sw_config *c, const char *list, char *err, size_t errlen)
{
	uint16_t cores[SW_MAX_PMD_CORES];
	unsigned n = 0;
	uint64_t lo, hi;
	const char *p = list;
	int ret;

	if (!list || !*list)
		return set_err(err, errlen, "empty core list");
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		ret = parse_range(p, len, CFG_CORE_MAX, "core", &lo, &hi, err, errlen);
		if (ret < 0)
			return ret;
		for (uint64_t v = lo; v <= hi; v++) {
			for (unsigned i = 0; i < n; i++)
				if (cores[i] == v)
					return set_err(err, errlen, "core %" PRIu64 " listed twice",
						       v);
			if (n == SW_MAX_PMD_CORES)
				return set_err(err, errlen, "more than %d cores", SW_MAX_PMD_CORES);
			cores[n++] = (uint16_t)v;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	memcpy(c->pmd_cores, cores, n * sizeof(cores[0]));
	c->n_pmd_cores = n;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Defaults */

static const char *const port_type_names[] = {
	[SW_PORT_VHOST_USER] = "vhost-user",
	[SW_PORT_TAP] = "tap",
	[SW_PORT_AF_PACKET] = "af_packet",
	[SW_PORT_AF_XDP] = "af_xdp",
	[SW_PORT_PCAP] = "pcap",
	[SW_PORT_DPDK] = "dpdk",
};

const char *sw_port_type_name(enum sw_port_type t)
{
	if ((unsigned)t < ARRAY_SIZE(port_type_names))
		return port_type_names[t];
	return "unknown";
}

static int port_type_parse(const char *s, enum sw_port_type *t)
{
	for (unsigned i = 0; i < ARRAY_SIZE(port_type_names); i++) {
		if (!strcmp(s, port_type_names[i])) {
			*t = (enum sw_port_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

#define PORT_TYPE_LIST "vhost-user, tap, af_packet, af_xdp, pcap, dpdk"

void sw_vlan_cfg_default(struct sw_vlan_cfg *v)
{
	memset(v, 0, sizeof(*v));
	v->mode = SW_VLAN_TRUNK;
	v->native = 0;
	v->native_tagged = false;
	for (unsigned i = 0; i <= SW_VLAN_MAX; i++)
		v->allowed[i >> 6] |= 1ull << (i & 63);
}

void sw_shaper_default_map(struct sw_shaper_cfg *s, uint8_t n)
{
	if (n < 1)
		n = 1;
	if (n > SW_MAX_CLASSES)
		n = SW_MAX_CLASSES;
	s->classes = n;
	for (unsigned p = 0; p < 8; p++)
		s->pcp_class[p] = (uint8_t)((7 - p) * n / 8);
}

static void shaper_default(struct sw_shaper_cfg *s)
{
	memset(s, 0, sizeof(*s));
	sw_shaper_default_map(s, 1);
	s->queue_len = CFG_QLEN_DEFAULT;
}

/* The burst used when a shaper gives none: 10 ms at the rate, and at least
 * two full-size frames. */
static uint64_t shaper_default_burst(uint64_t rate, unsigned mtu)
{
	return MAX(rate / 100, 2 * ((uint64_t)mtu + CFG_FRAME_OVERHEAD));
}

void sw_port_cfg_init(struct sw_port_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->type = SW_PORT_VHOST_USER;
	p->queues = 1;
	p->mtu = 1500;
	sw_vlan_cfg_default(&p->vlan);
	p->policer.type = SW_METER_NONE;
	shaper_default(&p->shaper);
}

static void bridge_init(struct sw_bridge_cfg *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	copy_str(b->name, sizeof(b->name), name);
	b->aging_s = CFG_AGING_DEFAULT;
	b->fdb_size = CFG_FDB_DEFAULT;
}

void sw_config_init(struct sw_config *c)
{
	memset(c, 0, sizeof(*c));
}

int sw_config_find_port(const struct sw_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_ports; i++)
		if (!strcmp(c->ports[i].name, name))
			return (int)i;
	return -1;
}

int sw_config_find_bridge(const struct sw_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_bridges; i++)
		if (!strcmp(c->bridges[i].name, name))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Checks shared by the loaders and sw_config_validate (messages without position) */

static const char *name_problem(const char *s)
{
	if (!*s)
		return "must not be empty";
	if (strlen(s) >= SW_NAME_MAX)
		return "is longer than 31 characters";
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return "may only use the characters A-Z a-z 0-9 _ . -";
	}
	return NULL;
}

static const char *ifname_problem(const char *s)
{
	if (!*s)
		return "must not be empty";
	if (strlen(s) > CFG_IFNAME_MAX)
		return "is longer than 15 characters";
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (unsigned char)*s < 0x21 ||
		    (unsigned char)*s >= 0x7f)
			return "may not contain '/', ':', spaces or control characters";
	return NULL;
}

/* "DDDD:BB:DD.F" or "BB:DD.F", hexadecimal. */
static const char *pci_problem(const char *s)
{
	size_t n = strlen(s), off = 0;

	if (n == 12) {
		for (int i = 0; i < 4; i++)
			if (hex_value(s[i]) < 0)
				goto bad;
		if (s[4] != ':')
			goto bad;
		off = 5;
	} else if (n != 7) {
		goto bad;
	}
	s += off;
	if (hex_value(s[0]) < 0 || hex_value(s[1]) < 0 || s[2] != ':' || hex_value(s[3]) < 0 ||
	    hex_value(s[4]) < 0 || s[5] != '.' || s[6] < '0' || s[6] > '7')
		goto bad;
	if (hex_value(s[3]) * 16 + hex_value(s[4]) > 0x1f)
		goto bad;
	return NULL;
bad:
	return "is not a PCI address (DDDD:BB:DD.F or BB:DD.F)";
}

int sw_vlan_cfg_check(const struct sw_vlan_cfg *v, char *err, size_t errlen)
{
	if (v->mode == SW_VLAN_ACCESS) {
		if (v->tag < 1 || v->tag > SW_VLAN_MAX)
			return set_err(err, errlen, "access tag must be 1..4094 (got %u)", v->tag);
		return 0;
	}
	if (v->mode != SW_VLAN_TRUNK)
		return set_err(err, errlen, "unknown VLAN mode %d", (int)v->mode);
	if (v->native > SW_VLAN_MAX && v->native != SW_VLAN_NONE)
		return set_err(err, errlen, "native VLAN must be 0..4094 or none (got %u)",
			       v->native);
	return 0;
}

int sw_meter_cfg_check(const struct sw_meter_cfg *m, char *err, size_t errlen)
{
	switch (m->type) {
	case SW_METER_NONE: return 0;
	case SW_METER_SRTCM:
		if (!m->cir)
			return set_err(err, errlen, "srtcm: cir must be more than 0");
		if (!m->cbs || !m->ebs)
			return set_err(err, errlen, "srtcm: cbs and ebs must be more than 0");
		return 0;
	case SW_METER_TRTCM:
		if (!m->cir)
			return set_err(err, errlen, "trtcm: cir must be more than 0");
		if (m->pir < m->cir)
			return set_err(err, errlen,
				       "trtcm: pir (%" PRIu64 " B/s) must be at least cir (%" PRIu64
				       " B/s)",
				       m->pir, m->cir);
		if (!m->cbs || !m->pbs)
			return set_err(err, errlen, "trtcm: cbs and pbs must be more than 0");
		return 0;
	}
	return set_err(err, errlen, "unknown meter type %d", (int)m->type);
}

int sw_shaper_cfg_check(const struct sw_shaper_cfg *s, char *err, size_t errlen)
{
	if (s->classes < 1 || s->classes > SW_MAX_CLASSES)
		return set_err(err, errlen, "shaper classes must be 1..8 (got %u)", s->classes);
	for (unsigned p = 0; p < 8; p++)
		if (s->pcp_class[p] >= s->classes)
			return set_err(err, errlen,
				       "pcp-map: PCP %u goes to class %u, but there are %u classes",
				       p, s->pcp_class[p], s->classes);
	if (s->queue_len < CFG_QLEN_MIN || s->queue_len > CFG_QLEN_MAX)
		return set_err(err, errlen, "shaper queue-len must be 16..65536 (got %u)",
			       s->queue_len);
	if (s->rate && !s->burst)
		return set_err(err, errlen, "shaper burst must be more than 0");
	return 0;
}

/* Everything about one port that needs no other part of the config. */
static int port_check(const struct sw_port_cfg *p, char *err, size_t errlen)
{
	const char *prob;
	int ret;

	prob = name_problem(p->name);
	if (prob)
		return set_err(err, errlen, "port name '%.40s' %s", p->name, prob);
	switch (p->type) {
	case SW_PORT_VHOST_USER:
		if (!p->path[0])
			return set_err(err, errlen, "a vhost-user port needs a socket path");
		break;
	case SW_PORT_TAP:
	case SW_PORT_AF_PACKET:
	case SW_PORT_AF_XDP:
		prob = ifname_problem(p->iface);
		if (prob)
			return set_err(err, errlen, "interface name '%s' %s", p->iface, prob);
		break;
	case SW_PORT_PCAP:
		if (!p->rx_pcap[0] && !p->tx_pcap[0])
			return set_err(err, errlen, "a pcap port needs rx-pcap, tx-pcap or both");
		break;
	case SW_PORT_DPDK:
		prob = pci_problem(p->pci);
		if (prob)
			return set_err(err, errlen, "'%s' %s", p->pci, prob);
		break;
	default: return set_err(err, errlen, "unknown port type %d", (int)p->type);
	}
	if (p->queues < 1 || p->queues > SW_MAX_QUEUES)
		return set_err(err, errlen, "queues must be 1..%d (got %u)", SW_MAX_QUEUES,
			       p->queues);
	if (p->mtu < SW_MTU_MIN || p->mtu > SW_MTU_MAX)
		return set_err(err, errlen, "mtu must be %d..%d (got %u)", SW_MTU_MIN, SW_MTU_MAX,
			       p->mtu);
	ret = sw_vlan_cfg_check(&p->vlan, err, errlen);
	if (ret < 0)
		return ret;
	ret = sw_meter_cfg_check(&p->policer, err, errlen);
	if (ret < 0)
		return ret;
	if (p->n_vlan_policers > SW_MAX_VLAN_POLICERS)
		return set_err(err, errlen, "more than %d vlan-policers", SW_MAX_VLAN_POLICERS);
	if (p->n_vlan_policers && p->vlan.mode != SW_VLAN_TRUNK)
		return set_err(err, errlen, "vlan-policers need a trunk port");
	for (unsigned i = 0; i < p->n_vlan_policers; i++) {
		const struct sw_vlan_meter_cfg *vm = &p->vlan_policers[i];

		if (vm->vlan > SW_VLAN_MAX || !sw_vlan_allowed(&p->vlan, vm->vlan))
			return set_err(err, errlen, "vlan-policers: VLAN %u is not on this port",
				       vm->vlan);
		for (unsigned j = 0; j < i; j++)
			if (p->vlan_policers[j].vlan == vm->vlan)
				return set_err(err, errlen,
					       "vlan-policers: VLAN %u has two policers", vm->vlan);
		if (vm->meter.type == SW_METER_NONE)
			return set_err(err, errlen, "vlan-policers: VLAN %u has no meter type",
				       vm->vlan);
		ret = sw_meter_cfg_check(&vm->meter, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = sw_shaper_cfg_check(&p->shaper, err, errlen);
	if (ret < 0)
		return ret;
	if (p->shaper.rate && p->shaper.burst < (uint64_t)p->mtu + CFG_FRAME_OVERHEAD)
		return set_err(err, errlen,
			       "shaper burst (%" PRIu64
			       " bytes) must hold a full-size frame (%u bytes for MTU %u)",
			       p->shaper.burst, p->mtu + CFG_FRAME_OVERHEAD, p->mtu);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* sw_config_validate */

static int __attribute__((format(printf, 6, 7)))
at_err(const struct sw_config *c, unsigned line, unsigned col, char *err, size_t errlen,
       const char *fmt, ...)
{
	char msg[CFG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line && c->source[0])
		return set_err(err, errlen, "%s:%u:%u: %s", c->source, line, col, msg);
	return set_err(err, errlen, "%s", msg);
}

/* What two ports may not share (sw_config.h). */
const char *sw_port_resource(const struct sw_port_cfg *p, const char **what)
{
	switch (p->type) {
	case SW_PORT_VHOST_USER: *what = "socket path"; return p->path;
	case SW_PORT_TAP:
	case SW_PORT_AF_PACKET:
	case SW_PORT_AF_XDP: *what = "interface"; return p->iface;
	case SW_PORT_DPDK: *what = "PCI device"; return p->pci;
	case SW_PORT_PCAP: *what = "tx-pcap file"; return p->tx_pcap[0] ? p->tx_pcap : NULL;
	}
	return NULL;
}

int sw_config_validate(const struct sw_config *c, char *err, size_t errlen)
{
	char msg[CFG_MSG_MAX];

	if (c->n_bridges > SW_MAX_BRIDGES || c->n_ports > SW_MAX_PORTS ||
	    c->n_mirrors > SW_MAX_MIRRORS || c->n_pmd_cores > SW_MAX_PMD_CORES)
		return set_err(err, errlen, "%s%stoo many bridges, ports, mirrors or cores",
			       c->source, c->source[0] ? ": " : "");
	for (unsigned i = 0; i < c->n_bridges; i++) {
		const struct sw_bridge_cfg *b = &c->bridges[i];
		const char *prob = name_problem(b->name);

		if (prob)
			return at_err(c, b->line, b->column, err, errlen, "bridge name '%.40s' %s",
				      b->name, prob);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(c->bridges[j].name, b->name))
				return at_err(c, b->line, b->column, err, errlen,
					      "duplicate bridge name '%s'", b->name);
		if (b->aging_s > CFG_AGING_MAX)
			return at_err(c, b->line, b->column, err, errlen,
				      "bridge '%s': aging must be 0..%u", b->name, CFG_AGING_MAX);
		if (b->fdb_size < CFG_FDB_MIN || b->fdb_size > CFG_FDB_MAX)
			return at_err(c, b->line, b->column, err, errlen,
				      "bridge '%s': fdb-size must be %u..%u", b->name, CFG_FDB_MIN,
				      CFG_FDB_MAX);
		if (b->n_statics > SW_MAX_STATIC)
			return at_err(c, b->line, b->column, err, errlen,
				      "bridge '%s': more than %d static entries", b->name,
				      SW_MAX_STATIC);
	}
	if (!c->n_ports)
		return set_err(err, errlen, "%s%sno port defined", c->source,
			       c->source[0] ? ": " : "");
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct sw_port_cfg *p = &c->ports[i];
		const char *what, *res;

		if (port_check(p, msg, sizeof(msg)) < 0)
			return at_err(c, p->line, p->column, err, errlen, "port '%s': %s", p->name,
				      msg);
		if (p->bridge >= c->n_bridges)
			return at_err(c, p->line, p->column, err, errlen, "port '%s': no bridge %u",
				      p->name, p->bridge);
		res = sw_port_resource(p, &what);
		for (unsigned j = 0; j < i; j++) {
			const struct sw_port_cfg *q = &c->ports[j];
			const char *qwhat, *qres = sw_port_resource(q, &qwhat);

			if (!strcmp(q->name, p->name))
				return at_err(c, p->line, p->column, err, errlen,
					      "duplicate port name '%s'", p->name);
			if (res && qres && !strcmp(what, qwhat) && !strcmp(res, qres))
				return at_err(c, p->line, p->column, err, errlen,
					      "port '%s': %s '%s' is already used by port '%s'",
					      p->name, what, res, q->name);
		}
	}
	for (unsigned i = 0; i < c->n_bridges; i++) {
		const struct sw_bridge_cfg *b = &c->bridges[i];

		for (unsigned j = 0; j < b->n_statics; j++) {
			const struct sw_static_cfg *s = &b->statics[j];
			int pi = sw_config_find_port(c, s->port);

			if (pi < 0)
				return at_err(c, s->line, s->column, err, errlen,
					      "static entry: no port named '%s'", s->port);
			if (c->ports[pi].bridge != i)
				return at_err(c, s->line, s->column, err, errlen,
					      "static entry: port '%s' is not on bridge '%s'",
					      s->port, b->name);
			if (s->mac[0] & 1)
				return at_err(c, s->line, s->column, err, errlen,
					      "static entry: a group address is not allowed");
			if (s->vlan > SW_VLAN_MAX)
				return at_err(c, s->line, s->column, err, errlen,
					      "static entry: vlan must be 0..4094");
			for (unsigned k = 0; k < j; k++)
				if (!memcmp(b->statics[k].mac, s->mac, 6) &&
				    b->statics[k].vlan == s->vlan)
					return at_err(c, s->line, s->column, err, errlen,
						      "duplicate static entry");
		}
	}
	for (unsigned i = 0; i < c->n_mirrors; i++) {
		const struct sw_mirror_cfg *m = &c->mirrors[i];
		const char *prob = name_problem(m->name);

		if (prob)
			return at_err(c, m->line, m->column, err, errlen, "mirror name '%.40s' %s",
				      m->name, prob);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(c->mirrors[j].name, m->name))
				return at_err(c, m->line, m->column, err, errlen,
					      "duplicate mirror name '%s'", m->name);
		if (sw_config_find_port(c, m->port) < 0)
			return at_err(c, m->line, m->column, err, errlen,
				      "mirror '%s': no port named '%s'", m->name, m->port);
		if (m->dir != SW_MIRROR_RX && m->dir != SW_MIRROR_TX && m->dir != SW_MIRROR_BOTH)
			return at_err(c, m->line, m->column, err, errlen,
				      "mirror '%s': bad direction", m->name);
		if (!m->to_port[0] == !m->to_pcap[0])
			return at_err(c, m->line, m->column, err, errlen,
				      "mirror '%s': needs exactly one of to-port and to-pcap",
				      m->name);
		if (m->to_port[0] && sw_config_find_port(c, m->to_port) < 0)
			return at_err(c, m->line, m->column, err, errlen,
				      "mirror '%s': no port named '%s'", m->name, m->to_port);
		if (m->to_port[0] && !strcmp(m->to_port, m->port))
			return at_err(c, m->line, m->column, err, errlen,
				      "mirror '%s': to-port is the mirrored port itself", m->name);
		if (m->snaplen < CFG_SNAPLEN_MIN || m->snaplen > CFG_SNAPLEN_MAX)
			return at_err(c, m->line, m->column, err, errlen,
				      "mirror '%s': snaplen must be %u..%u", m->name,
				      CFG_SNAPLEN_MIN, CFG_SNAPLEN_MAX);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The YAML walk */

struct ywalk {
	const char *name; /* file name in messages */
	yaml_document_t *doc;
	struct sw_config *c;
	yaml_node_t *statics[SW_MAX_BRIDGES]; /* read once every port is known */
	char *err;
	size_t errlen;
};

static unsigned line_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static unsigned col_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.column + 1;
}

static int __attribute__((format(printf, 3, 4)))
yerr(struct ywalk *w, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[CFG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return set_err(w->err, w->errlen, "%s:%u:%u: %s", w->name, line_of(n), col_of(n), msg);
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* `key:` with no value, `~` or `null`: an optional mapping or list left empty. */
static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = sval(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static yaml_node_t *node_at(struct ywalk *w, int i)
{
	return yaml_document_get_node(w->doc, i);
}

static int y_str(struct ywalk *w, const char *key, const yaml_node_t *n, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return yerr(w, n, "'%s': expected a string, got %s", key, kind(n));
	if (strlen(sval(n)) != n->data.scalar.length)
		return yerr(w, n, "'%s': the value contains a NUL character", key);
	*out = sval(n);
	return 0;
}

static int y_uint(struct ywalk *w, const char *key, const yaml_node_t *n, uint64_t min,
		  uint64_t max, uint64_t *out)
{
	char msg[CFG_MSG_MAX];
	const char *s;
	int ret;

	if (n->type != YAML_SCALAR_NODE)
		return yerr(w, n, "'%s': expected an integer, got %s", key, kind(n));
	ret = y_str(w, key, n, &s);
	if (ret < 0)
		return ret;
	if (parse_dec_range(s, key, min, max, out, msg, sizeof(msg)) < 0)
		return yerr(w, n, "%s", msg);
	return 0;
}

static int y_bool(struct ywalk *w, const char *key, const yaml_node_t *n, bool *out)
{
	if (n->type == YAML_SCALAR_NODE && !strcmp(sval(n), "true")) {
		*out = true;
		return 0;
	}
	if (n->type == YAML_SCALAR_NODE && !strcmp(sval(n), "false")) {
		*out = false;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE)
		return yerr(w, n, "'%s': expected true or false, got %s", key, kind(n));
	return yerr(w, n, "'%s': expected true or false, got '%.40s'", key, sval(n));
}

static int y_name(struct ywalk *w, const char *key, const yaml_node_t *n, char out[SW_NAME_MAX])
{
	const char *s, *prob;
	int ret = y_str(w, key, n, &s);

	if (ret < 0)
		return ret;
	prob = name_problem(s);
	if (prob)
		return yerr(w, n, "'%s': '%.40s' %s", key, s, prob);
	copy_str(out, SW_NAME_MAX, s);
	return 0;
}

static int y_path(struct ywalk *w, const char *key, const yaml_node_t *n, char *out, size_t size)
{
	const char *s;
	int ret = y_str(w, key, n, &s);

	if (ret < 0)
		return ret;
	if (!*s)
		return yerr(w, n, "'%s' must not be empty", key);
	if (!copy_str(out, size, s))
		return yerr(w, n, "'%s' is too long (%zu bytes, at most %zu)", key, strlen(s),
			    size - 1);
	return 0;
}

static int y_rate(struct ywalk *w, const char *key, const yaml_node_t *n, uint64_t *out)
{
	char msg[CFG_MSG_MAX];
	const char *s = NULL;
	int ret = y_str(w, key, n, &s);

	if (ret < 0)
		return ret;
	if (sw_parse_rate(s, out, msg, sizeof(msg)) < 0)
		return yerr(w, n, "'%s': %s", key, msg);
	return 0;
}

static int y_size(struct ywalk *w, const char *key, const yaml_node_t *n, uint64_t *out)
{
	char msg[CFG_MSG_MAX];
	const char *s = NULL;
	int ret = y_str(w, key, n, &s);

	if (ret < 0)
		return ret;
	if (sw_parse_size(s, out, msg, sizeof(msg)) < 0)
		return yerr(w, n, "'%s': %s", key, msg);
	return 0;
}

/*
 * Reads a mapping whose keys must come from `keys` (NULL-terminated) into
 * kn[] / vn[] (key and value node of each, NULL when absent). Refuses
 * anything but a mapping, non-scalar keys, unknown and repeated keys.
 */
static int y_map(struct ywalk *w, const yaml_node_t *n, const char *what, const char *const *keys,
		 yaml_node_t **kn, yaml_node_t **vn)
{
	unsigned nkeys = 0;

	while (keys[nkeys])
		nkeys++;
	memset(kn, 0, nkeys * sizeof(*kn));
	memset(vn, 0, nkeys * sizeof(*vn));
	if (n->type != YAML_MAPPING_NODE)
		return yerr(w, n, "%s: expected a mapping, got %s", what, kind(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node_at(w, p->key), *v = node_at(w, p->value);
		char allowed[CFG_MSG_MAX / 2];
		size_t off = 0;
		unsigned i;

		if (!k || !v)
			return yerr(w, n, "%s: broken mapping", what);
		if (k->type != YAML_SCALAR_NODE)
			return yerr(w, k, "%s: keys must be strings, got %s", what, kind(k));
		for (i = 0; i < nkeys; i++)
			if (!strcmp(sval(k), keys[i]))
				break;
		if (i < nkeys) {
			if (kn[i])
				return yerr(w, k, "%s: key '%s' given twice (first at line %u)",
					    what, keys[i], line_of(kn[i]));
			kn[i] = k;
			vn[i] = v;
			continue;
		}
		allowed[0] = '\0';
		for (i = 0; i < nkeys && off < sizeof(allowed); i++) {
			int r = snprintf(allowed + off, sizeof(allowed) - off, "%s%s",
					 i ? ", " : "", keys[i]);

			if (r < 0)
				break;
			off += (size_t)r;
		}
		return yerr(w, k, "%s: unknown key '%.40s' (allowed: %s)", what, sval(k), allowed);
	}
	return 0;
}

/* The items of a list (a null value is an empty list). */
static int y_seq(struct ywalk *w, const char *key, const yaml_node_t *n, yaml_node_item_t **start,
		 yaml_node_item_t **end)
{
	if (is_null(n)) {
		*start = *end = NULL;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(w, n, "'%s': expected a list, got %s", key, kind(n));
	*start = n->data.sequence.items.start;
	*end = n->data.sequence.items.top;
	return 0;
}

/* --- switch --- */

enum { SWK_PMD_CORES, SWK_CTL, SWK_MBUFS, SWK_N };
static const char *const switch_keys[] = { "pmd-cores", "ctl", "mbufs", NULL };

static int y_switch(struct ywalk *w, const yaml_node_t *n)
{
	yaml_node_t *k[SWK_N], *v[SWK_N];
	char msg[CFG_MSG_MAX];
	uint64_t u;
	const char *s;
	int ret;

	if (is_null(n))
		return 0;
	ret = y_map(w, n, "switch", switch_keys, k, v);
	if (ret < 0)
		return ret;
	if (v[SWK_PMD_CORES]) {
		ret = y_str(w, "pmd-cores", v[SWK_PMD_CORES], &s);
		if (ret < 0)
			return ret;
		if (sw_config_parse_cores(w->c, s, msg, sizeof(msg)) < 0)
			return yerr(w, v[SWK_PMD_CORES], "'pmd-cores': %s", msg);
	}
	if (v[SWK_CTL]) {
		ret = y_path(w, "ctl", v[SWK_CTL], w->c->ctl, sizeof(w->c->ctl));
		if (ret < 0)
			return ret;
	}
	if (v[SWK_MBUFS]) {
		ret = y_uint(w, "mbufs", v[SWK_MBUFS], CFG_MBUFS_MIN, CFG_MBUFS_MAX, &u);
		if (ret < 0)
			return ret;
		w->c->mbufs = (uint32_t)u;
	}
	return 0;
}

/* --- policers --- */

enum { MK_TYPE, MK_CIR, MK_CBS, MK_EBS, MK_PIR, MK_PBS, MK_VLAN, MK_N };
static const char *const meter_keys[] = { "type", "cir", "cbs", "ebs", "pir", "pbs", NULL };
static const char *const vlan_meter_keys[] = { "type", "cir", "cbs",  "ebs",
					       "pir",  "pbs", "vlan", NULL };

/* k[] / v[] from y_map with meter_keys or vlan_meter_keys. */
static int y_meter_fields(struct ywalk *w, const yaml_node_t *n, const char *what, yaml_node_t **k,
			  yaml_node_t **v, struct sw_meter_cfg *m)
{
	static const unsigned srtcm_req[] = { MK_CIR, MK_CBS, MK_EBS };
	static const unsigned trtcm_req[] = { MK_CIR, MK_PIR, MK_CBS, MK_PBS };
	const unsigned *req;
	unsigned nreq, bad1, bad2;
	const char *s, *mine;
	char msg[CFG_MSG_MAX];
	int ret;

	memset(m, 0, sizeof(*m));
	if (!v[MK_TYPE])
		return yerr(w, n, "%s: missing 'type' (srtcm or trtcm)", what);
	ret = y_str(w, "type", v[MK_TYPE], &s);
	if (ret < 0)
		return ret;
	if (!strcmp(s, "srtcm")) {
		m->type = SW_METER_SRTCM;
		req = srtcm_req;
		nreq = ARRAY_SIZE(srtcm_req);
		bad1 = MK_PIR;
		bad2 = MK_PBS;
		mine = "srtcm";
	} else if (!strcmp(s, "trtcm")) {
		m->type = SW_METER_TRTCM;
		req = trtcm_req;
		nreq = ARRAY_SIZE(trtcm_req);
		bad1 = MK_EBS;
		bad2 = MK_EBS;
		mine = "trtcm";
	} else {
		return yerr(w, v[MK_TYPE], "'type': unknown policer type '%.40s' (srtcm or trtcm)",
			    s);
	}
	if (k[bad1] || k[bad2])
		return yerr(w, k[bad1] ? k[bad1] : k[bad2], "%s: '%s' does not apply to %s", what,
			    meter_keys[k[bad1] ? bad1 : bad2], mine);
	for (unsigned i = 0; i < nreq; i++)
		if (!v[req[i]])
			return yerr(w, n, "%s: %s needs '%s'", what, mine, meter_keys[req[i]]);
	if ((ret = y_rate(w, "cir", v[MK_CIR], &m->cir)) < 0 ||
	    (ret = y_size(w, "cbs", v[MK_CBS], &m->cbs)) < 0)
		return ret;
	if (m->type == SW_METER_SRTCM) {
		ret = y_size(w, "ebs", v[MK_EBS], &m->ebs);
		if (ret < 0)
			return ret;
	} else {
		if ((ret = y_rate(w, "pir", v[MK_PIR], &m->pir)) < 0 ||
		    (ret = y_size(w, "pbs", v[MK_PBS], &m->pbs)) < 0)
			return ret;
	}
	if (!m->cir)
		return yerr(w, v[MK_CIR], "'cir' must be more than 0 bytes/s");
	if (!m->cbs)
		return yerr(w, v[MK_CBS], "'cbs' must be more than 0 bytes");
	if (m->type == SW_METER_SRTCM && !m->ebs)
		return yerr(w, v[MK_EBS], "'ebs' must be more than 0 bytes");
	if (m->type == SW_METER_TRTCM && !m->pbs)
		return yerr(w, v[MK_PBS], "'pbs' must be more than 0 bytes");
	if (m->type == SW_METER_TRTCM && m->pir < m->cir)
		return yerr(w, v[MK_PIR],
			    "'pir' (%" PRIu64 " bytes/s) must be at least 'cir' (%" PRIu64
			    " bytes/s)",
			    m->pir, m->cir);
	if (sw_meter_cfg_check(m, msg, sizeof(msg)) < 0)
		return yerr(w, n, "%s: %s", what, msg);
	return 0;
}

static int y_policer(struct ywalk *w, const yaml_node_t *n, struct sw_meter_cfg *m)
{
	yaml_node_t *k[MK_N], *v[MK_N];
	int ret;

	if (is_null(n))
		return 0;
	ret = y_map(w, n, "policer", meter_keys, k, v);
	if (ret < 0)
		return ret;
	return y_meter_fields(w, n, "policer", k, v, m);
}

static int y_vlan_policers(struct ywalk *w, const yaml_node_t *key, const yaml_node_t *n,
			   struct sw_port_cfg *p)
{
	yaml_node_item_t *it, *end;
	int ret;

	if (p->vlan.mode == SW_VLAN_ACCESS)
		return yerr(w, key,
			    "'vlan-policers' applies to trunk ports only ('%s' is an access port)",
			    p->name);
	ret = y_seq(w, "vlan-policers", n, &it, &end);
	if (ret < 0)
		return ret;
	for (; it && it < end; it++) {
		yaml_node_t *item = node_at(w, *it), *k[MK_N], *v[MK_N];
		struct sw_vlan_meter_cfg *vm;
		uint64_t vid;

		if (p->n_vlan_policers == SW_MAX_VLAN_POLICERS)
			return yerr(w, item, "too many vlan-policers (at most %d per port)",
				    SW_MAX_VLAN_POLICERS);
		vm = &p->vlan_policers[p->n_vlan_policers];
		ret = y_map(w, item, "vlan policer", vlan_meter_keys, k, v);
		if (ret < 0)
			return ret;
		if (!v[MK_VLAN])
			return yerr(w, item, "vlan policer: missing 'vlan'");
		ret = y_uint(w, "vlan", v[MK_VLAN], 0, SW_VLAN_MAX, &vid);
		if (ret < 0)
			return ret;
		if (!sw_vlan_allowed(&p->vlan, (uint16_t)vid))
			return yerr(w, v[MK_VLAN],
				    "'vlan': VLAN %" PRIu64 " is not allowed on port '%s'", vid,
				    p->name);
		for (unsigned j = 0; j < p->n_vlan_policers; j++)
			if (p->vlan_policers[j].vlan == vid)
				return yerr(w, v[MK_VLAN],
					    "'vlan': VLAN %" PRIu64
					    " already has a policer on port '%s'",
					    vid, p->name);
		vm->vlan = (uint16_t)vid;
		ret = y_meter_fields(w, item, "vlan policer", k, v, &vm->meter);
		if (ret < 0)
			return ret;
		p->n_vlan_policers++;
	}
	return 0;
}

/* --- VLAN --- */

enum { VK_MODE, VK_TAG, VK_TRUNKS, VK_NATIVE, VK_NATIVE_TAGGED, VK_N };
static const char *const vlan_keys[] = { "mode", "tag", "trunks", "native", "native-tagged", NULL };

static int y_trunks(struct ywalk *w, const yaml_node_t *n, uint64_t allowed[64])
{
	char msg[CFG_MSG_MAX];
	uint64_t one[64];
	const char *s;
	int ret;

	if (n->type == YAML_SEQUENCE_NODE) {
		memset(allowed, 0, 64 * sizeof(allowed[0]));
		if (n->data.sequence.items.start == n->data.sequence.items.top)
			return yerr(w, n, "'trunks': empty list");
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			yaml_node_t *item = node_at(w, *it);

			ret = y_str(w, "trunks", item, &s);
			if (ret < 0)
				return ret;
			if (sw_vlan_parse_list(s, one, msg, sizeof(msg)) < 0)
				return yerr(w, item, "'trunks': %s", msg);
			for (unsigned i = 0; i < 64; i++)
				allowed[i] |= one[i];
		}
		return 0;
	}
	ret = y_str(w, "trunks", n, &s);
	if (ret < 0)
		return ret;
	if (sw_vlan_parse_list(s, allowed, msg, sizeof(msg)) < 0)
		return yerr(w, n, "'trunks': %s", msg);
	return 0;
}

static int y_vlan(struct ywalk *w, const yaml_node_t *n, struct sw_vlan_cfg *vc)
{
	yaml_node_t *k[VK_N], *v[VK_N];
	char msg[CFG_MSG_MAX];
	const char *s;
	uint64_t u;
	int ret;

	if (is_null(n))
		return 0;
	ret = y_map(w, n, "vlan", vlan_keys, k, v);
	if (ret < 0)
		return ret;
	sw_vlan_cfg_default(vc);
	if (v[VK_MODE]) {
		ret = y_str(w, "mode", v[VK_MODE], &s);
		if (ret < 0)
			return ret;
		if (!strcmp(s, "access"))
			vc->mode = SW_VLAN_ACCESS;
		else if (strcmp(s, "trunk"))
			return yerr(w, v[VK_MODE],
				    "'mode': unknown VLAN mode '%.40s' (access or trunk)", s);
	}
	if (vc->mode == SW_VLAN_ACCESS) {
		for (unsigned i = VK_TRUNKS; i <= VK_NATIVE_TAGGED; i++)
			if (k[i])
				return yerr(w, k[i], "vlan: '%s' applies to trunk mode only",
					    vlan_keys[i]);
		if (!v[VK_TAG])
			return yerr(w, n, "vlan: access mode needs 'tag'");
		ret = y_uint(w, "tag", v[VK_TAG], 1, SW_VLAN_MAX, &u);
		if (ret < 0)
			return ret;
		/* an access port is in its own VLAN only */
		vc->tag = (uint16_t)u;
		memset(vc->allowed, 0, sizeof(vc->allowed));
		vc->allowed[u >> 6] |= 1ull << (u & 63);
	} else {
		if (k[VK_TAG])
			return yerr(w, k[VK_TAG], "vlan: 'tag' applies to access mode only");
		if (v[VK_TRUNKS]) {
			ret = y_trunks(w, v[VK_TRUNKS], vc->allowed);
			if (ret < 0)
				return ret;
		}
		if (v[VK_NATIVE]) {
			if (v[VK_NATIVE]->type == YAML_SCALAR_NODE &&
			    !strcmp(sval(v[VK_NATIVE]), "none")) {
				vc->native = SW_VLAN_NONE;
			} else {
				ret = y_uint(w, "native", v[VK_NATIVE], 0, SW_VLAN_MAX, &u);
				if (ret < 0)
					return ret;
				vc->native = (uint16_t)u;
			}
		}
		if (v[VK_NATIVE_TAGGED]) {
			ret = y_bool(w, "native-tagged", v[VK_NATIVE_TAGGED], &vc->native_tagged);
			if (ret < 0)
				return ret;
		}
	}
	if (sw_vlan_cfg_check(vc, msg, sizeof(msg)) < 0)
		return yerr(w, n, "vlan: %s", msg);
	return 0;
}

/* --- shaper --- */

enum { SHK_RATE, SHK_BURST, SHK_CLASSES, SHK_QUEUE_LEN, SHK_PCP_MAP, SHK_N };
static const char *const shaper_keys[] = {
	"rate", "burst", "classes", "queue-len", "pcp-map", NULL
};

static int y_shaper(struct ywalk *w, const yaml_node_t *n, struct sw_shaper_cfg *sh, unsigned mtu)
{
	yaml_node_t *k[SHK_N], *v[SHK_N];
	char msg[CFG_MSG_MAX];
	uint64_t u;
	int ret;

	if (is_null(n))
		return 0;
	ret = y_map(w, n, "shaper", shaper_keys, k, v);
	if (ret < 0)
		return ret;
	if (!v[SHK_RATE])
		return yerr(w, n, "shaper: missing 'rate'");
	ret = y_rate(w, "rate", v[SHK_RATE], &sh->rate);
	if (ret < 0)
		return ret;
	if (v[SHK_CLASSES]) {
		ret = y_uint(w, "classes", v[SHK_CLASSES], 1, SW_MAX_CLASSES, &u);
		if (ret < 0)
			return ret;
		sw_shaper_default_map(sh, (uint8_t)u);
	}
	if (v[SHK_QUEUE_LEN]) {
		ret = y_uint(w, "queue-len", v[SHK_QUEUE_LEN], CFG_QLEN_MIN, CFG_QLEN_MAX, &u);
		if (ret < 0)
			return ret;
		sh->queue_len = (uint32_t)u;
	}
	if (v[SHK_PCP_MAP]) {
		const yaml_node_t *m = v[SHK_PCP_MAP];
		unsigned i = 0;

		if (m->type != YAML_SEQUENCE_NODE)
			return yerr(w, m, "'pcp-map': expected a list of 8 classes, got %s",
				    kind(m));
		if (m->data.sequence.items.top - m->data.sequence.items.start != 8)
			return yerr(
				w, m, "'pcp-map': expected 8 classes (one per PCP 0..7), got %d",
				(int)(m->data.sequence.items.top - m->data.sequence.items.start));
		for (yaml_node_item_t *it = m->data.sequence.items.start;
		     it < m->data.sequence.items.top; it++, i++) {
			ret = y_uint(w, "pcp-map", node_at(w, *it), 0, sh->classes - 1u, &u);
			if (ret < 0)
				return ret;
			sh->pcp_class[i] = (uint8_t)u;
		}
	}
	if (v[SHK_BURST]) {
		ret = y_size(w, "burst", v[SHK_BURST], &sh->burst);
		if (ret < 0)
			return ret;
		if (sh->rate && sh->burst < mtu + CFG_FRAME_OVERHEAD)
			return yerr(
				w, v[SHK_BURST],
				"'burst' must hold a full-size frame: at least %u bytes for MTU %u",
				mtu + CFG_FRAME_OVERHEAD, mtu);
	} else if (sh->rate) {
		sh->burst = shaper_default_burst(sh->rate, mtu);
	}
	if (sw_shaper_cfg_check(sh, msg, sizeof(msg)) < 0)
		return yerr(w, n, "shaper: %s", msg);
	return 0;
}

/* --- ports --- */

enum {
	PK_NAME,
	PK_TYPE,
	PK_PATH,
	PK_SERVER,
	PK_IFACE,
	PK_RX_PCAP,
	PK_TX_PCAP,
	PK_PCI,
	PK_QUEUES,
	PK_MTU,
	PK_VLAN,
	PK_POLICER,
	PK_VLAN_POLICERS,
	PK_SHAPER,
	PK_N
};
static const char *const port_keys[] = {
	[PK_NAME] = "name",
	[PK_TYPE] = "type",
	[PK_PATH] = "path",
	[PK_SERVER] = "server",
	[PK_IFACE] = "iface",
	[PK_RX_PCAP] = "rx-pcap",
	[PK_TX_PCAP] = "tx-pcap",
	[PK_PCI] = "pci",
	[PK_QUEUES] = "queues",
	[PK_MTU] = "mtu",
	[PK_VLAN] = "vlan",
	[PK_POLICER] = "policer",
	[PK_VLAN_POLICERS] = "vlan-policers",
	[PK_SHAPER] = "shaper",
	[PK_N] = NULL,
};

#define T(x) (1u << (x))
#define T_IFACE (T(SW_PORT_TAP) | T(SW_PORT_AF_PACKET) | T(SW_PORT_AF_XDP))
/* Keys that only some port types take. */
static const unsigned port_key_types[PK_N] = {
	[PK_PATH] = T(SW_PORT_VHOST_USER),
	[PK_SERVER] = T(SW_PORT_VHOST_USER),
	[PK_IFACE] = T_IFACE,
	[PK_RX_PCAP] = T(SW_PORT_PCAP),
	[PK_TX_PCAP] = T(SW_PORT_PCAP),
	[PK_PCI] = T(SW_PORT_DPDK),
};

static int y_port(struct ywalk *w, const yaml_node_t *n, unsigned bridge)
{
	yaml_node_t *k[PK_N], *v[PK_N];
	struct sw_config *c = w->c;
	struct sw_port_cfg *p;
	char msg[CFG_MSG_MAX];
	const char *s, *prob;
	uint64_t u;
	int ret;

	if (c->n_ports == SW_MAX_PORTS)
		return yerr(w, n, "too many ports (at most %d over all bridges)", SW_MAX_PORTS);
	p = &c->ports[c->n_ports];
	sw_port_cfg_init(p);
	p->bridge = bridge;
	p->line = line_of(n);
	p->column = col_of(n);
	ret = y_map(w, n, "port", port_keys, k, v);
	if (ret < 0)
		return ret;
	if (!v[PK_NAME])
		return yerr(w, n, "port: missing 'name'");
	ret = y_name(w, "name", v[PK_NAME], p->name);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < c->n_ports; i++)
		if (!strcmp(c->ports[i].name, p->name))
			return yerr(w, v[PK_NAME], "duplicate port name '%s' (first at line %u)",
				    p->name, c->ports[i].line);
	if (!v[PK_TYPE])
		return yerr(w, n, "port '%s': missing 'type' (%s)", p->name, PORT_TYPE_LIST);
	ret = y_str(w, "type", v[PK_TYPE], &s);
	if (ret < 0)
		return ret;
	if (port_type_parse(s, &p->type) < 0)
		return yerr(w, v[PK_TYPE], "'type': unknown port type '%.40s' (%s)", s,
			    PORT_TYPE_LIST);
	for (unsigned i = 0; i < PK_N; i++)
		if (k[i] && port_key_types[i] && !(port_key_types[i] & T(p->type)))
			return yerr(w, k[i], "'%s' does not apply to a %s port", port_keys[i],
				    sw_port_type_name(p->type));
	switch (p->type) {
	case SW_PORT_VHOST_USER:
		if (!v[PK_PATH])
			return yerr(w, n, "port '%s': a vhost-user port needs 'path'", p->name);
		ret = y_path(w, "path", v[PK_PATH], p->path, sizeof(p->path));
		if (ret < 0)
			return ret;
		if (v[PK_SERVER]) {
			ret = y_bool(w, "server", v[PK_SERVER], &p->server);
			if (ret < 0)
				return ret;
		}
		break;
	case SW_PORT_TAP:
	case SW_PORT_AF_PACKET:
	case SW_PORT_AF_XDP:
		if (!v[PK_IFACE])
			return yerr(w, n, "port '%s': a %s port needs 'iface'", p->name,
				    sw_port_type_name(p->type));
		ret = y_str(w, "iface", v[PK_IFACE], &s);
		if (ret < 0)
			return ret;
		prob = ifname_problem(s);
		if (prob)
			return yerr(w, v[PK_IFACE], "'iface': '%.40s' %s", s, prob);
		copy_str(p->iface, sizeof(p->iface), s);
		break;
	case SW_PORT_PCAP:
		if (!v[PK_RX_PCAP] && !v[PK_TX_PCAP])
			return yerr(w, n,
				    "port '%s': a pcap port needs 'rx-pcap', 'tx-pcap' or both",
				    p->name);
		if (v[PK_RX_PCAP] &&
		    (ret = y_path(w, "rx-pcap", v[PK_RX_PCAP], p->rx_pcap, sizeof(p->rx_pcap))) < 0)
			return ret;
		if (v[PK_TX_PCAP] &&
		    (ret = y_path(w, "tx-pcap", v[PK_TX_PCAP], p->tx_pcap, sizeof(p->tx_pcap))) < 0)
			return ret;
		break;
	case SW_PORT_DPDK:
		if (!v[PK_PCI])
			return yerr(w, n, "port '%s': a dpdk port needs 'pci'", p->name);
		ret = y_str(w, "pci", v[PK_PCI], &s);
		if (ret < 0)
			return ret;
		prob = pci_problem(s);
		if (prob)
			return yerr(w, v[PK_PCI], "'pci': '%.40s' %s", s, prob);
		copy_str(p->pci, sizeof(p->pci), s);
		break;
	}
	if (v[PK_QUEUES]) {
		ret = y_uint(w, "queues", v[PK_QUEUES], 1, SW_MAX_QUEUES, &u);
		if (ret < 0)
			return ret;
		p->queues = (uint16_t)u;
	}
	if (v[PK_MTU]) {
		ret = y_uint(w, "mtu", v[PK_MTU], SW_MTU_MIN, SW_MTU_MAX, &u);
		if (ret < 0)
			return ret;
		p->mtu = (uint16_t)u;
	}
	if (v[PK_VLAN] && (ret = y_vlan(w, v[PK_VLAN], &p->vlan)) < 0)
		return ret;
	if (v[PK_POLICER] && (ret = y_policer(w, v[PK_POLICER], &p->policer)) < 0)
		return ret;
	if (v[PK_VLAN_POLICERS] &&
	    (ret = y_vlan_policers(w, k[PK_VLAN_POLICERS], v[PK_VLAN_POLICERS], p)) < 0)
		return ret;
	if (v[PK_SHAPER] && (ret = y_shaper(w, v[PK_SHAPER], &p->shaper, p->mtu)) < 0)
		return ret;
	if (port_check(p, msg, sizeof(msg)) < 0)
		return yerr(w, n, "port '%s': %s", p->name, msg);
	c->n_ports++;
	return 0;
}

/* --- bridges and static entries --- */

enum { BK_NAME, BK_AGING, BK_FDB_SIZE, BK_STATIC, BK_PORTS, BK_N };
static const char *const bridge_keys[] = { "name", "aging", "fdb-size", "static", "ports", NULL };

static int y_bridge(struct ywalk *w, const yaml_node_t *n)
{
	yaml_node_t *k[BK_N], *v[BK_N];
	struct sw_config *c = w->c;
	struct sw_bridge_cfg *b;
	yaml_node_item_t *it, *end;
	unsigned idx = c->n_bridges;
	uint64_t u;
	int ret;

	if (idx == SW_MAX_BRIDGES)
		return yerr(w, n, "too many bridges (at most %d)", SW_MAX_BRIDGES);
	b = &c->bridges[idx];
	bridge_init(b, "");
	b->line = line_of(n);
	b->column = col_of(n);
	ret = y_map(w, n, "bridge", bridge_keys, k, v);
	if (ret < 0)
		return ret;
	if (!v[BK_NAME])
		return yerr(w, n, "bridge: missing 'name'");
	ret = y_name(w, "name", v[BK_NAME], b->name);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < idx; i++)
		if (!strcmp(c->bridges[i].name, b->name))
			return yerr(w, v[BK_NAME], "duplicate bridge name '%s' (first at line %u)",
				    b->name, c->bridges[i].line);
	if (v[BK_AGING]) {
		ret = y_uint(w, "aging", v[BK_AGING], 0, CFG_AGING_MAX, &u);
		if (ret < 0)
			return ret;
		b->aging_s = (uint32_t)u;
	}
	if (v[BK_FDB_SIZE]) {
		ret = y_uint(w, "fdb-size", v[BK_FDB_SIZE], CFG_FDB_MIN, CFG_FDB_MAX, &u);
		if (ret < 0)
			return ret;
		b->fdb_size = (uint32_t)u;
	}
	c->n_bridges++;
	w->statics[idx] = v[BK_STATIC];
	if (v[BK_PORTS]) {
		ret = y_seq(w, "ports", v[BK_PORTS], &it, &end);
		if (ret < 0)
			return ret;
		for (; it && it < end; it++) {
			ret = y_port(w, node_at(w, *it), idx);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

enum { STK_MAC, STK_VLAN, STK_PORT, STK_N };
static const char *const static_keys[] = { "mac", "vlan", "port", NULL };

static int y_static(struct ywalk *w, const yaml_node_t *n, unsigned bi)
{
	yaml_node_t *k[STK_N], *v[STK_N];
	struct sw_bridge_cfg *b = &w->c->bridges[bi];
	struct sw_static_cfg *s;
	const char *str;
	uint64_t u;
	int ret, pi;

	if (b->n_statics == SW_MAX_STATIC)
		return yerr(w, n, "too many static entries (at most %d per bridge)", SW_MAX_STATIC);
	s = &b->statics[b->n_statics];
	memset(s, 0, sizeof(*s));
	s->line = line_of(n);
	s->column = col_of(n);
	ret = y_map(w, n, "static entry", static_keys, k, v);
	if (ret < 0)
		return ret;
	if (!v[STK_MAC])
		return yerr(w, n, "static entry: missing 'mac'");
	if (!v[STK_PORT])
		return yerr(w, n, "static entry: missing 'port'");
	ret = y_str(w, "mac", v[STK_MAC], &str);
	if (ret < 0)
		return ret;
	if (parse_mac(str, s->mac) < 0)
		return yerr(w, v[STK_MAC],
			    "'mac': '%.40s' is not a MAC address (like 02:00:00:00:00:01)", str);
	if (s->mac[0] & 1)
		return yerr(w, v[STK_MAC],
			    "'mac': %s is a group address: a static entry needs a unicast address",
			    str);
	if (v[STK_VLAN]) {
		ret = y_uint(w, "vlan", v[STK_VLAN], 0, SW_VLAN_MAX, &u);
		if (ret < 0)
			return ret;
		s->vlan = (uint16_t)u;
	}
	ret = y_str(w, "port", v[STK_PORT], &str);
	if (ret < 0)
		return ret;
	pi = sw_config_find_port(w->c, str);
	if (pi < 0)
		return yerr(w, v[STK_PORT], "'port': no port named '%.40s'", str);
	if (w->c->ports[pi].bridge != bi)
		return yerr(w, v[STK_PORT], "'port': port '%s' is on bridge '%s', not on '%s'", str,
			    w->c->bridges[w->c->ports[pi].bridge].name, b->name);
	copy_str(s->port, sizeof(s->port), str);
	for (unsigned i = 0; i < b->n_statics; i++)
		if (!memcmp(b->statics[i].mac, s->mac, 6) && b->statics[i].vlan == s->vlan)
			return yerr(w, v[STK_MAC],
				    "duplicate static entry for %s in VLAN %u (first at line %u)",
				    sval(v[STK_MAC]), s->vlan, b->statics[i].line);
	b->n_statics++;
	return 0;
}

/* --- mirrors --- */

enum { MIK_NAME, MIK_PORT, MIK_DIRECTION, MIK_TO_PORT, MIK_TO_PCAP, MIK_SNAPLEN, MIK_N };
static const char *const mirror_keys[] = { "name",    "port",	 "direction", "to-port",
					   "to-pcap", "snaplen", NULL };

static int y_mirror(struct ywalk *w, const yaml_node_t *n)
{
	yaml_node_t *k[MIK_N], *v[MIK_N];
	struct sw_config *c = w->c;
	struct sw_mirror_cfg *m;
	const char *s;
	uint64_t u;
	int ret;

	if (c->n_mirrors == SW_MAX_MIRRORS)
		return yerr(w, n, "too many mirrors (at most %d)", SW_MAX_MIRRORS);
	m = &c->mirrors[c->n_mirrors];
	memset(m, 0, sizeof(*m));
	m->dir = SW_MIRROR_BOTH;
	m->snaplen = CFG_SNAPLEN_MAX;
	m->line = line_of(n);
	m->column = col_of(n);
	ret = y_map(w, n, "mirror", mirror_keys, k, v);
	if (ret < 0)
		return ret;
	if (!v[MIK_NAME])
		return yerr(w, n, "mirror: missing 'name'");
	ret = y_name(w, "name", v[MIK_NAME], m->name);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < c->n_mirrors; i++)
		if (!strcmp(c->mirrors[i].name, m->name))
			return yerr(w, v[MIK_NAME], "duplicate mirror name '%s' (first at line %u)",
				    m->name, c->mirrors[i].line);
	if (!v[MIK_PORT])
		return yerr(w, n, "mirror '%s': missing 'port'", m->name);
	ret = y_str(w, "port", v[MIK_PORT], &s);
	if (ret < 0)
		return ret;
	if (sw_config_find_port(c, s) < 0)
		return yerr(w, v[MIK_PORT], "'port': no port named '%.40s'", s);
	copy_str(m->port, sizeof(m->port), s);
	if (v[MIK_DIRECTION]) {
		ret = y_str(w, "direction", v[MIK_DIRECTION], &s);
		if (ret < 0)
			return ret;
		if (!strcmp(s, "rx"))
			m->dir = SW_MIRROR_RX;
		else if (!strcmp(s, "tx"))
			m->dir = SW_MIRROR_TX;
		else if (!strcmp(s, "both"))
			m->dir = SW_MIRROR_BOTH;
		else
			return yerr(w, v[MIK_DIRECTION],
				    "'direction': unknown direction '%.40s' (rx, tx or both)", s);
	}
	if (k[MIK_TO_PORT] && k[MIK_TO_PCAP]) {
		const yaml_node_t *later = k[MIK_TO_PORT];

		if (k[MIK_TO_PCAP]->start_mark.index > later->start_mark.index)
			later = k[MIK_TO_PCAP];
		return yerr(w, later, "mirror '%s': give either 'to-port' or 'to-pcap', not both",
			    m->name);
	}
	if (!k[MIK_TO_PORT] && !k[MIK_TO_PCAP])
		return yerr(w, n, "mirror '%s': needs 'to-port' or 'to-pcap'", m->name);
	if (v[MIK_TO_PORT]) {
		if (k[MIK_SNAPLEN])
			return yerr(w, k[MIK_SNAPLEN], "'snaplen' applies to 'to-pcap' only");
		ret = y_str(w, "to-port", v[MIK_TO_PORT], &s);
		if (ret < 0)
			return ret;
		if (sw_config_find_port(c, s) < 0)
			return yerr(w, v[MIK_TO_PORT], "'to-port': no port named '%.40s'", s);
		if (!strcmp(s, m->port))
			return yerr(w, v[MIK_TO_PORT],
				    "'to-port': '%s' is the mirrored port itself", s);
		copy_str(m->to_port, sizeof(m->to_port), s);
	} else {
		ret = y_path(w, "to-pcap", v[MIK_TO_PCAP], m->to_pcap, sizeof(m->to_pcap));
		if (ret < 0)
			return ret;
	}
	if (v[MIK_SNAPLEN]) {
		ret = y_uint(w, "snaplen", v[MIK_SNAPLEN], CFG_SNAPLEN_MIN, CFG_SNAPLEN_MAX, &u);
		if (ret < 0)
			return ret;
		m->snaplen = (uint32_t)u;
	}
	c->n_mirrors++;
	return 0;
}

/* --- top level --- */

enum { TK_SWITCH, TK_BRIDGES, TK_MIRRORS, TK_N };
static const char *const top_keys[] = { "switch", "bridges", "mirrors", NULL };

static int y_root(struct ywalk *w, const yaml_node_t *root)
{
	yaml_node_t *k[TK_N], *v[TK_N];
	yaml_node_item_t *it, *end;
	int ret;

	ret = y_map(w, root, "top level", top_keys, k, v);
	if (ret < 0)
		return ret;
	if (v[TK_SWITCH] && (ret = y_switch(w, v[TK_SWITCH])) < 0)
		return ret;
	if (v[TK_BRIDGES]) {
		ret = y_seq(w, "bridges", v[TK_BRIDGES], &it, &end);
		if (ret < 0)
			return ret;
		for (; it && it < end; it++) {
			ret = y_bridge(w, node_at(w, *it));
			if (ret < 0)
				return ret;
		}
	}
	for (unsigned bi = 0; bi < w->c->n_bridges; bi++) {
		if (!w->statics[bi])
			continue;
		ret = y_seq(w, "static", w->statics[bi], &it, &end);
		if (ret < 0)
			return ret;
		for (; it && it < end; it++) {
			ret = y_static(w, node_at(w, *it), bi);
			if (ret < 0)
				return ret;
		}
	}
	if (v[TK_MIRRORS]) {
		ret = y_seq(w, "mirrors", v[TK_MIRRORS], &it, &end);
		if (ret < 0)
			return ret;
		for (; it && it < end; it++) {
			ret = y_mirror(w, node_at(w, *it));
			if (ret < 0)
				return ret;
		}
	}
	if (!w->c->n_ports)
		return yerr(w, root,
			    "no port defined: the config needs a bridge with at least one port");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading */

/* Line and column (1-based) of a byte offset, for errors of libyaml's reader. */
static void offset_pos(const unsigned char *buf, size_t len, size_t off, unsigned *line,
		       unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_err(const char *name, const yaml_parser_t *ps, const unsigned char *buf,
		      size_t len, char *err, size_t errlen)
{
	unsigned line, col;

	switch (ps->error) {
	case YAML_MEMORY_ERROR: return set_err(err, errlen, "%s: out of memory", name);
	case YAML_READER_ERROR:
		offset_pos(buf, len, ps->problem_offset, &line, &col);
		return set_err(err, errlen, "%s:%u:%u: %s (not a UTF-8 text file?)", name, line,
			       col, ps->problem ? ps->problem : "unreadable input");
	default: break;
	}
	line = (unsigned)ps->problem_mark.line + 1;
	col = (unsigned)ps->problem_mark.column + 1;
	if (ps->context)
		return set_err(err, errlen, "%s:%u:%u: syntax error: %s (%s at line %u)", name,
			       line, col, ps->problem ? ps->problem : "bad input", ps->context,
			       (unsigned)ps->context_mark.line + 1);
	return set_err(err, errlen, "%s:%u:%u: syntax error: %s", name, line, col,
		       ps->problem ? ps->problem : "bad input");
}

/*
 * The event scan: syntax errors, aliases, a second document, nesting deeper
 * than the schema could use. What passes is loaded safely afterwards.
 */
static int scan_events(const char *name, const unsigned char *buf, size_t len, char *err,
		       size_t errlen)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	unsigned depth = 0, docs = 0;
	int ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&ps))
		return set_err(err, errlen, "%s: out of memory", name);
	yaml_parser_set_input_string(&ps, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&ps, &ev)) {
			ret = parser_err(name, &ps, buf, len, err, errlen);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				ret = set_err(
					err, errlen,
					"%s:%u:%u: a second YAML document: the file must hold one",
					name, (unsigned)ev.start_mark.line + 1,
					(unsigned)ev.start_mark.column + 1);
			break;
		case YAML_ALIAS_EVENT:
			ret = set_err(err, errlen,
				      "%s:%u:%u: YAML aliases (*%.40s) are not supported: write "
				      "the value out",
				      name, (unsigned)ev.start_mark.line + 1,
				      (unsigned)ev.start_mark.column + 1,
				      (const char *)ev.data.alias.anchor);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CFG_DEPTH_MAX)
				ret = set_err(err, errlen,
					      "%s:%u:%u: nesting deeper than %d levels", name,
					      (unsigned)ev.start_mark.line + 1,
					      (unsigned)ev.start_mark.column + 1, CFG_DEPTH_MAX);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: depth--; break;
		default: break;
		}
		yaml_event_delete(&ev);
		if (ret < 0)
			break;
	}
	yaml_parser_delete(&ps);
	return ret;
}

static int load_buf(const char *name, const unsigned char *buf, size_t len, struct sw_config *c,
		    char *err, size_t errlen)
{
	struct ywalk w = { .name = name, .c = c, .err = err, .errlen = errlen };
	yaml_parser_t ps;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret;

	sw_config_init(c);
	snprintf(c->source, sizeof(c->source), "%s", name);
	if (len > CFG_FILE_MAX) {
		ret = set_err(err, errlen, "%s: too large (more than %d bytes)", name,
			      CFG_FILE_MAX);
		goto out;
	}
	ret = scan_events(name, buf, len, err, errlen);
	if (ret < 0)
		goto out;
	if (!yaml_parser_initialize(&ps)) {
		ret = set_err(err, errlen, "%s: out of memory", name);
		goto out;
	}
	yaml_parser_set_input_string(&ps, buf, len);
	if (!yaml_parser_load(&ps, &doc)) {
		ret = parser_err(name, &ps, buf, len, err, errlen);
		yaml_parser_delete(&ps);
		goto out;
	}
	yaml_parser_delete(&ps);
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root))
		ret = set_err(
			err, errlen,
			"%s:1:1: empty file: the config needs a bridge with at least one port",
			name);
	else
		ret = y_root(&w, root);
	yaml_document_delete(&doc);
	if (ret == 0)
		ret = sw_config_validate(c, err, errlen);
out:
	if (ret < 0) {
		sw_config_init(c);
		snprintf(c->source, sizeof(c->source), "%s", name);
	}
	return ret;
}

int sw_config_load_string(const char *name, const char *yaml, struct sw_config *c, char *err,
			  size_t errlen)
{
	return load_buf(name, (const unsigned char *)yaml, strlen(yaml), c, err, errlen);
}

int sw_config_load_file(const char *path, struct sw_config *c, char *err, size_t errlen)
{
	uint8_t *data;
	size_t len;
	int ret;

	sw_config_init(c);
	ret = read_file(path, &data, &len, CFG_FILE_MAX);
	if (ret == -EFBIG) {
		set_err(err, errlen, "%s: too large (more than %d bytes)", path, CFG_FILE_MAX);
		return ret;
	}
	if (ret == -EINVAL)
		return set_err(err, errlen, "%s: not a regular file", path);
	if (ret < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = load_buf(path, data, len, c, err, errlen);
	free(data);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* --port specs */

#define CLI_SPEC_MAX 1024

static int __attribute__((format(printf, 4, 5)))
cli_err(const char *spec, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[CFG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return set_err(err, errlen, "--port '%s': %s", spec, msg);
}

/* True for "10", "100-200": what continues a trunk= list after a comma. */
static bool is_vlan_item(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static int cli_uint(const char *spec, const char *key, const char *val, uint64_t min, uint64_t max,
		    uint64_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_dec(val, &v) < 0 || v < min || v > max)
		return cli_err(spec, err, errlen, "%s must be %" PRIu64 "..%" PRIu64, key, min,
			       max);
	*out = v;
	return 0;
}

int sw_config_add_cli_port(struct sw_config *c, const char *spec, char *err, size_t errlen)
{
	static const char *const keys =
		"server, queues=N, mtu=N, name=NAME, vlan=N, trunk=LIST, native=N";
	struct sw_port_cfg p;
	char buf[CLI_SPEC_MAX], *rest, *tok, *colon;
	char trunk[CLI_SPEC_MAX] = "", name[SW_NAME_MAX] = "";
	char msg[CFG_MSG_MAX];
	bool have_vlan = false, have_native = false, have_trunk = false, first = true;
	bool in_trunk = false;
	uint64_t u = 0;
	int ret;

	if (!spec || !*spec)
		return set_err(err, errlen, "--port: empty spec");
	if (!copy_str(buf, sizeof(buf), spec))
		return set_err(err, errlen, "--port: spec longer than %d bytes", CLI_SPEC_MAX - 1);
	sw_port_cfg_init(&p);
	colon = strchr(buf, ':');
	if (!colon)
		return cli_err(spec, err, errlen, "expected TYPE:ARGS with TYPE one of %s",
			       PORT_TYPE_LIST);
	*colon = '\0';
	if (port_type_parse(buf, &p.type) < 0)
		return cli_err(spec, err, errlen, "unknown port type '%.40s' (%s)", buf,
			       PORT_TYPE_LIST);
	rest = *(colon + 1) ? colon + 1 : NULL;
	if (p.type == SW_PORT_PCAP)
		first = false;
	while ((tok = strsep(&rest, ",")) != NULL) {
		char *eq = strchr(tok, '=');
		const char *key = tok, *val = eq ? eq + 1 : NULL;

		if (first && !*tok)
			break;
		if (!*tok)
			return cli_err(spec, err, errlen, "empty option (two commas in a row?)");
		if (first) {
			first = false;
			switch (p.type) {
			case SW_PORT_VHOST_USER:
				if (!copy_str(p.path, sizeof(p.path), tok))
					return cli_err(spec, err, errlen,
						       "socket path longer than %d bytes",
						       SW_PATH_MAX - 1);
				break;
			case SW_PORT_DPDK:
				if (!copy_str(p.pci, sizeof(p.pci), tok) || pci_problem(tok))
					return cli_err(spec, err, errlen, "'%.40s' %s", tok,
						       pci_problem(tok) ? pci_problem(tok)
									: "is too long");
				break;
			default:
				if (ifname_problem(tok))
					return cli_err(spec, err, errlen,
						       "interface name '%.40s' %s", tok,
						       ifname_problem(tok));
				copy_str(p.iface, sizeof(p.iface), tok);
				break;
			}
			continue;
		}
		if (in_trunk && !eq && is_vlan_item(tok)) {
			if (strlen(trunk) + strlen(tok) + 2 > sizeof(trunk))
				return cli_err(spec, err, errlen, "trunk list too long");
			strcat(trunk, ",");
			strcat(trunk, tok);
			continue;
		}
		in_trunk = false;
		if (eq)
			*eq = '\0';
		if (!strcmp(key, "server") && !val) {
			if (p.type != SW_PORT_VHOST_USER)
				return cli_err(spec, err, errlen,
					       "server applies to vhost-user only");
			p.server = true;
		} else if (!strcmp(key, "queues") && val) {
			if ((ret = cli_uint(spec, "queues", val, 1, SW_MAX_QUEUES, &u, err,
					    errlen)) < 0)
				return ret;
			p.queues = (uint16_t)u;
		} else if (!strcmp(key, "mtu") && val) {
			if ((ret = cli_uint(spec, "mtu", val, SW_MTU_MIN, SW_MTU_MAX, &u, err,
					    errlen)) < 0)
				return ret;
			p.mtu = (uint16_t)u;
		} else if (!strcmp(key, "name") && val) {
			const char *prob = name_problem(val);

			if (prob)
				return cli_err(spec, err, errlen, "name '%.40s' %s", val, prob);
			copy_str(name, sizeof(name), val);
		} else if (!strcmp(key, "vlan") && val) {
			if ((ret = cli_uint(spec, "vlan", val, 1, SW_VLAN_MAX, &u, err, errlen)) <
			    0)
				return ret;
			p.vlan.mode = SW_VLAN_ACCESS;
			p.vlan.tag = (uint16_t)u;
			memset(p.vlan.allowed, 0, sizeof(p.vlan.allowed));
			p.vlan.allowed[u >> 6] |= 1ull << (u & 63);
			have_vlan = true;
		} else if (!strcmp(key, "trunk") && val) {
			copy_str(trunk, sizeof(trunk), val);
			have_trunk = in_trunk = true;
		} else if (!strcmp(key, "native") && val) {
			if (!strcmp(val, "none")) {
				p.vlan.native = SW_VLAN_NONE;
			} else {
				if ((ret = cli_uint(spec, "native", val, 0, SW_VLAN_MAX, &u, err,
						    errlen)) < 0)
					return ret;
				p.vlan.native = (uint16_t)u;
			}
			have_native = true;
		} else if (p.type == SW_PORT_PCAP && (!strcmp(key, "in") || !strcmp(key, "out")) &&
			   val) {
			char *dst = key[0] == 'i' ? p.rx_pcap : p.tx_pcap;

			if (!*val)
				return cli_err(spec, err, errlen, "%s= needs a file name", key);
			if (!copy_str(dst, SW_PATH_MAX, val))
				return cli_err(spec, err, errlen, "%s= path longer than %d bytes",
					       key, SW_PATH_MAX - 1);
		} else {
			return cli_err(spec, err, errlen,
				       "unknown option '%.40s%s' (allowed: %s%s)", key,
				       val ? "=..." : "",
				       p.type == SW_PORT_PCAP ? "in=FILE, out=FILE, " : "", keys);
		}
	}
	if (first)
		return cli_err(spec, err, errlen, "missing %s after '%s:'",
			       p.type == SW_PORT_VHOST_USER ? "the socket path"
			       : p.type == SW_PORT_DPDK	    ? "the PCI address"
							    : "the interface name",
			       sw_port_type_name(p.type));
	if (have_vlan && (have_trunk || have_native))
		return cli_err(spec, err, errlen,
			       "vlan= (access) cannot go with trunk= or native=");
	if (have_native && !have_trunk)
		return cli_err(spec, err, errlen, "native= needs trunk=");
	if (have_trunk && sw_vlan_parse_list(trunk, p.vlan.allowed, msg, sizeof(msg)) < 0)
		return cli_err(spec, err, errlen, "trunk: %s", msg);
	if (!name[0]) {
		for (unsigned i = c->n_ports;; i++) {
			snprintf(name, sizeof(name), "p%u", i);
			if (sw_config_find_port(c, name) < 0)
				break;
		}
	}
	copy_str(p.name, sizeof(p.name), name);
	if (sw_config_find_port(c, p.name) >= 0)
		return cli_err(spec, err, errlen, "a port named '%s' already exists", p.name);
	ret = port_check(&p, msg, sizeof(msg));
	if (ret < 0)
		return cli_err(spec, err, errlen, "%s", msg);
	if (c->n_ports == SW_MAX_PORTS)
		return cli_err(spec, err, errlen, "too many ports (at most %d)", SW_MAX_PORTS);
	if (!c->n_bridges) {
		bridge_init(&c->bridges[0], "br0");
		c->n_bridges = 1;
	}
	p.bridge = 0;
	c->ports[c->n_ports++] = p;
	return 0;
}
