#!/usr/bin/env bash
# ntsclient against real servers in a private network namespace: ntsd
# (plain, symmetric keys AES128CMAC and SHA1, NTS), chronyd as an NTS server
# and NTPsec's ntpd as an NTS server; and each documented failure with its
# message and exit status (wrong CA, expired certificate, wrong key,
# unsynchronized server, closed port, KoD). Query mode only: the clock is
# never touched (no -s/-S/-b anywhere in this file).
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
eval "$("$HERE/../../tools/deps.sh" --peers 2>/dev/null)" 2>/dev/null
: "${NTPSEC_NTPD:=ntpsec-ntpd-not-installed}"
C="$NTSD_BUILD/tools/ntsclient"
require openssl python3 chronyd flock "$NTPSEC_NTPD" "$NTSD" "$C"
for a in 127.0.0.3 127.0.0.4 127.0.0.5; do ip addr add $a/8 dev lo 2>/dev/null; done

# run NAME ARGS...: ntsclient, stdout in $WORK/NAME.out, stderr in
# $WORK/NAME.err, exit status in RC.
run() {
	local name=$1
	shift
	timeout 60 "$C" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
	sed 's/^/#   /' "$WORK/$name.out" "$WORK/$name.err" | head -12
}
has() { grep -qF -- "$2" "$WORK/$1.${3:-out}"; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$WORK/$1.out" "$2"; }

# A CA, a leaf it signed, an expired leaf, and an unrelated CA.
D=$WORK/pki
mkdir -p "$D" && echo 01 >"$D/serial" && : >"$D/index.txt"
cat >"$D/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $D/index.txt
new_certs_dir = $D
serial = $D/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = copy
[p]
commonName = supplied
CNF
KG="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
CAEXT="-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
SAN="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4,IP:127.0.0.5"
leaf() { # leaf NAME DATES...
	local n=$1
	shift
	openssl req $KG -subj /CN=localhost -addext "$SAN" -keyout "$D/$n.key" -out "$D/$n.csr" 2>>"$D/log" &&
		openssl ca -batch -notext -config "$D/ca.cnf" -cert "$D/ca.pem" -keyfile "$D/ca.key" \
			-in "$D/$n.csr" -out "$D/$n.pem" "$@" >>"$D/log" 2>&1 &&
		cat "$D/$n.pem" "$D/ca.pem" >"$D/$n-chain.pem" && chmod 600 "$D/$n.key"
}
openssl req -x509 $KG -days 2 -subj "/CN=ntsclient test CA" $CAEXT -keyout "$D/ca.key" -out "$D/ca.pem" 2>>"$D/log" &&
	openssl req -x509 $KG -days 2 -subj "/CN=other CA" $CAEXT -keyout "$D/ca2.key" -out "$D/ca2.pem" 2>>"$D/log" &&
	leaf good -days 2 && leaf old -startdate 20200101000000Z -enddate 20200102000000Z
ok $? "a test CA, a leaf it signed, an expired leaf and another CA"

# Keys: 1 AES128CMAC, 2 SHA1; the same ids with other secrets.
cat >"$WORK/ntp.keys" <<K
1 AES128CMAC 8ad5a1b3c7e9f0112233445566778899
2 SHA1 0c1f6e3ad4a2b9e8f7c6d5e4f3a2b1c0d9e8f7a6
K
sed 's/8ad5/9ad5/; s/0c1f/1c1f/' "$WORK/ntp.keys" >"$WORK/wrong.keys"
chmod 600 "$WORK/ntp.keys" "$WORK/wrong.keys"

# --- ntsd: plain, keys, NTS ------------------------------------------------
cat >"$WORK/a.conf" <<CONF
local stratum 10
interface listen 127.0.0.1
keys $WORK/ntp.keys
trustedkey 1 2
nts enable
nts cert $D/good-chain.pem
nts key $D/good.key
nts cookie $WORK/a-cookies
CONF
start_ntsd "$WORK/a.conf"
ok $? "ntsd A (stratum 10, keys, NTS) starts"
A=$NTSD_PID

run plain 127.0.0.1
[ $RC -eq 0 ] && has plain "stratum 10" && has plain "auth none" && has plain "offset "
ok $? "plain query of ntsd: exit 0, stratum 10, auth none (rc $RC)"
run plainj --json -p 2 127.0.0.1
[ $RC -eq 0 ] && [ "$(jget plainj 'd["servers"][0]["status"]')" = ok ] &&
	python3 -c "import sys; sys.exit(0 if abs($(jget plainj 'd["offset"]')) < 0.05 else 1)"
ok $? "--json: status ok and an offset near 0 (rc $RC)"

before=$(stat_of auth_ok)
run key1 -k "$WORK/ntp.keys" -a 1 127.0.0.1
[ $RC -eq 0 ] && has key1 "auth key 1" && has key1 "stratum 10"
ok $? "key 1 (AES128CMAC): exit 0, auth key 1 (rc $RC)"
run key2 -k "$WORK/ntp.keys" -a 2 -p 2 127.0.0.1
[ $RC -eq 0 ] && has key2 "auth key 2"
ok $? "key 2 (SHA1): exit 0, auth key 2 (rc $RC)"
after=$(stat_of auth_ok)
[ "$after" -ge $((before + 6)) ]
ok $? "ntsd verified the MACs of all 6 requests (auth_ok $before -> $after)"

before=$(stat_of nts_ok)
run nts -d --nts --ca "$D/ca.pem" localhost
[ $RC -eq 0 ] && has nts "auth nts" && has nts "stratum 10"
ok $? "NTS with ntsd: exit 0, auth nts (rc $RC)"
has nts "verify: ok" err && has nts "peer certificate: subject \"CN=localhost\"" err &&
	has nts "NTS-KE: 8 cookies received, AEAD 15" err && has nts "NTP: -> request of" err &&
	has nts ", authenticated" err
ok $? "-d traces the certificate, its verification, AEAD, cookies and each exchange"
[ "$(stat_of nts_ok)" -ge $((before + 4)) ]
ok $? "ntsd counted 4 NTS-authenticated requests"
run ntsj --json --nts --ca "$D/ca.pem" -p 8 127.0.0.1
[ $RC -eq 0 ] && [ "$(jget ntsj 'd["servers"][0]["auth"]')" = nts ] &&
	[ "$(jget ntsj 'd["servers"][0]["cookies"]')" = 8 ] && [ "$(jget ntsj 'd["servers"][0]["samples"]')" = 8 ]
ok $? "8 NTS samples by address (IP SAN): the jar is refilled to 8 after each (rc $RC)"
run quiet -q --nts --ca "$D/ca.pem" localhost
[ $RC -eq 0 ] && [ ! -s "$WORK/quiet.out" ] && [ ! -s "$WORK/quiet.err" ]
ok $? "-q: no output at all on success (rc $RC)"

# Failures against A.
run wrongca --nts --ca "$D/ca2.pem" localhost
[ $RC -eq 3 ] && has wrongca "localhost: TLS certificate verification failed: unknown CA" err
ok $? "wrong CA: exit 3, 'TLS certificate verification failed: unknown CA' (rc $RC)"
run sysca --nts localhost
[ $RC -eq 3 ] && has sysca "TLS certificate verification failed" err
ok $? "the system store does not trust the test CA: exit 3 (rc $RC)"
run wrongkey -t 1 -k "$WORK/wrong.keys" -a 1 127.0.0.1
[ $RC -eq 6 ] && has wrongkey "127.0.0.1: authentication failed" err
ok $? "wrong key 1: exit 6, 'authentication failed' (rc $RC)"
run nokey -k "$WORK/ntp.keys" -a 7 127.0.0.1
[ $RC -eq 1 ] && has nokey "ntp.keys: no key 7" err
ok $? "a key id not in the file: exit 1 (rc $RC)"
run closed -t 1 127.0.0.1:999
[ $RC -eq 2 ] && has closed "127.0.0.1 (127.0.0.1:999): server unreachable" err
ok $? "closed NTP port: exit 2, 'server unreachable' (rc $RC)"
run closedke -t 1 --nts --ca "$D/ca.pem" --ke-port 999 localhost
[ $RC -eq 2 ] && has closedke "NTS-KE server unreachable: Connection refused" err
ok $? "closed NTS-KE port: exit 2 (rc $RC)"
run v6 -t 1 "[::1]:999"
[ $RC -eq 2 ] && has v6 "([::1]:999): server unreachable" err
ok $? "[v6]:port form is parsed (rc $RC)"
run nodns -t 1 no-such-host.invalid
[ $RC -eq 2 ] && has nodns "name lookup failed" err
ok $? "an unresolvable name: exit 2, 'name lookup failed' (rc $RC)"
# The lock: -s with the lock held elsewhere stops before any query. The
# server is a closed port, so even a broken lock could not set the clock.
flock "$WORK/lock" sleep 10 &
lockpid=$!
PIDS+=($lockpid)
for i in $(seq 1 50); do flock -n "$WORK/lock" true || break; sleep 0.05; done
run locked -s -t 0.2 --lock "$WORK/lock" 127.0.0.1:999
[ $RC -eq 1 ] && has locked "locked: another ntsclient is setting the clock" err
ok $? "-s while another run holds the lock: exit 1, nothing queried (rc $RC)"
kill $lockpid 2>/dev/null
run badarg -p 0 127.0.0.1
[ $RC -eq 1 ]
ok $? "-p 0 is a usage error: exit 1 (rc $RC)"

# --- ntsd B: expired certificate; C: no time source; D: kod limited --------
cat >"$WORK/b.conf" <<CONF
local stratum 10
interface listen 127.0.0.2
nts enable
nts cert $D/old-chain.pem
nts key $D/old.key
nts cookie $WORK/b-cookies
CONF
start_ntsd "$WORK/b.conf"
ok $? "ntsd B with an expired certificate starts"
run expired --nts --ca "$D/ca.pem" 127.0.0.2
[ $RC -eq 3 ] && has expired "127.0.0.2: TLS certificate verification failed: certificate expired" err
ok $? "expired certificate: exit 3, 'certificate expired' (rc $RC)"
run nocheck --nts --ca "$D/ca.pem" --no-cert-time-check 127.0.0.2
[ $RC -eq 0 ] && has nocheck "auth nts"
ok $? "--no-cert-time-check accepts it: exit 0, auth nts (rc $RC)"

cat >"$WORK/c.conf" <<CONF
interface listen 127.0.0.3
CONF
start_ntsd "$WORK/c.conf"
ok $? "ntsd C with no time source starts"
run unsync 127.0.0.3
[ $RC -eq 7 ] && has unsync "127.0.0.3: server unsynchronized (LI=3 or stratum 16): the server has not finished synchronizing yet; check with ntsq -p" err
ok $? "unsynchronized server: exit 7 with the documented message (rc $RC)"

cat >"$WORK/d.conf" <<CONF
local stratum 10
interface listen 127.0.0.4
restrict default kod limited
discard average 3 minimum 2
CONF
start_ntsd "$WORK/d.conf"
ok $? "ntsd D (kod limited) starts"
# The limiter allows a short burst; at most 6 one-sample queries in a row.
for i in 1 2 3 4 5 6; do
	run kod -t 1 -p 1 127.0.0.4
	[ $RC -ne 0 ] && break
done
[ $RC -eq 5 ] && has kod "127.0.0.4: kiss-o'-death RATE: the server asks us to poll less often" err
ok $? "query $i within the rate limit: exit 5, 'kiss-o'-death RATE' (rc $RC)"

run multi --json -t 1 127.0.0.1 127.0.0.3 127.0.0.2
[ $RC -eq 0 ] && [ "$(jget multi 'd["servers"][1]["status"]')" = unsync ] &&
	[ "$(jget multi 'd["best"]')" != 127.0.0.3 ]
ok $? "three servers, one unsynchronized: exit 0, the good ones are selected (rc $RC)"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
PIDS=()

# --- chronyd as an NTS server ------------------------------------------------
CD=$WORK/chrony
mkdir -p "$CD"
cat >"$CD/chrony.conf" <<CC
local stratum 8
allow 127/8
bindaddress 127.0.0.5
port 1123
ntsport 4465
ntsserverkey $D/good.key
ntsservercert $D/good-chain.pem
ntsdumpdir $CD
pidfile $CD/chronyd.pid
cmdport 0
CC
chronyd -x -d -u root -f "$CD/chrony.conf" >"$CD/out" 2>&1 &
PIDS+=($!)
for i in $(seq 1 50); do
	"$C" -t 0.3 -p 1 -q 127.0.0.5:1123 2>/dev/null && break
	sleep 0.2
done
run chrony -d --nts --ca "$D/ca.pem" --ke-port 4465 127.0.0.5
[ $RC -eq 0 ] && has chrony "stratum 8" && has chrony "auth nts"
ok $? "chronyd's NTS server: exit 0, stratum 8, auth nts (rc $RC)"
has chrony "NTS-KE: NTP server 127.0.0.5 port 1123" err
ok $? "chronyd's Port record (1123) is honoured"
run chronyca --nts --ca "$D/ca2.pem" --ke-port 4465 127.0.0.5
[ $RC -eq 3 ] && has chronyca "unknown CA" err
ok $? "chronyd with the wrong CA: exit 3 (rc $RC)"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
PIDS=()

# --- NTPsec's ntpd as an NTS server -----------------------------------------
# NTPsec 1.2.2 has no working LOCAL driver (`server 127.127.1.0` never
# synchronizes); orphan mode with no sources makes it a synchronized
# stratum 8 server after orphanwait.
ND=$WORK/ntpsec
mkdir -p "$ND"
cat >"$ND/ntp.conf" <<NC
tos orphan 8 orphanwait 1
disable ntp
disable kernel
nts enable
nts cert $D/good-chain.pem
nts key $D/good.key
nts cookie $ND/cookies
driftfile $ND/drift
logfile $ND/ntpd.log
NC
"$NTPSEC_NTPD" -n -c "$ND/ntp.conf" -p "$ND/ntpd.pid" >"$ND/out" 2>&1 &
PIDS+=($!)
for i in $(seq 1 60); do
	"$C" -t 0.3 -p 1 -q 127.0.0.1 2>/dev/null && break
	sleep 0.5
done
diag "NTPsec answered synchronized after about $((i / 2)) s"
run ntpsec -d --nts --ca "$D/ca.pem" localhost
[ $RC -eq 0 ] && has ntpsec "stratum 8" && has ntpsec "auth nts"
ok $? "NTPsec's NTS server: exit 0, stratum 8, auth nts (rc $RC)"
reqlen=$(sed -n 's/.*NTS-KE: request (\([0-9]*\) bytes).*/\1/p' "$WORK/ntpsec.err")
[ -n "$reqlen" ] && grep -q "NTSs: Read $reqlen, wrote" "$ND/ntpd.log"
ok $? "NTPsec read our whole KE request ($reqlen bytes) in one read"
run ntpsecj --json --nts --ca "$D/ca.pem" -p 8 127.0.0.1
[ $RC -eq 0 ] && [ "$(jget ntpsecj 'd["servers"][0]["samples"]')" = 8 ] &&
	[ "$(jget ntpsecj 'd["servers"][0]["cookies"]')" = 8 ]
ok $? "8 NTS samples from NTPsec, the jar refilled to 8 (rc $RC)"
