#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The vhost-user relay netdev (vmm/netdev_vhost_user.c) against a
# third-party vhost-user backend: dpdk-testpmd with a net_vhost port that
# connects (client=1) to the relay's socket. vu_relay (vu_relay.c) runs the
# relay without a VM and takes commands on a FIFO.
#
#  (a) the relay sends 1000 frames; testpmd in rxonly mode counts exactly
#      1000 (its forward statistics at exit);
#  (b) testpmd in txonly mode sends; the relay receives frames, every one a
#      well-formed 64-byte IPv4/UDP frame; testpmd is then killed (SIGKILL)
#      and the relay's link goes down;
#  (c) testpmd comes back (rxonly): the link comes up, 100 frames flow;
#  (d) the other role: testpmd's port listens (client=0) and a second
#      relay dials it (--client): link up, 100 frames flow.
#
# Memory: testpmd runs with --in-memory on hugepages when at least 128 MiB
# of them are free, else with --no-huge -m 512 (lib.sh, testpmd_init); the
# relay's own region is a memfd either way. Every run has its own
# --file-prefix, and /var/run/dpdk/<prefix> is removed at the end. testpmd
# is stopped by PID: SIGTERM, then SIGKILL.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
# A relay that died must not kill this script (and leave testpmd behind) on a write to its FIFO.
trap '' PIPE

require_env NFV_BUILD_DIR "run through meson test"
relay_bin=$NFV_BUILD_DIR/tests/integration/vu_relay
[ -x "$relay_bin" ] || skip "vu_relay not built"
require_root
require_cmd dpdk-testpmd timeout mkfifo awk stdbuf
[ "$(nproc)" -ge 2 ] || skip "testpmd needs 2 cores (a main and a forwarding lcore)"

sock=$TEST_TMPDIR/vu.sock
rout=$TEST_TMPDIR/relay.out
testpmd_init "nfvvu$$"

# tp_start MODE OUT [CLIENT [SOCK]]: testpmd forwarding in MODE on a net_vhost
# port that dials the relay (CLIENT 1, the default) or listens (0); returns
# once it forwards (its statistics count from there), 1 if it did not start.
tp_start()
{
	testpmd_start "$2" --vdev "net_vhost0,iface=${4:-$sock},client=${3:-1},queues=1" -- \
		--forward-mode="$1" --stats-period 1 --nb-cores=1 --total-num-mbufs=8192 --no-flush-rx
}

# count FILE REGEX: lines matching.
count()
{
	grep -a -c -E -- "$2" "$1" 2>/dev/null || true
}

# wait_count FILE REGEX N SECS: until at least N lines match.
wait_count()
{
	local i

	for ((i = 0; i < $4 * 10; i++)); do
		[ "$(count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

relay_cmd()
{
	echo "$*" >&3
}

# relay_stats: asks for the counters and prints the answer line.
relay_stats()
{
	local n

	n=$(count "$rout" '^stats ')
	relay_cmd stats
	wait_count "$rout" '^stats ' $((n + 1)) 5 || fail "vu_relay does not answer"
	grep -a '^stats ' "$rout" | tail -1
}

# field LINE NAME: the value of NAME=... in a stats line.
field()
{
	sed -n "s/.* $2=\([0-9a-z]*\).*/\1/p" <<<"$1"
}

dump()
{
	echo "--- vu_relay output"
	cat "$rout"
	for f in "$TEST_TMPDIR"/tp*.out; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (last lines)"
		grep -a -v '^\s*$' "$f" | tail -15
	done
}

# ---- the relay ----
mkfifo "$TEST_TMPDIR/relay.in" || fail "mkfifo"
"$relay_bin" "$sock" <"$TEST_TMPDIR/relay.in" >"$rout" 2>&1 &
relay_pid=$!
track_pid "$relay_pid"
exec 3>"$TEST_TMPDIR/relay.in"
wait_for_pattern "$rout" '^ready ' 10 || { dump; fail "vu_relay did not start"; }
ok "relay listening on its socket (server)"

# ---- (a) relay -> testpmd rxonly ----
tp_start rxonly "$TEST_TMPDIR/tp1.out" || { dump; fail "(a) testpmd did not start forwarding"; }
if ! wait_count "$rout" '^link up$' 1 30; then
	dump
	fail "the link did not come up within 30 s of starting testpmd"
fi
ok "(a) testpmd connected, handshake done: link up"
relay_cmd send 1000
wait_count "$rout" '^sent ' 1 20 || { dump; fail "send 1000 did not finish"; }
line=$(grep -a '^sent ' "$rout" | tail -1)
[ "$(field "$line" ok)" = 1000 ] && ok "(a) relay took 1000 frames ($line)" ||
	check_fail "(a) relay did not take 1000 frames: $line"
wait_for_pattern "$TEST_TMPDIR/tp1.out" 'RX-packets: +1000[^0-9]' 15 ||
	check_fail "(a) testpmd did not report 1000 received frames within 15 s"
testpmd_stop
rx=$(testpmd_last "$TEST_TMPDIR/tp1.out" RX-packets:)
[ "$rx" = 1000 ] && ok "(a) testpmd rxonly counted exactly 1000 frames" ||
	check_fail "(a) testpmd rxonly counted '${rx:-nothing}' frames, expected 1000"
wait_count "$rout" '^link down$' 1 10 && ok "(a) testpmd exited: link down" ||
	check_fail "(a) the link stayed up after testpmd exited"

# ---- (b) testpmd txonly -> relay ----
tp_start txonly "$TEST_TMPDIR/tp2.out" || { dump; fail "(b) testpmd did not start forwarding"; }
wait_count "$rout" '^link up$' 2 30 || { dump; fail "(b) the link did not come up again"; }
ok "(b) testpmd reconnected: link up"
# Bounded: up to 10 s for the first frames, then 2 s more of traffic.
for ((i = 0; i < 100; i++)); do
	line=$(relay_stats)
	[ "$(field "$line" rx)" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
sleep 2
line=$(relay_stats)
rx=$(field "$line" rx)
echo "relay after txonly: $line"
if [ "${rx:-0}" -gt 0 ]; then
	ok "(b) relay received $rx frames from testpmd txonly"
else
	check_fail "(b) relay received no frame from testpmd txonly"
fi
[ "$(field "$line" rx_bad)" = 0 ] && [ "$(field "$line" rx_ok)" = "$rx" ] &&
	ok "(b) every frame is a well-formed IPv4/UDP frame" ||
	check_fail "(b) malformed frames: $line"
[ "$(field "$line" rx_bytes)" = $((rx * 64)) ] && ok "(b) every frame is 64 bytes" ||
	check_fail "(b) frames are not all 64 bytes: $line"
[ "$(field "$line" backend_errors)" = 0 ] || check_fail "(b) backend errors: $line"
# A crash, not an exit: the kernel closes the socket.
testpmd_crash
wait_count "$rout" '^link down$' 2 10 && ok "(b) testpmd killed (SIGKILL): link down" ||
	check_fail "(b) the link stayed up after testpmd was killed"
line=$(relay_stats)
relay_cmd send 5
wait_count "$rout" '^sent ' 2 10 || fail "send 5 did not finish"
line=$(relay_stats)
[ "$(field "$line" tx_no_link)" = 5 ] && ok "(b) frames sent without a backend are counted (tx_no_link 5)" ||
	check_fail "(b) tx_no_link: $line"

# ---- (c) testpmd back ----
tp_start rxonly "$TEST_TMPDIR/tp3.out" || { dump; fail "(c) testpmd did not start forwarding"; }
wait_count "$rout" '^link up$' 3 30 || { dump; fail "(c) the link did not come up again"; }
ok "(c) testpmd started again: link up"
relay_cmd send 100
wait_count "$rout" '^sent ' 3 20 || { dump; fail "(c) send 100 did not finish"; }
wait_for_pattern "$TEST_TMPDIR/tp3.out" 'RX-packets: +100[^0-9]' 15 ||
	check_fail "(c) testpmd did not report 100 received frames within 15 s"
testpmd_stop
rx=$(testpmd_last "$TEST_TMPDIR/tp3.out" RX-packets:)
[ "$rx" = 100 ] && ok "(c) frames flow again: testpmd counted 100" ||
	check_fail "(c) testpmd counted '${rx:-nothing}' frames, expected 100"
wait_count "$rout" '^link down$' 3 10 || check_fail "(c) the link stayed up after testpmd exited"
line=$(relay_stats)
echo "relay at the end: $line"
[ "$(field "$line" connects)" = 3 ] && [ "$(field "$line" disconnects)" = 3 ] &&
	ok "(c) three sessions, three disconnections" || check_fail "(c) sessions: $line"
[ "$(field "$line" backend_errors)" = 0 ] && ok "no backend errors with testpmd" ||
	check_fail "backend errors: $line"

relay_cmd quit
exec 3>&-
st=0
wait_pid "$relay_pid" 10 || st=$?
[ "$st" = 0 ] && ok "vu_relay exited cleanly" || check_fail "vu_relay exit status $st"
[ -e "$sock" ] && check_fail "the relay left its socket behind" || ok "socket removed"

# ---- (d) the relay dials testpmd's listening port ----
sock2=$TEST_TMPDIR/vu-server.sock
rout=$TEST_TMPDIR/relay2.out
tp_start rxonly "$TEST_TMPDIR/tp4.out" 0 "$sock2" || { dump; fail "(d) testpmd did not start forwarding"; }
for ((i = 0; i < 300; i++)); do
	[ -S "$sock2" ] && break
	sleep 0.1
done
[ -S "$sock2" ] || { dump; fail "(d) testpmd did not create its socket within 30 s"; }
mkfifo "$TEST_TMPDIR/relay2.in" || fail "mkfifo"
"$relay_bin" --client "$sock2" <"$TEST_TMPDIR/relay2.in" >"$rout" 2>&1 &
relay_pid=$!
track_pid "$relay_pid"
exec 3>"$TEST_TMPDIR/relay2.in"
wait_count "$rout" '^link up$' 1 30 || { dump; fail "(d) the client relay's link did not come up"; }
ok "(d) relay as client: link up"
relay_cmd send 100
wait_count "$rout" '^sent ' 1 20 || { dump; fail "(d) send 100 did not finish"; }
wait_for_pattern "$TEST_TMPDIR/tp4.out" 'RX-packets: +100[^0-9]' 15 ||
	check_fail "(d) testpmd did not report 100 received frames within 15 s"
relay_cmd quit
exec 3>&-
st=0
wait_pid "$relay_pid" 10 || st=$?
[ "$st" = 0 ] || check_fail "(d) vu_relay exit status $st"
testpmd_stop
rx=$(testpmd_last "$TEST_TMPDIR/tp4.out" RX-packets:)
[ "$rx" = 100 ] && ok "(d) testpmd counted 100 frames from the client relay" ||
	check_fail "(d) testpmd counted '${rx:-nothing}' frames, expected 100"
[ "$failures" -eq 0 ] || dump
finish
