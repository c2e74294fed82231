#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A real kernel: Debian's stock cloud kernel (bzImage, fetched with
# `apt-get download` and cached) started by nfv-vmm through the Linux 64-bit
# boot protocol prints "Linux version" and its "BIOS-e820" lines over our
# UART, and the map it prints is the one nfv-vmm built.
#
# That kernel has no MP table support (CONFIG_X86_MPPARSE is off): with two
# vCPUs it must find the RSDP nfv-vmm passes in boot_params, list our ACPI
# tables, parse the MADT (both CPUs, the IOAPIC, the interrupt overrides,
# the LAPIC NMI) and allow 2 CPUs.
#
# On a nested, software-emulated KVM the kernel decompresses itself for
# about 40 s and later stops at an instruction KVM cannot emulate; the test
# ends the VM once the map is printed and says so.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd apt-get apt-cache dpkg-deb

cache=${NFV_CACHE_DIR:-/var/cache/nfvkit}
mkdir -p "$cache" || skip "cannot create the cache directory $cache"

# The cloud kernel package that linux-image-cloud-amd64 points to.
kernel=$(ls "$cache"/kernel/boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort | tail -1)
if [ -z "$kernel" ]; then
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	if [ -z "$pkg" ]; then
		run_timeout 300 apt-get update -qq >/dev/null 2>&1
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	fi
	[ -n "$pkg" ] || skip "no linux-image-cloud-amd64 in the apt lists"
	echo "fetching $pkg into $cache"
	(cd "$TEST_TMPDIR" && run_timeout 300 apt-get download "$pkg" >/dev/null 2>&1) ||
		skip "apt-get download $pkg failed (no access to a Debian mirror?)"
	rm -rf "$cache/kernel"
	dpkg-deb -x "$TEST_TMPDIR"/"$pkg"_*.deb "$cache/kernel" || fail "cannot unpack $pkg"
	kernel=$(ls "$cache"/kernel/boot/vmlinuz-* | sort | tail -1)
fi
[ -r "$kernel" ] || fail "no kernel image in $cache/kernel"
echo "kernel: $kernel"

out=$TEST_TMPDIR/linux.out
err=$TEST_TMPDIR/linux.err
# An initrd (its content does not matter for what is checked here: Linux
# reserves it early and says where it is, which must be where nfv-vmm put it).
initrd=$TEST_TMPDIR/initrd.img
head -c $((3 * 1024 * 1024 + 123)) /dev/zero >"$initrd"
"$NFV_VMM" --name linux --kernel "$kernel" --initrd "$initrd" --mem 512M --cpus 2 --cpuid-mask safe \
	--cmdline "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" \
	--console "file:$out" </dev/null >/dev/null 2>"$err" &
pid=$!
track_pid "$pid"

# The banner comes after the in-guest decompression (about 40 s here).
start=$(date +%s)
if ! wait_for_pattern "$out" 'Linux version' 300; then
	pid_alive "$pid" || echo "nfv-vmm exited early"
	sed 's/^/    err: /' "$err" | tail -30
	fail "no 'Linux version' within 300 s"
fi
ok "Linux printed its banner over COM1 after $(($(date +%s) - start)) s: $(grep -a -m1 -o 'Linux version [^ ]*' "$out")"

# The map is complete once a line after the BIOS-e820 block appears.
wait_for_pattern "$out" 'BIOS-e820' 60 || fail "no BIOS-e820 lines"
if ! wait_for_pattern "$out" '(NX \(Execute Disable\)|SMBIOS|DMI|e820: update|tsc: |last_pfn)' 120; then
	check_fail "the kernel stopped before finishing its e820 output"
fi
# RAMDISK: [mem A-B] in Linux's log is where nfv-vmm's log says it put the initrd.
vmm_initrd=$(sed -n 's/.*initrd: \([0-9]*\) bytes at \(0x[0-9a-f]*\).*/\1 \2/p' "$err")
if wait_for_pattern "$out" 'RAMDISK: \[mem' 60 && [ -n "$vmm_initrd" ]; then
	read -r ilen iaddr <<<"$vmm_initrd"
	want=$(printf 'RAMDISK: [mem 0x%08x-0x%08x]' $((iaddr)) $(( (iaddr + ilen + 4095) / 4096 * 4096 - 1 )))
	if grep -a -q -F "$want" "$out"; then
		ok "Linux found the initrd where nfv-vmm put it: $want"
	else
		check_fail "initrd: expected '$want', Linux said '$(grep -a -m1 -o 'RAMDISK: [^]]*]' "$out")'"
	fi
else
	check_fail "initrd: no RAMDISK line from Linux or no initrd line from nfv-vmm"
fi

linux_map=$(grep -a -o 'BIOS-e820: \[mem 0x[0-9a-f]*-0x[0-9a-f]*\] [a-z]*' "$out" | sed 's/^BIOS-e820: //')
vmm_map=$(grep -o 'e820: \[mem 0x[0-9a-f]*-0x[0-9a-f]*\] [a-z]*' "$err" | sed 's/^e820: //')
echo "Linux's map:"; echo "$linux_map" | sed 's/^/    /'
if [ -n "$linux_map" ] && [ "$linux_map" = "$vmm_map" ]; then
	ok "the map Linux printed is the one nfv-vmm built ($(echo "$linux_map" | wc -l) entries)"
else
	check_fail "maps differ"; echo "nfv-vmm's map:"; echo "$vmm_map" | sed 's/^/    /'
fi

# ACPI: the tables, then the MADT, parsed before the CPUs are counted.
if ! wait_for_pattern "$out" 'smpboot: Allowing [0-9]+ CPUs' 120; then
	check_fail "no 'smpboot: Allowing N CPUs' line within 120 s"
fi
expect_line "$out" 'ACPI: RSDP 0x0*E0000 [0-9A-F]+ \(v02 NFVKIT\)' "Linux found our RSDP (revision 2) at 0xE0000"
for sig in XSDT FACP DSDT FACS APIC; do
	expect_line "$out" "ACPI: $sig 0x0*E[0-9A-F]{4} " "Linux lists our $sig table"
done
expect_line "$out" 'ACPI: LAPIC_NMI \(acpi_id\[0xff\] .*lint\[0x1\]\)' "MADT: NMI on LINT1 of every CPU"
expect_line "$out" 'IOAPIC\[0\]: apic_id 2, version [0-9]+, address 0xfec00000, GSI 0-23' \
	"MADT: the IOAPIC (ID 2 after two CPUs, 0xFEC00000, GSIs 0-23)"
expect_line "$out" 'ACPI: INT_SRC_OVR \(bus 0 bus_irq 0 global_irq 2 dfl dfl\)' "MADT: IRQ 0 (PIT) -> GSI 2"
expect_line "$out" 'ACPI: INT_SRC_OVR \(bus 0 bus_irq 9 global_irq 9 high level\)' "MADT: IRQ 9 (SCI) -> GSI 9, level"
expect_line "$out" 'ACPI: Using ACPI \(MADT\) for SMP configuration information' "Linux takes its SMP configuration from the MADT"
expect_line "$out" 'smpboot: Allowing 2 CPUs, 0 hotplug CPUs' "Linux allows both vCPUs"
# Later (about 25 s more here) the APIC set-up uses the IOAPIC the MADT gave.
if wait_for_pattern "$out" 'APIC: (Switch to|ACPI MADT or MP tables)' 120; then
	expect_line "$out" 'APIC: Switch to symmetric I/O mode setup' "Linux routes interrupts through our IOAPIC"
else
	check_fail "no APIC set-up line within 120 s"
fi
if grep -a -q -E 'ACPI BIOS (Error|Warning)|not listed by BIOS|MADT or MP tables are not detected' "$out"; then
	check_fail "Linux complained about the firmware tables:"
	grep -a -E 'ACPI BIOS (Error|Warning)|not listed by BIOS|MADT or MP tables are not detected' "$out" | sed 's/^/    /'
else
	ok "no ACPI BIOS error or warning, no missing boot CPU"
fi
grep -a -E 'ACPI|IOAPIC\[|smpboot|APIC: ' "$out" | sed 's/^/    /'

if pid_alive "$pid"; then
	echo "ending the VM after the ACPI lines (on an emulated KVM the kernel would later stop at an instruction KVM cannot emulate)"
	kill -TERM "$pid"
	wait_pid "$pid" 20
	st=$?
	[ "$st" -eq 0 ] && ok "nfv-vmm stopped cleanly on SIGTERM" || check_fail "nfv-vmm exit status $st after SIGTERM"
else
	wait "$pid"
	echo "the VM already ended with status $?: $(tail -1 "$err")"
fi
grep -a -q 'emulation failure\|internal error' "$err" && echo "note: $(grep -a -m1 'failing instruction' "$err")"

finish
