#!/usr/bin/env bash
# NTS operations: the KE certificate reloads on SIGHUP and when its files
# change (--nts-check), without stopping NTP service; a broken certificate
# keeps the old one; the KE server's per-client cap and deadline hold while
# NTP and other clients' KE go on; `ntsd --check` catches NTS mistakes.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require openssl python3 "$NTSD"
ip addr add 127.0.0.3/8 dev lo 2>/dev/null

# mkcert NAME [START END]: a self-signed P-256 certificate for 127.0.0.1 in
# $WORK/NAME.pem with key $WORK/NAME.key; START/END (YYYYmmddHHMMSSZ) make
# `openssl ca` backdate or postdate it.
mkcert() {
	local n=$1 ca="$WORK/ca-$1"
	if [ $# -eq 1 ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-subj "/CN=$n" -addext "subjectAltName=IP:127.0.0.1" \
			-keyout "$WORK/$n.key" -out "$WORK/$n.pem" >/dev/null 2>&1 || return 1
	else
		mkdir -p "$ca/new" && : >"$ca/index.txt" && echo 1000 >"$ca/serial"
		cat >"$ca/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $ca/index.txt
new_certs_dir = $ca/new
serial = $ca/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = copy
[p]
commonName = supplied
CNF
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
			-addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/$n.key" -out "$ca/req.pem" \
			>"$ca/log" 2>&1 &&
			openssl ca -batch -config "$ca/ca.cnf" -selfsign -keyfile "$WORK/$n.key" \
				-in "$ca/req.pem" -startdate "$2" -enddate "$3" -out "$WORK/$n.pem" \
				>>"$ca/log" 2>&1 || { sed 's/^/#   /' "$ca/log"; return 1; }
	fi
	chmod 600 "$WORK/$n.key"
}
when() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
# subject_seen: the subject of the certificate a new KE connection gets.
subject_seen() {
	echo | timeout 5 openssl s_client -connect 127.0.0.1:4460 -alpn ntske/1 -tls1_3 \
		2>/dev/null | openssl x509 -noout -subject 2>/dev/null |
		sed 's/.*CN *= *//'
}
# ntp_ok: five NTP queries, each answered within 0.5 s.
ntp_ok() {
	local n
	n=$(python3 "$PYCLIENT" --count 5 --interval 0.05 --timeout 0.5 127.0.0.1 |
		grep -c '"stratum": 10.*"org_ok": true')
	[ "$n" -eq 5 ]
}
install_cert() { # install_cert NAME: copies NAME's files over the served ones
	cp "$WORK/$1.pem" "$WORK/cert.pem.new" && cp "$WORK/$1.key" "$WORK/key.pem.new" &&
		chmod 600 "$WORK/key.pem.new" &&
		mv "$WORK/key.pem.new" "$WORK/key.pem" && mv "$WORK/cert.pem.new" "$WORK/cert.pem"
}
wait_log() { # wait_log PATTERN SECONDS: until ntsd's log has PATTERN
	local i
	for i in $(seq 1 $(($2 * 10))); do
		grep -q "$1" "$NTSD_LOG" && return 0
		sleep 0.1
	done
	return 1
}

mkcert first && mkcert second && mkcert third
ok $? "three self-signed certificates"
install_cert first
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
interface listen 127.0.0.1
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/masterkeys
CONF

## Reload on SIGHUP (the file check runs every 60 s by default; the new
## files get the old mtime, so only the signal can explain a reload).
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with NTS"
[ "$(subject_seen)" = first ]
ok $? "a KE client sees the first certificate"
touch -r "$WORK/cert.pem" "$WORK/stamp"
install_cert second
touch -r "$WORK/stamp" "$WORK/cert.pem" "$WORK/key.pem"
sleep 1.5
[ "$(subject_seen)" = first ]
ok $? "replaced files with the same mtime are not picked up without a signal"
kill -HUP "$NTSD_PID"
ntp_ok
ok $? "NTP queries right after SIGHUP are answered"
wait_log "certificate reloaded (SIGHUP)" 5
ok $? "ntsd logs the certificate reload on SIGHUP"
[ "$(subject_seen)" = second ]
ok $? "after SIGHUP a new KE connection sees the new certificate"
kill -0 "$NTSD_PID"
ok $? "ntsd still runs"

## A broken certificate on SIGHUP keeps the old one.
echo "this is not a certificate" >"$WORK/cert.pem"
: >"$NTSD_LOG.mark"
kill -HUP "$NTSD_PID"
wait_log "keeps its previous certificate" 5
ok $? "a garbage certificate on SIGHUP: ntsd keeps the previous one"
grep -q "$WORK/cert.pem" "$NTSD_LOG" && grep "error\|err" "$NTSD_LOG" | grep -q "$WORK/cert.pem"
ok $? "the error names the certificate file"
grep "$WORK/cert.pem" "$NTSD_LOG" | tail -2 | sed 's/^/#   /'
[ "$(subject_seen)" = second ] && ntp_ok
ok $? "KE still serves the previous certificate and NTP is answered"
install_cert second

## KE connection cap (8 per client) and deadline (5 s).
# Opens 10 idle TCP connections from 127.0.0.1; prints which were closed
# within 0.5 s, writes $WORK/held once the others are held, then prints
# when each held one was closed (bounded: 12 s).
cat >"$WORK/idle.py" <<'PY'
import socket, sys, time, select
conns, t0 = [], time.monotonic()
for i in range(10):
    s = socket.create_connection(("127.0.0.1", 4460), timeout=2)
    conns.append(s)
    time.sleep(0.02)
time.sleep(0.5)
closed = []
for i, s in enumerate(conns):
    r, _, _ = select.select([s], [], [], 0)
    if r:
        try:
            gone = s.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            closed.append(i)
print("closed_at_once", len(closed), flush=True)
open(sys.argv[1], "w").close()
held = [s for i, s in enumerate(conns) if i not in closed]
times = []
while held and time.monotonic() - t0 < 12:
    r, _, _ = select.select(held, [], [], 0.1)
    for s in r:
        try:
            s.recv(1)
        except OSError:
            pass
        times.append(time.monotonic() - t0)
        held.remove(s)
print("held_closed", len(times), "first %.1f last %.1f" % (min(times or [0]), max(times or [0])),
      "still_open", len(held), flush=True)
PY
acc0=$(stat_of ke_accepted) cap0=$(stat_of ke_refused_cap) to0=$(stat_of ke_timeouts)
resp0=$(stat_of ke_responses)
python3 "$WORK/idle.py" "$WORK/held" >"$WORK/idle.out" 2>&1 &
idle=$!
PIDS+=("$idle")
for i in $(seq 1 50); do [ -f "$WORK/held" ] && break; sleep 0.1; done
sed 's/^/#   /' "$WORK/idle.out"
grep -q "^closed_at_once 2$" "$WORK/idle.out"
ok $? "8 idle KE connections from one address are held, the 9th and 10th closed at once"
start=$(date +%s.%N)
ntp_ok
rc=$?
elapsed=$(python3 -c "import time,sys; print('%.2f' % (time.time() - float(sys.argv[1])))" "$start")
ok $rc "NTP is answered promptly while the KE connections are held (5 queries, ${elapsed}s)"
python3 -c 'import socket, sys, runpy
orig = socket.create_connection
socket.create_connection = lambda a, timeout=None, source_address=None: orig(a, timeout, ("127.0.0.3", 0))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$HERE/ke_probe.py" "$WORK/cert.pem" >"$WORK/probe.out" 2>&1
ok $? "meanwhile a full NTS-KE from 127.0.0.3 succeeds"
sed 's/^/#   /' "$WORK/probe.out" | tail -2
wait "$idle"
sed 's/^/#   /' "$WORK/idle.out" | tail -1
grep -q "^held_closed 8 .* still_open 0$" "$WORK/idle.out"
ok $? "the 8 held idle connections were closed by ntsd"
first=$(sed -n 's/^held_closed 8 first \([0-9.]*\) last .*/\1/p' "$WORK/idle.out")
last=$(sed -n 's/^held_closed 8 first [0-9.]* last \([0-9.]*\) .*/\1/p' "$WORK/idle.out")
python3 -c 'import sys; f, l = map(float, sys.argv[1:]); sys.exit(0 if 4.0 <= f and l <= 8.0 else 1)' \
	"${first:-0}" "${last:-99}"
ok $? "at the 5 s deadline (closed between ${first}s and ${last}s)"
acc=$(stat_of ke_accepted) cap=$(stat_of ke_refused_cap) to=$(stat_of ke_timeouts)
resp=$(stat_of ke_responses)
diag "ke_accepted $acc0 -> $acc, ke_refused_cap $cap0 -> $cap, ke_timeouts $to0 -> $to, ke_responses $resp0 -> $resp"
[ $((cap - cap0)) -eq 2 ]
ok $? "ke_refused_cap counted the 2 connections over the cap"
[ $((to - to0)) -eq 8 ]
ok $? "ke_timeouts counted the 8 idle connections"
[ $((resp - resp0)) -eq 1 ] && [ $((acc - acc0)) -ge 9 ]
ok $? "ke_accepted and ke_responses counted the other client's KE"
stop_ntsd

## Reload when the files change (--nts-check 1), no signal.
start_ntsd "$WORK/ntp.conf" --nts-check 1
ok $? "ntsd starts with --nts-check 1"
[ "$(subject_seen)" = second ]
ok $? "a KE client sees the current certificate"
sleep 1.1 # a different mtime (seconds)
install_cert third
seen=""
for i in $(seq 1 50); do
	seen=$(subject_seen)
	[ "$seen" = third ] && break
	sleep 0.1
done
[ "$seen" = third ]
ok $? "the new certificate is served within a few seconds without a signal (${i}00 ms polls)"
grep -q "certificate reloaded (files changed)" "$NTSD_LOG"
ok $? "ntsd logs the reload after the files changed"
ntp_ok
ok $? "NTP is answered after the reload"
stop_ntsd

## ntsd --check: NTS mistakes, each named, non-zero exit.
# check_case WHAT CERT KEY PATTERN [COOKIE]: ntsd --check on that NTS
# setup; true if the output has PATTERN. Sets CHECK_RC.
check_case() {
	local what=$1 cert=$2 key=$3 want=$4 cookie=${5:-$WORK/masterkeys} rc
	cat >"$WORK/check.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
nts enable
nts cert $cert
nts key $key
nts cookie $cookie
CONF
	"$NTSD" --check -c "$WORK/check.conf" >"$WORK/check.out" 2>&1
	rc=$?
	sed 's/^/#   /' "$WORK/check.out" | head -4
	CHECK_RC=$rc
	grep -q -- "$want" "$WORK/check.out"
}
mkcert expired "$(when '-60 days')" "$(when '-30 days')" &&
	mkcert future "$(when '+2 days')" "$(when '+60 days')" &&
	mkcert soon "$(when '-1 day')" "$(when '+10 days')"
ok $? "certificates with backdated and postdated validity (openssl ca)"
check_case expired "$WORK/expired.pem" "$WORK/expired.key" "$WORK/expired.pem: certificate expired"
ok $(( $? || CHECK_RC == 0 )) "--check: an expired certificate fails, naming the file"
check_case future "$WORK/future.pem" "$WORK/future.key" "$WORK/future.pem: certificate is not valid until"
ok $(( $? || CHECK_RC == 0 )) "--check: a not yet valid certificate fails, naming the file"
check_case mismatch "$WORK/first.pem" "$WORK/second.key" "$WORK/second.key: private key does not match the certificate in $WORK/first.pem"
ok $(( $? || CHECK_RC == 0 )) "--check: a key that does not match the certificate fails, naming both files"
check_case missing "$WORK/nonexistent.pem" "$WORK/first.key" "$WORK/nonexistent.pem: No such file"
ok $(( $? || CHECK_RC == 0 )) "--check: a missing certificate file fails, naming it"
cp "$WORK/masterkeys" "$WORK/masterkeys.open" && chmod 644 "$WORK/masterkeys.open"
check_case perms "$WORK/first.pem" "$WORK/first.key" "masterkeys.open.*mode 0644 lets group or others" "$WORK/masterkeys.open"
ok $(( $? || CHECK_RC == 0 )) "--check: a master key file readable by others fails, naming it"
check_case soon "$WORK/soon.pem" "$WORK/soon.key" "$WORK/soon.pem: certificate expires in 1[01] days"
ok $(( $? || CHECK_RC != 0 )) "--check: a certificate expiring within 14 days only warns (exit $CHECK_RC)"
check_case good "$WORK/first.pem" "$WORK/first.key" "configuration OK"
ok $(( $? || CHECK_RC != 0 )) "--check: the good NTS configuration passes"
