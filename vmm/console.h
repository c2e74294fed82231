/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest console: COM1 connected to the terminal (stdio), a file, or
 * nothing. On a terminal, stdin is put in raw mode so every key goes to the
 * guest, and Ctrl-A starts an escape as in QEMU: Ctrl-A x quits, Ctrl-A h
 * lists the escapes, Ctrl-A Ctrl-A sends a Ctrl-A.
 *
 * Threads: the console lives on the main event loop.
 */
#ifndef NFV_VMM_CONSOLE_H
#define NFV_VMM_CONSOLE_H

#include "common/util.h"
#include "vmm/kvm.h"

/* Opens the console output; returns the fd COM1 writes to (-1: none). */
int __must_check console_open(struct kvm_vm *vm, char *err, size_t err_len, int *out_fd);
/* Starts feeding input to COM1 (stdio only). */
int __must_check console_start(struct kvm_vm *vm);
/* Restores the terminal and closes files. Safe to call twice. */
void console_close(struct kvm_vm *vm);

#endif /* NFV_VMM_CONSOLE_H */
