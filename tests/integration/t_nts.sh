#!/usr/bin/env bash
# NTS (RFC 8915) against real clients: chronyd -Q with `server ... nts`
# trusting our self-signed certificate must report an offset; openssl
# s_client and gnutls-cli show the TLS 1.3 + ALPN negotiation; tampered
# NTS requests get no usable answer; two ntsd sharing one master key file
# accept each other's cookies.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require chronyd openssl gnutls-cli python3 "$NTSD"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for localhost"
chmod 600 "$WORK/key.pem"
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1
interface listen 127.0.0.1
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/masterkeys
CONF
"$NTSD" --check -c "$WORK/ntp.conf" >"$WORK/check.out" 2>&1
ok $? "ntsd --check accepts the NTS configuration"
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with NTS"
grep -q "NTS-KE" "$NTSD_LOG"
ok $? "the NTS-KE server is up"
[ "$(stat -c %a "$WORK/masterkeys" 2>/dev/null)" = 600 ]
ok $? "the master key file was created with mode 0600"

# chronyd -Q over NTS.
cq() { # cq NAME [TRUSTED-CERT [SERVER]]: chronyd -Q against ntsd with NTS
	local dir="$WORK/chrony-$1"
	mkdir -p "$dir"
	cat >"$dir/chrony.conf" <<CC
server ${3:-127.0.0.1} iburst nts
ntstrustedcerts ${2:-$WORK/cert.pem}
ntsdumpdir $dir
logdir $dir
log measurements
pidfile $dir/chronyd.pid
CC
	timeout 25 chronyd -Q -u root -f "$dir/chrony.conf" -t 15 >"$dir/out" 2>&1
}
cq ok
sed 's/^/#   /' "$WORK/chrony-ok/out" | grep -v "starting\|exiting" | head -5
off=$(sed -n 's/.*System clock wrong by \([-0-9.e]*\) seconds.*/\1/p' "$WORK/chrony-ok/out" | tail -1)
[ -n "$off" ] && abs_lt "$off" 0.05
ok $? "chronyd -Q with NTS reports an offset from ntsd ($off)"
good=$(awk '$3 == "127.0.0.1" && $6 == "111" && $7 == "111" && $8 == "1111"' "$WORK/chrony-ok/measurements.log" 2>/dev/null | wc -l)
[ "$good" -ge 1 ]
ok $? "chronyd accepted $good NTS-authenticated samples"
[ "$(stat_of nts_ok)" -ge 1 ]
ok $? "ntsd counted NTS-authenticated requests"

# A client that does not trust our certificate gets nothing.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=other \
	-keyout "$WORK/other.key" -out "$WORK/other.pem" >/dev/null 2>&1
cq untrusted "$WORK/other.pem"
! grep -q 'System clock wrong by' "$WORK/chrony-untrusted/out"
ok $? "chronyd trusting another CA gets no time"

# TLS negotiation seen by stock tools.
echo | timeout 5 openssl s_client -connect 127.0.0.1:4460 -alpn ntske/1 -tls1_3 \
	>"$WORK/s1.out" 2>&1
grep -q "ALPN protocol: ntske/1" "$WORK/s1.out" && grep -q "TLSv1.3" "$WORK/s1.out"
ok $? "openssl s_client -alpn ntske/1 negotiates TLS 1.3 and ntske/1"
echo | timeout 5 openssl s_client -connect 127.0.0.1:4460 -tls1_3 >"$WORK/s2.out" 2>&1
grep -qi "no application protocol\|alert" "$WORK/s2.out" && ! grep -q "ALPN protocol: ntske/1" "$WORK/s2.out"
ok $? "openssl s_client without ALPN is refused"
echo | timeout 5 openssl s_client -connect 127.0.0.1:4460 -alpn ntske/1 -tls1_2 >"$WORK/s3.out" 2>&1
grep -qi "alert protocol version\|wrong version\|unsupported protocol" "$WORK/s3.out"
ok $? "TLS 1.2 is refused"
timeout 5 gnutls-cli --alpn=ntske/1 --x509cafile="$WORK/cert.pem" -p 4460 localhost </dev/null >"$WORK/g1.out" 2>&1
grep -q "ntske/1" "$WORK/g1.out" && grep -q "TLS1.3" "$WORK/g1.out"
ok $? "gnutls-cli --alpn=ntske/1 negotiates TLS 1.3 and ntske/1"
timeout 5 gnutls-cli --x509cafile="$WORK/cert.pem" -p 4460 localhost </dev/null >"$WORK/g2.out" 2>&1
! grep -q "Application protocol.*ntske" "$WORK/g2.out" && grep -qi "fail\|error\|alert" "$WORK/g2.out"
ok $? "gnutls-cli without ALPN is refused"

# The KE response as NTPsec's client reads it: one TLS read of 2 KB.
python3 "$HERE/ke_probe.py" "$WORK/cert.pem" >"$WORK/probe.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/probe.out"
ok $rc "the KE response fits one 2 KB read: NTPv4, AEAD 17 (the client's first choice), 8 cookies of equal length"
stop_ntsd

# Two servers sharing one master key file: the KE front end (127.0.0.1)
# sends clients to an NTP server (127.0.0.2) that opens its cookies.
cat >"$WORK/front.conf" <<CONF
local stratum 10
interface listen 127.0.0.1
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/shared-keys
nts ntpserver 127.0.0.2
CONF
cat >"$WORK/back.conf" <<CONF
local stratum 11
interface listen 127.0.0.2
nts enable
nts port 4461
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/shared-keys
CONF
start_ntsd "$WORK/front.conf"
front=$NTSD_PID
start_ntsd "$WORK/back.conf"
back=$NTSD_PID
cq shared
good=$(awk '$3 == "127.0.0.2" && $6 == "111" && $7 == "111" && $8 == "1111" { print $5 }' "$WORK/chrony-shared/measurements.log" 2>/dev/null | sort -u)
[ "$good" = 11 ]
ok $? "chronyd keyed at the front end gets NTS time from the back end (stratum '$good')"
NTSD_PID=$back
[ "$(stat_of nts_ok)" -ge 1 ]
ok $? "the back end opened cookies sealed by the front end"
stop_ntsd
NTSD_PID=$front
stop_ntsd
