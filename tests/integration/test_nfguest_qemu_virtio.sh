#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfguest's virtio-net driver against QEMU's virtio-net-pci (a reference
# nobody here wrote), under KVM, on multiqueue tap devices inside a private
# network namespace:
#   ping       nf=ping: the namespace pings nfguest (ARP + ICMP echo) with
#              MSI-X (transitional 1af4:1000), with polling (modern-only
#              1af4:1041) and with INTx through the ISR (no MSI-X, and
#              without EVENT_IDX so the ring flags are used instead)
#   gen/sink   two guests on one Linux bridge, one queue pair: nf=sink
#              count=N counts N frames with loss=0, nf=gen count=N exits 0
#   multiqueue the same with queues=4 on 2 CPUs: traffic on every queue of
#              the sender (tx) and of the receiver (rx, spread over the tap
#              queues by the kernel's flow hash), no loss
#
# QEMU's isa-debug-exit turns guest status S into process status
# (S << 1) | 1: guest 0 -> 1.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_NFGUEST "nfguest not built"
require_root
require_kvm
require_cmd qemu-system-x86_64 ip ping timeout
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

guest=$NFV_NFGUEST
[ -r "$guest" ] || fail "nfguest $guest not readable"

# Unique names: namespace, bridge and taps carry this shell's PID
# (interface names are at most 15 characters).
ns=nfvt-$$
br=nfvb$$
tap0=nfvt$$a
tap1=nfvt$$b
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up

# Multiqueue taps: QEMU opens 4 queues on each (queues=4).
for t in "$tap0" "$tap1"; do
	nsx ip tuntap add "$t" mode tap multi_queue || fail "cannot create multiqueue tap $t"
done

# start_qemu NAME TAP MAC CPUS DEVOPTS APPEND: QEMU in the namespace, in the
# background; serial output in $TEST_TMPDIR/NAME.log, its PID in $qpid.
start_qemu()
{
	local name=$1 tap=$2 mac=$3 cpus=$4 devopts=$5 append=$6

	shift 6

	echo "--- $name: -smp $cpus -device virtio-net-pci$devopts -append \"$append\" on $tap"
	ip netns exec "$ns" timeout --kill-after=5 150 qemu-system-x86_64 \
		-accel kvm -M pc -m 256 -smp "$cpus" -nodefaults -no-reboot \
		-display none -monitor none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=etc/sercon-port,string=0 \
		-kernel "$guest" -append "$append" \
		-netdev tap,id=n0,ifname="$tap",script=no,downscript=no,queues=4 \
		-device virtio-net-pci,netdev=n0,mac="$mac",romfile=,mq=on"$devopts" "$@" \
		</dev/null >"$TEST_TMPDIR/$name.log" 2>"$TEST_TMPDIR/$name.err" &
	qpid=$!
	track_pid "$qpid"
}

show_log()
{
	echo "--- serial output of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.log"
	echo "--- QEMU stderr of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.err"
}

# expect_status PID WANT NAME: wait (bounded) for QEMU and check its status.
expect_status()
{
	local pid=$1 want=$2 name=$3 st

	wait_pid "$pid" 120
	st=$?
	if [ "$st" -eq "$want" ]; then
		ok "$name: QEMU exit status $st"
	else
		check_fail "$name: QEMU exit status $st, expected $want"
	fi
}

# expect_queues LOG NAME NQ FIELD: the final stats lines show FIELD > 0 on
# every queue 0 .. NQ-1 of nic 0.
expect_queues()
{
	local log=$1 name=$2 nq=$3 field=$4 q line

	for ((q = 0; q < nq; q++)); do
		line=$(grep -a -E "^nfguest stats nic=0 q=$q " "$log" | tail -n 1)
		if [[ "$line" =~ \ $field=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
			ok "$name: queue $q $field=${BASH_REMATCH[1]}"
		else
			check_fail "$name: no $field on queue $q (${line:-no stats line})"
		fi
	done
}

# --- ping: the tap holds 10.250.1.1/30 in the namespace, nfguest .2.
nsx ip addr add 10.250.1.1/30 dev "$tap0"
nsx ip link set "$tap0" up
mac0=52:54:00:4e:56:01
mac1=52:54:00:4e:56:02
# name | irq= | device options | the driver's interrupt mode | PCI device ID
ping_runs=(
	"ping_msix|1|,vectors=10|msix|1000"
	"ping_poll|0|,vectors=10,disable-legacy=on|none|1041"
	"ping_intx|1|,vectors=0,event_idx=off|intx|1000"
)
for run in "${ping_runs[@]}"; do
	IFS='|' read -r name irq devopts mode devid <<<"$run"
	failures_before=$failures
	start_qemu "$name" "$tap0" $mac0 1 "$devopts" "nf=ping ip=10.250.1.2/30 irq=$irq stats=0"
	log=$TEST_TMPDIR/$name.log
	if wait_for_pattern "$log" '^nfguest: ready nics=1$' 60; then
		ok "$name: nfguest ready with one NIC"
		expect_line "$log" \
			"^nfguest: virtio 00:[0-9a-f]{2}\.0: id=1af4:$devid features=.*version_1.* irq=$mode$" \
			"$name: 1af4:$devid, VERSION_1 negotiated, interrupts: $mode"
		expect_line "$log" \
			"^nfguest: nic=0 kind=virtio pci=00:[0-9a-f]{2}\.0 mac=$mac0 queues=1 .*irq=$irq link=up$" \
			"$name: virtio NIC with the MAC from its configuration, link up"
		if nsx ping -c 3 -W 5 10.250.1.2 >"$TEST_TMPDIR/$name.ping" 2>&1; then
			ok "$name: 3 echo replies ($(grep -o 'rtt.*' "$TEST_TMPDIR/$name.ping"))"
		else
			check_fail "$name: ping failed"
			sed 's/^/    /' "$TEST_TMPDIR/$name.ping"
		fi
	else
		check_fail "$name: no ready line within 60 s"
	fi
	kill_pid "$qpid" 2
	[ "$failures" -eq "$failures_before" ] || show_log "$name"
done
# --- two NIC kinds on one shared INTx line: an e1000 in slot 3 and the
# virtio NIC in slot 7 share PIIX link 3 (QEMU's PCI interrupt swizzle);
# the virtio NIC still gets its interrupts and answers ping.
name=ping_intx_shared
failures_before=$failures
start_qemu "$name" "$tap0" $mac0 1 ",vectors=0,addr=7" "nf=ping ip=10.250.1.2/30 irq=1 stats=0" \
	-netdev hubport,id=nx,hubid=0 -device e1000,netdev=nx,addr=3
log=$TEST_TMPDIR/$name.log
if wait_for_pattern "$log" '^nfguest: ready nics=2$' 60; then
	expect_line "$log" "^nfguest: nic=0 kind=e1000 pci=00:03\.0 .*irq=1 " "$name: e1000 on INTx"
	expect_line "$log" "^nfguest: nic=1 kind=virtio pci=00:07\.0 mac=$mac0 .*irq=1 link=up$" \
		"$name: virtio on INTx on the same line"
	if nsx ping -c 3 -W 5 10.250.1.2 >"$TEST_TMPDIR/$name.ping" 2>&1; then
		ok "$name: 3 echo replies through the virtio NIC sharing the line"
	else
		check_fail "$name: ping failed"
	fi
else
	check_fail "$name: no ready line within 60 s"
fi
kill_pid "$qpid"
[ "$failures" -eq "$failures_before" ] || show_log "$name"

nsx ip addr flush dev "$tap0"

# --- gen/sink over a bridge.
nsx ip link add "$br" type bridge || fail "cannot create bridge $br"
for t in "$tap0" "$tap1"; do
	nsx ip link set "$t" master "$br"
	nsx ip link set "$t" up
done
nsx ip link set "$br" up

# gen_sink NAME QUEUES CPUS COUNT GENARGS: sink on tap1, then gen on tap0.
gen_sink()
{
	local name=$1 nq=$2 cpus=$3 count=$4 genargs=$5 sink_pid gen_pid

	failures_before=$failures
	start_qemu "${name}_sink" "$tap1" $mac1 "$cpus" ",vectors=10" \
		"nf=sink queues=$nq count=$count seconds=100 stats=0"
	sink_pid=$qpid
	if ! wait_for_pattern "$TEST_TMPDIR/${name}_sink.log" '^nfguest: ready nics=1$' 60; then
		show_log "${name}_sink"
		fail "${name}_sink: no ready line within 60 s"
	fi
	expect_line "$TEST_TMPDIR/${name}_sink.log" \
		"^nfguest: nic=0 kind=virtio .* queues=$nq .*link=up$" "${name}_sink: $nq queue pairs"
	start_qemu "${name}_gen" "$tap0" $mac0 "$cpus" ",vectors=10" \
		"nf=gen queues=$nq count=$count dst=$mac1 stats=0 $genargs"
	gen_pid=$qpid
	expect_status "$gen_pid" 1 "${name}_gen"
	expect_line "$TEST_TMPDIR/${name}_gen.log" "^nfguest: gen done sent=$count expected=$count " \
		"${name}_gen: sent $count frames"
	expect_status "$sink_pid" 1 "${name}_sink"
	expect_line "$TEST_TMPDIR/${name}_sink.log" \
		"^nfguest: sink done received=$count expected=$count loss=0 " \
		"${name}_sink: counted $count frames, no loss"
	expect_queues "$TEST_TMPDIR/${name}_gen.log" "${name}_gen" "$nq" tx_pkts
	expect_queues "$TEST_TMPDIR/${name}_sink.log" "${name}_sink" "$nq" rx_pkts
	if [ "$failures" -ne "$failures_before" ]; then
		show_log "${name}_gen"
		show_log "${name}_sink"
	fi
}

gen_sink gensink 1 1 2000 ""
# 64 flows: the kernel's flow hash leaves no tap queue empty (all but surely).
gen_sink multiqueue 4 2 8000 "flows=64"

finish
