#!/usr/bin/env bash
# systemd readiness (Type=notify): ntsd sends READY=1 (with MAINPID) only
# once it serves, STATUS= with its synchronization state, WATCHDOG=1 at
# half of WATCHDOG_USEC, RELOADING=1/READY=1 around SIGHUP and STOPPING=1
# on exit, through a socket standing in for systemd's.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require python3 "$NTSD"

CAP="$HERE/notify_capture.py"
# capture NAME: starts a receiver at $WORK/NAME.sock logging to $WORK/NAME.log
capture() {
	rm -f "$WORK/$1.sock" "$WORK/$1.log"
	python3 "$CAP" "$WORK/$1.sock" "$WORK/$1.log" 123 &
	PIDS+=("$!")
	for i in $(seq 1 100); do [ -S "$WORK/$1.sock" ] && return 0; sleep 0.05; done
	return 1
}
# wait_msg LOG PATTERN: waits up to 5 s for a line matching PATTERN
wait_msg() {
	for i in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

cat >"$WORK/local.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
CONF

capture a
NOTIFY_SOCKET="$WORK/a.sock" WATCHDOG_USEC=300000 start_ntsd "$WORK/local.conf"
wait_msg "$WORK/a.log" 'READY=1'
ok $? "READY=1 is sent"
grep -q "MAINPID=$NTSD_PID" "$WORK/a.log"
ok $? "READY carries MAINPID=$NTSD_PID"
wait_msg "$WORK/a.log" '^QUERY'
grep -q $'^QUERY\tanswered' "$WORK/a.log"
ok $? "an NTP request sent the moment READY=1 arrives is answered"
wait_msg "$WORK/a.log" 'STATUS=Serving the local clock at stratum 10'
ok $? "STATUS= says it serves the local clock at stratum 10"
sleep 2
n=$(grep -c $'\tWATCHDOG=1$' "$WORK/a.log")
[ "$n" -ge 5 ] && [ "$n" -le 20 ]
ok $? "WATCHDOG=1 about every 150 ms for WATCHDOG_USEC=300000 ($n in about 2 s)"
kill -HUP "$NTSD_PID"
# reload_seen: RELOADING=1 and, after it, READY=1
reload_seen() { awk -F'\t' '$2 == "RELOADING=1" { r = 1 } r && $2 == "READY=1" { f = 1 } END { exit !f }' "$WORK/a.log"; }
for i in $(seq 1 100); do reload_seen && break; sleep 0.05; done
reload_seen
ok $? "SIGHUP: RELOADING=1, then READY=1"
stop_ntsd
grep -q $'\tSTOPPING=1$' "$WORK/a.log"
ok $? "SIGTERM: STOPPING=1 before exit"
sed 's/^/#   /' "$WORK/a.log" | head -8

# Not synchronized: an upstream that never answers.
cat >"$WORK/unsync.conf" <<CONF
server 127.0.0.2 iburst
restrict default kod limited nomodify notrap nopeer noquery
CONF
capture b
NOTIFY_SOCKET="$WORK/b.sock" start_ntsd "$WORK/unsync.conf"
wait_msg "$WORK/b.log" 'STATUS=Not synchronized'
ok $? "STATUS= says ntsd is not synchronized yet"
! grep -q 'WATCHDOG=1' "$WORK/b.log"
ok $? "no WATCHDOG=1 without WATCHDOG_USEC"
stop_ntsd

# Daemon mode: MAINPID is the detached process, as in the pid file.
capture c
NOTIFY_SOCKET="$WORK/c.sock" "$NTSD" -x -c "$WORK/local.conf" -p "$WORK/c.pid" \
	--stats-file "$WORK/stats" >"$WORK/c.out" 2>&1
wait_msg "$WORK/c.log" 'READY=1'
dpid=$(cat "$WORK/c.pid" 2>/dev/null)
[ -n "$dpid" ] && PIDS+=("$dpid")
[ -n "$dpid" ] && grep -q "MAINPID=$dpid" "$WORK/c.log"
ok $? "detached: MAINPID is the daemon's pid ($dpid)"
[ -n "$dpid" ] && kill -TERM "$dpid"

# A bad NOTIFY_SOCKET is a warning, not a failure.
NOTIFY_SOCKET="relative/path" start_ntsd "$WORK/local.conf"
ok $? "ntsd starts with an unusable NOTIFY_SOCKET"
grep -q 'Cannot tell systemd that ntsd is ready' "$NTSD_LOG"
ok $? "and says why it cannot notify"
stop_ntsd

# The shipped unit uses the protocol.
unit="$HERE/../../contrib/systemd/ntsd.service.in"
grep -q '^Type=notify$' "$unit" && grep -q '^NotifyAccess=main$' "$unit"
ok $? "contrib/systemd/ntsd.service uses Type=notify"
