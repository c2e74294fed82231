/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI: one bus (bus 0) behind a host bridge at 00:00.0, configuration
 * mechanism #1 (ports 0xCF8 address, 0xCFC-0xCFF data), and a device API for
 * models: IDs, BARs (I/O, 32- and 64-bit memory) with sizing and guest
 * relocation, a capability list, MSI and MSI-X (table and PBA, per-vector
 * and function masking, pending bits), INTx routed to an IOAPIC pin.
 *
 * The PCI core knows nothing of KVM: it registers BARs on the I/O buses and
 * raises interrupts through struct vm_irq, so it is unit-tested alone.
 *
 * Address windows handed out to BARs before the guest runs (no firmware
 * here; the guest may move them):
 *   I/O:    0xC000 - 0xFFFF
 *   memory: 0xC0000000 - 0xFEBFFFFF (the PCI hole under 4 GiB)
 *
 * Threads: config accesses and BAR accesses come from vCPU threads; the
 * PCI core serialises its own state (config space, MSI-X table) with a
 * per-device lock. Device handlers (BAR handlers and every struct
 * pci_dev_ops callback) are called without it, so a model may hold its own
 * lock while it calls into the core.
 */
#ifndef NFV_VMM_PCI_H
#define NFV_VMM_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "vmm/iobus.h"
#include "vmm/irq.h"

#define PCI_CONFIG_ADDR_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT 0xCFC
#define PCI_IO_WINDOW_BASE 0xC000ull
#define PCI_IO_WINDOW_END 0x10000ull /* exclusive */
#define PCI_MMIO_WINDOW_BASE 0xC0000000ull
#define PCI_MMIO_WINDOW_END 0xFEC00000ull /* exclusive: IOAPIC above */
#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS 6
#define PCI_CONFIG_SIZE 256
#define PCI_MSIX_MAX_VECTORS 2048

struct pci_bus;
struct pci_dev;

enum pci_bar_type {
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* takes two BAR slots: bar and bar + 1 */
};

struct pci_dev_info {
	const char *name; /* for logs and statistics: "e1000", "virtio-net" */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsys_vendor_id;
	uint16_t subsys_id;
	uint8_t revision;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
	bool intx;           /* uses INTA# */
	/*
	 * The slot to take, 1 .. PCI_MAX_SLOTS - 1; 0 (what an initialiser
	 * that does not name it gives) takes the next free one. Slot 0 is the
	 * host bridge's.
	 */
	unsigned int slot;
};

/* Callbacks from the PCI core to the device model; every member optional. */
struct pci_dev_ops {
	/*
	 * Device-specific config space (offsets the core does not own: 0x40 and
	 * up outside the capabilities the core manages). Reads fill `data`;
	 * it arrives holding the core's copy (a capability body as given to
	 * pci_dev_add_cap, zeros elsewhere), so a model may leave bytes it does
	 * not serve. A capability's ID and next bytes stay with the core.
	 */
	void (*config_access)(struct pci_dev *dev, uint32_t offset, uint8_t *data, uint32_t len,
			      bool is_write);
	/* The command register changed (memory/I/O decode, bus master, INTx disable). */
	void (*command_changed)(struct pci_dev *dev, uint16_t old_cmd, uint16_t new_cmd);
	/*
	 * An MSI-X vector's address/data or mask changed, or MSI-X was enabled
	 * or disabled (vector == UINT32_MAX then): devices that bind irqfds
	 * update their routes here.
	 */
	void (*msix_changed)(struct pci_dev *dev, uint32_t vector);
	/*
	 * The place where BAR `bar` is decoded changed: the core had it on the bus at
	 * `old_addr` and has it at `new_addr` now, PCI_BAR_UNMAPPED (0) standing
	 * for "not on the bus" on either side. Called after the bus was brought
	 * in line (the range unregistered from old_addr and registered at
	 * new_addr), for every change of that registration: the guest writes a
	 * new address while decoding is on, turns memory or I/O decoding on or
	 * off in the command register, sizes a decoding BAR (all ones: the BAR
	 * leaves the bus, and comes back when the address is restored; an
	 * all-ones address is never reported), moves it onto another range
	 * (left unmapped), or to address 0. A write that leaves the decoded
	 * address as it was, or that changes a BAR while decoding is off, is no
	 * change and brings no call. A 64-bit BAR moved one dword at a time may
	 * pass through an intermediate address: each step is a change.
	 * Called on the thread that wrote config space (a vCPU thread, or the
	 * caller of pci_bus_config_write() / pci_dev_add_bar()), after the
	 * config write's config_access and before its command_changed, with no
	 * PCI core lock held, so the model may take its own locks and call back
	 * into the core. Not called when the bus is freed.
	 * The core does not serialise these calls: two config writes racing on
	 * two threads may deliver theirs in either order. A model should take
	 * its lock and read the current state with pci_dev_bar_decoded() rather
	 * than trust `new_addr`: the call that runs last sees the final state.
	 */
	void (*bar_changed)(struct pci_dev *dev, unsigned int bar, uint64_t old_addr,
			    uint64_t new_addr);
};

/* A BAR that is not on the bus (the core never decodes a BAR at address 0). */
#define PCI_BAR_UNMAPPED 0ull

/*
 * Creates the bus and its host bridge (00:00.0, 8086:1237) and registers
 * 0xCF8-0xCFF on `pio`. BARs go on `pio` and `mmio`; interrupts through `irq`.
 */
struct pci_bus *pci_bus_new(struct io_bus *pio, struct io_bus *mmio, const struct vm_irq *irq);
void pci_bus_free(struct pci_bus *bus);

/*
 * Adds a device in slot info->slot, or with info->slot 0 in the next free
 * slot; NULL with errno ENOSPC (no free slot), EBUSY (the slot asked for is
 * taken: pci_bus_slot_dev() tells by what) or EINVAL (no such slot). INTx,
 * when info->intx, goes to GSI GSI_PCI_FIRST + slot % GSI_PCI_COUNT,
 * written to the Interrupt Line register; devices whose GSIs coincide share
 * the line (it is high while any of them drives it). `opaque` is the
 * model's state.
 */
struct pci_dev *pci_dev_new(struct pci_bus *bus, const struct pci_dev_info *info,
			    const struct pci_dev_ops *ops, void *opaque);
void *pci_dev_opaque(const struct pci_dev *dev);
unsigned int pci_dev_slot(const struct pci_dev *dev);
unsigned int pci_dev_gsi(const struct pci_dev *dev);
const char *pci_dev_name(const struct pci_dev *dev);

/*
 * Declares BAR `bar` (0..5) of `size` bytes (a power of two, at least 16 for
 * I/O and 4096 for memory so that BARs never share a page). The core
 * assigns an address from its window and (re)registers the range on the bus
 * when the guest enables decoding or moves it; `fn(opaque, offset, ...)`
 * serves accesses with offset relative to the BAR. 0 or -errno.
 */
int __must_check pci_dev_add_bar(struct pci_dev *dev, unsigned int bar, enum pci_bar_type type,
				 uint64_t size, io_handler_fn fn, void *opaque);
/*
 * Current guest address of a BAR (its value in config space, flags masked),
 * whether or not it is decoded there: see pci_dev_bar_decoded().
 */
uint64_t pci_dev_bar_addr(const struct pci_dev *dev, unsigned int bar);
/*
 * Where the BAR is on the bus now, or PCI_BAR_UNMAPPED while it is not
 * (decoding off, being sized, at address 0, over another range). This is
 * where its accesses arrive, and the only address worth handing to
 * anything that intercepts them (an ioeventfd); ops->bar_changed says
 * when it changes.
 */
uint64_t pci_dev_bar_decoded(const struct pci_dev *dev, unsigned int bar);

/*
 * Appends a capability. `body` is the capability after its ID and next
 * bytes (len bytes, so the capability occupies len + 2). Returns its config
 * offset or -ENOSPC. Writes to it go to ops->config_access.
 */
int __must_check pci_dev_add_cap(struct pci_dev *dev, uint8_t cap_id, const void *body,
				 size_t len);

/*
 * MSI capability (64-bit address, `nvec` a power of two up to 32, per-vector
 * masking). Returns the capability offset or -errno.
 */
int __must_check pci_dev_add_msi(struct pci_dev *dev, unsigned int nvec);

/*
 * MSI-X capability with `nvec` vectors whose table and PBA live in BAR `bar`
 * at the given offsets (8-byte aligned; the table 16 bytes a vector, the PBA
 * one bit a vector). The core serves those two areas; the rest of the BAR
 * goes to the BAR's own handler. The BAR must be declared first.
 * Returns the capability offset or -errno.
 */
int __must_check pci_dev_add_msix(struct pci_dev *dev, unsigned int nvec, unsigned int bar,
				  uint32_t table_offset, uint32_t pba_offset);

/*
 * Raises interrupt `vector`: through MSI-X when it is enabled (a masked
 * vector, or a masked function, sets the pending bit and the message is sent
 * when the guest unmasks it), else through MSI when enabled, else returns
 * -ENOTCONN (the device then uses INTx). 0 or -errno.
 */
int pci_dev_notify(struct pci_dev *dev, unsigned int vector);
bool pci_dev_msix_enabled(const struct pci_dev *dev);
bool pci_dev_msi_enabled(const struct pci_dev *dev);
/*
 * Reads vector's programmed message; *masked is its mask bit or the function
 * mask. 0 or -EINVAL for a vector out of range. Output pointers may be NULL.
 */
int pci_dev_msix_vector(const struct pci_dev *dev, unsigned int vector, uint64_t *addr,
			uint32_t *data, bool *masked);

/*
 * INTx level (0 or 1). The core reflects it in the status register's
 * Interrupt Status bit and keeps the line low while the command register's
 * Interrupt Disable bit is set.
 */
void pci_dev_set_intx(struct pci_dev *dev, int level);

/* Raw config space access, as the 0xCFC port does (for tests and firmware-less setup). */
uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned int slot, unsigned int func,
			     unsigned int offset, unsigned int len);
void pci_bus_config_write(struct pci_bus *bus, unsigned int slot, unsigned int func,
			  unsigned int offset, unsigned int len, uint32_t val);

/* The device in `slot` (slot 0: the host bridge), or NULL. */
struct pci_dev *pci_bus_slot_dev(struct pci_bus *bus, unsigned int slot);

/* Iterates devices (including the host bridge), e.g. for the MP table. */
void pci_bus_for_each(struct pci_bus *bus, void (*fn)(struct pci_dev *dev, void *arg), void *arg);
bool pci_dev_uses_intx(const struct pci_dev *dev);

#endif /* NFV_VMM_PCI_H */
