/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Modern virtio-pci transport (VIRTIO 1.2, 4.1), shared by every virtio
 * device type. It knows nothing of networking: a device type plugs in
 * through struct virtio_pci_ops and gets its queues (struct virtq) from the
 * transport.
 *
 * The PCI function: vendor 0x1AF4, device 0x1040 + device type, revision 1,
 * one 64-bit memory BAR (BAR 0/1) holding, in 4 KiB pages:
 *   0x0000 common configuration (struct virtio_pci_common_cfg)
 *   0x1000 ISR status (1 byte, read to clear)
 *   0x2000 device configuration (served by ops->config_read/write)
 *   0x3000 notify area: queue q's doorbell at 0x3000 + q * 4
 *          (queue_notify_off = q, notify_off_multiplier = 4)
 *   0x4000 MSI-X table (one vector per queue plus one for config), served
 *   0x6000 MSI-X PBA    by the PCI core
 * and one vendor capability per region (common, notify, ISR, device).
 * While the driver has MSI-X off the transport raises INTx and sets the ISR
 * bits. A transport made with no_msix (QEMU's vectors=0) has no MSI-X
 * capability at all and a 16 KiB BAR that ends before the table: the
 * driver has only INTx and the ISR, and every vector it asks for reads
 * back VIRTIO_MSI_NO_VECTOR.
 *
 * Threads and locks:
 * - BAR accesses come from vCPU threads; the transport serialises its
 *   common configuration with its own mutex (taken after the PCI core's
 *   locks are released: the core calls BAR handlers without its lock).
 *   The PCI core reports BAR moves to the transport without its locks, and
 *   the transport takes its mutex there (to move the doorbells).
 *   ops->reset, ops->features_ok, ops->driver_ok and ops->status_changed
 *   are called with that mutex held: they must not call virtio_pci_kick()
 *   or free anything the transport uses; the lock-free calls below are fine.
 * - Device threads (datapaths, the event loop) may call, without any lock,
 *   virtio_pci_notify(), virtio_pci_config_changed(),
 *   virtio_pci_set_needs_reset(), virtio_pci_queue(), virtio_pci_features()
 *   and virtio_pci_status(): they touch only atomics and the PCI core.
 * - ops->queue_notify runs on the thread that rang the doorbell (a vCPU
 *   thread through the BAR, or the VMM's event loop through
 *   virtio_pci_kick() once an ioeventfd is bound), without the mutex.
 * - ops->config_read / config_write run on vCPU threads without the mutex;
 *   the device serialises its own configuration.
 * A queue's struct virtq belongs to the transport while the driver sets it
 * up (before DRIVER_OK) and after a reset; between ops->driver_ok and
 * ops->reset it belongs to the device (see nicmodels/virtqueue.h). A reset
 * calls ops->reset first, which must return only once the device stopped
 * touching its queues (a quiescent handshake with its threads).
 */
#ifndef NFV_NICMODELS_VIRTIO_PCI_H
#define NFV_NICMODELS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/guestmem.h"
#include "common/util.h"
#include "nicmodels/virtqueue.h"
#include "vmm/pci.h"

#define VIRTIO_PCI_VENDOR_ID 0x1AF4
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040
#define VIRTIO_PCI_MAX_QUEUES 256
#define VIRTIO_PCI_CONFIG_MAX 0x1000

#define VIRTIO_F_VERSION_1 32

/* device_status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* ISR bits (4.1.4.5) and the "no vector" value (4.1.5.1.2). */
#define VIRTIO_ISR_QUEUE 0x01
#define VIRTIO_ISR_CONFIG 0x02
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

struct virtio_pci;

/*
 * The device type, as the transport sees it. `opaque` is the device's
 * state. Members marked optional may be NULL.
 */
struct virtio_pci_ops {
	/*
	 * Feature bits the device offers. The transport adds VIRTIO_F_VERSION_1;
	 * ring features (INDIRECT_DESC, EVENT_IDX) are the device's choice.
	 */
	uint64_t (*get_features)(void *opaque);
	/*
	 * Device configuration access: `offset` + `len` lie inside config_size;
	 * a read fills `data` (it arrives zeroed), a write consumes it. Optional:
	 * without them the region reads as zeros and ignores writes. A change the
	 * device makes on its own is announced with virtio_pci_config_changed().
	 */
	void (*config_read)(void *opaque, uint32_t offset, uint8_t *data, uint32_t len);
	void (*config_write)(void *opaque, uint32_t offset, const uint8_t *data, uint32_t len);
	/*
	 * The driver set FEATURES_OK with `features` (a subset of the offer
	 * with VERSION_1; the transport checked that). 0 accepts; -errno
	 * refuses and FEATURES_OK then reads back clear. Optional.
	 */
	int (*features_ok)(void *opaque, uint64_t features);
	/*
	 * The driver set DRIVER_OK: the enabled queues are set up and now
	 * belong to the device. 0, or -errno to set NEEDS_RESET. Optional.
	 */
	int (*driver_ok)(void *opaque);
	/* A doorbell for queue `queue` (enabled, after DRIVER_OK). Optional. */
	void (*queue_notify)(void *opaque, uint16_t queue);
	/*
	 * The driver reset the device (status 0). Return only once the device
	 * stopped using its queues; the transport then resets them. Optional.
	 */
	void (*reset)(void *opaque);
	/* device_status changed from old to new (after the transport's checks). Optional. */
	void (*status_changed)(void *opaque, uint8_t old_status, uint8_t new_status);
};

/*
 * Where the VMM plugs in ioeventfd and irqfd. Every member optional; in
 * unit tests none is set and doorbells and interrupts are plain calls.
 */
struct virtio_pci_hooks {
	void *opaque;
	/*
	 * Queue `queue`'s doorbell is at guest-physical `gpa` (2 bytes written,
	 * any value) from now on (`bound` true), or no longer (`bound` false;
	 * `gpa` is then the address it was offered at). The VMM may register an
	 * ioeventfd there and call virtio_pci_kick() when it fires; return 0
	 * when it did, -errno when doorbells should keep arriving as BAR writes.
	 * Doorbells are offered at DRIVER_OK (for the enabled queues, if the
	 * BAR is decoded then) and withdrawn at reset. Between the two they
	 * follow the BAR: when the guest moves it, or turns memory decoding off
	 * or on, every offered doorbell is withdrawn first and, if the BAR is
	 * decoded at its new place, offered again there: none stays behind
	 * where the BAR no longer decodes, over what may be another device's
	 * range by then. Called with the transport's mutex held, on the vCPU
	 * thread that wrote the status, the BAR or the command register.
	 */
	int (*doorbell)(void *opaque, uint16_t queue, uint64_t gpa, bool bound);
	/*
	 * Sends MSI-X vector `vector` (an irqfd write); NULL means
	 * pci_dev_notify(). Any thread. 0 or -errno.
	 */
	int (*msix_raise)(void *opaque, uint16_t vector);
	/* The PCI core's msix_changed (routes to update). Any vCPU thread. */
	void (*msix_changed)(void *opaque, uint32_t vector);
	/*
	 * The driver moved queue `queue` (< num_queues, enabled or not) to MSI-X
	 * vector `vector` (as it reads back: VIRTIO_MSI_NO_VECTOR when out of
	 * range) while the device is at DRIVER_OK. Called only when the value
	 * actually changes; a change before DRIVER_OK is seen at DRIVER_OK
	 * through virtio_pci_queue_info(), and a reset sets every vector back
	 * without a call. Meant for a VMM that handed the queue's interrupt
	 * eventfd to a backend at DRIVER_OK (vhost); a device model needs none
	 * of it: virtio_pci_notify() reads the vector each time. Called with
	 * the transport's mutex held, on the vCPU thread that wrote
	 * queue_msix_vector: it must not wait for another thread or a backend,
	 * nor call into the transport but through the lock-free calls below.
	 */
	void (*queue_vector)(void *opaque, uint16_t queue, uint16_t vector);
};

struct virtio_pci_config {
	const char *name;	 /* "virtio-net0": PCI device name and logs */
	uint16_t device_type;	 /* virtio device ID (5): 1 network, ... */
	uint32_t class_code;	 /* class << 16 | subclass << 8 | prog-if */
	uint16_t num_queues;	 /* 1 .. VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two, at most VIRTQ_MAX_SIZE */
	uint32_t config_size;	 /* bytes of device configuration, <= 4096 */
	const struct virtio_pci_ops *ops;
	void *opaque;
	const struct virtio_pci_hooks *hooks; /* NULL: none */
	/* No MSI-X capability: INTx and the ISR only. */
	bool no_msix;
	/* The PCI slot, 0: the next free one (as struct pci_dev_info). */
	unsigned int slot;
};

/*
 * Adds the device to `bus` (BAR, capabilities, MSI-X unless cfg->no_msix)
 * over guest memory `gm`. NULL on failure (logged). The PCI device cannot be removed from
 * the bus: free the transport after the bus.
 */
struct virtio_pci *virtio_pci_new(struct pci_bus *bus, const struct guest_mem *gm,
				  const struct virtio_pci_config *cfg);
void virtio_pci_free(struct virtio_pci *vp);
struct pci_dev *virtio_pci_pci_dev(const struct virtio_pci *vp);

/* Queue `q` (< num_queues), owned as the header comment says; NULL beyond. */
struct virtq *virtio_pci_queue(const struct virtio_pci *vp, uint16_t q);
/*
 * A queue as the driver set it up: what a vhost backend needs to take it
 * over. Valid between ops->driver_ok and ops->reset (the ring registers
 * cannot change then: they are written only while a queue is disabled, and
 * a queue cannot be disabled but by a reset; the MSI-X vector may move at
 * any time, see hooks->queue_vector), so it takes no lock and may be
 * called from ops->driver_ok. 0, or -EINVAL beyond the queues.
 */
struct virtio_pci_queue_info {
	bool enabled;
	uint16_t size;
	uint64_t desc, driver, device; /* guest-physical: descriptors, avail, used */
	uint16_t msix;		       /* its MSI-X vector, or VIRTIO_MSI_NO_VECTOR */
};
int virtio_pci_queue_info(struct virtio_pci *vp, uint16_t q, struct virtio_pci_queue_info *qi);

/* Features the driver accepted (valid once FEATURES_OK is set). */
uint64_t virtio_pci_features(const struct virtio_pci *vp);
uint8_t virtio_pci_status(const struct virtio_pci *vp);

/*
 * Interrupts the driver for used buffers in queue `q`: its MSI-X vector
 * (nothing when VIRTIO_MSI_NO_VECTOR), or ISR bit 0 and INTx when MSI-X is
 * off. Call after virtq_should_notify() said yes. 0 or -errno.
 */
int virtio_pci_notify(struct virtio_pci *vp, uint16_t q);
/* Device configuration changed: config_generation moves, config interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The device hit a fault (a broken queue): NEEDS_RESET and a config interrupt. */
void virtio_pci_set_needs_reset(struct virtio_pci *vp);
/* A doorbell that arrived through an ioeventfd (see struct virtio_pci_hooks). */
void virtio_pci_kick(struct virtio_pci *vp, uint16_t q);

#endif /* NFV_NICMODELS_VIRTIO_PCI_H */
