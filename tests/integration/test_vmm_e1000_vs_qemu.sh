#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The frames nfv-vmm's e1000 and QEMU's e1000 put on the wire for the same
# nfguest run are the same frames. Both VMMs boot nfguest with the same
# command line (nf=gen count=N ...) and the same MAC; nfv-vmm records with
# --nic e1000,pcap-out=..., QEMU with a filter-dump on its netdev (a tap in
# a private namespace, left down so that the host sends nothing). The two
# captures are compared frame by frame (nfgen_pcap.py compare): the same
# number of frames, and for each the same length and the same bytes -
# Ethernet header, IPv4 header (ID, TTL, checksum), UDP header (ports,
# length, checksum 0), payload magic and sequence number, zero padding -
# with only the 8-byte time stamp nfguest writes into the payload masked.
# Two runs: 64-byte frames (the minimum), and 1518-byte frames over 3 flows.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd qemu-system-x86_64 ip timeout python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
if ! "$NFV_VMM" --help | grep -q -- '--nic e1000,pcap-out'; then
	skip "this nfv-vmm has no pcap backend (built without libpcap)"
fi

ns=nfvq-$$
tapq=nfvq$$a
mac=52:54:00:4e:46:21
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
ip netns exec "$ns" ip tuntap add "$tapq" mode tap || fail "cannot create tap $tapq"

compare_run()
{
	local tag=$1 append=$2 count=$3 qpcap=$TEST_TMPDIR/$1.qemu.pcap
	local vpcap=$TEST_TMPDIR/$1.vmm.pcap st failures_before=$failures

	vmm_run "$tag.vmm" - 120 --nic "e1000,pcap-out=$vpcap,mac=$mac" --cmdline "$append"
	[ "$status" -eq 0 ] && ok "$tag: nfv-vmm run, guest status 0" ||
		check_fail "$tag: nfv-vmm exit status $status"
	qemu_start "$tag.qemu" "$ns" "$append" \
		-netdev tap,id=n0,ifname="$tapq",script=no,downscript=no \
		-object filter-dump,id=d0,netdev=n0,file="$qpcap" \
		-device e1000,netdev=n0,mac="$mac",romfile=
	wait_pid "$qpid" 100
	st=$?
	[ "$st" -eq 1 ] && ok "$tag: QEMU run, guest status 0 (QEMU 1)" ||
		check_fail "$tag: QEMU exit status $st, expected 1"
	expect_line "$TEST_TMPDIR/$tag.qemu.log" "^nfguest: gen done sent=$count expected=$count " \
		"$tag: QEMU's guest sent $count frames"
	expect_line "$TEST_TMPDIR/$tag.vmm.log" "^nfguest: gen done sent=$count expected=$count " \
		"$tag: nfv-vmm's guest sent $count frames"
	if nfgen compare "$vpcap" "$qpcap" "$mac"; then
		ok "$tag: nfv-vmm and QEMU sent the same $count frames"
	else
		check_fail "$tag: the captures differ"
	fi
	if [ "$failures" -ne "$failures_before" ]; then
		show_vmm "$tag.vmm"
		echo "--- QEMU console of $tag:"
		sed 's/^/    /' "$TEST_TMPDIR/$tag.qemu.log" | tail -20
		sed 's/^/    /' "$TEST_TMPDIR/$tag.qemu.err" | tail -20
	fi
}

compare_run small "nf=gen count=200 size=64 dst=52:54:00:4e:46:02 stats=0" 200
compare_run large "nf=gen count=150 size=1518 flows=3 stats=0" 150

finish
