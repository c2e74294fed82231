/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket (--api PATH): a Unix stream socket that takes one JSON
 * object per line and answers one JSON object per line.
 *
 *   {"cmd": "status"}  -> {"ok": true, "result": {"name": ..., "state": ...}}
 *   {"cmd": "pause"}, {"cmd": "resume"}, {"cmd": "stop"}
 *   {"cmd": "stats"}   -> exit counters by reason, by vCPU and by device
 *   anything else      -> {"ok": false, "error": "..."}
 *
 * An "id" member in a request is copied into its answer. docs/vmm.md has the
 * full reference. Threads: served on the main event loop.
 */
#ifndef NFV_VMM_API_H
#define NFV_VMM_API_H

#include "common/util.h"
#include "vmm/kvm.h"

#define API_MAX_LINE 4096
#define API_MAX_CLIENTS 16

int __must_check api_open(struct kvm_vm *vm, const char *path, char *err, size_t err_len);
void api_close(struct kvm_vm *vm);

#endif /* NFV_VMM_API_H */
