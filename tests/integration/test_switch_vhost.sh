#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-switchd between third-party vhost-user peers: dpdk-testpmd with a
# net_virtio_user port listening on the socket (server=1), the switch's
# vhost-user ports dialing it (their default role), and nfv-vmm:
#   both-ways  A (port p0) txonly -> B (p1) rxonly, then B -> A: each
#              receiver counts exactly what the switch sent it; the FDB
#              learns both MACs on their ports
#   restart    the switch stopped (SIGTERM, exit status 0) and started again
#              with the same file while the testpmds keep their sockets: it
#              reconnects, links up, B counts frames again
#   peer       B quits and starts again on the same socket: p1's link goes
#              down, then up; B counts frames again; the switch runs on
#   hotplug    while A -> B flows, `port add br0 vhost-user:SOCK,name=p2`
#              with a third testpmd C: C receives the flooded frames, C's
#              MAC is learned on p2, `port del p2`; B's count grows all along
#   jumbo      p0 and p1 with mtu 9000: A sends 128 frames of 9000 bytes
#              (tx_first), B receives all of them, every one 9000 bytes
#              long (B prints each frame), and the switch's counters agree
#              to the byte
#   mq         two polling threads (pmd-cores "0,1") and 2 queue pairs on
#              p0 and p1 to testpmds with queues=2 (--rxq=2 --txq=2):
#              `show` lists 2 polling threads; A -> B and B -> A, each
#              receiver counting exactly what the switch sent it; each
#              testpmd sent and received on both of its queues
#   mq-fewer   the same with A on 1 queue pair: what the switch sends to
#              p0's pair 1 (not enabled by A) goes out on pair 0, so A
#              still counts every frame B sent on its 2 queues
#   vmm        nfguest (nf=gen) in nfv-vmm with --nic virtio,vhost-user=SOCK
#              (nfv-vmm listening, the switch dialing: the lab's path) ->
#              switch -> testpmd B (rxonly), which counts every frame; then
#              B sends 128 frames (tx_first) that nfguest (nf=sink) counts
#   vmm-tap    the same with --nic virtio,tap=NAME and the switch's
#              af_packet port on that tap
#
# Every testpmd forwards on lcore 1, the switch polls on lcore 0 (in mq on
# lcores 0 and 1). Processes are stopped by PID; sockets, the namespace and
# DPDK's runtime directories go at exit.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"
. "$here/lib_switch_vhost.sh"
# A testpmd that died must not kill this script on a write to its FIFO.
trap '' PIPE

require_root
require_cmd dpdk-testpmd timeout mkfifo awk stdbuf python3
[ "$(nproc)" -ge 2 ] || skip "needs 2 cores (the switch polls on one, testpmd on the other)"
sw_init
vtp_init
# virtio-user shares its memory with the switch: hugepages only (EAL's
# --no-huge memory cannot be shared). Three testpmds and the switch.
[ "$vtp_huge_mb" -ge 384 ] || skip "needs 384 MB of free hugepages for virtio-user peers ($vtp_huge_mb MB free)"

d=$TEST_TMPDIR
mac_a=02:00:00:5e:10:0a
mac_b=02:00:00:5e:10:0b
mac_c=02:00:00:5e:10:0c
sw_eal_args "swvh$$"

# conf FILE MTU: br0 with p0 on p0.sock and p1 on p1.sock.
conf()
{
	cat >"$1" <<EOF
switch:
  pmd-cores: "0"
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/p0.sock, mtu: $2 }
      - { name: p1, type: vhost-user, path: $d/p1.sock, mtu: $2 }
EOF
}

# set_fwd ID MODE: testpmd ID forwards in MODE from now on.
set_fwd()
{
	vtp_cmd "$1" stop
	vtp_cmd "$1" "set fwd $2"
	vtp_cmd "$1" start
}

# wait_rx ID MIN SECS: testpmd ID's port received at least MIN frames
# (RX-packets); 1 after SECS. The last count in $vtp_rx.
wait_rx()
{
	local end=$((SECONDS + $3))

	while [ "$SECONDS" -le "$end" ]; do
		vtp_stats "$1" && [ "$vtp_rx" -ge "$2" ] && return 0
		sleep 0.5
	done
	return 1
}

# grows ID SECS DESC: testpmd ID's RX count grows by 1000 or more within SECS.
grows()
{
	local r0

	vtp_stats "$1"
	r0=${vtp_rx:-0}
	if wait_rx "$1" $((r0 + 1000)) "$2"; then
		ok "$3: testpmd $1 received $((vtp_rx - r0)) more frames ($r0 -> $vtp_rx)"
		return 0
	fi
	check_fail "$3: testpmd $1's RX count did not grow by 1000 within $2 s ($r0 -> ${vtp_rx:-?})"
	return 1
}

# link PORT up|down SECS DESC
link()
{
	local want=True t0=$SECONDS

	[ "$2" = up ] || want=False
	if sw_wait_port "$1" "p[\"link_up\"] is $want" "$3"; then
		ok "$4: port $1 link $2 after $((SECONDS - t0)) s"
	else
		check_fail "$4: port $1 link not $2 within $3 s (link_up: $(sw_port "$1" 'p["link_up"]'))"
	fi
}

# settled SENDER RECEIVER OUT-PORT DESC: the sender stopped; once the counts
# stop moving, the receiver counted exactly the frames and bytes the switch
# sent out of OUT-PORT.
settled()
{
	local rcv=$2 op=$3 i prev=-1 tx txb

	for ((i = 0; i < 20; i++)); do
		vtp_stats "$rcv"
		[ "${vtp_rx:-0}" = "$prev" ] && break
		prev=${vtp_rx:-0}
		sleep 0.5
	done
	tx=$(sw_port "$op" 'p["stats"]["tx_packets"]')
	txb=$(sw_port "$op" 'p["stats"]["tx_bytes"]')
	if [ -n "$tx" ] && [ "$tx" -gt 0 ] && [ "$vtp_rx" = "$tx" ] && [ "$vtp_rxb" = "$txb" ]; then
		ok "$4: testpmd $rcv received $vtp_rx frames ($vtp_rxb bytes), what $op sent"
	else
		check_fail "$4: testpmd $rcv received ${vtp_rx:-?} frames (${vtp_rxb:-?} bytes)," \
			"$op sent ${tx:-?} (${txb:-?} bytes)"
	fi
}

show_all()
{
	local id

	echo "--- nfv-switchd output (last lines):"
	tail -20 "$sw_out" | sed 's/^/    /'
	swctl show 2>&1 | sed 's/^/    /'
	for id in "$@"; do
		vtp_show "$id"
	done
}

# end_section NAME F0 ID...: the section's output when it failed (its
# failures counted from F0), then the testpmds ID... and the switch are
# stopped; the switch must exit 0 on SIGTERM.
end_section()
{
	local name=$1 f0=$2 id

	shift 2
	[ "$failures" -eq "$f0" ] || show_all "$@"
	for id in "$@"; do
		vtp_stop "$id"
	done
	sw_stop 10
	[ "$sw_status" = 0 ] || check_fail "$name: nfv-switchd's exit status on SIGTERM: $sw_status"
}

# ---------------------------------------------------------------------------
# both-ways
name=both-ways
f0=$failures
conf "$d/sw.yaml" 1500
vtp_start A "$d/p0.sock" $mac_a $mac_b rxonly
vtp_start B "$d/p1.sock" $mac_b $mac_a rxonly
sw_start sw --config "$d/sw.yaml" -- "${sw_eal[@]}" || fail "$name: nfv-switchd did not start"
if vtp_ready A 30 && vtp_ready B 30; then
	ok "$name: the switch connected to both testpmds, they forward"
else
	show_all A B
	fail "$name: a testpmd did not start forwarding within 30 s of the switch's start"
fi
link p0 up 10 $name
link p1 up 10 $name

set_fwd A txonly
wait_rx B 10000 20 && ok "$name: A -> B: testpmd B received $vtp_rx frames" ||
	check_fail "$name: A -> B: testpmd B received ${vtp_rx:-nothing}, expected 10000 within 20 s"
set_fwd A rxonly
settled A B p1 "$name: A -> B"

set_fwd B txonly
wait_rx A 10000 20 && ok "$name: B -> A: testpmd A received $vtp_rx frames" ||
	check_fail "$name: B -> A: testpmd A received ${vtp_rx:-nothing}, expected 10000 within 20 s"
set_fwd B rxonly
settled B A p0 "$name: B -> A"

sw_fdb_has $mac_a p0 && ok "$name: FDB: $mac_a on p0" || check_fail "$name: FDB: no $mac_a on p0"
sw_fdb_has $mac_b p1 && ok "$name: FDB: $mac_b on p1" || check_fail "$name: FDB: no $mac_b on p1"
# Nothing flows now: stats clear zeroes the counters and keeps the FDB.
swctl stats clear >/dev/null || check_fail "$name: stats clear refused"
v=$(sw_port p0 'p["stats"]["rx_packets"] + p["stats"]["tx_packets"]'),$(sw_port p1 'p["stats"]["rx_packets"] + p["stats"]["tx_packets"]')
[ "$v" = 0,0 ] && sw_fdb_has $mac_a p0 && sw_fdb_has $mac_b p1 &&
	ok "$name: stats clear: p0's and p1's counters 0, the FDB kept" ||
	check_fail "$name: stats clear: p0, p1 counters $v; FDB: $(swctl fdb show br0 | tr '\n' ' ')"
[ "$failures" -eq "$f0" ] || show_all A B

# ---------------------------------------------------------------------------
# restart: from here on A sends to B all the time.
name=restart
f0=$failures
set_fwd A txonly
grows B 20 "$name: before"
sw_stop 10
[ "$sw_status" = 0 ] && ok "$name: nfv-switchd stopped by SIGTERM with status 0" ||
	check_fail "$name: nfv-switchd's exit status on SIGTERM: $sw_status"
if sw_start sw2 --config "$d/sw.yaml" -- "${sw_eal[@]}"; then
	ok "$name: nfv-switchd started again with the same file"
	link p0 up 15 $name
	link p1 up 15 $name
	grows B 20 "$name: after the restart"
else
	show_all A B
	fail "$name: nfv-switchd did not start again"
fi
[ "$failures" -eq "$f0" ] || show_all A B

# ---------------------------------------------------------------------------
# peer: B quits and comes back on the same socket.
name=peer
f0=$failures
vtp_stop B
link p1 down 10 "$name: B quit"
rm -f "$d/p1.sock"
vtp_start B "$d/p1.sock" $mac_b $mac_a rxonly
if vtp_ready B 30; then
	ok "$name: the switch connected to the new testpmd B"
	link p1 up 15 "$name: B back"
	grows B 20 "$name: B back"
else
	check_fail "$name: the switch did not connect to the new testpmd B within 30 s"
fi
pid_alive "$sw_pid" && ok "$name: the same nfv-switchd (PID $sw_pid) runs on" ||
	check_fail "$name: nfv-switchd is gone"
[ "$failures" -eq "$f0" ] || show_all A B

# ---------------------------------------------------------------------------
# hotplug: p2 added and removed while A -> B flows. B's MAC is not learned
# (B only receives), so A's frames are flooded, to p2 too.
name=hotplug
f0=$failures
rx=()
# b_rx: B's count now, appended to rx[].
b_rx()
{
	vtp_stats B
	rx+=("${vtp_rx:-0}")
}
swctl fdb flush br0 >/dev/null
b_rx
vtp_start C "$d/p2.sock" $mac_c $mac_a rxonly
r=$(swctl port add br0 "vhost-user:$d/p2.sock,name=p2" 2>&1)
if [ $? -eq 0 ] && grep -q -w p2 <<<"$r"; then
	ok "$name: port add br0 vhost-user:p2.sock,name=p2 -> $r"
else
	check_fail "$name: port add: $r"
fi
if vtp_ready C 30; then
	ok "$name: the switch connected to testpmd C"
	link p2 up 15 $name
	b_rx
	wait_rx C 1000 20 && ok "$name: C received $vtp_rx flooded frames" ||
		check_fail "$name: C received ${vtp_rx:-nothing} frames, expected flooded ones within 20 s"
	b_rx
	tx0=$(sw_port p0 'p["stats"]["tx_packets"]')
	set_fwd C txonly
	for ((i = 0; i < 50; i++)); do
		sw_fdb_has $mac_c p2 && break
		sleep 0.2
	done
	sw_fdb_has $mac_c p2 && ok "$name: FDB: $mac_c (C) learned on p2" ||
		check_fail "$name: FDB: $mac_c not learned on p2 within 10 s"
	sleep 1
	tx1=$(sw_port p0 'p["stats"]["tx_packets"]')
	[ "${tx1:-0}" -gt "${tx0:-0}" ] && ok "$name: C -> A: p0 sent $((tx1 - tx0)) frames" ||
		check_fail "$name: C -> A: p0 sent nothing (${tx0:-?} -> ${tx1:-?})"
	b_rx
else
	check_fail "$name: the switch did not connect to testpmd C within 30 s"
fi
# Removed while C sends.
r=$(swctl port del p2 2>&1) && ok "$name: port del p2" || check_fail "$name: port del p2: $r"
b_rx
swctl show | grep -q 'port p2:' && check_fail "$name: p2 still in show" ||
	ok "$name: p2 is gone from show"
sw_fdb_has $mac_c p2 && check_fail "$name: $mac_c still on p2 in the FDB" ||
	ok "$name: no FDB entry on p2 left"
vtp_stop C
sleep 1
b_rx
grows B 20 "$name: after p2 went"
rx+=("$vtp_rx")
mono=1
for ((i = 1; i < ${#rx[@]}; i++)); do
	[ "${rx[i]}" -gt "${rx[i - 1]}" ] || mono=0
done
[ "$mono" = 1 ] && ok "$name: B's count grew at every step: ${rx[*]}" ||
	check_fail "$name: B's count did not grow at every step: ${rx[*]}"
pid_alive "$sw_pid" && ok "$name: the same nfv-switchd (PID $sw_pid) runs on" ||
	check_fail "$name: nfv-switchd is gone"
[ "$failures" -eq "$f0" ] || show_all A B C

vtp_stop A
vtp_stop B
sw_stop 10
[ "$sw_status" = 0 ] && ok "nfv-switchd stopped by SIGTERM with status 0" ||
	check_fail "nfv-switchd's exit status on SIGTERM: $sw_status"

# ---------------------------------------------------------------------------
# jumbo: mtu 9000 on both ports; A sends 4 bursts of 32 frames of 9000
# bytes (tx_first), B prints every frame it receives (verbose).
name=jumbo
f0=$failures
count=128
rm -f "$d/p0.sock" "$d/p1.sock"
conf "$d/sw9000.yaml" 9000
jargs=(--mbuf-size=10240 --max-pkt-len=9018 --txpkts=9000)
vtp_start A "$d/p0.sock" $mac_a $mac_b rxonly "${jargs[@]}"
vtp_start B "$d/p1.sock" $mac_b $mac_a rxonly "${jargs[@]}"
sw_start sw9000 --config "$d/sw9000.yaml" -- "${sw_eal[@]}" || fail "$name: nfv-switchd did not start"
if vtp_ready A 30 && vtp_ready B 30; then
	link p0 up 10 $name
	link p1 up 10 $name
	vtp_cmd B "set verbose 1"
	vtp_cmd A stop
	vtp_cmd A "start tx_first 4"
	sleep 2
	vtp_stats A
	sent=$vtp_tx sentb=$vtp_txb
	[ "$sent" = $count ] && [ "$sentb" = $((count * 9000)) ] &&
		ok "$name: A sent $sent frames, $sentb bytes" ||
		check_fail "$name: A sent ${sent:-?} frames, ${sentb:-?} bytes; expected $count, $((count * 9000))"
	settled A B p1 $name
	[ "$vtp_rxb" = $((count * 9000)) ] && ok "$name: B received $((count * 9000)) bytes" ||
		check_fail "$name: B received ${vtp_rxb:-?} bytes, expected $((count * 9000))"
	n=$(grep -a -c -E "src=${mac_a^^} - dst=${mac_b^^} .*length=9000 " "${_vtp_out[B]}")
	nall=$(grep -a -c -E ' - length=[0-9]+ ' "${_vtp_out[B]}")
	[ "$n" = $count ] && [ "$nall" = $count ] &&
		ok "$name: B printed $count frames from A, each 9000 bytes long" ||
		check_fail "$name: B printed $nall frames, $n of 9000 bytes from A; expected $count"
	v=$(sw_port p0 'p["stats"]["rx_packets"], p["stats"]["rx_bytes"], p["stats"]["drops_total"]')
	[ "$v" = "($count, $((count * 9000)), 0)" ] && ok "$name: p0 received $count frames, $((count * 9000)) bytes, dropped none" ||
		check_fail "$name: p0 (rx_packets, rx_bytes, drops_total) $v, expected ($count, $((count * 9000)), 0)"
	v=$(sw_port p1 'p["stats"]["tx_packets"], p["stats"]["tx_bytes"], p["stats"]["drops_total"]')
	[ "$v" = "($count, $((count * 9000)), 0)" ] && ok "$name: p1 sent $count frames, $((count * 9000)) bytes, dropped none" ||
		check_fail "$name: p1 (tx_packets, tx_bytes, drops_total) $v, expected ($count, $((count * 9000)), 0)"
else
	check_fail "$name: a testpmd did not start forwarding within 30 s of the switch's start"
fi
end_section "$name" "$f0" A B

# ---------------------------------------------------------------------------
# mq: two polling threads, two queue pairs per port. Each port's RX queues
# go to the threads in turn (queue 0 to lcore 0, queue 1 to lcore 1), so
# both threads forward between the same two ports. The switch's threads and
# the testpmds' forwarding lcores share the 2 CPUs: short bursts only.
#
# mq_run NAME AQ: A has AQ queue pairs (2, or 1: fewer than its port
# serves), B has 2. With AQ=1 the thread polling p1's queue 1 sends what it
# gets to p0's pair 1, which A never enabled: those frames go out on pair
# 0, so A still counts every frame B sent and p0 drops none.
mq_run()
{
	local name=$1 aq=$2 f0=$failures dir snd rcv op sent n q r0 r1 t0 t1 id v

	rm -f "$d/p0.sock" "$d/p1.sock"
	cat >"$d/sw$name.yaml" <<EOF
switch:
  pmd-cores: "0,1"
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/p0.sock, queues: 2 }
      - { name: p1, type: vhost-user, path: $d/p1.sock, queues: 2 }
EOF
	vtp_queues=$aq
	vtp_start A "$d/p0.sock" $mac_a $mac_b rxonly --rxq=$aq --txq=$aq
	vtp_queues=2
	vtp_start B "$d/p1.sock" $mac_b $mac_a rxonly --rxq=2 --txq=2
	vtp_queues=1
	sw_start "sw$name" --config "$d/sw$name.yaml" -- "${sw_eal[@]}" ||
		fail "$name: nfv-switchd did not start"
	v=$(swctl --json show | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["result"]["switch"]["pmd_lcores"]))' 2>/dev/null)
	[ "$v" = 2 ] && ok "$name: show reports 2 polling threads" ||
		check_fail "$name: show reports ${v:-no} polling threads, expected 2"
	v="$(sw_port p0 'p["queues"]') $(sw_port p1 'p["queues"]')"
	[ "$v" = "2 2" ] && ok "$name: p0 and p1 have 2 queue pairs" || check_fail "$name: queues of p0, p1: $v"
	if vtp_ready A 30 && vtp_ready B 30; then
		link p0 up 10 $name
		link p1 up 10 $name
		for dir in "A B p1" "B A p0"; do
			read -r snd rcv op <<<"$dir"
			vtp_cmd "$snd" stop
			vtp_cmd "$snd" "start tx_first 3"
			sleep 1
			vtp_stats "$snd"
			sent=${vtp_tx:-0}
			[ "$sent" -ge 64 ] && ok "$name: $snd sent $sent frames (tx_first 3: fits the receiver's rings)" ||
				check_fail "$name: $snd sent ${vtp_tx:-?} frames, expected at least 64"
			settled "$snd" "$rcv" "$op" "$name: $snd -> $rcv"
			[ "$vtp_rx" = "$sent" ] && ok "$name: $snd -> $rcv: all $sent frames arrived" ||
				check_fail "$name: $snd -> $rcv: $rcv received ${vtp_rx:-?} of $sent frames"
		done
		# Each testpmd's extended counters per queue (rx_q0_packets, ...):
		# with 2 pairs on both sides, each testpmd sent on both of its TX
		# queues and received on both RX queues. With A on one pair, B sent
		# on both (so the thread polling p1's queue 1 sent to p0's pair 1,
		# which A does not have) and received on pair 0 only (A's frames
		# all come in on p0's queue 0).
		for id in A B; do
			[ "$id" = A ] && [ "$aq" = 1 ] && continue
			n=$(wc -l <"${_vtp_out[$id]}")
			vtp_cmd "$id" "show port xstats 0"
			sleep 1
			q=$(tail -n +$((n + 1)) "${_vtp_out[$id]}" |
				awk '/^ *(rx|tx)_q[01]_good_packets:/ { printf "%s ", $2 }')
			echo "$name: testpmd $id's rx_q0, rx_q1, tx_q0, tx_q1 packets: ${q:-?}"
			read -r r0 r1 t0 t1 <<<"$q"
			if [ "$aq" = 1 ]; then
				[ "${r0:-0}" -gt 0 ] && [ "${r1:-1}" -eq 0 ] && [ "${t0:-0}" -gt 0 ] && [ "${t1:-0}" -gt 0 ] &&
					ok "$name: testpmd B sent on both of its queues, received on queue 0" ||
					check_fail "$name: testpmd B's per-queue packets: '${q:-?}'"
				continue
			fi
			[ "${r0:-0}" -gt 0 ] && [ "${r1:-0}" -gt 0 ] && [ "${t0:-0}" -gt 0 ] && [ "${t1:-0}" -gt 0 ] &&
				ok "$name: testpmd $id sent on both of its queues and received on both" ||
				check_fail "$name: testpmd $id's per-queue packets: '${q:-?}'"
		done
		v=$(sw_port p0 'p["stats"]["drops"]["no_buffer"]')
		[ "$v" = 0 ] && ok "$name: p0 dropped no frame for want of a queue" ||
			check_fail "$name: p0's no_buffer drops: ${v:-?}"
		sw_fdb_has $mac_a p0 && sw_fdb_has $mac_b p1 && ok "$name: FDB: both MACs on their ports" ||
			check_fail "$name: the FDB does not hold $mac_a on p0 and $mac_b on p1"
	else
		check_fail "$name: a testpmd did not start forwarding within 30 s of the switch's start"
	fi
	end_section "$name" "$f0" A B
}

mq_run mq 2
mq_run mq-fewer 1

# ---------------------------------------------------------------------------
# nfv-vmm: nfguest nf=gen -> switch -> testpmd B (rxonly), which counts every
# generated frame, and testpmd B -> switch -> nfguest nf=sink.

# vm_run NAME SWITCH-PORT-YAML NIC-SPEC NS: the switch's port p0 is
# SWITCH-PORT-YAML (a flow mapping), p1 is testpmd B on p1.sock; nfv-vmm
# (--nic NIC-SPEC) and the switch run in network namespace NS ("-" for
# none). First nfguest nf=gen sends $count frames to B's MAC, which B
# counts; then a new nfguest nf=sink on the same NIC counts the 128 frames
# B sends it (tx_first).
vm_run()
{
	local name=$1 port=$2 spec=$3 ns=$4 f0=$failures vp st v line i

	cat >"$d/$name.yaml" <<EOF
switch:
  pmd-cores: "0"
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - $port
      - { name: p1, type: vhost-user, path: $d/p1.sock }
EOF
	rm -f "$d/p1.sock"
	vtp_start B "$d/p1.sock" $mac_b $mac_v rxonly
	sw_ns=$ns
	if ! sw_start $name --config "$d/$name.yaml" -- "${sw_eal[@]}"; then
		check_fail "$name: nfv-switchd did not start"
	elif ! vtp_ready B 30; then
		check_fail "$name: the switch did not connect to testpmd B within 30 s"
	else
		link p1 up 10 $name
		# The switch runs before the guest sends. rate=: a tap does not hold
		# frames back (the kernel drops what the af_packet ring cannot
		# take) and the switch and testpmd share the host's two cores with
		# the guest and with each other.
		vmm_start $name "$ns" --nic "$spec" \
			--cmdline "nf=gen count=$count rate=1000 dst=$mac_b stats=0"
		vp=$vpid
		link p0 up 30 "$name: nfv-vmm started"
		wait_pid "$vp" 90
		st=$?
		[ "$st" = 0 ] && ok "$name: nfv-vmm ended with status 0" ||
			check_fail "$name: nfv-vmm's status $st$([ "$st" != 124 ] || echo ' (still running after 90 s)')"
		kill_pid "$vp"
		expect_line "$TEST_TMPDIR/$name.log" "^nfguest: gen done sent=$count expected=$count " \
			"$name: nfguest sent $count frames"
		wait_rx B $count 10
		sleep 1
		vtp_stats B
		[ "$vtp_rx" = $count ] && [ "$vtp_rxb" = $((count * 60)) ] &&
			ok "$name: testpmd B received all $count frames, $vtp_rxb bytes" ||
			check_fail "$name: testpmd B received ${vtp_rx:-?} frames (${vtp_rxb:-?} bytes)," \
				"expected $count ($((count * 60)) bytes)"
		v=$(sw_port p0 'p["stats"]["rx_packets"], p["stats"]["drops_total"]')
		[ "$v" = "($count, 0)" ] && ok "$name: p0 received $count frames, dropped none" ||
			check_fail "$name: p0 (rx_packets, drops_total) $v, expected ($count, 0)"
		v=$(sw_port p1 'p["stats"]["tx_packets"], p["stats"]["drops_total"]')
		[ "$v" = "($count, 0)" ] && ok "$name: p1 sent $count frames, dropped none" ||
			check_fail "$name: p1 (tx_packets, drops_total) $v, expected ($count, 0)"

		# The other way: B -> nfguest nf=sink, which counts every frame
		# its NIC takes (stats lines) though none carries nf=gen's payload.
		vmm_start $name-sink "$ns" --nic "$spec" --cmdline "nf=sink seconds=60 stats=1"
		vp=$vpid
		if wait_for_pattern "$TEST_TMPDIR/$name-sink.log" '^nfguest: ready nics=1$' 60; then
			link p0 up 30 "$name-sink: nfv-vmm started again"
			vtp_cmd B stop
			vtp_cmd B "start tx_first 4"
			for ((i = 0; i < 30; i++)); do
				line=$(grep -a -E '^nfguest stats nic=0 q=0 ' "$TEST_TMPDIR/$name-sink.log" | tail -n 1)
				grep -q ' rx_pkts=128 ' <<<"$line" && break
				sleep 0.5
			done
			vtp_stats B
			[ "$vtp_tx" = 128 ] && ok "$name-sink: testpmd B sent 128 frames" ||
				check_fail "$name-sink: testpmd B sent ${vtp_tx:-?} frames, expected 128"
			grep -q -E ' rx_pkts=128 .*rx_bytes=8192 ' <<<"$line" &&
				ok "$name-sink: nfguest's NIC received the 128 frames, 8192 bytes" ||
				check_fail "$name-sink: nfguest's last stats line: ${line:-(none)}; expected 128 frames of 64 bytes"
		else
			check_fail "$name-sink: no ready line within 60 s"
		fi
		kill_pid "$vp"
	fi
	[ "$failures" -eq "$f0" ] || { show_all B; show_vmm $name; show_vmm $name-sink; }
	vtp_stop B
	sw_stop 10
	[ "$sw_status" = 0 ] || check_fail "$name: nfv-switchd's exit status on SIGTERM: $sw_status"
	sw_ns=-
}

mac_v=52:54:00:5e:10:01
count=3000
if [ -z "${NFV_VMM:-}" ] || [ -z "${NFV_NFGUEST:-}" ]; then
	echo "vmm, vmm-tap: not run (NFV_VMM and NFV_NFGUEST are not both set: nfv-vmm or nfguest not built)"
elif ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "vmm, vmm-tap: not run (no usable /dev/kvm)"
elif ! "$NFV_VMM" --help 2>&1 | grep -q -- 'vhost-user='; then
	echo "vmm, vmm-tap: not run (this nfv-vmm has no --nic ...,vhost-user=PATH)"
else
	# The lab's path: nfv-vmm listens (server=on, its default), the switch's
	# vhost-user port dials, the guest's rings are the switch's.
	vm_run vmm "{ name: p0, type: vhost-user, path: $d/vm.sock }" \
		"virtio,vhost-user=$d/vm.sock,mac=$mac_v" -

	# A tap between nfv-vmm and the switch. nfv-vmm and the switch's tap
	# port (net_tap) cannot share one tap: net_tap creates a multiqueue tap
	# with packet information, which nfv-vmm refuses to attach to ("not a
	# single-queue tap"); and were both attached, both would hold queue
	# file descriptors, the device side of the tap, where a frame written
	# goes up into the kernel and never to the other holder. So nfv-vmm
	# holds the tap and the switch takes the kernel side with an af_packet
	# port on it, in a private namespace without IPv6 (the kernel sends
	# nothing of its own through the tap).
	ns=swvh-$$
	tap=swvhtap$$
	if ip netns add $ns; then
		on_exit "ip netns del $ns 2>/dev/null"
		ip netns exec $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		if ip netns exec $ns ip tuntap add $tap mode tap &&
			ip netns exec $ns ip link set $tap up; then
			vm_run vmm-tap "{ name: p0, type: af_packet, iface: $tap }" \
				"virtio,tap=$tap,mac=$mac_v" $ns
		else
			check_fail "vmm-tap: cannot create tap $tap in $ns"
		fi
	else
		check_fail "vmm-tap: cannot create network namespace $ns"
	fi
fi

finish
