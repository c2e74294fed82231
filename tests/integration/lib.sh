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
