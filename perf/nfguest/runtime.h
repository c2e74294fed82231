/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfguest runtime internals: the start-up steps main.c runs in order and
 * the pieces the runtime files share. Drivers and NF modes use nfguest.h
 * and netif.h only.
 */
#ifndef NFGUEST_RUNTIME_H
#define NFGUEST_RUNTIME_H

#include "nfguest.h"

/* Register frame built by isr_common (start.S), lowest address first. */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define VEC_TIMER	0x20
#define VEC_LAPIC_ERROR	0x2e
#define VEC_SELFTEST	0x2f
#define VEC_FIRST_FREE	0x30
#define VEC_LAST_FREE	0xef
#define VEC_PIC_BASE	0xf0	/* the 8259s are remapped here and masked */
#define VEC_SPURIOUS	0xff

#define LAPIC_BASE	0xfee00000u
#define IOAPIC_BASE	0xfec00000u

/* lib.c */
void console_init(void);
void cmdline_init(const char *src);

/* mm.c */
void mm_init(const struct hvm_start_info *si);

/* cpu.c: IDT, LAPIC, IOAPIC, PIC, time, SMP */
void cpu_bsp_init(void);
void idt_init(void);
void idt_load(void);
void lapic_init(void);
void pic_disable(void);
void ioapic_init(void);
void time_init(void);
int irq_selftest(void);
void smp_init(uint32_t want);
void ap_main(uint32_t cpu);

/* pci.c */
void pci_init(void);

#endif /* NFGUEST_RUNTIME_H */
