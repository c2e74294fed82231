#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-vmm's virtio-net (--nic virtio, one queue pair) and its netdev
# backends, driven by nfguest's virtio-net driver:
#   badnic   bad --nic virtio arguments end nfv-vmm with status 2 and one line
#   ping     --nic virtio,tap=...: in a private network namespace the host
#            pings nfguest (nf=ping), with interrupts (irq=1) and polling
#            (irq=0); the guest sees the MAC given with mac=
#   gen      --nic virtio,pcap-out=...: nf=gen count=1000 writes exactly 1000
#            frames, every sequence number in order; the control socket's
#            stats give the exits per frame (printed, not asserted)
#   doorbell the queues' doorbells are ioeventfds (the debug log says so) and,
#            while frames flow, the device counts more kicks than its BAR
#            sees accesses: the doorbells arrive without MMIO exits
#   replay   the gen capture through --nic virtio,pcap-in=...: nf=sink counts
#            all 1000 frames with no loss
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd ip ping timeout python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
if ! "$NFV_VMM" --help | grep -q -- '--nic e1000,pcap-out'; then
	skip "this nfv-vmm has no pcap backend (built without libpcap)"
fi

# --- bad --nic virtio arguments: status 2, one line naming the problem.
badnic "virtio" "no backend"
badnic "virtio,tap=x,rings=4" "unknown key 'rings'"
badnic "virtio,tap=x,pcap-out=/dev/null" "two backends"
badnic "virtio,tap=x,mac=01:02:03:04:05:06" "multicast"
badnic "virtio,pcap-in=$TEST_TMPDIR/missing.pcap" "No such file"

# Unique names: namespace and tap carry this shell's PID.
ns=nfvv-$$
tap0=nfvv$$a
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip tuntap add "$tap0" mode tap || fail "cannot create tap $tap0"
nsx ip addr add 10.251.0.1/30 dev "$tap0"

# --- ping over a tap.
ping_over_tap virtio "$ns" "$tap0" 10.251.0 52:54:00:4e:56:01

# --- gen into pcap-out, sampling the control socket's stats meanwhile.
count=1000
out=$TEST_TMPDIR/gen.pcap
sock=$TEST_TMPDIR/gen.sock
samples=$TEST_TMPDIR/gen.jsonl
name=gen
failures_before=$failures
vmm_start $name - --log-level debug --api "$sock" --nic "virtio,pcap-out=$out" \
	--cmdline "nf=gen count=$count stats=0"
api_sample 140 "$samples" "$sock" "$vpid"
wait_pid "$vpid" 30
status=$?
[ "$status" -eq 0 ] && ok "gen: exit status 0" || check_fail "gen: exit status $status"
expect_line "$TEST_TMPDIR/$name.log" "^nfguest: gen done sent=$count expected=$count " \
	"gen: nfguest sent $count frames"
expect_line "$TEST_TMPDIR/$name.err" "$count frames written to $out" \
	"gen: nfv-vmm wrote $count frames"
if nfgen check "$out" "$count" 1; then
	ok "gen: exactly $count generated frames, sequence numbers in order"
else
	check_fail "gen: pcap-out check"
fi
if python3 - "$samples" <<'PY'; then
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r.get("nics")]
if not rows:
    print("no stats answer with a NIC")
    sys.exit(1)
last = rows[-1]
nic = last["nics"][0]
if nic["kind"] != "virtio" or "kicks" not in nic["model"]:
    print(f"nics[0] is not a virtio-net with its counters: {nic}")
    sys.exit(1)
m = nic["model"]
frames = nic["netdev_stats"]["tx_packets"]
exits = last["exits"]["total"]
print(f"  gen, up to the last answer (boot included): {frames} frames, {exits} exits"
      + (f": {exits / frames:.3f} exits per frame" if frames else ""))
print(f"  virtio-net model: tx_frames {m['tx_frames']} kicks {m['kicks']} irqs {m['irqs']} "
      f"guest_errors {m['guest_errors']}")

def tx(r):
    return r["nics"][0]["netdev_stats"]["tx_packets"]

def bar(r):
    return sum(d["accesses"] for d in r["devices"]["mmio"] if "virtio" in d["name"])

flowing = [r for r in rows if 0 < tx(r) < 1000]
if len(flowing) >= 2 and tx(flowing[-1]) > tx(flowing[0]):
    a, b = flowing[0], flowing[-1]
    fr, ex = tx(b) - tx(a), b["exits"]["total"] - a["exits"]["total"]
    kicks = b["nics"][0]["model"]["kicks"] - a["nics"][0]["model"]["kicks"]
    print(f"  while frames flow: {fr} frames, {ex} exits: {ex / fr:.3f} exits per frame; "
          f"{kicks} kicks, {bar(b) - bar(a)} BAR accesses")
    with open(sys.argv[1] + ".window", "w") as f:
        f.write(f"{kicks} {bar(b) - bar(a)}\n")
PY
	ok "gen: exits per frame printed above (not asserted)"
else
	check_fail "gen: no usable stats from the control socket"
fi
for q in 0 1; do
	expect_line "$TEST_TMPDIR/$name.err" \
		"virtio\.0: queue $q: doorbell at 0x[0-9a-f]* through an ioeventfd" \
		"doorbell: queue $q's doorbell is an ioeventfd"
done
if [ -s "$samples.window" ]; then
	read -r kicks bars <"$samples.window"
	if [ "$kicks" -gt 0 ] && [ "$bars" -lt "$kicks" ]; then
		ok "doorbell: $kicks kicks and $bars BAR accesses while frames flow"
	else
		check_fail "doorbell: $kicks kicks and $bars BAR accesses while frames flow"
	fi
else
	echo "doorbell: no stats sample while frames flowed: kicks against BAR accesses not compared"
fi
[ "$failures" -eq "$failures_before" ] || show_vmm $name

# --- replay the capture into a sink.
name=replay
failures_before=$failures
vmm_run $name - 120 --nic "virtio,pcap-in=$out" \
	--cmdline "nf=sink count=$count seconds=60 stats=0"
[ "$status" -eq 0 ] && ok "replay: sink exit status 0" || check_fail "replay: exit status $status"
expect_line "$TEST_TMPDIR/$name.log" \
	"^nfguest: sink done received=$count expected=$count loss=0 reorder=0 " \
	"replay: the sink counted $count frames, no loss, in order"
expect_line "$TEST_TMPDIR/$name.err" \
	"exhausted: $count records read, $count delivered, 0 dropped by the model" \
	"replay: nfv-vmm replayed the whole file"
[ "$failures" -eq "$failures_before" ] || show_vmm $name

finish
