# Shared helpers for integration tests. Each test script sources this file,
# then calls `in_private_netns "$@"` first: the script re-executes itself in
# a new network namespace that has only loopback, so port 123 is free and no
# packet can leave the machine. Output is TAP; a missing peer program is a
# failure, never a skip.
set -u

: "${NTSD_BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}"
NTSD="$NTSD_BUILD/ntsd/ntsd"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYCLIENT="$HERE/ntpclient.py"
TAP_N=0
TAP_FAILED=0
PIDS=()
WORK=""

in_private_netns() {
	if [ "${NTSD_IN_NETNS:-}" != 1 ]; then
		export NTSD_IN_NETNS=1
		exec unshare --net -- "$0" "$@"
	fi
	ip link set lo up
	# Extra loopback addresses for multi-client tests (lo only).
	ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
	WORK=$(mktemp -d /tmp/ntsd-it.XXXXXX)
	# An EXIT trap's own status is not the script's: exit with it.
	trap 'cleanup; exit $?' EXIT
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

ok() { # ok COND-STATUS DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $2"
	fi
}

diag() { echo "# $*"; }

# check DESCRIPTION COMMAND...: runs the command, ok if it exits 0.
check() {
	local what=$1
	shift
	"$@" >"$WORK/check.out" 2>&1
	local rc=$?
	ok $rc "$what"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/check.out" | head -20
	return $rc
}

require() { # require PROGRAM...: fails the test (not skip) when missing
	local p
	for p in "$@"; do
		if ! command -v "$p" >/dev/null 2>&1 && [ ! -x "$p" ]; then
			ok 1 "required program '$p' is installed (run tests/run.sh, which installs peers)"
			exit 1
		fi
	done
}

# start_ntsd CONF [ARGS...]: starts ntsd in the foreground in the background;
# waits until it serves. Sets NTSD_PID and NTSD_LOG.
start_ntsd() {
	local conf=$1
	shift
	NTSD_LOG="$WORK/ntsd.$RANDOM.log"
	"$NTSD" -n -x -c "$conf" --stats-file "$WORK/stats" "$@" >"$NTSD_LOG" 2>&1 &
	NTSD_PID=$!
	PIDS+=("$NTSD_PID")
	local i
	for i in $(seq 1 100); do
		if grep -q "serving NTP" "$NTSD_LOG" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$NTSD_PID" 2>/dev/null; then
			diag "ntsd exited:"; sed 's/^/#   /' "$NTSD_LOG"
			return 1
		fi
		sleep 0.05
	done
	diag "ntsd did not start:"; sed 's/^/#   /' "$NTSD_LOG"
	return 1
}

stop_ntsd() {
	kill -TERM "$NTSD_PID" 2>/dev/null
	wait "$NTSD_PID" 2>/dev/null
	local rc=$?
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$NTSD_PID" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
	return $rc
}

# stat_of NAME: a counter from ntsd (after SIGUSR1).
stat_of() {
	rm -f "$WORK/stats"
	kill -USR1 "$NTSD_PID"
	local i
	for i in $(seq 1 60); do
		[ -f "$WORK/stats" ] && break
		sleep 0.05
	done
	awk -v n="$1" '$1 == n { print $2 }' "$WORK/stats"
}

# json_get FILE KEY: a top-level value from ntpdig -j output.
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$1" "$2"
}

# abs_lt X LIMIT: |X| < LIMIT (floating point).
abs_lt() {
	python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1])) < float(sys.argv[2]) else 1)' "$1" "$2"
}
