#!/usr/bin/env bash
# restrict rules on the wire: clients at 127.0.0.1 and 127.0.0.2 get what
# their entries say (ignore, noserve, notrust, limited + kod), and SIGHUP
# swaps the rules and keys without dropping service.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require python3 "$NTSD"

cat >"$WORK/ntp.keys" <<'KEYS'
2 SHA1 0123456789abcdef0123456789abcdef01234567
KEYS
chmod 600 "$WORK/ntp.keys"
conf() {
	cat >"$WORK/ntp.conf" <<CONF
local stratum 10
keys $WORK/ntp.keys
discard average 3 minimum 2
restrict default ignore
restrict 127.0.0.1 nomodify
restrict 127.0.0.2 $1
CONF
}
q() { # q SOURCE [ARGS]: one request; prints the JSON answer
	local src=$1
	shift
	python3 "$PYCLIENT" --port 12301 --source "$src" "$@" 127.0.0.1
}
conf "noserve"
start_ntsd "$WORK/ntp.conf" -P 12301 -p "$WORK/ntsd.pid"
ok $? "ntsd starts"
[ "$(cat "$WORK/ntsd.pid" 2>/dev/null)" = "$NTSD_PID" ]
ok $? "the pid file holds ntsd's pid"

q 127.0.0.1 | grep -q '"stratum": 10'
ok $? "127.0.0.1 (nomodify) is served"
q 127.0.0.2 | grep -q '"timeout": true'
ok $? "127.0.0.2 (noserve) gets no answer"
[ "$(stat_of restrict_noserve)" -ge 1 ]
ok $? "the noserve drop is counted"

conf "notrust"
kill -HUP "$NTSD_PID"
sleep 0.5
q 127.0.0.2 | grep -q '"timeout": true'
ok $? "after SIGHUP, 127.0.0.2 (notrust) gets no answer without a MAC"
q 127.0.0.2 --keyfile "$WORK/ntp.keys" --keyid 2 >"$WORK/a.json"
grep -q '"stratum": 10' "$WORK/a.json" && grep -q '"tail": "00000002' "$WORK/a.json"
ok $? "127.0.0.2 (notrust) is served with a MAC, and the answer carries key 2"
q 127.0.0.2 --keyfile "$WORK/ntp.keys" --keyid 2 --tamper >"$WORK/n.json"
grep -q '"tail": "00000000"' "$WORK/n.json"
ok $? "a tampered MAC gets a crypto-NAK"

conf "limited kod"
kill -HUP "$NTSD_PID"
sleep 0.5
q 127.0.0.2 --count 30 --interval 0.05 >"$WORK/burst.json"
kods=$(grep -c '"stratum": 0, "poll": 6, "precision": -20, "refid": "RATE"' "$WORK/burst.json")
served=$(grep -c '"stratum": 10' "$WORK/burst.json")
silent=$(grep -c '"timeout": true' "$WORK/burst.json")
diag "30 requests in 1.5 s: $served served, $kods RATE KoDs, $silent unanswered"
[ "$kods" -ge 1 ] && [ "$kods" -le 3 ] && [ "$silent" -ge 20 ]
ok $? "a fast client gets a RATE KoD (itself rate limited) and then silence"
q 127.0.0.1 --count 10 --interval 0.01 | grep -c '"stratum": 10' | grep -qx 10
ok $? "127.0.0.1 (not limited) is served at any rate"

conf "limited"
kill -HUP "$NTSD_PID"
sleep 0.5
sleep 2.1
q 127.0.0.2 --count 20 --interval 0.02 >"$WORK/burst2.json"
! grep -q '"refid": "RATE"' "$WORK/burst2.json"
ok $? "limited without kod never sends a KoD"

# A broken configuration on SIGHUP keeps the old one serving.
printf 'restrict default nomodfy\n' >"$WORK/ntp.conf"
kill -HUP "$NTSD_PID"
sleep 0.5
q 127.0.0.1 | grep -q '"stratum": 10'
ok $? "a bad configuration on SIGHUP is refused and service goes on"
grep -q "Reload failed" "$NTSD_LOG"
ok $? "the refused reload is logged"
stop_ntsd
ok $? "ntsd exits cleanly"
[ ! -e "$WORK/ntsd.pid" ]
ok $? "the pid file is removed at exit"
