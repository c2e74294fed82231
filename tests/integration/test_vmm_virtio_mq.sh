#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-vmm's multiqueue virtio-net (--nic virtio,queues=N), driven by
# nfguest's virtio-net driver, inside a private network namespace:
#   badnic   queues=0, queues=17, queues=abc, queues= on an e1000 and more
#            iothreads= than queue pairs end nfv-vmm with status 2 and one
#            line naming the problem
#   ping     the namespace pings nfguest (nf=ping) on queues=1 (plain tap)
#            and on queues=4 with 2 vCPUs (a multi_queue tap), with
#            interrupts and with polling; nfguest reports the queue pairs
#   gen/sink two nfv-vmm guests on one Linux bridge: queues=1 with 2000
#            frames and queues=4 on 2 vCPUs with 8000 frames in 64 flows:
#            both exit 0, the sink counts every frame with no loss, and with
#            4 pairs every queue carries traffic in both guests, by nfguest's
#            own per-queue lines and by the control socket's per_queue stats
#   exits    in the 4-queue gen run, while frames flow: exits and doorbell
#            kicks per frame (printed); kicks per frame below 0.5 (EVENT_IDX
#            suppression) and fewer MMIO accesses to the virtio BAR than
#            kicks (the doorbells are ioeventfds)
#
# An nfv-vmm without queues= (its --help does not mention queues=N and it
# refuses the key) runs the single-queue scenarios without the key, then
# the test is reported as skipped, unless one of them failed.
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

# Unique names: namespace, bridge and taps carry this shell's PID
# (interface names are at most 15 characters). tap1/tap2 are plain taps
# (one queue), tap3/tap4 multi_queue ones.
ns=nfvmq-$$
br=nfvqb$$
tap1=nfvq$$a
tap2=nfvq$$b
tap3=nfvq$$c
tap4=nfvq$$d
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up

# mq=1: this nfv-vmm has multiqueue virtio-net. The help text says so; an
# nfv-vmm whose help does not, but which takes the key, is tested as one too.
mq=1
if ! "$NFV_VMM" --help 2>&1 | grep -q 'queues='; then
	out=$(nsx timeout --kill-after=5 20 "$NFV_VMM" --kernel "$NFV_NFGUEST" --console none \
		--nic virtio,queues=2 2>&1 </dev/null)
	if grep -q "unknown key 'queues'" <<<"$out"; then
		mq=0
		echo "note: this nfv-vmm has no --nic virtio,queues=N ($out):" \
			"only the single-queue scenarios run, without queues="
	else
		echo "note: --help does not mention queues=, but nfv-vmm takes the key ($out)"
	fi
fi

for t in "$tap1" "$tap2"; do
	nsx ip tuntap add "$t" mode tap || fail "cannot create tap $t"
	on_exit "ip netns exec $ns ip link del $t 2>/dev/null"
done
for t in "$tap3" "$tap4"; do
	nsx ip tuntap add "$t" mode tap multi_queue || fail "cannot create multiqueue tap $t"
	on_exit "ip netns exec $ns ip link del $t 2>/dev/null"
done

# --- bad --nic arguments: status 2, one line naming the problem (run in
# the namespace, so that a wrongly accepted one touches nothing outside).
if [ "$mq" -eq 1 ]; then
	badnic "virtio,tap=x,queues=0" "queues" "$ns"
	badnic "virtio,tap=x,queues=17" "queues" "$ns"
	badnic "virtio,tap=x,queues=abc" "queues" "$ns"
	badnic "e1000,tap=x,queues=2" "queues" "$ns"
	badnic "virtio,tap=x,queues=2,iothreads=3" "iothreads" "$ns"
else
	echo "badnic: not run (no queues= in this nfv-vmm)"
fi

# --- ping: tap1 holds 10.252.0.1/30, tap3 10.252.1.1/30; nfguest .2.
nsx ip addr add 10.252.0.1/30 dev "$tap1"
nsx ip addr add 10.252.1.1/30 dev "$tap3"
if [ "$mq" -eq 1 ]; then
	ping_over_tap virtio "$ns" "$tap1" 10.252.0 52:54:00:4e:51:01 1
	ping_over_tap virtio "$ns" "$tap3" 10.252.1 52:54:00:4e:51:04 4 --cpus 2
else
	ping_over_tap virtio "$ns" "$tap1" 10.252.0 52:54:00:4e:51:01
	echo "ping: queues=4 not run (no queues= in this nfv-vmm)"
fi
nsx ip addr flush dev "$tap1"
nsx ip addr flush dev "$tap3"

# --- gen/sink over a bridge.
nsx ip link add "$br" type bridge || fail "cannot create bridge $br"
on_exit "ip netns exec $ns ip link del $br 2>/dev/null"
for t in "$tap1" "$tap2" "$tap3" "$tap4"; do
	nsx ip link set "$t" master "$br"
	nsx ip link set "$t" up
done
nsx ip link set "$br" up
# Room for every frame of a run in each tap queue: the kernel drops what
# does not fit, and a sink slowed down by a busy host would then lose
# frames the VMM never saw.
for t in "$tap1" "$tap2" "$tap3" "$tap4"; do
	nsx ip link set "$t" txqueuelen 10000
done
mac_gen=52:54:00:4e:51:0a
mac_sink=52:54:00:4e:51:0b

# stats_check NAME FILE ROLE NQ COUNT WINDOW: the control socket's stats of
# one run (FILE, one answer a line): the last answer shows traffic on every
# queue pair (ROLE tx: tx_frames, rx: rx_frames) and, with mq, the pair
# counts; WINDOW 1 asserts kicks and BAR accesses per frame while frames
# flowed, 0 prints them only.
stats_check()
{
	local name=$1 kind line done=0

	while IFS='|' read -r kind line; do
		case $kind in
		ok) ok "$name: $line" ;;
		fail) check_fail "$name: $line" ;;
		done) done=1 ;;
		*) echo "  $name: $line" ;;
		esac
	done < <(python3 - "$2" "$3" "$4" "$5" "$6" "$mq" <<'PY'
import json, sys
path, role, nq, count, window, mq = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])

def res(ok, msg):
    print(("ok|" if ok else "fail|") + msg)

def main():
    rows = []
    for l in open(path):
        try:
            r = json.loads(l)
        except ValueError:
            continue
        if r.get("nics"):
            rows.append(r)
    if not rows:
        res(False, "no stats answer with a NIC from the control socket")
        return
    nic = rows[-1]["nics"][0]
    field = role + "_frames"
    if mq:
        for key, want in (("queues", nq), ("active_queues", nq), ("iothreads", nq)):
            res(nic.get(key) == want, f"stats: {key} {nic.get(key)} (expected {want})")
        print(f"info|stats: irqfd_irqs {nic.get('irqfd_irqs')} "
              f"msi_fallback_irqs {nic.get('msi_fallback_irqs')}")
        pq = nic.get("per_queue")
        if not isinstance(pq, list) or len(pq) != nq:
            res(False, f"stats: per_queue is not a list of {nq} pairs: {pq}")
        else:
            keys = ("rx_frames", "tx_frames", "rx_kicks", "tx_kicks", "rx_irqs", "tx_irqs",
                    "rx_no_buffer")
            for p in pq:
                print("info|stats: pair " + str(p.get("pair")) + ": "
                      + " ".join(f"{k} {p.get(k)}" for k in keys))
            for i, p in enumerate(pq):
                v = p.get(field)
                res(p.get("pair") == i and isinstance(v, int) and v > 0,
                    f"stats: per_queue[{i}] (pair {p.get('pair')}) {field} {v}")
    else:
        v = nic.get("model", {}).get(field)
        res(isinstance(v, int) and v > 0, f"stats: model {field} {v}")

    # While frames flow: samples with 0 < frames sent < count.
    def frames(r):
        n = r["nics"][0]
        return sum(p["tx_frames"] for p in n["per_queue"]) if mq else n["model"]["tx_frames"]

    def tx_kicks(r):
        n = r["nics"][0]
        return sum(p["tx_kicks"] for p in n["per_queue"]) if mq else n["model"]["kicks"]

    def kicks(r):
        n = r["nics"][0]
        if mq:
            return sum(p["rx_kicks"] + p["tx_kicks"] for p in n["per_queue"])
        return n["model"]["kicks"]

    def bar(r):
        return sum(d["accesses"] for d in r["devices"]["mmio"] if "virtio" in d["name"])

    if role != "tx":
        return
    try:
        flowing = [r for r in rows if 0 < frames(r) < count]
    except (KeyError, TypeError):
        res(False, "exits: the stats lack the counters to compare")
        return
    if len(flowing) < 2 or frames(flowing[-1]) <= frames(flowing[0]):
        msg = f"exits: {len(flowing)} stats samples while frames flowed, two needed"
        print(("fail|" if window else "info|") + msg)
        return
    a, b = flowing[0], flowing[-1]
    fr = frames(b) - frames(a)
    ex = b["exits"]["total"] - a["exits"]["total"]
    mmio = b["exits"]["by_reason"].get("mmio", 0) - a["exits"]["by_reason"].get("mmio", 0)
    tk, k, ba = tx_kicks(b) - tx_kicks(a), kicks(b) - kicks(a), bar(b) - bar(a)
    print(f"info|while frames flow ({len(flowing)} samples): {fr} frames, {ex} exits: "
          f"{ex / fr:.3f} exits per frame; {tk} tx kicks: {tk / fr:.3f} kicks per frame; "
          f"{k} kicks in all, {ba} virtio BAR accesses, {mmio} MMIO exits "
          f"(exits since boot: {b['exits']['total']})")
    if window:
        res(tk / fr < 0.5, f"exits: {tk / fr:.3f} doorbell kicks per frame (below 0.5)")
        res(k > 0 and ba < k, f"exits: {ba} virtio BAR accesses against {k} kicks while frames flow")

try:
    main()
except Exception as e:  # a missing or malformed counter
    res(False, f"stats: {e!r}")
print("done|")
PY
	)
	[ "$done" -eq 1 ] || check_fail "$name: the stats check did not complete"
}

# vmm_gen_sink NAME NQ CPUS COUNT GENTAP SINKTAP GENARGS: nf=sink on
# SINKTAP, then nf=gen of COUNT frames on GENTAP, NQ queue pairs and CPUS
# vCPUs each; both control sockets are sampled until both VMs have ended.
# The sink gives up after 60 s + 10 ms per frame.
vmm_gen_sink()
{
	local name=$1 nq=$2 cpus=$3 count=$4 gentap=$5 sinktap=$6 genargs=$7
	local sink=${1}_sink gen=${1}_gen secs=$((60 + $4 / 100)) qopt= sink_pid gen_pid st

	[ "$mq" -eq 0 ] || qopt=",queues=$nq"
	failures_before=$failures
	rm -f "$TEST_TMPDIR/$sink.jsonl" "$TEST_TMPDIR/$gen.jsonl"
	VMM_TIMEOUT=$((secs + 40)) vmm_start "$sink" "$ns" --cpus "$cpus" --api "$TEST_TMPDIR/$sink.sock" \
		--nic "virtio,tap=$sinktap$qopt,mac=$mac_sink" \
		--cmdline "nf=sink queues=$nq count=$count seconds=$secs stats=0"
	sink_pid=$vpid
	if ! wait_for_pattern "$TEST_TMPDIR/$sink.log" '^nfguest: ready nics=1$' 60; then
		check_fail "$sink: no ready line within 60 s"
		kill_pid "$sink_pid"
		show_vmm "$sink"
		return
	fi
	expect_line "$TEST_TMPDIR/$sink.log" "^nfguest: nic=0 kind=virtio .* queues=$nq .*link=up$" \
		"$sink: nfguest has $nq queue pair(s), link up"
	VMM_TIMEOUT=$((secs + 40)) vmm_start "$gen" "$ns" --cpus "$cpus" --api "$TEST_TMPDIR/$gen.sock" \
		--nic "virtio,tap=$gentap$qopt,mac=$mac_gen" \
		--cmdline "nf=gen queues=$nq count=$count dst=$mac_sink stats=0 $genargs"
	gen_pid=$vpid
	api_sample $((secs + 30)) "$TEST_TMPDIR/$gen.jsonl" "$TEST_TMPDIR/$gen.sock" "$gen_pid" \
		"$TEST_TMPDIR/$sink.jsonl" "$TEST_TMPDIR/$sink.sock" "$sink_pid"
	wait_pid "$gen_pid" 30
	st=$?
	[ "$st" -eq 0 ] && ok "$gen: exit status 0" || check_fail "$gen: exit status $st"
	wait_pid "$sink_pid" 30
	st=$?
	[ "$st" -eq 0 ] && ok "$sink: exit status 0" || check_fail "$sink: exit status $st"
	expect_line "$TEST_TMPDIR/$gen.log" "^nfguest: nic=0 kind=virtio .* queues=$nq .*link=up$" \
		"$gen: nfguest has $nq queue pair(s), link up"
	expect_line "$TEST_TMPDIR/$gen.log" "^nfguest: gen done sent=$count expected=$count " \
		"$gen: sent $count frames"
	expect_line "$TEST_TMPDIR/$sink.log" \
		"^nfguest: sink done received=$count expected=$count loss=0 " \
		"$sink: counted $count frames, no loss"
	expect_nfguest_queues "$TEST_TMPDIR/$gen.log" "$gen" "$nq" tx_pkts
	expect_nfguest_queues "$TEST_TMPDIR/$sink.log" "$sink" "$nq" rx_pkts
	stats_check "$gen" "$TEST_TMPDIR/$gen.jsonl" tx "$nq" "$count" $((nq > 1))
	stats_check "$sink" "$TEST_TMPDIR/$sink.jsonl" rx "$nq" "$count" 0
	if [ "$failures" -ne "$failures_before" ]; then
		show_vmm "$gen"
		show_vmm "$sink"
		echo "--- the sink's tap (TX: frames to the sink):"
		nsx ip -s link show "$sinktap" | sed 's/^/    /'
	fi
}

vmm_gen_sink gensink 1 1 2000 "$tap1" "$tap2" ""
if [ "$mq" -eq 1 ]; then
	# 64 flows: the kernel's flow hash leaves no tap queue empty (all but surely).
	vmm_gen_sink multiqueue 4 2 8000 "$tap3" "$tap4" "flows=64"
else
	echo "gen/sink: queues=4 not run (no queues= in this nfv-vmm)"
fi

if [ "$mq" -eq 0 ] && [ "$failures" -eq 0 ]; then
	skip "this nfv-vmm has no --nic virtio,queues=N: the single-queue scenarios passed," \
		"the multiqueue ones did not run"
fi
finish
