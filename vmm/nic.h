/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NICs of the VM (--nic): parsing of the option, MAC addresses, and the
 * pairing of a NIC model with its netdev backend.
 *
 *   --nic e1000,tap=NAME[,mac=XX:XX:XX:XX:XX:XX]
 *   --nic e1000,pcap-in=FILE[,pcap-out=FILE][,mac=...]
 *   --nic e1000,pcap-out=FILE[,mac=...]
 *   --nic virtio,...[,queues=N][,iothreads=K][,vectors=0][,event_idx=off]
 *                                the same keys, a virtio-net with N queue
 *                                pairs (1..16, default 1) served by K I/O
 *                                threads (1..N, default N; pair i on thread
 *                                i % K); vectors=0: no MSI-X (INTx and the
 *                                ISR; the default 2N+2 is also accepted);
 *                                event_idx=off: VIRTIO_F_RING_EVENT_IDX not
 *                                offered
 *   addr=SLOT (either kind)      the PCI slot, 1..31 (decimal, or 0x hex;
 *                                "3.0": function 0 only); without it the
 *                                next free slot that no other NIC's addr=
 *                                asks for
 *
 * A comma inside a value is written twice (",,"), as in QEMU. Without mac=,
 * the MAC is generated from the VM name and the NIC index: locally
 * administered, unicast, the same for the same name and index on every run.
 *
 * The NICs created are kept in one process-wide list (one VM per process):
 * created on the main thread before the vCPUs start, read by the control
 * socket on the event loop (nic_count, nic_get_info), freed after both ended.
 * A virtio-net's datapath runs on its I/O threads, started by
 * nic_start_all() and stopped by nic_stop_all() (main thread).
 *
 * The parsing (nic_config_*, MACs) lives in nic_config.c, which needs no
 * KVM: the unit tests link it alone.
 */
#ifndef NFV_VMM_NIC_H
#define NFV_VMM_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "common/util.h"
#include "nicmodels/e1000.h"
#include "nicmodels/virtio_net.h"
#include "vmm/netdev.h"
#include "vmm/netdev_vhost_user.h"
#include "vmm/vhost_user_nic.h"
#include "vmm/pci.h"

#define NIC_MAX 8
#define NIC_MIN_MTU 68
#define NIC_MAX_MTU 9000
#define NIC_SPEC_MAX 4096
#define NIC_MAC_STR_LEN 18 /* "xx:xx:xx:xx:xx:xx" and the terminator */
#define NIC_MAX_QUEUES VNET_MAX_PAIRS /* queues= of a virtio NIC */

enum nic_kind {
	NIC_KIND_E1000,
	NIC_KIND_VIRTIO,
};

struct nic_config {
	enum nic_kind kind;
	char *tap;	/* interface name, or NULL */
	char *pcap_in;	/* file, or NULL */
	char *pcap_out; /* file, or NULL */
	bool mac_given;
	uint8_t mac[6];
	/*
	 * Queue pairs and I/O threads (virtio only): queues 1..NIC_MAX_QUEUES
	 * (1 without queues=), iothreads 1..queues (queues without
	 * iothreads=). An e1000 has queues 1 and iothreads 0 (its datapath
	 * stays on the main event loop).
	 */
	unsigned int queues;
	unsigned int iothreads;
	bool queues_given, iothreads_given;
	/*
	 * virtio only: no_msix (vectors=0) leaves out the MSI-X capability
	 * (vectors holds what vectors= said: 0, or the default 2 * queues + 2);
	 * no_event_idx (event_idx=off) leaves VIRTIO_F_RING_EVENT_IDX out of
	 * the offer.
	 */
	unsigned int vectors;
	bool no_msix, vectors_given;
	bool no_event_idx, event_idx_given;
	/* addr=: the PCI slot (1 .. PCI_MAX_SLOTS - 1), 0 when not given. */
	unsigned int pci_slot;
	/*
	 * The slots other NICs ask for with addr= (bit s: slot s), set by
	 * nic_configs_finish(): a NIC without addr= keeps off them, whatever
	 * the order of the --nic options.
	 */
	uint32_t others_slots;
	/*
	 * vhost-user=PATH: the NIC reaches a vhost-user backend on PATH;
	 * server (server=on, the default) says nfv-vmm listens there. A
	 * virtio NIC hands its rings to the backend (vhost mode) unless
	 * offload=off, which, like an e1000, relays frames through a queue
	 * pair nfv-vmm drives (vmm/netdev_vhost_user.c).
	 */
	char *vhost_user;
	bool server, server_given;
	bool offload_off, offload_given;
	/*
	 * mtu= (68 .. NIC_MAX_MTU, 1500 without it): a virtio NIC reports it
	 * (VIRTIO_NET_F_MTU) and tells a vhost-user backend (NET_SET_MTU); a
	 * relay sizes its buffers for it.
	 */
	unsigned int mtu;
	bool mtu_given;
	/*
	 * vhost-net=on (virtio with tap=): vhost mode with the kernel's
	 * vhost-net as the backend, one device per queue pair bound to that
	 * pair's tap queue (vmm/nic_vhost.c).
	 */
	bool vhost_net, vhost_net_given;
};

/* A virtio NIC whose rings a vhost-user backend reads (not a relay). */
static inline bool nic_config_vhost_mode(const struct nic_config *cfg)
{
	return cfg->kind == NIC_KIND_VIRTIO && cfg->vhost_user && !cfg->offload_off;
}

/*
 * Parses one --nic argument into cfg (strings allocated; nic_config_clear()
 * frees them). 0, or -EINVAL / -ENOTSUP / -ENAMETOOLONG / -ENOMEM with one
 * line in err: unknown kind or key, a key given twice, an empty value, a bad
 * or multicast MAC, no backend, two backends, a bad tap name, queues= or
 * iothreads= out of range or on an e1000, iothreads= above queues=,
 * vectors= other than 0 or 2 * queues + 2, event_idx= not on or off,
 * vectors= or event_idx= on an e1000, addr= not a slot from 1 to 31,
 * server=/offload=/vhost-net= not on or off, offload= without
 * vhost-user=, vhost-net= without a virtio tap, a path too long for a
 * Unix socket.
 */
int __must_check nic_config_parse(const char *spec, struct nic_config *cfg, char *err,
				  size_t err_len);
void nic_config_clear(struct nic_config *cfg);

/*
 * Gives every config without mac= its generated MAC and checks that no two
 * NICs share one, nor a tap, nor a PCI slot (addr=); fills others_slots.
 * 0 or -EINVAL with the reason in err.
 */
int __must_check nic_configs_finish(struct nic_config *cfgs, unsigned int n, const char *vm_name,
				    char *err, size_t err_len);

/* The MAC as "xx:xx:xx:xx:xx:xx" (parse_mac in common/util.h reads it back). */
void nic_format_mac(const uint8_t mac[6], char buf[NIC_MAC_STR_LEN]);
/* The MAC of NIC `index` of VM `vm_name`: locally administered, unicast, stable. */
void nic_default_mac(const char *vm_name, unsigned int index, uint8_t mac[6]);
const char *nic_kind_name(enum nic_kind kind);

struct kvm_vm;

/*
 * Creates NIC `index` as cfg says (cfg must outlive it): opens its backend,
 * adds the model to `bus` and appends it to the process's list. An e1000
 * runs on `loop`; a virtio-net gets its I/O threads (created here, started
 * by nic_start_all()). `vm` gives a virtio-net its ioeventfd doorbells and
 * irqfd interrupts (NULL: doorbells as MMIO exits, interrupts through the
 * PCI core). 0, or -errno with one line in err; *bad_input tells a problem
 * with the user's input (a pcap file that cannot be read or created, an
 * addr= slot that is taken) from one of the host (no tap).
 */
int __must_check nic_create(const struct nic_config *cfg, unsigned int index, struct kvm_vm *vm,
			    struct pci_bus *bus, const struct guest_mem *mem, struct evloop *loop,
			    char *err, size_t err_len, bool *bad_input);
/*
 * Starts the I/O threads of every NIC: call once everything is set up,
 * before the vCPUs start. 0, or -errno (logged; the threads that started
 * are stopped again).
 */
int __must_check nic_start_all(void);
/* Stops and joins every I/O thread; call after the vCPUs ended. Idempotent. */
void nic_stop_all(void);
/*
 * Frees every NIC (models first, then their backends and I/O threads),
 * stopping the threads first if nic_stop_all() was not called. Call after
 * pci_bus_free(): the virtio transport is freed after its bus.
 */
void nic_free_all(void);

/* What the control socket's "stats" reports for each NIC. */
struct nic_info {
	char name[16];		      /* "e1000.0" */
	const char *kind;	      /* "e1000", "virtio" */
	const char *backend;	      /* "tap", "pcap" */
	char netdev[NETDEV_NAME_LEN]; /* "tap:nfv0" */
	char mac[NIC_MAC_STR_LEN];
	char pci[16];	  /* "00:03.0" */
	unsigned int gsi; /* INTx GSI */
	bool link_up;
	const struct nic_config *cfg;
	struct e1000_stats model; /* kind e1000 */
	struct vnet_stats vnet;	  /* kind virtio */
	struct netdev_stats netdev_stats; /* summed over the NIC's netdevs */
	/* kind virtio: */
	unsigned int queues;	    /* queue pairs of the device */
	unsigned int active_queues; /* pairs the driver uses now */
	unsigned int iothreads;
	uint64_t irqfd_irqs;	    /* MSI-X interrupts sent through an irqfd */
	uint64_t msi_fallback_irqs; /* ... through the PCI core (KVM_SIGNAL_MSI, pending bit) */
	struct vnet_queue_stats queue[VNET_MAX_PAIRS];
	/* netdevs: 1 (one backend for every pair) or queues (one per pair) */
	unsigned int nr_netdevs;
	struct netdev_stats queue_netdev[VNET_MAX_PAIRS];
	/* vhost mode: the controller's counters and the interrupts relayed. */
	bool vhost;
	struct vhu_stats vhost_stats;
	uint64_t vhost_calls;	    /* interrupts relayed through an I/O thread */
	unsigned int vhost_direct; /* data queues whose call is an irqfd */
	/* The vhost-user relay backend's counters. */
	bool relay;
	struct netdev_vu_stats relay_stats;
};
unsigned int nic_count(void);
/* 0, or -ENOENT when there is no NIC `index`. */
int nic_get_info(unsigned int index, struct nic_info *info);

#endif /* NFV_VMM_NIC_H */
