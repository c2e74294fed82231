#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# check_insns.sh ELF [MODE]: fail when a freestanding guest contains an
# instruction that KVM's instruction emulator on the test machines cannot
# run (cmpxchg16b, xsave*/xrstor*, int/int1/int3/into, and iret: a guest
# with paging off is run through that emulator, which has iret for real
# mode only). Every code section is disassembled; sections whose name ends
# in "16" (AP trampolines) are decoded as 16-bit code, those ending in "32"
# as 32-bit code, the others in the ELF's own mode.
#
# MODE says where iret is allowed:
#   paging-off (default)  nowhere (tests/guest: 32-bit, paging always off)
#   long                  in the sections decoded in the ELF's own 64-bit
#                         mode, which run with paging on (perf/nfguest);
#                         still banned in the *16 and *32 sections
#
# Exit status: 0 clean, 1 forbidden instruction found or bad ELF or usage,
# 77 skip (no objdump).
set -u

elf=${1:-}
mode=${2:-paging-off}
objdump=${OBJDUMP:-objdump}

if [ -z "$elf" ]; then
	echo "usage: $0 ELF [paging-off|long]" >&2
	exit 1
fi
case $mode in
paging-off | long) ;;
*)
	echo "usage: $0 ELF [paging-off|long]" >&2
	exit 1
	;;
esac
if ! command -v "$objdump" >/dev/null 2>&1; then
	echo "SKIP: $objdump not found (apt-get install binutils)"
	exit 77
fi
if [ ! -r "$elf" ]; then
	echo "FAIL: cannot read $elf"
	exit 1
fi

# Code sections: the lines of `objdump -h -w` whose flags include CODE.
sections=$("$objdump" -h -w "$elf" | awk '/ CODE/ { print $2 }')
if [ -z "$sections" ]; then
	echo "FAIL: no code section in $elf"
	exit 1
fi

always='cmpxchg16b|xsave[a-z0-9]*|xrstor[a-z0-9]*|int|int1|int3|into|icebp'
status=0
for sec in $sections; do
	mach=()
	forbidden="^($always|iret[wdlq]?)\$"
	case $sec in
	*16) mach=(-M i8086) ;;
	*32) mach=(-M i386) ;;
	*) [ "$mode" = long ] && forbidden="^($always)\$" ;;
	esac
	# Disassembly lines are "addr:<TAB>bytes<TAB>mnemonic operands";
	# prefixes (lock, rep, data16, ...) come as words before the
	# mnemonic, so every word of the third field is checked.
	hits=$("$objdump" -d -w "${mach[@]}" -j "$sec" "$elf" |
		awk -F'\t' -v re="$forbidden" '
			NF >= 3 {
				n = split($3, w, /[ ,]+/)
				for (i = 1; i <= n; i++)
					if (w[i] ~ re) {
						print
						break
					}
			}')
	count=$("$objdump" -d -w "${mach[@]}" -j "$sec" "$elf" | awk -F'\t' 'NF >= 3' | wc -l)
	if [ -n "$hits" ]; then
		echo "FAIL: forbidden instructions in $sec:"
		echo "$hits"
		status=1
	else
		echo "ok: $sec ($count instructions, none forbidden)"
	fi
done
exit $status
