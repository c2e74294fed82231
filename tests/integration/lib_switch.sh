# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the nfv-switchd integration tests (bash), on top of lib.sh.
# Source it first (it sources lib.sh):
#
#   . "$(dirname "$0")/lib_switch.sh"
#   sw_init                   checks (root, tools, built switch) or skips
#
# The switch attaches af_packet ports to the root-namespace ends of veth
# pairs whose other ends (named eth0) live in network namespaces of the
# test; swpkt.py, run in those namespaces, sends and captures exact frames.
#
# Provides:
#   sw_init                   skip unless root, ip, timeout, python3, jq and the
#                             built nfv-switchd / nfv-switchctl are there
#   sw_host NAME [MTU]        namespace $sw_ns-NAME with eth0, veth peer
#                             $(sw_if NAME) in the root namespace; removed at exit
#   sw_if NAME                the root-namespace interface of host NAME
#   sw_start OUT ARGS...      nfv-switchd ARGS --ctl <private socket>, EAL
#                             prefix swit$$, in the background ($sw_pid) under
#                             a hard timeout; 0 once its control socket answers
#   sw_stop                   SIGTERM (SIGKILL after 10 s) by PID; $sw_status
#   swctl ARGS...             nfv-switchctl --ctl <socket> ARGS (bounded)
#   swjson ARGS...            the same with --json: the answer line
#   sw_port_stat PORT JQ      a jq expression on port-show's result (".stats.rx_packets")
#   sw_fdb_port BRIDGE MAC [VLAN]  the port the FDB holds MAC on ("" if none)
#   sw_fdb_total BRIDGE       entries in the bridge's FDB
#   cap_start VAR HOST ARGS...     swpkt.py capture on HOST's eth0 in the
#                             background, its output file in $VAR (the next
#                             pkt_send or cap_wait waits until it is bound)
#   cap_ready                 wait until the captures started so far are bound
#   cap_wait FILE...          tell those captures to stop (they linger 0.5 s
#                             for frames still on their way) and wait (bounded)
#   cap_get FILE JQ           a jq expression on the capture's JSON
#   cap_expect FILE JQ WANT DESC   ok when the capture's JQ value is WANT, else check_fail
#   sw_expect PORT JQ WANT DESC    the same on port-show's result
#   pkt_send HOST ARGS...     swpkt.py send on HOST's eth0 (bounded)
#
# The switch's polling thread spins on a core: tests keep their own work
# light and never leave the switch running (it is stopped at exit, and its
# hard timeout, $SW_TIMEOUT seconds, default 240, ends it in any case).

_sw_here=${BASH_SOURCE[0]%/*}
[ "$_sw_here" != "${BASH_SOURCE[0]}" ] || _sw_here=.
. "$_sw_here/lib.sh"
. "$_sw_here/lib_switchd.sh"

SWPKT=$_sw_here/swpkt.py
sw_ns=nfvsw$$
sw_prefix=swit$$
sw_mem=()
_sw_caps=0
_sw_hosts=()
_sw_starting=()

sw_init()
{
	require_env NFV_BUILD_DIR "run through meson test"
	switchd_find
	require_root
	require_cmd ip timeout python3 jq
	[ -f "$SWPKT" ] || skip "swpkt.py not found"
	# The interpreter itself, not a wrapper script in front of it: it
	# starts for every capture and every send.
	SW_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	[ -x "$SW_PYTHON" ] || SW_PYTHON=$(command -v python3)
	"$SW_PYTHON" -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()' \
		2>/dev/null || skip "no AF_PACKET sockets"
	sw_ctl=$TEST_TMPDIR/switchd.sock
	# Run in reverse order at exit: the switch first, then the hosts.
	on_exit "rm -rf /var/run/dpdk/$sw_prefix"
	on_exit "_sw_del_hosts"
	on_exit "sw_stop"
	_sw_pick_mem
}

# EAL memory: hugepages (in memory: no files left behind) when at least
# 256 MB are free, else --no-huge (NFV_TEST_NO_HUGE=1 forces it).
_sw_pick_mem()
{
	local hp_free hp_kb

	hp_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	hp_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	if [ -z "${NFV_TEST_NO_HUGE:-}" ] &&
		[ $((${hp_free:-0} * ${hp_kb:-0})) -ge $((256 * 1024)) ]; then
		sw_mem=(--in-memory)
		echo "switch memory: hugepages (--in-memory), $hp_free free"
	else
		sw_mem=(--no-huge -m 1024 --no-shconf)
		echo "switch memory: --no-huge -m 1024 (hugepages: ${hp_free:-0} free)"
	fi
}

sw_if()
{
	echo "sw$$$1"
}

# sw_host NAME [MTU]: a namespace with eth0, its veth peer in the root
# namespace (IPv6 off on both ends: nothing but the test's frames).
sw_host()
{
	local name=$1 mtu=${2:-1500} ns=$sw_ns-$1 rif

	rif=$(sw_if "$name")
	ip netns add "$ns" || skip "cannot create a network namespace"
	_sw_hosts+=("$name")
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip link add "$rif" type veth peer name "h$$$name" || fail "cannot create veth $rif"
	sysctl -q -w "net.ipv6.conf.$rif.disable_ipv6=1" 2>/dev/null
	ip link set "h$$$name" netns "$ns" || fail "cannot move h$$$name into $ns"
	ip netns exec "$ns" ip link set "h$$$name" name eth0 || fail "cannot rename to eth0 in $ns"
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=1 2>/dev/null
	ip link set "$rif" mtu "$mtu" || fail "cannot set MTU $mtu on $rif"
	ip netns exec "$ns" ip link set eth0 mtu "$mtu" || fail "cannot set MTU $mtu in $ns"
	ip link set "$rif" up || fail "cannot bring $rif up"
	ip netns exec "$ns" ip link set eth0 up || fail "cannot bring eth0 up in $ns"
	ip netns exec "$ns" ip link set lo up
}

_sw_del_hosts()
{
	local h

	for h in "${_sw_hosts[@]}"; do
		ip link del "$(sw_if "$h")" 2>/dev/null
		ip netns del "$sw_ns-$h" 2>/dev/null
	done
	_sw_hosts=()
	return 0
}

_sw_launch()
{
	local out=$1

	shift
	switchd_spawn "$out" "$@" -- --file-prefix="$sw_prefix" "${sw_mem[@]}"
}

# sw_start OUT ARGS...: 0 once `show` answers; 1 when the switch died or did
# not answer within 30 s (its output is shown, it is stopped). A switch that
# could not get its memory from hugepages is tried again with --no-huge.
sw_start()
{
	local out=$1

	shift
	_sw_launch "$out" "$@"
	switchd_wait "$out" && return 0
	if [ -z "$sw_pid" ] && [ "${sw_mem[0]}" = --in-memory ] &&
		grep -q -E 'EAL did not start|cannot allocate .* mbufs|no memory' "$out"; then
		sw_mem=(--no-huge -m 1024 --no-shconf)
		echo "switch memory: falling back to --no-huge -m 1024"
		_sw_launch "$out" "$@"
		switchd_wait "$out" && return 0
	fi
	return 1
}

swjson()
{
	swctl --json "$@"
}

sw_port_stat()
{
	swjson port show "$1" | jq -c -r ".result | $2"
}

sw_fdb_port()
{
	local bridge=$1 mac=$2 vlan=${3:-0}

	swjson fdb show "$bridge" |
		jq -r --arg m "$mac" --argjson v "$vlan" \
			'[.result.entries[] | select(.mac == $m and .vlan == $v) | .port] | .[0] // ""'
}

sw_fdb_total()
{
	swjson fdb show "$1" | jq -r '.result.total'
}

# cap_start VAR HOST ARGS...: ARGS are swpkt.py capture options (filters;
# --duration, at most 30 s by default). The output file's name goes into
# the variable VAR. Captures start side by side: the next pkt_send or
# cap_wait waits until each has its socket bound.
cap_start()
{
	local var=$1 host=$2 out

	shift 2
	_sw_caps=$((_sw_caps + 1))
	out=$TEST_TMPDIR/cap$_sw_caps.$host.json
	rm -f "$out.ready" "$out.stop"
	timeout --kill-after=5 60 ip netns exec "$sw_ns-$host" "$SW_PYTHON" "$SWPKT" capture eth0 \
		--duration 30 --ready "$out.ready" --stop "$out.stop" "$@" >"$out" 2>"$out.err" &
	echo "$!" >"$out.pid"
	track_pid "$!"
	printf -v "$var" '%s' "$out"
	_sw_starting+=("$out")
}

# cap_ready: waits (at most 10 s each) until the captures started since
# the last call are bound (before sending from a background job).
cap_ready()
{
	local out pid i

	for out in "${_sw_starting[@]}"; do
		pid=$(cat "$out.pid")
		for ((i = 0; i < 100; i++)); do
			[ -f "$out.ready" ] && break
			pid_alive "$pid" || break
			sleep 0.1
		done
		[ -f "$out.ready" ] ||
			check_fail "capture $(basename "$out") did not start: $(head -c 300 "$out.err")"
	done
	_sw_starting=()
	return 0
}

cap_wait()
{
	local out pid st

	cap_ready
	for out in "$@"; do
		touch "$out.stop"
	done
	for out in "$@"; do
		pid=$(cat "$out.pid")
		wait_pid "$pid" 70
		st=$?
		if [ "$st" -ne 0 ]; then
			check_fail "capture $(basename "$out") ended with status $st: $(head -c 300 "$out.err")"
			echo '{"count": -1}' >"$out"
		fi
	done
	return 0
}

cap_get()
{
	jq -r "$2" "$1"
}

pkt_send()
{
	local host=$1

	shift
	cap_ready
	run_timeout 60 ip netns exec "$sw_ns-$host" "$SW_PYTHON" "$SWPKT" send eth0 "$@"
}

# cap_expect FILE JQ WANT DESC: ok when the jq expression on the capture's
# JSON gives WANT, else a (non-fatal) failure showing what it gave.
cap_expect()
{
	local file=$1 expr=$2 want=$3 desc=$4 got

	got=$(jq -c -r "$expr" "$file" 2>/dev/null)
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		check_fail "$desc: $expr is '$got', expected '$want'"
	fi
}

# sw_expect PORT JQ WANT DESC: the same on port-show's result.
sw_expect()
{
	local port=$1 expr=$2 want=$3 desc=$4 got

	got=$(sw_port_stat "$port" "$expr")
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		check_fail "$desc: port $port $expr is '$got', expected '$want'"
	fi
}
