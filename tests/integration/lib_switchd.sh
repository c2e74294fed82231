# SPDX-License-Identifier: BSD-3-Clause
#
# The nfv-switchd process of an integration test, shared by lib_switch.sh
# (veth/af_packet tests) and lib_switch_vhost.sh (vhost-user peers, the
# command line). Source lib.sh first.
#
#   switchd_find              $SWITCHD and $SWITCHCTL (NFV_SWITCHD,
#                             NFV_SWITCHCTL or the build directory), or skip
#   switchd_spawn OUT ARGS... nfv-switchd --ctl $sw_ctl ARGS in the
#                             background under a hard timeout ($SW_TIMEOUT
#                             seconds, default 240), inside network
#                             namespace $sw_ns_run when set; output in OUT,
#                             PID in $sw_pid (tracked: stopped at exit)
#   switchd_wait OUT          0 once `show` answers on $sw_ctl; 1 when the
#                             switch exited (status in $sw_status) or did
#                             not answer within 30 s (its output is shown)
#   sw_stop [GRACE]           SIGTERM by PID, SIGKILL after GRACE seconds
#                             (default 10); the exit status in $sw_status
#                             (143/137 when killed, 124 when the hard
#                             timeout ended it)
#   swctl ARGS...             nfv-switchctl --ctl $sw_ctl ARGS, bounded

sw_pid=
sw_status=
sw_ctl=
sw_ns_run=

switchd_find()
{
	SWITCHD=${NFV_SWITCHD:-${NFV_BUILD_DIR:-}/vswitch/nfv-switchd}
	SWITCHCTL=${NFV_SWITCHCTL:-${NFV_BUILD_DIR:-}/vswitch/nfv-switchctl}
	[ -x "$SWITCHD" ] || skip "nfv-switchd not built ($SWITCHD; needs libdpdk-dev, libyaml-dev, libpcap-dev)"
	[ -x "$SWITCHCTL" ] || skip "nfv-switchctl not built ($SWITCHCTL; needs libjansson-dev)"
}

switchd_spawn()
{
	local out=$1 ns=()

	shift
	[ -n "$sw_ns_run" ] && [ "$sw_ns_run" != - ] && ns=(ip netns exec "$sw_ns_run")
	sw_status=
	# timeout itself (exec'd by ip netns exec, if any) is the background
	# job, so that $! is the process that passes SIGTERM on to the switch.
	"${ns[@]}" timeout --kill-after=5 "${SW_TIMEOUT:-240}" "$SWITCHD" --ctl "$sw_ctl" "$@" \
		</dev/null >"$out" 2>&1 &
	sw_pid=$!
	track_pid "$sw_pid"
}

switchd_wait()
{
	local out=$1 i

	for ((i = 0; i < 300; i++)); do
		if ! pid_alive "$sw_pid"; then
			wait "$sw_pid" 2>/dev/null
			sw_status=$?
			echo "nfv-switchd exited with status $sw_status:"
			tail -n 15 "$out" | sed 's/^/    /'
			sw_pid=
			return 1
		fi
		[ -S "$sw_ctl" ] && swctl show >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "nfv-switchd did not answer within 30 s:"
	tail -n 15 "$out" | sed 's/^/    /'
	sw_stop 5
	return 1
}

sw_stop()
{
	local grace=${1:-10} i

	[ -n "$sw_pid" ] || return 0
	if pid_alive "$sw_pid"; then
		kill -TERM "$sw_pid" 2>/dev/null
		for ((i = 0; i < grace * 10; i++)); do
			pid_alive "$sw_pid" || break
			sleep 0.1
		done
		pid_alive "$sw_pid" && kill -KILL "$sw_pid" 2>/dev/null
	fi
	wait "$sw_pid" 2>/dev/null
	sw_status=$?
	sw_pid=
	return 0
}

swctl()
{
	run_timeout 20 "$SWITCHCTL" --ctl "$sw_ctl" --timeout 10 "$@"
}
