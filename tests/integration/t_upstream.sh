#!/usr/bin/env bash
# ntsd as a client of upstream servers (issue 4), against real peers, in a
# private network namespace with loopback only; every daemon runs with -x /
# `disable ntp`, so no clock is ever touched:
#  - a chain ntsd A (local clock, stratum 10, NTS) <- ntsd B (`server A nts`)
#    <- chronyd: chronyd tracks B at stratum 12 with B's address as
#    reference; B is synchronized within seconds of starting; ntsq and
#    NTPsec's ntpq -p show A as B's system peer (`*`);
#  - ntsd syncs over NTS from chronyd's NTS server and from NTPsec's;
#  - ntsd syncs from NTPsec's ntpd with symmetric keys of each type, and a
#    wrong key never reaches.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
: "${NTPSEC_NTPD:=ntpsec-ntpd-not-installed}"
: "${NTPSEC_NTPQ:=ntpsec-ntpq-not-installed}"
NTSQ="$NTSD_BUILD/tools/ntsq"
require openssl python3 chronyd "$NTPSEC_NTPD" "$NTPSEC_NTPQ" "$NTSD" "$NTSQ"
for a in 127.0.0.3 127.0.0.4 127.0.0.5; do ip addr add $a/8 dev lo 2>/dev/null; done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.5" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for localhost"
chmod 600 "$WORK/key.pem"

# A server line naming a key the key file lacks is an error naming the line.
echo "1 SHA1 0102030405060708090a0b0c0d0e0f1011121314" >"$WORK/k.keys"
chmod 600 "$WORK/k.keys"
printf 'keys %s\nserver 127.0.0.1 key 9 iburst\n' "$WORK/k.keys" >"$WORK/k.conf"
"$NTSD" --check -c "$WORK/k.conf" >"$WORK/k.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "k.conf:2: error: server 127.0.0.1: key 9 is not in the key file" "$WORK/k.out"
ok $? "--check: a server key missing from the key file is an error naming file and line (rc $rc)"
sed 's/^/#   /' "$WORK/k.out"

# start_named NAME CONF [ARGS]: an ntsd with its own log and stats file.
start_named() {
	local name=$1 conf=$2
	shift 2
	"$NTSD" -n -x -c "$conf" --stats-file "$WORK/$name.stats" "$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
	local i
	for i in $(seq 1 100); do
		grep -q "serving NTP" "$WORK/$name.log" 2>/dev/null && return 0
		sleep 0.05
	done
	diag "ntsd $name did not start:"
	sed 's/^/#   /' "$WORK/$name.log"
	return 1
}
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	PIDS=()
}
show() { sed 's/^/#   /' "$@" | head -20; }

# --- the chain ---------------------------------------------------------------
cat >"$WORK/a.conf" <<CONF
local stratum 10
restrict default kod nomodify notrap nopeer noquery
restrict 127.0.0.1
interface listen 127.0.0.1
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/a.mk
CONF
cat >"$WORK/b.conf" <<CONF
server localhost iburst nts ca $WORK/cert.pem minpoll 3 maxpoll 4
restrict default kod nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen 127.0.0.2
driftfile $WORK/b.drift
CONF
start_named A "$WORK/a.conf"
ok $? "ntsd A (local clock, stratum 10, NTS) starts"
t0=$(date +%s.%N)
start_named B "$WORK/b.conf"
ok $? "ntsd B (server localhost nts) starts"
timeout 30 "$NTSQ" wait --timeout 25 127.0.0.2 >"$WORK/wait.out" 2>&1
rc=$?
t1=$(date +%s.%N)
secs=$(python3 -c "print(round($t1 - $t0, 1))")
ok $rc "ntsd B serves synchronized time after ${secs} s (NTS-KE + iburst)"
show "$WORK/wait.out"
python3 -c "import sys; sys.exit(0 if $secs <= 10 else 1)"
ok $? "within 10 s of starting (took ${secs} s)"
python3 "$PYCLIENT" 127.0.0.2 >"$WORK/b.q" 2>&1
python3 - "$WORK/b.q" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
sys.exit(0 if d["stratum"] == 11 and d["leap"] == 0 and d["refid"] == "7f000001" else 1)
PY
ok $? "B serves stratum 11, leap 0, refid 127.0.0.1 (A's address)"
show "$WORK/b.q"
"$NTSQ" -p --nts 127.0.0.2 >"$WORK/ntsq-p.out" 2>&1
grep -E '^\*localhost +76\.79\.67\.76 +10 ' "$WORK/ntsq-p.out" | grep -q nts
ok $? "ntsq -p on B: *localhost, refid LOCL (76.79.67.76 as ntpq shows it), stratum 10, auth nts"
show "$WORK/ntsq-p.out"
timeout 20 "$NTPSEC_NTPQ" -p 127.0.0.2 >"$WORK/ntpq-p.out" 2>&1
grep -qE '^\*localhost +76\.79\.67\.76 +10 ' "$WORK/ntpq-p.out"
ok $? "NTPsec's ntpq -p on B shows *localhost at stratum 10"
show "$WORK/ntpq-p.out"
[ "$(awk '$1 == "nts_ok" { print $2 }' <(kill -USR1 "$PID_A"; sleep 0.5; cat "$WORK/A.stats"))" -gt 0 ]
ok $? "A answered B's NTS requests (nts_ok > 0)"

# chronyd (-x: never touches the clock) on B: stratum 12, reference B.
mkdir -p "$WORK/chrony"
cat >"$WORK/chrony/chrony.conf" <<CC
server 127.0.0.2 iburst minpoll 0 maxpoll 1
logdir $WORK/chrony
log tracking
pidfile $WORK/chrony/chronyd.pid
cmdport 0
port 0
CC
chronyd -x -d -u root -f "$WORK/chrony/chrony.conf" >"$WORK/chrony/out" 2>&1 &
PIDS+=($!)
found=1
for i in $(seq 1 40); do
	if awk '$3 == "127.0.0.2" && $4 == 12 { f = 1 } END { exit !f }' "$WORK/chrony/tracking.log" 2>/dev/null; then
		found=0
		break
	fi
	sleep 0.5
done
ok $found "chronyd tracks B: stratum 12, reference 127.0.0.2"
[ $found -eq 0 ] || show "$WORK/chrony/tracking.log" "$WORK/chrony/out"
grep -q "Synchronized to localhost, stratum 11" "$WORK/B.log"
ok $? "B logged what it synchronized to"

# A restarts with new master keys: B's cookies no longer open, A answers
# NTSN, and B runs a fresh key exchange and stays synchronized.
kill "$PID_A" && wait "$PID_A" 2>/dev/null
rm -f "$WORK/a.mk"
start_named A "$WORK/a.conf"
ok $? "A restarted with new master keys"
rekeyed=1
for i in $(seq 1 60); do
	[ "$(grep -c "NTS-KE done" "$WORK/B.log")" -ge 2 ] && { rekeyed=0; break; }
	sleep 0.5
done
ok $rekeyed "B got an NTSN and ran a new NTS-KE"
grep -q "kiss-o'-death NTSN" "$WORK/B.log"
ok $? "B logged the NTSN"
"$NTSQ" status 127.0.0.2 >"$WORK/status.out" 2>&1
ok $? "B is still synchronized after the re-key"
show "$WORK/status.out"
stop_all

# RATE: E limits clients (`limited`, one request per 16 s on average), F
# polls it with iburst (2 s): E answers RATE kisses and F backs off.
cat >"$WORK/e.conf" <<CONF
local stratum 9
restrict default kod limited nomodify notrap nopeer noquery
discard average 4 minimum 4
interface listen 127.0.0.3
CONF
cat >"$WORK/f.conf" <<CONF
server 127.0.0.3 iburst
interface listen 127.0.0.4
CONF
start_named E "$WORK/e.conf"
start_named F "$WORK/f.conf"
ok $? "E (limited) and F (server E iburst) start"
sleep 20
grep -q "kiss-o'-death RATE" "$WORK/F.log"
ok $? "F logged E's RATE kiss-o'-death"
kill -USR1 "$PID_E"
sleep 0.5
sent=$(awk '$1 == "received" { print $2 }' "$WORK/E.stats")
[ -n "$sent" ] && [ "$sent" -le 5 ] && [ "$sent" -ge 2 ]
ok $? "F backed off: E received $sent requests in 20 s (iburst alone would send 10)"
stop_all

# DENY: a server that answers 3 times, then kisses DENY. ntsd stops
# polling it and drops it from selection at once (no local clock here, so
# it becomes unsynchronized).
python3 "$HERE/fake_server.py" 127.0.0.3 --good 3 --kiss DENY --lifetime 40 >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/h.conf" <<CONF
server 127.0.0.3 iburst
interface listen 127.0.0.4
CONF
start_named H "$WORK/h.conf"
timeout 20 "$NTSQ" wait --timeout 15 127.0.0.4 >/dev/null 2>&1
ok $? "H synchronizes to the fake server first"
denied=1
for i in $(seq 1 40); do
	grep -q "kiss-o'-death DENY.*not polled again" "$WORK/H.log" && { denied=0; break; }
	sleep 0.5
done
ok $denied "H got DENY and stops polling"
unsynced=1
for i in $(seq 1 20); do
	"$NTSQ" status 127.0.0.4 >"$WORK/h-status.out" 2>&1
	[ $? -eq 1 ] && { unsynced=0; break; }
	sleep 0.5
done
ok $unsynced "after DENY, H drops the source at once: $(cat "$WORK/h-status.out")"
n1=$(grep -c "^answered" "$WORK/fake.log")
sleep 5
n2=$(grep -c "^answered" "$WORK/fake.log")
[ "$n1" = "$n2" ]
ok $? "no poll after the DENY ($n1 then $n2 answers)"
stop_all

# noval: no CA file, certificate not verified, said loudly.
cat >"$WORK/g.conf" <<CONF
server localhost iburst nts noval
interface listen 127.0.0.2
CONF
start_named A "$WORK/a.conf"
start_named G "$WORK/g.conf"
timeout 30 "$NTSQ" wait --timeout 25 127.0.0.2 >"$WORK/waitg.out" 2>&1
ok $? "with noval (no CA at all), G synchronizes over NTS"
grep -q "NOT verified" "$WORK/G.log"
ok $? "G warns that the certificate was not verified"
stop_all
[ -s "$WORK/b.drift" ] || [ ! -e "$WORK/b.drift" ]
ok $? "with -x the drift file is not written (or is whole)"

# --- ntsd syncs over NTS from chronyd's NTS server ---------------------------
mkdir -p "$WORK/chronys"
cat >"$WORK/chronys/chrony.conf" <<CC
local stratum 8
allow 127/8
bindaddress 127.0.0.5
port 1123
ntsport 4465
ntsserverkey $WORK/key.pem
ntsservercert $WORK/cert.pem
ntsdumpdir $WORK/chronys
pidfile $WORK/chronys/chronyd.pid
cmdport 0
CC
chronyd -x -d -u root -f "$WORK/chronys/chrony.conf" >"$WORK/chronys/out" 2>&1 &
PIDS+=($!)
cat >"$WORK/c.conf" <<CONF
server 127.0.0.5 iburst nts port 4465 ca $WORK/cert.pem
restrict default kod nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen 127.0.0.2
CONF
start_named C "$WORK/c.conf"
ok $? "ntsd C (server 127.0.0.5 nts port 4465) starts"
timeout 40 "$NTSQ" wait --timeout 30 127.0.0.2 >"$WORK/waitc.out" 2>&1
ok $? "C synchronizes over NTS from chronyd"
show "$WORK/waitc.out"
"$NTSQ" -p --nts 127.0.0.2 >"$WORK/c-p.out" 2>&1
grep -E '^\*127\.0\.0\.5 +127\.127\.1\.1 +8 ' "$WORK/c-p.out" | grep -q nts
ok $? "ntsq -p on C: *127.0.0.5, chronyd's local refid 127.127.1.1, stratum 8, auth nts"
show "$WORK/c-p.out"
grep -q "NTP at 127.0.0.5 port 1123" "$WORK/C.log"
ok $? "C used chronyd's NTS-KE Port record (1123)"
stop_all

# --- NTPsec's ntpd: NTS, and symmetric keys of each type ---------------------
# NTPsec 1.2.2's LOCAL driver never synchronizes; orphan mode with no
# sources makes it a synchronized stratum 8 server after orphanwait. It
# binds port 123 on every local address, so ntsd D serves on port 1124.
ND=$WORK/ntpsec
mkdir -p "$ND"
cat >"$ND/keys" <<KEYS
1 MD5 md5secretmd5secret
2 SHA1 6e1d6d28d4a9cc8e2a5e0d3a6b4a4c2f0e9b7d11
3 AES128CMAC 00112233445566778899aabbccddeeff
4 SHA256 a4b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90
5 SHA1 0000000000000000000000000000000000000005
6 SHA384 b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0
7 SHA512 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
KEYS
sed 's/^5 SHA1 .*/5 SHA1 ffffffffffffffffffffffffffffffffffffff05/' "$ND/keys" >"$WORK/d.keys"
chmod 600 "$ND/keys" "$WORK/d.keys"
cat >"$ND/ntp.conf" <<NC
tos orphan 8 orphanwait 1
disable ntp
disable kernel
restrict default
restrict 127.0.0.1
keys $ND/keys
trustedkey 1 2 3 4 5 6 7
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $ND/cookies
driftfile $ND/drift
logfile $ND/ntpd.log
NC
"$NTPSEC_NTPD" -n -c "$ND/ntp.conf" -p "$ND/ntpd.pid" >"$ND/out" 2>&1 &
PIDS+=($!)
up=1
for i in $(seq 1 60); do
	python3 "$PYCLIENT" 127.0.0.1 2>/dev/null | tail -1 | grep -q '"stratum": 8' && { up=0; break; }
	sleep 0.5
done
ok $up "NTPsec's ntpd answers synchronized at stratum 8 (orphan)"
cat >"$WORK/d.conf" <<CONF
server localhost iburst nts ca $WORK/cert.pem
server 127.0.0.1 iburst key 1 noselect
server 127.0.0.1 iburst key 2 noselect
server 127.0.0.1 iburst key 3 noselect
server 127.0.0.1 iburst key 4 noselect
server 127.0.0.1 iburst key 5 noselect
server 127.0.0.1 iburst key 6 noselect
server 127.0.0.1 iburst key 7 noselect
keys $WORK/d.keys
restrict default kod nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen 127.0.0.2
port 1124
CONF
start_named D "$WORK/d.conf"
ok $? "ntsd D (NTPsec over NTS and with keys 1-5) starts"
timeout 40 "$NTSQ" wait --timeout 30 127.0.0.2:1124 >"$WORK/waitd.out" 2>&1
ok $? "D synchronizes over NTS from NTPsec's ntpd"
show "$WORK/waitd.out"
sleep 6 # a few iburst polls of the keyed associations
"$NTSQ" -p --nts -n 127.0.0.2:1124 >"$WORK/d-p.out" 2>&1
show "$WORK/d-p.out"
"$NTSQ" --json -p 127.0.0.2:1124 >"$WORK/d-p.json" 2>&1
grep -qE '^\*' "$WORK/d-p.out" && grep -E '^\*' "$WORK/d-p.out" | grep -q nts
ok $? "the NTS association with NTPsec is D's system peer"
for k in 1:MD5 2:SHA1 3:AES128CMAC 4:SHA256 6:SHA384 7:SHA512; do
	id=${k%%:*}
	python3 - "$WORK/d-p.json" "$id" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
peers = d["peers"] if isinstance(d, dict) and "peers" in d else d
want = "key " + sys.argv[2]
ok = any(p.get("auth") == want and int(str(p.get("reach", "0")), 8) != 0 for p in peers)
sys.exit(0 if ok else 1)
PY
	ok $? "D reaches NTPsec's ntpd with key $id (${k#*:})"
done
python3 - "$WORK/d-p.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
peers = d["peers"] if isinstance(d, dict) and "peers" in d else d
sys.exit(0 if any(p.get("auth") == "key 5" and int(str(p.get("reach", "0")), 8) == 0 for p in peers) else 1)
PY
ok $? "a wrong key 5 never reaches (its answers fail authentication)"
logged=1
for i in $(seq 1 40); do
	grep -q "(key 5): no answer" "$WORK/D.log" && { logged=0; break; }
	sleep 0.5
done
ok $logged "D logs why the key 5 association fails"
stop_all
grep -E "Source|ynchroniz" "$WORK/D.log" | show
