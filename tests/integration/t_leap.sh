#!/usr/bin/env bash
# Leap seconds from a leapfile (IETF leap-seconds.list): a server on its
# local clock announces a leap (LI 1 or 2) in the last day before it and
# not earlier; a synchronized ntsd serves what the file says even when its
# source disagrees, and follows the source without a file; expiry is
# warned about; a damaged file is an error naming it; SIGHUP re-reads it.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require python3 "$NTSD"

MK="python3 $HERE/make_leapfile.py"
NTSQ="$NTSD_BUILD/tools/ntsq"
# li ADDR: the leap indicator ntsd at ADDR serves
li() {
	python3 "$PYCLIENT" "$1" 2>/dev/null | python3 -c \
		'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1]).get("leap", "none"))'
}
conf() { # conf FILE LEAPFILE [EXTRA]: local clock server on 127.0.0.1
	cat >"$1" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen 127.0.0.1
leapfile $2
${3:-}
CONF
}

# A leap in 12 hours: announced now (LI 1).
$MK "$WORK/soon.list" now-864000 now+8640000 2272060800:10 now+43200:11
conf "$WORK/a.conf" "$WORK/soon.list"
start_ntsd "$WORK/a.conf"
ok $? "ntsd starts with a leapfile"
grep -q "Leap second file $WORK/soon.list: 2 entries, TAI-UTC 10 s, valid until" "$NTSD_LOG"
ok $? "it logs the file's entries, TAI-UTC and expiry"
[ "$(li 127.0.0.1)" = 1 ]
ok $? "a leap 12 hours away is announced: LI 1"

# SIGHUP with a file whose leap is 3 days away: LI 0.
$MK "$WORK/soon.list" now-864000 now+8640000 2272060800:10 now+259200:11
kill -HUP "$NTSD_PID"
for i in $(seq 1 50); do [ "$(li 127.0.0.1)" = 0 ] && break; sleep 0.1; done
[ "$(li 127.0.0.1)" = 0 ]
ok $? "after SIGHUP the new file is used: a leap 3 days away is not announced (LI 0)"
stop_ntsd

# A negative leap second in 2 hours: LI 2.
$MK "$WORK/neg.list" now-864000 now+8640000 2272060800:37 now+7200:36
conf "$WORK/n.conf" "$WORK/neg.list"
start_ntsd "$WORK/n.conf"
[ "$(li 127.0.0.1)" = 2 ]
ok $? "a negative leap second 2 hours away: LI 2"
stop_ntsd

# Expiring in 10 days: warned at start; expired: warned, and not used.
$MK "$WORK/exp.list" now-864000 now+864000 2272060800:10
conf "$WORK/e.conf" "$WORK/exp.list"
start_ntsd "$WORK/e.conf"
grep -q "Leap second file $WORK/exp.list expires on .*, in 9 days\|in 10 days" "$NTSD_LOG"
ok $? "a file expiring in 10 days is warned about"
stop_ntsd
$MK "$WORK/old.list" now-8640000 now-86400 2272060800:10 now+3600:11
conf "$WORK/o.conf" "$WORK/old.list"
start_ntsd "$WORK/o.conf"
grep -q "Leap second file $WORK/old.list expired on" "$NTSD_LOG"
ok $? "an expired file is warned about"
[ "$(li 127.0.0.1)" = 0 ]
ok $? "and its entries after the expiry are not announced (LI 0)"
stop_ntsd

# A damaged file: --check fails naming it; ntsd still serves, without it.
$MK "$WORK/bad.list" now-864000 now+8640000 2272060800:10 now+3600:11 --bad-hash
conf "$WORK/b.conf" "$WORK/bad.list"
"$NTSD" --check -c "$WORK/b.conf" >"$WORK/check.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "$WORK/bad.list: error: the #h hash does not match" "$WORK/check.out"
ok $? "--check: a damaged file is an error naming it (rc $rc)"
sed 's/^/#   /' "$WORK/check.out" | head -3
start_ntsd "$WORK/b.conf"
ok $? "ntsd still starts with a damaged leapfile"
[ "$(li 127.0.0.1)" = 0 ]
ok $? "and serves without it (LI 0)"
stop_ntsd

# A chain: A (local clock) announces a leap its file has; B syncs from A.
$MK "$WORK/a.list" now-864000 now+8640000 2272060800:10 now+43200:11
$MK "$WORK/none.list" now-864000 now+8640000 2272060800:10
conf "$WORK/a.conf" "$WORK/a.list"
start_ntsd "$WORK/a.conf"
A_PID=$NTSD_PID
client_conf() { # client_conf FILE ADDR [LEAPFILE]
	cat >"$1" <<CONF
server 127.0.0.1 iburst minpoll 3 maxpoll 4
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen $2
${3:+leapfile $3}
CONF
}
ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
client_conf "$WORK/b.conf" 127.0.0.2
client_conf "$WORK/c.conf" 127.0.0.3 "$WORK/none.list"
start_ntsd "$WORK/b.conf"
start_ntsd "$WORK/c.conf"
timeout 30 "$NTSQ" wait --timeout 25 127.0.0.2 >/dev/null 2>&1 &&
	timeout 30 "$NTSQ" wait --timeout 25 127.0.0.3 >/dev/null 2>&1
ok $? "B and C synchronize to A"
for i in $(seq 1 50); do [ "$(li 127.0.0.2)" = 1 ] && break; sleep 0.2; done
[ "$(li 127.0.0.2)" = 1 ]
ok $? "B (no leapfile) follows its source's leap bits: LI 1"
[ "$(li 127.0.0.3)" = 0 ]
ok $? "C's leapfile (no leap) wins over its source's LI 1: LI 0"
