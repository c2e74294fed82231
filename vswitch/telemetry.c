/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry commands (telemetry.h). Threads: the callbacks run on DPDK's
 * telemetry thread; register/unregister on the control thread. The only
 * lock here is tel_lock (read by callbacks, written by register and
 * unregister); the switch's readers take its control mutex inside it.
 */
#define LOG_COMPONENT "telemetry"
#include "vswitch/telemetry.h"
#include "vswitch/switch.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

static pthread_rwlock_t tel_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct sw_switch *tel_sw; /* under tel_lock */
static bool tel_registered;	 /* control thread only */

/*
 * Telemetry dict keys take letters, digits, '_' and '/': other characters
 * of a port name become '_'.
 */
static void key_name(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '/'
				 ? name[i]
				 : '_';
	buf[i] = '\0';
}

/* An empty params string means none. */
static const char *param(const char *params)
{
	return params && params[0] ? params : NULL;
}

static void add_port_counters(struct rte_tel_data *d, const struct sw_port_info *pi)
{
	uint64_t drops = 0;

	for (unsigned r = 0; r < SW_DROP_MAX; r++)
		drops += pi->stats.drops[r];
	rte_tel_data_add_dict_int(d, "link_up", pi->link_up);
	rte_tel_data_add_dict_u64(d, "rx_packets", pi->stats.rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", pi->stats.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", pi->stats.tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", pi->stats.tx_bytes);
	rte_tel_data_add_dict_u64(d, "flood_packets", pi->stats.flood_packets);
	rte_tel_data_add_dict_u64(d, "drops", drops);
}

static int port_detail(struct sw_switch *sw, const char *name, struct rte_tel_data *d)
{
	struct sw_port_info pi;
	struct rte_tel_data *sent, *dropped;
	char key[RTE_TEL_MAX_STRING_LEN];

	if (sw_switch_port_info_by_name(sw, name, &pi) < 0)
		return -ENOENT;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", pi.cfg.name);
	rte_tel_data_add_dict_string(d, "bridge", pi.bridge);
	rte_tel_data_add_dict_string(d, "type", sw_port_type_name(pi.cfg.type));
	rte_tel_data_add_dict_int(d, "port_id", pi.port_id == UINT16_MAX ? -1 : pi.port_id);
	rte_tel_data_add_dict_int(d, "mtu", pi.cfg.mtu);
	rte_tel_data_add_dict_int(d, "queues", pi.cfg.queues);
	add_port_counters(d, &pi);
	for (unsigned r = 0; r < SW_DROP_MAX; r++) {
		snprintf(key, sizeof(key), "drop_%s", sw_drop_name(r));
		rte_tel_data_add_dict_u64(d, key, pi.stats.drops[r]);
	}
	rte_tel_data_add_dict_u64(d, "policer_green", pi.policer_green);
	rte_tel_data_add_dict_u64(d, "policer_yellow", pi.policer_yellow);
	rte_tel_data_add_dict_u64(d, "policer_red", pi.policer_red);
	rte_tel_data_add_dict_u64(d, "shaper_backlog", pi.shaper_backlog);
	if (!pi.cfg.shaper.rate)
		return 0;
	sent = rte_tel_data_alloc();
	dropped = rte_tel_data_alloc();
	if (!sent || !dropped) {
		rte_tel_data_free(sent);
		rte_tel_data_free(dropped);
		return 0;
	}
	rte_tel_data_start_array(sent, RTE_TEL_U64_VAL);
	rte_tel_data_start_array(dropped, RTE_TEL_U64_VAL);
	for (unsigned k = 0; k < pi.cfg.shaper.classes && k < SW_MAX_CLASSES; k++) {
		rte_tel_data_add_array_u64(sent, pi.shaper_sent[k]);
		rte_tel_data_add_array_u64(dropped, pi.shaper_dropped[k]);
	}
	if (rte_tel_data_add_dict_container(d, "shaper_sent", sent, 0) < 0)
		rte_tel_data_free(sent);
	if (rte_tel_data_add_dict_container(d, "shaper_dropped", dropped, 0) < 0)
		rte_tel_data_free(dropped);
	return 0;
}

static int ports_all(struct sw_switch *sw, struct rte_tel_data *d)
{
	struct sw_port_info pi;
	char key[RTE_TEL_MAX_STRING_LEN];

	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < SW_MAX_PORTS && sw_switch_port_info(sw, i, &pi) == 0; i++) {
		struct rte_tel_data *p = rte_tel_data_alloc();

		if (!p)
			return -ENOMEM;
		rte_tel_data_start_dict(p);
		add_port_counters(p, &pi);
		key_name(pi.cfg.name, key, sizeof(key));
		if (rte_tel_data_add_dict_container(d, key, p, 0) < 0)
			rte_tel_data_free(p);
	}
	return 0;
}

static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int ret = -ENODEV;

	pthread_rwlock_rdlock(&tel_lock);
	if (tel_sw)
		ret = param(params) ? port_detail(tel_sw, params, d) : ports_all(tel_sw, d);
	pthread_rwlock_unlock(&tel_lock);
	return ret;
}

static int tel_bridges(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct sw_bridge_info bi;
	unsigned n;

	if (param(params))
		return -EINVAL;
	pthread_rwlock_rdlock(&tel_lock);
	if (!tel_sw) {
		pthread_rwlock_unlock(&tel_lock);
		return -ENODEV;
	}
	rte_tel_data_start_dict(d);
	n = sw_switch_n_bridges(tel_sw);
	for (unsigned i = 0; i < n && i < SW_MAX_BRIDGES; i++) {
		struct rte_tel_data *b;
		char key[RTE_TEL_MAX_STRING_LEN];

		if (sw_switch_bridge_info(tel_sw, i, &bi) < 0)
			continue;
		b = rte_tel_data_alloc();
		if (!b)
			break;
		rte_tel_data_start_dict(b);
		rte_tel_data_add_dict_string(b, "name", bi.name);
		rte_tel_data_add_dict_u64(b, "aging_s", bi.aging_s);
		rte_tel_data_add_dict_u64(b, "fdb_size", bi.fdb_size);
		rte_tel_data_add_dict_u64(b, "n_ports", bi.n_ports);
		rte_tel_data_add_dict_u64(b, "fdb_entries", bi.fdb.entries);
		rte_tel_data_add_dict_u64(b, "fdb_statics", bi.fdb.statics);
		rte_tel_data_add_dict_u64(b, "fdb_learned", bi.fdb.learned);
		rte_tel_data_add_dict_u64(b, "fdb_moved", bi.fdb.moved);
		rte_tel_data_add_dict_u64(b, "fdb_aged", bi.fdb.aged);
		rte_tel_data_add_dict_u64(b, "fdb_flushed", bi.fdb.flushed);
		rte_tel_data_add_dict_u64(b, "fdb_learn_full", bi.fdb.learn_full);
		rte_tel_data_add_dict_u64(b, "fdb_hits", bi.fdb.hits);
		rte_tel_data_add_dict_u64(b, "fdb_misses", bi.fdb.misses);
		key_name(bi.name, key, sizeof(key));
		if (rte_tel_data_add_dict_container(d, key, b, 0) < 0)
			rte_tel_data_free(b);
	}
	pthread_rwlock_unlock(&tel_lock);
	return 0;
}

struct fdb_tel {
	struct rte_tel_data *d;
	unsigned n;
};

static int fdb_entry(const struct sw_fdb_entry_info *e, const char *port, void *opaque)
{
	struct fdb_tel *ft = opaque;
	struct rte_tel_data *x;
	char mac[18], key[32];

	if (ft->n >= SW_TELEMETRY_FDB_MAX)
		return 1;
	x = rte_tel_data_alloc();
	if (!x)
		return 1;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->key.mac[0], e->key.mac[1],
		 e->key.mac[2], e->key.mac[3], e->key.mac[4], e->key.mac[5]);
	/* keys take no ':' */
	snprintf(key, sizeof(key), "%02x_%02x_%02x_%02x_%02x_%02x/%u", e->key.mac[0], e->key.mac[1],
		 e->key.mac[2], e->key.mac[3], e->key.mac[4], e->key.mac[5], e->key.vlan);
	rte_tel_data_start_dict(x);
	rte_tel_data_add_dict_string(x, "mac", mac);
	rte_tel_data_add_dict_int(x, "vlan", e->key.vlan);
	rte_tel_data_add_dict_string(x, "port", port ? port : "?");
	rte_tel_data_add_dict_int(x, "static", e->is_static);
	rte_tel_data_add_dict_u64(x, "age_s", e->is_static ? 0 : e->age_ms / 1000);
	if (rte_tel_data_add_dict_container(ft->d, key, x, 0) < 0) {
		rte_tel_data_free(x);
		return 1;
	}
	ft->n++;
	return 0;
}

static int tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct fdb_tel ft = { .d = d };
	struct sw_bridge_info bi;
	const char *bridge = param(params);
	int ret = -ENODEV;

	pthread_rwlock_rdlock(&tel_lock);
	if (!tel_sw)
		goto out;
	if (!bridge) {
		ret = sw_switch_bridge_info(tel_sw, 0, &bi);
		if (ret < 0)
			goto out;
		bridge = bi.name;
	}
	rte_tel_data_start_dict(d);
	ret = sw_switch_fdb_walk(tel_sw, bridge, fdb_entry, &ft);
out:
	pthread_rwlock_unlock(&tel_lock);
	return ret < 0 ? ret : 0;
}

int sw_telemetry_register(struct sw_switch *sw)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{ "/nfv/bridges", tel_bridges,
		  "nfv-switchd bridges with their FDB counters. Takes no parameters." },
		{ "/nfv/ports", tel_ports,
		  "nfv-switchd ports: counters of each, or one port in detail. Parameter: "
		  "port name (optional)." },
		{ "/nfv/fdb", tel_fdb,
		  "A bridge's FDB entries (at most 100). Parameter: bridge name (default: "
		  "the first bridge)." },
	};

	if (!tel_registered) {
		for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
			int ret = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help);

			if (ret < 0) {
				log_err("cannot register telemetry command %s: %s", cmds[i].cmd,
					strerror(-ret));
				return ret;
			}
		}
		tel_registered = true;
	}
	pthread_rwlock_wrlock(&tel_lock);
	tel_sw = sw;
	pthread_rwlock_unlock(&tel_lock);
	return 0;
}

void sw_telemetry_unregister(void)
{
	pthread_rwlock_wrlock(&tel_lock);
	tel_sw = NULL;
	pthread_rwlock_unlock(&tel_lock);
}
