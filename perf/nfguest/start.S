/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfguest entry code: the PVH note, the 32-bit PVH entry that switches to
 * long mode, the boot page tables, the GDT, the interrupt stubs and the AP
 * start-up trampoline.
 *
 * Banned here as in all of nfguest (check_insns.sh): int/int3/into,
 * xsave/xrstor, cmpxchg16b. The 32-bit and 16-bit parts run with paging off,
 * which the test machines' KVM runs through its instruction emulator: keep
 * them short (no loops) and free of iret.
 */

#define CODE64		0x08
#define DATA		0x10
#define CODE32		0x18
#define STACK_SIZE	16384
#define AP_STACK_SIZE	16384
#define MAX_CPUS	16		/* NF_MAX_CPUS */

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

/* 2 MiB page-directory entry: present, writable, PS. */
#define PDE_2M		0x83
/* Table entry: present, writable. */
#define PTE_TABLE	0x03

/*
 * PVH entry note: name "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY), the
 * descriptor is the 32-bit physical address of the entry point. The linker
 * script puts it in a PT_NOTE program header, where QEMU and nfv-vmm find it.
 */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4			/* namesz: "Xen" and its NUL */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_start
	.balign 4

/*
 * PVH entry: 32-bit protected mode, paging off, %ebx = physical address of
 * struct hvm_start_info, no usable stack or GDT of ours. Load our GDT,
 * point CR3 at the static identity map (0-4 GiB in 2 MiB pages, below),
 * enable PAE and EFER.LME, then paging, and far-jump into 64-bit code.
 */
	.section .text32, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl %ebx, %esi			/* start info, kept for nf_main */
	lgdt gdt_desc
	ljmp $CODE32, $1f
1:	movl $DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $CODE64, $long_entry

	.text
	.code64
long_entry:
	movl $DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	pushq $0
	popfq
	/* Clear .bss (the loader should have, but be sure). Keep %esi. */
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movl %esi, %edi			/* zero-extended: struct hvm_start_info * */
	call nf_main
2:	cli
	hlt
	jmp 2b

/*
 * AP path, 32-bit part (in .text32 too, which check_insns.sh decodes as
 * 32-bit code): reached from the real-mode trampoline with flat
 * segments and paging off; same switch to long mode as the BSP, using the
 * BSP's page tables (the physical address the BSP stored in ap_cr3).
 */
	.section .text32, "ax"
	.code32
ap_entry32:
	movl $DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl ap_cr3, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $CODE64, $ap_entry64

/*
 * AP path, 64-bit part: take the next CPU number with lock xadd (the BSP is
 * 0), use stack slot n (ap_stacks + n * AP_STACK_SIZE is its top), and
 * call ap_main(n). A CPU beyond MAX_CPUS - 1 parks without a stack.
 */
	.text
	.code64
ap_entry64:
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl $1, %eax
	lock xaddl %eax, ap_next_cpu
	cmpl $MAX_CPUS, %eax
	jae 3f
	movl %eax, %edi			/* cpu number */
	movl %eax, %ecx
	shll $14, %ecx			/* * AP_STACK_SIZE */
	movq $ap_stacks, %rsp
	addq %rcx, %rsp
	pushq $0
	popfq
	cld
	call ap_main
3:	cli
	hlt
	jmp 3b

/*
 * Interrupt stubs: 256 of them, exactly 16 bytes each (idt_init computes
 * stub n as isr_stubs + 16 * n), written with fixed-size encodings and
 * one-byte nops rather than .balign, so that a linear disassembly (what
 * check_insns.sh reads) stays in step with the real instructions. Vectors
 * for which the CPU pushes an error code (8, 10-14, 17, 21, 29, 30) skip
 * the dummy push, so every frame is: vector, error code, then the CPU's
 * rip, cs, rflags, rsp, ss.
 */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.fill 2, 1, 0x90		/* nop nop in place of the push */
	.else
	.byte 0x6a, 0x00		/* pushq $0 */
	.endif
	.byte 0x68			/* pushq $imm32 */
	.long vec
	.byte 0xe9			/* jmp rel32 */
	.long isr_common - (. + 4)
	.fill 4, 1, 0x90
	.set vec, vec + 1
	.endr

/*
 * Common interrupt path: save the general registers (no FPU/SSE state: the
 * image has none), call isr_dispatch(struct irq_frame *), restore, and
 * return with iretq. On entry the CPU aligned RSP to 16 before its 40-byte
 * frame; with the 16 bytes of vector and error code and 120 of registers,
 * RSP is 16-byte aligned again at the call.
 */
isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector, error code */
	iretq

/*
 * AP start-up trampoline, copied by smp.c to physical 0x8000 (SIPI vector
 * 0x08: the AP starts in real mode at CS = 0x0800, IP = 0). It loads our
 * GDT (pseudo-descriptor inside the copied page, addressed relative to
 * DS = CS), sets CR0.PE and far-jumps with a 32-bit offset to ap_entry32.
 * Its own section, so check_insns.sh decodes it as 16-bit code.
 */
	.section .text16, "ax"
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_tramp_gdtr - ap_tramp_start
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $CODE32, $ap_entry32
	.balign 4
ap_tramp_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:

	.section .rodata
	.balign 16
gdt:
	.quad 0				/* null */
	.quad 0x00af9a000000ffff	/* 0x08: code, 64-bit (L) */
	.quad 0x00cf92000000ffff	/* 0x10: data, flat */
	.quad 0x00cf9a000000ffff	/* 0x18: code, flat, 32-bit */
gdt_end:

	.balign 4
	.word 0				/* align the base below */
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt			/* lgdt in 32-bit mode reads 4 bytes of it */

/*
 * Boot page tables: PML4[0] -> PDPT, PDPT[0..3] -> four page directories
 * mapping 0-4 GiB identically in 2 MiB pages, write-back. mm.c then marks
 * the non-RAM parts uncached and adds MMIO above 4 GiB on demand.
 */
	.data
	.balign 4096
	.globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:
	.quad boot_pdpt + PTE_TABLE
	.fill 511, 8, 0
boot_pdpt:
	.quad boot_pd + PTE_TABLE
	.quad boot_pd + 0x1000 + PTE_TABLE
	.quad boot_pd + 0x2000 + PTE_TABLE
	.quad boot_pd + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
boot_pd:
	.set addr, 0
	.rept 2048
	.quad addr + PDE_2M
	.set addr, addr + 0x200000
	.endr

	.balign 4
	.globl ap_next_cpu, ap_cr3
ap_next_cpu:
	.long 1
ap_cr3:
	.long 0

	.bss
	.balign 16
boot_stack:
	.skip STACK_SIZE
boot_stack_top:
	.balign 4096
	.globl ap_stacks
ap_stacks:
	.skip AP_STACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", @progbits
