#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The test guest (tests/guest) boots in QEMU under KVM through PVH and its
# modes behave: hello with an exit status, smp with 2 CPUs, irq through the
# IOAPIC, pci enumeration with BAR sizing, the PVH memory map, a bad
# argument and a triple fault. This is the reference nfv-vmm's own guest
# tests are compared against.
#
# QEMU's isa-debug-exit turns guest status S into process status
# (S << 1) | 1; a triple fault with -no-reboot exits with 0.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_TEST_GUEST "test guest not built"
require_root
require_kvm
require_cmd qemu-system-x86_64 timeout

guest=$NFV_TEST_GUEST
[ -r "$guest" ] || fail "test guest $guest not readable"

# run_guest NAME TIMEOUT APPEND [QEMU ARGS...]: boot the guest, serial
# output in $TEST_TMPDIR/NAME.log, QEMU's status in $status.
run_guest()
{
	local name=$1 secs=$2 append=$3

	shift 3
	log=$TEST_TMPDIR/$name.log
	failures_before=$failures
	echo "--- $name: -append \"$append\" $*"
	# etc/sercon-port=0 keeps SeaBIOS off the serial port (QEMU warns
	# about the name on stderr, which goes to a separate file).
	run_timeout "$secs" qemu-system-x86_64 \
		-accel kvm -M pc -m 256 -nodefaults -no-reboot \
		-display none -monitor none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=etc/sercon-port,string=0 \
		-kernel "$guest" -append "$append" "$@" \
		</dev/null >"$log" 2>"$TEST_TMPDIR/$name.err"
	status=$?
}

expect_status()
{
	local want=$1

	if [ "$status" -eq "$want" ]; then
		ok "$name: QEMU exit status $status"
	else
		check_fail "$name: QEMU exit status $status, expected $want"
	fi
}

show_log_on_failure()
{
	if [ "$failures" -ne "$failures_before" ]; then
		echo "--- serial output of $name:"
		sed 's/^/    /' "$log"
		echo "--- QEMU stderr of $name:"
		sed 's/^/    /' "$TEST_TMPDIR/$name.err"
	fi
}

# hello, with exit=7: guest status 7 -> QEMU 15.
name=hello
run_guest $name 60 "mode=hello exit=7"
expect_status 15
expect_line "$log" '^test-guest: hello$' "$name: greeting"
expect_line "$log" '^test-guest: cmdline=mode=hello exit=7$' "$name: command line echoed"
show_log_on_failure

# smp: the AP comes up and reports its LAPIC ID.
name=smp
run_guest $name 60 "mode=smp cpus=2" -smp 2
expect_status 1
expect_line "$log" '^test-guest: cpu 1 up$' "$name: AP with APIC ID 1 up"
expect_line "$log" '^test-guest: smp ok cpus=2$' "$name: both CPUs counted"
show_log_on_failure

# irq: COM1's THRE interrupt through IOAPIC pin 4 to vector 0x24.
name=irq
run_guest $name 60 "mode=irq"
expect_status 1
expect_line "$log" '^test-guest: irq ok vector=0x24 count=[1-9][0-9]*$' "$name: COM1 interrupt delivered"
show_log_on_failure

# pci: the i440FX host bridge, the PIIX3 ISA bridge and an e1000 with its
# two BARs (128 KiB memory, 64 bytes I/O). romfile= keeps iPXE out.
name=pci
run_guest $name 60 "mode=pci" -device e1000,romfile=,addr=05.0
expect_status 1
expect_line "$log" '^test-guest: pci 00:00\.0 8086:1237 class=060000$' "$name: host bridge"
expect_line "$log" '^test-guest: pci 00:01\.0 8086:7000 class=060100$' "$name: ISA bridge"
expect_line "$log" '^test-guest: pci 00:05\.0 8086:100e class=020000$' "$name: e1000"
expect_line "$log" '^test-guest: pci 00:05\.0 bar0 mem32 size=0x20000$' "$name: e1000 BAR0 sized 128 KiB"
expect_line "$log" '^test-guest: pci 00:05\.0 bar1 io size=0x40$' "$name: e1000 BAR1 sized 64 ports"
show_log_on_failure

# memmap: low RAM and RAM from 1 MiB in the PVH memory map.
name=memmap
run_guest $name 60 "mode=memmap"
expect_status 1
expect_line "$log" '^test-guest: memmap addr=0x0 size=0x[0-9a-f]+ type=1$' "$name: low RAM entry"
expect_line "$log" '^test-guest: memmap addr=0x100000 size=0x[0-9a-f]+ type=1$' "$name: RAM entry at 1 MiB"
show_log_on_failure

# An unknown argument: guest status 2 -> QEMU 5.
name=badarg
run_guest $name 60 "mode=hello bogus=1"
expect_status 5
expect_line "$log" '^test-guest: unknown argument bogus=1$' "$name: unknown argument reported"
show_log_on_failure

# fault: a triple fault is a shutdown; with -no-reboot QEMU exits with 0.
name=fault
run_guest $name 60 "mode=fault"
expect_status 0
expect_line "$log" '^test-guest: fault: triple faulting now$' "$name: fault announced"
show_log_on_failure

finish
