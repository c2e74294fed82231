/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchd's configuration: the YAML loader (every key, every default,
 * every class of error with its exact position), hostile input, `--port`
 * specs, the value parsers and sw_config_validate.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vswitch/sw_config.h"

static struct sw_config *cfg;
static char err[1024];

static int setup(void **state)
{
	cfg = malloc(sizeof(*cfg));
	return cfg ? 0 : -1;
}

static int teardown(void **state)
{
	free(cfg);
	return 0;
}

static int load(const char *yaml)
{
	memset(err, 0, sizeof(err));
	return sw_config_load_string("t.yaml", yaml, cfg, err, sizeof(err));
}

static void check_ok(const char *yaml)
{
	int ret = load(yaml);

	if (ret)
		print_message("unexpected error %d: %s\n", ret, err);
	assert_int_equal(ret, 0);
}

static void check_err(const char *yaml, const char *msg)
{
	int ret = load(yaml);

	if (ret != -EINVAL || strcmp(err, msg))
		print_message("got %d: '%s'\nwant     '%s'\n", ret, err, msg);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err, msg);
	/* no config is left behind */
	assert_int_equal(cfg->n_ports, 0);
	assert_int_equal(cfg->n_bridges, 0);
}

/* A growing string for generated configs. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Lines 1-5: a bridge with two tap ports, a and b; more ports can follow. */
#define BR0                                           \
	"bridges:\n"                                  \
	"  - name: br0\n"                             \
	"    ports:\n"                                \
	"      - { name: a, type: tap, iface: t0 }\n" \
	"      - { name: b, type: tap, iface: t1 }\n"

/* ------------------------------------------------------------------------ */
/* A complete file */

/* Lines asserted below: bridge br0 at 7, statics at 11, ports vm0 at 14 and tap0 at
 * 34, mirror m0 at 46. */
static const char full_yaml[] =
	"# every feature\n"
	"switch:\n"
	"  pmd-cores: \"2-3\"\n"
	"  ctl: /run/nfv-switchd.sock\n"
	"  mbufs: 32768\n"
	"bridges:\n"
	"  - name: br0\n"
	"    aging: 600\n"
	"    fdb-size: 4096\n"
	"    static:\n"
	"      - { mac: \"02:00:00:00:00:01\", vlan: 10, port: vm0 }\n"
	"      - { mac: \"02:00:00:00:00:aB\", port: tap0 }\n"
	"    ports:\n"
	"      - name: vm0\n"
	"        type: vhost-user\n"
	"        path: /tmp/vm0.sock\n"
	"        server: true\n"
	"        queues: 4\n"
	"        mtu: 9000\n"
	"        vlan: { mode: access, tag: 10 }\n"
	"        policer: { type: srtcm, cir: 10mbit, cbs: 64kB, ebs: 128kB }\n"
	"        shaper: { rate: 100mbit, burst: 64KiB, classes: 2, queue-len: 512 }\n"
	"      - name: trunk0\n"
	"        type: vhost-user\n"
	"        path: /tmp/trunk0.sock\n"
	"        vlan: { mode: trunk, trunks: \"10,20,100-200\", native: 1, native-tagged: true }\n"
	"        vlan-policers:\n"
	"          - { vlan: 20, type: trtcm, cir: 5mbit, cbs: 32kB, pir: 10mbit, pbs: 32kB }\n"
	"          - { vlan: 150, type: srtcm, cir: 1.5mbit, cbs: 16kB, ebs: 1.5KiB }\n"
	"        shaper:\n"
	"          rate: 1gbit\n"
	"          classes: 4\n"
	"          pcp-map: [3, 3, 2, 2, 1, 1, 0, 0]\n"
	"      - { name: tap0, type: tap, iface: nfvtap0 }\n"
	"      - { name: eth1, type: af_packet, iface: veth1, queues: 2 }\n"
	"      - { name: xdp0, type: af_xdp, iface: veth2, mtu: 3000 }\n"
	"  - name: br1\n"
	"    ports:\n"
	"      - { name: cap, type: pcap, rx-pcap: in.pcap, tx-pcap: out.pcap }\n"
	"      - name: nic0\n"
	"        type: dpdk\n"
	"        pci: \"0000:03:00.0\"\n"
	"        vlan: { trunks: [5, \"7-9\"], native: none }\n"
	"      - { name: rx-only, type: pcap, rx-pcap: replay.pcap }\n"
	"mirrors:\n"
	"  - { name: m0, port: vm0, direction: both, to-pcap: /tmp/m0.pcap, snaplen: 128 }\n"
	"  - { name: m1, port: trunk0, direction: rx, to-port: tap0 }\n"
	"  - { name: m2, port: nic0, direction: tx, to-port: eth1 }\n";

static void test_full_file(void **state)
{
	const struct sw_port_cfg *p;
	const struct sw_bridge_cfg *b;
	const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 }, mac2[6] = { 2, 0, 0, 0, 0, 0xab };

	check_ok(full_yaml);
	assert_string_equal(cfg->source, "t.yaml");
	assert_int_equal(cfg->n_pmd_cores, 2);
	assert_int_equal(cfg->pmd_cores[0], 2);
	assert_int_equal(cfg->pmd_cores[1], 3);
	assert_string_equal(cfg->ctl, "/run/nfv-switchd.sock");
	assert_int_equal(cfg->mbufs, 32768);

	assert_int_equal(cfg->n_bridges, 2);
	b = &cfg->bridges[0];
	assert_string_equal(b->name, "br0");
	assert_int_equal(b->aging_s, 600);
	assert_int_equal(b->fdb_size, 4096);
	assert_int_equal(b->line, 7);
	assert_int_equal(b->column, 5);
	assert_int_equal(b->n_statics, 2);
	assert_memory_equal(b->statics[0].mac, mac1, 6);
	assert_int_equal(b->statics[0].vlan, 10);
	assert_string_equal(b->statics[0].port, "vm0");
	assert_int_equal(b->statics[0].line, 11);
	assert_int_equal(b->statics[0].column, 9);
	assert_memory_equal(b->statics[1].mac, mac2, 6);
	assert_int_equal(b->statics[1].vlan, 0);
	assert_string_equal(b->statics[1].port, "tap0");
	assert_string_equal(cfg->bridges[1].name, "br1");
	assert_int_equal(cfg->bridges[1].aging_s, 300);
	assert_int_equal(cfg->bridges[1].fdb_size, 8192);

	assert_int_equal(cfg->n_ports, 8);
	p = &cfg->ports[0];
	assert_string_equal(p->name, "vm0");
	assert_int_equal(p->type, SW_PORT_VHOST_USER);
	assert_string_equal(p->path, "/tmp/vm0.sock");
	assert_true(p->server);
	assert_int_equal(p->queues, 4);
	assert_int_equal(p->mtu, 9000);
	assert_int_equal(p->bridge, 0);
	assert_int_equal(p->line, 14);
	assert_int_equal(p->column, 9);
	assert_int_equal(p->vlan.mode, SW_VLAN_ACCESS);
	assert_int_equal(p->vlan.tag, 10);
	assert_int_equal(p->policer.type, SW_METER_SRTCM);
	assert_int_equal(p->policer.cir, 1250000);
	assert_int_equal(p->policer.cbs, 64000);
	assert_int_equal(p->policer.ebs, 128000);
	assert_int_equal(p->n_vlan_policers, 0);
	assert_int_equal(p->shaper.rate, 12500000);
	assert_int_equal(p->shaper.burst, 65536);
	assert_int_equal(p->shaper.classes, 2);
	assert_int_equal(p->shaper.queue_len, 512);
	assert_int_equal(p->shaper.pcp_class[7], 0);
	assert_int_equal(p->shaper.pcp_class[4], 0);
	assert_int_equal(p->shaper.pcp_class[3], 1);
	assert_int_equal(p->shaper.pcp_class[0], 1);

	p = &cfg->ports[1];
	assert_string_equal(p->name, "trunk0");
	assert_false(p->server);
	assert_int_equal(p->vlan.mode, SW_VLAN_TRUNK);
	assert_int_equal(p->vlan.native, 1);
	assert_true(p->vlan.native_tagged);
	assert_true(sw_vlan_allowed(&p->vlan, 10));
	assert_true(sw_vlan_allowed(&p->vlan, 20));
	assert_true(sw_vlan_allowed(&p->vlan, 100));
	assert_true(sw_vlan_allowed(&p->vlan, 200));
	assert_false(sw_vlan_allowed(&p->vlan, 201));
	assert_false(sw_vlan_allowed(&p->vlan, 11));
	assert_false(sw_vlan_allowed(&p->vlan, 0));
	assert_int_equal(p->n_vlan_policers, 2);
	assert_int_equal(p->vlan_policers[0].vlan, 20);
	assert_int_equal(p->vlan_policers[0].meter.type, SW_METER_TRTCM);
	assert_int_equal(p->vlan_policers[0].meter.cir, 625000);
	assert_int_equal(p->vlan_policers[0].meter.pir, 1250000);
	assert_int_equal(p->vlan_policers[0].meter.cbs, 32000);
	assert_int_equal(p->vlan_policers[0].meter.pbs, 32000);
	assert_int_equal(p->vlan_policers[1].vlan, 150);
	assert_int_equal(p->vlan_policers[1].meter.type, SW_METER_SRTCM);
	assert_int_equal(p->vlan_policers[1].meter.cir, 187500);
	assert_int_equal(p->vlan_policers[1].meter.ebs, 1536);
	assert_int_equal(p->shaper.rate, 125000000);
	assert_int_equal(p->shaper.burst, 1250000); /* default: 10 ms at the rate */
	assert_int_equal(p->shaper.classes, 4);
	assert_int_equal(p->shaper.queue_len, 256);
	assert_int_equal(p->shaper.pcp_class[0], 3);
	assert_int_equal(p->shaper.pcp_class[2], 2);
	assert_int_equal(p->shaper.pcp_class[5], 1);
	assert_int_equal(p->shaper.pcp_class[7], 0);

	p = &cfg->ports[2];
	assert_string_equal(p->name, "tap0");
	assert_int_equal(p->type, SW_PORT_TAP);
	assert_string_equal(p->iface, "nfvtap0");
	assert_int_equal(p->line, 34);
	assert_int_equal(p->column, 9);
	p = &cfg->ports[3];
	assert_int_equal(p->type, SW_PORT_AF_PACKET);
	assert_string_equal(p->iface, "veth1");
	assert_int_equal(p->queues, 2);
	p = &cfg->ports[4];
	assert_int_equal(p->type, SW_PORT_AF_XDP);
	assert_string_equal(p->iface, "veth2");
	assert_int_equal(p->mtu, 3000);
	p = &cfg->ports[5];
	assert_int_equal(p->type, SW_PORT_PCAP);
	assert_string_equal(p->rx_pcap, "in.pcap");
	assert_string_equal(p->tx_pcap, "out.pcap");
	assert_int_equal(p->bridge, 1);
	p = &cfg->ports[6];
	assert_int_equal(p->type, SW_PORT_DPDK);
	assert_string_equal(p->pci, "0000:03:00.0");
	assert_int_equal(p->vlan.mode, SW_VLAN_TRUNK);
	assert_int_equal(p->vlan.native, SW_VLAN_NONE);
	assert_false(sw_vlan_allowed(&p->vlan, 6));
	assert_true(sw_vlan_allowed(&p->vlan, 5));
	assert_true(sw_vlan_allowed(&p->vlan, 7));
	assert_true(sw_vlan_allowed(&p->vlan, 9));
	assert_false(sw_vlan_allowed(&p->vlan, 10));
	p = &cfg->ports[7];
	assert_string_equal(p->rx_pcap, "replay.pcap");
	assert_string_equal(p->tx_pcap, "");

	assert_int_equal(cfg->n_mirrors, 3);
	assert_string_equal(cfg->mirrors[0].name, "m0");
	assert_string_equal(cfg->mirrors[0].port, "vm0");
	assert_int_equal(cfg->mirrors[0].dir, SW_MIRROR_BOTH);
	assert_string_equal(cfg->mirrors[0].to_pcap, "/tmp/m0.pcap");
	assert_string_equal(cfg->mirrors[0].to_port, "");
	assert_int_equal(cfg->mirrors[0].snaplen, 128);
	assert_int_equal(cfg->mirrors[0].line, 46);
	assert_int_equal(cfg->mirrors[0].column, 5);
	assert_int_equal(cfg->mirrors[1].dir, SW_MIRROR_RX);
	assert_string_equal(cfg->mirrors[1].to_port, "tap0");
	assert_string_equal(cfg->mirrors[1].to_pcap, "");
	assert_int_equal(cfg->mirrors[1].snaplen, 65535);
	assert_int_equal(cfg->mirrors[2].dir, SW_MIRROR_TX);

	assert_int_equal(sw_config_find_port(cfg, "nic0"), 6);
	assert_int_equal(sw_config_find_port(cfg, "nope"), -1);
	assert_int_equal(sw_config_find_bridge(cfg, "br1"), 1);
	assert_int_equal(sw_config_find_bridge(cfg, "br2"), -1);
	assert_int_equal(sw_config_validate(cfg, err, sizeof(err)), 0);
}

static void test_defaults(void **state)
{
	const struct sw_port_cfg *p;
	struct sw_vlan_cfg def;

	check_ok("bridges:\n"
		 "  - name: br0\n"
		 "    ports:\n"
		 "      - { name: vm0, type: vhost-user, path: /tmp/a.sock }\n"
		 "      - { name: s, type: tap, iface: t0, shaper: { rate: 1mbit } }\n"
		 "mirrors:\n"
		 "  - { name: m, port: vm0, to-pcap: m.pcap }\n");
	assert_int_equal(cfg->n_pmd_cores, 0);
	assert_string_equal(cfg->ctl, "");
	assert_int_equal(cfg->mbufs, 0);
	assert_int_equal(cfg->bridges[0].aging_s, 300);
	assert_int_equal(cfg->bridges[0].fdb_size, 8192);
	assert_int_equal(cfg->bridges[0].n_statics, 0);
	p = &cfg->ports[0];
	assert_int_equal(p->queues, 1);
	assert_int_equal(p->mtu, 1500);
	assert_false(p->server);
	sw_vlan_cfg_default(&def);
	assert_memory_equal(&p->vlan, &def, sizeof(def));
	assert_int_equal(p->policer.type, SW_METER_NONE);
	assert_int_equal(p->n_vlan_policers, 0);
	assert_int_equal(p->shaper.rate, 0);
	assert_int_equal(p->shaper.classes, 1);
	assert_int_equal(p->shaper.queue_len, 256);
	for (int i = 0; i < 8; i++)
		assert_int_equal(p->shaper.pcp_class[i], 0);
	/* 1 mbit/s: 10 ms is 1250 bytes, less than two 1518-byte frames */
	assert_int_equal(cfg->ports[1].shaper.rate, 125000);
	assert_int_equal(cfg->ports[1].shaper.burst, 3036);
	assert_int_equal(cfg->mirrors[0].dir, SW_MIRROR_BOTH);
	assert_int_equal(cfg->mirrors[0].snaplen, 65535);

	/* empty optional sections, trunk with only a native VLAN */
	check_ok("switch:\n"
		 "bridges:\n"
		 "  - name: br0\n"
		 "    static: ~\n"
		 "    ports:\n"
		 "      - { name: a, type: tap, iface: t0, vlan: { native: 7 }, policer: }\n"
		 "mirrors: []\n");
	assert_int_equal(cfg->ports[0].vlan.mode, SW_VLAN_TRUNK);
	assert_int_equal(cfg->ports[0].vlan.native, 7);
	assert_true(sw_vlan_allowed(&cfg->ports[0].vlan, 4094));
	assert_int_equal(cfg->ports[0].policer.type, SW_METER_NONE);
	assert_int_equal(cfg->n_mirrors, 0);
}

/* ------------------------------------------------------------------------ */
/* Errors, each with its position */

static void test_err_syntax(void **state)
{
	check_err("bridges:\n"
		  "  - name: br0\n"
		  "    ports: [\n",
		  "t.yaml:4:1: syntax error: did not find expected node content "
		  "(while parsing a flow node at line 4)");
	check_err("bridges:\n"
		  "  - name: br0\n"
		  "   bad: 1\n",
		  "t.yaml:3:4: syntax error: did not find expected '-' indicator "
		  "(while parsing a block collection at line 2)");
	check_err("a: b: c\n",
		  "t.yaml:1:5: syntax error: mapping values are not allowed in this context");
	check_err("bridges: \"open\n", "t.yaml:2:1: syntax error: found unexpected end of stream "
				       "(while scanning a quoted scalar at line 1)");
	check_err("bridges:\n\tx: 1\n",
		  "t.yaml:2:1: syntax error: found character that cannot start any token "
		  "(while scanning for the next token at line 2)");
}

static void test_err_structure(void **state)
{
	check_err("", "t.yaml:1:1: empty file: the config needs a bridge with at least one port");
	check_err("# only a comment\n",
		  "t.yaml:1:1: empty file: the config needs a bridge with at least one port");
	check_err("- a\n- b\n", "t.yaml:1:1: top level: expected a mapping, got a list");
	check_err("just text\n", "t.yaml:1:1: top level: expected a mapping, got a scalar");
	check_err("bridges: []\n",
		  "t.yaml:1:1: no port defined: the config needs a bridge with at least one port");
	check_err(
		"bridge:\n  - name: br0\n",
		"t.yaml:1:1: top level: unknown key 'bridge' (allowed: switch, bridges, mirrors)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, speed: 10 }\n",
		  "t.yaml:6:42: port: unknown key 'speed' (allowed: name, type, path, server, "
		  "iface, rx-pcap, tx-pcap, pci, queues, mtu, vlan, policer, vlan-policers, "
		  "shaper)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 1000, mtu: 2000 }\n",
		  "t.yaml:6:53: port: key 'mtu' given twice (first at line 6)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, [x]: 1 }\n",
		  "t.yaml:6:42: port: keys must be strings, got a list");
	check_err("bridges:\n  name: br0\n",
		  "t.yaml:2:3: 'bridges': expected a list, got a mapping");
	check_err("bridges:\n  - br0\n", "t.yaml:2:5: bridge: expected a mapping, got a scalar");
	check_err("bridges:\n  - name: br0\n    ports:\n      - tap0\n",
		  "t.yaml:4:9: port: expected a mapping, got a scalar");
	check_err("switch: 1\n" BR0, "t.yaml:1:9: switch: expected a mapping, got a scalar");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: [1500] }\n",
		  "t.yaml:6:47: 'mtu': expected an integer, got a list");
	check_err(BR0 "      - { name: [c], type: tap, iface: t2 }\n",
		  "t.yaml:6:17: 'name': expected a string, got a list");
	check_err(BR0 "      - { name: c, type: vhost-user, path: /s, server: yes }\n",
		  "t.yaml:6:56: 'server': expected true or false, got 'yes'");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: 10 }\n",
		  "t.yaml:6:48: vlan: expected a mapping, got a scalar");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan-policers: {} }\n",
		  "t.yaml:6:57: 'vlan-policers': expected a list, got a mapping");
	check_err(BR0 "      - { name: c, type: \"v\\0\", iface: t2 }\n",
		  "t.yaml:6:26: 'type': the value contains a NUL character");
}

static void test_err_numbers(void **state)
{
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 9001 }\n",
		  "t.yaml:6:47: mtu must be 68..9000 (got '9001')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 67 }\n",
		  "t.yaml:6:47: mtu must be 68..9000 (got '67')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, queues: 0 }\n",
		  "t.yaml:6:50: queues must be 1..16 (got '0')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, queues: 17 }\n",
		  "t.yaml:6:50: queues must be 1..16 (got '17')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 1.5 }\n",
		  "t.yaml:6:47: mtu: '1.5' is not a decimal integer");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 0x5dc }\n",
		  "t.yaml:6:47: mtu: '0x5dc' is not a decimal integer");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: -1 }\n",
		  "t.yaml:6:47: mtu: '-1' is not a decimal integer");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: +1500 }\n",
		  "t.yaml:6:47: mtu: '+1500' is not a decimal integer");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 01500 }\n",
		  "t.yaml:6:47: mtu: '01500' is not a decimal integer");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu: 99999999999999999999999 }\n",
		  "t.yaml:6:47: mtu must be 68..9000 (got '99999999999999999999999')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, mtu:  }\n",
		  "t.yaml:6:48: mtu: '' is not a decimal integer");
	check_err("bridges:\n  - { name: br0, aging: 1000001 }\n",
		  "t.yaml:2:25: aging must be 0..1000000 (got '1000001')");
	check_err("bridges:\n  - { name: br0, fdb-size: 15 }\n",
		  "t.yaml:2:28: fdb-size must be 16..1048576 (got '15')");
	check_err("bridges:\n  - { name: br0, fdb-size: 1048577 }\n",
		  "t.yaml:2:28: fdb-size must be 16..1048576 (got '1048577')");
	check_err("switch: { mbufs: 1000 }\n" BR0,
		  "t.yaml:1:18: mbufs must be 1024..16777216 (got '1000')");
	check_err("switch: { pmd-cores: \"1,1\" }\n" BR0,
		  "t.yaml:1:22: 'pmd-cores': core 1 listed twice");
	check_err("switch: { pmd-cores: \"3-1\" }\n" BR0,
		  "t.yaml:1:22: 'pmd-cores': '3-1': reversed range");
	check_err("switch: { pmd-cores: \"0-16\" }\n" BR0,
		  "t.yaml:1:22: 'pmd-cores': more than 16 cores");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, to-pcap: m.pcap, snaplen: 63 }\n",
		  "t.yaml:7:51: snaplen must be 64..65535 (got '63')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 1mbit, classes: 9 } }\n",
		  "t.yaml:7:43: classes must be 1..8 (got '9')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 1mbit, queue-len: 15 } }\n",
		  "t.yaml:7:45: queue-len must be 16..65536 (got '15')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 1mbit, classes: 2, pcp-map: [0, 1, 2, 0, 0, 0, 0, "
		      "0] } }\n",
		  "t.yaml:7:62: pcp-map must be 0..1 (got '2')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 1mbit, pcp-map: [0, 0] } }\n",
		  "t.yaml:7:43: 'pcp-map': expected 8 classes (one per PCP 0..7), got 2");
}

static void test_err_units(void **state)
{
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          policer: { type: srtcm, cir: 10mbps, cbs: 1kB, ebs: 1kB } }\n",
		  "t.yaml:7:40: 'cir': '10mbps': unknown unit 'mbps' "
		  "(use bit, kbit, mbit, gbit, B, kB, MB, GB)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          policer: { type: srtcm, cir: 10mbit, cbs: 1KB, ebs: 1kB } }\n",
		  "t.yaml:7:53: 'cbs': '1KB': unknown unit 'KB' (use B, kB, KiB, MB, MiB)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          policer: { type: srtcm, cir: -1mbit, cbs: 1kB, ebs: 1kB } }\n",
		  "t.yaml:7:40: 'cir': '-1mbit' does not start with a number");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 1mbit, burst: 1.5 } }\n",
		  "t.yaml:7:41: 'burst': '1.5' is not a whole number of bytes");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 99999999999gbit } }\n",
		  "t.yaml:7:27: 'rate': '99999999999gbit' is too large");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          shaper: { rate: 1mbit, burst: 1000 } }\n",
		  "t.yaml:7:41: 'burst' must hold a full-size frame: at least 1518 bytes for MTU "
		  "1500");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          policer: { type: srtcm, cir: 0, cbs: 1kB, ebs: 1kB } }\n",
		  "t.yaml:7:40: 'cir' must be more than 0 bytes/s");
	check_err(BR0 "      - { name: c, type: tap, iface: t2,\n"
		      "          policer: { type: srtcm, cir: 1mbit, cbs: 0B, ebs: 1kB } }\n",
		  "t.yaml:7:52: 'cbs' must be more than 0 bytes");
}

static void test_err_names(void **state)
{
	check_err(BR0 "      - { name: a, type: tap, iface: t2 }\n",
		  "t.yaml:6:17: duplicate port name 'a' (first at line 4)");
	check_err("bridges:\n"
		  "  - { name: br0, ports: [{ name: a, type: tap, iface: t0 }] }\n"
		  "  - { name: br0 }\n",
		  "t.yaml:3:13: duplicate bridge name 'br0' (first at line 2)");
	check_err("bridges:\n"
		  "  - { name: br0, ports: [{ name: a, type: tap, iface: t0 }] }\n"
		  "  - name: br1\n"
		  "    ports: [{ name: a, type: tap, iface: t1 }]\n",
		  "t.yaml:4:21: duplicate port name 'a' (first at line 2)");
	check_err(BR0 "mirrors:\n"
		      "  - { name: m, port: a, to-port: b }\n"
		      "  - { name: m, port: b, to-port: a }\n",
		  "t.yaml:8:13: duplicate mirror name 'm' (first at line 7)");
	check_err(BR0 "      - { name: abcdefghijabcdefghijabcdefghij12, type: tap, iface: t2 }\n",
		  "t.yaml:6:17: 'name': 'abcdefghijabcdefghijabcdefghij12' is longer than 31 "
		  "characters");
	check_err(BR0 "      - { name: \"a b\", type: tap, iface: t2 }\n",
		  "t.yaml:6:17: 'name': 'a b' may only use the characters A-Z a-z 0-9 _ . -");
	check_err(BR0 "      - { name: \"\", type: tap, iface: t2 }\n",
		  "t.yaml:6:17: 'name': '' must not be empty");
	check_err("bridges:\n  - { name: \"br/0\" }\n",
		  "t.yaml:2:13: 'name': 'br/0' may only use the characters A-Z a-z 0-9 _ . -");
	check_err(BR0 "      - { name: c, type: tap, iface: a23456789012345x }\n",
		  "t.yaml:6:38: 'iface': 'a23456789012345x' is longer than 15 characters");
	check_err(BR0 "      - { name: c, type: tap, iface: \"x/y\" }\n",
		  "t.yaml:6:38: 'iface': 'x/y' may not contain '/', ':', spaces or control "
		  "characters");
	check_err(
		BR0 "      - { name: c, type: dpdk, pci: \"0000:03:00\" }\n",
		"t.yaml:6:37: 'pci': '0000:03:00' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)");
	check_err(BR0 "      - { name: c, type: dpdk, pci: \"03:20.0\" }\n",
		  "t.yaml:6:37: 'pci': '03:20.0' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)");
	check_err(BR0 "      - { name: c, type: vhost-user, path: \"\" }\n",
		  "t.yaml:6:44: 'path' must not be empty");
}

static void test_err_paths(void **state)
{
	char path[SW_PATH_MAX + 1], yaml[512], want[512];

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[SW_PATH_MAX] = '\0';
	/* SW_PATH_MAX - 1 bytes fit */
	path[SW_PATH_MAX - 1] = '\0';
	snprintf(yaml, sizeof(yaml), BR0 "      - { name: c, type: vhost-user, path: %s }\n", path);
	check_ok(yaml);
	assert_int_equal(strlen(cfg->ports[2].path), SW_PATH_MAX - 1);
	path[SW_PATH_MAX - 1] = 'x';
	snprintf(yaml, sizeof(yaml), BR0 "      - { name: c, type: vhost-user, path: %s }\n", path);
	check_err(yaml, "t.yaml:6:44: 'path' is too long (108 bytes, at most 107)");
	snprintf(yaml, sizeof(yaml), BR0 "      - { name: c, type: pcap, tx-pcap: %s }\n", path);
	check_err(yaml, "t.yaml:6:41: 'tx-pcap' is too long (108 bytes, at most 107)");
	snprintf(yaml, sizeof(yaml), "switch: { ctl: %s }\n" BR0, path);
	check_err(yaml, "t.yaml:1:16: 'ctl' is too long (108 bytes, at most 107)");
	snprintf(yaml, sizeof(yaml), BR0 "mirrors:\n  - { name: m, port: a, to-pcap: %s }\n", path);
	snprintf(want, sizeof(want), "t.yaml:7:34: 'to-pcap' is too long (108 bytes, at most 107)");
	check_err(yaml, want);
}

static void test_err_required(void **state)
{
	check_err(BR0 "      - { type: tap, iface: t2 }\n", "t.yaml:6:9: port: missing 'name'");
	check_err(BR0 "      - { name: c, iface: t2 }\n",
		  "t.yaml:6:9: port 'c': missing 'type' (vhost-user, tap, af_packet, af_xdp, pcap, "
		  "dpdk)");
	check_err(BR0 "      - { name: c, type: veth, iface: t2 }\n",
		  "t.yaml:6:26: 'type': unknown port type 'veth' "
		  "(vhost-user, tap, af_packet, af_xdp, pcap, dpdk)");
	check_err(BR0 "      - { name: c, type: vhost-user }\n",
		  "t.yaml:6:9: port 'c': a vhost-user port needs 'path'");
	check_err(BR0 "      - { name: c, type: tap }\n",
		  "t.yaml:6:9: port 'c': a tap port needs 'iface'");
	check_err(BR0 "      - { name: c, type: af_packet }\n",
		  "t.yaml:6:9: port 'c': a af_packet port needs 'iface'");
	check_err(BR0 "      - { name: c, type: af_xdp }\n",
		  "t.yaml:6:9: port 'c': a af_xdp port needs 'iface'");
	check_err(BR0 "      - { name: c, type: pcap }\n",
		  "t.yaml:6:9: port 'c': a pcap port needs 'rx-pcap', 'tx-pcap' or both");
	check_err(BR0 "      - { name: c, type: dpdk }\n",
		  "t.yaml:6:9: port 'c': a dpdk port needs 'pci'");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, path: /x }\n",
		  "t.yaml:6:42: 'path' does not apply to a tap port");
	check_err(BR0 "      - { name: c, type: vhost-user, path: /x, pci: \"00:01.0\" }\n",
		  "t.yaml:6:48: 'pci' does not apply to a vhost-user port");
	check_err("bridges:\n  - { ports: [] }\n", "t.yaml:2:5: bridge: missing 'name'");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, policer: { cir: 1mbit } }\n",
		  "t.yaml:6:51: policer: missing 'type' (srtcm or trtcm)");
	check_err(
		BR0
		"      - { name: c, type: tap, iface: t2, policer: { type: srtcm, cir: 1mbit } }\n",
		"t.yaml:6:51: policer: srtcm needs 'cbs'");
	check_err(BR0
		  "      - { name: c, type: tap, iface: t2, policer: { type: trtcm, cir: 1mbit,\n"
		  "          cbs: 1kB, ebs: 1kB } }\n",
		  "t.yaml:7:21: policer: 'ebs' does not apply to trtcm");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, policer: { type: tbf } }\n",
		  "t.yaml:6:59: 'type': unknown policer type 'tbf' (srtcm or trtcm)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, shaper: { burst: 2kB } }\n",
		  "t.yaml:6:50: shaper: missing 'rate'");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { mode: access } }\n",
		  "t.yaml:6:48: vlan: access mode needs 'tag'");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { mode: hybrid } }\n",
		  "t.yaml:6:56: 'mode': unknown VLAN mode 'hybrid' (access or trunk)");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { mode: access, tag: 5, "
		      "native: 1 } }\n",
		  "t.yaml:6:72: vlan: 'native' applies to trunk mode only");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { tag: 5 } }\n",
		  "t.yaml:6:50: vlan: 'tag' applies to access mode only");
	check_err(BR0 "    static:\n      - { port: a }\n",
		  "t.yaml:7:9: static entry: missing 'mac'");
	check_err(BR0 "    static:\n      - { mac: \"02:00:00:00:00:01\" }\n",
		  "t.yaml:7:9: static entry: missing 'port'");
	check_err(BR0 "mirrors:\n  - { port: a, to-port: b }\n",
		  "t.yaml:7:5: mirror: missing 'name'");
	check_err(BR0 "mirrors:\n  - { name: m, to-port: b }\n",
		  "t.yaml:7:5: mirror 'm': missing 'port'");
}

static void test_err_vlan(void **state)
{
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { mode: access, tag: 0 } }\n",
		  "t.yaml:6:69: tag must be 1..4094 (got '0')");
	check_err(BR0
		  "      - { name: c, type: tap, iface: t2, vlan: { mode: access, tag: 4095 } }\n",
		  "t.yaml:6:69: tag must be 1..4094 (got '4095')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { trunks: \"10,4096\" } }\n",
		  "t.yaml:6:58: 'trunks': '4096': VLAN out of range 0..4095");
	check_err(BR0
		  "      - { name: c, type: tap, iface: t2, vlan: { trunks: \"10,200-100\" } }\n",
		  "t.yaml:6:58: 'trunks': '200-100': reversed range");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { trunks: [10, \"x\"] } }\n",
		  "t.yaml:6:63: 'trunks': 'x' is not a VLAN or a range A-B");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { trunks: [] } }\n",
		  "t.yaml:6:58: 'trunks': empty list");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { native: 4095 } }\n",
		  "t.yaml:6:58: native must be 0..4094 (got '4095')");
	check_err(BR0 "      - { name: c, type: tap, iface: t2, vlan: { native-tagged: 1 } }\n",
		  "t.yaml:6:65: 'native-tagged': expected true or false, got '1'");
	check_err(
		BR0 "      - name: c\n"
		    "        type: tap\n"
		    "        iface: t2\n"
		    "        vlan: { mode: access, tag: 10 }\n"
		    "        vlan-policers:\n"
		    "          - { vlan: 10, type: srtcm, cir: 1mbit, cbs: 2kB, ebs: 2kB }\n",
		"t.yaml:10:9: 'vlan-policers' applies to trunk ports only ('c' is an access port)");
	check_err(BR0 "      - name: c\n"
		      "        type: tap\n"
		      "        iface: t2\n"
		      "        vlan: { trunks: \"10-20\" }\n"
		      "        vlan-policers:\n"
		      "          - { vlan: 30, type: srtcm, cir: 1mbit, cbs: 2kB, ebs: 2kB }\n",
		  "t.yaml:11:21: 'vlan': VLAN 30 is not allowed on port 'c'");
	check_err(BR0 "      - name: c\n"
		      "        type: tap\n"
		      "        iface: t2\n"
		      "        vlan-policers:\n"
		      "          - { vlan: 30, type: srtcm, cir: 1mbit, cbs: 2kB, ebs: 2kB }\n"
		      "          - { vlan: 30, type: srtcm, cir: 2mbit, cbs: 2kB, ebs: 2kB }\n",
		  "t.yaml:11:21: 'vlan': VLAN 30 already has a policer on port 'c'");
	check_err(BR0 "      - name: c\n"
		      "        type: tap\n"
		      "        iface: t2\n"
		      "        vlan-policers:\n"
		      "          - { type: srtcm, cir: 1mbit, cbs: 2kB, ebs: 2kB }\n",
		  "t.yaml:10:13: vlan policer: missing 'vlan'");
	check_err(BR0
		  "      - name: c\n"
		  "        type: tap\n"
		  "        iface: t2\n"
		  "        policer: { type: trtcm, cir: 10mbit, cbs: 2kB, pir: 5mbit, pbs: 2kB }\n",
		  "t.yaml:9:61: 'pir' (625000 bytes/s) must be at least 'cir' (1250000 bytes/s)");
	check_err(BR0 "      - name: c\n"
		      "        type: tap\n"
		      "        iface: t2\n"
		      "        vlan-policers:\n"
		      "          - { vlan: 5, type: trtcm, cir: 10mbit, cbs: 2kB, pir: 5mbit, pbs: "
		      "2kB }\n",
		  "t.yaml:10:65: 'pir' (625000 bytes/s) must be at least 'cir' (1250000 bytes/s)");
}

static void test_err_references(void **state)
{
	check_err(BR0 "    static:\n      - { mac: \"02:00:00:00:00:01\", port: z }\n",
		  "t.yaml:7:43: 'port': no port named 'z'");
	check_err(BR0 "    static:\n      - { mac: \"02:00:00:00:00:0g\", port: a }\n",
		  "t.yaml:7:16: 'mac': '02:00:00:00:00:0g' is not a MAC address (like "
		  "02:00:00:00:00:01)");
	check_err(BR0 "    static:\n"
		      "      - { mac: \"02:00:00:00:00:01\", vlan: 3, port: a }\n"
		      "      - { mac: \"02:00:00:00:00:01\", vlan: 3, port: b }\n",
		  "t.yaml:8:16: duplicate static entry for 02:00:00:00:00:01 in VLAN 3 (first at "
		  "line 7)");
	check_err(
		BR0 "    static:\n      - { mac: \"03:00:00:00:00:01\", port: a }\n",
		"t.yaml:7:16: 'mac': 03:00:00:00:00:01 is a group address: a static entry needs a "
		"unicast address");
	check_err(BR0 "    static:\n      - { mac: \"02:00:00:00:00:01\", vlan: 4095, port: a }\n",
		  "t.yaml:7:43: vlan must be 0..4094 (got '4095')");
	check_err(BR0 "    static:\n      - { mac: \"02:00:00:00:00:01\", port: x }\n"
		      "  - name: br1\n"
		      "    ports: [{ name: x, type: tap, iface: t9 }]\n",
		  "t.yaml:7:43: 'port': port 'x' is on bridge 'br1', not on 'br0'");
	check_err(BR0 "mirrors:\n  - { name: m, port: z, to-port: a }\n",
		  "t.yaml:7:22: 'port': no port named 'z'");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, to-port: z }\n",
		  "t.yaml:7:34: 'to-port': no port named 'z'");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, to-port: a }\n",
		  "t.yaml:7:34: 'to-port': 'a' is the mirrored port itself");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, to-port: b, to-pcap: m.pcap }\n",
		  "t.yaml:7:37: mirror 'm': give either 'to-port' or 'to-pcap', not both");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, to-pcap: m.pcap, to-port: b }\n",
		  "t.yaml:7:42: mirror 'm': give either 'to-port' or 'to-pcap', not both");
	check_err(BR0 "mirrors:\n  - { name: m, port: a }\n",
		  "t.yaml:7:5: mirror 'm': needs 'to-port' or 'to-pcap'");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, direction: in, to-port: b }\n",
		  "t.yaml:7:36: 'direction': unknown direction 'in' (rx, tx or both)");
	check_err(BR0 "mirrors:\n  - { name: m, port: a, to-port: b, snaplen: 100 }\n",
		  "t.yaml:7:37: 'snaplen' applies to 'to-pcap' only");
	/* a port defined after the mirror in the file is still found */
	check_ok("mirrors:\n  - { name: m, port: a, to-port: b }\n" BR0);
	/* sockets, interfaces and devices are not shared */
	check_err(BR0 "      - { name: c, type: tap, iface: t0 }\n",
		  "t.yaml:6:9: port 'c': interface 't0' is already used by port 'a'");
}

/* Each SW_MAX_* limit: the last one fits, the next is refused at its node. */
static void test_err_limits(void **state)
{
	struct sbuf b = { 0 };
	char want[256];

	/* bridges: line 1 "bridges:", bridge i on line 2 + i */
	sb_add(&b, "bridges:\n");
	for (int i = 0; i < SW_MAX_BRIDGES; i++)
		sb_add(&b, "  - { name: br%d, ports: [{ name: p%d, type: tap, iface: t%d }] }\n", i,
		       i, i);
	check_ok(b.p);
	assert_int_equal(cfg->n_bridges, SW_MAX_BRIDGES);
	sb_add(&b, "  - { name: brx }\n");
	check_err(b.p, "t.yaml:10:5: too many bridges (at most 8)");

	b.len = 0;
	sb_add(&b, "bridges:\n  - name: br0\n    ports:\n");
	for (int i = 0; i < SW_MAX_PORTS; i++)
		sb_add(&b, "      - { name: p%d, type: tap, iface: t%d }\n", i, i);
	check_ok(b.p);
	assert_int_equal(cfg->n_ports, SW_MAX_PORTS);
	/* the static entries are used below */
	sb_add(&b, "    static:\n");
	for (int i = 0; i < SW_MAX_STATIC; i++)
		sb_add(&b, "      - { mac: \"02:00:00:00:%02x:%02x\", port: p1 }\n", i >> 8,
		       i & 255);
	check_ok(b.p);
	assert_int_equal(cfg->bridges[0].n_statics, SW_MAX_STATIC);
	sb_add(&b, "      - { mac: \"02:00:00:00:ff:ff\", port: p1 }\n");
	snprintf(want, sizeof(want),
		 "t.yaml:%d:9: too many static entries (at most 256 per bridge)",
		 3 + SW_MAX_PORTS + 1 + SW_MAX_STATIC + 1);
	check_err(b.p, want);

	b.len = 0;
	sb_add(&b, "bridges:\n  - name: br0\n    ports:\n");
	for (int i = 0; i <= SW_MAX_PORTS; i++)
		sb_add(&b, "      - { name: p%d, type: tap, iface: t%d }\n", i, i);
	check_err(b.p, "t.yaml:68:9: too many ports (at most 64 over all bridges)");

	b.len = 0;
	sb_add(&b, BR0 "mirrors:\n");
	for (int i = 0; i < SW_MAX_MIRRORS; i++)
		sb_add(&b, "  - { name: m%d, port: a, to-pcap: m%d.pcap }\n", i, i);
	check_ok(b.p);
	assert_int_equal(cfg->n_mirrors, SW_MAX_MIRRORS);
	sb_add(&b, "  - { name: mx, port: a, to-pcap: mx.pcap }\n");
	check_err(b.p, "t.yaml:23:5: too many mirrors (at most 16)");

	b.len = 0;
	sb_add(&b, BR0 "      - name: c\n        type: tap\n        iface: t2\n"
		       "        vlan-policers:\n");
	for (int i = 1; i <= SW_MAX_VLAN_POLICERS; i++)
		sb_add(&b,
		       "          - { vlan: %d, type: srtcm, cir: 1mbit, cbs: 2kB, ebs: 2kB }\n",
		       i);
	check_ok(b.p);
	assert_int_equal(cfg->ports[2].n_vlan_policers, SW_MAX_VLAN_POLICERS);
	sb_add(&b, "          - { vlan: 99, type: srtcm, cir: 1mbit, cbs: 2kB, ebs: 2kB }\n");
	check_err(b.p, "t.yaml:26:13: too many vlan-policers (at most 16 per port)");
	free(b.p);
}

/* ------------------------------------------------------------------------ */
/* Hostile input */

static void test_hostile(void **state)
{
	struct sbuf b = { 0 };
	static const char garbage[] = "\x7f"
				      "ELF\x02\x01\x01\xff\xfe\x01\x80\x90\n";

	/* aliases are refused, whatever they point to */
	check_err("bridges:\n"
		  "  - name: br0\n"
		  "    ports:\n"
		  "      - &p { name: a, type: tap, iface: t0 }\n"
		  "      - *p\n",
		  "t.yaml:5:9: YAML aliases (*p) are not supported: write the value out");
	check_err("x: &a [1]\n"
		  "y: &b [*a, *a]\n",
		  "t.yaml:2:8: YAML aliases (*a) are not supported: write the value out");
	check_err(BR0 "      - { <<: *base, name: c }\n",
		  "t.yaml:6:15: YAML aliases (*base) are not supported: write the value out");
	/* one document only */
	check_err(BR0 "---\n" BR0, "t.yaml:6:1: a second YAML document: the file must hold one");
	/* deep nesting: stopped early, at the 17th level */
	for (int i = 0; i < 100000; i++)
		sb_add(&b, "[");
	check_err(b.p, "t.yaml:1:17: nesting deeper than 16 levels");
	b.len = 0;
	for (int i = 0; i < 1000; i++)
		sb_add(&b, "%*sa:\n", i, "");
	check_err(b.p, "t.yaml:17:17: nesting deeper than 16 levels");
	/* too large */
	b.len = 0;
	sb_add(&b, BR0);
	while (b.len <= 1024 * 1024)
		sb_add(&b, "# padding padding padding padding padding padding padding padding\n");
	check_err(b.p, "t.yaml: too large (more than 1048576 bytes)");
	/* binary garbage */
	check_err(garbage,
		  "t.yaml:1:1: control characters are not allowed (not a UTF-8 text file?)");
	check_err("bridges: \xff\xfe\n",
		  "t.yaml:1:10: invalid leading UTF-8 octet (not a UTF-8 text file?)");
	check_err("bridges:\n  - name: \xc3\n",
		  "t.yaml:2:12: invalid trailing UTF-8 octet (not a UTF-8 text file?)");
	/* a long scalar where a name goes */
	b.len = 0;
	sb_add(&b, BR0 "      - { name: ");
	for (int i = 0; i < 100000; i++)
		sb_add(&b, "x");
	sb_add(&b, ", type: tap, iface: t2 }\n");
	assert_int_equal(load(b.p), -EINVAL);
	assert_non_null(strstr(err, "is longer than 31 characters"));
	free(b.p);
}

/* Every prefix of the complete file, and the file with each byte changed:
 * loads or fails cleanly, never crashes, always a message on failure. */
static void test_mutations(void **state)
{
	size_t len = strlen(full_yaml);
	char *buf = malloc(len + 1);
	static const char subst[] = { '\0', ':',  '-',	'{', '[', '&', '*',
				      '"',  '\t', '\n', '#', '9', 'x', '\x80' };
	unsigned ok = 0, bad = 0;

	assert_non_null(buf);
	for (size_t cut = 0; cut <= len; cut++) {
		memcpy(buf, full_yaml, cut);
		buf[cut] = '\0';
		if (load(buf) == 0) {
			ok++;
		} else {
			bad++;
			assert_true(strncmp(err, "t.yaml:", 7) == 0);
		}
	}
	for (size_t i = 0; i < len; i += 3) {
		for (size_t k = 0; k < sizeof(subst); k++) {
			memcpy(buf, full_yaml, len + 1);
			buf[i] = subst[k];
			if (load(buf) == 0) {
				ok++;
			} else {
				bad++;
				assert_true(strncmp(err, "t.yaml", 6) == 0);
			}
		}
	}
	assert_true(ok > 0);
	assert_true(bad > 0);
	free(buf);
}

/* ------------------------------------------------------------------------ */
/* Files */

static void test_load_file(void **state)
{
	char dir[] = "/tmp/test_sw_config.XXXXXX", path[128], want[256];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	assert_int_equal(sw_config_load_file(path, cfg, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	assert_int_equal(sw_config_load_file(dir, cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/sw.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full_yaml, f);
	fclose(f);
	assert_int_equal(sw_config_load_file(path, cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->source, path);
	assert_int_equal(cfg->n_ports, 8);

	/* a NUL byte inside the file */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(BR0, f);
	fputc('\0', f);
	fputs("mirrors: []\n", f);
	fclose(f);
	assert_int_equal(sw_config_load_file(path, cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:6:1: control characters are not allowed (not a UTF-8 text file?)", path);
	assert_string_equal(err, want);

	/* an error names the path */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(BR0 "      - { name: c, type: tap, iface: t2, mtu: 9001 }\n", f);
	fclose(f);
	assert_int_equal(sw_config_load_file(path, cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:6:47: mtu must be 68..9000 (got '9001')", path);
	assert_string_equal(err, want);

	/* too large */
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 20000; i++)
		fputs("# padding padding padding padding padding padding padding padding\n", f);
	fclose(f);
	assert_int_equal(sw_config_load_file(path, cfg, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: too large (more than 1048576 bytes)", path);
	assert_string_equal(err, want);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ------------------------------------------------------------------------ */
/* --port */

static int cli(const char *spec)
{
	memset(err, 0, sizeof(err));
	return sw_config_add_cli_port(cfg, spec, err, sizeof(err));
}

static void cli_err(const char *spec, const char *msg)
{
	unsigned n = cfg->n_ports;
	int ret = cli(spec);

	if (ret != -EINVAL || strcmp(err, msg))
		print_message("got %d: '%s'\nwant     '%s'\n", ret, err, msg);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(cfg->n_ports, n);
}

static void test_cli_valid(void **state)
{
	const struct sw_port_cfg *p;

	sw_config_init(cfg);
	assert_int_equal(cli("vhost-user:/tmp/vm0.sock"), 0);
	assert_int_equal(cfg->n_bridges, 1);
	assert_string_equal(cfg->bridges[0].name, "br0");
	assert_int_equal(cfg->bridges[0].aging_s, 300);
	assert_int_equal(cfg->bridges[0].fdb_size, 8192);
	p = &cfg->ports[0];
	assert_string_equal(p->name, "p0");
	assert_int_equal(p->type, SW_PORT_VHOST_USER);
	assert_string_equal(p->path, "/tmp/vm0.sock");
	assert_false(p->server);
	assert_int_equal(p->queues, 1);
	assert_int_equal(p->mtu, 1500);
	assert_int_equal(p->vlan.mode, SW_VLAN_TRUNK);
	assert_int_equal(p->line, 0);

	assert_int_equal(cli("vhost-user:/tmp/vm1.sock,server,queues=4,mtu=9000,name=vm1,vlan=10"),
			 0);
	p = &cfg->ports[1];
	assert_string_equal(p->name, "vm1");
	assert_true(p->server);
	assert_int_equal(p->queues, 4);
	assert_int_equal(p->mtu, 9000);
	assert_int_equal(p->vlan.mode, SW_VLAN_ACCESS);
	assert_int_equal(p->vlan.tag, 10);

	assert_int_equal(cli("tap:nfvtap0,trunk=10,20,100-200,native=5"), 0);
	p = &cfg->ports[2];
	assert_string_equal(p->name, "p2");
	assert_int_equal(p->type, SW_PORT_TAP);
	assert_string_equal(p->iface, "nfvtap0");
	assert_int_equal(p->vlan.mode, SW_VLAN_TRUNK);
	assert_int_equal(p->vlan.native, 5);
	assert_true(sw_vlan_allowed(&p->vlan, 20));
	assert_true(sw_vlan_allowed(&p->vlan, 150));
	assert_false(sw_vlan_allowed(&p->vlan, 21));

	assert_int_equal(cli("af_packet:veth1,trunk=7,native=none"), 0);
	assert_int_equal(cfg->ports[3].type, SW_PORT_AF_PACKET);
	assert_int_equal(cfg->ports[3].vlan.native, SW_VLAN_NONE);
	assert_int_equal(cli("af_xdp:veth2,queues=2"), 0);
	assert_int_equal(cfg->ports[4].type, SW_PORT_AF_XDP);
	assert_int_equal(cli("pcap:in=a.pcap,out=b.pcap"), 0);
	assert_string_equal(cfg->ports[5].rx_pcap, "a.pcap");
	assert_string_equal(cfg->ports[5].tx_pcap, "b.pcap");
	assert_int_equal(cli("pcap:out=c.pcap,name=cap"), 0);
	assert_string_equal(cfg->ports[6].rx_pcap, "");
	assert_string_equal(cfg->ports[6].name, "cap");
	assert_int_equal(cli("dpdk:0000:03:00.0"), 0);
	assert_string_equal(cfg->ports[7].pci, "0000:03:00.0");
	assert_string_equal(cfg->ports[7].name, "p7");
	assert_int_equal(cli("dpdk:03:00.1,mtu=1280"), 0);
	assert_int_equal(cfg->n_ports, 9);
	assert_int_equal(sw_config_validate(cfg, err, sizeof(err)), 0);

	/* after a file: appended to its first bridge, default names skip taken ones */
	check_ok("bridges:\n  - name: lan\n    ports:\n      - { name: p1, type: tap, iface: t0 "
		 "}\n");
	assert_int_equal(cli("tap:t1"), 0);
	assert_int_equal(cfg->n_bridges, 1);
	assert_string_equal(cfg->ports[1].name, "p2");
	assert_int_equal(cfg->ports[1].bridge, 0);
	assert_int_equal(sw_config_validate(cfg, err, sizeof(err)), 0);
}

static void test_cli_invalid(void **state)
{
	sw_config_init(cfg);
	cli_err("tap:x,vlan=5000", "--port 'tap:x,vlan=5000': vlan must be 1..4094");
	cli_err("tap:x,vlan=0", "--port 'tap:x,vlan=0': vlan must be 1..4094");
	cli_err("tap:x,queues=17", "--port 'tap:x,queues=17': queues must be 1..16");
	cli_err("tap:x,mtu=1.5", "--port 'tap:x,mtu=1.5': mtu must be 68..9000");
	cli_err("tap:x,mtu=0x500", "--port 'tap:x,mtu=0x500': mtu must be 68..9000");
	cli_err("tap:x,native=4095,trunk=1",
		"--port 'tap:x,native=4095,trunk=1': native must be 0..4094");
	cli_err("veth:x", "--port 'veth:x': unknown port type 'veth' "
			  "(vhost-user, tap, af_packet, af_xdp, pcap, dpdk)");
	cli_err("tap", "--port 'tap': expected TYPE:ARGS with TYPE one of "
		       "vhost-user, tap, af_packet, af_xdp, pcap, dpdk");
	cli_err("tap:", "--port 'tap:': missing the interface name after 'tap:'");
	cli_err("vhost-user:", "--port 'vhost-user:': missing the socket path after 'vhost-user:'");
	cli_err("dpdk:,mtu=9000", "--port 'dpdk:,mtu=9000': missing the PCI address after 'dpdk:'");
	cli_err("dpdk:xyz",
		"--port 'dpdk:xyz': 'xyz' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)");
	cli_err("tap:x,,mtu=9000", "--port 'tap:x,,mtu=9000': empty option (two commas in a row?)");
	cli_err("tap:x,server", "--port 'tap:x,server': server applies to vhost-user only");
	cli_err("tap:x,speed=10",
		"--port 'tap:x,speed=10': unknown option 'speed=...' "
		"(allowed: server, queues=N, mtu=N, name=NAME, vlan=N, trunk=LIST, native=N)");
	cli_err("tap:x,in=a.pcap",
		"--port 'tap:x,in=a.pcap': unknown option 'in=...' "
		"(allowed: server, queues=N, mtu=N, name=NAME, vlan=N, trunk=LIST, native=N)");
	cli_err("pcap:", "--port 'pcap:': a pcap port needs rx-pcap, tx-pcap or both");
	cli_err("pcap:in=", "--port 'pcap:in=': in= needs a file name");
	cli_err("tap:x,vlan=5,trunk=1",
		"--port 'tap:x,vlan=5,trunk=1': vlan= (access) cannot go with trunk= or native=");
	cli_err("tap:x,native=5", "--port 'tap:x,native=5': native= needs trunk=");
	cli_err("tap:x,trunk=10,4096",
		"--port 'tap:x,trunk=10,4096': trunk: '4096': VLAN out of range 0..4095");
	cli_err("tap:x,trunk=20-10", "--port 'tap:x,trunk=20-10': trunk: '20-10': reversed range");
	cli_err("tap:x,name=a b", "--port 'tap:x,name=a b': name 'a b' may only use the characters "
				  "A-Z a-z 0-9 _ . -");
	cli_err("tap:abcdefghijklmnop", "--port 'tap:abcdefghijklmnop': interface name "
					"'abcdefghijklmnop' is longer than 15 characters");
	assert_int_equal(cfg->n_bridges, 0); /* nothing was created */
	assert_int_equal(cli("tap:x,name=dup"), 0);
	cli_err("tap:y,name=dup", "--port 'tap:y,name=dup': a port named 'dup' already exists");
	for (int i = 1; i < SW_MAX_PORTS; i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "tap:t%d", i);
		assert_int_equal(cli(spec), 0);
	}
	cli_err("tap:last", "--port 'tap:last': too many ports (at most 64)");
}

/* ------------------------------------------------------------------------ */
/* Value parsers */

static void test_parse_rate(void **state)
{
	uint64_t v;

	assert_int_equal(sw_parse_rate("1000", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(sw_parse_rate("8bit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sw_parse_rate("12bit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1); /* rounded down to whole bytes */
	assert_int_equal(sw_parse_rate("64kbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 8000);
	assert_int_equal(sw_parse_rate("64Kbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 8000);
	assert_int_equal(sw_parse_rate("10mbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1250000);
	assert_int_equal(sw_parse_rate("10Mbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1250000);
	assert_int_equal(sw_parse_rate("1.5mbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 187500);
	assert_int_equal(sw_parse_rate("2.5gbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 312500000);
	assert_int_equal(sw_parse_rate("100Gbit", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 12500000000ull);
	assert_int_equal(sw_parse_rate("5B", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5);
	assert_int_equal(sw_parse_rate("5kB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(sw_parse_rate("0.25MB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 250000);
	assert_int_equal(sw_parse_rate("3GB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3000000000ull);
	assert_int_equal(sw_parse_rate("0", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sw_parse_rate("18446744073709551615", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_MAX);

	assert_int_equal(sw_parse_rate("", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty value");
	assert_int_equal(sw_parse_rate("-1mbit", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'-1mbit' does not start with a number");
	assert_int_equal(sw_parse_rate("mbit", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_rate("10 mbit", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err, "'10 mbit': unknown unit ' mbit' (use bit, kbit, mbit, gbit, B, kB, MB, GB)");
	assert_int_equal(sw_parse_rate("10MBit", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_rate("10kb", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_rate("10KiB", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_rate("1.5", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1.5' is not a whole number of bytes");
	assert_int_equal(sw_parse_rate("1.5bit", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1.5bit' is not a whole number of bits");
	assert_int_equal(sw_parse_rate("1.mbit", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1.mbit': expected digits after '.'");
	assert_int_equal(sw_parse_rate("1.0000000001gbit", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1.0000000001gbit': too many decimals");
	assert_int_equal(sw_parse_rate("18446744073709551616", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'18446744073709551616' is too large");
	assert_int_equal(sw_parse_rate("18446744073709551615kB", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'18446744073709551615kB' is too large");
	assert_int_equal(sw_parse_rate("0x10", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_rate("1e6bit", &v, err, sizeof(err)), -EINVAL);
}

static void test_parse_size(void **state)
{
	uint64_t v;

	assert_int_equal(sw_parse_size("1500", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(sw_parse_size("64B", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 64);
	assert_int_equal(sw_parse_size("64kB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 64000);
	assert_int_equal(sw_parse_size("64KiB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(sw_parse_size("2MB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2000000);
	assert_int_equal(sw_parse_size("2MiB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2097152);
	assert_int_equal(sw_parse_size("1.5kB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(sw_parse_size("0.5KiB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 512);

	assert_int_equal(sw_parse_size("", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_size("1kbit", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1kbit': unknown unit 'kbit' (use B, kB, KiB, MB, MiB)");
	assert_int_equal(sw_parse_size("1GB", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_size("1kb", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_size("1.1B", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_size("0.0001kB", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'0.0001kB' is not a whole number of bytes");
	assert_int_equal(sw_parse_size("-1", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_size("99999999999999999999MiB", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_parse_size("18014398509481984MiB", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'18014398509481984MiB' is too large");
	/* err may be NULL */
	assert_int_equal(sw_parse_size("x", &v, NULL, 0), -EINVAL);
}

static void test_parse_vlan_list(void **state)
{
	uint64_t a[64];

	memset(a, 0xff, sizeof(a));
	assert_int_equal(sw_vlan_parse_list("10", a, err, sizeof(err)), 0);
	for (unsigned v = 0; v < 4096; v++)
		assert_int_equal((a[v >> 6] >> (v & 63)) & 1, v == 10);
	assert_int_equal(sw_vlan_parse_list("0,1,100-102, 4095", a, err, sizeof(err)), 0);
	for (unsigned v = 0; v < 4096; v++)
		assert_int_equal((a[v >> 6] >> (v & 63)) & 1,
				 v == 0 || v == 1 || (v >= 100 && v <= 102) || v == 4095);
	assert_int_equal(sw_vlan_parse_list("0-4095", a, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 64; i++)
		assert_true(a[i] == UINT64_MAX);
	assert_int_equal(sw_vlan_parse_list("5-5", a, err, sizeof(err)), 0);
	assert_int_equal(a[0], 1ull << 5);

	memset(a, 0x55, sizeof(a));
	assert_int_equal(sw_vlan_parse_list("", a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty VLAN list");
	assert_int_equal(sw_vlan_parse_list("4096", a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'4096': VLAN out of range 0..4095");
	assert_int_equal(sw_vlan_parse_list("1-4096", a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1-4096': VLAN out of range 0..4095");
	assert_int_equal(sw_vlan_parse_list("10-5", a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'10-5': reversed range");
	assert_int_equal(sw_vlan_parse_list("1,,2", a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty element in the list");
	assert_int_equal(sw_vlan_parse_list("1,", a, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_vlan_parse_list("-1", a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'-1' is not a VLAN or a range A-B");
	assert_int_equal(sw_vlan_parse_list("1-2-3", a, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_vlan_parse_list("0x10", a, err, sizeof(err)), -EINVAL);
	assert_int_equal(sw_vlan_parse_list("99999999999999999999", a, err, sizeof(err)), -EINVAL);
	/* untouched on error */
	assert_true(a[0] == 0x5555555555555555ull);
}

static void test_parse_cores_mac(void **state)
{
	uint8_t mac[6];
	const uint8_t want[6] = { 0x02, 0xab, 0xcd, 0xef, 0x00, 0x09 };

	sw_config_init(cfg);
	assert_int_equal(sw_config_parse_cores(cfg, "0", err, sizeof(err)), 0);
	assert_int_equal(cfg->n_pmd_cores, 1);
	assert_int_equal(sw_config_parse_cores(cfg, "4,1-2,8", err, sizeof(err)), 0);
	assert_int_equal(cfg->n_pmd_cores, 4);
	assert_int_equal(cfg->pmd_cores[0], 4);
	assert_int_equal(cfg->pmd_cores[1], 1);
	assert_int_equal(cfg->pmd_cores[2], 2);
	assert_int_equal(cfg->pmd_cores[3], 8);
	assert_int_equal(sw_config_parse_cores(cfg, "0-15", err, sizeof(err)), 0);
	assert_int_equal(cfg->n_pmd_cores, 16);
	assert_int_equal(sw_config_parse_cores(cfg, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty core list");
	assert_int_equal(sw_config_parse_cores(cfg, "1024", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1024': core out of range 0..1023");
	assert_int_equal(sw_config_parse_cores(cfg, "a", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'a' is not a core or a range A-B");
	assert_int_equal(cfg->n_pmd_cores, 16); /* untouched on error */

	assert_int_equal(parse_mac("02:aB:cd:EF:00:09", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(parse_mac("02:ab:cd:ef:00", mac), -EINVAL);
	assert_int_equal(parse_mac("02:ab:cd:ef:00:0", mac), -EINVAL);
	assert_int_equal(parse_mac("02-ab-cd-ef-00-09", mac), -EINVAL);
	assert_int_equal(parse_mac("02:ab:cd:ef:00:0x", mac), -EINVAL);
	assert_int_equal(parse_mac("02:ab:cd:ef:00:09:", mac), -EINVAL);
	assert_int_equal(parse_mac("", mac), -EINVAL);
}

static void test_vlan_default_and_check(void **state)
{
	struct sw_vlan_cfg v;

	memset(&v, 0xaa, sizeof(v));
	sw_vlan_cfg_default(&v);
	assert_int_equal(v.mode, SW_VLAN_TRUNK);
	assert_int_equal(v.native, 0);
	assert_false(v.native_tagged);
	assert_int_equal(v.tag, 0);
	for (unsigned vid = 0; vid <= 4094; vid++)
		assert_true(sw_vlan_allowed(&v, (uint16_t)vid));
	assert_false(sw_vlan_allowed(&v, 4095));
	assert_false(sw_vlan_allowed(&v, 4096));
	assert_int_equal(sw_vlan_cfg_check(&v, err, sizeof(err)), 0);

	v.native = SW_VLAN_NONE;
	assert_int_equal(sw_vlan_cfg_check(&v, err, sizeof(err)), 0);
	v.native = 4095;
	assert_int_equal(sw_vlan_cfg_check(&v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "native VLAN must be 0..4094 or none (got 4095)");
	v.mode = SW_VLAN_ACCESS;
	v.tag = 0;
	assert_int_equal(sw_vlan_cfg_check(&v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "access tag must be 1..4094 (got 0)");
	v.tag = 4094;
	assert_int_equal(sw_vlan_cfg_check(&v, err, sizeof(err)), 0);
}

static void test_shaper_map_and_checks(void **state)
{
	struct sw_shaper_cfg s;
	struct sw_meter_cfg m;
	static const uint8_t map2[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
	static const uint8_t map3[8] = { 2, 2, 1, 1, 1, 0, 0, 0 };
	static const uint8_t map8[8] = { 7, 6, 5, 4, 3, 2, 1, 0 };
	static const uint8_t map1[8] = { 0 };

	memset(&s, 0, sizeof(s));
	sw_shaper_default_map(&s, 1);
	assert_int_equal(s.classes, 1);
	assert_memory_equal(s.pcp_class, map1, 8);
	sw_shaper_default_map(&s, 2);
	assert_int_equal(s.classes, 2);
	assert_memory_equal(s.pcp_class, map2, 8);
	sw_shaper_default_map(&s, 3);
	assert_memory_equal(s.pcp_class, map3, 8);
	sw_shaper_default_map(&s, 8);
	assert_memory_equal(s.pcp_class, map8, 8);
	for (unsigned n = 1; n <= 8; n++) {
		sw_shaper_default_map(&s, (uint8_t)n);
		for (unsigned p = 0; p < 8; p++) {
			assert_true(s.pcp_class[p] < n);
			assert_int_equal(s.pcp_class[p], (7 - p) * n / 8);
			if (p)
				assert_true(s.pcp_class[p] <= s.pcp_class[p - 1]);
		}
	}
	/* out of range n is clamped */
	sw_shaper_default_map(&s, 0);
	assert_int_equal(s.classes, 1);
	sw_shaper_default_map(&s, 200);
	assert_int_equal(s.classes, 8);
	assert_memory_equal(s.pcp_class, map8, 8);

	s.rate = 1000000;
	s.burst = 3000;
	s.queue_len = 256;
	assert_int_equal(sw_shaper_cfg_check(&s, err, sizeof(err)), 0);
	s.queue_len = 65537;
	assert_int_equal(sw_shaper_cfg_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "shaper queue-len must be 16..65536 (got 65537)");
	s.queue_len = 256;
	s.burst = 0;
	assert_int_equal(sw_shaper_cfg_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "shaper burst must be more than 0");
	s.burst = 3000;
	s.classes = 2;
	assert_int_equal(sw_shaper_cfg_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pcp-map: PCP 0 goes to class 7, but there are 2 classes");
	s.classes = 0;
	assert_int_equal(sw_shaper_cfg_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "shaper classes must be 1..8 (got 0)");

	memset(&m, 0, sizeof(m));
	assert_int_equal(sw_meter_cfg_check(&m, err, sizeof(err)), 0);
	m.type = SW_METER_SRTCM;
	m.cir = 1000;
	m.cbs = 1500;
	assert_int_equal(sw_meter_cfg_check(&m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "srtcm: cbs and ebs must be more than 0");
	m.ebs = 1500;
	assert_int_equal(sw_meter_cfg_check(&m, err, sizeof(err)), 0);
	m.type = SW_METER_TRTCM;
	m.pbs = 1500;
	m.pir = 999;
	assert_int_equal(sw_meter_cfg_check(&m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "trtcm: pir (999 B/s) must be at least cir (1000 B/s)");
	m.pir = 1000;
	assert_int_equal(sw_meter_cfg_check(&m, err, sizeof(err)), 0);
	m.cir = 0;
	assert_int_equal(sw_meter_cfg_check(&m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "trtcm: cir must be more than 0");

	assert_string_equal(sw_port_type_name(SW_PORT_AF_XDP), "af_xdp");
	assert_string_equal(sw_port_type_name(SW_PORT_VHOST_USER), "vhost-user");
	assert_string_equal(sw_port_type_name((enum sw_port_type)42), "unknown");
}

/* ------------------------------------------------------------------------ */
/* sw_config_validate on configs changed after loading */

static void validate_err(const char *msg)
{
	int ret = sw_config_validate(cfg, err, sizeof(err));

	if (ret != -EINVAL || strcmp(err, msg))
		print_message("got %d: '%s'\nwant     '%s'\n", ret, err, msg);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err, msg);
}

static void test_validate(void **state)
{
	/* static entry at line 4, ports at 6, 7 and 10, bridge br1 at 8, mirror at 12 */
	static const char yaml[] = "bridges:\n"
				   "  - name: br0\n"
				   "    static:\n"
				   "      - { mac: \"02:00:00:00:00:01\", port: a }\n"
				   "    ports:\n"
				   "      - { name: a, type: tap, iface: t0 }\n"
				   "      - { name: b, type: vhost-user, path: /b.sock }\n"
				   "  - name: br1\n"
				   "    ports:\n"
				   "      - { name: c, type: tap, iface: t2 }\n"
				   "mirrors:\n"
				   "  - { name: m, port: a, to-port: b }\n";

	check_ok(yaml);
	strcpy(cfg->ports[1].name, "a");
	validate_err("t.yaml:7:9: duplicate port name 'a'");
	check_ok(yaml);
	strcpy(cfg->mirrors[0].to_port, "a");
	validate_err("t.yaml:12:5: mirror 'm': to-port is the mirrored port itself");
	check_ok(yaml);
	strcpy(cfg->mirrors[0].to_pcap, "x.pcap");
	validate_err("t.yaml:12:5: mirror 'm': needs exactly one of to-port and to-pcap");
	check_ok(yaml);
	cfg->mirrors[0].to_port[0] = '\0';
	validate_err("t.yaml:12:5: mirror 'm': needs exactly one of to-port and to-pcap");
	check_ok(yaml);
	strcpy(cfg->mirrors[0].port, "zz");
	validate_err("t.yaml:12:5: mirror 'm': no port named 'zz'");
	check_ok(yaml);
	strcpy(cfg->bridges[0].statics[0].port, "c");
	validate_err("t.yaml:4:9: static entry: port 'c' is not on bridge 'br0'");
	check_ok(yaml);
	strcpy(cfg->bridges[0].statics[0].port, "q");
	validate_err("t.yaml:4:9: static entry: no port named 'q'");
	check_ok(yaml);
	cfg->bridges[0].statics[0].mac[0] = 0x01;
	validate_err("t.yaml:4:9: static entry: a group address is not allowed");
	check_ok(yaml);
	cfg->bridges[0].n_statics = 2;
	cfg->bridges[0].statics[1] = cfg->bridges[0].statics[0];
	validate_err("t.yaml:4:9: duplicate static entry");
	check_ok(yaml);
	strcpy(cfg->bridges[1].name, "br0");
	validate_err("t.yaml:8:5: duplicate bridge name 'br0'");
	check_ok(yaml);
	cfg->ports[0].vlan.mode = SW_VLAN_ACCESS;
	cfg->ports[0].vlan.tag = 4095;
	validate_err("t.yaml:6:9: port 'a': access tag must be 1..4094 (got 4095)");
	check_ok(yaml);
	cfg->ports[0].vlan.mode = SW_VLAN_ACCESS;
	cfg->ports[0].vlan.tag = 5;
	cfg->ports[0].n_vlan_policers = 1;
	cfg->ports[0].vlan_policers[0].vlan = 5;
	validate_err("t.yaml:6:9: port 'a': vlan-policers need a trunk port");
	check_ok(yaml);
	cfg->ports[2].shaper.rate = 1000000;
	cfg->ports[2].shaper.burst = 1000;
	validate_err("t.yaml:10:9: port 'c': shaper burst (1000 bytes) must hold a full-size frame "
		     "(1518 bytes for MTU 1500)");
	check_ok(yaml);
	cfg->ports[1].path[0] = '\0';
	validate_err("t.yaml:7:9: port 'b': a vhost-user port needs a socket path");
	check_ok(yaml);
	strcpy(cfg->ports[2].iface, "t0");
	validate_err("t.yaml:10:9: port 'c': interface 't0' is already used by port 'a'");
	check_ok(yaml);
	cfg->n_ports = 0;
	validate_err("t.yaml: no port defined");

	/* a port from the command line has no position */
	check_ok(yaml);
	assert_int_equal(cli("vhost-user:/b.sock,name=d"), 0);
	validate_err("port 'd': socket path '/b.sock' is already used by port 'b'");

	sw_config_init(cfg);
	validate_err("no port defined");
	assert_int_equal(cli("tap:x"), 0);
	cfg->ports[0].mtu = 20;
	validate_err("port 'p0': mtu must be 68..9000 (got 20)");
	cfg->ports[0].mtu = 1500;
	cfg->ports[0].bridge = 3;
	validate_err("port 'p0': no bridge 3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_structure),
		cmocka_unit_test(test_err_numbers),
		cmocka_unit_test(test_err_units),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_err_paths),
		cmocka_unit_test(test_err_required),
		cmocka_unit_test(test_err_vlan),
		cmocka_unit_test(test_err_references),
		cmocka_unit_test(test_err_limits),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_cli_valid),
		cmocka_unit_test(test_cli_invalid),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_vlan_list),
		cmocka_unit_test(test_parse_cores_mac),
		cmocka_unit_test(test_vlan_default_and_check),
		cmocka_unit_test(test_shaper_map_and_checks),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
