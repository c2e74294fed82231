#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The control socket (--api): status, pause (the guest stops making
# progress), resume (it goes on), stats (exit counters by reason, vCPU and
# device), refusals of bad requests that change nothing, and stop. Then
# SIGTERM stops a VM cleanly, and a second VM cannot take a socket in use.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_VMM "nfv-vmm not built"
require_env NFV_TEST_GUEST "test guest not built"
require_root
require_kvm
require_cmd python3

sock=$TEST_TMPDIR/vm.sock

# api JSON-LINE...: send each line on one connection, print each answer.
api()
{
	run_timeout 20 python3 - "$sock" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for req in sys.argv[2:]:
    f.write(req.encode() + b"\n")
    f.flush()
    line = f.readline()
    if not line:
        print("CLOSED")
        break
    sys.stdout.write(line.decode())
PY
}

# field JSON PYEXPR: evaluate an expression over the parsed answer `r`.
field()
{
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

out=$TEST_TMPDIR/spin.out
err=$TEST_TMPDIR/spin.err
"$NFV_VMM" --name apivm --cpus 2 --kernel "$NFV_TEST_GUEST" --cmdline "mode=spin" \
	--api "$sock" </dev/null >"$out" 2>"$err" &
pid=$!
track_pid "$pid"
wait_for_pattern "$out" '^test-guest: tick 1$' 60 || fail "guest never ticked: $(tail -5 "$err")"

r=$(api '{"cmd":"status","id":7}')
echo "status: $r"
[ "$(field "$r" 'r["ok"] and r["result"]["state"]')" = running ] && ok "status: running" || check_fail "status"
[ "$(field "$r" 'r["result"]["name"]')" = apivm ] && ok "status: name" || check_fail "status name"
[ "$(field "$r" 'r["result"]["cpus"]')" = 2 ] && ok "status: 2 cpus" || check_fail "status cpus"
[ "$(field "$r" 'r["id"]')" = 7 ] && ok "status: id echoed" || check_fail "status id"
[ "$(field "$r" 'r["result"]["pid"]')" = "$pid" ] && ok "status: pid" || check_fail "status pid"

r=$(api '{"cmd":"pause"}')
[ "$(field "$r" 'r["result"]["state"]')" = paused ] && ok "pause: paused" || check_fail "pause: $r"
ticks1=$(grep -c '^test-guest: tick' "$out")
sleep 3
ticks2=$(grep -c '^test-guest: tick' "$out")
if [ "$ticks1" -eq "$ticks2" ]; then ok "pause: no progress in 3 s ($ticks1 ticks)"; else check_fail "pause: ticks went from $ticks1 to $ticks2"; fi
r=$(api '{"cmd":"status"}')
[ "$(field "$r" 'r["result"]["state"]')" = paused ] && ok "status: paused" || check_fail "status while paused: $r"
r=$(api '{"cmd":"pause"}')
[ "$(field "$r" 'r["ok"]')" = True ] && ok "pause twice: still paused, ok" || check_fail "pause twice: $r"

r=$(api '{"cmd":"resume"}')
[ "$(field "$r" 'r["result"]["state"]')" = running ] && ok "resume: running" || check_fail "resume: $r"
if wait_for_pattern "$out" "^test-guest: tick $((ticks2 + 1))\$" 30; then
	ok "resume: the guest goes on (tick $((ticks2 + 1)))"
else
	check_fail "resume: no new tick after resume"
fi

r=$(api '{"cmd":"stats"}')
io=$(field "$r" 'r["result"]["exits"]["by_reason"]["io"]')
total=$(field "$r" 'r["result"]["exits"]["total"]')
com1=$(field "$r" '[d["accesses"] for d in r["result"]["devices"]["pio"] if d["name"]=="com1"][0]')
vc=$(field "$r" 'len(r["result"]["vcpus"])')
tx=$(field "$r" 'r["result"]["serial"]["tx_bytes"]')
echo "stats: total=$total io=$io com1=$com1 vcpus=$vc serial_tx=$tx"
[ "$io" -gt 0 ] && [ "$total" -ge "$io" ] && ok "stats: io exits counted" || check_fail "stats io: $r"
[ "$com1" -gt 0 ] && ok "stats: COM1 accesses counted per device" || check_fail "stats com1"
[ "$vc" -eq 2 ] && ok "stats: per-vCPU counters" || check_fail "stats vcpus"
bytes=$(wc -c <"$out")
[ "$tx" -ge $((bytes - 200)) ] && ok "stats: serial tx bytes ($tx) match the console ($bytes)" || check_fail "stats serial $tx vs $bytes"

# Bad requests: refused, the connection stays usable, nothing changes.
r=$(api 'not json' '{"cmd":"status"}')
first=$(echo "$r" | head -1); second=$(echo "$r" | tail -1)
[ "$(field "$first" 'r["ok"]')" = False ] && echo "$first" | grep -q 'invalid JSON' && ok "bad JSON refused: $first" || check_fail "bad JSON: $first"
[ "$(field "$second" 'r["result"]["state"]')" = running ] && ok "bad JSON: connection still serves, VM running" || check_fail "after bad JSON: $second"
r=$(api '{"cmd":"reboot"}')
echo "$r" | grep -q 'unknown command' && ok "unknown command refused: $r" || check_fail "unknown command: $r"
r=$(api '["status"]')
echo "$r" | grep -q '"ok":false' && ok "non-object refused" || check_fail "non-object: $r"
r=$(api "{\"cmd\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}")
echo "$r" | grep -q 'longer than 4096' && ok "overlong request refused" || check_fail "overlong: $r"

# A second VM cannot take the socket.
run_timeout 20 "$NFV_VMM" --kernel "$NFV_TEST_GUEST" --api "$sock" </dev/null >/dev/null 2>"$TEST_TMPDIR/second.err"
st=$?
[ "$st" -eq 2 ] && grep -q 'another process is listening' "$TEST_TMPDIR/second.err" && ok "socket in use refused" || check_fail "second VM on the socket: status $st $(cat "$TEST_TMPDIR/second.err")"

r=$(api '{"cmd":"stop"}')
[ "$(field "$r" 'r["ok"]')" = True ] && ok "stop accepted" || check_fail "stop: $r"
wait_pid "$pid" 20
st=$?
[ "$st" -eq 0 ] && ok "stop: nfv-vmm exited 0" || check_fail "stop: exit status $st"
expect_line "$err" "ended: stopped through the control socket" "stop: reason logged"
[ -e "$sock" ] && check_fail "socket left behind" || ok "socket removed"

# SIGTERM stops a VM cleanly.
"$NFV_VMM" --name termvm --kernel "$NFV_TEST_GUEST" --cmdline "mode=spin" --api "$sock" \
	</dev/null >"$TEST_TMPDIR/term.out" 2>"$TEST_TMPDIR/term.err" &
pid=$!
track_pid "$pid"
wait_for_pattern "$TEST_TMPDIR/term.out" '^test-guest: tick 0$' 60 || check_fail "term VM did not start"
kill -TERM "$pid"
wait_pid "$pid" 20
st=$?
[ "$st" -eq 0 ] && ok "SIGTERM: exit status 0" || check_fail "SIGTERM: exit status $st"
expect_line "$TEST_TMPDIR/term.err" "ended: stopped by Terminated" "SIGTERM: reason logged"

finish
