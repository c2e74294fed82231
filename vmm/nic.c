/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NICs of the VM: model + backend pairs, their I/O threads, doorbells and
 * interrupts (see nic.h; the --nic parsing is in nic_config.c).
 *
 * Threads:
 * - nic_create(), nic_start_all(), nic_stop_all() and nic_free_all() run on
 *   the main thread, create and free only while neither the vCPUs nor the
 *   I/O threads run; nic_count() and nic_get_info() run on the main event
 *   loop meanwhile and only read the list (and atomic counters).
 * - An e1000 and its backend run on the main event loop. A virtio-net's
 *   pair i, its netdev (a multiqueue tap's queue i; a pcap backend: one
 *   netdev on the first I/O thread) and the doorbell events of its two
 *   queues run on I/O thread i % K; the control queue's doorbell on the
 *   first one. The model locks itself, so any thread may serve any queue.
 * - The doorbell hook runs on vCPU threads under the transport's mutex (the
 *   only writer of a struct nic_doorbell while they run). So does the
 *   queue_vector hook, which in vhost mode passes a data queue's new MSI-X
 *   vector to nic_vhost (its call eventfd follows; nothing waits for the
 *   backend there); with the userspace datapath nothing needs it, the
 *   model reads a queue's vector at each interrupt.
 * - irqfd interrupts: msix_changed (vCPU threads, no PCI core lock held)
 *   binds, re-routes and unbinds a vector's irqfd under the vector's
 *   mutex; msix_raise (I/O threads, vCPU threads) writes the eventfd only
 *   while holding that mutex (trylock) and seeing it bound, else sends
 *   through pci_dev_notify(), which is always right (the PCI core's table
 *   is the truth: a masked vector gets its pending bit). Lock order: vector
 *   mutex -> PCI core lock -> irq routing lock.
 */
#define LOG_COMPONENT "nic"
#include "vmm/nic.h"
#include "common/log.h"
#include "vmm/iothread.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/netdev_pcap.h"
#include "vmm/netdev_tap.h"
#include "vmm/netdev_vhost_user.h"
#include "vmm/nic_vhost.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Queues of a virtio-net with N pairs: 2N plus the control queue. */
#define NIC_VNET_MAX_QUEUES (2 * VNET_MAX_PAIRS + 1)
/* MSI-X vectors of its transport: one per queue plus one for config. */
#define NIC_VNET_MAX_VECTORS (NIC_VNET_MAX_QUEUES + 1)

struct nic;

/*
 * A virtio queue's doorbell through an ioeventfd: KVM completes the guest's
 * 2-byte write at gpa without an exit and signals ev, whose callback (on the
 * queue's I/O thread) hands the doorbell to the transport. ev exists from
 * creation (events are created before the loops run); the ioeventfd is
 * registered at DRIVER_OK and removed at reset by the transport's doorbell
 * hook, on a vCPU thread. A signal left over from before a reset only makes
 * the device look at a queue once more (the transport ignores doorbells of
 * disabled queues).
 */
struct nic_doorbell {
	struct nic *nic;
	uint16_t queue;
	struct ev_event *ev;
	uint64_t gpa; /* while bound */
	bool bound;
};

/*
 * An MSI-X vector's irqfd: efd bound to an MSI route (gsi) that carries the
 * message the guest programmed. Bound only while the vector is enabled,
 * unmasked and has an address, so that KVM never injects a masked vector;
 * the route stays (and follows the message) once made.
 */
struct nic_vector {
	pthread_mutex_t lock;
	int efd;	  /* -1: no irqfd for this vector */
	unsigned int gsi; /* while routed */
	uint64_t addr;	  /* the route's message */
	uint32_t data;
	bool routed;
	bool assigned; /* written under lock, read atomically as a hint */
};

struct nic {
	const struct nic_config *cfg;
	char name[16];
	/* Backends: nds[0] for an e1000 or a pcap; nds[i] for pair i of a tap. */
	struct netdev *nds[VNET_MAX_PAIRS];
	unsigned int nr_nds;
	struct e1000 *e1000;  /* kind e1000 */
	struct vnet *vnet;    /* kind virtio */
	struct pci_dev *pdev; /* kind virtio: its transport's PCI function */
	int slot;	      /* PCI slot, -1 when unknown */
	unsigned int gsi;
	struct kvm_vm *vm;
	/* kind virtio: */
	struct iothread *iothreads[VNET_MAX_PAIRS];
	unsigned int nr_iothreads;
	struct virtio_pci_hooks hooks;
	struct nic_doorbell doorbells[NIC_VNET_MAX_QUEUES];
	unsigned int nr_doorbells;
	struct nic_vector vectors[NIC_VNET_MAX_VECTORS];
	unsigned int nr_vectors;
	bool irqfd_warned; /* atomic: KVM refused a route or an irqfd once */
	uint64_t irqfd_irqs, msi_fallback_irqs; /* atomic */
	/*
	 * vhost mode (virtio,vhost-user=PATH, or virtio,tap=NAME,vhost-net=on):
	 * the rings go to the backend. With vhost-net, nds[] holds the tap
	 * queues the kernel reads and writes.
	 */
	struct nic_vhost *vhost;
};

static struct nic *nic_list[NIC_MAX];
static unsigned int nic_nr;

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

/*
 * The slot the NIC's model asks the PCI core for: its addr=, refused with
 * one line naming the slot's owner when taken; without addr=, 0 (the
 * core's next free slot) unless other NICs ask for slots with addr=, then
 * the lowest free slot none of them asks for, so that a NIC placed first
 * does not take the slot of one given later.
 */
static int nic_pick_slot(const struct nic_config *cfg, const char *name, struct pci_bus *bus,
			 unsigned int *slot, char *err, size_t err_len)
{
	uint32_t taken = 0;
	struct pci_dev *owner;

	*slot = 0;
	if (cfg->pci_slot >= PCI_MAX_SLOTS) { /* a hand-made config */
		snprintf(err, err_len, "%s: addr=%u: out of range (slots 1 to %d)", name,
			 cfg->pci_slot, PCI_MAX_SLOTS - 1);
		return -EINVAL;
	}
	if (cfg->pci_slot) {
		owner = pci_bus_slot_dev(bus, cfg->pci_slot);
		if (owner) {
			snprintf(err, err_len, "%s: addr=%u: PCI slot %u is taken by %s", name,
				 cfg->pci_slot, cfg->pci_slot, pci_dev_name(owner));
			return -EBUSY;
		}
		*slot = cfg->pci_slot;
		return 0;
	}
	if (!cfg->others_slots)
		return 0;
	pci_bus_for_each(bus, nic_slots, &taken);
	taken |= cfg->others_slots | 1u; /* slot 0: the host bridge's */
	if (taken == UINT32_MAX) {
		snprintf(err, err_len, "%s: no PCI slot left that no addr= asks for", name);
		return -ENOSPC;
	}
	*slot = (unsigned int)__builtin_ctz(~taken);
	return 0;
}

/* ---- I/O threads and backends ---- */

/* The loop that serves pair `pair` of a virtio NIC: I/O thread pair % K. */
static struct evloop *nic_pair_loop(const struct nic *nic, unsigned int pair)
{
	return iothread_loop(nic->iothreads[pair % nic->nr_iothreads]);
}

/* The loop of queue q: its pair's; the control queue (2N) on the first thread. */
static struct evloop *nic_queue_loop(const struct nic *nic, unsigned int q)
{
	return q < 2 * nic->cfg->queues ? nic_pair_loop(nic, q / 2) : nic_pair_loop(nic, 0);
}

static int nic_iothreads_new(struct nic *nic, char *err, size_t err_len)
{
	for (unsigned int i = 0; i < nic->cfg->iothreads; i++) {
		char name[32];

		/* "virtio.7-io15" at most: within the 15 bytes of a thread name. */
		snprintf(name, sizeof(name), "%s-io%u", nic->name, i);
		nic->iothreads[i] = iothread_new(name);
		if (!nic->iothreads[i]) {
			snprintf(err, err_len, "%s: cannot create I/O thread %s", nic->name, name);
			return -ENOMEM;
		}
		nic->nr_iothreads++;
	}
	return 0;
}

static void nic_iothreads_stop(struct nic *nic)
{
	for (unsigned int i = 0; i < nic->nr_iothreads; i++)
		iothread_stop(nic->iothreads[i]);
}

static void nic_iothreads_free(struct nic *nic)
{
	for (unsigned int i = 0; i < nic->nr_iothreads; i++) {
		iothread_free(nic->iothreads[i]);
		nic->iothreads[i] = NULL;
	}
	nic->nr_iothreads = 0;
}

/*
 * vhost-net (virtio,tap=NAME,vhost-net=on): the kernel's devices first, so
 * that a host without /dev/vhost-net is told so before a tap is made; then
 * the tap with one queue per pair, each handed over to the kernel (nfv-vmm
 * neither reads nor writes it). The taps stay in nds[] for the link, the
 * counters and the close, but the model gets none (vhost mode).
 */
static int nic_open_vhost_net(struct nic *nic, const struct guest_mem *mem,
			      struct evloop *const *loops, char *err, size_t err_len)
{
	const struct nic_config *cfg = nic->cfg;
	struct nic_vhost_net_config hc = { .name = nic->name,
					   .queue_pairs = (uint16_t)cfg->queues };
	int fds[VNET_MAX_PAIRS];
	char verr[256];
	int ret;

	/* The call eventfds on the first I/O thread, as in vhost-user mode. */
	nic->vhost = nic_vhost_net_new(loops[0], mem, &hc, verr, sizeof(verr));
	if (!nic->vhost) {
		snprintf(err, err_len, "%s: vhost-net=on: %s", nic->name, verr);
		return -ENODEV;
	}
	if (cfg->queues > 1)
		ret = netdev_tap_open_mq(loops, cfg->queues, cfg->tap, nic->nds, err, err_len);
	else
		ret = netdev_tap_open(loops[0], cfg->tap, &nic->nds[0], err, err_len);
	if (ret < 0)
		return ret;
	nic->nr_nds = cfg->queues;
	for (unsigned int i = 0; i < nic->nr_nds; i++) {
		fds[i] = netdev_tap_fd(nic->nds[i]);
		if (netdev_tap_hand_over(nic->nds[i]) < 0) {
			snprintf(err, err_len, "%s: vhost-net=on: %s is not a tap", nic->name,
				 nic->nds[i]->name);
			return -EINVAL;
		}
	}
	ret = nic_vhost_net_set_taps(nic->vhost, nic->nds, fds, nic->nr_nds, verr, sizeof(verr));
	if (ret < 0)
		snprintf(err, err_len, "%s: %s", nic->name, verr);
	return ret;
}

/*
 * An e1000's backend on the main loop. A virtio-net's: a tap with one
 * queue (and netdev) per pair, each on its pair's I/O thread (one queue:
 * a plain tap, so a tap made without multi_queue still works), or one pcap
 * netdev on the first I/O thread, shared by every pair (the model steers
 * received frames by their flow hash; its sends are serialised by the pcap
 * backend).
 */
static int nic_open_backend(struct nic *nic, const struct guest_mem *mem, struct evloop *loop,
			    char *err, size_t err_len, bool *bad_input)
{
	const struct nic_config *cfg = nic->cfg;
	struct evloop *loops[VNET_MAX_PAIRS];
	int ret;

	if (cfg->kind == NIC_KIND_VIRTIO) {
		for (unsigned int i = 0; i < cfg->queues; i++)
			loops[i] = nic_pair_loop(nic, i);
		loop = loops[0];
	}
	if (nic_config_vhost_mode(cfg))
		return 0; /* no netdev: the backend reads the guest's rings (nic_new_model) */
	if (cfg->vhost_net) {
		if (cfg->kind != NIC_KIND_VIRTIO || !cfg->tap) { /* a hand-made config */
			snprintf(err, err_len,
				 "%s: vhost-net=on needs a virtio NIC with tap=", nic->name);
			*bad_input = true;
			return -EINVAL;
		}
		return nic_open_vhost_net(nic, mem, loops, err, err_len);
	}
	if (cfg->vhost_user) {
		/* The relay: e1000, or virtio with offload=off. */
		struct netdev_vu_config vc = { .path = cfg->vhost_user,
					       .server = cfg->server,
					       .mtu = cfg->mtu };

		ret = netdev_vhost_user_open(loop, &vc, &nic->nds[0], err, err_len);
		if (ret == 0)
			nic->nr_nds = 1;
		*bad_input = ret == -ENAMETOOLONG || ret == -EEXIST || ret == -EADDRINUSE;
		return ret;
	}
	if (cfg->kind == NIC_KIND_VIRTIO && cfg->tap && cfg->queues > 1) {
		ret = netdev_tap_open_mq(loops, cfg->queues, cfg->tap, nic->nds, err, err_len);
		if (ret == 0)
			nic->nr_nds = cfg->queues;
		return ret;
	}
	if (cfg->tap)
		ret = netdev_tap_open(loop, cfg->tap, &nic->nds[0], err, err_len);
	else
		ret = netdev_pcap_open(loop, cfg->pcap_in, cfg->pcap_out, &nic->nds[0], err,
				       err_len);
	if (ret == 0)
		nic->nr_nds = 1;
	*bad_input = ret < 0 && ret != -ENOMEM && !cfg->tap;
	return ret;
}

/*
 * The backend's name for logs and stats: the netdev's, or for a multiqueue
 * tap the device's ("tap:nfv0" rather than queue 0's "tap:nfv0/q0"; an
 * interface name has no '/').
 */
static void nic_backend_name(const struct nic *nic, char buf[NETDEV_NAME_LEN])
{
	char *slash;

	if (!nic->nr_nds) {
		/* vhost mode: the socket's path, shortened from the left if needed. */
		const char *p = nic->cfg->vhost_user ? nic->cfg->vhost_user : "?";
		size_t len = strlen(p), room = NETDEV_NAME_LEN - 1 - strlen("vhost-user:");

		snprintf(buf, NETDEV_NAME_LEN, "vhost-user:%s", len > room ? p + len - room : p);
		return;
	}
	snprintf(buf, NETDEV_NAME_LEN, "%s", nic->nds[0]->name);
	slash = strrchr(buf, '/');
	if (nic->nr_nds > 1 && nic->cfg->tap && slash)
		*slash = '\0';
}

static void nic_close_backend(struct nic *nic)
{
	for (unsigned int i = 0; i < nic->nr_nds; i++) {
		netdev_close(nic->nds[i]);
		nic->nds[i] = NULL;
	}
	nic->nr_nds = 0;
}

/* ---- doorbells (ioeventfd) ---- */

/*
 * The eventfd KVM signals for queue q's doorbell: in vhost mode a data
 * queue's is the backend's kick eventfd (nfv-vmm never sees it), else the
 * queue's event on its I/O thread.
 */
static int nic_doorbell_fd(const struct nic *nic, const struct nic_doorbell *db)
{
	if (nic->vhost && db->queue < 2 * nic->cfg->queues)
		return nic_vhost_kick_fd(nic->vhost, db->queue);
	return evloop_event_fd(db->ev);
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

	if (queue >= nic->nr_doorbells || !nic->doorbells[queue].ev)
		return -ENOTSUP;
	db = &nic->doorbells[queue];
	if (!bound) {
		if (db->bound)
			(void)irq_ioeventfd_del(nic->vm, db->gpa, 2, false, false, 0,
						nic_doorbell_fd(nic, db));
		db->bound = false;
		return 0;
	}
	if (db->bound) /* offered again without a withdrawal: never two ioeventfds */
		(void)irq_ioeventfd_del(nic->vm, db->gpa, 2, false, false, 0,
					nic_doorbell_fd(nic, db));
	db->bound = false;
	ret = irq_ioeventfd_add(nic->vm, gpa, 2, false, false, 0, nic_doorbell_fd(nic, db));
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

/* Events for the doorbells of the 2N + 1 queues, made before the loops run. */
static int nic_doorbells_new(struct nic *nic)
{
	unsigned int nq = 2 * nic->cfg->queues + 1;

	if (!nic->vm)
		return -ENOTSUP;
	for (unsigned int q = 0; q < nq; q++) {
		struct nic_doorbell *db = &nic->doorbells[q];

		db->nic = nic;
		db->queue = (uint16_t)q;
		db->ev = evloop_event_new(nic_queue_loop(nic, q), nic_doorbell_cb, db);
		if (!db->ev)
			return -ENOMEM;
		nic->nr_doorbells = q + 1;
	}
	return 0;
}

static void nic_doorbells_free(struct nic *nic)
{
	for (unsigned int q = 0; q < nic->nr_doorbells; q++) {
		struct nic_doorbell *db = &nic->doorbells[q];

		if (db->bound)
			(void)irq_ioeventfd_del(nic->vm, db->gpa, 2, false, false, 0,
						nic_doorbell_fd(nic, db));
		db->bound = false;
		evloop_event_free(db->ev);
		db->ev = NULL;
	}
	nic->nr_doorbells = 0;
}

/* ---- MSI-X through irqfd ---- */

static void nic_irqfd_warn(struct nic *nic, unsigned int vector, const char *what, int err)
{
	if (__atomic_exchange_n(&nic->irqfd_warned, true, __ATOMIC_RELAXED))
		return;
	log_warn("%s: MSI-X vector %u: %s: %s; such vectors go through KVM_SIGNAL_MSI", nic->name,
		 vector, what, strerror(-err));
}

static void nic_vector_unbind(struct nic *nic, struct nic_vector *v)
{
	if (!v->assigned)
		return;
	(void)irq_irqfd_deassign(nic->vm, v->efd, v->gsi);
	__atomic_store_n(&v->assigned, false, __ATOMIC_RELEASE);
}

/*
 * Makes vector `vector`'s irqfd match the PCI core's table (vCPU thread).
 * Unbinding returns only once KVM let go of the eventfd (KVM_IRQFD deassign
 * flushes its injections), so after the guest's masking write completes,
 * every interrupt either went out before it or ends up as a pending bit.
 */
static void nic_vector_sync(struct nic *nic, unsigned int vector)
{
	struct nic_vector *v = &nic->vectors[vector];
	uint64_t addr = 0;
	uint32_t data = 0;
	bool masked = true, on;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->efd < 0)
		goto out;
	on = pci_dev_msix_enabled(nic->pdev) &&
	     pci_dev_msix_vector(nic->pdev, vector, &addr, &data, &masked) == 0 && !masked &&
	     addr != 0;
	if (!on) {
		nic_vector_unbind(nic, v);
		goto out;
	}
	if (!v->routed) {
		ret = irq_msi_route_add(nic->vm, addr, data, &v->gsi);
		if (ret < 0) {
			nic_irqfd_warn(nic, vector, "no MSI route", ret);
			goto out;
		}
		v->routed = true;
	} else if (v->addr != addr || v->data != data) {
		ret = irq_msi_route_update(nic->vm, v->gsi, addr, data);
		if (ret < 0) {
			/* The irqfd would deliver the old message: not at all rather. */
			nic_vector_unbind(nic, v);
			nic_irqfd_warn(nic, vector, "cannot update its MSI route", ret);
			goto out;
		}
	}
	v->addr = addr;
	v->data = data;
	if (!v->assigned) {
		ret = irq_irqfd_assign(nic->vm, v->efd, v->gsi, -1);
		if (ret < 0) {
			nic_irqfd_warn(nic, vector, "no irqfd", ret);
			goto out;
		}
		__atomic_store_n(&v->assigned, true, __ATOMIC_RELEASE);
		log_debug("%s: MSI-X vector %u through an irqfd (GSI %u)", nic->name, vector,
			  v->gsi);
	}
out:
	pthread_mutex_unlock(&v->lock);
}

/*
 * The irqfd eventfd of `vector` if it is bound now (vhost mode hands it to
 * the backend as a queue's call; see nic_vhost.h), else -1.
 */
static int nic_vector_irqfd(void *opaque, uint16_t vector)
{
	struct nic *nic = opaque;
	struct nic_vector *v;
	int fd = -1;

	if (vector >= nic->nr_vectors)
		return -1;
	v = &nic->vectors[vector];
	pthread_mutex_lock(&v->lock);
	if (v->assigned && v->efd >= 0)
		fd = v->efd;
	pthread_mutex_unlock(&v->lock);
	return fd;
}

/*
 * The transport's queue_vector hook (vhost mode only): the guest moved
 * queue `queue` to `vector` after DRIVER_OK. The backend signals a data
 * queue's call eventfd, chosen for the vector of the time: it follows.
 * The control queue stays with the model, which reads the vector anew at
 * each interrupt.
 */
static void nic_queue_vector(void *opaque, uint16_t queue, uint16_t vector)
{
	struct nic *nic = opaque;

	if (nic->vhost && queue < 2 * nic->cfg->queues)
		nic_vhost_queue_vector(nic->vhost, queue, vector);
}

/* The transport's msix_changed hook: a vector, or all (UINT32_MAX), changed. */
static void nic_msix_changed(void *opaque, uint32_t vector)
{
	struct nic *nic = opaque;

	if (!nic->pdev) /* not from inside vnet_new(): nothing is routed before the guest runs */
		return;
	if (vector == UINT32_MAX) {
		for (unsigned int i = 0; i < nic->nr_vectors; i++)
			nic_vector_sync(nic, i);
	} else if (vector < nic->nr_vectors) {
		nic_vector_sync(nic, vector);
	}
}

/*
 * The transport's msix_raise hook (datapath threads). The eventfd is
 * written only with the vector's mutex held and the irqfd bound, so that
 * msix_changed cannot unbind it in between (a write to an unbound eventfd
 * would be lost). A busy mutex (the vector is being re-routed) or an
 * unbound vector takes the PCI core's path instead: never wrong, and the
 * datapath does not wait for a routing ioctl.
 */
static int nic_msix_raise(void *opaque, uint16_t vector)
{
	struct nic *nic = opaque;

	if (vector < nic->nr_vectors) {
		struct nic_vector *v = &nic->vectors[vector];

		if (__atomic_load_n(&v->assigned, __ATOMIC_ACQUIRE) &&
		    pthread_mutex_trylock(&v->lock) == 0) {
			uint64_t one = 1;
			bool sent = v->assigned &&
				    write(v->efd, &one, sizeof(one)) == (ssize_t)sizeof(one);

			pthread_mutex_unlock(&v->lock);
			if (sent) {
				__atomic_add_fetch(&nic->irqfd_irqs, 1, __ATOMIC_RELAXED);
				return 0;
			}
		}
	}
	__atomic_add_fetch(&nic->msi_fallback_irqs, 1, __ATOMIC_RELAXED);
	return pci_dev_notify(nic->pdev, vector);
}

/* Eventfds for the 2N + 2 vectors; without KVM (or eventfds) none is used. */
static void nic_vectors_new(struct nic *nic)
{
	nic->nr_vectors = 2 * nic->cfg->queues + 2;
	for (unsigned int i = 0; i < nic->nr_vectors; i++) {
		struct nic_vector *v = &nic->vectors[i];

		pthread_mutex_init(&v->lock, NULL);
		v->efd = -1;
		if (!nic->vm)
			continue;
		v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->efd < 0)
			nic_irqfd_warn(nic, i, "no eventfd", -errno);
	}
}

static void nic_vectors_free(struct nic *nic)
{
	for (unsigned int i = 0; i < nic->nr_vectors; i++) {
		struct nic_vector *v = &nic->vectors[i];

		nic_vector_unbind(nic, v);
		if (v->routed)
			irq_msi_route_del(nic->vm, v->gsi);
		v->routed = false;
		if (v->efd >= 0)
			close(v->efd);
		v->efd = -1;
		pthread_mutex_destroy(&v->lock);
	}
	nic->nr_vectors = 0;
}

/* ---- models ---- */

/*
 * The model over the backend. virtio: N queue pairs, MTU 1500; pair i on
 * I/O thread i % K; doorbells through ioeventfds watched by those threads
 * (MMIO exits to the BAR on a vCPU thread when KVM refuses one);
 * interrupts through irqfds for MSI-X (the PCI core with KVM_SIGNAL_MSI
 * when a vector is masked or KVM refuses), or INTx.
 */
static int nic_new_model(struct nic *nic, struct pci_bus *bus, const struct guest_mem *mem,
			 struct evloop *loop, unsigned int slot)
{
	const struct nic_config *cfg = nic->cfg;

	switch (cfg->kind) {
	case NIC_KIND_E1000: {
		struct e1000_config ecfg = { .name = nic->name, .pci_slot = slot };

		memcpy(ecfg.mac, cfg->mac, sizeof(ecfg.mac));
		nic->e1000 = e1000_new(bus, mem, nic->nds[0], loop, &ecfg);
		return nic->e1000 ? 0 : -ENODEV;
	}
	case NIC_KIND_VIRTIO: {
		struct vnet_config vcfg = {
			.name = nic->name,
			.queue_pairs = (uint16_t)cfg->queues,
			.mtu = (uint16_t)cfg->mtu,
			.nr_netdevs = (uint16_t)nic->nr_nds,
			.hooks = &nic->hooks,
			.no_msix = cfg->no_msix,
			.no_event_idx = cfg->no_event_idx,
			.pci_slot = slot,
		};

		memcpy(vcfg.mac, cfg->mac, sizeof(vcfg.mac));
		if (nic->vhost) {
			/* vhost-net: the tap queues are the kernel's, the model gets none. */
			vcfg.nr_netdevs = 0;
			vcfg.vhost = nic_vhost_ops();
			vcfg.vhost_opaque = nic->vhost;
		} else if (nic_config_vhost_mode(cfg)) {
			struct nic_vhost_config hc = { .path = cfg->vhost_user,
						       .server = cfg->server,
						       .queue_pairs = (uint16_t)cfg->queues,
						       .mtu = vcfg.mtu };
			char err[256];

			/* The session and the interrupts on the first I/O thread. */
			nic->vhost = nic_vhost_new(nic_pair_loop(nic, 0), mem, &hc, err, sizeof(err));
			if (!nic->vhost) {
				log_err("%s: %s", nic->name, err);
				return -ENODEV;
			}
			vcfg.vhost = nic_vhost_ops();
			vcfg.vhost_opaque = nic->vhost;
		}
		for (unsigned int i = 0; i < vcfg.nr_netdevs; i++)
			vcfg.netdevs[i] = nic->nds[i];
		for (unsigned int i = 0; i < cfg->queues; i++)
			vcfg.loops[i] = nic_pair_loop(nic, i);
		nic->hooks = (struct virtio_pci_hooks){ .opaque = nic };
		if (!cfg->no_msix) { /* without MSI-X, no vector to bind an irqfd to */
			nic->hooks.msix_raise = nic_msix_raise;
			nic->hooks.msix_changed = nic_msix_changed;
			nic_vectors_new(nic);
		}
		if (nic->vhost)
			nic->hooks.queue_vector = nic_queue_vector;
		if (nic_doorbells_new(nic) == 0)
			nic->hooks.doorbell = nic_doorbell_hook;
		else
			log_warn("%s: no doorbell events: doorbells as MMIO exits", nic->name);
		nic->vnet = vnet_new(bus, mem, nic_pair_loop(nic, 0), &vcfg);
		if (!nic->vnet)
			return -ENODEV;
		if (nic->vhost)
			nic_vhost_attach(nic->vhost, nic->vnet);
		if (nic->vhost && nic->nr_vectors)
			nic_vhost_set_irqfd(nic->vhost, nic_vector_irqfd, nic);
		nic->pdev = virtio_pci_pci_dev(vnet_transport(nic->vnet));
		return 0;
	}
	}
	return -EINVAL;
}

/* Everything but the model, in reverse order of creation. */
static void nic_release(struct nic *nic)
{
	nic_iothreads_stop(nic);
	nic_doorbells_free(nic);
	nic_vhost_free(nic->vhost);
	nic->vhost = NULL;
	nic_vectors_free(nic);
	nic_close_backend(nic);
	nic_iothreads_free(nic);
}

int nic_create(const struct nic_config *cfg, unsigned int index, struct kvm_vm *vm,
	       struct pci_bus *bus, const struct guest_mem *mem, struct evloop *loop, char *err,
	       size_t err_len, bool *bad_input)
{
	uint32_t before = 0, after = 0;
	char mac[NIC_MAC_STR_LEN], threads[128] = "", backend[NETDEV_NAME_LEN];
	unsigned int slot;
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
	if (cfg->kind == NIC_KIND_VIRTIO) {
		/* nic_config_parse() guarantees these; a hand-made config may not. */
		if (cfg->queues < 1 || cfg->queues > NIC_MAX_QUEUES || cfg->iothreads < 1 ||
		    cfg->iothreads > cfg->queues) {
			snprintf(err, err_len, "%s: queues=%u iothreads=%u: out of range",
				 nic->name, cfg->queues, cfg->iothreads);
			*bad_input = true;
			ret = -EINVAL;
			goto err_free;
		}
	}
	/* Before the backend: a slot refused must not leave a tap behind. */
	ret = nic_pick_slot(cfg, nic->name, bus, &slot, err, err_len);
	if (ret < 0) {
		*bad_input = true;
		goto err_free;
	}
	if (cfg->kind == NIC_KIND_VIRTIO) {
		ret = nic_iothreads_new(nic, err, err_len);
		if (ret < 0)
			goto err_free;
	}
	ret = nic_open_backend(nic, mem, loop, err, err_len, bad_input);
	if (ret < 0)
		goto err_free;

	pci_bus_for_each(bus, nic_slots, &before);
	if (nic_new_model(nic, bus, mem, loop, slot) < 0) {
		snprintf(err, err_len, "%s: cannot create the %s model (see the log above)",
			 nic->name, nic_kind_name(cfg->kind));
		ret = -ENODEV;
		goto err_free;
	}
	pci_bus_for_each(bus, nic_slots, &after);
	if (after & ~before) {
		nic->slot = __builtin_ctz(after & ~before);
		pci_bus_for_each(bus, nic_find_dev, nic);
	}
	nic_list[nic_nr++] = nic;
	nic_format_mac(cfg->mac, mac);
	if (cfg->kind == NIC_KIND_VIRTIO)
		snprintf(threads, sizeof(threads), ", %u queue pair%s on %u I/O thread%s%s%s%s",
			 cfg->queues, cfg->queues > 1 ? "s" : "", nic->nr_iothreads,
			 nic->nr_iothreads > 1 ? "s" : "",
			 cfg->no_msix ? ", no MSI-X (INTx only)" : "",
			 cfg->no_event_idx ? ", no EVENT_IDX" : "",
			 cfg->vhost_net ? ", rings in the kernel's vhost-net" : "");
	nic_backend_name(nic, backend);
	log_info("%s: PCI 00:%02x.0, INTx GSI %u, mac %s (%s), backend %s%s", nic->name,
		 nic->slot < 0 ? 0 : nic->slot, nic->gsi, mac,
		 cfg->mac_given ? "given" : "generated from the VM name and NIC index", backend,
		 threads);
	return 0;

err_free:
	nic_release(nic);
	free(nic);
	return ret;
}

int nic_start_all(void)
{
	for (unsigned int i = 0; i < nic_nr; i++) {
		struct nic *nic = nic_list[i];

		for (unsigned int t = 0; t < nic->nr_iothreads; t++) {
			int ret = iothread_start(nic->iothreads[t]);

			if (ret < 0) {
				nic_stop_all();
				return ret;
			}
		}
	}
	return 0;
}

void nic_stop_all(void)
{
	for (unsigned int i = 0; i < nic_nr; i++)
		nic_iothreads_stop(nic_list[i]);
}

void nic_free_all(void)
{
	nic_stop_all(); /* no datapath may run while the models go */
	for (unsigned int i = nic_nr; i-- > 0;) {
		struct nic *nic = nic_list[i];

		e1000_free(nic->e1000);
		vnet_free(nic->vnet);
		nic_release(nic);
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

static void nic_netdev_stats(const struct netdev *nd, struct netdev_stats *out)
{
	const struct netdev_stats *s = &nd->stats;

	*out = (struct netdev_stats){
		.tx_packets = ld(&s->tx_packets),
		.tx_bytes = ld(&s->tx_bytes),
		.tx_dropped = ld(&s->tx_dropped),
		.rx_packets = ld(&s->rx_packets),
		.rx_bytes = ld(&s->rx_bytes),
		.rx_dropped = ld(&s->rx_dropped),
	};
}

int nic_get_info(unsigned int index, struct nic_info *info)
{
	struct nic *nic;

	if (index >= nic_nr)
		return -ENOENT;
	nic = nic_list[index];
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", nic->name);
	info->kind = nic_kind_name(nic->cfg->kind);
	info->backend = nic->nr_nds ? nic->nds[0]->ops->type : "vhost-user";
	nic_backend_name(nic, info->netdev);
	nic_format_mac(nic->cfg->mac, info->mac);
	if (nic->slot >= 0)
		snprintf(info->pci, sizeof(info->pci), "00:%02x.0", (unsigned int)nic->slot);
	info->gsi = nic->gsi;
	info->link_up = nic->vhost    ? nic_vhost_link_up(nic->vhost)
			: nic->nr_nds ? __atomic_load_n(&nic->nds[0]->link_up, __ATOMIC_RELAXED)
				      : false;
	/* vhost-user's counters; vhost-net has no session to count. */
	if (nic->vhost && !nic->cfg->vhost_net) {
		info->vhost = true;
		nic_vhost_get_stats(nic->vhost, &info->vhost_stats, &info->vhost_calls);
		info->vhost_direct = nic_vhost_direct_calls(nic->vhost);
	}
	if (nic->nr_nds && nic->cfg->vhost_user &&
	    netdev_vhost_user_stats(nic->nds[0], &info->relay_stats) == 0)
		info->relay = true;
	info->cfg = nic->cfg;
	if (nic->e1000)
		e1000_get_stats(nic->e1000, &info->model);
	info->nr_netdevs = nic->nr_nds;
	for (unsigned int i = 0; i < nic->nr_nds; i++) {
		struct netdev_stats *q = &info->queue_netdev[i], *sum = &info->netdev_stats;

		nic_netdev_stats(nic->nds[i], q);
		sum->tx_packets += q->tx_packets;
		sum->tx_bytes += q->tx_bytes;
		sum->tx_dropped += q->tx_dropped;
		sum->rx_packets += q->rx_packets;
		sum->rx_bytes += q->rx_bytes;
		sum->rx_dropped += q->rx_dropped;
	}
	if (nic->vnet) {
		vnet_get_stats(nic->vnet, &info->vnet);
		info->queues = vnet_max_pairs(nic->vnet);
		info->active_queues = vnet_active_pairs(nic->vnet);
		if (info->queues > VNET_MAX_PAIRS)
			info->queues = VNET_MAX_PAIRS;
		for (unsigned int p = 0; p < info->queues; p++)
			if (vnet_get_queue_stats(nic->vnet, (uint16_t)p, &info->queue[p]) < 0)
				memset(&info->queue[p], 0, sizeof(info->queue[p]));
		info->iothreads = nic->nr_iothreads;
		info->irqfd_irqs = ld(&nic->irqfd_irqs);
		info->msi_fallback_irqs = ld(&nic->msi_fallback_irqs);
	}
	return 0;
}
