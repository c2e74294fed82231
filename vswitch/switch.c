/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch as a whole (see switch.h): control-side records of bridges,
 * ports and mirrors, from which a fresh datapath state is built and
 * published for every change.
 *
 * Locking: sw->lock (a mutex) serialises every function here, from the
 * control thread and the telemetry thread. The polling threads never take
 * it; they see only published states (datapath.h).
 */
#define LOG_COMPONENT "switch"
#include "vswitch/switch.h"
#include "vswitch/datapath.h"
#include "vswitch/fdb.h"
#include "vswitch/mirror.h"
#include "vswitch/port.h"
#include "vswitch/qos.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define SW_MBUFS_DEFAULT 32768u

struct sw_port_rec {
	bool used;
	struct sw_port_cfg cfg;
	struct sw_ethport ep;
	unsigned order;			/* creation order, for listings */
	struct sw_policer *policer;
	struct sw_policer *vlan_policers[SW_MAX_VLAN_POLICERS];
	struct sw_shaper *shaper;
	rte_spinlock_t txq_locks[SW_MAX_PMDS];
	bool link_up;
	struct sw_port_stats base;	/* counters at creation or last clear */
	/* QoS counters at the last clear (the port policer's and the shaper's
	 * start from zero when they are replaced). */
	struct sw_policer_stats pol_base, vpol_base;
	uint64_t shaper_sent_base[SW_MAX_CLASSES], shaper_dropped_base[SW_MAX_CLASSES];
};

struct sw_bridge_rec {
	struct sw_bridge_cfg cfg;
	struct sw_fdb *fdb;
};

struct sw_mirror_rec {
	bool used;
	struct sw_mirror_cfg cfg;
	struct sw_pcap_writer *writer;
	uint16_t src_slot, to_slot;
	uint64_t base_mirrored, base_dropped;
};

struct sw_switch {
	pthread_mutex_t lock;
	struct sw_dp dp;
	struct rte_mempool *pool;
	struct sw_bridge_rec bridges[SW_MAX_BRIDGES];
	unsigned n_bridges;
	struct sw_port_rec ports[SW_MAX_PORTS];
	struct sw_mirror_rec mirrors[SW_MAX_MIRRORS];
	unsigned next_order;
	unsigned unique;		/* for device and object names */
	uint64_t start_ms;
	bool hugepages;
};

static const char *const drop_names[SW_DROP_MAX] = {
	[SW_DROP_VLAN] = "vlan",	[SW_DROP_POLICER] = "policer",
	[SW_DROP_SHAPER] = "shaper",	[SW_DROP_MTU] = "mtu",
	[SW_DROP_NOBUF] = "no_buffer", [SW_DROP_RUNT] = "runt",
	[SW_DROP_NOPORT] = "same_port",
};

const char *sw_drop_name(enum sw_drop d)
{
	return (unsigned)d < SW_DROP_MAX ? drop_names[d] : "?";
}

static int find_port(const struct sw_switch *sw, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i].used && !strcmp(sw->ports[i].cfg.name, name))
			return (int)i;
	return -1;
}

static int find_bridge(const struct sw_switch *sw, const char *name)
{
	for (unsigned i = 0; i < sw->n_bridges; i++)
		if (!strcmp(sw->bridges[i].cfg.name, name))
			return (int)i;
	return -1;
}

static int find_mirror(const struct sw_switch *sw, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_MIRRORS; i++)
		if (sw->mirrors[i].used && !strcmp(sw->mirrors[i].cfg.name, name))
			return (int)i;
	return -1;
}

static bool vlan_is_default(const struct sw_vlan_cfg *v)
{
	struct sw_vlan_cfg d;

	sw_vlan_cfg_default(&d);
	return v->mode == d.mode && v->native == d.native && v->native_tagged == d.native_tagged &&
	       !memcmp(v->allowed, d.allowed, sizeof(d.allowed));
}

/* ---- building and publishing the datapath state ---- */

static void state_free(struct sw_dp_state *st)
{
	if (!st)
		return;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		free(st->ports[i]);
	free(st);
}

/* The used port slots in creation order; returns how many. */
static unsigned ports_in_order(const struct sw_switch *sw, uint16_t slots[SW_MAX_PORTS])
{
	unsigned n = 0;

	for (unsigned s = 0; s < SW_MAX_PORTS; s++) {
		unsigned i;

		if (!sw->ports[s].used)
			continue;
		for (i = n; i > 0 && sw->ports[slots[i - 1]].order > sw->ports[s].order; i--)
			slots[i] = slots[i - 1];
		slots[i] = (uint16_t)s;
		n++;
	}
	return n;
}

static struct sw_dp_state *state_build(struct sw_switch *sw)
{
	struct sw_dp_state *st = calloc(1, sizeof(*st));
	uint16_t slots[SW_MAX_PORTS];
	unsigned next_pmd = 0, n;

	if (!st)
		return NULL;
	for (unsigned b = 0; b < sw->n_bridges; b++)
		st->bridges[b].fdb = sw->bridges[b].fdb;
	/* Ports in creation order, so RX queues spread the same way every time. */
	n = ports_in_order(sw, slots);
	for (unsigned i = 0; i < n; i++) {
		unsigned s = slots[i];
		struct sw_port_rec *r = &sw->ports[s];
		struct sw_dp_port *p;

		p = calloc(1, sizeof(*p));
		if (!p) {
			state_free(st);
			return NULL;
		}
		p->vhost = r->ep.vhost;
		p->port_id = r->ep.port_id;
		p->slot = (uint16_t)s;
		p->bridge = (uint8_t)r->cfg.bridge;
		p->mtu = r->cfg.mtu;
		p->n_txq = r->ep.n_txq ? r->ep.n_txq : 1;
		/* rte_vhost serialises the threads sending on one ring itself. */
		p->txq_locked = !p->vhost && sw->dp.n_pmds > p->n_txq;
		p->txq_locks = r->txq_locks;
		p->vlan = r->cfg.vlan;
		p->vlan_default = vlan_is_default(&r->cfg.vlan);
		p->policer = r->policer;
		p->n_vlan_policers = r->cfg.n_vlan_policers;
		for (unsigned v = 0; v < r->cfg.n_vlan_policers; v++) {
			p->vlan_policers[v].vlan = r->cfg.vlan_policers[v].vlan;
			p->vlan_policers[v].policer = r->vlan_policers[v];
		}
		p->shaper = r->shaper;
		for (unsigned q = 0; q < r->ep.n_rxq; q++) {
			unsigned pmd = next_pmd++ % sw->dp.n_pmds;
			struct sw_dp_rxq *rq = &st->rxqs[pmd][st->n_rxqs[pmd]];

			if (st->n_rxqs[pmd] >= ARRAY_SIZE(st->rxqs[0]))
				continue;
			rq->vhost = r->ep.vhost;
			rq->port_id = r->ep.port_id;
			rq->slot = (uint16_t)s;
			rq->queue = (uint16_t)q;
			st->n_rxqs[pmd]++;
			if (q == 0)
				p->shaper_pmd = (uint8_t)pmd;
		}
		if (p->shaper)
			st->shaped[p->shaper_pmd][st->n_shaped[p->shaper_pmd]++] = (uint16_t)s;
		st->ports[s] = p;
		st->bridges[p->bridge].slots[st->bridges[p->bridge].n_ports++] = (uint16_t)s;
	}
	for (unsigned m = 0; m < SW_MAX_MIRRORS; m++) {
		struct sw_mirror_rec *mr = &sw->mirrors[m];
		struct sw_dp_port *src;

		if (!mr->used || !(src = st->ports[mr->src_slot]))
			continue;
		st->mirrors[m].live = true;
		st->mirrors[m].to_slot = mr->writer ? SW_SLOT_NONE : mr->to_slot;
		st->mirrors[m].writer = mr->writer;
		if (mr->cfg.dir & SW_MIRROR_RX)
			src->rx_mirrors[src->n_rx_mirrors++] = (uint8_t)m;
		if (mr->cfg.dir & SW_MIRROR_TX)
			src->tx_mirrors[src->n_tx_mirrors++] = (uint8_t)m;
	}
	return st;
}

/* Builds and publishes a state from the records; on success the old state
 * is unreachable from the polling threads when this returns. */
static int republish(struct sw_switch *sw, char *err, size_t errlen)
{
	struct sw_dp_state *st = state_build(sw);

	if (!st) {
		snprintf(err, errlen, "out of memory building the datapath state");
		return -ENOMEM;
	}
	state_free(sw_dp_publish(&sw->dp, st));
	return 0;
}

/* ---- ports ---- */

static void port_qos_free(struct sw_policer *pol, struct sw_policer **vpol, unsigned nv,
			  struct sw_shaper *sh)
{
	sw_policer_free(pol);
	for (unsigned i = 0; i < nv; i++)
		sw_policer_free(vpol[i]);
	sw_shaper_free(sh);
}

/* Creates the QoS objects a port config asks for. */
static int port_qos_create(struct sw_switch *sw, const struct sw_port_cfg *cfg,
			   struct sw_policer **pol, struct sw_policer **vpol,
			   struct sw_shaper **sh, char *err, size_t errlen)
{
	uint64_t hz = rte_get_tsc_hz();
	char msg[160];
	int rc = 0;

	*pol = NULL;
	*sh = NULL;
	memset(vpol, 0, sizeof(*vpol) * SW_MAX_VLAN_POLICERS);
	if (cfg->policer.type != SW_METER_NONE) {
		*pol = sw_policer_create(&cfg->policer, hz, &rc, msg, sizeof(msg));
		if (!*pol) {
			snprintf(err, errlen, "port %s: policer: %s", cfg->name, msg);
			goto fail;
		}
	}
	for (unsigned i = 0; i < cfg->n_vlan_policers; i++) {
		vpol[i] = sw_policer_create(&cfg->vlan_policers[i].meter, hz, &rc, msg,
					    sizeof(msg));
		if (!vpol[i]) {
			snprintf(err, errlen, "port %s: policer of VLAN %u: %s", cfg->name,
				 cfg->vlan_policers[i].vlan, msg);
			goto fail;
		}
	}
	if (cfg->shaper.rate) {
		char name[48];

		snprintf(name, sizeof(name), "shp%u", sw->unique++);
		*sh = sw_shaper_create(name, &cfg->shaper, hz, (int)rte_socket_id(), &rc, msg,
				       sizeof(msg));
		if (!*sh) {
			snprintf(err, errlen, "port %s: shaper: %s", cfg->name, msg);
			goto fail;
		}
	}
	return 0;
fail:
	port_qos_free(*pol, vpol, cfg->n_vlan_policers, *sh);
	*pol = NULL;
	*sh = NULL;
	return rc ? rc : -EINVAL;
}

static int port_add_locked(struct sw_switch *sw, const struct sw_port_cfg *cfg, bool publish,
			   char *err, size_t errlen)
{
	struct sw_port_rec *r = NULL;
	unsigned slot;
	char msg[256];
	int rc;

	if (find_port(sw, cfg->name) >= 0) {
		snprintf(err, errlen, "port %s exists already", cfg->name);
		return -EEXIST;
	}
	const char *what, *res = sw_port_resource(cfg, &what);

	for (unsigned i = 0; res && i < SW_MAX_PORTS; i++) {
		const char *qwhat, *qres;

		if (!sw->ports[i].used)
			continue;
		qres = sw_port_resource(&sw->ports[i].cfg, &qwhat);
		if (qres && !strcmp(what, qwhat) && !strcmp(res, qres)) {
			snprintf(err, errlen, "port %s: %s '%s' is already used by port %s",
				 cfg->name, what, res, sw->ports[i].cfg.name);
			return -EEXIST;
		}
	}
	if (cfg->bridge >= sw->n_bridges) {
		snprintf(err, errlen, "port %s: no bridge %u", cfg->name, cfg->bridge);
		return -EINVAL;
	}
	if (sw_vlan_cfg_check(&cfg->vlan, msg, sizeof(msg))) {
		snprintf(err, errlen, "port %s: %s", cfg->name, msg);
		return -EINVAL;
	}
	for (slot = 0; slot < SW_MAX_PORTS; slot++)
		if (!sw->ports[slot].used)
			break;
	if (slot == SW_MAX_PORTS) {
		snprintf(err, errlen, "port %s: the switch has %u ports already", cfg->name,
			 SW_MAX_PORTS);
		return -ENOSPC;
	}
	r = &sw->ports[slot];
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	rc = port_qos_create(sw, cfg, &r->policer, r->vlan_policers, &r->shaper, err, errlen);
	if (rc)
		return rc;
	rc = sw_port_open(cfg, sw->unique++, (uint16_t)sw->dp.n_pmds, sw->pool, sw->dp.qsv,
			  &r->ep, err, errlen);
	if (rc) {
		port_qos_free(r->policer, r->vlan_policers, cfg->n_vlan_policers, r->shaper);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	for (unsigned i = 0; i < SW_MAX_PMDS; i++)
		rte_spinlock_init(&r->txq_locks[i]);
	r->used = true;
	r->order = sw->next_order++;
	/* Counters of a reused slot start from zero. */
	sw_dp_port_counters(&sw->dp, slot, &r->base);
	r->link_up = sw_port_link_up(&r->ep);
	if (publish) {
		rc = republish(sw, err, errlen);
		if (rc) {
			sw_port_close(&r->ep);
			port_qos_free(r->policer, r->vlan_policers, cfg->n_vlan_policers,
				      r->shaper);
			memset(r, 0, sizeof(*r));
			return rc;
		}
	}
	return 0;
}

int sw_switch_port_add(struct sw_switch *sw, const struct sw_port_cfg *p, char *err,
		       size_t errlen)
{
	int rc;

	pthread_mutex_lock(&sw->lock);
	rc = port_add_locked(sw, p, true, err, errlen);
	pthread_mutex_unlock(&sw->lock);
	if (!rc)
		log_info("port %s added to bridge %s", p->name, sw->bridges[p->bridge].cfg.name);
	return rc;
}

int sw_switch_port_del(struct sw_switch *sw, const char *name, char *err, size_t errlen)
{
	struct sw_port_rec old;
	int slot, rc;

	pthread_mutex_lock(&sw->lock);
	slot = find_port(sw, name);
	if (slot < 0) {
		snprintf(err, errlen, "no port %s", name);
		rc = -ENOENT;
		goto out;
	}
	for (unsigned m = 0; m < SW_MAX_MIRRORS; m++) {
		struct sw_mirror_rec *mr = &sw->mirrors[m];

		if (mr->used && (mr->src_slot == slot || (!mr->writer && mr->to_slot == slot))) {
			snprintf(err, errlen, "port %s is used by mirror %s: delete the mirror first",
				 name, mr->cfg.name);
			rc = -EBUSY;
			goto out;
		}
	}
	old = sw->ports[slot];
	sw->ports[slot].used = false;
	rc = republish(sw, err, errlen);
	if (rc) {
		sw->ports[slot] = old;
		goto out;
	}
	/* No polling thread sees the port any more. */
	sw_fdb_flush(sw->bridges[old.cfg.bridge].fdb, (uint16_t)slot, true);
	sw_port_close(&old.ep);
	port_qos_free(old.policer, old.vlan_policers, old.cfg.n_vlan_policers, old.shaper);
	memset(&sw->ports[slot], 0, sizeof(sw->ports[slot]));
	log_info("port %s deleted", name);
out:
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int sw_switch_port_set_vlan(struct sw_switch *sw, const char *name, const struct sw_vlan_cfg *v,
			    char *err, size_t errlen)
{
	struct sw_vlan_cfg old;
	char msg[256];
	int slot, rc;

	if (sw_vlan_cfg_check(v, msg, sizeof(msg))) {
		snprintf(err, errlen, "port %s: %s", name, msg);
		return -EINVAL;
	}
	pthread_mutex_lock(&sw->lock);
	slot = find_port(sw, name);
	if (slot < 0) {
		snprintf(err, errlen, "no port %s", name);
		rc = -ENOENT;
		goto out;
	}
	if (v->mode == SW_VLAN_ACCESS && sw->ports[slot].cfg.n_vlan_policers) {
		snprintf(err, errlen, "port %s has VLAN policers: an access port cannot keep them",
			 name);
		rc = -EINVAL;
		goto out;
	}
	old = sw->ports[slot].cfg.vlan;
	sw->ports[slot].cfg.vlan = *v;
	rc = republish(sw, err, errlen);
	if (rc) {
		sw->ports[slot].cfg.vlan = old;
		goto out;
	}
	/* Stations learned in the old VLANs are not reachable the same way. */
	sw_fdb_flush(sw->bridges[sw->ports[slot].cfg.bridge].fdb, (uint16_t)slot, false);
out:
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int sw_switch_port_set_policer(struct sw_switch *sw, const char *name,
			       const struct sw_meter_cfg *m, char *err, size_t errlen)
{
	struct sw_policer *np = NULL, *op;
	char msg[160];
	int slot, rc = 0;

	if (m->type != SW_METER_NONE) {
		if (sw_meter_cfg_check(m, msg, sizeof(msg))) {
			snprintf(err, errlen, "port %s: policer: %s", name, msg);
			return -EINVAL;
		}
		np = sw_policer_create(m, rte_get_tsc_hz(), &rc, msg, sizeof(msg));
		if (!np) {
			snprintf(err, errlen, "port %s: policer: %s", name, msg);
			return rc ? rc : -EINVAL;
		}
	}
	pthread_mutex_lock(&sw->lock);
	slot = find_port(sw, name);
	if (slot < 0) {
		snprintf(err, errlen, "no port %s", name);
		sw_policer_free(np);
		rc = -ENOENT;
		goto out;
	}
	op = sw->ports[slot].policer;
	sw->ports[slot].policer = np;
	rc = republish(sw, err, errlen);
	if (rc) {
		sw->ports[slot].policer = op;
		sw_policer_free(np);
		goto out;
	}
	sw->ports[slot].cfg.policer = *m;
	memset(&sw->ports[slot].pol_base, 0, sizeof(sw->ports[slot].pol_base));
	sw_policer_free(op);
out:
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int sw_switch_port_set_shaper(struct sw_switch *sw, const char *name,
			      const struct sw_shaper_cfg *s, char *err, size_t errlen)
{
	struct sw_shaper *ns = NULL, *os;
	char msg[160], sname[48];
	int slot, rc = 0;

	pthread_mutex_lock(&sw->lock);
	slot = find_port(sw, name);
	if (slot < 0) {
		snprintf(err, errlen, "no port %s", name);
		rc = -ENOENT;
		goto out;
	}
	if (s->rate) {
		if (sw_shaper_cfg_check(s, msg, sizeof(msg))) {
			snprintf(err, errlen, "port %s: shaper: %s", name, msg);
			rc = -EINVAL;
			goto out;
		}
		snprintf(sname, sizeof(sname), "shp%u", sw->unique++);
		ns = sw_shaper_create(sname, s, rte_get_tsc_hz(), (int)rte_socket_id(), &rc, msg,
				      sizeof(msg));
		if (!ns) {
			snprintf(err, errlen, "port %s: shaper: %s", name, msg);
			rc = rc ? rc : -EINVAL;
			goto out;
		}
	}
	os = sw->ports[slot].shaper;
	sw->ports[slot].shaper = ns;
	rc = republish(sw, err, errlen);
	if (rc) {
		sw->ports[slot].shaper = os;
		sw_shaper_free(ns);
		goto out;
	}
	sw->ports[slot].cfg.shaper = *s;
	memset(sw->ports[slot].shaper_sent_base, 0, sizeof(sw->ports[slot].shaper_sent_base));
	memset(sw->ports[slot].shaper_dropped_base, 0,
	       sizeof(sw->ports[slot].shaper_dropped_base));
	/* Frames still queued in the old shaper are dropped with it. */
	sw_shaper_free(os);
out:
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

/* ---- mirrors ---- */

static int mirror_add_locked(struct sw_switch *sw, const struct sw_mirror_cfg *m, bool publish,
			     char *err, size_t errlen)
{
	struct sw_mirror_rec *mr;
	unsigned ms;
	int src, to = -1, rc;

	if (find_mirror(sw, m->name) >= 0) {
		snprintf(err, errlen, "mirror %s exists already", m->name);
		return -EEXIST;
	}
	src = find_port(sw, m->port);
	if (src < 0) {
		snprintf(err, errlen, "mirror %s: no port %s", m->name, m->port);
		return -ENOENT;
	}
	if (!m->to_pcap[0]) {
		to = find_port(sw, m->to_port);
		if (to < 0) {
			snprintf(err, errlen, "mirror %s: no port %s", m->name, m->to_port);
			return -ENOENT;
		}
		if (to == src) {
			snprintf(err, errlen, "mirror %s: a port cannot be its own mirror",
				 m->name);
			return -EINVAL;
		}
	}
	if (!(m->dir & SW_MIRROR_BOTH)) {
		snprintf(err, errlen, "mirror %s: direction must be rx, tx or both", m->name);
		return -EINVAL;
	}
	for (ms = 0; ms < SW_MAX_MIRRORS; ms++)
		if (!sw->mirrors[ms].used)
			break;
	if (ms == SW_MAX_MIRRORS) {
		snprintf(err, errlen, "mirror %s: the switch has %u mirrors already", m->name,
			 SW_MAX_MIRRORS);
		return -ENOSPC;
	}
	mr = &sw->mirrors[ms];
	memset(mr, 0, sizeof(*mr));
	mr->cfg = *m;
	mr->src_slot = (uint16_t)src;
	mr->to_slot = to < 0 ? SW_SLOT_NONE : (uint16_t)to;
	if (m->to_pcap[0]) {
		char name[48], msg[256];

		snprintf(name, sizeof(name), "mir%u", sw->unique++);
		mr->writer = sw_pcap_writer_start(name, m->to_pcap, m->snaplen ? m->snaplen : 65535,
						  (int)rte_socket_id(), msg, sizeof(msg));
		if (!mr->writer) {
			snprintf(err, errlen, "mirror %s: %s", m->name, msg);
			return -EIO;
		}
	}
	sw_dp_mirror_counters(&sw->dp, ms, &mr->base_mirrored, &mr->base_dropped);
	mr->used = true;
	if (publish) {
		rc = republish(sw, err, errlen);
		if (rc) {
			mr->used = false;
			if (mr->writer)
				sw_pcap_writer_stop(mr->writer);
			memset(mr, 0, sizeof(*mr));
			return rc;
		}
	}
	return 0;
}

int sw_switch_mirror_add(struct sw_switch *sw, const struct sw_mirror_cfg *m, char *err,
			 size_t errlen)
{
	int rc;

	pthread_mutex_lock(&sw->lock);
	rc = mirror_add_locked(sw, m, true, err, errlen);
	pthread_mutex_unlock(&sw->lock);
	if (!rc)
		log_info("mirror %s of port %s started", m->name, m->port);
	return rc;
}

int sw_switch_mirror_del(struct sw_switch *sw, const char *name, char *err, size_t errlen)
{
	struct sw_pcap_writer *w;
	int ms, rc;

	pthread_mutex_lock(&sw->lock);
	ms = find_mirror(sw, name);
	if (ms < 0) {
		snprintf(err, errlen, "no mirror %s", name);
		rc = -ENOENT;
		goto out;
	}
	sw->mirrors[ms].used = false;
	rc = republish(sw, err, errlen);
	if (rc) {
		sw->mirrors[ms].used = true;
		goto out;
	}
	w = sw->mirrors[ms].writer;
	if (w)
		sw_pcap_writer_stop(w);
	memset(&sw->mirrors[ms], 0, sizeof(sw->mirrors[ms]));
	log_info("mirror %s stopped", name);
out:
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

/* ---- forwarding tables ---- */

static struct sw_fdb *bridge_fdb(struct sw_switch *sw, const char *bridge, char *err,
				 size_t errlen)
{
	int b = find_bridge(sw, bridge);

	if (b < 0) {
		snprintf(err, errlen, "no bridge %s", bridge);
		return NULL;
	}
	return sw->bridges[b].fdb;
}

int sw_switch_fdb_flush(struct sw_switch *sw, const char *bridge, const char *port, char *err,
			size_t errlen)
{
	struct sw_fdb *f;
	int rc;

	pthread_mutex_lock(&sw->lock);
	f = bridge_fdb(sw, bridge, err, errlen);
	if (!f) {
		rc = -ENOENT;
	} else if (port) {
		int slot = find_port(sw, port);

		if (slot < 0 || strcmp(sw->bridges[sw->ports[slot].cfg.bridge].cfg.name, bridge)) {
			snprintf(err, errlen, "no port %s in bridge %s", port, bridge);
			rc = -ENOENT;
		} else {
			rc = (int)sw_fdb_flush(f, (uint16_t)slot, false);
		}
	} else {
		rc = (int)sw_fdb_flush(f, SW_FDB_MISS, false);
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

static int fdb_add_static_locked(struct sw_switch *sw, unsigned b, const struct sw_static_cfg *s,
				 char *err, size_t errlen)
{
	struct sw_fdb_key key;
	int slot, rc;

	slot = find_port(sw, s->port);
	if (slot < 0 || sw->ports[slot].cfg.bridge != b) {
		snprintf(err, errlen, "no port %s in bridge %s", s->port, sw->bridges[b].cfg.name);
		return -ENOENT;
	}
	if (s->vlan > SW_VLAN_MAX) {
		snprintf(err, errlen, "VLAN %u is out of range 0..%u", s->vlan, SW_VLAN_MAX);
		return -EINVAL;
	}
	memcpy(key.mac, s->mac, 6);
	key.vlan = s->vlan;
	rc = sw_fdb_add_static(sw->bridges[b].fdb, &key, (uint16_t)slot);
	if (rc == -EINVAL)
		snprintf(err, errlen, "a static entry needs a unicast MAC address");
	else if (rc == -ENOSPC)
		snprintf(err, errlen, "the forwarding table of %s is full", sw->bridges[b].cfg.name);
	else if (rc)
		snprintf(err, errlen, "static entry: %s", strerror(-rc));
	return rc;
}

int sw_switch_fdb_add_static(struct sw_switch *sw, const char *bridge,
			     const struct sw_static_cfg *s, char *err, size_t errlen)
{
	int b, rc;

	pthread_mutex_lock(&sw->lock);
	b = find_bridge(sw, bridge);
	if (b < 0) {
		snprintf(err, errlen, "no bridge %s", bridge);
		rc = -ENOENT;
	} else {
		rc = fdb_add_static_locked(sw, (unsigned)b, s, err, errlen);
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int sw_switch_fdb_del(struct sw_switch *sw, const char *bridge, const uint8_t mac[6],
		      uint16_t vlan, char *err, size_t errlen)
{
	struct sw_fdb_key key;
	struct sw_fdb *f;
	int rc;

	pthread_mutex_lock(&sw->lock);
	f = bridge_fdb(sw, bridge, err, errlen);
	if (!f) {
		rc = -ENOENT;
	} else {
		memcpy(key.mac, mac, 6);
		key.vlan = vlan;
		rc = sw_fdb_del(f, &key);
		if (rc)
			snprintf(err, errlen, "no entry %02x:%02x:%02x:%02x:%02x:%02x VLAN %u in %s",
				 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], vlan, bridge);
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

void sw_switch_clear_stats(struct sw_switch *sw)
{
	pthread_mutex_lock(&sw->lock);
	for (unsigned s = 0; s < SW_MAX_PORTS; s++) {
		struct sw_port_rec *r = &sw->ports[s];
		struct sw_policer_stats ps;

		if (!r->used)
			continue;
		sw_dp_port_counters(&sw->dp, s, &r->base);
		memset(&r->pol_base, 0, sizeof(r->pol_base));
		memset(&r->vpol_base, 0, sizeof(r->vpol_base));
		if (r->policer)
			sw_policer_get_stats(r->policer, &r->pol_base);
		for (unsigned i = 0; i < r->cfg.n_vlan_policers; i++) {
			sw_policer_get_stats(r->vlan_policers[i], &ps);
			r->vpol_base.green += ps.green;
			r->vpol_base.yellow += ps.yellow;
			r->vpol_base.red += ps.red;
		}
		if (r->shaper) {
			unsigned nc = sw_shaper_classes(r->shaper);

			for (unsigned c = 0; c < nc && c < SW_MAX_CLASSES; c++) {
				struct sw_shaper_class_stats cs;

				sw_shaper_get_stats(r->shaper, c, &cs);
				r->shaper_sent_base[c] = cs.sent;
				r->shaper_dropped_base[c] = cs.dropped;
			}
		}
	}
	for (unsigned m = 0; m < SW_MAX_MIRRORS; m++)
		if (sw->mirrors[m].used)
			sw_dp_mirror_counters(&sw->dp, m, &sw->mirrors[m].base_mirrored,
					      &sw->mirrors[m].base_dropped);
	pthread_mutex_unlock(&sw->lock);
}

/* ---- readers ---- */

void sw_switch_get_info(struct sw_switch *sw, struct sw_switch_info *info)
{
	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&sw->lock);
	info->n_pmds = sw->dp.n_pmds;
	memcpy(info->pmd_lcores, sw->dp.lcores, sizeof(info->pmd_lcores));
	info->hugepages = sw->hugepages;
	info->n_bridges = sw->n_bridges;
	for (unsigned s = 0; s < SW_MAX_PORTS; s++)
		info->n_ports += sw->ports[s].used;
	for (unsigned m = 0; m < SW_MAX_MIRRORS; m++)
		info->n_mirrors += sw->mirrors[m].used;
	info->uptime_ms = sw_dp_now_ms(&sw->dp) - sw->start_ms;
	pthread_mutex_unlock(&sw->lock);
}

unsigned sw_switch_n_bridges(struct sw_switch *sw)
{
	return sw->n_bridges;
}

int sw_switch_bridge_info(struct sw_switch *sw, unsigned idx, struct sw_bridge_info *info)
{
	int rc = 0;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&sw->lock);
	if (idx >= sw->n_bridges) {
		rc = -ENOENT;
	} else {
		struct sw_bridge_rec *b = &sw->bridges[idx];

		snprintf(info->name, sizeof(info->name), "%s", b->cfg.name);
		info->aging_s = b->cfg.aging_s;
		info->fdb_size = b->cfg.fdb_size;
		for (unsigned s = 0; s < SW_MAX_PORTS; s++)
			info->n_ports += sw->ports[s].used && sw->ports[s].cfg.bridge == idx;
		sw_fdb_get_stats(b->fdb, &info->fdb);
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

static void fill_port_info(struct sw_switch *sw, unsigned slot, struct sw_port_info *info)
{
	struct sw_port_rec *r = &sw->ports[slot];
	struct sw_port_stats now;

	memset(info, 0, sizeof(*info));
	info->cfg = r->cfg;
	snprintf(info->bridge, sizeof(info->bridge), "%s", sw->bridges[r->cfg.bridge].cfg.name);
	info->port_id = r->ep.port_id;
	info->link_up = r->link_up;
	sw_dp_port_counters(&sw->dp, slot, &now);
	info->stats.rx_packets = now.rx_packets - r->base.rx_packets;
	info->stats.rx_bytes = now.rx_bytes - r->base.rx_bytes;
	info->stats.tx_packets = now.tx_packets - r->base.tx_packets;
	info->stats.tx_bytes = now.tx_bytes - r->base.tx_bytes;
	info->stats.flood_packets = now.flood_packets - r->base.flood_packets;
	for (unsigned d = 0; d < SW_DROP_MAX; d++)
		info->stats.drops[d] = now.drops[d] - r->base.drops[d];
	if (r->policer) {
		struct sw_policer_stats ps;

		sw_policer_get_stats(r->policer, &ps);
		info->policer_green = ps.green - r->pol_base.green;
		info->policer_yellow = ps.yellow - r->pol_base.yellow;
		info->policer_red = ps.red - r->pol_base.red;
	}
	for (unsigned i = 0; i < r->cfg.n_vlan_policers; i++) {
		struct sw_policer_stats ps;

		sw_policer_get_stats(r->vlan_policers[i], &ps);
		info->policer_green += ps.green;
		info->policer_yellow += ps.yellow;
		info->policer_red += ps.red;
	}
	if (r->cfg.n_vlan_policers) {
		info->policer_green -= r->vpol_base.green;
		info->policer_yellow -= r->vpol_base.yellow;
		info->policer_red -= r->vpol_base.red;
	}
	if (r->shaper) {
		unsigned nc = sw_shaper_classes(r->shaper);

		info->shaper_backlog = sw_shaper_backlog(r->shaper);
		for (unsigned c = 0; c < nc && c < SW_MAX_CLASSES; c++) {
			struct sw_shaper_class_stats cs;

			sw_shaper_get_stats(r->shaper, c, &cs);
			info->shaper_sent[c] = cs.sent - r->shaper_sent_base[c];
			info->shaper_dropped[c] = cs.dropped - r->shaper_dropped_base[c];
			info->stats.drops[SW_DROP_SHAPER] += info->shaper_dropped[c];
		}
	}
}

int sw_switch_port_info(struct sw_switch *sw, unsigned idx, struct sw_port_info *info)
{
	uint16_t slots[SW_MAX_PORTS];
	int rc = -ENOENT;

	pthread_mutex_lock(&sw->lock);
	if (idx < ports_in_order(sw, slots)) {
		fill_port_info(sw, slots[idx], info);
		rc = 0;
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int sw_switch_port_info_by_name(struct sw_switch *sw, const char *name,
				struct sw_port_info *info)
{
	int slot, rc = 0;

	pthread_mutex_lock(&sw->lock);
	slot = find_port(sw, name);
	if (slot < 0)
		rc = -ENOENT;
	else
		fill_port_info(sw, (unsigned)slot, info);
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int sw_switch_mirror_info(struct sw_switch *sw, unsigned idx, struct sw_mirror_info *info)
{
	int rc = -ENOENT;
	unsigned seen = 0;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&sw->lock);
	for (unsigned m = 0; m < SW_MAX_MIRRORS; m++) {
		struct sw_mirror_rec *mr = &sw->mirrors[m];
		uint64_t mirrored, dropped;

		if (!mr->used || seen++ != idx)
			continue;
		info->cfg = mr->cfg;
		sw_dp_mirror_counters(&sw->dp, m, &mirrored, &dropped);
		info->mirrored = mirrored - mr->base_mirrored;
		info->dropped = dropped - mr->base_dropped;
		if (mr->writer) {
			struct sw_pcap_writer_stats ws;

			sw_pcap_writer_get_stats(mr->writer, &ws);
			info->written = ws.written;
			info->dropped += ws.dropped;
		}
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

struct walk_ctx {
	struct sw_switch *sw;
	int (*fn)(const struct sw_fdb_entry_info *e, const char *port, void *opaque);
	void *opaque;
};

static int walk_one(const struct sw_fdb_entry_info *e, void *opaque)
{
	struct walk_ctx *w = opaque;
	const char *name = e->port < SW_MAX_PORTS && w->sw->ports[e->port].used ?
				   w->sw->ports[e->port].cfg.name :
				   "?";

	return w->fn(e, name, w->opaque);
}

int sw_switch_fdb_walk(struct sw_switch *sw, const char *bridge,
		       int (*fn)(const struct sw_fdb_entry_info *e, const char *port, void *opaque),
		       void *opaque)
{
	struct walk_ctx w = { sw, fn, opaque };
	int b, rc = 0;

	pthread_mutex_lock(&sw->lock);
	b = find_bridge(sw, bridge);
	if (b < 0)
		rc = -ENOENT;
	else
		sw_fdb_walk(sw->bridges[b].fdb, sw_dp_now_ms(&sw->dp), walk_one, &w);
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

/* ---- life cycle ---- */

void sw_switch_periodic(struct sw_switch *sw)
{
	uint64_t now = sw_dp_now_ms(&sw->dp);

	pthread_mutex_lock(&sw->lock);
	for (unsigned b = 0; b < sw->n_bridges; b++) {
		unsigned n = sw_fdb_age(sw->bridges[b].fdb, now);

		if (n)
			log_debug("bridge %s: %u entries aged out", sw->bridges[b].cfg.name, n);
	}
	for (unsigned s = 0; s < SW_MAX_PORTS; s++) {
		struct sw_port_rec *r = &sw->ports[s];
		bool up;

		if (!r->used)
			continue;
		sw_port_periodic(&r->ep);
		up = sw_port_link_up(&r->ep);
		if (up != r->link_up) {
			log_info("port %s: link %s", r->cfg.name, up ? "up" : "down");
			r->link_up = up;
		}
	}
	pthread_mutex_unlock(&sw->lock);
}

/* The polling lcores: the configured ones, else the first worker lcore. */
static int pick_lcores(const struct sw_config *cfg, uint16_t *lcores, unsigned *n, char *err,
		       size_t errlen)
{
	unsigned lc;

	*n = 0;
	if (cfg->n_pmd_cores) {
		for (unsigned i = 0; i < cfg->n_pmd_cores; i++) {
			lc = cfg->pmd_cores[i];
			if (lc >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lc)) {
				snprintf(err, errlen,
					 "pmd core %u is not an EAL lcore (give it to EAL with -l or "
					 "--lcores)",
					 lc);
				return -EINVAL;
			}
			if (lc == rte_get_main_lcore()) {
				snprintf(err, errlen,
					 "pmd core %u is EAL's main lcore, which runs the control "
					 "thread: pick another",
					 lc);
				return -EINVAL;
			}
			lcores[(*n)++] = (uint16_t)lc;
		}
		return 0;
	}
	RTE_LCORE_FOREACH_WORKER(lc) {
		lcores[(*n)++] = (uint16_t)lc;
		return 0;
	}
	snprintf(err, errlen, "EAL has no worker lcore for the polling thread");
	return -EINVAL;
}

int sw_switch_create(const struct sw_config *cfg, struct sw_switch **out, char *err,
		     size_t errlen)
{
	struct sw_switch *sw;
	uint16_t lcores[SW_MAX_PMDS];
	unsigned n_pmds, mbufs;
	int rc;

	*out = NULL;
	rc = pick_lcores(cfg, lcores, &n_pmds, err, errlen);
	if (rc)
		return rc;
	sw = calloc(1, sizeof(*sw));
	if (!sw) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&sw->lock, NULL);
	sw->hugepages = rte_eal_has_hugepages();
	mbufs = cfg->mbufs ? cfg->mbufs : SW_MBUFS_DEFAULT;
	sw->pool = rte_pktmbuf_pool_create("sw_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (!sw->pool) {
		snprintf(err, errlen, "cannot allocate %u mbufs: %s (more memory: EAL -m, or "
			 "hugepages)", mbufs, rte_strerror(rte_errno));
		rc = -ENOMEM;
		goto fail;
	}
	rc = sw_dp_init(&sw->dp, n_pmds, lcores, sw->pool, err, errlen);
	if (rc)
		goto fail;
	sw->start_ms = sw_dp_now_ms(&sw->dp);
	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		struct sw_fdb_params fp = {
			.size = cfg->bridges[b].fdb_size,
			.socket_id = (int)rte_socket_id(),
			.aging_ms = cfg->bridges[b].aging_s * 1000u,
			.qsv = sw->dp.qsv,
		};
		char name[48];

		snprintf(name, sizeof(name), "fdb%u", sw->unique++);
		fp.name = name;
		sw->bridges[b].cfg = cfg->bridges[b];
		sw->bridges[b].fdb = sw_fdb_create(&fp, &rc);
		if (!sw->bridges[b].fdb) {
			snprintf(err, errlen, "bridge %s: forwarding table of %u entries: %s",
				 cfg->bridges[b].name, fp.size, strerror(rc ? -rc : ENOMEM));
			rc = rc ? rc : -ENOMEM;
			goto fail;
		}
		sw->n_bridges++;
	}
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		char msg[384];

		rc = port_add_locked(sw, &cfg->ports[i], false, msg, sizeof(msg));
		if (rc) {
			if (cfg->ports[i].line)
				snprintf(err, errlen, "%s (%s:%u:%u)", msg, cfg->source,
					 cfg->ports[i].line, cfg->ports[i].column);
			else
				snprintf(err, errlen, "%s", msg);
			goto fail;
		}
	}
	for (unsigned b = 0; b < cfg->n_bridges; b++)
		for (unsigned i = 0; i < cfg->bridges[b].n_statics; i++) {
			rc = fdb_add_static_locked(sw, b, &cfg->bridges[b].statics[i], err, errlen);
			if (rc)
				goto fail;
		}
	for (unsigned m = 0; m < cfg->n_mirrors; m++) {
		rc = mirror_add_locked(sw, &cfg->mirrors[m], false, err, errlen);
		if (rc)
			goto fail;
	}
	rc = republish(sw, err, errlen);
	if (rc)
		goto fail;
	rc = sw_dp_start(&sw->dp, err, errlen);
	if (rc)
		goto fail;
	*out = sw;
	return 0;
fail:
	sw_switch_destroy(sw);
	return rc;
}

void sw_switch_destroy(struct sw_switch *sw)
{
	if (!sw)
		return;
	if (sw->dp.running)
		sw_dp_stop(&sw->dp);
	for (unsigned m = 0; m < SW_MAX_MIRRORS; m++)
		if (sw->mirrors[m].used && sw->mirrors[m].writer)
			sw_pcap_writer_stop(sw->mirrors[m].writer);
	for (unsigned s = 0; s < SW_MAX_PORTS; s++) {
		struct sw_port_rec *r = &sw->ports[s];

		if (!r->used)
			continue;
		sw_port_close(&r->ep);
		port_qos_free(r->policer, r->vlan_policers, r->cfg.n_vlan_policers, r->shaper);
	}
	state_free(sw_dp_publish(&sw->dp, NULL));
	for (unsigned b = 0; b < sw->n_bridges; b++)
		sw_fdb_free(sw->bridges[b].fdb);
	sw_dp_fini(&sw->dp);
	rte_mempool_free(sw->pool);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}
