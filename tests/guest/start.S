/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test-guest entry code: the PVH note, the 32-bit entry point, the GDT,
 * the AP start-up trampoline and the interrupt stubs.
 *
 * Never use int/int3/into, iret, xsave/xrstor or cmpxchg16b here: KVM's
 * instruction emulator, which runs this paging-off guest on the test
 * machines, cannot run them (check_insns.sh enforces this on the linked
 * ELF).
 */

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define STACK_SIZE	16384
#define AP_STACK_SIZE	4096
#define MAX_CPUS	64

/*
 * PVH entry note: name "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY), the
 * descriptor is the 32-bit physical address of the entry point. The
 * linker script puts this section in a PT_NOTE program header, which is
 * where QEMU and nfv-vmm look for it.
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
 * PVH entry: 32-bit protected mode, paging off, %ebx = physical address
 * of struct hvm_start_info. The segment registers hold flat 4 GiB
 * segments, but the GDT they came from belongs to the loader, and there is
 * no usable stack: load our own before touching memory through %esp.
 */
	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	lgdt gdt_desc
	ljmp $KERNEL_CS, $1f
1:	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $boot_stack_top, %esp
	pushl $0
	popfl

	/* Clear .bss (the loader should have, but be sure). Keep %ebx. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	pushl %ebx
	call guest_main
	/* guest_main does not return; park if it ever does. */
2:	cli
	hlt
	jmp 2b

/*
 * AP entry in 32-bit mode, reached from the trampoline below with flat
 * segments but no stack. Each AP takes the next stack slot with lock xadd
 * (slot 0 is unused, so slot n's top is ap_stacks + n * AP_STACK_SIZE).
 */
	.text
	.globl ap_entry32
ap_entry32:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $1, %eax
	lock xaddl %eax, ap_stack_next
	cmpl $MAX_CPUS - 1, %eax
	jae 3f
	incl %eax
	shll $12, %eax			/* * AP_STACK_SIZE */
	leal ap_stacks(%eax), %esp
	pushl $0
	popfl
	cld
	call ap_main
3:	cli
	hlt
	jmp 3b

/*
 * Interrupt stubs: 256 of them, each 16 bytes (idt_init computes stub n's
 * address as isr_stubs + 16 * n). Vectors for which the CPU pushes an error
 * code (8, 10-14, 17, 21, 29, 30) skip the dummy push, so every frame has
 * the same layout: vector, error code, then the CPU's eip, cs, eflags.
 */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushl $0
	.endif
	pushl $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

/*
 * Common interrupt path. It returns WITHOUT iret: on the test machines a
 * guest with paging off runs through KVM's instruction emulator, which
 * implements iret in real mode only ("emulation failure" otherwise). As
 * the guest never changes privilege level or code segment, returning is
 * just restoring EFLAGS and EIP: the CPU's frame (eip, cs, eflags) is
 * rewritten into (eflags, eip) over the cs and eflags slots, then popfl;
 * ret. Should popfl set IF, an interrupt taken before the ret nests
 * cleanly below the return address.
 */
isr_common:
	pushal
	cld
	pushl %esp			/* struct irq_frame * */
	call isr_dispatch
	addl $4, %esp
	/* Frame above the 32 bytes of pushal: vector, error, eip, cs, eflags. */
	movl 48(%esp), %eax		/* eflags */
	movl 40(%esp), %ecx		/* eip */
	movl %eax, 44(%esp)		/* over cs */
	movl %ecx, 48(%esp)		/* over eflags */
	popal
	addl $12, %esp			/* vector, error code, old eip */
	popfl
	ret

/*
 * AP start-up trampoline. smp.c copies [ap_tramp_start,
 * ap_tramp_end) to physical 0x8000 and sends SIPIs with vector 0x08, so an
 * AP starts here in real mode with CS = 0x0800, IP = 0. It loads the
 * guest's GDT (the pseudo-descriptor is inside the copied page, addressed
 * relative to DS = CS; its 32-bit base points at the GDT in the image),
 * sets CR0.PE and far-jumps with a 32-bit offset straight to ap_entry32.
 * It lives in its own section so check_insns.sh disassembles it as 16-bit
 * code.
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
	orl $1, %eax			/* CR0.PE */
	movl %eax, %cr0
	ljmpl $KERNEL_CS, $ap_entry32
	.balign 4
ap_tramp_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:

	.code32
	.section .rodata
	.balign 16
gdt:
	.quad 0				/* null */
	.quad 0x00cf9a000000ffff	/* 0x08: code, flat, 32-bit */
	.quad 0x00cf92000000ffff	/* 0x10: data, flat */
gdt_end:

	.balign 4
	.word 0				/* align the base below */
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.data
	.balign 4
	.globl ap_stack_next
ap_stack_next:
	.long 0

	.bss
	.balign 16
boot_stack:
	.skip STACK_SIZE
boot_stack_top:
	.balign 16
ap_stacks:
	.skip AP_STACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", @progbits
