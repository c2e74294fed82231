# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the integration tests (bash). Source it first:
#
#   . "$(dirname "$0")/lib.sh"
#
# Conventions: a test prints what it checks, exits 0 on success, 1 on
# failure, and 77 after printing "SKIP: <reason>" when the host lacks
# something (root, /dev/kvm, a tool, a built artefact). Every command that
# could hang runs under a timeout. Processes are stopped by PID only, never
# by name.
#
# Provides:
#   skip REASON...            print "SKIP: REASON", exit 77
#   fail MSG...               print "FAIL: MSG", exit 1 (cleanup runs)
#   ok MSG...                 print "ok: MSG"
#   check_fail MSG...         print "FAIL: MSG", count it in $failures, go on
#   finish                    exit 1 if any check_fail happened, else 0
#   require_root / require_kvm / require_cmd CMD... / require_env VAR [WHY]
#   run_timeout SECS CMD...   run CMD, killed after SECS (status 124)
#   TEST_TMPDIR               a private temp dir, removed on exit
#   on_exit CMD...            run CMD at exit (in reverse order of adding)
#   track_pid PID             stop PID at exit if still running
#   pid_alive PID
#   kill_pid PID [GRACE]      SIGTERM, then SIGKILL after GRACE s (default 5)
#   wait_pid PID SECS         wait for PID to exit; its status, or 124
#   wait_for_pattern FILE REGEX SECS   poll FILE until a line matches
#   expect_line FILE REGEX [DESC]      check_fail unless FILE has a match
#
# dpdk-testpmd as a peer (one instance at a time, see "dpdk-testpmd" below):
#   testpmd_init PREFIX       pick its EAL memory; /var/run/dpdk/PREFIX goes at exit
#   testpmd_start OUT ARGS... start it in the background ($tp_pid), wait until it forwards
#   testpmd_cmd CMD...        one command to an interactive (-i) testpmd
#   testpmd_stop              stop it (interactive: stop, quit), then by PID
#   testpmd_crash             SIGKILL, as a crash
#   testpmd_last OUT FIELD    the last value printed after FIELD ("RX-packets:")
#   testpmd_port OUT PORT FIELD  FIELD of PORT in the last forward statistics
#   testpmd_show OUT          print the last lines of testpmd's output

failures=0
_lib_exit_cmds=()
_lib_pids=()

skip()
{
	echo "SKIP: $*"
	exit 77
}

fail()
{
	echo "FAIL: $*"
	exit 1
}

ok()
{
	echo "ok: $*"
}

check_fail()
{
	echo "FAIL: $*"
	failures=$((failures + 1))
}

finish()
{
	if [ "$failures" -ne 0 ]; then
		echo "result: FAIL ($failures failed checks)"
		exit 1
	fi
	echo "result: PASS"
	exit 0
}

require_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

require_kvm()
{
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not accessible"
}

require_cmd()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not found"
	done
}

# require_env VAR [WHY]: skip unless the environment variable is set and
# not empty.
require_env()
{
	local var=$1 why=${2:-}

	if [ -z "${!var:-}" ]; then
		skip "$var is not set${why:+ ($why)}"
	fi
}

# run_timeout SECS CMD...: SIGTERM after SECS, SIGKILL 5 s later.
run_timeout()
{
	local secs=$1

	shift
	timeout --kill-after=5 "$secs" "$@"
}

on_exit()
{
	_lib_exit_cmds+=("$*")
}

track_pid()
{
	_lib_pids+=("$1")
}

pid_alive()
{
	kill -0 "$1" 2>/dev/null
}

# kill_pid PID [GRACE]: stop one process by its PID.
kill_pid()
{
	local pid=$1 grace=${2:-5} i

	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < grace * 10; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	if pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	# Reap it when it is our child; ignore the status.
	wait "$pid" 2>/dev/null
	return 0
}

# wait_pid PID SECS: wait for a child of this shell to exit and return its
# exit status, or 124 when it is still running after SECS.
wait_pid()
{
	local pid=$1 secs=$2 i

	for ((i = 0; i < secs * 10; i++)); do
		if ! pid_alive "$pid"; then
			wait "$pid" 2>/dev/null
			return $?
		fi
		sleep 0.1
	done
	return 124
}

# wait_for_pattern FILE REGEX SECS: 0 once a line of FILE matches the
# extended regex, 1 after SECS.
wait_for_pattern()
{
	local file=$1 re=$2 secs=$3 i

	for ((i = 0; i < secs * 10; i++)); do
		if [ -f "$file" ] && grep -a -q -E -- "$re" "$file"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# expect_line FILE REGEX [DESC]: report ok or a (non-fatal) failure.
expect_line()
{
	local file=$1 re=$2 desc=${3:-"output matches /$2/"}

	if grep -a -q -E -- "$re" "$file"; then
		ok "$desc"
	else
		check_fail "$desc (no line matching /$re/ in $(basename "$file"))"
	fi
}

# ---- dpdk-testpmd ----
#
# testpmd_init PREFIX: every testpmd of the test runs with --file-prefix
# PREFIX (unique: carry $$) and EAL memory options in $tp_mem: --in-memory
# on hugepages when at least 128 MiB of them are free, else --no-huge -m 512
# (EAL refuses --in-memory without hugepages; NFV_TEST_NO_HUGE=1 forces this
# way). testpmd leaves /var/run/dpdk/PREFIX behind even on a clean exit: it
# is removed at exit.
testpmd_init()
{
	local hp_free hp_kb

	tp_prefix=$1
	tp_pid=
	tp_fd=
	on_exit "rm -rf /var/run/dpdk/$tp_prefix"
	hp_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	hp_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	if [ -z "${NFV_TEST_NO_HUGE:-}" ] && [ $((${hp_free:-0} * ${hp_kb:-0})) -ge $((128 * 1024)) ]; then
		tp_mem=(--in-memory)
		echo "testpmd memory: hugepages (--in-memory), $hp_free free"
	else
		tp_mem=(--no-huge -m 512)
		echo "testpmd memory: --no-huge -m 512 (hugepages: ${hp_free:-0} free)"
	fi
}

# _testpmd_launch OUT ARGS...: one start, PID in $tp_pid.
_testpmd_launch()
{
	local out=$1 interactive=0 a

	shift
	for a in "$@"; do
		[ "$a" = -i ] || [ "$a" = --interactive ] && interactive=1
	done
	if [ "$interactive" -eq 1 ]; then
		rm -f "$out.in"
		mkfifo "$out.in" || return 1
		stdbuf -oL dpdk-testpmd -l 0-1 "${tp_mem[@]}" --file-prefix="$tp_prefix" --no-pci "$@" \
			<"$out.in" >"$out" 2>&1 &
		tp_pid=$!
		# Opens once testpmd's side has: a writer that stays until testpmd_stop.
		exec {tp_fd}>"$out.in"
	else
		stdbuf -oL dpdk-testpmd -l 0-1 "${tp_mem[@]}" --file-prefix="$tp_prefix" --no-pci "$@" \
			</dev/null >"$out" 2>&1 &
		tp_pid=$!
	fi
	track_pid "$tp_pid"
}

# testpmd_start OUT ARGS...: dpdk-testpmd -l 0-1 (a main and one forwarding
# lcore) <memory> --file-prefix=PREFIX --no-pci ARGS (the rest of the EAL
# options, e.g. --vdev, then -- and testpmd's), stdout line-buffered into
# OUT, in the background; its PID in $tp_pid. With -i among ARGS its stdin
# is a FIFO (OUT.in) that testpmd_cmd writes; give -a too for forwarding to
# start at once. Without -i, give --stats-period (testpmd otherwise ends at
# the first read from its stdin, /dev/null). Returns 0 once testpmd forwards
# (its forward statistics count from there; with --no-flush-rx it keeps
# what a port queued earlier) or shows its prompt; when it died on
# hugepages, it is started once more without them. 1 when it did not start
# within 30 s (still running: stopped).
testpmd_start()
{
	local out=$1 re='start packet forwarding|Start automatic packet forwarding|^testpmd> ' i

	shift
	_testpmd_launch "$out" "$@" || return 1
	for ((i = 0; i < 300; i++)); do
		grep -a -q -E -- "$re" "$out" 2>/dev/null && return 0
		if ! pid_alive "$tp_pid"; then
			wait "$tp_pid" 2>/dev/null
			[ -z "$tp_fd" ] || exec {tp_fd}>&-
			tp_fd=
			[ "${tp_mem[0]}" = --in-memory ] || break
			# Hugepages that the EAL cannot use after all (no usable mount, ...).
			echo "testpmd failed on hugepages: $(grep -a -m1 -i -E 'cause|error' "$out")"
			echo "testpmd memory: falling back to --no-huge -m 512"
			tp_mem=(--no-huge -m 512)
			_testpmd_launch "$out" "$@" || return 1
		fi
		sleep 0.1
	done
	echo "testpmd did not start forwarding within 30 s:"
	grep -a -v '^\s*$' "$out" 2>/dev/null | tail -10 | sed 's/^/    /'
	testpmd_stop
	return 1
}

# testpmd_cmd CMD...: one line to an interactive testpmd.
testpmd_cmd()
{
	[ -n "$tp_fd" ] && echo "$*" >&"$tp_fd"
}

# testpmd_stop: an interactive testpmd is told to stop forwarding (it prints
# its forward statistics, per stream too) and to quit; then, or at once
# without -i, SIGTERM and SIGKILL after 10 s, by PID.
testpmd_stop()
{
	local i

	[ -n "$tp_pid" ] || return 0
	if [ -n "$tp_fd" ]; then
		if pid_alive "$tp_pid"; then
			testpmd_cmd stop
			testpmd_cmd quit
		fi
		exec {tp_fd}>&-
		tp_fd=
		for ((i = 0; i < 100; i++)); do
			pid_alive "$tp_pid" || break
			sleep 0.1
		done
	fi
	kill_pid "$tp_pid" 10
	tp_pid=
}

# testpmd_crash: SIGKILL; the kernel closes its sockets.
testpmd_crash()
{
	[ -n "$tp_pid" ] || return 0
	kill -KILL "$tp_pid" 2>/dev/null
	wait "$tp_pid" 2>/dev/null
	[ -z "$tp_fd" ] || exec {tp_fd}>&-
	tp_fd=
	tp_pid=
}

# testpmd_last OUT FIELD: the last value that testpmd printed after FIELD
# ("RX-packets:") in OUT.
testpmd_last()
{
	grep -a -- "$2" "$1" | tail -1 |
		awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

# testpmd_port OUT PORT FIELD: FIELD ("RX-packets:") of PORT in testpmd's
# last forward statistics (printed by testpmd_stop).
testpmd_port()
{
	awk -v p="$2" -v f="$3" '
		$0 ~ "Forward statistics for port " p " " { n = 2; v = ""; next }
		n > 0 { n--; for (i = 1; i < NF; i++) if ($i == f) v = $(i + 1) }
		END { print v }' "$1"
}

# testpmd_show OUT: the last lines of testpmd's output, without the
# periodic statistics' noise.
testpmd_show()
{
	echo "--- testpmd $(basename "$1") (last lines):"
	grep -a -v -e '^\s*$' -e 'NIC statistics\|Throughput\|-pps:\|######' "$1" 2>/dev/null |
		tail -25 | sed 's/^/    /'
}

_lib_cleanup()
{
	local i pid

	for ((i = ${#_lib_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_lib_exit_cmds[i]}" || true
	done
	for pid in "${_lib_pids[@]}"; do
		kill_pid "$pid" 2
	done
	if [ -n "${TEST_TMPDIR:-}" ] && [ -d "$TEST_TMPDIR" ]; then
		rm -rf -- "$TEST_TMPDIR"
	fi
}

TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/nfv-test.XXXXXX") ||
	fail "cannot create a temporary directory"
trap _lib_cleanup EXIT
trap 'exit 1' INT TERM
