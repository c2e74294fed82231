/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket (vswitch/ctl.c) against a fake switch: the sw_switch_*
 * functions below record each call and its arguments and return scripted
 * results. The requests are checked for their argument parsing, the call
 * they make (and that a refused request makes none), the answers' shape,
 * and the socket plumbing on a temporary path.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/evloop.h"
#include "vswitch/ctl.h"
#include "vswitch/switch.h"

/* ---------------------------------------------------------------------------
 * The fake switch
 */

struct fake {
	/* the last change requested */
	unsigned calls; /* calls that change something */
	char call[32];
	char name[64], bridge[64], port[64];
	bool port_null;
	struct sw_port_cfg port_cfg;
	struct sw_vlan_cfg vlan;
	struct sw_meter_cfg meter;
	struct sw_shaper_cfg shaper;
	struct sw_mirror_cfg mirror;
	struct sw_static_cfg st;
	uint8_t mac[6];
	uint16_t vid;
	/* scripted result of the next change: ret < 0 fails with err_msg */
	int ret;
	const char *err_msg;
	/* what the readers return */
	struct sw_switch_info info;
	struct sw_bridge_info bridges[2];
	unsigned n_bridges;
	struct sw_port_info ports[3];
	unsigned n_ports;
	struct sw_mirror_info mirrors[2];
	unsigned n_mirrors;
	struct sw_fdb_entry_info fdb[4];
	const char *fdb_port[4];
	unsigned n_fdb;
	unsigned n_fdb_generated; /* more entries, made up on the fly */
};

static struct fake F;
static struct sw_switch *const SW = (struct sw_switch *)&F;

static const char *const drop_names[SW_DROP_MAX] = { "vlan",	  "policer", "shaper",	 "mtu",
						     "no_buffer", "runt",    "same_port" };

const char *sw_drop_name(enum sw_drop d)
{
	return (unsigned)d < SW_DROP_MAX ? drop_names[d] : "?";
}

/* Records a change and returns the scripted result. */
static int change(const char *call, char *err, size_t errlen)
{
	F.calls++;
	snprintf(F.call, sizeof(F.call), "%s", call);
	if (F.ret < 0 && F.err_msg)
		snprintf(err, errlen, "%s", F.err_msg);
	return F.ret;
}

static void set_name(char *dst, const char *src)
{
	snprintf(dst, 64, "%s", src);
}

int sw_switch_port_add(struct sw_switch *sw, const struct sw_port_cfg *p, char *err, size_t errlen)
{
	F.port_cfg = *p;
	return change("port_add", err, errlen);
}

int sw_switch_port_del(struct sw_switch *sw, const char *name, char *err, size_t errlen)
{
	set_name(F.port, name);
	return change("port_del", err, errlen);
}

int sw_switch_port_set_vlan(struct sw_switch *sw, const char *name, const struct sw_vlan_cfg *v,
			    char *err, size_t errlen)
{
	set_name(F.port, name);
	F.vlan = *v;
	return change("set_vlan", err, errlen);
}

int sw_switch_port_set_policer(struct sw_switch *sw, const char *name, const struct sw_meter_cfg *m,
			       char *err, size_t errlen)
{
	set_name(F.port, name);
	F.meter = *m;
	return change("set_policer", err, errlen);
}

int sw_switch_port_set_shaper(struct sw_switch *sw, const char *name, const struct sw_shaper_cfg *s,
			      char *err, size_t errlen)
{
	set_name(F.port, name);
	F.shaper = *s;
	return change("set_shaper", err, errlen);
}

int sw_switch_mirror_add(struct sw_switch *sw, const struct sw_mirror_cfg *m, char *err,
			 size_t errlen)
{
	F.mirror = *m;
	return change("mirror_add", err, errlen);
}

int sw_switch_mirror_del(struct sw_switch *sw, const char *name, char *err, size_t errlen)
{
	set_name(F.name, name);
	return change("mirror_del", err, errlen);
}

int sw_switch_fdb_flush(struct sw_switch *sw, const char *bridge, const char *port, char *err,
			size_t errlen)
{
	set_name(F.bridge, bridge);
	F.port_null = port == NULL;
	set_name(F.port, port ? port : "");
	return change("fdb_flush", err, errlen);
}

int sw_switch_fdb_add_static(struct sw_switch *sw, const char *bridge,
			     const struct sw_static_cfg *s, char *err, size_t errlen)
{
	set_name(F.bridge, bridge);
	F.st = *s;
	return change("fdb_add", err, errlen);
}

int sw_switch_fdb_del(struct sw_switch *sw, const char *bridge, const uint8_t mac[6], uint16_t vlan,
		      char *err, size_t errlen)
{
	set_name(F.bridge, bridge);
	memcpy(F.mac, mac, 6);
	F.vid = vlan;
	return change("fdb_del", err, errlen);
}

void sw_switch_clear_stats(struct sw_switch *sw)
{
	char err[8];

	(void)change("clear_stats", err, sizeof(err));
}

void sw_switch_get_info(struct sw_switch *sw, struct sw_switch_info *info)
{
	*info = F.info;
}

unsigned sw_switch_n_bridges(struct sw_switch *sw)
{
	return F.n_bridges;
}

int sw_switch_bridge_info(struct sw_switch *sw, unsigned idx, struct sw_bridge_info *info)
{
	if (idx >= F.n_bridges)
		return -ENOENT;
	*info = F.bridges[idx];
	return 0;
}

int sw_switch_port_info(struct sw_switch *sw, unsigned idx, struct sw_port_info *info)
{
	if (idx >= F.n_ports)
		return -ENOENT;
	*info = F.ports[idx];
	return 0;
}

int sw_switch_port_info_by_name(struct sw_switch *sw, const char *name, struct sw_port_info *info)
{
	for (unsigned i = 0; i < F.n_ports; i++)
		if (strcmp(F.ports[i].cfg.name, name) == 0) {
			*info = F.ports[i];
			return 0;
		}
	return -ENOENT;
}

int sw_switch_mirror_info(struct sw_switch *sw, unsigned idx, struct sw_mirror_info *info)
{
	if (idx >= F.n_mirrors)
		return -ENOENT;
	*info = F.mirrors[idx];
	return 0;
}

int sw_switch_fdb_walk(struct sw_switch *sw, const char *bridge,
		       int (*fn)(const struct sw_fdb_entry_info *e, const char *port, void *opaque),
		       void *opaque)
{
	unsigned i;

	for (i = 0; i < F.n_bridges; i++)
		if (strcmp(F.bridges[i].name, bridge) == 0)
			break;
	if (i == F.n_bridges)
		return -ENOENT;
	for (i = 0; i < F.n_fdb; i++)
		if (fn(&F.fdb[i], F.fdb_port[i], opaque))
			return 0;
	for (i = 0; i < F.n_fdb_generated; i++) {
		struct sw_fdb_entry_info e = { .key = { .mac = { 2, 0, 0, 0, (uint8_t)(i >> 8),
								 (uint8_t)i },
							.vlan = (uint16_t)(i % 4000) },
					       .port = 0,
					       .age_ms = i };

		if (fn(&e, "vm0", opaque))
			return 0;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * A switch to look at: br0 (vm0, tap0), br1 (empty), one mirror, an FDB.
 */

static void port_setup(struct sw_port_info *p, const char *name, const char *bridge,
		       enum sw_port_type type)
{
	memset(p, 0, sizeof(*p));
	sw_port_cfg_init(&p->cfg);
	snprintf(p->cfg.name, sizeof(p->cfg.name), "%s", name);
	snprintf(p->bridge, sizeof(p->bridge), "%s", bridge);
	p->cfg.type = type;
}

static int setup(void **state)
{
	struct sw_port_info *p;

	memset(&F, 0, sizeof(F));
	F.info.n_pmds = 1;
	F.info.pmd_lcores[0] = 1;
	F.info.n_bridges = 2;
	F.info.n_ports = 2;
	F.info.n_mirrors = 1;
	F.info.uptime_ms = 3723000;
	F.n_bridges = 2;
	snprintf(F.bridges[0].name, SW_NAME_MAX, "br0");
	F.bridges[0].aging_s = 300;
	F.bridges[0].fdb_size = 8192;
	F.bridges[0].n_ports = 2;
	F.bridges[0].fdb.entries = 3;
	F.bridges[0].fdb.statics = 1;
	F.bridges[0].fdb.learned = 7;
	snprintf(F.bridges[1].name, SW_NAME_MAX, "br1");
	F.bridges[1].aging_s = 0;
	F.bridges[1].fdb_size = 1024;

	F.n_ports = 2;
	p = &F.ports[0];
	port_setup(p, "vm0", "br0", SW_PORT_VHOST_USER);
	snprintf(p->cfg.path, sizeof(p->cfg.path), "/tmp/vm0.sock");
	p->port_id = 0;
	p->link_up = true;
	p->stats.rx_packets = 10;
	p->stats.rx_bytes = 1000;
	p->stats.tx_packets = 20;
	p->stats.tx_bytes = 2000;
	p->stats.drops[SW_DROP_VLAN] = 3;
	p->stats.drops[SW_DROP_POLICER] = 4;
	p->cfg.policer = (struct sw_meter_cfg){
		.type = SW_METER_SRTCM, .cir = 1250000, .cbs = 64000, .ebs = 64000
	};
	p->policer_green = 5;
	p->policer_yellow = 6;
	p->policer_red = 4;
	p->cfg.shaper.rate = 12500000;
	p->cfg.shaper.burst = 64000;
	p->cfg.shaper.queue_len = 256;
	sw_shaper_default_map(&p->cfg.shaper, 2);
	p->shaper_sent[0] = 8;
	p->shaper_sent[1] = 9;
	p->shaper_dropped[1] = 1;
	p = &F.ports[1];
	port_setup(p, "tap0", "br0", SW_PORT_TAP);
	snprintf(p->cfg.iface, sizeof(p->cfg.iface), "nfvtap0");
	p->port_id = 1;
	p->cfg.vlan.mode = SW_VLAN_ACCESS;
	p->cfg.vlan.tag = 10;

	F.n_mirrors = 1;
	snprintf(F.mirrors[0].cfg.name, SW_NAME_MAX, "m0");
	snprintf(F.mirrors[0].cfg.port, SW_NAME_MAX, "vm0");
	F.mirrors[0].cfg.dir = SW_MIRROR_BOTH;
	snprintf(F.mirrors[0].cfg.to_pcap, SW_PATH_MAX, "/tmp/m0.pcap");
	F.mirrors[0].cfg.snaplen = 128;
	F.mirrors[0].mirrored = 11;
	F.mirrors[0].written = 11;

	F.n_fdb = 3;
	F.fdb[0] = (struct sw_fdb_entry_info){ .key = { .mac = { 2, 0, 0, 0, 0, 2 }, .vlan = 10 },
					       .port = 1,
					       .age_ms = 12500 };
	F.fdb_port[0] = "tap0";
	F.fdb[1] = (struct sw_fdb_entry_info){ .key = { .mac = { 2, 0, 0, 0, 0, 9 }, .vlan = 0 },
					       .port = 0,
					       .is_static = true };
	F.fdb_port[1] = "vm0";
	F.fdb[2] = (struct sw_fdb_entry_info){ .key = { .mac = { 2, 0, 0, 0, 0, 1 }, .vlan = 10 },
					       .port = 0,
					       .age_ms = 999 };
	F.fdb_port[2] = "vm0";
	return 0;
}

/* ---------------------------------------------------------------------------
 * Helpers
 */

static json_t *run(const char *line)
{
	json_t *ans = sw_ctl_execute_line(SW, line);

	assert_non_null(ans);
	return ans;
}

/* Runs a request that must succeed; returns its answer (result inside). */
static json_t *ok(const char *line)
{
	json_t *ans = run(line);

	if (!json_is_true(json_object_get(ans, "ok")))
		fail_msg("%s -> %s", line, json_string_value(json_object_get(ans, "error")));
	assert_non_null(json_object_get(ans, "result"));
	return ans;
}

static const json_t *result(const json_t *ans)
{
	return json_object_get(ans, "result");
}

/* Runs a request that must be refused with a message containing `part`. */
static void refused(const char *line, const char *part)
{
	json_t *ans = run(line);
	const char *e = json_string_value(json_object_get(ans, "error"));

	if (json_is_true(json_object_get(ans, "ok")) || !e)
		fail_msg("%s was accepted", line);
	if (!strstr(e, part))
		fail_msg("%s -> \"%s\", expected \"%s\" in it", line, e, part);
	assert_null(json_object_get(ans, "result"));
	json_decref(ans);
}

/* Refused, and the switch saw no change. */
static void refused_nocall(const char *line, const char *part)
{
	unsigned calls = F.calls;

	refused(line, part);
	assert_int_equal(F.calls, calls);
}

static void ok_call(const char *line, const char *call)
{
	unsigned calls = F.calls;

	json_decref(ok(line));
	assert_int_equal(F.calls, calls + 1);
	assert_string_equal(F.call, call);
}

static int64_t jint(const json_t *o, const char *path)
{
	char buf[128], *save = NULL;
	const json_t *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10))
				     : json_object_get(v, k);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static const char *jstr(const json_t *o, const char *path)
{
	char buf[128], *save = NULL;
	const json_t *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10))
				     : json_object_get(v, k);
	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

/* ---------------------------------------------------------------------------
 * Requests in general
 */

static void test_bad_requests(void **state)
{
	refused_nocall("{", "invalid JSON at column");
	refused_nocall("show", "invalid JSON");
	refused_nocall("[\"show\"]", "object with a string \"cmd\"");
	refused_nocall("{\"cmd\": 5}", "object with a string \"cmd\"");
	refused_nocall("{\"port\": \"vm0\"}", "object with a string \"cmd\"");
	refused_nocall("{\"cmd\":\"port-del\",\"port\":\"a\",\"port\":\"b\"}", "duplicate");
	refused_nocall("{\"cmd\": \"reboot\"}", "unknown command \"reboot\"");
	refused_nocall("{\"cmd\": \"port-del\", \"port\": \"vm0\", \"force\": true}",
		       "unknown argument \"force\"");
	refused_nocall("{\"cmd\": \"stats-clear\", \"all\": 1}", "unknown argument \"all\"");
}

static void test_id_copied(void **state)
{
	json_t *ans = ok("{\"cmd\":\"help\",\"id\":42}");

	assert_int_equal(jint(ans, "id"), 42);
	json_decref(ans);
	ans = run("{\"cmd\":\"nope\",\"id\":\"x\"}");
	assert_string_equal(jstr(ans, "id"), "x");
	assert_true(json_is_false(json_object_get(ans, "ok")));
	json_decref(ans);
}

static void test_help(void **state)
{
	json_t *ans = ok("{\"cmd\":\"help\"}");
	const json_t *r = result(ans), *e;
	bool seen_fdb_show = false;
	size_t i;

	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 16);
	json_array_foreach(r, i, e)
	{
		assert_non_null(json_string_value(json_object_get(e, "help")));
		if (strcmp(jstr(e, "cmd"), "fdb-show") == 0)
			seen_fdb_show = true;
	}
	assert_true(seen_fdb_show);
	json_decref(ans);
}

/* A failed switch call answers with the switch's message, or strerror. */
static void test_switch_errors(void **state)
{
	F.ret = -ENOENT;
	F.err_msg = "no port \"zz\"";
	refused("{\"cmd\":\"port-del\",\"port\":\"zz\"}", "port-del: no port \"zz\"");
	assert_string_equal(F.call, "port_del");
	F.err_msg = NULL;
	F.ret = -EBUSY;
	refused("{\"cmd\":\"mirror-del\",\"name\":\"m0\"}", strerror(EBUSY));
	F.ret = -ENOSPC;
	F.err_msg = "bridge br0: FDB full";
	refused("{\"cmd\":\"fdb-add\",\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00:05\","
		"\"vlan\":1,\"port\":\"vm0\"}",
		"FDB full");
}

/* ---------------------------------------------------------------------------
 * Readers
 */

static void test_show(void **state)
{
	json_t *ans = ok("{\"cmd\":\"show\"}");
	const json_t *r = result(ans), *vm0, *tap0;

	assert_int_equal(F.calls, 0);
	assert_int_equal(jint(r, "switch.n_ports"), 2);
	assert_int_equal(jint(r, "switch.n_bridges"), 2);
	assert_int_equal(jint(r, "switch.uptime_ms"), 3723000);
	assert_int_equal(jint(r, "switch.pmd_lcores.0"), 1);
	assert_int_equal(json_array_size(json_object_get(r, "bridges")), 2);
	assert_string_equal(jstr(r, "bridges.0.name"), "br0");
	assert_string_equal(jstr(r, "bridges.0.ports.0"), "vm0");
	assert_string_equal(jstr(r, "bridges.0.ports.1"), "tap0");
	assert_int_equal(json_array_size(json_object_get(
				 json_array_get(json_object_get(r, "bridges"), 1), "ports")),
			 0);
	assert_int_equal(jint(r, "bridges.0.fdb.entries"), 3);
	assert_int_equal(jint(r, "bridges.0.fdb.learned"), 7);
	assert_int_equal(jint(r, "bridges.0.fdb_size"), 8192);

	assert_int_equal(json_array_size(json_object_get(r, "ports")), 2);
	vm0 = json_array_get(json_object_get(r, "ports"), 0);
	assert_string_equal(jstr(vm0, "name"), "vm0");
	assert_string_equal(jstr(vm0, "bridge"), "br0");
	assert_string_equal(jstr(vm0, "type"), "vhost-user");
	assert_string_equal(jstr(vm0, "path"), "/tmp/vm0.sock");
	assert_true(json_is_true(json_object_get(vm0, "link_up")));
	assert_string_equal(jstr(vm0, "vlan.mode"), "default");
	assert_int_equal(jint(vm0, "stats.rx_packets"), 10);
	assert_int_equal(jint(vm0, "stats.tx_bytes"), 2000);
	assert_int_equal(jint(vm0, "stats.drops.vlan"), 3);
	assert_int_equal(jint(vm0, "stats.drops.policer"), 4);
	assert_int_equal(jint(vm0, "stats.drops.same_port"), 0);
	assert_int_equal(json_object_size(json_object_get(json_object_get(vm0, "stats"), "drops")),
			 SW_DROP_MAX);
	assert_int_equal(jint(vm0, "stats.drops_total"), 7);
	assert_string_equal(jstr(vm0, "policer.type"), "srtcm");
	assert_int_equal(jint(vm0, "policer.cir"), 1250000);
	assert_int_equal(jint(vm0, "policer.red"), 4);
	assert_int_equal(jint(vm0, "shaper.rate"), 12500000);
	assert_int_equal(jint(vm0, "shaper.classes"), 2);
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(vm0, "shaper"), "pcp_map")), 8);
	assert_int_equal(jint(vm0, "shaper.per_class.1.sent"), 9);
	assert_int_equal(jint(vm0, "shaper.per_class.1.dropped"), 1);

	tap0 = json_array_get(json_object_get(r, "ports"), 1);
	assert_string_equal(jstr(tap0, "iface"), "nfvtap0");
	assert_string_equal(jstr(tap0, "vlan.mode"), "access");
	assert_int_equal(jint(tap0, "vlan.tag"), 10);
	assert_true(json_is_null(json_object_get(tap0, "policer")));
	assert_true(json_is_null(json_object_get(tap0, "shaper")));

	assert_string_equal(jstr(r, "mirrors.0.name"), "m0");
	assert_string_equal(jstr(r, "mirrors.0.direction"), "both");
	assert_string_equal(jstr(r, "mirrors.0.to_pcap"), "/tmp/m0.pcap");
	assert_int_equal(jint(r, "mirrors.0.snaplen"), 128);
	assert_int_equal(jint(r, "mirrors.0.written"), 11);
	json_decref(ans);
}

static void test_port_show(void **state)
{
	json_t *ans;

	F.ports[1].cfg.vlan.mode = SW_VLAN_TRUNK;
	memset(F.ports[1].cfg.vlan.allowed, 0, sizeof(F.ports[1].cfg.vlan.allowed));
	for (unsigned v = 100; v <= 200; v++)
		F.ports[1].cfg.vlan.allowed[v >> 6] |= 1ull << (v & 63);
	F.ports[1].cfg.vlan.allowed[0] |= 1ull << 10 | 1ull << 20;
	F.ports[1].cfg.vlan.allowed[4095 >> 6] |= 1ull << (4095 & 63);
	F.ports[1].cfg.vlan.native = SW_VLAN_NONE;
	F.ports[1].cfg.vlan.native_tagged = true;
	ans = ok("{\"cmd\":\"port-show\",\"port\":\"tap0\"}");
	assert_string_equal(jstr(result(ans), "name"), "tap0");
	assert_string_equal(jstr(result(ans), "vlan.mode"), "trunk");
	assert_string_equal(jstr(result(ans), "vlan.trunks"), "10,20,100-200,4095");
	assert_string_equal(jstr(result(ans), "vlan.native"), "none");
	assert_true(json_is_true(
		json_object_get(json_object_get(result(ans), "vlan"), "native_tagged")));
	json_decref(ans);
	refused("{\"cmd\":\"port-show\",\"port\":\"nope\"}", "no port \"nope\"");
	refused("{\"cmd\":\"port-show\"}", "missing argument \"port\"");
	refused("{\"cmd\":\"port-show\",\"port\":7}", "\"port\" must be a string");
	refused("{\"cmd\":\"port-show\",\"port\":\"\"}", "must not be empty");
	refused("{\"cmd\":\"port-show\",\"port\":\"a-name-that-is-much-longer-than-32-bytes\"}",
		"longer than 31 bytes");
}

static void test_fdb_show(void **state)
{
	json_t *ans = ok("{\"cmd\":\"fdb-show\",\"bridge\":\"br0\"}");
	const json_t *r = result(ans);

	assert_string_equal(jstr(r, "bridge"), "br0");
	assert_int_equal(json_array_size(json_object_get(r, "entries")), 3);
	assert_int_equal(jint(r, "total"), 3);
	assert_true(json_is_false(json_object_get(r, "truncated")));
	/* sorted by VLAN, then MAC */
	assert_string_equal(jstr(r, "entries.0.mac"), "02:00:00:00:00:09");
	assert_int_equal(jint(r, "entries.0.vlan"), 0);
	assert_string_equal(jstr(r, "entries.0.port"), "vm0");
	assert_true(json_is_true(
		json_object_get(json_array_get(json_object_get(r, "entries"), 0), "static")));
	assert_int_equal(jint(r, "entries.0.age_s"), 0);
	assert_string_equal(jstr(r, "entries.1.mac"), "02:00:00:00:00:01");
	assert_int_equal(jint(r, "entries.1.age_s"), 0);
	assert_string_equal(jstr(r, "entries.2.mac"), "02:00:00:00:00:02");
	assert_string_equal(jstr(r, "entries.2.port"), "tap0");
	assert_int_equal(jint(r, "entries.2.vlan"), 10);
	assert_int_equal(jint(r, "entries.2.age_s"), 12);
	assert_true(json_is_false(
		json_object_get(json_array_get(json_object_get(r, "entries"), 2), "static")));
	json_decref(ans);

	ans = ok("{\"cmd\":\"fdb-show\",\"bridge\":\"br0\",\"max\":2}");
	assert_int_equal(json_array_size(json_object_get(result(ans), "entries")), 2);
	assert_int_equal(jint(result(ans), "total"), 3);
	assert_true(json_is_true(json_object_get(result(ans), "truncated")));
	json_decref(ans);

	refused("{\"cmd\":\"fdb-show\",\"bridge\":\"br9\"}", "no bridge \"br9\"");
	refused("{\"cmd\":\"fdb-show\"}", "missing argument \"bridge\"");
	refused("{\"cmd\":\"fdb-show\",\"bridge\":\"br0\",\"max\":0}", "\"max\" must be in");
	assert_int_equal(F.calls, 0);
}

static void test_mirror_show(void **state)
{
	json_t *ans;

	F.n_mirrors = 2;
	F.mirrors[1] = F.mirrors[0];
	snprintf(F.mirrors[1].cfg.name, SW_NAME_MAX, "m1");
	F.mirrors[1].cfg.to_pcap[0] = '\0';
	snprintf(F.mirrors[1].cfg.to_port, SW_NAME_MAX, "tap0");
	F.mirrors[1].cfg.dir = SW_MIRROR_RX;
	ans = ok("{\"cmd\":\"mirror-show\"}");
	assert_int_equal(json_array_size(json_object_get(result(ans), "mirrors")), 2);
	assert_string_equal(jstr(result(ans), "mirrors.1.to_port"), "tap0");
	assert_string_equal(jstr(result(ans), "mirrors.1.direction"), "rx");
	assert_null(json_object_get(json_array_get(json_object_get(result(ans), "mirrors"), 1),
				    "to_pcap"));
	json_decref(ans);
}

/* ---------------------------------------------------------------------------
 * Changes
 */

static void test_fdb_flush(void **state)
{
	json_t *ans;

	F.ret = 5;
	ans = ok("{\"cmd\":\"fdb-flush\",\"bridge\":\"br0\"}");
	assert_int_equal(jint(result(ans), "flushed"), 5);
	json_decref(ans);
	assert_string_equal(F.call, "fdb_flush");
	assert_string_equal(F.bridge, "br0");
	assert_true(F.port_null);
	F.ret = 2;
	ok_call("{\"cmd\":\"fdb-flush\",\"bridge\":\"br0\",\"port\":\"vm0\"}", "fdb_flush");
	assert_false(F.port_null);
	assert_string_equal(F.port, "vm0");
	refused_nocall("{\"cmd\":\"fdb-flush\"}", "missing argument \"bridge\"");
	refused_nocall("{\"cmd\":\"fdb-flush\",\"bridge\":\"br0\",\"port\":1}", "must be a string");
}

static void test_fdb_add_del(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

	ok_call("{\"cmd\":\"fdb-add\",\"bridge\":\"br1\",\"mac\":\"02:AA:bb:cc:dd:ee\","
		"\"vlan\":20,\"port\":\"tap0\"}",
		"fdb_add");
	assert_string_equal(F.bridge, "br1");
	assert_memory_equal(F.st.mac, mac, 6);
	assert_int_equal(F.st.vlan, 20);
	assert_string_equal(F.st.port, "tap0");
	refused_nocall("{\"cmd\":\"fdb-add\",\"bridge\":\"br0\",\"mac\":\"01:00:5e:00:00:01\","
		       "\"vlan\":1,\"port\":\"vm0\"}",
		       "unicast");
	refused_nocall("{\"cmd\":\"fdb-add\",\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00\","
		       "\"vlan\":1,\"port\":\"vm0\"}",
		       "not a MAC address");
	refused_nocall("{\"cmd\":\"fdb-add\",\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00:01\","
		       "\"vlan\":4095,\"port\":\"vm0\"}",
		       "\"vlan\" must be in 0..4094");
	refused_nocall("{\"cmd\":\"fdb-add\",\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00:01\","
		       "\"vlan\":\"10\",\"port\":\"vm0\"}",
		       "\"vlan\" must be an integer");
	refused_nocall("{\"cmd\":\"fdb-add\",\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00:01\","
		       "\"vlan\":1}",
		       "missing argument \"port\"");

	ok_call("{\"cmd\":\"fdb-del\",\"bridge\":\"br0\",\"mac\":\"02:aa:bb:cc:dd:ee\","
		"\"vlan\":0}",
		"fdb_del");
	assert_memory_equal(F.mac, mac, 6);
	assert_int_equal(F.vid, 0);
	refused_nocall("{\"cmd\":\"fdb-del\",\"bridge\":\"br0\",\"mac\":\"02:aa:bb:cc:dd:ee\"}",
		       "missing argument \"vlan\"");
	refused_nocall("{\"cmd\":\"fdb-del\",\"bridge\":\"br0\",\"mac\":\"02:aa:bb:cc:dd:ee\","
		       "\"vlan\":-1}",
		       "must be in");
}

static void test_port_add(void **state)
{
	json_t *ans;

	ok_call("{\"cmd\":\"port-add\",\"bridge\":\"br1\",\"spec\":\"tap:nfvtap9,name=t9,mtu="
		"9000\"}",
		"port_add");
	assert_string_equal(F.port_cfg.name, "t9");
	assert_int_equal(F.port_cfg.type, SW_PORT_TAP);
	assert_string_equal(F.port_cfg.iface, "nfvtap9");
	assert_int_equal(F.port_cfg.mtu, 9000);
	assert_int_equal(F.port_cfg.bridge, 1);

	/* no name=: the first pN the switch does not have yet */
	port_setup(&F.ports[2], "p0", "br0", SW_PORT_TAP);
	F.n_ports = 3;
	ans = ok("{\"cmd\":\"port-add\",\"bridge\":\"br0\",\"spec\":\"vhost-user:/tmp/"
		 "v.sock,vlan=5\"}");
	assert_string_equal(F.port_cfg.name, "p1");
	assert_int_equal(F.port_cfg.bridge, 0);
	assert_int_equal(F.port_cfg.type, SW_PORT_VHOST_USER);
	assert_string_equal(F.port_cfg.path, "/tmp/v.sock");
	assert_int_equal(F.port_cfg.vlan.mode, SW_VLAN_ACCESS);
	assert_int_equal(F.port_cfg.vlan.tag, 5);
	/* the fake does not really add it: the answer falls back to the name */
	assert_string_equal(jstr(result(ans), "name"), "p1");
	json_decref(ans);

	refused_nocall("{\"cmd\":\"port-add\",\"bridge\":\"br7\",\"spec\":\"tap:x\"}",
		       "no bridge \"br7\"");
	refused_nocall("{\"cmd\":\"port-add\",\"bridge\":\"br0\",\"spec\":\"floppy:x\"}",
		       "port-add: \"spec\": ");
	refused_nocall("{\"cmd\":\"port-add\",\"bridge\":\"br0\",\"spec\":\"tap:x,mtu=20\"}",
		       "\"spec\"");
	refused_nocall("{\"cmd\":\"port-add\",\"bridge\":\"br0\"}", "missing argument \"spec\"");
	F.ret = -EEXIST;
	F.err_msg = "port t9 already exists";
	refused("{\"cmd\":\"port-add\",\"bridge\":\"br0\",\"spec\":\"tap:x,name=t9\"}",
		"port-add: port t9 already exists");
}

static void test_port_del(void **state)
{
	ok_call("{\"cmd\":\"port-del\",\"port\":\"tap0\"}", "port_del");
	assert_string_equal(F.port, "tap0");
	refused_nocall("{\"cmd\":\"port-del\"}", "missing argument \"port\"");
}

static void test_port_set_vlan(void **state)
{
	struct sw_vlan_cfg d;

	ok_call("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"vlan\":10}", "set_vlan");
	assert_string_equal(F.port, "vm0");
	assert_int_equal(F.vlan.mode, SW_VLAN_ACCESS);
	assert_int_equal(F.vlan.tag, 10);
	assert_true(sw_vlan_allowed(&F.vlan, 10));
	assert_false(sw_vlan_allowed(&F.vlan, 11));
	ok_call("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"mode\":\"access\",\"tag\":12}",
		"set_vlan");
	assert_int_equal(F.vlan.tag, 12);

	ok_call("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"trunk\":\"10,20,100-200\","
		"\"native\":\"none\",\"native_tagged\":true}",
		"set_vlan");
	assert_int_equal(F.vlan.mode, SW_VLAN_TRUNK);
	assert_true(sw_vlan_allowed(&F.vlan, 10));
	assert_true(sw_vlan_allowed(&F.vlan, 150));
	assert_false(sw_vlan_allowed(&F.vlan, 11));
	assert_false(sw_vlan_allowed(&F.vlan, 201));
	assert_int_equal(F.vlan.native, SW_VLAN_NONE);
	assert_true(F.vlan.native_tagged);
	ok_call("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"mode\":\"trunk\",\"trunks\":\"5\","
		"\"native\":5}",
		"set_vlan");
	assert_int_equal(F.vlan.native, 5);
	assert_false(F.vlan.native_tagged);
	ok_call("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"trunk\":\"7\"}", "set_vlan");
	assert_int_equal(F.vlan.native, 0);

	ok_call("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"mode\":\"default\"}", "set_vlan");
	sw_vlan_cfg_default(&d);
	assert_int_equal(F.vlan.mode, d.mode);
	assert_int_equal(F.vlan.native, d.native);
	assert_memory_equal(F.vlan.allowed, d.allowed, sizeof(d.allowed));

	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\"}", "give \"vlan\"");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"vlan\":0}", "1..4094");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"vlan\":4095}", "1..4094");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"vlan\":10,\"trunk\":\"1\"}",
		       "does not apply to an access port");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"trunk\":\"1-x\"}",
		       "\"trunk\": ");
	refused_nocall(
		"{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"trunk\":\"1\",\"native\":4095}",
		"\"native\" must be in");
	refused_nocall(
		"{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"trunk\":\"1\",\"native\":\"x\"}",
		"\"native\" must be a VLAN number or \"none\"");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"trunk\":\"1\","
		       "\"native_tagged\":1}",
		       "true or false");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"mode\":\"hybrid\"}",
		       "\"mode\" must be");
	refused_nocall(
		"{\"cmd\":\"port-set-vlan\",\"port\":\"vm0\",\"mode\":\"default\",\"vlan\":3}",
		"does not apply to mode \"default\"");
	refused_nocall("{\"cmd\":\"port-set-vlan\",\"vlan\":3}", "missing argument \"port\"");
}

static void test_port_set_policer(void **state)
{
	ok_call("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"srtcm\","
		"\"cir\":\"10mbit\",\"cbs\":\"64kB\",\"ebs\":\"64KiB\"}",
		"set_policer");
	assert_int_equal(F.meter.type, SW_METER_SRTCM);
	assert_int_equal(F.meter.cir, 1250000);
	assert_int_equal(F.meter.cbs, 64000);
	assert_int_equal(F.meter.ebs, 65536);
	ok_call("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"trtcm\","
		"\"cir\":1000,\"cbs\":1500,\"pir\":\"2000B\",\"pbs\":3000}",
		"set_policer");
	assert_int_equal(F.meter.type, SW_METER_TRTCM);
	assert_int_equal(F.meter.cir, 1000);
	assert_int_equal(F.meter.pir, 2000);
	assert_int_equal(F.meter.pbs, 3000);
	ok_call("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"none\"}", "set_policer");
	assert_int_equal(F.meter.type, SW_METER_NONE);

	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"none\","
		       "\"cir\":1}",
		       "does not apply to type \"none\"");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"srtcm\","
		       "\"cir\":\"1mbit\",\"cbs\":1,\"ebs\":1,\"pir\":5}",
		       "\"pir\" does not apply to srtcm");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"srtcm\","
		       "\"cir\":\"1mbit\",\"ebs\":1}",
		       "missing argument \"cbs\"");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"srtcm\","
		       "\"cir\":\"10 furlongs\",\"cbs\":1,\"ebs\":1}",
		       "\"cir\": ");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"srtcm\","
		       "\"cir\":-5,\"cbs\":1,\"ebs\":1}",
		       "must not be negative");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"srtcm\","
		       "\"cir\":0,\"cbs\":1,\"ebs\":1}",
		       "cir");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"trtcm\","
		       "\"cir\":2000,\"cbs\":1,\"pir\":1000,\"pbs\":1}",
		       "pir");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\",\"type\":\"wred\"}",
		       "\"type\" must be");
	refused_nocall("{\"cmd\":\"port-set-policer\",\"port\":\"vm0\"}",
		       "missing argument \"type\"");
}

static void test_port_set_shaper(void **state)
{
	ok_call("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"100mbit\","
		"\"burst\":\"64kB\",\"classes\":2,\"queue_len\":512,"
		"\"pcp_map\":[1,1,1,1,0,0,0,0]}",
		"set_shaper");
	assert_string_equal(F.port, "vm0");
	assert_int_equal(F.shaper.rate, 12500000);
	assert_int_equal(F.shaper.burst, 64000);
	assert_int_equal(F.shaper.classes, 2);
	assert_int_equal(F.shaper.queue_len, 512);
	assert_int_equal(F.shaper.pcp_class[0], 1);
	assert_int_equal(F.shaper.pcp_class[7], 0);

	/* defaults as in the config file: 1 class, 256 frames, burst 10 ms at the rate */
	ok_call("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"1gbit\"}", "set_shaper");
	assert_int_equal(F.shaper.rate, 125000000);
	assert_int_equal(F.shaper.burst, 1250000);
	assert_int_equal(F.shaper.classes, 1);
	assert_int_equal(F.shaper.queue_len, 256);
	/* and at least two full-size frames */
	ok_call("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":1000,\"classes\":4}",
		"set_shaper");
	assert_int_equal(F.shaper.burst, 2 * (1500 + 18));
	assert_int_equal(F.shaper.pcp_class[7], 0);
	assert_int_equal(F.shaper.pcp_class[0], 3);

	ok_call("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"none\"}", "set_shaper");
	assert_int_equal(F.shaper.rate, 0);

	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"none\","
		       "\"burst\":5}",
		       "does not apply to rate \"none\"");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"1mbit\","
		       "\"pcp_map\":[0,0,0]}",
		       "array of 8");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"1mbit\","
		       "\"classes\":2,\"pcp_map\":[0,0,0,0,0,0,0,2]}",
		       "\"pcp_map\"[7] must be a class in 0..1");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"1mbit\","
		       "\"classes\":9}",
		       "\"classes\" must be in 1..8");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"1mbit\","
		       "\"queue_len\":8}",
		       "queue-len");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\",\"rate\":\"1mbit\","
		       "\"burst\":1517}",
		       "must hold a full-size frame (1518 bytes for MTU 1500)");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"vm0\"}",
		       "missing argument \"rate\"");
	refused_nocall("{\"cmd\":\"port-set-shaper\",\"port\":\"zz\",\"rate\":\"1mbit\"}",
		       "no port \"zz\"");
}

static void test_mirror_add_del(void **state)
{
	json_t *ans;

	ans = ok("{\"cmd\":\"mirror-add\",\"name\":\"m5\",\"port\":\"vm0\",\"direction\":\"rx\","
		 "\"to_pcap\":\"/tmp/m5.pcap\",\"snaplen\":128}");
	assert_string_equal(jstr(result(ans), "name"), "m5");
	json_decref(ans);
	assert_string_equal(F.call, "mirror_add");
	assert_string_equal(F.mirror.name, "m5");
	assert_string_equal(F.mirror.port, "vm0");
	assert_int_equal(F.mirror.dir, SW_MIRROR_RX);
	assert_string_equal(F.mirror.to_pcap, "/tmp/m5.pcap");
	assert_string_equal(F.mirror.to_port, "");
	assert_int_equal(F.mirror.snaplen, 128);
	ok_call("{\"cmd\":\"mirror-add\",\"name\":\"m6\",\"port\":\"vm0\",\"direction\":\"both\","
		"\"to_port\":\"tap0\"}",
		"mirror_add");
	assert_int_equal(F.mirror.dir, SW_MIRROR_BOTH);
	assert_string_equal(F.mirror.to_port, "tap0");
	assert_string_equal(F.mirror.to_pcap, "");
	assert_int_equal(F.mirror.snaplen, 65535);

	refused_nocall("{\"cmd\":\"mirror-add\",\"name\":\"m7\",\"port\":\"vm0\","
		       "\"direction\":\"up\",\"to_port\":\"tap0\"}",
		       "\"direction\" must be");
	refused_nocall("{\"cmd\":\"mirror-add\",\"name\":\"m7\",\"port\":\"vm0\","
		       "\"direction\":\"tx\"}",
		       "give one of \"to_port\" and \"to_pcap\"");
	refused_nocall("{\"cmd\":\"mirror-add\",\"name\":\"m7\",\"port\":\"vm0\","
		       "\"direction\":\"tx\",\"to_port\":\"tap0\",\"to_pcap\":\"x.pcap\"}",
		       "give one of");
	refused_nocall("{\"cmd\":\"mirror-add\",\"name\":\"m7\",\"port\":\"vm0\","
		       "\"direction\":\"tx\",\"to_port\":\"tap0\",\"snaplen\":100}",
		       "\"snaplen\" applies to \"to_pcap\" only");
	refused_nocall("{\"cmd\":\"mirror-add\",\"name\":\"m7\",\"port\":\"vm0\","
		       "\"direction\":\"tx\",\"to_pcap\":\"x.pcap\",\"snaplen\":10}",
		       "\"snaplen\" must be in 64..65535");
	refused_nocall("{\"cmd\":\"mirror-add\",\"port\":\"vm0\",\"direction\":\"tx\","
		       "\"to_port\":\"tap0\"}",
		       "missing argument \"name\"");

	ok_call("{\"cmd\":\"mirror-del\",\"name\":\"m5\"}", "mirror_del");
	assert_string_equal(F.name, "m5");
	refused_nocall("{\"cmd\":\"mirror-del\"}", "missing argument \"name\"");
}

static void test_stats_clear(void **state)
{
	ok_call("{\"cmd\":\"stats-clear\"}", "clear_stats");
}

/* ---------------------------------------------------------------------------
 * The socket
 */

struct sock_env {
	char dir[64];
	char path[128];
	struct evloop *loop;
	struct sw_ctl *ctl;
};

static int sock_setup(void **state)
{
	struct sock_env *e = calloc(1, sizeof(*e));
	char err[256] = "";

	setup(NULL);
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/ctl.sock", e->dir);
	e->loop = evloop_new();
	assert_non_null(e->loop);
	if (sw_ctl_open(e->loop, SW, e->path, &e->ctl, err, sizeof(err)) < 0)
		fail_msg("sw_ctl_open: %s", err);
	*state = e;
	return 0;
}

static int sock_teardown(void **state)
{
	struct sock_env *e = *state;

	sw_ctl_close(e->ctl);
	evloop_free(e->loop);
	unlink(e->path);
	rmdir(e->dir);
	free(e);
	return 0;
}

static int client(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * Runs the loop until the client has a whole line (returned, malloc'd) or
 * the server closed the connection (NULL). Lines after the first stay in
 * the client's pending buffer.
 */
struct reader {
	char *buf;
	size_t len, cap;
	bool eof;
};

static char *read_line(struct sock_env *e, int fd, struct reader *r)
{
	for (int i = 0; i < 20000; i++) {
		char *nl = r->buf ? memchr(r->buf, '\n', r->len) : NULL;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - r->buf);
			char *line = malloc(l + 1);

			assert_non_null(line);
			memcpy(line, r->buf, l);
			line[l] = '\0';
			memmove(r->buf, nl + 1, r->len - l - 1);
			r->len -= l + 1;
			return line;
		}
		if (r->eof)
			return NULL;
		if (r->cap - r->len < 65536) {
			r->cap = r->cap ? r->cap * 2 : 131072;
			r->buf = realloc(r->buf, r->cap);
			assert_non_null(r->buf);
		}
		n = recv(fd, r->buf + r->len, r->cap - r->len, 0);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			r->eof = true;
			continue;
		}
		assert_true(errno == EAGAIN);
		evloop_run_once(e->loop, 10);
	}
	fail_msg("no answer");
	return NULL;
}

static json_t *read_answer(struct sock_env *e, int fd, struct reader *r)
{
	char *line = read_line(e, fd, r);
	json_t *j;

	assert_non_null(line);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	free(line);
	return j;
}

static void test_sock_two_in_one_write(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fd = client(e->path);
	static const char two[] =
		"{\"cmd\":\"help\",\"id\":1}\n{\"cmd\":\"stats-clear\",\"id\":2}\n";
	json_t *a;

	send_all(fd, two, strlen(two));
	a = read_answer(e, fd, &r);
	assert_int_equal(jint(a, "id"), 1);
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	a = read_answer(e, fd, &r);
	assert_int_equal(jint(a, "id"), 2);
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	assert_string_equal(F.call, "clear_stats");
	close(fd);
	free(r.buf);
}

static void test_sock_split_request(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fd = client(e->path);
	json_t *a;

	send_all(fd, "{\"cmd\":\"port-del\",", 18);
	for (int i = 0; i < 5; i++)
		evloop_run_once(e->loop, 5);
	assert_int_equal(F.calls, 0);
	send_all(fd, "\"port\":\"vm0\"}\r\n", 16);
	a = read_answer(e, fd, &r);
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_string_equal(F.port, "vm0");
	json_decref(a);
	close(fd);
	free(r.buf);
}

/* Errors keep the connection; empty lines are skipped. */
static void test_sock_errors_keep_connection(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fd = client(e->path);
	static const char reqs[] =
		"{oops\n\n{\"cmd\":\"nope\"}\n{\"cmd\":\"port-show\",\"port\":\"vm0\"}\n";
	json_t *a;

	send_all(fd, reqs, strlen(reqs));
	a = read_answer(e, fd, &r);
	assert_true(json_is_false(json_object_get(a, "ok")));
	assert_non_null(strstr(jstr(a, "error"), "invalid JSON"));
	json_decref(a);
	a = read_answer(e, fd, &r);
	assert_non_null(strstr(jstr(a, "error"), "unknown command"));
	json_decref(a);
	a = read_answer(e, fd, &r);
	assert_string_equal(jstr(a, "result.name"), "vm0");
	json_decref(a);
	close(fd);
	free(r.buf);
}

static void test_sock_overlong(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fd = client(e->path);
	char *big = malloc(SW_CTL_MAX_LINE + 100);
	json_t *a;

	memset(big, ' ', SW_CTL_MAX_LINE + 100);
	memcpy(big, "{\"cmd\":\"stats-clear\"", 21);
	send_all(fd, big, SW_CTL_MAX_LINE + 100);
	a = read_answer(e, fd, &r);
	assert_true(json_is_false(json_object_get(a, "ok")));
	assert_non_null(strstr(jstr(a, "error"), "longer than 4096 bytes"));
	json_decref(a);
	/* the rest of it, up to its newline, is skipped; the next request is served */
	send_all(fd, big, SW_CTL_MAX_LINE + 100);
	send_all(fd, "}\n{\"cmd\":\"help\",\"id\":3}\n", 24);
	a = read_answer(e, fd, &r);
	assert_int_equal(jint(a, "id"), 3);
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	assert_int_equal(F.calls, 0);
	free(big);

	/* 4095 bytes and the newline fit */
	big = malloc(SW_CTL_MAX_LINE);
	memset(big, ' ', SW_CTL_MAX_LINE);
	memcpy(big, "{\"cmd\":\"help\"}", 14);
	big[SW_CTL_MAX_LINE - 1] = '\n';
	send_all(fd, big, SW_CTL_MAX_LINE);
	a = read_answer(e, fd, &r);
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	free(big);
	close(fd);
	free(r.buf);
}

/* A client that writes its request and shuts down its side still gets the answer. */
static void test_sock_eof_answers(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fd = client(e->path);
	json_t *a;

	send_all(fd, "{\"cmd\":\"stats-clear\"}", 21);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	a = read_answer(e, fd, &r);
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	assert_null(read_line(e, fd, &r));
	close(fd);
	free(r.buf);
}

/* An answer bigger than the socket buffer goes out as the client reads it. */
static void test_sock_big_answer(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fd = client(e->path);
	json_t *a;

	F.n_fdb_generated = 30000;
	send_all(fd, "{\"cmd\":\"fdb-show\",\"bridge\":\"br0\"}\n{\"cmd\":\"help\"}\n", 50);
	for (int i = 0; i < 5; i++)
		evloop_run_once(e->loop, 5);
	a = read_answer(e, fd, &r);
	assert_int_equal(json_array_size(json_object_get(result(a), "entries")), 30003);
	json_decref(a);
	a = read_answer(e, fd, &r);
	assert_true(json_is_array(result(a)));
	json_decref(a);
	close(fd);
	free(r.buf);
}

static void test_sock_too_many_clients(void **state)
{
	struct sock_env *e = *state;
	struct reader r = { 0 };
	int fds[SW_CTL_MAX_CLIENTS + 1];
	json_t *a;

	for (int i = 0; i <= SW_CTL_MAX_CLIENTS; i++) {
		fds[i] = client(e->path);
		evloop_run_once(e->loop, 10);
	}
	a = read_answer(e, fds[SW_CTL_MAX_CLIENTS], &r);
	assert_string_equal(jstr(a, "error"), "too many clients");
	json_decref(a);
	free(r.buf);
	for (int i = 0; i <= SW_CTL_MAX_CLIENTS; i++)
		close(fds[i]);
}

static void test_sock_open_rules(void **state)
{
	struct sock_env *e = *state;
	struct sw_ctl *other = NULL;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char err[256] = "", path[100], longpath[200];
	struct reader r = { 0 };
	struct stat st;
	json_t *ans;
	int fd;

	/* a live socket is refused */
	assert_int_equal(sw_ctl_open(e->loop, SW, e->path, &other, err, sizeof(err)), -EADDRINUSE);
	assert_null(other);
	assert_non_null(strstr(err, "another process is listening there"));

	/* a stale one (nobody listens) is replaced */
	snprintf(path, sizeof(path), "%s/stale.sock", e->dir);
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(sw_ctl_open(e->loop, SW, path, &other, err, sizeof(err)), 0);
	fd = client(path);
	send_all(fd, "{\"cmd\":\"help\"}\n", 15);
	ans = read_answer(e, fd, &r);
	assert_true(json_is_true(json_object_get(ans, "ok")));
	json_decref(ans);
	close(fd);
	free(r.buf);
	sw_ctl_close(other);
	assert_int_equal(stat(path, &st), -1); /* removed on close */

	/* a file that is not a socket is left alone */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sw_ctl_open(e->loop, SW, path, &other, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	unlink(path);

	/* a path too long for sun_path */
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(sw_ctl_open(e->loop, SW, longpath, &other, err, sizeof(err)),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bad_requests, setup),
		cmocka_unit_test_setup(test_id_copied, setup),
		cmocka_unit_test_setup(test_help, setup),
		cmocka_unit_test_setup(test_switch_errors, setup),
		cmocka_unit_test_setup(test_show, setup),
		cmocka_unit_test_setup(test_port_show, setup),
		cmocka_unit_test_setup(test_fdb_show, setup),
		cmocka_unit_test_setup(test_mirror_show, setup),
		cmocka_unit_test_setup(test_fdb_flush, setup),
		cmocka_unit_test_setup(test_fdb_add_del, setup),
		cmocka_unit_test_setup(test_port_add, setup),
		cmocka_unit_test_setup(test_port_del, setup),
		cmocka_unit_test_setup(test_port_set_vlan, setup),
		cmocka_unit_test_setup(test_port_set_policer, setup),
		cmocka_unit_test_setup(test_port_set_shaper, setup),
		cmocka_unit_test_setup(test_mirror_add_del, setup),
		cmocka_unit_test_setup(test_stats_clear, setup),
		cmocka_unit_test_setup_teardown(test_sock_two_in_one_write, sock_setup,
						sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_split_request, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_errors_keep_connection, sock_setup,
						sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_overlong, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_eof_answers, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_big_answer, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_too_many_clients, sock_setup,
						sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_open_rules, sock_setup, sock_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
