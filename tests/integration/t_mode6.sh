#!/usr/bin/env bash
# Mode 6 (RFC 9327) both ways: NTPsec's ntpq against ntsd (system
# variables, associations, noquery), NTPsec's ntpq and ntsq against a
# synthetic view with three sources on the real serving path
# (mode6_server), ntsq status/wait against synchronized and unsynchronized
# ntsd, and ntsq against NTPsec's own ntpd (`disable ntp`). ntpq always
# uses port 123, so each server gets its own loopback address.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
eval "$("$HERE/../../tools/deps.sh" --peers 2>/dev/null)" 2>/dev/null
: "${NTPSEC_NTPD:=ntpsec-ntpd-not-installed}" "${NTPSEC_NTPQ:=ntpsec-ntpq-not-installed}"
NTSQ="$NTSD_BUILD/tools/ntsq"
M6SERVER="$NTSD_BUILD/tests/unit/ntsd/mode6_server"
require python3 "$NTPSEC_NTPD" "$NTPSEC_NTPQ" "$NTSD" "$NTSQ" "$M6SERVER"
for a in 127.0.0.3 127.0.0.4; do ip addr add $a/8 dev lo 2>/dev/null; done

ntpq() { timeout 20 "$NTPSEC_NTPQ" "$@" 2>&1; }
# elapsed CMD...: runs CMD, sets RC and SECS (wall time, whole seconds)
elapsed() {
	local t0=$SECONDS
	"$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	SECS=$((SECONDS - t0))
}

# --- ntsq wait on a freshly started ntsd (local stratum 10, 127.0.0.1) ---
cat >"$WORK/ntp.keys" <<'KEYS'
2 SHA1 0123456789abcdef0123456789abcdef01234567
3 AES128CMAC 000102030405060708090a0b0c0d0e0f
KEYS
cat >"$WORK/wrong.keys" <<'KEYS'
2 SHA1 fedcba9876543210fedcba9876543210fedcba98
KEYS
chmod 600 "$WORK/ntp.keys" "$WORK/wrong.keys"
cat >"$WORK/sync.conf" <<CONF
local stratum 10
interface listen 127.0.0.1
keys $WORK/ntp.keys
trustedkey 2 3
controlkey 3
restrict default nomodify notrap nopeer
CONF
"$NTSQ" wait --timeout 20 -t 0.5 127.0.0.1 >"$WORK/wait.out" 2>&1 &
WAITPID=$!
PIDS+=("$WAITPID")
sleep 1.5
kill -0 "$WAITPID" 2>/dev/null
ok $? "ntsq wait keeps waiting while no server answers"
start_ntsd "$WORK/sync.conf"
ok $? "ntsd starts (local stratum 10, 127.0.0.1:123)"
SYNC_PID=$NTSD_PID
wait "$WAITPID"
ok $? "ntsq wait exits 0 once the freshly started ntsd answers synchronized"
grep -q "synchronized to the local clock (LOCL) at stratum 10" "$WORK/wait.out"
ok $? "ntsq wait says what it synchronized to"
sed 's/^/#   /' "$WORK/wait.out"

# --- NTPsec's ntpq against ntsd ---
ntpq -c rv 127.0.0.1 >"$WORK/rv.out"
grep -q "stratum=10" "$WORK/rv.out" && grep -q "refid=LOCL" "$WORK/rv.out" &&
	grep -q 'version="ntsd' "$WORK/rv.out" && grep -q "leap_none" "$WORK/rv.out"
ok $? "NTPsec ntpq -c rv: ntsd's system variables (stratum 10, refid LOCL, version)"
sed 's/^/#   /' "$WORK/rv.out"
ntpq -c "rv 0 stratum,refid" 127.0.0.1 | grep -qx "stratum=10, refid=LOCL"
ok $? "NTPsec ntpq -c 'rv 0 stratum,refid': just those variables"
ntpq -c "rv 0 nosuchvariable" 127.0.0.1 | grep -q "UNKNOWNVAR"
ok $? "NTPsec ntpq reports ntsd's UNKNOWNVAR error for an unknown variable"
ntpq -p 127.0.0.1 >"$WORK/p.out"
grep -q "No association IDs returned" "$WORK/p.out" && ! grep -q "timed out" "$WORK/p.out"
ok $? "NTPsec ntpq -p: answered (ntsd has no upstream sources yet)"
ntpq -c as 127.0.0.1 | grep -q "No association IDs returned"
ok $? "NTPsec ntpq -c as: answered"

# --- ntsq against ntsd ---
"$NTSQ" -c rv 127.0.0.1 | grep -q "stratum=10"
ok $? "ntsq -c rv shows stratum 10"
"$NTSQ" -c rv --json 127.0.0.1 >"$WORK/rv.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d["variables"]; sys.exit(0 if v["stratum"] == 10 and v["refid"] == "LOCL" and v["leap"] == 0 else 1)' "$WORK/rv.json"
ok $? "ntsq -c rv --json: valid JSON with stratum 10, refid LOCL, leap 0"
"$NTSQ" status 127.0.0.1 >"$WORK/st.out"
rc=$?
[ $rc -eq 0 ] && grep -q "synchronized to the local clock (LOCL) at stratum 10" "$WORK/st.out"
ok $? "ntsq status: one line, synchronized, exit 0"
elapsed "$NTSQ" wait --timeout 10 127.0.0.1
[ $RC -eq 0 ] && [ $SECS -le 2 ]
ok $? "ntsq wait returns 0 at once for a synchronized ntsd (${SECS} s)"
# Signed requests: ntsd signs its answers, ntsq checks every fragment.
"$NTSQ" -k "$WORK/ntp.keys" -a 2 -c rv 127.0.0.1 | grep -q "stratum=10"
ok $? "ntsq -k KEYS -a 2 (SHA1): signed request, signed answer verified"
"$NTSQ" -k "$WORK/ntp.keys" -a 3 -c "rv 0 stratum" 127.0.0.1 | grep -q "stratum=10"
ok $? "ntsq -k KEYS -a 3 (AES-CMAC): signed request, signed answer verified"
elapsed "$NTSQ" -k "$WORK/wrong.keys" -a 2 -c rv 127.0.0.1
[ $RC -eq 2 ] && grep -q "bad or unauthenticated response" "$WORK/err"
ok $? "ntsq with the wrong secret: the unsigned answer is refused (exit 2)"
n=$(stat_of control_auth)
[ "${n:-0}" -ge 2 ]
ok $? "ntsd counted the authenticated mode 6 requests (control_auth $n)"
n=$(stat_of control)
[ "${n:-0}" -ge 8 ]
ok $? "ntsd counted the mode 6 requests it answered (control $n)"

# --- noquery: ntsd on 127.0.0.2 stays silent and counts ---
cat >"$WORK/noquery.conf" <<CONF
local stratum 10
interface listen 127.0.0.2
restrict default nomodify notrap nopeer noquery
CONF
start_ntsd "$WORK/noquery.conf"
ok $? "ntsd with noquery starts on 127.0.0.2"
ntpq -c rv 127.0.0.2 >"$WORK/nq.out"
grep -q "timed out" "$WORK/nq.out" && ! grep -q "stratum" "$WORK/nq.out"
ok $? "restrict noquery: NTPsec ntpq gets no answer (timeout)"
elapsed "$NTSQ" status -t 0.5 127.0.0.2
[ $RC -eq 2 ] && grep -q "no answer" "$WORK/err"
ok $? "restrict noquery: ntsq status reports no answer, exit 2"
n=$(stat_of restrict_noquery)
[ "${n:-0}" -ge 2 ]
ok $? "ntsd counted the noquery drops (restrict_noquery $n)"
stop_ntsd

# --- an ntsd with no source: wait times out with a clear message ---
cat >"$WORK/nosync.conf" <<CONF
server 127.0.0.9
interface listen 127.0.0.2
restrict default nomodify notrap nopeer
CONF
start_ntsd "$WORK/nosync.conf"
ok $? "ntsd with only an unreachable server starts on 127.0.0.2"
elapsed "$NTSQ" status 127.0.0.2
[ $RC -eq 1 ] && grep -q "not synchronized: .*stratum 16" "$WORK/out"
ok $? "ntsq status: not synchronized, says why, exit 1"
sed 's/^/#   /' "$WORK/out"
elapsed "$NTSQ" wait --timeout 3 127.0.0.2
[ $RC -eq 1 ] && [ $SECS -ge 2 ] && [ $SECS -le 8 ] &&
	grep -q "still not synchronized after 3 s; last seen: not synchronized" "$WORK/err"
ok $? "ntsq wait --timeout 3: exit 1 after ~3 s (${SECS} s) naming what it last saw"
sed 's/^/#   /' "$WORK/err"
stop_ntsd

# --- a view with sources: the serving path with a synthetic control view ---
"$M6SERVER" 127.0.0.3 123 >"$WORK/m6.out" 2>&1 &
M6PID=$!
PIDS+=("$M6PID")
for i in $(seq 1 50); do grep -q ready "$WORK/m6.out" && break; sleep 0.1; done
ntpq -p 127.0.0.3 >"$WORK/p3.out"
grep -q '^\*192\.0\.2\.11 .* 1 . .* 64  377 ' "$WORK/p3.out" &&
	grep -q '^+192\.0\.2\.12 *192\.0\.2\.1 *2 u .* 377 ' "$WORK/p3.out" &&
	grep -q '^ 192\.0\.2\.13 .* 3 u .*    0 ' "$WORK/p3.out"
ok $? "NTPsec ntpq -p shows the three sources with tally, stratum, reach"
sed 's/^/#   /' "$WORK/p3.out"
ntpq -c as 127.0.0.3 >"$WORK/as3.out"
grep -q "101  f61a   yes   yes   ok   sys.peer    sys_peer" "$WORK/as3.out" && [ "$(grep -c '^  [123] ' "$WORK/as3.out")" = 3 ]
ok $? "NTPsec ntpq -c as: three associations, the system peer authenticated"
ntpq -c "rv 101" 127.0.0.3 >"$WORK/rv101.out"
grep -q 'srchost="nts1.a-long-pool-of-time-servers.example.net"' "$WORK/rv101.out" && grep -q 'authkind="nts"' "$WORK/rv101.out" &&
	grep -q 'ntscookies=[78]' "$WORK/rv101.out" && grep -q 'lastke="0x[0-9a-f]\{8\}\.[0-9a-f]\{8\}"' "$WORK/rv101.out"
ok $? "NTPsec ntpq -c 'rv 101' (two fragments): every variable, NTS extras last"
"$NTSQ" -p 127.0.0.3 >"$WORK/q3.out"
# last KE: the view says 300 s before it was built (refreshed every 50 ms);
# ntsq reads its own clock once, so it shows 299..301 s.
grep -Eq '^\*nts1\.a-long-poo \.GPS\.  *1 u .* 64  377 .*  nts  *[78]  *(299|30[01])$' "$WORK/q3.out" &&
	grep -q '^+192.0.2.12 .* key 5 ' "$WORK/q3.out"
ok $? "ntsq -p: the peers table with NTS state (cookies, last KE)"
sed 's/^/#   /' "$WORK/q3.out"
"$NTSQ" -p --json 127.0.0.3 >"$WORK/q3.json"
python3 - "$WORK/q3.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert [x["tally"] for x in p] == ["*", "+", " "], p
assert p[0]["auth"] == "nts" and p[0]["nts_cookies"] in (7, 8) and p[0]["reach"] == 255
assert p[1]["auth"] == "key 5" and "nts_cookies" not in p[1]
assert abs(p[1]["offset"] - 0.5) < 1e-9 and p[2]["reach"] == 0
PY
ok $? "ntsq -p --json: the same sources as JSON"
"$NTSQ" status 127.0.0.3 | grep -q "synchronized to nts1.a-long-pool-of-time-servers.example.net (refid 192.0.2.11) at stratum 2"
ok $? "ntsq status names the system peer"
kill "$M6PID" && wait "$M6PID"
ok $? "mode6_server exits cleanly (view swaps under queries)"

# --- ntsq against NTPsec's ntpd (local driver, never synchronized with
#     `disable ntp`); ntsd is stopped first so NTPsec can bind port 123 ---
kill "$SYNC_PID" 2>/dev/null && wait "$SYNC_PID" 2>/dev/null
mkdir -p "$WORK/ntpsec"
cat >"$WORK/ntpsec/ntp.conf" <<NC
restrict default
restrict 127.0.0.1
server 127.127.1.0 minpoll 3 maxpoll 3
fudge 127.127.1.0 stratum 10
disable ntp
disable kernel
driftfile $WORK/ntpsec/drift
statsdir $WORK/ntpsec/
logfile $WORK/ntpsec/ntpd.log
NC
"$NTPSEC_NTPD" -n -c "$WORK/ntpsec/ntp.conf" -p "$WORK/ntpsec/pid" >"$WORK/ntpsec/out" 2>&1 &
NPID=$!
PIDS+=("$NPID")
for i in $(seq 1 30); do
	"$NTSQ" -c rv -t 0.5 127.0.0.1 >"$WORK/nrv.out" 2>/dev/null && break
	sleep 0.5
done
grep -q 'version="ntpd ntpsec' "$WORK/nrv.out" && grep -q "stratum=" "$WORK/nrv.out" &&
	grep -q "refid=" "$WORK/nrv.out"
ok $? "ntsq -c rv against NTPsec's ntpd: its system variables"
sed 's/^/#   /' "$WORK/nrv.out"
for i in $(seq 1 20); do
	"$NTSQ" -p 127.0.0.1 >"$WORK/np.out" 2>&1
	grep -q '^ LOCAL(0) .*   8  *[1-7][0-7]* ' "$WORK/np.out" && break
	sleep 1
done
grep -q '^ LOCAL(0)  *\.LOCL\.  *10 l  *[0-9m-]*  *8  *[1-7][0-7]*  *0\.000 ' "$WORK/np.out"
ok $? "ntsq -p against NTPsec's ntpd: its local clock source (.LOCL., stratum 10, type l, reach > 0)"
sed 's/^/#   /' "$WORK/np.out"
"$NTSQ" -c as 127.0.0.1 | grep -q "^  1 .* yes   yes  none"
ok $? "ntsq -c as against NTPsec's ntpd"
"$NTSQ" -c rv --json 127.0.0.1 | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["variables"]["version"].startswith("ntpd ntpsec") else 1)'
ok $? "ntsq -c rv --json against NTPsec's ntpd"
elapsed "$NTSQ" wait --timeout 2 127.0.0.1
[ $RC -eq 1 ] && grep -q "still not synchronized after 2 s; last seen: not synchronized: 1 of 1 sources reachable" "$WORK/err"
ok $? "ntsq wait against NTPsec's unsynchronized ntpd: exit 1, says why"
sed 's/^/#   /' "$WORK/err"
kill "$NPID" && wait "$NPID" 2>/dev/null
true
