/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt plumbing on KVM's in-kernel irqchip.
 *
 * GSI routing: GSIs 0-15 go to the PIC and the IOAPIC, with GSI 0 (the PIT)
 * on IOAPIC pin 2 as on a PC (the MP table says so: ISA IRQ 0 -> pin 2) and
 * GSI 2 (the PIC cascade) on no IOAPIC pin; GSIs 16-23 go to IOAPIC pins
 * 16-23 (PCI INTx). MSI routes for irqfds are allocated from GSI_MSI_FIRST.
 * The whole table is pushed with KVM_SET_GSI_ROUTING on every change, under
 * the routing mutex (any thread may add or change an MSI route).
 */
#define LOG_COMPONENT "irq"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define IRQ_MAX_ROUTES 1024

struct irq_routing {
	pthread_mutex_t lock;
	unsigned int nr;
	struct kvm_irq_routing_entry entries[IRQ_MAX_ROUTES];
	uint8_t msi_used[GSI_MAX]; /* GSI allocated for an MSI route */
};

static int kvm_set_level(void *opaque, unsigned int gsi, int level)
{
	struct kvm_vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static int kvm_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct kvm_vm *vm = opaque;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	if (r < 0)
		return -errno;
	return 0; /* r == 0: the guest had the interrupt blocked; not an error */
}

static int routing_push(struct kvm_vm *vm)
{
	struct irq_routing *rt = vm->routing;
	struct kvm_irq_routing *tab;
	size_t sz = sizeof(*tab) + rt->nr * sizeof(tab->entries[0]);
	int ret = 0;

	tab = calloc(1, sz);
	if (!tab)
		return -ENOMEM;
	tab->nr = rt->nr;
	memcpy(tab->entries, rt->entries, rt->nr * sizeof(tab->entries[0]));
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, tab) < 0)
		ret = -errno;
	free(tab);
	return ret;
}

static void add_chip_route(struct irq_routing *rt, unsigned int gsi, unsigned int chip,
			   unsigned int pin)
{
	struct kvm_irq_routing_entry *e = &rt->entries[rt->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

int irq_init(struct kvm_vm *vm)
{
	struct irq_routing *rt = calloc(1, sizeof(*rt));
	int ret;

	if (!rt)
		return -ENOMEM;
	pthread_mutex_init(&rt->lock, NULL);
	for (unsigned int gsi = 0; gsi < 16; gsi++) {
		add_chip_route(rt, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			       gsi % 8);
		if (gsi == 2)
			continue;
		add_chip_route(rt, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	}
	for (unsigned int gsi = 16; gsi < GSI_IOAPIC_PINS; gsi++)
		add_chip_route(rt, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	vm->routing = rt;
	ret = routing_push(vm);
	if (ret < 0) {
		log_err("KVM_SET_GSI_ROUTING: %s", strerror(-ret));
		free(rt);
		vm->routing = NULL;
		return ret;
	}
	vm->irq = (struct vm_irq){ .set_level = kvm_set_level, .send_msi = kvm_send_msi,
				   .opaque = vm };
	return 0;
}

void irq_exit(struct kvm_vm *vm)
{
	if (!vm->routing)
		return;
	pthread_mutex_destroy(&vm->routing->lock);
	free(vm->routing);
	vm->routing = NULL;
}

const struct vm_irq *irq_ops(struct kvm_vm *vm)
{
	return &vm->irq;
}

static void fill_msi(struct kvm_irq_routing_entry *e, unsigned int gsi, uint64_t addr,
		     uint32_t data)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

int irq_msi_route_add(struct kvm_vm *vm, uint64_t addr, uint32_t data, unsigned int *gsi)
{
	struct irq_routing *rt = vm->routing;
	int ret = -ENOSPC;

	pthread_mutex_lock(&rt->lock);
	if (rt->nr >= IRQ_MAX_ROUTES)
		goto out;
	for (unsigned int g = GSI_MSI_FIRST; g < GSI_MAX; g++) {
		if (rt->msi_used[g])
			continue;
		fill_msi(&rt->entries[rt->nr++], g, addr, data);
		ret = routing_push(vm);
		if (ret < 0) {
			rt->nr--;
			goto out;
		}
		rt->msi_used[g] = 1;
		*gsi = g;
		break;
	}
out:
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

int irq_msi_route_update(struct kvm_vm *vm, unsigned int gsi, uint64_t addr, uint32_t data)
{
	struct irq_routing *rt = vm->routing;
	int ret = -ENOENT;

	pthread_mutex_lock(&rt->lock);
	for (unsigned int i = 0; i < rt->nr; i++) {
		if (rt->entries[i].gsi == gsi && rt->entries[i].type == KVM_IRQ_ROUTING_MSI) {
			fill_msi(&rt->entries[i], gsi, addr, data);
			ret = routing_push(vm);
			break;
		}
	}
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

void irq_msi_route_del(struct kvm_vm *vm, unsigned int gsi)
{
	struct irq_routing *rt = vm->routing;

	pthread_mutex_lock(&rt->lock);
	for (unsigned int i = 0; i < rt->nr; i++) {
		if (rt->entries[i].gsi == gsi && rt->entries[i].type == KVM_IRQ_ROUTING_MSI) {
			rt->entries[i] = rt->entries[--rt->nr];
			if (gsi < GSI_MAX)
				rt->msi_used[gsi] = 0;
			routing_push(vm);
			break;
		}
	}
	pthread_mutex_unlock(&rt->lock);
}

int irq_irqfd_assign(struct kvm_vm *vm, int efd, unsigned int gsi, int resample_fd)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)efd, .gsi = gsi };

	if (resample_fd >= 0) {
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)resample_fd;
	}
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

int irq_irqfd_deassign(struct kvm_vm *vm, int efd, unsigned int gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)efd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

static int ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio, bool use_dm,
		     uint64_t dm, int efd, bool deassign)
{
	struct kvm_ioeventfd io = {
		.datamatch = dm,
		.addr = addr,
		.len = len,
		.fd = efd,
	};

	if (pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (use_dm)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (deassign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

int irq_ioeventfd_add(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio, bool use_datamatch,
		      uint64_t datamatch, int efd)
{
	return ioeventfd(vm, addr, len, pio, use_datamatch, datamatch, efd, false);
}

int irq_ioeventfd_del(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio, bool use_datamatch,
		      uint64_t datamatch, int efd)
{
	return ioeventfd(vm, addr, len, pio, use_datamatch, datamatch, efd, true);
}
