#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-vmm's vhost-user NIC paths against a third-party backend,
# dpdk-testpmd's net_vhost port, with nfguest in the VM:
#   vhost     --nic virtio,vhost-user=PATH (server=on, one queue pair): the
#             guest's rings are the backend's. nf=gen count=10000 -> testpmd
#             rxonly counts every frame; two guests through testpmd's io
#             forwarding: nf=gen -> port 0 -> port 1 -> nf=sink, which
#             counts every generated frame with no loss
#   exits     in the rxonly gen run, while frames flow: VM exits and MMIO
#             accesses to the virtio BAR per frame far below one (the
#             doorbells are ioeventfds the backend reads)
#   mq        queues=4 on 2 vCPUs, nfguest queues=4 flows=64: testpmd with 4
#             queues receives on every one (its per-stream statistics), and
#             nfguest sends on every one
#   reconnect testpmd killed (SIGKILL) during a long gen run: the control
#             socket shows the link down within 5 s; testpmd started again
#             on the same socket: link up, frames counted again, from the
#             same guest (not restarted), which ends normally. With nfv-vmm
#             listening (server=on, testpmd client=1) and dialing
#             (server=off, testpmd listens), in vhost mode and in relay
#             mode (e1000 listening, virtio offload=off dialing)
#   client    server=off: nfv-vmm starts before anything listens and keeps
#             trying; testpmd then listens, nfv-vmm connects, frames counted
#   relay     --nic e1000,vhost-user=PATH and --nic virtio,vhost-user=PATH,
#             offload=off (nfv-vmm's own queue pair in shared memory):
#             nf=gen count=2000 -> testpmd rxonly counts every frame;
#             two guests through testpmd's io forwarding, an e1000 relay
#             with nf=gen -> a virtio offload=off relay with nf=sink, which
#             counts every generated frame with no loss
#   vhost-net --nic virtio,tap=NAME,vhost-net=on on a host without
#             /dev/vhost-net: refused, non-zero status, one line naming the
#             device and `modprobe vhost_net`
#
# testpmd: one at a time, on lcores 0-1, --in-memory on hugepages or
# --no-huge (lib.sh, testpmd_init), its own --file-prefix (removed at
# exit), stopped by PID. Guest RAM is nfv-vmm's default shared memfd, which
# the backend maps. An nfv-vmm whose --help does not mention vhost-user= is
# skipped.
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
require_cmd dpdk-testpmd timeout mkfifo awk stdbuf python3
[ "$(nproc)" -ge 2 ] || skip "testpmd needs 2 cores (a main and a forwarding lcore)"
if ! "$NFV_VMM" --help 2>&1 | grep -q -- 'vhost-user='; then
	skip "this nfv-vmm has no --nic ...,vhost-user=PATH (its --help does not mention it)"
fi

testpmd_init "nfvvh$$"
d=$TEST_TMPDIR
mac_a=52:54:00:4e:56:0a
mac_b=52:54:00:4e:56:0b

# nic_stat NAME PYEXPR: PYEXPR over `n`, the first NIC of NAME's control
# socket stats; 1 without an answer.
nic_stat()
{
	local r

	r=$(api "$d/$1.sock" '{"cmd":"stats"}')
	[ -n "$r" ] || return 1
	python3 -c 'import json, sys
r = json.loads(sys.argv[1])
n = r["result"]["nics"][0]
print(eval(sys.argv[2]))' "$r" "$2" 2>/dev/null
}

# wait_nic NAME PYEXPR SECS: until PYEXPR is True; 1 after SECS.
wait_nic()
{
	local end=$((SECONDS + $3))

	while [ "$SECONDS" -le "$end" ]; do
		[ "$(nic_stat "$1" "$2")" = True ] && return 0
		sleep 0.2
	done
	return 1
}

# expect_sample NAME last|any PYEXPR DESC: PYEXPR over `n`, the first NIC in
# the last (or in any) control socket answer of NAME.jsonl (api_sample), is
# True; `v` is its "vhost" member (the vhost-user counters) or {}.
expect_sample()
{
	local r

	r=$(python3 -c 'import json, sys
rows = []
for l in open(sys.argv[1]):
    try:
        r = json.loads(l)
    except ValueError:
        continue
    if r.get("nics"):
        rows.append(r)
if sys.argv[2] == "last":
    rows = rows[-1:]
hit, v = None, {}
for r in rows:
    n = r["nics"][0]
    v = n.get("vhost") or {}
    if eval("(" + sys.argv[3] + ")"):
        hit = v
        break
print(hit is not None, json.dumps(v if hit is None else hit), f"in {len(rows)} sample(s)")' "$d/$1.jsonl" "$2" "$3" 2>&1 | tail -n 1)
	case $r in
	True*) ok "$1: $4 (vhost ${r#True })" ;;
	*) check_fail "$1: $4: not so in the $2 stats (${r#False })" ;;
	esac
}

# vm_start NAME SPEC CMDLINE [VMM-ARGS...]: nfguest with --nic SPEC and the
# control socket NAME.sock; PID in $vpid.
vm_start()
{
	local name=$1 spec=$2 cmdline=$3

	shift 3
	rm -f "$d/$name.jsonl"
	vmm_start "$name" - --api "$d/$name.sock" "$@" --nic "$spec" --cmdline "$cmdline"
}

# tp_rx_only OUT SOCK QUEUES CLIENT: interactive testpmd, forwarding at
# once in rxonly mode on a net_vhost port with QUEUES queues that dials
# SOCK (CLIENT 1) or listens on it (0).
tp_rx_only()
{
	testpmd_start "$1" --vdev "net_vhost0,iface=$2,client=$4,queues=$3" -- \
		-i -a --forward-mode=rxonly --rxq="$3" --txq="$3" --nb-cores=1 \
		--total-num-mbufs=8192 --no-flush-rx
}

# tp_queue OUT Q: RX-packets of the stream receiving on port 0 queue Q in
# testpmd's last forward statistics (testpmd prints a stream only when it
# carried something).
tp_queue()
{
	awk -v q="$2" '
		$0 ~ "Forward Stats for RX Port= *0/Queue= *" q " " { getline
			for (i = 1; i < NF; i++) if ($i == "RX-packets:") v = $(i + 1) }
		END { print v + 0 }' "$1"
}

# tp_expect_rx NAME OUT COUNT: port 0 received at least COUNT frames.
tp_expect_rx()
{
	local rx

	rx=$(testpmd_port "$2" 0 RX-packets:)
	if [ "${rx:-0}" -ge "$3" ]; then
		ok "$1: testpmd counted $rx frames (at least $3)"
	else
		check_fail "$1: testpmd counted '${rx:-nothing}' frames, expected at least $3"
	fi
}

# dump_on_failure BEFORE NAME... [-- TESTPMD-OUT...]: the VMs' consoles and
# logs and testpmd's output when a check failed since BEFORE.
dump_on_failure()
{
	local before=$1 a tp=0

	shift
	[ "$failures" -ne "$before" ] || return 0
	for a in "$@"; do
		if [ "$a" = -- ]; then
			tp=1
		elif [ "$tp" -eq 1 ]; then
			testpmd_show "$a"
		else
			show_vmm "$a"
		fi
	done
}

# exits_check NAME JSONL FRAMES: the control socket's samples of a vhost
# run (first and last one with the link up): VM exits and MMIO accesses to
# the virtio BAR against the FRAMES that went through the backend
# meanwhile, each far below one per frame; the NIC's vhost counters.
exits_check()
{
	local name=$1 kind line

	while IFS='|' read -r kind line; do
		case $kind in
		ok) ok "$name: $line" ;;
		fail) check_fail "$name: $line" ;;
		*) echo "  $name: $line" ;;
		esac
	done < <(python3 - "$2" "$3" <<'PY'
import json, sys
path, frames = sys.argv[1], int(sys.argv[2])
rows = []
for l in open(path):
    try:
        r = json.loads(l)
    except ValueError:
        continue
    if r.get("nics"):
        rows.append(r)
up = [r for r in rows if r["nics"][0].get("link_up") is True]
print(f"info|{len(rows)} stats samples, {len(up)} with the link up")
if len(up) < 2 or frames <= 0:
    print(f"fail|exits: {len(up)} samples with the link up and {frames} frames: nothing to compare")
    sys.exit()
def change(get):  # from the first to the last sample with the link up
    return get(up[-1]) - get(up[0])

ex = change(lambda r: r["exits"]["total"])
mmio = change(lambda r: r["exits"]["by_reason"].get("mmio", 0))
ba = change(lambda r: sum(m["accesses"] for m in r["devices"]["mmio"] if "virtio" in m["name"]))
b = up[-1]
print(f"info|while the link was up: {ex} exits ({mmio} MMIO), {ba} virtio BAR accesses, "
      f"{frames} frames through the backend (exits since boot: {b['exits']['total']})")
print(f"info|nic: " + " ".join(f"{k}={v}" for k, v in b["nics"][0].items()
                              if not isinstance(v, (dict, list))))
for k, v in b["nics"][0].items():
    if isinstance(v, dict) and k != "model":
        print(f"info|nic {k}: {json.dumps(v)}")
print(("ok|" if ex < 0.05 * frames else "fail|")
      + f"exits: {ex / frames:.4f} VM exits per frame (below 0.05)")
print(("ok|" if ba < 0.05 * frames else "fail|")
      + f"exits: {ba / frames:.4f} virtio BAR accesses per frame (below 0.05)")
PY
	)
}

# ---------------------------------------------------------------------------
# vhost mode, one queue pair: gen -> testpmd rxonly, with the exits check.
name=vh_gen
f0=$failures
count=10000
tp_rx_only "$d/tp_$name.out" "$d/$name.vu" 1 1 || check_fail "$name: testpmd did not start"
vm_start $name "virtio,vhost-user=$d/$name.vu,mac=$mac_a" "nf=gen count=$count stats=0"
vp=$vpid
if nfguest_ready $name; then
	api_sample 120 "$d/$name.jsonl" "$d/$name.sock" "$vp"
	vm_end $name "$vp" 30
	expect_line "$d/$name.log" "^nfguest: nic=0 kind=virtio .*mac=$mac_a queues=1 .*link=up$" \
		"$name: virtio NIC with the given MAC, one pair, link up at start"
	expect_line "$d/$name.log" "^nfguest: gen done sent=$count expected=$count " \
		"$name: nfguest sent $count frames"
	expect_sample $name last 'v.get("mode") == "vhost-user" and v.get("connects") == 1 and
		v.get("disconnects") == 0 and v.get("sessions_failed") == 0' \
		"vhost mode, one backend connection, no failed handshake"
fi
kill_pid "$vp"
testpmd_stop
tp_expect_rx $name "$d/tp_$name.out" $count
rx=$(testpmd_port "$d/tp_$name.out" 0 RX-packets:)
exits_check $name "$d/$name.jsonl" "${rx:-0}"
dump_on_failure "$f0" $name -- "$d/tp_$name.out"

# ---------------------------------------------------------------------------
# Both ways: gen (port 0) -> testpmd io -> (port 1) sink, in vhost mode and
# with relays (an e1000 sending, a virtio offload=off receiving).

# io_run NAME GEN-SPEC SINK-SPEC: the guests' NICs are --nic SPEC
# (KIND[,KEYS]) on NAME_gen.vu and NAME_sink.vu, which testpmd dials.
io_run()
{
	local name=$1 gk=${2%%,*} sk=${3%%,*} f0=$failures count=2000 gen_pid sink_pid rx tx

	testpmd_start "$d/tp_$name.out" \
		--vdev "net_vhost0,iface=$d/${name}_gen.vu,client=1,queues=1" \
		--vdev "net_vhost1,iface=$d/${name}_sink.vu,client=1,queues=1" -- \
		-i -a --forward-mode=io --nb-cores=1 --total-num-mbufs=8192 --no-flush-rx ||
		check_fail "$name: testpmd did not start"
	vm_start ${name}_sink "$sk,vhost-user=$d/${name}_sink.vu${3#"$sk"},mac=$mac_b" \
		"nf=sink count=$count seconds=90 stats=0"
	sink_pid=$vpid
	if nfguest_ready ${name}_sink; then
		if wait_nic ${name}_sink 'n["link_up"] is True' 15; then
			ok "${name}_sink: testpmd connected, link up"
		else
			check_fail "${name}_sink: link not up 15 s after the guest was ready"
		fi
		# rate=: what testpmd cannot put into the sink's ring at once is dropped.
		vm_start ${name}_gen "$gk,vhost-user=$d/${name}_gen.vu${2#"$gk"},mac=$mac_a" \
			"nf=gen count=$count rate=2000 dst=$mac_b stats=0"
		gen_pid=$vpid
		if nfguest_ready ${name}_gen; then
			vm_end ${name}_gen "$gen_pid" 60
			vm_end ${name}_sink "$sink_pid" 60
			expect_line "$d/${name}_gen.log" "^nfguest: gen done sent=$count expected=$count " \
				"${name}_gen: nfguest sent $count frames"
			expect_line "$d/${name}_sink.log" \
				"^nfguest: sink done received=$count expected=$count loss=0 " \
				"${name}_sink: nfguest received all $count generated frames, no loss"
		fi
		kill_pid "$gen_pid"
	fi
	kill_pid "$sink_pid"
	testpmd_stop
	rx=$(testpmd_port "$d/tp_$name.out" 0 RX-packets:)
	tx=$(testpmd_port "$d/tp_$name.out" 1 TX-packets:)
	if [ "${rx:-0}" -eq $count ] && [ "${tx:-0}" -eq $count ]; then
		ok "$name: testpmd received $rx frames on port 0 and sent $tx on port 1"
	else
		check_fail "$name: testpmd port 0 RX '${rx:-nothing}', port 1 TX '${tx:-nothing}', expected $count"
	fi
	dump_on_failure "$f0" ${name}_gen ${name}_sink -- "$d/tp_$name.out"
}

io_run vh_io virtio virtio
io_run relay_io e1000 virtio,offload=off

# ---------------------------------------------------------------------------
# vhost mode, 4 queue pairs on 2 vCPUs: every queue carries frames.
name=vh_mq
f0=$failures
count=8000
tp_rx_only "$d/tp_$name.out" "$d/$name.vu" 4 1 || check_fail "$name: testpmd did not start"
vm_start $name "virtio,vhost-user=$d/$name.vu,queues=4,mac=$mac_a" \
	"nf=gen queues=4 flows=64 count=$count stats=0" --cpus 2
vp=$vpid
if nfguest_ready $name; then
	api_sample 120 "$d/$name.jsonl" "$d/$name.sock" "$vp"
	vm_end $name "$vp" 30
	expect_line "$d/$name.log" "^nfguest: nic=0 kind=virtio .* queues=4 " \
		"$name: nfguest uses 4 queue pairs"
	expect_line "$d/$name.log" "^nfguest: gen done sent=$count expected=$count " \
		"$name: nfguest sent $count frames"
	expect_nfguest_queues "$d/$name.log" $name 4 tx_pkts
	expect_sample $name last 'n.get("queues") == 4 and n.get("active_queues") == 4' \
		"the control socket shows 4 queue pairs, 4 active"
fi
kill_pid "$vp"
testpmd_stop
tp_expect_rx $name "$d/tp_$name.out" $count
for q in 0 1 2 3; do
	v=$(tp_queue "$d/tp_$name.out" $q)
	[ "$v" -gt 0 ] && ok "$name: testpmd received $v frames on queue $q" ||
		check_fail "$name: testpmd received nothing on queue $q"
done
dump_on_failure "$f0" $name -- "$d/tp_$name.out"

# ---------------------------------------------------------------------------
# Reconnect: testpmd killed and started again under a running guest, with
# nfv-vmm listening (server=on) and dialing (server=off), in vhost mode and
# in relay mode.

# tp_rc OUT SOCK CLIENT: testpmd rxonly on a net_vhost port that dials SOCK
# (CLIENT 1) or listens on it (0), port stats every second.
tp_rc()
{
	testpmd_start "$1" --vdev "net_vhost0,iface=$2,client=$3,queues=1" -- \
		--forward-mode=rxonly --stats-period 1 --nb-cores=1 --total-num-mbufs=8192 --no-flush-rx
}

# reconnect_run NAME SPEC SERVER: a guest with --nic SPEC (KIND[,KEYS]),
# vhost-user=NAME.vu, server=SERVER sends for 15 s; testpmd is killed while
# frames flow and started again on the same socket.
reconnect_run()
{
	local name=$1 kind=${2%%,*} server=$3 client=1 f0=$failures sock=$d/$1.vu vp t0 v

	[ "$server" = on ] || client=0
	tp_rc "$d/tp_${name}1.out" "$sock" $client || check_fail "$name: testpmd did not start"
	vm_start $name "$kind,vhost-user=$sock${2#"$kind"},server=$server,mac=$mac_a" \
		"nf=gen seconds=15 stats=1"
	vp=$vpid
	if nfguest_ready $name; then
		wait_nic $name 'n["link_up"] is True' 15 && ok "$name: link up" ||
			check_fail "$name: link not up 15 s after the guest was ready"
		wait_for_pattern "$d/tp_${name}1.out" 'RX-packets: +[1-9]' 15 &&
			ok "$name: testpmd counts frames ($(testpmd_last "$d/tp_${name}1.out" RX-packets:))" ||
			check_fail "$name: testpmd counted no frame within 15 s"
		testpmd_crash
		t0=$SECONDS
		if wait_nic $name 'n["link_up"] is False' 5; then
			ok "$name: testpmd killed (SIGKILL): link down after $((SECONDS - t0)) s"
		else
			check_fail "$name: the link is not down 5 s after testpmd was killed" \
				"(link_up: $(nic_stat $name 'n.get("link_up")'))"
		fi
		# A listening testpmd left its socket file behind: it binds anew.
		[ "$client" = 1 ] || rm -f "$sock"
		tp_rc "$d/tp_${name}2.out" "$sock" $client || check_fail "$name: testpmd did not start again"
		t0=$SECONDS
		if wait_nic $name 'n["link_up"] is True' 30; then
			ok "$name: testpmd started again: link up after $((SECONDS - t0)) s"
		else
			check_fail "$name: the link is not up 30 s after testpmd started again"
		fi
		# 1000 and more: beyond what a ring held when the link came back.
		wait_for_pattern "$d/tp_${name}2.out" 'RX-packets: +[1-9][0-9]{3,}' 15 &&
			ok "$name: the new testpmd counts frames from the same guest" \
				"($(testpmd_last "$d/tp_${name}2.out" RX-packets:))" ||
			check_fail "$name: the new testpmd counted fewer than 1000 frames within 15 s" \
				"($(testpmd_last "$d/tp_${name}2.out" RX-packets:))"
		v=$(nic_stat $name 'n.get("vhost", {}).get("connects"), n.get("vhost", {}).get("disconnects")')
		[ "$v" = "(2, 1)" ] && ok "$name: vhost counters: 2 connects, 1 disconnect" ||
			check_fail "$name: vhost (connects, disconnects) '$v', expected (2, 1):" \
				"$(nic_stat $name 'n.get("vhost")')"
		pid_alive "$vp" && ok "$name: the same nfv-vmm (PID $vp) runs on" ||
			check_fail "$name: nfv-vmm is gone"
		vm_end $name "$vp" 40
		[ "$(grep -a -c '^nfguest: ready' "$d/$name.log")" = 1 ] &&
			ok "$name: the guest was not restarted (one ready line)" ||
			check_fail "$name: the guest started more than once"
		expect_line "$d/$name.log" '^nfguest: gen done sent=[1-9][0-9]* .*status=0$' \
			"$name: nfguest's gen ran to its end"
	fi
	kill_pid "$vp"
	testpmd_stop
	dump_on_failure "$f0" $name -- "$d/tp_${name}1.out" "$d/tp_${name}2.out"
}

reconnect_run vh_reconnect virtio on
reconnect_run vh_reconnect_client virtio off
reconnect_run relay_reconnect_e1000 e1000 on
reconnect_run relay_reconnect_virtio virtio,offload=off off

# ---------------------------------------------------------------------------
# server=off: nfv-vmm dials, before anything listens, and keeps trying.
name=vh_client
f0=$failures
count=2000
vm_start $name "virtio,vhost-user=$d/$name.vu,server=off,mac=$mac_a" "nf=gen count=$count stats=0"
vp=$vpid
if nfguest_ready $name; then
	sleep 2
	lu=$(nic_stat $name 'n.get("link_up"), n.get("vhost", {}).get("connects")')
	if pid_alive "$vp" && [ "$lu" = "(False, 0)" ]; then
		ok "$name: nothing listens: nfv-vmm runs on, link down, no connection"
	else
		check_fail "$name: nothing listens: nfv-vmm alive: $(pid_alive "$vp" && echo yes || echo no)," \
			"(link_up, connects) '$lu'"
	fi
	# The gen frames wait in the guest's ring; once nfv-vmm is connected
	# they go at once and the VM ends: its stats are sampled meanwhile.
	api_sample 120 "$d/$name.jsonl" "$d/$name.sock" "$vp" &
	sp=$!
	tp_rx_only "$d/tp_$name.out" "$d/$name.vu" 1 0 || check_fail "$name: testpmd did not start"
	vm_end $name "$vp" 60
	wait_pid "$sp" 20 || kill_pid "$sp"
	expect_sample $name any 'n["link_up"] is True and v.get("connects") == 1' \
		"testpmd listens: nfv-vmm connected (once), link up"
	expect_line "$d/$name.log" "^nfguest: gen done sent=$count expected=$count " \
		"$name: nfguest sent $count frames"
fi
kill_pid "$vp"
testpmd_stop
tp_expect_rx $name "$d/tp_$name.out" $count
dump_on_failure "$f0" $name -- "$d/tp_$name.out"

# ---------------------------------------------------------------------------
# Relay mode: nfv-vmm's own queue pair to the backend, e1000 and virtio.
count=2000
for spec in e1000 virtio,offload=off; do
	kind=${spec%%,*}
	name=relay_$kind
	f0=$failures
	tp_rx_only "$d/tp_$name.out" "$d/$name.vu" 1 1 || check_fail "$name: testpmd did not start"
	vm_start $name "$kind,vhost-user=$d/$name.vu${spec#$kind},mac=$mac_a" "nf=gen count=$count stats=0"
	vp=$vpid
	if nfguest_ready $name; then
		api_sample 120 "$d/$name.jsonl" "$d/$name.sock" "$vp"
		vm_end $name "$vp" 60
		expect_line "$d/$name.log" "^nfguest: nic=0 kind=$kind .*mac=$mac_a .*link=up$" \
			"$name: $kind NIC with the given MAC, link up at start"
		expect_line "$d/$name.log" "^nfguest: gen done sent=$count expected=$count " \
			"$name: nfguest sent $count frames"
		expect_sample $name last 'v.get("mode") == "relay" and v.get("connects") == 1 and
			v.get("tx_no_link") == 0 and v.get("backend_errors") == 0 and
			n["netdev_stats"]["tx_packets"] > 0' \
			"relay mode, one connection, frames to the backend, none without a link"
	fi
	kill_pid "$vp"
	testpmd_stop
	tp_expect_rx $name "$d/tp_$name.out" $count
	dump_on_failure "$f0" $name -- "$d/tp_$name.out"
done

# ---------------------------------------------------------------------------
# vhost-net on a host without /dev/vhost-net: refused with the reason.
if [ -e /dev/vhost-net ]; then
	echo "vhost-net: not run (this host has /dev/vhost-net)"
else
	tap=nfvvh$$
	nsp=()
	if command -v ip >/dev/null && ip netns add "nfvvh-$$" 2>/dev/null; then
		on_exit "ip netns del nfvvh-$$ 2>/dev/null"
		nsp=(ip netns exec "nfvvh-$$")
	fi
	out=$("${nsp[@]}" timeout --kill-after=5 30 "$NFV_VMM" --kernel "$NFV_NFGUEST" --console none \
		--nic "virtio,tap=$tap,vhost-net=on" </dev/null 2>&1)
	st=$?
	line=$(grep -m1 -E '/dev/vhost-net.*modprobe vhost_net|modprobe vhost_net.*/dev/vhost-net' <<<"$out")
	if [ "$st" -ne 0 ] && [ "$st" -ne 124 ] && [ -n "$line" ]; then
		ok "vhost-net: refused with status $st: $line"
	else
		check_fail "vhost-net: status $st, output:"
		sed 's/^/    /' <<<"$out" | tail -10
	fi
fi

finish
