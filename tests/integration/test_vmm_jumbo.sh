#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Jumbo frames (9000-byte MTU) across nfv-vmm's virtio-net paths, end to
# end, with nfguest: nf=gen size=9018 (9014-byte frames plus the FCS) on
# one VM, nf=sink on another, which checks every generated frame whole
# (length, IPv4 header checksum, payload pattern: bad=0) and in order:
#   vhost   --nic virtio,vhost-user=PATH,mtu=9000 on both VMs (the
#           backend reads the guests' rings), through dpdk-testpmd's io
#           forwarding (with retries) between two net_vhost ports with
#           jumbo frames on (--max-pkt-len=9018): the sink's 2048-byte
#           buffers take each frame in several (MRG_RXBUF) and nfguest
#           joins them
#   relay   the same with --nic virtio,vhost-user=PATH,offload=off,mtu=9000:
#           nfv-vmm's own queue pair to testpmd, both ways (the gen VM's
#           relay sends, the sink VM's receives)
#   tap     --nic virtio,tap=NAME,mtu=9000 on both VMs, the taps ports of a
#           Linux bridge with MTU 9000 in a private network namespace (the
#           userspace virtio-net datapath, no testpmd)
#   qemu    nfv-vmm's gen on the same bridge to nfguest's sink in QEMU, on
#           virtio-net-pci with mrg_rxbuf=off,host_mtu=9000: the guest posts
#           RX buffers that hold a whole 9014-byte frame
#   refuse  size=9018 on a virtio NIC without mtu= (MTU 1500, reported to
#           the guest) and on an e1000: nfguest ends with status 2 and
#           one line naming the limit
# Every run checks: the guest took VIRTIO_NET_F_MTU, gen sent COUNT frames,
# sink received COUNT frames and COUNT * 9014 bytes, no loss, none bad, and
# where testpmd is in the path, that it forwarded exactly COUNT frames.
# The qemu run is left out (with a line) without qemu-system-x86_64.
#
# testpmd: one at a time, on lcores 0-1, --in-memory on hugepages (the
# test is skipped without 128 MiB of free ones unless NFV_TEST_NO_HUGE=1
# asks for --no-huge), --file-prefix jumbo<PID> (removed at exit), stopped
# by PID.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"
# A testpmd that died must not kill this script on a write to its FIFO.
trap '' PIPE

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd dpdk-testpmd ip timeout mkfifo awk stdbuf python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ "$(nproc)" -ge 2 ] || skip "testpmd needs 2 cores (a main and a forwarding lcore)"
if ! "$NFV_VMM" --help 2>&1 | grep -q -- 'vhost-user='; then
	skip "this nfv-vmm has no --nic ...,vhost-user=PATH (its --help does not mention it)"
fi
hp_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
hp_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
if [ -z "${NFV_TEST_NO_HUGE:-}" ] && [ $((${hp_free:-0} * ${hp_kb:-0})) -lt $((128 * 1024)) ]; then
	skip "fewer than 128 MiB of free hugepages for testpmd (NFV_TEST_NO_HUGE=1 runs it without)"
fi

testpmd_init "jumbo$$"
d=$TEST_TMPDIR
mac_a=52:54:00:4a:4d:0a
mac_b=52:54:00:4a:4d:0b
size=9018
# The sink checks each 9014-byte frame whole, which costs this machine's
# slow guests a few ms: the rate keeps testpmd from overrunning its ring.
count=400
rate=50

# vm_start NAME NS NIC-SPEC CMDLINE: nfguest with --nic NIC-SPEC, control
# socket NAME.sock; PID in $vpid.
vm_start()
{
	vmm_start "$1" "$2" --api "$d/$1.sock" --nic "$3" --cmdline "$4"
}

# mtu_taken NAME: the guest's virtio NIC took VIRTIO_NET_F_MTU (and says
# which features it has).
mtu_taken()
{
	expect_line "$d/$1.log" '^nfguest: virtio [0-9a-f:.]+: id=1af4:1041 features=([^ ]*,)?mtu[, ]' \
		"$1: the guest took VIRTIO_NET_F_MTU ($(grep -a -o -m1 'features=[^ ]*' "$d/$1.log"))"
}

# gen_to_sink NAME NS GEN-SPEC SINK-SPEC: a sink VM with --nic SINK-SPEC,
# once its link is up a gen VM with --nic GEN-SPEC sending to it; both end
# by themselves and the frames are checked.
gen_to_sink()
{
	local name=$1 ns=$2 gen_pid sink_pid

	vm_start "${name}_sink" "$ns" "$4,mac=$mac_b" "nf=sink count=$count idle=20 seconds=150 stats=0"
	sink_pid=$vpid
	if nfguest_ready "${name}_sink"; then
		if wait_link_up "$d/${name}_sink.sock" 20; then
			ok "${name}_sink: link up"
		else
			check_fail "${name}_sink: link not up 20 s after the guest was ready"
		fi
		vm_start "${name}_gen" "$ns" "$3,mac=$mac_a" \
			"nf=gen count=$count size=$size rate=$rate dst=$mac_b stats=0"
		gen_pid=$vpid
		if nfguest_ready "${name}_gen"; then
			vm_end "${name}_gen" "$gen_pid" 90
			vm_end "${name}_sink" "$sink_pid" 60
			mtu_taken "${name}_gen"
			mtu_taken "${name}_sink"
			expect_gen_sink "$name" "$d/${name}_gen.log" "$d/${name}_sink.log" $count $size
		fi
		kill_pid "$gen_pid"
	fi
	kill_pid "$sink_pid"
}

# testpmd_io NAME KIND: gen -> net_vhost0 -> testpmd io -> net_vhost1 ->
# sink, both NICs --nic KIND,vhost-user=...,mtu=9000 (KIND with its keys).
testpmd_io()
{
	local name=$1 kind=$2 f0=$failures rx tx

	# io forwarding with retries: a burst the sink's ring cannot take yet
	# (a guest descheduled on a busy host) waits up to 10 s, not dropped.
	if testpmd_start "$d/tp_$name.out" \
		--vdev "net_vhost0,iface=$d/${name}_gen.vu,client=1,queues=1" \
		--vdev "net_vhost1,iface=$d/${name}_sink.vu,client=1,queues=1" -- \
		-i --forward-mode=io --nb-cores=1 --total-num-mbufs=8192 --no-flush-rx \
		--max-pkt-len=$size; then
		testpmd_cmd "set fwd io retry"
		testpmd_cmd "set burst tx delay 1000 retry 10000"
		testpmd_cmd "start"
		wait_for_pattern "$d/tp_$name.out" 'io packet forwarding with retry - ports=2' 15 ||
			check_fail "$name: testpmd did not start forwarding"
	else
		check_fail "$name: testpmd did not start"
	fi
	gen_to_sink "$name" - "$kind,vhost-user=$d/${name}_gen.vu,mtu=9000" \
		"$kind,vhost-user=$d/${name}_sink.vu,mtu=9000"
	testpmd_stop
	rx=$(testpmd_port "$d/tp_$name.out" 0 RX-packets:)
	tx=$(testpmd_port "$d/tp_$name.out" 1 TX-packets:)
	if [ "${rx:-0}" -eq $count ] && [ "${tx:-0}" -eq $count ]; then
		ok "$name: testpmd received $rx jumbo frames on port 0 and sent $tx on port 1"
	else
		check_fail "$name: testpmd port 0 RX '${rx:-nothing}', port 1 TX '${tx:-nothing}'," \
			"expected $count"
	fi
	if [ "$failures" -ne "$f0" ]; then
		show_vmm "${name}_gen"
		show_vmm "${name}_sink"
		testpmd_show "$d/tp_$name.out"
	fi
}

# ---------------------------------------------------------------------------
# vhost mode: the guests' rings are testpmd's.
testpmd_io vhost virtio

# ---------------------------------------------------------------------------
# Relay: nfv-vmm's own queue pair to testpmd, sending (gen) and receiving (sink).
testpmd_io relay virtio,offload=off

# ---------------------------------------------------------------------------
# Taps on a Linux bridge with MTU 9000, in a private namespace.
ns=jumbo-$$
br=jbr$$
tap_a=jt$$a
tap_b=jt$$b
if ! ip netns add "$ns"; then
	check_fail "tap: cannot create network namespace $ns"
else
	on_exit "ip netns del $ns 2>/dev/null"
	ip netns exec "$ns" ip link set lo up
	if ! ns_bridge "$ns" "$br" 9000 "$tap_a" "$tap_b"; then
		check_fail "tap: cannot set up bridge $br with taps $tap_a, $tap_b at MTU 9000"
	else
		ok "tap: bridge $br, taps $tap_a and $tap_b, MTU" \
			"$(ip netns exec "$ns" cat /sys/class/net/{$br,$tap_a,$tap_b}/mtu | tr '\n' ' ')"
		f0=$failures
		gen_to_sink tap "$ns" "virtio,tap=$tap_a,mtu=9000" "virtio,tap=$tap_b,mtu=9000"
		if [ "$failures" -ne "$f0" ]; then
			show_vmm tap_gen
			show_vmm tap_sink
			ip netns exec "$ns" ip -s link show "$tap_b" | sed 's/^/    /'
		fi

		# --- The same bridge into QEMU's virtio-net without mergeable
		# RX buffers: nfguest posts buffers that hold a whole 9000-MTU frame.
		if command -v qemu-system-x86_64 >/dev/null; then
			f0=$failures
			name=qemu_sink
			qemu_start $name "$ns" "nf=sink count=$count idle=20 seconds=150 stats=0" \
				-netdev tap,id=n0,ifname="$tap_b",script=no,downscript=no \
				-device virtio-net-pci,netdev=n0,mac=$mac_b,romfile=,mrg_rxbuf=off,host_mtu=9000
			sink_pid=$qpid
			if nfguest_ready $name; then
				line=$(grep -a -m1 '^nfguest: virtio .* features=' "$d/$name.log")
				if grep -q -E 'features=([^ ]*,)?mtu,' <<<"$line" &&
					! grep -q mrg_rxbuf <<<"$line"; then
					ok "$name: QEMU's virtio-net: MTU taken, no MRG_RXBUF (${line##*: })"
				else
					check_fail "$name: expected mtu and no mrg_rxbuf: $line"
				fi
				vm_start qemu_gen "$ns" "virtio,tap=$tap_a,mtu=9000,mac=$mac_a" \
					"nf=gen count=$count size=$size rate=$rate dst=$mac_b stats=0"
				gen_pid=$vpid
				if nfguest_ready qemu_gen; then
					vm_end qemu_gen "$gen_pid" 90
					# QEMU's isa-debug-exit: status 0 -> 1.
					wait_pid "$sink_pid" 60
					st=$?
					[ "$st" -eq 1 ] && ok "$name: QEMU exit status 1 (guest status 0)" ||
						check_fail "$name: QEMU exit status $st, expected 1 (guest status 0)"
					expect_gen_sink qemu "$d/qemu_gen.log" "$d/$name.log" $count $size
				fi
				kill_pid "$gen_pid"
			fi
			kill_pid "$sink_pid"
			if [ "$failures" -ne "$f0" ]; then
				show_vmm qemu_gen
				show_vmm $name
			fi
		else
			echo "qemu: not run (no qemu-system-x86_64)"
		fi

		# --- size=9018 where the NIC does not take such frames.
		for spec in "virtio,tap=$tap_a" "e1000,tap=$tap_a"; do
			name=refuse_${spec%%,*}
			vmm_run $name "$ns" 60 --nic "$spec,mac=$mac_a" \
				--cmdline "nf=gen count=10 size=$size stats=0"
			line=$(grep -a -m1 '^nfguest: bad argument size=' "$d/$name.log")
			if [ "$status" -eq 2 ] && grep -q -E 'up to 1518 bytes' <<<"$line"; then
				ok "$name: --nic $spec: status 2: $line"
			else
				check_fail "$name: --nic $spec: status $status, line '${line:-none}'," \
					"expected status 2 and a limit of 1518 bytes"
				show_vmm $name
			fi
		done
	fi
fi

finish
