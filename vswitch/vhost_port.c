/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user ports on rte_vhost directly (see vhost_port.h).
 *
 * rte_vhost names a device by its socket path: the callbacks find the port
 * in a small registry by that path. The registry's lock is never held
 * while calling into rte_vhost, since rte_vhost_driver_unregister calls
 * destroy_device on the calling thread.
 */
#define LOG_COMPONENT "vhost"
#include "vswitch/vhost_port.h"
#include "common/log.h"
#include "common/unixsock.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

/* Offloads a switch port does not take: frames arrive and leave whole. */
#define SW_VHOST_NO_FEATURES                                                              \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |                \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |          \
	 (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO) |            \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |            \
	 (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO))

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet_done = PTHREAD_COND_INITIALIZER;
static struct sw_vhost *reg[SW_MAX_PORTS];

/* The port of a device, by its socket path. Caller holds reg_lock. */
static struct sw_vhost *find_locked(int vid)
{
	char path[SW_PATH_MAX];

	if (rte_vhost_get_ifname(vid, path, sizeof(path)))
		return NULL;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (reg[i] && !strcmp(reg[i]->path, path))
			return reg[i];
	return NULL;
}

static int new_device(int vid)
{
	struct sw_vhost *v;
	uint16_t rings = rte_vhost_get_vring_num(vid);
	int rc = 0;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (!v) {
		log_warn("vhost-user device %d on a socket no port has", vid);
		rc = -1;
		goto out;
	}
	if (v->vid >= 0) {
		log_warn("port %s: a second vhost-user connection on %s refused", v->name,
			 v->path);
		rc = -1;
		goto out;
	}
	/* The switch polls: the guest need not kick. Rings set up later are
	 * told so by sw_vhost_periodic. */
	for (uint16_t r = 0; r < rings; r++)
		if (rte_vhost_enable_guest_notification(vid, r, 0) == 0 && r < RTE_DIM(v->quiet))
			v->quiet[r] = 1;
	v->connects++;
	__atomic_store_n(&v->vid, vid, __ATOMIC_RELEASE);
	log_info("port %s: vhost-user device connected on %s", v->name, v->path);
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

static void destroy_device(int vid)
{
	struct sw_vhost *v;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (v && v->vid == vid) {
		while (v->quieting)
			pthread_cond_wait(&quiet_done, &reg_lock);
		__atomic_store_n(&v->vid, -1, __ATOMIC_RELEASE);
		/* No polling thread is inside a burst on the device after this. */
		rte_rcu_qsbr_synchronize(v->qsv, RTE_QSBR_THRID_INVALID);
		for (unsigned r = 0; r < RTE_DIM(v->ready); r++) {
			__atomic_store_n(&v->ready[r], 0, __ATOMIC_RELAXED);
			v->quiet[r] = 0;
		}
		v->told_unserved = false;
		log_info("port %s: vhost-user device on %s gone", v->name, v->path);
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Called with rte_vhost's queue locks held: only flags change here. */
static int vring_state_changed(int vid, uint16_t ring, int enable)
{
	struct sw_vhost *v;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (v && (v->vid < 0 || v->vid == vid)) {
		if (ring < 2 * v->n_queues) {
			__atomic_store_n(&v->ready[ring], enable ? 1 : 0, __ATOMIC_RELAXED);
		} else if (enable && !v->told_unserved) {
			/* Once per connection: the guest uses a pair nobody polls. */
			log_warn("port %s: the guest enabled queue pair %u; the port serves %u "
				 "(queues=%u in its settings would serve it)",
				 v->name, ring / 2, v->n_queues, ring / 2 + 1);
			v->told_unserved = true;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

static const struct rte_vhost_device_ops ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
};

static int reg_add(struct sw_vhost *v, char *err, size_t errlen)
{
	int free_slot = -1;

	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		if (!reg[i]) {
			if (free_slot < 0)
				free_slot = (int)i;
		} else if (!strcmp(reg[i]->path, v->path)) {
			pthread_mutex_unlock(&reg_lock);
			snprintf(err, errlen, "port %s: socket %s is used by port %s", v->name,
				 v->path, reg[i]->name);
			return -EEXIST;
		}
	}
	if (free_slot >= 0)
		reg[free_slot] = v;
	pthread_mutex_unlock(&reg_lock);
	if (free_slot < 0) {
		snprintf(err, errlen, "port %s: too many vhost-user ports", v->name);
		return -ENOSPC;
	}
	return 0;
}

static void reg_del(struct sw_vhost *v)
{
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (reg[i] == v)
			reg[i] = NULL;
	pthread_mutex_unlock(&reg_lock);
}

int sw_vhost_open(const struct sw_port_cfg *cfg, struct rte_mempool *mp, struct rte_rcu_qsbr *qsv,
		  struct sw_vhost **out, char *err, size_t errlen)
{
	struct sw_vhost *v;
	uint64_t flags = cfg->server ? 0 : RTE_VHOST_USER_CLIENT;
	int rc;

	*out = NULL;
	if (cfg->queues == 0 || cfg->queues > SW_MAX_QUEUES) {
		snprintf(err, errlen, "port %s: queues=%u, not 1..%u", cfg->name, cfg->queues,
			 SW_MAX_QUEUES);
		return -EINVAL;
	}
	v = rte_zmalloc("sw_vhost", sizeof(*v), RTE_CACHE_LINE_SIZE);
	if (!v) {
		snprintf(err, errlen, "port %s: out of memory", cfg->name);
		return -ENOMEM;
	}
	v->vid = -1;
	v->n_queues = cfg->queues;
	v->mp = mp;
	v->qsv = qsv;
	v->server = cfg->server;
	snprintf(v->path, sizeof(v->path), "%s", cfg->path);
	snprintf(v->name, sizeof(v->name), "%s", cfg->name);
	rc = reg_add(v, err, errlen);
	if (rc) {
		rte_free(v);
		return rc;
	}
	if (cfg->server) {
		char why[160];

		/* Checked here: rte_vhost, failing to listen, would unlink the path
		 * (another process's live socket) when the port is taken down. */
		rc = unix_path_claim(v->path, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "port %s: cannot listen on %s: %s", cfg->name, v->path,
				 why);
			goto fail_reg;
		}
	}
	if (rte_vhost_driver_register(v->path, flags)) {
		snprintf(err, errlen, "port %s: cannot register vhost-user socket %s (see "
			 "rte_vhost's message above)", cfg->name, v->path);
		rc = -EINVAL;
		goto fail_reg;
	}
	if (rte_vhost_driver_disable_features(v->path, SW_VHOST_NO_FEATURES) ||
	    rte_vhost_driver_callback_register(v->path, &ops)) {
		snprintf(err, errlen, "port %s: cannot set up vhost-user socket %s", cfg->name,
			 v->path);
		rc = -EINVAL;
		goto fail_unregister;
	}
	if (rte_vhost_driver_start(v->path)) {
		if (cfg->server)
			snprintf(err, errlen,
				 "port %s: cannot listen on %s (see rte_vhost's message above)",
				 cfg->name, v->path);
		else
			snprintf(err, errlen, "port %s: cannot start vhost-user client on %s",
				 cfg->name, v->path);
		rc = -EIO;
		goto fail_unregister;
	}
	log_info("port %s: vhost-user %s on %s, %u queue pair(s)", cfg->name,
		 cfg->server ? "server" : "client (reconnecting)", v->path, v->n_queues);
	*out = v;
	return 0;

fail_unregister:
	rte_vhost_driver_unregister(v->path);
fail_reg:
	reg_del(v);
	rte_free(v);
	return rc;
}

void sw_vhost_close(struct sw_vhost *v)
{
	if (!v)
		return;
	/* Destroys a connected device (destroy_device runs here) and, for a
	 * server, removes the socket file. */
	if (rte_vhost_driver_unregister(v->path))
		log_warn("port %s: unregister vhost-user socket %s failed", v->name, v->path);
	reg_del(v);
	rte_free(v);
}

void sw_vhost_periodic(struct sw_vhost *v)
{
	uint16_t todo[2 * SW_MAX_QUEUES];
	unsigned n = 0;
	int vid;

	if (!v)
		return;
	pthread_mutex_lock(&reg_lock);
	vid = v->vid;
	for (unsigned r = 0; vid >= 0 && r < 2u * v->n_queues; r++)
		if (v->ready[r] && !v->quiet[r]) {
			v->quiet[r] = 1;
			todo[n++] = (uint16_t)r;
		}
	v->quieting = n > 0;
	pthread_mutex_unlock(&reg_lock);
	if (!n)
		return;
	/*
	 * Outside reg_lock: rte_vhost takes the ring's lock here, and its own
	 * thread may hold that lock while it waits for reg_lock in
	 * vring_state_changed. destroy_device waits for `quieting` to end, so
	 * the device behind vid stays until then.
	 */
	for (unsigned i = 0; i < n; i++)
		rte_vhost_enable_guest_notification(vid, todo[i], 0);
	pthread_mutex_lock(&reg_lock);
	v->quieting = false;
	pthread_cond_broadcast(&quiet_done);
	pthread_mutex_unlock(&reg_lock);
}

bool sw_vhost_link_up(const struct sw_vhost *v)
{
	return v && __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE) >= 0;
}
