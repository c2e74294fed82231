# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the nfv-switchd tests with vhost-user peers and for its
# command line (test_switch_vhost.sh, test_switch_cli.sh), on top of lib.sh:
#
#   sw_init                     find nfv-switchd and nfv-switchctl ($SWITCHD,
#                               $SWITCHCTL; skip when they are not built)
#   sw_start NAME ARGS...       nfv-switchd ARGS (its options, then -- and EAL
#                               options) with --ctl $TEST_TMPDIR/NAME.ctl, in
#                               network namespace $sw_ns when set (not "-"),
#                               in the background, output in NAME.out; PID in
#                               $sw_pid, socket in $sw_ctl. Returns 0 once it
#                               says "running:" and answers `show`, 1 when it
#                               exited or did not within 30 s
#   sw_stop [GRACE]             SIGTERM by PID (SIGKILL after GRACE s); its
#                               exit status in $sw_status (lib_switchd.sh)
#   swctl ARGS...               nfv-switchctl --ctl $sw_ctl ARGS (bounded)
#   sw_port PORT PYEXPR         PYEXPR over `p`, `port show PORT --json`'s
#                               result; "" without an answer
#   sw_wait_port PORT PYEXPR SECS  until sw_port prints True; 1 after SECS
#   sw_fdb_has MAC PORT         `fdb show br0` has MAC on PORT
#   sw_eal_args PREFIX          EAL options of a switch that shares memory
#                               with virtio-user peers, in $sw_eal
#
# dpdk-testpmd with one net_virtio_user port as the vhost-user server, the
# switch being the client (its default). Several run at once, each known by
# an ID (letters and digits); all are interactive (stdin is a FIFO):
#
#   vtp_init                    hugepages check (virtio-user shares its
#                               memory with the switch: hugepages, one file
#                               per memory list, --in-memory)
#   vtp_start ID SOCK MAC PEER MODE [TESTPMD-ARGS...]  start it in the
#                               background: port MAC, --eth-peer PEER,
#                               --forward-mode MODE, forwarding on lcore 1
#                               (-l 0,1 --main-lcore 0 --nb-cores=1). It
#                               blocks until the switch connects to SOCK.
#                               $vtp_queues (default 1): its queue pairs
#                               (give testpmd --rxq=N --txq=N as well)
#   vtp_ready ID SECS           0 once it forwards (or shows its prompt)
#   vtp_cmd ID CMD...           one command line
#   vtp_stats ID                `show port stats 0`: $vtp_rx $vtp_rxb $vtp_tx
#                               $vtp_txb (packets, bytes); 1 without an answer
#   vtp_stop ID                 stop, quit; then SIGTERM, SIGKILL by PID (a
#                               server port waiting for its client ignores
#                               SIGINT and does not read its stdin)
#   vtp_show ID                 the last lines of its output

_swvh_here=${BASH_SOURCE[0]%/*}
[ "$_swvh_here" != "${BASH_SOURCE[0]}" ] || _swvh_here=.
. "$_swvh_here/lib_switchd.sh"

sw_init()
{
	switchd_find
}

# sw_eal_args PREFIX: --in-memory on hugepages with its own file prefix; the
# runtime directory /var/run/dpdk/PREFIX is removed at exit.
sw_eal_args()
{
	on_exit "rm -rf /var/run/dpdk/$1"
	sw_eal=(--in-memory --file-prefix="$1")
}

sw_start()
{
	local name=$1 shown=

	shift
	sw_ctl=$TEST_TMPDIR/$name.ctl
	sw_out=$TEST_TMPDIR/$name.out
	sw_ns_run=${sw_ns:--}
	[ "$sw_ns_run" = - ] || shown="ip netns exec $sw_ns_run "
	echo "--- ${shown}nfv-switchd --ctl $sw_ctl $*"
	switchd_spawn "$sw_out" "$@"
	switchd_wait "$sw_out"
}

sw_port()
{
	local r

	r=$(swctl --json port show "$1" 2>/dev/null) || return 0
	python3 -c 'import json, sys
p = json.loads(sys.argv[1])["result"]
print(eval(sys.argv[2]))' "$r" "$2" 2>/dev/null
}

sw_wait_port()
{
	local end=$((SECONDS + $3))

	while [ "$SECONDS" -le "$end" ]; do
		[ "$(sw_port "$1" "$2")" = True ] && return 0
		sleep 0.2
	done
	return 1
}

sw_fdb_has()
{
	local mac=${1,,}

	swctl fdb show br0 2>/dev/null | awk -v m="$mac" -v p="$2" \
		'tolower($3) == m && $1 == p { f = 1 } END { exit !f }'
}

# ---- dpdk-testpmd on net_virtio_user, server=1 ----

declare -A _vtp_pid _vtp_fd _vtp_out
_vtp_n=0

vtp_init()
{
	local hp_free hp_kb

	hp_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	hp_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	vtp_huge_mb=$((${hp_free:-0} * ${hp_kb:-0} / 1024))
	echo "hugepages: $vtp_huge_mb MB free"
}

vtp_start()
{
	local id=$1 sock=$2 mac=$3 peer=$4 mode=$5 out fd prefix

	shift 5
	_vtp_n=$((_vtp_n + 1))
	prefix=swvh$$_$id$_vtp_n
	out=$TEST_TMPDIR/tp_$id.$_vtp_n.out
	_vtp_out[$id]=$out
	on_exit "rm -rf /var/run/dpdk/$prefix"
	rm -f "$out.in"
	mkfifo "$out.in" || return 1
	echo "--- testpmd $id: $mode on $sock (server), mac $mac, peer $peer"
	# -l 0,1 --main-lcore 0 --nb-cores=1: the forwarding lcore is 1, the
	# switch polls on 0. One file per memory list: each is one region of
	# the vhost-user memory table, which holds at most 8.
	stdbuf -oL dpdk-testpmd -l 0,1 --main-lcore 0 --in-memory --single-file-segments \
		--file-prefix="$prefix" --no-pci --log-level='*:notice' \
		--vdev "net_virtio_user0,path=$sock,server=1,queues=${vtp_queues:-1},mac=$mac" -- \
		-i -a --nb-cores=1 --forward-mode="$mode" --eth-peer=0,"$peer" \
		--total-num-mbufs=8192 "$@" <"$out.in" >"$out" 2>&1 &
	_vtp_pid[$id]=$!
	track_pid "${_vtp_pid[$id]}"
	exec {fd}>"$out.in"
	_vtp_fd[$id]=$fd
}

vtp_ready()
{
	local id=$1 i

	for ((i = 0; i < $2 * 10; i++)); do
		grep -a -q -E 'Start automatic packet forwarding|^testpmd> ' "${_vtp_out[$id]}" && return 0
		pid_alive "${_vtp_pid[$id]}" || return 1
		sleep 0.1
	done
	return 1
}

vtp_cmd()
{
	local id=$1

	shift
	[ -n "${_vtp_fd[$id]:-}" ] && echo "$*" >&"${_vtp_fd[$id]}"
}

vtp_stats()
{
	local id=$1 out=${_vtp_out[$1]} n i s

	vtp_rx='' vtp_rxb='' vtp_tx='' vtp_txb=''
	n=$(wc -l <"$out")
	vtp_cmd "$id" "show port stats 0" || return 1
	for ((i = 0; i < 50; i++)); do
		s=$(tail -n +$((n + 1)) "$out")
		if grep -q 'Tx-bps' <<<"$s"; then
			read -r vtp_rx vtp_rxb < <(awk '/RX-packets:/ { print $2, $6 }' <<<"$s" | tail -1)
			read -r vtp_tx vtp_txb < <(awk '/TX-packets:/ { print $2, $6 }' <<<"$s" | tail -1)
			[ -n "$vtp_rx" ] && [ -n "$vtp_tx" ] && return 0
			return 1
		fi
		sleep 0.1
	done
	return 1
}

vtp_stop()
{
	local id=$1 pid=${_vtp_pid[$1]:-} i

	[ -n "$pid" ] || return 0
	if pid_alive "$pid"; then
		vtp_cmd "$id" stop
		vtp_cmd "$id" quit
	fi
	[ -z "${_vtp_fd[$id]:-}" ] || eval "exec ${_vtp_fd[$id]}>&-"
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	kill_pid "$pid" 5
	_vtp_pid[$id]=
	_vtp_fd[$id]=
}

vtp_show()
{
	echo "--- testpmd $1 ($(basename "${_vtp_out[$1]}"), last lines):"
	grep -a -v -e '^\s*$' -e 'Throughput\|-pps:\|######' "${_vtp_out[$1]}" 2>/dev/null |
		tail -20 | sed 's/^/    /'
}
