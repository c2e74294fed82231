/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: request translation (sw_ctl_execute) and the socket
 * plumbing (sw_ctl_open). Threads: the control thread only (ctl.h).
 */
#define LOG_COMPONENT "ctl"
#include "vswitch/ctl.h"
#include "vswitch/switch.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/unixsock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_ERR_MAX 256
#define FDB_SHOW_DEFAULT_MAX 100000u /* entries in one fdb-show answer */
#define FDB_SHOW_MAX 1048576u
/* A trunk list "0,2,4,...,4094" is the longest: 9684 characters. */
#define VLAN_LIST_MAX 10240

/* ---------------------------------------------------------------------------
 * Arguments
 */

/* Members every request may have besides its arguments. */
static bool is_common_key(const char *key)
{
	return strcmp(key, "cmd") == 0 || strcmp(key, "id") == 0;
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A string argument of at most max - 1 bytes, not empty. NULL when absent. */
static int arg_str(const json_t *req, const char *key, bool required, size_t max, const char **out,
		   char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, key);
	const char *s;

	*out = NULL;
	if (!v) {
		if (required)
			return bad(err, errlen, "missing argument \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return bad(err, errlen, "\"%s\" must be a string", key);
	s = json_string_value(v);
	if (!s[0])
		return bad(err, errlen, "\"%s\" must not be empty", key);
	if (strlen(s) >= max)
		return bad(err, errlen, "\"%s\" is longer than %zu bytes", key, max - 1);
	*out = s;
	return 0;
}

/* An integer argument in [min, max]. *present tells whether it was given. */
static int arg_uint(const json_t *req, const char *key, bool required, uint64_t min, uint64_t max,
		    uint64_t *out, bool *present, char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, key);
	json_int_t i;

	if (present)
		*present = v != NULL;
	if (!v) {
		if (required)
			return bad(err, errlen, "missing argument \"%s\"", key);
		return 0;
	}
	if (!json_is_integer(v))
		return bad(err, errlen, "\"%s\" must be an integer", key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return bad(err, errlen, "\"%s\" must be in %llu..%llu", key,
			   (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

static int arg_bool(const json_t *req, const char *key, bool *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return bad(err, errlen, "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/*
 * A rate (size when !rate) given as a string with a unit ("10mbit", "64kB")
 * or as a whole number of bytes (per second).
 */
static int arg_amount(const json_t *req, const char *key, bool rate, bool required, uint64_t *out,
		      char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, key);
	char msg[CTL_ERR_MAX];
	int ret;

	if (!v) {
		if (required)
			return bad(err, errlen, "missing argument \"%s\"", key);
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return bad(err, errlen, "\"%s\" must not be negative", key);
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return bad(err, errlen, "\"%s\" must be a string with a unit or a number of bytes",
			   key);
	msg[0] = '\0';
	if (rate)
		ret = sw_parse_rate(json_string_value(v), out, msg, sizeof(msg));
	else
		ret = sw_parse_size(json_string_value(v), out, msg, sizeof(msg));
	if (ret < 0)
		return bad(err, errlen, "\"%s\": %s", key, msg[0] ? msg : "not a valid amount");
	return 0;
}

/* ---------------------------------------------------------------------------
 * Formatting
 */

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static void mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* "10,20,100-200" from a bitmap; "" when empty. buf holds VLAN_LIST_MAX bytes. */
static void vlan_list_format(const uint64_t allowed[64], char *buf)
{
	size_t len = 0;
	unsigned v = 0;

	buf[0] = '\0';
	while (v < 4096) {
		unsigned end;

		if (!((allowed[v >> 6] >> (v & 63)) & 1)) {
			v++;
			continue;
		}
		for (end = v; end + 1 < 4096 && ((allowed[(end + 1) >> 6] >> ((end + 1) & 63)) & 1);
		     end++)
			;
		if (end == v)
			len += (size_t)snprintf(buf + len, VLAN_LIST_MAX - len, "%s%u",
						len ? "," : "", v);
		else
			len += (size_t)snprintf(buf + len, VLAN_LIST_MAX - len, "%s%u-%u",
						len ? "," : "", v, end);
		v = end + 1;
	}
}

static bool vlan_is_default(const struct sw_vlan_cfg *v)
{
	struct sw_vlan_cfg d;

	sw_vlan_cfg_default(&d);
	return v->mode == d.mode && v->native == d.native && v->native_tagged == d.native_tagged &&
	       memcmp(v->allowed, d.allowed, sizeof(d.allowed)) == 0;
}

static json_t *vlan_json(const struct sw_vlan_cfg *v)
{
	json_t *o;
	char *list;

	if (v->mode == SW_VLAN_ACCESS)
		return json_pack("{s:s, s:i}", "mode", "access", "tag", (int)v->tag);
	if (vlan_is_default(v))
		return json_pack("{s:s}", "mode", "default");
	list = malloc(VLAN_LIST_MAX);
	if (!list)
		return NULL;
	vlan_list_format(v->allowed, list);
	o = json_pack("{s:s, s:s, s:b}", "mode", "trunk", "trunks", list, "native_tagged",
		      v->native_tagged);
	free(list);
	if (o)
		json_object_set_new(o, "native",
				    v->native == SW_VLAN_NONE ? json_string("none")
							      : json_integer(v->native));
	return o;
}

static const char *meter_type_name(enum sw_meter_type t)
{
	switch (t) {
	case SW_METER_SRTCM: return "srtcm";
	case SW_METER_TRTCM: return "trtcm";
	default: return "none";
	}
}

/* Rates in bytes/s, sizes in bytes; only the members of that meter type. */
static json_t *meter_json(const struct sw_meter_cfg *m)
{
	if (m->type == SW_METER_SRTCM)
		return json_pack("{s:s, s:o, s:o, s:o}", "type", "srtcm", "cir", u64(m->cir), "cbs",
				 u64(m->cbs), "ebs", u64(m->ebs));
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "type", meter_type_name(m->type), "cir",
			 u64(m->cir), "pir", u64(m->pir), "cbs", u64(m->cbs), "pbs", u64(m->pbs));
}

static const char *dir_name(enum sw_mirror_dir d)
{
	switch (d) {
	case SW_MIRROR_RX: return "rx";
	case SW_MIRROR_TX: return "tx";
	default: return "both";
	}
}

/* One port: identity, configuration, counters. */
static json_t *port_json(const struct sw_port_info *pi)
{
	const struct sw_port_cfg *c = &pi->cfg;
	json_t *o, *drops, *stats, *pol = json_null(), *shaper = json_null();
	uint64_t drops_total = 0;

	o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:i, s:i}", "name", c->name, "bridge", pi->bridge,
		      "type", sw_port_type_name(c->type), "port_id",
		      pi->port_id == UINT16_MAX ? -1 : (int)pi->port_id, "link_up",
		      pi->link_up, "mtu", (int)c->mtu, "queues", (int)c->queues);
	if (!o)
		return NULL;
	switch (c->type) {
	case SW_PORT_VHOST_USER:
		json_object_set_new(o, "path", json_string(c->path));
		json_object_set_new(o, "server", json_boolean(c->server));
		break;
	case SW_PORT_PCAP:
		json_object_set_new(o, "rx_pcap", json_string(c->rx_pcap));
		json_object_set_new(o, "tx_pcap", json_string(c->tx_pcap));
		break;
	case SW_PORT_DPDK: json_object_set_new(o, "pci", json_string(c->pci)); break;
	default: json_object_set_new(o, "iface", json_string(c->iface)); break;
	}
	json_object_set_new(o, "vlan", vlan_json(&c->vlan));

	drops = json_object();
	for (unsigned d = 0; d < SW_DROP_MAX; d++) {
		json_object_set_new(drops, sw_drop_name(d), u64(pi->stats.drops[d]));
		drops_total += pi->stats.drops[d];
	}
	stats = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "rx_packets",
			  u64(pi->stats.rx_packets), "rx_bytes", u64(pi->stats.rx_bytes),
			  "tx_packets", u64(pi->stats.tx_packets), "tx_bytes",
			  u64(pi->stats.tx_bytes), "flood_packets", u64(pi->stats.flood_packets),
			  "drops", drops, "drops_total", u64(drops_total));
	json_object_set_new(o, "stats", stats);

	if (c->policer.type != SW_METER_NONE) {
		pol = meter_json(&c->policer);
		json_object_set_new(pol, "green", u64(pi->policer_green));
		json_object_set_new(pol, "yellow", u64(pi->policer_yellow));
		json_object_set_new(pol, "red", u64(pi->policer_red));
	}
	json_object_set_new(o, "policer", pol);
	if (c->n_vlan_policers) {
		json_t *vp = json_array();

		for (unsigned i = 0; i < c->n_vlan_policers && i < SW_MAX_VLAN_POLICERS; i++) {
			json_t *m = meter_json(&c->vlan_policers[i].meter);

			json_object_set_new(m, "vlan", json_integer(c->vlan_policers[i].vlan));
			json_array_append_new(vp, m);
		}
		json_object_set_new(o, "vlan_policers", vp);
	}
	if (c->shaper.rate) {
		const struct sw_shaper_cfg *s = &c->shaper;
		json_t *map = json_array(), *cls = json_array();

		for (unsigned p = 0; p < 8; p++)
			json_array_append_new(map, json_integer(s->pcp_class[p]));
		for (unsigned k = 0; k < s->classes && k < SW_MAX_CLASSES; k++)
			json_array_append_new(cls,
					      json_pack("{s:i, s:o, s:o}", "class", (int)k, "sent",
							u64(pi->shaper_sent[k]), "dropped",
							u64(pi->shaper_dropped[k])));
		shaper = json_pack("{s:o, s:o, s:i, s:i, s:o, s:o, s:o}", "rate", u64(s->rate),
				   "burst", u64(s->burst), "classes", (int)s->classes, "queue_len",
				   (int)s->queue_len, "pcp_map", map, "backlog",
				   u64(pi->shaper_backlog), "per_class", cls);
	}
	json_object_set_new(o, "shaper", shaper);
	return o;
}

static json_t *mirror_json(const struct sw_mirror_info *mi)
{
	const struct sw_mirror_cfg *m = &mi->cfg;
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", m->name, "port", m->port,
			      "direction", dir_name(m->dir), "mirrored", u64(mi->mirrored),
			      "dropped", u64(mi->dropped));

	if (!o)
		return NULL;
	if (m->to_pcap[0]) {
		json_object_set_new(o, "to_pcap", json_string(m->to_pcap));
		json_object_set_new(o, "snaplen", json_integer(m->snaplen));
		json_object_set_new(o, "written", u64(mi->written));
	} else {
		json_object_set_new(o, "to_port", json_string(m->to_port));
	}
	return o;
}

static json_t *bridge_json(const struct sw_bridge_info *bi)
{
	const struct sw_fdb_stats *f = &bi->fdb;

	return json_pack(
		"{s:s, s:i, s:o, s:i, s:[], s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}",
		"name", bi->name, "aging_s", (int)bi->aging_s, "fdb_size", u64(bi->fdb_size),
		"n_ports", (int)bi->n_ports, "ports", "fdb", "entries", u64(f->entries), "statics",
		u64(f->statics), "learned", u64(f->learned), "moved", u64(f->moved), "aged",
		u64(f->aged), "flushed", u64(f->flushed), "learn_full", u64(f->learn_full), "hits",
		u64(f->hits), "misses", u64(f->misses));
}

/* ---------------------------------------------------------------------------
 * Commands. Each returns its result, or NULL with a message in err; a
 * command refused for its arguments makes no call that changes the switch.
 */

#define CMD_ARGS(name) \
	json_t *name(struct sw_switch *sw, const json_t *req, char *err, size_t errlen)

/* The message of a failed switch call (its own, or strerror). */
static json_t *switch_failed(int ret, char *err, size_t errlen)
{
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-ret));
	return NULL;
}

/* Index of a bridge by name, or -ENOENT with a message. */
static int bridge_index(struct sw_switch *sw, const char *name, char *err, size_t errlen)
{
	struct sw_bridge_info bi;
	unsigned n = sw_switch_n_bridges(sw);

	for (unsigned i = 0; i < n; i++)
		if (sw_switch_bridge_info(sw, i, &bi) == 0 && strcmp(bi.name, name) == 0)
			return (int)i;
	snprintf(err, errlen, "no bridge \"%s\"", name);
	return -ENOENT;
}

static CMD_ARGS(cmd_show)
{
	struct sw_switch_info si;
	struct sw_bridge_info bi;
	struct sw_port_info pi;
	struct sw_mirror_info mi;
	json_t *lcores = json_array(), *bridges = json_array(), *ports = json_array();
	json_t *mirrors = json_array();
	unsigned n;

	memset(&si, 0, sizeof(si));
	sw_switch_get_info(sw, &si);
	for (unsigned i = 0; i < si.n_pmds && i < SW_MAX_PMD_CORES; i++)
		json_array_append_new(lcores, json_integer(si.pmd_lcores[i]));
	n = sw_switch_n_bridges(sw);
	for (unsigned i = 0; i < n && i < SW_MAX_BRIDGES; i++)
		if (sw_switch_bridge_info(sw, i, &bi) == 0)
			json_array_append_new(bridges, bridge_json(&bi));
	for (unsigned i = 0; i < SW_MAX_PORTS && sw_switch_port_info(sw, i, &pi) == 0; i++) {
		size_t b;
		json_t *br;

		json_array_append_new(ports, port_json(&pi));
		json_array_foreach(bridges, b,
				   br) if (strcmp(json_string_value(json_object_get(br, "name")),
						  pi.bridge) == 0)
			json_array_append_new(json_object_get(br, "ports"),
					      json_string(pi.cfg.name));
	}
	for (unsigned i = 0; i < SW_MAX_MIRRORS && sw_switch_mirror_info(sw, i, &mi) == 0; i++)
		json_array_append_new(mirrors, mirror_json(&mi));
	return json_pack("{s:{s:s, s:i, s:o, s:b, s:o, s:i, s:i, s:i}, s:o, s:o, s:o}", "switch",
			 "version", NFV_VERSION, "pid", (int)getpid(), "pmd_lcores", lcores,
			 "hugepages", si.hugepages, "uptime_ms", u64(si.uptime_ms), "n_bridges",
			 (int)si.n_bridges, "n_ports", (int)si.n_ports, "n_mirrors",
			 (int)si.n_mirrors, "bridges", bridges, "ports", ports, "mirrors", mirrors);
}

static CMD_ARGS(cmd_port_show)
{
	struct sw_port_info pi;
	const char *port;
	int ret;

	if (arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0)
		return NULL;
	ret = sw_switch_port_info_by_name(sw, port, &pi);
	if (ret < 0) {
		snprintf(err, errlen, "no port \"%s\"", port);
		return NULL;
	}
	return port_json(&pi);
}

struct fdb_row {
	uint8_t mac[6];
	uint16_t vlan;
	bool is_static;
	uint32_t age_ms;
	char port[SW_NAME_MAX];
};

struct fdb_collect {
	struct fdb_row *rows;
	size_t n, cap, max;
	uint64_t total;
	bool nomem;
};

static int fdb_collect_one(const struct sw_fdb_entry_info *e, const char *port, void *opaque)
{
	struct fdb_collect *fc = opaque;
	struct fdb_row *r;

	fc->total++;
	if (fc->n == fc->max)
		return 0;
	if (fc->n == fc->cap) {
		size_t cap = fc->cap ? fc->cap * 2 : 256;
		struct fdb_row *rows = realloc(fc->rows, cap * sizeof(*rows));

		if (!rows) {
			fc->nomem = true;
			return 1;
		}
		fc->rows = rows;
		fc->cap = cap;
	}
	r = &fc->rows[fc->n++];
	memcpy(r->mac, e->key.mac, 6);
	r->vlan = e->key.vlan;
	r->is_static = e->is_static;
	r->age_ms = e->is_static ? 0 : e->age_ms;
	snprintf(r->port, sizeof(r->port), "%s", port ? port : "?");
	return 0;
}

static int fdb_row_cmp(const void *a, const void *b)
{
	const struct fdb_row *x = a, *y = b;

	if (x->vlan != y->vlan)
		return x->vlan < y->vlan ? -1 : 1;
	return memcmp(x->mac, y->mac, 6);
}

static CMD_ARGS(cmd_fdb_show)
{
	struct fdb_collect fc = { .max = FDB_SHOW_DEFAULT_MAX };
	const char *bridge;
	json_t *entries, *res;
	uint64_t max;
	bool has_max;
	int ret;

	if (arg_str(req, "bridge", true, SW_NAME_MAX, &bridge, err, errlen) < 0 ||
	    arg_uint(req, "max", false, 1, FDB_SHOW_MAX, &max, &has_max, err, errlen) < 0)
		return NULL;
	if (has_max)
		fc.max = (size_t)max;
	ret = sw_switch_fdb_walk(sw, bridge, fdb_collect_one, &fc);
	if (ret < 0 || fc.nomem) {
		free(fc.rows);
		if (fc.nomem)
			snprintf(err, errlen, "out of memory");
		else if (ret == -ENOENT)
			snprintf(err, errlen, "no bridge \"%s\"", bridge);
		else
			snprintf(err, errlen, "%s", strerror(-ret));
		return NULL;
	}
	if (fc.n)
		qsort(fc.rows, fc.n, sizeof(*fc.rows), fdb_row_cmp);
	entries = json_array();
	for (size_t i = 0; i < fc.n; i++) {
		char mac[18];

		mac_format(fc.rows[i].mac, mac);
		json_array_append_new(entries,
				      json_pack("{s:s, s:i, s:s, s:b, s:i}", "mac", mac, "vlan",
						(int)fc.rows[i].vlan, "port", fc.rows[i].port,
						"static", fc.rows[i].is_static, "age_s",
						(int)(fc.rows[i].age_ms / 1000)));
	}
	free(fc.rows);
	res = json_pack("{s:s, s:o, s:o, s:b}", "bridge", bridge, "entries", entries, "total",
			u64(fc.total), "truncated", fc.total > fc.n);
	return res;
}

static CMD_ARGS(cmd_fdb_flush)
{
	const char *bridge, *port;
	int ret;

	if (arg_str(req, "bridge", true, SW_NAME_MAX, &bridge, err, errlen) < 0 ||
	    arg_str(req, "port", false, SW_NAME_MAX, &port, err, errlen) < 0)
		return NULL;
	ret = sw_switch_fdb_flush(sw, bridge, port, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_pack("{s:i}", "flushed", ret);
}

/* mac and vlan of fdb-add and fdb-del. */
static int fdb_key_args(const json_t *req, uint8_t mac[6], uint16_t *vlan, char *err, size_t errlen)
{
	const char *s;
	uint64_t v;

	if (arg_str(req, "mac", true, 18, &s, err, errlen) < 0)
		return -EINVAL;
	if (parse_mac(s, mac) < 0)
		return bad(err, errlen, "\"mac\": \"%s\" is not a MAC address", s);
	if (arg_uint(req, "vlan", true, 0, SW_VLAN_MAX, &v, NULL, err, errlen) < 0)
		return -EINVAL;
	*vlan = (uint16_t)v;
	return 0;
}

static CMD_ARGS(cmd_fdb_add)
{
	struct sw_static_cfg st;
	const char *bridge, *port;
	int ret;

	memset(&st, 0, sizeof(st));
	if (arg_str(req, "bridge", true, SW_NAME_MAX, &bridge, err, errlen) < 0 ||
	    fdb_key_args(req, st.mac, &st.vlan, err, errlen) < 0 ||
	    arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0)
		return NULL;
	if (st.mac[0] & 1) {
		snprintf(err, errlen, "\"mac\": a static entry needs a unicast address");
		return NULL;
	}
	snprintf(st.port, sizeof(st.port), "%s", port);
	ret = sw_switch_fdb_add_static(sw, bridge, &st, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

static CMD_ARGS(cmd_fdb_del)
{
	const char *bridge;
	uint8_t mac[6];
	uint16_t vlan;
	int ret;

	if (arg_str(req, "bridge", true, SW_NAME_MAX, &bridge, err, errlen) < 0 ||
	    fdb_key_args(req, mac, &vlan, err, errlen) < 0)
		return NULL;
	ret = sw_switch_fdb_del(sw, bridge, mac, vlan, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

/* True when the spec's options (after the first comma) name the port. */
static bool spec_has_name(const char *spec)
{
	for (const char *p = strchr(spec, ','); p; p = strchr(p + 1, ','))
		if (strncmp(p + 1, "name=", 5) == 0)
			return true;
	return false;
}

static CMD_ARGS(cmd_port_add)
{
	struct sw_port_info pi;
	struct sw_config *c;
	struct sw_port_cfg p;
	const char *bridge, *spec;
	char msg[CTL_ERR_MAX] = "";
	int idx, ret;

	if (arg_str(req, "bridge", true, SW_NAME_MAX, &bridge, err, errlen) < 0 ||
	    arg_str(req, "spec", true, SW_CTL_MAX_LINE, &spec, err, errlen) < 0)
		return NULL;
	idx = bridge_index(sw, bridge, err, errlen);
	if (idx < 0)
		return NULL;
	c = malloc(sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sw_config_init(c);
	ret = sw_config_add_cli_port(c, spec, msg, sizeof(msg));
	if (ret < 0 || c->n_ports != 1) {
		free(c);
		snprintf(err, errlen, "\"spec\": %s", msg[0] ? msg : "not a port spec");
		return NULL;
	}
	p = c->ports[0];
	free(c);
	if (!spec_has_name(spec)) {
		/* The scratch config named it p0: take the first pN the switch has not. */
		for (unsigned i = 0; i < 4 * SW_MAX_PORTS; i++) {
			snprintf(p.name, sizeof(p.name), "p%u", i);
			if (sw_switch_port_info_by_name(sw, p.name, &pi) < 0)
				break;
		}
	}
	p.bridge = (unsigned)idx;
	ret = sw_switch_port_add(sw, &p, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	if (sw_switch_port_info_by_name(sw, p.name, &pi) == 0)
		return port_json(&pi);
	return json_pack("{s:s, s:s}", "name", p.name, "bridge", bridge);
}

static CMD_ARGS(cmd_port_del)
{
	const char *port;
	int ret;

	if (arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0)
		return NULL;
	ret = sw_switch_port_del(sw, port, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

/* "native": a VLAN number or "none". */
static int native_arg(const json_t *req, uint16_t *native, char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, "native");
	uint64_t n;

	if (!v)
		return 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "none") == 0) {
		*native = SW_VLAN_NONE;
		return 0;
	}
	if (!json_is_integer(v))
		return bad(err, errlen, "\"native\" must be a VLAN number or \"none\"");
	if (arg_uint(req, "native", false, 0, SW_VLAN_MAX, &n, NULL, err, errlen) < 0)
		return -EINVAL;
	*native = (uint16_t)n;
	return 0;
}

/* Refuses the members in keys that are present: they do not apply to `what`. */
static int refuse_keys(const json_t *req, const char *const *keys, const char *what, char *err,
		       size_t errlen)
{
	for (; *keys; keys++)
		if (json_object_get(req, *keys))
			return bad(err, errlen, "\"%s\" does not apply to %s", *keys, what);
	return 0;
}

/*
 * {port, vlan: N} or {port, mode: "access", tag: N}: access;
 * {port, trunk: LIST, native, native_tagged} (mode "trunk" optional);
 * {port, mode: "default"}.
 */
static int vlan_args(const json_t *req, struct sw_vlan_cfg *v, char *err, size_t errlen)
{
	static const char *const trunk_keys[] = { "trunk", "trunks", "native", "native_tagged",
						  NULL };
	static const char *const access_keys[] = { "vlan", "tag", NULL };
	const char *mode = NULL, *list;
	const char *lkey = json_object_get(req, "trunks") ? "trunks" : "trunk";
	char msg[CTL_ERR_MAX] = "";
	uint64_t tag;
	bool has;

	if (arg_str(req, "mode", false, 16, &mode, err, errlen) < 0)
		return -EINVAL;
	if (json_object_get(req, "trunk") && json_object_get(req, "trunks"))
		return bad(err, errlen, "give \"trunk\" or \"trunks\", not both");
	if (!mode) {
		if (json_object_get(req, "vlan") || json_object_get(req, "tag"))
			mode = "access";
		else if (json_object_get(req, lkey))
			mode = "trunk";
		else
			return bad(err, errlen, "give \"vlan\", \"trunk\" or \"mode\"");
	}
	sw_vlan_cfg_default(v);
	if (strcmp(mode, "default") == 0) {
		if (refuse_keys(req, trunk_keys, "mode \"default\"", err, errlen) < 0 ||
		    refuse_keys(req, access_keys, "mode \"default\"", err, errlen) < 0)
			return -EINVAL;
	} else if (strcmp(mode, "access") == 0) {
		const char *key = json_object_get(req, "tag") ? "tag" : "vlan";

		if (json_object_get(req, "tag") && json_object_get(req, "vlan"))
			return bad(err, errlen, "give \"vlan\" or \"tag\", not both");
		if (refuse_keys(req, trunk_keys, "an access port", err, errlen) < 0 ||
		    arg_uint(req, key, true, 1, SW_VLAN_MAX, &tag, &has, err, errlen) < 0)
			return -EINVAL;
		/* as the config file has it: an access port is in its own VLAN only */
		v->mode = SW_VLAN_ACCESS;
		v->tag = (uint16_t)tag;
		memset(v->allowed, 0, sizeof(v->allowed));
		v->allowed[tag >> 6] |= 1ull << (tag & 63);
	} else if (strcmp(mode, "trunk") == 0) {
		if (refuse_keys(req, access_keys, "a trunk port", err, errlen) < 0 ||
		    arg_str(req, lkey, true, SW_CTL_MAX_LINE, &list, err, errlen) < 0)
			return -EINVAL;
		v->mode = SW_VLAN_TRUNK;
		v->native = 0;
		v->native_tagged = false;
		if (sw_vlan_parse_list(list, v->allowed, msg, sizeof(msg)) < 0)
			return bad(err, errlen, "\"%s\": %s", lkey, msg[0] ? msg : "invalid list");
		if (native_arg(req, &v->native, err, errlen) < 0 ||
		    arg_bool(req, "native_tagged", &v->native_tagged, err, errlen) < 0)
			return -EINVAL;
	} else {
		return bad(err, errlen, "\"mode\" must be \"access\", \"trunk\" or \"default\"");
	}
	msg[0] = '\0';
	if (sw_vlan_cfg_check(v, msg, sizeof(msg)) < 0)
		return bad(err, errlen, "%s", msg[0] ? msg : "invalid VLAN configuration");
	return 0;
}

static CMD_ARGS(cmd_port_set_vlan)
{
	struct sw_vlan_cfg v;
	const char *port;
	int ret;

	if (arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0 ||
	    vlan_args(req, &v, err, errlen) < 0)
		return NULL;
	ret = sw_switch_port_set_vlan(sw, port, &v, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

static int meter_args(const json_t *req, struct sw_meter_cfg *m, char *err, size_t errlen)
{
	static const char *const all[] = { "cir", "cbs", "ebs", "pir", "pbs", NULL };
	static const char *const srtcm_no[] = { "pir", "pbs", NULL };
	static const char *const trtcm_no[] = { "ebs", NULL };
	char msg[CTL_ERR_MAX] = "";
	const char *type;

	memset(m, 0, sizeof(*m));
	if (arg_str(req, "type", true, 16, &type, err, errlen) < 0)
		return -EINVAL;
	if (strcmp(type, "none") == 0) {
		m->type = SW_METER_NONE;
		return refuse_keys(req, all, "type \"none\"", err, errlen);
	} else if (strcmp(type, "srtcm") == 0) {
		m->type = SW_METER_SRTCM;
		if (refuse_keys(req, srtcm_no, "srtcm", err, errlen) < 0 ||
		    arg_amount(req, "cir", true, true, &m->cir, err, errlen) < 0 ||
		    arg_amount(req, "cbs", false, true, &m->cbs, err, errlen) < 0 ||
		    arg_amount(req, "ebs", false, true, &m->ebs, err, errlen) < 0)
			return -EINVAL;
	} else if (strcmp(type, "trtcm") == 0) {
		m->type = SW_METER_TRTCM;
		if (refuse_keys(req, trtcm_no, "trtcm", err, errlen) < 0 ||
		    arg_amount(req, "cir", true, true, &m->cir, err, errlen) < 0 ||
		    arg_amount(req, "cbs", false, true, &m->cbs, err, errlen) < 0 ||
		    arg_amount(req, "pir", true, true, &m->pir, err, errlen) < 0 ||
		    arg_amount(req, "pbs", false, true, &m->pbs, err, errlen) < 0)
			return -EINVAL;
	} else {
		return bad(err, errlen, "\"type\" must be \"srtcm\", \"trtcm\" or \"none\"");
	}
	if (sw_meter_cfg_check(m, msg, sizeof(msg)) < 0)
		return bad(err, errlen, "%s", msg[0] ? msg : "invalid policer");
	return 0;
}

static CMD_ARGS(cmd_port_set_policer)
{
	struct sw_meter_cfg m;
	const char *port;
	int ret;

	if (arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0 ||
	    meter_args(req, &m, err, errlen) < 0)
		return NULL;
	ret = sw_switch_port_set_policer(sw, port, &m, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

/* Defaults as in the configuration file. */
#define SHAPER_DEFAULT_QUEUE_LEN 256
#define FRAME_OVERHEAD 18 /* Ethernet header and one VLAN tag, on top of the MTU */

/* A burst of 10 ms at the rate, and at least two full-size frames. */
static uint64_t shaper_default_burst(uint64_t rate, unsigned mtu)
{
	return MAX(rate / 100, 2 * ((uint64_t)mtu + FRAME_OVERHEAD));
}

/* mtu: the port's, for the default burst. */
static int shaper_args(const json_t *req, unsigned mtu, struct sw_shaper_cfg *s, char *err,
		       size_t errlen)
{
	static const char *const others[] = { "burst", "classes", "queue_len", "pcp_map", NULL };
	const json_t *rate = json_object_get(req, "rate"), *map;
	char msg[CTL_ERR_MAX] = "";
	uint64_t v;

	memset(s, 0, sizeof(*s));
	sw_shaper_default_map(s, 1);
	s->queue_len = SHAPER_DEFAULT_QUEUE_LEN;
	if (json_is_string(rate) && strcmp(json_string_value(rate), "none") == 0)
		return refuse_keys(req, others, "rate \"none\"", err, errlen);
	if (arg_amount(req, "rate", true, true, &s->rate, err, errlen) < 0)
		return -EINVAL;
	if (!s->rate)
		return refuse_keys(req, others, "rate 0", err, errlen);
	s->burst = shaper_default_burst(s->rate, mtu);
	if (arg_amount(req, "burst", false, false, &s->burst, err, errlen) < 0)
		return -EINVAL;
	v = 1;
	if (arg_uint(req, "classes", false, 1, SW_MAX_CLASSES, &v, NULL, err, errlen) < 0)
		return -EINVAL;
	sw_shaper_default_map(s, (uint8_t)v);
	v = SHAPER_DEFAULT_QUEUE_LEN;
	if (arg_uint(req, "queue_len", false, 1, UINT32_MAX, &v, NULL, err, errlen) < 0)
		return -EINVAL;
	s->queue_len = (uint32_t)v;
	map = json_object_get(req, "pcp_map");
	if (map) {
		size_t i;
		const json_t *e;

		if (!json_is_array(map) || json_array_size(map) != 8)
			return bad(err, errlen, "\"pcp_map\" must be an array of 8 classes");
		json_array_foreach(map, i, e)
		{
			if (!json_is_integer(e) || json_integer_value(e) < 0 ||
			    json_integer_value(e) >= s->classes)
				return bad(err, errlen, "\"pcp_map\"[%zu] must be a class in 0..%u",
					   i, (unsigned)s->classes - 1);
			s->pcp_class[i] = (uint8_t)json_integer_value(e);
		}
	}
	if (sw_shaper_cfg_check(s, msg, sizeof(msg)) < 0)
		return bad(err, errlen, "%s", msg[0] ? msg : "invalid shaper");
	return 0;
}

static CMD_ARGS(cmd_port_set_shaper)
{
	struct sw_shaper_cfg s;
	struct sw_port_info pi;
	const char *port;
	int ret;

	if (arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0)
		return NULL;
	if (sw_switch_port_info_by_name(sw, port, &pi) < 0) {
		snprintf(err, errlen, "no port \"%s\"", port);
		return NULL;
	}
	if (shaper_args(req, pi.cfg.mtu, &s, err, errlen) < 0)
		return NULL;
	if (s.rate && s.burst < (uint64_t)pi.cfg.mtu + FRAME_OVERHEAD) {
		snprintf(err, errlen,
			 "\"burst\" (%llu bytes) must hold a full-size frame (%u bytes for MTU %u)",
			 (unsigned long long)s.burst, pi.cfg.mtu + FRAME_OVERHEAD, pi.cfg.mtu);
		return NULL;
	}
	ret = sw_switch_port_set_shaper(sw, port, &s, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

static CMD_ARGS(cmd_mirror_add)
{
	struct sw_mirror_cfg m;
	const char *name, *port, *dir, *to_port, *to_pcap;
	uint64_t snaplen = 65535;
	bool has_snaplen;
	int ret;

	memset(&m, 0, sizeof(m));
	if (arg_str(req, "name", true, SW_NAME_MAX, &name, err, errlen) < 0 ||
	    arg_str(req, "port", true, SW_NAME_MAX, &port, err, errlen) < 0 ||
	    arg_str(req, "direction", true, 8, &dir, err, errlen) < 0 ||
	    arg_str(req, "to_port", false, SW_NAME_MAX, &to_port, err, errlen) < 0 ||
	    arg_str(req, "to_pcap", false, SW_PATH_MAX, &to_pcap, err, errlen) < 0 ||
	    arg_uint(req, "snaplen", false, 64, 65535, &snaplen, &has_snaplen, err, errlen) < 0)
		return NULL;
	if (strcmp(dir, "rx") == 0) {
		m.dir = SW_MIRROR_RX;
	} else if (strcmp(dir, "tx") == 0) {
		m.dir = SW_MIRROR_TX;
	} else if (strcmp(dir, "both") == 0) {
		m.dir = SW_MIRROR_BOTH;
	} else {
		snprintf(err, errlen, "\"direction\" must be \"rx\", \"tx\" or \"both\"");
		return NULL;
	}
	if (!to_port == !to_pcap) {
		snprintf(err, errlen, "give one of \"to_port\" and \"to_pcap\"");
		return NULL;
	}
	if (to_port && has_snaplen) {
		snprintf(err, errlen, "\"snaplen\" applies to \"to_pcap\" only");
		return NULL;
	}
	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(m.port, sizeof(m.port), "%s", port);
	snprintf(m.to_port, sizeof(m.to_port), "%s", to_port ? to_port : "");
	snprintf(m.to_pcap, sizeof(m.to_pcap), "%s", to_pcap ? to_pcap : "");
	m.snaplen = (uint32_t)snaplen;
	ret = sw_switch_mirror_add(sw, &m, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_pack("{s:s}", "name", m.name);
}

static CMD_ARGS(cmd_mirror_del)
{
	const char *name;
	int ret;

	if (arg_str(req, "name", true, SW_NAME_MAX, &name, err, errlen) < 0)
		return NULL;
	ret = sw_switch_mirror_del(sw, name, err, errlen);
	if (ret < 0)
		return switch_failed(ret, err, errlen);
	return json_object();
}

static CMD_ARGS(cmd_mirror_show)
{
	struct sw_mirror_info mi;
	json_t *arr = json_array();

	for (unsigned i = 0; i < SW_MAX_MIRRORS && sw_switch_mirror_info(sw, i, &mi) == 0; i++)
		json_array_append_new(arr, mirror_json(&mi));
	return json_pack("{s:o}", "mirrors", arr);
}

static CMD_ARGS(cmd_stats_clear)
{
	sw_switch_clear_stats(sw);
	return json_object();
}

static CMD_ARGS(cmd_help);

struct ctl_cmd {
	const char *name;
	const char *args; /* synopsis, for help */
	const char *help;
	const char *const keys[12]; /* the arguments it takes, NULL-terminated */
	json_t *(*fn)(struct sw_switch *sw, const json_t *req, char *err, size_t errlen);
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "show",
	  "",
	  "the switch, its bridges, ports (with counters) and mirrors",
	  { NULL },
	  cmd_show },
	{ "port-show", "port", "one port with its counters", { "port", NULL }, cmd_port_show },
	{ "fdb-show",
	  "bridge [max]",
	  "a bridge's forwarding table",
	  { "bridge", "max", NULL },
	  cmd_fdb_show },
	{ "fdb-flush",
	  "bridge [port]",
	  "removes learned entries (of one port)",
	  { "bridge", "port", NULL },
	  cmd_fdb_flush },
	{ "fdb-add",
	  "bridge mac vlan port",
	  "adds a static entry",
	  { "bridge", "mac", "vlan", "port", NULL },
	  cmd_fdb_add },
	{ "fdb-del",
	  "bridge mac vlan",
	  "removes an entry",
	  { "bridge", "mac", "vlan", NULL },
	  cmd_fdb_del },
	{ "port-add",
	  "bridge spec",
	  "adds a port from a command-line port spec",
	  { "bridge", "spec", NULL },
	  cmd_port_add },
	{ "port-del", "port", "removes a port", { "port", NULL }, cmd_port_del },
	{ "port-set-vlan",
	  "port (vlan | trunk [native] [native_tagged] | mode)",
	  "sets a port's VLAN mode",
	  { "port", "mode", "vlan", "tag", "trunk", "trunks", "native", "native_tagged", NULL },
	  cmd_port_set_vlan },
	{ "port-set-policer",
	  "port type [cir cbs ebs pir pbs]",
	  "sets (type none: removes) a port's ingress policer",
	  { "port", "type", "cir", "cbs", "ebs", "pir", "pbs", NULL },
	  cmd_port_set_policer },
	{ "port-set-shaper",
	  "port rate [burst classes queue_len pcp_map]",
	  "sets (rate none: removes) a port's egress shaper",
	  { "port", "rate", "burst", "classes", "queue_len", "pcp_map", NULL },
	  cmd_port_set_shaper },
	{ "mirror-add",
	  "name port direction (to_port | to_pcap [snaplen])",
	  "adds a mirror",
	  { "name", "port", "direction", "to_port", "to_pcap", "snaplen", NULL },
	  cmd_mirror_add },
	{ "mirror-del", "name", "removes a mirror", { "name", NULL }, cmd_mirror_del },
	{ "mirror-show", "", "the mirrors with their counters", { NULL }, cmd_mirror_show },
	{ "stats-clear",
	  "",
	  "zeroes every port, QoS and mirror counter",
	  { NULL },
	  cmd_stats_clear },
	{ "help", "", "this list", { NULL }, cmd_help },
};

static CMD_ARGS(cmd_help)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:s}", "cmd", ctl_cmds[i].name, "args",
						ctl_cmds[i].args, "help", ctl_cmds[i].help));
	return arr;
}

static const struct ctl_cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* Every member of req is "cmd", "id" or one of the command's arguments. */
static int check_keys(const struct ctl_cmd *c, const json_t *req, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)req, key, v)
	{
		bool known = is_common_key(key);

		for (size_t i = 0; !known && c->keys[i]; i++)
			known = strcmp(key, c->keys[i]) == 0;
		if (!known)
			return bad(err, errlen, "unknown argument \"%.64s\" (%s takes: %s)", key,
				   c->name, c->args[0] ? c->args : "none");
	}
	return 0;
}

static json_t *answer(const json_t *req, json_t *res, const char *err)
{
	json_t *ans;
	const json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;

	if (res)
		ans = json_pack("{s:b, s:o}", "ok", 1, "result", res);
	else
		ans = json_pack("{s:b, s:s}", "ok", 0, "error", err[0] ? err : "failed");
	if (ans && id)
		json_object_set(ans, "id", (json_t *)id);
	return ans;
}

json_t *sw_ctl_execute(struct sw_switch *sw, const json_t *req)
{
	char err[CTL_ERR_MAX + 32] = "", msg[CTL_ERR_MAX] = "";
	const struct ctl_cmd *c;
	const char *name;
	json_t *res = NULL;

	if (!json_is_object(req) || !json_is_string(json_object_get(req, "cmd"))) {
		snprintf(err, sizeof(err), "a request is an object with a string \"cmd\"");
		return answer(req, NULL, err);
	}
	name = json_string_value(json_object_get(req, "cmd"));
	c = cmd_find(name);
	if (!c) {
		snprintf(err, sizeof(err), "unknown command \"%.64s\" (\"help\" lists them)", name);
		return answer(req, NULL, err);
	}
	if (check_keys(c, req, msg, sizeof(msg)) == 0)
		res = c->fn(sw, req, msg, sizeof(msg));
	if (!res) {
		if (!msg[0])
			snprintf(msg, sizeof(msg), "out of memory");
		snprintf(err, sizeof(err), "%s: %s", c->name, msg);
	}
	return answer(req, res, err);
}

json_t *sw_ctl_execute_line(struct sw_switch *sw, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *ans;
	char err[CTL_ERR_MAX];

	if (!req) {
		snprintf(err, sizeof(err), "invalid JSON at column %d: %s", jerr.column, jerr.text);
		return json_pack("{s:b, s:s}", "ok", 0, "error", err);
	}
	ans = sw_ctl_execute(sw, req);
	json_decref(req);
	return ans;
}

/* ---------------------------------------------------------------------------
 * The socket
 *
 * A connection reads requests into `in`; each complete line is answered at
 * once. When the answer does not fit in the socket buffer, the rest waits
 * in `out`, the connection waits for EPOLLOUT and reads nothing more until
 * it has been sent: a client that does not read its answers holds at most
 * one answer in memory.
 */

struct ctl_client {
	struct sw_ctl *ctl;
	int fd;
	bool eof;	  /* the client has shut down its side */
	bool discarding;  /* dropping the rest of an overlong request */
	bool waiting_out; /* watched for EPOLLOUT, not EPOLLIN */
	size_t in_len;
	char in[SW_CTL_MAX_LINE];
	char *out;
	size_t out_len, out_off;
};

struct sw_ctl {
	struct evloop *loop;
	struct sw_switch *sw;
	int listen_fd;
	dev_t dev;
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *clients[SW_CTL_MAX_CLIENTS];
};

static void client_close(struct ctl_client *cl)
{
	struct sw_ctl *ctl = cl->ctl;

	for (unsigned i = 0; i < SW_CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i] == cl)
			ctl->clients[i] = NULL;
	evloop_del_fd(ctl->loop, cl->fd);
	close(cl->fd);
	free(cl->out);
	free(cl);
}

/* Writes what it can of out. 0 (all sent, or the rest waits), or -errno. */
static int client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		cl->out_off += (size_t)n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return 0;
}

/* Queues one answer (consumed) and sends what it can. 0 or -errno. */
static int client_reply(struct ctl_client *cl, json_t *ans)
{
	char *s = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(ans);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	s[n] = '\n'; /* replaces the terminator: n + 1 bytes are sent */
	cl->out = s;
	cl->out_len = n + 1;
	cl->out_off = 0;
	return client_flush(cl);
}

/* Answers the complete lines in `in`, until one answer has to wait. */
static int client_process(struct ctl_client *cl)
{
	while (!cl->out) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		size_t used;

		if (nl && cl->discarding) {
			/* the end of an overlong request, already answered */
			used = (size_t)(nl - cl->in) + 1;
			memmove(cl->in, cl->in + used, cl->in_len - used);
			cl->in_len -= used;
			cl->discarding = false;
			continue;
		} else if (nl) {
			used = (size_t)(nl - cl->in) + 1;
		} else if (cl->discarding) {
			cl->in_len = 0;
			return 0;
		} else if (cl->in_len == sizeof(cl->in)) {
			char msg[64];

			snprintf(msg, sizeof(msg), "request longer than %d bytes", SW_CTL_MAX_LINE);
			cl->discarding = true;
			cl->in_len = 0;
			return client_reply(cl, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
		} else if (cl->eof && cl->in_len) {
			/* The last request of a client that has shut down its side. */
			nl = cl->in + cl->in_len;
			used = cl->in_len;
		} else {
			return 0;
		}
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		if (cl->in[0]) {
			int ret = client_reply(cl, sw_ctl_execute_line(cl->ctl->sw, cl->in));

			if (ret < 0)
				return ret;
		}
		memmove(cl->in, cl->in + used, cl->in_len - used);
		cl->in_len -= used;
	}
	return 0;
}

static void client_event(int fd, uint32_t events, void *opaque)
{
	struct ctl_client *cl = opaque;
	bool want_out;
	int ret = 0;

	if (cl->out) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			client_close(cl);
			return;
		}
		ret = client_flush(cl);
	} else {
		ssize_t n = recv(fd, cl->in + cl->in_len, sizeof(cl->in) - cl->in_len, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			client_close(cl);
			return;
		}
		if (n == 0)
			cl->eof = true;
		cl->in_len += (size_t)n;
	}
	if (ret == 0 && !cl->out)
		ret = client_process(cl);
	if (ret < 0 || (!cl->out && cl->eof)) {
		client_close(cl);
		return;
	}
	/* Waits for EPOLLOUT while an answer is pending, for EPOLLIN otherwise. */
	want_out = cl->out != NULL;
	if (want_out != cl->waiting_out) {
		if (evloop_mod_fd(cl->ctl->loop, fd, want_out ? EPOLLOUT : EPOLLIN) < 0) {
			client_close(cl);
			return;
		}
		cl->waiting_out = want_out;
	}
}

static void ctl_accept(int fd, uint32_t events, void *opaque)
{
	static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";
	struct sw_ctl *ctl = opaque;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ctl_client *cl = NULL;
	unsigned slot;

	if (cfd < 0)
		return;
	for (slot = 0; slot < SW_CTL_MAX_CLIENTS; slot++)
		if (!ctl->clients[slot])
			break;
	if (slot < SW_CTL_MAX_CLIENTS)
		cl = calloc(1, sizeof(*cl));
	if (!cl) {
		if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
			log_debug("refused client: %s", strerror(errno));
		close(cfd);
		log_warn_rl("control socket: connection refused, %d clients already",
			    SW_CTL_MAX_CLIENTS);
		return;
	}
	cl->ctl = ctl;
	cl->fd = cfd;
	if (evloop_add_fd(ctl->loop, cfd, EPOLLIN, client_event, cl) < 0) {
		close(cfd);
		free(cl);
		return;
	}
	ctl->clients[slot] = cl;
}

int sw_ctl_open(struct evloop *loop, struct sw_switch *sw, const char *path, struct sw_ctl **out,
		char *err, size_t errlen)
{
	struct sw_ctl *ctl;
	struct stat st;
	char why[128];
	int ret;

	*out = NULL;
	if (!path[0] || strlen(path) >= sizeof(ctl->path)) {
		snprintf(err, errlen, "control socket %s: path empty or longer than %zu bytes",
			 path, sizeof(ctl->path) - 1);
		return -ENAMETOOLONG;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, errlen, "control socket %s: out of memory", path);
		return -ENOMEM;
	}
	ctl->loop = loop;
	ctl->sw = sw;
	memcpy(ctl->path, path, strlen(path) + 1);
	ctl->listen_fd = unix_listen(path, 16, why, sizeof(why));
	if (ctl->listen_fd < 0) {
		ret = ctl->listen_fd;
		snprintf(err, errlen, "control socket %s: %s", path, why);
		goto fail;
	}
	if (stat(path, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ret = evloop_add_fd(loop, ctl->listen_fd, EPOLLIN, ctl_accept, ctl);
	if (ret < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-ret));
		goto fail_unlink;
	}
	*out = ctl;
	return 0;
fail_unlink:
	unlink(path);
fail:
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	free(ctl);
	return ret;
}

void sw_ctl_close(struct sw_ctl *ctl)
{
	struct stat st;

	if (!ctl)
		return;
	for (unsigned i = 0; i < SW_CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i])
			client_close(ctl->clients[i]);
	evloop_del_fd(ctl->loop, ctl->listen_fd);
	close(ctl->listen_fd);
	if (stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
		unlink(ctl->path);
	free(ctl);
}
