/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NICs of the VM (--nic): parsing of the option, MAC addresses, and the
 * pairing of a NIC model with its netdev backend.
 *
 *   --nic e1000,tap=NAME[,mac=XX:XX:XX:XX:XX:XX]
 *   --nic e1000,pcap-in=FILE[,pcap-out=FILE][,mac=...]
 *   --nic e1000,pcap-out=FILE[,mac=...]
 *   --nic virtio,...             the same keys, a virtio-net (one queue pair)
 *
 * A comma inside a value is written twice (",,"), as in QEMU. Without mac=,
 * the MAC is generated from the VM name and the NIC index: locally
 * administered, unicast, the same for the same name and index on every run.
 *
 * The NICs created are kept in one process-wide list (one VM per process):
 * created on the main thread before the vCPUs start, read by the control
 * socket on the event loop (nic_count, nic_get_info), freed after both ended.
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
#include "vmm/pci.h"

#define NIC_MAX 8
#define NIC_SPEC_MAX 4096
#define NIC_MAC_STR_LEN 18 /* "xx:xx:xx:xx:xx:xx" and the terminator */

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
};

/*
 * Parses one --nic argument into cfg (strings allocated; nic_config_clear()
 * frees them). 0, or -EINVAL / -ENOTSUP / -ENAMETOOLONG / -ENOMEM with one
 * line in err: unknown kind or key, a key given twice, an empty value, a bad
 * or multicast MAC, no backend, two backends, a bad tap name.
 */
int __must_check nic_config_parse(const char *spec, struct nic_config *cfg, char *err,
				  size_t err_len);
void nic_config_clear(struct nic_config *cfg);

/*
 * Gives every config without mac= its generated MAC and checks that no two
 * NICs share one. 0 or -EINVAL with the reason in err.
 */
int __must_check nic_configs_finish(struct nic_config *cfgs, unsigned int n, const char *vm_name,
				    char *err, size_t err_len);

/* "xx:xx:xx:xx:xx:xx": 0, or -EINVAL. Any unicast or multicast address is parsed. */
int __must_check nic_parse_mac(const char *s, uint8_t mac[6]);
void nic_format_mac(const uint8_t mac[6], char buf[NIC_MAC_STR_LEN]);
/* The MAC of NIC `index` of VM `vm_name`: locally administered, unicast, stable. */
void nic_default_mac(const char *vm_name, unsigned int index, uint8_t mac[6]);
const char *nic_kind_name(enum nic_kind kind);

struct kvm_vm;

/*
 * Creates NIC `index` as cfg says (cfg must outlive it): opens its backend,
 * adds the model to `bus` and appends it to the process's list. `vm` gives a
 * virtio-net its ioeventfd doorbells (NULL: doorbells as MMIO exits). 0, or -errno
 * with one line in err; *bad_input tells a problem with the user's input (a
 * pcap file that cannot be read or created) from one of the host (no tap).
 */
int __must_check nic_create(const struct nic_config *cfg, unsigned int index, struct kvm_vm *vm,
			    struct pci_bus *bus, const struct guest_mem *mem, struct evloop *loop,
			    char *err, size_t err_len, bool *bad_input);
/*
 * Frees every NIC (models first, then their backends). Call after
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
	struct netdev_stats netdev_stats;
};
unsigned int nic_count(void);
/* 0, or -ENOENT when there is no NIC `index`. */
int nic_get_info(unsigned int index, struct nic_info *info);

#endif /* NFV_VMM_NIC_H */
