#!/usr/bin/env bash
# NTPsec's ntpd as an NTS client (RFC 8915) selects ntsd as its source.
# NTPsec refuses a server address that is one of its own, so ntsd runs in
# the test's private network namespace and NTPsec in a second, named one,
# joined by a veth pair whose addresses exist only inside the two
# namespaces. NTPsec never touches the clock (`disable ntp`).
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
# tests/run.sh sets these from tools/deps.sh --peers; the same defaults here.
NTPSEC_DIR=${NTPSEC_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ntsd-peers/ntpsec}
: "${NTPSEC_NTPD:=$NTPSEC_DIR/usr/sbin/ntpd}" "${NTPSEC_NTPQ:=$NTPSEC_DIR/usr/bin/ntpq}"
require openssl python3 ip "$NTPSEC_NTPD" "$NTPSEC_NTPQ" "$NTSD"

NS=ntsdtest-$$-b
SRV=10.200.7.1
CLI=10.200.7.2
NAME=time.ntsd.test
teardown() {
	cleanup
	local rc=$?
	ip netns del "$NS" 2>/dev/null
	exit $rc
}
trap teardown EXIT

# The veth pair: va here (ntsd's namespace), vb in NTPsec's namespace. It
# is created here, so it never appears in the host's namespace.
ip netns add "$NS" &&
	ip link add va type veth peer name vb netns "$NS" &&
	ip addr add $SRV/30 dev va && ip link set va up &&
	ip -n "$NS" link set lo up &&
	ip -n "$NS" addr add $CLI/30 dev vb && ip -n "$NS" link set vb up
ok $? "two network namespaces joined by a veth pair ($SRV, $CLI)"
for i in $(seq 1 50); do
	ip link show va | grep -q LOWER_UP && ip -n "$NS" link show vb | grep -q LOWER_UP && break
	sleep 0.1
done

# NTPsec checks the certificate against the name in its `server` line.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=$NAME -addext "subjectAltName=DNS:$NAME,IP:$SRV" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for $NAME and $SRV"
chmod 600 "$WORK/key.pem"
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
interface listen $SRV
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/masterkeys
CONF
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with NTS on $SRV"

# ntpsec_run TAG SERVER SECONDS: NTPsec's ntpd in $NS with `server SERVER
# nts`, with its own hosts file (ip netns exec gives it a private mount
# namespace, so the bind mount stays there). Polls `ntpq -p` once a second
# for at most SECONDS until ntsd's line has the `*` tally. Sets NTPQ_OUT
# and NTPSEC_LOG. NTPsec 1.2.2 answers ntpq only with the restrict lines.
ntpsec_run() {
	local tag=$1 server=$2 wait=$3 dir="$WORK/ntpsec-$1" i pid
	mkdir -p "$dir"
	printf '127.0.0.1 localhost\n%s %s other.ntsd.test\n' "$SRV" "$NAME" >"$dir/hosts"
	cat >"$dir/ntp.conf" <<NC
server $server nts ca $WORK/cert.pem iburst minpoll 3 maxpoll 4
disable ntp
disable kernel
driftfile $dir/drift
statsdir $dir/
statistics peerstats
filegen peerstats file peerstats type none enable
restrict 127.0.0.1
restrict ::1
logfile $dir/ntpd.log
NC
	ip netns exec "$NS" sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh \
		"$dir/hosts" "$NTPSEC_NTPD" -n -c "$dir/ntp.conf" -p "$dir/ntpd.pid" >"$dir/out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	NTPQ_OUT="$dir/ntpq.out"
	for i in $(seq 1 "$wait"); do
		sleep 1
		timeout 3 ip netns exec "$NS" "$NTPSEC_NTPQ" -pn 127.0.0.1 >"$NTPQ_OUT" 2>&1
		grep -q "^\*$SRV " "$NTPQ_OUT" && break
		kill -0 "$pid" 2>/dev/null || break
	done
	diag "after ${i}s:"
	sed 's/^/#   /' "$NTPQ_OUT"
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
	NTPSEC_LOG="$dir/ntpd.log"
}

ntpsec_run name $NAME 60
grep -q "^\*$SRV " "$NTPQ_OUT"
ok $? "NTPsec's ntpd selects ntsd (server $NAME nts): '*' tally in ntpq -p"
grep -q "NTSc: NTS-KE req to $NAME took .* sec, OK" "$NTPSEC_LOG"
ok $? "NTPsec's NTS-KE with ntsd succeeded"
grep "NTSc: Got\|NTSc: NTS-KE req" "$NTPSEC_LOG" | sed 's/^/#   /'
n=$(stat_of nts_ok)
[ "${n:-0}" -ge 1 ]
ok $? "ntsd counted NTS-authenticated requests from NTPsec (nts_ok $n)"
n=$(stat_of ke_responses)
[ "${n:-0}" -ge 1 ]
ok $? "ntsd's KE server counted the response (ke_responses $n)"

# The certificate is checked: a server name it does not carry is refused.
ok_before=$(stat_of nts_ok)
ntpsec_run othername other.ntsd.test 20
! grep -q "^\*" "$NTPQ_OUT"
ok $? "NTPsec refuses ntsd under a name the certificate does not carry"
grep -q "NTSc: certificate invalid: .*hostname mismatch" "$NTPSEC_LOG"
ok $? "NTPsec logged the certificate name mismatch"
grep "NTSc: certificate invalid\|NTSc: NTS-KE req" "$NTPSEC_LOG" | sed 's/^/#   /'
[ "$(stat_of nts_ok)" = "$ok_before" ]
ok $? "no NTS request reached ntsd without a verified KE"

# By address: NTPsec 1.2.2 checks the name as given (OpenSSL matches an IP
# SAN for an address), so `server ADDRESS nts` works with an IP SAN.
ntpsec_run address $SRV 60
grep -q "^\*$SRV " "$NTPQ_OUT"
ok $? "NTPsec selects ntsd by address (server $SRV nts, IP SAN)"
