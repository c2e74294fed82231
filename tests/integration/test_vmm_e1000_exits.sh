#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# How many VM exits a frame costs on nfv-vmm's e1000 path:
#   gen_irq1, gen_irq0  nfguest nf=gen count=N (interrupts / polling), the
#                       frames going to --nic e1000,pcap-out=...
#   sink_irq1           the RX side: the gen capture replayed with pcap-in
#                       into nf=sink count=N
# The control socket's `stats` is read every 200 ms while frames flow; each
# answer holds the exit counters (by reason and by device) and the NIC's
# frame counters, so the difference between two answers gives exits per
# frame while frames flow, without the boot (the whole-run figure, boot
# included, is printed too). Printed, not asserted (no timing assertions):
# the figure goes into docs/nics.md. Checked: every run ends with status 0,
# every frame reached the backend or the sink, and `stats` has the NIC.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_kvm
require_cmd timeout python3
if ! "$NFV_VMM" --help | grep -q -- '--nic e1000,pcap-out'; then
	skip "this nfv-vmm has no pcap backend (built without libpcap)"
fi

count=${EXITS_FRAMES:-5000}
sock=$TEST_TMPDIR/exits.sock

# measure NAME DIR NIC-SPEC CMDLINE: runs nfv-vmm, samples `stats` until it
# ends, prints exits per frame counted in direction DIR (tx or rx).
measure()
{
	local name=$1 dir=$2 nic=$3 append=$4 samples=$TEST_TMPDIR/$1.jsonl st

	failures_before=$failures
	vmm_start "$name" - --api "$sock" --nic "$nic" --cmdline "$append"
	timeout 150 python3 - "$sock" "$vpid" "$samples" <<'PY'
import json, os, socket, sys, time
path, pid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(path)
            s.sendall(b'{"cmd":"stats"}\n')
            line = s.makefile("rb").readline()
            s.close()
            r = json.loads(line)
            if r.get("ok"):
                f.write(json.dumps(r["result"]) + "\n")
                f.flush()
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
PY
	wait_pid "$vpid" 30
	st=$?
	[ "$st" -eq 0 ] && ok "$name: $count frames, exit status 0" ||
		check_fail "$name: exit status $st"
	if python3 - "$samples" "$count" "$name" "$dir" <<'PY'; then
import json, sys
path, count, name, direction = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in open(path) if l.strip()]
if not rows or not rows[-1].get("nics"):
    print("no stats answer with a NIC")
    sys.exit(1)
key = "tx_packets" if direction == "tx" else "rx_packets"

def frames_of(r):
    return r["nics"][0]["netdev_stats"][key]

def dev(r, bus):
    return sum(d["accesses"] for d in r["devices"][bus] if "e1000" in d["name"])

flowing = [r for r in rows if 0 < frames_of(r) < count]
a, b = (flowing[0], flowing[-1]) if len(flowing) >= 2 else (None, rows[-1])
if a is None or frames_of(b) - frames_of(a) < count // 10:
    a, b, what = None, rows[-1], "whole run (boot included)"
else:
    what = f"while frames flow, frames {frames_of(a)}..{frames_of(b)}"

def d(f):
    return f(b) - (f(a) if a else 0)

frames = d(frames_of)
if not frames:
    print("no frame counted")
    sys.exit(1)
exits = d(lambda r: r["exits"]["total"])
reasons = {k: v - (a["exits"]["by_reason"].get(k, 0) if a else 0)
           for k, v in b["exits"]["by_reason"].items()}
m, ma = b["nics"][0]["model"], (a["nics"][0]["model"] if a else {})
tdt = m["tx_tdt_writes"] - ma.get("tx_tdt_writes", 0)
irqs = m["irqs"] - ma.get("irqs", 0)
print(f"{name}, {what}: {frames} frames, {exits} exits: {exits / frames:.3f} exits per frame")
print("  by reason per frame: " + ", ".join(
    f"{k} {v / frames:.3f}" for k, v in sorted(reasons.items()) if v))
print(f"  e1000 register accesses per frame: MMIO {d(lambda r: dev(r, 'mmio')) / frames:.3f}, "
      f"I/O {d(lambda r: dev(r, 'pio')) / frames:.3f}; TDT writes {tdt / frames:.3f}, "
      f"interrupts {irqs / frames:.3f}")
last = rows[-1]
if frames_of(last):
    print(f"  whole run up to the last answer (boot included): {last['exits']['total']} exits "
          f"for {frames_of(last)} frames, {last['exits']['total'] / frames_of(last):.3f} "
          f"per frame")
PY
		ok "$name: exits per frame printed above"
	else
		check_fail "$name: no usable stats"
	fi
	[ "$failures" -eq "$failures_before" ] || show_vmm "$name"
}

for irq in 1 0; do
	measure gen_irq$irq tx "e1000,pcap-out=$TEST_TMPDIR/gen_irq$irq.pcap" \
		"nf=gen count=$count irq=$irq stats=0"
	expect_line "$TEST_TMPDIR/gen_irq$irq.err" "$count frames written to" \
		"gen_irq$irq: the backend took all $count frames"
done

measure sink_irq1 rx "e1000,pcap-in=$TEST_TMPDIR/gen_irq1.pcap" \
	"nf=sink count=$count seconds=100 irq=1 stats=0"
expect_line "$TEST_TMPDIR/sink_irq1.log" \
	"^nfguest: sink done received=$count expected=$count loss=0 " \
	"sink_irq1: the sink counted all $count frames"

finish
