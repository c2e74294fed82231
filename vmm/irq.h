/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupts.
 *
 * Device models and the PCI core raise interrupts only through struct
 * vm_irq, a pair of callbacks, so that they can be unit-tested without KVM.
 * The KVM implementation (vmm/irq.c) drives the in-kernel PIC/IOAPIC/LAPIC:
 * GSI lines through KVM_IRQ_LINE, MSIs through KVM_SIGNAL_MSI, and, for fast
 * paths, irqfd (an eventfd bound to a GSI route) and ioeventfd (a doorbell
 * write completed by KVM without an exit to user space).
 */
#ifndef NFV_VMM_IRQ_H
#define NFV_VMM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

/* Interrupt sink as the devices see it. Both callbacks return 0 or -errno. */
struct vm_irq {
	/* Drives GSI `gsi` (IOAPIC pin; below 16 also the PIC) to `level` (0 or 1). */
	int (*set_level)(void *opaque, unsigned int gsi, int level);
	/* Sends one MSI (address/data as programmed by the guest). */
	int (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *opaque;
};

/* Fixed GSIs of the platform devices. */
#define GSI_PIT 0
#define GSI_COM1 4
#define GSI_COM2 3
/* GSIs handed to PCI INTx, one per slot modulo the count (IOAPIC pins 16..23). */
#define GSI_PCI_FIRST 16
#define GSI_PCI_COUNT 8
/* In-kernel IOAPIC pin count and the first GSI number free for MSI routes. */
#define GSI_IOAPIC_PINS 24
#define GSI_MSI_FIRST 32
#define GSI_MAX 1024

struct kvm_vm;

/*
 * KVM side: GSI routing table (IRQCHIP entries for the PIC and IOAPIC pins,
 * plus MSI entries allocated for irqfds).
 */
struct irq_routing;

int __must_check irq_init(struct kvm_vm *vm);
void irq_exit(struct kvm_vm *vm);
/* The vm_irq that devices use (KVM_IRQ_LINE / KVM_SIGNAL_MSI). */
const struct vm_irq *irq_ops(struct kvm_vm *vm);

/*
 * MSI routes for irqfd: allocates a GSI that delivers (addr, data), or
 * updates one when the guest reprograms a vector. 0 or -errno.
 */
int __must_check irq_msi_route_add(struct kvm_vm *vm, uint64_t addr, uint32_t data,
				   unsigned int *gsi);
int __must_check irq_msi_route_update(struct kvm_vm *vm, unsigned int gsi, uint64_t addr,
				      uint32_t data);
void irq_msi_route_del(struct kvm_vm *vm, unsigned int gsi);

/* Binds eventfd efd to gsi (resample_fd >= 0 for a level-triggered INTx). */
int __must_check irq_irqfd_assign(struct kvm_vm *vm, int efd, unsigned int gsi, int resample_fd);
int irq_irqfd_deassign(struct kvm_vm *vm, int efd, unsigned int gsi);

/*
 * Doorbells: a guest write of `len` bytes at addr (PIO or MMIO), optionally
 * only when the value equals `datamatch`, signals efd without an exit.
 */
int __must_check irq_ioeventfd_add(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio,
				   bool use_datamatch, uint64_t datamatch, int efd);
int irq_ioeventfd_del(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio,
		      bool use_datamatch, uint64_t datamatch, int efd);

#endif /* NFV_VMM_IRQ_H */
