#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-vmm boots the project's PVH test guest under KVM: the guest prints over
# COM1, reads its command line and memory map from hvm_start_info, takes a
# UART interrupt through the IOAPIC, enumerates PCI through 0xCF8/0xCFC, and
# ends through the debug-exit port, whose value becomes nfv-vmm's exit
# status. A triple fault ends the VM with status 1 and a register dump;
# accesses to unmapped MMIO read all ones and are counted; the VM also runs
# on hugepages and with the console in a file.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_VMM "nfv-vmm not built"
require_env NFV_TEST_GUEST "test guest not built"
require_root
require_kvm

vmm=$NFV_VMM
guest=$NFV_TEST_GUEST

# boot NAME TIMEOUT CMDLINE [nfv-vmm args...]: console in NAME.out, logs in
# NAME.err, exit status in $status.
boot()
{
	local name=$1 secs=$2 cmdline=$3

	shift 3
	out=$TEST_TMPDIR/$name.out
	err=$TEST_TMPDIR/$name.err
	echo "--- $name: --cmdline \"$cmdline\" $*"
	run_timeout "$secs" "$vmm" --name "$name" --kernel "$guest" --cmdline "$cmdline" "$@" \
		</dev/null >"$out" 2>"$err"
	status=$?
}

expect_status()
{
	if [ "$status" -eq "$1" ]; then
		ok "$name: exit status $status"
	else
		check_fail "$name: exit status $status, expected $1"
		sed 's/^/    out: /' "$out" | tail -20
		sed 's/^/    err: /' "$err" | tail -20
	fi
}

name=hello
boot hello 60 "mode=hello exit=7" --mem 64M
expect_status 7
expect_line "$out" '^test-guest: hello' "hello: guest printed over COM1"
expect_line "$out" '^test-guest: cmdline=mode=hello exit=7' "hello: guest read its command line"
expect_line "$err" "VM 'hello' ended: guest wrote 7 to the debug-exit port \(exit status 7\)" \
	"hello: nfv-vmm says why the VM ended"

# Started with stdin closed (as by some supervisors): runs as usual.
name=nostdin
echo "--- nostdin: stdin closed"
run_timeout 60 "$vmm" --name nostdin --kernel "$guest" --cmdline "mode=hello exit=9" \
	0<&- >"$TEST_TMPDIR/nostdin.out" 2>"$TEST_TMPDIR/nostdin.err"
status=$?
out=$TEST_TMPDIR/nostdin.out
err=$TEST_TMPDIR/nostdin.err
expect_status 9

# The memory map the guest reads from hvm_start_info is the one nfv-vmm built
# (nfv-vmm logs it as "e820: [mem A-B] usable").
name=memmap
boot memmap 60 "mode=memmap" --mem 128M
expect_status 0
guest_map=$(sed -n 's/^test-guest: memmap addr=\(0x[0-9a-f]*\) size=\(0x[0-9a-f]*\) type=\([0-9]*\).*/\1 \2 \3/p' "$out" |
	while read -r a s t; do printf '%x %x %d\n' $((a)) $((a + s - 1)) "$t"; done)
vmm_map=$(sed -n 's/.*e820: \[mem \(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)\] \([a-z]*\).*/\1 \2 \3/p' "$err" |
	while read -r a e t; do
		case $t in usable) n=1 ;; reserved) n=2 ;; *) n=0 ;; esac
		printf '%x %x %d\n' $((a)) $((e)) "$n"
	done)
if [ -n "$guest_map" ] && [ "$guest_map" = "$vmm_map" ]; then
	ok "memmap: guest sees the map nfv-vmm built ($(echo "$guest_map" | wc -l) entries)"
else
	check_fail "memmap: guest map differs from nfv-vmm's"
	echo "  guest:"; echo "$guest_map" | sed 's/^/    /'
	echo "  nfv-vmm:"; echo "$vmm_map" | sed 's/^/    /'
fi
# 128 MiB of RAM: the last usable entry ends at 128M - 1.
if echo "$guest_map" | grep -q '^100000 7ffffff 1$'; then
	ok "memmap: RAM from 1 MiB to 128 MiB"
else
	check_fail "memmap: no usable range 1 MiB - 128 MiB"
fi

name=irq
boot irq 120 "mode=irq"
expect_status 0
expect_line "$out" '^test-guest: irq ok vector=0x24 count=[1-9]' "irq: COM1 interrupt arrived through the IOAPIC"

name=pci
boot pci 60 "mode=pci"
expect_status 0
expect_line "$out" '^test-guest: pci 00:00\.0 8086:1237 class=060000' "pci: host bridge found through 0xCF8/0xCFC"
expect_line "$out" '^test-guest: pci done devices=1' "pci: one device on bus 0"

name=reset
boot reset 60 "mode=reset"
expect_status 0
expect_line "$out" 'pulsing the i8042 reset line' "reset: guest asked for a reset"
if grep -q 'still running' "$out"; then check_fail "reset: guest kept running"; else ok "reset: the VM stopped at the reset"; fi
expect_line "$err" "ended: guest reset the machine \(i8042\)" "reset: reason logged"

name=badarg
boot badarg 60 "mode=hello frobnicate=1"
expect_status 2
expect_line "$out" 'unknown argument frobnicate' "badarg: the guest's own status 2 passes through"

name=fault
boot fault 60 "mode=fault"
expect_status 1
expect_line "$err" 'guest shut down \(triple fault\)' "fault: triple fault reported"
expect_line "$err" 'cpu 0: rip=[0-9a-f]{16}' "fault: register dump"
expect_line "$err" "VM 'fault' ended: guest triple fault on cpu 0 \(exit status 1\)" "fault: reason in the last line"

# Unmapped MMIO reads as all ones; the VM keeps running. The control socket's
# stats count the unhandled accesses.
name=badmem
boot badmem 60 "mode=badmem"
expect_status 0
expect_line "$out" 'badmem read 0xd0000000 = 0xffffffff' "badmem: unassigned MMIO reads all ones"
expect_line "$out" 'badmem read 0x[0-9a-f]+ \(above ram\) = 0xffffffff' "badmem: above RAM reads all ones"
expect_line "$out" '^test-guest: badmem ok' "badmem: guest survived"

# CPUID as the guest sees it: the hypervisor bit, the vCPU count, and a
# feature hidden with --cpuid-mask.
cpuid_reg()
{
	sed -n "s/^test-guest: cpuid leaf=$2 .*$3=\(0x[0-9a-f]*\).*/\1/p" "$1"
}
name=cpuid
boot cpuid 60 "mode=cpuid" --cpus 2
expect_status 0
ecx=$(cpuid_reg "$out" 0x1 ecx)
ebx=$(cpuid_reg "$out" 0x1 ebx)
if [ -n "$ecx" ] && (((ecx >> 31) & 1)); then ok "cpuid: hypervisor bit set"; else check_fail "cpuid: hypervisor bit ($ecx)"; fi
if [ -n "$ebx" ] && (( ((ebx >> 16) & 0xff) == 2 )); then ok "cpuid: 2 logical processors"; else check_fail "cpuid: logical count ($ebx)"; fi
host_cx16=$(grep -c -w -m1 cx16 /proc/cpuinfo)
if [ "$host_cx16" -gt 0 ]; then
	if (((ecx >> 13) & 1)); then ok "cpuid: cx16 visible by default"; else check_fail "cpuid: cx16 missing ($ecx)"; fi
fi
name=cpuid_mask
boot cpuid_mask 60 "mode=cpuid" --cpuid-mask cx16,x2apic
expect_status 0
ecx=$(cpuid_reg "$out" 0x1 ecx)
if [ -n "$ecx" ] && ! (((ecx >> 13) & 1)) && ! (((ecx >> 21) & 1)); then
	ok "cpuid: --cpuid-mask cx16,x2apic hides both ($ecx)"
else
	check_fail "cpuid: mask not applied ($ecx)"
fi

name=console_file
boot console_file 60 "mode=hello exit=3" --console "file:$TEST_TMPDIR/console.log"
expect_status 3
expect_line "$TEST_TMPDIR/console.log" '^test-guest: hello' "console file: output went to the file"
if [ -s "$out" ]; then check_fail "console file: stdout not empty"; else ok "console file: stdout empty"; fi

name=console_none
boot console_none 60 "mode=hello exit=4" --console none
expect_status 4
if grep -q 'test-guest' "$out"; then check_fail "console none: output shown"; else ok "console none: no output"; fi

free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
if [ "$free" -ge 32 ]; then
	name=hugepages
	boot hugepages 60 "mode=hello exit=5" --mem 64M --hugepages
	expect_status 5
	expect_line "$err" "64 MiB \(hugepages\)" "hugepages: RAM on 2 MiB pages"
else
	echo "SKIP (part): hugepages: only $free free 2 MiB pages (bootstrap reserves them)"
fi
# Not enough hugepages: a clear message.
boot hugepages_short 30 "mode=hello" --mem "$((free * 2 + 64))M" --hugepages
name=hugepages_short
if [ "$status" -eq 1 ] && grep -q 'free 2 MiB hugepages' "$err"; then
	ok "hugepages: shortage named ($(grep -o 'need.*' "$err" | head -1))"
else
	check_fail "hugepages shortage: status $status: $(cat "$err")"
fi

# Large memory: RAM above 4 GiB. Memory is allocated lazily, so this costs little.
name=bigmem
boot bigmem 60 "mode=memmap" --mem 5G
expect_status 0
expect_line "$out" 'memmap addr=0x100000000 size=0x80000000 type=1' "bigmem: 2 GiB of RAM above 4 GiB"
expect_line "$out" 'memmap addr=0x100000 size=0xbff00000 type=1' "bigmem: 3 GiB below the PCI hole"

finish
